/*
 * session.c - gate, deliver, revoke: the logic behind pam_keyward's
 * account and session phases and the registry lifecycle operations.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "keyring.h"
#include "policy.h"
#include "registry.h"
#include "session.h"
#include "vault.h"

/* Everything one operation holds; released by ctx_done(). */
struct ctx {
	const struct kw_config *cfg;
	const struct kw_session_params *p;
	struct kw_audit *audit;
	struct kw_fp *fp;		/* keyed with the audit key, or NULL */
	bool audit_failed;		/* a record was lost (required mode) */
	struct kw_error audit_err;
	gid_t egid;			/* the effective gid: kw_keyring_add() */
};

/* Hand a non-fatal problem to the caller. */
static void __attribute__((format(printf, 2, 3)))
warnf(const struct ctx *c, const char *fmt, ...)
{
	char buf[KW_ERROR_MSG_MAX + 128];
	va_list ap;

	if (c->p == NULL || c->p->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->p->warn(c->p->warn_arg, buf);
}

/*
 * Open the audit connection for cfg into *a; in best-effort mode its status
 * check is shared through the stamp in the registry directory (root's
 * only: kw_registry_open() makes and checks it), so that sessions opened
 * within seconds of each other do not each ask the kernel.
 */
static int
audit_open(const struct kw_config *cfg, struct kw_audit **a,
    struct kw_error *e)
{
	char stamp[PATH_MAX + sizeof(KW_AUDIT_STAMP) + 1];
	int rc;

	if ((rc = kw_audit_open(cfg->audit, a, e)) != 0)
		return rc;
	if (kw_snprintf(stamp, sizeof(stamp), NULL, "%s/%s", cfg->run_dir,
	    KW_AUDIT_STAMP) != 0)
		return 0;	/* no stamp: every check is made */
	if ((rc = kw_audit_share_status(*a, stamp, e)) != 0) {
		kw_audit_close(*a);
		*a = NULL;
	}
	return rc;
}

/* Open the audit connection and, when fp is wanted, the audit key. */
static int
ctx_audit(struct ctx *c, bool want_key, struct kw_error *e)
{
	unsigned char akey[KW_AUDIT_KEY_LEN];
	struct kw_error ke;
	int rc;

	if ((rc = audit_open(c->cfg, &c->audit, e)) != 0)
		return rc;
	if (!want_key)
		return 0;
	kw_error_clear(&ke);
	/* the key itself is kept only inside the keyed HMAC */
	rc = kw_audit_key_load(c->cfg->audit_key, akey, &ke);
	if (rc == 0)
		rc = kw_fp_new(akey, &c->fp, &ke);
	kw_wipe(akey, sizeof(akey));
	if (rc == 0)
		return 0;
	if (c->cfg->audit == KW_AUDIT_REQUIRED) {
		*e = ke;
		return ke.code != 0 ? ke.code : KW_EAUDIT;
	}
	warnf(c, "audit key: %s (records go without fp=)", kw_error_text(&ke));
	return 0;
}

/* Release what a ctx holds. */
static void
ctx_done(struct ctx *c)
{
	kw_audit_close(c->audit);
	c->audit = NULL;
	kw_fp_free(c->fp);
	c->fp = NULL;
}

/*
 * Write one record. In required mode a lost record is an error (the caller
 * refuses the operation); in best-effort mode it is a warning.
 */
static int
emit(struct ctx *c, const struct kw_audit_rec *r, struct kw_error *e)
{
	struct kw_error ae;
	int rc;

	kw_error_clear(&ae);
	if ((rc = kw_audit_emit(c->audit, r, &ae)) == 0)
		return 0;
	if (c->cfg->audit == KW_AUDIT_REQUIRED ||
	    kw_audit_fatal(c->audit, rc)) {
		if (e != NULL)
			*e = ae;
		if (!c->audit_failed) {
			c->audit_err = ae;
			c->audit_failed = true;
		}
		return rc;
	}
	warnf(c, "audit record %s lost (audit = best-effort): %s",
	    kw_audit_op_name(r->op), kw_error_text(&ae));
	return 0;
}

/* The steps of a batch of records (kw_audit_batch_begin() and on). */
enum batch_step {
	BATCH_BEGIN,
	BATCH_SEND,
	BATCH_END,
};

/*
 * Begin, send or end a batch of records: one audit status check around
 * the batch instead of one around each record. Failures are handled as
 * emit() handles a record's: an error in required mode (or when fatal), a
 * warning in best-effort mode.
 */
static int
batch(struct ctx *c, enum batch_step step, struct kw_error *e)
{
	struct kw_error ae;
	int rc;

	kw_error_clear(&ae);
	rc = step == BATCH_BEGIN ? kw_audit_batch_begin(c->audit, &ae) :
	    step == BATCH_SEND ? kw_audit_batch_send(c->audit, &ae) :
	    kw_audit_batch_end(c->audit, &ae);
	if (rc == 0)
		return 0;
	if (c->cfg->audit == KW_AUDIT_REQUIRED ||
	    kw_audit_fatal(c->audit, rc)) {
		if (e != NULL)
			*e = ae;
		return rc;
	}
	warnf(c, "audit records may be lost (audit = best-effort): %s",
	    kw_error_text(&ae));
	return 0;
}

/* ---- users ---------------------------------------------------------- */

/* Free a user. */
void
kw_user_free(struct kw_user *u)
{
	if (u == NULL)
		return;
	kw_request_groups_free(u->groups, u->n_groups);
	u->groups = NULL;
	u->n_groups = 0;
}

/* Look up the passwd entry of a user (group names: evaluate()). */
int
kw_user_lookup(const char *name, struct kw_user *u, struct kw_error *e)
{
	struct passwd pw, *pwp = NULL;
	char *buf = NULL;
	size_t bufsz = 65536;
	int rc, r;

	memset(u, 0, sizeof(*u));
	if (name == NULL || *name == '\0')
		return kw_fail(e, KW_EINVAL, "no user name");
	if ((buf = malloc(bufsz)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	r = getpwnam_r(name, &pw, buf, bufsz, &pwp);
	if (pwp == NULL) {
		rc = r != 0 ? kw_fail_errno(e, KW_ESYSTEM, r,
		    "user '%s': passwd lookup", name) :
		    kw_fail(e, KW_ENOTFOUND, "user '%s': no such user", name);
		goto out;
	}
	if (kw_snprintf(u->name, sizeof(u->name), e, "%s", pw.pw_name) != 0 ||
	    kw_snprintf(u->home, sizeof(u->home), e, "%s", pw.pw_dir) != 0 ||
	    kw_snprintf(u->shell, sizeof(u->shell), e, "%s",
	    pw.pw_shell[0] != '\0' ? pw.pw_shell : "/bin/sh") != 0) {
		rc = kw_error_prefix(e, "user '%s'", name);
		goto out;
	}
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	rc = 0;
out:
	if (rc != 0)
		kw_user_free(u);
	free(buf);
	return rc;
}

/* ---- gate ------------------------------------------------------------ */

/*
 * True when this process is keyward run (keyward-admin), the only program
 * whose KEYWARD_EXE/KEYWARD_EXE_SHA256 claims are believed. The PAM
 * environment can be written by any application or module in the stack
 * (systemd copies a unit's Environment= into it), so a trusted service
 * name alone proves nothing about who made the claim. The executable must
 * be a regular file named keyward-admin, owned by root and writable by
 * nobody else: only root can put such a file in place.
 */
static bool
claims_from_keyward_run(void)
{
	char path[PATH_MAX];
	const char *base;
	struct stat st;
	ssize_t n;

	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	base = strrchr(path, '/');
	if (base == NULL || strcmp(base + 1, "keyward-admin") != 0)
		return false;
	if (stat("/proc/self/exe", &st) != 0)
		return false;
	return S_ISREG(st.st_mode) && st.st_uid == 0 &&
	    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* Build the policy request of p for user u. */
static void
make_request(const struct kw_config *cfg, const struct kw_session_params *p,
    const struct kw_user *u, struct kw_request *req)
{
	memset(req, 0, sizeof(*req));
	req->user = u->name;
	req->groups = (const char *const *)u->groups;
	req->n_groups = u->n_groups;
	req->service = p->service;
	req->tty = p->tty;
	req->rhost = p->rhost;
	req->now = p->now != 0 ? p->now : time(NULL);
	req->trusted_launcher = kw_config_is_trusted_launcher(cfg, p->service);
	/* a claim is only believed from keyward run in a trusted service */
	if (req->trusted_launcher && claims_from_keyward_run()) {
		req->exe = p->exe;
		req->exe_sha256 = p->exe_sha256;
	}
}

/*
 * Evaluate policy: fills d (free with kw_decision_free). The user's group
 * names (the group database: most of a lookup's cost) are fetched only
 * when some rule matches on groups.
 */
static int
evaluate(const struct kw_config *cfg, const struct kw_session_params *p,
    struct kw_user *u, struct kw_decision *d, struct kw_error *e)
{
	struct kw_policy *pol = NULL;
	struct kw_request req;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = kw_policy_load(cfg, &pol, e)) != 0)
		return rc;
	if (u->groups == NULL && kw_policy_uses_groups(pol) &&
	    (rc = kw_request_groups(u->name, &u->groups, &u->n_groups,
	    e)) != 0) {
		kw_policy_free(pol);
		return rc;
	}
	make_request(cfg, p, u, &req);
	rc = kw_policy_eval(pol, cfg, &req, d, e);
	kw_policy_free(pol);
	return rc;
}

/* The account gate. */
int
kw_session_gate(const struct kw_config *cfg, const struct kw_session_params *p,
    char rule[KW_RULE_REF_MAX], struct kw_error *e)
{
	struct ctx c = { .cfg = cfg, .p = p };
	struct kw_decision d;
	struct kw_audit_rec rec;
	struct kw_user u;
	int rc;

	memset(&d, 0, sizeof(d));
	if (rule != NULL)
		rule[0] = '\0';
	if ((rc = kw_user_lookup(p->user, &u, e)) != 0)
		return rc;
	if ((rc = evaluate(cfg, p, &u, &d, e)) != 0)
		goto out;
	if (rule != NULL)
		snprintf(rule, KW_RULE_REF_MAX, "%s", d.rule);
	if ((rc = ctx_audit(&c, false, e)) != 0)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.op = KW_OP_GATE;
	rec.rule = d.rule;
	rec.acct = u.name;
	rec.hostname = p->rhost;
	rec.tty = p->tty;
	rec.success = d.allow;
	if ((rc = emit(&c, &rec, e)) != 0) {
		kw_error_prefix(e, "keyward-gate record for user '%s'", u.name);
		goto out;
	}
	if (!d.allow)
		rc = kw_fail(e, KW_EDENIED, "user '%s' on service '%s': denied "
		    "by %s", u.name, p->service != NULL ? p->service : "-",
		    d.rule);
out:
	ctx_done(&c);
	kw_decision_free(&d);
	kw_user_free(&u);
	return rc;
}

/* ---- open ------------------------------------------------------------ */

/* One delivery made during an open, to undo it on failure. */
struct made {
	struct kw_delivery d;
	bool new_key;			/* we created the key */
	bool ukey_written;		/* its user key file was written */
	struct kw_reg_userkey old;	/* user key file before (if any) */
	bool had_old;
};

/* Fill the common fields of a key record. */
static void
key_rec(struct kw_audit_rec *r, enum kw_audit_op op,
    const struct kw_delivery *d, const char *fp, uint64_t ttl,
    const char *rule, const char *session, const char *user,
    const struct kw_session_params *p, bool success)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->secret = d->secret;
	r->version = d->version;
	r->fp = fp != NULL && fp[0] != '\0' ? fp : NULL;
	r->serial = d->serial;
	r->scope = d->scope == KW_SCOPE_USER ? "user" : "session";
	r->ttl = ttl;
	r->rule = rule;
	r->session = session;
	r->acct = user;
	if (p != NULL) {
		r->hostname = p->rhost;
		r->tty = p->tty;
	}
	r->success = success;
}

/*
 * Fingerprint a value if we have the audit key. When that fails the
 * record would go without fp=: as for a missing audit key (ctx_audit), an
 * error with audit = required, a warning otherwise.
 */
static int
fingerprint(struct ctx *c, const void *v, size_t len,
    char fp[KW_FP_HEX_LEN + 1], struct kw_error *e)
{
	struct kw_error fe;

	fp[0] = '\0';
	if (c->fp == NULL)
		return 0;
	kw_error_clear(&fe);
	if (kw_fp_value(c->fp, v, len, fp, &fe) == 0)
		return 0;
	fp[0] = '\0';
	if (c->cfg->audit == KW_AUDIT_REQUIRED) {
		if (e != NULL)
			*e = fe;
		return kw_error_prefix(e, "audit fp");
	}
	warnf(c, "audit fp: %s (record goes without fp=)",
	    kw_error_text(&fe));
	return 0;
}

/*
 * A session key's value, decrypted and fingerprinted ahead of its add_key.
 * Session keys are delivered in runs of AHEAD_RUN: the values of a run
 * first, then its keys one system call after another, so the kernel's key
 * and audit paths stay in the CPU's caches from one key to the next
 * instead of being pushed out by the cipher in between. At most a run's
 * values are in memory in the clear at once, each wiped right after its
 * add_key (or when the open fails).
 */
struct ahead {
	struct kw_secret *sec;		/* NULL: not decrypted ahead */
	char fp[KW_FP_HEX_LEN + 1];
};

#define AHEAD_RUN 32

/* Decrypt ahead the values of the n session-scope grants g into a. */
static int
decrypt_ahead(struct ctx *c, struct kw_vault *v, const struct kw_grant *g,
    size_t n, struct ahead *a, struct kw_error *e)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (g[i].scope != KW_SCOPE_SESSION)
			continue;	/* may share a live key: deliver_one() */
		if ((rc = kw_vault_get(v, g[i].name, 0, &a[i].sec, e)) != 0 ||
		    (rc = fingerprint(c, a[i].sec->data, a[i].sec->len,
		    a[i].fp, e)) != 0) {
			kw_error_prefix(e, "secret '%s'", g[i].name);
			return rc;
		}
	}
	return 0;
}

