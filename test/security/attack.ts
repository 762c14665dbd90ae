// What the attack tests share: a rootfs of the test's own to plant links in, a victim dir on the host that the
// attack aims at, and the checks that the host is as it was (file hashes, a tree listing, no mounts).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { mountsUnder, rootfs, setup, type Env } from '../integration/harness';
import type { Spec } from '../../src/spec/generated/types';

export interface Attack {
  env: Env;
  /** A host dir the attack aims at: its tree must not change and nothing may be mounted on it. */
  victim: string;
  /** A copy of the busybox rootfs, writable, for the attack's links. */
  rootfs(): string;
  /** Fails the test if anything under the victim dir changed or got mounted. */
  hostUntouched(): void;
}

/** A line per entry under dir: path, type, and the contents' hash or the link's target. */
export function tree(dir: string): string[] {
  const lines: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(rel, name);
      const st = lstatSync(join(dir, path));
      if (st.isSymbolicLink()) lines.push(`${path} -> ${readlinkSync(join(dir, path))}`);
      else if (st.isFile())
        lines.push(
          `${path} ${createHash('sha256')
            .update(readFileSync(join(dir, path)))
            .digest('hex')} ${st.mode.toString(8)}`,
        );
      else if (st.isDirectory()) {
        lines.push(`${path}/ ${st.mode.toString(8)}`);
        walk(path);
      } else lines.push(`${path} ${st.mode.toString(8)} ${st.rdev}`);
    }
  };
  walk('');
  return lines;
}

/** Unmounts whatever ended up under dir (deepest first): only an attack that worked leaves anything. */
function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
}

/**
 * The harness's set-up, plus a victim dir made by `plant` (files, links, device nodes) and snapshotted right
 * after. In teardown (before the harness removes its temp dir) anything mounted under it is unmounted, so a
 * test run with a protection turned off cannot make the clean-up reach the host through a mount.
 */
export function attack(t: Test, plant: (victim: string) => void = () => undefined): Attack {
  const env = setup(t);
  const victim = join(env.tmp, 'victim');
  mkdirSync(victim);
  plant(victim);
  const before = tree(victim);
  t.teardown(() => unmountUnder(env.tmp)); // LIFO: before the harness's removal of env.tmp
  let copies = 0;
  return {
    env,
    victim,
    rootfs() {
      const dir = join(env.tmp, `rootfs${copies++}`);
      const cp = spawnSync('cp', ['-a', rootfs(), dir], { encoding: 'utf8' });
      if (cp.status !== 0) throw new Error(`cp -a: ${cp.stderr}`);
      return dir;
    },
    hostUntouched() {
      t.same(mountsUnder(victim), [], 'nothing is mounted on the host under the victim dir');
      t.same(tree(victim), before, 'the victim dir on the host is as it was');
    },
  };
}

/**
 * A host dir to bind over the container's /dev (rbind, as a client may ask): the null device, unless `entries`
 * replaces it, and `entries` (name → a symlink target, or null for a regular file). The container's own mounts
 * under /dev (pts, shm, mqueue) are made in it.
 */
export function devDir(env: Env, name: string, entries: Record<string, string | null>): string {
  const dir = join(env.tmp, name);
  mkdirSync(dir);
  if (!('null' in entries)) {
    const mknod = spawnSync('mknod', ['-m', '666', join(dir, 'null'), 'c', '1', '3'], { encoding: 'utf8' });
    if (mknod.status !== 0) throw new Error(`mknod: ${mknod.stderr}`);
  }
  for (const [entry, target] of Object.entries(entries)) {
    if (target === null) writeFileSync(join(dir, entry), 'a regular file\n');
    else symlinkSync(target, join(dir, entry));
  }
  return dir;
}

/** The config edit that binds a host dir over /dev in place of the default tmpfs. */
export function bindDev(dir: string): (s: Spec) => void {
  return (s) => {
    s.mounts = s.mounts!.map((m) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: dir, options: ['rbind', 'rw'] } : m));
  };
}

/** A runt error is one line "runt: ..." naming what was refused, and the container is gone. */
export function refused(t: Test, r: { status: number | null; stderr: string }, re: RegExp): void {
  t.equal(r.status, 1, 'runt fails');
  t.match(r.stderr, re);
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
}
