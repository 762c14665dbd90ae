// cgroups: host detection, cgroup v1 and v2 drivers behind one interface, resources, the device filter,
// freezing, usage stats, the cgroup mount.
import type { LinuxResources } from '../spec/types';
import { type CgroupSet, addProcess, applyResources, createCgroup, pidsOf, removeCgroup } from './cgroupfs';
import type { CgroupHost } from './host';

export { type CgroupHost, type Hierarchy, detectHost, hasControllers, v1Hierarchy, v2Hierarchy } from './host';
export { SYSTEMD_NOT_RUNNING, cgroupDir, cleanPath, resolveCgroupsPath } from './path';
export { type Probe, type Write, type WriteOptions } from './emit';
export { type ResourcePlan, checkSupported, resourcePlan, resourceWrites } from './resources';
export { blkioToIoWeight, sharesToWeight, swapToV2 } from './v2';
export { DEFAULT_DEVICE_RULES, checkDeviceRule, containerDeviceRules, deviceRuleV1 } from './devices';
export { deviceFilter, deviceState } from './ebpf';
export { hasFreezer, isFrozen, setFrozen } from './freezer';
export { containerStats, toJson } from './stats';
export { type CgroupMountOp, cgroupMountPlan } from './mount';
export { type CgroupSet, addProcess, applyResources, applyWrites, createCgroup, dirProbe, pidsOf, removeCgroup } from './cgroupfs';

/**
 * A cgroup manager as the commands use it. 'cgroupfs' writes the cgroup filesystem directly (v1, v2 or
 * hybrid, chosen per hierarchy); a 'systemd' one (transient units over D-Bus) can implement the same shape.
 */
export interface CgroupManager {
  readonly driver: 'cgroupfs' | 'systemd';
  create(host: CgroupHost, cgPath: string): CgroupSet;
  /** Returns warnings to print. */
  apply(host: CgroupHost, set: CgroupSet, r: LinuxResources | undefined): string[];
  addProcess(set: CgroupSet, pid: number): void;
  pids(host: CgroupHost, set: CgroupSet): number[];
  remove(set: CgroupSet): void;
}

export const cgroupfsManager: CgroupManager = {
  driver: 'cgroupfs',
  create: createCgroup,
  apply: applyResources,
  addProcess,
  pids: pidsOf,
  remove: removeCgroup,
};
export { recordParents, removeEmptyParents } from './parents';
