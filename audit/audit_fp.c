/*
 * audit_fp.c - the fp= fingerprint of a secret value: a keyed hash under the
 * per-install audit key, so an auditor holding a leaked value can find its
 * records while the log reveals nothing about values. Kept apart from
 * audit.c so that the agent's lean binary does not load libcrypto.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit.h"
#include "kw_crypto.h"
#include "kw_util.h"

/* A keyed HMAC-SHA256: the key schedule and digest fetch made once. */
struct kw_fp {
	EVP_MAC_CTX *ctx;
};

/* Make a fingerprint context keyed with key. */
int
kw_fp_new(const unsigned char key[KW_AUDIT_KEY_LEN], struct kw_fp **out,
    struct kw_error *e)
{
	struct kw_fp *f;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	/* a copy of the process's HMAC-SHA256 template (kw_crypto.h) */
	if ((f->ctx = kw_crypto_hmac_sha256()) == NULL ||
	    EVP_MAC_init(f->ctx, key, KW_AUDIT_KEY_LEN, NULL) <= 0) {
		kw_fp_free(f);
		return kw_fail(e, KW_EINTERNAL, "HMAC-SHA256 is not available");
	}
	*out = f;
	return 0;
}

/*
 * fp = first 16 hex digits of HMAC-SHA256(key, value): each value restarts
 * the keyed HMAC (init with no key keeps the key of kw_fp_new()).
 */
int
kw_fp_value(struct kw_fp *f, const void *value, size_t len,
    char out[KW_FP_HEX_LEN + 1], struct kw_error *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	size_t mdlen = 0;
	int i, ok;

	memset(out, 0, KW_FP_HEX_LEN + 1);
	ok = EVP_MAC_init(f->ctx, NULL, 0, NULL) > 0 &&
	    EVP_MAC_update(f->ctx, len > 0 ? value : (const void *)"", len) > 0 &&
	    EVP_MAC_final(f->ctx, md, &mdlen, sizeof(md)) > 0 &&
	    mdlen == sizeof(md);
	if (!ok) {
		kw_wipe(md, sizeof(md));
		return kw_fail(e, KW_EINTERNAL, "HMAC-SHA256 failed");
	}
	for (i = 0; i < KW_FP_HEX_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[KW_FP_HEX_LEN] = '\0';
	kw_wipe(md, sizeof(md));
	return 0;
}

/* Free (the HMAC state is cleansed by OpenSSL). NULL-safe. */
void
kw_fp_free(struct kw_fp *f)
{
	if (f == NULL)
		return;
	EVP_MAC_CTX_free(f->ctx);
	free(f);
}

/* One value's fp= under key. */
int
kw_audit_fp(const unsigned char key[KW_AUDIT_KEY_LEN], const void *value,
    size_t len, char out[KW_FP_HEX_LEN + 1], struct kw_error *e)
{
	struct kw_fp *f;
	int rc;

	memset(out, 0, KW_FP_HEX_LEN + 1);
	if ((rc = kw_fp_new(key, &f, e)) != 0)
		return rc;
	rc = kw_fp_value(f, value, len, out, e);
	kw_fp_free(f);
	return rc;
}
