/*
 * test_lifecycle.c - CUnit tests of the registry journal and of the
 * lifecycle core (keyring/lifecycle.c) against the real kernel keyring:
 * update in place keeps serial and expiry, expired and dead copies are not
 * updated, revoke by filter, a corrupt journal fails closed with
 * file:line. Root (exits 77 otherwise); audit = best-effort.
 */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <keyutils.h>

#include "keyring.h"
#include "kw_config.h"
#include "lifecycle.h"
#include "registry.h"

static char tmpdir[] = "/tmp/kw-test-lifecycle.XXXXXX";
static struct kw_config cfg;

/* A session of this process (or of pid) holding the given keys. */
static void
make_session(struct kw_reg_session *s, pid_t pid, const char *user,
    const struct kw_delivery *d, size_t n)
{
	struct kw_error e;
	size_t i;

	memset(s, 0, sizeof(*s));
	CU_ASSERT_EQUAL(kw_session_id_new(s->id, &e), 0);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->pid = pid;
	if (kw_proc_start_time(pid, &s->start, &e) != 0)
		s->start = 1;	/* a dead process */
	snprintf(s->service, sizeof(s->service), "unit");
	s->opened = (int64_t)time(NULL);
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL(kw_reg_session_add_key(s, &d[i], &e), 0);
}

/* A delivery of a live key of name, in a keyring under our session's. */
static void
make_key(struct kw_delivery *d, const char *name, uint64_t ttl,
    int64_t until)
{
	static unsigned count;
	struct kw_error e;
	char rname[32];
	int32_t ring;

	memset(d, 0, sizeof(*d));
	snprintf(d->secret, sizeof(d->secret), "%s", name);
	d->version = 1;
	d->scope = KW_SCOPE_SESSION;
	d->until = until != 0 ? until : (int64_t)time(NULL) + (int64_t)ttl;
	/* a keyring of its own: add_key() would update a same-named key */
	snprintf(rname, sizeof(rname), "unit-ring-%u", count++);
	ring = add_key("keyring", rname, NULL, 0, KEY_SPEC_SESSION_KEYRING);
	CU_ASSERT_FATAL(ring > 0);
	CU_ASSERT_EQUAL_FATAL(kw_keyring_add(ring, name, "old", 3, ttl,
	    getegid(), &d->serial, &e), 0);
}

/* The timeout column of a key in /proc/keys ("perm", "59s", ...). */
static void
proc_timeout(int32_t serial, char *out, size_t size)
{
	char line[512], hex[16];
	FILE *f = fopen("/proc/keys", "r");

	snprintf(out, size, "?");
	snprintf(hex, sizeof(hex), "%08x ", (unsigned)serial);
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char t[32];

		if (strncmp(line, hex, 9) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %31s", t) == 1)
			snprintf(out, size, "%s", t);
	}
	fclose(f);
}

