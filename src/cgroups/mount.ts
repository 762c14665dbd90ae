// The container's `cgroup` mount (config.json mounts[] with type "cgroup"), as a list of operations.
import { type CgroupHost, type Hierarchy, hasControllers, realControllers, v2Hierarchy } from './host';
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

function containerDir(set: CgroupSet, h: Hierarchy): string {
  const dir = set.dirs[h.mountPoint];
  if (!dir) throw new Error(`cgroup mount: the container has no cgroup in ${h.mountPoint}`);
  return dir;
}

/**
 * What to mount for a `cgroup` mount, in order.
 * v1/hybrid: a tmpfs (mode=755); per v1 hierarchy with controllers, a dir named after its controllers
 * ("cpu,cpuacct" plus symlinks "cpu" and "cpuacct" when co-mounted) holding either a fresh cgroup mount of
 * those controllers (own cgroup namespace) or a bind mount of the container's own cgroup dir; hybrid adds
 * "unified" (cgroup2 or a bind). A "ro" mount ends with a read-only remount of the tmpfs.
 * v2: a cgroup2 mount (own cgroup namespace) or a bind mount of the container's v2 dir.
 * Named-only v1 hierarchies (name=systemd) are not mounted: the container has no cgroup of its own there.
 */
export function cgroupMountPlan(host: CgroupHost, set: CgroupSet, cgroupns: boolean, options: string[] = []): CgroupMountOp[] {
  const ro = isReadOnly(options);
  const bindOpts = ['rbind', ...options.filter((o) => o !== 'bind' && o !== 'rbind')];
  const v2 = v2Hierarchy(host);
  if (host.mode === 'v2') {
    if (!v2) throw new Error('cgroup mount: no cgroup2 hierarchy');
    return [cgroupns
      ? { kind: 'mount', source: 'cgroup', target: '', fstype: 'cgroup2', options: [...options] }
      : { kind: 'mount', source: containerDir(set, v2), target: '', fstype: 'bind', options: bindOpts }];
  }

  const fresh = [...SAFE, ...(ro ? ['ro'] : [])];
  const ops: CgroupMountOp[] = [{
    kind: 'mount', source: 'tmpfs', target: '', fstype: 'tmpfs',
    options: [...SAFE, 'mode=755', ...options.filter((o) => PROPAGATION.has(o))],
  }];
  const links: CgroupMountOp[] = [];
  for (const h of host.hierarchies) {
    if (h.version !== 1 || !hasControllers(h)) continue;
    const ctrls = realControllers(h);
    const name = ctrls.join(',');
    ops.push(cgroupns
      ? { kind: 'mount', source: 'cgroup', target: name, fstype: 'cgroup', options: [...fresh, ...ctrls] }
      : { kind: 'mount', source: containerDir(set, h), target: name, fstype: 'bind', options: bindOpts });
    if (ctrls.length > 1) for (const c of ctrls) links.push({ kind: 'symlink', target: name, linkpath: c });
  }
  if (v2) {
    ops.push(cgroupns
      ? { kind: 'mount', source: 'cgroup2', target: 'unified', fstype: 'cgroup2', options: [...fresh] }
      : { kind: 'mount', source: containerDir(set, v2), target: 'unified', fstype: 'bind', options: bindOpts });
  }
  ops.push(...links);
  if (ro) ops.push({ kind: 'mount', source: '', target: '', fstype: '', options: ['remount', 'bind', 'ro', ...SAFE] });
  return ops;
}
