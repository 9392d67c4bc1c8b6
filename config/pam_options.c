/*
 * pam_options.c - the one parser of pam_keyward.so's module arguments.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "pam_options.h"

/* True when s holds a control character (a byte below 0x20, or DEL). */
static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * Parse the module's arguments. Takes argc/argv as PAM passes them and
 * fills o; returns 0 or KW_EINVAL naming the first bad option.
 */
int
kw_pam_options_parse(int argc, const char **argv, struct kw_pam_options *o,
    struct kw_error *e)
{
	const char *arg;
	int i;

	memset(o, 0, sizeof(*o));
	if (argc < 0 || (argc > 0 && argv == NULL))
		return kw_fail(e, KW_EINVAL, "bad option vector");
	for (i = 0; i < argc; i++) {
		arg = argv[i];
		if (arg == NULL)
			return kw_fail(e, KW_EINVAL, "option %d is missing",
			    i + 1);
		if (strncmp(arg, "config=", 7) == 0) {
			if (o->config != NULL)
				return kw_fail(e, KW_EINVAL, "option config= "
				    "given more than once");
			arg += 7;
			if (arg[0] != '/')
				return kw_fail(e, KW_EINVAL, "option config=: "
				    "'%s' is not an absolute path", arg);
			if (strlen(arg) >= PATH_MAX)
				return kw_fail(e, KW_EINVAL, "option config=: "
				    "path longer than %d bytes", PATH_MAX - 1);
			if (has_control(arg))
				return kw_fail(e, KW_EINVAL, "option config=: "
				    "path has a control character");
			o->config = arg;
		} else if (strcmp(arg, "debug") == 0) {
			o->debug = true;
		} else {
			return kw_fail(e, KW_EINVAL, "unknown option '%s'",
			    arg);
		}
	}
	return 0;
}
