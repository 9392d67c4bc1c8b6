/*
 * keyring.c - secrets into the kernel keyring: fresh session keyrings,
 * root-owned possessor-read keys with a timeout, link, revoke, update.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "keyring.h"

/* Turn a failed keyctl errno into a KW_E* error about what. */
static int
key_fail(struct kw_error *e, int errnum, const char *what, const char *name)
{
	if (errnum == ENOSYS || errnum == EOPNOTSUPP)
		return kw_fail(e, KW_EKEYRING,
		    "%s: kernel has no keyring support (%s)", name,
		    errnum == ENOSYS ? "ENOSYS" : "EOPNOTSUPP");
	if (errnum == EDQUOT)
		return kw_fail(e, KW_EQUOTA,
		    "%s: %s: kernel key quota exceeded (see "
		    "/proc/sys/kernel/keys/root_maxkeys and root_maxbytes)",
		    name, what);
	return kw_fail_errno(e, KW_EKEYRING, errnum, "%s: %s", name, what);
}

/* Build "keyward:<name>" (no printf: once per delivered key). */
int
kw_keyring_desc(const char *name, char *buf, size_t size, struct kw_error *e)
{
	const size_t plen = sizeof(KW_KEY_PREFIX) - 1;
	size_t n;

	if (kw_name_check(name, e) != 0)
		return kw_error_prefix(e, "key description");
	n = strlen(name);
	if (size <= plen + n)
		return kw_fail(e, KW_ETOOBIG, "key description of '%s' too long",
		    name);
	memcpy(buf, KW_KEY_PREFIX, plen);
	memcpy(buf + plen, name, n + 1);
	return 0;
}

/*
 * Switch this thread's real and effective (and so fs) uid/gid to uid/gid,
 * keeping the saved ids (root), with raw system calls: glibc's wrappers
 * would change every thread of the process. The kernel makes a new session
 * keyring for the real uid, hence the real ids. Returns 0 or -errno, with
 * nothing changed on failure.
 */
static int
thread_become(uid_t uid, gid_t gid, gid_t rgid0, gid_t egid0)
{
	if (syscall(SYS_setresgid, gid, gid, (gid_t)-1) != 0)
		return -errno;
	if (syscall(SYS_setresuid, uid, uid, (uid_t)-1) != 0) {
		int err = errno;

		if (syscall(SYS_setresgid, rgid0, egid0, (gid_t)-1) != 0)
			abort();	/* cannot get root's gid back */
		return -err;
	}
	return 0;
}

/*
 * Undo thread_become(): back to the real uid before (root, or the invoking
 * user of a set-uid-root application such as su), effective uid 0, and the
 * gids before. Failing to get root back means the credentials are in a
 * state nobody planned for: crash rather than go on with them.
 */
static void
thread_restore(uid_t ruid0, gid_t rgid0, gid_t egid0)
{
	/* the saved uid is still 0: take euid 0 back first, then set the
	 * real uid (any value needs the privilege) */
	if (syscall(SYS_setresuid, (uid_t)-1, (uid_t)0, (uid_t)-1) != 0 ||
	    syscall(SYS_setresuid, ruid0, (uid_t)0, (uid_t)-1) != 0)
		abort();
	if (syscall(SYS_setresgid, rgid0, egid0, (gid_t)-1) != 0)
		abort();
}

/* Join a fresh session keyring owned by uid/gid. */
int
kw_keyring_new_session(uid_t uid, gid_t gid, int32_t *ring, gid_t *egid,
    struct kw_error *e)
{
	key_serial_t r;
	uid_t ruid0, euid0, suid0;
	gid_t rgid0, egid0, sgid0;
	bool switched = false;
	int rc, err;

