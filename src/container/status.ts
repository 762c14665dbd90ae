// runtime.md "State": the status is derived from the live process each time it is asked for.
import { existsSync, readFileSync } from 'node:fs';
import { isFrozen } from '../cgroups/freezer';
import { errnoOf, hostFailure } from '../errors';
import { fifoPath, type ContainerRecord } from './store';
import { sleepMs } from '../sys/sleep';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ProcStat {
  state: string;
  startTime: string;
}

/**
 * /proc/PID/stat's state (field 3) and start time (field 22); undefined when the process is gone (ENOENT, or
 * ESRCH: it died between the open and the read). Any other failure is reported: a process that cannot be
 * looked at is not a stopped one.
 */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ESRCH') return undefined;
    throw hostFailure(`container status: reading /proc/${pid}/stat`, e);
  }
  // the command name (field 2) may hold spaces and parentheses: fields restart after the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTime: fields[19]! };
}

/** The process create made is alive (not a zombie, not a reused pid). */
export function isAlive(record: ContainerRecord): boolean {
  const stat = procStat(record.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X' && stat.startTime === record.startTime;
}

export function containerStatus(record: ContainerRecord, dir: string): Status {
  if (!record.createdDone) return 'creating';
  if (!isAlive(record)) return 'stopped';
  // a frozen cgroup wins over created/running, as in runc (a created container can be paused too)
  if (isFrozen(record.cgroup)) return 'paused';
  return existsSync(fifoPath(dir)) ? 'created' : 'running';
}

/** The state of runtime.md "State": what hooks get on stdin. */
export function specState(record: ContainerRecord, status: Status): Record<string, unknown> {
  return {
    ociVersion: record.ociVersion,
    id: record.id,
    status,
    pid: status === 'stopped' ? 0 : record.pid,
    bundle: record.bundle,
    ...(Object.keys(record.annotations).length ? { annotations: record.annotations } : {}),
  };
}

/** What `state` prints: the spec's state plus the fields runc adds and go-runc reads. */
export function ociState(record: ContainerRecord, status: Status): Record<string, unknown> {
  return { ...specState(record, status), rootfs: record.rootfs, created: record.created, owner: record.owner };
}

export function hookStateJson(record: ContainerRecord, status: Status): string {
  return JSON.stringify(specState(record, status));
}

/** Waits (bounded) until pid is dead or a zombie, so its cgroup can be removed. */
export function waitGone(pid: number, timeoutMs = 5000): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stat = procStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') return true;
    if (Date.now() > deadline) return false;
    sleepMs(2);
  }
}

/** SIGKILL to a pid that may be gone already, then the bounded wait for it to die. */
export function killAndWait(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if (errnoOf(e) !== 'ESRCH') throw hostFailure(`killing process ${pid}`, e); // ESRCH: gone already
  }
  waitGone(pid);
}
