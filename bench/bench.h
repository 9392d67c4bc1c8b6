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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include <linux/magic.h>

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

#endif /* KW_BENCH_H */
