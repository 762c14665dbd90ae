/* Joining the container's cgroups without the kernel's slow path. A write of a pid to cgroup.procs takes
 * the global cgroup_threadgroup_rwsem for writing, and the first such write after a quiet while waits for an
 * RCU grace period (4-20 ms on the test VM). Two moves skip that lock: a thread writing "0" (itself) to a
 * v1 hierarchy's `tasks` file, and clone3(CLONE_INTO_CGROUP), the child born in its cgroup2 directory. The
 * files are opened in the parent, before any namespace is joined, so the kernel checks the runtime's
 * credentials (v1 checks the opener's) and resolves the host's paths. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define MAX_TASKS_FILES 32

static int tasks_fd[MAX_TASKS_FILES];
static const char *tasks_name[MAX_TASKS_FILES];
static int ntasks;
static int clone_cgroup = -1; /* CGROUP_INTO: the cgroup2 directory CLONE puts the child in (O_PATH) */

void op_cgroup_tasks(const struct rec *r)
{
	if (ntasks == MAX_TASKS_FILES)
		die_plain(EINVAL, "cgroup tasks file %s: more than %d", r->f[1], MAX_TASKS_FILES);
	int fd = open(r->f[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open cgroup tasks file %s", r->f[1]);
	tasks_fd[ntasks] = fd;
	tasks_name[ntasks++] = r->f[1];
}

void op_cgroup_into(const struct rec *r)
{
	int fd = open(r->f[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open cgroup2 directory %s", r->f[1]);
	if (clone_cgroup >= 0)
		close(clone_cgroup);
	clone_cgroup = fd;
}

void op_cgroup_join(const struct rec *r)
{
	(void)r;
	for (int i = 0; i < ntasks; i++) {
		if (write(tasks_fd[i], "0", 1) != 1)
			die(errno, "join cgroup: write 0 to %s", tasks_name[i]);
		close(tasks_fd[i]);
	}
	ntasks = 0;
}

#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL /* linux/sched.h, Linux 5.7 */

/* struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2), as linux/sched.h has it */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		cgroup;
};

pid_t clone_child(unsigned flags)
{
	struct clone3_args args = {
		.flags = flags | CLONE_INTO_CGROUP_FLAG,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)clone_cgroup,
	};
	long pid = clone_cgroup < 0 ? syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL)
				    : syscall(SYS_clone3, &args, sizeof args);
	if (pid < 0)
		die(errno, "clone with flags 0x%x%s", flags,
		    clone_cgroup >= 0 ? " into a cgroup (clone3, CLONE_INTO_CGROUP)" : "");
	if (pid == 0 && clone_cgroup >= 0) {
		if (close(clone_cgroup) < 0)
			die(errno, "close the cgroup2 directory of CGROUP_INTO");
		clone_cgroup = -1;
	}
	return (pid_t)pid;
}
