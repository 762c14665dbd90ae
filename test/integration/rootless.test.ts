// Rootless mode, run by a real unprivileged user made for this test (removed again, with its /etc/subuid and
// /etc/subgid entries, in teardown): bundles from `runt spec --rootless`, id maps written by runt or by
// newuidmap/newgidmap, the state under $XDG_RUNTIME_DIR, cgroups only where one is delegated.
import t, { type Test } from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { detectHost, v2Hierarchy } from '../../src/cgroups';
import type { Spec } from '../../src/spec/generated/types';
import { canRun, rootfs, spawnCaptured } from './harness';
import { carriedOut, type Planned, withPlaceholders } from './plan-steps';
import { runtFor } from './user';

const NAME = `rtl${process.pid}`;
const SUBID_COUNT = 65536;

/** Why unprivileged user namespaces cannot be made here, if they cannot. */
function usernsRefused(): string | undefined {
  const sysctl = (name: string): string | undefined => {
    try {
      return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  if (sysctl('user.max_user_namespaces') === '0') return 'user.max_user_namespaces is 0';
  if (sysctl('kernel.unprivileged_userns_clone') === '0') return 'kernel.unprivileged_userns_clone is 0';
  if (sysctl('kernel.apparmor_restrict_unprivileged_userns') === '1') return 'kernel.apparmor_restrict_unprivileged_userns is 1';
  return undefined;
}

function sh(cmd: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8' });
}

/** Replaces the lines of `file` that belong to the test user (with `add`, or with nothing). */
function setSubIds(file: string, add?: string): void {
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith(`${NAME}:`));
  writeFileSync(`${file}.${NAME}`, [...kept, ...(add ? [add] : [])].map((l) => `${l}\n`).join(''), { mode: 0o644 });
  renameSync(`${file}.${NAME}`, file);
}

/** A range above every one /etc/subuid and /etc/subgid hand out. */
function freeSubIdBase(): number {
  let base = 100000;
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [, start, count] = line.split(':');
      if (start && count) base = Math.max(base, Number(start) + Number(count));
    }
  }
  return base;
}

interface User {
  uid: number;
  gid: number;
  base: number;
  tmp: string;
  xdg: string;
  runt: string;
}

/**
 * Live processes whose real uid is the user's or in its subordinate range (a container's init ends as a zombie
 * of the host's init, which reaps it when it gets to it).
 */
function processesOf(user: User): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue;
    }
    if (/^State:\s+Z/m.test(status)) continue;
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (uid === user.uid || (uid >= user.base && uid < user.base + SUBID_COUNT)) out.push(Number(pid));
  }
  return out;
}

function setUp(): string | User {
  const skip = canRun() || usernsRefused();
  if (skip) return skip;
  for (const tool of ['useradd', 'userdel', 'setpriv']) if (sh('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing`;
  const tmp = mkdtempSync('/tmp/runt-rootless-');
  chmodSync(tmp, 0o755);
  const add = sh('useradd', ['--no-create-home', '--home-dir', join(tmp, 'home'), '--user-group', '--shell', '/usr/sbin/nologin', NAME]);
  if (add.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`useradd: ${add.stderr}`);
  }
  const uid = Number(sh('id', ['-u', NAME]).stdout.trim());
  const gid = Number(sh('id', ['-g', NAME]).stdout.trim());
  const user: User = { uid, gid, base: 0, tmp, xdg: join(tmp, 'xdg'), runt: '' };
  t.teardown(() => {
    const left = processesOf(user);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    sh('userdel', ['--force', NAME]);
    setSubIds('/etc/subuid');
    setSubIds('/etc/subgid');
    rmSync(tmp, { recursive: true, force: true });
    if (left.length) throw new Error(`processes of ${NAME} left behind: ${left.join(', ')}`);
  });
  // useradd may have handed out subordinate ids of its own: the test's range replaces them
  setSubIds('/etc/subuid');
  setSubIds('/etc/subgid');
  user.base = freeSubIdBase();
  setSubIds('/etc/subuid', `${NAME}:${user.base}:${SUBID_COUNT}`);
  setSubIds('/etc/subgid', `${NAME}:${user.base}:${SUBID_COUNT}`);
  for (const dir of [join(tmp, 'home'), user.xdg]) {
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, uid, gid);
  }
  user.runt = runtFor(NAME, tmp);
  const probe = sh('setpriv', ['--reuid', NAME, '--regid', NAME, '--init-groups', 'unshare', '--user', '--map-root-user', 'true']);
  if (probe.status !== 0) return `an unprivileged user cannot make a user namespace here: ${probe.stderr.trim()}`;
  return user;
}

