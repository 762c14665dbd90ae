// The whole command surface, declared once: the parser, the help text and the tests read this table, and
// each command's options type (OptionsOf) is derived from it, so a flag the table lacks does not compile.
// Spelling follows runc, so clients (containerd's go-runc, conmon) can call runt as they call runc.

/** `strings`: repeatable, collects every value in order. */
export type FlagType = 'bool' | 'string' | 'int' | 'strings';

export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly type: FlagType;
  readonly describe: string;
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
  /**
   * A bool or int whose absence is not `false` or 0: undefined unless given (`--no-new-privs=false` overrides
   * the config; `--status-fd 0` names stdin).
   */
  readonly optional?: true;
  /** Accepted for runc's clients and without effect in runt: parsed, and not part of the command's options. */
  readonly ignored?: true;
}

export interface CommandSpec {
  readonly name: string;
  /** Positional arguments, for help and for the count check ('?' optional, '...' the rest of argv). */
  readonly args: readonly string[];
  readonly describe: string;
  readonly flags: readonly FlagSpec[];
  /** Flags stop at the first positional argument (the rest belongs to the container's command). */
  readonly stopAtPositional?: boolean;
}

export const GLOBAL_FLAGS = [
  { name: 'root', type: 'string', describe: 'state directory (default /run/runt; $XDG_RUNTIME_DIR/runt for a non-root user)' },
  { name: 'log', type: 'string', describe: 'append log lines to this file (default: stderr)' },
  { name: 'log-format', type: 'string', choices: ['text', 'json'], describe: 'log line format' },
  { name: 'debug', type: 'bool', describe: 'log debug lines too' },
  {
    name: 'systemd-cgroup',
    type: 'bool',
    describe: 'the container cgroup is a transient systemd scope (linux.cgroupsPath "slice:prefix:name"), made over D-Bus',
  },
  { name: 'rootless', type: 'string', choices: ['true', 'false', 'auto'], describe: 'rootless mode (default auto: when not root)' },
  { name: 'criu', type: 'string', describe: 'the CRIU binary for checkpoint and restore (default: criu from PATH)' },
  { name: 'version', short: 'v', type: 'bool', describe: 'print the version' },
  { name: 'help', short: 'h', type: 'bool', describe: 'show help' },
] as const satisfies readonly FlagSpec[];

/** create's flags that change its plan: `runt plan` takes them too. */
const PLAN_FLAGS = [
  { name: 'bundle', short: 'b', type: 'string', describe: 'bundle directory (default: the current directory)' },
  { name: 'console-socket', type: 'string', describe: "AF_UNIX socket that receives the terminal's master fd" },
  { name: 'no-pivot', type: 'bool', describe: 'use MS_MOVE and chroot instead of pivot_root' },
  { name: 'no-new-keyring', type: 'bool', describe: 'do not create a new session keyring' },
  { name: 'preserve-fds', type: 'int', describe: 'pass this many fds from 3 on to the container' },
] as const satisfies readonly FlagSpec[];

const CREATE_FLAGS = [
  ...PLAN_FLAGS,
  { name: 'pid-file', type: 'string', describe: "write the container process's pid to this file" },
] as const satisfies readonly FlagSpec[];

/** runc's flags shared by checkpoint and restore, passed to CRIU. */
const CRIU_FLAGS = [
  { name: 'image-path', type: 'string', describe: 'directory of the checkpoint images (default: ./checkpoint)' },
  { name: 'work-path', type: 'string', describe: "directory for CRIU's log and work files (default: the image path)" },
  { name: 'tcp-established', type: 'bool', describe: 'allow open TCP connections' },
  { name: 'ext-unix-sk', type: 'bool', describe: 'allow external unix sockets' },
  { name: 'shell-job', type: 'bool', describe: 'allow shell jobs (a terminal from outside)' },
  { name: 'file-locks', type: 'bool', describe: 'handle file locks' },
  { name: 'manage-cgroups-mode', type: 'string', choices: ['soft', 'full', 'strict', 'ignore'], describe: "CRIU's cgroups mode" },
  { name: 'empty-ns', type: 'strings', describe: 'namespace left empty by CRIU, to be set up by a hook (network)' },
  { name: 'auto-dedup', type: 'bool', describe: 'deduplicate memory images against the parent' },
  { name: 'lazy-pages', type: 'bool', describe: "lazy migration of memory pages (CRIU's lazy-pages)" },
] as const satisfies readonly FlagSpec[];

