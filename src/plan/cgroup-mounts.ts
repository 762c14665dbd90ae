// A config.json mount of type "cgroup" expands to several mounts (one per hierarchy on v1, see
// cgroups/mount.ts); this turns that list into plan steps like any other mount.
import type { CgroupMountOp } from '../cgroups';
import type { Mount } from '../spec/generated/types';
import { mountSteps } from './mounts';
import { step, type Step } from './types';

/** The cgroup dirs it binds always exist and are directories: no host lookups needed. */
const CGROUP_HOST = { lastCap: 0, inUserNamespace: false, kindOf: () => 'dir' as const, isProcfs: () => false, lsm: { selinux: false } };

export function cgroupMountSteps(ops: CgroupMountOp[], mount: Mount, field: string): Step[] {
  const steps: Step[] = [];
  for (const op of ops) {
    if (op.kind === 'symlink') {
      steps.push(step('SYMLINK', [op.target, `${mount.destination}/${op.linkpath}`], field));
      continue;
    }
    const destination = op.target ? `${mount.destination}/${op.target}` : mount.destination;
    steps.push(...mountSteps({ destination, source: op.source, type: op.fstype, options: op.options }, field, '/', CGROUP_HOST));
  }
  return steps;
}
