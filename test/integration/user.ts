// What the tests that run runt as a real unprivileged user share.
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { RUNT } from './harness';

/** build/runt as user `name` can run it: the repo's, or a copy of the one file in `tmp` where the repo is out of reach. */
export function runtFor(name: string, tmp: string): string {
  const probe = spawnSync('setpriv', ['--reuid', name, '--regid', name, '--init-groups', RUNT, '--version'], { encoding: 'utf8' });
  if (probe.status === 0) return RUNT;
  const copy = join(tmp, 'runt');
  cpSync(RUNT, copy);
  return copy;
}
