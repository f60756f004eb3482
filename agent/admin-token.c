/*
 * Token methods: create (the only time a secret is shown), list, revoke.
 * Only the keyed hash of a secret is ever stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "rpc.h"
#include "xmalloc.h"

#define TOKEN_MODELS_MAX	256
#define TOKEN_EXPIRES_MAX	INT64_C(3153600000)	/* 100 years */
#define TOKEN_LIMIT_MAX		INT64_C(1000000000)
#define ADMIN_TOKEN_SEALED_MAX	512	/* a sealed secret, decoded */

static const char *
admin_token_status(const struct store_token *t, time_t now)
{
	if (t->revoked_at != 0)
		return "revoked";
	if (t->expires_at != 0 && t->expires_at <= (int64_t)now)
		return "expired";
	return "active";
}

static cJSON *
admin_token_limit(int64_t v)
{
	return v != 0 ? admin_json_number((double)v) : cJSON_CreateNull();
}

/* A token as results show it; secret is only given by token.create. */
cJSON *
admin_token_json(const struct store_token *t, const char *secret, int full)
{
	cJSON	*o, *models = NULL;

	o = admin_json_object();
	admin_json_add(o, "id", admin_json_string(t->id));
	if (secret != NULL)
		admin_json_add(o, "token", admin_json_string(secret));
	admin_json_add(o, "name", admin_json_string(t->name));
	admin_json_add(o, "domain", admin_json_string(t->domain_id));
	admin_json_add(o, "created_at", admin_json_time(t->created_at));
	admin_json_add(o, "expires_at", admin_json_time(t->expires_at));
	if (full) {
		admin_json_add(o, "revoked_at", admin_json_time(t->revoked_at));
		admin_json_add(o, "status", admin_json_string(
		    admin_token_status(t, time(NULL))));
	}
	if (t->models != NULL && ((models = cJSON_Parse(t->models)) == NULL ||
	    !cJSON_IsArray(models))) {
		cJSON_Delete(models);
		models = NULL;
	}
	admin_json_add(o, "models", models != NULL ? models :
	    cJSON_CreateNull());
	admin_json_add(o, "rpm", admin_token_limit(t->rpm));
	admin_json_add(o, "tpm", admin_token_limit(t->tpm));
	admin_json_add(o, "budget", t->budget != 0 ?
	    admin_json_money(t->budget) : cJSON_CreateNull());
	admin_json_add(o, "budget_period", t->budget != 0 &&
	    t->budget_period != PERIOD_NONE ? admin_json_string(
	    period_name(t->budget_period)) : cJSON_CreateNull());
	return o;
}

/* Budget periods as token.create takes them. */
static int
admin_token_valid_period(const char *s)
{
	return period_parse(s) != -1;
}

/*
 * What an active token has spent in its budget period, as the limiter
 * counts it (settled requests; the usage rollup at start), or null.
 */
static cJSON *
admin_token_spent(const struct registry *reg, const struct store_token *st)
{
	size_t	i;

	if (reg == NULL)
		return cJSON_CreateNull();
	for (i = 0; i < reg->ntokens; i++)
		if (strcmp(reg->tokens[i].id, st->id) == 0)
			return admin_json_money(limit_spent(&reg->tokens[i],
			    time(NULL)));
	return cJSON_CreateNull();
}

/*
 * What an active token's requests in flight hold of its budget now
 * (the limiter's memory, never the store), or null.
 */
static cJSON *
admin_token_reserved(const struct registry *reg, const struct store_token *st)
{
	size_t	i;

	if (reg == NULL)
		return cJSON_CreateNull();
	for (i = 0; i < reg->ntokens; i++)
		if (strcmp(reg->tokens[i].id, st->id) == 0)
			return admin_json_money(limit_reserved(
			    &reg->tokens[i]));
	return cJSON_CreateNull();
}

