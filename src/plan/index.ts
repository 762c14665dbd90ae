// config.json → the two plan segments the shim executes: the parent's (up to clone) and the child's (sent
// once the runtime knows the pid). Pure: everything about the host comes in through PlanContext.
import type { Hook, Spec } from '../spec/generated/types';
import { cgroupJoinSteps, cgroupOpenSteps, type CgroupJoin } from './cgroup-join';
import { cgroupMountSteps } from './cgroup-mounts';
import { deviceSteps } from './devices';
import { CLONE, MS } from './linux';
import { idmapTreeSteps, isBindMount, isIdmapped, mountSteps, rootfsPropagationSteps } from './mounts';
import { namespacePlan, rootInUserNamespace, type NamespacePlan } from './namespaces';
import { netDeviceSteps } from './netdev';
import { closeFdsStep, credentialSteps, cwdStep, execStep, findExecStep, homeSteps, rlimitSteps } from './process';
import { execAffinitySteps, processAttributeSteps } from './sched';
import { joinKeyringSteps } from './keyring';
import { keyringLabelSteps, lsmSteps, mountLabel } from './lsm';
import { consoleSteps, terminalSteps, type ConsoleChoice } from './terminal';
import { seccompListenerSteps, seccompSteps } from './seccomp';
import { ConfigError, step, type CgroupFacts, type HostFacts, type Step } from './types';

export const PLAN_VERSION = 3;

export interface PlanContext extends ConsoleChoice {
  bundle: string;
  /** The shim's parent waits for the container (`run` in the foreground) or leaves at once (`create`). */
  mode: 'detach' | 'wait';
  execFifo: string;
  noPivot: boolean;
  preserveFds: number;
  host: HostFacts;
  /** The container's cgroup, which a mount of type "cgroup" shows; none for a rootless one without a delegated cgroup. */
  cgroup?: CgroupFacts;
  warn(msg: string): void;
  /**
   * The runtime is not root (rootless mode): it can write the child's /proc files (id maps) only while the
   * child is dumpable, which the shim, non-dumpable from its start, is then from CLONE to the child's first step.
   */
  rootless?: boolean;
  /** setgroups(2) is denied in the child's user namespace (read once the maps are written). */
  setgroupsDenied?: boolean;
  /** The session keyring the process joins (src/plan/keyring.ts); none with --no-new-keyring. */
  sessionKeyring?: string;
  /** The cgroups the child joins by itself. */
  cgroupJoin?: CgroupJoin;
}

export interface ParentPlan {
  steps: Step[];
  namespaces: NamespacePlan;
}

/** Absolute path of the root filesystem (root.path is relative to the bundle unless absolute). */
export function rootfsPath(spec: Spec, bundle: string): string {
  const path = spec.root?.path;
  if (!path) throw new ConfigError('root.path: is required');
  return path.startsWith('/') ? path : `${bundle}/${path}`;
}

/**
 * Checks the schema cannot express, made before anything is created. `process` is not one of them: config.md
 * requires it only when `start` is called, which refuses a container without one (see start.ts).
 */
export function checkSemantics(spec: Spec, ns: NamespacePlan): void {
  if (!ns.has('mount')) checkWithoutMountNamespace(spec);
  // a uts namespace of the container's own, made or joined by path (runc sets the name in a joined one too)
  if (spec.hostname && !ns.has('uts')) throw new ConfigError("hostname: setting the hostname needs a uts namespace of the container's own");
  if (spec.domainname && !ns.has('uts')) throw new ConfigError("domainname: setting the domainname needs a uts namespace of the container's own");
  const userNew = ns.isNew('user');
  const maps = spec.linux?.uidMappings?.length || spec.linux?.gidMappings?.length;
  if (userNew && !(spec.linux?.uidMappings?.length && spec.linux?.gidMappings?.length)) {
    throw new ConfigError('linux.uidMappings: a new user namespace needs uidMappings and gidMappings');
  }
  if (maps && !userNew) throw new ConfigError('linux.uidMappings: mappings need a new user namespace');
  if (spec.linux?.timeOffsets && !ns.isNew('time')) throw new ConfigError('linux.timeOffsets: time offsets need a new time namespace');
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) checkSysctl(key, ns);
  execAffinitySteps(spec.process?.execCPUAffinity); // used by exec (not for init), but a bad list fails create
}

