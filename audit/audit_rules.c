/*
 * audit_rules.c - ask the kernel, over the audit netlink fd, for its audit
 * status and its rule list, take the answers as they come (audit_impl.h),
 * and decide whether keyward's keyctl-read rule is loaded. No shelling out
 * to auditctl.
 */
#include "config.h"

#include <errno.h>
#include <libaudit.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "audit_impl.h"

#define KW_KEYCTL_READ 11		/* KEYCTL_READ, <linux/keyctl.h> */
#define KW_AUDIT_REPLY_MS 2000		/* the kernel answers in microseconds */

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fill e for a failed netlink exchange; returns KW_EAUDIT. */
static int
netlink_fail(struct kw_error *e, int errnum, const char *what)
{
	if (errnum == EPERM)
		return kw_fail(e, KW_EAUDIT, "%s: not permitted "
		    "(CAP_AUDIT_CONTROL is needed, in the initial namespaces)",
		    what);
	if (errnum == ECONNREFUSED)
		return kw_fail(e, KW_EAUDIT, "%s: the kernel audit subsystem "
		    "refused the connection (a container or user namespace?)",
		    what);
	return kw_fail_errno(e, KW_EAUDIT, errnum, "%s", what);
}

/* True when syscall nr is in the rule's mask. */
static bool
mask_has(const struct audit_rule_data *r, int nr)
{
	if (nr < 0 || nr >= AUDIT_BITMASK_SIZE * 32)
		return false;
	return (r->mask[AUDIT_WORD(nr)] & AUDIT_BIT(nr)) != 0;
}

/* True when field f takes a string from the rule's buffer. */
static bool
string_field(uint32_t f)
{
	switch (f) {
	case AUDIT_SUBJ_USER: case AUDIT_SUBJ_ROLE: case AUDIT_SUBJ_TYPE:
	case AUDIT_SUBJ_SEN: case AUDIT_SUBJ_CLR: case AUDIT_OBJ_USER:
	case AUDIT_OBJ_ROLE: case AUDIT_OBJ_TYPE: case AUDIT_OBJ_LEV_LOW:
	case AUDIT_OBJ_LEV_HIGH: case AUDIT_WATCH: case AUDIT_DIR:
	case AUDIT_FILTERKEY:
#ifdef AUDIT_EXE
	case AUDIT_EXE:
#endif
		return true;
	}
	return false;
}

