/* tmpcopyup: a MOUNT with `copyup` copies what its target directory held before the mount into the new
 * mount (podman's --read-only puts tmpfs mounts over /tmp, /run... that must keep the image's contents).
 * Everything goes through directory fds, the lower tree read through an fd opened before the mount: no path
 * is looked up twice and no symlink is followed. Copied: directories, regular files (contents, owner, mode,
 * times) and symlinks (target, owner, times). Not copied: device nodes, fifos and sockets (a node from an
 * untrusted image, made again by root on a mount that may allow devices, would be worth more than it was
 * on the rootfs; the others hold nothing), extended attributes, and hard links (each name is a file of its
 * own). The mount's root keeps the mode its data gives it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define MAX_DEPTH 128

struct walk {
	const char *target;  /* the mount target, for messages */
	char path[PATH_MAX]; /* the entry being copied, relative to target */
	size_t len;
};

static _Noreturn void fail(const struct walk *w, int err, const char *what)
{
	die(err, "tmpcopyup of %s: %s %s%s%s", w->target, what, w->target, w->len ? "/" : "", w->path);
}

static void attrs(const struct walk *w, int fd, const struct stat *st)
{
	const struct timespec times[2] = { st->st_atim, st->st_mtim };
	/* chown first: it clears the set-id bits the chmod then sets */
	if (fchown(fd, st->st_uid, st->st_gid) < 0)
		fail(w, errno, "chown");
	if (fchmod(fd, st->st_mode & 07777) < 0)
		fail(w, errno, "chmod");
	if (futimens(fd, times) < 0)
		fail(w, errno, "set the times of");
}

/* Opens name in dir without following a symlink, and checks it is still the entry fstatat saw. */
static int open_same(const struct walk *w, int dir, const char *name, int flags, const struct stat *seen)
{
	int fd = openat(dir, name, flags | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fail(w, errno, "open");
	struct stat st;
	if (fstat(fd, &st) < 0)
		fail(w, errno, "stat");
	if (st.st_ino != seen->st_ino || st.st_dev != seen->st_dev)
		fail(w, EAGAIN, "changed while copied:");
	return fd;
}

static void copy_file(const struct walk *w, int from, int to, const char *name, const struct stat *st)
{
	/* O_NONBLOCK: an entry swapped for a fifo must not block the open; open_same then tells it changed */
	int in = open_same(w, from, name, O_RDONLY | O_NONBLOCK, st);
	int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		fail(w, errno, "create");
	for (;;) {
		ssize_t k = sendfile(out, in, NULL, 1 << 30);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			fail(w, errno, "copy");
		if (k == 0)
			break;
	}
	attrs(w, out, st);
	close(out);
	close(in);
}

static void copy_symlink(const struct walk *w, int from, int to, const char *name, const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(from, name, target, sizeof target - 1);
	if (n < 0)
		fail(w, errno, "read the symlink");
	target[n] = '\0';
	if (symlinkat(target, to, name) < 0)
		fail(w, errno, "make the symlink");
	const struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (fchownat(to, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		fail(w, errno, "chown");
	if (utimensat(to, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		fail(w, errno, "set the times of");
}

static void copy_dir(struct walk *w, int from, int to, int depth)
{
	if (depth > MAX_DEPTH)
		fail(w, ELOOP, "more than 128 levels of directories at");
	int list = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* fdopendir owns it */
	DIR *d = list < 0 ? NULL : fdopendir(list);
	if (!d)
		fail(w, errno, "read the directory");
	size_t base = w->len;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e && errno)
			fail(w, errno, "read the directory");
		if (!e)
			break;
		const char *name = e->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		size_t nlen = strlen(name);
		if (base + nlen + 2 > sizeof w->path)
			fail(w, ENAMETOOLONG, "a name too long in");
		w->len = base;
		if (base)
			w->path[w->len++] = '/';
		memcpy(w->path + w->len, name, nlen + 1);
		w->len += nlen;
		struct stat st;
		if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			fail(w, errno, "stat");
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, name, 0700) < 0)
				fail(w, errno, "make the directory");
			int sub_from = open_same(w, from, name, O_RDONLY | O_DIRECTORY, &st);
			int sub_to = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_to < 0)
				fail(w, errno, "open");
			copy_dir(w, sub_from, sub_to, depth + 1);
			attrs(w, sub_to, &st); /* after its contents, so that the times stay */
			close(sub_to);
			close(sub_from);
		} else if (S_ISREG(st.st_mode)) {
			copy_file(w, from, to, name, &st);
		} else if (S_ISLNK(st.st_mode)) {
			copy_symlink(w, from, to, name, &st);
		}
	}
	w->len = base;
	w->path[base] = '\0';
	closedir(d);
}

void copy_up(int lower, int mounted, const char *target)
{
	int upper = openat(mounted, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (upper < 0)
		die(errno, "tmpcopyup of %s: open the new mount", target);
	struct walk w = { .target = target };
	copy_dir(&w, lower, upper, 0);
	close(upper);
}