static void
test_journal(void)
{
	struct kw_registry *r;
	struct kw_reg_session s1, s2, g, *all;
	struct kw_delivery d[2];
	struct kw_reg_mark m[2];
	struct kw_error e;
	char path[PATH_MAX + 16], *text = NULL;
	size_t n, len;

	memset(d, 0, sizeof(d));
	strcpy(d[0].secret, "j-one");
	d[0].version = 1;
	d[0].serial = 1001;
	d[0].until = time(NULL) + 100;
	d[1] = d[0];
	strcpy(d[1].secret, "j-two");
	d[1].serial = 1002;
	make_session(&s1, getpid(), "u1", d, 2);
	make_session(&s2, getpid(), "u2", d, 1);
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s1, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s2, &e), 0);
	memset(m, 0, sizeof(m));
	memcpy(m[0].session, s1.id, sizeof(m[0].session));
	m[0].serial = 1001;
	m[0].version = 5;
	memcpy(m[1].session, s2.id, sizeof(m[1].session));
	m[1].serial = 1001;
	m[1].version = 0;	/* gone */
	CU_ASSERT_EQUAL(kw_registry_mark(r, m, 2, &e), 0);
	kw_registry_close(r);

	/* a new lock hold reads the journal from the file */
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_get(r, s1.id, &g, &e), 0);
	CU_ASSERT_EQUAL(g.n_keys, 2);
	CU_ASSERT_EQUAL(g.keys[0].version, 5);
	CU_ASSERT_EQUAL(g.keys[1].version, 1);	/* other serial: as filed */
	kw_reg_session_clear(&g);
	CU_ASSERT_EQUAL(kw_registry_session_get(r, s2.id, &g, &e), 0);
	CU_ASSERT_EQUAL(g.n_keys, 0);
	kw_reg_session_clear(&g);
	CU_ASSERT_EQUAL(kw_registry_sessions(r, &all, &n, &e), 0);
	CU_ASSERT_EQUAL(n, 2);
	kw_reg_sessions_free(all, n);
	/* a later mark replaces; marks of removed sessions are dropped */
	m[0].version = 6;
	CU_ASSERT_EQUAL(kw_registry_session_del(r, s2.id, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_mark(r, m, 1, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_get(r, s1.id, &g, &e), 0);
	CU_ASSERT_EQUAL(g.keys[0].version, 6);
	kw_reg_session_clear(&g);
	snprintf(path, sizeof(path), "%s/journal", cfg.run_dir);
	CU_ASSERT_EQUAL_FATAL(kw_read_file(path, KW_SAFE_SECRET, 1 << 20,
	    &text, &len, &e), 0);
	CU_ASSERT(strstr(text, s1.id) != NULL);
	CU_ASSERT(strstr(text, s2.id) == NULL);
	CU_ASSERT(strstr(text, " 5\n") == NULL);
	free(text);
	CU_ASSERT_EQUAL(kw_registry_session_del(r, s1.id, &e), 0);
	kw_registry_close(r);
	kw_reg_session_clear(&s1);
	kw_reg_session_clear(&s2);
}

static void
test_journal_corrupt(void)
{
	static const char *const bad[] = {
		"not-a-journal 1\n",
		"keyward-journal 1\nzz 1 2\n",
		"keyward-journal 1\n0123456789abcdef 0 2\n",
		"keyward-journal 1\n0123456789abcdef 5\n",
		"keyward-journal 1\n0123456789abcdef 5 99999999999\n",
	};
	struct kw_registry *r;
	struct kw_reg_session s, g, *all;
	struct kw_error e;
	char path[PATH_MAX + 16];
	size_t i, n;

	make_session(&s, getpid(), "u", NULL, 0);
	snprintf(path, sizeof(path), "%s/journal", cfg.run_dir);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(kw_atomic_write(path, bad[i],
		    strlen(bad[i]), 0600, 0, &e), 0);
		CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e), 0);
		CU_ASSERT_EQUAL(kw_registry_session_put(r, &s, &e), 0);
		CU_ASSERT_EQUAL(kw_registry_session_get(r, s.id, &g, &e),
		    KW_ECORRUPT);
		CU_ASSERT(strstr(e.msg, "journal:") != NULL);
		CU_ASSERT_EQUAL(kw_registry_sessions(r, &all, &n, &e),
		    KW_ECORRUPT);
		CU_ASSERT_EQUAL(kw_registry_session_del(r, s.id, &e), 0);
		kw_registry_close(r);
	}
	CU_ASSERT_EQUAL(unlink(path), 0);
	kw_reg_session_clear(&s);
}

