/* HOOK: run a hook with the state on its stdin, wait for it (killing it at the timeout). The wait is a poll
 * on a pidfd: no signal handler, no SIGALRM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Noreturn void hook_child(int in, int errw, const char *path, char **argv, char **envp)
{
	/* Only async-signal-safe calls here. */
	if (in == 0) {
		if (fcntl(0, F_SETFD, 0) < 0)
			goto fail;
	} else if (dup2(in, 0) < 0) {
		goto fail;
	}
	/* stdout and stderr stay the shim's; nothing else leaks into the hook. */
	if (cloexec_from(3) < 0)
		goto fail;
	restore_signals();
	execve(path, argv, envp);
fail:;
	int err = errno;
	ssize_t k = write(errw, &err, sizeof err);
	(void)k;
	_exit(127);
}

void op_hook(const struct rec *r)
{
	const char *path = r->f[1];
	unsigned timeout = num_u32(r->f[2]);
	uint32_t nargs = num_u32(r->f[3]);
	const char *state = r->f[r->n - 1];
	size_t state_len = r->len[r->n - 1];

	char *fallback[2] = { r->f[1], NULL };
	char **argv = fallback;
	if (nargs) {
		argv = calloc((size_t)nargs + 1, sizeof *argv);
		if (!argv)
			die(ENOMEM, "run hook %s", path);
		for (uint32_t i = 0; i < nargs; i++)
			argv[i] = r->f[4 + i];
	}
	uint32_t env0 = 4 + nargs, nenv = r->n - 1 - env0;
	char **envp = calloc((size_t)nenv + 1, sizeof *envp);
	if (!envp)
		die(ENOMEM, "run hook %s", path);
	for (uint32_t i = 0; i < nenv; i++)
		envp[i] = r->f[env0 + i];

	int in[2], errp[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
		die(errno, "make pipes for hook %s", path);
	int pidfd = -1;
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_PIDFD | SIGCHLD), NULL, &pidfd, NULL, NULL);
	if (pid < 0)
		die(errno, "fork for hook %s", path);
	if (pid == 0)
		hook_child(in[0], errp[1], path, argv, envp);
	close(in[0]);
	close(errp[1]);
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0)
		die(errno, "set up the stdin of hook %s", path);

	int64_t deadline = timeout ? now_ms() + (int64_t)timeout * 1000 : -1;
	size_t sent = 0;
	int wfd = in[1];
	if (state_len == 0) {
		close(wfd);
		wfd = -1;
	}
	for (;;) {
		struct pollfd pf[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = wfd, .events = POLLOUT } };
		int wait_ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			wait_ms = left > 0 ? (int)left : 0;
		}
		int k = poll(pf, wfd >= 0 ? 2 : 1, wait_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die(errno, "wait for hook %s", path);
		if (k == 0) {
			if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
				die(errno, "kill hook %s at its timeout", path);
			while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
				;
			die_plain(ETIMEDOUT, "hook %s timed out after %us", path, timeout);
		}
		if (pf[0].revents)
			break;
		if (wfd >= 0 && pf[1].revents) {
			ssize_t w = write(wfd, state + sent, state_len - sent);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				if (errno != EPIPE)
					die(errno, "write the state to hook %s", path);
				sent = state_len; /* the hook does not read its stdin */
			} else if (w > 0) {
				sent += (size_t)w;
			}
			if (sent == state_len) {
				close(wfd);
				wfd = -1;
			}
		}
	}
	if (wfd >= 0)
		close(wfd);
	int status;
	pid_t w;
	while ((w = waitpid((pid_t)pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0)
		die(errno, "wait for hook %s", path);
	close(pidfd);
	int err;
	ssize_t got;
	while ((got = read(errp[0], &err, sizeof err)) < 0 && errno == EINTR)
		;
	close(errp[0]);
	if (got == (ssize_t)sizeof err)
		die(err, "exec hook %s", path);
	if (WIFSIGNALED(status))
		die_plain(0, "hook %s killed by signal %d", path, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		die_plain(0, "hook %s exited with status %d", path, WEXITSTATUS(status));
	if (argv != fallback)
		free(argv);
	free(envp);
}
