/*
 * kw_fault.c - allocation fault injection. Linked with libkwcore and
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup (and
 * OpenSSL's allocator set to the same counter), it runs one operation
 * with the Nth allocation failing, for N = 1, 2, ... until the operation
 * succeeds, and checks after every failure:
 *   session CONF USER SECRET  kw_session_open: a clear error, no live key
 *                             keyward:SECRET in /proc/keys, no new file
 *                             in the registry directory
 *   vault CONF SECRET         rotate + commit: a clear error, the vault
 *                             verifies and SECRET is the old or the new
 *                             value
 *   audit MODE                kw_audit_open + kw_audit_emit: a clear error
 * Prints "OP: N allocation points, each failed once: ok" and exits 0, or
 * prints what went wrong and exits 1. A crash is a failure by itself.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "kw_config.h"
#include "kw_util.h"
#include "session.h"
#include "vault.h"

#define MAX_POINTS 100000

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long fail_at;	/* 0: never */
static long counter;
static int failed;	/* the injected failure happened */

/* Count an allocation; true when this one must fail. */
static int
inject(void)
{
	if (fail_at == 0 || ++counter != fail_at)
		return 0;
	failed = 1;
	errno = ENOMEM;
	return 1;
}

void *
__wrap_malloc(size_t n)
{
	return inject() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return inject() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return inject() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return inject() ? NULL : __real_strdup(s);
}

/* OpenSSL's allocator, through the same counter. */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return inject() ? NULL : __real_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return inject() ? NULL : __real_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

/* Arm the injection for point n. */
static void
arm(long n)
{
	fail_at = n;
	counter = 0;
	failed = 0;
}

/* Stop injecting; 'failed' keeps whether point n was reached. */
static void
disarm(void)
{
	fail_at = 0;
}

