// `runt plan` and `create --dry-run`: the plan printed is the one create carries out (compared with what create
// logs under --debug as it carries each part out and sends the shim its segments), they make nothing on the
// host, and a bad bundle fails them as it fails create.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, setup, type Env } from './harness';
import type { Spec } from '../../src/spec/generated/types';
import { carriedOut, type Planned, withPlaceholders } from './plan-steps';

const skip = canRun();
if (skip) t.plan(0, skip);

/** A config that gives every part of the plan something: a user namespace, resources, hooks, seccomp. */
function everyPart(s: Spec): void {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  // a user namespace cannot mount sysfs or a cgroup hierarchy of the host's user namespace
  s.mounts = s.mounts!.filter((m) => m.type !== 'sysfs' && m.type !== 'cgroup');
  s.linux!.resources = { ...s.linux!.resources, pids: { limit: 42 }, memory: { limit: 64 << 20 } };
  s.process!.oomScoreAdj = 100;
  s.hooks = {
    prestart: [{ path: '/bin/true', args: ['true', 'prestart'] }],
    createRuntime: [{ path: '/bin/true' }],
    createContainer: [{ path: '/bin/true', timeout: 5 }],
  };
  s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO' }] };
}

function plan(env: Env, args: string[]): Planned {
  const r = env.runt(['plan', '--format', 'json', ...args]);
  if (r.status !== 0) throw new Error(`plan: ${r.stderr}`);
  return JSON.parse(r.stdout) as Planned;
}

t.test('the printed plan is the one create carries out, step by step', async (t) => {
  const env = setup(t);
  for (const [name, edit] of [
    ['busybox', undefined],
    ['every part', everyPart],
  ] as const) {
    const id = env.id('same');
    const bundle = env.bundle(['sh', '-c', 'exit 0'], edit);
    const planned = plan(env, ['-b', bundle, id]);
    const log = join(env.tmp, `${id}.log`);
    const r = env.runt(['--debug', '--log', log, '--log-format', 'json', 'create', '-b', bundle, id]);
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    const pid = Number(JSON.parse(env.runt(['state', id]).stdout).pid);
    t.same(withPlaceholders(carriedOut(log), pid, env.root), planned, `${name}: every part`);
    if (edit) {
      t.same(
        planned.outside.map((s) => [s.op, s.args[0], s.field]),
        [
          ['WRITE', '/proc/<pid>/uid_map', 'linux.uidMappings'],
          ['WRITE', '/proc/<pid>/gid_map', 'linux.gidMappings'],
          ['WRITE', '/proc/<pid>/oom_score_adj', 'process.oomScoreAdj'],
        ],
        'the id maps and the OOM score, from outside',
      );
      t.same(
        planned.hooks.map((s) => s.field),
        ['hooks.prestart[0]', 'hooks.createRuntime[0]'],
        'the hooks the runtime runs',
      );
      t.same(
        planned.before.filter((s) => String(s.args[0]).endsWith('/pids.max')).map((s) => [s.op, s.args[1], s.field]),
        [['CGROUP_WRITE', '42', 'linux.resources.pids.limit']],
        'the resources, written to the cgroup',
      );
    }
    t.equal(env.runt(['delete', '--force', id]).status, 0);
  }
});

/** Whether anything of container `id` is on the host: its state dir, or a cgroup dir the plan names. */
function leftOnHost(env: Env, id: string, planned: Planned): string[] {
  const dirs = planned.before.filter((s) => s.op === 'CGROUP_MKDIR').map((s) => String(s.args[0]));
  return [join(env.root, id), ...dirs].filter((p) => existsSync(p));
}

