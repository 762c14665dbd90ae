/* runt-shim FD: read the plan from FD, execute its steps in order (README.md). This file: start-up, the
 * messages, the step loop and the ops around clone and the sync points. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

int g_sock = -1;
int g_procfd = -1;
int g_fifo_rd = -1;
int g_fifo_wr = -1;
int g_console = -1;
int g_root = -1;
char *g_exec_path;
uint32_t g_step;
sigset_t g_origmask;
struct sigaction g_origpipe;

static const char *g_fifo_name;
static bool g_fifo_released; /* WAIT_FIFO ran: an ERR goes to the fifo too */
static enum { MODE_NONE, MODE_DETACH, MODE_WAIT } g_mode = MODE_NONE;
/* Set in the child by CLONE (always the last step of its segment): the child's steps follow on FD. */
static bool g_child_segment;

/* ---- messages ------------------------------------------------------------------------------------------- */

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

/* 0: sent; 1: the runtime has closed its end; -1: another error (errno). */
static int send_msg(const char *line)
{
	if (write_all(g_sock, line, strlen(line)) == 0)
		return 0;
	return (errno == EPIPE || errno == ECONNRESET) ? 1 : -1;
}

int send_line(const char *line)
{
	return send_msg(line) < 0 ? -1 : 0;
}

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
	send_msg(line);
	if (g_fifo_released)
		write_all(g_fifo_wr, line, strlen(line));
	console_restore();
	_exit(1);
}

void die(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_err(g_step, err, true, fmt, ap);
}

void die_plain(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_err(g_step, err, false, fmt, ap);
}

void die_plan(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit_err(0, err, false, fmt, ap);
}

void restore_signals(void)
{
	sigaction(SIGPIPE, &g_origpipe, NULL);
	sigprocmask(SIG_SETMASK, &g_origmask, NULL);
}

/* ---- parent ops ----------------------------------------------------------------------------------------- */

void op_mode(const struct rec *r)
{
	g_mode = strcmp(r->f[1], "wait") == 0 ? MODE_WAIT : MODE_DETACH;
}

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
	if (g_console >= 0)
		close(g_console);
	g_console = connect_unix(r->f[1], "console socket");
}

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
	int rd = openat(g_procfd, p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rd < 0)
		die(errno, "open exec fifo %s for reading", path);
	int wr = openat(g_procfd, p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
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
	if (g_fifo_rd >= 0)
		close(g_fifo_rd);
	if (g_fifo_wr >= 0)
		close(g_fifo_wr);
	g_fifo_rd = rd;
	g_fifo_wr = wr;
	g_fifo_name = path;
}

/* The files of the segment's SETNS steps, steps ns_first..ns_first+ns_count-1, opened by the first of them:
 * once in a user namespace, the shim may no longer open those of a non-dumpable process (a created
 * container's init), and once in a mount namespace, paths would resolve in it. */
static int *ns_fds;
static uint32_t ns_first, ns_count;

static void open_namespaces(void)
{
	uint32_t step = g_step, end = g_step;
	while (g_recs[end].op->fn != NULL) /* up to the segment's END */
		end++;
	free(ns_fds);
	ns_fds = malloc((end - step) * sizeof *ns_fds);
	if (!ns_fds)
		die(ENOMEM, "open namespaces");
	ns_first = step;
	ns_count = end - step;
	for (uint32_t i = step; i < end; i++) {
		ns_fds[i - step] = -1;
		if (g_recs[i].op->fn != op_setns)
			continue;
		g_step = i; /* an error names the step whose path it is */
		ns_fds[i - step] = open(g_recs[i].f[1], O_RDONLY | O_CLOEXEC);
		if (ns_fds[i - step] < 0)
			die(errno, "open namespace %s", g_recs[i].f[1]);
	}
	g_step = step;
}

void op_setns(const struct rec *r)
{
	const char *path = r->f[1];
	int type = (int)num_u32(r->f[2]);
	if (g_step < ns_first || g_step >= ns_first + ns_count || ns_fds[g_step - ns_first] < 0)
		open_namespaces();
	int fd = ns_fds[g_step - ns_first];
	if (setns(fd, type) < 0)
		die(errno, "setns %s (type 0x%x)", path, (unsigned)type);
	close(fd);
	ns_fds[g_step - ns_first] = -1;
}

const char *check_join(const struct rec *r)
{
	if (r->n < 5 || (r->n - 3) % 2 != 0)
		return "JOIN: expected pidfd, pid and one or more pairs of namespace file and type";
	for (uint32_t i = 1; i <= 2; i++)
		if (!r->len[i] || r->len[i] > 9 || strspn(r->f[i], "0123456789") != r->len[i])
			return "JOIN: pidfd and pid must be decimal numbers below 10^9";
	for (uint32_t i = 3; i < r->n; i += 2)
		if (!*r->f[i] || strchr(r->f[i], '/') || strspn(r->f[i + 1], "0123456789") != r->len[i + 1] ||
		    !r->len[i + 1] || r->len[i + 1] > 10)
			return "JOIN: a namespace is a file name under /proc/PID/ns and a decimal CLONE_NEW* type";
	return NULL;
}

