// config.json → the two plan segments the shim executes: the parent's (up to clone) and the child's (sent
// once the runtime knows the pid). Pure: everything about the host comes in through PlanContext.
import type { Hook, Mount, Spec } from '../spec/types';
import { deviceSteps } from './devices';
import { CLONE, MS } from './linux';
import { isBindMount, mountSteps, rootPropagation } from './mounts';
import { namespacePlan, rootInUserNamespace, type NamespacePlan } from './namespaces';
import { netDeviceSteps } from './netdev';
import { credentialSteps, cwdStep, execStep, findExecStep, rlimitSteps } from './process';
import { execAffinitySteps, processAttributeSteps } from './sched';
import { consoleSteps, terminalSteps, type ConsoleChoice } from './terminal';
import { seccompListenerSteps, seccompSteps } from './seccomp';
import { ConfigError, step, type HostFacts, type Step } from './types';

export const PLAN_VERSION = 2;

export interface PlanContext extends ConsoleChoice {
  bundle: string;
  /** The shim's parent waits for the container (`run` in the foreground) or leaves at once (`create`). */
  mode: 'detach' | 'wait';
  execFifo: string;
  noPivot: boolean;
  preserveFds: number;
  host: HostFacts;
  /** The steps for a mount of type "cgroup" (they depend on the host's hierarchies and the container's cgroup). */
  cgroupMountSteps(mount: Mount, field: string, cgroupns: boolean): Step[];
  warn(msg: string): void;
  /**
   * The runtime is not root (rootless mode): it can write the child's /proc files (id maps) only while the
   * child is dumpable, which the shim, non-dumpable from its start, is then from CLONE to the child's first step.
   */
  rootless?: boolean;
  /** setgroups(2) is denied in the child's user namespace (read once the maps are written). */
  setgroupsDenied?: boolean;
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

/** Checks the schema cannot express, made before anything is created. */
export function checkSemantics(spec: Spec, ns: NamespacePlan): void {
  if (!spec.process) throw new ConfigError('process: is required to create a container');
  if (!ns.has('mount')) throw new ConfigError('linux.namespaces: a mount namespace is required');
  if (spec.hostname && !ns.isNew('uts')) throw new ConfigError('hostname: setting the hostname needs a new uts namespace');
  if (spec.domainname && !ns.isNew('uts')) throw new ConfigError('domainname: setting the domainname needs a new uts namespace');
  const userNew = ns.isNew('user');
  const maps = spec.linux?.uidMappings?.length || spec.linux?.gidMappings?.length;
  if (userNew && !(spec.linux?.uidMappings?.length && spec.linux?.gidMappings?.length)) {
    throw new ConfigError('linux.uidMappings: a new user namespace needs uidMappings and gidMappings');
  }
  if (maps && !userNew) throw new ConfigError('linux.uidMappings: mappings need a new user namespace');
  if (spec.linux?.timeOffsets && !ns.isNew('time')) throw new ConfigError('linux.timeOffsets: time offsets need a new time namespace');
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) checkSysctl(key, ns);
  execAffinitySteps(spec.process.execCPUAffinity); // used by exec (not for init), but a bad list fails create
}

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall',
  'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

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
  const steps: Step[] = [step('RUNT-PLAN', [PLAN_VERSION]), step('MODE', [ctx.mode])];
  steps.push(...consoleSteps(spec.process!, ctx));
  steps.push(...seccompListenerSteps(spec.linux?.seccomp));
  steps.push(step('OPEN_FIFO', [ctx.execFifo]));
  steps.push(...ns.join);
  if (ns.unshareTime) {
    steps.push(step('UNSHARE', [CLONE.newtime], 'linux.namespaces'));
    const offsets = spec.linux?.timeOffsets ?? {};
    const lines = Object.entries(offsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`);
    if (lines.length) steps.push(step('WRITE_PROC', ['self/timens_offsets', lines.join('')], 'linux.timeOffsets'));
  }
  steps.push(...netDeviceSteps(spec.linux?.netDevices, ns, ctx.rootless === true));
  if (ctx.rootless) steps.push(step('DUMPABLE', [1]));
  steps.push(step('CLONE', [ns.cloneFlags]), step('END'));
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

export function buildChildPlan(spec: Spec, ns: NamespacePlan, ctx: PlanContext, hookState: string): Step[] {
  const proc = spec.process!;
  const rootfs = rootfsPath(spec, ctx.bundle);
  const mounts = spec.mounts ?? [];
  // rootless: dumpable until here so that the runtime could write its maps; from its first step on, before it
  // touches anything of the container, its fds (the host's /proc among them) are out of reach again
  const steps: Step[] = ctx.rootless ? [step('DUMPABLE', [0])] : [];
  // in a user namespace the child starts as the overflow id until it takes root there (the maps are written)
  if (ns.has('user')) steps.push(...rootInUserNamespace());
  if (ns.unshareCgroup) steps.push(step('UNSHARE', [CLONE.newcgroup], 'linux.namespaces'));
  steps.push(step('MOUNT_PATH', ['', '/', '', rootPropagation(spec.linux?.rootfsPropagation), ''], 'linux.rootfsPropagation'));
  steps.push(step('MOUNT_PATH', [rootfs, rootfs, '', MS.bind | MS.rec, ''], 'root.path'));
  steps.push(step('ROOTFS', [rootfs], 'root.path'));
  if (spec.hostname !== undefined) steps.push(step('SETHOSTNAME', [spec.hostname], 'hostname'));
  if (spec.domainname !== undefined) steps.push(step('SETDOMAINNAME', [spec.domainname], 'domainname'));
  mounts.forEach((m, i) => {
    const field = `mounts[${i}]`;
    if (m.type === 'cgroup' && !isBindMount(m)) steps.push(...ctx.cgroupMountSteps(m, field, ns.has('cgroup')));
    else steps.push(...mountSteps(m, field, ctx.bundle, ctx.host));
  });
  const canMknod = !ns.isNew('user') && !ns.has('user') && !ctx.host.inUserNamespace;
  steps.push(...deviceSteps(spec.linux?.devices, mounts, canMknod, ctx.host));
  if (hasRuntimeHooks(spec)) steps.push(step('SEND', ['HOOKS']), step('WAIT'));
  steps.push(...hookSteps(spec.hooks?.createContainer, 'createContainer', hookState));
  steps.push(step(ctx.noPivot ? 'CHROOT' : 'PIVOT', [], 'root.path'));
  steps.push(...terminalSteps(proc, true));
  // a session of its own, as runc's init has (TERMINAL makes one): CRIU dumps no tree led from outside
  if (!proc.terminal) steps.push(step('SETSID', [], 'process'));
  for (const [key, value = ''] of Object.entries(spec.linux?.sysctl ?? {})) {
    steps.push(step('WRITE_PROC', [`sys/${key.replace(/\./g, '/')}`, value], `linux.sysctl["${key}"]`));
  }
  (spec.linux?.maskedPaths ?? []).forEach((p, i) => steps.push(step('MASK', [p], `linux.maskedPaths[${i}]`)));
  (spec.linux?.readonlyPaths ?? []).forEach((p, i) => steps.push(step('READONLY', [p], `linux.readonlyPaths[${i}]`)));
  // after TERMINAL, which may have replaced fds 0-2, and MASK, which names a bad /dev/null by the masked path
  // (runc's init reopens /dev/null the same way)
  steps.push(step('REOPEN_DEVNULL', [], 'process'));
  if (spec.root?.readonly) steps.push(step('REMOUNT', ['/', MS.bind | MS.rdonly], 'root.readonly'));
  steps.push(...rlimitSteps(proc.rlimits));
  steps.push(...processAttributeSteps(proc, spec.linux));
  const seccomp = seccompSteps(spec.linux?.seccomp, proc.noNewPrivileges === true, hookState);
  steps.push(...seccomp.beforeCredentials);
  steps.push(...credentialSteps(proc, ctx.host.lastCap, ctx.warn, ctx.setgroupsDenied));
  steps.push(cwdStep(proc), findExecStep(proc));
  steps.push(step('CLOSE_FDS', [3 + ctx.preserveFds]));
  steps.push(step('SEND', ['READY']), step('WAIT_FIFO'));
  steps.push(...hookSteps(spec.hooks?.startContainer, 'startContainer', hookState));
  steps.push(...seccomp.beforeExec, execStep(proc), step('END'));
  return steps;
}

