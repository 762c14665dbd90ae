// Parallel use: many containers through the whole lifecycle at once, racing calls on one id. The figures
// (time, peak memory) are printed for the README.
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, readState, RUNT, setup, type Env } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);
const N = Number(process.env.PARALLEL_CONTAINERS ?? 100);

interface Result {
  status: number | null;
  stderr: string;
}

let calls = 0;

/** stderr goes to a file: a container keeps its creator's stdio open, so a pipe would not close. */
function runtAsync(env: Env, args: string[]): Promise<Result> {
  const file = join(env.tmp, `.stderr${calls++}`);
  const fd = openSync(file, 'w+');
  return new Promise((resolve) => {
    const child = spawn(RUNT, ['--root', env.root, ...args], { stdio: ['ignore', 'ignore', fd], env: { PATH: process.env.PATH } });
    closeSync(fd);
    child.on('exit', (status) => {
      const stderr = readFileSync(file, 'utf8');
      rmSync(file);
      resolve({ status, stderr });
    });
  });
}

function memAvailableKiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
}

t.test(`${N} containers through create, start, kill, delete at once`, async (t) => {
  const env = setup(t);
  const ids = Array.from({ length: N }, (_, i) => env.id(`par${i}`));
  // a bundle each: containers sharing a cgroupsPath share one cgroup, and each create rewrites its rules
  const bundles = new Map(ids.map((id) => [id, env.bundle(['sleep', '100'])]));
  const baseline = memAvailableKiB();
  let lowest = baseline;
  const sampler = setInterval(() => (lowest = Math.min(lowest, memAvailableKiB())), 20);
  const started = Date.now();
  const results = await Promise.all(
    ids.map(async (id) => {
      const steps: [string, Result][] = [];
      for (const args of [
        ['create', '-b', bundles.get(id)!, id],
        ['start', id],
        ['kill', id, 'KILL'],
        ['delete', '--force', id],
      ]) {
        const r = await runtAsync(env, args);
        steps.push([args[0]!, r]);
        if (r.status !== 0) break;
      }
      return { id, steps };
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  const failed = results
    .filter((r) => r.steps.some(([, s]) => s.status !== 0))
    .map((r) => `${r.id}: ${r.steps.map(([c, s]) => `${c}=${s.status} ${s.stderr.trim()}`).join(', ')}`);
  t.same(failed, [], 'every lifecycle succeeded');
  t.same(
    ids.filter((id) => existsSync(join(env.root, id))),
    [],
    'no state dir left',
  );
  t.comment(`parallel: ${N} containers × 4 calls in ${seconds.toFixed(1)} s, peak memory in use ${((baseline - lowest) / 1024).toFixed(0)} MiB`);
});

t.test('concurrent creates of one id: exactly one wins, the others are told it exists', async (t) => {
  const env = setup(t);
  const bundle = env.bundle(['sleep', '100']);
  const id = env.id('race');
  const results = await Promise.all(Array.from({ length: 10 }, () => runtAsync(env, ['create', '-b', bundle, id])));
  t.equal(results.filter((r) => r.status === 0).length, 1, 'one create succeeded');
  for (const r of results.filter((x) => x.status !== 0)) t.match(r.stderr, /container with given ID already exists/);
  const state = JSON.parse(
    await new Promise<string>((resolve) => {
      const c = spawn(RUNT, ['--root', env.root, 'state', id]);
      let out = '';
      c.stdout.on('data', (b: Buffer) => (out += b.toString()));
      c.on('close', () => resolve(out));
    }),
  );
  t.equal(state.status, 'created', 'the winner is intact');
});

t.test('delete racing start: the container is created or running, never stopped, so delete fails and start wins', async (t) => {
  const env = setup(t);
  for (let i = 0; i < 10; i++) {
    const id = env.id(`ds${i}`);
    t.equal((await runtAsync(env, ['create', '-b', env.bundle(['sleep', '100']), id])).status, 0);
    const [start, del] = await Promise.all([runtAsync(env, ['start', id]), runtAsync(env, ['delete', id])]);
    t.equal(start.status, 0, `start: ${start.stderr.trim() || 'ok'}`);
    t.equal(del.status, 1);
    t.match(del.stderr, /that is not stopped: (container still running|created)/);
    t.equal(readState(env, id).status, 'running', 'running, untouched by the delete');
  }
});

t.test('concurrent starts of one container: exactly one starts it, the others are told it runs', async (t) => {
  const env = setup(t);
  for (let i = 0; i < 5; i++) {
    const id = env.id(`ss${i}`);
    t.equal((await runtAsync(env, ['create', '-b', env.bundle(['sleep', '100']), id])).status, 0);
    const starts = await Promise.all(Array.from({ length: 6 }, () => runtAsync(env, ['start', id])));
    t.equal(starts.filter((r) => r.status === 0).length, 1, 'one start succeeded');
    for (const r of starts.filter((x) => x.status !== 0)) t.match(r.stderr, /cannot start an already running container/);
    t.equal(readState(env, id).status, 'running');
  }
});
