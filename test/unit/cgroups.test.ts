// cgroups: detection from fake /proc trees, path resolution, resource writes (v1, v2), the cgroup mount plan,
// create/apply/add/remove against a fake cgroupfs in a tmpdir, the v2 device filter, the freezer, stats, the
// parsing done by update/ps/events, and real runs on this host (root only).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import {
  type CgroupHost,
  type CgroupSet,
  type Probe,
  type Write,
  DEFAULT_DEVICE_RULES,
  SYSTEMD_NOT_RUNNING,
  addProcess,
  applyResources,
  blkioToIoWeight,
  cgroupDir,
  cgroupMountPlan,
  createCgroup,
  detectHost,
  deviceRuleV1,
  containerStats,
  defaultParent,
  deviceFilter,
  hasFreezer,
  isFrozen,
  pidsOf,
  removeCgroup,
  resolveCgroupsPath,
  resourcePlan,
  resourceWrites,
  selfJoin,
  setFrozen,
  sharesToWeight,
  toJson,
} from '../../src/cgroups';
import { blkioEntries, ioStatEntries, parseCpuList } from '../../src/cgroups/stats';
import { parseDuration } from '../../src/commands/events';
import { filterPsOutput } from '../../src/commands/ps';
import { parseBytes, requestedResources } from '../../src/commands/update';
import { mergeResources } from '../../src/lifecycle/update';
import { optionsOf } from './options';
import type { LinuxResources } from '../../src/spec/generated/types';

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
  const lines = [`22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw`, `31 23 0:28 / ${cg} rw,relatime - tmpfs tmpfs rw,mode=755`];
  V1_HYBRID.forEach((c, i) => lines.push(`${32 + i} 31 0:${29 + i} / ${cg}/${c} rw,relatime - cgroup cgroup rw,${c}`));
  lines.push(`40 31 0:37 / ${cg}/systemd rw,relatime - cgroup cgroup rw,name=systemd`);
  lines.push(`41 31 0:38 / ${cg}/unified rw,relatime - cgroup2 cgroup2 rw`);
  for (const c of [...V1_HYBRID, 'systemd', 'unified']) fs.mkdirSync(path.join(cg, c), { recursive: true });
  write(path.join(cg, 'unified/cgroup.controllers'), 'hugetlb\n');
  write(path.join(cg, 'unified/cgroup.subtree_control'), '\n');
  write(path.join(cg, 'cpuset/cpuset.cpus'), '0-1\n');
  write(path.join(cg, 'cpuset/cpuset.mems'), '0\n');
  const cgroup =
    [
      '9:name=systemd:/',
      '8:pids:/',
      '7:blkio:/',
      '6:freezer:/',
      '5:devices:/',
      '4:memory:/process_api/abc',
      '3:cpuset:/',
      '2:cpuacct:/',
      '1:cpu:/',
      '0::/',
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
    t.same(
      host.hierarchies.map((h) => [h.version, h.mountPoint, h.controllers.join(','), h.ownPath]),
      [
        ...V1_HYBRID.map((c) => [1, `${cg}/${c}`, c, c === 'memory' ? '/process_api/abc' : '/']),
        [1, `${cg}/systemd`, 'name=systemd', '/'],
        [2, `${cg}/unified`, 'hugetlb', '/'],
      ],
    );
    t.ok(host.hierarchies.every((h) => h.root === '/'));
  });

  t.test('pure v1: co-mounted controllers, named hierarchy, escaped mount point, duplicate mount', async (t) => {
    const { proc, cg } = v1Tree(tmpdir(t));
    const host = detectHost(proc);
    t.equal(host.mode, 'v1');
    t.same(
      host.hierarchies.map((h) => [h.mountPoint, h.root, h.controllers, h.ownPath]),
      [
        [`${cg}/systemd`, '/', ['name=systemd'], '/user'],
        [`${cg}/cpu,cpuacct`, '/', ['cpu', 'cpuacct'], '/user'],
        [`${cg}/memory`, '/', ['memory'], '/user/x'],
        [`${cg}/net cls`, '/', ['net_cls', 'net_prio'], '/'],
      ],
    );
  });

  t.test('pure v2', async (t) => {
    const { proc, cg } = v2Tree(tmpdir(t));
    const host = detectHost(proc);
    t.equal(host.mode, 'v2');
    t.same(host.hierarchies, [
      {
        version: 2,
        mountPoint: cg,
        root: '/',
        controllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'],
        ownPath: '/user.slice/session-1.scope',
      },
    ]);
  });

  t.test('v2 with a named v1 hierarchy is still v2; no cgroup mount at all is an error', async (t) => {
    const d = tmpdir(t);
    const proc = fakeProc(
      d,
      [`30 23 0:27 / ${d}/cg rw - cgroup2 cgroup2 rw`, `31 23 0:28 / ${d}/sd rw - cgroup cgroup rw,none,name=systemd`],
      '1:name=systemd:/\n0::/\n',
    );
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

t.test("defaultParent's tag: the first 12 hex digits of the root's 64-bit FNV-1a hash", async (t) => {
  const fnv1a64 = (text: string): string => {
    let hash = 0xcbf29ce484222325n;
    for (const byte of Buffer.from(text)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
    return hash.toString(16).padStart(16, '0').slice(0, 12);
  };
  for (const root of ['/', '/run/runt', '/run/containerd/runc/k8s.io', '/tmp/\u00e9t\u00e9/\u{1f600}', `/${'x'.repeat(300)}`]) {
    t.equal(defaultParent(root), `/runt-${fnv1a64(root)}`, root);
  }
});

t.test('resolveCgroupsPath and cgroupDir', async (t) => {
  const parent = defaultParent('/run/runt');
  t.match(parent, /^\/runt-[0-9a-f]{12}$/, 'the default parent names the state root');
  t.equal(resolveCgroupsPath(undefined, 'c1', false, '/run/runt'), `${parent}/c1`);
  t.equal(resolveCgroupsPath('', 'c1', false, '/run/runt'), `${parent}/c1`);
  t.equal(defaultParent('/run/runt/'), parent, 'the same root, however it is written');
  t.equal(defaultParent('/run/containerd/../runt'), parent);
  t.not(resolveCgroupsPath(undefined, 'c1', false, '/run/containerd/runc/k8s.io'), `${parent}/c1`, 'two roots: two cgroups for one id');
  t.equal(resolveCgroupsPath('/a/b/../c/', 'c1', false, '/run/runt'), '/a/c');
  t.equal(resolveCgroupsPath('/../../x', 'c1', false, '/run/runt'), '/x');
  t.equal(resolveCgroupsPath('a/./b', 'c1', false, '/run/runt'), 'a/b', 'relative stays relative');
  t.equal(resolveCgroupsPath('a/../../../b', 'c1', false, '/run/runt'), 'b', 'a relative path cannot climb out');
  t.equal(
    resolveCgroupsPath('system.slice:runc:c1', 'c1', false, '/run/runt'),
    'system.slice:runc:c1',
    'like runc, the systemd form is a plain relative path for the cgroupfs driver',
  );
  t.throws(() => resolveCgroupsPath('/', 'c1', false, '/run/runt'), /^linux\.cgroupsPath: .*root cgroup/);
  t.throws(() => resolveCgroupsPath('.', 'c1', false, '/run/runt'), /^linux\.cgroupsPath: /);
  t.throws(() => resolveCgroupsPath(undefined, '../x', false, '/run/runt'), /invalid container id/);

  const d = tmpdir(t);
  t.throws(() => resolveCgroupsPath('system.slice:runc:c1', 'c1', true, '/run/runt', path.join(d, 'nope')), { message: SYSTEMD_NOT_RUNNING });
  t.equal(SYSTEMD_NOT_RUNNING, 'systemd cgroup driver requested (--systemd-cgroup), but systemd is not running on this host');
  t.throws(() => resolveCgroupsPath('/a/b', 'c1', true, '/run/runt', d), /expected "slice:prefix:name"/);
  t.equal(resolveCgroupsPath('system.slice:runc:c1', 'c1', true, '/run/runt', d), '/system.slice/runc-c1.scope', "systemd: the scope's path");

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
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'wr' },
    ],
    memory: { limit: 100 * M, reservation: 50 * M, swap: 200 * M, swappiness: 10, disableOOMKiller: true, kernel: 1, kernelTCP: 2 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0', realtimeRuntime: 1000, realtimePeriod: 10000 },
    pids: { limit: -1 },
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
    'v1 memory.kmem.tcp.limit_in_bytes=2 <linux.resources.memory.kernelTCP>',
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
  t.same(
    ws.map((w) => w.controller),
    ['cpuset', 'cpuset', 'devices', 'devices', 'memory', 'memory', 'memory', 'memory', 'memory', 'memory', 'cpu', 'cpu', 'cpu', 'cpu', 'cpu', 'pids', 'blkio'],
  );
  t.same(
    ws.filter((w) => w.retryAfterNext).map((w) => w.file),
    ['memory.limit_in_bytes', 'cpu.cfs_period_us', 'cpu.rt_period_us'],
  );
  t.same(
    ws.filter((w) => w.verify).map((w) => w.file),
    ['cpu.shares'],
  );
  t.same(
    warnings,
    ['linux.resources.memory.kernel: ignored (kernel memory limits are deprecated and not applied)'],
    'kernel memory is ignored; kernelTCP is applied',
  );

  t.same(
    show(resourceWrites(host, { pids: { limit: 42 }, memory: { limit: -1 } })),
    [
      'v1 memory.limit_in_bytes=-1 <linux.resources.memory.limit>',
      'v1 memory.memsw.limit_in_bytes=-1 <linux.resources.memory.limit>',
      'v1 pids.max=42 <linux.resources.pids.limit>',
    ],
    'unlimited memory makes memory+swap unlimited too',
  );
  t.same(
    show(resourceWrites(host, { memory: { limit: -1 } }, { probe: probeWithout('memory.memsw.limit_in_bytes') })),
    ['v1 memory.limit_in_bytes=-1 <linux.resources.memory.limit>'],
    '... only with swap accounting',
  );
  t.same(
    show(resourceWrites(host, { blockIO: { weight: 300 } }, { probe: { exists: (_v, _c, f) => f === 'blkio.bfq.weight' } })),
    ['v1 blkio.bfq.weight=300 <linux.resources.blockIO.weight>'],
    'BFQ',
  );
  t.same(
    show(resourceWrites(host, { memory: { useHierarchy: true }, cpu: { cpus: '' } })),
    ['v1 memory.use_hierarchy=1 <linux.resources.memory.useHierarchy>'],
    'empty cpus is unset',
  );
  t.same(
    resourceWrites(host, { devices: [], hugepageLimits: [], unified: {}, rdma: {}, network: {}, memory: {}, blockIO: { weightDevice: [] } }),
    [],
    'empty sections write nothing',
  );
  t.same(show(resourceWrites(host, { memory: { limit: 8 * M, checkBeforeUpdate: true } })), [
    'v1 memory.limit_in_bytes=8388608 <linux.resources.memory.limit>',
  ]);
  t.equal(
    resourceWrites(host, { memory: { limit: 8 * M, checkBeforeUpdate: true } })[0]!.usageFile,
    'memory.usage_in_bytes',
    'checkBeforeUpdate compares with the usage',
  );
  t.equal(resourceWrites(host, { memory: { limit: 8 * M } })[0]!.usageFile, undefined);
  t.same(
    show(resourceWrites(host, { unified: { 'hugetlb.2MB.max': '1024' } })),
    ['v2 hugetlb.2MB.max=1024 <linux.resources.unified["hugetlb.2MB.max"]>'],
    'hybrid: unified goes to the cgroup2 dir',
  );

  const co = v1Host('/cg');
  t.same(
    resourceWrites(co, { cpu: { shares: 100 } }).map((w) => [w.controller, w.file]),
    [['cpu', 'cpu.shares']],
  );
});

t.test('v1 device rules', async (t) => {
  const f = 'linux.resources.devices[0]';
  t.same(deviceRuleV1({ allow: false }, f), [{ file: 'devices.deny', value: 'a' }], 'no type, no numbers, no access: all');
  t.same(deviceRuleV1({ allow: true, type: 'a', major: -1, access: 'rwm' }, f), [{ file: 'devices.allow', value: 'a' }]);
  t.same(
    deviceRuleV1({ allow: true, type: 'a', major: 1, access: 'r' }, f),
    [
      { file: 'devices.allow', value: 'c 1:* r' },
      { file: 'devices.allow', value: 'b 1:* r' },
    ],
    'a narrower "a" rule is split: the v1 kernel reads any "a..." as everything',
  );
  t.same(deviceRuleV1({ allow: true, type: 'b', minor: 0, access: 'mr' }, f), [{ file: 'devices.allow', value: 'b *:0 rm' }]);
  t.throws(() => deviceRuleV1({ allow: true, type: 'u', access: 'r' }, f), /^linux\.resources\.devices\[0\]\.type: /);
  t.throws(() => deviceRuleV1({ allow: true, type: 'c', access: 'rx' }, f), /^linux\.resources\.devices\[0\]\.access: /);
  t.throws(() => deviceRuleV1({ allow: true, type: 'c', access: '' }, f), /\.access: /);
  t.throws(() => deviceRuleV1({ allow: true, type: 'c', major: -5, access: 'r' }, f), /\.major: /);

  t.same(
    DEFAULT_DEVICE_RULES.flatMap((d, i) => deviceRuleV1(d, `d${i}`)).map((x) => `${x.file} ${x.value}`),
    [
      'devices.allow c *:* m',
      'devices.allow b *:* m',
      'devices.allow c 1:3 rwm',
      'devices.allow c 1:8 rwm',
      'devices.allow c 1:7 rwm',
      'devices.allow c 5:0 rwm',
      'devices.allow c 1:5 rwm',
      'devices.allow c 1:9 rwm',
      'devices.allow c 136:* rwm',
      'devices.allow c 5:2 rwm',
    ],
    "runc's default rules",
  );
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
  t.equal(warnings.length, 1);
  t.match(warnings[0], /^linux\.resources\.memory\.kernel: ignored/);
  const plan = resourcePlan(host, r);
  t.same(plan.deviceProgram, deviceFilter(r.devices!, 'linux.resources.devices'), 'v2: the device rules become a BPF program');
  t.equal(resourcePlan(hybridHost('/cg'), { devices: [{ allow: false }] }).deviceProgram, undefined, 'hybrid: v1 device rules, no program');

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
  t.same(one({ pids: { limit: -1 } }), ['v2 pids.max=max <linux.resources.pids.limit>']);
  t.same(one({ memory: { limit: -1 } }), ['v2 memory.swap.max=max <linux.resources.memory.limit>', 'v2 memory.max=max <linux.resources.memory.limit>']);
  t.same(one({ memory: { limit: 100, swap: 100 } }), [
    'v2 memory.swap.max=0 <linux.resources.memory.swap>',
    'v2 memory.max=100 <linux.resources.memory.limit>',
  ]);
  t.same(one({ memory: { limit: 100, swap: -1 } }), [
    'v2 memory.swap.max=max <linux.resources.memory.swap>',
    'v2 memory.max=100 <linux.resources.memory.limit>',
  ]);
  t.same(
    one({ memory: { limit: 100, swap: -1 } }, probeWithout('memory.swap.max')),
    ['v2 memory.max=100 <linux.resources.memory.limit>'],
    'no swap accounting: unlimited swap is what the kernel does anyway',
  );
  t.same(one({ memory: { limit: 9007199254740993 } }), ['v2 memory.max=9007199254740992 <linux.resources.memory.limit>'], 'big ints print as integers');
  t.equal(resourceWrites(host, { memory: { limit: 100, checkBeforeUpdate: true } })[0]!.usageFile, 'memory.current');

  t.same(one({ cpu: { idle: 1, quota: 20000, burst: 5000 } }), [
    'v2 cpu.idle=1 <linux.resources.cpu.idle>',
    'v2 cpu.max=20000 100000 <linux.resources.cpu.quota>',
    'v2 cpu.max.burst=5000 <linux.resources.cpu.burst>',
  ]);
  t.ok(resourceWrites(host, { cpu: { quota: 20000, burst: 5000 } })[0]!.retryAfterNext, 'cpu.max and cpu.max.burst: either may have to go first');
  const blockIO = {
    weightDevice: [{ major: 8, minor: 0, weight: 300 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
    throttleWriteBpsDevice: [{ major: 8, minor: 16, rate: 0 }],
    throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 200 }],
  };
  t.same(
    one({ blockIO }, probeWith('io.bfq.weight')),
    [
      'v2 io.bfq.weight=8:0 300 <linux.resources.blockIO.weightDevice[0].weight>',
      'v2 io.max=8:0 rbps=1048576 <linux.resources.blockIO.throttleReadBpsDevice[0]>',
      'v2 io.max=8:16 wbps=max <linux.resources.blockIO.throttleWriteBpsDevice[0]>',
      'v2 io.max=8:0 riops=100 <linux.resources.blockIO.throttleReadIOPSDevice[0]>',
      'v2 io.max=8:0 wiops=200 <linux.resources.blockIO.throttleWriteIOPSDevice[0]>',
    ],
    'per-device weights need BFQ; a rate of 0 is "max" (no limit)',
  );
  t.same(
    one({ hugepageLimits: [{ pageSize: '1GB', limit: 0 }] }, probeWith('hugetlb.1GB.rsvd.max')),
    ['v2 hugetlb.1GB.max=0 <linux.resources.hugepageLimits[0]>', 'v2 hugetlb.1GB.rsvd.max=0 <linux.resources.hugepageLimits[0]>'],
    'hugetlb reservations too, where the kernel has them',
  );
  t.same(show(resourceWrites(v2Host('/cg', ['rdma']), { rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 1000 }, mlx4_0: { hcaObjects: 7 } } })), [
    'v2 rdma.max=mlx5_0 hca_handle=3 hca_object=1000 <linux.resources.rdma["mlx5_0"]>',
    'v2 rdma.max=mlx4_0 hca_object=7 <linux.resources.rdma["mlx4_0"]>',
  ]);
});

