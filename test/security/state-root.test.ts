// The state root holds container records, and a record names hooks that runt runs as its caller (poststop, at
// `delete`). A user without XDG_RUNTIME_DIR had the root /tmp/runt-<uid>, made with mkdir -p: another local
// user could make it first and plant a record whose hook the victim's `runt delete` then ran as the victim.
// The root and each container's dir must now be the caller's and writable by no one else, and there is no
// /tmp fallback. Run by a real unprivileged user made for this test (removed again in teardown).
import t from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, spawnCaptured } from '../integration/harness';
import { runtFor } from '../integration/user';

const NAME = `rsr${process.pid}`;
/** The other local user, who plants the records: daemon. */
const ATTACKER = 1;

interface Victim {
  uid: number;
  gid: number;
  tmp: string;
  runt: string;
  out: string;
}

function setUp(): string | Victim {
  const skip = canRun();
  if (skip) return skip;
  for (const tool of ['useradd', 'userdel', 'setpriv']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing`;
  const tmp = mkdtempSync('/tmp/runt-stateroot-');
  chmodSync(tmp, 0o755);
  const add = spawnSync('useradd', ['--no-create-home', '--home-dir', tmp, '--user-group', '--shell', '/usr/sbin/nologin', NAME], { encoding: 'utf8' });
  if (add.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`useradd: ${add.stderr}`);
  }
  const uid = Number(spawnSync('id', ['-u', NAME], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', NAME], { encoding: 'utf8' }).stdout.trim());
  t.teardown(() => {
    spawnSync('userdel', ['--force', NAME]);
    rmSync(`/tmp/runt-${uid}`, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });
  // where the planted hook would leave its mark, writable by the victim
  const out = join(tmp, 'out');
  mkdirSync(out, { mode: 0o777 });
  chmodSync(out, 0o777);
  return { uid, gid, tmp, runt: runtFor(NAME, tmp), out };
}

const victim = setUp();
if (typeof victim === 'string') t.plan(0, victim);
else defineTests(victim);

function defineTests(v: Victim): void {
  /** runt as the victim, with no XDG_RUNTIME_DIR (a cron job, a system service's user, su without -l). */
  const runt = (args: string[]): SpawnSyncReturns<string> =>
    spawnCaptured(v.tmp, 'setpriv', ['--reuid', NAME, '--regid', NAME, '--init-groups', v.runt, ...args], { env: { PATH: process.env.PATH } });
  const mark = join(v.out, 'pwned');

  /** A stopped container's record and config in `root`, whose poststop hook leaves `mark`; root and dir owned as given. */
  function plant(root: string, rootOwner: number, rootMode: number, dirOwner: number): void {
    const dir = join(root, 'planted');
    mkdirSync(dir, { recursive: true });
    const record = {
      ociVersion: '1.3.0',
      id: 'planted',
      createdDone: true,
      pid: 0,
      startTime: '',
      bundle: v.tmp,
      rootfs: v.tmp,
      created: new Date().toISOString(),
      owner: '',
      annotations: {},
    };
    const config = { ociVersion: '1.3.0', root: { path: v.tmp }, hooks: { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `id -u > ${mark}`] }] } };
    // open to all, as an attacker leaves it: so that the victim's delete can remove it and go on to the hooks
    writeFileSync(join(dir, 'state.json'), JSON.stringify(record), { mode: 0o666 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config), { mode: 0o666 });
    chmodSync(dir, 0o777);
    for (const f of [join(dir, 'state.json'), join(dir, 'config.json'), dir]) chownSync(f, dirOwner, dirOwner);
    chownSync(root, rootOwner, rootOwner);
    chmodSync(root, rootMode);
  }

  t.afterEach(() => {
    rmSync(mark, { force: true });
  });

  t.test('no XDG_RUNTIME_DIR: the root is not a /tmp name another user can make first', async (t) => {
    const predictable = `/tmp/runt-${v.uid}`;
    t.teardown(() => rmSync(predictable, { recursive: true, force: true }));
    plant(predictable, ATTACKER, 0o777, ATTACKER);
    const list = runt(['list', '-q']);
    t.notMatch(list.stdout, /planted/, 'list does not show the planted container');
    const r = runt(['delete', 'planted']);
    t.equal(r.status, 1, 'delete fails');
    t.match(r.stderr, /^runt: (container does not exist|state dir \/run\/runt is owned by uid 0, not by uid \d+ that runs runt: refusing to use it)\n$/);
    t.notOk(existsSync(mark), 'the planted hook did not run');
    t.ok(existsSync(join(predictable, 'planted')), 'the planted dir was not touched');
  });

  const cases: [string, number | 'victim', number, number | 'victim', RegExp][] = [
    [
      'a root another user owns',
      ATTACKER,
      0o777,
      ATTACKER,
      /^runt: state dir \/\S+\/root is owned by uid 1, not by uid \d+ that runs runt: refusing to use it\n$/,
    ],
    [
      "a root of the victim's that others may write to",
      'victim',
      0o757,
      ATTACKER,
      /^runt: state dir \/\S+\/root is writable by others \(mode 757\): refusing to use it\n$/,
    ],
    [
      "a root of the victim's that its group may write to",
      'victim',
      0o770,
      ATTACKER,
      /^runt: state dir \/\S+\/root is writable by its group \(mode 770\): refusing to use it\n$/,
    ],
    [
      'a container dir another user owns',
      'victim',
      0o700,
      ATTACKER,
      /^runt: state dir \/\S+\/root\/planted is owned by uid 1, not by uid \d+ that runs runt: refusing to use it\n$/,
    ],
  ];
  for (const [label, rootOwner, mode, dirOwner, message] of cases) {
    t.test(`--root: ${label} is refused`, async (t) => {
      const root = join(v.tmp, 'root');
      t.teardown(() => rmSync(root, { recursive: true, force: true }));
      plant(root, rootOwner === 'victim' ? v.uid : rootOwner, mode, dirOwner === 'victim' ? v.uid : dirOwner);
      for (const command of [
        ['delete', 'planted'],
        ['delete', '--force', 'planted'],
        ['state', 'planted'],
        ['kill', 'planted', 'KILL'],
      ]) {
        const r = runt(['--root', root, ...command]);
        t.equal(r.status, 1, `${command.join(' ')} fails`);
        t.match(r.stderr, message, command.join(' '));
      }
      t.notMatch(runt(['--root', root, 'list', '-q']).stdout, /planted/, 'list does not show the planted container');
      t.notOk(existsSync(mark), 'the planted hook did not run');
      t.ok(existsSync(join(root, 'planted', 'state.json')), 'the planted dir was not touched');
    });
  }
}
