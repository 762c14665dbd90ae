// Mounts on the new mount API (open_tree, mount_setattr, move_mount) and, under a seccomp filter that makes
// those fail with ENOSYS as an older kernel would, the path-based way; recursive attributes, id-mapped binds,
// linux.rootfsPropagation, and a container without a mount namespace. Real containers, seen from inside.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { canRun, fixture, mountsUnder, readState, rootfs, RUNT, setup, spawnCaptured, type Env } from './harness';
import type { Mount, Spec } from '../../src/spec/generated/types';

const skip = canRun();
if (skip) t.plan(0, skip);

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** A host dir `name` under the test's temp dir with a file, and a tmpfs mounted at its `sub` (unmounted in teardown). */
function hostTree(t: Test, env: Env, name: string): string {
  const dir = join(env.tmp, name);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'file'), 'host\n');
  sh('mount', ['-t', 'tmpfs', 'tmpfs', join(dir, 'sub')]);
  t.teardown(() => spawnSync('umount', ['-l', join(dir, 'sub')]));
  return dir;
}

/** The mount options (field 6) of each mount point of /proc/self/mountinfo inside, for the `points` asked. */
const OPTIONS_OF = (points: string[]) => `for p in ${points.join(' ')}; do awk -v p=$p '$5==p {print p, $6}' /proc/self/mountinfo; done`;

/** A copy of the busybox rootfs in the test's temp dir: the mount targets the tests make land there. */
function ownRootfs(env: Env): string {
  const root = join(env.tmp, 'rootfs');
  if (!existsSync(root)) sh('cp', ['-a', rootfs(), root]);
  return root;
}

/** `runt run` of a bundle on the test's own rootfs copy (read-only), through `wrap` when given. */
function run(env: Env, args: string[], edit: (s: Spec) => void, wrap?: string) {
  const root = ownRootfs(env);
  const bundle = env.bundle(args, (s) => {
    s.root = { path: root, readonly: true };
    edit(s);
  });
  const argv = ['--root', env.root, 'run', '-b', bundle, env.id('mnt')];
  return wrap ? spawnCaptured(env.tmp, wrap, [RUNT, ...argv]) : env.runt(argv.slice(2));
}

/** The same checks with the new mount API and, wrapped in no-new-mount-api, the path-based way. */
for (const api of ['new mount API', 'path-based (open_tree, move_mount, mount_setattr: ENOSYS)']) {
  t.test(`bind flags, propagation, read-only paths and tmpcopyup: ${api}`, async (t) => {
    const env = setup(t);
    const wrap = api.startsWith('path') ? fixture(t, env, 'no-new-mount-api') : undefined;
    const host = hostTree(t, env, 'host');
    const script = [
      OPTIONS_OF(['/ro', '/ro/sub', '/flags', '/proc/sys']),
      'touch /ro/x 2>/dev/null || echo "ro: read-only"',
      'touch /ro/sub/x && echo "ro/sub: writable"',
      'awk \'$5=="/prop" || $5=="/tprop" {print $5 ": " (($7 ~ /^shared:/) ? "shared" : $7)}\' /proc/self/mountinfo',
      'grep -c "^root:" /etc/passwd',
    ].join('; ');
    const r = run(
      env,
      ['sh', '-c', script],
      (s) => {
        s.mounts!.push(
          { destination: '/ro', type: 'bind', source: host, options: ['rbind', 'ro'] },
          { destination: '/flags', type: 'bind', source: host, options: ['bind', 'nosuid', 'nodev', 'noexec', 'noatime'] },
          { destination: '/prop', type: 'bind', source: host, options: ['bind', 'rprivate', 'shared'] },
          { destination: '/tprop', type: 'tmpfs', source: 'tmpfs', options: ['rprivate', 'shared'] },
          { destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] },
        );
      },
      wrap,
    );
    t.equal(r.status, 0, r.stderr);
    t.equal(
      r.stdout,
      [
        '/ro ro,relatime',
        '/ro/sub rw,relatime',
        '/flags rw,nosuid,nodev,noexec,noatime',
        '/proc/sys ro,relatime',
        'ro: read-only',
        'ro/sub: writable',
        '/prop: shared',
        '/tprop: shared',
        '1',
        '',
      ].join('\n'),
      'flags on the top mount, ro only there; propagation; readonlyPaths; the copy up',
    );
    t.same(readdirSync(host).sort(), ['file', 'sub'], 'nothing written to the host dir');
  });
}

