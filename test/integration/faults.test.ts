// Fault injection: create fails at each of its steps in turn, or the runtime dies there. After each, nothing
// is left (state dir, cgroup, mount, process), `delete --force` succeeds or says the container does not
// exist, and the id can be used again. The runtime is made to die (RUNT_FAULT) by the test build only, made
// here (scripts/build.mjs --faults, into build/faults/); the production build has no fault points
// (test/security/fault-injection.test.ts).
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../../src/spec/generated/types';
import { canRun, cgroupDirs, mountsUnder, REPO, setup as setupWith, type Env } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);
else {
  const build = spawnSync(process.execPath, [join(REPO, 'scripts/build.mjs'), '--faults'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`scripts/build.mjs --faults: ${build.stderr}`);
}
const setup = (tt: Test): Env => setupWith(tt, join(REPO, 'build/faults/runt'));

function cgroupOf(bundle: string): string {
  return (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Spec).linux!.cgroupsPath!;
}

/** The checks after a failure: nothing left, delete --force fine, the id usable again. */
function checkRecovery(t: Test, env: Env, id: string, bundle: string, label: string): void {
  const del = env.runt(['delete', '--force', id]);
  t.ok(del.status === 0 || /container does not exist/.test(del.stderr), `${label}: delete --force: ${del.stderr.trim() || 'ok'}`);
  t.notOk(existsSync(join(env.root, id)), `${label}: no state dir`);
  t.same(cgroupDirs(cgroupOf(bundle)), [], `${label}: no cgroup (so no process in it)`);
  t.same(mountsUnder(env.tmp), [], `${label}: no mount`);
  const good = env.bundle(['true']);
  const again = env.runt(['create', '-b', good, id]);
  t.equal(again.status, 0, `${label}: the id can be created again: ${again.stderr}`);
  t.equal(env.runt(['delete', '--force', id]).status, 0);
  t.same(cgroupDirs(cgroupOf(good)), [], `${label}: and deleted again`);
}

const FAILURES: [string, string[], (s: Spec) => void, RegExp][] = [
  [
    'missing rootfs',
    ['true'],
    (s) => {
      s.root = { path: '/no/such/rootfs' };
    },
    /root.path: .*(No such file|not found)/i,
  ],
  [
    'unknown mount type',
    ['true'],
    (s) => {
      s.mounts!.push({ destination: '/x', type: 'nosuchfs', source: 'x' });
    },
    /mounts\[\d+\]/,
  ],
  [
    'bad device',
    ['true'],
    (s) => {
      s.linux!.devices = [{ path: '/dev/pts', type: 'c', major: 1, minor: 3 }];
    },
    /linux.devices\[0\]/,
  ],
  [
    'cgroup value the kernel rejects',
    ['true'],
    (s) => {
      s.linux!.resources = { ...s.linux!.resources, cpu: { cpus: '99' } };
    },
    /linux.resources.cpu.cpus/,
  ],
  [
    'failing createRuntime hook',
    ['true'],
    (s) => {
      s.hooks = { createRuntime: [{ path: '/bin/false' }] };
    },
    /hooks.createRuntime\[0\]/,
  ],
  [
    'failing createContainer hook',
    ['true'],
    (s) => {
      s.hooks = { createContainer: [{ path: '/bin/false' }] };
    },
    /hooks.createContainer\[0\]/,
  ],
  ['missing binary', ['/no/such/binary'], () => undefined, /no such file or directory/i],
];

t.test('create failing at each step leaves nothing behind', async (t) => {
  const env = setup(t);
  for (const [label, args, edit, message] of FAILURES) {
    const id = env.id('fail');
    const bundle = env.bundle(args, edit);
    const r = env.runt(['create', '-b', bundle, id]);
    t.equal(r.status, 1, `${label}: create fails`);
    t.match(r.stderr, message, `${label}: names the cause`);
    checkRecovery(t, env, id, bundle, label);
  }
});

t.test('a failing startContainer hook fails start and stops the container', async (t) => {
  const env = setup(t);
  const id = env.id('sc');
  const bundle = env.bundle(['sleep', '100'], (s) => {
    s.hooks = { startContainer: [{ path: '/bin/false' }] };
  });
  t.equal(env.runt(['create', '-b', bundle, id]).status, 0);
  const r = env.runt(['start', id]);
  t.equal(r.status, 1);
  t.match(r.stderr, /hook \/bin\/false/);
  t.equal(JSON.parse(env.runt(['state', id]).stdout).status, 'stopped');
  checkRecovery(t, env, id, bundle, 'startContainer hook');
});

for (const point of ['dir-made', 'cgroup-made', 'got-pid', 'before-done', 'shim-killed']) {
  t.test(`the runtime dies (${point}): the next create or delete cleans up`, async (t) => {
    const env = setup(t);
    const id = env.id(point);
    const bundle = env.bundle(['sleep', '100']);
    const r = env.runt(['create', '-b', bundle, id], { env: { PATH: process.env.PATH, RUNT_FAULT: point } });
    if (point === 'shim-killed') {
      t.equal(r.status, 1, 'create reports the dead shim');
      t.match(r.stderr, /runt-shim ended without a report/);
    } else {
      t.equal(r.signal, 'SIGKILL', 'the runtime was killed');
    }
    checkRecovery(t, env, id, bundle, point);
  });
}

t.test('a create that died is reclaimed by the next create of the same id', async (t) => {
  const env = setup(t);
  const id = env.id('reclaim');
  const bundle = env.bundle(['sleep', '100']);
  env.runt(['create', '-b', bundle, id], { env: { PATH: process.env.PATH, RUNT_FAULT: 'got-pid' } });
  t.equal(JSON.parse(env.runt(['state', id]).stdout).status, 'creating');
  const again = env.runt(['create', '-b', bundle, id]);
  t.equal(again.status, 0, again.stderr);
  t.match(again.stderr, /removing what a create that did not finish left behind/);
  t.equal(JSON.parse(env.runt(['state', id]).stdout).status, 'created');
});
