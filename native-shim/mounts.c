/* Mounts, device nodes, links and the switch of root. Mounts inside the root land on an O_PATH fd, named
 * "self/fd/N" relative to the host's /proc (opened at start-up), so neither a path string in the container's
 * tree nor the container's own /proc is ever trusted. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

#define PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

static const char *nullable(const char *s)
{
	return *s ? s : NULL;
}

int mount_fds(const char *src, int srcfd, int dstfd, const char *fstype, unsigned long flags, const char *data)
{
	char s[32], d[32];
	if (srcfd >= 0) {
		snprintf(s, sizeof s, "self/fd/%d", srcfd);
		src = s;
	}
	snprintf(d, sizeof d, "self/fd/%d", dstfd);
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		die(errno, "open the working directory");
	if (fchdir(g_procfd) < 0)
		die(errno, "change directory to the host /proc");
	int rc = mount(src, d, fstype, flags, data);
	int err = errno;
	if (fchdir(cwd) < 0)
		die(errno, "change back to the working directory");
	close(cwd);
	errno = err;
	return rc;
}

static bool propagation_only(unsigned long flags)
{
	return (flags & PROPAGATION) && !(flags & ~(PROPAGATION | MS_REC));
}

/* The flags of a mount the kernel locks in a user namespace (nosuid, nodev, noexec), to keep on a remount.
 * The atime flags need nothing: on a remount that names none, the kernel keeps them itself. ro is kept
 * only when the step asks for it. */
