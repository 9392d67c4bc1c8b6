/*
 * test_policy.c - CUnit tests of the policy layer: the parser (every
 * construct and every error, with file:line), globs, evaluation (default
 * deny, deny wins, union of grants, TTL minimum), time windows (inside,
 * outside, across midnight, day ranges, wrapping ranges, DST), exe rules
 * only from trusted launchers, groups, SHA-256 of files, loading
 * policy.d in lexical order, unsafe files, and the check warnings.
 */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kw_config.h"
#include "kw_util.h"
#include "policy.h"
#include "vault.h"

static char tmpdir[] = "/tmp/kw-test-policy.XXXXXX";
static struct kw_config cfg;

/* Write text to path with mode. */
static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(kw_write_all(fd, text, strlen(text)) == 0);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
}

/* Parse text as "p.conf" into a new policy; returns the code. */
static int
parse(const char *text, struct kw_policy **p, struct kw_error *e)
{
	int rc;

	kw_error_clear(e);
	CU_ASSERT_FATAL(kw_policy_new(p, e) == 0);
	rc = kw_policy_parse(*p, "p.conf", text, strlen(text), e);
	return rc;
}

/* The error message of a text that must not parse. */
static const char *
parse_error(const char *text)
{
	static struct kw_error e;
	struct kw_policy *p;
	int rc;

	rc = parse(text, &p, &e);
	kw_policy_free(p);
	CU_ASSERT_EQUAL(rc, KW_EINVAL);
	if (rc == 0)
		return "(parsed)";
	return e.msg;
}

/* Local time (TZ as set) of a date. */
static time_t
at(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* A request for user u in group g on service s at now. */
static struct kw_request
req_of(const char *u, const char *const *groups, size_t ng, const char *s,
    time_t now)
{
	struct kw_request r;

	memset(&r, 0, sizeof(r));
	r.user = u;
	r.groups = groups;
	r.n_groups = ng;
	r.service = s;
	r.now = now;
	return r;
}

/* Evaluate text for req; returns d (caller frees). */
static void
eval_text(const char *text, const struct kw_request *req,
    struct kw_decision *d)
{
	struct kw_policy *p;
	struct kw_error e;

	CU_ASSERT_EQUAL_FATAL(parse(text, &p, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_policy_eval(p, &cfg, req, d, &e), 0);
	kw_policy_free(p);
}

/* Is the decision allowed, and by rule? */
static bool
allowed_by(const char *text, const struct kw_request *req, const char *rule)
{
	struct kw_decision d;
	bool ok;

	eval_text(text, req, &d);
	ok = d.allow && strcmp(d.rule, rule) == 0;
	kw_decision_free(&d);
	return ok;
}

/* Is the decision a deny (with the given deciding rule)? */
static bool
denied_by(const char *text, const struct kw_request *req, const char *rule)
{
	struct kw_decision d;
	bool ok;

	eval_text(text, req, &d);
	ok = !d.allow && strcmp(d.rule, rule) == 0 && d.n_patterns == 0;
	kw_decision_free(&d);
	return ok;
}

static void
test_glob(void)
{
	CU_ASSERT_TRUE(kw_glob_match("hf-*", "hf-token"));
	CU_ASSERT_TRUE(kw_glob_match("hf-*", "hf-"));
	CU_ASSERT_FALSE(kw_glob_match("hf-*", "hf"));
	CU_ASSERT_TRUE(kw_glob_match("*", ""));
	CU_ASSERT_TRUE(kw_glob_match("a?c", "abc"));
	CU_ASSERT_FALSE(kw_glob_match("a?c", "ac"));
	CU_ASSERT_TRUE(kw_glob_match("*-prod", "openai-prod"));
	CU_ASSERT_FALSE(kw_glob_match("*-prod", "openai-prod2"));
	CU_ASSERT_TRUE(kw_glob_match("a*b*c", "aXbYbZc"));
	CU_ASSERT_FALSE(kw_glob_match("a*b*c", "aXbYbZ"));
	CU_ASSERT_TRUE(kw_glob_match("exact", "exact"));
	CU_ASSERT_FALSE(kw_glob_match("exact", "exactly"));
	CU_ASSERT_FALSE(kw_glob_match("", "x"));
	/* no exponential blow-up */
	CU_ASSERT_FALSE(kw_glob_match("*a*a*a*a*a*a*a*a*a*a*b",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void
test_parse_constructs(void)
{
	const char *text =
	    "# a comment line\n"
	    "\n"
	    "allow user=summarizer service=keyward-agent "
	    "secrets=openai-prod,s3-docs ttl=1h   # trailing comment\n"
	    "allow group=ml-* service=sshd,keyward-agent \\\n"
	    "      secrets=hf-* ttl=8h \\\n"
	    "      time=Mo-Fr/08:00-18:00\n"
	    "allow user=indexer exe=/opt/agents/indexer exe_sha256="
	    "9F2C000000000000000000000000000000000000000000000000000000000001"
	    " secrets=pg-ro scope=user\n"
	    "\tdeny  user=intern\n"
	    "allow tty=pts/* rhost=10.0.0.? user=x?z secrets=a scope=session\n";
	const char *groups[] = { "users", "ml-agents" };
	struct kw_decision d;
	struct kw_policy *p;
	struct kw_request r;
	struct kw_error e;

	CU_ASSERT_EQUAL_FATAL(parse(text, &p, &e), 0);
	CU_ASSERT_EQUAL(kw_policy_count(p), 5);
	kw_policy_free(p);

	/* rule 1: a plain allow with two secrets and ttl */
	r = req_of("summarizer", NULL, 0, "keyward-agent", at(2024, 1, 1, 3, 0));
	eval_text(text, &r, &d);
	CU_ASSERT_TRUE(d.allow);
	CU_ASSERT_STRING_EQUAL(d.rule, "p.conf:3");
	CU_ASSERT_EQUAL_FATAL(d.n_patterns, 2);
	CU_ASSERT_STRING_EQUAL(d.patterns[0].pattern, "openai-prod");
	CU_ASSERT_STRING_EQUAL(d.patterns[1].pattern, "s3-docs");
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 3600);
	CU_ASSERT_EQUAL(d.patterns[0].scope, KW_SCOPE_SESSION);
	CU_ASSERT_STRING_EQUAL(d.patterns[0].rule, "p.conf:3");
	kw_decision_free(&d);
	r.service = "sshd";
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));

	/* rule 2: continued over three lines, reported at its first line */
	r = req_of("bob", groups, 2, "sshd", at(2024, 1, 1, 9, 0));
	eval_text(text, &r, &d);
	CU_ASSERT_TRUE(d.allow);
	CU_ASSERT_STRING_EQUAL(d.rule, "p.conf:4");
	CU_ASSERT_EQUAL_FATAL(d.n_patterns, 1);
	CU_ASSERT_STRING_EQUAL(d.patterns[0].pattern, "hf-*");
	kw_decision_free(&d);

	/* rule 5 after the deny at line 8: tty, rhost and user globs */
	r = req_of("xyz", NULL, 0, NULL, at(2024, 1, 1, 9, 0));
	r.tty = "pts/3";
	r.rhost = "10.0.0.7";
	CU_ASSERT_TRUE(allowed_by(text, &r, "p.conf:9"));
	r.rhost = "10.0.0.70";
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	r.rhost = NULL;		/* a matcher on a missing item never matches */
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	r.rhost = "10.0.0.7";
	r.tty = "tty1";
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));

	/* an empty policy and a comment-only one deny everything */
	r = req_of("summarizer", NULL, 0, "keyward-agent", 0);
	CU_ASSERT_TRUE(denied_by("", &r, "default-deny"));
	CU_ASSERT_TRUE(denied_by("# nothing\n  \n", &r, "default-deny"));
}

