// Low-level, synchronous cgroupfs helpers. Only node:fs; nothing here knows about the OCI spec.
import * as fs from 'node:fs';
import * as path from 'node:path';

const O_WRONLY_TRUNC = fs.constants.O_WRONLY | fs.constants.O_TRUNC;

export function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** File content without the trailing newline; undefined when the file does not exist. */
export function readTrim(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined;
    throw e;
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
  const fd = fs.openSync(file, O_WRONLY_TRUNC);
  try {
    fs.writeSync(fd, value);
  } finally {
    fs.closeSync(fd);
  }
}

/** mkdir -p that appends every directory it made to `created`, outermost first. */
export function mkdirP(dir: string, created: string[]): void {
  const missing: string[] = [];
  let d = dir;
  while (!fs.existsSync(d)) {
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      fs.mkdirSync(missing[i]!, 0o755);
      created.push(missing[i]!);
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e; // made by someone else meanwhile: not ours to remove
    }
  }
}

export { sleepMs } from '../sys/sleep';
