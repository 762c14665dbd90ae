// Waiting for a child the engine did not spawn itself (the shim, from posix_spawn; a process CRIU restored),
// without blocking the event loop: the runtime forwards signals meanwhile.
import { reapIfExited } from './native';

/**
 * The exit status of child `pid` (its code, or 128+signal), once it has ended and been reaped. Each SIGCHLD
 * looks again, and so does the call itself (a child that ended before it is already a zombie). A timer keeps
 * the event loop alive meanwhile, as a signal listener does not.
 */
export function childExit(pid: number): Promise<number> {
  return new Promise((resolve) => {
    const look = (): void => {
      const status = reapIfExited(pid);
      if (status === undefined) return;
      process.off('SIGCHLD', look);
      clearInterval(alive);
      resolve(status);
    };
    const alive = setInterval(() => undefined, 2 ** 31 - 1);
    process.on('SIGCHLD', look);
    look();
  });
}
