// Resource usage of a container's cgroup, in the shape runc's `events` prints (runc types.Stats): v1 files
// per controller on v1 and hybrid hosts, the unified files on v2. Counters are uint64: kept as bigint.
import * as fs from 'node:fs';
import type { CgroupSet } from './cgroupfs';
import { hostFailure } from '../errors';
import { errnoOf } from './fs';
import { type CgroupHost, v1Hierarchy, v2Hierarchy } from './host';

export type Json = bigint | number | string | boolean | null | Json[] | { [k: string]: Json };

const MAX_U64 = 2n ** 64n - 1n;
/** USER_HZ: cpuacct.stat counts in these ticks. */
const TICKS_PER_SECOND = 100n;

function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return fs.readFileSync(`${dir}/${file}`, 'utf8');
  } catch (e) {
    const code = errnoOf(e);
    // absent (not this kernel or controller), or refused (e.g. EOPNOTSUPP for deprecated kmem files)
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EOPNOTSUPP' || code === 'EINVAL') return undefined;
    throw hostFailure(`reading ${dir}/${file}`, e);
  }
}

/** One number ("max" is the largest u64); 0n when missing. */
function u64(dir: string | undefined, file: string): bigint {
  const t = read(dir, file)?.trim();
  if (t === 'max') return MAX_U64;
  return t && /^\d+$/.test(t) ? BigInt(t) : 0n;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) → a map. */
export function keyValues(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

/** A cpu/mem list ("0-2,4") → [0, 1, 2, 4]. */
export function parseCpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}

/** Drops the keys whose value is zero or empty: Go's omitempty, so the JSON reads like runc's. */
function omitEmpty(o: { [k: string]: Json }, keys: string[]): { [k: string]: Json } {
  for (const k of keys) {
    const v = o[k];
    if (
      v === 0n ||
      v === 0 ||
      v === '' ||
      v === undefined ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)
    )
      delete o[k];
  }
  return o;
}

function memoryEntry(limit: bigint, usage: bigint, max: bigint, failcnt: bigint): Json {
  return omitEmpty({ limit, usage, max, failcnt }, ['usage', 'max']);
}

/** blkio "major:minor Op value" lines (v1) → runc's BlkioEntry list ("Total N" lines skipped). */
export function blkioEntries(text: string | undefined): Json[] {
  const out: Json[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [major, minor] = f[0]!.split(':');
    out.push(omitEmpty({ major: BigInt(major!), minor: BigInt(minor!), op: f[1]!, value: BigInt(f[2]!) }, ['major', 'minor', 'op', 'value']));
  }
  return out;
}

/** io.stat (v2) "major:minor rbytes=N wbytes=N rios=N wios=N ..." → bytes and ios lists as runc shows them. */
export function ioStatEntries(text: string | undefined): { bytes: Json[]; ios: Json[] } {
  const bytes: Json[] = [];
  const ios: Json[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    if (!dev || !dev.includes(':')) continue;
    const [major, minor] = dev.split(':').map((n) => BigInt(n));
    const values = new Map(kv.map((p) => p.split('=') as [string, string]));
    const entry = (op: string, k: string): Json =>
      omitEmpty({ major: major!, minor: minor!, op, value: BigInt(values.get(k) ?? '0') }, ['major', 'minor', 'op', 'value']);
    bytes.push(entry('Read', 'rbytes'), entry('Write', 'wbytes'));
    ios.push(entry('Read', 'rios'), entry('Write', 'wios'));
  }
  return { bytes, ios };
}

/** The huge page sizes of this kernel, as cgroup file names spell them ("2MB", "1GB"). */
function hugePageSizes(): string[] {
  let names: string[];
  try {
    names = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return []; // a kernel without huge pages
    throw hostFailure('reading /sys/kernel/mm/hugepages', e);
  }
  return names.flatMap((n) => {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    if (!m) return [];
    let kb = Number(m[1]);
    let unit = 0;
    while (kb >= 1024 && kb % 1024 === 0 && unit < 2) {
      kb /= 1024;
      unit++;
    }
    return [`${kb}${['KB', 'MB', 'GB'][unit]}`];
  });
}

