/*
 * cmd_vault.c - the sysadmin's vault commands: init, add, rotate, rollback,
 * rm, list and check. Thin: parse arguments, call the core, print.
 *
 * Every change of the vault goes through vault_change(), which is the one
 * place where a change is made, committed and reported.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"
#include "cli.h"
#include "kw_util.h"
#include "vault.h"

/* ---- init ------------------------------------------------------------------ */

/* Config text written by init (the values are the built-in defaults). */
static const char conf_text[] =
    "# keyward.conf - settings of keyward; see keyward.conf(5).\n"
    "# Lines are 'key = value'; '#' starts a comment. Unknown keys and bad\n"
    "# values are errors.\n"
    "\n"
    "audit = required                    # required | best-effort\n"
    "trusted_launchers = keyward-agent   # PAM services whose exe/exe_sha256 "
    "claims are believed\n"
    "default_ttl = 1h                    # when a rule gives none\n"
    "max_ttl = 24h                       # no delivery lives longer\n";

static const char policy_text[] =
    "# policy.conf - who may have which secret; see keyward-policy(5).\n"
    "# Default deny: with no 'allow' rule nobody gets anything.\n"
    "#\n"
    "# allow user=summarizer service=keyward-agent secrets=openai-prod "
    "ttl=1h\n";

/* Paths init made, to undo them when a later step fails. */
struct made {
	char path[8][PATH_MAX];
	bool dir[8];
	int n;
};

/* Remember a path init created. */
static void
made_add(struct made *m, const char *path, bool dir)
{
	if (m->n < 8 && strlen(path) < PATH_MAX) {
		strcpy(m->path[m->n], path);
		m->dir[m->n] = dir;
		m->n++;
	}
}

/* Remove what init created, newest first. */
static void
made_undo(struct made *m)
{
	while (m->n > 0) {
		m->n--;
		if (m->dir[m->n])
			rmdir(m->path[m->n]);
		else
			unlink(m->path[m->n]);
	}
}

/*
 * Make dir and its missing parents (parents 0755, dir itself mode, set
 * exactly despite the umask). Directories it made go into m.
 */
static int
mkdir_p(const char *dir, mode_t mode, struct made *m, struct kw_error *e)
{
	char tmp[PATH_MAX], *p;
	struct stat st;

	if (kw_snprintf(tmp, sizeof(tmp), e, "%s", dir) != 0)
		return kw_error_prefix(e, "%s", dir);
	for (p = tmp + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		bool last = *p == '\0';
		*p = '\0';
		if (lstat(tmp, &st) < 0) {
			if (errno != ENOENT)
				return kw_fail_errno(e, KW_ESYSTEM, errno, "%s",
				    tmp);
			if (mkdir(tmp, last ? mode : 0755) < 0 ||
			    chmod(tmp, last ? mode : 0755) < 0)
				return kw_fail_errno(e, KW_ESYSTEM, errno,
				    "%s: mkdir", tmp);
			made_add(m, tmp, true);
		} else if (!S_ISDIR(st.st_mode)) {
			return kw_fail(e, KW_EUNSAFE, "%s: not a directory",
			    tmp);
		}
		if (last)
			break;
		*p = '/';
	}
	return kw_check_dir(dir, e);
}

/* The path of keyward.conf this invocation uses. */
static int
config_path(struct cli *c, struct kw_error *e)
{
	if (c->config_path != NULL)
		return 0;
	if (c->root == NULL) {
		c->config_path = kw_config_default_path();
		return 0;
	}
	if (kw_snprintf(c->config_buf, sizeof(c->config_buf), e, "%s%s",
	    c->root, kw_config_default_path()) != 0)
		return kw_error_prefix(e, "--root");
	c->config_path = c->config_buf;
	return 0;
}

/* Write a new file with data (KW_WRITE_EXCL) and remember it. */
static int
write_new(const char *path, const void *data, size_t len, mode_t mode,
    struct made *m, struct kw_error *e)
{
	int rc;

	if ((rc = kw_atomic_write(path, data, len, mode, KW_WRITE_EXCL, e)) != 0)
		return rc;
	made_add(m, path, false);
	return 0;
}