static void
test_update_revoke(void)
{
	struct kw_lifecycle_report rep;
	struct kw_lifecycle_filter f;
	struct kw_registry *r;
	struct kw_reg_session live, dead, *all;
	struct kw_delivery d[3], dd;
	struct kw_error e;
	char buf[64], t[32];
	size_t n;
	pid_t child;
	long got;

	make_key(&d[0], "unit-lc", 120, 0);
	make_key(&d[1], "unit-lc-other", 120, 0);
	/* an expired copy: the registry says so (the kernel key is
	 * still live: it must not be updated all the same) */
	make_key(&d[2], "unit-lc", 120, (int64_t)time(NULL) - 1);
	make_session(&live, getpid(), "alive", d, 3);
	make_key(&dd, "unit-lc", 120, 0);
	if ((child = fork()) == 0)
		_exit(0);
	CU_ASSERT_FATAL(child > 0);
	waitpid(child, NULL, 0);
	make_session(&dead, child, "gone", &dd, 1);
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &live, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &dead, &e), 0);
	kw_registry_close(r);

	CU_ASSERT_EQUAL(kw_lifecycle_update(&cfg, "unit-lc", "new", 3, 2,
	    NULL, &rep, &e), 0);
	CU_ASSERT_EQUAL(rep.n_done, 1);
	CU_ASSERT_EQUAL(rep.n_cleaned, 1);
	if (rep.n_done == 1) {
		CU_ASSERT_EQUAL(rep.done[0].serial, d[0].serial);
		CU_ASSERT_EQUAL(rep.done[0].version, 2);
	}
	if (rep.n_cleaned == 1)
		CU_ASSERT_EQUAL(rep.cleaned[0].serial, dd.serial);
	kw_lifecycle_report_free(&rep);
	got = keyctl_read(d[0].serial, buf, sizeof(buf));
	CU_ASSERT(got == 3 && memcmp(buf, "new", 3) == 0);
	proc_timeout(d[0].serial, t, sizeof(t));
	CU_ASSERT(strcmp(t, "perm") != 0 && strcmp(t, "?") != 0);
	got = keyctl_read(d[2].serial, buf, sizeof(buf));
	CU_ASSERT(got == 3 && memcmp(buf, "old", 3) == 0);
	got = keyctl_read(d[1].serial, buf, sizeof(buf));
	CU_ASSERT(got == 3 && memcmp(buf, "old", 3) == 0);
	CU_ASSERT(keyctl_read(dd.serial, buf, sizeof(buf)) < 0 &&
	    errno == EKEYREVOKED);

	/* the registry: the dead session gone, version 2, expired left out */
	CU_ASSERT_EQUAL(kw_lifecycle_list(&cfg, NULL, &all, &n, NULL, &e), 0);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1) {
		CU_ASSERT_STRING_EQUAL(all[0].id, live.id);
		CU_ASSERT_EQUAL(all[0].n_keys, 2);
		CU_ASSERT_EQUAL(all[0].keys[0].version, 2);
		CU_ASSERT_EQUAL(all[0].keys[1].serial, d[1].serial);
	}
	kw_reg_sessions_free(all, n);
	/* the same version again: nothing to do */
	CU_ASSERT_EQUAL(kw_lifecycle_update(&cfg, "unit-lc", "new", 3, 2,
	    NULL, &rep, &e), 0);
	CU_ASSERT_EQUAL(rep.n_done, 0);
	CU_ASSERT_EQUAL(rep.n_current, 1);
	kw_lifecycle_report_free(&rep);

	/* revoke: filter required; by secret */
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(kw_lifecycle_revoke(&cfg, &f, NULL, &rep, &e),
	    KW_EINVAL);
	f.secret = "unit-lc-other";
	CU_ASSERT_EQUAL(kw_lifecycle_revoke(&cfg, &f, NULL, &rep, &e), 0);
	CU_ASSERT_EQUAL(rep.n_done, 1);
	kw_lifecycle_report_free(&rep);
	CU_ASSERT(keyctl_read(d[1].serial, buf, sizeof(buf)) < 0 &&
	    errno == EKEYREVOKED);
	got = keyctl_read(d[0].serial, buf, sizeof(buf));
	CU_ASSERT(got == 3);
	memset(&f, 0, sizeof(f));
	f.all = true;
	CU_ASSERT_EQUAL(kw_lifecycle_revoke(&cfg, &f, NULL, &rep, &e), 0);
	CU_ASSERT_EQUAL(rep.n_done, 1);
	kw_lifecycle_report_free(&rep);
	CU_ASSERT(keyctl_read(d[0].serial, buf, sizeof(buf)) < 0 &&
	    errno == EKEYREVOKED);
	CU_ASSERT_EQUAL(kw_lifecycle_list(&cfg, NULL, &all, &n, NULL, &e), 0);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1)
		CU_ASSERT_EQUAL(all[0].n_keys, 0);
	kw_reg_sessions_free(all, n);
	keyctl_revoke(d[2].serial);
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_del(r, live.id, &e), 0);
	kw_registry_close(r);
	kw_reg_session_clear(&live);
	kw_reg_session_clear(&dead);
}

/*
 * A shared (scope=user) key whose later holder's shorter grant brought its
 * timeout down: rotating it keeps the earliest end any holder's file
 * says, whichever holder the registry lists first (both orders tried).
 */
static void
test_update_shared_until(void)
{
	struct kw_lifecycle_report rep;
	struct kw_registry *r;
	struct kw_reg_session first, later;
	struct kw_delivery d, dl;
	struct kw_error e;
	char t[32];
	int order;

	for (order = 0; order < 4; order++) {
		/* the kernel's timeout: the later, shorter grant's 50 s */
		make_key(&d, "unit-shared", 50, 0);
		d.scope = KW_SCOPE_USER;
		dl = d;
		d.until = (int64_t)time(NULL) + 3600;	/* the first grant */
		make_session(&first, getpid(), "holder", &d, 1);
		make_session(&later, getpid(), "holder", &dl, 1);
		CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e),
		    0);
		CU_ASSERT_EQUAL(kw_registry_session_put(r, order % 2 ? &later :
		    &first, &e), 0);
		CU_ASSERT_EQUAL(kw_registry_session_put(r, order % 2 ? &first :
		    &later, &e), 0);
		kw_registry_close(r);
		CU_ASSERT_EQUAL(kw_lifecycle_update(&cfg, "unit-shared",
		    "new", 3, 2, NULL, &rep, &e), 0);
		CU_ASSERT_EQUAL(rep.n_done, 1);
		kw_lifecycle_report_free(&rep);
		/* seconds left ("50s"), not the first grant's hour */
		proc_timeout(d.serial, t, sizeof(t));
		CU_ASSERT(t[0] != '\0' && t[strlen(t) - 1] == 's');
		if (t[0] == '\0' || t[strlen(t) - 1] != 's')
			printf("\n  order %d: timeout %s after the update\n",
			    order, t);
		keyctl_revoke(d.serial);
		CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e),
		    0);
		CU_ASSERT_EQUAL(kw_registry_session_del(r, first.id, &e), 0);
		CU_ASSERT_EQUAL(kw_registry_session_del(r, later.id, &e), 0);
		kw_registry_close(r);
		kw_reg_session_clear(&first);
		kw_reg_session_clear(&later);
	}
}

