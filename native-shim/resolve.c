/* In-root paths: resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from the root fd (or, without
 * openat2, the same walk in inroot_compat.c), so a symlink or ".." in the container's tree can never lead
 * outside it. Missing components are made one at a time relative to their parent's fd, itself obtained that
 * way. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define MAX_HOPS 40 /* dangling symlinks followed while making a path, as MAXSYMLINKS */

int root_fd(void)
{
	if (shim.root < 0) {
		/* No ROOTFS yet (e.g. a process joining a container): the current root. */
		shim.root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (shim.root < 0)
			die(errno, "open /");
	}
	return shim.root;
}

int inroot_openat(int root, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, root, path, &how, sizeof how);
		if (fd >= 0)
			return (int)fd;
		/* EAGAIN: a concurrent rename made the kernel give up on a safe walk; try again a few times. */
		if (errno == EINTR || (errno == EAGAIN && tries < 32))
			continue;
		/* Linux < 5.6, or a seccomp filter (the user's, loaded before CHDIR and FIND_EXEC) that refuses it */
		if (errno == ENOSYS || errno == EPERM)
			return openat_in_root_compat(root, path, flags);
		return -1;
	}
}

int inroot_open(const char *path, int flags)
{
	return inroot_openat(root_fd(), path, flags);
}

static char *join3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 3);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb);
	s[la + 1 + lb] = '\0';
	if (lc) { /* no trailing slash: it would demand a directory */
		s[la + 1 + lb] = '/';
		memcpy(s + la + 2 + lb, c, lc + 1);
	}
	return s;
}

/* One walk over path, making what is missing. 0: *out is the fd; 1: a dangling symlink was met, go on
 * with *restart; -1: error (errno). */
static int walk_create(int root, const char *path, enum create create, int *out, char **restart)
{
	size_t n = strlen(path);
	char *prefix = malloc(n + 2);
	if (!prefix)
		return -1;
	size_t plen = 0;
	prefix[0] = '\0';
	int parent = inroot_openat(root, "/", O_PATH | O_DIRECTORY);
	if (parent < 0)
		goto fail;
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t clen = (size_t)(e - p);
		const char *rest = e;
		while (*rest == '/')
			rest++;
		bool last = *rest == '\0';
		if (clen == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (clen > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		char comp[NAME_MAX + 1];
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		size_t parent_len = plen;
		prefix[plen++] = '/';
		memcpy(prefix + plen, p, clen);
		plen += clen;
		prefix[plen] = '\0';

		int fd = inroot_openat(root, prefix, O_PATH);
		if (fd < 0) {
			if (errno != ENOENT)
				goto fail;
			int rc;
			if (!last || create == CREATE_DIR) {
				rc = mkdirat(parent, comp, 0755);
			} else {
				rc = openat(parent, comp,
					    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
				if (rc >= 0) {
					close(rc);
					rc = 0;
				}
			}
			if (rc < 0 && errno != EEXIST)
				goto fail;
			if (rc < 0) {
				/* EEXIST although the walk said ENOENT: a dangling symlink (or a race). A symlink is
				 * followed by re-resolving its target in the root, as a path string. */
				struct stat st;
				if (fstatat(parent, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
					goto fail;
				if (S_ISLNK(st.st_mode)) {
					char target[PATH_MAX];
					ssize_t tl = readlinkat(parent, comp, target, sizeof target - 1);
					if (tl < 0)
						goto fail;
					target[tl] = '\0';
					prefix[parent_len] = '\0';
					char *next = target[0] == '/' ? join3("", target, rest)
								      : join3(prefix, target, rest);
					if (!next)
						goto fail;
					close(parent);
					free(prefix);
					*restart = next;
					return 1;
				}
			}
			fd = openat(parent, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				goto fail;
		}
		close(parent);
		parent = fd;
		p = e;
	}
	free(prefix);
	*out = parent;
	return 0;
fail:;
	int err = errno;
	if (parent >= 0)
		close(parent);
	free(prefix);
	errno = err;
	return -1;
}

int inroot_resolve(const char *path, enum create create)
{
	int root = root_fd();
	char *cur = NULL;
	const char *p = path;
	for (int hops = 0; hops <= MAX_HOPS; hops++) {
		int fd = inroot_openat(root, p, O_PATH);
		if (fd >= 0 || errno != ENOENT || create == CREATE_NONE) {
			int err = errno;
			free(cur);
			errno = err;
			return fd;
		}
		char *next = NULL;
		int rc = walk_create(root, p, create, &fd, &next);
		if (rc <= 0) {
			int err = errno;
			free(cur);
			errno = err;
			return rc == 0 ? fd : -1;
		}
		free(cur);
		cur = next;
		p = cur;
	}
	free(cur);
	errno = ELOOP;
	return -1;
}

int inroot_parent(const char *path, char **base)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t i = n;
	while (i > 0 && path[i - 1] != '/')
		i--;
	size_t blen = n - i;
	if (blen == 0 || (blen == 1 && path[i] == '.') || (blen == 2 && path[i] == '.' && path[i + 1] == '.')) {
		errno = EINVAL;
		return -1;
	}
	*base = strndup(path + i, blen);
	char *dir = strndup(path, i);
	if (!*base || !dir) {
		free(*base);
		free(dir);
		errno = ENOMEM;
		return -1;
	}
	int fd = inroot_resolve(*dir ? dir : "/", CREATE_DIR);
	int err = errno;
	free(dir);
	if (fd < 0) {
		free(*base);
		*base = NULL;
	}
	errno = err;
	return fd;
}

int inroot_nofollow(const char *path, enum create create, const char *what)
{
	char *base;
	int dir = inroot_parent(path, &base);
	if (dir < 0)
		return -1;
	int fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create != CREATE_NONE) {
		int rc;
		if (create == CREATE_DIR) {
			rc = mkdirat(dir, base, 0755);
		} else {
			rc = openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
			if (rc >= 0) {
				close(rc);
				rc = 0;
			}
		}
		/* EEXIST: made meanwhile, or a dangling symlink; the open below tells which */
		if (rc == 0 || errno == EEXIST)
			fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	int err = errno;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		fd = -1;
	} else if (fd >= 0 && S_ISLNK(st.st_mode)) {
		die_plain(ELOOP, "%s: %s in the container is a symbolic link (refused, never followed)", what, path);
	}
	close(dir);
	free(base);
	errno = err;
	return fd;
}