/* keyward init */
int
cmd_init(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("init");
	unsigned char key[KW_MASTER_KEY_LEN], akey[32];
	char vdir[PATH_MAX], tmp[PATH_MAX], *conf_buf = NULL;
	const char *check[6], *conf = NULL;
	struct kw_config cfg;
	struct made made;
	struct kw_error e;
	struct stat st;
	size_t i, clen;
	int rc, exists = 0;

	kw_error_clear(&e);
	memset(&made, 0, sizeof(made));
	if (argc > 1)
		return cli_usage(c, cmd, "unexpected argument '%s'", argv[1]);
	if ((rc = config_path(c, &e)) != 0 ||
	    (rc = kw_config_defaults(&cfg, c->config_path, c->root, &e)) != 0)
		return cli_fail(c, &e);
	/* refuse before changing anything */
	check[0] = cfg.path;
	check[1] = cfg.master_key;
	check[2] = cfg.audit_key;
	check[3] = cfg.policy;
	check[4] = cfg.policy_d;
	check[5] = cfg.vault;
	for (i = 0; i < 6; i++) {
		if (lstat(check[i], &st) == 0) {
			cli_errorf(c, "init: %s exists; refusing to overwrite "
			    "it", check[i]);
			exists++;
		}
	}
	if (exists > 0)
		return KW_EXIT_FAIL;

	strcpy(tmp, cfg.vault);
	strcpy(vdir, dirname(tmp));
	if (c->root == NULL) {
		conf = conf_text;
		clen = strlen(conf_text);
	} else {
		/* a staging root: every tool must find it from keyward.conf */
		clen = strlen(conf_text) + strlen(cfg.vault) +
		    strlen(cfg.run_dir) + 128;
		if ((conf_buf = malloc(clen)) == NULL) {
			rc = kw_fail(&e, KW_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = kw_snprintf(conf_buf, clen, &e, "%s\n# staging root %s\n"
		    "vault = %s\nrun_dir = %s\n", conf_text, c->root,
		    cfg.vault, cfg.run_dir)) != 0)
			goto out;
		conf = conf_buf;
		clen = strlen(conf);
	}
	if ((rc = kw_random(key, sizeof(key), &e)) != 0 ||
	    (rc = kw_random(akey, sizeof(akey), &e)) != 0 ||
	    (rc = mkdir_p(cfg.etc_dir, 0755, &made, &e)) != 0 ||
	    (rc = mkdir_p(vdir, 0700, &made, &e)) != 0 ||
	    (rc = write_new(cfg.master_key, key, sizeof(key), 0400, &made,
	    &e)) != 0 ||
	    (rc = write_new(cfg.audit_key, akey, sizeof(akey), 0400, &made,
	    &e)) != 0 ||
	    (rc = write_new(cfg.path, conf, clen, 0644, &made, &e)) != 0 ||
	    (rc = write_new(cfg.policy, policy_text, strlen(policy_text), 0644,
	    &made, &e)) != 0 ||
	    (rc = mkdir_p(cfg.policy_d, 0755, &made, &e)) != 0 ||
	    (rc = kw_vault_create(cfg.vault, key, &e)) != 0)
		goto out;
	made_add(&made, cfg.vault, false);
	printf("created %s (master.key, audit.key, keyward.conf, policy.conf, "
	    "policy.d/) and the empty vault %s\n", cfg.etc_dir, cfg.vault);
	made.n = 0;
out:
	kw_wipe(key, sizeof(key));
	kw_wipe(akey, sizeof(akey));
	free(conf_buf);
	if (rc != 0) {
		made_undo(&made);
		return cli_fail(c, &e);
	}
	return KW_EXIT_OK;
}

/* ---- changes -------------------------------------------------------------- */

enum change_op {
	CHANGE_ADD,
	CHANGE_ROTATE,
	CHANGE_ROLLBACK,
	CHANGE_REMOVE,
};

/* One change of the vault, as the commands ask for it. */
struct change {
	enum change_op op;
	const char *name;
	const unsigned char *value;	/* add, rotate */
	size_t len;
	const struct kw_add_opts *opts;	/* add */
	FILE *info;			/* where to say what was done */
	bool print_value;		/* rotate --generate: print value */
};

