/*
 * bench_lifecycle.c - make bench: rotate one secret held by 1,000 live
 * sessions (kw_lifecycle_update: registry read, liveness checks,
 * keyctl_update and one keyward-update record per copy, one registry
 * write) and revoke all 1,000 (kw_lifecycle_revoke). The floor, measured
 * in the same run on 1,000 keys of the same kind, is the bare work: one
 * keyctl_update (or keyctl_revoke) plus one audit_log_user_message per
 * key.
 *
 * The 1,000 sessions are opened with kw_session_open() exactly as
 * pam_keyward does, by a child process (the registry's pid, alive until
 * the end) that holds each session keyring by linking it into a keyring
 * of its own under its thread keyring; it makes the floor's keys too. The
 * measuring process possesses none of them, as a real keyward rotate or
 * revoke does not: the kernel then has no possession search through a
 * thousand keyrings to make on each call.
 *
 * Rotation runs in 7 rounds, floor and keyward alternating; revocation in
 * 3, each on 1,000 freshly opened sessions (a revoked key stays revoked).
 * Times are the medians of the rounds, ratios the medians of the rounds'
 * own ratios: each phase starts with the audit pipeline idle (bench.h:
 * bench_audit_idle(), the kernel's backlog and auditd's socket empty), so
 * none pays for another's records, but the machine's pace drifts over a
 * run.
 *
 * Prints "bench <name> <value> <unit> floor=<value> ratio=<value>".
 * Targets: ratio <= 1.5; 1,000 copies in <= 100 ms. Root; audit =
 * best-effort in a private staging directory, the registry on a tmpfs as
 * in production (bench.h); records go to the running auditd, if any,
 * like the floor's.
 */
#include "config.h"

#include <errno.h>
#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>

#include "bench.h"
#include "keyring.h"
#include "kw_config.h"
#include "kw_util.h"
#include "lifecycle.h"
#include "session.h"
#include "vault.h"

#define N_COPIES 1000
#define ROUNDS 7		/* rotate: rounds of floor and keyward */
#define REV_ROUNDS 3		/* revoke: rounds, each on fresh sessions */

static char dir[] = "/tmp/kw-bench-lifecycle.XXXXXX";
static char rdir[PATH_MAX];	/* run_dir, on a tmpfs (bench.h) */

