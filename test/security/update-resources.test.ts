// `update --resources FILE|-` takes a LinuxResources document from its caller (an engine passing on what a user
// asked for). It is validated against the schema of linux.resources, as create validates config.json: a value
// of the wrong type is an error naming the field, and neither the container's cgroup nor its record changes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, runningContainer } from '../integration/harness';
import { attack, refused } from './attack';

const skip = canRun();
if (skip) t.plan(0, skip);

const PIDS = '/sys/fs/cgroup/pids';

t.test('update --resources: a document the schema refuses changes nothing', async (t) => {
  const { env } = attack(t);
  const { id, bundle } = runningContainer(env, (s) => {
    s.linux!.resources = { pids: { limit: 50 } };
  });
  const cgroupsPath = (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { linux: { cgroupsPath: string } }).linux.cgroupsPath;
  const recorded = (): unknown => JSON.parse(readFileSync(join(env.root, id, 'config.json'), 'utf8')).linux.resources;
  const before = recorded();
  const cases: [string, RegExp][] = [
    ['{"memory": "64m"}', /^runt: --resources: memory: must be object\n$/],
    // without the schema, the string was taken as true: the opposite of what it says, applied and recorded
    ['{"memory": {"useHierarchy": "no"}}', /^runt: --resources: memory\.useHierarchy: must be boolean\n$/],
    ['{"pids": {"limit": "10"}}', /^runt: --resources: pids\.limit: must be integer\n$/],
    ['{"pids": {"limit": 1e30}}', /^runt: --resources: pids\.limit: must be <= \d+\n$/],
    ['{"unified": {"pids.max": 5}}', /^runt: --resources: unified\["pids\.max"\]: must be string\n$/],
    ['{"cpu": {"cpus": ["0", "1"]}}', /^runt: --resources: cpu\.cpus: must be string\n$/],
  ];
  for (const [doc, message] of cases) {
    const r = env.runt(['update', '--resources', '-', id], { input: doc });
    refused(t, r, message);
    t.same(recorded(), before, `${doc}: the record is unchanged`);
  }
  t.equal(readFileSync(join(PIDS, cgroupsPath, 'pids.max'), 'utf8').trim(), '50', 'the cgroup is unchanged');
  const ok = env.runt(['update', '--resources', '-', id], { input: '{"pids": {"limit": 40}}' });
  t.equal(ok.status, 0, ok.stderr);
  t.equal(readFileSync(join(PIDS, cgroupsPath, 'pids.max'), 'utf8').trim(), '40', 'a valid document is applied');
});
