// cgroup v2 driver: OCI resources → writes into the unified hierarchy, and controller delegation.
import * as path from '../sys/path';
import type { LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxResources } from '../spec/generated/types';
import { deviceFilter } from './ebpf';
import {
  type Ctx,
  type HierarchyDriver,
  type Write,
  THROTTLES,
  checkBlkioWeight,
  devNumbers,
  fail,
  given,
  hugetlbWrites,
  int,
  kernelMemoryWarning,
  nonZero,
  push,
  rdmaWrites,
  requireController,
  requireFile,
  swappinessSet,
  throttleEntries,
} from './emit';
import { errnoOf, readTrim, writeCgroupFile } from './fs';
import type { Hierarchy } from './host';

const R = 'linux.resources';

function w(ctx: Ctx, controller: string, file: string, value: string, field: string, extra?: Partial<Write>): void {
  push(ctx, { version: 2, controller, file, value, field, ...extra });
}

/** cpu.shares (2-262144) → cpu.weight (1-10000), linearly, as runc converts it. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio weight (10-1000) → io.weight (1-10000), linearly, as runc converts it. */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap; v2's memory.swap.max is swap alone. Returns the v2 value: -1 (max),
 * 0 (nothing to write) or the difference.
 */
export function swapToV2(swap: number | undefined, limit: number | undefined): number {
  const F = `${R}.memory.swap`;
  if (limit === -1 && swap === undefined) return -1; // unlimited memory, swap unset: unlimited swap too
  if (swap === undefined || swap === -1) return swap ?? 0;
  if (limit === -1) return swap;
  if (limit === undefined) fail(F, 'cannot set a swap limit without a memory limit on cgroup v2');
  if (limit < 0) fail(`${R}.memory.limit`, `invalid value ${limit}`);
  if (swap < limit) fail(F, `memory+swap limit ${swap} must be >= the memory limit ${limit}`);
  return swap - limit;
}

const maxOr = (field: string, v: number): string => (v === -1 ? 'max' : int(field, v));

function memoryV2(ctx: Ctx, m: LinuxMemory): void {
  const F = `${R}.memory`;
  kernelMemoryWarning(ctx, m.kernel);
  if (nonZero(m.kernelTCP)) fail(`${F}.kernelTCP`, 'not supported on cgroup v2 (it has no separate kernel TCP memory limit)');
  if (swappinessSet(m.swappiness)) fail(`${F}.swappiness`, 'not supported on cgroup v2 (it has no memory.swappiness)');
  if (m.disableOOMKiller === true) fail(`${F}.disableOOMKiller`, 'not supported on cgroup v2 (the OOM killer cannot be disabled)');
  if (m.useHierarchy === false) fail(`${F}.useHierarchy`, 'cgroup v2 is always hierarchical');
  const limit = nonZero(m.limit) ? m.limit : undefined;
  const swap = nonZero(m.swap) ? m.swap : undefined;
  if (limit !== undefined && limit < -1) fail(`${F}.limit`, `invalid value ${limit}`);
  const s = swapToV2(swap, limit);
  if (s !== 0 || (swap !== undefined && swap > 0)) {
    const field = swap !== undefined ? `${F}.swap` : `${F}.limit`;
    const value = maxOr(field, s);
    requireController(ctx, 2, 'memory', field);
    // No swap accounting: "max" is what the kernel does anyway; anything else cannot be applied.
    if (ctx.probe.exists(2, 'memory', 'memory.swap.max')) w(ctx, 'memory', 'memory.swap.max', value, field);
    else if (value !== 'max') requireFile(ctx, 2, 'memory', 'memory.swap.max', field);
  }
  if (limit !== undefined) {
    w(ctx, 'memory', 'memory.max', maxOr(`${F}.limit`, limit), `${F}.limit`, m.checkBeforeUpdate === true && limit > 0 ? { usageFile: 'memory.current' } : {});
  }
  if (nonZero(m.reservation)) w(ctx, 'memory', 'memory.low', maxOr(`${F}.reservation`, m.reservation), `${F}.reservation`);
}

/**
 * io: the weight goes to io.bfq.weight (BFQ, as is) or io.weight (converted); per-device weights exist only
 * with BFQ; leaf weights not at all. Throttles go to io.max, one "major:minor key=rate" line each.
 */
