/*
 * keyring.h - delivery of secrets into the Linux kernel keyring
 * (DESIGN.md "Keyring rules").
 *
 * A delivered secret is a `user` key described "keyward:<name>", owned by
 * root (uid 0, gid 0), with permissions possessor view|read|search, owner
 * (root) view|write|setattr and nothing for group and other, and a timeout.
 * Every agent session gets a fresh session keyring of its own.
 *
 * All functions return 0 or a negative KW_E* code; ENOSYS (a kernel built
 * without keys) is reported as KW_EKEYRING "kernel has no keyring support",
 * EDQUOT as KW_EQUOTA "kernel key quota exceeded".
 */
#ifndef KW_KEYRING_H
#define KW_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <keyutils.h>

#include "kw_error.h"
#include "kw_util.h"

/* Description prefix of every keyward key. */
#define KW_KEY_PREFIX "keyward:"
#define KW_KEY_DESC_MAX (sizeof(KW_KEY_PREFIX) + KW_NAME_MAX)

/* Permissions of a delivered key. */
#define KW_KEY_PERM (KEY_POS_VIEW | KEY_POS_READ | KEY_POS_SEARCH | \
	KEY_USR_VIEW | KEY_USR_WRITE | KEY_USR_SETATTR)

/* Permissions of an agent's session keyring (owned by the agent's uid). */
#define KW_RING_PERM (KEY_POS_ALL | KEY_USR_VIEW)

/* Longest timeout the kernel takes (an unsigned int of seconds). */
#define KW_KEY_TIMEOUT_MAX 0xffffffffULL

/*
 * Make the calling process join a fresh, anonymous session keyring, created
 * with the thread's effective uid/gid switched to uid/gid (as pam_keyinit
 * does) so that the keyring and its quota belong to the agent's user; the
 * credentials are restored on every path. Its permissions are then set to
 * KW_RING_PERM. *ring receives its serial; from then on it is the thread's
 * session keyring, which keys can be added to by KEY_SPEC_SESSION_KEYRING.
 * *egid (when egid is not NULL): the thread's effective gid, as it was
 * before and is again, read with the ids switched from (kw_keyring_add()
 * takes it).
 */
int kw_keyring_new_session(uid_t uid, gid_t gid, int32_t *ring, gid_t *egid,
    struct kw_error *e);

/*
 * The serial of the calling process's session keyring, or 0 in *ring when
 * it has none (nothing is created).
 */
int kw_keyring_current_session(int32_t *ring, struct kw_error *e);

/*
 * True when ring is the calling thread's session keyring (as the one
 * kw_keyring_new_session() joined is): keys can be added to it by its
 * special id, KEY_SPEC_SESSION_KEYRING, which the kernel resolves from the
 * thread's credentials instead of looking the serial up and searching for
 * its possession on every add_key.
 */
bool kw_keyring_is_current_session(int32_t ring);

/*
 * Add secret name with len bytes of value as a new root-owned user key
 * linked into ring (a serial, or KEY_SPEC_SESSION_KEYRING: see
 * kw_keyring_is_current_session()), with timeout ttl seconds (capped at
 * the kernel's maximum) and KW_KEY_PERM. egid is the caller's effective
 * gid (asked once by a caller adding many keys, or given by
 * kw_keyring_new_session()): when it is not 0 the key, made with that
 * group, is given group root. On failure no key is left behind. *serial
 * receives the key's serial.
 */
int kw_keyring_add(int32_t ring, const char *name, const void *value,
    size_t len, uint64_t ttl, gid_t egid, int32_t *serial,
    struct kw_error *e);

/*
 * Link an existing keyward key (root-owned, KW_KEY_PERM) into ring. Root
 * holds no link permission on such keys, so the permission is lent for the
 * one call and taken back on every path.
 */
int kw_keyring_link(int32_t key, int32_t ring, const char *name,
    struct kw_error *e);

/* Unlink key from ring. A key or ring already gone is not an error. */
int kw_keyring_unlink(int32_t key, int32_t ring, struct kw_error *e);

/*
 * Revoke key name: every read fails with EKEYREVOKED from now on. A key
 * that is already revoked, expired or gone is not an error, and a serial
 * that names another key by now (the kernel reuses the serials of freed
 * keys) is left alone: only a root-owned user key "keyward:<name>" is
 * revoked.
 */
int kw_keyring_revoke(int32_t key, const char *name, struct kw_error *e);

/* Replace the value of a live key in place (same serial). */
int kw_keyring_update(int32_t key, const char *name, const void *value,
    size_t len, struct kw_error *e);

/* Set the timeout of a live key to ttl seconds from now. */
int kw_keyring_set_timeout(int32_t key, const char *name, uint64_t ttl,
    struct kw_error *e);

/*
 * True when serial still names a live (not revoked, not expired) key that
 * is a root-owned user key described "keyward:<name>": a registry serial
 * is trusted only after this check, since serials are reused.
 */
bool kw_keyring_is_live(int32_t key, const char *name);

/*
 * Unlink every keyward key (a root-owned user key described "keyward:...")
 * from ring, which must be the calling thread's session keyring
 * (KW_ENOTFOUND otherwise); other keys in it stay. Needs no privilege:
 * KW_RING_PERM gives its possessor write on the ring. A key linked
 * nowhere else is unreachable from then on, and the kernel frees it. *n
 * receives how many were unlinked; on an error the others are still
 * tried.
 */
int kw_keyring_unlink_all(int32_t ring, size_t *n, struct kw_error *e);

/* Build "keyward:<name>" into buf (KW_KEY_DESC_MAX bytes). */
int kw_keyring_desc(const char *name, char *buf, size_t size,
    struct kw_error *e);

#endif /* KW_KEYRING_H */
