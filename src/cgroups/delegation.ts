// Rootless mode: whether the caller may make the container's cgroup and move a process into it, i.e. whether
// an administrator (or systemd's Delegate=) handed it that part of every hierarchy runt uses.
import * as fs from 'node:fs';
import * as path from '../sys/path';
import { errnoOf, hostFailure } from '../errors';
import type { CgroupHost } from './host';
import { cgroupDir } from './path';

/** What access(2) says when the caller may not write there (ENOENT: a cgroup.procs that is not there). */
const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT']);

function writable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch (e) {
    if (NOT_WRITABLE.has(errnoOf(e) ?? '')) return false;
    throw hostFailure(`rootless: checking ${file}`, e);
  }
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

function commonAncestor(a: string, b: string): string {
  const pa = a.split('/');
  const pb = b.split('/');
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  return pa.slice(0, n).join('/') || '/';
}

/**
 * The first file that keeps this process from making cgroup `cgPath` (from resolveCgroupsPath) and moving a
 * process into it, in a hierarchy createCgroup uses (every mounted one); undefined when it may do both (the cgroup is delegated).
 * Making it needs the nearest existing directory on its path to be writable; on cgroup2 (v2, and hybrid's
 * unified) moving a process also needs cgroup.procs of the common ancestor of the cgroup it leaves (this
 * process's own) and the one it enters to be writable (cgroup-v2.rst, "Delegation Containment").
 */
export function undelegatedFile(host: CgroupHost, cgPath: string): string | undefined {
  for (const h of host.hierarchies) {
    const dir = cgroupDir(h, cgPath);
    const base = nearestExisting(dir);
    if (!writable(base)) return base;
    if (h.version === 2) {
      const procs = `${commonAncestor(cgroupDir(h, ''), dir)}/cgroup.procs`;
      if (!writable(procs)) return procs;
    }
  }
  return undefined;
}
