// linux.resources → an ordered list of cgroup file writes (pure, given the host and a file probe).
import type { LinuxResources, Spec } from '../spec/generated/types';
import { containerDeviceRules } from './devices';
import { ASSUME_STANDARD_FILES, type Ctx, type Write, type WriteOptions, fail, given } from './emit';
import type { CgroupHost } from './host';
import { v1Driver } from './v1';
import { unifiedWrites, v2Driver } from './v2';

const R = 'linux.resources';

/** Fields runt knows, per object; anything else present is refused rather than ignored. */
const KNOWN: Record<string, ReadonlySet<string>> = {
  '': new Set(['unified', 'devices', 'pids', 'blockIO', 'cpu', 'hugepageLimits', 'memory', 'network', 'rdma']),
  network: new Set(['classID', 'priorities']),
  memory: new Set(['kernel', 'kernelTCP', 'limit', 'reservation', 'swap', 'swappiness', 'disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']),
  cpu: new Set(['cpus', 'mems', 'period', 'quota', 'burst', 'realtimePeriod', 'realtimeRuntime', 'shares', 'idle']),
  pids: new Set(['limit']),
  blockIO: new Set([
    'weight',
    'leafWeight',
    'weightDevice',
    'throttleReadBpsDevice',
    'throttleWriteBpsDevice',
    'throttleReadIOPSDevice',
    'throttleWriteIOPSDevice',
  ]),
};

function isEmpty(v: unknown): boolean {
  if (!given(v)) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as object).every((x) => !given(x));
  return false;
}

/** Throws for any field present that runt does not know (a typo, or a field of a newer spec). */
export function checkSupported(r: LinuxResources): void {
  const rec = r as unknown as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (isEmpty(rec[k])) continue;
    if (!KNOWN['']!.has(k)) fail(`${R}.${k}`, 'unknown field');
    const known = KNOWN[k];
    if (!known) continue;
    const sub = rec[k] as Record<string, unknown>;
    if (typeof sub !== 'object' || Array.isArray(sub)) fail(`${R}.${k}`, 'must be an object');
    for (const s of Object.keys(sub)) if (!known.has(s) && !isEmpty(sub[s])) fail(`${R}.${k}.${s}`, 'unknown field');
  }
}

export interface ResourcePlan {
  /** The cgroup file writes, in order. */
  writes: Write[];
  /** cgroup v2: the device filter (BPF_CGROUP_DEVICE instructions) to attach, when linux.resources.devices is set. */
  deviceProgram?: Uint8Array;
}

/**
 * What applying `r` on `host` takes: the writes, in order, each naming the OCI field it comes from, and on
 * cgroup v2 the device program. Throws an Error naming the field for anything the host cannot apply.
 * Without `opts.probe`, every standard cgroup file is assumed to exist (and the optional ones, such as
 * blkio.bfq.weight or hugetlb.*.rsvd.*, not to). Warnings (kernel memory ignored) go to `opts.warnings`.
 */
export function resourcePlan(host: CgroupHost, r: LinuxResources, opts: WriteOptions = {}): ResourcePlan {
  checkSupported(r);
  const ctx: Ctx = { host, probe: opts.probe ?? ASSUME_STANDARD_FILES, warnings: opts.warnings ?? [], out: [] };
  if (host.mode === 'v2') {
    v2Driver.writes(ctx, r);
  } else {
    v1Driver.writes(ctx, r);
    if (r.unified && !isEmpty(r.unified)) {
      if (host.mode === 'v1') fail(`${R}.unified`, 'cgroup v2 is not available on this host (cgroup v1 only)');
      unifiedWrites(ctx, r.unified); // hybrid: into the container's dir in the cgroup2 hierarchy
    }
  }
  return { writes: ctx.out, ...(ctx.deviceProgram ? { deviceProgram: ctx.deviceProgram } : {}) };
}

/** The writes of resourcePlan alone. */
export function resourceWrites(host: CgroupHost, r: LinuxResources, opts: WriteOptions = {}): Write[] {
  return resourcePlan(host, r, opts).writes;
}

/** linux.resources with runc's default device rules after the config's, as the container's cgroup gets them. */
export function containerResources(spec: Spec): LinuxResources | undefined {
  return spec.linux?.resources?.devices ? { ...spec.linux.resources, devices: containerDeviceRules(spec.linux.resources.devices) } : spec.linux?.resources;
}
