// cgroups: detection from fake /proc trees, path resolution, resource writes (v1, v2), the cgroup mount plan,
// create/apply/add/remove against a fake cgroupfs in a tmpdir, and one real run on this host (root only).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import {
  type CgroupHost, type CgroupSet, type Probe, type Write, DEFAULT_DEVICE_RULES, SYSTEMD_NOT_RUNNING, addProcess,
  applyResources, blkioToIoWeight, cgroupDir, cgroupMountPlan, cgroupfsManager, createCgroup, detectHost, deviceRuleV1,
  pidsOf, removeCgroup, resolveCgroupsPath, resourceWrites, sharesToWeight,
} from '../../src/cgroups';
import type { LinuxResources } from '../../src/spec/types';


function tmpdir(tt: { teardown(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'runt-cg-'));
  tt.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const read = (file: string): string => fs.readFileSync(file, 'utf8');

/** A fake /proc/self with the given mountinfo lines and /proc/self/cgroup text. */
function fakeProc(root: string, mountinfo: string[], cgroup: string): string {
  const proc = path.join(root, 'proc');
  write(path.join(proc, 'self/mountinfo'), mountinfo.join('\n') + '\n');
  write(path.join(proc, 'self/cgroup'), cgroup);
  return proc;
}

const V1_HYBRID = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];

/** Like this host: v1 controllers one per hierarchy, name=systemd, cgroup2 at unified with hugetlb only. */
function hybridTree(root: string): { proc: string; cg: string } {
  const cg = path.join(root, 'cg');
  const lines = [
    `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw`,
    `31 23 0:28 / ${cg} rw,relatime - tmpfs tmpfs rw,mode=755`,
  ];
  V1_HYBRID.forEach((c, i) => lines.push(`${32 + i} 31 0:${29 + i} / ${cg}/${c} rw,relatime - cgroup cgroup rw,${c}`));
  lines.push(`40 31 0:37 / ${cg}/systemd rw,relatime - cgroup cgroup rw,name=systemd`);
  lines.push(`41 31 0:38 / ${cg}/unified rw,relatime - cgroup2 cgroup2 rw`);
  for (const c of [...V1_HYBRID, 'systemd', 'unified']) fs.mkdirSync(path.join(cg, c), { recursive: true });
  write(path.join(cg, 'unified/cgroup.controllers'), 'hugetlb\n');
  write(path.join(cg, 'unified/cgroup.subtree_control'), '\n');
  write(path.join(cg, 'cpuset/cpuset.cpus'), '0-1\n');
  write(path.join(cg, 'cpuset/cpuset.mems'), '0\n');
  const cgroup = [
    '9:name=systemd:/', '8:pids:/', '7:blkio:/', '6:freezer:/', '5:devices:/',
    '4:memory:/process_api/abc', '3:cpuset:/', '2:cpuacct:/', '1:cpu:/', '0::/',
  ].join('\n') + '\n';
  return { proc: fakeProc(root, lines, cgroup), cg };
}

/** Pure v1 with co-mounted cpu,cpuacct and net_cls,net_prio; a mount point with a space in it. */
function v1Tree(root: string): { proc: string; cg: string } {
  const cg = path.join(root, 'cg');
  const esc = (p: string) => p.replace(/ /g, '\\040');
  const lines = [
    `31 23 0:28 / ${cg} rw - tmpfs tmpfs rw,mode=755`,
    `32 31 0:29 / ${cg}/systemd rw - cgroup cgroup rw,xattr,release_agent=/x,name=systemd`,
    `33 31 0:30 / ${cg}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct`,
    `34 31 0:31 / ${cg}/memory rw - cgroup cgroup rw,memory`,
    `35 31 0:32 / ${esc(cg + '/net cls')} rw - cgroup cgroup rw,net_cls,net_prio`,
    // a second mount of the memory hierarchy showing only a sub-cgroup: the full one wins
    `36 23 0:31 /sub /mnt/memsub rw - cgroup cgroup rw,memory`,
  ];
  const cgroup = '5:name=systemd:/user\n4:cpu,cpuacct:/user\n3:memory:/user/x\n2:net_cls,net_prio:/\n';
  return { proc: fakeProc(root, lines, cgroup), cg };
}

