// The only module that touches ffi-rs: the few libc calls Node has no API for, typed, with errno turned
// into an Error. The platform binding is loaded directly (sys/binding.ts): ffi-rs's own index costs ~9 ms per
// start (its musl check builds a process report).
import { closeSync, writeSync } from 'node:fs';
import type * as FfiRs from 'ffi-rs';
import { errnoName } from '../errors';
import { loadFfiRsBinding } from './binding';

type Binding = Pick<typeof FfiRs, 'open' | 'load'>;

const I32 = 1; // ffi-rs DataType.I32
const STRING = 0; // ffi-rs DataType.String
const I64 = 8; // ffi-rs DataType.I64 (also a pointer or a long, by the x86-64 and arm64 ABIs)
const VOID = 7; // ffi-rs DataType.Void
/** A Buffer argument, passed in place as a pointer to its bytes (ffi-rs DataType.U8Array in an "Array" tag). */
const bytes = (b: Uint8Array) => ({ type: 10, length: b.length, ffiTypeTag: 997 });
const LIBC = 'libc';

let binding: Binding | undefined;

function libc(): Binding {
  if (!binding) {
    binding = loadFfiRsBinding() as Binding;
    binding.open({ library: LIBC, path: 'libc.so.6' });
  }
  return binding;
}

/** A libc call failed. Plain Error: the caller knows whether the host refused (hostFailure) or runt erred. */
export class SysError extends Error {
  /** The errno's name ("EPERM"), as Node's errors carry it: errnoOf reads both. */
  readonly code: string | undefined;

  constructor(
    readonly call: string,
    readonly errno: number,
    text: string,
  ) {
    super(`${call}: ${text}`);
    this.code = errnoName(errno);
  }
}

type ParamType = number | ReturnType<typeof bytes>;

function call(funcName: string, paramsType: ParamType[], paramsValue: unknown[], retType = I32): number {
  const res = libc().load({
    library: LIBC,
    funcName,
    retType,
    paramsType,
    paramsValue,
    errno: true,
    freeResultMemory: false,
  }) as unknown as { value: number; errnoCode: number; errnoMessage: string };
  if (res.value === -1) throw new SysError(funcName, res.errnoCode, res.errnoMessage);
  return res.value;
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;

/** flock(2) on an open fd. */
export function flock(fd: number, operation: number): void {
  call('flock', [I32, I32], [fd, operation]);
}

/**
 * isatty(3): node:tty has it too, but loading that module costs a call ~4.5 M instructions, and the calls that
 * ask (run and exec in the foreground) load this binding anyway.
 */
export function isatty(fd: number): boolean {
  return call('isatty', [I32], [fd]) === 1;
}

/** mkfifo(3): Node has no API to make a FIFO. */
export function mkfifo(path: string, mode: number): void {
  call('mkfifo', [STRING, I32], [path, mode]);
}

/** pidfd_open(2) (Linux 5.3): the syscall's number is the same on every architecture. */
export function pidfdOpen(pid: number): number {
  try {
    return call('syscall', [I64, I64, I64], [434, pid, 0], I64);
  } catch (e) {
    if (e instanceof SysError) throw new SysError(`pidfd_open(${pid})`, e.errno, e.message.replace(/^syscall: /, ''));
    throw e;
  }
}

/** The bpf(2) syscall number (there is no libc wrapper). */
const SYS_BPF: Partial<Record<string, number>> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;

function bpf(cmd: number, cmdName: string, attr: Uint8Array): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new SysError(`bpf(${cmdName})`, 38, `not supported on ${process.arch} by runt`);
  try {
    return call('syscall', [I64, I64, bytes(attr), I64], [nr, cmd, attr, attr.length], I64);
  } catch (e) {
    if (e instanceof SysError) throw new SysError(`bpf(${cmdName})`, e.errno, e.message.replace(/^syscall: /, ''));
    throw e;
  }
}

/** Native memory holding a copy of `data`, for pointers inside a syscall's argument struct. */
function nativeCopy(data: Uint8Array): number {
  const addr = nativeAlloc(data.length);
  call('memcpy', [I64, bytes(data), I64], [addr, data, data.length], I64);
  return addr;
}

/** `size` bytes of native memory (malloc), for nativeFree. */
function nativeAlloc(size: number): number {
  const addr = call('malloc', [I64], [Math.max(size, 1)], I64);
  if (addr === 0) throw new SysError('malloc', 12, 'out of memory');
  return addr;
}

