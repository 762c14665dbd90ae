// `run`: create and start; in the foreground runt stays, forwards signals to the container and exits with
// its status (the shim's parent waits for it and reports it as its own exit status). There a terminal with no
// consoleSocket is relayed to runt's own (src/plan/terminal.ts).
import { relaysTerminal } from '../plan/terminal';
import type { RuntimeContext } from './context';
import { createContainer, type CreateOptions } from './create';
import { deleteContainer } from './delete';
import { startContainer } from './start';
import { forwardSignals, terminalAtHand } from './stdio';
import { undoAndThrow } from './undo';

export interface RunOptions extends CreateOptions {
  /** Return once the container runs (its exit status is then the caller's to collect). */
  detach: boolean;
  /** Keep the container after it exits. */
  keep: boolean;
}

/** Runs container `id`; returns its exit status, or 0 once it runs with `detach`. */
export async function runContainer(ctx: RuntimeContext, id: string, opts: RunOptions): Promise<number> {
  const created = await createContainer(ctx, id, opts, opts.detach ? 'detach' : 'wait');
  const proc = created.config.process;
  const relayed = proc !== undefined && relaysTerminal(proc, { consoleSocket: opts.consoleSocket, consoleRelay: terminalAtHand('wait') });
  // from before start: the program may already run, and print, before start has returned
  const stop = opts.detach ? undefined : forwardSignals(created.record.pid, relayed);
  try {
    await startContainer(ctx, id);
  } catch (e) {
    await undoAndThrow(e, `deleting container ${id} after its start failed`, () => deleteContainer(ctx, id, true));
  }
  if (opts.detach) return 0;
  const status = await created.session.exited;
  stop?.();
  if (!opts.keep) await deleteContainer(ctx, id, true);
  return status;
}