/* JOIN pidfd pid (file type)...: the namespaces of the process of the pidfd (the runtime took it, and checked
 * it is the container's init, under the container's lock: a pid reused meanwhile cannot be joined). */
void op_join(const struct rec *r)
{
	int pidfd = (int)num_u32(r->f[1]);
	const char *pid = r->f[2];
	uint32_t n = (r->n - 3) / 2;
	unsigned all = 0;
	for (uint32_t i = 0; i < n; i++)
		all |= num_u32(r->f[4 + 2 * i]);
	if (setns(pidfd, (int)all) == 0) {
		close(pidfd);
		return;
	}
	if (errno != EINVAL)
		die(errno, "join the namespaces 0x%x of pid %s (through its pidfd)", all, pid);
	/* Linux < 5.8: setns takes no pidfd. The /proc/PID/ns files, opened while the pidfd shows the process still
	 * alive (so the pid was not reused), then joined one by one in the plan's order. */
	int *fds = calloc(n, sizeof *fds);
	if (!fds)
		die(ENOMEM, "join the namespaces of pid %s", pid);
	for (uint32_t i = 0; i < n; i++) {
		char p[64];
		snprintf(p, sizeof p, "%s/ns/%s", pid, r->f[3 + 2 * i]);
		fds[i] = openat(g_procfd, p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die(errno, "open /proc/%s", p);
	}
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		die(errno, "the process %s whose namespaces were opened", pid);
	for (uint32_t i = 0; i < n; i++) {
		if (setns(fds[i], (int)num_u32(r->f[4 + 2 * i])) < 0)
			die(errno, "setns /proc/%s/ns/%s", pid, r->f[3 + 2 * i]);
		close(fds[i]);
	}
	free(fds);
	close(pidfd);
}

void op_unshare(const struct rec *r)
{
	unsigned flags = num_u32(r->f[1]);
	if (unshare((int)flags) < 0)
		die(errno, "unshare 0x%x", flags);
}

/* `wait` mode: relays the child's terminal (CONSOLE_RELAY) and reports its end. The signals in `set` are blocked
 * since before CLONE and only drained here: the runtime forwards the signals sent to it, and a signal to the
 * whole process group (a terminal's ^C) reaches the child by itself; forwarding it again would deliver it
 * twice. With a relayed terminal, a window change is the pty's. */
static _Noreturn void wait_child(pid_t pid, const sigset_t *set)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC);
	if (sfd < 0)
		die(errno, "signalfd");
	int status;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			die(errno, "wait for pid %d", (int)pid);
		struct pollfd p[3] = { { .fd = sfd, .events = POLLIN } };
		size_t n = 1 + console_pollfds(p + 1);
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "wait for signals");
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;
			ssize_t k = read(sfd, &si, sizeof si);
			if (k < 0 && errno != EINTR)
				die(errno, "read signalfd");
			if (k == sizeof si && si.ssi_signo == SIGWINCH)
				console_resize();
		}
		console_events(p + 1, n - 1);
	}
	console_finish();
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	char line[32];
	snprintf(line, sizeof line, "EXIT %d\n", code);
	send_msg(line);
	_exit(code);
}

#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL /* linux/sched.h, Linux 5.7 */

/* struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2), as linux/sched.h has it */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		cgroup;
};

/* Fork-like clone: clone3 into the CGROUP_INTO directory when there is one, else clone. */
static long clone_child(unsigned flags)
{
	if (g_clone_cgroup < 0)
		return syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
	struct clone3_args args = {
		.flags = flags | CLONE_INTO_CGROUP_FLAG,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)g_clone_cgroup,
	};
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid == 0) {
		close(g_clone_cgroup);
		g_clone_cgroup = -1;
	}
	return pid;
}

/* The waiting init of a new pid namespace ends on a signal as any process would: see init_dies_of_signals. */
static void init_signal_exit(int sig)
{
	_exit(128 + sig);
}

/* As the init of its pid namespace, the child would ignore every signal it has no handler for, from the host
 * too (pid_namespaces(7)): `runt kill ID TERM` of a created container would do nothing, where runc's init (Go,
 * with a handler for each) exits. A handler for each signal whose default is to end a process does the same;
 * execve resets handlers, so the program starts with the defaults. */
static void init_dies_of_signals(void)
{
	static const int ending[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF };
	struct sigaction sa = { .sa_handler = init_signal_exit };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof ending / sizeof ending[0]; i++)
		if (sigaction(ending[i], &sa, NULL) < 0)
			die(errno, "set the handler of signal %d", ending[i]);
}

