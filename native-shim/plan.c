/* Reading and checking the plan: records of length-prefixed fields (README.md, "The plan"). Everything is
 * checked before the first step runs, so a malformed plan changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define MAX_RECORDS 4096u
#define MAX_FIELDS 65536u
#define MAX_FIELD (1u << 20)
#define MAX_TOTAL (16u << 20)

struct rec *g_recs;
uint32_t g_nrecs;

/* Each op's segment (PARENT: before CLONE; CHILD: after it; BOTH), and where it may stand relative to the
 * child's CLOSE_FDS: HOST_FDS ops need an fd CLOSE_FDS closes (the host /proc, the root, the private procfs),
 * so none may follow it; AFTER_CLOSE ops resolve what the image controls (cwd, the program) or load the
 * user's seccomp filter, so none may come before it (CVE-2024-21626; runt's own calls never go through the
 * user's filter). */
static const struct opdef ops[] = {
	{ "RUNT-PLAN", PARENT, "s", NULL, NULL },
	{ "END", BOTH, "", NULL, NULL },
	/* parent */
	{ "MODE", PARENT, "m", NULL, op_mode },
	{ "CONSOLE_RELAY", PARENT, "", NULL, op_console_relay },
	{ "CONSOLE_CONNECT", PARENT, "s", NULL, op_console_connect },
	{ "SECCOMP_LISTENER", PARENT, "s", NULL, op_seccomp_listener },
	{ "OPEN_FIFO", PARENT | HOST_FDS, "s", NULL, op_open_fifo },
	{ "CGROUP_TASKS", PARENT, "s", NULL, op_cgroup_tasks },
	{ "CGROUP_INTO", PARENT, "s", NULL, op_cgroup_into },
	{ "SETNS", PARENT, "su", NULL, op_setns },
	{ "JOIN", PARENT | HOST_FDS, NULL, check_join, op_join },
	{ "UNSHARE", BOTH, "u", NULL, op_unshare },
	{ "WRITE_PROC", BOTH | HOST_FDS, "ss", check_write_proc, op_write_proc },
	{ "DUMPABLE", BOTH, "b", NULL, op_dumpable },
	{ "NETDEV", PARENT | HOST_FDS, "ss", check_netdev, op_netdev },
	{ "IDMAP_TREE", PARENT | HOST_FDS, "sbbss", NULL, op_idmap_tree },
	{ "CLONE", PARENT, "u", NULL, op_clone },
	/* child */
	{ "CGROUP_JOIN", CHILD, "", NULL, op_cgroup_join },
	{ "WAIT", CHILD, "", NULL, op_wait },
	{ "SEND", CHILD, "w", NULL, op_send },
	{ "SETSID", CHILD, "", NULL, op_setsid },
	{ "SETHOSTNAME", CHILD, "s", NULL, op_sethostname },
	{ "SETDOMAINNAME", CHILD, "s", NULL, op_setdomainname },
	{ "MOUNT_PATH", CHILD | HOST_FDS, "sssus", NULL, op_mount_path },
	{ "ROOTFS", CHILD | HOST_FDS, "s", NULL, op_rootfs },
	{ "MOUNT", CHILD | HOST_FDS, "sssuscs?", check_mount, op_mount },
	{ "REMOUNT", CHILD | HOST_FDS, "su", NULL, op_remount },
	{ "BIND", CHILD | HOST_FDS, "sscbUUUUis", check_bind, op_bind },
	{ "PROPAGATE_PARENT", CHILD | HOST_FDS, "su", NULL, op_propagate_parent },
	{ "MKNOD", CHILD | HOST_FDS, "suuuii", NULL, op_mknod },
	{ "SYMLINK", CHILD | HOST_FDS, "ss", NULL, op_symlink },
	{ "PIVOT", CHILD | HOST_FDS, "", NULL, op_pivot },
	{ "CHROOT", CHILD | HOST_FDS, "b?", NULL, op_chroot },
	{ "MASK", CHILD | HOST_FDS, "s", NULL, op_mask },
	{ "READONLY", CHILD | HOST_FDS, "s", NULL, op_readonly },
	{ "REOPEN_DEVNULL", CHILD | HOST_FDS, "", NULL, op_reopen_devnull },
	{ "TERMINAL", CHILD | HOST_FDS, "uub?", NULL, op_terminal },
	{ "SETRLIMIT", CHILD, "urr", NULL, op_setrlimit },
	{ "UMASK", CHILD, "u", NULL, op_umask },
	{ "NO_NEW_PRIVS", CHILD, "", NULL, op_no_new_privs },
	{ "BOUNDING_DROP", CHILD, "u*", NULL, op_bounding_drop },
	{ "KEEPCAPS", CHILD, "b", NULL, op_keepcaps },
	{ "SETGROUPS", CHILD, "u*", NULL, op_setgroups },
	{ "SETRESGID", CHILD, "u", NULL, op_setresgid },
	{ "SETRESUID", CHILD, "u", NULL, op_setresuid },
	{ "CAPSET", CHILD, "UUU", NULL, op_capset },
	{ "AMBIENT_RAISE", CHILD, "u*", NULL, op_ambient_raise },
	{ "JOIN_KEYRING", CHILD, "wu", NULL, op_join_keyring },
	{ "SECCOMP_INIT", CHILD, "uu", NULL, op_seccomp_init },
	{ "SECCOMP_ARCH", CHILD, "u", NULL, op_seccomp_arch },
	{ "SECCOMP_RULE", CHILD, "uwU*", check_seccomp_rule, op_seccomp_rule },
	{ "SECCOMP_LOAD", CHILD | AFTER_CLOSE, "us?", check_seccomp_load, op_seccomp_load },
	{ "PERSONALITY", CHILD, "u", NULL, op_personality },
	{ "SCHED_SETATTR", CHILD, "uUsuUUU", check_sched_setattr, op_sched_setattr },
	{ "IOPRIO_SET", CHILD, "u", NULL, op_ioprio_set },
	{ "SET_AFFINITY", BOTH, "UU*", NULL, op_set_affinity },
	{ "SET_MEMPOLICY", CHILD, "uU*", NULL, op_set_mempolicy },
	{ "CHDIR", CHILD | AFTER_CLOSE, "s", NULL, op_chdir },
	{ "FIND_EXEC", CHILD | AFTER_CLOSE, "ss", NULL, op_find_exec },
	{ "PASSWD_HOME", CHILD | AFTER_CLOSE, "us", NULL, op_passwd_home },
	{ "HOOK", CHILD, NULL, check_hook, op_hook },
	{ "CLOSE_FDS", CHILD, "u", NULL, op_close_fds },
	{ "WAIT_FIFO", CHILD, "", NULL, op_wait_fifo },
	{ "EXEC", CHILD | AFTER_CLOSE, NULL, check_exec, op_exec },
};

