/*
 * kw_read.c - the agent's read path (see kw_read.h).
 */
#include "config.h"

#include <errno.h>
#include <keyutils.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "kw_read.h"

#define KWR_FIRST_READ 4096	/* most API keys fit: one system call */

/* Wipe n bytes at p so that the compiler keeps it. */
static void
wipe(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	{
		volatile unsigned char *v = p;

		while (n-- > 0)
			*v++ = 0;
	}
#endif
}

/* Valid secret name? */
int
kwr_name_ok(const char *name)
{
	size_t i;
	char c;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		c = name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return i <= KWR_NAME_MAX;
}

/*
 * True when key id is a key keyward delivered: type user, owned by root
 * (uid 0: only root can make such a key, so a same-uid process cannot
 * plant one) and described exactly desc. keyctl_describe gives
 * "type;uid;gid;perm;description"; one call into a buffer big enough for
 * any key keyward makes (a longer description is not ours).
 */
static int
kwr_is_delivered(long id, const char *desc)
{
	/* "user;0;" + gid + ";" + perm + ";" + desc, NUL */
	char d[sizeof("user;0;4294967295;ffffffff;") + sizeof(KWR_PREFIX) +
	    KWR_NAME_MAX];
	const char *p;
	long n;
	int i;

	n = keyctl_describe((key_serial_t)id, d, sizeof(d));
	if (n <= 0 || (size_t)n > sizeof(d) || d[n - 1] != '\0')
		return 0;
	if (strncmp(d, "user;0;", 7) != 0)
		return 0;
	for (p = d, i = 0; i < 4 && p != NULL; i++) {
		p = strchr(p, ';');
		if (p != NULL)
			p++;
	}
	return p != NULL && strcmp(p, desc) == 0;
}

/*
 * Find keyward:name among the keys this process possesses through its
 * session keyring (where pam_keyward puts them, scope=user keys included),
 * and only a key keyward delivered. Never the user keyring: any process of
 * the same uid can add keys there.
 */
int32_t
kwr_find(const char *name)
{
	char desc[sizeof(KWR_PREFIX) + KWR_NAME_MAX];
	long id;
	int err;

	if (!kwr_name_ok(name))
		return -EINVAL;
	snprintf(desc, sizeof(desc), "%s%s", KWR_PREFIX, name);
	/* KEYCTL_SEARCH is not audited; only the read is */
	id = keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", desc, 0);
	if (id <= 0) {
		err = errno;
		return -(err != 0 ? err : ENOKEY);
	}
	if (!kwr_is_delivered(id, desc))
		return -ENOKEY;
	return (int32_t)id;
}

/*
 * The names this process found, and their serials (kwr_find_cached()).
 * Remembering a serial is safe because nothing about it can change to
 * our harm while the kernel still lets us read it:
 *   - its owner: only a process with CAP_SYS_ADMIN can chown a key, and
 *     root-owned is what kwr_is_delivered() checked;
 *   - its value: keyward rotates by updating the same key in place, so
 *     the next read sees the new value;
 *   - possession: every read is checked by the kernel against this
 *     process's keyrings now (possessor read only): a key the process no
 *     longer possesses fails with EACCES;
 *   - revocation, expiry, removal: the read fails (EKEYREVOKED,
 *     EKEYEXPIRED, ENOKEY).
 * Any failed read makes the caller forget the name and search afresh, so
 * a serial is remembered only while it keeps working. The one gap is a
 * serial reused for a new key after the old one is destroyed: serials
 * are random 31-bit numbers, and the old key must first fail a read.
 */
#define KWR_CACHE_SLOTS 16

static struct {
	char name[KWR_NAME_MAX + 1];
	int32_t serial;
} kwr_cache[KWR_CACHE_SLOTS];
static unsigned kwr_cache_next;
static pthread_mutex_t kwr_cache_lock = PTHREAD_MUTEX_INITIALIZER;

int32_t
kwr_find_cached(const char *name, int *cached)
{
	int32_t serial = 0;
	size_t i;

	*cached = 0;
	if (!kwr_name_ok(name))
		return -EINVAL;
	pthread_mutex_lock(&kwr_cache_lock);
	for (i = 0; i < KWR_CACHE_SLOTS; i++)
		if (kwr_cache[i].serial > 0 &&
		    strcmp(kwr_cache[i].name, name) == 0) {
			serial = kwr_cache[i].serial;
			break;
		}
	pthread_mutex_unlock(&kwr_cache_lock);
	if (serial > 0) {
		*cached = 1;
		return serial;
	}
	if ((serial = kwr_find(name)) <= 0)
		return serial;
	pthread_mutex_lock(&kwr_cache_lock);
	i = kwr_cache_next++ % KWR_CACHE_SLOTS;
	memcpy(kwr_cache[i].name, name, strlen(name) + 1);
	kwr_cache[i].serial = serial;
	pthread_mutex_unlock(&kwr_cache_lock);
	return serial;
}

void
kwr_forget(const char *name)
{
	size_t i;

	pthread_mutex_lock(&kwr_cache_lock);
	for (i = 0; i < KWR_CACHE_SLOTS; i++)
		if (kwr_cache[i].serial > 0 &&
		    strcmp(kwr_cache[i].name, name) == 0)
			kwr_cache[i].serial = 0;
	pthread_mutex_unlock(&kwr_cache_lock);
}

/* Read key serial into a heap buffer. */
int
kwr_read(int32_t serial, unsigned char **buf, size_t *len)
{
	unsigned char *b = NULL;
	size_t cap = KWR_FIRST_READ;
	long n;
	int err;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if ((b = malloc(cap + 1)) == NULL)
			return -ENOMEM;
		n = keyctl_read(serial, (char *)b, cap);
		if (n < 0) {
			err = errno;
			free(b);
			return -(err != 0 ? err : EIO);
		}
		if ((size_t)n <= cap)
			break;
		/* bigger than the buffer: older kernels copied a part */
		wipe(b, cap + 1);
		free(b);
		if (n > KWR_VALUE_MAX + 1)
			return -EFBIG;
		cap = (size_t)n;
	}
	b[n] = '\0';	/* the rest was never written: nothing to wipe */
	*buf = b;
	*len = (size_t)n;
	return 0;
}

/* Wipe and free. */
void
kwr_free(unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return;
	wipe(buf, len);
	free(buf);
}

/* No core dumps of secret bytes (per call: cheap, and a credential change
 * may have set the flag back to fs.suid_dumpable since the last one). */
void
kwr_no_dump(void)
{
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
