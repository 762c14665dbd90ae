// Facts about the host the plan builders need, read once per create.
import { readFileSync, statfsSync, statSync } from 'node:fs';
import type { HostFacts } from '../plan/types';

function kindOf(path: string): 'dir' | 'file' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

const PROC_SUPER_MAGIC = 0x9fa0;

function isProcfs(path: string): boolean {
  try {
    return statfsSync(path).type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}

export function hostFacts(): HostFacts {
  const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  const uidMap = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
  const initialUserNs = uidMap.length === 3 && uidMap[0] === '0' && uidMap[1] === '0' && uidMap[2] === '4294967295';
  return { lastCap, kindOf, isProcfs, inUserNamespace: !initialUserNs };
}

/**
 * Whether setgroups(2) is denied in the user namespace of process `pid` (/proc/PID/setgroups says "deny": a
 * rootless gid_map of the caller's own gid only): its process may not set supplementary groups.
 */
export function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim() === 'deny';
  } catch {
    return false; // the process is gone: what would join or set it up fails on its own, naming its step
  }
}
