/*
 * registry.c - the live-delivery registry: one small text file per session
 * and per scope=user key under run_dir, written atomically under a flock.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_config.h"
#include "registry.h"

#define REG_FILE_MAX (1024 * 1024)

struct kw_registry {
	char dir[PATH_MAX];
	int lock_fd;
	struct kw_reg_mark *marks;	/* the journal, sorted; see journal_load */
	size_t n_marks;
	bool marks_loaded;
};

static int journal_apply(struct kw_registry *r, struct kw_reg_session *s,
    struct kw_error *e);

/* ---- small helpers --------------------------------------------------- */

/* A growing text buffer. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
	const char *toolong;	/* a field whose line the reader would refuse */
};

/* Append printf-style text to b (sets b->oom on failure). */
static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	size_t need;
	char *np;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 512;

		while (cap < need)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append "key <encoded value>\n": %XX for anything outside a safe set. */
static void
sb_field(struct sbuf *b, const char *key, const char *value)
{
	const unsigned char *v = (const unsigned char *)value;
	size_t start = b->len;

	sb_printf(b, "%s ", key);
	if (*v == '\0')
		sb_printf(b, "-");
	for (; *v != '\0'; v++) {
		if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		    (*v >= '0' && *v <= '9') || strchr("._/:@+=,-", *v) != NULL)
			sb_printf(b, "%c", *v);
		else
			sb_printf(b, "%%%02X", *v);
	}
	/* the reader takes lines of at most KW_LINE_MAX bytes */
	if (!b->oom && b->len - start > KW_LINE_MAX && b->toolong == NULL)
		b->toolong = key;
	sb_printf(b, "\n");
}