function ioV2(ctx: Ctx, b: LinuxBlockIO): void {
  const F = `${R}.blockIO`;
  const bfq = ctx.probe.exists(2, 'io', 'io.bfq.weight');
  if (nonZero(b.weight)) {
    checkBlkioWeight(`${F}.weight`, b.weight);
    requireController(ctx, 2, 'io', `${F}.weight`);
    if (bfq) w(ctx, 'io', 'io.bfq.weight', String(b.weight), `${F}.weight`);
    else w(ctx, 'io', 'io.weight', String(blkioToIoWeight(b.weight)), `${F}.weight`);
  }
  if (nonZero(b.leafWeight)) fail(`${F}.leafWeight`, 'not supported on cgroup v2 (no leaf weights)');
  (b.weightDevice ?? []).forEach((d, i) => {
    const field = `${F}.weightDevice[${i}]`;
    const dev = devNumbers(field, d);
    if (nonZero(d.leafWeight)) fail(`${field}.leafWeight`, 'not supported on cgroup v2 (no leaf weights)');
    if (!nonZero(d.weight)) return;
    checkBlkioWeight(`${field}.weight`, d.weight);
    requireController(ctx, 2, 'io', field);
    if (!bfq) fail(`${field}.weight`, 'per-device weights on cgroup v2 need the BFQ I/O scheduler (io.bfq.weight does not exist)');
    w(ctx, 'io', 'io.bfq.weight', `${dev} ${d.weight}`, `${field}.weight`);
  });
  for (const t of THROTTLES) {
    for (const e of throttleEntries(b[t.key], `${F}.${t.key}`)) {
      // io.max refuses 0; "max" is what 0 means on v1 (no limit)
      w(ctx, 'io', 'io.max', `${e.dev} ${t.v2}=${e.rate === '0' ? 'max' : e.rate}`, e.field);
    }
  }
}

/** cpu.idle, cpu.weight (from shares), cpu.max (quota and period together), cpu.max.burst. */
function cpuV2(ctx: Ctx, cpu: LinuxCPU): void {
  const C = `${R}.cpu`;
  if (nonZero(cpu.realtimePeriod)) fail(`${C}.realtimePeriod`, 'not supported on cgroup v2 (no real-time group scheduling)');
  if (nonZero(cpu.realtimeRuntime)) fail(`${C}.realtimeRuntime`, 'not supported on cgroup v2 (no real-time group scheduling)');
  if (given(cpu.idle)) w(ctx, 'cpu', 'cpu.idle', int(`${C}.idle`, cpu.idle), `${C}.idle`);
  if (nonZero(cpu.shares)) {
    if (!Number.isInteger(cpu.shares) || cpu.shares < 2 || cpu.shares > 262144) fail(`${C}.shares`, `invalid value ${cpu.shares} (2-262144)`);
    w(ctx, 'cpu', 'cpu.weight', String(sharesToWeight(cpu.shares)), `${C}.shares`);
  }
  const quota = nonZero(cpu.quota) ? cpu.quota : undefined;
  const period = nonZero(cpu.period) ? cpu.period : undefined;
  const hasBurst = given(cpu.burst);
  if (quota !== undefined || period !== undefined) {
    const field = quota !== undefined ? `${C}.quota` : `${C}.period`;
    const q = quota !== undefined && quota > 0 ? int(`${C}.quota`, quota) : 'max';
    // a burst larger than the new quota is refused until the quota is written, and the reverse: retry after it
    w(ctx, 'cpu', 'cpu.max', `${q} ${period !== undefined ? int(`${C}.period`, period) : '100000'}`, field, { retryAfterNext: hasBurst });
  }
  if (hasBurst) w(ctx, 'cpu', 'cpu.max.burst', int(`${C}.burst`, cpu.burst!), `${C}.burst`);
}

