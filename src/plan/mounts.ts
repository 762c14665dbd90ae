// config.md "Mounts": options → mount(2) flags, propagation and data; one mount becomes one or more steps.
import { normalize } from '../sys/path';
import type { LinuxIDMapping, Mount, Spec } from '../spec/generated/types';
import { MS } from './linux';
import { labeledData } from './lsm';
import { ConfigError, step, type HostFacts, type Step } from './types';

interface FlagOption {
  set: boolean; // true: the option sets the flag, false: clears it
  flag: number;
}

const FLAG_OPTIONS: Record<string, FlagOption> = {
  defaults: { set: false, flag: 0 },
  ro: { set: true, flag: MS.rdonly },
  rw: { set: false, flag: MS.rdonly },
  nosuid: { set: true, flag: MS.nosuid },
  suid: { set: false, flag: MS.nosuid },
  nodev: { set: true, flag: MS.nodev },
  dev: { set: false, flag: MS.nodev },
  noexec: { set: true, flag: MS.noexec },
  exec: { set: false, flag: MS.noexec },
  sync: { set: true, flag: MS.synchronous },
  async: { set: false, flag: MS.synchronous },
  dirsync: { set: true, flag: MS.dirsync },
  remount: { set: true, flag: MS.remount },
  mand: { set: true, flag: MS.mandlock },
  nomand: { set: false, flag: MS.mandlock },
  atime: { set: false, flag: MS.noatime },
  noatime: { set: true, flag: MS.noatime },
  diratime: { set: false, flag: MS.nodiratime },
  nodiratime: { set: true, flag: MS.nodiratime },
  relatime: { set: true, flag: MS.relatime },
  norelatime: { set: false, flag: MS.relatime },
  strictatime: { set: true, flag: MS.strictatime },
  nostrictatime: { set: false, flag: MS.strictatime },
  lazytime: { set: true, flag: MS.lazytime },
  nolazytime: { set: false, flag: MS.lazytime },
  iversion: { set: true, flag: MS.iversion },
  noiversion: { set: false, flag: MS.iversion },
  silent: { set: true, flag: MS.silent },
  loud: { set: false, flag: MS.silent },
  nosymfollow: { set: true, flag: MS.nosymfollow },
  symfollow: { set: false, flag: MS.nosymfollow },
  bind: { set: true, flag: MS.bind },
  rbind: { set: true, flag: MS.bind | MS.rec },
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.private,
  rprivate: MS.private | MS.rec,
  shared: MS.shared,
  rshared: MS.shared | MS.rec,
  slave: MS.slave,
  rslave: MS.slave | MS.rec,
  unbindable: MS.unbindable,
  runbindable: MS.unbindable | MS.rec,
};

/** mount_setattr(2) attributes (linux/mount.h). The atime ones are values of the MOUNT_ATTR__ATIME field. */
export const MOUNT_ATTR = {
  rdonly: 0x1,
  nosuid: 0x2,
  nodev: 0x4,
  noexec: 0x8,
  atimeMask: 0x70,
  relatime: 0x0,
  noatime: 0x10,
  strictatime: 0x20,
  nodiratime: 0x80,
  nosymfollow: 0x200000,
} as const;

/** The attributes (set, clear) of a recursive option, as runc's recAttrFlags (an atime value also clears the field). */
const RECURSIVE_OPTIONS: Record<string, { set: number; clr: number }> = {
  rro: { set: MOUNT_ATTR.rdonly, clr: 0 },
  rrw: { set: 0, clr: MOUNT_ATTR.rdonly },
  rnosuid: { set: MOUNT_ATTR.nosuid, clr: 0 },
  rsuid: { set: 0, clr: MOUNT_ATTR.nosuid },
  rnodev: { set: MOUNT_ATTR.nodev, clr: 0 },
  rdev: { set: 0, clr: MOUNT_ATTR.nodev },
  rnoexec: { set: MOUNT_ATTR.noexec, clr: 0 },
  rexec: { set: 0, clr: MOUNT_ATTR.noexec },
  rnodiratime: { set: MOUNT_ATTR.nodiratime, clr: 0 },
  rdiratime: { set: 0, clr: MOUNT_ATTR.nodiratime },
  rnosymfollow: { set: MOUNT_ATTR.nosymfollow, clr: 0 },
  rsymfollow: { set: 0, clr: MOUNT_ATTR.nosymfollow },
  // mount(8)'s meanings: "atime" and "nostrictatime" give the kernel's default (relatime), "norelatime" strictatime
  rrelatime: { set: MOUNT_ATTR.relatime, clr: MOUNT_ATTR.atimeMask },
  rnorelatime: { set: MOUNT_ATTR.strictatime, clr: MOUNT_ATTR.atimeMask },
  rnoatime: { set: MOUNT_ATTR.noatime, clr: MOUNT_ATTR.atimeMask },
  ratime: { set: MOUNT_ATTR.relatime, clr: MOUNT_ATTR.atimeMask },
  rstrictatime: { set: MOUNT_ATTR.strictatime, clr: MOUNT_ATTR.atimeMask },
  rnostrictatime: { set: MOUNT_ATTR.relatime, clr: MOUNT_ATTR.atimeMask },
};

