/*
 * kw_fault.c - allocation fault injection. Runs one operation with the
 * Nth allocation of the process failing, for N = 1, 2, ... until the
 * operation succeeds without reaching point N, and checks after every
 * failure:
 *   session CONF USER SECRET  kw_session_open: a clear error, no live key
 *                             keyward:SECRET in /proc/keys, no new file
 *                             in the registry directory
 *   vault CONF SECRET         rotate + commit: a clear error, the vault
 *                             verifies and SECRET is the old or the new
 *                             value
 *   denied-session CONF USER SECRET
 *                             as session, for a user the policy denies:
 *                             every point must refuse too (a point that
 *                             opens the session fails open, e.g. a group
 *                             lookup that lost the denied group). Not in
 *                             alloc.sh yet: glibc's NSS hides an ENOMEM of
 *                             one module when the next answers "not found",
 *                             so a deny group= can still be missed.
 *   audit MODE                kw_audit_open + kw_audit_emit: a clear error
 * Prints "OP: N allocation points, each failed once: ok" and exits 0, or
 * prints what went wrong and exits 1. A crash is a failure by itself.
 *
 * What is counted: this executable defines malloc, calloc, realloc, free,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * malloc_usable_size, and reallocarray, strdup and strndup (made of the
 * first ones here). A definition in the executable comes first in symbol
 * lookup, so it serves every caller in the process: keyward's objects
 * (libkwcore is linked in statically), OpenSSL (whose default allocator
 * calls malloc), libaudit, libkeyutils, and glibc itself, which calls its
 * own malloc, calloc, realloc and free through these interposable
 * symbols (getpwnam_r and NSS, getgrouplist, stdio, opendir, strdup, ...).
 * Each counts one point and forwards to the next definition, found with
 * dlsym(RTLD_NEXT): glibc's malloc in a plain build and under valgrind
 * (which replaces glibc's), the sanitizer runtime's under
 * --enable-sanitizers. reallocarray, strdup and strndup are defined here
 * too because ASan's runtime gives its own, which do not call malloc.
 * Allocations made while dlsym runs (dlsym may allocate before the real
 * allocator is known) come from a small static arena that free ignores.
 * Only the armed operation is counted: the warm-up before it and the
 * checks and printing after it are not. Before any operation kw_fault
 * checks that an allocation inside glibc reaches it (valgrind, for one,
 * replaces an executable's malloc unless run with
 * --soname-synonyms=somalloc=nouserintercepts) and refuses to run if not,
 * rather than pass with no point failed.
 *
 * Not counted: memory got without malloc (mmap, brk, the stack), what
 * ld.so allocates before this executable's symbols are bound, and what a
 * sanitizer runtime or valgrind allocates for itself. The counts are the
 * same in the three builds (plain, --enable-sanitizers, valgrind).
 *
 * KW_FAULT_VERBOSE=1 in the environment prints each point's outcome
 * (the error message), =2 also the stack of the failed allocation.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "kw_config.h"
#include "kw_util.h"
#include "session.h"
#include "vault.h"

/*
 * The allocator below runs before the sanitizer runtime is set up (ASan's
 * own start-up calls dlsym, which allocates): no shadow-memory checks in
 * it. The forwarded calls are checked by ASan all the same.
 */
#define NO_ASAN __attribute__((no_sanitize_address))

#define MAX_POINTS 100000
#define ARENA_SIZE 16384	/* for the allocations of dlsym */
#define ARENA_ALIGN 16		/* alignof(max_align_t) on x86-64 */
#define TRACE_MAX 32

_Static_assert(ARENA_ALIGN >= _Alignof(max_align_t) &&
    ARENA_ALIGN >= sizeof(size_t), "arena alignment");

/*
 * State that the allocator below changes from inside library calls is
 * volatile: glibc declares many functions leaf (__THROW), which lets the
 * compiler assume a call such as dlsym or __asprintf_chk neither reads
 * nor writes this file's static variables.
 */