/* Wipe and free the n values a still holds. */
static void
ahead_free(struct ahead *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		kw_secret_free(a[i].sec);
	free(a);
}

/*
 * Deliver one granted secret into ring (or link the user's shared key);
 * its value is taken from a when decrypted ahead.
 */
static int
deliver_one(struct ctx *c, struct kw_registry *reg, struct kw_vault *v,
    const struct kw_grant *g, const struct kw_user *u,
    const struct kw_reg_session *s, int32_t ring, time_t now,
    struct ahead *a, struct made *m, struct kw_error *e)
{
	struct kw_secret *sec = NULL;
	struct kw_reg_userkey uk;
	struct kw_audit_rec rec;
	char fp[KW_FP_HEX_LEN + 1] = "";
	uint64_t ttl = g->ttl;
	int rc;

	memset(m, 0, sizeof(*m));
	memset(&uk, 0, sizeof(uk));
	_Static_assert(sizeof(m->d.secret) == sizeof(g->name), "name sizes");
	memcpy(m->d.secret, g->name, sizeof(m->d.secret));
	m->d.scope = g->scope;
	if (g->scope == KW_SCOPE_USER) {
		rc = kw_registry_userkey_get(reg, u->uid, g->name, &uk, e);
		if (rc != 0 && rc != KW_ENOTFOUND)
			goto out;
		if (rc == 0 && kw_keyring_is_live(uk.serial, g->name)) {
			/* share the live key: same serial in this session */
			m->had_old = true;
			m->old = uk;
			memset(&uk, 0, sizeof(uk));
			/*
			 * Least privilege: the shared key must not outlive
			 * this grant. When it would, its timeout is brought
			 * down to the grant's TTL, for every holder (a
			 * user-scope key lives as long as its shortest
			 * remaining grant).
			 */
			if (m->old.until > now &&
			    (uint64_t)(m->old.until - now) > g->ttl) {
				if ((rc = kw_keyring_set_timeout(m->old.serial,
				    g->name, g->ttl, e)) != 0)
					goto out;
				m->old.until = (int64_t)now + (int64_t)g->ttl;
			}
			if ((rc = kw_keyring_link(m->old.serial, ring, g->name,
			    e)) != 0)
				goto out;
			m->d.serial = m->old.serial;
			m->d.version = m->old.version;
			m->d.until = m->old.until;
			ttl = m->old.until > now ? (uint64_t)(m->old.until -
			    now) : 1;
			if (c->fp != NULL &&
			    kw_vault_get(v, g->name, m->old.version, &sec,
			    NULL) == 0) {
				rc = fingerprint(c, sec->data, sec->len, fp, e);
				kw_secret_free(sec);
				sec = NULL;
				if (rc != 0)
					goto out;
			}
			goto record;
		}
		kw_reg_userkey_clear(&uk);
	}
	if (a->sec != NULL) {
		sec = a->sec;
		a->sec = NULL;
		memcpy(fp, a->fp, sizeof(fp));
	} else if ((rc = kw_vault_get(v, g->name, 0, &sec, e)) != 0 ||
	    (rc = fingerprint(c, sec->data, sec->len, fp, e)) != 0)
		goto out;
	/* into the ring just joined, by its special id: the kernel takes it
	 * from the thread's credentials, no serial lookup */
	rc = kw_keyring_add(KEY_SPEC_SESSION_KEYRING, g->name, sec->data,
	    sec->len, ttl, c->egid, &m->d.serial, e);
	m->d.version = sec->version;
	kw_secret_free(sec);	/* wiped right after add_key */
	sec = NULL;
	if (rc != 0)
		goto out;
	m->new_key = true;
	m->d.until = (int64_t)now + (int64_t)(ttl > KW_KEY_TIMEOUT_MAX ?
	    KW_KEY_TIMEOUT_MAX : ttl);
record:
	key_rec(&rec, KW_OP_DELIVER, &m->d, fp, ttl, g->rule, s->id, u->name,
	    c->p, true);
	rc = emit(c, &rec, e);
out:
	if (rc != 0)
		kw_error_prefix(e, "secret '%s'", g->name);
	kw_secret_free(sec);
	kw_reg_userkey_clear(&uk);
	return rc;
}

