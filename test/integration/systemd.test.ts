// --systemd-cgroup on a host without systemd: a real dbus-daemon on a private socket (DBUS_SYSTEM_BUS_ADDRESS),
// with test/integration/fake-systemd.ts owning org.freedesktop.systemd1 on it. The daemon checks every message
// runt sends (framing, header fields, body against signature); the fake answers as systemd does, makes the
// scope's dirs in the real hierarchies and records the calls. runt is driven as a client drives it.
import t, { type Test } from 'tap';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, readState, REPO, setup, type Env } from './harness';
import { carriedOut, type Planned, withPlaceholders } from './plan-steps';
import type { Spec } from '../../src/spec/generated/types';

const skip = canRun() || (existsSync('/usr/bin/dbus-daemon') ? false : 'dbus-daemon is not installed');
if (skip) t.plan(0, skip);

const M = 1024 * 1024;
const CG = '/sys/fs/cgroup';

interface Call {
  interface: string;
  member: string;
  signature: string;
  body: unknown[];
}
type Prop = [string, { signature: string; value: unknown }];

const dir = mkdtempSync('/tmp/runt-systemd-');
const socket = join(dir, 'bus');
const records = join(dir, 'calls.jsonl');
writeFileSync(records, '');
/** Slices that exist before the test: the ones made later (by the fake or runt) must be gone at the end. */
const before = new Set(readdirSync(CG).filter((c) => existsSync(join(CG, c, 'system.slice'))));
const children: ChildProcess[] = [];

