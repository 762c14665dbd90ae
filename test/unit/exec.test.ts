// `runt exec`'s pure parts: the process from flags or JSON, the plan's two segments, the terminal's socket,
// socket activation's env, --cgroup. No root needed.
import t from 'tap';
import { parseArgv } from '../../src/cli/parse';
import { subCgroup } from '../../src/lifecycle/exec';
import { defaultSpec } from '../../src/lifecycle/spec';
import type { Hierarchy } from '../../src/cgroups';
import { buildChildPlan, buildParentPlan, type PlanContext } from '../../src/plan';
import { planContext } from './plan-context';
import { execChildPlan, execParentPlan, processFromFlags, processFromJson, type ExecContext, type ExecFlags } from '../../src/plan/exec';
import { CLONE } from '../../src/plan/linux';
import { setEnv, withListenFds } from '../../src/plan/process';
import { ConfigError, type Step } from '../../src/plan/types';
import type { Process } from '../../src/spec/generated/types';

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);
const find = (steps: Step[], op: string): Step[] => steps.filter((s) => s.op === op);

function base(edit: (p: Process) => void = () => undefined): Process {
  const p = defaultSpec(false).process!;
  p.terminal = false;
  edit(p);
  return p;
}

function ctx(over: Partial<ExecContext> = {}): ExecContext {
  return {
    mode: 'wait',
    initPid: 4242,
    initPidfd: 4,
    joins: new Set(['mount', 'user', 'pid', 'network', 'ipc', 'uts', 'cgroup', 'time']),
    preserveFds: 0,
    lastCap: 40,
    lsm: { selinux: false },
    state: '{"ociVersion":"1.3.0","id":"c","status":"running","pid":4242,"bundle":"/b"}',
    warn: () => undefined,
    ...over,
  };
}

function flags(over: Partial<ExecFlags> = {}): ExecFlags {
  return { args: ['sh'], tty: false, env: [], additionalGids: [], caps: [], ...over };
}

t.test('parent: every namespace init does not share with runt is joined through its pidfd, the user namespace last, then a fork', async (t) => {
  const steps = execParentPlan(base(), ctx());
  t.same(ops(steps), ['RUNT-PLAN', 'MODE', 'JOIN', 'CLONE', 'END']);
  t.same(steps[1]!.args, ['wait']);
  t.same(
    find(steps, 'JOIN')[0]!.args,
    [
      4,
      4242,
      'cgroup',
      CLONE.newcgroup,
      'ipc',
      CLONE.newipc,
      'uts',
      CLONE.newuts,
      'net',
      CLONE.newnet,
      'pid',
      CLONE.newpid,
      'time',
      CLONE.newtime,
      'mnt',
      CLONE.newns,
      'user',
      CLONE.newuser,
    ],
    'the pidfd, the pid, then each namespace (its /proc/PID/ns file and type) in the order of the fallback',
  );
  t.same(find(steps, 'CLONE')[0]!.args, [0], 'no new namespace: the child is born in the joined pid namespace');
  const some = execParentPlan(base(), ctx({ joins: new Set(['mount', 'pid']), mode: 'detach' }));
  t.same(find(some, 'JOIN')[0]!.args.slice(2), ['pid', CLONE.newpid, 'mnt', CLONE.newns], 'shared namespaces are not joined');
  t.same(some[1]!.args, ['detach']);
  t.same(ops(execParentPlan(base(), ctx({ joins: new Set() }))), ['RUNT-PLAN', 'MODE', 'CLONE', 'END'], 'nothing to join: no JOIN');
  t.notOk(
    steps.some((s) => s.op === 'OPEN_FIFO'),
    'no exec fifo',
  );
});

t.test('child: the process set-up of create without mounts, pivot or fifo; READY right before EXEC', async (t) => {
  const p = base((p) => {
    p.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }];
    p.noNewPrivileges = true;
  });
  const steps = execChildPlan(p, ctx({ preserveFds: 2, joins: new Set(['mount', 'pid']) }));
  t.same(ops(steps), [
    'SETSID',
    'CLOSE_FDS',
    'PASSWD_HOME',
    'SETRLIMIT',
    'BOUNDING_DROP',
    'KEEPCAPS',
    'SETGROUPS',
    'SETRESGID',
    'SETRESUID',
    'KEEPCAPS',
    'CAPSET',
    'NO_NEW_PRIVS',
    'CHDIR',
    'FIND_EXEC',
    'SEND',
    'EXEC',
    'END',
  ]);
  t.same(find(steps, 'CLOSE_FDS')[0]!.args, [5], 'every fd from 3 + preserved on is closed before the cwd and the program are looked up');
  t.same(find(steps, 'SEND')[0]!.args, ['READY']);
  t.same(find(steps, 'PASSWD_HOME')[0]!.args, [p.user!.uid, '/'], "no HOME in its env: the shim takes it from the container's /etc/passwd");
  t.notOk(ops(execChildPlan({ ...p, env: ['HOME=/h'] }, ctx())).includes('PASSWD_HOME'), 'a HOME of its own is kept');
  const tty = execChildPlan({ ...p, terminal: true, consoleSize: { height: 24, width: 80 } }, ctx({ consoleSocket: '/s' }));
  t.same(ops(tty).slice(0, 5), ['SETRESGID', 'SETRESUID', 'SETSID', 'TERMINAL', 'CLOSE_FDS'], 'root of the joined user namespace first, its own session');
  t.same(tty[3], { op: 'TERMINAL', args: [24, 80, 0], field: 'process.terminal' }, "the container's /dev/console is left alone");
  const noMountNs = execChildPlan(p, ctx({ joins: new Set(['pid']) }));
  t.same(
    noMountNs.slice(1, 3).map((s) => [s.op, ...s.args]),
    [
      ['ROOTFS', `/proc/${ctx().initPid}/root`],
      ['CHROOT', 0],
    ],
    "init in the runtime's mount namespace (none of its own): the process is chrooted into init's root",
  );
});

