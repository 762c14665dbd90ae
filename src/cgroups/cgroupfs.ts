// The cgroupfs driver: makes, fills, joins and removes the container's cgroup directories.
import * as fs from 'node:fs';
import { splitCgroupJoin, type CgroupJoin } from '../plan/cgroup-join';
import type { LinuxResources } from '../spec/generated/types';
import { errnoText, HostError, UserError } from '../errors';
import { fail, type HierarchyDriver, type Probe, type Write } from './emit';
import { errnoOf, mkdirP, readTrim, sleepMs, writeCgroupFile } from './fs';
import { type CgroupHost, type Hierarchy, v1Hierarchy, v2Hierarchy } from './host';
import { isFrozen } from './freezer';
import { cgroupDir } from './path';
import { pidsOf } from './procs';
import { removeCgroup } from './remove';
import { kernelRelease, releaseAtLeast } from '../sys/kernel';
import { type ResourcePlan, resourcePlan } from './resources';
import { v1Driver } from './v1';
import { v2Driver } from './v2';

export interface CgroupSet {
  /** key: a hierarchy's mountPoint; value: the absolute dir of the container's cgroup in it. */
  dirs: Record<string, string>;
  /** Dirs runt made, outermost first per hierarchy (so deepest last); the only ones removeCgroup removes. */
  created: string[];
  /** With --systemd-cgroup: the scope unit systemd made for the container (delete stops it, update sets it). */
  systemdUnit?: string;
  /** Rootless with --systemd-cgroup: the user manager made the unit (absent: the system manager). */
  systemdInstance?: 'user';
}

const driverOf = (h: Hierarchy): HierarchyDriver => (h.version === 1 ? v1Driver : v2Driver);

/**
 * mkdir -p of cgroup path `cgPath` (from resolveCgroupsPath; a relative one goes under this process's own
 * cgroup) in every mounted hierarchy: each v1 one, named ones (name=systemd) included, as runc does, since a
 * systemd in the container finds itself through its cgroup there, and the cgroup2 one (hybrid too, so the
 * container shows there). On a pure v2 host, ancestors delegate their controllers via cgroup.subtree_control.
 * A cgroup that holds processes or is frozen is refused (checkUnused).
 * On failure, whatever was made is removed again.
 */
export function createCgroup(host: CgroupHost, cgPath: string, ownPid?: number): CgroupSet {
  const set: CgroupSet = { dirs: {}, created: [] };
  let where = '';
  try {
    for (const h of host.hierarchies) {
      where = h.mountPoint;
      const dir = cgroupDir(h, cgPath);
      mkdirP(dir, set.created);
      set.dirs[h.mountPoint] = dir;
      driverOf(h).prepare(host, h, dir);
    }
    where = '';
    checkUnused(set, ownPid);
  } catch (e) {
    try {
      removeCgroup(set);
    } catch {
      // the original error matters more
    }
    // runt's own bug keeps its stack; what the host refused says where
    if (!(e instanceof UserError)) throw e;
    throw new HostError(`cgroups: ${where ? `creating ${cgPath} in ${where}` : cgPath}: ${e.message}`, errnoOf(e));
  }
  return set;
}

/**
 * runc's refusals (with its texts): a container's cgroup that already holds processes (in it or below it, in
 * any hierarchy), or is frozen. Its processes would be taken for the container's: `kill --all` and `delete`
 * signal every process in the container's cgroup, and a frozen one would stop the container's own. Only a
 * cgroup that existed can hold processes (pidsOf is not asked for new ones); a frozen parent freezes new
 * ones too. `ownPid`: the container's own process, already there (systemd's scope is made with it).
 */
function checkUnused(set: CgroupSet, ownPid?: number): void {
  const existing = Object.entries(set.dirs).filter(([, dir]) => !set.created.includes(dir));
  const pids = existing.length ? pidsOf({ dirs: Object.fromEntries(existing), created: [] }).filter((p) => p !== ownPid).length : 0;
  if (pids) throw new HostError(`container's cgroup is not empty: ${pids} process(es) found`);
  if (isFrozen(set)) throw new HostError("container's cgroup unexpectedly frozen");
}

/** The container's dir in the hierarchy where `controller`'s files of cgroup `version` are. */
export function dirFor(host: CgroupHost, set: Pick<CgroupSet, 'dirs'>, version: 1 | 2, controller: string): string | undefined {
  const h = version === 1 ? v1Hierarchy(host, controller) : v2Hierarchy(host);
  return h ? set.dirs[h.mountPoint] : undefined;
}

/** A probe that looks in the container's own cgroup dirs. */
export function dirProbe(host: CgroupHost, set: Pick<CgroupSet, 'dirs'>): Probe {
  return {
    exists(version, controller, file) {
      const dir = dirFor(host, set, version, controller);
      return dir !== undefined && fs.existsSync(`${dir}/${file}`);
    },
  };
}

/** What the kernel means by refusing a cgroup write, where its errno's own words are too general. */
const REFUSAL: Partial<Record<string, string>> = {
  EINVAL: 'EINVAL (value refused by the kernel)',
  ERANGE: 'ERANGE (out of the range this host has)',
  EBUSY: 'EBUSY (the kernel cannot apply it now, e.g. a limit below the current usage)',
};

