/*
 * registry.h - the live-delivery registry under run_dir (/run/keyward).
 *
 * Root-only directory (0700) of small text files, never holding a value:
 *
 *   .lock                    flock(2) taken for every change and read
 *   s.<id>.<pid>.<start>     one per open session: who, where, which keys
 *   u.<uid>.<secret>         one per live scope=user key: its serial and
 *                            the sessions holding it (the reference count)
 *   journal                  what rotations and revocations changed in
 *                            session files not rewritten since: "<session>
 *                            <serial> <version>", version 0 = the key is
 *                            gone. Every session read applies it, so one
 *                            write covers a change to a thousand sessions.
 *   index                    a copy of the session files (name, inode,
 *                            text) as the last walk read them, kept when
 *                            there are at least 16: a walk reads it, and
 *                            only the files it lacks (see registry.c)
 *
 * <pid> and <start> (the process start time in clock ticks, from
 * /proc/<pid>/stat) are those of the process that opened the session, so a
 * crashed session is found from the directory listing alone. Every file is
 * written with kw_atomic_write(). Strings are %XX-encoded. Any malformed
 * file is KW_ECORRUPT "path:line: what is wrong".
 *
 * kw_registry_open() checks the directory once and keeps it open; every
 * file is then read relative to that descriptor with the checks of
 * kw_safe_open() (openat with O_NOFOLLOW, then fstat: a regular file owned
 * by root, neither readable nor writable by group or others), in one
 * read(2) into a stack buffer.
 * Session files are written once and never changed (later changes go to
 * the journal): that is what makes one read, and one listing per lock
 * hold, enough, and the index's copies good for as long as the file the
 * listing shows has the same name and inode. A file edited in place by
 * hand is not a change keyward sees.
 */
#ifndef KW_REGISTRY_H
#define KW_REGISTRY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kw_error.h"
#include "kw_util.h"
#include "policy.h"

#define KW_SESSION_ID_LEN 16	/* hex characters */
#define KW_REG_STR_MAX 256

typedef char kw_session_id[KW_SESSION_ID_LEN + 1];

/* One key delivered into a session. */
struct kw_delivery {
	char secret[KW_NAME_MAX + 1];
	uint32_t version;
	int32_t serial;
	enum kw_scope scope;
	int64_t until;			/* unix time the key expires */
};

/* One open session. */
struct kw_reg_session {
	kw_session_id id;
	char user[KW_REG_STR_MAX];
	uid_t uid;
	pid_t pid;			/* the PAM application's process */
	uint64_t start;			/* its start time (clock ticks) */
	char service[KW_REG_STR_MAX];
	char tty[KW_REG_STR_MAX];	/* "" if none */
	char exe[PATH_MAX];		/* "" if none */
	int32_t ring;			/* its session keyring */
	int64_t opened;
	struct kw_delivery *keys;
	size_t n_keys;
};

/* One live scope=user key, shared by the sessions that hold it. */
struct kw_reg_userkey {
	char secret[KW_NAME_MAX + 1];
	uid_t uid;
	char user[KW_REG_STR_MAX];
	uint32_t version;
	int32_t serial;
	int64_t until;
	kw_session_id *holders;
	size_t n_holders;
};

struct kw_registry;

/*
 * Open the registry at run_dir: create it 0700 if missing (and its parent
 * 0755), check it (a directory owned by root, mode 0700 enforced), and take
 * the exclusive lock (blocking). Release with kw_registry_close().
 */
int kw_registry_open(const char *run_dir, struct kw_registry **out,
    struct kw_error *e);

/* Release the lock and free. NULL-safe. */
void kw_registry_close(struct kw_registry *r);

/* Write (create or replace) a session's file. */
int kw_registry_session_put(struct kw_registry *r,
    const struct kw_reg_session *s, struct kw_error *e);

/* Read a session by id into out (clear it after); KW_ENOTFOUND if none. */
int kw_registry_session_get(struct kw_registry *r, const char *id,
    struct kw_reg_session *out, struct kw_error *e);

/* Remove a session's file; a missing one is not an error. */
int kw_registry_session_del(struct kw_registry *r, const char *id,
    struct kw_error *e);

/*
 * Every session, in no particular order. Free with
 * kw_reg_sessions_free(*out, *n).
 */
int kw_registry_sessions(struct kw_registry *r, struct kw_reg_session **out,
    size_t *n, struct kw_error *e);

