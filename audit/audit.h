/*
 * audit.h - keyward's own records in the Linux audit subsystem
 * (keyward-audit(7)), the readiness checks of audit=required, and the
 * value fingerprints (fp=).
 *
 * A struct kw_audit owns one libaudit netlink fd: it must not be shared
 * between threads. Use one per thread.
 */
#ifndef KW_AUDIT_H
#define KW_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kw_config.h"
#include "kw_error.h"

#define KW_AUDIT_KEY_LEN 32
#define KW_FP_HEX_LEN 16

enum kw_audit_op {
	KW_OP_GATE,	/* USER_ACCT, account decision */
	KW_OP_DELIVER,	/* CRYPTO_KEY_USER */
	KW_OP_READ,
	KW_OP_UPDATE,
	KW_OP_REVOKE,
	KW_OP_DENY,
	KW_OP_VAULT,
};

/*
 * One record. NULL strings and zero numbers are left out (except res=).
 * Fields are written in this order: op= kw_secret= kw_version= fp=
 * kw_serial= kw_scope= kw_ttl= kw_rule= kw_session= acct= then libaudit's
 * exe= hostname= addr= terminal= res=.
 */
struct kw_audit_rec {
	enum kw_audit_op op;
	const char *secret;
	uint32_t version;
	const char *fp;			/* 16 hex, from kw_audit_fp() */
	int32_t serial;			/* key serial, 0 = none */
	const char *scope;		/* "session" / "user" */
	uint64_t ttl;			/* seconds, 0 = none */
	const char *rule;		/* file:line */
	const char *session;		/* keyward session id */
	const char *acct;		/* target user */
	const char *hostname;		/* remote host, or NULL */
	const char *addr;
	const char *tty;
	bool success;
};

struct kw_audit;

/*
 * Open a connection for mode. In KW_AUDIT_REQUIRED mode a connection that
 * cannot be made is an error; in best-effort mode it is not (records are
 * then dropped and kw_audit_emit() reports the failure for syslog).
 */
int kw_audit_open(enum kw_audit_mode mode, struct kw_audit **out,
    struct kw_error *e);

/* Close and free. NULL-safe. */
void kw_audit_close(struct kw_audit *a);

/*
 * Best-effort mode: share the status check between the operations of the
 * host through a stamp, the file path in a directory only root writes (the
 * registry's run_dir; name it KW_AUDIT_STAMP there). A connection that
 * finds the stamp touched less than KW_AUDIT_STAMP_SECS ago asks the
 * kernel for no status at all: a check a moment ago found audit on with a
 * daemon. A connection that does check touches the stamp when it finds
 * all well (making it when missing) and removes it when it finds audit
 * disabled or no daemon, so that every later operation checks, and warns,
 * again. Only a regular file of root's with one link and a time not in
 * the future is believed. Call right after kw_audit_open(); no effect in
 * required mode, where every operation checks for itself. Returns 0 or
 * KW_ENOMEM.
 */
#define KW_AUDIT_STAMP "audit-ok"
#define KW_AUDIT_STAMP_SECS 10
int kw_audit_share_status(struct kw_audit *a, const char *path,
    struct kw_error *e);

/*
 * audit=required readiness: audit enabled, an auditd registered, and
 * keyward's keyctl-read rule loaded (read from the kernel's rule list).
 * Returns KW_EAUDIT saying what is missing.
 */
int kw_audit_ready(struct kw_audit *a, struct kw_error *e);

/*
 * Ask the kernel now, without waiting for the answers, for what the next
 * check on a needs: in required mode the status and rule list that
 * kw_audit_ready() judges, in best-effort mode the status that the next
 * record or batch is checked with. The kernel starts a thread for each
 * answer, at its cheapest while no record or audited system call keeps it
 * busy: an operation asks first, does its work that hands nothing out
 * (keys, vault, policy), and the answers are taken when needed (a check
 * asks itself when nothing was asked). A failure to ask is reported by
 * the check.
 */
void kw_audit_ask_ahead(struct kw_audit *a);

