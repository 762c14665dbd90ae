// cgroups as a client drives them: update (flags, a file, stdin), pause/resume, ps, events (stats and OOM),
// kill --all, delete --force of a container without its own pid namespace.
import t, { type Test } from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, cgroupDirs, readState, runtAsync, setup, waitExit, type Env } from './harness';
import type { Spec } from '../../src/spec/generated/types';

const skip = canRun();
if (skip) t.plan(0, skip);

const M = 1024 * 1024;

interface Started {
  id: string;
  pid: number;
  /** The container's cgroup dir of a v1 controller. */
  dir(controller: string): string;
  /** A file as the container sees it, through its root (its cgroup mount at /sys/fs/cgroup). */
  inside(path: string): string;
}

/** Creates and starts a container running `script` (sh -c); `edit` changes its config. */
function start(t: Test, env: Env, name: string, script: string, edit?: (s: Spec) => void): Started {
  const id = env.id(name);
  const bundle = env.bundle(['sh', '-c', script], edit);
  const c = env.runt(['run', '-d', '-b', bundle, id]);
  t.equal(c.status, 0, `run -d ${name}: ${c.stderr}`);
  const pid = readState(env, id).pid as number;
  const cg = (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Spec).linux!.cgroupsPath!;
  return {
    id,
    pid,
    dir: (controller) => `/sys/fs/cgroup/${controller}${cg}`,
    inside: (path) => readFileSync(`/proc/${pid}/root${path}`, 'utf8').trim(),
  };
}

const recorded = (env: Env, id: string): Spec => JSON.parse(readFileSync(join(env.root, id, 'config.json'), 'utf8')) as Spec;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('the zeros Docker sends in every config and update request are "not set", as in runc', async (t) => {
  const env = setup(t);
  // linux.resources of `docker run --memory 64m` (Docker 20.10), devices aside
  const c = start(t, env, 'dockerzeros', 'sleep 300', (s) => {
    s.linux!.resources = {
      ...s.linux!.resources,
      memory: { limit: 64 * M, swap: 128 * M, disableOOMKiller: false },
      cpu: { shares: 0 },
      blockIO: { weight: 0 },
    };
  });
  const file = (controller: string, name: string) => readFileSync(`${c.dir(controller)}/${name}`, 'utf8').trim();
  t.same([file('memory', 'memory.limit_in_bytes'), file('cpu', 'cpu.shares')], [`${64 * M}`, '1024'], 'the limit set; shares 0 left at the default');
  // `docker update --pids-limit 10`, as containerd's shim passes it on
  const r = env.runt(['update', '-r', '-', c.id], {
    input:
      '{"memory":{"limit":0,"reservation":0,"kernel":0,"swappiness":18446744073709551615},"cpu":{"shares":0,"quota":0,"period":0},"pids":{"limit":10},"blockIO":{"weight":0}}',
  });
  t.same([r.status, r.stderr], [0, '']);
  t.same(
    [file('pids', 'pids.max'), file('memory', 'memory.limit_in_bytes'), file('cpu', 'cpu.shares'), file('cpu', 'cpu.cfs_quota_us')],
    ['10', `${64 * M}`, '1024', '-1'],
    'pids set; the zeros changed nothing',
  );
  const bad = env.runt(['update', '-r', '-', c.id], { input: '{"blockIO":{"weight":5}}' });
  t.same([bad.status, bad.stderr], [1, 'runt: linux.resources.blockIO.weight: invalid weight 5 (10-1000)\n'], 'a weight that is set is still checked');
});

/**
 * How long a wait for something that will happen may take: not a measure of speed (a loaded machine takes
 * seconds for what takes milliseconds here alone), only a bound that reports a hang before tap's own timeout.
 */
const HANG_MS = 60_000;

/** Polls until `done` holds (the processes of a killed container leave its cgroup one by one). */
async function until(done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + HANG_MS;
  while (!done() && Date.now() < deadline) await sleep(10);
  return done();
}

