// Rootless mode (runt not root, or --rootless true): what create does differently. clone still makes the
// user namespace first, with the others; the runtime then writes its id maps itself where they map only the
// caller's own id (setgroups denied first, as the kernel requires of an unprivileged writer), and through the
// setuid helpers newuidmap/newgidmap (Debian's uidmap) where they map more, within the ranges /etc/subuid and
// /etc/subgid grant. A cgroup is made only where one is delegated to the caller.
import { existsSync } from 'node:fs';
import type { CgroupHost } from '../cgroups';
import { undelegatedFile } from '../cgroups/delegation';
import { ConfigError } from '../plan/types';
import type { LinuxIDMapping, LinuxResources, Spec } from '../spec/generated/types';

/** One thing the runtime does to give the child its id maps: write a file of /proc/PID, or run a helper. */
export type IdMapAction =
  | { kind: 'write'; file: 'uid_map' | 'gid_map' | 'setgroups'; content: string; field: string }
  | { kind: 'helper'; program: string; args: string[]; field: string };

export const NEWUIDMAP = '/usr/bin/newuidmap';
export const NEWGIDMAP = '/usr/bin/newgidmap';

function mapText(mappings: LinuxIDMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function onlyOwnId(mappings: LinuxIDMapping[], own: number): boolean {
  return mappings.length === 1 && mappings[0]!.hostID === own && mappings[0]!.size === 1;
}

/**
 * The id-map actions for the child `pid` (a placeholder in a printed plan), in order. `caller` is the rootless runtime's euid and egid; without
 * it (root) both maps are written directly. A map of the caller's own id alone is written directly; a
 * gid_map so written needs "deny" in setgroups first. Any other map goes through its helper.
 */
export function idMapActions(spec: Spec, pid: number | string, caller?: { uid: number; gid: number }): IdMapAction[] {
  const actions: IdMapAction[] = [];
  const maps = [
    { file: 'uid_map' as const, mappings: spec.linux?.uidMappings ?? [], own: caller?.uid, helper: NEWUIDMAP, field: 'linux.uidMappings' },
    { file: 'gid_map' as const, mappings: spec.linux?.gidMappings ?? [], own: caller?.gid, helper: NEWGIDMAP, field: 'linux.gidMappings' },
  ];
  for (const { file, mappings, own, helper, field } of maps) {
    if (mappings.length === 0) continue;
    if (own === undefined || onlyOwnId(mappings, own)) {
      if (own !== undefined && file === 'gid_map') actions.push({ kind: 'write', file: 'setgroups', content: 'deny', field });
      actions.push({ kind: 'write', file, content: mapText(mappings), field });
    } else {
      const args = [String(pid), ...mappings.flatMap((m) => [m.containerID, m.hostID, m.size].map(String))];
      actions.push({ kind: 'helper', program: helper, args, field });
    }
  }
  return actions;
}

/** Runs newuidmap or newgidmap; its own message (e.g. a range /etc/subuid does not grant) names the problem. */
export function runIdMapHelper(action: Extract<IdMapAction, { kind: 'helper' }>): void {
  const { program, args, field } = action;
  if (!existsSync(program)) {
    throw new ConfigError(`${field}: mapping more than the caller's own id needs ${program}, which is missing (Debian: apt-get install uidmap)`);
  }
  // node:child_process only here, where a rootless create maps more than its own id: it costs a call ~2 ms to load
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(program, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim().split('\n').pop() || `exit status ${r.status ?? r.signal}`);
    throw new ConfigError(`${field}: ${program} ${args.join(' ')}: ${why}`);
  }
}

/** A rootless runtime cannot make the user namespace's privileged mounts and nodes without one. */
export function checkRootlessConfig(spec: Spec): void {
  if (!spec.linux?.namespaces?.some((ns) => ns.type === 'user')) {
    throw new ConfigError('linux.namespaces: rootless mode needs a user namespace (runt spec --rootless writes such a config)');
  }
}

/** The first field of linux.resources that asks for something ("linux.resources.memory"), if any. */
export function askedResource(resources: LinuxResources | undefined): string | undefined {
  for (const [key, value] of Object.entries(resources ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value) ? value.length > 0 : typeof value !== 'object' || Object.keys(value).length > 0) return `linux.resources.${key}`;
  }
  return undefined;
}

/**
 * Rootless: whether the container gets its cgroup `cgPath`. Only where it is delegated to the caller (see
 * undelegatedFile); without one, a config that asks for resources is refused, and one that does not runs
 * without cgroups. `say` gets the one line that tells which it is.
 */
export function rootlessCgroup(host: CgroupHost, cgPath: string, spec: Spec, uid: number, say: { info(m: string): void; warn(m: string): void }): boolean {
  const blocker = undelegatedFile(host, cgPath);
  if (blocker === undefined) {
    say.info(`rootless: cgroup ${cgPath} is delegated to uid ${uid}`);
    return true;
  }
  const asked = askedResource(spec.linux?.resources);
  if (asked) {
    throw new ConfigError(
      `${asked}: rootless: no cgroup is delegated to uid ${uid} (${blocker} is not writable), so no resource limit can be applied; remove linux.resources or delegate a cgroup`,
    );
  }
  say.warn(`rootless: no cgroup delegated to uid ${uid}; running without cgroups (${blocker} is not writable)`);
  return false;
}
