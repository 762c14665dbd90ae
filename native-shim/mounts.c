/* Mounts, device nodes, links and the switch of root. Mounts inside the root land on an O_PATH fd, named
 * "self/fd/N" relative to the host's /proc (opened at start-up), so neither a path string in the container's
 * tree nor the container's own /proc is ever trusted. A bind mount is a clone of its source's tree, made
 * detached (open_tree), given its attributes (mount_setattr) and then attached (move_mount): its flags are set
 * before anything can see it, on the mount itself, never through a path looked up again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

#define PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

static const char *nullable(const char *s)
{
	return *s ? s : NULL;
}

/* mount(2) with the fds named through the host /proc's self/fd (binds too: see mount_fds). */
static int mount_procfd(const char *src, int srcfd, int dstfd, const char *fstype, unsigned long flags,
			const char *data)
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
	if (fchdir(shim.host_proc) < 0)
		die(errno, "change directory to the host /proc");
	int rc = mount(src, d, fstype, flags, data);
	int err = errno;
	if (fchdir(cwd) < 0)
		die(errno, "change back to the working directory");
	close(cwd);
	errno = err;
	return rc;
}

/* ---- bind mounts ---------------------------------------------------------------------------------------- */

/* The mount_setattr attributes of a bind: on its top mount, then on every mount of its tree. */
struct bind_attrs {
	uint64_t set, clr, rset, rclr;
};

/* The path of fd (the host's view, through the host /proc). */
static void fd_path(int fd, char *buf, size_t size, const char *what)
{
	char link[32];
	snprintf(link, sizeof link, "self/fd/%d", fd);
	ssize_t n = readlinkat(shim.host_proc, link, buf, size - 1);
	if (n < 0)
		die(errno, "read the path of %s", what);
	buf[n] = '\0';
}

/* The path of fd inside the root ("/" for the root itself), into buf; dies when fd is not below the root. */
static const char *root_relative(int fd, char *buf, size_t size, const char *what)
{
	char root[PATH_MAX];
	fd_path(root_fd(), root, sizeof root, "the root");
	fd_path(fd, buf, size, what);
	if (strcmp(root, "/") == 0)
		return buf;
	size_t rl = strlen(root);
	if (strncmp(buf, root, rl) != 0 || (buf[rl] != '/' && buf[rl] != '\0'))
		die_plain(EXDEV, "%s is not inside the root (%s)", what, buf);
	return buf[rl] ? buf + rl : "/";
}

/* The id of the mount fd is on: statx (Linux 5.8), else the mnt_id line of the host /proc's self/fdinfo/N. */
static uint64_t mount_id(int fd, const char *what)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		die(errno, "statx %s", what);
	if (stx.stx_mask & STATX_MNT_ID)
		return stx.stx_mnt_id;
	char rel[32], buf[512];
	snprintf(rel, sizeof rel, "self/fdinfo/%d", fd);
	int info = openat(shim.host_proc, rel, O_RDONLY | O_CLOEXEC);
	ssize_t n = info < 0 ? -1 : read(info, buf, sizeof buf - 1);
	int err = errno;
	if (info >= 0)
		close(info);
	if (n < 0)
		die(err, "read the mount id of %s", what);
	buf[n] = '\0';
	const char *line = strstr(buf, "mnt_id:");
	if (!line)
		die_plain(0, "read the mount id of %s: no mnt_id in fdinfo", what);
	return strtoull(line + 7, NULL, 10);
}

/* After a mount(2) onto `before` (whose inode the new mount now covers), an O_PATH fd of the new mount, as
 * runc's reopenAfterMount: the path `before` has now is looked up again in the root, and what is found must be
 * at that same path and on another mount than `before`, and, for a bind, be the bind's source (`source`, its
 * device and inode; -1 for another kind of mount): a rename between reading the path and the lookup can put
 * another mount there (one made over the dir swapped in). Where a rename raced the lookup, the step fails
 * rather than let what follows (flags, propagation, tmpcopyup) act on another mount. */
