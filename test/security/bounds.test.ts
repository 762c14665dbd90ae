// What a caller or a config controls has bounds runt states: an id too long for the state root is a clear
// error (not a raw ENAMETOOLONG half-way through create), and a hook that writes without end costs runt
// bounded memory (only the end of its output is kept for the error message).
import t from 'tap';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, RUNT, spawnCaptured } from '../integration/harness';
import { attack, refused } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('ids too long for a file name, or for the state root, are refused by name', async (t) => {
  const { env } = attack(t);
  const bundle = env.bundle(['true']);
  const long = 'x'.repeat(300);
  for (const command of [['create', '-b', bundle], ['run', '-b', bundle], ['state'], ['delete', '--force']]) {
    refused(t, env.runt([...command, long]), /^runt: invalid container id: 300 characters long, at most 247 are allowed\n$/);
  }
  t.equal(env.runt(['create', '-b', bundle, env.id('y'.repeat(230))]).status, 0, 'a long id that fits is fine');
  // a state root 3900 bytes deep: an id of 200 characters fits a file name but not PATH_MAX below it
  let deep = join(env.tmp, 'deep');
  while (deep.length < 3900) deep = join(deep, 'd'.repeat(200));
  mkdirSync(deep, { recursive: true });
  const r = spawnCaptured(env.tmp, RUNT, ['--root', deep, 'create', '-b', bundle, 'z'.repeat(200)]);
  refused(t, r, /^runt: container id too long for the state root \/.*: its paths would pass 4096 bytes \(PATH_MAX\)\n$/);
  t.same(readdirSync(deep), [], 'nothing was made in that root');
});

t.test('a hook that writes 200 MB: runt keeps the end of it, its memory stays bounded', async (t) => {
  const { env } = attack(t);
  // the reason comes a moment after the flood: stdout and stderr are two pipes, which keep no order between them
  const hook = 'head -c 200000000 /dev/zero | tr "\\0" x; echo; sleep 0.1; echo "the reason it failed" >&2; exit 3';
  const bundle = env.bundle(['true'], (s) => {
    s.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', hook] }] };
  });
  const r = spawnCaptured(env.tmp, '/usr/bin/time', ['-q', '-f', 'maxrss %M', RUNT, '--root', env.root, 'create', '-b', bundle, env.id('hook')]);
  const [message, rss] = r.stderr.split(/\n(?=maxrss \d+\n$)/);
  t.equal(r.status, 1, 'create fails');
  t.ok(message!.length < 10_000, `the message is bounded (${message!.length} characters)`);
  // (a message of 200 MB is not shown: comparing it would take the test's time)
  t.match(
    message!.length < 10_000 ? message : `${message!.length} characters`,
    /^runt: hooks\.createRuntime\[0\] \(\/bin\/sh\): exited with status 3: \[\d+ bytes of output before this cut\] x+\nthe reason it failed$/,
  );
  const kb = Number(/maxrss (\d+)/.exec(rss ?? '')?.[1]);
  t.ok(kb > 0 && kb < 120_000, `runt's peak RSS stays small: ${kb} KiB`);
});