/* Remove the staging directory (at exit, also after a failure). */
static void
remove_dir(void)
{
	char cmd[2 * PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, rdir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s or %s\n", dir, rdir);
}

/* Stop with the text of e. */
static void
die(const char *what, const struct kw_error *e)
{
	bench_die(what, kw_error_text(e));
}

/* Write a small file. */
static void
put(const char *path, const void *data, size_t len, mode_t mode)
{
	struct kw_error e;

	if (kw_atomic_write(path, data, len, mode, 0, &e) != 0)
		die(path, &e);
}

/* A staging install with secret "s1" granted to root; fills cfg. */
static void
setup(struct kw_config *cfg)
{
	unsigned char mkey[KW_MASTER_KEY_LEN], akey[32], val[40];
	char path[PATH_MAX], conf[2 * PATH_MAX];
	struct kw_vault *v = NULL;
	struct kw_error e;
	const char *pol = "allow user=root service=kw-bench secrets=s1 "
	    "ttl=1h\n";

	if (kw_random(mkey, sizeof(mkey), &e) != 0 ||
	    kw_random(akey, sizeof(akey), &e) != 0 ||
	    kw_random(val, sizeof(val), &e) != 0)
		die("random", &e);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	put(path, mkey, sizeof(mkey), 0400);
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	put(path, akey, sizeof(akey), 0400);
	snprintf(path, sizeof(path), "%s/policy.conf", dir);
	put(path, pol, strlen(pol), 0644);
	snprintf(path, sizeof(path), "%s/policy.d", dir);
	if (mkdir(path, 0755) != 0)
		bench_die(path, strerror(errno));
	snprintf(conf, sizeof(conf), "audit = best-effort\n"
	    "vault = %s/vault\nrun_dir = %s/run\n", dir, rdir);
	snprintf(path, sizeof(path), "%s/keyward.conf", dir);
	put(path, conf, strlen(conf), 0644);
	snprintf(path, sizeof(path), "%s/vault", dir);
	if (kw_vault_create(path, mkey, &e) != 0 ||
	    kw_vault_open_locked(path, mkey, &v, &e) != 0 ||
	    kw_vault_add(v, "s1", val, sizeof(val), NULL, &e) != 0 ||
	    kw_vault_commit(v, &e) != 0)
		die("vault", &e);
	kw_vault_close(v);
	kw_wipe(mkey, sizeof(mkey));
	snprintf(path, sizeof(path), "%s/keyward.conf", dir);
	if (kw_config_load(cfg, path, &e) != 0)
		die("config", &e);
}

/* Open n sessions the way the module does; keep their keyrings alive. */
static void
open_sessions(const struct kw_config *cfg, key_serial_t holder, size_t n)
{
	struct kw_session_params p;
	struct kw_session_info info;
	struct kw_error e;
	key_serial_t hold;
	char desc[32];
	size_t i;

	memset(&p, 0, sizeof(p));
	p.user = "root";
	p.service = "kw-bench";
	for (i = 0; i < n; i++) {
		if (kw_session_open(cfg, &p, &info, &e) != 0)
			die("kw_session_open", &e);
		if (info.n_keys != 1)
			bench_die("kw_session_open", "no key delivered");
		/* links are keyed by description: every "_ses" ring needs a
		 * keyring of its own to hang in */
		snprintf(desc, sizeof(desc), "kw-bench-hold-%zu", i);
		hold = add_key("keyring", desc, NULL, 0, holder);
		if (hold < 0 || keyctl_link(info.ring, hold) < 0)
			bench_die("link session keyring", strerror(errno));
	}
}

/* n floor keys of the same kind as a delivery, in a ring under holder. */
static void
floor_keys(key_serial_t holder, key_serial_t *k, size_t n)
{
	key_serial_t ring;
	char desc[32], val[40] = { 0 };
	size_t i;

	ring = add_key("keyring", "kw-bench-floor", NULL, 0, holder);
	if (ring < 0)
		bench_die("floor keyring", strerror(errno));
	for (i = 0; i < n; i++) {
		snprintf(desc, sizeof(desc), "keyward:floor%zu", i);
		k[i] = add_key("user", desc, val, sizeof(val), ring);
		if (k[i] < 0 || keyctl_set_timeout(k[i], 3600) < 0 ||
		    keyctl_setperm(k[i], KW_KEY_PERM) < 0)
			bench_die("floor key", strerror(errno));
	}
}

/*
 * The floor: per key, keyctl_update (revoke: keyctl_revoke) and one
 * audit_log_user_message of a record like keyward's. Microseconds for
 * all n keys.
 */
static double
floor_run(int fd, const key_serial_t *k, size_t n, bool revoke)
{
	char msg[512], val[40];
	double t0;
	size_t i;

	memset(val, 'v', sizeof(val));
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		if ((revoke ? keyctl_revoke(k[i]) :
		    keyctl_update(k[i], val, sizeof(val))) < 0)
			bench_die("floor keyctl", strerror(errno));
		snprintf(msg, sizeof(msg), "op=%s kw_secret=\"s1\" "
		    "kw_version=2 fp=0123456789abcdef kw_serial=%ld "
		    "kw_scope=session kw_session=\"0123456789abcdef\" "
		    "acct=\"root\"", revoke ? "keyward-revoke" :
		    "keyward-update", (long)k[i]);
		if (audit_log_user_message(fd, AUDIT_CRYPTO_KEY_USER, msg,
		    NULL, NULL, NULL, 1) <= 0)
			bench_die("floor audit", "audit_log_user_message");
	}
	return (bench_now_ns() - t0) / 1e3;
}

/*
 * The holder: in a child, open the sessions and make the floor keys, send
 * the floor serials over fd, then wait to be killed. Returns its pid.
 */
static pid_t
start_holder(const struct kw_config *cfg, key_serial_t *fk, size_t n)
{
	key_serial_t holder;
	int p[2];
	pid_t pid;
	ssize_t got;
	size_t off = 0;

	if (pipe(p) != 0)
		bench_die("pipe", strerror(errno));
	if ((pid = fork()) < 0)
		bench_die("fork", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_NAME, "kw-bench-holder", 0, 0, 0);
		holder = add_key("keyring", "kw-bench-holder", NULL, 0,
		    KEY_SPEC_THREAD_KEYRING);
		if (holder < 0)
			bench_die("holder keyring", strerror(errno));
		open_sessions(cfg, holder, n);
		floor_keys(holder, fk, n);
		if (kw_write_all(p[1], fk, n * sizeof(*fk)) != 0)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	while (off < n * sizeof(*fk)) {
		got = read(p[0], (char *)fk + off, n * sizeof(*fk) - off);
		if (got <= 0)
			bench_die("holder", "did not set up (see above)");
		off += (size_t)got;
	}
	close(p[0]);
	return pid;
}

/*
 * One timed keyward run over every copy: rotate to version with value val
 * (40 bytes), or with version 0 revoke all. Microseconds.
 */