/* Decode a %XX value ("-" is empty) into out. */
static int
decode(const char *in, char *out, size_t size)
{
	size_t n = 0;
	unsigned hi, lo;

	if (strcmp(in, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	for (; *in != '\0'; in++) {
		char c = *in;

		if (c == '%') {
			if (!isxdigit((unsigned char)in[1]) ||
			    !isxdigit((unsigned char)in[2]))
				return -1;
			hi = (unsigned)(isdigit((unsigned char)in[1]) ?
			    in[1] - '0' : (tolower((unsigned char)in[1]) -
			    'a' + 10));
			lo = (unsigned)(isdigit((unsigned char)in[2]) ?
			    in[2] - '0' : (tolower((unsigned char)in[2]) -
			    'a' + 10));
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return -1;
			in += 2;
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Random session id. */
int
kw_session_id_new(kw_session_id id, struct kw_error *e)
{
	unsigned char raw[KW_SESSION_ID_LEN / 2];
	size_t i;
	int rc;

	if ((rc = kw_random(raw, sizeof(raw), e)) != 0)
		return rc;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	id[KW_SESSION_ID_LEN] = '\0';
	return 0;
}

/* Is s 16 lowercase hex? */
bool
kw_session_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != KW_SESSION_ID_LEN)
		return false;
	for (i = 0; i < KW_SESSION_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Start time of a process (field 22 of /proc/pid/stat). */
int
kw_proc_start_time(pid_t pid, uint64_t *start, struct kw_error *e)
{
	char path[64], buf[1024], *p, *tok, *save = NULL;
	ssize_t n;
	int fd, field;

	*start = 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return kw_fail(e, KW_ENOTFOUND, "no process %ld",
			    (long)pid);
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", path);
	}
	n = kw_read_all(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return kw_fail(e, KW_ENOTFOUND, "no process %ld", (long)pid);
	buf[n] = '\0';
	/* the command name (field 2) may hold blanks and ')': skip to the last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return kw_fail(e, KW_ECORRUPT, "%s: unexpected format", path);
	p++;
	field = 2;
	for (tok = strtok_r(p, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (++field == 22)
			return kw_parse_u64(tok, 0, UINT64_MAX, start, e);
	}
	return kw_fail(e, KW_ECORRUPT, "%s: unexpected format", path);
}

/* ---- open and lock --------------------------------------------------- */

/* Open the registry directory and take its lock. */
int
kw_registry_open(const char *run_dir, struct kw_registry **out,
    struct kw_error *e)
{
	struct kw_registry *r;
	char parent[PATH_MAX], lock[PATH_MAX], *slash;
	struct stat st;
	int rc;

	*out = NULL;
	if (run_dir == NULL || run_dir[0] != '/')
		return kw_fail(e, KW_EINVAL, "run_dir: not an absolute path");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	r->lock_fd = -1;
	if ((rc = kw_snprintf(r->dir, sizeof(r->dir), e, "%s", run_dir)) != 0 ||
	    (rc = kw_snprintf(parent, sizeof(parent), e, "%s", run_dir)) != 0 ||
	    (rc = kw_snprintf(lock, sizeof(lock), e, "%s/.lock", run_dir)) != 0)
		goto fail;
	if (lstat(r->dir, &st) < 0 && errno == ENOENT) {
		slash = strrchr(parent, '/');
		if (slash != NULL && slash != parent) {
			*slash = '\0';
			if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
				rc = kw_fail_errno(e, KW_ESYSTEM, errno,
				    "%s: mkdir", parent);
				goto fail;
			}
		}
	}
	if ((rc = kw_ensure_dir(r->dir, 0700, e)) != 0)
		goto fail;
	if (lstat(r->dir, &st) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s", r->dir);
		goto fail;
	}
	if ((st.st_mode & 077) != 0 && chmod(r->dir, 0700) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: chmod 0700",
		    r->dir);
		goto fail;
	}
	r->lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (r->lock_fd < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s", lock);
		goto fail;
	}
	while (flock(r->lock_fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: flock", lock);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	kw_registry_close(r);
	return rc;
}

/* Unlock and free. */
void
kw_registry_close(struct kw_registry *r)
{
	if (r == NULL)
		return;
	if (r->lock_fd >= 0)
		close(r->lock_fd);	/* releases the flock */
	free(r->marks);
	free(r);
}

/* ---- records ----------------------------------------------------------- */

/* Append a delivery. */
int
kw_reg_session_add_key(struct kw_reg_session *s, const struct kw_delivery *d,
    struct kw_error *e)
{
	struct kw_delivery *k;

	k = reallocarray(s->keys, s->n_keys + 1, sizeof(*k));
	if (k == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	s->keys = k;
	s->keys[s->n_keys++] = *d;
	return 0;
}

/* Add a holder once. */
int
kw_reg_userkey_hold(struct kw_reg_userkey *u, const char *id,
    struct kw_error *e)
{
	kw_session_id *h;
	size_t i;

	for (i = 0; i < u->n_holders; i++)
		if (strcmp(u->holders[i], id) == 0)
			return 0;
	h = reallocarray(u->holders, u->n_holders + 1, sizeof(*h));
	if (h == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	u->holders = h;
	snprintf(u->holders[u->n_holders++], sizeof(kw_session_id), "%s", id);
	return 0;
}

/* Drop a holder (if held). */
void
kw_reg_userkey_release(struct kw_reg_userkey *u, const char *id)
{
	size_t i;

	for (i = 0; i < u->n_holders; i++) {
		if (strcmp(u->holders[i], id) != 0)
			continue;
		memmove(&u->holders[i], &u->holders[i + 1],
		    (u->n_holders - i - 1) * sizeof(*u->holders));
		u->n_holders--;
		return;
	}
}

void
kw_reg_session_clear(struct kw_reg_session *s)
{
	if (s == NULL)
		return;
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

void
kw_reg_userkey_clear(struct kw_reg_userkey *u)
{
	if (u == NULL)
		return;
	free(u->holders);
	memset(u, 0, sizeof(*u));
}

void
kw_reg_sessions_free(struct kw_reg_session *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		kw_reg_session_clear(&s[i]);
	free(s);
}

void
kw_reg_userkeys_free(struct kw_reg_userkey *u, size_t n)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < n; i++)
		kw_reg_userkey_clear(&u[i]);
	free(u);
}

/* ---- serialization ------------------------------------------------------ */

static const char *
scope_name(enum kw_scope s)
{
	return s == KW_SCOPE_USER ? "user" : "session";
}

/* The file name of a session. */
static int
session_path(struct kw_registry *r, const struct kw_reg_session *s,
    char *buf, size_t size, struct kw_error *e)
{
	return kw_snprintf(buf, size, e, "%s/s.%s.%ld.%llu", r->dir, s->id,
	    (long)s->pid, (unsigned long long)s->start);
}

/* The file name of a user key. */
static int
userkey_path(struct kw_registry *r, uid_t uid, const char *secret, char *buf,
    size_t size, struct kw_error *e)
{
	if (kw_name_check(secret, e) != 0)
		return KW_EINVAL;
	return kw_snprintf(buf, size, e, "%s/u.%lu.%s", r->dir,
	    (unsigned long)uid, secret);
}

/* Write a session file. */
int
kw_registry_session_put(struct kw_registry *r, const struct kw_reg_session *s,
    struct kw_error *e)
{
	char path[PATH_MAX];
	struct sbuf b = { 0 };
	size_t i;
	int rc;

	if (!kw_session_id_valid(s->id))
		return kw_fail(e, KW_EINTERNAL, "registry: bad session id");
	if ((rc = session_path(r, s, path, sizeof(path), e)) != 0)
		return rc;
	sb_printf(&b, "keyward-session 1\nid %s\n", s->id);
	sb_field(&b, "user", s->user);
	sb_printf(&b, "uid %lu\npid %ld\nstart %llu\n", (unsigned long)s->uid,
	    (long)s->pid, (unsigned long long)s->start);
	sb_field(&b, "service", s->service);
	sb_field(&b, "tty", s->tty);
	sb_field(&b, "exe", s->exe);
	sb_printf(&b, "ring %ld\nopened %lld\n", (long)s->ring,
	    (long long)s->opened);
	for (i = 0; i < s->n_keys; i++)
		sb_printf(&b, "key %s %lu %ld %s %lld\n", s->keys[i].secret,
		    (unsigned long)s->keys[i].version, (long)s->keys[i].serial,
		    scope_name(s->keys[i].scope), (long long)s->keys[i].until);
	if (b.oom)
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
	else if (b.toolong != NULL)
		rc = kw_fail(e, KW_ETOOBIG, "registry: the session's %s is too "
		    "long to record", b.toolong);
	else
		rc = kw_atomic_write(path, b.p, b.len, 0600, KW_WRITE_NOSYNC, e);
	free(b.p);
	return rc;
}

/* Write a user key file. */
int
kw_registry_userkey_put(struct kw_registry *r, const struct kw_reg_userkey *u,
    struct kw_error *e)
{
	char path[PATH_MAX];
	struct sbuf b = { 0 };
	size_t i;
	int rc;

	if ((rc = userkey_path(r, u->uid, u->secret, path, sizeof(path), e)) !=
	    0)
		return rc;
	sb_printf(&b, "keyward-userkey 1\nsecret %s\nuid %lu\n", u->secret,
	    (unsigned long)u->uid);
	sb_field(&b, "user", u->user);
	sb_printf(&b, "version %lu\nserial %ld\nuntil %lld\n",
	    (unsigned long)u->version, (long)u->serial, (long long)u->until);
	for (i = 0; i < u->n_holders; i++)
		sb_printf(&b, "holder %s\n", u->holders[i]);
	if (b.oom)
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
	else
		rc = kw_atomic_write(path, b.p, b.len, 0600, KW_WRITE_NOSYNC, e);
	free(b.p);
	return rc;
}

struct parse_ctx {
	const char *path;
	bool header;
	struct kw_reg_session *s;
	struct kw_reg_userkey *u;
	struct kw_registry *r;		/* the journal's */
};

/* Split "key rest" in place; returns rest or NULL. */
static char *
split_word(char *line)
{
	char *sp = strchr(line, ' ');

	if (sp == NULL)
		return NULL;
	*sp++ = '\0';
	return sp;
}

/* Parse a number field. */
static int
num(const char *path, unsigned ln, const char *key, const char *v,
    uint64_t max, uint64_t *out, struct kw_error *e)
{
	if (kw_parse_u64(v, 0, max, out, e) != 0)
		return kw_fail(e, KW_ECORRUPT, "%s:%u: bad %s '%s'", path, ln,
		    key, v);
	return 0;
}

/* Parse a signed number field (serials, times). */
static int
snum(const char *path, unsigned ln, const char *key, const char *v,
    int64_t min, int64_t max, int64_t *out, struct kw_error *e)
{
	uint64_t u;
	bool neg = v[0] == '-';

	*out = 0;
	if (kw_parse_u64(v + (neg ? 1 : 0), 0, (uint64_t)INT64_MAX, &u, e) != 0)
		return kw_fail(e, KW_ECORRUPT, "%s:%u: bad %s '%s'", path, ln,
		    key, v);
	*out = neg ? -(int64_t)u : (int64_t)u;
	if (*out < min || *out > max)
		return kw_fail(e, KW_ECORRUPT, "%s:%u: %s out of range", path,
		    ln, key);
	return 0;
}

/* Parse "key <secret> <version> <serial> <scope> <until>". */
static int
parse_key(const char *path, unsigned ln, char *v, struct kw_delivery *d,
    struct kw_error *e)
{
	char *f[5];
	uint64_t u;
	int64_t s;
	int i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < 5; i++) {
		f[i] = v;
		if (i < 4 && (v = split_word(v)) == NULL)
			return kw_fail(e, KW_ECORRUPT,
			    "%s:%u: key line needs 5 fields", path, ln);
	}
	if (!kw_name_valid(f[0]))
		return kw_fail(e, KW_ECORRUPT, "%s:%u: bad secret name", path,
		    ln);
	snprintf(d->secret, sizeof(d->secret), "%s", f[0]);
	if (num(path, ln, "version", f[1], UINT32_MAX, &u, e) != 0)
		return KW_ECORRUPT;
	d->version = (uint32_t)u;
	if (snum(path, ln, "serial", f[2], 0, INT32_MAX, &s, e) != 0)
		return KW_ECORRUPT;
	d->serial = (int32_t)s;
	if (strcmp(f[3], "session") == 0)
		d->scope = KW_SCOPE_SESSION;
	else if (strcmp(f[3], "user") == 0)
		d->scope = KW_SCOPE_USER;
	else
		return kw_fail(e, KW_ECORRUPT, "%s:%u: bad scope", path, ln);
	return snum(path, ln, "until", f[4], INT64_MIN, INT64_MAX, &d->until,
	    e);
}

/*
 * The start of every registry line: the first must be the file's magic
 * line; the others are "key value" (*v set to the value). Returns 1 for
 * the header, 0 for a field, or KW_ECORRUPT naming path:line.
 */
static int
line_start(struct parse_ctx *c, char *line, unsigned ln, const char *magic,
    const char *what, char **v, struct kw_error *e)
{
	if (!c->header) {
		if (strcmp(line, magic) != 0)
			return kw_fail(e, KW_ECORRUPT,
			    "%s:%u: not a keyward %s file", c->path, ln, what);
		c->header = true;
		return 1;
	}
	if ((*v = split_word(line)) == NULL)
		return kw_fail(e, KW_ECORRUPT, "%s:%u: expected 'key value'",
		    c->path, ln);
	return 0;
}

/* One line of a session file. */
static int
session_line(char *line, unsigned ln, void *arg, struct kw_error *e)
{
	struct parse_ctx *c = arg;
	struct kw_reg_session *s = c->s;
	struct kw_delivery d;
	char *v;
	uint64_t u;
	int64_t n;
	int rc = 0;

	if ((rc = line_start(c, line, ln, "keyward-session 1", "session",
	    &v, e)) != 0)
		return rc > 0 ? 0 : rc;
	if (strcmp(line, "id") == 0) {
		if (!kw_session_id_valid(v))
			return kw_fail(e, KW_ECORRUPT, "%s:%u: bad id",
			    c->path, ln);
		memcpy(s->id, v, sizeof(s->id));
	} else if (strcmp(line, "user") == 0) {
		rc = decode(v, s->user, sizeof(s->user));
	} else if (strcmp(line, "service") == 0) {
		rc = decode(v, s->service, sizeof(s->service));
	} else if (strcmp(line, "tty") == 0) {
		rc = decode(v, s->tty, sizeof(s->tty));
	} else if (strcmp(line, "exe") == 0) {
		rc = decode(v, s->exe, sizeof(s->exe));
	} else if (strcmp(line, "uid") == 0) {
		if (num(c->path, ln, line, v, UINT32_MAX - 1, &u, e) != 0)
			return KW_ECORRUPT;
		s->uid = (uid_t)u;
	} else if (strcmp(line, "pid") == 0) {
		if (num(c->path, ln, line, v, INT32_MAX, &u, e) != 0)
			return KW_ECORRUPT;
		s->pid = (pid_t)u;
	} else if (strcmp(line, "start") == 0) {
		if (num(c->path, ln, line, v, UINT64_MAX, &s->start, e) != 0)
			return KW_ECORRUPT;
	} else if (strcmp(line, "ring") == 0) {
		if (snum(c->path, ln, line, v, 0, INT32_MAX, &n, e) != 0)
			return KW_ECORRUPT;
		s->ring = (int32_t)n;
	} else if (strcmp(line, "opened") == 0) {
		if (snum(c->path, ln, line, v, INT64_MIN, INT64_MAX,
		    &s->opened, e) != 0)
			return KW_ECORRUPT;
	} else if (strcmp(line, "key") == 0) {
		if (parse_key(c->path, ln, v, &d, e) != 0)
			return KW_ECORRUPT;
		return kw_reg_session_add_key(s, &d, e);
	} else {
		return kw_fail(e, KW_ECORRUPT, "%s:%u: unknown field '%s'",
		    c->path, ln, line);
	}
	if (rc != 0)
		return kw_fail(e, KW_ECORRUPT, "%s:%u: bad %s value", c->path,
		    ln, line);
	return 0;
}

/* One line of a user key file. */
static int
userkey_line(char *line, unsigned ln, void *arg, struct kw_error *e)
{
	struct parse_ctx *c = arg;
	struct kw_reg_userkey *u = c->u;
	char *v;
	uint64_t x;
	int64_t n;
	int rc;

	if ((rc = line_start(c, line, ln, "keyward-userkey 1", "user key",
	    &v, e)) != 0)
		return rc > 0 ? 0 : rc;
	if (strcmp(line, "secret") == 0) {
		if (!kw_name_valid(v))
			return kw_fail(e, KW_ECORRUPT, "%s:%u: bad secret name",
			    c->path, ln);
		snprintf(u->secret, sizeof(u->secret), "%s", v);
	} else if (strcmp(line, "user") == 0) {
		if (decode(v, u->user, sizeof(u->user)) != 0)
			return kw_fail(e, KW_ECORRUPT, "%s:%u: bad user",
			    c->path, ln);
	} else if (strcmp(line, "uid") == 0) {
		if (num(c->path, ln, line, v, UINT32_MAX - 1, &x, e) != 0)
			return KW_ECORRUPT;
		u->uid = (uid_t)x;
	} else if (strcmp(line, "version") == 0) {
		if (num(c->path, ln, line, v, UINT32_MAX, &x, e) != 0)
			return KW_ECORRUPT;
		u->version = (uint32_t)x;
	} else if (strcmp(line, "serial") == 0) {
		if (snum(c->path, ln, line, v, 0, INT32_MAX, &n, e) != 0)
			return KW_ECORRUPT;
		u->serial = (int32_t)n;
	} else if (strcmp(line, "until") == 0) {
		if (snum(c->path, ln, line, v, INT64_MIN, INT64_MAX, &u->until,
		    e) != 0)
			return KW_ECORRUPT;
	} else if (strcmp(line, "holder") == 0) {
		if (!kw_session_id_valid(v))
			return kw_fail(e, KW_ECORRUPT, "%s:%u: bad holder",
			    c->path, ln);
		return kw_reg_userkey_hold(u, v, e);
	} else {
		return kw_fail(e, KW_ECORRUPT, "%s:%u: unknown field '%s'",
		    c->path, ln, line);
	}
	return 0;
}

/* Read and parse one registry file. */
static int
read_reg_file(const char *path, struct kw_reg_session *s,
    struct kw_reg_userkey *u, struct kw_error *e)
{
	struct parse_ctx c = { path, false, s, u, NULL };
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = kw_read_file(path, KW_SAFE_SECRET, REG_FILE_MAX, &text, &len, e);
	if (rc != 0)
		return rc;
	rc = kw_text_lines(path, text, len, false,
	    s != NULL ? session_line : userkey_line, &c, e);
	if (rc == 0 && !c.header)
		rc = kw_fail(e, KW_ECORRUPT, "%s: empty registry file", path);
	free(text);
	return rc;
}

/* ---- lookups ------------------------------------------------------------ */

/* Find the file name of session id in the directory. */
static int
find_session_file(struct kw_registry *r, const char *id, char *path,
    size_t size, struct kw_error *e)
{
	char prefix[KW_SESSION_ID_LEN + 4];
	struct dirent *de;
	DIR *d;
	int rc = KW_ENOTFOUND;

	if (!kw_session_id_valid(id))
		return kw_fail(e, KW_EINVAL, "'%s' is not a session id", id);
	snprintf(prefix, sizeof(prefix), "s.%s.", id);
	if ((d = opendir(r->dir)) == NULL)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", r->dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strstr(de->d_name, ".tmp.") != NULL)
			continue;
		rc = kw_snprintf(path, size, e, "%s/%s", r->dir, de->d_name);
		break;
	}
	closedir(d);
	if (rc == KW_ENOTFOUND)
		kw_fail(e, rc, "no session %s", id);
	return rc;
}

/* Read a session by id. */
int
kw_registry_session_get(struct kw_registry *r, const char *id,
    struct kw_reg_session *out, struct kw_error *e)
{
	char path[PATH_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = find_session_file(r, id, path, sizeof(path), e)) != 0)
		return rc;
	if ((rc = read_reg_file(path, out, NULL, e)) != 0 ||
	    (rc = journal_apply(r, out, e)) != 0)
		kw_reg_session_clear(out);
	return rc;
}

/* Remove a session file. */
int
kw_registry_session_del(struct kw_registry *r, const char *id,
    struct kw_error *e)
{
	char path[PATH_MAX];
	int rc;

	rc = find_session_file(r, id, path, sizeof(path), e);
	if (rc == KW_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: unlink", path);
	return kw_fsync_parent(path, e);
}

/* Read a user key. */
int
kw_registry_userkey_get(struct kw_registry *r, uid_t uid, const char *secret,
    struct kw_reg_userkey *out, struct kw_error *e)
{
	char path[PATH_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = userkey_path(r, uid, secret, path, sizeof(path), e)) != 0)
		return rc;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return kw_fail(e, KW_ENOTFOUND, "no user key %s for uid %lu",
		    secret, (unsigned long)uid);
	if ((rc = read_reg_file(path, NULL, out, e)) != 0)
		kw_reg_userkey_clear(out);
	return rc;
}

/* Remove a user key file. */
int
kw_registry_userkey_del(struct kw_registry *r, uid_t uid, const char *secret,
    struct kw_error *e)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = userkey_path(r, uid, secret, path, sizeof(path), e)) != 0)
		return rc;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: unlink", path);
	}
	return kw_fsync_parent(path, e);
}

