// Shared by the v1 and v2 translators: the Write record, the probe, and the checks that name OCI fields.
import type { LinuxMemory, LinuxResources } from '../spec/types';
import { v1Hierarchy, v2Hierarchy, type CgroupHost, type Hierarchy } from './host';

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

/** Files that exist only with some I/O schedulers: without a probe they are assumed absent. */
const OPTIONAL_FILES = new Set(['blkio.bfq.weight', 'io.bfq.weight']);
export const ASSUME_STANDARD_FILES: Probe = { exists: (_v, _c, file) => !OPTIONAL_FILES.has(file) };

export interface Ctx {
  host: CgroupHost;
  probe: Probe;
  warnings: string[];
  out: Write[];
}

export function fail(field: string, msg: string): never {
  throw new Error(`${field}: ${msg}`);
}

/** Present in the config: not undefined and not JSON null. */
export function given<T>(v: T | null | undefined): v is T {
  return v !== undefined && v !== null;
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
  fail(field, `the ${controller} controller is not available in cgroup v2 on this host (cgroup.controllers: ${v2Hierarchy(ctx.host)?.controllers.join(' ') || 'none'})`);
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

export function kernelMemoryWarnings(ctx: Ctx, m: LinuxMemory): void {
  for (const k of ['kernel', 'kernelTCP'] as const) {
    if (given(m[k])) ctx.warnings.push(`linux.resources.memory.${k}: ignored (kernel memory limits are deprecated and not applied)`);
  }
}

export function hugepageFile(field: string, pageSize: string, suffix: string): string {
  if (typeof pageSize !== 'string' || !/^[1-9][0-9]*[KMG]B$/.test(pageSize)) {
    fail(`${field}.pageSize`, `invalid page size ${JSON.stringify(pageSize)} (e.g. "2MB")`);
  }
  return `hugetlb.${pageSize}.${suffix}`;
}

export function checkBlkioWeight(field: string, weight: number): void {
  if (!Number.isInteger(weight) || weight < 10 || weight > 1000) fail(field, `invalid weight ${weight} (10-1000)`);
}
