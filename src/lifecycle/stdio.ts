// What a container's process gets of runt's own process besides fds 0-2: the signals runt receives while it
// waits in the foreground, its terminal (relayed by the shim), and socket-activation fds.
import { readFileSync } from 'node:fs';
import { isatty } from '../sys/native';
import { log } from '../cli/log';
import { errnoOf, hostFailure, UserError } from '../errors';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/**
 * Forwards the signals runt receives to pid until the returned function is called. With a relayed terminal
 * a window change is the relay's: the shim resizes the pty, and the kernel tells the process.
 */
export function forwardSignals(pid: number, terminalRelayed: boolean): () => void {
  const signals = terminalRelayed ? FORWARDED.filter((s) => s !== 'SIGWINCH') : FORWARDED;
  const forward = (signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if (errnoOf(e) === 'ESRCH') return; // exited meanwhile
      const failure = hostFailure(`forwarding ${signal} to process ${pid}`, e);
      if (!(failure instanceof UserError)) throw failure;
      // thrown from a signal handler, it would end runt and leave the container without the parent that
      // waits for it: the host's refusal of one signal is reported only
      log.warn(failure.message);
    }
  };
  for (const s of signals) process.on(s, forward);
  return () => {
    for (const s of signals) process.off(s, forward);
  };
}

/** The shim's parent stays (the `wait` mode) and runt's stdin is a terminal: a terminal can be relayed to it. */
export function terminalAtHand(mode: 'detach' | 'wait'): boolean {
  return mode === 'wait' && isatty(0);
}

/**
 * systemd socket activation (sd_listen_fds(3)): the number of fds from 3 on that were given to runt, 0 unless
 * LISTEN_PID names runt itself (as go-systemd's activation.Files, which runc uses, checks).
 */
export function listenFds(): number {
  const { LISTEN_FDS: fds = '', LISTEN_PID: pid } = process.env;
  return pid === String(process.pid) && /^\d{1,4}$/.test(fds) ? Number(fds) : 0;
}

/** The pid that process `pid` has in its own pid namespace (the last NSpid of /proc/PID/status). */
export function nsPid(pid: number): number {
  const line = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1]?.trim().split(/\s+/).at(-1) ?? pid);
}
