// The README's set-up block, run as a reader runs it, twice in a row: the second run must work as the first
// (apt-get and npm are stubs here: the packages are installed and build/runt is built; the bundle dir and the
// container id are the test's own instead of /tmp/bb and demo).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, forgetRuntRoot, REPO, RUNT } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('the set-up block is safe to run again', async (t) => {
  const tmp = mkdtempSync(`/tmp/runt-it-${process.pid}-readme-`);
  const id = `readme-${process.pid}`;
  t.teardown(() => {
    spawnSync(RUNT, ['delete', '--force', id], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
    forgetRuntRoot('/run/runt'); // the block runs runt as a reader does, with its default root
  });
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = /## Set up[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md: no sh block under "## Set up"');
  const script = block.replaceAll('/tmp/bb', join(tmp, 'bb')).replace(/ run demo\)/, ` run ${id})`);
  t.not(script, block, 'the block names /tmp/bb and demo');
  mkdirSync(join(tmp, 'bin'));
  for (const stub of ['apt-get', 'npm']) {
    writeFileSync(join(tmp, 'bin', stub), `#!/bin/sh\necho "${stub} $*" >> ${tmp}/calls\n`);
    chmodSync(join(tmp, 'bin', stub), 0o755);
  }
  for (const round of ['first', 'second']) {
    const r = spawnSync('bash', ['--norc', '-c', script], {
      cwd: REPO,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: `${join(tmp, 'bin')}:${process.env.PATH}` },
      timeout: 60_000,
    });
    t.equal(r.status, 0, `${round} run: ${r.stderr}`);
    t.match(r.stdout, /^hello from runt\n/, `${round} run: the container ran`);
  }
  t.match(
    readFileSync(join(tmp, 'calls'), 'utf8'),
    /^apt-get -o DPkg::Lock::Timeout=600 update\napt-get -o DPkg::Lock::Timeout=600 install -y /,
    'apt-get waits for another apt',
  );
});