/* Read every file whose name starts with prefix ("s." or "u."). */
static int
read_all(struct kw_registry *r, const char *prefix, void **out, size_t *n,
    size_t elem, struct kw_error *e)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned char *arr = NULL, *na;
	size_t cnt = 0;
	DIR *d;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(r->dir)) == NULL)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", r->dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, 2) != 0 ||
		    strstr(de->d_name, ".tmp.") != NULL)
			continue;
		if ((rc = kw_snprintf(path, sizeof(path), e, "%s/%s", r->dir,
		    de->d_name)) != 0)
			break;
		if ((na = reallocarray(arr, cnt + 1, elem)) == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
			break;
		}
		arr = na;
		memset(arr + cnt * elem, 0, elem);
		rc = read_reg_file(path,
		    prefix[0] == 's' ? (void *)(arr + cnt * elem) : NULL,
		    prefix[0] == 'u' ? (void *)(arr + cnt * elem) : NULL, e);
		if (rc == KW_ENOTFOUND) {	/* removed meanwhile */
			rc = 0;
			continue;
		}
		if (rc == 0 && prefix[0] == 's')
			rc = journal_apply(r, (void *)(arr + cnt * elem), e);
		if (rc != 0) {
			if (prefix[0] == 's')
				kw_reg_session_clear((void *)(arr + cnt * elem));
			else
				kw_reg_userkey_clear((void *)(arr + cnt * elem));
			break;
		}
		cnt++;
	}
	closedir(d);
	if (rc != 0) {
		if (prefix[0] == 's')
			kw_reg_sessions_free((void *)arr, cnt);
		else
			kw_reg_userkeys_free((void *)arr, cnt);
		return rc;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

/* Every session. */
int
kw_registry_sessions(struct kw_registry *r, struct kw_reg_session **out,
    size_t *n, struct kw_error *e)
{
	void *p;
	int rc;

	*out = NULL;
	rc = read_all(r, "s.", &p, n, sizeof(**out), e);
	if (rc == 0)
		*out = p;
	return rc;
}

/* Every user key. */
int
kw_registry_userkeys(struct kw_registry *r, struct kw_reg_userkey **out,
    size_t *n, struct kw_error *e)
{
	void *p;
	int rc;

	*out = NULL;
	rc = read_all(r, "u.", &p, n, sizeof(**out), e);
	if (rc == 0)
		*out = p;
	return rc;
}

/* Is the process that opened a session (pid, start) gone? */
static bool
opener_gone(pid_t pid, uint64_t start)
{
	uint64_t now;

	if (pid <= 0)
		return true;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	if (kw_proc_start_time(pid, &now, NULL) == KW_ENOTFOUND)
		return true;
	return now != start;
}

/* Ids of sessions whose opener is gone, from file names alone. */
int
kw_registry_dead_sessions(struct kw_registry *r, kw_session_id **ids,
    size_t *n, struct kw_error *e)
{
	struct dirent *de;
	kw_session_id *arr = NULL, *na;
	char name[NAME_MAX + 1], *pid_s, *start_s;
	uint64_t pid, start;
	size_t cnt = 0;
	DIR *d;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	if ((d = opendir(r->dir)) == NULL)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", r->dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "s.", 2) != 0 ||
		    strstr(de->d_name, ".tmp.") != NULL)
			continue;
		snprintf(name, sizeof(name), "%s", de->d_name);
		/* s.<id>.<pid>.<start> */
		if (strlen(name) < 2 + KW_SESSION_ID_LEN + 4 ||
		    name[2 + KW_SESSION_ID_LEN] != '.')
			continue;
		name[2 + KW_SESSION_ID_LEN] = '\0';
		pid_s = name + 3 + KW_SESSION_ID_LEN;
		if ((start_s = strchr(pid_s, '.')) == NULL)
			continue;
		*start_s++ = '\0';
		if (!kw_session_id_valid(name + 2) ||
		    kw_parse_u64(pid_s, 1, INT32_MAX, &pid, NULL) != 0 ||
		    kw_parse_u64(start_s, 0, UINT64_MAX, &start, NULL) != 0)
			continue;
		if (!opener_gone((pid_t)pid, start))
			continue;
		if ((na = reallocarray(arr, cnt + 1, sizeof(*arr))) == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
			break;
		}
		arr = na;
		memcpy(arr[cnt++], name + 2, sizeof(kw_session_id));
	}
	closedir(d);
	if (rc != 0) {
		free(arr);
		return rc;
	}
	*ids = arr;
	*n = cnt;
	return 0;
}

