// ffi-rs's platform binding, dlopen'd from a file of runt's own. The build puts the binding's bytes in runt
// (the module `runt-ffi-rs-binding`, scripts/build.mjs); `require` of a binding the engine embedded costs each
// call ~2 ms more than this (the engine hashes its ~760 KB and runs its module loader every time). The file,
// `$TMPDIR/.runt-ffi-rs-<hash of its bytes>.node` (default /tmp), is written once and taken only when it is
// the caller's own, writable by no one else, a regular file of the binding's size; otherwise it is written
// again. It is dlopen'd through the fd that was checked (/proc/self/fd/N): the file checked is the file loaded.
import { closeSync, constants, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostFailure } from '../errors';

declare const RUNT_FFI_RS_BINDING_FILE: string;
declare const RUNT_FFI_RS_BINDING_SIZE: number;

export function loadFfiRsBinding(): unknown {
  // run from source (tests on Node): the package's binding. In build/runt the bundler folds this test to false.
  if (typeof RUNT_FFI_RS_BINDING_FILE === 'undefined') return require('@yuuang/ffi-rs-linux-x64-gnu');
  const path = `${process.env.TMPDIR || '/tmp'}/${RUNT_FFI_RS_BINDING_FILE}`;
  const fd = openTrusted(path) ?? writeBinding(path);
  const module = { exports: {} };
  try {
    process.dlopen(module, `/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
  return module.exports;
}

/** An fd of the binding's file at `path`, or undefined when there is none the caller can trust. */
function openTrusted(path: string): number | undefined {
  let fd: number;
  try {
    // O_NOFOLLOW: not through a link; O_NONBLOCK: a fifo in its place does not hold the open
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  const stat = fstatSync(fd);
  if (stat.isFile() && stat.uid === process.geteuid?.() && (stat.mode & 0o022) === 0 && stat.size === RUNT_FFI_RS_BINDING_SIZE) return fd;
  closeSync(fd);
  return undefined;
}

/**
 * Writes the binding to a new file of this process's (O_EXCL: never through what another user placed) and
 * renames it to `path`, where the next calls find it. Returns the new file's fd, which is loaded even when the
 * rename fails (another user's file in a sticky /tmp under that name).
 */
function writeBinding(path: string): number {
  const bytes = (require('runt-ffi-rs-binding') as { default: Uint8Array }).default;
  const tmp = `${path}.${process.pid}`;
  let fd: number;
  try {
    rmSync(tmp, { force: true }); // left by a process of the same pid that died writing it
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    throw hostFailure(`writing ffi-rs's binding to ${tmp}`, e);
  }
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw hostFailure(`writing ffi-rs's binding to ${tmp}`, e);
  }
  try {
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
  return fd;
}
