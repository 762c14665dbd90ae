// Files runt keeps in the state root: images the build put in runt (ffi-rs's binding, the shim's executable),
// written there once so that later calls read a file instead of having the engine decode the image's bytes at
// every call. A kept file is named `<root>/~<what>-<hash of its bytes>` ('~' is never in an id), in a directory
// of the caller's that no one else may write (store.ts), so no one else can put a file there, unlike a shared
// /tmp, which a container given the host's /tmp could write as root. It is taken only when it is a regular
// file of the caller's, writable by no one else, of one link and the image's size, and used through the fd
// that was checked; anything else at its name is replaced (but for a directory: the image is then not kept).
// A new file replaces the files of other builds of the same image: an upgrade leaves none behind.
import { closeSync, constants, fdatasyncSync, fstatSync, lstatSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { callRoot, notOwned } from '../container/owner';

/** An image the build put in runt. */
export interface KeptImage {
  /** Its file's name in the state root: `~<what>-<hash>`, with an extension after the hash if any. */
  file: string;
  size: number;
  /** Its bytes (the build's image module, a chunk loaded only when this is called). */
  bytes(): Uint8Array;
}

/** An fd of `image`'s kept file, open for reading, written first if what is there is not it; undefined where it cannot be. */
export function openKept(image: KeptImage): number | undefined {
  const root = callRoot();
  if (root === undefined || !trustedDir(root)) return undefined;
  const path = `${root}/${image.file}`;
  let fd: number;
  try {
    // O_NOFOLLOW: not through a link; O_NONBLOCK: a fifo in its place does not hold the open
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return writeKept(root, path, image);
  }
  const stat = fstatSync(fd);
  if (stat.isFile() && stat.uid === process.geteuid?.() && (stat.mode & 0o022) === 0 && stat.nlink === 1 && stat.size === image.size) return fd;
  closeSync(fd);
  return writeKept(root, path, image);
}

function trustedDir(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return st !== undefined && notOwned(st) === undefined;
}

/**
 * Writes `image` to a new file beside `path` (named for this writer alone: roots can be shared across pid
 * namespaces), on disk before it is renamed there; its fd, or undefined on any failure.
 */
function writeKept(root: string, path: string, image: KeptImage): number | undefined {
  const tmp = `${path}.${process.pid}-${Math.random().toString(36).slice(2)}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    writeAll(fd, image.bytes());
    fdatasyncSync(fd);
    renameSync(tmp, path);
  } catch {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    return undefined;
  }
  try {
    forgetOtherBuilds(root, image.file);
  } catch {
    // another build's file stays: it is only a cache
  }
  return fd;
}

/**
 * Removes the kept files of the same image from other builds (`~<what>-`, another hash, the same extension).
 * A cache's clean-up: a file it cannot remove stays.
 */
function forgetOtherBuilds(root: string, file: string): void {
  const prefix = file.slice(0, file.lastIndexOf('-') + 1);
  const extension = file.slice(prefix.length + HASH_DIGITS);
  for (const name of readdirSync(root)) {
    const other = name.length === file.length && name !== file && name.startsWith(prefix) && name.endsWith(extension);
    if (other && isHash(name.slice(prefix.length, prefix.length + HASH_DIGITS))) rmSync(`${root}/${name}`, { force: true });
  }
}

/** The hash in a kept file's name: this many lowercase hex digits (scripts/build.mjs). */
const HASH_DIGITS = 16;

function isHash(text: string): boolean {
  let hex = text.length === HASH_DIGITS;
  for (let i = 0; hex && i < text.length; i++) hex = '0123456789abcdef'.includes(text[i]!);
  return hex;
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
}
