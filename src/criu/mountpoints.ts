// The mount points of a container's mounts, made in its rootfs before CRIU restores it, as runc does: CRIU
// mounts what it restores onto existing paths only, and a rootfs the container was not created on (a copy,
// or one where the directories were removed) may lack the ones create made. The shim makes them the way
// create does (in-root, never through a symlink), in a mount namespace of its own that is gone when it exits:
// a bind mount is made there too, so the mount points of mounts nested in it land in its source, as at
// create; any other mount gets a stand-in tmpfs, since what lies in a filesystem CRIU restores (a tmpfs's
// content) or the kernel provides (proc, sysfs), not the rootfs.
import { UserError } from '../errors';
import type { Spec } from '../spec/generated/types';
import { isBindMount, mountSteps, cleanDestination } from '../plan/mounts';
import { PLAN_VERSION } from '../plan';
import { CLONE, MS } from '../plan/linux';
import { step, type HostFacts, type Step } from '../plan/types';

/** The shim's plan: a child in a new mount namespace, private, whose mounts make the mount points. */
export function mountpointPlan(spec: Spec, bundle: string, rootfs: string, host: HostFacts): { parent: Step[]; child: Step[] } {
  const child: Step[] = [step('MOUNT_PATH', ['', '/', '', MS.rec | MS.private, '']), step('ROOTFS', [rootfs], 'root.path')];
  (spec.mounts ?? []).forEach((m, i) => {
    const field = `mounts[${i}]`;
    // cgroup mounts: on v1 under the cgroup tmpfs CRIU restores, on v2 under /sys (as runc skips them)
    if (m.type === 'cgroup' && !isBindMount(m)) return;
    if (isBindMount(m)) child.push(...mountSteps(m, field, bundle, host));
    else child.push(step('MOUNT', ['tmpfs', cleanDestination(m.destination, field), 'tmpfs', 0, '', 'dir'], field));
  });
  child.push(step('SEND', ['READY']), step('END'));
  return { parent: [step('RUNT-PLAN', [PLAN_VERSION]), step('MODE', ['wait']), step('CLONE', [CLONE.newns]), step('END')], child };
}

/** Runs the plan; a mount point that cannot be made is an error naming its mount. */
export async function makeMountpoints(spec: Spec, bundle: string, rootfs: string, host: HostFacts): Promise<void> {
  const { runShim } = await import('../shim/driver');
  const plan = mountpointPlan(spec, bundle, rootfs, host);
  const session = await runShim(plan.parent, 0, { onPid: () => plan.child });
  const status = await session.exited;
  if (status !== 0) throw new UserError(`making the mount points for the restore: runt-shim exited with status ${status}`);
}
