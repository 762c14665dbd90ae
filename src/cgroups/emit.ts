// Shared by the v1 and v2 translators: the Write record, the probe, and the checks that name OCI fields.
import type { LinuxHugepageLimit, LinuxRdma, LinuxResources, LinuxThrottleDevice } from '../spec/generated/types';
import { v1Hierarchy, v2Hierarchy, type CgroupHost, type Hierarchy } from './host';
import { UserError } from '../errors';

/** One cgroup file write, in order. `field` names the OCI field it comes from (for error messages). */
export interface Write {
  version: 1 | 2;
  /** v1: the controller whose hierarchy gets the write; v2: the controller the file belongs to. */
  controller: string;
  file: string;
  value: string;
  field: string;
  /** If the kernel refuses this write with EINVAL, write the next one first and then retry this one. */
  retryAfterNext?: boolean;
  /** Read the file back after writing; a different value (the kernel clamped it) is an error. */
  verify?: boolean;
  /**
   * memory.checkBeforeUpdate: the file (same controller) holding the current usage; the write is refused
   * when the usage is at or above the new value.
   */
  usageFile?: string;
}

/** Answers "does this file exist in the container's cgroup?" (applyResources looks at the real dirs). */
export interface Probe {
  exists(version: 1 | 2, controller: string, file: string): boolean;
}

export interface WriteOptions {
  probe?: Probe;
  /** Collects warnings (settings that are ignored on purpose), for the caller to print. */
  warnings?: string[];
}

/**
 * Files that exist only with some I/O schedulers (BFQ) or newer kernels (hugetlb reservations, cpu.idle):
 * without a probe they are assumed absent.
 */
const isOptionalFile = (file: string): boolean => file.includes('.bfq.') || (file.startsWith('hugetlb.') && file.includes('.rsvd.'));
export const ASSUME_STANDARD_FILES: Probe = { exists: (_v, _c, file) => !isOptionalFile(file) };

export interface Ctx {
  host: CgroupHost;
  probe: Probe;
  warnings: string[];
  out: Write[];
  /** cgroup v2 only: the BPF_CGROUP_DEVICE program (encoded instructions) for linux.resources.devices. */
  deviceProgram?: Uint8Array;
}

export function fail(field: string, msg: string): never {
  throw new UserError(`${field}: ${msg}`);
}

/** Present in the config: not undefined and not JSON null. */
export function given<T>(v: T | null | undefined): v is T {
  return v !== undefined && v !== null;
}

/**
 * Set and not 0. runc reads 0 as "not set" for most numeric resource fields, and engines rely on it: Docker
 * 20.10 writes `blockIO.weight: 0` and `cpu.shares: 0` into every config, and `memory.limit`, `reservation`,
 * `kernel`, `cpu.shares`, `quota`, `period` and `blockIO.weight` at 0 into every `docker update` request for
 * what the user did not ask to change. Such a field changes nothing (on update: the current value stays); a
 * value that is set is still checked.
 */
export function nonZero(v: number | null | undefined): v is number {
  return given(v) && v !== 0;
}

/**
 * memory.swappiness, set: Docker (and runc's own config) spell "not set" as -1, which the uint64 field
 * carries as 2^64-1 (read by JSON.parse as 2^64). runc skips it too; other values are checked (0-100).
 */
export function swappinessSet(v: number | null | undefined): v is number {
  return given(v) && v !== -1 && v < 2 ** 64;
}

/** An integer as the decimal string the kernel reads (exact for values beyond 2^53 too). */
export function int(field: string, v: number): string {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, `not an integer: ${JSON.stringify(v)}`);
  return BigInt(v).toString();
}

function hint(version: 1 | 2, controller: string, file: string): string {
  if (file === 'memory.memsw.limit_in_bytes') return ' (swap accounting is off: boot the kernel with swapaccount=1)';
  if (file.startsWith('cpu.rt_')) return ' (the kernel has no CONFIG_RT_GROUP_SCHED)';
  if (file.startsWith('hugetlb.')) return ' (is that page size supported by this kernel?)';
  if (version === 2) return ` (is the ${controller} controller enabled in the parent's cgroup.subtree_control?)`;
  return '';
}

/** Whether the host has the controller where this version's writes go. */
export function hasController(host: CgroupHost, version: 1 | 2, controller: string): boolean {
  if (version === 1) return v1Hierarchy(host, controller) !== undefined;
  return v2Hierarchy(host)?.controllers.includes(controller) ?? false;
}

export function requireController(ctx: Ctx, version: 1 | 2, controller: string, field: string): void {
  if (hasController(ctx.host, version, controller)) return;
  if (version === 1) fail(field, `the ${controller} cgroup controller is not mounted on this host (cgroup v1)`);
  fail(
    field,
    `the ${controller} controller is not available in cgroup v2 on this host (cgroup.controllers: ${v2Hierarchy(ctx.host)?.controllers.join(' ') || 'none'})`,
  );
}

export function requireFile(ctx: Ctx, version: 1 | 2, controller: string, file: string, field: string): void {
  if (!ctx.probe.exists(version, controller, file)) {
    fail(field, `${file} does not exist in the container's ${version === 1 ? controller + ' ' : ''}cgroup${hint(version, controller, file)}`);
  }
}