static volatile long fail_at;	/* 0: never */
static volatile long counter;
static volatile int failed;	/* the injected failure happened */
static int verbose;	/* KW_FAULT_VERBOSE */
static void *trace[TRACE_MAX];	/* stack of the failed allocation */
static volatile int trace_len;

/* Count an allocation; true when this one must fail. */
NO_ASAN static int
inject(void)
{
	if (fail_at == 0 || ++counter != fail_at)
		return 0;
	failed = 1;
	if (verbose > 1)	/* primed in main: does not allocate */
		trace_len = backtrace(trace, TRACE_MAX);
	errno = ENOMEM;
	return 1;
}

/* ---- the process's allocator ---------------------------------------- */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static void *(*next_valloc)(size_t);
static void *(*next_pvalloc)(size_t);
static size_t (*next_malloc_usable_size)(void *);

static _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_SIZE];
static volatile size_t arena_used;
static volatile int resolving;	/* dlsym is running: serve from the arena */

/* True when p was handed out from the arena. */
NO_ASAN static int
in_arena(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)arena;

	return a >= lo && a < lo + sizeof(arena);
}

/*
 * n bytes (aligned to align, a power of two up to 4096) from the arena,
 * with their size kept in the ARENA_ALIGN bytes before them; NULL when it
 * is full. Never given back.
 */
NO_ASAN static void *
arena_alloc(size_t n, size_t align)
{
	size_t off;

	if (align < ARENA_ALIGN)
		align = ARENA_ALIGN;
	off = (arena_used + ARENA_ALIGN + align - 1) & ~(align - 1);
	if (align > 4096 || off > sizeof(arena) || n > sizeof(arena) - off) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(arena + off - ARENA_ALIGN, &n, sizeof(n));
	arena_used = off + n;
	return arena + off;
}

/* The size an arena allocation was made with. */
NO_ASAN static size_t
arena_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - ARENA_ALIGN, sizeof(n));
	return n;
}

/* The next definition of name after this executable's; exits if none. */
NO_ASAN static void *
next_symbol(const char *name)
{
	void *sym = dlsym(RTLD_NEXT, name);

	if (sym == NULL) {
		static const char msg[] = "kw_fault: no next allocator\n";

		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(70);
	}
	return sym;
}

#define BIND(fp, name) do {						\
	void *sym_ = next_symbol(name);					\
	memcpy(&(fp), &sym_, sizeof(sym_));				\
} while (0)

/*
 * Find the next allocator's functions once. False while that is under
 * way (dlsym allocating): the caller serves from the arena.
 */
NO_ASAN static int
resolved(void)
{
	if (next_free != NULL)
		return 1;
	if (resolving)
		return 0;
	resolving = 1;
	BIND(next_malloc, "malloc");
	BIND(next_calloc, "calloc");
	BIND(next_realloc, "realloc");
	BIND(next_posix_memalign, "posix_memalign");
	BIND(next_aligned_alloc, "aligned_alloc");
	BIND(next_memalign, "memalign");
	BIND(next_valloc, "valloc");
	BIND(next_pvalloc, "pvalloc");
	BIND(next_malloc_usable_size, "malloc_usable_size");
	BIND(next_free, "free");	/* last: it marks the set done */
	resolving = 0;
	return 1;
}

NO_ASAN void *
malloc(size_t n)
{
	if (!resolved())
		return arena_alloc(n, ARENA_ALIGN);
	return inject() ? NULL : next_malloc(n);
}

NO_ASAN void *
calloc(size_t n, size_t size)
{
	void *p;

	if (!resolved()) {
		if (size != 0 && n > SIZE_MAX / size) {
			errno = ENOMEM;
			return NULL;
		}
		/* static storage: already zero, never reused */
		p = arena_alloc(n * size, ARENA_ALIGN);
		return p;
	}
	return inject() ? NULL : next_calloc(n, size);
}

