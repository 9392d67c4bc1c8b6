/*
 * vault.c - the encrypted secret store. The byte layout is specified in
 * docs/vault-format.md; in short:
 *
 *   header (128 bytes, HMAC'd) | index: count fixed 512-byte entries sorted
 *   by name, each HMAC'd over (generation, position, count, entry) | data:
 *   the AES-256-GCM ciphertexts, contiguous, in index order
 *
 * Readers open the file without a lock (writers replace it by rename), pick
 * the index bucket a name falls in by the fence, read that bucket with one
 * pread() and binary-search it, authenticating every entry they return or
 * rely on; they decrypt only the record they are asked for. Writers lock
 * "<vault>.lock", load and verify the whole file, change it in memory and
 * write a new file with a fresh generation id (kw_atomic_write).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/params.h>

#include "kw_crypto.h"
#include "vault.h"

/* ---- format constants (docs/vault-format.md) ------------------------- */

#define VAULT_MAGIC	"KWVAULT\x1a"
#define VAULT_FORMAT	1u
#define MAGIC_LEN	8
#define MAC_LEN		32
#define NONCE_LEN	12
#define TAG_LEN		16
#define GEN_LEN		16
#define KEYCHK_LEN	16
#define SUBKEY_LEN	32
#define VAULT_MAX_COUNT	(1u << 20)

/* header */
#define HDR_LEN		128
#define HDR_MACED	96
#define H_MAGIC		0
#define H_FORMAT	8
#define H_ENTLEN	12
#define H_COUNT		16
#define H_FLAGS		20
#define H_FILESIZE	24
#define H_DATAOFF	32
#define H_GEN		40
#define H_KEYCHK	56
#define H_INDEXOFF	72
#define H_RESERVED	80
#define H_MAC		96

/* fence: the name of every FENCE_EVERY-th entry, between header and index */
#define FENCE_EVERY	64
#define FENCE_NAME	64
#define FENCE_LEN(count) \
	((((uint64_t)(count) + FENCE_EVERY - 1) / FENCE_EVERY) * FENCE_NAME)

/* index entry */
#define ENT_LEN		512
#define ENT_MACED	480
#define E_NAME		0
#define E_CREATED	64
#define E_MAXTTL	72
#define E_ROTEVERY	80
#define E_NOTELEN	88
#define E_NOTE		90
#define E_RESERVED1	346
#define E_REC		352
#define E_RESERVED2	456
#define E_MAC		480
#define REC_LEN		52
#define R_VERSION	0
#define R_LEN		4
#define R_OFFSET	8
#define R_MADE		16
#define R_NONCE		24
#define R_TAG		36

/* domain separation strings */
static const char kdf_salt[] = "keyward-vault-v1";
static const char kdf_info_enc[] = "record-encryption";
static const char kdf_info_mac[] = "index-authentication";
static const char keychk_label[] = "keyward-vault-key-check-v1";
static const char entry_label[8] = { 'K', 'W', 'E', 'N', 'T', 'R', 'Y', '1' };
static const char record_label[8] = { 'K', 'W', 'R', 'E', 'C', 'R', 'D', '1' };

/* One version of a secret. */
struct rec {
	uint32_t version;		/* 0 = slot empty */
	uint32_t len;
	uint64_t off;
	int64_t made;
	unsigned char nonce[NONCE_LEN];
	unsigned char tag[TAG_LEN];
	const unsigned char *ct;	/* writers: the ciphertext */
	unsigned char *own;		/* writers: ct when we allocated it */
};

/* A decoded, authenticated index entry. */
struct entry {
	char name[KW_NAME_MAX + 1];
	int64_t created;
	uint64_t max_ttl;
	uint64_t rotate_every;
	char note[KW_NOTE_MAX + 1];
	struct rec rec[2];		/* [0] current, [1] previous */
};

struct kw_vault {
	char path[PATH_MAX];
	int fd;				/* the vault file as opened */
	int lock_fd;			/* writers: "<vault>.lock", else -1 */
	unsigned char enc_key[SUBKEY_LEN];
	unsigned char mac_key[SUBKEY_LEN];
	EVP_MAC_CTX *mctx;		/* HMAC-SHA256 keyed with mac_key */
	EVP_CIPHER *cipher;		/* AES-256-GCM */
	unsigned char gen[GEN_LEN];
	uint32_t count;
	uint64_t file_size;
	uint64_t index_off;
	uint64_t data_off;
	unsigned char *fence;		/* readers: the fence, once read */
	unsigned char *bucket;		/* readers: the entries of the last
					 * bucket searched (one pread) */
	size_t bucket_first, bucket_n;	/* its first entry, how many */
	uint32_t *found_pos;		/* readers: per slot, the position + 1
					 * of the entry in found[], 0 = none */
	struct entry *found;		/* readers: entries found by name,
					 * authenticated (a session's grants
					 * are looked up, then read) */
	EVP_CIPHER_CTX *dctx;		/* AES-256-GCM keyed once, for reads */
	unsigned char *win;		/* readers: ciphertext read ahead */
	uint64_t win_off;		/* its place in the file */
	size_t win_len, win_cap;
	unsigned n_reads;		/* ciphertext reads so far */
	/* writers only */
	unsigned char *img;		/* the file as loaded */
	size_t img_len;
	struct entry *ents;
	size_t n;
	size_t cap;
};

/* ---- byte order ---------------------------------------------------------- */

/* Store v big-endian in 4 bytes at p. */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Store v big-endian in 8 bytes at p. */
static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* The big-endian 32-bit number at p. */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The big-endian 64-bit number at p. */
static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* True when n bytes at p are all zero. */
static bool
all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- the master key -------------------------------------------------- */

/* Load a 32-byte master key file after the secret-file checks. */
int
kw_master_key_load(const char *path, unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_error *e)
{
	unsigned char buf[KW_MASTER_KEY_LEN + 1];
	struct stat st;
	ssize_t r;
	int fd = -1, rc;

	kw_wipe(key, KW_MASTER_KEY_LEN);
	if ((rc = kw_safe_open(path, KW_SAFE_SECRET, 0, &fd, &st, e)) != 0)
		return rc;
	r = kw_read_sized(fd, buf, sizeof(buf), (size_t)st.st_size);
	if (r < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, (int)-r, "%s: read", path);
		goto out;
	}
	if (r != KW_MASTER_KEY_LEN) {
		rc = kw_fail(e, KW_EKEY, "%s: a master key is exactly %d bytes, "
		    "this file has %s%zd", path, KW_MASTER_KEY_LEN,
		    r > KW_MASTER_KEY_LEN ? "more than " : "",
		    r > KW_MASTER_KEY_LEN ? (ssize_t)KW_MASTER_KEY_LEN : r);
		goto out;
	}
	memcpy(key, buf, KW_MASTER_KEY_LEN);
	rc = 0;
out:
	kw_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* ---- crypto helpers ------------------------------------------------------ */

/*
 * HMAC-SHA256 of (a, b) under key into out, on ctx (whose digest is set).
 * The building block of HKDF below.
 */
