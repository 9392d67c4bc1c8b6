/*
 * fuzz_duration.c - fuzz target: duration parsing and formatting. A parsed
 * duration must format and parse back to the same number of seconds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kw_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_error e;
	uint64_t secs, again;
	char text[64], buf[64];

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (kw_duration_parse(text, &secs, &e) != 0)
		return 0;
	kw_duration_format(secs, buf, sizeof(buf));
	if (kw_duration_parse(buf, &again, &e) != 0 || again != secs)
		abort();
	return 0;
}
