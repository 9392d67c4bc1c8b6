/*
 * bench_session.c - make bench: the cost of opening a keyward session
 * (kw_session_open: policy, vault, fresh session keyring, delivery,
 * registry, audit) for 1, 10 and 100 granted secrets out of a vault of 100
 * and of 10,000 secrets. The floor, measured in the same run, is the bare
 * system calls of the same delivery: a fresh session keyring, then
 * add_key + keyctl_setperm + keyctl_set_timeout per key.
 *
 * The floor and the two vaults are measured in alternating rounds (the
 * vaults' order swapped each round) and each reported as the median of
 * its rounds' means: load from elsewhere on the machine, and the kernel's
 * work after a round (freeing revoked keys and dropped keyrings), fall on
 * all three alike instead of on whichever ran first.
 *
 * Prints "bench <name> <value> <unit> floor=<value> ratio=<value>".
 * Targets: open <= 1.5 x floor + 300 us; 100 -> 10,000 growth <= 20 %.
 * Runs as root in a private staging directory with audit = best-effort.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <keyutils.h>

#include "audit.h"
#include "bench.h"
#include "keyring.h"
#include "kw_config.h"
#include "kw_util.h"
#include "session.h"
#include "vault.h"

#define ROUNDS 15	/* alternating rounds of floor and both vaults */

static char dir[] = "/tmp/kw-bench-session.XXXXXX";

/* Write a small file; exits on failure (a benchmark, not the core). */
static void
put(const char *path, const void *data, size_t len, mode_t mode)
{
	struct kw_error e;

	if (kw_atomic_write(path, data, len, mode, 0, &e) != 0) {
		fprintf(stderr, "bench_session: %s\n", kw_error_text(&e));
		exit(1);
	}
}

/* A staging install with a vault of n secrets s00000..; fills cfg. */
static void
setup(size_t n, const char *sub, struct kw_config *cfg)
{
	unsigned char mkey[KW_MASTER_KEY_LEN], akey[32], val[40];
	char etc[PATH_MAX], path[PATH_MAX + 32], conf[4 * PATH_MAX], name[16];
	struct kw_vault *v = NULL;
	struct kw_error e;
	size_t i;

	snprintf(etc, sizeof(etc), "%s/%s", dir, sub);
	if (mkdir(etc, 0755) != 0) {
		perror("bench_session: mkdir");
		exit(1);
	}
	if (kw_random(mkey, sizeof(mkey), &e) != 0 ||
	    kw_random(akey, sizeof(akey), &e) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/master.key", etc);
	put(path, mkey, sizeof(mkey), 0400);
	snprintf(path, sizeof(path), "%s/audit.key", etc);
	put(path, akey, sizeof(akey), 0400);
	snprintf(conf, sizeof(conf), "audit = best-effort\n"
	    "vault = %s/vault\nrun_dir = %s/run\n", etc, etc);
	snprintf(path, sizeof(path), "%s/keyward.conf", etc);
	put(path, conf, strlen(conf), 0644);
	snprintf(path, sizeof(path), "%s/vault", etc);
	if (kw_vault_create(path, mkey, &e) != 0 ||
	    kw_vault_open_locked(path, mkey, &v, &e) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "s%05zu", i);
		if (kw_random(val, sizeof(val), &e) != 0 ||
		    kw_vault_add(v, name, val, sizeof(val), NULL, &e) != 0)
			goto fail;
	}
	if (kw_vault_commit(v, &e) != 0)
		goto fail;
	kw_vault_close(v);
	snprintf(path, sizeof(path), "%s/keyward.conf", etc);
	if (kw_config_load(cfg, path, &e) != 0)
		goto fail;
	return;
fail:
	fprintf(stderr, "bench_session: %s\n", kw_error_text(&e));
	exit(1);
}

/* Grant the first n secrets to root, by name. */
static void
grant(const struct kw_config *cfg, size_t n)
{
	char text[2048];
	size_t i, len;

	len = (size_t)snprintf(text, sizeof(text), "allow user=root secrets=");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%ss%05zu", i > 0 ? "," : "", i);
	snprintf(text + len, sizeof(text) - len, " ttl=1h\n");
	put(cfg->policy, text, strlen(text), 0644);
}

/* Mean microseconds of one kw_session_open() (close not timed). */
static double
time_open(const struct kw_config *cfg, size_t n, int reps)
{
	struct kw_session_params p;
	struct kw_session_info info;
	struct kw_error e;
	double t, total = 0;
	int i;

	memset(&p, 0, sizeof(p));
	p.user = "root";
	p.service = "bench";
	for (i = 0; i < reps; i++) {
		t = bench_now_ns() / 1e3;
		if (kw_session_open(cfg, &p, &info, &e) != 0) {
			fprintf(stderr, "bench_session: %s\n",
			    kw_error_text(&e));
			exit(1);
		}
		total += bench_now_ns() / 1e3 - t;
		if (info.n_keys != n) {
			fprintf(stderr, "bench_session: %zu keys, not %zu\n",
			    info.n_keys, n);
			exit(1);
		}
		if (kw_session_close(cfg, info.id, &p, &e) != 0) {
			fprintf(stderr, "bench_session: %s\n",
			    kw_error_text(&e));
			exit(1);
		}
	}
	return total / reps;
}

