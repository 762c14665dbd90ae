// The documents runt prints are valid against the spec's schemas: features (features-schema.json), state
// (state-schema.json), and the config `runt spec` writes (config-schema.json).
import t from 'tap';
import { defaultSpec } from '../../src/lifecycle/spec';
import { features } from '../../src/lifecycle/features';
import { ociState, specState } from '../../src/container/status';
import type { ContainerRecord } from '../../src/container/store';
import { checkConfig, checkFeatures, checkState } from '../../src/spec/validate';
import { CAPABILITIES } from '../../src/plan/linux';
import { MOUNT_OPTIONS } from '../../src/plan/mounts';

t.test('features is valid and lists what runt implements', async (t) => {
  const f = features();
  t.same(checkFeatures(f), { ok: true, features: f });
  t.same(f.linux?.capabilities, [...CAPABILITIES]);
  t.same(f.mountOptions, MOUNT_OPTIONS);
  t.equal(f.ociVersionMax, '1.3.0');
});

t.test('runt spec writes valid configs, rootful and rootless', async (t) => {
  for (const rootless of [false, true]) {
    const s = defaultSpec(rootless, 1000, 1000);
    t.equal(checkConfig(s).ok, true, `rootless=${rootless}`);
  }
});

t.test('the state document is valid in every status', async (t) => {
  const record: ContainerRecord = {
    ociVersion: '1.3.0',
    id: 'c1',
    createdDone: true,
    pid: 42,
    startTime: '1',
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-01-01T00:00:00Z',
    owner: '',
    annotations: { a: 'b' },
  };
  for (const status of ['creating', 'created', 'running', 'stopped'] as const) {
    t.equal(checkState(specState(record, status)).ok, true, status);
    t.equal(checkState(ociState(record, status)).ok, true, `${status} with runc's extra fields`);
  }
});
