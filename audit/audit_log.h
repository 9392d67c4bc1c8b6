/*
 * audit_log.h - reading the audit logs for 'keyward audit': keyward's own
 * records and the kernel's keyctl SYSCALL records (key "keyward"), joined
 * by key serial to the deliveries that name the secret.
 */
#ifndef KW_AUDIT_LOG_H
#define KW_AUDIT_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "kw_error.h"

#define KW_ACCESS_STR 128

/* One access, as printed by 'keyward audit'. */
struct kw_access {
	time_t time;
	unsigned milli;
	unsigned long event;		/* audit event serial */
	char op[24];			/* read, deliver, update, revoke, ... */
	char source[16];		/* kernel, keyward, kernel+keyward */
	char secret[KW_ACCESS_STR];	/* "" when unknown */
	uint32_t version;		/* 0 = unknown */
	int32_t serial;			/* key serial, 0 = none */
	long long uid, auid;		/* -1 = unset/unknown */
	char acct[KW_ACCESS_STR];	/* target user of keyward records */
	long pid;
	char exe[KW_ACCESS_STR * 2];
	bool success;
	bool no_delivery;		/* a read matching no delivery */
	bool refused;			/* denied, failed or a keyward-deny */
};

/* What to select. */
struct kw_audit_query {
	const char *input;		/* a raw log file, NULL = system logs */
	time_t since, until;		/* 0 = unbounded */
	const char *secret;		/* NULL = all */
	bool has_user;
	uid_t user_uid;			/* match uid, auid */
	const char *user_name;		/* match acct */
};

/*
 * Read the logs and call fn for each access in time order, stopping at a
 * non-zero return. Kernel keyctl reads are joined to the latest delivery
 * (keyward-deliver / keyward-update) of the same serial; the size probe
 * of keyctl_read_alloc (a NULL buffer) is not a read; a keyward-read
 * record and the kernel read of the same process and serial are one
 * access. Returns 0 or a KW_E* code.
 */
int kw_audit_log_scan(const struct kw_audit_query *q,
    int (*fn)(const struct kw_access *acc, void *arg), void *arg,
    struct kw_error *e);

/*
 * Parse a time for --since/--until: "YYYY-MM-DDTHH:MM:SS" (local time;
 * a trailing Z means UTC), "YYYY-MM-DD", or one of ausearch's words: now,
 * recent (10 minutes ago), today, yesterday, this-week, week-ago,
 * this-month, this-year, boot. now is the current time.
 */
int kw_audit_time_parse(const char *s, time_t now, time_t *out,
    struct kw_error *e);

/*
 * Decode an audit field value: "quoted" text, or hex-encoded bytes
 * (audit_encode_nv_string), or a bare word. Non-printable bytes become
 * '?'. Always NUL-terminates out.
 */
void kw_audit_decode_value(const char *v, char *out, size_t size);

#endif /* KW_AUDIT_LOG_H */