t.test('the terminal: a console socket, the relay in the foreground, or an error naming the field', async (t) => {
  const tty = base((p) => {
    p.terminal = true;
  });
  t.same(find(execParentPlan(tty, ctx({ consoleSocket: '/run/s.sock' })), 'CONSOLE_CONNECT')[0]!.args, ['/run/s.sock']);
  t.same(ops(execParentPlan(tty, ctx({ consoleRelay: true })).slice(0, 3)), ['RUNT-PLAN', 'MODE', 'CONSOLE_RELAY']);
  t.same(find(execParentPlan(tty, ctx({ consoleRelay: true, consoleSocket: '/s' })), 'CONSOLE_RELAY'), [], 'a socket wins');
  t.throws(() => execParentPlan(tty, ctx()), /process.terminal: a terminal needs --console-socket/);
  t.throws(() => execParentPlan(base(), ctx({ consoleSocket: '/s' })), /--console-socket: given but process.terminal is false/);
  t.same(find(execParentPlan(base(), ctx({ consoleRelay: true })), 'CONSOLE_RELAY'), [], 'no terminal, no relay');

  // create and run: the same choice, and the init's pty is also its /dev/console
  const spec = defaultSpec(false);
  const pctx = (over: Partial<PlanContext>): PlanContext => planContext({ mode: 'wait', ...over });
  const parent = buildParentPlan(spec, pctx({ consoleRelay: true }));
  t.same(ops(parent.steps).slice(0, 3), ['RUNT-PLAN', 'MODE', 'CONSOLE_RELAY']);
  t.same(find(buildChildPlan(spec, parent.namespaces, pctx({ consoleRelay: true }), '{}'), 'TERMINAL')[0]!.args, [0, 0]);
  t.throws(() => buildParentPlan(spec, pctx({ mode: 'detach' })), /process.terminal: a terminal needs --console-socket/);
});

t.test("the process from the command line: runc's merge over the container's", async (t) => {
  const b = base((p) => {
    p.terminal = true;
    p.user = { uid: 0, gid: 0, additionalGids: [3] };
    p.capabilities!.inheritable = ['CAP_KILL'];
  });
  const p = processFromFlags(
    b,
    flags({
      args: ['id', '-u'],
      env: ['TERM=dumb', 'NEW=1'],
      cwd: '/tmp',
      user: '1000:100',
      additionalGids: ['10', '20'],
      caps: ['CAP_SYS_ADMIN', 'CAP_KILL'],
      noNewPrivs: true,
    }),
  );
  t.same(p.args, ['id', '-u']);
  t.equal(p.terminal, false, 'a terminal only with --tty');
  t.same(p.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=dumb', 'NEW=1'], '--env replaces in place, or adds');
  t.equal(p.cwd, '/tmp');
  t.same(p.user, { uid: 1000, gid: 100, additionalGids: [3, 10, 20] });
  t.equal(p.noNewPrivileges, true);
  const caps = p.capabilities!;
  for (const set of ['bounding', 'effective', 'permitted'] as const) t.ok(caps[set]!.includes('CAP_SYS_ADMIN'), `${set} gets --cap`);
  t.same(caps.inheritable, ['CAP_KILL'], 'never the inheritable set (CVE-2022-29162)');
  t.equal(caps.ambient, undefined);
  t.equal(new Set(caps.bounding).size, caps.bounding!.length, 'no duplicates');
  t.same(processFromFlags(b, flags({ user: '7' })).user, { uid: 7, gid: 0, additionalGids: [3] }, 'uid alone keeps the gid');
  t.equal(b.args!.length, 1, "the container's process is not changed");

  const bad: [Partial<ExecFlags>, RegExp][] = [
    [{ args: [] }, /exec args cannot be empty/],
    [{ user: 'root' }, /--user: "root" is not a uid/],
    [{ user: '1:2:3' }, /--user: "1:2:3" is not uid\[:gid\]/],
    [{ user: '1:-2' }, /--user: "-2" is not a gid/],
    [{ additionalGids: ['x'] }, /--additional-gids: "x" is not a group id/],
    [{ caps: ['CAP_NOPE'] }, /--cap: unknown capability "CAP_NOPE"/],
    [{ env: ['NOEQUALS'] }, /--env: "NOEQUALS" is not KEY=VALUE/],
    [{ cwd: 'rel' }, /--cwd: must be an absolute path/],
  ];
  for (const [over, re] of bad) t.throws(() => processFromFlags(b, flags(over)), re, JSON.stringify(over));
});

t.test("the process from --process: its fields over the container's, the terminal only when it asks", async (t) => {
  const b = base((p) => {
    p.terminal = true;
    p.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 2 }];
  });
  const p = processFromJson(b, { args: ['ps'], env: ['A=1'], cwd: '/', user: { uid: 5, gid: 5 } }, 'p.json');
  t.same([p.args, p.env, p.user, p.terminal], [['ps'], ['A=1'], { uid: 5, gid: 5 }, false]);
  t.same(p.rlimits, b.rlimits, "what it leaves out is the container's");
  t.equal(processFromJson(b, { args: ['sh'], terminal: true }, 'p.json').terminal, true);
  t.throws(() => processFromJson(b, [], 'p.json'), new ConfigError('p.json: must be a JSON object (a process)'));
  t.throws(() => processFromJson(b, { cwd: '/' }, 'p.json'), new ConfigError('p.json: args: is required'));
});