static double
keyward_run(const struct kw_config *cfg, const unsigned char *val,
    uint32_t version)
{
	const char *what = version != 0 ? "kw_lifecycle_update" :
	    "kw_lifecycle_revoke";
	struct kw_lifecycle_report r;
	struct kw_lifecycle_filter f;
	struct kw_error e;
	double t0, t;
	int rc;

	memset(&f, 0, sizeof(f));
	f.all = true;
	t0 = bench_now_ns();
	rc = version != 0 ? kw_lifecycle_update(cfg, "s1", val, 40, version,
	    NULL, &r, &e) : kw_lifecycle_revoke(cfg, &f, NULL, &r, &e);
	t = (bench_now_ns() - t0) / 1e3;
	if (rc != 0)
		die(what, &e);
	if (r.n_done != N_COPIES)
		bench_die(what, "not every copy done");
	kw_lifecycle_report_free(&r);
	return t;
}

/* Print op's two lines: per copy and for all copies, one ratio. */
static void
report(const char *op, double t, double floor, double ratio)
{
	printf("bench lifecycle_%s_per_copy %.3f us floor=%.3f ratio=%.2f\n",
	    op, t / N_COPIES, floor / N_COPIES, ratio);
	printf("bench lifecycle_%s_%d_copies %.3f ms floor=%.3f ratio=%.2f\n",
	    op, N_COPIES, t / 1e3, floor / 1e3, ratio);
}

/* Stop the holder (its sessions die with it; the next opens sweep them). */
static void
stop_holder(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

int
main(void)
{
	struct kw_config cfg;
	key_serial_t *fk;
	pid_t child;
	unsigned char val[40];
	double rot[ROUNDS], frot[ROUNDS], rev[REV_ROUNDS], frev[REV_ROUNDS];
	double ratio[ROUNDS], rratio[REV_ROUNDS], mrot, mfrot, mrev, mfrev;
	int fd, round;

	if (geteuid() != 0) {
		printf("bench lifecycle: skipped (needs root)\n");
		return 0;
	}
	if ((fd = audit_open()) < 0) {
		printf("bench lifecycle: skipped (no kernel audit)\n");
		return 0;
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0)
		bench_die("mkdtemp", strerror(errno));
	bench_run_dir(rdir, sizeof(rdir), "lifecycle");
	atexit(remove_dir);
	if ((fk = calloc(N_COPIES, sizeof(*fk))) == NULL)
		bench_die("calloc", "out of memory");
	setup(&cfg);
	child = start_holder(&cfg, fk, N_COPIES);

	/*
	 * rotate: alternate floor and keyward rounds; each is reported as the
	 * median of its rounds, the ratio as the median of the rounds' own
	 * ratios (a round's two runs are seconds apart: a drift of the
	 * machine, or of auditd, falls on both)
	 */
	for (round = 0; round < ROUNDS; round++) {
		bench_audit_idle(fd);
		frot[round] = floor_run(fd, fk, N_COPIES, false);
		memset(val, 'a' + round, sizeof(val));
		bench_audit_idle(fd);
		rot[round] = keyward_run(&cfg, val, (uint32_t)(2 + round));
		ratio[round] = rot[round] / frot[round];
	}
	/* revoke all: a revoked key stays revoked, so fresh sessions and
	 * floor keys for each round */
	for (round = 0; round < REV_ROUNDS; round++) {
		if (round > 0)
			child = start_holder(&cfg, fk, N_COPIES);
		bench_audit_idle(fd);
		frev[round] = floor_run(fd, fk, N_COPIES, true);
		bench_audit_idle(fd);
		rev[round] = keyward_run(&cfg, NULL, 0);
		rratio[round] = rev[round] / frev[round];
		stop_holder(child);
	}
	mrot = bench_median(rot, ROUNDS);
	mfrot = bench_median(frot, ROUNDS);
	mrev = bench_median(rev, REV_ROUNDS);
	mfrev = bench_median(frev, REV_ROUNDS);
	report("rotate", mrot, mfrot, bench_median(ratio, ROUNDS));
	report("revoke", mrev, mfrev, bench_median(rratio, REV_ROUNDS));
	printf("bench lifecycle: medians of %d rotate and %d revoke rounds; "
	    "keyward's own work over the floor: rotate %.1f us, revoke %.1f "
	    "us per copy; targets ratio <= 1.50, 1000 copies <= 100 ms\n",
	    ROUNDS, REV_ROUNDS, (mrot - mfrot) / N_COPIES,
	    (mrev - mfrev) / N_COPIES);

	audit_close(fd);
	free(fk);
	kw_config_free(&cfg);
	return 0;
}
