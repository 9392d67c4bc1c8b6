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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kw_config.h"
#include "registry.h"

#define REG_FILE_MAX (1024 * 1024)
#define REG_READ_BUF 8192	/* files up to this size: read on the stack */

struct kw_registry {
	char dir[PATH_MAX];
	size_t dir_len;
	int dir_fd;			/* dir, checked once: files are
					 * opened relative to it */
	int lock_fd;
	struct kw_reg_mark *marks;	/* the journal, sorted; see journal_load */
	size_t n_marks, cap_marks;
	bool marks_loaded;
	/*
	 * The ids of the session files, sorted, as the last complete walk
	 * listed them (valid while this handle writes no session file: the
	 * lock keeps everyone else out); saves kw_registry_mark() listing
	 * the directory again.
	 */
	uint64_t *ids;			/* as numbers: see id_number() */
	size_t n_ids, cap_ids;
	bool ids_valid;
	bool dir_read;			/* dir_fd is past its start */
	/*
	 * There is no index file: the last whole listing found none, and
	 * this handle has not written or removed it since (the lock keeps
	 * everyone else out). Spares a session written in a registry
	 * without one the open that would find none (ix_append()).
	 */
	bool no_index;
	unsigned ix_gen;		/* ix_changed() calls */
};

/* The index of the session files (ix_write()), a cache of their text. */
#define INDEX_NAME "index"

static int journal_apply(struct kw_registry *r, struct kw_reg_session *s,
    struct kw_error *e);
static void ix_append(struct kw_registry *r, const char *name, int file,
    const char *text, size_t len);

/* ---- small helpers --------------------------------------------------- */

/* A growing text buffer. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
	const char *toolong;	/* a field whose line the reader would refuse */
};

/* Room for n more bytes and a NUL in b (sets b->oom on failure). */
static bool
sb_room(struct sbuf *b, size_t n)
{
	size_t need, cap;
	char *np;

	if (b->oom)
		return false;
	need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap > 0 ? b->cap : 512;
	while (cap < need)
		cap *= 2;
	if ((np = realloc(b->p, cap)) == NULL) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = cap;
	return true;
}

/* Append the n bytes at s to b. */
static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append the string s to b. */
static void
sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Append v in decimal to b. */
static void
sb_num(struct sbuf *b, int64_t v)
{
	char num[KW_FMT_I64_LEN];

	sb_put(b, num, kw_fmt_i64(num, v));
}

/* Append printf-style text to b (sets b->oom on failure). */
static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (!sb_room(b, 0))
		return;
	/* one vsnprintf when it fits in the room there is, two when not */
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= room) {
		if (!sb_room(b, (size_t)n))
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
	}
	b->len += (size_t)n;
}

/* May c stand for itself in a field value (else it is written %XX)? */
static bool
field_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("._/:@+=,-", c)
	    != NULL);
}

