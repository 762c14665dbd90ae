// create's plan, whole and in order: what the runtime does itself (src/plan/runtime.ts) and the shim's two
// segments. One function computes it, for `create` and for `runt plan` alike: `create`'s runner carries out each
// part as soon as it is known (the child's segment needs the pid, the resource writes the files of the cgroup
// once it is made); `runt plan`'s records each part instead, with placeholders for what only a run can know.
import type { Probe } from '../cgroups/emit';
import { containerResources, resourcePlan } from '../cgroups/resources';
import { idMapActions } from '../container/rootless';
import type { Spec } from '../spec/generated/types';
import { splitCgroupJoin, type CgroupJoin } from './cgroup-join';
import { buildChildPlan, buildParentPlan, type PlanContext } from './index';
import { withListenFds } from './process';
import { actionSteps, type ContainerCgroup, type Pid, type RuntimeAction, type RuntimeHooks } from './runtime';
import type { HostFacts, Step } from './types';

/** What create's plan is computed from: the config, create's flags, and the host's facts, read beforehand. */
export interface ContainerInputs {
  id: string;
  bundle: string;
  spec: Spec;
  /** The shim's parent waits for the container (`run` in the foreground) or leaves at once (`create`). */
  mode: 'detach' | 'wait';
  execFifo: string;
  consoleSocket?: string;
  /** runt stays in the foreground with a terminal as its stdin: a terminal without a socket is relayed to it. */
  consoleRelay: boolean;
  noPivot: boolean;
  /** systemd socket activation's fds (LISTEN_FDS), passed on from 3, before the --preserve-fds ones. */
  listenFds: number;
  preserveFds: number;
  /** The session keyring the process joins; none with --no-new-keyring. */
  sessionKeyring?: string;
  rootless: boolean;
  /** A rootless runtime's own ids: a map of them alone is written directly, any other by newuidmap/newgidmap. */
  caller?: { uid: number; gid: number };
  host: HostFacts;
  /** None: a rootless container without a delegated cgroup. */
  cgroup?: ContainerCgroup;
  /** The resctrl mount, when the config has linux.intelRdt. */
  rdtRoot?: string;
  warn(msg: string): void;
}

/** What the child's segment needs to know about its process, once the runtime has set it up from outside. */
export interface PidFacts {
  /** Its pid in its own pid namespace (LISTEN_PID). */
  nsPid: Pid;
  /** /proc/PID/setgroups says "deny" (a rootless gid map of the caller's own gid): no SETGROUPS. */
  setgroupsDenied: boolean;
  /** The container's state, status "creating", as the hooks get it. */
  state: string;
}

/** The parts of the plan the runtime carries out itself, by when. */
export type RuntimeSection = 'before' | 'outside' | 'hooks';

/** The container's cgroup once made: its dirs (systemd's user manager says where they are) and their files. */
export interface MadeCgroup {
  dirs: Record<string, string>;
  probe: Probe;
}

/** Carries out (create) or records (runt plan) each part of the plan as it is computed. */
export interface PlanRunner<P extends Pid> {
  /** The runtime's own actions, in order: before the shim, on the child's pid, at the child's SEND HOOKS. */
  run(section: RuntimeSection, actions: RuntimeAction<P>[]): Promise<void>;
  /** The container's cgroup, once its 'cgroup' action is carried out. */
  madeCgroup(cgroup: ContainerCgroup): MadeCgroup;
  /** Starts the shim with the parent's segment; `child` gives the child's for its pid, `hooks` runs at its SEND HOOKS. */
  shim(parent: Step[], preserveFds: number, child: (pid: P) => Promise<Step[]>, hooks: () => Promise<void>): Promise<void>;
  /** Read once the outside actions are done. */
  pidFacts(pid: P): PidFacts;
}

