// runt dlopens ffi-rs's binding from a file it writes (src/sys/binding.ts): kept in the state root, which no one
// but the caller may write, never in a shared /tmp, where another local user, or a container given the host's
// /tmp, could put a library of the same size under the same name first. A kept file that is not exactly what
// runt writes (another mode, a link, a fifo, another size) is written again; a root whose filesystem is mounted
// noexec makes runt load the binding from an unnamed file in $TMPDIR instead, and no name there is ever opened.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, RUNT, setup, spawnCaptured } from '../integration/harness';

const skip = canRun();
if (skip) t.plan(0, skip);

const binding = readFileSync(require.resolve('@yuuang/ffi-rs-linux-x64-gnu'));
const NAME = `~ffi-rs-${createHash('sha256').update(binding).digest('hex').slice(0, 16)}.node`;
/** Not a library: what a planted file holds, as long as the binding. */
const GARBAGE = Buffer.alloc(binding.length, 0x41);

/** A dir to pass as TMPDIR, world-writable and sticky as /tmp. */
function sharedTmp(dir: string): string {
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
}

t.test('the binding is kept in the state root, written once, and nothing goes to $TMPDIR', async (t) => {
  const env = setup(t);
  const tmp = sharedTmp(join(env.tmp, 'shared-tmp'));
  const withTmp = { env: { PATH: process.env.PATH, TMPDIR: tmp } };
  const id = env.id('ffi');
  t.equal(env.runt(['create', '-b', env.bundle(['sleep', '100']), id], withTmp).status, 0);
  const kept = join(env.root, NAME);
  const first = lstatSync(kept);
  t.ok(first.isFile() && first.uid === 0 && (first.mode & 0o777) === 0o600 && first.nlink === 1, "root's own, 0600, one link");
  t.ok(readFileSync(kept).equals(binding), 'the binding');
  t.equal(env.runt(['delete', '--force', id], withTmp).status, 0);
  t.equal(lstatSync(kept).ino, first.ino, 'the same file for the next call: not written again');
  t.same(readdirSync(tmp), [], '$TMPDIR untouched');
});

const damaged: Record<string, (path: string, dir: string) => void> = {
  'writable by its group': (path) => {
    writeFileSync(path, GARBAGE);
    chmodSync(path, 0o620);
  },
  'of another owner': (path) => {
    writeFileSync(path, GARBAGE, { mode: 0o600 });
    chownSync(path, 1, 1);
  },
  'a second link of another file': (path, dir) => {
    writeFileSync(join(dir, 'other'), GARBAGE, { mode: 0o600 });
    linkSync(join(dir, 'other'), path);
  },
  'a symbolic link': (path, dir) => {
    writeFileSync(join(dir, 'target'), GARBAGE, { mode: 0o600 });
    symlinkSync(join(dir, 'target'), path);
  },
  'a fifo': (path) => {
    spawnSync('mkfifo', ['-m', '600', path]);
  },
  'cut short': (path) => {
    writeFileSync(path, binding.subarray(0, 4096), { mode: 0o600 });
  },
};

for (const [what, plant] of Object.entries(damaged)) {
  t.test(`a kept file ${what} is not loaded: runt writes the binding again and runs`, async (t) => {
    const env = setup(t);
    const id = env.id('ffi');
    const bundle = env.bundle(['sleep', '100']);
    t.equal(env.runt(['create', '-b', bundle, id]).status, 0); // makes the root
    t.equal(env.runt(['delete', '--force', id]).status, 0);
    const path = join(env.root, NAME);
    spawnSync('rm', ['-f', path]);
    plant(path, env.tmp);
    const create = env.runt(['create', '-b', bundle, id]);
    t.equal(create.status, 0, `create: ${create.stderr.trim() || 'ok'}`);
    t.equal(env.runt(['delete', '--force', id]).status, 0);
    const st = lstatSync(path);
    t.ok(st.isFile() && st.uid === 0 && (st.mode & 0o777) === 0o600 && st.nlink === 1, "the kept file is root's own, 0600, one link");
    t.ok(readFileSync(path).equals(binding), 'and holds the binding');
  });
}

t.test('a state root mounted noexec: the binding is loaded from an unnamed file, no name in $TMPDIR is opened', async (t) => {
  const env = setup(t);
  const root = join(env.tmp, 'noexec-root');
  mkdirSync(root, { mode: 0o700 });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'noexec,mode=700,size=8m', 'runt-test-noexec', root]).status !== 0) {
    t.fail('cannot mount a tmpfs here');
    return;
  }
  const id = env.id('ffi');
  t.teardown(() => {
    spawnSync(RUNT, ['--root', root, 'delete', '--force', id]);
    spawnSync('umount', [root]);
  });
  // what another user put in the shared /tmp first: a file at the kept name and at Bun's old one
  const tmp = sharedTmp(join(env.tmp, 'shared-tmp'));
  for (const name of [NAME, '.bun-0-8f8eec42d74a248d.node']) {
    writeFileSync(join(tmp, name), GARBAGE, { mode: 0o600 });
    chownSync(join(tmp, name), 1, 1);
  }
  const before = readdirSync(tmp).sort();
  const runt = (args: string[]) => spawnCaptured(env.tmp, RUNT, ['--root', root, ...args], { env: { PATH: process.env.PATH, TMPDIR: tmp } });
  const create = runt(['create', '-b', env.bundle(['sleep', '100']), id]);
  t.equal(create.status, 0, `create: ${create.stderr.trim() || 'ok'}`);
  const del = runt(['delete', '--force', id]);
  t.equal(del.status, 0, `delete: ${del.stderr.trim() || 'ok'}`);
  t.same(readdirSync(tmp).sort(), before, '$TMPDIR holds what it held: the planted files, nothing of runt');
});