t.test('recursive attributes: rro and the rest reach a submount; refused where the kernel lacks mount_setattr', async (t) => {
  const env = setup(t);
  const host = hostTree(t, env, 'host');
  const script = [
    OPTIONS_OF(['/r', '/r/sub', '/n', '/n/sub']),
    'touch /r/sub/x 2>/dev/null || echo "r/sub: read-only"',
    'ln -s /n/file /tmp/link; touch /n/sub/y && echo "n/sub: writable"',
  ].join('; ');
  const r = run(env, ['sh', '-c', script], (s) => {
    s.mounts!.push(
      { destination: '/r', type: 'bind', source: host, options: ['rbind', 'rro', 'rnosuid', 'rnodev', 'rnoexec', 'rnoatime'] },
      { destination: '/n', type: 'bind', source: host, options: ['rbind', 'rnosymfollow', 'rstrictatime', 'nosymfollow'] },
    );
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      '/r ro,nosuid,nodev,noexec,noatime',
      '/r/sub ro,nosuid,nodev,noexec,noatime',
      '/n rw,nosymfollow',
      '/n/sub rw,nosymfollow',
      'r/sub: read-only',
      'n/sub: writable',
      '',
    ].join('\n'),
  );
  const old = run(
    env,
    ['true'],
    (s) => {
      s.mounts!.push({ destination: '/r', type: 'bind', source: host, options: ['rbind', 'rro'] });
    },
    fixture(t, env, 'no-new-mount-api'),
  );
  t.equal(old.status, 1);
  t.match(old.stderr, /^runt: mounts\[\d+\]: recursive mount attributes for \/r need mount_setattr \(Linux 5\.12\)$/m);
  t.same(
    mountsUnder(env.tmp).filter((m) => !m.endsWith('/sub')),
    [],
    'nothing left mounted',
  );
});

t.test('id-mapped binds: a host dir of uid 0 seen as the mapped id; written through by a container with a user namespace', async (t) => {
  const env = setup(t);
  const host = join(env.tmp, 'idmapped');
  mkdirSync(host);
  writeFileSync(join(host, 'file'), "root's\n");
  const map = [{ containerID: 0, hostID: 1234, size: 1 }];
  const idmapped: Mount = { destination: '/data', type: 'bind', source: host, options: ['bind', 'idmap'], uidMappings: map, gidMappings: map };
  const seen = run(env, ['sh', '-c', 'stat -c "%u %g" /data/file'], (s) => {
    s.mounts!.push(idmapped);
  });
  t.equal(seen.status, 0, seen.stderr);
  t.equal(seen.stdout, '1234 1234\n', 'uid 0 on disk is 1234 through the mount');
  const userns = run(env, ['sh', '-c', 'stat -c "%u %g" /mnt/file; echo new > /mnt/new && stat -c "%u %g" /mnt/new'], (s) => {
    s.root = { path: rootfs(), readonly: true }; // the container's root (uid 100000) may not enter the test's 0700 dir
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.mounts!.push({ destination: '/mnt', type: 'bind', source: host, options: ['rbind', 'idmap'] }); // the container's maps
  });
  t.equal(userns.status, 0, userns.stderr);
  t.equal(userns.stdout, '0 0\n0 0\n', "the container's root owns the host's root files, and writes as it");
  const st = statSync(join(host, 'new'));
  t.same([st.uid, st.gid], [0, 0], 'on the host the new file belongs to uid 0, not to 100000');
  const ro = run(env, ['sh', '-c', 'touch /data/x 2>/dev/null || echo read-only'], (s) => {
    s.mounts!.push({ ...idmapped, options: ['bind', 'idmap', 'ro'] });
  });
  t.equal(ro.stdout, 'read-only\n', ro.stderr);
});