/* True when the \001-separated key list k (len bytes) holds "keyward". */
static bool
key_has_keyward(const char *k, size_t len)
{
	size_t i = 0, j;

	while (i <= len) {
		for (j = i; j < len && k[j] != '\001'; j++)
			;
		if (j - i == 7 && memcmp(k + i, "keyward", 7) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

/*
 * Classify one rule: 1 = keyward's read rule, -1 = a never,exit rule that
 * covers keyctl for arch (shadows what follows), 0 = neither.
 */
static int
classify_rule(const struct audit_rule_data *r, size_t len, int nr,
    uint32_t arch)
{
	size_t off = 0, need;
	uint32_t i, f, op, v;
	bool key = false, ok = true;

	if ((r->flags & ~AUDIT_FILTER_PREPEND) != AUDIT_FILTER_EXIT ||
	    !mask_has(r, nr))
		return 0;
	need = sizeof(*r) + r->buflen;
	if (r->field_count > AUDIT_MAX_FIELDS || need > len)
		return 0;
	for (i = 0; i < r->field_count; i++) {
		f = r->fields[i];
		op = r->fieldflags[i];
		v = r->values[i];
		if (string_field(f)) {
			if (v > r->buflen - off)
				return 0;
			if (f == AUDIT_FILTERKEY && key_has_keyward(r->buf + off,
			    v))
				key = true;
			else if (f != AUDIT_FILTERKEY)
				ok = false;
			off += v;
			continue;
		}
		if (f == AUDIT_ARCH) {
			if (op == AUDIT_EQUAL && v != arch)
				return 0;	/* another arch's rule */
			if (op != AUDIT_EQUAL)
				ok = false;
		} else if (f == AUDIT_ARG0) {
			if (op != AUDIT_EQUAL || v != KW_KEYCTL_READ)
				ok = false;
		} else {
			ok = false;	/* uid, pid, exit... restrict it */
		}
	}
	if (r->action == AUDIT_NEVER)
		return ok ? -1 : 0;
	if (r->action == AUDIT_ALWAYS && ok && key)
		return 1;
	return 0;
}

/*
 * True when an exclude-list rule may drop SYSCALL records (and so the
 * kernel records of key reads): any "always" exclude rule, unless it only
 * drops one message type that is not SYSCALL.
 */
static bool
exclude_shadows(const struct audit_rule_data *r, size_t len)
{
	uint32_t i;

	if ((r->flags & ~AUDIT_FILTER_PREPEND) != AUDIT_FILTER_EXCLUDE ||
	    r->action != AUDIT_ALWAYS)
		return false;
	if (r->field_count > AUDIT_MAX_FIELDS ||
	    sizeof(*r) + r->buflen > len)
		return true;
	for (i = 0; i < r->field_count; i++)
		if (r->fields[i] == AUDIT_MSGTYPE &&
		    r->fieldflags[i] == AUDIT_EQUAL &&
		    r->values[i] != AUDIT_SYSCALL)
			return false;
	return true;
}


/* Start judging a rule list: keyctl's number and arch, native and 32-bit. */
static int
rules_init(struct kw_audit_ask *q)
{
	int machine = audit_detect_machine();

	memset(q->ra, 0, sizeof(q->ra));
	q->n_arch = 1;
	q->excluded = false;
	q->ra[0].nr = machine < 0 ? -1 : audit_name_to_syscall("keyctl",
	    machine);
	q->ra[0].arch = machine < 0 ? 0 : audit_machine_to_elf(machine);
	if (q->ra[0].nr < 0 || q->ra[0].arch == 0) {
		q->n_arch = 0;
		return ENOSYS;
	}
	/*
	 * On x86_64 the 32-bit programs too: their keyctl is another system
	 * call number, and without its rule their reads leave no record.
	 */
	if (machine == MACH_86_64) {
		q->ra[1].nr = audit_name_to_syscall("keyctl", MACH_X86);
		q->ra[1].arch = audit_machine_to_elf(MACH_X86);
		if (q->ra[1].nr >= 0 && q->ra[1].arch != 0)
			q->n_arch = 2;
	}
	return 0;
}

/* Judge one rule of the list (len bytes of it read). */
static void
rules_feed(struct kw_audit_ask *q, const struct audit_rule_data *r,
    size_t len)
{
	size_t i;
	int c;

	if (len < sizeof(*r)) {
		q->excluded = true;	/* cut short: it might be one */
		return;
	}
	if (exclude_shadows(r, len))
		q->excluded = true;
	for (i = 0; i < q->n_arch; i++) {
		c = classify_rule(r, len, q->ra[i].nr, q->ra[i].arch);
		if (c < 0 && !q->ra[i].loaded)
			q->ra[i].shadowed = true;
		else if (c > 0 && !q->ra[i].shadowed)
			q->ra[i].loaded = true;
	}
}

/* Write one request header at p. */
static void
frame_one(void *p, int type, uint32_t seq)
{
	struct nlmsghdr h;

	memset(&h, 0, sizeof(h));
	h.nlmsg_len = NLMSG_LENGTH(0);
	h.nlmsg_type = (uint16_t)type;
	h.nlmsg_flags = NLM_F_REQUEST;
	h.nlmsg_seq = seq;
	memcpy(p, &h, sizeof(h));
}

/* Frame the requests for what. */
size_t
kw_audit_ask_frame(struct kw_audit_ask *q, unsigned what, uint32_t *seq,
    void *buf)
{
	char *p = buf;
	size_t len = 0;
	int err;

	memset(q, 0, sizeof(*q));
	if (what & KW_ASK_STATUS) {
		q->status_seq = ++*seq;
		frame_one(p + len, AUDIT_GET, q->status_seq);
		len += NLMSG_HDRLEN;
	}
	if (what & KW_ASK_RULES) {
		q->rules_seq = ++*seq;
		if ((err = rules_init(q)) != 0) {
			q->rules_done = true;
			q->rules_err = err;
		} else {
			frame_one(p + len, AUDIT_LIST_RULES, q->rules_seq);
			len += NLMSG_HDRLEN;
		}
	}
	return len;
}

/* End every pending request of q with errnum. */
void
kw_audit_ask_fail(struct kw_audit_ask *q, int errnum)
{
	if (q->status_seq != 0 && !q->status_done) {
		q->status_done = true;
		q->status_err = errnum;
	}
	if (q->rules_seq != 0 && !q->rules_done) {
		q->rules_done = true;
		q->rules_err = errnum;
	}
}

/* End the request numbered seq with errnum (a refusal). */
static void
ask_fail_one(struct kw_audit_ask *q, uint32_t seq, int errnum)
{
	if (seq == q->status_seq && !q->status_done) {
		q->status_done = true;
		q->status_err = errnum;
	} else if (seq == q->rules_seq && !q->rules_done) {
		q->rules_done = true;
		q->rules_err = errnum;
	}
}

/* Frame the requests and send them alone. */
int
kw_audit_ask_send(int fd, struct kw_audit_ask *q, unsigned what,
    uint32_t *seq)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	char buf[KW_ASK_FRAME_MAX];
	size_t len;
	ssize_t r;
	int err = 0;

	len = kw_audit_ask_frame(q, what, seq, buf);
	if (len == 0)
		return 0;
	if (fd < 0)
		err = EBADF;
	else {
		do
			r = sendto(fd, buf, len, 0,
			    (const struct sockaddr *)&to, sizeof(to));
		while (r < 0 && errno == EINTR);
		if (r < 0)
			err = errno;
		else if ((size_t)r != len)
			err = EIO;
	}
	if (err != 0)
		kw_audit_ask_fail(q, err);
	return err;
}

/* Take h when it answers one of q's requests. */
bool
kw_audit_ask_feed(struct kw_audit_ask *q, const struct nlmsghdr *h,
    size_t len)
{
	const void *data = NLMSG_DATA(h);
	size_t dlen;
	uint32_t seq;

	if (len < NLMSG_HDRLEN)
		return false;
	if (h->nlmsg_len < len)
		len = h->nlmsg_len;
	dlen = len >= NLMSG_HDRLEN ? len - NLMSG_HDRLEN : 0;
	seq = h->nlmsg_seq;
	if (seq == 0 || (seq != q->status_seq && seq != q->rules_seq))
		return false;
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *ne = data;

		if (dlen < sizeof(int) || ne->error == 0)
			return true;	/* an ack: no answer */
		ask_fail_one(q, seq, -ne->error);
		return true;
	}
	if (seq == q->status_seq) {
		struct audit_status s;

		if (h->nlmsg_type != AUDIT_GET || q->status_done)
			return true;
		q->status_done = true;
		/* older kernels send a shorter struct; these 8 fields first */
		if (dlen < 8 * sizeof(uint32_t)) {
			q->status_err = EPROTO;
			return true;
		}
		memset(&s, 0, sizeof(s));
		memcpy(&s, data, dlen < sizeof(s) ? dlen : sizeof(s));
		q->status.enabled = s.enabled;
		q->status.pid = s.pid;
		q->status.lost = s.lost;
		q->status.backlog = s.backlog;
		q->status.backlog_limit = s.backlog_limit;
		q->status.read = true;
		return true;
	}
	if (q->rules_done)
		return true;
	if (h->nlmsg_type == NLMSG_DONE)
		q->rules_done = true;
	else if (h->nlmsg_type == AUDIT_LIST_RULES)
		rules_feed(q, data, dlen);
	return true;
}

/* True while a request of q has no answer yet. */
bool
kw_audit_ask_pending(const struct kw_audit_ask *q)
{
	return (q->status_seq != 0 && !q->status_done) ||
	    (q->rules_seq != 0 && !q->rules_done);
}

/* True while a request of one of the n sets q[] has no answer yet. */
static bool
any_pending(struct kw_audit_ask *const q[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (kw_audit_ask_pending(q[i]))
			return true;
	return false;
}

/* End the pending requests of the n sets q[] with errnum. */
static void
fail_all(struct kw_audit_ask *const q[], size_t n, int errnum)
{
	size_t i;

	for (i = 0; i < n; i++)
		kw_audit_ask_fail(q[i], errnum);
}

/* Read fd until every request of the n sets q[] is done. */
void
kw_audit_ask_wait(int fd, struct kw_audit_ask *const q[], size_t n)
{
	/* a rule is at most this long; a longer one is judged cut short */
	union {
		struct nlmsghdr h;
		char b[MAX_AUDIT_MESSAGE_LENGTH + NLMSG_HDRLEN];
	} buf;
	long long deadline = now_ms() + KW_AUDIT_REPLY_MS, left;
	struct sockaddr_nl from;
	socklen_t fromlen;
	struct pollfd pfd;
	const struct nlmsghdr *h;
	size_t len, step, i;
	ssize_t r;

	if (fd < 0)
		fail_all(q, n, EBADF);
	while (any_pending(q, n)) {
		fromlen = sizeof(from);
		r = recvfrom(fd, buf.b, sizeof(buf.b), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &fromlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((left = deadline - now_ms()) <= 0) {
				fail_all(q, n, ETIMEDOUT);
				break;
			}
			pfd.fd = fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
				fail_all(q, n, errno);
				break;
			}
			continue;
		}
		if (r < 0) {
			fail_all(q, n, errno);
			break;
		}
		if (fromlen < sizeof(from) || from.nl_pid != 0)
			continue;	/* not from the kernel */
		/* each message of the datagram; the last may be cut short */
		for (len = (size_t)r, h = &buf.h; len >= NLMSG_HDRLEN;
		    len -= step, h = (const void *)((const char *)h + step)) {
			for (i = 0; i < n && !kw_audit_ask_feed(q[i], h, len);
			    i++)
				;
			step = NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_len < NLMSG_HDRLEN || step >= len)
				break;
		}
	}
}

