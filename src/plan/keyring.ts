// runc's session keyring: the container's process does not keep the session keyring of the runtime's caller
// (containerd's, podman's, a login's): it joins `_ses.<id>`, made at create and joined again by exec, unless
// --no-new-keyring. The keyring's owner may search it, or, in a user namespace, anyone (its owner is the
// container's root, and the processes of the container may run as other ids).
import { step, type Step } from './types';

export function sessionKeyringName(id: string): string {
  return `_ses.${id}`;
}

/** KEY_USR_SEARCH and KEY_OTH_SEARCH (linux/key.h). */
const USER_SEARCH = 0x80000;
const OTHER_SEARCH = 0x8;

/** JOIN_KEYRING for create (with the permission bits) or exec (`perm`: false, the keyring exists). */
export function joinKeyringSteps(name: string | undefined, userNamespace: boolean, perm = true): Step[] {
  if (name === undefined) return [];
  const bits = perm ? (userNamespace ? OTHER_SEARCH : USER_SEARCH) : 0;
  return [step('JOIN_KEYRING', [name, bits])];
}
