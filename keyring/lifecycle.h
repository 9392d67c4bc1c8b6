/*
 * lifecycle.h - the life of a delivered secret after its session opened:
 * the list of every live delivery (keyward sessions), rotation that
 * reaches running agents (an update in place: same serial, same timeout),
 * and the kill switch (keyward revoke).
 *
 * Every operation takes the registry lock, cleans what it finds dead on
 * the way (sessions whose opening process is gone: their keys are revoked
 * and recorded, their files removed; keys expired or no longer live: left
 * out and journalled as gone), does its work, then writes the registry
 * changes once (kw_registry_mark()). Root-side records are written as one
 * audit batch (kw_audit_batch_begin/end): the audit status is read once
 * before and once after, the lost counter unchanged proving every record
 * of the batch was kept.
 */
#ifndef KW_LIFECYCLE_H
#define KW_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kw_config.h"
#include "kw_error.h"
#include "registry.h"
#include "session.h"

/* One live copy of a secret: one key in a session's (or user's) keyring. */
struct kw_live_copy {
	kw_session_id session;		/* the (first) session holding it */
	char user[KW_REG_STR_MAX];
	uid_t uid;
	pid_t pid;
	char secret[KW_NAME_MAX + 1];
	uint32_t version;
	int32_t serial;
	enum kw_scope scope;
	int64_t until;			/* unix time it expires */
};

/* What an operation did. Free with kw_lifecycle_report_free(). */
struct kw_lifecycle_report {
	struct kw_live_copy *done;	/* updated, or revoked */
	size_t n_done;
	struct kw_live_copy *cleaned;	/* revoked: their session is gone */
	size_t n_cleaned;
	size_t n_current;		/* update: copies already at version */
};

/* Which live copies kw_lifecycle_revoke() kills: all set members match. */
struct kw_lifecycle_filter {
	const char *secret;		/* NULL = any */
	const char *user;		/* NULL = any */
	const char *session;		/* NULL = any */
	bool all;			/* required when all three are NULL */
};

/* Free what a report holds (the struct itself is kept, zeroed). */
void kw_lifecycle_report_free(struct kw_lifecycle_report *r);

/*
 * Every open session with its live keys only: sessions whose opener is
 * gone are closed on the way (keys revoked and audited, listed in
 * cleaned, which may be NULL), keys past their expiry or no longer live in
 * the kernel are left out. Free *out with kw_reg_sessions_free(*out, *n).
 * p (may be NULL) gives the warn() callback and the audit host/tty.
 */
int kw_lifecycle_list(const struct kw_config *cfg,
    const struct kw_session_params *p, struct kw_reg_session **out,
    size_t *n, struct kw_lifecycle_report *cleaned, struct kw_error *e);

/*
 * Rotation reaching running agents: replace the value of every live copy
 * of secret with value (len bytes), which is vault version `version`, in
 * place with keyctl_update (same serial), then set its remaining timeout
 * again (the kernel's update makes a user key permanent): never extended,
 * and an expired key is never brought back. One keyward-update record per copy (fp of the new value). Copies
 * of sessions whose process is gone are cleaned, not updated. In
 * audit=required mode nothing is updated unless audit is ready.
 * Copies that could not be updated make the result an error after the
 * others were done; report->done lists the copies updated.
 */
int kw_lifecycle_update(const struct kw_config *cfg, const char *secret,
    const void *value, size_t len, uint32_t version,
    const struct kw_session_params *p, struct kw_lifecycle_report *report,
    struct kw_error *e);

/*
 * The kill switch: revoke (keyctl_revoke: reads fail with EKEYREVOKED at
 * once) every live copy matching f, record each (keyward-revoke) and
 * remove it from the registry. A scope=user key is one key shared by the
 * user's sessions: revoking it in one revokes it in all of them. Keys are
 * revoked even when audit fails; in required mode a lost record then makes
 * the result KW_EAUDIT after the work is done.
 */
int kw_lifecycle_revoke(const struct kw_config *cfg,
    const struct kw_lifecycle_filter *f, const struct kw_session_params *p,
    struct kw_lifecycle_report *report, struct kw_error *e);

#endif /* KW_LIFECYCLE_H */
