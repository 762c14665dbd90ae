// A container's cgroup is where `kill --all` and `delete` look for the container's processes. `create` joined a
// cgroup that already held processes (linux.cgroupsPath naming someone else's), and those processes were then
// killed as the container's. As runc does, a cgroup that holds processes, or is frozen, is now refused; and
// the default cgroup (no cgroupsPath) is one per state root, so the same id under two roots never shares one.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectHost, hasControllers } from '../../src/cgroups';
import { canRun, readState, RUNT, setup, waitExit } from '../integration/harness';
import { attack, refused } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

/** A cgroup of someone else's in every hierarchy runt uses (removed in teardown, after what is in it). */
function foreignCgroup(t: Test, name: string): string[] {
  const hierarchies = detectHost().hierarchies.filter(hasControllers);
  const dirs = hierarchies.map((h) => join(h.mountPoint, name));
  for (const [i, dir] of dirs.entries()) {
    mkdirSync(dir);
    // a new v1 cpuset takes no process until it has cpus and mems
    if (hierarchies[i]!.controllers.includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(hierarchies[i]!.mountPoint, f)));
    }
  }
  t.teardown(() => {
    for (const dir of dirs) if (existsSync(dir)) rmdirSync(dir);
  });
  return dirs;
}

function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

t.test('a cgroup that holds a bystander is refused; the bystander survives', async (t) => {
  // made before the harness's environment, removed after it (teardowns run last first)
  const name = `runt-bystander-${process.pid}`;
  const dirs = foreignCgroup(t, name);
  const { env } = attack(t);
  const bystander = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.teardown(async () => {
    bystander.kill('SIGKILL');
    await waitExit(bystander.pid!);
  });
  for (const dir of dirs) writeFileSync(join(dir, 'cgroup.procs'), String(bystander.pid));
  const id = env.id('bystander');
  const r = env.runt([
    'create',
    '-b',
    env.bundle(['sleep', '300'], (s) => {
      s.linux!.cgroupsPath = `/${name}`;
    }),
    id,
  ]);
  refused(t, r, new RegExp(`^runt: cgroups: /${name}: container's cgroup is not empty: 1 process\\(es\\) found\\n$`));
  // what a client does next with the container it thinks it made
  env.runt(['kill', '--all', id, 'KILL']);
  env.runt(['delete', '--force', id]);
  await new Promise((r) => setTimeout(r, 100));
  t.ok(alive(bystander.pid!), 'the bystander still runs');
  for (const dir of dirs) t.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), `${bystander.pid}\n`, `${dir} is as it was`);
  t.notOk(existsSync(join(env.root, id)), 'no state dir');
});

t.test('a frozen cgroup is refused', async (t) => {
  // made before the harness's environment, removed after it (teardowns run last first)
  const name = `runt-frozen-${process.pid}`;
  const dirs = foreignCgroup(t, name);
  const { env } = attack(t);
  const v1 = dirs.find((d) => existsSync(join(d, 'freezer.state')));
  const file = v1 ? join(v1, 'freezer.state') : join(dirs.find((d) => existsSync(join(d, 'cgroup.freeze')))!, 'cgroup.freeze');
  writeFileSync(file, v1 ? 'FROZEN' : '1');
  t.teardown(() => writeFileSync(file, v1 ? 'THAWED' : '0'));
  const id = env.id('frozen');
  const r = env.runt([
    'create',
    '-b',
    env.bundle(['true'], (s) => {
      s.linux!.cgroupsPath = `/${name}`;
    }),
    id,
  ]);
  refused(t, r, new RegExp(`^runt: cgroups: /${name}: container's cgroup unexpectedly frozen\\n$`));
  t.notOk(existsSync(join(env.root, id)), 'no state dir');
});

t.test('the default cgroup: one id under two state roots, two cgroups', async (t) => {
  const first = setup(t);
  const second = setup(t);
  const noCgroupsPath = (s: { linux?: { cgroupsPath?: string } }): void => {
    delete s.linux!.cgroupsPath;
  };
  const id = first.id('twin');
  t.teardown(() => spawnSync(RUNT, ['--root', second.root, 'delete', '--force', id]));
  for (const env of [first, second]) {
    const r = env.runt(['run', '-d', '-b', env.bundle(['sleep', '300'], noCgroupsPath), id]);
    t.equal(r.status, 0, r.stderr);
  }
  const pidOf = (env: typeof first): number => readState(env, id).pid as number;
  const cgroupOf = (pid: number): string => /^\d+:pids:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? '';
  const [p1, p2] = [pidOf(first), pidOf(second)];
  const [cg1, cg2] = [cgroupOf(p1), cgroupOf(p2)];
  t.match(cg1, new RegExp(`^/runt-[0-9a-f]{12}/${id}$`));
  t.not(cg1, cg2, 'each root has its own');
  t.equal(first.runt(['kill', '--all', id, 'KILL']).status, 0);
  await waitExit(p1);
  t.ok(alive(p2), "kill --all under one root leaves the other root's container running");
  t.equal(first.runt(['delete', id]).status, 0);
  t.equal(readState(second, id).status, 'running');
  const parents = [cg1, cg2].map((c) => `/sys/fs/cgroup/pids${c.slice(0, c.lastIndexOf('/'))}`);
  t.equal(second.runt(['delete', '--force', id]).status, 0);
  t.same(
    parents.filter((d) => existsSync(d)),
    [],
    'each root removed the parent it made: none is shared, none stays',
  );
});
