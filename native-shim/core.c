/* runt-shim's core (core.h): the shared state, the messages to the runtime and the reads of the plan socket. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

struct shim_state shim = {
	.sock = -1,
	.host_proc = -1,
	.root = -1,
	.console = -1,
	.exec_fifo = { .read_end = -1, .write_end = -1 },
};

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int send_msg(const char *line)
{
	if (write_all(shim.sock, line, strlen(line)) == 0)
		return 0;
	return (errno == EPIPE || errno == ECONNRESET) ? 1 : -1;
}

/* ---- errors --------------------------------------------------------------------------------------------- */

static _Noreturn void emit_err(uint32_t step, int err, bool suffix, const char *fmt, va_list ap)
{
	char text[4096], line[4200];
	vsnprintf(text, sizeof text, fmt, ap);
	if (suffix && err) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof text - n, ": %s", strerror(err));
	}
	for (char *c = text; *c; c++) /* one line, whatever the paths hold */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	snprintf(line, sizeof line, "ERR %u %d %s\n", step, err, text);
	/* the shim exits whatever these writes do: there is no one else to tell */
	(void)send_msg(line);
	if (shim.exec_fifo.released)
		(void)write_all(shim.exec_fifo.write_end, line, strlen(line));
	if (shim.undo_on_error)
		shim.undo_on_error();
	_exit(1);
}

void die(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_err(shim.step, err, true, fmt, ap);
}

void die_plain(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_err(shim.step, err, false, fmt, ap);
}

void die_plan(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_err(0, err, false, fmt, ap);
}

/* ---- reading the socket --------------------------------------------------------------------------------- */

static struct {
	unsigned char buf[65536];
	size_t pos, len;
} rd;

int sock_read_exact(void *dst, size_t n)
{
	unsigned char *out = dst;
	while (n > 0) {
		if (rd.pos < rd.len) {
			size_t k = rd.len - rd.pos < n ? rd.len - rd.pos : n;
			memcpy(out, rd.buf + rd.pos, k);
			rd.pos += k;
			out += k;
			n -= k;
			continue;
		}
		ssize_t got;
		/* Large fields go straight to their buffer; small reads are buffered. */
		if (n >= sizeof rd.buf)
			got = read(shim.sock, out, n);
		else
			got = read(shim.sock, rd.buf, sizeof rd.buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0) {
			errno = 0;
			return -1;
		}
		if (n >= sizeof rd.buf) {
			out += got;
			n -= (size_t)got;
		} else {
			rd.pos = 0;
			rd.len = (size_t)got;
		}
	}
	return 0;
}

void restore_signals(void)
{
	/* Not checked: before EXEC the user's seccomp filter may be loaded and refuse these calls; the execve is tried
	 * all the same. */
	(void)sigaction(SIGPIPE, &shim.startup_sigpipe, NULL);
	(void)sigprocmask(SIG_SETMASK, &shim.startup_mask, NULL);
}
