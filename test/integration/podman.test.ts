// podman (with conmon) driving runt: `podman --runtime build/runt ...` against a private store and config made by
// test/engines/podman.sh (an image imported from the busybox rootfs, no registry). Every container is removed
// by its test; the private dir (store, config) is removed in teardown.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { engineShell, engineSkip, privateDir, SHELL_PROMPT, terminalSession } from '../engines/engine';
import { cgroupDirs, RUNT } from './harness';

const IMAGE = 'localhost/runt-busybox:latest';
const clean = (dir: string) => engineShell('podman.sh', 'RUNT_PODMAN_DIR', dir, 'podman_clean', false);

function setUp(): string | false {
  const skip = engineSkip(['podman', 'conmon', 'script']);
  if (skip) return skip;
  const dir = privateDir('runt-podman-it', clean);
  t.teardown(() => clean(dir));
  try {
    // the config and the image import do not involve runt: a failure here means podman cannot run on this host
    engineShell('podman.sh', 'RUNT_PODMAN_DIR', dir, 'podman_setup');
  } catch (e) {
    return `podman cannot run here: ${(e as Error).message}`;
  }
  ENV.CONTAINERS_CONF = `${dir}/containers.conf`;
  ENV.CONTAINERS_STORAGE_CONF = `${dir}/storage.conf`;
  return false;
}

const ENV: NodeJS.ProcessEnv = { ...process.env };
let counter = 0;

function podman(args: string[]) {
  return spawnSync('podman', args, { encoding: 'utf8', env: ENV, timeout: 30_000 });
}

/** `podman --runtime build/runt run ARGS`, as the issue has it: the runtime given by its path. */
function run(args: string[]) {
  return podman(['--runtime', RUNT, 'run', ...args]);
}

/** The ids of the containers made, for the last test: nothing of them left in runt's state or the cgroups. */
const made: string[] = [];

/** A name for a container, removed (`rm -f`) when the test ends. */
function container(t: Test): string {
  const name = `runt-it-${process.pid}-${counter++}`;
  t.teardown(() => {
    const id = podman(['inspect', '--format', '{{.Id}}', name]).stdout.trim();
    if (id) made.push(id);
    podman(['rm', '--force', '--time', '0', name]);
  });
  return name;
}

/** A detached `sleep`-forever container (sh as init: it does not ignore SIGTERM). */
function detached(t: Test, extra: string[] = [], cmd = ['sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait']): string {
  const name = container(t);
  const r = run(['-d', '--name', name, ...extra, IMAGE, ...cmd]);
  if (r.status !== 0) throw new Error(`podman run -d: ${r.stderr}`);
  return name;
}

function inspect(name: string, format: string): string {
  return podman(['inspect', '--format', format, name]).stdout.trim();
}

/** A cgroup file as the container sees it: cgroup v2 name first, then the v1 controller's. */
function cgroupRead(v2: string, v1: string): string {
  return `cat /sys/fs/cgroup/${v2} 2>/dev/null || cat /sys/fs/cgroup/${v1}`;
}