let u: User;
let counter = 0;

/** runt as the user, in `cwd`; `via` wraps the call (a shell that first moves itself to a cgroup). */
function runt(args: string[], opts: { cwd?: string; via?: string[] } = {}): SpawnSyncReturns<string> {
  const argv = [...(opts.via ?? []), 'setpriv', '--reuid', NAME, '--regid', NAME, '--init-groups', u.runt, ...args];
  return spawnCaptured(u.tmp, argv[0]!, argv.slice(1), {
    cwd: opts.cwd ?? u.tmp,
    env: { PATH: process.env.PATH, HOME: join(u.tmp, 'home'), XDG_RUNTIME_DIR: u.xdg },
  });
}

/** The user's copy of the busybox rootfs, made once. */
function userRootfs(): string {
  const dir = join(u.tmp, 'rootfs');
  if (!existsSync(dir)) {
    cpSync(rootfs(), dir, { recursive: true, verbatimSymlinks: true });
    const chown = sh('chown', ['-R', '--no-dereference', `${u.uid}:${u.gid}`, dir]);
    if (chown.status !== 0) throw new Error(`chown: ${chown.stderr}`);
  }
  return dir;
}

/** A bundle of the user's: `runt spec --rootless` run by the user, then `edit`ed (args, no terminal, the rootfs). */
function bundle(tt: Test, args: string[], edit?: (s: Spec) => void): string {
  const dir = join(u.tmp, `bundle${counter++}`);
  mkdirSync(dir);
  chownSync(dir, u.uid, u.gid);
  const r = runt(['spec', '--rootless'], { cwd: dir });
  tt.equal(r.status, 0, `spec --rootless: ${r.stderr}`);
  const file = join(dir, 'config.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
  spec.process!.terminal = false;
  spec.process!.args = args;
  spec.root = { path: userRootfs(), readonly: true };
  edit?.(spec);
  writeFileSync(file, JSON.stringify(spec, null, 2));
  return dir;
}

/** Deletes the container in teardown, whatever the test did. */
function id(tt: Test, name: string): string {
  const cid = `${name}-${counter++}`;
  tt.teardown(() => {
    runt(['delete', '--force', cid]);
  });
  return cid;
}

function containerDirs(): string[] {
  const root = join(u.xdg, 'runt');
  return existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
    : [];
}

function statusOf(cid: string): string {
  const r = runt(['state', cid]);
  return r.status === 0 ? (JSON.parse(r.stdout) as { status: string }).status : `error: ${r.stderr}`;
}

function defineTests(): void {
  t.test('spec --rootless and run as the user: its own id only, root inside, no cgroup (a warning)', async (tt) => {
    const r = runt(['run', '-b', bundle(tt, ['sh', '-c', 'echo hi; id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups']), id(tt, 'own')]);
    tt.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).join(' '));
    tt.same(lines, ['hi', '0', `0 ${u.uid} 1`, `0 ${u.gid} 1`, 'deny'], "the caller's ids as root; setgroups denied for the gid map");
    tt.match(r.stderr, new RegExp(`rootless: no cgroup delegated to uid ${u.uid}; running without cgroups`));
    tt.equal(r.stderr.trim().split('\n').length, 1, 'that one line and nothing else');
    tt.same(containerDirs(), [], 'nothing left in $XDG_RUNTIME_DIR/runt');
  });

  const noHelpers = !existsSync('/usr/bin/newuidmap') || !existsSync('/usr/bin/newgidmap');
  const helpers = { skip: noHelpers && 'newuidmap/newgidmap are missing (Debian package uidmap)' };
  t.test('a 65536-id subordinate range through newuidmap and newgidmap', helpers, async (tt) => {
    const cid = id(tt, 'range');
    const b = bundle(tt, ['sleep', '300'], (s) => {
      s.linux!.uidMappings = [{ containerID: 0, hostID: u.base, size: SUBID_COUNT }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: u.base, size: SUBID_COUNT }];
      s.process!.user = { uid: 1000, gid: 1000, additionalGids: [10] };
    });
    const c = runt(['create', '-b', b, cid]);
    tt.equal(c.status, 0, c.stderr);
    tt.equal(runt(['start', cid]).status, 0);
    const pid = Number((JSON.parse(runt(['state', cid]).stdout) as { pid: number }).pid);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    tt.match(status, new RegExp(`^Uid:\\s+${u.base + 1000}\\s`, 'm'), 'uid 1000 inside is base+1000 outside');
    tt.match(status, new RegExp(`^Gid:\\s+${u.base + 1000}\\s`, 'm'));
    tt.match(status, new RegExp(`^Groups:\\s+${u.base + 10}\\s*$`, 'm'), 'additionalGids: setgroups is allowed after newgidmap');
    const e = runt(['exec', cid, 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
    tt.equal(e.status, 0, e.stderr);
    tt.same(
      e.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/).join(' ')),
      ['1000', `0 ${u.base} ${SUBID_COUNT}`],
    );
    tt.equal(runt(['delete', '--force', cid]).status, 0);
    tt.same(containerDirs(), []);
  });

  t.test("a range the user was not given: newuidmap's refusal names the field, nothing is left", helpers, async (tt) => {
    const r = runt([
      'run',
      '-b',
      bundle(tt, ['true'], (s) => {
        s.linux!.uidMappings = [{ containerID: 0, hostID: 1, size: 10 }];
      }),
      id(tt, 'notgranted'),
    ]);
    tt.equal(r.status, 1);
    tt.match(r.stderr, /runt: linux\.uidMappings: \/usr\/bin\/newuidmap \d+ 0 1 10: /);
    tt.same(containerDirs(), []);
  });

  t.test('runt plan as the user: the id maps it writes or has newuidmap write, the plan create carries out', helpers, async (tt) => {
    const range = (s: Spec): void => {
      s.linux!.uidMappings = [{ containerID: 0, hostID: u.base, size: SUBID_COUNT }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: u.base, size: SUBID_COUNT }];
    };
    const cases: [string, ((s: Spec) => void) | undefined, (string | number)[][]][] = [
      [
        'own ids',
        undefined,
        [
          ['WRITE', '/proc/<pid>/uid_map', `0 ${u.uid} 1\n`],
          ['WRITE', '/proc/<pid>/setgroups', 'deny'],
          ['WRITE', '/proc/<pid>/gid_map', `0 ${u.gid} 1\n`],
        ],
      ],
      [
        'a range',
        range,
        [
          ['RUN', '/usr/bin/newuidmap', '<pid>', '0', String(u.base), String(SUBID_COUNT)],
          ['RUN', '/usr/bin/newgidmap', '<pid>', '0', String(u.base), String(SUBID_COUNT)],
        ],
      ],
    ];
    for (const [name, edit, outside] of cases) {
      const cid = id(tt, 'plan');
      const b = bundle(tt, ['sleep', '300'], edit);
      const p = runt(['plan', '--format', 'json', '-b', b, cid]);
      tt.equal(p.status, 0, `${name}: ${p.stderr}`);
      tt.same(containerDirs(), [], `${name}: plan made no state`);
      const planned = JSON.parse(p.stdout) as Planned;
      tt.same(
        planned.outside.map((s) => [s.op, ...s.args]),
        outside,
        `${name}: the maps from outside`,
      );
      tt.equal(
        planned.child.some((s) => s.op === 'SETGROUPS'),
        edit !== undefined,
        `${name}: SETGROUPS only where setgroups is allowed`,
      );
      const log = join(u.tmp, 'home', `${cid}.log`);
      const c = runt(['--debug', '--log', log, '--log-format', 'json', 'create', '-b', b, cid]);
      tt.equal(c.status, 0, `${name}: ${c.stderr}`);
      const pid = (JSON.parse(runt(['state', cid]).stdout) as { pid: number }).pid;
      tt.same(withPlaceholders(carriedOut(log), pid, join(u.xdg, 'runt')), planned, `${name}: create carried out the plan printed`);
      tt.equal(runt(['delete', '--force', cid]).status, 0);
    }
  });

  t.test('create, start, state, exec, kill, delete as the user, the state under $XDG_RUNTIME_DIR', async (tt) => {
    const cid = id(tt, 'life');
    const b = bundle(tt, ['sleep', '300']);
    const c = runt(['create', '-b', b, cid]);
    tt.equal(c.status, 0, c.stderr);
    tt.ok(existsSync(join(u.xdg, 'runt', cid, 'state.json')), 'state.json under $XDG_RUNTIME_DIR/runt');
    tt.equal(statusOf(cid), 'created');
    const early = runt(['exec', cid, 'true']);
    tt.equal(early.status, 1);
    tt.match(early.stderr, /cannot exec in a created container as a non-root user/);
    tt.match(runt(['list', '-q']).stdout, new RegExp(`^${cid}$`, 'm'));
    tt.equal(runt(['start', cid]).status, 0);
    tt.equal(statusOf(cid), 'running');
    const e = runt(['exec', cid, 'id', '-u']);
    tt.equal(e.status, 0, e.stderr);
    tt.equal(e.stdout, '0\n');
    const k = runt(['kill', cid, 'KILL']);
    tt.equal(k.status, 0, k.stderr);
    for (let i = 0; i < 200 && statusOf(cid) !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 10));
    tt.equal(statusOf(cid), 'stopped');
    const d = runt(['delete', cid]);
    tt.equal(d.status, 0, d.stderr);
    tt.same(containerDirs(), []);
    tt.match(runt(['state', cid]).stderr, /container does not exist/);
  });

  t.test('no delegated cgroup and linux.resources: an error naming the field, nothing left', async (tt) => {
    const r = runt([
      'run',
      '-b',
      bundle(tt, ['true'], (s) => {
        s.linux!.resources = { memory: { limit: 64 << 20 } };
      }),
      id(tt, 'limits'),
    ]);
    tt.equal(r.status, 1);
    tt.match(
      r.stderr,
      new RegExp(
        `^runt: linux\\.resources\\.memory: rootless: no cgroup is delegated to uid ${u.uid} \\(.* is not writable\\), so no resource limit can be applied`,
        'm',
      ),
    );
    tt.same(containerDirs(), []);
  });

  t.test('a delegated cgroup: the container gets it, with its limits, and delete removes it', async (tt) => {
    const host = detectHost();
    const name = `runt-rootless-${process.pid}`;
    const made: string[] = [];
    tt.teardown(() => {
      for (const dir of made.reverse()) rmdirSync(dir);
    });
    // what an administrator does to delegate: a cgroup of the user's in every hierarchy, cpusets filled in
    let v2Dir = '';
    for (const h of host.hierarchies) {
      const dir = join(h.mountPoint, name);
      mkdirSync(dir);
      made.push(dir);
      for (const f of ['', 'cgroup.procs', ...(h.version === 2 ? ['cgroup.subtree_control'] : [])]) chownSync(join(dir, f), u.uid, u.gid);
      if (h.controllers.includes('cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(h.mountPoint, f)));
      }
      if (h.version === 2) {
        v2Dir = dir;
        if (host.mode === 'v2') writeFileSync(join(dir, 'cgroup.subtree_control'), '+pids');
      }
    }
    const pids = host.hierarchies.find((h) => h.version === 1 && h.controllers.includes('pids')) ?? (host.mode === 'v2' ? v2Hierarchy(host) : undefined);
    // on cgroup2 the user may move a process only within its own subtree: runt starts inside it
    const via = v2Dir ? ['sh', '-c', `echo $$ > ${v2Dir}/cgroup.procs && exec "$@"`, 'sh'] : [];
    const cid = id(tt, 'deleg');
    const b = bundle(tt, ['sleep', '300'], (s) => {
      s.linux!.cgroupsPath = `/${name}/${cid}`;
      s.linux!.resources = { pids: { limit: 20 } };
    });
    const c = runt(['create', '-b', b, cid], { via });
    tt.equal(c.status, 0, c.stderr);
    tt.match(c.stderr, new RegExp(`rootless: cgroup /${name}/${cid} is delegated to uid ${u.uid}`));
    const pid = Number((JSON.parse(runt(['state', cid]).stdout) as { pid: number }).pid);
    tt.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`:/${name}/${cid}$`, 'm'), 'the process is in it');
    if (pids) tt.equal(readFileSync(join(pids.mountPoint, name, cid, 'pids.max'), 'utf8').trim(), '20', 'linux.resources.pids applied');
    tt.equal(runt(['delete', '--force', cid]).status, 0);
    for (const dir of made)
      tt.same(
        readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name),
        [],
        `${dir} is empty again`,
      );
  });

  t.test('nothing of the user is left: no process, no container dir', async (tt) => {
    tt.same(processesOf(u), []);
    tt.same(containerDirs(), []);
  });
}

const user = setUp();
if (typeof user === 'string') t.plan(0, user);
else {
  u = user;
  defineTests();
}
