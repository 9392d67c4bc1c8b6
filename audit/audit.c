/*
 * audit.c - keyward's own records in the Linux audit subsystem
 * (keyward-audit(7)): formatting, writing and checking that the kernel
 * kept them; the readiness checks of audit=required; value fingerprints.
 *
 * A struct kw_audit owns one netlink fd. It is not thread-safe (replies
 * to one thread's requests would be read by another): use one struct
 * kw_audit per thread and never share it.
 *
 * Records are sent by our own netlink framing, in the text libaudit's
 * audit_log_user_message() writes ("... exe= hostname= addr= terminal=
 * res="), without NLM_F_ACK: the kernel handles a user record inside our
 * sendto() and, when it refuses one, has queued the refusal when sendto()
 * returns (it answers errors whether asked to or not). A batch's records
 * go several to one sendto() (the kernel's audit_receive() takes each
 * message of the datagram in turn), and one recvmmsg() without waiting
 * then finds any refusal: per record, no acknowledgement to make and read,
 * no poll() and no MSG_PEEK read as in libaudit, and no system call of its
 * own.
 *
 * The audit status (and, for readiness, the rule list) is asked for by our
 * own framing too (audit_impl.h): the kernel starts a thread for each
 * answer, so a request goes out as early as its meaning allows (the status
 * after records in the very sendto() of the last of them) and its answer
 * is taken when it is needed, the caller's work done in between.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libaudit.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "audit.h"
#include "audit_impl.h"
#include "kw_util.h"

struct kw_audit {
	int fd;			/* libaudit netlink socket, -1 = none */
	int open_errno;		/* why audit_open() failed */
	enum kw_audit_mode mode;
	bool in_batch;		/* between batch_begin and batch_send/end */
	bool batch_sent;	/* between batch_send and batch_end */
	bool batch_checked;	/* the status before the batch was read */
	struct kw_audit_status batch_before;
	bool have_ready;	/* ready_status unused yet */
	struct kw_audit_status ready_status;	/* from kw_audit_ready() */
	bool ready_asked;	/* ready_q sent, not taken by kw_audit_ready() */
	bool status_ahead;	/* after_q sent ahead for the next best-effort
				 * check (kw_audit_ask_ahead()) */
	char *stamp;		/* best-effort: the shared status stamp */
	bool stamp_fresh;	/* it says a check just found all well: this
				 * connection asks for no status */
	struct kw_audit_ask ready_q;	/* status and rule list, readiness */
	struct kw_audit_ask after_q;	/* status around records */
	bool tty_known;		/* tty looked up */
	char tty[64];		/* terminal on fd 0-2 without "/dev/"; "" */
	bool exe_known;		/* exe looked up */
	char exe[2 * PATH_MAX + 3];	/* exe= as libaudit writes it */
	char *out;		/* framed records not sent yet */
	size_t out_len;
	unsigned n_out;		/* records in out */
	bool sent_one;		/* this batch's first record went alone */
	uint32_t seq;		/* our records' and requests' nlmsg_seq, last
				 * used */
};

/*
 * At most this many records a sendto(), in a buffer of OUT_SIZE bytes that
 * afterwards takes their refusals, if any (ACK_SIZE bytes each read: a
 * refusal is 36 bytes, or may be cut short after its errno). The kernel
 * queues a refusal on our socket before sendto() returns; 64 fit its
 * receive buffer many times over.
 */
#define OUT_RECORDS 64
#define OUT_SIZE (64 * 1024)
#define ACK_SIZE 256
/* Our records' sequence numbers start here, far from libaudit's (1...). */
#define SEQ_BASE 0x4b570000u

static const char *const op_names[] = {
	[KW_OP_GATE] = "keyward-gate",
	[KW_OP_DELIVER] = "keyward-deliver",
	[KW_OP_READ] = "keyward-read",
	[KW_OP_UPDATE] = "keyward-update",
	[KW_OP_REVOKE] = "keyward-revoke",
	[KW_OP_DENY] = "keyward-deny",
	[KW_OP_VAULT] = "keyward-vault",
};

/* The op name of op, or "keyward-unknown". */
const char *
kw_audit_op_name(enum kw_audit_op op)
{
	if ((unsigned)op >= sizeof(op_names) / sizeof(op_names[0]) ||
	    op_names[op] == NULL)
		return "keyward-unknown";
	return op_names[op];
}

