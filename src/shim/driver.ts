// The runtime's side of the shim protocol (native-shim/README.md): start the shim, send the plan's two
// segments, answer sync points, and turn an ERR into an error naming the config field of the failed step.
import { closeSync, readSync, writeSync } from 'node:fs';
import { log } from '../cli/log';
import { encodePlan } from '../plan/encode';
import { stepsJson } from '../plan/render';
import type { Step } from '../plan/types';
import { errnoOf, hostFailure, UserError } from '../errors';
import { openKept, type KeptImage } from '../sys/kept';

/** A step of the plan failed: what the config asked for cannot be done here; the message names the field. */
export class ShimError extends UserError {}

declare const RUNT_SHIM_FILE: string;
declare const RUNT_SHIM_SIZE: number;

const shimBytes = (): Uint8Array => (require('runt-shim-image') as { default: Uint8Array }).default;

/**
 * Starts the shim from a sealed memfd holding its executable (CVE-2019-5736: /proc/PID/exe of the shim, and
 * of a created container's init, is then that memfd, which nothing can write; the shim sees the seals and
 * runs on without copying itself). The executable is part of runt's own binary: the build embeds
 * build/runt-shim as the module `runt-shim-image` (scripts/build.mjs), which runt writes once to a file kept in
 * the state root (sys/kept.ts); the kernel copies that file into each memfd. Where no file can be kept there
 * (the root is not made yet, or cannot be written), the image's bytes are written to the memfd.
 */
function spawnShim(args: string[], fds: number[]): number {
  const { sealedMemfd, spawnExecutable } = require('../sys/native') as typeof import('../sys/native');
  const shim: KeptImage = { file: RUNT_SHIM_FILE, size: RUNT_SHIM_SIZE, bytes: shimBytes };
  const kept = openKept(shim);
  let image: number;
  try {
    image = sealedMemfd('runt-shim', kept === undefined ? shimBytes() : { fd: kept, size: shim.size }, fds.length);
  } catch (e) {
    throw hostFailure('runt-shim: making its sealed memfd', e);
  } finally {
    if (kept !== undefined) closeSync(kept);
  }
  try {
    // the fd is close-on-exec: execve opens the file before it closes the fd
    return spawnExecutable(`/proc/self/fd/${image}`, ['runt-shim', ...args], fds);
  } catch (e) {
    throw hostFailure('cannot start runt-shim', e);
  } finally {
    closeSync(image);
  }
}

export interface ShimCallbacks {
  /** The init exists: set it up from outside, return the child's segment. */
  onPid(pid: number): Promise<Step[]> | Step[];
  /** The child waits before pivot_root: prestart and createRuntime hooks (create's plans only). */
  onHooks?(): Promise<void>;
}

export interface ShimOptions {
  /**
   * The child's EXEC follows its READY (exec's plan): after READY the runtime reads on, until EOF (the
   * socket is close-on-exec: the program runs) or the `wait` parent's EXIT, as `ShimSession.execed`.
   */
  followExec?: boolean;
  /** More fds for the shim, after its socket: the i-th is fd `passedFd(preserveFds, i)` there. */
  passFds?: number[];
}

/** The number, in the shim, of the i-th fd of `ShimOptions.passFds`. */
export function passedFd(preserveFds: number, i: number): number {
  return 3 + preserveFds + 1 + i;
}

export interface ShimSession {
  pid: number;
  /** The shim's exit status (in `wait` mode the container's). */
  exited: Promise<number>;
  /** With `followExec`: resolves once the program runs, rejects with the ERR of a failed exec. */
  execed?: Promise<void>;
}

/**
 * The runtime's end of the shim's socket, read line by line with blocking reads. A socketpair of its own, not
 * a `pipe` of the spawn: that one comes as a stream socket of node:net, whose loading and set-up cost a call
 * ~6.5 M instructions, a sixth of create's. Blocking is what the runtime does anyway until the child's READY:
 * the shim and the child wait for its answers, and nothing else of its own runs meanwhile (a hook, systemd's
 * D-Bus run between two reads). A `wait` parent that holds its end until the program ends is read only after
 * it has exited (runShim's `execed`), so the event loop runs, and forwards signals, while the program does.
 */
class Channel {
  private buffered = Buffer.alloc(0);
  private ended = false;

  constructor(readonly fd: number) {}

