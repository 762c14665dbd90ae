// The lifecycle's catch-alls narrowed: what is not there (a missing record, a gone process) is handled, and a
// failure of the host (a record it will not let runt read, a signal it refuses) is reported as the host's, never
// taken for "abandoned" or "gone"; runt's own bugs pass through unchanged.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import * as errors from '../../src/errors';
import { HostError, UserError } from '../../src/errors';
import { ContainerError, NOT_EXIST, OCI_VERSION, type ContainerRecord } from '../../src/container/store';
import type { RuntimeContext } from '../../src/lifecycle/context';
import { deleteContainer } from '../../src/lifecycle/delete';
import { hostFacts, setgroupsDenied, unlessAbsent } from '../../src/lifecycle/host';
import { listContainers } from '../../src/lifecycle/list';
import { newRecord } from '../../src/lifecycle/record';
import type * as Signal from '../../src/lifecycle/signal';
import { forwardSignals } from '../../src/lifecycle/stdio';
import { reclaimAbandoned } from '../../src/lifecycle/teardown';
import { undoAndThrow } from '../../src/lifecycle/undo';
import { updateContainer } from '../../src/lifecycle/update';

/** A state root as runt makes it (the caller's, mode 0700), removed after the test. */
function stateRoot(t: Test): RuntimeContext {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runt-lc-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return { root, systemdCgroup: false, rootless: false, criu: 'criu' };
}

/** A record as create makes it before the process (createdDone false, pid 0), with `fields` over it. */
function record(id: string, fields: Partial<ContainerRecord> = {}): ContainerRecord {
  return { ...newRecord(id, '/nonexistent', { ociVersion: OCI_VERSION, root: { path: 'rootfs' } }), ...fields };
}

type StateFile = ContainerRecord | 'missing' | 'not json' | 'a directory';

/** Container `id`'s dir under the root, its state.json as given ('a directory' makes reading it fail: EISDIR). */
function stateDir(ctx: RuntimeContext, id: string, state: StateFile): string {
  const dir = path.join(ctx.root, id);
  fs.mkdirSync(dir, { mode: 0o711 });
  fs.chmodSync(dir, 0o711);
  const file = path.join(dir, 'state.json');
  if (state === 'a directory') fs.mkdirSync(file);
  else if (state === 'not json') fs.writeFileSync(file, '{"id": "c', { mode: 0o600 });
  else if (state !== 'missing') fs.writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
  return dir;
}

