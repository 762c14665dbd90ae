// Which errors are the user's (one line, no stack: a UserError naming the field or the path) and which are
// runt's own bugs (a plain Error, its stack under --debug); and that a failed read is not taken for "gone".
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { type CgroupHost, type CgroupSet, applyResources, checkDeviceRule, createCgroup, deviceFilter, pidsOf } from '../../src/cgroups';
import * as errors from '../../src/errors';
import { HostError, UserError, errnoOf, errnoText, hostFailure } from '../../src/errors';
import { loadRecord, writeAtomic } from '../../src/container/store';
import type * as Status from '../../src/container/status';
import type { ContainerRecord } from '../../src/container/store';

function tmpdir(tt: { teardown(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'runt-err-'));
  tt.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: from the test`), { code });

/** A v1 host with one memory hierarchy at `<dir>/memory`, and a container's set in it. */
function memoryHost(dir: string): { host: CgroupHost; set: CgroupSet; cg: string } {
  const mountPoint = path.join(dir, 'memory');
  const cg = path.join(mountPoint, 'c1');
  fs.mkdirSync(cg, { recursive: true });
  const host: CgroupHost = { mode: 'v1', hierarchies: [{ version: 1, mountPoint, root: '/', controllers: ['memory'], ownPath: '/' }] };
  return { host, set: { dirs: { [mountPoint]: cg }, created: [] }, cg };
}

t.test('hostFailure: an errno is the host refusing; a UserError stays; anything else is a bug, unchanged', async (t) => {
  const refused = hostFailure('reading /x/y', errno('EACCES'));
  t.type(refused, HostError);
  t.type(refused, UserError);
  t.equal(refused.message, 'reading /x/y: EACCES (permission denied)');
  t.equal(errnoOf(refused), 'EACCES', 'the errno stays readable');
  const user = new UserError('linux.foo: bad');
  t.equal(hostFailure('x', user), user);
  const bug = new TypeError("Cannot read properties of undefined (reading 'dirs')");
  t.equal(hostFailure('x', bug), bug, 'not made into a user error');
  t.equal(errnoText('ESRCH'), 'ESRCH (no such process)');
  t.equal(errnoText('ENOTANERRNO'), 'ENOTANERRNO');
});

t.test('a cgroup write the kernel refuses (EINVAL) names the field and the file, and is a UserError', async (t) => {
  const { host, set, cg } = memoryHost(tmpdir(t));
  // a file whose kernel side refuses the value: oom_score_adj takes -1000..1000, so a limit of 64 MiB is EINVAL
  fs.symlinkSync('/proc/self/oom_score_adj', path.join(cg, 'memory.limit_in_bytes'));
  const limit = 64 * 1024 * 1024;
  const e = t.throws(() => applyResources(host, set, { memory: { limit } })) as Error;
  t.type(e, HostError);
  t.equal(e.message, `linux.resources.memory.limit: cannot write "${limit}" to ${cg}/memory.limit_in_bytes: EINVAL (value refused by the kernel)`);
  t.equal(errnoOf(e), 'EINVAL');
});

t.test('a controller the container has no cgroup for is the host, named by field', async (t) => {
  const { host, set } = memoryHost(tmpdir(t));
  const e = t.throws(() =>
    applyResources({ ...host, hierarchies: [...host.hierarchies, { ...host.hierarchies[0]!, controllers: ['pids'], mountPoint: '/nowhere' }] }, set, {
      pids: { limit: 5 },
    }),
  ) as Error;
  t.type(e, UserError);
  t.match(e.message, /^linux\.resources\.pids\.limit: /);
});

t.test("createCgroup: the host's refusal says where, a bug is not wrapped", async (t) => {
  const dir = tmpdir(t);
  const { host } = memoryHost(dir);
  fs.writeFileSync(path.join(dir, 'memory', 'runt'), 'a file where a directory goes');
  const e = t.throws(() => createCgroup(host, '/runt/c2')) as Error;
  t.type(e, HostError);
  t.match(e.message, new RegExp(`^cgroups: creating /runt/c2 in ${dir}/memory: making ${dir}/memory/runt/c2: ENOTDIR`));
  const broken = { mode: 'v1', hierarchies: [undefined] } as unknown as CgroupHost;
  const bug = t.throws(() => createCgroup(broken, '/runt/c3')) as Error;
  t.type(bug, TypeError, "runt's own mistake keeps its type (and its stack for --debug)");
  t.notOk(bug instanceof UserError);
});

t.test('device rules that cannot be right are the config, named by field', async (t) => {
  const bad = t.throws(() => checkDeviceRule({ allow: true, type: 'x' as 'c' }, 'linux.resources.devices[0]')) as Error;
  t.type(bad, UserError);
  t.match(bad.message, /^linux\.resources\.devices\[0\]\.type: invalid device type "x"/);
  const access = t.throws(() => checkDeviceRule({ allow: true, access: 'rx' }, 'linux.resources.devices[1]')) as Error;
  t.type(access, UserError);
  t.match(access.message, /^linux\.resources\.devices\[1\]\.access: /);
  const hole = t.throws(() =>
    deviceFilter(
      [
        { allow: true, type: 'c', major: 1, access: 'rwm' },
        { allow: false, type: 'c', major: 1, minor: 3, access: 'r' },
      ],
      'linux.resources.devices',
    ),
  ) as Error;
  t.type(hole, UserError, 'a hole in a wildcard rule');
  t.match(hole.message, /^linux\.resources\.devices\[1\]: cannot take access away/);
});

t.test('pidsOf: a cgroup it cannot read is reported, not taken for empty', async (t) => {
  const { set, cg } = memoryHost(tmpdir(t));
  fs.mkdirSync(path.join(cg, 'cgroup.procs'));
  const e = t.throws(() => pidsOf(set)) as Error;
  t.type(e, HostError);
  t.equal(e.message, `listing the processes of ${cg}: EISDIR (illegal operation on a directory)`);
  t.same(pidsOf({ dirs: { x: path.join(cg, 'gone') }, created: [] }), [], 'a cgroup that is gone holds none');
});

/** status.ts with readFileSync failing with `code` for /proc paths. */
function statusWithProcFailing(t: Test, code: string): typeof Status {
  return t.mockRequire('../../src/container/status', {
    '../../src/errors': errors,
    'node:fs': {
      ...fs,
      readFileSync: (file: string, ...rest: unknown[]) => {
        if (String(file).startsWith('/proc/')) throw errno(code);
        return (fs.readFileSync as (...a: unknown[]) => unknown)(file, ...rest);
      },
    },
  }) as typeof Status;
}

const record = (pid: number): ContainerRecord =>
  ({ id: 'c', pid, startTime: '1', createdDone: true, annotations: {}, config: {} }) as unknown as ContainerRecord;

t.test('status: a process whose /proc entry cannot be read (EACCES) is not "stopped"', async (t) => {
  const status = statusWithProcFailing(t, 'EACCES');
  const e = t.throws(() => status.containerStatus(record(4242), '/nonexistent')) as Error;
  t.type(e, HostError);
  t.equal(e.message, 'container status: reading /proc/4242/stat: EACCES (permission denied)');
  t.type(
    t.throws(() => status.isAlive(record(4242))),
    HostError,
    'nor dead',
  );
});

t.test('status: gone is ENOENT, or ESRCH (the process died between the open and the read)', async (t) => {
  for (const code of ['ENOENT', 'ESRCH']) {
    const status = statusWithProcFailing(t, code);
    t.equal(status.procStat(4242), undefined, code);
    t.equal(status.containerStatus(record(4242), '/nonexistent'), 'stopped', code);
  }
});

t.test('the state store: a record it cannot read, a file it cannot write, name the path', async (t) => {
  const root = tmpdir(t);
  fs.chmodSync(root, 0o700);
  fs.mkdirSync(path.join(root, 'c1', 'state.json'), { recursive: true, mode: 0o711 });
  fs.chmodSync(path.join(root, 'c1'), 0o711);
  const e = t.throws(() => loadRecord(root, 'c1')) as Error;
  t.type(e, HostError);
  t.equal(e.message, `reading ${root}/c1/state.json: EISDIR (illegal operation on a directory)`);
  const w = t.throws(() => writeAtomic(path.join(root, 'no-such-dir', 'pid'), '1')) as Error;
  t.type(w, HostError);
  t.equal(w.message, `writing ${root}/no-such-dir/pid: ENOENT (no such file or directory)`);
});