/*
 * Write one record (AUDIT_USER_ACCT for KW_OP_GATE, AUDIT_CRYPTO_KEY_USER
 * otherwise) and check the kernel kept it: the audit status is read before
 * and after (enabled, daemon pid, lost counter), because the kernel's
 * acknowledgement of a record is no proof; in best-effort mode it is read
 * once (enabled, daemon pid), asked for before the record and taken after.
 * Without CAP_AUDIT_CONTROL the status cannot be read; that is an error in
 * required mode only.
 *
 * Returns 0, or KW_EAUDIT when the record could not be written or
 * confirmed (in best-effort mode the caller logs and goes on), or another
 * code (KW_ESYSTEM: e.g. EPERM, ENOBUFS) for a failure that must refuse
 * the operation in every mode. kw_audit_fatal() makes that decision.
 */
int kw_audit_emit(struct kw_audit *a, const struct kw_audit_rec *r,
    struct kw_error *e);

/*
 * Batches: between kw_audit_batch_begin() and kw_audit_batch_end() the
 * audit status is read once before and once after all the records instead
 * of around each one (the lost counter unchanged over the batch proves
 * every record of it was kept). A failure of batch_end means some record of
 * the batch may be lost: callers refuse (or undo) the whole batch exactly
 * as for a failed kw_audit_emit(), using kw_audit_fatal(). Inside a batch
 * records are sent several at a time: the first at once, the next ones up
 * to 64 together, the last by batch_end; a refusal is reported by the
 * kw_audit_emit() or kw_audit_batch_end() that sent it. kw_audit_close()
 * sends what a batch left unsent (without a report).
 *
 * kw_audit_batch_send() is batch_end's first half: it sends the last
 * records, with the request for the status after them, and reports their
 * refusal; the caller may then do work of its own (that must be undone if
 * batch_end fails) before kw_audit_batch_end() takes the status and
 * compares. In between, no other call on a but kw_audit_close() is
 * allowed (each fails with KW_EINTERNAL).
 */
int kw_audit_batch_begin(struct kw_audit *a, struct kw_error *e);
int kw_audit_batch_send(struct kw_audit *a, struct kw_error *e);
int kw_audit_batch_end(struct kw_audit *a, struct kw_error *e);

/*
 * True when rc, returned by kw_audit_emit() or kw_audit_ready() on a, must
 * refuse the operation: any failure in required mode; in best-effort mode
 * any failure but KW_EAUDIT (no kernel audit here, audit disabled, record
 * lost). NULL a counts as required.
 */
bool kw_audit_fatal(const struct kw_audit *a, int rc);

/*
 * True for the errnos meaning "no kernel audit for this process" (EINVAL,
 * EPROTONOSUPPORT, EAFNOSUPPORT, ECONNREFUSED): a configured decision.
 */
bool kw_audit_errno_is_absent(int errnum);

/*
 * Format the keyward part of a record, "op=... kw_secret=... acct=...",
 * into buf (size bytes): the fields of r that are set, in the documented
 * order, untrusted strings encoded with audit_encode_nv_string.
 * kw_audit_emit() appends exe= hostname= addr= terminal= res= as libaudit's
 * audit_log_user_message() does. Used by kw_audit_emit();
 * exposed for the tests.
 */
int kw_audit_format(const struct kw_audit_rec *r, char *buf, size_t size,
    struct kw_error *e);

/* Load the per-install audit key (KW_SAFE_SECRET, exactly 32 bytes). */
int kw_audit_key_load(const char *path, unsigned char key[KW_AUDIT_KEY_LEN],
    struct kw_error *e);

/* fp: first 16 hex of HMAC-SHA256(key, value). out has 17 bytes. */
int kw_audit_fp(const unsigned char key[KW_AUDIT_KEY_LEN], const void *value,
    size_t len, char out[KW_FP_HEX_LEN + 1], struct kw_error *e);

/*
 * The same for many values under one key: kw_fp_new() keys an HMAC once
 * (the caller may wipe its copy of the key right after), kw_fp_value()
 * fingerprints one value, kw_fp_free() (NULL-safe) releases it.
 */
struct kw_fp;
int kw_fp_new(const unsigned char key[KW_AUDIT_KEY_LEN], struct kw_fp **out,
    struct kw_error *e);
int kw_fp_value(struct kw_fp *f, const void *value, size_t len,
    char out[KW_FP_HEX_LEN + 1], struct kw_error *e);
void kw_fp_free(struct kw_fp *f);

/* The op name ("keyward-deliver", ...). */
const char *kw_audit_op_name(enum kw_audit_op op);

#endif /* KW_AUDIT_H */
