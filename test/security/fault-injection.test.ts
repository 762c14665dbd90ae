// The fault injection of the tests (RUNT_FAULT=<point> kills the runtime half-way through create) exists in
// the test build only (scripts/build.mjs --faults). In the production build an environment variable that
// reaches runt (a client passing its own environment on, a user's shell) cannot make it die half-way.
import t from 'tap';
import { readFileSync } from 'node:fs';
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
