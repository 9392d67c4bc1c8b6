/*
 * fuzz_vault.c - fuzz target: the vault reader (header, fence, index and
 * records) under a fixed test key. The input is written to a private file
 * and opened, looked up and fully verified the way keyward and the PAM
 * module do. Seeds: fuzz/corpus/vault/, made by fuzz/gen_vault_seeds.c.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "vault.h"

/* The fixed key of the fuzz corpus (never a real key). */
const unsigned char kw_fuzz_vault_key[KW_MASTER_KEY_LEN] = {
	0x6b, 0x65, 0x79, 0x77, 0x61, 0x72, 0x64, 0x2d,
	0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79,
	0x6b, 0x65, 0x79, 0x77, 0x61, 0x72, 0x64, 0x2d,
	0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79,
};

#ifndef KW_FUZZ_NO_ENTRY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct kw_secret_info info;
	struct kw_secret *s = NULL;
	struct kw_vault *v = NULL;
	struct kw_error e;
	size_t i, n;
	int fd;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/kw-fuzz-vault.%ld",
		    (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (kw_write_all(fd, data, size) != 0)
		abort();
	close(fd);
	if (kw_vault_open(path, kw_fuzz_vault_key, &v, &e) == 0) {
		/* the lookups the PAM module makes, then the full check */
		(void)kw_vault_info(v, "openai-prod", &info, &e);
		if (kw_vault_get(v, "openai-prod", 0, &s, &e) == 0)
			kw_secret_free(s);
		(void)kw_vault_info(v, "zzz-absent", &info, &e);
		if (kw_vault_verify(v, &e) == 0) {
			n = kw_vault_count(v);
			for (i = 0; i < n && i < 64; i++) {
				if (kw_vault_info_at(v, i, &info, &e) != 0)
					abort();	/* verified: must read */
				if (kw_vault_get(v, info.name, 0, &s, &e) != 0)
					abort();
				kw_secret_free(s);
			}
		}
		kw_vault_close(v);
	}
	unlink(path);
	return 0;
}
#endif /* KW_FUZZ_NO_ENTRY */
