// ffi-rs's platform binding, dlopen'd from a file runt writes. The build puts the binding's bytes in runt (the
// module `runt-ffi-rs-binding`, scripts/build.mjs); `require` of a binding the engine embedded costs each call
// ~2 ms more than this (the engine hashes its ~760 KB and runs its module loader every time).
//
// The file is kept in the state root, `<root>/~ffi-rs-<hash of its bytes>.node` (sys/kept.ts). Where the
// root's filesystem is mounted noexec (a /run can be), or the root is not there yet, the binding goes to an
// unnamed file (O_TMPFILE) in $TMPDIR instead, written at each call.
import { closeSync, constants, openSync } from 'node:fs';
import { HostError, hostFailure } from '../errors';
import { openKept, writeAll, type KeptImage } from './kept';

declare const RUNT_FFI_RS_BINDING_FILE: string;
declare const RUNT_FFI_RS_BINDING_SIZE: number;

/** O_TMPFILE on Linux: a file with no name (__O_TMPFILE with O_DIRECTORY, as the kernel's headers define it). */
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

const bindingBytes = (): Uint8Array => (require('runt-ffi-rs-binding') as { default: Uint8Array }).default;

export function loadFfiRsBinding(): unknown {
  // run from source (tests on Node): the package's binding. In build/runt the bundler folds this test to false.
  if (typeof RUNT_FFI_RS_BINDING_FILE === 'undefined') return require('@yuuang/ffi-rs-linux-x64-gnu');
  const binding: KeptImage = { file: RUNT_FFI_RS_BINDING_FILE, size: RUNT_FFI_RS_BINDING_SIZE, bytes: bindingBytes };
  const kept = openKept(binding);
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
    writeAll(fd, bindingBytes());
  } catch (e) {
    closeSync(fd);
    throw hostFailure(`writing ffi-rs's binding to an unnamed file in ${tmpDir()}`, e);
  }
  return fd;
}
