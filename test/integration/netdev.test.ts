// linux.netDevices with a veth pair the test makes: the interface leaves the host, appears in the container
// under its new name with its permanent global addresses and up; the mistakes are named by field and leave the
// interface where it was.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { canRun, readState, setup } from './harness';

const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });

/** The test's interfaces are veth pairs made with ip (iproute2): the host must have both. */
function vethMissing(): string | false {
  const probe = `rtvprobe${process.pid % 100000}`;
  const made = ip('link', 'add', probe, 'type', 'veth', 'peer', 'name', `${probe}p`);
  if (made.error || made.status !== 0) return `cannot make a veth pair with ip: ${made.error?.message ?? made.stderr.trim()}`;
  ip('link', 'del', probe);
  return false;
}

const skip = canRun() || vethMissing();
if (skip) t.plan(0, skip);

let pairs = 0;

const onHost = (name: string): boolean => ip('link', 'show', name).status === 0;

/** A veth pair whose first end has a global IPv4 and IPv6 address and a link-scope one (not to be moved). */
function vethPair(t: Test): [string, string] {
  const base = `rtv${process.pid % 100000}x${pairs++}`;
  const [a, b] = [`${base}a`, `${base}b`];
  const made = ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
  if (made.status !== 0) throw new Error(`ip link add: ${made.stderr}`);
  t.teardown(() => {
    ip('link', 'del', a);
    ip('link', 'del', b);
  });
  for (const args of [
    ['10.251.7.2/24', 'dev', a],
    ['fd00:251::2/64', 'dev', a],
    ['10.251.8.2/24', 'dev', a, 'scope', 'link'],
  ]) {
    const r = ip('addr', 'add', ...args);
    if (r.status !== 0) throw new Error(`ip addr add: ${r.stderr}`);
  }
  return [a, b];
}

t.test('the interface moves in, renamed, with its permanent global addresses, up', async (t) => {
  const env = setup(t);
  const [a] = vethPair(t);
  const id = env.id('netdev');
  const bundle = env.bundle(['sleep', '300'], (s) => {
    s.linux!.netDevices = { [a]: { name: 'ctr0' } };
  });
  const r = env.runt(['run', '-d', '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  t.notOk(onHost(a), 'gone from the host');
  const inside = env.runt(['exec', id, 'ip', 'addr', 'show', 'ctr0']);
  t.equal(inside.status, 0, inside.stderr);
  t.match(inside.stdout, /<[^>]*\bUP\b[^>]*>/, 'up');
  t.match(inside.stdout, /inet 10\.251\.7\.2\/24 scope global ctr0/);
  t.match(inside.stdout, /inet6 fd00:251::2\/64 scope global/);
  t.notMatch(inside.stdout, /10\.251\.8\.2/, 'a link-scope address stays behind');
  t.not(readState(env, id).pid, 0);
  t.equal(env.runt(['delete', '--force', id]).status, 0);
  // runtime-spec: never moved back; a veth dies with the namespace (asynchronously), a physical device returns
  for (let i = 0; i < 50 && onHost(a); i++) await new Promise((res) => setTimeout(res, 100));
  t.notOk(onHost(a), 'not moved back by runt');
});

t.test('a %d template is numbered by the kernel; two devices; the host name is kept without a name', async (t) => {
  const env = setup(t);
  const [a, b] = vethPair(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['ls', '/sys/class/net'], (s) => {
      s.linux!.netDevices = { [a]: { name: 'eth%d' }, [b]: {} };
    }),
    env.id('tmpl'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n').sort(), [b, 'eth0', 'lo'].sort());
});

t.test("into a namespace owned by the container's new user namespace", async (t) => {
  const env = setup(t);
  const [a] = vethPair(t);
  const r = env.runt([
    'run',
    '-b',
    env.bundle(['ip', '-o', 'addr', 'show', 'ctr1'], (s) => {
      s.linux!.netDevices = { [a]: { name: 'ctr1' } };
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }),
    env.id('userns'),
  ]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /inet 10\.251\.7\.2\/24 scope global ctr1/);
});

t.test('mistakes are named by field and leave the interface on the host', async (t) => {
  const env = setup(t);
  const [a] = vethPair(t);
  const taken = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.netDevices = { [a]: { name: 'lo' } };
    }),
    env.id('taken'),
  ]);
  t.equal(taken.status, 1);
  t.equal(taken.stderr, `runt: linux.netDevices["${a}"]: a network device named lo already exists in the container's network namespace\n`);
  t.ok(onHost(a), 'moved back under its own name');
  const missing = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.netDevices = { rtnosuchdev0: {} };
    }),
    env.id('missing'),
  ]);
  t.match(missing.stderr, /^runt: linux.netDevices\["rtnosuchdev0"\]: no network device rtnosuchdev0 in the runtime's network namespace: No such device/);
  const hostns = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.netDevices = { [a]: {} };
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network');
    }),
    env.id('hostns'),
  ]);
  t.match(hostns.stderr, /^runt: linux.netDevices: moving network devices needs a network namespace of the container's own/);
  const bad = env.runt([
    'run',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.netDevices = { [a]: { name: 'a/b' } };
    }),
    env.id('badname'),
  ]);
  t.match(bad.stderr, new RegExp(`^runt: linux.netDevices\\["${a}"\\].name: "a/b" is not a valid network device name`));
  t.ok(onHost(a));
});