/* True for the errnos that mean "this kernel has no audit for us". */
bool
kw_audit_errno_is_absent(int errnum)
{
	return errnum == EINVAL || errnum == EPROTONOSUPPORT ||
	    errnum == EAFNOSUPPORT || errnum == ECONNREFUSED;
}

/* Open a connection; in best-effort mode a failed open is not an error. */
int
kw_audit_open(enum kw_audit_mode mode, struct kw_audit **out,
    struct kw_error *e)
{
	struct kw_audit *a;
	int err;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	a->mode = mode;
	/* libaudit must not print to our stderr or syslog: we report */
	set_aumessage_mode(MSG_QUIET, DBG_NO);
	/* audit_open() without its separate fcntl(FD_CLOEXEC) */
	errno = 0;
	a->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	a->seq = SEQ_BASE;
	if (a->fd >= 0) {
		int one = 1;

		/* a refusal comes back without a copy of the record (4.3+) */
		(void)setsockopt(a->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
		    sizeof(one));
	}
	if (a->fd < 0) {
		err = errno != 0 ? errno : EIO;
		a->open_errno = err;
		if (mode == KW_AUDIT_REQUIRED || !kw_audit_errno_is_absent(err)) {
			free(a);
			return kw_fail_errno(e, KW_EAUDIT, err,
			    "cannot open the kernel audit connection");
		}
	}
	*out = a;
	return 0;
}

static int flush(struct kw_audit *a, unsigned ask, struct kw_error *e);

/* Close and free. */
void
kw_audit_close(struct kw_audit *a)
{
	struct kw_error ie;

	if (a == NULL)
		return;
	/* a batch left open on a failure path: its records still go out */
	if (a->n_out > 0)
		(void)flush(a, 0, &ie);
	if (a->fd >= 0)
		close(a->fd);
	free(a->out);
	free(a->stamp);
	free(a);
}

/*
 * True when the stamp at path was touched by a best-effort check less than
 * KW_AUDIT_STAMP_SECS ago: a regular file of root's with one link (no
 * symlink, no hard link to some other file), its time not in the future.
 */
static bool
stamp_is_fresh(const char *path)
{
	struct timespec now;
	struct stat st;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1 ||
	    clock_gettime(CLOCK_REALTIME, &now) != 0)
		return false;
	return st.st_mtim.tv_sec <= now.tv_sec &&
	    now.tv_sec - st.st_mtim.tv_sec < KW_AUDIT_STAMP_SECS;
}

