/*
 * kw_pamdrive.c - test driver: run PAM operations in the order given,
 * including the setcred flags pamtester lacks. Answers no prompt.
 * Usage: kw_pamdrive SERVICE USER OP...
 *   OP: acct open close establish delete reinit refresh, or env:NAME=VALUE
 *   (pam_putenv, as an application or a module could)
 * Exit 0 when every operation returned PAM_SUCCESS; otherwise prints
 * "OP: pam error text" and exits 1 at the first failure.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <security/pam_appl.h>

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
	int i, r = PAM_SUCCESS;

	if (argc < 4) {
		fprintf(stderr, "usage: kw_pamdrive SERVICE USER OP...\n");
		return 2;
	}
	if ((r = pam_start(argv[1], argv[2], &pc, &pamh)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %s\n", pam_strerror(pamh, r));
		return 1;
	}
	for (i = 3; i < argc && r == PAM_SUCCESS; i++) {
		const char *op = argv[i];

		if (strncmp(op, "env:", 4) == 0)
			r = pam_putenv(pamh, op + 4);
		else if (strcmp(op, "acct") == 0)
			r = pam_acct_mgmt(pamh, 0);
		else if (strcmp(op, "open") == 0)
			r = pam_open_session(pamh, 0);
		else if (strcmp(op, "close") == 0)
			r = pam_close_session(pamh, 0);
		else if (strcmp(op, "establish") == 0)
			r = pam_setcred(pamh, PAM_ESTABLISH_CRED);
		else if (strcmp(op, "delete") == 0)
			r = pam_setcred(pamh, PAM_DELETE_CRED);
		else if (strcmp(op, "reinit") == 0)
			r = pam_setcred(pamh, PAM_REINITIALIZE_CRED);
		else if (strcmp(op, "refresh") == 0)
			r = pam_setcred(pamh, PAM_REFRESH_CRED);
		else {
			fprintf(stderr, "unknown op %s\n", op);
			pam_end(pamh, PAM_SUCCESS);
			return 2;
		}
		if (r != PAM_SUCCESS)
			fprintf(stderr, "%s: %s\n", op, pam_strerror(pamh, r));
	}
	pam_end(pamh, r);
	return r == PAM_SUCCESS ? 0 : 1;
}
