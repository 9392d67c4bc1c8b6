/*
 * audit_fp.c - the fp= fingerprint of a secret value: a keyed hash under the
 * per-install audit key, so an auditor holding a leaked value can find its
 * records while the log reveals nothing about values. Kept apart from
 * audit.c so that the agent's lean binary does not load libcrypto.
 */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "audit.h"
#include "kw_crypto.h"
#include "kw_util.h"

/* fp = first 16 hex digits of HMAC-SHA256(key, value). */
int
kw_audit_fp(const unsigned char key[KW_AUDIT_KEY_LEN], const void *value,
    size_t len, char out[KW_FP_HEX_LEN + 1], struct kw_error *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t mdlen = 0;
	int i, ok;

	memset(out, 0, KW_FP_HEX_LEN + 1);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* the process's one fetched HMAC (kw_crypto.h) */
	mac = kw_crypto_hmac();
	ok = mac != NULL && (ctx = EVP_MAC_CTX_new(mac)) != NULL &&
	    EVP_MAC_init(ctx, key, KW_AUDIT_KEY_LEN, params) > 0 &&
	    EVP_MAC_update(ctx, len > 0 ? value : (const void *)"", len) > 0 &&
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) > 0 &&
	    mdlen == sizeof(md);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
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