t.test('linux.rootfsPropagation: every value runc takes, seen on / inside; nothing propagates to the host', async (t) => {
  const env = setup(t);
  // the rootfs under a shared mount of the test's own, so that slave and shared show
  const shared = join(env.tmp, 'shared');
  mkdirSync(join(shared, 'rootfs'), { recursive: true });
  sh('mount', ['--bind', shared, shared]);
  t.teardown(() => spawnSync('umount', ['-R', '-l', shared]));
  sh('mount', ['--make-shared', shared]);
  sh('mount', ['--rbind', rootfs(), join(shared, 'rootfs')]);
  const expected: Record<string, RegExp> = {
    '': /^-$/,
    private: /^-$/,
    rprivate: /^-$/,
    slave: /^master:\d+$/,
    rslave: /^master:\d+$/,
    shared: /^shared:\d+$/,
    rshared: /^shared:\d+$/,
    unbindable: /^unbindable$/,
    runbindable: /^unbindable$/,
  };
  const hostMounts = mountsUnder(shared).length;
  for (const [value, re] of Object.entries(expected)) {
    const r = run(env, ['sh', '-c', 'awk \'$5=="/" {print $7}\' /proc/self/mountinfo; mount -t tmpfs tmpfs /mnt && echo mounted'], (s) => {
      s.root = { path: join(shared, 'rootfs'), readonly: true };
      if (value) s.linux!.rootfsPropagation = value as never;
      s.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
      s.process!.capabilities!.effective!.push('CAP_SYS_ADMIN');
      s.process!.capabilities!.permitted!.push('CAP_SYS_ADMIN');
    });
    t.equal(r.status, 0, `${value || 'default (rslave)'}: ${r.stderr}`);
    const [tag, mounted] = r.stdout.split('\n');
    t.match(tag, re, `${value || 'default (rslave)'}: / is ${tag}`);
    t.equal(mounted, 'mounted');
    t.equal(mountsUnder(shared).length, hostMounts, `${value || 'default'}: no mount of the container's reached the host`);
  }
});

t.test("no mount namespace: the container is chrooted in the runtime's mount namespace; exec too; runc's refusals", async (t) => {
  const env = setup(t);
  const root = ownRootfs(env);
  writeFileSync(join(root, 'marker'), 'in the rootfs\n');
  const noMountNs = (s: Spec) => {
    s.root = { path: root };
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
    s.mounts = [];
    delete s.linux!.maskedPaths;
    delete s.linux!.readonlyPaths;
  };
  const id = env.id('nomnt');
  const r = env.runt(['run', '-d', '-b', env.bundle(['sleep', '300'], noMountNs), id]);
  t.equal(r.status, 0, r.stderr);
  const pid = readState(env, id).pid as number;
  t.equal(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), "the runtime's mount namespace");
  t.equal(readlinkSync(`/proc/${pid}/root`), root, 'its root is the rootfs (chroot)');
  const ex = env.runt(['exec', id, 'cat', '/marker']);
  t.equal(ex.status, 0, ex.stderr);
  t.equal(ex.stdout, 'in the rootfs\n', 'exec enters the same root');
  t.same(mountsUnder(root), [], "nothing mounted in the runtime's tree");
  const masked = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      noMountNs(s);
      s.linux!.maskedPaths = ['/proc/kcore'];
    }),
    env.id('nomnt'),
  ]);
  t.equal(masked.status, 1);
  t.equal(masked.stderr, 'runt: linux.maskedPaths: unable to restrict sys entries without a private MNT namespace\n');
  const mounts = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      noMountNs(s);
      s.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
    }),
    env.id('nomnt'),
  ]);
  t.equal(mounts.status, 1);
  t.match(mounts.stderr, /^runt: mounts\[0\]: a mount needs a mount namespace of the container's own/);
});

t.test('features: the recursive options, idmap and ridmap are known; id-mapped mounts enabled', async (t) => {
  const env = setup(t);
  const f = JSON.parse(env.runt(['features']).stdout) as { mountOptions: string[]; linux: { mountExtensions: { idmap: { enabled: boolean } } } };
  for (const o of ['rro', 'rnosymfollow', 'nosymfollow', 'idmap', 'ridmap']) t.ok(f.mountOptions.includes(o), o);
  t.equal(f.linux.mountExtensions.idmap.enabled, true);
  const bad = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.rootfsPropagation = 'bogus' as never;
    }),
    env.id('f'),
  ]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^runt: config\.json: .*rootfsPropagation/);
});
