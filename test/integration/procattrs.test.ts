// personality, scheduler, ioPriority, memoryPolicy and execCPUAffinity as the process sees them: read back
// from inside the container (uname, /proc/self/stat and sched, ionice, numa_maps, /proc/self/status).
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { canRun, RUNT, runningContainer, setup, spawnCaptured } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

/** /proc/self/stat fields of the process: nice (19), rt_priority (40), policy (41). */
const STAT = ['sh', '-c', 'read -r line < /proc/self/stat; set -- ${line##*) }; shift 16; n=$1; shift 21; echo "nice=$n rtprio=$1 policy=$2"'];

t.test('personality LINUX32: uname -m says i686; LINUX keeps x86_64', { skip: process.arch !== 'x64' && 'x86-64 host only' }, async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['uname', '-m'], (s) => {
      s.linux!.personality = { domain: 'LINUX32' };
    }),
    env.id('linux32'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'i686\n');
  const r2 = env.runt([
    'run',
    '-b',
    env.bundle(['uname', '-m'], (s) => {
      s.linux!.personality = { domain: 'LINUX' };
    }),
    env.id('linux'),
  ]);
  t.equal(r2.stdout, 'x86_64\n', r2.stderr);
  const bad = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] };
    }),
    env.id('pflags'),
  ]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^runt: linux.personality.flags: no personality flag is supported/);
});

t.test('scheduler: batch with a nice value, idle, deadline with its parameters', async (t) => {
  const env = setup(t);
  const batch = env.runt([
    'run',
    '-b',
    env.bundle(STAT, (s) => {
      s.process!.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
    }),
    env.id('batch'),
  ]);
  t.equal(batch.stdout, 'nice=7 rtprio=0 policy=3\n', batch.stderr);
  // a negative nice value needs CAP_SYS_NICE: applied before the capabilities are dropped
  const other = env.runt([
    'run',
    '-b',
    env.bundle(STAT, (s) => {
      s.process!.scheduler = { policy: 'SCHED_OTHER', nice: -3 };
      s.process!.user = { uid: 1000, gid: 1000 };
    }),
    env.id('other'),
  ]);
  t.equal(other.stdout, 'nice=-3 rtprio=0 policy=0\n', other.stderr);
  const idle = env.runt([
    'run',
    '-b',
    env.bundle(STAT, (s) => {
      s.process!.scheduler = { policy: 'SCHED_IDLE' };
    }),
    env.id('idle'),
  ]);
  t.equal(idle.stdout, 'nice=0 rtprio=0 policy=5\n', idle.stderr);
  // a deadline task cannot fork: cat is the container's program itself
  const dl = env.runt([
    'run',
    '-b',
    env.bundle(['cat', '/proc/self/sched'], (s) => {
      s.process!.scheduler = { policy: 'SCHED_DEADLINE', runtime: 10_000_000, deadline: 30_000_000, period: 100_000_000 };
    }),
    env.id('deadline'),
  ]);
  t.equal(dl.status, 0, dl.stderr);
  t.match(dl.stdout, /^policy\s+:\s+6$/m);
  t.match(dl.stdout, /^dl\.runtime\s+:\s+\d+$/m);
  const iso = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.process!.scheduler = { policy: 'SCHED_ISO' };
    }),
    env.id('iso'),
  ]);
  t.equal(iso.status, 1);
  t.match(iso.stderr, /^runt: process.scheduler: sched_setattr\(policy 4.*Invalid argument/, 'the kernel has no SCHED_ISO');
  const nice = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.process!.scheduler = { policy: 'SCHED_OTHER', nice: 25 };
    }),
    env.id('nice'),
  ]);
  t.match(nice.stderr, /^runt: process.scheduler.nice: 25 is not in -20..19/);
});

t.test("scheduler: SCHED_FIFO with a real-time budget for the container's cgroup", async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(STAT, (s) => {
      s.process!.scheduler = { policy: 'SCHED_FIFO', priority: 10 };
      // v1 real-time group scheduling (where the kernel has it): a cgroup's budget must come from its parent's,
      // and runt's test parent has none, so this container's cgroup sits right under the root
      if (existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us')) {
        s.linux!.resources = { ...s.linux!.resources, cpu: { realtimeRuntime: 10_000, realtimePeriod: 1_000_000 } };
        s.linux!.cgroupsPath = `/runt-test-rt-${process.pid}`;
      }
    }),
    env.id('fifo'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'nice=0 rtprio=10 policy=1\n');
});

