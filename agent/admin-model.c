/* Model methods: deploy, list, show, edit, enable, disable, delete. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "store.h"
#include "rpc.h"
#include "xmalloc.h"

#define MODEL_KEY_MAX		128
#define MODEL_KEY_CHARSET	"use 1-128 of A-Z, a-z, 0-9, '.', '_', ':', '/'" \
				" and '-'"
#define MODEL_GUARDS_MAX	64
#define MODEL_PROMPT_MAX	(64 * 1024)
#define MODEL_DESCRIPTION_MAX	4096

/* Parameters of model.deploy; model.edit takes "new_key" as well. */
#define MODEL_FIELDS "domain", "key", "provider", "name", "model_id", \
	"category", "tools", "vision", "price_input", "price_output", \
	"price_cached", "temperature", "max_tokens", "system_prompt", \
	"guard_in", "guard_out", "description", "status", "force", \
	"deployments", "fallbacks", "retries", "retry_deadline_ms"
#define MODEL_WEIGHT_MAX	1000
#define MODEL_PRIORITY_MAX	100

static void
admin_model_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

/* A one-element array of warnings, for a result's "warnings". */
static cJSON *
admin_model_warning(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];
	cJSON	*a;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a = admin_json_array();
	cJSON_AddItemToArray(a, admin_json_string(msg));
	return a;
}

/* A stored JSON array of guardrail keys, as a JSON value (never NULL). */
static cJSON *
admin_model_guards(const char *json)
{
	cJSON	*a;

	a = json != NULL ? cJSON_Parse(json) : NULL;
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		return admin_json_array();
	}
	return a;
}

/*
 * A model's deployments as results show them; with live, each one's
 * breaker, outstanding requests and consecutive failures now.
 */
static cJSON *
admin_model_deployments_json(const struct store_model *m, int live)
{
	struct deploy_live	 st;
	cJSON			*a, *o;
	size_t			 i;
	int64_t			 now = deployment_now_ms();

	a = admin_json_array();
	for (i = 0; i < m->ndeployments; i++) {
		o = admin_json_object();
		admin_json_add(o, "provider",
		    admin_json_string(m->deployments[i].provider));
		admin_json_add(o, "model_id",
		    admin_json_string(m->deployments[i].model_id));
		admin_json_add(o, "weight",
		    admin_json_number(m->deployments[i].weight));
		admin_json_add(o, "priority",
		    admin_json_number(m->deployments[i].priority));
		if (live) {
			deployment_live(m->domain_id, m->key,
			    m->deployments[i].provider,
			    m->deployments[i].model_id, now, &st);
			admin_json_add(o, "breaker", admin_json_string(
			    deployment_breaker_name(st.breaker)));
			admin_json_add(o, "outstanding",
			    admin_json_number(st.outstanding));
			admin_json_add(o, "failures",
			    admin_json_number(st.failures));
		}
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *
admin_model_json_live(const struct store_model *m, int live)
{
	cJSON	*o;

	o = admin_model_json(m);
	if (live) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "deployments");
		admin_json_add(o, "deployments",
		    admin_model_deployments_json(m, 1));
	}
	return o;
}

