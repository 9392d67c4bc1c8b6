/*
 * audit_rules.c - ask the kernel, over libaudit's netlink fd, for its audit
 * status and its rule list, and decide whether keyward's keyctl-read rule
 * is loaded. No shelling out to auditctl.
 */
#include "config.h"

#include <errno.h>
#include <libaudit.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
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

/*
 * Wait for the next netlink reply with sequence number seq into rep.
 * Returns 0, or a negative errno (-ETIMEDOUT when the kernel said
 * nothing in time, the kernel's error from an NLMSG_ERROR reply).
 * Acks (NLMSG_ERROR with error 0) are skipped.
 */
static int
next_reply(int fd, int seq, struct audit_reply *rep)
{
	long long deadline = now_ms() + KW_AUDIT_REPLY_MS, left;
	struct pollfd pfd;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		r = audit_get_reply(fd, rep, GET_REPLY_NONBLOCKING, 0);
		if (r == -EAGAIN || r == 0)
			continue;
		if (r < 0)
			return r;
		if (rep->nlh == NULL || (int)rep->nlh->nlmsg_seq != seq)
			continue;	/* a stale answer to someone else */
		if (rep->type == NLMSG_ERROR) {
			if (rep->error == NULL || rep->error->error == 0)
				continue;	/* the ack */
			return rep->error->error;
		}
		return 0;
	}
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

/* Ask for the kernel's audit status. */
int
kw_audit_get_status(int fd, struct kw_audit_status *st, int *err,
    struct kw_error *e)
{
	struct audit_reply rep;
	int seq, r;

	memset(st, 0, sizeof(*st));
	*err = 0;
	if (fd < 0) {
		*err = EBADF;
		return kw_fail(e, KW_EAUDIT, "no audit connection");
	}
	seq = audit_request_status(fd);
	if (seq <= 0) {
		*err = seq < 0 ? -seq : EIO;
		return netlink_fail(e, *err, "audit status request");
	}
	for (;;) {
		memset(&rep, 0, sizeof(rep));
		if ((r = next_reply(fd, seq, &rep)) != 0) {
			*err = -r;
			return netlink_fail(e, *err, "audit status reply");
		}
		if (rep.type == AUDIT_GET && rep.status != NULL)
			break;
	}
	st->enabled = rep.status->enabled;
	st->pid = rep.status->pid;
	/*
	 * The kernel notices that its daemon died only when it next fails to
	 * send to it; until then it reports the dead pid, and the records in
	 * between go to the kernel log only. A pid with no process behind it
	 * is no daemon. (Root sees every pid; EPERM means it exists.)
	 */
	if (st->pid != 0 && kill((pid_t)st->pid, 0) == -1 && errno == ESRCH)
		st->pid = 0;
	st->lost = rep.status->lost;
	st->backlog = rep.status->backlog;
	st->backlog_limit = rep.status->backlog_limit;
	st->read = true;
	return 0;
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

/* Per architecture: keyctl's number, the arch value, what was seen. */
struct read_rule_arch {
	int nr;
	uint32_t arch;
	bool loaded;
	bool shadowed;
};

/*
 * Is keyward's keyctl-read rule loaded, for the native architecture and,
 * on x86_64, for 32-bit programs too (a 32-bit keyctl is another system
 * call number: without its rule such reads leave no record)? Not when an
 * earlier never-rule or an exclude rule would drop the records.
 */
int
kw_audit_read_rule_loaded(int fd, bool *loaded, int *err, struct kw_error *e)
{
	struct read_rule_arch ra[2];
	struct audit_reply rep;
	int seq, r, machine, c;
	size_t n = 1, i;
	bool excluded = false;

	*loaded = false;
	*err = 0;
	if (fd < 0) {
		*err = EBADF;
		return kw_fail(e, KW_EAUDIT, "no audit connection");
	}
	memset(ra, 0, sizeof(ra));
	machine = audit_detect_machine();
	ra[0].nr = machine < 0 ? -1 : audit_name_to_syscall("keyctl", machine);
	ra[0].arch = machine < 0 ? 0 : audit_machine_to_elf(machine);
	if (ra[0].nr < 0 || ra[0].arch == 0) {
		*err = ENOSYS;
		return kw_fail(e, KW_EAUDIT, "audit rules: unknown machine or "
		    "no keyctl system call");
	}
	if (machine == MACH_86_64) {
		ra[1].nr = audit_name_to_syscall("keyctl", MACH_X86);
		ra[1].arch = audit_machine_to_elf(MACH_X86);
		if (ra[1].nr >= 0 && ra[1].arch != 0)
			n = 2;
	}
	seq = audit_request_rules_list_data(fd);
	if (seq <= 0) {
		*err = seq < 0 ? -seq : EIO;
		return netlink_fail(e, *err, "audit rule list request");
	}
	/* read every reply up to NLMSG_DONE so none is left on the fd */
	for (;;) {
		memset(&rep, 0, sizeof(rep));
		if ((r = next_reply(fd, seq, &rep)) != 0) {
			*err = -r;
			return netlink_fail(e, *err, "audit rule list reply");
		}
		if (rep.type == NLMSG_DONE)
			break;
		if (rep.type != AUDIT_LIST_RULES || rep.ruledata == NULL)
			continue;
		if (rep.len < (int)NLMSG_HDRLEN)
			continue;
		if (exclude_shadows(rep.ruledata,
		    (size_t)rep.len - NLMSG_HDRLEN))
			excluded = true;
		for (i = 0; i < n; i++) {
			c = classify_rule(rep.ruledata,
			    (size_t)rep.len - NLMSG_HDRLEN, ra[i].nr,
			    ra[i].arch);
			if (c < 0 && !ra[i].loaded)
				ra[i].shadowed = true;
			else if (c > 0 && !ra[i].shadowed)
				ra[i].loaded = true;
		}
	}
	*loaded = !excluded;
	for (i = 0; i < n; i++)
		*loaded = *loaded && ra[i].loaded;
	return 0;
}
