// config-linux.md "Namespaces": which to create (clone/unshare flags) and which to join (setns by path).
import type { LinuxNamespace } from '../spec/generated/types';
import { CLONE } from './linux';
import { ConfigError, step, type Step } from './types';

/** A namespace type of config.json → its CLONE_NEW* flag (also setns's nstype). */
export const FLAG_OF: Record<string, number> = {
  pid: CLONE.newpid,
  network: CLONE.newnet,
  mount: CLONE.newns,
  ipc: CLONE.newipc,
  uts: CLONE.newuts,
  user: CLONE.newuser,
  cgroup: CLONE.newcgroup,
  time: CLONE.newtime,
};

export interface NamespacePlan {
  /** setns steps, the user namespace first so the others are joined with its rights. */
  join: Step[];
  /** Namespaces clone() makes. */
  cloneFlags: number;
  /** Made by the child after the runtime put it in its cgroup, so the cgroup namespace is rooted there. */
  unshareCgroup: boolean;
  /** Made by the parent before clone: a time namespace applies to children only, and clone() cannot make it. */
  unshareTime: boolean;
  has(type: string): boolean;
  isNew(type: string): boolean;
}

export function namespacePlan(namespaces: LinuxNamespace[] | undefined): NamespacePlan {
  const seen = new Map<string, LinuxNamespace>();
  for (const [i, ns] of (namespaces ?? []).entries()) {
    if (!(ns.type in FLAG_OF)) throw new ConfigError(`linux.namespaces[${i}].type: unknown namespace type "${ns.type}"`);
    if (seen.has(ns.type)) throw new ConfigError(`linux.namespaces[${i}].type: namespace "${ns.type}" is given twice`);
    seen.set(ns.type, ns);
  }
  const join: Step[] = [];
  let cloneFlags = 0;
  const entries = userFirst([...seen.values()]);
  for (const ns of entries) {
    const i = (namespaces ?? []).indexOf(ns);
    if (ns.path) join.push(step('SETNS', [ns.path, FLAG_OF[ns.type]!], `linux.namespaces[${i}].path`));
    else if (ns.type !== 'cgroup' && ns.type !== 'time') cloneFlags |= FLAG_OF[ns.type]!;
  }
  const isNew = (type: string): boolean => seen.has(type) && !seen.get(type)!.path;
  return {
    join,
    cloneFlags,
    unshareCgroup: isNew('cgroup'),
    unshareTime: isNew('time'),
    has: (type) => seen.has(type),
    isNew,
  };
}

/** The user namespace first: joined first, the others are joined with the rights it grants. */
export function userFirst<T extends { type: string }>(namespaces: readonly T[]): T[] {
  return [...namespaces].sort((a, b) => Number(b.type === 'user') - Number(a.type === 'user'));
}

/** In a user namespace a process is the overflow id until it takes root there (its maps are written). */
export function rootInUserNamespace(): Step[] {
  return [step('SETRESGID', [0], 'linux.gidMappings'), step('SETRESUID', [0], 'linux.uidMappings')];
}
