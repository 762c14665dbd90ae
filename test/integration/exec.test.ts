// `runt exec` as clients drive it: a process joins a running (or created) container. (exec -t: terminal.test.ts.)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, cgroupDirs, readState, RUNT, runningContainer, runtAsync, setup, terminateWhenReady, TERM_TRAP, waitExit } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

/** The processes (not zombies) in the pid namespace of init `pid`, seen from the host. */
function livePidsIn(pid: number): number[] {
  const ns = readlinkSync(`/proc/${pid}/ns/pid`);
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/pid`) === ns && !/^\S+ \(.*\) Z/s.test(readFileSync(`/proc/${p}/stat`, 'latin1'));
      } catch {
        return false;
      }
    });
}

const capMask = (...caps: number[]): string =>
  caps
    .reduce((m, c) => m | (1n << BigInt(c)), 0n)
    .toString(16)
    .padStart(16, '0');
// the default spec's CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
const DEFAULT_CAPS = [5, 10, 29];

t.test('exec runs a command in the container: its output and exit status, the pid namespace, the cgroup', async (t) => {
  const env = setup(t);
  const { id, pid } = runningContainer(env);
  const r = env.runt(['exec', id, 'sh', '-c', 'echo out; echo err >&2; ps -o pid,args | sed -n 2p; hostname; exit 5']);
  t.equal(r.status, 5, "the process's exit status is runt's");
  t.equal(r.stdout, 'out\n    1 sleep 300\nrunt\n', "init is pid 1 of the process's pid namespace");
  t.equal(r.stderr, 'err\n');
  const cgroups = env.runt(['exec', id, 'sh', '-c', 'cat /proc/self/cgroup; echo; cat /proc/1/cgroup']);
  const [own, init] = cgroups.stdout.trim().split('\n\n');
  t.equal(own, init, "/proc/self/cgroup is init's");
  const ns = env.runt(['exec', id, 'sh', '-c', 'for n in pid mnt net uts ipc; do readlink /proc/self/ns/$n; done']);
  t.equal(ns.stdout, ['pid', 'mnt', 'net', 'uts', 'ipc'].map((n) => `${readlinkSync(`/proc/${pid}/ns/${n}`)}\n`).join(''), "init's namespaces");
  t.equal(env.runt(['exec', id, 'ls', '-1a', '/']).stdout, `${readdirSync(`/proc/${pid}/root`).concat('.', '..').sort().join('\n')}\n`, "init's root");
});

t.test('exec -d returns once the process runs; the pid file holds its pid, digits only', async (t) => {
  const env = setup(t);
  const { id, pid } = runningContainer(env);
  const pidFile = join(env.tmp, 'exec.pid');
  const r = env.runt(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '301']);
  t.equal(r.status, 0, r.stderr);
  const text = readFileSync(pidFile, 'utf8');
  t.match(text, /^\d+$/);
  t.equal(readFileSync(`/proc/${text}/cmdline`, 'latin1'), 'sleep\u0000301\u0000', 'already the program, not the shim');
  t.equal(readlinkSync(`/proc/${text}/ns/pid`), readlinkSync(`/proc/${pid}/ns/pid`));
  t.equal(readState(env, id).status, 'running');
});

t.test('exec -p process.json as containerd writes it: args, env, cwd, user, terminal, capabilities', async (t) => {
  const env = setup(t);
  const { id } = runningContainer(env);
  const file = join(env.tmp, 'process.json');
  writeFileSync(
    file,
    JSON.stringify({
      terminal: false,
      user: { uid: 1000, gid: 1001, additionalGids: [10] },
      args: ['sh', '-c', 'id -u; id -g; id -G; pwd; echo $FOO; grep -E "^(CapInh|CapEff|CapAmb|NoNewPrivs)" /proc/self/status'],
      env: ['PATH=/bin:/sbin', 'FOO=from-json'],
      cwd: '/etc',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] },
      noNewPrivileges: true,
    }),
  );
  const r = env.runt(['exec', '-p', file, id]);
  t.equal(r.status, 0, r.stderr);
  const mask = capMask(5);
  t.equal(r.stdout.replace(/\t/g, ' '), `1000\n1001\n1001 10\n/etc\nfrom-json\nCapInh: ${mask}\nCapEff: ${mask}\nCapAmb: ${mask}\nNoNewPrivs: 1\n`);
  writeFileSync(file, JSON.stringify({ args: ['true'], user: { uid: 'x' } }));
  const bad = env.runt(['exec', '-p', file, id]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /--process .*process.json: process.user.uid: must be integer/);
});

t.test('exec --env --cwd --user --additional-gids --no-new-privs', async (t) => {
  const env = setup(t);
  const { id } = runningContainer(env);
  const r = env.runt([
    'exec',
    '-e',
    'FOO=1',
    '--env',
    'TERM=dumb',
    '--cwd',
    '/etc',
    '-u',
    '1000:100',
    '-g',
    '10',
    '-g',
    '20',
    '--no-new-privs',
    id,
    'sh',
    '-c',
    'echo $FOO $TERM $(env | grep -c ^TERM=); pwd; id -u; id -g; id -G; grep NoNewPrivs /proc/self/status',
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.replace(/\t/g, ' '), '1 dumb 1\n/etc\n1000\n100\n100 10 20\nNoNewPrivs: 1\n');
  const bad = env.runt(['exec', '-u', 'nobody', id, 'true']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /--user: "nobody" is not a uid/);
  const noArgs = env.runt(['exec', id]);
  t.equal(noArgs.status, 1);
  t.match(noArgs.stderr, /exec args cannot be empty/);
});

t.test('--cap adds to the effective, permitted and bounding sets, never to the inheritable one', async (t) => {
  const env = setup(t);
  const { id } = runningContainer(env, (s) => {
    s.process!.capabilities!.inheritable = ['CAP_KILL'];
  });
  const r = env.runt(['exec', '--cap', 'CAP_SYS_ADMIN', '-c', 'CAP_NET_RAW', id, 'grep', '^Cap', '/proc/self/status']);
  t.equal(r.status, 0, r.stderr);
  const caps = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/:\s+/)),
  );
  const added = capMask(...DEFAULT_CAPS, 21, 13);
  t.same(caps, { CapInh: capMask(5), CapPrm: added, CapEff: added, CapBnd: added, CapAmb: capMask() });
  const bad = env.runt(['exec', '--cap', 'CAP_BOGUS', id, 'true']);
  t.match(bad.stderr, /--cap: unknown capability "CAP_BOGUS"/);
});

t.test("exec into a container that is stopped, missing or paused fails with runc's words", async (t) => {
  const env = setup(t);
  const missing = env.runt(['exec', 'no-such-container', 'true']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /container does not exist/);
  const { id, pid } = runningContainer(env);
  const pause = env.runt(['pause', id]);
  if (pause.status === 0) {
    const paused = env.runt(['exec', id, 'true']);
    t.equal(paused.status, 1);
    t.match(paused.stderr, /cannot exec in a paused container \(use --ignore-paused to override\)/);
    // with --ignore-paused the process waits in the frozen cgroup, and runt with it, without the lock resume needs
    const ignoring = runtAsync(env, ['exec', '--ignore-paused', id, 'echo', 'after resume']);
    let out = '';
    ignoring.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => ignoring.on('exit', (c) => resolve(c)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.equal(out, '', 'frozen until resume');
    t.equal(env.runt(['resume', id]).status, 0);
    t.equal(await exited, 0);
    t.equal(out, 'after resume\n');
  } else {
    t.comment(`pause is not there yet: ${pause.stderr.trim()}`);
  }
  t.equal(env.runt(['kill', id, 'KILL']).status, 0);
  await waitExit(pid);
  const stopped = env.runt(['exec', id, 'true']);
  t.equal(stopped.status, 1);
  t.match(stopped.stderr, /cannot exec in a stopped container/);
});

t.test("the exec'd process is under the container's seccomp filter, and its no_new_privs", async (t) => {
  const env = setup(t);
  const { id } = runningContainer(env, (s) => {
    s.process!.noNewPrivileges = true;
    // ENOSYS: not the EPERM a missing capability would give
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] };
  });
  const r = env.runt(['exec', id, 'sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; hostname other 2>&1']);
  t.equal(r.stdout.replace(/\t/g, ' '), 'NoNewPrivs: 1\nSeccomp: 2\nhostname: sethostname: Function not implemented\n');
});

t.test('exec into a created container, one with a user and a time namespace', async (t) => {
  const env = setup(t);
  const id = env.id('created');
  t.equal(
    env.runt([
      'create',
      '-b',
      env.bundle(['sleep', '300'], (s) => {
        s.linux!.namespaces!.push({ type: 'user' }, { type: 'time' });
        s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux!.timeOffsets = { boottime: { secs: 86400, nanosecs: 0 } };
        s.mounts = s.mounts!.filter((m) => m.type !== 'sysfs' && m.type !== 'cgroup');
      }),
      id,
    ]).status,
    0,
  );
  const r = env.runt(['exec', '-u', '1000:1000', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map; cut -d. -f1 /proc/uptime']);
  t.equal(r.status, 0, r.stderr);
  const [uid, map, uptime] = r.stdout.split('\n');
  t.equal(uid, '1000');
  t.equal(map!.trim().split(/\s+/).join(' '), '0 100000 65536');
  t.ok(Number(uptime) > 86400, "the time namespace's clocks");
  t.equal(readState(env, id).status, 'created', 'exec does not start the container');
});

t.test('a failed exec names the cause and leaves no process: not found, not executable', async (t) => {
  const env = setup(t);
  const dir = join(env.tmp, 'mnt');
  mkdirSync(dir);
  writeFileSync(join(dir, 'noshebang'), 'echo hi\n');
  chmodSync(join(dir, 'noshebang'), 0o755);
  const { id, pid } = runningContainer(env, (s) => {
    s.mounts!.push({ destination: '/mnt', type: 'bind', source: dir, options: ['rbind', 'ro'] });
  });
  const notFound = env.runt(['exec', id, 'no-such-program']);
  t.equal(notFound.status, 1);
  t.match(notFound.stderr, /exec: "no-such-program": executable file not found in \$PATH/);
  for (const detach of [[], ['-d']]) {
    // the program is found; its execve fails after the child's READY: the driver still reads the ERR
    const r = env.runt(['exec', ...detach, id, '/mnt/noshebang']);
    t.equal(r.status, 1, `${detach.join('')}: exit status`);
    t.match(r.stderr, /exec \/mnt\/noshebang: Exec format error/, `${detach.join('')}: message`);
  }
  t.same(livePidsIn(pid), [pid], "nothing left but init (a detached child that failed is a zombie of the host's reaper)");
});

t.test("no fd leaks into an exec'd process; --preserve-fds passes extra fds", async (t) => {
  const env = setup(t);
  const { id } = runningContainer(env);
  const file = join(env.tmp, 'fd3');
  for (const preserve of [0, 1]) {
    // runt gets an fd 3 either way (runc's fd-leak test): without --preserve-fds it must not reach the process
    const fd = openSync(file, 'w');
    const write = preserve ? 'echo via-fd3 >&3; ' : '';
    const r = env.runt(['exec', '--preserve-fds', String(preserve), id, 'sh', '-c', `${write}ls /proc/self/fd | tr "\\n" " "`], { extraFds: [fd] });
    closeSync(fd);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, preserve ? '0 1 2 3 4 ' : '0 1 2 3 ', `--preserve-fds ${preserve}: stdio, the preserved fds, and ls's own`);
  }
  t.equal(readFileSync(file, 'utf8'), 'via-fd3\n');
});

