// Where a container's cgroup goes: linux.cgroupsPath → a cgroup path, then a directory per hierarchy.
import * as fs from 'node:fs';
import * as path from '../sys/path';
import type { CgroupHost, Hierarchy } from './host';
import { HostError, UserError } from '../errors';

export const SYSTEMD_NOT_RUNNING = 'systemd cgroup driver requested (--systemd-cgroup), but systemd is not running on this host';

/**
 * Normalises a cgroup path without letting it climb out of where it starts: an absolute path is cleaned
 * from "/", a relative one as if it were rooted ("a/../../b" → "b"). "" stays "".
 */
export function cleanPath(p: string): string {
  if (p === '') return '';
  const abs = path.normalize('/' + p);
  const clean = abs.length > 1 && abs.endsWith('/') ? abs.slice(0, -1) : abs;
  if (p.startsWith('/')) return clean;
  return clean === '/' ? '' : clean.slice(1);
}

/**
 * OCI linux.cgroupsPath → the cgroup path runt uses:
 *  - absolute ("/a/b"): from the root of every hierarchy (as seen at its mount point);
 *  - relative ("a/b"): returned relative (no leading '/'); createCgroup puts it under runt's own cgroup in
 *    each hierarchy (that per-hierarchy step needs the host, so it happens there);
 *  - none: "/runt-<root tag>/<id>" (defaultParent): two state roots never share a cgroup, even for one id.
 * Like runc's cgroupfs driver, a "slice:prefix:name" path with systemdCgroup=false is not special: it is
 * a relative path whose last component contains colons.
 * systemdCgroup=true needs systemd: `systemdProbe` (default /run/systemd/system) must exist, or
 * DBUS_SYSTEM_BUS_ADDRESS be set (a bus where systemd answers); the path is then that of the scope
 * (systemdUnit), e.g. "/system.slice/runt-x.scope".
 */
export function resolveCgroupsPath(
  cgroupsPath: string | undefined,
  id: string,
  systemdCgroup: boolean,
  root: string,
  systemdProbe = '/run/systemd/system',
): string {
  if (systemdCgroup) {
    if (!fs.existsSync(systemdProbe) && !process.env.DBUS_SYSTEM_BUS_ADDRESS) throw new UserError(SYSTEMD_NOT_RUNNING);
    return scopePath(systemdUnit(cgroupsPath, id));
  }
  if (!cgroupsPath) {
    if (!id || id.includes('/') || id === '.' || id === '..') throw new UserError(`invalid container id ${JSON.stringify(id)}`);
    return `${defaultParent(root)}/${id}`;
  }
  const p = cleanPath(cgroupsPath);
  if (p === '/' || p === '') {
    throw new UserError(
      `linux.cgroupsPath: ${JSON.stringify(cgroupsPath)} names the ${p === '/' ? 'root' : "runtime's own"} cgroup, not a cgroup of the container's own`,
    );
  }
  return p;
}

/**
 * The parent of the default cgroups of the containers under state root `root`: /runt- and the first 12 hex
 * digits of the 64-bit FNV-1a hash of the root's absolute path. Containers of one id under two roots
 * (containerd's namespaces, callers with their own --root) get two cgroups, so neither's `kill --all` or
 * `delete` reaches the other's processes. A top-level dir per root, not one shared /runt above them: the
 * parents a root made are listed in that root (parents.ts) and removed by its last delete, which a parent
 * shared by roots would outlive. The hash tells roots apart; it need not resist a chosen collision (whoever
 * picks both roots runs both runtimes), so not SHA-256: node:crypto costs each create ~4.9 M instructions.
 */
export function defaultParent(root: string): string {
  // 64-bit arithmetic in two 32-bit halves: BigInt's allocates at each step and stays interpreted (the build's
  // JIT policy).
  // FNV's prime is 2^40 + 0x1b3, so hash * prime = hash * 0x1b3 + (lo << 40), and lo << 40 adds lo << 8 to hi.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const bytes = new TextEncoder().encode(path.resolve(root)); // an index loop: a Buffer's iterator costs its first use
  for (let i = 0; i < bytes.length; i++) {
    const x = (lo ^ bytes[i]!) >>> 0;
    const low = x * 0x1b3; // below 2^41: exact in a double
    hi = (Math.imul(hi, 0x1b3) + Math.floor(low / 2 ** 32) + (x << 8)) >>> 0;
    lo = low >>> 0;
  }
  return `/runt-${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0').slice(0, 4)}`;
}