NO_ASAN void *
realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (!resolved()) {
		if ((q = arena_alloc(n, ARENA_ALIGN)) != NULL && p != NULL) {
			old = in_arena(p) ? arena_size(p) : 0;
			memcpy(q, p, old < n ? old : n);
		}
		return q;
	}
	if (p != NULL && in_arena(p)) {
		/* out of the arena, into the real allocator */
		old = arena_size(p);
		if ((q = malloc(n)) != NULL)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	if (p != NULL && n == 0)	/* a free, not an allocation */
		return next_realloc(p, n);
	return inject() ? NULL : next_realloc(p, n);
}

NO_ASAN void
free(void *p)
{
	int saved = errno;	/* free keeps errno, as glibc's does */

	if (p == NULL || in_arena(p))
		return;
	if (resolved())
		next_free(p);
	errno = saved;
}

NO_ASAN int
posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (!resolved()) {
		if ((p = arena_alloc(n, align)) == NULL)
			return ENOMEM;
		*out = p;
		return 0;
	}
	return inject() ? ENOMEM : next_posix_memalign(out, align, n);
}

NO_ASAN void *
aligned_alloc(size_t align, size_t n)
{
	if (!resolved())
		return arena_alloc(n, align);
	return inject() ? NULL : next_aligned_alloc(align, n);
}

NO_ASAN void *
memalign(size_t align, size_t n)
{
	if (!resolved())
		return arena_alloc(n, align);
	return inject() ? NULL : next_memalign(align, n);
}

NO_ASAN void *
valloc(size_t n)
{
	if (!resolved())
		return arena_alloc(n, 4096);
	return inject() ? NULL : next_valloc(n);
}

NO_ASAN void *
pvalloc(size_t n)
{
	if (!resolved())
		return arena_alloc((n + 4095) & ~(size_t)4095, 4096);
	return inject() ? NULL : next_pvalloc(n);
}

NO_ASAN size_t
malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	if (in_arena(p))
		return arena_size(p);
	return resolved() ? next_malloc_usable_size(p) : 0;
}

NO_ASAN void *
reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * size);
}

NO_ASAN char *
strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *p;

	if ((p = malloc(len)) != NULL)
		memcpy(p, s, len);
	return p;
}