static void
test_parse_errors(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "permit user=a secrets=x\n",
		  "p.conf:1: unknown action 'permit' (expected allow or deny)" },
		{ "\nallow user secrets=x\n",
		  "p.conf:2: 'user' is not key=value" },
		{ "allow users=a secrets=x\n",
		  "p.conf:1: unknown key 'users'" },
		{ "allow user=a user=b secrets=x\n",
		  "p.conf:1: duplicate key 'user'" },
		{ "allow user=a secrets=x secrets=y\n",
		  "p.conf:1: duplicate key 'secrets'" },
		{ "allow user= secrets=x\n",
		  "p.conf:1: user= has an empty list" },
		{ "allow user=a,,b secrets=x\n",
		  "p.conf:1: user= has an empty item in its list" },
		{ "allow user=a, secrets=x\n",
		  "p.conf:1: user= has an empty item in its list" },
		{ "allow user=a secrets=\n",
		  "p.conf:1: secrets= has an empty list" },
		{ "allow user=a secrets=x ttl=1x\n",
		  "p.conf:1: ttl: invalid unit in duration '1x' (s, m, h or d)" },
		{ "allow user=a secrets=x ttl=soon\n",
		  "p.conf:1: ttl: invalid duration 'soon' (expected e.g. 30s, "
		  "15m, 1h, 7d)" },
		{ "allow user=a secrets=x ttl=0s\n",
		  "p.conf:1: ttl: duration '0s' is zero" },
		{ "allow user=a secrets=x time=25:00-26:00\n",
		  "p.conf:1: time: bad time window '25:00-26:00' (expected "
		  "[DAYS/]HH:MM-HH:MM, e.g. Mo-Fr/08:00-18:00)" },
		{ "allow user=a secrets=x time=8:00-18:00\n",
		  "p.conf:1: time: bad time window '8:00-18:00' (expected "
		  "[DAYS/]HH:MM-HH:MM, e.g. Mo-Fr/08:00-18:00)" },
		{ "allow user=a secrets=x time=Mo-Fr/08:00-18:60\n",
		  "p.conf:1: time: bad time window 'Mo-Fr/08:00-18:60' "
		  "(expected [DAYS/]HH:MM-HH:MM, e.g. Mo-Fr/08:00-18:00)" },
		{ "allow user=a secrets=x time=Mon/08:00-18:00\n",
		  "p.conf:1: time: bad days in time window 'Mon/08:00-18:00' "
		  "(use Mo Tu We Th Fr Sa Su, a range like Mo-Fr or days "
		  "joined with +)" },
		{ "allow user=a secrets=x time=Mo+/08:00-18:00\n",
		  "p.conf:1: time: bad days in time window 'Mo+/08:00-18:00' "
		  "(use Mo Tu We Th Fr Sa Su, a range like Mo-Fr or days "
		  "joined with +)" },
		{ "allow user=a secrets=x time=/08:00-18:00\n",
		  "p.conf:1: time: bad days in time window '/08:00-18:00' "
		  "(use Mo Tu We Th Fr Sa Su, a range like Mo-Fr or days "
		  "joined with +)" },
		{ "allow user=a secrets=x time=08:00-08:00\n",
		  "p.conf:1: time: empty time window '08:00-08:00' (start "
		  "equals end; use 00:00-24:00 for a whole day)" },
		{ "allow user=a secrets=x time=24:00-01:00\n",
		  "p.conf:1: time: bad time window '24:00-01:00' (expected "
		  "[DAYS/]HH:MM-HH:MM, e.g. Mo-Fr/08:00-18:00)" },
		{ "deny user=a secrets=x\n",
		  "p.conf:1: a deny rule cannot grant (secrets=, ttl=, scope=)" },
		{ "deny user=a ttl=1h\n",
		  "p.conf:1: a deny rule cannot grant (secrets=, ttl=, scope=)" },
		{ "deny user=a scope=user\n",
		  "p.conf:1: a deny rule cannot grant (secrets=, ttl=, scope=)" },
		{ "allow user=a ttl=1h\n",
		  "p.conf:1: allow rule without secrets=" },
		{ "allow\n",
		  "p.conf:1: allow rule without secrets=" },
		{ "allow user=a exe_sha256=abc secrets=x\n",
		  "p.conf:1: exe_sha256: 'abc' is not 64 hex digits" },
		{ "allow user=a exe_sha256=zz000000000000000000000000000000000"
		  "00000000000000000000000000000 secrets=x\n",
		  "p.conf:1: exe_sha256: 'zz0000000000000000000000000000000000"
		  "0000000000000000000000000000' is not 64 hex digits" },
		{ "allow user=a exe=bin/agent secrets=x\n",
		  "p.conf:1: exe: 'bin/agent' is not an absolute path" },
		{ "allow user=a secrets=x scope=global\n",
		  "p.conf:1: scope: 'global' is not session or user" },
		{ "allow user=a secrets=x scope=user,session\n",
		  "p.conf:1: scope: 'user,session' is not session or user" },
		{ "allow user=a secrets=../etc\n",
		  "p.conf:1: secrets: '../etc' is not a secret name or pattern "
		  "(1-64 of A-Z a-z 0-9 . _ - with * and ?)" },
		{ "# one\nallow user=a \\\n  secrets=x \\\n  bogus=1\n",
		  "p.conf:2: unknown key 'bogus'" },
		{ "allow user=a \\\n",
		  "p.conf:1: file ends inside a '\\' continuation" },
		{ "allow user=a secrets=x\r\n",
		  "p.conf:1: carriage return in line (DOS line endings?)" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = parse_error(cases[i].text);

		if (strcmp(got, cases[i].msg) != 0)
			fprintf(stderr, "\ncase %zu: got '%s'\n", i, got);
		CU_ASSERT_STRING_EQUAL(got, cases[i].msg);
	}
}

