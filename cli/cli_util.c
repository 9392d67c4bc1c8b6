/*
 * cli_util.c - printing, config loading and value input for the command.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kw_util.h"

/* "keyward: message" on stderr. */
void
cli_errorf(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c != NULL && c->prog != NULL ? c->prog :
	    "keyward");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print an error from the core; KW_EXIT_FAIL. */
int
cli_fail(struct cli *c, const struct kw_error *e)
{
	cli_errorf(c, "%s", kw_error_text(e));
	return KW_EXIT_FAIL;
}

/* A usage error; KW_EXIT_USAGE. */
int
cli_usage(struct cli *c, const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", c->prog, cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: keyward %s %s\n", cmd->name, cmd->args);
	return KW_EXIT_USAGE;
}

/* Full help of one subcommand. */
void
cli_print_cmd_help(const struct cli_cmd *cmd)
{
	printf("usage: keyward %s %s\n\n%s\n%s", cmd->name, cmd->args,
	    cmd->summary, cmd->help);
}

/* True when any argument before "--" is -h or --help. */
bool
cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

/* Load keyward.conf once. */
int
cli_load_config(struct cli *c, struct kw_error *e)
{
	int rc;

	if (c->cfg_loaded)
		return 0;
	if (c->config_path == NULL) {
		if (c->root != NULL) {
			if (kw_snprintf(c->config_buf, sizeof(c->config_buf), e,
			    "%s%s", c->root, kw_config_default_path()) != 0)
				return kw_error_prefix(e, "--root");
			c->config_path = c->config_buf;
		} else {
			c->config_path = kw_config_default_path();
		}
	}
	rc = kw_config_load(&c->cfg, c->config_path, e);
	if (rc == KW_ENOTFOUND)
		kw_error_prefix(e, "no configuration (run 'keyward init' "
		    "first)");
	if (rc == 0)
		c->cfg_loaded = true;
	return rc;
}

/* Read a value from fd into a heap buffer wiped on free. */
int
cli_read_value(int fd, const char *what, size_t max, bool strip_newline,
    unsigned char **buf, size_t *len, struct kw_error *e)
{
	unsigned char *b;
	size_t cap = max + 2, n = 0;
	ssize_t r;

	*buf = NULL;
	*len = 0;
	if ((b = malloc(cap)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	/* read up to max + 2 bytes: max, a newline, and one more to detect
	 * an over-long value */
	r = kw_read_all(fd, b, cap);
	if (r < 0) {
		kw_freezero(b, cap);
		return kw_fail_errno(e, KW_ESYSTEM, (int)-r, "%s: read", what);
	}
	n = (size_t)r;
	if (strip_newline && n > 0 && b[n - 1] == '\n') {
		n--;
		if (n > 0 && b[n - 1] == '\r')
			n--;
	}
	if (n > max) {
		kw_freezero(b, cap);
		return kw_fail(e, KW_ETOOBIG,
		    "%s: value is longer than %zu bytes (the kernel's limit "
		    "for a user key)", what, max);
	}
	if (n == 0) {
		kw_freezero(b, cap);
		return kw_fail(e, KW_EINVAL, "%s: empty value", what);
	}
	kw_wipe(b + n, cap - n);
	*buf = b;
	*len = n;
	(void)cap;
	return 0;
}

/* A JSON string literal. */
void
cli_json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* ISO 8601 UTC time. */
void
cli_format_time(long long t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
