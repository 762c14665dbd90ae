'use strict';
// config-linux.md (namespaces, user namespace mappings, devices, sysctl, seccomp, masked and readonly paths)
// and runtime-linux.md (file descriptors, /dev symlinks). Checked from inside by the checker.
const { readFileSync, readlinkSync, statSync } = require('node:fs');
const { cgroupFile, cgroupMounts, cgroupPathOf } = require('../lib/cgroups.cjs');
const { created } = require('../lib/steps.cjs');

const NS_FILES = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup' };
const inode = (path) => String(statSync(path).ino);

/** A host process in new uts, net and ipc namespaces, to be joined by path. */
async function nsHolder(ctx) {
  const pid = await ctx.helper('unshare', ['--uts', '--net', '--ipc', 'sleep', '1000']);
  // unshare execs sleep once the namespaces exist: wait for the exec
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`).endsWith('/sleep')) return pid;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  ctx.fail('unshare did not start');
}

module.exports = [
  {
    id: 'namespaces.new',
    section: 'config-linux.md § Namespaces',
    level: 'MUST',
    clause: 'a namespace listed without path is a new one (pid, network, ipc, uts, mount, cgroup)',
    async run(ctx) {
      const f = await ctx.check(['ns', 'pid'], (c) => {
        c.linux.namespaces = Object.keys(NS_FILES).map((type) => ({ type }));
      });
      for (const [type, file] of Object.entries(NS_FILES)) {
        ctx.ok(f[`ns.${file}`] !== inode(`/proc/self/ns/${file}`), `${type}: the container shares the runtime's namespace`);
      }
      ctx.equal(f.pid, '1', 'pid in the new pid namespace');
    },
  },
  {
    id: 'namespaces.inherit',
    section: 'config-linux.md § Namespaces',
    level: 'MUST',
    clause: 'a namespace type not listed is inherited from the runtime (network, ipc, cgroup)',
    async run(ctx) {
      const f = await ctx.check(['ns'], (c) => {
        c.linux.namespaces = [{ type: 'pid' }, { type: 'uts' }, { type: 'mount' }];
      });
      for (const file of ['net', 'ipc', 'cgroup']) ctx.equal(f[`ns.${file}`], inode(`/proc/self/ns/${file}`), `${file} namespace`);
    },
  },
  {
    id: 'namespaces.join-path',
    section: 'config-linux.md § Namespaces',
    level: 'MUST',
    clause: 'a namespace with path: the process is placed in that namespace',
    async run(ctx) {
      const holder = await nsHolder(ctx);
      const f = await ctx.check(['ns'], (c) => {
        c.linux.namespaces = [
          { type: 'pid' },
          { type: 'mount' },
          { type: 'uts', path: `/proc/${holder}/ns/uts` },
          { type: 'network', path: `/proc/${holder}/ns/net` },
          { type: 'ipc', path: `/proc/${holder}/ns/ipc` },
        ];
        delete c.hostname;
      });
      for (const file of ['uts', 'net', 'ipc']) ctx.equal(f[`ns.${file}`], inode(`/proc/${holder}/ns/${file}`), `${file} namespace`);
    },
  },
  {
    id: 'namespaces.path-wrong-type',
    section: 'config-linux.md § Namespaces',
    level: 'MUST',
    clause: 'a namespace path that is not a namespace of that type is an error',
    async run(ctx) {
      const holder = await nsHolder(ctx);
      await ctx.createFails((c) => {
        c.linux.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'uts', path: `/proc/${holder}/ns/net` }];
        delete c.hostname;
      }, 'create joining a net namespace as uts');
    },
  },
  {
    id: 'namespaces.duplicate',
    section: 'config-linux.md § Namespaces',
    level: 'MUST',
    clause: 'two namespaces of one type are an error',
    async run(ctx) {
      await ctx.createFails((c) => {
        c.linux.namespaces.push({ type: 'uts' });
      }, 'create with two uts namespaces');
    },
  },
  {
    id: 'namespaces.user-mappings',
    section: 'config-linux.md § User namespace mappings',
    level: 'MUST',
    clause: 'a new user namespace gets uidMappings and gidMappings',
    async run(ctx) {
      const f = await ctx.check(['read:/proc/self/uid_map', 'read:/proc/self/gid_map', 'id', 'ns'], (c) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      });
      const norm = (s) => (s ?? '').trim().split(/\s+/).join(' ');
      ctx.equal(norm(f['read:/proc/self/uid_map']), '0 100000 65536', 'uid_map');
      ctx.equal(norm(f['read:/proc/self/gid_map']), '0 200000 65536', 'gid_map');
      ctx.equal(f.uid, '0', 'uid inside');
      ctx.ok(f['ns.user'] !== inode('/proc/self/ns/user'), 'the user namespace is the runtime one');
    },
  },
  {
    id: 'devices.node',
    section: 'config-linux.md § Devices',
    level: 'MUST',
    clause: 'linux.devices are available with their type, major:minor, fileMode, uid and gid',
    async run(ctx) {
      const f = await ctx.check(['stat:/dev/conf-null', 'stat:/dev/sub/conf-zero'], (c) => {
        c.linux.devices = [
          { path: '/dev/conf-null', type: 'c', major: 1, minor: 3, fileMode: 0o620, uid: 1000, gid: 1001 },
          { path: '/dev/sub/conf-zero', type: 'c', major: 1, minor: 5, fileMode: 0o604, uid: 0, gid: 0 },
        ];
      });
      ctx.equal(f['stat:/dev/conf-null'], 'type=c mode=0620 uid=1000 gid=1001 rdev=1:3', '/dev/conf-null');
      ctx.equal(f['stat:/dev/sub/conf-zero'], 'type=c mode=0604 uid=0 gid=0 rdev=1:5', '/dev/sub/conf-zero');
    },
  },
  {
    id: 'devices.existing-mismatch',
    section: 'config-linux.md § Devices',
    level: 'MUST',
    clause: 'a device path where a file that is not that device already exists is an error',
    async run(ctx) {
      await ctx.createFails((c) => {
        c.linux.devices = [{ path: '/etc/passwd', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }];
      }, 'create with a device over /etc/passwd');
    },
  },
  {
    id: 'devices.defaults',
    section: 'config-linux.md § Default Devices',
    level: 'MUST',
    clause: 'the runtime supplies /dev/null, zero, full, random, urandom and tty',
    async run(ctx) {
      const devs = { null: '1:3', zero: '1:5', full: '1:7', random: '1:8', urandom: '1:9', tty: '5:0' };
      const f = await ctx.check(Object.keys(devs).map((d) => `stat:/dev/${d}`));
      for (const [d, rdev] of Object.entries(devs)) {
        const s = f[`stat:/dev/${d}`] ?? '';
        ctx.ok(s.startsWith('type=c ') && s.endsWith(` rdev=${rdev}`), `/dev/${d}: ${s}`);
      }
    },
  },
  {
    id: 'devices.ptmx',
    section: 'config-linux.md § Default Devices',
    level: 'MUST',
    clause: "/dev/ptmx is a bind mount or symlink of the container's /dev/pts/ptmx",
    async run(ctx) {
      const f = await ctx.check(['stat:/dev/ptmx', 'readlink:/dev/ptmx', 'mount:/dev/ptmx', 'stat:/dev/pts/ptmx']);
      const link = f['readlink:/dev/ptmx'];
      if (f['stat:/dev/ptmx']?.startsWith('type=l')) ctx.ok(link === 'pts/ptmx' || link === '/dev/pts/ptmx', `symlink to ${link}`);
      else
        ctx.ok(
          f['mount:/dev/ptmx'] !== 'none' && f['stat:/dev/ptmx'] === f['stat:/dev/pts/ptmx'],
          `/dev/ptmx is neither a link nor a bind of pts/ptmx: ${f['stat:/dev/ptmx']}`,
        );
    },
  },
  {
    id: 'dev.symlinks',
    section: 'runtime-linux.md § Dev symbolic links',
    level: 'MUST',
    clause: '/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr link to /proc/self/fd, /proc/self/fd/0, 1, 2',
    async run(ctx) {
      const links = { fd: '/proc/self/fd', stdin: '/proc/self/fd/0', stdout: '/proc/self/fd/1', stderr: '/proc/self/fd/2' };
      const f = await ctx.check(Object.keys(links).map((l) => `readlink:/dev/${l}`));
      for (const [l, target] of Object.entries(links)) ctx.equal(f[`readlink:/dev/${l}`], target, `/dev/${l}`);
    },
  },
  {
    id: 'fds.stdio-only',
    section: 'runtime-linux.md § File descriptors',
    level: 'MUST',
    clause: 'by default only stdin, stdout and stderr are open in the program',
    async run(ctx) {
      const f = await ctx.check(['fds']);
      ctx.equal(f.fds, '0,1,2', 'open fds');
    },
  },
  {
    id: 'sysctl',
    section: 'config-linux.md § Sysctl; runtime.md § Lifecycle (step 2)',
    level: 'MUST',
    clause: 'linux.sysctl values are set for the container',
    async run(ctx) {
      const f = await ctx.check(['sysctl:net.ipv4.ip_forward', 'sysctl:kernel.shm_rmid_forced'], (c) => {
        c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shm_rmid_forced': '1' };
      });
      ctx.equal(f['sysctl:net.ipv4.ip_forward'], '1', 'net.ipv4.ip_forward');
      ctx.equal(f['sysctl:kernel.shm_rmid_forced'], '1', 'kernel.shm_rmid_forced');
    },
  },
  {
    id: 'maskedPaths',
    section: 'config-linux.md § Masked Paths',
    level: 'MUST',
    clause: 'maskedPaths cannot be read inside (a file reads empty, a directory lists empty)',
    async run(ctx) {
      const f = await ctx.check(['read:/proc/timer_list', 'read:/proc/keys', 'ls:/sys/firmware', 'ls:/proc/fs'], (c) => {
        c.linux.maskedPaths = ['/proc/timer_list', '/proc/keys', '/sys/firmware', '/proc/fs'];
      });
      ctx.equal(f['read:/proc/timer_list'], '', '/proc/timer_list content');
      ctx.equal(f['read:/proc/keys'], '', '/proc/keys content');
      ctx.equal(f['ls:/sys/firmware'], '0', 'entries of /sys/firmware');
      ctx.equal(f['ls:/proc/fs'], '0', 'entries of /proc/fs');
    },
  },
  {
    id: 'readonlyPaths',
    section: 'config-linux.md § Readonly Paths',
    level: 'MUST',
    clause: 'readonlyPaths are read-only inside (and still readable)',
    async run(ctx) {
      const f = await ctx.check(['write:/proc/sys/kernel/domainname', 'read:/proc/sys/kernel/ostype', 'write:/proc/irq/default_smp_affinity'], (c) => {
        c.linux.readonlyPaths = ['/proc/sys', '/proc/irq'];
      });
      ctx.equal(f['write:/proc/sys/kernel/domainname'], 'err=EROFS', 'opening /proc/sys/kernel/domainname for writing');
      ctx.equal(f['write:/proc/irq/default_smp_affinity'], 'err=EROFS', 'opening /proc/irq/default_smp_affinity for writing');
      ctx.equal(f['read:/proc/sys/kernel/ostype'], 'Linux\n', 'reading /proc/sys/kernel/ostype');
    },
  },
  {
    id: 'seccomp.errno',
    section: 'config-linux.md § Seccomp',
    level: 'MUST',
    clause: 'a seccomp SCMP_ACT_ERRNO rule makes the named syscalls fail with the errno; others still work',
    async run(ctx) {
      const f = await ctx.check(['status', 'mkdir:/out/denied', 'create:/out'], (c) => {
        c.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
        };
      });
      ctx.equal(f['status.Seccomp'], '2', 'Seccomp mode');
      ctx.equal(f['mkdir:/out/denied'], 'err=EACCES', 'mkdir');
      ctx.equal(f['create:/out'], 'ok', 'creating a file (not filtered)');
    },
  },
  {
    id: 'cgroups.path',
    section: 'config-linux.md § Cgroups Path',
    level: 'MUST',
    clause: 'an absolute cgroupsPath is taken relative to the cgroup mount: the process is in exactly that cgroup',
    async run(ctx) {
      const { s, b } = await created(ctx);
      const want = b.config.linux.cgroupsPath;
      const ctrls = cgroupMounts().some((m) => !m.v2) ? ['memory', 'pids', 'cpu'] : ['memory', 'pids'];
      for (const ctrl of ctrls) ctx.equal(cgroupPathOf(s.pid, ctrl), want, `${ctrl} cgroup of the container process`);
    },
  },
  ...resourceCases(),
];