/** Pure v2 at the root. */
function v2Tree(root: string): { proc: string; cg: string } {
  const cg = path.join(root, 'cg');
  write(path.join(cg, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids\n');
  write(path.join(cg, 'cgroup.subtree_control'), '\n');
  const lines = [`30 23 0:27 / ${cg} rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate`];
  return { proc: fakeProc(root, lines, '0::/user.slice/session-1.scope\n'), cg };
}

const hybridHost = (cg: string): CgroupHost => ({
  mode: 'hybrid',
  hierarchies: [
    ...V1_HYBRID.map((c) => ({ version: 1 as const, mountPoint: `${cg}/${c}`, root: '/', controllers: [c], ownPath: '/' })),
    { version: 1, mountPoint: `${cg}/systemd`, root: '/', controllers: ['name=systemd'], ownPath: '/' },
    { version: 2, mountPoint: `${cg}/unified`, root: '/', controllers: ['hugetlb'], ownPath: '/' },
  ],
});
const v1Host = (cg: string): CgroupHost => ({
  mode: 'v1',
  hierarchies: [
    { version: 1, mountPoint: `${cg}/cpu,cpuacct`, root: '/', controllers: ['cpu', 'cpuacct'], ownPath: '/' },
    { version: 1, mountPoint: `${cg}/memory`, root: '/', controllers: ['memory'], ownPath: '/' },
    { version: 1, mountPoint: `${cg}/systemd`, root: '/', controllers: ['name=systemd'], ownPath: '/' },
  ],
});
const v2Host = (cg: string, controllers = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids']): CgroupHost => ({
  mode: 'v2',
  hierarchies: [{ version: 2, mountPoint: cg, root: '/', controllers, ownPath: '/' }],
});

/** "v<version> <file>=<value> <field>" per write, for readable comparisons. */
const show = (ws: Write[]): string[] => ws.map((w) => `v${w.version} ${w.file}=${w.value} <${w.field}>`);
const probeWithout = (...missing: string[]): Probe => ({ exists: (_v, _c, f) => !missing.includes(f) && f !== 'io.bfq.weight' && f !== 'blkio.bfq.weight' });
const probeWith = (...extra: string[]): Probe => ({ exists: (_v, _c, f) => extra.includes(f) || (f !== 'io.bfq.weight' && f !== 'blkio.bfq.weight') });

const M = 1024 * 1024;

t.test('detectHost', async (t) => {
  t.test('hybrid, like this host', async (t) => {
    const { proc, cg } = hybridTree(tmpdir(t));
    const host = detectHost(proc);
    t.equal(host.mode, 'hybrid');
    t.same(host.hierarchies.map((h) => [h.version, h.mountPoint, h.controllers.join(','), h.ownPath]), [
      ...V1_HYBRID.map((c) => [1, `${cg}/${c}`, c, c === 'memory' ? '/process_api/abc' : '/']),
      [1, `${cg}/systemd`, 'name=systemd', '/'],
      [2, `${cg}/unified`, 'hugetlb', '/'],
    ]);
    t.ok(host.hierarchies.every((h) => h.root === '/'));
  });

  t.test('pure v1: co-mounted controllers, named hierarchy, escaped mount point, duplicate mount', async (t) => {
    const { proc, cg } = v1Tree(tmpdir(t));
    const host = detectHost(proc);
    t.equal(host.mode, 'v1');
    t.same(host.hierarchies.map((h) => [h.mountPoint, h.root, h.controllers, h.ownPath]), [
      [`${cg}/systemd`, '/', ['name=systemd'], '/user'],
      [`${cg}/cpu,cpuacct`, '/', ['cpu', 'cpuacct'], '/user'],
      [`${cg}/memory`, '/', ['memory'], '/user/x'],
      [`${cg}/net cls`, '/', ['net_cls', 'net_prio'], '/'],
    ]);
  });

  t.test('pure v2', async (t) => {
    const { proc, cg } = v2Tree(tmpdir(t));
    const host = detectHost(proc);
    t.equal(host.mode, 'v2');
    t.same(host.hierarchies, [{
      version: 2, mountPoint: cg, root: '/', controllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'],
      ownPath: '/user.slice/session-1.scope',
    }]);
  });

  t.test('v2 with a named v1 hierarchy is still v2; no cgroup mount at all is an error', async (t) => {
    const d = tmpdir(t);
    const proc = fakeProc(d, [
      `30 23 0:27 / ${d}/cg rw - cgroup2 cgroup2 rw`,
      `31 23 0:28 / ${d}/sd rw - cgroup cgroup rw,none,name=systemd`,
    ], '1:name=systemd:/\n0::/\n');
    t.equal(detectHost(proc).mode, 'v2');
    const none = fakeProc(path.join(d, 'x'), ['22 1 0:21 / /proc rw - proc proc rw'], '0::/\n');
    t.throws(() => detectHost(none), /no cgroup filesystem is mounted/);
  });

  t.test('this host parses', async (t) => {
    const host = detectHost();
    t.ok(host.hierarchies.length > 0);
    t.ok(['v1', 'v2', 'hybrid'].includes(host.mode));
  });
});

t.test('resolveCgroupsPath and cgroupDir', async (t) => {
  t.equal(resolveCgroupsPath(undefined, 'c1', false), '/runt/c1');
  t.equal(resolveCgroupsPath('', 'c1', false), '/runt/c1');
  t.equal(resolveCgroupsPath('/a/b/../c/', 'c1', false), '/a/c');
  t.equal(resolveCgroupsPath('/../../x', 'c1', false), '/x');
  t.equal(resolveCgroupsPath('a/./b', 'c1', false), 'a/b', 'relative stays relative');
  t.equal(resolveCgroupsPath('a/../../../b', 'c1', false), 'b', 'a relative path cannot climb out');
  t.equal(resolveCgroupsPath('system.slice:runc:c1', 'c1', false), 'system.slice:runc:c1',
    'like runc, the systemd form is a plain relative path for the cgroupfs driver');
  t.throws(() => resolveCgroupsPath('/', 'c1', false), /^linux\.cgroupsPath: .*root cgroup/);
  t.throws(() => resolveCgroupsPath('.', 'c1', false), /^linux\.cgroupsPath: /);
  t.throws(() => resolveCgroupsPath(undefined, '../x', false), /invalid container id/);

  const d = tmpdir(t);
  t.throws(() => resolveCgroupsPath('system.slice:runc:c1', 'c1', true, path.join(d, 'nope')), { message: SYSTEMD_NOT_RUNNING });
  t.equal(SYSTEMD_NOT_RUNNING, 'systemd cgroup driver requested (--systemd-cgroup), but systemd is not running on this host');
  t.throws(() => resolveCgroupsPath('/a/b', 'c1', true, d), /expected "slice:prefix:name"/);
  t.throws(() => resolveCgroupsPath('system.slice:runc:c1', 'c1', true, d), /systemd cgroup driver .* not supported by runt yet/);

  const h = { version: 1 as const, mountPoint: '/cg/memory', root: '/', controllers: ['memory'], ownPath: '/process_api/abc' };
  t.equal(cgroupDir(h, '/runt/c1'), '/cg/memory/runt/c1');
  t.equal(cgroupDir(h, 'rel/c1'), '/cg/memory/process_api/abc/rel/c1');
  const sub = { ...h, root: '/docker/x', ownPath: '/docker/x/inner' };
  t.equal(cgroupDir(sub, '/runt/c1'), '/cg/memory/runt/c1', 'absolute: from the root seen at the mount point');
  t.equal(cgroupDir(sub, 'c1'), '/cg/memory/inner/c1');
  t.throws(() => cgroupDir({ ...sub, ownPath: '/elsewhere' }, 'c1'), /not visible under/);
});

t.test('resourceWrites on cgroup v1 (hybrid host)', async (t) => {
  const host = hybridHost('/cg');
  const r: LinuxResources = {
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'wr' }],
    memory: { limit: 100 * M, reservation: 50 * M, swap: 200 * M, swappiness: 10, disableOOMKiller: true, kernel: 1, kernelTCP: 2 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0', realtimeRuntime: 1000, realtimePeriod: 10000 },
    pids: { limit: 0 },
    blockIO: { weight: 500 },
  };
  const warnings: string[] = [];
  const ws = resourceWrites(host, r, { warnings });
  t.same(show(ws), [
    'v1 cpuset.cpus=0 <linux.resources.cpu.cpus>',
    'v1 cpuset.mems=0 <linux.resources.cpu.mems>',
    'v1 devices.deny=a <linux.resources.devices[0]>',
    'v1 devices.allow=c 1:3 rw <linux.resources.devices[1]>',
    'v1 memory.limit_in_bytes=104857600 <linux.resources.memory.limit>',
    'v1 memory.memsw.limit_in_bytes=209715200 <linux.resources.memory.swap>',
    'v1 memory.soft_limit_in_bytes=52428800 <linux.resources.memory.reservation>',
    'v1 memory.oom_control=1 <linux.resources.memory.disableOOMKiller>',
    'v1 memory.swappiness=10 <linux.resources.memory.swappiness>',
    'v1 cpu.shares=512 <linux.resources.cpu.shares>',
    'v1 cpu.cfs_period_us=100000 <linux.resources.cpu.period>',
    'v1 cpu.cfs_quota_us=50000 <linux.resources.cpu.quota>',
    'v1 cpu.rt_period_us=10000 <linux.resources.cpu.realtimePeriod>',
    'v1 cpu.rt_runtime_us=1000 <linux.resources.cpu.realtimeRuntime>',
    'v1 pids.max=max <linux.resources.pids.limit>',
    'v1 blkio.weight=500 <linux.resources.blockIO.weight>',
  ]);
  t.same(ws.map((w) => w.controller), ['cpuset', 'cpuset', 'devices', 'devices', 'memory', 'memory', 'memory', 'memory', 'memory',
    'cpu', 'cpu', 'cpu', 'cpu', 'cpu', 'pids', 'blkio']);
  t.same(ws.filter((w) => w.retryAfterNext).map((w) => w.file), ['memory.limit_in_bytes', 'cpu.cfs_period_us', 'cpu.rt_period_us']);
  t.same(ws.filter((w) => w.verify).map((w) => w.file), ['cpu.shares']);
  t.same(warnings, [
    'linux.resources.memory.kernel: ignored (kernel memory limits are deprecated and not applied)',
    'linux.resources.memory.kernelTCP: ignored (kernel memory limits are deprecated and not applied)',
  ]);

  t.same(show(resourceWrites(host, { pids: { limit: 42 }, memory: { limit: -1 } })), [
    'v1 memory.limit_in_bytes=-1 <linux.resources.memory.limit>',
    'v1 memory.memsw.limit_in_bytes=-1 <linux.resources.memory.limit>',
    'v1 pids.max=42 <linux.resources.pids.limit>',
  ], 'unlimited memory makes memory+swap unlimited too');
  t.same(show(resourceWrites(host, { memory: { limit: -1 } }, { probe: probeWithout('memory.memsw.limit_in_bytes') })),
    ['v1 memory.limit_in_bytes=-1 <linux.resources.memory.limit>'], '... only with swap accounting');
  t.same(show(resourceWrites(host, { blockIO: { weight: 300 } }, { probe: { exists: (_v, _c, f) => f === 'blkio.bfq.weight' } })),
    ['v1 blkio.bfq.weight=300 <linux.resources.blockIO.weight>'], 'BFQ');
  t.same(show(resourceWrites(host, { memory: { useHierarchy: true }, cpu: { cpus: '' } })),
    ['v1 memory.use_hierarchy=1 <linux.resources.memory.useHierarchy>'], 'empty cpus is unset');
  t.same(resourceWrites(host, { devices: [], hugepageLimits: [], unified: {}, rdma: {}, network: {}, memory: {}, blockIO: { weightDevice: [] } }), [],
    'empty sections write nothing');
  t.same(show(resourceWrites(host, { unified: { 'hugetlb.2MB.max': '1024' } })),
    ['v2 hugetlb.2MB.max=1024 <linux.resources.unified["hugetlb.2MB.max"]>'], 'hybrid: unified goes to the cgroup2 dir');

  const co = v1Host('/cg');
  t.same(resourceWrites(co, { cpu: { shares: 100 } }).map((w) => [w.controller, w.file]), [['cpu', 'cpu.shares']]);
});

