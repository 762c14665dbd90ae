// Fuzzing the config path without root: mutated configs through validation and the plan builders. Every
// case either builds a plan or is rejected with a ConfigError naming the field; nothing else may escape.
// FUZZ_CASES=100000 for a longer run by hand; the corpus in test/fuzz/corpus replays every time.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../../src/lifecycle/spec';
import { buildChildPlan, buildParentPlan } from '../../src/plan';
import { planContext } from './plan-context';
import { ConfigError } from '../../src/plan/types';
import { checkSpec } from '../../src/lifecycle/bundle';
import { encodePlan } from '../../src/plan/encode';
import { mutate, namesField } from '../fuzz/mutate';

const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
const CORPUS = join(__dirname, '../fuzz/corpus');

const ctx = planContext({ execFifo: '/f' });

/** undefined: accepted; a string: the rejection message. Throws anything that is not a user error. */
function attempt(doc: unknown): string | undefined {
  try {
    const spec = checkSpec(doc);
    const parent = buildParentPlan(spec, ctx);
    encodePlan(parent.steps);
    encodePlan(buildChildPlan(spec, parent.namespaces, ctx, '{}'));
    return undefined;
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
}

function base(): object {
  const s = defaultSpec(false);
  s.process!.terminal = false;
  s.hooks = { prestart: [{ path: '/bin/true', args: ['true'], timeout: 1 }] };
  s.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  return s;
}

t.test(`${CASES} mutated configs: a plan or a rejection that names the field`, async (t) => {
  let accepted = 0;
  const unnamed: string[] = [];
  for (let seed = 1; seed <= CASES; seed++) {
    const { doc, what } = mutate(base() as never, seed);
    let message: string | undefined;
    try {
      message = attempt(doc);
    } catch (e) {
      t.fail(`seed ${seed} (${what.join('; ')}) crashed: ${(e as Error).stack}`);
      continue;
    }
    if (message === undefined) accepted++;
    else if (!namesField(message)) unnamed.push(`seed ${seed} (${what.join('; ')}): ${message}`);
  }
  t.same(unnamed.slice(0, 20), [], 'every rejection names a field');
  t.ok(accepted > 0 && accepted < CASES, `some cases pass, some are rejected (${accepted} accepted)`);
});

t.test('the corpus of interesting cases, each with its expected outcome', async (t) => {
  const expected = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8')) as Record<string, string>;
  const files = readdirSync(CORPUS)
    .filter((f) => f.endsWith('.json') && f !== 'expected.json')
    .sort();
  t.same(files, Object.keys(expected).sort(), 'every corpus file has an expectation');
  for (const file of files) {
    let outcome: string;
    try {
      outcome = attempt(JSON.parse(readFileSync(join(CORPUS, file), 'utf8'))) ?? 'accepted';
    } catch (e) {
      t.fail(`${file} crashed: ${(e as Error).message}`);
      continue;
    }
    t.match(outcome, new RegExp(expected[file]!), file);
    t.ok(outcome === 'accepted' || namesField(outcome), `${file}: names the field`);
  }
});
