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

/* An op's `where`: its segment (PARENT: before CLONE; CHILD: after it; BOTH), and where it may stand relative to
 * the child's CLOSE_FDS: HOST_FDS ops need an fd CLOSE_FDS closes (the host /proc, the root, the private
 * procfs), so none may follow it; AFTER_CLOSE ops resolve what the image controls (cwd, the program) or load the
 * user's seccomp filter, so none may come before it (CVE-2024-21626; runt's own calls never go through the
 * user's filter). */
enum { PARENT = 1, CHILD = 2, BOTH = PARENT | CHILD, HOST_FDS = 4, AFTER_CLOSE = 8 };

struct opdef {
	const char *name;
	unsigned where;
	const char *fields;
	const char *(*check)(const struct rec *r); /* what the fields' types cannot say; an error text or NULL */
	op_fn fn;
};

/* The op table: the one place that states each op's fields and segment. Every record is checked against it
 * before the first step of its segment runs, so an op's function finds the fields stated here, of their types.
 *
 * `fields`, after the op name: one letter per field, its type:
 *   s a string        w a word (not empty, no newline)    f a file name (not empty, no '/')
 *   u decimal < 2^32  U decimal < 2^64                    n signed decimal of 32 bits
 *   b 0 or 1          i -1 or decimal < 2^32 (an id)      r -1 or decimal < 2^64 (an rlimit)
 *   m detach | wait   c dir | file | none (what to make where a path is missing)
 * A letter, or a group of them in parentheses, may be followed by how many times it comes: ? (0 or 1), *
 * (any), + (at least once), {m,n} (m to n), # (as many as the number in the field right before it says). At
 * most one item of a record may come ?, *, + or {m,n} times, and only single fields follow it. */
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
	{ "JOIN", PARENT | HOST_FDS, "uu(fu)+", NULL, op_join },
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
	{ "SECCOMP_RULE", CHILD, "uw(UUUU){0,6}", NULL, op_seccomp_rule },
	{ "SECCOMP_LOAD", CHILD | AFTER_CLOSE, "us?", check_seccomp_load, op_seccomp_load },
	{ "PERSONALITY", CHILD, "u", NULL, op_personality },
	{ "SCHED_SETATTR", CHILD, "uUnuUUU", NULL, op_sched_setattr },
	{ "IOPRIO_SET", CHILD, "u", NULL, op_ioprio_set },
	{ "SET_AFFINITY", BOTH, "U+", NULL, op_set_affinity },
	{ "SET_MEMPOLICY", CHILD, "uU*", NULL, op_set_mempolicy },
	{ "CHDIR", CHILD | AFTER_CLOSE, "s", NULL, op_chdir },
	{ "FIND_EXEC", CHILD | AFTER_CLOSE, "ss", NULL, op_find_exec },
	{ "PASSWD_HOME", CHILD | AFTER_CLOSE, "us", NULL, op_passwd_home },
	{ "HOOK", CHILD, "suus#s*s", NULL, op_hook },
	{ "CLOSE_FDS", CHILD, "u", NULL, op_close_fds },
	{ "WAIT_FIFO", CHILD, "", NULL, op_wait_fifo },
	{ "EXEC", CHILD | AFTER_CLOSE, "us#s*", NULL, op_exec },
};

static struct rec *recs;
static uint32_t nrecs;

const struct rec *plan_record(uint32_t index)
{
	return &recs[index];
}

static const struct opdef *op_lookup(const char *name)
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

