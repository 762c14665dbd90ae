// runtime.md "Kill": a signal to the container's process (or, with `all`, to every process in its cgroup).
import { LIVE, withContainer } from '../container/locked';
import { containerDir, loadRecord } from '../container/store';
import { containerStatus } from '../container/status';
import type { RuntimeContext } from './context';
import { send, signalContainer } from './signal';

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
function signalUnlocked(root: string, id: string, signal: number): boolean {
  const record = loadRecord(root, id);
  const status = containerStatus(record, containerDir(root, id));
  if (status !== 'created' && status !== 'running') return false;
  send(record.pid, signal);
  return true;
}

export function killContainer(ctx: RuntimeContext, id: string, signal: number, opts: { all: boolean }): void {
  // `all` freezes the cgroup while it lists and signals: under the lock, as pause and resume
  if (!opts.all && signalUnlocked(ctx.root, id, signal)) return;
  withContainer(ctx.root, id, LIVE, (record) => signalContainer(record, signal, opts.all));
}