function v1Stats(host: CgroupHost, set: CgroupSet): { [k: string]: Json } {
  const dir = (controller: string): string | undefined => {
    const h = v1Hierarchy(host, controller);
    return h ? set.dirs[h.mountPoint] : undefined;
  };
  const cpuacct = dir('cpuacct');
  const ticks = keyValues(read(cpuacct, 'cpuacct.stat'));
  const toNs = (t: bigint | undefined): bigint => ((t ?? 0n) * 1_000_000_000n) / TICKS_PER_SECOND;
  const perCpu = (file: string): bigint[] =>
    (read(cpuacct, file) ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((n) => BigInt(n));
  // cpuacct.usage_all: "cpu user system", then one line per cpu (nanoseconds)
  const all = (read(cpuacct, 'cpuacct.usage_all') ?? '')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) =>
      l
        .trim()
        .split(/\s+/)
        .map((n) => BigInt(n)),
    );
  const cpuStat = keyValues(read(dir('cpu'), 'cpu.stat'));

  const cpuset = dir('cpuset');
  const mem = dir('memory');
  const entry = (prefix: string): Json =>
    memoryEntry(
      u64(mem, `${prefix}.limit_in_bytes`),
      u64(mem, `${prefix}.usage_in_bytes`),
      u64(mem, `${prefix}.max_usage_in_bytes`),
      u64(mem, `${prefix}.failcnt`),
    );
  const raw = keyValues(read(mem, 'memory.stat'));

  const blkio = dir('blkio');
  // CFQ's files where CFQ runs, else BFQ's, else the throttling layer's (always there)
  const blkioPrefix =
    read(blkio, 'blkio.io_serviced_recursive') !== undefined
      ? 'blkio'
      : read(blkio, 'blkio.bfq.io_serviced_recursive') !== undefined
        ? 'blkio.bfq'
        : 'blkio.throttle';
  const blk = (file: string): Json[] => blkioEntries(read(blkio, `${blkioPrefix}.${file}`));

  const hugetlb = dir('hugetlb');
  const pids = dir('pids');
  return {
    cpu: {
      usage: omitEmpty(
        {
          total: u64(cpuacct, 'cpuacct.usage'),
          percpu: perCpu('cpuacct.usage_percpu'),
          percpu_kernel: all.map((c) => c[2] ?? 0n),
          percpu_user: all.map((c) => c[1] ?? 0n),
          kernel: toNs(ticks.get('system')),
          user: toNs(ticks.get('user')),
        },
        ['total', 'percpu', 'percpu_kernel', 'percpu_user'],
      ),
      throttling: omitEmpty(
        {
          periods: cpuStat.get('nr_periods') ?? 0n,
          throttledPeriods: cpuStat.get('nr_throttled') ?? 0n,
          throttledTime: cpuStat.get('throttled_time') ?? 0n,
        },
        ['periods', 'throttledPeriods', 'throttledTime'],
      ),
    },
    cpuset: omitEmpty(
      {
        cpus: parseCpuList(read(cpuset, 'cpuset.cpus')),
        cpu_exclusive: u64(cpuset, 'cpuset.cpu_exclusive'),
        mems: parseCpuList(read(cpuset, 'cpuset.mems')),
        mem_hardwall: u64(cpuset, 'cpuset.mem_hardwall'),
        mem_exclusive: u64(cpuset, 'cpuset.mem_exclusive'),
        memory_migrate: u64(cpuset, 'cpuset.memory_migrate'),
        memory_spread_page: u64(cpuset, 'cpuset.memory_spread_page'),
        memory_spread_slab: u64(cpuset, 'cpuset.memory_spread_slab'),
        memory_pressure: u64(cpuset, 'cpuset.memory_pressure'),
        sched_load_balance: u64(cpuset, 'cpuset.sched_load_balance'),
        sched_relax_domain_level: Number(read(cpuset, 'cpuset.sched_relax_domain_level')?.trim() ?? 0),
      },
      ['cpus', 'mems'],
    ),
    memory: omitEmpty(
      {
        cache: raw.get('cache') ?? 0n,
        usage: entry('memory'),
        swap: entry('memory.memsw'),
        kernel: entry('memory.kmem'),
        kernelTCP: entry('memory.kmem.tcp'),
        raw: Object.fromEntries(raw),
      },
      ['cache', 'raw'],
    ),
    pids: pidsStats(pids),
    blkio: omitEmpty(
      {
        ioServiceBytesRecursive: blk('io_service_bytes_recursive'),
        ioServicedRecursive: blk('io_serviced_recursive'),
        ioQueueRecursive: blk('io_queued_recursive'),
        ioServiceTimeRecursive: blk('io_service_time_recursive'),
        ioWaitTimeRecursive: blk('io_wait_time_recursive'),
        ioMergedRecursive: blk('io_merged_recursive'),
        ioTimeRecursive: blk('time_recursive'),
        sectorsRecursive: blk('sectors_recursive'),
      },
      [
        'ioServiceBytesRecursive',
        'ioServicedRecursive',
        'ioQueueRecursive',
        'ioServiceTimeRecursive',
        'ioWaitTimeRecursive',
        'ioMergedRecursive',
        'ioTimeRecursive',
        'sectorsRecursive',
      ],
    ),
    hugetlb: hugetlb
      ? Object.fromEntries(
          hugePageSizes().map((size) => [
            size,
            omitEmpty(
              {
                usage: u64(hugetlb, `hugetlb.${size}.usage_in_bytes`),
                max: u64(hugetlb, `hugetlb.${size}.max_usage_in_bytes`),
                failcnt: u64(hugetlb, `hugetlb.${size}.failcnt`),
              },
              ['usage', 'max'],
            ),
          ]),
        )
      : {},
  };
}

