/*
 * kw_crypto.h - OpenSSL 3 algorithm objects fetched once per process.
 *
 * An EVP fetch looks the algorithm up in the provider's method store (a
 * lock, a property query); it costs more than the HMAC of a short message.
 * The core fetches HMAC and AES-256-GCM once and shares them, and hands
 * out HMAC-SHA256 contexts copied from one made once. The objects
 * are never freed: the process's exit does it (pam_keyward is linked with
 * -z nodelete, so it is never unloaded while they live).
 */
#ifndef KW_CRYPTO_H
#define KW_CRYPTO_H

#include <openssl/evp.h>

/* HMAC (the caller gets its own reference: EVP_MAC_free() it), or NULL. */
EVP_MAC *kw_crypto_hmac(void);

/* AES-256-GCM (the caller gets its own reference: EVP_CIPHER_free() it),
 * or NULL. */
EVP_CIPHER *kw_crypto_aes_gcm(void);

/*
 * A new HMAC-SHA256 context (EVP_MAC_CTX_free() it), copied from one made
 * once with the digest fetched: key it with EVP_MAC_init(ctx, key, len,
 * NULL) before use. NULL when OpenSSL fails (out of memory, no HMAC).
 */
EVP_MAC_CTX *kw_crypto_hmac_sha256(void);

#endif
