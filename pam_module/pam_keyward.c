/*
 * pam_keyward.c - the PAM module: account gates agents by policy, session
 * delivers the granted secrets into a fresh session keyring and revokes
 * them at close. Thin: parse options, call the core (keyring/session.c),
 * map its codes to PAM codes in one place, and log with pam_syslog.
 *
 * setcred does nothing and succeeds (see pam_keyward(8)): delivery is the
 * session's job, so an application that calls pam_setcred() before or
 * after pam_open_session() gets the same result.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "kw_config.h"
#include "keyring.h"
#include "kw_error.h"
#include "pam_options.h"
#include "policy.h"
#include "session.h"

#define DATA_SESSION "keyward-session-id"

/*
 * What an open keeps in the handle for the close: the session, and where
 * keyward.conf said to register and how to audit it, so that a
 * keyward.conf broken while the session ran does not keep it open.
 */
struct kept {
	kw_session_id id;
	int32_t ring;			/* the session's fresh keyring */
	char run_dir[PATH_MAX];
	enum kw_audit_mode audit;
};

/*
 * The limits lifted while the module works. Whoever starts a PAM
 * application sets its resource limits, and su is setuid: a user can
 * lower them so that an allocation or an open() inside the gate fails at
 * a chosen point. glibc's NSS hides some such failures (the "files"
 * source cannot read /etc/group, the next source answers "not found",
 * the lookup succeeds with fewer groups), and a group a deny rule names
 * would go unseen. Like sudo, the module lifts the memory, descriptor
 * and file size limits for its own work and puts them back before it
 * returns: each soft limit up to its hard limit, and with
 * CAP_SYS_RESOURCE the hard limit too (unlimited; descriptors: at least
 * KW_NOFILE_MIN). Without that capability a hard limit the caller
 * lowered stays (see pam_keyward(8), CAVEATS).
 */
#define KW_NOFILE_MIN 4096
static const int lifted_res[] = { RLIMIT_AS, RLIMIT_DATA, RLIMIT_NOFILE,
    RLIMIT_FSIZE };
#define N_LIFTED (sizeof(lifted_res) / sizeof(lifted_res[0]))

struct lifted {
	struct rlimit old[N_LIFTED];
	bool done[N_LIFTED];
	unsigned n;			/* limits actually raised */
};

/* The most resource res may have: unlimited, or KW_NOFILE_MIN fds. */
static struct rlimit
limit_max(int res, const struct rlimit *old)
{
	struct rlimit w;

	w.rlim_cur = w.rlim_max = RLIM_INFINITY;
	if (res == RLIMIT_NOFILE)	/* capped by fs.nr_open */
		w.rlim_cur = w.rlim_max = old->rlim_max < KW_NOFILE_MIN ?
		    KW_NOFILE_MIN : old->rlim_max;
	return w;
}

/* Raise the limits of lifted_res (saving them in l). */
static void
limits_lift(struct lifted *l)
{
	struct rlimit want;
	size_t i;

	memset(l, 0, sizeof(*l));
	if (geteuid() != 0)
		return;
	for (i = 0; i < N_LIFTED; i++) {
		if (getrlimit(lifted_res[i], &l->old[i]) != 0)
			continue;
		want = limit_max(lifted_res[i], &l->old[i]);
		if (want.rlim_max != l->old[i].rlim_max &&
		    setrlimit(lifted_res[i], &want) == 0) {
			l->done[i] = true;
			l->n++;
			continue;
		}
		/* no CAP_SYS_RESOURCE: the soft limit up to the hard one */
		want = l->old[i];
		want.rlim_cur = want.rlim_max;
		if (want.rlim_cur != l->old[i].rlim_cur &&
		    setrlimit(lifted_res[i], &want) == 0) {
			l->done[i] = true;
			l->n++;
		}
	}
}

/* Put back what limits_lift() raised. */
static void
limits_restore(const struct lifted *l)
{
	size_t i;

	for (i = 0; i < N_LIFTED; i++)
		if (l->done[i])
			(void)setrlimit(lifted_res[i], &l->old[i]);
}

