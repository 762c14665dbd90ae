// The conformance suite (conformance/run) against build/runt, and runc when it is installed: no case may
// crash the harness, runt may fail only the clauses conformance/expected-runt.json lists (each with its
// reason), and every clause runc passes runt passes too unless listed there.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, REPO, RUNT } from './harness';

interface CaseResult {
  status: 'pass' | 'fail' | 'n/a' | 'error';
  detail: string;
}
interface Report {
  cases: { id: string; results: Record<string, CaseResult> }[];
}

const skip = canRun();
if (skip) t.plan(0, skip);

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));

t.test('conformance suite', async (t) => {
  const tmp = mkdtempSync(`/tmp/runt-it-${process.pid}-conformance-`);
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const jsonFile = join(tmp, 'report.json');
  const args = ['--runtime', RUNT, ...(RUNC ? ['--runtime', RUNC] : []), '--json', jsonFile];
  const r = spawnSync(join(REPO, 'conformance/run'), args, { encoding: 'utf8', timeout: 100_000 });
  t.equal(r.status, 0, `conformance/run exit status (stderr: ${r.stderr.slice(-2000)})`);
  const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as Report;
  const expected = (JSON.parse(readFileSync(join(REPO, 'conformance/expected-runt.json'), 'utf8')) as { failures: Record<string, string> }).failures;

  const runtOf = (c: Report['cases'][number]): CaseResult => c.results.runt!;
  const list = (pred: (c: Report['cases'][number]) => boolean) => report.cases.filter(pred).map((c) => `${c.id}: ${runtOf(c).detail}`);
  t.same(
    list((c) => runtOf(c).status === 'error'),
    [],
    'no case crashes the harness',
  );
  t.same(
    list((c) => runtOf(c).status === 'fail' && !expected[c.id]),
    [],
    'runt fails no clause missing from conformance/expected-runt.json',
  );
  t.same(
    report.cases.filter((c) => runtOf(c).status === 'pass' && expected[c.id]).map((c) => c.id),
    [],
    'every clause expected-runt.json lists still fails (remove those that pass)',
  );
  if (RUNC) {
    t.same(
      list((c) => c.results.runc?.status === 'pass' && runtOf(c).status !== 'pass' && !expected[c.id]),
      [],
      'every clause runc passes, runt passes',
    );
  }
  for (const [id, reason] of Object.entries(expected)) {
    t.ok(
      report.cases.some((c) => c.id === id),
      `expected-runt.json names a case that exists: ${id}`,
    );
    t.ok(reason.length > 20, `expected-runt.json gives a reason for ${id}`);
  }
});
