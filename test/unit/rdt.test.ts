// linux.intelRdt on a fake resctrl tree (a temp dir whose mkdir fills a new group with its files, as the
// kernel does, and whose rmdir takes the group with them): the CLOS chosen, the schemata written or compared,
// the tasks, the MON group, what delete removes, and the mistakes named by field.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { joinRdtGroup, leaveRdtGroup, resctrlMount, resctrlRoot, type ResctrlOps } from '../../src/rdt';

const DEFAULT_SCHEMATA = 'L3:0=7ff;1=7ff\nMB:0=100;1=100\n';

function fakeResctrl(t: Test): { root: string; ops: ResctrlOps; made: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'runt-resctrl-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const made: string[] = [];
  const ops: ResctrlOps = {
    mkdir(dir) {
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, 'tasks'), '');
      if (basename(dirname(dir)) !== 'mon_groups') {
        writeFileSync(join(dir, 'schemata'), DEFAULT_SCHEMATA);
        mkdirSync(join(dir, 'mon_groups'));
      }
    },
    rmdir: (dir) => rmSync(dir, { recursive: true }),
  };
  mkdirSync(join(root, 'info'));
  writeFileSync(join(root, 'info', 'last_cmd_status'), 'ok\n');
  writeFileSync(join(root, 'tasks'), '');
  writeFileSync(join(root, 'schemata'), DEFAULT_SCHEMATA);
  mkdirSync(join(root, 'mon_groups'));
  return { root, ops, made };
}

const read = (p: string): string => readFileSync(p, 'utf8');

t.test('the resctrl mount point comes from mountinfo; none is an error naming the field', async (t) => {
  const mi = '22 1 0:21 / /proc rw,nosuid - proc proc rw\n40 22 0:35 / /sys/fs/res\\040ctrl rw,relatime shared:7 - resctrl resctrl rw\n';
  t.equal(resctrlMount(mi), '/sys/fs/res ctrl');
  t.equal(resctrlMount('22 1 0:21 / /proc rw - proc proc rw\n'), undefined);
  t.throws(() => resctrlRoot('22 1 0:21 / /proc rw - proc proc rw\n'), /^linux.intelRdt: no resctrl filesystem is mounted/);
});

t.test('no closID: a group named after the container, schemata in order, the pid; delete removes it', async (t) => {
  const { root, ops } = fakeResctrl(t);
  const g = joinRdtGroup({ l3CacheSchema: 'L3:0=f0', memBwSchema: 'MB:0=20', schemata: ['L2:0=f'] }, 'c1', 42, root, ops);
  t.same(g, { root, dir: join(root, 'c1'), owned: true });
  t.equal(read(join(root, 'c1', 'schemata')), 'L3:0=f0\nMB:0=20\nL2:0=f\n', 'l3CacheSchema first, memBwSchema, then schemata');
  t.equal(read(join(root, 'c1', 'tasks')), '42');
  leaveRdtGroup(g, ops);
  t.notOk(existsSync(join(root, 'c1')));
});

t.test('a closID without schemata must exist; it is joined and never removed', async (t) => {
  const { root, ops, made } = fakeResctrl(t);
  t.throws(() => joinRdtGroup({ closID: 'gold' }, 'c1', 42, root, ops), /^linux.intelRdt.closID: the CLOS "gold" does not exist/);
  t.same(made, []);
  ops.mkdir(join(root, 'gold'));
  const g = joinRdtGroup({ closID: 'gold' }, 'c1', 42, root, ops);
  t.same(g, { root, dir: join(root, 'gold'), owned: false });
  t.equal(read(join(root, 'gold', 'schemata')), DEFAULT_SCHEMATA, 'nothing written');
  leaveRdtGroup(g, ops);
  t.ok(existsSync(join(root, 'gold')));
  const def = joinRdtGroup({ closID: '/' }, 'c2', 43, root, ops);
  t.equal(def.dir, root, '"/" is the default CLOS');
  t.equal(read(join(root, 'tasks')), '43');
});

