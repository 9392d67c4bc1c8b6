/*
 * kw_crypto.c - OpenSSL algorithm objects fetched once (see kw_crypto.h).
 */
#include "config.h"

#include <stdatomic.h>
#include <stddef.h>

#include "kw_crypto.h"

static _Atomic(EVP_MAC *) hmac;
static _Atomic(EVP_CIPHER *) aes_gcm;

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
