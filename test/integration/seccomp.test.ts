// linux.seccomp in real containers: actions, errno values, argument conditions, flags, the load position,
// a realistic default profile and a notify listener.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { canRun, fixture, REPO, setup, startListener, type Env } from './harness';
import type { LinuxSeccomp, LinuxSyscall, Spec } from '../../src/spec/generated/types';

const skip = canRun();
if (skip) t.plan(0, skip);

/** `run` of `sh -c script` with linux.seccomp = seccomp (and more edits). */
function run(t: Test, script: string, seccomp: LinuxSeccomp, edit?: (s: Spec) => void, env: Env = setup(t)) {
  const bundle = env.bundle(['sh', '-c', script], (s) => {
    s.linux!.seccomp = seccomp;
    edit?.(s);
  });
  return env.runt(['run', '-b', bundle, env.id('sc')]);
}

const MKDIR = ['mkdir', 'mkdirat'];

t.test('SCMP_ACT_ERRNO: each rule returns its errnoRet (EPERM without one)', async (t) => {
  const r = run(t, 'mkdir /dev/shm/a; rmdir /dev/shm; echo done', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: MKDIR, action: 'SCMP_ACT_ERRNO' },
      { names: ['rmdir', 'unlinkat'], action: 'SCMP_ACT_ERRNO', errnoRet: 39 },
    ],
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'done\n');
  t.match(r.stderr, /mkdir: can't create directory '\/dev\/shm\/a': Operation not permitted/);
  t.match(r.stderr, /rmdir: '\/dev\/shm': Directory not empty/);
});

t.test('a default ERRNO action with an allow list; unknown syscall names are skipped', async (t) => {
  const allowed = [
    'execve',
    'arch_prctl',
    'brk',
    'set_tid_address',
    'set_robust_list',
    'rseq',
    'prlimit64',
    'readlink',
    'mprotect',
    'getrandom',
    'getuid',
    'getpid',
    'getppid',
    'uname',
    'prctl',
    'rt_sigaction',
    'rt_sigprocmask',
    'ioctl',
    'newfstatat',
    'fstat',
    'write',
    'close',
    'exit_group',
    'no_such_syscall',
  ];
  const r = run(t, 'echo allowed; ls /', {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 13,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }],
  });
  t.equal(r.stdout, 'allowed\n');
  t.match(r.stderr, /ls: can't open '\/': Permission denied/, 'openat gets the default errno');
  t.equal(r.status, 1);
});

t.test('argument conditions: EQ and MASKED_EQ on personality, a rule per condition on the same argument', async (t) => {
  const r = run(t, 'linux64 echo linux64; linux32 echo linux32; echo done', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      // PER_LINUX32 (8) refused, as masked ((persona & 0xff) == 8) and as EQ; PER_LINUX (0) passes
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 0, value: 0xff, valueTwo: 8, op: 'SCMP_CMP_MASKED_EQ' }] },
      {
        names: ['personality'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 22,
        args: [
          { index: 0, value: 8, op: 'SCMP_CMP_EQ' },
          { index: 0, value: 9, op: 'SCMP_CMP_EQ' },
        ],
      },
    ],
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'linux64\ndone\n');
  t.match(r.stderr, /linux32: personality\(0x8\): Permission denied/);
});

t.test('conditions on two arguments: socket(AF_INET, type <= SOCK_RAW) refused, AF_INET6 passes', async (t) => {
  const r = run(t, 'ping -c1 -W1 127.0.0.1; ping6 -c1 -W1 ::1; echo done', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {
        names: ['socket'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 97,
        args: [
          { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 3, op: 'SCMP_CMP_LE' },
        ],
      },
    ],
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /ping: can't create raw socket: Address family not supported by protocol/);
  // without CAP_NET_RAW the kernel itself refuses ping6's socket: the filter let it through
  t.match(r.stderr, /ping6: permission denied/);
});

t.test('killing actions end the container with SIGSYS (exit 159)', async (t) => {
  const env = setup(t);
  for (const action of ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP'] as const) {
    const r = run(t, 'echo before; exec mkdir /dev/shm/k', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: MKDIR, action }] }, undefined, env);
    t.equal(r.status, 159, `${action}: ${r.stderr}`);
    t.equal(r.stdout, 'before\n', action);
  }
});

