// config.md "Mounts": options → mount(2) flags, propagation and data; one mount becomes one or more steps.
import type { Mount } from '../spec/types';
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

/** Options runc accepts that need features runt does not have yet: refused by name, never ignored. */
const UNSUPPORTED_OPTIONS = new Set(['idmap', 'ridmap', 'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev',
  'rnoexec', 'rexec', 'rnodiratime', 'rdiratime', 'rrelatime', 'rnorelatime', 'rnoatime', 'ratime',
  'rstrictatime', 'rnostrictatime', 'rnosymfollow', 'rsymfollow']);

/** A tmpfs mount gets what its target directory held before (as runc and crun do): the shim's `copyup`. */
const TMPCOPYUP = 'tmpcopyup';

export interface MountOptions {
  flags: number;
  propagation: number[];
  data: string;
  copyUp: boolean;
}

export function parseMountOptions(options: string[] | undefined, field: string): MountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let copyUp = false;
  for (const [i, option] of (options ?? []).entries()) {
    const flag = FLAG_OPTIONS[option];
    if (option === TMPCOPYUP) {
      copyUp = true;
    } else if (flag) {
      flags = flag.set ? flags | flag.flag : flags & ~flag.flag;
    } else if (option in PROPAGATION_OPTIONS) {
      propagation.push(PROPAGATION_OPTIONS[option]!);
    } else if (UNSUPPORTED_OPTIONS.has(option)) {
      throw new ConfigError(`${field}.options[${i}]: mount option "${option}" is not supported by runt`);
    } else {
      data.push(option);
    }
  }
  return { flags, propagation, data: data.join(','), copyUp };
}

export function isBindMount(mount: Mount): boolean {
  return mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** Flags a bind mount can only get through a second, remount call. */
const BIND_REMOUNT_FLAGS = MS.rdonly | MS.nosuid | MS.nodev | MS.noexec | MS.noatime | MS.nodiratime |
  MS.relatime | MS.strictatime | MS.nosymfollow;

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

/** MOUNT's optional last field (native-shim/README.md): none for most mounts, so their steps stay as they were. */
function mountExtras(fstype: string, copyUp: boolean): string[] {
  const extras = [...(NOFOLLOW_TYPES.has(fstype) ? ['nofollow'] : []), ...(copyUp ? ['copyup'] : [])];
  return extras.length ? [extras.join(',')] : [];
}

/**
 * Steps for one entry of config.json mounts (not cgroup mounts: see cgroupMountSteps). `label`: the checked
 * linux.mountLabel, the `context=` of the filesystems that take one.
 */
export function mountSteps(mount: Mount, field: string, bundle: string, host: HostFacts, label?: string): Step[] {
  const opts = parseMountOptions(mount.options, field);
  const target = mount.destination;
  if (!target.startsWith('/')) throw new ConfigError(`${field}.destination: must be an absolute path, got "${target}"`);
  const steps: Step[] = [];
  if (opts.copyUp && (isBindMount(mount) || mount.type !== 'tmpfs')) {
    throw new ConfigError(`${field}.options[${mount.options!.indexOf(TMPCOPYUP)}]: mount option "${TMPCOPYUP}" is for tmpfs mounts only`);
  }
  if (isBindMount(mount)) {
    const source = mountSource(mount.source, bundle);
    if (!source) throw new ConfigError(`${field}.source: a bind mount needs a source`);
    const kind = host.kindOf(source);
    if (kind === 'missing') throw new ConfigError(`${field}.source: ${source}: no such file or directory`);
    const bindFlags = MS.bind | (opts.flags & MS.rec);
    steps.push(step('MOUNT', [source, target, '', bindFlags, '', kind], field));
    const remountFlags = opts.flags & BIND_REMOUNT_FLAGS;
    if (remountFlags) steps.push(step('REMOUNT', [target, MS.bind | remountFlags], field));
  } else {
    const fstype = mount.type ?? '';
    if (!fstype) throw new ConfigError(`${field}.type: a mount that is not a bind mount needs a type`);
    const data = labeledData(fstype, opts.data, label);
    steps.push(step('MOUNT', [mount.source ?? fstype, target, fstype, opts.flags, data, 'dir', ...mountExtras(fstype, opts.copyUp)], field));
  }
  for (const flags of opts.propagation) steps.push(step('REMOUNT', [target, flags], field));
  return steps;
}

/** The propagation of the container's mount tree ("/") before the rootfs is set up: runc's default rslave. */
export function rootPropagation(rootfsPropagation: string | undefined): number {
  if (!rootfsPropagation) return MS.slave | MS.rec;
  const flags = PROPAGATION_OPTIONS[rootfsPropagation];
  if (flags === undefined) {
    throw new ConfigError(`linux.rootfsPropagation: "${rootfsPropagation}" is not one of ${Object.keys(PROPAGATION_OPTIONS).join(', ')}`);
  }
  return flags;
}


/** Every mount option runt understands (features.md "mountOptions"). */
export const MOUNT_OPTIONS = [...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION_OPTIONS), TMPCOPYUP];