void op_clone(const struct rec *r)
{
	unsigned flags = num_u32(r->f[1]);
	if (g_mode == MODE_NONE)
		die_plain(EINVAL, "clone: no MODE step before CLONE");
	if (console_relayed() && g_mode != MODE_WAIT)
		die_plain(EINVAL, "clone: CONSOLE_RELAY needs MODE wait");
	sigset_t set;
	sigemptyset(&set);
	if (g_mode == MODE_WAIT) {
		static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };
		for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
			sigaddset(&set, fwd[i]);
		/* Blocked before the clone, so no signal and no exit is missed; the child unblocks them. */
		if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
			die(errno, "block signals");
	}
	long pid = clone_child(flags);
	if (pid < 0)
		die(errno, "clone with flags 0x%x%s", flags,
		    g_clone_cgroup >= 0 ? " into a cgroup (clone3, CLONE_INTO_CGROUP)" : "");
	if (pid == 0) {
		if (getpid() == 1)
			init_dies_of_signals();
		if (sigprocmask(SIG_SETMASK, &g_origmask, NULL) < 0)
			die(errno, "restore the signal mask");
		console_after_clone(true);
		g_child_segment = true;
		return;
	}
	console_after_clone(false);
	seccomp_parent_after_clone();
	netdev_after_clone((pid_t)pid);
	/* the fifo is the child's: a `wait` parent holding its write end would hide the child's exec from `runt start` */
	if (g_fifo_rd >= 0)
		close(g_fifo_rd);
	if (g_fifo_wr >= 0)
		close(g_fifo_wr);
	g_fifo_rd = g_fifo_wr = -1;
	char line[32];
	snprintf(line, sizeof line, "PID %ld\n", pid);
	int sent = send_msg(line);
	if (sent != 0) {
		int err = errno;
		kill((pid_t)pid, SIGKILL);
		if (sent < 0)
			die(err, "send PID %ld", pid);
		_exit(1);
	}
	if (g_mode == MODE_DETACH)
		_exit(0);
	wait_child((pid_t)pid, &set);
}

/* ---- child sync ops ------------------------------------------------------------------------------------- */

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
	if (send_line(line) < 0)
		die(errno, "send %s", r->f[1]);
	free(line);
}

void op_wait_fifo(const struct rec *r)
{
	(void)r;
	if (g_fifo_wr < 0)
		die_plain(EINVAL, "wait for exec fifo: no OPEN_FIFO step before WAIT_FIFO");
	/* the pipe is full: this blocks until `runt start` has read what OPEN_FIFO wrote */
	if (write_all(g_fifo_wr, "\n", 1) < 0)
		die(errno, "write to exec fifo %s", g_fifo_name);
	/* from here `runt start` is the only reader: an ERR written once it has gone fails (EPIPE), never blocks */
	close(g_fifo_rd);
	g_fifo_rd = -1;
	g_fifo_released = true;
}

/* ---- main ----------------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	/* First thing: the host's procfs, for /proc/self/fd paths that never go through the container's /proc. */
	g_procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int procerr = errno;

	char *end;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || !*argv[1] || *end || fd < 3 || fd > INT32_MAX || fcntl((int)fd, F_GETFD) < 0) {
		static const char usage[] = "usage: runt-shim FD (FD: a connected socket, 3 or above)\n";
		write_all(2, usage, sizeof usage - 1);
		return 2;
	}
	g_sock = (int)fd;
	/* Before anything else: from here on the shim runs from a sealed copy of itself (sealed.c). */
	run_sealed(argv);

	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGPIPE, &ign, &g_origpipe) < 0)
		die_plan(errno, "ignore SIGPIPE: %s", strerror(errno));
	if (fcntl(g_sock, F_SETFD, FD_CLOEXEC) < 0)
		die_plan(errno, "set close-on-exec on fd %d: %s", g_sock, strerror(errno));
	if (sigprocmask(SIG_SETMASK, NULL, &g_origmask) < 0)
		die_plan(errno, "read the signal mask: %s", strerror(errno));
	if (g_procfd < 0)
		die_plan(procerr, "open /proc: %s", strerror(procerr));
	struct statfs sfs;
	if (fstatfs(g_procfd, &sfs) < 0)
		die_plan(errno, "statfs /proc: %s", strerror(errno));
	if (sfs.f_type != PROC_SUPER_MAGIC)
		die_plan(0, "/proc is not a procfs");
	/* Nothing in a container may reach this process through /proc/PID (exe, fd...) until it execs. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_plan(errno, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));

	plan_read_segment(true);

	for (g_step = 1;; g_step++) {
		const struct rec *r = &g_recs[g_step];
		if (r->op->fn == NULL) { /* END */
			if (!g_child_segment)
				_exit(0);
			g_child_segment = false;
			plan_read_segment(false);
			continue;
		}
		r->op->fn(r);
	}
}
