/* In-root resolution for kernels without openat2 (Linux < 5.6): the walk RESOLVE_IN_ROOT makes, done one
 * component at a time. Each component is opened O_PATH | O_NOFOLLOW relative to its parent's fd; a symlink is
 * read and its target walked in its place (an absolute one from the root); a magic link of procfs is refused
 * (ELOOP), as RESOLVE_NO_MAGICLINKS does; ".." never climbs above the root. Then the directory the last
 * component was found in is checked to be the root or below it (its ".." chain meets the root), which one
 * moved out of the root during the walk would not pass. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "shim.h"

#define MAX_LINKS 40 /* as the kernel's MAXSYMLINKS */
#define MAX_DEPTH 256

/* Whether dir is root or below it: its ".." chain, walked by the kernel (which never climbs above the process's
 * root or leaves a mount for a place it is not mounted on), meets root before the top. */
static bool below_root(int root, int dir)
{
	struct stat rs, st, up_st;
	if (fstat(root, &rs) < 0)
		return false;
	int cur = fcntl(dir, F_DUPFD_CLOEXEC, 0);
	bool below = false;
	for (int i = 0; cur >= 0 && i < 4096 && fstat(cur, &st) == 0; i++) {
		if (st.st_dev == rs.st_dev && st.st_ino == rs.st_ino) {
			below = true;
			break;
		}
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		bool top = up < 0 || fstat(up, &up_st) < 0 || (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino);
		close(cur);
		cur = up;
		if (top)
			break;
	}
	if (cur >= 0)
		close(cur);
	return below;
}

/* The walk: an O_PATH fd of path in root (following a final symlink unless nofollow), or -1 with errno. */
static int walk(int root, const char *path, bool nofollow)
{
	int stack[MAX_DEPTH + 1]; /* stack[0] is the root; each further entry a directory below it */
	size_t depth = 0, links = 0;
	stack[0] = root;
	size_t cap = strlen(path) + 1;
	char *todo = malloc(cap); /* what is left to walk */
	if (!todo)
		return -1;
	memcpy(todo, path, cap);
	int result = -1, err = 0;
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p) {
			if (depth && !below_root(root, stack[depth])) {
				err = EXDEV;
				break;
			}
			result = depth ? stack[depth] : fcntl(root, F_DUPFD_CLOEXEC, 0);
			if (result < 0)
				err = errno;
			if (depth)
				depth--; /* handed over, not closed below */
			break;
		}
		char *end = strchrnul(p, '/');
		char *rest = end;
		while (*rest == '/')
			rest++;
		bool last = !*rest;
		size_t len = (size_t)(end - p);
		if (len > NAME_MAX) {
			err = ENAMETOOLONG;
			break;
		}
		char name[NAME_MAX + 1];
		memcpy(name, p, len);
		name[len] = '\0';
		p = end;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (depth)
				close(stack[depth--]);
			continue;
		}
		int fd = openat(stack[depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			err = errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		if (S_ISLNK(st.st_mode) && !(last && nofollow)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
			close(fd);
			if (n < 0 || ++links > MAX_LINKS) {
				err = n < 0 ? errno : ELOOP;
				break;
			}
			target[n] = '\0';
			/* a magic link of procfs (fd/N, cwd, root, exe, ns/...: an absolute path or "type:[...]"), which
			 * RESOLVE_NO_MAGICLINKS refuses too; procfs's plain links (self, mounts...) are relative names */
			struct statfs sfs;
			if (fstatfs(stack[depth], &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC &&
			    (target[0] == '/' || strchr(target, ':'))) {
				err = ELOOP;
				break;
			}
			/* the walk goes on with target/rest; an absolute target from the root */
			size_t need = (size_t)n + 1 + strlen(rest) + 1;
			char *next = malloc(need);
			if (!next) {
				err = ENOMEM;
				break;
			}
			snprintf(next, need, "%s/%s", target, rest);
			free(todo);
			todo = p = next;
			if (target[0] == '/')
				while (depth)
					close(stack[depth--]);
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			close(fd);
			err = ENOTDIR;
			break;
		}
		if (last) {
			/* the directory it was found in is still below the root (a move of it meanwhile would not be) */
			if (!below_root(root, stack[depth])) {
				close(fd);
				err = EXDEV;
				break;
			}
			result = fd;
			break;
		}
		if (depth == MAX_DEPTH) {
			close(fd);
			err = ENAMETOOLONG;
			break;
		}
		stack[++depth] = fd;
	}
	while (depth)
		close(stack[depth--]);
	free(todo);
	errno = err;
	return result;
}

int openat_in_root_compat(int root, const char *path, int flags)
{
	int fd = walk(root, path, flags & O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct stat st;
	if (flags & O_DIRECTORY) {
		int err = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
		if (err) {
			close(fd);
			errno = err;
			return -1;
		}
	}
	if (flags & O_PATH)
		return fd;
	/* the file found, reopened as asked: through our own fd, so nothing is looked up again by name (the host
	 * /proc is open then: only the steps before CLOSE_FDS open anything but O_PATH) */
	char link[32];
	snprintf(link, sizeof link, "self/fd/%d", fd);
	int again = shim.host_proc >= 0 ? openat(shim.host_proc, link, (flags & ~O_NOFOLLOW) | O_CLOEXEC)
					: (errno = EBADF, -1);
	int err = errno;
	close(fd);
	errno = err;
	return again;
}
