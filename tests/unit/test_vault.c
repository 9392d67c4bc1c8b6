/*
 * test_vault.c - CUnit tests of the vault: the life of a secret, limits,
 * and tampering of every kind (flipped bytes, swapped, reordered, removed
 * and replayed records, truncation), wrong keys and unsafe files. Runs as
 * any user: files owned by the effective uid are accepted.
 */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kw_error.h"
#include "kw_util.h"
#include "vault.h"

static char dir[] = "/tmp/kw-test-vault.XXXXXX";
static char vpath[PATH_MAX], kpath[PATH_MAX];
static unsigned char key[KW_MASTER_KEY_LEN];

/* The values of the small vault: name, current, previous (or NULL). */
static const struct {
	const char *name, *cur, *prev;
} small[] = {
	{ "alpha", "VALUE-alpha-1", NULL },
	{ "bravo", "VALUE-bravo-2", "VALUE-bravo-1" },
	{ "charlie", "VALUE-charlie-1", NULL },
};
#define N_SMALL (sizeof(small) / sizeof(small[0]))

/* Read a whole file into a heap buffer. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *b;
	int fd = open(path, O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(fstat(fd, &st) == 0);
	b = malloc((size_t)st.st_size + 1);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(kw_read_all(fd, b, (size_t)st.st_size) ==
	    (ssize_t)st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/* Replace the contents of path (same inode, mode 0600). */
static void
spew(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(kw_write_all(fd, b, len) == 0);
	CU_ASSERT_FATAL(fchmod(fd, 0600) == 0);
	close(fd);
}

/* Open the test vault for writing. */
static struct kw_vault *
writer(void)
{
	struct kw_vault *v = NULL;
	struct kw_error e;

	CU_ASSERT_EQUAL_FATAL(kw_vault_open_locked(vpath, key, &v, &e), 0);
	return v;
}

static void assert_value(struct kw_vault *v, const char *name,
    uint32_t version, const char *want, uint32_t want_version);

/* Make the small vault: alpha, bravo (rotated once), charlie. */
static void
make_small(void)
{
	struct kw_vault *v;
	struct kw_error e;
	size_t i;

	unlink(vpath);
	CU_ASSERT_EQUAL_FATAL(kw_vault_create(vpath, key, &e), 0);
	v = writer();
	for (i = 0; i < N_SMALL; i++) {
		const char *first = small[i].prev != NULL ? small[i].prev :
		    small[i].cur;

		CU_ASSERT_EQUAL_FATAL(kw_vault_add(v, small[i].name,
		    (const unsigned char *)first, strlen(first), NULL, &e), 0);
		if (small[i].prev != NULL)
			CU_ASSERT_EQUAL_FATAL(kw_vault_rotate(v, small[i].name,
			    (const unsigned char *)small[i].cur,
			    strlen(small[i].cur), &e), 0);
	}
	CU_ASSERT_EQUAL_FATAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);
}

/*
 * Known answer: a vault written by an earlier build (fuzz/corpus/vault/
 * rotated, made by fuzz/gen_vault_seeds with the fuzzers' fixed key)
 * still opens and reads: the key derivation and the format are stable.
 */
static void
test_known_vault(void)
{
	static const char fkey[] = "keyward-fuzz-keykeyward-fuzz-key";
	char src[PATH_MAX], dst[PATH_MAX + 8];
	const char *top = getenv("top_srcdir");
	struct kw_vault *v = NULL;
	struct kw_error e;
	unsigned char *b;
	size_t len;

	snprintf(src, sizeof(src), "%s/fuzz/corpus/vault/rotated",
	    top != NULL ? top : ".");
	snprintf(dst, sizeof(dst), "%s/known", dir);
	b = slurp(src, &len);
	spew(dst, b, len);
	free(b);
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(dst,
	    (const unsigned char *)fkey, &v, &e), 0);
	assert_value(v, "openai-prod", 0, "rotated", 2);
	assert_value(v, "openai-prod", 1, "seed-value-0", 1);
	kw_vault_close(v);
	unlink(dst);
}

/* An error message must say something and hold no secret value. */
static void
assert_clean_error(const struct kw_error *e)
{
	CU_ASSERT(e->msg[0] != '\0');
	CU_ASSERT(strstr(e->msg, "VALUE-") == NULL);
}

/*
 * Examine a possibly damaged vault at vpath: verify must fail (at open or
 * in kw_vault_verify), and every get either fails with a clean error or
 * returns exactly the right value. Returns the number of gets that failed.
 */
