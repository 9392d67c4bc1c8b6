/*
 * kw_util.c - secret hygiene, trusted files, atomic writes, names and
 * durations for the keyward core.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_util.h"

/* Wipe n bytes at p (explicit_bzero: never optimised away). */
void
kw_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

/* Wipe and free. */
void
kw_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	kw_wipe(p, n);
	free(p);
}

/*
 * Constant-time equality of two n-byte buffers: the time depends on n only,
 * never on where they differ.
 */
bool
kw_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* n random bytes from the kernel. */
int
kw_random(void *buf, size_t n, struct kw_error *e)
{
	unsigned char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return kw_fail_errno(e, KW_ESYSTEM, errno, "getrandom");
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Check the ownership and mode of an open file or directory. */
static int
check_stat(const char *path, const struct stat *st, int flags,
    struct kw_error *e)
{
	/* geteuid() only for a file not root's: each system call counts on
	 * a session open, and most files here are root's */
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return kw_fail(e, KW_EUNSAFE,
		    "%s: owned by uid %lu, not root", path,
		    (unsigned long)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return kw_fail(e, KW_EUNSAFE,
		    "%s: writable by group or others (mode %04o)", path,
		    (unsigned)(st->st_mode & 07777));
	if ((flags & KW_SAFE_SECRET) && (st->st_mode & (S_IRGRP | S_IROTH)))
		return kw_fail(e, KW_EUNSAFE,
		    "%s: readable by group or others (mode %04o); "
		    "expected 0600 or 0400", path,
		    (unsigned)(st->st_mode & 07777));
	return 0;
}

/* Open dirfd/name for reading after checking type, owner, mode, size. */
int
kw_safe_openat(int dirfd, const char *name, const char *path, int flags,
    off_t max_size, int *fd, struct stat *st, struct kw_error *e)
{
	int f, r;

	*fd = -1;
	do {
		f = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY | O_NONBLOCK);
	} while (f < 0 && errno == EINTR);
	if (f < 0) {
		if (errno == ENOENT) {
			if (flags & KW_SAFE_MISSING_OK)
				return kw_fail(e, KW_ENOTFOUND, "%s: missing",
				    path);
			return kw_fail_errno(e, KW_ENOTFOUND, errno, "%s",
			    path);
		}
		if (errno == ELOOP)
			return kw_fail(e, KW_EUNSAFE,
			    "%s: is a symbolic link; refusing to follow it",
			    path);
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", path);
	}
	if (fstat(f, st) < 0) {
		r = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fstat", path);
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		r = kw_fail(e, KW_EUNSAFE, "%s: not a regular file", path);
		goto out;
	}
	if ((r = check_stat(path, st, flags, e)) != 0)
		goto out;
	if (max_size > 0 && st->st_size > max_size) {
		r = kw_fail(e, KW_ETOOBIG, "%s: %lld bytes, over the limit of %lld",
		    path, (long long)st->st_size, (long long)max_size);
		goto out;
	}
	*fd = f;
	return 0;
out:
	close(f);
	return r;
}

/* Open a file for reading after checking path, type, owner, mode, size. */
int
kw_safe_open(const char *path, int flags, off_t max_size, int *fd,
    struct stat *st, struct kw_error *e)
{
	struct stat own;

	*fd = -1;
	if (path == NULL || path[0] != '/')
		return kw_fail(e, KW_EINVAL, "%s: not an absolute path",
		    path != NULL ? path : "(null)");
	return kw_safe_openat(AT_FDCWD, path, path, flags, max_size, fd,
	    st != NULL ? st : &own, e);
}

/* read(2) a file of known size (see kw_util.h). */
ssize_t
kw_read_sized(int fd, void *buf, size_t cap, size_t size)
{
	unsigned char *p = buf;
	size_t n = 0;
	ssize_t r;

	while (n < cap) {
		r = read(fd, p + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n >= size && n < cap)
			break;		/* all fstat() promised: the end */
	}
	return (ssize_t)n;
}

/* Read a whole trusted file into a NUL-terminated buffer. */
int
kw_read_file(const char *path, int flags, size_t max_size, char **buf,
    size_t *len, struct kw_error *e)
{
	struct stat st;
	char *b = NULL;
	size_t cap, n;
	ssize_t r;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	if ((rc = kw_safe_open(path, flags, (off_t)max_size, &fd, &st,
	    e)) != 0)
		return rc;
	cap = (size_t)st.st_size + 1;
	if ((b = malloc(cap)) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	/* the file may not grow past what fstat said */
	r = kw_read_sized(fd, b, cap, (size_t)st.st_size);
	if (r < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, (int)-r, "%s: read", path);
		goto out;
	}
	n = (size_t)r;
	if (n == cap) {
		rc = kw_fail(e, KW_ECORRUPT, "%s: changed while being read",
		    path);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	if (b != NULL)
		kw_freezero(b, cap);
	close(fd);
	return rc;
}

/* Check a directory's type, owner and mode. */
int
kw_check_dir(const char *dir, struct kw_error *e)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return kw_fail_errno(e, errno == ENOENT ? KW_ENOTFOUND :
		    KW_ESYSTEM, errno, "%s", dir);
	if (S_ISLNK(st.st_mode))
		return kw_fail(e, KW_EUNSAFE,
		    "%s: is a symbolic link; refusing to follow it", dir);
	if (!S_ISDIR(st.st_mode))
		return kw_fail(e, KW_EUNSAFE, "%s: not a directory", dir);
	return check_stat(dir, &st, 0, e);
}

/* Make a directory if missing, then check it. */
int
kw_ensure_dir(const char *dir, mode_t mode, struct kw_error *e)
{
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: mkdir", dir);
	return kw_check_dir(dir, e);
}

/* write(2) everything, retrying. */
int
kw_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t r;

	while (len > 0) {
		r = write(fd, p, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* read(2) up to len bytes, retrying on EINTR and short reads until EOF. */
ssize_t
kw_read_all(int fd, void *buf, size_t len)
{
	return kw_read_sized(fd, buf, len, SIZE_MAX);	/* no size known */
}

/* fsync the parent directory of path. */
int
kw_fsync_parent(const char *path, struct kw_error *e)
{
	char tmp[PATH_MAX];
	int fd, rc = 0;

	if (strlen(path) >= sizeof(tmp))
		return kw_fail(e, KW_ETOOBIG, "%s: path too long", path);
	strcpy(tmp, path);
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: open directory",
		    path);
	while (fsync(fd) < 0) {
		if (errno == EINTR)
			continue;
		rc = kw_fail_errno(e, KW_ESYSTEM, errno,
		    "%s: fsync directory", path);
		break;
	}
	close(fd);
	return rc;
}

/* Atomically replace (or create) path with data. */
int
kw_atomic_write(const char *path, const void *data, size_t len, mode_t mode,
    int flags, struct kw_error *e)
{
	char tmp[PATH_MAX];
	int fd = -1, rc, r;

	if (kw_snprintf(tmp, sizeof(tmp), e, "%s.tmp.XXXXXX", path) != 0)
		return kw_error_prefix(e, "%s", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return kw_fail_errno(e, KW_ESYSTEM, errno,
		    "%s: cannot create a temporary file", path);
	if (fchmod(fd, mode) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fchmod", tmp);
		goto fail;
	}
	if ((r = kw_write_all(fd, data, len)) != 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, -r, "%s: write", tmp);
		goto fail;
	}
	r = 0;
	while (!(flags & KW_WRITE_NOSYNC) && (r = fsync(fd)) < 0 &&
	    errno == EINTR)
		;
	if (r < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fsync", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: close", tmp);
		goto fail;
	}
	fd = -1;
	if (flags & KW_WRITE_EXCL) {
		if (link(tmp, path) < 0) {
			rc = kw_fail_errno(e, errno == EEXIST ? KW_EEXIST :
			    KW_ESYSTEM, errno, "%s", path);
			goto fail;
		}
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: rename", path);
		goto fail;
	}
	if (flags & KW_WRITE_NOSYNC)
		return 0;
	return kw_fsync_parent(path, e);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Is name a valid secret name? */
bool
kw_name_valid(const char *name)
{
	size_t i, n;
	char c;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n < 1 || n > KW_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		c = name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return false;
	}
	return true;
}

/* Validate a secret name and say why it is not valid. */
int
kw_name_check(const char *name, struct kw_error *e)
{
	if (name == NULL || name[0] == '\0')
		return kw_fail(e, KW_EINVAL, "empty secret name");
	if (strlen(name) > KW_NAME_MAX)
		return kw_fail(e, KW_EINVAL,
		    "secret name is longer than %d characters", KW_NAME_MAX);
	if (!kw_name_valid(name))
		return kw_fail(e, KW_EINVAL,
		    "invalid secret name (use 1-%d of A-Z a-z 0-9 . _ -, "
		    "starting with a letter or digit)", KW_NAME_MAX);
	return 0;
}

/* Parse "1h30m"-style durations. */
int
kw_duration_parse(const char *s, uint64_t *secs, struct kw_error *e)
{
	uint64_t total = 0, n, mult;
	const char *p = s;
	bool digits;

	*secs = 0;
	if (s == NULL || *s == '\0')
		return kw_fail(e, KW_EINVAL, "empty duration");
	while (*p != '\0') {
		n = 0;
		digits = false;
		while (*p >= '0' && *p <= '9') {
			digits = true;
			if (n > (UINT64_MAX - 9) / 10)
				return kw_fail(e, KW_EINVAL,
				    "duration '%s' is out of range", s);
			n = n * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (!digits)
			return kw_fail(e, KW_EINVAL,
			    "invalid duration '%s' (expected e.g. 30s, 15m, "
			    "1h, 7d)", s);
		switch (*p) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case '\0':
			return kw_fail(e, KW_EINVAL,
			    "duration '%s' has no unit (s, m, h or d)", s);
		default:
			return kw_fail(e, KW_EINVAL,
			    "invalid unit in duration '%s' (s, m, h or d)", s);
		}
		p++;
		if (n > KW_DURATION_MAX / mult ||
		    total + n * mult > KW_DURATION_MAX)
			return kw_fail(e, KW_EINVAL,
			    "duration '%s' is out of range (at most 3650d)", s);
		total += n * mult;
	}
	if (total == 0)
		return kw_fail(e, KW_EINVAL, "duration '%s' is zero", s);
	*secs = total;
	return 0;
}

/* Format a duration exactly, largest units first. */
void
kw_duration_format(uint64_t secs, char *buf, size_t size)
{
	static const struct { uint64_t mult; char unit; } u[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t i, off = 0;
	int r;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (secs == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (secs < u[i].mult)
			continue;
		r = snprintf(buf + off, size - off, "%llu%c",
		    (unsigned long long)(secs / u[i].mult), u[i].unit);
		if (r < 0 || (size_t)r >= size - off)
			return;
		off += (size_t)r;
		secs %= u[i].mult;
	}
}

/* The decimal digits of v at out, NUL-terminated; their count. */
static size_t
fmt_digits(char *out, uint64_t v)
{
	char tmp[KW_FMT_I64_LEN];
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		out[len++] = tmp[--n];
	out[len] = '\0';
	return len;
}

/* Decimal text of v (kw_util.h). */
size_t
kw_fmt_u64(char buf[KW_FMT_I64_LEN], uint64_t v)
{
	return fmt_digits(buf, v);
}

/* Decimal text of v, signed (kw_util.h). */
size_t
kw_fmt_i64(char buf[KW_FMT_I64_LEN], int64_t v)
{
	if (v >= 0)
		return fmt_digits(buf, (uint64_t)v);
	buf[0] = '-';
	/* the magnitude, also of INT64_MIN: at most 19 digits after '-' */
	return 1 + fmt_digits(buf + 1, (uint64_t)0 - (uint64_t)v);
}

/* Strict unsigned decimal parsing with bounds. */
int
kw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    struct kw_error *e)
{
	unsigned long long v;
	char *end;

	*out = 0;
	if (s == NULL || *s < '0' || *s > '9')
		return kw_fail(e, KW_EINVAL, "'%s' is not a number",
		    s != NULL ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || *end != '\0' || v < min || v > max) {
		if (*end != '\0')
			return kw_fail(e, KW_EINVAL, "'%s' is not a number", s);
		return kw_fail(e, KW_EINVAL,
		    "%s is out of range (%llu to %llu)", s,
		    (unsigned long long)min, (unsigned long long)max);
	}
	*out = v;
	return 0;
}

/* n decimal digits at s into *out; false when not all digits. */
static bool
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Parse an ISO 8601 date and time (local, or UTC with 'Z'). */
int
kw_parse_iso_time(const char *s, time_t *out, struct kw_error *e)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	size_t len = strlen(s);
	struct tm tm;
	bool utc = false;

	*out = 0;
	if (len > 0 && s[len - 1] == 'Z') {
		utc = true;
		len--;
	}
	if (!((len == 10 || len == 16 || len == 19) && digits(s, 4, &y) &&
	    s[4] == '-' && digits(s + 5, 2, &mo) && s[7] == '-' &&
	    digits(s + 8, 2, &d) && (len == 10 || ((s[10] == 'T' ||
	    s[10] == ' ') && digits(s + 11, 2, &h) && s[13] == ':' &&
	    digits(s + 14, 2, &mi) && (len == 16 || (s[16] == ':' &&
	    digits(s + 17, 2, &sec)))))))
		return kw_fail(e, KW_EINVAL, "'%s' is not a time "
		    "YYYY-MM-DD[THH:MM[:SS]][Z]", s);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 59)
		return kw_fail(e, KW_EINVAL, "'%s': no such time", s);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	*out = utc ? timegm(&tm) : mktime(&tm);
	if (*out == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
		return kw_fail(e, KW_EINVAL, "'%s': no such time", s);
	return 0;
}

/* strdup reporting KW_ENOMEM. */
int
kw_strdup(const char *s, char **out, struct kw_error *e)
{
	*out = strdup(s);
	if (*out == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	return 0;
}

/* Bounded snprintf that refuses to truncate. */
int
kw_snprintf(char *buf, size_t size, struct kw_error *e, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= size)
		return kw_fail(e, KW_ETOOBIG, "text too long (limit %zu)",
		    size - 1);
	return 0;
}
