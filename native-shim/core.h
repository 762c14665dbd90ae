/* runt-shim's core: the state the steps share, the ERR and other messages to the runtime, the reads of the plan
 * socket. Every other file builds on it; it knows no op. */
#ifndef RUNT_SHIM_CORE_H
#define RUNT_SHIM_CORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What more than one file of the shim's reads or changes, in one place (the one instance is `shim`, core.c). An
 * fd is -1 while it is not open. State that one file alone uses is static in that file. */
struct shim_state {
	int sock;      /* FD: the runtime's socket, the plan in and the messages out */
	uint32_t step; /* the step being executed, the <step> of an ERR */
	int host_proc; /* the host's /proc (O_PATH), opened first thing, closed by CLOSE_FDS (fds.c) */
	int root;      /* the root of in-root paths (ROOTFS, PIVOT, CHROOT), or -1: the current "/" (resolve.c) */
	int console;   /* CONSOLE_CONNECT's socket, or CONSOLE_RELAY's end, kept for TERMINAL (terminal.c) */
	struct {
		int read_end;     /* held from OPEN_FIFO until WAIT_FIFO, so that the write end never blocks */
		int write_end;    /* the child's, open until its execve: `runt start` reads its end (sync.c) */
		const char *path; /* for messages */
		bool released;    /* WAIT_FIFO ran: an ERR goes to the fifo too, where `runt start` reads it */
	} exec_fifo;
	sigset_t startup_mask;            /* the signal mask at start-up, given back before execve */
	struct sigaction startup_sigpipe; /* SIGPIPE's disposition at start-up, given back before execve */
	/* What a step changed outside the shim that an ERR gives back before the shim exits (CONSOLE_RELAY: the
	 * mode of the terminal on fd 0), or NULL. */
	void (*undo_on_error)(void);
};

extern struct shim_state shim;

/* ---- errors: ERR <step> <errno> <text>, to the socket and (once released) the exec fifo; then exit(1) --- */

/* The step being executed failed: the text, then ": strerror(err)" when err is not 0. */
_Noreturn void die(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same without the ": strerror" suffix (the text says what went wrong). */
_Noreturn void die_plain(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Step 0: the shim could not start, or the plan cannot be read. */
_Noreturn void die_plan(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the socket ----------------------------------------------------------------------------------------- */

/* Writes a whole message to the socket: 0, 1 when the runtime has closed its end (EPIPE, ECONNRESET: not an
 * error after a sync point where it may have exited), -1 on another error (errno). */
int send_msg(const char *line);
/* Reads exactly n bytes from the socket (buffered). 0 on success, -1 on EOF (errno 0) or error. */
int sock_read_exact(void *dst, size_t n);

/* Writes all of buf to fd, retrying on EINTR and short writes. 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* Gives back the signal mask and SIGPIPE's disposition of start-up, before an execve. Async-signal-safe. */
void restore_signals(void);

#endif