t.test('resourceWrites on cgroup v1: every other field', async (t) => {
  const host: CgroupHost = {
    mode: 'v1',
    hierarchies: ['cpu', 'memory', 'blkio', 'hugetlb', 'net_cls', 'net_prio', 'rdma'].map((c) => ({
      version: 1,
      mountPoint: `/cg/${c}`,
      root: '/',
      controllers: [c],
      ownPath: '/',
    })),
  };
  const one = (res: LinuxResources, probe?: Probe) => show(resourceWrites(host, res, probe ? { probe } : {}));
  t.same(one({ cpu: { quota: 20000, burst: 5000, idle: 0 } }), [
    'v1 cpu.cfs_quota_us=20000 <linux.resources.cpu.quota>',
    'v1 cpu.cfs_burst_us=5000 <linux.resources.cpu.burst>',
    'v1 cpu.idle=0 <linux.resources.cpu.idle>',
  ]);
  const blockIO = {
    weight: 300,
    leafWeight: 200,
    weightDevice: [{ major: 8, minor: 0, weight: 400, leafWeight: 100 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
    throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
    throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 200 }],
  };
  t.same(
    one({ blockIO }),
    [
      'v1 blkio.weight=300 <linux.resources.blockIO.weight>',
      'v1 blkio.leaf_weight=200 <linux.resources.blockIO.leafWeight>',
      'v1 blkio.weight_device=8:0 400 <linux.resources.blockIO.weightDevice[0].weight>',
      'v1 blkio.leaf_weight_device=8:0 100 <linux.resources.blockIO.weightDevice[0].leafWeight>',
      'v1 blkio.throttle.read_bps_device=8:0 1048576 <linux.resources.blockIO.throttleReadBpsDevice[0]>',
      'v1 blkio.throttle.write_bps_device=8:0 0 <linux.resources.blockIO.throttleWriteBpsDevice[0]>',
      'v1 blkio.throttle.read_iops_device=8:0 100 <linux.resources.blockIO.throttleReadIOPSDevice[0]>',
      'v1 blkio.throttle.write_iops_device=8:0 200 <linux.resources.blockIO.throttleWriteIOPSDevice[0]>',
    ],
    'CFQ',
  );
  const bfq: Probe = { exists: (_v, _c, f) => f !== 'blkio.weight' && !f.includes('leaf') };
  t.same(
    one({ blockIO: { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 400 }] } }, bfq),
    ['v1 blkio.bfq.weight=300 <linux.resources.blockIO.weight>', 'v1 blkio.bfq.weight_device=8:0 400 <linux.resources.blockIO.weightDevice[0].weight>'],
    'BFQ',
  );
  t.throws(
    () => one({ blockIO: { leafWeight: 200 } }, bfq),
    /^linux\.resources\.blockIO\.leafWeight: blkio\.leaf_weight does not exist/,
    'BFQ has no leaf weights',
  );
  t.same(one({ hugepageLimits: [{ pageSize: '2MB', limit: 2 * M }] }, probeWith('hugetlb.2MB.rsvd.limit_in_bytes')), [
    'v1 hugetlb.2MB.limit_in_bytes=2097152 <linux.resources.hugepageLimits[0]>',
    'v1 hugetlb.2MB.rsvd.limit_in_bytes=2097152 <linux.resources.hugepageLimits[0]>',
  ]);
  t.same(
    one({ hugepageLimits: [{ pageSize: '2MB', limit: 2 * M }] }),
    ['v1 hugetlb.2MB.limit_in_bytes=2097152 <linux.resources.hugepageLimits[0]>'],
    'no reservation files: the limit alone',
  );
  t.same(
    one({
      network: {
        classID: 0x100001,
        priorities: [
          { name: 'eth0', priority: 5 },
          { name: 'lo', priority: 1 },
        ],
      },
    }),
    [
      'v1 net_cls.classid=1048577 <linux.resources.network.classID>',
      'v1 net_prio.ifpriomap=eth0 5 <linux.resources.network.priorities[0]>',
      'v1 net_prio.ifpriomap=lo 1 <linux.resources.network.priorities[1]>',
    ],
  );
  t.same(one({ rdma: { mlx5_0: { hcaHandles: 3 } } }), ['v1 rdma.max=mlx5_0 hca_handle=3 <linux.resources.rdma["mlx5_0"]>']);
  t.same(one({ memory: { kernelTCP: 4 * M } }), ['v1 memory.kmem.tcp.limit_in_bytes=4194304 <linux.resources.memory.kernelTCP>']);
});

