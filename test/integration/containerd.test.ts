// containerd 1.6 (the runc shim v2) driving runt: `ctr run --runc-binary build/runt ...` against a private
// containerd on its own socket, with an image built by umoci (test/engines/containerd.sh; no registry). Every
// task and container is removed by its test; the daemon is stopped and its dir removed in teardown.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineShell, engineSkip, privateDir, SHELL_PROMPT, terminalSession } from '../engines/engine';
import { cgroupDirs, RUNT } from './harness';

const IMAGE = 'localhost/runt-busybox:latest';
const NS = 'runt-test';
const clean = (dir: string) => engineShell('containerd.sh', 'RUNT_CTRD_DIR', dir, 'ctrd_clean', false);
let dir = '';

function setUp(): string | false {
  const skip = engineSkip(['containerd', 'ctr', 'umoci', 'script']);
  if (skip) return skip;
  dir = privateDir('runt-containerd-it', clean);
  t.teardown(() => clean(dir));
  try {
    // starting the daemon and importing the image do not involve runt: a failure means containerd cannot run here
    engineShell('containerd.sh', 'RUNT_CTRD_DIR', dir, 'ctrd_start; ctrd_image');
  } catch (e) {
    return `containerd cannot run here: ${(e as Error).message}`;
  }
  return false;
}

function ctr(args: string[]) {
  return spawnSync('ctr', ['-a', join(dir, 'containerd.sock'), '-n', NS, ...args], { encoding: 'utf8', timeout: 30_000 });
}

let counter = 0;
const made: string[] = [];

/** An id for a container, whose task is killed and deleted, then the container, when the test ends. */
function container(t: Test): string {
  const id = `runt-it-${process.pid}-${counter++}`;
  made.push(id);
  t.teardown(async () => {
    ctr(['task', 'kill', '--signal', 'SIGKILL', id]);
    await stopped(id);
    ctr(['task', 'delete', id]);
    ctr(['container', 'delete', id]);
  });
  return id;
}

/** `ctr run --runc-binary build/runt ARGS`: the runtime as the shim's BinaryName option. */
function run(args: string[]) {
  return ctr(['run', '--runc-binary', RUNT, ...args]);
}

/** The task's line of `ctr task ls`: its pid and status. */
function task(id: string): { pid: string; status: string } | undefined {
  const [, pid, status] =
    ctr(['task', 'ls'])
      .stdout.split('\n')
      .map((l) => l.split(/\s+/))
      .find((f) => f[0] === id) ?? [];
  return pid && status ? { pid, status } : undefined;
}

function taskStatus(id: string): string | undefined {
  return task(id)?.status;
}

