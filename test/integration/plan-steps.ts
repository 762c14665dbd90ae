// What `create --debug` logs it carried out and sent the shim, part by part, read back as `runt plan --format
// json` prints a plan: the tests compare the two.
import { readFileSync } from 'node:fs';

export interface Step {
  op: string;
  args: (string | number)[];
  field?: string;
}
export const PARTS = ['before', 'parent', 'outside', 'child', 'hooks'] as const;
export type Planned = Record<(typeof PARTS)[number], Step[]>;

/** What create --debug logged it carried out and sent the shim, part by part. */
export function carriedOut(logFile: string): Planned {
  const planned: Planned = { before: [], parent: [], outside: [], child: [], hooks: [] };
  for (const line of readFileSync(logFile, 'utf8').split('\n').filter(Boolean)) {
    const m = /^plan (\w+): (.*)$/s.exec((JSON.parse(line) as { msg: string }).msg);
    if (m) planned[m[1] as keyof Planned].push(...(JSON.parse(m[2]!) as Step[]));
  }
  return planned;
}

/** create's steps with the placeholders of a printed plan in place of its pid and its state dir. */
export function withPlaceholders(planned: Planned, pid: number, root: string): Planned {
  const arg = (a: string | number): string | number =>
    a === pid || a === String(pid)
      ? '<pid>'
      : typeof a !== 'string'
        ? a
        : a.replaceAll(`/proc/${pid}/`, '/proc/<pid>/').replaceAll(`"pid":${pid},`, '"pid":"<pid>",').replaceAll(`${root}/`, '<state>/');
  return Object.fromEntries(PARTS.map((part) => [part, planned[part].map((s) => ({ ...s, args: s.args.map(arg) }))])) as Planned;
}
