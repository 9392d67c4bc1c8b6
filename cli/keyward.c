/*
 * keyward.c - entry point of the keyward command: global options and the
 * dispatch to subcommands.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/*
 * Two programs are built from this file. keyward-admin has every command.
 * keyward (KW_FRONT) is the lean front that agents run: it carries only the
 * agent commands (get, env, ls), so it starts as fast as keyctl(1) without
 * loading libcrypto, PAM or libauparse, and it execs keyward-admin for
 * everything else.
 */
#ifdef KW_FRONT
#define ADMIN(fn) NULL
#else
#define ADMIN(fn) fn
#endif

#ifndef KW_LIBEXECDIR
#define KW_LIBEXECDIR "/usr/libexec/keyward"
#endif

static const struct cli_cmd commands[] = {
	{ "init", ADMIN(cmd_init), "",
	  "create /etc/keyward, the master key and an empty vault",
	  "Creates the configuration directory with master.key (32 random\n"
	  "bytes, 0400), audit.key, keyward.conf (commented defaults), an empty\n"
	  "policy.conf (default deny) and an empty vault. Refuses to overwrite\n"
	  "anything that exists.\n", true },
	{ "add", ADMIN(cmd_add),
	  "NAME [--from-file PATH] [--max-ttl DUR] [--rotate-every DUR] [--note TEXT]",
	  "add a secret; the value is read from stdin or --from-file",
	  "Adds secret NAME to the vault as version 1. The value is read from\n"
	  "standard input (one trailing newline removed) or from --from-file\n"
	  "PATH (taken as is), never from the command line. At most 32767 bytes.\n"
	  "  --max-ttl DUR       no delivery of this secret lives longer\n"
	  "  --rotate-every DUR  rotation schedule (list/check report overdue)\n"
	  "  --note TEXT         a free-form note (not secret)\n", true },
	{ "rotate", ADMIN(cmd_rotate), "NAME [--from-file PATH | --generate N]",
	  "store a new version of a secret and update every live copy in place",
	  "Stores a new current version of NAME, read from standard input or\n"
	  "--from-file PATH. The previous version is kept for rollback. Every\n"
	  "live copy of NAME in running sessions is then updated in place (same\n"
	  "key serial, same expiry): agents read the new value on their next\n"
	  "read, without a restart.\n"
	  "  --generate N   a new value of N random bytes (16 to 24573), encoded\n"
	  "                 base64url; printed on standard output, the only time\n"
	  "                 keyward prints a value\n", true },
	{ "rm", ADMIN(cmd_rm), "NAME", "remove a secret and all its versions",
	  "Removes NAME and every version of it from the vault.\n", true },
	{ "list", ADMIN(cmd_list), "[--json]",
	  "list secrets: names, versions, times, max ttl, rotation state",
	  "Lists the secrets of the vault with their versions, creation and\n"
	  "rotation times, max ttl and rotation schedule (due/overdue).\n"
	  "Never prints a value.\n"
	  "  --json   one JSON document\n", true },
	{ "check", ADMIN(cmd_check), "",
	  "validate configuration, files, keys, vault integrity and PAM order",
	  "Checks keyward.conf, file ownership and modes, the master key and the\n"
	  "integrity of every vault record (like sshd -t), and rotation\n"
	  "schedules: a secret overdue by more than its own period is a problem,\n"
	  "due or less overdue a warning. Reads the services of /etc/pam.d\n"
	  "(following @include, include and substack) and warns when a\n"
	  "pam_keyward session line comes before 'pam_keyinit.so force' (the\n"
	  "keys would not reach the session) or pam_keyward is in session but\n"
	  "not in account. Exits 0 when all is well (warnings allowed), 1\n"
	  "otherwise; every problem is printed as file:line: what.\n",
	  true },
	{ "rollback", ADMIN(cmd_rollback), "NAME",
	  "make the previous version of a secret current again",
	  "Makes the previous version of NAME current again and updates every\n"
	  "live copy in place, as rotate does.\n", true },
	{ "explain", ADMIN(cmd_explain),
	  "--user U [--service S] [--tty T] [--rhost H] [--exe PATH] [--at TIME]",
	  "show the policy decision and grants for a request",
	  "Evaluates the policy for the request and prints the decision, every\n"
	  "rule that matched (file:line) and each granted secret with its\n"
	  "effective TTL and scope.\n", true },
	{ "run", ADMIN(cmd_run), "--user U [--service S] [--] CMD [ARGS...]",
	  "start an agent under a PAM session (the trusted launcher)",
	  "Opens a PAM transaction on service S (default keyward-agent) for\n"
	  "user U, runs account, setcred and session, starts CMD as U with a\n"
	  "clean environment, forwards signals, waits, closes the session and\n"
	  "exits with CMD's status.\n", true },
	{ "sessions", ADMIN(cmd_sessions), "[--json]",
	  "list every live delivery: session, user, pid, secret, serial, expiry",
	  "Lists every open keyward session and each secret it holds: session\n"
	  "id, user, pid, service, executable, secret, version, key serial,\n"
	  "scope and expiry. Sessions whose process is gone are closed on the\n"
	  "way (their keys revoked, said on stderr); expired keys are left out.\n"
	  "Never prints a value.\n"
	  "  --json   one JSON document\n", true },
	{ "revoke", ADMIN(cmd_revoke),
	  "--secret NAME | --user U | --session ID | --all",
	  "kill switch: revoke live copies of secrets at once",
	  "Revokes every live copy matching all the options given (reads fail\n"
	  "with EKEYREVOKED at once), records each (keyward-revoke), removes\n"
	  "it from the registry and prints it. A revoked secret reaches an\n"
	  "agent again only through a new session. A scope=user key is shared\n"
	  "by the user's sessions: revoking it in one revokes it in all.\n"
	  "  --secret NAME   copies of this secret\n"
	  "  --user U        copies held by user U's sessions\n"
	  "  --session ID    copies held by this session (see keyward sessions)\n"
	  "  --all           every live copy\n", true },
	{ "get", cmd_get, "[-n] NAME",
	  "print a secret this session holds (agents)",
	  "Prints the value of the keyward secret NAME held in this process's\n"
	  "keyrings, with no trailing newline (-n adds one).\n", false },
	{ "env", cmd_env, "VAR=NAME... -- CMD [ARGS...]",
	  "run CMD with secrets in environment variables (agents)",
	  "Executes CMD with each VAR set to the value of secret NAME. The\n"
	  "values then live in CMD's environment: prefer 'keyward get'.\n",
	  false },
	{ "ls", cmd_ls, "",
	  "list the keyward secrets this process holds (agents)",
	  "Lists the keyward secrets in this process's keyrings with their\n"
	  "serials and expiry. Never prints a value.\n", false },
	{ "audit", ADMIN(cmd_audit),
	  "[--since T] [--until T] [--secret NAME] [--user U] [--format text|json|csv] [--input FILE]",
	  "who read which secret, when, with which program (auditors)",
	  "Reads the audit logs and prints one line per secret access, joining\n"
	  "kernel keyctl records to secrets through delivery serials.\n", true },
	{ "audit-hash", ADMIN(cmd_audit_hash), "[--secret NAME]",
	  "fingerprint a value from stdin (or a vault secret) as fp= shows it",
	  "Prints the fp= fingerprint of a value read from standard input, or\n"
	  "of every kept version of a vault secret with --secret.\n", true },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Find a subcommand by name. */
const struct cli_cmd *
cli_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Top-level help. */
static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: keyward [--config PATH] [--root DIR] COMMAND [ARGS...]\n"
	    "       keyward --help | --version | COMMAND --help\n\n"
	    "Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
	    "\nOptions:\n"
	    "  --config PATH  keyward.conf to use (default %s)\n"
	    "  --root DIR     prefix every default path with DIR (staging, tests)\n"
	    "\nExit status: 0 success, 1 refused or failed, 2 usage error.\n",
	    kw_config_default_path());
}