/*
 * Parse the module's arguments into o with the core's parser
 * (config/pam_options.c). Returns PAM_SUCCESS, or PAM_SERVICE_ERR (logged)
 * on an unknown or malformed option.
 */
static int
parse_opts(pam_handle_t *pamh, int argc, const char **argv,
    struct kw_pam_options *o)
{
	struct kw_error e;

	kw_error_clear(&e);
	if (kw_pam_options_parse(argc, argv, o, &e) != 0) {
		pam_syslog(pamh, LOG_ERR, "%s", kw_error_text(&e));
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

/*
 * The one map from core codes to PAM codes; anything not listed is a
 * failure (fail closed).
 */
static int
to_pam(int rc, bool session)
{
	switch (rc) {
	case KW_OK:
		return PAM_SUCCESS;
	case KW_EDENIED:
		return PAM_PERM_DENIED;
	case KW_ENOMEM:
		return PAM_BUF_ERR;
	case KW_EKEYRING:
	case KW_EQUOTA:
		return session ? PAM_SESSION_ERR : PAM_SERVICE_ERR;
	default:
		return PAM_SERVICE_ERR;
	}
}

/* Hand the core's non-fatal problems to syslog. */
static void
warn_syslog(void *arg, const char *msg)
{
	pam_syslog((pam_handle_t *)arg, LOG_WARNING, "%s", msg);
}

/* Read a PAM item as a string (NULL when unset). */
static const char *
item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS)
		return NULL;
	return v;
}

/*
 * Common start of account and session: options, keyward.conf and the
 * request parameters. Returns a PAM code (errors already logged). k: what
 * the open of the session to close kept; when keyward.conf cannot be
 * loaded, the close goes on with it (and *broken is set).
 */
static int
setup(pam_handle_t *pamh, int argc, const char **argv,
    struct kw_pam_options *o, struct kw_config *cfg,
    struct kw_session_params *p, const struct lifted *l,
    const struct kept *k, bool *broken)
{
	struct kw_error e;
	const char *user = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = parse_opts(pamh, argc, argv, o)) != PAM_SUCCESS)
		return rc;
	if (o->debug && l->n > 0)
		pam_syslog(pamh, LOG_DEBUG, "%u resource limit(s) of the "
		    "caller lifted while the module works", l->n);
	kw_error_clear(&e);
	if (kw_config_load(cfg, o->config, &e) != 0) {
		pam_syslog(pamh, LOG_ERR, "%s", kw_error_text(&e));
		kw_config_free(cfg);
		if (k == NULL || kw_config_defaults(cfg, o->config, NULL, &e) !=
		    0)
			return PAM_SERVICE_ERR;
		memcpy(cfg->run_dir, k->run_dir, sizeof(cfg->run_dir));
		cfg->audit = k->audit;
		*broken = true;
		pam_syslog(pamh, LOG_ERR, "closing session %s all the same, "
		    "with the run_dir and audit mode it was opened with",
		    k->id);
	}
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL ||
	    *user == '\0') {
		pam_syslog(pamh, LOG_ERR, "cannot determine the user");
		kw_config_free(cfg);
		return PAM_USER_UNKNOWN;
	}
	p->user = user;
	p->service = item(pamh, PAM_SERVICE);
	p->tty = item(pamh, PAM_TTY);
	p->rhost = item(pamh, PAM_RHOST);
	/* the core believes these only from a trusted launcher */
	p->exe = pam_getenv(pamh, "KEYWARD_EXE");
	p->exe_sha256 = pam_getenv(pamh, "KEYWARD_EXE_SHA256");
	p->warn = warn_syslog;
	p->warn_arg = pamh;
	return PAM_SUCCESS;
}

