/*
 * lifecycle.c - keyward sessions, rotation in place and the kill switch,
 * over the registry (registry.c) and the kernel keyring (keyring.c).
 *
 * One operation = one registry lock hold: read every session (the
 * journal applied), clean the dead ones, act on the matching live keys in
 * one audit batch, then write what changed in the registry once, as
 * journal marks (a rotation or revocation of a thousand copies is one
 * file write, not a thousand).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "keyring.h"
#include "lifecycle.h"
#include "vault.h"

/*
 * What an operation keeps of a session: who, which process, which keys
 * (not its service, tty or exe: a struct kw_reg_session is a few kilobytes,
 * and a thousand of them cost more in page faults than the work itself).
 */
struct op_session {
	kw_session_id id;
	size_t user;			/* its user name, o->users + user */
	uid_t uid;
	pid_t pid;
	uint64_t start;
	struct kw_delivery *keys;
	size_t n_keys;
	bool dead;			/* opener gone: cleaned */
};

/* Everything one operation holds; released by op_done(). */
struct op {
	const struct kw_config *cfg;
	const struct kw_session_params *p;
	struct kw_audit *audit;
	bool audit_failed;		/* a record was lost */
	struct kw_error audit_err;	/* the first such loss */
	struct kw_registry *reg;
	struct op_session *all;		/* every session read */
	size_t n, cap;
	char *users;			/* the user names of all[], each
					 * NUL-terminated */
	size_t users_len, users_cap, last_user;
	bool want_full;			/* list: keep full[] too */
	struct kw_reg_session *full;	/* list: all[i] in full (keys in
					 * all[i]) */
	size_t cap_full;
	struct kw_reg_mark *marks;	/* registry changes, written once */
	size_t n_marks, cap_marks;
	struct kw_lifecycle_report *rep;
	size_t cap_done, cap_cleaned;	/* room in rep->done, ->cleaned */
	size_t n_records;		/* records written */
	int64_t now;
};

/* Hand a non-fatal problem to the caller's warn() callback. */
static void __attribute__((format(printf, 2, 3)))
warnf(const struct op *o, const char *fmt, ...)
{
	char buf[KW_ERROR_MSG_MAX + 128];
	va_list ap;

	if (o->p == NULL || o->p->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->p->warn(o->p->warn_arg, buf);
}

/* Free what a report holds. */
void
kw_lifecycle_report_free(struct kw_lifecycle_report *r)
{
	if (r == NULL)
		return;
	free(r->done);
	free(r->cleaned);
	memset(r, 0, sizeof(*r));
}

/*
 * Note an audit failure a (from a record or a batch). Required mode, or a
 * failure that is fatal in any mode: remembered (the first), returned.
 * Best-effort: a warning, 0.
 */
static int
audit_trouble(struct op *o, int rc, const struct kw_error *ae,
    const char *what)
{
	if (rc == 0)
		return 0;
	if (o->cfg->audit == KW_AUDIT_REQUIRED || kw_audit_fatal(o->audit, rc)) {
		if (!o->audit_failed) {
			o->audit_err = *ae;
			o->audit_failed = true;
		}
		return rc;
	}
	warnf(o, "%s lost (audit = best-effort): %s", what, kw_error_text(ae));
	return 0;
}

/* Copy the string src into dst (size bytes), cut to fit. */
static void
str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The user name of session s. */
static const char *
user_of(const struct op *o, const struct op_session *s)
{
	return o->users + s->user;
}

/* Fill a live copy from session s and its delivery d. */
static void
copy_of(const struct op *o, struct kw_live_copy *c,
    const struct op_session *s, const struct kw_delivery *d)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->session, s->id, sizeof(c->session));
	str_copy(c->user, user_of(o, s), sizeof(c->user));
	c->uid = s->uid;
	c->pid = s->pid;
	str_copy(c->secret, d->secret, sizeof(c->secret));
	c->version = d->version;
	c->serial = d->serial;
	c->scope = d->scope;
	c->until = d->until;
}