int reopen_mounted(int before, const char *target, int source)
{
	char was[PATH_MAX], now[PATH_MAX];
	const char *rel = root_relative(before, was, sizeof was, target);
	int fd = inroot_open(rel, O_PATH);
	if (fd < 0)
		die(errno, "open %s again after mounting on it", target);
	fd_path(fd, now, sizeof now, target);
	bool moved = strcmp(now, was) != 0 || mount_id(fd, target) == mount_id(before, target);
	if (!moved && source >= 0) {
		struct stat got, want;
		if (fstat(fd, &got) < 0 || fstat(source, &want) < 0)
			die(errno, "stat %s after mounting on it", target);
		moved = got.st_dev != want.st_dev || got.st_ino != want.st_ino;
	}
	if (moved)
		die_plain(EAGAIN,
			  "%s was moved while it was mounted on (refused: what follows could act on another mount)",
			  target);
	return fd;
}

/* The MS_* flags of a mount as statvfs reports them, as mount_setattr attributes. */
static uint64_t current_attrs(int fd, const char *target)
{
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		die(errno, "statvfs %s", target);
	static const struct {
		unsigned long st;
		uint64_t attr;
	} map[] = {
		{ ST_RDONLY, MOUNT_ATTR_RDONLY },
		{ ST_NOSUID, MOUNT_ATTR_NOSUID },
		{ ST_NODEV, MOUNT_ATTR_NODEV },
		{ ST_NOEXEC, MOUNT_ATTR_NOEXEC },
		{ ST_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW },
		{ ST_NODIRATIME, MOUNT_ATTR_NODIRATIME },
		{ ST_NOATIME, MOUNT_ATTR_NOATIME },
	};
	uint64_t a = 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (sv.f_flag & map[i].st)
			a |= map[i].attr;
	/* neither noatime nor relatime: strictatime (relatime is MOUNT_ATTR_RELATIME, 0) */
	if (!(sv.f_flag & (ST_NOATIME | ST_RELATIME)))
		a |= MOUNT_ATTR_STRICTATIME;
	return a;
}

/* The path-based way, for kernels without the new mount API: the top mount's attributes by a remount through
 * the re-opened mount (MS_BIND | MS_REMOUNT sets the mount's flags exactly: the current ones are the base). The
 * atime flags are passed only when they change: a remount that names none keeps them. */
static void remount_attrs(int fd, uint64_t set, uint64_t clr, const char *target)
{
	uint64_t a = (current_attrs(fd, target) & ~clr) | set;
	static const struct {
		uint64_t attr;
		unsigned long ms;
	} map[] = {
		{ MOUNT_ATTR_RDONLY, MS_RDONLY },
		{ MOUNT_ATTR_NOSUID, MS_NOSUID },
		{ MOUNT_ATTR_NODEV, MS_NODEV },
		{ MOUNT_ATTR_NOEXEC, MS_NOEXEC },
		{ MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW },
	};
	unsigned long flags = MS_BIND | MS_REMOUNT;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (a & map[i].attr)
			flags |= map[i].ms;
	if ((set | clr) & (MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME)) {
		uint64_t atime = a & MOUNT_ATTR__ATIME;
		flags |= atime == MOUNT_ATTR_NOATIME       ? MS_NOATIME
			 : atime == MOUNT_ATTR_STRICTATIME ? MS_STRICTATIME
							   : MS_RELATIME;
		if (a & MOUNT_ATTR_NODIRATIME)
			flags |= MS_NODIRATIME;
	}
	if (mount_procfd(NULL, -1, fd, NULL, flags, NULL) < 0)
		die(errno, "remount the bind mount on %s with flags 0x%lx", target, flags);
}

static void setattr(int tree, bool recursive, uint64_t set, uint64_t clr, const char *target)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr };
	if ((set || clr) && mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
		die(errno, "set the attributes of the bind mount on %s (mount_setattr%s set 0x%llx clear 0x%llx)",
		    target, recursive ? " recursive," : ",", (unsigned long long)set, (unsigned long long)clr);
}

static void propagate(int fd, const uint32_t *prop, size_t nprop, const char *target)
{
	for (size_t i = 0; i < nprop; i++)
		if (mount_procfd(NULL, -1, fd, NULL, prop[i], NULL) < 0)
			die(errno, "set propagation 0x%x of %s", prop[i], target);
}

/* Whether the shim takes the path-based way: the kernel lacks open_tree or mount_setattr (ENOSYS, Linux < 5.2
 * and < 5.12), remembered from the first call that said so. */
static bool no_new_mount_api;