t.test('v1 device rules', async (t) => {
  const f = 'linux.resources.devices[0]';
  t.same(deviceRuleV1({ allow: false }, f), [{ file: 'devices.deny', value: 'a' }], 'no type, no numbers, no access: all');
  t.same(deviceRuleV1({ allow: true, type: 'a', major: -1, access: 'rwm' }, f), [{ file: 'devices.allow', value: 'a' }]);
  t.same(deviceRuleV1({ allow: true, type: 'a', major: 1, access: 'r' }, f), [
    { file: 'devices.allow', value: 'c 1:* r' }, { file: 'devices.allow', value: 'b 1:* r' },
  ], 'a narrower "a" rule is split: the v1 kernel reads any "a..." as everything');
  t.same(deviceRuleV1({ allow: true, type: 'b', minor: 0, access: 'mr' }, f), [{ file: 'devices.allow', value: 'b *:0 rm' }]);
  t.throws(() => deviceRuleV1({ allow: true, type: 'u', access: 'r' }, f), /^linux\.resources\.devices\[0\]\.type: /);
  t.throws(() => deviceRuleV1({ allow: true, type: 'c', access: 'rx' }, f), /^linux\.resources\.devices\[0\]\.access: /);
  t.throws(() => deviceRuleV1({ allow: true, type: 'c', access: '' }, f), /\.access: /);
  t.throws(() => deviceRuleV1({ allow: true, type: 'c', major: -5, access: 'r' }, f), /\.major: /);

  t.same(DEFAULT_DEVICE_RULES.flatMap((d, i) => deviceRuleV1(d, `d${i}`)).map((x) => `${x.file} ${x.value}`), [
    'devices.allow c *:* m', 'devices.allow b *:* m', 'devices.allow c 1:3 rwm', 'devices.allow c 1:8 rwm',
    'devices.allow c 1:7 rwm', 'devices.allow c 5:0 rwm', 'devices.allow c 1:5 rwm', 'devices.allow c 1:9 rwm',
    'devices.allow c 136:* rwm', 'devices.allow c 5:2 rwm',
  ], "runc's default rules");
  t.ok(Object.isFrozen(DEFAULT_DEVICE_RULES) && Object.isFrozen(DEFAULT_DEVICE_RULES[0]));
});

