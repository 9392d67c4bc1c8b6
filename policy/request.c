/*
 * request.c - facts about a requester that the policy matches on: the
 * user's groups (primary and supplementary) and the SHA-256 of an
 * executable.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "policy.h"

#define GROUPS_MAX 65536	/* NGROUPS_MAX on Linux */
#define NSS_BUF_MAX (1024 * 1024)

/* Free a group name list. */
void
kw_request_groups_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* A buffer size hint for the getpw/getgr *_r functions. */
static size_t
nss_buf_size(int name)
{
	long s = sysconf(name);

	return s > 0 && s < NSS_BUF_MAX ? (size_t)s : 4096;
}

/*
 * Look user up: *gid receives the primary group. KW_ENOTFOUND when there
 * is no such user.
 */
static int
user_gid(const char *user, gid_t *gid, struct kw_error *e)
{
	struct passwd pw, *res = NULL;
	size_t size = nss_buf_size(_SC_GETPW_R_SIZE_MAX);
	char *buf = NULL, *grown;
	int r;

	*gid = (gid_t)-1;
	for (;;) {
		if ((grown = realloc(buf, size)) == NULL) {
			free(buf);
			return kw_fail(e, KW_ENOMEM, "out of memory");
		}
		buf = grown;
		r = getpwnam_r(user, &pw, buf, size, &res);
		if (r != ERANGE || size >= NSS_BUF_MAX)
			break;
		size *= 2;
	}
	if (r == 0 && res != NULL)
		*gid = pw.pw_gid;
	free(buf);
	if (r != 0 && r != ENOENT && r != ESRCH)
		return kw_fail_errno(e, KW_ESYSTEM, r, "user '%s'", user);
	if (res == NULL)
		return kw_fail(e, KW_ENOTFOUND, "user '%s' does not exist",
		    user);
	return 0;
}

/* The name of group gid (or its number) in a new string. */
static int
group_name(gid_t gid, char **out, struct kw_error *e)
{
	struct group gr, *res = NULL;
	size_t size = nss_buf_size(_SC_GETGR_R_SIZE_MAX);
	char *buf = NULL, *grown, num[32];
	int r;

	*out = NULL;
	for (;;) {
		if ((grown = realloc(buf, size)) == NULL) {
			free(buf);
			return kw_fail(e, KW_ENOMEM, "out of memory");
		}
		buf = grown;
		r = getgrgid_r(gid, &gr, buf, size, &res);
		if (r != ERANGE || size >= NSS_BUF_MAX)
			break;
		size *= 2;
	}
	if (r == 0 && res != NULL) {
		r = kw_strdup(gr.gr_name, out, e);
	} else if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF ||
	    r == EPERM) {
		/* no such group (getgrgid_r(3)): its number stands */
		snprintf(num, sizeof(num), "%lu", (unsigned long)gid);
		r = kw_strdup(num, out, e);
	} else {
		/* a failed lookup is no answer: the name may be denied */
		r = kw_fail_errno(e, KW_ESYSTEM, r, "group %lu: group lookup",
		    (unsigned long)gid);
	}
	free(buf);
	return r;
}

/* Primary and supplementary group names of user. */
int
kw_request_groups(const char *user, char ***names, size_t *n,
    struct kw_error *e)
{
	gid_t gid, *gids = NULL, *grown_gids;
	char **list = NULL;
	size_t count = 0, i, j;
	int ng = 32, want, got, rc;

	*names = NULL;
	*n = 0;
	if (user == NULL || *user == '\0')
		return kw_fail(e, KW_EINVAL, "no user name");
	if ((rc = user_gid(user, &gid, e)) != 0)
		return rc;
	for (;;) {
		grown_gids = reallocarray(gids, (size_t)ng, sizeof(*gids));
		if (grown_gids == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "out of memory");
			goto out;
		}
		gids = grown_gids;
		want = ng;
		errno = 0;
		got = getgrouplist(user, gid, gids, &want);
		/*
		 * A list that may miss groups is an error, never a shorter
		 * list (a deny rule must see every group). glibc says so
		 * only in part: its own allocation failing makes it return
		 * -1 without the size it needs; an NSS module out of memory
		 * makes it go on with the next module and succeed, with
		 * errno ENOMEM left when no later module reset it (a later
		 * module can hide the failure: not detectable here).
		 */
		if (got >= 0 && errno != ENOMEM) {
			ng = want;
			break;
		}
		if (got >= 0 || want <= ng) {
			rc = errno != 0 ? kw_fail_errno(e, KW_ESYSTEM, errno,
			    "user '%s': group list", user) :
			    kw_fail(e, KW_ESYSTEM, "user '%s': group list: "
			    "lookup failed", user);
			goto out;
		}
		if (want > GROUPS_MAX) {
			rc = kw_fail(e, KW_ESYSTEM, "user '%s': too many groups",
			    user);
			goto out;
		}
		ng = want;
	}
	if ((list = calloc((size_t)ng, sizeof(*list))) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)ng; i++) {
		for (j = 0; j < i; j++)
			if (gids[j] == gids[i])
				break;
		if (j < i)
			continue;	/* duplicate gid */
		if ((rc = group_name(gids[i], &list[count], e)) != 0)
			goto out;
		count++;
	}
	*names = list;
	*n = count;
	list = NULL;
	rc = 0;
out:
	kw_request_groups_free(list, count);
	free(gids);
	return rc;
}

/*
 * SHA-256 of everything an open descriptor of a regular file holds, read
 * with pread(2) from offset 0 (the descriptor's offset is not used or
 * moved), as lowercase hex. name is for messages. Returns 0 or a KW_E*.
 */
int
kw_sha256_fd(int fd, const char *name, char hex[65], struct kw_error *e)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char buf[16384], md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = NULL;
	unsigned int mdlen = 0, i;
	struct stat st;
	off_t off = 0;
	ssize_t r;
	int rc;

	memset(hex, 0, 65);
	if (fstat(fd, &st) < 0)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fstat", name);
	if (!S_ISREG(st.st_mode))
		return kw_fail(e, KW_EINVAL, "%s: not a regular file", name);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = kw_fail(e, KW_ENOMEM, "SHA-256: cannot set up a digest");
		goto out;
	}
	for (;;) {
		r = pread(fd, buf, sizeof(buf), off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: read",
			    name);
			goto out;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
			rc = kw_fail(e, KW_EINTERNAL, "SHA-256: update failed");
			goto out;
		}
		off += r;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		rc = kw_fail(e, KW_EINTERNAL, "SHA-256: final failed");
		goto out;
	}
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[64] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* SHA-256 of the file at path (after realpath), as lowercase hex. */
int
kw_sha256_file(const char *path, char hex[65], struct kw_error *e)
{
	char real[PATH_MAX];
	int fd, rc;

	memset(hex, 0, 65);
	if (realpath(path, real) == NULL)
		return kw_fail_errno(e, errno == ENOENT ? KW_ENOTFOUND :
		    KW_ESYSTEM, errno, "%s", path);
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", real);
	rc = kw_sha256_fd(fd, real, hex, e);
	close(fd);
	return rc;
}