t.test('update: single flags, a file, stdin; applied, seen inside, recorded', async (t) => {
  const env = setup(t);
  const c = start(t, env, 'upd', 'sleep 300', (s) => {
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 * M, swap: 128 * M }, cpu: { shares: 256 } };
  });
  const file = (controller: string, name: string) => readFileSync(`${c.dir(controller)}/${name}`, 'utf8').trim();

  // a blkio weight needs the CFQ or BFQ I/O scheduler (blkio.weight or blkio.bfq.weight); mq-deadline has none
  const weightFile = ['blkio.weight', 'blkio.bfq.weight'].find((f) => existsSync(`${c.dir('blkio')}/${f}`));
  let r = env.runt([
    'update',
    '--memory',
    '100m',
    '--memory-swap',
    '200m',
    '--memory-reservation',
    '50m',
    '--cpu-shares',
    '512',
    '--cpu-period',
    '200000',
    '--cpu-quota',
    '50000',
    '--cpu-burst',
    '10000',
    '--cpuset-cpus',
    '0',
    '--cpuset-mems',
    '0',
    '--pids-limit',
    '99',
    ...(weightFile ? ['--blkio-weight', '300'] : []),
    '--cpu-rt-period',
    '500000',
    c.id,
  ]);
  t.equal(r.status, 0, r.stderr);
  t.same(
    [
      file('memory', 'memory.limit_in_bytes'),
      file('memory', 'memory.memsw.limit_in_bytes'),
      file('memory', 'memory.soft_limit_in_bytes'),
      file('cpu', 'cpu.shares'),
      file('cpu', 'cpu.cfs_period_us'),
      file('cpu', 'cpu.cfs_quota_us'),
      file('cpu', 'cpu.cfs_burst_us'),
      file('cpu', 'cpu.rt_period_us'),
      file('cpuset', 'cpuset.cpus'),
      file('cpuset', 'cpuset.mems'),
      file('pids', 'pids.max'),
    ],
    [`${100 * M}`, `${200 * M}`, `${50 * M}`, '512', '200000', '50000', '10000', '500000', '0', '0', '99'],
  );
  if (weightFile) t.equal(file('blkio', weightFile), '300');
  else
    t.match(
      env.runt(['update', '--blkio-weight', '300', c.id]).stderr,
      /linux\.resources\.blockIO\.weight: neither blkio\.weight nor blkio\.bfq\.weight exists/,
      'no CFQ or BFQ here: a weight is an error naming the field',
    );
  t.equal(c.inside('/sys/fs/cgroup/memory/memory.limit_in_bytes'), `${100 * M}`, 'the container sees the new limit');
  t.same(recorded(env, c.id).linux!.resources!.memory, { limit: 100 * M, swap: 200 * M, reservation: 50 * M });
  t.equal(recorded(env, c.id).linux!.resources!.pids!.limit, 99);

  const json = join(env.tmp, 'resources.json');
  writeFileSync(json, JSON.stringify({ cpu: { shares: 1024 }, pids: { limit: 7 } }));
  r = env.runt(['update', '--resources', json, c.id]);
  t.equal(r.status, 0, r.stderr);
  t.same(
    [file('cpu', 'cpu.shares'), file('pids', 'pids.max'), file('memory', 'memory.limit_in_bytes')],
    ['1024', '7', `${100 * M}`],
    'a file (podman): only what it names changes',
  );

  r = env.runt(['update', '-r', '-', c.id], { input: JSON.stringify({ memory: { limit: 32 * M, swap: 48 * M }, cpu: { quota: -1 } }) });
  t.equal(r.status, 0, r.stderr);
  t.same(
    [file('memory', 'memory.limit_in_bytes'), file('memory', 'memory.memsw.limit_in_bytes'), file('cpu', 'cpu.cfs_quota_us')],
    [`${32 * M}`, `${48 * M}`, '-1'],
    'stdin (containerd): lowering memory+swap goes limit first',
  );
  t.equal(c.inside('/sys/fs/cgroup/pids/pids.max'), '7');
  t.same(recorded(env, c.id).linux!.resources!.cpu, { shares: 1024, period: 200000, quota: -1, burst: 10000, cpus: '0', mems: '0', realtimePeriod: 500000 });

  const disk = readdirSync('/sys/block').map((b) => readFileSync(`/sys/block/${b}/dev`, 'utf8').trim())[0];
  if (disk) {
    const [major, minor] = disk.split(':').map(Number);
    r = env.runt(['update', '-r', '-', c.id], {
      input: JSON.stringify({ blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 1048576 }], throttleWriteIOPSDevice: [{ major, minor, rate: 100 }] } }),
    });
    t.equal(r.status, 0, r.stderr);
    t.equal(file('blkio', 'blkio.throttle.read_bps_device'), `${disk} 1048576`);
    t.equal(file('blkio', 'blkio.throttle.write_iops_device'), `${disk} 100`);
  }

  const whole = recorded(env, c.id).linux!.resources!;
  r = env.runt(['update', '-r', '-', c.id], { input: JSON.stringify({ ...whole, cpu: { ...whole.cpu, shares: 768 } }) });
  t.same([r.status, r.stderr, file('cpu', 'cpu.shares')], [0, '', '768'], 'the whole resources, devices included, as containerd sends them');
  r = env.runt(['update', '-r', '-', c.id], { input: JSON.stringify({ devices: [{ allow: true }] }) });
  t.equal(r.status, 0);
  t.match(r.stderr, /level=warning msg="linux\.resources\.devices: not changed \(update does not change device rules, as in runc\)"/);
  t.same(recorded(env, c.id).linux!.resources!.devices, whole.devices);

  r = env.runt(['update', '-r', '-', c.id], { input: JSON.stringify({ memory: { limit: 4096, checkBeforeUpdate: true } }) });
  t.equal(r.status, 1);
  t.match(r.stderr, /linux\.resources\.memory\.limit: rejecting a limit of 4096 at or below the current usage \d+/);
  t.equal(file('memory', 'memory.limit_in_bytes'), `${32 * M}`, 'unchanged');
  r = env.runt(['update', '--cpu-rt-runtime', '1000', c.id]);
  t.equal(r.status, 1);
  t.match(r.stderr, /^runt: linux\.resources\.cpu\.realtimeRuntime: cannot write "1000" to .*cpu\.rt_runtime_us/m, 'a refusal names the field');
  r = env.runt(['update', '--memory', 'lots', c.id]);
  t.match(r.stderr, /invalid value "lots" for --memory/);
  r = env.runt(['update', '-r', '-', c.id], { input: '{"cpu":{"shares":2,"frobnicate":1}}' });
  t.match(r.stderr, /linux\.resources\.cpu\.frobnicate: unknown field/);
  t.equal(file('cpu', 'cpu.shares'), '768', 'nothing written when a field is refused');

  t.equal(env.runt(['kill', c.id, 'KILL']).status, 0);
  await waitExit(c.pid);
  r = env.runt(['update', '--memory', '1g', c.id]);
  t.equal(r.status, 1);
  t.match(r.stderr, /container not running/);
});