/*
 * A shared key whose user-key file names a holder that has no session
 * (its opener was killed between the two writes): when the last real
 * holder is cleaned, the key is revoked all the same.
 */
static void
test_phantom_holder(void)
{
	struct kw_lifecycle_report rep;
	struct kw_registry *r;
	struct kw_reg_session dead, *all;
	struct kw_reg_userkey uk;
	struct kw_delivery d;
	struct kw_error e;
	kw_session_id phantom;
	char buf[16];
	size_t n;
	pid_t child;

	make_key(&d, "unit-phantom", 120, 0);
	d.scope = KW_SCOPE_USER;
	if ((child = fork()) == 0)
		_exit(0);
	CU_ASSERT_FATAL(child > 0);
	waitpid(child, NULL, 0);
	make_session(&dead, child, "holder", &d, 1);
	memset(&uk, 0, sizeof(uk));
	snprintf(uk.secret, sizeof(uk.secret), "%s", d.secret);
	snprintf(uk.user, sizeof(uk.user), "holder");
	uk.version = d.version;
	uk.serial = d.serial;
	uk.until = d.until;
	CU_ASSERT_EQUAL(kw_session_id_new(phantom, &e), 0);
	CU_ASSERT_EQUAL(kw_reg_userkey_hold(&uk, dead.id, &e), 0);
	CU_ASSERT_EQUAL(kw_reg_userkey_hold(&uk, phantom, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &dead, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_userkey_put(r, &uk, &e), 0);
	kw_registry_close(r);
	kw_reg_userkey_clear(&uk);

	/* listing cleans the dead session: its key is revoked */
	CU_ASSERT_EQUAL(kw_lifecycle_list(&cfg, NULL, &all, &n, &rep, &e), 0);
	CU_ASSERT_EQUAL(n, 0);
	kw_reg_sessions_free(all, n);
	CU_ASSERT_EQUAL(rep.n_cleaned, 1);
	kw_lifecycle_report_free(&rep);
	CU_ASSERT(keyctl_read(d.serial, buf, sizeof(buf)) < 0 &&
	    errno == EKEYREVOKED);
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(cfg.run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_userkey_get(r, 0, d.secret, &uk, &e),
	    KW_ENOTFOUND);
	kw_reg_userkey_clear(&uk);
	kw_registry_close(r);
	kw_reg_session_clear(&dead);
	keyctl_revoke(d.serial);
}

int
main(void)
{
	unsigned char akey[32];
	char path[PATH_MAX], cmd[PATH_MAX + 16];
	struct kw_error e;
	CU_pSuite s;
	unsigned fails;

	if (geteuid() != 0) {
		printf("SKIP: needs root (kernel keyring as root)\n");
		return 77;
	}
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/keyward.conf", tmpdir);
	if (kw_config_defaults(&cfg, path, NULL, &e) != 0)
		return 1;
	snprintf(cfg.run_dir, sizeof(cfg.run_dir), "%s/run/keyward", tmpdir);
	snprintf(cfg.audit_key, sizeof(cfg.audit_key), "%s/audit.key", tmpdir);
	cfg.audit = KW_AUDIT_BEST_EFFORT;
	if (kw_random(akey, sizeof(akey), &e) != 0 ||
	    kw_atomic_write(cfg.audit_key, akey, sizeof(akey), 0400, 0, &e) != 0)
		return 1;
	/* our own session keyring, dropped at exit */
	if (keyctl_join_session_keyring(NULL) < 0)
		return 1;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("lifecycle", NULL, NULL);
	CU_add_test(s, "registry journal", test_journal);
	CU_add_test(s, "corrupt journal fails closed", test_journal_corrupt);
	CU_add_test(s, "update in place and revoke", test_update_revoke);
	CU_add_test(s, "a shared key's update keeps its earliest end",
	    test_update_shared_until);
	CU_add_test(s, "a holder without a session does not keep a key",
	    test_phantom_holder);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	kw_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fails++;
	return fails == 0 ? 0 : 1;
}
