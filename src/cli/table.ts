// The whole command surface, declared once: the parser, the help text and the tests read this table.
// Spelling follows runc, so clients (containerd's go-runc, conmon) can call runt as they call runc.

export type FlagType = 'bool' | 'string' | 'int';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  describe: string;
  /** Allowed values of a string flag. */
  choices?: string[];
}

export interface CommandSpec {
  name: string;
  /** Positional arguments, for help and for the count check ('?' optional, '...' the rest of argv). */
  args: string[];
  describe: string;
  flags: FlagSpec[];
  /** Flags stop at the first positional argument (the rest belongs to the container's command). */
  stopAtPositional?: boolean;
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', type: 'string', describe: 'state directory (default /run/runt; $XDG_RUNTIME_DIR/runt for a non-root user)' },
  { name: 'log', type: 'string', describe: 'append log lines to this file (default: stderr)' },
  { name: 'log-format', type: 'string', choices: ['text', 'json'], describe: 'log line format' },
  { name: 'debug', type: 'bool', describe: 'log debug lines too' },
  { name: 'systemd-cgroup', type: 'bool', describe: 'use systemd for cgroups (an error where systemd is not running)' },
  { name: 'rootless', type: 'string', choices: ['true', 'false', 'auto'], describe: 'rootless mode (accepted; auto-detected)' },
  { name: 'criu', type: 'string', describe: 'accepted for runc compatibility; checkpointing is not supported' },
  { name: 'version', short: 'v', type: 'bool', describe: 'print the version' },
  { name: 'help', short: 'h', type: 'bool', describe: 'show help' },
];

const CREATE_FLAGS: FlagSpec[] = [
  { name: 'bundle', short: 'b', type: 'string', describe: 'bundle directory (default: the current directory)' },
  { name: 'pid-file', type: 'string', describe: "write the container process's pid to this file" },
  { name: 'console-socket', type: 'string', describe: "AF_UNIX socket that receives the terminal's master fd" },
  { name: 'no-pivot', type: 'bool', describe: 'use MS_MOVE and chroot instead of pivot_root' },
  { name: 'no-new-keyring', type: 'bool', describe: 'do not create a new session keyring' },
  { name: 'preserve-fds', type: 'int', describe: 'pass this many fds from 3 on to the container' },
];

export const COMMANDS: CommandSpec[] = [
  { name: 'create', args: ['<container-id>'], describe: 'create a container (its process waits for start)', flags: CREATE_FLAGS },
  { name: 'start', args: ['<container-id>'], describe: 'run the user process of a created container', flags: [] },
  { name: 'state', args: ['<container-id>'], describe: 'print the state of a container as JSON', flags: [] },
  {
    name: 'kill', args: ['<container-id>', '[signal]'], describe: 'send a signal (default TERM) to the container',
    flags: [{ name: 'all', short: 'a', type: 'bool', describe: "signal every process in the container's cgroup" }],
  },
  {
    name: 'delete', args: ['<container-id>'], describe: 'delete a stopped container and what create made for it',
    flags: [{ name: 'force', short: 'f', type: 'bool', describe: 'kill the container first if it still runs' }],
  },
  {
    name: 'run', args: ['<container-id>'], describe: 'create and start a container, and wait for it',
    flags: [
      ...CREATE_FLAGS,
      { name: 'detach', short: 'd', type: 'bool', describe: 'return once the container runs' },
      { name: 'keep', type: 'bool', describe: 'keep the container after it exits' },
    ],
  },
  {
    name: 'list', args: [], describe: 'list containers',
    flags: [
      { name: 'format', short: 'f', type: 'string', choices: ['table', 'json'], describe: 'output format' },
      { name: 'quiet', short: 'q', type: 'bool', describe: 'print the ids only' },
    ],
  },
  {
    name: 'spec', args: [], describe: 'write a default config.json',
    flags: [
      { name: 'bundle', short: 'b', type: 'string', describe: 'where to write config.json (default: the current directory)' },
      { name: 'rootless', type: 'bool', describe: 'a config for a non-root user' },
    ],
  },
  { name: 'features', args: [], describe: 'print the features runt supports, as JSON', flags: [] },
];