NO_ASAN char *
strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p;

	if ((p = malloc(len + 1)) != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* ---- the operations ------------------------------------------------- */

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

/* With KW_FAULT_VERBOSE: what point n did to the operation. */
static void
report(const char *op, long n, int rc, const struct kw_error *e)
{
	if (verbose == 0 || !failed)
		return;
	if (rc != 0)
		printf("%s: point %ld: %s\n", op, n, kw_error_text(e));
	else
		printf("%s: point %ld: succeeded all the same\n", op, n);
	if (verbose > 1) {
		fflush(stdout);
		backtrace_symbols_fd(trace, trace_len, 1);
	}
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

/*
 * Session open with each allocation failing in turn. When deny is set the
 * policy refuses the user: every point must refuse too (a failure that
 * opens the session is a fail-open, e.g. a group lookup that lost the
 * denied group).
 */
static int
run_session(const char *conf, const char *user, const char *secret,
    int deny)
{
	const char *op = deny ? "denied session" : "session";
	struct kw_session_params p;
	struct kw_session_info info;
	struct kw_config cfg;
	struct kw_error e;
	int rc, base, keys, bad = 0;
	long n;

	if (kw_config_load(&cfg, conf, &e) != 0) {
		printf("%s: %s\n", op, kw_error_text(&e));
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.user = user;
	p.service = "kw-fault";
	p.warn = quiet;
	/* warm up once: library state made once is not what is tested */
	rc = kw_session_open(&cfg, &p, &info, &e);
	if (deny && rc != KW_EDENIED) {
		printf("%s: warm-up: %s\n", op, rc == 0 ?
		    "opened, but the policy should deny it" :
		    kw_error_text(&e));
		if (rc == 0)
			kw_session_close(&cfg, info.id, &p, &e);
		kw_config_free(&cfg);
		return 1;
	}
	if (!deny && rc != 0) {
		printf("%s: warm-up: %s\n", op, kw_error_text(&e));
		kw_config_free(&cfg);
		return 1;
	}
	if (!deny)
		kw_session_close(&cfg, info.id, &p, &e);
	base = dir_entries(cfg.run_dir);
	keys = live_keys(secret);	/* other sessions' (none in the test) */
	for (n = 1; n < MAX_POINTS; n++) {
		kw_error_clear(&e);
		arm(n);
		rc = kw_session_open(&cfg, &p, &info, &e);
		disarm();
		report(op, n, rc, &e);
		if (!failed && rc == (deny ? KW_EDENIED : 0))
			break;		/* every allocation point passed */
		if (rc == 0) {
			if (deny) {
				printf("%s: point %ld: opened although the "
				    "policy denies it\n", op, n);
				bad = 1;
			} else if (live_keys(secret) != keys + 1) {
				/* survived: must be a whole session */
				printf("%s: point %ld: opened without its "
				    "key\n", op, n);
				bad = 1;
			}
			if (kw_session_close(&cfg, info.id, &p, &e) != 0) {
				printf("%s: point %ld: closing the session: "
				    "%s\n", op, n, kw_error_text(&e));
				bad = 1;
			}
			continue;
		}
		if (!clear_error(op, n, rc, &e))
			bad = 1;
		if (live_keys(secret) != keys) {
			printf("%s: point %ld: a key was left after: %s\n", op,
			    n, kw_error_text(&e));
			bad = 1;
		}
		if (dir_entries(cfg.run_dir) != base) {
			printf("%s: point %ld: the registry changed after: "
			    "%s\n", op, n, kw_error_text(&e));
			bad = 1;
		}
	}
	if (failed || rc != (deny ? KW_EDENIED : 0)) {
		printf("%s: never %s\n", op, deny ? "denied" : "succeeded");
		bad = 1;
	} else if (!deny) {
		kw_session_close(&cfg, info.id, &p, &e);
	}
	kw_config_free(&cfg);
	if (!bad)
		printf("%s: %ld allocation points, each failed once: ok\n", op,
		    n - 1);
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
		report("vault", n, rc, &e);
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
		report("audit", n, rc, &e);
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

/*
 * True when glibc's own allocations come here: an asprintf (whose buffer
 * glibc allocates inside) is counted. False when something else took
 * malloc over, such as valgrind without
 * --soname-synonyms=somalloc=nouserintercepts: every operation would then
 * pass with no point failed.
 */
static int
allocator_is_ours(void)
{
	char *s = NULL;
	int n;

	arm(LONG_MAX);
	n = asprintf(&s, "%d", 1);
	disarm();
	if (n > 0)
		free(s);
	return counter > 0;
}

int
main(int argc, char **argv)
{
	const char *v = getenv("KW_FAULT_VERBOSE");

	verbose = v != NULL ? (int)strtol(v, NULL, 10) : 0;
	if (verbose > 1)
		backtrace(trace, 1);	/* loads the unwinder now */
	if (!allocator_is_ours()) {
		fprintf(stderr, "kw_fault: glibc's allocations do not reach "
		    "this program's malloc (under valgrind, add "
		    "--soname-synonyms=somalloc=nouserintercepts)\n");
		return 1;
	}
	if (argc == 5 && strcmp(argv[1], "session") == 0)
		return run_session(argv[2], argv[3], argv[4], 0);
	if (argc == 5 && strcmp(argv[1], "denied-session") == 0)
		return run_session(argv[2], argv[3], argv[4], 1);
	if (argc == 4 && strcmp(argv[1], "vault") == 0)
		return run_vault(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "audit") == 0)
		return run_audit(argv[2]);
	fprintf(stderr, "usage: kw_fault session|denied-session CONF USER "
	    "SECRET | vault CONF SECRET | audit required|best-effort\n");
	return 2;
}