/* Free what an open kept for the close. */
static void
free_data(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* account: the policy gate. */
static int
acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv,
    const struct lifted *l)
{
	char rule[KW_RULE_REF_MAX];
	struct kw_session_params p;
	struct kw_config cfg;
	struct kw_error e;
	struct kw_pam_options o;
	int rc, kr;

	(void)flags;
	if ((rc = setup(pamh, argc, argv, &o, &cfg, &p, l, NULL, NULL)) !=
	    PAM_SUCCESS)
		return rc;
	kw_error_clear(&e);
	kr = kw_session_gate(&cfg, &p, rule, &e);
	if (kr == KW_EDENIED)
		pam_syslog(pamh, LOG_NOTICE, "%s", kw_error_text(&e));
	else if (kr != 0)
		pam_syslog(pamh, LOG_ERR, "%s", kw_error_text(&e));
	else if (o.debug)
		pam_syslog(pamh, LOG_DEBUG, "user '%s' allowed by %s", p.user,
		    rule);
	rc = to_pam(kr, false);
	kw_config_free(&cfg);
	return rc;
}

/* session open: deliver. */
static int
open_session(pam_handle_t *pamh, int flags, int argc, const char **argv,
    const struct lifted *l)
{
	struct kw_session_params p;
	struct kw_session_info info;
	struct kw_config cfg;
	struct kw_error e;
	struct kw_pam_options o;
	struct kept *k;
	char env[64];
	int rc, kr;

	(void)flags;
	if ((rc = setup(pamh, argc, argv, &o, &cfg, &p, l, NULL, NULL)) !=
	    PAM_SUCCESS)
		return rc;
	kw_error_clear(&e);
	kr = kw_session_open(&cfg, &p, &info, &e);
	if (kr != 0) {
		pam_syslog(pamh, LOG_ERR, "session for user '%s' not opened: "
		    "%s", p.user, kw_error_text(&e));
		rc = to_pam(kr, true);
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) != NULL) {
		memcpy(k->id, info.id, sizeof(k->id));
		k->ring = info.ring;
		memcpy(k->run_dir, cfg.run_dir, sizeof(k->run_dir));
		k->audit = cfg.audit;
	}
	if (k == NULL ||
	    pam_set_data(pamh, DATA_SESSION, k, free_data) != PAM_SUCCESS) {
		free(k);
		pam_syslog(pamh, LOG_ERR, "cannot keep the session id; closing "
		    "session %s", info.id);
		kw_session_close(&cfg, info.id, &p, &e);
		rc = PAM_BUF_ERR;
		goto out;
	}
	snprintf(env, sizeof(env), "KEYWARD_SESSION=%s", info.id);
	pam_putenv(pamh, env);
	if (o.debug)
		pam_syslog(pamh, LOG_DEBUG, "session %s for user '%s': %zu "
		    "secret(s) in keyring %ld", info.id, p.user, info.n_keys,
		    (long)info.ring);
	rc = PAM_SUCCESS;
out:
	kw_config_free(&cfg);
	return rc;
}

/*
 * session close without root: what systemd's (sd-pam) process does for a
 * unit with User= and PAMName= (it drops to the service's uid first). The
 * registry and the keys' revocation need root; what the session's own
 * process can do is unlink its keys from the session keyring (its
 * possessor may write it), so that nothing in the session reaches them
 * from then on, and the kernel frees those linked nowhere else. Writing
 * the keyward-revoke records needs CAP_AUDIT_WRITE, which is gone too. The
 * opener has exited by now: the next sweep (any session open, keyward
 * sessions) removes its registry entry and revokes what is still live.
 */
