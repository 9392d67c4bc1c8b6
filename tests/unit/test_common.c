/*
 * test_common.c - CUnit tests of the shared core pieces: errors, names,
 * durations, numbers, trusted files, atomic writes, keyward.conf and the
 * pam.d reader of keyward check.
 */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_config.h"
#include "kw_error.h"
#include "kw_util.h"
#include "pam_stack.h"

static char tmpdir[] = "/tmp/kw-test-common.XXXXXX";

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(kw_write_all(fd, text, strlen(text)) == 0);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
}

static void
test_error_model(void)
{
	struct kw_error e;

	kw_error_clear(&e);
	CU_ASSERT_EQUAL(e.code, 0);
	CU_ASSERT_EQUAL(kw_fail(&e, KW_EINVAL, "bad %d", 7), KW_EINVAL);
	CU_ASSERT_STRING_EQUAL(kw_error_text(&e), "bad 7");
	kw_error_prefix(&e, "f.conf:%u", 3u);
	CU_ASSERT_STRING_EQUAL(kw_error_text(&e), "f.conf:3: bad 7");
	kw_fail_errno(&e, KW_ESYSTEM, ENOENT, "open x");
	CU_ASSERT_STRING_EQUAL(e.msg, "open x: No such file or directory");
	CU_ASSERT_EQUAL(kw_fail(NULL, KW_ENOMEM, "x"), KW_ENOMEM);
	kw_error_clear(&e);
	e.code = KW_EQUOTA;
	CU_ASSERT_STRING_EQUAL(kw_error_text(&e), "kernel key quota exceeded");
}

static void
test_names(void)
{
	char long_name[80];

	CU_ASSERT_TRUE(kw_name_valid("openai-prod"));
	CU_ASSERT_TRUE(kw_name_valid("a"));
	CU_ASSERT_TRUE(kw_name_valid("9.x_Y-z"));
	CU_ASSERT_FALSE(kw_name_valid(""));
	CU_ASSERT_FALSE(kw_name_valid(".hidden"));
	CU_ASSERT_FALSE(kw_name_valid("-x"));
	CU_ASSERT_FALSE(kw_name_valid("a/b"));
	CU_ASSERT_FALSE(kw_name_valid("a b"));
	CU_ASSERT_FALSE(kw_name_valid("a:b"));
	CU_ASSERT_FALSE(kw_name_valid("h\xc3\xa9"));
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	CU_ASSERT_TRUE(kw_name_valid(long_name));
	long_name[64] = 'a';
	long_name[65] = '\0';
	CU_ASSERT_FALSE(kw_name_valid(long_name));
	CU_ASSERT_EQUAL(kw_name_check(long_name, NULL), KW_EINVAL);
}

