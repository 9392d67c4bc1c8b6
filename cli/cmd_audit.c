/*
 * cmd_audit.c - the auditor's commands: keyward audit (who read which
 * secret, when, with which program) and keyward audit-hash (the fp= of a
 * value).
 */
#include "config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_log.h"
#include "cli.h"
#include "kw_util.h"
#include "vault.h"

enum out_format { FMT_TEXT, FMT_JSON, FMT_CSV };

struct printer {
	enum out_format fmt;
	unsigned n;
};

/* "name(uid)" or "uid" or "unset" for a uid. */
static void
user_text(long long uid, char *buf, size_t size)
{
	struct passwd *pw;

	if (uid < 0) {
		snprintf(buf, size, "unset");
		return;
	}
	pw = getpwuid((uid_t)uid);
	if (pw != NULL)
		snprintf(buf, size, "%s(%lld)", pw->pw_name, uid);
	else
		snprintf(buf, size, "%lld", uid);
}

/* The flags of an access, comma separated, "" when none. */
static void
flags_text(const struct kw_access *a, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", a->refused ? "refused" : "",
	    a->refused && a->no_delivery ? "," : "",
	    a->no_delivery ? "no-delivery" : "");
}

/* A CSV field, quoted when needed. */
static void
csv_field(const char *s, bool last)
{
	const char *p;

	if (strpbrk(s, ",\"\n") != NULL) {
		putchar('"');
		for (p = s; *p != '\0'; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

/* Print one access in the chosen format. */
static int
print_access(const struct kw_access *a, void *arg)
{
	struct printer *p = arg;
	char when[40], ts[32], user[96], auid[96], flags[40], ver[16], pid[24];
	char serial[16];

	cli_format_time((long long)a->time, ts, sizeof(ts));
	/* 2026-01-02T03:04:05.123Z */
	if (strlen(ts) == 20)
		snprintf(when, sizeof(when), "%.19s.%03uZ", ts, a->milli);
	else
		snprintf(when, sizeof(when), "%s", ts);
	user_text(a->uid, user, sizeof(user));
	user_text(a->auid, auid, sizeof(auid));
	flags_text(a, flags, sizeof(flags));
	snprintf(ver, sizeof(ver), "%u", (unsigned)a->version);
	snprintf(pid, sizeof(pid), "%ld", a->pid);
	snprintf(serial, sizeof(serial), "%ld", (long)a->serial);
	switch (p->fmt) {
	case FMT_TEXT:
		printf("%s %-11s %-20s v%-3s uid=%s auid=%s acct=%s pid=%s "
		    "exe=%s src=%s serial=%s res=%s%s%s\n", when, a->op,
		    a->secret[0] != '\0' ? a->secret : "?",
		    a->version != 0 ? ver : "?", user, auid,
		    a->acct[0] != '\0' ? a->acct : "-", pid,
		    a->exe[0] != '\0' ? a->exe : "?", a->source, serial,
		    a->success ? "success" : "failed",
		    flags[0] != '\0' ? " FLAG=" : "", flags);
		break;
	case FMT_CSV:
		if (p->n == 0)
			printf("time,op,secret,version,uid,auid,acct,pid,exe,"
			    "source,serial,result,flags\n");
		csv_field(when, false);
		csv_field(a->op, false);
		csv_field(a->secret, false);
		csv_field(a->version != 0 ? ver : "", false);
		csv_field(user, false);
		csv_field(auid, false);
		csv_field(a->acct, false);
		csv_field(pid, false);
		csv_field(a->exe, false);
		csv_field(a->source, false);
		csv_field(serial, false);
		csv_field(a->success ? "success" : "failed", false);
		csv_field(flags, true);
		break;
	case FMT_JSON:
		printf("%s\n  {\"time\":", p->n == 0 ? "[" : ",");
		cli_json_string(stdout, when);
		printf(",\"op\":");
		cli_json_string(stdout, a->op);
		printf(",\"secret\":");
		cli_json_string(stdout, a->secret);
		printf(",\"version\":%u,\"uid\":%lld,\"auid\":%lld,\"user\":",
		    (unsigned)a->version, a->uid, a->auid);
		cli_json_string(stdout, user);
		printf(",\"acct\":");
		cli_json_string(stdout, a->acct);
		printf(",\"pid\":%ld,\"exe\":", a->pid);
		cli_json_string(stdout, a->exe);
		printf(",\"source\":");
		cli_json_string(stdout, a->source);
		printf(",\"serial\":%ld,\"result\":\"%s\",\"refused\":%s,"
		    "\"no_delivery\":%s}", (long)a->serial,
		    a->success ? "success" : "failed",
		    a->refused ? "true" : "false",
		    a->no_delivery ? "true" : "false");
		break;
	}
	p->n++;
	return 0;
}

/* keyward audit [--since T] [--until T] [--secret N] [--user U] ... */
int
cmd_audit(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "secret", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'U' },
		{ "format", required_argument, NULL, 'f' },
		{ "input", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find_cmd("audit");
	struct kw_audit_query q;
	struct printer p;
	struct kw_error e;
	struct passwd *pw;
	uint64_t n;
	time_t now = time(NULL);
	int ch;

	memset(&q, 0, sizeof(q));
	memset(&p, 0, sizeof(p));
	kw_error_clear(&e);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 'u':
			if (kw_audit_time_parse(optarg, now, ch == 's' ?
			    &q.since : &q.until, &e) != 0)
				return cli_usage(c, cmd, "--%s: %s", ch == 's' ?
				    "since" : "until", kw_error_text(&e));
			break;
		case 'S':
			if (!kw_name_valid(optarg))
				return cli_usage(c, cmd, "--secret: '%s' is not "
				    "a valid secret name", optarg);
			q.secret = optarg;
			break;
		case 'U':
			q.has_user = true;
			q.user_name = optarg;
			if ((pw = getpwnam(optarg)) != NULL)
				q.user_uid = pw->pw_uid;
			else if (kw_parse_u64(optarg, 0, 4294967294ULL, &n,
			    NULL) == 0)
				q.user_uid = (uid_t)n;
			else
				return cli_usage(c, cmd, "--user: no such user "
				    "'%s'", optarg);
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				p.fmt = FMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				p.fmt = FMT_JSON;
			else if (strcmp(optarg, "csv") == 0)
				p.fmt = FMT_CSV;
			else
				return cli_usage(c, cmd, "--format: '%s': "
				    "expected text, json or csv", optarg);
			break;
		case 'i':
			if (access(optarg, R_OK) != 0)
				return cli_usage(c, cmd, "--input: %s: cannot "
				    "read it", optarg);
			q.input = optarg;
			break;
		default:
			return cli_usage(c, cmd, "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage(c, cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (q.since != 0 && q.until != 0 && q.until < q.since)
		return cli_usage(c, cmd, "--until is before --since");
	if (kw_audit_log_scan(&q, print_access, &p, &e) != 0)
		return cli_fail(c, &e);
	if (p.fmt == FMT_JSON)
		printf("%s]\n", p.n == 0 ? "[" : "\n");
	else if (p.fmt == FMT_TEXT && p.n == 0)
		printf("no matching accesses\n");
	return KW_EXIT_OK;
}

/* Print the fp of each kept version of a vault secret. */
static int
hash_secret(struct cli *c, const char *name, struct kw_error *e)
{
	unsigned char mkey[KW_MASTER_KEY_LEN], akey[KW_AUDIT_KEY_LEN];
	char fp[KW_FP_HEX_LEN + 1];
	struct kw_vault *v = NULL;
	struct kw_secret_info info;
	struct kw_secret *s = NULL;
	uint32_t vers[2];
	int i, rc;

	if ((rc = cli_load_config(c, e)) != 0)
		goto out;
	if ((rc = kw_audit_key_load(c->cfg.audit_key, akey, e)) != 0)
		goto out;
	if ((rc = kw_master_key_load(c->cfg.master_key, mkey, e)) != 0)
		goto out;
	if ((rc = kw_vault_open(c->cfg.vault, mkey, &v, e)) != 0)
		goto out;
	if ((rc = kw_vault_info(v, name, &info, e)) != 0)
		goto out;
	vers[0] = info.version;
	vers[1] = info.prev_version;
	for (i = 0; i < 2; i++) {
		if (vers[i] == 0)
			continue;
		if ((rc = kw_vault_get(v, name, vers[i], &s, e)) != 0)
			goto out;
		rc = kw_audit_fp(akey, s->data, s->len, fp, e);
		kw_secret_free(s);
		s = NULL;
		if (rc != 0)
			goto out;
		printf("%s v%u fp=%s%s\n", name, (unsigned)vers[i], fp,
		    i == 0 ? " (current)" : "");
	}
	rc = 0;
out:
	kw_wipe(mkey, sizeof(mkey));
	kw_wipe(akey, sizeof(akey));
	kw_vault_close(v);
	(void)c;
	return rc;
}

/* keyward audit-hash [--secret NAME] */
int
cmd_audit_hash(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secret", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find_cmd("audit-hash");
	unsigned char akey[KW_AUDIT_KEY_LEN], *buf = NULL;
	char fp[KW_FP_HEX_LEN + 1];
	const char *secret = NULL;
	struct kw_error e;
	size_t len = 0;
	int ch, rc;

	kw_error_clear(&e);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			if (!kw_name_valid(optarg))
				return cli_usage(c, cmd, "--secret: '%s' is not "
				    "a valid secret name", optarg);
			secret = optarg;
			break;
		default:
			return cli_usage(c, cmd, "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage(c, cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (secret != NULL)
		return hash_secret(c, secret, &e) == 0 ? KW_EXIT_OK :
		    cli_fail(c, &e);
	rc = cli_load_config(c, &e);
	if (rc == 0)
		rc = kw_audit_key_load(c->cfg.audit_key, akey, &e);
	if (rc == 0)
		rc = cli_read_value(STDIN_FILENO, "standard input",
		    KW_SECRET_MAX, true, &buf, &len, &e);
	if (rc == 0)
		rc = kw_audit_fp(akey, buf, len, fp, &e);
	kw_freezero(buf, len);
	kw_wipe(akey, sizeof(akey));
	if (rc != 0)
		return cli_fail(c, &e);
	printf("fp=%s\n", fp);
	return KW_EXIT_OK;
}
