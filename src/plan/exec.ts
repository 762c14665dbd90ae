// `runt exec`: a new process in a created or running container. The shim's parent joins the namespaces of the
// container's init (setns through a pidfd of it) and forks into its pid namespace; the runtime puts the child in the
// container's cgroup; the child takes the process's terminal, rlimits, seccomp filter, identity and
// capabilities as create's init does, and execs. Nothing of what only an init does: no mounts, no pivot_root
// (the mount namespace's root is the container's), no /dev/console, no exec fifo.
import type { Linux, LinuxCapabilities, LinuxSeccomp, Process, User } from '../spec/generated/types';
import { cgroupJoinSteps, cgroupOpenSteps, type CgroupJoin } from './cgroup-join';
import { PLAN_VERSION } from './index';
import { CAPABILITIES } from './linux';
import { joinKeyringSteps } from './keyring';
import { CONFIG_LSM_FIELDS, keyringLabelSteps, lsmSteps, type LsmFacts, type LsmFields } from './lsm';
import { FLAG_OF, rootInUserNamespace, userFirst } from './namespaces';
import { closeFdsStep, credentialSteps, cwdStep, execStep, findExecStep, homeSteps, rlimitSteps, setEnv } from './process';
import { execAffinitySteps, processAttributeSteps } from './sched';
import { seccompListenerSteps, seccompSteps } from './seccomp';
import { consoleSteps, terminalSteps, type ConsoleChoice } from './terminal';
import { ConfigError, step, type Step } from './types';

/**
 * The namespaces a process can join (`file`: the name under /proc/PID/ns). The shim joins them all at once
 * through a pidfd of the init (Linux 5.8); on older kernels one by one in this order. The user namespace
 * comes last: the runtime, root in the host's user namespace, may join any namespace as it is, and
 * once in the container's user namespace it no longer may join those the host's owns (the time namespace
 * create makes before clone, a namespace the config joins by path). A rootless runtime joins it first: it
 * has rights over the others only there. The shim opens every file before the first join, so the mount
 * namespace, once joined, changes no path.
 */
export const JOIN_ORDER: readonly { type: string; file: string }[] = [
  { type: 'cgroup', file: 'cgroup' },
  { type: 'ipc', file: 'ipc' },
  { type: 'uts', file: 'uts' },
  { type: 'network', file: 'net' },
  { type: 'pid', file: 'pid' },
  { type: 'time', file: 'time' },
  { type: 'mount', file: 'mnt' },
  { type: 'user', file: 'user' },
];

export interface ExecContext extends ConsoleChoice {
  /** `wait`: the shim's parent stays, relays signals and reports the status; `detach`: it leaves at once. */
  mode: 'detach' | 'wait';
  /** The container's init, whose namespaces the process joins. */
  initPid: number;
  /** The fd number, in the shim, of a pidfd of the init (taken under the container's lock). */
  initPidfd: number;
  /** The namespace types (config.json names) in which init differs from the runtime: those are joined. */
  joins: ReadonlySet<string>;
  /** fds from 3 on the process gets (socket activation's and --preserve-fds'). */
  preserveFds: number;
  lastCap: number;
  /** The container's filter: an exec'd process is under it too. */
  seccomp?: LinuxSeccomp;
  /** The container's personality and memory policy: an exec'd process takes them too (as in runc). */
  linux?: Pick<Linux, 'personality' | 'memoryPolicy'>;
  /** The container's state, for a seccomp listener. */
  state: string;
  warn(msg: string): void;
  /** The runtime is not root (rootless mode): the user namespace is joined first. */
  rootless?: boolean;
  /** setgroups(2) is denied in the container's user namespace (/proc/INIT/setgroups). */
  setgroupsDenied?: boolean;
  lsm: LsmFacts;
  /** Where the process's LSM labels came from (exec's flags or the config), for errors. */
  lsmFields?: LsmFields;
  /** The container's session keyring, joined by the process (none: the container was made with --no-new-keyring). */
  sessionKeyring?: string;
  /** The cgroups the child joins by itself (opened before the namespaces are joined). */
  cgroupJoin?: CgroupJoin;
}

export function execParentPlan(proc: Process, ctx: ExecContext): Step[] {
  lsmSteps(proc, ctx.lsm, ctx.lsmFields); // the child applies them; a refusal comes before the shim runs
  const order = ctx.rootless ? userFirst(JOIN_ORDER) : JOIN_ORDER;
  const joins = order.filter((ns) => ctx.joins.has(ns.type)).flatMap((ns) => [ns.file, FLAG_OF[ns.type]!]);
  return [
    step('RUNT-PLAN', [PLAN_VERSION]),
    step('MODE', [ctx.mode]),
    ...execAffinitySteps(proc.execCPUAffinity).initial,
    ...consoleSteps(proc, ctx),
    ...seccompListenerSteps(ctx.seccomp),
    // opened before the namespaces are joined: after, the paths would resolve in the container's mount namespace
    ...cgroupOpenSteps(ctx.cgroupJoin),
    ...(joins.length ? [step('JOIN', [ctx.initPidfd, ctx.initPid, ...joins], "the container's namespaces")] : []),
    // no clone flags: after setns(CLONE_NEWPID) the child is born in the container's pid namespace
    step('CLONE', [0]),
    step('END'),
  ];
}

