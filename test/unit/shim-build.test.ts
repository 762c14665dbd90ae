// The shim is built hardened (native-shim/Makefile): stack protector, _FORTIFY_SOURCE=3 (its checked libc
// calls), full RELRO (-z relro -z now), position-independent, and static: no dynamic loader runs at its start,
// and no library of the host's (libseccomp, libc) is loaded into the process every container's init begins as.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SHIM = join(__dirname, '../../build/runt-shim');
/** The shim's own objects (native-shim/Makefile): in the static binary, libc's and libseccomp's carry the same symbols. */
const OBJECTS = join(__dirname, '../../build/.obj');
if (!existsSync(SHIM)) t.plan(0, 'build/runt-shim is missing: npm run build');

const tool = (cmd: string, args: string[]): string => spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '';

t.test('build/runt-shim: stack protector, fortified libc calls, full RELRO, static PIE', async (t) => {
  const objects = readdirSync(OBJECTS).filter((f) => f.endsWith('.o'));
  t.ok(objects.length > 0, 'the objects are there');
  const called = tool('nm', ['-u', ...objects.map((o) => join(OBJECTS, o))]);
  t.match(called, /\b__stack_chk_fail\b/, "-fstack-protector-strong: the shim's code checks its stack");
  t.match(called, /\b__\w+_chk\b/, "-D_FORTIFY_SOURCE: the shim's code calls the checked variants of libc calls");
  const segments = tool('readelf', ['-lW', SHIM]);
  t.match(segments, /GNU_RELRO/, '-z relro');
  t.notMatch(segments, /INTERP/, 'no dynamic loader');
  const dynamic = tool('readelf', ['-dW', SHIM]);
  t.match(dynamic, /\(FLAGS\)\s+BIND_NOW/, '-z now');
  t.match(dynamic, /\(FLAGS_1\)\s+Flags:.*\bPIE\b/, 'position-independent: loaded at a random address');
  t.notMatch(dynamic, /\(NEEDED\)/, 'no shared library');
});
