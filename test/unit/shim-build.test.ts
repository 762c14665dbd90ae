// The shim is built hardened (native-shim/Makefile): stack protector, _FORTIFY_SOURCE=3 (its checked libc
// calls), full RELRO (-z relro -z now), as the binary shows.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const SHIM = join(__dirname, '../../build/runt-shim');
if (!existsSync(SHIM)) t.plan(0, 'build/runt-shim is missing: npm run build');

const tool = (cmd: string, args: string[]): string => spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '';

t.test('build/runt-shim: stack protector, fortified libc calls, full RELRO', async (t) => {
  const symbols = tool('nm', ['-D', SHIM]);
  t.match(symbols, /\b__stack_chk_fail\b/, '-fstack-protector-strong');
  t.match(symbols, /\b__\w+_chk\b/, '-D_FORTIFY_SOURCE: checked variants of libc calls');
  t.match(tool('readelf', ['-lW', SHIM]), /GNU_RELRO/, '-z relro');
  t.match(tool('readelf', ['-dW', SHIM]), /\(FLAGS\)\s+BIND_NOW/, '-z now');
});
