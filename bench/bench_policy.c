/*
 * bench_policy.c - what pam_keyward pays for the policy at every session
 * open: load policy.conf and policy.d (safe-open checks, parse, compile)
 * and evaluate one request, against a floor of the bare system calls that
 * read the same files (open, fstat, read, close; opendir/readdir).
 *
 * Prints "bench <name> <value> <unit> floor=<value> ratio=<value>".
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kw_config.h"
#include "kw_util.h"
#include "policy.h"

#define RULES_MAIN 100
#define FILES_D 4
#define RULES_PER_FILE 25
#define ITERATIONS 2000

static char dir[] = "/tmp/kw-bench-policy.XXXXXX";

/* Monotonic time in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write n varied rules to path. */
static int
write_rules(const char *path, int base, int n)
{
	FILE *f = fopen(path, "w");
	int i;

	if (f == NULL)
		return -1;
	fprintf(f, "# generated for the benchmark\n");
	for (i = base; i < base + n; i++) {
		switch (i % 4) {
		case 0:
			fprintf(f, "allow user=agent%d service=keyward-agent "
			    "secrets=s%d,t%d ttl=1h\n", i, i, i);
			break;
		case 1:
			fprintf(f, "allow group=team%d,ml-* service=sshd,"
			    "keyward-agent \\\n  secrets=hf-%d-* ttl=8h "
			    "time=Mo-Fr/08:00-18:00,Sa/10:00-12:00\n", i, i);
			break;
		case 2:
			fprintf(f, "allow user=idx%d exe=/opt/agents/idx%d "
			    "exe_sha256=%064d secrets=pg-%d scope=user\n",
			    i, i, i, i);
			break;
		default:
			fprintf(f, "deny user=intern%d tty=pts/* rhost=10.0.*\n",
			    i);
			break;
		}
	}
	/* the request below matches this one */
	fprintf(f, "allow user=bench-agent secrets=openai-prod ttl=30m\n");
	if (fclose(f) != 0)
		return -1;
	return chmod(path, 0644);
}

/* The floor: read every policy file with bare system calls. */
static size_t
floor_read(const struct kw_config *cfg)
{
	char buf[65536], path[PATH_MAX + 300];
	struct dirent *de;
	struct stat st;
	size_t total = 0;
	ssize_t r;
	DIR *d;
	int fd;

	fd = open(cfg->policy, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0)
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				total += (size_t)r;
		close(fd);
	}
	if ((d = opendir(cfg->policy_d)) == NULL)
		return total;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg->policy_d,
		    de->d_name);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0)
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				total += (size_t)r;
		close(fd);
	}
	closedir(d);
	return total;
}

/* Set up a 205-rule policy, time both loops, print one bench line. */
int
main(void)
{
	const char *groups[] = { "users", "ml-agents" };
	struct kw_config cfg;
	struct kw_policy *p;
	struct kw_decision dec;
	struct kw_request req;
	struct kw_error e;
	char path[PATH_MAX + 300], cmd[PATH_MAX + 32];
	double t0, t_policy, t_floor;
	volatile size_t sink = 0;
	int i, rc = 1;

	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/keyward.conf", dir);
	if (kw_config_defaults(&cfg, path, NULL, &e) != 0 ||
	    write_rules(cfg.policy, 0, RULES_MAIN) != 0 ||
	    mkdir(cfg.policy_d, 0755) != 0) {
		fprintf(stderr, "bench_policy: setup failed\n");
		goto out;
	}
	for (i = 0; i < FILES_D; i++) {
		snprintf(path, sizeof(path), "%s/%02d-gen.conf", cfg.policy_d,
		    i);
		if (write_rules(path, 1000 * (i + 1), RULES_PER_FILE) != 0) {
			fprintf(stderr, "bench_policy: setup failed\n");
			goto out;
		}
	}
	memset(&req, 0, sizeof(req));
	req.user = "bench-agent";
	req.groups = groups;
	req.n_groups = 2;
	req.service = "keyward-agent";
	req.tty = "pts/1";
	req.rhost = "192.168.1.1";
	req.now = time(NULL);

	/* warm the page cache and check the setup once */
	if (kw_policy_load(&cfg, &p, &e) != 0 ||
	    kw_policy_eval(p, &cfg, &req, &dec, &e) != 0 || !dec.allow) {
		fprintf(stderr, "bench_policy: %s\n", kw_error_text(&e));
		goto out;
	}
	kw_decision_free(&dec);
	kw_policy_free(p);
	sink += floor_read(&cfg);

	t0 = now();
	for (i = 0; i < ITERATIONS; i++)
		sink += floor_read(&cfg);
	t_floor = (now() - t0) / ITERATIONS;

	t0 = now();
	for (i = 0; i < ITERATIONS; i++) {
		if (kw_policy_load(&cfg, &p, &e) != 0 ||
		    kw_policy_eval(p, &cfg, &req, &dec, &e) != 0) {
			fprintf(stderr, "bench_policy: %s\n",
			    kw_error_text(&e));
			goto out;
		}
		sink += dec.n_patterns;
		kw_decision_free(&dec);
		kw_policy_free(p);
	}
	t_policy = (now() - t0) / ITERATIONS;

	printf("bench policy_load_eval_%drules %.1f us floor=%.1f ratio=%.1f\n",
	    RULES_MAIN + FILES_D * RULES_PER_FILE + FILES_D + 1,
	    t_policy * 1e6, t_floor * 1e6, t_policy / t_floor);
	rc = 0;
out:
	kw_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	(void)sink;
	return rc;
}
