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
#include <time.h>

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

#endif /* KW_BENCH_H */
