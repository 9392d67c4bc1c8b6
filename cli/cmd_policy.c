/*
 * cmd_policy.c - 'keyward explain' (the policy decision for a request, as
 * pam_keyward would make it) and the policy part of 'keyward check'.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "kw_util.h"
#include "policy.h"
#include "vault.h"

#define DEFAULT_SERVICE "keyward-agent"

/* Print one check warning and count it. */
static void
print_warning(const char *where, const char *msg, void *arg)
{
	unsigned *warnings = arg;

	printf("%s: warning: %s\n", where, msg);
	(*warnings)++;
}

/* The policy part of 'keyward check'. */
int
cli_check_policy(struct cli *c, struct kw_vault *v, unsigned *warnings,
    struct kw_error *e)
{
	struct kw_policy *p = NULL;
	int rc;

	if ((rc = cli_load_config(c, e)) != 0)
		return rc;
	if ((rc = kw_policy_load(&c->cfg, &p, e)) != 0)
		return rc;
	rc = kw_policy_lint(p, &c->cfg, v, print_warning, warnings, e);
	kw_policy_free(p);
	return rc;
}

/*
 * Parse --at as an ISO 8601 time (local unless it ends in 'Z') into *t.
 * Dates that do not exist (Feb 30) are errors.
 */
static int
parse_at(const char *s, time_t *t, struct kw_error *e)
{
	if (kw_parse_iso_time(s, t, e) != 0)
		return kw_error_prefix(e, "--at");
	return 0;
}

/* Format a local time for the report. */
static void
local_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%S %Z (%a)", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

/* Open the configured vault for reading. */
static int
open_vault(struct cli *c, struct kw_vault **v, struct kw_error *e)
{
	unsigned char key[KW_MASTER_KEY_LEN];
	int rc;

	*v = NULL;
	if ((rc = kw_master_key_load(c->cfg.master_key, key, e)) != 0)
		return rc;
	rc = kw_vault_open(c->cfg.vault, key, v, e);
	kw_wipe(key, sizeof(key));
	return rc;
}

/* The policy word for a scope. */
static const char *
scope_name(enum kw_scope s)
{
	return s == KW_SCOPE_USER ? "user" : "session";
}

/*
 * Print the grants of an allowed decision, resolved against the vault.
 * Returns KW_EXIT_OK, or KW_EXIT_FAIL when resolution fails (the session
 * would fail closed).
 */
static int
print_grants(struct cli *c, const struct kw_decision *d)
{
	struct kw_vault *v = NULL;
	struct kw_grant *g = NULL;
	struct kw_error e;
	char ttl[32];
	size_t n = 0, i;
	int rc = KW_EXIT_OK;

	kw_error_clear(&e);
	if (d->n_patterns == 0)
		return KW_EXIT_OK;
	if (open_vault(c, &v, &e) != 0) {
		printf("grants: not resolved, the vault cannot be opened (%s);"
		    " as the rules grant them:\n", kw_error_text(&e));
		for (i = 0; i < d->n_patterns; i++) {
			kw_duration_format(d->patterns[i].ttl, ttl,
			    sizeof(ttl));
			printf("grant: %s ttl<=%s scope=%s rule=%s\n",
			    d->patterns[i].pattern, ttl,
			    scope_name(d->patterns[i].scope),
			    d->patterns[i].rule);
		}
		return KW_EXIT_OK;
	}
	if (kw_policy_resolve(d, &c->cfg, v, &g, &n, &e) != 0) {
		printf("grants: none: %s (the session would fail closed)\n",
		    kw_error_text(&e));
		rc = KW_EXIT_FAIL;
		goto out;
	}
	if (n == 0)
		printf("grants: none (no secret in the vault matches)\n");
	for (i = 0; i < n; i++) {
		kw_duration_format(g[i].ttl, ttl, sizeof(ttl));
		printf("grant: %s ttl=%s scope=%s rule=%s\n", g[i].name, ttl,
		    scope_name(g[i].scope), g[i].rule);
	}
out:
	free(g);
	kw_vault_close(v);
	return rc;
}

