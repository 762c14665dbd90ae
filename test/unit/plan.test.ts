// The plan builders are pure: config in, steps out. No root needed.
import t from 'tap';
import { defaultSpec } from '../../src/commands/spec';
import { buildChildPlan, buildParentPlan, type PlanContext } from '../../src/plan';
import { encodePlan } from '../../src/plan/encode';
import { CLONE, MS } from '../../src/plan/linux';
import { parseMountOptions } from '../../src/plan/mounts';
import { capabilityMasks } from '../../src/plan/process';
import { ConfigError, type Step } from '../../src/plan/types';
import { planContext } from './plan-context';
import type { Spec } from '../../src/spec/types';

/** The cgroup mount expands to one step here: its real expansion is tested in cgroups.test.ts. */
function ctx(over: Partial<PlanContext> = {}): PlanContext {
  return planContext({ cgroupMountSteps: (m, field) => [{ op: 'MOUNT', args: ['cgroup', m.destination, 'tmpfs', 0, '', 'dir'], field }], ...over });
}

function spec(edit: (s: Spec) => void = () => undefined): Spec {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  edit(s);
  return s;
}

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);
const find = (steps: Step[], op: string): Step[] => steps.filter((s) => s.op === op);

t.test('parent: namespaces to create become clone flags; cgroup and time are unshared separately', async (t) => {
  const p = buildParentPlan(spec(), ctx());
  t.same(ops(p.steps), ['RUNT-PLAN', 'MODE', 'OPEN_FIFO', 'CLONE', 'END']);
  t.same(p.steps[0]!.args, [2], 'protocol version 2');
  const flags = find(p.steps, 'CLONE')[0]!.args[0] as number;
  t.equal(flags, CLONE.newpid | CLONE.newnet | CLONE.newipc | CLONE.newuts | CLONE.newns);
  t.ok(p.namespaces.unshareCgroup);
  const child = buildChildPlan(spec(), p.namespaces, ctx(), '{}');
  t.same(child[0], { op: 'UNSHARE', args: [CLONE.newcgroup], field: 'linux.namespaces' });
});

t.test('cgroups the child joins by itself: opened by the parent before CLONE, joined as the child\'s first step', async (t) => {
  const cgroupJoin = { tasks: ['/sys/fs/cgroup/cpu/runt/c/tasks', '/sys/fs/cgroup/pids/runt/c/tasks'], into: '/sys/fs/cgroup/unified/runt/c' };
  const p = buildParentPlan(spec(), ctx({ cgroupJoin }));
  t.same(ops(p.steps), ['RUNT-PLAN', 'MODE', 'OPEN_FIFO', 'CGROUP_TASKS', 'CGROUP_TASKS', 'CGROUP_INTO', 'CLONE', 'END']);
  t.same(find(p.steps, 'CGROUP_TASKS').map((s) => s.args[0]), cgroupJoin.tasks);
  t.same(find(p.steps, 'CGROUP_INTO')[0], { op: 'CGROUP_INTO', args: [cgroupJoin.into], field: 'linux.cgroupsPath' });
  const child = buildChildPlan(spec(), p.namespaces, ctx({ cgroupJoin }), '{}');
  t.same(ops(child).slice(0, 2), ['CGROUP_JOIN', 'UNSHARE'], 'joined before its cgroup namespace is made');
  const rootless = buildChildPlan(spec(), p.namespaces, ctx({ cgroupJoin, rootless: true }), '{}');
  t.same(ops(rootless).slice(0, 2), ['DUMPABLE', 'CGROUP_JOIN'], 'rootless: non-dumpable first');
  const v2only = buildChildPlan(spec(), p.namespaces, ctx({ cgroupJoin: { tasks: [], into: cgroupJoin.into } }), '{}');
  t.notOk(ops(v2only).includes('CGROUP_JOIN'), 'nothing to join in the child when clone3 did it all');
});

t.test('parent: joined namespaces are setns steps, user first; time offsets are written', async (t) => {
  const s = spec((s) => {
    s.linux!.namespaces = [{ type: 'network', path: '/proc/1/ns/net' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'mount' }, { type: 'time' }];
    s.linux!.timeOffsets = { monotonic: { secs: 7, nanosecs: 0 } };
    s.hostname = undefined;
  });
  const p = buildParentPlan(s, ctx());
  t.same(find(p.steps, 'SETNS').map((x) => x.args), [['/proc/1/ns/user', CLONE.newuser], ['/proc/1/ns/net', CLONE.newnet]]);
  t.same(find(p.steps, 'UNSHARE')[0]!.args, [CLONE.newtime]);
  t.same(find(p.steps, 'WRITE_PROC')[0]!.args, ['self/timens_offsets', 'monotonic 7 0\n']);
  t.equal(find(p.steps, 'CLONE')[0]!.args[0], CLONE.newns);
});

