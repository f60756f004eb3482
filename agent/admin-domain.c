/* Domain methods: create, list, get, edit, delete (which cascades). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define DOMAIN_NAME_CHARSET \
	"use 1-63 of a-z, 0-9, '-' and '_', starting with a letter or digit"
#define DOMAIN_ORIGIN_FORM \
	"must be \"*\" or an origin like https://app.example.com (http or" \
	" https, a lower-case host, an optional port, no path)"

static cJSON	*admin_domain_origins_json(const char *);

cJSON *
admin_domain_json(const struct store_domain *d)
{
	cJSON	*o, *jwt;

	o = admin_json_object();
	admin_json_add(o, "id", admin_json_string(d->id));
	admin_json_add(o, "name", admin_json_string(d->name));
	admin_json_add(o, "log_content", admin_json_bool(d->log_content));
	admin_json_add(o, "trace_retention_days",
	    admin_json_number(d->trace_retention_days));
	admin_json_add(o, "created_at", admin_json_time(d->created_at));
	admin_json_add(o, "cors_origins", admin_domain_origins_json(
	    d->cors_origins));
	admin_json_add(o, "jwt", d->jwt != NULL && (jwt = cJSON_Parse(d->jwt))
	    != NULL ? jwt : cJSON_CreateNull());
	admin_json_add(o, "require_attested",
	    admin_json_bool(d->require_attested));
	return o;
}

/* Merge src's members into dst: null removes one, others replace. */
static void
admin_domain_merge(cJSON *dst, const cJSON *src)
{
	const cJSON	*v;
	cJSON		*old;

	cJSON_ArrayForEach(v, src) {
		old = cJSON_GetObjectItemCaseSensitive(dst, v->string);
		if (strcmp(v->string, "claims") == 0 && cJSON_IsObject(v) &&
		    cJSON_IsObject(old)) {
			admin_domain_merge(old, v);
			continue;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(dst, v->string);
		if (!cJSON_IsNull(v))
			cJSON_AddItemToObject(dst, v->string,
			    cJSON_Duplicate(v, 1));
	}
}

/*
 * The "jwt" parameter into *out (the store's JSON): null removes the
 * settings, an object edits them (its members replace the stored ones, a
 * null member removes one; a JWKS file replaces a URL and the other way
 * round), and the whole is checked. ADMIN_PARAM_ABSENT leaves *out alone;
 * -1 with the reply filled.
 */
static int
admin_domain_jwt(const cJSON *params, char **out, struct admin_reply *reply)
{
	const cJSON		*v = cJSON_GetObjectItemCaseSensitive(params,
				    "jwt");
	struct jwt_config	*c;
	cJSON			*base, *canon;
	char			 err[256];

	if (v == NULL)
		return ADMIN_PARAM_ABSENT;
	if (cJSON_IsNull(v)) {
		free(*out);
		*out = NULL;
		return ADMIN_PARAM_SET;
	}
	if (!cJSON_IsObject(v))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "jwt: must be an object or null");
	if (*out == NULL || (base = cJSON_Parse(*out)) == NULL)
		base = admin_json_object();
	if (cJSON_GetObjectItemCaseSensitive(v, "jwks_url") != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(base, "jwks_file");
	if (cJSON_GetObjectItemCaseSensitive(v, "jwks_file") != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(base, "jwks_url");
	admin_domain_merge(base, v);
	c = jwt_config_parse(base, err, sizeof(err));
	cJSON_Delete(base);
	if (c == NULL)
		return admin_reply_error(reply, RPC_INVALID_PARAMS, "%s", err);
	canon = jwt_config_json(c);
	jwt_config_free(c);
	free(*out);
	if ((*out = cJSON_PrintUnformatted(canon)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(canon);
	return ADMIN_PARAM_SET;
}

/* Space-separated origins as a JSON array; [] for none. */
static cJSON *
admin_domain_origins_json(const char *list)
{
	cJSON		*a = admin_json_array();
	const char	*p, *end;
	char		 one[CORS_ORIGIN_MAX + 1];

	for (p = list; p != NULL && *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		if (end > p && (size_t)(end - p) <= CORS_ORIGIN_MAX) {
			snprintf(one, sizeof(one), "%.*s", (int)(end - p), p);
			cJSON_AddItemToArray(a, admin_json_string(one));
		}
	}
	return a;
}

/* Whether the space-separated list (or NULL) has s itself. */
static int
admin_domain_listed(const char *list, const char *s)
{
	size_t		 n = strlen(s);
	const char	*p = list;

	while (p != NULL && (p = strstr(p, s)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' ||
		    p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static int
admin_domain_origin_valid(const char *s)
{
	return cors_origin_valid(s, strlen(s));
}

/*
 * The "cors_origins" parameter into *out: the origins space-separated,
 * each once, or NULL for none ([] or null). ADMIN_PARAM_ABSENT leaves
 * *out alone; -1 with the reply filled.
 */
static int
admin_domain_origins(const cJSON *params, char **out,
    struct admin_reply *reply)
{
	const cJSON	*a, *e;
	char		*list = NULL, *next;
	int		 rc;

	if ((rc = admin_param_strings(params, "cors_origins",
	    ADMIN_PARAM_NULLABLE, CORS_ORIGINS_MAX, CORS_ORIGIN_MAX,
	    admin_domain_origin_valid, DOMAIN_ORIGIN_FORM, &a, reply)) == -1 ||
	    rc == ADMIN_PARAM_ABSENT)
		return rc;
	if (rc == ADMIN_PARAM_SET) {
		cJSON_ArrayForEach(e, a) {
			if (admin_domain_listed(list, e->valuestring))
				continue;	/* listed already */
			xasprintf(&next, "%s%s%s", list != NULL ? list : "",
			    list != NULL ? " " : "", e->valuestring);
			free(list);
			list = next;
		}
	}
	free(*out);
	*out = list;
	return rc;
}

/* A random (version 4) UUID, lower-case. */
static void
admin_domain_uuid(char out[37])
{
	unsigned char	b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* A name shaped like a UUID would be ambiguous where "id or name" is taken. */
static int
admin_domain_uuid_shaped(const char *s)
{
	size_t	i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	}
	return 1;
}

int
admin_domain_create(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "name", "cors_origins",
					    "require_attested", NULL };
	struct store_domain		 d;
	const char			*name;
	char				 err[256];
	int				 rc;

	memset(&d, 0, sizeof(d));
	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_string(params, "name", ADMIN_PARAM_REQUIRED, 1, 63,
	    admin_valid_domain_name, DOMAIN_NAME_CHARSET, &name, reply) == -1)
		return -1;
	if (admin_domain_uuid_shaped(name))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "name: must not look like a domain id");
	if (admin_param_bool(params, "require_attested", 0,
	    &d.require_attested, reply) == -1 ||
	    admin_domain_origins(params, &d.cors_origins, reply) == -1)
		return -1;

	admin_domain_uuid(d.id);
	d.name = (char *)name;
	d.log_content = 0;
	d.trace_retention_days = 30;
	d.created_at = time(NULL);
	rc = store_domain_insert(agent->store, &d, err, sizeof(err));
	if (rc == 0)
		reply->result = admin_domain_json(&d);
	free(d.cors_origins);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	return 0;
}

int
admin_domain_list(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { NULL };
	struct store_domain		*list;
	size_t				 n, i;
	char				 err[256];
	cJSON				*a;
	int				 rc;

	if (admin_param_check(params, allowed, reply) != 0)
		return -1;
	if ((rc = store_domain_list(agent->store, &list, &n, err,
	    sizeof(err))) != 0)
		return admin_reply_store(reply, rc, err);
	a = admin_json_array();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, admin_domain_json(&list[i]));
	store_domain_list_free(list, n);
	reply->result = a;
	return 0;
}

int
admin_domain_get(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", NULL };
	struct store_domain		 d;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	reply->result = admin_domain_json(&d);
	store_domain_clear(&d);
	return 0;
}

int
admin_domain_edit(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "log_content",
					    "trace_retention_days",
					    "cors_origins", "jwt",
					    "require_attested", NULL };
	struct store_domain		 d;
	int64_t				 days;
	int				 log_content, rc;
	char				 err[256];

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	if ((rc = admin_param_bool(params, "log_content", 0, &log_content,
	    reply)) == -1)
		goto fail;
	if (rc == ADMIN_PARAM_SET)
		d.log_content = log_content;
	if ((rc = admin_param_int(params, "trace_retention_days", 0, 1, 3650,
	    &days, reply)) == -1)
		goto fail;
	if (rc == ADMIN_PARAM_SET)
		d.trace_retention_days = (int)days;
	if (admin_param_bool(params, "require_attested", 0,
	    &d.require_attested, reply) == -1)
		goto fail;
	if (admin_domain_origins(params, &d.cors_origins, reply) == -1 ||
	    admin_domain_jwt(params, &d.jwt, reply) == -1)
		goto fail;
	if ((rc = store_domain_update(agent->store, &d, err, sizeof(err))) !=
	    0) {
		admin_reply_store(reply, rc, err);
		goto fail;
	}
	reply->result = admin_domain_json(&d);
	store_domain_clear(&d);
	return 0;
fail:
	store_domain_clear(&d);
	return -1;
}

int
admin_domain_delete(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", NULL };
	struct store_domain		 d;
	char				 err[256];
	int				 rc;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	rc = store_domain_delete(agent->store, d.id, err, sizeof(err));
	store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "deleted", admin_json_bool(1));
	return 0;
}
