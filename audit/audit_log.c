/*
 * audit_log.c - read the audit logs with libauparse and turn keyward's
 * records and the kernel's keyctl records into accesses of named secrets
 * (keyward audit). Two passes over the logs: the first learns which serial
 * carried which secret (keyward-deliver, keyward-update) and which reads
 * keyward itself recorded (keyward-read); the second reports, streaming.
 */
#include "config.h"

#include <auparse.h>
#include <ctype.h>
#include <errno.h>
#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_log.h"
#include "kw_util.h"

#define JOIN_SLACK 5		/* seconds: records of one access */

/* A serial that carried a secret from time t on. */
struct delivery {
	int32_t serial;
	long long ms;		/* time in milliseconds */
	uint32_t version;
	char secret[KW_ACCESS_STR];
};

/* A keyward-read record, to merge with the kernel's record of it. */
struct kwread {
	long pid;
	int32_t serial;
	time_t time;
	bool matched;
	unsigned long event;
};

struct scan {
	const struct kw_audit_query *q;
	struct delivery *dl;
	size_t ndl, capdl;
	struct kwread *kr;
	size_t nkr, capkr;
	int keyctl_nr64, keyctl_nr32;
};

/*
 * Copy the raw value of field name from an audit record's text into out:
 * the first "name=" at a token start (start, blank or quote); a value in
 * double quotes is kept with its quotes. Returns true when found.
 */
static bool
field(const char *text, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name), n;
	const char *p = text, *v, *end;

	memset(out, 0, size);
	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == ' ' || p[-1] == '\'') &&
		    p[nl] == '=') {
			v = p + nl + 1;
			if (*v == '"') {
				end = strchr(v + 1, '"');
				end = end != NULL ? end + 1 : v + strlen(v);
			} else {
				end = v + strcspn(v, " '\n");
			}
			n = (size_t)(end - v);
			if (n >= size)
				n = size - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		p += nl;
	}
	return false;
}

/* Decode a "quoted" or hex-encoded audit value. */
void
kw_audit_decode_value(const char *v, char *out, size_t size)
{
	size_t len = strlen(v), i, o = 0;
	unsigned hi, lo;
	bool hex = len > 0 && len % 2 == 0;
	char c;

	if (size == 0)
		return;
	if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
		for (i = 1; i + 1 < len && o + 1 < size; i++) {
			c = v[i];
			out[o++] = isprint((unsigned char)c) ? c : '?';
		}
		out[o] = '\0';
		return;
	}
	for (i = 0; i < len && hex; i++)
		if (!isxdigit((unsigned char)v[i]) ||
		    islower((unsigned char)v[i]))
			hex = false;
	if (hex) {
		for (i = 0; i + 1 < len && o + 1 < size; i += 2) {
			hi = (unsigned)(isdigit((unsigned char)v[i]) ? v[i] - '0' :
			    v[i] - 'A' + 10);
			lo = (unsigned)(isdigit((unsigned char)v[i + 1]) ?
			    v[i + 1] - '0' : v[i + 1] - 'A' + 10);
			c = (char)(hi << 4 | lo);
			out[o++] = isprint((unsigned char)c) ? c : '?';
		}
		out[o] = '\0';
		return;
	}
	for (i = 0; i < len && o + 1 < size; i++)
		out[o++] = isprint((unsigned char)v[i]) ? v[i] : '?';
	out[o] = '\0';
}

