// Calls on one container are serialised by an flock on its state dir. A call that waits for the lock while the
// container is deleted, and a new one made under the same id, gets the lock of a dir that is gone: it must
// not act on the new container (whose create, or another call, holds the new dir's lock), but take that
// lock in turn. `kill` of a created or running container and `start` of a created one take no lock
// (src/lifecycle/kill.ts and start.ts say why).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flock, LOCK_EX } from '../../src/sys/native';
import type { Test } from 'tap';
import { canRun, type Env, readState, runningContainer, RUNT } from '../integration/harness';
import { attack } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

/** Takes the flock of a dir, as a runt call under way holds it; closing the fd lets it go. */
function hold(dir: string): number {
  const fd = openSync(dir, 'r');
  flock(fd, LOCK_EX);
  return fd;
}

/** Whether process `pid` waits for an flock on the inode `ino` (a blocked waiter is a "->" line in /proc/locks). */
function waitsFor(pid: number, ino: number): boolean {
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .some((l) => / -> FLOCK /.test(l) && l.includes(` ${pid} `) && l.includes(`:${ino} `));
}

async function until(what: () => boolean, ms = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) if (what()) return true;
  return false;
}

/**
 * A container whose record says its create is under way (`creating`), its lock held as that create holds it;
 * `finish` writes the record a finished create leaves, `lock` is to be closed as the create's end.
 */
function creating(tt: Test, env: Env): { id: string; dir: string; lock: number; finish: () => void } {
  const id = env.id('creating');
  tt.equal(env.runt(['create', '-b', env.bundle(['sleep', '300']), id]).status, 0);
  const dir = join(env.root, id);
  const file = join(dir, 'state.json');
  const record = JSON.parse(readFileSync(file, 'utf8')) as { createdDone: boolean };
  record.createdDone = false;
  writeFileSync(file, JSON.stringify(record));
  const lock = hold(dir);
  return { id, dir, lock, finish: () => writeFileSync(file, JSON.stringify({ ...record, createdDone: true })) };
}

/** `runt args` in the background: its pid and its exit status to come (killed at the test's end). */
function background(tt: Test, env: Env, args: string[]): { pid: number; exited: Promise<number | null> } {
  const child = spawn(RUNT, ['--root', env.root, ...args], { stdio: 'ignore' });
  tt.teardown(() => child.kill('SIGKILL'));
  return { pid: child.pid!, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

t.test('a call that waited for the lock of a deleted dir does not act on the container made in its place', async (t) => {
  const { env } = attack(t);
  const id = env.id('race');
  // the first container goes to a root of its own later (as if deleted); its cgroup has no parent runt made
  const elsewhere = join(env.tmp, 'elsewhere');
  mkdirSync(elsewhere, { mode: 0o700 });
  t.teardown(() => spawnSync(RUNT, ['--root', elsewhere, 'delete', '--force', id]));
  const bundle = (n: string): string =>
    env.bundle(['sleep', '300'], (s) => {
      s.linux!.cgroupsPath = `/runt-race-${process.pid}-${n}`;
    });
  t.equal(env.runt(['create', '-b', bundle('a'), id]).status, 0);
  const dir = join(env.root, id);
  const first = hold(dir);
  const firstIno = statSync(dir).ino;
  const waiter = spawn(RUNT, ['--root', env.root, 'delete', '--force', id], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => waiter.on('exit', (code) => resolve(code)));
  t.teardown(() => waiter.kill('SIGKILL'));
  t.ok(await until(() => waitsFor(waiter.pid!, firstIno)), 'delete waits for the lock');

  // meanwhile the container is deleted and another create of the id makes a new dir, holding its lock
  renameSync(dir, join(elsewhere, id));
  t.equal(env.runt(['create', '-b', bundle('b'), id]).status, 0);
  const second = hold(dir);
  const secondIno = statSync(dir).ino;
  closeSync(first);

  const blocked = await until(() => waiter.exitCode !== null || waitsFor(waiter.pid!, secondIno));
  t.ok(blocked && waiter.exitCode === null, 'delete now waits for the lock of the new dir');
  t.equal(readState(env, id).status, 'created', 'the new container is untouched while its lock is held');
  closeSync(second);
  t.equal(await exited, 0, 'with that lock, delete goes ahead');
  t.notOk(existsSync(dir), 'and deletes the container that is there now');
});

t.test('kill signals a running container without its lock, and waits for it where a create is under way', async (t) => {
  const { env } = attack(t);
  const { id, pid } = runningContainer(env);
  const dir = join(env.root, id);
  const held = hold(dir);
  const r = env.runt(['kill', id, 'KILL']);
  t.equal(r.status, 0, `kill succeeds while another call holds the lock: ${r.stderr}`);
  t.ok(await until(() => readState(env, id).status === 'stopped'), `and its process (${pid}) is gone`);
  closeSync(held);

  // a record that create has not finished (`creating`): kill takes the lock, as every call on it does
  const second = creating(t, env);
  const waiter = background(t, env, ['kill', second.id, 'KILL']);
  t.ok(await until(() => waitsFor(waiter.pid, statSync(second.dir).ino)), 'kill of a creating container waits for the lock');
  closeSync(second.lock);
  t.equal(await waiter.exited, 1, 'and then refuses it: a create that did not finish is no live container');
});

t.test('start releases a created container without its lock, and waits for it where a create is under way', async (t) => {
  const { env } = attack(t);
  const id = env.id('start');
  t.equal(env.runt(['create', '-b', env.bundle(['sleep', '300']), id]).status, 0);
  const dir = join(env.root, id);
  const held = hold(dir);
  const r = env.runt(['start', id]);
  t.equal(r.status, 0, `start succeeds while another call holds the lock: ${r.stderr}`);
  t.equal(readState(env, id).status, 'running');
  closeSync(held);

  // a record that create has not finished (`creating`): start waits for the create's lock, then looks again
  const second = creating(t, env);
  const waiter = background(t, env, ['start', second.id]);
  t.ok(await until(() => waitsFor(waiter.pid, statSync(second.dir).ino)), 'start of a creating container waits for the lock');
  second.finish();
  closeSync(second.lock);
  t.equal(await waiter.exited, 0, 'and then starts it');
  t.equal(readState(env, second.id).status, 'running');
});
