// runt keeps two files in the state root (src/sys/kept.ts): ffi-rs's binding, which it dlopens, and the shim's
// executable, which the kernel copies into the sealed memfd each container's init runs from. Kept in the state
// root, which no one but the caller may write, never in a shared /tmp, where another local user, or a container
// given the host's /tmp, could put a file of the same size under the same name first (a library runt would
// load, an init every container would run). A kept file that is not exactly what runt writes (another mode, a
// link, a fifo, another size) is written again; a root whose filesystem is mounted noexec makes runt load the
// binding from an unnamed file in $TMPDIR instead, and no name there is ever opened.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, REPO, RUNT, setup, spawnCaptured } from '../integration/harness';

const skip = canRun();
if (skip) t.plan(0, skip);

const hash = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
const bindingBytes = readFileSync(require.resolve('@yuuang/ffi-rs-linux-x64-gnu'));
const shimBytes = readFileSync(join(REPO, 'build/runt-shim'));
/** Each kept file: its name in the root and the bytes runt writes there. */
const KEPT = {
  binding: { name: `~ffi-rs-${hash(bindingBytes)}.node`, bytes: bindingBytes },
  shim: { name: `~runt-shim-${hash(shimBytes)}`, bytes: shimBytes },
};

/** A dir to pass as TMPDIR, world-writable and sticky as /tmp. */
function sharedTmp(dir: string): string {
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
}

t.test('the binding and the shim are kept in the state root, written once, and nothing goes to $TMPDIR', async (t) => {
  const env = setup(t);
  const tmp = sharedTmp(join(env.tmp, 'shared-tmp'));
  const withTmp = { env: { PATH: process.env.PATH, TMPDIR: tmp } };
  const id = env.id('kept');
  t.equal(env.runt(['create', '-b', env.bundle(['sleep', '100']), id], withTmp).status, 0);
  const first = Object.values(KEPT).map(({ name, bytes }) => {
    const kept = join(env.root, name);
    const st = lstatSync(kept);
    t.ok(st.isFile() && st.uid === 0 && (st.mode & 0o777) === 0o600 && st.nlink === 1, `${name}: root's own, 0600, one link`);
    t.ok(readFileSync(kept).equals(bytes), `${name}: what runt carries`);
    return st.ino;
  });
  t.equal(env.runt(['delete', '--force', id], withTmp).status, 0);
  t.equal(env.runt(['run', '-b', env.bundle(['true']), id], withTmp).status, 0, 'run with the kept files');
  t.same(
    Object.values(KEPT).map(({ name }) => lstatSync(join(env.root, name)).ino),
    first,
    'the same files for the next calls: not written again',
  );
  t.same(readdirSync(tmp), [], '$TMPDIR untouched');
});

t.test("a kept file written anew replaces other builds' files of the same image, and nothing else", async (t) => {
  const env = setup(t);
  const id = env.id('kept');
  t.equal(env.runt(['run', '-b', env.bundle(['true']), id]).status, 0); // makes the root and the kept files
  const others = ['~runt-shim-0123456789abcdef', '~ffi-rs-0123456789abcdef.node'];
  // not another build's: a writer's temporary file, another extension, not a hash, a container's temporary dir
  const stay = ['~runt-shim-0123456789abcdef.123-x', '~ffi-rs-0123456789abcdef.so', '~runt-shim-0123456789abcdeg', '~runt-shim-c1.Ab3dE6'];
  for (const name of [...others, ...stay.slice(0, 3)]) writeFileSync(join(env.root, name), 'x', { mode: 0o600 });
  mkdirSync(join(env.root, stay[3]!));
  for (const { name } of Object.values(KEPT)) spawnSync('rm', ['-f', join(env.root, name)]);
  t.equal(env.runt(['run', '-b', env.bundle(['true']), id]).status, 0, 'run writes both kept files again');
  const left = readdirSync(env.root);
  t.same(
    others.filter((name) => left.includes(name)),
    [],
    "the other builds' files are gone",
  );
  t.same(
    stay.filter((name) => !left.includes(name)),
    [],
    'the rest stays',
  );
  t.ok(
    Object.values(KEPT).every(({ name }) => left.includes(name)),
    "this build's files are there",
  );
  rmdirSync(join(env.root, stay[3]!)); // no container's: the harness would count it as one left behind
});

