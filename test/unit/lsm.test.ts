// The LSM labels (process.apparmorProfile, process.selinuxLabel, linux.mountLabel) and the session keyring in
// the plans of create and exec: what is written where, in which order, and the refusals on a host without the
// LSM. No root needed; the host's LSMs are made up.
import t from 'tap';
import { features } from '../../src/lifecycle/features';
import { defaultSpec } from '../../src/lifecycle/spec';
import { buildChildPlan, buildParentPlan, type PlanContext } from '../../src/plan';
import { execChildPlan, execParentPlan, type ExecContext } from '../../src/plan/exec';
import { sessionKeyringName } from '../../src/plan/keyring';
import type { LsmFacts } from '../../src/plan/lsm';
import { ConfigError, type Step } from '../../src/plan/types';
import type { Spec } from '../../src/spec/generated/types';
import { FAKE_HOST, planContext } from './plan-context';

const NONE: LsmFacts = { selinux: false };
const APPARMOR: LsmFacts = { selinux: false, apparmorExecAttr: 'attr/apparmor/exec' };
const SELINUX: LsmFacts = { selinux: true };
const LABEL = 'system_u:system_r:container_t:s0:c1,c2';
const MOUNT_LABEL = 'system_u:object_r:container_file_t:s0:c1,c2';

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);

function spec(edit: (s: Spec) => void = () => undefined): Spec {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  edit(s);
  return s;
}

function ctx(lsm: LsmFacts, over: Partial<PlanContext> = {}): PlanContext {
  return planContext({ host: { ...FAKE_HOST, lsm }, ...over });
}

function child(s: Spec, c: PlanContext): Step[] {
  return buildChildPlan(s, buildParentPlan(s, c).namespaces, c, '{}');
}

function execCtx(lsm: LsmFacts, over: Partial<ExecContext> = {}): ExecContext {
  return {
    mode: 'wait',
    initPid: 7,
    initPidfd: 4,
    joins: new Set(['mount', 'pid']),
    preserveFds: 0,
    lastCap: 40,
    lsm,
    state: '{}',
    warn: () => undefined,
    ...over,
  };
}

t.test('AppArmor: "exec PROFILE" into the attr file the host has, through the private procfs, before the credentials change', async (t) => {
  const s = spec((x) => {
    x.process!.apparmorProfile = 'containers-default-0.50';
  });
  for (const attr of ['attr/apparmor/exec', 'attr/exec']) {
    const steps = child(s, ctx({ selinux: false, apparmorExecAttr: attr }));
    const at = steps.findIndex((st) => st.op === 'WRITE_PROC' && st.args[0] === `self/${attr}`);
    t.same(steps[at], { op: 'WRITE_PROC', args: [`self/${attr}`, 'exec containers-default-0.50'], field: 'process.apparmorProfile' });
    t.ok(at > ops(steps).indexOf('PIVOT') && at < ops(steps).indexOf('SETRESUID'), 'after pivot_root, before the ids change');
  }
});

t.test('SELinux: the label into attr/exec; the session keyring gets it too (attr/keycreate), the mounts their context=', async (t) => {
  const s = spec((x) => {
    x.process!.selinuxLabel = LABEL;
    x.linux!.mountLabel = MOUNT_LABEL;
  });
  const steps = child(s, ctx(SELINUX, { sessionKeyring: sessionKeyringName('c1') }));
  const writes = steps.filter((st) => st.op === 'WRITE_PROC');
  t.same(
    writes.map((w) => w.args),
    [
      ['self/attr/keycreate', LABEL],
      ['self/attr/exec', LABEL],
    ],
  );
  t.ok(ops(steps).indexOf('WRITE_PROC') < ops(steps).indexOf('JOIN_KEYRING'), 'keycreate before the keyring is made');
  t.ok(steps.indexOf(writes[1]!) < ops(steps).indexOf('SETRESUID'), 'attr/exec before the ids change');

  const data = Object.fromEntries(steps.filter((st) => st.op === 'MOUNT').map((m) => [m.args[1], m.args[4]]));
  const context = `context="${MOUNT_LABEL}"`;
  t.equal(data['/dev'], `mode=755,size=65536k,${context}`, 'tmpfs: after its own options, quoted (the label has a comma)');
  t.equal(data['/dev/pts'], `newinstance,ptmxmode=0666,mode=0620,gid=5,${context}`, 'devpts');
  t.equal(data['/dev/shm'], `mode=1777,size=65536k,${context}`);
  t.equal(data['/proc'], '', 'proc takes no context=');
  t.equal(data['/sys'], '', 'nor sysfs');
  t.equal(data['/dev/mqueue'], '', 'nor mqueue');

  const unlabeled = child(spec(), ctx(SELINUX, { sessionKeyring: 'x' }));
  t.notOk(
    unlabeled.some((st) => st.op === 'WRITE_PROC'),
    'no label: nothing written',
  );
});

