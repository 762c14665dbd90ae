// ffi-rs's platform binding, dlopen'd from a file runt writes. The build puts the binding's bytes in runt (the
// module `runt-ffi-rs-binding`, scripts/build.mjs); `require` of a binding the engine embedded costs each call
// ~2 ms more than this (the engine hashes its ~760 KB and runs its module loader every time).
//
// The file is kept in the state root, `<root>/~ffi-rs-<hash of its bytes>.node` ('~' is never in an id): a
// directory of the caller's that no one else may write (store.ts), so no one else can put a file there, unlike
// a shared /tmp, which a container given the host's /tmp could write as root. It is taken only when it is a
// regular file of the caller's, writable by no one else, of one link and the binding's size, and dlopen'd
// through the fd that was checked. Where the root's filesystem is mounted noexec (a /run can be), or the root
// is not there yet, the binding goes to an unnamed file (O_TMPFILE) in $TMPDIR instead, written at each call.
import { closeSync, constants, fstatSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { HostError, hostFailure } from '../errors';
import { callRoot, notOwned } from '../container/owner';

declare const RUNT_FFI_RS_BINDING_FILE: string;
declare const RUNT_FFI_RS_BINDING_SIZE: number;

/** O_TMPFILE on Linux: a file with no name (__O_TMPFILE with O_DIRECTORY, as the kernel's headers define it). */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

export function loadFfiRsBinding(): unknown {
  // run from source (tests on Node): the package's binding. In build/runt the bundler folds this test to false.
  if (typeof RUNT_FFI_RS_BINDING_FILE === 'undefined') return require('@yuuang/ffi-rs-linux-x64-gnu');
  const keptIn = callRoot();
  const kept = keptIn !== undefined && trustedDir(keptIn) ? keptFile(`${keptIn}/${RUNT_FFI_RS_BINDING_FILE}`) : undefined;
  if (kept !== undefined) {
    try {
      return dlopenFd(kept);
    } catch {
      // the root's filesystem is mounted noexec: an unnamed file elsewhere
    }
  }
  const unnamed = unnamedFile();
  try {
    return dlopenFd(unnamed);
  } catch (e) {
    throw new HostError(`loading ffi-rs's binding from an unnamed file in ${tmpDir()}: ${(e as Error).message}`);
  }
}

function dlopenFd(fd: number): unknown {
  const module = { exports: {} };
  try {
    process.dlopen(module, `/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
  return module.exports;
}

function trustedDir(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return st !== undefined && notOwned(st) === undefined;
}

/** An fd of the kept binding, written first if what is at `path` is not it; undefined when that cannot be. */
function keptFile(path: string): number | undefined {
  let fd: number;
  try {
    // O_NOFOLLOW: not through a link; O_NONBLOCK: a fifo in its place does not hold the open
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return writeKept(path);
  }
  const stat = fstatSync(fd);
  if (stat.isFile() && stat.uid === process.geteuid?.() && (stat.mode & 0o022) === 0 && stat.nlink === 1 && stat.size === RUNT_FFI_RS_BINDING_SIZE) return fd;
  closeSync(fd);
  return writeKept(path);
}

/** Writes the binding to a new file beside `path` and renames it there; its fd, or undefined on any failure. */
function writeKept(path: string): number | undefined {
  const tmp = `${path}.${process.pid}`;
  let fd: number | undefined;
  try {
    rmSync(tmp, { force: true }); // left by a process of the same pid that died writing it
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    writeAll(fd);
    renameSync(tmp, path);
    return fd;
  } catch {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    return undefined;
  }
}

function tmpDir(): string {
  return process.env.TMPDIR || '/tmp';
}

/** The binding in a file no one else can open (it has no name), written now. */
function unnamedFile(): number {
  let fd: number;
  try {
    fd = openSync(tmpDir(), O_TMPFILE | constants.O_RDWR, 0o600);
  } catch (e) {
    throw hostFailure(`writing ffi-rs's binding to an unnamed file in ${tmpDir()}`, e);
  }
  try {
    writeAll(fd);
  } catch (e) {
    closeSync(fd);
    throw hostFailure(`writing ffi-rs's binding to an unnamed file in ${tmpDir()}`, e);
  }
  return fd;
}

function writeAll(fd: number): void {
  const bytes = (require('runt-ffi-rs-binding') as { default: Uint8Array }).default;
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
}
