// `list`: every container under --root: runc's columns, its JSON, or the ids only (--quiet).
import { writeSync } from 'node:fs';
import { listContainers } from '../lifecycle/list';
import type { Handler } from './context';

export const list: Handler<'list'> = ({ quiet, format }, _args, ctx) => {
  const states = listContainers(ctx);
  let out: string;
  if (quiet) out = states.map((s) => `${s.id}\n`).join('');
  else if (format === 'json') out = `${JSON.stringify(states)}\n`;
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
};
