/*
 * policy_int.h - the compiled form of a policy, shared by the parser
 * (policy.c), the evaluator (policy_eval.c), the time windows (timewin.c)
 * and the linter (policy_lint.c). Not installed, not used outside policy/.
 */
#ifndef KW_POLICY_INT_H
#define KW_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"

/* A comma list of a rule: items point into the rule's text. */
struct pol_list {
	char **items;
	size_t n;
	bool present;		/* the key was given */
};

/* One precompiled time window: [DAYS/]HH:MM-HH:MM. */
struct pol_window {
	uint8_t days;		/* bit per tm_wday (Su = bit 0) */
	uint16_t start;		/* minute of the day, 0..1439 */
	uint16_t end;		/* minute of the day, 1..1440; < start: the
				 * window crosses midnight */
};

enum pol_key {
	POL_USER = 0,
	POL_GROUP,
	POL_SERVICE,
	POL_TTY,
	POL_RHOST,
	POL_TIME,
	POL_EXE,
	POL_EXE_SHA256,
	POL_SECRETS,
	POL_TTL,
	POL_SCOPE,
	POL_NKEYS
};

struct pol_rule {
	bool deny;
	char *ref;			/* "file:line", then NUL and text */
	char *text;			/* a private copy of the logical line */
	char **slots;			/* one array for every list's items */
	struct pol_list list[POL_NKEYS];
	struct pol_window *windows;
	size_t n_windows;
	uint64_t ttl;			/* 0: not given (default_ttl) */
	enum kw_scope scope;
	bool has_matcher;		/* any of user..exe_sha256 given */
	bool needs_launcher;		/* exe= or exe_sha256= given */
};

struct kw_policy {
	struct pol_rule *rules;
	size_t n_rules;
	size_t cap_rules;
};

/* The name of a key ("user", "exe_sha256", ...). */
const char *pol_key_name(enum pol_key k);

/*
 * Parse one time window item into w. Errors have no location (the caller
 * prefixes file:line).
 */
int pol_window_parse(const char *s, struct pol_window *w, struct kw_error *e);

/*
 * Is the local time tm (from localtime_r of now) inside any of the windows?
 * When it is, *left is the number of seconds until the end of the latest
 * ending window that contains it.
 */
bool pol_windows_match(const struct pol_window *w, size_t n,
    const struct tm *tm, time_t now, uint64_t *left);

/* True when s contains a glob character ('*' or '?'). */
bool pol_has_glob(const char *s);

#endif /* KW_POLICY_INT_H */
