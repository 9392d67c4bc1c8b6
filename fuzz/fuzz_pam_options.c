/*
 * fuzz_pam_options.c - fuzz target: pam_keyward.so's option parser. The
 * input is split at NUL bytes into at most 64 module arguments (PAM hands
 * the module arbitrary strings from /etc/pam.d, brackets allow blanks).
 * An accepted config= must be an absolute path that keyward.conf's
 * defaults accept.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kw_config.h"
#include "pam_options.h"

#define MAX_ARGS 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_ARGS];
	struct kw_pam_options o;
	struct kw_config cfg;
	struct kw_error e;
	char *text, *p, *end;
	int argc = 0;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	end = text + size;
	for (p = text; p <= end && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	if (size == 0)
		argc = 0;
	kw_error_clear(&e);
	if (kw_pam_options_parse(argc, argv, &o, &e) != 0) {
		if (e.msg[0] == '\0')
			abort();	/* a refusal always says why */
	} else if (o.config != NULL) {
		if (o.config[0] != '/')
			abort();
		if (kw_config_defaults(&cfg, o.config, NULL, &e) == 0)
			kw_config_free(&cfg);
	}
	free(text);
	return 0;
}
