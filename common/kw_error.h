/*
 * kw_error.h - the one error model of the keyward core.
 *
 * Core functions return 0 on success or a negative KW_E* code on failure.
 * Functions that can fail for reasons a person must read take a
 * struct kw_error * and fill it with the code and a message of the form
 * "file:line: what is wrong" (or "what is wrong" where no file is involved).
 * The core never prints, logs or exits: only the edges (CLI, PAM module)
 * speak, with kw_error_text().
 */
#ifndef KW_ERROR_H
#define KW_ERROR_H

#include <stddef.h>

enum kw_errcode {
	KW_OK = 0,
	KW_EINTERNAL = -1,	/* a bug or an impossible state */
	KW_ENOMEM = -2,		/* allocation failed */
	KW_ESYSTEM = -3,	/* a system call failed (errno in the message) */
	KW_EINVAL = -4,		/* bad input: syntax, range, name */
	KW_EUNSAFE = -5,	/* a file failed its ownership/permission checks */
	KW_ECORRUPT = -6,	/* integrity check failed (vault, registry) */
	KW_ENOTFOUND = -7,	/* no such secret, file or entry */
	KW_EEXIST = -8,		/* already exists */
	KW_EDENIED = -9,	/* refused by policy */
	KW_EAUDIT = -10,	/* audit unavailable or a record could not be written */
	KW_EKEYRING = -11,	/* kernel keyring operation failed */
	KW_ETOOBIG = -12,	/* value, file or line over its limit */
	KW_EPERM = -13,		/* caller lacks the privilege (not root) */
	KW_EKEY = -14,		/* wrong master key / authentication failure */
	KW_EQUOTA = -15,	/* kernel key quota exceeded (EDQUOT) */
};

#define KW_ERROR_MSG_MAX 512

struct kw_error {
	int code;
	char msg[KW_ERROR_MSG_MAX];
};

/* Clear an error (code 0, empty message). Safe with NULL. */
void kw_error_clear(struct kw_error *e);

/*
 * Record an error: code and printf-style message. Returns code so callers
 * can write "return kw_fail(e, KW_EINVAL, ...)". Safe with e == NULL.
 */
int kw_fail(struct kw_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As kw_fail, with ": strerror(errnum)" appended. */
int kw_fail_errno(struct kw_error *e, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Prefix an existing message with "prefix: " (e.g. a file name). Returns the
 * error's code.
 */
int kw_error_prefix(struct kw_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#if defined(__clang_analyzer__) && !defined(KW_ERROR_IMPL)
/*
 * For the static analyzer only (scan-build, clang-tidy): these functions
 * live in another file, so it cannot see that they return a failure code;
 * it then explores "failed, yet returned 0" paths that do not exist. Tell
 * it: kw_fail and kw_fail_errno return their code, kw_error_prefix a
 * failure. Compiled code is unchanged.
 */
#define kw_fail(e, code, ...) \
	((void)kw_fail((e), (code), __VA_ARGS__), (code))
#define kw_fail_errno(e, code, errnum, ...) \
	((void)kw_fail_errno((e), (code), (errnum), __VA_ARGS__), (code))
#define kw_error_prefix(e, ...) \
	((void)kw_error_prefix((e), __VA_ARGS__), KW_EINTERNAL)
#endif

/* A short constant description of a code ("invalid input", ...). */
const char *kw_errcode_str(int code);

/* The message of e if set, else the description of its code. */
const char *kw_error_text(const struct kw_error *e);

#endif /* KW_ERROR_H */
