// The runtime's side of the shim protocol (native-shim/README.md): start the shim, send the plan's two
// segments, answer sync points, and turn an ERR into an error naming the config field of the failed step.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { log } from '../cli/log';
import { encodePlan } from '../plan/encode';
import { stepsJson } from '../plan/render';
import type { Step } from '../plan/types';
import { hostFailure, UserError } from '../errors';

/** A step of the plan failed: what the config asked for cannot be done here; the message names the field. */
export class ShimError extends UserError {}

/**
 * Starts the shim from a sealed memfd holding its executable (CVE-2019-5736: /proc/PID/exe of the shim, and
 * of a created container's init, is then that memfd, which nothing can write; the shim sees the seals and
 * runs on without copying itself). The executable is part of runt's own binary: the build embeds
 * build/runt-shim as the module `runt-shim-image` (scripts/build.mjs).
 */
function spawnShim(args: string[], stdio: (number | 'inherit' | 'pipe')[]): ChildProcess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { sealedMemfd } = require('../sys/native') as typeof import('../sys/native');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const shimImage = require('runt-shim-image') as Uint8Array;
  let image: number;
  try {
    image = sealedMemfd('runt-shim', shimImage, stdio.length);
  } catch (e) {
    throw hostFailure('runt-shim: making its sealed memfd', e);
  }
  try {
    // the fd is close-on-exec: execve opens the file before it closes the fd
    return spawn(`/proc/self/fd/${image}`, args, { argv0: 'runt-shim', stdio, env: {} });
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
  shim: ChildProcess;
  /** The shim's exit status (in `wait` mode the container's). */
  exited: Promise<number>;
  /** With `followExec`: resolves once the program runs, rejects with the ERR of a failed exec. */
  execed?: Promise<void>;
}

/** Reads the shim's messages line by line. */
class Lines {
  private buffered = '';
  private waiting: ((line: string | undefined) => void) | undefined;
  private lines: string[] = [];
  private ended = false;

  constructor(socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        this.lines.push(this.buffered.slice(0, nl));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.flush();
    });
    const end = (): void => {
      this.ended = true;
      this.flush();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  private flush(): void {
    if (!this.waiting) return;
    if (this.lines.length) {
      const w = this.waiting;
      this.waiting = undefined;
      w(this.lines.shift());
    } else if (this.ended) {
      const w = this.waiting;
      this.waiting = undefined;
      w(undefined);
    }
  }

  next(): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.flush();
    });
  }
}

/**
 * Runs the shim until the child reported READY (create's then blocks on the exec fifo; exec's execs).
 * The container's stdio is the runtime's own fds 0-2, plus fds 3..3+preserveFds-1.
 */
export async function runShim(parent: Step[], preserveFds: number, cb: ShimCallbacks, opts: ShimOptions = {}): Promise<ShimSession> {
  const syncFd = 3 + preserveFds;
  const stdio: (number | 'inherit' | 'pipe')[] = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < syncFd; fd++) stdio.push(fd);
  stdio.push('pipe', ...(opts.passFds ?? []));
  const shim = spawnShim([String(syncFd)], stdio);
  const exited = new Promise<number>((resolve) => {
    shim.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
  const spawnError = new Promise<never>((_, reject) => shim.on('error', (e) => reject(hostFailure('cannot start runt-shim', e))));
  const socket = shim.stdio[syncFd] as Socket;
  const lines = new Lines(socket);
  const steps: Step[] = [...parent];
  log.debug(() => `plan parent: ${stepsJson(parent)}`);
  socket.write(encodePlan(parent));

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

  const first = await Promise.race([lines.next(), spawnError]);
  const pidMatch = first && /^PID (\d+)$/.exec(first);
  if (!pidMatch) return fail(first);
  const pid = Number(pidMatch[1]);
  try {
    const child = await cb.onPid(pid);
    steps.push(...child);
    log.debug(() => `plan child: ${stepsJson(child)}`);
    socket.write(encodePlan(child));
    for (;;) {
      const line = await lines.next();
      if (line === 'READY') break;
      if (line === 'HOOKS' && cb.onHooks) {
        await cb.onHooks();
        socket.write('GO\n');
        continue;
      }
      await fail(line);
    }
  } catch (e) {
    // the child waits for us: closing the socket ends it (the caller, told the pid, also kills it)
    socket.destroy();
    throw e;
  }
  if (!opts.followExec) {
    socket.destroy();
    return { pid, shim, exited };
  }
  const execed = (async (): Promise<void> => {
    try {
      for (;;) {
        const line = await lines.next();
        if (line === undefined || line.startsWith('EXIT ')) return;
        await fail(line);
      }
    } finally {
      socket.destroy();
    }
  })();
  execed.catch(() => undefined); // the caller awaits it when it is ready to report
  return { pid, shim, exited, execed };
}
