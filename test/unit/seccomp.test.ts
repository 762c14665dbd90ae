// The seccomp plan builder: linux.seccomp → SECCOMP_* steps, pure, no root needed.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { defaultSpec } from '../../src/lifecycle/spec';
import { features } from '../../src/lifecycle/features';
import { buildChildPlan, buildParentPlan } from '../../src/plan';
import { planContext } from './plan-context';
import { enosysSyscalls, seccompListenerSteps, seccompSteps, supportedSeccompFlags } from '../../src/plan/seccomp';
import { ConfigError, type Step } from '../../src/plan/types';
import type { LinuxSeccomp, Spec } from '../../src/spec/generated/types';

const STATE = JSON.stringify({ ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: 4242, bundle: '/b' });
const ALLOW = 0x7fff0000;
const ERRNO = 0x00050000;

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);
const rules = (steps: Step[]): Step['args'][] => steps.filter((s) => s.op === 'SECCOMP_RULE').map((s) => s.args);

function build(seccomp: LinuxSeccomp, noNewPrivileges = true): Step[] {
  const s = seccompSteps(seccomp, noNewPrivileges, STATE);
  return [...s.beforeCredentials, ...s.beforeExec];
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** Both builders refuse seccomp with a ConfigError: the parent's, before the shim starts, too. */
function fails(t: Test, seccomp: LinuxSeccomp, message: RegExp, what: string): void {
  for (const e of [thrown(() => build(seccomp)), thrown(() => seccompListenerSteps(seccomp))]) {
    t.ok(e instanceof ConfigError, what);
    t.match((e as Error | undefined)?.message, message, what);
  }
}

t.test('actions become SECCOMP_RET_* values, errnoRet their data (EPERM by default)', async (t) => {
  const steps = build({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    syscalls: [
      { names: ['a1'], action: 'SCMP_ACT_KILL' },
      { names: ['a2'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['a3'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['a4'], action: 'SCMP_ACT_TRAP' },
      { names: ['a5'], action: 'SCMP_ACT_ERRNO' },
      { names: ['a6'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['a7'], action: 'SCMP_ACT_TRACE' },
      { names: ['a8'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['a9'], action: 'SCMP_ACT_LOG' },
      { names: ['a10'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  t.same(steps[0], { op: 'SECCOMP_INIT', args: [ERRNO + 38, 1], field: 'linux.seccomp.defaultAction' });
  t.same(rules(steps), [
    [0, 'a1'],
    [0, 'a2'],
    [0x80000000, 'a3'],
    [0x00030000, 'a4'],
    [ERRNO + 1, 'a5'],
    [ERRNO + 13, 'a6'],
    [0x7ff00001, 'a7'],
    [0x7ff00007, 'a8'],
    [0x7ffc0000, 'a9'],
    [ALLOW, 'a10'],
  ]);
  t.same(steps.at(-1), { op: 'SECCOMP_LOAD', args: [0], field: 'linux.seccomp' });
});

t.test('an errno only with ERRNO and TRACE, and at most 16 bits', async (t) => {
  fails(t, { defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, /^linux\.seccomp\.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno$/, 'default');
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_LOG', errnoRet: 1 }] },
    /^linux\.seccomp\.syscalls\[0\]\.errnoRet: SCMP_ACT_LOG takes no errno$/,
    'rule',
  );
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', errnoRet: 65536 }] },
    /^linux\.seccomp\.syscalls\[0\]\.errnoRet: must be 0 to 65535, got 65536$/,
    'too large',
  );
});

t.test('names the schema would refuse are errors naming the field, never looked up on Object.prototype', async (t) => {
  fails(t, { defaultAction: 'SCMP_ACT_NOPE' as 'SCMP_ACT_LOG' }, /^linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_NOPE"$/, 'action');
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'constructor' as 'SCMP_ACT_LOG' }] },
    /^linux\.seccomp\.syscalls\[0\]\.action: unknown action "constructor"$/,
    'prototype key',
  );
  fails(
    t,
    {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['x'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: 1, op: 'SCMP_CMP_NOPE' as 'SCMP_CMP_EQ' }] }],
    },
    /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_NOPE"$/,
    'operator',
  );
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE' as 'SECCOMP_FILTER_FLAG_LOG'] },
    /^linux\.seccomp\.flags\[0\]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"$/,
    'flag',
  );
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_LOONGARCH64'] },
    /^linux\.seccomp\.architectures\[1\]: SCMP_ARCH_LOONGARCH64 is not supported by runt \(libseccomp 2\.5\)$/,
    'arch',
  );
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['ok', 'not a name'], action: 'SCMP_ACT_LOG' }] },
    /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: "not a name" is not a syscall name$/,
    'syscall name',
  );
});

