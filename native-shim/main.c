/* runt-shim FD: read the plan from FD, execute its steps in order (README.md). This file: the start-up and the
 * step loop; the ops are in their files, named by the op table (plan.c), the shared state in core.c. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "shim.h"

int main(int argc, char **argv)
{
	/* First thing: the host's procfs, for /proc/self/fd paths that never go through the container's /proc. */
	shim.host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int procerr = errno;

	char *end;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || !*argv[1] || *end || fd < 3 || fd > INT32_MAX || fcntl((int)fd, F_GETFD) < 0) {
		static const char usage[] = "usage: runt-shim FD (FD: a connected socket, 3 or above)\n";
		(void)write_all(2, usage, sizeof usage - 1);
		return 2;
	}
	shim.sock = (int)fd;
	/* Before anything else: from here on the shim runs from a sealed copy of itself (sealed.c). */
	run_sealed(argv);

	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGPIPE, &ign, &shim.startup_sigpipe) < 0)
		die_plan(errno, "ignore SIGPIPE: %s", strerror(errno));
	if (fcntl(shim.sock, F_SETFD, FD_CLOEXEC) < 0)
		die_plan(errno, "set close-on-exec on fd %d: %s", shim.sock, strerror(errno));
	if (sigprocmask(SIG_SETMASK, NULL, &shim.startup_mask) < 0)
		die_plan(errno, "read the signal mask: %s", strerror(errno));
	if (shim.host_proc < 0)
		die_plan(procerr, "open /proc: %s", strerror(procerr));
	struct statfs sfs;
	if (fstatfs(shim.host_proc, &sfs) < 0)
		die_plan(errno, "statfs /proc: %s", strerror(errno));
	if (sfs.f_type != PROC_SUPER_MAGIC)
		die_plan(0, "/proc is not a procfs");
	/* Nothing in a container may reach this process through /proc/PID (exe, fd...) until it execs. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_plan(errno, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));

	plan_read_segment(true);
	for (shim.step = 1;; shim.step++) {
		const struct rec *r = plan_record(shim.step);
		if (r->fn) {
			r->fn(r);
			continue;
		}
		/* END. The parent's segment ends in CLONE, which returns only in the child (the parent exits there):
		 * the child's own segment follows on FD. Any other END is the last step. */
		if (plan_record(shim.step - 1)->fn != op_clone)
			_exit(0);
		plan_read_segment(false);
	}
}
