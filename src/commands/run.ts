// `run`: create and start; in the foreground runt stays, forwards signals to the container and exits with
// its status (the shim's parent waits for it and reports it as its own exit status).
import type { Context } from './context';
import { createContainer, createOptions } from './create';
import { deleteContainer } from './delete';
import { startContainer } from './start';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function run(ctx: Context): Promise<number> {
  const id = ctx.args[0]!;
  const detach = ctx.flags.detach === true;
  const created = await createContainer(ctx, id, createOptions(ctx), detach ? 'detach' : 'wait');
  const pid = created.record.pid;
  const forward = (signal: NodeJS.Signals): void => {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  };
  // from before start: the program may already run, and print, before start has returned
  if (!detach) for (const s of FORWARDED) process.on(s, forward);
  try {
    await startContainer(ctx, id);
  } catch (e) {
    await deleteContainer(ctx, id, true);
    throw e;
  }
  if (detach) return 0;
  const status = await created.session.exited;
  for (const s of FORWARDED) process.off(s, forward);
  if (ctx.flags.keep !== true) await deleteContainer(ctx, id, true);
  return status;
}