t.test('socket activation: LISTEN_FDS fds reach the process of run and exec, with LISTEN_FDS and LISTEN_PID', async (t) => {
  const env = setup(t);
  const file = join(env.tmp, 'listen');
  const viaSystemd = (args: string[]): ReturnType<typeof spawnSync> => {
    const fd = openSync(file, 'a');
    try {
      // as systemd starts a socket-activated service: LISTEN_PID is runt's own pid
      return spawnSync('sh', ['-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', 'sh', RUNT, '--root', env.root, ...args], {
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe', fd],
        env: { PATH: process.env.PATH },
        timeout: 60_000,
      });
    } finally {
      closeSync(fd);
    }
  };
  const script = 'echo $LISTEN_FDS $LISTEN_PID $$; echo from-$0 >&3; ls /proc/self/fd | tr "\\n" " "';
  const run = viaSystemd(['run', '-b', env.bundle(['sh', '-c', script, 'run']), env.id('listen')]);
  t.equal(run.status, 0, String(run.stderr));
  t.equal(run.stdout, '1 1 1\n0 1 2 3 4 ', "LISTEN_PID is the process's own pid");
  const { id } = runningContainer(env);
  const ex = viaSystemd(['exec', id, 'sh', '-c', script, 'exec']);
  t.equal(ex.status, 0, String(ex.stderr));
  const [counts, fds] = String(ex.stdout).split('\n');
  const [n, listenPid, ownPid] = counts!.split(' ');
  t.equal(n, '1');
  t.equal(listenPid, ownPid, "LISTEN_PID is the exec'd process's pid in the container");
  t.equal(fds, '0 1 2 3 4 ');
  t.equal(readFileSync(file, 'utf8'), 'from-run\nfrom-exec\n');
  const other = spawnSync(RUNT, ['--root', env.root, 'exec', id, 'sh', '-c', 'echo ${LISTEN_FDS:-none}'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, LISTEN_FDS: '1', LISTEN_PID: '1' },
  });
  t.equal(other.stdout, 'none\n', "fds meant for another process are not runt's to pass on");
});