t.test('the zeros and "unset" values engines send change nothing, as in runc; a value out of range still fails', async (t) => {
  const hy = hybridHost('/cg');
  const v2 = v2Host('/cg');
  // what Docker 20.10 writes into every container's config and `docker update` request
  const docker: LinuxResources = { memory: { disableOOMKiller: false }, cpu: { shares: 0 }, blockIO: { weight: 0 } };
  // every numeric field at 0 (as containerd's CRI, podman or a Go struct with zero values send them) and
  // swappiness at Docker's "unset" (-1 as the uint64 2^64-1); kernel memory at 0 is not worth a warning either
  const zeros: LinuxResources = {
    memory: { limit: 0, reservation: 0, swap: 0, kernel: 0, kernelTCP: 0, swappiness: 18446744073709551615, disableOOMKiller: false },
    cpu: { shares: 0, quota: 0, period: 0, realtimeRuntime: 0, realtimePeriod: 0, cpus: '', mems: '' },
    pids: { limit: 0 },
    blockIO: { weight: 0, leafWeight: 0, weightDevice: [{ major: 8, minor: 0, weight: 0, leafWeight: 0 }] },
    network: { classID: 0 },
  };
  for (const [name, host] of [
    ['hybrid', hy],
    ['v2', v2],
  ] as const) {
    for (const [what, r] of [
      ['Docker', docker],
      ['zeros', zeros],
    ] as const) {
      const warnings: string[] = [];
      t.same(resourceWrites(host, r, { warnings }), [], `${name}: ${what}: no writes`);
      t.same(warnings, [], `${name}: ${what}: no warnings`);
    }
  }
  t.same(
    show(resourceWrites(hy, { ...docker, memory: { limit: 64 * M }, cpu: { shares: 0, quota: 50000, period: 100000 }, pids: { limit: 30 } })),
    [
      'v1 memory.limit_in_bytes=67108864 <linux.resources.memory.limit>',
      'v1 cpu.cfs_period_us=100000 <linux.resources.cpu.period>',
      'v1 cpu.cfs_quota_us=50000 <linux.resources.cpu.quota>',
      'v1 pids.max=30 <linux.resources.pids.limit>',
    ],
    'docker run --memory 64m --cpus 0.5 --pids-limit 30: the set fields, the zeros skipped',
  );
  t.same(show(resourceWrites(hy, { memory: { swappiness: 0 } })), ['v1 memory.swappiness=0 <linux.resources.memory.swappiness>'], 'swappiness 0 is a value');
  t.same(
    show(resourceWrites(hy, { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 0 }] } })),
    ['v1 blkio.throttle.read_bps_device=8:0 0 <linux.resources.blockIO.throttleReadBpsDevice[0]>'],
    'a throttle rate of 0 removes the limit: written',
  );
  const outOfRange: [string, CgroupHost, LinuxResources, RegExp][] = [
    ['weight 5', hy, { blockIO: { weight: 5 } }, /^linux\.resources\.blockIO\.weight: invalid weight 5 \(10-1000\)/],
    ['weight 1001 (v2)', v2, { blockIO: { weight: 1001 } }, /^linux\.resources\.blockIO\.weight: invalid weight 1001/],
    ['leafWeight 1', hy, { blockIO: { leafWeight: 1 } }, /^linux\.resources\.blockIO\.leafWeight: invalid weight 1/],
    [
      'device weight 9',
      hy,
      { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 9 }] } },
      /^linux\.resources\.blockIO\.weightDevice\[0\]\.weight: invalid weight 9/,
    ],
    ['swappiness 2^63', hy, { memory: { swappiness: 2 ** 63 } }, /^linux\.resources\.memory\.swappiness: invalid value/],
    ['memory limit -2', hy, { memory: { limit: -2 } }, /^linux\.resources\.memory\.limit: invalid value -2/],
    ['shares 1 (v2)', v2, { cpu: { shares: 1 } }, /^linux\.resources\.cpu\.shares: invalid value 1/],
  ];
  for (const [name, host, r, re] of outOfRange) t.throws(() => resourceWrites(host, r), re, name);
});

