/*
 * cmd_agent.c - the agent's commands: keyward get, env and ls. They read
 * only keys this process possesses; the kernel's audit rules record every
 * read, and with CAP_AUDIT_WRITE (the installed file capability) get and
 * env add a keyward-read record naming the secret.
 */
#include "config.h"

#include <errno.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "kw_read.h"
#include "kw_util.h"

#define MAX_ENV_VARS 64

/* True when CAP_AUDIT_WRITE is in this process's effective set. */
static bool
can_audit_write(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return (data[CAP_TO_INDEX(CAP_AUDIT_WRITE)].effective &
	    CAP_TO_MASK(CAP_AUDIT_WRITE)) != 0;
}

/* Describe a negative errno from the read path for secret name. */
static void
read_error(struct cli *c, const char *name, int err)
{
	switch (err) {
	case ENOKEY:
		cli_errorf(c, "%s: no such secret in this session", name);
		break;
	case EKEYREVOKED:
		cli_errorf(c, "%s: secret revoked", name);
		break;
	case EKEYEXPIRED:
		cli_errorf(c, "%s: secret expired", name);
		break;
	case EACCES:
		cli_errorf(c, "%s: secret not readable by this process", name);
		break;
	case EINVAL:
		cli_errorf(c, "'%s': invalid secret name", name);
		break;
	default:
		cli_errorf(c, "%s: %s", name, strerror(err));
	}
}

/*
 * With CAP_AUDIT_WRITE, write a keyward-read record for name (serial, or 0
 * when not found; ok = the read succeeded). A failure is a warning: the
 * kernel's record of the read stands on its own. *a is opened lazily.
 */
static void
audit_read(struct cli *c, struct kw_audit **a, const char *name,
    int32_t serial, bool ok)
{
	struct kw_audit_rec r;
	struct kw_error e;
	struct passwd *pw;

	kw_error_clear(&e);
	if (!can_audit_write())
		return;
	if (*a == NULL && kw_audit_open(KW_AUDIT_BEST_EFFORT, a, &e) != 0) {
		cli_errorf(c, "warning: %s", kw_error_text(&e));
		return;
	}
	memset(&r, 0, sizeof(r));
	r.op = KW_OP_READ;
	r.secret = kwr_name_ok(name) ? name : NULL;
	r.serial = serial > 0 ? serial : 0;
	pw = getpwuid(getuid());
	r.acct = pw != NULL ? pw->pw_name : NULL;
	r.success = ok;
	if (kw_audit_emit(*a, &r, &e) != 0)
		cli_errorf(c, "warning: %s", kw_error_text(&e));
}