/** Id-mapped bind mounts (config.md "Mounts" uidMappings/gidMappings): the top mount only, or every mount of the tree. */
const IDMAP_OPTIONS: Record<string, 'top' | 'recursive'> = { idmap: 'top', ridmap: 'recursive' };

/** A tmpfs mount gets what its target directory held before (as runc and crun do): the shim's `copyup`. */
const TMPCOPYUP = 'tmpcopyup';

export interface MountOptions {
  flags: number;
  /** Flags an option cleared explicitly (`rw`, `suid`, ...), as runc's ClearedFlags. */
  cleared: number;
  propagation: number[];
  data: string;
  copyUp: boolean;
  /** mount_setattr attributes for the whole tree of a bind mount (the r* options). */
  recursive: { set: number; clr: number };
  idmap?: 'top' | 'recursive';
}

export function parseMountOptions(options: string[] | undefined): MountOptions {
  let flags = 0;
  let cleared = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let copyUp = false;
  const recursive = { set: 0, clr: 0 };
  let idmap: MountOptions['idmap'];
  for (const option of options ?? []) {
    const flag = FLAG_OPTIONS[option];
    const rec = RECURSIVE_OPTIONS[option];
    if (option === TMPCOPYUP) {
      copyUp = true;
    } else if (flag) {
      flags = flag.set ? flags | flag.flag : flags & ~flag.flag;
      cleared = flag.set ? cleared & ~flag.flag : cleared | flag.flag;
    } else if (option in PROPAGATION_OPTIONS) {
      propagation.push(PROPAGATION_OPTIONS[option]!);
    } else if (rec) {
      recursive.set = (recursive.set & ~rec.clr & ~rec.set) | rec.set;
      recursive.clr = (recursive.clr & ~rec.set) | rec.clr;
    } else if (option in IDMAP_OPTIONS) {
      idmap = IDMAP_OPTIONS[option];
    } else {
      data.push(option);
    }
  }
  return { flags, cleared, propagation, data: data.join(','), copyUp, recursive, idmap };
}

export function isBindMount(mount: Mount): boolean {
  return mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** The MS_* flags of a mount itself (not of its filesystem) and their mount_setattr attribute. */
const VFS_ATTRS: [number, number][] = [
  [MS.rdonly, MOUNT_ATTR.rdonly],
  [MS.nosuid, MOUNT_ATTR.nosuid],
  [MS.nodev, MOUNT_ATTR.nodev],
  [MS.noexec, MOUNT_ATTR.noexec],
  [MS.nodiratime, MOUNT_ATTR.nodiratime],
  [MS.nosymfollow, MOUNT_ATTR.nosymfollow],
];

/**
 * The attributes (set, clear) a bind mount's own options give its top mount, set before it is attached. As
 * runc's remount after a bind (`mount --bind -o ...`): nothing changes when no flag option is given; otherwise
 * the mount gets the flags asked for, `ro` and `nosymfollow` are cleared unless asked for, an atime flag
 * replaces the mount's atime setting (and `nodiratime`), and nosuid, nodev and noexec are kept unless an
 * option clears them (`suid`, `dev`, `exec`: in a user namespace the kernel locks them, runt never clears
 * them silently).
 */
export function bindAttributes(opts: MountOptions): { set: number; clr: number } {
  const asked = opts.flags & ~(MS.bind | MS.rec | MS.remount);
  if (!asked && !opts.cleared) return { set: 0, clr: 0 };
  let set = 0;
  let clr = MOUNT_ATTR.rdonly | MOUNT_ATTR.nosymfollow;
  for (const [ms, attr] of VFS_ATTRS) {
    if (opts.flags & ms) set |= attr;
    if (opts.cleared & ms) clr |= attr;
  }
  const atime =
    opts.flags & MS.strictatime
      ? MOUNT_ATTR.strictatime
      : opts.flags & MS.noatime
        ? MOUNT_ATTR.noatime
        : opts.flags & MS.relatime
          ? MOUNT_ATTR.relatime
          : undefined;
  if (atime !== undefined) {
    set |= atime;
    clr |= MOUNT_ATTR.atimeMask | MOUNT_ATTR.nodiratime;
  }
  // an atime value is set with the whole atime field cleared (mount_setattr(2))
  return { set, clr: (clr & ~set) | (atime === undefined ? 0 : MOUNT_ATTR.atimeMask) };
}

/** Absolute host path of a mount's source: relative sources are relative to the bundle. */
export function mountSource(source: string | undefined, bundle: string): string {
  if (!source) return '';
  return source.startsWith('/') ? source : `${bundle}/${source}`;
}

/**
 * Filesystems whose target may not be a symlink (CVE-2019-19921, CVE-2023-27561): the shim refuses one at the
 * last component instead of following it (in the rootfs), so a procfs or sysfs never lands where the image's
 * link points, e.g. on a volume whose files the runtime would take for proc files.
 */
const NOFOLLOW_TYPES = new Set(['proc', 'sysfs']);

/** Files under /proc a mount may cover, as runc's checkProcMount: those lxcfs emulates. */
const PROC_FILES_MOUNTABLE = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
]);