t.test('resourceWrites on cgroup v2', async (t) => {
  const host = v2Host('/cg');
  const warnings: string[] = [];
  const r: LinuxResources = {
    pids: { limit: -1 },
    memory: { limit: 100 * M, swap: 200 * M, reservation: 50 * M, kernel: 5 },
    blockIO: { weight: 500 },
    cpu: { shares: 1024, quota: 50000, period: 200000, cpus: '0-1', mems: '0' },
    devices: [{ allow: false, access: 'rwm' }],
    hugepageLimits: [{ pageSize: '2MB', limit: 4 * M }],
    unified: { 'memory.high': '90000000', 'io.max': '8:0 rbps=1\n8:16 wbps=2\n' },
  };
  t.same(show(resourceWrites(host, r, { warnings })), [
    'v2 pids.max=max <linux.resources.pids.limit>',
    'v2 memory.swap.max=104857600 <linux.resources.memory.swap>',
    'v2 memory.max=104857600 <linux.resources.memory.limit>',
    'v2 memory.low=52428800 <linux.resources.memory.reservation>',
    'v2 io.weight=4950 <linux.resources.blockIO.weight>',
    'v2 cpu.weight=39 <linux.resources.cpu.shares>',
    'v2 cpu.max=50000 200000 <linux.resources.cpu.quota>',
    'v2 cpuset.cpus=0-1 <linux.resources.cpu.cpus>',
    'v2 cpuset.mems=0 <linux.resources.cpu.mems>',
    'v2 hugetlb.2MB.max=4194304 <linux.resources.hugepageLimits[0]>',
    'v2 memory.high=90000000 <linux.resources.unified["memory.high"]>',
    'v2 io.max=8:0 rbps=1 <linux.resources.unified["io.max"]>',
    'v2 io.max=8:16 wbps=2 <linux.resources.unified["io.max"]>',
  ]);
  t.equal(warnings.length, 2);
  t.match(warnings[0], /^linux\.resources\.memory\.kernel: ignored/);
  t.match(warnings[1], /^linux\.resources\.devices: not applied: .*eBPF/);

  t.equal(sharesToWeight(2), 1);
  t.equal(sharesToWeight(1024), 39);
  t.equal(sharesToWeight(262144), 10000);
  t.equal(blkioToIoWeight(10), 1);
  t.equal(blkioToIoWeight(500), 4950);
  t.equal(blkioToIoWeight(1000), 10000);

  const one = (res: LinuxResources, probe?: Probe) => show(resourceWrites(host, res, probe ? { probe } : {}));
  t.same(one({ blockIO: { weight: 500 } }, probeWith('io.bfq.weight')), ['v2 io.bfq.weight=500 <linux.resources.blockIO.weight>']);
  t.same(one({ cpu: { quota: -1 } }), ['v2 cpu.max=max 100000 <linux.resources.cpu.quota>']);
  t.same(one({ cpu: { period: 50000 } }), ['v2 cpu.max=max 50000 <linux.resources.cpu.period>']);
  t.same(one({ pids: { limit: 0 } }), ['v2 pids.max=max <linux.resources.pids.limit>']);
  t.same(one({ memory: { limit: -1 } }), ['v2 memory.swap.max=max <linux.resources.memory.limit>', 'v2 memory.max=max <linux.resources.memory.limit>']);
  t.same(one({ memory: { limit: 100, swap: 100 } }), ['v2 memory.swap.max=0 <linux.resources.memory.swap>', 'v2 memory.max=100 <linux.resources.memory.limit>']);
  t.same(one({ memory: { limit: 100, swap: -1 } }), ['v2 memory.swap.max=max <linux.resources.memory.swap>', 'v2 memory.max=100 <linux.resources.memory.limit>']);
  t.same(one({ memory: { limit: 100, swap: -1 } }, probeWithout('memory.swap.max')), ['v2 memory.max=100 <linux.resources.memory.limit>'],
    'no swap accounting: unlimited swap is what the kernel does anyway');
  t.same(one({ memory: { limit: 9007199254740993 } }), ['v2 memory.max=9007199254740992 <linux.resources.memory.limit>'], 'big ints print as integers');
});

