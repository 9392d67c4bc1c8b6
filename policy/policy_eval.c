/*
 * policy_eval.c - evaluation of a request against a compiled policy
 * (default deny, deny wins, union of grants).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

#define MATCH_STACK 32	/* matches kept without allocating */

/* Does any glob of l match s? A missing s never matches. */
static bool
list_glob(const struct pol_list *l, const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < l->n; i++)
		if (kw_glob_match(l->items[i], s))
			return true;
	return false;
}

/* Does any glob of l match one of the request's groups? */
static bool
list_groups(const struct pol_list *l, const struct kw_request *req)
{
	size_t i;

	for (i = 0; i < req->n_groups; i++)
		if (req->groups[i] != NULL && list_glob(l, req->groups[i]))
			return true;
	return false;
}

/* Is s exactly (or, with nocase, case-insensitively) one of l's items? */
static bool
list_exact(const struct pol_list *l, const char *s, bool nocase)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < l->n; i++)
		if ((nocase ? strcasecmp(l->items[i], s) :
		    strcmp(l->items[i], s)) == 0)
			return true;
	return false;
}

/* Local time of the request, computed once per evaluation. */
struct eval_time {
	bool done;
	bool ok;
	struct tm tm;
};

/*
 * Does rule r match req? *left receives the seconds until the end of the
 * rule's current time window (0: the rule has no time=).
 */
static bool
rule_matches(const struct pol_rule *r, const struct kw_request *req,
    struct eval_time *et, uint64_t *left)
{
	*left = 0;
	if (r->needs_launcher && !req->trusted_launcher)
		return false;
	if (r->list[POL_USER].present && !list_glob(&r->list[POL_USER],
	    req->user))
		return false;
	if (r->list[POL_GROUP].present && !list_groups(&r->list[POL_GROUP],
	    req))
		return false;
	if (r->list[POL_SERVICE].present &&
	    !list_glob(&r->list[POL_SERVICE], req->service))
		return false;
	if (r->list[POL_TTY].present && !list_glob(&r->list[POL_TTY],
	    req->tty))
		return false;
	if (r->list[POL_RHOST].present && !list_glob(&r->list[POL_RHOST],
	    req->rhost))
		return false;
	if (r->list[POL_EXE].present && !list_exact(&r->list[POL_EXE],
	    req->exe, false))
		return false;
	if (r->list[POL_EXE_SHA256].present &&
	    !list_exact(&r->list[POL_EXE_SHA256], req->exe_sha256, true))
		return false;
	if (r->n_windows > 0) {
		if (!et->done) {
			et->done = true;
			et->ok = localtime_r(&req->now, &et->tm) != NULL;
		}
		if (!et->ok || !pol_windows_match(r->windows, r->n_windows,
		    &et->tm, req->now, left))
			return false;
	}
	return true;
}

/* Free a decision's allocations. */
void
kw_decision_free(struct kw_decision *d)
{
	if (d == NULL)
		return;
	free(d->matched);	/* one block: pointers, flags and strings */
	free(d->patterns);
	memset(d, 0, sizeof(*d));
}

struct match {
	const struct pol_rule *rule;
	uint64_t left;
};

/* Fill d->matched (one allocation) from the n matches in m. */
static int
record_matches(struct kw_decision *d, const struct match *m, size_t n,
    struct kw_error *e)
{
	size_t i, bytes, len;
	char *block, *s;

