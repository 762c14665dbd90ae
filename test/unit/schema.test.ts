import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkConfig, checkFeatures, checkState, formatPath } from '../../src/spec/validate';
import type { Spec } from '../../src/spec/generated/types';

const repo = resolve(__dirname, '..', '..');
const fixtures = join(repo, 'test', 'fixtures', 'schema');

t.test('generated files are fresh', async (t) => {
  const r = spawnSync(process.execPath, [join(repo, 'scripts', 'gen-schema.mjs'), '--check'], {
    cwd: repo,
    encoding: 'utf8',
  });
  t.equal(r.status, 0, `gen-schema --check: ${r.stderr}`);
});

t.test('validators.cjs has no run-time require', async (t) => {
  const code = readFileSync(join(repo, 'src', 'spec', 'generated', 'validators.cjs'), 'utf8');
  t.notMatch(code, /\brequire\s*\(/);
});

/** Where each upstream bad fixture goes wrong, so that it fails for the intended reason. */
const badField: Record<string, string> = {
  'config/bad/freebsd-vnet-disable.json': 'freebsd.jail.vnet: must be equal to one of the allowed values',
  'config/bad/linux-hugepage.json': 'linux.resources.hugepageLimits[0].pageSize: must match pattern',
  'config/bad/linux-netdevice.json': 'linux.netDevices.eth0.name: must be string',
  'config/bad/linux-rdma.json': 'linux.resources.rdma.mlx5_1.hcaHandles: must be integer',
  'features/bad/missing-ociVersionMax.json': 'ociVersionMax: is required',
};

const checks = {
  config: checkConfig,
  state: checkState,
  features: checkFeatures,
} as const;

for (const [kind, check] of Object.entries(checks)) {
  t.test(`upstream ${kind} fixtures`, async (t) => {
    for (const verdict of ['good', 'bad'] as const) {
      const dir = join(fixtures, kind, verdict);
      const files = readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort();
      t.ok(files.length > 0, `${kind}/${verdict} has fixtures`);
      for (const f of files) {
        const text = readFileSync(join(dir, f), 'utf8');
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          t.equal(verdict, 'bad', `${kind}/${verdict}/${f}: JSON.parse failed`);
          continue;
        }
        const r = check(doc);
        if (verdict === 'good') t.ok(r.ok, `${kind}/good/${f} passes`, r.ok ? {} : { errors: r.errors });
        else {
          t.notOk(r.ok, `${kind}/bad/${f} fails`);
          const want = badField[`${kind}/bad/${f}`];
          if (want !== undefined && !r.ok) {
            t.ok(r.errors[0]?.startsWith(want), `${kind}/bad/${f}: ${want}`, { errors: r.errors });
          }
        }
      }
    }
  });
}

t.test('the non-Linux good fixtures are among those checked', async (t) => {
  const good = readdirSync(join(fixtures, 'config', 'good'));
  t.ok(good.some((f) => f.startsWith('freebsd-')));
  t.ok(good.some((f) => f.startsWith('zos-')));
});

const base = (): Record<string, unknown> => ({
  ociVersion: '1.3.0',
  root: { path: 'rootfs' },
  process: { cwd: '/', args: ['sh'] },
});

function errorsOf(doc: unknown): string[] {
  const r = checkConfig(doc);
  return r.ok ? [] : r.errors;
}

t.test('a minimal config passes and is typed', async (t) => {
  const r = checkConfig(base());
  t.ok(r.ok);
  if (r.ok) {
    const spec: Spec = r.spec;
    t.equal(spec.root?.path, 'rootfs');
  }
});

t.test('error messages name the field', async (t) => {
  t.strictSame(errorsOf({ ...base(), process: { cwd: '/', args: 'sh' } }), ['process.args: must be array']);
  t.strictSame(errorsOf({ ...base(), root: {} }), ['root.path: is required']);
  t.strictSame(errorsOf({ root: { path: 'r' } }), ['ociVersion: is required']);
  t.strictSame(errorsOf({ ...base(), process: { cwd: '/', rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024 }] } }), ['process.rlimits[0].hard: is required']);
  t.strictSame(errorsOf({ ...base(), linux: { namespaces: [{ type: 'pid' }, { type: 'net' }] } }), [
    'linux.namespaces[1].type: must be equal to one of the allowed values ' + '(mount, pid, network, uts, ipc, user, cgroup, time)',
  ]);
  t.strictSame(errorsOf({ ...base(), linux: { namespaces: [{ path: '/proc/1/ns/pid' }] } }), ['linux.namespaces[0].type: is required']);
  t.strictSame(errorsOf({ ...base(), process: { cwd: '/', user: { uid: -1 } } }), ['process.user.uid: must be >= 0']);
  t.strictSame(errorsOf({ ...base(), annotations: { 'org.example.key': 1 } }), ['annotations["org.example.key"]: must be string']);
  t.strictSame(errorsOf({ ...base(), linux: { resources: { rdma: { mlx5_1: { hcaHandles: 'x' } } } } }), [
    'linux.resources.rdma.mlx5_1.hcaHandles: must be integer',
  ]);
  t.strictSame(errorsOf({ ...base(), process: { cwd: '/', rlimits: [{ type: 'NOFILE', soft: 1, hard: 1 }] } }), [
    'process.rlimits[0].type: must match pattern "^RLIMIT_[A-Z]+$"',
  ]);
  t.strictSame(errorsOf([]), ['(root): must be object']);
});

t.test('state and features errors', async (t) => {
  const s = checkState({ ociVersion: '1.3.0', id: 'c1', status: 'paused', bundle: '/b' });
  t.strictSame(s.ok ? [] : s.errors, ['status: must be equal to one of the allowed values (creating, created, running, stopped)']);
  const f = checkFeatures({ ociVersionMin: '1.0.0' });
  t.strictSame(f.ok ? [] : f.errors, ['ociVersionMax: is required']);
});

t.test('formatPath', async (t) => {
  t.equal(formatPath([], {}), '(root)');
  t.equal(formatPath(['linux', 'sysctl', 'net.ipv4.ip_forward'], {}), 'linux.sysctl["net.ipv4.ip_forward"]');
  t.equal(formatPath(['annotations', '0'], { annotations: { '0': 1 } }), 'annotations["0"]');
  const doc = { mounts: [{}, {}, { options: ['x'] }] };
  t.equal(formatPath(['mounts', '2', 'options', '0'], doc), 'mounts[2].options[0]');
});