t.test('errors name the field', async (t) => {
  const hy = hybridHost('/cg');
  const v2 = v2Host('/cg');
  const v1 = v1Host('/cg');
  const cases: [string, CgroupHost, LinuxResources, RegExp, Probe?][] = [
    [
      'rdma not mounted (this host)',
      hy,
      { rdma: { mlx5_0: { hcaHandles: 3 } } },
      /^linux\.resources\.rdma\["mlx5_0"\]: the rdma cgroup controller is not mounted/,
    ],
    ['net_cls not mounted (this host)', hy, { network: { classID: 1 } }, /^linux\.resources\.network\.classID: the net_cls cgroup controller is not mounted/],
    [
      'net_prio not mounted (this host)',
      hy,
      { network: { priorities: [{ name: 'eth0', priority: 1 }] } },
      /^linux\.resources\.network\.priorities\[0\]: the net_prio cgroup controller is not mounted/,
    ],
    [
      'network priorities on v2',
      v2,
      { network: { priorities: [{ name: 'eth0', priority: 1 }] } },
      /^linux\.resources\.network\.priorities: not supported on cgroup v2/,
    ],
    ['network classID on v2', v2, { network: { classID: 1 } }, /^linux\.resources\.network\.classID: not supported on cgroup v2/],
    ['bad interface name', hy, { network: { priorities: [{ name: 'a b', priority: 1 }] } }, /^linux\.resources\.network\.priorities\[0\]\.name: /],
    [
      'cpu burst without the file',
      hy,
      { cpu: { burst: 10 } },
      /^linux\.resources\.cpu\.burst: cpu\.cfs_burst_us does not exist/,
      probeWithout('cpu.cfs_burst_us'),
    ],
    ['cpu idle without the file (v2)', v2, { cpu: { idle: 1 } }, /^linux\.resources\.cpu\.idle: cpu\.idle does not exist/, probeWithout('cpu.idle')],
    ['blkio leafWeight on v2', v2, { blockIO: { leafWeight: 100 } }, /^linux\.resources\.blockIO\.leafWeight: not supported on cgroup v2/],
    [
      'weightDevice without BFQ on v2',
      v2,
      { blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 100 }] } },
      /^linux\.resources\.blockIO\.weightDevice\[0\]\.weight: per-device weights on cgroup v2 need the BFQ/,
    ],
    [
      'bad throttle device',
      hy,
      { blockIO: { throttleReadBpsDevice: [{ major: -1, minor: 0, rate: 1 }] } },
      /^linux\.resources\.blockIO\.throttleReadBpsDevice\[0\]\.major: invalid device number/,
    ],
    ['kernelTCP on v2', v2, { memory: { kernelTCP: 1 } }, /^linux\.resources\.memory\.kernelTCP: not supported on cgroup v2/],
    ['bad device rule on v2', v2, { devices: [{ allow: true, type: 'c', access: 'x' }] }, /^linux\.resources\.devices\[0\]\.access: /],
    ['unknown field', hy, { frobnicate: 1 } as unknown as LinuxResources, /^linux\.resources\.frobnicate: unknown field$/],
    ['unknown sub-field', hy, { cpu: { frobnicate: 1 } } as unknown as LinuxResources, /^linux\.resources\.cpu\.frobnicate: unknown field$/],
    [
      'hugetlb not mounted as v1 (this host)',
      hy,
      { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] },
      /^linux\.resources\.hugepageLimits\[0\]: the hugetlb cgroup controller is not mounted/,
    ],
    ['bad page size', v2, { hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, /^linux\.resources\.hugepageLimits\[0\]\.pageSize: /],
    [
      'page size the kernel lacks',
      v2,
      { hugepageLimits: [{ pageSize: '16GB', limit: 1 }] },
      /^linux\.resources\.hugepageLimits\[0\]: hugetlb\.16GB\.max does not exist/,
      probeWithout('hugetlb.16GB.max'),
    ],
    [
      'swap accounting off',
      hy,
      { memory: { limit: 100, swap: 200 } },
      /^linux\.resources\.memory\.swap: memory\.memsw\.limit_in_bytes does not exist .*swapaccount=1/,
      probeWithout('memory.memsw.limit_in_bytes'),
    ],
    ['swap < limit (v1)', hy, { memory: { limit: 200, swap: 100 } }, /^linux\.resources\.memory\.swap: memory\+swap limit 100 must be >= the memory limit 200/],
    ['swap < limit (v2)', v2, { memory: { limit: 200, swap: 100 } }, /^linux\.resources\.memory\.swap: /],
    ['swap without limit (v2)', v2, { memory: { swap: 100 } }, /^linux\.resources\.memory\.swap: cannot set a swap limit without a memory limit/],
    ['swappiness range', hy, { memory: { swappiness: 101 } }, /^linux\.resources\.memory\.swappiness: invalid value 101/],
    ['swappiness on v2', v2, { memory: { swappiness: 10 } }, /^linux\.resources\.memory\.swappiness: not supported on cgroup v2/],
    ['disableOOMKiller on v2', v2, { memory: { disableOOMKiller: true } }, /^linux\.resources\.memory\.disableOOMKiller: not supported on cgroup v2/],
    ['realtime on v2', v2, { cpu: { realtimeRuntime: 10 } }, /^linux\.resources\.cpu\.realtimeRuntime: not supported on cgroup v2/],
    [
      'rt group scheduling missing',
      hy,
      { cpu: { realtimeRuntime: 10 } },
      /^linux\.resources\.cpu\.realtimeRuntime: cpu\.rt_runtime_us does not exist .*RT_GROUP_SCHED/,
      probeWithout('cpu.rt_runtime_us'),
    ],
    ['shares range on v2', v2, { cpu: { shares: 1 } }, /^linux\.resources\.cpu\.shares: invalid value 1/],
    ['blkio weight range', hy, { blockIO: { weight: 5 } }, /^linux\.resources\.blockIO\.weight: invalid weight 5/],
    [
      'no CFQ/BFQ',
      hy,
      { blockIO: { weight: 500 } },
      /^linux\.resources\.blockIO\.weight: neither blkio\.weight nor blkio\.bfq\.weight/,
      probeWithout('blkio.weight'),
    ],
    ['controller missing on v1', v1, { pids: { limit: 10 } }, /^linux\.resources\.pids\.limit: the pids cgroup controller is not mounted/],
    [
      'controller missing on v2',
      v2Host('/cg', ['memory']),
      { pids: { limit: 10 } },
      /^linux\.resources\.pids\.limit: the pids controller is not available in cgroup v2 .*cgroup\.controllers: memory/,
    ],
    [
      'v2 file missing (not delegated)',
      v2,
      { memory: { limit: 10 } },
      /^linux\.resources\.memory\.limit: memory\.max does not exist .*subtree_control/,
      probeWithout('memory.max'),
    ],
    ['unified on v1', v1, { unified: { 'memory.high': '1' } }, /^linux\.resources\.unified: cgroup v2 is not available on this host/],
    [
      'unified key missing (hybrid)',
      hy,
      { unified: { 'memory.high': '1' } },
      /^linux\.resources\.unified\["memory\.high"\]: memory\.high does not exist .*memory controller is not available/,
      probeWithout('memory.high'),
    ],
    [
      'unified key with a slash',
      v2,
      { unified: { '../memory.high': '1' } },
      /^linux\.resources\.unified\["\.\.\/memory\.high"\]: must be a cgroup v2 file name/,
    ],
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
  for (const h of hy.hierarchies) set.dirs[h.mountPoint] = `${h.mountPoint}/runt/c1`;
  const opts = ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'];

  const bind = cgroupMountPlan(hy, set, false, opts);
  t.same(
    bind[0],
    { kind: 'mount', source: 'tmpfs', target: '', fstype: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755'] },
    'the tmpfs is not read-only: "ro" goes to the hierarchies (runc)',
  );
  t.same(
    bind.slice(1),
    [...V1_HYBRID, 'systemd'].map((c) => ({ kind: 'mount', source: `/cg/${c}/runt/c1`, target: c, fstype: 'bind', options: ['rbind', ...opts] })),
    'every v1 hierarchy, name=systemd included; the cgroup2 tree of a hybrid host is not mounted; no read-only remount of the tmpfs',
  );
  t.same(
    cgroupMountPlan(hy, set, false, ['rprivate'])[0],
    { kind: 'mount', source: 'tmpfs', target: '', fstype: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755', 'rprivate'] },
    "the tmpfs takes the mount's propagation",
  );

  const ns = cgroupMountPlan(hy, set, true, ['nosuid', 'noexec', 'nodev']);
  t.equal(ns.length, 1 + V1_HYBRID.length + 1);
  t.same(ns[4], { kind: 'mount', source: 'cgroup', target: 'memory', fstype: 'cgroup', options: ['nosuid', 'nodev', 'noexec', 'memory'] });
  t.same(ns.at(-1), { kind: 'mount', source: 'cgroup', target: 'systemd', fstype: 'cgroup', options: ['nosuid', 'nodev', 'noexec', 'name=systemd'] });
  t.same(cgroupMountPlan(hy, set, true, ['ro'])[1], {
    kind: 'mount',
    source: 'cgroup',
    target: 'cpu',
    fstype: 'cgroup',
    options: ['nosuid', 'nodev', 'noexec', 'ro', 'cpu'],
  });

  const v1 = v1Host('/cg');
  const set1: CgroupSet = { dirs: { '/cg/cpu,cpuacct': '/cg/cpu,cpuacct/x', '/cg/memory': '/cg/memory/x', '/cg/systemd': '/cg/systemd/x' }, created: [] };
  t.same(
    cgroupMountPlan(v1, set1, false, []),
    [
      { kind: 'mount', source: 'tmpfs', target: '', fstype: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755'] },
      { kind: 'mount', source: '/cg/cpu,cpuacct/x', target: 'cpu,cpuacct', fstype: 'bind', options: ['rbind'] },
      { kind: 'mount', source: '/cg/memory/x', target: 'memory', fstype: 'bind', options: ['rbind'] },
      { kind: 'mount', source: '/cg/systemd/x', target: 'systemd', fstype: 'bind', options: ['rbind'] },
      { kind: 'symlink', target: 'cpu,cpuacct', linkpath: 'cpu' },
      { kind: 'symlink', target: 'cpu,cpuacct', linkpath: 'cpuacct' },
    ],
    'co-mounted controllers get symlinks; name=systemd is mounted at "systemd"',
  );
  const renamed: CgroupHost = {
    mode: 'v1',
    hierarchies: [{ version: 1, mountPoint: '/cg/cpuacct,cpu', root: '/', controllers: ['cpu', 'cpuacct'], ownPath: '/' }],
  };
  t.same(
    cgroupMountPlan(renamed, { dirs: { '/cg/cpuacct,cpu': '/cg/cpuacct,cpu/x' } }, false)
      .slice(1, 2)
      .map((op) => op.kind === 'mount' && op.target),
    ['cpuacct,cpu'],
    "a hierarchy's dir is named as the host's mount point",
  );
  t.throws(() => cgroupMountPlan(v1, { dirs: {} }, false), /no cgroup in \/cg\/cpu,cpuacct/);

  const v2 = v2Host('/cg');
  const set2: CgroupSet = { dirs: { '/cg': '/cg/runt/c1' }, created: [] };
  t.same(cgroupMountPlan(v2, set2, true, ['nosuid', 'ro']), [{ kind: 'mount', source: 'cgroup', target: '', fstype: 'cgroup2', options: ['nosuid', 'ro'] }]);
  t.same(cgroupMountPlan(v2, set2, false, ['nosuid', 'ro']), [
    { kind: 'mount', source: '/cg/runt/c1', target: '', fstype: 'bind', options: ['rbind', 'nosuid', 'ro'] },
  ]);
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
  const expectedMounts = [...V1_HYBRID, 'systemd', 'unified'].map((c) => `${cg}/${c}`);
  t.same(Object.keys(set.dirs), expectedMounts, 'every hierarchy: v1 ones, name=systemd included (as runc), and cgroup2');
  t.same(
    Object.values(set.dirs),
    expectedMounts.map((m) => `${m}/runt/c1`),
  );
  t.same(
    set.created,
    [...V1_HYBRID, 'systemd', 'unified'].flatMap((c) => (c === 'cpuset' ? [`${cg}/cpuset/runt/c1`] : [`${cg}/${c}/runt`, `${cg}/${c}/runt/c1`])),
    'created: only what runt made, outermost first',
  );
  t.equal(read(`${cg}/cpuset/runt/cpuset.cpus`), '0-1');
  t.equal(read(`${cg}/cpuset/runt/cpuset.mems`), '0');
  t.equal(read(`${cg}/unified/cgroup.subtree_control`), '\n', 'hybrid: cgroup2 controllers are not delegated');

  populate(set);
  const warnings = applyResources(host, set, {
    memory: { limit: 64 * M, swap: 128 * M, swappiness: 0, kernel: 1 },
    cpu: { shares: 256, quota: 20000, period: 100000, cpus: '1' },
    pids: { limit: 99 },
    devices: [{ allow: false, access: 'rwm' }, ...DEFAULT_DEVICE_RULES],
  });
  t.same(warnings, ['linux.resources.memory.kernel: ignored (kernel memory limits are deprecated and not applied)']);
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

  t.throws(
    () => applyResources(host, set, { blockIO: { weight: 500 } }),
    /^linux\.resources\.blockIO\.weight: neither blkio\.weight nor blkio\.bfq\.weight/,
    'this host has neither weight file',
  );
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

  const joined = selfJoin(set, true);
  t.same(joined.join.tasks, [], 'the fake dirs have no tasks file');
  t.equal(joined.join.into, Object.values(set.dirs)[0], 'clone3 takes the first dir without a tasks file');
  t.same(Object.keys(joined.left.dirs).length, Object.keys(set.dirs).length - 1, 'the runtime adds the pid to the others');
  const v1 = Object.values(set.dirs).slice(0, 2);
  for (const dir of v1) write(`${dir}/tasks`, '');
  const mixed = selfJoin(set, false);
  t.same(mixed.join, { tasks: v1.map((d) => `${d}/tasks`) }, 'v1 dirs (a tasks file) by their tasks file; no clone3 when not allowed');
  t.same(Object.values(mixed.left.dirs), Object.values(set.dirs).slice(2));
  for (const dir of v1) fs.rmSync(`${dir}/tasks`);

  addProcess(set, 12345);
  for (const dir of Object.values(set.dirs)) t.equal(read(`${dir}/cgroup.procs`), '12345');
  write(`${cg}/memory/runt/c1/sub/cgroup.procs`, '777\n');
  t.same(pidsOf(set), [777, 12345], 'sub-cgroups count');
  fs.rmSync(`${cg}/memory/runt/c1/sub`, { recursive: true });
  t.throws(() => addProcess({ dirs: { x: `${cg}/nope` } }, 1), /cannot add pid 1 to .*nope: ENOENT/);

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

t.test("createCgroup: a cgroup that holds processes or is frozen is refused (runc's texts)", async (t) => {
  const { proc, cg } = hybridTree(tmpdir(t));
  const host = detectHost(proc);
  // every mounted hierarchy, the named name=systemd one included
  const mounts = host.hierarchies.map((h) => h.mountPoint);
  for (const m of mounts) write(`${m}/busy/cgroup.procs`, '');
  write(`${cg}/freezer/busy/freezer.state`, 'THAWED\n');
  const joined = createCgroup(host, '/busy');
  t.same(joined.created, [], "an empty, thawed cgroup is joined; nothing of it is the container's to remove");

  fs.rmSync(`${cg}/cpu/busy`, { recursive: true });
  write(`${cg}/pids/busy/cgroup.procs`, '4242\n');
  t.throws(
    () => createCgroup(host, '/busy'),
    { message: "cgroups: /busy: container's cgroup is not empty: 1 process(es) found" },
    'a process in one hierarchy',
  );
  t.notOk(fs.existsSync(`${cg}/cpu/busy`), 'what was made for the refused cgroup is removed again');
  t.equal(read(`${cg}/pids/busy/cgroup.procs`), '4242\n', 'the existing one is left as it was');
  write(`${cg}/pids/busy/cgroup.procs`, '');
  write(`${cg}/unified/busy/sub/cgroup.procs`, '1\n2\n');
  t.throws(() => createCgroup(host, '/busy'), { message: "cgroups: /busy: container's cgroup is not empty: 2 process(es) found" }, 'processes in a sub-cgroup');
  const below = createCgroup(host, '/busy/c1');
  t.same(
    Object.values(below.dirs),
    mounts.map((m) => `${m}/busy/c1`),
    'a new cgroup below a busy one holds none of its processes',
  );
  unpopulate(Object.values(below.dirs));
  removeCgroup(below);
  fs.rmSync(`${cg}/unified/busy/sub`, { recursive: true });

  write(`${cg}/freezer/busy/freezer.state`, 'FROZEN\n');
  t.throws(() => createCgroup(host, '/busy'), { message: "cgroups: /busy: container's cgroup unexpectedly frozen" });
  write(`${cg}/freezer/busy/freezer.state`, 'FREEZING\n');
  t.throws(() => createCgroup(host, '/busy'), /unexpectedly frozen/, 'freezing counts too');
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
  t.same(applyResources(host, set, { memory: { limit: 1000 }, cpu: { shares: 2 } }), []);
  t.equal(read(`${cg}/runt/c1/memory.max`), '1000');
  t.equal(read(`${cg}/runt/c1/cpu.weight`), '1');
  t.throws(() => applyResources(host, set, { pids: { limit: 3 } }), /^linux\.resources\.pids\.limit: pids\.max does not exist .*subtree_control/);
  unpopulate(Object.values(set.dirs));
  removeCgroup(set);
  t.notOk(fs.existsSync(`${cg}/runt`));
});

t.test(
  'real cgroups on this host',
  { skip: process.getuid?.() !== 0 || !fs.existsSync('/sys/fs/cgroup') ? 'needs root and /sys/fs/cgroup' : false },
  async (t) => {
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
    t.same(
      Object.keys(set.dirs),
      host.hierarchies.map((h) => h.mountPoint),
      'every mounted hierarchy, named ones included',
    );
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
    for (const h of host.hierarchies) {
      const key = h.version === 2 ? '' : h.controllers.join(',');
      const line = lines.find((l) => l.split(':')[1] === key);
      t.equal(line?.slice(line.indexOf(':', line.indexOf(':') + 1) + 1), name, `${h.mountPoint}: in ${name}`);
    }
    t.same(pidsOf(set), [pid]);

    child.kill('SIGKILL');
    await once(child, 'exit');
    removeCgroup(set);
    for (const d of Object.values(set.dirs)) t.notOk(fs.existsSync(d), `${d} removed`);
  },
);

/** The instructions of a device program, one per line, in the notation of cilium/ebpf's asm (as runc's tests print them). */
function disassemble(prog: Uint8Array): string[] {
  const v = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const out: string[] = [];
  for (let i = 0; i < prog.length / 8; i++) {
    const op = v.getUint8(i * 8);
    const regs = v.getUint8(i * 8 + 1);
    const dst = `r${regs & 0xf}`;
    const src = `r${regs >> 4}`;
    const off = v.getInt16(i * 8 + 2, true);
    const imm = v.getInt32(i * 8 + 4, true);
    const jump = `-> ${i + 1 + off}`;
    out.push(
      {
        0x61: `LdXMemW dst: ${dst} src: ${src} off: ${off}`,
        0x54: `AndImm32 dst: ${dst} imm: ${imm}`,
        0x74: `RShImm32 dst: ${dst} imm: ${imm}`,
        0xbc: `MovReg32 dst: ${dst} src: ${src}`,
        0xb4: `MovImm32 dst: ${dst} imm: ${imm}`,
        0x55: `JNEImm dst: ${dst} imm: ${imm} ${jump}`,
        0x5d: `JNEReg dst: ${dst} src: ${src} ${jump}`,
        0x95: 'Exit',
      }[op] ?? `?? ${op}`,
    );
  }
  return out;
}

const PROLOGUE = [
  'LdXMemW dst: r2 src: r1 off: 0',
  'AndImm32 dst: r2 imm: 65535',
  'LdXMemW dst: r3 src: r1 off: 0',
  'RShImm32 dst: r3 imm: 16',
  'LdXMemW dst: r4 src: r1 off: 4',
  'LdXMemW dst: r5 src: r1 off: 8',
];

t.test('cgroup v2 device filter (eBPF)', async (t) => {
  const F = 'linux.resources.devices';
  const tuntap = { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' };
  // runc's devicefilter_test "BuiltInAllowList": the same blocks in the same order
  t.same(disassemble(deviceFilter([{ allow: false, access: 'rwm' }, ...DEFAULT_DEVICE_RULES, tuntap], F)), [
    ...PROLOGUE,
    'JNEImm dst: r2 imm: 1 -> 12',
    'MovReg32 dst: r1 src: r3',
    'AndImm32 dst: r1 imm: 1',
    'JNEReg dst: r1 src: r3 -> 12',
    'MovImm32 dst: r0 imm: 1',
    'Exit',
    'JNEImm dst: r2 imm: 2 -> 18',
    'MovReg32 dst: r1 src: r3',
    'AndImm32 dst: r1 imm: 1',
    'JNEReg dst: r1 src: r3 -> 18',
    'MovImm32 dst: r0 imm: 1',
    'Exit',
    ...[
      [1, 3],
      [1, 5],
      [1, 7],
      [1, 8],
      [1, 9],
      [5, 0],
      [5, 2],
      [10, 200],
    ].flatMap(([ma, mi], b) => {
      const next = 23 + b * 5;
      return [
        `JNEImm dst: r2 imm: 2 -> ${next}`,
        `JNEImm dst: r4 imm: ${ma} -> ${next}`,
        `JNEImm dst: r5 imm: ${mi} -> ${next}`,
        'MovImm32 dst: r0 imm: 1',
        'Exit',
      ];
    }),
    'JNEImm dst: r2 imm: 2 -> 62',
    'JNEImm dst: r4 imm: 136 -> 62',
    'MovImm32 dst: r0 imm: 1',
    'Exit',
    'MovImm32 dst: r0 imm: 0',
    'Exit',
  ]);
  t.same(disassemble(deviceFilter([], F)), [...PROLOGUE, 'MovImm32 dst: r0 imm: 0', 'Exit'], 'no rules: deny all, as runc starts');
  t.same(disassemble(deviceFilter([{ allow: true }], F)), [...PROLOGUE, 'MovImm32 dst: r0 imm: 1', 'Exit'], 'allow all');
  const denyVda = [
    'JNEImm dst: r2 imm: 1 -> 11',
    'JNEImm dst: r4 imm: 8 -> 11',
    'JNEImm dst: r5 imm: 2 -> 11',
    'MovImm32 dst: r0 imm: 0',
    'Exit',
    'MovImm32 dst: r0 imm: 1',
    'Exit',
  ];
  t.same(
    disassemble(deviceFilter([{ allow: false, type: 'b', major: 8, minor: 1 }, { allow: true }, { allow: false, type: 'b', major: 8, minor: 2 }], F)),
    [...PROLOGUE, ...denyVda],
    'an "a" rule resets what came before (runc "Weird")',
  );
  t.same(
    disassemble(
      deviceFilter(
        [{ allow: true }, { allow: false, type: 'b', major: 8, minor: 2, access: 'rw' }, { allow: false, type: 'b', major: 8, minor: 2, access: 'm' }],
        F,
      ),
    ),
    [...PROLOGUE, ...denyVda],
    'access letters of one device add up',
  );
  t.same(
    disassemble(
      deviceFilter(
        [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }],
        F,
      ),
    ).slice(6, 9),
    ['JNEImm dst: r2 imm: 2 -> 14', 'MovReg32 dst: r1 src: r3', 'AndImm32 dst: r1 imm: 3'],
    'a deny removes access from an allowed device (r and m stay)',
  );
  t.same(
    disassemble(deviceFilter([{ allow: false }, { allow: true, type: 'a', major: 1, access: 'r' }], F)).filter((l) => l.startsWith('JNEImm dst: r2')),
    ['JNEImm dst: r2 imm: 1 -> 13', 'JNEImm dst: r2 imm: 2 -> 20'],
    'a narrow "a" rule covers block and char devices',
  );
  t.throws(
    () => deviceFilter([{ allow: false }, { allow: true, type: 'c', access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'r' }], F),
    /^linux\.resources\.devices\[2\]: cannot take access away from c 1:3 inside the wider rule c \*:\*/,
  );
  t.throws(() => deviceFilter([{ allow: true, type: 'x' }], F), /^linux\.resources\.devices\[0\]\.type: /);
  t.throws(() => deviceFilter([{ allow: true, type: 'c', major: 2 ** 31 }], F), /^linux\.resources\.devices\[0\]\.major: invalid device number/);
});

t.test(
  'the device filter attached to a real cgroup2 dir',
  {
    skip:
      process.getuid?.() !== 0 || (!fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') && !fs.existsSync('/sys/fs/cgroup/cgroup.procs'))
        ? 'needs root and cgroup2'
        : false,
  },
  async (t) => {
    // the BPF device hook runs on the cgroup2 hierarchy even where the devices controller is a v1 one (hybrid)
    const host = detectHost();
    const v2 = host.hierarchies.find((h) => h.version === 2)!;
    const set = createCgroup({ mode: 'v2', hierarchies: [{ ...v2, controllers: [] }] }, `/runt-test-bpf-${process.pid}`);
    t.teardown(() => removeCgroup(set));
    const v2Only: CgroupHost = { mode: 'v2', hierarchies: [v2] };
    t.same(applyResources(v2Only, set, { devices: [{ allow: false }, ...DEFAULT_DEVICE_RULES] }), []);
    const dir = Object.values(set.dirs)[0]!;
    const node = path.join(tmpdir(t), 'node');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(
      'sh',
      [
        '-c',
        [
          `echo $$ > ${dir}/cgroup.procs`,
          'head -c 1 /dev/zero | wc -c',
          `mknod ${node} c 4 1 && echo mknod-ok`,
          `(echo x > ${node}) 2>/dev/null || echo open-denied`,
        ].join('; '),
      ],
      { encoding: 'utf8' },
    );
    t.equal(r.stdout, '1\nmknod-ok\nopen-denied\n', '/dev/zero allowed, mknod of any char device allowed, c 4:1 denied');
    t.throws(
      () => applyResources(v2Only, { dirs: { [v2.mountPoint]: os.tmpdir() }, created: [] }, { devices: [{ allow: true }] }),
      /^linux\.resources\.devices: cannot attach the device filter \(BPF_CGROUP_DEVICE\) to .*: bpf\(BPF_PROG_ATTACH\): /,
      'not a cgroup: the error names the field',
    );
  },
);

t.test('freezer: v1 freezer.state first, else cgroup.freeze', async (t) => {
  const d = tmpdir(t);
  const v1: CgroupSet = { dirs: { [`${d}/memory`]: `${d}/memory/c1`, [`${d}/freezer`]: `${d}/freezer/c1`, [`${d}/unified`]: `${d}/unified/c1` }, created: [] };
  write(`${d}/freezer/c1/freezer.state`, 'THAWED\n');
  write(`${d}/unified/c1/cgroup.freeze`, '0\n');
  fs.mkdirSync(`${d}/memory/c1`, { recursive: true });
  t.notOk(isFrozen(v1));
  t.ok(hasFreezer(v1));
  setFrozen(v1, true);
  t.equal(read(`${d}/freezer/c1/freezer.state`), 'FROZEN', 'hybrid: the v1 freezer, as runc');
  t.equal(read(`${d}/unified/c1/cgroup.freeze`), '0\n');
  t.ok(isFrozen(v1));
  write(`${d}/freezer/c1/freezer.state`, 'FREEZING\n');
  t.ok(isFrozen(v1), 'FREEZING counts as paused');
  setFrozen(v1, false);
  t.equal(read(`${d}/freezer/c1/freezer.state`), 'THAWED');

  const v2: CgroupSet = { dirs: { [`${d}/v2`]: `${d}/v2/c1` }, created: [] };
  write(`${d}/v2/c1/cgroup.freeze`, '0\n');
  write(`${d}/v2/c1/cgroup.events`, 'populated 1\nfrozen 1\n');
  setFrozen(v2, true);
  t.equal(read(`${d}/v2/c1/cgroup.freeze`), '1');
  t.ok(isFrozen(v2));
  t.notOk(isFrozen(undefined));
  t.throws(() => setFrozen({ dirs: { x: `${d}/memory/c1` }, created: [] }, true), /has no freezer/);
});

t.test('stats: parsers and the shape of runc events --stats', async (t) => {
  t.same(parseCpuList('0-2,4\n'), [0, 1, 2, 4]);
  t.same(parseCpuList(''), []);
  t.same(
    blkioEntries('254:0 Read 4096\n254:0 Write 0\nTotal 4096\n'),
    [
      { major: 254n, op: 'Read', value: 4096n },
      { major: 254n, op: 'Write' },
    ],
    'zeros are left out (omitempty), the Total line skipped',
  );
  t.same(ioStatEntries('8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n').ios, [
    { major: 8n, op: 'Read', value: 1n },
    { major: 8n, op: 'Write', value: 2n },
  ]);
  t.equal(toJson({ a: 2n ** 64n - 1n, b: [1, 'x', null, true], c: {} }), '{"a":18446744073709551615,"b":[1,"x",null,true],"c":{}}');

  const { cg } = hybridTree(tmpdir(t));
  const host = hybridHost(cg);
  const set: CgroupSet = { dirs: {}, created: [] };
  for (const c of V1_HYBRID) set.dirs[`${cg}/${c}`] = `${cg}/${c}/c1`;
  const f = (c: string, file: string, text: string) => write(`${cg}/${c}/c1/${file}`, text);
  f('cpuacct', 'cpuacct.usage', '3000\n');
  f('cpuacct', 'cpuacct.usage_percpu', '1000 2000 \n');
  f('cpuacct', 'cpuacct.usage_all', 'cpu user system\n0 600 400\n1 1500 500\n');
  f('cpuacct', 'cpuacct.stat', 'user 2\nsystem 1\n');
  f('cpu', 'cpu.stat', 'nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n');
  f('cpuset', 'cpuset.cpus', '0-1\n');
  f('cpuset', 'cpuset.mems', '0\n');
  f('cpuset', 'cpuset.sched_load_balance', '1\n');
  f('memory', 'memory.stat', 'cache 4096\nrss 8192\n');
  f('memory', 'memory.usage_in_bytes', '12288\n');
  f('memory', 'memory.limit_in_bytes', '9223372036854771712\n');
  f('memory', 'memory.max_usage_in_bytes', '20000\n');
  f('memory', 'memory.failcnt', '3\n');
  f('pids', 'pids.current', '2\n');
  f('pids', 'pids.max', 'max\n');
  f('blkio', 'blkio.throttle.io_service_bytes_recursive', '254:0 Read 4096\nTotal 4096\n');
  const s = JSON.parse(toJson(containerStats(host, set))) as Record<string, Record<string, unknown>>;
  t.same(s.cpu, {
    usage: { total: 3000, percpu: [1000, 2000], percpu_kernel: [400, 500], percpu_user: [600, 1500], kernel: 10000000, user: 20000000 },
    throttling: { periods: 10, throttledPeriods: 2, throttledTime: 5000 },
  });
  t.same(s.cpuset!.cpus, [0, 1]);
  t.equal(s.cpuset!.sched_load_balance, 1);
  t.same(s.memory!.usage, { limit: 9223372036854772000, usage: 12288, max: 20000, failcnt: 3 });
  t.equal(toJson(containerStats(host, set)).includes('"limit":9223372036854771712'), true, 'exact u64 in the text');
  t.same(s.memory!.raw, { cache: 4096, rss: 8192 });
  t.same(s.memory!.kernelTCP, { limit: 0, failcnt: 0 });
  t.same(s.pids, { current: 2 }, 'an unlimited pids.max is left out, as runc does');
  t.same(s.blkio, { ioServiceBytesRecursive: [{ major: 254, op: 'Read', value: 4096 }] }, 'the throttle layer without CFQ or BFQ');
  t.same(s.hugetlb, {}, 'no v1 hugetlb hierarchy');
  t.same([s.intel_rdt, s.network_interfaces], [{}, null]);

  const v2 = v2Tree(tmpdir(t));
  const v2set: CgroupSet = { dirs: { [v2.cg]: `${v2.cg}/c1` }, created: [] };
  const g = (file: string, text: string) => write(`${v2.cg}/c1/${file}`, text);
  g('cpu.stat', 'usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 0\n');
  g('memory.current', '4096\n');
  g('memory.max', '8192\n');
  g('memory.swap.current', '0\n');
  g('memory.swap.max', 'max\n');
  g('memory.events', 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n');
  g('memory.stat', 'file 100\nanon 200\n');
  g('io.stat', '8:0 rbytes=1 wbytes=2 rios=3 wios=4\n');
  g('pids.current', '1\n');
  g('pids.max', '50\n');
  const s2 = JSON.parse(toJson(containerStats(v2Host(v2.cg), v2set))) as Record<string, Record<string, unknown>>;
  t.same(s2.cpu, { usage: { total: 5000, kernel: 2000, user: 3000 }, throttling: {} });
  t.same(s2.memory!.usage, { limit: 8192, usage: 4096, failcnt: 7 });
  t.equal(s2.memory!.cache, 100);
  t.same(s2.pids, { current: 1, limit: 50 });
  t.same((s2.blkio as Record<string, unknown>).ioServicedRecursive, [
    { major: 8, op: 'Read', value: 3 },
    { major: 8, op: 'Write', value: 4 },
  ]);
});

t.test('update: the command line → LinuxResources, merged into the recorded ones', async (t) => {
  const requested = (...flags: string[]) => requestedResources(optionsOf('update', [...flags, 'c']));
  t.equal(parseBytes('memory', '100m'), 100 * M);
  t.equal(parseBytes('memory', '1.5g'), 1.5 * 1024 * M);
  t.equal(parseBytes('memory', '64KiB'), 65536);
  t.equal(parseBytes('memory', '123'), 123);
  t.equal(parseBytes('memory', '-1'), -1);
  t.throws(() => parseBytes('memory', '10x'), /^invalid value "10x" for --memory/);
  t.same(
    requested(
      '--memory=64m',
      '--memory-swap=128m',
      '--cpu-shares=512',
      '--cpu-quota=-1',
      '--cpuset-cpus=0',
      '--pids-limit=10',
      '--blkio-weight=300',
      '--cpu-rt-runtime=100',
    ),
    {
      memory: { limit: 64 * M, swap: 128 * M },
      cpu: { shares: 512, quota: -1, cpus: '0', realtimeRuntime: 100 },
      pids: { limit: 10 },
      blockIO: { weight: 300 },
    },
  );
  t.same(requested('--memory=-1'), { memory: { limit: -1, swap: -1 } }, 'unlimited memory: unlimited swap too (runc)');
  t.throws(() => requested('--cpu-period=-5'), /^invalid value "-5" for --cpu-period: want an integer >= 0/);
  const d = tmpdir(t);
  write(`${d}/r.json`, '{"cpu":{"shares":100}}');
  t.same(requested(`--resources=${d}/r.json`), { cpu: { shares: 100 } });
  write(`${d}/bad.json`, '[1]');
  t.throws(() => requested(`--resources=${d}/bad.json`), /^--resources: want a JSON object/);
  t.throws(() => requested(`--resources=${d}/r.json`, '--memory=1m'), /^--resources cannot be combined with --memory/);
  t.throws(() => requested(`--resources=${d}/none.json`), /^--resources: cannot read /);

  t.same(
    mergeResources(
      { memory: { limit: 10, swap: 20 }, cpu: { cpus: '0' }, devices: [{ allow: false }], unified: { 'a.b': '1' } },
      { memory: { limit: 15 }, pids: { limit: 3 }, unified: { 'c.d': '2' }, hugepageLimits: [{ pageSize: '2MB', limit: 0 }] },
    ),
    {
      memory: { limit: 15, swap: 20 },
      cpu: { cpus: '0' },
      devices: [{ allow: false }],
      unified: { 'a.b': '1', 'c.d': '2' },
      pids: { limit: 3 },
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
    },
  );
  t.same(
    mergeResources({ memory: { limit: 10 } }, { memory: { limit: null as unknown as number, swap: 5 }, cpu: null as unknown as undefined }),
    { memory: { limit: 10, swap: 5 } },
    'null keeps what was there (Go clients write null for unset pointers)',
  );
});

t.test('ps: the table filtered to the container, events: intervals', async (t) => {
  const out = 'UID   PID  PPID CMD\nroot    1     0 init\nroot   42     1 sleep 1\nroot  420     1 x 42\n\n';
  t.equal(filterPsOutput(out, new Set([42])), 'UID   PID  PPID CMD\nroot   42     1 sleep 1\n');
  t.throws(() => filterPsOutput('USER CMD\nroot x\n', new Set([1])), /no PID column/);
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('1m30s'), 90000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1.5h'), 5400000);
  t.throws(() => parseDuration('5'), /^invalid value "5" for --interval/);
  t.throws(() => parseDuration('5sx'), /for --interval/);
});

t.test(
  'cgroup v2 freezing on a real cgroup2 dir',
  {
    skip:
      process.getuid?.() !== 0 || (!fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') && !fs.existsSync('/sys/fs/cgroup/cgroup.procs'))
        ? 'needs root and cgroup2'
        : false,
  },
  async (t) => {
    // cgroup.freeze is a core cgroup2 file: it works in a hybrid host's unified hierarchy too
    const v2 = detectHost().hierarchies.find((h) => h.version === 2)!;
    const set = createCgroup({ mode: 'v2', hierarchies: [{ ...v2, controllers: [] }] }, `/runt-test-freeze-${process.pid}`);
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    t.teardown(async () => {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      setFrozen(set, false);
      await exited;
      removeCgroup(set);
    });
    await once(child, 'spawn');
    addProcess(set, child.pid!);
    setFrozen(set, true);
    const dir = Object.values(set.dirs)[0]!;
    t.match(read(`${dir}/cgroup.events`), /^frozen 1$/m);
    t.ok(isFrozen(set));
    setFrozen(set, false);
    t.match(read(`${dir}/cgroup.events`), /^frozen 0$/m);
    t.notOk(isFrozen(set));
  },
);
