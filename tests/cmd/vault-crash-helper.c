/*
 * vault-crash-helper.c - for tests/cmd/vault-crash.sh: run one keyward
 * writer and kill it with SIGKILL after a delay.
 *
 *   vault-crash-helper DELAY_US VAULT VALUE_FILE KEYWARD ARGS...
 *
 * Runs KEYWARD ARGS... with VALUE_FILE as stdin, sleeps DELAY_US
 * microseconds (DELAY_US < 0: no kill, wait) and sends SIGKILL. Prints
 * "killed tmp=N" or "exited S tmp=N us=T", where N counts the writer
 * temporary files "<VAULT>.tmp.*" left right after and T is the
 * microseconds the writer ran.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Count "<vault>.tmp.*" files. */
static int
count_temps(const char *vault)
{
	char d[PATH_MAX], b[PATH_MAX], prefix[PATH_MAX];
	struct dirent *de;
	DIR *dp;
	int n = 0;

	snprintf(d, sizeof(d), "%s", vault);
	snprintf(b, sizeof(b), "%s", vault);
	snprintf(prefix, sizeof(prefix), "%s.tmp.", basename(b));
	if ((dp = opendir(dirname(d))) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(dp);
	return n;
}

/* Microseconds of the monotonic clock. */
static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One run: start, wait DELAY_US, SIGKILL, report; 2 on usage. */
int
main(int argc, char **argv)
{
	struct timespec ts;
	long long t0, delay;
	char *end;
	pid_t pid;
	int fd, status;

	if (argc < 5) {
		fprintf(stderr, "usage: %s DELAY_US VAULT VALUE_FILE KEYWARD "
		    "ARGS...\n", argv[0]);
		return 2;
	}
	errno = 0;
	delay = strtoll(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || delay > 10000000) {
		fprintf(stderr, "%s: bad delay '%s'\n", argv[0], argv[1]);
		return 2;
	}
	if ((fd = open(argv[3], O_RDONLY | O_CLOEXEC)) < 0) {
		perror(argv[3]);
		return 2;
	}
	t0 = now_us();
	if ((pid = fork()) < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(fd, STDIN_FILENO) < 0)
			_exit(127);
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execv(argv[4], argv + 4);
		_exit(127);
	}
	if (delay >= 0) {
		ts.tv_sec = delay / 1000000;
		ts.tv_nsec = (delay % 1000000) * 1000;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			return 2;
		}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		printf("killed tmp=%d\n", count_temps(argv[2]));
	else
		printf("exited %d tmp=%d us=%lld\n", WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status),
		    count_temps(argv[2]), now_us() - t0);
	return 0;
}
