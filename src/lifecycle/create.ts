// runtime.md "Create": the container's process exists, set up, blocked on the exec fifo before the user's
// program runs; runt itself then exits and leaves the process to the caller. What is done, in which order, is
// create's plan (src/plan/container.ts, the one `runt plan` prints); this file reads the facts it is computed
// from and carries out each part, undoing what it made when a later part fails.
import { chmodSync, existsSync } from 'node:fs';
import * as cgroups from '../cgroups';
import { runHooks } from '../container/hooks';
import {
  checkId,
  containerDir,
  fifoPath,
  makeContainerDir,
  removeContainerDir,
  saveRecord,
  unlockContainer,
  writeAtomic,
  type ContainerRecord,
} from '../container/store';
import { hookStateJson, killAndWait, procStat, specState } from '../container/status';
import { log } from '../cli/log';
import { hostFailure } from '../errors';
import {
  createPlan,
  planContainer,
  PLACEHOLDER,
  type ContainerInputs,
  type MadeCgroup,
  type PidFacts,
  type PlannedContainer,
  type PlanRunner,
  type RuntimeSection,
} from '../plan/container';
import { sessionKeyringName } from '../plan/keyring';
import { stepsJson } from '../plan/render';
import { actionSteps, type ContainerCgroup, type RuntimeAction } from '../plan/runtime';
import type { Step } from '../plan/types';
import type { Spec } from '../spec/generated/types';
import { joinRdtGroup, leaveRdtGroup, resctrlRoot } from '../rdt';
import { runShim, type ShimSession } from '../shim/driver';
import { checkRootlessConfig, rootlessCgroup, runIdMapHelper } from '../container/rootless';
import { readBundle } from './bundle';
import type { RuntimeContext } from './context';
import { hostFacts, setgroupsDenied } from './host';
import { writeProc } from './proc';
import { newRecord } from './record';
import { listenFds, nsPid, terminalAtHand } from './stdio';
import { reclaimAbandoned } from './teardown';
import { Undo } from './undo';

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
  config: Spec;
  dir: string;
  session: ShimSession;
}

/**
 * --systemd-cgroup: the scope the manager makes, and its cgroup path. Rootless, the user's own manager makes it,
 * delegated to the user (runc's systemdUser), below the manager's own cgroup, which the manager tells only once
 * asked (startScope): the path has a placeholder for it until then.
 */
async function systemdScope(
  ctx: RuntimeContext,
  id: string,
  spec: Spec,
  host: cgroups.CgroupHost,
): Promise<{ cgroupPath: string; systemd: NonNullable<ContainerCgroup['systemd']> }> {
  const sd = await import('../cgroups/systemd');
  const instance = ctx.rootless ? 'user' : 'system';
  if (ctx.rootless) sd.requireUserManager(host);
  // the system manager's scope: where resolveCgroupsPath says (it checks that systemd runs)
  const systemPath = ctx.rootless ? undefined : cgroups.resolveCgroupsPath(spec.linux?.cgroupsPath, id, true, ctx.root);
  const unit = cgroups.systemdUnit(spec.linux?.cgroupsPath, id, ctx.rootless ? 'user.slice' : 'system.slice'); // runc's defaults
  const cgroupPath = systemPath ?? cgroups.scopePath(unit, PLACEHOLDER.userManagerCgroup);
  return { cgroupPath, systemd: { unit, instance, properties: sd.annotationProperties(spec.annotations) } };
}

/**
 * What create's plan is computed from, read (never changed) on the host: the bundle, the cgroup the container
 * gets (path, the host's hierarchies, the driver), the host's facts, create's flags. `execFifo`: where create
 * makes the exec fifo (a placeholder in a printed plan).
 */