cJSON *
admin_model_json(const struct store_model *m)
{
	cJSON	*o, *sub;

	o = admin_json_object();
	admin_json_add(o, "key", admin_json_string(m->key));
	admin_json_add(o, "name", admin_json_string(m->name));
	admin_json_add(o, "model_id", admin_json_string(m->model_id));
	admin_json_add(o, "provider", admin_json_string(m->provider));
	admin_json_add(o, "category", admin_json_string(m->category));
	sub = admin_json_object();
	admin_json_add(sub, "tools", admin_json_bool(m->tools));
	admin_json_add(sub, "vision", admin_json_bool(m->vision));
	admin_json_add(o, "capabilities", sub);
	sub = admin_json_object();
	admin_json_add(sub, "input", admin_json_money(m->price_input));
	admin_json_add(sub, "output", admin_json_money(m->price_output));
	admin_json_add(sub, "cached", admin_json_money(m->price_cached));
	admin_json_add(o, "pricing", sub);
	admin_json_add(o, "status", admin_json_string(m->status));
	sub = admin_json_object();
	admin_json_add(sub, "temperature", m->has_temperature ?
	    admin_json_number(m->temperature) : cJSON_CreateNull());
	admin_json_add(sub, "max_tokens", m->max_tokens > 0 ?
	    admin_json_number((double)m->max_tokens) : cJSON_CreateNull());
	admin_json_add(sub, "system_prompt",
	    admin_json_string(m->system_prompt));
	admin_json_add(o, "settings", sub);
	sub = admin_json_object();
	admin_json_add(sub, "input", admin_model_guards(m->guard_in));
	admin_json_add(sub, "output", admin_model_guards(m->guard_out));
	admin_json_add(o, "guardrails", sub);
	admin_json_add(o, "description", admin_json_string(m->description !=
	    NULL ? m->description : ""));
	admin_json_add(o, "created_at", admin_json_time(m->created_at));
	admin_json_add(o, "updated_at", admin_json_time(m->updated_at));
	admin_json_add(o, "deployments", admin_model_deployments_json(m, 0));
	admin_json_add(o, "fallbacks", admin_model_guards(m->fallbacks));
	admin_json_add(o, "retries", admin_json_number(m->retries));
	admin_json_add(o, "retry_deadline_ms",
	    admin_json_number(m->retry_deadline_ms));
	return o;
}

/*
 * Lower-case; keep [a-z0-9._:/]; every run of anything else (spaces, '-',
 * other bytes) becomes one '-'; none at either end; at most 128.
 */
