/*
 * policy_resolve.c - the granted patterns of a decision resolved against
 * the vault: exact names looked up one by one (a missing one fails
 * closed), globs matched against one listing of the vault, grants merged
 * per secret after one sort.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "vault.h"

/* Name and max ttl of every vault secret, read once for the globs. */
struct vault_names {
	struct {
		char name[KW_NAME_MAX + 1];
		uint64_t max_ttl;
	} *v;
	size_t n;
	bool loaded;
};

/* Read every secret's name and max ttl. */
static int
vault_names_load(struct vault_names *vn, struct kw_vault *v,
    struct kw_error *e)
{
	struct kw_secret_info info;
	size_t i, n;
	int rc;

	vn->loaded = true;
	n = kw_vault_count(v);
	if (n == 0)
		return 0;
	if ((vn->v = calloc(n, sizeof(*vn->v))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if ((rc = kw_vault_info_at(v, i, &info, e)) != 0)
			return rc;
		memcpy(vn->v[i].name, info.name, sizeof(info.name));
		vn->v[i].max_ttl = info.max_ttl;
		vn->n++;
	}
	return 0;
}

/* The grants found, in the order found (merged after: merge()). */
struct grants {
	struct kw_grant *g;
	size_t n, cap;
	uint64_t max_ttl;	/* cfg->max_ttl, 0 = none */
};

/* Add the grant of secret name by pattern gp. */
static int
grant_add(struct grants *gs, const char *name, uint64_t secret_max,
    const struct kw_grant_pattern *gp, struct kw_error *e)
{
	struct kw_grant *g, *grown;
	uint64_t ttl = gp->ttl;

	if (secret_max != 0 && secret_max < ttl)
		ttl = secret_max;
	if (gs->max_ttl != 0 && gs->max_ttl < ttl)
		ttl = gs->max_ttl;
	if (gs->n == gs->cap) {
		gs->cap = gs->cap == 0 ? 8 : gs->cap * 2;
		if ((grown = reallocarray(gs->g, gs->cap,
		    sizeof(*grown))) == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		gs->g = grown;
	}
	g = &gs->g[gs->n++];
	memset(g, 0, sizeof(*g));
	strcpy(g->name, name);
	g->ttl = ttl;
	g->scope = gp->scope;
	g->rule = gp->rule;
	return 0;
}

/* qsort_r comparison of grant indices: by name, then as found. */
static int
idx_cmp(const void *a, const void *b, void *arg)
{
	const struct grants *gs = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c;

	if ((c = strcmp(gs->g[ia].name, gs->g[ib].name)) != 0)
		return c;
	return ia < ib ? -1 : ia > ib;
}

/*
 * Sort the grants by name and merge those of one secret, in the order
 * found: the smallest TTL (with the rule of the first pattern that gave
 * it), session scope when any pattern gave it. A sort, not a search per
 * grant: a glob may grant thousands of secrets.
 */
static int
merge(struct grants *gs, struct kw_error *e)
{
	struct kw_grant *sorted, *g;
	size_t *idx, i, n = 0;

	if (gs->n < 2)
		return 0;
	if ((idx = calloc(gs->n, sizeof(*idx))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	if ((sorted = calloc(gs->n, sizeof(*sorted))) == NULL) {
		free(idx);
		return kw_fail(e, KW_ENOMEM, "out of memory");
	}
	for (i = 0; i < gs->n; i++)
		idx[i] = i;
	qsort_r(idx, gs->n, sizeof(*idx), idx_cmp, gs);
	for (i = 0; i < gs->n; i++) {
		const struct kw_grant *in = &gs->g[idx[i]];

		g = n > 0 ? &sorted[n - 1] : NULL;
		if (g == NULL || strcmp(g->name, in->name) != 0) {
			sorted[n++] = *in;
			continue;
		}
		if (in->ttl < g->ttl) {
			g->ttl = in->ttl;
			g->rule = in->rule;
		}
		if (in->scope != KW_SCOPE_USER)
			g->scope = KW_SCOPE_SESSION;
	}
	free(idx);
	free(gs->g);
	gs->g = sorted;
	gs->n = n;
	gs->cap = n;
	return 0;
}

/* Resolve a decision's patterns against the vault. */
int
kw_policy_resolve(const struct kw_decision *d, const struct kw_config *cfg,
    struct kw_vault *v, struct kw_grant **out, size_t *n_out,
    struct kw_error *e)
{
	struct vault_names vn = { NULL, 0, false };
	struct grants gs = { NULL, 0, 0, 0 };
	const struct kw_grant_pattern *gp;
	struct kw_secret_info info;
	size_t i, j;
	int rc;

	*out = NULL;
	*n_out = 0;
	if (!d->allow || d->n_patterns == 0)
		return 0;
	if (v == NULL)
		return kw_fail(e, KW_EINVAL, "no vault to resolve grants in");
	gs.max_ttl = cfg != NULL ? cfg->max_ttl : 0;
	for (i = 0; i < d->n_patterns; i++) {
		gp = &d->patterns[i];
		if (!pol_has_glob(gp->pattern)) {
			rc = kw_vault_info(v, gp->pattern, &info, e);
			if (rc == KW_ENOTFOUND) {
				rc = kw_fail(e, KW_ENOTFOUND,
				    "%s: granted secret '%s' is not in the "
				    "vault", gp->rule, gp->pattern);
				goto out;
			}
			if (rc != 0 || (rc = grant_add(&gs, gp->pattern,
			    info.max_ttl, gp, e)) != 0)
				goto out;
			continue;
		}
		if (!vn.loaded && (rc = vault_names_load(&vn, v, e)) != 0)
			goto out;
		for (j = 0; j < vn.n; j++)
			if (kw_glob_match(gp->pattern, vn.v[j].name) &&
			    (rc = grant_add(&gs, vn.v[j].name,
			    vn.v[j].max_ttl, gp, e)) != 0)
				goto out;
	}
	if ((rc = merge(&gs, e)) != 0)
		goto out;
	*out = gs.g;
	*n_out = gs.n;
	gs.g = NULL;
	rc = 0;
out:
	free(gs.g);
	free(vn.v);
	return rc;
}
