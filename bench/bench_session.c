/*
 * bench_session.c - make bench: the cost of opening a keyward session
 * (kw_session_open: policy, vault, fresh session keyring, delivery,
 * registry, audit) for 1, 10 and 100 granted secrets out of a vault of 100
 * and of 10,000 secrets. The floor, measured in the same run, is the bare
 * system calls of the same delivery: a fresh session keyring, then
 * add_key (into the ring by its special id, KEY_SPEC_SESSION_KEYRING, as
 * keyward adds them) + keyctl_setperm + keyctl_set_timeout per key.
 *
 * The floor and the two vaults are measured in alternating rounds (the
 * vaults' order swapped each round) and each reported as the median of
 * its rounds' means, a ratio (to the floor, 10,000 to 100 secrets) as the
 * median of the rounds' own ratios:
 * load from elsewhere on the machine, and the kernel's work after a round
 * (freeing revoked keys and dropped keyrings), fall on all three alike
 * instead of on whichever ran first. Every timed open (and floor) starts
 * with the audit pipeline idle (bench.h: bench_audit_idle()), as a session
 * open meets it on a machine not flooded with records: back to back,
 * each run would pay auditd for the records of the runs before it, and
 * measure auditd's throughput instead.
 *
 * A second floor, the schema floor, adds to the bare calls the records
 * DESIGN.md asks for: one keyward-deliver user record per key (timed) and
 * one keyward-revoke record per key at close (untimed, as keyward's close
 * is). auditd's work for them is the part of an open's cost no
 * implementation of that audit trail avoids; it is reported beside the
 * targets, which stay against the bare floor.
 *
 * Prints "bench <name> <value> <unit> floor=<value> ratio=<value>".
 * Targets: open <= 1.5 x floor + 300 us; 100 -> 10,000 growth <= 20 %.
 * Each open's line also says in how many rounds the open met the target
 * set by that round's own floor: on a host whose system calls all slow
 * down together for a while (a virtual machine whose host is busy: the
 * floor per key grows by half or more), the rounds in that state and
 * those out of it are told apart instead of being mixed in the medians.
 * Runs as root in a private staging directory with audit = best-effort,
 * the registry (run_dir) on a tmpfs as in production (bench.h). The opens
 * follow each other closely, so all but the first in every
 * KW_AUDIT_STAMP_SECS share the status check of an earlier one, as on a
 * host that opens sessions that often (keyward-audit(7)); what an open
 * that asks for itself costs is printed after the targets.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <keyutils.h>
#include <libaudit.h>

#include "audit.h"
#include "bench.h"
#include "keyring.h"
#include "kw_config.h"
#include "kw_util.h"
#include "session.h"
#include "vault.h"

#define ROUNDS 15	/* alternating rounds of floor and both vaults */

static char dir[] = "/tmp/kw-bench-session.XXXXXX";
static char rdir[PATH_MAX];	/* the run_dirs, on a tmpfs (bench.h) */

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
	    "vault = %s/vault\nrun_dir = %s/%s\n", etc, rdir, sub);
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

/* The target for an open whose floor took floor_us microseconds. */
static double
open_target(double floor_us)
{
	return 1.5 * floor_us + 300;
}

/* libaudit's connection: the schema floor's records, the idle wait; or -1. */
static int audit_fd = -1;

/*
 * Mean microseconds of one kw_session_open() (close not timed). unshared:
 * the best-effort status stamp removed before each open (untimed), so
 * that every open asks the kernel for its status, as the first open in
 * KW_AUDIT_STAMP_SECS does.
 */
