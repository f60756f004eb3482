/*
 * Guardrail methods: create, list, show, edit, delete, test. Every write
 * compiles the guardrail first (guard-spec.c), so a pattern that does not
 * compile is refused with its position, and a guardrail a model names
 * cannot be deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "store.h"
#include "guard.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define GUARDRAIL_KEY_MAX	128
#define GUARDRAIL_KEY_CHARSET	"use 1-128 of A-Z, a-z, 0-9, '.', '_', ':'," \
				" '/' and '-'"
#define GUARDRAIL_TEXT_MAX	(256 * 1024)
#define GUARDRAIL_DESCRIPTION_MAX 4096

/* Parameters create takes; edit takes them but "key" names the one. */
#define GUARDRAIL_FIELDS "domain", "key", "kind", "action", "types", \
	"patterns", "words", "max_chars", "max_messages", "description"

/* The parameters each kind takes, kept in the params JSON as given. */
static const struct admin_guardrail_param {
	const char	*name;
	enum guard_kind	 kind;
	int		 strings;	/* an array of strings, else an integer */
	size_t		 max;		/* entries, or the largest integer */
	size_t		 maxlen;
} admin_guardrail_params[] = {
	{ "types",	  GUARD_PII,	  1, GUARD_PII_TYPES, 16 },
	{ "patterns",	  GUARD_REGEX,	  1, GUARD_PATTERNS_MAX,
	  GUARD_PATTERN_MAX },
	{ "words",	  GUARD_KEYWORDS, 1, GUARD_WORDS_MAX, GUARD_WORD_MAX },
	{ "max_chars",	  GUARD_LENGTH,	  0, 100000000, 0 },
	{ "max_messages", GUARD_LENGTH,	  0, 100000, 0 },
};
#define ADMIN_GUARDRAIL_NPARAMS \
	(sizeof(admin_guardrail_params) / sizeof(admin_guardrail_params[0]))