static void
test_durations(void)
{
	struct kw_error e;
	uint64_t s;
	char buf[32];

	CU_ASSERT_EQUAL(kw_duration_parse("30s", &s, &e), 0);
	CU_ASSERT_EQUAL(s, 30);
	CU_ASSERT_EQUAL(kw_duration_parse("15m", &s, &e), 0);
	CU_ASSERT_EQUAL(s, 900);
	CU_ASSERT_EQUAL(kw_duration_parse("1h", &s, &e), 0);
	CU_ASSERT_EQUAL(s, 3600);
	CU_ASSERT_EQUAL(kw_duration_parse("7d", &s, &e), 0);
	CU_ASSERT_EQUAL(s, 604800);
	CU_ASSERT_EQUAL(kw_duration_parse("1h30m", &s, &e), 0);
	CU_ASSERT_EQUAL(s, 5400);
	CU_ASSERT_EQUAL(kw_duration_parse("3650d", &s, &e), 0);
	CU_ASSERT_EQUAL(kw_duration_parse("3651d", &s, &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "out of range"));
	CU_ASSERT_EQUAL(kw_duration_parse("99999999999999999999999s", &s, &e),
	    KW_EINVAL);
	CU_ASSERT_EQUAL(kw_duration_parse("10", &s, &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no unit"));
	CU_ASSERT_EQUAL(kw_duration_parse("10x", &s, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_duration_parse("", &s, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_duration_parse("0s", &s, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_duration_parse("-1s", &s, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_duration_parse("1 h", &s, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_duration_parse("h", &s, &e), KW_EINVAL);
	kw_duration_format(5400, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1h30m");
	kw_duration_format(86401, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1d1s");
	kw_duration_format(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "0s");
}

/* kw_fmt_u64/i64 write what printf writes, at every width and sign. */
static void
test_fmt_numbers(void)
{
	static const int64_t sv[] = { 0, 1, -1, 9, 10, -10, 99, 100, 4096,
	    2147483647, -2147483648LL, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	static const uint64_t uv[] = { 0, 1, 9, 10, 1000000, 4294967295ULL,
	    4294967296ULL, UINT64_MAX, UINT64_MAX - 1 };
	char got[KW_FMT_I64_LEN], want[64];
	uint64_t p;
	size_t i, n;

	for (i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
		memset(got, 'x', sizeof(got));
		n = kw_fmt_i64(got, sv[i]);
		snprintf(want, sizeof(want), "%lld", (long long)sv[i]);
		CU_ASSERT_STRING_EQUAL(got, want);
		CU_ASSERT_EQUAL(n, strlen(want));
	}
	for (i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		memset(got, 'x', sizeof(got));
		n = kw_fmt_u64(got, uv[i]);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)uv[i]);
		CU_ASSERT_STRING_EQUAL(got, want);
		CU_ASSERT_EQUAL(n, strlen(want));
	}
	/* every power of ten and its neighbours */
	for (p = 1; p <= UINT64_MAX / 10; p *= 10) {
		uint64_t v[3] = { p - 1, p, p + 1 };

		for (i = 0; i < 3; i++) {
			kw_fmt_u64(got, v[i]);
			snprintf(want, sizeof(want), "%llu",
			    (unsigned long long)v[i]);
			CU_ASSERT_STRING_EQUAL(got, want);
		}
	}
}

static void
test_numbers(void)
{
	struct kw_error e;
	uint64_t v;

	CU_ASSERT_EQUAL(kw_parse_u64("42", 0, 100, &v, &e), 0);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(kw_parse_u64("101", 0, 100, &v, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_parse_u64("4x", 0, 100, &v, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_parse_u64("-1", 0, 100, &v, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_parse_u64(" 1", 0, 100, &v, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_parse_u64("99999999999999999999999", 0, UINT64_MAX,
	    &v, &e), KW_EINVAL);
}

static void
test_safe_open(void)
{
	struct kw_error e;
	char path[256], link_path[256], *buf;
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	write_file(path, "hello", 0600);
	CU_ASSERT_EQUAL(kw_safe_open(path, KW_SAFE_SECRET, 0, &fd, NULL, &e), 0);
	close(fd);
	CU_ASSERT_EQUAL(kw_read_file(path, 0, 100, &buf, &len, &e), 0);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_STRING_EQUAL(buf, "hello");
	kw_freezero(buf, len + 1);
	/* size cap */
	CU_ASSERT_EQUAL(kw_read_file(path, 0, 4, &buf, &len, &e), KW_ETOOBIG);
	/* group-readable is refused only for secrets */
	chmod(path, 0640);
	CU_ASSERT_EQUAL(kw_safe_open(path, KW_SAFE_SECRET, 0, &fd, NULL, &e),
	    KW_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "readable by group or others"));
	CU_ASSERT_EQUAL(kw_safe_open(path, 0, 0, &fd, NULL, &e), 0);
	close(fd);
	/* world-writable is always refused */
	chmod(path, 0602);
	CU_ASSERT_EQUAL(kw_safe_open(path, 0, 0, &fd, NULL, &e), KW_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "writable by group or others"));
	chmod(path, 0600);
	/* symlinks are refused */
	snprintf(link_path, sizeof(link_path), "%s/l", tmpdir);
	CU_ASSERT_FATAL(symlink(path, link_path) == 0);
	CU_ASSERT_EQUAL(kw_safe_open(link_path, 0, 0, &fd, NULL, &e), KW_EUNSAFE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "symbolic link"));
	unlink(link_path);
	/* directories are not regular files; relative paths are refused */
	CU_ASSERT_EQUAL(kw_safe_open(tmpdir, 0, 0, &fd, NULL, &e), KW_EUNSAFE);
	CU_ASSERT_EQUAL(kw_safe_open("rel/path", 0, 0, &fd, NULL, &e), KW_EINVAL);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CU_ASSERT_EQUAL(kw_safe_open(path, 0, 0, &fd, NULL, &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_check_dir(tmpdir, &e), 0);
}

static void
test_atomic_write(void)
{
	struct kw_error e;
	char path[256], *buf;
	size_t len;
	struct stat st;

	snprintf(path, sizeof(path), "%s/atomic", tmpdir);
	CU_ASSERT_EQUAL(kw_atomic_write(path, "one", 3, 0600, KW_WRITE_EXCL,
	    &e), 0);
	CU_ASSERT_EQUAL(kw_atomic_write(path, "two", 3, 0600, KW_WRITE_EXCL,
	    &e), KW_EEXIST);
	CU_ASSERT_EQUAL(kw_read_file(path, 0, 0, &buf, &len, &e), 0);
	CU_ASSERT_STRING_EQUAL(buf, "one");
	kw_freezero(buf, len + 1);
	CU_ASSERT_EQUAL(kw_atomic_write(path, "three", 5, 0400, 0, &e), 0);
	CU_ASSERT_EQUAL(kw_read_file(path, 0, 0, &buf, &len, &e), 0);
	CU_ASSERT_STRING_EQUAL(buf, "three");
	kw_freezero(buf, len + 1);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0400);
}

static void
test_iso_time(void)
{
	struct kw_error e;
	time_t t;

	CU_ASSERT_EQUAL(kw_parse_iso_time("2026-11-27T10:00:00Z", &t, &e), 0);
	CU_ASSERT_EQUAL(t, 1795773600);
	CU_ASSERT_EQUAL(kw_parse_iso_time("2026-11-27 10:00Z", &t, &e), 0);
	CU_ASSERT_EQUAL(t, 1795773600);
	CU_ASSERT_EQUAL(kw_parse_iso_time("2026-11-27Z", &t, &e), 0);
	CU_ASSERT_EQUAL(t, 1795737600);
	CU_ASSERT_EQUAL(kw_parse_iso_time("2026-11-27T10:00", &t, &e), 0);
	CU_ASSERT_EQUAL(kw_parse_iso_time("2024-02-30T10:00", &t, &e),
	    KW_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.msg, "'2024-02-30T10:00': no such time");
	CU_ASSERT_EQUAL(kw_parse_iso_time("2026-11-27T24:00", &t, &e),
	    KW_EINVAL);
	CU_ASSERT_EQUAL(kw_parse_iso_time("2026-11-27T10", &t, &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "is not a time"));
	CU_ASSERT_EQUAL(kw_parse_iso_time("27/11/2026", &t, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_parse_iso_time("", &t, &e), KW_EINVAL);
}

static int
parse(struct kw_config *cfg, const char *text, struct kw_error *e)
{
	int rc;

	rc = kw_config_defaults(cfg, "/etc/keyward/keyward.conf", NULL, e);
	CU_ASSERT_EQUAL(rc, 0);
	return kw_config_parse(cfg, "keyward.conf", text, strlen(text), e);
}

static void
test_config(void)
{
	struct kw_config cfg;
	struct kw_error e;

	CU_ASSERT_EQUAL(parse(&cfg,
	    "# comment\n"
	    "audit = best-effort   # trailing comment\n"
	    "trusted_launchers = keyward-agent, my-launcher\n"
	    "default_ttl = 30m\n"
	    "max_ttl = 2h\n", &e), 0);
	CU_ASSERT_EQUAL(cfg.audit, KW_AUDIT_BEST_EFFORT);
	CU_ASSERT_EQUAL(cfg.n_trusted_launchers, 2);
	CU_ASSERT_TRUE(kw_config_is_trusted_launcher(&cfg, "my-launcher"));
	CU_ASSERT_FALSE(kw_config_is_trusted_launcher(&cfg, "sshd"));
	CU_ASSERT_EQUAL(cfg.default_ttl, 1800);
	CU_ASSERT_EQUAL(cfg.max_ttl, 7200);
	CU_ASSERT_STRING_EQUAL(cfg.policy, "/etc/keyward/policy.conf");
	CU_ASSERT_STRING_EQUAL(cfg.master_key, "/etc/keyward/master.key");
	kw_config_free(&cfg);

	CU_ASSERT_EQUAL(parse(&cfg, "\n\naudit = sometimes\n", &e), KW_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.msg, "keyward.conf:3: audit: 'sometimes' is "
	    "not 'required' or 'best-effort'");
	CU_ASSERT_EQUAL(parse(&cfg, "colour = blue\n", &e), KW_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.msg,
	    "keyward.conf:1: unknown setting 'colour'");
	CU_ASSERT_EQUAL(parse(&cfg, "max_ttl = 1y\n", &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "keyward.conf:1: max_ttl:"));
	CU_ASSERT_EQUAL(parse(&cfg, "audit required\n", &e), KW_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.msg,
	    "keyward.conf:1: expected 'key = value'");
	CU_ASSERT_EQUAL(parse(&cfg, "audit =\n", &e), KW_EINVAL);
	CU_ASSERT_EQUAL(parse(&cfg, "audit = required\naudit = required\n",
	    &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "set twice"));
	CU_ASSERT_EQUAL(parse(&cfg, "audit = required\r\n", &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "carriage return"));
	CU_ASSERT_EQUAL(parse(&cfg, "default_ttl = 2d\n", &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "longer than max_ttl"));
	CU_ASSERT_EQUAL(parse(&cfg, "trusted_launchers = a b\n", &e),
	    KW_EINVAL);
	CU_ASSERT_EQUAL(parse(&cfg, "vault = relative/path\n", &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_config_parse(&cfg, "k", "audit = req\0uired\n", 18,
	    &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "NUL byte"));
}

static int
collect_line(char *line, unsigned lineno, void *arg, struct kw_error *e)
{
	char *out = arg;

	(void)e;
	sprintf(out + strlen(out), "%u:[%s]", lineno, line);
	return 0;
}

static void
test_text_lines(void)
{
	struct kw_error e;
	char out[512] = "";
	const char *t = "a b \\\n  c\n# x\n\n d # e\n";

	CU_ASSERT_EQUAL(kw_text_lines("p", t, strlen(t), true, collect_line,
	    out, &e), 0);
	CU_ASSERT_STRING_EQUAL(out, "1:[a b c]5:[d]");
	t = "a \\\n";
	CU_ASSERT_EQUAL(kw_text_lines("p", t, strlen(t), true, collect_line,
	    out, &e), KW_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.msg,
	    "p:1: file ends inside a '\\' continuation");
}

/* One parsed entry: kind, type, target, arguments joined by '|'. */
static void
expect_entry(const struct kw_pam_entry *en, unsigned line,
    enum kw_pam_kind kind, enum kw_pam_type type, const char *target,
    const char *args)
{
	char joined[256] = "";
	size_t i;

	CU_ASSERT_EQUAL(en->line, line);
	CU_ASSERT_EQUAL(en->kind, kind);
	CU_ASSERT_EQUAL(en->type, type);
	if (target == NULL) {
		CU_ASSERT_PTR_NULL(en->target);
	} else if (en->target == NULL) {
		CU_FAIL("no target");
	} else {
		CU_ASSERT_STRING_EQUAL(en->target, target);
	}
	for (i = 0; i < en->n_args; i++)
		snprintf(joined + strlen(joined), sizeof(joined) -
		    strlen(joined), "%s%s", i > 0 ? "|" : "", en->args[i]);
	CU_ASSERT_STRING_EQUAL(joined, args);
}

static void
test_pam_parse(void)
{
	static const char junk[] = "session required pam_a.so\0junk\n[\n]\n\\";
	struct kw_pam_file f;
	struct kw_error e;
	const char *t =
	    "#%PAM-1.0\n"
	    "auth required pam_unix.so # a comment\n"
	    "\n"
	    "-Session [success=ok default=bad] pam_keyward.so \\\n"
	    "   debug config=/x\n"
	    "SESSION optional /lib/security/pam_keyinit.so force revoke\n"
	    "@include common-session\n"
	    "account include common-account\n"
	    "session Substack sub\n"
	    "bogus required pam_x.so\n"
	    "session required\n"
	    "session optional pam_env.so [a b\\] c] d\n"
	    "session required pam_a.so # ends here \\\n"
	    "\tsession\trequired\tpam_b.so";

	kw_error_clear(&e);
	CU_ASSERT_EQUAL_FATAL(kw_pam_file_parse(t, strlen(t), &f, &e), 0);
	CU_ASSERT_FALSE(f.truncated);
	CU_ASSERT_EQUAL_FATAL(f.n, 11);
	expect_entry(&f.entries[0], 2, KW_PAM_MODULE, KW_PAM_AUTH,
	    "pam_unix.so", "");
	expect_entry(&f.entries[1], 4, KW_PAM_MODULE, KW_PAM_SESSION,
	    "pam_keyward.so", "debug|config=/x");
	expect_entry(&f.entries[2], 6, KW_PAM_MODULE, KW_PAM_SESSION,
	    "/lib/security/pam_keyinit.so", "force|revoke");
	expect_entry(&f.entries[3], 7, KW_PAM_AT_INCLUDE, KW_PAM_NONE,
	    "common-session", "");
	expect_entry(&f.entries[4], 8, KW_PAM_INCLUDE, KW_PAM_ACCOUNT,
	    "common-account", "");
	expect_entry(&f.entries[5], 9, KW_PAM_SUBSTACK, KW_PAM_SESSION,
	    "sub", "");
	expect_entry(&f.entries[6], 10, KW_PAM_BROKEN, KW_PAM_NONE, NULL, "");
	expect_entry(&f.entries[7], 11, KW_PAM_BROKEN, KW_PAM_SESSION, NULL,
	    "");
	expect_entry(&f.entries[8], 12, KW_PAM_MODULE, KW_PAM_SESSION,
	    "pam_env.so", "a b] c|d");
	expect_entry(&f.entries[9], 13, KW_PAM_MODULE, KW_PAM_SESSION,
	    "pam_a.so", "");
	expect_entry(&f.entries[10], 14, KW_PAM_MODULE, KW_PAM_SESSION,
	    "pam_b.so", "");
	kw_pam_file_free(&f);

	/* continuation over a line holding only '\'; a blank line ends one */
	t = "session required \\\n  \\\n pam_a.so x\n"
	    "session required \\\n\npam_b.so\n";
	CU_ASSERT_EQUAL_FATAL(kw_pam_file_parse(t, strlen(t), &f, &e), 0);
	CU_ASSERT_EQUAL_FATAL(f.n, 3);
	expect_entry(&f.entries[0], 1, KW_PAM_MODULE, KW_PAM_SESSION,
	    "pam_a.so", "x");
	expect_entry(&f.entries[1], 4, KW_PAM_BROKEN, KW_PAM_SESSION, NULL,
	    "");
	expect_entry(&f.entries[2], 6, KW_PAM_BROKEN, KW_PAM_NONE, NULL, "");
	kw_pam_file_free(&f);

	/* a file that ends in a continued line: libpam refuses it */
	t = "session required pam_a.so\nsession required pam_b.so \\\n";
	CU_ASSERT_EQUAL_FATAL(kw_pam_file_parse(t, strlen(t), &f, &e), 0);
	CU_ASSERT_TRUE(f.truncated);
	CU_ASSERT_EQUAL(f.last_line, 2);
	CU_ASSERT_EQUAL(f.n, 1);
	kw_pam_file_free(&f);

	/* a NUL ends a line's text; nothing crashes on junk */
	CU_ASSERT_EQUAL_FATAL(kw_pam_file_parse(junk, sizeof(junk) - 1, &f,
	    &e), 0);
	CU_ASSERT_EQUAL(f.n, 3);
	CU_ASSERT_TRUE(f.truncated);
	expect_entry(&f.entries[0], 1, KW_PAM_MODULE, KW_PAM_SESSION,
	    "pam_a.so", "");
	kw_pam_file_free(&f);
	kw_pam_file_free(NULL);
}

struct pam_seen {
	char text[8192];
	unsigned n;
};

static void
collect_pam(const char *where, const char *msg, void *arg)
{
	struct pam_seen *s = arg;
	const char *p = strstr(where, "/etc/pam.d/");

	/* where relative to the test root */
	snprintf(s->text + strlen(s->text), sizeof(s->text) -
	    strlen(s->text), "%s: %s\n", p != NULL ? p : where, msg);
	s->n++;
}

static void
pam_file(const char *root, const char *name, const char *text, mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/etc/pam.d/%s", root, name);
	write_file(path, text, mode);
}

static void
test_pam_check(void)
{
	struct pam_seen seen;
	struct kw_error e;
	char root[300], path[512];

	snprintf(root, sizeof(root), "%s/pamroot", tmpdir);
	CU_ASSERT_FATAL(mkdir(root, 0755) == 0);
	snprintf(path, sizeof(path), "%s/etc", root);
	CU_ASSERT_FATAL(mkdir(path, 0755) == 0);

	/* no pam.d: nothing to say */
	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(kw_pam_check(root, collect_pam, &seen, &e), 0);
	CU_ASSERT_EQUAL(seen.n, 0);

	snprintf(path, sizeof(path), "%s/etc/pam.d", root);
	CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
	pam_file(root, "good", "session optional pam_keyinit.so force\n"
	    "session required pam_keyward.so\n"
	    "account required pam_keyward.so\n", 0644);
	pam_file(root, "bad", "account required pam_keyward.so\n"
	    "session required pam_keyward.so\n"
	    "session optional pam_keyinit.so force revoke\n", 0644);
	pam_file(root, "bad~", "session required pam_keyward.so\n", 0644);
	pam_file(root, ".hidden", "session required pam_keyward.so\n", 0644);
	pam_file(root, "noforce", "account required pam_keyward.so\n"
	    "session required pam_keyward.so\n"
	    "session optional pam_keyinit.so revoke\n", 0644);
	pam_file(root, "loop", "session include loop2\n", 0644);
	pam_file(root, "loop2", "session include loop\n", 0644);
	pam_file(root, "writable", "session required pam_unix.so\n", 0666);
	pam_file(root, "noacct", "session required pam_keyward.so\n", 0644);
	pam_file(root, "other", "account required pam_keyward.so\n", 0644);
	snprintf(path, sizeof(path), "%s/etc/pam.d/alias", root);
	CU_ASSERT_FATAL(symlink("good", path) == 0);
	snprintf(path, sizeof(path), "%s/etc/pam.d/escape", root);
	CU_ASSERT_FATAL(symlink("../../outside", path) == 0);
	snprintf(path, sizeof(path), "%s/outside", root);
	write_file(path, "session required pam_keyward.so\n", 0644);

	memset(&seen, 0, sizeof(seen));
	kw_error_clear(&e);
	CU_ASSERT_EQUAL(kw_pam_check(root, collect_pam, &seen, &e), 0);
	CU_ASSERT_EQUAL(seen.n, 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.text, "/etc/pam.d/bad:2: "
	    "pam_keyward's session line comes before pam_keyinit.so force ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.text, "/etc/pam.d/bad:3) in "
	    "service 'bad': the keys it delivers will not reach the session; "
	    "move it after\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.text, "/etc/pam.d/loop2:1: "
	    "includes 'loop', which is already being read (an include "
	    "cycle) in service 'loop'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.text, "/etc/pam.d/loop:1: "
	    "includes 'loop2', which is already being read (an include "
	    "cycle) in service 'loop2'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.text, "/etc/pam.d/writable: "
	    "cannot read it ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.text, "/etc/pam.d/escape: "
	    "cannot read it (a symbolic link to '../../outside', out of "));
	/* not named: good (and its alias), noforce, noacct (other's
	 * account stack has the gate), bad~ and .hidden */
	CU_ASSERT_PTR_NULL(strstr(seen.text, "good"));
	CU_ASSERT_PTR_NULL(strstr(seen.text, "alias"));
	CU_ASSERT_PTR_NULL(strstr(seen.text, "noforce"));
	CU_ASSERT_PTR_NULL(strstr(seen.text, "noacct"));
	CU_ASSERT_PTR_NULL(strstr(seen.text, "bad~"));
	CU_ASSERT_PTR_NULL(strstr(seen.text, "hidden"));

	/* without other's account line, noacct has no gate */
	pam_file(root, "other", "account required pam_unix.so\n", 0644);
	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(kw_pam_check(root, collect_pam, &seen, &e), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.text, "/etc/pam.d/noacct:1: "
	    "pam_keyward.so has a session line but no account line in "
	    "service 'noacct': "));
}

static int
setup(void)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void)
{
	char cmd[300];

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
	s = CU_add_suite("common", setup, teardown);
	CU_add_test(s, "error model", test_error_model);
	CU_add_test(s, "secret names", test_names);
	CU_add_test(s, "durations", test_durations);
	CU_add_test(s, "numbers", test_numbers);
	CU_add_test(s, "decimal text", test_fmt_numbers);
	CU_add_test(s, "ISO 8601 times", test_iso_time);
	CU_add_test(s, "safe_open", test_safe_open);
	CU_add_test(s, "atomic write", test_atomic_write);
	CU_add_test(s, "keyward.conf", test_config);
	CU_add_test(s, "text lines", test_text_lines);
	CU_add_test(s, "pam.d parsing", test_pam_parse);
	CU_add_test(s, "pam.d check", test_pam_check);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}