static void
test_deny_wins_union(void)
{
	const char *text =
	    "allow user=alice secrets=a,b ttl=2h\n"
	    "allow group=devs secrets=b,c ttl=30m scope=user\n"
	    "deny user=alice service=sshd\n"
	    "allow user=alice service=sshd secrets=z\n";
	const char *devs[] = { "alice", "devs" };
	struct kw_decision d;
	struct kw_request r;

	r = req_of("alice", devs, 2, "keyward-agent", at(2024, 1, 1, 9, 0));
	eval_text(text, &r, &d);
	CU_ASSERT_TRUE(d.allow);
	CU_ASSERT_STRING_EQUAL(d.rule, "p.conf:1");	/* first allow */
	CU_ASSERT_EQUAL_FATAL(d.n_matched, 2);
	CU_ASSERT_STRING_EQUAL(d.matched[0], "p.conf:1");
	CU_ASSERT_STRING_EQUAL(d.matched[1], "p.conf:2");
	CU_ASSERT_FALSE(d.matched_deny[0]);
	CU_ASSERT_EQUAL_FATAL(d.n_patterns, 4);	/* union: a b (rule 1), b c */
	CU_ASSERT_STRING_EQUAL(d.patterns[0].pattern, "a");
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 7200);
	CU_ASSERT_STRING_EQUAL(d.patterns[2].pattern, "b");
	CU_ASSERT_EQUAL(d.patterns[2].ttl, 1800);
	CU_ASSERT_EQUAL(d.patterns[3].scope, KW_SCOPE_USER);
	CU_ASSERT_STRING_EQUAL(d.patterns[3].rule, "p.conf:2");
	kw_decision_free(&d);

	/* a deny that matches wins over every allow, even a later one */
	r.service = "sshd";
	eval_text(text, &r, &d);
	CU_ASSERT_FALSE(d.allow);
	CU_ASSERT_STRING_EQUAL(d.rule, "p.conf:3");
	CU_ASSERT_EQUAL(d.n_matched, 4);
	CU_ASSERT_TRUE(d.matched_deny[2]);
	CU_ASSERT_EQUAL(d.n_patterns, 0);
	CU_ASSERT_PTR_NULL(d.patterns);
	kw_decision_free(&d);

	/* not in devs: only rule 1 */
	r = req_of("alice", NULL, 0, "keyward-agent", 0);
	eval_text(text, &r, &d);
	CU_ASSERT_TRUE(d.allow);
	CU_ASSERT_EQUAL(d.n_patterns, 2);
	kw_decision_free(&d);

	/* default deny for a stranger */
	r = req_of("mallory", NULL, 0, "keyward-agent", 0);
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	/* a deny without matchers denies all */
	r = req_of("alice", NULL, 0, "keyward-agent", 0);
	CU_ASSERT_TRUE(denied_by("allow user=alice secrets=a\ndeny\n", &r,
	    "p.conf:2"));
}

static void
test_groups_match(void)
{
	const char *text = "allow group=ml-agents secrets=hf-*\n";
	const char *primary_only[] = { "alice" };
	const char *with_supp[] = { "alice", "users", "ml-agents" };
	struct kw_request r;

	/* a supplementary group (not the first/primary) matches */
	r = req_of("alice", with_supp, 3, "keyward-agent", 0);
	CU_ASSERT_TRUE(allowed_by(text, &r, "p.conf:1"));
	r = req_of("alice", primary_only, 1, "keyward-agent", 0);
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	/* a group glob */
	r = req_of("alice", with_supp, 3, "keyward-agent", 0);
	CU_ASSERT_TRUE(allowed_by("allow group=ml-* secrets=x\n", &r,
	    "p.conf:1"));
}

static void
test_request_groups(void)
{
	struct kw_error e;
	char **names = NULL;
	size_t n = 0, i;
	bool has_root = false;
	gid_t gids[256];
	int ng = 256;
	struct group *gr;

	CU_ASSERT_EQUAL_FATAL(kw_request_groups("root", &names, &n, &e), 0);
	CU_ASSERT_TRUE(n >= 1);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], "root") == 0)
			has_root = true;
	CU_ASSERT_TRUE(has_root);
	/* exactly the groups getgrouplist(3) gives, names via getgrgid */
	CU_ASSERT_FATAL(getgrouplist("root", 0, gids, &ng) >= 0);
	CU_ASSERT_EQUAL(n, (size_t)ng);
	for (i = 0; i < n && (int)i < ng; i++) {
		gr = getgrgid(gids[i]);
		if (gr != NULL)
			CU_ASSERT_STRING_EQUAL(names[i], gr->gr_name);
	}
	kw_request_groups_free(names, n);

	CU_ASSERT_EQUAL(kw_request_groups("no-such-user-kw", &names, &n, &e),
	    KW_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(e.msg, "user 'no-such-user-kw' does not exist");
	CU_ASSERT_PTR_NULL(names);
	CU_ASSERT_EQUAL(n, 0);
}

