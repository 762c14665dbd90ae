// The plan builders are pure: config in, steps out. No root needed.
import t from 'tap';
import { defaultSpec } from '../../src/lifecycle/spec';
import { buildChildPlan, buildParentPlan } from '../../src/plan';
import { encodePlan } from '../../src/plan/encode';
import { CLONE, MS } from '../../src/plan/linux';
import { bindAttributes, MOUNT_ATTR, MOUNT_OPTIONS, parseMountOptions } from '../../src/plan/mounts';
import { capabilityMasks } from '../../src/plan/process';
import { ConfigError, type Step } from '../../src/plan/types';
import { ASSUME_STANDARD_FILES } from '../../src/cgroups/emit';
import type { CgroupHost } from '../../src/cgroups/host';
import { createPlan, planContainer, type ContainerInputs, type PlannedContainer, type PlanRunner } from '../../src/plan/container';
import { renderPlan } from '../../src/plan/render';
import { actionSteps, type ContainerCgroup } from '../../src/plan/runtime';
import { FAKE_CGROUP, FAKE_HOST, planContext } from './plan-context';
import type { Spec } from '../../src/spec/generated/types';

/** On the fake cgroup v2 host the cgroup mount is one step: its expansion on v1 is tested in cgroups.test.ts. */
const ctx = planContext;

function spec(edit: (s: Spec) => void = () => undefined): Spec {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  edit(s);
  return s;
}

const ops = (steps: Step[]): string[] => steps.map((s) => s.op);
const find = (steps: Step[], op: string): Step[] => steps.filter((s) => s.op === op);

t.test('parent: namespaces to create become clone flags; cgroup and time are unshared separately', async (t) => {
  const p = buildParentPlan(spec(), ctx());
  t.same(ops(p.steps), ['RUNT-PLAN', 'MODE', 'OPEN_FIFO', 'CLONE', 'END']);
  t.same(p.steps[0]!.args, [3], 'protocol version 3');
  const flags = find(p.steps, 'CLONE')[0]!.args[0] as number;
  t.equal(flags, CLONE.newpid | CLONE.newnet | CLONE.newipc | CLONE.newuts | CLONE.newns);
  t.ok(p.namespaces.unshareCgroup);
  const child = buildChildPlan(spec(), p.namespaces, ctx(), '{}');
  t.same(child[1], { op: 'UNSHARE', args: [CLONE.newcgroup], field: 'linux.namespaces' });
});

t.test("cgroups the child joins by itself: opened by the parent before CLONE, joined as the child's first step", async (t) => {
  const cgroupJoin = { tasks: ['/sys/fs/cgroup/cpu/runt/c/tasks', '/sys/fs/cgroup/pids/runt/c/tasks'], into: '/sys/fs/cgroup/unified/runt/c' };
  const p = buildParentPlan(spec(), ctx({ cgroupJoin }));
  t.same(ops(p.steps), ['RUNT-PLAN', 'MODE', 'OPEN_FIFO', 'CGROUP_TASKS', 'CGROUP_TASKS', 'CGROUP_INTO', 'CLONE', 'END']);
  t.same(
    find(p.steps, 'CGROUP_TASKS').map((s) => s.args[0]),
    cgroupJoin.tasks,
  );
  t.same(find(p.steps, 'CGROUP_INTO')[0], { op: 'CGROUP_INTO', args: [cgroupJoin.into], field: 'linux.cgroupsPath' });
  const child = buildChildPlan(spec(), p.namespaces, ctx({ cgroupJoin }), '{}');
  t.same(ops(child).slice(0, 3), ['CGROUP_JOIN', 'SETSID', 'UNSHARE'], 'joined before its cgroup namespace is made');
  const rootless = buildChildPlan(spec(), p.namespaces, ctx({ cgroupJoin, rootless: true }), '{}');
  t.same(ops(rootless).slice(0, 2), ['DUMPABLE', 'CGROUP_JOIN'], 'rootless: non-dumpable first');
  const v2only = buildChildPlan(spec(), p.namespaces, ctx({ cgroupJoin: { tasks: [], into: cgroupJoin.into } }), '{}');
  t.notOk(ops(v2only).includes('CGROUP_JOIN'), 'nothing to join in the child when clone3 did it all');
});

t.test('parent: joined namespaces are setns steps, user first; time offsets are written', async (t) => {
  const s = spec((s) => {
    s.linux!.namespaces = [{ type: 'network', path: '/proc/1/ns/net' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'mount' }, { type: 'time' }];
    s.linux!.timeOffsets = { monotonic: { secs: 7, nanosecs: 0 } };
    s.hostname = undefined;
  });
  const p = buildParentPlan(s, ctx());
  t.same(
    find(p.steps, 'SETNS').map((x) => x.args),
    [
      ['/proc/1/ns/user', CLONE.newuser],
      ['/proc/1/ns/net', CLONE.newnet],
    ],
  );
  t.same(find(p.steps, 'UNSHARE')[0]!.args, [CLONE.newtime]);
  t.same(find(p.steps, 'WRITE_PROC')[0]!.args, ['self/timens_offsets', 'monotonic 7 0\n']);
  t.equal(find(p.steps, 'CLONE')[0]!.args[0], CLONE.newns);
});