static int
hmac2(EVP_MAC_CTX *ctx, const unsigned char *key, size_t klen,
    const void *a, size_t alen, const void *b, size_t blen,
    unsigned char out[SUBKEY_LEN])
{
	size_t outl = 0;

	return EVP_MAC_init(ctx, key, klen, NULL) > 0 &&
	    EVP_MAC_update(ctx, a, alen) > 0 &&
	    (b == NULL || EVP_MAC_update(ctx, b, blen) > 0) &&
	    EVP_MAC_final(ctx, out, &outl, SUBKEY_LEN) > 0 &&
	    outl == SUBKEY_LEN ? 0 : -1;
}

/*
 * Set up the vault's subkeys and algorithm objects from the master key:
 * HKDF-SHA256 (RFC 5869) with salt kdf_salt, one output block per subkey,
 * computed with the HMAC the index needs anyway:
 *
 *   PRK     = HMAC(salt, master)
 *   ENC_KEY = HMAC(PRK, "record-encryption" || 0x01)
 *   MAC_KEY = HMAC(PRK, "index-authentication" || 0x01)
 *
 * (a 32-byte output is the first block T(1) of HKDF-Expand), on a copy
 * of the process's HMAC-SHA256 context (kw_crypto.h) instead of an HKDF
 * fetch per subkey and a digest fetch per handle: fetches were most of
 * the cost of opening a vault.
 */
static int
crypto_init(struct kw_vault *v, const unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_error *e)
{
	static const unsigned char one = 0x01;
	unsigned char prk[SUBKEY_LEN];
	int rc = 0;

	if ((v->mctx = kw_crypto_hmac_sha256()) == NULL)
		return kw_fail(e, KW_EINTERNAL, "HMAC-SHA256 is not available");
	if (hmac2(v->mctx, (const unsigned char *)kdf_salt,
	    strlen(kdf_salt), key, KW_MASTER_KEY_LEN, NULL, 0, prk) != 0 ||
	    hmac2(v->mctx, prk, sizeof(prk), kdf_info_enc,
	    strlen(kdf_info_enc), &one, 1, v->enc_key) != 0 ||
	    hmac2(v->mctx, prk, sizeof(prk), kdf_info_mac,
	    strlen(kdf_info_mac), &one, 1, v->mac_key) != 0 ||
	    EVP_MAC_init(v->mctx, v->mac_key, SUBKEY_LEN, NULL) <= 0)
		rc = kw_fail(e, KW_EINTERNAL, "HKDF key derivation failed");
	kw_wipe(prk, sizeof(prk));
	if (rc != 0)
		return rc;
	v->cipher = kw_crypto_aes_gcm();
	if (v->cipher == NULL)
		return kw_fail(e, KW_EINTERNAL, "AES-256-GCM is not available");
	return 0;
}

/*
 * HMAC-SHA256 under the index key of up to three pieces (NULL pieces are
 * skipped) into out. Returns 0 or KW_EINTERNAL.
 */
static int
mac3(struct kw_vault *v, const void *a, size_t alen, const void *b,
    size_t blen, const void *c, size_t clen, unsigned char out[MAC_LEN],
    struct kw_error *e)
{
	size_t outl = 0;

	if (EVP_MAC_init(v->mctx, NULL, 0, NULL) <= 0 ||
	    (a != NULL && EVP_MAC_update(v->mctx, a, alen) <= 0) ||
	    (b != NULL && EVP_MAC_update(v->mctx, b, blen) <= 0) ||
	    (c != NULL && EVP_MAC_update(v->mctx, c, clen) <= 0) ||
	    EVP_MAC_final(v->mctx, out, &outl, MAC_LEN) <= 0 ||
	    outl != MAC_LEN)
		return kw_fail(e, KW_EINTERNAL, "HMAC-SHA256 failed");
	return 0;
}

/* The key check value stored in the header. */
static int
key_check(struct kw_vault *v, unsigned char out[MAC_LEN], struct kw_error *e)
{
	return mac3(v, keychk_label, strlen(keychk_label), NULL, 0, NULL, 0,
	    out, e);
}

/* The MAC of index entry pos of count under generation gen. */
static int
entry_mac(struct kw_vault *v, const unsigned char *gen, uint32_t pos,
    uint32_t count, const unsigned char *raw, unsigned char out[MAC_LEN],
    struct kw_error *e)
{
	unsigned char pre[sizeof(entry_label) + GEN_LEN + 8];

	memcpy(pre, entry_label, sizeof(entry_label));
	memcpy(pre + sizeof(entry_label), gen, GEN_LEN);
	put32(pre + sizeof(entry_label) + GEN_LEN, pos);
	put32(pre + sizeof(entry_label) + GEN_LEN + 4, count);
	return mac3(v, pre, sizeof(pre), raw, ENT_MACED, NULL, 0, out, e);
}

/* Additional authenticated data of a record: label, name, version. */
static size_t
record_aad(const char *name, uint32_t version,
    unsigned char aad[sizeof(record_label) + 1 + KW_NAME_MAX + 4])
{
	size_t n = strlen(name), off = sizeof(record_label);

	memcpy(aad, record_label, off);
	aad[off++] = (unsigned char)n;
	memcpy(aad + off, name, n);
	off += n;
	put32(aad + off, version);
	return off + 4;
}

/* Encrypt len bytes of pt for (name, version): fresh nonce, ct, tag. */
static int
seal(struct kw_vault *v, const char *name, uint32_t version,
    const unsigned char *pt, size_t len, unsigned char *ct,
    unsigned char nonce[NONCE_LEN], unsigned char tag[TAG_LEN],
    struct kw_error *e)
{
	unsigned char aad[sizeof(record_label) + 1 + KW_NAME_MAX + 4];
	EVP_CIPHER_CTX *ctx;
	size_t aadlen;
	int outl = 0, fin = 0, rc;

	if ((rc = kw_random(nonce, NONCE_LEN, e)) != 0)
		return rc;
	aadlen = record_aad(name, version, aad);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	rc = KW_EINTERNAL;
	if (EVP_EncryptInit_ex2(ctx, v->cipher, v->enc_key, nonce, NULL) <= 0 ||
	    EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aadlen) <= 0 ||
	    EVP_EncryptUpdate(ctx, ct, &outl, pt, (int)len) <= 0 ||
	    EVP_EncryptFinal_ex(ctx, ct + outl, &fin) <= 0 ||
	    (size_t)outl + (size_t)fin != len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) <= 0)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (rc != 0)
		return kw_fail(e, rc, "AES-256-GCM encryption failed");
	return 0;
}

/*
 * Decrypt and authenticate record r of name into pt (r->len bytes).
 * KW_ECORRUPT when the tag does not verify, KW_EINTERNAL when decryption
 * could not run (OpenSSL out of memory): that says nothing of the record.
 * pt is wiped on failure.
 */
