/*
 * test_keyring.c - CUnit tests of the keyring and registry core against
 * the real kernel keyring (root: exits 77 otherwise).
 */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>

#include "keyring.h"
#include "registry.h"

static char tmpdir[] = "/tmp/kw-test-keyring.XXXXXX";
static char run_dir[PATH_MAX];

/* Parse "type;uid;gid;perm;desc" of a key into its fields. */
static int
describe(int32_t k, char *type, unsigned long *uid, unsigned long *perm,
    char *desc)
{
	char buf[256], *p, *q;

	if (keyctl_describe(k, buf, sizeof(buf)) < 0)
		return -errno;
	p = strchr(buf, ';');
	*p = '\0';
	strcpy(type, buf);
	*uid = strtoul(p + 1, &q, 10);
	p = strchr(q + 1, ';');
	*perm = strtoul(p + 1, &q, 16);
	strcpy(desc, q + 1);
	return 0;
}

static void
test_add_perm_read_revoke(void)
{
	struct kw_error e;
	char type[32], desc[128], buf[64];
	unsigned long uid, perm;
	int32_t ring, k, other;
	long n;

	CU_ASSERT_EQUAL_FATAL(kw_keyring_new_session(0, 0, &ring, NULL, &e), 0);
	CU_ASSERT(ring > 0);
	CU_ASSERT_EQUAL(kw_keyring_add(ring, "unit-a", "v1", 2, 60, getegid(),
	    &k, &e), 0);
	CU_ASSERT_EQUAL_FATAL(describe(k, type, &uid, &perm, desc), 0);
	CU_ASSERT_STRING_EQUAL(type, "user");
	CU_ASSERT_EQUAL(uid, 0);
	CU_ASSERT_EQUAL(perm, (unsigned long)KW_KEY_PERM);
	CU_ASSERT_STRING_EQUAL(desc, "keyward:unit-a");
	CU_ASSERT(kw_keyring_is_live(k, "unit-a"));
	CU_ASSERT(!kw_keyring_is_live(k, "unit-b"));
	n = keyctl_read(k, buf, sizeof(buf));
	CU_ASSERT(n == 2 && memcmp(buf, "v1", 2) == 0);
	/* in place: same serial, new value */
	CU_ASSERT_EQUAL(kw_keyring_update(k, "unit-a", "v2!", 3, &e), 0);
	n = keyctl_read(k, buf, sizeof(buf));
	CU_ASSERT(n == 3 && memcmp(buf, "v2!", 3) == 0);
	CU_ASSERT_EQUAL(kw_keyring_set_timeout(k, "unit-a", 30, &e), 0);
	CU_ASSERT_EQUAL(kw_keyring_revoke(k, "unit-a", &e), 0);
	CU_ASSERT(!kw_keyring_is_live(k, "unit-a"));
	CU_ASSERT(keyctl_read(k, buf, sizeof(buf)) < 0 && errno == EKEYREVOKED);
	/* revoking twice is fine */
	CU_ASSERT_EQUAL(kw_keyring_revoke(k, "unit-a", &e), 0);
	/* a serial that names another key by now is left alone: a key of
	 * another description, a keyward key of another secret */
	other = add_key("user", "unit-not-keyward", "o", 1, ring);
	CU_ASSERT_FATAL(other > 0);
	CU_ASSERT_EQUAL(kw_keyring_revoke(other, "unit-a", &e), 0);
	CU_ASSERT(keyctl_read(other, buf, sizeof(buf)) == 1);
	keyctl_revoke(other);
	CU_ASSERT_EQUAL(kw_keyring_add(ring, "unit-c", "c", 1, 60, getegid(),
	    &other, &e), 0);
	CU_ASSERT_EQUAL(kw_keyring_revoke(other, "unit-a", &e), 0);
	CU_ASSERT(kw_keyring_is_live(other, "unit-c"));
	CU_ASSERT_EQUAL(kw_keyring_revoke(other, "unit-c", &e), 0);
	CU_ASSERT(!kw_keyring_is_live(other, "unit-c"));
	/* bad names and zero ttl are refused before any key is made */
	CU_ASSERT_EQUAL(kw_keyring_add(ring, "-bad", "x", 1, 60, getegid(),
	    &k, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(k, 0);
	CU_ASSERT_EQUAL(kw_keyring_add(ring, "ok", "x", 1, 0, getegid(), &k,
	    &e), KW_EINTERNAL);
}

static void
test_session_ring_owner(void)
{
	struct kw_error e;
	char type[32], desc[128];
	unsigned long uid, perm;
	int32_t ring, cur;
	gid_t egid = 12345;

	/* a ring for nobody (65534): owned by it, and we are root again,
	 * with the effective gid it gives back */
	CU_ASSERT_EQUAL_FATAL(kw_keyring_new_session(65534, 65534, &ring,
	    &egid, &e), 0);
	CU_ASSERT_EQUAL(egid, getegid());
	CU_ASSERT_EQUAL(getuid(), 0);
	CU_ASSERT_EQUAL(geteuid(), 0);
	CU_ASSERT_EQUAL(getgid(), 0);
	CU_ASSERT_EQUAL(getegid(), 0);
	CU_ASSERT_EQUAL_FATAL(describe(ring, type, &uid, &perm, desc), 0);
	CU_ASSERT_STRING_EQUAL(type, "keyring");
	CU_ASSERT_EQUAL(uid, 65534);
	CU_ASSERT_EQUAL(perm, (unsigned long)KW_RING_PERM);
	CU_ASSERT_EQUAL(kw_keyring_current_session(&cur, &e), 0);
	CU_ASSERT_EQUAL(cur, ring);
	CU_ASSERT(kw_keyring_is_current_session(ring));
	CU_ASSERT(!kw_keyring_is_current_session(0));
}

/* Keys added by the session keyring's special id land in that ring. */
static void
test_add_by_special_id(void)
{
	struct kw_error e;
	char type[32], desc[128], buf[16];
	unsigned long uid, perm;
	int32_t r1, r2, k;

	CU_ASSERT_EQUAL_FATAL(kw_keyring_new_session(0, 0, &r1, NULL, &e), 0);
	CU_ASSERT_FATAL(kw_keyring_is_current_session(r1));
	CU_ASSERT_EQUAL_FATAL(kw_keyring_add(KEY_SPEC_SESSION_KEYRING,
	    "unit-sp", "sp", 2, 60, getegid(), &k, &e), 0);
	CU_ASSERT_EQUAL_FATAL(describe(k, type, &uid, &perm, desc), 0);
	CU_ASSERT_EQUAL(uid, 0);
	CU_ASSERT_EQUAL(perm, (unsigned long)KW_KEY_PERM);
	CU_ASSERT_STRING_EQUAL(desc, "keyward:unit-sp");
	/* linked into r1 itself, found there by serial */
	CU_ASSERT_EQUAL(keyctl_search(r1, "user", "keyward:unit-sp", 0), k);
	CU_ASSERT(keyctl_read(k, buf, sizeof(buf)) == 2);
	/* a newer session: r1 is no longer this thread's */
	CU_ASSERT_EQUAL_FATAL(kw_keyring_new_session(0, 0, &r2, NULL, &e), 0);
	CU_ASSERT(!kw_keyring_is_current_session(r1));
	CU_ASSERT(kw_keyring_is_current_session(r2));
	kw_keyring_revoke(k, "unit-sp", &e);
}

static void
test_link_shared(void)
{
	struct kw_error e;
	char buf[16];
	int32_t r1, r2, k;
	unsigned long uid, perm;
	char type[32], desc[128];

	CU_ASSERT_EQUAL_FATAL(kw_keyring_new_session(0, 0, &r1, NULL, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_keyring_add(r1, "unit-s", "sh", 2, 60,
	    getegid(), &k, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_keyring_new_session(0, 0, &r2, NULL, &e), 0);
	/* r2 is our session now; k is not possessed, but root may link */
	CU_ASSERT_EQUAL(kw_keyring_link(k, r2, "unit-s", &e), 0);
	CU_ASSERT_EQUAL_FATAL(describe(k, type, &uid, &perm, desc), 0);
	CU_ASSERT_EQUAL(perm, (unsigned long)KW_KEY_PERM);	/* taken back */
	CU_ASSERT(keyctl_read(k, buf, sizeof(buf)) == 2);	/* possessed */
	CU_ASSERT_EQUAL(kw_keyring_unlink(k, r2, &e), 0);
	CU_ASSERT(keyctl_read(k, buf, sizeof(buf)) < 0 && errno == EACCES);
	kw_keyring_revoke(k, "unit-s", &e);
}

static void
test_registry_roundtrip(void)
{
	struct kw_registry *r;
	struct kw_reg_session s, s2, g, *all;
	struct kw_reg_userkey u, ug;
	struct kw_delivery d;
	struct kw_error e;
	struct stat st;
	mode_t old_mask;
	uint64_t self_start;
	pid_t self;
	kw_session_id *dead;
	char path[PATH_MAX + 64];
	size_t n, nd;

	CU_ASSERT_EQUAL_FATAL(kw_registry_open(run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(stat(run_dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(kw_session_id_new(s.id, &e), 0);
	CU_ASSERT(kw_session_id_valid(s.id));
	strcpy(s.user, "agent one");	/* a blank, %-encoded */
	s.uid = 1234;
	s.pid = getpid();
	CU_ASSERT_EQUAL(kw_proc_start_time(s.pid, &s.start, &e), 0);
	/* the same from /proc/self, without asking for the pid */
	CU_ASSERT_EQUAL(kw_proc_self(&self, &self_start, &e), 0);
	CU_ASSERT_EQUAL(self, s.pid);
	CU_ASSERT_EQUAL(self_start, s.start);
	CU_ASSERT(s.start > 0);
	strcpy(s.service, "keyward-agent");
	strcpy(s.exe, "/opt/agents/a b%c");
	s.ring = 42;
	s.opened = 1700000000;
	memset(&d, 0, sizeof(d));
	strcpy(d.secret, "openai-prod");
	d.version = 3;
	d.serial = 99;
	d.scope = KW_SCOPE_USER;
	d.until = 1700003600;
	CU_ASSERT_EQUAL(kw_reg_session_add_key(&s, &d, &e), 0);
	/* a umask that would let everyone in: the file asks for none */
	old_mask = umask(0);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s, &e), 0);
	umask(old_mask);
	CU_ASSERT_EQUAL_FATAL(kw_registry_session_get(r, s.id, &g, &e), 0);
	CU_ASSERT_STRING_EQUAL(g.user, "agent one");
	CU_ASSERT_STRING_EQUAL(g.exe, "/opt/agents/a b%c");
	CU_ASSERT_STRING_EQUAL(g.tty, "");
	CU_ASSERT_EQUAL(g.uid, 1234);
	CU_ASSERT_EQUAL(g.ring, 42);
	CU_ASSERT_EQUAL_FATAL(g.n_keys, 1);
	CU_ASSERT_STRING_EQUAL(g.keys[0].secret, "openai-prod");
	CU_ASSERT_EQUAL(g.keys[0].version, 3);
	CU_ASSERT_EQUAL(g.keys[0].serial, 99);
	CU_ASSERT_EQUAL(g.keys[0].scope, KW_SCOPE_USER);
	CU_ASSERT_EQUAL(g.keys[0].until, 1700003600);
	kw_reg_session_clear(&g);
	/* the file is the owner's alone, whatever the umask */
	snprintf(path, sizeof(path), "%s/s.%s.%ld.%llu", run_dir, s.id,
	    (long)s.pid, (unsigned long long)s.start);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	/* a umask that takes owner bits leaves less, and it still reads */
	memcpy(&s2, &s, sizeof(s2));
	s2.keys = NULL;
	s2.n_keys = 0;
	CU_ASSERT_EQUAL(kw_session_id_new(s2.id, &e), 0);
	old_mask = umask(0277);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s2, &e), 0);
	umask(old_mask);
	snprintf(path, sizeof(path), "%s/s.%s.%ld.%llu", run_dir, s2.id,
	    (long)s2.pid, (unsigned long long)s2.start);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0400);
	CU_ASSERT_EQUAL_FATAL(kw_registry_session_get(r, s2.id, &g, &e), 0);
	CU_ASSERT_STRING_EQUAL(g.user, "agent one");
	kw_reg_session_clear(&g);
	CU_ASSERT_EQUAL(kw_registry_session_del(r, s2.id, &e), 0);
	/*
	 * Written again under its name (linking the new file finds the name
	 * taken: the older way replaces it): the new text, one session.
	 */
	s.ring = 43;
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_registry_session_get(r, s.id, &g, &e), 0);
	CU_ASSERT_EQUAL(g.ring, 43);
	CU_ASSERT_EQUAL(g.n_keys, 1);
	kw_reg_session_clear(&g);
	s.ring = 42;
	/* our own session is alive */
	CU_ASSERT_EQUAL(kw_registry_dead_sessions(r, &dead, &nd, &e), 0);
	CU_ASSERT_EQUAL(nd, 0);
	free(dead);
	CU_ASSERT_EQUAL(kw_registry_sessions(r, &all, &n, &e), 0);
	CU_ASSERT_EQUAL(n, 1);
	kw_reg_sessions_free(all, n);
	/*
	 * A field whose encoded line the reader would refuse is refused at
	 * write time, and the registry stays readable for everyone else.
	 */
	memset(&g, 0, sizeof(g));
	memcpy(&g, &s, sizeof(g));
	g.keys = NULL;
	g.n_keys = 0;
	CU_ASSERT_EQUAL(kw_session_id_new(g.id, &e), 0);
	g.exe[0] = '/';
	memset(g.exe + 1, ' ', 1400);	/* 3 bytes each once encoded */
	g.exe[1401] = '\0';
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &g, &e), KW_ETOOBIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "exe is too long"));
	CU_ASSERT_EQUAL(kw_registry_sessions(r, &all, &n, &e), 0);
	CU_ASSERT_EQUAL(n, 1);
	kw_reg_sessions_free(all, n);
	memset(&g, 0, sizeof(g));

	/* user keys: holders are a set */
	memset(&u, 0, sizeof(u));
	strcpy(u.secret, "openai-prod");
	strcpy(u.user, "agent one");
	u.uid = 1234;
	u.version = 3;
	u.serial = 99;
	CU_ASSERT_EQUAL(kw_reg_userkey_hold(&u, s.id, &e), 0);
	CU_ASSERT_EQUAL(kw_reg_userkey_hold(&u, s.id, &e), 0);
	CU_ASSERT_EQUAL(u.n_holders, 1);
	CU_ASSERT_EQUAL(kw_registry_userkey_put(r, &u, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_registry_userkey_get(r, 1234, "openai-prod",
	    &ug, &e), 0);
	CU_ASSERT_EQUAL(ug.n_holders, 1);
	CU_ASSERT_EQUAL(ug.serial, 99);
	kw_reg_userkey_release(&ug, s.id);
	kw_reg_userkey_release(&ug, s.id);	/* unbalanced: no-op */
	CU_ASSERT_EQUAL(ug.n_holders, 0);
	kw_reg_userkey_clear(&ug);
	kw_reg_userkey_clear(&u);
	CU_ASSERT_EQUAL(kw_registry_userkey_del(r, 1234, "openai-prod", &e), 0);
	CU_ASSERT_EQUAL(kw_registry_userkey_get(r, 1234, "openai-prod", &ug,
	    &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_registry_session_del(r, s.id, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_get(r, s.id, &g, &e),
	    KW_ENOTFOUND);
	kw_reg_session_clear(&s);
	kw_registry_close(r);
}

static void
test_registry_dead_and_corrupt(void)
{
	struct kw_registry *r;
	struct kw_reg_session s, g;
	struct kw_error e;
	kw_session_id *dead;
	char path[PATH_MAX + 64];
	size_t nd;
	pid_t child;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(kw_registry_open(run_dir, &r, &e), 0);
	/* a session whose opener has exited */
	child = fork();
	if (child == 0)
		_exit(0);
	memset(&s, 0, sizeof(s));
	kw_session_id_new(s.id, &e);
	CU_ASSERT_EQUAL(kw_proc_start_time(child, &s.start, &e), 0);
	waitpid(child, NULL, 0);
	s.pid = child;
	strcpy(s.user, "x");
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_dead_sessions(r, &dead, &nd, &e), 0);
	CU_ASSERT_EQUAL_FATAL(nd, 1);
	CU_ASSERT_STRING_EQUAL(dead[0], s.id);
	free(dead);
	/* a damaged file is refused with file:line */
	snprintf(path, sizeof(path), "%s/s.%s.%ld.%llu", run_dir, s.id,
	    (long)s.pid, (unsigned long long)s.start);
	f = fopen(path, "a");
	CU_ASSERT_FATAL(f != NULL);
	fputs("key openai-prod 1 notanumber session 5\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(kw_registry_session_get(r, s.id, &g, &e), KW_ECORRUPT);
	CU_ASSERT(strstr(e.msg, path) != NULL);
	CU_ASSERT(strstr(e.msg, ":12: bad serial") != NULL);
	CU_ASSERT_EQUAL(kw_registry_session_del(r, s.id, &e), 0);
	kw_registry_close(r);
}

/* The serial of the only key of session id in all[0..n), or 0. */
static int32_t
serial_of(const struct kw_reg_session *all, size_t n, const char *id,
    uint32_t *version)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(all[i].id, id) == 0 && all[i].n_keys == 1) {
			if (version != NULL)
				*version = all[i].keys[0].version;
			return all[i].keys[0].serial;
		}
	return 0;
}