t.test('plan and create --dry-run make nothing: no state dir, no cgroup, no process', async (t) => {
  const env = setup(t);
  const id = env.id('dry');
  const bundle = env.bundle(['true'], everyPart);
  const log = join(env.tmp, 'dry.log');
  const planned = plan(env, ['-b', bundle, id]);
  t.ok(
    planned.before.some((s) => s.op === 'CGROUP_MKDIR'),
    'the plan names the cgroup dirs create would make',
  );
  for (const args of [
    ['plan', '-b', bundle, id],
    ['create', '--dry-run', '-b', bundle, id],
  ]) {
    const r = env.runt(['--debug', '--log', log, '--log-format', 'json', ...args]);
    t.equal(r.status, 0, r.stderr);
    t.same(leftOnHost(env, id, planned), [], `${args[0]}: nothing of the container's`);
    t.notOk(existsSync(env.root), `${args[0]}: not even the state root`);
    // the driver logs each segment as it sends it: the shim was never started, so no process was made
    t.same(carriedOut(log), { before: [], parent: [], outside: [], child: [], hooks: [] }, `${args[0]}: nothing carried out, no shim started`);
  }
  t.equal(env.runt(['state', id]).status, 1, 'no such container');
});

t.test('a bad bundle fails plan and create --dry-run as it fails create: same text, same status', async (t) => {
  const env = setup(t);
  const cases: [string, (s: Spec) => void][] = [
    ['schema', (s) => ((s.process as unknown as { args: string }).args = 'true')],
    ['no uts namespace', (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts'))],
    ['missing bind source', (s) => s.mounts!.push({ destination: '/data', type: 'bind', source: '/no/such/dir', options: ['bind'] })],
    ['bad capability', (s) => s.process!.capabilities!.bounding!.push('CAP_NO_SUCH')],
    ['bad resource', (s) => (s.linux!.resources = { pids: { limit: 1 }, memory: { swappiness: 500 } })],
    ['bad seccomp', (s) => (s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_NOPE' as 'SCMP_ARCH_X86'] })],
  ];
  for (const [name, edit] of cases) {
    const id = env.id('bad');
    const bundle = env.bundle(['true'], edit);
    const created = env.runt(['create', '-b', bundle, id]);
    t.equal(created.status, 1, `${name}: create fails`);
    t.match(created.stderr, /^runt: \S+/, `${name}: ${created.stderr.trim()}`);
    for (const args of [
      ['plan', '-b', bundle, id],
      ['create', '--dry-run', '-b', bundle, id],
    ]) {
      const r = env.runt(args);
      t.same([r.status, r.stderr, r.stdout], [1, created.stderr, ''], `${name}: ${args[0]} ${args[1]}`);
    }
  }
  const missing = env.runt(['create', '-b', join(env.tmp, 'no-such-bundle'), env.id('bad')]);
  t.same(env.runt(['plan', '-b', join(env.tmp, 'no-such-bundle')]).stderr, missing.stderr, 'no bundle dir');
});

t.test('the text: one step a line, flags by name, each with its config field', async (t) => {
  const env = setup(t);
  const id = env.id('text');
  const bundle = env.bundle(['sh', '-c', 'echo hi'], (s) => {
    s.linux!.resources = { ...s.linux!.resources, pids: { limit: 42 } };
    s.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86'],
      syscalls: [{ names: ['read', 'write', 'exit'], action: 'SCMP_ACT_ALLOW' }],
    };
  });
  const r = env.runt(['plan', '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  const text = r.stdout;
  const lines = [
    /^shim, parent's segment \(in runt's namespaces\):$/,
    /^ {2}OPEN_FIFO <state>\/\S+\/exec\.fifo$/,
    /^ {2}CLONE CLONE_NEWNS\|CLONE_NEWUTS\|CLONE_NEWIPC\|CLONE_NEWPID\|CLONE_NEWNET +# linux\.namespaces$/,
    /^ {2}UNSHARE CLONE_NEWCGROUP +# linux\.namespaces$/,
    /^ {2}MOUNT proc on \/proc type proc 0 create=dir extras=procguard,nofollow +# mounts\[0\]$/,
    /^ {2}MOUNT sysfs on \/sys type sysfs MS_RDONLY\|MS_NOSUID\|MS_NODEV\|MS_NOEXEC create=dir extras=procguard,nofollow +# mounts\[5\]$/,
    /^ {2}MOUNT_PATH \S+ on \S+ MS_BIND\|MS_REC +# root\.path$/,
    /^ {2}REMOUNT \/ MS_RDONLY\|MS_BIND +# root\.readonly$/,
    /^ {2}MKNOD \/dev\/null c 0666 1:3 uid=0 gid=0$/,
    /^ {2}MASK \/proc\/kcore +# linux\.maskedPaths\[2\]$/,
    /^ {2}CGROUP_WRITE \/sys\/fs\/cgroup\/\S*pids\S*\/pids\.max 42 +# linux\.resources\.pids\.limit$/,
    /^ {2}CGROUP_MKDIR \/sys\/fs\/cgroup\/\S+ +# linux\.cgroupsPath$/,
    /^ {2}SETRLIMIT RLIMIT_NOFILE soft=1024 hard=1024 +# process\.rlimits\[0\]$/,
    /^ {2}CAPSET effective=CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE permitted=CAP_KILL,CAP_NET_BIND_SERVICE,CAP_AUDIT_WRITE inheritable=none +# process\.capabilities$/,
    /^ {2}SECCOMP_INIT default=SCMP_ACT_ERRNO\(EPERM\) optimize=\S+ +# linux\.seccomp\.defaultAction$/,
    /^ {2}SECCOMP_ARCH SCMP_ARCH_X86 +# linux\.seccomp\.architectures\[0\]$/,
    /^ {2}SECCOMP_RULE x\d+ \(\d+ syscalls: 3 SCMP_ACT_ALLOW, \d+ SCMP_ACT_ERRNO\(ENOSYS\)\) +# linux\.seccomp\.syscalls$/,
    /^ {2}FIND_EXEC sh PATH=\S+ +# process\.args$/,
    /^ {2}EXEC \[sh -c "echo hi"\] env=\[PATH=\S+ TERM=xterm\] +# process\.args$/,
    new RegExp(`^ {2}JOIN_KEYRING _ses\\.${id} KEY_USR_SEARCH$`),
    /^ {2}PIVOT +# root\.path$/,
    /^ {2}CLOSE_FDS 3$/,
  ];
  for (const re of lines) t.match(text, new RegExp(re.source, 'm'), re.source);
  t.notMatch(text, /SECCOMP_RULE \d/, 'the rules summed up, not one a line');

  const dry = env.runt(['create', '--dry-run', '-b', bundle, id]);
  t.same([dry.status, dry.stdout], [0, text], 'create --dry-run prints the same');

  const flags = env.runt(['create', '--dry-run', '--no-new-keyring', '--no-pivot', '--preserve-fds', '2', '-b', bundle, id]);
  t.equal(flags.status, 0, flags.stderr);
  t.notMatch(flags.stdout, /JOIN_KEYRING/, '--no-new-keyring');
  t.match(flags.stdout, /^ {2}CHROOT +# root\.path$/m, '--no-pivot');
  t.match(flags.stdout, /^ {2}CLOSE_FDS 5$/m, '--preserve-fds 2');
  t.same(env.runt(['plan', '--no-new-keyring', '--no-pivot', '--preserve-fds', '2', '-b', bundle, id]).stdout, flags.stdout, 'plan takes them too');

  const noId = env.runt(['plan', '-b', bundle]);
  t.match(noId.stdout, /^ {2}JOIN_KEYRING _ses\.plan KEY_USR_SEARCH$/m, 'without an id: "plan"');
  t.match(noId.stdout, /^ {2}OPEN_FIFO <state>\/plan\/exec\.fifo$/m);
  t.notOk(existsSync(env.root), 'nothing made');
});