static unsigned
assert_detected(void)
{
	struct kw_vault *v = NULL;
	struct kw_secret *s;
	struct kw_error e;
	unsigned failed = 0;
	size_t i;
	int rc;

	kw_error_clear(&e);
	rc = kw_vault_open(vpath, key, &v, &e);
	if (rc != 0) {
		CU_ASSERT(rc == KW_ECORRUPT || rc == KW_EKEY);
		assert_clean_error(&e);
		return N_SMALL;
	}
	rc = kw_vault_verify(v, &e);
	CU_ASSERT(rc == KW_ECORRUPT);
	if (rc != 0)
		assert_clean_error(&e);
	for (i = 0; i < N_SMALL; i++) {
		s = NULL;
		rc = kw_vault_get(v, small[i].name, 0, &s, &e);
		if (rc != 0) {
			CU_ASSERT(rc == KW_ECORRUPT || rc == KW_ENOTFOUND);
			CU_ASSERT(s == NULL);
			assert_clean_error(&e);
			failed++;
		} else {
			CU_ASSERT_FATAL(s != NULL);
			CU_ASSERT(s->len == strlen(small[i].cur) &&
			    memcmp(s->data, small[i].cur, s->len) == 0);
			kw_secret_free(s);
		}
		if (small[i].prev == NULL)
			continue;
		s = NULL;
		rc = kw_vault_get(v, small[i].name, 1, &s, &e);
		if (rc != 0) {
			CU_ASSERT(rc == KW_ECORRUPT || rc == KW_ENOTFOUND);
			assert_clean_error(&e);
		} else {
			CU_ASSERT(s->len == strlen(small[i].prev) &&
			    memcmp(s->data, small[i].prev, s->len) == 0);
			kw_secret_free(s);
		}
	}
	kw_vault_close(v);
	return failed;
}

/* The small vault at vpath is intact: it verifies and every value reads. */
static void
assert_intact(void)
{
	struct kw_vault *v = NULL;
	struct kw_error e;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_verify(v, &e), 0);
	for (i = 0; i < N_SMALL; i++)
		assert_value(v, small[i].name, 0, small[i].cur,
		    small[i].prev != NULL ? 2 : 1);
	kw_vault_close(v);
}

/* Fetch the current value of name and compare it. */
static void
assert_value(struct kw_vault *v, const char *name, uint32_t version,
    const char *want, uint32_t want_version)
{
	struct kw_secret *s = NULL;
	struct kw_error e;

	CU_ASSERT_EQUAL_FATAL(kw_vault_get(v, name, version, &s, &e), 0);
	CU_ASSERT_EQUAL(s->len, strlen(want));
	CU_ASSERT(memcmp(s->data, want, s->len) == 0);
	CU_ASSERT_EQUAL(s->data[s->len], '\0');
	CU_ASSERT_EQUAL(s->version, want_version);
	kw_secret_free(s);
}