/**
 * runc's checkProcMount on the destination as written: /proc takes a procfs only (a proc mount, or a bind of a
 * procfs), nothing else under /proc may be covered but the files lxcfs emulates. The shim checks the target as
 * resolved in the rootfs (`procguard`): one that a symlink of the image leads into /proc is refused there.
 */
function checkProcTarget(mount: Mount, target: string, field: string, host: HostFacts, source: string): void {
  if (target === '/proc') {
    const procfs = isBindMount(mount) ? host.isProcfs(source) : mount.type === 'proc';
    if (!procfs) throw new ConfigError(`${field}.destination: "/proc" cannot be mounted because it is not of type proc`);
  } else if (target.startsWith('/proc/') && !PROC_FILES_MOUNTABLE.has(target)) {
    throw new ConfigError(`${field}.destination: "${target}" cannot be mounted because it is inside /proc`);
  }
}

/**
 * MOUNT's and BIND's extras field (native-shim/README.md): the checks of the target, tmpcopyup, and the
 * propagation flags (`prop=N`), which the shim applies to the mount it made, never found again by path alone.
 */
function extras(fstype: string, opts: MountOptions): string {
  return [
    'procguard',
    ...(NOFOLLOW_TYPES.has(fstype) ? ['nofollow'] : []),
    ...(opts.copyUp ? ['copyup'] : []),
    ...opts.propagation.map((flags) => `prop=${flags}`),
  ].join(',');
}

/** A mount's destination, cleaned as runc does (`//`, `.`, `..` and a trailing `/` removed). */
export function cleanDestination(destination: string, field: string): string {
  if (!destination.startsWith('/')) throw new ConfigError(`${field}.destination: must be an absolute path, got "${destination}"`);
  return normalize(destination).replace(/(.)\/+$/, '$1');
}

/**
 * A bind mount as one BIND step: the source's tree cloned detached (`open_tree`), its attributes set on it
 * (`mount_setattr`), then attached at the target (`move_mount`), so no flag is ever applied through a path
 * looked up again. `tree`: the detached id-mapped tree an IDMAP_TREE step of the parent made, or -1.
 */
export function bindStep(source: string, target: string, kind: 'dir' | 'file', opts: MountOptions, tree: number, field?: string): Step {
  const top = bindAttributes(opts);
  return step(
    'BIND',
    [source, target, kind, opts.flags & MS.rec ? 1 : 0, top.set, top.clr, opts.recursive.set, opts.recursive.clr, tree, extras('', opts)],
    field,
  );
}

/**
 * Steps for one entry of config.json mounts (not cgroup mounts: see cgroupMountSteps). `tree`: see bindStep.
 * `label`: the checked linux.mountLabel, the `context=` of the filesystems that take one.
 */
export function mountSteps(mount: Mount, field: string, bundle: string, host: HostFacts, tree = -1, label?: string): Step[] {
  const opts = parseMountOptions(mount.options);
  const target = cleanDestination(mount.destination, field);
  const bind = isBindMount(mount);
  const source = bind ? mountSource(mount.source, bundle) : '';
  checkProcTarget(mount, target, field, host, source);
  if (opts.copyUp && (bind || mount.type !== 'tmpfs')) {
    throw new ConfigError(`${field}.options[${mount.options!.indexOf(TMPCOPYUP)}]: mount option "${TMPCOPYUP}" is for tmpfs mounts only`);
  }
  if (!bind) {
    const named = (mount.options ?? []).find((o) => o in RECURSIVE_OPTIONS || o in IDMAP_OPTIONS);
    if (named) throw new ConfigError(`${field}.options[${mount.options!.indexOf(named)}]: mount option "${named}" is for bind mounts only`);
    const fstype = mount.type ?? '';
    if (!fstype) throw new ConfigError(`${field}.type: a mount that is not a bind mount needs a type`);
    const data = labeledData(fstype, opts.data, label);
    return [step('MOUNT', [mount.source ?? fstype, target, fstype, opts.flags, data, 'dir', extras(fstype, opts)], field)];
  }
  if (!source) throw new ConfigError(`${field}.source: a bind mount needs a source`);
  const kind = host.kindOf(source);
  if (kind === 'missing') throw new ConfigError(`${field}.source: ${source}: no such file or directory`);
  return [bindStep(source, target, kind, opts, tree, field)];
}