/** Ways to put at a kept file's name what runt must not take; `garbage` is as long as the kept file. */
const damaged: Record<string, (path: string, dir: string, garbage: Buffer) => void> = {
  'writable by its group': (path, _dir, garbage) => {
    writeFileSync(path, garbage);
    chmodSync(path, 0o620);
  },
  'of another owner': (path, _dir, garbage) => {
    writeFileSync(path, garbage, { mode: 0o600 });
    chownSync(path, 1, 1);
  },
  'a second link of another file': (path, dir, garbage) => {
    writeFileSync(join(dir, 'other'), garbage, { mode: 0o600 });
    linkSync(join(dir, 'other'), path);
  },
  'a symbolic link': (path, dir, garbage) => {
    writeFileSync(join(dir, 'target'), garbage, { mode: 0o600 });
    symlinkSync(join(dir, 'target'), path);
  },
  'a fifo': (path) => {
    spawnSync('mkfifo', ['-m', '600', path]);
  },
  'cut short': (path, _dir, garbage) => {
    writeFileSync(path, garbage.subarray(0, 4096), { mode: 0o600 });
  },
};

for (const [which, { name, bytes }] of Object.entries(KEPT)) {
  for (const [what, plant] of Object.entries(damaged)) {
    t.test(`a kept ${which} file ${what} is not used: runt writes it again and runs`, async (t) => {
      const env = setup(t);
      const id = env.id('kept');
      t.equal(env.runt(['run', '-b', env.bundle(['true']), id]).status, 0); // makes the root
      const path = join(env.root, name);
      spawnSync('rm', ['-f', path]);
      plant(path, env.tmp, Buffer.alloc(bytes.length, 0x41));
      const run = env.runt(['run', '-b', env.bundle(['sh', '-c', 'echo ran']), id]);
      t.equal(run.status, 0, `run: ${run.stderr.trim() || 'ok'}`);
      t.equal(run.stdout, 'ran\n', "the container's program ran");
      const st = lstatSync(path);
      t.ok(st.isFile() && st.uid === 0 && (st.mode & 0o777) === 0o600 && st.nlink === 1, "the kept file is root's own, 0600, one link");
      t.ok(readFileSync(path).equals(bytes), `and holds the ${which}`);
    });
  }
}

t.test('a state root mounted noexec: the binding is loaded from an unnamed file, no name in $TMPDIR is opened', async (t) => {
  const env = setup(t);
  const root = join(env.tmp, 'noexec-root');
  mkdirSync(root, { mode: 0o700 });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'noexec,mode=700,size=8m', 'runt-test-noexec', root]).status !== 0) {
    t.fail('cannot mount a tmpfs here');
    return;
  }
  const id = env.id('kept');
  t.teardown(() => {
    spawnSync(RUNT, ['--root', root, 'delete', '--force', id]);
    spawnSync('umount', [root]);
  });
  // what another user put in the shared /tmp first: a file at the kept name and at Bun's old one
  const tmp = sharedTmp(join(env.tmp, 'shared-tmp'));
  for (const name of [KEPT.binding.name, '.bun-0-8f8eec42d74a248d.node']) {
    writeFileSync(join(tmp, name), Buffer.alloc(bindingBytes.length, 0x41), { mode: 0o600 });
    chownSync(join(tmp, name), 1, 1);
  }
  const before = readdirSync(tmp).sort();
  const runt = (args: string[]) => spawnCaptured(env.tmp, RUNT, ['--root', root, ...args], { env: { PATH: process.env.PATH, TMPDIR: tmp } });
  const create = runt(['create', '-b', env.bundle(['sleep', '100']), id]);
  t.equal(create.status, 0, `create: ${create.stderr.trim() || 'ok'}`);
  const del = runt(['delete', '--force', id]);
  t.equal(del.status, 0, `delete: ${del.stderr.trim() || 'ok'}`);
  t.same(readdirSync(tmp).sort(), before, '$TMPDIR holds what it held: the planted files, nothing of runt');
  // the binding is written there too (nothing tells runt the root is noexec before a dlopen fails), but not loaded
  t.same(
    readdirSync(root).sort(),
    [KEPT.binding.name, KEPT.shim.name].sort(),
    'the shim kept in the noexec root: the kernel copies it into a memfd, which runs',
  );
});