/* Undo the deliveries of a failed open. */
static void
undo(struct ctx *c, struct kw_registry *reg, const struct kw_user *u,
    const struct kw_reg_session *s, int32_t ring, struct made *m, size_t n)
{
	struct kw_audit_rec rec;
	struct kw_error ie;
	size_t i;

	for (i = n; i-- > 0;) {
		kw_error_clear(&ie);
		if (m[i].new_key) {
			kw_keyring_revoke(m[i].d.serial, m[i].d.secret, &ie);
			kw_keyring_unlink(m[i].d.serial, ring, &ie);
			if (m[i].ukey_written)
				kw_registry_userkey_del(reg, u->uid,
				    m[i].d.secret, &ie);
			key_rec(&rec, KW_OP_REVOKE, &m[i].d, NULL, 0, NULL,
			    s->id, u->name, c->p, true);
			kw_audit_emit(c->audit, &rec, &ie);
		} else {
			kw_keyring_unlink(m[i].d.serial, ring, &ie);
			if (m[i].ukey_written)
				kw_registry_userkey_put(reg, &m[i].old, &ie);
		}
	}
}

/* Free the undo list (NULL-safe: its allocation may have failed). */
static void
made_free(struct made *m, size_t n)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < n; i++)
		kw_reg_userkey_clear(&m[i].old);
	free(m);
}

