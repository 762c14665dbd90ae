// A config.json mount of type "cgroup" expands to several mounts (one per hierarchy on v1, see
// cgroups/mount.ts); this turns that list into plan steps like any other mount.
import { cgroupMountPlan } from '../cgroups/mount';
import type { Mount } from '../spec/generated/types';
import { mountSteps } from './mounts';
import { ConfigError, step, type CgroupFacts, type Step } from './types';

/** The cgroup dirs it binds always exist and are directories: no host lookups needed. */
const CGROUP_HOST = { lastCap: 0, inUserNamespace: false, kindOf: () => 'dir' as const, isProcfs: () => false, lsm: { selinux: false } };

/** `cgroup`: the container's, none for a rootless container without a delegated cgroup. */
export function cgroupMountSteps(cgroup: CgroupFacts | undefined, mount: Mount, field: string, cgroupns: boolean): Step[] {
  if (!cgroup) throw new ConfigError(`${field}: rootless: the container has no cgroup to mount (none is delegated)`);
  const steps: Step[] = [];
  for (const op of cgroupMountPlan(cgroup.host, cgroup, cgroupns, mount.options)) {
    if (op.kind === 'symlink') {
      steps.push(step('SYMLINK', [op.target, `${mount.destination}/${op.linkpath}`], field));
      continue;
    }
    const destination = op.target ? `${mount.destination}/${op.target}` : mount.destination;
    steps.push(...mountSteps({ destination, source: op.source, type: op.fstype, options: op.options }, field, '/', CGROUP_HOST));
  }
  return steps;
}