static void
test_ttl_minimum(void)
{
	struct kw_request r;
	struct kw_decision d;
	uint64_t saved_default = cfg.default_ttl, saved_max = cfg.max_ttl;

	r = req_of("a", NULL, 0, "s", at(2024, 1, 1, 17, 50));
	/* the rule's ttl */
	eval_text("allow user=a secrets=x ttl=15m\n", &r, &d);
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 900);
	kw_decision_free(&d);
	/* no ttl= → default_ttl */
	cfg.default_ttl = 7200;
	eval_text("allow user=a secrets=x\n", &r, &d);
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 7200);
	kw_decision_free(&d);
	/* max_ttl caps both */
	cfg.max_ttl = 1200;
	eval_text("allow user=a secrets=x\n", &r, &d);
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 1200);
	kw_decision_free(&d);
	eval_text("allow user=a secrets=x ttl=1d\n", &r, &d);
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 1200);
	kw_decision_free(&d);
	/* the end of the window at 18:00 is 10 minutes away */
	eval_text("allow user=a secrets=x ttl=1h time=Mo-Fr/08:00-18:00\n", &r,
	    &d);
	CU_ASSERT_TRUE(d.allow);
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 600);
	kw_decision_free(&d);
	/* a shorter ttl than the window stays */
	eval_text("allow user=a secrets=x ttl=5m time=Mo-Fr/08:00-18:00\n", &r,
	    &d);
	CU_ASSERT_EQUAL(d.patterns[0].ttl, 300);
	kw_decision_free(&d);
	cfg.default_ttl = saved_default;
	cfg.max_ttl = saved_max;
}

/* Is text's single rule matching at the given local time; *left. */
static bool
window_at(const char *time_list, time_t t, uint64_t *left)
{
	char text[256];
	struct kw_decision d;
	struct kw_request r;
	bool allow;

	snprintf(text, sizeof(text), "allow user=a secrets=x ttl=7d time=%s\n",
	    time_list);
	r = req_of("a", NULL, 0, "s", t);
	eval_text(text, &r, &d);
	allow = d.allow;
	*left = allow && d.n_patterns > 0 ? d.patterns[0].ttl : 0;
	kw_decision_free(&d);
	return allow;
}

static void
test_time_windows(void)
{
	uint64_t left;
	uint64_t saved = cfg.max_ttl;

	cfg.max_ttl = 30 * 86400;
	/* 2024-01-01 is a Monday; 2024-01-06 a Saturday */
	CU_ASSERT_TRUE(window_at("Mo-Fr/08:00-18:00", at(2024, 1, 1, 10, 0),
	    &left));
	CU_ASSERT_EQUAL(left, 8 * 3600);
	CU_ASSERT_TRUE(window_at("Mo-Fr/08:00-18:00", at(2024, 1, 1, 8, 0),
	    &left));
	CU_ASSERT_FALSE(window_at("Mo-Fr/08:00-18:00", at(2024, 1, 1, 7, 59),
	    &left));
	CU_ASSERT_FALSE(window_at("Mo-Fr/08:00-18:00", at(2024, 1, 1, 18, 0),
	    &left));
	CU_ASSERT_FALSE(window_at("Mo-Fr/08:00-18:00", at(2024, 1, 6, 10, 0),
	    &left));
	CU_ASSERT_TRUE(window_at("Mo-Fr/08:00-18:00", at(2024, 1, 5, 17, 59),
	    &left));
	CU_ASSERT_EQUAL(left, 60);

	/* across midnight, every day */
	CU_ASSERT_TRUE(window_at("22:00-06:00", at(2024, 1, 3, 23, 0), &left));
	CU_ASSERT_EQUAL(left, 7 * 3600);
	CU_ASSERT_TRUE(window_at("22:00-06:00", at(2024, 1, 3, 5, 0), &left));
	CU_ASSERT_EQUAL(left, 3600);
	CU_ASSERT_FALSE(window_at("22:00-06:00", at(2024, 1, 3, 12, 0),
	    &left));
	CU_ASSERT_FALSE(window_at("22:00-06:00", at(2024, 1, 3, 6, 0), &left));

	/* a window crossing midnight belongs to the day it starts on */
	CU_ASSERT_TRUE(window_at("Fr/22:00-02:00", at(2024, 1, 5, 23, 0),
	    &left));
	CU_ASSERT_EQUAL(left, 3 * 3600);
	CU_ASSERT_TRUE(window_at("Fr/22:00-02:00", at(2024, 1, 6, 1, 30),
	    &left));	/* Saturday morning: Friday's window */
	CU_ASSERT_EQUAL(left, 1800);
	CU_ASSERT_FALSE(window_at("Fr/22:00-02:00", at(2024, 1, 5, 1, 30),
	    &left));	/* Friday morning: Thursday's, not listed */
	CU_ASSERT_FALSE(window_at("Fr/22:00-02:00", at(2024, 1, 6, 23, 0),
	    &left));

	/* a wrapping day range Fr-Mo: Fr Sa Su Mo */
	CU_ASSERT_TRUE(window_at("Fr-Mo/00:00-24:00", at(2024, 1, 7, 12, 0),
	    &left));	/* Sunday */
	CU_ASSERT_EQUAL(left, 12 * 3600);
	CU_ASSERT_TRUE(window_at("Fr-Mo/00:00-24:00", at(2024, 1, 8, 12, 0),
	    &left));	/* Monday */
	CU_ASSERT_FALSE(window_at("Fr-Mo/00:00-24:00", at(2024, 1, 3, 12, 0),
	    &left));	/* Wednesday */
	CU_ASSERT_FALSE(window_at("Fr-Mo/00:00-24:00", at(2024, 1, 4, 23, 59),
	    &left));	/* Thursday */

	/* joined days */
	CU_ASSERT_TRUE(window_at("Mo+We/09:00-10:00", at(2024, 1, 3, 9, 30),
	    &left));
	CU_ASSERT_FALSE(window_at("Mo+We/09:00-10:00", at(2024, 1, 2, 9, 30),
	    &left));
	CU_ASSERT_TRUE(window_at("Tu+Th-Fr/09:00-10:00",
	    at(2024, 1, 5, 9, 30), &left));
	CU_ASSERT_FALSE(window_at("Tu+Th-Fr/09:00-10:00",
	    at(2024, 1, 3, 9, 30), &left));

	/* a list: any window; the ttl runs to the end of the current one */
	CU_ASSERT_TRUE(window_at("Mo/08:00-09:00,Mo/12:00-13:00",
	    at(2024, 1, 1, 12, 15), &left));
	CU_ASSERT_EQUAL(left, 45 * 60);
	CU_ASSERT_FALSE(window_at("Mo/08:00-09:00,Mo/12:00-13:00",
	    at(2024, 1, 1, 10, 0), &left));
	/* overlapping windows: the latest end */
	CU_ASSERT_TRUE(window_at("08:00-09:00,08:30-10:00",
	    at(2024, 1, 1, 8, 45), &left));
	CU_ASSERT_EQUAL(left, 75 * 60);
	cfg.max_ttl = saved;
}

