// `list`: every container under --root, runc's columns.
import { readdirSync, writeSync } from 'node:fs';
import { checkRoot, loadRecord } from '../container/store';
import { containerStatus, ociState } from '../container/status';
import type { Context } from '../commands/context';

export function list(ctx: Context): number {
  const ids = checkRoot(ctx.root)
    ? readdirSync(ctx.root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    : [];
  const states: Record<string, unknown>[] = [];
  for (const id of ids) {
    try {
      const record = loadRecord(ctx.root, id);
      states.push(ociState(record, containerStatus(record, `${ctx.root}/${id}`)));
    } catch {
      // a create under way, or not a container dir
    }
  }
  let out: string;
  if (ctx.flags.quiet === true) out = states.map((s) => `${s.id}\n`).join('');
  else if (ctx.flags.format === 'json') out = `${JSON.stringify(states)}\n`;
  else {
    const rows = [
      ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
      ...states.map((s) => [s.id, s.pid, s.status, s.bundle, s.created, s.owner].map(String)),
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    out = rows.map((r) => `${r.map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]! + 3) : cell)).join('')}\n`).join('');
  }
  writeSync(1, out);
  return 0;
}
