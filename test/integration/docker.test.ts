// Docker (Debian's docker.io 20.10: dockerd → its own containerd → the runc shim v2 → runt) driving runt: a
// private dockerd whose default runtime is build/runt (test/engines/docker.sh), an image imported from the
// busybox rootfs (no registry), the docker.io package's CLI. Every container is removed by its test; the
// daemon is stopped and its dir, mounts and cgroups removed in teardown.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineShell, engineSkip, privateDir, SHELL_PROMPT, terminalSession } from '../engines/engine';
import { cgroupDirs, RUNT } from './harness';
import { sharesToWeight } from '../../src/cgroups/v2';

const IMAGE = 'localhost/runt-busybox:latest';
/** The docker.io package's CLI (a newer docker CLI elsewhere on PATH talks an API this daemon may not). */
const CLI = '/usr/bin/docker';
const clean = (dir: string) => engineShell('docker.sh', 'RUNT_DOCKER_DIR', dir, 'docker_clean', false);
let dir = '';
const ENV: NodeJS.ProcessEnv = { ...process.env };

function setUp(): string | false {
  const skip = engineSkip(['dockerd', 'containerd', 'containerd-shim-runc-v2', 'docker-init', CLI, 'script']);
  if (skip) return skip;
  dir = privateDir('runt-docker-it', clean);
  t.teardown(() => clean(dir));
  try {
    // starting the daemon and importing the image do not involve runt: a failure means dockerd cannot run here
    engineShell('docker.sh', 'RUNT_DOCKER_DIR', dir, 'docker_start; docker_image');
  } catch (e) {
    return `dockerd cannot run here: ${(e as Error).message}`;
  }
  ENV.DOCKER_HOST = `unix://${dir}/docker.sock`;
  ENV.DOCKER_CONFIG = `${dir}/cli`;
  return false;
}

function docker(args: string[], input?: string) {
  return spawnSync(CLI, args, { encoding: 'utf8', env: ENV, timeout: 30_000, ...(input !== undefined ? { input } : {}) });
}

/** The container's cgroup, as docker.sh's cgroup-parent and the container id name it. */
const cgroupOf = (id: string) => `${dir.slice(dir.lastIndexOf('/'))}/${id}`;
/** runt's state dir of a container: dockerd gives the runtime `--root <exec-root>/runtime-runc/moby`. */
const stateOf = (id: string) => join(dir, 'exec/runtime-runc/moby', id);

let counter = 0;
/** The ids of the containers made, for the last test: nothing of them left in runt's state or the cgroups. */
const made: string[] = [];

/**
 * `--name NAME --cidfile FILE` for `docker run`: a container removed (`rm -f`) when the test ends, whose id
 * (from the cidfile: a --rm container is gone by then) the last test checks.
 */
function container(t: Test): string[] {
  const name = `runt-it-${process.pid}-${counter++}`;
  const cidFile = join(dir, `${name}.cid`);
  t.teardown(() => {
    docker(['rm', '--force', name]);
    if (existsSync(cidFile)) made.push(readFileSync(cidFile, 'utf8').trim());
  });
  return ['--name', name, '--cidfile', cidFile];
}

/** `docker run --rm ARGS`, the container removed when it ends. */
function runRm(t: Test, args: string[], input?: string) {
  return docker(['run', '--rm', ...container(t), ...args], input);
}

/** A detached container whose init (sh) says "started" and ends on SIGTERM with 0. */
function detached(t: Test, extra: string[] = [], cmd = ['sh', '-c', 'trap "echo term; exit 0" TERM; echo started; while :; do sleep 0.1; done']): string {
  const args = container(t);
  const r = docker(['run', '-d', ...args, ...extra, IMAGE, ...cmd]);
  if (r.status !== 0) throw new Error(`docker run -d: ${r.stderr}`);
  return args[1]!;
}

function inspect(name: string, format: string): string {
  return docker(['inspect', '--format', format, name]).stdout.trim();
}

async function until(what: () => boolean, ms = 5000): Promise<boolean> {
  for (const deadline = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) return false;
  }
  return true;
}

