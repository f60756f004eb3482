/*
 * Budget periods (day, week, month) as the store, the admin API, JWT
 * claims and the limits spell them, and where each one starts. Part of
 * the data model: the admin side and the request path both read it, so
 * it depends on neither. Runs on any thread.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "agent.h"

static const char *const period_names[] = {
	[PERIOD_NONE] = "none",
	[PERIOD_DAY] = "day",
	[PERIOD_WEEK] = "week",
	[PERIOD_MONTH] = "month",
};

int
period_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(period_names) / sizeof(period_names[0]); i++)
		if (strcmp(name, period_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
period_name(int period)
{
	if (period < 0 || (size_t)period >=
	    sizeof(period_names) / sizeof(period_names[0]))
		return "none";
	return period_names[period];
}

/*
 * The start of the budget period holding now (unix seconds, UTC), or 0
 * for a budget that never resets; with next, the start of the one after.
 * Weeks start on Monday.
 */
int64_t
period_start(int period, int64_t now, int64_t *next)
{
	struct tm	tm;
	time_t		t = (time_t)now;
	int64_t		day = now - now % 86400, start;

	if (next != NULL)
		*next = 0;
	switch (period) {
	case PERIOD_DAY:
		if (next != NULL)
			*next = day + 86400;
		return day;
	case PERIOD_WEEK:
		/* 1970-01-01 was a Thursday: Monday is 3 days earlier. */
		start = day - ((now / 86400 + 3) % 7) * 86400;
		if (next != NULL)
			*next = start + 7 * 86400;
		return start;
	case PERIOD_MONTH:
		gmtime_r(&t, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		start = (int64_t)timegm(&tm);
		if (next != NULL) {
			tm.tm_mon++;
			*next = (int64_t)timegm(&tm);
		}
		return start;
	default:
		return 0;
	}
}
