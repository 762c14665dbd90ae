/* The namespaces the shim's parent joins or makes before CLONE: SETNS (a namespace file each), JOIN (all the
 * namespaces of a process, through its pidfd), UNSHARE. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

/* The files of the segment's SETNS steps, steps ns_first..ns_first+ns_count-1, opened by the first of them:
 * once in a user namespace, the shim may no longer open those of a non-dumpable process (a created
 * container's init), and once in a mount namespace, paths would resolve in it. */
static int *ns_fds;
static uint32_t ns_first, ns_count;

static void open_namespaces(void)
{
	uint32_t step = shim.step, end = shim.step;
	while (plan_record(end)->fn != NULL) /* up to the segment's END */
		end++;
	free(ns_fds);
	ns_fds = malloc((end - step) * sizeof *ns_fds);
	if (!ns_fds)
		die(ENOMEM, "open namespaces");
	ns_first = step;
	ns_count = end - step;
	for (uint32_t i = step; i < end; i++) {
		ns_fds[i - step] = -1;
		if (plan_record(i)->fn != op_setns)
			continue;
		shim.step = i; /* an error names the step whose path it is */
		ns_fds[i - step] = open(plan_record(i)->f[1], O_RDONLY | O_CLOEXEC);
		if (ns_fds[i - step] < 0)
			die(errno, "open namespace %s", plan_record(i)->f[1]);
	}
	shim.step = step;
}

void op_setns(const struct rec *r)
{
	const char *path = r->f[1];
	int type = (int)num_u32(r->f[2]);
	if (shim.step < ns_first || shim.step >= ns_first + ns_count || ns_fds[shim.step - ns_first] < 0)
		open_namespaces();
	int fd = ns_fds[shim.step - ns_first];
	if (setns(fd, type) < 0)
		die(errno, "setns %s (type 0x%x)", path, (unsigned)type);
	close(fd);
	ns_fds[shim.step - ns_first] = -1;
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
		fds[i] = openat(shim.host_proc, p, O_RDONLY | O_CLOEXEC);
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
