// `run`: create and start; in the foreground runt stays, forwards signals to the container and exits with
// its status (the shim's parent waits for it and reports it as its own exit status). There a terminal with no
// --console-socket is relayed to runt's own (src/plan/terminal.ts).
import { relaysTerminal } from '../plan/terminal';
import type { Context } from './context';
import { createContainer, createOptions } from './create';
import { deleteContainer } from './delete';
import { startContainer } from './start';
import { forwardSignals, terminalAtHand } from './stdio';

export async function run(ctx: Context): Promise<number> {
  const id = ctx.args[0]!;
  const detach = ctx.flags.detach === true;
  const opts = createOptions(ctx);
  const created = await createContainer(ctx, id, opts, detach ? 'detach' : 'wait');
  const proc = created.config.process;
  const relayed = proc !== undefined && relaysTerminal(proc, { consoleSocket: opts.consoleSocket, consoleRelay: terminalAtHand('wait') });
  // from before start: the program may already run, and print, before start has returned
  const stop = detach ? undefined : forwardSignals(created.record.pid, relayed);
  try {
    await startContainer(ctx, id);
  } catch (e) {
    await deleteContainer(ctx, id, true);
    throw e;
  }
  if (detach) return 0;
  const status = await created.session.exited;
  stop?.();
  if (ctx.flags.keep !== true) await deleteContainer(ctx, id, true);
  return status;
}