/** The path of `own` relative to the mount's root, as a path under the mount point ('' at the root). */
function ownUnderMount(h: Hierarchy): string {
  const own = cleanPath(h.ownPath) || '/';
  const root = cleanPath(h.root) || '/';
  if (root === '/') return own;
  if (own === root) return '/';
  if (own.startsWith(root + '/')) return own.slice(root.length);
  throw new HostError(`cgroups: this process's cgroup ${own} is not visible under ${h.mountPoint} (mount root ${root})`);
}

/** The directory of cgroup path `cgPath` (from resolveCgroupsPath) in hierarchy `h`. */
export function cgroupDir(h: Hierarchy, cgPath: string): string {
  if (cgPath.startsWith('/')) return path.join(h.mountPoint, cgPath);
  return path.join(h.mountPoint, ownUnderMount(h), cleanPath(cgPath));
}

/** The container's dir in every hierarchy of `host` (mount point → dir): those createCgroup makes. */
export function cgroupDirs(host: CgroupHost, cgPath: string): Record<string, string> {
  return Object.fromEntries(host.hierarchies.map((h) => [h.mountPoint, cgroupDir(h, cgPath)]));
}

export interface SystemdUnit {
  /** The parent slice unit ("system.slice"). */
  slice: string;
  /** Its cgroup path ("a-b.slice" → "/a.slice/a-b.slice"; "-.slice" → "/"). */
  slicePath: string;
  /** The container's scope unit, "<prefix>-<name>.scope". */
  unit: string;
  name: string;
}

/** A systemd unit name: what systemd accepts (letters, digits, ":-_.\\"), at most 255 characters. */
const UNIT_CHARS = /^[A-Za-z0-9:_.\\-]+$/;

/** "a-b.slice" → "/a.slice/a-b.slice", as systemd nests slices; "-.slice" is the root. */
export function expandSlice(slice: string): string {
  const bad = (): never => {
    throw new UserError(`linux.cgroupsPath: invalid slice name ${JSON.stringify(slice)}`);
  };
  if (!slice.endsWith('.slice') || slice === '.slice' || slice.includes('/')) bad();
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-') return '/';
  let out = '';
  let prefix = '';
  for (const part of base.split('-')) {
    if (part === '' || !UNIT_CHARS.test(part)) bad();
    out += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return out;
}

/**
 * linux.cgroupsPath "slice:prefix:name" → the container's scope, as runc reads it: an empty slice is
 * `defaultSlice` (system.slice; user.slice for the user manager, as runc's rootless default); no cgroupsPath
 * at all is "<defaultSlice>:runt:<id>".
 */
export function systemdUnit(cgroupsPath: string | undefined, id: string, defaultSlice = 'system.slice'): SystemdUnit {
  const parts = cgroupsPath ? cgroupsPath.split(':') : ['', 'runt', id];
  if (parts.length !== 3) {
    throw new UserError(`linux.cgroupsPath: expected "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)}`);
  }
  const [sliceGiven, prefix, name] = parts as [string, string, string];
  const slice = sliceGiven || defaultSlice;
  if (name.endsWith('.slice')) throw new UserError(`linux.cgroupsPath: a slice as the container's unit (${name}) is not supported; name a scope`);
  const unit = prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
  if (!name || !UNIT_CHARS.test(unit) || unit.length > 255) {
    throw new UserError(`linux.cgroupsPath: ${JSON.stringify(unit)} is not a valid systemd unit name`);
  }
  return { slice, slicePath: expandSlice(slice), unit, name };
}

/**
 * The scope's cgroup path: its slice's, under `managerCgroup`, the cgroup of the systemd instance that makes
 * it ("" for the system manager; the user manager's is "/user.slice/user-UID.slice/user@UID.service").
 */
export function scopePath(unit: SystemdUnit, managerCgroup = ''): string {
  const base = managerCgroup.replace(/\/$/, '') + (unit.slicePath === '/' ? '' : unit.slicePath);
  return `${base}/${unit.unit}`;
}
