// --systemd-cgroup against a real systemd: Debian's systemd (installed on this host, not running) boots as PID 1
// of a container runt makes (the host's root, bound read-only, as its rootfs; its own cgroup namespace, /run
// and /var on tmpfs), and runt, run inside it, makes, updates, pauses and deletes a container whose cgroup
// that systemd makes as a transient scope.
import t, { type Test } from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, REPO, RUNT, rootfs, setup, type Env } from './harness';
import { defaultSpec } from '../../src/lifecycle/spec';
import type { Spec } from '../../src/spec/generated/types';

const SYSTEMD = '/lib/systemd/systemd';
const skip = canRun() || (existsSync(SYSTEMD) ? false : `${SYSTEMD} is not installed`);
if (skip) t.plan(0, skip);

const CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_ADMIN',
  'CAP_SYS_NICE',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
  'CAP_BPF',
];
/** Cgroups systemd makes for its units; on this host it also makes them at the root of the name=systemd hierarchy. */
const UNIT_DIR = /\.(mount|scope|slice|service|socket)$/;
const NAMED = '/sys/fs/cgroup/systemd';

/** Empty cgroup dirs under `dir`, deepest first (rmdir refuses a populated one). */
function removeSubtree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    removeSubtree(join(dir, e.name));
    try {
      rmdirSync(join(dir, e.name));
    } catch {
      // still in use: the delete that follows reports it
    }
  }
}

/**
 * Boots systemd in a container and returns how to run a shell command in it, and the host dir shared as its
 * /mnt. `cgroup2`: the container sees only the cgroup2 hierarchy (systemd's unified mode), else every one.
 */
