// Mounts over /proc's files (runc's checkProcMount): a config's mount whose target is in /proc, written so or
// reached through a symlink of the image (a volume at /vol where the image's /vol leads into /proc), would
// replace what the kernel shows there with a file of the host's choosing or the image's: a fake sysctl, a
// /proc/self/attr file, a cover over a masked path. runt refuses the destination as written (the runtime) and
// as resolved in the rootfs (the shim), except /proc itself for a procfs and the files lxcfs emulates.
import t from 'tap';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun } from '../integration/harness';
import { attack, refused } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test("a volume whose target the image links into /proc: refused, /proc shows the kernel's file", async (t) => {
  const a = attack(t, (v) => writeFileSync(join(v, 'core_pattern'), '|/tmp/evil\n'));
  const { env, victim } = a;
  const rootfs = a.rootfs();
  symlinkSync('/proc/sys/kernel', join(rootfs, 'vol'));
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['cat', '/proc/sys/kernel/core_pattern'], (s) => {
      s.root = { path: rootfs, readonly: true };
      s.mounts!.push({ destination: '/vol/core_pattern', type: 'bind', source: join(victim, 'core_pattern'), options: ['bind', 'ro'] });
    }),
    env.id('procvol'),
  ]);
  refused(t, r, /^runt: mounts\[\d+\]: mount target \/vol\/core_pattern: "\/proc\/sys\/kernel\/core_pattern" cannot be mounted because it is inside \/proc/);
  t.notMatch(r.stdout, /evil/, 'the container never read the planted file as a proc file');
  a.hostUntouched();
});

t.test("destinations in /proc as written: refused naming the field, but /proc for a procfs and lxcfs's files", async (t) => {
  const a = attack(t, (v) => writeFileSync(join(v, 'cpuinfo'), 'fake cpuinfo\n'));
  const { env, victim } = a;
  const run = (mount: object, args = ['true']) =>
    env.runt([
      'run',
      '-b',
      env.bundle(args, (s) => {
        s.mounts!.push(mount as never);
      }),
      env.id('procdest'),
    ]);
  refused(
    t,
    run({ destination: '/proc/sys/kernel/hostname', type: 'bind', source: join(victim, 'cpuinfo'), options: ['bind'] }),
    /^runt: mounts\[\d+\]\.destination: "\/proc\/sys\/kernel\/hostname" cannot be mounted because it is inside \/proc/,
  );
  refused(
    t,
    run({ destination: '/proc/', type: 'tmpfs', source: 'tmpfs' }),
    /^runt: mounts\[\d+\]\.destination: "\/proc" cannot be mounted because it is not of type proc/,
  );
  const lxcfs = run({ destination: '/proc/cpuinfo', type: 'bind', source: join(victim, 'cpuinfo'), options: ['bind', 'ro'] }, ['cat', '/proc/cpuinfo']);
  t.equal(lxcfs.status, 0, lxcfs.stderr);
  t.equal(lxcfs.stdout, 'fake cpuinfo\n', 'a file lxcfs emulates may be covered');
  const hostProc = run({ destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] }, ['sh', '-c', 'test -e /proc/1/status && echo procfs']);
  t.equal(hostProc.status, 0, hostProc.stderr);
  t.equal(hostProc.stdout, 'procfs\n', 'a bind of a procfs may cover /proc');
  a.hostUntouched();
});
