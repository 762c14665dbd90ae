/* The plan as the shim holds it (plan.c): records read and checked against the op table before a step runs. */
#ifndef RUNT_SHIM_PLAN_H
#define RUNT_SHIM_PLAN_H

#include <stdbool.h>
#include <stdint.h>

struct rec;
/* What runs a step: its fields are those the op table states, checked. */
typedef void (*op_fn)(const struct rec *r);

struct rec {
	uint32_t n; /* number of fields, op name included */
	char **f;   /* f[0] is the op name; every field is NUL-terminated, and f[n] is NULL */
	uint32_t *len;
	op_fn fn; /* NULL for RUNT-PLAN and END, which run nothing */
};

/* Reads a segment from the socket up to its END and checks all of it. `header`: the first segment, whose first
 * record must be RUNT-PLAN with the protocol version (3); without it, the child's segment, where EOF is a silent
 * exit 1. Reports a malformed plan and exits on any other error. */
void plan_read_segment(bool header);
/* Record `index` of the plan read so far (0 is RUNT-PLAN): step `index`. */
const struct rec *plan_record(uint32_t index);

/* Numbers inside fields (validated when the plan was read). */
uint64_t num_u64(const char *s);
uint32_t num_u32(const char *s);
int64_t num_i64(const char *s); /* "-1" or an unsigned value */
int32_t num_i32(const char *s); /* a signed value */

#endif