export const COMMANDS = [
  {
    name: 'create',
    args: ['<container-id>'],
    describe: 'create a container (its process waits for start)',
    flags: [...CREATE_FLAGS, { name: 'dry-run', type: 'bool', describe: 'print the plan (as runt plan) and make nothing' }],
  },
  {
    name: 'plan',
    args: ['[container-id]'],
    describe: 'print the steps create would take for a bundle, each with its config field; makes nothing',
    flags: [...PLAN_FLAGS, { name: 'format', short: 'f', type: 'string', choices: ['text', 'json'], describe: 'output format (default text)' }],
  },
  { name: 'start', args: ['<container-id>'], describe: 'run the user process of a created container', flags: [] },
  { name: 'state', args: ['<container-id>'], describe: 'print the state of a container as JSON', flags: [] },
  {
    name: 'kill',
    args: ['<container-id>', '[signal]'],
    describe: 'send a signal (default TERM) to the container',
    flags: [{ name: 'all', short: 'a', type: 'bool', describe: "signal every process in the container's cgroup" }],
  },
  {
    name: 'delete',
    args: ['<container-id>'],
    describe: 'delete a stopped container and what create made for it',
    flags: [{ name: 'force', short: 'f', type: 'bool', describe: 'kill the container first if it still runs' }],
  },
  {
    name: 'run',
    args: ['<container-id>'],
    describe: 'create and start a container, and wait for it',
    flags: [
      ...CREATE_FLAGS,
      { name: 'detach', short: 'd', type: 'bool', describe: 'return once the container runs' },
      { name: 'keep', type: 'bool', describe: 'keep the container after it exits' },
    ],
  },
  {
    name: 'list',
    args: [],
    describe: 'list containers',
    flags: [
      { name: 'format', short: 'f', type: 'string', choices: ['table', 'json'], describe: 'output format' },
      { name: 'quiet', short: 'q', type: 'bool', describe: 'print the ids only' },
    ],
  },
  {
    name: 'spec',
    args: [],
    describe: 'write a default config.json',
    flags: [
      { name: 'bundle', short: 'b', type: 'string', describe: 'where to write config.json (default: the current directory)' },
      { name: 'rootless', type: 'bool', describe: 'a config for a non-root user' },
    ],
  },
  { name: 'features', args: [], describe: 'print the features runt supports, as JSON', flags: [] },
  {
    name: 'exec',
    args: ['<container-id>', '[command...]'],
    describe: 'run a process in a running container',
    stopAtPositional: true,
    flags: [
      { name: 'process', short: 'p', type: 'string', describe: 'a JSON process object (config.json "process") to run' },
      { name: 'tty', short: 't', type: 'bool', describe: 'allocate a terminal' },
      { name: 'console-socket', type: 'string', describe: "AF_UNIX socket that receives the terminal's master fd" },
      { name: 'detach', short: 'd', type: 'bool', describe: 'return once the process has started' },
      { name: 'pid-file', type: 'string', describe: "write the process's pid to this file" },
      { name: 'cwd', type: 'string', describe: 'working directory in the container' },
      { name: 'env', short: 'e', type: 'strings', describe: 'extra environment variable KEY=VALUE (repeatable)' },
      { name: 'user', short: 'u', type: 'string', describe: 'uid[:gid]' },
      { name: 'additional-gids', short: 'g', type: 'strings', describe: 'supplementary group id (repeatable)' },
      { name: 'cap', short: 'c', type: 'strings', describe: 'add a capability (repeatable; never to the inheritable set)' },
      { name: 'no-new-privs', type: 'bool', optional: true, describe: 'set no_new_privs' },
      { name: 'apparmor', type: 'string', describe: 'AppArmor profile (applied where AppArmor is enabled)' },
      { name: 'process-label', type: 'string', describe: 'SELinux label (applied where SELinux is enabled)' },
      { name: 'preserve-fds', type: 'int', describe: 'pass this many fds from 3 on to the process' },
      { name: 'ignore-paused', type: 'bool', describe: 'exec even if the container is paused' },
      { name: 'cgroup', type: 'string', describe: '[controller:]path of a sub-cgroup to join' },
    ],
  },
  {
    name: 'update',
    args: ['<container-id>'],
    describe: "update a running container's resource limits",
    flags: [
      { name: 'resources', short: 'r', type: 'string', describe: 'a JSON LinuxResources object, from a file or - for stdin' },
      { name: 'memory', short: 'm', type: 'string', describe: 'memory limit (bytes, or with k/m/g)' },
      { name: 'memory-swap', type: 'string', describe: 'memory plus swap limit (-1: unlimited)' },
      { name: 'memory-reservation', type: 'string', describe: 'memory soft limit' },
      { name: 'cpu-shares', type: 'string', describe: 'CPU shares (relative weight)' },
      { name: 'cpu-share', type: 'string', describe: "CPU shares (runc's spelling)" },
      { name: 'cpu-idle', type: 'string', describe: 'SCHED_IDLE for the cgroup (1) or not (0)' },
      { name: 'cpu-quota', type: 'string', describe: 'CPU CFS quota in microseconds' },
      { name: 'cpu-period', type: 'string', describe: 'CPU CFS period in microseconds' },
      { name: 'cpu-burst', type: 'string', describe: 'CPU CFS burst in microseconds' },
      { name: 'cpuset-cpus', type: 'string', describe: 'CPUs to use (0-3, 0,1)' },
      { name: 'cpuset-mems', type: 'string', describe: 'memory nodes to use' },
      { name: 'pids-limit', type: 'string', describe: 'maximum number of pids (-1: unlimited)' },
      { name: 'blkio-weight', type: 'string', describe: 'block IO weight (10-1000)' },
      { name: 'cpu-rt-period', type: 'string', describe: 'CPU realtime period in microseconds' },
      { name: 'cpu-rt-runtime', type: 'string', describe: 'CPU realtime runtime in microseconds' },
    ],
  },
  { name: 'pause', args: ['<container-id>'], describe: 'freeze every process of the container', flags: [] },
  { name: 'resume', args: ['<container-id>'], describe: 'thaw a paused container', flags: [] },
  {
    name: 'ps',
    args: ['<container-id>', '[ps-options...]'],
    describe: "list the container's processes",
    stopAtPositional: true,
    flags: [{ name: 'format', short: 'f', type: 'string', choices: ['table', 'json'], describe: 'table (runs ps) or json (host pids)' }],
  },
  {
    name: 'checkpoint',
    args: ['<container-id>'],
    describe: 'checkpoint a running container with CRIU',
    flags: [
      ...CRIU_FLAGS,
      { name: 'leave-running', type: 'bool', describe: 'leave the container running after the checkpoint' },
      { name: 'pre-dump', type: 'bool', describe: 'dump the memory only, to make later dumps faster' },
      { name: 'parent-path', type: 'string', describe: 'images of a previous (pre-)dump, relative to the image path' },
      { name: 'page-server', type: 'string', describe: "ADDRESS:PORT of CRIU's page server (with --lazy-pages: where it serves them)" },
      { name: 'status-fd', type: 'int', optional: true, describe: 'with --lazy-pages: an fd runt writes \\0 to once the pages are served' },
    ],
  },
  {
    name: 'restore',
    args: ['<container-id>'],
    describe: 'restore a container from a CRIU checkpoint',
    flags: [
      ...CRIU_FLAGS,
      { name: 'bundle', short: 'b', type: 'string', describe: 'bundle directory (default: the current directory)' },
      { name: 'detach', short: 'd', type: 'bool', describe: 'return once the container runs' },
      { name: 'pid-file', type: 'string', describe: "write the restored process's pid to this file" },
      { name: 'console-socket', type: 'string', describe: "AF_UNIX socket that receives the terminal's master fd" },
      { name: 'no-pivot', type: 'bool', ignored: true, describe: 'accepted (CRIU restores the mount namespace itself)' },
      { name: 'no-subreaper', type: 'bool', ignored: true, describe: "accepted (the restored process is runt's own child)" },
    ],
  },
  {
    name: 'events',
    args: ['<container-id>'],
    describe: 'print resource usage and OOM events as JSON',
    flags: [
      { name: 'stats', type: 'bool', describe: 'print one stats object and exit' },
      { name: 'interval', type: 'string', describe: 'stats interval (Go duration, default 5s)' },
    ],
  },
] as const satisfies readonly CommandSpec[];

