// checkpoint and restore with CRIU (4.x: Debian 12's 3.17 cannot dump on this kernel): a counter container is
// checkpointed and restored and goes on counting from where it was; --leave-running; a pre-dump then a dump.
// The container's stdio are real pipes (as conmon and containerd give it): CRIU cannot dump a file of the host
// opened from outside the container's mounts, and hands pipes over on restore (inherit_fd).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { engineShell, engineSkip, privateDir } from '../engines/engine';
import { canRun, readState, rootfs, RUNT, setup, startListener, type Env } from './harness';

/** A CRIU 4.x binary: $RUNT_CRIU, the one .ci/run builds, or criu from PATH. */
function findCriu(): string | undefined {
  for (const c of [process.env.RUNT_CRIU, '/usr/local/lib/criu-4.2/criu/criu', 'criu']) {
    if (!c) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && /Version: ([4-9]|\d\d)\./.test(r.stdout)) return c;
  }
  return undefined;
}

const skip = canRun() || (findCriu() ? false : 'no CRIU 4.x (set RUNT_CRIU, or build it: ../shared/clients/build-criu.sh)');
if (skip) console.log(`# skipping checkpoint tests: ${skip}`);
const CRIU = findCriu() ?? 'criu';

const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done'];

/**
 * runt with stdin from `sleep` and stdout+stderr into `cat`, both real pipes, which the container inherits.
 * `out()` is what came through so far; `status` resolves with runt's own exit status.
 */
