// Resource limits as a container feels them: a fork bomb stopped by pids.limit, a denied device, cpu values
// seen from inside, processes that make no progress while paused.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, readState, setup } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('a pids limit stops a fork bomb', async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(
      [
        'sh',
        '-c',
        // the bomb in a subshell (a shell whose fork fails gives up); then shell builtins only: no pid is left
        '(n=0; while [ $n -lt 60 ]; do sleep 30 & n=$((n+1)); done) 2>/dev/null; for f in current max events; do read v < /sys/fs/cgroup/pids/pids.$f; echo $v; done',
      ],
      (s) => {
        s.linux!.resources = { ...s.linux!.resources, pids: { limit: 16 } };
      },
    ),
    env.id('forkbomb'),
  ]);
  t.equal(r.status, 0, r.stderr);
  const [current, max, events] = r.stdout.trim().split('\n');
  t.equal(max, '16');
  t.ok(Number(current) <= 16, `never more than the limit (${current})`);
  t.match(events, /^max [1-9]\d*$/, `forks were refused (${events})`);
});

t.test('a device rule denies opening the device', async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['sh', '-c', 'cat /dev/fuse; echo "status=$?"; head -c 1 /dev/zero | wc -c'], (s) => {
      s.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666 }];
      s.linux!.resources = { ...s.linux!.resources, devices: [{ allow: false, access: 'rwm' }] };
    }),
    env.id('devdeny'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /\/dev\/fuse'?: Operation not permitted/);
  t.equal(r.stdout, 'status=1\n1\n', 'denied, while a default device still works');
});

t.test("cpu quota and cpuset values are readable in the container's cgroup files", async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['cat', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us', '/sys/fs/cgroup/cpuset/cpuset.cpus'], (s) => {
      s.linux!.resources = { ...s.linux!.resources, cpu: { quota: 25000, period: 100000, cpus: '0' } };
    }),
    env.id('cpu'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '25000\n100000\n0\n');
});

t.test('pause: the processes are frozen (state D or T) and make no progress; resume thaws them', async (t) => {
  const env = setup(t);
  const id = env.id('freeze');
  const counter = join(env.tmp, 'count');
  t.equal(
    env.runt([
      'run',
      '-d',
      '-b',
      env.bundle(['sh', '-c', 'n=0; while :; do n=$((n+1)); echo $n > /out/count; sleep 0.02; done'], (s) => {
        s.mounts!.push({ destination: '/out', type: 'bind', source: env.tmp, options: ['rbind', 'rw'] });
      }),
      id,
    ]).status,
    0,
  );
  const pid = readState(env, id).pid as number;
  const read = (): number => Number(readFileSync(counter, 'utf8').trim() || 0);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(env.runt(['pause', id]).status, 0);
  await new Promise((r) => setTimeout(r, 100));
  const frozenAt = read();
  const state = /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'latin1'))![1];
  t.ok(state === 'D' || state === 'T', `the process state is ${state}`);
  await new Promise((r) => setTimeout(r, 400));
  t.equal(read(), frozenAt, 'no progress while paused');
  t.equal(env.runt(['resume', id]).status, 0);
  // a loaded 2-core host may take a while to schedule the thawed loop: progress within 5 s
  const deadline = Date.now() + 5000;
  while (read() <= frozenAt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(read() > frozenAt, 'progress again after resume');
});
