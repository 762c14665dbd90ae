// The project's shell scripts, run against stub commands (apt-get, dpkg, npm) first in PATH: scripts/apt-get.sh
// waits for another apt instead of failing, and .ci/run keeps its log in a private temp file it removes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');
const LOCKED = 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)\nE: Unable to lock directory /var/lib/apt/lists/';

/** A temp dir with a bin/ of stub commands (name → shell body) and a calls log they can append to. */
function stubs(tt: { teardown(fn: () => void): void }, commands: Record<string, string>): { dir: string; env: NodeJS.ProcessEnv; calls(): string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'runt-scripts-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'tmp'));
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(join(dir, 'bin', name), `#!/bin/sh\necho "${name} $*" >> "${dir}/calls"\n${body}\n`);
    chmodSync(join(dir, 'bin', name), 0o755);
  }
  const calls = (): string[] => {
    try {
      return readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { dir, env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, TMPDIR: join(dir, 'tmp') }, calls };
}

t.test('scripts/apt-get.sh: waits while another apt holds the lists lock, with the dpkg lock timeout set', async (t) => {
  // the lists lock is held for the first two tries
  const s = stubs(t, { 'apt-get': `[ "$(grep -c '^apt-get' "${'$'}{0%/bin/*}/calls")" -le 2 ] && { printf '%s\\n' '${LOCKED}' >&2; exit 100; }\nexit 0` });
  const r = spawnSync(join(REPO, 'scripts/apt-get.sh'), ['update', '-qq'], { encoding: 'utf8', env: s.env });
  t.equal(r.status, 0, r.stderr);
  t.same(s.calls(), Array(3).fill('apt-get -o DPkg::Lock::Timeout=600 update -qq'), 'tried again until the lock was free');
  t.equal(r.stderr, '', "the failed tries' messages are not shown");
  t.same(readdirSync(join(s.dir, 'tmp')), [], 'its temp file is removed');
});

t.test("scripts/apt-get.sh: any other failure is apt-get's status and message, at once", async (t) => {
  const s = stubs(t, { 'apt-get': "echo 'E: Unable to locate package nosuch' >&2; exit 100" });
  const r = spawnSync(join(REPO, 'scripts/apt-get.sh'), ['install', '-y', 'nosuch'], { encoding: 'utf8', env: s.env });
  t.same([r.status, r.stderr], [100, 'E: Unable to locate package nosuch\n']);
  t.same(s.calls(), ['apt-get -o DPkg::Lock::Timeout=600 install -y nosuch']);
});

t.test('.ci/run: apt through scripts/apt-get.sh; the test log is a private temp file, removed at exit', async (t) => {
  // dpkg says nothing is installed; `npm test` prints a tap summary; tee is the real one, its file argument noted
  const s = stubs(t, {
    dpkg: 'exit 1',
    'apt-get': 'exit 0',
    npm: `[ "$1" = test ] && { echo '# { total: 3, pass: 2, fail: 1 }'; exit 1; }\nexit 0`,
    tee: `exec ${spawnSync('sh', ['-c', 'command -v tee'], { encoding: 'utf8' }).stdout.trim()} "$@"`,
  });
  const r = spawnSync(join(REPO, '.ci/run'), [], { encoding: 'utf8', env: s.env });
  t.equal(r.status, 1, `the tests' status (${r.stderr})`);
  t.match(r.stdout, /\n2 passed, 1 failed, 0 skipped\n$/);
  t.match(
    s.calls().filter((c) => c.startsWith('tee')),
    [new RegExp(`^tee ${join(s.dir, 'tmp')}/runt-ci-test\\.\\w{6}$`)],
    'the log is a file made in $TMPDIR',
  );
  t.same(readdirSync(join(s.dir, 'tmp')), [], 'removed at exit');
  t.match(
    s.calls().filter((c) => c.startsWith('apt-get')),
    [/^apt-get -o DPkg::Lock::Timeout=600 update -qq$/, /^apt-get -o DPkg::Lock::Timeout=600 install -y -qq build-essential /],
  );
});
