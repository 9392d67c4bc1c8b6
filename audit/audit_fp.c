/*
 * audit_fp.c - the fp= fingerprint of a secret value: a keyed hash under the
 * per-install audit key, so an auditor holding a leaked value can find its
 * records while the log reveals nothing about values. Kept apart from
 * audit.c so that the agent's lean binary does not load libcrypto.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit.h"
#include "kw_util.h"

/* fp = first 16 hex digits of HMAC-SHA256(key, value). */
int
kw_audit_fp(const unsigned char key[KW_AUDIT_KEY_LEN], const void *value,
    size_t len, char out[KW_FP_HEX_LEN + 1], struct kw_error *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int i;

	memset(out, 0, KW_FP_HEX_LEN + 1);
	if (HMAC(EVP_sha256(), key, KW_AUDIT_KEY_LEN,
	    len > 0 ? value : (const void *)"", len, md, &mdlen) == NULL ||
	    mdlen < KW_FP_HEX_LEN / 2) {
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
