/*
 * fuzz_duration.c - fuzz target: duration and time-window parsing. An input
 * starting with 'w' is a time window ([DAYS/]HH:MM-HH:MM), evaluated at a
 * few fixed moments; anything else is a duration, which must format and
 * parse back to the same number of seconds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "kw_util.h"
#include "policy_int.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const time_t moments[] = { 0, 1795773600, 1796000000 };
	struct pol_window w;
	struct kw_error e;
	uint64_t secs, again, left;
	char text[128], buf[64];
	struct tm tm;
	size_t i;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (size > 0 && text[0] == 'w') {
		if (pol_window_parse(text + 1, &w, &e) != 0)
			return 0;
		for (i = 0; i < sizeof(moments) / sizeof(moments[0]); i++) {
			if (localtime_r(&moments[i], &tm) == NULL)
				abort();
			if (pol_windows_match(&w, 1, &tm, moments[i], &left) &&
			    left > 8 * 86400)
				abort();	/* no window is longer */
		}
		return 0;
	}
	if (kw_duration_parse(text, &secs, &e) != 0)
		return 0;
	kw_duration_format(secs, buf, sizeof(buf));
	if (kw_duration_parse(buf, &again, &e) != 0 || again != secs)
		abort();
	return 0;
}
