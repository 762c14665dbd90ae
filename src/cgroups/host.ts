// Host detection: which cgroup hierarchies are mounted where, and where this process sits in each.
// Pure-ish: reads <procRoot>/self/mountinfo, <procRoot>/self/cgroup and, for cgroup2, <mount>/cgroup.controllers.
import * as fs from 'node:fs';
import { errnoOf, HostError, hostFailure } from '../errors';

export interface Hierarchy {
  version: 1 | 2;
  /** Where the hierarchy is mounted (absolute; a tmpdir in tests). */
  mountPoint: string;
  /** The mountinfo "root" field: the cgroup shown at mountPoint. */
  root: string;
  /** v1: from the mount options (cpu, cpuacct, name=systemd...); v2: <mountPoint>/cgroup.controllers. */
  controllers: string[];
  /** This process's cgroup in the hierarchy, from /proc/self/cgroup. */
  ownPath: string;
}

export interface CgroupHost {
  mode: 'v1' | 'v2' | 'hybrid';
  hierarchies: Hierarchy[];
}

/** Mount options of a v1 cgroup mount that are not controllers. */
const NOT_CONTROLLERS = new Set([
  'rw',
  'ro',
  'relatime',
  'noatime',
  'strictatime',
  'nosuid',
  'nodev',
  'noexec',
  'xattr',
  'noprefix',
  'clone_children',
  'cpuset_v2_mode',
  'favordynmods',
  'nofavordynmods',
  'none',
  'all',
]);

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

interface MountEntry {
  root: string;
  mountPoint: string;
  fstype: string;
  superOpts: string[];
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 4) continue;
    out.push({
      root: unescapeMountinfo(f[3]!),
      mountPoint: unescapeMountinfo(f[4]!),
      fstype: f[sep + 1]!,
      superOpts: f[sep + 3]!.split(','),
    });
  }
  return out;
}

interface CgroupLine {
  id: number;
  controllers: string[];
  path: string;
}

/** Parses /proc/<pid>/cgroup ("id:controllers:path"; the path may itself contain ':'). */
export function parseProcCgroup(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const ctl = line.slice(a + 1, b);
    out.push({ id: Number(line.slice(0, a)), controllers: ctl ? ctl.split(',') : [], path: line.slice(b + 1) });
  }
  return out;
}

/** Whether a hierarchy carries at least one real controller (not only a name=... named hierarchy). */
export function hasControllers(h: Hierarchy): boolean {
  return h.version === 2 || h.controllers.some((c) => !c.startsWith('name='));
}

export function v2Hierarchy(host: CgroupHost): Hierarchy | undefined {
  return host.hierarchies.find((h) => h.version === 2);
}

/** The v1 hierarchy carrying `controller`. */
export function v1Hierarchy(host: CgroupHost, controller: string): Hierarchy | undefined {
  return host.hierarchies.find((h) => h.version === 1 && h.controllers.includes(controller));
}

function readProc(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw hostFailure(`cgroups: reading ${file}`, e);
  }
}

export function detectHost(procRoot = '/proc'): CgroupHost {
  const mounts = parseMountinfo(readProc(`${procRoot}/self/mountinfo`));
  const lines = parseProcCgroup(readProc(`${procRoot}/self/cgroup`));
  const byKey = new Map<string, Hierarchy>();

  for (const m of mounts) {
    let h: Hierarchy;
    let key: string;
    if (m.fstype === 'cgroup2') {
      const ctl = readControllers(`${m.mountPoint}/cgroup.controllers`);
      const own = lines.find((l) => l.id === 0 && l.controllers.length === 0);
      h = { version: 2, mountPoint: m.mountPoint, root: m.root, controllers: ctl, ownPath: own?.path ?? '/' };
      key = 'v2';
    } else if (m.fstype === 'cgroup') {
      const opts = new Set(m.superOpts);
      // The /proc/self/cgroup line whose controllers are all among the mount options (the longest such line).
      let best: CgroupLine | undefined;
      for (const l of lines) {
        if (l.controllers.length === 0 || !l.controllers.every((c) => opts.has(c))) continue;
        if (!best || l.controllers.length > best.controllers.length) best = l;
      }
      const ctl = best ? best.controllers : m.superOpts.filter((o) => !NOT_CONTROLLERS.has(o) && (!o.includes('=') || o.startsWith('name=')));
      h = { version: 1, mountPoint: m.mountPoint, root: m.root, controllers: ctl, ownPath: best?.path ?? '/' };
      key = [...ctl].sort().join(',');
    } else continue;
    const seen = byKey.get(key);
    // Several mounts of one hierarchy: keep the first, unless a later one shows the whole hierarchy.
    if (!seen || (seen.root !== '/' && h.root === '/')) byKey.set(key, h);
  }

  const hierarchies = [...byKey.values()];
  if (hierarchies.length === 0) throw new HostError(`cgroups: no cgroup filesystem is mounted (${procRoot}/self/mountinfo)`);
  const hasV2 = hierarchies.some((h) => h.version === 2);
  const hasV1 = hierarchies.some((h) => h.version === 1 && hasControllers(h));
  return { mode: hasV2 ? (hasV1 ? 'hybrid' : 'v2') : 'v1', hierarchies };
}

/** A cgroup2 mount's controllers; none where the file is missing (a cgroup2 mount of a kernel without any). */
function readControllers(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw hostFailure(`cgroups: reading ${file}`, e);
  }
}
