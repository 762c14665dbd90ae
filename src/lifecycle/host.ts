// Facts about the host the plan builders need, read once per create.
import { existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { errnoOf, hostFailure } from '../errors';
import type { LsmFacts } from '../plan/lsm';
import type { HostFacts } from '../plan/types';

/**
 * `look()`, or `absent` when what it looks at is not there: a path that does not exist (ENOENT, ENOTDIR), or a
 * /proc/PID file of a process that died meanwhile (ESRCH). Any other failure is the host's, reported as
 * `what`: a path runt may not look at is not a missing one.
 */
export function unlessAbsent<T>(what: string, look: () => T, absent: T): T {
  try {
    return look();
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ESRCH') return absent;
    throw hostFailure(what, e);
  }
}

const kindOf = (path: string): 'dir' | 'file' | 'missing' => unlessAbsent(`stat ${path}`, () => (statSync(path).isDirectory() ? 'dir' : 'file'), 'missing');

const PROC_SUPER_MAGIC = 0x9fa0;

const isProcfs = (path: string): boolean => unlessAbsent(`statfs ${path}`, () => statfsSync(path).type === PROC_SUPER_MAGIC, false);

export function hostFacts(): HostFacts {
  const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  const uidMap = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
  const initialUserNs = uidMap.length === 3 && uidMap[0] === '0' && uidMap[1] === '0' && uidMap[2] === '4294967295';
  return { lastCap, kindOf, isProcfs, inUserNamespace: !initialUserNs, lsm: lsmFacts() };
}

const readOr = (path: string, fallback: string): string => unlessAbsent(`reading ${path}`, () => readFileSync(path, 'utf8'), fallback);

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
  const file = `/proc/${pid}/setgroups`;
  // absent: the process is gone, and what would join or set it up fails on its own, naming its step
  return unlessAbsent(`reading ${file}`, () => readFileSync(file, 'utf8').trim() === 'deny', false);
}
