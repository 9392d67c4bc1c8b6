/*
 * fuzz_config.c - fuzz target: the keyward.conf parser.
 */
#include "config.h"

#include "fuzz.h"
#include "kw_config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_config cfg;
	struct kw_error e;

	if (kw_config_defaults(&cfg, "/etc/keyward/keyward.conf", NULL, &e) != 0)
		return 0;
	(void)kw_config_parse(&cfg, "fuzz.conf", (const char *)data, size, &e);
	kw_config_free(&cfg);
	return 0;
}
