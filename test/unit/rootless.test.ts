// Rootless mode's pure parts: how the id maps get written, which resources count as asked for, the dumpable
// window in the plan, setgroups denied, the exec join order. No root needed.
import t from 'tap';
import { defaultSpec } from '../../src/lifecycle/spec';
import { askedResource, idMapActions, NEWGIDMAP, NEWUIDMAP } from '../../src/container/rootless';
import { buildChildPlan, buildParentPlan } from '../../src/plan';
import { execChildPlan, execParentPlan, type ExecContext } from '../../src/plan/exec';
import { ConfigError, type Step } from '../../src/plan/types';
import { planContext } from './plan-context';

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);
const caller = { uid: 1000, gid: 1001 };

t.test("the caller's own id alone: written by runt, setgroups denied before the gid map", async (t) => {
  t.same(idMapActions(defaultSpec(true, 1000, 1001), 42, caller), [
    { kind: 'write', file: 'uid_map', content: '0 1000 1\n', field: 'linux.uidMappings' },
    { kind: 'write', file: 'setgroups', content: 'deny', field: 'linux.gidMappings' },
    { kind: 'write', file: 'gid_map', content: '0 1001 1\n', field: 'linux.gidMappings' },
  ]);
});

t.test('anything more goes through newuidmap/newgidmap, each map on its own', async (t) => {
  const s = defaultSpec(true, 1000, 1001);
  s.linux!.uidMappings = [
    { containerID: 0, hostID: 1000, size: 1 },
    { containerID: 1, hostID: 100000, size: 65536 },
  ];
  t.same(idMapActions(s, 42, caller), [
    { kind: 'helper', program: NEWUIDMAP, args: ['42', '0', '1000', '1', '1', '100000', '65536'], field: 'linux.uidMappings' },
    { kind: 'write', file: 'setgroups', content: 'deny', field: 'linux.gidMappings' },
    { kind: 'write', file: 'gid_map', content: '0 1001 1\n', field: 'linux.gidMappings' },
  ]);
  s.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  t.same(
    idMapActions(s, 42, caller)[1],
    { kind: 'helper', program: NEWGIDMAP, args: ['42', '0', '1000', '1'], field: 'linux.gidMappings' },
    "another gid than the caller's own needs the helper too",
  );
});

t.test('root writes both maps as they are, setgroups untouched; no maps, no actions', async (t) => {
  const s = defaultSpec(true, 0, 0);
  s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  t.same(
    idMapActions(s, 1).map((a) => a.kind === 'write' && a.file),
    ['uid_map', 'gid_map'],
  );
  t.same(idMapActions(defaultSpec(false), 1, caller), []);
});

t.test('resources asked for: any field with content; empty ones do not count', async (t) => {
  t.equal(askedResource(undefined), undefined);
  t.equal(askedResource({}), undefined);
  t.equal(askedResource({ devices: [], unified: {} }), undefined);
  t.equal(askedResource({ devices: [], memory: { limit: 1 << 20 } }), 'linux.resources.memory');
  t.equal(askedResource({ devices: [{ allow: false, access: 'rwm' }] }), 'linux.resources.devices');
  t.equal(askedResource({ pids: { limit: 10 } }), 'linux.resources.pids');
});

t.test('rootless plan: the child is dumpable from CLONE to its first step, and only then', async (t) => {
  const s = defaultSpec(true, 1000, 1001);
  s.process!.terminal = false;
  const ctx = planContext({ rootless: true });
  const parent = buildParentPlan(s, ctx);
  t.same(ops(parent.steps).slice(-3), ['DUMPABLE', 'CLONE', 'END']);
  t.same(parent.steps.at(-3)!.args, [1]);
  const child = buildChildPlan(s, parent.namespaces, ctx, '{}');
  t.same(child[0], { op: 'DUMPABLE', args: [0] });
  t.same(
    ops(child).filter((op) => op === 'DUMPABLE'),
    ['DUMPABLE'],
  );
  const root = buildParentPlan(s, planContext());
  t.notOk(ops(root.steps).includes('DUMPABLE'), 'root needs no dumpable window');
  t.notOk(ops(buildChildPlan(s, root.namespaces, planContext(), '{}')).includes('DUMPABLE'));
});

t.test('setgroups denied: no SETGROUPS step, and additionalGids are refused by name', async (t) => {
  const s = defaultSpec(true, 1000, 1001);
  s.process!.terminal = false;
  const ctx = planContext({ rootless: true, setgroupsDenied: true });
  const ns = buildParentPlan(s, ctx).namespaces;
  t.notOk(ops(buildChildPlan(s, ns, ctx, '{}')).includes('SETGROUPS'));
  t.ok(ops(buildChildPlan(s, ns, planContext({ rootless: true }), '{}')).includes('SETGROUPS'), 'allowed: the groups are set');
  s.process!.user!.additionalGids = [5];
  t.throws(
    () => buildChildPlan(s, ns, ctx, '{}'),
    new ConfigError(
      "process.user.additionalGids: setgroups is denied in the user namespace (its gid map, the caller's own gid only, was written without newgidmap)",
    ),
  );
});

t.test('exec as a rootless runtime: the user namespace is joined first; setgroups as in the container', async (t) => {
  const proc = { ...defaultSpec(true).process!, terminal: false };
  const ctx = (over: Partial<ExecContext>): ExecContext => ({
    mode: 'wait',
    initPid: 7,
    initPidfd: 4,
    joins: new Set(['mount', 'user', 'pid']),
    preserveFds: 0,
    lastCap: 40,
    lsm: { selinux: false },
    state: '{}',
    warn: () => undefined,
    ...over,
  });
  const joined = (steps: Step[]): unknown[] =>
    steps
      .find((st) => st.op === 'JOIN')!
      .args.slice(2)
      .filter((a) => typeof a === 'string');
  t.same(joined(execParentPlan(proc, ctx({ rootless: true }))), ['user', 'pid', 'mnt']);
  t.same(joined(execParentPlan(proc, ctx({}))), ['pid', 'mnt', 'user'], 'root: the user namespace last');
  t.notOk(ops(execChildPlan(proc, ctx({ rootless: true, setgroupsDenied: true }))).includes('SETGROUPS'));
});