t.test('ioPriority: ionice inside reads the class and level', async (t) => {
  const env = setup(t);
  const be = env.runt([
    'run',
    '-b',
    env.bundle(['ionice'], (s) => {
      s.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
    }),
    env.id('be'),
  ]);
  t.equal(be.stdout, 'best-effort: prio 6\n', be.stderr);
  const idle = env.runt([
    'run',
    '-b',
    env.bundle(['sh', '-c', 'ionice; ionice -p $$'], (s) => {
      s.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    }),
    env.id('ioidle'),
  ]);
  t.equal(idle.stdout, 'idle\nidle\n', `inherited by children (${idle.stderr})`);
  // without a terminal the container's init is in its caller's process group: runc's IOPRIO_WHO_PGRP would
  // reach the caller too (this shell, and the test runner), runt's IOPRIO_WHO_PROCESS only the container
  const bundle = env.bundle(['ionice'], (s) => {
    s.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
  });
  const caller = spawnCaptured(env.tmp, 'sh', ['-c', `"$0" --root "$1" run -b "$2" "$3" && ionice -p $$`, RUNT, env.root, bundle, env.id('iocaller')]);
  t.equal(caller.status, 0, caller.stderr);
  t.match(caller.stdout, /^idle\n(none|best-effort): prio \d\n$/, 'the caller keeps its own I/O priority');
  const bad = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.process!.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 9 };
    }),
    env.id('iobad'),
  ]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^runt: process.ioPriority.priority: 9 is not in 0/);
});

t.test("memoryPolicy: numa_maps shows the policy of the process's mappings", async (t) => {
  const env = setup(t);
  const read = (mode: 'MPOL_INTERLEAVE' | 'MPOL_BIND' | 'MPOL_LOCAL', nodes?: string): string => {
    const r = env.runt([
      'run',
      '-b',
      env.bundle(['head', '-n', '1', '/proc/self/numa_maps'], (s) => {
        s.linux!.memoryPolicy = nodes === undefined ? { mode } : { mode, nodes };
      }),
      env.id('mpol'),
    ]);
    t.equal(r.status, 0, r.stderr);
    return r.stdout.split(' ')[1] ?? '';
  };
  t.equal(read('MPOL_INTERLEAVE', '0'), 'interleave:0');
  t.equal(read('MPOL_BIND', '0'), 'bind:0');
  t.equal(read('MPOL_LOCAL'), 'local');
  const bad = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '' };
    }),
    env.id('mpolbad'),
  ]);
  t.match(bad.stderr, /^runt: linux.memoryPolicy.nodes: mode MPOL_BIND needs at least one node/);
});

t.test(
  "execCPUAffinity: not the init's; an exec runs on final (or on initial without final); -p gives its own",
  { skip: cpus().length < 2 && 'needs 2 CPUs' },
  async (t) => {
    const env = setup(t);
    const { id, pid } = runningContainer(env, (s) => {
      s.process!.execCPUAffinity = { initial: '0', final: '1' };
    });
    const own = /Cpus_allowed_list:\s*(\S+)/;
    const initList = own.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
    t.not(initList, '1', `the init keeps its affinity (${initList})`);
    const grep = ['grep', 'Cpus_allowed_list', '/proc/self/status'];
    const r = env.runt(['exec', id, ...grep]);
    t.equal(r.status, 0, r.stderr);
    t.equal(own.exec(r.stdout)?.[1], '1');
    const proc = join(env.tmp, 'process.json');
    writeFileSync(proc, JSON.stringify({ args: grep, cwd: '/', execCPUAffinity: { initial: '1' } }));
    const p = env.runt(['exec', '-p', proc, id]);
    t.equal(own.exec(p.stdout)?.[1], '1', `initial alone stays after the cgroup move (${p.stderr})`);
    writeFileSync(proc, JSON.stringify({ args: grep, cwd: '/', execCPUAffinity: { final: '0' } }));
    t.equal(own.exec(env.runt(['exec', '-p', proc, id]).stdout)?.[1], '0');
    writeFileSync(proc, JSON.stringify({ args: grep, cwd: '/', execCPUAffinity: { final: '3-1' } }));
    const bad = env.runt(['exec', '-p', proc, id]);
    t.equal(bad.status, 1);
    t.match(bad.stderr, /^runt: process.execCPUAffinity.final: invalid range "3-1"/);
  },
);
