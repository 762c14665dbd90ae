// The container lifecycle as a client drives it: run, create/start/state/kill/delete, errors, cleanup.
import t from 'tap';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, cgroupDirs, mountsUnder, readState, setup, terminateWhenReady, TERM_TRAP, waitExit } from './harness';
import type { Spec } from '../../src/spec/generated/types';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('run prints the output and returns the exit code, then leaves nothing', async (t) => {
  const env = setup(t);
  const id = env.id('run');
  const bundle = env.bundle(['sh', '-c', 'echo hello from $(hostname); exit 3']);
  const r = env.runt(['run', '--bundle', bundle, id]);
  t.equal(r.stdout, 'hello from runt\n');
  t.equal(r.stderr, '');
  t.equal(r.status, 3);
  t.notOk(existsSync(join(env.root, id)), 'state dir removed');
  const cg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).linux.cgroupsPath as string;
  t.same(cgroupDirs(cg), [], 'cgroup removed');
});

t.test('run passes stdin through and reports a signal death as 128+N', async (t) => {
  const env = setup(t);
  const r = env.runt(['run', '-b', env.bundle(['cat']), env.id('cat')], { input: 'piped text\n' });
  t.equal(r.stdout, 'piped text\n');
  t.equal(r.status, 0);
  // without a pid namespace of its own the process is not an init, which SIGKILL from inside could not kill
  const k = env.runt([
    'run',
    '-b',
    env.bundle(['sh', '-c', 'kill -9 $$'], (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid');
    }),
    env.id('sig'),
  ]);
  t.equal(k.status, 137);
});

t.test('create, state, start, state, kill, state, delete', async (t) => {
  const env = setup(t);
  const id = env.id('cycle');
  const bundle = env.bundle(['sleep', '300']);
  const pidFile = join(env.tmp, 'pid');
  const c = env.runt(['create', '--bundle', bundle, '--pid-file', pidFile, id]);
  t.equal(c.status, 0, c.stderr);
  const pidText = readFileSync(pidFile, 'utf8');
  t.match(pidText, /^\d+$/, 'pid file: digits only, no newline');
  const pid = Number(pidText);
  let s = readState(env, id);
  t.equal(s.status, 'created');
  t.equal(s.pid, pid);
  t.equal(s.id, id);
  t.equal(s.bundle, bundle);
  t.equal(s.ociVersion, '1.3.0');
  t.match(readFileSync(`/proc/${pid}/cmdline`, 'latin1'), /runt-shim/, 'before start the process is still the shim');

  t.equal(env.runt(['start', id]).status, 0);
  s = readState(env, id);
  t.equal(s.status, 'running');
  t.equal(readFileSync(`/proc/${pid}/cmdline`, 'latin1'), 'sleep\u0000300\u0000');
  const again = env.runt(['start', id]);
  t.not(again.status, 0);
  t.match(again.stderr, /cannot start an already running container/);

  const busy = env.runt(['delete', id]);
  t.not(busy.status, 0);
  t.match(busy.stderr, /container still running/);

  t.equal(env.runt(['kill', id, 'KILL']).status, 0);
  await waitExit(pid);
  t.equal(readState(env, id).status, 'stopped');
  const late = env.runt(['kill', id]);
  t.not(late.status, 0);
  t.match(late.stderr, /container not running/);

  const cg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).linux.cgroupsPath as string;
  t.ok(cgroupDirs(cg).length > 0, 'the cgroup exists until delete');
  t.equal(env.runt(['delete', id]).status, 0);
  t.same(cgroupDirs(cg), [], 'delete removed the cgroup');
  t.notOk(existsSync(join(env.root, id)));
  const gone = env.runt(['state', id]);
  t.equal(gone.status, 1);
  t.match(gone.stderr, /container does not exist/);
  t.same(mountsUnder(bundle), []);
});

t.test('kill takes names with or without SIG and numbers; delete --force kills', async (t) => {
  const env = setup(t);
  const id = env.id('sigs');
  t.equal(env.runt(['create', '-b', env.bundle(['sh', '-c', 'trap "echo got USR1 >&2" USR1; while true; do sleep 0.05; done']), id]).status, 0);
  t.equal(env.runt(['start', id]).status, 0);
  for (const sig of ['SIGUSR1', 'USR1', '10']) t.equal(env.runt(['kill', id, sig]).status, 0, sig);
  const bad = env.runt(['kill', id, 'SIGNOPE']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /unknown signal "SIGNOPE"/);
  t.equal(env.runt(['delete', '--force', id]).status, 0);
  t.notOk(existsSync(join(env.root, id)));
});