async function startBus(): Promise<void> {
  const config = join(dir, 'bus.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="root"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
</busconfig>\n`,
  );
  const daemon = spawn('dbus-daemon', ['--config-file', config, '--nofork', '--nopidfile'], { stdio: 'ignore' }); // it says only that it cannot raise its fd limit (no CAP_SYS_RESOURCE here)
  children.push(daemon);
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 200) throw new Error('dbus-daemon did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
  process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${socket}`;
  const fake = spawn(process.execPath, [...process.execArgv, join(REPO, 'test/integration/fake-systemd.ts'), process.env.DBUS_SYSTEM_BUS_ADDRESS, records], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(fake);
  await new Promise<void>((resolve, reject) => {
    fake.stdout!.on('data', (b: Buffer) => (b.toString().includes('ready') ? resolve() : undefined));
    fake.on('exit', (code) => reject(new Error(`fake systemd exited with ${code}`)));
  });
}

t.before(startBus);
t.teardown(async () => {
  // the fake stops what is still running (SIGTERM), then the bus goes
  for (const c of children.reverse()) {
    c.kill('SIGTERM');
    if (c.exitCode === null) await new Promise((r) => c.once('exit', r));
  }
  delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
  rmSync(dir, { recursive: true, force: true });
  for (const c of readdirSync(CG)) {
    const slice = join(CG, c, 'system.slice');
    if (before.has(c) || !existsSync(slice)) continue;
    try {
      rmdirSync(slice);
    } catch {
      // reported by the last test
    }
  }
});

const env = (e: Env) => ({
  runt: (args: string[]) =>
    e.runt(['--systemd-cgroup', ...args], { env: { PATH: process.env.PATH, DBUS_SYSTEM_BUS_ADDRESS: process.env.DBUS_SYSTEM_BUS_ADDRESS } }),
});

/** The calls recorded since `from` (an index into the record file). */
const calls = (from = 0): Call[] =>
  readFileSync(records, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(from)
    .map((l) => JSON.parse(l) as Call);
const propsOf = (list: Prop[]): Record<string, unknown> => Object.fromEntries(list.map(([n, v]) => [n, v.value]));

/** Every dir of the scope, in every hierarchy. */
const scopeDirs = (unit: string): string[] =>
  readdirSync(CG)
    .map((c) => join(CG, c, 'system.slice', unit))
    .filter((d) => existsSync(d));

function bundleFor(e: Env, unitName: string, edit?: (s: Spec) => void): string {
  return e.bundle(['sleep', '300'], (s) => {
    s.linux!.cgroupsPath = `system.slice:runt:${unitName}`;
    edit?.(s);
  });
}

t.test('run: the container is in a transient scope systemd made, with the properties it knows', async (t: Test) => {
  const e = setup(t);
  const sd = env(e);
  const id = e.id('sd');
  const unit = `runt-${id}.scope`;
  const from = calls().length;
  const bundle = bundleFor(e, id, (s) => {
    s.linux!.resources = { memory: { limit: 64 * M }, cpu: { shares: 512, quota: 25000, period: 100000, cpus: '0' }, pids: { limit: 50 } };
  });
  const r = sd.runt(['run', '-d', '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  const pid = readState(e, id).pid as number;

  const start = calls(from).find((c) => c.member === 'StartTransientUnit');
  t.ok(start, 'StartTransientUnit was called');
  t.same(start!.signature, 'ssa(sv)a(sa(sv))');
  t.same(start!.body.slice(0, 2), [unit, 'replace']);
  t.same(start!.body[3], [], 'no auxiliary units');
  const props = propsOf(start!.body[2] as Prop[]);
  t.match(props, {
    Description: `runt container ${id}`,
    Slice: 'system.slice',
    Delegate: true,
    PIDs: [pid],
    DefaultDependencies: false,
    MemoryAccounting: true,
    CPUAccounting: true,
    TasksAccounting: true,
    MemoryLimit: String(64 * M),
    CPUShares: '512',
    CPUQuotaPeriodUSec: '100000',
    CPUQuotaPerSecUSec: '250000',
    TasksMax: '50',
    AllowedCPUs: [1],
  });
  t.same((start!.body[2] as Prop[]).find(([n]) => n === 'PIDs')![1].signature, 'au', 'PIDs is an array of uint32');

  // where the process is, hierarchy by hierarchy: every one (the named systemd one too) shows the scope
  const procCgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  for (const line of procCgroup) t.equal(line.split(':')[2], `/system.slice/${unit}`, line);
  t.ok(existsSync(`${CG}/cpuset/system.slice/${unit}`), 'the cpuset dir systemd does not manage on v1 is made by runt');
  const file = (c: string, f: string) => readFileSync(`${CG}/${c}/system.slice/${unit}/${f}`, 'utf8').trim();
  t.same(
    [
      file('memory', 'memory.limit_in_bytes'),
      file('cpu', 'cpu.shares'),
      file('cpu', 'cpu.cfs_quota_us'),
      file('pids', 'pids.max'),
      file('cpuset', 'cpuset.cpus'),
    ],
    [String(64 * M), '512', '25000', '50', '0'],
    'the resource files hold the limits',
  );

  // update: SetUnitProperties with the merged resources, then the files
  const beforeUpdate = calls().length;
  const u = sd.runt(['update', '--memory', '100m', '--pids-limit', '77', id]);
  t.equal(u.status, 0, u.stderr);
  const set = calls(beforeUpdate).filter((c) => c.member === 'SetUnitProperties');
  t.equal(set.length, 1, 'one SetUnitProperties');
  t.same(set[0]!.body.slice(0, 2), [unit, true], 'runtime properties of the scope');
  t.match(propsOf(set[0]!.body[2] as Prop[]), { MemoryLimit: String(100 * M), TasksMax: '77', CPUShares: '512' });
  t.same([file('memory', 'memory.limit_in_bytes'), file('pids', 'pids.max')], [String(100 * M), '77']);

  // pause and resume: the freezer files, as runc does; systemd is not asked
  const beforePause = calls().length;
  t.equal(sd.runt(['pause', id]).status, 0);
  t.equal(readState(e, id).status, 'paused');
  t.equal(file('freezer', 'freezer.state'), 'FROZEN');
  t.equal(sd.runt(['resume', id]).status, 0);
  t.equal(readState(e, id).status, 'running');
  t.same(calls(beforePause), [], 'pause/resume make no D-Bus calls');

  // delete: StopUnit, and no dir of the scope stays in any hierarchy
  const beforeDelete = calls().length;
  const d = sd.runt(['delete', '--force', id]);
  t.equal(d.status, 0, d.stderr);
  t.same(
    calls(beforeDelete)
      .filter((c) => c.member === 'StopUnit')
      .map((c) => c.body),
    [[unit, 'replace']],
  );
  t.same(scopeDirs(unit), [], 'no cgroup dir of the scope is left');
  t.notOk(existsSync(`${CG}/cpuset/system.slice`), 'the slice dir runt made in cpuset is gone with its last container');
});

t.test("runt plan: systemd's scope made from outside, on the pid; planning asks systemd nothing", async (t: Test) => {
  const e = setup(t);
  const sd = env(e);
  const id = e.id('sd-plan');
  const unit = `runt-${id}.scope`;
  const bundle = bundleFor(e, id, (s) => {
    s.linux!.resources = { ...s.linux!.resources, pids: { limit: 50 } };
  });
  const from = calls().length;
  const r = sd.runt(['plan', '--format', 'json', '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  t.same(calls(from), [], 'no D-Bus call');
  t.same(scopeDirs(unit), [], 'no cgroup dir');
  const planned = JSON.parse(r.stdout) as Planned;
  t.same(planned.before, [], 'nothing before the shim: the scope needs the pid');
  t.notOk(
    planned.parent.some((s) => s.op.startsWith('CGROUP')),
    'the child joins no cgroup by itself',
  );
  t.same(planned.outside[0], { op: 'SYSTEMD_SCOPE', args: [unit, 'system.slice', 'system', '<pid>'], field: 'linux.cgroupsPath' });
  t.ok(
    planned.outside.some((s) => s.op === 'CGROUP_WRITE' && String(s.args[0]).endsWith(`/${unit}/pids.max`) && s.args[1] === '50'),
    'the resource files of the scope',
  );
  // create carries out that plan
  const log = join(e.tmp, `${id}.log`);
  const c = sd.runt(['--debug', '--log', log, '--log-format', 'json', 'create', '-b', bundle, id]);
  t.equal(c.status, 0, c.stderr);
  t.same(withPlaceholders(carriedOut(log), readState(e, id).pid as number, e.root), planned, 'create carried out the plan printed');
  t.equal(sd.runt(['delete', '--force', id]).status, 0);
  t.same(scopeDirs(unit), []);
});

t.test('a start job that fails: a clear error, nothing left behind', async (t: Test) => {
  const e = setup(t);
  const id = e.id('fail-sd');
  const r = env(e).runt(['run', '-d', '-b', bundleFor(e, id), id]);
  t.not(r.status, 0);
  t.match(r.stderr, `systemd: error creating unit runt-${id}.scope: got failed`);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.same(scopeDirs(`runt-${id}.scope`), []);
  t.notOk(existsSync(join(e.root, id)), 'no state dir');
});

t.test('a limit the kernel refuses after the scope is made: the unit is stopped again, nothing left behind', async (t: Test) => {
  const e = setup(t);
  const id = e.id('sd-undo');
  const unit = `runt-${id}.scope`;
  const from = calls().length;
  const r = env(e).runt([
    'run',
    '-d',
    '-b',
    bundleFor(e, id, (s) => {
      s.linux!.resources = { cpu: { cpus: '63' } };
    }),
    id,
  ]);
  t.not(r.status, 0);
  t.match(r.stderr, /linux\.resources\.cpu\.cpus: cannot write "63"/);
  t.same(
    calls(from)
      .filter((c) => c.member !== 'ResetFailedUnit')
      .map((c) => [c.member, c.body[0]]),
    [
      ['StartTransientUnit', unit],
      ['StopUnit', unit],
    ],
  );
  t.same(scopeDirs(unit), [], 'no cgroup dir of the scope is left');
  t.notOk(existsSync(join(e.root, id)), 'no state dir');
});

t.test('a second container for a scope that exists: reset once, then a clear error; the first is untouched', async (t: Test) => {
  const e = setup(t);
  const sd = env(e);
  const first = e.id('sd-dup');
  const second = e.id('sd-dup');
  t.equal(sd.runt(['run', '-d', '-b', bundleFor(e, first), first]).status, 0);
  const from = calls().length;
  const r = sd.runt(['run', '-d', '-b', bundleFor(e, first), second]);
  t.not(r.status, 0);
  t.match(r.stderr, `systemd: StartTransientUnit runt-${first}.scope: org.freedesktop.systemd1.UnitExists`);
  t.same(
    calls(from).map((c) => c.member),
    ['StartTransientUnit', 'ResetFailedUnit', 'StartTransientUnit'],
    'as runc: reset-failed and one retry',
  );
  t.notOk(existsSync(join(e.root, second)), 'no state dir for the second');
  t.equal(readState(e, first).status, 'running');
  t.equal(sd.runt(['delete', '--force', first]).status, 0);
  t.same(scopeDirs(`runt-${first}.scope`), []);
});

t.test('cgroupsPath that is not slice:prefix:name, or a bad slice: errors naming the field', async (t: Test) => {
  const e = setup(t);
  for (const [path, msg] of [
    ['/a/b', /linux\.cgroupsPath: expected "slice:prefix:name"/],
    ['system:runt:x', /linux\.cgroupsPath: invalid slice name "system"/],
  ] as const) {
    const id = e.id('badpath');
    const r = env(e).runt([
      'create',
      '-b',
      e.bundle(['true'], (s) => {
        s.linux!.cgroupsPath = path;
      }),
      id,
    ]);
    t.not(r.status, 0, path);
    t.match(r.stderr, msg);
    t.notOk(existsSync(join(e.root, id)));
  }
});

t.test("org.systemd.property.* annotations: extra properties of the scope's StartTransientUnit, as runc sends them", async (t: Test) => {
  const e = setup(t);
  const sd = env(e);
  const id = e.id('sd-props');
  const from = calls().length;
  const bundle = bundleFor(e, id, (s) => {
    s.annotations = {
      'org.systemd.property.CollectMode': '"inactive-or-failed"',
      'org.systemd.property.TimeoutStopSec': '15',
      'org.systemd.property.DefaultDependencies': 'true',
      'org.opencontainers.other': 'not a property',
    };
  });
  const r = sd.runt(['run', '-d', '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  const start = calls(from).find((c) => c.member === 'StartTransientUnit')!;
  const list = start.body[2] as Prop[];
  const named = (n: string) => list.filter(([name]) => name === n).map(([, v]) => v);
  t.same(named('CollectMode'), [{ signature: 's', value: 'inactive-or-failed' }]);
  t.same(named('TimeoutStopUSec'), [{ signature: 't', value: '15000000' }], 'seconds as microseconds, under the USec name');
  t.same(
    named('DefaultDependencies').map((v) => v.value),
    [false, true],
    "after runt's own: the annotation's value is the one systemd keeps",
  );
  t.equal(sd.runt(['delete', '--force', id]).status, 0);

  const bad = e.id('sd-badprop');
  const before = calls().length;
  const f = sd.runt([
    'run',
    '-d',
    '-b',
    bundleFor(e, bad, (s) => {
      s.annotations = { 'org.systemd.property.CollectMode': 'inactive' };
    }),
    bad,
  ]);
  t.equal(f.status, 1);
  t.match(f.stderr, 'annotations["org.systemd.property.CollectMode"]: cannot parse "inactive"');
  t.notMatch(f.stderr, /\n\s+at /, 'no stack trace');
  t.same(
    calls(before).filter((c) => c.member === 'StartTransientUnit'),
    [],
    'systemd is not asked',
  );
  t.notOk(existsSync(join(e.root, bad)), 'no state dir');
});

// the user manager's success is tested against a real one (systemd-real.test.ts): it needs a cgroup2-only view
t.test('rootless with --systemd-cgroup on this hybrid host: the user manager needs cgroup v2 alone, as with runc', async (t: Test) => {
  const e = setup(t);
  const id = e.id('sd-rootless');
  const r = env(e).runt(['--rootless', 'true', 'create', '-b', bundleFor(e, id), id]);
  t.not(r.status, 0);
  t.match(r.stderr, '--systemd-cgroup: rootless containers are made by the systemd user manager, which needs cgroup v2 alone; this host is hybrid');
  t.notOk(existsSync(join(e.root, id)));
});

t.test('features says the systemd driver is there, for the system and the user manager', async (t: Test) => {
  const e = setup(t);
  const f = JSON.parse(e.runt(['features']).stdout) as { linux: { cgroup: { systemd: boolean; systemdUser: boolean } } };
  t.same(f.linux.cgroup.systemd, true);
  t.same(f.linux.cgroup.systemdUser, true);
});

t.test('no cgroup dir runt or the fake made is left', async (t: Test) => {
  const left = (): string[] => readdirSync(CG).filter((c) => !before.has(c) && existsSync(join(CG, c, 'system.slice')));
  for (let i = 0; i < 300 && left().length; i++) await new Promise((r) => setTimeout(r, 100));
  t.same(left(), []);
});

// a real dbus-daemon carried the conversation; sd-bus (busctl) reads the fake's replies as systemd's clients do
t.test('busctl (sd-bus) against the fake: the same wire format both ways', { skip: existsSync('/usr/bin/busctl') ? false : 'no busctl' }, async (t: Test) => {
  const r = spawnSync(
    'busctl',
    [
      '--address',
      process.env.DBUS_SYSTEM_BUS_ADDRESS!,
      'call',
      'org.freedesktop.systemd1',
      '/org/freedesktop/systemd1',
      'org.freedesktop.systemd1.Manager',
      'StopUnit',
      'ss',
      'nothere.scope',
      'replace',
    ],
    { encoding: 'utf8' },
  );
  t.not(r.status, 0);
  t.match(r.stderr, /Unit nothere\.scope not loaded/);
  const last = calls().at(-1)!;
  t.same([last.member, last.signature, last.body], ['StopUnit', 'ss', ['nothere.scope', 'replace']], 'the fake read what sd-bus sent');
});