static int
close_unprivileged(pam_handle_t *pamh, int argc, const char **argv)
{
	struct kw_pam_options o;
	struct kw_error e;
	const void *data = NULL;
	const struct kept *k;
	size_t n = 0;
	int rc;

	if ((rc = parse_opts(pamh, argc, argv, &o)) != PAM_SUCCESS)
		return rc;
	if (pam_get_data(pamh, DATA_SESSION, &data) != PAM_SUCCESS ||
	    data == NULL) {
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG, "close: no keyward session "
			    "was opened in this handle");
		return PAM_SUCCESS;
	}
	k = data;
	kw_error_clear(&e);
	if (kw_keyring_unlink_all(k->ring, &n, &e) != 0) {
		pam_syslog(pamh, LOG_ERR, "close of session %s without root "
		    "privileges: %s; its keys stay until the next sweep or "
		    "their timeout", k->id, kw_error_text(&e));
		rc = PAM_SESSION_ERR;
	} else {
		pam_syslog(pamh, LOG_WARNING, "close of session %s without "
		    "root privileges (uid %ld): %zu key(s) unlinked from its "
		    "keyring, out of its processes' reach; without root no "
		    "keyward-revoke record is written, and the registry entry "
		    "waits for the next sweep (a session open, keyward "
		    "sessions)", k->id, (long)geteuid(), n);
		rc = PAM_SUCCESS;
	}
	pam_set_data(pamh, DATA_SESSION, NULL, NULL);
	return rc;
}

/* session close: revoke. */
static int
close_session(pam_handle_t *pamh, int flags, int argc, const char **argv,
    const struct lifted *l)
{
	struct kw_session_params p;
	struct kw_config cfg;
	struct kw_error e;
	struct kw_pam_options o;
	const void *data = NULL;
	const struct kept *k = NULL;
	const char *id = NULL;
	bool broken = false;
	int rc, kr;

	(void)flags;
	if (geteuid() != 0)
		return close_unprivileged(pamh, argc, argv);
	if (pam_get_data(pamh, DATA_SESSION, &data) == PAM_SUCCESS &&
	    data != NULL) {
		k = data;
		id = k->id;
	}
	if ((rc = setup(pamh, argc, argv, &o, &cfg, &p, l, k, &broken)) !=
	    PAM_SUCCESS)
		return rc;
	kw_error_clear(&e);
	kr = kw_session_close(&cfg, id, &p, &e);
	if (kr == KW_ENOTFOUND) {
		/* nothing open here (open failed, or closed already) */
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG, "close: %s",
			    kw_error_text(&e));
		rc = PAM_SUCCESS;
	} else if (kr != 0) {
		pam_syslog(pamh, LOG_ERR, "close: %s", kw_error_text(&e));
		rc = to_pam(kr, true);
	} else {
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG, "session %s closed",
			    id != NULL ? id : "(by keyring)");
		rc = PAM_SUCCESS;
	}
	if (id != NULL)
		pam_set_data(pamh, DATA_SESSION, NULL, NULL);
	kw_config_free(&cfg);
	/* closed or not, a broken keyward.conf is not a success */
	return broken && rc == PAM_SUCCESS ? PAM_SERVICE_ERR : rc;
}

/* The entry points: the work above, with the caller's limits lifted. */
typedef int (*entry_fn)(pam_handle_t *, int, int, const char **,
    const struct lifted *);

static int
run_lifted(entry_fn fn, pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct lifted l;
	int rc;

	limits_lift(&l);
	rc = fn(pamh, flags, argc, argv, &l);
	limits_restore(&l);
	return rc;
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run_lifted(acct_mgmt, pamh, flags, argc, argv);
}

PAM_EXTERN int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	return run_lifted(open_session, pamh, flags, argc, argv);
}

PAM_EXTERN int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	return run_lifted(close_session, pamh, flags, argc, argv);
}

/*
 * setcred: ESTABLISH/DELETE/REINITIALIZE/REFRESH all succeed without side
 * effects; an unknown option still fails.
 */
PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct kw_pam_options o;

	(void)flags;
	return parse_opts(pamh, argc, argv, &o);
}

/* auth: keyward does not authenticate; it stays out of the decision. */
PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct kw_pam_options o;
	int rc;

	(void)flags;
	if ((rc = parse_opts(pamh, argc, argv, &o)) != PAM_SUCCESS)
		return rc;
	return PAM_IGNORE;
}
