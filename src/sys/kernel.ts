// The running kernel's release (uname -r), from /proc/sys/kernel/osrelease: node:os's release() would load a
// module that costs create ~1 ms, for a line that node:fs, loaded anyway, reads.
import { readFileSync } from 'node:fs';

let running: string | undefined;

export function kernelRelease(): string {
  running ??= readRelease();
  return running;
}

function readRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // no /proc (a build chroot asking `runt features`): uname(2), through node:os
    return (require('node:os') as typeof import('node:os')).release();
  }
}

/** Whether a kernel of `release` ("6.1.0-18-amd64") is `major`.`minor` or later. */
export function releaseAtLeast(release: string, major: number, minor: number): boolean {
  const dot = release.indexOf('.');
  const ma = parseInt(release, 10);
  const mi = dot < 0 ? 0 : parseInt(release.slice(dot + 1), 10);
  return ma > major || (ma === major && mi >= minor);
}
