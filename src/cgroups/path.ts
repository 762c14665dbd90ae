// Where a container's cgroup goes: linux.cgroupsPath → a cgroup path, then a directory per hierarchy.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Hierarchy } from './host';
import { UserError } from '../errors';

export const SYSTEMD_NOT_RUNNING =
  'systemd cgroup driver requested (--systemd-cgroup), but systemd is not running on this host';

/**
 * Normalises a cgroup path without letting it climb out of where it starts: an absolute path is cleaned
 * from "/", a relative one as if it were rooted ("a/../../b" → "b"). "" stays "".
 */
export function cleanPath(p: string): string {
  if (p === '') return '';
  const abs = path.posix.normalize('/' + p);
  const clean = abs.length > 1 && abs.endsWith('/') ? abs.slice(0, -1) : abs;
  if (p.startsWith('/')) return clean;
  return clean === '/' ? '' : clean.slice(1);
}

/**
 * OCI linux.cgroupsPath → the cgroup path runt uses:
 *  - absolute ("/a/b"): from the root of every hierarchy (as seen at its mount point);
 *  - relative ("a/b"): returned relative (no leading '/'); createCgroup puts it under runt's own cgroup in
 *    each hierarchy (that per-hierarchy step needs the host, so it happens there);
 *  - none: "/runt/<root tag>/<id>" (defaultParent): two state roots never share a cgroup, even for one id.
 * Like runc's cgroupfs driver, a "slice:prefix:name" path with systemdCgroup=false is not special: it is
 * a relative path whose last component contains colons.
 * systemdCgroup=true needs systemd: `systemdProbe` (default /run/systemd/system) must exist. The systemd
 * driver itself is not implemented yet.
 */
export function resolveCgroupsPath(
  cgroupsPath: string | undefined,
  id: string,
  systemdCgroup: boolean,
  root: string,
  systemdProbe = '/run/systemd/system',
): string {
  if (systemdCgroup) {
    if (!fs.existsSync(systemdProbe)) throw new UserError(SYSTEMD_NOT_RUNNING);
    if (cgroupsPath && cgroupsPath.split(':').length !== 3) {
      throw new UserError(`linux.cgroupsPath: expected "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)}`);
    }
    throw new UserError('systemd cgroup driver (--systemd-cgroup) is not supported by runt yet; use the default cgroupfs driver');
  }
  if (!cgroupsPath) {
    if (!id || id.includes('/') || id === '.' || id === '..') throw new Error(`invalid container id ${JSON.stringify(id)}`);
    return `${defaultParent(root)}/${id}`;
  }
  const p = cleanPath(cgroupsPath);
  if (p === '/' || p === '') {
    throw new UserError(`linux.cgroupsPath: ${JSON.stringify(cgroupsPath)} names the ${p === '/' ? 'root' : "runtime's own"} cgroup, not a cgroup of the container's own`);
  }
  return p;
}

/**
 * The parent of the default cgroups of the containers under state root `root`: /runt/ and the first 12 hex
 * digits of the SHA-256 of the root's absolute path. Containers of one id under two roots (containerd's
 * namespaces, callers with their own --root) get two cgroups, so neither's `kill --all` or `delete` reaches
 * the other's processes.
 */
export function defaultParent(root: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return `/runt/${createHash('sha256').update(path.posix.resolve(root)).digest('hex').slice(0, 12)}`;
}

/** The path of `own` relative to the mount's root, as a path under the mount point ('' at the root). */
function ownUnderMount(h: Hierarchy): string {
  const own = cleanPath(h.ownPath) || '/';
  const root = cleanPath(h.root) || '/';
  if (root === '/') return own;
  if (own === root) return '/';
  if (own.startsWith(root + '/')) return own.slice(root.length);
  throw new Error(`cgroups: this process's cgroup ${own} is not visible under ${h.mountPoint} (mount root ${root})`);
}

/** The directory of cgroup path `cgPath` (from resolveCgroupsPath) in hierarchy `h`. */
export function cgroupDir(h: Hierarchy, cgPath: string): string {
  if (cgPath.startsWith('/')) return path.posix.join(h.mountPoint, cgPath);
  return path.posix.join(h.mountPoint, ownUnderMount(h), cleanPath(cgPath));
}
