// personality, scheduler, ioPriority, memoryPolicy, execCPUAffinity: the steps they become, where they sit in
// create's and exec's plans, and the config mistakes named by field.
import t from 'tap';
import { defaultSpec } from '../../src/lifecycle/spec';
import { buildChildPlan, buildParentPlan } from '../../src/plan';
import { execChildPlan, execParentPlan, type ExecContext } from '../../src/plan/exec';
import { execAffinitySteps, listMask, memoryPolicyStep, personalityStep, processAttributeSteps, schedulerStep, ioPriorityStep } from '../../src/plan/sched';
import type { Step } from '../../src/plan/types';
import type { Spec } from '../../src/spec/generated/types';
import { planContext } from './plan-context';

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);

function spec(edit: (s: Spec) => void): Spec {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  edit(s);
  return s;
}

t.test("cpu and node lists become 64-bit mask words (runc's list reading)", async (t) => {
  t.same(listMask('0-3,7', 'f'), [0x8fn]);
  t.same(listMask(' 1 , ,64', 'f'), [2n, 1n], 'spaces and empty elements are allowed');
  t.same(listMask('', 'f'), [], 'empty: no mask');
  t.same(listMask('130', 'f'), [0n, 0n, 4n]);
  t.throws(() => listMask('3-1', 'process.execCPUAffinity.final'), /^process.execCPUAffinity.final: invalid range "3-1"/);
  t.throws(() => listMask('a', 'f'), /^f: "a" is not a number or a range/);
  t.throws(() => listMask('65537', 'f'), /^f: 65537 is above the highest number supported \(65536\)/);
});

t.test('personality: the domain number; flags refused by name', async (t) => {
  t.same(personalityStep({ domain: 'LINUX32' }), [{ op: 'PERSONALITY', args: [8], field: 'linux.personality' }]);
  t.same(personalityStep({ domain: 'LINUX' })[0]!.args, [0]);
  t.same(personalityStep(undefined), []);
  t.throws(() => personalityStep({ domain: 'LINUX', flags: ['X'] }), /^linux.personality.flags: no personality flag is supported/);
  t.throws(() => personalityStep({}), /^linux.personality.domain: is required/);
});

t.test("scheduler: sched_attr values; runc's checks name the field", async (t) => {
  t.same(schedulerStep({ policy: 'SCHED_DEADLINE', runtime: 10, deadline: 20, period: 30, flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN'] }), [
    { op: 'SCHED_SETATTR', args: [6, 5, 0, 0, 10n, 20n, 30n], field: 'process.scheduler' },
  ]);
  t.same(schedulerStep({ policy: 'SCHED_FIFO', priority: 10 })[0]!.args, [1, 0, 0, 10, 0n, 0n, 0n]);
  t.same(schedulerStep({ policy: 'SCHED_BATCH', nice: -20 })[0]!.args.slice(0, 3), [3, 0, -20]);
  t.throws(() => schedulerStep({ policy: 'SCHED_OTHER', nice: 20 }), /^process.scheduler.nice: 20 is not in -20..19/);
  t.throws(() => schedulerStep({ policy: 'SCHED_OTHER', priority: 1 }), /^process.scheduler.priority: can only be given with the SCHED_FIFO or SCHED_RR/);
  t.throws(
    () => schedulerStep({ policy: 'SCHED_RR', priority: 1, period: 5 }),
    /^process.scheduler: runtime, deadline and period can only be given with the SCHED_DEADLINE/,
  );
  t.throws(() => schedulerStep({ policy: 'SCHED_OTHER', flags: ['NOPE' as never] }), /^process.scheduler.flags\[0\]: unknown scheduler flag "NOPE"/);
});

t.test('ioPriority: class << 13 | level', async (t) => {
  t.same(ioPriorityStep({ class: 'IOPRIO_CLASS_BE', priority: 7 }), [{ op: 'IOPRIO_SET', args: [(2 << 13) | 7], field: 'process.ioPriority' }]);
  t.same(ioPriorityStep({ class: 'IOPRIO_CLASS_IDLE' })[0]!.args, [3 << 13]);
  t.throws(() => ioPriorityStep({ class: 'IOPRIO_CLASS_RT', priority: 8 }), /^process.ioPriority.priority: 8 is not in 0/);
});

t.test('memoryPolicy: mode with its flags, the node mask; node counts checked per mode', async (t) => {
  t.same(memoryPolicyStep({ mode: 'MPOL_INTERLEAVE', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] }), [
    { op: 'SET_MEMPOLICY', args: [3 | (1 << 15), 3n], field: 'linux.memoryPolicy' },
  ]);
  t.same(memoryPolicyStep({ mode: 'MPOL_LOCAL' })[0]!.args, [4], 'no nodes: no mask');
  t.same(memoryPolicyStep({ mode: 'MPOL_PREFERRED' })[0]!.args, [1]);
  t.throws(() => memoryPolicyStep({ mode: 'MPOL_BIND' }), /^linux.memoryPolicy.nodes: mode MPOL_BIND needs at least one node/);
  t.throws(() => memoryPolicyStep({ mode: 'MPOL_DEFAULT', nodes: '0' }), /^linux.memoryPolicy.nodes: mode MPOL_DEFAULT takes no nodes, got 1/);
  t.throws(() => memoryPolicyStep({ nodes: '0' }), /^linux.memoryPolicy.mode: is required/);
});