t.test('a label for an LSM the host does not run is refused before the shim starts, naming the field', async (t) => {
  const cases: [(s: Spec) => void, LsmFacts, string][] = [
    [
      (s) => {
        s.process!.apparmorProfile = 'p';
      },
      SELINUX,
      'process.apparmorProfile: apparmor profile is specified in config, but apparmor is disabled or not supported',
    ],
    [
      (s) => {
        s.process!.selinuxLabel = LABEL;
      },
      APPARMOR,
      'process.selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported',
    ],
    [
      (s) => {
        s.linux!.mountLabel = MOUNT_LABEL;
      },
      NONE,
      'linux.mountLabel: selinux mount label is specified in config, but selinux is disabled or not supported',
    ],
  ];
  for (const [edit, lsm, message] of cases) {
    t.throws(() => buildParentPlan(spec(edit), ctx(lsm)), new ConfigError(message));
  }
  t.doesNotThrow(
    () =>
      buildParentPlan(
        spec((s) => {
          s.process!.apparmorProfile = '';
        }),
        ctx(NONE),
      ),
    'an empty profile asks for nothing',
  );
});

t.test("exec: the process's labels before its ids change; a refusal names exec's flag", async (t) => {
  const proc = { ...spec().process!, apparmorProfile: 'p', selinuxLabel: LABEL };
  const steps = execChildPlan(proc, execCtx({ selinux: true, apparmorExecAttr: 'attr/exec' }, { sessionKeyring: '_ses.c' }));
  const writes = steps.filter((st) => st.op === 'WRITE_PROC').map((st) => st.args);
  t.same(writes, [
    ['self/attr/keycreate', LABEL],
    ['self/attr/exec', 'exec p'],
    ['self/attr/exec', LABEL],
  ]);
  t.ok(ops(steps).indexOf('WRITE_PROC') < ops(steps).indexOf('JOIN_KEYRING'), "the keyring label first, as create's");
  t.ok(ops(steps).indexOf('WRITE_PROC') < ops(steps).indexOf('SETRESUID'));
  const fields = { apparmorProfile: '--apparmor', selinuxLabel: '--process-label' };
  t.throws(
    () => execParentPlan(proc, execCtx(NONE, { lsmFields: fields })),
    new ConfigError('--apparmor: apparmor profile is specified in config, but apparmor is disabled or not supported'),
  );
  t.throws(
    () => execParentPlan({ ...proc, apparmorProfile: undefined }, execCtx(NONE, { lsmFields: fields })),
    new ConfigError('--process-label: selinux label is specified in config, but selinux is disabled or not supported'),
  );
});

t.test('the session keyring: joined first, with the search bit runc adds; exec joins it again; none with --no-new-keyring', async (t) => {
  const s = spec();
  const steps = child(s, ctx(NONE, { sessionKeyring: sessionKeyringName('c1') }));
  t.same(steps.find((st) => st.op === 'JOIN_KEYRING')?.args, ['_ses.c1', 0x80000], 'owner search (KEY_USR_SEARCH)');
  t.ok(ops(steps).indexOf('JOIN_KEYRING') < ops(steps).indexOf('MOUNT_PATH'), 'before anything of the container is set up');

  const userns = spec((x) => {
    x.linux!.namespaces!.push({ type: 'user' });
    x.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    x.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  });
  const u = child(userns, ctx(NONE, { sessionKeyring: '_ses.c2' }));
  t.same(u.find((st) => st.op === 'JOIN_KEYRING')?.args, ['_ses.c2', 0x8], 'a user namespace: other search (KEY_OTH_SEARCH)');
  t.ok(ops(u).indexOf('SETRESUID') < ops(u).indexOf('JOIN_KEYRING'), "as the namespace's root: the keyring is the container's");

  t.notOk(ops(child(s, ctx(NONE))).includes('JOIN_KEYRING'), '--no-new-keyring');
  const e = execChildPlan(s.process!, execCtx(NONE, { sessionKeyring: '_ses.c1' }));
  t.same(e.find((st) => st.op === 'JOIN_KEYRING')?.args, ['_ses.c1', 0], 'exec: the existing keyring, its permissions left alone');
  t.notOk(ops(execChildPlan(s.process!, execCtx(NONE))).includes('JOIN_KEYRING'));
});

t.test('features: AppArmor and SELinux are supported (features.md: whatever the host runs)', async (t) => {
  t.same(features().linux?.apparmor, { enabled: true });
  t.same(features().linux?.selinux, { enabled: true });
});
