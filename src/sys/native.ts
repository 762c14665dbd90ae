// The only module that touches ffi-rs: the few libc calls Node has no API for, typed, with errno turned
// into an Error. The platform binding is required directly: ffi-rs's own index costs ~9 ms per start
// (its musl check builds a process report).
import type * as FfiRs from 'ffi-rs';

type Binding = Pick<typeof FfiRs, 'open' | 'load'>;

const I32 = 1; // ffi-rs DataType.I32
const STRING = 0; // ffi-rs DataType.String
const LIBC = 'libc';

let binding: Binding | undefined;

function libc(): Binding {
  if (!binding) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = require('@yuuang/ffi-rs-linux-x64-gnu') as Binding;
    binding.open({ library: LIBC, path: 'libc.so.6' });
  }
  return binding;
}

export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    text: string,
  ) {
    super(`${call}: ${text}`);
  }
}

function call(funcName: string, paramsType: number[], paramsValue: unknown[]): number {
  const res = libc().load({
    library: LIBC,
    funcName,
    retType: I32,
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

/** mkfifo(3): Node has no API to make a FIFO. */
export function mkfifo(path: string, mode: number): void {
  call('mkfifo', [STRING, I32], [path, mode]);
}