/* Every key of the allow-list must name a model of the domain. */
static int
admin_token_models(struct agent *agent, const struct store_domain *d,
    const cJSON *models, struct admin_reply *reply)
{
	struct store_model	 m;
	const cJSON		*e;
	char			 err[256];
	int			 rc;

	cJSON_ArrayForEach(e, models) {
		rc = store_model_get(agent->store, d->id, e->valuestring, &m,
		    err, sizeof(err));
		if (rc == STORE_NOT_FOUND)
			return admin_reply_error(reply, RPC_NOT_FOUND,
			    "models: model '%s' not found in domain '%s'",
			    e->valuestring, d->name);
		if (rc != 0)
			return admin_reply_store(reply, rc, err);
		store_model_clear(&m);
	}
	return 0;
}

/* A token id as token_generate_id() makes them: "tok_" and 16 hex digits. */
static int
admin_token_valid_id(const char *s)
{
	return strlen(s) == TOKEN_ID_LEN &&
	    strncmp(s, TOKEN_ID_PREFIX, 4) == 0 &&
	    strspn(s + 4, "0123456789abcdef") == TOKEN_ID_LEN - 4;
}

/*
 * Open secret_sealed (a token's secret sealed to status.seal_public_key,
 * in standard base64) into secret: 0, or -1 with the reply set.
 */
static int
admin_token_unseal(struct agent *agent, const char *b64,
    char secret[TOKEN_LEN + 1], struct admin_reply *reply)
{
	unsigned char	 blob[ADMIN_TOKEN_SEALED_MAX];
	const char	*end;
	char		*plain;
	size_t		 bloblen, len, b64len = strlen(b64);
	int		 ok;

	if (sodium_base642bin(blob, sizeof(blob), b64, b64len, NULL, &bloblen,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + b64len)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "secret_sealed: not standard padded base64");
	if (vault_unseal(agent->vault, blob, bloblen, &plain, &len) != 0)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "secret_sealed: does not open with this agent's key; seal"
		    " the token to status.seal_public_key");
	if ((ok = token_well_formed(plain, len)))
		memcpy(secret, plain, TOKEN_LEN + 1);
	sodium_free(plain);
	if (!ok)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "secret_sealed: not a Cube API token (cube_ and 43"
		    " base64url characters)");
	return 0;
}