/** Seconds since boot: the kernel log's timestamps. */
function uptime(): number {
  return parseFloat(readFileSync('/proc/uptime', 'utf8'));
}

/** The kernel log's lines stamped at or after `since` (the ring buffer may have dropped older ones). */
function kernelLogSince(since: number): string {
  const lines = spawnSync('dmesg', [], { encoding: 'utf8' }).stdout.split('\n');
  return lines.filter((l) => parseFloat(/^\[\s*([\d.]+)\]/.exec(l)?.[1] ?? '0') >= since).join('\n');
}

t.test('SCMP_ACT_LOG allows and logs; SECCOMP_FILTER_FLAG_LOG logs the refusals too', async (t) => {
  const since = uptime();
  const r = run(t, 'mkdir /dev/shm/logged && echo made; linux32 true; grep Seccomp: /proc/self/status', {
    defaultAction: 'SCMP_ACT_ALLOW',
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [
      { names: MKDIR, action: 'SCMP_ACT_LOG' },
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'made\nSeccomp:\t2\n');
  // the audit record's code is the action without its data
  const log = kernelLogSince(since);
  t.match(log, /type=1326 .*comm="mkdir".* code=0x7ffc0000/, 'the LOG action in the audit log');
  t.match(log, /type=1326 .*comm="linux32".* code=0x50000\b/, 'an ERRNO action logged because of the flag');
});

t.test('flags TSYNC and SPEC_ALLOW: the filter loads; SPEC_ALLOW leaves speculative store bypass alone', async (t) => {
  // only where the kernel forces the mitigation on seccomp'ed processes ("prctl and seccomp") is there a difference
  const forced = readFileSync('/sys/devices/system/cpu/vulnerabilities/spec_store_bypass', 'utf8').includes('seccomp');
  const env = setup(t);
  const ssb = (flags: LinuxSeccomp['flags']) => {
    const r = run(t, 'grep -E "^(Seccomp|Speculation_Store_Bypass):" /proc/self/status', { defaultAction: 'SCMP_ACT_ALLOW', flags }, undefined, env);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /Seccomp:\t2\n/);
    return /Speculation_Store_Bypass:\s*(.*)/.exec(r.stdout)?.[1];
  };
  const allowed = ssb(['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']);
  const mitigated = ssb(['SECCOMP_FILTER_FLAG_TSYNC']);
  if (forced) {
    t.equal(allowed, 'thread vulnerable');
    t.equal(mitigated, 'thread force mitigated');
  } else {
    t.equal(allowed, mitigated, 'this kernel does not tie the mitigation to seccomp');
  }
});

t.test('the load position: before the credentials without noNewPrivileges, right before execve with it', async (t) => {
  const env = setup(t);
  const noCapset: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['capset'], action: 'SCMP_ACT_ERRNO' }] };
  const early = run(
    t,
    'echo ran',
    noCapset,
    (s) => {
      s.process!.noNewPrivileges = false;
    },
    env,
  );
  t.equal(early.status, 1, 'the shim sets the capabilities under the filter');
  t.match(early.stderr, /process\.capabilities: .*Operation not permitted/);
  const late = run(t, 'echo ran', noCapset, undefined, env);
  t.equal(late.status, 0, late.stderr);
  t.equal(late.stdout, 'ran\n', 'the filter comes after the capabilities');
  // an unprivileged user without no_new_privs: loaded while CAP_SYS_ADMIN is still held
  const user = run(
    t,
    'id -u; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status',
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }] },
    (s) => {
      s.process!.noNewPrivileges = false;
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.capabilities = {};
    },
    env,
  );
  t.equal(user.status, 0, user.stderr);
  t.equal(user.stdout, '1000\nNoNewPrivs:\t0\nSeccomp:\t2\n');
});

