/* WRITE_PROC: the shim's writes to procfs (sysctls, timens_offsets) go through a procfs of its own, never
 * through a /proc path (CVE-2025-52881: a /proc the container's config or image shaped can send such a write
 * to another file, another proc file among them). The procfs is a new instance made with fsopen/fsmount and
 * left detached: nothing can be mounted over it, because no path leads to it. The file is opened beneath it
 * without following any symlink or crossing a mount, and checked to be on a procfs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "shim.h"

static int proc_fd = -1;
static pid_t proc_owner; /* the process that made proc_fd: a child of CLONE makes its own (its pid namespace) */

/* A new procfs instance of the current pid namespace, as a detached mount. */
static int private_proc(void)
{
	if (proc_fd >= 0 && proc_owner == getpid())
		return proc_fd;
	if (proc_fd >= 0)
		close(proc_fd);
	int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	if (fs < 0)
		die(errno, "fsopen proc (a private procfs for the runtime's writes)");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		die(errno, "create a private procfs");
	int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		die(errno, "fsmount a private procfs");
	close(fs);
	require_fs(mnt, PROC_SUPER_MAGIC, "the private procfs", "procfs");
	proc_fd = mnt;
	proc_owner = getpid();
	return proc_fd;
}

void private_proc_closed(void)
{
	proc_fd = -1;
}

void require_fs(int fd, long magic, const char *what, const char *fsname)
{
	struct statfs sfs;
	if (fstatfs(fd, &sfs) < 0)
		die(errno, "statfs %s", what);
	if (sfs.f_type != magic)
		die_plain(0, "%s is not on a %s", what, fsname);
}

/* rel beneath dir: no symlink, no magic link, no mount crossed, no "..". Without openat2 (Linux < 5.6), the
 * same one component at a time with O_NOFOLLOW: in a detached procfs no mount can appear, so that is all. */
static int open_beneath(int dir, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV,
	};
	long fd;
	do
		fd = syscall(SYS_openat2, dir, rel, &how, sizeof how);
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	if (fd >= 0 || errno != ENOSYS)
		return (int)fd;
	char *copy = strdup(rel), *save = NULL;
	if (!copy)
		return -1;
	int cur = fcntl(dir, F_DUPFD_CLOEXEC, 0);
	char *comp = strtok_r(copy, "/", &save);
	while (cur >= 0 && comp) {
		char *next = strtok_r(NULL, "/", &save);
		int nfd;
		if (strcmp(comp, "..") == 0) {
			errno = EXDEV;
			nfd = -1;
		} else {
			nfd = openat(cur, comp, (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
		}
		int err = errno;
		close(cur);
		errno = err;
		cur = nfd;
		comp = next;
	}
	int err = errno;
	free(copy);
	errno = err;
	return cur;
}

void op_write_proc(const struct rec *r)
{
	const char *rel = r->f[1];
	int proc = private_proc();
	/* "self" is a symlink, which the lookup refuses: the shim's own pid in this procfs's namespace */
	char path[4096];
	if (strncmp(rel, "self/", 5) == 0)
		snprintf(path, sizeof path, "%d/%s", (int)getpid(), rel + 5);
	else
		snprintf(path, sizeof path, "%s", rel);
	int fd = open_beneath(proc, path, O_WRONLY | O_NOCTTY);
	if (fd < 0)
		die(errno, "open /proc/%s for writing", rel);
	char what[4100];
	snprintf(what, sizeof what, "/proc/%s", rel);
	require_fs(fd, PROC_SUPER_MAGIC, what, "procfs");
	if (write_all(fd, r->f[2], r->len[2]) < 0)
		die(errno, "write to /proc/%s", rel);
	if (close(fd) < 0)
		die(errno, "close /proc/%s", rel);
}

const char *check_write_proc(const struct rec *r)
{
	const char *p = r->f[1];
	if (!*p || *p == '/' || strlen(p) >= 4000)
		return "WRITE_PROC: the path must be relative to /proc (and shorter than 4000 bytes)";
	return NULL;
}