static double
time_open(const struct kw_config *cfg, size_t n, int reps, bool unshared)
{
	struct kw_session_params p;
	struct kw_session_info info;
	struct kw_error e;
	char stamp[PATH_MAX + sizeof(KW_AUDIT_STAMP) + 1];
	double t, total = 0;
	int i;

	memset(&p, 0, sizeof(p));
	p.user = "root";
	p.service = "bench";
	snprintf(stamp, sizeof(stamp), "%s/%s", cfg->run_dir, KW_AUDIT_STAMP);
	for (i = 0; i < reps; i++) {
		if (unshared)
			(void)unlink(stamp);
		bench_audit_idle(audit_fd);
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

/* One user record sized and shaped like keyward's for key k (or exit). */
static void
floor_record(const char *op, size_t j, key_serial_t k)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "op=%s kw_secret=\"f%05zu\" kw_version=1 "
	    "fp=0123456789abcdef kw_serial=%ld kw_scope=session kw_ttl=3600 "
	    "kw_rule=\"/etc/keyward/policy.conf:1\" "
	    "kw_session=\"0123456789abcdef\" acct=\"root\"", op, j, (long)k);
	if (audit_log_user_message(audit_fd, AUDIT_CRYPTO_KEY_USER, msg, NULL,
	    NULL, "", 1) <= 0) {
		fprintf(stderr, "bench_session: floor record not written\n");
		exit(1);
	}
}

/*
 * Mean microseconds of the bare system calls for n keys. With records
 * (the schema floor): also one keyward-deliver record per key, timed, and
 * one keyward-revoke record per key at the untimed revoke, as keyward's
 * close writes them: the records DESIGN.md asks of any implementation.
 */
static double
time_floor(size_t n, int reps, bool records)
{
	key_serial_t ring, k[100];
	char desc[32], val[40] = { 0 };
	double t, total = 0;
	size_t j;
	int i;

	for (i = 0; i < reps; i++) {
		bench_audit_idle(audit_fd);
		t = bench_now_ns() / 1e3;
		ring = keyctl_join_session_keyring(NULL);
		for (j = 0; j < n; j++) {
			snprintf(desc, sizeof(desc), "keyward:f%05zu", j);
			/* the ring just joined, by its special id: the cheaper
			 * form keyward uses too (no serial lookup) */
			k[j] = add_key("user", desc, val, sizeof(val),
			    ring > 0 ? KEY_SPEC_SESSION_KEYRING : ring);
			if (k[j] < 0 ||
			    keyctl_set_timeout(k[j], 3600) < 0 ||
			    keyctl_setperm(k[j], KW_KEY_PERM) < 0) {
				perror("bench_session: floor");
				exit(1);
			}
			if (records)
				floor_record("keyward-deliver", j, k[j]);
		}
		total += bench_now_ns() / 1e3 - t;
		for (j = 0; j < n; j++) {
			keyctl_revoke(k[j]);
			if (records)
				floor_record("keyward-revoke", j, k[j]);
		}
	}
	return total / reps;
}

/*
 * The same opens (vault of 100) with audit = required (readiness check of
 * the status and the kernel rule list, confirmed records), and with audit
 * = best-effort asking for its status on every open (no stamp shared),
 * against audit = best-effort as measured above (the status check shared:
 * a host that opens sessions more often than every KW_AUDIT_STAMP_SECS),
 * alternated over rounds and the best of each kept, so that load from
 * elsewhere on the machine hits all alike. Prints the audit's share of the
 * cost. Needs auditd and keyward's rules (make bench loads them).
 */
static void
audit_share(struct kw_config *cfg, const size_t grants[3])
{
	struct kw_audit *a = NULL;
	struct kw_error e;
	double be, rq, un, t;
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
		be = rq = un = 1e12;
		for (round = 0; round < 7; round++) {
			cfg->audit = KW_AUDIT_BEST_EFFORT;
			if ((t = time_open(cfg, grants[g], reps, false)) < be)
				be = t;
			if ((t = time_open(cfg, grants[g], reps, true)) < un)
				un = t;
			cfg->audit = KW_AUDIT_REQUIRED;
			if ((t = time_open(cfg, grants[g], reps, false)) < rq)
				rq = t;
		}
		cfg->audit = KW_AUDIT_BEST_EFFORT;
		printf("bench session_open_%zu_audit_required %.1f us "
		    "floor=%.1f ratio=%.2f (floor: the same open with audit = "
		    "best-effort; audit's share %.0f%%)\n", grants[g], rq, be,
		    rq / be, 100.0 * (rq - be) / rq);
		printf("bench session_open_%zu_best_effort_unshared %.1f us "
		    "floor=%.1f ratio=%.2f (floor: the same open sharing the "
		    "status check of one a moment ago; its own status request "
		    "costs %.1f us)\n", grants[g], un, be, un / be, un - be);
	}
}