/* Sweep crashed sessions while holding the registry lock. */
static size_t sweep_locked(struct ctx *c, struct kw_registry *reg);

/* Open a session. */
int
kw_session_open(const struct kw_config *cfg, const struct kw_session_params *p,
    struct kw_session_info *out, struct kw_error *e)
{
	struct ctx c = { .cfg = cfg, .p = p };
	unsigned char mkey[KW_MASTER_KEY_LEN];
	struct kw_decision d;
	struct kw_grant *grants = NULL;
	struct kw_registry *reg = NULL;
	struct kw_vault *v = NULL;
	struct kw_reg_session s;
	struct kw_reg_userkey uk;
	struct made *m = NULL;
	struct ahead *ahead = NULL;
	struct kw_user u;
	size_t n_grants = 0, n_made = 0, i;
	time_t now = p->now != 0 ? p->now : time(NULL);
	int32_t ring = 0;
	bool sent = false;	/* batch sent, not ended */
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	memset(&s, 0, sizeof(s));
	memset(&uk, 0, sizeof(uk));
	if ((rc = kw_user_lookup(p->user, &u, e)) != 0)
		return rc;
	if ((rc = evaluate(cfg, p, &u, &d, e)) != 0)
		goto out;
	if (!d.allow) {
		rc = kw_fail(e, KW_EDENIED, "user '%s' on service '%s': denied "
		    "by %s; nothing delivered", u.name,
		    p->service != NULL ? p->service : "-", d.rule);
		goto out;
	}
	/*
	 * audit first: with audit=required nothing goes out unrecorded. What
	 * the audit checks need (readiness; the status in best-effort mode)
	 * is asked for now and taken after the vault work, which hands
	 * nothing out, instead of waited for.
	 */
	if ((rc = ctx_audit(&c, true, e)) != 0)
		goto out;
	kw_audit_ask_ahead(c.audit);
	if ((rc = kw_master_key_load(cfg->master_key, mkey, e)) != 0)
		goto out;
	rc = kw_vault_open(cfg->vault, mkey, &v, e);
	kw_wipe(mkey, sizeof(mkey));
	if (rc != 0)
		goto out;
	if ((rc = kw_policy_resolve(&d, cfg, v, &grants, &n_grants, e)) != 0)
		goto out;
	if (cfg->audit == KW_AUDIT_REQUIRED &&
	    (rc = kw_audit_ready(c.audit, e)) != 0) {
		kw_error_prefix(e, "audit = required");
		goto out;
	}