/* Parse a decimal or (base 16) hex field into *out; false if absent/bad. */
static bool
num_field(const char *text, const char *name, int base, long long *out)
{
	char buf[32], *end;
	long long v;

	*out = -1;
	if (!field(text, name, buf, sizeof(buf)) || buf[0] == '\0')
		return false;
	errno = 0;
	v = strtoll(buf, &end, base);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* Append to a growing array of elements of size sz. */
static int
grow(void **arr, size_t *n, size_t *cap, size_t sz, struct kw_error *e)
{
	void *p;
	size_t nc;

	if (*n < *cap)
		return 0;
	nc = *cap == 0 ? 64 : *cap * 2;
	if ((p = realloc(*arr, nc * sz)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	*arr = p;
	*cap = nc;
	return 0;
}

/*
 * The delivery that carried serial at ms: the latest one at or before ms,
 * else (the kernel's setperm precedes the delivery record) the earliest
 * one within JOIN_SLACK after it. NULL when none.
 */
static const struct delivery *
find_delivery(const struct scan *s, int32_t serial, long long ms)
{
	const struct delivery *before = NULL, *after = NULL, *d;
	size_t i;

	for (i = 0; i < s->ndl; i++) {
		d = &s->dl[i];
		if (d->serial != serial)
			continue;
		if (d->ms <= ms) {
			if (before == NULL || d->ms >= before->ms)
				before = d;
		} else if (d->ms <= ms + JOIN_SLACK * 1000LL) {
			if (after == NULL || d->ms < after->ms)
				after = d;
		}
	}
	return before != NULL ? before : after;
}

/* Milliseconds of an access's time. */
static long long
acc_ms(const struct kw_access *a)
{
	return (long long)a->time * 1000 + a->milli;
}

/* Open the logs (or the file) for one pass. */
static int
open_source(const struct kw_audit_query *q, auparse_state_t **au,
    struct kw_error *e)
{
	errno = 0;
	*au = q->input != NULL ? auparse_init(AUSOURCE_FILE, q->input) :
	    auparse_init(AUSOURCE_LOGS, NULL);
	if (*au == NULL)
		return kw_fail_errno(e, KW_ESYSTEM, errno != 0 ? errno : EIO,
		    "%s: cannot open the audit logs", q->input != NULL ?
		    q->input : "system audit logs");
	return 0;
}

/* Name of a kernel keyctl operation (a0), NULL for those not reported. */
static const char *
keyctl_op(long long a0)
{
	switch (a0) {
	case 11: return "read";
	case 2:  return "update";
	case 3:  return "revoke";
	case 4:  return "chown";
	case 5:  return "setperm";
	case 8:  return "link";
	case 9:  return "unlink";
	case 15: return "set-timeout";
	case 21: return "invalidate";
	}
	return NULL;
}

/* Pass 1 on one keyward record: learn deliveries and keyward-reads. */
static int
learn_user(struct scan *s, const char *text, time_t t, unsigned milli,
    unsigned long ev, struct kw_error *e)
{
	char op[32], raw[KW_ACCESS_STR * 2 + 3], res[16];
	long long serial, version, pid;
	struct delivery *d;
	struct kwread *k;
	int rc;

	if (!field(text, "op", op, sizeof(op)))
		return 0;
	field(text, "res", res, sizeof(res));
	num_field(text, "kw_serial", 10, &serial);
	if (serial <= 0 || serial > INT32_MAX)
		return 0;
	if ((strcmp(op, "keyward-deliver") == 0 ||
	    strcmp(op, "keyward-update") == 0) && strcmp(res, "success") == 0) {
		if ((rc = grow((void **)&s->dl, &s->ndl, &s->capdl,
		    sizeof(*s->dl), e)) != 0)
			return rc;
		d = &s->dl[s->ndl++];
		memset(d, 0, sizeof(*d));
		d->serial = (int32_t)serial;
		d->ms = (long long)t * 1000 + milli;
		num_field(text, "kw_version", 10, &version);
		d->version = version > 0 && version <= UINT32_MAX ?
		    (uint32_t)version : 0;
		field(text, "kw_secret", raw, sizeof(raw));
		kw_audit_decode_value(raw, d->secret, sizeof(d->secret));
	} else if (strcmp(op, "keyward-read") == 0) {
		if ((rc = grow((void **)&s->kr, &s->nkr, &s->capkr,
		    sizeof(*s->kr), e)) != 0)
			return rc;
		k = &s->kr[s->nkr++];
		memset(k, 0, sizeof(*k));
		num_field(text, "pid", 10, &pid);
		k->pid = (long)pid;
		k->serial = (int32_t)serial;
		k->time = t;
		k->event = ev;
	}
	return 0;
}

/* True when acc passes the query's time, user and secret filters. */
static bool
selected(const struct kw_audit_query *q, const struct kw_access *acc)
{
	if (q->since != 0 && acc->time < q->since)
		return false;
	if (q->until != 0 && acc->time > q->until)
		return false;
	if (q->secret != NULL && strcmp(q->secret, acc->secret) != 0)
		return false;
	if (q->has_user && !(acc->uid == (long long)q->user_uid ||
	    acc->auid == (long long)q->user_uid ||
	    (q->user_name != NULL && strcmp(q->user_name, acc->acct) == 0)))
		return false;
	return true;
}

/* Fill the fields both kinds of record share. */
static void
common_fields(const char *text, struct kw_access *acc)
{
	char raw[KW_ACCESS_STR * 4 + 3];
	long long v;

	num_field(text, "pid", 10, &v);
	acc->pid = (long)v;
	num_field(text, "uid", 10, &acc->uid);
	num_field(text, "auid", 10, &acc->auid);
	if (acc->auid == 4294967295LL)
		acc->auid = -1;
	if (field(text, "exe", raw, sizeof(raw)))
		kw_audit_decode_value(raw, acc->exe, sizeof(acc->exe));
}

/* Pass 2 on a keyward record. Returns 1 to report acc, 0 to skip. */
static int
report_user(struct scan *s, const char *text, struct kw_access *acc)
{
	char op[32], raw[KW_ACCESS_STR * 2 + 3], res[16];
	const struct delivery *d;
	long long v;
	size_t i;

	if (!field(text, "op", op, sizeof(op)) ||
	    strncmp(op, "keyward-", 8) != 0)
		return 0;
	snprintf(acc->op, sizeof(acc->op), "%s", op + 8);
	snprintf(acc->source, sizeof(acc->source), "keyward");
	common_fields(text, acc);
	if (field(text, "kw_secret", raw, sizeof(raw)))
		kw_audit_decode_value(raw, acc->secret, sizeof(acc->secret));
	if (field(text, "acct", raw, sizeof(raw)))
		kw_audit_decode_value(raw, acc->acct, sizeof(acc->acct));
	num_field(text, "kw_version", 10, &v);
	acc->version = v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
	num_field(text, "kw_serial", 10, &v);
	acc->serial = v > 0 && v <= INT32_MAX ? (int32_t)v : 0;
	field(text, "res", res, sizeof(res));
	acc->success = strcmp(res, "success") == 0;
	acc->refused = !acc->success || strcmp(acc->op, "deny") == 0;
	if (strcmp(acc->op, "read") == 0) {
		/* the kernel's record of this read was reported already */
		for (i = 0; i < s->nkr; i++)
			if (s->kr[i].event == acc->event && s->kr[i].matched)
				return 0;
		d = acc->serial != 0 ? find_delivery(s, acc->serial,
		    acc_ms(acc)) : NULL;
		acc->no_delivery = acc->success && d == NULL;
		if (d != NULL && acc->version == 0)
			acc->version = d->version;
	}
	return 1;
}

/* Pass 2 on a kernel SYSCALL record. Returns 1 to report acc, 0 to skip. */
static int
report_kernel(struct scan *s, const char *text, struct kw_access *acc)
{
	char key[64], ok[8];
	long long arch, nr, a0, a1, a2, a3;
	const struct delivery *d;
	const char *op;
	int machine;
	size_t i;

	if (!field(text, "key", key, sizeof(key)) ||
	    strstr(key, "keyward") == NULL)
		return 0;
	if (!num_field(text, "arch", 16, &arch) ||
	    !num_field(text, "syscall", 10, &nr))
		return 0;
	machine = audit_elf_to_machine((unsigned)arch);
	if (machine < 0 || audit_syscall_to_name((int)nr, machine) == NULL ||
	    strcmp(audit_syscall_to_name((int)nr, machine), "keyctl") != 0)
		return 0;	/* add_key, request_key: no serial yet */
	num_field(text, "a0", 16, &a0);
	num_field(text, "a1", 16, &a1);
	num_field(text, "a2", 16, &a2);
	num_field(text, "a3", 16, &a3);
	if ((op = keyctl_op(a0)) == NULL || a1 <= 0 || a1 > INT32_MAX)
		return 0;
	/*
	 * keyctl_read_alloc's size probe (NULL buffer) reads nothing: a
	 * successful probe is not a read (the read that follows is). A
	 * refused probe is the only trace of a refused read: keep it.
	 */
	field(text, "success", ok, sizeof(ok));
	if (a0 == 11 && (a2 == 0 || a3 == 0) && strcmp(ok, "yes") == 0)
		return 0;
	acc->serial = (int32_t)a1;
	d = find_delivery(s, acc->serial, acc_ms(acc));
	if (d == NULL && a0 != 11)
		return 0;	/* not a keyward key as far as we know */
	snprintf(acc->op, sizeof(acc->op), "%s", op);
	snprintf(acc->source, sizeof(acc->source), "kernel");
	common_fields(text, acc);
	acc->success = strcmp(ok, "yes") == 0;
	acc->refused = !acc->success;
	if (d != NULL) {
		snprintf(acc->secret, sizeof(acc->secret), "%s", d->secret);
		acc->version = d->version;
	} else {
		acc->no_delivery = true;
	}
	if (a0 == 11) {
		for (i = 0; i < s->nkr; i++) {
			if (s->kr[i].matched || s->kr[i].pid != acc->pid ||
			    s->kr[i].serial != acc->serial ||
			    s->kr[i].time < acc->time ||
			    s->kr[i].time > acc->time + JOIN_SLACK)
				continue;
			s->kr[i].matched = true;
			snprintf(acc->source, sizeof(acc->source),
			    "kernel+keyward");
			break;
		}
	}
	return 1;
}

/* One pass over the logs; pass 1 learns, pass 2 reports. */
static int
pass(struct scan *s, int which, int (*fn)(const struct kw_access *, void *),
    void *arg, struct kw_error *e)
{
	auparse_state_t *au = NULL;
	struct kw_access acc;
	const char *text;
	time_t t;
	int type, rc, r;

	if ((rc = open_source(s->q, &au, e)) != 0)
		return rc;
	rc = 0;
	while ((r = auparse_next_event(au)) > 0) {
		t = auparse_get_time(au);
		if (auparse_first_record(au) <= 0)
			continue;
		do {
			type = auparse_get_type(au);
			if (type != AUDIT_SYSCALL &&
			    type != AUDIT_CRYPTO_KEY_USER &&
			    type != AUDIT_USER_ACCT)
				continue;
			if ((text = auparse_get_record_text(au)) == NULL)
				continue;
			if (type != AUDIT_SYSCALL && strstr(text,
			    "op=keyward-") == NULL)
				continue;
			if (which == 1) {
				if (type != AUDIT_SYSCALL && (rc = learn_user(
				    s, text, t, auparse_get_milli(au),
				    auparse_get_serial(au), e)) != 0)
					goto out;
				continue;
			}
			memset(&acc, 0, sizeof(acc));
			acc.time = t;
			acc.milli = auparse_get_milli(au);
			acc.event = auparse_get_serial(au);
			acc.uid = acc.auid = -1;
			r = type == AUDIT_SYSCALL ? report_kernel(s, text, &acc) :
			    report_user(s, text, &acc);
			if (r == 1 && selected(s->q, &acc) &&
			    (rc = fn(&acc, arg)) != 0)
				goto out;
		} while (auparse_next_record(au) > 0);
	}
	if (r < 0)
		rc = kw_fail_errno(e, KW_ESYSTEM, errno != 0 ? errno : EIO,
		    "%s: cannot parse the audit log", s->q->input != NULL ?
		    s->q->input : "system audit logs");
out:
	auparse_destroy(au);
	return rc;
}

/* Read the logs and report every access. */
int
kw_audit_log_scan(const struct kw_audit_query *q,
    int (*fn)(const struct kw_access *acc, void *arg), void *arg,
    struct kw_error *e)
{
	struct scan s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.q = q;
	if ((rc = pass(&s, 1, fn, arg, e)) != 0)
		goto out;
	rc = pass(&s, 2, fn, arg, e);
out:
	free(s.dl);
	free(s.kr);
	return rc;
}

/* Midnight (local) of the day holding t, moved by days. */
static time_t
midnight(time_t t, int days)
{
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* Parse --since/--until. */
int
kw_audit_time_parse(const char *s, time_t now, time_t *out,
    struct kw_error *e)
{
	struct tm tm;
	char *buf = NULL, *end;
	size_t len;
	double up;

	*out = 0;
	if (strcmp(s, "now") == 0) {
		*out = now;
	} else if (strcmp(s, "recent") == 0) {
		*out = now - 600;
	} else if (strcmp(s, "today") == 0) {
		*out = midnight(now, 0);
	} else if (strcmp(s, "yesterday") == 0) {
		*out = midnight(now, -1);
	} else if (strcmp(s, "this-week") == 0) {
		localtime_r(&now, &tm);
		*out = midnight(now, -tm.tm_wday);
	} else if (strcmp(s, "week-ago") == 0) {
		*out = midnight(now, -7);
	} else if (strcmp(s, "this-month") == 0) {
		localtime_r(&now, &tm);
		*out = midnight(now, 1 - tm.tm_mday);
	} else if (strcmp(s, "this-year") == 0) {
		localtime_r(&now, &tm);
		*out = midnight(now, -tm.tm_yday);
	} else if (strcmp(s, "boot") == 0) {
		if (kw_read_file("/proc/uptime", 0, 128, &buf, &len, NULL) != 0)
			return kw_fail(e, KW_ESYSTEM, "/proc/uptime: cannot "
			    "read the boot time");
		errno = 0;
		up = strtod(buf, &end);
		kw_freezero(buf, len + 1);
		if (errno != 0 || up < 0)
			return kw_fail(e, KW_ESYSTEM, "/proc/uptime: bad value");
		*out = now - (time_t)up;
	} else {
		if (kw_parse_iso_time(s, out, e) != 0)
			return kw_fail(e, KW_EINVAL, "'%s': expected "
			    "YYYY-MM-DDTHH:MM:SS, YYYY-MM-DD or one of now, "
			    "recent, today, yesterday, this-week, week-ago, "
			    "this-month, this-year, boot", s);
	}
	return 0;
}
