// The LSM labels through the CLI: on a host without AppArmor or SELinux (this project's VM), a config or an
// exec that asks for a label is refused naming the field and leaves nothing behind; where the LSM runs, the
// container's process carries the label (those tests skip elsewhere).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lsmFacts } from '../../src/lifecycle/host';
import { canRun, readState, runningContainer, setup } from './harness';
import type { Spec } from '../../src/spec/generated/types';

const skip = canRun();
if (skip) t.plan(0, skip);

const lsm = lsmFacts();

t.test(
  'create and run refuse a label for an LSM the host does not run, and leave nothing behind',
  { skip: lsm.apparmorExecAttr && lsm.selinux ? 'both LSMs run here' : false },
  async (t) => {
    const env = setup(t);
    const cases = [
      ...(lsm.apparmorExecAttr
        ? []
        : [
            {
              edit: (s: Spec) => {
                s.process!.apparmorProfile = 'docker-default';
              },
              message: 'process.apparmorProfile: apparmor profile is specified in config, but apparmor is disabled or not supported',
            },
          ]),
      ...(lsm.selinux
        ? []
        : [
            {
              edit: (s: Spec) => {
                s.process!.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2';
              },
              message: 'process.selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported',
            },
            {
              edit: (s: Spec) => {
                s.linux!.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
              },
              message: 'linux.mountLabel: selinux mount label is specified in config, but selinux is disabled or not supported',
            },
          ]),
    ];
    for (const { edit, message } of cases) {
      for (const verb of ['create', 'run']) {
        const id = env.id('lsm');
        const r = env.runt([verb, '-b', env.bundle(['true'], edit), id]);
        t.equal(r.status, 1, `${verb}: exit status`);
        t.equal(r.stderr, `runt: ${message}\n`, verb);
        t.notOk(existsSync(join(env.root, id)), `${verb}: no state dir`);
      }
    }
  },
);

t.test(
  "exec refuses --apparmor and --process-label (and a --process file's labels) the host cannot apply",
  { skip: lsm.apparmorExecAttr && lsm.selinux ? 'both LSMs run here' : false },
  async (t) => {
    const env = setup(t);
    const { id } = runningContainer(env);
    const procFile = join(env.tmp, 'process.json');
    const process = { args: ['true'], cwd: '/', apparmorProfile: 'p', selinuxLabel: 'l' };
    writeFileSync(procFile, JSON.stringify(lsm.apparmorExecAttr ? { ...process, apparmorProfile: undefined } : process));
    const cases: [string[], string][] = [
      ...(lsm.apparmorExecAttr
        ? []
        : [[['--apparmor', 'p'], '--apparmor: apparmor profile is specified in config, but apparmor is disabled or not supported'] as [string[], string]]),
      ...(lsm.selinux
        ? []
        : [
            [['--process-label', 'l'], '--process-label: selinux label is specified in config, but selinux is disabled or not supported'] as [string[], string],
          ]),
      [
        ['-p', procFile],
        lsm.apparmorExecAttr
          ? 'process.selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported'
          : 'process.apparmorProfile: apparmor profile is specified in config, but apparmor is disabled or not supported',
      ],
    ];
    for (const [flags, message] of cases) {
      const r = env.runt(['exec', ...flags, id, ...(flags[0] === '-p' ? [] : ['true'])]);
      t.equal(r.status, 1, flags.join(' '));
      t.equal(r.stderr, `runt: ${message}\n`, flags.join(' '));
    }
    t.equal(readState(env, id).status, 'running', 'the container is untouched');
  },
);

const apparmorParser = ['/sbin/apparmor_parser', '/usr/sbin/apparmor_parser'].find((p) => existsSync(p));

t.test(
  'AppArmor: the process runs under its profile',
  { skip: lsm.apparmorExecAttr && apparmorParser ? false : 'AppArmor (with apparmor_parser) is not here' },
  async (t) => {
    const env = setup(t);
    // a profile of the test's own that confines nothing (AppArmor 3's unconfined flag): the transition shows
    const name = `runt-test-${process.pid}`;
    const profile = `profile ${name} flags=(unconfined) {\n}\n`;
    const load = spawnSync(apparmorParser!, ['-r'], { input: profile, encoding: 'utf8' });
    t.equal(load.status, 0, load.stderr);
    t.teardown(() => {
      spawnSync(apparmorParser!, ['-R'], { input: profile });
    });
    const r = env.runt([
      'run',
      '-b',
      env.bundle(['cat', '/proc/self/attr/current'], (s) => {
        s.process!.apparmorProfile = name;
      }),
      env.id('aa'),
    ]);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), `${name} (unconfined)`);
  },
);

t.test('SELinux: the process runs with its label', { skip: lsm.selinux ? false : 'SELinux is not enabled here' }, async (t) => {
  const env = setup(t);
  const label = readFileSync('/proc/self/attr/current', 'utf8').replace(/\0/g, '').trim();
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['cat', '/proc/self/attr/current'], (s) => {
      s.process!.selinuxLabel = label;
    }),
    env.id('se'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.replace(/\0/g, '').trim(), label);
});