t.test('delete of a created container fails and changes nothing (runtime.md); kill then delete, or delete --force', async (t) => {
  const env = setup(t);
  const id = env.id('created');
  const marker = join(env.tmp, 'ran');
  const bundle = env.bundle(['sh', '-c', 'touch /tmp/ran'], (s) => {
    s.mounts!.push({ destination: '/tmp', source: env.tmp, type: 'bind', options: ['rbind', 'rw'] });
  });
  t.equal(env.runt(['create', '-b', bundle, id]).status, 0);
  const { pid } = readState(env, id) as { pid: number };
  const cg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).linux.cgroupsPath as string;
  const refused = env.runt(['delete', id]);
  t.same([refused.status, refused.stderr], [1, `runt: cannot delete container ${id} that is not stopped: created (kill it first, or delete --force)\n`]);
  t.equal(readState(env, id).status, 'created', 'still created');
  t.ok(existsSync(`/proc/${pid}`), 'its process still waits');
  t.ok(cgroupDirs(cg).length > 0, 'its cgroup is still there');
  t.equal(env.runt(['start', id]).status, 0, 'and it can still be started');
  await waitExit(pid);
  t.ok(existsSync(marker), 'the program ran');
  t.equal(env.runt(['delete', id]).status, 0, 'stopped: deleted');

  const killed = env.id('created-kill');
  rmSync(marker);
  t.equal(env.runt(['create', '-b', bundle, killed]).status, 0);
  const killedPid = (readState(env, killed) as { pid: number }).pid;
  // TERM, as engines send it first: the waiting init of its pid namespace ends of it, as runc's does
  t.equal(env.runt(['kill', killed, 'TERM']).status, 0);
  await waitExit(killedPid);
  t.equal(readState(env, killed).status, 'stopped', 'TERM stopped the created container');
  t.equal(env.runt(['delete', killed]).status, 0, 'killed, then deleted');

  const forced = env.id('created-force');
  t.equal(env.runt(['create', '-b', bundle, forced]).status, 0);
  const forcedPid = (readState(env, forced) as { pid: number }).pid;
  t.equal(env.runt(['delete', '--force', forced]).status, 0, 'delete --force kills and deletes');
  t.notOk(existsSync(join(env.root, forced)));
  await waitExit(forcedPid);
  t.same(cgroupDirs(cg), [], 'no cgroup left');
  t.notOk(existsSync(marker), 'the killed and the force-deleted containers never ran the program');
});

t.test('errors clients match: exists, does not exist, invalid id', async (t) => {
  const env = setup(t);
  const id = env.id('dup');
  const bundle = env.bundle(['sleep', '300']);
  t.equal(env.runt(['create', '-b', bundle, id]).status, 0);
  const dup = env.runt(['create', '-b', bundle, id]);
  t.equal(dup.status, 1);
  t.match(dup.stderr, /container with given ID already exists/);
  t.equal(readState(env, id).status, 'created', 'the first one is untouched');
  for (const cmd of ['start', 'state', 'kill', 'delete']) {
    const r = env.runt([cmd, 'no-such-container']);
    t.equal(r.status, 1, cmd);
    t.match(r.stderr, /container does not exist/, cmd);
  }
  const badId = env.runt(['create', '-b', bundle, '../escape']);
  t.equal(badId.status, 1);
  t.match(badId.stderr, /invalid container id format/);
});

t.test('a failed create names the cause and leaves nothing behind', async (t) => {
  const env = setup(t);
  const cases: [string, string[], (s: any) => void, RegExp][] = [
    ['noexec', ['/no/such/program'], () => undefined, /no such file or directory|not found/],
    ['nopath', ['no-such-program'], () => undefined, /exec: "no-such-program": executable file not found in \$PATH/],
    [
      'badfield',
      ['true'],
      (s) => {
        s.process.args = 'true';
      },
      /config.json: process.args: must be array/,
    ],
    [
      'badcap',
      ['true'],
      (s) => {
        s.process.capabilities.bounding.push('CAP_BOGUS');
      },
      /process.capabilities.bounding\[\d\]: unknown capability "CAP_BOGUS"/,
    ],
    [
      'badmount',
      ['true'],
      (s) => {
        s.mounts.push({ destination: '/x', type: 'nosuchfs', source: 'x' });
      },
      /mounts\[\d+\]: .*(No such device|nosuchfs)/,
    ],
  ];
  for (const [name, args, edit, re] of cases) {
    const id = env.id(name);
    const bundle = env.bundle(args, edit);
    const r = env.runt(['create', '-b', bundle, id]);
    t.equal(r.status, 1, `${name}: exit status`);
    t.match(r.stderr, re, `${name}: message`);
    t.notMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
    t.notOk(existsSync(join(env.root, id)), `${name}: no state dir`);
    const cg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).linux?.cgroupsPath as string | undefined;
    if (cg) t.same(cgroupDirs(cg), [], `${name}: no cgroup`);
  }
  t.same(mountsUnder(env.tmp), []);
});

