// What the tests that run runt as a real unprivileged user share.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, RUNT } from './harness';

/** build/ as user `name` can run it: the repo's, or a copy in `tmp` with its own launcher where the repo is out of reach. */
export function runtFor(name: string, tmp: string): string {
  const probe = spawnSync('setpriv', ['--reuid', name, '--regid', name, '--init-groups', RUNT, '--version'], { encoding: 'utf8' });
  if (probe.status === 0) return RUNT;
  const build = join(tmp, 'build');
  mkdirSync(build);
  for (const f of ['runt.cjs', 'validators.cjs', 'validators.cjs.cache']) cpSync(join(REPO, 'build', f), join(build, f));
  cpSync(join(REPO, 'node_modules/@yuuang'), join(tmp, 'node_modules/@yuuang'), { recursive: true });
  const make = spawnSync('make', ['-s', '-C', join(REPO, 'native-shim'), `OUT=${build}`, `NODE=${process.execPath}`, `BUNDLE=${join(build, 'runt.cjs')}`], { encoding: 'utf8' });
  if (make.status !== 0) throw new Error(`building a copy of runt for ${name}: ${make.stderr}`);
  return join(build, 'runt');
}
