/* runt-shim: shared declarations. See README.md for the protocol (version 2). */
#ifndef RUNT_SHIM_H
#define RUNT_SHIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the plan ------------------------------------------------------------------------------------------ */

struct opdef;

struct rec {
	uint32_t n;                 /* number of fields, op name included */
	char **f;                   /* f[0] is the op name; every field is NUL-terminated */
	uint32_t *len;
	const struct opdef *op;
};

typedef void (*op_fn)(const struct rec *r);

struct opdef {
	const char *name;
	/* Field types after the op name: s string, w word (no newline), u u32, U u64, b 0|1, i id (-1..2^32-1),
	 * r rlimit (-1 or u64), m MODE word, c create word; a trailing '*' repeats the last type zero or more
	 * times, a '?' makes the last one optional. NULL: checked by `check` instead. */
	const char *types;
	const char *(*check)(const struct rec *r); /* extra check; returns an error text or NULL */
	op_fn fn;
};

extern struct rec *g_recs;
extern uint32_t g_nrecs;

/* Reads records from the socket up to END, appending them to g_recs. `header`: the first segment, whose
 * first record must be RUNT-PLAN with the protocol version (2); without it, the child's segment, where EOF is a silent exit 1. Reports a
 * malformed plan and exits on any other error. */
void plan_read_segment(bool header);
/* Reads exactly n bytes from the socket (through the plan reader's buffer). 0 on success, -1 on EOF
 * (errno 0) or error. */
int sock_read_exact(void *dst, size_t n);
const struct opdef *op_lookup(const char *name);

/* Numbers inside fields (validated when the plan was read). */
uint64_t num_u64(const char *s);
uint32_t num_u32(const char *s);
int64_t num_i64(const char *s); /* "-1" or an unsigned value */

/* ---- global state --------------------------------------------------------------------------------------- */

extern int g_sock;          /* FD: the runtime's socket */
extern int g_procfd;        /* the host's /proc, opened first thing */
extern int g_fifo_path;     /* OPEN_FIFO: O_PATH fd of the exec fifo, or -1 */
extern int g_fifo_wr;       /* WAIT_FIFO: write end of the exec fifo, or -1 */
extern int g_console;       /* CONSOLE_CONNECT socket (or CONSOLE_RELAY's end for TERMINAL), or -1 */
extern int g_root;          /* root for in-root paths, or -1 (then "/" is used) */
extern char *g_exec_path;   /* FIND_EXEC result */
extern uint32_t g_step;     /* index of the step being executed */
extern sigset_t g_origmask; /* signal mask at start-up, given back before execve */
extern struct sigaction g_origpipe; /* SIGPIPE disposition at start-up, given back before execve */

/* ---- messages ------------------------------------------------------------------------------------------- */

