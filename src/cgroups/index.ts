// cgroups: host detection, cgroup v1 and v2 drivers behind one interface, resources, the device filter,
// freezing, usage stats, the cgroup mount.

export { type CgroupHost, type Hierarchy, detectHost, hasControllers, v1Hierarchy, v2Hierarchy } from './host';
export { SYSTEMD_NOT_RUNNING, type SystemdUnit, cgroupDir, cgroupDirs, cleanPath, defaultParent, resolveCgroupsPath, scopePath, systemdUnit } from './path';
export { ASSUME_STANDARD_FILES, type Probe, type Write, type WriteOptions } from './emit';
export { type ResourcePlan, checkSupported, containerResources, resourcePlan, resourceWrites } from './resources';
export { blkioToIoWeight, sharesToWeight, swapToV2 } from './v2';
export { DEFAULT_DEVICE_RULES, checkDeviceRule, containerDeviceRules, deviceRuleV1 } from './devices';
export { deviceFilter, deviceState } from './ebpf';
export { hasFreezer, isFrozen, setFrozen } from './freezer';
export { containerStats, toJson } from './stats';
export { type CgroupMountOp, cgroupMountPlan } from './mount';
export {
  type CgroupSet,
  addProcess,
  applyResourcePlan,
  applyResources,
  applyWrites,
  createCgroup,
  dirFor,
  dirProbe,
  hasCloneIntoCgroup,
  selfJoin,
} from './cgroupfs';
export { removeCgroup } from './remove';

export { recordParents, removeEmptyParents } from './parents';
export { pidsOf } from './procs';