t.test('architectures are AUDIT_ARCH tokens', async (t) => {
  const steps = build({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64'] });
  t.same(
    steps.filter((s) => s.op === 'SECCOMP_ARCH'),
    [
      { op: 'SECCOMP_ARCH', args: [0xc000003e], field: 'linux.seccomp.architectures[0]' },
      { op: 'SECCOMP_ARCH', args: [0x40000003], field: 'linux.seccomp.architectures[1]' },
      { op: 'SECCOMP_ARCH', args: [0x4000003e], field: 'linux.seccomp.architectures[2]' },
      { op: 'SECCOMP_ARCH', args: [0xc00000b7], field: 'linux.seccomp.architectures[3]' },
    ],
  );
});

t.test('conditions: operators as scmp_compare, values as uint64; two on one argument make a rule each', async (t) => {
  const steps = build({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {
        names: ['socket', 'socketpair'],
        action: 'SCMP_ACT_ERRNO',
        args: [
          { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 0xff, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' },
        ],
      },
      {
        names: ['personality'],
        action: 'SCMP_ACT_ERRNO',
        args: [
          { index: 0, value: 8, op: 'SCMP_CMP_NE' },
          { index: 0, value: 2 ** 64 - 1, op: 'SCMP_CMP_LT' },
        ],
      },
      {
        names: ['x'],
        action: 'SCMP_ACT_LOG',
        args: [
          { index: 5, value: 1, op: 'SCMP_CMP_LE' },
          { index: 4, value: 2, op: 'SCMP_CMP_GE' },
          { index: 3, value: 3, op: 'SCMP_CMP_GT' },
        ],
      },
    ],
  });
  t.same(rules(steps), [
    [ERRNO + 1, 'socket', 0, 4, 2n, 0n, 1, 7, 255n, 3n],
    [ERRNO + 1, 'socketpair', 0, 4, 2n, 0n, 1, 7, 255n, 3n],
    [ERRNO + 1, 'personality', 0, 1, 8n, 0n],
    [ERRNO + 1, 'personality', 0, 2, 18446744073709551615n, 0n],
    [0x7ffc0000, 'x', 5, 3, 1n, 0n, 4, 5, 2n, 0n, 3, 6, 3n, 0n],
  ]);
  t.equal(steps.find((s) => s.op === 'SECCOMP_RULE')!.field, 'linux.seccomp.syscalls[0]');
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_LOG', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] },
    /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be 0 to 5, got 6$/,
    'index',
  );
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] },
    /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: must be an unsigned 64-bit integer, got -1$/,
    'value',
  );
});

t.test("rules repeating the default action are left out (libseccomp refuses them); long lists get libseccomp's binary tree", async (t) => {
  const steps = build({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['a'], action: 'SCMP_ACT_ERRNO' },
      { names: ['b'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      { names: ['c'], action: 'SCMP_ACT_ERRNO', errnoRet: 2 },
    ],
  });
  t.same(rules(steps), [[ERRNO + 2, 'c']]);
  const names = Array.from({ length: 33 }, (_, i) => `call${i}`);
  t.same(build({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }] })[0]!.args, [ERRNO + 1, 2]);
  t.same(build({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: names.slice(1), action: 'SCMP_ACT_ALLOW' }] })[0]!.args, [ERRNO + 1, 1]);
});

t.test('flags become a SECCOMP_FILTER_FLAG_* mask; the kernel of `features` decides what is supported', async (t) => {
  const load = (seccomp: LinuxSeccomp) => build(seccomp).find((s) => s.op === 'SECCOMP_LOAD')!;
  t.same(
    load({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }).args,
    [7],
  );
  fails(
    t,
    { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] },
    /^linux\.seccomp\.flags\[0\]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY$/,
    'killable without notify',
  );
  t.same(supportedSeccompFlags('5.15.0-91-generic'), ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']);
  t.same(supportedSeccompFlags('5.19.1'), [
    'SECCOMP_FILTER_FLAG_TSYNC',
    'SECCOMP_FILTER_FLAG_LOG',
    'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
    'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
  ]);
  const f = features().linux!.seccomp!;
  t.equal(f.enabled, true);
  t.equal(f.actions!.length, 9);
  t.equal(f.operators!.length, 7);
  t.ok(f.archs!.includes('SCMP_ARCH_X86_64') && f.archs!.includes('SCMP_ARCH_X86') && f.archs!.includes('SCMP_ARCH_X32'));
  t.same(f.knownFlags, ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);
});