/** The lines of stderr that are not --debug's: the error a client shows. */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l && !l.startsWith('time='));

t.test('a resource the host refuses: one line naming the field and the file, no stack even with --debug, exit 1', async (t) => {
  const env = setup(t);
  const id = env.id('refused');
  // this host has fewer than 100 CPUs: the kernel refuses cpuset.cpus "99" (ERANGE)
  const bundle = env.bundle(['true'], (s) => {
    s.linux!.resources = { ...s.linux!.resources, cpu: { cpus: '99' } };
  });
  const cg = (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Spec).linux!.cgroupsPath!;
  const r = env.runt(['--debug', 'run', '-b', bundle, id]);
  t.equal(r.status, 1);
  t.match(errorLines(r.stderr), [/^runt: linux\.resources\.cpu\.cpus: cannot write "99" to \/sys\/fs\/cgroup\/cpuset\/.*\/cpuset\.cpus: ERANGE \(.+\)$/]);
  t.equal(errorLines(r.stderr).length, 1, 'one line');
  t.notMatch(r.stderr, /\\n\s+at /, 'no stack: not a bug in runt');
  t.same(cgroupDirs(cg), [], 'no cgroup is left');
  t.equal(env.runt(['list', '-q']).stdout, '', 'no container is left');

  // update: the kernel cannot reclaim the usage below a new limit (no swap): EBUSY, the limit unchanged
  const c = env.id('below');
  const b = env.bundle(['sleep', '300'], (s) => {
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 32 * M } };
  });
  t.equal(env.runt(['run', '-d', '-b', b, c]).status, 0);
  const u = env.runt(['--debug', 'update', '--memory', '4096', c]);
  t.equal(u.status, 1);
  t.match(errorLines(u.stderr), [
    /^runt: linux\.resources\.memory\.limit: cannot write "4096" to \/sys\/fs\/cgroup\/memory\/.*\/memory\.limit_in_bytes: EBUSY \(.+\)$/,
  ]);
  t.equal(errorLines(u.stderr).length, 1, 'one line');
  t.notMatch(u.stderr, /\\n\s+at /, 'no stack');
  const bcg = (JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as Spec).linux!.cgroupsPath!;
  t.equal(readFileSync(`/sys/fs/cgroup/memory${bcg}/memory.limit_in_bytes`, 'utf8').trim(), String(32 * M), 'unchanged');
});