t.test('an existing closID is compared with l3CacheSchema and memBwSchema (as resctrl reads them back)', async (t) => {
  const { root, ops } = fakeResctrl(t);
  ops.mkdir(join(root, 'gold'));
  const g = joinRdtGroup({ closID: 'gold', l3CacheSchema: 'L3:1=07FF;0=7ff', memBwSchema: 'MB:0=100' }, 'c1', 42, root, ops);
  t.equal(read(join(root, 'gold', 'schemata')), DEFAULT_SCHEMATA, 'matching: nothing written');
  t.equal(g.owned, false);
  t.throws(
    () => joinRdtGroup({ closID: 'gold', memBwSchema: 'MB:0=50' }, 'c1', 42, root, ops),
    /^linux.intelRdt.memBwSchema: "MB:0=50" does not match the schemata of the existing CLOS "gold" \(L3:0=7ff;1=7ff, MB:0=100;1=100\)/,
  );
  joinRdtGroup({ closID: 'gold', l3CacheSchema: 'L3:0=7ff', schemata: ['MB:1=30'] }, 'c1', 42, root, ops);
  t.equal(read(join(root, 'gold', 'schemata')), 'MB:1=30\n', 'its schemata lines are written');
});

t.test("a missing closID with schemata is made and written, and stays on delete (it is named, not runt's)", async (t) => {
  const { root, ops } = fakeResctrl(t);
  const g = joinRdtGroup({ closID: 'silver', schemata: ['L3:0=3'] }, 'c1', 7, root, ops);
  t.equal(read(join(root, 'silver', 'schemata')), 'L3:0=3\n');
  leaveRdtGroup(g, ops);
  t.ok(existsSync(join(root, 'silver')));
});

t.test('enableMonitoring: a MON group named after the container, with the pid; removed on delete', async (t) => {
  const { root, ops } = fakeResctrl(t);
  ops.mkdir(join(root, 'gold'));
  const g = joinRdtGroup({ closID: 'gold', enableMonitoring: true }, 'c1', 42, root, ops);
  t.equal(g.monDir, join(root, 'gold', 'mon_groups', 'c1'));
  t.equal(read(join(g.monDir!, 'tasks')), '42');
  t.equal(read(join(root, 'gold', 'tasks')), '42');
  leaveRdtGroup(g, ops);
  t.notOk(existsSync(g.monDir!));
  t.ok(existsSync(join(root, 'gold')));
});

t.test("a failure removes what was made; the kernel's last_cmd_status is quoted", async (t) => {
  const { root, ops } = fakeResctrl(t);
  writeFileSync(join(root, 'info', 'last_cmd_status'), 'max MON groups reached\n');
  const failing: ResctrlOps = {
    ...ops,
    mkdir(dir) {
      if (dir.includes('mon_groups')) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      ops.mkdir(dir);
    },
  };
  t.throws(
    () => joinRdtGroup({ enableMonitoring: true }, 'c1', 42, root, failing),
    /^linux.intelRdt.enableMonitoring: making the MON group .*: ENOSPC \(last_cmd_status: max MON groups reached\)/,
  );
  t.notOk(existsSync(join(root, 'c1')), 'the CLOS made for it is gone');
  t.throws(() => joinRdtGroup({ closID: 'a/b' }, 'c1', 1, root, ops), /^linux.intelRdt.closID: "a\/b" is not a CLOS name/);
  t.throws(() => joinRdtGroup({ memBwSchema: 'L3:0=1' }, 'c1', 1, root, ops), /^linux.intelRdt.memBwSchema: must start with "MB:"/);
  t.throws(() => joinRdtGroup({ schemata: ['L3:0=1\nMB:0=1'] }, 'c1', 1, root, ops), /^linux.intelRdt.schemata\[0\]: must not contain a newline/);
  t.notOk(existsSync(join(root, 'c1')));
});

t.test('features says Intel RDT is supported (where resctrl is mounted)', async (t) => {
  const { features } = await import('../../src/lifecycle/features');
  t.same(features().linux?.intelRdt, { enabled: true });
});