/**
 * Without a mount namespace the container shares the runtime's mount tree (config-linux.md: it inherits the
 * runtime's): its root is entered with chroot, and nothing may be mounted, since a mount would be made in the
 * runtime's tree and stay there after the container. runc refuses masked and read-only paths then (its text);
 * runt refuses the rest of what would act on that tree too (runc makes those mounts on the host, changes the
 * host's "/" propagation and ignores root.readonly), each naming its field.
 */
function checkWithoutMountNamespace(spec: Spec): void {
  const linux = spec.linux ?? {};
  if (linux.maskedPaths?.length || linux.readonlyPaths?.length) {
    throw new ConfigError(
      `linux.${linux.maskedPaths?.length ? 'maskedPaths' : 'readonlyPaths'}: unable to restrict sys entries without a private MNT namespace`,
    );
  }
  const why = "needs a mount namespace of the container's own (without one it would act on the runtime's mount tree)";
  if (spec.mounts?.length) throw new ConfigError(`mounts[0]: a mount ${why}`);
  if (linux.rootfsPropagation) throw new ConfigError(`linux.rootfsPropagation: ${why}`);
  if (spec.root?.readonly) throw new ConfigError(`root.readonly: ${why}`);
}

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** runtime-linux.md: sysctls must be namespaced by a namespace the container has of its own. */
function checkSysctl(key: string, ns: NamespacePlan): void {
  const field = `linux.sysctl["${key}"]`;
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
    if (!ns.isNew('ipc')) throw new ConfigError(`${field}: needs a new ipc namespace`);
  } else if (key.startsWith('net.')) {
    if (!ns.has('network')) throw new ConfigError(`${field}: needs a network namespace of the container's own`);
  } else if (key === 'kernel.hostname' || key === 'kernel.domainname') {
    if (!ns.isNew('uts')) throw new ConfigError(`${field}: needs a new uts namespace`);
  } else {
    throw new ConfigError(`${field}: sysctl "${key}" is not in a separate kernel namespace`);
  }
}