function nativeFree(addr: number): void {
  call('free', [I64], [addr], VOID);
}

const LOG_SIZE = 65536;

/**
 * bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program (`insns`: encoded instructions, 8 bytes each).
 * Returns the program's fd. A refusal carries the kernel verifier's log in the message.
 */
export function loadDeviceProgram(insns: Uint8Array, license: string, name: string): number {
  const insnsAddr = nativeCopy(insns);
  const licenseAddr = nativeCopy(Buffer.from(`${license}\0`));
  const logAddr = nativeCopy(new Uint8Array(LOG_SIZE));
  try {
    // union bpf_attr, the BPF_PROG_LOAD member, up to prog_name (linux/bpf.h)
    const attr = Buffer.alloc(64);
    attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0); // prog_type
    attr.writeUInt32LE(insns.length / 8, 4); // insn_cnt
    attr.writeBigUInt64LE(BigInt(insnsAddr), 8); // insns
    attr.writeBigUInt64LE(BigInt(licenseAddr), 16); // license
    attr.writeUInt32LE(1, 24); // log_level
    attr.writeUInt32LE(LOG_SIZE, 28); // log_size
    attr.writeBigUInt64LE(BigInt(logAddr), 32); // log_buf
    attr.write(name.slice(0, 15), 48, 'latin1'); // prog_name (NUL-terminated within 16 bytes)
    try {
      return bpf(BPF_PROG_LOAD, 'BPF_PROG_LOAD', attr);
    } catch (e) {
      const log = Buffer.alloc(LOG_SIZE);
      call('memcpy', [bytes(log), I64, I64], [log, logAddr, LOG_SIZE], I64);
      const text = log.subarray(0, log.indexOf(0)).toString('latin1').trim().split('\n').slice(-3).join('; ');
      if (e instanceof SysError && text) throw new SysError(e.call, e.errno, `${e.message.slice(e.call.length + 2)} (verifier: ${text})`);
      throw e;
    }
  } finally {
    nativeFree(insnsAddr);
    nativeFree(licenseAddr);
    nativeFree(logAddr);
  }
}

/** bpf(BPF_PROG_ATTACH): attaches program `progFd` to the cgroup open at `cgroupFd`. */
export function attachProgram(cgroupFd: number, progFd: number, attachType: number, flags: number): void {
  const attr = Buffer.alloc(20);
  attr.writeUInt32LE(cgroupFd, 0); // target_fd
  attr.writeUInt32LE(progFd, 4); // attach_bpf_fd
  attr.writeUInt32LE(attachType, 8); // attach_type
  attr.writeUInt32LE(flags, 12); // attach_flags
  bpf(BPF_PROG_ATTACH, 'BPF_PROG_ATTACH', attr);
}

export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

/** eventfd(2): Node has no API for it (cgroup v1 memory.oom_control notifications arrive on one). */
export function eventfd(initval: number, flags: number): number {
  return call('eventfd', [I32, I32], [initval, flags]);
}

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
/** Linux 6.3: kernels that know vm.memfd_noexec want the wish said out loud; older ones refuse the flag. */
const MFD_EXEC = 0x10;
const F_ADD_SEALS = 1033;
/** No write, no resize, no more seal changes: what native-shim/sealed.c checks before it skips its self-copy. */
const SEALS = 0x1 /* F_SEAL_SEAL */ | 0x2 /* F_SEAL_SHRINK */ | 0x4 /* F_SEAL_GROW */ | 0x8; /* F_SEAL_WRITE */

const F_GETFL = 3;
const F_DUPFD_CLOEXEC = 1030;

/** fcntl(F_GETFL): an open fd's status flags (its access mode in O_ACCMODE); Node has no API for it. */
export function fdStatusFlags(fd: number): number {
  return call('fcntl', [I32, I32, I32], [fd, F_GETFL, 0]);
}

/** The first `size` bytes of the file open at `fd` (read from offset 0, whatever the fd's own offset). */
export interface FileContent {
  fd: number;
  size: number;
}

/**
 * A close-on-exec memfd named `name` holding `content`, sealed with SEALS (CVE-2019-5736: what runs from it
 * cannot be written through /proc/PID/exe). Returns its fd, which is `lowest` or above: a child's fds
 * 0..lowest-1 are set up over the parent's numbers before it execs the memfd. A file's content is copied by
 * the kernel (sendfile(2)): its bytes never pass through this process's memory.
 */
