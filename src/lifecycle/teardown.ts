// Undoing what create (or restore) made for a container: its processes killed, its cgroup, resctrl group and
// state dir removed, then the poststop hooks. delete does it on request; create and restore do it first for a
// create that died half-way under the same id.
import { existsSync } from 'node:fs';
import type { CgroupSet } from '../cgroups/cgroupfs';
import { removeEmptyParents } from '../cgroups/parents';
import { pidsOf } from '../cgroups/procs';
import { removeCgroup } from '../cgroups/remove';
import { sleepMs } from '../sys/sleep';
import { log } from '../cli/log';
import { runHooks } from '../container/hooks';
import { leaveRdtGroup } from '../rdt';
import {
  ContainerError,
  containerDir,
  loadConfig,
  loadRecord,
  lockContainer,
  removeContainerDir,
  unlockContainer,
  type ContainerRecord,
} from '../container/store';
import { containerStatus, hookStateJson, isAlive, waitGone, type Status } from '../container/status';
import type { Spec } from '../spec/generated/types';
import type { RuntimeContext } from './context';
import { signalContainer } from './signal';

/** Removes container `record` (its dir `dir`, held locked; its status `status`), killing it first if it runs. */
export async function tearDown(ctx: RuntimeContext, dir: string, record: ContainerRecord, status: Status): Promise<void> {
  const config = damagedOrConfig(dir);
  // `creating` here means the create died half-way (it would hold the lock otherwise)
  if (status !== 'stopped' && record.pid && isAlive(record)) {
    // a damaged config: as without a pid namespace, every process of the cgroup is killed
    const hasPidNs = config?.linux?.namespaces?.some((n) => n.type === 'pid' && !n.path);
    // without a pid namespace of its own, killing init would leave the rest of the container running
    signalContainer(record, 9, !hasPidNs);
    if (!waitGone(record.pid)) throw new ContainerError(`container ${record.id}: process ${record.pid} did not die after SIGKILL`);
    if (record.cgroup) waitCgroupEmpty(record.cgroup);
  }
  if (record.cgroup) {
    if (record.cgroup.systemdUnit) await (await import('../cgroups/systemd')).stopScope(record.cgroup.systemdUnit, record.cgroup.systemdInstance ?? 'system');
    removeCgroup(record.cgroup);
    removeEmptyParents(ctx.root, record.cgroup);
  }
  if (record.rdt) leaveRdtGroup(record.rdt);
  removeContainerDir(dir);
  await runHooks(
    config?.hooks?.poststop,
    'poststop',
    () => hookStateJson(record, 'stopped'),
    (e) => log.warn(e.message),
  );
}

/** The container's recorded config, or undefined when it is missing or not JSON (the rest still goes). */
function damagedOrConfig(dir: string): Spec | undefined {
  try {
    return loadConfig(dir);
  } catch (e) {
    if (!(e instanceof ContainerError)) throw e;
    log.warn(`${e.message}: the poststop hooks cannot be run`);
    return undefined;
  }
}

/** Waits (bounded) until the processes killed with the container have left its cgroup, so it can be removed. */
function waitCgroupEmpty(set: CgroupSet, timeoutMs = 2000): void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; pidsOf(set).length > 0 && Date.now() < deadline; wait = Math.min(wait * 2, 50)) {
    sleepMs(wait);
  }
}

/**
 * A create that died (killed, or its machine lost power) leaves a dir nobody holds the lock of, whose record
 * never reached `created`: it is removed, so the id can be used again. So is a dir whose record is missing or
 * not JSON (a ContainerError from loadRecord). A record the host would not let runt read (EACCES, EIO, ...)
 * says nothing of the container: its dir stays, and that error is the caller's.
 */
export async function reclaimAbandoned(ctx: RuntimeContext, id: string): Promise<void> {
  const dir = containerDir(ctx.root, id);
  if (!existsSync(dir)) return;
  const lock = lockContainer(dir, false);
  if (lock === undefined) return; // a create or another call is under way: not abandoned
  try {
    const record = loadIntact(ctx.root, id);
    if (record?.createdDone) return;
    log.warn(`container ${id}: removing what a create that did not finish left behind`);
    if (record) await tearDown(ctx, dir, record, containerStatus(record, dir));
    else removeContainerDir(dir);
  } finally {
    unlockContainer(lock);
  }
}

/**
 * Container `id`'s record, or undefined when its dir holds none intact (missing, or not JSON: a ContainerError).
 * Every other failure is thrown: the record may be intact, and its container alive.
 */
function loadIntact(root: string, id: string): ContainerRecord | undefined {
  try {
    return loadRecord(root, id);
  } catch (e) {
    if (e instanceof ContainerError) return undefined;
    throw e;
  }
}