/** podman's conversion of its profile format (containers-common) to linux.seccomp, for x86_64. */
function podmanSeccomp(profile: PodmanProfile, caps: string[]): LinuxSeccomp {
  const [major = 0, minor = 0] = release().split('.').map(Number);
  const kernelAtLeast = (v: string) => {
    const [a = 0, b = 0] = v.split('.').map(Number);
    return major > a || (major === a && minor >= b);
  };
  const sub = profile.archMap?.find((a) => a.architecture === 'SCMP_ARCH_X86_64')?.subArchitectures ?? [];
  const syscalls = profile.syscalls.filter(
    ({ includes: inc = {}, excludes: exc = {} }) =>
      (!inc.arches?.length || inc.arches.includes('amd64')) &&
      (inc.caps ?? []).every((c) => caps.includes(c)) &&
      (!inc.minKernel || kernelAtLeast(inc.minKernel)) &&
      !exc.arches?.includes('amd64') &&
      !(exc.caps ?? []).some((c) => caps.includes(c)),
  );
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet === undefined ? {} : { defaultErrnoRet: profile.defaultErrnoRet }),
    architectures: ['SCMP_ARCH_X86_64', ...sub],
    // podman's Go structs omit empty fields; the profile file writes some as null
    syscalls: syscalls.map(({ names, action, errnoRet, args }) => ({ names, action, ...(errnoRet == null ? {} : { errnoRet }), ...(args ? { args } : {}) })),
  };
}

interface PodmanProfile {
  defaultAction: LinuxSeccomp['defaultAction'];
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures: LinuxSeccomp['architectures'] | null }[];
  syscalls: (LinuxSyscall & {
    includes?: { arches?: string[]; caps?: string[]; minKernel?: string };
    excludes?: { arches?: string[]; caps?: string[] };
  })[];
}

t.test("podman's default profile runs busybox", async (t) => {
  const installed = '/usr/share/containers/seccomp.json';
  const file = existsSync(installed) ? installed : join(REPO, 'test/fixtures/seccomp-default.json');
  t.comment(`profile: ${file}`);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as PodmanProfile;
  let seccomp: LinuxSeccomp | undefined;
  const r = run(t, 'echo hi; grep "^Seccomp:" /proc/self/status', { defaultAction: 'SCMP_ACT_ALLOW' }, (s) => {
    seccomp = podmanSeccomp(profile, s.process!.capabilities!.bounding!);
    s.linux!.seccomp = seccomp;
  });
  t.ok((seccomp?.syscalls?.length ?? 0) > 10);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'hi\nSeccomp:\t2\n', 'a busybox shell runs under the filter');
});

/** The syscalls Linux gained after 5.0 (x86_64 424 on): a profile from 2019 names none of them. */
const AFTER_LINUX_5_0 = new Set([
  'pidfd_send_signal',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'open_tree',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'pidfd_open',
  'clone3',
  'close_range',
  'openat2',
  'pidfd_getfd',
  'faccessat2',
  'process_madvise',
  'epoll_pwait2',
  'mount_setattr',
  'quotactl_fd',
  'landlock_create_ruleset',
  'landlock_add_rule',
  'landlock_restrict_self',
  'memfd_secret',
  'process_mrelease',
  'futex_waitv',
  'set_mempolicy_home_node',
  'cachestat',
  'fchmodat2',
  'map_shadow_stack',
  'futex_wake',
  'futex_wait',
  'futex_requeue',
  'statmount',
  'listmount',
  'lsm_get_self_attr',
  'lsm_set_self_attr',
  'lsm_list_modules',
  'mseal',
]);

