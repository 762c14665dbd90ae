// runtime.md "Kill": a signal to the container's process (or, with --all, to every process in its cgroup).
import { hasFreezer, isFrozen, setFrozen } from '../cgroups/freezer';
import { pidsOf } from '../cgroups/procs';
import { log } from '../cli/log';
import { UsageError } from '../cli/parse';
import { containerDir, loadRecord, type ContainerRecord } from '../container/store';
import { containerStatus } from '../container/status';
import type { Context } from './context';
import { LIVE, withContainer } from './locked';

/** A signal as runc takes it: KILL, SIGKILL or 9. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0 && n <= 64) return n;
  } else {
    const name = (text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`) as NodeJS.Signals;
    // node:os for names only: engines send numbers, and a call that needs no module does not load one
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const n = (require('node:os') as typeof import('node:os')).constants.signals[name];
    if (n !== undefined) return n;
  }
  throw new UsageError(`unknown signal "${text}"`);
}

const SIGKILL = 9;

function send(pid: number, signal: number): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/**
 * Sends `signal` to the container's init, or with `all` to every process in its cgroup. As runc does: for
 * `all` the cgroup is frozen while the pids are listed and signalled (no fork slips through), and left as
 * it was; a frozen process does not act on a signal until thawed, so SIGKILL also thaws a paused container.
 */
export function signalContainer(record: ContainerRecord, signal: number, all: boolean): void {
  const set = record.cgroup;
  if (!all || !set) {
    send(record.pid, signal);
  } else {
    let froze = false;
    if (hasFreezer(set) && !isFrozen(set)) {
      try {
        setFrozen(set, true);
        froze = true;
      } catch (e) {
        log.warn(`kill --all: signalling without freezing first: ${(e as Error).message}`);
      }
    }
    try {
      for (const pid of pidsOf(set)) send(pid, signal);
    } finally {
      if (froze && signal !== SIGKILL) setFrozen(set, false);
    }
  }
  if (signal === SIGKILL && set && isFrozen(set)) setFrozen(set, false);
}

/**
 * A signal to the init of a created or running container, sent without the container's lock: its flock is the
 * one thing `kill` needed ffi-rs for (a 760 KB library to map, ~1.5 ms of each call), and engines kill every
 * container they stop. Every outcome is one the locked calls give in some order:
 * - the record is read whole (each write is a rename); `creating` (a create or restore under way), `paused`
 *   (SIGKILL thaws: freezer writes are the locked calls') and `stopped` are left to the locked path, which
 *   waits for the create as before;
 * - the process is the recorded one (its start time) and alive when checked, as under the lock, which never
 *   kept it from exiting by itself: the pid could be reused between the check and kill(2) only by a process
 *   exiting, being reaped and the pid space wrapping in between, as in runc;
 * - a call holding the lock meanwhile: a delete SIGKILLs the process anyway (a signal before changes nothing;
 *   after, the process is gone); a pause that froze the cgroup since the check leaves the signal pending until
 *   resume, as a pause right after a locked kill leaves the dying process frozen; start, exec and update do
 *   not depend on the signals the process gets.
 * Returns false, having done nothing, when the container's status needs the locked path.
 */
function signalUnlocked(ctx: Context, id: string, signal: number): boolean {
  const record = loadRecord(ctx.root, id);
  const status = containerStatus(record, containerDir(ctx.root, id));
  if (status !== 'created' && status !== 'running') return false;
  send(record.pid, signal);
  return true;
}

export function kill(ctx: Context): number {
  const signal = parseSignal(ctx.args[1] ?? 'TERM');
  const all = ctx.flags.all === true;
  // --all freezes the cgroup while it lists and signals: under the lock, as pause and resume
  if (!all && signalUnlocked(ctx, ctx.args[0]!, signal)) return 0;
  withContainer(ctx, ctx.args[0]!, LIVE, (record) => signalContainer(record, signal, all));
  return 0;
}