export type CommandName = (typeof COMMANDS)[number]['name'];

/** A flag's name as an option key: `pid-file` → `pidFile`. */
export type OptionKey<Name extends string> = Name extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<OptionKey<Tail>>}` : Name;

export function optionKey(name: string): string {
  let key = '';
  for (let i = 0; i < name.length; i++) {
    const next = name[i + 1];
    if (name[i] === '-' && next !== undefined && next >= 'a' && next <= 'z') key += name[++i]!.toUpperCase();
    else key += name[i];
  }
  return key;
}

/** An option key's flag, for messages: `pidFile` → `pid-file`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A flag's value: a bool is false when absent, an int 0 (either undefined if optional), a repeatable one [], a string undefined. */
type OptionValue<F extends FlagSpec> = F['type'] extends 'bool'
  ? F extends { optional: true }
    ? boolean | undefined
    : boolean
  : F['type'] extends 'int'
    ? F extends { optional: true }
      ? number | undefined
      : number
    : F['type'] extends 'strings'
      ? string[]
      : F extends { choices: readonly (infer Choice)[] }
        ? Choice | undefined
        : string | undefined;

/** The options a list of flags gives, one key per flag that has an effect. */
export type OptionsFrom<Flags extends readonly FlagSpec[]> = {
  readonly [F in Flags[number] as F extends { ignored: true } ? never : OptionKey<F['name']>]: OptionValue<F>;
};

/** The typed options of command N, as the parser makes them. */
export type OptionsOf<N extends CommandName> = OptionsFrom<Extract<(typeof COMMANDS)[number], { name: N }>['flags']>;

export type GlobalOptions = OptionsFrom<typeof GLOBAL_FLAGS>;