const struct opdef *op_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

/* ---- numbers -------------------------------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

uint64_t num_u64(const char *s)
{
	uint64_t v = 0;
	parse_u64(s, &v);
	return v;
}

uint32_t num_u32(const char *s)
{
	return (uint32_t)num_u64(s);
}

int64_t num_i64(const char *s)
{
	return strcmp(s, "-1") == 0 ? -1 : (int64_t)num_u64(s);
}

static bool field_ok(char type, const char *s)
{
	uint64_t v;
	switch (type) {
	case 's': return true;
	case 'w': return *s && !strchr(s, '\n');
	case 'u': return parse_u64(s, &v) && v <= UINT32_MAX;
	case 'U': return parse_u64(s, &v);
	case 'b': return strcmp(s, "0") == 0 || strcmp(s, "1") == 0;
	case 'i': return strcmp(s, "-1") == 0 || (parse_u64(s, &v) && v <= UINT32_MAX);
	case 'r': return strcmp(s, "-1") == 0 || parse_u64(s, &v);
	case 'm': return strcmp(s, "detach") == 0 || strcmp(s, "wait") == 0;
	case 'c': return strcmp(s, "dir") == 0 || strcmp(s, "file") == 0 || strcmp(s, "none") == 0;
	}
	return false;
}

static const char *type_name(char type)
{
	switch (type) {
	case 'w': return "a word without newline";
	case 'u': return "a decimal number below 2^32";
	case 'U': return "a decimal number below 2^64";
	case 'b': return "0 or 1";
	case 'i': return "-1 or a decimal number below 2^32";
	case 'r': return "-1 or a decimal number below 2^64";
	case 'm': return "detach or wait";
	case 'c': return "dir, file or none";
	}
	return "a string";
}

/* Checks r against its op's field types; NULL or an error text in a static buffer. */
static const char *check_fields(const struct rec *r)
{
	static char msg[256];
	const char *t = r->op->types;
	size_t nt = strlen(t);
	bool star = nt && t[nt - 1] == '*', opt = nt && t[nt - 1] == '?';
	size_t fixed = (star || opt) ? nt - 1 : nt;
	uint32_t have = r->n - 1;
	size_t min = (star || opt) ? fixed - 1 : fixed;
	if (have < min || (!star && have > fixed)) {
		if (star)
			snprintf(msg, sizeof msg, "%s: %u fields, expected at least %zu", r->f[0], have, min);
		else if (opt)
			snprintf(msg, sizeof msg, "%s: %u fields, expected %zu or %zu", r->f[0], have, min, fixed);
		else
			snprintf(msg, sizeof msg, "%s: %u fields, expected %zu", r->f[0], have, fixed);
		return msg;
	}
	for (uint32_t i = 0; i < have; i++) {
		char type = i < fixed ? t[i] : t[fixed - 1];
		if (!field_ok(type, r->f[i + 1])) {
			snprintf(msg, sizeof msg, "%s: field %u must be %s", r->f[0], i + 1, type_name(type));
			return msg;
		}
	}
	return NULL;
}

