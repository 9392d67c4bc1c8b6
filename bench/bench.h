/*
 * bench.h - a tiny shared helper for keyward's benchmarks (make bench):
 * time a loop and print one line
 *
 *   bench <name> <value> <unit> floor=<value> ratio=<value>
 *
 * where the floor is the same work done with the bare system calls,
 * measured in the same run, and ratio = value / floor.
 */
#ifndef KW_BENCH_H
#define KW_BENCH_H

#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include <linux/magic.h>
#include <linux/netlink.h>

/* The benchmarked operation: called with arg and the iteration number. */
typedef void (*bench_fn)(void *arg, unsigned long i);

/* Monotonic time in nanoseconds. */
static inline double
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * Run fn iters times, rounds times over, and return the best round's
 * nanoseconds per call (the least disturbed by other load).
 */
static inline double
bench_time_ns(bench_fn fn, void *arg, unsigned long iters, unsigned rounds)
{
	double best = 0, t0, per;
	unsigned long i;
	unsigned r;

	for (r = 0; r < rounds; r++) {
		t0 = bench_now_ns();
		for (i = 0; i < iters; i++)
			fn(arg, i);
		per = (bench_now_ns() - t0) / (double)iters;
		if (r == 0 || per < best)
			best = per;
	}
	return best;
}

/* Print the bench line; ratio = value / floor. */
static inline void
bench_print(const char *name, double value, const char *unit, double floor)
{
	printf("bench %s %.3f %s floor=%.3f ratio=%.2f\n", name, value, unit,
	    floor, floor > 0 ? value / floor : 0.0);
	fflush(stdout);
}

/* Stop the benchmark with a message (setup failed). */
static inline void
bench_die(const char *what, const char *why)
{
	fprintf(stderr, "bench: %s: %s\n", what, why);
	exit(1);
}

/* qsort comparator for doubles. */
static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n samples (sorts them). */
static inline double
bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* True when path is on a tmpfs. */
static inline int
bench_on_tmpfs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/*
 * A fresh directory (mode 0755, removed by the caller) for a staging
 * install's run_dir: on a tmpfs, where keyward's registry lives in
 * production (/run is a tmpfs on every systemd machine). That is /run when
 * it is one, else /dev/shm; a machine with neither gets one under /tmp,
 * and the benchmark says so (each registry file made there costs the
 * journal of a disk file system, which production does not pay).
 */
static inline void
bench_run_dir(char *out, size_t size, const char *tag)
{
	static const char *const bases[] = { "/run", "/dev/shm", NULL };
	const char *base = "/tmp";
	size_t i;

	for (i = 0; bases[i] != NULL; i++)
		if (bench_on_tmpfs(bases[i])) {
			base = bases[i];
			break;
		}
	if (bases[i] == NULL)
		printf("bench %s: note: no tmpfs at /run or /dev/shm; the "
		    "registry is on %s's file system\n", tag, base);
	if ((size_t)snprintf(out, size, "%s/kw-bench-%s-run.XXXXXX", base,
	    tag) >= size || mkdtemp(out) == NULL || chmod(out, 0755) != 0)
		bench_die("run_dir", "cannot make a staging directory");
}

/*
 * Bytes waiting in the netlink audit socket of process pid (auditd's:
 * its port id is its pid), from /proc/net/netlink; -1 when not found.
 */
static inline long
bench_auditd_queued(unsigned long pid)
{
	char line[256];
	unsigned long proto, port;
	long rmem = -1, q;
	FILE *f;

	if ((f = fopen("/proc/net/netlink", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*s %lu %lu %*s %ld", &proto, &port,
		    &q) == 3 && proto == NETLINK_AUDIT && port == pid) {
			rmem = q;
			break;
		}
	fclose(f);
	return rmem;
}

/*
 * Wait until the audit pipeline is idle: the kernel's backlog empty and
 * nothing waiting in auditd's socket, so that a timed run starts as a
 * session open does on a machine not flooded with records, and never pays
 * for the records of the run before it (nor for anything queued by
 * another benchmark). Measurements taken back to back instead are
 * auditd's throughput: there, the same bare floor (10 keys) ran 237 and
 * 1731 us minutes apart. The wait spins, as a sleep would leave the vCPU
 * cold.
 * fd: a libaudit connection (root); -1 or no audit: no wait.
 */
static inline void
bench_audit_idle(int fd)
{
	struct audit_reply rep;
	double t0 = bench_now_ns(), t;

	if (fd < 0)
		return;
	for (;;) {
		t = bench_now_ns();
		while (bench_now_ns() - t < 100e3)
			;	/* 100 us: auditd writes what it just read */
		if (audit_request_status(fd) <= 0)
			return;
		do {
			if (audit_get_reply(fd, &rep, GET_REPLY_BLOCKING,
			    0) <= 0)
				return;
		} while (rep.type != AUDIT_GET || rep.status == NULL);
		if (rep.status->backlog == 0 && (rep.status->pid == 0 ||
		    bench_auditd_queued(rep.status->pid) <= 0))
			return;
		if (bench_now_ns() - t0 > 60e9) {
			printf("bench: note: audit still busy after 60 s\n");
			return;
		}
	}
}

#endif /* KW_BENCH_H */
