/*
 * policy.c - the policy language parser: policy.conf then policy.d/NAME.conf
 * in lexical order, one rule a logical line, compiled once into rules whose
 * lists point into a private copy of the line (keyward-policy(5)).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define POLICY_MAX_BYTES (1024 * 1024)	/* one policy file */
#define POLICY_MAX_FILES 4096		/* files in policy.d */

static const char *const key_names[POL_NKEYS] = {
	[POL_USER] = "user",
	[POL_GROUP] = "group",
	[POL_SERVICE] = "service",
	[POL_TTY] = "tty",
	[POL_RHOST] = "rhost",
	[POL_TIME] = "time",
	[POL_EXE] = "exe",
	[POL_EXE_SHA256] = "exe_sha256",
	[POL_SECRETS] = "secrets",
	[POL_TTL] = "ttl",
	[POL_SCOPE] = "scope",
};

/* The name of key k. */
const char *
pol_key_name(enum pol_key k)
{
	return (unsigned)k < POL_NKEYS ? key_names[k] : "?";
}

/* True when s has a '*' or '?'. */
bool
pol_has_glob(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

/*
 * Glob match with '*' (any run, also empty) and '?' (any one character);
 * every other character stands for itself. Linear backtracking on the last
 * star only, so no pattern is exponential.
 */
bool
kw_glob_match(const char *pattern, const char *name)
{
	const char *p = pattern, *n = name, *star = NULL, *mark = NULL;

	while (*n != '\0') {
		if (*p == '*') {
			star = p++;
			mark = n;
		} else if (*p == '?' || *p == *n) {
			p++;
			n++;
		} else if (star != NULL) {
			p = star + 1;
			n = ++mark;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* An empty policy. */
int
kw_policy_new(struct kw_policy **out, struct kw_error *e)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	return 0;
}

/* Free one rule's allocations. */
static void
rule_free(struct pol_rule *r)
{
	free(r->slots);
	free(r->windows);
	free(r->ref);		/* also holds text */
	memset(r, 0, sizeof(*r));
}

/* Free a policy. */
void
kw_policy_free(struct kw_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_rules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p);
}

/* Look a key up; POL_NKEYS when unknown. */
static enum pol_key
key_lookup(const char *k)
{
	unsigned i;

	for (i = 0; i < POL_NKEYS; i++)
		if (strcmp(k, key_names[i]) == 0)
			return (enum pol_key)i;
	return POL_NKEYS;
}

/* A secret name or a glob over names: name characters plus '*' and '?'. */
static bool
secret_pattern_valid(const char *s)
{
	char buf[KW_NAME_MAX + 1];
	size_t i, n = strlen(s);

	if (n == 0 || n > KW_NAME_MAX)
		return false;
	if (!pol_has_glob(s))
		return kw_name_valid(s);
	/* substitute a letter for each glob character and check the rest */
	for (i = 0; i <= n; i++)
		buf[i] = (s[i] == '*' || s[i] == '?') ? 'a' : s[i];
	return kw_name_valid(buf);
}

/* 64 hex digits; lowercases s in place. */
static bool
sha256_hex_valid(char *s)
{
	size_t i;

	if (strlen(s) != 64)
		return false;
	for (i = 0; i < 64; i++) {
		if (s[i] >= 'A' && s[i] <= 'F')
			s[i] = (char)(s[i] - 'A' + 'a');
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* No control characters in a list item. */
static bool
item_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * Split value (in place) into the next free slots of items; check each
 * item for key k. Errors have no location.
 */
static int
split_list(struct pol_rule *r, enum pol_key k, char *value, char **slots,
    size_t *used, struct kw_error *e)
{
	struct pol_list *l = &r->list[k];
	const char *name = key_names[k];
	char *item, *comma;
	size_t i;

	if (*value == '\0')
		return kw_fail(e, KW_EINVAL, "%s= has an empty list", name);
	l->items = slots + *used;
	l->n = 0;
	l->present = true;
	item = value;
	for (;;) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma = '\0';
		if (*item == '\0')
			return kw_fail(e, KW_EINVAL,
			    "%s= has an empty item in its list", name);
		l->items[l->n++] = item;
		if (comma == NULL)
			break;
		item = comma + 1;
	}
	*used += l->n;
	for (i = 0; i < l->n; i++) {
		item = l->items[i];
		if (!item_printable(item))
			return kw_fail(e, KW_EINVAL,
			    "%s: item has a control character", name);
		switch (k) {
		case POL_EXE:
			if (item[0] != '/')
				return kw_fail(e, KW_EINVAL,
				    "exe: '%s' is not an absolute path", item);
			break;
		case POL_EXE_SHA256:
			if (!sha256_hex_valid(item))
				return kw_fail(e, KW_EINVAL,
				    "exe_sha256: '%s' is not 64 hex digits",
				    item);
			break;
		case POL_SECRETS:
			if (!secret_pattern_valid(item))
				return kw_fail(e, KW_EINVAL,
				    "secrets: '%s' is not a secret name or "
				    "pattern (1-%d of A-Z a-z 0-9 . _ - with "
				    "* and ?)", item, KW_NAME_MAX);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Compile the time= list into windows. */
static int
compile_windows(struct pol_rule *r, struct kw_error *e)
{
	const struct pol_list *l = &r->list[POL_TIME];
	size_t i;

	r->windows = calloc(l->n, sizeof(*r->windows));
	if (r->windows == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	r->n_windows = l->n;
	for (i = 0; i < l->n; i++)
		if (pol_window_parse(l->items[i], &r->windows[i], e) != 0)
			return kw_error_prefix(e, "time");
	return 0;
}

/*
 * Parse the tokens of one rule (r->text, tokenized in place). Errors have
 * no location.
 */
static int
parse_rule(struct pol_rule *r, struct kw_error *e)
{
	char *save = NULL, *tok, *eq, **slots;
	size_t n_slots = POL_NKEYS, used = 0;
	const char *c;
	enum pol_key k;
	uint64_t ttl;

	/* at most one item per comma plus one per key */
	for (c = r->text; *c != '\0'; c++)
		if (*c == ',')
			n_slots++;
	slots = calloc(n_slots, sizeof(*slots));
	if (slots == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	r->slots = slots;

	tok = strtok_r(r->text, " \t", &save);
	if (strcmp(tok, "allow") == 0)
		r->deny = false;
	else if (strcmp(tok, "deny") == 0)
		r->deny = true;
	else
		return kw_fail(e, KW_EINVAL,
		    "unknown action '%s' (expected allow or deny)", tok);
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if ((eq = strchr(tok, '=')) == NULL)
			return kw_fail(e, KW_EINVAL,
			    "'%s' is not key=value", tok);
		*eq = '\0';
		if ((k = key_lookup(tok)) == POL_NKEYS)
			return kw_fail(e, KW_EINVAL, "unknown key '%s'", tok);
		if (r->list[k].present)
			return kw_fail(e, KW_EINVAL, "duplicate key '%s'", tok);
		switch (k) {
		case POL_TTL:
			r->list[k].present = true;
			if (kw_duration_parse(eq + 1, &ttl, e) != 0)
				return kw_error_prefix(e, "ttl");
			r->ttl = ttl;
			break;
		case POL_SCOPE:
			r->list[k].present = true;
			if (strcmp(eq + 1, "session") == 0)
				r->scope = KW_SCOPE_SESSION;
			else if (strcmp(eq + 1, "user") == 0)
				r->scope = KW_SCOPE_USER;
			else
				return kw_fail(e, KW_EINVAL,
				    "scope: '%s' is not session or user",
				    eq + 1);
			break;
		default:
			if (split_list(r, k, eq + 1, slots, &used, e) != 0)
				return KW_EINVAL;
			if (k < POL_SECRETS)
				r->has_matcher = true;
			if (k == POL_EXE || k == POL_EXE_SHA256)
				r->needs_launcher = true;
			break;
		}
	}
	if (r->deny && (r->list[POL_SECRETS].present ||
	    r->list[POL_TTL].present || r->list[POL_SCOPE].present))
		return kw_fail(e, KW_EINVAL,
		    "a deny rule cannot grant (secrets=, ttl=, scope=)");
	if (!r->deny && !r->list[POL_SECRETS].present)
		return kw_fail(e, KW_EINVAL, "allow rule without secrets=");
	if (r->list[POL_TIME].present)
		return compile_windows(r, e);
	return 0;
}

struct parse_ctx {
	struct kw_policy *p;
	const char *name;
	size_t name_len;
};

/*
 * One logical line: one rule appended to the policy. The rule's "file:line"
 * and its text share one allocation.
 */
static int
policy_line(char *line, unsigned lineno, void *arg, struct kw_error *e)
{
	struct parse_ctx *ctx = arg;
	struct kw_policy *p = ctx->p;
	struct pol_rule *r, *grown;
	size_t cap, reflen, linelen;
	char num[16];
	int n;

	if (p->n_rules == p->cap_rules) {
		cap = p->cap_rules == 0 ? 16 : p->cap_rules * 2;
		grown = reallocarray(p->rules, cap, sizeof(*grown));
		if (grown == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		p->rules = grown;
		p->cap_rules = cap;
	}
	r = &p->rules[p->n_rules];
	memset(r, 0, sizeof(*r));
	n = snprintf(num, sizeof(num), ":%u", lineno);
	reflen = ctx->name_len + (size_t)n;
	if (n < 0 || reflen >= KW_RULE_REF_MAX)
		return kw_fail(e, KW_ETOOBIG, "%s: file name too long",
		    ctx->name);
	linelen = strlen(line);
	if ((r->ref = malloc(reflen + 1 + linelen + 1)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	memcpy(r->ref, ctx->name, ctx->name_len);
	memcpy(r->ref + ctx->name_len, num, (size_t)n + 1);
	r->text = r->ref + reflen + 1;
	memcpy(r->text, line, linelen + 1);
	if (parse_rule(r, e) != 0) {
		kw_error_prefix(e, "%s", r->ref);
		rule_free(r);
		return e != NULL ? e->code : KW_EINVAL;
	}
	p->n_rules++;
	return 0;
}

/* Parse one file's text and append its rules. */
int
kw_policy_parse(struct kw_policy *p, const char *name, const char *text,
    size_t len, struct kw_error *e)
{
	struct parse_ctx ctx = { p, name, strlen(name) };
	struct pol_rule *grown;
	struct kw_error local;
	size_t lines = 1, i, cap;
	int rc;

	if (e == NULL)
		e = &local;
	/* room for one rule a line: one allocation per file, no copying */
	for (i = 0; i < len; i++)
		if (text[i] == '\n')
			lines++;
	if (lines <= SIZE_MAX / 2 / sizeof(*grown) - p->n_rules &&
	    p->n_rules + lines > p->cap_rules) {
		cap = p->n_rules + lines;
		if ((grown = reallocarray(p->rules, cap, sizeof(*grown))) ==
		    NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		p->rules = grown;
		p->cap_rules = cap;
	}
	rc = kw_text_lines(name, text, len, true, policy_line, &ctx, e);
	return rc;
}

/* Read and parse one trusted policy file. */
static int
load_file(struct kw_policy *p, const char *path, bool missing_ok,
    struct kw_error *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = kw_read_file(path, missing_ok ? KW_SAFE_MISSING_OK : 0,
	    POLICY_MAX_BYTES, &text, &len, e);
	if (rc == KW_ENOTFOUND && missing_ok) {
		kw_error_clear(e);
		return 0;
	}
	if (rc != 0)
		return rc;
	rc = kw_policy_parse(p, path, text, len, e);
	kw_freezero(text, len + 1);
	return rc;
}

/* qsort comparison of two names: bytewise, independent of the locale. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True for "X.conf" names that are not hidden. */
static bool
conf_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

/* Load policy.d/NAME.conf in lexical order. */
static int
load_dir(struct kw_policy *p, const char *dir, struct kw_error *e)
{
	char path[PATH_MAX], **names = NULL, **grown;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = NULL;
	int rc;

	rc = kw_check_dir(dir, e);
	if (rc == KW_ENOTFOUND) {
		kw_error_clear(e);
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((d = opendir(dir)) == NULL)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", dir);
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				rc = kw_fail_errno(e, KW_ESYSTEM, errno,
				    "%s: readdir", dir);
				goto out;
			}
			break;
		}
		if (!conf_name(de->d_name))
			continue;
		if (n == POLICY_MAX_FILES) {
			rc = kw_fail(e, KW_ETOOBIG, "%s: more than %d files",
			    dir, POLICY_MAX_FILES);
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			grown = reallocarray(names, cap, sizeof(*names));
			if (grown == NULL) {
				rc = kw_fail(e, KW_ENOMEM, "out of memory");
				goto out;
			}
			names = grown;
		}
		if ((rc = kw_strdup(de->d_name, &names[n], e)) != 0)
			goto out;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if ((rc = kw_snprintf(path, sizeof(path), e, "%s/%s", dir,
		    names[i])) != 0)
			goto out;
		if ((rc = load_file(p, path, false, e)) != 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	return rc;
}

/* Load the whole policy of an installation. */
int
kw_policy_load(const struct kw_config *cfg, struct kw_policy **out,
    struct kw_error *e)
{
	struct kw_policy *p = NULL;
	int rc;

	*out = NULL;
	if ((rc = kw_policy_new(&p, e)) != 0)
		return rc;
	if ((rc = load_file(p, cfg->policy, true, e)) != 0 ||
	    (rc = load_dir(p, cfg->policy_d, e)) != 0) {
		kw_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}
