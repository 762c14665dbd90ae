// cgroup v1 driver: OCI resources → writes into the per-controller hierarchies, and v1-only set-up.
import * as path from '../sys/path';
import type { LinuxBlockIO, LinuxMemory, LinuxNetwork, LinuxResources } from '../spec/generated/types';
import { deviceRuleV1 } from './devices';
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
  swappinessSet,
  throttleEntries,
} from './emit';
import { readTrim, writeCgroupFile } from './fs';
import type { Hierarchy } from './host';

const R = 'linux.resources';

function w(ctx: Ctx, controller: string, file: string, value: string, field: string, extra?: Partial<Write>): void {
  push(ctx, { version: 1, controller, file, value, field, ...extra });
}

function memoryV1(ctx: Ctx, m: LinuxMemory): void {
  const F = `${R}.memory`;
  kernelMemoryWarning(ctx, m.kernel);
  const limit = nonZero(m.limit) ? m.limit : undefined;
  const swap = nonZero(m.swap) ? m.swap : undefined;
  if (limit !== undefined && limit < -1) fail(`${F}.limit`, `invalid value ${limit}`);
  if (swap !== undefined && swap < -1) fail(`${F}.swap`, `invalid value ${swap}`);
  if (swap !== undefined && swap > 0 && limit !== undefined && (limit === -1 || swap < limit)) {
    fail(`${F}.swap`, `memory+swap limit ${swap} must be >= the memory limit ${limit === -1 ? '(unlimited)' : limit}`);
  }
  // Unlimited memory without a swap setting means unlimited memory+swap too (when swap accounting is on).
  const implicitSwap = swap === undefined && limit === -1 && ctx.probe.exists(1, 'memory', 'memory.memsw.limit_in_bytes');
  // memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment: lowering goes limit first, raising
  // needs memsw first; the limit is written first and retried after memsw if the kernel says EINVAL.
  if (limit !== undefined) {
    w(ctx, 'memory', 'memory.limit_in_bytes', int(`${F}.limit`, limit), `${F}.limit`, {
      retryAfterNext: swap !== undefined || implicitSwap,
      ...(m.checkBeforeUpdate === true && limit > 0 ? { usageFile: 'memory.usage_in_bytes' } : {}),
    });
  }
  if (swap !== undefined) w(ctx, 'memory', 'memory.memsw.limit_in_bytes', int(`${F}.swap`, swap), `${F}.swap`);
  else if (implicitSwap) w(ctx, 'memory', 'memory.memsw.limit_in_bytes', '-1', `${F}.limit`);
  if (nonZero(m.reservation)) w(ctx, 'memory', 'memory.soft_limit_in_bytes', int(`${F}.reservation`, m.reservation), `${F}.reservation`);
  if (nonZero(m.kernelTCP)) w(ctx, 'memory', 'memory.kmem.tcp.limit_in_bytes', int(`${F}.kernelTCP`, m.kernelTCP), `${F}.kernelTCP`);
  if (m.disableOOMKiller === true) w(ctx, 'memory', 'memory.oom_control', '1', `${F}.disableOOMKiller`);
  if (swappinessSet(m.swappiness)) {
    if (m.swappiness < 0 || m.swappiness > 100) fail(`${F}.swappiness`, `invalid value ${m.swappiness} (0-100)`);
    w(ctx, 'memory', 'memory.swappiness', int(`${F}.swappiness`, m.swappiness), `${F}.swappiness`);
  }
  if (given(m.useHierarchy)) w(ctx, 'memory', 'memory.use_hierarchy', m.useHierarchy ? '1' : '0', `${F}.useHierarchy`);
}

/**
 * blkio: the weight goes to blkio.weight (CFQ) or blkio.bfq.weight (BFQ), per-device weights likewise;
 * leaf weights exist only with CFQ. Throttles are scheduler-independent.
 */
function blkioV1(ctx: Ctx, b: LinuxBlockIO): void {
  const F = `${R}.blockIO`;
  const bfq = !ctx.probe.exists(1, 'blkio', 'blkio.weight') && ctx.probe.exists(1, 'blkio', 'blkio.bfq.weight');
  const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';
  if (nonZero(b.weight)) {
    checkBlkioWeight(`${F}.weight`, b.weight);
    requireController(ctx, 1, 'blkio', `${F}.weight`);
    if (!bfq && !ctx.probe.exists(1, 'blkio', 'blkio.weight')) {
      fail(`${F}.weight`, 'neither blkio.weight nor blkio.bfq.weight exists (no CFQ or BFQ I/O scheduler in use)');
    }
    w(ctx, 'blkio', weightFile, String(b.weight), `${F}.weight`);
  }
  if (nonZero(b.leafWeight)) {
    checkBlkioWeight(`${F}.leafWeight`, b.leafWeight);
    w(ctx, 'blkio', 'blkio.leaf_weight', String(b.leafWeight), `${F}.leafWeight`);
  }
  (b.weightDevice ?? []).forEach((d, i) => {
    const field = `${F}.weightDevice[${i}]`;
    const dev = devNumbers(field, d);
    if (nonZero(d.weight)) {
      checkBlkioWeight(`${field}.weight`, d.weight);
      w(ctx, 'blkio', `${weightFile}_device`, `${dev} ${d.weight}`, `${field}.weight`);
    }
    if (nonZero(d.leafWeight)) {
      checkBlkioWeight(`${field}.leafWeight`, d.leafWeight);
      w(ctx, 'blkio', 'blkio.leaf_weight_device', `${dev} ${d.leafWeight}`, `${field}.leafWeight`);
    }
  });
  for (const t of THROTTLES) {
    for (const e of throttleEntries(b[t.key], `${F}.${t.key}`)) w(ctx, 'blkio', t.v1, `${e.dev} ${e.rate}`, e.field);
  }
}