t.test('socket activation: LISTEN_FDS and LISTEN_PID set once, in place of any the process had', async (t) => {
  const p = base((p) => {
    p.env = ['A=1', 'LISTEN_PID=99', 'B=2'];
  });
  t.same(withListenFds(p, 2, 1).env, ['A=1', 'LISTEN_PID=1', 'B=2', 'LISTEN_FDS=2']);
  t.equal(withListenFds(p, 0, 1), p, 'none given: the process as it is');
  t.same(setEnv(undefined, ['X=1', 'X=2']), ['X=2'], 'the last of duplicates wins');
});

t.test('--cgroup: a sub-cgroup in every hierarchy, or in those of the named controllers', async (t) => {
  const h = (mountPoint: string, version: 1 | 2, controllers: string[]): Hierarchy => ({ version, mountPoint, root: '/', controllers, ownPath: '/' });
  const hierarchies = [h('/cg/memory', 1, ['memory']), h('/cg/cpu', 1, ['cpu', 'cpuacct']), h('/cg/unified', 2, []), h('/cg/other', 1, ['pids'])];
  const set = { dirs: { '/cg/memory': '/cg/memory/runt/c', '/cg/cpu': '/cg/cpu/runt/c', '/cg/unified': '/cg/unified/runt/c' }, created: ['/cg/memory/runt/c'] };
  t.same(subCgroup(set, hierarchies, 'sub/x').dirs, {
    '/cg/memory': '/cg/memory/runt/c/sub/x',
    '/cg/cpu': '/cg/cpu/runt/c/sub/x',
    '/cg/unified': '/cg/unified/runt/c/sub/x',
  });
  t.same(subCgroup(set, hierarchies, 'cpuacct,memory:/s').dirs, {
    '/cg/memory': '/cg/memory/runt/c/s',
    '/cg/cpu': '/cg/cpu/runt/c/s',
    '/cg/unified': '/cg/unified/runt/c',
  });
  t.same(subCgroup(set, hierarchies, '../../escape').dirs['/cg/memory'], '/cg/memory/runt/c/escape', "never above the container's cgroup");
  t.same(subCgroup(set, hierarchies, 'sub').created, [], "nothing of it is runt's to remove");
  t.throws(() => subCgroup(set, hierarchies, 'pids:s'), /--cgroup: the container has no cgroup v1 hierarchy with controller "pids"/);
  t.throws(() => subCgroup(set, hierarchies, 'memory:..'), /--cgroup: "memory:.." names no sub-cgroup/);
});

t.test("the command line: the command and its flags are the container's, repeatable flags collect", async (t) => {
  const p = parseArgv(['exec', '-e', 'A=1', '--env', 'B=2', '-u', '1:1', '-t', 'c1', 'sh', '-c', 'ls -l', '--', '-x']);
  t.same(p.args, ['c1', 'sh', '-c', 'ls -l', '--', '-x']);
  t.match(p.command?.options, { env: ['A=1', 'B=2'], user: '1:1', tty: true, cwd: undefined, noNewPrivs: undefined });
  t.same(parseArgv(['exec', '-p', '/p.json', 'c1']).args, ['c1']);
});