/* Print the request as it is evaluated. */
static void
print_request(const struct kw_request *r, const char *exe_arg,
    const char *exe_hash)
{
	char when[64];
	size_t i;

	local_time(r->now, when, sizeof(when));
	printf("request: user=%s groups=", r->user);
	for (i = 0; i < r->n_groups; i++)
		printf("%s%s", i > 0 ? "," : "", r->groups[i]);
	printf(" service=%s%s tty=%s rhost=%s\n", r->service,
	    r->trusted_launcher ? " (trusted launcher)" : "",
	    r->tty != NULL ? r->tty : "-", r->rhost != NULL ? r->rhost : "-");
	printf("time: %s\n", when);
	if (exe_arg != NULL && r->exe != NULL)
		printf("exe: %s sha256=%s\n", r->exe, r->exe_sha256);
	else if (exe_arg != NULL)
		printf("exe: %s sha256=%s ignored: service %s is not a trusted "
		    "launcher\n", exe_arg, exe_hash, r->service);
}

/* keyward explain */
int
cmd_explain(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "service", required_argument, NULL, 's' },
		{ "tty", required_argument, NULL, 't' },
		{ "rhost", required_argument, NULL, 'r' },
		{ "exe", required_argument, NULL, 'x' },
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find_cmd("explain");
	const char *at = NULL, *exe = NULL;
	char real[PATH_MAX], hex[65] = "";
	struct kw_policy *p = NULL;
	struct kw_decision d;
	struct kw_request r;
	struct kw_error e;
	char **groups = NULL;
	size_t n_groups = 0, i;
	int ch, rc = KW_EXIT_FAIL;

	memset(&r, 0, sizeof(r));
	memset(&d, 0, sizeof(d));
	kw_error_clear(&e);
	r.service = DEFAULT_SERVICE;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': r.user = optarg; break;
		case 's': r.service = optarg; break;
		case 't': r.tty = optarg; break;
		case 'r': r.rhost = optarg; break;
		case 'x': exe = optarg; break;
		case 'a': at = optarg; break;
		case ':':
			return cli_usage(c, cmd, "%s needs a value",
			    argv[optind - 1]);
		default:
			return cli_usage(c, cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(c, cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (r.user == NULL || r.user[0] == '\0')
		return cli_usage(c, cmd, "--user is required");
	if (r.service[0] == '\0')
		return cli_usage(c, cmd, "--service is empty");

	if (cli_load_config(c, &e) != 0)
		return cli_fail(c, &e);
	r.now = time(NULL);
	if (at != NULL && parse_at(at, &r.now, &e) != 0)
		return cli_fail(c, &e);
	if (kw_request_groups(r.user, &groups, &n_groups, &e) != 0)
		return cli_fail(c, &e);
	r.groups = (const char *const *)groups;
	r.n_groups = n_groups;
	r.trusted_launcher = kw_config_is_trusted_launcher(&c->cfg, r.service);
	if (exe != NULL) {
		if (kw_sha256_file(exe, hex, &e) != 0 ||
		    realpath(exe, real) == NULL) {
			if (e.code == 0)
				kw_fail_errno(&e, KW_ESYSTEM, errno, "%s", exe);
			cli_fail(c, &e);
			goto out;
		}
		/* exe claims only count from a trusted launcher */
		if (r.trusted_launcher) {
			r.exe = real;
			r.exe_sha256 = hex;
		}
	}
	if (kw_policy_load(&c->cfg, &p, &e) != 0) {
		cli_fail(c, &e);
		goto out;
	}
	if (kw_policy_eval(p, &c->cfg, &r, &d, &e) != 0) {
		cli_fail(c, &e);
		goto out;
	}
	print_request(&r, exe, hex);
	if (d.allow)
		printf("decision: allow by %s\n", d.rule);
	else if (d.n_matched == 0 || strcmp(d.rule, "default-deny") == 0)
		printf("decision: deny by default-deny (no allow rule "
		    "matched)\n");
	else
		printf("decision: deny by %s\n", d.rule);
	if (d.n_matched == 0)
		printf("matched: none\n");
	for (i = 0; i < d.n_matched; i++)
		printf("matched: %s %s\n", d.matched[i],
		    d.matched_deny[i] ? "deny" : "allow");
	rc = d.allow ? print_grants(c, &d) : KW_EXIT_FAIL;
out:
	kw_decision_free(&d);
	kw_policy_free(p);
	kw_request_groups_free(groups, n_groups);
	return rc;
}
