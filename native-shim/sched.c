/* Kernel attributes of the process that its children inherit: personality, scheduler, I/O priority, CPU
 * affinity, NUMA memory policy (README.md, "Ops"). The runtime computes every value; these are the calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

void op_personality(const struct rec *r)
{
	unsigned long persona = num_u32(r->f[1]);
	if (personality(persona) < 0)
		die(errno, "personality(0x%lx)", persona);
}

/* struct sched_attr of sched_setattr(2), version 0 (SCHED_ATTR_SIZE_VER0: up to sched_period). */
struct shim_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

void op_sched_setattr(const struct rec *r)
{
	struct shim_sched_attr attr = {
		.size = sizeof attr,
		.sched_policy = num_u32(r->f[1]),
		.sched_flags = num_u64(r->f[2]),
		.sched_nice = num_i32(r->f[3]),
		.sched_priority = num_u32(r->f[4]),
		.sched_runtime = num_u64(r->f[5]),
		.sched_deadline = num_u64(r->f[6]),
		.sched_period = num_u64(r->f[7]),
	};
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		die(errno, "sched_setattr(policy %u, flags 0x%llx, nice %d, priority %u)", attr.sched_policy,
		    (unsigned long long)attr.sched_flags, attr.sched_nice, attr.sched_priority);
}

#define IOPRIO_WHO_PROCESS 1

void op_ioprio_set(const struct rec *r)
{
	unsigned value = num_u32(r->f[1]);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) < 0)
		die(errno, "ioprio_set(class %u, level %u)", value >> 13, value & 7);
}

/* The record's fields from `first` on as a bit mask of 64-bit words (lowest first); NULL when there are none. */
static uint64_t *mask_words(const struct rec *r, uint32_t first, size_t *nwords, const char *what)
{
	*nwords = r->n - first;
	if (*nwords == 0)
		return NULL;
	uint64_t *mask = calloc(*nwords, sizeof *mask);
	if (!mask)
		die(ENOMEM, "%s", what);
	for (size_t i = 0; i < *nwords; i++)
		mask[i] = num_u64(r->f[first + i]);
	return mask;
}

void op_set_affinity(const struct rec *r)
{
	size_t nwords;
	uint64_t *mask = mask_words(r, 1, &nwords, "sched_setaffinity");
	if (syscall(SYS_sched_setaffinity, 0, nwords * sizeof *mask, mask) < 0)
		die(errno, "sched_setaffinity");
	free(mask);
}

void op_set_mempolicy(const struct rec *r)
{
	size_t nwords;
	unsigned mode = num_u32(r->f[1]);
	uint64_t *nodes = mask_words(r, 2, &nwords, "set_mempolicy");
	/* maxnode counts one past the last bit: the kernel reads maxnode - 1 bits */
	unsigned long maxnode = nodes ? nwords * 64 + 1 : 0;
	if (syscall(SYS_set_mempolicy, mode, nodes, maxnode) < 0)
		die(errno, "set_mempolicy(mode 0x%x)", mode);
	free(nodes);
}