t.test("--cgroup: the process joins a sub-cgroup of the container's", async (t) => {
  const env = setup(t);
  const { id, bundle } = runningContainer(env);
  const cg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).linux.cgroupsPath as string;
  const subs = cgroupDirs(cg).map((d) => join(d, 'sub'));
  for (const d of subs) {
    mkdirSync(d);
    // a v1 cpuset cgroup takes no task before it has cpus and mems
    for (const f of ['cpuset.cpus', 'cpuset.mems']) if (existsSync(join(d, f))) writeFileSync(join(d, f), readFileSync(join(d, '..', f)));
  }
  try {
    const all = env.runt(['exec', '--cgroup', 'sub', id, 'cat', '/proc/self/cgroup']);
    t.equal(all.status, 0, all.stderr);
    const lines = all.stdout
      .trim()
      .split('\n')
      .filter((l) => !l.includes(':name='));
    t.ok(lines.length > 1 && lines.every((l) => l.endsWith(':/sub')), all.stdout);
    const mem = env.runt(['exec', '--cgroup', 'memory:sub', id, 'cat', '/proc/self/cgroup']);
    t.match(mem.stdout, /:memory:\/sub\n/);
    t.match(mem.stdout, /:pids:\/\n/);
    const missing = env.runt(['exec', '--cgroup', 'nope', id, 'true']);
    t.equal(missing.status, 1);
    t.match(missing.stderr, /--cgroup: .*\/nope does not exist/);
  } finally {
    for (const d of subs) if (existsSync(d)) rmdirSync(d);
  }
});

t.test('exec in the foreground forwards signals to the process', async (t) => {
  const env = setup(t);
  const { id } = runningContainer(env);
  const { code, out } = await terminateWhenReady(env, ['exec', id, ...TERM_TRAP]);
  t.equal(code, 7);
  t.match(out, /term/);
});