function piped(t: Test, env: Env, args: string[]) {
  const rcFile = join(env.tmp, `rc-${Math.random().toString(36).slice(2)}`);
  const argv = ['--root', env.root, '--criu', CRIU, ...args].map((a) => `'${a}'`).join(' ');
  // sh holds its own stdout until `sleep` ends: the end of cat's input is told by the line after it
  const sh = spawn('sh', ['-c', `sleep 600 | { '${RUNT}' ${argv}; echo $? > '${rcFile}'; } 2>&1 | { cat; echo ${EOF}; }`], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
    env: { PATH: process.env.PATH },
  });
  t.teardown(() => {
    try {
      process.kill(-sh.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  let out = '';
  sh.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const status = (async () => {
    while (!existsSync(rcFile) || !readFileSync(rcFile, 'utf8').trim()) await sleep(20);
    return Number(readFileSync(rcFile, 'utf8'));
  })();
  /** Resolves once every writer of the pipe is gone (the container's processes too). */
  const ended = () => until('the output pipe to close', () => out.includes(EOF));
  return { out: () => out, status, ended };
}

const EOF = '--end-of-output--';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The numbers the counter printed so far. */
function numbers(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A running counter container: its id, bundle and piped output. */
async function counter(t: Test, env: Env) {
  const id = env.id('cr');
  const bundle = env.bundle(COUNTER);
  const run = piped(t, env, ['run', '-d', '-b', bundle, id]);
  t.equal(await run.status, 0, `run -d: ${run.out()}`);
  await until('the counter to count', () => numbers(run.out()).length >= 5);
  return { id, bundle, run };
}

function runt(env: Env, args: string[]) {
  return env.runt(['--criu', CRIU, ...args]);
}

t.test('a checkpointed counter, restored, goes on from where it was', { skip }, async (t) => {
  const env = setup(t);
  const { id, bundle, run } = await counter(t, env);
  const img = join(env.tmp, 'img');
  const work = join(env.tmp, 'work');
  const named = (pid: unknown) =>
    readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .filter((l) => /^\d+:name=/.test(l));
  const namedBefore = named(readState(env, id).pid);
  const cp = runt(env, ['checkpoint', '--image-path', img, '--work-path', work, id]);
  t.equal(cp.status, 0, `checkpoint: ${cp.stderr}`);
  await run.ended(); // CRIU killed the container: its pipe's last writer is gone
  const before = numbers(run.out());
  t.ok(
    readdirSync(img).some((f) => f.startsWith('pages-')),
    'memory pages in the image directory',
  );
  t.ok(existsSync(join(work, 'dump.log')), "CRIU's log in the work directory");
  t.match(runt(env, ['state', id]).stderr, /container does not exist/, 'the checkpointed container is gone, as with runc');

  const pidFile = join(env.tmp, 'restored.pid');
  const rs = piped(t, env, ['restore', '-d', '--image-path', img, '--work-path', work, '--pid-file', pidFile, '-b', bundle, id]);
  t.equal(await rs.status, 0, 'restore');
  await until('the restored counter to print', () => numbers(rs.out()).length >= 3);
  const after = numbers(rs.out());
  t.equal(after[0], before.at(-1)! + 1, `counting goes on: ${before.at(-1)} then ${after[0]}`);
  const state = readState(env, id);
  t.equal(state.status, 'running');
  t.equal(state.pid, Number(readFileSync(pidFile, 'utf8')), 'the pid file names the restored init');
  const cgroup = readFileSync(`/proc/${state.pid}/cgroup`, 'utf8');
  t.match(cgroup, /:memory:\/runt-test-/, "the restored init is in the container's cgroup");
  t.same(named(state.pid), namedBefore, 'named hierarchies (name=systemd): where it was, no cgroup made there');
  t.equal(readlinkSync(`/proc/${state.pid}/fd/1`).startsWith('pipe:'), true, "its stdout is restore's pipe");
  t.equal(runt(env, ['delete', '-f', id]).status, 0);
});

t.test('--leave-running: the container goes on, and the images restore as another one', { skip }, async (t) => {
  const env = setup(t);
  const { id, bundle, run } = await counter(t, env);
  const img = join(env.tmp, 'img');
  const beforeDump = numbers(run.out()).at(-1)!;
  const cp = runt(env, ['checkpoint', '--leave-running', '--image-path', img, id]);
  t.equal(cp.status, 0, `checkpoint: ${cp.stderr}`);
  const atDump = numbers(run.out()).at(-1)!;
  t.equal(readState(env, id).status, 'running');
  await until('the counter to count on', () => numbers(run.out()).at(-1)! > atDump + 5);
  t.equal(runt(env, ['delete', '-f', id]).status, 0);
  await run.ended();
  const last = numbers(run.out()).at(-1)!;

  const copy = env.id('copy');
  const rs = piped(t, env, ['restore', '-d', '--image-path', img, '-b', bundle, copy]);
  t.equal(await rs.status, 0, `restore: ${rs.out()}`);
  await until('the restored counter to print', () => numbers(rs.out()).length >= 1);
  const first = numbers(rs.out())[0]!;
  t.ok(first > beforeDump && first < last, `restored from the dump's moment: ${first}, after ${beforeDump} (before the dump), the original reached ${last}`);
  t.equal(runt(env, ['delete', '-f', copy]).status, 0);
});

t.test('a pre-dump, then a dump on top of it, restores', { skip }, async (t) => {
  const env = setup(t);
  const { id, bundle, run } = await counter(t, env);
  const pre = join(env.tmp, 'pre');
  const img = join(env.tmp, 'img');
  const pd = runt(env, ['checkpoint', '--pre-dump', '--image-path', pre, id]);
  if (spawnSync(CRIU, ['check', '--feature', 'mem_dirty_track']).status !== 0) {
    // the kernel has no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY): runt says so before CRIU starts, as runc does
    console.log('# no memory tracking in this kernel: only the refusal of --pre-dump is tested');
    t.equal(pd.status, 1);
    t.match(pd.stderr, /criu is missing features: \[MemTrack\]/);
    t.equal(readState(env, id).status, 'running', 'the container runs on');
    t.equal(runt(env, ['delete', '-f', id]).status, 0);
    return;
  }
  t.equal(pd.status, 0, `pre-dump: ${pd.stderr}`);
  t.equal(readState(env, id).status, 'running', 'a pre-dump leaves the container running');
  t.ok(
    readdirSync(pre).some((f) => f.startsWith('pages-')),
    'the pre-dump wrote memory pages',
  );
  const cp = runt(env, ['checkpoint', '--image-path', img, '--parent-path', '../pre', id]);
  t.equal(cp.status, 0, `dump: ${cp.stderr}`);
  t.equal(readlinkSync(join(img, 'parent')), '../pre', 'the dump links its parent images');
  await run.ended();
  const before = numbers(run.out());
  const rs = piped(t, env, ['restore', '-d', '--image-path', img, '-b', bundle, id]);
  t.equal(await rs.status, 0, `restore: ${rs.out()}`);
  await until('the restored counter to print', () => numbers(rs.out()).length >= 1);
  t.equal(numbers(rs.out())[0], before.at(-1)! + 1);
  t.equal(runt(env, ['delete', '-f', id]).status, 0);
});

t.test('restore in the foreground waits for the restored init and exits with its status', { skip }, async (t) => {
  const env = setup(t);
  const { id, bundle, run } = await counter(t, env);
  const img = join(env.tmp, 'img');
  t.equal(runt(env, ['checkpoint', '--image-path', img, id]).status, 0);
  await run.ended();
  const rs = piped(t, env, ['restore', '--image-path', img, '-b', bundle, id]);
  await until('the restored counter to print', () => numbers(rs.out()).length >= 1);
  t.equal(readState(env, id).status, 'running');
  t.equal(runt(env, ['kill', id, 'KILL']).status, 0);
  t.equal(await rs.status, 137, 'the status of a process killed by SIGKILL');
  t.equal(runt(env, ['delete', id]).status, 0, 'a stopped container, deleted without --force');
});

t.test('refusals: no container, no images; a failed restore leaves nothing behind', { skip }, async (t) => {
  const env = setup(t);
  t.match(runt(env, ['checkpoint', '--image-path', join(env.tmp, 'x'), 'nosuch']).stderr, /container does not exist/);
  const id = env.id('none');
  const r = runt(env, ['restore', '-d', '--image-path', join(env.tmp, 'empty'), '-b', env.bundle(COUNTER), id]);
  t.equal(r.status, 1);
  t.match(r.stderr, /--image-path: .*empty holds no checkpoint/);
  t.match(runt(env, ['state', id]).stderr, /container does not exist/);
  const bad = runt(env, ['checkpoint', '--manage-cgroups-mode', 'bogus', 'x']);
  t.match(bad.stderr, /invalid value "bogus" for --manage-cgroups-mode/);
  t.match(runt(env, ['restore', '--console-socket', '/x', '-b', env.bundle(COUNTER), id]).stderr, /--console-socket: given but process.terminal is false/);

  // images CRIU cannot restore from: the failure comes after the state dir and the cgroup were made
  const broken = join(env.tmp, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'descriptors.json'), '["/dev/null","/dev/null","/dev/null"]');
  const bundle = env.bundle(COUNTER, (s) => (s.linux!.cgroupsPath = `/runt-cr-broken-${process.pid}`));
  const f = runt(env, ['restore', '-d', '--image-path', broken, '-b', bundle, id]);
  t.equal(f.status, 1);
  t.match(f.stderr, /criu failed: type RESTORE: .*\(log: .*restore\.log\)/, "CRIU's errors quoted from its log");
  t.match(runt(env, ['state', id]).stderr, /container does not exist/, 'no state dir left');
  t.notOk(existsSync(`/sys/fs/cgroup/memory/runt-cr-broken-${process.pid}`), 'no cgroup left');
});

t.test("a container with a terminal: the restored pty's master goes to --console-socket", { skip }, async (t) => {
  const env = setup(t);
  const id = env.id('tty');
  // each line typed is counted and answered with the terminal's name
  const bundle = env.bundle(['sh', '-c', 'i=0; while read l; do i=$((i+1)); echo "$i $l $(tty)"; done'], (s) => {
    s.process!.terminal = true;
  });
  const first = join(env.tmp, 'first.sock');
  const before = await startListener(t, env, 'recvtty', [first, '--type', 'a', '--type', 'b']);
  t.equal(runt(env, ['run', '-d', '--console-socket', first, '-b', bundle, id]).status, 0);
  await until('both lines answered', () => before.out().includes('2 b'));
  const img = join(env.tmp, 'img');
  const cp = runt(env, ['checkpoint', '--image-path', img, id]);
  t.equal(cp.status, 0, `checkpoint: ${cp.stderr}`);
  await before.exited; // CRIU killed the container: the pty's slave side closed

  const second = join(env.tmp, 'second.sock');
  const after = await startListener(t, env, 'recvtty', [second, '--type', 'c']);
  const rs = runt(env, ['restore', '-d', '--console-socket', second, '--image-path', img, '-b', bundle, id]);
  t.equal(rs.status, 0, `restore: ${rs.stderr}`);
  await until('the line typed after the restore answered', () => after.out().includes('3 c'));
  t.match(after.info(), /received orphan-pts-master/, "CRIU's new master, under runc's name for it");
  t.match(after.out().replace(/\r/g, ''), /^3 c \/dev\/pts\/0$/m, 'the count goes on, on the pty CRIU made anew at the same index');
  t.equal(runt(env, ['delete', '-f', id]).status, 0);
  await after.exited;

  const refused = runt(env, ['restore', '-d', '--image-path', img, '-b', bundle, env.id('tty-nosock')]);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /process\.terminal: restoring a container with a terminal needs --console-socket/);
  const nobody = runt(env, ['restore', '-d', '--console-socket', join(env.tmp, 'none.sock'), '--image-path', img, '-b', bundle, env.id('tty-nolistener')]);
  t.equal(nobody.status, 1);
  t.match(nobody.stderr, /--console-socket: connect .*none\.sock: No such file or directory/);
});

t.test('restore makes the mount points a rootfs lacks, as create made them', { skip }, async (t) => {
  const env = setup(t);
  // a rootfs of the test's own: the restore writes into it
  const root = join(env.tmp, 'rootfs');
  t.equal(spawnSync('cp', ['-a', rootfs(), root]).status, 0);
  const data = join(env.tmp, 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'f'), 'from the host\n');
  const bundle = env.bundle(COUNTER, (s) => {
    s.root = { path: root, readonly: true };
    s.mounts!.push(
      { destination: '/srv/data', type: 'bind', source: data, options: ['rbind', 'rw'] },
      { destination: '/srv/data/scratch', type: 'tmpfs', source: 'tmpfs' }, // its mount point is made in the bind's source
    );
  });
  const id = env.id('mnt');
  const run = piped(t, env, ['run', '-d', '-b', bundle, id]);
  t.equal(await run.status, 0, `run -d: ${run.out()}`);
  await until('the counter to count', () => numbers(run.out()).length >= 3);
  const img = join(env.tmp, 'img');
  const cp = runt(env, ['checkpoint', '--image-path', img, id]);
  t.equal(cp.status, 0, `checkpoint: ${cp.stderr}`);
  await run.ended();
  rmSync(join(root, 'srv'), { recursive: true });
  rmSync(join(data, 'scratch'), { recursive: true });

  const rs = piped(t, env, ['restore', '-d', '--image-path', img, '-b', bundle, id]);
  t.equal(await rs.status, 0, `restore: ${rs.out()}`);
  await until('the restored counter to print', () => numbers(rs.out()).length >= 1);
  t.equal(numbers(rs.out())[0], numbers(run.out()).at(-1)! + 1, 'counting goes on');
  t.ok(existsSync(join(root, 'srv/data')) && existsSync(join(data, 'scratch')), "the mount points, in the rootfs and in the bind's source");
  const pid = readState(env, id).pid as number;
  t.equal(readFileSync(`/proc/${pid}/root/srv/data/f`, 'utf8'), 'from the host\n', 'the bind is there again');
  t.match(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'), / \/srv\/data\/scratch .* - tmpfs /, 'and the tmpfs in it');
  t.notMatch(readFileSync('/proc/self/mountinfo', 'utf8'), root, 'no mount of the rootfs is left on the host');
  t.equal(runt(env, ['delete', '-f', id]).status, 0);
});

/** A free TCP port for CRIU's page server. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const lazySkip = skip || (spawnSync(CRIU, ['check', '--feature', 'uffd-noncoop']).status === 0 ? false : 'the kernel has no non-cooperative userfaultfd');

t.test('--lazy-pages: the pages served from the checkpoint, fetched as the restored container touches them', { skip: lazySkip }, async (t) => {
  const env = setup(t);
  const { id, run } = await counter(t, env);
  const img = join(env.tmp, 'img');
  const work = join(env.tmp, 'work');
  const port = await freePort();
  const lazyArgs = ['checkpoint', '--lazy-pages', '--page-server', `127.0.0.1:${port}`, '--status-fd', '3', '--image-path', img, '--work-path', work, id];

  // CRIU's page server enlarges its pipe to 4 MiB and does not check that it could: without CAP_SYS_RESOURCE
  // (this VM) the kernel's fs.pipe-max-size bounds it, and runt refuses up front; the test raises it meanwhile
  const maxFile = '/proc/sys/fs/pipe-max-size';
  const max = readFileSync(maxFile, 'utf8').trim();
  const sysResource = (BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) >> 24n) & 1n;
  if (!sysResource && Number(max) < 4 << 20) {
    const low = runt(env, lazyArgs);
    t.equal(low.status, 1);
    t.match(
      low.stderr,
      `--lazy-pages: CRIU's page server needs pipes of 4194304 bytes: without CAP_SYS_RESOURCE, fs.pipe-max-size (${max}) must be raised to that`,
    );
    t.equal(readState(env, id).status, 'running', 'the container runs on');
    writeFileSync(maxFile, String(4 << 20));
    t.teardown(() => writeFileSync(maxFile, max));
  }
  t.match(runt(env, ['checkpoint', '--lazy-pages', '--page-server', 'nocolon', id]).stderr, /--page-server: use --page-server ADDRESS:PORT/);
  t.match(runt(env, ['checkpoint', '--lazy-pages', '--status-fd', '9', id]).stderr, /invalid --status-fd argument 9: fcntl: Bad file descriptor/);

  // the status fd is a socket of the test's (a pipe end would do as well)
  const cp = spawn(RUNT, ['--root', env.root, '--criu', CRIU, ...lazyArgs], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  t.teardown(() => cp.kill('SIGKILL'));
  let cpErr = '';
  cp.stderr!.on('data', (b: Buffer) => (cpErr += b.toString()));
  const cpExit = new Promise<number | null>((r) => cp.on('exit', (code) => r(code)));
  const ready = await new Promise<Buffer>((resolve) => {
    let got = Buffer.alloc(0);
    (cp.stdio[3] as Readable).on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
    (cp.stdio[3] as Readable).on('close', () => resolve(got));
  });
  t.same([...ready], [0], '\\0 on the status fd, which is then closed');
  t.ok(existsSync(join(img, 'inventory.img')), 'the images are written');

  const daemon = spawn(CRIU, ['lazy-pages', '--page-server', '--address', '127.0.0.1', '--port', String(port), '-D', img, '-o', 'lazy-pages.log'], {
    stdio: 'ignore',
  });
  t.teardown(() => daemon.kill('SIGKILL'));
  const daemonExit = new Promise<number | null>((r) => daemon.on('exit', (code) => r(code)));
  await until("the lazy-pages daemon's socket", () => existsSync(join(img, 'lazy-pages.socket')));
  // another container (another cgroup): the checkpointed one lives on until its last page is fetched
  const copy = env.id('lazy');
  const rs = piped(t, env, ['restore', '-d', '--lazy-pages', '--image-path', img, '--work-path', img, '-b', env.bundle(COUNTER), copy]);
  t.equal(await rs.status, 0, `restore: ${rs.out()}`);
  t.equal(await cpExit, 0, `checkpoint, once the pages are fetched: ${cpErr}`);
  t.equal(await daemonExit, 0, 'the lazy-pages daemon is done');
  await run.ended();
  await until('the restored counter to print', () => numbers(rs.out()).length >= 3);
  t.equal(numbers(rs.out())[0], numbers(run.out()).at(-1)! + 1, 'counting goes on in the restored container');
  t.match(runt(env, ['state', id]).stderr, /container does not exist/, 'the checkpointed container is gone');
  t.equal(runt(env, ['delete', '-f', copy]).status, 0);
});

const podmanSkip = skip || engineSkip(['podman', 'conmon']);

t.test('podman container checkpoint / restore with runt', { skip: podmanSkip }, async (t) => {
  const clean = (dir: string) => engineShell('podman.sh', 'RUNT_PODMAN_DIR', dir, 'podman_clean', false);
  const dir = privateDir('runt-podman-cr', clean);
  t.teardown(() => clean(dir));
  engineShell('podman.sh', 'RUNT_PODMAN_DIR', dir, 'podman_setup');
  // podman and runt both run `criu` from PATH (podman passes no --criu): CRIU 4.x first
  const bin = mkdtempSync('/tmp/runt-criu-bin-');
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  symlinkSync(spawnSync('sh', ['-c', `command -v ${CRIU}`], { encoding: 'utf8' }).stdout.trim(), join(bin, 'criu'));
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    CONTAINERS_CONF: `${dir}/containers.conf`,
    CONTAINERS_STORAGE_CONF: `${dir}/storage.conf`,
  };
  const podman = (args: string[]) => spawnSync('podman', args, { encoding: 'utf8', env, timeout: 60_000 });
  const name = `runt-cr-${process.pid}`;
  t.teardown(() => podman(['rm', '--force', '--time', '0', name]));
  const r = podman(['--runtime', RUNT, 'run', '-d', '--name', name, 'localhost/runt-busybox:latest', ...COUNTER]);
  t.equal(r.status, 0, `podman run -d: ${r.stderr}`);
  const logs = () => numbers(podman(['logs', name]).stdout);
  await until('the counter to count', () => logs().length >= 5);
  const cp = podman(['container', 'checkpoint', name]);
  t.equal(cp.status, 0, `podman container checkpoint: ${cp.stderr}`);
  t.match(podman(['inspect', '--format', '{{.State.Status}}', name]).stdout, /exited/);
  const atCheckpoint = logs().length;
  const rs = podman(['container', 'restore', name]);
  t.equal(rs.status, 0, `podman container restore: ${rs.stderr}`);
  t.match(podman(['inspect', '--format', '{{.State.Status}}', name]).stdout, /running/);
  await until('the restored counter to print', () => logs().length >= atCheckpoint + 5);
  const seen = logs();
  t.same(
    seen,
    seen.map((_, i) => i + 1),
    `one count 1, 2, 3... across checkpoint and restore (${seen.length} lines, ${atCheckpoint} before)`,
  );
});
