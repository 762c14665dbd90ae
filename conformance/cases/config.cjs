'use strict';
// config.md: root, mounts, process (args, cwd, env, rlimits, capabilities, noNewPrivileges, oomScoreAdj,
// user), hostname, domainname, extensibility, valid values. Checked from inside by the checker.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { capMask, PATH_ENV } = require('../lib/config.cjs');
const { mountOpts } = require('../lib/fixtures.cjs');
const { lastLine } = require('../lib/proc.cjs');

/** hostname and domainname: what uname(2) reports inside (the container's own uts namespace). */
const utsName = (field, value, what) => ({
  id: field,
  section: `config.md § ${field[0].toUpperCase()}${field.slice(1)}`,
  level: 'MUST',
  clause: `${field} is the container's ${what} (new UTS namespace)`,
  async run(ctx) {
    const f = await ctx.check(['uts'], (c) => {
      c[field] = value;
    });
    ctx.equal(f[field], value, field);
  },
});

module.exports = [
  {
    id: 'root.readonly',
    section: 'config.md § Root',
    level: 'MUST',
    clause: 'root.readonly true: the root filesystem is read-only inside the container',
    async run(ctx) {
      const f = await ctx.check(['create:/', 'create:/etc']);
      ctx.equal(f['create:/'], 'err=EROFS', 'creating a file in /');
      ctx.equal(f['create:/etc'], 'err=EROFS', 'creating a file in /etc');
    },
  },
  {
    id: 'root.path-relative',
    section: 'config.md § Root',
    level: 'MUST',
    clause: 'root.path may be relative to the bundle',
    async run(ctx) {
      const f = await ctx.check(['stat:/checker'], (c, b) => {
        c.root.path = relative(b.dir, ctx.rootfs);
      });
      ctx.ok(f['stat:/checker']?.startsWith('type=f'), `the rootfs was not the one named: ${f['stat:/checker']}`);
    },
  },
  {
    id: 'mounts.order',
    section: 'config.md § Mounts',
    level: 'MUST',
    clause: 'mounts are mounted in the listed order (a later mount may sit on an earlier one)',
    async run(ctx) {
      const src = join(ctx.dir, 'inner-src');
      mkdirSync(src);
      writeFileSync(join(src, 'inner-file'), 'x');
      const f = await ctx.check(['mount:/mnt/outer', 'mount:/mnt/outer/inner', 'stat:/mnt/outer/inner/inner-file'], (c) => {
        c.mounts.push(
          { destination: '/mnt/outer', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
          { destination: '/mnt/outer/inner', type: 'bind', source: src, options: ['rbind', 'ro'] },
        );
      });
      ctx.equal(mountOpts(f, '/mnt/outer')?.fstype, 'tmpfs', '/mnt/outer file system');
      ctx.ok(mountOpts(f, '/mnt/outer/inner') !== null, 'the second mount is not on top of the first');
      ctx.ok(f['stat:/mnt/outer/inner/inner-file']?.startsWith('type=f'), 'the bind mount is hidden by the tmpfs');
    },
  },
  {
    id: 'mounts.tmpfs-options',
    section: 'config.md § Mounts, § Linux mount options',
    level: 'MUST',
    clause: 'a tmpfs mount gets its flag options (nosuid, nodev, noexec, ro) and data (mode, size)',
    async run(ctx) {
      const f = await ctx.check(['mount:/mnt/tmpfs', 'stat:/mnt/tmpfs'], (c) => {
        c.mounts.push({ destination: '/mnt/tmpfs', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'ro', 'mode=1750', 'size=2m'] });
      });
      const m = mountOpts(f, '/mnt/tmpfs');
      ctx.ok(m, 'no mount at /mnt/tmpfs');
      ctx.equal(m.fstype, 'tmpfs', 'file system');
      for (const o of ['ro', 'nosuid', 'nodev', 'noexec']) ctx.ok(m.opts.includes(o), `mount option ${o} missing: ${m.opts}`);
      ctx.ok(m.superOpts.includes('size=2048k'), `size=2m missing: ${m.superOpts}`);
      ctx.ok(/mode=0?1750/.test(f['stat:/mnt/tmpfs']), `mode: ${f['stat:/mnt/tmpfs']}`);
    },
  },
  {
    id: 'mounts.bind',
    section: 'config.md § Mounts',
    level: 'MUST',
    clause: 'a bind mount shows the source directory at the destination',
    async run(ctx) {
      const src = join(ctx.dir, 'bind-src');
      mkdirSync(src);
      writeFileSync(join(src, 'hello'), 'from the host\n');
      const f = await ctx.check(['read:/mnt/bind/hello', 'create:/mnt/bind'], (c) => {
        c.mounts.push({ destination: '/mnt/bind', type: 'bind', source: src, options: ['rbind', 'rw'] });
      });
      ctx.equal(f['read:/mnt/bind/hello'], 'from the host\n', 'file read through the bind mount');
      ctx.equal(f['create:/mnt/bind'], 'ok', 'creating a file in a rw bind mount');
    },
  },
  {
    id: 'mounts.bind-ro',
    section: 'config.md § Linux mount options',
    level: 'MUST',
    clause: 'option ro makes a bind mount read-only',
    async run(ctx) {
      const src = join(ctx.dir, 'ro-src');
      mkdirSync(src);
      const f = await ctx.check(['create:/mnt/ro'], (c) => {
        c.mounts.push({ destination: '/mnt/ro', type: 'bind', source: src, options: ['rbind', 'ro'] });
      });
      ctx.equal(f['create:/mnt/ro'], 'err=EROFS', 'creating a file in a ro bind mount');
    },
  },
  {
    id: 'process.cwd',
    section: 'config.md § Process',
    level: 'MUST',
    clause: 'cwd is the working directory of the program',
    async run(ctx) {
      const f = await ctx.check(['cwd'], (c) => {
        c.process.cwd = '/mnt/outer';
      });
      ctx.equal(f.cwd, '/mnt/outer', 'cwd');
    },
  },
  {
    id: 'process.env',
    section: 'config.md § Process',
    level: 'MUST',
    clause: "env is the program's environment (environ semantics)",
    async run(ctx) {
      const env = [PATH_ENV, 'FOO=bar', 'EMPTY=', 'SPACED=a b  c'];
      const f = await ctx.check(['env'], (c) => {
        c.process.env = env;
      });
      for (const e of env) ctx.ok(f.env.includes(e), `${e} missing from the environment: ${f.env.join(' ')}`);
      const extra = f.env.filter((e) => !env.includes(e));
      if (extra.length) ctx.note(`added to env: ${extra.join(' ')}`);
    },
  },
  {
    id: 'process.rlimits',
    section: 'config.md § POSIX process',
    level: 'MUST',
    clause: 'for each rlimit, getrlimit gives the configured soft and hard values',
    async run(ctx) {
      const f = await ctx.check(['rlimits'], (c) => {
        c.process.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 321, hard: 654 },
          { type: 'RLIMIT_CORE', soft: 0, hard: 4096 },
          { type: 'RLIMIT_NPROC', soft: 500, hard: 1000 },
        ];
      });
      ctx.equal(f['rlimit.NOFILE'], '321,654', 'RLIMIT_NOFILE');
      ctx.equal(f['rlimit.CORE'], '0,4096', 'RLIMIT_CORE');
      ctx.equal(f['rlimit.NPROC'], '500,1000', 'RLIMIT_NPROC');
    },
  },
  {
    id: 'process.rlimits-duplicate',
    section: 'config.md § POSIX process',
    level: 'MUST',
    clause: 'rlimits with two entries of one type are an error',
    async run(ctx) {
      await ctx.createFails((c) => {
        c.process.rlimits = [
          { type: 'RLIMIT_NOFILE', soft: 100, hard: 100 },
          { type: 'RLIMIT_NOFILE', soft: 200, hard: 200 },
        ];
      }, 'create with a duplicated rlimit');
    },
  },
  {
    id: 'process.capabilities',
    section: 'config.md § Linux Process',
    level: 'MUST',
    clause:
      'the bounding, inheritable and ambient sets are the configured ones (as a non-root program sees them after execve: permitted = effective = ambient)',
    async run(ctx) {
      const caps = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID'],
        permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_CHOWN', 'CAP_KILL'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      };
      const f = await ctx.check(['status'], (c) => {
        c.process.user = { uid: 1000, gid: 1000 };
        c.process.capabilities = caps;
      });
      ctx.equal(f['status.CapBnd'], capMask(caps.bounding), 'CapBnd');
      ctx.equal(f['status.CapInh'], capMask(caps.inheritable), 'CapInh');
      ctx.equal(f['status.CapAmb'], capMask(caps.ambient), 'CapAmb');
      ctx.equal(f['status.CapPrm'], capMask(caps.ambient), 'CapPrm');
      ctx.equal(f['status.CapEff'], capMask(caps.ambient), 'CapEff');
    },
  },
  {
    id: 'process.capabilities-root',
    section: 'config.md § Linux Process',
    level: 'MUST',
    clause: 'the permitted set is the configured one (uid 0 with noNewPrivileges: permitted = effective after execve)',
    async run(ctx) {
      const caps = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SYS_CHROOT'],
        permitted: ['CAP_KILL', 'CAP_SYS_CHROOT'],
        inheritable: [],
        effective: ['CAP_KILL'],
      };
      const f = await ctx.check(['status'], (c) => {
        c.process.capabilities = caps;
      });
      ctx.equal(f['status.CapBnd'], capMask(caps.bounding), 'CapBnd');
      ctx.equal(f['status.CapPrm'], capMask(caps.permitted), 'CapPrm');
      ctx.equal(f['status.CapEff'], capMask(caps.permitted), 'CapEff');
    },
  },
  {
    id: 'process.capabilities-not-grantable',
    section: 'config.md § Linux Process (capabilities)',
    level: 'SHOULD',
    clause: 'capabilities that cannot be granted (ambient without inheritable) are a warning, not a failure',
    async run(ctx) {
      const b = ctx.bundle(['/checker', 'status'], (c) => {
        c.process.capabilities.ambient = ['CAP_KILL'];
        c.process.capabilities.inheritable = [];
      });
      const r = await ctx.run(b);
      ctx.equal(r.status, 0, `run exit status (${lastLine(r.stderr)})`);
    },
  },
  {
    id: 'process.noNewPrivileges',
    section: 'config.md § Linux Process',
    level: 'MUST',
    clause: 'noNewPrivileges true sets no_new_privs',
    async run(ctx) {
      const f = await ctx.check(['status'], (c) => {
        c.process.noNewPrivileges = true;
      });
      ctx.equal(f['status.NoNewPrivs'], '1', 'NoNewPrivs');
    },
  },
  {
    id: 'process.oomScoreAdj',
    section: 'config.md § Linux Process',
    level: 'MUST',
    clause: 'oomScoreAdj set: oom_score_adj has the value',
    async run(ctx) {
      const f = await ctx.check(['oom'], (c) => {
        c.process.oomScoreAdj = 123;
      });
      ctx.equal(f.oom_score_adj, '123', 'oom_score_adj');
    },
  },
  {
    id: 'process.oomScoreAdj-unset',
    section: 'config.md § Linux Process',
    level: 'MUST',
    clause: "oomScoreAdj unset: oom_score_adj is not changed (the runtime's own value is kept)",
    async run(ctx) {
      // the runtime is started with oom_score_adj 7 (raising it needs no privilege)
      const b = ctx.bundle(['/checker', 'oom']);
      const id = ctx.id('r');
      const r = await ctx.call(['run', '--bundle', b.dir, id], { stdoutFile: join(ctx.dir, `${id}.stdout`), oomScoreAdj: 7 });
      if (r.status !== 0) ctx.fail(`run failed: ${lastLine(r.stderr)}`);
      ctx.equal(/^oom_score_adj=(.*)$/m.exec(r.stdout)?.[1], '7', 'oom_score_adj');
    },
  },
  {
    id: 'process.user',
    section: 'config.md § POSIX-platform User',
    level: 'MUST',
    clause: 'the program runs with user.uid, user.gid and user.additionalGids',
    async run(ctx) {
      const f = await ctx.check(['id'], (c) => {
        c.process.user = { uid: 1000, gid: 1001, additionalGids: [5, 1002] };
      });
      ctx.equal(`${f.uid}/${f.euid}`, '1000/1000', 'uid/euid');
      ctx.equal(`${f.gid}/${f.egid}`, '1001/1001', 'gid/egid');
      ctx.equal(
        f.groups
          .split(',')
          .filter((g) => g !== '1001')
          .sort()
          .join(','),
        '1002,5',
        'supplementary groups',
      );
    },
  },
  {
    id: 'process.umask',
    section: 'config.md § POSIX-platform User',
    level: 'MUST',
    clause: 'user.umask is the umask of the program',
    async run(ctx) {
      const f = await ctx.check(['id'], (c) => {
        c.process.user = { uid: 0, gid: 0, umask: 0o027 };
      });
      ctx.equal(f.umask, '0027', 'umask');
    },
  },
  utsName('hostname', 'conf-host', 'hostname'),
  utsName('domainname', 'conf.example', 'NIS domain name'),
  {
    id: 'extensibility.unknown-properties',
    section: 'config.md § Extensibility',
    level: 'MUST',
    clause: 'unknown properties are ignored, not an error',
    async run(ctx) {
      const f = await ctx.check(['pid'], (c) => {
        c['org.example.unknown'] = { nested: [1, 2] };
        c.process.orgExampleUnknown = true;
        c.linux.orgExampleUnknown = 'x';
      });
      ctx.equal(f.pid, '1', 'the program ran');
    },
  },
  {
    id: 'valid-values.empty-args',
    section: 'config.md § Process (args), § Valid values',
    level: 'MUST',
    clause: 'an invalid value (process.args empty) is an error',
    async run(ctx) {
      await ctx.createFails(undefined, 'create with empty process.args', []);
    },
  },
];