/* ERR <step> <err> <text>[: strerror(err)], to the socket and (once open) the exec fifo; then exit(1). */
_Noreturn void die(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same without the ": strerror" suffix. */
_Noreturn void die_plain(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ERR on step 0 for a plan that cannot be read. */
_Noreturn void die_plan(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a whole message to the socket; a closed peer (EPIPE, ECONNRESET) is not an error. 0 or -1. */
int send_line(const char *line);
/* Writes all of buf to fd, retrying on EINTR and short writes. 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);

/* Resets what the shim changed for itself (signal mask, SIGPIPE) before an execve. Async-signal-safe. */
void restore_signals(void);

/* ---- in-root paths (resolve.c) -------------------------------------------------------------------------- */

enum create { CREATE_NONE, CREATE_DIR, CREATE_FILE };

int root_fd(void);
/* openat2(root, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). fd or -1 with errno. */
int inroot_open(const char *path, int flags);
/* O_PATH fd of path in the root, made (parents as directories, the last as `create` says) when missing. */
int inroot_resolve(const char *path, enum create create);
/* O_PATH fd of path's parent directory (made when missing); *base gets the last component (malloc'd). */
int inroot_parent(const char *path, char **base);
/* openat2_root's fallback for kernels without openat2 (inroot_compat.c): the same walk in userspace, its
 * result checked to be below root. fd or -1 with errno (EXDEV: it was not). */
int openat_in_root_compat(int root, const char *path, int flags);
/* As inroot_resolve, but the last component is never followed: a symlink there is refused with an ERR
 * naming `what` (the step's action). */
int inroot_nofollow(const char *path, enum create create, const char *what);

/* ---- mounts (mounts.c) ---------------------------------------------------------------------------------- */

/* mount(2) with source and/or target given as fds, named through the host /proc's self/fd. */
int mount_fds(const char *src, int srcfd, int dstfd, const char *fstype, unsigned long flags, const char *data);

void op_mount_path(const struct rec *r);
void op_rootfs(const struct rec *r);
void op_mount(const struct rec *r);
const char *check_mount(const struct rec *r);
/* tmpcopyup (copyup.c): what `lower` (the target's directory, opened before the mount) holds, into the
 * mount now at target. */
void copy_up(int lower, const char *target);
void op_remount(const struct rec *r);
void op_mknod(const struct rec *r);
void op_symlink(const struct rec *r);
void op_pivot(const struct rec *r);
void op_chroot(const struct rec *r);
void op_mask(const struct rec *r);
void op_readonly(const struct rec *r);

/* ---- process set-up (process.c) ------------------------------------------------------------------------- */

void op_sethostname(const struct rec *r);
void op_setdomainname(const struct rec *r);
void op_setrlimit(const struct rec *r);
void op_umask(const struct rec *r);
void op_setsid(const struct rec *r);
void op_reopen_devnull(const struct rec *r);
void op_no_new_privs(const struct rec *r);
void op_dumpable(const struct rec *r);
void op_bounding_drop(const struct rec *r);
void op_keepcaps(const struct rec *r);
void op_setgroups(const struct rec *r);
void op_setresgid(const struct rec *r);
void op_setresuid(const struct rec *r);
void op_capset(const struct rec *r);
void op_ambient_raise(const struct rec *r);
void op_chdir(const struct rec *r);
void op_find_exec(const struct rec *r);
void op_close_fds(const struct rec *r);
void op_exec(const struct rec *r);

/* ---- unix sockets (main.c, terminal.c) ------------------------------------------------------------------- */

/* A connected AF_UNIX SOCK_STREAM socket (close-on-exec) to path; dies naming `what` on failure. */
int connect_unix(const char *path, const char *what);
/* Sends data with fd attached (SCM_RIGHTS) to the first bytes; dies naming `what` on failure. */
void send_fd(int sock, int fd, const char *data, size_t len, const char *what);

/* ---- seccomp.c ------------------------------------------------------------------------------------------- */

void op_seccomp_listener(const struct rec *r);
/* The parent closes its copy of the listener connection: the listener reads the state up to EOF. */
void seccomp_parent_after_clone(void);
void op_seccomp_init(const struct rec *r);
void op_seccomp_arch(const struct rec *r);
void op_seccomp_rule(const struct rec *r);
void op_seccomp_load(const struct rec *r);
const char *check_seccomp_rule(const struct rec *r);
const char *check_seccomp_load(const struct rec *r);

/* ---- sched.c: inherited kernel attributes of the process ------------------------------------------------ */

void op_personality(const struct rec *r);
void op_sched_setattr(const struct rec *r);
const char *check_sched_setattr(const struct rec *r);
void op_ioprio_set(const struct rec *r);
void op_set_affinity(const struct rec *r);
void op_set_mempolicy(const struct rec *r);

/* ---- netdev.c: linux.netDevices ------------------------------------------------------------------------- */

void op_netdev(const struct rec *r);
const char *check_netdev(const struct rec *r);
/* In the parent right after CLONE: the NETDEV devices into the child's network namespace (dies on failure,
 * the child killed). */
void netdev_after_clone(pid_t pid);

/* ---- terminal.c, hook.c ---------------------------------------------------------------------------------- */

void op_terminal(const struct rec *r);
void op_console_relay(const struct rec *r);
/* CONSOLE_RELAY, in the parent in `wait` mode (terminal.c) */
struct pollfd;
bool console_relayed(void);             /* a CONSOLE_RELAY step ran */
void console_after_clone(bool child);   /* each side closes the other's end of the socketpair */
size_t console_pollfds(struct pollfd *p); /* the relay's fds to poll now (at most 2) */
void console_events(const struct pollfd *p, size_t n);
bool console_resize(void);              /* SIGWINCH: false when there is no pty to resize (yet) */
void console_finish(void);              /* the child ended: copy what is left, restore fd 0's mode */
void console_restore(void);             /* fd 0's mode back, if the relay changed it (also on ERR) */
void op_hook(const struct rec *r);
const char *check_hook(const struct rec *r);
const char *check_exec(const struct rec *r);

/* ---- procfs.c ------------------------------------------------------------------------------------------- */

void op_write_proc(const struct rec *r);
/* Dies unless fd is on a filesystem of type magic (fstatfs): "<what> is not on a <fsname>". */
void require_fs(int fd, long magic, const char *what, const char *fsname);
const char *check_write_proc(const struct rec *r);

/* ---- sealed.c ------------------------------------------------------------------------------------------- */

/* Returns when the shim runs from a sealed memfd; otherwise execs a sealed copy of itself with the same argv
 * and environment (the socket FD is inherited), or reports the failure and exits (CVE-2019-5736). */
void run_sealed(char **argv);

/* ---- main.c ops ------------------------------------------------------------------------------------------ */

void op_mode(const struct rec *r);
void op_console_connect(const struct rec *r);
void op_open_fifo(const struct rec *r);
void op_setns(const struct rec *r);
void op_unshare(const struct rec *r);
void op_clone(const struct rec *r);
void op_wait(const struct rec *r);
void op_send(const struct rec *r);
void op_wait_fifo(const struct rec *r);

#endif