static int
open_record(struct kw_vault *v, const char *name, const struct rec *r,
    const unsigned char *ct, unsigned char *pt, struct kw_error *e)
{
	unsigned char aad[sizeof(record_label) + 1 + KW_NAME_MAX + 4];
	unsigned char tag[TAG_LEN];
	EVP_CIPHER_CTX *ctx;
	size_t aadlen;
	int outl = 0, fin = 0, rc = KW_EINTERNAL;

	aadlen = record_aad(name, r->version, aad);
	memcpy(tag, r->tag, TAG_LEN);
	/* the key schedule once per vault handle; each record sets its IV */
	if (v->dctx == NULL) {
		if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		if (EVP_DecryptInit_ex2(ctx, v->cipher, v->enc_key, NULL,
		    NULL) <= 0) {
			EVP_CIPHER_CTX_free(ctx);
			return kw_fail(e, KW_EINTERNAL, "%s: AES-256-GCM setup "
			    "failed", v->path);
		}
		v->dctx = ctx;
	}
	ctx = v->dctx;
	if (EVP_DecryptInit_ex2(ctx, NULL, NULL, r->nonce, NULL) <= 0 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aadlen) <= 0 ||
	    EVP_DecryptUpdate(ctx, pt, &outl, ct, (int)r->len) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) <= 0)
		goto out;
	/* only the tag check says whether the record is genuine */
	rc = KW_ECORRUPT;
	if (EVP_DecryptFinal_ex(ctx, pt + outl, &fin) <= 0 ||
	    (size_t)outl + (size_t)fin != r->len)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		kw_wipe(pt, r->len);
	if (rc == KW_ECORRUPT)
		return kw_fail(e, rc, "%s: record of secret '%s' version %u "
		    "fails authentication (corrupted, swapped or tampered)",
		    v->path, name, r->version);
	if (rc != 0)
		return kw_fail(e, rc, "%s: record of secret '%s' version %u: "
		    "AES-256-GCM decryption failed", v->path, name,
		    r->version);
	return 0;
}

/* ---- index entries -------------------------------------------------------- */

/* Decode one record slot of an entry; false when malformed. */
static bool
decode_rec(const unsigned char *p, struct rec *r, bool optional)
{
	memset(r, 0, sizeof(*r));
	r->version = get32(p + R_VERSION);
	if (r->version == 0)
		return optional && all_zero(p, REC_LEN);
	r->len = get32(p + R_LEN);
	r->off = get64(p + R_OFFSET);
	r->made = (int64_t)get64(p + R_MADE);
	memcpy(r->nonce, p + R_NONCE, NONCE_LEN);
	memcpy(r->tag, p + R_TAG, TAG_LEN);
	return r->len >= 1 && r->len <= KW_SECRET_MAX;
}

/* Encode one record slot (all zero when empty). */
static void
encode_rec(unsigned char *p, const struct rec *r)
{
	memset(p, 0, REC_LEN);
	if (r->version == 0)
		return;
	put32(p + R_VERSION, r->version);
	put32(p + R_LEN, r->len);
	put64(p + R_OFFSET, r->off);
	put64(p + R_MADE, (uint64_t)r->made);
	memcpy(p + R_NONCE, r->nonce, NONCE_LEN);
	memcpy(p + R_TAG, r->tag, TAG_LEN);
}

/*
 * Authenticate the raw entry at position pos (of count, generation gen)
 * and decode it into out. KW_ECORRUPT naming the position on failure.
 */
static int
decode_entry(struct kw_vault *v, const unsigned char *raw, uint32_t pos,
    uint32_t count, const unsigned char *gen, struct entry *out,
    struct kw_error *e)
{
	unsigned char mac[MAC_LEN];
	size_t nlen, notelen;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = entry_mac(v, gen, pos, count, raw, mac, e)) != 0)
		return rc;
	if (!kw_ct_equal(mac, raw + E_MAC, MAC_LEN))
		return kw_fail(e, KW_ECORRUPT, "%s: index entry %u of %u fails "
		    "authentication (corrupted, moved, removed or from another "
		    "version of the vault)", v->path, pos, count);
	/* authentic from here: the checks below catch writer bugs */
	nlen = strnlen((const char *)raw + E_NAME, KW_NAME_MAX);
	memcpy(out->name, raw + E_NAME, nlen);
	notelen = (size_t)raw[E_NOTELEN] << 8 | raw[E_NOTELEN + 1];
	if (!kw_name_valid(out->name) ||
	    !all_zero(raw + E_NAME + nlen, KW_NAME_MAX - nlen) ||
	    notelen > KW_NOTE_MAX ||
	    memchr(raw + E_NOTE, '\0', notelen) != NULL ||
	    !all_zero(raw + E_NOTE + notelen, KW_NOTE_MAX - notelen) ||
	    !all_zero(raw + E_RESERVED1, E_REC - E_RESERVED1) ||
	    !all_zero(raw + E_RESERVED2, E_MAC - E_RESERVED2) ||
	    !decode_rec(raw + E_REC, &out->rec[0], false) ||
	    !decode_rec(raw + E_REC + REC_LEN, &out->rec[1], true) ||
	    out->rec[0].version == out->rec[1].version)
		return kw_fail(e, KW_ECORRUPT, "%s: index entry %u is malformed",
		    v->path, pos);
	memcpy(out->note, raw + E_NOTE, notelen);
	out->created = (int64_t)get64(raw + E_CREATED);
	out->max_ttl = get64(raw + E_MAXTTL);
	out->rotate_every = get64(raw + E_ROTEVERY);
	return 0;
}

/* Encode entry en at position pos of count under gen, with its MAC. */
static int
encode_entry(struct kw_vault *v, const struct entry *en, uint32_t pos,
    uint32_t count, const unsigned char *gen, unsigned char *raw,
    struct kw_error *e)
{
	size_t notelen = strlen(en->note);

	memset(raw, 0, ENT_LEN);
	memcpy(raw + E_NAME, en->name, strlen(en->name));
	put64(raw + E_CREATED, (uint64_t)en->created);
	put64(raw + E_MAXTTL, en->max_ttl);
	put64(raw + E_ROTEVERY, en->rotate_every);
	raw[E_NOTELEN] = (unsigned char)(notelen >> 8);
	raw[E_NOTELEN + 1] = (unsigned char)notelen;
	memcpy(raw + E_NOTE, en->note, notelen);
	encode_rec(raw + E_REC, &en->rec[0]);
	encode_rec(raw + E_REC + REC_LEN, &en->rec[1]);
	return entry_mac(v, gen, pos, count, raw, raw + E_MAC, e);
}

/* pread exactly len bytes at off; KW_ECORRUPT on a short file. */
static int
pread_exact(struct kw_vault *v, void *buf, size_t len, uint64_t off,
    struct kw_error *e)
{
	unsigned char *p = buf;
	size_t n = 0;
	ssize_t r;

	while (n < len) {
		r = pread(v->fd, p + n, len - n, (off_t)(off + n));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: read",
			    v->path);
		}
		if (r == 0)
			return kw_fail(e, KW_ECORRUPT, "%s: truncated (ends "
			    "before byte %llu)", v->path,
			    (unsigned long long)(off + len));
		n += (size_t)r;
	}
	return 0;
}

/* Entry i's raw bytes when the bucket in memory holds it, else NULL. */
static const unsigned char *
bucket_raw(const struct kw_vault *v, size_t i)
{
	if (v->bucket == NULL || i < v->bucket_first ||
	    i - v->bucket_first >= v->bucket_n)
		return NULL;
	return v->bucket + (i - v->bucket_first) * ENT_LEN;
}