/* How many sessions a walk finds now; with their keys in *out. */
static size_t
walk_count(struct kw_registry *r, struct kw_reg_session **out)
{
	struct kw_reg_session *all = NULL;
	struct kw_error e;
	size_t n = 0;

	CU_ASSERT_EQUAL(kw_registry_sessions(r, &all, &n, &e), 0);
	if (out != NULL)
		*out = all;
	else
		kw_reg_sessions_free(all, n);
	return n;
}

/*
 * Write session s of user (new id, this process with its start time) with
 * one key, "api" version 1, serial.
 */
static void
put_session(struct kw_registry *r, struct kw_reg_session *s,
    const char *user, uint64_t start, int32_t serial)
{
	struct kw_delivery d;
	struct kw_error e;

	memset(s, 0, sizeof(*s));
	CU_ASSERT_EQUAL(kw_session_id_new(s->id, &e), 0);
	s->pid = getpid();
	s->start = start;
	snprintf(s->user, sizeof(s->user), "%s", user);
	memset(&d, 0, sizeof(d));
	strcpy(d.secret, "api");
	d.version = 1;
	d.serial = serial;
	d.until = 4000000000;
	CU_ASSERT_EQUAL(kw_reg_session_add_key(s, &d, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_put(r, s, &e), 0);
}

/* The path of session s's file in run_dir. */
static void
session_file(const struct kw_reg_session *s, char *path, size_t size)
{
	int n = snprintf(path, size, "%s/s.%s.%ld.%llu", run_dir, s->id,
	    (long)s->pid, (unsigned long long)s->start);

	CU_ASSERT_FATAL(n > 0 && (size_t)n < size);
}

/*
 * Sessions written while there is an index (r holds the n sessions s,
 * walked) are appended to it, out of order, and the next walk takes them
 * from there: shown by truncating such a file in place (same inode; never
 * done by keyward), which a walk reading the file would refuse. Of two
 * entries of one name, the later one counts. The index is left as a walk
 * leaves it, over the n sessions.
 */
static void
index_appends(struct kw_registry *r, struct kw_reg_session *s, size_t n)
{
	enum { M = 3 };
	struct kw_reg_session add[M], *all;
	struct kw_error e;
	char path[PATH_MAX + 64], ipath[PATH_MAX + 16], text[4096], *p;
	struct stat before, after, st;
	size_t i, len;
	int fd;
	FILE *f;

	snprintf(ipath, sizeof(ipath), "%s/index", run_dir);
	CU_ASSERT_EQUAL_FATAL(stat(ipath, &before), 0);
	for (i = 0; i < M; i++)
		put_session(r, &add[i], "appended", s[0].start,
		    (int32_t)(5000 + i));
	CU_ASSERT_EQUAL_FATAL(stat(ipath, &after), 0);
	CU_ASSERT(after.st_size > before.st_size);
	for (i = 0; i < M; i++) {
		session_file(&add[i], path, sizeof(path));
		CU_ASSERT_EQUAL(truncate(path, 0), 0);
	}
	CU_ASSERT_EQUAL_FATAL(walk_count(r, &all), n + M);
	for (i = 0; i < M; i++)
		CU_ASSERT_EQUAL(serial_of(all, n + M, add[i].id, NULL),
		    (int32_t)(5000 + i));
	kw_reg_sessions_free(all, n + M);
	for (i = 0; i < M; i++) {
		CU_ASSERT_EQUAL(kw_registry_session_del(r, add[i].id, &e), 0);
		kw_reg_session_clear(&add[i]);
	}
	CU_ASSERT_EQUAL(walk_count(r, NULL), n);

	/* a later entry for s[1]'s file (its inode) wins over the first */
	session_file(&s[1], path, sizeof(path));
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	CU_ASSERT_FATAL((p = strstr(text, " 1001 ")) != NULL);
	memcpy(p + 1, "6001", 4);
	f = fopen(ipath, "a");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "f %s %llu %zu\n%s", strrchr(path, '/') + 1,
	    (unsigned long long)st.st_ino, len, text);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(walk_count(r, &all), n);
	CU_ASSERT_EQUAL(serial_of(all, n, s[1].id, NULL), 6001);
	kw_reg_sessions_free(all, n);
	/* the file itself was never changed: rewritten, the index says so */
	fd = open(ipath, O_WRONLY | O_TRUNC);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(walk_count(r, &all), n);
	CU_ASSERT_EQUAL(serial_of(all, n, s[1].id, NULL), 1001);
	kw_reg_sessions_free(all, n);
}

