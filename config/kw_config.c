/*
 * kw_config.c - keyward.conf: defaults, the strict parser and the line
 * splitter shared by the text parsers.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kw_config.h"
#include "kw_util.h"

#ifndef KW_SYSCONFDIR
#define KW_SYSCONFDIR "/etc"
#endif
#ifndef KW_LOCALSTATEDIR
#define KW_LOCALSTATEDIR "/var"
#endif
#ifndef KW_RUNSTATEDIR
#define KW_RUNSTATEDIR "/run"
#endif

/* The installed path of keyward.conf. */
const char *
kw_config_default_path(void)
{
	return KW_SYSCONFDIR "/keyward/keyward.conf";
}

/* Defaults, with all paths derived from path (and root). */
int
kw_config_defaults(struct kw_config *cfg, const char *path, const char *root,
    struct kw_error *e)
{
	const char *slash;
	size_t dlen;

	memset(cfg, 0, sizeof(*cfg));
	if (root == NULL)
		root = "";
	if (path == NULL)
		path = kw_config_default_path();
	if (path[0] != '/')
		return kw_fail(e, KW_EINVAL, "%s: not an absolute path", path);
	if (kw_snprintf(cfg->path, sizeof(cfg->path), e, "%s", path) != 0)
		return kw_error_prefix(e, "%s", path);
	slash = strrchr(cfg->path, '/');
	dlen = (size_t)(slash - cfg->path);
	if (dlen == 0)
		dlen = 1;
	memcpy(cfg->etc_dir, cfg->path, dlen);
	cfg->etc_dir[dlen] = '\0';
	if (kw_snprintf(cfg->policy, sizeof(cfg->policy), e, "%s/policy.conf",
	    cfg->etc_dir) != 0 ||
	    kw_snprintf(cfg->policy_d, sizeof(cfg->policy_d), e, "%s/policy.d",
	    cfg->etc_dir) != 0 ||
	    kw_snprintf(cfg->master_key, sizeof(cfg->master_key), e,
	    "%s/master.key", cfg->etc_dir) != 0 ||
	    kw_snprintf(cfg->audit_key, sizeof(cfg->audit_key), e,
	    "%s/audit.key", cfg->etc_dir) != 0 ||
	    kw_snprintf(cfg->vault, sizeof(cfg->vault), e,
	    "%s" KW_LOCALSTATEDIR "/lib/keyward/vault", root) != 0 ||
	    kw_snprintf(cfg->run_dir, sizeof(cfg->run_dir), e,
	    "%s" KW_RUNSTATEDIR "/keyward", root) != 0)
		return kw_error_prefix(e, "%s", path);
	cfg->audit = KW_AUDIT_REQUIRED;
	cfg->default_ttl = 3600;
	cfg->max_ttl = 86400;
	return 0;
}

/* Free the launcher list. */
void
kw_config_free(struct kw_config *cfg)
{
	unsigned i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n_trusted_launchers; i++) {
		free(cfg->trusted_launchers[i]);
		cfg->trusted_launchers[i] = NULL;
	}
	cfg->n_trusted_launchers = 0;
}

/* Is service one of the trusted launchers? */
bool
kw_config_is_trusted_launcher(const struct kw_config *cfg,
    const char *service)
{
	unsigned i;

	if (service == NULL)
		return false;
	for (i = 0; i < cfg->n_trusted_launchers; i++)
		if (strcmp(cfg->trusted_launchers[i], service) == 0)
			return true;
	return false;
}

