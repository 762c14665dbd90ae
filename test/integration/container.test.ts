// What the process sees inside the container, checked from inside with busybox applets.
import t, { type Test } from 'tap';
import { chmodSync, closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, setup } from './harness';
import type { Spec } from '../../src/spec/generated/types';

const skip = canRun();
if (skip) t.plan(0, skip);

/** Runs `sh -c script` in a fresh container and returns its stdout (asserting exit status 0). */
function inside(t: Test, script: string, edit?: (s: Spec) => void): string {
  const env = setup(t);
  const r = env.runt(['run', '-b', env.bundle(['sh', '-c', script], edit), env.id('in')]);
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
  return r.stdout;
}

t.test('hostname, domainname, env, cwd, user, groups, umask', async (t) => {
  const out = inside(t, 'hostname; cat /proc/sys/kernel/domainname; echo $FOO; pwd; id -u; id -g; id -G; umask', (s) => {
    s.hostname = 'box1';
    s.domainname = 'example.org';
    s.process!.env!.push('FOO=bar');
    s.process!.cwd = '/tmp';
    s.process!.user = { uid: 1000, gid: 1001, additionalGids: [5, 7], umask: 0o027 };
  });
  t.equal(out, 'box1\nexample.org\nbar\n/tmp\n1000\n1001\n1001 5 7\n0027\n');
});

t.test('capabilities: exactly the configured sets; no_new_privs', async (t) => {
  const out = inside(t, 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)" /proc/self/status');
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
  const mask = ((1 << 5) | (1 << 10) | (1 << 29)).toString(16).padStart(16, '0');
  t.match(out, new RegExp(`CapInh:\\s+0{16}`));
  t.match(out, new RegExp(`CapPrm:\\s+${mask}`));
  t.match(out, new RegExp(`CapEff:\\s+${mask}`));
  t.match(out, new RegExp(`CapBnd:\\s+${mask}`));
  t.match(out, /CapAmb:\s+0{16}/);
  t.match(out, /NoNewPrivs:\s+1/);
});

t.test('rlimits and oomScoreAdj', async (t) => {
  const out = inside(t, 'ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj', (s) => {
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }];
    s.process!.oomScoreAdj = 123;
  });
  t.equal(out, '321\n654\n123\n');
});

t.test('readonly root, masked and readonly paths, sysctl', async (t) => {
  const out = inside(
    t,
    [
      'touch /x 2>/dev/null && echo root-writable || echo root-ro',
      'cat /proc/timer_list 2>&1 | wc -c',
      'ls /sys/firmware | wc -l',
      'echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo sys-writable || echo sys-ro',
      'cat /proc/sys/net/ipv4/ip_forward',
      'touch /dev/shm/ok && echo shm-ok',
    ].join('; '),
    (s) => {
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    },
  );
  t.equal(out, 'root-ro\n0\n0\nsys-ro\n1\nshm-ok\n');
});

t.test('/dev: default devices, links, devpts; and linux.devices', async (t) => {
  const out = inside(
    t,
    'for d in null zero full random urandom tty fuse0; do stat -c "%n %F %t:%T %a" /dev/$d; done; for l in fd stdin ptmx; do readlink /dev/$l; done; echo x > /dev/null && head -c 3 /dev/zero | wc -c',
    (s) => {
      s.linux!.devices = [{ path: '/dev/fuse0', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }];
    },
  );
  t.equal(
    out,
    [
      '/dev/null character special file 1:3 666',
      '/dev/zero character special file 1:5 666',
      '/dev/full character special file 1:7 666',
      '/dev/random character special file 1:8 666',
      '/dev/urandom character special file 1:9 666',
      '/dev/tty character special file 5:0 666',
      '/dev/fuse0 character special file a:e5 600',
      '/proc/self/fd',
      '/proc/self/fd/0',
      'pts/ptmx',
      '3',
      '',
    ].join('\n'),
  );
});

