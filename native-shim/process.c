/* The process's identity, limits, capabilities and program: the steps between the root switch and execve. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

void op_sethostname(const struct rec *r)
{
	if (sethostname(r->f[1], r->len[1]) < 0)
		die(errno, "sethostname %s", r->f[1]);
}

void op_setdomainname(const struct rec *r)
{
	if (setdomainname(r->f[1], r->len[1]) < 0)
		die(errno, "setdomainname %s", r->f[1]);
}

static rlim_t rlimit_value(const char *s)
{
	return strcmp(s, "-1") == 0 ? RLIM_INFINITY : (rlim_t)num_u64(s);
}

void op_setrlimit(const struct rec *r)
{
	int res = (int)num_u32(r->f[1]);
	struct rlimit rl = { .rlim_cur = rlimit_value(r->f[2]), .rlim_max = rlimit_value(r->f[3]) };
	if (prlimit(0, (__rlimit_resource_t)res, &rl, NULL) < 0)
		die(errno, "setrlimit %d to %s %s", res, r->f[2], r->f[3]);
}

void op_umask(const struct rec *r)
{
	umask((mode_t)(num_u32(r->f[1]) & 07777));
}

/* fds 0-2 on the host's null device are swapped for the container's own: no host file stays open in the
 * container, and CRIU, which cannot dump a file of a mount outside the container, can checkpoint it */
void op_reopen_devnull(const struct rec *r)
{
	(void)r;
	int nul = inroot_open("/dev/null", O_RDWR);
	if (nul < 0) {
		if (errno == ENOENT)
			return;
		die(errno, "open the container's /dev/null");
	}
	struct stat ns;
	if (fstat(nul, &ns) < 0)
		die(errno, "stat the container's /dev/null");
	if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
		die_plain(0, "/dev/null in the container is not the null device (char 1:3)");
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			if (errno == EBADF)
				continue;
			die(errno, "stat fd %d", fd);
		}
		if (S_ISCHR(st.st_mode) && st.st_rdev == ns.st_rdev && dup2(nul, fd) < 0)
			die(errno, "dup the container's /dev/null onto fd %d", fd);
	}
	close(nul);
}

void op_no_new_privs(const struct rec *r)
{
	(void)r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
}

void op_dumpable(const struct rec *r)
{
	unsigned long v = num_u32(r->f[1]);
	if (prctl(PR_SET_DUMPABLE, v, 0, 0, 0) < 0)
		die(errno, "prctl(PR_SET_DUMPABLE, %lu)", v);
}

void op_bounding_drop(const struct rec *r)
{
	for (uint32_t i = 1; i < r->n; i++) {
		unsigned long cap = num_u32(r->f[i]);
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			die(errno, "drop capability %lu from the bounding set", cap);
	}
}

void op_keepcaps(const struct rec *r)
{
	unsigned long v = num_u32(r->f[1]);
	if (prctl(PR_SET_KEEPCAPS, v, 0, 0, 0) < 0)
		die(errno, "prctl(PR_SET_KEEPCAPS, %lu)", v);
}

void op_setgroups(const struct rec *r)
{
	size_t n = r->n - 1;
	gid_t *gids = calloc(n ? n : 1, sizeof *gids);
	if (!gids)
		die(ENOMEM, "setgroups");
	for (size_t i = 0; i < n; i++)
		gids[i] = (gid_t)num_u32(r->f[i + 1]);
	if (setgroups(n, gids) < 0)
		die(errno, "setgroups (%zu groups)", n);
	free(gids);
}

void op_setresgid(const struct rec *r)
{
	gid_t gid = (gid_t)num_u32(r->f[1]);
	if (setresgid(gid, gid, gid) < 0)
		die(errno, "setresgid %u", (unsigned)gid);
}

void op_setresuid(const struct rec *r)
{
	uid_t uid = (uid_t)num_u32(r->f[1]);
	if (setresuid(uid, uid, uid) < 0)
		die(errno, "setresuid %u", (unsigned)uid);
}

void op_capset(const struct rec *r)
{
	uint64_t eff = num_u64(r->f[1]), perm = num_u64(r->f[2]), inh = num_u64(r->f[3]);
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32),
		  .permitted = (uint32_t)(perm >> 32),
		  .inheritable = (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		die(errno, "capset effective %s permitted %s inheritable %s", r->f[1], r->f[2], r->f[3]);
}

void op_ambient_raise(const struct rec *r)
{
	for (uint32_t i = 1; i < r->n; i++) {
		unsigned long cap = num_u32(r->f[i]);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			die(errno, "raise ambient capability %lu", cap);
	}
}

void op_setsid(const struct rec *r)
{
	(void)r;
	if (setsid() < 0)
		die(errno, "setsid");
}

/* CHDIR's path: a relative program is found below it. */
static char *chdir_path;
/* FIND_EXEC's result, the path EXEC runs */
static char *exec_path;

/* The process's own root, for in-root paths after PIVOT, CHROOT or a joined mount namespace. */
static int process_root(void)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open /");
	return fd;
}

void op_chdir(const struct rec *r)
{
	const char *path = r->f[1];
	/* resolved in the root with no magic link followed: a /proc/self/fd/N can never make it a directory outside
	 * the root (CVE-2024-21626), whatever the shim holds */
	int root = process_root();
	int fd = inroot_openat(root, path, O_PATH | O_DIRECTORY);
	if (fd < 0 && errno == ELOOP)
		die_plain(ELOOP, "chdir to %s: a symbolic link loop, or a magic link of /proc (never followed)", path);
	if (fd < 0)
		die(errno, "chdir to %s", path);
	if (fchdir(fd) < 0)
		die(errno, "chdir to %s", path);
	close(fd);
	close(root);
	free(chdir_path);
	chdir_path = strdup(path);
	if (!chdir_path)
		die(ENOMEM, "chdir to %s", path);
}

