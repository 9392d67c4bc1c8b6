/*
 * timewin.c - time= windows of the policy language: "[DAYS/]HH:MM-HH:MM",
 * parsed once into a day mask and two minutes of the day, evaluated in
 * local time. A window whose end is before its start crosses midnight and
 * belongs to the day it starts on.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "policy_int.h"

#define ALL_DAYS 0x7f

/* Day names in tm_wday order. */
static const char *const day_names[7] = {
	"Su", "Mo", "Tu", "We", "Th", "Fr", "Sa",
};

/* The tm_wday of a two-letter day name at s, or -1. */
static int
day_index(const char *s)
{
	int i;

	for (i = 0; i < 7; i++)
		if (s[0] == day_names[i][0] && s[1] == day_names[i][1])
			return i;
	return -1;
}

/*
 * Parse the DAYS part (len bytes at s): '+'-joined terms, each a day or a
 * range "A-B" (which wraps past Su). Sets *mask; 0 or KW_EINVAL.
 */
static int
parse_days(const char *s, size_t len, const char *item, uint8_t *mask,
    struct kw_error *e)
{
	const char *p = s, *end = s + len;
	int a, b;

	*mask = 0;
	for (;;) {
		if (end - p < 2 || (a = day_index(p)) < 0)
			goto bad;
		p += 2;
		b = a;
		if (p < end && *p == '-') {
			p++;
			if (end - p < 2 || (b = day_index(p)) < 0)
				goto bad;
			p += 2;
		}
		for (;;) {
			*mask |= (uint8_t)(1u << a);
			if (a == b)
				break;
			a = (a + 1) % 7;
		}
		if (p == end)
			return 0;
		if (*p != '+')
			goto bad;
		p++;
	}
bad:
	return kw_fail(e, KW_EINVAL,
	    "bad days in time window '%s' (use Mo Tu We Th Fr Sa Su, a range "
	    "like Mo-Fr or days joined with +)", item);
}

/* Parse exactly "HH:MM" at s into minutes; max_hour 23 or 24 (24:00). */
static int
parse_hhmm(const char *s, int max_hour, int *minutes)
{
	int h, m;

	*minutes = -1;
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[2] != ':' || s[3] < '0' || s[3] > '9' || s[4] < '0' ||
	    s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > max_hour || m > 59 || (h == 24 && m != 0))
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

/* Parse one window item. */
int
pol_window_parse(const char *s, struct pol_window *w, struct kw_error *e)
{
	const char *slash, *t;
	int start, end;

	memset(w, 0, sizeof(*w));
	w->days = ALL_DAYS;
	t = s;
	if ((slash = strchr(s, '/')) != NULL) {
		if (parse_days(s, (size_t)(slash - s), s, &w->days, e) != 0)
			return KW_EINVAL;
		t = slash + 1;
	}
	if (strlen(t) != 11 || t[5] != '-' || parse_hhmm(t, 23, &start) != 0 ||
	    parse_hhmm(t + 6, 24, &end) != 0)
		return kw_fail(e, KW_EINVAL,
		    "bad time window '%s' (expected [DAYS/]HH:MM-HH:MM, e.g. "
		    "Mo-Fr/08:00-18:00)", s);
	if (start == end)
		return kw_fail(e, KW_EINVAL,
		    "empty time window '%s' (start equals end; use "
		    "00:00-24:00 for a whole day)", s);
	if (end == 0)
		end = 24 * 60;
	w->start = (uint16_t)start;
	w->end = (uint16_t)end;
	return 0;
}

/*
 * Seconds from now until minute end_min of the day day_off days after
 * the day of tm (local time, through mktime so DST changes count).
 */
static uint64_t
seconds_until(const struct tm *tm, time_t now, int day_off, int end_min,
    int cur_sec)
{
	struct tm t = *tm;
	time_t then;
	long long wall;

	t.tm_mday += day_off;
	t.tm_hour = end_min / 60;
	t.tm_min = end_min % 60;
	t.tm_sec = 0;
	t.tm_isdst = -1;
	then = mktime(&t);
	if (then != (time_t)-1 && then > now)
		return (uint64_t)(then - now);
	/* mktime failed or a DST jump ate the end: wall-clock difference */
	wall = ((long long)day_off * 1440 + end_min) * 60 - cur_sec;
	return wall > 0 ? (uint64_t)wall : 1;
}

/* Is tm inside any window; seconds left until the latest end. */
bool
pol_windows_match(const struct pol_window *w, size_t n, const struct tm *tm,
    time_t now, uint64_t *left)
{
	int cur = tm->tm_hour * 60 + tm->tm_min;
	int cur_sec = cur * 60 + tm->tm_sec;
	int today = tm->tm_wday, yesterday = (tm->tm_wday + 6) % 7;
	int best_off = -1, best_end = 0, off, endm;
	bool in;
	size_t i;

	if (left != NULL)
		*left = 0;
	for (i = 0; i < n; i++) {
		in = false;
		off = 0;
		endm = w[i].end;
		if (w[i].start < w[i].end) {
			if ((w[i].days & (1u << today)) && cur >= w[i].start &&
			    cur < w[i].end)
				in = true;
		} else if ((w[i].days & (1u << today)) && cur >= w[i].start) {
			in = true;	/* evening part: ends tomorrow */
			off = 1;
		} else if ((w[i].days & (1u << yesterday)) && cur < w[i].end) {
			in = true;	/* morning part of yesterday's window */
		}
		if (!in)
			continue;
		if (best_off < 0 || off * 1440 + endm > best_off * 1440 +
		    best_end) {
			best_off = off;
			best_end = endm;
		}
	}
	if (best_off < 0)
		return false;
	if (left != NULL)
		*left = seconds_until(tm, now, best_off, best_end, cur_sec);
	return true;
}