int
admin_token_create(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "name",
					    "expires_in_s", "models", "rpm",
					    "tpm", "budget", "budget_period",
					    "id", "secret_sealed", NULL };
	struct store_domain		 d;
	struct store_token		 t;
	const cJSON			*models;
	const char			*name, *period, *id, *sealed;
	char				 secret[TOKEN_LEN + 1], err[256];
	int64_t				 expires_in = 0;
	int				 rc = -1;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	memset(&t, 0, sizeof(t));
	if (admin_param_string(params, "name", ADMIN_PARAM_NULLABLE, 0, 128,
	    admin_valid_line, "must be UTF-8 without control characters",
	    &name, reply) == -1 ||
	    admin_param_int(params, "expires_in_s", ADMIN_PARAM_NULLABLE, 1,
	    TOKEN_EXPIRES_MAX, &expires_in, reply) == -1 ||
	    admin_param_strings(params, "models", ADMIN_PARAM_NULLABLE,
	    TOKEN_MODELS_MAX, 128, admin_valid_model_key, "not a model key",
	    &models, reply) == -1 ||
	    admin_param_int(params, "rpm", ADMIN_PARAM_NULLABLE, 1,
	    TOKEN_LIMIT_MAX, &t.rpm, reply) == -1 ||
	    admin_param_int(params, "tpm", ADMIN_PARAM_NULLABLE, 1,
	    TOKEN_LIMIT_MAX, &t.tpm, reply) == -1 ||
	    admin_param_money(params, "budget", ADMIN_PARAM_NULLABLE,
	    &t.budget, reply) == -1 ||
	    admin_param_string(params, "budget_period", ADMIN_PARAM_NULLABLE,
	    1, 16, admin_token_valid_period, "day, week, month or none",
	    &period, reply) == -1 ||
	    admin_param_string(params, "id", ADMIN_PARAM_NULLABLE,
	    TOKEN_ID_LEN, TOKEN_ID_LEN, admin_token_valid_id, "tok_ and 16"
	    " lowercase hex digits", &id, reply) == -1 ||
	    admin_param_string(params, "secret_sealed", ADMIN_PARAM_NULLABLE,
	    1, ADMIN_TOKEN_SEALED_MAX, NULL, NULL, &sealed, reply) == -1)
		goto out;
	if (period != NULL)
		t.budget_period = period_parse(period);
	if (t.budget_period != PERIOD_NONE && t.budget == 0) {
		admin_reply_error(reply, RPC_INVALID_PARAMS, "budget_period:"
		    " needs a budget");
		goto out;
	}
	if (models != NULL && cJSON_GetArraySize(models) == 0) {
		admin_reply_error(reply, RPC_INVALID_PARAMS, "models: give at"
		    " least one model key, or leave it out to allow all");
		goto out;
	}
	if (params != NULL && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
	    params, "budget")) && t.budget == 0) {
		admin_reply_error(reply, RPC_INVALID_PARAMS, "budget: must be"
		    " more than 0; leave it out for no budget");
		goto out;
	}
	if (models != NULL && admin_token_models(agent, &d, models,
	    reply) != 0)
		goto out;

	/*
	 * The same token on several agents (limits shared across a fleet):
	 * its id given, and its secret sealed to this agent's key.
	 */
	if (sealed != NULL && id == NULL) {
		admin_reply_error(reply, RPC_INVALID_PARAMS, "secret_sealed:"
		    " needs the token's id");
		goto out;
	}
	if (sealed != NULL && admin_token_unseal(agent, sealed, secret,
	    reply) == -1)
		goto out;
	if (id != NULL)
		memcpy(t.id, id, TOKEN_ID_LEN + 1);
	else
		token_generate_id(t.id);
	memcpy(t.domain_id, d.id, sizeof(t.domain_id));
	t.name = xstrdup(name != NULL ? name : "");
	t.created_at = time(NULL);
	if (expires_in > 0)
		t.expires_at = t.created_at + expires_in;
	if (models != NULL && (t.models = cJSON_PrintUnformatted(models)) ==
	    NULL)
		goto out;
	if (sealed == NULL)
		token_generate(secret);
	vault_token_hash(agent->vault, secret, TOKEN_LEN, t.hash);
	if ((rc = store_token_insert(agent->store, &t, err, sizeof(err))) !=
	    0) {
		sodium_memzero(secret, sizeof(secret));
		rc = admin_reply_store(reply, rc, err);
		goto out;
	}
	/* An imported secret is the operator's already: never echoed. */
	reply->result = admin_token_json(&t, sealed == NULL ? secret : NULL, 0);
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	store_token_clear(&t);
	store_domain_clear(&d);
	return rc;
}

int
admin_token_list(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", NULL };
	struct store_domain		 d;
	struct store_token		*list;
	size_t				 n, i;
	struct registry			*reg;
	char				 err[256];
	cJSON				*a, *o;
	int				 rc;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	rc = store_token_list(agent->store, d.id, &list, &n, err, sizeof(err));
	store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	a = admin_json_array();
	reg = registry_acquire();
	for (i = 0; i < n; i++) {
		o = admin_token_json(&list[i], NULL, 1);
		admin_json_add(o, "spent_usd", admin_token_spent(reg,
		    &list[i]));
		admin_json_add(o, "reserved_usd", admin_token_reserved(reg,
		    &list[i]));
		cJSON_AddItemToArray(a, o);
	}
	if (reg != NULL)
		registry_release(reg);
	store_token_list_free(list, n);
	reply->result = a;
	return 0;
}

int
admin_token_revoke(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "id", NULL };
	struct store_domain		 d;
	struct store_token		 t;
	const char			*id;
	char				 err[256];
	int				 rc;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	if (admin_param_string(params, "id", ADMIN_PARAM_REQUIRED, 1, 64,
	    admin_valid_line, "not a token id", &id, reply) == -1) {
		store_domain_clear(&d);
		return -1;
	}
	rc = store_token_revoke(agent->store, d.id, id, time(NULL), err,
	    sizeof(err));
	if (rc == 0)
		rc = store_token_get(agent->store, d.id, id, &t, err,
		    sizeof(err));
	store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_token_json(&t, NULL, 1);
	store_token_clear(&t);
	return 0;
}
