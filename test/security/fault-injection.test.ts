// The fault injection of the tests (RUNT_FAULT=<point> kills the runtime half-way through create) exists in
// the test build only (scripts/build.mjs --faults), and the timing stamps of the bench (RUNT_PHASES_FILE names a
// file each call appends to) in the timing build only (--phases). In the production build an environment
// variable that reaches runt (a client passing its own environment on, a user's shell) can neither make it die
// half-way nor make it append stamps to a file it names. (Bun's own BUN_OPTIONS still reaches the engine, as
// NODE_OPTIONS reaches node: README "Set up".)
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, readState, REPO } from '../integration/harness';
import { attack } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('the production build has no fault point', async (t) => {
  // the executable holds the bundle's source next to its bytecode
  t.notOk(readFileSync(join(REPO, 'build/runt')).includes('RUNT_FAULT'), 'RUNT_FAULT is nowhere in the executable, build/runt');
});

t.test('RUNT_FAULT in the environment of the production runt changes nothing', async (t) => {
  const { env } = attack(t);
  for (const point of ['dir-made', 'cgroup-made', 'got-pid', 'before-done', 'shim-killed']) {
    const id = env.id(point);
    const r = env.runt(['create', '-b', env.bundle(['true']), id], { env: { PATH: process.env.PATH, RUNT_FAULT: point } });
    t.equal(r.signal, null, `${point}: runt was not killed`);
    t.equal(r.status, 0, `${point}: create succeeds: ${r.stderr}`);
    t.equal(readState(env, id).status, 'created', `${point}: the container is created`);
    t.equal(env.runt(['delete', '--force', id]).status, 0);
  }
});

t.test('RUNT_PHASES_FILE in the environment of the production runt writes nothing', async (t) => {
  const { env, victim, hostUntouched } = attack(t);
  const stamps = join(victim, 'stamps');
  t.notOk(readFileSync(join(REPO, 'build/runt')).includes('RUNT_PHASES_FILE'), 'RUNT_PHASES_FILE is nowhere in build/runt');
  const id = env.id('phases');
  for (const args of [['--version'], ['run', '-d', '-b', env.bundle(['sleep', '100']), id], ['state', id], ['kill', id, 'KILL'], ['delete', '--force', id]]) {
    const r = env.runt(args, { env: { PATH: process.env.PATH, RUNT_PHASES_FILE: stamps } });
    t.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
  }
  t.notOk(existsSync(stamps), 'no file was written');
  hostUntouched();
});