function pidsStats(dir: string | undefined): Json {
  const limit = u64(dir, 'pids.max');
  return omitEmpty({ current: u64(dir, 'pids.current'), limit: limit === MAX_U64 ? 0n : limit }, ['current', 'limit']);
}

function v2Stats(dir: string): { [k: string]: Json } {
  const cpuStat = keyValues(read(dir, 'cpu.stat'));
  const usec = (k: string): bigint => (cpuStat.get(k) ?? 0n) * 1000n;
  const raw = keyValues(read(dir, 'memory.stat'));
  const events = keyValues(read(dir, 'memory.events'));
  const memMax = u64(dir, 'memory.max');
  const memCur = u64(dir, 'memory.current');
  const swapMax = u64(dir, 'memory.swap.max');
  const io = ioStatEntries(read(dir, 'io.stat'));
  const cpus = read(dir, 'cpuset.cpus.effective');
  return {
    cpu: {
      usage: omitEmpty({ total: usec('usage_usec'), kernel: usec('system_usec'), user: usec('user_usec') }, ['total']),
      throttling: omitEmpty(
        {
          periods: cpuStat.get('nr_periods') ?? 0n,
          throttledPeriods: cpuStat.get('nr_throttled') ?? 0n,
          throttledTime: usec('throttled_usec'),
        },
        ['periods', 'throttledPeriods', 'throttledTime'],
      ),
    },
    cpuset: cpus === undefined ? {} : omitEmpty({ cpus: parseCpuList(cpus), mems: parseCpuList(read(dir, 'cpuset.mems.effective')) }, ['cpus', 'mems']),
    memory: omitEmpty(
      {
        cache: raw.get('file') ?? 0n,
        usage: memoryEntry(memMax, memCur, u64(dir, 'memory.peak'), events.get('max') ?? 0n),
        // runc's "swap" is memory+swap, as on v1
        swap: memoryEntry(memMax === MAX_U64 || swapMax === MAX_U64 ? MAX_U64 : memMax + swapMax, memCur + u64(dir, 'memory.swap.current'), 0n, 0n),
        kernel: memoryEntry(0n, 0n, 0n, 0n),
        kernelTCP: memoryEntry(0n, 0n, 0n, 0n),
        raw: Object.fromEntries(raw),
      },
      ['cache', 'raw'],
    ),
    pids: pidsStats(dir),
    blkio: omitEmpty({ ioServiceBytesRecursive: io.bytes, ioServicedRecursive: io.ios }, ['ioServiceBytesRecursive', 'ioServicedRecursive']),
    hugetlb: Object.fromEntries(
      hugePageSizes()
        .filter((size) => read(dir, `hugetlb.${size}.current`) !== undefined)
        .map((size) => [
          size,
          omitEmpty(
            {
              usage: u64(dir, `hugetlb.${size}.current`),
              failcnt: keyValues(read(dir, `hugetlb.${size}.events`)).get('max') ?? 0n,
            },
            ['usage'],
          ),
        ]),
    ),
  };
}

/** runc's types.Stats for the container's cgroup. */
export function containerStats(host: CgroupHost, set: CgroupSet): Json {
  const v2 = v2Hierarchy(host);
  const v2Dir = v2 ? set.dirs[v2.mountPoint] : undefined;
  const s = host.mode === 'v2' && v2Dir ? v2Stats(v2Dir) : v1Stats(host, set);
  return { ...s, intel_rdt: {}, network_interfaces: null };
}

/** JSON text for `value`, with bigints written as plain integers (exact beyond 2^53). */
export function toJson(value: Json): string {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
