// The container's `cgroup` mount (config.json mounts[] with type "cgroup"), as a list of operations.
import { basename } from '../sys/path';
import { type CgroupHost, type Hierarchy, v2Hierarchy } from './host';
import type { CgroupSet } from './cgroupfs';

export type CgroupMountOp =
  /** target: relative to the cgroup mount's destination ('' = the destination itself). */
  | { kind: 'mount'; source: string; target: string; fstype: string; options: string[] }
  /** Creates linkpath (relative to the destination) pointing at target (a sibling name). */
  | { kind: 'symlink'; target: string; linkpath: string };

const SAFE = ['nosuid', 'nodev', 'noexec'];
const PROPAGATION = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable']);

function isReadOnly(options: string[]): boolean {
  let ro = false;
  for (const o of options) {
    if (o === 'ro') ro = true;
    else if (o === 'rw') ro = false;
  }
  return ro;
}

function containerDir(set: Pick<CgroupSet, 'dirs'>, h: Hierarchy): string {
  const dir = set.dirs[h.mountPoint];
  if (!dir) throw new Error(`cgroup mount: the container has no cgroup in ${h.mountPoint}`);
  return dir;
}

/**
 * What to mount for a `cgroup` mount, in order, as runc does it (rootfs_linux.go mountCgroupV1/V2), so that a
 * program in the container (systemd first of all) sees the tree the host has.
 * v1/hybrid: a tmpfs (nosuid, nodev, noexec, mode=755, the mount's propagation; never read-only: the mount's
 * options go to the hierarchies); per v1 hierarchy, named ones (name=systemd) included, a dir named as the
 * host's mount point ("cpu,cpuacct", "systemd") holding either a fresh cgroup mount of its controllers (own
 * cgroup namespace) or a bind mount of the container's own cgroup dir with the mount's options; a co-mounted
 * dir's controllers get symlinks to it ("cpu" → "cpu,cpuacct"). Hybrid's cgroup2 tree is not mounted: a v1
 * container sees only v1 hierarchies.
 * v2: a cgroup2 mount (own cgroup namespace) or a bind mount of the container's v2 dir.
 */
export function cgroupMountPlan(host: CgroupHost, set: Pick<CgroupSet, 'dirs'>, cgroupns: boolean, options: string[] = []): CgroupMountOp[] {
  const bindOpts = ['rbind', ...options.filter((o) => o !== 'bind' && o !== 'rbind')];
  if (host.mode === 'v2') {
    const v2 = v2Hierarchy(host);
    if (!v2) throw new Error('cgroup mount: no cgroup2 hierarchy');
    return [
      cgroupns
        ? { kind: 'mount', source: 'cgroup', target: '', fstype: 'cgroup2', options: [...options] }
        : { kind: 'mount', source: containerDir(set, v2), target: '', fstype: 'bind', options: bindOpts },
    ];
  }

  const fresh = [...SAFE, ...(isReadOnly(options) ? ['ro'] : [])];
  const ops: CgroupMountOp[] = [
    {
      kind: 'mount',
      source: 'tmpfs',
      target: '',
      fstype: 'tmpfs',
      options: [...SAFE, 'mode=755', ...options.filter((o) => PROPAGATION.has(o))],
    },
  ];
  const links: CgroupMountOp[] = [];
  for (const h of host.hierarchies) {
    if (h.version !== 1) continue;
    const name = basename(h.mountPoint);
    ops.push(
      cgroupns
        ? { kind: 'mount', source: 'cgroup', target: name, fstype: 'cgroup', options: [...fresh, ...h.controllers] }
        : { kind: 'mount', source: containerDir(set, h), target: name, fstype: 'bind', options: bindOpts },
    );
    if (name.includes(',')) for (const part of name.split(',')) links.push({ kind: 'symlink', target: name, linkpath: part });
  }
  return [...ops, ...links];
}
