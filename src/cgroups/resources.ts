// linux.resources → an ordered list of cgroup file writes (pure, given the host and a file probe).
import type { LinuxResources } from '../spec/types';
import { ASSUME_STANDARD_FILES, type Ctx, type Write, type WriteOptions, fail, given } from './emit';
import type { CgroupHost } from './host';
import { v1Driver } from './v1';
import { unifiedWrites, v2Driver } from './v2';

const R = 'linux.resources';
const LATER = 'not supported by runt yet';

/** Fields runt knows, per object; anything else present is refused rather than ignored. */
const KNOWN: Record<string, ReadonlySet<string>> = {
  '': new Set(['unified', 'devices', 'pids', 'blockIO', 'cpu', 'hugepageLimits', 'memory', 'network']),
  network: new Set(), // classID, priorities: refused field by field
  memory: new Set(['kernel', 'kernelTCP', 'limit', 'reservation', 'swap', 'swappiness', 'disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']),
  cpu: new Set(['cpus', 'mems', 'period', 'quota', 'realtimePeriod', 'realtimeRuntime', 'shares']),
  pids: new Set(['limit']),
  blockIO: new Set(['weight']),
};

function isEmpty(v: unknown): boolean {
  if (!given(v)) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as object).every((x) => !given(x));
  return false;
}

/** Throws for any field present that this version of runt cannot apply (rdma, network, cpu.burst...). */
export function checkSupported(r: LinuxResources): void {
  const rec = r as unknown as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (isEmpty(rec[k])) continue;
    if (!KNOWN['']!.has(k)) fail(`${R}.${k}`, LATER);
    const known = KNOWN[k];
    if (!known) continue;
    const sub = rec[k] as Record<string, unknown>;
    for (const s of Object.keys(sub)) if (!known.has(s) && !isEmpty(sub[s])) fail(`${R}.${k}.${s}`, LATER);
  }
}

/**
 * The writes that apply `r` on `host`, in order; each names the OCI field it comes from. Throws an Error
 * naming the field for anything the host cannot apply. Without `opts.probe`, every standard cgroup file is
 * assumed to exist (and the scheduler-specific blkio.bfq.weight / io.bfq.weight not to).
 * Warnings (kernel memory settings ignored, v2 device rules not applied yet) go to `opts.warnings`.
 */
export function resourceWrites(host: CgroupHost, r: LinuxResources, opts: WriteOptions = {}): Write[] {
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
  return ctx.out;
}
