// runtime.md "Kill": a signal to the container's process (or, with --all, to every process in its cgroup).
import { constants } from 'node:os';
import * as cgroups from '../cgroups';
import { UsageError } from '../cli/parse';
import { ContainerError, containerDir, loadRecord, lockContainer, NOT_RUNNING, unlockContainer, type ContainerRecord } from '../container/store';
import { containerStatus } from '../container/status';
import type { Context } from './context';

/** A signal as runc takes it: KILL, SIGKILL or 9. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0 && n <= 64) return n;
  } else {
    const name = (text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`) as NodeJS.Signals;
    const n = constants.signals[name];
    if (n !== undefined) return n;
  }
  throw new UsageError(`unknown signal "${text}"`);
}

export function signalContainer(record: ContainerRecord, signal: number, all: boolean): void {
  const pids = all && record.cgroup ? cgroups.pidsOf(cgroups.detectHost(), record.cgroup) : [record.pid];
  for (const pid of all ? pids : [record.pid]) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

export function kill(ctx: Context): number {
  const id = ctx.args[0]!;
  const signal = parseSignal(ctx.args[1] ?? 'TERM');
  const dir = containerDir(ctx.root, id);
  const lock = lockContainer(dir);
  try {
    const record = loadRecord(ctx.root, id);
    const status = containerStatus(record, dir);
    if (status !== 'created' && status !== 'running') throw new ContainerError(NOT_RUNNING);
    signalContainer(record, signal, ctx.flags.all === true);
  } finally {
    unlockContainer(lock);
  }
  return 0;
}
