// The container's process joins its cgroups by itself (native-shim/cgroup.c): the parent opens the v1
// `tasks` files and the cgroup2 directory before anything is joined, CLONE puts the child in that directory,
// and the child's first steps write 0 (itself) to each `tasks` file. Neither takes the kernel's lock whose
// first use after a quiet while waits for an RCU grace period, as a write of the pid to cgroup.procs does.
import { step, type Step } from './types';

export interface CgroupJoin {
  /** The `tasks` file of each v1 cgroup dir. */
  tasks: string[];
  /** The cgroup2 dir the child is born in (clone3 with CLONE_INTO_CGROUP). */
  into?: string;
}

/** One of the container's cgroup dirs: its hierarchy (mount point) and that hierarchy's version. */
export interface CgroupDir {
  mountPoint: string;
  dir: string;
  version: 1 | 2;
}

/**
 * How the child joins `dirs` by itself: each v1 dir by its `tasks` file, the cgroup2 dir by clone3 where
 * `cloneInto` (the kernel has CLONE_INTO_CGROUP, and the caller allows it). `left`: the dirs the runtime still
 * adds the pid to (mount point → dir).
 */
export function splitCgroupJoin(dirs: CgroupDir[], cloneInto: boolean): { join: CgroupJoin; left: Record<string, string> } {
  const join: CgroupJoin = { tasks: [] };
  const left: Record<string, string> = {};
  for (const { mountPoint, dir, version } of dirs) {
    if (version === 1) join.tasks.push(`${dir}/tasks`);
    else if (cloneInto && join.into === undefined) join.into = dir;
    else left[mountPoint] = dir;
  }
  return { join, left };
}

/** The parent's steps, right before CLONE. */
export function cgroupOpenSteps(join: CgroupJoin | undefined): Step[] {
  if (!join) return [];
  const steps = join.tasks.map((file) => step('CGROUP_TASKS', [file], 'linux.cgroupsPath'));
  if (join.into) steps.push(step('CGROUP_INTO', [join.into], 'linux.cgroupsPath'));
  return steps;
}

/** The child's step that moves it into the v1 cgroups. */
export function cgroupJoinSteps(join: CgroupJoin | undefined): Step[] {
  return join?.tasks.length ? [step('CGROUP_JOIN', [], 'linux.cgroupsPath')] : [];
}