t.test('ENOSYS stub: under a default-deny profile older than clone3, glibc falls back instead of failing', async (t) => {
  const env = setup(t);
  fixture(t, env, 'enosys-probe', ['-static', '-pthread']);
  // podman's default profile as it was before clone3: without the syscalls Linux gained since 5.0, without
  // getcpu (an old syscall the profile refuses), with the default ERRNO(EPERM) of Docker's profile of 2019
  const profile = JSON.parse(readFileSync(join(REPO, 'test/fixtures/seccomp-default.json'), 'utf8')) as PodmanProfile;
  const bundle = env.bundle(['/tmp/enosys-probe'], (s) => {
    s.mounts!.push({ destination: '/tmp', type: 'bind', source: env.tmp, options: ['rbind', 'ro'] });
    const current = podmanSeccomp(profile, s.process!.capabilities!.bounding!);
    const syscalls = current
      .syscalls!.map((sc) => ({ ...sc, names: sc.names.filter((n) => !AFTER_LINUX_5_0.has(n) && n !== 'getcpu') }))
      .filter((sc) => sc.names.length > 0);
    t.notOk(syscalls.some((sc) => sc.names.includes('clone3')));
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: current.architectures!, syscalls };
  });
  const r = env.runt(['run', '-b', bundle, env.id('enosys')]);
  t.equal(r.status, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      'posix_spawn ok', // clone3 → ENOSYS → clone
      'pthread_create ok', // the same
      'faccessat ok', // faccessat2 → ENOSYS → faccessat
      'close_range Function not implemented', // newer than the profile: as on a kernel without it
      'getcpu Operation not permitted', // older: the profile's own refusal
      '',
    ].join('\n'),
  );
});

t.test('SCMP_ACT_NOTIFY: the listener gets the notify fd and the container process state, and answers', async (t) => {
  const env = setup(t);
  for (const noNewPrivileges of [true, false]) {
    const sock = join(env.tmp, `listener-${noNewPrivileges}.sock`);
    const stateFile = join(env.tmp, `state-${noNewPrivileges}.json`);
    const agent = await startListener(t, env, 'seccomp-listener', [sock, stateFile]);
    const bundle = env.bundle(['sh', '-c', 'mkdir /dev/shm/n; echo status=$?'], (s) => {
      s.process!.noNewPrivileges = noNewPrivileges;
      s.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: sock,
        listenerMetadata: 'test-metadata',
        flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_TSYNC'],
        syscalls: [{ names: MKDIR, action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    const id = env.id('notify');
    const r = env.runt(['run', '-b', bundle, id]);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, 'status=1\n');
    t.match(r.stderr, /Disk quota exceeded/, "the listener's answer");
    t.equal(await agent.exited, 0, `the listener ends with the container (${agent.info()})`);
    t.match(agent.out(), /^notified (83|258)\n/);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    t.match(state, { ociVersion: '1.3.0', fds: ['seccompFd'], metadata: 'test-metadata', state: { id, status: 'creating', bundle } });
    t.equal(state.pid, (state.state as { pid: number }).pid);
    t.ok((state.pid as number) > 1);
  }
});

t.test('mistakes are errors naming the field, and leave nothing behind', async (t) => {
  const env = setup(t);
  const cases: [LinuxSeccomp, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_M68K'] }, /linux\.seccomp\.architectures\[0\]: SCMP_ARCH_M68K is not supported/],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] },
      /linux\.seccomp\.syscalls\[0\]\.errnoRet: SCMP_ACT_KILL takes no errno/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
      /linux\.seccomp\.listenerPath: is required with SCMP_ACT_NOTIFY/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] },
      /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be 0 to 5/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: join(env.tmp, 'none.sock'), syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
      /linux\.seccomp\.listenerPath: connect to seccomp listener .*none\.sock: No such file or directory/,
    ],
  ];
  for (const [seccomp, error] of cases) {
    const id = env.id('bad');
    const r = env.runt([
      'create',
      '-b',
      env.bundle(['true'], (s) => {
        s.linux!.seccomp = seccomp;
      }),
      id,
    ]);
    t.equal(r.status, 1);
    t.match(r.stderr, error);
    t.notOk(existsSync(join(env.root, id)), 'no state dir');
  }
  // an unknown action never reaches the plan builder: the schema names it first
  const r = env.runt([
    'create',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOPE' as 'SCMP_ACT_LOG' }] };
    }),
    env.id('bad'),
  ]);
  t.equal(r.status, 1);
  t.match(r.stderr, /linux\.seccomp\.syscalls\[0\]\.action/);
});
