// Issue 9: a bind mount's flags applied by a second call that looks its target up again by path (runc's
// remount after MS_BIND, before reopenAfterMount): a process that can write the rootfs (another container on
// the same volume, a shared image dir) swaps directories between the two lookups, the read-only remount lands
// on another mount, and the bind of a host dir stays writable. runt binds a detached clone of the source whose
// flags are set before it is attached (open_tree, mount_setattr, move_mount): nothing is looked up twice.
// Without that API (a seccomp filter makes it ENOSYS here) the new mount is opened again by the path its
// target has now and must be there and be another mount, as runc's reopenAfterMount: a swap fails the create.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, fixture, RUNT, spawnCaptured, startListener } from '../integration/harness';
import { attack } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

const RUNS = 40;

for (const api of ['new mount API', 'path-based, with the identity check'])
  t.test(`directories swapped while a read-only bind of a host dir is made (${api}): it is never writable inside`, async (t) => {
    const a = attack(t);
    const { env, victim } = a;
    const rootfs = a.rootfs();
    for (const d of ['a/x', 'b/x']) mkdirSync(join(rootfs, d), { recursive: true });
    // a tmpfs on one of the two dirs, the read-only bind on the other: a remount by path that meets the swap
    // makes the tmpfs read-only instead
    const bundle = env.bundle(['sh', '-c', 'for d in /a/x /b/x; do echo pwned > $d/pwned 2>/dev/null; done; true'], (s) => {
      s.root = { path: rootfs, readonly: true };
      s.mounts!.push({ destination: '/b/x', type: 'tmpfs', source: 'tmpfs' }, { destination: '/a/x', type: 'bind', source: victim, options: ['bind', 'ro'] });
    });
    const wrap = api.startsWith('path') ? fixture(t, env, 'no-new-mount-api') : undefined;
    await startListener(t, env, 'exchange', [join(rootfs, 'a'), join(rootfs, 'b')]);
    let ran = 0;
    const refusals = new Set<string>();
    for (let i = 0; i < RUNS && !existsSync(join(victim, 'pwned')); i++) {
      const argv = ['--root', env.root, 'run', '-b', bundle, env.id('race')];
      const r = wrap ? spawnCaptured(env.tmp, wrap, [RUNT, ...argv]) : env.runt(argv.slice(2));
      if (r.status === 0) ran++;
      else refusals.add(r.stderr.replace(/\/tmp\S*/g, 'PATH').trim());
    }
    t.ok(ran > 0, `containers ran (${ran} of ${RUNS}); failures: ${[...refusals].join(' | ') || 'none'}`);
    t.same(readdirSync(victim), [], 'the host dir behind the read-only bind was never written');
    a.hostUntouched();
  });
