// Freezing a container's cgroup: the v1 freezer controller (freezer.state) where it is mounted, else cgroup v2's
// cgroup.freeze (hybrid hosts use the v1 freezer, as runc does). Only node:fs, and no host detection: the
// container's dirs say which one they have, so `state` can ask "paused?" for the price of a few reads.
import * as fs from 'node:fs';
import { HostError } from '../errors';
import type { CgroupSet } from './cgroupfs';
import { readTrim, sleepMs, writeCgroupFile } from './fs';

type Freezer = { version: 1; dir: string } | { version: 2; dir: string };

/** The container's v1 freezer dir (it has freezer.state), else its v2 dir (cgroup.freeze), else none. */
export function freezerOf(set: CgroupSet): Freezer | undefined {
  const dirs = Object.values(set.dirs);
  const v1 = dirs.find((d) => fs.existsSync(`${d}/freezer.state`));
  if (v1) return { version: 1, dir: v1 };
  const v2 = dirs.find((d) => fs.existsSync(`${d}/cgroup.freeze`));
  return v2 ? { version: 2, dir: v2 } : undefined;
}

export function hasFreezer(set: CgroupSet): boolean {
  return freezerOf(set) !== undefined;
}

/** Whether the container's cgroup is frozen or freezing (false when there is no freezer or no cgroup). */
export function isFrozen(set: CgroupSet | undefined): boolean {
  if (!set) return false;
  // where the v1 freezer is mounted as usual, its dir is found on the first read. Plain loops: `state` asks
  // this, and each array builtin (filter, map, spread) compiles from source at its first use in a call (~0.5 ms)
  const byName: string[] = [];
  for (const mount in set.dirs) if (mount.endsWith('/freezer')) byName.push(set.dirs[mount]!);
  for (const mount in set.dirs) if (!mount.endsWith('/freezer')) byName.push(set.dirs[mount]!);
  for (let i = 0; i < byName.length; i++) {
    const v1 = readTrim(`${byName[i]}/freezer.state`);
    if (v1 !== undefined) return v1 !== 'THAWED';
  }
  for (let i = 0; i < byName.length; i++) {
    const v2 = readTrim(`${byName[i]}/cgroup.freeze`);
    if (v2 !== undefined) return v2 === '1';
  }
  return false;
}

/** How long freeze waits for every task to stop (a task in uninterruptible sleep holds v1 in FREEZING). */
const FREEZE_TIMEOUT_MS = 2000;

/**
 * Freezes (`true`) or thaws the container's cgroup and waits until the kernel reports it done. A freeze that
 * does not complete in time is undone and reported.
 */
export function setFrozen(set: CgroupSet | undefined, frozen: boolean): void {
  const f = set && freezerOf(set);
  if (!f) throw new HostError('cgroups: the container has no freezer (neither the v1 freezer controller nor cgroup.freeze)');
  const want = f.version === 1 ? (frozen ? 'FROZEN' : 'THAWED') : frozen ? '1' : '0';
  const write = (): void => writeCgroupFile(f.version === 1 ? `${f.dir}/freezer.state` : `${f.dir}/cgroup.freeze`, want);
  const done = (): boolean =>
    f.version === 1 ? readTrim(`${f.dir}/freezer.state`) === want : (readTrim(`${f.dir}/cgroup.events`) ?? '').split('\n').includes(`frozen ${want}`);
  write();
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  for (let wait = 1; !done(); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) {
      if (frozen) setFrozen(set, false);
      throw new HostError(`cgroups: ${f.dir} did not become ${frozen ? 'frozen' : 'thawed'} within ${FREEZE_TIMEOUT_MS} ms`);
    }
    sleepMs(wait);
    // v1 stays FREEZING until it is asked again once the stragglers can be frozen
    if (f.version === 1) write();
  }
}