static unsigned long locked_flags(const struct statvfs *sv)
{
	unsigned long f = 0;
	if (sv->f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv->f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv->f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	return f;
}

static void describe(char *buf, size_t size, const char *src, const char *fstype, unsigned long flags,
		     const char *target)
{
	if (propagation_only(flags))
		snprintf(buf, size, "set propagation 0x%lx of %s", flags, target);
	else if (flags & MS_REMOUNT)
		snprintf(buf, size, "remount %s with flags 0x%lx", target, flags);
	else if (flags & MS_BIND)
		snprintf(buf, size, "bind mount %s on %s", src, target);
	else if (*fstype && strcmp(src, fstype) != 0 && *src)
		snprintf(buf, size, "mount %s (%s) on %s", fstype, src, target);
	else
		snprintf(buf, size, "mount %s on %s", *fstype ? fstype : src, target);
}

void op_mount_path(const struct rec *r)
{
	const char *src = r->f[1], *target = r->f[2], *fstype = r->f[3], *data = r->f[5];
	unsigned long flags = num_u32(r->f[4]);
	if ((flags & MS_REMOUNT) && !propagation_only(flags)) {
		struct statvfs sv;
		if (statvfs(target, &sv) < 0)
			die(errno, "statvfs %s", target);
		flags |= locked_flags(&sv);
	}
	if (mount(nullable(src), target, nullable(fstype), flags, nullable(data)) < 0) {
		int err = errno;
		char what[4096];
		describe(what, sizeof what, src, fstype, flags, target);
		die(err, "%s", what);
	}
}

void op_rootfs(const struct rec *r)
{
	int fd = open(r->f[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open rootfs %s", r->f[1]);
	if (g_root >= 0)
		close(g_root);
	g_root = fd;
}

/* MOUNT's optional last field: comma-separated words. */
enum { MOUNT_NOFOLLOW = 1, MOUNT_COPYUP = 2 };

static unsigned mount_extras(const char *s, const char **bad)
{
	unsigned extras = 0;
	while (*s) {
		const char *e = strchrnul(s, ',');
		size_t n = (size_t)(e - s);
		if (n == 8 && memcmp(s, "nofollow", n) == 0)
			extras |= MOUNT_NOFOLLOW;
		else if (n == 6 && memcmp(s, "copyup", n) == 0)
			extras |= MOUNT_COPYUP;
		else if (bad)
			*bad = "MOUNT: field 7 must be a comma-separated list of nofollow, copyup";
		s = *e ? e + 1 : e;
	}
	return extras;
}

const char *check_mount(const struct rec *r)
{
	const char *bad = NULL;
	if (r->n > 7)
		mount_extras(r->f[7], &bad);
	return bad;
}

void op_mount(const struct rec *r)
{
	const char *src = r->f[1], *target = r->f[2], *fstype = r->f[3], *data = r->f[5], *cr = r->f[6];
	unsigned long flags = num_u32(r->f[4]);
	enum create create = strcmp(cr, "dir") == 0 ? CREATE_DIR : strcmp(cr, "file") == 0 ? CREATE_FILE : CREATE_NONE;
	unsigned extras = r->n > 7 ? mount_extras(r->f[7], NULL) : 0;
	char what[4096];
	describe(what, sizeof what, src, fstype, flags, target);
	int fd = extras & MOUNT_NOFOLLOW ? inroot_nofollow(target, create, what) : inroot_resolve(target, create);
	if (fd < 0)
		die(errno, create == CREATE_NONE ? "open mount target %s" : "make mount target %s", target);
	/* tmpcopyup: the directory's contents, read through this fd once the mount covers them */
	int lower = -1;
	if ((extras & MOUNT_COPYUP) && (lower = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die(errno, "tmpcopyup of %s: open the directory", target);
	int srcfd = -1;
	if (flags & MS_BIND) {
		srcfd = open(src, O_PATH | O_CLOEXEC);
		if (srcfd < 0)
			die(errno, "open bind mount source %s", src);
	}
	if ((flags & MS_REMOUNT) && !propagation_only(flags)) {
		struct statvfs sv;
		if (fstatvfs(fd, &sv) < 0)
			die(errno, "statvfs %s", target);
		flags |= locked_flags(&sv);
	}
	if (mount_fds(srcfd >= 0 ? NULL : nullable(src), srcfd, fd, nullable(fstype), flags, nullable(data)) < 0) {
		int err = errno;
		describe(what, sizeof what, src, fstype, flags, target);
		die(err, "%s", what);
	}
	if (srcfd >= 0)
		close(srcfd);
	close(fd);
	if (lower >= 0) {
		copy_up(lower, target);
		close(lower);
	}
}

void op_remount(const struct rec *r)
{
	const char *target = r->f[1];
	unsigned long flags = num_u32(r->f[2]);
	int fd = inroot_resolve(target, CREATE_NONE);
	if (fd < 0)
		die(errno, "open %s to remount", target);
	if (!propagation_only(flags)) {
		struct statvfs sv;
		if (fstatvfs(fd, &sv) < 0)
			die(errno, "statvfs %s", target);
		flags |= MS_REMOUNT | locked_flags(&sv);
	}
	if (mount_fds(NULL, -1, fd, NULL, flags, NULL) < 0) {
		int err = errno;
		char what[4096];
		describe(what, sizeof what, "", "", flags, target);
		die(err, "%s", what);
	}
	close(fd);
}

void op_mknod(const struct rec *r)
{
	const char *path = r->f[1];
	mode_t mode = (mode_t)num_u32(r->f[2]);
	dev_t dev = makedev(num_u32(r->f[3]), num_u32(r->f[4]));
	uid_t uid = (uid_t)num_i64(r->f[5]);
	gid_t gid = (gid_t)num_i64(r->f[6]);
	char *base;
	int dir = inroot_parent(path, &base);
	if (dir < 0)
		die(errno, "make parent directory of %s", path);
	mode_t old = umask(0); /* the mode is the step's, exactly */
	int rc = mknodat(dir, base, mode, dev);
	int err = errno;
	umask(old);
	if (rc < 0) {
		struct stat st;
		if (err != EEXIST)
			die(err, "mknod %s", path);
		if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die(errno, "stat %s", path);
		bool is_dev = S_ISCHR(mode) || S_ISBLK(mode);
		if ((st.st_mode & S_IFMT) != (mode & S_IFMT) || (is_dev && st.st_rdev != dev))
			die_plain(EEXIST, "mknod %s: a different file exists there", path);
	}
	if (fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		die(errno, "chown %s to %d:%d", path, (int)uid, (int)gid);
	free(base);
	close(dir);
}

void op_symlink(const struct rec *r)
{
	const char *target = r->f[1], *path = r->f[2];
	char *base;
	int dir = inroot_parent(path, &base);
	if (dir < 0)
		die(errno, "make parent directory of %s", path);
	if (symlinkat(target, dir, base) < 0 && errno != EEXIST)
		die(errno, "symlink %s -> %s", path, target);
	free(base);
	close(dir);
}

static void reopen_root(void)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open the new /");
	if (g_root >= 0)
		close(g_root);
	g_root = fd;
}

void op_pivot(const struct rec *r)
{
	(void)r;
	if (fchdir(root_fd()) < 0)
		die(errno, "change directory to the rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die(errno, "pivot_root to the rootfs");
	/* The old root is now stacked on "."; make it a slave first so its detach does not propagate to the
	 * host's mounts, then drop it. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		die(errno, "make the old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		die(errno, "unmount the old root");
	if (chdir("/") < 0)
		die(errno, "change directory to /");
	reopen_root();
}

void op_chroot(const struct rec *r)
{
	(void)r;
	if (fchdir(root_fd()) < 0)
		die(errno, "change directory to the rootfs");
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		die(errno, "move the rootfs mount onto /");
	if (chroot(".") < 0)
		die(errno, "chroot to the rootfs");
	if (chdir("/") < 0)
		die(errno, "change directory to /");
	reopen_root();
}

void op_mask(const struct rec *r)
{
	const char *path = r->f[1];
	int fd = inroot_resolve(path, CREATE_NONE);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		die(errno, "open %s to mask it", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		die(errno, "stat %s", path);
	if (S_ISDIR(st.st_mode)) {
		if (mount_fds("tmpfs", -1, fd, "tmpfs", MS_RDONLY, NULL) < 0)
			die(errno, "mask %s with a read-only tmpfs", path);
	} else {
		int nul = inroot_open("/dev/null", O_PATH);
		if (nul < 0)
			die(errno, "open /dev/null to mask %s", path);
		struct stat ns;
		if (fstat(nul, &ns) < 0)
			die(errno, "stat /dev/null");
		if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
			die_plain(0, "mask %s: /dev/null in the container is not the null device (char 1:3)", path);
		if (mount_fds(NULL, nul, fd, NULL, MS_BIND, NULL) < 0)
			die(errno, "mask %s with /dev/null", path);
		close(nul);
	}
	close(fd);
}

void op_readonly(const struct rec *r)
{
	const char *path = r->f[1];
	int fd = inroot_resolve(path, CREATE_NONE);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		die(errno, "open %s to make it read-only", path);
	}
	if (mount_fds(NULL, fd, fd, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(errno, "bind mount %s on itself", path);
	close(fd);
	/* The fd names the mount below the new bind: look the path up again to reach the bind. */
	fd = inroot_resolve(path, CREATE_NONE);
	if (fd < 0)
		die(errno, "open %s to make it read-only", path);
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		die(errno, "statvfs %s", path);
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(&sv);
	if (mount_fds(NULL, -1, fd, NULL, flags, NULL) < 0)
		die(errno, "remount %s read-only", path);
	close(fd);
}
