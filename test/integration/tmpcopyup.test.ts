// tmpcopyup: a tmpfs mount over a directory of the rootfs starts with what that directory held (podman's
// --read-only mounts /tmp, /run... so), copied by the shim through fds, never following a symlink.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, rootfs, setup } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test("a tmpfs with tmpcopyup over /etc: the rootfs's files, dirs and links with their modes, owners, times", async (t) => {
  const env = setup(t);
  const root = join(env.tmp, 'rootfs');
  t.equal(spawnSync('cp', ['-a', rootfs(), root]).status, 0);
  const etc = join(root, 'etc');
  mkdirSync(join(etc, 'sub'), { mode: 0o751 });
  writeFileSync(join(etc, 'sub/file'), 'deep\n', { mode: 0o604 }); // the process is root without CAP_DAC_OVERRIDE
  chownSync(join(etc, 'sub/file'), 1000, 1001);
  chownSync(join(etc, 'sub'), 1000, 1001);
  utimesSync(join(etc, 'sub/file'), 1_000_000_000, 1_000_000_000);
  utimesSync(join(etc, 'sub'), 1_100_000_000, 1_100_000_000);
  symlinkSync('passwd', join(etc, 'link'));
  symlinkSync(join(env.tmp, 'host'), join(etc, 'hostlink')); // copied as a link, never followed
  t.equal(spawnSync('mkfifo', [join(etc, 'fifo')]).status, 0);
  const script = [
    'grep -c "^root:" /etc/passwd',
    'stat -c "%n %a %u %g %Y %F" /etc/sub /etc/sub/file',
    'cat /etc/sub/file',
    'readlink /etc/link; readlink /etc/hostlink',
    '[ -e /etc/fifo ] || echo "no fifo"',
    'touch /etc/new && echo writable',
    'grep " /etc " /proc/self/mounts | cut -d" " -f3',
  ].join('; ');
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['sh', '-c', script], (s) => {
      s.root = { path: root, readonly: true };
      s.mounts!.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'tmpcopyup', 'mode=755'] });
    }),
    env.id('copyup'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      '1',
      '/etc/sub 751 1000 1001 1100000000 directory',
      '/etc/sub/file 604 1000 1001 1000000000 regular file',
      'deep',
      'passwd',
      join(env.tmp, 'host'),
      'no fifo',
      'writable',
      'tmpfs',
      '',
    ].join('\n'),
  );
  t.notOk(existsSync(join(etc, 'new')), "the rootfs's /etc is unchanged below the tmpfs");
  t.notOk(existsSync(join(env.tmp, 'host')), 'the link was not followed');
});