/** Resource limits read back from the container's cgroup files on the host, while it is created. */
function resourceCases() {
  const read = (ctx, pid, controller, v1, v2) => {
    const path = cgroupFile(pid, controller, v1, v2);
    if (!path) ctx.na(`no ${controller} controller on this host`);
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (e) {
      ctx.fail(`${path}: ${e.code}`);
    }
  };
  return [
    {
      id: 'cgroups.memory',
      section: 'config-linux.md § Memory',
      level: 'MUST',
      clause: "memory.limit is the limit of the container's memory cgroup",
      async run(ctx) {
        const { s } = await created(ctx, undefined, (c) => {
          c.linux.resources.memory = { limit: 64 * 1024 * 1024 };
        });
        const v = read(ctx, s.pid, 'memory', 'memory.limit_in_bytes', 'memory.max');
        ctx.equal(v, String(64 * 1024 * 1024), 'memory limit');
      },
    },
    {
      id: 'cgroups.pids',
      section: 'config-linux.md § PIDs',
      level: 'MUST',
      clause: "pids.limit is the limit of the container's pids cgroup",
      async run(ctx) {
        const { s } = await created(ctx, undefined, (c) => {
          c.linux.resources.pids = { limit: 42 };
        });
        ctx.equal(read(ctx, s.pid, 'pids', 'pids.max', 'pids.max'), '42', 'pids.max');
      },
    },
    {
      id: 'cgroups.cpu',
      section: 'config-linux.md § CPU',
      level: 'MUST',
      clause: "cpu.shares, quota and period are set in the container's cpu cgroup",
      async run(ctx) {
        const { s } = await created(ctx, undefined, (c) => {
          c.linux.resources.cpu = { shares: 512, quota: 50000, period: 100000 };
        });
        const v2 = cgroupFile(s.pid, 'cpu', 'cpu.shares', 'cpu.max');
        if (v2 && v2.endsWith('cpu.max')) {
          ctx.equal(read(ctx, s.pid, 'cpu', '', 'cpu.max'), '50000 100000', 'cpu.max');
        } else {
          ctx.equal(read(ctx, s.pid, 'cpu', 'cpu.shares', ''), '512', 'cpu.shares');
          ctx.equal(read(ctx, s.pid, 'cpu', 'cpu.cfs_quota_us', ''), '50000', 'cpu.cfs_quota_us');
          ctx.equal(read(ctx, s.pid, 'cpu', 'cpu.cfs_period_us', ''), '100000', 'cpu.cfs_period_us');
        }
      },
    },
    {
      id: 'cgroups.devices-order',
      section: 'config-linux.md § Device allowlist',
      level: 'MUST',
      clause: 'device cgroup rules apply in the listed order (a later rule overrides an earlier one)',
      async run(ctx) {
        // the host's /dev/kmsg (c 1:11), bound in (not a linux.devices node, to which a runtime may add its
        // own allow rule): opened write-only it needs no capability, so the device cgroup alone decides
        const node = { destination: '/dev/conf-kmsg', type: 'bind', source: '/dev/kmsg', options: ['bind'] };
        const allow = { allow: true, type: 'c', major: 1, minor: 11, access: 'rw' };
        const deny = { allow: false, type: 'c', major: 1, minor: 11, access: 'rw' };
        const denied = await ctx.check(['write:/dev/conf-kmsg'], (c) => {
          c.mounts.push(node);
          c.linux.resources.devices.push(allow, deny);
        });
        const allowed = await ctx.check(['write:/dev/conf-kmsg'], (c) => {
          c.mounts.push(node);
          c.linux.resources.devices.push(deny, allow);
        });
        ctx.equal(denied['write:/dev/conf-kmsg'], 'err=EPERM', 'allow then deny: open for writing');
        ctx.equal(allowed['write:/dev/conf-kmsg'], 'ok', 'deny then allow: open for writing');
      },
    },
  ];
}
