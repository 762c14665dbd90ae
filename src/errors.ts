// What a user's input or a container's state caused, as opposed to a bug in runt: main prints its message
// alone, and keeps stack traces (with --debug) for everything else.
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

let errnoNames: Map<number, string> | undefined;

// node:os and node:util are loaded only on these error paths: every call imports this module, and loading the
// two cost it ~2.5 ms in the compiled binary
function errnoNumbers(): Record<string, number | undefined> {
  return (require('node:os') as typeof import('node:os')).constants.errno;
}

/** The system's error map: name and words by -errno. */
function systemErrorMap(): Map<number, [string, string]> {
  return (require('node:util') as typeof import('node:util')).getSystemErrorMap();
}

/** The name of errno number `n` ("ENOENT"); the first of aliases (EAGAIN, not EWOULDBLOCK). */
export function errnoName(n: number): string | undefined {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(errnoNumbers())) if (value !== undefined && !errnoNames.has(value)) errnoNames.set(value, name);
  }
  // os.constants.errno lacks a few (ESHUTDOWN, EHOSTDOWN, ...)
  return errnoNames.get(n) ?? systemErrorMap().get(-n)?.[0];
}

/** "EBUSY (resource busy or locked)": an errno name with the system's words for it. */
export function errnoText(code: string): string {
  const n = errnoNumbers()[code];
  const words = n === undefined ? undefined : systemErrorMap().get(-n)?.[1];
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
