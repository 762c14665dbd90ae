// Low-level, synchronous cgroupfs helpers over node:fs; nothing here knows about the OCI spec. What the kernel
// refuses is a HostError naming the file, its errno in `code` for the callers that add the config field.
import * as fs from 'node:fs';
import { errnoOf, hostFailure } from '../errors';
import { dirname } from '../sys/path';

// with the helpers it goes with, for the cgroup modules and their users
export { errnoOf };

const O_WRONLY_TRUNC = fs.constants.O_WRONLY | fs.constants.O_TRUNC;

/** File content without the trailing newline; undefined when the file does not exist. */
export function readTrim(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined;
    throw hostFailure(`reading ${file}`, e);
  }
}

export function exists(p: string): boolean {
  return fs.existsSync(p);
}

/**
 * Writes one value into an existing cgroup file. Never creates the file: a missing cgroup file is an error
 * (a fake tree on disk would otherwise quietly grow one).
 */
export function writeCgroupFile(file: string, value: string): void {
  try {
    const fd = fs.openSync(file, O_WRONLY_TRUNC);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw hostFailure(`writing ${JSON.stringify(value)} to ${file}`, e);
  }
}

/** mkdir -p that appends every directory it made to `created`, outermost first. */
export function mkdirP(dir: string, created: string[]): void {
  const missing: string[] = [];
  let d = dir;
  while (!fs.existsSync(d)) {
    missing.push(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      fs.mkdirSync(missing[i]!, 0o755);
      created.push(missing[i]!);
    } catch (e) {
      // EEXIST: made by someone else meanwhile, not ours to remove
      if (errnoOf(e) !== 'EEXIST') throw hostFailure(`making ${missing[i]!}`, e);
    }
  }
}

export { sleepMs } from '../sys/sleep';
