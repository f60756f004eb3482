/*
 * Strict checks of admin method parameters: types, ranges, lengths and
 * character sets from docs/admin-api.md. Every message names the field.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "store.h"
#include "money.h"
#include "rpc.h"

int
admin_param_check(const cJSON *params, const char *const *allowed,
    struct admin_reply *reply)
{
	const cJSON	*item, *other;
	size_t		 i;

	if (params == NULL)
		return 0;
	if (!cJSON_IsObject(params))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "params must be an object");
	cJSON_ArrayForEach(item, params) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(item->string, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "unknown parameter '%.64s'", item->string);
		for (other = item->next; other != NULL; other = other->next)
			if (strcmp(item->string, other->string) == 0)
				return admin_reply_error(reply,
				    RPC_INVALID_PARAMS, "%s: given twice",
				    item->string);
	}
	return 0;
}

/*
 * The member name of params, sorted into absent, null and present. Returns
 * ADMIN_PARAM_SET with *item set, ADMIN_PARAM_ABSENT, ADMIN_PARAM_NULL or
 * -1 when that is not allowed by flags.
 */
static int
admin_param_get(const cJSON *params, const char *name, int flags,
    const cJSON **item, const char *type, struct admin_reply *reply)
{
	*item = params == NULL ? NULL :
	    cJSON_GetObjectItemCaseSensitive(params, name);
	if (*item == NULL) {
		if (flags & ADMIN_PARAM_REQUIRED)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "%s is required", name);
		return ADMIN_PARAM_ABSENT;
	}
	if (cJSON_IsNull(*item)) {
		if (flags & ADMIN_PARAM_NULLABLE)
			return ADMIN_PARAM_NULL;
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: expected %s, not null", name, type);
	}
	return ADMIN_PARAM_SET;
}

int
admin_param_string(const cJSON *params, const char *name, int flags,
    size_t minlen, size_t maxlen, int (*valid)(const char *),
    const char *what, const char **out, struct admin_reply *reply)
{
	const cJSON	*item;
	size_t		 len;
	int		 rc;

	*out = NULL;
	if ((rc = admin_param_get(params, name, flags, &item, "a string",
	    reply)) != ADMIN_PARAM_SET)
		return rc;
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: expected a string", name);
	len = strlen(item->valuestring);
	if (len < minlen || len > maxlen) {
		if (minlen == 0)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "%s: at most %zu bytes", name, maxlen);
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: must be %zu to %zu characters", name, minlen, maxlen);
	}
	if (valid != NULL && !valid(item->valuestring))
		return admin_reply_error(reply, RPC_INVALID_PARAMS, "%s: %s",
		    name, what != NULL ? what : "not acceptable");
	*out = item->valuestring;
	return ADMIN_PARAM_SET;
}

int
admin_param_bool(const cJSON *params, const char *name, int flags, int *out,
    struct admin_reply *reply)
{
	const cJSON	*item;
	int		 rc;

	if ((rc = admin_param_get(params, name, flags, &item, "true or false",
	    reply)) != ADMIN_PARAM_SET)
		return rc;
	if (!cJSON_IsBool(item))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: expected true or false", name);
	*out = cJSON_IsTrue(item) ? 1 : 0;
	return ADMIN_PARAM_SET;
}

int
admin_param_int(const cJSON *params, const char *name, int flags,
    int64_t min, int64_t max, int64_t *out, struct admin_reply *reply)
{
	const cJSON	*item;
	double		 v;
	int		 rc;

	if ((rc = admin_param_get(params, name, flags, &item, "an integer",
	    reply)) != ADMIN_PARAM_SET)
		return rc;
	if (!cJSON_IsNumber(item))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: expected an integer", name);
	v = item->valuedouble;
	if (!isfinite(v) || v != floor(v))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: expected an integer", name);
	if (v < (double)min || v > (double)max)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: must be from %lld to %lld", name, (long long)min,
		    (long long)max);
	*out = (int64_t)v;
	return ADMIN_PARAM_SET;
}

