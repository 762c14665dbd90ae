// Undoing part of an operation after it failed: the failure that stopped it is what the user sees, and one of
// the undoing is only logged (it would hide the cause, and the user would retry the wrong thing).
import { log } from '../cli/log';
import { UserError } from '../errors';

/** Runs `undo` (`what` names it for the log) after the operation failed with `cause`, then throws `cause`. */
export async function undoAndThrow(cause: unknown, what: string, undo: () => void | Promise<void>): Promise<never> {
  try {
    await undo();
  } catch (e) {
    logUndoFailure(what, e);
  }
  throw cause;
}

/** Logs a failure while undoing; a bug's stack under --debug. */
function logUndoFailure(what: string, e: unknown): void {
  log.warn(`${what}: ${(e as Error).message}`);
  if (!(e instanceof UserError)) log.debug((e as Error).stack ?? '');
}

/** What an operation made so far, undone in reverse when a later step fails: nothing is left behind. */
export class Undo {
  private actions: (() => void | Promise<void>)[] = [];

  /** `what` names the operation in the log ("cleanup after a failed create"). */
  constructor(private readonly what: string) {}

  push(action: () => void | Promise<void>): void {
    this.actions.push(action);
  }

  /** Undoes everything (each failure logged, the rest still undone). */
  async run(): Promise<void> {
    for (const action of this.actions.reverse()) {
      try {
        await action();
      } catch (e) {
        logUndoFailure(this.what, e);
      }
    }
    this.actions = [];
  }
}