/* ---- the journal ---------------------------------------------------------- */

/* Order marks by session id, then serial. */
static int
mark_cmp(const void *a, const void *b)
{
	const struct kw_reg_mark *x = a, *y = b;
	int c = strcmp(x->session, y->session);

	if (c != 0)
		return c;
	return (x->serial > y->serial) - (x->serial < y->serial);
}

/* One line of the journal: "<session> <serial> <version>". */
static int
journal_line(char *line, unsigned ln, void *arg, struct kw_error *e)
{
	struct parse_ctx *c = arg;
	struct kw_registry *r = c->r;
	struct kw_reg_mark m, *nm;
	char *serial, *version;
	uint64_t v;
	int64_t n;

	if (!c->header) {
		if (strcmp(line, "keyward-journal 1") != 0)
			return kw_fail(e, KW_ECORRUPT,
			    "%s:%u: not a keyward journal", c->path, ln);
		c->header = true;
		return 0;
	}
	memset(&m, 0, sizeof(m));
	if ((serial = split_word(line)) == NULL ||
	    (version = split_word(serial)) == NULL ||
	    !kw_session_id_valid(line))
		return kw_fail(e, KW_ECORRUPT, "%s:%u: expected '<session> "
		    "<serial> <version>'", c->path, ln);
	memcpy(m.session, line, sizeof(m.session));
	if (snum(c->path, ln, "serial", serial, 1, INT32_MAX, &n, e) != 0 ||
	    num(c->path, ln, "version", version, UINT32_MAX, &v, e) != 0)
		return KW_ECORRUPT;
	m.serial = (int32_t)n;
	m.version = (uint32_t)v;
	nm = reallocarray(r->marks, r->n_marks + 1, sizeof(*nm));
	if (nm == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	r->marks = nm;
	r->marks[r->n_marks++] = m;
	return 0;
}

/*
 * Load the journal once per lock hold (a missing one is empty), sorted.
 * A malformed journal is KW_ECORRUPT: sessions are then not read at all.
 */
static int
journal_load(struct kw_registry *r, struct kw_error *e)
{
	struct parse_ctx c;
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	if (r->marks_loaded)
		return 0;
	if ((rc = kw_snprintf(path, sizeof(path), e, "%s/journal", r->dir)) !=
	    0)
		return rc;
	rc = kw_read_file(path, KW_SAFE_SECRET, REG_FILE_MAX * 16, &text,
	    &len, e);
	if (rc == KW_ENOTFOUND) {
		kw_error_clear(e);
		r->marks_loaded = true;
		return 0;
	}
	if (rc != 0)
		return rc;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.r = r;
	rc = kw_text_lines(path, text, len, false, journal_line, &c, e);
	free(text);
	if (rc != 0) {
		free(r->marks);
		r->marks = NULL;
		r->n_marks = 0;
		return rc;
	}
	if (r->n_marks > 1)
		qsort(r->marks, r->n_marks, sizeof(*r->marks), mark_cmp);
	r->marks_loaded = true;
	return 0;
}

/* Apply the journal to a session just read: new versions, gone keys. */
static int
journal_apply(struct kw_registry *r, struct kw_reg_session *s,
    struct kw_error *e)
{
	struct kw_reg_mark key, *m;
	size_t i, keep = 0;
	int rc;

	if ((rc = journal_load(r, e)) != 0)
		return rc;
	if (r->n_marks == 0)
		return 0;
	memset(&key, 0, sizeof(key));
	memcpy(key.session, s->id, sizeof(key.session));
	for (i = 0; i < s->n_keys; i++) {
		key.serial = s->keys[i].serial;
		m = bsearch(&key, r->marks, r->n_marks, sizeof(*r->marks),
		    mark_cmp);
		if (m != NULL && m->version == 0)
			continue;	/* gone */
		if (m != NULL)
			s->keys[i].version = m->version;
		s->keys[keep++] = s->keys[i];
	}
	s->n_keys = keep;
	return 0;
}

/* Order session ids. */
static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Ids of the sessions that have a file now, sorted. */
static int
session_ids(struct kw_registry *r, kw_session_id **out, size_t *n,
    struct kw_error *e)
{
	kw_session_id *ids = NULL, *ni;
	struct dirent *de;
	size_t cnt = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((d = opendir(r->dir)) == NULL)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", r->dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "s.", 2) != 0 ||
		    strlen(de->d_name) < 3 + KW_SESSION_ID_LEN ||
		    de->d_name[2 + KW_SESSION_ID_LEN] != '.' ||
		    strstr(de->d_name, ".tmp.") != NULL)
			continue;
		if ((ni = reallocarray(ids, cnt + 1, sizeof(*ids))) == NULL) {
			closedir(d);
			free(ids);
			return kw_fail(e, KW_ENOMEM, "registry: out of memory");
		}
		ids = ni;
		memcpy(ids[cnt], de->d_name + 2, KW_SESSION_ID_LEN);
		ids[cnt++][KW_SESSION_ID_LEN] = '\0';
	}
	closedir(d);
	if (cnt > 1)
		qsort(ids, cnt, sizeof(*ids), id_cmp);
	*out = ids;
	*n = cnt;
	return 0;
}