int
admin_param_number(const cJSON *params, const char *name, int flags,
    double min, double max, double *out, struct admin_reply *reply)
{
	const cJSON	*item;
	int		 rc;

	if ((rc = admin_param_get(params, name, flags, &item, "a number",
	    reply)) != ADMIN_PARAM_SET)
		return rc;
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: expected a number", name);
	if (item->valuedouble < min || item->valuedouble > max)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: must be from %g to %g", name, min, max);
	*out = item->valuedouble;
	return ADMIN_PARAM_SET;
}

/* Money is a decimal string, never a JSON number (no floating point). */
int
admin_param_money(const cJSON *params, const char *name, int flags,
    int64_t *out, struct admin_reply *reply)
{
	const char	*s;
	char		 err[128];
	int		 rc;

	if ((rc = admin_param_string(params, name, flags, 1, 32, NULL, NULL,
	    &s, reply)) != ADMIN_PARAM_SET)
		return rc;
	if (money_parse_usd(s, out, err, sizeof(err)) != 0)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: %s", name, err);
	return ADMIN_PARAM_SET;
}

int
admin_param_strings(const cJSON *params, const char *name, int flags,
    size_t max, size_t maxlen, int (*valid)(const char *), const char *what,
    const cJSON **out, struct admin_reply *reply)
{
	const cJSON	*item, *e;
	size_t		 n = 0;
	int		 rc;

	*out = NULL;
	if ((rc = admin_param_get(params, name, flags, &item,
	    "an array of strings", reply)) != ADMIN_PARAM_SET)
		return rc;
	if (!cJSON_IsArray(item))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "%s: expected an array of strings", name);
	cJSON_ArrayForEach(e, item) {
		if (!cJSON_IsString(e) || e->valuestring == NULL)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "%s[%zu]: expected a string", name, n);
		if (*e->valuestring == '\0' ||
		    strlen(e->valuestring) > maxlen)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "%s[%zu]: must be 1 to %zu characters", name, n,
			    maxlen);
		if (valid != NULL && !valid(e->valuestring))
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "%s[%zu]: %s", name, n,
			    what != NULL ? what : "not acceptable");
		if (++n > max)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "%s: at most %zu entries", name, max);
	}
	*out = item;
	return ADMIN_PARAM_SET;
}

int
admin_param_domain(struct agent *agent, const cJSON *params,
    struct store_domain *d, struct admin_reply *reply)
{
	const char	*s;
	char		 err[256];
	int		 rc;

	if (admin_param_string(params, "domain", ADMIN_PARAM_REQUIRED, 1, 128,
	    admin_valid_line, "not a domain id or name", &s, reply) == -1)
		return -1;
	if ((rc = store_domain_get(agent->store, s, d, err, sizeof(err))) != 0)
		return admin_reply_store(reply, rc, err);
	return 0;
}

/* 1-63 of [a-z0-9-_], starting with a letter or a digit. */
int
admin_valid_domain_name(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (i > 0 && (s[i] == '-' || s[i] == '_'))
			continue;
		return 0;
	}
	return i > 0 && i <= 63;
}

/* 1-63 of [A-Za-z0-9._-]. */
int
admin_valid_provider_name(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-", s[i]) == NULL)
			return 0;
	return i > 0 && i <= 63;
}

/* An x-request-id as the agent makes them: 32 lower-case hex digits. */
int
admin_valid_request_id(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* 1-128 of [A-Za-z0-9._:/-]. */
int
admin_valid_model_key(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._:/-", s[i]) == NULL)
			return 0;
	return i > 0 && i <= 128;
}

/*
 * Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), and no control characters other than those in allowed.
 */
static int
admin_valid_utf8(const char *str, const char *allowed)
{
	const unsigned char	*s = (const unsigned char *)str;
	uint32_t		 cp;
	int			 n, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			if ((*s < 0x20 || *s == 0x7f) &&
			    strchr(allowed, *s) == NULL)
				return 0;
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 1;
			cp = *s & 0x1f;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 2;
			cp = *s & 0x0f;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 3;
			cp = *s & 0x07;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0))
			return 0;
		s += n + 1;
	}
	return 1;
}

int
admin_valid_line(const char *s)
{
	return admin_valid_utf8(s, "");
}

int
admin_valid_text(const char *s)
{
	return admin_valid_utf8(s, "\t\n\r");
}