t.test('errors name the field', async (t) => {
  const hy = hybridHost('/cg');
  const v2 = v2Host('/cg');
  const v1 = v1Host('/cg');
  const cases: [string, CgroupHost, LinuxResources, RegExp, Probe?][] = [
    ['rdma', hy, { rdma: { mlx5_0: { hcaHandles: 3 } } }, /^linux\.resources\.rdma: not supported by runt yet$/],
    ['network classID', hy, { network: { classID: 1 } }, /^linux\.resources\.network\.classID: not supported by runt yet$/],
    ['network priorities', v2, { network: { priorities: [{ name: 'eth0', priority: 1 }] } }, /^linux\.resources\.network\.priorities: not supported/],
    ['cpu burst', hy, { cpu: { burst: 10 } }, /^linux\.resources\.cpu\.burst: not supported by runt yet$/],
    ['cpu idle', v2, { cpu: { idle: 1 } }, /^linux\.resources\.cpu\.idle: not supported/],
    ['blkio throttle', hy, { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] } }, /^linux\.resources\.blockIO\.throttleReadBpsDevice: not supported/],
    ['blkio leafWeight', hy, { blockIO: { leafWeight: 100 } }, /^linux\.resources\.blockIO\.leafWeight: not supported/],
    ['unknown field', hy, { frobnicate: 1 } as unknown as LinuxResources, /^linux\.resources\.frobnicate: not supported/],
    ['hugetlb not mounted as v1 (this host)', hy, { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, /^linux\.resources\.hugepageLimits\[0\]: the hugetlb cgroup controller is not mounted/],
    ['bad page size', v2, { hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, /^linux\.resources\.hugepageLimits\[0\]\.pageSize: /],
    ['page size the kernel lacks', v2, { hugepageLimits: [{ pageSize: '16GB', limit: 1 }] }, /^linux\.resources\.hugepageLimits\[0\]: hugetlb\.16GB\.max does not exist/, probeWithout('hugetlb.16GB.max')],
    ['swap accounting off', hy, { memory: { limit: 100, swap: 200 } }, /^linux\.resources\.memory\.swap: memory\.memsw\.limit_in_bytes does not exist .*swapaccount=1/, probeWithout('memory.memsw.limit_in_bytes')],
    ['swap < limit (v1)', hy, { memory: { limit: 200, swap: 100 } }, /^linux\.resources\.memory\.swap: memory\+swap limit 100 must be >= the memory limit 200/],
    ['swap < limit (v2)', v2, { memory: { limit: 200, swap: 100 } }, /^linux\.resources\.memory\.swap: /],
    ['swap without limit (v2)', v2, { memory: { swap: 100 } }, /^linux\.resources\.memory\.swap: cannot set a swap limit without a memory limit/],
    ['swappiness range', hy, { memory: { swappiness: 101 } }, /^linux\.resources\.memory\.swappiness: invalid value 101/],
    ['swappiness on v2', v2, { memory: { swappiness: 10 } }, /^linux\.resources\.memory\.swappiness: not supported on cgroup v2/],
    ['disableOOMKiller on v2', v2, { memory: { disableOOMKiller: true } }, /^linux\.resources\.memory\.disableOOMKiller: not supported on cgroup v2/],
    ['realtime on v2', v2, { cpu: { realtimeRuntime: 10 } }, /^linux\.resources\.cpu\.realtimeRuntime: not supported on cgroup v2/],
    ['rt group scheduling missing', hy, { cpu: { realtimeRuntime: 10 } }, /^linux\.resources\.cpu\.realtimeRuntime: cpu\.rt_runtime_us does not exist .*RT_GROUP_SCHED/, probeWithout('cpu.rt_runtime_us')],
    ['shares range on v2', v2, { cpu: { shares: 1 } }, /^linux\.resources\.cpu\.shares: invalid value 1/],
    ['blkio weight range', hy, { blockIO: { weight: 5 } }, /^linux\.resources\.blockIO\.weight: invalid weight 5/],
    ['no CFQ/BFQ', hy, { blockIO: { weight: 500 } }, /^linux\.resources\.blockIO\.weight: neither blkio\.weight nor blkio\.bfq\.weight/, probeWithout('blkio.weight')],
    ['controller missing on v1', v1, { pids: { limit: 10 } }, /^linux\.resources\.pids\.limit: the pids cgroup controller is not mounted/],
    ['controller missing on v2', v2Host('/cg', ['memory']), { pids: { limit: 10 } }, /^linux\.resources\.pids\.limit: the pids controller is not available in cgroup v2 .*cgroup\.controllers: memory/],
    ['v2 file missing (not delegated)', v2, { memory: { limit: 10 } }, /^linux\.resources\.memory\.limit: memory\.max does not exist .*subtree_control/, probeWithout('memory.max')],
    ['unified on v1', v1, { unified: { 'memory.high': '1' } }, /^linux\.resources\.unified: cgroup v2 is not available on this host/],
    ['unified key missing (hybrid)', hy, { unified: { 'memory.high': '1' } }, /^linux\.resources\.unified\["memory\.high"\]: memory\.high does not exist .*memory controller is not available/, probeWithout('memory.high')],
    ['unified key with a slash', v2, { unified: { '../memory.high': '1' } }, /^linux\.resources\.unified\["\.\.\/memory\.high"\]: must be a cgroup v2 file name/],
    ['unified key without a dot', v2, { unified: { memoryhigh: '1' } }, /^linux\.resources\.unified\["memoryhigh"\]: must be/],
    ['bad device type', hy, { devices: [{ allow: true, type: 'x', access: 'r' }] }, /^linux\.resources\.devices\[0\]\.type: /],
    ['non-integer', hy, { memory: { limit: 1.5 } }, /^linux\.resources\.memory\.limit: not an integer/],
  ];
  for (const [name, host, r, re, probe] of cases) {
    t.throws(() => resourceWrites(host, r, probe ? { probe } : {}), re, name);
  }
});