char *
admin_model_key_from_name(const char *name)
{
	char	*out;
	size_t	 n = 0;
	int	 sep = 0;
	char	 c;

	out = xmalloc(strlen(name) + 1);
	for (; *name != '\0'; name++) {
		c = *name;
		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("._:/", c) != NULL) {
			if (sep && n > 0) {
				if (n + 2 > MODEL_KEY_MAX)
					break;
				out[n++] = '-';
			}
			if (n + 1 > MODEL_KEY_MAX)
				break;
			sep = 0;
			out[n++] = c;
		} else
			sep = 1;
	}
	out[n] = '\0';
	if (n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* A guardrail key list parameter into its stored JSON form. */
static int
admin_model_guard_param(const cJSON *params, const char *name, int flags,
    char **field, struct admin_reply *reply)
{
	const cJSON	*a;
	char		*s;
	int		 rc;

	if ((rc = admin_param_strings(params, name, flags, MODEL_GUARDS_MAX,
	    MODEL_KEY_MAX, admin_valid_line, "not a guardrail key", &a,
	    reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_NULL)
		admin_model_set(field, "[]");
	else if (rc == ADMIN_PARAM_SET) {
		if ((s = cJSON_PrintUnformatted(a)) == NULL)
			return admin_reply_error(reply, RPC_INTERNAL_ERROR,
			    "out of memory");
		free(*field);
		*field = s;
	}
	return 0;
}

/*
 * "deployments": 1..MODEL_DEPLOYMENTS_MAX objects {provider, model_id,
 * weight 1..1000 (1), priority 0..100 (0)}, no pair twice; replaces m's
 * list (and so its provider and model_id, the first's).
 */
static int
admin_model_deployments_param(const cJSON *params, struct store_model *m,
    struct admin_reply *reply)
{
	struct store_deployment	 d[MODEL_DEPLOYMENTS_MAX];
	const cJSON		*a, *e, *f;
	size_t			 n = 0, i;

	a = cJSON_GetObjectItemCaseSensitive(params, "deployments");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 ||
	    cJSON_GetArraySize(a) > MODEL_DEPLOYMENTS_MAX)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "deployments: an array of 1-%d objects",
		    MODEL_DEPLOYMENTS_MAX);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsObject(e))
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "deployments[%zu]: an object {provider, model_id,"
			    " weight, priority}", n);
		cJSON_ArrayForEach(f, e) {
			if (f->string == NULL ||
			    (strcmp(f->string, "provider") != 0 &&
			    strcmp(f->string, "model_id") != 0 &&
			    strcmp(f->string, "weight") != 0 &&
			    strcmp(f->string, "priority") != 0))
				return admin_reply_error(reply,
				    RPC_INVALID_PARAMS, "deployments[%zu]:"
				    " unknown member '%.64s'", n,
				    f->string != NULL ? f->string : "");
		}
		f = cJSON_GetObjectItemCaseSensitive(e, "provider");
		if (!cJSON_IsString(f) || strlen(f->valuestring) < 1 ||
		    strlen(f->valuestring) > 63 ||
		    !admin_valid_provider_name(f->valuestring))
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "deployments[%zu].provider: not a provider name",
			    n);
		d[n].provider = f->valuestring;
		f = cJSON_GetObjectItemCaseSensitive(e, "model_id");
		if (!cJSON_IsString(f) || strlen(f->valuestring) < 1 ||
		    strlen(f->valuestring) > 256 ||
		    !admin_valid_line(f->valuestring))
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "deployments[%zu].model_id: 1-256 bytes of UTF-8"
			    " without control characters", n);
		d[n].model_id = f->valuestring;
		d[n].weight = 1;
		if ((f = cJSON_GetObjectItemCaseSensitive(e, "weight")) !=
		    NULL) {
			if (!cJSON_IsNumber(f) || f->valuedouble != (int)
			    f->valuedouble || f->valuedouble < 1 ||
			    f->valuedouble > MODEL_WEIGHT_MAX)
				return admin_reply_error(reply,
				    RPC_INVALID_PARAMS, "deployments[%zu]"
				    ".weight: an integer 1-%d", n,
				    MODEL_WEIGHT_MAX);
			d[n].weight = (int)f->valuedouble;
		}
		d[n].priority = 0;
		if ((f = cJSON_GetObjectItemCaseSensitive(e, "priority")) !=
		    NULL) {
			if (!cJSON_IsNumber(f) || f->valuedouble != (int)
			    f->valuedouble || f->valuedouble < 0 ||
			    f->valuedouble > MODEL_PRIORITY_MAX)
				return admin_reply_error(reply,
				    RPC_INVALID_PARAMS, "deployments[%zu]"
				    ".priority: an integer 0-%d", n,
				    MODEL_PRIORITY_MAX);
			d[n].priority = (int)f->valuedouble;
		}
		for (i = 0; i < n; i++)
			if (strcmp(d[i].provider, d[n].provider) == 0 &&
			    strcmp(d[i].model_id, d[n].model_id) == 0)
				return admin_reply_error(reply,
				    RPC_INVALID_PARAMS, "deployments[%zu]:"
				    " %s/%s is deployments[%zu] already", n,
				    d[n].provider, d[n].model_id, i);
		n++;
	}
	store_model_set_deployments(m, d, n);
	return 0;
}

/* "fallbacks": 0..MODEL_FALLBACKS_MAX model keys, no key twice; null or [] clears. */
static int
admin_model_fallbacks_param(const cJSON *params, struct store_model *m,
    struct admin_reply *reply)
{
	const cJSON	*a, *e, *g;
	char		*s;
	int		 n = 0, i;

	if ((a = cJSON_GetObjectItemCaseSensitive(params, "fallbacks")) ==
	    NULL)
		return 0;
	if (cJSON_IsNull(a)) {
		admin_model_set(&m->fallbacks, "[]");
		return 0;
	}
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MODEL_FALLBACKS_MAX)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "fallbacks: an array of at most %d model keys",
		    MODEL_FALLBACKS_MAX);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || strlen(e->valuestring) < 1 ||
		    strlen(e->valuestring) > MODEL_KEY_MAX ||
		    !admin_valid_model_key(e->valuestring))
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "fallbacks[%d]: not a model key (" MODEL_KEY_CHARSET
			    ")", n);
		for (i = 0, g = a->child; i < n; i++, g = g->next)
			if (strcmp(g->valuestring, e->valuestring) == 0)
				return admin_reply_error(reply,
				    RPC_INVALID_PARAMS, "fallbacks[%d]: '%s'"
				    " is listed twice", n, e->valuestring);
		n++;
	}
	if ((s = cJSON_PrintUnformatted(a)) == NULL)
		return admin_reply_error(reply, RPC_INTERNAL_ERROR,
		    "out of memory");
	free(m->fallbacks);
	m->fallbacks = s;
	return 0;
}

