/*
 * pam_options.h - the options of pam_keyward.so as given in /etc/pam.d
 * (pam_keyward(8)): parsed by the core so the module, the tests and the
 * fuzzer share one strict parser.
 */
#ifndef KW_PAM_OPTIONS_H
#define KW_PAM_OPTIONS_H

#include <stdbool.h>

#include "kw_error.h"

struct kw_pam_options {
	const char *config;	/* config=PATH (points into argv), NULL = default */
	bool debug;		/* debug */
};

/*
 * Parse the module arguments argv[0..argc-1] into o (cleared on entry).
 * Accepted: "config=/absolute/path" (at most once, shorter than PATH_MAX,
 * no control characters) and "debug". Returns 0, or KW_EINVAL with a
 * message for syslog ("unknown option 'x'", "option config=: 'x' is not
 * an absolute path", ...) on the first bad option.
 */
int kw_pam_options_parse(int argc, const char **argv,
    struct kw_pam_options *o, struct kw_error *e);

#endif /* KW_PAM_OPTIONS_H */
