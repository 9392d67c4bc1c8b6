/*
 * gen_vault_seeds.c - writes the seed vaults of the vault fuzz target under
 * its fixed key: empty, one secret, two versions, many secrets (crossing a
 * fence block). Run by hand: gen_vault_seeds DIR.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vault.h"

extern const unsigned char kw_fuzz_vault_key[KW_MASTER_KEY_LEN];

/* Make DIR/name with n secrets (and a rotation when rotate). */
static int
make(const char *dir, const char *name, int n, int rotate)
{
	struct kw_add_opts opts = { 3600, 86400, "fuzz seed" };
	struct kw_vault *v = NULL;
	struct kw_error e;
	char path[512], sname[64], value[64];
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	if (kw_vault_create(path, kw_fuzz_vault_key, &e) != 0 ||
	    kw_vault_open_locked(path, kw_fuzz_vault_key, &v, &e) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (i == 0)
			snprintf(sname, sizeof(sname), "openai-prod");
		else
			snprintf(sname, sizeof(sname), "secret-%03d", i);
		snprintf(value, sizeof(value), "seed-value-%d", i);
		if (kw_vault_add(v, sname, (const unsigned char *)value,
		    strlen(value), &opts, &e) != 0)
			goto fail;
	}
	if (rotate && kw_vault_rotate(v, "openai-prod",
	    (const unsigned char *)"rotated", 7, &e) != 0)
		goto fail;
	if (kw_vault_commit(v, &e) != 0)
		goto fail;
	kw_vault_close(v);
	return 0;
fail:
	fprintf(stderr, "gen_vault_seeds: %s: %s\n", path, kw_error_text(&e));
	kw_vault_close(v);
	return 1;
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_vault_seeds DIR\n");
		return 2;
	}
	return make(argv[1], "empty", 0, 0) | make(argv[1], "one", 1, 0) |
	    make(argv[1], "rotated", 1, 1) | make(argv[1], "three", 3, 1) |
	    make(argv[1], "seventy", 70, 1);
}
