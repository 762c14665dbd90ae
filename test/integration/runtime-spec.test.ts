// Clauses of the runtime-spec (config.md, runtime.md) a client meets from the command line: the hostname in a
// joined uts namespace, a container without a process, the status each hook gets, the ociVersion check.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { canRun, readState, setup, waitExit } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('hostname: set in a uts namespace joined by path (runc sets it too)', async (t) => {
  const env = setup(t);
  // the namespace to join: a process of the host's that made one of its own
  const holder = spawn('unshare', ['--uts', 'sleep', '300'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  const path = `/proc/${holder.pid}/ns/uts`;
  // until unshare has made it (a bound that only reports a hang)
  for (let i = 0; i < 6000 && [readLink('/proc/self/ns/uts'), ''].includes(readLink(path)); i++) await new Promise((r) => setTimeout(r, 10));
  const before = hostname();
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['hostname'], (s) => {
      s.hostname = 'joined-uts';
      s.linux!.namespaces!.find((n) => n.type === 'uts')!.path = path;
    }),
    env.id('uts'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'joined-uts', 'the container sees the hostname');
  const seen = spawnSync('nsenter', ['--uts=' + path, 'hostname'], { encoding: 'utf8' });
  t.equal(seen.stdout.trim(), 'joined-uts', 'it was set in the joined namespace');
  t.equal(hostname(), before, "the host's hostname is untouched");
});

/** The namespace a /proc/PID/ns link names ('' while the process is not there yet). */
function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

t.test('no process: create accepts it, start refuses it naming the field, kill and delete remove it', async (t) => {
  const env = setup(t);
  const id = env.id('noproc');
  const bundle = env.bundle([], (s) => {
    delete s.process;
  });
  const c = env.runt(['create', '-b', bundle, id]);
  t.equal(c.status, 0, `create: ${c.stderr}`);
  const s = readState(env, id);
  t.equal(s.status, 'created');
  const start = env.runt(['start', id]);
  t.equal(start.status, 1);
  t.equal(start.stderr, 'runt: process: is required to start a container (config.json has none)\n');
  t.equal(readState(env, id).status, 'created', 'the container is left as it was');
  // created, as any container before start: delete refuses it (runtime.md); kill ends its waiting process
  t.equal(env.runt(['delete', id]).status, 1, 'delete of a created container is refused');
  t.equal(env.runt(['kill', id]).status, 0);
  await waitExit(s.pid as number);
  const d = env.runt(['delete', id]);
  t.equal(d.status, 0, d.stderr);
  t.notOk(existsSync(join(env.root, id)), 'its state is gone');

  const run = env.runt(['run', '-b', bundle, env.id('noproc-run')]);
  t.equal(run.status, 1);
  t.match(run.stderr, /^runt: process: is required to start a container/);
  t.same(
    readdirSync(env.root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name),
    [],
    'run deleted what it created',
  );
});

t.test("hooks: each gets the container's status at its moment (runtime.md Lifecycle)", async (t) => {
  const env = setup(t);
  const out = join(env.tmp, 'hooks-out');
  mkdirSync(out);
  const script = join(out, 'hook.sh');
  writeFileSync(script, '#!/bin/sh\ncat > "$2/$1.json"\n');
  chmodSync(script, 0o755);
  // the same script from the host (runtime namespace, and createContainer before pivot_root) and from inside
  const hook = (name: string, inside = false) => ({ path: inside ? '/out/hook.sh' : script, args: ['hook.sh', name, inside ? '/out' : out] });
  const id = env.id('hookstate');
  const bundle = env.bundle(['sleep', '300'], (s) => {
    s.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    s.hooks = {
      prestart: [hook('prestart')],
      createRuntime: [hook('createRuntime')],
      createContainer: [hook('createContainer')],
      startContainer: [hook('startContainer', true)],
      poststart: [hook('poststart')],
      poststop: [hook('poststop')],
    };
  });
  t.equal(env.runt(['create', '-b', bundle, id]).status, 0);
  const pid = readState(env, id).pid;
  t.equal(env.runt(['start', id]).status, 0);
  t.equal(env.runt(['kill', id, 'KILL']).status, 0);
  await waitExit(pid as number);
  t.equal(env.runt(['delete', id]).status, 0);
  const expected: Record<string, string> = {
    prestart: 'creating',
    createRuntime: 'creating',
    createContainer: 'creating',
    startContainer: 'created',
    poststart: 'running',
    poststop: 'stopped',
  };
  for (const [name, status] of Object.entries(expected)) {
    const state = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as Record<string, unknown>;
    t.equal(state.status, status, `${name}: "${status}"`);
    t.equal(state.id, id, `${name}: the id`);
    t.equal(state.pid, status === 'stopped' ? 0 : pid, `${name}: the host pid`);
  }
});

t.test('ociVersion: not SemVer, or not 1.x, is refused at create naming the field; nothing is left', async (t) => {
  const env = setup(t);
  for (const [version, why] of [
    ['invalid', 'is not a SemVer 2.0.0 version'],
    ['2.0.0', 'is not a 1.x version of the runtime-spec'],
  ]) {
    const r = env.runt([
      'create',
      '-b',
      env.bundle(['true'], (s) => {
        s.ociVersion = version!;
      }),
      env.id('ociv'),
    ]);
    t.equal(r.status, 1, version);
    t.match(r.stderr, new RegExp(`^runt: config\\.json: ociVersion: "${version!.replace(/\./g, '\\.')}" ${why}`), version);
  }
  t.same(existsSync(env.root) ? readdirSync(env.root) : [], [], 'no state');
  const ok = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.ociVersion = '1.0.2-dev';
    }),
    env.id('ociv'),
  ]);
  t.equal(ok.status, 0, `a 1.x pre-release (runc spec writes 1.0.2-dev): ${ok.stderr}`);
});
