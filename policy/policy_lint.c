/*
 * policy_lint.c - warnings about a policy that parses but is probably not
 * what its author meant: over-broad rules, secrets missing from the vault,
 * rules that can never match. Used by 'keyward check'.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "vault.h"

struct lint {
	void (*warn)(const char *where, const char *msg, void *arg);
	void *arg;
};

/* Format a warning about rule r and hand it to the callback. */
static void lint_warn(const struct lint *l, const struct pol_rule *r,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
lint_warn(const struct lint *l, const struct pol_rule *r, const char *fmt,
    ...)
{
	char msg[KW_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->warn(r->ref, msg, l->arg);
}

/* Number of rules. */
size_t
kw_policy_count(const struct kw_policy *p)
{
	return p != NULL ? p->n_rules : 0;
}

/* Does a user of that name exist? (Errors of NSS count as existing.) */
static bool
user_exists(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int r;

	r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	return res != NULL || (r != 0 && r != ENOENT && r != ESRCH);
}

/* Does a group of that name exist? (Errors of NSS count as existing.) */
static bool
group_exists(const char *name)
{
	struct group gr, *res = NULL;
	char buf[16384];
	int r;

	r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	return res != NULL || (r != 0 && r != ENOENT && r != ESRCH);
}

/* True when the pattern is made only of '*' and '?': every secret. */
static bool
all_glob(const char *s)
{
	return *s != '\0' && strspn(s, "*?") == strlen(s);
}

/* Does some service of the rule name a trusted launcher? */
static bool
has_trusted_service(const struct pol_rule *r, const struct kw_config *cfg)
{
	const struct pol_list *l = &r->list[POL_SERVICE];
	size_t i;
	unsigned j;

	if (!l->present)
		return true;
	for (i = 0; i < l->n; i++)
		for (j = 0; j < cfg->n_trusted_launchers; j++)
			if (kw_glob_match(l->items[i],
			    cfg->trusted_launchers[j]))
				return true;
	return false;
}

/* Warnings about who a rule names. */
static void
lint_principals(const struct lint *l, const struct pol_rule *r)
{
	size_t i;

	for (i = 0; i < r->list[POL_USER].n; i++)
		if (!pol_has_glob(r->list[POL_USER].items[i]) &&
		    !user_exists(r->list[POL_USER].items[i]))
			lint_warn(l, r, "user '%s' does not exist on this "
			    "system", r->list[POL_USER].items[i]);
	for (i = 0; i < r->list[POL_GROUP].n; i++)
		if (!pol_has_glob(r->list[POL_GROUP].items[i]) &&
		    !group_exists(r->list[POL_GROUP].items[i]))
			lint_warn(l, r, "group '%s' does not exist on this "
			    "system", r->list[POL_GROUP].items[i]);
}

/* Warnings about exe=/exe_sha256= rules. */
static void
lint_launcher(const struct lint *l, const struct pol_rule *r,
    const struct kw_config *cfg)
{
	char real[PATH_MAX];
	const char *item;
	size_t i;

	if (!r->needs_launcher)
		return;
	if (cfg->n_trusted_launchers == 0)
		lint_warn(l, r, "exe=/exe_sha256= rule can never match: "
		    "keyward.conf names no trusted_launchers");
	else if (!has_trusted_service(r, cfg))
		lint_warn(l, r, "exe=/exe_sha256= rule can never match: none "
		    "of its services is a trusted launcher");
	for (i = 0; i < r->list[POL_EXE].n; i++) {
		item = r->list[POL_EXE].items[i];
		if (realpath(item, real) == NULL)
			lint_warn(l, r, "exe '%s' does not exist", item);
		else if (strcmp(real, item) != 0)
			lint_warn(l, r, "exe '%s' can never match: requests "
			    "carry the resolved path '%s'", item, real);
	}
}

/* Warnings about the secrets a rule grants. */
static int
lint_secrets(const struct lint *l, const struct pol_rule *r,
    const struct kw_config *cfg, struct kw_vault *v, struct kw_error *e)
{
	struct kw_secret_info info;
	char a[32], b[32];
	const char *item;
	size_t i, j, n;
	bool found;
	int rc;

	if (r->ttl != 0 && cfg->max_ttl != 0 && r->ttl > cfg->max_ttl) {
		kw_duration_format(r->ttl, a, sizeof(a));
		kw_duration_format(cfg->max_ttl, b, sizeof(b));
		lint_warn(l, r, "ttl=%s is longer than max_ttl=%s; max_ttl "
		    "applies", a, b);
	}
	for (i = 0; i < r->list[POL_SECRETS].n; i++) {
		item = r->list[POL_SECRETS].items[i];
		if (all_glob(item))
			lint_warn(l, r, "secrets=%s grants every secret in the "
			    "vault", item);
		if (v == NULL)
			continue;
		if (!pol_has_glob(item)) {
			rc = kw_vault_info(v, item, &info, e);
			if (rc == KW_ENOTFOUND) {
				kw_error_clear(e);
				lint_warn(l, r, "secret '%s' is not in the "
				    "vault: sessions this rule allows will "
				    "fail closed", item);
			} else if (rc != 0) {
				return rc;
			}
			continue;
		}
		n = kw_vault_count(v);
		found = false;
		for (j = 0; j < n && !found; j++) {
			if ((rc = kw_vault_info_at(v, j, &info, e)) != 0)
				return rc;
			found = kw_glob_match(item, info.name);
		}
		if (!found)
			lint_warn(l, r, "secrets pattern '%s' matches no secret "
			    "in the vault", item);
	}
	return 0;
}

/*
 * A digest of what a rule means (action, each key's items in order, ttl,
 * scope), for finding duplicates quickly: equal rules have equal digests.
 */
static uint64_t
rule_digest(const struct pol_rule *r)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	const unsigned char *c;
	size_t k, i;

	h = (h ^ (uint64_t)r->deny) * 1099511628211ULL;
	h = (h ^ r->ttl) * 1099511628211ULL;
	h = (h ^ (uint64_t)r->scope) * 1099511628211ULL;
	for (k = 0; k < POL_NKEYS; k++) {
		h = (h ^ (r->list[k].present ? k + 1 : 0)) * 1099511628211ULL;
		for (i = 0; i < r->list[k].n; i++) {
			for (c = (const unsigned char *)r->list[k].items[i];
			    *c != '\0'; c++)
				h = (h ^ *c) * 1099511628211ULL;
			h = (h ^ 0xff) * 1099511628211ULL;
		}
	}
	return h;
}

/*
 * True when rules a and b are duplicates: the same action and, for every
 * key, the same presence and the same items in the same order (the order
 * of the key=value tokens on the line does not matter; ttl= and scope=
 * compare by value, so ttl=1h equals ttl=60m).
 */
static bool
rules_equal(const struct pol_rule *a, const struct pol_rule *b)
{
	size_t k, i;

	if (a->deny != b->deny || a->ttl != b->ttl || a->scope != b->scope)
		return false;
	for (k = 0; k < POL_NKEYS; k++) {
		if (a->list[k].present != b->list[k].present ||
		    a->list[k].n != b->list[k].n)
			return false;
		for (i = 0; i < a->list[k].n; i++)
			if (strcmp(a->list[k].items[i], b->list[k].items[i]) !=
			    0)
				return false;
	}
	return true;
}

/*
 * Warn about every rule that duplicates an earlier one (it changes
 * nothing: grants are a union and the ttl the same). Returns 0 or
 * KW_ENOMEM.
 */
static int
lint_duplicates(const struct lint *l, const struct kw_policy *p,
    struct kw_error *e)
{
	uint64_t *digests;
	size_t i, j;

	if (p->n_rules < 2)
		return 0;
	if ((digests = calloc(p->n_rules, sizeof(*digests))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	for (i = 0; i < p->n_rules; i++) {
		digests[i] = rule_digest(&p->rules[i]);
		for (j = 0; j < i; j++) {
			if (digests[j] == digests[i] &&
			    rules_equal(&p->rules[j], &p->rules[i])) {
				lint_warn(l, &p->rules[i], "duplicate of the "
				    "rule at %s: it changes nothing",
				    p->rules[j].ref);
				break;
			}
		}
	}
	free(digests);
	return 0;
}

/* Warnings of a whole policy. */
int
kw_policy_lint(const struct kw_policy *p, const struct kw_config *cfg,
    struct kw_vault *v,
    void (*warn)(const char *where, const char *msg, void *arg), void *arg,
    struct kw_error *e)
{
	struct lint l = { warn, arg };
	const struct pol_rule *r;
	size_t i;
	int rc;

	for (i = 0; i < p->n_rules; i++) {
		r = &p->rules[i];
		if (!r->has_matcher)
			lint_warn(&l, r, r->deny ?
			    "deny rule has no matcher: it denies everyone" :
			    "allow rule has no matcher: it applies to every "
			    "user, service and time");
		lint_principals(&l, r);
		lint_launcher(&l, r, cfg);
		if (!r->deny && (rc = lint_secrets(&l, r, cfg, v, e)) != 0)
			return kw_error_prefix(e, "%s", r->ref);
	}
	return lint_duplicates(&l, p, e);
}