async function stopped(id: string, ms = 5000): Promise<string | undefined> {
  let status = taskStatus(id);
  for (const deadline = Date.now() + ms; status && status !== 'STOPPED' && Date.now() < deadline; status = taskStatus(id)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return status;
}

/** A detached container whose init (sh) ends on SIGTERM. */
function detached(t: Test): string {
  const id = container(t);
  const r = run(['-d', IMAGE, id, 'sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait']);
  if (r.status !== 0) throw new Error(`ctr run -d: ${r.stderr}`);
  return id;
}

const skip = setUp();
if (skip) t.plan(0, skip);
else {
  t.test('ctr run --rm: the output, and the exit code passed on', async (t) => {
    const hi = run(['--rm', IMAGE, container(t), 'echo', 'hi']);
    t.same([hi.status, hi.stdout], [0, 'hi\n'], hi.stderr);
    const three = run(['--rm', IMAGE, container(t), 'sh', '-c', 'exit 3']);
    t.equal(three.status, 3, three.stderr);
  });

  t.test("a failing container: containerd reports runt's last JSON log line; nothing left", async (t) => {
    const id = container(t);
    const r = run(['--rm', IMAGE, id, 'no-such-program']);
    t.equal(r.status, 1);
    t.match(r.stderr, /OCI runtime create failed: process\.args: exec: "no-such-program": executable file not found in \$PATH: unknown/);
    t.notMatch(r.stderr, /level=|"msg"/, 'the msg of the JSON line, not the line');
    t.equal(ctr(['container', 'info', id]).status, 1, 'the container is gone');
  });

  t.test('run -d, then task exec, ps, pause and resume, kill, rm', async (t) => {
    const id = detached(t);
    t.equal(taskStatus(id), 'RUNNING');
    t.ok(cgroupDirs(`${NS}/${id}`).length > 0, 'in the cgroup ctr names (/namespace/id), until deleted');
    const exec = ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    t.same([exec.status, exec.stdout, exec.stderr], [5, 'out\n', 'err\n']);
    const bg = ctr(['task', 'exec', '--detach', '--exec-id', 'e2', id, 'sleep', '1000']);
    t.equal(bg.status, 0, bg.stderr);
    const ps = ctr(['task', 'ps', id]);
    t.equal(ps.status, 0, ps.stderr);
    t.match(ps.stdout, new RegExp(`^${task(id)?.pid}\\s`, 'm'), 'init');
    t.match(ps.stdout, /^\d+\s+&ProcessDetails\{ExecID:e2,/m, 'the detached exec');
    const noexec = ctr(['task', 'exec', '--exec-id', 'e3', id, 'no-such-program']);
    t.not(noexec.status, 0);
    t.match(noexec.stderr, /OCI runtime exec failed: process\.args: exec: "no-such-program": executable file not found in \$PATH/);
    t.equal(ctr(['task', 'pause', id]).status, 0);
    t.equal(taskStatus(id), 'PAUSED');
    t.equal(ctr(['task', 'resume', id]).status, 0);
    t.equal(taskStatus(id), 'RUNNING');
    const kill = ctr(['task', 'kill', id]);
    t.equal(kill.status, 0, kill.stderr);
    t.equal(await stopped(id), 'STOPPED', 'SIGTERM ended init');
    const rm = ctr(['task', 'rm', id]);
    t.equal(rm.status, 0, rm.stderr);
    t.equal(ctr(['container', 'rm', id]).status, 0);
    t.notOk(existsSync(`/run/containerd/runc/${NS}/${id}`), 'runt deleted its state');
  });

  t.test('run -t: a command typed on the terminal, its output read back', async (t) => {
    const id = container(t);
    const it = await terminalSession(
      ['ctr', '-a', join(dir, 'containerd.sock'), '-n', NS, 'run', '--rm', '-t', '--runc-binary', RUNT, IMAGE, id, 'sh'],
      [
        { await: SHELL_PROMPT, type: 'tty; echo typed-$((6*7))\n' },
        { await: SHELL_PROMPT, type: 'exit 4\n' },
      ],
      process.env,
    );
    t.match(it.output, /\/dev\/pts\/\d+\ntyped-42\n/);
    t.equal(it.status, 4, "the shell's exit code");
  });

  t.test('the CRI runtime entry (RuntimeClass handler "runt") parses, with runt as BinaryName', async (t) => {
    const conf = join(dir, 'cri-check.toml');
    writeFileSync(conf, `version = 2\n${engineShell('containerd.sh', 'RUNT_CTRD_DIR', dir, 'ctrd_runtime_entry')}`);
    const dump = spawnSync('containerd', ['--config', conf, 'config', 'dump'], { encoding: 'utf8' });
    t.equal(dump.status, 0, dump.stderr);
    const section = (header: string) => dump.stdout.split(`[plugins."io.containerd.grpc.v1.cri".containerd.${header}]\n`)[1]?.split(/\n\s*\[/)[0] ?? '';
    t.match(section('runtimes.runt'), /^\s*runtime_type = "io\.containerd\.runc\.v2"$/m);
    t.match(section('runtimes.runt.options'), new RegExp(`^\\s*BinaryName = "${RUNT}"$`, 'm'));
  });

  t.test('the removed containers left no runt state and no cgroup', async (t) => {
    for (const id of made) {
      t.notOk(existsSync(`/run/containerd/runc/${NS}/${id}`), `runt state of ${id}`);
      t.same(cgroupDirs(`${NS}/${id}`), [], `cgroup of ${id}`);
    }
  });
}
