/*
 * vault-tool.c - a test helper for the vault shell tests, built on the
 * core library (never installed):
 *
 *   vault-tool peek CONF NAME [VERSION]   print "VERSION LEN SHA256" of a
 *                                         value (never the value)
 *   vault-tool fill CONF PREFIX N         add PREFIX-00000.. in one commit
 *
 * CONF is the keyward.conf of a staging root.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kw_config.h"
#include "vault.h"

/* Print the SHA-256 of len bytes at p in hex. */
static void
print_sha256(const unsigned char *p, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		exit(2);
	for (i = 0; i < mdlen; i++)
		printf("%02x", md[i]);
}

/* peek or fill; exit 0, 1 on a vault error, 2 on usage. */
int
main(int argc, char **argv)
{
	unsigned char key[KW_MASTER_KEY_LEN];
	struct kw_config cfg;
	struct kw_vault *v = NULL;
	struct kw_secret *s = NULL;
	struct kw_error e;
	uint64_t n = 0, i, version = 0;
	char name[128], value[64];

	kw_error_clear(&e);
	if (argc < 4 || (strcmp(argv[1], "peek") != 0 &&
	    strcmp(argv[1], "fill") != 0)) {
		fprintf(stderr, "usage: vault-tool peek CONF NAME [VERSION] | "
		    "fill CONF PREFIX N\n");
		return 2;
	}
	if (kw_config_load(&cfg, argv[2], &e) != 0 ||
	    kw_master_key_load(cfg.master_key, key, &e) != 0)
		goto fail;
	if (strcmp(argv[1], "peek") == 0) {
		if (argc > 4 && kw_parse_u64(argv[4], 0, UINT32_MAX, &version,
		    &e) != 0)
			goto fail;
		if (kw_vault_open(cfg.vault, key, &v, &e) != 0 ||
		    kw_vault_get(v, argv[3], (uint32_t)version, &s, &e) != 0)
			goto fail;
		printf("%u %zu ", s->version, s->len);
		print_sha256(s->data, s->len);
		printf("\n");
		kw_secret_free(s);
	} else {
		if (argc != 5 || kw_parse_u64(argv[4], 1, 100000, &n, &e) != 0)
			goto fail;
		if (kw_vault_open_locked(cfg.vault, key, &v, &e) != 0)
			goto fail;
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%.40s-%05llu", argv[3],
			    (unsigned long long)i);
			snprintf(value, sizeof(value), "fill-value-%llu",
			    (unsigned long long)i);
			if (kw_vault_add(v, name, (const unsigned char *)value,
			    strlen(value), NULL, &e) != 0)
				goto fail;
		}
		if (kw_vault_commit(v, &e) != 0)
			goto fail;
	}
	kw_vault_close(v);
	kw_config_free(&cfg);
	return 0;
fail:
	fprintf(stderr, "vault-tool: %s\n", kw_error_text(&e));
	kw_vault_close(v);
	kw_config_free(&cfg);
	return 1;
}