/*
 * Write the keyward-vault record of a change (success) or of a change that
 * could not be committed (failure). The fingerprint of a new value is
 * computed under the audit key. Returns 0, or the error that must refuse
 * the change (kw_audit_fatal()); a best-effort failure is printed as a
 * warning and the change goes on.
 */
static int
audit_vault_change(struct cli *c, struct kw_audit *a,
    const struct change *ch, uint32_t version, bool success,
    struct kw_error *e)
{
	unsigned char akey[KW_AUDIT_KEY_LEN];
	struct kw_audit_rec r;
	char fp[KW_FP_HEX_LEN + 1];
	int rc;

	memset(&r, 0, sizeof(r));
	r.op = KW_OP_VAULT;
	r.secret = ch->name;
	r.version = version;
	r.success = success;
	if (ch->value != NULL) {
		if ((rc = kw_audit_key_load(c->cfg.audit_key, akey, e)) != 0 ||
		    (rc = kw_audit_fp(akey, ch->value, ch->len, fp, e)) != 0) {
			kw_wipe(akey, sizeof(akey));
			return rc;
		}
		kw_wipe(akey, sizeof(akey));
		r.fp = fp;
	}
	rc = kw_audit_emit(a, &r, e);
	if (rc != 0 && !kw_audit_fatal(a, rc)) {
		cli_errorf(c, "warning: audit record not written (audit = "
		    "best-effort): %s", kw_error_text(e));
		kw_error_clear(e);
		rc = 0;
	}
	return rc;
}

/*
 * After a rotate or rollback committed version `version` of ch->name (the
 * vault still locked, so that two rotations reach the agents in the order
 * they reached the vault): update every live copy in place. The value is
 * ch->value (rotate) or read back from the vault (rollback). Returns an
 * exit code.
 */
static int
propagate(struct cli *c, const struct change *ch,
    const unsigned char key[KW_MASTER_KEY_LEN], uint32_t version)
{
	struct kw_vault *rv = NULL;
	struct kw_secret *sec = NULL;
	struct kw_error e;
	int rc;

	kw_error_clear(&e);
	if (ch->value != NULL)
		return cli_propagate(c, ch->info, ch->name, ch->value, ch->len,
		    version);
	if (kw_vault_open(c->cfg.vault, key, &rv, &e) != 0 ||
	    kw_vault_get(rv, ch->name, version, &sec, &e) != 0) {
		kw_vault_close(rv);
		cli_errorf(c, "%s: live copies not updated: %s", ch->name,
		    kw_error_text(&e));
		return KW_EXIT_FAIL;
	}
	rc = cli_propagate(c, ch->info, ch->name, sec->data, sec->len,
	    version);
	kw_secret_free(sec);
	kw_vault_close(rv);
	return rc;
}

/*
 * Make one change: load the master key, open the vault locked, apply,
 * write the keyward-vault audit record, commit, report; a rotate or
 * rollback then reaches the live copies (propagate()). Returns an exit
 * code. The record is written before the commit so that in audit=required
 * mode a record that cannot be written refuses the change; a commit that
 * then fails is recorded again with res=failed.
 */
