/* Result values in the admin API's conventions: RFC 3339 times, USD strings. */
#include <stdio.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "log.h"
#include "money.h"

static cJSON *
admin_json_check(cJSON *item)
{
	if (item == NULL)
		fatalx("admin_json: out of memory");
	return item;
}

cJSON *
admin_json_time(int64_t t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;
	char		buf[64];

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return admin_json_check(cJSON_CreateNull());
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return admin_json_check(cJSON_CreateString(buf));
}

cJSON *
admin_json_money(int64_t nano)
{
	char	buf[MONEY_BUFSZ];

	return admin_json_check(cJSON_CreateString(money_format_usd(nano, buf,
	    sizeof(buf))));
}

cJSON *
admin_json_string(const char *s)
{
	if (s == NULL)
		return admin_json_check(cJSON_CreateNull());
	return admin_json_check(cJSON_CreateString(s));
}

/* Add item to obj as name; out of memory is fatal, as for xmalloc. */
void
admin_json_add(cJSON *obj, const char *name, cJSON *item)
{
	admin_json_check(item);
	if (!cJSON_AddItemToObject(obj, name, item))
		fatalx("admin_json: out of memory");
}

cJSON *
admin_json_object(void)
{
	return admin_json_check(cJSON_CreateObject());
}

cJSON *
admin_json_array(void)
{
	return admin_json_check(cJSON_CreateArray());
}

cJSON *
admin_json_number(double v)
{
	return admin_json_check(cJSON_CreateNumber(v));
}

cJSON *
admin_json_bool(int v)
{
	return admin_json_check(cJSON_CreateBool(v));
}