/* The authenticated entry at index i: from memory (writers) or the file. */
static int
entry_at(struct kw_vault *v, size_t i, struct entry *out, struct kw_error *e)
{
	unsigned char raw[ENT_LEN];
	const unsigned char *p;
	int rc;

	if (v->ents != NULL) {
		if (i >= v->n)
			return kw_fail(e, KW_ENOTFOUND, "no secret number %zu",
			    i);
		*out = v->ents[i];
		return 0;
	}
	if (i >= v->count)
		return kw_fail(e, KW_ENOTFOUND, "no secret number %zu", i);
	if ((p = bucket_raw(v, i)) == NULL) {
		if ((rc = pread_exact(v, raw, ENT_LEN, v->index_off +
		    (uint64_t)i * ENT_LEN, e)) != 0)
			return rc;
		p = raw;
	}
	return decode_entry(v, p, (uint32_t)i, v->count, v->gen, out, e);
}

/*
 * Read the bucket of entries first .. first + n - 1 (at most FENCE_EVERY:
 * 32 KiB) with one pread, unless it is the one in memory already: a
 * session's grants mostly fall in few buckets.
 */
static int
bucket_load(struct kw_vault *v, size_t first, size_t n, struct kw_error *e)
{
	int rc;

	if (v->bucket != NULL && v->bucket_first == first &&
	    v->bucket_n == n)
		return 0;
	if (v->bucket == NULL &&
	    (v->bucket = malloc((size_t)FENCE_EVERY * ENT_LEN)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	v->bucket_n = 0;
	if ((rc = pread_exact(v, v->bucket, n * ENT_LEN, v->index_off +
	    (uint64_t)first * ENT_LEN, e)) != 0)
		return rc;
	v->bucket_first = first;
	v->bucket_n = n;
	return 0;
}

/*
 * strcmp of name (checked: at most KW_NAME_MAX characters) with a raw,
 * NUL-padded 64-byte name field, which need not end in a NUL.
 */
static int
name_cmp(const char *name, const unsigned char *field)
{
	return strncmp(name, (const char *)field, KW_NAME_MAX);
}

/* Entries a reader keeps once found (entry_found()). */
#define FOUND_SLOTS	128

/*
 * Entry i for a reader's search by name: authenticated once per handle and
 * kept (FOUND_SLOTS of them, by position), because a session looks up
 * each granted secret twice, for its max ttl and then to read it. Without
 * memory for the cache, the entry is authenticated every time.
 */
static int
entry_found(struct kw_vault *v, size_t i, struct entry *out,
    struct kw_error *e)
{
	size_t slot = i % FOUND_SLOTS;
	int rc;

	if (v->found_pos != NULL && v->found_pos[slot] == i + 1) {
		*out = v->found[slot];
		return 0;
	}
	if ((rc = entry_at(v, i, out, e)) != 0)
		return rc;
	if (v->found_pos == NULL) {
		v->found_pos = calloc(FOUND_SLOTS, sizeof(*v->found_pos));
		v->found = malloc(FOUND_SLOTS * sizeof(*v->found));
		if (v->found_pos == NULL || v->found == NULL) {
			free(v->found_pos);
			free(v->found);
			v->found_pos = NULL;
			v->found = NULL;
			return 0;
		}
	}
	v->found[slot] = *out;
	v->found_pos[slot] = (uint32_t)i + 1;
	return 0;
}

/*
 * Readers' search: the fence (read once) picks the bucket of at most
 * FENCE_EVERY entries, a binary search inside it finds the position; both
 * only navigate. What is returned is authenticated: the entry found
 * (its MAC binds name, position, count and generation), or for an absence
 * the two authentic neighbours that bracket the name. A lying fence or
 * probe can only end in KW_ECORRUPT, never in a wrong answer.
 */
static int
find_file(struct kw_vault *v, const char *name, size_t *idx, bool *found,
    struct entry *en, struct kw_error *e)
{
	uint64_t flen = FENCE_LEN(v->count), nf = flen / FENCE_NAME;
	size_t lo, hi, mid, n = v->count;
	int c, rc;

	if (n == 0)
		return 0;
	if (v->fence == NULL) {
		if ((v->fence = malloc(flen)) == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		if ((rc = pread_exact(v, v->fence, flen, HDR_LEN, e)) != 0) {
			free(v->fence);
			v->fence = NULL;
			return rc;
		}
	}
	/* the last fence name <= name starts the bucket */
	lo = 0;
	hi = nf;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (name_cmp(name, v->fence + mid * FENCE_NAME) >= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	lo = lo > 0 ? (lo - 1) * FENCE_EVERY : 0;
	hi = lo + FENCE_EVERY < n ? lo + FENCE_EVERY : n;
	if ((rc = bucket_load(v, lo, hi - lo, e)) != 0)
		return rc;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = name_cmp(name, bucket_raw(v, mid) + E_NAME);
		if (c == 0) {
			if ((rc = entry_found(v, mid, en, e)) != 0)
				return rc;
			if (strcmp(en->name, name) != 0)
				goto bad;
			*idx = mid;
			*found = true;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* absent: prove it with the authentic neighbours lo-1 and lo */
	*idx = lo;
	if (lo > 0) {
		if ((rc = entry_at(v, lo - 1, en, e)) != 0)
			return rc;
		if (strcmp(en->name, name) >= 0)
			goto bad;
	}
	if (lo < n) {
		if ((rc = entry_at(v, lo, en, e)) != 0)
			return rc;
		if (strcmp(en->name, name) <= 0)
			goto bad;
	}
	return 0;
bad:
	return kw_fail(e, KW_ECORRUPT, "%s: the index fence or order is "
	    "inconsistent (corrupted or tampered)", v->path);
}

/*
 * Binary search for name. *found says whether it is there; *idx is its
 * position, or where it would be inserted. Every entry touched is
 * authenticated, so two adjacent authentic entries prove an absence.
 */
static int
find(struct kw_vault *v, const char *name, size_t *idx, bool *found,
    struct entry *en, struct kw_error *e)
{
	size_t lo = 0, hi = kw_vault_count(v), mid;
	int c, rc;

	*found = false;
	*idx = 0;
	if (v->ents == NULL)
		return find_file(v, name, idx, found, en, e);
	while (lo < hi) {
		/* writers: the index in memory, authenticated at open */
		mid = lo + (hi - lo) / 2;
		if ((rc = entry_at(v, mid, en, e)) != 0)
			return rc;
		c = strcmp(name, en->name);
		if (c == 0) {
			*idx = mid;
			*found = true;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*idx = lo;
	return 0;
}

/* ---- header ----------------------------------------------------------------- */

/*
 * Check a raw header against the key and the file size: magic, format,
 * key check (KW_EKEY), MAC, sizes. Fills v->gen/count/data_off/file_size.
 */
static int
parse_header(struct kw_vault *v, const unsigned char *h, uint64_t size,
    struct kw_error *e)
{
	unsigned char mac[MAC_LEN];
	uint32_t fmt;
	int rc;

	if (memcmp(h + H_MAGIC, VAULT_MAGIC, MAGIC_LEN) != 0)
		return kw_fail(e, KW_ECORRUPT, "%s: not a keyward vault (bad "
		    "magic)", v->path);
	fmt = get32(h + H_FORMAT);
	if (fmt != VAULT_FORMAT)
		return kw_fail(e, KW_ECORRUPT, "%s: vault format version %u is "
		    "not supported (this keyward reads version %u)", v->path,
		    fmt, VAULT_FORMAT);
	if ((rc = key_check(v, mac, e)) != 0)
		return rc;
	if (!kw_ct_equal(mac, h + H_KEYCHK, KEYCHK_LEN))
		return kw_fail(e, KW_EKEY, "%s: wrong master key (the key does "
		    "not match this vault, or the vault's key check is "
		    "damaged)", v->path);
	if ((rc = mac3(v, h, HDR_MACED, NULL, 0, NULL, 0, mac, e)) != 0)
		return rc;
	if (!kw_ct_equal(mac, h + H_MAC, MAC_LEN))
		return kw_fail(e, KW_ECORRUPT, "%s: header fails authentication "
		    "(corrupted or tampered)", v->path);
	v->count = get32(h + H_COUNT);
	v->file_size = get64(h + H_FILESIZE);
	v->index_off = get64(h + H_INDEXOFF);
	v->data_off = get64(h + H_DATAOFF);
	memcpy(v->gen, h + H_GEN, GEN_LEN);
	if (get32(h + H_ENTLEN) != ENT_LEN || get32(h + H_FLAGS) != 0 ||
	    !all_zero(h + H_RESERVED, HDR_MACED - H_RESERVED) ||
	    v->count > VAULT_MAX_COUNT ||
	    v->index_off != HDR_LEN + FENCE_LEN(v->count) ||
	    v->data_off != v->index_off + (uint64_t)v->count * ENT_LEN ||
	    v->file_size < v->data_off)
		return kw_fail(e, KW_ECORRUPT, "%s: header is malformed",
		    v->path);
	if (v->file_size != size)
		return kw_fail(e, KW_ECORRUPT, "%s: is %llu bytes, the header "
		    "says %llu (truncated or extended)", v->path,
		    (unsigned long long)size,
		    (unsigned long long)v->file_size);
	return 0;
}

/* Encode the header for count entries, gen, size into h (with MAC). */
static int
encode_header(struct kw_vault *v, unsigned char *h, uint32_t count,
    uint64_t size, const unsigned char *gen, struct kw_error *e)
{
	unsigned char chk[MAC_LEN];
	int rc;

	memset(h, 0, HDR_LEN);
	memcpy(h + H_MAGIC, VAULT_MAGIC, MAGIC_LEN);
	put32(h + H_FORMAT, VAULT_FORMAT);
	put32(h + H_ENTLEN, ENT_LEN);
	put32(h + H_COUNT, count);
	put64(h + H_FILESIZE, size);
	put64(h + H_INDEXOFF, HDR_LEN + FENCE_LEN(count));
	put64(h + H_DATAOFF, HDR_LEN + FENCE_LEN(count) +
	    (uint64_t)count * ENT_LEN);
	memcpy(h + H_GEN, gen, GEN_LEN);
	if ((rc = key_check(v, chk, e)) != 0)
		return rc;
	memcpy(h + H_KEYCHK, chk, KEYCHK_LEN);
	return mac3(v, h, HDR_MACED, NULL, 0, NULL, 0, h + H_MAC, e);
}

/* ---- open, close ------------------------------------------------------------ */

/* A new vault object for path with keys from key (no file opened). */
static int
vault_new(const char *path, const unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_vault **out, struct kw_error *e)
{
	struct kw_vault *v;
	int rc;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	v->fd = -1;
	v->lock_fd = -1;
	if ((rc = kw_snprintf(v->path, sizeof(v->path), e, "%s", path)) != 0 ||
	    (rc = crypto_init(v, key, e)) != 0) {
		kw_vault_close(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* Free the writer's in-memory copy of the index. */
static void
free_ents(struct kw_vault *v)
{
	size_t i;
	int j;

	for (i = 0; i < v->n; i++)
		for (j = 0; j < 2; j++)
			free(v->ents[i].rec[j].own);
	free(v->ents);
	v->ents = NULL;
	v->n = v->cap = 0;
}

/* Close a vault and wipe its keys. */
void
kw_vault_close(struct kw_vault *v)
{
	if (v == NULL)
		return;
	free_ents(v);
	free(v->img);
	free(v->fence);
	free(v->bucket);
	free(v->win);
	free(v->found_pos);
	free(v->found);
	EVP_CIPHER_CTX_free(v->dctx);	/* cleanses the key schedule */
	EVP_MAC_CTX_free(v->mctx);
	EVP_CIPHER_free(v->cipher);
	if (v->fd >= 0)
		close(v->fd);
	if (v->lock_fd >= 0)
		close(v->lock_fd);	/* releases the flock */
	kw_wipe(v->enc_key, sizeof(v->enc_key));
	kw_wipe(v->mac_key, sizeof(v->mac_key));
	free(v);
}

/*
 * The first read of a file: the header and, for vaults of up to 3,968
 * secrets, the whole fence after it, which a reader's first search would
 * otherwise read with a pread of its own.
 */
#define FIRST_READ	4096

/* Open the file and check its header (readers, with the fence, and
 * writers, which read the whole file next). */
static int
open_file(struct kw_vault *v, bool reader, struct kw_error *e)
{
	unsigned char h[FIRST_READ];
	uint64_t flen;
	size_t n;
	struct stat st;
	int rc;

	if ((rc = kw_safe_open(v->path, KW_SAFE_SECRET, 0, &v->fd, &st,
	    e)) != 0)
		return rc;
	if (st.st_size < HDR_LEN)
		return kw_fail(e, KW_ECORRUPT, "%s: truncated (%lld bytes, "
		    "shorter than the %d-byte header)", v->path,
		    (long long)st.st_size, HDR_LEN);
	n = !reader ? HDR_LEN : st.st_size < FIRST_READ ?
	    (size_t)st.st_size : FIRST_READ;
	if ((rc = pread_exact(v, h, n, 0, e)) != 0 ||
	    (rc = parse_header(v, h, (uint64_t)st.st_size, e)) != 0)
		return rc;
	/* navigation only, as when find_file() reads it: entries are
	 * authenticated; the file under a handle never changes (writers
	 * rename), so these bytes are the ones a later pread would get */
	flen = FENCE_LEN(v->count);
	if (reader && flen > 0 && HDR_LEN + flen <= n &&
	    (v->fence = malloc((size_t)flen)) != NULL)
		memcpy(v->fence, h + HDR_LEN, (size_t)flen);
	return 0;
}

/* Open a vault for reading: header checked, entries checked when read. */
int
kw_vault_open(const char *path, const unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_vault **out, struct kw_error *e)
{
	struct kw_vault *v = NULL;
	int rc;

	*out = NULL;
	if ((rc = vault_new(path, key, &v, e)) != 0)
		return rc;
	if ((rc = open_file(v, true, e)) != 0) {
		kw_vault_close(v);
		return rc;
	}
	*out = v;
	return 0;
}

/*
 * Check a whole file image: header, every entry (MAC, strict name order),
 * the record layout (contiguous, in index order, ending at the end of the
 * file) and every record's GCM tag. With load, the decoded entries become
 * the writer's in-memory index (ciphertexts pointing into img).
 */
static int
verify_image(struct kw_vault *v, const unsigned char *img, size_t len,
    bool load, struct kw_error *e)
{
	struct entry en, prev;
	const unsigned char *raw;
	unsigned char *pt = NULL;
	uint64_t expect;
	uint32_t i;
	int j, rc;

	if (len < HDR_LEN)
		return kw_fail(e, KW_ECORRUPT, "%s: truncated", v->path);
	if ((rc = parse_header(v, img, len, e)) != 0)
		return rc;
	if ((pt = malloc(KW_SECRET_MAX)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	if (load) {
		free_ents(v);
		v->cap = v->count > 0 ? v->count : 1;
		if ((v->ents = calloc(v->cap, sizeof(*v->ents))) == NULL) {
			rc = kw_fail(e, KW_ENOMEM, "out of memory");
			goto out;
		}
	}
	memset(&prev, 0, sizeof(prev));
	expect = v->data_off;
	for (i = 0; i < v->count; i++) {
		raw = img + v->index_off + (size_t)i * ENT_LEN;
		rc = decode_entry(v, raw, i, v->count, v->gen, &en, e);
		if (rc != 0)
			goto out;
		if (i % FENCE_EVERY == 0 && memcmp(img + HDR_LEN + (size_t)(i /
		    FENCE_EVERY) * FENCE_NAME, raw + E_NAME, FENCE_NAME) != 0) {
			rc = kw_fail(e, KW_ECORRUPT, "%s: index fence %u does "
			    "not match entry %u", v->path, i / FENCE_EVERY, i);
			goto out;
		}
		if (i > 0 && strcmp(prev.name, en.name) >= 0) {
			rc = kw_fail(e, KW_ECORRUPT, "%s: index entries %u and "
			    "%u are out of order", v->path, i - 1, i);
			goto out;
		}
		for (j = 0; j < 2; j++) {
			if (en.rec[j].version == 0)
				continue;
			if (en.rec[j].off != expect ||
			    en.rec[j].len > len - expect) {
				rc = kw_fail(e, KW_ECORRUPT, "%s: record of "
				    "secret '%s' version %u is misplaced",
				    v->path, en.name, en.rec[j].version);
				goto out;
			}
			rc = open_record(v, en.name, &en.rec[j], img + expect,
			    pt, e);
			kw_wipe(pt, en.rec[j].len);
			if (rc != 0)
				goto out;
			en.rec[j].ct = img + expect;
			expect += en.rec[j].len;
		}
		if (load)
			v->ents[v->n++] = en;
		prev = en;
	}
	if (expect != len) {
		rc = kw_fail(e, KW_ECORRUPT, "%s: %llu unexpected bytes after "
		    "the last record", v->path,
		    (unsigned long long)(len - expect));
		goto out;
	}
	rc = 0;
out:
	free(pt);
	if (rc != 0 && load)
		free_ents(v);
	return rc;
}

/* Read the whole file the vault was opened on into a heap buffer. */
static int
read_image(struct kw_vault *v, unsigned char **img, size_t *len,
    struct kw_error *e)
{
	unsigned char *b;
	int rc;

	*img = NULL;
	*len = 0;
	if (v->file_size > SIZE_MAX)
		return kw_fail(e, KW_ETOOBIG, "%s: too big", v->path);
	if ((b = malloc(v->file_size)) == NULL)
		return kw_fail(e, KW_ENOMEM, "%s: out of memory", v->path);
	if ((rc = pread_exact(v, b, v->file_size, 0, e)) != 0) {
		free(b);
		return rc;
	}
	*img = b;
	*len = v->file_size;
	return 0;
}

/*
 * Remove the temporary files "<vault>.tmp.XXXXXX" that writers killed
 * before their rename left behind. Called with the lock held, when no
 * other writer can be between mkstemp and rename.
 */
static void
remove_stale_temps(const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX], prefix[PATH_MAX];
	struct dirent *d;
	struct stat st;
	size_t plen;
	DIR *dp;
	int dfd;

	if (strlen(path) >= sizeof(dir))
		return;
	strcpy(dir, path);
	strcpy(base, path);
	if (snprintf(prefix, sizeof(prefix), "%s.tmp.", basename(base)) >=
	    (int)sizeof(prefix))
		return;
	plen = strlen(prefix);
	if ((dp = opendir(dirname(dir))) == NULL)
		return;
	dfd = dirfd(dp);
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, prefix, plen) != 0 ||
		    strlen(d->d_name) != plen + 6)
			continue;
		if (fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			unlinkat(dfd, d->d_name, 0);
	}
	closedir(dp);
}

/* Take the writers' lock "<vault>.lock" (blocking). */
static int
take_lock(struct kw_vault *v, struct kw_error *e)
{
	char lock[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = kw_snprintf(lock, sizeof(lock), e, "%s.lock", v->path)) != 0)
		return kw_error_prefix(e, "%s", v->path);
	v->lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (v->lock_fd < 0)
		return kw_fail_errno(e, errno == ELOOP ? KW_EUNSAFE :
		    KW_ESYSTEM, errno, "%s", lock);
	if (fstat(v->lock_fd, &st) < 0)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fstat", lock);
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()))
		return kw_fail(e, KW_EUNSAFE, "%s: not a regular file owned by "
		    "root", lock);
	while (flock(v->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return kw_fail_errno(e, KW_ESYSTEM, errno,
			    "%s: flock", lock);
	}
	return 0;
}

/* Open for a change: lock, clean up, load and verify everything. */
int
kw_vault_open_locked(const char *path,
    const unsigned char key[KW_MASTER_KEY_LEN], struct kw_vault **out,
    struct kw_error *e)
{
	struct kw_vault *v = NULL;
	int rc;

	*out = NULL;
	if ((rc = vault_new(path, key, &v, e)) != 0)
		return rc;
	if ((rc = take_lock(v, e)) != 0)
		goto out;
	remove_stale_temps(v->path);
	if ((rc = open_file(v, false, e)) != 0 ||
	    (rc = read_image(v, &v->img, &v->img_len, e)) != 0 ||
	    (rc = verify_image(v, v->img, v->img_len, true, e)) != 0)
		goto out;
	*out = v;
	v = NULL;
out:
	kw_vault_close(v);
	return rc;
}

/* Create an empty vault; KW_EEXIST if something is at path. */
int
kw_vault_create(const char *path, const unsigned char key[KW_MASTER_KEY_LEN],
    struct kw_error *e)
{
	unsigned char h[HDR_LEN], gen[GEN_LEN];
	struct kw_vault *v = NULL;
	int rc;

	if ((rc = vault_new(path, key, &v, e)) != 0)
		return rc;
	if ((rc = kw_random(gen, sizeof(gen), e)) != 0 ||
	    (rc = encode_header(v, h, 0, HDR_LEN, gen, e)) != 0)
		goto out;
	rc = kw_atomic_write(path, h, HDR_LEN, 0600, KW_WRITE_EXCL, e);
out:
	kw_vault_close(v);
	return rc;
}

/* ---- reading -------------------------------------------------------------------- */

/* Verify everything: every header and index byte and every record. */
int
kw_vault_verify(struct kw_vault *v, struct kw_error *e)
{
	unsigned char *img = NULL;
	size_t len = 0;
	int rc;

	if (v->img != NULL)
		return verify_image(v, v->img, v->img_len, false, e);
	if ((rc = read_image(v, &img, &len, e)) != 0)
		return rc;
	rc = verify_image(v, img, len, false, e);
	free(img);
	return rc;
}

/* Number of secrets. */
size_t
kw_vault_count(const struct kw_vault *v)
{
	return v->ents != NULL ? v->n : v->count;
}

/* Copy the public part of an entry. */
static void
fill_info(const struct entry *en, struct kw_secret_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->name, en->name, sizeof(out->name));
	out->version = en->rec[0].version;
	out->prev_version = en->rec[1].version;
	out->created = en->created;
	out->rotated = en->rec[0].made;
	out->max_ttl = en->max_ttl;
	out->rotate_every = en->rotate_every;
	memcpy(out->note, en->note, sizeof(out->note));
}

/* Info of the i-th secret in name order. */
int
kw_vault_info_at(struct kw_vault *v, size_t i, struct kw_secret_info *out,
    struct kw_error *e)
{
	struct entry en;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = entry_at(v, i, &en, e)) != 0)
		return rc;
	fill_info(&en, out);
	return 0;
}

/* Info of a secret by name. */
int
kw_vault_info(struct kw_vault *v, const char *name,
    struct kw_secret_info *out, struct kw_error *e)
{
	struct entry en;
	size_t idx;
	bool found;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = kw_name_check(name, e)) != 0)
		return rc;
	if ((rc = find(v, name, &idx, &found, &en, e)) != 0)
		return rc;
	if (!found)
		return kw_fail(e, KW_ENOTFOUND, "%s: no secret '%s'", v->path,
		    name);
	fill_info(&en, out);
	return 0;
}

/* How much ciphertext a reader reads at once, from its second read on. */
#define READ_AHEAD (16 * 1024)

/*
 * The len bytes of ciphertext at off (checked to lie in the data), for a
 * reader: *p points into the read-ahead window. The first read takes just
 * the record (a session of one secret reads no more than it needs); from
 * the second on, a miss reads READ_AHEAD bytes from off. The records lie
 * in name order, the order in which a session reads its grants, so the
 * secrets of a session mostly come from one pread() instead of one each.
 * Ciphertext only: the window holds nothing in the clear. The file a
 * handle reads never changes (writers replace it by rename).
 */
static int
data_read(struct kw_vault *v, uint64_t off, size_t len,
    const unsigned char **p, struct kw_error *e)
{
	size_t want = len;
	unsigned char *nw;
	int rc;

	if (v->win != NULL && off >= v->win_off &&
	    off - v->win_off <= v->win_len &&
	    len <= v->win_len - (off - v->win_off)) {
		*p = v->win + (off - v->win_off);
		return 0;
	}
	if (v->n_reads++ > 0 && want < READ_AHEAD)
		want = v->file_size - off < READ_AHEAD ?
		    (size_t)(v->file_size - off) : READ_AHEAD;
	if (want > v->win_cap) {
		if ((nw = realloc(v->win, want)) == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		v->win = nw;
		v->win_cap = want;
	}
	v->win_len = 0;
	if ((rc = pread_exact(v, v->win, want, off, e)) != 0)
		return rc;
	v->win_off = off;
	v->win_len = want;
	*p = v->win;
	return 0;
}

/* Decrypt one version (0 = current) of one secret. */
int
kw_vault_get(struct kw_vault *v, const char *name, uint32_t version,
    struct kw_secret **out, struct kw_error *e)
{
	struct kw_secret *s = NULL;
	const unsigned char *src = NULL;
	const struct rec *r;
	struct entry en;
	size_t idx;
	bool found;
	int rc;

	*out = NULL;
	if ((rc = kw_name_check(name, e)) != 0)
		return rc;
	if ((rc = find(v, name, &idx, &found, &en, e)) != 0)
		return rc;
	if (!found)
		return kw_fail(e, KW_ENOTFOUND, "%s: no secret '%s'", v->path,
		    name);
	if (version == 0 || en.rec[0].version == version)
		r = &en.rec[0];
	else if (en.rec[1].version != 0 && en.rec[1].version == version)
		r = &en.rec[1];
	else
		return kw_fail(e, KW_ENOTFOUND, "%s: secret '%s' has no "
		    "version %u (kept: %u%s)", v->path, name, version,
		    en.rec[0].version, en.rec[1].version != 0 ? " and older" :
		    "");
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->data = malloc((size_t)r->len + 1)) == NULL) {
		rc = kw_fail(e, KW_ENOMEM, "out of memory");
		goto out;
	}
	if (r->ct != NULL) {
		src = r->ct;
	} else {
		if (r->off < v->data_off || r->off > v->file_size ||
		    r->len > v->file_size - r->off) {
			rc = kw_fail(e, KW_ECORRUPT, "%s: record of secret "
			    "'%s' is misplaced", v->path, name);
			goto out;
		}
		if ((rc = data_read(v, r->off, r->len, &src, e)) != 0)
			goto out;
	}
	if ((rc = open_record(v, name, r, src, s->data, e)) != 0)
		goto out;
	s->data[r->len] = '\0';
	s->len = r->len;
	s->version = r->version;
	*out = s;
	s = NULL;
out:
	if (s != NULL) {
		if (s->data != NULL)
			kw_freezero(s->data, (size_t)r->len + 1);
		free(s);
	}
	return rc;
}

/* Wipe and free a decrypted secret. */
void
kw_secret_free(struct kw_secret *s)
{
	if (s == NULL)
		return;
	kw_freezero(s->data, s->len + 1);
	kw_freezero(s, sizeof(*s));
}

/* ---- changes ----------------------------------------------------------------- */

/* Fail unless v was opened with kw_vault_open_locked(). */
static int
need_writer(struct kw_vault *v, struct kw_error *e)
{
	if (v->lock_fd < 0 || v->ents == NULL)
		return kw_fail(e, KW_EINTERNAL, "%s: vault not opened for "
		    "writing", v->path);
	return 0;
}

/* Check a value's size. */
static int
value_check(size_t len, struct kw_error *e)
{
	if (len == 0)
		return kw_fail(e, KW_EINVAL, "empty value");
	if (len > KW_SECRET_MAX)
		return kw_fail(e, KW_ETOOBIG, "value is longer than %d bytes "
		    "(the kernel's limit for a user key)", KW_SECRET_MAX);
	return 0;
}

/* Encrypt value as version of name into a fresh record r. */
static int
make_rec(struct kw_vault *v, const char *name, uint32_t version,
    const unsigned char *value, size_t len, struct rec *r,
    struct kw_error *e)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if ((r->own = malloc(len)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	if ((rc = seal(v, name, version, value, len, r->own, r->nonce, r->tag,
	    e)) != 0) {
		free(r->own);
		r->own = NULL;
		return rc;
	}
	r->ct = r->own;
	r->version = version;
	r->len = (uint32_t)len;
	r->made = (int64_t)time(NULL);
	return 0;
}

/* Check a note: at most KW_NOTE_MAX bytes of printable text. */
static int
note_check(const char *note, struct kw_error *e)
{
	const unsigned char *p;

	if (strlen(note) > KW_NOTE_MAX)
		return kw_fail(e, KW_ETOOBIG, "note is longer than %d bytes",
		    KW_NOTE_MAX);
	for (p = (const unsigned char *)note; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return kw_fail(e, KW_EINVAL, "note contains a control "
			    "character");
	return 0;
}

/* Add a new secret as version 1. */
int
kw_vault_add(struct kw_vault *v, const char *name,
    const unsigned char *value, size_t len, const struct kw_add_opts *opts,
    struct kw_error *e)
{
	struct entry en, *grown;
	size_t idx;
	bool found;
	int rc;

	if ((rc = need_writer(v, e)) != 0 ||
	    (rc = kw_name_check(name, e)) != 0 ||
	    (rc = value_check(len, e)) != 0)
		return rc;
	if (opts != NULL && opts->note != NULL &&
	    (rc = note_check(opts->note, e)) != 0)
		return rc;
	if (opts != NULL && (opts->max_ttl > KW_DURATION_MAX ||
	    opts->rotate_every > KW_DURATION_MAX))
		return kw_fail(e, KW_EINVAL, "duration out of range");
	if ((rc = find(v, name, &idx, &found, &en, e)) != 0)
		return rc;
	if (found)
		return kw_fail(e, KW_EEXIST, "secret '%s' already exists",
		    name);
	if (v->n >= VAULT_MAX_COUNT)
		return kw_fail(e, KW_ETOOBIG, "%s: the vault is full (%u "
		    "secrets)", v->path, VAULT_MAX_COUNT);
	if (v->n == v->cap) {
		grown = realloc(v->ents, v->cap * 2 * sizeof(*v->ents));
		if (grown == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		v->ents = grown;
		v->cap *= 2;
	}
	memset(&en, 0, sizeof(en));
	strcpy(en.name, name);
	if (opts != NULL) {
		en.max_ttl = opts->max_ttl;
		en.rotate_every = opts->rotate_every;
		if (opts->note != NULL)
			strcpy(en.note, opts->note);
	}
	if ((rc = make_rec(v, name, 1, value, len, &en.rec[0], e)) != 0)
		return rc;
	en.created = en.rec[0].made;
	memmove(&v->ents[idx + 1], &v->ents[idx],
	    (v->n - idx) * sizeof(*v->ents));
	v->ents[idx] = en;
	v->n++;
	return 0;
}

/* Look a secret up in the writer's index; KW_ENOTFOUND if absent. */
static int
writer_find(struct kw_vault *v, const char *name, struct entry **out,
    struct kw_error *e)
{
	struct entry en;
	size_t idx;
	bool found;
	int rc;

	*out = NULL;
	if ((rc = need_writer(v, e)) != 0 ||
	    (rc = kw_name_check(name, e)) != 0 ||
	    (rc = find(v, name, &idx, &found, &en, e)) != 0)
		return rc;
	if (!found)
		return kw_fail(e, KW_ENOTFOUND, "%s: no secret '%s'", v->path,
		    name);
	*out = &v->ents[idx];
	return 0;
}

/* Store a new current version; the current one becomes the previous. */
int
kw_vault_rotate(struct kw_vault *v, const char *name,
    const unsigned char *value, size_t len, struct kw_error *e)
{
	struct entry *en;
	struct rec r;
	uint32_t next;
	int rc;

	if ((rc = writer_find(v, name, &en, e)) != 0 ||
	    (rc = value_check(len, e)) != 0)
		return rc;
	next = en->rec[0].version > en->rec[1].version ?
	    en->rec[0].version : en->rec[1].version;
	if (next == UINT32_MAX)
		return kw_fail(e, KW_ETOOBIG, "secret '%s': no version numbers "
		    "left", name);
	if ((rc = make_rec(v, name, next + 1, value, len, &r, e)) != 0)
		return rc;
	free(en->rec[1].own);
	en->rec[1] = en->rec[0];
	en->rec[0] = r;
	return 0;
}

/* Swap current and previous: the previous version is current again. */
int
kw_vault_rollback(struct kw_vault *v, const char *name, struct kw_error *e)
{
	struct entry *en;
	struct rec r;
	int rc;

	if ((rc = writer_find(v, name, &en, e)) != 0)
		return rc;
	if (en->rec[1].version == 0)
		return kw_fail(e, KW_ENOTFOUND, "secret '%s' has no previous "
		    "version to roll back to", name);
	r = en->rec[0];
	en->rec[0] = en->rec[1];
	en->rec[1] = r;
	return 0;
}

/* Remove a secret and all its versions. */
int
kw_vault_remove(struct kw_vault *v, const char *name, struct kw_error *e)
{
	struct entry *en;
	size_t idx;
	int rc;

	if ((rc = writer_find(v, name, &en, e)) != 0)
		return rc;
	idx = (size_t)(en - v->ents);
	free(en->rec[0].own);
	free(en->rec[1].own);
	memmove(&v->ents[idx], &v->ents[idx + 1],
	    (v->n - idx - 1) * sizeof(*v->ents));
	v->n--;
	return 0;
}

/* Serialize the writer's index with a fresh generation and replace the
 * file atomically. */
int
kw_vault_commit(struct kw_vault *v, struct kw_error *e)
{
	unsigned char gen[GEN_LEN], *buf = NULL, *p;
	uint64_t size, off, index_off;
	size_t i;
	int j, rc;

	if ((rc = need_writer(v, e)) != 0)
		return rc;
	index_off = HDR_LEN + FENCE_LEN(v->n);
	size = index_off + (uint64_t)v->n * ENT_LEN;
	for (i = 0; i < v->n; i++)
		for (j = 0; j < 2; j++)
			size += v->ents[i].rec[j].len;
	if (size > SIZE_MAX)
		return kw_fail(e, KW_ETOOBIG, "%s: too big", v->path);
	if ((rc = kw_random(gen, sizeof(gen), e)) != 0)
		return rc;
	if ((buf = malloc(size)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	memset(buf + HDR_LEN, 0, FENCE_LEN(v->n));
	off = index_off + (uint64_t)v->n * ENT_LEN;
	for (i = 0; i < v->n; i++) {
		for (j = 0; j < 2; j++) {
			struct rec *r = &v->ents[i].rec[j];

			if (r->version == 0)
				continue;
			r->off = off;
			memcpy(buf + off, r->ct, r->len);
			off += r->len;
		}
		p = buf + index_off + i * ENT_LEN;
		if ((rc = encode_entry(v, &v->ents[i], (uint32_t)i,
		    (uint32_t)v->n, gen, p, e)) != 0)
			goto out;
		if (i % FENCE_EVERY == 0)
			memcpy(buf + HDR_LEN + (i / FENCE_EVERY) * FENCE_NAME,
			    p + E_NAME, FENCE_NAME);
	}
	if ((rc = encode_header(v, buf, (uint32_t)v->n, size, gen, e)) != 0)
		goto out;
	rc = kw_atomic_write(v->path, buf, size, 0600, 0, e);
out:
	free(buf);
	return rc;
}

/* The path the vault was opened with. */
const char *
kw_vault_path(const struct kw_vault *v)
{
	return v->path;
}