/* Mean microseconds of the bare system calls for n keys. */
static double
time_floor(size_t n, int reps)
{
	key_serial_t ring, k[100];
	char desc[32], val[40] = { 0 };
	double t, total = 0;
	size_t j;
	int i;

	for (i = 0; i < reps; i++) {
		t = bench_now_ns() / 1e3;
		ring = keyctl_join_session_keyring(NULL);
		for (j = 0; j < n; j++) {
			snprintf(desc, sizeof(desc), "keyward:f%05zu", j);
			k[j] = add_key("user", desc, val, sizeof(val), ring);
			if (k[j] < 0 ||
			    keyctl_set_timeout(k[j], 3600) < 0 ||
			    keyctl_setperm(k[j], KW_KEY_PERM) < 0) {
				perror("bench_session: floor");
				exit(1);
			}
		}
		total += bench_now_ns() / 1e3 - t;
		for (j = 0; j < n; j++)
			keyctl_revoke(k[j]);
	}
	return total / reps;
}

/*
 * The same opens (vault of 100) with audit = required (readiness check of
 * the status and the kernel rule list, confirmed records) against audit =
 * best-effort, alternated over rounds and the best of each kept, so that
 * load from elsewhere on the machine hits both alike. Prints the audit's
 * share of the cost. Needs auditd and keyward's rules (make bench loads
 * them).
 */
static void
audit_share(struct kw_config *cfg, const size_t grants[3])
{
	struct kw_audit *a = NULL;
	struct kw_error e;
	double be, rq, t;
	size_t g;
	int reps, round;

	if (kw_audit_open(KW_AUDIT_REQUIRED, &a, &e) != 0 ||
	    kw_audit_ready(a, &e) != 0) {
		printf("bench session_open_audit_required skipped: %s\n",
		    kw_error_text(&e));
		kw_audit_close(a);
		return;
	}
	kw_audit_close(a);
	for (g = 0; g < 3; g++) {
		reps = grants[g] == 100 ? 4 : 20;
		grant(cfg, grants[g]);
		be = rq = 1e12;
		for (round = 0; round < 7; round++) {
			cfg->audit = KW_AUDIT_BEST_EFFORT;
			if ((t = time_open(cfg, grants[g], reps)) < be)
				be = t;
			cfg->audit = KW_AUDIT_REQUIRED;
			if ((t = time_open(cfg, grants[g], reps)) < rq)
				rq = t;
		}
		cfg->audit = KW_AUDIT_BEST_EFFORT;
		printf("bench session_open_%zu_audit_required %.1f us "
		    "floor=%.1f ratio=%.2f (floor: the same open with audit = "
		    "best-effort; audit's share %.0f%%)\n", grants[g], rq, be,
		    rq / be, 100.0 * (rq - be) / rq);
	}
}

int
main(void)
{
	static const size_t grants[] = { 1, 10, 100 };
	static const size_t vaults[] = { 100, 10000 };
	struct kw_config cfg[2];
	double t[2][3], f[3];
	char cmd[PATH_MAX];
	size_t g, v;
	int reps;

	if (geteuid() != 0) {
		printf("bench session: skipped (needs root)\n");
		return 0;
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0) {
		perror("bench_session: mkdtemp");
		return 1;
	}
	setup(100, "v100", &cfg[0]);
	setup(10000, "v10000", &cfg[1]);
	for (g = 0; g < 3; g++) {
		double sf[ROUNDS], sv[2][ROUNDS];
		int round;

		reps = grants[g] == 100 ? 4 : 20;
		for (v = 0; v < 2; v++)
			grant(&cfg[v], grants[g]);
		/* warm up every path once */
		time_floor(grants[g], 1);
		for (v = 0; v < 2; v++)
			time_open(&cfg[v], grants[g], 1);
		for (round = 0; round < ROUNDS; round++) {
			sf[round] = time_floor(grants[g], reps);
			for (v = 0; v < 2; v++) {
				size_t which = round % 2 == 0 ? v : 1 - v;

				sv[which][round] = time_open(&cfg[which],
				    grants[g], reps);
			}
		}
		f[g] = bench_median(sf, ROUNDS);
		for (v = 0; v < 2; v++)
			t[v][g] = bench_median(sv[v], ROUNDS);
	}
	for (g = 0; g < 3; g++) {
		for (v = 0; v < 2; v++)
			printf("bench session_open_%zu_of_%zu %.1f us floor=%.1f "
			    "ratio=%.2f (target <= 1.5 x floor + 300 us = %.1f)\n",
			    grants[g], vaults[v], t[v][g], f[g],
			    t[v][g] / f[g], 1.5 * f[g] + 300);
		printf("bench session_open_%zu_vault_growth %.3f x floor=1.000 "
		    "ratio=%.3f (target <= 1.200)\n", grants[g],
		    t[1][g] / t[0][g], t[1][g] / t[0][g]);
	}
	audit_share(&cfg[0], grants);
	kw_config_free(&cfg[0]);
	kw_config_free(&cfg[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