static void
test_time_dst(void)
{
	uint64_t left, saved = cfg.max_ttl;
	char *old = getenv("TZ") != NULL ? strdup(getenv("TZ")) : NULL;

	cfg.max_ttl = 30 * 86400;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	/* 2024-03-31: clocks go from 02:00 to 03:00; 00:30 to 04:00 is
	 * 2h30m of real time, not 3h30m */
	CU_ASSERT_TRUE(window_at("00:00-04:00", at(2024, 3, 31, 0, 30),
	    &left));
	CU_ASSERT_EQUAL(left, 2 * 3600 + 1800);
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		setenv("TZ", "UTC", 1);
	}
	tzset();
	cfg.max_ttl = saved;
}

static void
test_exe_rules(void)
{
	const char *sha =
	    "9f2c000000000000000000000000000000000000000000000000000000000001";
	const char *text =
	    "allow user=indexer exe=/opt/agents/indexer exe_sha256="
	    "9F2C000000000000000000000000000000000000000000000000000000000001"
	    " secrets=pg-ro\n";
	struct kw_request r;

	r = req_of("indexer", NULL, 0, "keyward-agent", 0);
	r.exe = "/opt/agents/indexer";
	r.exe_sha256 = sha;
	/* from a trusted launcher: matches (hex compared without case) */
	r.trusted_launcher = true;
	CU_ASSERT_TRUE(allowed_by(text, &r, "p.conf:1"));
	/* the same claims from a service that is not trusted: never */
	r.trusted_launcher = false;
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	/* wrong hash */
	r.trusted_launcher = true;
	r.exe_sha256 =
	    "9f2c000000000000000000000000000000000000000000000000000000000002";
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	/* no hash known */
	r.exe_sha256 = NULL;
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	/* wrong path; exe= is an exact path, not a glob */
	r.exe_sha256 = sha;
	r.exe = "/opt/agents/indexer2";
	CU_ASSERT_TRUE(denied_by(text, &r, "default-deny"));
	r.exe = "/opt/agents/indexer";
	CU_ASSERT_TRUE(denied_by("allow exe=/opt/agents/* secrets=x\n", &r,
	    "default-deny"));
	/* a deny with exe= only applies from trusted launchers too */
	CU_ASSERT_TRUE(denied_by("allow user=indexer secrets=x\n"
	    "deny exe=/opt/agents/indexer\n", &r, "p.conf:2"));
	r.trusted_launcher = false;
	CU_ASSERT_TRUE(allowed_by("allow user=indexer secrets=x\n"
	    "deny exe=/opt/agents/indexer\n", &r, "p.conf:1"));
}

static void
test_sha256_file(void)
{
	char path[256], link[256], hex[65];
	struct kw_error e;

	snprintf(path, sizeof(path), "%s/abc", tmpdir);
	write_file(path, "abc", 0755);
	CU_ASSERT_EQUAL(kw_sha256_file(path, hex, &e), 0);
	CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	/* a symbolic link is resolved: the hash is of its target */
	snprintf(link, sizeof(link), "%s/abc-link", tmpdir);
	unlink(link);
	CU_ASSERT_FATAL(symlink(path, link) == 0);
	CU_ASSERT_EQUAL(kw_sha256_file(link, hex, &e), 0);
	CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	/* empty file */
	write_file(path, "", 0755);
	CU_ASSERT_EQUAL(kw_sha256_file(path, hex, &e), 0);
	CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	CU_ASSERT_EQUAL(kw_sha256_file(tmpdir, hex, &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a regular file"));
	CU_ASSERT_STRING_EQUAL(hex, "");
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CU_ASSERT_EQUAL(kw_sha256_file(path, hex, &e), KW_ENOTFOUND);
}

/* Set up tmpdir/etc as a config dir; returns cfg with its paths. */
static void
etc_config(struct kw_config *c, const char *sub)
{
	char dir[256], conf[300];
	struct kw_error e;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
	CU_ASSERT_FATAL(chmod(dir, 0755) == 0);
	snprintf(conf, sizeof(conf), "%s/keyward.conf", dir);
	CU_ASSERT_FATAL(kw_config_defaults(c, conf, NULL, &e) == 0);
}

static void
test_load_order(void)
{
	struct kw_config c;
	struct kw_policy *p = NULL;
	struct kw_decision d;
	struct kw_request r;
	struct kw_error e;
	char path[PATH_MAX + 64];

	etc_config(&c, "order");
	/* no policy.conf, no policy.d: empty policy, deny */
	CU_ASSERT_EQUAL_FATAL(kw_policy_load(&c, &p, &e), 0);
	CU_ASSERT_EQUAL(kw_policy_count(p), 0);
	kw_policy_free(p);

	write_file(c.policy, "allow user=a secrets=main\n", 0644);
	CU_ASSERT_FATAL(mkdir(c.policy_d, 0755) == 0);
	snprintf(path, sizeof(path), "%s/20-b.conf", c.policy_d);
	write_file(path, "allow user=a secrets=b\n", 0644);
	snprintf(path, sizeof(path), "%s/10-a.conf", c.policy_d);
	write_file(path, "# a\nallow user=a secrets=a\n", 0644);
	snprintf(path, sizeof(path), "%s/3.conf", c.policy_d);
	write_file(path, "allow user=a secrets=three\n", 0644);
	snprintf(path, sizeof(path), "%s/Z.conf", c.policy_d);
	write_file(path, "allow user=a secrets=upper\n", 0644);
	/* ignored: not *.conf, hidden */
	snprintf(path, sizeof(path), "%s/99.conf.bak", c.policy_d);
	write_file(path, "garbage\n", 0644);
	snprintf(path, sizeof(path), "%s/.00.conf", c.policy_d);
	write_file(path, "garbage\n", 0644);

	CU_ASSERT_EQUAL_FATAL(kw_policy_load(&c, &p, &e), 0);
	CU_ASSERT_EQUAL(kw_policy_count(p), 5);
	r = req_of("a", NULL, 0, "s", 0);
	CU_ASSERT_EQUAL_FATAL(kw_policy_eval(p, &c, &r, &d, &e), 0);
	CU_ASSERT_EQUAL_FATAL(d.n_patterns, 5);
	/* policy.conf first, then bytewise order: 10-a 20-b 3 Z */
	CU_ASSERT_STRING_EQUAL(d.patterns[0].pattern, "main");
	CU_ASSERT_STRING_EQUAL(d.patterns[1].pattern, "a");
	CU_ASSERT_STRING_EQUAL(d.patterns[2].pattern, "b");
	CU_ASSERT_STRING_EQUAL(d.patterns[3].pattern, "three");
	CU_ASSERT_STRING_EQUAL(d.patterns[4].pattern, "upper");
	snprintf(path, sizeof(path), "%s/10-a.conf:2", c.policy_d);
	CU_ASSERT_STRING_EQUAL(d.patterns[1].rule, path);
	snprintf(path, sizeof(path), "%s:1", c.policy);
	CU_ASSERT_STRING_EQUAL(d.rule, path);
	kw_decision_free(&d);
	kw_policy_free(p);

	/* a syntax error in a later file fails the whole load */
	snprintf(path, sizeof(path), "%s/50-bad.conf", c.policy_d);
	write_file(path, "allow user=a\n", 0644);
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), KW_EINVAL);
	CU_ASSERT_PTR_NULL(p);
	snprintf(path, sizeof(path),
	    "%s/50-bad.conf:1: allow rule without secrets=", c.policy_d);
	CU_ASSERT_STRING_EQUAL(e.msg, path);
	kw_config_free(&c);
}

