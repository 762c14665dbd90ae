// runtime.md "Create": the container's process exists, set up, blocked on the exec fifo before the user's
// program runs; runt itself then exits and leaves the process to the caller.
import { chmodSync } from 'node:fs';
import * as cgroups from '../cgroups';
import { runHooks } from '../container/hooks';
import { fifoPath, makeContainerDir, removeContainerDir, saveRecord, unlockContainer, writeAtomic, type ContainerRecord } from '../container/store';
import { hookStateJson, killAndWait, procStat } from '../container/status';
import { log } from '../cli/log';
import { cgroupMountSteps } from '../plan/cgroup-mounts';
import { buildChildPlan, buildParentPlan, type PlanContext } from '../plan';
import { withListenFds } from '../plan/process';
import { sessionKeyringName } from '../plan/keyring';
import { ConfigError } from '../plan/types';
import { joinRdtGroup, leaveRdtGroup, resctrlRoot } from '../rdt';
import { runShim, type ShimSession } from '../shim/driver';
import type { Spec } from '../spec/generated/types';
import { checkRootlessConfig, idMapActions, rootlessCgroup, runIdMapHelper } from '../container/rootless';
import { readBundle } from './bundle';
import type { RuntimeContext } from './context';
import { hostFacts, setgroupsDenied } from './host';
import { writeProc } from './proc';
import { containerResources, newRecord } from './record';
import { listenFds, nsPid, terminalAtHand } from './stdio';
import { reclaimAbandoned } from './teardown';

export interface CreateOptions {
  /** The bundle directory (default: the current directory). */
  bundle?: string;
  /** A file that receives the container process's pid. */
  pidFile?: string;
  /** An AF_UNIX socket that receives the terminal's master fd. */
  consoleSocket?: string;
  /** MS_MOVE and chroot instead of pivot_root. */
  noPivot: boolean;
  /** No new session keyring. */
  noNewKeyring: boolean;
  /** How many fds from 3 on go to the container. */
  preserveFds: number;
}

export interface Created {
  record: ContainerRecord;
  dir: string;
  session: ShimSession;
}

/** What create made so far, undone in reverse when a later step fails: nothing is left behind. */
class Undo {
  private actions: (() => void | Promise<void>)[] = [];

  push(action: () => void | Promise<void>): void {
    this.actions.push(action);
  }

  async run(): Promise<void> {
    for (const action of this.actions.reverse()) {
      try {
        await action();
      } catch (e) {
        log.warn(`cleanup after a failed create: ${(e as Error).message}`);
      }
    }
    this.actions = [];
  }
}