t.test('create: the attributes come after the rlimits, before seccomp and the identity change (as runc)', async (t) => {
  const s = spec((s) => {
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 10 }];
    s.process!.scheduler = { policy: 'SCHED_BATCH' };
    s.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
    s.process!.execCPUAffinity = { initial: '0', final: '1' };
    s.linux!.personality = { domain: 'LINUX32' };
    s.linux!.memoryPolicy = { mode: 'MPOL_LOCAL' };
  });
  const p = buildParentPlan(s, planContext());
  t.notOk(ops(p.steps).includes('SET_AFFINITY'), 'execCPUAffinity is not for the init');
  const child = ops(buildChildPlan(s, p.namespaces, planContext(), '{}'));
  const at = child.indexOf('SETRLIMIT');
  t.same(child.slice(at, at + 6), ['SETRLIMIT', 'SCHED_SETATTR', 'IOPRIO_SET', 'PERSONALITY', 'SET_MEMPOLICY', 'BOUNDING_DROP']);
  t.notOk(child.includes('SET_AFFINITY'));
  t.throws(
    () =>
      buildParentPlan(
        spec((s) => {
          s.process!.execCPUAffinity = { final: 'x' };
        }),
        planContext(),
      ),
    /^process.execCPUAffinity.final: "x" is not/,
    'a bad exec affinity fails create',
  );
});

t.test("exec: initial affinity in the parent before it joins, final as the child's first step", async (t) => {
  const ctx: ExecContext = {
    mode: 'detach',
    initPid: 42,
    initPidfd: 4,
    joins: new Set(['pid', 'mount', 'user']),
    preserveFds: 0,
    lastCap: 40,
    state: '{}',
    warn: () => undefined,
    lsm: { selinux: false },
    linux: { personality: { domain: 'LINUX32' } },
  };
  const proc = { ...spec(() => undefined).process!, execCPUAffinity: { initial: '0-1', final: '1' }, ioPriority: { class: 'IOPRIO_CLASS_IDLE' as const } };
  const parent = execParentPlan(proc, ctx);
  t.same(ops(parent).slice(0, 4), ['RUNT-PLAN', 'MODE', 'SET_AFFINITY', 'JOIN']);
  t.same(parent[2]!.args, [3n]);
  const child = execChildPlan(proc, ctx);
  t.same(child[0], { op: 'SET_AFFINITY', args: [2n], field: 'process.execCPUAffinity.final' });
  t.same(
    ops(child).filter((o) => ['IOPRIO_SET', 'PERSONALITY'].includes(o)),
    ['IOPRIO_SET', 'PERSONALITY'],
    "the container's personality too",
  );
  t.same(execAffinitySteps({ initial: '', final: '' }), { initial: [], final: [] }, 'empty lists change nothing');
  t.same(processAttributeSteps({}, undefined), []);
});