/** Whether a mount is id-mapped (config.md: `idmap`/`ridmap`, or uidMappings/gidMappings of its own). */
export function isIdmapped(mount: Mount): boolean {
  return Boolean(mount.uidMappings || mount.gidMappings || (mount.options ?? []).some((o) => o in IDMAP_OPTIONS));
}

/** A uid_map/gid_map file's contents. */
function mapText(mappings: LinuxIDMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * IDMAP_TREE steps (the parent's segment, in the runtime's user namespace: only there may a mount of the host's
 * filesystems be id-mapped) for the id-mapped bind mounts, in order: the n-th makes tree n. The mappings are the
 * mount's own, else the container's (as runc). runc's refusals: bind mounts only, both maps, not rootless.
 */
export function idmapTreeSteps(spec: Spec, bundle: string, rootless: boolean): Step[] {
  const steps: Step[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    if (!isIdmapped(m)) return;
    const field = `mounts[${i}]`;
    if (!isBindMount(m)) throw new ConfigError(`${field}: id-mapped mounts are only supported for bind mounts`);
    if (rootless) throw new ConfigError(`${field}: id-mapped mounts are not supported for rootless containers`);
    const uid = m.uidMappings ?? (m.gidMappings ? undefined : spec.linux?.uidMappings);
    const gid = m.gidMappings ?? (m.uidMappings ? undefined : spec.linux?.gidMappings);
    if (!uid?.length || !gid?.length) throw new ConfigError(`${field}: id-mapped mounts must have both uidMappings and gidMappings (or the container's own)`);
    const opts = parseMountOptions(m.options);
    const recursiveIdmap = opts.idmap === 'recursive' ? 1 : 0;
    steps.push(step('IDMAP_TREE', [mountSource(m.source, bundle), opts.flags & MS.rec ? 1 : 0, recursiveIdmap, mapText(uid), mapText(gid)], field));
  });
  return steps;
}

/** The propagation runc gives the container's mount tree before the rootfs is set up (default rslave). */
export function rootPropagation(rootfsPropagation: string | undefined): number {
  if (!rootfsPropagation) return MS.slave | MS.rec;
  const flags = PROPAGATION_OPTIONS[rootfsPropagation];
  if (flags === undefined) {
    throw new ConfigError(`linux.rootfsPropagation: "${rootfsPropagation}" is not one of ${Object.keys(PROPAGATION_OPTIONS).join(', ')}`);
  }
  return flags;
}

/**
 * The rootfs steps around linux.rootfsPropagation, as runc: "/" gets it first (the copy of the runtime's tree no
 * longer propagates to it, or as asked); the mount the rootfs is on becomes private (slave for the slave values)
 * so that the rootfs's bind neither propagates to the host nor makes pivot_root fail (it refuses a shared
 * parent) nor is refused (an unbindable source); the shared and unbindable values are given to the new "/"
 * after pivot_root (`after`).
 */
export function rootfsPropagationSteps(rootfsPropagation: string | undefined, rootfs: string): { before: Step[]; after: Step[] } {
  const field = 'linux.rootfsPropagation';
  const flags = rootPropagation(rootfsPropagation);
  const parent = rootfsPropagation && flags & MS.slave ? MS.slave : MS.private;
  const before = [step('MOUNT_PATH', ['', '/', '', flags, ''], field), step('PROPAGATE_PARENT', [rootfs, parent], field)];
  const after = rootfsPropagation && !(flags & (MS.private | MS.slave)) ? [step('MOUNT_PATH', ['', '/', '', flags, ''], field)] : [];
  return { before, after };
}

/** Every mount option runt understands (features.md "mountOptions"). */
export const MOUNT_OPTIONS = [
  ...Object.keys(FLAG_OPTIONS),
  ...Object.keys(PROPAGATION_OPTIONS),
  ...Object.keys(RECURSIVE_OPTIONS),
  ...Object.keys(IDMAP_OPTIONS),
  TMPCOPYUP,
];