export async function createContainer(ctx: RuntimeContext, id: string, opts: CreateOptions, mode: 'detach' | 'wait'): Promise<Created> {
  const { bundle, spec } = readBundle(opts.bundle);
  const cgroupHost = cgroups.detectHost();
  // rootless with --systemd-cgroup: the user's own systemd makes the scope, delegated to the user (runc's systemdUser)
  const systemdInstance = ctx.rootless ? 'user' : 'system';
  const defaultSlice = ctx.rootless ? 'user.slice' : 'system.slice'; // runc's defaults
  let cgroupPath = '';
  if (ctx.systemdCgroup && ctx.rootless) {
    (await import('../cgroups/systemd')).requireUserManager(cgroupHost);
    // checked now; its path is below the manager's own cgroup, which the manager tells once asked (startScope)
    cgroups.systemdUnit(spec.linux?.cgroupsPath, id, defaultSlice);
  } else cgroupPath = cgroups.resolveCgroupsPath(spec.linux?.cgroupsPath, id, ctx.systemdCgroup, ctx.root);
  if (ctx.rootless) checkRootlessConfig(spec);
  const withCgroup = !ctx.rootless || ctx.systemdCgroup || rootlessCgroup(cgroupHost, cgroupPath, spec, process.geteuid!(), log);
  const rdtRoot = spec.linux?.intelRdt ? resctrlRoot() : undefined;
  await reclaimAbandoned(ctx, id);
  const undo = new Undo();
  try {
    const record: ContainerRecord = { ...newRecord(id, bundle, spec), ...(opts.noNewKeyring ? { noNewKeyring: true } : {}) };
    const { dir, lock } = makeContainerDir(ctx.root, record);
    undo.push(() => removeContainerDir(dir));
    undo.push(() => unlockContainer(lock));
    faultPoint('dir-made');
    const { mkfifo } = await import('../sys/native');
    mkfifo(fifoPath(dir), 0o622);
    // the process opens it after taking the container user's ids: writable by others, as runc makes it
    chmodSync(fifoPath(dir), 0o622);

    let cgroup: cgroups.CgroupSet | undefined;
    // the cgroupfs driver makes the cgroup now; systemd's scope needs the container's pid (onPid)
    const setUpCgroup = async (pid?: number): Promise<void> => {
      let set: cgroups.CgroupSet;
      let stopUnit = async (): Promise<void> => {};
      if (pid === undefined) set = cgroups.createCgroup(cgroupHost, cgroupPath);
      else {
        const systemd = await import('../cgroups/systemd');
        const unit = cgroups.systemdUnit(spec.linux?.cgroupsPath, id, defaultSlice);
        const extra = systemd.annotationProperties(spec.annotations);
        set = await systemd.startScope(cgroupHost, unit, pid, spec.linux?.resources, extra, systemdInstance);
        stopUnit = async () => {
          killAndWait(pid); // the process goes first (its own undo, pushed earlier, would come after this one)
          await systemd.stopScope(unit.unit, systemdInstance);
        };
      }
      cgroup = set;
      cgroups.recordParents(ctx.root, set);
      undo.push(async () => {
        await stopUnit();
        cgroups.removeCgroup(set);
        cgroups.removeEmptyParents(ctx.root, set);
      });
      record.cgroup = set;
      saveRecord(dir, record); // from here a create that dies half-way leaves what `delete` needs to clean up
      faultPoint('cgroup-made');
      for (const warning of cgroups.applyResources(cgroupHost, set, containerResources(spec))) log.warn(warning);
    };
    if (withCgroup && !ctx.systemdCgroup) await setUpCgroup();

    const joined = cgroup ? cgroups.selfJoin(cgroup, true) : undefined;
    const host = hostFacts();
    const listen = listenFds();
    const planCtx: PlanContext = {
      bundle,
      mode,
      execFifo: fifoPath(dir),
      consoleSocket: opts.consoleSocket,
      consoleRelay: terminalAtHand(mode),
      noPivot: opts.noPivot,
      preserveFds: listen + opts.preserveFds,
      host,
      cgroupMountSteps: (mount, field, cgroupns) => {
        if (!cgroup) throw new ConfigError(`${field}: rootless: the container has no cgroup to mount (none is delegated)`);
        return cgroupMountSteps(cgroups.cgroupMountPlan(cgroupHost, cgroup, cgroupns, mount.options), mount, field);
      },
      rootless: ctx.rootless,
      warn: (msg) => log.warn(msg),
      ...(opts.noNewKeyring ? {} : { sessionKeyring: sessionKeyringName(id) }),
      cgroupJoin: joined?.join,
    };
    const parent = buildParentPlan(spec, planCtx);
    const session = await runShim(parent.steps, planCtx.preserveFds, {
      onPid: async (pid) => {
        undo.push(() => killAndWait(pid));
        record.pid = pid;
        record.startTime = procStat(pid)?.startTime ?? '';
        saveRecord(dir, record);
        faultPoint('got-pid');
        if (fault('shim-killed')) process.kill(pid, 'SIGKILL');
        if (withCgroup && ctx.systemdCgroup) await setUpCgroup(pid);
        // the cgroupfs driver's dirs the child did not join by itself; systemd's scope (made just now) all of them
        setUpFromOutside(spec, pid, joined ? joined.left : cgroup, ctx.rootless);
        if (rdtRoot) {
          const rdt = joinRdtGroup(spec.linux!.intelRdt!, id, pid, rdtRoot);
          undo.push(() => leaveRdtGroup(rdt));
          record.rdt = rdt;
          saveRecord(dir, record);
        }
        const withFds = listen && spec.process ? { ...spec, process: withListenFds(spec.process, listen, nsPid(pid)) } : spec;
        const childCtx = { ...planCtx, setgroupsDenied: setgroupsDenied(pid) };
        return buildChildPlan(withFds, parent.namespaces, childCtx, hookStateJson(record, 'creating'));
      },
      onHooks: async () => {
        const state = hookStateJson(record, 'creating');
        await runHooks(spec.hooks?.prestart, 'prestart', state);
        await runHooks(spec.hooks?.createRuntime, 'createRuntime', state);
      },
    });
    faultPoint('before-done');
    record.createdDone = true;
    saveRecord(dir, record);
    if (opts.pidFile) writeAtomic(opts.pidFile, String(session.pid));
    unlockContainer(lock);
    return { record, dir, session };
  } catch (e) {
    await undo.run();
    throw e;
  }
}

/** Done by the runtime while the child waits: id maps, the cgroups it does not join by itself, OOM score. */
function setUpFromOutside(spec: Spec, pid: number, cgroup: cgroups.CgroupSet | undefined, rootless: boolean): void {
  const caller = rootless ? { uid: process.geteuid!(), gid: process.getegid!() } : undefined;
  for (const action of idMapActions(spec, pid, caller)) {
    if (action.kind === 'write') writeProc(pid, action.file, action.content, action.field);
    else runIdMapHelper(action);
  }
  if (cgroup) cgroups.addProcess(cgroup, pid);
  if (spec.process?.oomScoreAdj !== undefined) writeProc(pid, 'oom_score_adj', String(spec.process.oomScoreAdj), 'process.oomScoreAdj');
}

/** true in the test build only (scripts/build.mjs --faults); false in production, where esbuild drops the fault points. */
declare const RUNT_FAULTS: boolean;

/** Whether the test build was asked (RUNT_FAULT=<point>) to fail at `point`. */
function fault(point: string): boolean {
  return RUNT_FAULTS && process.env.RUNT_FAULT === point;
}

/**
 * Fault injection for the tests: the runtime dies by SIGKILL at that point of create, as a crash or an OOM
 * kill would make it, to show that what it leaves is cleaned up later.
 */
function faultPoint(point: string): void {
  if (fault(point)) process.kill(process.pid, 'SIGKILL');
}