const NOTIFY: LinuxSeccomp = {
  defaultAction: 'SCMP_ACT_ALLOW',
  listenerPath: '/run/agent.sock',
  listenerMetadata: 'meta',
  flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
  syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
};

t.test('NOTIFY: a listener connection in the parent, NEW_LISTENER (and TSYNC_ESRCH with TSYNC), the process state', async (t) => {
  t.same(seccompListenerSteps(NOTIFY), [{ op: 'SECCOMP_LISTENER', args: ['/run/agent.sock'], field: 'linux.seccomp.listenerPath' }]);
  t.same(seccompListenerSteps({ ...NOTIFY, flags: [], syscalls: [] }), [], 'no notify rule: listenerPath is ignored');
  t.same(seccompListenerSteps(undefined), []);
  const load = build(NOTIFY).at(-1)!;
  t.equal(load.op, 'SECCOMP_LOAD');
  t.equal(load.args[0], 1 | 8 | 16 | 32);
  t.same(JSON.parse(load.args[1] as string), {
    ociVersion: '1.3.0',
    fds: ['seccompFd'],
    pid: 4242,
    metadata: 'meta',
    state: JSON.parse(STATE),
  });
  const noMeta = build({ ...NOTIFY, listenerMetadata: undefined, flags: [] }).at(-1)!;
  t.equal(noMeta.args[0], 8);
  t.notOk('metadata' in JSON.parse(noMeta.args[1] as string));
});

