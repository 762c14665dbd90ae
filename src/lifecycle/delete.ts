// runtime.md "Delete": undo what create made (cgroup, state dir), then the poststop hooks.
import {
  ContainerError,
  containerDir,
  loadRecord,
  lockContainer,
  removeContainerDir,
  STILL_RUNNING,
  unlockContainer,
  type ContainerRecord,
} from '../container/store';
import { containerStatus } from '../container/status';
import type { RuntimeContext } from './context';
import { tearDown } from './teardown';

/** Deletes a stopped container, or with `force` one in any state (killed first). */
export async function deleteContainer(ctx: RuntimeContext, id: string, force: boolean): Promise<void> {
  const dir = containerDir(ctx.root, id);
  const lock = lockContainer(dir);
  try {
    let record: ContainerRecord;
    try {
      record = loadRecord(ctx.root, id);
    } catch (e) {
      // a container's dir appears with its record (makeContainerDir): one whose record is missing or not JSON
      // (a ContainerError) is damaged, and nothing else of that container can be found; the dir goes. A record
      // the host would not let runt read (EACCES, EIO: a HostError) may be intact: the dir stays
      if (e instanceof ContainerError) removeContainerDir(dir);
      throw e;
    }
    const status = containerStatus(record, dir);
    if (!force) {
      if (status === 'running' || status === 'paused') throw new ContainerError(`cannot delete container ${id} that is not stopped: ${STILL_RUNNING}`);
      // runtime.md: deleting a container that is not stopped is an error and has no effect; runc kills and
      // deletes a created one anyway. Engines do not need that: containerd's client refuses to delete a created
      // task before it is killed, podman deletes with --force
      if (status === 'created') throw new ContainerError(`cannot delete container ${id} that is not stopped: created (kill it first, or delete --force)`);
    }
    await tearDown(ctx, dir, record, status);
  } finally {
    unlockContainer(lock);
  }
}
