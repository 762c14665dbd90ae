// What a user's input or a container's state caused, as opposed to a bug in runt: main prints its message
// alone, and keeps stack traces (with --debug) for everything else.
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

export class UserError extends Error {}

/**
 * The host refused what runt asked of it for a container (a cgroup or resctrl file write, a directory, a
 * syscall): a value the kernel does not take, a controller or file it lacks, a permission, a cgroup in use.
 * Not runt's bug, so no stack: the message names the config field when there is one, the path, and the errno
 * (also kept as `code`, for callers that tell one refusal from another).
 */
export class HostError extends UserError {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The errno name ("ENOENT") of a failed call: Node's fs, net and child_process errors, SysError, HostError. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "EBUSY (resource busy or locked)": an errno name with the system's words for it. */
export function errnoText(code: string): string {
  const n = (constants.errno as Record<string, number | undefined>)[code];
  const words = n === undefined ? undefined : getSystemErrorMap().get(-n)?.[1];
  return words ? `${code} (${words})` : code;
}

/**
 * `e`, thrown while runt did `what` on the host ("reading /sys/fs/cgroup/.../memory.stat"), as the error to
 * report: an errno becomes a HostError "`what`: ECODE (words)"; a UserError already says what happened; and
 * anything else is runt's own bug, returned as it is (its stack shows where).
 */
export function hostFailure(what: string, e: unknown): Error {
  const code = errnoOf(e);
  if (code && !(e instanceof UserError)) return new HostError(`${what}: ${errnoText(code)}`, code);
  return e as Error;
}