static cJSON *
admin_guardrail_member(const cJSON *params, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(params, name);

	return v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

cJSON *
admin_guardrail_json(const struct store_guardrail *g)
{
	cJSON	*o, *params;
	size_t	 i;

	params = cJSON_Parse(g->params);
	o = admin_json_object();
	admin_json_add(o, "key", admin_json_string(g->key));
	admin_json_add(o, "kind", admin_json_string(g->kind));
	admin_json_add(o, "action", admin_json_string(g->action));
	for (i = 0; i < ADMIN_GUARDRAIL_NPARAMS; i++)
		admin_json_add(o, admin_guardrail_params[i].name,
		    admin_guardrail_member(params,
		    admin_guardrail_params[i].name));
	admin_json_add(o, "description", admin_json_string(g->description));
	admin_json_add(o, "created_at", admin_json_time(g->created_at));
	admin_json_add(o, "updated_at", admin_json_time(g->updated_at));
	cJSON_Delete(params);
	return o;
}

/*
 * Apply the kind, action, kind parameters and description given in
 * params to g (on create every one of them is new). Parameters of
 * another kind are refused; those of a kind g no longer has are dropped.
 * Then compile it: what is stored is what will run.
 */
static int
admin_guardrail_apply(const cJSON *params, int create,
    struct store_guardrail *g, struct admin_reply *reply)
{
	const struct admin_guardrail_param	*p;
	const cJSON				*a;
	const char				*s;
	cJSON					*stored, *v;
	struct guard				*compiled;
	char					 err[256];
	int64_t					 n;
	size_t					 i;
	int					 rc, kind, req;

	req = create ? ADMIN_PARAM_REQUIRED : 0;
	if ((rc = admin_param_string(params, "kind", req, 1, 16, NULL, NULL,
	    &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET) {
		if (guard_kind_parse(s) == -1)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "kind: pii, regex, keywords or length");
		free(g->kind);
		g->kind = xstrdup(s);
	}
	kind = guard_kind_parse(g->kind);
	if ((rc = admin_param_string(params, "action", req, 1, 16, NULL, NULL,
	    &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET) {
		if (guard_action_parse(s) == -1)
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "action: block, redact or log");
		free(g->action);
		g->action = xstrdup(s);
	}
	if ((rc = admin_param_string(params, "description", create ? 0 :
	    ADMIN_PARAM_NULLABLE, 0, GUARDRAIL_DESCRIPTION_MAX,
	    admin_valid_text, "must be UTF-8 text", &s, reply)) == -1)
		return -1;
	if (rc == ADMIN_PARAM_SET || rc == ADMIN_PARAM_NULL) {
		free(g->description);
		g->description = xstrdup(s != NULL ? s : "");
	}

	if ((stored = cJSON_Parse(g->params != NULL ? g->params : "{}")) ==
	    NULL || !cJSON_IsObject(stored)) {
		cJSON_Delete(stored);
		stored = admin_json_object();
	}
	for (i = 0; i < ADMIN_GUARDRAIL_NPARAMS; i++) {
		p = &admin_guardrail_params[i];
		if (p->strings)
			rc = admin_param_strings(params, p->name,
			    ADMIN_PARAM_NULLABLE, p->max, p->maxlen,
			    admin_valid_line, "must be UTF-8 without control"
			    " characters", &a, reply);
		else
			rc = admin_param_int(params, p->name,
			    ADMIN_PARAM_NULLABLE, 1, (int64_t)p->max, &n,
			    reply);
		if (rc == -1)
			goto fail;
		/* null is fine for any kind: it clears, or was clear. */
		if (rc == ADMIN_PARAM_SET && p->kind != (enum guard_kind)kind) {
			admin_reply_error(reply, RPC_INVALID_PARAMS, "%s: only"
			    " for kind %s", p->name, guard_kind_name(p->kind));
			goto fail;
		}
		if (rc == ADMIN_PARAM_SET || rc == ADMIN_PARAM_NULL ||
		    p->kind != (enum guard_kind)kind)
			cJSON_DeleteItemFromObjectCaseSensitive(stored,
			    p->name);
		if (rc == ADMIN_PARAM_SET) {
			v = p->strings ? cJSON_Duplicate(a, 1) :
			    cJSON_CreateNumber((double)n);
			admin_json_add(stored, p->name, v);
		}
	}
	free(g->params);
	if ((g->params = cJSON_PrintUnformatted(stored)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(stored);

	if ((compiled = guard_spec_compile(g->key != NULL ? g->key :
	    "inline", g->kind, g->action,
	    g->params, err, sizeof(err))) == NULL)
		return admin_reply_error(reply, RPC_INVALID_PARAMS, "%s", err);
	guard_free(compiled);
	return 0;
fail:
	cJSON_Delete(stored);
	return -1;
}

int
admin_guardrail_create(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { GUARDRAIL_FIELDS, NULL };
	struct store_domain		 d;
	struct store_guardrail		 g;
	const char			*key;
	char				 err[256];
	int				 rc = -1;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	memset(&g, 0, sizeof(g));
	memcpy(g.domain_id, d.id, sizeof(g.domain_id));
	if (admin_param_string(params, "key", ADMIN_PARAM_REQUIRED, 1,
	    GUARDRAIL_KEY_MAX, admin_valid_model_key, GUARDRAIL_KEY_CHARSET,
	    &key, reply) == -1)
		goto out;
	g.key = xstrdup(key);
	g.description = xstrdup("");
	if (admin_guardrail_apply(params, 1, &g, reply) != 0)
		goto out;
	g.created_at = g.updated_at = time(NULL);
	if ((rc = store_guardrail_insert(agent->store, &g, err,
	    sizeof(err))) != 0) {
		rc = admin_reply_store(reply, rc, err);
		goto out;
	}
	reply->result = admin_guardrail_json(&g);
out:
	store_guardrail_clear(&g);
	store_domain_clear(&d);
	return rc;
}

static cJSON *
admin_guardrail_json_row(const void *row)
{
	return admin_guardrail_json(row);
}

static const struct admin_entity admin_guardrail_entity = {
	.store = &store_guardrail_entity,
	.key = "key",
	.key_max = GUARDRAIL_KEY_MAX,
	.valid = admin_valid_model_key,
	.charset = GUARDRAIL_KEY_CHARSET,
	.json = admin_guardrail_json_row,
	.flags = ADMIN_ENTITY_IN_DOMAIN,
};

int
admin_guardrail_list(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	return admin_entity_list(agent, &admin_guardrail_entity, params,
	    reply);
}

int
admin_guardrail_show(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	return admin_entity_show(agent, &admin_guardrail_entity, params,
	    reply);
}

int
admin_guardrail_edit(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { GUARDRAIL_FIELDS, NULL };
	struct store_domain		 d;
	struct store_guardrail		 g;
	char				 err[256];
	int				 rc = -1;

	if (admin_entity_lookup(agent, &admin_guardrail_entity, params,
	    allowed, &d, &g, reply) != 0)
		return -1;
	if (admin_guardrail_apply(params, 0, &g, reply) != 0)
		goto out;
	g.updated_at = time(NULL);
	if ((rc = store_guardrail_update(agent->store, &g, err,
	    sizeof(err))) != 0) {
		rc = admin_reply_store(reply, rc, err);
		goto out;
	}
	reply->result = admin_guardrail_json(&g);
out:
	store_guardrail_clear(&g);
	store_domain_clear(&d);
	return rc;
}

/* Does a stored JSON array of keys name key? */
static int
admin_guardrail_listed(const char *json, const char *key)
{
	cJSON		*a;
	const cJSON	*e;
	int		 found = 0;

	if (json == NULL || (a = cJSON_Parse(json)) == NULL)
		return 0;
	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e) && strcmp(e->valuestring, key) == 0)
			found = 1;
	cJSON_Delete(a);
	return found;
}

int
admin_guardrail_delete(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "key", NULL };
	struct store_domain		 d;
	struct store_guardrail		 g;
	struct store_model		*models = NULL;
	size_t				 n = 0, i;
	char				 err[256];
	int				 rc;

	if (admin_entity_lookup(agent, &admin_guardrail_entity, params,
	    allowed, &d, &g, reply) != 0)
		return -1;
	rc = store_model_list(agent->store, d.id, &models, &n, err,
	    sizeof(err));
	for (i = 0; rc == 0 && i < n; i++) {
		if (admin_guardrail_listed(models[i].guard_in, g.key) ||
		    admin_guardrail_listed(models[i].guard_out, g.key)) {
			rc = admin_reply_error(reply, RPC_CONFLICT, "guardrail"
			    " '%s' is used by model '%s'; unbind it first"
			    " (model edit --no-guard-in / --no-guard-out)",
			    g.key, models[i].key);
			goto out;
		}
	}
	if (rc == 0)
		rc = store_guardrail_delete(agent->store, d.id, g.key, err,
		    sizeof(err));
	if (rc != 0) {
		rc = admin_reply_store(reply, rc, err);
		goto out;
	}
	reply->result = admin_json_object();
	admin_json_add(reply->result, "deleted", admin_json_bool(1));
out:
	store_model_list_free(models, n);
	store_guardrail_clear(&g);
	store_domain_clear(&d);
	return rc;
}

/*
 * Every key of a model's guard_in or guard_out (stored JSON) must name a
 * guardrail of the domain.
 */
int
admin_guardrail_check_keys(struct agent *agent, const struct store_domain *d,
    const char *json, const char *param, struct admin_reply *reply)
{
	struct store_guardrail	 g;
	cJSON			*a;
	const cJSON		*e;
	char			 err[256];
	int			 rc = 0;

	if (json == NULL || (a = cJSON_Parse(json)) == NULL)
		return 0;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e))
			continue;
		rc = store_guardrail_get(agent->store, d->id, e->valuestring,
		    &g, err, sizeof(err));
		if (rc == 0) {
			store_guardrail_clear(&g);
			continue;
		}
		if (rc == STORE_NOT_FOUND)
			rc = admin_reply_error(reply, RPC_NOT_FOUND, "%s:"
			    " guardrail '%s' not found in domain '%s'", param,
			    e->valuestring, d->name);
		else
			rc = admin_reply_store(reply, rc, err);
		break;
	}
	cJSON_Delete(a);
	return rc;
}

