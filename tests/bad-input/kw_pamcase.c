/*
 * kw_pamcase.c - test driver: run PAM operations on a service read from a
 * private directory (pam_start_confdir: no file in /etc/pam.d), answering
 * no prompt, with every syslog message of the modules printed on stderr
 * as "syslog: MESSAGE" (the driver defines the syslog functions libpam
 * calls, so no syslog daemon is needed). Also the driver the valgrind run
 * uses to cover pam_keyward.so.
 * With KW_PAMCASE_KEEP=MODULE the module is loaded first with
 * RTLD_NODELETE, so that leak reports after pam_end() can name its code.
 * Usage: kw_pamcase CONFDIR SERVICE USER OP...
 *   OP: acct open close
 * Exit 0 when every operation returned PAM_SUCCESS; otherwise prints
 * "OP: pam error text" and exits 1 at the first failure (2: usage).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

/* Print one syslog message on stderr. */
static void
emit(const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "syslog: %s\n", msg);
}

/*
 * The syslog entry points glibc and a fortified libpam use (declared here:
 * <syslog.h> would make syslog() a fortify wrapper).
 */
void syslog(int pri, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vsyslog(int pri, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void __syslog_chk(int pri, int flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void
vsyslog(int pri, const char *fmt, va_list ap)
{
	(void)pri;
	emit(fmt, ap);
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	(void)flag;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)pri;
	(void)flag;
	emit(fmt, ap);
}

/* No prompts: fail any. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	(void)n;
	(void)msg;
	(void)arg;
	*resp = NULL;
	return PAM_CONV_ERR;
}

int
main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	const char *keep = getenv("KW_PAMCASE_KEEP");
	int i, r = PAM_SUCCESS;

	if (argc < 5) {
		fprintf(stderr, "usage: kw_pamcase CONFDIR SERVICE USER OP...\n");
		return 2;
	}
	if (keep != NULL && *keep != '\0' &&
	    dlopen(keep, RTLD_NOW | RTLD_NODELETE) == NULL)
		fprintf(stderr, "kw_pamcase: %s\n", dlerror());
	r = pam_start_confdir(argv[2], argv[3], &pc, argv[1], &pamh);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %s\n", pam_strerror(pamh, r));
		return 1;
	}
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "acct") == 0)
			r = pam_acct_mgmt(pamh, 0);
		else if (strcmp(argv[i], "open") == 0)
			r = pam_open_session(pamh, 0);
		else if (strcmp(argv[i], "close") == 0)
			r = pam_close_session(pamh, 0);
		else {
			fprintf(stderr, "unknown op '%s'\n", argv[i]);
			pam_end(pamh, PAM_SUCCESS);
			return 2;
		}
		if (r != PAM_SUCCESS) {
			fprintf(stderr, "%s: %s\n", argv[i],
			    pam_strerror(pamh, r));
			break;
		}
	}
	pam_end(pamh, r);
	return r == PAM_SUCCESS ? 0 : 1;
}
