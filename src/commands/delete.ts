// runtime.md "Delete": undo what create made (cgroup, state dir), then the poststop hooks.
import * as cgroups from '../cgroups';
import { log } from '../cli/log';
import { runHooks } from '../container/hooks';
import {
  ContainerError, containerDir, loadRecord, lockContainer, removeContainerDir, STILL_RUNNING, unlockContainer,
  type ContainerRecord,
} from '../container/store';
import { containerStatus, hookStateJson, isAlive } from '../container/status';
import type { Context } from './context';
import { waitGone } from './create';
import { signalContainer } from './kill';

export async function deleteContainer(ctx: Context, id: string, force: boolean): Promise<void> {
  const dir = containerDir(ctx.root, id);
  const lock = lockContainer(dir);
  try {
    await deleteLocked(dir, id, force, ctx);
  } finally {
    unlockContainer(lock);
  }
}

async function deleteLocked(dir: string, id: string, force: boolean, ctx: Context): Promise<void> {
  let record: ContainerRecord;
  try {
    record = loadRecord(ctx.root, id);
  } catch (e) {
    // we hold the lock, so no create is under way: a dir without a record is what a killed create left
    removeContainerDir(dir);
    throw e;
  }
  const status = containerStatus(record, dir);
  if (status === 'running' && !force) throw new ContainerError(`cannot delete container ${id} that is not stopped: ${STILL_RUNNING}`);
  // `creating` here means the create died half-way (it would hold the lock otherwise)
  if (status !== 'stopped' && record.pid && isAlive(record)) {
    const hasPidNs = record.config.linux?.namespaces?.some((n) => n.type === 'pid' && !n.path);
    // without a pid namespace of its own, killing init would leave the rest of the container running
    signalContainer(record, 9, !hasPidNs);
    if (!waitGone(record.pid)) throw new ContainerError(`container ${id}: process ${record.pid} did not die after SIGKILL`);
  }
  if (record.cgroup) cgroups.removeCgroup(record.cgroup);
  removeContainerDir(dir);
  try {
    await runHooks(record.config.hooks?.poststop, 'poststop', hookStateJson(record, 'stopped'));
  } catch (e) {
    log.warn((e as Error).message);
  }
}

export async function del(ctx: Context): Promise<number> {
  await deleteContainer(ctx, ctx.args[0]!, ctx.flags.force === true);
  return 0;
}