async function containerInputs(ctx: RuntimeContext, id: string, opts: CreateOptions, mode: 'detach' | 'wait', execFifo: string): Promise<ContainerInputs> {
  const { bundle, spec } = readBundle(opts.bundle);
  const cgroupHost = cgroups.detectHost();
  const { cgroupPath, systemd } = ctx.systemdCgroup
    ? await systemdScope(ctx, id, spec, cgroupHost)
    : { cgroupPath: cgroups.resolveCgroupsPath(spec.linux?.cgroupsPath, id, false, ctx.root), systemd: undefined };
  if (ctx.rootless) checkRootlessConfig(spec);
  const withCgroup = !ctx.rootless || ctx.systemdCgroup || rootlessCgroup(cgroupHost, cgroupPath, spec, process.geteuid!(), log);
  const cgroup: ContainerCgroup | undefined = withCgroup
    ? {
        host: cgroupHost,
        dirs: cgroups.cgroupDirs(cgroupHost, cgroupPath),
        path: cgroupPath,
        ...(systemd ? { systemd } : {}),
        cloneIntoCgroup: cgroups.hasCloneIntoCgroup(),
      }
    : undefined;
  return {
    id,
    bundle,
    spec,
    mode,
    execFifo,
    consoleSocket: opts.consoleSocket,
    consoleRelay: terminalAtHand(mode),
    noPivot: opts.noPivot,
    listenFds: listenFds(),
    preserveFds: opts.preserveFds,
    ...(opts.noNewKeyring ? {} : { sessionKeyring: sessionKeyringName(id) }),
    rootless: ctx.rootless,
    ...(ctx.rootless ? { caller: { uid: process.geteuid!(), gid: process.getegid!() } } : {}),
    host: hostFacts(),
    ...(cgroup ? { cgroup } : {}),
    ...(spec.linux?.intelRdt ? { rdtRoot: resctrlRoot() } : {}),
    warn: (msg) => log.warn(msg),
  };
}

/** create's runner of its plan: each part carried out as it comes, recorded in the container's state. */
class CreateRun implements PlanRunner<number> {
  readonly undo = new Undo('cleanup after a failed create');
  readonly record: ContainerRecord;
  private lock = -1;
  private cgroup: cgroups.CgroupSet | undefined;
  session: ShimSession | undefined;

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly inputs: ContainerInputs,
    readonly dir: string,
    noNewKeyring: boolean,
  ) {
    this.record = { ...newRecord(inputs.id, inputs.bundle, inputs.spec), ...(noNewKeyring ? { noNewKeyring: true } : {}) };
  }

  /** The container's state dir (its record in it, locked) and the exec fifo. */
  async makeStateDir(): Promise<void> {
    const { lock } = makeContainerDir(this.ctx.root, this.record, this.inputs.spec);
    this.lock = lock;
    this.undo.push(() => removeContainerDir(this.dir));
    this.undo.push(() => unlockContainer(lock));
    faultPoint('dir-made');
    const { mkfifo } = await import('../sys/native');
    try {
      mkfifo(this.inputs.execFifo, 0o622);
      // the process opens it after taking the container user's ids: writable by others, as runc makes it
      chmodSync(this.inputs.execFifo, 0o622);
    } catch (e) {
      throw hostFailure(`making the exec fifo ${this.inputs.execFifo}`, e);
    }
  }

  async run(section: RuntimeSection, actions: RuntimeAction<number>[]): Promise<void> {
    log.debug(() => `plan ${section}: ${stepsJson(actions.flatMap(actionSteps))}`);
    for (const action of actions) await this.carryOut(action);
  }

  private async carryOut(action: RuntimeAction<number>): Promise<void> {
    switch (action.kind) {
      case 'cgroup':
        return this.makeCgroup(action.cgroup, action.pid);
      case 'resources':
        return cgroups.applyResourcePlan(action.cgroup.host, this.cgroupSet(), action.plan);
      case 'idmap':
        return action.map.kind === 'write' ? writeProc(action.pid, action.map.file, action.map.content, action.map.field) : runIdMapHelper(action.map);
      case 'cgroup-add':
        return cgroups.addProcess({ dirs: action.dirs }, action.pid);
      case 'oom-score':
        return writeProc(action.pid, 'oom_score_adj', String(action.value), 'process.oomScoreAdj');
      case 'rdt': {
        const rdt = joinRdtGroup(action.rdt, action.id, action.pid, action.root);
        this.undo.push(() => leaveRdtGroup(rdt));
        this.record.rdt = rdt;
        return saveRecord(this.dir, this.record);
      }
      case 'hooks':
        return runHooks(action.hooks, action.name, () => action.state);
    }
  }

  private cgroupSet(): cgroups.CgroupSet {
    if (!this.cgroup) throw new Error("create: the container's cgroup is used before it is made");
    return this.cgroup;
  }

  /** The cgroupfs driver's dirs, or systemd's scope with the container's `pid` in it; recorded for `delete`. */
  private async makeCgroup(cgroup: ContainerCgroup, pid: number | undefined): Promise<void> {
    let set: cgroups.CgroupSet;
    let stopUnit = async (): Promise<void> => {};
    if (!cgroup.systemd) set = cgroups.createCgroup(cgroup.host, cgroup.path);
    else {
      if (pid === undefined) throw new Error("create: systemd's scope is made without the container's pid");
      const systemd = await import('../cgroups/systemd');
      const { unit, instance, properties } = cgroup.systemd;
      set = await systemd.startScope(cgroup.host, unit, pid, this.inputs.spec.linux?.resources, properties, instance);
      stopUnit = async () => {
        killAndWait(pid); // the process goes first (its own undo, pushed earlier, would come after this one)
        await systemd.stopScope(unit.unit, instance);
      };
    }
    this.cgroup = set;
    cgroups.recordParents(this.ctx.root, set);
    this.undo.push(async () => {
      await stopUnit();
      cgroups.removeCgroup(set);
      cgroups.removeEmptyParents(this.ctx.root, set);
    });
    this.record.cgroup = set;
    saveRecord(this.dir, this.record); // from here a create that dies half-way leaves what `delete` needs to clean up
    faultPoint('cgroup-made');
  }

  madeCgroup(cgroup: ContainerCgroup): MadeCgroup {
    const set = this.cgroupSet();
    return { dirs: set.dirs, probe: cgroups.dirProbe(cgroup.host, set) };
  }

  async shim(parent: Step[], preserveFds: number, child: (pid: number) => Promise<Step[]>, hooks: () => Promise<void>): Promise<void> {
    this.session = await runShim(parent, preserveFds, {
      onPid: async (pid) => {
        this.recordPid(pid);
        return child(pid);
      },
      onHooks: hooks,
    });
  }

  /** The child exists: it is killed if create fails from here, and its pid is in the record. */
  private recordPid(pid: number): void {
    this.undo.push(() => killAndWait(pid));
    this.record.pid = pid;
    this.record.startTime = procStat(pid)?.startTime ?? '';
    saveRecord(this.dir, this.record);
    faultPoint('got-pid');
    if (fault('shim-killed')) process.kill(pid, 'SIGKILL');
  }

  pidFacts(pid: number): PidFacts {
    return {
      nsPid: this.inputs.listenFds ? nsPid(pid) : pid,
      setgroupsDenied: setgroupsDenied(pid),
      state: hookStateJson(this.record, 'creating'),
    };
  }

  /** The child waits on the exec fifo: the container is created. */
  finish(pidFile: string | undefined): Created {
    faultPoint('before-done');
    this.record.createdDone = true;
    saveRecord(this.dir, this.record);
    if (pidFile) writeAtomic(pidFile, String(this.record.pid));
    unlockContainer(this.lock);
    return { record: this.record, config: this.inputs.spec, dir: this.dir, session: this.session! };
  }
}

