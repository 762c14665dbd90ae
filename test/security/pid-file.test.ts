// --pid-file is written atomically through a temporary file next to it. When that file's name could be
// guessed (it was `<pid-file>.<runt's pid>.tmp`), whoever may write in the pid file's directory could plant a
// symlink there and have runt, as root, write through it to any file. The temporary file now has a random
// name and is opened with O_EXCL | O_NOFOLLOW.
import t from 'tap';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, RUNT, spawnCaptured } from '../integration/harness';
import { attack } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('a symlink planted at the temporary name of the pid file leads nowhere', async (t) => {
  const a = attack(t, (victim) => writeFileSync(join(victim, 'precious'), 'what the host keeps here\n'));
  const { env } = a;
  const shared = join(env.tmp, 'shared');
  mkdirSync(shared, { mode: 0o1777 });
  const pidFile = join(shared, 'pid');
  // runt runs as pid 2 of a pid namespace of its own (after the shell, pid 1), so its pid is known in
  // advance; the attacker plants the link at the name runt would have used, and at a few more for good measure
  for (const pid of [2, 3, 4]) symlinkSync(join(a.victim, 'precious'), `${pidFile}.${pid}.tmp`);
  const id = env.id('pidfile');
  const r = spawnCaptured(env.tmp, 'unshare', [
    '--pid',
    '--fork',
    '--mount-proc',
    'sh',
    '-c',
    '"$@"; echo "runt exited $?"',
    'sh',
    RUNT,
    '--root',
    env.root,
    'run',
    '--pid-file',
    pidFile,
    '-b',
    env.bundle(['true']),
    id,
  ]);
  t.equal(r.stdout, 'runt exited 0\n', r.stderr);
  t.match(readFileSync(pidFile, 'utf8'), /^\d+$/, 'the pid file holds a pid');
  a.hostUntouched();
});
