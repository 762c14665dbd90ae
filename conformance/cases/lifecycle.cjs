'use strict';
// runtime.md: State, Lifecycle, Errors, Operations (create, start, kill, delete, state).
const { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { isAbsolute, join } = require('node:path');
const { lastLine, sleep } = require('../lib/proc.cjs');
const { cgroupDirs, cgroupMounts } = require('../lib/cgroups.cjs');
const { SLEEP, created, running, stopped, alive } = require('../lib/steps.cjs');

/** `op` on an id no container has must fail (each operation's own MUST). */
const unknownId = (op, extra = []) => ({
  id: `${op}.unknown-id`,
  section: `runtime.md § ${op === 'state' ? 'Query State' : op[0].toUpperCase() + op.slice(1)}`,
  level: 'MUST',
  clause: `${op} of a container that does not exist is an error`,
  async run(ctx) {
    ctx.errored(await ctx.call([op, 'no-such-container', ...extra]), `${op} no-such-container`);
  },
});

module.exports = [
  {
    id: 'state.properties',
    section: 'runtime.md § State',
    level: 'MUST',
    clause: 'state has ociVersion, id, status, pid (as seen by the host) and bundle (absolute path)',
    async run(ctx) {
      const { b, id, s } = await created(ctx);
      ctx.ok(typeof s.ociVersion === 'string' && /^\d+\.\d+\.\d+/.test(s.ociVersion), `ociVersion: ${JSON.stringify(s.ociVersion)}`);
      ctx.equal(s.id, id, 'id');
      ctx.ok(typeof s.status === 'string', `status: ${JSON.stringify(s.status)}`);
      ctx.ok(Number.isInteger(s.pid) && s.pid > 0 && alive(s.pid), `pid ${s.pid} is not a live host process`);
      // the host's pid of the container's init: pid 1 in its own pid namespace
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${s.pid}/status`, 'utf8'))?.[1].split(/\s+/);
      ctx.ok(nspid?.[0] === String(s.pid) && nspid.at(-1) === '1', `pid ${s.pid} is not the container's init as the host sees it (NSpid ${nspid?.join(' ')})`);
      ctx.ok(typeof s.bundle === 'string' && isAbsolute(s.bundle), `bundle: ${JSON.stringify(s.bundle)}`);
      ctx.equal(s.bundle, b.dir, 'bundle');
    },
  },
  {
    id: 'state.annotations',
    section: 'runtime.md § State; config.md § Annotations',
    level: 'MUST',
    clause: 'the state carries the annotations of config.json',
    async run(ctx) {
      const { s } = await created(ctx, SLEEP, (c) => {
        c.annotations = { 'org.example.conformance': 'yes', 'org.example.empty': '' };
      });
      ctx.equal(JSON.stringify(s.annotations ?? null), JSON.stringify({ 'org.example.conformance': 'yes', 'org.example.empty': '' }), 'annotations');
    },
  },
  {
    id: 'ops.missing-id',
    section: 'runtime.md § Operations',
    level: 'MUST',
    clause: 'state, start, kill and delete without a container ID are errors',
    async run(ctx) {
      for (const op of ['state', 'start', 'kill', 'delete']) ctx.errored(await ctx.call([op]), `${op} without an id`);
    },
  },
  unknownId('state'),
  unknownId('start'),
  unknownId('kill', ['KILL']),
  unknownId('delete'),
  {
    id: 'create.status-created',
    section: 'runtime.md § Create',
    level: 'MUST',
    clause: 'after create the status is "created" and the container process exists',
    async run(ctx) {
      const { s } = await created(ctx);
      ctx.equal(s.status, 'created', 'status');
      ctx.ok(alive(s.pid), `pid ${s.pid} is not alive`);
    },
  },
  {
    id: 'create.program-not-run',
    section: 'runtime.md § Lifecycle (step 2), § Create',
    level: 'MUST',
    clause: 'the user-specified program MUST NOT run at create; it runs at start',
    async run(ctx) {
      const { b, id } = await created(ctx, ['/bin/sh', '-c', 'echo ran > /out/marker']);
      await sleep(300);
      ctx.ok(!existsSync(join(b.out, 'marker')), 'the program ran before start (its marker exists after create)');
      await ctx.start(id);
      await ctx.waitStatus(id, 'stopped');
      ctx.ok(existsSync(join(b.out, 'marker')), 'the program did not run at start');
    },
  },
  {
    id: 'create.config-changes-ignored',
    section: 'runtime.md § Lifecycle (step 2), § Create',
    level: 'MUST',
    clause: 'changes to config.json after create do not affect the container',
    async run(ctx) {
      const b = ctx.bundle(['/checker', 'uts', 'env'], (c) => {
        c.hostname = 'before';
        c.process.env.push('WHEN=before');
      });
      const id = ctx.id();
      await ctx.create(id, b);
      b.config.hostname = 'after';
      b.config.process.env = b.config.process.env.map((e) => (e === 'WHEN=before' ? 'WHEN=after' : e));
      b.config.process.args = ['/checker', 'uts', 'env', 'pid'];
      ctx.writeConfig(b);
      await ctx.start(id);
      await ctx.waitStatus(id, 'stopped');
      const out = readFileSync(join(ctx.dir, `${id}.stdout`), 'utf8');
      ctx.ok(/^hostname=before$/m.test(out), `hostname after the edit: ${/^hostname=.*$/m.exec(out)?.[0] ?? 'none'}`);
      ctx.ok(/^env=WHEN=before$/m.test(out), 'process.env edited after create took effect');
      ctx.ok(!/^pid=/m.test(out), 'process.args edited after create took effect');
    },
  },
  {
    id: 'create.duplicate-id',
    section: 'runtime.md § Create',
    level: 'MUST',
    clause: 'create with an ID already in use is an error and leaves the existing container as it was',
    async run(ctx) {
      const { id, s } = await created(ctx);
      const other = ctx.bundle(SLEEP);
      ctx.errored(await ctx.create(id, other, { expectError: true }), `second create of ${id}`);
      const after = await ctx.mustState(id);
      ctx.equal(after.status, 'created', 'status of the first container');
      ctx.equal(after.pid, s.pid, 'pid of the first container');
      ctx.equal(after.bundle, s.bundle, 'bundle of the first container');
    },
  },
  {
    id: 'create.invalid-id',
    section: 'runtime.md § Create',
    level: 'MUST',
    clause: 'create with an ID that is not valid is an error and creates nothing',
    async run(ctx) {
      const b = ctx.bundle(SLEEP);
      const r = await ctx.create('../escaped', b, { expectError: true });
      ctx.ids.add('../escaped');
      ctx.errored(r, 'create with id "../escaped"');
      ctx.ok(!existsSync(join(ctx.dir, 'escaped')), 'a state dir was made outside the root');
      ctx.equal(cgroupDirs(b.config.linux.cgroupsPath).length, 0, 'cgroup dirs left by the failed create');
    },
  },
  {
    id: 'create.no-config',
    section: 'runtime.md § Create',
    level: 'MUST',
    clause: 'create without a bundle (no config.json) is an error and creates nothing',
    async run(ctx) {
      const b = ctx.bundle(SLEEP);
      renameSync(join(b.dir, 'config.json'), join(b.dir, 'config.json.away'));
      const id = ctx.id();
      ctx.errored(await ctx.create(id, b, { expectError: true }), 'create of a bundle without config.json');
      ctx.ok((await ctx.state(id)) === null, 'state of the container works after a failed create');
    },
  },
  {
    id: 'errors.create-leaves-nothing',
    section: 'runtime.md § Errors, § Lifecycle (step 2)',
    level: 'MUST',
    clause: 'a create that cannot build the environment is an error and leaves the host as if never attempted',
    async run(ctx) {
      const { b, id } = await ctx.createFails(
        (c) => {
          c.mounts.push({ destination: '/mnt/bind', type: 'bind', source: join(ctx.dir, 'no-such-source'), options: ['rbind'] });
        },
        'create with a missing bind source',
        SLEEP,
      );
      ctx.ok((await ctx.state(id)) === null, 'state works after a failed create (container left)');
      ctx.equal(cgroupDirs(b.config.linux.cgroupsPath).join(' '), '', 'cgroup dirs left');
      ctx.ok(!existsSync(join(ctx.root, id)), 'state dir left');
    },
  },
  {
    id: 'start.status-running',
    section: 'runtime.md § Start',
    level: 'MUST',
    clause: 'after start the status is "running"',
    async run(ctx) {
      const { id } = await created(ctx);
      await ctx.start(id);
      const s = await ctx.mustState(id);
      ctx.equal(s.status, 'running', 'status right after start');
    },
  },
  {
    id: 'start.runs-process',
    section: 'runtime.md § Lifecycle (step 8), § Start',
    level: 'MUST',
    clause: 'start runs the program as process specifies (args)',
    async run(ctx) {
      const { b, id } = await created(ctx, ['/bin/sh', '-c', 'echo "$0|$1|$2" > /out/args', 'zero', 'one', 'two words']);
      await ctx.start(id);
      await ctx.waitStatus(id, 'stopped');
      ctx.equal(existsSync(join(b.out, 'args')) ? readFileSync(join(b.out, 'args'), 'utf8') : null, 'zero|one|two words\n', 'argv seen by the program');
    },
  },
  {
    id: 'start.already-running',
    section: 'runtime.md § Start',
    level: 'MUST',
    clause: 'start of a started container is an error and has no effect',
    async run(ctx) {
      const { id, s } = await running(ctx);
      ctx.errored(await ctx.call(['start', id]), 'second start');
      const after = await ctx.mustState(id);
      ctx.equal(after.status, 'running', 'status');
      ctx.equal(after.pid, s.pid, 'pid');
    },
  },
  {
    id: 'start.stopped',
    section: 'runtime.md § Start',
    level: 'MUST',
    clause: 'start of a stopped container is an error and has no effect',
    async run(ctx) {
      const { id } = await stopped(ctx);
      ctx.errored(await ctx.call(['start', id]), 'start of a stopped container');
      ctx.equal((await ctx.mustState(id)).status, 'stopped', 'status');
    },
  },
  {
    id: 'kill.sends-signal',
    section: 'runtime.md § Kill',
    level: 'MUST',
    clause: 'kill sends the given signal to the container process',
    async run(ctx) {
      const script = 'trap "echo USR1 > /out/signal; exit 0" USR1; echo ready > /out/ready; while :; do sleep 0.05; done';
      const { b, id } = await running(ctx, ['/bin/sh', '-c', script]);
      for (let i = 0; i < 100 && !existsSync(join(b.out, 'ready')); i++) await sleep(20);
      const r = await ctx.call(['kill', id, 'USR1']);
      ctx.equal(r.status, 0, `kill USR1 exit status (${lastLine(r.stderr)})`);
      await ctx.waitStatus(id, 'stopped');
      ctx.ok(existsSync(join(b.out, 'signal')), 'the process did not get SIGUSR1');
    },
  },
  {
    id: 'kill.status-stopped',
    section: 'runtime.md § Kill',
    level: 'MUST',
    clause: 'once the process is stopped by kill, the status is "stopped"',
    async run(ctx) {
      const { id } = await running(ctx);
      const r = await ctx.call(['kill', id, 'KILL']);
      ctx.equal(r.status, 0, `kill KILL exit status (${lastLine(r.stderr)})`);
      await ctx.waitStatus(id, 'stopped', 5000);
    },
  },
  {
    id: 'kill.status-stopped-on-exit',
    section: 'runtime.md § Kill',
    level: 'MUST',
    clause: 'a process that exits by itself also leaves the status "stopped"',
    async run(ctx) {
      await stopped(ctx);
    },
  },
  {
    id: 'kill.not-running',
    section: 'runtime.md § Kill',
    level: 'MUST',
    clause: 'kill of a container that is not running (stopped) is an error and has no effect',
    async run(ctx) {
      const { id } = await stopped(ctx);
      ctx.errored(await ctx.call(['kill', id, 'KILL']), 'kill of a stopped container');
      ctx.equal((await ctx.mustState(id)).status, 'stopped', 'status');
    },
  },
  {
    id: 'delete.running',
    section: 'runtime.md § Delete',
    level: 'MUST',
    clause: 'delete of a container whose process still runs is an error (and the container keeps running)',
    async run(ctx) {
      const { id, s } = await running(ctx);
      ctx.errored(await ctx.call(['delete', id]), 'delete of a running container');
      const after = await ctx.mustState(id);
      ctx.equal(after.status, 'running', 'status');
      ctx.ok(alive(s.pid), 'the process was killed');
    },
  },
  {
    id: 'delete.created',
    section: 'runtime.md § Delete',
    level: 'MUST',
    clause: 'delete of a created (never started) container is an error and has no effect',
    async run(ctx) {
      const { b, id, s } = await created(ctx);
      ctx.errored(await ctx.call(['delete', id]), 'delete of a created container');
      ctx.equal((await ctx.mustState(id)).status, 'created', 'status');
      ctx.ok(alive(s.pid), 'the process was killed');
      ctx.ok(cgroupDirs(b.config.linux.cgroupsPath).length > 0, 'the cgroup was removed');
    },
  },
  {
    id: 'delete.removes-created',
    section: 'runtime.md § Delete, § Lifecycle (step 12)',
    level: 'MUST',
    clause: 'delete removes what create made: the container (state errors), its process, its cgroup',
    async run(ctx) {
      const { b, id, s } = await created(ctx);
      await ctx.start(id);
      ctx.equal((await ctx.call(['kill', id, 'KILL'])).status, 0, 'kill exit status');
      await ctx.waitStatus(id, 'stopped');
      const r = await ctx.call(['delete', id]);
      ctx.equal(r.status, 0, `delete exit status (${lastLine(r.stderr)})`);
      ctx.ok((await ctx.state(id)) === null, 'state still works after delete');
      ctx.ok(!alive(s.pid), 'the process is still alive');
      ctx.equal(cgroupDirs(b.config.linux.cgroupsPath).join(' '), '', 'cgroup dirs left');
    },
  },
  {
    id: 'delete.only-created',
    section: 'runtime.md § Delete',
    level: 'MUST',
    clause: 'delete leaves what create did not make: the bundle, its files, a parent cgroup made beforehand, bind sources',
    async run(ctx) {
      const parent = ctx.cgroupPath('parent');
      const madeIn = [];
      for (const m of cgroupMounts()) {
        if (m.controllers.includes('memory') || m.controllers.includes('pids') || (m.v2 && m.controllers.length)) {
          mkdirSync(join(m.dir, parent));
          madeIn.push(join(m.dir, parent));
        }
      }
      const src = join(ctx.dir, 'bind-source');
      mkdirSync(src);
      writeFileSync(join(src, 'keep'), 'keep\n');
      const b = ctx.bundle(SLEEP, (c) => {
        c.linux.cgroupsPath = `${parent}/child`;
        c.mounts.push({ destination: '/mnt/bind', type: 'bind', source: src, options: ['rbind', 'rw'] });
      });
      writeFileSync(join(b.dir, 'extra-file'), 'mine\n');
      const id = ctx.id();
      await ctx.create(id, b);
      const r = await ctx.call(['delete', '--force', id]);
      ctx.equal(r.status, 0, `delete --force exit status (${lastLine(r.stderr)})`);
      ctx.ok(existsSync(join(b.dir, 'config.json')) && existsSync(join(b.dir, 'extra-file')), 'bundle files removed');
      ctx.ok(existsSync(join(src, 'keep')), 'bind mount source removed');
      const gone = madeIn.filter((d) => !existsSync(d));
      ctx.equal(gone.join(' '), '', 'pre-existing parent cgroups removed');
      ctx.equal(cgroupDirs(`${parent}/child`).join(' '), '', 'the container cgroup left');
    },
  },
];