	if ((rc = kw_registry_open(cfg->run_dir, &reg, e)) != 0)
		goto out;
	sweep_locked(&c, reg);
	if ((rc = kw_session_id_new(s.id, e)) != 0)
		goto out;
	/* this process: its pid as /proc numbers it, as the sweep reads it */
	s.pid = p->pid;
	if ((rc = p->pid != 0 ? kw_proc_start_time(s.pid, &s.start, e) :
	    kw_proc_self(&s.pid, &s.start, e)) != 0)
		goto out;
	s.uid = u.uid;
	s.opened = (int64_t)now;
	snprintf(s.user, sizeof(s.user), "%s", u.name);
	snprintf(s.service, sizeof(s.service), "%s",
	    p->service != NULL ? p->service : "");
	snprintf(s.tty, sizeof(s.tty), "%s", p->tty != NULL ? p->tty : "");
	if (kw_config_is_trusted_launcher(cfg, p->service) && p->exe != NULL)
		snprintf(s.exe, sizeof(s.exe), "%s", p->exe);

	if ((rc = kw_keyring_new_session(u.uid, u.gid, &ring, &c.egid,
	    e)) != 0)
		goto out;
	s.ring = ring;
	if (n_grants > 0 && ((m = calloc(n_grants, sizeof(*m))) == NULL ||
	    (ahead = calloc(n_grants, sizeof(*ahead))) == NULL)) {
		rc = kw_fail(e, KW_ENOMEM, "out of memory");
		goto out;
	}
	/* the deliver records are one batch: kept all, or the open fails */
	if ((rc = batch(&c, BATCH_BEGIN, e)) != 0)
		goto out;
	for (i = 0; i < n_grants; i++) {
		if (i % AHEAD_RUN == 0 && (rc = decrypt_ahead(&c, v,
		    &grants[i], n_grants - i < AHEAD_RUN ? n_grants - i :
		    AHEAD_RUN, &ahead[i], e)) != 0)
			goto out;
		rc = deliver_one(&c, reg, v, &grants[i], &u, &s, ring, now,
		    &ahead[i], &m[i], e);
		if (m[i].d.serial != 0)
			n_made = i + 1;
		if (rc != 0)
			goto out;
		if ((rc = kw_reg_session_add_key(&s, &m[i].d, e)) != 0)
			goto out;
	}
	/*
	 * The last records go out with the request for the audit status
	 * after them; the registry is written while the kernel answers, and
	 * undone (out:) when the answer says a record may be lost.
	 */
	sent = true;
	if ((rc = batch(&c, BATCH_SEND, e)) != 0)
		goto out;
	/* user key files first, then the session that holds them */
	for (i = 0; i < n_made; i++) {
		if (m[i].d.scope != KW_SCOPE_USER)
			continue;
		kw_reg_userkey_clear(&uk);
		if (m[i].had_old) {
			uk = m[i].old;
			uk.holders = NULL;
			uk.n_holders = 0;
			for (size_t h = 0; h < m[i].old.n_holders; h++)
				if ((rc = kw_reg_userkey_hold(&uk,
				    m[i].old.holders[h], e)) != 0)
					goto out;
		} else {
			snprintf(uk.secret, sizeof(uk.secret), "%s",
			    m[i].d.secret);
			snprintf(uk.user, sizeof(uk.user), "%s", u.name);
			uk.uid = u.uid;
			uk.version = m[i].d.version;
			uk.serial = m[i].d.serial;
			uk.until = m[i].d.until;
		}
		if ((rc = kw_reg_userkey_hold(&uk, s.id, e)) != 0 ||
		    (rc = kw_registry_userkey_put(reg, &uk, e)) != 0)
			goto out;
		m[i].ukey_written = true;
	}
	if ((rc = kw_registry_session_put(reg, &s, e)) != 0)
		goto out;
	sent = false;
	if ((rc = batch(&c, BATCH_END, e)) != 0)
		goto out;
	memcpy(out->id, s.id, sizeof(out->id));
	out->ring = ring;
	out->n_keys = s.n_keys;
	rc = 0;
out:
	if (sent)	/* failed in between: the undo records must go out */
		(void)kw_audit_batch_end(c.audit, NULL);
	if (rc != 0 && reg != NULL && m != NULL)
		undo(&c, reg, &u, &s, ring, m, n_made);
	if (rc != 0 && reg != NULL && s.id[0] != '\0')
		kw_registry_session_del(reg, s.id, NULL);
	made_free(m, n_grants);
	ahead_free(ahead, n_grants);
	kw_reg_userkey_clear(&uk);
	kw_reg_session_clear(&s);
	kw_registry_close(reg);
	kw_vault_close(v);
	free(grants);
	kw_decision_free(&d);
	ctx_done(&c);
	kw_user_free(&u);
	return rc;
}