// ~25 containers through podman and conmon: 70-100 s on the shared 2-core test VM, near tap's 120 s per file
t.setTimeout(240_000);
const skip = setUp();
if (skip) t.plan(0, skip);
else {
  t.test('run --rm: the output, and the exit code passed on', async (t) => {
    const hi = run(['--rm', '--name', container(t), IMAGE, 'echo', 'hi']);
    t.equal(hi.status, 0, hi.stderr);
    t.equal(hi.stdout, 'hi\n');
    const three = run(['--rm', '--name', container(t), IMAGE, 'sh', '-c', 'exit 3']);
    t.equal(three.status, 3, three.stderr);
    // by the name containers.conf gives it in [engine.runtimes]
    const byName = podman(['--runtime', 'runt', 'run', '--rm', '--name', container(t), IMAGE, 'echo', 'by-name']);
    t.equal(byName.stdout, 'by-name\n', byName.stderr);
  });

  t.test("a failing container: podman's error with runt's message (JSON log), 127 and 126, nothing left", async (t) => {
    const missing = container(t);
    const r = run(['--rm', '--name', missing, IMAGE, 'no-such-program']);
    t.equal(r.status, 127);
    t.match(r.stderr, /Error: \S*runt: .*"no-such-program": executable file not found in \$PATH: OCI runtime attempted to invoke a command that was not found/);
    t.notMatch(r.stderr, /level=error msg=/, 'read from the JSON log (runtime_supports_json), not a text line');
    // podman removes a container whose create failed with `runt delete --force`: that must not be a second error
    t.notMatch(r.stderr, /Removing container|does not exist/);
    t.equal(podman(['container', 'exists', missing]).status, 1, 'the container is gone');
    const notExecutable = run(['--rm', '--name', container(t), IMAGE, '/etc/passwd']);
    t.equal(notExecutable.status, 126);
    t.match(notExecutable.stderr, /Error: \S*runt: .*permission denied: OCI permission denied/);
    const gone = spawnSync(RUNT, ['delete', '--force', `runt-it-never-made-${process.pid}`], { encoding: 'utf8' });
    t.same([gone.status, gone.stderr], [0, ''], 'runt delete --force of a missing container: as runc, silent success');
  });

  t.test('run -d, then exec attached and detached, ps and top', async (t) => {
    const name = detached(t);
    const ps = podman(['ps', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}}']);
    t.match(ps.stdout, new RegExp(`^${name} Up`), ps.stderr);
    const attached = podman(['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    t.same([attached.status, attached.stdout, attached.stderr], [5, 'out\n', 'err\n']);
    const bg = podman(['exec', '-d', name, 'sh', '-c', 'echo detached > /tmp/mark']);
    t.equal(bg.status, 0, bg.stderr);
    t.match(bg.stdout, /^[0-9a-f]{64}\n$/, 'the exec session id');
    let mark = '';
    for (let i = 0; i < 50 && mark !== 'detached\n'; i++) {
      mark = podman(['exec', name, 'cat', '/tmp/mark']).stdout;
      if (mark !== 'detached\n') await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(mark, 'detached\n', 'the detached exec ran');
    const noexec = podman(['exec', name, 'no-such-program']);
    t.equal(noexec.status, 127);
    t.match(noexec.stderr, /Error: \S*runt: .*executable file not found in \$PATH/);
    const top = podman(['top', name, 'pid', 'args']);
    t.equal(top.status, 0, top.stderr);
    t.match(top.stdout, /\n\s*1\s+sh -c trap/, 'init is pid 1 in its namespace');
  });

  t.test('pause and unpause; update --memory, visible inside', async (t) => {
    const name = detached(t);
    t.equal(podman(['pause', name]).status, 0);
    t.equal(inspect(name, '{{.State.Status}}'), 'paused');
    t.match(podman(['ps', '--all', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout, /^Paused/);
    const unpause = podman(['unpause', name]);
    t.equal(unpause.status, 0, unpause.stderr);
    t.equal(inspect(name, '{{.State.Status}}'), 'running');
    const update = podman(['update', '--memory', '48m', name]);
    t.equal(update.status, 0, update.stderr);
    const limit = podman(['exec', name, 'sh', '-c', cgroupRead('memory.max', 'memory/memory.limit_in_bytes')]);
    t.equal(limit.stdout, `${48 * 1024 * 1024}\n`, limit.stderr);
  });

  t.test('stop (SIGTERM, then SIGKILL after the timeout), kill with a signal, rm -f of a running container', async (t) => {
    const polite = detached(t);
    const stop = podman(['stop', '--time', '5', polite]);
    t.equal(stop.status, 0, stop.stderr);
    t.same([inspect(polite, '{{.State.Status}}'), inspect(polite, '{{.State.ExitCode}}')], ['exited', '0'], 'exited on SIGTERM');
    const stubborn = detached(t, [], ['sleep', '1000']); // pid 1 without a handler: SIGTERM does nothing
    const t0 = Date.now();
    t.equal(podman(['stop', '--time', '1', stubborn]).status, 0);
    t.ok(Date.now() - t0 < 8000, 'SIGKILL after the 1 s timeout');
    t.equal(inspect(stubborn, '{{.State.ExitCode}}'), '137');
    const signalled = detached(t, [], ['sh', '-c', 'trap "echo got-usr1" USR1; while :; do sleep 0.1; done']);
    t.equal(podman(['kill', '--signal', 'USR1', signalled]).status, 0);
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('got-usr1'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = podman(['logs', signalled]).stdout;
    }
    t.match(logs, /got-usr1/, 'the signal reached the container');
    t.equal(podman(['kill', signalled]).status, 0);
    const wait = podman(['wait', signalled]);
    t.equal(wait.stdout, '137\n', 'SIGKILL by default');
    const running = detached(t);
    const id = inspect(running, '{{.Id}}');
    t.ok(cgroupDirs(`libpod_parent/libpod-${id}`).length > 0, 'in the cgroup podman names, until removed');
    const rm = podman(['rm', '--force', '--time', '0', running]);
    t.equal(rm.status, 0, rm.stderr);
    t.equal(podman(['container', 'exists', running]).status, 1);
    t.notOk(existsSync(`/run/runt/${id}`), 'runt deleted its state');
  });

  t.test('run -it and exec -it: a command typed on the terminal, its output read back', async (t) => {
    const name = container(t);
    const it = await terminalSession(
      ['podman', '--runtime', RUNT, 'run', '-it', '--name', name, IMAGE, 'sh'],
      [
        { await: SHELL_PROMPT, type: 'tty; echo typed-$((6*7))\n' },
        { await: SHELL_PROMPT, type: 'exit 4\n' },
      ],
      ENV,
    );
    t.match(it.output, /\/dev\/pts\/\d+\ntyped-42\n/);
    t.equal(it.status, 4, "the shell's exit code");
    const execName = detached(t);
    const exec = await terminalSession(
      ['podman', 'exec', '-it', execName, 'sh'],
      [
        { await: SHELL_PROMPT, type: '[ -t 0 ] && tty && echo exec-typed\n' },
        { await: SHELL_PROMPT, type: 'exit\n' },
      ],
      ENV,
    );
    t.match(exec.output, /\/dev\/pts\/\d+\nexec-typed\n/);
    t.equal(exec.status, 0);
  });

  t.test('network: the default (an address on eth0) and --network none (lo only)', async (t) => {
    const dflt = run(['--rm', '--name', container(t), IMAGE, 'ip', '-o', '-4', 'addr', 'show']);
    t.equal(dflt.status, 0, dflt.stderr);
    t.match(dflt.stdout, /eth0\s+inet \d+\.\d+\.\d+\.\d+\//);
    const none = run(['--rm', '--name', container(t), '--network', 'none', IMAGE, 'sh', '-c', 'ls /sys/class/net']);
    t.equal(none.status, 0, none.stderr);
    t.equal(none.stdout, 'lo\n');
  });

  t.test('--memory and --pids-limit: the limits as the container sees them', async (t) => {
    const r = run([
      '--rm',
      '--name',
      container(t),
      '--memory',
      '64m',
      '--pids-limit',
      '50',
      IMAGE,
      'sh',
      '-c',
      `${cgroupRead('memory.max', 'memory/memory.limit_in_bytes')}; ${cgroupRead('pids.max', 'pids/pids.max')}`,
    ]);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, `${64 * 1024 * 1024}\n50\n`);
  });

  t.test("--read-only: the tmpfs mounts keep the image's contents (tmpcopyup), the rest is read-only", async (t) => {
    const tmp = run(['--rm', '--name', container(t), '--read-only', IMAGE, 'touch', '/tmp/x']);
    t.equal(tmp.status, 0, tmp.stderr);
    const root = run(['--rm', '--name', container(t), '--read-only', IMAGE, 'touch', '/x']);
    t.equal(root.status, 1);
    t.match(root.stderr, /touch: \/x: Read-only file system/);
  });

  t.test("--privileged: the host's devices, whose fileMode podman writes with the file type bits", async (t) => {
    const r = run(['--rm', '--name', container(t), '--privileged', IMAGE, 'true']);
    t.equal(r.status, 0, r.stderr);
  });

  t.test('init (runt create) then rm: podman deletes a created container with --force, so nothing is left', async (t) => {
    const name = container(t);
    t.equal(podman(['--runtime', RUNT, 'create', '--name', name, IMAGE, 'sleep', '1000']).status, 0);
    const init = podman(['init', name]);
    t.equal(init.status, 0, init.stderr);
    t.equal(inspect(name, '{{.State.Status}}'), 'initialized');
    const id = inspect(name, '{{.Id}}');
    t.equal(JSON.parse(spawnSync(RUNT, ['state', id], { encoding: 'utf8' }).stdout).status, 'created', 'runt: created');
    const rm = podman(['rm', name]);
    t.equal(rm.status, 0, rm.stderr);
    t.notOk(existsSync(`/run/runt/${id}`), 'runt deleted its state');
    t.same(cgroupDirs(`libpod_parent/libpod-${id}`), [], 'and its cgroup');
  });

  t.test("run --timeout: conmon kills the container's process group, which is the container's alone", async (t) => {
    const start = Date.now();
    const r = run(['--rm', '--name', container(t), '--timeout', '2', IMAGE, 'sleep', '100']);
    t.ok(Date.now() - start < 20_000, `podman returned after the timeout (${Date.now() - start} ms)`);
    // podman's status for a container killed at its timeout, with runc too
    t.equal(r.status, 255, `the container was killed at its timeout: ${r.stderr}`);
    t.equal(r.stderr, '', 'conmon was not killed with it, and reported the end');
  });

  t.test('the removed containers left no runt state and no cgroup', async (t) => {
    t.ok(made.length >= 5, `${made.length} containers checked`);
    for (const id of made) {
      t.notOk(existsSync(`/run/runt/${id}`), `runt state of ${id.slice(0, 12)}`);
      t.same(cgroupDirs(`libpod_parent/libpod-${id}`), [], `cgroup of ${id.slice(0, 12)}`);
    }
  });
}
