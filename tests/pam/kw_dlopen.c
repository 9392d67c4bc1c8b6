/*
 * kw_dlopen.c - test driver: dlopen(RTLD_NOW) a PAM module and check that
 * every pam_sm_* entry point keyward implements resolves.
 * Usage: kw_dlopen MODULE.so; exit 0 when all is well.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	static const char *const syms[] = {
		"pam_sm_acct_mgmt", "pam_sm_open_session",
		"pam_sm_close_session", "pam_sm_setcred",
		"pam_sm_authenticate",
	};
	void *h;
	size_t i;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: kw_dlopen MODULE.so\n");
		return 2;
	}
	if ((h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if (dlsym(h, syms[i]) == NULL) {
			fprintf(stderr, "missing symbol %s\n", syms[i]);
			rc = 1;
		}
	}
	dlclose(h);
	return rc;
}