	*ring = 0;
	if (getresuid(&ruid0, &euid0, &suid0) != 0 ||
	    getresgid(&rgid0, &egid0, &sgid0) != 0)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "session keyring: "
		    "cannot read this process's ids");
	if (egid != NULL)
		*egid = egid0;
	/*
	 * Whenever we are root (also in a set-uid-root application whose
	 * real uid is the invoking user's): the keyring must belong to, and
	 * be charged to, the agent's user.
	 */
	if (euid0 == 0 && (uid != ruid0 || uid != 0 || gid != rgid0)) {
		if ((err = thread_become(uid, gid, rgid0, egid0)) != 0)
			return kw_fail_errno(e, KW_ESYSTEM, -err,
			    "session keyring: cannot switch to uid %lu gid %lu",
			    (unsigned long)uid, (unsigned long)gid);
		switched = true;
	}
	r = keyctl_join_session_keyring(NULL);
	err = errno;
	if (switched)
		thread_restore(ruid0, rgid0, egid0);
	if (r < 0)
		return key_fail(e, err, "cannot join a new session keyring",
		    "session keyring");
	/* the new keyring is possessed by us: possessor may set its perms */
	if (keyctl_setperm(r, KW_RING_PERM) < 0) {
		rc = key_fail(e, errno, "setperm", "session keyring");
		return rc;
	}
	*ring = r;
	return 0;
}

/* The current session keyring, without creating one. */
int
kw_keyring_current_session(int32_t *ring, struct kw_error *e)
{
	key_serial_t r;

	*ring = 0;
	r = keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0);
	if (r < 0) {
		if (errno == ENOKEY)
			return 0;
		return key_fail(e, errno, "cannot find the session keyring",
		    "session keyring");
	}
	*ring = r;
	return 0;
}

/* Is ring this thread's session keyring? */
bool
kw_keyring_is_current_session(int32_t ring)
{
	return ring > 0 &&
	    keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 0) == ring;
}

/* Add a root-owned keyward key to ring. */
int
kw_keyring_add(int32_t ring, const char *name, const void *value, size_t len,
    uint64_t ttl, gid_t egid, int32_t *serial, struct kw_error *e)
{
	char desc[KW_KEY_DESC_MAX];
	key_serial_t k;
	int rc;

	*serial = 0;
	if ((rc = kw_keyring_desc(name, desc, sizeof(desc), e)) != 0)
		return rc;
	if (ttl == 0)
		return kw_fail(e, KW_EINTERNAL, "%s: delivery without a ttl",
		    name);
	if (ttl > KW_KEY_TIMEOUT_MAX)
		ttl = KW_KEY_TIMEOUT_MAX;
	k = add_key("user", desc, value, len, ring);
	if (k < 0)
		return key_fail(e, errno, "add_key", name);
	/* owner root, group root: the fs gid of the caller may differ */
	if (egid != 0 && keyctl_chown(k, (uid_t)-1, 0) < 0) {
		rc = key_fail(e, errno, "chown", name);
		goto fail;
	}
	if (keyctl_set_timeout(k, (unsigned)ttl) < 0) {
		rc = key_fail(e, errno, "set timeout", name);
		goto fail;
	}
	if (keyctl_setperm(k, KW_KEY_PERM) < 0) {
		rc = key_fail(e, errno, "setperm", name);
		goto fail;
	}
	*serial = k;
	return 0;
fail:
	keyctl_revoke(k);
	keyctl_unlink(k, ring);
	return rc;
}

/* Link a keyward key into another ring, lending root the link right. */
int
kw_keyring_link(int32_t key, int32_t ring, const char *name,
    struct kw_error *e)
{
	int rc = 0;

	if (keyctl_setperm(key, KW_KEY_PERM | KEY_USR_LINK) < 0)
		return key_fail(e, errno, "setperm (link)", name);
	if (keyctl_link(key, ring) < 0)
		rc = key_fail(e, errno, "link into the session keyring", name);
	if (keyctl_setperm(key, KW_KEY_PERM) < 0 && rc == 0) {
		rc = key_fail(e, errno, "setperm (after link)", name);
		keyctl_unlink(key, ring);
	}
	return rc;
}

/* Unlink; gone keys and rings are fine. */
int
kw_keyring_unlink(int32_t key, int32_t ring, struct kw_error *e)
{
	if (keyctl_unlink(key, ring) < 0 && errno != ENOKEY &&
	    errno != ENOENT && errno != EKEYREVOKED && errno != EKEYEXPIRED)
		return key_fail(e, errno, "unlink", "key");
	return 0;
}

/*
 * Describe key into buf ("type;uid;gid;perm;description"), split into
 * field[0..4]. False when the key cannot be described (gone, or no view
 * permission) or the answer has an unexpected shape.
 */