/* Live (not revoked, not expired) keys described keyward:SECRET. */
static int
live_keys(const char *secret)
{
	char line[512], want[128], type[64], desc[256], flags[32],
	    expiry[32];
	int n = 0;
	FILE *f;

	snprintf(want, sizeof(want), "keyward:%s:", secret);
	if ((f = fopen("/proc/keys", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* serial flags usage expiry perm uid gid type desc: ... */
		char *tok[10], *save = NULL, *t = line;
		int i;

		for (i = 0; i < 9 && (tok[i] = strtok_r(t, " \n", &save)) !=
		    NULL; i++)
			t = NULL;
		if (i < 9)
			continue;
		snprintf(flags, sizeof(flags), "%s", tok[1]);
		snprintf(expiry, sizeof(expiry), "%s", tok[3]);
		snprintf(type, sizeof(type), "%s", tok[7]);
		snprintf(desc, sizeof(desc), "%s", tok[8]);
		if (strcmp(type, "user") == 0 && strcmp(desc, want) == 0 &&
		    strchr(flags, 'R') == NULL && strcmp(expiry, "expd") != 0)
			n++;
	}
	fclose(f);
	return n;
}

/* Number of entries in dir (not . and ..); -1 when unreadable. */
static int
dir_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A refusal must say why. */
static int
clear_error(const char *op, long n, int rc, const struct kw_error *e)
{
	if (rc != 0 && e->msg[0] == '\0') {
		printf("%s: point %ld: failed (%d) without a message\n", op, n,
		    rc);
		return 0;
	}
	return 1;
}

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Session open with each allocation failing in turn. */
static int
run_session(const char *conf, const char *user, const char *secret)
{
	struct kw_session_params p;
	struct kw_session_info info;
	struct kw_config cfg;
	struct kw_error e;
	int rc, base, keys, bad = 0;
	long n;

	if (kw_config_load(&cfg, conf, &e) != 0) {
		printf("session: %s\n", kw_error_text(&e));
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.user = user;
	p.service = "kw-fault";
	p.warn = quiet;
	/* warm up once: library state made once is not what is tested */
	if ((rc = kw_session_open(&cfg, &p, &info, &e)) != 0) {
		printf("session: warm-up: %s\n", kw_error_text(&e));
		kw_config_free(&cfg);
		return 1;
	}
	kw_session_close(&cfg, info.id, &p, &e);
	base = dir_entries(cfg.run_dir);
	keys = live_keys(secret);	/* other sessions' (none in the test) */
	for (n = 1; n < MAX_POINTS; n++) {
		kw_error_clear(&e);
		arm(n);
		rc = kw_session_open(&cfg, &p, &info, &e);
		disarm();
		if (!failed && rc == 0)
			break;		/* every allocation point passed */
		if (rc == 0) {
			/* survived the failure: must be a whole session */
			if (live_keys(secret) != keys + 1) {
				printf("session: point %ld: opened without "
				    "its key\n", n);
				bad = 1;
			}
			if (kw_session_close(&cfg, info.id, &p, &e) != 0) {
				printf("session: point %ld: closing the "
				    "session: %s\n", n, kw_error_text(&e));
				bad = 1;
			}
			continue;
		}
		if (!clear_error("session", n, rc, &e))
			bad = 1;
		if (live_keys(secret) != keys) {
			printf("session: point %ld: a key was left after: "
			    "%s\n", n, kw_error_text(&e));
			bad = 1;
		}
		if (dir_entries(cfg.run_dir) != base) {
			printf("session: point %ld: the registry changed "
			    "after: %s\n", n, kw_error_text(&e));
			bad = 1;
		}
	}
	if (rc != 0 || failed) {
		printf("session: never succeeded\n");
		bad = 1;
	} else {
		kw_session_close(&cfg, info.id, &p, &e);
	}
	kw_config_free(&cfg);
	if (!bad)
		printf("session: %ld allocation points, each failed once: "
		    "ok\n", n - 1);
	return bad;
}

/*
 * The value of secret in the vault at path, checked with a full verify;
 * 0 when the vault is whole and the value was copied to out.
 */
static int
vault_value(const char *path, const unsigned char *key, const char *secret,
    char *out, size_t size, struct kw_error *e)
{
	struct kw_vault *v = NULL;
	struct kw_secret *s = NULL;
	int rc;

	if ((rc = kw_vault_open(path, key, &v, e)) != 0 ||
	    (rc = kw_vault_verify(v, e)) != 0 ||
	    (rc = kw_vault_get(v, secret, 0, &s, e)) != 0)
		goto out;
	snprintf(out, size, "%.*s", (int)s->len, (const char *)s->data);
out:
	kw_secret_free(s);
	kw_vault_close(v);
	return rc;
}

/* One locked rotate + commit. */
static int
vault_rotate(const char *path, const unsigned char *key, const char *secret,
    const char *value, struct kw_error *e)
{
	struct kw_vault *v = NULL;
	int rc;

	if ((rc = kw_vault_open_locked(path, key, &v, e)) == 0 &&
	    (rc = kw_vault_rotate(v, secret, (const unsigned char *)value,
	    strlen(value), e)) == 0)
		rc = kw_vault_commit(v, e);
	kw_vault_close(v);
	return rc;
}

/* Vault write with each allocation failing in turn. */
static int
run_vault(const char *conf, const char *secret)
{
	unsigned char key[KW_MASTER_KEY_LEN];
	char old[64], now[64], want[64];
	struct kw_config cfg;
	struct kw_error e;
	int rc = 0, bad = 0;
	long n;

	if (kw_config_load(&cfg, conf, &e) != 0 ||
	    kw_master_key_load(cfg.master_key, key, &e) != 0 ||
	    vault_rotate(cfg.vault, key, secret, "warm-up", &e) != 0 ||
	    vault_value(cfg.vault, key, secret, old, sizeof(old), &e) != 0) {
		printf("vault: %s\n", kw_error_text(&e));
		return 1;
	}
	for (n = 1; n < MAX_POINTS; n++) {
		snprintf(want, sizeof(want), "value-%ld", n);
		kw_error_clear(&e);
		arm(n);
		rc = vault_rotate(cfg.vault, key, secret, want, &e);
		disarm();
		if (rc != 0 && !clear_error("vault", n, rc, &e))
			bad = 1;
		if (vault_value(cfg.vault, key, secret, now, sizeof(now),
		    &e) != 0) {
			printf("vault: point %ld: the vault is broken: %s\n", n,
			    kw_error_text(&e));
			bad = 1;
			break;
		}
		if (strcmp(now, rc == 0 ? want : old) != 0 &&
		    strcmp(now, want) != 0) {
			printf("vault: point %ld: value is neither old nor "
			    "new\n", n);
			bad = 1;
		}
		snprintf(old, sizeof(old), "%s", now);
		if (rc == 0 && !failed)
			break;
	}
	if (rc != 0 || failed) {
		printf("vault: never succeeded\n");
		bad = 1;
	}
	kw_wipe(key, sizeof(key));
	kw_config_free(&cfg);
	if (!bad)
		printf("vault: %ld allocation points, each failed once: ok\n",
		    n - 1);
	return bad;
}

/* One audit connection and record. */
static int
audit_once(enum kw_audit_mode mode, struct kw_error *e)
{
	struct kw_audit_rec r;
	struct kw_audit *a = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	r.op = KW_OP_DENY;
	r.secret = "kw-fault-test";
	r.acct = "root";
	r.success = false;
	if ((rc = kw_audit_open(mode, &a, e)) == 0)
		rc = kw_audit_emit(a, &r, e);
	kw_audit_close(a);
	return rc;
}

/* Audit emission with each allocation failing in turn. */
static int
run_audit(const char *mode_name)
{
	enum kw_audit_mode mode = strcmp(mode_name, "required") == 0 ?
	    KW_AUDIT_REQUIRED : KW_AUDIT_BEST_EFFORT;
	struct kw_error e;
	int rc = 0, bad = 0;
	long n;

	if (audit_once(mode, &e) != 0) {
		printf("audit: warm-up: %s\n", kw_error_text(&e));
		return 1;
	}
	for (n = 1; n < MAX_POINTS; n++) {
		kw_error_clear(&e);
		arm(n);
		rc = audit_once(mode, &e);
		disarm();
		if (rc != 0 && !clear_error("audit", n, rc, &e))
			bad = 1;
		if (rc == 0 && !failed)
			break;
	}
	if (rc != 0 || failed) {
		printf("audit: never succeeded\n");
		bad = 1;
	}
	if (!bad)
		printf("audit: %ld allocation points, each failed once: ok\n",
		    n - 1);
	return bad;
}

int
main(int argc, char **argv)
{
	if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
		printf("cannot set OpenSSL's allocator\n");
		return 1;
	}
	if (argc == 5 && strcmp(argv[1], "session") == 0)
		return run_session(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "vault") == 0)
		return run_vault(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "audit") == 0)
		return run_audit(argv[2]);
	fprintf(stderr, "usage: kw_fault session CONF USER SECRET | "
	    "vault CONF SECRET | audit required|best-effort\n");
	return 2;
}