/* A PAM service name: [A-Za-z0-9._-]+, at most 64. */
static bool
service_name_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Trim blanks at both ends in place; returns the start. */
static char *
trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Set trusted_launchers from a comma list (replaces the old list). */
static int
set_launchers(struct kw_config *cfg, const char *value, struct kw_error *e)
{
	char *copy, *tok, *next;
	int rc = 0;

	kw_config_free(cfg);
	if (kw_strdup(value, &copy, e) != 0)
		return KW_ENOMEM;
	for (tok = copy; tok != NULL; tok = next) {
		if ((next = strchr(tok, ',')) != NULL)
			*next++ = '\0';
		tok = trim(tok);
		if (*tok == '\0') {
			rc = kw_fail(e, KW_EINVAL,
			    "trusted_launchers: empty item in the list");
			goto out;
		}
		if (!service_name_valid(tok)) {
			rc = kw_fail(e, KW_EINVAL,
			    "trusted_launchers: invalid PAM service name '%s'",
			    tok);
			goto out;
		}
		if (cfg->n_trusted_launchers == KW_CONFIG_MAX_LAUNCHERS) {
			rc = kw_fail(e, KW_EINVAL,
			    "trusted_launchers: more than %d services",
			    KW_CONFIG_MAX_LAUNCHERS);
			goto out;
		}
		if (kw_strdup(tok, &cfg->trusted_launchers[
		    cfg->n_trusted_launchers], e) != 0) {
			rc = KW_ENOMEM;
			goto out;
		}
		cfg->n_trusted_launchers++;
	}
out:
	free(copy);
	if (rc != 0)
		kw_config_free(cfg);
	return rc;
}

/* Set an absolute path setting. */
static int
set_path(char *dst, size_t size, const char *key, const char *value,
    struct kw_error *e)
{
	if (value[0] != '/')
		return kw_fail(e, KW_EINVAL, "%s: '%s' is not an absolute path",
		    key, value);
	if (strlen(value) >= size)
		return kw_fail(e, KW_EINVAL, "%s: path too long", key);
	strcpy(dst, value);
	return 0;
}

/* Apply one key = value setting. */
int
kw_config_set(struct kw_config *cfg, const char *key, const char *value,
    struct kw_error *e)
{
	uint64_t d;

	if (value == NULL || value[0] == '\0')
		return kw_fail(e, KW_EINVAL, "%s: missing value", key);
	if (strcmp(key, "audit") == 0) {
		if (strcmp(value, "required") == 0)
			cfg->audit = KW_AUDIT_REQUIRED;
		else if (strcmp(value, "best-effort") == 0)
			cfg->audit = KW_AUDIT_BEST_EFFORT;
		else
			return kw_fail(e, KW_EINVAL,
			    "audit: '%s' is not 'required' or 'best-effort'",
			    value);
		return 0;
	}
	if (strcmp(key, "trusted_launchers") == 0)
		return set_launchers(cfg, value, e);
	if (strcmp(key, "default_ttl") == 0 || strcmp(key, "max_ttl") == 0) {
		if (kw_duration_parse(value, &d, e) != 0)
			return kw_error_prefix(e, "%s", key);
		if (key[0] == 'd')
			cfg->default_ttl = d;
		else
			cfg->max_ttl = d;
		return 0;
	}
	if (strcmp(key, "vault") == 0)
		return set_path(cfg->vault, sizeof(cfg->vault), key, value, e);
	if (strcmp(key, "run_dir") == 0)
		return set_path(cfg->run_dir, sizeof(cfg->run_dir), key, value,
		    e);
	return kw_fail(e, KW_EINVAL, "unknown setting '%s'", key);
}

