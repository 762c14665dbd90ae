// The plan: what the shim executes, as data. Builders in this folder are pure: config and host facts in,
// steps out. See native-shim/README.md for every op.
import type { CgroupHost } from '../cgroups/host';
import { UserError } from '../errors';
import type { LsmFacts } from './lsm';

export type Arg = string | number | bigint;

export interface Step {
  op: string;
  args: Arg[];
  /** The config.json field this step comes from, to name it when the step fails. */
  field?: string;
}

/** What the builders need to know about the host; the caller looks it up, tests make it up. */
export interface HostFacts {
  /** /proc/sys/kernel/cap_last_cap */
  lastCap: number;
  /** Kind of a host path (a bind mount's source, a device node): to create a dir or a file as target. */
  kindOf(path: string): 'dir' | 'file' | 'missing';
  /** Whether a host path is on a procfs (a bind of one may cover the container's /proc, as runc's checkProcMount). */
  isProcfs(path: string): boolean;
  /** Whether the runtime itself runs in a user namespace other than the initial one (mknod is refused there). */
  inUserNamespace: boolean;
  /** The LSMs that can label the container's process and mounts. */
  lsm: LsmFacts;
}

/**
 * The container's cgroup, as the builders see it: the host's hierarchies and the container's dir in each (made
 * by create's cgroup driver, or to be made: the same paths either way). Read before planning, never looked up
 * by the builders.
 */
export interface CgroupFacts {
  host: CgroupHost;
  /** key: a hierarchy's mount point; value: the container's cgroup dir in it. */
  dirs: Record<string, string>;
}

export function step(op: string, args: Arg[] = [], field?: string): Step {
  return field === undefined ? { op, args } : { op, args, field };
}

/** A user mistake the plan builder found; its message names the config field. */
export class ConfigError extends UserError {}
