// What the plan marks for the shim's protections (native-shim/README.md: MOUNT's last field, WRITE_PROC) and
// tmpcopyup. No root needed.
import t from 'tap';
import { defaultSpec } from '../../src/commands/spec';
import { buildChildPlan, buildParentPlan } from '../../src/plan';
import { MOUNT_OPTIONS } from '../../src/plan/mounts';
import type { Step } from '../../src/plan/types';
import type { Spec } from '../../src/spec/types';
import { planContext } from './plan-context';

function childPlan(edit: (s: Spec) => void): Step[] {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  edit(s);
  const ctx = planContext();
  return buildChildPlan(s, buildParentPlan(s, ctx).namespaces, ctx, '{}');
}

const mountAt = (steps: Step[], target: string): Step | undefined => steps.find((s) => s.op === 'MOUNT' && s.args[1] === target);

t.test('proc and sysfs targets are never followed: their MOUNT says nofollow; other mounts are unchanged', async (t) => {
  const steps = childPlan((s) => s.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs' }));
  t.same(mountAt(steps, '/proc')!.args.slice(5), ['dir', 'nofollow']);
  t.same(mountAt(steps, '/sys')!.args.slice(5), ['dir', 'nofollow']);
  t.same(mountAt(steps, '/data')!.args.slice(5), ['dir'], 'no last field');
});

t.test('tmpcopyup: a flag of the tmpfs MOUNT, not mount data; refused for other mounts; in features', async (t) => {
  const steps = childPlan((s) => s.mounts!.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'tmpcopyup', 'mode=755'] }));
  t.same(mountAt(steps, '/etc')!.args.slice(3), [2, 'mode=755', 'dir', 'copyup']);
  const bind = (s: Spec) => s.mounts!.push({ destination: '/x', type: 'bind', source: '/srv', options: ['rbind', 'tmpcopyup'] });
  t.throws(() => childPlan(bind), /^mounts\[\d+\]\.options\[1\]: mount option "tmpcopyup" is for tmpfs mounts only$/);
  const proc = (s: Spec) => s.mounts!.push({ destination: '/p', type: 'proc', source: 'proc', options: ['tmpcopyup'] });
  t.throws(() => childPlan(proc), /options\[0\]: mount option "tmpcopyup" is for tmpfs mounts only/);
  t.ok(MOUNT_OPTIONS.includes('tmpcopyup'));
});

t.test('sysctls are written through the shim\'s private procfs (WRITE_PROC, relative paths)', async (t) => {
  const steps = childPlan((s) => { s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' }; });
  t.same(steps.filter((s) => s.op === 'WRITE_PROC'), [{ op: 'WRITE_PROC', args: ['sys/net/ipv4/ip_forward', '1'], field: 'linux.sysctl["net.ipv4.ip_forward"]' }]);
  t.notOk(steps.some((s) => s.op === 'WRITE'));
});