	bytes = n * (sizeof(char *) + sizeof(bool));
	for (i = 0; i < n; i++)
		bytes += strlen(m[i].rule->ref) + 1;
	if ((block = malloc(bytes)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	d->matched = (char **)(void *)block;
	d->matched_deny = (bool *)(void *)(block + n * sizeof(char *));
	s = block + n * (sizeof(char *) + sizeof(bool));
	for (i = 0; i < n; i++) {
		len = strlen(m[i].rule->ref) + 1;
		memcpy(s, m[i].rule->ref, len);
		d->matched[i] = s;
		d->matched_deny[i] = m[i].rule->deny;
		s += len;
	}
	d->n_matched = n;
	return 0;
}

/* Fill d->patterns from the matching allow rules. */
static int
record_patterns(struct kw_decision *d, const struct kw_config *cfg,
    const struct match *m, size_t n, struct kw_error *e)
{
	uint64_t ttl, max_ttl = cfg != NULL ? cfg->max_ttl : 0;
	struct kw_grant_pattern *gp;
	const struct pol_rule *r;
	size_t i, j, count = 0;

	for (i = 0; i < n; i++)
		if (!m[i].rule->deny)
			count += m[i].rule->list[POL_SECRETS].n;
	if (count == 0)
		return 0;
	if ((d->patterns = calloc(count, sizeof(*d->patterns))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		r = m[i].rule;
		if (r->deny)
			continue;
		ttl = r->ttl != 0 ? r->ttl : cfg != NULL ? cfg->default_ttl :
		    3600;
		if (m[i].left != 0 && m[i].left < ttl)
			ttl = m[i].left;
		if (max_ttl != 0 && max_ttl < ttl)
			ttl = max_ttl;
		for (j = 0; j < r->list[POL_SECRETS].n; j++) {
			gp = &d->patterns[d->n_patterns++];
			/* lengths were checked by the parser */
			strcpy(gp->pattern, r->list[POL_SECRETS].items[j]);
			gp->ttl = ttl;
			gp->scope = r->scope;
			gp->rule = d->matched[i];	/* r->ref */
		}
	}
	return 0;
}

/* Does some rule match on groups? */
bool
kw_policy_uses_groups(const struct kw_policy *p)
{
	size_t i;

	for (i = 0; p != NULL && i < p->n_rules; i++)
		if (p->rules[i].list[POL_GROUP].present)
			return true;
	return false;
}

/* Evaluate req against p. */
int
kw_policy_eval(const struct kw_policy *p, const struct kw_config *cfg,
    const struct kw_request *req, struct kw_decision *out,
    struct kw_error *e)
{
	struct match stack[MATCH_STACK], *m = stack, *grown;
	struct eval_time et = { false, false, { 0 } };
	const struct pol_rule *deny = NULL, *allow = NULL;
	size_t i, n = 0, cap = MATCH_STACK;
	uint64_t left;
	int rc;

	memset(out, 0, sizeof(*out));
	if (p == NULL || req == NULL || req->user == NULL)
		return kw_fail(e, KW_EINVAL, "policy evaluation without a "
		    "policy or a user");
	for (i = 0; i < p->n_rules; i++) {
		if (!rule_matches(&p->rules[i], req, &et, &left))
			continue;
		if (n == cap) {
			cap *= 2;
			grown = m == stack ? malloc(cap * sizeof(*m)) :
			    reallocarray(m, cap, sizeof(*m));
			if (grown == NULL) {
				rc = kw_fail(e, KW_ENOMEM, "out of memory");
				goto out;
			}
			if (m == stack)
				memcpy(grown, stack, sizeof(stack));
			m = grown;
		}
		m[n].rule = &p->rules[i];
		m[n].left = left;
		n++;
		if (p->rules[i].deny && deny == NULL)
			deny = &p->rules[i];
		if (!p->rules[i].deny && allow == NULL)
			allow = &p->rules[i];
	}
	out->allow = allow != NULL && deny == NULL;
	strcpy(out->rule, deny != NULL ? deny->ref : allow != NULL ?
	    allow->ref : "default-deny");
	if (n > 0 && (rc = record_matches(out, m, n, e)) != 0)
		goto out;
	if (out->allow && (rc = record_patterns(out, cfg, m, n, e)) != 0)
		goto out;
	rc = 0;
out:
	if (m != stack)
		free(m);
	if (rc != 0)
		kw_decision_free(out);
	return rc;
}