static void
test_unsafe_files(void)
{
	struct kw_config c;
	struct kw_policy *p = NULL;
	struct kw_error e;
	char path[PATH_MAX + 64], target[PATH_MAX], want[PATH_MAX + 64];

	etc_config(&c, "unsafe");
	/* writable by others */
	write_file(c.policy, "allow user=a secrets=x\n", 0666);
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), KW_EUNSAFE);
	CU_ASSERT_PTR_NULL(p);
	snprintf(want, sizeof(want),
	    "%s: writable by group or others (mode 0666)", c.policy);
	CU_ASSERT_STRING_EQUAL(e.msg, want);
	/* a symbolic link */
	unlink(c.policy);
	snprintf(target, sizeof(target), "%s/unsafe/real.conf", tmpdir);
	write_file(target, "allow user=a secrets=x\n", 0644);
	CU_ASSERT_FATAL(symlink(target, c.policy) == 0);
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), KW_EUNSAFE);
	snprintf(want, sizeof(want),
	    "%s: is a symbolic link; refusing to follow it", c.policy);
	CU_ASSERT_STRING_EQUAL(e.msg, want);
	unlink(c.policy);
	write_file(c.policy, "allow user=a secrets=x\n", 0644);
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), 0);
	kw_policy_free(p);
	/* a group-writable policy.d file */
	CU_ASSERT_FATAL(mkdir(c.policy_d, 0755) == 0);
	snprintf(path, sizeof(path), "%s/a.conf", c.policy_d);
	write_file(path, "allow user=a secrets=x\n", 0620);
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), KW_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "a.conf: writable by group"));
	chmod(path, 0644);
	/* a policy.d that others can write */
	CU_ASSERT_FATAL(chmod(c.policy_d, 0777) == 0);
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), KW_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "policy.d: writable by group"));
	CU_ASSERT_FATAL(chmod(c.policy_d, 0755) == 0);
	/* a symlinked *.conf inside policy.d */
	snprintf(path, sizeof(path), "%s/b.conf", c.policy_d);
	CU_ASSERT_FATAL(symlink(target, path) == 0);
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), KW_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "b.conf: is a symbolic link"));
	unlink(path);
	/* owned by someone else (needs root to chown) */
	if (geteuid() == 0) {
		CU_ASSERT_FATAL(chown(c.policy, 65534, 65534) == 0);
		CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), KW_EUNSAFE);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg,
		    "owned by uid 65534, not root"));
		CU_ASSERT_FATAL(chown(c.policy, 0, 0) == 0);
	}
	CU_ASSERT_EQUAL(kw_policy_load(&c, &p, &e), 0);
	kw_policy_free(p);
	kw_config_free(&c);
}

struct warnings {
	char text[4096];
	unsigned n;
};

/* Collect warnings as "where: msg\n". */
static void
collect(const char *where, const char *msg, void *arg)
{
	struct warnings *w = arg;
	size_t len = strlen(w->text);

	snprintf(w->text + len, sizeof(w->text) - len, "%s: %s\n", where, msg);
	w->n++;
}