t.test('namespaces: own pid 1, mounts, network; the cgroup mount shows the container cgroup', async (t) => {
  const out = inside(t, 'echo $$; ip link 2>/dev/null | grep -c "^[0-9]"; cat /proc/self/cgroup | grep -c ":/$"; ls /sys/fs/cgroup | grep -c memory');
  const [pid1, links, rootCgroups, mem] = out.trim().split('\n');
  t.equal(pid1, '1', 'the process is pid 1 of its pid namespace');
  t.equal(links, '1', 'only lo in a new network namespace');
  t.not(rootCgroups, '0', 'the cgroup namespace is rooted at the container cgroup');
  t.equal(mem, '1', 'cgroup hierarchies are mounted');
});

t.test('no fd leaks into the container; --preserve-fds passes extra fds', async (t) => {
  t.equal(inside(t, 'ls /proc/self/fd | tr "\\n" " "'), '0 1 2 3 ', 'only stdio (3 is ls reading the dir)');
  const env = setup(t);
  const file = join(env.tmp, 'fd3');
  const fd = openSync(file, 'w');
  const r = env.runt(['run', '--preserve-fds', '1', '-b', env.bundle(['sh', '-c', 'echo via-fd3 >&3; ls /proc/self/fd | tr "\\n" " "']), env.id('fds')], {
    extraFds: [fd],
  });
  closeSync(fd);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '0 1 2 3 4 ', 'fd 3 passed, nothing else (4 is ls reading the dir)');
  t.equal(readFileSync(file, 'utf8'), 'via-fd3\n');
});

t.test('hooks: order, state on stdin, and where they run', async (t) => {
  const env = setup(t);
  const log = join(env.tmp, 'hooks.log');
  const hook = join(env.tmp, 'hook.sh');
  writeFileSync(hook, `#!/bin/sh\nread -r state\necho "$1 $(echo "$state" | grep -o '"status":"[a-z]*"')" >> ${log}\n`);
  chmodSync(hook, 0o755);
  const h = (name: string) => [{ path: hook, args: ['hook', name] }];
  const id = env.id('hooks');
  const bundle = env.bundle(['true'], (s) => {
    s.hooks = {
      prestart: h('prestart'),
      createRuntime: h('createRuntime'),
      createContainer: h('createContainer'),
      poststart: h('poststart'),
      poststop: h('poststop'),
    };
  });
  t.equal(env.runt(['create', '-b', bundle, id]).status, 0);
  t.equal(readFileSync(log, 'utf8'), 'prestart "status":"creating"\ncreateRuntime "status":"creating"\ncreateContainer "status":"creating"\n');
  t.equal(env.runt(['start', id]).status, 0);
  t.match(readFileSync(log, 'utf8'), /poststart "status":"running"\n$/);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(env.runt(['delete', '-f', id]).status, 0);
  t.match(readFileSync(log, 'utf8'), /poststop "status":"stopped"\n$/);
});

t.test('a failing hook fails the operation with its name; timeouts kill it', async (t) => {
  const env = setup(t);
  const cases: [string, Partial<Record<string, unknown>>, RegExp][] = [
    ['createRuntime', { createRuntime: [{ path: '/bin/false' }] }, /hooks.createRuntime\[0\].*exited with status 1/],
    ['createContainer', { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }] }, /hooks.createContainer\[0\].*status 4/],
    ['timeout', { prestart: [{ path: '/bin/sleep', args: ['sleep', '10'], timeout: 1 }] }, /hooks.prestart\[0\].*timed out/],
  ];
  for (const [name, hooks, re] of cases) {
    const id = env.id(name);
    const r = env.runt([
      'create',
      '-b',
      env.bundle(['true'], (s) => {
        s.hooks = hooks;
      }),
      id,
    ]);
    t.equal(r.status, 1, name);
    t.match(r.stderr, re, name);
  }
  const id = env.id('poststart');
  t.equal(
    env.runt([
      'create',
      '-b',
      env.bundle(['sleep', '100'], (s) => {
        s.hooks = { poststart: [{ path: '/bin/false' }] };
      }),
      id,
    ]).status,
    0,
  );
  const r = env.runt(['start', id]);
  t.equal(r.status, 1, 'a failing poststart hook fails start');
  t.match(r.stderr, /hooks.poststart\[0\]/);
});