t.test('pause and resume; kill of a paused container', async (t) => {
  const env = setup(t);
  const c = start(t, env, 'pause', 'trap "exit 3" TERM; while :; do sleep 0.05; done');
  t.equal(env.runt(['resume', c.id]).stderr, 'runt: container not paused\n');
  t.equal(env.runt(['pause', c.id]).status, 0);
  t.equal(readState(env, c.id).status, 'paused');
  t.equal(readFileSync(`${c.dir('freezer')}/freezer.state`, 'utf8').trim(), 'FROZEN');
  t.equal(env.runt(['pause', c.id]).stderr, 'runt: container not running\n');
  t.match(env.runt(['delete', c.id]).stderr, /not stopped/);

  t.equal(env.runt(['kill', c.id, 'TERM']).status, 0, 'a paused container takes a signal');
  await sleep(300);
  t.equal(readState(env, c.id).status, 'paused', '... but acts on it only once resumed');
  t.equal(env.runt(['resume', c.id]).status, 0);
  await waitExit(c.pid, HANG_MS);
  t.equal(readState(env, c.id).status, 'stopped');

  const k = start(t, env, 'pausekill', 'sleep 300');
  t.equal(env.runt(['pause', k.id]).status, 0);
  t.equal(env.runt(['kill', k.id, 'KILL']).status, 0);
  await waitExit(k.pid, HANG_MS);
  t.equal(readState(env, k.id).status, 'stopped', 'SIGKILL thaws it, so it dies');

  const a = start(t, env, 'pauseall', 'sleep 300 & sleep 300');
  t.equal(env.runt(['pause', a.id]).status, 0);
  t.equal(env.runt(['kill', '--all', a.id, 'KILL']).status, 0);
  await waitExit(a.pid, HANG_MS);
  t.ok(await until(() => readFileSync(`${a.dir('pids')}/cgroup.procs`, 'utf8') === ''), 'every process is gone');
  t.equal(env.runt(['delete', a.id]).status, 0);

  const f = start(t, env, 'pauseforce', 'sleep 300');
  t.equal(env.runt(['pause', f.id]).status, 0);
  t.equal(env.runt(['delete', '--force', f.id]).status, 0, 'delete --force of a paused container');
  t.notOk(existsSync(f.dir('freezer')), 'its cgroup is gone');
});