/** This test's own process as a running container's init (its pid and start time), so its status is `running`. */
function runningRecord(id: string): ContainerRecord {
  const stat = fs.readFileSync('/proc/self/stat', 'latin1');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  return record(id, { createdDone: true, pid: process.pid, startTime });
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: from the test`), { code });

const realKill = process.kill;

/** process.kill replaced by `fake` until the end of the test. */
function fakeKill(t: Test, fake: (pid: number) => true): void {
  process.kill = fake;
  t.teardown(() => {
    process.kill = realKill;
  });
}

/** process.kill throwing `error` until the end of the test. */
function killFailing(t: Test, error: Error): void {
  fakeKill(t, () => {
    throw error;
  });
}

t.test('reclaimAbandoned: a record the host will not let runt read keeps its dir, and the error is reported', async (t) => {
  const ctx = stateRoot(t);
  const dir = stateDir(ctx, 'c1', 'a directory');
  const e = (await reclaimAbandoned(ctx, 'c1').catch((err: unknown) => err)) as Error;
  t.type(e, HostError);
  t.equal(e.message, `reading ${dir}/state.json: EISDIR (illegal operation on a directory)`);
  t.ok(fs.existsSync(dir), 'the dir stays: the container may be alive');
});

t.test('reclaimAbandoned: what a create that died leaves, and a damaged record, are removed', async (t) => {
  const ctx = stateRoot(t);
  const cases: [string, StateFile][] = [
    ['a record that never reached created', record('c1')],
    ['no record', 'missing'],
    ['a record that is not JSON', 'not json'],
  ];
  for (const [label, state] of cases) {
    const dir = stateDir(ctx, 'c1', state);
    await reclaimAbandoned(ctx, 'c1');
    t.notOk(fs.existsSync(dir), `${label}: removed`);
  }
  const done = stateDir(ctx, 'c2', record('c2', { createdDone: true }));
  await reclaimAbandoned(ctx, 'c2');
  t.ok(fs.existsSync(done), 'a created container stays');
});

t.test('delete: a record the host will not let runt read keeps its dir; a missing one is gone with it', async (t) => {
  const ctx = stateRoot(t);
  const unreadable = stateDir(ctx, 'c1', 'a directory');
  const e = (await deleteContainer(ctx, 'c1', true).catch((err: unknown) => err)) as Error;
  t.type(e, HostError);
  t.ok(fs.existsSync(unreadable), 'the dir of an unreadable record stays');
  const damaged = stateDir(ctx, 'c2', 'missing');
  const gone = (await deleteContainer(ctx, 'c2', true).catch((err: unknown) => err)) as Error;
  t.type(gone, ContainerError);
  t.equal(gone.message, NOT_EXIST, 'what `delete --force` takes for done');
  t.notOk(fs.existsSync(damaged), 'the dir without a record is removed');
});

t.test('list: skips what is not a container, reports what the host refused', async (t) => {
  const ctx = stateRoot(t);
  stateDir(ctx, 'c1', record('c1'));
  stateDir(ctx, '~c2.abcdef', record('c2')); // a create's temporary dir
  stateDir(ctx, 'c3', 'missing');
  t.same(
    listContainers(ctx).map((s) => [s.id, s.status]),
    [['c1', 'creating']],
  );
  stateDir(ctx, 'c4', 'a directory');
  t.throws(() => listContainers(ctx), { constructor: HostError, message: `reading ${ctx.root}/c4/state.json: EISDIR (illegal operation on a directory)` });
});

t.test('update of a container without a cgroup is a ContainerError, not a bug', async (t) => {
  const ctx = stateRoot(t);
  stateDir(ctx, 'c1', runningRecord('c1'));
  const e = (await updateContainer(ctx, 'c1', { pids: { limit: 10 } }).catch((err: unknown) => err)) as Error;
  t.type(e, ContainerError);
  t.equal(e.message, 'container c1 has no cgroup: update has no limit to change');
});

t.test('signal: a process already gone is no failure; a refused signal is the host, named', async (t) => {
  const { signalContainer } = t.mockRequire('../../src/lifecycle/signal', { '../../src/errors': errors }) as typeof Signal;
  const target = record('c1', { pid: 4242 });
  killFailing(t, errno('ESRCH'));
  t.doesNotThrow(() => signalContainer(target, 15, false));
  killFailing(t, errno('EPERM'));
  t.throws(() => signalContainer(target, 15, false), { constructor: HostError, message: 'sending signal 15 to process 4242: EPERM (operation not permitted)' });
});

/** signal.ts whose freezer fails with `error` when asked to freeze; the signals sent are pushed to `sent`. */
function signalWithFreezeFailing(t: Test, error: Error, sent: number[]): typeof Signal {
  fakeKill(t, (pid) => {
    sent.push(pid);
    return true;
  });
  return t.mockRequire('../../src/lifecycle/signal', {
    '../../src/errors': errors,
    '../../src/cgroups/freezer': {
      hasFreezer: () => true,
      isFrozen: () => false,
      setFrozen: () => {
        throw error;
      },
    },
    '../../src/cgroups/procs': { pidsOf: () => [11, 12] },
  }) as typeof Signal;
}

t.test('kill --all: a freeze the host refuses costs the freeze only; a bug is not hidden', async (t) => {
  const target = record('c1', { pid: 11, cgroup: { dirs: { '/sys/fs/cgroup': '/sys/fs/cgroup/c1' }, created: [] } });
  const sent: number[] = [];
  const refused = signalWithFreezeFailing(t, new HostError('cgroups: /sys/fs/cgroup/c1 did not become frozen within 2000 ms'), sent);
  refused.signalContainer(target, 15, true);
  t.same(sent, [11, 12], 'every process signalled, unfrozen');
  const bug = new TypeError("Cannot read properties of undefined (reading 'dir')");
  const buggy = signalWithFreezeFailing(t, bug, []);
  t.equal(
    t.throws(() => buggy.signalContainer(target, 15, true)),
    bug,
  );
});

t.test('unlessAbsent and the host facts: missing is not there; a path that cannot be looked at is the host', async (t) => {
  const ctx = stateRoot(t);
  const loop = path.join(ctx.root, 'loop');
  fs.symlinkSync(loop, loop);
  const host = hostFacts();
  t.equal(host.kindOf(path.join(ctx.root, 'nothing')), 'missing');
  t.equal(host.kindOf(path.join(ctx.root, 'nothing', 'below')), 'missing');
  t.throws(() => host.kindOf(loop), { constructor: HostError, message: `stat ${loop}: ELOOP (too many symbolic links encountered)` });
  t.throws(() => host.isProcfs(loop), { constructor: HostError, message: `statfs ${loop}: ELOOP (too many symbolic links encountered)` });
  t.equal(host.isProcfs('/proc'), true);
  t.equal(setgroupsDenied(2 ** 22 + 1), false, 'a process that is gone (beyond pid_max)');
  t.equal(
    unlessAbsent(
      'x',
      () => {
        throw errno('ESRCH');
      },
      'absent',
    ),
    'absent',
  );
  const bug = new TypeError('a bug');
  t.equal(
    t.throws(() =>
      unlessAbsent(
        'x',
        () => {
          throw bug;
        },
        0,
      ),
    ),
    bug,
  );
});

t.test('forwarded signals: a process gone is quiet, a refusal is reported and runt goes on, a bug is thrown', async (t) => {
  const stop = forwardSignals(4242, false);
  t.teardown(stop);
  killFailing(t, errno('ESRCH'));
  t.doesNotThrow(() => process.emit('SIGUSR2', 'SIGUSR2'));
  killFailing(t, errno('EPERM'));
  t.doesNotThrow(() => process.emit('SIGUSR2', 'SIGUSR2'), 'EPERM: warned');
  const bug = new TypeError('a bug');
  killFailing(t, bug);
  t.equal(
    t.throws(() => process.emit('SIGUSR2', 'SIGUSR2')),
    bug,
  );
});

t.test('undoAndThrow: the failure that stopped the operation stays the error when the undoing fails too', async (t) => {
  const cause = new UserError('hook poststart[0]: exit status 1');
  const e = await undoAndThrow(cause, 'stopping container c1', () => {
    throw new HostError('killing process 1: EPERM (operation not permitted)', 'EPERM');
  }).catch((err: unknown) => err);
  t.equal(e, cause);
  let undone = false;
  const again = await undoAndThrow(cause, 'x', async () => {
    undone = true;
  }).catch((err: unknown) => err);
  t.equal(again, cause);
  t.ok(undone);
});
