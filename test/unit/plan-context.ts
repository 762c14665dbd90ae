// The PlanContext the unit tests build plans with: a made-up host (a source ending in .txt is a file, one
// with "missing" in its path does not exist, anything else is a directory, a cgroup v2 host) and no warnings kept.
import type { PlanContext } from '../../src/plan';
import type { CgroupFacts, HostFacts } from '../../src/plan/types';

export const FAKE_HOST: HostFacts = {
  lastCap: 40,
  kindOf: (p) => (p.endsWith('.txt') ? 'file' : p.includes('missing') ? 'missing' : 'dir'),
  isProcfs: (p) => p === '/proc',
  inUserNamespace: false,
  lsm: { selinux: false },
};

/** A cgroup v2 host; the container's cgroup is /runt/c. */
export const FAKE_CGROUP: CgroupFacts = {
  host: { mode: 'v2', hierarchies: [{ version: 2, mountPoint: '/sys/fs/cgroup', root: '/', controllers: ['cpu', 'memory', 'pids'], ownPath: '/' }] },
  dirs: { '/sys/fs/cgroup': '/sys/fs/cgroup/runt/c' },
};

export function planContext(over: Partial<PlanContext> = {}): PlanContext {
  return {
    bundle: '/b',
    mode: 'detach',
    execFifo: '/run/runt/c/exec.fifo',
    noPivot: false,
    preserveFds: 0,
    host: FAKE_HOST,
    cgroup: FAKE_CGROUP,
    warn: () => undefined,
    ...over,
  };
}
