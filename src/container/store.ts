// The state store under --root: one directory per container, holding state.json (what create recorded, the
// few fields every call needs), config.json (the config create read, for the calls that act on it) and, until
// start, the exec fifo. Calls that change a container hold an flock on its directory (start and kill do without
// it: their comments say why).
import {
  chmodSync,
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  constants,
  type Stats,
} from 'node:fs';
import type { CgroupSet } from '../cgroups';
import type { RdtGroup } from '../rdt';
import type { Spec } from '../spec/generated/types';
import { errnoOf, hostFailure, UserError } from '../errors';
import { notOwned } from './owner';
import { utf8Length } from '../sys/path';

export const OCI_VERSION = '1.3.0';

/**
 * What create recorded in state.json. The status is never stored: it is derived from the process when asked.
 * The config is apart (loadConfig): `state` and `kill`, which engines call most, do not parse it (a seccomp
 * profile alone is ~10 KB).
 */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** Set when create has finished; until then the container is `creating` (or a create that died). */
  createdDone: boolean;
  /** The container init's pid in the runtime's pid namespace; 0 until create has cloned it. */
  pid: number;
  /** Field 22 of /proc/PID/stat when create saw the process: a different value means the pid was reused. */
  startTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
  cgroup?: CgroupSet;
  /** linux.intelRdt: the resctrl group the container's processes are in. */
  rdt?: RdtGroup;
  /** Made with --no-new-keyring: its processes keep the session keyring of their caller (exec's too). */
  noNewKeyring?: boolean;
}

/** A failure a client may match by text (runc's wording). */
export class ContainerError extends UserError {}

export const NOT_EXIST = 'container does not exist';
export const EXISTS = 'container with given ID already exists';
export const NOT_RUNNING = 'container not running';
export const STILL_RUNNING = 'container still running';

/**
 * /run/runt, or $XDG_RUNTIME_DIR/runt for a user other than root (as runc does). Without XDG_RUNTIME_DIR a
 * user gets /run/runt too, which is not theirs: never a name in a directory everyone may write to (/tmp),
 * where another user could make it first and plant containers whose hooks would run as the caller.
 */
export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  return process.getuid?.() !== 0 && xdg ? `${xdg}/runt` : '/run/runt';
}

/**
 * A state dir (the root, a container's dir) must be a directory of the caller's that no one else may write
 * to: whoever could would plant container records, whose hooks runt runs as the caller, and cgroups and pids
 * that runt signals and removes.
 */
function checkOwned(path: string, st: Stats): void {
  const why = notOwned(st);
  if (why) throw new ContainerError(`state dir ${path} ${why}`);
}

/** The dir's lstat, checked by checkOwned; undefined when it does not exist. */
function ownedDir(path: string): Stats | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st) checkOwned(path, st);
  return st;
}

/** Checks the state root, if it exists (whether it does is returned): list and create call this first. */
export function checkRoot(root: string): boolean {
  return ownedDir(root) !== undefined;
}

/**
 * The longest id: a container's directory is first made as "~<id>.XXXXXX" (makeContainerDir), and a file
 * name has at most 255 bytes (NAME_MAX).
 */
const ID_MAX = 255 - '~.XXXXXX'.length;
/** PATH_MAX, and what runt adds below `<root>/<id>`: a temporary name in its place, a temporary file in it. */
const PATH_MAX = 4096;
const LONGEST_BELOW_DIR = '~.XXXXXX/.runt-0123456789abcdef.tmp'.length;

/** An id's characters by runc's rule (/^[\w+.-]+$/): ASCII letters and digits, _ + - . */
function isIdChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2b || c === 0x2d || c === 0x2e;
}

/**
 * runc's rule: letters, digits, and _ + - . ; not "." or "..". So an id is always one path component. A loop, not
 * runc's regular expression: it is the first one most calls would run, and a process's first costs it ~0.4 ms.
 */
export function checkId(id: string): void {
  let valid = id.length > 0 && id !== '.' && id !== '..';
  for (let i = 0; valid && i < id.length; i++) valid = isIdChar(id.charCodeAt(i));
  if (!valid) {
    throw new ContainerError(`invalid container id format: "${id}" (allowed: letters, digits, _ + - .)`);
  }
  if (id.length > ID_MAX) throw new ContainerError(`invalid container id: ${id.length} characters long, at most ${ID_MAX} are allowed`);
}

export function containerDir(root: string, id: string): string {
  checkId(id);
  const dir = `${root}/${id}`;
  if (utf8Length(dir) + LONGEST_BELOW_DIR >= PATH_MAX) {
    throw new ContainerError(`container id too long for the state root ${root}: its paths would pass ${PATH_MAX} bytes (PATH_MAX)`);
  }
  return dir;
}

/**
 * Makes the container's directory, its record and config in it and its lock held: all appear at once, under a
 * temporary name ('~' is never in an id) renamed into place, so no other call ever sees the id's directory
 * without a record or unlocked by its create. The directory's existence is what "the id is taken" means.
 */