static void
test_lint(void)
{
	const char *text =
	    "allow secrets=x\n"
	    "allow user=root secrets=*\n"
	    "allow user=no-such-user-kw group=no-such-group-kw secrets=y\n"
	    "allow user=root service=sshd exe=/bin/sh secrets=z\n"
	    "allow user=root exe_sha256=" "00000000000000000000000000000000"
	    "00000000000000000000000000000000 secrets=z\n"
	    "allow user=root secrets=z ttl=30d\n"
	    "deny\n"
	    "allow user=root,u* group=root service=keyward-agent secrets=ok\n";
	struct warnings w;
	struct kw_policy *p;
	struct kw_error e;
	struct kw_config c;
	char real[PATH_MAX];

	CU_ASSERT_FATAL(kw_config_defaults(&c, "/etc/keyward/keyward.conf",
	    NULL, &e) == 0);
	CU_ASSERT_EQUAL_FATAL(parse(text, &p, &e), 0);
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(kw_policy_lint(p, &c, NULL, collect, &w, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:1: allow rule has no "
	    "matcher: it applies to every user, service and time\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:2: secrets=* grants "
	    "every secret in the vault\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:3: user "
	    "'no-such-user-kw' does not exist on this system\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:3: group "
	    "'no-such-group-kw' does not exist on this system\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:4: exe=/exe_sha256= "
	    "rule can never match: keyward.conf names no trusted_launchers\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:5: exe=/exe_sha256= "
	    "rule can never match: keyward.conf names no trusted_launchers\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:6: ttl=30d is longer "
	    "than max_ttl=1d; max_ttl applies\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:7: deny rule has no "
	    "matcher: it denies everyone\n"));
	CU_ASSERT_PTR_NULL(strstr(w.text, "p.conf:8"));
	if (realpath("/bin/sh", real) != NULL && strcmp(real, "/bin/sh") != 0)
		CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:4: exe '/bin/sh' "
		    "can never match: requests carry the resolved path"));

	/* with keyward-agent trusted, rule 4 (service=sshd) still never
	 * matches; rule 5 (no service=) can */
	CU_ASSERT_EQUAL_FATAL(kw_config_set(&c, "trusted_launchers",
	    "keyward-agent", &e), 0);
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(kw_policy_lint(p, &c, NULL, collect, &w, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:4: exe=/exe_sha256= "
	    "rule can never match: none of its services is a trusted "
	    "launcher\n"));
	CU_ASSERT_PTR_NULL(strstr(w.text, "p.conf:5:"));
	kw_policy_free(p);
	kw_config_free(&c);
}

/*
 * Duplicate rules: an exact duplicate of an earlier rule (same action,
 * same items per key in the same order; token order, ttl spelling and
 * hex case do not matter) is a check warning naming the earlier rule; a
 * rule that differs in any item is not a duplicate.
 */
static void
test_lint_duplicates(void)
{
	const char *text =
	    "allow user=a service=s secrets=x ttl=1h\n"		/* 1 */
	    "allow secrets=x ttl=60m service=s user=a\n"		/* 2: = 1 */
	    "allow user=a service=s secrets=x ttl=2h\n"		/* 3 */
	    "allow user=a,b service=s secrets=x ttl=1h\n"		/* 4 */
	    "allow user=b,a service=s secrets=x ttl=1h\n"		/* 5 */
	    "deny user=a\n"					/* 6 */
	    "deny user=a\n"					/* 7: = 6 */
	    "allow user=a service=s secrets=x ttl=1h scope=user\n"	/* 8 */
	    "allow user=a exe_sha256=" "AB00000000000000000000000000000000"
	    "000000000000000000000000000000 secrets=x\n"		/* 9 */
	    "allow user=a exe_sha256=" "ab00000000000000000000000000000000"
	    "000000000000000000000000000000 secrets=x\n"		/* 10: = 9 */
	    "allow user=a service=s secrets=x ttl=1h\n";		/* 11: = 1 */
	struct warnings w;
	struct kw_policy *p;
	struct kw_error e;
	struct kw_config c;

	CU_ASSERT_FATAL(kw_config_defaults(&c, "/etc/keyward/keyward.conf",
	    NULL, &e) == 0);
	CU_ASSERT_EQUAL_FATAL(parse(text, &p, &e), 0);
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(kw_policy_lint(p, &c, NULL, collect, &w, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:2: duplicate of the rule "
	    "at p.conf:1: it changes nothing\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:7: duplicate of the rule "
	    "at p.conf:6: it changes nothing\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:10: duplicate of the "
	    "rule at p.conf:9: it changes nothing\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.text, "p.conf:11: duplicate of the "
	    "rule at p.conf:1: it changes nothing\n"));
	CU_ASSERT_PTR_NULL(strstr(w.text, "p.conf:3: duplicate"));
	CU_ASSERT_PTR_NULL(strstr(w.text, "p.conf:4: duplicate"));
	CU_ASSERT_PTR_NULL(strstr(w.text, "p.conf:5: duplicate"));
	CU_ASSERT_PTR_NULL(strstr(w.text, "p.conf:8: duplicate"));
	kw_policy_free(p);
	kw_config_free(&c);
}