t.test('cgroup mount plan', async (t) => {
  const hy = hybridHost('/cg');
  const set: CgroupSet = { dirs: {}, created: [] };
  for (const h of hy.hierarchies) if (h.controllers[0] !== 'name=systemd') set.dirs[h.mountPoint] = `${h.mountPoint}/runt/c1`;
  const opts = ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'];

  const bind = cgroupMountPlan(hy, set, false, opts);
  t.same(bind[0], { kind: 'mount', source: 'tmpfs', target: '', fstype: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755'] });
  t.same(bind.slice(1, -1), [
    ...V1_HYBRID.map((c) => ({ kind: 'mount', source: `/cg/${c}/runt/c1`, target: c, fstype: 'bind', options: ['rbind', ...opts] })),
    { kind: 'mount', source: '/cg/unified/runt/c1', target: 'unified', fstype: 'bind', options: ['rbind', ...opts] },
  ]);
  t.same(bind.at(-1), { kind: 'mount', source: '', target: '', fstype: '', options: ['remount', 'bind', 'ro', 'nosuid', 'nodev', 'noexec'] });

  const ns = cgroupMountPlan(hy, set, true, ['nosuid', 'noexec', 'nodev']);
  t.equal(ns.length, 1 + V1_HYBRID.length + 1, 'rw: no final remount');
  t.same(ns[4], { kind: 'mount', source: 'cgroup', target: 'memory', fstype: 'cgroup', options: ['nosuid', 'nodev', 'noexec', 'memory'] });
  t.same(ns.at(-1), { kind: 'mount', source: 'cgroup2', target: 'unified', fstype: 'cgroup2', options: ['nosuid', 'nodev', 'noexec'] });
  t.same(cgroupMountPlan(hy, set, true, ['ro'])[1], { kind: 'mount', source: 'cgroup', target: 'cpu', fstype: 'cgroup', options: ['nosuid', 'nodev', 'noexec', 'ro', 'cpu'] });

  const v1 = v1Host('/cg');
  const set1: CgroupSet = { dirs: { '/cg/cpu,cpuacct': '/cg/cpu,cpuacct/x', '/cg/memory': '/cg/memory/x' }, created: [] };
  t.same(cgroupMountPlan(v1, set1, false, []), [
    { kind: 'mount', source: 'tmpfs', target: '', fstype: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755'] },
    { kind: 'mount', source: '/cg/cpu,cpuacct/x', target: 'cpu,cpuacct', fstype: 'bind', options: ['rbind'] },
    { kind: 'mount', source: '/cg/memory/x', target: 'memory', fstype: 'bind', options: ['rbind'] },
    { kind: 'symlink', target: 'cpu,cpuacct', linkpath: 'cpu' },
    { kind: 'symlink', target: 'cpu,cpuacct', linkpath: 'cpuacct' },
  ], 'co-mounted controllers get symlinks; name=systemd is not mounted');
  t.throws(() => cgroupMountPlan(v1, { dirs: {}, created: [] }, false), /no cgroup in \/cg\/cpu,cpuacct/);

  const v2 = v2Host('/cg');
  const set2: CgroupSet = { dirs: { '/cg': '/cg/runt/c1' }, created: [] };
  t.same(cgroupMountPlan(v2, set2, true, ['nosuid', 'ro']), [{ kind: 'mount', source: 'cgroup', target: '', fstype: 'cgroup2', options: ['nosuid', 'ro'] }]);
  t.same(cgroupMountPlan(v2, set2, false, ['nosuid', 'ro']), [{ kind: 'mount', source: '/cg/runt/c1', target: '', fstype: 'bind', options: ['rbind', 'nosuid', 'ro'] }]);
});

/** What the kernel would show in a new cgroup dir (only what the tests use). */
const FILES: Record<string, string[]> = {
  cpu: ['cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us'],
  memory: ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes', 'memory.soft_limit_in_bytes', 'memory.oom_control', 'memory.swappiness'],
  devices: ['devices.allow', 'devices.deny'],
  pids: ['pids.max'],
  cpuset: ['cpuset.cpus', 'cpuset.mems'],
};
function populate(set: CgroupSet): void {
  for (const [mnt, dir] of Object.entries(set.dirs)) {
    for (const f of ['cgroup.procs', ...(FILES[path.basename(mnt)] ?? [])]) if (!fs.existsSync(`${dir}/${f}`)) write(`${dir}/${f}`, '');
  }
}
/** rmdir works on a cgroup with its files; on a plain fs they have to go first. */
function unpopulate(dirs: string[]): void {
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isFile()) fs.rmSync(path.join(d, e.name));
  }
}

t.test('create, apply, add, pids, remove on a fake hybrid cgroupfs', async (t) => {
  const { proc, cg } = hybridTree(tmpdir(t));
  const host = detectHost(proc);
  // /runt exists in cpuset with empty cpus/mems (as a fresh kernel cpuset would): it gets filled from the root
  write(`${cg}/cpuset/runt/cpuset.cpus`, '\n');
  write(`${cg}/cpuset/runt/cpuset.mems`, '');

  const set = createCgroup(host, '/runt/c1');
  const expectedMounts = [...V1_HYBRID, 'unified'].map((c) => `${cg}/${c}`);
  t.same(Object.keys(set.dirs), expectedMounts, 'every hierarchy with controllers and cgroup2, not name=systemd');
  t.same(Object.values(set.dirs), expectedMounts.map((m) => `${m}/runt/c1`));
  t.notOk(fs.existsSync(`${cg}/systemd/runt`));
  t.same(set.created, [...V1_HYBRID, 'unified'].flatMap((c) => (c === 'cpuset' ? [`${cg}/cpuset/runt/c1`] : [`${cg}/${c}/runt`, `${cg}/${c}/runt/c1`])),
    'created: only what runt made, outermost first');
  t.equal(read(`${cg}/cpuset/runt/cpuset.cpus`), '0-1');
  t.equal(read(`${cg}/cpuset/runt/cpuset.mems`), '0');
  t.equal(read(`${cg}/unified/cgroup.subtree_control`), '\n', 'hybrid: cgroup2 controllers are not delegated');

  populate(set);
  const warnings = applyResources(host, set, {
    memory: { limit: 64 * M, swap: 128 * M, swappiness: 0, kernelTCP: 1 },
    cpu: { shares: 256, quota: 20000, period: 100000, cpus: '1' },
    pids: { limit: 99 },
    devices: [{ allow: false, access: 'rwm' }, ...DEFAULT_DEVICE_RULES],
  });
  t.same(warnings, ['linux.resources.memory.kernelTCP: ignored (kernel memory limits are deprecated and not applied)']);
  const at = (c: string, f: string) => read(`${cg}/${c}/runt/c1/${f}`);
  t.equal(at('memory', 'memory.limit_in_bytes'), String(64 * M));
  t.equal(at('memory', 'memory.memsw.limit_in_bytes'), String(128 * M));
  t.equal(at('memory', 'memory.swappiness'), '0');
  t.equal(at('cpu', 'cpu.shares'), '256');
  t.equal(at('cpu', 'cpu.cfs_quota_us'), '20000');
  t.equal(at('cpu', 'cpu.cfs_period_us'), '100000');
  t.equal(at('cpuset', 'cpuset.cpus'), '1');
  t.equal(at('pids', 'pids.max'), '99');
  t.equal(at('devices', 'devices.deny'), 'a');
  t.equal(at('devices', 'devices.allow'), 'c 5:2 rwm', 'the last rule written (a plain file keeps only the last write)');
  t.same(applyResources(host, set, undefined), []);

  t.throws(() => applyResources(host, set, { blockIO: { weight: 500 } }), /^linux\.resources\.blockIO\.weight: neither blkio\.weight nor blkio\.bfq\.weight/,
    'this host has neither weight file');
  write(`${cg}/blkio/runt/c1/blkio.bfq.weight`, '');
  applyResources(host, set, { blockIO: { weight: 500 } });
  t.equal(at('blkio', 'blkio.bfq.weight'), '500');
  fs.rmSync(`${cg}/memory/runt/c1/memory.memsw.limit_in_bytes`);
  t.throws(() => applyResources(host, set, { memory: { limit: 1 * M, swap: 2 * M } }), /^linux\.resources\.memory\.swap: .*swapaccount=1/);
  t.throws(() => applyResources(host, set, { unified: { 'memory.high': '1' } }), /^linux\.resources\.unified\["memory\.high"\]/);
  write(`${cg}/unified/runt/c1/hugetlb.2MB.max`, '');
  applyResources(host, set, { unified: { 'hugetlb.2MB.max': '2097152' } });
  t.equal(at('unified', 'hugetlb.2MB.max'), '2097152');
  // a file the kernel would refuse: a directory in its place makes the write fail; the error names the field
  fs.rmSync(`${cg}/pids/runt/c1/pids.max`);
  fs.mkdirSync(`${cg}/pids/runt/c1/pids.max`);
  t.throws(() => applyResources(host, set, { pids: { limit: 5 } }), /^linux\.resources\.pids\.limit: cannot write "5" to .*pids\.max: EISDIR/);
  fs.rmdirSync(`${cg}/pids/runt/c1/pids.max`);

  addProcess(set, 12345);
  for (const dir of Object.values(set.dirs)) t.equal(read(`${dir}/cgroup.procs`), '12345');
  write(`${cg}/memory/runt/c1/sub/cgroup.procs`, '777\n');
  t.same(pidsOf(host, set), [777, 12345], 'sub-cgroups count');
  t.same(cgroupfsManager.pids(host, set), [777, 12345]);
  fs.rmSync(`${cg}/memory/runt/c1/sub`, { recursive: true });
  t.throws(() => addProcess({ dirs: { x: `${cg}/nope` }, created: [] }, 1), /cannot add pid 1 to .*nope: ENOENT/);

  // a second container under the same parent
  const set2 = createCgroup(host, '/runt/c2');
  t.same(set2.created, Object.values(set2.dirs), 'the parent existed: only the leaves are new');

  t.throws(() => removeCgroup(set), /cannot remove .*runt\/c1 \(ENOTEMPTY\)/, 'a leaf that will not go is reported');
  unpopulate(Object.values(set.dirs));
  removeCgroup(set);
  for (const d of Object.values(set.dirs)) t.notOk(fs.existsSync(d), `${d} removed`);
  t.ok(fs.existsSync(`${cg}/memory/runt`), 'the shared parent still holding c2 stays, without an error');
  t.ok(fs.existsSync(`${cg}/cpuset/runt`), 'a parent runt did not make stays');
  removeCgroup(set);
  t.pass('removing again is fine (ENOENT)');
  removeCgroup(set2);
  t.notOk(fs.existsSync(`${cg}/memory/runt/c2`));
  t.ok(fs.existsSync(`${cg}/memory/runt`), 'never removes what it did not create');
});

t.test('createCgroup: relative path, failures clean up', async (t) => {
  const { proc, cg } = hybridTree(tmpdir(t));
  const host = detectHost(proc);
  const set = createCgroup(host, 'rel/c1');
  t.equal(set.dirs[`${cg}/memory`], `${cg}/memory/process_api/abc/rel/c1`, 'under our own memory cgroup');
  t.equal(set.dirs[`${cg}/cpu`], `${cg}/cpu/rel/c1`);
  t.ok(set.created.includes(`${cg}/memory/process_api`));
  removeCgroup(set);
  t.notOk(fs.existsSync(`${cg}/memory/process_api`));

  // a hierarchy where mkdir fails (its mount point is a file): nothing is left behind
  fs.rmSync(`${cg}/pids`, { recursive: true });
  write(`${cg}/pids`, 'not a dir');
  t.throws(() => createCgroup(host, '/runt/c9'), /^cgroups: creating \/runt\/c9 in .*pids: /);
  t.notOk(fs.existsSync(`${cg}/memory/runt`), 'the dirs made before the failure are gone');
});

t.test('createCgroup on a fake v2 host delegates controllers', async (t) => {
  const { proc, cg } = v2Tree(tmpdir(t));
  write(`${cg}/cgroup.subtree_control`, 'cpu memory\n');
  const host = detectHost(proc);
  const set = createCgroup(host, '/runt/c1');
  t.same(set.dirs, { [cg]: `${cg}/runt/c1` });
  t.same(set.created, [`${cg}/runt`, `${cg}/runt/c1`]);
  t.equal(read(`${cg}/cgroup.subtree_control`), '+cpuset +io +hugetlb +pids', 'only the missing ones');
  write(`${cg}/runt/c1/memory.max`, '');
  write(`${cg}/runt/c1/cpu.weight`, '');
  t.same(applyResources(host, set, { memory: { limit: 1000 }, cpu: { shares: 2 }, devices: [{ allow: false }] }).length, 1, 'a v2 device warning');
  t.equal(read(`${cg}/runt/c1/memory.max`), '1000');
  t.equal(read(`${cg}/runt/c1/cpu.weight`), '1');
  t.throws(() => applyResources(host, set, { pids: { limit: 3 } }), /^linux\.resources\.pids\.limit: pids\.max does not exist .*subtree_control/);
  unpopulate(Object.values(set.dirs));
  removeCgroup(set);
  t.notOk(fs.existsSync(`${cg}/runt`));
});

t.test('real cgroups on this host', { skip: process.getuid?.() !== 0 || !fs.existsSync('/sys/fs/cgroup') ? 'needs root and /sys/fs/cgroup' : false }, async (t) => {
  const host = detectHost();
  const name = `/runt-test-${process.pid}`;
  let set: CgroupSet | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  t.teardown(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    if (!set) return;
    try {
      removeCgroup(set);
    } catch {
      // fall through to the leftovers check below
    }
    for (const d of [...set.created].reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        // gone already
      }
    }
  });

  set = createCgroup(host, name);
  const withCtl = host.hierarchies.filter((h) => h.version === 2 || h.controllers.some((c) => !c.startsWith('name=')));
  t.same(Object.keys(set.dirs), withCtl.map((h) => h.mountPoint));
  for (const d of Object.values(set.dirs)) t.ok(fs.statSync(d).isDirectory(), `${d} made`);

  if (host.mode !== 'v2') {
    const memDir = set.dirs[host.hierarchies.find((h) => h.controllers.includes('memory'))!.mountPoint]!;
    const hasSwap = fs.existsSync(`${memDir}/memory.memsw.limit_in_bytes`);
    const warnings = applyResources(host, set, {
      memory: { limit: 64 * M, ...(hasSwap ? { swap: 128 * M } : {}) },
      pids: { limit: 50 },
      cpu: { shares: 512 },
      devices: [{ allow: false, access: 'rwm' }, ...DEFAULT_DEVICE_RULES],
    });
    t.same(warnings, []);
    t.equal(read(`${memDir}/memory.limit_in_bytes`).trim(), String(64 * M));
    if (hasSwap) {
      // raising both: the limit is refused (EINVAL) until memory+swap is raised first
      applyResources(host, set, { memory: { limit: 256 * M, swap: 512 * M } });
      t.equal(read(`${memDir}/memory.limit_in_bytes`).trim(), String(256 * M));
      t.equal(read(`${memDir}/memory.memsw.limit_in_bytes`).trim(), String(512 * M));
      applyResources(host, set, { memory: { limit: 32 * M, swap: 48 * M } });
      t.equal(read(`${memDir}/memory.limit_in_bytes`).trim(), String(32 * M));
    }
    const devDir = set.dirs[host.hierarchies.find((h) => h.controllers.includes('devices'))!.mountPoint]!;
    t.match(read(`${devDir}/devices.list`), /c 1:3 rwm/);
    t.throws(() => applyResources(host, set!, { cpu: { shares: 1 } }), /^linux\.resources\.cpu\.shares: the kernel set cpu\.shares to 2 instead of 1/);
  } else {
    applyResources(host, set, { pids: { limit: 50 } });
  }

  child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const pid = child.pid!;
  addProcess(set, pid);
  const lines = read(`/proc/${pid}/cgroup`).split('\n').filter(Boolean);
  for (const h of withCtl) {
    const key = h.version === 2 ? '' : h.controllers.join(',');
    const line = lines.find((l) => l.split(':')[1] === key);
    t.equal(line?.slice(line.indexOf(':', line.indexOf(':') + 1) + 1), name, `${h.mountPoint}: in ${name}`);
  }
  t.same(pidsOf(host, set), [pid]);

  child.kill('SIGKILL');
  await once(child, 'exit');
  removeCgroup(set);
  for (const d of Object.values(set.dirs)) t.notOk(fs.existsSync(d), `${d} removed`);
});
