// A default-deny seccomp profile written before the calls runt's shim may make were added (faccessat2,
// openat2, close_range, pidfds...): without noNewPrivileges runt loads it before the credential steps, and
// nothing runt does after the load may depend on what it allows (runc and crun run such configs). Here the
// profile allows every x86_64 syscall older than Linux 5.1 (numbers below 424) and nothing newer.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { canRun, runningContainer, setup } from './harness';
import type { Spec } from '../../src/spec/generated/types';

const skip = canRun() || (process.arch !== 'x64' ? 'the profile is built from the x86_64 syscall table' : false);
if (skip) t.plan(0, skip);

/** Every syscall name of the x86_64 table numbered below 424 (pidfd_send_signal, Linux 5.1, is the first after). */
function oldSyscalls(): string[] {
  const header = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
  return [...header.matchAll(/^#define __NR_(\w+) (\d+)$/gm)].filter((m) => Number(m[2]) < 424).map((m) => m[1]!);
}

function oldProfile(noNewPrivileges: boolean): (s: Spec) => void {
  return (s) => {
    s.process!.noNewPrivileges = noNewPrivileges;
    s.process!.user = { uid: 1000, gid: 1000, additionalGids: [1000] };
    s.process!.cwd = '/tmp';
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: oldSyscalls(), action: 'SCMP_ACT_ALLOW' }],
    };
  };
}

t.test('an old default-deny profile: create, run and exec work, with and without noNewPrivileges', async (t) => {
  const env = setup(t);
  const names = oldSyscalls();
  t.ok(names.includes('execve') && !names.includes('faccessat2') && !names.includes('openat2') && !names.includes('close_range'), 'the profile is an old one');
  for (const nnp of [false, true]) {
    const run = env.runt(['run', '-b', env.bundle(['sh', '-c', 'echo ran in $(pwd) as $(id -u); ls /proc/self/fd'], oldProfile(nnp)), env.id('old')]);
    t.equal(run.status, 0, `run, noNewPrivileges ${nnp}: ${run.stderr}`);
    t.equal(run.stdout.split(/\s+/).filter(Boolean).join(' '), 'ran in /tmp as 1000 0 1 2 3', `noNewPrivileges ${nnp}: the program ran, with stdio only`);
    const script = env.runt([
      'run',
      '-b',
      env.bundle(['./echo', 'relative'], (s) => {
        oldProfile(nnp)(s);
        s.process!.cwd = '/bin';
      }),
      env.id('old'),
    ]);
    t.equal(script.stdout, 'relative\n', `a program relative to the cwd: ${script.stderr}`);
    const { id } = runningContainer(env, oldProfile(nnp));
    const ex = env.runt(['exec', id, 'sh', '-c', 'echo exec in $(pwd)']);
    t.equal(ex.stdout, 'exec in /tmp\n', `exec, noNewPrivileges ${nnp}: ${ex.stderr}`);
    const missing = env.runt(['run', '-b', env.bundle(['nosuchprogram'], oldProfile(nnp)), env.id('old')]);
    t.match(missing.stderr, /^runt: process\.args: exec: "nosuchprogram": executable file not found in \$PATH$/m, 'a missing program is still named');
  }
});
