// Parent cgroups runt made for a container (the /runt-<tag> of /runt-<tag>/<id>) outlive that container when others are
// inside them at its delete; the container that empties them later did not make them. The state root keeps
// the list of parents runt made, so whichever delete leaves one empty removes it: a cgroup runt made never
// stays behind, and one it did not make is never touched.
import { closeSync, fstatSync, openSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { flock, LOCK_EX } from '../sys/native';
import type { CgroupSet } from './cgroupfs';
import { hostFailure } from '../errors';
import { errnoOf } from './fs';

// '~' is not allowed in container ids, so the list can never be taken for a container's directory
const REGISTRY = '~cgroup-parents';

/** Runs `update` on the list under its lock; an emptied list is removed, so an idle root keeps no list. */
function withRegistry(root: string, update: (dirs: Set<string>) => void): void {
  const file = `${root}/${REGISTRY}`;
  for (;;) {
    const fd = openSync(file, 'a+', 0o600);
    try {
      flock(fd, LOCK_EX);
      // another process may have removed the list while this one waited for the lock: start over
      if (!sameFile(fd, file)) continue;
      const dirs = new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
      update(dirs);
      if (dirs.size) writeFileSync(file, [...dirs].map((d) => `${d}\n`).join(''));
      else rmSync(file, { force: true });
      return;
    } finally {
      closeSync(fd);
    }
  }
}

function sameFile(fd: number, path: string): boolean {
  const now = statSync(path, { throwIfNoEntry: false });
  return now !== undefined && fstatSync(fd).ino === now.ino;
}

/** Records the parents a new container's cgroup needed runt to make. */
export function recordParents(root: string, set: CgroupSet): void {
  const leaves = new Set(Object.values(set.dirs));
  const parents = set.created.filter((d) => !leaves.has(d));
  if (parents.length) withRegistry(root, (dirs) => parents.forEach((d) => dirs.add(d)));
}

/** After a container's own cgroups are gone: removes the recorded parents above them that are now empty. */
export function removeEmptyParents(root: string, set: CgroupSet): void {
  const leaves = Object.values(set.dirs);
  withRegistry(root, (dirs) => {
    const above = [...dirs].filter((d) => leaves.some((leaf) => leaf.startsWith(`${d}/`)));
    for (const dir of above.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(dir);
        dirs.delete(dir);
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'ENOENT') dirs.delete(dir);
        // not empty: another container is still inside; its delete will come back here
        else if (code !== 'EBUSY' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw hostFailure(`cgroups: removing ${dir}`, e);
      }
    }
  });
}