/* What a guardrail would do to a text, for operators writing one. */
/*
 * guardrail.test's inline spec: a guardrail made of the create fields in
 * params, checked and compiled as create would (same bounds), but not
 * stored and with no key. Fills d and g for the caller to clear.
 */
static int
admin_guardrail_inline(struct agent *agent, const cJSON *params,
    const char *const *allowed, struct store_domain *d,
    struct store_guardrail *g, struct admin_reply *reply)
{
	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, d, reply) != 0)
		return -1;
	memset(g, 0, sizeof(*g));
	g->description = xstrdup("");
	if (admin_guardrail_apply(params, 1, g, reply) != 0) {
		store_guardrail_clear(g);
		store_domain_clear(d);
		return -1;
	}
	return 0;
}

int
admin_guardrail_test(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "key", "text",
					    NULL };
	static const char *const	 inline_allowed[] = { "domain", "kind",
					    "action", "types", "patterns",
					    "words", "max_chars",
					    "max_messages", "description",
					    "text", NULL };
	struct store_domain		 d;
	struct store_guardrail		 g;
	struct guard			*marker = NULL;
	const struct guard		*gp[1];
	struct guard_list		 list = { gp, 1 };
	struct guard_report		 report;
	enum guard_result		 res;
	const char			*text, *result;
	char				*out = NULL, err[256];
	size_t				 outlen, i;
	cJSON				*hits, *h;
	int				 rc = -1;

	if (cJSON_GetObjectItemCaseSensitive(params, "kind") != NULL) {
		if (admin_guardrail_inline(agent, params, inline_allowed, &d,
		    &g, reply) != 0)
			return -1;
	} else if (admin_entity_lookup(agent, &admin_guardrail_entity, params,
	    allowed, &d, &g, reply) != 0)
		return -1;
	if (admin_param_string(params, "text", ADMIN_PARAM_REQUIRED, 0,
	    GUARDRAIL_TEXT_MAX, admin_valid_text, "must be UTF-8 text", &text,
	    reply) == -1)
		goto done;
	/* Compiled to redact, so the text shows where every match is. */
	if ((marker = guard_spec_compile(g.key != NULL ? g.key : "inline",
	    g.kind, strcmp(g.kind,
	    "length") == 0 ? g.action : "redact", g.params, err,
	    sizeof(err))) == NULL) {
		admin_reply_error(reply, RPC_INTERNAL_ERROR, "guardrail '%s'"
		    " does not compile: %s", g.key, err);
		goto done;
	}
	gp[0] = marker;
	memset(&report, 0, sizeof(report));
	if (guard_kind(marker) == GUARD_LENGTH)
		res = guard_length(&list, guard_utf8_chars(text, strlen(text)),
		    1, &report);
	else
		res = guard_text(&list, text, strlen(text), &out, &outlen,
		    &report);
	if (report.nhits == 0)
		result = "pass";
	else if (strcmp(g.action, "block") == 0)
		result = "blocked";
	else if (strcmp(g.action, "redact") == 0)
		result = "redacted";
	else
		result = "logged";
	reply->result = admin_json_object();
	admin_json_add(reply->result, "key", g.key != NULL ?
	    admin_json_string(g.key) : cJSON_CreateNull());
	admin_json_add(reply->result, "action", admin_json_string(g.action));
	admin_json_add(reply->result, "result", admin_json_string(result));
	admin_json_add(reply->result, "text", admin_json_string(
	    res == GUARD_REDACTED ? out : text));
	hits = admin_json_array();
	for (i = 0; i < report.nhits; i++) {
		h = admin_json_object();
		admin_json_add(h, "type", admin_json_string(
		    guard_type_name(report.hits[i].type)));
		admin_json_add(h, "count", admin_json_number(
		    report.hits[i].count));
		cJSON_AddItemToArray(hits, h);
	}
	admin_json_add(reply->result, "hits", hits);
	rc = 0;
done:
	free(out);
	guard_free(marker);
	store_guardrail_clear(&g);
	store_domain_clear(&d);
	return rc;
}
