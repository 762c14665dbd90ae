// The fallbacks for older kernels, taken for real: runt runs under a seccomp filter (test/fixtures/enosys.c)
// that makes openat2 (Linux 5.6), close_range (5.9; CLOSE_RANGE_CLOEXEC 5.11) and faccessat2 (5.8) fail with
// ENOSYS and a setns through a pidfd (5.8) with EINVAL, as such kernels do. Containers still run with stdio
// only (hooks too), exec still joins the init's namespaces, and the CVE-2024-21626 moves are still refused.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, readState, REPO, RUNT, spawnCaptured, type Env } from './harness';
import { attack } from '../security/attack';

const skip = canRun();
if (skip) t.plan(0, skip);

const NEWER = ['openat2', 'close_range', 'faccessat2'];
const FDS = [3, 4, 5, 6, 7, 8, 9, 10];

function enosys(env: Env): string {
  const out = join(env.tmp, 'enosys');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-o', out, join(REPO, 'test/fixtures/enosys.c'), '-lseccomp'], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc enosys.c: ${cc.stderr}`);
  return out;
}

t.test('without openat2, close_range, faccessat2 and setns(pidfd): run, hooks, exec, and the attacks refused', async (t) => {
  const a = attack(t, (v) => copyFileSync('/bin/busybox', join(v, 'sh')));
  const { env, victim } = a;
  const wrapper = enosys(env);
  t.equal(
    spawnSync(wrapper, ['--check', ...NEWER], { encoding: 'utf8' }).stdout,
    'ENOSYS ENOSYS ENOSYS EINVAL\n',
    'the filter refuses them as an old kernel would',
  );
  const old = (args: string[]) => spawnCaptured(env.tmp, wrapper, [...NEWER, '--', RUNT, '--root', env.root, ...args]);

  const out = join(env.tmp, 'out');
  mkdirSync(out);
  const lsFds = (file: string): { path: string; args: string[] } => ({ path: '/bin/sh', args: ['sh', '-c', `ls /proc/self/fd > ${file}`] });
  const run = old([
    'run',
    '-b',
    env.bundle(['sh', '-c', 'ls /proc/self/fd; pwd'], (s) => {
      s.process!.cwd = '/tmp';
      s.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
      s.hooks = { createContainer: [lsFds(join(out, 'create'))], startContainer: [lsFds('/out/start')] };
    }),
    env.id('old'),
  ]);
  t.equal(run.status, 0, run.stderr);
  const fds = (s: string): string => s.split(/\s+/).filter(Boolean).join(' ');
  t.equal(fds(run.stdout), '0 1 2 3 /tmp', "the program: stdio only (ls's own dir is 3), in its cwd");
  t.equal(fds(readFileSync(join(out, 'create'), 'utf8')), '0 1 2 3', 'a createContainer hook: stdio only');
  t.equal(fds(readFileSync(join(out, 'start'), 'utf8')), '0 1 2 3', 'a startContainer hook: stdio only');

  const id = env.id('old');
  t.equal(old(['run', '-d', '-b', env.bundle(['sleep', '300']), id]).status, 0);
  const pid = readState(env, id).pid as number;
  for (const ns of ['mnt', 'pid', 'net', 'uts', 'ipc', 'cgroup']) {
    const r = old(['exec', id, 'readlink', `/proc/self/ns/${ns}`]);
    t.equal(r.stdout.trim(), readlinkSync(`/proc/${pid}/ns/${ns}`), `exec joined the init's ${ns} namespace (${r.stderr.trim()})`);
  }

  const hash = createHash('sha256')
    .update(readFileSync(join(victim, 'sh')))
    .digest('hex');
  const overwrite = ['-c', "exec 3</proc/self/exe; exec /bin/sh -c 'echo pwned >/proc/self/fd/3 && echo OVERWROTE'"];
  for (const fd of FDS) {
    const prog = `/proc/self/fd/${fd}/${process.pid}/root${victim}/sh`;
    const caps = (s: Parameters<NonNullable<Parameters<Env['bundle']>[1]>>[0]): void => {
      for (const set of ['bounding', 'effective', 'permitted'] as const) s.process!.capabilities![set]!.push('CAP_SYS_PTRACE');
    };
    for (const r of [
      old(['run', '-b', env.bundle([prog, ...overwrite], caps), env.id('a')]),
      old(['exec', '--cap', 'CAP_SYS_PTRACE', id, prog, ...overwrite]),
    ]) {
      t.not(r.status, 0, `fd ${fd}: refused`);
      t.match(
        r.stderr,
        /^runt: process\.args: exec: ".*": stat .*: (no such file or directory|too many levels of symbolic links)$/m,
        `fd ${fd}: ${r.stderr.trim()}`,
      );
      t.notMatch(r.stdout, /OVERWROTE/);
    }
    const cwd = old([
      'run',
      '-b',
      env.bundle(['true'], (s) => {
        s.process!.cwd = `/proc/self/fd/${fd}`;
      }),
      env.id('a'),
    ]);
    t.match(
      cwd.stderr,
      /^runt: process\.cwd: chdir to \/proc\/self\/fd\/\d+: (No such file or directory|a symbolic link loop, or a magic link of \/proc \(never followed\))$/m,
      `cwd, fd ${fd}: ${cwd.stderr.trim()}`,
    );
  }
  t.equal(
    createHash('sha256')
      .update(readFileSync(join(victim, 'sh')))
      .digest('hex'),
    hash,
    'the host file is unchanged',
  );
  a.hostUntouched();
});
