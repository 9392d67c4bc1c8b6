/*
 * kw_read.h - the agent's read path, shared by keyward get/env/ls and
 * libkeyward: find the key "keyward:NAME" (type user) this process
 * possesses and read its value. Self-contained (libkeyutils only) so that
 * libkeyward carries nothing else of the core; errors are negative errnos.
 */
#ifndef KW_READ_H
#define KW_READ_H

#include <stddef.h>
#include <stdint.h>

#define KWR_PREFIX "keyward:"
#define KWR_NAME_MAX 64
#define KWR_VALUE_MAX 32767	/* the kernel's limit for a user key */

/* True when name is a valid secret name (1-64 of [A-Za-z0-9._-], first a
 * letter or digit). */
int kwr_name_ok(const char *name);

/*
 * Find key "keyward:name" of type user through this process's session
 * keyring (never the user keyring: any process of the uid can add keys
 * there), and only a key keyward delivered (owned by root). Returns the
 * serial (> 0) or a negative errno (-ENOKEY when absent, -EKEYREVOKED,
 * -EKEYEXPIRED, -EACCES, -EINVAL for a bad name).
 */
int32_t kwr_find(const char *name);

/*
 * kwr_find() with a small per-process memory of what it found: a name
 * found before gives its serial again without a search (*cached set).
 * The caller must kwr_forget(name) when reading that serial fails, and
 * then search again: see kw_read.c for why a remembered serial is safe.
 */
int32_t kwr_find_cached(const char *name, int *cached);

/* Forget what kwr_find_cached() remembers of name. */
void kwr_forget(const char *name);

/*
 * Read the value of key serial into a fresh heap buffer, NUL-terminated,
 * with one keyctl(KEYCTL_READ) in the common case (no size probe). Free
 * with kwr_free(*buf, *len). Returns 0 or a negative errno.
 */
int kwr_read(int32_t serial, unsigned char **buf, size_t *len);

/* Wipe and free a buffer from kwr_read(). NULL-safe. */
void kwr_free(unsigned char *buf, size_t len);

/* Make the process not dumpable (no core dump, no ptrace by peers). */
void kwr_no_dump(void);

#endif /* KW_READ_H */
