// config.md "Linux Process" (scheduler, ioPriority, execCPUAffinity) and config-linux.md "Personality" and
// "Memory policy": kernel attributes of the process that its children inherit. Applied where runc applies them:
// after the rlimits, before seccomp and the change of identity (a real-time policy, a negative nice value or the
// real-time I/O class need CAP_SYS_NICE or CAP_SYS_ADMIN, which the process may be about to lose).
import type { CPUAffinity, IOPriority, Linux, LinuxMemoryPolicy, LinuxPersonality, Scheduler } from '../spec/generated/types';
import { ConfigError, step, type Step } from './types';

/** personality(2) execution domains (linux/personality.h). */
const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

/** sched(7) policy numbers (linux/sched.h); SCHED_ISO is reserved and the kernel refuses it, as with runc. */
const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

/** sched_setattr(2) flags (linux/sched.h). */
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

/** ioprio_set(2) classes (linux/ioprio.h); the value is class << 13 | level. */
const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

/** set_mempolicy(2) modes and mode flags (linux/mempolicy.h). */
export const MEMPOLICY_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const MEMPOLICY_FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

/** The highest CPU or NUMA node number a list may name (runc's limit: a bogus value must not size a huge mask). */
export const MAX_CPU = 64 * 1024;

/**
 * A list in the kernel's list format ("0-3,7", runc's reading: spaces around elements and empty elements are
 * allowed) → a bit mask in 64-bit words, lowest first, as sched_setaffinity(2) and set_mempolicy(2) take it.
 * An empty list is no mask at all.
 */
export function listMask(list: string, field: string): bigint[] {
  const words: bigint[] = [];
  for (const raw of list.split(',')) {
    const element = raw.trim();
    if (element === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(element);
    if (!m) throw new ConfigError(`${field}: "${element}" is not a number or a range (the format is like "0-3,7")`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (end > MAX_CPU) throw new ConfigError(`${field}: ${end} is above the highest number supported (${MAX_CPU})`);
    if (start > end) throw new ConfigError(`${field}: invalid range "${element}"`);
    for (let n = start; n <= end; n++) {
      const w = n >> 6;
      while (words.length <= w) words.push(0n);
      words[w]! |= 1n << BigInt(n & 63);
    }
  }
  return words;
}

export function personalityStep(p: LinuxPersonality | undefined): Step[] {
  if (!p) return [];
  if (p.domain === undefined) throw new ConfigError('linux.personality.domain: is required');
  // runtime-spec 1.3 defines no flag; runc ignores them with a warning, runt never ignores a field
  if (p.flags?.length) throw new ConfigError(`linux.personality.flags: no personality flag is supported (got "${p.flags[0]}")`);
  return [step('PERSONALITY', [PERSONALITY_DOMAINS[p.domain]!], 'linux.personality')];
}

/** runc's checks (validate.scheduler), with each field named. */
export function schedulerStep(s: Scheduler | undefined): Step[] {
  if (!s) return [];
  const F = 'process.scheduler';
  const nice = s.nice ?? 0;
  const priority = s.priority ?? 0;
  if ((s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH') && (nice < -20 || nice > 19)) {
    throw new ConfigError(`${F}.nice: ${nice} is not in -20..19 (policy ${s.policy})`);
  }
  if (priority !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
    throw new ConfigError(`${F}.priority: can only be given with the SCHED_FIFO or SCHED_RR policy`);
  }
  if (s.policy !== 'SCHED_DEADLINE' && (s.runtime || s.deadline || s.period)) {
    throw new ConfigError(`${F}: runtime, deadline and period can only be given with the SCHED_DEADLINE policy`);
  }
  let flags = 0;
  for (const [i, f] of (s.flags ?? []).entries()) {
    const bit = SCHED_FLAGS[f];
    if (bit === undefined) throw new ConfigError(`${F}.flags[${i}]: unknown scheduler flag "${f}"`);
    flags |= bit;
  }
  const u64 = (v: number | undefined): bigint => BigInt(Math.trunc(v ?? 0));
  return [step('SCHED_SETATTR', [SCHED_POLICIES[s.policy]!, flags, nice, priority, u64(s.runtime), u64(s.deadline), u64(s.period)], F)];
}

export function ioPriorityStep(io: IOPriority | undefined): Step[] {
  if (!io) return [];
  const level = io.priority ?? 0;
  if (!Number.isInteger(level) || level < 0 || level > 7) {
    throw new ConfigError(`process.ioPriority.priority: ${level} is not in 0 (highest) .. 7 (lowest)`);
  }
  return [step('IOPRIO_SET', [(IOPRIO_CLASSES[io.class]! << 13) | level], 'process.ioPriority')];
}

/** runc's checks (validate.memoryPolicy): which modes take nodes, which need some. */
export function memoryPolicyStep(mp: LinuxMemoryPolicy | undefined): Step[] {
  if (!mp) return [];
  const F = 'linux.memoryPolicy';
  if (mp.mode === undefined) throw new ConfigError(`${F}.mode: is required`);
  const nodes = listMask(mp.nodes ?? '', `${F}.nodes`);
  const count = nodes.reduce((n, w) => n + w.toString(2).replace(/0/g, '').length, 0);
  if ((mp.mode === 'MPOL_DEFAULT' || mp.mode === 'MPOL_LOCAL') && count) {
    throw new ConfigError(`${F}.nodes: mode ${mp.mode} takes no nodes, got ${count}`);
  }
  if (mp.mode !== 'MPOL_DEFAULT' && mp.mode !== 'MPOL_LOCAL' && mp.mode !== 'MPOL_PREFERRED' && !count) {
    throw new ConfigError(`${F}.nodes: mode ${mp.mode} needs at least one node`);
  }
  let mode = MEMPOLICY_MODES[mp.mode]!;
  for (const f of mp.flags ?? []) mode |= MEMPOLICY_FLAGS[f]!;
  return [step('SET_MEMPOLICY', [mode, ...nodes], F)];
}

/** The process's own kernel attributes, in runc's order: scheduler, I/O priority, personality, memory policy. */
export function processAttributeSteps(proc: { scheduler?: Scheduler; ioPriority?: IOPriority }, linux: Linux | undefined): Step[] {
  return [
    ...schedulerStep(proc.scheduler),
    ...ioPriorityStep(proc.ioPriority),
    ...personalityStep(linux?.personality),
    ...memoryPolicyStep(linux?.memoryPolicy),
  ];
}

export interface AffinitySteps {
  /** The shim's parent, before it joins anything: the process starts on these CPUs (inherited through clone). */
  initial: Step[];
  /** The child's first step, once the runtime has put it in the container's cgroup (a cpuset move resets it). */
  final: Step[];
}

/**
 * execCPUAffinity: for a process joining the container (config.md: not for its init). An empty or absent list
 * leaves the affinity as it is.
 */
export function execAffinitySteps(aff: CPUAffinity | undefined): AffinitySteps {
  const F = 'process.execCPUAffinity';
  const one = (list: string | undefined, which: 'initial' | 'final'): Step[] => {
    const mask = listMask(list ?? '', `${F}.${which}`);
    return mask.length ? [step('SET_AFFINITY', mask, `${F}.${which}`)] : [];
  };
  return { initial: one(aff?.initial, 'initial'), final: one(aff?.final, 'final') };
}