/** A cgroup v2 host (Debian 12's default): else v1 or hybrid (this project's VM), where the limits are v1 files. */
const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/**
 * cgroup files as the container sees them, one a line: its own cgroup is bound at /sys/fs/cgroup/<controller>
 * (v1), or is the root of its cgroup namespace at /sys/fs/cgroup (v2, where Docker makes a cgroup namespace).
 */
function cgroupFiles(name: string, files: string[]): string {
  const r = docker(['exec', name, 'cat', ...files.map((f) => `/sys/fs/cgroup/${f}`)]);
  return r.status === 0 ? r.stdout : `(${r.stderr.trim()})`;
}

/** Bits of a capability set line of /proc/self/status. */
function capBits(status: string, set: string): bigint {
  const m = new RegExp(`^${set}:\\s+([0-9a-f]+)$`, 'm').exec(status);
  return m ? BigInt(`0x${m[1]}`) : -1n;
}
const CAP_CHOWN = 0n;
const CAP_NET_ADMIN = 12n;
const has = (bits: bigint, cap: bigint) => ((bits >> cap) & 1n) === 1n;

// ~20 containers, each through dockerd, containerd, the shim and four runt calls: 85-95 s on the 2-core test VM
// shared with other test runs (load 10-16), near tap's 120 s default per file; allow more
t.setTimeout(300_000);
const skip = setUp();
if (skip) t.plan(0, skip);
else {
  t.test('run --rm: the output, and the exit codes 0, 3, 127 (not found) and 126 (not executable)', async (t) => {
    const hi = runRm(t, [IMAGE, 'echo', 'hi']);
    t.same([hi.status, hi.stdout], [0, 'hi\n'], hi.stderr);
    const three = runRm(t, [IMAGE, 'sh', '-c', 'exit 3']);
    t.equal(three.status, 3, three.stderr);
    const missing = runRm(t, [IMAGE, 'no-such-program']);
    t.equal(missing.status, 127);
    t.match(missing.stderr, /OCI runtime create failed: process\.args: exec: "no-such-program": executable file not found in \$PATH: unknown/);
    const notExecutable = runRm(t, [IMAGE, '/etc/passwd']);
    t.equal(notExecutable.status, 126);
    t.match(notExecutable.stderr, /OCI runtime create failed: process\.args: exec: "\/etc\/passwd": permission denied: unknown/);
    const piped = runRm(t, ['-i', IMAGE, 'cat'], 'piped\n');
    t.same([piped.status, piped.stdout], [0, 'piped\n'], 'run -i: stdin');
  });

  t.test("run -d (with runt: the daemon's default runtime), logs, stop, start, restart", async (t) => {
    t.equal(docker(['info', '--format', '{{.DefaultRuntime}}']).stdout.trim(), 'runt');
    const name = detached(t);
    t.equal(inspect(name, '{{.State.Status}}'), 'running');
    const state = spawnSync(RUNT, ['--root', join(dir, 'exec/runtime-runc/moby'), 'state', inspect(name, '{{.Id}}')], { encoding: 'utf8' });
    t.equal(state.status, 0, state.stderr);
    t.equal(JSON.parse(state.stdout).status, 'running', 'runt state of the container Docker started');
    t.ok(await until(() => docker(['logs', name]).stdout === 'started\n'), 'logs: the output so far');
    const stop = docker(['stop', name]);
    t.equal(stop.status, 0, stop.stderr);
    t.equal(inspect(name, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0', 'SIGTERM ended it with 0');
    t.equal(docker(['logs', name]).stdout, 'started\nterm\n');
    const start = docker(['start', name]);
    t.equal(start.status, 0, start.stderr);
    t.equal(inspect(name, '{{.State.Status}}'), 'running', 'started again');
    const pid = inspect(name, '{{.State.Pid}}');
    const restart = docker(['restart', '--time', '5', name]);
    t.equal(restart.status, 0, restart.stderr);
    t.equal(inspect(name, '{{.State.Status}}'), 'running');
    t.not(inspect(name, '{{.State.Pid}}'), pid, 'a new init after restart');
    t.ok(await until(() => docker(['logs', name]).stdout === 'started\nterm\nstarted\nterm\nstarted\n'), 'three starts, two stops in the log');
    const stubborn = detached(t, [], ['sleep', '1000']); // pid 1 without a handler: SIGTERM does nothing
    const t0 = Date.now();
    t.equal(docker(['stop', '--time', '1', stubborn]).status, 0);
    t.ok(Date.now() - t0 < 8000, 'SIGKILL after the 1 s timeout');
    t.equal(inspect(stubborn, '{{.State.ExitCode}}'), '137');
  });

  t.test('exec: attached, -d, -u, -w, -e, a missing program', async (t) => {
    const name = detached(t);
    const attached = docker(['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    t.same([attached.status, attached.stdout, attached.stderr], [5, 'out\n', 'err\n']);
    const bg = docker(['exec', '-d', name, 'sh', '-c', 'echo detached > /tmp/mark']);
    t.same([bg.status, bg.stdout], [0, ''], bg.stderr);
    t.ok(await until(() => docker(['exec', name, 'cat', '/tmp/mark']).stdout === 'detached\n'), 'the detached exec ran');
    const user = docker(['exec', '-u', '65534:65534', name, 'id']);
    t.equal(user.stdout, 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n', user.stderr);
    const cwd = docker(['exec', '-w', '/tmp', name, 'pwd']);
    t.equal(cwd.stdout, '/tmp\n', cwd.stderr);
    const env = docker(['exec', '-e', 'FOO=bar baz', name, 'sh', '-c', 'echo "$FOO"']);
    t.equal(env.stdout, 'bar baz\n', env.stderr);
    const missing = docker(['exec', name, 'no-such-program']);
    t.equal(missing.status, 126, 'Docker says 126 when the exec could not start (as with runc)');
    t.match(missing.stdout, /^OCI runtime exec failed: .*exec: "no-such-program": executable file not found in \$PATH/);
  });

  t.test('run -it and exec -it: a command typed on the terminal, its output read back', async (t) => {
    const it = await terminalSession(
      [CLI, 'run', '--rm', '-it', ...container(t), IMAGE, 'sh'],
      [
        { await: SHELL_PROMPT, type: 'tty; echo typed-$((6*7))\n' },
        { await: SHELL_PROMPT, type: 'exit 4\n' },
      ],
      ENV,
    );
    t.match(it.output, /\/dev\/pts\/\d+\ntyped-42\n/);
    t.equal(it.status, 4, "the shell's exit code");
    const name = detached(t);
    const exec = await terminalSession(
      [CLI, 'exec', '-it', name, 'sh'],
      [
        { await: SHELL_PROMPT, type: '[ -t 0 ] && tty && echo exec-typed\n' },
        { await: SHELL_PROMPT, type: 'exit\n' },
      ],
      ENV,
    );
    t.match(exec.output, /\/dev\/pts\/\d+\nexec-typed\n/);
    t.equal(exec.status, 0);
  });

  t.test('pause and unpause, kill -s, top, stats --no-stream', async (t) => {
    const name = detached(t, [], ['sh', '-c', 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done']);
    t.equal(docker(['pause', name]).status, 0);
    t.equal(inspect(name, '{{.State.Status}}'), 'paused');
    const frozen = docker(['exec', name, 'true']);
    t.match(frozen.stderr, /is paused/, 'Docker refuses to exec in a paused container');
    const unpause = docker(['unpause', name]);
    t.equal(unpause.status, 0, unpause.stderr);
    t.equal(inspect(name, '{{.State.Status}}'), 'running');
    t.equal(docker(['kill', '-s', 'USR1', name]).status, 0);
    t.ok(await until(() => docker(['logs', name]).stdout.includes('got-usr1')), 'the signal reached the container');
    const top = docker(['top', name]);
    t.equal(top.status, 0, top.stderr);
    t.match(top.stdout, /^UID\s+PID\s+PPID.*\n.*sh -c trap "echo got-usr1" USR1/, 'init, by its host pid');
    const stats = docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', name]);
    t.equal(stats.status, 0, stats.stderr);
    t.match(stats.stdout, new RegExp(`^${name} [0-9.]+[KMG]i?B / [0-9.]+[KMGT]i?B [1-9]\\d*\\n$`), 'memory use and pids from the cgroup');
    t.equal(docker(['kill', name]).status, 0);
    t.equal(docker(['wait', name]).stdout, '137\n', 'SIGKILL by default');
  });

  t.test('update --memory --cpus --pids-limit: the new limits in the cgroup files', async (t) => {
    const name = detached(t, ['--memory', '64m', '--pids-limit', '50']);
    const limits = () =>
      cgroupFiles(
        name,
        V2
          ? ['memory.max', 'cpu.max', 'cpu.weight', 'pids.max']
          : ['memory/memory.limit_in_bytes', 'cpu/cpu.cfs_quota_us', 'cpu/cpu.cfs_period_us', 'cpu/cpu.shares', 'pids/pids.max'],
      );
    /** What `limits` reads, given the memory limit, cpu quota, shares (unset: the kernel's default) and pids.max. */
    const want = (memory: number, quota: number, shares: number | undefined, pids: string) =>
      V2
        ? `${memory}\n${quota < 0 ? 'max' : quota} 100000\n${shares === undefined ? 100 : sharesToWeight(shares)}\n${pids}\n`
        : `${memory}\n${quota}\n100000\n${shares ?? 1024}\n${pids}\n`;
    t.equal(limits(), want(64 << 20, -1, undefined, '50'), 'run --memory --pids-limit');
    // Docker sends the container's whole resources, with blockIO.weight and cpu.shares 0 ("not set")
    const update = docker(['update', '--memory', '48m', '--memory-swap', '96m', '--cpus', '0.5', '--pids-limit', '40', name]);
    t.equal(update.status, 0, update.stderr);
    t.equal(limits(), want(48 << 20, 50000, undefined, '40'), 'update: memory, cpu quota, pids');
    if (!V2) t.equal(cgroupFiles(name, ['memory/memory.memsw.limit_in_bytes']), `${96 << 20}\n`, 'update --memory-swap');
    const shares = docker(['update', '--cpu-shares', '512', '--pids-limit', '-1', name]);
    t.equal(shares.status, 0, shares.stderr);
    t.equal(limits(), want(48 << 20, 50000, 512, 'max'), 'update: shares, pids -1 (unlimited); the rest kept');
    if (!V2) {
      const run = runRm(t, [
        '--cpu-shares',
        '256',
        '--memory-swappiness',
        '10',
        '--memory-reservation',
        '16m',
        IMAGE,
        'cat',
        '/sys/fs/cgroup/cpu/cpu.shares',
        '/sys/fs/cgroup/memory/memory.swappiness',
        '/sys/fs/cgroup/memory/memory.soft_limit_in_bytes',
      ]);
      t.same([run.status, run.stdout], [0, `256\n10\n${16 << 20}\n`], run.stderr);
    }
  });

  t.test('--read-only, --tmpfs, -v (rw and ro)', async (t) => {
    const tmpfs = runRm(t, ['--read-only', '--tmpfs', '/run:size=1m', IMAGE, 'sh', '-c', 'touch /run/x && grep " /run " /proc/mounts; touch /x']);
    t.equal(tmpfs.status, 1);
    t.match(tmpfs.stdout, /^tmpfs \/run tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/, 'the tmpfs: writable, its size');
    t.match(tmpfs.stderr, /^touch: \/x: Read-only file system$/m, 'the root: read-only');
    const vol = join(dir, 'volume');
    spawnSync('sh', ['-c', `mkdir -p ${vol} && echo from-host > ${vol}/in`]);
    const bind = runRm(t, ['-v', `${vol}:/v`, '-v', `${vol}:/ro:ro`, IMAGE, 'sh', '-c', 'cat /v/in; echo from-container > /v/out; touch /ro/x']);
    t.same([bind.status, bind.stdout], [1, 'from-host\n']);
    t.match(bind.stderr, /^touch: \/ro\/x: Read-only file system$/m, '-v ...:ro');
    t.equal(spawnSync('cat', [`${vol}/out`], { encoding: 'utf8' }).stdout, 'from-container\n', '-v: written through');
  });

  t.test('--cap-add and --cap-drop; the default seccomp profile and seccomp=unconfined', async (t) => {
    const dflt = runRm(t, ['--cap-add', 'NET_ADMIN', '--cap-drop', 'CHOWN', IMAGE, 'sh', '-c', 'cat /proc/self/status; chown 1 /tmp; unshare -U true']);
    t.equal(dflt.status, 1);
    t.match(dflt.stderr, /chown: \/tmp: Operation not permitted/);
    const eff = capBits(dflt.stdout, 'CapEff');
    t.ok(has(eff, CAP_NET_ADMIN) && !has(eff, CAP_CHOWN), `CapEff ${eff.toString(16)}: NET_ADMIN, no CHOWN`);
    t.equal(capBits(dflt.stdout, 'CapBnd'), eff, 'bounding = effective');
    t.match(dflt.stdout, /^Seccomp:\t2$/m, 'filtered');
    t.match(dflt.stderr, /unshare: unshare\(0x10000000\): Operation not permitted/, 'the default profile refuses unshare without CAP_SYS_ADMIN');
    const unconfined = runRm(t, ['--security-opt', 'seccomp=unconfined', IMAGE, 'sh', '-c', 'grep ^Seccomp: /proc/self/status; unshare -U true']);
    t.same([unconfined.status, unconfined.stdout], [0, 'Seccomp:\t0\n'], unconfined.stderr);
  });

  t.test('--network none, --init', async (t) => {
    const none = runRm(t, ['--network', 'none', IMAGE, 'ls', '/sys/class/net']);
    t.same([none.status, none.stdout], [0, 'lo\n'], none.stderr);
    const init = runRm(t, ['--init', IMAGE, 'ps', '-o', 'pid,args']);
    t.equal(init.status, 0, init.stderr);
    t.match(init.stdout, /^\s*1 \/sbin\/docker-init -- ps -o pid,args\n\s*\d+ ps -o pid,args\n$/m, 'docker-init is pid 1, the command its child');
  });

  t.test('what a Docker container gets from runc: its own session, HOME, the named cgroup hierarchy', async (t) => {
    const r = runRm(t, [IMAGE, 'sh', '-c', 'cut -d" " -f5,6 /proc/self/stat; echo "HOME=$HOME"; grep name=systemd /proc/self/cgroup; ls /sys/fs/cgroup']);
    t.equal(r.status, 0, r.stderr);
    const [pgrpSession, home, systemd, ...mounted] = r.stdout.trim().split('\n');
    t.equal(pgrpSession, '1 1', 'init leads its own session and process group (as runc, setsid without a terminal too)');
    t.equal(home, 'HOME=/root', 'HOME from /etc/passwd when the config has none (runc and crun add it; Docker 20.10 relies on that)');
    if (V2) return;
    t.match(systemd, /^\d+:name=systemd:\/runt-docker-it-\d+\/[0-9a-f]{64}$/, "in the container's cgroup of the named v1 hierarchy name=systemd too");
    t.ok(mounted.includes('systemd'), '/sys/fs/cgroup/systemd mounted, as runc does');
  });

  t.test("rm -f of a running container: runt's state and the cgroup go", async (t) => {
    const name = detached(t);
    const id = inspect(name, '{{.Id}}');
    t.ok(existsSync(stateOf(id)), 'runt state while it runs');
    t.ok(cgroupDirs(cgroupOf(id)).length > 0, 'in the cgroup Docker names (cgroup-parent/id)');
    const rm = docker(['rm', '-f', name]);
    t.equal(rm.status, 0, rm.stderr);
    t.equal(docker(['inspect', name]).status, 1, 'the container is gone');
    t.notOk(existsSync(stateOf(id)), 'runt deleted its state');
    t.same(cgroupDirs(cgroupOf(id)), [], 'and its cgroup');
  });

  t.test('the removed containers left no runt state and no cgroup', async (t) => {
    t.ok(made.length >= 15, `${made.length} containers checked`);
    for (const id of made) {
      t.notOk(existsSync(stateOf(id)), `runt state of ${id.slice(0, 12)}`);
      t.same(cgroupDirs(cgroupOf(id)), [], `cgroup of ${id.slice(0, 12)}`);
    }
  });
}
