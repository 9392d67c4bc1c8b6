/*
 * cmd_pamcheck.c - the PAM part of 'keyward check': where pam_keyward.so
 * sits in the services of /etc/pam.d (under --root, ROOT/etc/pam.d).
 */
#include "config.h"

#include <stdio.h>

#include "cli.h"
#include "pam_stack.h"

/* Print one PAM finding as a check warning and count it. */
static void
print_pam_warning(const char *where, const char *msg, void *arg)
{
	unsigned *warnings = arg;

	printf("%s: warning: %s\n", where, msg);
	(*warnings)++;
}

/* The PAM part of 'keyward check'. */
int
cli_check_pam(struct cli *c, unsigned *warnings, struct kw_error *e)
{
	return kw_pam_check(c->root, print_pam_warning, warnings, e);
}