/* ---- close ----------------------------------------------------------- */

/*
 * End the deliveries of session s (registry locked): revoke its session
 * keys; release its hold on user keys and revoke those nobody holds any
 * more. unlink: also unlink shared keys from its keyring (possible only
 * from inside the session). Counts revoked keys in *n.
 */
static void
end_session(struct ctx *c, struct kw_registry *reg,
    const struct kw_reg_session *s, bool unlink_shared, size_t *n)
{
	struct kw_reg_userkey uk;
	struct kw_audit_rec rec;
	struct kw_error ie;
	size_t i, dropped = 0;
	int rc;

	for (i = 0; i < s->n_keys; i++) {
		const struct kw_delivery *d = &s->keys[i];

		kw_error_clear(&ie);
		if (d->scope == KW_SCOPE_USER &&
		    (rc = kw_registry_userkey_get(reg, s->uid, d->secret,
		    &uk, &ie)) != 0) {
			if (rc == KW_ENOTFOUND)
				continue;	/* already gone */
			/* who else holds it is unknown: revoke (fail closed) */
			warnf(c, "session %s: %s: revoking the shared key",
			    s->id, kw_error_text(&ie));
		} else if (d->scope == KW_SCOPE_USER) {
			if (uk.serial != d->serial) {
				kw_reg_userkey_clear(&uk);
				continue;	/* a later key: not ours */
			}
			kw_reg_userkey_release(&uk, s->id);
			if (uk.n_holders > 0 &&
			    kw_registry_userkey_prune(reg, &uk, &dropped,
			    &ie) != 0)
				warnf(c, "%s", kw_error_text(&ie));
			else if (dropped > 0 && uk.n_holders == 0)
				warnf(c, "shared key %s: %zu holder(s) "
				    "without a session dropped", d->secret,
				    dropped);
			dropped = 0;
			if (uk.n_holders > 0) {
				if (kw_registry_userkey_put(reg, &uk, &ie) != 0)
					warnf(c, "%s", kw_error_text(&ie));
				if (unlink_shared)
					kw_keyring_unlink(d->serial, s->ring,
					    &ie);
				kw_reg_userkey_clear(&uk);
				continue;
			}
			kw_reg_userkey_clear(&uk);
			if (kw_registry_userkey_del(reg, s->uid, d->secret,
			    &ie) != 0)
				warnf(c, "%s", kw_error_text(&ie));
		}
		if (kw_keyring_revoke(d->serial, d->secret, &ie) != 0) {
			warnf(c, "session %s: %s", s->id, kw_error_text(&ie));
			continue;
		}
		(*n)++;
		key_rec(&rec, KW_OP_REVOKE, d, NULL, 0, NULL, s->id, s->user,
		    c->p, true);
		emit(c, &rec, NULL);
	}
}