/** Performs `writes` in order (see Write.retryAfterNext and Write.verify); errors name the OCI field. */
export function applyWrites(host: CgroupHost, set: CgroupSet, writes: Write[]): void {
  const fileOf = (w: Write): string => {
    const dir = dirFor(host, set, w.version, w.controller);
    if (!dir) throw new HostError(`${w.field}: the container has no cgroup for the ${w.controller} controller`);
    return `${dir}/${w.file}`;
  };
  const raw = (w: Write): void => writeCgroupFile(fileOf(w), w.value);
  /** The kernel's refusal of a write, naming the field: the user can change the value or the host. */
  const failed = (w: Write, e: unknown): Error => {
    const code = errnoOf(e);
    if (!code) return e as Error;
    return new HostError(`${w.field}: cannot write ${JSON.stringify(w.value)} to ${fileOf(w)}: ${REFUSAL[code] ?? errnoText(code)}`, code);
  };
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i]!;
    if (w.usageFile) {
      const usage = readTrim(fileOf({ ...w, file: w.usageFile }));
      if (usage !== undefined && /^\d+$/.test(usage) && BigInt(usage) >= BigInt(w.value)) {
        fail(w.field, `rejecting a limit of ${w.value} at or below the current usage ${usage} (memory.checkBeforeUpdate)`);
      }
    }
    try {
      raw(w);
    } catch (e) {
      const next = writes[i + 1];
      if (!(w.retryAfterNext && next && errnoOf(e) === 'EINVAL')) throw failed(w, e);
      try {
        raw(next);
      } catch (e2) {
        throw failed(next, e2);
      }
      try {
        raw(w);
      } catch (e3) {
        throw failed(w, e3);
      }
      i++;
    }
    if (w.verify) {
      const back = readTrim(fileOf(w));
      if (back !== w.value) throw new HostError(`${w.field}: the kernel set ${w.file} to ${back} instead of ${w.value}`);
    }
  }
}

/**
 * Applies linux.resources to the container's cgroup: resourcePlan (probing the real dirs), then
 * applyResourcePlan. Throws a UserError naming the field for anything the host cannot apply. Returns warnings
 * for the caller to print (ignored kernel memory settings).
 */
export function applyResources(host: CgroupHost, set: CgroupSet, r: LinuxResources | undefined): string[] {
  if (!r) return [];
  const warnings: string[] = [];
  applyResourcePlan(host, set, resourcePlan(host, r, { probe: dirProbe(host, set), warnings }));
  return warnings;
}

/** Each write of `plan`, then on cgroup v2 the device program. */
export function applyResourcePlan(host: CgroupHost, set: CgroupSet, plan: ResourcePlan): void {
  applyWrites(host, set, plan.writes);
  if (plan.deviceProgram) attachDeviceFilter(host, set, plan.deviceProgram);
}

/**
 * Loads the device program and attaches it to the container's v2 cgroup (with BPF_F_ALLOW_MULTI, so the
 * programs of the cgroups above still apply too). Done by runt itself before the container's process joins
 * the cgroup: the attachment lives with the cgroup, and the program's fd can be closed right after.
 */
function attachDeviceFilter(host: CgroupHost, set: CgroupSet, insns: Uint8Array): void {
  const field = 'linux.resources.devices';
  const dir = dirFor(host, set, 2, 'devices');
  if (!dir) throw new HostError(`${field}: the container has no cgroup v2 directory`);
  const native = require('../sys/native') as typeof import('../sys/native');
  const cgroupFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const progFd = native.loadDeviceProgram(insns, 'Apache', 'runt_devices');
    try {
      native.attachProgram(cgroupFd, progFd, native.BPF_CGROUP_DEVICE, native.BPF_F_ALLOW_MULTI);
    } finally {
      fs.closeSync(progFd);
    }
  } catch (e) {
    // the SysError's own text: it carries the verifier's log
    if (!errnoOf(e)) throw e;
    throw new HostError(`${field}: cannot attach the device filter (BPF_CGROUP_DEVICE) to ${dir}: ${(e as Error).message}`, errnoOf(e));
  } finally {
    fs.closeSync(cgroupFd);
  }
}

/** Writes `pid` into cgroup.procs of every dir of the set (retrying EINVAL: a task still being forked). */
export function addProcess(set: Pick<CgroupSet, 'dirs'>, pid: number): void {
  for (const dir of Object.values(set.dirs)) {
    for (let attempt = 0; ; attempt++) {
      try {
        writeCgroupFile(`${dir}/cgroup.procs`, String(pid));
        break;
      } catch (e) {
        if (errnoOf(e) === 'EINVAL' && attempt < 5) {
          sleepMs(30);
          continue;
        }
        const code = errnoOf(e);
        if (!code) throw e;
        throw new HostError(`cgroups: cannot add pid ${pid} to ${dir}: ${errnoText(code)}`, code);
      }
    }
  }
}

/** clone3 with CLONE_INTO_CGROUP: Linux 5.7. */
export function hasCloneIntoCgroup(): boolean {
  return releaseAtLeast(kernelRelease(), 5, 7);
}

/**
 * How a process joins the existing dirs of `set` by itself (splitCgroupJoin): a dir with a `tasks` file is
 * v1's. `clone3`: the caller allows CLONE_INTO_CGROUP. `left`: the dirs the runtime still adds the pid to
 * (addProcess).
 */
export function selfJoin(set: CgroupSet, clone3: boolean): { join: CgroupJoin; left: CgroupSet } {
  const dirs = Object.entries(set.dirs).map(([mountPoint, dir]) => ({ mountPoint, dir, version: fs.existsSync(`${dir}/tasks`) ? (1 as const) : (2 as const) }));
  const { join, left } = splitCgroupJoin(dirs, clone3 && hasCloneIntoCgroup());
  return { join, left: { dirs: left, created: [] } };
}