/** net_cls.classid and net_prio.ifpriomap: v1-only controllers. */
function networkV1(ctx: Ctx, n: LinuxNetwork): void {
  const F = `${R}.network`;
  if (nonZero(n.classID)) w(ctx, 'net_cls', 'net_cls.classid', int(`${F}.classID`, n.classID), `${F}.classID`);
  (n.priorities ?? []).forEach((p, i) => {
    const field = `${F}.priorities[${i}]`;
    if (typeof p.name !== 'string' || !/^[^\s/]+$/.test(p.name)) fail(`${field}.name`, `invalid interface name ${JSON.stringify(p.name)}`);
    w(ctx, 'net_prio', 'net_prio.ifpriomap', `${p.name} ${int(`${field}.priority`, p.priority)}`, field);
  });
}

/** The v1 writes for `r`, in runc's controller order: cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma. */
export function v1Writes(ctx: Ctx, r: LinuxResources): void {
  const cpu = r.cpu;
  const C = `${R}.cpu`;
  if (cpu && given(cpu.cpus) && cpu.cpus !== '') w(ctx, 'cpuset', 'cpuset.cpus', cpu.cpus, `${C}.cpus`);
  if (cpu && given(cpu.mems) && cpu.mems !== '') w(ctx, 'cpuset', 'cpuset.mems', cpu.mems, `${C}.mems`);

  (r.devices ?? []).forEach((d, i) => {
    const field = `${R}.devices[${i}]`;
    for (const x of deviceRuleV1(d, field)) w(ctx, 'devices', x.file, x.value, field);
  });

  if (r.memory) memoryV1(ctx, r.memory);

  if (cpu) {
    if (nonZero(cpu.shares)) w(ctx, 'cpu', 'cpu.shares', int(`${C}.shares`, cpu.shares), `${C}.shares`, { verify: true });
    const hasQuota = nonZero(cpu.quota);
    // A period shorter than the current one can be refused until the quota is written: retry after it.
    if (nonZero(cpu.period)) w(ctx, 'cpu', 'cpu.cfs_period_us', int(`${C}.period`, cpu.period), `${C}.period`, { retryAfterNext: hasQuota });
    if (hasQuota) w(ctx, 'cpu', 'cpu.cfs_quota_us', int(`${C}.quota`, cpu.quota!), `${C}.quota`);
    if (given(cpu.burst)) w(ctx, 'cpu', 'cpu.cfs_burst_us', int(`${C}.burst`, cpu.burst), `${C}.burst`);
    const hasRuntime = nonZero(cpu.realtimeRuntime);
    if (nonZero(cpu.realtimePeriod)) {
      w(ctx, 'cpu', 'cpu.rt_period_us', int(`${C}.realtimePeriod`, cpu.realtimePeriod), `${C}.realtimePeriod`, { retryAfterNext: hasRuntime });
    }
    if (hasRuntime) w(ctx, 'cpu', 'cpu.rt_runtime_us', int(`${C}.realtimeRuntime`, cpu.realtimeRuntime!), `${C}.realtimeRuntime`);
    if (given(cpu.idle)) w(ctx, 'cpu', 'cpu.idle', int(`${C}.idle`, cpu.idle), `${C}.idle`);
  }

  if (r.pids && nonZero(r.pids.limit)) {
    // pids.max takes a count or "max" for -1 (the v1 file is the same as v2's: it refuses -1).
    const l = r.pids.limit;
    w(ctx, 'pids', 'pids.max', l > 0 ? int(`${R}.pids.limit`, l) : 'max', `${R}.pids.limit`);
  }

  if (r.blockIO) blkioV1(ctx, r.blockIO);

  hugetlbWrites(ctx, 1, r.hugepageLimits ?? []);

  if (r.network) networkV1(ctx, r.network);

  if (r.rdma) rdmaWrites(ctx, 1, r.rdma);
}

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus/mems and refuses tasks until they are set: fill any
 * empty one from its parent, top-down, from the hierarchy's mount point to `leaf`.
 */
export function initCpuset(h: Hierarchy, leaf: string): void {
  const rel = path.relative(h.mountPoint, leaf);
  if (!rel || rel.startsWith('..')) return;
  let parent = h.mountPoint;
  for (const part of rel.split('/')) {
    const dir = `${parent}/${part}`;
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const cur = readTrim(`${dir}/${f}`);
      if (cur !== '') continue; // set already, or no such file (not a real cpuset dir)
      const from = readTrim(`${parent}/${f}`);
      if (from) writeCgroupFile(`${dir}/${f}`, from);
    }
    parent = dir;
  }
}

export const v1Driver: HierarchyDriver = {
  version: 1,
  prepare(_host, h, dir) {
    if (h.controllers.includes('cpuset')) initCpuset(h, dir);
  },
  writes: v1Writes,
};
