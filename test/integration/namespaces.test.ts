// Namespaces made and joined, the root filesystem options, and cgroup limits, seen from inside.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { canRun, readState, setup } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('a user namespace: the runtime writes the maps, the process is root inside', async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -n /bin/busybox | tr -s " " | cut -d" " -f3'], (s) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      // a user namespace cannot mount sysfs or a cgroup hierarchy of the host's user namespace
      s.mounts = s.mounts!.filter((m) => m.type !== 'sysfs' && m.type !== 'cgroup');
    }),
    env.id('userns'),
  ]);
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.same(lines.slice(0, 4), ['0 100000 65536', '0 100000 65536', '0', '65534'], 'maps, root inside, host root is the overflow id');
});

t.test("joining another container's namespaces by path", async (t) => {
  const env = setup(t);
  const first = env.id('owner');
  t.equal(
    env.runt([
      'run',
      '-d',
      '-b',
      env.bundle(['sleep', '300'], (s) => {
        s.hostname = 'shared-uts';
      }),
      first,
    ]).status,
    0,
  );
  const pid = readState(env, first).pid as number;
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['sh', '-c', 'hostname; readlink /proc/self/ns/net'], (s) => {
      s.hostname = undefined;
      s.linux!.namespaces = s.linux!.namespaces!.map((n) =>
        n.type === 'uts' || n.type === 'network' ? { type: n.type, path: `/proc/${pid}/ns/${n.type === 'network' ? 'net' : 'uts'}` } : n,
      );
    }),
    env.id('joiner'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, `shared-uts\n${readFileSyncLink(`/proc/${pid}/ns/net`)}\n`);
});

function readFileSyncLink(path: string): string {
  return require('node:fs').readlinkSync(path) as string;
}

t.test('a time namespace with offsets', async (t) => {
  const env = setup(t);
  const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['cat', '/proc/uptime'], (s) => {
      s.linux!.namespaces!.push({ type: 'time' });
      s.linux!.timeOffsets = { boottime: { secs: 86400, nanosecs: 0 } };
    }),
    env.id('timens'),
  ]);
  t.equal(r.status, 0, r.stderr);
  const inside = Number(r.stdout.split(' ')[0]);
  t.ok(inside - hostUptime > 86000 && inside - hostUptime < 86800, `uptime moved by a day (${hostUptime} → ${inside})`);
});

t.test('--no-pivot, a writable root, rootfsPropagation', async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '--no-pivot',
    '-b',
    env.bundle(['sh', '-c', 'grep " / / " /proc/self/mountinfo | grep -o "master:[0-9]*\\|shared:[0-9]*" | head -1; touch /tmp/w && echo writable'], (s) => {
      s.root!.readonly = false;
      s.linux!.rootfsPropagation = 'slave';
      s.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
    }),
    env.id('nopivot'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /writable\n$/);
});

t.test('cgroup limits are applied and visible inside', async (t) => {
  const env = setup(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares'], (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 }, cpu: { shares: 512 } };
    }),
    env.id('limits'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, `${64 * 1024 * 1024}\n42\n512\n`);
});

t.test('a resource the host cannot apply is refused by name', async (t) => {
  const env = setup(t);
  const id = env.id('rdma');
  const r = env.runt([
    'create',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.resources = { ...s.linux!.resources, rdma: { mlx5_0: { hcaHandles: 1 } } };
    }),
    id,
  ]);
  t.equal(r.status, 1);
  t.match(r.stderr, /linux.resources.rdma/);
});