/*
 * What the database cannot check of a model's routing: every deployment's
 * provider is the domain's (explicit: the deployments form; the
 * shorthand's missing provider is the pre-flight's not_found), they all
 * speak one wire format (Ollama's, or OpenAI's), and each fallback is
 * another model of the domain.
 */
static int
admin_model_check_routing(struct agent *agent, const struct store_domain *d,
    const struct store_model *m, int explicit, struct admin_reply *reply)
{
	struct store_provider	 p;
	struct store_model	 other;
	char			 err[256], first[64] = "";
	cJSON			*a, *e;
	size_t			 i;
	int			 rc, ollama = -1, n = 0;

	for (i = 0; i < m->ndeployments; i++) {
		rc = store_provider_get(agent->store, d->id,
		    m->deployments[i].provider, &p, err, sizeof(err));
		if (rc == STORE_NOT_FOUND && !explicit)
			continue;
		if (rc == STORE_NOT_FOUND)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "deployments[%zu].provider: provider '%s' not"
			    " found in domain '%s'", i,
			    m->deployments[i].provider, d->name);
		if (rc != 0)
			return admin_reply_store(reply, rc, err);
		rc = strcmp(p.driver, "ollama") == 0;
		if (ollama == -1) {
			ollama = rc;
			snprintf(first, sizeof(first), "%s", p.name);
		} else if (ollama != rc) {
			admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "deployments[%zu].provider: '%s' speaks %s's wire"
			    " format and '%s' %s's; a model's deployments"
			    " must speak one", i, p.name, rc ? "Ollama" :
			    "OpenAI", first, rc ? "OpenAI" : "Ollama");
			store_provider_clear(&p);
			return -1;
		}
		store_provider_clear(&p);
	}
	if (m->fallbacks == NULL || (a = cJSON_Parse(m->fallbacks)) == NULL)
		return 0;
	rc = 0;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e))
			continue;
		if (strcmp(e->valuestring, m->key) == 0) {
			rc = admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "fallbacks[%d]: a model cannot fall back on"
			    " itself", n);
			break;
		}
		rc = store_model_get(agent->store, d->id, e->valuestring,
		    &other, err, sizeof(err));
		if (rc == STORE_NOT_FOUND) {
			rc = admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "fallbacks[%d]: model '%s' not found in domain"
			    " '%s'", n, e->valuestring, d->name);
			break;
		}
		if (rc != 0) {
			rc = admin_reply_store(reply, rc, err);
			break;
		}
		store_model_clear(&other);
		n++;
	}
	cJSON_Delete(a);
	return rc;
}

/*
 * The models of the domain that list key among their fallbacks, as
 * "'a', 'b'" into out; 0 when none does, 1 when some do, or -1.
 */
static int
admin_model_listed_by(struct agent *agent, const char *domain_id,
    const char *key, char *out, size_t outlen, struct admin_reply *reply)
{
	struct store_model	*list;
	size_t			 n, i, used = 0;
	char			 err[256];
	cJSON			*a, *e;
	int			 rc, found = 0;

	out[0] = '\0';
	if ((rc = store_model_list(agent->store, domain_id, &list, &n, err,
	    sizeof(err))) != 0)
		return admin_reply_store(reply, rc, err);
	for (i = 0; i < n; i++) {
		if ((a = cJSON_Parse(list[i].fallbacks)) == NULL)
			continue;
		cJSON_ArrayForEach(e, a) {
			if (!cJSON_IsString(e) ||
			    strcmp(e->valuestring, key) != 0)
				continue;
			if (used < outlen)
				used += (size_t)snprintf(out + used,
				    outlen - used, "%s'%s'", found ? ", " : "",
				    list[i].key);
			found = 1;
		}
		cJSON_Delete(a);
	}
	store_model_list_free(list, n);
	return found;
}