/* add, get, rotate, rollback, rm, verify: versions, times, metadata. */
static void
test_lifecycle(void)
{
	struct kw_add_opts opts = { 3600, 30 * 86400, "prod key" };
	struct kw_secret_info info;
	struct kw_vault *v;
	struct kw_secret *s = NULL;
	struct kw_error e;
	time_t t0 = time(NULL);

	unlink(vpath);
	CU_ASSERT_EQUAL(kw_vault_create(vpath, key, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_create(vpath, key, &e), KW_EEXIST);

	v = writer();
	CU_ASSERT_EQUAL(kw_vault_count(v), 0);
	CU_ASSERT_EQUAL(kw_vault_add(v, "openai-prod",
	    (const unsigned char *)"sk-1", 4, &opts, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_add(v, "a.first",
	    (const unsigned char *)"x", 1, NULL, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_add(v, "openai-prod",
	    (const unsigned char *)"sk-2", 4, NULL, &e), KW_EEXIST);
	CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);

	/* a reader sees both, in name order */
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_count(v), 2);
	CU_ASSERT_EQUAL(kw_vault_info_at(v, 0, &info, &e), 0);
	CU_ASSERT_STRING_EQUAL(info.name, "a.first");
	CU_ASSERT_EQUAL(kw_vault_info_at(v, 1, &info, &e), 0);
	CU_ASSERT_STRING_EQUAL(info.name, "openai-prod");
	CU_ASSERT_EQUAL(info.version, 1);
	CU_ASSERT_EQUAL(info.prev_version, 0);
	CU_ASSERT_EQUAL(info.max_ttl, 3600);
	CU_ASSERT_EQUAL(info.rotate_every, 30 * 86400);
	CU_ASSERT_STRING_EQUAL(info.note, "prod key");
	CU_ASSERT(info.created >= t0 && info.created <= time(NULL));
	CU_ASSERT_EQUAL(info.rotated, info.created);
	CU_ASSERT_EQUAL(kw_vault_info_at(v, 2, &info, &e), KW_ENOTFOUND);
	assert_value(v, "openai-prod", 0, "sk-1", 1);
	CU_ASSERT_EQUAL(kw_vault_get(v, "missing", 0, &s, &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_vault_get(v, "0", 0, &s, &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_vault_get(v, "zzz", 0, &s, &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_vault_get(v, "openai-prod", 2, &s, &e),
	    KW_ENOTFOUND);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(kw_vault_verify(v, &e), 0);
	/* readers cannot change anything */
	CU_ASSERT_EQUAL(kw_vault_remove(v, "a.first", &e), KW_EINTERNAL);
	kw_vault_close(v);

	/* rotate keeps the previous version; rollback swaps them */
	v = writer();
	CU_ASSERT_EQUAL(kw_vault_rotate(v, "openai-prod",
	    (const unsigned char *)"sk-2", 4, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_rotate(v, "nothere",
	    (const unsigned char *)"sk-2", 4, &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_vault_rollback(v, "a.first", &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_info(v, "openai-prod", &info, &e), 0);
	CU_ASSERT_EQUAL(info.version, 2);
	CU_ASSERT_EQUAL(info.prev_version, 1);
	CU_ASSERT_STRING_EQUAL(info.note, "prod key");
	assert_value(v, "openai-prod", 0, "sk-2", 2);
	assert_value(v, "openai-prod", 1, "sk-1", 1);
	assert_value(v, "openai-prod", 2, "sk-2", 2);
	kw_vault_close(v);

	v = writer();
	CU_ASSERT_EQUAL(kw_vault_rotate(v, "openai-prod",
	    (const unsigned char *)"sk-3", 4, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_rollback(v, "openai-prod", &e), 0);
	CU_ASSERT_EQUAL(kw_vault_info(v, "openai-prod", &info, &e), 0);
	CU_ASSERT_EQUAL(info.version, 2);
	CU_ASSERT_EQUAL(info.prev_version, 3);
	assert_value(v, "openai-prod", 0, "sk-2", 2);
	/* version 1 is gone: only current and previous are kept */
	CU_ASSERT_EQUAL(kw_vault_get(v, "openai-prod", 1, &s, &e),
	    KW_ENOTFOUND);
	/* the next rotation gets a fresh number */
	CU_ASSERT_EQUAL(kw_vault_rotate(v, "openai-prod",
	    (const unsigned char *)"sk-4", 4, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_info(v, "openai-prod", &info, &e), 0);
	CU_ASSERT_EQUAL(info.version, 4);
	CU_ASSERT_EQUAL(info.prev_version, 2);
	CU_ASSERT_EQUAL(kw_vault_remove(v, "a.first", &e), 0);
	CU_ASSERT_EQUAL(kw_vault_remove(v, "a.first", &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);

	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_count(v), 1);
	CU_ASSERT_EQUAL(kw_vault_info(v, "a.first", &info, &e), KW_ENOTFOUND);
	assert_value(v, "openai-prod", 0, "sk-4", 4);
	assert_value(v, "openai-prod", 2, "sk-2", 2);
	CU_ASSERT_EQUAL(kw_vault_verify(v, &e), 0);
	kw_vault_close(v);
}

/* Value size, name and note limits. */
static void
test_limits(void)
{
	struct kw_add_opts opts = { 0, 0, NULL };
	unsigned char *big;
	char name[KW_NAME_MAX + 2], note[KW_NOTE_MAX + 2];
	struct kw_vault *v;
	struct kw_error e;

	make_small();
	v = writer();
	big = malloc(KW_SECRET_MAX + 1);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, 'b', KW_SECRET_MAX + 1);
	CU_ASSERT_EQUAL(kw_vault_add(v, "big", big, KW_SECRET_MAX + 1, NULL,
	    &e), KW_ETOOBIG);
	CU_ASSERT_EQUAL(kw_vault_add(v, "big", big, KW_SECRET_MAX, NULL, &e),
	    0);
	CU_ASSERT_EQUAL(kw_vault_rotate(v, "big", big, KW_SECRET_MAX + 1, &e),
	    KW_ETOOBIG);
	CU_ASSERT_EQUAL(kw_vault_add(v, "empty", big, 0, NULL, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_vault_rotate(v, "big", big, 0, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_vault_add(v, "", big, 1, NULL, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_vault_add(v, "-x", big, 1, NULL, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_vault_add(v, "a/b", big, 1, NULL, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_vault_add(v, "a b", big, 1, NULL, &e), KW_EINVAL);
	CU_ASSERT_EQUAL(kw_vault_add(v, "../x", big, 1, NULL, &e), KW_EINVAL);
	memset(name, 'n', sizeof(name));
	name[KW_NAME_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(kw_vault_add(v, name, big, 1, NULL, &e), KW_EINVAL);
	name[KW_NAME_MAX] = '\0';
	CU_ASSERT_EQUAL(kw_vault_add(v, name, big, 1, NULL, &e), 0);
	memset(note, 'o', sizeof(note));
	note[KW_NOTE_MAX + 1] = '\0';
	opts.note = note;
	CU_ASSERT_EQUAL(kw_vault_add(v, "noted", big, 1, &opts, &e),
	    KW_ETOOBIG);
	note[KW_NOTE_MAX] = '\0';
	CU_ASSERT_EQUAL(kw_vault_add(v, "noted", big, 1, &opts, &e), 0);
	opts.note = "bad\nnote";
	CU_ASSERT_EQUAL(kw_vault_add(v, "noted2", big, 1, &opts, &e),
	    KW_EINVAL);
	CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);

	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_verify(v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_count(v), N_SMALL + 3);
	{
		struct kw_secret *s = NULL;
		struct kw_secret_info info;

		CU_ASSERT_EQUAL(kw_vault_get(v, "big", 0, &s, &e), 0);
		CU_ASSERT_EQUAL(s->len, KW_SECRET_MAX);
		CU_ASSERT(memcmp(s->data, big, KW_SECRET_MAX) == 0);
		kw_secret_free(s);
		CU_ASSERT_EQUAL(kw_vault_info(v, name, &info, &e), 0);
		CU_ASSERT_EQUAL(kw_vault_info(v, "noted", &info, &e), 0);
		CU_ASSERT_EQUAL(strlen(info.note), KW_NOTE_MAX);
	}
	kw_vault_close(v);
	free(big);
}

/* Flip every byte of the small vault in turn. */
static void
test_flip_every_byte(void)
{
	unsigned char *orig;
	size_t len, i;
	unsigned get_failures = 0;

	make_small();
	orig = slurp(vpath, &len);
	for (i = 0; i < len; i++) {
		orig[i] ^= 0xff;
		spew(vpath, orig, len);
		get_failures += assert_detected() > 0;
		orig[i] ^= 0xff;
	}
	/* flips in the header break every get; in an entry or record that
	 * entry's get: most flips must stop at least one get */
	CU_ASSERT(get_failures > len / 2);
	spew(vpath, orig, len);
	assert_intact();
	free(orig);
}

/* Sizes of the small vault's parts (docs/vault-format.md). */
#define HDR 128
#define FENCE 64
#define IDX (HDR + FENCE)
#define ENT 512
#define DATA (IDX + N_SMALL * ENT)

/* Swap n bytes at a and b inside buf. */
static void
swap_bytes(unsigned char *buf, size_t a, size_t b, size_t n)
{
	unsigned char tmp[ENT];

	memcpy(tmp, buf + a, n);
	memmove(buf + a, buf + b, n);
	memcpy(buf + b, tmp, n);
}

/* Swapped records, swapped and reordered entries, a removed entry. */
static void
test_swap_reorder_remove(void)
{
	unsigned char *orig, *t;
	size_t len;

	make_small();
	orig = slurp(vpath, &len);
	CU_ASSERT_FATAL(len == DATA + 13 + 13 + 13 + 15);
	t = malloc(len);
	CU_ASSERT_FATAL(t != NULL);

	/* records of the same length swapped: alpha's and bravo's current */
	memcpy(t, orig, len);
	swap_bytes(t, DATA, DATA + 13, 13);
	spew(vpath, t, len);
	CU_ASSERT_EQUAL(assert_detected(), 2);

	/* bravo's two versions swapped */
	memcpy(t, orig, len);
	swap_bytes(t, DATA + 13, DATA + 26, 13);
	spew(vpath, t, len);
	CU_ASSERT_EQUAL(assert_detected(), 1);

	/* index entries swapped: alpha <-> charlie */
	memcpy(t, orig, len);
	swap_bytes(t, IDX, IDX + 2 * ENT, ENT);
	spew(vpath, t, len);
	CU_ASSERT(assert_detected() >= 2);

	/* entries reordered: (alpha, bravo, charlie) -> (bravo, charlie,
	 * alpha) */
	memcpy(t, orig, len);
	memcpy(t + HDR, orig + IDX + ENT, 2 * ENT);
	memcpy(t + IDX + 2 * ENT, orig + IDX, ENT);
	spew(vpath, t, len);
	CU_ASSERT_EQUAL(assert_detected(), N_SMALL);

	/* the last entry removed (the file shortened accordingly) */
	memcpy(t, orig, IDX + 2 * ENT);
	/* cppcheck-suppress sizeofDivisionMemfunc ; offsets, not a division */
	memcpy(t + IDX + 2 * ENT, orig + DATA, len - DATA);
	spew(vpath, t, len - ENT);
	CU_ASSERT_EQUAL(assert_detected(), N_SMALL);

	/* one entry duplicated over another */
	memcpy(t, orig, len);
	memcpy(t + IDX + 2 * ENT, orig + IDX + ENT, ENT);
	spew(vpath, t, len);
	CU_ASSERT(assert_detected() >= 1);

	spew(vpath, orig, len);
	assert_intact();
	free(t);
	free(orig);
}

/* Entries of an older generation of the same vault are refused. */
static void
test_replay(void)
{
	unsigned char *a, *b, *t;
	size_t alen, blen;
	struct kw_vault *v;
	struct kw_secret *s = NULL;
	struct kw_error e;

	make_small();
	a = slurp(vpath, &alen);
	/* generation B: bravo rolled back (same layout, other contents) */
	v = writer();
	CU_ASSERT_EQUAL(kw_vault_rollback(v, "bravo", &e), 0);
	CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);
	b = slurp(vpath, &blen);
	CU_ASSERT_FATAL(alen == blen);
	CU_ASSERT(memcmp(a + 40, b + 40, 16) != 0);	/* new generation */
	t = malloc(blen);
	CU_ASSERT_FATAL(t != NULL);

	/* B with A's bravo entry: replays the old current version */
	memcpy(t, b, blen);
	memcpy(t + IDX + ENT, a + IDX + ENT, ENT);
	spew(vpath, t, blen);
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_get(v, "bravo", 0, &s, &e), KW_ECORRUPT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT(strstr(e.msg, "index entry 1") != NULL);
	CU_ASSERT_EQUAL(kw_vault_verify(v, &e), KW_ECORRUPT);
	kw_vault_close(v);

	/* A's header over B's index and records */
	memcpy(t, b, blen);
	memcpy(t, a, HDR);
	spew(vpath, t, blen);
	CU_ASSERT_EQUAL(assert_detected(), N_SMALL);

	/* B's header over A's index and records */
	memcpy(t, a, alen);
	memcpy(t, b, HDR);
	spew(vpath, t, alen);
	CU_ASSERT_EQUAL(assert_detected(), N_SMALL);

	/* the untouched B still reads, with bravo rolled back */
	spew(vpath, b, blen);
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_verify(v, &e), 0);
	assert_value(v, "bravo", 0, "VALUE-bravo-1", 1);
	kw_vault_close(v);
	free(t);
	free(a);
	free(b);
}

/* A vault cut at every length (or extended) is refused, never crashes. */
static void
test_truncated(void)
{
	unsigned char *orig, *grown;
	struct kw_vault *v = NULL;
	struct kw_error e;
	size_t len, i;
	int rc;

	make_small();
	orig = slurp(vpath, &len);
	for (i = 0; i < len; i++) {
		spew(vpath, orig, i);
		rc = kw_vault_open(vpath, key, &v, &e);
		CU_ASSERT(rc == KW_ECORRUPT);
		CU_ASSERT_PTR_NULL(v);
		assert_clean_error(&e);
		CU_ASSERT(strstr(e.msg, vpath) != NULL);
		CU_ASSERT_EQUAL(kw_vault_open_locked(vpath, key, &v, &e),
		    KW_ECORRUPT);
	}
	grown = realloc(orig, len + 1);
	CU_ASSERT_FATAL(grown != NULL);
	orig = grown;
	orig[len] = 0;
	spew(vpath, orig, len + 1);
	CU_ASSERT_EQUAL(kw_vault_open(vpath, key, &v, &e), KW_ECORRUPT);
	spew(vpath, orig, len);
	assert_intact();
	free(orig);
}

/* A wrong master key is a clear KW_EKEY naming the vault. */
static void
test_wrong_key(void)
{
	unsigned char other[KW_MASTER_KEY_LEN];
	struct kw_vault *v = NULL;
	struct kw_error e;

	make_small();
	memcpy(other, key, sizeof(other));
	other[7] ^= 1;
	CU_ASSERT_EQUAL(kw_vault_open(vpath, other, &v, &e), KW_EKEY);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT(strstr(e.msg, vpath) != NULL);
	CU_ASSERT(strstr(e.msg, "wrong master key") != NULL);
	CU_ASSERT_EQUAL(kw_vault_open_locked(vpath, other, &v, &e), KW_EKEY);
	assert_intact();
}

/* Master key files: exact size, secret mode, no symlink. */
static void
test_master_key_file(void)
{
	unsigned char k[KW_MASTER_KEY_LEN], buf[40];
	char p[PATH_MAX], l[PATH_MAX];
	struct kw_error e;

	memset(buf, 0x42, sizeof(buf));
	snprintf(p, sizeof(p), "%s/mk", dir);
	snprintf(l, sizeof(l), "%s/mk-link", dir);
	spew(p, buf, 31);
	CU_ASSERT_EQUAL(kw_master_key_load(p, k, &e), KW_EKEY);
	CU_ASSERT(strstr(e.msg, p) != NULL);
	spew(p, buf, 33);
	CU_ASSERT_EQUAL(kw_master_key_load(p, k, &e), KW_EKEY);
	spew(p, buf, 0);
	CU_ASSERT_EQUAL(kw_master_key_load(p, k, &e), KW_EKEY);
	spew(p, buf, 32);
	CU_ASSERT_EQUAL(kw_master_key_load(p, k, &e), 0);
	CU_ASSERT(memcmp(k, buf, 32) == 0);
	CU_ASSERT_EQUAL(chmod(p, 0400), 0);
	CU_ASSERT_EQUAL(kw_master_key_load(p, k, &e), 0);
	CU_ASSERT_EQUAL(chmod(p, 0440), 0);
	CU_ASSERT_EQUAL(kw_master_key_load(p, k, &e), KW_EUNSAFE);
	CU_ASSERT(strstr(e.msg, p) != NULL);
	CU_ASSERT_EQUAL(chmod(p, 0604), 0);
	CU_ASSERT_EQUAL(kw_master_key_load(p, k, &e), KW_EUNSAFE);
	CU_ASSERT_EQUAL(chmod(p, 0600), 0);
	CU_ASSERT_EQUAL(symlink(p, l), 0);
	CU_ASSERT_EQUAL(kw_master_key_load(l, k, &e), KW_EUNSAFE);
	CU_ASSERT(strstr(e.msg, "symbolic link") != NULL);
	snprintf(l + strlen(l), sizeof(l) - strlen(l), "-none");
	CU_ASSERT_EQUAL(kw_master_key_load(l, k, &e), KW_ENOTFOUND);
	CU_ASSERT_EQUAL(kw_master_key_load("relative/key", k, &e), KW_EINVAL);
}

/* Vault files: secret mode, regular file, no symlink. */
static void
test_unsafe_vault(void)
{
	static const mode_t bad[] = { 0640, 0604, 0620, 0602, 0644, 0666 };
	char l[PATH_MAX];
	struct kw_vault *v = NULL;
	struct kw_error e;
	size_t i;

	make_small();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(chmod(vpath, bad[i]), 0);
		CU_ASSERT_EQUAL(kw_vault_open(vpath, key, &v, &e), KW_EUNSAFE);
		CU_ASSERT(strstr(e.msg, vpath) != NULL);
		CU_ASSERT_EQUAL(kw_vault_open_locked(vpath, key, &v, &e),
		    KW_EUNSAFE);
	}
	CU_ASSERT_EQUAL(chmod(vpath, 0400), 0);
	assert_intact();
	CU_ASSERT_EQUAL(chmod(vpath, 0600), 0);
	snprintf(l, sizeof(l), "%s/vault-link", dir);
	CU_ASSERT_EQUAL(symlink(vpath, l), 0);
	CU_ASSERT_EQUAL(kw_vault_open(l, key, &v, &e), KW_EUNSAFE);
	CU_ASSERT(strstr(e.msg, "symbolic link") != NULL);
	CU_ASSERT_EQUAL(kw_vault_open(dir, key, &v, &e), KW_EUNSAFE);
	snprintf(l, sizeof(l), "%s/no-such-vault", dir);
	CU_ASSERT_EQUAL(kw_vault_open(l, key, &v, &e), KW_ENOTFOUND);
	CU_ASSERT_PTR_NULL(v);
}

/* The next writer removes the temporary files of killed writers. */
static void
test_stale_temps(void)
{
	char stale[PATH_MAX + 32], other[PATH_MAX + 32];
	struct kw_vault *v;

	make_small();
	snprintf(stale, sizeof(stale), "%s.tmp.Ab12Zx", vpath);
	snprintf(other, sizeof(other), "%s.tmp.not-ours", vpath);
	spew(stale, "partial", 7);
	spew(other, "keep", 4);
	v = writer();
	CU_ASSERT_EQUAL(access(stale, F_OK), -1);
	CU_ASSERT_EQUAL(access(other, F_OK), 0);
	kw_vault_close(v);
	unlink(other);
	assert_intact();
}

/* Writers exclude each other; a reader keeps a consistent view. */
static void
test_lock_and_readers(void)
{
	struct kw_vault *v, *r;
	struct kw_secret_info info;
	struct kw_error e;
	int p[2];
	pid_t pid;
	char c;

	make_small();
	CU_ASSERT_FATAL(pipe(p) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if (kw_vault_open_locked(vpath, key, &v, &e) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		usleep(300000);
		if (kw_vault_add(v, "from-child",
		    (const unsigned char *)"c", 1, NULL, &e) != 0 ||
		    kw_vault_commit(v, &e) != 0)
			_exit(1);
		kw_vault_close(v);
		_exit(0);
	}
	close(p[1]);
	CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
	close(p[0]);
	/* a reader opened now sees the vault before the child's change */
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &r, &e), 0);
	/* blocks until the child commits and releases the lock */
	v = writer();
	CU_ASSERT_EQUAL(kw_vault_info(v, "from-child", &info, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_rotate(v, "alpha",
	    (const unsigned char *)"new", 3, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);
	{
		int status = -1;

		CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CU_ASSERT_EQUAL(kw_vault_info(r, "from-child", &info, &e),
	    KW_ENOTFOUND);
	assert_value(r, "alpha", 0, "VALUE-alpha-1", 1);
	CU_ASSERT_EQUAL(kw_vault_verify(r, &e), 0);
	kw_vault_close(r);
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &r, &e), 0);
	assert_value(r, "alpha", 0, "new", 2);
	CU_ASSERT_EQUAL(kw_vault_count(r), N_SMALL + 1);
	kw_vault_close(r);
}

/*
 * A reader takes the fence from its first read (4 KiB) when it fits there
 * (up to 62 fence names: 3,968 secrets) and reads it itself beyond: both
 * sides of the edge find the first, a middle and the last secret, and
 * miss the absent ones before, between and after.
 */
static void
test_fence_edge(void)
{
	static const int counts[] = { 3968, 3969 };
	struct kw_vault *v;
	struct kw_secret *s = NULL;
	struct kw_error e;
	char name[32], val[32];
	size_t c;
	int i, have = 0;

	unlink(vpath);
	CU_ASSERT_EQUAL_FATAL(kw_vault_create(vpath, key, &e), 0);
	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		v = writer();
		for (i = have; i < counts[c]; i++) {
			snprintf(name, sizeof(name), "f%05d", i * 2);
			snprintf(val, sizeof(val), "v%d", i * 2);
			CU_ASSERT_EQUAL(kw_vault_add(v, name,
			    (const unsigned char *)val, strlen(val), NULL, &e),
			    0);
		}
		have = counts[c];
		CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
		kw_vault_close(v);
		CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
		CU_ASSERT_EQUAL(kw_vault_count(v), (size_t)have);
		for (i = 0; i < have; i += have / 2 > 0 ? have / 2 : 1) {
			snprintf(name, sizeof(name), "f%05d", i * 2);
			snprintf(val, sizeof(val), "v%d", i * 2);
			assert_value(v, name, 0, val, 1);
		}
		snprintf(name, sizeof(name), "f%05d", (have - 1) * 2);
		snprintf(val, sizeof(val), "v%d", (have - 1) * 2);
		assert_value(v, name, 0, val, 1);
		CU_ASSERT_EQUAL(kw_vault_get(v, "a", 0, &s, &e), KW_ENOTFOUND);
		CU_ASSERT_EQUAL(kw_vault_get(v, "f00001", 0, &s, &e),
		    KW_ENOTFOUND);
		CU_ASSERT_EQUAL(kw_vault_get(v, "z", 0, &s, &e), KW_ENOTFOUND);
		kw_vault_close(v);
	}
}

/* A vault with many secrets: order, lookups at both ends, absence. */
static void
test_many(void)
{
	struct kw_secret_info info;
	struct kw_vault *v;
	struct kw_secret *s = NULL;
	struct kw_error e;
	char name[32], val[32];
	int i;

	unlink(vpath);
	CU_ASSERT_EQUAL_FATAL(kw_vault_create(vpath, key, &e), 0);
	v = writer();
	/* inserted in a scrambled order */
	for (i = 0; i < 500; i++) {
		int k = (i * 7919) % 500;

		snprintf(name, sizeof(name), "s%04d", k * 2);
		snprintf(val, sizeof(val), "v%d", k * 2);
		CU_ASSERT_EQUAL(kw_vault_add(v, name,
		    (const unsigned char *)val, strlen(val), NULL, &e), 0);
	}
	CU_ASSERT_EQUAL(kw_vault_commit(v, &e), 0);
	kw_vault_close(v);
	CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
	CU_ASSERT_EQUAL(kw_vault_count(v), 500);
	CU_ASSERT_EQUAL(kw_vault_verify(v, &e), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "s%04d", i);
		if (i % 2 == 0) {
			snprintf(val, sizeof(val), "v%d", i);
			assert_value(v, name, 0, val, 1);
		} else {
			CU_ASSERT_EQUAL(kw_vault_get(v, name, 0, &s, &e),
			    KW_ENOTFOUND);
		}
	}
	CU_ASSERT_EQUAL(kw_vault_info_at(v, 0, &info, &e), 0);
	CU_ASSERT_STRING_EQUAL(info.name, "s0000");
	CU_ASSERT_EQUAL(kw_vault_info_at(v, 499, &info, &e), 0);
	CU_ASSERT_STRING_EQUAL(info.name, "s0998");
	/*
	 * The same handle again, backwards: entries found before (kept by
	 * position, 128 at most, so most were replaced) read the same.
	 */
	for (i = 998; i >= 0; i -= 2) {
		snprintf(name, sizeof(name), "s%04d", i);
		snprintf(val, sizeof(val), "v%d", i);
		CU_ASSERT_EQUAL(kw_vault_info(v, name, &info, &e), 0);
		CU_ASSERT_STRING_EQUAL(info.name, name);
		assert_value(v, name, 0, val, 1);
	}
	/*
	 * A record that fails authentication does not spoil the handle's
	 * decryption of the next ones: the file's last byte (the end of the
	 * last record's ciphertext: s0998's, records lie in name order)
	 * flipped in place; a handle reads s0998 first, refused, then every
	 * other secret, which all read. Flipped back, every one reads again.
	 * A handle may keep ciphertext it read ahead (the file it reads never
	 * changes: writers replace it), so each state gets a fresh handle.
	 */
	{
		int fd = open(vpath, O_RDWR), bad = 0, k;
		off_t end = lseek(fd, 0, SEEK_END);
		unsigned char c;

		CU_ASSERT_FATAL(fd >= 0 && end > 0);
		CU_ASSERT_FATAL(pread(fd, &c, 1, end - 1) == 1);
		c ^= 0x01;
		CU_ASSERT_FATAL(pwrite(fd, &c, 1, end - 1) == 1);
		kw_vault_close(v);
		v = NULL;
		CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
		for (k = 0; k < 1000; k += 2) {
			i = k == 0 ? 998 : k - 2;	/* s0998 first */
			snprintf(name, sizeof(name), "s%04d", i);
			if (kw_vault_get(v, name, 0, &s, &e) == KW_ECORRUPT) {
				CU_ASSERT_EQUAL(i, 998);
				bad++;
			} else {
				kw_secret_free(s);
			}
			s = NULL;
		}
		CU_ASSERT_EQUAL(bad, 1);
		c ^= 0x01;
		CU_ASSERT_FATAL(pwrite(fd, &c, 1, end - 1) == 1);
		close(fd);
		kw_vault_close(v);
		v = NULL;
		CU_ASSERT_EQUAL_FATAL(kw_vault_open(vpath, key, &v, &e), 0);
		for (i = 0; i < 1000; i += 2) {
			snprintf(name, sizeof(name), "s%04d", i);
			snprintf(val, sizeof(val), "v%d", i);
			assert_value(v, name, 0, val, 1);
		}
	}
	kw_vault_close(v);
}

/* Run the suite in a private directory with a random master key. */
int
main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "lifecycle", test_lifecycle },
		{ "limits", test_limits },
		{ "flip every byte", test_flip_every_byte },
		{ "swap, reorder, remove", test_swap_reorder_remove },
		{ "replay of an older generation", test_replay },
		{ "truncated at every length", test_truncated },
		{ "wrong master key", test_wrong_key },
		{ "master key file", test_master_key_file },
		{ "unsafe vault file", test_unsafe_vault },
		{ "stale temporary files", test_stale_temps },
		{ "lock and readers", test_lock_and_readers },
		{ "many secrets", test_many },
		{ "fence at the edge of the first read", test_fence_edge },
		{ "a vault of an earlier build", test_known_vault },
	};
	CU_pSuite suite;
	unsigned fails;
	size_t i;
	int fd;
	char cmd[PATH_MAX + 16];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(vpath, sizeof(vpath), "%s/vault", dir);
	snprintf(kpath, sizeof(kpath), "%s/master.key", dir);
	if (kw_random(key, sizeof(key), NULL) != 0)
		return 1;
	fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL, 0400);
	if (fd < 0 || kw_write_all(fd, key, sizeof(key)) != 0)
		return 1;
	close(fd);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("vault", NULL, NULL);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return fails == 0 ? 0 : 1;
}