t.test('semantic errors name the field', async (t) => {
  const bad = (edit: (s: Spec) => void, re: RegExp): void => {
    t.throws(() => buildParentPlan(spec(edit), ctx()), re);
  };
  bad((s) => { s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts'); }, /^hostname: .*uts/);
  bad((s) => { s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount'); }, /linux.namespaces: a mount namespace is required/);
  bad((s) => { s.linux!.namespaces!.push({ type: 'pid' }); }, /linux.namespaces\[\d\].type: namespace "pid" is given twice/);
  bad((s) => { s.linux!.namespaces!.push({ type: 'user' }); }, /linux.uidMappings: a new user namespace needs/);
  bad((s) => { s.linux!.sysctl = { 'kernel.panic': '1' }; }, /linux.sysctl\["kernel.panic"\]: .*not in a separate kernel namespace/);
  bad((s) => { s.process!.terminal = true; }, /process.terminal: a terminal needs --console-socket/);
  t.throws(() => buildChildPlan(spec((s) => { s.process!.capabilities!.bounding = ['CAP_NOPE']; }), buildParentPlan(spec(), ctx()).namespaces, ctx(), '{}'),
    new ConfigError('process.capabilities.bounding[0]: unknown capability "CAP_NOPE"'));
  t.throws(() => buildChildPlan(spec((s) => { s.process!.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]; }), buildParentPlan(spec(), ctx()).namespaces, ctx(), '{}'),
    /process.rlimits\[0\].type: unknown rlimit "RLIMIT_BOGUS"/);
});

t.test('child: rootfs, mounts, devices, pivot, then process setup, fifo, exec', async (t) => {
  const s = spec();
  const p = buildParentPlan(s, ctx());
  const child = buildChildPlan(s, p.namespaces, ctx(), '{"id":"c"}');
  const seq = ops(child);
  const order = ['MOUNT_PATH', 'ROOTFS', 'SETHOSTNAME', 'MOUNT', 'MKNOD', 'SYMLINK', 'PIVOT', 'MASK', 'READONLY', 'REMOUNT',
    'SETRLIMIT', 'BOUNDING_DROP', 'SETRESUID', 'CAPSET', 'NO_NEW_PRIVS', 'CHDIR', 'FIND_EXEC', 'CLOSE_FDS', 'SEND', 'WAIT_FIFO', 'EXEC', 'END'];
  let last = -1;
  for (const op of order) {
    const at = seq.indexOf(op, last + 1);
    t.ok(at > last, `${op} comes after the previous ones`);
    last = at;
  }
  t.same(child[1], { op: 'MOUNT_PATH', args: ['', '/', '', MS.slave | MS.rec, ''], field: 'linux.rootfsPropagation' });
  t.same(child[2]!.args, ['/b/rootfs', '/b/rootfs', '', MS.bind | MS.rec, '']);
  t.same(find(child, 'MKNOD').map((m) => m.args[0]), ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
  t.same(find(child, 'MKNOD')[0]!.args, ['/dev/null', 0o20666, 1, 3, 0, 0]);
  t.ok(find(child, 'SYMLINK').some((l) => l.args[0] === 'pts/ptmx' && l.args[1] === '/dev/ptmx'));
  const proc = find(child, 'MOUNT').find((m) => m.args[1] === '/proc')!;
  t.same(proc, { op: 'MOUNT', args: ['proc', '/proc', 'proc', 0, '', 'dir', 'nofollow'], field: 'mounts[0]' });
  const dev = find(child, 'MOUNT').find((m) => m.args[1] === '/dev')!;
  t.same(dev.args, ['tmpfs', '/dev', 'tmpfs', MS.nosuid | MS.strictatime, 'mode=755,size=65536k', 'dir']);
  t.same(find(child, 'REMOUNT').at(-1), { op: 'REMOUNT', args: ['/', MS.bind | MS.rdonly], field: 'root.readonly' });
  t.same(find(child, 'SEND')[0]!.args, ['READY']);
  t.notOk(seq.includes('WAIT'), 'no hooks, no extra round trip');
  t.same(find(child, 'FIND_EXEC')[0]!.args, ['sh', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.same(find(child, 'EXEC')[0]!.args, [1, 'sh', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm']);
  t.same(find(child, 'CLOSE_FDS')[0]!.args, [3]);
});

t.test('child: bind mounts remount for their flags; user namespaces bind devices instead of mknod', async (t) => {
  const s = spec((s) => {
    s.mounts!.push({ destination: '/data', source: 'data.txt', options: ['rbind', 'ro', 'rprivate'] });
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  const child = buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx(), '{}');
  const data = child.filter((x) => x.args[0] === '/b/data.txt' || x.args[0] === '/data');
  t.same(data.map((x) => [x.op, ...x.args]), [
    ['MOUNT', '/b/data.txt', '/data', '', MS.bind | MS.rec, '', 'file'],
    ['REMOUNT', '/data', MS.bind | MS.rdonly],
    ['REMOUNT', '/data', MS.private | MS.rec],
  ]);
  t.same(find(child, 'MKNOD'), []);
  t.ok(find(child, 'MOUNT').some((m) => m.args[0] === '/dev/null' && m.args[1] === '/dev/null' && m.args[5] === 'file'));
});

t.test('child: hooks in the container get the state; runtime hooks add a sync point', async (t) => {
  const s = spec((s) => {
    s.hooks = {
      createRuntime: [{ path: '/bin/true' }],
      createContainer: [{ path: '/bin/cc', args: ['cc', '-x'], env: ['A=1'], timeout: 3 }],
      startContainer: [{ path: '/bin/sc' }],
    };
  });
  const child = buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx(), '{"s":1}');
  const seq = ops(child);
  t.ok(seq.indexOf('SEND') < seq.indexOf('WAIT') && seq.indexOf('WAIT') < seq.indexOf('HOOK') && seq.indexOf('HOOK') < seq.indexOf('PIVOT'));
  t.same(find(child, 'HOOK').map((h) => [h.field, ...h.args]), [
    ['hooks.createContainer[0]', '/bin/cc', 3, 2, 'cc', '-x', 'A=1', '{"s":1}'],
    ['hooks.startContainer[0]', '/bin/sc', 0, 1, '/bin/sc', '{"s":1}'],
  ]);
  t.ok(seq.lastIndexOf('HOOK') > seq.indexOf('WAIT_FIFO'), 'startContainer runs after start');
});

t.test('mount options: flags, clearing options, propagation, data', async (t) => {
  t.same(parseMountOptions(['ro', 'rw', 'nosuid', 'noexec', 'size=1k', 'rshared', 'mode=700'], 'mounts[0]'),
    { flags: MS.nosuid | MS.noexec, propagation: [MS.shared | MS.rec], data: 'size=1k,mode=700', copyUp: false });
  t.throws(() => parseMountOptions(['idmap'], 'mounts[3]'), /mounts\[3\].options\[0\]: mount option "idmap" is not supported/);
});

t.test('capabilities: names to masks; a cap this kernel lacks is warned about', async (t) => {
  const warnings: string[] = [];
  const m = capabilityMasks({ effective: ['CAP_CHOWN', 'CAP_KILL'], bounding: ['CAP_CHECKPOINT_RESTORE'] }, 39, (w) => warnings.push(w));
  t.equal(m.effective, (1n << 0n) | (1n << 5n));
  t.equal(m.bounding, 0n);
  t.match(warnings[0], /CAP_CHECKPOINT_RESTORE is not supported by this kernel/);
});

t.test('encoding: records of length-prefixed fields', async (t) => {
  const buf = encodePlan([{ op: 'SEND', args: ['READY'] }, { op: 'END', args: [] }]);
  t.same([...buf], [2, 0, 0, 0, 4, 0, 0, 0, ...Buffer.from('SEND'), 5, 0, 0, 0, ...Buffer.from('READY'), 1, 0, 0, 0, 3, 0, 0, 0, ...Buffer.from('END')]);
  t.throws(() => encodePlan([{ op: 'WRITE_PROC', args: ['a\0b'], field: 'linux.sysctl' }]), new ConfigError('linux.sysctl: a value contains a NUL byte'));
});

t.test('ambient capabilities: only those permitted and inheritable are raised, the others warned about', async (t) => {
  const warnings: string[] = [];
  const s = spec((s) => {
    s.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_KILL'], effective: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN'] };
  });
  const child = buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx({ warn: (w) => warnings.push(w) }), '{}');
  t.same(find(child, 'AMBIENT_RAISE')[0]!.args, [5]);
  t.match(warnings.join('\n'), /process.capabilities.ambient: CAP_CHOWN not in both the permitted and inheritable sets/);
});