/** The child's segment: ends with READY right before the EXEC, whose success the runtime sees as EOF. */
export function execChildPlan(proc: Process, ctx: ExecContext): Step[] {
  const seccomp = seccompSteps(ctx.seccomp, proc.noNewPrivileges === true, ctx.state);
  // as create's child: in the container's user namespace the runtime's ids are unmapped until it takes root
  // there, and the pty TERMINAL makes would belong to the overflow id
  const root = ctx.joins.has('user') ? rootInUserNamespace() : [];
  // a container without a mount namespace of its own is in the runtime's, chrooted: the process enters its root
  const chroot = ctx.joins.has('mount') ? [] : [step('ROOTFS', [`/proc/${ctx.initPid}/root`]), step('CHROOT', [0])];
  return [
    ...cgroupJoinSteps(ctx.cgroupJoin),
    // after the cgroup join: a cpuset move may change the affinity
    ...execAffinitySteps(proc.execCPUAffinity).final,
    ...root,
    ...(ctx.sessionKeyring === undefined ? [] : keyringLabelSteps(proc, ctx.lsm)),
    ...joinKeyringSteps(ctx.sessionKeyring, ctx.joins.has('user'), false),
    step('SETSID'),
    ...chroot,
    ...terminalSteps(proc, false),
    // through the shim's private procfs, which CLOSE_FDS closes; they take effect at exec
    ...lsmSteps(proc, ctx.lsm, ctx.lsmFields ?? CONFIG_LSM_FIELDS),
    closeFdsStep(ctx.preserveFds),
    ...homeSteps(proc),
    ...rlimitSteps(proc.rlimits),
    ...processAttributeSteps(proc, ctx.linux),
    ...seccomp.beforeCredentials,
    ...credentialSteps(proc, ctx.lastCap, ctx.warn, ctx.setgroupsDenied),
    cwdStep(proc),
    findExecStep(proc),
    step('SEND', ['READY']),
    ...seccomp.beforeExec,
    execStep(proc),
    step('END'),
  ];
}

/** What `runt exec`'s command line says about the process (runc's flags). */
export interface ExecFlags {
  args: string[];
  tty: boolean;
  cwd?: string;
  env: string[];
  /** uid[:gid] */
  user?: string;
  additionalGids: string[];
  caps: string[];
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
}

const ID = /^\d{1,10}$/;

function id(value: string, what: string, flag: string): number {
  const n = Number(value);
  if (!ID.test(value) || n > 0xffffffff) throw new ConfigError(`${flag}: "${value}" is not a ${what}`);
  return n;
}

function userFromFlags(base: User, spec: string | undefined, gids: string[]): User {
  const user: User = { ...base };
  if (spec !== undefined) {
    const [uid = '', gid, ...rest] = spec.split(':');
    if (rest.length) throw new ConfigError(`--user: "${spec}" is not uid[:gid]`);
    user.uid = id(uid, 'uid', '--user');
    if (gid !== undefined) user.gid = id(gid, 'gid', '--user');
  }
  if (gids.length) user.additionalGids = [...(base.additionalGids ?? []), ...gids.map((g) => id(g, 'group id', '--additional-gids'))];
  return user;
}

/**
 * --cap: each capability joins the bounding, effective and permitted sets, never the inheritable one (nor,
 * therefore, the ambient one): CVE-2022-29162.
 */
function addCapabilities(base: LinuxCapabilities | undefined, caps: string[]): LinuxCapabilities {
  for (const cap of caps) {
    if (!CAPABILITIES.includes(cap as (typeof CAPABILITIES)[number])) throw new ConfigError(`--cap: unknown capability "${cap}"`);
  }
  const add = (set: string[] | undefined): string[] => [...new Set([...(set ?? []), ...caps])];
  return { ...base, bounding: add(base?.bounding), effective: add(base?.effective), permitted: add(base?.permitted) };
}

/** runc's way: the container's process, with the command line's program and changes. */
export function processFromFlags(base: Process, f: ExecFlags): Process {
  if (f.args.length === 0) throw new ConfigError('exec args cannot be empty (give a command, or --process)');
  for (const e of f.env) if (!/^[^=]+=/.test(e)) throw new ConfigError(`--env: "${e}" is not KEY=VALUE`);
  if (f.cwd !== undefined && !f.cwd.startsWith('/')) throw new ConfigError(`--cwd: must be an absolute path, got "${f.cwd}"`);
  // a terminal only when asked for: the container's own terminal is its init's
  const p: Process = { ...base, args: f.args, terminal: f.tty, env: setEnv(base.env, f.env) };
  if (f.cwd !== undefined) p.cwd = f.cwd;
  if (f.user !== undefined || f.additionalGids.length) p.user = userFromFlags(base.user ?? { uid: 0, gid: 0 }, f.user, f.additionalGids);
  if (f.caps.length) p.capabilities = addCapabilities(base.capabilities, f.caps);
  if (f.noNewPrivs !== undefined) p.noNewPrivileges = f.noNewPrivs;
  if (f.apparmor !== undefined) p.apparmorProfile = f.apparmor;
  if (f.processLabel !== undefined) p.selinuxLabel = f.processLabel;
  return p;
}

/**
 * --process: a process object as containerd and conmon write it. What it gives replaces the container's
 * process field by field; what it leaves out is the container's (rlimits, capabilities...), except the
 * program and the terminal, which it must name. The caller validates the result against the schema.
 */
export function processFromJson(base: Process, doc: unknown, source: string): Process {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${source}: must be a JSON object (a process)`);
  const own = doc as Partial<Process>;
  // the container's args would run its init's program again
  if (own.args === undefined) throw new ConfigError(`${source}: args: is required`);
  return { ...base, terminal: false, ...own };
}
