/*
 * cmd_lifecycle.c - keyward sessions and keyward revoke, and the part of
 * rotate/rollback that reaches running agents (cli_propagate). Thin:
 * parse, call keyring/lifecycle.c, print.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lifecycle.h"

/* The core's non-fatal problems: one line on stderr each. */
static void
warn_stderr(void *arg, const char *msg)
{
	cli_errorf(arg, "warning: %s", msg);
}

/* Session params for the lifecycle core: only warn() is used. */
static void
params(struct cli *c, struct kw_session_params *p)
{
	memset(p, 0, sizeof(*p));
	p->warn = warn_stderr;
	p->warn_arg = c;
}

/* "session" or "user". */
static const char *
scope_word(enum kw_scope s)
{
	return s == KW_SCOPE_USER ? "user" : "session";
}

/* Print what the cleaning of dead sessions revoked, to f. */
static void
print_cleaned(FILE *f, const struct kw_lifecycle_report *r)
{
	size_t i;

	for (i = 0; i < r->n_cleaned; i++) {
		const struct kw_live_copy *k = &r->cleaned[i];

		fprintf(f, "cleaned %s (version %u, serial %ld): session %s of "
		    "user %s (pid %ld) is gone, key revoked\n", k->secret,
		    k->version, (long)k->serial, k->session, k->user,
		    (long)k->pid);
	}
}

/* ---- keyward sessions ------------------------------------------------------ */

/* One session as JSON. */
static void
session_json(const struct kw_reg_session *s, bool last)
{
	char t[32];
	size_t k;

	printf("    {\"id\": \"%s\", \"user\": ", s->id);
	cli_json_string(stdout, s->user);
	printf(", \"uid\": %lu, \"pid\": %ld, \"service\": ",
	    (unsigned long)s->uid, (long)s->pid);
	cli_json_string(stdout, s->service);
	printf(", \"tty\": ");
	cli_json_string(stdout, s->tty);
	printf(", \"exe\": ");
	cli_json_string(stdout, s->exe);
	cli_format_time(s->opened, t, sizeof(t));
	printf(", \"opened\": \"%s\", \"keyring\": %ld,\n     \"keys\": [",
	    t, (long)s->ring);
	for (k = 0; k < s->n_keys; k++) {
		const struct kw_delivery *d = &s->keys[k];

		cli_format_time(d->until, t, sizeof(t));
		printf("%s\n       {\"secret\": ", k > 0 ? "," : "");
		cli_json_string(stdout, d->secret);
		printf(", \"version\": %u, \"serial\": %ld, \"scope\": \"%s\", "
		    "\"expires\": \"%s\", \"until\": %lld}", d->version,
		    (long)d->serial, scope_word(d->scope), t,
		    (long long)d->until);
	}
	printf("%s]}%s\n", s->n_keys > 0 ? "\n     " : "", last ? "" : ",");
}

/* keyward sessions [--json] */
int
cmd_sessions(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("sessions");
	struct kw_lifecycle_report cleaned;
	struct kw_session_params p;
	struct kw_reg_session *all = NULL;
	struct kw_error e;
	char t[32];
	size_t n = 0, i, k, keys = 0;
	int wu = 4, ws = 7, wn = 6, rc;
	bool json = false;

	kw_error_clear(&e);
	memset(&cleaned, 0, sizeof(cleaned));
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return cli_usage(c, cmd, "unexpected argument '%s'",
			    argv[i]);
	}
	params(c, &p);
	if ((rc = cli_load_config(c, &e)) != 0 ||
	    (rc = kw_lifecycle_list(&c->cfg, &p, &all, &n, &cleaned, &e)) != 0)
		goto out;
	print_cleaned(stderr, &cleaned);
	if (json) {
		printf("{\n  \"sessions\": [\n");
		for (i = 0; i < n; i++)
			session_json(&all[i], i + 1 == n);
		printf("  ]\n}\n");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((int)strlen(all[i].user) > wu)
			wu = (int)strlen(all[i].user);
		if ((int)strlen(all[i].service) > ws)
			ws = (int)strlen(all[i].service);
		for (k = 0; k < all[i].n_keys; k++)
			if ((int)strlen(all[i].keys[k].secret) > wn)
				wn = (int)strlen(all[i].keys[k].secret);
		keys += all[i].n_keys;
	}
	if (n == 0) {
		printf("no live sessions\n");
		goto out;
	}
	printf("%-16s %-*s %7s %-*s %-*s %7s %10s %-7s %-20s %s\n", "SESSION",
	    wu, "USER", "PID", ws, "SERVICE", wn, "SECRET", "VERSION",
	    "SERIAL", "SCOPE", "EXPIRES", "EXE");
	for (i = 0; i < n; i++) {
		const struct kw_reg_session *s = &all[i];

		if (s->n_keys == 0)
			printf("%-16s %-*s %7ld %-*s %-*s %7s %10s %-7s %-20s "
			    "%s\n", s->id, wu, s->user, (long)s->pid, ws,
			    s->service[0] != '\0' ? s->service : "-", wn, "-",
			    "-", "-", "-", "-", s->exe[0] != '\0' ? s->exe :
			    "-");
		for (k = 0; k < s->n_keys; k++) {
			const struct kw_delivery *d = &s->keys[k];

			cli_format_time(d->until, t, sizeof(t));
			printf("%-16s %-*s %7ld %-*s %-*s %7u %10ld %-7s %-20s "
			    "%s\n", s->id, wu, s->user, (long)s->pid, ws,
			    s->service[0] != '\0' ? s->service : "-", wn,
			    d->secret, d->version, (long)d->serial,
			    scope_word(d->scope), t, s->exe[0] != '\0' ?
			    s->exe : "-");
		}
	}
	printf("%zu session%s, %zu live key%s\n", n, n == 1 ? "" : "s", keys,
	    keys == 1 ? "" : "s");
