import t from 'tap';
import { posix } from 'node:path';
import { basename, dirname, join, normalize, relative, resolve, utf8Length } from '../../src/sys/path';

const OURS = { basename, dirname, join, normalize, relative, resolve };

// every combination of a few parts that a path in runt looks like: a bundle, a rootfs, a cgroup, a mount
// target; relative and absolute, with dots, double dots and repeated or trailing slashes
const PARTS = ['', '.', '..', 'a', 'b.c', '/', '/a', 'a/', '/a/b/', 'a//b', './a', '../a', 'a/..', '/..', 'a/./b/../c', '/sys/fs/cgroup/', '...'];
const PATHS = PARTS.flatMap((x) => PARTS.map((y) => x + y));
const PAIRS = PARTS.flatMap((a) => PATHS.map((b) => [a, b] as const));

/** The calls where runt's function and node:path.posix's disagree: none is expected. */
function disagreements<A extends readonly string[]>(name: keyof typeof OURS, cases: readonly A[]): string[] {
  const ours = OURS[name] as (...args: string[]) => string;
  const node = posix[name] as (...args: string[]) => string;
  return cases.filter((args) => ours(...args) !== node(...args)).map((args) => `${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
}

t.test('normalize, dirname and basename: as node:path.posix', async (t) => {
  const single = PATHS.map((p) => [p] as const);
  for (const name of ['normalize', 'dirname', 'basename'] as const) t.same(disagreements(name, single), [], `${name}: ${single.length} paths`);
});

t.test('join, resolve and relative: as node:path.posix', async (t) => {
  for (const name of ['join', 'resolve', 'relative'] as const) t.same(disagreements(name, PAIRS), [], `${name}: ${PAIRS.length} pairs`);
  t.same(disagreements('join', [[], ['/a', 'b', '', 'c/']]), [], 'join of no parts, of three');
  t.same(disagreements('resolve', [[]]), [], 'resolve of no parts');
});

t.test('utf8Length: as Buffer.byteLength', async (t) => {
  // ASCII, two- and three-byte characters, a surrogate pair (four bytes), lone surrogates (U+FFFD's three)
  const samples = ['', 'abc', '/run/runt/c1', 'é', 'ß/ü', '€', '中文', '😀', 'a😀b', '\ud83d', '\ude00', 'a\ud83db', '\ude00\ud83d', '\ud83d\ud83d\ude00'];
  const chars = Array.from({ length: 0x800 }, (_, i) => String.fromCharCode(i * 32));
  for (const s of [...samples, ...chars])
    if (utf8Length(s) !== Buffer.byteLength(s)) t.fail(`${JSON.stringify(s)}: ${utf8Length(s)} against ${Buffer.byteLength(s)}`);
  t.pass(`${samples.length + chars.length} strings`);
});