/* Add marks to the journal and rewrite it. */
int
kw_registry_mark(struct kw_registry *r, const struct kw_reg_mark *m, size_t n,
    struct kw_error *e)
{
	struct kw_reg_mark *all = NULL;
	kw_session_id *ids = NULL;
	struct sbuf b = { 0 };
	char path[PATH_MAX];
	size_t total, i, j, n_ids = 0;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = journal_load(r, e)) != 0)
		return rc;
	if ((rc = kw_snprintf(path, sizeof(path), e, "%s/journal", r->dir)) !=
	    0)
		return rc;
	for (i = 0; i < n; i++)
		if (!kw_session_id_valid(m[i].session) || m[i].serial <= 0)
			return kw_fail(e, KW_EINTERNAL,
			    "registry: bad journal mark");
	if ((rc = session_ids(r, &ids, &n_ids, e)) != 0)
		return rc;
	/* new marks first: after a stable merge they win over old ones */
	total = r->n_marks + n;
	if ((all = calloc(total, sizeof(*all))) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
		goto out;
	}
	memcpy(all, m, n * sizeof(*m));
	if (r->n_marks > 0)
		memcpy(all + n, r->marks, r->n_marks * sizeof(*all));
	/* sort the new ones, then drop the old marks they replace */
	qsort(all, n, sizeof(*all), mark_cmp);
	for (i = n, j = n; i < total; i++) {
		if (bsearch(&all[i], all, n, sizeof(*all), mark_cmp) != NULL)
			continue;
		all[j++] = all[i];
	}
	total = j;
	/* keep only marks of sessions that still have a file */
	for (i = 0, j = 0; i < total; i++) {
		if (n_ids == 0 || bsearch(all[i].session, ids, n_ids,
		    sizeof(*ids), id_cmp) == NULL)
			continue;
		all[j++] = all[i];
	}
	total = j;
	if (total > 1)
		qsort(all, total, sizeof(*all), mark_cmp);
	sb_printf(&b, "keyward-journal 1\n");
	for (i = 0; i < total; i++)
		sb_printf(&b, "%s %ld %lu\n", all[i].session,
		    (long)all[i].serial, (unsigned long)all[i].version);
	if (b.oom) {
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
		goto out;
	}
	if ((rc = kw_atomic_write(path, b.p, b.len, 0600, KW_WRITE_NOSYNC,
	    e)) != 0)
		goto out;
	free(r->marks);
	r->marks = all;
	r->n_marks = total;
	all = NULL;
out:
	free(all);
	free(ids);
	free(b.p);
	return rc;
}
