/*
 * kw_util.h - small shared pieces of the keyward core: trusted file access,
 * atomic writes, secret hygiene, names and durations.
 */
#ifndef KW_UTIL_H
#define KW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "kw_error.h"

/* ---- secret hygiene ---------------------------------------------------- */

/* Wipe n bytes at p in a way the compiler cannot elide. NULL-safe. */
void kw_wipe(void *p, size_t n);

/* Wipe then free a buffer of n bytes. NULL-safe. */
void kw_freezero(void *p, size_t n);

/* Constant-time comparison of n bytes; true when equal. */
bool kw_ct_equal(const void *a, const void *b, size_t n);

/* Fill buf with n bytes from getrandom(2) (blocking until seeded). */
int kw_random(void *buf, size_t n, struct kw_error *e);

/* ---- trusted files ----------------------------------------------------- */

/* Requirements for kw_safe_open(). */
#define KW_SAFE_SECRET	0x01	/* not group/other readable either */
#define KW_SAFE_MISSING_OK 0x02	/* a missing file is KW_ENOTFOUND, quietly */

/*
 * Open an existing file for reading only after checking it: absolute path,
 * O_NOFOLLOW|O_CLOEXEC|O_NOCTTY, then fstat() on the descriptor: a regular
 * file, owned by root (or by the effective uid when the caller is not root,
 * which only ever reads its own files), not group/other writable, and with
 * KW_SAFE_SECRET not group/other readable; at most max_size bytes
 * (0 = no cap). On success *fd is the open descriptor (non-blocking, as
 * kw_safe_openat() leaves it: nothing changes for a regular file) and, when
 * st is not NULL, *st its status. Errors name the path.
 */
int kw_safe_open(const char *path, int flags, off_t max_size, int *fd,
    struct stat *st, struct kw_error *e);

/*
 * The same checks for name relative to the directory dirfd (which the
 * caller has checked), path naming the file in messages; the descriptor
 * is left non-blocking (O_NONBLOCK: a FIFO must not block the open; it
 * changes nothing for a regular file) and *st holds its status.
 */
int kw_safe_openat(int dirfd, const char *name, const char *path, int flags,
    off_t max_size, int *fd, struct stat *st, struct kw_error *e);

/*
 * read(2) a file that fstat() said is size bytes into buf (cap bytes, at
 * least size + 1 to notice growth): until EOF, until cap, or until size
 * bytes came (a regular file replaced by rename, never changed in place,
 * ends there: no read(2) to see the EOF). Returns the bytes read or
 * -errno; cap bytes read means the file grew since fstat().
 */
ssize_t kw_read_sized(int fd, void *buf, size_t cap, size_t size);

/*
 * Read a whole trusted file (kw_safe_open() checks) into a NUL-terminated
 * heap buffer. *buf must be freed with kw_freezero(*buf, *len + 1).
 */
int kw_read_file(const char *path, int flags, size_t max_size, char **buf,
    size_t *len, struct kw_error *e);

/*
 * Check that dir is a directory (not a symlink) owned by root (or the
 * effective uid) and not group/other writable.
 */
int kw_check_dir(const char *dir, struct kw_error *e);

/*
 * Create dir with mode if it does not exist, then check it as kw_check_dir().
 */
int kw_ensure_dir(const char *dir, mode_t mode, struct kw_error *e);

/* Flags for kw_atomic_write(). */
#define KW_WRITE_EXCL	0x01	/* fail with KW_EEXIST if path exists */
#define KW_WRITE_NOSYNC	0x02	/* no fsync: runtime state (/run) that a
				 * reboot discards anyway; rename keeps it
				 * atomic for readers and crashed writers */

/*
 * Replace path atomically with len bytes of data: a temporary file made
 * with mkstemp() in the same directory, fchmod(mode), write, fsync, rename
 * over path (or link(2) for KW_WRITE_EXCL), fsync of the directory (both
 * fsyncs skipped with KW_WRITE_NOSYNC). On any
 * failure the old file is untouched and the temporary file removed.
 */
int kw_atomic_write(const char *path, const void *data, size_t len,
    mode_t mode, int flags, struct kw_error *e);

/* write(2) all of buf, retrying on EINTR and short writes. 0 or -errno. */
int kw_write_all(int fd, const void *buf, size_t len);

/* read(2) up to len bytes, retrying on EINTR; returns bytes read or -errno. */
ssize_t kw_read_all(int fd, void *buf, size_t len);

/* fsync the directory that holds path. */
int kw_fsync_parent(const char *path, struct kw_error *e);

/* ---- names and durations ----------------------------------------------- */

#define KW_NAME_MAX 64

/* True when name is a valid secret name: 1-64 of [A-Za-z0-9._-], first
 * an ASCII letter or digit. */
bool kw_name_valid(const char *name);

/* kw_name_valid() with an error that says why not. */
int kw_name_check(const char *name, struct kw_error *e);

/* The longest duration keyward accepts: 3650 days. */
#define KW_DURATION_MAX (3650ULL * 86400ULL)

/*
 * Parse a duration: one or more <digits><unit> groups, unit s, m, h or d
 * ("30s", "15m", "1h30m", "7d"); at least 1 second, at most KW_DURATION_MAX.
 * *secs receives the value in seconds.
 */
int kw_duration_parse(const char *s, uint64_t *secs, struct kw_error *e);

/* Format secs as the shortest exact duration ("1h30m", "0s"). */
void kw_duration_format(uint64_t secs, char *buf, size_t size);

/*
 * Parse an unsigned decimal with no sign, no blanks and no trailing junk,
 * within [min, max].
 */
int kw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    struct kw_error *e);

/*
 * Parse an ISO 8601 time: YYYY-MM-DD, YYYY-MM-DDTHH:MM or
 * YYYY-MM-DDTHH:MM:SS ('T' or a blank between date and time), local time,
 * or UTC with a trailing 'Z'. Times that do not exist (Feb 30, 25:00) are
 * errors. The message names s; callers prefix the option.
 */
int kw_parse_iso_time(const char *s, time_t *out, struct kw_error *e);

/* ---- text ---------------------------------------------------------------- */

/* strdup that returns KW_ENOMEM through e. */
int kw_strdup(const char *s, char **out, struct kw_error *e);

/* snprintf that fails with KW_ETOOBIG when the result would not fit. */
int kw_snprintf(char *buf, size_t size, struct kw_error *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Room for what kw_fmt_u64() and kw_fmt_i64() write, NUL included
 * ("18446744073709551615", "-9223372036854775808").
 */
#define KW_FMT_I64_LEN 21

/*
 * Write v in decimal, as printf's "%llu" (kw_fmt_u64) or "%lld"
 * (kw_fmt_i64) would, into buf, NUL-terminated; return its length. For
 * the hot record and registry paths, where a printf per number costs more
 * than the rest of the line.
 */
size_t kw_fmt_u64(char buf[KW_FMT_I64_LEN], uint64_t v);
size_t kw_fmt_i64(char buf[KW_FMT_I64_LEN], int64_t v);

#endif /* KW_UTIL_H */
