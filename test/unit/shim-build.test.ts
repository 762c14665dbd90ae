// The shim is built hardened (native-shim/Makefile): stack protector, _FORTIFY_SOURCE=3 (its checked libc
// calls), full RELRO (-z relro -z now), position-independent, and static: no dynamic loader runs at its start,
// and no library of the host's (libseccomp, libc) is loaded into the process every container's init begins as.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const SHIM = join(__dirname, '../../build/runt-shim');
if (!existsSync(SHIM)) t.plan(0, 'build/runt-shim is missing: npm run build');

const tool = (cmd: string, args: string[]): string => spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '';

t.test('build/runt-shim: stack protector, fortified libc calls, full RELRO, static PIE', async (t) => {
  const symbols = tool('nm', [SHIM]);
  t.match(symbols, /\b__stack_chk_fail\b/, '-fstack-protector-strong');
  t.match(symbols, /\b__\w+_chk\b/, '-D_FORTIFY_SOURCE: checked variants of libc calls');
  const segments = tool('readelf', ['-lW', SHIM]);
  t.match(segments, /GNU_RELRO/, '-z relro');
  t.notMatch(segments, /INTERP/, 'no dynamic loader');
  const dynamic = tool('readelf', ['-dW', SHIM]);
  t.match(dynamic, /\(FLAGS\)\s+BIND_NOW/, '-z now');
  t.match(dynamic, /\(FLAGS_1\)\s+Flags:.*\bPIE\b/, 'position-independent: loaded at a random address');
  t.notMatch(dynamic, /\(NEEDED\)/, 'no shared library');
});
