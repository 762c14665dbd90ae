// Signalling a container's processes: kill's, and delete's before it removes a container that still runs.
import { hasFreezer, isFrozen, setFrozen } from '../cgroups/freezer';
import { pidsOf } from '../cgroups/procs';
import { log } from '../cli/log';
import type { ContainerRecord } from '../container/store';
import { errnoOf, HostError, hostFailure } from '../errors';

const SIGKILL = 9;

/** kill(2), where a process already gone (ESRCH) is no failure; a refusal (EPERM) is the host's. */
export function send(pid: number, signal: number): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if (errnoOf(e) !== 'ESRCH') throw hostFailure(`sending signal ${signal} to process ${pid}`, e);
  }
}

/**
 * Sends `signal` to the container's init, or with `all` to every process in its cgroup. As runc does: for
 * `all` the cgroup is frozen while the pids are listed and signalled (no fork slips through), and left as
 * it was; a frozen process does not act on a signal until thawed, so SIGKILL also thaws a paused container.
 */
export function signalContainer(record: ContainerRecord, signal: number, all: boolean): void {
  const set = record.cgroup;
  if (!all || !set) {
    send(record.pid, signal);
  } else {
    let froze = false;
    if (hasFreezer(set) && !isFrozen(set)) {
      try {
        setFrozen(set, true);
        froze = true;
      } catch (e) {
        // the host's refusal (no freezer after all, a freeze that does not complete) costs the freeze only
        if (!(e instanceof HostError)) throw e;
        log.warn(`kill --all: signalling without freezing first: ${e.message}`);
      }
    }
    try {
      for (const pid of pidsOf(set)) send(pid, signal);
    } finally {
      if (froze && signal !== SIGKILL) setFrozen(set, false);
    }
  }
  if (signal === SIGKILL && set && isFrozen(set)) setFrozen(set, false);
}
