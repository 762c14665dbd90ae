// The PlanContext the unit tests build plans with: a made-up host (a source ending in .txt is a file, one
// with "missing" in its path does not exist, anything else is a directory) and no warnings kept.
import type { PlanContext } from '../../src/plan';
import type { HostFacts } from '../../src/plan/types';

export const FAKE_HOST: HostFacts = {
  lastCap: 40,
  kindOf: (p) => (p.endsWith('.txt') ? 'file' : p.includes('missing') ? 'missing' : 'dir'),
  isProcfs: (p) => p === '/proc',
  inUserNamespace: false,
  lsm: { selinux: false },
};

export function planContext(over: Partial<PlanContext> = {}): PlanContext {
  return {
    bundle: '/b',
    mode: 'detach',
    execFifo: '/run/runt/c/exec.fifo',
    noPivot: false,
    preserveFds: 0,
    host: FAKE_HOST,
    cgroupMountSteps: () => [],
    warn: () => undefined,
    ...over,
  };
}
