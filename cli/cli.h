/*
 * cli.h - shared pieces of the keyward command. The command is thin: it
 * parses arguments, calls the core and prints what the core returns.
 */
#ifndef KW_CLI_H
#define KW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kw_config.h"
#include "kw_error.h"

/* Exit codes (documented in keyward(1)). */
#define KW_EXIT_OK	0	/* success */
#define KW_EXIT_FAIL	1	/* refused, invalid input, or an error */
#define KW_EXIT_USAGE	2	/* bad command line */

struct cli {
	const char *prog;		/* "keyward" */
	const char *config_path;	/* --config, or the default */
	const char *root;		/* --root (tests/staging), or NULL */
	char config_buf[PATH_MAX];
	struct kw_config cfg;
	bool cfg_loaded;
};

/* A subcommand. */
struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *args;		/* one-line synopsis of arguments */
	const char *summary;		/* one line for --help */
	const char *help;		/* full text for CMD --help */
	bool needs_root;
};

/* Print "keyward: <message>" to stderr. */
void cli_errorf(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "keyward: <text of e>" to stderr and return KW_EXIT_FAIL. */
int cli_fail(struct cli *c, const struct kw_error *e);

/* Print a usage error for cmd and return KW_EXIT_USAGE. */
int cli_usage(struct cli *c, const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Look a subcommand up by name (for its help text). */
const struct cli_cmd *cli_find_cmd(const char *name);

/* Print the full help of a subcommand to stdout. */
void cli_print_cmd_help(const struct cli_cmd *cmd);

/*
 * Load keyward.conf (once) into c->cfg. With --root and no --config, the
 * config is ROOT/SYSCONFDIR/keyward/keyward.conf.
 */
int cli_load_config(struct cli *c, struct kw_error *e);

/*
 * Read a secret value from fd (stdin or a file) into a wiped-on-free heap
 * buffer: at most max bytes (more is KW_ETOOBIG), empty is KW_EINVAL.
 * One trailing newline is removed when strip_newline. Free with
 * kw_freezero(*buf, *len).
 */
int cli_read_value(int fd, const char *what, size_t max, bool strip_newline,
    unsigned char **buf, size_t *len, struct kw_error *e);

/* Print s as a JSON string (with quotes) to f. */
void cli_json_string(FILE *f, const char *s);

/* Format a unix time as "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
void cli_format_time(long long t, char *buf, size_t size);

/* --help handling inside a subcommand: true when argv asks for help. */
bool cli_wants_help(int argc, char **argv);

/* Subcommands, one function each (cmd_*.c). */
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_add(struct cli *c, int argc, char **argv);
int cmd_rotate(struct cli *c, int argc, char **argv);
int cmd_rm(struct cli *c, int argc, char **argv);
int cmd_list(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_rollback(struct cli *c, int argc, char **argv);
int cmd_explain(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_get(struct cli *c, int argc, char **argv);
int cmd_env(struct cli *c, int argc, char **argv);
int cmd_ls(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_audit_hash(struct cli *c, int argc, char **argv);
int cmd_sessions(struct cli *c, int argc, char **argv);
int cmd_revoke(struct cli *c, int argc, char **argv);

/*
 * After rotate or rollback committed version `version` of name (value,
 * len bytes): update every live copy in place (cmd_lifecycle.c). Prints
 * what it did to info; returns an exit code.
 */
int cli_propagate(struct cli *c, FILE *info, const char *name,
    const unsigned char *value, size_t len, uint32_t version);

/*
 * Policy part of 'keyward check' (cmd_policy.c): validates the policy,
 * prints warnings (over-broad rules, secrets not in the vault v, rules that
 * never match) to stdout as "file:line: warning: ...". Adds to *warnings;
 * returns 0 or a KW_E* code with e set when the policy does not load.
 */
struct kw_vault;
int cli_check_policy(struct cli *c, struct kw_vault *v, unsigned *warnings,
    struct kw_error *e);

/*
 * PAM part of 'keyward check' (cmd_pamcheck.c): reads every service of
 * /etc/pam.d (ROOT/etc/pam.d under --root) and prints, as
 * "file:line: warning: ...", a pam_keyward session line that comes before
 * a pam_keyinit.so force line, a service with pam_keyward in session but
 * not in account, and pam.d files or includes that cannot be read. Adds to
 * *warnings; returns 0 or a KW_E* code (out of memory) with e set.
 */
int cli_check_pam(struct cli *c, unsigned *warnings, struct kw_error *e);

#endif /* KW_CLI_H */
