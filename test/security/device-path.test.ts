// linux.devices[].path must name a node under /dev. A path that only starts with "/dev/" (as in
// "/dev/../etc/evil") made the node anywhere in the rootfs: a block device of the host's disk in the
// container's /etc, or over a program the container runs. The path is cleaned lexically and must stay under /dev.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { canRun } from '../integration/harness';
import { attack, refused } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('a device path that climbs out of /dev is refused; no node is made', async (t) => {
  const a = attack(t);
  const { env } = a;
  const rootfs = a.rootfs();
  for (const path of ['/dev/../etc/evil', '/dev/./../bin/evil', '/dev/x/../../evil']) {
    const id = env.id('devpath');
    const r = env.runt([
      'run',
      '-b',
      env.bundle(['true'], (s) => {
        s.root = { path: rootfs, readonly: false };
        s.linux!.devices = [{ path, type: 'c', major: 1, minor: 1 }]; // /dev/mem
      }),
      id,
    ]);
    refused(t, r, new RegExp(`^runt: linux\\.devices\\[0\\]\\.path: "${path.replace(/\./g, '\\.')}" is not under /dev\\n$`));
    t.notOk(existsSync(join(rootfs, posix.normalize(path))), `${path}: no node at ${posix.normalize(path)} in the rootfs`);
  }
  a.hostUntouched();
});
