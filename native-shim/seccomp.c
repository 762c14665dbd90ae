/* SECCOMP_*: a filter built with libseccomp from the runtime's rules, exported as BPF and loaded with
 * seccomp(2) and the runtime's flags, as runc does: libseccomp's own load knows fewer flags than the kernel
 * (no WAIT_KILLABLE_RECV in 2.5) and would set no_new_privs on its own. With a notify listener, the notify
 * fd goes to the SECCOMP_LISTENER socket with the container process state the runtime put in the step. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static scmp_filter_ctx pending_filter;
static int listener_sock = -1;

void op_seccomp_listener(const struct rec *r)
{
	if (listener_sock >= 0)
		close(listener_sock);
	listener_sock = connect_unix(r->f[1], "seccomp listener");
}

int seccomp_listener_fd(void)
{
	return listener_sock;
}

void seccomp_parent_after_clone(void)
{
	if (listener_sock >= 0 && close(listener_sock) < 0)
		die(errno, "seccomp: close the parent's copy of the listener socket");
	listener_sock = -1;
}

void op_seccomp_init(const struct rec *r)
{
	uint32_t action = num_u32(r->f[1]), optimize = num_u32(r->f[2]);
	if (pending_filter)
		seccomp_release(pending_filter);
	pending_filter = seccomp_init(action);
	if (!pending_filter)
		die_plain(EINVAL, "seccomp_init: libseccomp refuses the default action 0x%x", action);
	int rc = seccomp_attr_set(pending_filter, SCMP_FLTATR_CTL_OPTIMIZE, optimize);
	if (rc < 0)
		die(-rc, "seccomp: set optimization level %u", optimize);
}

static scmp_filter_ctx filter_or_die(const char *op)
{
	if (!pending_filter)
		die_plain(EINVAL, "%s: no SECCOMP_INIT step before it", op);
	return pending_filter;
}

void op_seccomp_arch(const struct rec *r)
{
	uint32_t arch = num_u32(r->f[1]);
	int rc = seccomp_arch_add(filter_or_die("SECCOMP_ARCH"), arch);
	/* the native architecture is in every new filter */
	if (rc < 0 && rc != -EEXIST)
		die(-rc, "seccomp: add architecture 0x%x", arch);
}

void op_seccomp_rule(const struct rec *r)
{
	scmp_filter_ctx filter = filter_or_die("SECCOMP_RULE");
	uint32_t action = num_u32(r->f[1]);
	const char *name = r->f[2];
	int nr = seccomp_syscall_resolve_name(name);
	/* A name libseccomp does not know is a syscall newer than it, or none: skipped, as runc does. */
	if (nr == __NR_SCMP_ERROR)
		return;
	struct scmp_arg_cmp cmp[6]; /* the op table allows 0 to 6 conditions of 4 fields */
	unsigned nargs = (r->n - 3) / 4;
	for (unsigned i = 0; i < nargs; i++) {
		char **f = &r->f[3 + 4 * i];
		cmp[i] = (struct scmp_arg_cmp){
			.arg = (unsigned)num_u64(f[0]),
			.op = (enum scmp_compare)num_u64(f[1]),
			.datum_a = num_u64(f[2]),
			.datum_b = num_u64(f[3]),
		};
	}
	int rc = seccomp_rule_add_array(filter, action, nr, nargs, cmp);
	if (rc < 0)
		die(-rc, "seccomp: add rule for %s (action 0x%x, %u argument conditions)", name, action, nargs);
}

/* The filter as BPF: libseccomp writes it to an fd, a memfd here. Releases the libseccomp context. */
static struct sock_fprog export_filter(void)
{
	int fd = memfd_create("runt-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		die(errno, "seccomp: memfd_create");
	int rc = seccomp_export_bpf(pending_filter, fd);
	if (rc < 0)
		die(-rc, "seccomp: export the filter as BPF");
	seccomp_release(pending_filter);
	pending_filter = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		die(errno, "seccomp: stat the exported filter");
	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		die_plain(EINVAL, "seccomp: the filter is %zu bytes of BPF (at most %d instructions are allowed)", size,
			  BPF_MAXINSNS);
	struct sock_filter *insns = malloc(size);
	if (!insns)
		die(ENOMEM, "seccomp: read the exported filter");
	for (size_t done = 0; done < size;) {
		ssize_t k = pread(fd, (char *)insns + done, size - done, (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die(k < 0 ? errno : EIO, "seccomp: read the exported filter");
		done += (size_t)k;
	}
	if (close(fd) < 0)
		die(errno, "seccomp: close the exported filter");
	return (struct sock_fprog){ .len = (unsigned short)(size / sizeof *insns), .filter = insns };
}

const char *check_seccomp_load(const struct rec *r)
{
	bool listener = num_u32(r->f[1]) & SECCOMP_FILTER_FLAG_NEW_LISTENER;
	if (listener != (r->n == 3))
		return "SECCOMP_LOAD: the state field comes with SECCOMP_FILTER_FLAG_NEW_LISTENER, and only with it";
	return NULL;
}

void op_seccomp_load(const struct rec *r)
{
	uint32_t flags = num_u32(r->f[1]);
	filter_or_die("SECCOMP_LOAD");
	if ((flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) && listener_sock < 0)
		die_plain(EINVAL, "SECCOMP_LOAD: a notify listener needs a SECCOMP_LISTENER step before it");
	struct sock_fprog prog = export_filter();
	/* From here every syscall of this process goes through the filter: as few as possible follow. */
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (fd < 0)
		die(errno, "seccomp: load the filter (flags 0x%x)", flags);
	free(prog.filter); /* the kernel has its copy */
	if (!(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return;
	send_fd(listener_sock, (int)fd, r->f[2], r->len[2], "the seccomp notify fd to the listener");
	/* one state per connection, closed once sent (config-linux.md) */
	if (close(listener_sock) < 0)
		die(errno, "seccomp: close the listener socket");
	listener_sock = -1;
	if (close((int)fd) < 0)
		die(errno, "seccomp: close the notify fd");
}
