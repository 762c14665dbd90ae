import t from 'tap';
import { release } from 'node:os';
import { kernelRelease, releaseAtLeast } from '../../src/sys/kernel';

t.test("kernelRelease is node:os's release()", async (t) => {
  t.equal(kernelRelease(), release());
});

t.test('releaseAtLeast compares major, then minor', async (t) => {
  const cases: [string, number, number, boolean][] = [
    ['5.7.0', 5, 7, true],
    ['5.6.19', 5, 7, false],
    ['6.1.0-18-amd64', 5, 7, true],
    ['4.19.0', 5, 7, false],
    ['5.10', 5, 12, false],
    ['5.12', 5, 12, true],
    ['6.18.44-fc-v1272', 6, 18, true],
    ['6', 5, 7, true],
    ['5', 5, 7, false],
    ['junk', 1, 0, false],
  ];
  for (const [rel, major, minor, want] of cases) t.equal(releaseAtLeast(rel, major, minor), want, `${rel} >= ${major}.${minor}`);
});
