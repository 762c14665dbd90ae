import t from 'tap';
import { posix } from 'node:path';
import * as path from '../../src/sys/path';

// every combination of a few parts that a path in runt looks like: a bundle, a rootfs, a cgroup, a mount
// target; relative and absolute, with dots, double dots and repeated or trailing slashes
const PARTS = ['', '.', '..', 'a', 'b.c', '/', '/a', 'a/', '/a/b/', 'a//b', './a', '../a', 'a/..', '/..', 'a/./b/../c', '/sys/fs/cgroup/', '...'];
const PATHS = PARTS.flatMap((x) => PARTS.map((y) => x + y));

t.test('normalize, dirname and basename: as node:path.posix', async (t) => {
  for (const p of PATHS) {
    t.equal(path.normalize(p), posix.normalize(p), `normalize(${JSON.stringify(p)})`);
    t.equal(path.dirname(p), posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    t.equal(path.basename(p), posix.basename(p), `basename(${JSON.stringify(p)})`);
  }
});

t.test('join, resolve and relative: as node:path.posix', async (t) => {
  for (const a of PARTS) {
    for (const b of PATHS) {
      t.equal(path.join(a, b), posix.join(a, b), `join(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
      t.equal(path.resolve(a, b), posix.resolve(a, b), `resolve(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
      t.equal(path.relative(a, b), posix.relative(a, b), `relative(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
    }
  }
  t.equal(path.join(), posix.join());
  t.equal(path.resolve(), posix.resolve());
  t.equal(path.join('/a', 'b', '', 'c/'), posix.join('/a', 'b', '', 'c/'));
});