  /** The next line, undefined at EOF (every holder of the other end has closed it: exited or exec'd). */
  next(): string | undefined {
    for (;;) {
      const nl = this.buffered.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.buffered.toString('utf8', 0, nl);
        this.buffered = this.buffered.subarray(nl + 1);
        return line;
      }
      if (this.ended) return undefined;
      const chunk = Buffer.alloc(4096);
      const n = this.read(chunk);
      if (n === 0) this.ended = true;
      else this.buffered = Buffer.concat([this.buffered, chunk.subarray(0, n)]);
    }
  }

  /**
   * A read where a shim that died with runt's bytes unread (the kernel resets the stream: ECONNRESET) is EOF
   * as any other end of the shim: the caller names the failure.
   */
  private read(chunk: Buffer): number {
    try {
      return readSync(this.fd, chunk);
    } catch (e) {
      if (errnoOf(e) === 'ECONNRESET') return 0;
      throw e;
    }
  }

  /** A shim that is gone (EPIPE) is not an error here: the next read finds EOF, which names the failure. */
  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off);
    } catch (e) {
      if (errnoOf(e) !== 'EPIPE') throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Runs the shim until the child reported READY (create's then blocks on the exec fifo; exec's execs).
 * The container's stdio is the runtime's own fds 0-2, plus fds 3..3+preserveFds-1.
 */
export async function runShim(parent: Step[], preserveFds: number, cb: ShimCallbacks, opts: ShimOptions = {}): Promise<ShimSession> {
  const syncFd = 3 + preserveFds;
  const passFds = opts.passFds ?? [];
  const [mine, theirs] = (require('../sys/native') as typeof import('../sys/native')).streamPair(syncFd + 1 + passFds.length);
  // the shim's fds: runt's 0..syncFd-1 as they are, its end of the socket, then passFds
  const fds = [...Array(syncFd).keys(), theirs, ...passFds];
  let shimPid: number;
  try {
    shimPid = spawnShim([String(syncFd)], fds);
  } catch (e) {
    closeSync(mine);
    throw e;
  } finally {
    closeSync(theirs);
  }
  const { childExit } = require('../sys/reap') as typeof import('../sys/reap');
  const exited = childExit(shimPid);
  const channel = new Channel(mine);
  const steps: Step[] = [...parent];

  const fail = async (line: string | undefined): Promise<never> => {
    if (line === undefined) {
      const status = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), 2000))]);
      throw new ShimError(`runt-shim ended without a report (status ${status})`);
    }
    const m = /^ERR (\d+) (\d+) (.*)$/.exec(line);
    if (!m) throw new Error(`runt-shim: unexpected message "${line}"`);
    const field = steps[Number(m[1])]?.field;
    throw new ShimError(field ? `${field}: ${m[3]}` : m[3]!);
  };

  let pid: number;
  try {
    log.debug(() => `plan parent: ${stepsJson(parent)}`);
    channel.write(encodePlan(parent));
    const first = channel.next();
    const pidMatch = first && /^PID (\d+)$/.exec(first);
    if (!pidMatch) return await fail(first);
    pid = Number(pidMatch[1]);
    const child = await cb.onPid(pid);
    steps.push(...child);
    log.debug(() => `plan child: ${stepsJson(child)}`);
    channel.write(encodePlan(child));
    for (;;) {
      const line = channel.next();
      if (line === 'READY') break;
      if (line === 'HOOKS' && cb.onHooks) {
        await cb.onHooks();
        channel.write('GO\n');
        continue;
      }
      await fail(line);
    }
  } catch (e) {
    // the child waits for us: closing the socket ends it (the caller, told the pid, also kills it)
    channel.close();
    throw e;
  }
  if (!opts.followExec) {
    channel.close();
    return { pid, exited };
  }
  // after READY the child execs the program; a `detach` parent has exited right after CLONE, a `wait` one keeps
  // its end to send EXIT when the program ends: read once the parent is gone, then to the child's exec (EOF)
  const execed = (async (): Promise<void> => {
    try {
      await exited;
      for (;;) {
        const line = channel.next();
        if (line === undefined || line.startsWith('EXIT ')) return;
        await fail(line);
      }
    } finally {
      channel.close();
    }
  })();
  execed.catch(() => undefined); // the caller awaits it when it is ready to report
  return { pid, exited, execed };
}
