// linux.intelRdt on a host without resctrl (this one: no resctrl filesystem in the kernel): create fails
// naming the field before it makes anything. The resctrl writes are tested on a fake tree (test/unit/rdt.test.ts).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { canRun, cgroupDirs, setup } from './harness';

const skip = canRun() || (/ - resctrl /.test(readFileSync('/proc/self/mountinfo', 'utf8')) && 'resctrl is mounted on this host');
if (skip) t.plan(0, skip);

t.test('create with intelRdt and no resctrl mounted: a clear error, nothing left behind', async (t) => {
  const env = setup(t);
  const id = env.id('rdt');
  const bundle = env.bundle(['true'], (s) => {
    s.linux!.intelRdt = { closID: 'gold', l3CacheSchema: 'L3:0=f' };
    s.linux!.cgroupsPath = `/runt-test-rdt-${process.pid}`;
  });
  const r = env.runt(['create', '-b', bundle, id]);
  t.equal(r.status, 1);
  t.equal(r.stderr, 'runt: linux.intelRdt: no resctrl filesystem is mounted (Intel RDT is not available on this host)\n');
  t.equal(env.runt(['state', id]).status, 1, 'no container');
  t.same(cgroupDirs(`runt-test-rdt-${process.pid}`), [], 'no cgroup');
});
