// runtime.md "Create": the container's process exists, set up, blocked on the exec fifo before the user's
// program runs; runt itself then exits and leaves the process to the caller.
import { chmodSync, writeFileSync } from 'node:fs';
import * as cgroups from '../cgroups';
import { runHooks } from '../container/hooks';
import {
  fifoPath,
  makeContainerDir,
  removeContainerDir,
  saveRecord,
  unlockContainer,
  writeAtomic,
  OCI_VERSION,
  type ContainerRecord,
} from '../container/store';
import { hookStateJson, killAndWait, procStat } from '../container/status';
import { log } from '../cli/log';
import { cgroupMountSteps } from '../plan/cgroup-mounts';
import { buildChildPlan, buildParentPlan, rootfsPath, type PlanContext } from '../plan';
import { withListenFds } from '../plan/process';
import { sessionKeyringName } from '../plan/keyring';
import { ConfigError } from '../plan/types';
import { UserError } from '../errors';
import { joinRdtGroup, leaveRdtGroup, resctrlRoot } from '../rdt';
import { runShim, type ShimSession } from '../shim/driver';
import type { LinuxResources, Spec } from '../spec/generated/types';
import { checkRootlessConfig, idMapActions, rootlessCgroup, runIdMapHelper } from '../container/rootless';
import { readBundle } from './bundle';
import { reclaimAbandoned } from './delete';
import { intFlag, stringFlag, type Context } from './context';
import { hostFacts, setgroupsDenied } from './host';
import { listenFds, nsPid, terminalAtHand } from './stdio';

export interface CreateOptions {
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
}

export function createOptions(ctx: Context): CreateOptions {
  return {
    bundle: stringFlag(ctx.flags, 'bundle'),
    pidFile: stringFlag(ctx.flags, 'pid-file'),
    consoleSocket: stringFlag(ctx.flags, 'console-socket'),
    noPivot: ctx.flags['no-pivot'] === true,
    noNewKeyring: ctx.flags['no-new-keyring'] === true,
    preserveFds: intFlag(ctx.flags, 'preserve-fds'),
  };
}

export interface Created {
  record: ContainerRecord;
  config: Spec;
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

export async function createContainer(ctx: Context, id: string, opts: CreateOptions, mode: 'detach' | 'wait'): Promise<Created> {
  const { bundle, spec } = readBundle(opts.bundle);
  const cgroupHost = cgroups.detectHost();
  if (ctx.systemdCgroup && ctx.rootless)
    throw new UserError('--systemd-cgroup: rootless containers (the systemd user manager) are not supported; use the cgroupfs driver');
  const cgroupPath = cgroups.resolveCgroupsPath(spec.linux?.cgroupsPath, id, ctx.systemdCgroup, ctx.root);
  if (ctx.rootless) checkRootlessConfig(spec);
  const withCgroup = !ctx.rootless || rootlessCgroup(cgroupHost, cgroupPath, spec, process.geteuid!(), log);
  const rdtRoot = spec.linux?.intelRdt ? resctrlRoot() : undefined;
  await reclaimAbandoned(ctx, id);
  const undo = new Undo();
  try {
    const record: ContainerRecord = { ...newRecord(id, bundle, spec), ...(opts.noNewKeyring ? { noNewKeyring: true } : {}) };
    const { dir, lock } = makeContainerDir(ctx.root, record, spec);
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
        const unit = cgroups.systemdUnit(spec.linux?.cgroupsPath, id);
        set = await systemd.startScope(cgroupHost, unit, cgroupPath, pid, spec.linux?.resources);
        stopUnit = async () => {
          killAndWait(pid); // the process goes first (its own undo, pushed earlier, would come after this one)
          await systemd.stopScope(unit.unit);
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
    return { record, config: spec, dir, session };
  } catch (e) {
    await undo.run();
    throw e;
  }
}

/** The record of a container being made (no process yet): create's, and restore's. */
export function newRecord(id: string, bundle: string, spec: Spec): ContainerRecord {
  return {
    ociVersion: OCI_VERSION,
    id,
    createdDone: false,
    pid: 0,
    startTime: '',
    bundle,
    rootfs: rootfsPath(spec, bundle),
    created: new Date().toISOString(),
    owner: '',
    annotations: Object.fromEntries(Object.entries(spec.annotations ?? {}).filter((e): e is [string, string] => e[1] !== undefined)),
  };
}

/** linux.resources with runc's default device rules after the config's, as the container's cgroup gets them. */
export function containerResources(spec: Spec): LinuxResources | undefined {
  return spec.linux?.resources?.devices
    ? { ...spec.linux.resources, devices: cgroups.containerDeviceRules(spec.linux.resources.devices) }
    : spec.linux?.resources;
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

export function writeProc(pid: number, file: string, content: string, field: string): void {
  try {
    writeFileSync(`/proc/${pid}/${file}`, content);
  } catch (e) {
    throw new ConfigError(`${field}: writing /proc/${pid}/${file}: ${(e as Error).message}`);
  }
}

/** true in the test build only (scripts/build.mjs --faults); false in production, where the bundler folds every fault point to `false`. */
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

export async function create(ctx: Context): Promise<number> {
  await createContainer(ctx, ctx.args[0]!, createOptions(ctx), 'detach');
  return 0;
}
