// Removing a container's cgroup dirs: apart from cgroupfs.ts, so that delete loads none of the controllers'
// code it does not run (the cgroup modules cost a call ~2 ms to load).
import { rmdirSync } from 'node:fs';
import { HostError } from '../errors';
import type { CgroupSet } from './cgroupfs';
import { errnoOf, sleepMs } from './fs';

/** Sleeps between rmdir attempts of a busy cgroup (a process that just died may still be counted). */
const BUSY_RETRY_MS = [10, 20, 40, 80, 160];

/**
 * rmdir of the dirs in set.created, deepest first. A container's own dir that is busy is retried a few
 * times, then reported; a shared parent (/runt) still holding other containers is left alone. ENOENT is
 * fine. Dirs not in `created` are never touched.
 */
export function removeCgroup(set: CgroupSet): void {
  const own = new Set(Object.values(set.dirs));
  const errors: string[] = [];
  for (let i = set.created.length - 1; i >= 0; i--) {
    const dir = set.created[i]!;
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        const code = errnoOf(e);
        if (!code) throw e;
        if (code === 'ENOENT') break;
        if (!own.has(dir) && (code === 'EBUSY' || code === 'ENOTEMPTY' || code === 'EEXIST')) break;
        if (code === 'EBUSY' && attempt < BUSY_RETRY_MS.length) {
          sleepMs(BUSY_RETRY_MS[attempt]!);
          continue;
        }
        errors.push(`${dir} (${code})`);
        break;
      }
    }
  }
  if (errors.length > 0) throw new HostError(`cgroups: cannot remove ${errors.join(', ')}`);
}
