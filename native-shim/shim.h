/* runt-shim: what the files of the shim share (README.md, "Source layout"): the core (core.h), the plan (plan.h),
 * and each file's ops and the functions other files call. */
#ifndef RUNT_SHIM_H
#define RUNT_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core.h"
#include "plan.h"

/* ---- in-root paths (resolve.c) -------------------------------------------------------------------------- */

enum create { CREATE_NONE, CREATE_DIR, CREATE_FILE };

int root_fd(void);
/* openat2(root, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), or the same walk in
 * userspace where openat2 is missing or refused. fd or -1 with errno. */
int inroot_openat(int root, const char *path, int flags);
/* inroot_openat from the root of in-root paths (root_fd()). */
int inroot_open(const char *path, int flags);
/* O_PATH fd of path in the root, made (parents as directories, the last as `create` says) when missing. */
int inroot_resolve(const char *path, enum create create);
/* O_PATH fd of path's parent directory (made when missing); *base gets the last component (malloc'd). */
int inroot_parent(const char *path, char **base);
/* inroot_openat's fallback for kernels without openat2 (inroot_compat.c): the same walk in userspace, its
 * result checked to be below root. fd or -1 with errno (EXDEV: it was not). */
int openat_in_root_compat(int root, const char *path, int flags);
/* As inroot_resolve, but the last component is never followed: a symlink there is refused with an ERR
 * naming `what` (the step's action). */
int inroot_nofollow(const char *path, enum create create, const char *what);

/* ---- mounts (mounts.c) ---------------------------------------------------------------------------------- */

/* mount(2) with source and/or target given as fds, named through the host /proc's self/fd; a bind (MS_BIND
 * with srcfd) as BIND makes it: a detached clone of srcfd's tree (MS_REC: with its submounts) attached on dstfd. */
int mount_fds(const char *src, int srcfd, int dstfd, const char *fstype, unsigned long flags, const char *data);

void op_mount_path(const struct rec *r);
void op_rootfs(const struct rec *r);
void op_mount(const struct rec *r);
const char *check_mount(const struct rec *r);
/* tmpcopyup (copyup.c): what `lower` (the target's directory, opened before the mount) holds, into the
 * new mount (`mounted`, an fd of it from reopen_mounted). */
void copy_up(int lower, int mounted, const char *target);
/* After a mount(2) onto the O_PATH fd `before`: an O_PATH fd of the new mount, found again by before's path
 * and checked to be at that path and on another mount (dies otherwise: a rename raced it). */
int reopen_mounted(int before, const char *target, int source);
void op_bind(const struct rec *r);
const char *check_bind(const struct rec *r);
void op_idmap_tree(const struct rec *r);
void op_propagate_parent(const struct rec *r);
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
void op_setsid(const struct rec *r);
void op_chdir(const struct rec *r);
void op_find_exec(const struct rec *r);
void op_passwd_home(const struct rec *r);
void op_exec(const struct rec *r);

/* ---- fds.c ---------------------------------------------------------------------------------------------- */

void op_close_fds(const struct rec *r);
/* Marks every fd >= first close-on-exec (a hook's child, between fork and exec: async-signal-safe). 0 or -1. */
int cloexec_from(unsigned first);

/* ---- seccomp.c ------------------------------------------------------------------------------------------ */

void op_seccomp_listener(const struct rec *r);
/* The parent closes its copy of the listener connection: the listener reads the state up to EOF. */
void seccomp_parent_after_clone(void);
int seccomp_listener_fd(void); /* the SECCOMP_LISTENER socket, or -1 */
void op_seccomp_init(const struct rec *r);
void op_seccomp_arch(const struct rec *r);
void op_seccomp_rule(const struct rec *r);
void op_seccomp_load(const struct rec *r);
const char *check_seccomp_load(const struct rec *r);

/* ---- sched.c: inherited kernel attributes of the process ------------------------------------------------ */

void op_personality(const struct rec *r);
void op_sched_setattr(const struct rec *r);
void op_ioprio_set(const struct rec *r);
void op_set_affinity(const struct rec *r);
void op_set_mempolicy(const struct rec *r);

/* ---- netdev.c: linux.netDevices ------------------------------------------------------------------------- */

void op_netdev(const struct rec *r);
const char *check_netdev(const struct rec *r);
/* In the parent right after CLONE: the NETDEV devices into the child's network namespace (dies on failure,
 * the child killed). */
void netdev_after_clone(pid_t pid);

/* ---- terminal.c ----------------------------------------------------------------------------------------- */

/* A connected AF_UNIX SOCK_STREAM socket (close-on-exec) to path; dies naming `what` on failure. */
int connect_unix(const char *path, const char *what);
/* Sends data with fd attached (SCM_RIGHTS) to the first bytes; dies naming `what` on failure. */
void send_fd(int sock, int fd, const char *data, size_t len, const char *what);

void op_console_connect(const struct rec *r);
void op_terminal(const struct rec *r);
void op_console_relay(const struct rec *r);
/* CONSOLE_RELAY, in the parent in `wait` mode (terminal.c) */
struct pollfd;
bool console_relayed(void);               /* a CONSOLE_RELAY step ran */
void console_after_clone(bool child);     /* each side closes the other's end of the socketpair */
size_t console_pollfds(struct pollfd *p); /* the relay's fds to poll now (at most 2) */
void console_events(const struct pollfd *p, size_t n);
bool console_resize(void);  /* SIGWINCH: false when there is no pty to resize (yet) */
void console_finish(void);  /* the child ended: copy what is left, restore fd 0's mode */
void console_restore(void); /* fd 0's mode back, if the relay changed it (also on ERR) */

/* ---- hook.c --------------------------------------------------------------------------------------------- */

void op_hook(const struct rec *r);

/* ---- procfs.c ------------------------------------------------------------------------------------------- */

void op_write_proc(const struct rec *r);
/* Dies unless fd is on a filesystem of type magic (fstatfs): "<what> is not on a <fsname>". */
void require_fs(int fd, long magic, const char *what, const char *fsname);
const char *check_write_proc(const struct rec *r);
void private_proc_closed(void); /* CLOSE_FDS closed the private procfs */

/* ---- keyring.c ------------------------------------------------------------------------------------------ */

void op_join_keyring(const struct rec *r);

/* ---- sealed.c ------------------------------------------------------------------------------------------- */

/* Returns when the shim runs from a sealed memfd; otherwise execs a sealed copy of itself with the same argv
 * and environment (the socket FD is inherited), or reports the failure and exits (CVE-2019-5736). */
void run_sealed(char **argv);

/* ---- ns.c: namespaces joined or made before CLONE ------------------------------------------------------- */

void op_setns(const struct rec *r);
void op_join(const struct rec *r);
void op_unshare(const struct rec *r);

/* ---- clone.c -------------------------------------------------------------------------------------------- */

void op_mode(const struct rec *r);
void op_clone(const struct rec *r);

/* ---- sync.c: the sync points with the runtime and with `runt start` ------------------------------------- */

void op_wait(const struct rec *r);
void op_send(const struct rec *r);
void op_open_fifo(const struct rec *r);
void op_wait_fifo(const struct rec *r);

/* ---- cgroups (cgroup.c) --------------------------------------------------------------------------------- */

void op_cgroup_tasks(const struct rec *r);
void op_cgroup_into(const struct rec *r);
void op_cgroup_join(const struct rec *r);
/* CLONE's fork: clone3 into the CGROUP_INTO directory when there was one (the child born in that cgroup), else
 * clone. The child's pid, or 0 in the child; dies on failure. */
pid_t clone_child(unsigned flags);

#endif