t.test('NOTIFY: the mistakes that would hang or break the hand-over are refused', async (t) => {
  fails(t, { ...NOTIFY, listenerPath: undefined, listenerMetadata: undefined }, /^linux\.seccomp\.listenerPath: is required with SCMP_ACT_NOTIFY$/, 'no path');
  fails(t, { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'm' }, /^linux\.seccomp\.listenerMetadata: needs listenerPath$/, 'metadata without path');
  fails(
    t,
    { ...NOTIFY, defaultAction: 'SCMP_ACT_NOTIFY', syscalls: [] },
    /^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action$/,
    'default',
  );
  fails(
    t,
    { ...NOTIFY, syscalls: [{ names: ['mkdir', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] },
    /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: SCMP_ACT_NOTIFY cannot be used for sendmsg/,
    'sendmsg',
  );
});

function plans(edit: (s: Spec) => void): { parent: Step[]; child: Step[] } {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  s.mounts = [];
  edit(s);
  const parent = buildParentPlan(s, planContext());
  return { parent: parent.steps, child: buildChildPlan(s, parent.namespaces, planContext(), STATE) };
}

t.test('in the plan: loaded right before EXEC with noNewPrivileges, before the credentials change without', async (t) => {
  const late = plans((s) => {
    s.linux!.seccomp = NOTIFY;
  });
  t.same(ops(late.parent).slice(0, 4), ['RUNT-PLAN', 'MODE', 'SECCOMP_LISTENER', 'OPEN_FIFO']);
  const tail = ops(late.child).slice(ops(late.child).indexOf('SETRLIMIT') + 1);
  t.same(tail.slice(0, 3), ['SECCOMP_INIT', 'SECCOMP_RULE', 'BOUNDING_DROP']);
  t.same(ops(late.child).slice(-3), ['SECCOMP_LOAD', 'EXEC', 'END']);

  const early = plans((s) => {
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    s.process!.noNewPrivileges = false;
  });
  const o = ops(early.child);
  t.same(o.slice(o.indexOf('SECCOMP_INIT'), o.indexOf('SECCOMP_INIT') + 4), ['SECCOMP_INIT', 'SECCOMP_RULE', 'SECCOMP_LOAD', 'BOUNDING_DROP']);
  t.same(o.slice(-2), ['EXEC', 'END']);
  t.notOk(ops(early.parent).includes('SECCOMP_LISTENER'));

  const none = plans(() => undefined);
  t.notOk(ops(none.child).some((op) => op.startsWith('SECCOMP')));
});

/** An allow list from before clone3 (Linux 5.3): Docker's 2019 profile ended at rseq (x86_64 334, x86 386). */
const OLD_PROFILE: LinuxSeccomp = {
  defaultAction: 'SCMP_ACT_ERRNO',
  syscalls: [{ names: ['read', 'write', 'clone', 'statx', 'rseq', 'setns'], action: 'SCMP_ACT_ALLOW' }],
};
const ENOSYS_RULE = ERRNO + 38;

t.test('ENOSYS stub: syscalls above the highest one the profile names get ENOSYS, unless it names them', async (t) => {
  const x86_64 = enosysSyscalls(OLD_PROFILE, 'SCMP_ARCH_X86_64');
  for (const name of ['clone3', 'close_range', 'openat2', 'faccessat2', 'pidfd_open', 'io_uring_setup', 'epoll_pwait2']) {
    t.ok(x86_64.includes(name), `${name} (newer than rseq) gets ENOSYS`);
  }
  for (const name of ['read', 'statx', 'getcpu', 'pkey_mprotect', 'mount', 'unshare']) {
    t.notOk(x86_64.includes(name), `${name} (older, or named) keeps the default action`);
  }
  t.notOk(x86_64.includes('clock_gettime64'), 'a syscall x86_64 does not have');

  const withClone3 = { ...OLD_PROFILE, syscalls: [...OLD_PROFILE.syscalls!, { names: ['clone3'], action: 'SCMP_ACT_ERRNO' as const }] };
  const named = enosysSyscalls(withClone3, 'SCMP_ARCH_X86_64');
  t.notOk(named.includes('clone3'), 'a syscall the profile names keeps its own rule');
  t.ok(named.includes('close_range'), 'close_range (436) is above the highest named one, clone3 (435), now');
  t.notOk(named.includes('pidfd_open'), 'pidfd_open (434) is below the named clone3 now');

  // per architecture: x86's time64 calls (403-423) are above its rseq (386); the union goes into the rules
  const multi = enosysSyscalls({ ...OLD_PROFILE, architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }, 'SCMP_ARCH_X86_64');
  t.ok(multi.includes('clock_gettime64') && multi.includes('clone3'), 'x86 time64 calls and the x86_64 ones');
  t.same(enosysSyscalls(OLD_PROFILE, 'SCMP_ARCH_AARCH64').includes('clone3'), true, 'aarch64 numbers');
});

t.test('ENOSYS stub: none where the default lets syscalls through, is ENOSYS already, or nothing is named', async (t) => {
  for (const defaultAction of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'] as const) {
    t.same(enosysSyscalls({ ...OLD_PROFILE, defaultAction }, 'SCMP_ARCH_X86_64'), [], defaultAction);
  }
  t.same(enosysSyscalls({ ...OLD_PROFILE, defaultErrnoRet: 38 }, 'SCMP_ARCH_X86_64'), [], 'defaultErrnoRet ENOSYS');
  t.same(
    enosysSyscalls({ defaultAction: 'SCMP_ACT_KILL', syscalls: [{ names: ['no_such_call'], action: 'SCMP_ACT_ALLOW' }] }, 'SCMP_ARCH_X86_64'),
    [],
    'no syscall of the architecture named: no line to draw (runc skips the architecture too)',
  );
  t.ok(enosysSyscalls({ ...OLD_PROFILE, defaultAction: 'SCMP_ACT_KILL_PROCESS' }, 'SCMP_ARCH_X86_64').includes('clone3'), 'a kill default gets it too');
  t.ok(enosysSyscalls({ ...OLD_PROFILE, defaultErrnoRet: 13 }, 'SCMP_ARCH_X86_64').includes('clone3'), 'another default errno');
});

t.test("ENOSYS stub in the plan: ERRNO(ENOSYS) rules after the profile's own, counted for the binary tree", async (t) => {
  const steps = build(OLD_PROFILE);
  const stub = rules(steps)
    .filter((r) => r[0] === ENOSYS_RULE)
    .map((r) => r[1]);
  t.same(stub, enosysSyscalls(OLD_PROFILE).map(String));
  t.ok(stub.includes('clone3'));
  t.same(
    rules(steps)
      .slice(0, 6)
      .map((r) => r[1]),
    ['read', 'write', 'clone', 'statx', 'rseq', 'setns'],
    "the profile's rules first",
  );
  t.same(steps[0]!.args, [ERRNO + 1, stub.length + 6 > 32 ? 2 : 1]);
});

t.test("the syscall tables are libseccomp's (scripts/gen-syscalls.mjs --check)", async (t) => {
  const r = spawnSync(process.execPath, [join(__dirname, '../../scripts/gen-syscalls.mjs'), '--check'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});
