/* In-root resolution for kernels without openat2 (Linux < 5.6): the walk RESOLVE_IN_ROOT makes, done one
 * component at a time. Each component is opened O_PATH | O_NOFOLLOW relative to its parent's fd; a symlink is
 * read and its target walked in its place (an absolute one from the root), so a magic link of procfs is a
 * path string like any other and never a jump; ".." never climbs above the root. Then the result is checked:
 * its path, read through the host /proc's self/fd, must be the root's or below it, which a directory moved
 * out of the root during the walk would not pass. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define MAX_LINKS 40 /* as the kernel's MAXSYMLINKS */
#define MAX_DEPTH 256

/* The path of our own fd, through the host's /proc; -1 when it has none (e.g. "(deleted)" or unreachable). */
static int fd_path(int fd, char *buf, size_t size)
{
	char link[32];
	snprintf(link, sizeof link, "self/fd/%d", fd);
	ssize_t n = readlinkat(g_procfd, link, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return buf[0] == '/' && !strstr(buf, " (deleted)") ? 0 : -1;
}

static bool below_root(int root, int fd)
{
	static char r[PATH_MAX], p[PATH_MAX];
	if (fd_path(root, r, sizeof r) < 0 || fd_path(fd, p, sizeof p) < 0)
		return false;
	size_t n = strlen(r);
	if (strcmp(r, "/") == 0)
		return true;
	return strncmp(p, r, n) == 0 && (p[n] == '\0' || p[n] == '/');
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
	if (!below_root(root, fd)) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	if ((flags & O_PATH) && !(flags & O_DIRECTORY))
		return fd;
	/* the file found, reopened as asked: through our own fd, so nothing is looked up again by name */
	char link[32];
	snprintf(link, sizeof link, "self/fd/%d", fd);
	int again = openat(g_procfd, link, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	int err = errno;
	close(fd);
	errno = err;
	return again;
}