/** The builders' context for this container: its cgroup (as made), the cgroups the child joins by itself. */
function planContext(inputs: ContainerInputs, cgroup: ContainerCgroup | undefined, cgroupJoin: CgroupJoin | undefined): PlanContext {
  return {
    bundle: inputs.bundle,
    mode: inputs.mode,
    execFifo: inputs.execFifo,
    consoleSocket: inputs.consoleSocket,
    consoleRelay: inputs.consoleRelay,
    noPivot: inputs.noPivot,
    preserveFds: inputs.listenFds + inputs.preserveFds,
    host: inputs.host,
    ...(cgroup ? { cgroup: { host: cgroup.host, dirs: cgroup.dirs } } : {}),
    rootless: inputs.rootless,
    warn: inputs.warn,
    ...(inputs.sessionKeyring === undefined ? {} : { sessionKeyring: inputs.sessionKeyring }),
    cgroupJoin,
  };
}

/** The cgroup made, then linux.resources written, with the files the made cgroup has; returns the made cgroup. */
async function setUpCgroup<P extends Pid>(
  inputs: ContainerInputs,
  runner: PlanRunner<P>,
  section: RuntimeSection,
  cgroup: ContainerCgroup,
  pid?: P,
): Promise<ContainerCgroup> {
  await runner.run(section, [pid === undefined ? { kind: 'cgroup', cgroup } : { kind: 'cgroup', cgroup, pid }]);
  const { dirs, probe } = runner.madeCgroup(cgroup);
  const made = { ...cgroup, dirs };
  const resources = containerResources(inputs.spec);
  if (!resources) return made;
  const warnings: string[] = [];
  const plan = resourcePlan(cgroup.host, resources, { probe, warnings });
  for (const warning of warnings) inputs.warn(warning);
  await runner.run(section, [{ kind: 'resources', cgroup: made, plan }]);
  return made;
}

/**
 * Done by the runtime while the child waits for its segment: the id maps, the cgroup dirs the child did not
 * join by itself (`dirs`), the OOM score, the resctrl group.
 */
function outsideActions<P extends Pid>(inputs: ContainerInputs, pid: P, dirs: Record<string, string>): RuntimeAction<P>[] {
  const { spec } = inputs;
  const actions: RuntimeAction<P>[] = idMapActions(spec, pid, inputs.caller).map((map) => ({ kind: 'idmap', pid, map }));
  if (Object.keys(dirs).length) actions.push({ kind: 'cgroup-add', pid, dirs });
  if (spec.process?.oomScoreAdj !== undefined) actions.push({ kind: 'oom-score', pid, value: spec.process.oomScoreAdj });
  if (inputs.rdtRoot && spec.linux?.intelRdt) actions.push({ kind: 'rdt', pid, id: inputs.id, rdt: spec.linux.intelRdt, root: inputs.rdtRoot });
  return actions;
}

const RUNTIME_HOOKS: RuntimeHooks[] = ['prestart', 'createRuntime'];

function runtimeHookActions<P extends Pid>(spec: Spec, state: string): RuntimeAction<P>[] {
  return RUNTIME_HOOKS.flatMap((name) => {
    const hooks = spec.hooks?.[name];
    return hooks?.length ? [{ kind: 'hooks' as const, name, hooks, state }] : [];
  });
}

/**
 * create's plan, part by part, each handed to `runner` as soon as it is known: the cgroupfs driver's cgroup
 * (before the shim: the child joins it by itself), the parent's segment, what the runtime does on the child's
 * pid (systemd's scope, which needs the pid, first), the child's segment, and the hooks the runtime runs.
 */
