'use strict';
// What a case gets: its runtime with a state root of its own, bundles, the checker, assertions; and what it
// leaves: nothing. cleanup() deletes (--force) every container in the case's root, removes every cgroup its
// configs named and every helper process it started, then its temp dir; cleanupSync() does the same from
// a signal handler.
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { baseConfig } = require('./config.cjs');
const { removeCgroup } = require('./cgroups.cjs');
const { parseFacts } = require('./fixtures.cjs');
const { call, lastLine, sleep } = require('./proc.cjs');

/** An assertion about the runtime failed: the case fails with this message. */
class CaseFailure extends Error {}
/** The case cannot say anything about this runtime on this host. */
class NotApplicable extends Error {}

const live = new Set();

class Context {
  constructor({ runtime, dir, rootfs, cgroupPrefix }) {
    this.runtime = runtime;
    this.dir = dir;
    this.root = join(dir, 'state');
    this.rootfs = rootfs;
    this.cgroupPrefix = cgroupPrefix;
    this.cgroups = [];
    this.helpers = [];
    this.notes = [];
    this.ids = new Set();
    this.seq = 0;
    this.closed = false;
    mkdirSync(dir, { recursive: true });
    live.add(this);
  }

  // ---- the runtime

  /**
   * Calls the runtime with this case's --root; never throws for a non-zero exit. Its environment is PATH and
   * CONFORMANCE_LEAK (which no hook or container may see); { oomScoreAdj } starts it with that score.
   */
  call(args, { oomScoreAdj, ...opts } = {}) {
    if (this.closed) return Promise.reject(new Error('case already cleaned up'));
    const argv = [this.runtime.path, '--root', this.root, ...args];
    const env = { PATH: process.env.PATH, CONFORMANCE_LEAK: 'from-the-runtime-environment' };
    if (oomScoreAdj === undefined) return call(argv[0], argv.slice(1), { dir: this.dir, env, ...opts });
    const script = `echo ${oomScoreAdj} > /proc/self/oom_score_adj && exec "$@"`;
    return call('/bin/sh', ['-c', script, 'sh', ...argv], { dir: this.dir, env, ...opts });
  }

  /** A container id, deleted in cleanup. */
  id(name = 'c') {
    const id = `${name}${this.seq++}`;
    this.ids.add(id);
    return id;
  }

  /** A cgroup path of this case's own (removed in cleanup). */
  cgroupPath(name = 'cg') {
    const path = `${this.cgroupPrefix}-${name}${this.seq++}`;
    this.cgroups.push(path);
    return path;
  }

  /**
   * A bundle running `args`: the base config edited by `edit(config, bundle)`. Returns
   * { dir, out, config } with `out` the host dir bound at /out.
   */
  bundle(args, edit) {
    const n = this.seq++;
    const dir = join(this.dir, `bundle${n}`);
    const out = join(this.dir, `out${n}`);
    mkdirSync(dir);
    mkdirSync(out, { mode: 0o777 });
    const config = baseConfig({ rootfs: this.rootfs, out, cgroupsPath: this.cgroupPath(), args });
    const b = { dir, out, config };
    edit?.(config, b);
    this.writeConfig(b);
    return b;
  }

  writeConfig(b) {
    writeFileSync(join(b.dir, 'config.json'), JSON.stringify(b.config, null, 2));
  }

  /** `create`; asserts success unless { expectError: true }. The container's stdout goes to b.out/../stdoutN. */
  async create(id, b, { expectError = false } = {}) {
    const r = await this.call(['create', '--bundle', b.dir, id], { stdoutFile: join(this.dir, `${id}.stdout`) });
    if (!expectError && r.status !== 0) this.fail(`create ${id} failed: ${lastLine(r.stderr) || `exit ${r.status}`}`);
    return r;
  }

  async start(id) {
    const r = await this.call(['start', id]);
    if (r.status !== 0) this.fail(`start ${id} failed: ${lastLine(r.stderr) || `exit ${r.status}`}`);
    return r;
  }

