/* TERMINAL: a pty from the container's own devpts; the master goes to the console socket (CONSOLE_CONNECT), the
 * slave becomes the controlling terminal and fds 0, 1, 2. CONSOLE_RELAY: the parent's end of that socket. And the
 * unix socket calls the console and the seccomp listener share. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "shim.h"

int connect_unix(const char *path, const char *what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		die(ENAMETOOLONG, "connect to %s %s", what, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die(errno, "socket for %s %s", what, path);
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		die(errno, "connect to %s %s", what, path);
	return s;
}

void op_console_connect(const struct rec *r)
{
	if (shim.console >= 0)
		close(shim.console);
	shim.console = connect_unix(r->f[1], "console socket");
}

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
	if (shim.console < 0)
		die_plain(EINVAL, "terminal: no CONSOLE_CONNECT or CONSOLE_RELAY step before TERMINAL");

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
	char what[48];
	snprintf(what, sizeof what, "pty slave %s", name);
	require_fs(slave, DEVPTS_SUPER_MAGIC, what, "devpts");
	if (rows || cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			die(errno, "set the window size of %s", name);
	}
	send_fd(shim.console, master, name, strlen(name), "the terminal master to the console socket");
	close(master);
	close(shim.console);
	shim.console = -1;

	if (console) {
		/* never through a symlink (CVE-2025-52565): the pty would be bound over whatever it names */
		int target = inroot_nofollow("/dev/console", CREATE_FILE, "bind the terminal on /dev/console");
		if (target < 0)
			die(errno, "make /dev/console");
		if (mount_fds(NULL, slave, target, NULL, MS_BIND, NULL) < 0)
			die(errno, "bind mount %s on /dev/console", name);
		close(target);
	}
	/* the process leads its own session since its SETSID step */
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

/* ---- CONSOLE_RELAY: the shim's waiting parent is the terminal's other end ------------------------------- */

/* `run` and `exec -t` in the foreground without a console socket: TERMINAL sends the master over a
 * socketpair to the parent, which puts runt's own terminal (fd 0) in raw mode and copies bytes both ways, and
 * the window size on SIGWINCH, until the child ends; then it gives the terminal its old mode back. */
static int relay_sock = -1; /* the parent's end of the socketpair, until the master has come */
static int relay_master = -1;
static bool relay_stdin; /* fd 0 is still read (until EOF or an error) */
static bool relay_raw;   /* fd 0's mode was changed: `relay_saved` is to be restored */
static struct termios relay_saved;

void op_console_relay(const struct rec *r)
{
	(void)r;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die(errno, "socketpair for the terminal relay");
	if (shim.console >= 0)
		close(shim.console);
	if (relay_sock >= 0)
		close(relay_sock);
	shim.console = sv[1];
	relay_sock = sv[0];
}

bool console_relayed(void)
{
	return relay_sock >= 0;
}

void console_after_clone(bool child)
{
	/* each side keeps its own end: the child sends on shim.console, the parent receives on relay_sock */
	int *other = child ? &relay_sock : &shim.console;
	if (*other >= 0) {
		close(*other);
		*other = -1;
	}
}

void console_restore(void)
{
	if (relay_raw && tcsetattr(0, TCSANOW, &relay_saved) == 0)
		relay_raw = false;
}

/* The host terminal's size onto the pty; false when there is no pty (yet): the signal is the child's. */
bool console_resize(void)
{
	if (relay_master < 0)
		return false;
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) < 0)
		die(errno, "terminal relay: get the window size of fd 0");
	if (ioctl(relay_master, TIOCSWINSZ, &ws) < 0)
		die(errno, "terminal relay: set the window size of the pty");
	return true;
}

static void receive_master(void)
{
	char data[64];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t k;
	do
		k = recvmsg(relay_sock, &msg, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		die(errno, "terminal relay: receive the pty master");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (k > 0 && c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&relay_master, CMSG_DATA(c), sizeof relay_master);
	/* the master comes with the name's first bytes; EOF: the child ended before its TERMINAL step */
	if (k > 0 && relay_master < 0)
		return;
	close(relay_sock);
	relay_sock = -1;
	if (relay_master < 0)
		return;
	console_resize();
	struct termios raw;
	if (tcgetattr(0, &relay_saved) < 0)
		die(errno, "terminal relay: read the mode of fd 0");
	raw = relay_saved;
	cfmakeraw(&raw);
	if (tcsetattr(0, TCSANOW, &raw) < 0)
		die(errno, "terminal relay: raw mode on fd 0");
	relay_raw = true;
	shim.undo_on_error = console_restore; /* an ERR of the parent gives the terminal its mode back too */
	relay_stdin = true;
}

/* One read from `from` (poll said it is ready) written to `to`; false at EOF or a read error. */
static bool copy_once(int from, int to)
{
	char buf[4096];
	ssize_t n;
	do
		n = read(from, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false; /* EIO on the master: no slave is open any more */
	/* A reader that went away (EPIPE) loses the output; the relay goes on so the container never blocks. */
	(void)write_all(to, buf, (size_t)n);
	return true;
}

size_t console_pollfds(struct pollfd *p)
{
	size_t n = 0;
	if (relay_sock >= 0)
		p[n++] = (struct pollfd){ .fd = relay_sock, .events = POLLIN };
	if (relay_master >= 0)
		p[n++] = (struct pollfd){ .fd = relay_master, .events = POLLIN };
	if (relay_master >= 0 && relay_stdin)
		p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
	return n;
}

void console_events(const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].fd == relay_sock) {
			receive_master();
		} else if (p[i].fd == relay_master) {
			if (!copy_once(relay_master, 1)) {
				close(relay_master);
				relay_master = -1;
			}
		} else if (p[i].fd == 0 && relay_master >= 0 && !copy_once(0, relay_master)) {
			relay_stdin = false;
		}
	}
}

void console_finish(void)
{
	/* what the process wrote before it ended is still in the pty */
	struct pollfd p = { .fd = relay_master, .events = POLLIN };
	while (relay_master >= 0 && poll(&p, 1, 0) > 0 && copy_once(relay_master, 1))
		;
	console_restore();
}
