/*
 * session.h - the core of pam_keyward and of the delivery lifecycle: the
 * account gate, session open (deliver every granted secret, all or
 * nothing), session close (revoke), and the registry operations the
 * lifecycle commands build on (list, revoke, update in place).
 *
 * The core never logs: problems that do not stop an operation (audit
 * failures in best-effort mode, housekeeping of crashed sessions) are
 * handed to the caller's warn() callback, which the PAM module sends to
 * syslog and the CLI to stderr. No message ever holds a secret value.
 */
#ifndef KW_SESSION_H
#define KW_SESSION_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "kw_config.h"
#include "kw_error.h"
#include "policy.h"
#include "registry.h"

/* Who and where, as the PAM application says. */
struct kw_session_params {
	const char *user;		/* PAM_USER (required) */
	const char *service;		/* PAM_SERVICE */
	const char *tty;		/* PAM_TTY or NULL */
	const char *rhost;		/* PAM_RHOST or NULL */
	const char *exe;		/* launcher's claim (KEYWARD_EXE) or NULL */
	const char *exe_sha256;		/* launcher's claim or NULL */
	pid_t pid;			/* the opening process; 0 = this one */
	time_t now;			/* 0 = time(NULL) */
	/* non-fatal problems, one line each; may be NULL */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};

/* A local user as the gate sees it. */
struct kw_user {
	char name[KW_REG_STR_MAX];
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
	char shell[PATH_MAX];
	char **groups;			/* primary first, then supplementary */
	size_t n_groups;
};

/* What an opened session got. */
struct kw_session_info {
	kw_session_id id;
	int32_t ring;			/* its fresh session keyring */
	size_t n_keys;			/* secrets delivered */
};

/*
 * Look a user up in passwd. The group names are looked up only when a
 * policy needs them (kw_user_groups()). Free with kw_user_free().
 */
int kw_user_lookup(const char *name, struct kw_user *u, struct kw_error *e);
void kw_user_free(struct kw_user *u);

/*
 * The account gate: evaluate policy for p and write the keyward-gate
 * record (USER_ACCT, kw_rule=file:line, res=success/failed). Returns 0
 * when allowed, KW_EDENIED when denied (e names the rule), another code
 * when configuration, policy or audit (in required mode) fail. rule (may
 * be NULL) receives the deciding rule.
 */
int kw_session_gate(const struct kw_config *cfg,
    const struct kw_session_params *p, char rule[KW_RULE_REF_MAX],
    struct kw_error *e);

/*
 * Open a session: gate again, check audit readiness (required mode), join
 * a fresh session keyring owned by the user, deliver every granted secret
 * (decrypted one at a time, wiped after add_key), record each in the
 * registry and audit it. All or nothing: on any failure every key
 * delivered so far is revoked, the registry is left as it was, and e
 * names the secret and the reason.
 */
int kw_session_open(const struct kw_config *cfg,
    const struct kw_session_params *p, struct kw_session_info *out,
    struct kw_error *e);

/*
 * Close session id (NULL: the session whose keyring is the caller's
 * session keyring): revoke its session keys, drop its hold on user keys
 * (revoking those it was the last holder of), audit each revocation and
 * remove it from the registry. KW_ENOTFOUND when there is no such session.
 * Keys are always revoked; in required mode a revocation record that
 * cannot be written makes the result KW_EAUDIT after the work is done.
 */
int kw_session_close(const struct kw_config *cfg, const char *id,
    const struct kw_session_params *p, struct kw_error *e);

#endif /* KW_SESSION_H */