/*
 * The index (a cache of the session files): what a walk returns is what
 * the files say, whether the index is fresh, missing, garbage, or names a
 * file that was replaced since.
 */
static void
test_registry_index(void)
{
	enum { N = 20 };
	struct kw_registry *r;
	struct kw_reg_session s[N], *all;
	struct kw_reg_mark m;
	struct kw_error e;
	char path[PATH_MAX + 64], tmp[PATH_MAX + 80], buf[64], user[16];
	struct stat st;
	uint64_t start;
	uint32_t version = 0;
	size_t i, n;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(kw_registry_open(run_dir, &r, &e), 0);
	snprintf(path, sizeof(path), "%s/index", run_dir);
	CU_ASSERT_EQUAL_FATAL(kw_proc_start_time(getpid(), &start, &e), 0);
	for (i = 0; i < N; i++) {
		snprintf(user, sizeof(user), "u%zu", i);
		put_session(r, &s[i], user, start, (int32_t)(1000 + i));
	}
	/* the first walk reads the files and leaves the index */
	CU_ASSERT_EQUAL(walk_count(r, NULL), N);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* the next one reads the index: the same sessions and keys */
	CU_ASSERT_EQUAL_FATAL(walk_count(r, &all), N);
	for (i = 0; i < N; i++)
		CU_ASSERT_EQUAL(serial_of(all, N, s[i].id, NULL),
		    (int32_t)(1000 + i));
	kw_reg_sessions_free(all, N);
	index_appends(r, s, N);
	/* the journal applies to sessions from the index too */
	memset(&m, 0, sizeof(m));
	memcpy(m.session, s[3].id, sizeof(m.session));
	m.serial = 1003;
	m.version = 7;
	CU_ASSERT_EQUAL(kw_registry_mark(r, &m, 1, &e), 0);
	CU_ASSERT_EQUAL_FATAL(walk_count(r, &all), N);
	CU_ASSERT_EQUAL(serial_of(all, N, s[3].id, &version), 1003);
	CU_ASSERT_EQUAL(version, 7);
	kw_reg_sessions_free(all, N);
	/* a garbage index is ignored, then replaced */
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("keyward-index 1\nf s.nonsense 1 999999\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(walk_count(r, NULL), N);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "keyward-index 1\n");
	/* a closed session is gone, a new one is there */
	CU_ASSERT_EQUAL(kw_registry_session_del(r, s[0].id, &e), 0);
	CU_ASSERT_EQUAL(walk_count(r, NULL), N - 1);
	CU_ASSERT_EQUAL(kw_session_id_new(s[0].id, &e), 0);
	s[0].keys[0].serial = 2000;
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s[0], &e), 0);
	CU_ASSERT_EQUAL_FATAL(walk_count(r, &all), N);
	CU_ASSERT_EQUAL(serial_of(all, N, s[0].id, NULL), 2000);
	kw_reg_sessions_free(all, N);
	/*
	 * A session file replaced behind the index's back, by rename (a new
	 * inode; keyward itself never rewrites one): the file wins.
	 */
	snprintf(tmp, sizeof(tmp), "%s/s.%s.%ld.%llu", run_dir, s[5].id,
	    (long)s[5].pid, (unsigned long long)s[5].start);
	CU_ASSERT_EQUAL(kw_session_id_new(s[5].id, &e), 0);
	s[5].keys[0].serial = 3005;
	CU_ASSERT_EQUAL(kw_registry_session_put(r, &s[5], &e), 0);
	snprintf(path, sizeof(path), "%s/s.%s.%ld.%llu", run_dir, s[5].id,
	    (long)s[5].pid, (unsigned long long)s[5].start);
	CU_ASSERT_EQUAL(rename(path, tmp), 0);
	CU_ASSERT_EQUAL_FATAL(walk_count(r, &all), N);
	CU_ASSERT_EQUAL(serial_of(all, N, s[5].id, NULL), 3005);
	kw_reg_sessions_free(all, N);
	CU_ASSERT_EQUAL(unlink(tmp), 0);
	snprintf(path, sizeof(path), "%s/index", run_dir);
	/* below INDEX_MIN sessions, no index is kept */
	for (i = 0; i < N; i++) {
		if (i != 5)
			CU_ASSERT_EQUAL(kw_registry_session_del(r, s[i].id,
			    &e), 0);
		kw_reg_session_clear(&s[i]);
	}
	n = walk_count(r, NULL);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
	kw_registry_close(r);
}