/*
 * Replace this process with keyward-admin, same arguments. The installed
 * front uses the configured libexec path; a front elsewhere (the build
 * tree, a staged install) uses the keyward-admin beside it. Returns only
 * on failure, with an exit code.
 */
static int
exec_admin(struct cli *c, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 32], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		cli_errorf(c, "cannot find my own executable: %s",
		    strerror(errno));
		return KW_EXIT_FAIL;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	if (strcmp(self, KW_BINDIR) == 0 || (snprintf(path, sizeof(path),
	    "%s/keyward-admin", self), access(path, X_OK) != 0))
		snprintf(path, sizeof(path), "%s/keyward-admin",
		    KW_LIBEXECDIR);
	execv(path, argv);
	cli_errorf(c, "cannot run %s: %s", path, strerror(errno));
	return KW_EXIT_FAIL;
}

/*
 * Make sure descriptors 0, 1 and 2 are open before anything else is: a
 * caller that closed them would otherwise have the next file keyward opens
 * (the vault's temporary file, a lock, a socket) become stdout or stderr,
 * and a message or a value written there. Closed ones get /dev/null.
 * Returns 0, or -1 when that is impossible (the caller exits at once).
 */
static int
std_fds_open(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c;
	const struct cli_cmd *cmd;
	char **all_argv = argv;
	int ch, rc;

	if (std_fds_open() != 0)
		_exit(KW_EXIT_FAIL);
	memset(&c, 0, sizeof(c));
	c.prog = "keyward";
	/* stop at the first non-option: the subcommand */
	while ((ch = getopt_long(argc, argv, "+c:R:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'R':
			if (optarg[0] != '/') {
				cli_errorf(&c, "--root: '%.64s%s' is not an "
				    "absolute path", optarg,
				    strlen(optarg) > 64 ? "..." : "");
				return KW_EXIT_USAGE;
			}
			c.root = optarg;
			break;
		case 'h':
			usage(stdout);
			return KW_EXIT_OK;
		case 'V':
			printf("keyward %s\n", PACKAGE_VERSION);
			return KW_EXIT_OK;
		default:
			usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return KW_EXIT_USAGE;
	}
	cmd = cli_find_cmd(argv[optind]);
	if (cmd == NULL) {
		cli_errorf(&c, "unknown command '%s' (see keyward --help)",
		    argv[optind]);
		return KW_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (cli_wants_help(argc, argv)) {
		cli_print_cmd_help(cmd);
		return KW_EXIT_OK;
	}
	if (cmd->needs_root && geteuid() != 0) {
		cli_errorf(&c, "%s: must be run as root", cmd->name);
		return KW_EXIT_FAIL;
	}
	if (cmd->fn == NULL)
		return exec_admin(&c, all_argv);
	optind = 0;	/* reinitialise getopt (permuting) for the subcommand */
	rc = cmd->fn(&c, argc, argv);
	if (c.cfg_loaded)
		kw_config_free(&c.cfg);
	if (fflush(stdout) != 0 && rc == KW_EXIT_OK) {
		cli_errorf(&c, "cannot write output");
		rc = KW_EXIT_FAIL;
	}
	return rc;
}
