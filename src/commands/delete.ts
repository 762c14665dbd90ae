// runtime.md "Delete": undo what create made (cgroup, state dir), then the poststop hooks.
import { existsSync } from 'node:fs';
import * as cgroups from '../cgroups';
import { sleepMs } from '../cgroups/fs';
import { log } from '../cli/log';
import { runHooks } from '../container/hooks';
import { leaveRdtGroup } from '../rdt';
import {
  ContainerError,
  containerDir,
  loadConfig,
  loadRecord,
  lockContainer,
  NOT_EXIST,
  removeContainerDir,
  STILL_RUNNING,
  unlockContainer,
  type ContainerRecord,
} from '../container/store';
import { containerStatus, hookStateJson, isAlive, waitGone } from '../container/status';
import type { Spec } from '../spec/generated/types';
import type { Context } from './context';
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
  let config: Spec;
  try {
    record = loadRecord(ctx.root, id);
    config = loadConfig(dir);
  } catch (e) {
    // a container's dir appears with its record (makeContainerDir): one that cannot be read is damaged, and
    // nothing else of that container can be found; the dir goes
    removeContainerDir(dir);
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
  // `creating` here means the create died half-way (it would hold the lock otherwise)
  if (status !== 'stopped' && record.pid && isAlive(record)) {
    const hasPidNs = config.linux?.namespaces?.some((n) => n.type === 'pid' && !n.path);
    // without a pid namespace of its own, killing init would leave the rest of the container running
    signalContainer(record, 9, !hasPidNs);
    if (!waitGone(record.pid)) throw new ContainerError(`container ${id}: process ${record.pid} did not die after SIGKILL`);
    if (record.cgroup) waitCgroupEmpty(record.cgroup);
  }
  if (record.cgroup) {
    if (record.cgroup.systemdUnit) await (await import('../cgroups/systemd')).stopScope(record.cgroup.systemdUnit);
    cgroups.removeCgroup(record.cgroup);
    cgroups.removeEmptyParents(ctx.root, record.cgroup);
  }
  if (record.rdt) leaveRdtGroup(record.rdt);
  removeContainerDir(dir);
  await runHooks(config.hooks?.poststop, 'poststop', hookStateJson(record, 'stopped'), (e) => log.warn(e.message));
}

/** Waits (bounded) until the processes killed with the container have left its cgroup, so it can be removed. */
function waitCgroupEmpty(set: cgroups.CgroupSet, timeoutMs = 2000): void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; cgroups.pidsOf(set).length > 0 && Date.now() < deadline; wait = Math.min(wait * 2, 50)) {
    sleepMs(wait);
  }
}

/**
 * A create that died (killed, or its machine lost power) leaves a dir nobody holds the lock of, whose record
 * never reached `created` (or cannot be read): it is removed, so the id can be used again.
 */
export async function reclaimAbandoned(ctx: Context, id: string): Promise<void> {
  const dir = containerDir(ctx.root, id);
  if (!existsSync(dir)) return;
  const lock = lockContainer(dir, false);
  if (lock === undefined) return; // a create or another call is under way: not abandoned
  try {
    let record: ContainerRecord | undefined;
    try {
      record = loadRecord(ctx.root, id);
    } catch {
      record = undefined;
    }
    if (record?.createdDone) return;
    log.warn(`container ${id}: removing what a create that did not finish left behind`);
    if (record) await deleteLocked(dir, id, true, ctx);
    else removeContainerDir(dir);
  } finally {
    unlockContainer(lock);
  }
}

export async function del(ctx: Context): Promise<number> {
  const force = ctx.flags.force === true;
  try {
    await deleteContainer(ctx, ctx.args[0]!, force);
  } catch (e) {
    // as in runc, `delete --force` of a container that is gone succeeds: podman and containerd's shim clean up
    // after a failed create this way, and an error here becomes a second, misleading one in their output
    if (!(force && e instanceof ContainerError && e.message === NOT_EXIST)) throw e;
  }
  return 0;
}