static int
vault_change(struct cli *c, const struct change *ch)
{
	static const char *const verbs[] = {
		"added", "rotated", "rolled back", "removed",
	};
	unsigned char key[KW_MASTER_KEY_LEN];
	struct kw_secret_info before, after;
	struct kw_vault *v = NULL;
	struct kw_audit *a = NULL;
	struct kw_error e, e2;
	FILE *info = ch->info != NULL ? ch->info : stdout;
	int rc, prc = KW_EXIT_OK;

	kw_error_clear(&e);
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	if ((rc = cli_load_config(c, &e)) != 0 ||
	    (rc = kw_audit_open(c->cfg.audit, &a, &e)) != 0 ||
	    (rc = kw_master_key_load(c->cfg.master_key, key, &e)) != 0 ||
	    (rc = kw_vault_open_locked(c->cfg.vault, key, &v, &e)) != 0)
		goto out;
	if (ch->op != CHANGE_ADD &&
	    (rc = kw_vault_info(v, ch->name, &before, &e)) != 0)
		goto out;
	switch (ch->op) {
	case CHANGE_ADD:
		rc = kw_vault_add(v, ch->name, ch->value, ch->len, ch->opts,
		    &e);
		break;
	case CHANGE_ROTATE:
		rc = kw_vault_rotate(v, ch->name, ch->value, ch->len, &e);
		break;
	case CHANGE_ROLLBACK:
		rc = kw_vault_rollback(v, ch->name, &e);
		break;
	case CHANGE_REMOVE:
		rc = kw_vault_remove(v, ch->name, &e);
		break;
	}
	if (rc != 0)
		goto out;
	if (ch->op != CHANGE_REMOVE &&
	    (rc = kw_vault_info(v, ch->name, &after, &e)) != 0)
		goto out;
	if ((rc = audit_vault_change(c, a, ch, ch->op == CHANGE_REMOVE ?
	    before.version : after.version, true, &e)) != 0)
		goto out;
	if ((rc = kw_vault_commit(v, &e)) != 0) {
		(void)audit_vault_change(c, a, ch, ch->op == CHANGE_REMOVE ?
		    before.version : after.version, false, &e2);
		goto out;
	}
	if (ch->op == CHANGE_REMOVE)
		fprintf(info, "%s %s (version %u and %u older)\n", verbs[ch->op],
		    ch->name, before.version, before.prev_version != 0 ? 1u : 0u);
	else
		fprintf(info, "%s %s: version %u is current%s\n",
		    verbs[ch->op], ch->name, after.version,
		    after.prev_version != 0 ? ", previous kept" : "");
	/* committed: a generated value is shown now or never */
	if (ch->print_value) {
		fwrite(ch->value, 1, ch->len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	if (ch->op == CHANGE_ROTATE || ch->op == CHANGE_ROLLBACK)
		prc = propagate(c, ch, key, after.version);
out:
	kw_wipe(key, sizeof(key));
	kw_vault_close(v);
	kw_audit_close(a);
	return rc != 0 ? cli_fail(c, &e) : prc;
}

/*
 * Read a value from --from-file path (as is) or stdin (one trailing
 * newline removed; echo off on a terminal). Returns 0 or a KW_E* code.
 */
static int
read_value(const char *name, const char *from_file, unsigned char **buf,
    size_t *len, struct kw_error *e)
{
	struct termios old, quiet;
	bool tty = false;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	if (from_file != NULL) {
		fd = open(from_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return kw_fail_errno(e, KW_ENOTFOUND, errno, "%s",
			    from_file);
		rc = cli_read_value(fd, from_file, KW_SECRET_MAX, false, buf,
		    len, e);
		close(fd);
		return rc;
	}
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0) {
		fprintf(stderr, "keyward: type the value of %s, then Enter and "
		    "Ctrl-D (not echoed)\n", name);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tty = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	rc = cli_read_value(STDIN_FILENO, "standard input", KW_SECRET_MAX,
	    true, buf, len, e);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return rc;
}

/* Options of add and rotate. */
struct value_args {
	const char *name;
	const char *from_file;
	uint64_t generate;		/* rotate --generate N: N bytes */
	struct kw_add_opts opts;
};

/* rotate --generate N: at least 16 bytes, at most what fits encoded. */
#define GENERATE_MIN 16
#define GENERATE_MAX ((KW_SECRET_MAX / 4) * 3)

/*
 * A new value of n random bytes (kernel CSPRNG), encoded base64url
 * without padding: that text is the value. Free with kw_freezero().
 */
static int
generate_value(uint64_t n, unsigned char **buf, size_t *len,
    struct kw_error *e)
{
	unsigned char *raw = NULL, *b64 = NULL;
	size_t cap, i, m;
	int rc, w;

	*buf = NULL;
	*len = 0;
	cap = 4 * (((size_t)n + 2) / 3) + 1;
	if ((raw = malloc((size_t)n)) == NULL ||
	    (b64 = malloc(cap)) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = kw_random(raw, (size_t)n, e)) != 0)
		goto out;
	w = EVP_EncodeBlock(b64, raw, (int)n);
	if (w <= 0) {
		rc = kw_fail(e, KW_EINTERNAL, "base64 encoding failed");
		goto out;
	}
	for (m = (size_t)w; m > 0 && b64[m - 1] == '='; m--)
		;
	for (i = 0; i < m; i++) {
		if (b64[i] == '+')
			b64[i] = '-';
		else if (b64[i] == '/')
			b64[i] = '_';
	}
	kw_wipe(b64 + m, cap - m);
	*buf = b64;
	*len = m;
	b64 = NULL;
	rc = 0;
out:
	if (raw != NULL)
		kw_freezero(raw, (size_t)n);
	if (b64 != NULL)
		kw_freezero(b64, cap);
	return rc;
}

/*
 * Parse "NAME [--from-file PATH]" plus, when with_meta, --max-ttl,
 * --rotate-every and --note. Returns 0, or an exit code after printing.
 */
static int
parse_value_args(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, bool with_meta, struct value_args *a)
{
	static const struct option opts[] = {
		{ "from-file", required_argument, NULL, 'f' },
		{ "max-ttl", required_argument, NULL, 't' },
		{ "rotate-every", required_argument, NULL, 'r' },
		{ "note", required_argument, NULL, 'n' },
		{ "generate", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	struct kw_error e;
	int ch;

	memset(a, 0, sizeof(*a));
	kw_error_clear(&e);
	opterr = 0;
	optind = 0;	/* glibc: re-initialise (main parsed with '+') */
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (!with_meta && (ch == 't' || ch == 'r' || ch == 'n'))
			return cli_usage(c, cmd, "option '%s' is for 'add' "
			    "only", argv[optind - 1]);
		if (with_meta && ch == 'g')
			return cli_usage(c, cmd, "option '%s' is for 'rotate' "
			    "only", argv[optind - 1]);
		switch (ch) {
		case 'g':
			if (kw_parse_u64(optarg, GENERATE_MIN, GENERATE_MAX,
			    &a->generate, &e) != 0)
				return cli_usage(c, cmd, "--generate: a number "
				    "of bytes from %d to %d, not '%s'",
				    GENERATE_MIN, GENERATE_MAX, optarg);
			break;
		case 'f':
			a->from_file = optarg;
			break;
		case 't':
			if (kw_duration_parse(optarg, &a->opts.max_ttl,
			    &e) != 0)
				return cli_usage(c, cmd, "--max-ttl: %s",
				    kw_error_text(&e));
			break;
		case 'r':
			if (kw_duration_parse(optarg, &a->opts.rotate_every,
			    &e) != 0)
				return cli_usage(c, cmd, "--rotate-every: %s",
				    kw_error_text(&e));
			break;
		case 'n':
			a->opts.note = optarg;
			break;
		case ':':
			return cli_usage(c, cmd, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return cli_usage(c, cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (a->generate != 0 && a->from_file != NULL)
		return cli_usage(c, cmd, "--generate and --from-file exclude "
		    "each other");
	if (optind >= argc)
		return cli_usage(c, cmd, "missing secret NAME");
	if (optind + 1 < argc)
		return cli_usage(c, cmd, "%s", "unexpected extra argument (not "
		    "shown: values are read from standard input or --from-file, "
		    "never from the command line)");
	a->name = argv[optind];
	if (kw_name_check(a->name, &e) != 0) {
		cli_errorf(c, "%s: %s", cmd->name, kw_error_text(&e));
		return KW_EXIT_FAIL;
	}
	return 0;
}

/* add and rotate: read the value, then make the change. */
static int
value_command(struct cli *c, const char *cmdname, enum change_op op,
    int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd(cmdname);
	struct value_args a;
	struct change ch;
	struct kw_error e;
	unsigned char *val = NULL;
	size_t len = 0;
	int rc;

	kw_error_clear(&e);
	if ((rc = parse_value_args(c, cmd, argc, argv, op == CHANGE_ADD,
	    &a)) != 0)
		return rc;
	if (a.generate != 0)
		rc = generate_value(a.generate, &val, &len, &e);
	else
		rc = read_value(a.name, a.from_file, &val, &len, &e);
	if (rc != 0)
		return cli_fail(c, &e);
	memset(&ch, 0, sizeof(ch));
	ch.op = op;
	ch.name = a.name;
	ch.value = val;
	ch.len = len;
	ch.opts = &a.opts;
	/* with --generate, stdout carries the value alone */
	ch.info = a.generate != 0 ? stderr : stdout;
	ch.print_value = a.generate != 0;
	rc = vault_change(c, &ch);
	kw_freezero(val, len);
	return rc;
}

/* keyward add NAME [...] */
int
cmd_add(struct cli *c, int argc, char **argv)
{
	return value_command(c, "add", CHANGE_ADD, argc, argv);
}

/* keyward rotate NAME [--from-file PATH] */
int
cmd_rotate(struct cli *c, int argc, char **argv)
{
	return value_command(c, "rotate", CHANGE_ROTATE, argc, argv);
}

/* rollback and rm: exactly one NAME. */
static int
name_command(struct cli *c, const char *cmdname, enum change_op op,
    int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd(cmdname);
	struct kw_error e;
	struct change ch;

	kw_error_clear(&e);
	if (argc < 2)
		return cli_usage(c, cmd, "missing secret NAME");
	if (argv[1][0] == '-' && strcmp(argv[1], "--") != 0)
		return cli_usage(c, cmd, "unknown option '%s'", argv[1]);
	if (strcmp(argv[1], "--") == 0) {
		argv++;
		argc--;
	}
	if (argc != 2)
		return cli_usage(c, cmd, argc < 2 ? "missing secret NAME" :
		    "one secret NAME expected");
	if (kw_name_check(argv[1], &e) != 0) {
		cli_errorf(c, "%s: %s", cmd->name, kw_error_text(&e));
		return KW_EXIT_FAIL;
	}
	memset(&ch, 0, sizeof(ch));
	ch.op = op;
	ch.name = argv[1];
	ch.info = stdout;
	return vault_change(c, &ch);
}

/* keyward rollback NAME */
int
cmd_rollback(struct cli *c, int argc, char **argv)
{
	return name_command(c, "rollback", CHANGE_ROLLBACK, argc, argv);
}

/* keyward rm NAME */
int
cmd_rm(struct cli *c, int argc, char **argv)
{
	return name_command(c, "rm", CHANGE_REMOVE, argc, argv);
}

/* ---- list ------------------------------------------------------------------ */

/*
 * Rotation state of a secret at time now: "-" without a schedule, "ok",
 * "due" in the last tenth of the period (at most 7 days before its end),
 * "overdue" past it.
 */
static const char *
rotation_state(const struct kw_secret_info *s, int64_t now)
{
	uint64_t age, warn;

	if (s->rotate_every == 0)
		return "-";
	age = now > s->rotated ? (uint64_t)(now - s->rotated) : 0;
	if (age >= s->rotate_every)
		return "overdue";
	warn = s->rotate_every / 10;
	if (warn > 7 * 86400)
		warn = 7 * 86400;
	if (age >= s->rotate_every - warn)
		return "due";
	return "ok";
}

/* Open the configured vault for reading. */
static int
open_vault(struct cli *c, struct kw_vault **v, struct kw_error *e)
{
	unsigned char key[KW_MASTER_KEY_LEN];
	int rc;

	*v = NULL;
	if ((rc = cli_load_config(c, e)) != 0 ||
	    (rc = kw_master_key_load(c->cfg.master_key, key, e)) != 0)
		return rc;
	rc = kw_vault_open(c->cfg.vault, key, v, e);
	kw_wipe(key, sizeof(key));
	return rc;
}

/* Print one secret as a JSON object. */
static void
list_json_one(const struct kw_secret_info *s, int64_t now, bool last)
{
	char t1[32], t2[32];

	cli_format_time(s->created, t1, sizeof(t1));
	cli_format_time(s->rotated, t2, sizeof(t2));
	printf("    {\"name\": ");
	cli_json_string(stdout, s->name);
	printf(", \"version\": %u, \"previous_version\": ", s->version);
	if (s->prev_version != 0)
		printf("%u", s->prev_version);
	else
		printf("null");
	printf(", \"created\": \"%s\", \"rotated\": \"%s\", "
	    "\"max_ttl\": %llu, \"rotate_every\": %llu, \"state\": \"%s\", "
	    "\"note\": ", t1, t2, (unsigned long long)s->max_ttl,
	    (unsigned long long)s->rotate_every, rotation_state(s, now));
	cli_json_string(stdout, s->note);
	printf("}%s\n", last ? "" : ",");
}

/* keyward list [--json] */
int
cmd_list(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("list");
	struct kw_secret_info *all = NULL;
	struct kw_vault *v = NULL;
	struct kw_error e;
	char t1[32], t2[32], ttl[32], every[32], prev[16];
	size_t i, n = 0;
	int64_t now = (int64_t)time(NULL);
	int w = 4, rc;
	bool json = false;

	kw_error_clear(&e);
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return cli_usage(c, cmd, "unexpected argument '%s'",
			    argv[i]);
	}
	if ((rc = open_vault(c, &v, &e)) != 0)
		goto out;
	n = kw_vault_count(v);
	if (n > 0 && (all = calloc(n, sizeof(*all))) == NULL) {
		rc = kw_fail(&e, KW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = kw_vault_info_at(v, i, &all[i], &e)) != 0)
			goto out;
		if ((int)strlen(all[i].name) > w)
			w = (int)strlen(all[i].name);
	}
	if (json) {
		printf("{\n  \"vault\": ");
		cli_json_string(stdout, kw_vault_path(v));
		printf(",\n  \"secrets\": [\n");
		for (i = 0; i < n; i++)
			list_json_one(&all[i], now, i + 1 == n);
		printf("  ]\n}\n");
		goto out;
	}
	if (n == 0) {
		printf("no secrets in %s\n", kw_vault_path(v));
		goto out;
	}
	printf("%-*s %7s %4s  %-20s  %-20s  %-8s %-8s %-7s %s\n", w, "NAME",
	    "VERSION", "PREV", "CREATED", "ROTATED", "MAX_TTL", "ROTATE",
	    "STATE", "NOTE");
	for (i = 0; i < n; i++) {
		cli_format_time(all[i].created, t1, sizeof(t1));
		cli_format_time(all[i].rotated, t2, sizeof(t2));
		if (all[i].max_ttl != 0)
			kw_duration_format(all[i].max_ttl, ttl, sizeof(ttl));
		else
			strcpy(ttl, "-");
		if (all[i].rotate_every != 0)
			kw_duration_format(all[i].rotate_every, every,
			    sizeof(every));
		else
			strcpy(every, "-");
		if (all[i].prev_version != 0)
			snprintf(prev, sizeof(prev), "%u",
			    all[i].prev_version);
		else
			strcpy(prev, "-");
		printf("%-*s %7u %4s  %-20s  %-20s  %-8s %-8s %-7s %s\n", w,
		    all[i].name, all[i].version, prev, t1, t2, ttl, every,
		    rotation_state(&all[i], now), all[i].note);
	}
out:
	free(all);
	kw_vault_close(v);
	return rc != 0 ? cli_fail(c, &e) : KW_EXIT_OK;
}

/* ---- check ----------------------------------------------------------------- */

/* Print a problem found by check and count it. */
static void
problem(unsigned *n, const struct kw_error *e)
{
	printf("%s\n", kw_error_text(e));
	(*n)++;
}

/* Check the audit key: a secret file of exactly 32 bytes. */
static int
check_audit_key(const char *path, struct kw_error *e)
{
	unsigned char buf[33];
	ssize_t r;
	int fd, rc;

	if ((rc = kw_safe_open(path, KW_SAFE_SECRET, 0, &fd, NULL, e)) != 0)
		return rc;
	r = kw_read_all(fd, buf, sizeof(buf));
	close(fd);
	kw_wipe(buf, sizeof(buf));
	if (r != 32)
		return kw_fail(e, KW_EINVAL, "%s: an audit key is exactly 32 "
		    "bytes", path);
	return 0;
}

/*
 * Rotation schedules: a secret overdue by more than its own period is a
 * problem (check fails); due, or overdue by less, is a warning.
 */
static void
check_schedules(struct kw_vault *v, unsigned *problems, unsigned *warnings)
{
	struct kw_secret_info s;
	struct kw_error e;
	char every[32], late[32], when[32];
	int64_t now = (int64_t)time(NULL);
	uint64_t age;
	const char *state;
	size_t i, n = kw_vault_count(v);

	for (i = 0; i < n; i++) {
		kw_error_clear(&e);
		if (kw_vault_info_at(v, i, &s, &e) != 0) {
			problem(problems, &e);
			continue;
		}
		state = rotation_state(&s, now);
		if (strcmp(state, "due") != 0 && strcmp(state, "overdue") != 0)
			continue;
		age = now > s.rotated ? (uint64_t)(now - s.rotated) : 0;
		kw_duration_format(s.rotate_every, every, sizeof(every));
		cli_format_time(s.rotated, when, sizeof(when));
		if (strcmp(state, "due") == 0) {
			kw_duration_format(s.rotate_every - age, late,
			    sizeof(late));
			printf("%s: warning: secret '%s' is due for rotation in "
			    "%s (every %s, rotated %s)\n", kw_vault_path(v),
			    s.name, late, every, when);
			(*warnings)++;
			continue;
		}
		if (age - s.rotate_every > 0)
			kw_duration_format(age - s.rotate_every, late,
			    sizeof(late));
		else
			strcpy(late, "0s");
		if (age - s.rotate_every > s.rotate_every) {
			printf("%s: secret '%s' is overdue for rotation by %s, "
			    "more than its period (every %s, rotated %s)\n",
			    kw_vault_path(v), s.name, late, every, when);
			(*problems)++;
		} else {
			printf("%s: warning: secret '%s' is overdue for rotation "
			    "by %s (every %s, rotated %s)\n", kw_vault_path(v),
			    s.name, late, every, when);
			(*warnings)++;
		}
	}
}

/* keyward check */
int
cmd_check(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("check");
	unsigned char key[KW_MASTER_KEY_LEN];
	struct kw_config defaults;
	const struct kw_config *cfg;
	struct kw_vault *v = NULL;
	struct kw_error e;
	char vdir[PATH_MAX];
	unsigned problems = 0, warnings = 0;
	bool have_key = false, have_conf;

	kw_error_clear(&e);
	if (argc > 1)
		return cli_usage(c, cmd, "unexpected argument '%s'", argv[1]);
	if (config_path(c, &e) != 0 ||
	    kw_config_defaults(&defaults, c->config_path, c->root, &e) != 0)
		return cli_fail(c, &e);
	have_conf = cli_load_config(c, &e) == 0;
	if (!have_conf)
		problem(&problems, &e);
	cfg = have_conf ? &c->cfg : &defaults;

	if (kw_check_dir(cfg->etc_dir, &e) != 0)
		problem(&problems, &e);
	if (kw_master_key_load(cfg->master_key, key, &e) != 0)
		problem(&problems, &e);
	else
		have_key = true;
	if (check_audit_key(cfg->audit_key, &e) != 0)
		problem(&problems, &e);
	if (kw_check_dir(cfg->policy_d, &e) != 0)
		problem(&problems, &e);
	strcpy(vdir, cfg->vault);
	if (kw_check_dir(dirname(vdir), &e) != 0)
		problem(&problems, &e);
	if (have_key) {
		if (kw_vault_open(cfg->vault, key, &v, &e) != 0 ||
		    kw_vault_verify(v, &e) != 0) {
			problem(&problems, &e);
			kw_vault_close(v);
			v = NULL;
		}
	}
	kw_wipe(key, sizeof(key));
	if (v != NULL)
		check_schedules(v, &problems, &warnings);
	if (have_conf && cli_check_policy(c, v, &warnings, &e) != 0)
		problem(&problems, &e);
	if (cli_check_pam(c, &warnings, &e) != 0)
		problem(&problems, &e);
	if (problems == 0)
		printf("keyward check: ok (%zu secrets verified, %u warning%s)"
		    "\n", v != NULL ? kw_vault_count(v) : (size_t)0, warnings,
		    warnings == 1 ? "" : "s");
	else
		printf("keyward check: %u problem%s, %u warning%s\n", problems,
		    problems == 1 ? "" : "s", warnings,
		    warnings == 1 ? "" : "s");
	kw_vault_close(v);
	return problems == 0 ? KW_EXIT_OK : KW_EXIT_FAIL;
}
