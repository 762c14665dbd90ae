'use strict';
// config.md § POSIX-platform Hooks and runtime.md § Lifecycle (steps 3-13): order, the state on stdin,
// namespaces, failure semantics.
const { chmodSync, existsSync, readFileSync, readlinkSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { lastLine, sleep } = require('../lib/proc.cjs');
const { alive } = require('../lib/steps.cjs');

// A hook: records its name in LOGDIR/log, its stdin in LOGDIR/NAME.stdin, its mount and uts namespaces in
// LOGDIR/NAME.ns, then exits with STATUS. Written into the bundle's /out so that the same script is reachable
// from the host (runtime namespace) and from inside the container (/out).
const HOOK = `#!/bin/sh
name=$1 logdir=$2 status=\${3:-0}
cat > "$logdir/$name.stdin"
echo "$(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts)" > "$logdir/$name.ns"
echo "$name" >> "$logdir/log"
exit "$status"
`;

/** Installs the hook script in b.out; returns a function making hook entries for it. */
function hookMaker(b) {
  const script = join(b.out, 'hook.sh');
  writeFileSync(script, HOOK);
  chmodSync(script, 0o755);
  return (name, { status = 0, inside = false } = {}) => {
    const path = inside ? '/out/hook.sh' : script;
    return { path, args: ['hook.sh', name, inside ? '/out' : b.out, String(status)] };
  };
}

const readLog = (b) => (existsSync(join(b.out, 'log')) ? readFileSync(join(b.out, 'log'), 'utf8').trim().split('\n').filter(Boolean) : []);
const hostNs = () => `${readlinkSync('/proc/self/ns/mnt')} ${readlinkSync('/proc/self/ns/uts')}`;
const pidNs = (pid) => `${readlinkSync(`/proc/${pid}/ns/mnt`)} ${readlinkSync(`/proc/${pid}/ns/uts`)}`;
const MARKER = ['/bin/sh', '-c', 'echo ran > /out/marker; sleep 1000'];

/** Every hook in its place, two prestart hooks; create, start, kill, delete. Returns what was seen. */
async function fullLifecycle(ctx) {
  let hook;
  const b = ctx.bundle(['/bin/sh', '-c', 'cat /out/log > /out/program-saw; sleep 1000'], (c, bundle) => {
    hook = hookMaker(bundle);
    c.hooks = {
      prestart: [hook('prestart-1'), hook('prestart-2')],
      createRuntime: [hook('createRuntime')],
      createContainer: [hook('createContainer')],
      startContainer: [hook('startContainer', { inside: true })],
      poststart: [hook('poststart')],
      poststop: [hook('poststop')],
    };
  });
  const id = ctx.id();
  await ctx.create(id, b);
  const afterCreate = readLog(b);
  const s = await ctx.mustState(id);
  const containerNs = pidNs(s.pid);
  await ctx.start(id);
  const afterStart = readLog(b);
  ctx.equal((await ctx.call(['kill', id, 'KILL'])).status, 0, 'kill exit status');
  await ctx.waitStatus(id, 'stopped');
  const r = await ctx.call(['delete', id]);
  ctx.equal(r.status, 0, `delete exit status (${lastLine(r.stderr)})`);
  return { b, id, s, containerNs, afterCreate, afterStart, afterDelete: readLog(b) };
}

/** A container whose `type` hook fails: what create, start and delete said. */
async function failingHook(ctx, type) {
  let hook;
  const b = ctx.bundle(MARKER, (c, bundle) => {
    hook = hookMaker(bundle);
    c.hooks = { [type]: [hook(type, { status: 1, inside: type === 'startContainer' })] };
  });
  const id = ctx.id();
  const create = await ctx.create(id, b, { expectError: true });
  let start = null;
  if (create.status === 0) start = await ctx.call(['start', id]);
  await sleep(200);
  const s = await ctx.state(id);
  return { b, id, create, start, s, ran: existsSync(join(b.out, 'marker')), hookRan: readLog(b).includes(type) };
}

function failureCase(type, phase) {
  return {
    id: `hooks.${type}-fails`,
    section: 'runtime.md § Lifecycle',
    level: 'MUST',
    clause: `a failing ${type} hook makes ${phase} an error and stops the container${phase === 'create' ? '; the program never runs' : ''}`,
    async run(ctx) {
      const f = await failingHook(ctx, type);
      ctx.ok(f.hookRan, `the ${type} hook did not run`);
      const failed = phase === 'create' ? f.create : f.start;
      if (phase !== 'create') ctx.equal(f.create.status, 0, `create exit status (${lastLine(f.create.stderr)})`);
      ctx.ok(failed && failed.status !== 0, `${phase} exited 0 although the ${type} hook failed`);
      if (type !== 'poststart') ctx.ok(!f.ran, 'the program ran');
      if (f.s) {
        ctx.ok(f.s.status === 'stopped' || !alive(f.s.pid), `the container is "${f.s.status}" with a live process after the failure`);
      }
    },
  };
}

/** createContainer and startContainer hooks run in the container's mount and uts namespaces. */
const containerNamespace = (type, where) => ({
  id: `hooks.${type}-namespace`,
  section: `config.md § ${type[0].toUpperCase()}${type.slice(1)} Hooks`,
  level: 'MUST',
  clause: `${type} hooks (path resolved in the ${where} namespace) run in the container's namespaces`,
  async run(ctx) {
    const { b, containerNs } = await fullLifecycle(ctx);
    ctx.equal(readFileSync(join(b.out, `${type}.ns`), 'utf8').trim(), containerNs, `${type}: mnt and uts namespaces`);
  },
});

module.exports = [
  {
    id: 'hooks.order',
    section: 'config.md § POSIX-platform Hooks; runtime.md § Lifecycle',
    level: 'MUST',
    clause: 'hooks run in the listed order: prestart, createRuntime, createContainer at create; startContainer then poststart at start; poststop at delete',
    async run(ctx) {
      const { afterCreate, afterStart, afterDelete, b } = await fullLifecycle(ctx);
      ctx.equal(afterCreate.join(','), 'prestart-1,prestart-2,createRuntime,createContainer', 'hooks run by create');
      ctx.equal(afterStart.join(','), 'prestart-1,prestart-2,createRuntime,createContainer,startContainer,poststart', 'hooks run by the time start returned');
      ctx.equal(afterDelete.slice(-1).join(), 'poststop', 'last hook after delete');
      ctx.equal(afterDelete.length, 7, 'number of hook runs');
      const saw = existsSync(join(b.out, 'program-saw')) ? readFileSync(join(b.out, 'program-saw'), 'utf8') : '';
      ctx.ok(saw.includes('startContainer'), 'the startContainer hook had not run when the program started');
    },
  },
  {
    id: 'hooks.state-on-stdin',
    section: 'config.md § POSIX-platform Hooks',
    level: 'MUST',
    clause: "every hook gets the container's state on stdin (ociVersion, id, status, pid, bundle)",
    async run(ctx) {
      const { b, id, s } = await fullLifecycle(ctx);
      for (const name of ['prestart-1', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) {
        let state;
        try {
          state = JSON.parse(readFileSync(join(b.out, `${name}.stdin`), 'utf8'));
        } catch (e) {
          ctx.fail(`${name}: stdin is not the state JSON (${e.message})`);
        }
        ctx.equal(state.id, id, `${name}: id`);
        ctx.equal(state.bundle, b.dir, `${name}: bundle`);
        ctx.ok(typeof state.ociVersion === 'string', `${name}: no ociVersion`);
        ctx.ok(['creating', 'created', 'running', 'stopped'].includes(state.status), `${name}: status ${JSON.stringify(state.status)}`);
        if (name !== 'poststop') ctx.equal(state.pid, s.pid, `${name}: pid`);
      }
    },
  },
  {
    id: 'hooks.runtime-namespace',
    section: 'config.md § POSIX-platform Hooks',
    level: 'MUST',
    clause: 'prestart, createRuntime, poststart and poststop hooks run in the runtime namespace',
    async run(ctx) {
      const { b } = await fullLifecycle(ctx);
      for (const name of ['prestart-1', 'createRuntime', 'poststart', 'poststop']) {
        ctx.equal(readFileSync(join(b.out, `${name}.ns`), 'utf8').trim(), hostNs(), `${name}: mnt and uts namespaces`);
      }
    },
  },
  containerNamespace('createContainer', 'runtime'),
  containerNamespace('startContainer', 'container'),
  {
    id: 'hooks.args-env',
    section: 'config.md § POSIX-platform Hooks',
    level: 'MUST',
    clause: 'a hook runs with its args (execv argv) and exactly its env (environ)',
    async run(ctx) {
      const b = ctx.bundle(['/bin/true'], (c, bundle) => {
        c.hooks = {
          createRuntime: [
            {
              path: '/bin/sh',
              args: ['sh', '-c', 'echo "$0|$1|$FOO|${CONFORMANCE_LEAK-unset}" > "$2/args"', 'zero', 'one', bundle.out],
              env: ['FOO=bar baz'],
            },
          ],
        };
      });
      const id = ctx.id();
      await ctx.create(id, b);
      const seen = existsSync(join(b.out, 'args')) ? readFileSync(join(b.out, 'args'), 'utf8') : null;
      ctx.equal(seen, 'zero|one|bar baz|unset\n', "what the hook saw ($0|$1|$FOO|a variable of the runtime's environment)");
    },
  },
  {
    id: 'hooks.timeout',
    section: 'config.md § POSIX-platform Hooks',
    level: 'MUST',
    clause: 'a hook that outlives its timeout is aborted and fails the operation',
    async run(ctx) {
      const b = ctx.bundle(MARKER, (c) => {
        c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] };
      });
      const id = ctx.id();
      const r = await ctx.create(id, b, { expectError: true });
      ctx.ok(r.status !== 0, 'create exited 0 although the hook timed out');
      ctx.ok(r.ms < 15_000, `create took ${r.ms} ms: the hook was not aborted after 1 s`);
    },
  },
  failureCase('prestart', 'create'),
  failureCase('createRuntime', 'create'),
  failureCase('createContainer', 'create'),
  failureCase('startContainer', 'start'),
  failureCase('poststart', 'start'),
  {
    id: 'hooks.poststop-fails',
    section: 'runtime.md § Lifecycle (step 13)',
    level: 'MUST',
    clause: 'a failing poststop hook is only a warning: the remaining hooks run and delete succeeds',
    async run(ctx) {
      let hook;
      const b = ctx.bundle(['/bin/true'], (c, bundle) => {
        hook = hookMaker(bundle);
        c.hooks = { poststop: [hook('poststop-1', { status: 1 }), hook('poststop-2')] };
      });
      const id = ctx.id();
      await ctx.create(id, b);
      await ctx.start(id);
      await ctx.waitStatus(id, 'stopped');
      const r = await ctx.call(['delete', id]);
      ctx.equal(r.status, 0, `delete exit status (${lastLine(r.stderr)})`);
      ctx.equal(readLog(b).join(','), 'poststop-1,poststop-2', 'poststop hooks run');
      ctx.ok((await ctx.state(id)) === null, 'the container still exists after delete');
    },
  },
];
