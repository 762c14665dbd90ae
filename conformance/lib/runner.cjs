'use strict';
// Runs every case against every runtime, a few at a time, each in a Context of its own that is cleaned up
// whatever happens. A runtime that cannot run the simplest container here (the probe) gets "n/a" with its
// own error for every case instead of a column of failures.
const { spawnSync } = require('node:child_process');
const { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } = require('node:fs');
const { basename, join } = require('node:path');
const { Context, CaseFailure, NotApplicable, cleanupAllSync } = require('./context.cjs');
const { cgroupMounts, removeCgroup } = require('./cgroups.cjs');
const { runRootfs } = require('./fixtures.cjs');
const { lastLine } = require('./proc.cjs');

const TMP_PREFIX = 'runt-conformance-';
const CGROUP_PREFIX = 'runt-conf-';
const CASE_TIMEOUT_MS = 90_000;

/** Columns: one per runtime, named by the binary (made unique). */
function describeRuntimes(paths) {
  const seen = new Map();
  return paths.map((path) => {
    let name = basename(path);
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name = `${name}#${n}`;
    const v = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const version = v.status === 0 ? (/version\s+(\S+)/.exec(v.stdout)?.[1] ?? v.stdout.split('\n')[0]) : 'unknown';
    return { name, path, version, available: true, reason: '' };
  });
}

const pidAlive = (pid) => existsSync(`/proc/${pid}`);

/** Deletes what a run killed before its cleanup left behind: containers, cgroups, temp dirs. */
function sweepStale() {
  for (const name of readdirSync('/tmp')) {
    const m = new RegExp(`^${TMP_PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(m[1])) continue;
    const runDir = join('/tmp', name);
    for (const rt of readdirSync(runDir, { withFileTypes: true })) {
      const marker = join(runDir, rt.name, 'RUNTIME');
      if (!rt.isDirectory() || !existsSync(marker)) continue;
      const path = readFileSync(marker, 'utf8').trim();
      for (const c of readdirSync(join(runDir, rt.name), { withFileTypes: true })) {
        const root = join(runDir, rt.name, c.name, 'state');
        if (!c.isDirectory() || !existsSync(root)) continue;
        for (const id of readdirSync(root)) spawnSync(path, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 20_000 });
      }
    }
    rmSync(runDir, { recursive: true, force: true });
  }
  for (const mount of cgroupMounts()) {
    for (const entry of existsSync(mount.dir) ? readdirSync(mount.dir) : []) {
      const m = new RegExp(`^${CGROUP_PREFIX}(\\d+)-`).exec(entry);
      if (m && !pidAlive(m[1])) removeCgroup(`/${entry}`);
    }
  }
}

async function runCase(c, runtime, { runDir, rootfs, index }) {
  const started = Date.now();
  const ctx = new Context({
    runtime,
    dir: join(runDir, runtime.name, c.id),
    rootfs,
    cgroupPrefix: `/${CGROUP_PREFIX}${process.pid}-${index}`,
  });
  let result;
  let timer;
  try {
    await Promise.race([
      c.run(ctx),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CaseFailure(`timed out after ${CASE_TIMEOUT_MS / 1000} s`)), CASE_TIMEOUT_MS);
      }),
    ]);
    result = { status: 'pass', detail: '' };
  } catch (e) {
    if (e instanceof CaseFailure) result = { status: 'fail', detail: e.message };
    else if (e instanceof NotApplicable) result = { status: 'n/a', detail: e.message };
    else result = { status: 'error', detail: `harness error: ${e.stack?.split('\n').slice(0, 2).join(' ') ?? e}` };
  } finally {
    clearTimeout(timer);
  }
  try {
    await ctx.cleanup();
  } catch (e) {
    result = { status: 'error', detail: `cleanup failed: ${e.message}` };
  }
  return { ...result, notes: ctx.notes, ms: Date.now() - started };
}

/** Whether the runtime can run `/bin/true` here at all; if not, why (its own message). */
async function probe(runtime, opts) {
  const r = await runCase(
    {
      id: '.probe',
      async run(ctx) {
        const b = ctx.bundle(['/bin/true']);
        const res = await ctx.run(b);
        if (res.status !== 0) ctx.fail(lastLine(res.stderr) || `exit status ${res.status}`);
      },
    },
    runtime,
    { ...opts, index: `probe-${runtime.name}` },
  );
  if (r.status !== 'pass') {
    runtime.available = false;
    runtime.reason = r.detail;
  }
}

/**
 * Runs `cases` × `runtimes` with `jobs` at a time. Returns results[caseId][runtimeName].
 * `onResult(case, runtime, result)` is called as each finishes.
 */
async function runAll(cases, runtimes, { jobs = 3, onResult } = {}) {
  sweepStale();
  const runDir = mkdtempSync(`/tmp/${TMP_PREFIX}${process.pid}-`);
  chmodSync(runDir, 0o755); // a container's root in a user namespace must reach the rootfs
  const onSignal = (sig) => {
    process.stderr.write(`\nconformance: ${sig}: cleaning up\n`);
    cleanupAllSync();
    rmSync(runDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const rootfs = runRootfs(runDir);
    for (const rt of runtimes) {
      mkdirSync(join(runDir, rt.name));
      writeFileSync(join(runDir, rt.name, 'RUNTIME'), rt.path);
    }
    for (const rt of runtimes) await probe(rt, { runDir, rootfs });
    const results = {};
    const tasks = [];
    cases.forEach((c, i) => {
      results[c.id] = {};
      for (const rt of runtimes) tasks.push({ c, rt, index: `${runtimes.indexOf(rt)}-${i}` });
    });
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const { c, rt, index } = tasks[next++];
        const r = rt.available ? await runCase(c, rt, { runDir, rootfs, index }) : { status: 'n/a', detail: rt.reason, notes: [], ms: 0, probe: true };
        results[c.id][rt.name] = r;
        onResult?.(c, rt, r);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
    return results;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(runDir, { recursive: true, force: true });
  }
}

module.exports = { describeRuntimes, runAll };
