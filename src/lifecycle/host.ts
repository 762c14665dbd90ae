// Facts about the host the plan builders need, read once per create.
import { existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import type { LsmFacts } from '../plan/lsm';
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
  return { lastCap, kindOf, isProcfs, inUserNamespace: !initialUserNs, lsm: lsmFacts() };
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * The LSMs, as runc tells them: AppArmor is enabled when securityfs has its directory and the module says
 * `Y` (its exec attr is attr/apparmor/exec where the kernel has per-LSM attr directories, attr/exec before);
 * SELinux when selinuxfs is mounted and this process has a label other than the one of an unlabeled kernel.
 */
export function lsmFacts(): LsmFacts {
  const apparmor = existsSync('/sys/kernel/security/apparmor') && readOr('/sys/module/apparmor/parameters/enabled', '').startsWith('Y');
  const selinux = existsSync('/sys/fs/selinux/enforce') && readOr('/proc/self/attr/current', 'kernel').replace(/\0/g, '').trim() !== 'kernel';
  if (!apparmor) return { selinux };
  return { selinux, apparmorExecAttr: existsSync('/proc/self/attr/apparmor/exec') ? 'attr/apparmor/exec' : 'attr/exec' };
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
