// Fuzzing create and delete with mutated configs against real containers: no stack trace reaches the
// user, every rejection names the field, and nothing is left behind. FUZZ_CLI_CASES to run more by hand.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../../src/lifecycle/spec';
import { mutate, namesField } from '../fuzz/mutate';
import { canRun, cgroupDirs, mountsUnder, rootfs, setup } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);
const CASES = Number(process.env.FUZZ_CLI_CASES ?? 150);
// tap ends a file after TAP_TIMEOUT seconds, however slow the machine (or its load) makes each runt call: the
// cases stop at half of that, so a slow machine runs fewer of them instead of failing
const BUDGET_MS = ((Number(process.env.TAP_TIMEOUT) || 120) * 1000) / 2;

t.test(`${CASES} mutated configs through create and delete`, async (t) => {
  const env = setup(t);
  // a private copy: a config without a /dev mount makes its nodes in the rootfs itself
  const root = join(env.tmp, 'rootfs');
  spawnSync('cp', ['-a', rootfs(), root]);
  const cgroupPrefix = `/runt-fuzz-${process.pid}`;
  const bundle = join(env.tmp, 'fuzz-bundle');
  mkdirSync(bundle);
  let created = 0;
  let ran = 0;
  const started = Date.now();
  for (let seed = 1; seed <= CASES && (seed === 1 || Date.now() - started < BUDGET_MS); seed++) {
    ran++;
    const base = defaultSpec(false);
    base.process!.terminal = false;
    base.process!.args = ['true'];
    const { doc, what } = mutate(base as never, seed);
    const spec = doc as Record<string, any>;
    // the rootfs and the cgroup stay ours: a root of "/" would let mount targets be made on the host
    if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
      spec.root = { path: root, readonly: spec.root?.readonly === true };
      if (spec.linux && typeof spec.linux === 'object' && !Array.isArray(spec.linux)) spec.linux.cgroupsPath = `${cgroupPrefix}/${seed}`;
    }
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(doc));
    const id = env.id(`fz${seed}`);
    const r = env.runt(['create', '-b', bundle, id]);
    const label = `seed ${seed} (${what.join('; ')})`;
    if (r.status === 0) {
      created++;
      const d = env.runt(['delete', '-f', id]);
      t.equal(d.status, 0, `${label}: delete: ${d.stderr}`);
      continue;
    }
    const message = r.stderr.replace(/^runt: /, '').trim();
    t.notMatch(r.stderr, /\n\s+at |TypeError|ReferenceError|RangeError/, `${label}: no stack trace`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${label}: one line`);
    if (!namesField(message)) t.fail(`${label}: the rejection names no field: ${message}`);
  }
  // the seeds that make a valid config come later than the first few: judged on a full run only
  if (ran === CASES) t.ok(created > 0, `${created} of ${CASES} were valid and created`);
  else t.comment(`${ran} of ${CASES} cases ran within ${BUDGET_MS} ms (half of TAP_TIMEOUT), ${created} valid and created`);
  t.same(
    cgroupDirs(cgroupPrefix).flatMap((d) =>
      require('node:fs')
        .readdirSync(d)
        .filter((n: string) => /^\d+$/.test(n)),
    ),
    [],
    'no cgroup left',
  );
  t.same(mountsUnder(env.tmp), [], 'no mount left');
  for (const d of cgroupDirs(cgroupPrefix)) require('node:fs').rmdirSync(d);
});
