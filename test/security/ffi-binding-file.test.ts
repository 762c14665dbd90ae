// runt dlopens ffi-rs's binding from `$TMPDIR/.runt-ffi-rs-<hash>.node` (src/sys/binding.ts), a name anyone can
// compute. In a shared /tmp another local user can put something there first: runt, as root, must load no file
// that is not its own and writable by it alone, follow no link there and not hang on a fifo; it writes its own
// binding in the planted thing's place and works. Each case plants in a sticky, world-writable TMPDIR of its own.
import t from 'tap';
import { createHash } from 'node:crypto';
import { chmodSync, lchownSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { canRun, setup } from '../integration/harness';

const skip = canRun();
if (skip) t.plan(0, skip);

const binding = readFileSync(require.resolve('@yuuang/ffi-rs-linux-x64-gnu'));
const NAME = `.runt-ffi-rs-${createHash('sha256').update(binding).digest('hex').slice(0, 16)}.node`;
/** The other local user, who plants: daemon. */
const ATTACKER = 1;
/** What the attacker would have runt load: as long as the binding (its size is public too), no library at all. */
const GARBAGE = Buffer.alloc(binding.length, 0x41);

const plants: Record<string, (path: string, tmp: string) => void> = {
  "another user's file": (path) => {
    writeFileSync(path, GARBAGE, { mode: 0o600 });
    lchownSync(path, ATTACKER, ATTACKER);
  },
  'a file of the caller writable by its group': (path) => {
    writeFileSync(path, GARBAGE);
    chmodSync(path, 0o620);
  },
  "a link, another user's, to a file of the caller": (path, tmp) => {
    const target = join(tmp, 'target');
    writeFileSync(target, GARBAGE, { mode: 0o600 });
    symlinkSync(target, path);
    lchownSync(path, ATTACKER, ATTACKER);
  },
  'a fifo': (path) => {
    spawnSync('mkfifo', ['-m', '666', path]);
  },
  'a file of the caller cut short': (path) => {
    writeFileSync(path, binding.subarray(0, 4096), { mode: 0o600 });
  },
};

for (const [what, plant] of Object.entries(plants)) {
  t.test(`${what} at the binding's name is not loaded: runt writes its own and runs`, async (t) => {
    const env = setup(t);
    const tmp = mkdtempSync(join(env.tmp, 'shared-tmp-'));
    chmodSync(tmp, 0o1777);
    const path = join(tmp, NAME);
    plant(path, tmp);
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    const withTmp = { env: { PATH: process.env.PATH, TMPDIR: tmp } };
    const id = env.id('ffi');
    const create = env.runt(['create', '-b', env.bundle(['sleep', '100']), id], withTmp);
    t.equal(create.status, 0, `create: ${create.stderr.trim() || 'ok'}`);
    const del = env.runt(['delete', '--force', id], withTmp);
    t.equal(del.status, 0, `delete: ${del.stderr.trim() || 'ok'}`);
    const st = lstatSync(path);
    t.ok(st.isFile() && st.uid === 0 && (st.mode & 0o777) === 0o600, "the binding's file is now root's own, 0600");
    t.ok(readFileSync(path).equals(binding), 'and holds the binding');
  });
}

t.test('the binding written once is what later calls load', async (t) => {
  const env = setup(t);
  const tmp = mkdtempSync(join(env.tmp, 'shared-tmp-'));
  chmodSync(tmp, 0o1777);
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const withTmp = { env: { PATH: process.env.PATH, TMPDIR: tmp } };
  const id = env.id('ffi');
  t.equal(env.runt(['create', '-b', env.bundle(['sleep', '100']), id], withTmp).status, 0);
  const first = lstatSync(join(tmp, NAME));
  t.equal(env.runt(['delete', '--force', id], withTmp).status, 0);
  const again = lstatSync(join(tmp, NAME));
  t.equal(again.ino, first.ino, 'the same file: not written again');
});
