// Undoing part of an operation after it failed: the failure that stopped it is what the user sees, and one of
// the undoing is only logged (it would hide the cause, and the user would retry the wrong thing).
import { log } from '../cli/log';

/** Runs `undo` (`what` names it for the log) after the operation failed with `cause`, then throws `cause`. */
export async function undoAndThrow(cause: unknown, what: string, undo: () => void | Promise<void>): Promise<never> {
  try {
    await undo();
  } catch (e) {
    log.warn(`${what}: ${(e as Error).message}`);
  }
  throw cause;
}