async function bootSystemd(t: Test, cgroup2: boolean): Promise<{ env: Env; inside: (cmd: string) => SpawnSyncReturns<string>; share: string } | undefined> {
  const env = setup(t);
  const id = env.id(cgroup2 ? 'systemd-v2' : 'systemd');
  const root = join(env.tmp, 'host-root');
  const share = join(env.tmp, 'share');
  mkdirSync(root);
  mkdirSync(join(share, 'b'), { recursive: true });
  const namedBefore = new Set(existsSync(NAMED) ? readdirSync(NAMED) : []);
  t.equal(spawnSync('mount', ['--bind', '/', root]).status, 0, 'bind the host root');
  spawnSync('mount', ['--make-private', root]);
  let cgroupDirs: string[] = [];
  t.teardown(() => {
    // systemd's own sub-cgroups in the container's cgroup go before the harness deletes the container
    spawnSync(RUNT, ['--root', env.root, 'kill', id, 'KILL']);
    for (let i = 0; i < 100 && spawnSync(RUNT, ['--root', env.root, 'state', id], { encoding: 'utf8' }).stdout.includes('"running"'); i++) {
      spawnSync('sleep', ['0.05']);
    }
    for (const dir of cgroupDirs) removeSubtree(dir);
    for (const name of existsSync(NAMED) ? readdirSync(NAMED) : []) {
      if (namedBefore.has(name) || !UNIT_DIR.test(name)) continue;
      removeSubtree(join(NAMED, name));
      try {
        rmdirSync(join(NAMED, name));
      } catch {
        // not empty: reported by the check below
      }
    }
    spawnSync('umount', [root]);
  });

  const bundle = env.bundle([SYSTEMD, '--unit=dbus.socket'], (s: Spec) => {
    s.root = { path: root, readonly: true };
    s.process!.env = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'container=runt'];
    s.process!.capabilities = { bounding: CAPS, effective: CAPS, permitted: CAPS };
    s.process!.noNewPrivileges = false;
    s.linux!.namespaces = ['pid', 'mount', 'ipc', 'uts', 'cgroup', 'network'].map((type) => ({ type }) as { type: 'pid' });
    s.linux!.maskedPaths = [];
    s.linux!.readonlyPaths = [];
    delete s.linux!.seccomp;
    s.mounts = s.mounts!.map((m) =>
      m.destination !== '/sys/fs/cgroup'
        ? m
        : cgroup2
          ? { destination: m.destination, type: 'cgroup2', source: 'cgroup2', options: ['nosuid', 'noexec', 'nodev'] }
          : { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') },
    );
    for (const d of ['/run', '/run/lock', '/var/lib', '/var/log', '/var/tmp']) {
      s.mounts.push({ destination: d, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755'] });
    }
    s.mounts.push({ destination: '/mnt', type: 'bind', source: share, options: ['rbind', 'rw'] });
    s.mounts.push({ destination: rootfs(), type: 'bind', source: rootfs(), options: ['rbind', 'ro'] });
  });
  const r = env.runt(['run', '-d', '-b', bundle, id]);
  if (!t.equal(r.status, 0, `systemd container: ${r.stderr}`)) return undefined;
  cgroupDirs = Object.values((JSON.parse(readFileSync(join(env.root, id, 'state.json'), 'utf8')) as { cgroup: { dirs: Record<string, string> } }).cgroup.dirs);

  const inside = (cmd: string) => env.runt(['exec', id, 'sh', '-c', cmd]);
  let state = '';
  for (let i = 0; i < 200 && !/^(running|degraded)$/.test(state); i++) {
    state = inside('systemctl is-system-running 2>/dev/null').stdout.trim();
    if (!/^(running|degraded)$/.test(state)) await new Promise((res) => setTimeout(res, 100));
  }
  t.match(state, /^(running|degraded)$/, 'systemd booted');
  return { env, inside, share };
}

t.test('a real systemd (PID 1 of a runt container) makes the scope; update, pause, delete', async (t) => {
  const booted = await bootSystemd(t, false);
  if (!booted) return;
  const { env, inside, share } = booted;

  const spec = JSON.parse(readFileSync(env.bundle(['sleep', '300']) + '/config.json', 'utf8')) as Spec;
  spec.linux!.cgroupsPath = 'system.slice:runt:real-x';
  spec.linux!.resources = { memory: { limit: 64 * 1024 * 1024 }, cpu: { shares: 512, quota: 25000, period: 100000 }, pids: { limit: 50 } };
  writeFileSync(join(share, 'b/config.json'), JSON.stringify(spec));
  const runt = `${REPO}/build/runt --systemd-cgroup`;
  const unit = 'runt-real-x.scope';
  const show = `systemctl show ${unit} -p Slice -p Delegate -p MemoryLimit -p CPUShares -p CPUQuotaPerSecUSec -p TasksMax -p DefaultDependencies`;

  let x = inside(`${runt} run -d -b /mnt/b real-x`);
  t.equal(x.status, 0, `run inside: ${x.stderr}`);
  x = inside(`${show}; cat /proc/$(${runt} state real-x | sed -n 's/.*"pid": \\([0-9]*\\).*/\\1/p')/cgroup`);
  t.equal(x.status, 0, x.stderr);
  const shown = x.stdout.split('\n');
  for (const p of [
    'Slice=system.slice',
    'Delegate=yes',
    'MemoryLimit=67108864',
    'CPUShares=512',
    'CPUQuotaPerSecUSec=250ms',
    'TasksMax=50',
    'DefaultDependencies=no',
  ]) {
    t.ok(shown.includes(p), `systemd holds ${p}`);
  }
  const lines = x.stdout
    .trim()
    .split('\n')
    .filter((l) => /^\d+:/.test(l));
  t.ok(lines.length > 1);
  for (const l of lines) t.equal(l.split(':')[2], `/system.slice/${unit}`, `in the scope: ${l}`);
  t.equal(
    inside(`cat /sys/fs/cgroup/cpu/system.slice/${unit}/cpu.cfs_quota_us /sys/fs/cgroup/cpuset/system.slice/${unit}/cpuset.mems`).stdout,
    '25000\n0\n',
    'the files systemd does not write, and the cpuset dir runt makes',
  );

  const devices = `/sys/fs/cgroup/devices/system.slice/${unit}/devices.list`;
  const rules = inside(`cat ${devices}`).stdout;
  t.match(rules, /^c 1:3 rwm$/m, "the container's device rules");
  t.notMatch(rules, /^a /m, 'not every device');
  x = inside(`${runt} update --memory 100m --pids-limit 77 real-x && systemctl show ${unit} -p MemoryLimit -p TasksMax`);
  t.equal(x.stdout, 'MemoryLimit=104857600\nTasksMax=77\n', `update goes to the unit: ${x.stderr}`);
  // runt sends no DeviceAllow/DevicePolicy: systemd must leave runt's rules alone when it applies the unit again
  t.equal(inside(`cat ${devices}`).stdout, rules, 'device rules unchanged by SetUnitProperties');
  t.equal(inside(`systemctl daemon-reload && cat ${devices}`).stdout, rules, 'and by a daemon-reload');

  x = inside(
    `${runt} pause real-x && ${runt} state real-x | grep -o '"status": "[a-z]*"' && cat /sys/fs/cgroup/freezer/system.slice/${unit}/freezer.state && ${runt} resume real-x`,
  );
  t.equal(x.stdout, '"status": "paused"\nFROZEN\n', `pause: ${x.stderr}`);

  x = inside(`${runt} delete --force real-x && systemctl is-active ${unit}; ls -d /sys/fs/cgroup/*/system.slice/${unit} 2>/dev/null | wc -l`);
  t.equal(x.stdout, 'inactive\n0\n', `delete stops the unit and leaves no dir: ${x.stderr}`);
  rmSync(join(share, 'b'), { recursive: true, force: true });
});

t.test('the same on a cgroup2-only view (systemd in unified mode): v2 properties, cgroup.freeze', async (t) => {
  const booted = await bootSystemd(t, true);
  if (!booted) return;
  const { env, inside, share } = booted;
  const spec = JSON.parse(readFileSync(env.bundle(['sleep', '300']) + '/config.json', 'utf8')) as Spec;
  spec.linux!.cgroupsPath = 'system.slice:runt:real-v2';
  // runc's extra unit properties: a string, and seconds that go as microseconds
  spec.annotations = { 'org.systemd.property.CollectMode': '"inactive-or-failed"', 'org.systemd.property.TimeoutStopSec': 'uint64 15' };
  writeFileSync(join(share, 'b/config.json'), JSON.stringify(spec));
  const runt = `${REPO}/build/runt --systemd-cgroup`;
  const unit = 'runt-real-v2.scope';
  let x = inside(`${runt} run -d -b /mnt/b real-v2`);
  t.equal(x.status, 0, `run inside: ${x.stderr}`);
  x = inside(
    `systemctl show ${unit} -p Slice -p Delegate -p IOAccounting -p ActiveState -p CollectMode -p TimeoutStopUSec; cat /proc/$(${runt} state real-v2 | sed -n 's/.*"pid": \\([0-9]*\\).*/\\1/p')/cgroup | grep ^0::`,
  );
  t.same(
    x.stdout.trim().split('\n').sort(),
    [
      `0::/system.slice/${unit}`,
      'ActiveState=active',
      'CollectMode=inactive-or-failed',
      'Delegate=yes',
      'IOAccounting=yes',
      'Slice=system.slice',
      'TimeoutStopUSec=15s',
    ],
    `the scope, the annotations' properties among them: ${x.stderr}`,
  );
  x = inside(`${runt} pause real-v2 && cat /sys/fs/cgroup/system.slice/${unit}/cgroup.freeze && ${runt} resume real-v2`);
  t.equal(x.stdout, '1\n', `pause: ${x.stderr}`);
  x = inside(`${runt} delete --force real-v2 && systemctl is-active ${unit}; ls -d /sys/fs/cgroup/system.slice/${unit} 2>/dev/null | wc -l`);
  t.equal(x.stdout, 'inactive\n0\n', `delete: ${x.stderr}`);
  rmSync(join(share, 'b'), { recursive: true, force: true });
});

// the container's /etc/passwd is the host's
const noUser = spawnSync('getent', ['passwd', '1000']).status === 0 ? false : 'no user 1000 on this host to start a user manager for';

t.test("rootless: the user's own systemd (user@1000.service of the unified-mode systemd) makes the scope, delegated", { skip: noUser }, async (t) => {
  const booted = await bootSystemd(t, true);
  if (!booted) return;
  const { inside, share } = booted;
  let x = inside('systemctl start user@1000.service && test -S /run/user/1000/bus && echo up');
  t.equal(x.stdout, 'up\n', `the user manager and its bus: ${x.stderr}`);

  const spec = defaultSpec(true, 1000, 1000);
  spec.root = { path: rootfs(), readonly: true };
  spec.process!.terminal = false;
  spec.process!.args = ['sleep', '300'];
  mkdirSync(join(share, 'rl'));
  writeFileSync(join(share, 'rl/config.json'), JSON.stringify(spec));
  // runt as uid 1000, rootless, with the environment a login gives (XDG_RUNTIME_DIR: the bus, and runt's state);
  // TMPDIR for the engine's native module, since the host's /tmp is read-only in here
  const asUser = (cmd: string) =>
    inside(`setpriv --reuid=1000 --regid=1000 --clear-groups env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR=/run/user/1000 TMPDIR=/run/user/1000 sh -c '${cmd}'`);
  const runt = `${REPO}/build/runt --systemd-cgroup`;
  const unit = 'runt-rl-x.scope';
  const scope = `/user.slice/user-1000.slice/user@1000.service/user.slice/${unit}`;
  x = asUser(`${runt} run -d -b /mnt/rl rl-x && ${runt} state rl-x`);
  t.equal(x.status, 0, `run as uid 1000: ${x.stderr}`);
  const pid = (JSON.parse(x.stdout.slice(x.stdout.indexOf('{'))) as { pid: number }).pid;
  x = asUser(`systemctl --user show ${unit} -p Slice -p Delegate -p ActiveState; grep ^0:: /proc/${pid}/cgroup; stat -c %u /sys/fs/cgroup${scope}`);
  t.equal(x.stdout, `Slice=user.slice\nDelegate=yes\nActiveState=active\n0::${scope}\n1000\n`, `the user manager's scope, the user's own: ${x.stderr}`);
  x = asUser(`${runt} pause rl-x && cat /sys/fs/cgroup${scope}/cgroup.freeze && ${runt} resume rl-x`);
  t.equal(x.stdout, '1\n', `pause, in the delegated scope: ${x.stderr}`);
  x = asUser(`${runt} delete --force rl-x && systemctl --user is-active ${unit}; ls -d /sys/fs/cgroup${scope} 2>/dev/null | wc -l`);
  t.equal(x.stdout, 'inactive\n0\n', `delete stops the user's unit: ${x.stderr}`);
  inside('systemctl stop user@1000.service');
  rmSync(join(share, 'rl'), { recursive: true, force: true });
});