export async function createPlan<P extends Pid>(inputs: ContainerInputs, runner: PlanRunner<P>): Promise<void> {
  const { spec, cgroup } = inputs;
  const cgroupfs = cgroup && !cgroup.systemd ? await setUpCgroup(inputs, runner, 'before', cgroup) : undefined;
  // each hierarchy by its version, not by a look at the made dirs: a plan has none
  const joined = cgroupfs
    ? splitCgroupJoin(
        cgroupfs.host.hierarchies.map((h) => ({ mountPoint: h.mountPoint, dir: cgroupfs.dirs[h.mountPoint]!, version: h.version })),
        cgroupfs.cloneIntoCgroup,
      )
    : undefined;
  const planCtx = planContext(inputs, cgroupfs ?? cgroup, joined?.join);
  const parent = buildParentPlan(spec, planCtx);
  let state = '';
  const child = async (pid: P): Promise<Step[]> => {
    const made = cgroup?.systemd ? await setUpCgroup(inputs, runner, 'outside', cgroup, pid) : cgroupfs;
    // the cgroupfs driver's dirs the child did not join by itself; systemd's scope (made just now) all of them
    await runner.run('outside', outsideActions(inputs, pid, joined ? joined.left : (made?.dirs ?? {})));
    const facts = runner.pidFacts(pid);
    state = facts.state;
    const withFds = inputs.listenFds && spec.process ? { ...spec, process: withListenFds(spec.process, inputs.listenFds, facts.nsPid) } : spec;
    const childCtx = { ...planContext(inputs, made, joined?.join), setgroupsDenied: facts.setgroupsDenied };
    return buildChildPlan(withFds, parent.namespaces, childCtx, state);
  };
  await runner.shim(parent.steps, planCtx.preserveFds, child, () => runner.run('hooks', runtimeHookActions<P>(spec, state)));
}

/** Stand-ins, in a printed plan, for what exists only once create runs. */
export const PLACEHOLDER = {
  pid: '<pid>',
  nsPid: '<pid in its pid namespace>',
  /** The state root's dir of the container, where create makes the exec fifo. */
  stateDir: '<state>',
  /** The cgroup of the systemd user manager, which it tells only once asked (rootless --systemd-cgroup). */
  userManagerCgroup: '/<user-manager-cgroup>',
} as const;

/** create's plan as `runt plan` prints it: each part as steps (the runtime's own ops, or the shim's). */
export interface PlannedContainer {
  /** The runtime, before it starts the shim. */
  before: Step[];
  /** The shim's parent, up to CLONE. */
  parent: Step[];
  /** The runtime, on the child's pid, while the child waits for its segment. */
  outside: Step[];
  /** The shim's child: the container's process. */
  child: Step[];
  /** The runtime, while the child waits at its SEND HOOKS. */
  hooks: Step[];
}

/** The runner of a printed plan: it records each part, with the placeholder pid, and carries out nothing. */
class Recorder implements PlanRunner<string> {
  readonly plan: PlannedContainer = { before: [], parent: [], outside: [], child: [], hooks: [] };
  private setgroupsDenied = false;

  constructor(
    private readonly probe: Probe,
    private readonly state: string,
  ) {}

  async run(section: RuntimeSection, actions: RuntimeAction<string>[]): Promise<void> {
    for (const action of actions) {
      this.plan[section].push(...actionSteps(action));
      // the runtime denies setgroups before it writes a gid map of the caller's own gid
      if (action.kind === 'idmap' && action.map.kind === 'write' && action.map.file === 'setgroups') this.setgroupsDenied = true;
    }
  }

  madeCgroup(cgroup: ContainerCgroup): MadeCgroup {
    return { dirs: cgroup.dirs, probe: this.probe };
  }

  async shim(parent: Step[], _preserveFds: number, child: (pid: string) => Promise<Step[]>, hooks: () => Promise<void>): Promise<void> {
    this.plan.parent = parent;
    this.plan.child = await child(PLACEHOLDER.pid);
    if (this.plan.child.some((s) => s.op === 'SEND' && s.args[0] === 'HOOKS')) await hooks();
  }

  pidFacts(): PidFacts {
    return { nsPid: PLACEHOLDER.nsPid, setgroupsDenied: this.setgroupsDenied, state: this.state };
  }
}

/**
 * create's plan for `inputs`, made by createPlan without carrying anything out. `probe`: the files a new
 * cgroup is taken to have; `state`: the hooks' state, with the placeholder pid.
 */
export async function planContainer(inputs: ContainerInputs, facts: { probe: Probe; state: string }): Promise<PlannedContainer> {
  const recorder = new Recorder(facts.probe, facts.state);
  await createPlan(inputs, recorder);
  return recorder.plan;
}