/* Share the best-effort status check through the stamp at path. */
int
kw_audit_share_status(struct kw_audit *a, const char *path,
    struct kw_error *e)
{
	if (a == NULL || a->mode != KW_AUDIT_BEST_EFFORT || a->fd < 0)
		return 0;
	free(a->stamp);
	if ((a->stamp = strdup(path)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	a->stamp_fresh = stamp_is_fresh(path);
	return 0;
}

/*
 * After a best-effort check: all well touches the stamp (made if missing,
 * in the directory the caller keeps root's), anything else removes it so
 * that every later operation checks, and warns, again. Errors are ignored:
 * without a stamp, operations check for themselves.
 */
static void
stamp_after(struct kw_audit *a, bool well)
{
	int fd;

	if (a->stamp == NULL)
		return;
	if (!well) {
		(void)unlink(a->stamp);
		return;
	}
	if (utimensat(AT_FDCWD, a->stamp, NULL, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT)
		return;
	fd = open(a->stamp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (fd >= 0)
		close(fd);
}

/* Wait for the answers to every request outstanding on a's connection. */
static void
settle(struct kw_audit *a)
{
	struct kw_audit_ask *const qs[] = { &a->ready_q, &a->after_q };

	if (kw_audit_ask_pending(&a->ready_q) ||
	    kw_audit_ask_pending(&a->after_q))
		kw_audit_ask_wait(a->fd, qs, 2);
}

/* The error for a call between kw_audit_batch_send() and _end(). */
static int
batch_pending(struct kw_error *e, const char *what)
{
	return kw_fail(e, KW_EINTERNAL, "%s: an audit batch was sent and "
	    "not ended", what);
}

/* Ask for what kw_audit_ready() checks, unless asked. */
static void
ask_ready(struct kw_audit *a)
{
	if (a->ready_asked)
		return;
	/* a failed send is kept in ready_q and reported by kw_audit_ready() */
	(void)kw_audit_ask_send(a->fd, &a->ready_q,
	    KW_ASK_STATUS | KW_ASK_RULES, &a->seq);
	a->ready_asked = true;
}

/* Ask now for what the next check on a needs. */
void
kw_audit_ask_ahead(struct kw_audit *a)
{
	if (a == NULL || a->fd < 0 || a->batch_sent)
		return;
	if (a->mode == KW_AUDIT_REQUIRED) {
		ask_ready(a);
		return;
	}
	if (a->status_ahead || a->stamp_fresh)
		return;
	settle(a);
	/* a failed send is in after_q: status_after() reports it */
	(void)kw_audit_ask_send(a->fd, &a->after_q, KW_ASK_STATUS, &a->seq);
	a->status_ahead = true;
}

/* audit=required readiness. */
int
kw_audit_ready(struct kw_audit *a, struct kw_error *e)
{
	struct kw_audit_status st;
	bool loaded;
	int err, rc;

	if (a == NULL || a->fd < 0)
		return kw_fail_errno(e, KW_EAUDIT, a != NULL ? a->open_errno :
		    EBADF, "audit unavailable: no kernel audit connection");
	if (a->batch_sent)
		return batch_pending(e, "audit readiness");
	ask_ready(a);
	settle(a);
	a->ready_asked = false;
	if ((rc = kw_audit_ask_status(&a->ready_q, &st, &err, e)) != 0)
		return kw_error_prefix(e, "audit unavailable");
	if (st.enabled == 0)
		return kw_fail(e, KW_EAUDIT, "audit unavailable: the kernel "
		    "audit subsystem is disabled (auditctl -e 0)");
	if (st.pid == 0)
		return kw_fail(e, KW_EAUDIT, "audit unavailable: no audit "
		    "daemon is running (start auditd)");
	if ((rc = kw_audit_ask_rules(&a->ready_q, &loaded, &err, e)) != 0)
		return kw_error_prefix(e, "audit unavailable");
	if (!loaded)
		return kw_fail(e, KW_EAUDIT, "audit unavailable: keyward's "
		    "keyctl read rules (-k keyward, 64- and 32-bit) are not "
		    "both loaded in the kernel, or a rule excludes their "
		    "records (install keyward.rules in /etc/audit/rules.d and "
		    "run augenrules --load)");
	/*
	 * The next status check before a record uses this one: each status
	 * request costs the kernel a thread (audit_send_reply), and the
	 * lost counter compared over a longer span only errs on the side
	 * of refusing.
	 */
	a->ready_status = st;
	a->have_ready = true;
	return 0;
}

/* Append " text" (an encoded name=value) to buf. */
static int
append_raw(char *buf, size_t size, size_t *len, const char *text,
    struct kw_error *e, const char *name)
{
	size_t tlen = strlen(text), need = (*len > 0) + tlen;
	char *p = buf + *len;

	if (need >= size - *len)
		return kw_fail(e, KW_ETOOBIG, "audit record too long at %s=",
		    name);
	if (*len > 0)
		*p++ = ' ';
	memcpy(p, text, tlen + 1);
	*len += need;
	return 0;
}

/*
 * Append " name=value" to buf (size bytes, NUL-terminated, *len used),
 * value encoded with audit_encode_nv_string (quoted, or hex when it holds
 * blanks, quotes or control characters). Returns 0 or KW_ETOOBIG/ENOMEM.
 */
static int
append_encoded(char *buf, size_t size, size_t *len, const char *name,
    const char *value, struct kw_error *e)
{
	size_t vlen = strlen(value);
	char *enc;
	int rc;

	/*
	 * What audit_encode_nv_string() makes of a value that needs no
	 * encoding, name="value", written in place: no allocation, no
	 * printf (the common case: secret names, session ids, user names).
	 */
	if (!audit_value_needs_encoding(value, (unsigned)vlen)) {
		size_t nlen = strlen(name), need = (*len > 0) + nlen + 3 + vlen;
		char *p = buf + *len;

		if (need >= size - *len)
			return kw_fail(e, KW_ETOOBIG, "audit record too long "
			    "at %s=", name);
		if (*len > 0)
			*p++ = ' ';
		memcpy(p, name, nlen);
		p += nlen;
		*p++ = '=';
		*p++ = '"';
		memcpy(p, value, vlen);
		p += vlen;
		*p++ = '"';
		*p = '\0';
		*len += need;
		return 0;
	}
	if ((enc = audit_encode_nv_string(name, value, 0)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory encoding %s=", name);
	rc = append_raw(buf, size, len, enc, e, name);
	free(enc);
	return rc;
}

/* Append " name=value" with a plain (never encoded) value. */
static int
append_plain(char *buf, size_t size, size_t *len, const char *name,
    const char *value, struct kw_error *e)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	size_t need = (*len > 0) + nlen + 1 + vlen;
	char *p = buf + *len;

	if (need >= size - *len)
		return kw_fail(e, KW_ETOOBIG, "audit record too long at %s=",
		    name);
	if (*len > 0)
		*p++ = ' ';
	memcpy(p, name, nlen);
	p += nlen;
	*p++ = '=';
	memcpy(p, value, vlen);
	p[vlen] = '\0';
	*len += need;
	return 0;
}

/* True when s is 1..64 characters of [a-z0-9] (fp=, scope words). */
static bool
plain_word(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9')))
			return false;
	return i > 0 && i <= 64;
}

/*
 * Format the keyward part of a record (op= ... acct=) into buf (size
 * bytes); *lenp: its length.
 */
static int
format_rec(const struct kw_audit_rec *r, char *buf, size_t size,
    size_t *lenp, struct kw_error *e)
{
	char num[KW_FMT_I64_LEN];
	size_t len = 0;
	int rc;

	*lenp = 0;
	if (size == 0)
		return kw_fail(e, KW_EINTERNAL, "kw_audit_format: no buffer");
	buf[0] = '\0';
	if ((unsigned)r->op >= sizeof(op_names) / sizeof(op_names[0]))
		return kw_fail(e, KW_EINTERNAL, "audit: unknown op %d",
		    (int)r->op);
	if ((rc = append_plain(buf, size, &len, "op", kw_audit_op_name(r->op),
	    e)) != 0)
		goto out;
	if (r->secret != NULL && (rc = append_encoded(buf, size, &len,
	    "kw_secret", r->secret, e)) != 0)
		goto out;
	if (r->version != 0) {
		kw_fmt_u64(num, r->version);
		if ((rc = append_plain(buf, size, &len, "kw_version", num,
		    e)) != 0)
			goto out;
	}
	if (r->fp != NULL) {
		if (strlen(r->fp) != KW_FP_HEX_LEN || !plain_word(r->fp)) {
			rc = kw_fail(e, KW_EINTERNAL, "audit: malformed fp");
			goto out;
		}
		if ((rc = append_plain(buf, size, &len, "fp", r->fp, e)) != 0)
			goto out;
	}
	if (r->serial != 0) {
		kw_fmt_i64(num, r->serial);
		if ((rc = append_plain(buf, size, &len, "kw_serial", num,
		    e)) != 0)
			goto out;
	}
	if (r->scope != NULL) {
		rc = plain_word(r->scope) ? append_plain(buf, size, &len,
		    "kw_scope", r->scope, e) : append_encoded(buf, size, &len,
		    "kw_scope", r->scope, e);
		if (rc != 0)
			goto out;
	}
	if (r->ttl != 0) {
		kw_fmt_u64(num, r->ttl);
		if ((rc = append_plain(buf, size, &len, "kw_ttl", num, e)) != 0)
			goto out;
	}
	if (r->rule != NULL && (rc = append_encoded(buf, size, &len,
	    "kw_rule", r->rule, e)) != 0)
		goto out;
	if (r->session != NULL && (rc = append_encoded(buf, size, &len,
	    "kw_session", r->session, e)) != 0)
		goto out;
	if (r->acct != NULL && (rc = append_encoded(buf, size, &len, "acct",
	    r->acct, e)) != 0)
		goto out;
	*lenp = len;
	rc = 0;
out:
	if (rc != 0)
		buf[0] = '\0';
	return rc;
}

/* Format the keyward part of a record (op= ... acct=). */
int
kw_audit_format(const struct kw_audit_rec *r, char *buf, size_t size,
    struct kw_error *e)
{
	size_t len;

	return format_rec(r, buf, size, &len, e);
}

/*
 * A host or terminal string fit for libaudit's unencoded fields: printable
 * ASCII without blanks or quotes, else NULL (libaudit writes "?").
 */
static const char *
safe_field(const char *s)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0' || strlen(s) > 255)
		return NULL;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\'')
			return NULL;
	return s;
}

/*
 * The terminal= of a record that names none: the terminal on standard
 * input, output or error, as libaudit would look it up for each record
 * (three ttyname() probes every time); looked up once per connection,
 * where one operation's records come from one process. "" for none, which
 * libaudit writes as terminal=?.
 */
static const char *
own_tty(struct kw_audit *a)
{
	char buf[sizeof(a->tty) + 5];
	const char *t;
	int fd;

	if (a->tty_known)
		return a->tty;
	a->tty_known = true;
	a->tty[0] = '\0';
	for (fd = 0; fd <= 2; fd++) {
		if (ttyname_r(fd, buf, sizeof(buf)) != 0)
			continue;
		t = strncmp(buf, "/dev/", 5) == 0 ? buf + 5 : buf;
		if (safe_field(t) != NULL && strlen(t) < sizeof(a->tty))
			memcpy(a->tty, t, strlen(t) + 1);
		break;
	}
	return a->tty;
}

/* Classify a failed write: KW_EAUDIT when the mode tolerates it. */
static int
write_failed(struct kw_audit *a, int errnum, struct kw_error *e,
    const char *what)
{
	int code = KW_EAUDIT;

	/* best-effort tolerates "no kernel audit here"; nothing else */
	if (a->mode == KW_AUDIT_BEST_EFFORT && !kw_audit_errno_is_absent(errnum))
		code = KW_ESYSTEM;
	if (errnum == EPERM)
		return kw_fail(e, code, "%s: not permitted (no "
		    "CAP_AUDIT_WRITE)", what);
	if (errnum == ECONNREFUSED)
		return kw_fail(e, code, "%s: the kernel audit subsystem "
		    "refused the connection (a container or user namespace?)",
		    what);
	return kw_fail_errno(e, code, errnum, "%s", what);
}

/*
 * The exe= of our records, as libaudit writes it: the path of
 * /proc/self/exe in quotes, or hex when it needs encoding, "?" in quotes
 * when unknown. Looked up once per connection.
 */
static const char *
own_exe(struct kw_audit *a)
{
	char path[PATH_MAX];
	ssize_t n;

	if (a->exe_known)
		return a->exe;
	a->exe_known = true;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n < 0) {
		snprintf(a->exe, sizeof(a->exe), "\"?\"");
		return a->exe;
	}
	path[n] = '\0';
	if (audit_value_needs_encoding(path, (unsigned)n))
		audit_encode_value(a->exe, path, (unsigned)n);
	else
		snprintf(a->exe, sizeof(a->exe), "\"%s\"", path);
	return a->exe;
}

/*
 * The buffer of framed records (OUT_SIZE), with room after them for the
 * requests flush() sends along, allocated on first use.
 */
static int
out_buffer(struct kw_audit *a, struct kw_error *e)
{
	if (a->out == NULL &&
	    (a->out = malloc(OUT_SIZE + KW_ASK_FRAME_MAX)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	return 0;
}

/* The keyward part of a record is at most this long (NUL included). */
#define KW_PART_MAX 2048

/*
 * Frame record r after the ones not sent yet, its text written straight
 * into the frame: the keyward part (format_rec()), then exe= hostname=
 * addr= terminal= res= as libaudit appends them. The buffer is sent first
 * when a record of the longest kind the kernel takes might not fit.
 */
static int
queue(struct kw_audit *a, int type, const struct kw_audit_rec *r,
    const char *host, const char *addr, const char *tty, struct kw_error *e)
{
	const size_t size = MAX_AUDIT_MESSAGE_LENGTH;
	struct nlmsghdr *h;
	size_t len, need;
	char *text;
	int rc;

	if ((rc = out_buffer(a, e)) != 0)
		return rc;
	/* (kw_audit_emit() sends every OUT_RECORDS-th record itself) */
	if (a->out_len + NLMSG_SPACE(size) > OUT_SIZE &&
	    (rc = flush(a, 0, e)) != 0)
		return rc;
	h = (struct nlmsghdr *)(void *)(a->out + a->out_len);
	text = NLMSG_DATA(h);
	if ((rc = format_rec(r, text, KW_PART_MAX, &len, e)) != 0)
		return rc;
	if (append_plain(text, size, &len, "exe", own_exe(a), e) != 0 ||
	    append_plain(text, size, &len, "hostname", host != NULL ? host :
	    "?", e) != 0 ||
	    append_plain(text, size, &len, "addr", addr != NULL ? addr : "?",
	    e) != 0 ||
	    append_plain(text, size, &len, "terminal", tty != NULL &&
	    *tty != '\0' ? tty : "?", e) != 0 ||
	    append_plain(text, size, &len, "res", r->success ? "success" :
	    "failed", e) != 0)
		return kw_fail(e, KW_EINTERNAL, "audit record not written: "
		    "longer than %zu bytes", size - 1);
	len++;			/* with its NUL, as libaudit sends it */
	need = NLMSG_SPACE(len);
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	h->nlmsg_type = (uint16_t)type;
	h->nlmsg_flags = NLM_F_REQUEST;	/* a refusal is answered all the
					 * same (read_refusals()) */
	h->nlmsg_seq = ++a->seq;
	h->nlmsg_pid = 0;
	/* the alignment padding: zeros, not an earlier record's bytes */
	memset(text + len, 0, need - NLMSG_LENGTH(len));
	a->out_len += need;
	a->n_out++;
	return 0;
}

/*
 * Collect the refusals of the n records numbered first.. . The records go
 * without NLM_F_ACK: the kernel's audit_receive() takes them inside our
 * sendto() and answers only a refused one, with an NLMSG_ERROR queued on
 * our socket before sendto() returns. So a socket found empty, without
 * waiting, means every record was taken: no acknowledgement per record to
 * make, queue and read. (A refusal the socket had no room for fails the
 * read with ENOBUFS: a failure too. 64 refusals fit its buffer.) Messages
 * not from the kernel are skipped; answers to a status request sent with
 * the records (or before) are handed to it, the rest skipped. Returns 0
 * when no record was refused; else the errno of the first refusal, or of
 * the failed read.
 */
static int
read_refusals(struct kw_audit *a, uint32_t first, unsigned n)
{
	struct mmsghdr mm[OUT_RECORDS];
	struct iovec iov[OUT_RECORDS];
	struct sockaddr_nl from[OUT_RECORDS];
	unsigned i;
	int r, refused = 0;

	for (;;) {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < OUT_RECORDS; i++) {
			iov[i].iov_base = a->out + (size_t)i * ACK_SIZE;
			iov[i].iov_len = ACK_SIZE;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		r = recvmmsg(a->fd, mm, OUT_RECORDS, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return refused;	/* all read */
			return errno;
		}
		for (i = 0; i < (unsigned)r; i++) {
			const struct nlmsghdr *h = iov[i].iov_base;
			const struct nlmsgerr *ne = NLMSG_DATA(h);

			if (from[i].nl_pid != 0 || mm[i].msg_len <
			    NLMSG_LENGTH(sizeof(int)))
				continue;	/* not from the kernel */
			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_seq - first >= n) {
				/* not about these: maybe an answer */
				if (!kw_audit_ask_feed(&a->after_q, h,
				    mm[i].msg_len))
					(void)kw_audit_ask_feed(&a->ready_q, h,
					    mm[i].msg_len);
				continue;
			}
			if (ne->error != 0 && refused == 0)
				refused = -ne->error;
		}
		if ((unsigned)r < OUT_RECORDS)
			return refused;	/* the socket is empty now */
	}
}

/*
 * Send the framed records, with the requests ask (KW_ASK_STATUS, or 0)
 * after them in the same sendto() (answered into after_q: the kernel reads
 * the status once it has taken the records), and read any refusals.
 */
static int
flush(struct kw_audit *a, unsigned ask, struct kw_error *e)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	unsigned n = a->n_out;
	uint32_t first = a->seq - n + 1;
	size_t len;
	ssize_t r;
	int err;

	if (n == 0 && ask == 0)
		return 0;
	/* a rule list's answers are longer than read_refusals() reads */
	if (kw_audit_ask_pending(&a->ready_q))
		settle(a);
	if ((err = out_buffer(a, e)) != 0)
		return err;
	len = a->out_len;
	if (ask != 0)
		len += kw_audit_ask_frame(&a->after_q, ask, &a->seq,
		    a->out + len);
	do
		r = sendto(a->fd, a->out, len, 0,
		    (const struct sockaddr *)&to, sizeof(to));
	while (r < 0 && errno == EINTR);
	err = r < 0 ? errno : (size_t)r != len ? EIO : 0;
	a->n_out = 0;
	a->out_len = 0;
	if (err != 0 && ask != 0)
		kw_audit_ask_fail(&a->after_q, err);
	if (n == 0)
		return 0;	/* the request alone: its answer reports */
	if (err == 0)
		err = read_refusals(a, first, n);
	if (err == 0)
		return 0;
	return write_failed(a, err, e, n > 1 ? "audit records not written" :
	    "audit record not written");
}

/*
 * An audit state that loses records (disabled, no daemon, lost counter
 * moved): KW_EAUDIT in every mode (best-effort logs it and goes on).
 */
static int
state_failed(struct kw_error *e, const char *fmt, ...)
{
	char m[KW_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return kw_fail(e, KW_EAUDIT, "%s", m);
}

/*
 * Read the audit status before records are written: audit must be enabled
 * (and, in required mode, a daemon running). Without CAP_AUDIT_CONTROL (an
 * agent's keyward get) the status cannot be read: fatal only in required
 * mode; then *checked stays false and nothing is compared after.
 *
 * In best-effort mode the status is asked for once, here or ahead by
 * kw_audit_ask_ahead(), and not waited for: status_after() takes the
 * answer and tells whether audit was on with a daemon as the operation
 * started, but a record lost to a full backlog goes unnoticed (no lost
 * counter to compare with), and so does a daemon that stops while the
 * records are written. Each status request costs the kernel a thread,
 * started inside the sendto() that asks, and most when the kernel is busy
 * with records or audited system calls just made; best-effort trades
 * those checks for speed, required mode does not. With a shared stamp
 * (kw_audit_share_status()) that a check made less than
 * KW_AUDIT_STAMP_SECS ago left, a best-effort operation asks for nothing.
 */
static int
status_before(struct kw_audit *a, struct kw_audit_status *st, bool *checked,
    struct kw_error *e)
{
	int rc, err;

	*checked = false;
	if (a->mode != KW_AUDIT_REQUIRED) {
		memset(st, 0, sizeof(*st));	/* st->read: nothing to compare */
		if (a->stamp_fresh)
			return 0;		/* checked a moment ago */
		*checked = true;
		kw_audit_ask_ahead(a);		/* unless asked ahead */
		a->status_ahead = false;	/* taken by this check */
		return 0;
	}
	if (a->have_ready) {
		/* kw_audit_ready() just read it and found all well */
		*st = a->ready_status;
		a->have_ready = false;
		*checked = true;
		return 0;
	}
	settle(a);
	(void)kw_audit_ask_send(a->fd, &a->after_q, KW_ASK_STATUS, &a->seq);
	settle(a);
	rc = kw_audit_ask_status(&a->after_q, st, &err, e);
	if (rc == 0) {
		*checked = true;
		if (st->enabled == 0)
			return state_failed(e, "audit record not written: "
			    "the kernel audit subsystem is disabled");
		if (st->pid == 0)
			return state_failed(e, "audit record not written: "
			    "no audit daemon is running");
		return 0;
	}
	return kw_error_prefix(e, "audit record not written");
}

/*
 * The request to send with the last records: the status after them, in
 * required mode when the status before was read (best-effort asked before,
 * in status_before()).
 */
static unsigned
after_ask(const struct kw_audit *a, bool checked)
{
	return checked && a->mode == KW_AUDIT_REQUIRED ? KW_ASK_STATUS : 0;
}

/*
 * Take the audit status asked for with the records (flush()), or before
 * them in best-effort mode (status_before()), and compare it with before:
 * still enabled, a daemon still there, the lost counter unchanged.
 */
static int
status_after(struct kw_audit *a, const struct kw_audit_status *before,
    struct kw_error *e)
{
	struct kw_audit_status after;
	int rc, err;

	settle(a);
	if ((rc = kw_audit_ask_status(&a->after_q, &after, &err, e)) != 0) {
		if (rc == KW_EINTERNAL || a->mode == KW_AUDIT_REQUIRED)
			return kw_error_prefix(e, "audit record not confirmed");
		/* best-effort without CAP_AUDIT_CONTROL (an agent's keyward
		 * get) or without audit: nothing to confirm with */
		if (kw_audit_errno_is_absent(err) || err == EPERM) {
			kw_error_clear(e);
			return 0;
		}
		return write_failed(a, err, e, "audit record not confirmed");
	}
	if (a->mode == KW_AUDIT_BEST_EFFORT)
		stamp_after(a, after.enabled != 0 && after.pid != 0);
	if (after.enabled == 0)
		return state_failed(e, "audit record not kept: the kernel "
		    "audit subsystem is disabled");
	if (after.pid == 0)
		return state_failed(e, "audit record not kept: no audit daemon "
		    "is running");
	if (before->read && after.lost != before->lost)
		return state_failed(e, "audit record may be lost: the "
		    "kernel's lost counter went from %u to %u", before->lost,
		    after.lost);
	return 0;
}

/*
 * Write one record and check, as far as the kernel tells, it was kept:
 * the kernel drops user records silently while audit is disabled and keeps
 * them only in the kernel log without a daemon, so the status is read
 * before and after and the lost counter compared. Inside a batch the
 * status is read once around the whole batch instead, and the records are
 * sent several at a time: the first alone (a connection that refuses
 * records is known before the caller changes anything more), then up to
 * OUT_RECORDS together, the rest by kw_audit_batch_end().
 */
int
kw_audit_emit(struct kw_audit *a, const struct kw_audit_rec *r,
    struct kw_error *e)
{
	struct kw_audit_status before;
	char msg[KW_PART_MAX];
	const char *host, *addr, *tty;
	size_t len;
	int type, rc;
	bool checked = false;

	if (a == NULL)
		return kw_fail(e, KW_EAUDIT, "audit record %s not written: no "
		    "audit connection", r != NULL ? kw_audit_op_name(r->op) :
		    "?");
	if (a->fd < 0) {
		/* a record that could not be written says so first */
		if ((rc = format_rec(r, msg, sizeof(msg), &len, e)) != 0)
			return rc;
		return write_failed(a, a->open_errno, e,
		    "audit record not written: no kernel audit connection");
	}
	if (a->batch_sent)
		return batch_pending(e, "audit record not written");
	type = r->op == KW_OP_GATE ? AUDIT_USER_ACCT : AUDIT_CRYPTO_KEY_USER;
	if (!a->in_batch && (rc = status_before(a, &before, &checked, e)) != 0)
		return rc;
	host = safe_field(r->hostname);
	addr = safe_field(r->addr);
	if ((tty = safe_field(r->tty)) == NULL)
		tty = own_tty(a);
	if ((rc = queue(a, type, r, host, addr, tty, e)) != 0)
		return rc;
	if (a->in_batch && a->sent_one && a->n_out < OUT_RECORDS)
		return 0;
	a->sent_one = true;
	/* outside a batch the status after goes with the record */
	if ((rc = flush(a, after_ask(a, checked), e)) != 0 || !checked)
		return rc;
	return status_after(a, &before, e);
}

/* Start a batch: one status check before all of its records. */
int
kw_audit_batch_begin(struct kw_audit *a, struct kw_error *e)
{
	int rc;

	if (a == NULL || a->fd < 0 || a->in_batch)
		return 0;	/* kw_audit_emit() reports the missing fd */
	if (a->batch_sent)
		return batch_pending(e, "audit batch not begun");
	rc = status_before(a, &a->batch_before, &a->batch_checked, e);
	if (rc == 0) {
		a->in_batch = true;
		a->sent_one = false;
	}
	return rc;
}

/*
 * Send the records a batch still has queued, and with them the request
 * for the status after all of them; kw_audit_batch_end() takes the answer.
 */
int
kw_audit_batch_send(struct kw_audit *a, struct kw_error *e)
{
	if (a == NULL || !a->in_batch)
		return 0;
	a->in_batch = false;
	a->batch_sent = true;
	return flush(a, after_ask(a, a->batch_checked), e);
}

/*
 * End a batch: send what it still has queued (unless kw_audit_batch_send()
 * did), then compare the status after all of its records with before.
 */
int
kw_audit_batch_end(struct kw_audit *a, struct kw_error *e)
{
	int rc;

	if (a == NULL)
		return 0;
	if (a->in_batch && (rc = kw_audit_batch_send(a, e)) != 0) {
		a->batch_sent = false;
		return rc;
	}
	if (!a->batch_sent)
		return 0;
	a->batch_sent = false;
	if (!a->batch_checked)
		return 0;
	return status_after(a, &a->batch_before, e);
}

/* True when rc from kw_audit_emit()/ready() must refuse the operation. */
bool
kw_audit_fatal(const struct kw_audit *a, int rc)
{
	if (rc == 0)
		return false;
	if (a == NULL || a->mode == KW_AUDIT_REQUIRED)
		return true;
	return rc != KW_EAUDIT;
}

/* Load the per-install audit key. */
int
kw_audit_key_load(const char *path, unsigned char key[KW_AUDIT_KEY_LEN],
    struct kw_error *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(key, 0, KW_AUDIT_KEY_LEN);
	rc = kw_read_file(path, KW_SAFE_SECRET, KW_AUDIT_KEY_LEN + 1, &buf,
	    &len, e);
	if (rc != 0)
		return rc;
	if (len != KW_AUDIT_KEY_LEN) {
		rc = kw_fail(e, KW_EINVAL, "%s: audit key must be exactly %d "
		    "bytes, not %zu", path, KW_AUDIT_KEY_LEN, len);
		goto out;
	}
	memcpy(key, buf, KW_AUDIT_KEY_LEN);
	rc = 0;
out:
	kw_freezero(buf, len + 1);
	return rc;
}
