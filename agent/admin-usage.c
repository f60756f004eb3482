/*
 * usage.get: a domain's requests, tokens and spend grouped by model,
 * token, hour or day, read from the hourly rollup the trace writer keeps
 * (never from the traces themselves, so it stays fast at any size).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "store.h"
#include "rpc.h"

#define USAGE_MAX_TIME	INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */

/* The grouping names, their result field, and how a bucket reads. */
static const struct {
	const char	*name;
	const char	*field;
	size_t		 time_len;	/* of "2026-11-30T12:00:00Z"; 0: key */
} usage_groups[] = {
	[USAGE_BY_MODEL] = { "model", "model", 0 },
	[USAGE_BY_TOKEN] = { "token", "token", 0 },
	[USAGE_BY_HOUR] = { "hour", "hour", 20 },
	[USAGE_BY_DAY] = { "day", "day", 10 },
};

/* Units for "24h"-style times: that long before now. */
static const struct {
	char	unit;
	int64_t	seconds;
} usage_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	{ 'w', 7 * 86400 },
};

/*
 * A time parameter: RFC 3339 UTC ("2026-11-30T12:00:00Z"), a date
 * ("2026-11-30", midnight UTC), or a span back from now ("24h", "7d").
 */
static int
usage_parse_time(const char *s, int64_t now, int64_t *out)
{
	struct tm	 tm;
	const char	*end;
	char		*num_end;
	long long	 n;
	size_t		 i;

	if (isdigit((unsigned char)s[0]) && (n = strtoll(s, &num_end, 10)) >=
	    0 && num_end != s && num_end[0] != '\0' && num_end[1] == '\0') {
		for (i = 0; i < sizeof(usage_units) / sizeof(usage_units[0]);
		    i++)
			if (usage_units[i].unit == num_end[0] &&
			    n <= USAGE_MAX_TIME / usage_units[i].seconds) {
				*out = now - n * usage_units[i].seconds;
				return 0;
			}
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
		    *end != '\0')
			return -1;
	}
	*out = (int64_t)timegm(&tm);
	return *out < 0 || *out > USAGE_MAX_TIME ? -1 : 0;
}

static int
usage_param_time(const cJSON *params, const char *name, int64_t now,
    int64_t *out, struct admin_reply *reply)
{
	const char	*s;
	int		 rc;

	if ((rc = admin_param_string(params, name, 0, 1, 64, NULL, NULL, &s,
	    reply)) != ADMIN_PARAM_SET)
		return rc;
	if (usage_parse_time(s, now, out) == -1)
		return admin_reply_error(reply, RPC_INVALID_PARAMS, "%s: '%s'"
		    " is not a time (2026-11-30T12:00:00Z, 2026-11-30, or 24h"
		    " for a day ago)", name, s);
	return ADMIN_PARAM_SET;
}

static cJSON *
usage_row_json(enum usage_by by, const struct store_usage *u)
{
	cJSON		*o = admin_json_object();
	struct tm	 tm;
	time_t		 t = (time_t)u->bucket;
	char		 buf[32];

	if (usage_groups[by].time_len == 0)
		admin_json_add(o, usage_groups[by].field, admin_json_string(
		    u->key != NULL && *u->key != '\0' ? u->key : NULL));
	else {
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:00:00Z", &tm);
		buf[usage_groups[by].time_len] = '\0';
		admin_json_add(o, usage_groups[by].field,
		    admin_json_string(buf));
	}
	admin_json_add(o, "requests", admin_json_number((double)u->requests));
	admin_json_add(o, "errors", admin_json_number((double)u->errors));
	admin_json_add(o, "prompt_tokens", admin_json_number((double)
	    u->prompt_tokens));
	admin_json_add(o, "completion_tokens", admin_json_number((double)
	    u->completion_tokens));
	admin_json_add(o, "cached_tokens", admin_json_number((double)
	    u->cached_tokens));
	admin_json_add(o, "cost_usd", admin_json_money(u->cost));
	return o;
}

int
admin_usage_get(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { "domain", "by", "since",
	    "until", NULL };
	struct store_domain	 d;
	struct store_usage	*rows;
	const char		*by_name;
	int64_t			 now = time(NULL), since = 0;
	int64_t			 until = USAGE_MAX_TIME;
	size_t			 n, i;
	char			 err[256];
	int			 by = USAGE_BY_MODEL, rc;

	memset(&d, 0, sizeof(d));
	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_param_string(params, "by", 0, 1, 16, NULL, NULL, &by_name,
	    reply) == -1 ||
	    usage_param_time(params, "since", now, &since, reply) == -1 ||
	    usage_param_time(params, "until", now, &until, reply) == -1)
		return -1;
	if (by_name != NULL) {
		for (by = 0; by < (int)(sizeof(usage_groups) /
		    sizeof(usage_groups[0])); by++)
			if (strcmp(usage_groups[by].name, by_name) == 0)
				break;
		if (by == (int)(sizeof(usage_groups) / sizeof(usage_groups[0])))
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "by: expected model, token, hour or day");
	}
	if (admin_param_domain(agent, params, &d, reply) == -1)
		return -1;
	rc = store_usage_query(agent->store, d.id, by, since, until, &rows, &n,
	    err, sizeof(err));
	store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_json_array();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(reply->result, usage_row_json(by,
		    &rows[i]));
	store_usage_list_free(rows, n);
	return 0;
}
