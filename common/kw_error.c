/*
 * kw_error.c - error codes and messages for the keyward core.
 */
#include "config.h"

/* the definitions below, not the analyzer's view of them (kw_error.h) */
#define KW_ERROR_IMPL

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kw_error.h"

/* Clear e: no error, no message. */
void
kw_error_clear(struct kw_error *e)
{
	if (e == NULL)
		return;
	e->code = KW_OK;
	e->msg[0] = '\0';
}

/* Fill e from a format and a va_list; returns code. */
static int
kw_vfail(struct kw_error *e, int code, int errnum, const char *fmt, va_list ap)
{
	size_t len;

	if (e == NULL)
		return code;
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (errnum != 0) {
		len = strlen(e->msg);
		if (len < sizeof(e->msg))
			snprintf(e->msg + len, sizeof(e->msg) - len, ": %s",
			    strerror(errnum));
	}
	return code;
}

/* Record an error with a message; returns code. */
int
kw_fail(struct kw_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = kw_vfail(e, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

/* Record an error with a message and strerror(errnum); returns code. */
int
kw_fail_errno(struct kw_error *e, int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = kw_vfail(e, code, errnum, fmt, ap);
	va_end(ap);
	return code;
}

/* Append s to the NUL-terminated buf of size bytes, truncating. */
static void
append(char *buf, size_t size, const char *s)
{
	size_t have = strlen(buf), n = strlen(s);

	if (have + 1 >= size)
		return;
	if (n > size - 1 - have)
		n = size - 1 - have;
	memcpy(buf + have, s, n);
	buf[have + n] = '\0';
}

/* Prefix the message of e with a formatted string and ": "; returns e->code. */
int
kw_error_prefix(struct kw_error *e, const char *fmt, ...)
{
	char prefix[KW_ERROR_MSG_MAX], old[KW_ERROR_MSG_MAX];
	va_list ap;

	if (e == NULL)
		return KW_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	if (old[0] == '\0')
		snprintf(old, sizeof(old), "%s", kw_errcode_str(e->code));
	/* prefix, ": ", old; truncated at the buffer's end */
	e->msg[0] = '\0';
	append(e->msg, sizeof(e->msg), prefix);
	append(e->msg, sizeof(e->msg), ": ");
	append(e->msg, sizeof(e->msg), old);
	return e->code;
}

/* Describe an error code in a few words. */
const char *
kw_errcode_str(int code)
{
	switch (code) {
	case KW_OK:		return "success";
	case KW_EINTERNAL:	return "internal error";
	case KW_ENOMEM:		return "out of memory";
	case KW_ESYSTEM:	return "system error";
	case KW_EINVAL:		return "invalid input";
	case KW_EUNSAFE:	return "unsafe file";
	case KW_ECORRUPT:	return "integrity check failed";
	case KW_ENOTFOUND:	return "not found";
	case KW_EEXIST:		return "already exists";
	case KW_EDENIED:	return "denied by policy";
	case KW_EAUDIT:		return "audit unavailable";
	case KW_EKEYRING:	return "kernel keyring error";
	case KW_ETOOBIG:	return "too large";
	case KW_EPERM:		return "permission denied";
	case KW_EKEY:		return "wrong key or tampered data";
	case KW_EQUOTA:		return "kernel key quota exceeded";
	}
	return "unknown error";
}

/* The message of e, or the description of its code when it has none. */
const char *
kw_error_text(const struct kw_error *e)
{
	if (e == NULL)
		return "unknown error";
	if (e->msg[0] != '\0')
		return e->msg;
	return kw_errcode_str(e->code);
}