t.test('--log with --log-format json: the error is the last line, {level,msg,time}', async (t) => {
  const env = setup(t);
  const logFile = join(env.tmp, 'log.json');
  const r = env.runt(['--log', logFile, '--log-format', 'json', 'start', 'nope']);
  t.equal(r.status, 1);
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  const last = JSON.parse(lines.at(-1)!);
  t.equal(last.level, 'error');
  t.equal(last.msg, 'container does not exist');
  t.match(last.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
});

t.test('list shows containers; spec writes a config runt can run', async (t) => {
  const env = setup(t);
  const id = env.id('listed');
  t.equal(env.runt(['create', '-b', env.bundle(['sleep', '300']), id]).status, 0);
  const table = env.runt(['list']);
  t.match(table.stdout, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\n/);
  t.match(table.stdout, new RegExp(`${id}\\s+\\d+\\s+created`));
  t.equal(env.runt(['list', '-q']).stdout, `${id}\n`);
  const json = JSON.parse(env.runt(['list', '--format', 'json']).stdout);
  t.equal(json[0].id, id);

  const dir = join(env.tmp, 'specbundle');
  require('node:fs').mkdirSync(dir);
  t.equal(env.runt(['spec', '--bundle', dir]).status, 0);
  const exists = env.runt(['spec', '--bundle', dir]);
  t.equal(exists.status, 1, 'spec refuses to overwrite');
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  spec.root = { path: require('./harness').rootfs(), readonly: true };
  spec.process.terminal = false;
  spec.process.args = ['echo', 'from spec'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  const r = env.runt(['run', '-b', dir, env.id('fromspec')]);
  t.equal(r.stdout, 'from spec\n', r.stderr);
});

t.test('run --detach returns while the container runs', async (t) => {
  const env = setup(t);
  const id = env.id('detach');
  const r = env.runt(['run', '-d', '-b', env.bundle(['sleep', '300']), id]);
  t.equal(r.status, 0, r.stderr);
  t.equal(readState(env, id).status, 'running');
});

t.test('run forwards SIGTERM to the container', async (t) => {
  const env = setup(t);
  const { code, out } = await terminateWhenReady(env, ['run', '-b', env.bundle(TERM_TRAP), env.id('fwd')]);
  t.equal(code, 7);
  t.match(out, /term/);
});

t.test('--version; --systemd-cgroup where systemd does not run is a clear error', async (t) => {
  const env = setup(t);
  const v = env.runt(['--version']);
  t.match(v.stdout, /^runt version \d+\.\d+\.\d+\nspec: 1\.3\.0\ncommit: \S+\n$/);
  const id = env.id('systemd');
  const r = env.runt([
    '--systemd-cgroup',
    'create',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.cgroupsPath = 'system.slice:runt:x';
    }),
    id,
  ]);
  t.equal(r.status, 1);
  t.match(r.stderr, /systemd is not running/);
  t.notOk(existsSync(join(env.root, id)));
});

t.test('a parent cgroup runt made is removed by whichever delete empties it', async (t) => {
  const env = setup(t);
  const parent = `/runt-test-parent-${process.pid}`;
  const [a, b] = [env.id('pa'), env.id('pb')];
  t.equal(
    env.runt([
      'create',
      '-b',
      env.bundle(['true'], (s) => {
        s.linux!.cgroupsPath = `${parent}/a`;
      }),
      a,
    ]).status,
    0,
  );
  t.equal(
    env.runt([
      'create',
      '-b',
      env.bundle(['true'], (s) => {
        s.linux!.cgroupsPath = `${parent}/b`;
      }),
      b,
    ]).status,
    0,
  );
  t.equal(env.runt(['delete', '--force', a]).status, 0);
  t.ok(cgroupDirs(parent).length > 0, 'the parent stays while b is in it');
  t.equal(env.runt(['delete', '--force', b]).status, 0);
  t.same(cgroupDirs(parent), [], 'the last delete removed the parent a made');
});

t.test("HOME: from the container's /etc/passwd for the process's uid when the env has none, as runc sets it", async (t) => {
  const env = setup(t);
  const home = (edit: (s: Spec) => void, exec = false) => {
    const id = env.id('home');
    const bundle = env.bundle(exec ? ['sleep', '300'] : ['sh', '-c', 'echo "$HOME"'], edit);
    if (!exec) return env.runt(['run', '-b', bundle, id]).stdout;
    t.equal(env.runt(['run', '-d', '-b', bundle, id]).status, 0);
    const out = env.runt(['exec', '-u', '65534', id, 'sh', '-c', 'echo "$HOME"']).stdout;
    env.runt(['delete', '--force', id]);
    return out;
  };
  t.equal(
    home(() => undefined),
    '/root\n',
    "uid 0: root's home",
  );
  t.equal(
    home((s) => {
      s.process!.user = { uid: 65534, gid: 65534 };
    }),
    '/nonexistent\n',
    "uid 65534: nobody's",
  );
  t.equal(
    home((s) => {
      s.process!.user = { uid: 4321, gid: 4321 };
    }),
    '/\n',
    'a uid /etc/passwd lacks: /',
  );
  t.equal(
    home((s) => {
      s.process!.env!.push('HOME=/mine');
    }),
    '/mine\n',
    'a HOME of its own is kept',
  );
  t.equal(
    home(() => undefined, true),
    '/nonexistent\n',
    'exec -u 65534 too',
  );
});