/** Checks the controller and the file, then queues the write. */
export function push(ctx: Ctx, w: Write): void {
  requireController(ctx, w.version, w.controller, w.field);
  requireFile(ctx, w.version, w.controller, w.file, w.field);
  ctx.out.push(w);
}

/** What differs between cgroup v1 and v2, behind one interface (a systemd driver would sit above these). */
export interface HierarchyDriver {
  version: 1 | 2;
  /** Set-up of the container's dir `dir` in `h`, once it exists (v1 cpuset init, v2 controller delegation). */
  prepare(host: CgroupHost, h: Hierarchy, dir: string): void;
  /** Appends the writes for `r` to ctx.out. */
  writes(ctx: Ctx, r: LinuxResources): void;
}

/** memory.kernel: deprecated by the kernel (5.16+ ignores memory.kmem.limit_in_bytes); runc ignores it too. */
export function kernelMemoryWarning(ctx: Ctx, kernel: number | null | undefined): void {
  if (nonZero(kernel)) ctx.warnings.push('linux.resources.memory.kernel: ignored (kernel memory limits are deprecated and not applied)');
}

function hugepageFile(field: string, pageSize: string, suffix: string): string {
  if (typeof pageSize !== 'string' || !/^[1-9][0-9]*[KMG]B$/.test(pageSize)) {
    fail(`${field}.pageSize`, `invalid page size ${JSON.stringify(pageSize)} (e.g. "2MB")`);
  }
  return `hugetlb.${pageSize}.${suffix}`;
}

/**
 * hugepageLimits: the limit file per page size, and the reservation limit (".rsvd.") as well where the
 * kernel has it (5.7+), so that reserved-but-unfaulted pages count too, as runc does.
 */
export function hugetlbWrites(ctx: Ctx, version: 1 | 2, limits: LinuxHugepageLimit[]): void {
  const suffix = version === 1 ? 'limit_in_bytes' : 'max';
  limits.forEach((l, i) => {
    const field = `linux.resources.hugepageLimits[${i}]`;
    const value = int(`${field}.limit`, l.limit);
    push(ctx, { version, controller: 'hugetlb', file: hugepageFile(field, l.pageSize, suffix), value, field });
    const rsvd = hugepageFile(field, l.pageSize, `rsvd.${suffix}`);
    if (ctx.probe.exists(version, 'hugetlb', rsvd)) push(ctx, { version, controller: 'hugetlb', file: rsvd, value, field });
  });
}

/** linux.resources.rdma → rdma.max lines "<device> hca_handle=N hca_object=N" (same file on v1 and v2). */
export function rdmaWrites(ctx: Ctx, version: 1 | 2, rdma: { [device: string]: LinuxRdma | undefined }): void {
  for (const [device, l] of Object.entries(rdma)) {
    if (!l) continue;
    const field = `linux.resources.rdma[${JSON.stringify(device)}]`;
    if (!/^[^\s=]+$/.test(device)) fail(field, 'invalid device name');
    let line = device;
    if (given(l.hcaHandles)) line += ` hca_handle=${int(`${field}.hcaHandles`, l.hcaHandles)}`;
    if (given(l.hcaObjects)) line += ` hca_object=${int(`${field}.hcaObjects`, l.hcaObjects)}`;
    if (line === device) continue;
    push(ctx, { version, controller: 'rdma', file: 'rdma.max', value: line, field });
  }
}

/** "major:minor" of a device entry, both checked. */
export function devNumbers(field: string, d: { major: number; minor: number }): string {
  for (const k of ['major', 'minor'] as const) {
    if (!Number.isInteger(d[k]) || d[k] < 0) fail(`${field}.${k}`, `invalid device number ${JSON.stringify(d[k])}`);
  }
  return `${d.major}:${d.minor}`;
}

/** The four blockIO throttle lists, with the v1 file and the v2 io.max key of each. */
export const THROTTLES = [
  { key: 'throttleReadBpsDevice', v1: 'blkio.throttle.read_bps_device', v2: 'rbps' },
  { key: 'throttleWriteBpsDevice', v1: 'blkio.throttle.write_bps_device', v2: 'wbps' },
  { key: 'throttleReadIOPSDevice', v1: 'blkio.throttle.read_iops_device', v2: 'riops' },
  { key: 'throttleWriteIOPSDevice', v1: 'blkio.throttle.write_iops_device', v2: 'wiops' },
] as const;

/** Each throttle entry with its field name, "major:minor" and rate (a missing rate is 0: no limit). */
export function throttleEntries(list: LinuxThrottleDevice[] | undefined, field: string): { field: string; dev: string; rate: string }[] {
  return (list ?? []).map((d, i) => {
    const f = `${field}[${i}]`;
    return { field: f, dev: devNumbers(f, d), rate: int(`${f}.rate`, d.rate ?? 0) };
  });
}

export function checkBlkioWeight(field: string, weight: number): void {
  if (!Number.isInteger(weight) || weight < 10 || weight > 1000) fail(field, `invalid weight ${weight} (10-1000)`);
}
