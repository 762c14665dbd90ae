// What the plan marks for the shim's protections (native-shim/README.md: MOUNT's last field, WRITE_PROC) and
// tmpcopyup. No root needed.
import t from 'tap';
import { defaultSpec } from '../../src/lifecycle/spec';
import { buildChildPlan, buildParentPlan } from '../../src/plan';
import { MOUNT_OPTIONS } from '../../src/plan/mounts';
import type { Step } from '../../src/plan/types';
import type { Spec } from '../../src/spec/generated/types';
import { planContext } from './plan-context';

function childPlan(edit: (s: Spec) => void): Step[] {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  edit(s);
  const ctx = planContext();
  return buildChildPlan(s, buildParentPlan(s, ctx).namespaces, ctx, '{}');
}

const mountAt = (steps: Step[], target: string): Step | undefined => steps.find((s) => s.op === 'MOUNT' && s.args[1] === target);

t.test('proc and sysfs targets are never followed: their MOUNT says nofollow; every target is guarded against /proc', async (t) => {
  const steps = childPlan((s) => s.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs' }));
  t.same(mountAt(steps, '/proc')!.args.slice(5), ['dir', 'procguard,nofollow']);
  t.same(mountAt(steps, '/sys')!.args.slice(5), ['dir', 'procguard,nofollow']);
  t.same(mountAt(steps, '/data')!.args.slice(5), ['dir', 'procguard']);
});

t.test("mounts over /proc as runc's checkProcMount: a procfs on /proc, lxcfs's files, nothing else", async (t) => {
  const add = (m: object) => (s: Spec) => {
    s.mounts!.push(m as never);
  };
  t.throws(
    () => childPlan(add({ destination: '/proc/sys/kernel/core_pattern', type: 'bind', source: '/etc/x' })),
    /^mounts\[7\]\.destination: "\/proc\/sys\/kernel\/core_pattern" cannot be mounted because it is inside \/proc$/,
  );
  t.throws(() => childPlan(add({ destination: '/proc//', type: 'tmpfs', source: 'tmpfs' })), /"\/proc" cannot be mounted because it is not of type proc/);
  t.throws(() => childPlan(add({ destination: '/proc', type: 'bind', source: '/srv' })), /not of type proc/, 'a bind of what is not a procfs');
  t.ok(childPlan(add({ destination: '/proc', type: 'bind', source: '/proc' })).some((s) => s.op === 'BIND' && s.args[1] === '/proc'));
  t.ok(
    childPlan(add({ destination: '/proc/meminfo', type: 'bind', source: '/lxcfs/meminfo.txt' })).some((s) => s.op === 'BIND' && s.args[1] === '/proc/meminfo'),
  );
  t.ok(
    childPlan(add({ destination: '/x/../proc/cpuinfo', type: 'bind', source: '/c.txt' })).some((s) => s.args[1] === '/proc/cpuinfo'),
    'the destination is cleaned',
  );
});

t.test('tmpcopyup: a flag of the tmpfs MOUNT, not mount data; refused for other mounts; in features', async (t) => {
  const steps = childPlan((s) => s.mounts!.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'tmpcopyup', 'mode=755'] }));
  t.same(mountAt(steps, '/etc')!.args.slice(3), [2, 'mode=755', 'dir', 'procguard,copyup']);
  const bind = (s: Spec) => s.mounts!.push({ destination: '/x', type: 'bind', source: '/srv', options: ['rbind', 'tmpcopyup'] });
  t.throws(() => childPlan(bind), /^mounts\[\d+\]\.options\[1\]: mount option "tmpcopyup" is for tmpfs mounts only$/);
  const proc = (s: Spec) => s.mounts!.push({ destination: '/p', type: 'proc', source: 'proc', options: ['tmpcopyup'] });
  t.throws(() => childPlan(proc), /options\[0\]: mount option "tmpcopyup" is for tmpfs mounts only/);
  t.ok(MOUNT_OPTIONS.includes('tmpcopyup'));
});

t.test("sysctls are written through the shim's private procfs (WRITE_PROC, relative paths)", async (t) => {
  const steps = childPlan((s) => {
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  });
  t.same(
    steps.filter((s) => s.op === 'WRITE_PROC'),
    [{ op: 'WRITE_PROC', args: ['sys/net/ipv4/ip_forward', '1'], field: 'linux.sysctl["net.ipv4.ip_forward"]' }],
  );
  t.notOk(steps.some((s) => s.op === 'WRITE'));
});