/* keyward get [-n] NAME */
int
cmd_get(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("get");
	struct kw_audit *a = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	const char *name;
	bool newline = false;
	int32_t serial;
	int ch, r, rc = KW_EXIT_FAIL;

	while ((ch = getopt(argc, argv, "+n")) != -1) {
		switch (ch) {
		case 'n':
			newline = true;
			break;
		default:
			return cli_usage(c, cmd, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage(c, cmd, "one secret NAME expected");
	name = argv[optind];
	if (!kwr_name_ok(name))
		return cli_usage(c, cmd, "'%.*s%s' is not a valid secret name",
		    KW_NAME_MAX + 1, name,
		    strlen(name) > KW_NAME_MAX + 1 ? "..." : "");
	kwr_no_dump();
	if ((serial = kwr_find(name)) < 0) {
		read_error(c, name, -serial);
		audit_read(c, &a, name, 0, false);
		goto out;
	}
	if ((r = kwr_read(serial, &buf, &len)) != 0) {
		read_error(c, name, -r);
		audit_read(c, &a, name, serial, false);
		goto out;
	}
	audit_read(c, &a, name, serial, true);
	if (kw_write_all(STDOUT_FILENO, buf, len) != 0 ||
	    (newline && kw_write_all(STDOUT_FILENO, "\n", 1) != 0)) {
		cli_errorf(c, "cannot write the value to standard output");
		goto out;
	}
	rc = KW_EXIT_OK;
out:
	kwr_free(buf, len);
	kw_audit_close(a);
	return rc;
}

/* True when s is a portable environment variable name. */
static bool
env_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_'))
			return false;
	return true;
}

/* keyward env VAR=NAME... -- CMD [ARGS...] */
int
cmd_env(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("env");
	struct kw_audit *a = NULL;
	char *vars[MAX_ENV_VARS];
	unsigned char *buf = NULL;
	size_t len = 0;
	int i, nvars = 0, r, rc = KW_EXIT_FAIL;
	int32_t serial;
	char *eq;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		eq = strchr(argv[i], '=');
		if (eq == NULL || !env_name_ok(argv[i], (size_t)(eq - argv[i])))
			return cli_usage(c, cmd, "'%s': expected VAR=NAME",
			    argv[i]);
		if (!kwr_name_ok(eq + 1))
			return cli_usage(c, cmd, "'%s' is not a valid secret "
			    "name", eq + 1);
		if (nvars >= MAX_ENV_VARS)
			return cli_usage(c, cmd, "at most %d variables",
			    MAX_ENV_VARS);
		vars[nvars++] = argv[i];
	}
	if (nvars == 0)
		return cli_usage(c, cmd, "no VAR=NAME given");
	if (i >= argc || i + 1 >= argc)
		return cli_usage(c, cmd, "'--' and a command expected");
	kwr_no_dump();
	for (r = 0; r < nvars; r++) {
		eq = strchr(vars[r], '=');
		*eq = '\0';
		serial = kwr_find(eq + 1);
		if (serial < 0) {
			read_error(c, eq + 1, -serial);
			audit_read(c, &a, eq + 1, 0, false);
			goto out;
		}
		if ((rc = kwr_read(serial, &buf, &len)) != 0) {
			read_error(c, eq + 1, -rc);
			audit_read(c, &a, eq + 1, serial, false);
			rc = KW_EXIT_FAIL;
			goto out;
		}
		rc = KW_EXIT_FAIL;
		if (memchr(buf, '\0', len) != NULL) {
			cli_errorf(c, "%s: the value holds a NUL byte and "
			    "cannot be an environment variable", eq + 1);
			goto out;
		}
		audit_read(c, &a, eq + 1, serial, true);
		if (setenv(vars[r], (const char *)buf, 1) != 0) {
			cli_errorf(c, "%s: setenv: %s", vars[r],
			    strerror(errno));
			goto out;
		}
		kwr_free(buf, len);
		buf = NULL;
		len = 0;
	}
	kw_audit_close(a);
	a = NULL;
	execvp(argv[i + 1], argv + i + 1);
	rc = errno == ENOENT ? 127 : 126;
	cli_errorf(c, "%s: %s", argv[i + 1], strerror(errno));
out:
	/* do not leave values in the environment of a failed exec */
	for (r = 0; r < nvars; r++) {
		eq = strchr(vars[r], '=');
		if (eq == NULL) {
			eq = getenv(vars[r]);
			if (eq != NULL)
				kw_wipe(eq, strlen(eq));
			unsetenv(vars[r]);
		}
	}
	kwr_free(buf, len);
	kw_audit_close(a);
	return rc;
}

/*
 * Parse one /proc/keys line: serial (hex), timeout, type, description.
 * Returns true for a user key "keyward:NAME".
 */
static bool
parse_proc_key(char *line, long *serial, char **timeout, char **name)
{
	char *f[9], *save = NULL, *p, *end;
	int i;

	for (i = 0, p = strtok_r(line, " \t\n", &save); p != NULL && i < 9;
	    p = strtok_r(NULL, " \t\n", &save))
		f[i++] = p;
	if (i < 9 || strcmp(f[7], "user") != 0 ||
	    strncmp(f[8], KWR_PREFIX, strlen(KWR_PREFIX)) != 0)
		return false;
	errno = 0;
	*serial = strtol(f[0], &end, 16);
	if (errno != 0 || *end != '\0' || *serial <= 0 || *serial > INT32_MAX)
		return false;
	*timeout = f[3];
	*name = f[8] + strlen(KWR_PREFIX);
	/* the description ends with ':' before the summary */
	if ((p = strchr(*name, ':')) != NULL)
		*p = '\0';
	return kwr_name_ok(*name);
}

/* keyward ls: the keyward secrets this process possesses. */
int
cmd_ls(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("ls");
	FILE *f;
	char line[1024], *timeout, *name;
	long serial;
	int32_t found;
	unsigned n = 0;

	(void)argv;
	if (argc != 1)
		return cli_usage(c, cmd, "no arguments expected");
	/* /proc/keys shows the keys we may view, with their timeouts; a
	 * search from our keyrings (not audited) proves possession */
	if ((f = fopen("/proc/keys", "re")) == NULL) {
		cli_errorf(c, "/proc/keys: %s", strerror(errno));
		return KW_EXIT_FAIL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (!parse_proc_key(line, &serial, &timeout, &name))
			continue;
		found = kwr_find(name);
		if (found != (int32_t)serial)
			continue;
		if (n++ == 0)
			printf("%-32s %11s %s\n", "SECRET", "SERIAL", "EXPIRES");
		printf("%-32s %11ld %s\n", name, serial,
		    strcmp(timeout, "perm") == 0 ? "never" :
		    strcmp(timeout, "expd") == 0 ? "expired" : timeout);
	}
	fclose(f);
	if (n == 0)
		printf("no keyward secrets in this session\n");
	return KW_EXIT_OK;
}