/* Split text into logical lines and hand them to fn. */
int
kw_text_lines(const char *name, const char *text, size_t len,
    bool join_continuations,
    int (*fn)(char *line, unsigned lineno, void *arg, struct kw_error *e),
    void *arg, struct kw_error *e)
{
	char logical[KW_LINE_MAX + 1], phys[KW_LINE_MAX + 1], *p, *hash;
	size_t pos = 0, llen = 0, plen;
	unsigned lineno = 0, first = 0;
	bool cont = false;
	const char *nl;
	int rc;

	while (pos < len) {
		lineno++;
		nl = memchr(text + pos, '\n', len - pos);
		plen = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		if (plen > KW_LINE_MAX)
			return kw_fail(e, KW_EINVAL,
			    "%s:%u: line longer than %d bytes", name, lineno,
			    KW_LINE_MAX);
		if (memchr(text + pos, '\0', plen) != NULL)
			return kw_fail(e, KW_EINVAL, "%s:%u: NUL byte in line",
			    name, lineno);
		if (memchr(text + pos, '\r', plen) != NULL)
			return kw_fail(e, KW_EINVAL,
			    "%s:%u: carriage return in line (DOS line "
			    "endings?)", name, lineno);
		memcpy(phys, text + pos, plen);
		phys[plen] = '\0';
		pos += plen + (nl != NULL ? 1 : 0);

		if ((hash = strchr(phys, '#')) != NULL)
			*hash = '\0';
		p = trim(phys);
		if (!cont) {
			first = lineno;
			llen = 0;
		}
		cont = false;
		plen = strlen(p);
		if (join_continuations && plen > 0 && p[plen - 1] == '\\') {
			p[--plen] = '\0';
			while (plen > 0 && (p[plen - 1] == ' ' ||
			    p[plen - 1] == '\t'))
				p[--plen] = '\0';
			cont = true;
		}
		if (llen + plen + 1 > KW_LINE_MAX)
			return kw_fail(e, KW_EINVAL,
			    "%s:%u: logical line longer than %d bytes", name,
			    first, KW_LINE_MAX);
		if (llen > 0 && plen > 0)
			logical[llen++] = ' ';
		memcpy(logical + llen, p, plen);
		llen += plen;
		logical[llen] = '\0';
		if (cont)
			continue;
		p = trim(logical);
		if (*p == '\0')
			continue;
		if ((rc = fn(p, first, arg, e)) != 0)
			return rc;
	}
	if (cont)
		return kw_fail(e, KW_EINVAL,
		    "%s:%u: file ends inside a '\\' continuation", name, first);
	return 0;
}

struct conf_ctx {
	struct kw_config *cfg;
	const char *name;
	unsigned seen;		/* bit per key, for duplicates */
};

/* One "key = value" line of keyward.conf. */
static int
conf_line(char *line, unsigned lineno, void *arg, struct kw_error *e)
{
	static const char *const keys[] = {
		"audit", "trusted_launchers", "default_ttl", "max_ttl",
		"vault", "run_dir",
	};
	struct conf_ctx *ctx = arg;
	char *eq, *key, *value;
	size_t i;

	eq = strchr(line, '=');
	if (eq == NULL)
		return kw_fail(e, KW_EINVAL,
		    "%s:%u: expected 'key = value'", ctx->name, lineno);
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (*key == '\0')
		return kw_fail(e, KW_EINVAL, "%s:%u: missing key before '='",
		    ctx->name, lineno);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			break;
	if (i < sizeof(keys) / sizeof(keys[0])) {
		if (ctx->seen & (1u << i))
			return kw_fail(e, KW_EINVAL,
			    "%s:%u: '%s' is set twice", ctx->name, lineno,
			    key);
		ctx->seen |= 1u << i;
	}
	if (kw_config_set(ctx->cfg, key, value, e) != 0)
		return kw_error_prefix(e, "%s:%u", ctx->name, lineno);
	return 0;
}

/* Parse keyward.conf text. */
int
kw_config_parse(struct kw_config *cfg, const char *name, const char *text,
    size_t len, struct kw_error *e)
{
	struct conf_ctx ctx = { cfg, name, 0 };
	int rc;

	rc = kw_text_lines(name, text, len, false, conf_line, &ctx, e);
	if (rc == 0 && cfg->default_ttl > cfg->max_ttl)
		rc = kw_fail(e, KW_EINVAL,
		    "%s: default_ttl is longer than max_ttl", name);
	return rc;
}

/* Load keyward.conf from a trusted file. */
int
kw_config_load(struct kw_config *cfg, const char *path, struct kw_error *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = kw_config_defaults(cfg, path, NULL, e)) != 0)
		return rc;
	rc = kw_read_file(cfg->path, 0, KW_CONFIG_MAX_BYTES, &text, &len, e);
	if (rc != 0)
		return rc;
	rc = kw_config_parse(cfg, cfg->path, text, len, e);
	kw_freezero(text, len + 1);
	if (rc != 0)
		kw_config_free(cfg);
	return rc;
}