export function buildParentPlan(spec: Spec, ctx: PlanContext): ParentPlan {
  const ns = namespacePlan(spec.linux?.namespaces);
  checkSemantics(spec, ns);
  const rootfs = rootfsPath(spec, ctx.bundle);
  const rootKind = ctx.host.kindOf(rootfs);
  if (rootKind !== 'dir') throw new ConfigError(`root.path: ${rootfs}: ${rootKind === 'missing' ? 'no such file or directory' : 'not a directory'}`);
  // the child's plan applies them; checked here so that a label the host cannot apply stops create before the shim runs
  if (spec.process) lsmSteps(spec.process, ctx.host.lsm);
  mountLabel(spec.linux?.mountLabel, ctx.host.lsm);
  const steps: Step[] = [step('RUNT-PLAN', [PLAN_VERSION]), step('MODE', [ctx.mode])];
  if (spec.process) {
    steps.push(...consoleSteps(spec.process, ctx));
    steps.push(...seccompListenerSteps(spec.linux?.seccomp));
  } else if (ctx.consoleSocket) {
    throw new ConfigError('--console-socket: given but config.json has no process');
  }
  steps.push(step('OPEN_FIFO', [ctx.execFifo]));
  // before any SETNS: an id-mapped mount can only be made in the runtime's user namespace
  steps.push(...idmapTreeSteps(spec, ctx.bundle, Boolean(ctx.rootless)));
  // the cgroup files, opened before a namespace is joined (a joined mount namespace would resolve their paths)
  steps.push(...cgroupOpenSteps(ctx.cgroupJoin));
  steps.push(...ns.join);
  if (ns.unshareTime) {
    steps.push(step('UNSHARE', [CLONE.newtime], 'linux.namespaces'));
    const offsets = spec.linux?.timeOffsets ?? {};
    const lines = Object.entries(offsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`);
    if (lines.length) steps.push(step('WRITE_PROC', ['self/timens_offsets', lines.join('')], 'linux.timeOffsets'));
  }
  steps.push(...netDeviceSteps(spec.linux?.netDevices, ns, ctx.rootless === true));
  if (ctx.rootless) steps.push(step('DUMPABLE', [1]));
  steps.push(step('CLONE', [ns.cloneFlags], 'linux.namespaces'), step('END'));
  return { steps, namespaces: ns };
}

function hookStep(hook: Hook, field: string, state: string): Step {
  const args = hook.args ?? [hook.path];
  return step('HOOK', [hook.path, hook.timeout ?? 0, args.length, ...args, ...(hook.env ?? []), state], field);
}

export function hookSteps(hooks: Hook[] | undefined, name: string, state: string): Step[] {
  return (hooks ?? []).map((h, i) => hookStep(h, `hooks.${name}[${i}]`, state));
}

/** Whether the runtime has hooks to run while the child waits before pivot_root. */
export function hasRuntimeHooks(spec: Spec): boolean {
  return Boolean(spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length);
}

/** A state JSON with another status: each hook gets the container's status when it runs (runtime.md "Lifecycle"). */
function withStatus(stateJson: string, status: 'created'): string {
  return JSON.stringify({ ...(JSON.parse(stateJson) as object), status });
}

/**
 * The child's segment. `hookState` is the container's state while it is created (status "creating"), as the
 * createContainer hooks get it; the startContainer hooks, run during `start`, get it with status "created".
 * Without a process (config.md: it is required only by `start`, which refuses such a container) the child sets
 * up the container and waits on the fifo as any other, with none of the process's steps: `start` never opens
 * the fifo, and `delete` ends the wait.
 */
export function buildChildPlan(spec: Spec, ns: NamespacePlan, ctx: PlanContext, hookState: string): Step[] {
  const proc = spec.process;
  const rootfs = rootfsPath(spec, ctx.bundle);
  const mounts = spec.mounts ?? [];
  // rootless: dumpable until here so that the runtime could write its maps; from its first step on, before it
  // touches anything of the container, its fds (the host's /proc among them) are out of reach again
  const steps: Step[] = ctx.rootless ? [step('DUMPABLE', [0])] : [];
  steps.push(...cgroupJoinSteps(ctx.cgroupJoin));
  // in a user namespace the child starts as the overflow id until it takes root there (the maps are written)
  if (ns.has('user')) steps.push(...rootInUserNamespace());
  // its own session, as every process runt starts: an engine that signals the process group kills the container only
  steps.push(step('SETSID'));
  if (ns.unshareCgroup) steps.push(step('UNSHARE', [CLONE.newcgroup], 'linux.namespaces'));
  const lsm = proc ? lsmSteps(proc, ctx.host.lsm) : [];
  const label = mountLabel(spec.linux?.mountLabel, ctx.host.lsm);
  if (proc && ctx.sessionKeyring !== undefined) steps.push(...keyringLabelSteps(proc, ctx.host.lsm));
  steps.push(...joinKeyringSteps(ctx.sessionKeyring, ns.has('user')));
  if (ctx.noPivot && /private$/.test(spec.linux?.rootfsPropagation ?? '')) {
    throw new ConfigError('linux.rootfsPropagation: rootfsPropagation of [r]private is not safe without pivot_root');
  }
  const mountNs = ns.has('mount');
  const propagation = rootfsPropagationSteps(spec.linux?.rootfsPropagation, rootfs);
  if (mountNs) {
    steps.push(...propagation.before);
    steps.push(step('MOUNT_PATH', [rootfs, rootfs, '', MS.bind | MS.rec, ''], 'root.path'));
  }
  steps.push(step('ROOTFS', [rootfs], 'root.path'));
  if (spec.hostname !== undefined) steps.push(step('SETHOSTNAME', [spec.hostname], 'hostname'));
  if (spec.domainname !== undefined) steps.push(step('SETDOMAINNAME', [spec.domainname], 'domainname'));
  let trees = 0; // the n-th id-mapped mount takes the tree the parent's n-th IDMAP_TREE made
  mounts.forEach((m, i) => {
    const field = `mounts[${i}]`;
    if (m.type === 'cgroup' && !isBindMount(m)) steps.push(...cgroupMountSteps(ctx.cgroup, m, field, ns.has('cgroup')));
    else steps.push(...mountSteps(m, field, ctx.bundle, ctx.host, isIdmapped(m) ? trees++ : -1, label));
  });
  const canMknod = !ns.isNew('user') && !ns.has('user') && !ctx.host.inUserNamespace;
  const devices = deviceSteps(spec.linux?.devices, mounts, canMknod, ctx.host);
  const deviceBind = devices.find((d) => d.op === 'BIND');
  if (!mountNs && deviceBind)
    throw new ConfigError(
      `${deviceBind.field ?? 'linux.devices'}: a device that may not be made with mknod is bound, which needs a mount namespace of the container's own`,
    );
  steps.push(...devices);
  if (hasRuntimeHooks(spec)) steps.push(step('SEND', ['HOOKS']), step('WAIT'));
  steps.push(...hookSteps(spec.hooks?.createContainer, 'createContainer', hookState));
  // without a mount namespace: chroot alone (pivot_root and MS_MOVE would act on the runtime's tree)
  steps.push(!mountNs ? step('CHROOT', [0], 'root.path') : step(ctx.noPivot ? 'CHROOT' : 'PIVOT', [], 'root.path'));
  if (proc) steps.push(...terminalSteps(proc, mountNs));
  for (const [key, value = ''] of Object.entries(spec.linux?.sysctl ?? {})) {
    steps.push(step('WRITE_PROC', [`sys/${key.replace(/\./g, '/')}`, value], `linux.sysctl["${key}"]`));
  }
  (spec.linux?.maskedPaths ?? []).forEach((p, i) => steps.push(step('MASK', [p], `linux.maskedPaths[${i}]`)));
  (spec.linux?.readonlyPaths ?? []).forEach((p, i) => steps.push(step('READONLY', [p], `linux.readonlyPaths[${i}]`)));
  // after TERMINAL, which may have replaced fds 0-2, and MASK, which names a bad /dev/null by the masked path
  // (runc's init reopens /dev/null the same way)
  steps.push(step('REOPEN_DEVNULL', [], 'process'));
  if (spec.root?.readonly) steps.push(step('REMOUNT', ['/', MS.bind | MS.rdonly], 'root.readonly'));
  // last of the mounts: the console, masks and read-only binds are binds, which an unbindable tree refuses
  steps.push(...propagation.after);
  // LSM labels go to the shim's private procfs, which CLOSE_FDS closes: written here, they take effect at exec
  steps.push(...lsm);
  steps.push(closeFdsStep(ctx.preserveFds));
  const seccomp = proc ? seccompSteps(spec.linux?.seccomp, proc.noNewPrivileges === true, hookState) : { beforeCredentials: [], beforeExec: [] };
  if (proc) {
    steps.push(...homeSteps(proc));
    steps.push(...rlimitSteps(proc.rlimits));
    steps.push(...processAttributeSteps(proc, spec.linux));
    steps.push(...seccomp.beforeCredentials);
    steps.push(...credentialSteps(proc, ctx.host.lastCap, ctx.warn, ctx.setgroupsDenied));
    steps.push(cwdStep(proc), findExecStep(proc));
  }
  steps.push(step('SEND', ['READY']), step('WAIT_FIFO'));
  if (proc) {
    // run during `start`, before the program: the container is still "created"
    steps.push(...hookSteps(spec.hooks?.startContainer, 'startContainer', withStatus(hookState, 'created')));
    steps.push(...seccomp.beforeExec, execStep(proc));
  }
  steps.push(step('END'));
  return steps;
}
