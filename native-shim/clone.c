/* CLONE and what the parent does after it: MODE says whether it exits at once (`detach`) or waits for the child
 * and reports its end (`wait`, relaying its terminal with CONSOLE_RELAY). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

static enum { MODE_NONE, MODE_DETACH, MODE_WAIT } mode = MODE_NONE;

void op_mode(const struct rec *r)
{
	mode = strcmp(r->f[1], "wait") == 0 ? MODE_WAIT : MODE_DETACH;
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
	(void)send_msg(line); /* a runtime that has gone reads the same from the shim's exit status */
	_exit(code);
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
	if (mode == MODE_NONE)
		die_plain(EINVAL, "clone: no MODE step before CLONE");
	if (console_relayed() && mode != MODE_WAIT)
		die_plain(EINVAL, "clone: CONSOLE_RELAY needs MODE wait");
	sigset_t set;
	sigemptyset(&set);
	if (mode == MODE_WAIT) {
		static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };
		for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
			sigaddset(&set, fwd[i]);
		/* Blocked before the clone, so no signal and no exit is missed; the child unblocks them. */
		if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
			die(errno, "block signals");
	}
	pid_t pid = clone_child(flags);
	if (pid == 0) {
		if (getpid() == 1)
			init_dies_of_signals();
		if (sigprocmask(SIG_SETMASK, &shim.startup_mask, NULL) < 0)
			die(errno, "restore the signal mask");
		console_after_clone(true);
		return; /* the child: its segment follows the parent's END (main.c) */
	}
	console_after_clone(false);
	seccomp_parent_after_clone();
	netdev_after_clone(pid);
	/* the fifo is the child's: a `wait` parent holding its write end would hide the child's exec from `runt start` */
	if (shim.exec_fifo.read_end >= 0)
		close(shim.exec_fifo.read_end);
	if (shim.exec_fifo.write_end >= 0)
		close(shim.exec_fifo.write_end);
	shim.exec_fifo.read_end = shim.exec_fifo.write_end = -1;
	char line[32];
	snprintf(line, sizeof line, "PID %d\n", (int)pid);
	int sent = send_msg(line);
	if (sent != 0) {
		int err = errno;
		kill(pid, SIGKILL);
		if (sent < 0)
			die(err, "send PID %d", (int)pid);
		_exit(1);
	}
	if (mode == MODE_DETACH)
		_exit(0);
	wait_child(pid, &set);
}
