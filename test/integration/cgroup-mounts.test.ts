// The `cgroup` mount on a cgroup v1 or hybrid host: what a program in the container (systemd first of all)
// sees at /sys/fs/cgroup, and the cgroups it is in. runc's way is the reference: the container is in every
// mounted hierarchy (name=systemd included), each hierarchy is mounted at the host's name for it, the cgroup2
// tree of a hybrid host is not mounted, and the tmpfs holding them is read-write while the hierarchies take
// the mount's options. When runc is installed, the same bundle runs under both and the views are compared.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, rmdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { detectHost } from '../../src/cgroups';
import type { Spec } from '../../src/spec/generated/types';
import { canRun, setup, spawnCaptured, type Env } from './harness';

const skip = canRun() || (detectHost().mode === 'v2' ? 'the host has no cgroup v1 hierarchy' : false);
if (skip) t.plan(0, skip);

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));
const host = skip ? undefined : detectHost();

/**
 * Prints the process's cgroups, the mounts at and under /sys/fs/cgroup, and whether the tmpfs takes a dir (under
 * runc it does not: runc 1.1 gives the tmpfs's root the mode of the sysfs dir it covers, 0555).
 */
const PROBE = ['sh', '-c', 'cat /proc/self/cgroup; echo ---; cat /proc/self/mountinfo; echo ---; mkdir /sys/fs/cgroup/probe 2>&1 && echo tmpfs-writable; true'];

interface View {
  /** controllers (`name=systemd`, `cpu`, `` for cgroup2) → the cgroup the process is in there. */
  cgroups: Record<string, string>;
  /** `mount point, fstype, root, per-mount options (ro/rw and the flags)` of each mount at or under /sys/fs/cgroup. */
  mounts: string[];
  tmpfsWritable: boolean;
}

function parse(out: string, cgPath: string): View {
  const [cgroupText = '', mountinfo = '', probe = ''] = out.split('---\n');
  const cgroups: Record<string, string> = {};
  for (const line of cgroupText.split('\n').filter(Boolean)) {
    const [, controllers = '', ...path] = line.split(':');
    cgroups[controllers] = path.join(':').replace(cgPath, '<cg>');
  }
  const mounts = mountinfo
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .filter((f) => f[4]!.startsWith('/sys/fs/cgroup'))
    .map((f) => {
      const fstype = f[f.indexOf('-', 6) + 1]!;
      const opts = f[5]!
        .split(',')
        .filter((o) => o !== 'relatime')
        .sort()
        .join(',');
      return `${f[4]} ${fstype} ${f[3] === cgPath ? '<cg>' : f[3]} ${opts}`;
    })
    .sort();
  return { cgroups, mounts, tmpfsWritable: probe.includes('tmpfs-writable') };
}

/** Runs PROBE with runt, and with runc when it is installed, on the same bundle (each in its own cgroup). */
function views(tt: Test, env: Env, edit: (s: Spec) => void): { runt: View; runc?: View } {
  const cgPath = `/runt-it-cgmounts-${process.pid}`;
  const bundle = env.bundle(PROBE, (s) => {
    s.linux!.cgroupsPath = cgPath;
    edit(s);
  });
  const r = env.runt(['run', '-b', bundle, env.id('cgmounts')]);
  tt.equal(r.status, 0, `runt run: ${r.stderr}`);
  const runt = parse(r.stdout, cgPath);
  if (!RUNC) return { runt };
  // runc leaves the cgroup's parents alone, and a failed run may leave its leaf
  tt.teardown(() => {
    for (const h of host!.hierarchies) if (existsSync(join(h.mountPoint, cgPath))) rmdirSync(join(h.mountPoint, cgPath));
  });
  const id = `runc-cgmounts-${process.pid}`;
  const rc = spawnCaptured(env.tmp, RUNC, ['--root', join(env.tmp, 'runc-state'), 'run', '-b', bundle, id]);
  spawnSync(RUNC, ['--root', join(env.tmp, 'runc-state'), 'delete', '-f', id], { stdio: 'ignore' });
  tt.equal(rc.status, 0, `runc run: ${rc.stderr}`);
  return { runt, runc: parse(rc.stdout, cgPath) };
}

function checkView(tt: Test, v: View, freshMounts: boolean): void {
  const v1 = host!.hierarchies.filter((h) => h.version === 1);
  for (const h of host!.hierarchies) {
    const key = h.version === 2 ? '' : h.controllers.join(',');
    tt.equal(v.cgroups[key], freshMounts ? '/' : '<cg>', `in its cgroup of ${h.mountPoint} (${key || 'cgroup2'})`);
  }
  tt.ok(
    v.mounts.some((m) => /^\/sys\/fs\/cgroup tmpfs \/ (.*,)?rw(,|$)/.test(m)),
    `the tmpfs is read-write: ${v.mounts[0]}`,
  );
  const hierarchyMounts = v.mounts.filter((m) => !m.startsWith('/sys/fs/cgroup tmpfs'));
  tt.same(
    hierarchyMounts.map((m) => m.split(' ')[0]),
    v1.map((h) => `/sys/fs/cgroup/${basename(h.mountPoint)}`).sort(),
    "each v1 hierarchy, name=systemd included, at the host's name for it; no cgroup2 tree",
  );
  for (const m of hierarchyMounts) {
    const [, fstype, root, opts] = m.split(' ');
    tt.same(
      [fstype, root, opts!.split(',').includes('ro')],
      ['cgroup', freshMounts ? '/' : '<cg>', true],
      `${m}: read-only, the container's own cgroup at its root`,
    );
  }
}

t.test('a cgroup namespace: fresh mounts of every v1 hierarchy', async (tt) => {
  const env = setup(tt);
  const { runt, runc } = views(tt, env, () => undefined);
  checkView(tt, runt, true);
  tt.ok(runt.tmpfsWritable, 'a directory can be made in the tmpfs');
  if (runc) {
    tt.same(runt.mounts, runc.mounts, 'the mounts runc makes');
    tt.same(runt.cgroups, runc.cgroups, 'the cgroups runc puts it in');
  }
});

t.test('no cgroup namespace: binds of the container cgroup of every v1 hierarchy', async (tt) => {
  const env = setup(tt);
  const { runt, runc } = views(tt, env, (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
  });
  checkView(tt, runt, false);
  if (runc) {
    tt.same(runt.mounts, runc.mounts, 'the mounts runc makes');
    tt.same(runt.cgroups, runc.cgroups, 'the cgroups runc puts it in');
  }
});