/* Close crashed sessions (lock held); returns how many. */
static size_t
sweep_locked(struct ctx *c, struct kw_registry *reg)
{
	kw_session_id *ids = NULL;
	struct kw_reg_session s;
	struct kw_error ie;
	size_t n = 0, i, revoked = 0;

	kw_error_clear(&ie);
	if (kw_registry_dead_sessions(reg, &ids, &n, &ie) != 0) {
		warnf(c, "registry sweep: %s", kw_error_text(&ie));
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (kw_registry_session_get(reg, ids[i], &s, &ie) != 0) {
			warnf(c, "registry sweep: %s", kw_error_text(&ie));
			continue;
		}
		end_session(c, reg, &s, false, &revoked);
		if (kw_registry_session_del(reg, s.id, &ie) != 0)
			warnf(c, "registry sweep: %s", kw_error_text(&ie));
		else
			warnf(c, "session %s of user '%s' (pid %ld) is gone: "
			    "its keys were revoked", s.id, s.user,
			    (long)s.pid);
		kw_reg_session_clear(&s);
	}
	free(ids);
	return n;
}

/* Find the session whose keyring is ring. */
static int
find_by_ring(struct kw_registry *reg, int32_t ring, struct kw_reg_session *out,
    struct kw_error *e)
{
	struct kw_reg_session *all = NULL;
	size_t n = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = kw_registry_sessions(reg, &all, &n, e)) != 0)
		return rc;
	rc = kw_fail(e, KW_ENOTFOUND, "no keyward session for keyring %ld",
	    (long)ring);
	for (i = 0; i < n; i++) {
		if (all[i].ring != ring || ring == 0)
			continue;
		*out = all[i];
		memset(&all[i], 0, sizeof(all[i]));
		kw_error_clear(e);
		rc = 0;
		break;
	}
	kw_reg_sessions_free(all, n);
	return rc;
}

