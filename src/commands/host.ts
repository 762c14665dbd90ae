// Facts about the host the plan builders need, read once per create.
import { readFileSync, statSync } from 'node:fs';
import type { HostFacts } from '../plan/types';

function kindOf(path: string): 'dir' | 'file' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

export function hostFacts(): HostFacts {
  const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  const uidMap = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
  const initialUserNs = uidMap.length === 3 && uidMap[0] === '0' && uidMap[1] === '0' && uidMap[2] === '4294967295';
  return { lastCap, kindOf, inUserNamespace: !initialUserNs };
}
