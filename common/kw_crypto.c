/*
 * kw_crypto.c - OpenSSL algorithm objects fetched once (see kw_crypto.h).
 */
#include "config.h"

#include <stdatomic.h>
#include <stddef.h>

#include <openssl/core_names.h>

#include "kw_crypto.h"

static _Atomic(EVP_MAC *) hmac;
static _Atomic(EVP_CIPHER *) aes_gcm;
static _Atomic(EVP_MAC_CTX *) hmac_sha256;

/*
 * Fetch once; threads that race both fetch, one wins the store and the
 * other frees its copy. Each caller gets a reference of its own.
 */
EVP_MAC *
kw_crypto_hmac(void)
{
	EVP_MAC *m = atomic_load(&hmac), *none = NULL;

	if (m == NULL) {
		if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
			return NULL;
		if (!atomic_compare_exchange_strong(&hmac, &none, m)) {
			EVP_MAC_free(m);
			m = none;
		}
	}
	return EVP_MAC_up_ref(m) == 1 ? m : NULL;
}

EVP_CIPHER *
kw_crypto_aes_gcm(void)
{
	EVP_CIPHER *c = atomic_load(&aes_gcm), *none = NULL;

	if (c == NULL) {
		if ((c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL)
			return NULL;
		if (!atomic_compare_exchange_strong(&aes_gcm, &none, c)) {
			EVP_CIPHER_free(c);
			c = none;
		}
	}
	return EVP_CIPHER_up_ref(c) == 1 ? c : NULL;
}

/*
 * The template, made once: HMAC with its SHA256 digest fetched (the
 * provider fetches it again for every context given the digest by name),
 * keyed with zeros so that every state a copy takes is initialised. It is
 * only ever read (copied), never used to compute, so threads may share it.
 */
static EVP_MAC_CTX *
hmac_sha256_template(void)
{
	static const unsigned char zero[32];
	EVP_MAC_CTX *t = atomic_load(&hmac_sha256), *none = NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC *mac;

	if (t != NULL)
		return t;
	if ((mac = kw_crypto_hmac()) == NULL)
		return NULL;
	t = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);	/* the context holds its own reference */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (t == NULL ||
	    EVP_MAC_init(t, zero, sizeof(zero), params) <= 0) {
		EVP_MAC_CTX_free(t);
		return NULL;
	}
	if (!atomic_compare_exchange_strong(&hmac_sha256, &none, t)) {
		EVP_MAC_CTX_free(t);
		t = none;
	}
	return t;
}

EVP_MAC_CTX *
kw_crypto_hmac_sha256(void)
{
	EVP_MAC_CTX *t = hmac_sha256_template();

	return t != NULL ? EVP_MAC_CTX_dup(t) : NULL;
}