export async function createContainer(ctx: RuntimeContext, id: string, opts: CreateOptions, mode: 'detach' | 'wait'): Promise<Created> {
  const dir = containerDir(ctx.root, id);
  const inputs = await containerInputs(ctx, id, opts, mode, fifoPath(dir));
  await reclaimAbandoned(ctx, id);
  const run = new CreateRun(ctx, inputs, dir, opts.noNewKeyring);
  try {
    await run.makeStateDir();
    await createPlan(inputs, run);
    return run.finish(opts.pidFile);
  } catch (e) {
    await run.undo.run();
    throw e;
  }
}

/**
 * create's plan for container `id`, computed as create computes it, with nothing made: no state dir, cgroup
 * or process. A new cgroup is taken to have the standard files (runt plan cannot look in one it does not make).
 */
export async function planCreate(ctx: RuntimeContext, id: string, opts: CreateOptions): Promise<PlannedContainer> {
  checkId(id);
  const inputs = await containerInputs(ctx, id, opts, 'detach', fifoPath(`${PLACEHOLDER.stateDir}/${id}`));
  const dirs = inputs.cgroup?.dirs ?? {};
  // a cgroup that exists already is looked at, as create would
  const made = Object.keys(dirs).length > 0 && Object.values(dirs).every((dir) => existsSync(dir));
  const probe = made && inputs.cgroup ? cgroups.dirProbe(inputs.cgroup.host, { dirs }) : cgroups.ASSUME_STANDARD_FILES;
  const state = JSON.stringify({ ...specState(newRecord(id, inputs.bundle, inputs.spec), 'creating'), pid: PLACEHOLDER.pid });
  return planContainer(inputs, { probe, state });
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
