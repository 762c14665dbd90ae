// `ps`: the container's processes, as runc lists them: host pids in its cgroup (json), or ps(1)'s output
// cut down to those pids (table).
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import { ContainerError } from '../container/store';
import { containerPids } from '../lifecycle/ps';
import type { Handler } from './context';

/** Keeps ps(1)'s header and the lines whose PID column is one of `pids`. */
export function filterPsOutput(output: string, pids: ReadonlySet<number>): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new ContainerError(`ps: no PID column in the output of ps (header: ${JSON.stringify(header)})`);
  const kept = lines.slice(1).filter((line) => {
    if (line.trim() === '') return false;
    const pid = Number(line.trim().split(/\s+/)[column]);
    if (!Number.isInteger(pid)) throw new ContainerError(`ps: cannot read a pid in ${JSON.stringify(line)}`);
    return pids.has(pid);
  });
  return [header, ...kept].map((l) => `${l}\n`).join('');
}

export const ps: Handler<'ps'> = ({ format }, [id, ...psArgs], ctx) => {
  const pids = containerPids(ctx, id!);
  if (format === 'json') {
    writeSync(1, `${JSON.stringify(pids)}\n`);
    return 0;
  }
  const args = psArgs.length > 0 ? psArgs : ['-ef'];
  const r = spawnSync('ps', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new ContainerError(`ps: cannot run ps: ${r.error.message}`);
  if (r.status !== 0) throw new ContainerError(`ps ${args.join(' ')}: exit status ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  writeSync(1, filterPsOutput(r.stdout, new Set(pids)));
  return 0;
};
