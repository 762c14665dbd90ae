// The frame of the operations on a live container: take its lock, load it, check its status.
import { ContainerError, containerDir, loadRecord, lockContainer, NOT_RUNNING, unlockContainer, type ContainerRecord } from './store';
import { containerStatus, type Status } from './status';

/**
 * Runs `action` on container `id` of state directory `root` under its lock when its status is one of `allowed`
 * (otherwise fails with `refusal`, runc's "container not running" by default), or passes `allowed` when it is a
 * check that throws.
 * An action that returns a promise (one that asks systemd) keeps the lock until the promise settles.
 */
export function withContainer<T>(
  root: string,
  id: string,
  allowed: readonly Status[] | ((status: Status) => void),
  action: (record: ContainerRecord, status: Status, dir: string) => T,
  refusal = NOT_RUNNING,
): T {
  const dir = containerDir(root, id);
  const lock = lockContainer(dir);
  let pending = false;
  try {
    const record = loadRecord(root, id);
    const status = containerStatus(record, dir);
    if (typeof allowed === 'function') allowed(status);
    else if (!allowed.includes(status)) throw new ContainerError(refusal);
    const result = action(record, status, dir);
    if (result instanceof Promise) {
      pending = true;
      return result.finally(() => unlockContainer(lock)) as T;
    }
    return result;
  } finally {
    if (!pending) unlockContainer(lock);
  }
}

/** Created, running or paused: the process is there. */
export const LIVE: readonly Status[] = ['created', 'running', 'paused'];