static bool
describe(int32_t key, char *buf, size_t size, char *field[5])
{
	char *p;
	long n;
	int i;

	n = keyctl_describe(key, buf, size);
	if (n < 0 || (size_t)n > size)
		return false;
	buf[size - 1] = '\0';
	p = buf;
	for (i = 0; i < 4; i++) {
		field[i] = p;
		if ((p = strchr(p, ';')) == NULL)
			return false;
		*p++ = '\0';
	}
	field[4] = p;
	return true;
}

/* Is key a root-owned user key described "keyward:...", as field says? */
static bool
is_keyward_key(char *const field[5])
{
	return strcmp(field[0], "user") == 0 && strcmp(field[1], "0") == 0 &&
	    strncmp(field[4], KW_KEY_PREFIX, sizeof(KW_KEY_PREFIX) - 1) == 0;
}

/* Revoke; already dead keys are fine, and so is a serial reused since. */
int
kw_keyring_revoke(int32_t key, const char *name, struct kw_error *e)
{
	char buf[256], want[KW_KEY_DESC_MAX], *field[5];

	if (key <= 0)
		return 0;
	/*
	 * Serials are reused once a key is gone: a serial that names another
	 * key now (one that is not keyward:<name>, or that root may not even
	 * see) is left alone. What cannot be told apart is revoked.
	 */
	errno = 0;
	if (describe(key, buf, sizeof(buf), field)) {
		if (!is_keyward_key(field) ||
		    kw_keyring_desc(name, want, sizeof(want), NULL) != 0 ||
		    strcmp(field[4], want) != 0)
			return 0;
	} else if (errno == EACCES || errno == 0)	/* 0: not our shape */
		return 0;
	if (keyctl_revoke(key) < 0 && errno != ENOKEY &&
	    errno != EKEYREVOKED && errno != EKEYEXPIRED)
		return key_fail(e, errno, "revoke", name);
	return 0;
}

/* Update in place. */
int
kw_keyring_update(int32_t key, const char *name, const void *value,
    size_t len, struct kw_error *e)
{
	if (keyctl_update(key, value, len) < 0)
		return key_fail(e, errno, "update", name);
	return 0;
}

/* New timeout. */
int
kw_keyring_set_timeout(int32_t key, const char *name, uint64_t ttl,
    struct kw_error *e)
{
	if (ttl == 0)
		return kw_fail(e, KW_EINTERNAL, "%s: timeout of 0", name);
	if (ttl > KW_KEY_TIMEOUT_MAX)
		ttl = KW_KEY_TIMEOUT_MAX;
	if (keyctl_set_timeout(key, (unsigned)ttl) < 0)
		return key_fail(e, errno, "set timeout", name);
	return 0;
}

/* Is serial still our live key for name? */
bool
kw_keyring_is_live(int32_t key, const char *name)
{
	char buf[256], want[KW_KEY_DESC_MAX];
	char *field[5];

	if (key <= 0 || kw_keyring_desc(name, want, sizeof(want), NULL) != 0)
		return false;
	return describe(key, buf, sizeof(buf), field) &&
	    is_keyward_key(field) && strcmp(field[4], want) == 0;
}

/* Unlink the keyward keys of the caller's session keyring ring. */
int
kw_keyring_unlink_all(int32_t ring, size_t *n, struct kw_error *e)
{
	char buf[256], *field[5];
	key_serial_t *keys = NULL;
	long len, i;
	int rc = 0;

	*n = 0;
	if (!kw_keyring_is_current_session(ring))
		return kw_fail(e, KW_ENOTFOUND, "keyring %ld is not this "
		    "process's session keyring", (long)ring);
	if ((len = keyctl_read_alloc(ring, (void **)&keys)) < 0)
		return key_fail(e, errno, "read", "session keyring");
	for (i = 0; i < len / (long)sizeof(*keys); i++) {
		if (!describe(keys[i], buf, sizeof(buf), field) ||
		    !is_keyward_key(field))
			continue;
		if (keyctl_unlink(keys[i], ring) < 0 && errno != ENOKEY &&
		    errno != ENOENT) {
			if (rc == 0)
				rc = key_fail(e, errno, "unlink", field[4]);
			continue;
		}
		(*n)++;
	}
	free(keys);
	return rc;
}