t.test('semantic errors name the field', async (t) => {
  const bad = (edit: (s: Spec) => void, re: RegExp): void => {
    t.throws(() => buildParentPlan(spec(edit), ctx()), re);
  };
  bad((s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts');
  }, /^hostname: .*uts/);
  t.doesNotThrow(
    () =>
      buildParentPlan(
        spec((s) => {
          s.linux!.namespaces!.find((n) => n.type === 'uts')!.path = '/proc/1/ns/uts';
        }),
        ctx(),
      ),
    'a uts namespace joined by path takes the hostname (runc sets it)',
  );
  bad((s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
  }, /^linux.maskedPaths: unable to restrict sys entries without a private MNT namespace$/);
  bad((s) => {
    s.linux!.namespaces!.push({ type: 'pid' });
  }, /linux.namespaces\[\d\].type: namespace "pid" is given twice/);
  bad((s) => {
    s.linux!.namespaces!.push({ type: 'user' });
  }, /linux.uidMappings: a new user namespace needs/);
  bad((s) => {
    s.linux!.sysctl = { 'kernel.panic': '1' };
  }, /linux.sysctl\["kernel.panic"\]: .*not in a separate kernel namespace/);
  bad((s) => {
    s.process!.terminal = true;
  }, /process.terminal: a terminal needs --console-socket/);
  t.throws(
    () =>
      buildChildPlan(
        spec((s) => {
          s.process!.capabilities!.bounding = ['CAP_NOPE'];
        }),
        buildParentPlan(spec(), ctx()).namespaces,
        ctx(),
        '{}',
      ),
    new ConfigError('process.capabilities.bounding[0]: unknown capability "CAP_NOPE"'),
  );
  t.throws(
    () =>
      buildChildPlan(
        spec((s) => {
          s.process!.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }];
        }),
        buildParentPlan(spec(), ctx()).namespaces,
        ctx(),
        '{}',
      ),
    /process.rlimits\[0\].type: unknown rlimit "RLIMIT_BOGUS"/,
  );
});

