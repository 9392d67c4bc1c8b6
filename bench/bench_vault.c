/*
 * bench_vault.c - what the PAM module pays per session open: open the
 * vault, look one secret up and decrypt it, for vaults of 100 and 10,000
 * secrets. The floor is the bare system calls reading the same bytes
 * (open, pread of the header, the fence, the names probed, the entry and
 * the record, close). Also prints the growth 10k/100.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "vault.h"

#define VALUE_LEN 40
#define HDR_LEN 128	/* docs/vault-format.md */
#define ENT_LEN 512
#define NAME_LEN 64
#define FENCE_EVERY 64

struct ctx {
	char path[PATH_MAX];
	unsigned char key[KW_MASTER_KEY_LEN];
	unsigned long n;
};

/* The secret looked up in iteration i. */
static unsigned long
target(const struct ctx *c, unsigned long i)
{
	return (i * 7919UL) % c->n;
}

/* One session's worth of vault work. */
static void
op_vault(void *arg, unsigned long i)
{
	struct ctx *c = arg;
	struct kw_vault *v = NULL;
	struct kw_secret *s = NULL;
	struct kw_error e;
	char name[32];

	snprintf(name, sizeof(name), "secret-%05lu", target(c, i));
	if (kw_vault_open(c->path, c->key, &v, &e) != 0 ||
	    kw_vault_get(v, name, 0, &s, &e) != 0 || s->len != VALUE_LEN)
		bench_die(name, kw_error_text(&e));
	kw_secret_free(s);
	kw_vault_close(v);
}

/*
 * The same bytes with bare system calls: open, the header, the fence, the
 * names the bucket search probes, the entry found, the record, close.
 */
static void
op_floor(void *arg, unsigned long i)
{
	struct ctx *c = arg;
	unsigned char buf[ENT_LEN], *fence;
	unsigned long lo, hi, mid, t = target(c, i);
	size_t flen = (c->n + FENCE_EVERY - 1) / FENCE_EVERY * NAME_LEN;
	off_t index_off = HDR_LEN + (off_t)flen;
	int fd;

	if ((fence = malloc(flen)) == NULL)
		bench_die("malloc", "failed");
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || pread(fd, buf, HDR_LEN, 0) != HDR_LEN ||
	    pread(fd, fence, flen, HDR_LEN) != (ssize_t)flen)
		bench_die(c->path, "read");
	lo = t / FENCE_EVERY * FENCE_EVERY;
	hi = lo + FENCE_EVERY < c->n ? lo + FENCE_EVERY : c->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pread(fd, buf, NAME_LEN, index_off + (off_t)mid * ENT_LEN) !=
		    NAME_LEN)
			bench_die(c->path, "read");
		if (mid == t)
			break;
		if (t < mid)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (pread(fd, buf, ENT_LEN, index_off + (off_t)t * ENT_LEN) !=
	    ENT_LEN ||
	    pread(fd, buf, VALUE_LEN, index_off + (off_t)c->n * ENT_LEN +
	    (off_t)t * VALUE_LEN) != VALUE_LEN)
		bench_die(c->path, "read");
	close(fd);
	free(fence);
}

/* Make a vault of n secrets of VALUE_LEN bytes each. */
static void
make_vault(struct ctx *c, const char *dir, unsigned long n)
{
	unsigned char value[VALUE_LEN];
	struct kw_vault *v;
	struct kw_error e;
	char name[32];
	unsigned long i;

	c->n = n;
	snprintf(c->path, sizeof(c->path), "%s/vault-%lu", dir, n);
	if (kw_vault_create(c->path, c->key, &e) != 0 ||
	    kw_vault_open_locked(c->path, c->key, &v, &e) != 0)
		bench_die(c->path, kw_error_text(&e));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "secret-%05lu", i);
		memset(value, 'a' + (int)(i % 26), sizeof(value));
		if (kw_vault_add(v, name, value, sizeof(value), NULL, &e) != 0)
			bench_die(name, kw_error_text(&e));
	}
	if (kw_vault_commit(v, &e) != 0)
		bench_die(c->path, kw_error_text(&e));
	kw_vault_close(v);
}

/* Build both vaults, time them interleaved, print the bench lines. */
int
main(void)
{
	static const unsigned long sizes[2] = { 100, 10000 };
	char dir[] = "/tmp/kw-bench-vault.XXXXXX", cmd[64], name[64];
	double t[2] = { 0, 0 }, f[2] = { 0, 0 }, x;
	struct ctx c[2];
	unsigned r;
	size_t k;

	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp", "failed");
	memset(c, 0, sizeof(c));
	if (kw_random(c[0].key, sizeof(c[0].key), NULL) != 0)
		bench_die("getrandom", "failed");
	memcpy(c[1].key, c[0].key, sizeof(c[1].key));
	for (k = 0; k < 2; k++) {
		make_vault(&c[k], dir, sizes[k]);
		op_vault(&c[k], 0);	/* warm up: page cache, providers */
		op_floor(&c[k], 0);
	}
	/* interleaved rounds, best of each: both sizes see the same load */
	for (r = 0; r < 31; r++) {
		for (k = 0; k < 2; k++) {
			x = bench_time_ns(op_vault, &c[k], 300, 1) / 1000.0;
			if (r == 0 || x < t[k])
				t[k] = x;
			x = bench_time_ns(op_floor, &c[k], 300, 1) / 1000.0;
			if (r == 0 || x < f[k])
				f[k] = x;
		}
	}
	for (k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "vault_open_get_%lu", sizes[k]);
		bench_print(name, t[k], "us", f[k]);
	}
	bench_print("vault_growth_10000_over_100", t[1] / t[0], "x",
	    f[1] / f[0]);
	printf("# vault open+get: %+.1f%% from 100 to 10000 secrets "
	    "(requirement: at most +20%%)\n", (t[1] / t[0] - 1) * 100);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		bench_die(dir, "could not remove");
	return 0;
}