/* Make a vault in tmpdir with secrets a (max ttl 10m), hf-1, hf-2. */
static struct kw_vault *
make_vault(void)
{
	unsigned char key[KW_MASTER_KEY_LEN];
	struct kw_add_opts capped = { 600, 0, NULL };
	struct kw_vault *v = NULL;
	struct kw_error e;
	char path[300];

	memset(key, 7, sizeof(key));
	snprintf(path, sizeof(path), "%s/vault", tmpdir);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(kw_vault_create(path, key, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_vault_open_locked(path, key, &v, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_vault_add(v, "a", (const unsigned char *)"1",
	    1, &capped, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_vault_add(v, "hf-1",
	    (const unsigned char *)"2", 1, NULL, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_vault_add(v, "hf-2",
	    (const unsigned char *)"3", 1, NULL, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);
	v = NULL;
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(path, key, &v, &e), 0);
	return v;
}

/* The decision of the last resolve_text(): its grants point into it. */
static struct kw_decision resolved;

/*
 * Evaluate text for user u and resolve against v. The decision lives until
 * the next call (or resolve_text(NULL, ...), which only frees it).
 */
static int
resolve_text(const char *text, struct kw_vault *v, struct kw_grant **g,
    size_t *n, struct kw_error *e)
{
	struct kw_request r;

	kw_decision_free(&resolved);
	if (text == NULL)
		return 0;
	r = req_of("u", NULL, 0, "s", at(2024, 1, 1, 17, 0));
	eval_text(text, &r, &resolved);
	return kw_policy_resolve(&resolved, &cfg, v, g, n, e);
}

static void
test_resolve(void)
{
	struct kw_vault *v = make_vault();
	struct kw_grant *g = NULL;
	struct kw_error e;
	size_t n = 0;

	/* union, merged per secret, sorted; ttl: rule, window end, secret
	 * max ttl (a: 10m), max_ttl; scope user only if every rule says so */
	CU_ASSERT_EQUAL_FATAL(resolve_text(
	    "allow user=u secrets=hf-*,a ttl=2h scope=user\n"
	    "allow user=u secrets=hf-2 ttl=30m time=16:00-17:45 scope=user\n"
	    "allow user=u secrets=a ttl=5h\n"
	    "allow user=u secrets=nothing-* ttl=1h\n", v, &g, &n, &e), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(g[0].name, "a");
	CU_ASSERT_EQUAL(g[0].ttl, 600);		/* the secret's max ttl */
	CU_ASSERT_EQUAL(g[0].scope, KW_SCOPE_SESSION);	/* rule 3: session */
	CU_ASSERT_STRING_EQUAL(g[1].name, "hf-1");
	CU_ASSERT_EQUAL(g[1].ttl, 7200);
	CU_ASSERT_EQUAL(g[1].scope, KW_SCOPE_USER);
	CU_ASSERT_STRING_EQUAL(g[1].rule, "p.conf:1");
	CU_ASSERT_STRING_EQUAL(g[2].name, "hf-2");
	CU_ASSERT_EQUAL(g[2].ttl, 1800);	/* rule 2's ttl and window */
	CU_ASSERT_EQUAL(g[2].scope, KW_SCOPE_USER);
	CU_ASSERT_STRING_EQUAL(g[2].rule, "p.conf:2");
	free(g);

	/* equal TTLs: the first rule that granted the secret is named, also
	 * when a later glob grants it again (the merge after one sort keeps
	 * the order in which the rules granted) */
	CU_ASSERT_EQUAL_FATAL(resolve_text(
	    "allow user=u secrets=hf-2 ttl=1h scope=user\n"
	    "allow user=u secrets=hf-*,hf-2 ttl=1h scope=user\n", v, &g, &n,
	    &e), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(g[0].name, "hf-1");
	CU_ASSERT_STRING_EQUAL(g[0].rule, "p.conf:2");
	CU_ASSERT_STRING_EQUAL(g[1].name, "hf-2");
	CU_ASSERT_STRING_EQUAL(g[1].rule, "p.conf:1");
	CU_ASSERT_EQUAL(g[1].scope, KW_SCOPE_USER);
	free(g);

	/* the window end (17:45, 45 minutes away) beats ttl=1h */
	CU_ASSERT_EQUAL_FATAL(resolve_text(
	    "allow user=u secrets=hf-1 ttl=1h time=Mo/16:00-17:45\n", v, &g,
	    &n, &e), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(g[0].ttl, 45 * 60);
	free(g);

	/* a glob matching nothing grants nothing */
	CU_ASSERT_EQUAL(resolve_text("allow user=u secrets=zz-*\n", v, &g, &n,
	    &e), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(g);

	/* an exact name not in the vault fails closed, naming the rule */
	CU_ASSERT_EQUAL(resolve_text("allow user=u secrets=hf-*\n"
	    "allow user=u secrets=missing\n", v, &g, &n, &e), KW_ENOTFOUND);
	CU_ASSERT_STRING_EQUAL(e.msg, "p.conf:2: granted secret 'missing' is "
	    "not in the vault");
	CU_ASSERT_PTR_NULL(g);
	CU_ASSERT_EQUAL(n, 0);

	/* denied: nothing to resolve */
	CU_ASSERT_EQUAL(resolve_text("allow user=u secrets=a\ndeny user=u\n",
	    v, &g, &n, &e), 0);
	CU_ASSERT_EQUAL(n, 0);
	resolve_text(NULL, NULL, NULL, NULL, NULL);

	/* check warns about the vault's content */
	{
		struct warnings w;
		struct kw_policy *p;

		memset(&w, 0, sizeof(w));
		CU_ASSERT_EQUAL_FATAL(parse("allow user=root secrets=a,gone,"
		    "hf-*,none-*\n", &p, &e), 0);
		CU_ASSERT_EQUAL(kw_policy_lint(p, &cfg, v, collect, &w, &e), 0);
		CU_ASSERT_STRING_EQUAL(w.text, "p.conf:1: secret 'gone' is not "
		    "in the vault: sessions this rule allows will fail closed\n"
		    "p.conf:1: secrets pattern 'none-*' matches no secret in "
		    "the vault\n");
		kw_policy_free(p);
	}
	kw_vault_close(v);
}

static void
test_eval_errors(void)
{
	struct kw_decision d;
	struct kw_request r;
	struct kw_policy *p;
	struct kw_error e;

	CU_ASSERT_EQUAL_FATAL(parse("allow user=a secrets=x\n", &p, &e), 0);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(kw_policy_eval(p, &cfg, &r, &d, &e), KW_EINVAL);
	CU_ASSERT_FALSE(d.allow);
	CU_ASSERT_EQUAL(d.n_patterns, 0);
	kw_policy_free(p);
	kw_decision_free(NULL);
	kw_policy_free(NULL);
}

static int
setup(void)
{
	struct kw_error e;

	setenv("TZ", "UTC", 1);
	tzset();
	if (kw_config_defaults(&cfg, "/etc/keyward/keyward.conf", NULL,
	    &e) != 0)
		return -1;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void)
{
	char cmd[300];

	kw_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("policy", setup, teardown);
	CU_add_test(s, "globs", test_glob);
	CU_add_test(s, "every construct", test_parse_constructs);
	CU_add_test(s, "every error", test_parse_errors);
	CU_add_test(s, "deny wins, default deny, union", test_deny_wins_union);
	CU_add_test(s, "group matchers", test_groups_match);
	CU_add_test(s, "request groups", test_request_groups);
	CU_add_test(s, "ttl minimum", test_ttl_minimum);
	CU_add_test(s, "time windows", test_time_windows);
	CU_add_test(s, "time windows and DST", test_time_dst);
	CU_add_test(s, "exe rules", test_exe_rules);
	CU_add_test(s, "sha256 of a file", test_sha256_file);
	CU_add_test(s, "policy.d lexical order", test_load_order);
	CU_add_test(s, "unsafe files", test_unsafe_files);
	CU_add_test(s, "check warnings", test_lint);
	CU_add_test(s, "duplicate rules", test_lint_duplicates);
	CU_add_test(s, "evaluation errors", test_eval_errors);
	CU_add_test(s, "resolve against a real vault", test_resolve);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}
