// The processes in a container's cgroups, its sub-cgroups included. A leaf module: `kill` and `ps` need no
// more of the cgroup layer than this, and the container's record already names its directories.
import * as fs from 'node:fs';
import type { CgroupSet } from './cgroupfs';
import { hostFailure } from '../errors';
import { errnoOf } from './fs';

/** Host pids in every cgroup of the set (v1 hierarchies can differ: the union), ascending. */
export function pidsOf(set: CgroupSet): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let text: string;
    let entries: fs.Dirent[];
    try {
      text = fs.readFileSync(`${dir}/cgroup.procs`, 'utf8');
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      // gone (a sub-cgroup removed while the walk came down to it, even between the two reads: systemd removes a
      // scope once its last process has left): no processes there
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return;
      throw hostFailure(`listing the processes of ${dir}`, e);
    }
    for (const l of text.split('\n')) if (l.trim()) pids.add(Number(l));
    for (const ent of entries) if (ent.isDirectory()) walk(`${dir}/${ent.name}`);
  };
  for (const dir of Object.values(set.dirs)) walk(dir);
  return [...pids].sort((a, b) => a - b);
}