/*
 * Apply the parameters model.deploy and model.edit share to m. On deploy
 * the required ones must be there; on edit a null clears a setting.
 */
static int
admin_model_apply(const cJSON *params, int deploy, struct store_model *m,
    struct admin_reply *reply)
{
	const char	*s;
	int64_t		 v;
	double		 t;
	int		 b, rc, req = deploy ? ADMIN_PARAM_REQUIRED : 0;
	int		 list, shorthand = 0;

	/* deployments, or provider and model_id: one form only. */
	list = cJSON_GetObjectItemCaseSensitive(params, "deployments") != NULL;
	if (list && (cJSON_GetObjectItemCaseSensitive(params, "provider") !=
	    NULL || cJSON_GetObjectItemCaseSensitive(params, "model_id") !=
	    NULL))
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "deployments: give either deployments or provider and"
		    " model_id, not both");
	if (list)
		req = 0;
	if ((rc = admin_param_string(params, "provider", req, 1, 63,
	    admin_valid_provider_name, "not a provider name", &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET) {
		admin_model_set(&m->provider, s);
		shorthand = 1;
	}
	req = deploy ? ADMIN_PARAM_REQUIRED : 0;
	if ((rc = admin_param_string(params, "name", req, 1, 256,
	    admin_valid_line, "must be UTF-8 without control characters", &s,
	    reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET)
		admin_model_set(&m->name, s);
	if ((rc = admin_param_string(params, "model_id", list ? 0 : req, 1,
	    256, admin_valid_line, "must be UTF-8 without control characters",
	    &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET) {
		admin_model_set(&m->model_id, s);
		shorthand = 1;
	}
	if (list) {
		if (admin_model_deployments_param(params, m, reply) != 0)
			return -1;
	} else if (shorthand || m->ndeployments == 0) {
		struct store_deployment	one;

		/* The shorthand: a list of one deployment. */
		one.provider = m->provider;
		one.model_id = m->model_id;
		one.weight = 1;
		one.priority = 0;
		store_model_set_deployments(m, &one, 1);
	}
	if (admin_model_fallbacks_param(params, m, reply) != 0)
		return -1;
	if ((rc = admin_param_int(params, "retries", 0, 0, MODEL_RETRIES_MAX,
	    &v, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET)
		m->retries = (int)v;
	if ((rc = admin_param_int(params, "retry_deadline_ms", 0,
	    MODEL_DEADLINE_MIN, MODEL_DEADLINE_MAX, &v, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET)
		m->retry_deadline_ms = (int)v;
	if ((rc = admin_param_string(params, "category", 0, 1, 16, NULL, NULL,
	    &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET) {
		if (registry_category_parse(s) == -1)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "category: llm or embedding");
		admin_model_set(&m->category, s);
	}
	if ((rc = admin_param_bool(params, "tools", 0, &b, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET)
		m->tools = b;
	if ((rc = admin_param_bool(params, "vision", 0, &b, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET)
		m->vision = b;
	if (admin_param_money(params, "price_input", 0, &m->price_input,
	    reply) == -1 ||
	    admin_param_money(params, "price_output", 0, &m->price_output,
	    reply) == -1 ||
	    admin_param_money(params, "price_cached", 0, &m->price_cached,
	    reply) == -1)
		return -1;
	if ((rc = admin_param_number(params, "temperature",
	    ADMIN_PARAM_NULLABLE, 0, 2, &t, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET) {
		m->has_temperature = 1;
		m->temperature = t;
	} else if (rc == ADMIN_PARAM_NULL) {
		m->has_temperature = 0;
		m->temperature = 0;
	}
	if ((rc = admin_param_int(params, "max_tokens", ADMIN_PARAM_NULLABLE,
	    1, 10000000, &v, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET)
		m->max_tokens = v;
	else if (rc == ADMIN_PARAM_NULL)
		m->max_tokens = 0;
	if ((rc = admin_param_string(params, "system_prompt",
	    ADMIN_PARAM_NULLABLE, 0, MODEL_PROMPT_MAX, admin_valid_text,
	    "must be UTF-8 text", &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET || rc == ADMIN_PARAM_NULL)
		admin_model_set(&m->system_prompt, s);
	if (admin_model_guard_param(params, "guard_in", deploy ? 0 :
	    ADMIN_PARAM_NULLABLE, &m->guard_in, reply) == -1 ||
	    admin_model_guard_param(params, "guard_out", deploy ? 0 :
	    ADMIN_PARAM_NULLABLE, &m->guard_out, reply) == -1)
		return -1;
	if ((rc = admin_param_string(params, "description", deploy ? 0 :
	    ADMIN_PARAM_NULLABLE, 0, MODEL_DESCRIPTION_MAX, admin_valid_text,
	    "must be UTF-8 text", &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET || rc == ADMIN_PARAM_NULL)
		admin_model_set(&m->description, s != NULL ? s : "");
	if ((rc = admin_param_string(params, "status", 0, 1, 16, NULL, NULL,
	    &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET) {
		if (strcmp(s, "active") != 0 && strcmp(s, "inactive") != 0)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "status: active or inactive");
		admin_model_set(&m->status, s);
	}
	return 0;
}

/* Append one failed check to a pre-flight's message. */
static void
admin_model_failed(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;
	size_t	used = strlen(buf);

	if (used + 2 >= len)
		return;
	if (used > 0)
		used += (size_t)snprintf(buf + used, len - used, "; ");
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/*
 * The guardrails a model names must be its domain's (else not_found):
 * models keep their keys as JSON arrays, so the database cannot hold
 * them to it. Checked on every deploy and edit.
 */
static int
admin_model_check_guards(struct agent *agent, const struct store_domain *d,
    const struct store_model *m, struct admin_reply *reply)
{
	if (admin_guardrail_check_keys(agent, d, m->guard_in, "guard_in",
	    reply) != 0 || admin_guardrail_check_keys(agent, d, m->guard_out,
	    "guard_out", reply) != 0)
		return -1;
	return 0;
}

/*
 * Pre-flight checks before a model is stored: its provider exists (else
 * not_found) and is active, the backend serves model_id (when backend is
 * set: --force skips it), and the key is free (when it is new). Every
 * check runs; the error names each one that failed. The backend is asked
 * by a probe off the admin loop: the first run stops to ask for it.
 */
static int
admin_model_preflight(struct agent *agent, const struct store_domain *d,
    const struct store_model *m, int backend, int key_new,
    struct admin_reply *reply)
{
	const struct admin_probe *probe;
	struct store_provider	 p;
	struct store_model	 other;
	char			 err[256], failed[1024];
	int			 rc, active;

	rc = store_provider_get(agent->store, d->id, m->provider, &p, err,
	    sizeof(err));
	if (rc == STORE_NOT_FOUND)
		return admin_reply_error(reply, RPC_NOT_FOUND, "provider '%s'"
		    " not found in domain '%s'", m->provider, d->name);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	failed[0] = '\0';
	active = strcmp(p.status, "active") == 0;
	if (!active)
		admin_model_failed(failed, sizeof(failed), "provider active:"
		    " provider '%s' is %s%s%s", p.name, p.status,
		    p.error != NULL ? ": " : "", p.error != NULL ? p.error : "");
	else if (backend) {
		/* Asked for, the first time: it runs off the admin loop. */
		if ((probe = admin_probe_need(reply, ADMIN_PROBE_SERVED, &p,
		    m->model_id)) == NULL) {
			store_provider_clear(&p);
			return -1;
		}
		if (probe->rc != 0)
			admin_model_failed(failed, sizeof(failed), "model"
			    " served: %s%s (force skips this check)",
			    probe->rc < 0 ? "cannot ask the backend: " : "",
			    probe->why);
	}
	store_provider_clear(&p);
	if (key_new) {
		rc = store_model_get(agent->store, d->id, m->key, &other, err,
		    sizeof(err));
		if (rc == 0) {
			store_model_clear(&other);
			admin_model_failed(failed, sizeof(failed), "key unique:"
			    " model '%s' already exists in domain '%s'",
			    m->key, d->name);
		} else if (rc != STORE_NOT_FOUND)
			return admin_reply_store(reply, rc, err);
	}
	if (failed[0] != '\0')
		return admin_reply_error(reply, RPC_FAILED, "pre-flight"
		    " failed: %s", failed);
	return 0;
}

int
admin_model_deploy(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { MODEL_FIELDS, NULL };
	struct store_domain		 d;
	struct store_model		 m;
	const char			*key;
	char				 err[256];
	int				 rc, force = 0;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	memset(&m, 0, sizeof(m));
	memcpy(m.domain_id, d.id, sizeof(m.domain_id));
	m.category = xstrdup("llm");
	m.status = xstrdup("active");
	m.guard_in = xstrdup("[]");
	m.guard_out = xstrdup("[]");
	m.description = xstrdup("");
	m.fallbacks = xstrdup("[]");
	m.retries = MODEL_RETRIES_DEFAULT;
	m.retry_deadline_ms = MODEL_DEADLINE_DEFAULT;
	rc = -1;
	if (admin_model_apply(params, 1, &m, reply) != 0 ||
	    admin_param_bool(params, "force", 0, &force, reply) == -1)
		goto out;
	if (admin_param_string(params, "key", 0, 1, MODEL_KEY_MAX,
	    admin_valid_model_key, MODEL_KEY_CHARSET, &key, reply) == -1)
		goto out;
	if (key != NULL)
		m.key = xstrdup(key);
	else if ((m.key = admin_model_key_from_name(m.name)) == NULL) {
		admin_reply_error(reply, RPC_INVALID_PARAMS, "key: cannot be"
		    " derived from name '%s'; give one", m.name);
		goto out;
	}
	if (admin_model_check_guards(agent, &d, &m, reply) != 0 ||
	    admin_model_check_routing(agent, &d, &m,
	    cJSON_GetObjectItemCaseSensitive(params, "deployments") != NULL,
	    reply) != 0 ||
	    admin_model_preflight(agent, &d, &m, !force, 1, reply) != 0)
		goto out;
	m.created_at = m.updated_at = time(NULL);
	if ((rc = store_model_insert(agent->store, &m, err, sizeof(err))) !=
	    0) {
		rc = admin_reply_store(reply, rc, err);
		goto out;
	}
	reply->result = admin_model_json(&m);
	if (m.price_input == 0 && m.price_output == 0 && m.price_cached == 0)
		admin_json_add(reply->result, "warnings",
		    admin_model_warning("model '%s' has no pricing: its requests"
		    " will be traced at zero cost", m.key));
	rc = 0;
out:
	store_model_clear(&m);
	store_domain_clear(&d);
	return rc;
}

/* A model as model.list and model.show give it: with its live state. */
static cJSON *
admin_model_json_row(const void *row)
{
	return admin_model_json_live(row, 1);
}

static const struct admin_entity admin_model_entity = {
	.store = &store_model_entity,
	.key = "key",
	.key_max = MODEL_KEY_MAX,
	.valid = admin_valid_model_key,
	.charset = MODEL_KEY_CHARSET,
	.json = admin_model_json_row,
	.flags = ADMIN_ENTITY_IN_DOMAIN,
};

int
admin_model_list(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	return admin_entity_list(agent, &admin_model_entity, params, reply);
}

int
admin_model_show(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	return admin_entity_show(agent, &admin_model_entity, params, reply);
}

/* Rewrite a model after changes; the key may have changed from old_key. */
static int
admin_model_save(struct agent *agent, const char *old_key,
    struct store_model *m, struct admin_reply *reply)
{
	char	err[256];
	int	rc;

	m->updated_at = time(NULL);
	if ((rc = store_model_update(agent->store, old_key, m, err,
	    sizeof(err))) != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_model_json(m);
	return 0;
}

int
admin_model_edit(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { MODEL_FIELDS, "new_key",
					    NULL };
	struct store_domain		 d;
	struct store_model		 m;
	const char			*new_key;
	char				*old_key = NULL, *old_provider = NULL;
	char				*old_model_id = NULL;
	int				 rc = -1, force = 0, moved;

	if (admin_entity_lookup(agent, &admin_model_entity, params, allowed,
	    &d, &m, reply) != 0)
		return -1;
	old_key = xstrdup(m.key);
	old_provider = xstrdup(m.provider);
	old_model_id = xstrdup(m.model_id);
	if (admin_model_apply(params, 0, &m, reply) != 0 ||
	    admin_param_bool(params, "force", 0, &force, reply) == -1 ||
	    admin_param_string(params, "new_key", 0, 1, MODEL_KEY_MAX,
	    admin_valid_model_key, MODEL_KEY_CHARSET, &new_key, reply) == -1)
		goto out;
	if (new_key != NULL)
		admin_model_set(&m.key, new_key);
	/* What the backend serves matters only when that changes. */
	moved = strcmp(old_provider, m.provider) != 0 ||
	    strcmp(old_model_id, m.model_id) != 0;
	if (admin_model_check_guards(agent, &d, &m, reply) != 0 ||
	    admin_model_check_routing(agent, &d, &m,
	    cJSON_GetObjectItemCaseSensitive(params, "deployments") != NULL,
	    reply) != 0)
		goto out;
	/* A rename would leave the models that fall back on it dangling. */
	if (strcmp(old_key, m.key) != 0) {
		char	who[512];

		if ((rc = admin_model_listed_by(agent, d.id, old_key, who,
		    sizeof(who), reply)) != 0) {
			if (rc == 1)
				admin_reply_error(reply, RPC_CONFLICT, "model"
				    " '%s' is a fallback of %s; remove it from"
				    " their fallbacks first", old_key, who);
			rc = -1;
			goto out;
		}
		rc = -1;
	}
	if (moved ? admin_model_preflight(agent, &d, &m, !force,
	    strcmp(old_key, m.key) != 0, reply) != 0 :
	    strcmp(old_key, m.key) != 0 && admin_model_preflight(agent, &d,
	    &m, 0, 1, reply) != 0)
		goto out;
	rc = admin_model_save(agent, old_key, &m, reply);
out:
	free(old_key);
	free(old_provider);
	free(old_model_id);
	store_model_clear(&m);
	store_domain_clear(&d);
	return rc;
}

static int
admin_model_set_status(struct agent *agent, const cJSON *params,
    const char *status, struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "key", NULL };
	struct store_domain		 d;
	struct store_model		 m;
	char				*key;
	int				 rc;

	if (admin_entity_lookup(agent, &admin_model_entity, params, allowed,
	    &d, &m, reply) != 0)
		return -1;
	key = xstrdup(m.key);
	admin_model_set(&m.status, status);
	rc = admin_model_save(agent, key, &m, reply);
	free(key);
	store_model_clear(&m);
	store_domain_clear(&d);
	return rc;
}

int
admin_model_enable(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	return admin_model_set_status(agent, params, "active", reply);
}

int
admin_model_disable(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	return admin_model_set_status(agent, params, "inactive", reply);
}

int
admin_model_delete(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "key", NULL };
	struct store_domain		 d;
	struct store_model		 m;
	char				 err[256];
	int				 rc;

	char				 who[512];

	if (admin_entity_lookup(agent, &admin_model_entity, params, allowed,
	    &d, &m, reply) != 0)
		return -1;
	/* A fallback another model names stays: the operator unlists it. */
	if ((rc = admin_model_listed_by(agent, d.id, m.key, who, sizeof(who),
	    reply)) != 0) {
		if (rc == 1)
			admin_reply_error(reply, RPC_CONFLICT, "model '%s' is a"
			    " fallback of %s; remove it from their fallbacks"
			    " first", m.key, who);
		store_model_clear(&m);
		store_domain_clear(&d);
		return -1;
	}
	rc = store_model_delete(agent->store, d.id, m.key, err, sizeof(err));
	store_model_clear(&m);
	store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "deleted", admin_json_bool(1));
	return 0;
}
