/* The shim's fds before anything of the image's is resolved (CVE-2024-21626): CLOSE_FDS closes, not only marks,
 * every fd the program must not have, and the host /proc, the root and the private procfs with them, so that
 * no /proc/self/fd/N path can lead outside the container. close_range(2) where the kernel has it (5.9), else
 * (or where a seccomp filter refuses it) a walk of the host /proc's self/fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* CLOSE_FDS's first fd once it ran, else 0 */
static unsigned closed_from;

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Calls fn for every open fd >= first, from a listing of the host /proc's self/fd (async-signal-safe: a hook's
 * child uses it between fork and exec). 0, or -1 with errno. */
static int for_each_fd(unsigned first, int (*fn)(int fd, void *arg), void *arg)
{
	if (shim.host_proc < 0) {
		errno = EBADF;
		return -1;
	}
	int dir = openat(shim.host_proc, "self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	char buf[4096] __attribute__((aligned(8)));
	for (;;) {
		long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = errno;
			close(dir);
			errno = err;
			return n < 0 ? -1 : 0;
		}
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			unsigned fd = 0;
			const char *c = d->d_name;
			if (*c < '0' || *c > '9')
				continue; /* "." and ".." */
			for (; *c >= '0' && *c <= '9'; c++)
				fd = fd * 10 + (unsigned)(*c - '0');
			if (fd < first || (int)fd == dir)
				continue;
			if (fn((int)fd, arg) < 0) {
				int err = errno;
				close(dir);
				errno = err;
				return -1;
			}
		}
	}
}

static bool refused(int err)
{
	/* ENOSYS: Linux < 5.9; EINVAL: a flag it does not know (CLOSE_RANGE_CLOEXEC: < 5.11); EPERM: a filter */
	return err == ENOSYS || err == EINVAL || err == EPERM;
}

struct keep {
	const int *fds;
	size_t n;
};

static bool kept(const struct keep *k, int fd)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->fds[i] == fd)
			return true;
	return false;
}

static int close_unless_kept(int fd, void *arg)
{
	if (!kept(arg, fd))
		close(fd);
	return 0;
}

/* Closes every fd >= first except those in keep (which holds shim.host_proc when the walk may need it). */
static void close_except(unsigned first, const struct keep *k)
{
	unsigned from = first;
	for (;;) {
		/* the next kept fd at or above `from` ends the range to close */
		unsigned next = ~0U;
		for (size_t i = 0; i < k->n; i++)
			if (k->fds[i] >= 0 && (unsigned)k->fds[i] >= from && (unsigned)k->fds[i] < next)
				next = (unsigned)k->fds[i];
		if (next > from && syscall(SYS_close_range, from, next == ~0U ? ~0U : next - 1, 0) < 0) {
			if (!refused(errno))
				die(errno, "close fds %u to %u", from, next - 1);
			if (for_each_fd(first, close_unless_kept, (void *)k) < 0)
				die(errno, "close fds from %u (through /proc/self/fd)", first);
			return;
		}
		if (next == ~0U)
			return;
		from = next + 1;
	}
}

void op_close_fds(const struct rec *r)
{
	unsigned first = num_u32(r->f[1]);
	/* what the shim itself holds for later steps: its socket, the exec fifo, the seccomp listener */
	int keep[] = { shim.sock, shim.exec_fifo.read_end, shim.exec_fifo.write_end, seccomp_listener_fd(),
		       shim.host_proc };
	struct keep k = { keep, sizeof keep / sizeof keep[0] };
	for (size_t i = 0; i < k.n - 1; i++)
		if (keep[i] >= 0 && (unsigned)keep[i] < first)
			die_plain(EINVAL, "close fds from %u: the shim's fd %d is below it", first, keep[i]);
	close_except(first, &k);
	/* the host /proc last: the walk above may have needed it */
	if (shim.host_proc >= 0 && close(shim.host_proc) < 0)
		die(errno, "close the host /proc");
	shim.host_proc = -1;
	shim.root = -1;
	shim.console = -1;
	private_proc_closed();
	closed_from = first;
}

static int mark_cloexec(int fd, void *arg)
{
	(void)arg;
	return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF ? -1 : 0;
}

int cloexec_from(unsigned first)
{
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	if (!refused(errno))
		return -1;
	if (shim.host_proc >= 0)
		return for_each_fd(first, mark_cloexec, NULL);
	/* after CLOSE_FDS every fd of the shim's is close-on-exec but the preserved ones, below its first */
	for (unsigned fd = first; fd < closed_from; fd++)
		if (mark_cloexec((int)fd, NULL) < 0)
			return -1;
	return 0;
}