/* Whether the index in run_dir names session s's file (false: no index). */
static bool
index_names(const struct kw_reg_session *s)
{
	char path[PATH_MAX + 64], ipath[PATH_MAX + 16], line[512], want[256];
	bool found = false;
	FILE *f;

	session_file(s, path, sizeof(path));
	snprintf(want, sizeof(want), "f %s ", strrchr(path, '/') + 1);
	snprintf(ipath, sizeof(ipath), "%s/index", run_dir);
	if ((f = fopen(ipath, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strncmp(line, want, strlen(want)) == 0;
	fclose(f);
	return found;
}

/*
 * What a handle knows of the index never costs it an append: a session
 * written while there is an index is in it, whether the handle is fresh
 * (no listing yet), has listed the index, or has listed a registry without
 * one and then written the index itself.
 */
static void
test_registry_index_handles(void)
{
	enum { N = 20 };
	struct kw_registry *r;
	struct kw_reg_session s[N], x, y;
	struct kw_error e;
	char ipath[PATH_MAX + 16], user[16];
	struct stat st;
	uint64_t start;
	size_t i;

	snprintf(ipath, sizeof(ipath), "%s/index", run_dir);
	CU_ASSERT_EQUAL_FATAL(kw_proc_start_time(getpid(), &start, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(run_dir, &r, &e), 0);
	for (i = 0; i < N; i++) {
		snprintf(user, sizeof(user), "h%zu", i);
		put_session(r, &s[i], user, start, (int32_t)(7000 + i));
	}
	CU_ASSERT_EQUAL(walk_count(r, NULL), N);
	CU_ASSERT_EQUAL_FATAL(stat(ipath, &st), 0);
	kw_registry_close(r);

	/* a fresh handle, before any listing: appended */
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(run_dir, &r, &e), 0);
	put_session(r, &x, "fresh", start, 7100);
	CU_ASSERT(index_names(&x));
	/* after a listing that saw the index: appended */
	CU_ASSERT_EQUAL(walk_count(r, NULL), N + 1);
	put_session(r, &y, "listed", start, 7101);
	CU_ASSERT(index_names(&y));
	CU_ASSERT_EQUAL(kw_registry_session_del(r, x.id, &e), 0);
	CU_ASSERT_EQUAL(kw_registry_session_del(r, y.id, &e), 0);
	kw_reg_session_clear(&x);
	kw_reg_session_clear(&y);
	kw_registry_close(r);

	/*
	 * A handle whose listing found no index (too few sessions: removed)
	 * writes one with its next walk over enough sessions, and appends
	 * to it from then on.
	 */
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(run_dir, &r, &e), 0);
	for (i = 1; i < N; i++) {
		CU_ASSERT_EQUAL(kw_registry_session_del(r, s[i].id, &e), 0);
		kw_reg_session_clear(&s[i]);
	}
	/* this walk's listing still sees the index, which the walk then
	 * removes; the next walk's listing finds none and records that */
	CU_ASSERT_EQUAL(walk_count(r, NULL), 1);
	CU_ASSERT_NOT_EQUAL(stat(ipath, &st), 0);
	CU_ASSERT_EQUAL(walk_count(r, NULL), 1);
	for (i = 1; i < N; i++) {
		snprintf(user, sizeof(user), "k%zu", i);
		put_session(r, &s[i], user, start, (int32_t)(7200 + i));
	}
	CU_ASSERT_NOT_EQUAL(stat(ipath, &st), 0);
	CU_ASSERT_EQUAL(walk_count(r, NULL), N);
	CU_ASSERT_EQUAL_FATAL(stat(ipath, &st), 0);
	put_session(r, &x, "after", start, 7300);
	CU_ASSERT(index_names(&x));
	CU_ASSERT_EQUAL(walk_count(r, NULL), N + 1);
	CU_ASSERT_EQUAL(kw_registry_session_del(r, x.id, &e), 0);
	kw_reg_session_clear(&x);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(kw_registry_session_del(r, s[i].id, &e), 0);
		kw_reg_session_clear(&s[i]);
	}
	CU_ASSERT_EQUAL(walk_count(r, NULL), 0);
	CU_ASSERT_NOT_EQUAL(stat(ipath, &st), 0);
	kw_registry_close(r);
}

/*
 * A directory of more names than one getdents64() read takes (32 KiB: some
 * 56 bytes a session file name) is listed whole by every listing: the
 * walk, the dead-session sweep and the lookup by id.
 */
static void
test_registry_long_listing(void)
{
	enum { N = 1500 };
	struct kw_registry *r;
	struct kw_reg_session *s, got;
	kw_session_id *dead = NULL;
	struct kw_error e;
	uint64_t start;
	size_t i, n_dead = 1;

	s = calloc(N, sizeof(*s));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(kw_registry_open(run_dir, &r, &e), 0);
	CU_ASSERT_EQUAL_FATAL(kw_proc_start_time(getpid(), &start, &e), 0);
	for (i = 0; i < N; i++)
		put_session(r, &s[i], "many", start, (int32_t)(10000 + i));
	CU_ASSERT_EQUAL(walk_count(r, NULL), N);
	CU_ASSERT_EQUAL(kw_registry_dead_sessions(r, &dead, &n_dead, &e), 0);
	CU_ASSERT_EQUAL(n_dead, 0);
	free(dead);
	/* the first and the last name listed are both found by id */
	CU_ASSERT_EQUAL(kw_registry_session_get(r, s[0].id, &got, &e), 0);
	kw_reg_session_clear(&got);
	CU_ASSERT_EQUAL(kw_registry_session_get(r, s[N - 1].id, &got, &e), 0);
	CU_ASSERT_EQUAL(got.keys != NULL ? got.keys[0].serial : 0,
	    (int32_t)(10000 + N - 1));
	kw_reg_session_clear(&got);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(kw_registry_session_del(r, s[i].id, &e), 0);
		kw_reg_session_clear(&s[i]);
	}
	CU_ASSERT_EQUAL(walk_count(r, NULL), 0);
	kw_registry_close(r);
	free(s);
}

int
main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (geteuid() != 0) {
		printf("SKIP: needs root (kernel keyring as root)\n");
		return 77;
	}
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(run_dir, sizeof(run_dir), "%s/run/keyward", tmpdir);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("keyring", NULL, NULL);
	CU_add_test(s, "add, perms, read, update, revoke",
	    test_add_perm_read_revoke);
	CU_add_test(s, "session ring owned by the user", test_session_ring_owner);
	CU_add_test(s, "add by the session keyring's special id",
	    test_add_by_special_id);
	CU_add_test(s, "link a shared key", test_link_shared);
	CU_add_test(s, "registry round trip", test_registry_roundtrip);
	CU_add_test(s, "registry dead sessions and corruption",
	    test_registry_dead_and_corrupt);
	CU_add_test(s, "registry index", test_registry_index);
	CU_add_test(s, "registry index and fresh or listed handles",
	    test_registry_index_handles);
	CU_add_test(s, "registry listing longer than one read",
	    test_registry_long_listing);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	snprintf(run_dir, sizeof(run_dir), "rm -rf '%s'", tmpdir);
	if (system(run_dir) != 0)
		fails++;
	return fails == 0 ? 0 : 1;
}