  /** The parsed state, or null when `state` fails. */
  async state(id) {
    const r = await this.call(['state', id]);
    if (r.status !== 0) return null;
    try {
      return JSON.parse(r.stdout);
    } catch {
      this.fail(`state ${id}: not JSON: ${r.stdout.slice(0, 200)}`);
    }
  }

  async mustState(id) {
    const s = await this.state(id);
    if (!s) this.fail(`state ${id} failed`);
    return s;
  }

  /** Polls `state` until its status is `status`. */
  async waitStatus(id, status, ms = 10_000) {
    const deadline = Date.now() + ms;
    let last;
    while (Date.now() < deadline) {
      last = await this.state(id);
      if (last?.status === status) return last;
      await sleep(50);
    }
    this.fail(`status of ${id} never became "${status}" (last: ${last ? last.status : 'state failed'})`);
  }

  /** `run` in the foreground: the container's stdout is returned, its exit status is the call's. */
  run(b, id = this.id('r')) {
    return this.call(['run', '--bundle', b.dir, id], { stdoutFile: join(this.dir, `${id}.stdout`) });
  }

  /** Runs the checker with `queries` in a container made from the base config edited by `edit`. */
  async check(queries, edit) {
    const b = this.bundle(['/checker', ...queries], edit);
    return this.checkBundle(b);
  }

  async checkBundle(b) {
    const r = await this.run(b);
    if (r.status !== 0) this.fail(`run failed (exit ${r.status ?? r.signal}): ${lastLine(r.stderr)}`);
    return parseFacts(r.stdout);
  }

  // ---- helpers outside the runtime

  /** Starts a helper process on the host (killed in cleanup); resolves its pid once it runs. */
  helper(cmd, args) {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    this.helpers.push(child);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid));
    });
  }

  // ---- assertions

  fail(message) {
    throw new CaseFailure(message);
  }

  ok(cond, message) {
    if (!cond) this.fail(message);
  }

  equal(actual, expected, what) {
    if (actual !== expected) this.fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }

  /** Asserts a runtime call failed (non-zero exit) — the spec's "MUST generate an error". */
  errored(r, what) {
    if (r.status === 0) this.fail(`${what}: expected an error, the runtime exited 0`);
  }

  /** Asserts create refuses the base config edited by `edit` (running `args`); returns { b, id }. */
  async createFails(edit, what, args = ['/bin/true']) {
    const b = this.bundle(args, edit);
    const id = this.id();
    this.errored(await this.create(id, b, { expectError: true }), what);
    return { b, id };
  }

  na(reason) {
    throw new NotApplicable(reason);
  }

  /** A remark shown in the report even when the case passes. */
  note(text) {
    this.notes.push(text);
  }

  // ---- cleanup

  async cleanup() {
    this.closed = true;
    const ids = this.containerIds();
    for (const id of ids) await call(this.runtime.path, ['--root', this.root, 'delete', '--force', id], { dir: this.dir, timeoutMs: 20_000 }).catch(() => {});
    this.finish();
  }

  cleanupSync() {
    this.closed = true;
    for (const id of this.containerIds()) spawnSync(this.runtime.path, ['--root', this.root, 'delete', '--force', id], { stdio: 'ignore', timeout: 20_000 });
    this.finish();
  }

  containerIds() {
    const ids = new Set(this.ids);
    if (existsSync(this.root)) for (const e of readdirSync(this.root)) if (!e.startsWith('.')) ids.add(e);
    return ids;
  }

  finish() {
    for (const child of this.helpers) child.kill('SIGKILL');
    for (const path of this.cgroups.reverse()) removeCgroup(path);
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

/** Cleans up every case still running (Ctrl-C). */
function cleanupAllSync() {
  for (const ctx of [...live]) {
    try {
      ctx.cleanupSync();
    } catch (e) {
      process.stderr.write(`conformance: cleanup of ${ctx.dir}: ${e.message}\n`);
    }
  }
}

module.exports = { Context, CaseFailure, NotApplicable, cleanupAllSync };