export function sealedMemfd(name: string, content: Uint8Array | FileContent, lowest: number): number {
  let made: number;
  try {
    made = call('memfd_create', [STRING, I32], [name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC]);
  } catch (e) {
    if (!((e instanceof SysError && e.errno === 22) /* EINVAL */)) throw e;
    made = call('memfd_create', [STRING, I32], [name, MFD_CLOEXEC | MFD_ALLOW_SEALING]);
  }
  let fd = made;
  try {
    if (fd < lowest) fd = call('fcntl', [I32, I32, I32], [made, F_DUPFD_CLOEXEC, lowest]);
    if (content instanceof Uint8Array) for (let off = 0; off < content.length; ) off += writeSync(fd, content, off);
    else sendFile(fd, content);
    call('fcntl', [I32, I32, I32], [fd, F_ADD_SEALS, SEALS]);
  } catch (e) {
    closeSync(fd);
    throw e;
  } finally {
    if (fd !== made) closeSync(made);
  }
  return fd;
}

/** sendfile(2) of `from`'s bytes to the end of `to`; a file that ends before `from.size` is an error. */
function sendFile(to: number, from: FileContent): void {
  const offset = Buffer.alloc(8); // the in-file offset sendfile reads at, and advances
  for (let done = 0; done < from.size; ) {
    const n = call('sendfile', [I32, I32, bytes(offset), I64], [to, from.fd, offset, from.size - done], I64);
    if (n === 0) throw new SysError('sendfile', 5 /* EIO */, `the file ends after ${done} of ${from.size} bytes`);
    done += n;
  }
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;

function socketPair(type: number): [number, number] {
  const fds = Buffer.alloc(8);
  call('socketpair', [I32, I32, I32, bytes(fds)], [AF_UNIX, type | SOCK_CLOEXEC, 0, fds]);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/** socketpair(2) of AF_UNIX SOCK_SEQPACKET sockets, close-on-exec (CRIU's RPC runs over one). */
export function seqpacketPair(): [number, number] {
  return socketPair(SOCK_SEQPACKET);
}

/**
 * socketpair(2) of AF_UNIX SOCK_STREAM sockets, close-on-exec, both fds `lowest` or above (the shim's protocol
 * runs over one; as sealedMemfd's, its fds stay clear of the numbers a child's fds are set up over).
 */
export function streamPair(lowest: number): [number, number] {
  return socketPair(SOCK_STREAM).map((made) => {
    if (made >= lowest) return made;
    try {
      return call('fcntl', [I32, I32, I32], [made, F_DUPFD_CLOEXEC, lowest]);
    } finally {
      closeSync(made);
    }
  }) as [number, number];
}

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
/** struct msghdr and struct cmsghdr on the 64-bit ABIs runt runs on (x86-64, arm64). */
const MSGHDR_SIZE = 56;
const CMSG_HDR = 16;
/** Room for this many fds in one message's control data. */
const MAX_FDS = 8;

/** A msghdr in native memory whose one iovec points at `dataAddr` (len bytes), with `controlLen` bytes at `controlAddr`. */
function msghdr(dataAddr: number, len: number, controlAddr: number, controlLen: number): Buffer {
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(BigInt(dataAddr), 0);
  iov.writeBigUInt64LE(BigInt(len), 8);
  const iovAddr = nativeCopy(iov);
  const hdr = Buffer.alloc(MSGHDR_SIZE);
  hdr.writeBigUInt64LE(BigInt(iovAddr), 16); // msg_iov
  hdr.writeBigUInt64LE(1n, 24); // msg_iovlen
  hdr.writeBigUInt64LE(BigInt(controlAddr), 32); // msg_control
  hdr.writeBigUInt64LE(BigInt(controlLen), 40); // msg_controllen
  return hdr;
}

/** The iovec's address in a msghdr made by msghdr() (to free it). */
const iovOf = (hdr: Buffer): number => Number(hdr.readBigUInt64LE(16));

/**
 * recvmsg(2) of one message into buf, with the fds that came with it (SCM_RIGHTS, made close-on-exec):
 * CRIU's RPC hands a restored terminal's master over this way. Returns the message's length (0: EOF).
 */
export function recvWithFds(fd: number, buf: Buffer): { length: number; fds: number[] } {
  const controlLen = CMSG_HDR + 4 * MAX_FDS;
  const dataAddr = nativeCopy(new Uint8Array(buf.length));
  const controlAddr = nativeCopy(new Uint8Array(controlLen));
  const hdr = msghdr(dataAddr, buf.length, controlAddr, controlLen);
  try {
    const length = call('recvmsg', [I32, bytes(hdr), I32], [fd, hdr, MSG_CMSG_CLOEXEC], I64);
    call('memcpy', [bytes(buf), I64, I64], [buf, dataAddr, length], I64);
    const control = Buffer.alloc(controlLen);
    call('memcpy', [bytes(control), I64, I64], [control, controlAddr, controlLen], I64);
    const fds: number[] = [];
    const used = Number(hdr.readBigUInt64LE(40)); // msg_controllen, as the kernel filled it
    for (let at = 0; at + CMSG_HDR <= used; ) {
      const cmsgLen = Number(control.readBigUInt64LE(at));
      if (cmsgLen < CMSG_HDR) break;
      if (control.readInt32LE(at + 8) === SOL_SOCKET && control.readInt32LE(at + 12) === SCM_RIGHTS) {
        for (let p = at + CMSG_HDR; p + 4 <= at + cmsgLen; p += 4) fds.push(control.readInt32LE(p));
      }
      at += (cmsgLen + 7) & ~7;
    }
    return { length, fds };
  } finally {
    nativeFree(iovOf(hdr));
    nativeFree(dataAddr);
    nativeFree(controlAddr);
  }
}

/** A close-on-exec AF_UNIX SOCK_STREAM socket connected to path (a console socket). */
export function connectUnix(path: string): number {
  const addr = Buffer.alloc(110); // struct sockaddr_un
  const name = Buffer.from(path);
  if (name.length >= 108) throw new SysError(`connect ${path}`, 36, 'File name too long');
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  const fd = call('socket', [I32, I32, I32], [AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0]);
  try {
    call('connect', [I32, bytes(addr), I32], [fd, addr, addr.length]);
  } catch (e) {
    closeSync(fd);
    if (e instanceof SysError) throw new SysError(`connect ${path}`, e.errno, e.message.replace(/^connect: /, ''));
    throw e;
  }
  return fd;
}

/** sendmsg(2) of `name` with `sent` attached (SCM_RIGHTS), as a console socket's receiver expects the pty master. */
export function sendFd(sock: number, sent: number, name: string): void {
  const data = Buffer.from(name);
  const control = Buffer.alloc(CMSG_HDR + 8); // CMSG_SPACE(sizeof(int))
  control.writeBigUInt64LE(BigInt(CMSG_HDR + 4), 0); // CMSG_LEN(sizeof(int))
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(sent, 16);
  const dataAddr = nativeCopy(data);
  const controlAddr = nativeCopy(control);
  const hdr = msghdr(dataAddr, data.length, controlAddr, control.length);
  try {
    call('sendmsg', [I32, bytes(hdr), I32], [sock, hdr, 0], I64);
  } finally {
    nativeFree(iovOf(hdr));
    nativeFree(dataAddr);
    nativeFree(controlAddr);
  }
}

const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MNT_DETACH = 2;

/** mount(2) with MS_BIND|MS_REC: a recursive bind of source on target. */
export function rbind(source: string, target: string): void {
  call('mount', [STRING, STRING, STRING, I64, I64], [source, target, '', MS_BIND | MS_REC, 0]);
}

/** umount2(2) with MNT_DETACH. */
export function detachMount(target: string): void {
  call('umount2', [STRING, I32], [target, MNT_DETACH]);
}

/** posix_spawn's opaque types on glibc's 64-bit ABIs, and sigset_t: runt allocates them, libc fills them. */
const SPAWN_FILE_ACTIONS_SIZE = 80;
const SPAWNATTR_SIZE = 336;
const SIGSET_SIZE = 128;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;

/** A call of the posix_spawn family: it returns the error number itself, 0 on success. */
function spawnCall(funcName: string, paramsType: ParamType[], paramsValue: unknown[]): void {
  const res = libc().load({ library: LIBC, funcName, retType: I32, paramsType, paramsValue, freeResultMemory: false }) as unknown as number;
  if (res !== 0) throw new SysError(funcName, res, errnoName(res) ?? `error ${res}`);
}

/**
 * What posix_spawn reads, laid out for one native allocation (each ffi call costs, the first of a kind most):
 * the file actions and attributes (zeroed, for libc to initialize), an empty signal set, a full one, argv's
 * pointer table, an empty envp, then argv's strings. `place(base)` writes the table's pointers for the
 * address the image is copied to.
 */
function spawnImage(argv: string[]) {
  const attr = SPAWN_FILE_ACTIONS_SIZE;
  const empty = attr + SPAWNATTR_SIZE;
  const all = empty + SIGSET_SIZE;
  const argvTable = all + SIGSET_SIZE;
  const envp = argvTable + 8 * (argv.length + 1);
  // plain loops, as in the CLI parser: each array builtin written in JavaScript costs its first use
  const strings: Buffer[] = [];
  let size = envp + 8;
  for (const arg of argv) {
    const bytes = Buffer.from(`${arg}\0`);
    strings.push(bytes);
    size += bytes.length;
  }
  const image = Buffer.alloc(size);
  // every bit set: sigfillset leaves out the two signals glibc reserves (32, 33), which would stay ignored
  image.fill(0xff, all, all + SIGSET_SIZE);
  const stringAt: number[] = [];
  let at = envp + 8;
  for (const bytes of strings) {
    stringAt.push(at);
    bytes.copy(image, at);
    at += bytes.length;
  }
  const place = (base: number) => {
    for (let i = 0; i < stringAt.length; i++) image.writeBigUInt64LE(BigInt(base + stringAt[i]!), argvTable + 8 * i);
    return { actions: base, attr: base + attr, empty: base + empty, all: base + all, argv: base + argvTable, envp: base + envp };
  };
  return { image, place };
}

/**
 * posix_spawn(3) of executable `path` with `argv` and no environment: its fd i is this process's `fds[i]`, and
 * nothing else of ours (every other fd of runt's is close-on-exec); its signal mask empty and every signal's
 * disposition the default (the engine ignores SIGPIPE and SIGXFSZ, which an exec would pass on). Returns its
 * pid; reap it with reapIfExited (src/sys/reap.ts waits for it). glibc's posix_spawn is a vfork-style clone, safe in a threaded process, and
 * reports a failed exec as its own error. node:child_process would do the same at several ms a call for
 * loading it and its machinery.
 */
export function spawnExecutable(path: string, argv: string[], fds: number[]): number {
  const { image, place } = spawnImage(argv);
  const base = nativeAlloc(image.length);
  const moved: number[] = [];
  try {
    const { actions, attr, empty, all, argv: argvAt, envp } = place(base);
    call('memcpy', [I64, bytes(image), I64], [base, image, image.length], I64);
    spawnCall('posix_spawn_file_actions_init', [I64], [actions]);
    spawnCall('posix_spawnattr_init', [I64], [attr]);
    try {
      for (let i = 0; i < fds.length; i++) {
        // a source numbered like another fd's target would be replaced before its own dup2: move it above them
        let source = fds[i]!;
        if (source !== i && source < fds.length) moved.push((source = call('fcntl', [I32, I32, I32], [source, F_DUPFD_CLOEXEC, fds.length])));
        // onto itself, dup2 clears close-on-exec (glibc 2.29): each target is open in the child
        spawnCall('posix_spawn_file_actions_adddup2', [I64, I32, I32], [actions, source, i]);
      }
      spawnCall('posix_spawnattr_setsigmask', [I64, I64], [attr, empty]);
      spawnCall('posix_spawnattr_setsigdefault', [I64, I64], [attr, all]);
      spawnCall('posix_spawnattr_setflags', [I64, I32], [attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK]);
      const pid = Buffer.alloc(4);
      spawnCall('posix_spawn', [bytes(pid), STRING, I64, I64, I64, I64], [pid, path, actions, attr, argvAt, envp]);
      return pid.readInt32LE(0);
    } finally {
      call('posix_spawn_file_actions_destroy', [I64], [actions]);
      call('posix_spawnattr_destroy', [I64], [attr]);
    }
  } finally {
    for (const fd of moved) closeSync(fd);
    nativeFree(base);
  }
}

const WNOHANG = 1;

/**
 * waitpid(2) with WNOHANG for a child the engine did not spawn itself (the shim, a process CRIU restored as runt's child):
 * undefined while it runs, else its status as a shell reports it (128+signal when killed).
 */
export function reapIfExited(pid: number): number | undefined {
  const status = Buffer.alloc(4);
  if (call('waitpid', [I32, bytes(status), I32], [pid, status, WNOHANG]) === 0) return undefined;
  const s = status.readInt32LE(0);
  return (s & 0x7f) === 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
}