export function makeContainerDir(root: string, record: ContainerRecord, config: Spec): { dir: string; lock: number } {
  const dir = containerDir(root, record.id);
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (e) {
    const hint = process.getuid?.() !== 0 && !process.env.XDG_RUNTIME_DIR ? ' (set XDG_RUNTIME_DIR, or pass --root)' : '';
    throw new ContainerError(`cannot make the state root ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${hint}`);
  }
  checkRoot(root);
  let tmp: string;
  try {
    tmp = mkdtempSync(`${root}/~${record.id}.`);
  } catch (e) {
    throw hostFailure(`state root ${root}: making a container's dir`, e);
  }
  let lock: number | undefined;
  try {
    chmodSync(tmp, 0o711);
    lock = lockContainer(tmp);
    saveConfig(tmp, config);
    saveRecord(tmp, record);
    renameSync(tmp, dir);
  } catch (e) {
    if (lock !== undefined) unlockContainer(lock);
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new ContainerError(EXISTS);
    throw hostFailure(`state dir ${dir}: making it`, e);
  }
  return { dir, lock };
}

export function removeContainerDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * An fd of the container's dir `dir` as it is now (O_NOFOLLOW), checked (checkOwned): it keeps that dir, and
 * `${heldPath(fd)}/...` its files, even when the path comes to name another one. The root is checked too.
 */
export function openContainerDir(dir: string): number {
  if (!checkRoot(dir.slice(0, dir.lastIndexOf('/')))) throw new ContainerError(NOT_EXIST);
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ContainerError(NOT_EXIST);
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new ContainerError(`state dir ${dir} is not a directory`);
    throw hostFailure(`state dir ${dir}`, e);
  }
  try {
    checkOwned(dir, fstatSync(fd));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** The path of a dir held open by `fd`, through the kernel's link to it (not the name it was opened by). */
export function heldPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Whether `dir` still names the dir held by `fd` (it was not deleted, or replaced by another one). */
export function isCurrentDir(dir: string, fd: number): boolean {
  const now = lstatSync(dir, { throwIfNoEntry: false });
  const held = fstatSync(fd);
  return now !== undefined && now.ino === held.ino && now.dev === held.dev;
}

/**
 * Takes the container's lock (the kernel drops it when this process dies). With `wait` false, returns
 * undefined instead of waiting when another process holds it. The root and the dir are checked (checkOwned).
 */
export function lockContainer(dir: string): number;
export function lockContainer(dir: string, wait: false): number | undefined;
export function lockContainer(dir: string, wait = true): number | undefined {
  // flock needs ffi; loaded only by the calls that take the lock, never by `state`, `start` or `kill`.
  const { flock, LOCK_EX, LOCK_NB, SysError } = require('../sys/native') as typeof import('../sys/native');
  for (;;) {
    const fd = openContainerDir(dir);
    try {
      flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
    } catch (e) {
      closeSync(fd);
      if (!wait && e instanceof SysError && e.errno === 11 /* EWOULDBLOCK */) return undefined;
      throw hostFailure(`state dir ${dir}: locking it`, e);
    }
    // while this call waited, the dir may have been deleted, and another one made under its name by a
    // create that holds that one's lock: the lock taken is then worthless, and the current dir's is needed
    if (isCurrentDir(dir, fd)) return fd;
    closeSync(fd);
    if (!lstatSync(dir, { throwIfNoEntry: false })) throw new ContainerError(NOT_EXIST);
  }
}

export function unlockContainer(fd: number): void {
  closeSync(fd);
}

export function loadRecord(root: string, id: string): ContainerRecord {
  const dir = containerDir(root, id);
  if (!checkRoot(root) || !ownedDir(dir)) throw new ContainerError(NOT_EXIST);
  let text: string;
  try {
    text = readFileSync(`${dir}/state.json`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ContainerError(NOT_EXIST);
    throw hostFailure(`reading ${dir}/state.json`, e);
  }
  return parseJson(`${dir}/state.json`, text) as ContainerRecord;
}

export function saveRecord(dir: string, record: ContainerRecord): void {
  writeAtomic(`${dir}/state.json`, JSON.stringify(record), 0o600);
}

/**
 * The config as create read it (later edits of the bundle's config.json have no effect on the container), from
 * the dir of a record loaded before: both are there from the dir's first moment (makeContainerDir).
 */
export function loadConfig(dir: string): Spec {
  const file = `${dir}/config.json`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new ContainerError(`${file}: ENOENT`);
    throw hostFailure(`reading ${file}`, e);
  }
  return parseJson(file, text) as Spec;
}

export function saveConfig(dir: string, config: Spec): void {
  writeAtomic(`${dir}/config.json`, JSON.stringify(config), 0o600);
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ContainerError(`${file}: ${(e as Error).message}`);
  }
}

export function fifoPath(dir: string): string {
  return `${dir}/exec.fifo`;
}

/**
 * Writes a file atomically (temp file, then rename): a reader never sees it half-written. The temp file has a
 * name no one can guess and is made by this call (O_EXCL), never through a link (O_NOFOLLOW): a pid file's
 * directory may be writable by others, who must neither redirect the write nor take the name first.
 */
export function writeAtomic(path: string, content: string, mode = 0o644): void {
  // the Web Crypto global, not node:crypto: that module costs ~2 ms to load in every create
  const tmp = `${path.slice(0, path.lastIndexOf('/') + 1)}.runt-${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw hostFailure(`writing ${path}`, e);
  }
  try {
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw hostFailure(`writing ${path}`, e);
  }
}