/* Append "key <encoded value>\n": %XX for anything outside a safe set. */
static void
sb_field(struct sbuf *b, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *v = (const unsigned char *)value;
	size_t start = b->len, run;
	char esc[3];

	sb_str(b, key);
	sb_put(b, " ", 1);
	if (*v == '\0')
		sb_put(b, "-", 1);
	while (*v != '\0') {
		for (run = 0; v[run] != '\0' && field_plain(v[run]); run++)
			;
		if (run > 0) {
			sb_put(b, (const char *)v, run);
			v += run;
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[*v >> 4];
		esc[2] = hex[*v & 0xf];
		sb_put(b, esc, sizeof(esc));
		v++;
	}
	/* the reader takes lines of at most KW_LINE_MAX bytes */
	if (!b->oom && b->len - start > KW_LINE_MAX && b->toolong == NULL)
		b->toolong = key;
	sb_put(b, "\n", 1);
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

/*
 * Fields 1 and 22 of the stat file at path (of process want, or of this
 * process when want is 0): the pid and the start time. One open, one
 * read, one close. The kernel makes the whole line at the first read, and
 * field 22 lies within its first 600 bytes whatever the command name (at
 * most 64 bytes) and the numbers before it (at most 20 digits each), so
 * one read into buf is enough: a longer line is cut after field 22.
 */
static int
proc_stat(const char *path, pid_t want, pid_t *pid, uint64_t *start,
    struct kw_error *e)
{
	char buf[1024], *p, *end;
	uint64_t v;
	ssize_t n;
	int fd, field;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (want != 0 && (errno == ENOENT || errno == ESRCH))
			return kw_fail(e, KW_ENOTFOUND, "no process %ld",
			    (long)want);
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", path);
	}
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0 && want != 0)  /* gone between the open and the read */
		return kw_fail(e, KW_ENOTFOUND, "no process %ld", (long)want);
	if (n <= 0)
		return kw_fail_errno(e, KW_ESYSTEM, n < 0 ? errno : EIO,
		    "%s: read", path);
	buf[n] = '\0';
	/* field 1, then the command name (field 2), which may hold blanks
	 * and ')': skip to the last ')' */
	if ((end = strchr(buf, ' ')) == NULL || end[1] != '(' ||
	    (p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return kw_fail(e, KW_ECORRUPT, "%s: unexpected format", path);
	*end = '\0';
	if (kw_parse_u64(buf, 1, INT32_MAX, &v, NULL) != 0)
		return kw_fail(e, KW_ECORRUPT, "%s: unexpected format", path);
	*pid = (pid_t)v;
	p += 2;
	/* fields 3 to 21 are single blank-separated words */
	for (field = 3; field < 22; field++) {
		if ((p = strchr(p, ' ')) == NULL)
			return kw_fail(e, KW_ECORRUPT, "%s: unexpected format",
			    path);
		p++;
	}
	if ((end = strchr(p, ' ')) == NULL)
		return kw_fail(e, KW_ECORRUPT, "%s: unexpected format", path);
	*end = '\0';
	return kw_parse_u64(p, 0, UINT64_MAX, start, e);
}

/* Start time of a process (see registry.h). */
int
kw_proc_start_time(pid_t pid, uint64_t *start, struct kw_error *e)
{
	char path[32];
	pid_t got;

	*start = 0;
	if (pid <= 0)
		return kw_fail(e, KW_ENOTFOUND, "no process %ld", (long)pid);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	return proc_stat(path, pid, &got, start, e);
}

/* This process's pid and start time (see registry.h). */
int
kw_proc_self(pid_t *pid, uint64_t *start, struct kw_error *e)
{
	*pid = 0;
	*start = 0;
	return proc_stat("/proc/self/stat", 0, pid, start, e);
}

/* One pid in kw_openers_check()'s table. */
struct pid_slot {
	pid_t pid;			/* 0 = empty slot */
	bool gone;			/* no such process */
	uint64_t start;			/* else its start time */
};

/* Is the opener (pid, start) gone, given what pid's slot holds? */
static bool
slot_gone(const struct pid_slot *ps, uint64_t start)
{
	return ps->gone || ps->start != start;
}

/* Look a pid up: fill the slot. An unreadable start time counts as gone. */
static void
slot_fill(struct pid_slot *ps, pid_t pid)
{
	ps->pid = pid;
	ps->gone = kw_proc_start_time(pid, &ps->start, NULL) != 0;
}

/* Check openers (see registry.h): each distinct pid is read once. */
int
kw_openers_check(struct kw_opener *op, size_t n, struct kw_error *e)
{
	struct pid_slot *tab, one;
	size_t cap, i, h;

	if (n == 0)
		return 0;
	if (n == 1) {
		if (op[0].pid <= 0) {
			op[0].gone = true;
			return 0;
		}
		slot_fill(&one, op[0].pid);
		op[0].gone = slot_gone(&one, op[0].start);
		return 0;
	}
	/* open addressing, at most half full */
	for (cap = 4; cap < 2 * n; cap *= 2)
		;
	if ((tab = calloc(cap, sizeof(*tab))) == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	for (i = 0; i < n; i++) {
		if (op[i].pid <= 0) {
			op[i].gone = true;
			continue;
		}
		h = ((size_t)(uint32_t)op[i].pid * 2654435761u) & (cap - 1);
		while (tab[h].pid != 0 && tab[h].pid != op[i].pid)
			h = (h + 1) & (cap - 1);
		if (tab[h].pid == 0)
			slot_fill(&tab[h], op[i].pid);
		op[i].gone = slot_gone(&tab[h], op[i].start);
	}
	free(tab);
	return 0;
}

/* ---- open and lock --------------------------------------------------- */

/* Open the registry directory and take its lock. */
int
kw_registry_open(const char *run_dir, struct kw_registry **out,
    struct kw_error *e)
{
	struct kw_registry *r;
	char parent[PATH_MAX], *slash;
	struct stat st;
	int rc;

	*out = NULL;
	if (run_dir == NULL || run_dir[0] != '/')
		return kw_fail(e, KW_EINVAL, "run_dir: not an absolute path");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	r->dir_fd = -1;
	r->lock_fd = -1;
	/* room for "/<name>" after it: a file name is at most NAME_MAX */
	if ((rc = kw_snprintf(r->dir, sizeof(r->dir) - NAME_MAX - 2, e, "%s",
	    run_dir)) != 0 ||
	    (rc = kw_snprintf(parent, sizeof(parent), e, "%s", run_dir)) != 0)
		goto fail;
	r->dir_len = strlen(r->dir);
	/*
	 * Every later access goes through this descriptor, checked below:
	 * the directory cannot be swapped for another after the check. It
	 * is made (with its parent) only when missing.
	 */
	r->dir_fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (r->dir_fd < 0 && errno == ENOENT) {
		slash = strrchr(parent, '/');
		if (slash != NULL && slash != parent) {
			*slash = '\0';
			if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
				rc = kw_fail_errno(e, KW_ESYSTEM, errno,
				    "%s: mkdir", parent);
				goto fail;
			}
		}
		if ((rc = kw_ensure_dir(r->dir, 0700, e)) != 0)
			goto fail;
		r->dir_fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	if (r->dir_fd < 0) {
		if (errno == ELOOP)
			rc = kw_fail(e, KW_EUNSAFE, "%s: is a symbolic link; "
			    "refusing to follow it", r->dir);
		else
			rc = kw_fail_errno(e, errno == ENOTDIR ? KW_EUNSAFE :
			    KW_ESYSTEM, errno, "%s", r->dir);
		goto fail;
	}
	if (fstat(r->dir_fd, &st) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s", r->dir);
		goto fail;
	}
	if (!S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		rc = kw_fail(e, KW_EUNSAFE, "%s: not a directory owned by root "
		    "and writable by it only", r->dir);
		goto fail;
	}
	/* exactly 0700: also when a umask took bits from a new one */
	if ((st.st_mode & 0777) != 0700 && fchmod(r->dir_fd, 0700) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: chmod 0700",
		    r->dir);
		goto fail;
	}
	r->lock_fd = openat(r->dir_fd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (r->lock_fd < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s/.lock", r->dir);
		goto fail;
	}
	while (flock(r->lock_fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s/.lock: flock",
		    r->dir);
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
	if (r->dir_fd >= 0)
		close(r->dir_fd);
	free(r->marks);
	free(r->ids);
	free(r);
}

/* "<dir>/<name>" into buf (PATH_MAX): for writes and messages. */
static void
reg_path(const struct kw_registry *r, const char *name, char *buf)
{
	size_t n = strnlen(name, NAME_MAX);

	/* kw_registry_open() left room for a name of NAME_MAX */
	memcpy(buf, r->dir, r->dir_len);
	buf[r->dir_len] = '/';
	memcpy(buf + r->dir_len + 1, name, n);
	buf[r->dir_len + 1 + n] = '\0';
}

/*
 * Open the registry file name (path: its full name, for messages) for
 * reading, relative to the checked directory, with the checks of
 * kw_safe_open() and KW_SAFE_SECRET, at most max bytes. *size is its
 * size. KW_ENOTFOUND when there is no such file.
 */
static int
reg_open(struct kw_registry *r, const char *name, const char *path,
    size_t max, int *fd, size_t *size, struct kw_error *e)
{
	struct stat st;
	int rc;

	*size = 0;
	if ((rc = kw_safe_openat(r->dir_fd, name, path, KW_SAFE_SECRET,
	    (off_t)max, fd, &st, e)) != 0)
		return rc;
	*size = (size_t)st.st_size;
	return 0;
}

/* A file's text: in the caller's buffer when it fits, else on the heap. */
struct reg_text {
	char *p;		/* NUL-terminated */
	size_t len;
	char *heap;		/* free() this */
};

/*
 * Read the registry file name (checked by reg_open()) whole into t: into
 * buf (size bytes) when it fits, else into a heap buffer. A registry file
 * is replaced by rename(2), never changed in place, so one read(2) of one
 * byte more than fstat said normally gets it all: fewer bytes mean its
 * end, the extra byte a file that grew (refused, like kw_read_file()).
 */
static int
reg_read(struct kw_registry *r, const char *name, const char *path,
    size_t max, char *buf, size_t size, struct reg_text *t,
    struct kw_error *e)
{
	size_t fsize, cap, n = 0;
	ssize_t got;
	char *p;
	int fd, rc;

	memset(t, 0, sizeof(*t));
	if ((rc = reg_open(r, name, path, max, &fd, &fsize, e)) != 0)
		return rc;
	cap = fsize + 1;		/* read one byte more than expected */
	if (cap + 1 <= size) {
		p = buf;
	} else if ((p = t->heap = malloc(cap + 1)) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		got = read(fd, p + n, cap - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: read",
			    path);
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n == cap) {
			rc = kw_fail(e, KW_ECORRUPT, "%s: changed while being "
			    "read", path);
			goto out;
		}
		if (n >= fsize)
			break;	/* asked for more than this: the end */
	}
	p[n] = '\0';
	t->p = p;
	t->len = n;
	rc = 0;
out:
	close(fd);
	if (rc != 0) {
		free(t->heap);
		memset(t, 0, sizeof(*t));
	}
	return rc;
}

/*
 * A listing of the checked registry directory, read with getdents64(2)
 * through its own descriptor (rewound first, unless it was never read):
 * an open and a close fewer than a stream over a second descriptor, and
 * none of opendir()'s fstat and fcntl calls (four system calls of a
 * session open, each paying the audit rules' filter). One at a time per
 * handle: they share the offset.
 */
#define REG_DIR_BUF 32768

struct reg_dir {
	struct kw_registry *r;
	char *buf;
	size_t pos, len;
	int err;		/* the getdents64() errno that ended it */
	bool end;
	bool saw_index;		/* INDEX_NAME was listed */
	unsigned ix_gen;	/* r->ix_gen at the start */
};

static int
reg_opendir(struct kw_registry *r, struct reg_dir *d, struct kw_error *e)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->r = r;
	d->ix_gen = r->ix_gen;
	if ((d->buf = malloc(REG_DIR_BUF)) == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	if (r->dir_read && lseek(r->dir_fd, 0, SEEK_SET) < 0) {
		err = errno;
		free(d->buf);
		d->buf = NULL;
		return kw_fail_errno(e, KW_ESYSTEM, err, "%s", r->dir);
	}
	return 0;
}

/* The next entry, or NULL at the end and on an error (reg_closedir()). */
static const struct dirent64 *
reg_readdir(struct reg_dir *d)
{
	const struct dirent64 *de;
	ssize_t n;

	if (d->pos >= d->len) {
		if (d->end)
			return NULL;
		d->r->dir_read = true;
		do {
			n = getdents64(d->r->dir_fd, d->buf, REG_DIR_BUF);
		} while (n < 0 && errno == EINTR);
		if (n <= 0) {
			d->err = n < 0 ? errno : 0;
			d->end = true;
			return NULL;
		}
		d->pos = 0;
		d->len = (size_t)n;
	}
	de = (const struct dirent64 *)(const void *)(d->buf + d->pos);
	if (d->len - d->pos < offsetof(struct dirent64, d_name) + 1 ||
	    de->d_reclen <= offsetof(struct dirent64, d_name) ||
	    de->d_reclen > d->len - d->pos) {
		d->err = EIO;	/* the kernel's records, but never loop */
		d->end = true;
		return NULL;
	}
	d->pos += de->d_reclen;
	if (strcmp(de->d_name, INDEX_NAME) == 0)
		d->saw_index = true;
	return de;
}

/*
 * End a listing. rc: the caller's result so far, returned when it is an
 * error already; else the listing's own error, or 0 when it was whole.
 * A whole listing tells the handle whether there is an index.
 */
static int
reg_closedir(struct reg_dir *d, int rc, struct kw_error *e)
{
	free(d->buf);
	d->buf = NULL;
	if (d->end && d->err == 0 && d->ix_gen == d->r->ix_gen)
		d->r->no_index = !d->saw_index;
	if (rc != 0 || d->err == 0)
		return rc;
	return kw_fail_errno(e, KW_ESYSTEM, d->err, "%s: listing",
	    d->r->dir);
}

/*
 * Remove the registry file name; a missing one is not an error. Not
 * synced, as the writes are not (KW_WRITE_NOSYNC): the registry describes
 * kernel keyrings, which do not survive a crash either.
 */
static int
reg_unlink(struct kw_registry *r, const char *name, struct kw_error *e)
{
	char path[PATH_MAX];

	if (unlinkat(r->dir_fd, name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		reg_path(r, name, path);
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: unlink", path);
	}
	return 0;
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

/* The name of a user key's file, "u.<uid>.<secret>" (NAME_MAX + 1). */
static int
userkey_name(uid_t uid, const char *secret, char *buf, struct kw_error *e)
{
	if (kw_name_check(secret, e) != 0)
		return KW_EINVAL;
	return kw_snprintf(buf, NAME_MAX + 1, e, "u.%lu.%s",
	    (unsigned long)uid, secret);
}

/* The path of a user key's file (buf: PATH_MAX). */
static int
userkey_path(struct kw_registry *r, uid_t uid, const char *secret, char *buf,
    struct kw_error *e)
{
	char name[NAME_MAX + 1];
	int rc;

	if ((rc = userkey_name(uid, secret, name, e)) != 0)
		return rc;
	reg_path(r, name, buf);
	return 0;
}

/*
 * Create the registry file name (path: its full name) holding data, whole
 * from the moment it has a name: written unnamed (O_TMPFILE) and linked
 * in, which costs the file system one name instead of a temporary name
 * and a rename. Where the file system has no O_TMPFILE or the kernel will
 * not link an open file for us, and when name exists already (it is
 * replaced, as before), kw_atomic_write() does the same the older way.
 * *made: the new file, still open (the caller closes it), or -1 when it
 * was written the older way.
 */
static int
reg_create(struct kw_registry *r, const char *name, const char *path,
    const char *data, size_t len, int *made, struct kw_error *e)
{
	int fd, w, err;

	*made = -1;
	/*
	 * 0600, or less where the umask takes owner bits (it never adds
	 * any): root's alone either way, in a directory that is root's
	 * alone, and root reads and replaces such a file all the same.
	 */
	fd = openat(r->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		goto old_way;
	if ((w = kw_write_all(fd, data, len)) != 0) {
		close(fd);
		return kw_fail_errno(e, KW_ESYSTEM, -w, "%s: write", path);
	}
	if (linkat(fd, "", r->dir_fd, name, AT_EMPTY_PATH) == 0) {
		*made = fd;
		return 0;
	}
	err = errno;
	close(fd);		/* the unnamed file goes with it */
	if (err != EEXIST && err != EPERM && err != ENOENT && err != EINVAL &&
	    err != EOPNOTSUPP)
		return kw_fail_errno(e, KW_ESYSTEM, err, "%s", path);
old_way:
	return kw_atomic_write(path, data, len, 0600, KW_WRITE_NOSYNC, e);
}

/* Write a session file. */
int
kw_registry_session_put(struct kw_registry *r, const struct kw_reg_session *s,
    struct kw_error *e)
{
	char path[PATH_MAX];
	struct sbuf b = { 0 };
	int made;
	size_t i;
	int rc;

	if (!kw_session_id_valid(s->id))
		return kw_fail(e, KW_EINTERNAL, "registry: bad session id");
	if ((rc = session_path(r, s, path, sizeof(path), e)) != 0)
		return rc;
	r->ids_valid = false;
	sb_printf(&b, "keyward-session 1\nid %s\n", s->id);
	sb_field(&b, "user", s->user);
	sb_printf(&b, "uid %lu\npid %ld\nstart %llu\n", (unsigned long)s->uid,
	    (long)s->pid, (unsigned long long)s->start);
	sb_field(&b, "service", s->service);
	sb_field(&b, "tty", s->tty);
	sb_field(&b, "exe", s->exe);
	sb_printf(&b, "ring %ld\nopened %lld\n", (long)s->ring,
	    (long long)s->opened);
	/* "key <secret> <version> <serial> <scope> <until>", a line a key */
	for (i = 0; i < s->n_keys; i++) {
		sb_put(&b, "key ", 4);
		sb_str(&b, s->keys[i].secret);
		sb_put(&b, " ", 1);
		sb_num(&b, s->keys[i].version);
		sb_put(&b, " ", 1);
		sb_num(&b, s->keys[i].serial);
		sb_put(&b, " ", 1);
		sb_str(&b, scope_name(s->keys[i].scope));
		sb_put(&b, " ", 1);
		sb_num(&b, s->keys[i].until);
		sb_put(&b, "\n", 1);
	}
	if (b.oom)
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
	else if (b.toolong != NULL)
		rc = kw_fail(e, KW_ETOOBIG, "registry: the session's %s is too "
		    "long to record", b.toolong);
	else if ((rc = reg_create(r, strrchr(path, '/') + 1, path, b.p, b.len,
	    &made, e)) == 0 && made >= 0) {
		ix_append(r, strrchr(path, '/') + 1, made, b.p, b.len);
		close(made);
	}
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

	if ((rc = userkey_path(r, u->uid, u->secret, path, e)) != 0)
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
	memcpy(d->secret, f[0], strlen(f[0]) + 1);	/* valid: it fits */
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

/* Is line's key key? (The first byte first: most keys differ there.) */
static inline bool
is_key(const char *line, const char *key)
{
	return line[0] == key[0] && strcmp(line, key) == 0;
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
	if (is_key(line, "id")) {
		if (!kw_session_id_valid(v))
			return kw_fail(e, KW_ECORRUPT, "%s:%u: bad id",
			    c->path, ln);
		memcpy(s->id, v, sizeof(s->id));
	} else if (is_key(line, "user")) {
		rc = decode(v, s->user, sizeof(s->user));
	} else if (is_key(line, "service")) {
		rc = decode(v, s->service, sizeof(s->service));
	} else if (is_key(line, "tty")) {
		rc = decode(v, s->tty, sizeof(s->tty));
	} else if (is_key(line, "exe")) {
		rc = decode(v, s->exe, sizeof(s->exe));
	} else if (is_key(line, "uid")) {
		if (num(c->path, ln, line, v, UINT32_MAX - 1, &u, e) != 0)
			return KW_ECORRUPT;
		s->uid = (uid_t)u;
	} else if (is_key(line, "pid")) {
		if (num(c->path, ln, line, v, INT32_MAX, &u, e) != 0)
			return KW_ECORRUPT;
		s->pid = (pid_t)u;
	} else if (is_key(line, "start")) {
		if (num(c->path, ln, line, v, UINT64_MAX, &s->start, e) != 0)
			return KW_ECORRUPT;
	} else if (is_key(line, "ring")) {
		if (snum(c->path, ln, line, v, 0, INT32_MAX, &n, e) != 0)
			return KW_ECORRUPT;
		s->ring = (int32_t)n;
	} else if (is_key(line, "opened")) {
		if (snum(c->path, ln, line, v, INT64_MIN, INT64_MAX,
		    &s->opened, e) != 0)
			return KW_ECORRUPT;
	} else if (is_key(line, "key")) {
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

/*
 * kw_text_lines() without continuations, splitting text (len bytes, then a
 * NUL; ours to change) in place rather than copying every line twice: the
 * same rules and messages. '#' comments and blanks at both ends are
 * stripped, blank lines skipped; NUL bytes, CRs and lines over
 * KW_LINE_MAX are refused. fn gets each line NUL-terminated, and its
 * number.
 */
static int
reg_lines(const char *name, char *text, size_t len,
    int (*fn)(char *line, unsigned lineno, void *arg, struct kw_error *e),
    void *arg, struct kw_error *e)
{
	size_t pos = 0, plen;
	unsigned lineno = 0;
	char *line, *nl, *hash;
	bool clean, hashes;
	int rc;

	/* the whole text at once: line by line only where it matters */
	clean = memchr(text, '\0', len) == NULL &&
	    memchr(text, '\r', len) == NULL;
	hashes = memchr(text, '#', len) != NULL;
	while (pos < len) {
		lineno++;
		line = text + pos;
		nl = memchr(line, '\n', len - pos);
		plen = nl != NULL ? (size_t)(nl - line) : len - pos;
		if (plen > KW_LINE_MAX)
			return kw_fail(e, KW_EINVAL,
			    "%s:%u: line longer than %d bytes", name, lineno,
			    KW_LINE_MAX);
		if (!clean && memchr(line, '\0', plen) != NULL)
			return kw_fail(e, KW_EINVAL, "%s:%u: NUL byte in line",
			    name, lineno);
		if (!clean && memchr(line, '\r', plen) != NULL)
			return kw_fail(e, KW_EINVAL,
			    "%s:%u: carriage return in line (DOS line "
			    "endings?)", name, lineno);
		pos += plen + (nl != NULL ? 1 : 0);
		line[plen] = '\0';	/* the '\n', or the NUL after text */
		if (hashes && (hash = memchr(line, '#', plen)) != NULL) {
			*hash = '\0';
			plen = (size_t)(hash - line);
		}
		while (plen > 0 && (line[plen - 1] == ' ' ||
		    line[plen - 1] == '\t'))
			line[--plen] = '\0';
		while (*line == ' ' || *line == '\t') {
			line++;
			plen--;
		}
		if (plen + 1 > KW_LINE_MAX)
			return kw_fail(e, KW_EINVAL,
			    "%s:%u: logical line longer than %d bytes", name,
			    lineno, KW_LINE_MAX);
		if (plen == 0)
			continue;
		if ((rc = fn(line, lineno, arg, e)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Parse the text (len bytes, NUL-terminated, parsed in place) of the
 * registry file path: a session into s, or a user key into u.
 */
static int
parse_reg_text(const char *path, char *text, size_t len,
    struct kw_reg_session *s, struct kw_reg_userkey *u, struct kw_error *e)
{
	struct parse_ctx c = { path, false, s, u, NULL };
	int rc;

	rc = reg_lines(path, text, len,
	    s != NULL ? session_line : userkey_line, &c, e);
	if (rc == 0 && !c.header)
		rc = kw_fail(e, KW_ECORRUPT, "%s: empty registry file", path);
	return rc;
}

/*
 * Read and parse the registry file name: a session into s, or a user key
 * into u. Files of up to REG_READ_BUF bytes (all but the odd one) are read
 * on the stack.
 */
static int
read_reg_file(struct kw_registry *r, const char *name,
    struct kw_reg_session *s, struct kw_reg_userkey *u, struct kw_error *e)
{
	char path[PATH_MAX], buf[REG_READ_BUF];
	struct reg_text t;
	int rc;

	reg_path(r, name, path);
	rc = reg_read(r, name, path, REG_FILE_MAX, buf, sizeof(buf), &t, e);
	if (rc != 0)
		return rc;
	rc = parse_reg_text(path, t.p, t.len, s, u, e);
	free(t.heap);
	return rc;
}

/* ---- lookups ------------------------------------------------------------ */

/* True when name is a registry file with that prefix ("s." or "u."). */
static bool
reg_name_is(const char *name, const char *prefix)
{
	return name[0] == prefix[0] && name[1] == prefix[1] &&
	    strstr(name, ".tmp.") == NULL;
}

/* Find the file name (NAME_MAX + 1) of session id in the directory. */
static int
find_session_file(struct kw_registry *r, const char *id, char *name,
    struct kw_error *e)
{
	char prefix[KW_SESSION_ID_LEN + 4];
	const struct dirent64 *de;
	struct reg_dir d;
	bool found = false;
	int rc;

	if (!kw_session_id_valid(id))
		return kw_fail(e, KW_EINVAL, "'%s' is not a session id", id);
	snprintf(prefix, sizeof(prefix), "s.%s.", id);
	if ((rc = reg_opendir(r, &d, e)) != 0)
		return rc;
	while ((de = reg_readdir(&d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strstr(de->d_name, ".tmp.") != NULL)
			continue;
		rc = kw_snprintf(name, NAME_MAX + 1, e, "%s", de->d_name);
		found = true;
		break;
	}
	if ((rc = reg_closedir(&d, rc, e)) != 0)
		return rc;
	if (!found)
		return kw_fail(e, KW_ENOTFOUND, "no session %s", id);
	return 0;
}

/* Read a session by id. */
int
kw_registry_session_get(struct kw_registry *r, const char *id,
    struct kw_reg_session *out, struct kw_error *e)
{
	char name[NAME_MAX + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = find_session_file(r, id, name, e)) != 0)
		return rc;
	if ((rc = read_reg_file(r, name, out, NULL, e)) != 0 ||
	    (rc = journal_apply(r, out, e)) != 0)
		kw_reg_session_clear(out);
	return rc;
}

/* Drop the holders of u that have no session file (see registry.h). */
int
kw_registry_userkey_prune(struct kw_registry *r, struct kw_reg_userkey *u,
    size_t *dropped, struct kw_error *e)
{
	char name[NAME_MAX + 1];
	size_t i = 0;
	int rc;

	*dropped = 0;
	while (i < u->n_holders) {
		rc = find_session_file(r, u->holders[i], name, e);
		if (rc == 0) {
			i++;
			continue;
		}
		if (rc != KW_ENOTFOUND)
			return rc;
		kw_error_clear(e);
		memmove(&u->holders[i], &u->holders[i + 1],
		    (u->n_holders - i - 1) * sizeof(*u->holders));
		u->n_holders--;
		(*dropped)++;
	}
	return 0;
}

/* Remove a session file. */
int
kw_registry_session_del(struct kw_registry *r, const char *id,
    struct kw_error *e)
{
	char name[NAME_MAX + 1];
	int rc;

	rc = find_session_file(r, id, name, e);
	if (rc == KW_ENOTFOUND) {
		kw_error_clear(e);
		return 0;
	}
	if (rc != 0)
		return rc;
	r->ids_valid = false;
	return reg_unlink(r, name, e);
}

/* Read a user key. */
int
kw_registry_userkey_get(struct kw_registry *r, uid_t uid, const char *secret,
    struct kw_reg_userkey *out, struct kw_error *e)
{
	char name[NAME_MAX + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = userkey_name(uid, secret, name, e)) != 0)
		return rc;
	rc = read_reg_file(r, name, NULL, out, e);
	if (rc == KW_ENOTFOUND)
		kw_fail(e, rc, "no user key %s for uid %lu", secret,
		    (unsigned long)uid);
	if (rc != 0)
		kw_reg_userkey_clear(out);
	return rc;
}

/* Remove a user key file. */
int
kw_registry_userkey_del(struct kw_registry *r, uid_t uid, const char *secret,
    struct kw_error *e)
{
	char name[NAME_MAX + 1];
	int rc;

	if ((rc = userkey_name(uid, secret, name, e)) != 0)
		return rc;
	return reg_unlink(r, name, e);
}

/*
 * arr (of elem-byte elements, *cap of them) grown to hold at least need,
 * doubling; NULL (arr untouched) when out of memory. The new elements are
 * left as they are: the pages of unused room are never touched.
 */
static void *
grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	void *na;
	size_t nc;

	if (need <= *cap)
		return arr;
	for (nc = *cap > 0 ? *cap : 16; nc < need; nc *= 2)
		;
	if ((na = reallocarray(arr, nc, elem)) == NULL)
		return NULL;
	*cap = nc;
	return na;
}

/*
 * A session id (16 lowercase hex, checked) as a number: ids in numeric
 * order are in strcmp() order, the order of the journal.
 */
static uint64_t
id_number(const char *id)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < KW_SESSION_ID_LEN; i++)
		v = v << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' :
		    id[i] - 'a' + 10);
	return v;
}

/* The value of a lowercase hex digit, or -1. */
static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * If name is a session file's name, "s.<id>." with a well-formed id (16
 * lowercase hex) and no ".tmp." (reg_name_is()), set *id to that id as a
 * number: ids in numeric order are in strcmp() order, the order of the
 * journal. One pass over the id, no copy: every walk asks it of every
 * file listed and every index entry.
 */
static bool
session_file_id(const char *name, uint64_t *id)
{
	uint64_t v = 0;
	int i, d;

	if (name[0] != 's' || name[1] != '.')
		return false;
	for (i = 0; i < KW_SESSION_ID_LEN; i++) {
		if ((d = hex_digit(name[2 + i])) < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (name[2 + KW_SESSION_ID_LEN] != '.' ||
	    strstr(name + 2 + KW_SESSION_ID_LEN, ".tmp.") != NULL)
		return false;
	*id = v;
	return true;
}

/* A sort key: a session id (as a number), a serial, and whose it is. */
struct rkey {
	uint64_t hi;
	uint32_t lo;
	uint32_t at;			/* index in the unsorted array */
};

/* Byte b (0 = lowest) of key k: lo's bytes, then hi's. */
static unsigned
rkey_byte(const struct rkey *k, unsigned b)
{
	return b < 4 ? (k->lo >> (8 * b)) & 0xff :
	    (unsigned)(k->hi >> (8 * (b - 4))) & 0xff;
}

/*
 * Sort n keys by (hi, lo): a least-significant-byte-first radix sort, one
 * stable counting pass a byte (a pass whose byte is the same everywhere is
 * skipped); tmp has room for n. A thousand keys sort in microseconds where
 * qsort() takes a fifth of a millisecond here. with_lo false: by hi only.
 */
static void
rkeys_sort(struct rkey *k, struct rkey *tmp, size_t n, bool with_lo)
{
	struct rkey *src = k, *dst = tmp, *t;
	size_t count[256], pos, c, i;
	unsigned b;

	for (b = with_lo ? 0 : 4; n > 1 && b < 12; b++) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[rkey_byte(&src[i], b)]++;
		if (count[rkey_byte(&src[0], b)] == n)
			continue;
		for (pos = 0, i = 0; i < 256; i++) {
			c = count[i];
			count[i] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++)
			dst[count[rkey_byte(&src[i], b)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != k)
		memcpy(k, src, n * sizeof(*k));
}

/* Sort n ids (numbers) in place; false when out of memory. */
static bool
ids_sort(uint64_t *ids, size_t n)
{
	struct rkey *k;
	size_t i;

	if (n < 2)
		return true;
	if ((k = reallocarray(NULL, 2 * n, sizeof(*k))) == NULL)
		return false;
	for (i = 0; i < n; i++) {
		k[i].hi = ids[i];
		k[i].lo = 0;
		k[i].at = 0;
	}
	rkeys_sort(k, k + n, n, false);
	for (i = 0; i < n; i++)
		ids[i] = k[i].hi;
	free(k);
	return true;
}

/* ---- the index: a cache of the session files -------------------------- */

/*
 * "index" holds a copy of every session file as the last walk that had to
 * read files found them:
 *
 *   keyward-index 1
 *   f <name> <inode> <length>
 *   <length bytes: the file's text>
 *   f ...                           (sorted by name)
 *
 * A session file is written once under a fresh random id and never
 * rewritten (later changes go to the journal), so a name the directory
 * lists with the inode the index gives it has the text the index holds:
 * the walk takes that copy instead of opening the file. The listing stays
 * the truth: a file the index lacks, or has with another inode, is read;
 * an index entry no file matches is ignored; an index that cannot be read
 * or parsed is ignored as a whole. A walk that had to read files (or found
 * entries of gone sessions) rewrites the index, so a rotation of a
 * thousand live copies reads two files (index and journal), not a
 * thousand and one.
 *
 * Each session file written while there is an index is also appended to
 * it (ix_append()), out of order: the walk sorts what it reads, and of two
 * entries of one name the later counts. So a kill switch thrown at a
 * thousand sessions opened since the last walk reads no session file
 * either.
 */
#define INDEX_MIN 16		/* fewer sessions: no index, files are cheap */
#define INDEX_APPEND_MAX (8 * 1024 * 1024) /* bigger: appends wait for a
					 * walk to rewrite it */

/* One session file: its name and inode listed, its text found or read. */
struct ix_ent {
	char *name;
	uint64_t ino;
	const char *text;		/* not NUL-terminated; NULL: gone */
	size_t len;
	char *own;			/* text read from the file: free() */
	size_t at;			/* ix_parse(): place in the index */
};

/* Order ix_ents by name. */
static int
ix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ix_ent *)a)->name,
	    ((const struct ix_ent *)b)->name);
}

/* Order ix_ents by name, then by their place in the index. */
static int
ix_cmp_at(const void *a, const void *b)
{
	const struct ix_ent *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * Sort the n index entries e by name, keeping of each name only the
 * latest (the one furthest into the index). The new count.
 */
static size_t
ix_sort(struct ix_ent *e, size_t n)
{
	size_t i, k;

	qsort(e, n, sizeof(*e), ix_cmp_at);
	for (i = 0, k = 0; i < n; i++) {
		if (k > 0 && strcmp(e[k - 1].name, e[i].name) == 0)
			k--;		/* an earlier entry of this name */
		e[k++] = e[i];
	}
	return k;
}

/*
 * Parse the index text t (the entries point into it) into *out, sorted by
 * name (see ix_sort()). false when it is not a well-formed index (or out
 * of memory).
 */
static bool
ix_parse(char *t, size_t len, struct ix_ent **out, size_t *n)
{
	static const char header[] = "keyward-index 1\n";
	struct ix_ent *ents = NULL, *ne;
	size_t cap = 0, cnt = 0, hl = sizeof(header) - 1;
	char *p = t, *end = t + len, *nl, *sp1, *sp2, *ep;
	unsigned long long ino, tl;
	bool sorted = true;
	uint64_t id;

	*out = NULL;
	*n = 0;
	if (len < hl || memcmp(t, header, hl) != 0)
		return false;
	for (p += hl; p < end;) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    nl - p < 2 || p[0] != 'f' || p[1] != ' ')
			goto bad;
		*nl = '\0';
		if ((sp1 = strchr(p + 2, ' ')) == NULL ||
		    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
			goto bad;
		*sp1 = *sp2 = '\0';
		errno = 0;
		ino = strtoull(sp1 + 1, &ep, 10);
		if (errno != 0 || *ep != '\0' || ep == sp1 + 1)
			goto bad;
		tl = strtoull(sp2 + 1, &ep, 10);
		if (errno != 0 || *ep != '\0' || ep == sp2 + 1 ||
		    tl > (unsigned long long)(end - nl - 1) ||
		    !session_file_id(p + 2, &id))
			goto bad;
		if ((ne = grow(ents, &cap, cnt + 1, sizeof(*ents))) == NULL)
			goto bad;
		ents = ne;
		memset(&ents[cnt], 0, sizeof(ents[cnt]));
		ents[cnt].name = p + 2;
		ents[cnt].ino = ino;
		ents[cnt].text = nl + 1;
		ents[cnt].len = (size_t)tl;
		ents[cnt].at = cnt;
		if (cnt > 0 && strcmp(ents[cnt - 1].name, ents[cnt].name) >= 0)
			sorted = false;		/* appended */
		cnt++;
		p = nl + 1 + tl;
	}
	*out = ents;
	*n = sorted ? cnt : ix_sort(ents, cnt);
	return true;
bad:
	free(ents);
	return false;
}

/*
 * The line that starts an index entry (the file name, its inode, the
 * length of the text that follows) into buf: its length, or -1 when it
 * does not fit in size bytes.
 */
static int
ix_head(char *buf, size_t size, const char *name, uint64_t ino, size_t len)
{
	int w = snprintf(buf, size, "f %s %llu %zu\n", name,
	    (unsigned long long)ino, len);

	return w < 0 || (size_t)w >= size ? -1 : w;
}

/* The index is being written or removed: what a listing said of it is
 * no longer known. */
static void
ix_changed(struct kw_registry *r)
{
	r->no_index = false;
	r->ix_gen++;
}

/*
 * Write the index of the n session files l (sorted by name, each with its
 * text). A cache: when it cannot be written, none is left and the next
 * walk reads the files.
 */
static void
ix_write(struct kw_registry *r, const struct ix_ent *l, size_t n)
{
	struct kw_error ie;
	char path[PATH_MAX], *p = NULL;
	size_t len = 0, cap = 64, i;
	int w;

	ix_changed(r);
	for (i = 0; i < n; i++)
		cap += 64 + strlen(l[i].name) + l[i].len;
	if ((p = malloc(cap)) == NULL)
		goto fail;
	len = (size_t)snprintf(p, cap, "keyward-index 1\n");
	for (i = 0; i < n; i++) {
		w = ix_head(p + len, cap - len, l[i].name, l[i].ino, l[i].len);
		if (w < 0 || (size_t)w + l[i].len >= cap - len)
			goto fail;
		len += (size_t)w;
		memcpy(p + len, l[i].text, l[i].len);
		len += l[i].len;
	}
	reg_path(r, INDEX_NAME, path);
	if (kw_atomic_write(path, p, len, 0600, KW_WRITE_NOSYNC, &ie) == 0) {
		free(p);
		return;
	}
fail:
	free(p);
	(void)unlinkat(r->dir_fd, INDEX_NAME, 0);
}

/*
 * Append the session file name, just written (still open as file; text
 * of len bytes), to the index, if there is one (registry locked). A
 * cache: past INDEX_APPEND_MAX bytes nothing is added (the file is read
 * instead), and an entry that cannot be added whole is taken back, or
 * else the index removed: a torn entry would make the next walk ignore
 * the whole index.
 */
static void
ix_append(struct kw_registry *r, const char *name, int file,
    const char *text, size_t len)
{
	char head[NAME_MAX + 64];
	struct iovec iov[2];
	struct stat st, fst;
	ssize_t w;
	int fd, hl;

	if (r->no_index)
		return;			/* none: the next walk makes one */
	fd = openat(r->dir_fd, INDEX_NAME, O_WRONLY | O_APPEND | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	/* the file's inode only now that there is an index to give it to */
	if (fstat(file, &fst) != 0) {
		close(fd);
		return;
	}
	hl = ix_head(head, sizeof(head), name, (uint64_t)fst.st_ino, len);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || hl < 0 ||
	    (uint64_t)st.st_size + (size_t)hl + len > INDEX_APPEND_MAX) {
		close(fd);
		return;
	}
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)hl;
	iov[1].iov_base = (void *)(uintptr_t)text;
	iov[1].iov_len = len;
	do {
		w = writev(fd, iov, 2);
	} while (w < 0 && errno == EINTR);
	if (w != (ssize_t)((size_t)hl + len) &&
	    ftruncate(fd, st.st_size) != 0) {
		ix_changed(r);
		(void)unlinkat(r->dir_fd, INDEX_NAME, 0);
	}
	close(fd);
}

/* Parse the session text t (len bytes; copied: the parser writes in it). */
static int
parse_session_text(struct kw_registry *r, const char *name, const char *t,
    size_t len, struct kw_reg_session *s, struct kw_error *e)
{
	char path[PATH_MAX], buf[REG_READ_BUF], *p = buf, *heap = NULL;
	int rc;

	reg_path(r, name, path);
	if (len + 1 > sizeof(buf) && (p = heap = malloc(len + 1)) == NULL)
		return kw_fail(e, KW_ENOMEM, "%s: out of memory", path);
	memcpy(p, t, len);
	p[len] = '\0';
	rc = parse_reg_text(path, p, len, s, NULL, e);
	free(heap);
	return rc;
}

/*
 * List the session files of the directory into *out (name and inode),
 * and their ids (as numbers) into r->ids, the listing kw_registry_mark()
 * would make; *have_index: the index is there too.
 */
static int
list_sessions(struct kw_registry *r, struct ix_ent **out, size_t *n,
    bool *have_index, struct kw_error *e)
{
	struct ix_ent *l = NULL, *nl;
	size_t cnt = 0, cap = 0;
	uint64_t *ids, id;
	const struct dirent64 *de;
	struct reg_dir d;
	int rc;

	*out = NULL;
	*n = 0;
	*have_index = false;
	if ((rc = reg_opendir(r, &d, e)) != 0)
		return rc;
	r->ids_valid = false;
	r->n_ids = 0;
	while ((de = reg_readdir(&d)) != NULL) {
		if (strcmp(de->d_name, INDEX_NAME) == 0)
			*have_index = true;
		if (!reg_name_is(de->d_name, "s."))
			continue;
		if (session_file_id(de->d_name, &id)) {
			if ((ids = grow(r->ids, &r->cap_ids, r->n_ids + 1,
			    sizeof(*ids))) == NULL)
				break;
			r->ids = ids;
			ids[r->n_ids++] = id;
		}
		if ((nl = grow(l, &cap, cnt + 1, sizeof(*l))) == NULL)
			break;
		l = nl;
		memset(&l[cnt], 0, sizeof(l[cnt]));
		l[cnt].ino = (uint64_t)de->d_ino;
		if ((l[cnt].name = strdup(de->d_name)) == NULL)
			break;
		cnt++;
	}
	rc = reg_closedir(&d, 0, e);
	*out = l;
	*n = cnt;
	if (de != NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	return rc;
}

/* Walk every session (see registry.h). */
int
kw_registry_sessions_walk(struct kw_registry *r,
    int (*fn)(struct kw_reg_session *s, void *arg, struct kw_error *e),
    void *arg, struct kw_error *e)
{
	struct kw_reg_session *s = NULL;
	struct ix_ent *l = NULL, *ix = NULL, *hit;
	size_t n = 0, n_ix = 0, i, k, misses = 0, hits = 0;
	char path[PATH_MAX];
	struct reg_text it, t;
	struct kw_error ie;
	bool have_index;
	int rc;

	memset(&it, 0, sizeof(it));
	if ((rc = list_sessions(r, &l, &n, &have_index, e)) != 0)
		goto out;
	/* one struct for all (a few kilobytes, mostly exe): reused */
	if ((s = malloc(sizeof(*s))) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
		goto out;
	}
	reg_path(r, INDEX_NAME, path);
	if (!have_index) {
		/* nothing to read or remove */
	} else if (n < INDEX_MIN) {
		ix_changed(r);
		(void)unlinkat(r->dir_fd, INDEX_NAME, 0);
	} else if (reg_read(r, INDEX_NAME, path, REG_FILE_MAX * 64, NULL, 0,
	    &it, &ie) == 0 && !ix_parse(it.p, it.len, &ix, &n_ix)) {
		ix = NULL;
		n_ix = 0;
	}
	for (i = 0; i < n; i++) {
		hit = n_ix > 0 ? bsearch(&l[i], ix, n_ix, sizeof(*ix),
		    ix_cmp) : NULL;
		memset(s, 0, sizeof(*s));
		if (hit != NULL && hit->ino == l[i].ino &&
		    parse_session_text(r, l[i].name, hit->text, hit->len, s,
		    &ie) == 0) {
			l[i].text = hit->text;
			l[i].len = hit->len;
			hits++;
		} else {
			/* not in the index (or not as the file is): read */
			free(s->keys);
			memset(s, 0, sizeof(*s));
			reg_path(r, l[i].name, path);
			rc = reg_read(r, l[i].name, path, REG_FILE_MAX, NULL,
			    0, &t, e);
			if (rc == KW_ENOTFOUND) {	/* removed meanwhile */
				kw_error_clear(e);
				rc = 0;
				continue;
			}
			if (rc != 0)
				break;
			l[i].text = l[i].own = t.heap;
			l[i].len = t.len;
			misses++;
			rc = parse_session_text(r, l[i].name, l[i].text,
			    l[i].len, s, e);
		}
		if (rc == 0)
			rc = journal_apply(r, s, e);
		if (rc == 0)
			rc = fn(s, arg, e);
		free(s->keys);		/* unless fn took them */
		if (rc != 0)
			break;
	}
	if (rc == 0 && n >= INDEX_MIN && (misses > 0 || hits != n_ix)) {
		/* the files that are there, by name (the gone ones freed) */
		for (i = 0, k = 0; i < n; i++) {
			if (l[i].text == NULL)
				free(l[i].name);
			else
				l[k++] = l[i];
		}
		n = k;
		qsort(l, n, sizeof(*l), ix_cmp);
		ix_write(r, l, n);
	}
	/* without the memory to sort them, kw_registry_mark() lists again */
	if (rc == 0 && ids_sort(r->ids, r->n_ids))
		r->ids_valid = true;
out:
	for (i = 0; i < n; i++) {
		free(l[i].name);
		free(l[i].own);
	}
	free(l);
	free(ix);
	free(it.heap);
	free(s);
	return rc;
}

/* kw_registry_sessions()'s walk: keep a copy of each. */
struct sessions_acc {
	struct kw_reg_session *arr;
	size_t n, cap;
};

static int
sessions_keep(struct kw_reg_session *s, void *arg, struct kw_error *e)
{
	struct sessions_acc *a = arg;
	struct kw_reg_session *na;

	if ((na = grow(a->arr, &a->cap, a->n + 1, sizeof(*na))) ==
	    NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	a->arr = na;
	a->arr[a->n++] = *s;
	s->keys = NULL;			/* taken */
	s->n_keys = 0;
	return 0;
}

/* Every session. */
int
kw_registry_sessions(struct kw_registry *r, struct kw_reg_session **out,
    size_t *n, struct kw_error *e)
{
	struct sessions_acc a = { NULL, 0, 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = kw_registry_sessions_walk(r, sessions_keep, &a, e)) != 0) {
		kw_reg_sessions_free(a.arr, a.n);
		return rc;
	}
	*out = a.arr;
	*n = a.n;
	return 0;
}

/* Every user key. */
int
kw_registry_userkeys(struct kw_registry *r, struct kw_reg_userkey **out,
    size_t *n, struct kw_error *e)
{
	struct kw_reg_userkey *arr = NULL, *na;
	const struct dirent64 *de;
	size_t cnt = 0, cap = 0;
	struct reg_dir d;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = reg_opendir(r, &d, e)) != 0)
		return rc;
	while ((de = reg_readdir(&d)) != NULL) {
		if (!reg_name_is(de->d_name, "u."))
			continue;
		if ((na = grow(arr, &cap, cnt + 1, sizeof(*arr))) == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
			break;
		}
		arr = na;
		memset(&arr[cnt], 0, sizeof(*arr));
		rc = read_reg_file(r, de->d_name, NULL, &arr[cnt], e);
		if (rc == KW_ENOTFOUND) {	/* removed meanwhile */
			kw_reg_userkey_clear(&arr[cnt]);
			rc = 0;
			continue;
		}
		if (rc != 0) {
			kw_reg_userkey_clear(&arr[cnt]);
			break;
		}
		cnt++;
	}
	if ((rc = reg_closedir(&d, rc, e)) != 0) {
		kw_reg_userkeys_free(arr, cnt);
		return rc;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

/*
 * Split a session file name "s.<id>.<pid>.<start>": id (17 bytes), pid,
 * start. False when name is not one.
 */
static bool
session_name_parse(const char *name, char *id, pid_t *pid, uint64_t *start)
{
	char buf[NAME_MAX + 1], *pid_s, *start_s;
	uint64_t p;

	if (strnlen(name, NAME_MAX + 1) > NAME_MAX ||
	    !reg_name_is(name, "s.") ||
	    strlen(name) < 2 + KW_SESSION_ID_LEN + 4 ||
	    name[2 + KW_SESSION_ID_LEN] != '.')
		return false;
	memcpy(buf, name, strlen(name) + 1);
	buf[2 + KW_SESSION_ID_LEN] = '\0';
	pid_s = buf + 3 + KW_SESSION_ID_LEN;
	if ((start_s = strchr(pid_s, '.')) == NULL)
		return false;
	*start_s++ = '\0';
	if (!kw_session_id_valid(buf + 2) ||
	    kw_parse_u64(pid_s, 1, INT32_MAX, &p, NULL) != 0 ||
	    kw_parse_u64(start_s, 0, UINT64_MAX, start, NULL) != 0)
		return false;
	memcpy(id, buf + 2, KW_SESSION_ID_LEN + 1);
	*pid = (pid_t)p;
	return true;
}

/* Ids of sessions whose opener is gone, from file names alone. */
int
kw_registry_dead_sessions(struct kw_registry *r, kw_session_id **ids,
    size_t *n, struct kw_error *e)
{
	const struct dirent64 *de;
	kw_session_id *arr = NULL, *na;
	struct kw_opener *op = NULL, *nop;
	size_t cnt = 0, cap = 0, opcap = 0, i, dead = 0;
	struct reg_dir d;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	if ((rc = reg_opendir(r, &d, e)) != 0)
		return rc;
	while ((de = reg_readdir(&d)) != NULL) {
		kw_session_id id;
		pid_t pid;
		uint64_t start;

		if (!session_name_parse(de->d_name, id, &pid, &start))
			continue;
		if ((na = grow(arr, &cap, cnt + 1, sizeof(*arr))) != NULL)
			arr = na;
		if ((nop = grow(op, &opcap, cnt + 1, sizeof(*op))) != NULL)
			op = nop;
		if (na == NULL || nop == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
			break;
		}
		memcpy(arr[cnt], id, sizeof(kw_session_id));
		op[cnt].pid = pid;
		op[cnt].start = start;
		cnt++;
	}
	rc = reg_closedir(&d, rc, e);
	/* every distinct pid once, however many sessions it opened */
	if (rc == 0)
		rc = kw_openers_check(op, cnt, e);
	if (rc != 0) {
		free(arr);
		free(op);
		return rc;
	}
	for (i = 0; i < cnt; i++)
		if (op[i].gone)
			memmove(arr[dead++], arr[i], sizeof(kw_session_id));
	free(op);
	if (dead == 0) {
		free(arr);
		arr = NULL;
	}
	*ids = arr;
	*n = dead;
	return 0;
}

/* ---- the journal ---------------------------------------------------------- */

/* Order marks by session id, then serial. */
static int
mark_cmp(const void *a, const void *b)
{
	const struct kw_reg_mark *x = a, *y = b;
	int c = memcmp(x->session, y->session, KW_SESSION_ID_LEN);

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
	nm = grow(r->marks, &r->cap_marks, r->n_marks + 1, sizeof(*nm));
	if (nm == NULL)
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	r->marks = nm;
	r->marks[r->n_marks++] = m;
	return 0;
}

/* True when the n marks m are in mark_cmp() order. */
static bool
marks_sorted(const struct kw_reg_mark *m, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (mark_cmp(&m[i - 1], &m[i]) > 0)
			return false;
	return true;
}

/*
 * Load the journal once per lock hold (a missing one is empty), sorted.
 * A malformed journal is KW_ECORRUPT: sessions are then not read at all.
 */
static int
journal_load(struct kw_registry *r, struct kw_error *e)
{
	struct parse_ctx c;
	struct reg_text t;
	struct kw_reg_mark *nm;
	char path[PATH_MAX];
	const char *nl;
	size_t lines = 0;
	int rc;

	if (r->marks_loaded)
		return 0;
	reg_path(r, "journal", path);
	rc = reg_read(r, "journal", path, REG_FILE_MAX * 16, NULL, 0, &t, e);
	if (rc == KW_ENOTFOUND) {
		kw_error_clear(e);
		r->marks_loaded = true;
		return 0;
	}
	if (rc != 0)
		return rc;
	/* one mark a line: make room for them at once */
	for (nl = t.p; (nl = memchr(nl, '\n', t.len - (size_t)(nl - t.p))) !=
	    NULL; nl++)
		lines++;
	if ((nm = grow(r->marks, &r->cap_marks, lines + 1,
	    sizeof(*r->marks))) == NULL) {
		free(t.heap);
		return kw_fail(e, KW_ENOMEM, "registry: out of memory");
	}
	r->marks = nm;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.r = r;
	rc = reg_lines(path, t.p, t.len, journal_line, &c, e);
	free(t.heap);
	if (rc != 0) {
		free(r->marks);
		r->marks = NULL;
		r->n_marks = 0;
		r->cap_marks = 0;
		return rc;
	}
	/* kw_registry_mark() writes it sorted */
	if (!marks_sorted(r->marks, r->n_marks))
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

/* Ids of the sessions that have a file now, as numbers, sorted. */
static int
session_ids(struct kw_registry *r, uint64_t **out, size_t *n,
    struct kw_error *e)
{
	uint64_t *ids = NULL, *ni, id;
	const struct dirent64 *de;
	size_t cnt = 0, cap = 0;
	struct reg_dir d;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = reg_opendir(r, &d, e)) != 0)
		return rc;
	while ((de = reg_readdir(&d)) != NULL) {
		if (!session_file_id(de->d_name, &id))
			continue;
		if ((ni = grow(ids, &cap, cnt + 1, sizeof(*ids))) == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
			break;
		}
		ids = ni;
		ids[cnt++] = id;
	}
	if ((rc = reg_closedir(&d, rc, e)) == 0 && !ids_sort(ids, cnt))
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
	if (rc != 0) {
		free(ids);
		return rc;
	}
	*out = ids;
	*n = cnt;
	return 0;
}

/* Write v in decimal at p; returns the end. */
static char *
put_u32(char *p, uint32_t v)
{
	char tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* The longest journal line: "<16 hex> <serial> <version>\n". */
#define JOURNAL_LINE_MAX (KW_SESSION_ID_LEN + 1 + 10 + 1 + 10 + 1)

/*
 * Add marks to the journal and rewrite it: the new marks (sorted) merged
 * with the journal's (sorted), a new one replacing an old one of the same
 * session and serial, keeping only the marks of sessions that still have
 * a file (ids, sorted); the result is sorted, as journal_load() expects.
 */
int
kw_registry_mark(struct kw_registry *r, const struct kw_reg_mark *m, size_t n,
    struct kw_error *e)
{
	static const char header[] = "keyward-journal 1\n";
	struct kw_reg_mark *nw = NULL, *all = NULL;
	const struct kw_reg_mark *pick;
	const uint64_t *ids = NULL;
	uint64_t *ids_own = NULL, sid;
	struct rkey *k = NULL;
	char path[PATH_MAX], *text = NULL, *p;
	size_t total = 0, i = 0, j = 0, at = 0, n_ids = 0;
	int rc, c;

	if (n == 0)
		return 0;
	if ((rc = journal_load(r, e)) != 0)
		return rc;
	reg_path(r, "journal", path);
	for (i = 0; i < n; i++)
		if (!kw_session_id_valid(m[i].session) || m[i].serial <= 0)
			return kw_fail(e, KW_EINTERNAL,
			    "registry: bad journal mark");
	if (r->ids_valid) {
		ids = r->ids;		/* the walk just listed them */
		n_ids = r->n_ids;
	} else if ((rc = session_ids(r, &ids_own, &n_ids, e)) != 0) {
		return rc;
	} else {
		ids = ids_own;
	}
	if ((nw = reallocarray(NULL, n, sizeof(*nw))) == NULL ||
	    (all = reallocarray(NULL, n + r->n_marks, sizeof(*all))) == NULL ||
	    (text = malloc(sizeof(header) + (n + r->n_marks) *
	    JOURNAL_LINE_MAX)) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
		goto out;
	}
	/* the new marks in order (they come in directory order) */
	if (marks_sorted(m, n)) {
		memcpy(nw, m, n * sizeof(*m));
	} else {
		if ((k = reallocarray(NULL, 2 * n, sizeof(*k))) == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "registry: out of memory");
			goto out;
		}
		for (i = 0; i < n; i++) {
			k[i].hi = id_number(m[i].session);
			k[i].lo = (uint32_t)m[i].serial;
			k[i].at = (uint32_t)i;
		}
		rkeys_sort(k, k + n, n, true);
		for (i = 0; i < n; i++)
			nw[i] = m[k[i].at];
	}
	memcpy(text, header, sizeof(header) - 1);
	p = text + sizeof(header) - 1;
	for (i = 0, j = 0; i < n || j < r->n_marks;) {
		if (i == n)
			c = 1;
		else if (j == r->n_marks)
			c = -1;
		else
			c = mark_cmp(&nw[i], &r->marks[j]);
		if (c <= 0) {
			pick = &nw[i++];
			if (c == 0)
				j++;	/* the new mark replaces the old */
		} else {
			pick = &r->marks[j++];
		}
		/* only sessions that still have a file */
		sid = id_number(pick->session);
		while (at < n_ids && ids[at] < sid)
			at++;
		if (at == n_ids || ids[at] != sid)
			continue;
		all[total++] = *pick;
		memcpy(p, pick->session, KW_SESSION_ID_LEN);
		p += KW_SESSION_ID_LEN;
		*p++ = ' ';
		p = put_u32(p, (uint32_t)pick->serial);
		*p++ = ' ';
		p = put_u32(p, pick->version);
		*p++ = '\n';
	}
	if ((rc = kw_atomic_write(path, text, (size_t)(p - text), 0600,
	    KW_WRITE_NOSYNC, e)) != 0)
		goto out;
	free(r->marks);
	r->cap_marks = n + r->n_marks;
	r->marks = all;
	r->n_marks = total;
	all = NULL;
out:
	free(all);
	free(nw);
	free(k);
	free(ids_own);
	free(text);
	return rc;
}