/*
 * Every session, in no particular order, read one at a time into the same
 * struct and handed to fn (the journal applied): what fn wants of it, it
 * copies (it may take s->keys, setting s->keys = NULL and s->n_keys = 0).
 * A struct kw_reg_session is a few kilobytes (exe): a thousand sessions
 * walked cost a thousand times less memory than kw_registry_sessions().
 * A non-zero return from fn stops the walk and is returned.
 */
int kw_registry_sessions_walk(struct kw_registry *r,
    int (*fn)(struct kw_reg_session *s, void *arg, struct kw_error *e),
    void *arg, struct kw_error *e);

/*
 * Ids of the sessions whose opening process is gone (no such pid, or a
 * different process under it), from the directory listing alone. Free
 * *ids with free().
 */
int kw_registry_dead_sessions(struct kw_registry *r, kw_session_id **ids,
    size_t *n, struct kw_error *e);

/* Write a user key's file. */
int kw_registry_userkey_put(struct kw_registry *r,
    const struct kw_reg_userkey *u, struct kw_error *e);

/* Read the user key of (uid, secret); KW_ENOTFOUND if none. */
int kw_registry_userkey_get(struct kw_registry *r, uid_t uid,
    const char *secret, struct kw_reg_userkey *out, struct kw_error *e);

/* Remove a user key's file; a missing one is not an error. */
int kw_registry_userkey_del(struct kw_registry *r, uid_t uid,
    const char *secret, struct kw_error *e);

/* Every user key. Free with kw_reg_userkeys_free(*out, *n). */
int kw_registry_userkeys(struct kw_registry *r, struct kw_reg_userkey **out,
    size_t *n, struct kw_error *e);

/*
 * Drop from u's holders every session that has no file in the registry
 * (the lock held): a holder an opener recorded just before it was killed,
 * or one a failed write left behind, would otherwise keep the key from
 * being revoked when its last real holder closes. *dropped: how many.
 */
int kw_registry_userkey_prune(struct kw_registry *r, struct kw_reg_userkey *u,
    size_t *dropped, struct kw_error *e);

/* Add id to u's holders (no duplicates); drop it. */
int kw_reg_userkey_hold(struct kw_reg_userkey *u, const char *id,
    struct kw_error *e);
void kw_reg_userkey_release(struct kw_reg_userkey *u, const char *id);

/* Append a delivery to s. */
int kw_reg_session_add_key(struct kw_reg_session *s,
    const struct kw_delivery *d, struct kw_error *e);

/* Free what a session or user key holds (the struct itself is kept). */
void kw_reg_session_clear(struct kw_reg_session *s);
void kw_reg_userkey_clear(struct kw_reg_userkey *u);
void kw_reg_sessions_free(struct kw_reg_session *s, size_t n);
void kw_reg_userkeys_free(struct kw_reg_userkey *u, size_t n);

/*
 * Start time of process pid in clock ticks since boot (field 22 of
 * /proc/<pid>/stat, one read); KW_ENOTFOUND when there is no such process.
 */
int kw_proc_start_time(pid_t pid, uint64_t *start, struct kw_error *e);

/*
 * This process's pid (as /proc numbers it) and start time, from one read
 * of /proc/self/stat: what kw_proc_start_time(getpid()) gives, without the
 * getpid().
 */
int kw_proc_self(pid_t *pid, uint64_t *start, struct kw_error *e);

/* The process that opened a session, as its file name records it. */
struct kw_opener {
	pid_t pid;
	uint64_t start;			/* start time (clock ticks) */
	bool gone;			/* out: that process is gone */
};

/*
 * Set op[i].gone for each of n openers whose process is gone: no such pid,
 * a different process under it (another start time), or a start time
 * that cannot be read. Each distinct pid is read from /proc once, however
 * many sessions it opened. Fails only for lack of memory.
 */
int kw_openers_check(struct kw_opener *op, size_t n, struct kw_error *e);

/*
 * What the journal says about one key of one session: it now holds
 * version, or (version 0) it is gone (revoked, expired, cleaned).
 */
struct kw_reg_mark {
	kw_session_id session;
	int32_t serial;
	uint32_t version;
};

/*
 * Record n marks in the journal (each session and serial at most once in
 * m; a mark replaces an earlier one of the journal) and rewrite the
 * journal atomically, dropping the
 * marks of sessions that no longer exist. Every later session read sees
 * them: a marked version replaces the file's, a gone key is left out.
 */
int kw_registry_mark(struct kw_registry *r, const struct kw_reg_mark *m,
    size_t n, struct kw_error *e);

/* A new random session id (16 hex). */
int kw_session_id_new(kw_session_id id, struct kw_error *e);

/* True when s is a well-formed session id. */
bool kw_session_id_valid(const char *s);

#endif /* KW_REGISTRY_H */