t.test('child: rootfs, mounts, devices, pivot, then process setup, fifo, exec', async (t) => {
  const s = spec();
  const p = buildParentPlan(s, ctx());
  const child = buildChildPlan(s, p.namespaces, ctx(), '{"id":"c"}');
  const seq = ops(child);
  const order = [
    'SETSID',
    'MOUNT_PATH',
    'ROOTFS',
    'SETHOSTNAME',
    'MOUNT',
    'MKNOD',
    'SYMLINK',
    'PIVOT',
    'MASK',
    'READONLY',
    'REMOUNT',
    'CLOSE_FDS',
    'SETRLIMIT',
    'BOUNDING_DROP',
    'SETRESUID',
    'CAPSET',
    'NO_NEW_PRIVS',
    'CHDIR',
    'FIND_EXEC',
    'SEND',
    'WAIT_FIFO',
    'EXEC',
    'END',
  ];
  let last = -1;
  for (const op of order) {
    const at = seq.indexOf(op, last + 1);
    t.ok(at > last, `${op} comes after the previous ones`);
    last = at;
  }
  t.same(child[0], { op: 'SETSID', args: [] }, 'the init leads a session of its own');
  const PROP = ops(child).indexOf('MOUNT_PATH');
  t.same(child[PROP], { op: 'MOUNT_PATH', args: ['', '/', '', MS.slave | MS.rec, ''], field: 'linux.rootfsPropagation' });
  t.same(child[PROP + 1], { op: 'PROPAGATE_PARENT', args: ['/b/rootfs', MS.private], field: 'linux.rootfsPropagation' });
  t.same(child[PROP + 2]!.args, ['/b/rootfs', '/b/rootfs', '', MS.bind | MS.rec, '']);
  t.same(
    find(child, 'MKNOD').map((m) => m.args[0]),
    ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'],
  );
  t.same(find(child, 'MKNOD')[0]!.args, ['/dev/null', 0o20666, 1, 3, 0, 0]);
  t.ok(find(child, 'SYMLINK').some((l) => l.args[0] === 'pts/ptmx' && l.args[1] === '/dev/ptmx'));
  const proc = find(child, 'MOUNT').find((m) => m.args[1] === '/proc')!;
  t.same(proc, { op: 'MOUNT', args: ['proc', '/proc', 'proc', 0, '', 'dir', 'procguard,nofollow'], field: 'mounts[0]' });
  const dev = find(child, 'MOUNT').find((m) => m.args[1] === '/dev')!;
  t.same(dev.args, ['tmpfs', '/dev', 'tmpfs', MS.nosuid | MS.strictatime, 'mode=755,size=65536k', 'dir', 'procguard']);
  t.same(find(child, 'REMOUNT').at(-1), { op: 'REMOUNT', args: ['/', MS.bind | MS.rdonly], field: 'root.readonly' });
  t.same(find(child, 'SEND')[0]!.args, ['READY']);
  t.notOk(seq.includes('WAIT'), 'no hooks, no extra round trip');
  t.same(find(child, 'FIND_EXEC')[0]!.args, ['sh', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.same(find(child, 'EXEC')[0]!.args, [1, 'sh', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm']);
  t.same(find(child, 'CLOSE_FDS')[0]!.args, [3]);
});

t.test('child: a bind mount is one BIND with its attributes; user namespaces bind devices instead of mknod', async (t) => {
  const s = spec((s) => {
    s.mounts!.push({ destination: '/data', source: 'data.txt', options: ['rbind', 'ro', 'rprivate'] });
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  const child = buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx(), '{}');
  const data = child.filter((x) => x.args[0] === '/b/data.txt' || x.args[0] === '/data');
  // ro on the top mount, rw's mount(8) meaning (ro and nosymfollow cleared), nosuid/nodev/noexec kept
  t.same(
    data.map((x) => [x.op, ...x.args]),
    [['BIND', '/b/data.txt', '/data', 'file', 1, MOUNT_ATTR.rdonly, MOUNT_ATTR.nosymfollow, 0, 0, -1, `procguard,prop=${MS.private | MS.rec}`]],
  );
  const tmp = spec((s) => {
    s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rprivate', 'shared', 'tmpcopyup'] });
  });
  t.same(
    find(buildChildPlan(tmp, buildParentPlan(tmp, ctx()).namespaces, ctx(), '{}'), 'MOUNT')
      .at(-1)!
      .args.at(-1),
    `procguard,copyup,prop=${MS.private | MS.rec},prop=${MS.shared}`,
    'propagation of a mount as the shim makes it, in order: no REMOUNT',
  );
  t.same(find(child, 'MKNOD'), []);
  t.same(find(child, 'BIND').find((m) => m.args[0] === '/dev/null')!.args, ['/dev/null', '/dev/null', 'file', 0, 0, 0, 0, 0, -1, 'procguard']);
});

t.test("bind attributes: top-mount flags as runc's remount, recursive r* options, atime values", async (t) => {
  const attrs = (options: string[]) => {
    const o = parseMountOptions(options);
    return [bindAttributes(o), o.recursive];
  };
  t.same(
    attrs(['rbind']),
    [
      { set: 0, clr: 0 },
      { set: 0, clr: 0 },
    ],
    "no flag option: the source's flags are kept",
  );
  t.same(attrs(['bind', 'rw']), [
    { set: 0, clr: MOUNT_ATTR.rdonly | MOUNT_ATTR.nosymfollow },
    { set: 0, clr: 0 },
  ]);
  t.same(attrs(['bind', 'ro', 'suid', 'noatime']), [
    { set: MOUNT_ATTR.rdonly | MOUNT_ATTR.noatime, clr: MOUNT_ATTR.nosymfollow | MOUNT_ATTR.nosuid | MOUNT_ATTR.atimeMask | MOUNT_ATTR.nodiratime },
    { set: 0, clr: 0 },
  ]);
  t.same(attrs(['rbind', 'nosymfollow']), [
    { set: MOUNT_ATTR.nosymfollow, clr: MOUNT_ATTR.rdonly },
    { set: 0, clr: 0 },
  ]);
  t.same(attrs(['rbind', 'rro', 'rnosuid', 'rnoexec', 'rdev']), [
    { set: 0, clr: 0 },
    { set: MOUNT_ATTR.rdonly | MOUNT_ATTR.nosuid | MOUNT_ATTR.noexec, clr: MOUNT_ATTR.nodev },
  ]);
  t.same(attrs(['rbind', 'rro', 'rrw'])[1], { set: 0, clr: MOUNT_ATTR.rdonly }, 'the last of rro and rrw wins');
  t.same(attrs(['rbind', 'rnoatime'])[1], { set: MOUNT_ATTR.noatime, clr: MOUNT_ATTR.atimeMask });
  t.same(attrs(['rbind', 'rstrictatime', 'rrelatime'])[1], { set: MOUNT_ATTR.relatime, clr: MOUNT_ATTR.atimeMask });
  t.same(attrs(['rbind', 'rnorelatime'])[1], { set: MOUNT_ATTR.strictatime, clr: MOUNT_ATTR.atimeMask }, 'norelatime is strictatime, as mount(8)');
  t.same(attrs(['rbind', 'rnosymfollow', 'rsymfollow'])[1], { set: 0, clr: MOUNT_ATTR.nosymfollow });
  for (const o of [
    'rro',
    'rrw',
    'rnosuid',
    'rsuid',
    'rnodev',
    'rdev',
    'rnoexec',
    'rexec',
    'rnoatime',
    'ratime',
    'rrelatime',
    'rnorelatime',
    'rstrictatime',
    'rnosymfollow',
    'rsymfollow',
    'nosymfollow',
    'idmap',
    'ridmap',
  ]) {
    t.ok(MOUNT_OPTIONS.includes(o), `${o} in features' mountOptions`);
  }
  const s = spec((s) => {
    s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rro'] });
  });
  t.throws(
    () => buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx(), '{}'),
    /^mounts\[7\]\.options\[0\]: mount option "rro" is for bind mounts only$/,
  );
});

t.test('id-mapped binds: a tree made by the parent (before any SETNS), attached by the child', async (t) => {
  const s = spec((s) => {
    s.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' });
    s.mounts!.push(
      {
        destination: '/a',
        source: '/srv/a',
        options: ['rbind', 'idmap', 'ro'],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        gidMappings: [{ containerID: 0, hostID: 2000, size: 2 }],
      },
      { destination: '/b', source: '/srv/b', options: ['bind'] },
      {
        destination: '/c',
        type: 'bind',
        source: '/srv/c',
        options: ['ridmap'],
        uidMappings: [{ containerID: 5, hostID: 6, size: 7 }],
        gidMappings: [{ containerID: 8, hostID: 9, size: 10 }],
      },
    );
  });
  const p = buildParentPlan(s, ctx());
  const trees = find(p.steps, 'IDMAP_TREE');
  t.same(
    trees.map((x) => [x.field, ...x.args]),
    [
      ['mounts[7]', '/srv/a', 1, 0, '0 1000 1\n', '0 2000 2\n'],
      ['mounts[9]', '/srv/c', 0, 1, '5 6 7\n', '8 9 10\n'],
    ],
  );
  t.ok(p.steps.indexOf(trees[1]!) < p.steps.indexOf(find(p.steps, 'SETNS')[0]!), "in the runtime's user namespace");
  const child = buildChildPlan(s, p.namespaces, ctx(), '{}');
  t.same(
    find(child, 'BIND')
      .filter((b) => ['/a', '/b', '/c'].includes(b.args[1] as string))
      .map((b) => [b.args[1], b.args[8]]),
    [
      ['/a', 0],
      ['/b', -1],
      ['/c', 1],
    ],
  );
  const own = spec((s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.mounts!.push({ destination: '/a', source: '/srv/a', options: ['rbind', 'idmap'] });
  });
  t.same(find(buildParentPlan(own, ctx()).steps, 'IDMAP_TREE')[0]!.args.slice(3), ['0 100000 65536\n', '0 100000 65536\n'], "the container's maps");
  const bad = (m: object, re: RegExp, c = ctx()) =>
    t.throws(
      () =>
        buildParentPlan(
          spec((s) => {
            s.mounts!.push(m as never);
          }),
          c,
        ),
      re,
    );
  bad({ destination: '/a', source: '/srv/a', options: ['rbind', 'idmap'] }, /^mounts\[7\]: id-mapped mounts must have both uidMappings and gidMappings/);
  bad(
    { destination: '/a', type: 'tmpfs', source: 'tmpfs', options: ['idmap'], uidMappings: [], gidMappings: [] },
    /^mounts\[7\]: id-mapped mounts are only supported for bind mounts$/,
  );
  bad(
    {
      destination: '/a',
      source: '/srv/a',
      options: ['rbind'],
      uidMappings: [{ containerID: 0, hostID: 1, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1, size: 1 }],
    },
    /^mounts\[7\]: id-mapped mounts are not supported for rootless containers$/,
    ctx({ rootless: true }),
  );
});

t.test("rootfsPropagation: every value runc takes; the rootfs's parent mount private (slave) first, shared and unbindable after pivot_root", async (t) => {
  const around = (value: string | undefined) => {
    const s = spec((s) => {
      s.linux!.rootfsPropagation = value as never;
    });
    const child = buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx(), '{}');
    const pivot = child.findIndex((x) => x.op === 'PIVOT');
    const before = child
      .slice(0, pivot)
      .filter((x) => x.field === 'linux.rootfsPropagation')
      .map((x) => (x.op === 'MOUNT_PATH' ? [x.op, x.args[1], x.args[3]] : [x.op, x.args[0], x.args[1]]));
    const after = child
      .slice(pivot)
      .filter((x) => x.field === 'linux.rootfsPropagation')
      .map((x) => x.args[3]);
    return [before, after];
  };
  t.same(around(undefined), [
    [
      ['MOUNT_PATH', '/', MS.slave | MS.rec],
      ['PROPAGATE_PARENT', '/b/rootfs', MS.private],
    ],
    [],
  ]);
  t.same(around('shared'), [
    [
      ['MOUNT_PATH', '/', MS.shared],
      ['PROPAGATE_PARENT', '/b/rootfs', MS.private],
    ],
    [MS.shared],
  ]);
  t.same(around('rshared'), [
    [
      ['MOUNT_PATH', '/', MS.shared | MS.rec],
      ['PROPAGATE_PARENT', '/b/rootfs', MS.private],
    ],
    [MS.shared | MS.rec],
  ]);
  t.same(around('rslave'), [
    [
      ['MOUNT_PATH', '/', MS.slave | MS.rec],
      ['PROPAGATE_PARENT', '/b/rootfs', MS.slave],
    ],
    [],
  ]);
  t.same(around('private'), [
    [
      ['MOUNT_PATH', '/', MS.private],
      ['PROPAGATE_PARENT', '/b/rootfs', MS.private],
    ],
    [],
  ]);
  t.same(around('runbindable'), [
    [
      ['MOUNT_PATH', '/', MS.unbindable | MS.rec],
      ['PROPAGATE_PARENT', '/b/rootfs', MS.private],
    ],
    [MS.unbindable | MS.rec],
  ]);
  const noPivot = spec((s) => {
    s.linux!.rootfsPropagation = 'rprivate' as never;
  });
  t.throws(
    () => buildChildPlan(noPivot, buildParentPlan(noPivot, ctx()).namespaces, ctx({ noPivot: true }), '{}'),
    /^linux.rootfsPropagation: rootfsPropagation of \[r\]private is not safe without pivot_root$/,
  );
});

t.test("no mount namespace: the runtime's tree, entered with chroot; what would act on it is refused", async (t) => {
  const noMnt = (edit: (s: Spec) => void = () => undefined) =>
    spec((s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
      s.mounts = [];
      delete s.linux!.maskedPaths;
      delete s.linux!.readonlyPaths;
      s.root!.readonly = false;
      edit(s);
    });
  const s = noMnt();
  const p = buildParentPlan(s, ctx());
  t.equal((find(p.steps, 'CLONE')[0]!.args[0] as number) & CLONE.newns, 0);
  const child = buildChildPlan(s, p.namespaces, ctx(), '{}');
  t.same(
    ops(child).filter((o) => /MOUNT|PROPAGATE|PIVOT|CHROOT|ROOTFS|BIND/.test(o)),
    ['ROOTFS', 'CHROOT'],
  );
  t.same(find(child, 'CHROOT')[0]!.args, [0], 'chroot alone, no MS_MOVE');
  const bad = (edit: (s: Spec) => void, re: RegExp) => t.throws(() => buildParentPlan(noMnt(edit), ctx()), re);
  bad((s) => {
    s.linux!.readonlyPaths = ['/proc/sys'];
  }, /^linux.readonlyPaths: unable to restrict sys entries without a private MNT namespace$/);
  bad((s) => {
    s.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
  }, /^mounts\[0\]: a mount needs a mount namespace of the container's own/);
  bad((s) => {
    s.linux!.rootfsPropagation = 'shared';
  }, /^linux.rootfsPropagation: needs a mount namespace/);
  bad((s) => {
    s.root!.readonly = true;
  }, /^root.readonly: needs a mount namespace/);
});

t.test('linux.devices paths are cleaned lexically and must stay under /dev', async (t) => {
  const plan = (path: string): Step[] => {
    const s = spec((s) => {
      s.linux!.devices = [{ path, type: 'c', major: 1, minor: 3 }];
    });
    return buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx(), '{}');
  };
  t.same(find(plan('/dev/./x//y'), 'MKNOD').at(-1)!.args[0], '/dev/x/y');
  t.same(find(plan('/dev/a/../null'), 'MKNOD').filter((m) => m.args[0] === '/dev/null').length, 1, 'the same node as the default one replaces it');
  for (const path of ['/dev/../etc/evil', '/dev/..', '/dev/', '/dev', 'dev/x', '/devx', '/dev/x/../../root/y']) {
    t.throws(() => plan(path), new ConfigError(`linux.devices[0].path: "${path}" is not under /dev`), path);
  }
});

t.test('child: hooks in the container get the state; runtime hooks add a sync point', async (t) => {
  const s = spec((s) => {
    s.hooks = {
      createRuntime: [{ path: '/bin/true' }],
      createContainer: [{ path: '/bin/cc', args: ['cc', '-x'], env: ['A=1'], timeout: 3 }],
      startContainer: [{ path: '/bin/sc' }],
    };
  });
  const state = (status: string): string => JSON.stringify({ ociVersion: '1.3.0', id: 'c', status, pid: 5, bundle: '/b' });
  const child = buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx(), state('creating'));
  const seq = ops(child);
  t.ok(seq.indexOf('SEND') < seq.indexOf('WAIT') && seq.indexOf('WAIT') < seq.indexOf('HOOK') && seq.indexOf('HOOK') < seq.indexOf('PIVOT'));
  t.same(
    find(child, 'HOOK').map((h) => [h.field, ...h.args]),
    [
      ['hooks.createContainer[0]', '/bin/cc', 3, 2, 'cc', '-x', 'A=1', state('creating')],
      ['hooks.startContainer[0]', '/bin/sc', 0, 1, '/bin/sc', state('created')],
    ],
    'each gets the status of its moment: createContainer during create, startContainer during start (runtime.md)',
  );
  t.ok(seq.lastIndexOf('HOOK') > seq.indexOf('WAIT_FIFO'), 'startContainer runs after start');
});

t.test('no process: create sets the container up and waits on the fifo; nothing of a process is planned', async (t) => {
  const s = spec((s) => {
    delete s.process;
    s.hooks = { createContainer: [{ path: '/bin/cc' }], startContainer: [{ path: '/bin/sc' }] };
  });
  const parent = buildParentPlan(s, ctx());
  const child = buildChildPlan(s, parent.namespaces, ctx(), '{}');
  t.same(ops(child).slice(-4), ['CLOSE_FDS', 'SEND', 'WAIT_FIFO', 'END']);
  for (const op of ['TERMINAL', 'SETRLIMIT', 'CAPSET', 'CHDIR', 'FIND_EXEC', 'EXEC']) t.notOk(ops(child).includes(op), `no ${op}`);
  t.same(
    find(child, 'HOOK').map((h) => h.field),
    ['hooks.createContainer[0]'],
    'createContainer hooks run; startContainer never does',
  );
  t.throws(() => buildParentPlan(s, ctx({ consoleSocket: '/x.sock' })), /^--console-socket: given but config.json has no process$/);
});

t.test('mount options: flags, clearing options, propagation, data', async (t) => {
  t.same(parseMountOptions(['ro', 'rw', 'nosuid', 'noexec', 'size=1k', 'rshared', 'mode=700']), {
    flags: MS.nosuid | MS.noexec,
    cleared: MS.rdonly,
    propagation: [MS.shared | MS.rec],
    data: 'size=1k,mode=700',
    copyUp: false,
    recursive: { set: 0, clr: 0 },
    idmap: undefined,
  });
  t.equal(parseMountOptions(['ridmap']).idmap, 'recursive');
});

t.test('capabilities: names to masks; a cap this kernel lacks is warned about', async (t) => {
  const warnings: string[] = [];
  const m = capabilityMasks({ effective: ['CAP_CHOWN', 'CAP_KILL'], bounding: ['CAP_CHECKPOINT_RESTORE'] }, 39, (w) => warnings.push(w));
  t.equal(m.effective, (1n << 0n) | (1n << 5n));
  t.equal(m.bounding, 0n);
  t.match(warnings[0], /CAP_CHECKPOINT_RESTORE is not supported by this kernel/);
});

t.test('encoding: records of length-prefixed fields', async (t) => {
  const buf = encodePlan([
    { op: 'SEND', args: ['READY'] },
    { op: 'END', args: [] },
  ]);
  t.same([...buf], [2, 0, 0, 0, 4, 0, 0, 0, ...Buffer.from('SEND'), 5, 0, 0, 0, ...Buffer.from('READY'), 1, 0, 0, 0, 3, 0, 0, 0, ...Buffer.from('END')]);
  t.throws(() => encodePlan([{ op: 'WRITE_PROC', args: ['a\0b'], field: 'linux.sysctl' }]), new ConfigError('linux.sysctl: a value contains a NUL byte'));
});

t.test('ambient capabilities: only those permitted and inheritable are raised, the others warned about', async (t) => {
  const warnings: string[] = [];
  const s = spec((s) => {
    s.process!.capabilities = {
      bounding: ['CAP_KILL', 'CAP_CHOWN'],
      permitted: ['CAP_KILL', 'CAP_CHOWN'],
      inheritable: ['CAP_KILL'],
      effective: ['CAP_KILL'],
      ambient: ['CAP_KILL', 'CAP_CHOWN'],
    };
  });
  const child = buildChildPlan(s, buildParentPlan(s, ctx()).namespaces, ctx({ warn: (w) => warnings.push(w) }), '{}');
  t.same(find(child, 'AMBIENT_RAISE')[0]!.args, [5]);
  t.match(warnings.join('\n'), /process.capabilities.ambient: CAP_CHOWN not in both the permitted and inheritable sets/);
});

// create's whole plan (src/plan/container.ts): what the runtime does itself and the two segments, from one function

const V2_CGROUP: ContainerCgroup = { ...FAKE_CGROUP, path: '/runt/c', cloneIntoCgroup: true };
const STATE = '{"id":"c","pid":"<pid>"}';

function inputs(s: Spec, over: Partial<ContainerInputs> = {}): ContainerInputs {
  return {
    id: 'c',
    bundle: '/b',
    spec: s,
    mode: 'detach',
    execFifo: '<state>/c/exec.fifo',
    consoleRelay: false,
    noPivot: false,
    listenFds: 0,
    preserveFds: 0,
    sessionKeyring: '_ses.c',
    rootless: false,
    host: FAKE_HOST,
    cgroup: V2_CGROUP,
    warn: () => undefined,
    ...over,
  };
}

const planOf = (i: ContainerInputs): Promise<PlannedContainer> => planContainer(i, { probe: ASSUME_STANDARD_FILES, state: STATE });

/** A config with something in every part: a user namespace, resources, an OOM score, hooks of both kinds. */
function everyPart(s: Spec): void {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux!.resources = { pids: { limit: 42 } };
  s.process!.oomScoreAdj = 7;
  s.hooks = { prestart: [{ path: '/bin/pre' }], createRuntime: [{ path: '/bin/rt' }], createContainer: [{ path: '/bin/cc' }] };
}

t.test("create's runner is handed the very steps a printed plan shows, in the same order", async (t) => {
  const pid = 4242;
  const seen: string[] = [];
  const carried: PlannedContainer = { before: [], parent: [], outside: [], child: [], hooks: [] };
  // as create's runner: a real pid, each part carried out (here: kept) when it comes
  const runner: PlanRunner<number> = {
    run: async (section, actions) => {
      seen.push(section);
      carried[section].push(...actions.flatMap(actionSteps));
    },
    madeCgroup: (cgroup) => ({ dirs: cgroup.dirs, probe: ASSUME_STANDARD_FILES }),
    shim: async (parent, _fds, child, hooks) => {
      seen.push('parent');
      carried.parent = parent;
      carried.child = await child(pid);
      seen.push('child');
      await hooks();
    },
    pidFacts: () => ({ nsPid: pid, setgroupsDenied: false, state: STATE.replace('"<pid>"', String(pid)) }),
  };
  const i = inputs(spec(everyPart));
  await createPlan(i, runner);
  t.same(seen, ['before', 'before', 'parent', 'outside', 'child', 'hooks'], 'the cgroup, its files, the parent, on the pid, the child, the hooks');
  // the pid, where a printed plan has its placeholder
  const arg = (a: unknown): unknown =>
    a === pid ? '<pid>' : typeof a === 'string' ? a.replaceAll(`/proc/${pid}/`, '/proc/<pid>/').replaceAll(`"pid":${pid}`, '"pid":"<pid>"') : a;
  const placeholders = Object.fromEntries(
    Object.entries(carried).map(([part, steps]: [string, Step[]]) => [part, steps.map((x) => ({ ...x, args: x.args.map(arg) }))]),
  );
  const printed = JSON.parse(renderPlan(await planOf(i), 'json'));
  t.same(JSON.parse(renderPlan(placeholders as unknown as PlannedContainer, 'json')), printed);
  t.same(
    printed.outside.map((s: Step) => [s.op, ...s.args.slice(0, 1), s.field]),
    [
      ['WRITE', '/proc/<pid>/uid_map', 'linux.uidMappings'],
      ['WRITE', '/proc/<pid>/gid_map', 'linux.gidMappings'],
      ['WRITE', '/proc/<pid>/oom_score_adj', 'process.oomScoreAdj'],
    ],
  );
  t.same(
    printed.hooks.map((s: Step) => [s.op, s.args[0], s.field]),
    [
      ['HOOK', '/bin/pre', 'hooks.prestart[0]'],
      ['HOOK', '/bin/rt', 'hooks.createRuntime[0]'],
    ],
  );
  t.same(printed.before, [
    { op: 'CGROUP_MKDIR', args: ['/sys/fs/cgroup/runt/c'], field: 'linux.cgroupsPath' },
    { op: 'CGROUP_WRITE', args: ['/sys/fs/cgroup/runt/c/pids.max', '42'], field: 'linux.resources.pids.limit' },
  ]);
});

/** A hybrid host: cpu and pids in v1 hierarchies, the cgroup2 one without controllers. */
const HYBRID: CgroupHost = {
  mode: 'hybrid',
  hierarchies: [
    { version: 1, mountPoint: '/cg/cpu', root: '/', controllers: ['cpu'], ownPath: '/' },
    { version: 1, mountPoint: '/cg/pids', root: '/', controllers: ['pids'], ownPath: '/' },
    { version: 2, mountPoint: '/cg/unified', root: '/', controllers: [], ownPath: '/' },
  ],
};
const HYBRID_DIRS = { '/cg/cpu': '/cg/cpu/x', '/cg/pids': '/cg/pids/x', '/cg/unified': '/cg/unified/x' };

t.test("the child joins its cgroups by each hierarchy's version: nothing is looked up in a dir", async (t) => {
  const s = spec((s) => (s.linux!.resources = { pids: { limit: 9 } }));
  const cgroup: ContainerCgroup = { host: HYBRID, dirs: HYBRID_DIRS, path: '/x', cloneIntoCgroup: true };
  const p = await planOf(inputs(s, { cgroup }));
  t.same(
    p.parent.filter((x) => x.op.startsWith('CGROUP')).map((x) => [x.op, x.args[0]]),
    [
      ['CGROUP_TASKS', '/cg/cpu/x/tasks'],
      ['CGROUP_TASKS', '/cg/pids/x/tasks'],
      ['CGROUP_INTO', '/cg/unified/x'],
    ],
  );
  t.same(p.outside, [], 'nothing is left for the runtime');
  t.same(
    p.before.map((x) => [x.op, ...x.args]),
    [
      ['CGROUP_MKDIR', '/cg/cpu/x'],
      ['CGROUP_MKDIR', '/cg/pids/x'],
      ['CGROUP_MKDIR', '/cg/unified/x'],
      ['CGROUP_WRITE', '/cg/pids/x/pids.max', '9'],
    ],
  );
  const old = await planOf(inputs(s, { cgroup: { ...cgroup, cloneIntoCgroup: false } }));
  t.notOk(
    old.parent.some((x) => x.op === 'CGROUP_INTO'),
    'a kernel without CLONE_INTO_CGROUP',
  );
  t.same(old.outside, [{ op: 'CGROUP_ADD', args: ['/cg/unified/x/cgroup.procs', '<pid>'], field: 'linux.cgroupsPath' }], 'the runtime adds the pid there');
});

t.test("systemd's scope needs the pid: made from outside, with its files written and the pid added", async (t) => {
  const s = spec((s) => (s.linux!.resources = { pids: { limit: 9 } }));
  const unit = { slice: 'system.slice', slicePath: '/system.slice', unit: 'runt-c.scope', name: 'c' };
  const systemd = { unit, instance: 'system' as const, properties: [] };
  const cgroup: ContainerCgroup = { ...V2_CGROUP, dirs: { '/sys/fs/cgroup': '/sys/fs/cgroup/system.slice/runt-c.scope' }, systemd };
  const p = await planOf(inputs(s, { cgroup }));
  t.same(p.before, []);
  t.notOk(
    p.parent.some((x) => x.op.startsWith('CGROUP')),
    'the child joins nothing by itself',
  );
  t.same(
    p.outside.map((x) => [x.op, ...x.args]),
    [
      ['SYSTEMD_SCOPE', 'runt-c.scope', 'system.slice', 'system', '<pid>'],
      ['CGROUP_MKDIR', '/sys/fs/cgroup/system.slice/runt-c.scope'],
      ['CGROUP_WRITE', '/sys/fs/cgroup/system.slice/runt-c.scope/pids.max', '9'],
      ['CGROUP_ADD', '/sys/fs/cgroup/system.slice/runt-c.scope/cgroup.procs', '<pid>'],
    ],
  );

  // the user manager says where the scope is only once it made it: its files, the pid and the cgroup mount go there
  const made = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/user.slice/runt-c.scope';
  const noCgroupns = spec((x) => {
    x.linux!.resources = { pids: { limit: 9 } };
    x.linux!.namespaces = x.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
  });
  const outside: Step[] = [];
  let child: Step[] = [];
  const runner: PlanRunner<number> = {
    run: async (section, actions) => {
      if (section === 'outside') outside.push(...actions.flatMap(actionSteps));
    },
    madeCgroup: () => ({ dirs: { '/sys/fs/cgroup': made }, probe: ASSUME_STANDARD_FILES }),
    shim: async (_parent, _fds, c) => {
      child = await c(7);
    },
    pidFacts: () => ({ nsPid: 7, setgroupsDenied: false, state: STATE }),
  };
  const user: ContainerCgroup = {
    ...cgroup,
    dirs: { '/sys/fs/cgroup': '/sys/fs/cgroup/<user-manager-cgroup>/user.slice/runt-c.scope' },
    systemd: { ...systemd, instance: 'user' },
  };
  await createPlan(inputs(noCgroupns, { cgroup: user }), runner);
  t.same(
    outside.filter((x) => x.op !== 'CGROUP_MKDIR' && x.op !== 'SYSTEMD_SCOPE').map((x) => x.args[0]),
    [`${made}/pids.max`, `${made}/cgroup.procs`],
  );
  t.equal(child.find((x) => x.op === 'BIND' && x.field === 'mounts[6]')?.args[0], made, "the cgroup mount binds the scope's dir");
});

t.test("rootless: the caller's own ids mapped directly, setgroups denied first, then no SETGROUPS", async (t) => {
  const s = spec((s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    s.linux!.resources = undefined;
    s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup');
  });
  const rootless = { rootless: true, caller: { uid: 1000, gid: 1000 }, cgroup: undefined };
  const p = await planOf(inputs(s, rootless));
  t.same(
    p.outside.map((x) => [x.op, ...x.args]),
    [
      ['WRITE', '/proc/<pid>/uid_map', '0 1000 1\n'],
      ['WRITE', '/proc/<pid>/setgroups', 'deny'],
      ['WRITE', '/proc/<pid>/gid_map', '0 1000 1\n'],
    ],
  );
  t.notOk(
    p.child.some((x) => x.op === 'SETGROUPS'),
    'the groups stay as they are',
  );
  t.same(p.before, [], 'no cgroup');
  const withMount = spec((x) => {
    x.linux!.namespaces!.push({ type: 'user' });
    x.linux!.uidMappings = s.linux!.uidMappings;
    x.linux!.gidMappings = s.linux!.gidMappings;
  });
  await t.rejects(planOf(inputs(withMount, rootless)), /^mounts\[6\]: rootless: the container has no cgroup to mount \(none is delegated\)$/);
});

t.test('the text: flags and capabilities by name, the seccomp rules summed up, the hooks where they run', async (t) => {
  const s = spec((s) => {
    everyPart(s);
    s.mounts!.push({ destination: '/data', type: 'bind', source: '/srv', options: ['rbind', 'ro', 'rnosuid', 'rprivate'] });
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] };
    s.process!.capabilities = { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] };
  });
  const text = renderPlan(await planOf(inputs(s)), 'text');
  const expect = [
    /^runtime, before it starts the shim:\n {2}CGROUP_MKDIR \/sys\/fs\/cgroup\/runt\/c +# linux\.cgroupsPath$/,
    /^ {2}CLONE CLONE_NEWNS\|CLONE_NEWUTS\|CLONE_NEWIPC\|CLONE_NEWUSER\|CLONE_NEWPID\|CLONE_NEWNET +# linux\.namespaces$/,
    /^ {2}MOUNT tmpfs on \/dev type tmpfs MS_NOSUID\|MS_STRICTATIME data=mode=755,size=65536k create=dir extras=procguard +# mounts\[1\]$/,
    /^ {2}BIND \/srv on \/data \(dir\) AT_RECURSIVE set=MOUNT_ATTR_RDONLY clear=MOUNT_ATTR_NOSYMFOLLOW recursive-set=MOUNT_ATTR_NOSUID extras=procguard,prop=MS_REC\|MS_PRIVATE +# mounts\[7\]$/,
    /^ {2}WRITE \/proc\/<pid>\/uid_map "0 100000 65536\\n" +# linux\.uidMappings$/,
    /^ {2}SEND HOOKS\nruntime, while the child waits \(prestart and createRuntime hooks\):\n {2}HOOK \/bin\/pre \[\/bin\/pre\] env=\[\] +# hooks\.prestart\[0\]\n {2}HOOK \/bin\/rt .*\nshim, child's segment, on GO:\n {2}WAIT\n {2}HOOK \/bin\/cc/,
    /^ {2}BOUNDING_DROP CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_DAC_READ_SEARCH,CAP_FOWNER,CAP_FSETID,CAP_SETGID,/,
    /^ {2}CAPSET effective=CAP_KILL permitted=CAP_KILL inheritable=none +# process\.capabilities$/,
    /^ {2}SECCOMP_INIT default=SCMP_ACT_KILL_PROCESS optimize=\S+ +# linux\.seccomp\.defaultAction$/,
    /^ {2}SECCOMP_RULE x\d+ \(\d+ syscalls: 2 SCMP_ACT_ALLOW, \d+ SCMP_ACT_ERRNO\(ENOSYS\)\) +# linux\.seccomp\.syscalls$/,
    /^ {2}SECCOMP_LOAD 0 +# linux\.seccomp$/,
    /^ {2}SETRESUID 0 +# linux\.uidMappings$/,
  ];
  for (const re of expect) t.match(text, new RegExp(re.source, 'm'), re.source);
  t.notOk(text.includes(STATE), "the hooks' state is left out");
  const json = JSON.parse(renderPlan(await planOf(inputs(s)), 'json')) as PlannedContainer;
  t.same(Object.keys(json), ['before', 'parent', 'outside', 'child', 'hooks']);
  t.same(json.child.find((x) => x.op === 'CAPSET')!.args, ['32', '32', '0'], '64-bit masks as decimal strings');
});