/* The status asked for, once done. */
int
kw_audit_ask_status(const struct kw_audit_ask *q, struct kw_audit_status *st,
    int *err, struct kw_error *e)
{
	memset(st, 0, sizeof(*st));
	*err = 0;
	if (q->status_seq == 0 || !q->status_done) {
		*err = EINVAL;
		return kw_fail(e, KW_EINTERNAL, "audit status not asked");
	}
	if (q->status_err != 0) {
		*err = q->status_err;
		return netlink_fail(e, *err, "audit status");
	}
	*st = q->status;
	/*
	 * The kernel notices that its daemon died only when it next fails to
	 * send to it; until then it reports the dead pid, and the records in
	 * between go to the kernel log only. A pid with no process behind it
	 * is no daemon. (Root sees every pid; EPERM means it exists.)
	 */
	if (st->pid != 0 && kill((pid_t)st->pid, 0) == -1 && errno == ESRCH)
		st->pid = 0;
	return 0;
}

/* Whether keyward's read rules were in the list asked for, once done. */
int
kw_audit_ask_rules(const struct kw_audit_ask *q, bool *loaded, int *err,
    struct kw_error *e)
{
	size_t i;

	*loaded = false;
	*err = 0;
	if (q->rules_seq == 0 || !q->rules_done) {
		*err = EINVAL;
		return kw_fail(e, KW_EINTERNAL, "audit rule list not asked");
	}
	if (q->n_arch == 0) {
		*err = ENOSYS;
		return kw_fail(e, KW_EAUDIT, "audit rules: unknown machine or "
		    "no keyctl system call");
	}
	if (q->rules_err != 0) {
		*err = q->rules_err;
		return netlink_fail(e, *err, "audit rule list");
	}
	*loaded = !q->excluded;
	for (i = 0; i < q->n_arch; i++)
		*loaded = *loaded && q->ra[i].loaded;
	return 0;
}

/* Ask for the status and wait for it. */
int
kw_audit_get_status(int fd, struct kw_audit_status *st, int *err,
    struct kw_error *e)
{
	static uint32_t counter;	/* requests of this function, any fd */
	struct kw_audit_ask q;
	struct kw_audit_ask *const qs[] = { &q };
	uint32_t seq;

	if (fd < 0) {
		memset(st, 0, sizeof(*st));
		*err = EBADF;
		return kw_fail(e, KW_EAUDIT, "no audit connection");
	}
	/* far from libaudit's numbers (1 up) and from kw_audit's records */
	seq = 0x4b560000u + (__atomic_fetch_add(&counter, 1,
	    __ATOMIC_RELAXED) & 0xffffu);
	if (kw_audit_ask_send(fd, &q, KW_ASK_STATUS, &seq) == 0)
		kw_audit_ask_wait(fd, qs, 1);
	return kw_audit_ask_status(&q, st, err, e);
}