/** The v2 writes for `r`, in runc's order: pids, memory, io, cpu, devices, cpuset, hugetlb, rdma, unified. */
export function v2Writes(ctx: Ctx, r: LinuxResources): void {
  if (r.pids && nonZero(r.pids.limit)) {
    const l = r.pids.limit;
    w(ctx, 'pids', 'pids.max', l > 0 ? int(`${R}.pids.limit`, l) : 'max', `${R}.pids.limit`);
  }

  if (r.memory) memoryV2(ctx, r.memory);

  if (r.blockIO) ioV2(ctx, r.blockIO);

  const cpu = r.cpu;
  const C = `${R}.cpu`;
  if (cpu) cpuV2(ctx, cpu);

  // no devices controller on v2: a BPF_CGROUP_DEVICE program attached to the cgroup does its job
  if (r.devices && r.devices.length > 0) ctx.deviceProgram = deviceFilter(r.devices, `${R}.devices`);

  if (cpu && given(cpu.cpus) && cpu.cpus !== '') w(ctx, 'cpuset', 'cpuset.cpus', cpu.cpus, `${C}.cpus`);
  if (cpu && given(cpu.mems) && cpu.mems !== '') w(ctx, 'cpuset', 'cpuset.mems', cpu.mems, `${C}.mems`);

  hugetlbWrites(ctx, 2, r.hugepageLimits ?? []);

  if (r.rdma) rdmaWrites(ctx, 2, r.rdma);

  const n = r.network;
  if (n && nonZero(n.classID)) fail(`${R}.network.classID`, 'not supported on cgroup v2 (net_cls is a cgroup v1 controller)');
  if (n && n.priorities?.length) fail(`${R}.network.priorities`, 'not supported on cgroup v2 (net_prio is a cgroup v1 controller)');

  if (r.unified) unifiedWrites(ctx, r.unified);
}

/** linux.resources.unified: each key is a file of the container's v2 cgroup; multi-line values go line by line. */
export function unifiedWrites(ctx: Ctx, u: { [k: string]: string | undefined }): void {
  for (const [key, value] of Object.entries(u)) {
    if (!given(value)) continue;
    const field = `${R}.unified[${JSON.stringify(key)}]`;
    const dot = key.indexOf('.');
    if (key.includes('/') || dot <= 0 || dot === key.length - 1) fail(field, 'must be a cgroup v2 file name "<controller>.<parameter>"');
    const controller = key.slice(0, dot);
    if (!ctx.probe.exists(2, controller, key)) {
      const avail = ctx.host.hierarchies.find((h) => h.version === 2)?.controllers ?? [];
      const why = controller !== 'cgroup' && !avail.includes(controller) ? ` (the ${controller} controller is not available in cgroup v2 here)` : '';
      fail(field, `${key} does not exist in the container's cgroup v2 directory${why}`);
    }
    const lines = value.includes('\n') ? value.split('\n').filter((l) => l.trim() !== '') : [value];
    for (const line of lines) ctx.out.push({ version: 2, controller, file: key, value: line, field });
  }
}

/**
 * Enables every controller available along the way, in cgroup.subtree_control of each ancestor of `leaf`
 * from the mount point down to the leaf's parent (as runc does), so the leaf gets the controller files.
 * Failures are not fatal here (a cgroup with processes cannot delegate domain controllers): a write that
 * then lacks its file fails in applyResources, naming the field.
 */
export function enableControllers(h: Hierarchy, leaf: string): void {
  const rel = path.relative(h.mountPoint, leaf);
  if (!rel || rel.startsWith('..')) return;
  const parts = rel.split('/');
  let dir = h.mountPoint;
  for (let i = 0; i < parts.length; i++) {
    const avail = (readTrim(`${dir}/cgroup.controllers`) ?? '').split(/\s+/).filter(Boolean);
    const enabled = new Set((readTrim(`${dir}/cgroup.subtree_control`) ?? '').split(/\s+/).filter(Boolean));
    const missing = avail.filter((c) => !enabled.has(c));
    if (missing.length > 0) {
      const file = `${dir}/cgroup.subtree_control`;
      try {
        writeCgroupFile(file, missing.map((c) => '+' + c).join(' '));
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') return;
        for (const c of missing) {
          try {
            writeCgroupFile(file, '+' + c);
          } catch (e2) {
            // the kernel's refusal is left for applyResources to report against the field that needs it
            if (!errnoOf(e2)) throw e2;
          }
        }
      }
    }
    dir = `${dir}/${parts[i]}`;
  }
}

export const v2Driver: HierarchyDriver = {
  version: 2,
  prepare(host, h, dir) {
    // Hybrid: the cgroup2 dir only makes the process visible there; its controllers (if any) are not
    // delegated, so that they stay free to be mounted as v1 hierarchies.
    if (host.mode === 'v2') enableControllers(h, dir);
  },
  writes: v2Writes,
};