/* Binds srcfd's tree (a clone of it; recursive: with its submounts) onto dstfd with attributes and
 * propagation, or attaches `tree`, a detached tree made before (IDMAP_TREE; closed here). -1 with errno when a
 * mount call fails; the attributes and propagation die naming themselves. */
static int bind_tree(int srcfd, int tree, int dstfd, bool recursive, const struct bind_attrs *a, const uint32_t *prop,
		     size_t nprop, const char *target)
{
	if (tree < 0 && !no_new_mount_api) {
		tree = open_tree(srcfd, "",
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0));
		if (tree < 0 && errno != ENOSYS)
			return -1;
		struct mount_attr probe = { 0 };
		if (tree >= 0 && (a->set || a->clr || a->rset || a->rclr) &&
		    mount_setattr(tree, "", AT_EMPTY_PATH, &probe, sizeof probe) < 0 && errno == ENOSYS) {
			close(tree);
			tree = -1;
		}
		no_new_mount_api = tree < 0;
	}
	if (tree >= 0) {
		setattr(tree, false, a->set, a->clr, target);
		setattr(tree, true, a->rset, a->rclr, target);
		if (move_mount(tree, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			int err = errno;
			close(tree);
			errno = err;
			return -1;
		}
		propagate(tree, prop, nprop, target); /* the fd now names the attached mount */
		close(tree);
		return 0;
	}
	if (a->rset || a->rclr)
		die_plain(ENOSYS, "recursive mount attributes for %s need mount_setattr (Linux 5.12)", target);
	if (mount_procfd(NULL, srcfd, dstfd, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		return -1;
	if (!(a->set || a->clr || nprop))
		return 0;
	int fd = reopen_mounted(dstfd, target, srcfd);
	if (a->set || a->clr)
		remount_attrs(fd, a->set, a->clr, target);
	propagate(fd, prop, nprop, target);
	close(fd);
	return 0;
}

int mount_fds(const char *src, int srcfd, int dstfd, const char *fstype, unsigned long flags, const char *data)
{
	if ((flags & MS_BIND) && !(flags & MS_REMOUNT) && srcfd >= 0) {
		static const struct bind_attrs none;
		return bind_tree(srcfd, -1, dstfd, flags & MS_REC, &none, NULL, 0, "the bind mount's target");
	}
	return mount_procfd(src, srcfd, dstfd, fstype, flags, data);
}

/* ---- id-mapped trees (IDMAP_TREE) ------------------------------------------------------------------------ */

static int *idmap_trees;
static uint32_t nidmap_trees;

static void write_map(pid_t pid, const char *file, const char *map)
{
	char rel[64];
	snprintf(rel, sizeof rel, "%d/%s", (int)pid, file);
	int fd = openat(shim.host_proc, rel, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, map, strlen(map)) < 0 || close(fd) < 0)
		die(errno, "write the %s of the id-mapped mount's user namespace", file);
}

/* A user namespace with these maps, as an fd: a child made in it (killed with the shim if it dies), the maps
 * written from here, its namespace opened, the child killed. */
static int userns_with_maps(const char *uidmap, const char *gidmap)
{
	pid_t parent = getpid();
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
	if (pid < 0)
		die(errno, "clone a user namespace for an id-mapped mount");
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		for (;;)
			pause();
	}
	write_map((pid_t)pid, "uid_map", uidmap);
	write_map((pid_t)pid, "gid_map", gidmap);
	char rel[64];
	snprintf(rel, sizeof rel, "%ld/ns/user", pid);
	int ns = openat(shim.host_proc, rel, O_RDONLY | O_CLOEXEC);
	int err = errno;
	kill((pid_t)pid, SIGKILL);
	waitpid((pid_t)pid, NULL, 0);
	if (ns < 0)
		die(err, "open the user namespace of an id-mapped mount");
	return ns;
}

void op_idmap_tree(const struct rec *r)
{
	const char *src = r->f[1], *uidmap = r->f[4], *gidmap = r->f[5];
	bool recursive = r->f[2][0] == '1', recursive_idmap = r->f[3][0] == '1';
	int ns = userns_with_maps(uidmap, gidmap);
	int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (tree < 0)
		die(errno, "clone the mount tree of %s (open_tree) for an id-mapped mount", src);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
	if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive_idmap ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
		die(errno, "id-map the mount of %s (mount_setattr MOUNT_ATTR_IDMAP)", src);
	close(ns);
	int *t = realloc(idmap_trees, (nidmap_trees + 1) * sizeof *idmap_trees);
	if (!t)
		die(ENOMEM, "id-mapped mount of %s", src);
	idmap_trees = t;
	idmap_trees[nidmap_trees++] = tree;
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
	if (shim.root >= 0)
		close(shim.root);
	shim.root = fd;
}

