// Drives the built CLI (build/runt) the way a client does: argv, stdio, pid file, log file, exit codes.
// Every container a test makes is deleted and every temp dir removed in teardown, even when it fails.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Test } from 'tap';
import { defaultSpec } from '../../src/lifecycle/spec';
import type { Spec } from '../../src/spec/generated/types';

export const REPO = resolve(__dirname, '../..');
export const RUNT = join(REPO, 'build/runt');
const ROOTFS_CACHE = '/var/tmp/runt-test-rootfs';

export function canRun(): string | false {
  if (process.getuid?.() !== 0) return 'integration tests need root';
  if (!existsSync(RUNT)) return 'build/runt is missing: npm run build';
  sweepStale();
  return false;
}

/** The shared busybox rootfs (read-only in every test bundle). */
export function rootfs(): string {
  if (!existsSync(join(ROOTFS_CACHE, 'bin/busybox'))) {
    const r = spawnSync(join(REPO, 'test/fixtures/mk-rootfs.sh'), [ROOTFS_CACHE], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mk-rootfs.sh failed: ${r.stderr}`);
  }
  return ROOTFS_CACHE;
}

export interface Env {
  root: string;
  tmp: string;
  /** A bundle whose config is the default spec with `args`, edited by `edit`. */
  bundle(args: string[], edit?: (s: Spec) => void): string;
  runt(args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; extraFds?: number[] }): SpawnSyncReturns<string>;
  id(name: string): string;
}

let counter = 0;
let envs = 0;
const TMP_PREFIX = '/tmp/runt-it-';

/**
 * Deletes what an earlier run left when it was killed before its teardown (a tap timeout kills the
 * process): every container under a /tmp/runt-it-PID-* whose PID is gone, then the dir itself.
 */
export function sweepStale(): void {
  for (const name of readdirSync('/tmp')) {
    const m = /^runt-it-(\d+)-/.exec(name);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    const dir = join('/tmp', name);
    const root = join(dir, 'state');
    for (const id of existsSync(root) ? readdirSync(root) : []) {
      spawnSync(RUNT, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * spawnSync with stdout and stderr going to files in `dir`, not pipes: a container made by `create` keeps
 * runt's stdio open (as it does a client's), and a pipe would not see EOF before the container exits.
 */
export function spawnCaptured(
  dir: string,
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; extraFds?: number[]; cwd?: string } = {},
): SpawnSyncReturns<string> {
  const outFile = join(dir, `.out${counter}`);
  const errFile = join(dir, `.err${counter++}`);
  const out = openSync(outFile, 'w+');
  const err = openSync(errFile, 'w+');
  try {
    const r = spawnSync(cmd, args, {
      cwd: opts.cwd,
      encoding: 'utf8',
      input: opts.input ?? '',
      stdio: ['pipe', out, err, ...(opts.extraFds ?? [])],
      env: opts.env ?? { PATH: process.env.PATH },
      timeout: 60_000,
    });
    return { ...r, stdout: readFileSync(outFile, 'utf8'), stderr: readFileSync(errFile, 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(outFile);
    rmSync(errFile);
  }
}

/** `runt`: the binary the environment drives (default build/runt; the faults test passes its test build). */
export function setup(t: Test, runt = RUNT): Env {
  // a parent per environment: runt removes it with the last container (the list of parents is per state root)
  const cgroupParent = `/runt-test-${process.pid}-${envs++}`;
  const tmp = mkdtempSync(`${TMP_PREFIX}${process.pid}-`);
  const root = join(tmp, 'state');
  const ids: string[] = [];
  const env: Env = {
    root,
    tmp,
    bundle(args, edit) {
      const dir = join(tmp, `bundle${counter++}`);
      mkdirSync(dir);
      const spec = defaultSpec(false);
      spec.root = { path: rootfs(), readonly: true };
      spec.process!.terminal = false;
      spec.process!.args = args;
      spec.linux!.cgroupsPath = `${cgroupParent}/${counter}`;
      edit?.(spec);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
      return dir;
    },
    runt(args, opts = {}) {
      return spawnCaptured(tmp, runt, ['--root', root, ...args], opts);
    },
    id(name) {
      const id = `${name}-${process.pid}-${counter++}`;
      ids.push(id);
      return id;
    },
  };
  t.teardown(() => {
    for (const id of ids) spawnSync(runt, ['--root', root, 'delete', '--force', id], { encoding: 'utf8' });
    // containers are directories; the root's own files (the cgroup-parents list) are not
    const left = existsSync(root)
      ? readdirSync(root, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
      : [];
    rmSync(tmp, { recursive: true, force: true });
    if (left.length) throw new Error(`state dirs left behind: ${left.join(', ')}`);
  });
  return env;
}

/** Starts a long-running runt (e.g. `run` in the foreground) with pipes for stdio. */
export function runtAsync(env: Env, args: string[]) {
  return spawn(RUNT, ['--root', env.root, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
}

/** A container running `sleep 300` in the background (`run -d`): its id, init pid and bundle. */
export function runningContainer(env: Env, edit?: (s: Spec) => void): { id: string; pid: number; bundle: string } {
  const id = env.id('bg');
  const bundle = env.bundle(['sleep', '300'], edit);
  const r = env.runt(['run', '-d', '-b', bundle, id]);
  if (r.status !== 0) throw new Error(`run -d: ${r.stderr}`);
  return { id, pid: readState(env, id).pid as number, bundle };
}

/** A C program of test/fixtures, compiled into the test's temp dir (`flags`: e.g. -static, to run in a container). */
export function fixture(t: Test, env: Env, name: string, flags: string[] = []): string {
  const out = join(env.tmp, name);
  const cc = spawnSync('cc', ['-O2', '-Wall', '-Werror', ...flags, '-o', out, join(REPO, `test/fixtures/${name}.c`)], { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr);
  return out;
}

/** A fixture server (recvtty, seccomp-listener) that prints "listening" on stderr once its socket is ready. */
export interface Listener {
  /** What it wrote to stdout, and to stderr, so far. */
  out(): string;
  info(): string;
  /** Its exit status, once it has exited. */
  exited: Promise<number | null>;
}

/** Starts fixture `name` with `args`, resolves once it listens; it is killed in teardown if still running. */
export async function startListener(t: Test, env: Env, name: string, args: string[]): Promise<Listener> {
  const child = spawn(fixture(t, env, name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  let info = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      info += b.toString();
      if (info.includes('listening')) resolve();
    });
    exited.then(() => reject(new Error(`${name} exited before listening: ${info}`)));
  });
  return { out: () => out, info: () => info, exited };
}

/** A process that reports SIGTERM: it prints "ready", and on TERM prints "term" and exits 7. */
export const TERM_TRAP = ['sh', '-c', 'trap "echo term; exit 7" TERM; echo ready; while true; do sleep 0.05; done'];

/** Starts runt (its container's process runs TERM_TRAP) and sends runt SIGTERM once the process is ready. */
export async function terminateWhenReady(env: Env, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = runtAsync(env, args);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready')) resolve();
    }),
  );
  child.kill('SIGTERM');
  return { code: await exited, out };
}

export function readState(env: Env, id: string): Record<string, unknown> {
  const r = env.runt(['state', id]);
  if (r.status !== 0) throw new Error(`state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Polls until the process is gone or a zombie (it is not our child, so we cannot wait for it). */
export async function waitExit(pid: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      return;
    }
    if (/^\S+ \(.*\) [ZX]/s.test(stat)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} still runs after ${ms} ms`);
}

export function mountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(path));
}

export function cgroupDirs(rel: string): string[] {
  const out: string[] = [];
  for (const c of readdirSync('/sys/fs/cgroup')) if (existsSync(join('/sys/fs/cgroup', c, rel))) out.push(join('/sys/fs/cgroup', c, rel));
  return out;
}

/** The files runt keeps in a state root (src/sys/kept.ts): ffi-rs's binding and the shim's executable. */
export const KEPT_FILE = /^~(ffi-rs-[0-9a-f]{16}\.node|runt-shim-[0-9a-f]{16})$/;

/**
 * Removes what runt keeps in a state root the test did not choose (KEPT_FILE), then the root itself if that
 * leaves it empty, as test/engines/common.sh's forget_runt_root does for the engines' roots.
 */
export function forgetRuntRoot(root: string): void {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) if (KEPT_FILE.test(name)) rmSync(join(root, name), { force: true });
  if (readdirSync(root).length === 0) rmdirSync(root);
}