/* The op's segment and its place relative to CLOSE_FDS (see the table); NULL or an error text. */
static const char *check_place(const struct rec *r, bool parent)
{
	static char msg[160];
	static bool closed; /* a CLOSE_FDS record was read (in the child's segment, so after the parent's) */
	unsigned where = r->op->where;
	if (!(where & (parent ? PARENT : CHILD))) {
		snprintf(msg, sizeof msg, "%s is a step of the %s's segment, not the %s's", r->f[0],
			 parent ? "child" : "parent", parent ? "parent" : "child");
		return msg;
	}
	if ((where & HOST_FDS) && closed) {
		snprintf(msg, sizeof msg, "%s after CLOSE_FDS (it needs an fd of the shim's that CLOSE_FDS closed)",
			 r->f[0]);
		return msg;
	}
	if ((where & AFTER_CLOSE) && !closed) {
		snprintf(msg, sizeof msg, "%s before CLOSE_FDS (only a process without the shim's own fds may take it)",
			 r->f[0]);
		return msg;
	}
	if (strcmp(r->f[0], "CLOSE_FDS") == 0)
		closed = true;
	return NULL;
}

/* ---- the socket reader ---------------------------------------------------------------------------------- */

static struct {
	unsigned char buf[65536];
	size_t pos, len;
} rd;
static uint64_t total_read;
static bool in_second; /* reading the child's segment: EOF means the runtime gave up */

int sock_read_exact(void *dst, size_t n)
{
	unsigned char *out = dst;
	while (n > 0) {
		if (rd.pos < rd.len) {
			size_t k = rd.len - rd.pos < n ? rd.len - rd.pos : n;
			memcpy(out, rd.buf + rd.pos, k);
			rd.pos += k;
			out += k;
			n -= k;
			continue;
		}
		ssize_t got;
		/* Large fields go straight to their buffer; small reads are buffered. */
		if (n >= sizeof rd.buf)
			got = read(g_sock, out, n);
		else
			got = read(g_sock, rd.buf, sizeof rd.buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0) {
			errno = 0;
			return -1;
		}
		if (n >= sizeof rd.buf) {
			out += got;
			n -= (size_t)got;
		} else {
			rd.pos = 0;
			rd.len = (size_t)got;
		}
	}
	return 0;
}

