// What runt tells CRIU about a container (criu_opts), as pure functions of the options and the container's
// config: the options runc passes through, and the mounts CRIU must treat as external (their sources are
// outside the container: bind mounts, the cgroup binds of a v1 host, /dev/null over masked files, devices).
import { resolve } from '../sys/path';
import type { CgroupMountOp } from '../cgroups';
import { UserError } from '../errors';
import type { Spec } from '../spec/generated/types';
import { CG_MODE_DEFAULT, CG_MODES } from './messages';
import type { Message } from './proto';

/** The options checkpoint and restore share with runc (its flags of the same names), passed to CRIU. */
export interface CriuOptions {
  tcpEstablished: boolean;
  extUnixSk: boolean;
  shellJob: boolean;
  fileLocks: boolean;
  /** soft, full, strict or ignore (default: CRIU's). */
  manageCgroupsMode?: string;
  /** Namespaces CRIU leaves empty, to be set up by a hook: "network" only. */
  emptyNs: readonly string[];
  autoDedup: boolean;
  lazyPages: boolean;
}

/** The options checkpoint and restore share with runc, as criu_opts fields. */
export function passThroughOpts(opts: CriuOptions): Message {
  let cgMode = CG_MODE_DEFAULT;
  if (opts.manageCgroupsMode !== undefined) {
    const m = CG_MODES[opts.manageCgroupsMode];
    if (m === undefined) throw new UserError('invalid manage-cgroups-mode value');
    cgMode = m;
  }
  const emptyNs = emptyNsMask(opts.emptyNs);
  return {
    manageCgroups: true, // older CRIUs read this; manageCgroupsMode replaces it
    manageCgroupsMode: cgMode,
    notifyScripts: true,
    shellJob: opts.shellJob,
    extUnixSk: opts.extUnixSk,
    tcpEstablished: opts.tcpEstablished,
    fileLocks: opts.fileLocks,
    emptyNs,
    orphanPtsMaster: true,
    autoDedup: opts.autoDedup,
    lazyPages: opts.lazyPages,
    logLevel: 4,
  };
}

const CLONE_NEWNET = 0x40000000;

/** --empty-ns: runc takes the namespace name "network" (the only one CRIU can leave empty), as a repeatable flag. */
function emptyNsMask(names: readonly string[]): number {
  let mask = 0;
  for (const n of names) {
    if (n !== 'network') throw new UserError(`--empty-ns: namespace "${n}" is not supported (only network)`);
    mask |= CLONE_NEWNET;
  }
  return mask;
}

/** The criu configuration file: the annotation org.criu.config names one ("" for none), else runt's default. */
export function configFile(spec: Spec): string | undefined {
  const named = spec.annotations?.['org.criu.config'];
  if (named === undefined) return '/etc/criu/runt.conf';
  return named === '' ? undefined : named;
}

export interface ExternalMount {
  /** The mount's destination in the container (the key both sides agree on). */
  dest: string;
  /** Where it comes from on the host (restore binds it from there). */
  source: string;
}

/**
 * The container's mounts whose source lies outside it, in config order. `cgroupBinds` gives the cgroup
 * mount's operations (binds of the container's cgroup dirs on a v1 host without a cgroup namespace; real
 * cgroup mounts need no entry). `isFile(path)` says whether masked path `path` is a file in the container.
 */
export function externalMounts(
  spec: Spec,
  bundle: string,
  cgroupBinds: (options: string[]) => CgroupMountOp[],
  isFile: (path: string) => boolean,
): ExternalMount[] {
  const out: ExternalMount[] = [];
  for (const m of spec.mounts ?? []) {
    const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    if (bind && m.source) {
      out.push({ dest: cleanDest(m.destination), source: resolve(bundle, m.source) });
    } else if (m.type === 'cgroup') {
      for (const op of cgroupBinds(m.options ?? [])) {
        if (op.kind === 'mount' && op.fstype === 'bind') {
          out.push({ dest: cleanDest(op.target ? `${m.destination}/${op.target}` : m.destination), source: op.source });
        }
      }
    }
  }
  // every masked file is /dev/null bound over it: one external source, under one key
  for (const path of spec.linux?.maskedPaths ?? []) {
    if (isFile(path)) out.push({ dest: cleanDest(path), source: '/dev/null' });
  }
  for (const d of spec.linux?.devices ?? []) out.push({ dest: cleanDest(d.path), source: d.path });
  return out;
}

/** Dump side: each mount by its destination (masked files all by /dev/null's). */
export function dumpExtMounts(mounts: ExternalMount[]): Message[] {
  return mounts.map((m) => ({ key: m.dest, val: m.source === '/dev/null' ? '/dev/null' : m.dest }));
}

/** Restore side: each key to its host source (masked files: the one /dev/null key). */
export function restoreExtMounts(mounts: ExternalMount[]): Message[] {
  const seen = new Set<string>();
  const out: Message[] = [];
  for (const m of mounts) {
    const key = m.source === '/dev/null' ? '/dev/null' : m.dest;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key, val: m.source });
  }
  return out;
}

function cleanDest(path: string): string {
  return `/${path
    .split('/')
    .filter((p) => p && p !== '.')
    .join('/')}`;
}

/**
 * CRIU's cgroup_root entries from /proc/PID/cgroup of CRIU itself (in the container's cgroups), one per line:
 * the restored tasks' cgroups are put under these. Every hierarchy is named, the cgroup2 one by "" (as runc
 * sends it): an entry without a controller would be the root of all of them, named-only ones too, where runt
 * makes no cgroup and CRIU would make one.
 */
export function cgroupRoots(procCgroup: string): Message[] {
  const out: Message[] = [];
  for (const line of procCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.push({ ctrl: m[1]!, path: m[2]! });
  }
  return out;
}

/** The fds 0-2 of the container's init at dump time (runc's descriptors.json): pipes are handed over at restore. */
export const DESCRIPTORS = 'descriptors.json';

/** inherit_fd entries: each of the init's pipes at dump time is runt's own fd of that number at restore. */
export function inheritPipes(descriptors: string[]): Message[] {
  return descriptors.flatMap((d, fd) => (d.startsWith('pipe:') ? [{ key: d, fd }] : []));
}
