'use strict';
// The suite's fixtures: the static checker (built from conformance/checker.c into a cache dir, never into
// the repo) and a busybox rootfs (test/fixtures/mk-rootfs.sh), copied once per run with the checker and the
// mount points the cases use, so the shared cache is never written by a container.
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const SUITE = join(__dirname, '..');
const REPO = join(SUITE, '..');
const CACHE = process.env.RUNT_CONFORMANCE_CACHE || '/var/tmp/runt-conformance';

/** Mount points the cases mount on; made in the run's rootfs so that no runtime has to create them. */
const MOUNT_POINTS = ['out', 'mnt/tmpfs', 'mnt/bind', 'mnt/ro', 'mnt/outer', 'mnt/outer/inner', 'hooks'];

function checker() {
  const source = join(SUITE, 'checker.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const bin = join(CACHE, `checker-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${bin}.tmp${process.pid}`;
  const cc = process.env.CC || 'cc';
  try {
    execFileSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-static', '-o', tmp, source], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = String(e.stderr || e.message)
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new Error(`cannot build the static checker with ${cc} (the rootfs has no libc: it needs libc6-dev's libc.a): ${why}`);
  }
  renameSync(tmp, bin);
  return bin;
}

function sharedRootfs() {
  const dir = join(CACHE, 'rootfs');
  if (!existsSync(join(dir, 'bin/busybox'))) execFileSync(join(REPO, 'test/fixtures/mk-rootfs.sh'), [dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

/** A rootfs for this run: busybox, /checker, the mount points. Containers get it read-only. */
function runRootfs(runDir) {
  const bin = checker();
  const dir = join(runDir, 'rootfs');
  execFileSync('cp', ['-a', sharedRootfs(), dir]);
  copyFileSync(bin, join(dir, 'checker'));
  chmodSync(join(dir, 'checker'), 0o755);
  for (const m of MOUNT_POINTS) mkdirSync(join(dir, m), { recursive: true });
  return dir;
}

/** Parses the checker's `key=value` lines; `env` (repeated) becomes an array. */
function parseFacts(text) {
  const facts = { env: [] };
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).replace(/\\(n|0|\\)/g, (_, c) => (c === 'n' ? '\n' : c === '0' ? '\0' : '\\'));
    if (key === 'env') facts.env.push(value);
    else facts[key] = value;
  }
  return facts;
}

/** The checker's `mount:PATH` fact split up: { opts, fstype, superOpts }, or null when nothing is mounted there. */
function mountOpts(facts, path) {
  const v = facts[`mount:${path}`];
  if (!v || v === 'none' || v.startsWith('err=')) return null;
  const [opts, fstype, superOpts] = v.split(' ');
  return { opts: opts.split(','), fstype, superOpts: superOpts.split(',') };
}

module.exports = { CACHE, REPO, checker, runRootfs, parseFacts, mountOpts };
