/* The sync points: with the runtime over FD (SEND a word, WAIT for its GO), and with `runt start` through the
 * exec fifo (OPEN_FIFO in the parent, WAIT_FIFO in the child). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

/* ---- with the runtime ----------------------------------------------------------------------------------- */

void op_wait(const struct rec *r)
{
	(void)r;
	char b[3];
	if (sock_read_exact(b, sizeof b) < 0 || memcmp(b, "GO\n", 3) != 0)
		_exit(1);
}

void op_send(const struct rec *r)
{
	size_t n = r->len[1];
	char *line = malloc(n + 2);
	if (!line)
		die(ENOMEM, "send %s", r->f[1]);
	memcpy(line, r->f[1], n);
	line[n] = '\n';
	line[n + 1] = '\0';
	if (send_msg(line) < 0)
		die(errno, "send %s", r->f[1]);
	free(line);
}

/* ---- with `runt start`: the exec fifo ------------------------------------------------------------------- */

/* The exec fifo's ends, opened here on the host: a read end first (that open never blocks), so that the write
 * end opens at once too, through the first one's fd. Then the pipe is filled: "1" and newlines, as much as it
 * holds, so that WAIT_FIFO's one more byte blocks until `runt start` reads. WAIT_FIFO thus needs neither a path
 * nor the host /proc, which CLOSE_FDS closes before the image's paths are looked up. */
void op_open_fifo(const struct rec *r)
{
	const char *path = r->f[1];
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open exec fifo %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die(errno, "stat exec fifo %s", path);
	if (!S_ISFIFO(st.st_mode))
		die_plain(EINVAL, "exec fifo %s is not a fifo", path);
	char p[32];
	snprintf(p, sizeof p, "self/fd/%d", fd);
	int rd = openat(shim.host_proc, p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rd < 0)
		die(errno, "open exec fifo %s for reading", path);
	int wr = openat(shim.host_proc, p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (wr < 0)
		die(errno, "open exec fifo %s for writing", path);
	close(fd);
	/* one page is the least a pipe holds: less to fill and for `runt start` to read */
	int size = fcntl(wr, F_SETPIPE_SZ, (int)sysconf(_SC_PAGESIZE));
	if (size < 0)
		die(errno, "set the size of exec fifo %s", path);
	char *fill = malloc((size_t)size);
	if (!fill)
		die(ENOMEM, "fill exec fifo %s", path);
	fill[0] = '1';
	memset(fill + 1, '\n', (size_t)size - 1);
	ssize_t k = write(wr, fill, (size_t)size);
	if (k != size)
		die(k < 0 ? errno : EAGAIN, "fill exec fifo %s (%zd of %d bytes)", path, k, size);
	free(fill);
	if (fcntl(wr, F_SETFL, 0) < 0)
		die(errno, "make exec fifo %s blocking", path);
	if (shim.exec_fifo.read_end >= 0)
		close(shim.exec_fifo.read_end);
	if (shim.exec_fifo.write_end >= 0)
		close(shim.exec_fifo.write_end);
	shim.exec_fifo.read_end = rd;
	shim.exec_fifo.write_end = wr;
	shim.exec_fifo.path = path;
}

void op_wait_fifo(const struct rec *r)
{
	(void)r;
	if (shim.exec_fifo.write_end < 0)
		die_plain(EINVAL, "wait for exec fifo: no OPEN_FIFO step before WAIT_FIFO");
	/* the pipe is full: this blocks until `runt start` has read what OPEN_FIFO wrote */
	if (write_all(shim.exec_fifo.write_end, "\n", 1) < 0)
		die(errno, "write to exec fifo %s", shim.exec_fifo.path);
	/* from here `runt start` is the only reader: an ERR written once it has gone fails (EPIPE), never blocks */
	close(shim.exec_fifo.read_end);
	shim.exec_fifo.read_end = -1;
	shim.exec_fifo.released = true;
}
