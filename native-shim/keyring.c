/* JOIN_KEYRING: the container's process leaves the session keyring of the runtime's caller (containerd's,
 * podman's) for one of its own, as runc and crun do: keyctl(KEYCTL_JOIN_SESSION_KEYRING, name) joins the
 * keyring of that name the process may search, or makes it. The runtime chooses the name and the permission
 * bits added to the keyring's own (KEYCTL_DESCRIBE, KEYCTL_SETPERM). Raw syscalls: no libkeyutils. */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

void op_join_keyring(const struct rec *r)
{
	const char *name = r->f[1];
	uint32_t add = num_u32(r->f[2]);
	long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
	/* a kernel without keyrings (or a sandbox that hides them) has no keyring to leave, as runc reads it */
	if (id < 0 && errno == ENOSYS)
		return;
	if (id < 0)
		die(errno, "join session keyring %s", name);
	if (add == 0)
		return;
	/* "type;uid;gid;perm;description", perm in hex */
	char desc[512];
	long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof desc, 0);
	if (n < 0)
		die(errno, "describe session keyring %s", name);
	if ((size_t)n > sizeof desc)
		die_plain(ENAMETOOLONG, "describe session keyring %s: description longer than %zu bytes", name,
			  sizeof desc);
	char *field = desc;
	for (int i = 0; i < 3 && field; i++) {
		field = strchr(field, ';');
		if (field)
			field++;
	}
	char *end = NULL;
	unsigned long perm = field ? strtoul(field, &end, 16) : 0;
	if (!field || end == field || *end != ';' || perm > UINT32_MAX)
		die_plain(EINVAL, "describe session keyring %s: unexpected description \"%.100s\"", name, desc);
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, (uint32_t)perm | add, 0, 0) < 0)
		die(errno, "set the permissions of session keyring %s to 0x%08lx", name,
		    (unsigned long)((uint32_t)perm | add));
}