static void read_or_die(void *dst, size_t n, uint32_t index)
{
	if (n > MAX_TOTAL || total_read + n > MAX_TOTAL)
		die_plan(EINVAL, "malformed plan: record %u: the plan is larger than 16 MiB", index);
	total_read += n;
	if (sock_read_exact(dst, n) < 0) {
		if (errno == 0 && in_second)
			_exit(1);
		if (errno == 0)
			die_plan(EINVAL, "malformed plan: record %u: unexpected end of input (no END record)", index);
		die_plan(errno, "read plan: record %u: %s", index, strerror(errno));
	}
}

static uint32_t read_u32(uint32_t index)
{
	unsigned char b[4];
	read_or_die(b, 4, index);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void plan_read_segment(bool header)
{
	static uint32_t cap;
	bool first = header, after_clone = false;
	in_second = !header;
	for (;;) {
		uint32_t index = g_nrecs;
		if (g_nrecs >= MAX_RECORDS)
			die_plan(EINVAL, "malformed plan: more than %u records", MAX_RECORDS);
		if (g_nrecs == cap) {
			cap = cap ? cap * 2 : 64;
			g_recs = realloc(g_recs, cap * sizeof *g_recs);
			if (!g_recs)
				die_plan(ENOMEM, "read plan: out of memory");
		}
		struct rec *r = &g_recs[g_nrecs];
		memset(r, 0, sizeof *r);
		r->n = read_u32(index);
		if (r->n == 0 || r->n > MAX_FIELDS)
			die_plan(EINVAL, "malformed plan: record %u: %u fields (1 to %u allowed)", index, r->n,
				 MAX_FIELDS);
		r->f = calloc(r->n + 1, sizeof *r->f);
		r->len = calloc(r->n, sizeof *r->len);
		if (!r->f || !r->len)
			die_plan(ENOMEM, "read plan: out of memory");
		for (uint32_t i = 0; i < r->n; i++) {
			uint32_t len = read_u32(index);
			if (len > MAX_FIELD)
				die_plan(EINVAL, "malformed plan: record %u: field %u is %u bytes (1 MiB allowed)",
					 index, i, len);
			r->f[i] = malloc((size_t)len + 1);
			if (!r->f[i])
				die_plan(ENOMEM, "read plan: out of memory");
			read_or_die(r->f[i], len, index);
			r->f[i][len] = '\0';
			r->len[i] = len;
			if (memchr(r->f[i], '\0', len))
				die_plan(EINVAL, "malformed plan: record %u: field %u contains a NUL byte", index, i);
		}
		g_nrecs++;

		r->op = op_lookup(r->f[0]);
		if (!r->op)
			die_plan(EINVAL, "malformed plan: record %u: unknown op \"%.64s\"", index, r->f[0]);
		if (first) {
			if (strcmp(r->f[0], "RUNT-PLAN") != 0)
				die_plan(EINVAL, "malformed plan: record 0 is %.64s, not RUNT-PLAN", r->f[0]);
			if (r->n != 2 || strcmp(r->f[1], "3") != 0)
				die_plan(0, "unsupported plan version");
			first = false;
			continue;
		}
		if (strcmp(r->f[0], "RUNT-PLAN") == 0)
			die_plan(EINVAL, "malformed plan: record %u: RUNT-PLAN must be the first record only", index);
		const char *bad = r->op->types ? check_fields(r) : NULL;
		if (!bad && r->op->check)
			bad = r->op->check(r);
		if (!bad)
			bad = check_place(r, header);
		if (bad)
			die_plan(EINVAL, "malformed plan: record %u: %s", index, bad);
		bool end = strcmp(r->f[0], "END") == 0;
		if (after_clone && !end)
			die_plan(EINVAL, "malformed plan: record %u: CLONE must be the last step of its segment",
				 index);
		if (end)
			return;
		after_clone = strcmp(r->f[0], "CLONE") == 0;
	}
}
