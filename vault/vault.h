/*
 * vault.h - the encrypted secret store (/var/lib/keyward/vault).
 *
 * Format: docs/vault-format.md. AES-256-GCM per record with the name and
 * version bound as AAD; an authenticated header and index (per-entry MACs
 * bound to the file's generation, position and count) so that flipped bits,
 * swapped, reordered, removed and replayed records are detected. Looking
 * one secret up reads the header, a small fence of names and a bucket of
 * at most 64 names, authenticates the entry found (or the two neighbours
 * that prove an absence) and decrypts only that secret: the cost does not
 * grow with the vault. kw_vault_verify() checks everything.
 *
 * Readers need no lock (writers replace the file by rename). Writers take
 * an exclusive flock on "<vault>.lock" for the whole read-modify-write.
 */
#ifndef KW_VAULT_H
#define KW_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kw_error.h"
#include "kw_util.h"

#define KW_MASTER_KEY_LEN 32
#define KW_SECRET_MAX 32767	/* the kernel's limit for a user key */
#define KW_NOTE_MAX 256

struct kw_vault;

/* What the vault knows about a secret, values excluded. */
struct kw_secret_info {
	char name[KW_NAME_MAX + 1];
	uint32_t version;	/* current version, >= 1 */
	uint32_t prev_version;	/* previous version kept, 0 if none */
	int64_t created;	/* unix time the secret was first added */
	int64_t rotated;	/* unix time the current version was made */
	uint64_t max_ttl;	/* seconds, 0 = none */
	uint64_t rotate_every;	/* seconds, 0 = no schedule */
	char note[KW_NOTE_MAX + 1];
};

/* A decrypted value; free with kw_secret_free(). */
struct kw_secret {
	unsigned char *data;	/* len bytes, plus a NUL for convenience */
	size_t len;
	uint32_t version;
};

/* Options for kw_vault_add(). */
struct kw_add_opts {
	uint64_t max_ttl;	/* 0 = none */
	uint64_t rotate_every;	/* 0 = none */
	const char *note;	/* NULL = none; at most KW_NOTE_MAX bytes */
};

/*
 * Load the master key file (kw_safe_open() with KW_SAFE_SECRET, exactly
 * KW_MASTER_KEY_LEN bytes) into key.
 */
int kw_master_key_load(const char *path, unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_error *e);

/*
 * Create an empty vault at path (mode 0600); fails with KW_EEXIST if a file
 * is there already.
 */
int kw_vault_create(const char *path, const unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_error *e);

/*
 * Open a vault for reading: safe-open checks, magic, format version and the
 * header's MAC. Cheap: index entries are checked as they are touched.
 */
int kw_vault_open(const char *path, const unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_vault **out, struct kw_error *e);

/*
 * Open a vault for a change: takes the exclusive lock (blocking), then as
 * kw_vault_open() plus a full kw_vault_verify(). Changes stay in memory
 * until kw_vault_commit(); kw_vault_close() releases the lock.
 */
int kw_vault_open_locked(const char *path,
    const unsigned char key[KW_MASTER_KEY_LEN], struct kw_vault **out,
    struct kw_error *e);

/* Close a vault, wiping keys and buffers; releases the lock. NULL-safe. */
void kw_vault_close(struct kw_vault *v);

/* Authenticate every header and index byte and every record. */
int kw_vault_verify(struct kw_vault *v, struct kw_error *e);

/* Number of secrets. */
size_t kw_vault_count(const struct kw_vault *v);

/* Info of the i-th secret in name order (authenticated first). */
int kw_vault_info_at(struct kw_vault *v, size_t i, struct kw_secret_info *out,
    struct kw_error *e);

/* Info of a secret by name; KW_ENOTFOUND if absent. */
int kw_vault_info(struct kw_vault *v, const char *name,
    struct kw_secret_info *out, struct kw_error *e);

/*
 * Decrypt one version of a secret (version 0 = current). Decrypts nothing
 * else. KW_ENOTFOUND if absent, KW_ECORRUPT/KW_EKEY on tampering.
 */
int kw_vault_get(struct kw_vault *v, const char *name, uint32_t version,
    struct kw_secret **out, struct kw_error *e);

/* Wipe and free a secret. NULL-safe. */
void kw_secret_free(struct kw_secret *s);

/* Changes (vault opened with kw_vault_open_locked()). */
int kw_vault_add(struct kw_vault *v, const char *name,
    const unsigned char *value, size_t len, const struct kw_add_opts *opts,
    struct kw_error *e);
int kw_vault_rotate(struct kw_vault *v, const char *name,
    const unsigned char *value, size_t len, struct kw_error *e);
/* rollback swaps current and previous (KW_ENOTFOUND without a previous) */
int kw_vault_rollback(struct kw_vault *v, const char *name,
    struct kw_error *e);
int kw_vault_remove(struct kw_vault *v, const char *name,
    struct kw_error *e);

/* Write the changed vault atomically (temp, fsync, rename, fsync dir). */
int kw_vault_commit(struct kw_vault *v, struct kw_error *e);

/* The path a vault was opened with (for messages). */
const char *kw_vault_path(const struct kw_vault *v);

#endif /* KW_VAULT_H */
