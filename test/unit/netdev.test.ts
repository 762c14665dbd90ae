// linux.netDevices → NETDEV steps in the parent's segment, right before CLONE; names checked as runc does.
import t from 'tap';
import { defaultSpec } from '../../src/lifecycle/spec';
import { buildParentPlan } from '../../src/plan';
import { namespacePlan } from '../../src/plan/namespaces';
import { netDeviceSteps } from '../../src/plan/netdev';
import { planContext } from './plan-context';

const withNet = namespacePlan([{ type: 'network' }, { type: 'mount' }]);

t.test("one NETDEV per device, its name in the container (the host's when none is given)", async (t) => {
  t.same(netDeviceSteps({ eth1: { name: 'ctr0' }, eth2: {}, eth3: { name: 'eth%d' } }, withNet, false), [
    { op: 'NETDEV', args: ['eth1', 'ctr0'], field: 'linux.netDevices["eth1"]' },
    { op: 'NETDEV', args: ['eth2', 'eth2'], field: 'linux.netDevices["eth2"]' },
    { op: 'NETDEV', args: ['eth3', 'eth%d'], field: 'linux.netDevices["eth3"]' },
  ]);
  t.same(netDeviceSteps(undefined, withNet, false), []);
  const s = defaultSpec(false);
  s.process!.terminal = false;
  s.linux!.netDevices = { eth1: {} };
  const ops = buildParentPlan(s, planContext()).steps.map((x) => x.op);
  t.same(ops.slice(-3), ['NETDEV', 'CLONE', 'END']);
});

t.test('refusals name the field', async (t) => {
  t.throws(
    () => netDeviceSteps({ eth1: {} }, namespacePlan([{ type: 'mount' }]), false),
    /^linux.netDevices: moving network devices needs a network namespace/,
  );
  t.throws(() => netDeviceSteps({ eth1: {} }, withNet, true), /^linux.netDevices: network devices cannot be moved by a rootless runtime/);
  t.throws(() => netDeviceSteps({ 'a:b': {} }, withNet, false), /^linux.netDevices\["a:b"\]: "a:b" is not a valid network device name/);
  t.throws(() => netDeviceSteps({ eth1: { name: 'x'.repeat(16) } }, withNet, false), /^linux.netDevices\["eth1"\].name: "x{16}" is not 1 to 15 bytes long/);
  t.throws(() => netDeviceSteps({ '..': {} }, withNet, false), /is not a valid network device name/);
});

t.test('features says network devices are supported', async (t) => {
  const { features } = await import('../../src/lifecycle/features');
  t.same(features().linux?.netDevices, { enabled: true });
});