/* MOUNT's optional last field and BIND's extras: comma-separated words. */
enum { MOUNT_NOFOLLOW = 1, MOUNT_COPYUP = 2, MOUNT_PROCGUARD = 4 };
#define MAX_PROPAGATION 8

struct extras {
	unsigned flags;
	uint32_t prop[MAX_PROPAGATION]; /* prop=N words: propagation flags for the new mount, in order */
	size_t nprop;
};

/* The decimal from s to e (a u32), into *out. */
static bool prop_word(const char *s, const char *e, uint32_t *out)
{
	uint64_t v = 0;
	if (s == e)
		return false;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9' || (v = v * 10 + (uint64_t)(*s - '0')) > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static struct extras mount_extras(const char *s, const char **bad)
{
	struct extras x = { 0 };
	while (*s) {
		const char *e = strchrnul(s, ',');
		size_t n = (size_t)(e - s);
		if (n == 8 && memcmp(s, "nofollow", n) == 0)
			x.flags |= MOUNT_NOFOLLOW;
		else if (n == 6 && memcmp(s, "copyup", n) == 0)
			x.flags |= MOUNT_COPYUP;
		else if (n == 9 && memcmp(s, "procguard", n) == 0)
			x.flags |= MOUNT_PROCGUARD;
		else if (n > 5 && memcmp(s, "prop=", 5) == 0 && x.nprop < MAX_PROPAGATION &&
			 prop_word(s + 5, e, &x.prop[x.nprop]))
			x.nprop++;
		else if (bad)
			*bad = "the extras field must be a comma-separated list of nofollow, copyup, procguard, "
			       "prop=<flags> (at most 8)";
		s = *e ? e + 1 : e;
	}
	return x;
}

const char *check_mount(const struct rec *r)
{
	const char *bad = NULL;
	if (r->n > 7)
		mount_extras(r->f[7], &bad);
	return bad;
}

/* `procguard`: a target that resolves into the root's /proc must be the step's target itself (runc's
 * checkProcMount on the resolved path; the runtime checked the target as written). */
static void proc_guard(int fd, const char *target)
{
	char buf[PATH_MAX];
	const char *rel = root_relative(fd, buf, sizeof buf, target);
	bool in_proc = strcmp(rel, "/proc") == 0 || strncmp(rel, "/proc/", 6) == 0;
	if (in_proc && strcmp(rel, target) != 0)
		die_plain(EPERM, "mount target %s: \"%s\" cannot be mounted because it is inside /proc", target, rel);
}

/* The O_PATH fd of a MOUNT or BIND target, made as `create` says, checked as `extras` says. */
static int mount_target(const char *target, enum create create, unsigned extras, const char *what)
{
	int fd = extras & MOUNT_NOFOLLOW ? inroot_nofollow(target, create, what) : inroot_resolve(target, create);
	if (fd < 0)
		die(errno, create == CREATE_NONE ? "open mount target %s" : "make mount target %s", target);
	if (extras & MOUNT_PROCGUARD)
		proc_guard(fd, target);
	return fd;
}

static enum create create_of(const char *cr)
{
	return strcmp(cr, "dir") == 0 ? CREATE_DIR : strcmp(cr, "file") == 0 ? CREATE_FILE : CREATE_NONE;
}

void op_mount(const struct rec *r)
{
	const char *src = r->f[1], *target = r->f[2], *fstype = r->f[3], *data = r->f[5], *cr = r->f[6];
	unsigned long flags = num_u32(r->f[4]);
	enum create create = create_of(cr);
	struct extras x = mount_extras(r->n > 7 ? r->f[7] : "", NULL);
	char what[4096];
	describe(what, sizeof what, src, fstype, flags, target);
	int fd = mount_target(target, create, x.flags, what);
	/* tmpcopyup: the directory's contents, read through this fd once the mount covers them */
	int lower = -1;
	if ((x.flags & MOUNT_COPYUP) && (lower = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
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
	bool bind = srcfd >= 0 && !(flags & MS_REMOUNT);
	int rc = bind ? bind_tree(srcfd, -1, fd, flags & MS_REC, &(struct bind_attrs){ 0 }, x.prop, x.nprop, target)
		      : mount_procfd(srcfd >= 0 ? NULL : nullable(src), srcfd, fd, nullable(fstype), flags,
				     nullable(data));
	if (rc < 0) {
		int err = errno;
		describe(what, sizeof what, src, fstype, flags, target);
		die(err, "%s", what);
	}
	if (srcfd >= 0)
		close(srcfd);
	if (!bind && (lower >= 0 || x.nprop)) {
		/* the new mount, found again by the path fd has now and checked to be it */
		int mounted = reopen_mounted(fd, target, -1);
		if (lower >= 0)
			copy_up(lower, mounted, target);
		propagate(mounted, x.prop, x.nprop, target);
		close(mounted);
	}
	if (lower >= 0)
		close(lower);
	close(fd);
}

const char *check_bind(const struct rec *r)
{
	const char *bad = NULL;
	mount_extras(r->f[10], &bad);
	return bad;
}

void op_bind(const struct rec *r)
{
	const char *src = r->f[1], *target = r->f[2];
	bool recursive = r->f[4][0] == '1';
	struct bind_attrs a = { num_u64(r->f[5]), num_u64(r->f[6]), num_u64(r->f[7]), num_u64(r->f[8]) };
	int64_t index = num_i64(r->f[9]);
	struct extras x = mount_extras(r->f[10], NULL);
	char what[4096];
	snprintf(what, sizeof what, "bind mount %s on %s", index >= 0 ? "an id-mapped tree" : src, target);
	int fd = mount_target(target, create_of(r->f[3]), x.flags, what);
	int srcfd = -1, tree = -1;
	if (index >= 0) {
		if ((uint64_t)index >= nidmap_trees || idmap_trees[index] < 0)
			die_plain(EINVAL, "%s: no id-mapped tree %lld (IDMAP_TREE) to attach", what, (long long)index);
		tree = idmap_trees[index];
		idmap_trees[index] = -1;
	} else if ((srcfd = open(src, O_PATH | O_CLOEXEC)) < 0) {
		die(errno, "open bind mount source %s", src);
	}
	if (bind_tree(srcfd, tree, fd, recursive, &a, x.prop, x.nprop, target) < 0)
		die(errno, "%s", what);
	if (srcfd >= 0)
		close(srcfd);
	close(fd);
}

void op_propagate_parent(const struct rec *r)
{
	unsigned long flags = num_u32(r->f[2]);
	char *path = strdup(r->f[1]);
	if (!path)
		die(ENOMEM, "propagation of the mount %s is on", r->f[1]);
	/* EINVAL: not a mount point; the parent directory is tried, up to "/" */
	while (mount(NULL, path, NULL, flags, NULL) < 0) {
		if (errno != EINVAL || strcmp(path, "/") == 0)
			die(errno, "set propagation 0x%lx of the mount %s is on (at %s)", flags, r->f[1], path);
		char *slash = strrchr(path, '/');
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(path);
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
	if (shim.root >= 0)
		close(shim.root);
	shim.root = fd;
}

void op_pivot(const struct rec *r)
{
	(void)r;
	int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		die(errno, "open the old root");
	if (fchdir(root_fd()) < 0)
		die(errno, "change directory to the rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die(errno, "pivot_root to the rootfs");
	/* The old root is now stacked on the new one. Through its own fd (as runc: "." may name the new root,
	 * whose mounts would all become slaves, losing the propagation asked for them), make it a slave first so
	 * its detach does not propagate to the host's mounts, then drop it. */
	if (fchdir(oldroot) < 0)
		die(errno, "change directory to the old root");
	close(oldroot);
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
	bool move = r->n < 2 || r->f[1][0] == '1';
	if (fchdir(root_fd()) < 0)
		die(errno, "change directory to the rootfs");
	if (move && mount(".", "/", NULL, MS_MOVE, NULL) < 0)
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
	/* its own tree bound onto itself, read-only (the top mount) before it is attached */
	const struct bind_attrs ro = { .set = MOUNT_ATTR_RDONLY };
	if (bind_tree(fd, -1, fd, true, &ro, NULL, 0, path) < 0)
		die(errno, "bind mount %s read-only on itself", path);
	close(fd);
}