t.test('ps: json and table', async (t) => {
  const env = setup(t);
  const c = start(t, env, 'ps', 'sleep 301 & sleep 302');
  const j = env.runt(['ps', '--format', 'json', c.id]);
  t.equal(j.status, 0, j.stderr);
  const pids = JSON.parse(j.stdout) as number[];
  t.ok(pids.includes(c.pid), 'the init pid is there');
  t.equal(pids.length, 2, 'the two sleeps (sh execs the last one)');
  const table = env.runt(['ps', c.id]);
  t.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  t.match(lines[0], /^UID\s+PID\s+PPID/);
  t.same(
    lines
      .slice(1)
      .map((l) => Number(l.trim().split(/\s+/)[1]))
      .sort((a, b) => a - b),
    [...pids].sort((a, b) => a - b),
  );
  t.match(table.stdout, /sleep 301/);
  const custom = env.runt(['ps', c.id, '-o', 'pid,args']);
  t.equal(custom.status, 0, custom.stderr);
  t.same(
    custom.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/).slice(1).join(' '))
      .sort(),
    ['sleep 301', 'sleep 302'],
    'ps options after the id',
  );
});

t.test("events --stats: one object in runc's shape", async (t) => {
  const env = setup(t);
  const c = start(t, env, 'stats', 'sleep 300', (s) => {
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 * M }, pids: { limit: 20 } };
  });
  const r = env.runt(['events', '--stats', c.id]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.split('\n').length, 2, 'one line');
  const e = JSON.parse(r.stdout) as { type: string; id: string; data: Record<string, Record<string, unknown>> };
  t.equal(e.type, 'stats');
  t.equal(e.id, c.id);
  t.same(Object.keys(e.data), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
  t.same(Object.keys(e.data.cpu!), ['usage', 'throttling']);
  t.ok((e.data.cpu!.usage as { total: number }).total > 0);
  t.equal((e.data.memory!.usage as { limit: number }).limit, 64 * M);
  t.ok((e.data.memory!.usage as { usage: number }).usage > 0);
  t.same(e.data.pids, { current: 1, limit: 20 });
  const stopped = env.runt(['events', '--stats', 'nope']);
  t.match(stopped.stderr, /container does not exist/);
  t.equal(env.runt(['events', '--interval', '0s', c.id]).stderr, 'runt: duration interval must be greater than 0\n');
});

t.test('events: an OOM kill is reported, and the stream ends with the container', async (t) => {
  const env = setup(t);
  const id = env.id('oom');
  const bundle = env.bundle(['sh', '-c', 'sleep 0.3; dd if=/dev/zero of=/dev/null bs=48M count=1; echo survived'], (s) => {
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 16 * M, swap: 16 * M } };
  });
  t.equal(env.runt(['create', '-b', bundle, id]).status, 0);
  const ev = runtAsync(env, ['events', '--interval', '10s', id]);
  let out = '';
  ev.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => ev.on('exit', resolve));
  await sleep(200);
  t.equal(env.runt(['start', id]).status, 0);
  const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout')]);
  t.equal(code, 0, 'events exits when the container stops');
  t.same(
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown),
    [{ type: 'oom', id }],
  );
});

t.test('kill --all, and delete --force without a pid namespace, kill every process in the cgroup', async (t) => {
  const env = setup(t);
  const a = start(t, env, 'killall', 'sleep 300 & sleep 300 & wait');
  const before = JSON.parse(env.runt(['ps', '--format', 'json', a.id]).stdout) as number[];
  t.equal(before.length, 3);
  t.equal(env.runt(['kill', '--all', a.id, 'KILL']).status, 0);
  for (const pid of before) await waitExit(pid, 5000);
  t.equal(readState(env, a.id).status, 'stopped');

  const noPidNs = (s: Spec) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid');
  };
  const d = start(t, env, 'forcedel', 'sleep 300 & sleep 300 & wait', noPidNs);
  const pids = JSON.parse(env.runt(['ps', '--format', 'json', d.id]).stdout) as number[];
  t.equal(pids.length, 3);
  const cg = d.dir('pids').slice('/sys/fs/cgroup/pids'.length);
  t.equal(env.runt(['delete', '--force', d.id]).status, 0);
  for (const pid of pids) t.notOk(existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'latin1')), `${pid} is gone`);
  t.same(cgroupDirs(cg), [], 'the cgroup is removed');
});