/* A signed decimal of 32 bits: an optional '-', then digits. */
static bool parse_i32(const char *s, int32_t *out)
{
	bool neg = *s == '-';
	uint64_t v;
	if (!parse_u64(s + neg, &v) || v > (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX))
		return false;
	*out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
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

int32_t num_i32(const char *s)
{
	int32_t v = 0;
	parse_i32(s, &v);
	return v;
}

/* ---- fields, checked against the table ------------------------------------------------------------------ */

static bool field_ok(char type, const char *s)
{
	uint64_t v;
	int32_t i;
	switch (type) {
	case 's': return true;
	case 'w': return *s && !strchr(s, '\n');
	case 'f': return *s && !strchr(s, '/');
	case 'u': return parse_u64(s, &v) && v <= UINT32_MAX;
	case 'U': return parse_u64(s, &v);
	case 'n': return parse_i32(s, &i);
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
	case 'f': return "a file name (not empty, without '/')";
	case 'u': return "a decimal number below 2^32";
	case 'U': return "a decimal number below 2^64";
	case 'n': return "a signed 32-bit decimal number";
	case 'b': return "0 or 1";
	case 'i': return "-1 or a decimal number below 2^32";
	case 'r': return "-1 or a decimal number below 2^64";
	case 'm': return "detach or wait";
	case 'c': return "dir, file or none";
	}
	return "a string";
}

#define MANY UINT32_MAX

/* One item of a `fields` spec: a letter or a group of them, and how many times it comes. */
struct item {
	const char *types;
	uint32_t width;    /* letters in the group */
	uint32_t min, max; /* times it comes (max MANY: no limit) */
	bool counted;      /* '#': as many times as the field before it says */
};

static uint32_t spec_number(const char **p)
{
	uint32_t v = 0;
	for (; **p >= '0' && **p <= '9'; ++*p)
		v = v * 10 + (uint32_t)(**p - '0');
	return v;
}

/* The item at spec into *it; returns the spec after it. */
static const char *spec_item(const char *spec, struct item *it)
{
	*it = (struct item){ .types = spec, .width = 1, .min = 1, .max = 1 };
	const char *p = spec + 1;
	if (*spec == '(') {
		it->types = spec + 1;
		it->width = (uint32_t)strcspn(spec + 1, ")");
		p = spec + 1 + it->width + 1;
	}
	if (*p == '?' || *p == '*')
		it->min = 0;
	if (*p == '*' || *p == '+')
		it->max = MANY;
	it->counted = *p == '#';
	if (*p == '{') { /* {m,n} */
		p++;
		it->min = spec_number(&p);
		p++;
		it->max = spec_number(&p);
	}
	return *p && strchr("?*+#}", *p) ? p + 1 : p;
}

static bool variable(const struct item *it)
{
	return !it->counted && it->min != it->max;
}

/* "<op>: <n> fields, expected ...": the counts r's spec allows (a '#' item as many times as r says, where r has
 * that field). */
static const char *count_error(const struct rec *r, const char *spec)
{
	static char msg[256];
	uint32_t have = r->n - 1;
	uint64_t fixed = 0;
	bool open = false; /* a '#' item's count lies beyond r's fields: more may be needed */
	struct item var = { 0 };
	for (const char *p = spec; *p;) {
		struct item it;
		p = spec_item(p, &it);
		uint64_t times = 0;
		if (variable(&it))
			var = it;
		else if (!it.counted)
			times = it.min;
		else if (fixed < 1 || fixed > have ||
			 !parse_u64(r->f[fixed], &times)) /* field `fixed`: the one before */
			open = true;
		fixed += times * it.width;
	}
	int k = snprintf(msg, sizeof msg, "%s: %u fields, expected ", r->f[0], have);
	char *e = msg + k;
	size_t left = sizeof msg - (size_t)k;
	uint64_t least = fixed + (uint64_t)var.min * var.width;
	if (!var.width && !open)
		snprintf(e, left, "%llu", (unsigned long long)fixed);
	else if (!var.width || (var.width == 1 && var.max == MANY))
		snprintf(e, left, "at least %llu", (unsigned long long)least);
	else if (var.width == 1 && var.max == var.min + 1)
		snprintf(e, left, "%llu or %llu", (unsigned long long)least, (unsigned long long)least + 1);
	else if (var.max == MANY)
		snprintf(e, left, "%llu and groups of %u (at least %u)", (unsigned long long)fixed, var.width, var.min);
	else
		snprintf(e, left, "%llu and groups of %u (%u to %u)", (unsigned long long)fixed, var.width, var.min,
			 var.max);
	return msg;
}

/* Checks r against the spec of its op's fields; NULL or an error text in a static buffer. */
static const char *check_fields(const struct rec *r, const char *spec)
{
	static char msg[256];
	uint32_t have = r->n - 1, pos = 0; /* fields after the op name; those checked */
	for (const char *p = spec; *p;) {
		struct item it;
		p = spec_item(p, &it);
		uint64_t times = it.min;
		if (it.counted) {
			times = num_u64(r->f[pos]); /* the field before, checked to be a number */
		} else if (variable(&it)) {
			uint64_t tail = 0; /* the single fields after it */
			for (const char *q = p; *q;) {
				struct item rest;
				q = spec_item(q, &rest);
				tail += rest.width;
			}
			if (have < pos + tail || (have - pos - tail) % it.width)
				return count_error(r, spec);
			times = (have - pos - tail) / it.width;
			if (times < it.min || times > it.max)
				return count_error(r, spec);
		}
		if (pos + times * it.width > have)
			return count_error(r, spec);
		for (uint64_t i = 0; i < times * it.width; i++) {
			char type = it.types[i % it.width];
			if (!field_ok(type, r->f[++pos])) {
				snprintf(msg, sizeof msg, "%s: field %u must be %s", r->f[0], pos, type_name(type));
				return msg;
			}
		}
	}
	return pos == have ? NULL : count_error(r, spec);
}

/* The op's segment and its place relative to CLOSE_FDS (see the table); NULL or an error text. */
static const char *check_place(const struct rec *r, unsigned where, bool parent)
{
	static char msg[160];
	static bool closed; /* a CLOSE_FDS record was read (in the child's segment, so after the parent's) */
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

/* ---- reading a segment ---------------------------------------------------------------------------------- */

static uint64_t total_read;
static bool in_second; /* reading the child's segment: EOF means the runtime gave up */

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
		uint32_t index = nrecs;
		if (nrecs >= MAX_RECORDS)
			die_plan(EINVAL, "malformed plan: more than %u records", MAX_RECORDS);
		if (nrecs == cap) {
			cap = cap ? cap * 2 : 64;
			recs = realloc(recs, cap * sizeof *recs);
			if (!recs)
				die_plan(ENOMEM, "read plan: out of memory");
		}
		struct rec *r = &recs[nrecs];
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
		nrecs++;

		const struct opdef *op = op_lookup(r->f[0]);
		if (!op)
			die_plan(EINVAL, "malformed plan: record %u: unknown op \"%.64s\"", index, r->f[0]);
		r->fn = op->fn;
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
		const char *bad = check_fields(r, op->fields);
		if (!bad && op->check)
			bad = op->check(r);
		if (!bad)
			bad = check_place(r, op->where, header);
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