int
main(void)
{
	static const size_t grants[] = { 1, 10, 100 };
	static const size_t vaults[] = { 100, 10000 };
	struct kw_config cfg[2];
	double t[2][3], f[3], ratio[2][3], growth[3], sfloor[3], sratio[3];
	int met[2][3];		/* rounds that met their own floor's target */
	char cmd[2 * PATH_MAX + 16];
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
	bench_run_dir(rdir, sizeof(rdir), "session");
	if ((audit_fd = audit_open()) < 0)
		printf("bench session: no kernel audit; no schema floor\n");
	setup(100, "v100", &cfg[0]);
	setup(10000, "v10000", &cfg[1]);
	for (g = 0; g < 3; g++) {
		double sf[ROUNDS], sv[2][ROUNDS], sr[2][ROUNDS], sg[ROUNDS];
		double ss[ROUNDS], srs[ROUNDS];
		int round;

		/* 8 opens of 100 keys a round (a round of 4 moved with
		 * one descheduling of the vCPU), 20 of fewer */
		reps = grants[g] == 100 ? 8 : 20;
		for (v = 0; v < 2; v++)
			grant(&cfg[v], grants[g]);
		/* warm up every path once */
		time_floor(grants[g], 1, false);
		if (audit_fd >= 0)
			time_floor(grants[g], 1, true);
		for (v = 0; v < 2; v++)
			time_open(&cfg[v], grants[g], 1, false);
		met[0][g] = met[1][g] = 0;
		for (round = 0; round < ROUNDS; round++) {
			sf[round] = time_floor(grants[g], reps, false);
			ss[round] = audit_fd >= 0 ?
			    time_floor(grants[g], reps, true) : 0;
			for (v = 0; v < 2; v++) {
				size_t which = round % 2 == 0 ? v : 1 - v;

				sv[which][round] = time_open(&cfg[which],
				    grants[g], reps, false);
			}
			for (v = 0; v < 2; v++) {
				sr[v][round] = sv[v][round] / sf[round];
				if (sv[v][round] <= open_target(sf[round]))
					met[v][g]++;
			}
			sg[round] = sv[1][round] / sv[0][round];
			srs[round] = ss[round] > 0 ? sv[0][round] / ss[round] :
			    0;
		}
		sfloor[g] = bench_median(ss, ROUNDS);
		sratio[g] = bench_median(srs, ROUNDS);
		f[g] = bench_median(sf, ROUNDS);
		for (v = 0; v < 2; v++) {
			t[v][g] = bench_median(sv[v], ROUNDS);
			ratio[v][g] = bench_median(sr[v], ROUNDS);
		}
		growth[g] = bench_median(sg, ROUNDS);
	}
	for (g = 0; g < 3; g++) {
		for (v = 0; v < 2; v++)
			printf("bench session_open_%zu_of_%zu %.1f us floor=%.1f "
			    "ratio=%.2f (target <= 1.5 x floor + 300 us = %.1f; "
			    "met in %d of %d rounds, each against its own "
			    "floor)\n", grants[g], vaults[v], t[v][g], f[g],
			    ratio[v][g], open_target(f[g]), met[v][g], ROUNDS);
		printf("bench session_open_%zu_vault_growth %.3f x floor=1.000 "
		    "ratio=%.3f (target <= 1.200)\n", grants[g],
		    growth[g], growth[g]);
		if (audit_fd < 0)
			continue;
		printf("bench session_open_%zu_of_100_over_schema_floor %.1f us "
		    "floor=%.1f ratio=%.2f (no target; floor: the bare calls "
		    "plus the keyward-deliver and keyward-revoke record per key "
		    "that DESIGN.md asks of any open and close, %.2f x the bare "
		    "floor)\n", grants[g], t[0][g], sfloor[g], sratio[g],
		    sfloor[g] / f[g]);
	}
	audit_share(&cfg[0], grants);
	if (audit_fd >= 0)
		audit_close(audit_fd);
	kw_config_free(&cfg[0]);
	kw_config_free(&cfg[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, rdir);
	return system(cmd) == 0 ? 0 : 1;
}