/*
 * Make room for one more element in *arr (n used, *cap allocated, elem
 * bytes each), doubling.
 */
static int
room(void **arr, size_t n, size_t *cap, size_t elem, struct kw_error *e)
{
	void *na;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap > 0 ? 2 * *cap : 64;
	if ((na = reallocarray(*arr, nc, elem)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	*arr = na;
	*cap = nc;
	return 0;
}

/*
 * Make room at once for what an update or revocation may add: a report
 * entry and a registry mark per key of a live session (one allocation,
 * not a dozen doublings copying a thousand entries each time).
 */
static int
reserve(struct op *o, struct kw_error *e)
{
	void *p;
	size_t i, keys = 0;

	for (i = 0; i < o->n; i++)
		if (!o->all[i].dead)
			keys += o->all[i].n_keys;
	if (keys > o->cap_marks) {
		if ((p = reallocarray(o->marks, keys, sizeof(*o->marks))) ==
		    NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		o->marks = p;
		o->cap_marks = keys;
	}
	if (keys > o->cap_done) {
		if ((p = reallocarray(o->rep->done, keys,
		    sizeof(*o->rep->done))) == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		o->rep->done = p;
		o->cap_done = keys;
	}
	return 0;
}

/* Append a copy to a report array (*cap: its room). */
static int
copy_add(struct kw_live_copy **arr, size_t *n, size_t *cap,
    const struct kw_live_copy *c, struct kw_error *e)
{
	void *p = *arr;
	int rc;

	if ((rc = room(&p, *n, cap, sizeof(**arr), e)) != 0)
		return rc;
	*arr = p;
	(*arr)[(*n)++] = *c;
	return 0;
}

/*
 * Write the record of one copy (KW_OP_UPDATE or KW_OP_REVOKE). version 0
 * keeps the copy's own. Returns 0 or the error that must stop the
 * operation (audit_trouble()).
 */
static int
record(struct op *o, enum kw_audit_op op, const struct kw_live_copy *c,
    uint32_t version, const char *fp)
{
	struct kw_audit_rec r;
	struct kw_error ae;
	int rc;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.secret = c->secret;
	r.version = version != 0 ? version : c->version;
	r.fp = fp != NULL && fp[0] != '\0' ? fp : NULL;
	r.serial = c->serial;
	r.scope = c->scope == KW_SCOPE_USER ? "user" : "session";
	r.session = c->session;
	r.acct = c->user;
	if (o->p != NULL) {
		r.hostname = o->p->rhost;
		r.tty = o->p->tty;
	}
	r.success = true;
	kw_error_clear(&ae);
	o->n_records++;
	rc = kw_audit_emit(o->audit, &r, &ae);
	return audit_trouble(o, rc, &ae, kw_audit_op_name(op));
}

/* Queue a registry change: (session, serial) now at version (0 = gone). */
static int
mark(struct op *o, const char *session, int32_t serial, uint32_t version,
    struct kw_error *e)
{
	struct kw_reg_mark *nm;
	void *p = o->marks;
	int rc;

	if ((rc = room(&p, o->n_marks, &o->cap_marks, sizeof(*nm), e)) != 0)
		return rc;
	o->marks = p;
	nm = &o->marks[o->n_marks++];
	memset(nm, 0, sizeof(*nm));
	memcpy(nm->session, session, sizeof(kw_session_id));
	nm->serial = serial;
	nm->version = version;
	return 0;
}

/* Is delivery d still a live key now (not expired, our key)? */
static bool
copy_live(const struct op *o, const struct kw_delivery *d)
{
	return d->until > o->now && kw_keyring_is_live(d->serial, d->secret);
}

/*
 * Close session s whose opener is gone (registry locked): revoke its
 * session keys, drop its hold on user keys (revoking those nobody holds
 * any more), record each revocation, list it in rep->cleaned and remove
 * the session's file.
 */
static int
clean_dead(struct op *o, const struct op_session *s, struct kw_error *e)
{
	struct kw_reg_userkey uk;
	struct kw_live_copy c;
	struct kw_error ie;
	size_t i, dropped = 0;
	int rc;

	for (i = 0; i < s->n_keys; i++) {
		const struct kw_delivery *d = &s->keys[i];

		kw_error_clear(&ie);
		if (d->scope == KW_SCOPE_USER &&
		    (rc = kw_registry_userkey_get(o->reg, s->uid, d->secret,
		    &uk, &ie)) != 0) {
			if (rc == KW_ENOTFOUND)
				continue;	/* already gone */
			/* who else holds it is unknown: revoke (fail closed) */
			warnf(o, "session %s: %s: revoking the shared key",
			    s->id, kw_error_text(&ie));
		} else if (d->scope == KW_SCOPE_USER) {
			if (uk.serial != d->serial) {
				kw_reg_userkey_clear(&uk);
				continue;	/* a later key, not this one */
			}
			kw_reg_userkey_release(&uk, s->id);
			if (uk.n_holders > 0 &&
			    kw_registry_userkey_prune(o->reg, &uk, &dropped,
			    &ie) != 0)
				warnf(o, "%s", kw_error_text(&ie));
			else if (dropped > 0 && uk.n_holders == 0)
				warnf(o, "shared key %s: %zu holder(s) "
				    "without a session dropped", d->secret,
				    dropped);
			dropped = 0;
			rc = uk.n_holders > 0 ?
			    kw_registry_userkey_put(o->reg, &uk, &ie) :
			    kw_registry_userkey_del(o->reg, s->uid, d->secret,
			    &ie);
			if (rc != 0)
				warnf(o, "%s", kw_error_text(&ie));
			if (uk.n_holders > 0) {
				kw_reg_userkey_clear(&uk);
				continue;	/* still shared: stays live */
			}
			kw_reg_userkey_clear(&uk);
		}
		if (!copy_live(o, d))
			continue;
		if (kw_keyring_revoke(d->serial, d->secret, &ie) != 0) {
			warnf(o, "session %s: %s", s->id, kw_error_text(&ie));
			continue;
		}
		copy_of(o, &c, s, d);
		if ((rc = copy_add(&o->rep->cleaned, &o->rep->n_cleaned,
		    &o->cap_cleaned, &c, e)) != 0)
			return rc;
		(void)record(o, KW_OP_REVOKE, &c, 0, NULL);
	}
	kw_error_clear(&ie);
	if (kw_registry_session_del(o->reg, s->id, &ie) != 0)
		warnf(o, "%s", kw_error_text(&ie));
	return 0;
}

/*
 * Flag in o->dead the sessions whose opening process is gone (each
 * distinct pid is looked up once: a PAM application that opened many
 * sessions, or a session's opener listed again, costs one read of /proc).
 */
static int
openers_gone(struct op *o, struct kw_error *e)
{
	struct kw_opener *op;
	size_t i;
	int rc;

	if (o->n == 0)
		return 0;
	if ((op = calloc(o->n, sizeof(*op))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	for (i = 0; i < o->n; i++) {
		op[i].pid = o->all[i].pid;
		op[i].start = o->all[i].start;
	}
	rc = kw_openers_check(op, o->n, e);
	for (i = 0; rc == 0 && i < o->n; i++)
		o->all[i].dead = op[i].gone;
	free(op);
	return rc;
}

/* The registry walk of op_begin(): keep what the operation needs of s. */
static int
op_keep(struct kw_reg_session *s, void *arg, struct kw_error *e)
{
	struct op *o = arg;
	struct op_session *os;
	size_t len;
	void *p;
	int rc;

	p = o->all;
	if ((rc = room(&p, o->n, &o->cap, sizeof(*o->all), e)) != 0)
		return rc;
	o->all = p;
	if (o->want_full) {
		p = o->full;
		if ((rc = room(&p, o->n, &o->cap_full, sizeof(*o->full),
		    e)) != 0)
			return rc;
		o->full = p;
	}
	os = &o->all[o->n];
	memcpy(os->id, s->id, sizeof(os->id));
	/* the user name, stored once for a run of sessions of one user */
	len = strnlen(s->user, sizeof(s->user) - 1);
	if (o->users == NULL || strcmp(o->users + o->last_user, s->user) != 0) {
		p = o->users;
		/* room() always grows here: n is the capacity */
		while (p == NULL || o->users_len + len + 1 > o->users_cap)
			if ((rc = room(&p, o->users_cap, &o->users_cap, 1,
			    e)) != 0)
				return rc;
		o->users = p;
		memcpy(o->users + o->users_len, s->user, len);
		o->users[o->users_len + len] = '\0';
		o->last_user = o->users_len;
		o->users_len += len + 1;
	}
	os->user = o->last_user;
	os->uid = s->uid;
	os->pid = s->pid;
	os->start = s->start;
	os->keys = s->keys;		/* taken */
	os->n_keys = s->n_keys;
	os->dead = false;
	s->keys = NULL;
	s->n_keys = 0;
	if (o->want_full)
		o->full[o->n] = *s;	/* its keys are os's */
	o->n++;
	return 0;
}

/* A fresh operation for cfg and p whose report (cleared) is rep. */
static void
op_init(struct op *o, const struct kw_config *cfg,
    const struct kw_session_params *p, struct kw_lifecycle_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	memset(o, 0, sizeof(*o));
	o->cfg = cfg;
	o->p = p;
	o->rep = rep;
}

/*
 * Start an operation: audit connection, registry lock, every session
 * read, dead ones cleaned (flagged dead). The audit batch is begun
 * first so that the cleaning records are part of it. require_audit (an
 * update): in required mode audit must be ready, else nothing is done;
 * otherwise (list, revoke) nothing waits for audit: a record that then
 * cannot be written is reported by op_end().
 */
static int
op_begin(struct op *o, bool require_audit, struct kw_error *e)
{
	struct kw_error ae;
	size_t i;
	int rc;

	kw_error_clear(&ae);
	if ((rc = kw_audit_open(o->cfg->audit, &o->audit, &ae)) != 0) {
		if (require_audit) {
			*e = ae;
			return rc;
		}
		/* revoking must not wait for audit: go on, report after */
		o->audit = NULL;
		o->audit_failed = true;
		o->audit_err = ae;
	}
	if ((rc = kw_registry_open(o->cfg->run_dir, &o->reg, e)) != 0)
		return rc;
	if ((rc = kw_registry_sessions_walk(o->reg, op_keep, o, e)) != 0)
		return rc;
	/*
	 * Updating live copies hands out a new value: with audit=required
	 * the kernel's read rules must be there first. With no live session
	 * there is nothing to update, and nothing to require.
	 */
	if (require_audit && o->n > 0 && o->cfg->audit == KW_AUDIT_REQUIRED &&
	    (rc = kw_audit_ready(o->audit, &ae)) != 0) {
		*e = ae;
		return kw_error_prefix(e, "audit = required");
	}
	o->now = (int64_t)time(NULL);
	kw_error_clear(&ae);
	rc = kw_audit_batch_begin(o->audit, &ae);
	if (rc != 0 && require_audit && (o->cfg->audit == KW_AUDIT_REQUIRED ||
	    kw_audit_fatal(o->audit, rc))) {
		*e = ae;
		return rc;
	}
	/* else unbatched: each record checks for itself */
	if ((rc = openers_gone(o, e)) != 0)
		return rc;
	for (i = 0; i < o->n; i++)
		if (o->all[i].dead && (rc = clean_dead(o, &o->all[i], e)) != 0)
			return rc;
	return 0;
}

/*
 * Finish an operation (once, on every path): write the registry changes
 * queued so far (what was done is recorded even when the operation
 * failed half-way), end the audit batch. rc is the operation's result so
 * far; returns the final one (a lost record in required mode turns
 * success into KW_EAUDIT, saying so).
 */
static int
op_end(struct op *o, int rc, const char *done_what, struct kw_error *e)
{
	struct kw_error ie, ae, se;
	int brc, src;

	/* the last records go out first; the registry is written meanwhile */
	kw_error_clear(&se);
	src = kw_audit_batch_send(o->audit, &se);
	kw_error_clear(&ie);
	if (o->reg != NULL && o->n_marks > 0 && kw_registry_mark(o->reg,
	    o->marks, o->n_marks, &ie) != 0) {
		if (rc == 0) {
			*e = ie;
			rc = kw_error_prefix(e, "%s, but the registry was not "
			    "updated", done_what);
		} else {
			warnf(o, "%s", kw_error_text(&ie));
		}
	}
	kw_error_clear(&ae);
	brc = kw_audit_batch_end(o->audit, &ae);
	if (src != 0) {
		brc = src;
		ae = se;
	}
	if (o->n_records > 0)
		(void)audit_trouble(o, brc, &ae, "audit records");
	if (rc == 0 && o->audit_failed &&
	    (o->cfg->audit == KW_AUDIT_REQUIRED ||
	    kw_audit_fatal(o->audit, o->audit_err.code))) {
		*e = o->audit_err;
		kw_error_prefix(e, "%s, but an audit record was lost",
		    done_what);
		rc = KW_EAUDIT;
	}
	return rc;
}

/* Release what an operation holds. */
static void
op_done(struct op *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->all[i].keys);
	free(o->all);
	o->all = NULL;
	o->n = 0;
	free(o->full);		/* its keys are all[i]'s, or given out */
	o->full = NULL;
	free(o->users);
	o->users = NULL;
	free(o->marks);
	kw_registry_close(o->reg);
	kw_audit_close(o->audit);
}

/* ---- keyward sessions ---------------------------------------------------- */

/* List live deliveries. */
int
kw_lifecycle_list(const struct kw_config *cfg,
    const struct kw_session_params *p, struct kw_reg_session **out,
    size_t *n, struct kw_lifecycle_report *cleaned, struct kw_error *e)
{
	struct kw_lifecycle_report scratch;
	struct op o;
	size_t i, k, keep, live = 0, n_live = 0;
	int rc;

	*out = NULL;
	*n = 0;
	memset(&scratch, 0, sizeof(scratch));	/* freed whichever is used */
	op_init(&o, cfg, p, cleaned != NULL ? cleaned : &scratch);
	o.want_full = true;
	if ((rc = op_begin(&o, false, e)) != 0)
		goto out;
	for (i = 0; i < o.n; i++) {
		struct op_session *s = &o.all[i];

		if (s->dead)
			continue;
		for (k = 0, keep = 0; k < s->n_keys; k++) {
			if (!copy_live(&o, &s->keys[k])) {
				if ((rc = mark(&o, s->id, s->keys[k].serial, 0,
				    e)) != 0)
					goto out;
				continue;
			}
			s->keys[keep++] = s->keys[k];
		}
		s->n_keys = keep;
	}
	/* the live sessions, in full, with their live keys (given out) */
	for (i = 0; i < o.n; i++) {
		if (o.all[i].dead)
			continue;
		o.full[live] = o.full[i];
		o.full[live].keys = o.all[i].keys;
		o.full[live].n_keys = o.all[i].n_keys;
		o.all[i].keys = NULL;
		o.all[i].n_keys = 0;
		live++;
	}
	n_live = live;
out:
	rc = op_end(&o, rc, "sessions listed", e);
	/* a lost record of the cleaning does not hide the list */
	if (rc == KW_EAUDIT) {
		warnf(&o, "%s", kw_error_text(e));
		kw_error_clear(e);
		rc = 0;
	}
	if (rc == 0 && n_live > 0) {
		*out = o.full;
		*n = n_live;
		o.full = NULL;
	} else if (n_live > 0) {
		/* not given out after all: the keys are the full copies' */
		for (i = 0; i < n_live; i++)
			free(o.full[i].keys);
	}
	op_done(&o);
	kw_lifecycle_report_free(&scratch);
	return rc;
}

/* ---- rotation in place ---------------------------------------------------- */

/* Is serial in the list? */
static bool
serial_in(const int32_t *list, size_t n, int32_t serial)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == serial)
			return true;
	return false;
}

/* Append serial to a list. */
static int
serial_add(int32_t **list, size_t *n, int32_t serial, struct kw_error *e)
{
	int32_t *nl;

	if ((nl = reallocarray(*list, *n + 1, sizeof(**list))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	*list = nl;
	(*list)[(*n)++] = serial;
	return 0;
}

/*
 * When key d expires: a session key, when its session's file says; a
 * shared (scope=user) key, at the earliest end any of its holders' files
 * says. A later sharer with a shorter grant brought the key's timeout
 * down for every holder (kw_session_open()), but only its own file says
 * so: the first holder's file still has the end of the first grant.
 */
static int64_t
key_until(const struct op *o, const struct kw_delivery *d)
{
	int64_t until = d->until;
	size_t i, k;

	if (d->scope != KW_SCOPE_USER)
		return until;
	for (i = 0; i < o->n; i++)
		for (k = 0; k < o->all[i].n_keys; k++) {
			const struct kw_delivery *h = &o->all[i].keys[k];

			if (h->serial == d->serial && h->until < until &&
			    strcmp(h->secret, d->secret) == 0)
				until = h->until;
		}
	return until;
}

/*
 * Update key d in place to value, keeping its expiry (key_until()). The
 * kernel's user_update() makes an updated key permanent, so the remaining timeout
 * (until - now) is set again at once; when that cannot be done, or no
 * time is left, the key is revoked rather than left without an end.
 * Returns 0, or KW_ENOTFOUND when the key was found dead (expired or
 * revoked meanwhile: nothing updated), or another error.
 */
static int
update_key(struct op *o, const struct kw_delivery *d, const void *value,
    size_t len, struct kw_error *e)
{
	struct kw_error ie;
	int64_t left;
	int rc;

	if ((rc = kw_keyring_update(d->serial, d->secret, value, len, e)) !=
	    0) {
		if (!kw_keyring_is_live(d->serial, d->secret))
			return KW_ENOTFOUND;
		return rc;
	}
	left = key_until(o, d) - (int64_t)time(NULL);
	if (left > 0 && (rc = kw_keyring_set_timeout(d->serial, d->secret,
	    (uint64_t)left, e)) == 0)
		return 0;
	kw_error_clear(&ie);
	(void)kw_keyring_revoke(d->serial, d->secret, &ie);
	if (left <= 0)
		return KW_ENOTFOUND;	/* expired while we worked */
	warnf(o, "%s: key %ld revoked: its timeout could not be kept",
	    d->secret, (long)d->serial);
	return rc;
}

/* A user key's file now says version. */
static void
userkey_version(struct op *o, uid_t uid, const char *secret, int32_t serial,
    uint32_t version)
{
	struct kw_reg_userkey uk;
	struct kw_error ie;

	kw_error_clear(&ie);
	if (kw_registry_userkey_get(o->reg, uid, secret, &uk, &ie) != 0)
		return;
	if (uk.serial == serial && uk.version != version) {
		uk.version = version;
		if (kw_registry_userkey_put(o->reg, &uk, &ie) != 0)
			warnf(o, "%s", kw_error_text(&ie));
	}
	kw_reg_userkey_clear(&uk);
}

/* Rotate every live copy in place. */
int
kw_lifecycle_update(const struct kw_config *cfg, const char *secret,
    const void *value, size_t len, uint32_t version,
    const struct kw_session_params *p, struct kw_lifecycle_report *report,
    struct kw_error *e)
{
	unsigned char akey[KW_AUDIT_KEY_LEN];
	char fp[KW_FP_HEX_LEN + 1] = "";
	struct kw_error ie, first;
	struct kw_live_copy c;
	struct op o;
	int32_t *shared = NULL;		/* user keys updated (shared serials) */
	size_t n_shared = 0, failed = 0, i, k;
	int rc;

	op_init(&o, cfg, p, report);
	kw_error_clear(&first);
	if ((rc = kw_name_check(secret, e)) != 0)
		return rc;
	if (value == NULL || len == 0 || len > KW_SECRET_MAX || version == 0)
		return kw_fail(e, KW_EINVAL, "%s: update: bad value or version",
		    secret);
	/* fp= of the new value, under the per-install audit key */
	kw_error_clear(&ie);
	if (kw_audit_key_load(cfg->audit_key, akey, &ie) == 0) {
		if (kw_audit_fp(akey, value, len, fp, &ie) != 0)
			fp[0] = '\0';
		kw_wipe(akey, sizeof(akey));
	}
	if (fp[0] == '\0') {
		if (cfg->audit == KW_AUDIT_REQUIRED) {
			*e = ie;
			return kw_error_prefix(e, "audit key");
		}
		warnf(&o, "audit key: %s (records go without fp=)",
		    kw_error_text(&ie));
	}
	/* required: no unrecorded update */
	if ((rc = op_begin(&o, true, e)) != 0 || (rc = reserve(&o, e)) != 0)
		goto out;
	for (i = 0; i < o.n; i++) {
		struct op_session *s = &o.all[i];

		if (s->dead)
			continue;
		for (k = 0; k < s->n_keys; k++) {
			struct kw_delivery *d = &s->keys[k];

			if (strcmp(d->secret, secret) != 0)
				continue;
			if (d->scope == KW_SCOPE_USER &&
			    serial_in(shared, n_shared, d->serial)) {
				/* the same key, held by another session */
				if ((rc = mark(&o, s->id, d->serial, version,
				    e)) != 0)
					goto out;
				continue;
			}
			if (d->version == version) {
				report->n_current++;
				continue;
			}
			if (!copy_live(&o, d)) {
				if ((rc = mark(&o, s->id, d->serial, 0, e)) !=
				    0)
					goto out;
				continue;
			}
			kw_error_clear(&ie);
			rc = update_key(&o, d, value, len, &ie);
			if (rc == KW_ENOTFOUND) {
				/* expired or revoked meanwhile */
				if ((rc = mark(&o, s->id, d->serial, 0, e)) !=
				    0)
					goto out;
				continue;
			}
			if (rc != 0) {
				rc = 0;
				if (failed++ == 0)
					first = ie;
				continue;
			}
			copy_of(&o, &c, s, d);
			c.version = version;
			if ((rc = copy_add(&report->done, &report->n_done,
			    &o.cap_done, &c, e)) != 0 ||
			    (rc = mark(&o, s->id, d->serial, version, e)) != 0)
				goto out;
			if (d->scope == KW_SCOPE_USER) {
				if ((rc = serial_add(&shared, &n_shared,
				    d->serial, e)) != 0)
					goto out;
				userkey_version(&o, s->uid, secret, d->serial,
				    version);
			}
			if ((rc = record(&o, KW_OP_UPDATE, &c, version, fp)) !=
			    0) {
				/* required: stop before another unrecorded
				 * update */
				*e = o.audit_err;
				kw_error_prefix(e, "%s: %zu live cop%s updated, "
				    "then an audit record failed", secret,
				    report->n_done, report->n_done == 1 ?
				    "y" : "ies");
				goto out;
			}
		}
	}
	if (failed > 0) {
		*e = first;
		rc = kw_error_prefix(e, "%s: %zu live cop%s not updated",
		    secret, failed, failed == 1 ? "y" : "ies");
		if (rc == 0)
			rc = KW_EKEYRING;
	}
out:
	rc = op_end(&o, rc, "live copies updated", e);
	free(shared);
	op_done(&o);
	return rc;
}

/* ---- the kill switch --------------------------------------------------------- */

/* Does delivery d of session s match f? */
static bool
matches(const struct op *o, const struct kw_lifecycle_filter *f,
    const struct op_session *s, const struct kw_delivery *d)
{
	if (f->secret != NULL && strcmp(f->secret, d->secret) != 0)
		return false;
	if (f->user != NULL && strcmp(f->user, user_of(o, s)) != 0)
		return false;
	if (f->session != NULL && strcmp(f->session, s->id) != 0)
		return false;
	return true;
}

/* Revoke every live copy matching f. */
int
kw_lifecycle_revoke(const struct kw_config *cfg,
    const struct kw_lifecycle_filter *f, const struct kw_session_params *p,
    struct kw_lifecycle_report *report, struct kw_error *e)
{
	struct kw_error ie, first;
	struct kw_live_copy c;
	struct op o;
	int32_t *shared = NULL;		/* user keys revoked */
	size_t n_shared = 0, failed = 0, i, k;
	int rc;

	op_init(&o, cfg, p, report);
	kw_error_clear(&first);
	if (f->secret == NULL && f->user == NULL && f->session == NULL &&
	    !f->all)
		return kw_fail(e, KW_EINVAL, "revoke: no secret, user or "
		    "session given (all needs saying so)");
	if ((f->secret != NULL && (rc = kw_name_check(f->secret, e)) != 0))
		return rc;
	if (f->session != NULL && !kw_session_id_valid(f->session))
		return kw_fail(e, KW_EINVAL, "revoke: '%s' is not a session id",
		    f->session);
	/* the kill switch works even when audit does not */
	if ((rc = op_begin(&o, false, e)) != 0 || (rc = reserve(&o, e)) != 0)
		goto out;
	for (i = 0; i < o.n; i++) {
		struct op_session *s = &o.all[i];

		if (s->dead)
			continue;
		for (k = 0; k < s->n_keys; k++) {
			struct kw_delivery *d = &s->keys[k];

			if (!matches(&o, f, s, d))
				continue;
			if (d->scope == KW_SCOPE_USER &&
			    serial_in(shared, n_shared, d->serial)) {
				if ((rc = mark(&o, s->id, d->serial, 0, e)) !=
				    0)
					goto out;
				continue;
			}
			if (!copy_live(&o, d)) {
				if ((rc = mark(&o, s->id, d->serial, 0, e)) !=
				    0)
					goto out;
				continue;
			}
			kw_error_clear(&ie);
			if (kw_keyring_revoke(d->serial, d->secret, &ie) != 0) {
				if (failed++ == 0)
					first = ie;
				continue;
			}
			copy_of(&o, &c, s, d);
			if ((rc = copy_add(&report->done, &report->n_done,
			    &o.cap_done, &c, e)) != 0 ||
			    (rc = mark(&o, s->id, d->serial, 0, e)) != 0)
				goto out;
			if (d->scope == KW_SCOPE_USER) {
				if ((rc = serial_add(&shared, &n_shared,
				    d->serial, e)) != 0)
					goto out;
				kw_error_clear(&ie);
				if (kw_registry_userkey_del(o.reg, s->uid,
				    d->secret, &ie) != 0)
					warnf(&o, "%s", kw_error_text(&ie));
			}
			(void)record(&o, KW_OP_REVOKE, &c, 0, NULL);
		}
	}
	/* a revoked user key is gone from every session that shared it */
	for (i = 0; n_shared > 0 && i < o.n; i++) {
		struct op_session *s = &o.all[i];

		for (k = 0; !s->dead && k < s->n_keys; k++)
			if (s->keys[k].scope == KW_SCOPE_USER &&
			    !matches(&o, f, s, &s->keys[k]) &&
			    serial_in(shared, n_shared, s->keys[k].serial) &&
			    (rc = mark(&o, s->id, s->keys[k].serial, 0, e)) !=
			    0)
				goto out;
	}
	if (failed > 0) {
		*e = first;
		rc = kw_error_prefix(e, "%zu live cop%s not revoked", failed,
		    failed == 1 ? "y" : "ies");
		if (rc == 0)
			rc = KW_EKEYRING;
	}
out:
	rc = op_end(&o, rc, "keys revoked", e);
	free(shared);
	op_done(&o);
	return rc;
}
