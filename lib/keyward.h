/*
 * keyward.h - libkeyward, the agent's C API to keyward (keyward-audit(7),
 * keyward(1)).
 *
 * An agent started under a keyward PAM session holds its granted secrets
 * as kernel keys "keyward:NAME". keyward_get() finds one among the keys
 * the calling process possesses and copies its value out. Every read is
 * recorded by the kernel's audit rules (key "keyward").
 *
 * While any value is held the process is made not dumpable
 * (PR_SET_DUMPABLE 0): no core dump and no ptrace by same-uid peers.
 * Values are wiped by keyward_free(). Link with `pkg-config --libs keyward`.
 *
 * Thread safety: the functions keep no state and may be called from any
 * thread.
 */
#ifndef KEYWARD_H
#define KEYWARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: 0 or one of these negative values. */
enum keyward_error {
	KEYWARD_OK = 0,
	KEYWARD_ENOTFOUND = -1,	/* this process holds no such secret */
	KEYWARD_EREVOKED = -2,	/* revoked (session closed, kill switch) */
	KEYWARD_EEXPIRED = -3,	/* its TTL ran out */
	KEYWARD_EACCES = -4,	/* the key exists but may not be read */
	KEYWARD_EINVAL = -5,	/* invalid secret name or argument */
	KEYWARD_ENOMEM = -6,	/* out of memory */
	KEYWARD_ENOSYS = -7,	/* the kernel has no keyrings */
	KEYWARD_ESYSTEM = -8,	/* another system error (see errno) */
};

/* A secret value. data holds len bytes followed by a NUL byte. */
struct keyward_value {
	unsigned char *data;
	size_t len;
	int32_t serial;		/* the kernel key's serial number */
};

/*
 * Get the secret name (1-64 of [A-Za-z0-9._-]) held by this process.
 * On success *out is a new value to release with keyward_free(); on
 * failure *out is NULL and the return is a KEYWARD_E* code.
 * Thread-safe. Each call reads the key afresh (a rotation shows at once);
 * the key found for a name is remembered, so later calls skip the search
 * while it stays readable, and search again as soon as it does not.
 */
int keyward_get(const char *name, struct keyward_value **out);

/* Wipe and free a value. NULL-safe. */
void keyward_free(struct keyward_value *v);

/* A short English description of a KEYWARD_E* code (never NULL). */
const char *keyward_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* KEYWARD_H */
