/*
 * audit_impl.h - pieces shared inside the audit layer only: talking to the
 * kernel over the libaudit netlink fd (status, rule list).
 */
#ifndef KW_AUDIT_IMPL_H
#define KW_AUDIT_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "kw_error.h"

/* What the kernel says about itself (a subset of struct audit_status). */
struct kw_audit_status {
	uint32_t enabled;	/* 0 off, 1 on, 2 on and locked */
	uint32_t pid;		/* the registered audit daemon, 0 = none */
	uint32_t lost;		/* records the kernel dropped */
	uint32_t backlog;	/* records queued now */
	uint32_t backlog_limit;
	bool read;		/* read from the kernel (else: not asked) */
};

/*
 * Ask the kernel for its audit status over fd (needs CAP_AUDIT_CONTROL).
 * Returns 0, or KW_EAUDIT with *err set to the errno (EPERM, ECONNREFUSED,
 * ETIMEDOUT...) and e saying what failed.
 */
int kw_audit_get_status(int fd, struct kw_audit_status *st, int *err,
    struct kw_error *e);

/*
 * Read the kernel's rule list over fd and set *loaded when keyward's
 * keyctl(KEYCTL_READ) rule for the native architecture is there: an
 * always,exit rule whose syscall mask has keyctl, with key "keyward",
 * restricted by nothing but arch= (native), a0=11 and the key, and not
 * preceded by a never,exit rule that covers keyctl. Returns 0 or
 * KW_EAUDIT (*err = errno).
 */
int kw_audit_read_rule_loaded(int fd, bool *loaded, int *err,
    struct kw_error *e);

#endif /* KW_AUDIT_IMPL_H */
