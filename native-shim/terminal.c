/* TERMINAL: a pty from the container's own devpts; the master goes to the console socket, the slave
 * becomes the controlling terminal and fds 0, 1, 2. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#include "shim.h"

void send_fd(int sock, int fd, const char *data, size_t len, const char *what)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof u.buf,
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	ssize_t k;
	do
		k = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	/* the fd goes with the first bytes; a stream socket may take the rest in more writes */
	if (k < 0 || write_all(sock, data + k, len - (size_t)k) < 0)
		die(errno, "send %s", what);
}

void op_terminal(const struct rec *r)
{
	unsigned rows = num_u32(r->f[1]), cols = num_u32(r->f[2]);
	bool console = r->n < 4 || strcmp(r->f[3], "1") == 0;
	if (g_console < 0)
		die_plain(EINVAL, "terminal: no CONSOLE_CONNECT step before TERMINAL");

	int master = inroot_open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0)
		die(errno, "open /dev/pts/ptmx");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		die(errno, "unlock the pty (/dev/pts/ptmx)");
	unsigned n;
	if (ioctl(master, TIOCGPTN, &n) < 0)
		die(errno, "get the pty number (/dev/pts/ptmx)");
	char name[32];
	snprintf(name, sizeof name, "/dev/pts/%u", n);
	/* The slave through the master itself, not by name: nothing in the tree can swap it. */
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		die(errno, "open the pty slave %s", name);
	struct statfs sfs;
	if (fstatfs(slave, &sfs) < 0)
		die(errno, "statfs %s", name);
	if (sfs.f_type != DEVPTS_SUPER_MAGIC)
		die_plain(0, "pty slave %s is not on a devpts", name);
	if (rows || cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			die(errno, "set the window size of %s", name);
	}
	send_fd(g_console, master, name, strlen(name), "the terminal master to the console socket");
	close(master);
	close(g_console);
	g_console = -1;

	if (console) {
		int target = inroot_resolve("/dev/console", CREATE_FILE);
		if (target < 0)
			die(errno, "make /dev/console");
		if (mount_fds(NULL, slave, target, NULL, MS_BIND, NULL) < 0)
			die(errno, "bind mount %s on /dev/console", name);
		close(target);
	}
	if (setsid() < 0)
		die(errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		die(errno, "make %s the controlling terminal", name);
	for (int fd = 0; fd <= 2; fd++) {
		if (slave == fd) {
			if (fcntl(fd, F_SETFD, 0) < 0)
				die(errno, "clear close-on-exec on fd %d", fd);
		} else if (dup2(slave, fd) < 0) {
			die(errno, "dup %s onto fd %d", name, fd);
		}
	}
	if (slave > 2)
		close(slave);
}
