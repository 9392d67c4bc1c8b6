/*
 * audit_impl.h - pieces shared inside the audit layer only: asking the
 * kernel, over the audit netlink fd, for its audit status and its rule
 * list, and reading the answers.
 *
 * Each such answer costs the kernel a thread (audit_send_reply() and
 * audit_list_rules_send() start one per request), started inside the
 * sendto() that asks, and the answer comes from that thread afterwards.
 * So the requests are framed here and may go out with other messages in
 * one sendto() (kw_audit_ask_frame()), several outstanding together, and
 * their answers are taken as they come: kw_audit_ask_feed() for each
 * message read off the fd, whatever read it, kw_audit_ask_wait() for the
 * rest. The caller does other work in between.
 */
#ifndef KW_AUDIT_IMPL_H
#define KW_AUDIT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

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

/* keyward's keyctl read rule for one architecture, as the list is read. */
struct kw_rule_arch {
	int nr;			/* keyctl's system call number */
	uint32_t arch;		/* AUDIT_ARCH_... */
	bool loaded;		/* an always,exit rule of ours is there */
	bool shadowed;		/* a never,exit rule before it drops keyctl */
};

#define KW_ASK_STATUS 1u	/* AUDIT_GET */
#define KW_ASK_RULES 2u		/* AUDIT_LIST_RULES */

/*
 * Requests outstanding on one fd and their answers. Zeroed: nothing
 * asked. A request is done when its answer came (status: one AUDIT_GET;
 * rule list: every rule up to NLMSG_DONE) or the kernel refused it
 * (*_err: the errno); a failed read ends both with that errno.
 */
struct kw_audit_ask {
	uint32_t status_seq;	/* nlmsg_seq of the status request, 0 = none */
	uint32_t rules_seq;	/* of the rule list request, 0 = none */
	bool status_done;
	bool rules_done;
	int status_err;
	int rules_err;
	struct kw_audit_status status;
	/* the rule list, judged rule by rule as it comes */
	struct kw_rule_arch ra[2];
	size_t n_arch;
	bool excluded;		/* an exclude rule may drop SYSCALL records */
};

/* Room kw_audit_ask_frame() needs at most (both requests). */
#define KW_ASK_FRAME_MAX (2 * NLMSG_HDRLEN)

/*
 * Forget q's requests and ask for what (KW_ASK_STATUS | KW_ASK_RULES):
 * write their netlink messages into buf (KW_ASK_FRAME_MAX bytes), without
 * NLM_F_ACK (the kernel answers a refusal all the same), numbered from
 * *seq + 1 on (*seq advanced). Returns the bytes written. A rule list on a
 * machine whose keyctl libaudit cannot name is not asked: it is done at
 * once with ENOSYS.
 */
size_t kw_audit_ask_frame(struct kw_audit_ask *q, unsigned what,
    uint32_t *seq, void *buf);

/* The same, sent alone over fd. Returns 0 or the errno of sendto(). */
int kw_audit_ask_send(int fd, struct kw_audit_ask *q, unsigned what,
    uint32_t *seq);

/*
 * Take message h (len bytes read, the message possibly cut short) when it
 * answers one of q's requests. Returns true when it did (it is then no
 * business of the caller's), false for any other message.
 */
bool kw_audit_ask_feed(struct kw_audit_ask *q, const struct nlmsghdr *h,
    size_t len);

/* True while a request of q has no answer yet. */
bool kw_audit_ask_pending(const struct kw_audit_ask *q);

/* End every pending request of q with errnum (e.g. a failed sendto()). */
void kw_audit_ask_fail(struct kw_audit_ask *q, int errnum);

/*
 * Read fd until every request of the n sets q[] is done, for at most a
 * few seconds (the kernel answers in microseconds). Messages about
 * anything else are dropped: read the refusals of records sent before
 * (they are queued by the time sendto() returns) first. A read that fails
 * (or times out, ETIMEDOUT) ends the requests still pending with its
 * errno.
 */
void kw_audit_ask_wait(int fd, struct kw_audit_ask *const q[], size_t n);

/*
 * The answers, once done: the status (a daemon pid with no process
 * behind it reads as 0), whether keyward's keyctl read rules are loaded.
 * Return 0, or KW_EAUDIT with *err set to the errno (EPERM without
 * CAP_AUDIT_CONTROL, ECONNREFUSED, ETIMEDOUT...) and e saying what failed;
 * KW_EINTERNAL when it was not asked.
 */
int kw_audit_ask_status(const struct kw_audit_ask *q,
    struct kw_audit_status *st, int *err, struct kw_error *e);
int kw_audit_ask_rules(const struct kw_audit_ask *q, bool *loaded, int *err,
    struct kw_error *e);

/*
 * Ask for the kernel's audit status over fd and wait for it (needs
 * CAP_AUDIT_CONTROL). Returns 0, or KW_EAUDIT with *err set to the errno
 * and e saying what failed.
 */
int kw_audit_get_status(int fd, struct kw_audit_status *st, int *err,
    struct kw_error *e);

#endif /* KW_AUDIT_IMPL_H */
