// A restored container's terminal, as runc restores one: the dump took the pty's slave side without its
// master (orphan_pts_master: the master is the console socket's receiver's, outside the container); at restore
// CRIU makes a new pty in the container's devpts, gives the restored processes its slave, and hands its master
// to runt with the NOTIFY "orphan-pts-master" (SCM_RIGHTS), which runt passes on over --console-socket as
// create does with the master it makes.
import { UserError } from '../errors';
import type { Spec } from '../spec/generated/types';

/** The NOTIFY whose message carries the restored terminal's master (also the name sent with it, as runc's). */
export const ORPHAN_PTS_MASTER = 'orphan-pts-master';

/** --console-socket checked against process.terminal: the socket to connect to, or none without a terminal. */
export function restoreConsoleSocket(spec: Spec, consoleSocket: string | undefined): string | undefined {
  if (!spec.process?.terminal) {
    if (consoleSocket) throw new UserError('--console-socket: given but process.terminal is false');
    return undefined;
  }
  // runc relays its own terminal in the foreground; runt's relay is the shim's, and a restore runs no shim
  if (!consoleSocket) throw new UserError('process.terminal: restoring a container with a terminal needs --console-socket');
  return consoleSocket;
}

/** Connects to the console socket before CRIU starts: one no one listens on fails here, not after the restore. */
export async function connectConsole(path: string): Promise<number> {
  const { connectUnix, SysError } = await import('../sys/native');
  try {
    return connectUnix(path);
  } catch (e) {
    if (e instanceof SysError) throw new UserError(`--console-socket: ${e.message}`);
    throw e;
  }
}

/** Passes the master CRIU handed over on to the console socket's receiver. */
export async function sendMaster(sock: number, master: number | undefined): Promise<void> {
  if (master === undefined) throw new UserError(`criu: the ${ORPHAN_PTS_MASTER} notification came without the terminal's fd`);
  const { sendFd } = await import('../sys/native');
  sendFd(sock, master, ORPHAN_PTS_MASTER);
}