/* The opener of p's sessions, numbered as kw_session_open() records it. */
static pid_t
opener_pid(const struct kw_session_params *p)
{
	uint64_t start;
	pid_t pid;

	if (p->pid != 0)
		return p->pid;
	return kw_proc_self(&pid, &start, NULL) == 0 ? pid : getpid();
}

/* Close a session. */
int
kw_session_close(const struct kw_config *cfg, const char *id,
    const struct kw_session_params *p, struct kw_error *e)
{
	struct ctx c = { .cfg = cfg, .p = p };
	struct kw_registry *reg = NULL;
	struct kw_reg_session s;
	struct kw_error ae;
	size_t n = 0;
	int32_t ring = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	kw_error_clear(&ae);
	if ((rc = audit_open(cfg, &c.audit, &ae)) != 0) {
		/* revoking must not wait for audit: go on, report after */
		c.audit = NULL;
		c.audit_failed = true;
		c.audit_err = ae;
	}
	if ((rc = kw_registry_open(cfg->run_dir, &reg, e)) != 0)
		goto out;
	if (id != NULL)
		rc = kw_registry_session_get(reg, id, &s, e);
	else if ((rc = kw_keyring_current_session(&ring, e)) == 0)
		rc = find_by_ring(reg, ring, &s, e);
	if (rc != 0)
		goto out;
	/*
	 * Found by keyring, not by the id this handle stored: it must be a
	 * session of the same user, opened by this process, or a close in
	 * a nested PAM transaction (su inside an agent's session) would end
	 * the outer session.
	 */
	if (id == NULL && (p == NULL || p->user == NULL ||
	    strcmp(s.user, p->user) != 0 || s.pid != opener_pid(p))) {
		rc = kw_fail(e, KW_ENOTFOUND, "this process opened no keyward "
		    "session for user '%s'", p != NULL && p->user != NULL ?
		    p->user : "?");
		goto out;
	}
	/* the revoke records (and the sweep's) are one batch: one audit
	 * status check for all of them, not one per record */
	(void)batch(&c, BATCH_BEGIN, NULL);
	end_session(&c, reg, &s, true, &n);
	if ((rc = kw_registry_session_del(reg, s.id, e)) == 0)
		sweep_locked(&c, reg);
	if (batch(&c, BATCH_END, &ae) != 0 && !c.audit_failed) {
		c.audit_failed = true;
		c.audit_err = ae;
	}
	if (rc != 0)
		goto out;
	if (c.audit_failed && cfg->audit == KW_AUDIT_REQUIRED) {
		*e = c.audit_err;
		rc = kw_error_prefix(e, "session %s closed and its keys "
		    "revoked, but a keyward-revoke record was lost", s.id);
		if (rc == 0)
			rc = KW_EAUDIT;
	}
out:
	kw_reg_session_clear(&s);
	kw_registry_close(reg);
	ctx_done(&c);
	return rc;
}