out:
	kw_reg_sessions_free(all, n);
	kw_lifecycle_report_free(&cleaned);
	return rc != 0 ? cli_fail(c, &e) : KW_EXIT_OK;
}

/* ---- keyward revoke -------------------------------------------------------- */

/* keyward revoke --secret NAME | --user U | --session ID | --all */
int
cmd_revoke(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secret", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "session", required_argument, NULL, 'S' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find_cmd("revoke");
	struct kw_lifecycle_filter f;
	struct kw_lifecycle_report r;
	struct kw_session_params p;
	struct kw_error e;
	size_t i;
	int ch, rc;

	kw_error_clear(&e);
	memset(&f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			f.secret = optarg;
			break;
		case 'u':
			f.user = optarg;
			break;
		case 'S':
			f.session = optarg;
			break;
		case 'a':
			f.all = true;
			break;
		case ':':
			return cli_usage(c, cmd, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return cli_usage(c, cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(c, cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (!f.all && f.secret == NULL && f.user == NULL && f.session == NULL)
		return cli_usage(c, cmd, "say what to revoke: --secret, --user, "
		    "--session or --all");
	if (f.all && (f.secret != NULL || f.user != NULL || f.session != NULL))
		return cli_usage(c, cmd, "--all takes no other option");
	if (f.secret != NULL && kw_name_check(f.secret, &e) != 0) {
		cli_errorf(c, "revoke: %s", kw_error_text(&e));
		return KW_EXIT_USAGE;
	}
	if (f.session != NULL && !kw_session_id_valid(f.session))
		return cli_usage(c, cmd, "'%s' is not a session id (16 hex "
		    "digits, see keyward sessions)", f.session);
	params(c, &p);
	if ((rc = cli_load_config(c, &e)) != 0)
		return cli_fail(c, &e);
	rc = kw_lifecycle_revoke(&c->cfg, &f, &p, &r, &e);
	print_cleaned(stdout, &r);
	for (i = 0; i < r.n_done; i++) {
		const struct kw_live_copy *k = &r.done[i];

		printf("revoked %s (version %u, serial %ld, scope %s) in "
		    "session %s of user %s (pid %ld)\n", k->secret, k->version,
		    (long)k->serial, scope_word(k->scope), k->session, k->user,
		    (long)k->pid);
	}
	if (r.n_done == 0)
		printf("no live key matched: nothing revoked\n");
	else
		printf("%zu key%s revoked\n", r.n_done, r.n_done == 1 ? "" :
		    "s");
	kw_lifecycle_report_free(&r);
	return rc != 0 ? cli_fail(c, &e) : KW_EXIT_OK;
}

/* ---- rotate / rollback: reach the running agents --------------------------- */

/* Update the live copies of name to value (vault version). */
int
cli_propagate(struct cli *c, FILE *info, const char *name,
    const unsigned char *value, size_t len, uint32_t version)
{
	struct kw_lifecycle_report r;
	struct kw_session_params p;
	struct kw_error e;
	int rc;

	kw_error_clear(&e);
	params(c, &p);
	if ((rc = cli_load_config(c, &e)) != 0)
		return cli_fail(c, &e);
	rc = kw_lifecycle_update(&c->cfg, name, value, len, version, &p, &r,
	    &e);
	print_cleaned(info, &r);
	fprintf(info, "%zu live cop%s of %s updated in place to version %u",
	    r.n_done, r.n_done == 1 ? "y" : "ies", name, version);
	if (r.n_current > 0)
		fprintf(info, " (%zu already at it)", r.n_current);
	fprintf(info, "\n");
	kw_lifecycle_report_free(&r);
	if (rc != 0) {
		cli_errorf(c, "%s: the vault has version %u, but: %s", name,
		    version, kw_error_text(&e));
		return KW_EXIT_FAIL;
	}
	return KW_EXIT_OK;
}