/* "HOME=<dir>" for EXEC, from PASSWD_HOME; NULL when the plan had none (the process's env has HOME). */
static char *home_env;

/* The home directory of uid in the container's /etc/passwd (name:password:uid:gid:gecos:home:shell); `fallback`
 * where the file, the uid or its home field is missing. */
static char *passwd_home(const char *uid, const char *fallback)
{
	int root = process_root();
	int fd = inroot_openat(root, "/etc/passwd", O_RDONLY);
	close(root);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return strdup(fallback);
	}
	char *line = NULL, *home = NULL;
	size_t cap = 0;
	while (!home && getline(&line, &cap, f) > 0) {
		char *fields[7] = { 0 };
		char *p = line;
		int n = 0;
		for (; n < 7 && p; n++)
			fields[n] = strsep(&p, ":\n");
		if (n >= 6 && strcmp(fields[2], uid) == 0 && fields[5][0])
			home = strdup(fields[5]);
	}
	free(line);
	fclose(f);
	return home ? home : strdup(fallback);
}

void op_passwd_home(const struct rec *r)
{
	char *home = passwd_home(r->f[1], r->f[2]);
	if (!home)
		die(ENOMEM, "HOME of uid %s", r->f[1]);
	free(home_env);
	if (asprintf(&home_env, "HOME=%s", home) < 0)
		die(ENOMEM, "HOME of uid %s", r->f[1]);
	free(home);
}

/* Go's error texts, which runc prints: "no such file or directory". */
static const char *go_strerror(int err, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* An O_PATH fd of the program at path, resolved in the root (a relative path below CHDIR's directory), never
 * through a magic link; -1 with errno. */
static int open_program(int root, const char *path)
{
	if (path[0] == '/' || !chdir_path)
		return inroot_openat(root, path, O_PATH);
	size_t a = strlen(chdir_path), b = strlen(path);
	char *abs = malloc(a + b + 2);
	if (!abs)
		return -1;
	memcpy(abs, chdir_path, a);
	abs[a] = '/';
	memcpy(abs + a + 1, path, b + 1);
	int fd = inroot_openat(root, abs, O_PATH);
	int err = errno;
	free(abs);
	errno = err;
	return fd;
}

/* 0 if fd is a regular file the process may execute, else an errno. faccessat2 (Linux 5.8) with the process's
 * effective ids; where it is missing or a seccomp filter refuses it, any execute bit will do, as Go's exec does
 * (execve decides in the end). */
static int executable(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return errno;
	if (!S_ISREG(st->st_mode))
		return EACCES;
	if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return errno;
	return st->st_mode & 0111 ? 0 : EACCES;
}

void op_find_exec(const struct rec *r)
{
	const char *name = r->f[1], *search = r->f[2];
	char e[128];
	struct stat st;
	free(exec_path);
	exec_path = NULL;
	int root = process_root();
	if (strchr(name, '/')) {
		int fd = open_program(root, name);
		if (fd < 0) {
			int err = errno;
			die_plain(err, "exec: \"%s\": stat %s: %s", name, name, go_strerror(err, e, sizeof e));
		}
		int err = executable(fd, &st);
		close(fd);
		if (err == EACCES && S_ISDIR(st.st_mode))
			die_plain(EACCES, "exec: \"%s\": permission denied", name);
		if (err)
			die_plain(err, "exec: \"%s\": %s", name, go_strerror(err, e, sizeof e));
		exec_path = strdup(name);
	} else if (*name) {
		size_t nlen = strlen(name);
		const char *p = search;
		for (;;) {
			const char *end = strchrnul(p, ':');
			size_t dlen = (size_t)(end - p);
			const char *dir = dlen ? p : ".";
			if (!dlen)
				dlen = 1;
			char *cand = malloc(dlen + nlen + 2);
			if (!cand)
				die(ENOMEM, "look for %s", name);
			memcpy(cand, dir, dlen);
			cand[dlen] = '/';
			memcpy(cand + dlen + 1, name, nlen + 1);
			int fd = open_program(root, cand);
			if (fd >= 0) {
				int err = executable(fd, &st);
				close(fd);
				if (!err) {
					exec_path = cand;
					break;
				}
			}
			free(cand);
			if (!*end)
				break;
			p = end + 1;
		}
	}
	close(root);
	if (!exec_path) {
		if (strchr(name, '/'))
			die(ENOMEM, "look for %s", name);
		die_plain(ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
	}
}

void op_exec(const struct rec *r)
{
	if (!exec_path)
		die_plain(EINVAL, "exec: no FIND_EXEC step before EXEC");
	uint32_t nargs = num_u32(r->f[1]);
	char **argv = calloc((size_t)nargs + 1, sizeof *argv);
	if (!argv)
		die(ENOMEM, "exec %s", exec_path);
	for (uint32_t i = 0; i < nargs; i++)
		argv[i] = r->f[2 + i];
	char **envp = &r->f[2 + nargs]; /* r->f is NULL-terminated */
	if (home_env) {
		size_t nenv = r->n - 2 - nargs;
		char **with_home = calloc(nenv + 2, sizeof *with_home);
		if (!with_home)
			die(ENOMEM, "exec %s", exec_path);
		memcpy(with_home, envp, nenv * sizeof *envp);
		with_home[nenv] = home_env;
		envp = with_home;
	}
	/* the path FIND_EXEC resolved in the root: with no fd of the host's left since CLOSE_FDS, execve's own lookup
	 * of it stays in the root too. Nothing else here: the user's filter may be loaded, and may refuse anything
	 * but execve */
	restore_signals();
	execve(exec_path, argv, envp);
	int err = errno;
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	die(err, "exec %s", exec_path);
}
