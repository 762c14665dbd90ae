// The session keyring: a container's processes must not reach the keys of the runtime's caller (containerd's,
// podman's, a login's session keyring: registry credentials, kerberos tickets, fscrypt keys). As runc and crun,
// runt makes the container's init join a keyring of its own, `_ses.<id>` (searchable by its owner, or by
// anyone in a user namespace), and exec's processes join that one; --no-new-keyring keeps the caller's.
// The attack: the caller's session keyring holds a user key; the container's process searches for it.
import t from 'tap';
import { chmodSync, readFileSync } from 'node:fs';
import { canRun, fixture, readState, RUNT, setup, spawnCaptured, type Env } from '../integration/harness';

const skip = canRun();
if (skip) t.plan(0, skip);

const SECRET = 'runt-test-secret';

/** runt ARGS in a new session keyring holding the user key SECRET; the probe's view from the host comes first. */
function inSession(env: Env, probe: string, args: string[]) {
  const script = `keyctl add user ${SECRET} s3cr3t @s >/dev/null && "${probe}" && exec "${RUNT}" --root "${env.root}" "$@"`;
  return spawnCaptured(env.tmp, 'keyctl', ['session', '-', 'sh', '-c', script, 'sh', ...args]);
}

/** A bundle running the probe (bound on /tmp with the test's dir). */
function probeBundle(env: Env, args: string[], edit?: Parameters<Env['bundle']>[1]): string {
  return env.bundle(args, (s) => {
    s.mounts!.push({ destination: '/tmp', type: 'bind', source: env.tmp, options: ['rbind', 'ro'] });
    edit?.(s);
  });
}

/** The probe's lines: [serial, description, perm] per keyring line, and the key line. */
function lines(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
}

t.test("run: the container's session keyring is its own, and the caller's key is out of reach", async (t) => {
  const env = setup(t);
  const probe = fixture(t, env, 'keyring-probe', ['-static']);
  const id = env.id('keyring');
  const r = inSession(env, probe, ['run', '-b', probeBundle(env, ['/tmp/keyring-probe', SECRET]), id]);
  t.equal(r.status, 0, r.stderr);
  const [host, own, key] = lines(r.stdout);
  t.equal(own?.[1], `_ses.${id}`, 'a keyring named after the container');
  t.not(own?.[0], host?.[0], "not the caller's keyring");
  t.equal(own?.[2], '3f1b0000', "its owner may search it (runc's permissions)");
  t.same(key, [`${SECRET}:`, 'Required', 'key', 'not', 'available'], "the caller's key is not found");

  const kept = inSession(env, probe, ['run', '--no-new-keyring', '-b', probeBundle(env, ['/tmp/keyring-probe', SECRET]), env.id('keep')]);
  t.equal(kept.status, 0, kept.stderr);
  const [host2, inherited, key2] = lines(kept.stdout);
  t.same(inherited, host2, "--no-new-keyring: the caller's keyring");
  t.same(key2, [`${SECRET}:`, 's3cr3t'], 'and its key');
});

t.test("exec: the process joins the container's keyring, not its caller's", async (t) => {
  const env = setup(t);
  const probe = fixture(t, env, 'keyring-probe', ['-static']);
  for (const noNewKeyring of [false, true]) {
    const id = env.id('exec-keyring');
    const created = env.runt(['run', '-d', ...(noNewKeyring ? ['--no-new-keyring'] : []), '-b', probeBundle(env, ['sleep', '300']), id]);
    t.equal(created.status, 0, created.stderr);
    const r = inSession(env, probe, ['exec', id, '/tmp/keyring-probe', SECRET]);
    t.equal(r.status, 0, r.stderr);
    const [host, own, key] = lines(r.stdout);
    if (noNewKeyring) {
      t.same(own, host, "made with --no-new-keyring: exec keeps its caller's keyring");
      t.same(key, [`${SECRET}:`, 's3cr3t']);
      continue;
    }
    // the init's keyring, as the host's root sees it in /proc/keys (hex serial ... description)
    const init = readFileSync('/proc/keys', 'utf8')
      .split('\n')
      .find((l) => l.endsWith(`_ses.${id}: empty`) || l.includes(` _ses.${id}:`));
    t.ok(init, `/proc/keys lists _ses.${id} (pid ${readState(env, id).pid as number})`);
    t.equal(own?.[1], `_ses.${id}`);
    t.equal(Number(own?.[0]).toString(16).padStart(8, '0'), init?.split(' ')[0], "the init's keyring");
    t.same(key, [`${SECRET}:`, 'Required', 'key', 'not', 'available']);
  }
});

t.test("a user namespace: the keyring is searchable by anyone (its owner is the container's root)", async (t) => {
  const env = setup(t);
  fixture(t, env, 'keyring-probe', ['-static']);
  chmodSync(env.tmp, 0o755); // for the container's root, an unmapped id outside
  const bundle = probeBundle(env, ['/tmp/keyring-probe'], (s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.mounts = s.mounts!.filter((m) => m.type !== 'sysfs' && m.type !== 'cgroup');
  });
  const id = env.id('userns-keyring');
  const r = env.runt(['run', '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  t.same(lines(r.stdout)[0]?.slice(1), [`_ses.${id}`, '3f130008'], "runc's permissions: other may search");
});
