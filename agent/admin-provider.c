/*
 * Provider methods: add and edit (sealed credentials), list, test, models,
 * delete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "attest.h"
#include "rpc.h"
#include "xmalloc.h"

#define PROVIDER_NAME_CHARSET	"use 1-63 of A-Z, a-z, 0-9, '.', '_' and '-'"
#define PROVIDER_URL_MAX	2048
#define PROVIDER_SEALED_MAX	(8192 + crypto_box_SEALBYTES)

static void	admin_provider_attest_json(cJSON *,
		    const struct store_provider *);

cJSON *
admin_provider_json(const struct store_provider *p)
{
	cJSON	*o;

	o = admin_json_object();
	admin_json_add(o, "name", admin_json_string(p->name));
	admin_json_add(o, "driver", admin_json_string(p->driver));
	admin_json_add(o, "url", admin_json_string(p->url));
	admin_json_add(o, "credential", admin_json_string(p->credential !=
	    NULL ? "sealed" : "none"));
	admin_json_add(o, "fingerprint", admin_json_string(p->fingerprint));
	admin_json_add(o, "status", admin_json_string(p->status));
	admin_json_add(o, "error", admin_json_string(p->error));
	admin_json_add(o, "created_at", admin_json_time(p->created_at));
	admin_json_add(o, "responses_api", admin_json_bool(p->responses_api));
	admin_provider_attest_json(o, p);
	return o;
}

/*
 * Confidential routing: whether the provider has an attest_policy, its
 * text (for cubectl export), and the live verdict on its evidence (the
 * one routing reads, for the URL and policy the provider has now).
 */
static void
admin_provider_attest_json(cJSON *o, const struct store_provider *p)
{
	struct provider_verdict	 v;

	admin_json_add(o, "attest_policy", admin_json_bool(p->attest_policy !=
	    NULL));
	admin_json_add(o, "attest_policy_text",
	    admin_json_string(p->attest_policy));
	if (p->attest_policy == NULL) {
		admin_json_add(o, "attested", admin_json_bool(0));
		admin_json_add(o, "attest_error", admin_json_string(NULL));
		admin_json_add(o, "attested_at", admin_json_time(0));
		return;
	}
	provider_attest_verdict(p->domain_id, p->name, p->url,
	    p->attest_policy, &v);
	admin_json_add(o, "attested", admin_json_bool(v.attested));
	admin_json_add(o, "attest_error", admin_json_string(v.attested ?
	    NULL : v.error));
	admin_json_add(o, "attested_at", admin_json_time(v.at));
}

/*
 * The "attest_policy" parameter: a policy document (cube-attest-policy(5))
 * checked as the verifier will read it, or null for none. Fills *out
 * (caller frees; NULL for none). ADMIN_PARAM_SET, _ABSENT, or -1.
 */
static int
admin_provider_policy(const cJSON *params, char **out,
    struct admin_reply *reply)
{
	const char	*text;
	char		 err[256];
	int		 rc;

	*out = NULL;
	if ((rc = admin_param_string(params, "attest_policy",
	    ADMIN_PARAM_NULLABLE, 1, ATTEST_POLICY_FILE_MAX, NULL, NULL, &text,
	    reply)) != ADMIN_PARAM_SET || text == NULL)
		return rc;
	if (provider_attest_policy_check(text, err, sizeof(err)) == -1)
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "attest_policy: %s", err);
	*out = xstrdup(text);
	return rc;
}

/*
 * http:// or https://, a host, printable ASCII without spaces, no query,
 * fragment or user:password@ (a key belongs in the sealed credential).
 * Returns the URL without trailing slashes, or NULL with reply filled.
 */
static char *
admin_provider_url(const char *url, struct admin_reply *reply)
{
	const char	*host, *p;
	size_t		 len, hostlen;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "url: must start with http:// or https://");
		return NULL;
	}
	for (p = url; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~') {
			admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "url: spaces and control characters are not"
			    " allowed");
			return NULL;
		}
		if (*p == '?' || *p == '#') {
			admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "url: no query or fragment; give the API base");
			return NULL;
		}
	}
	hostlen = strcspn(host, "/");
	if (hostlen == 0) {
		admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "url: no host");
		return NULL;
	}
	if (memchr(host, '@', hostlen) != NULL) {
		admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "url: no user or password in the URL; pass the API key"
		    " as the sealed credential");
		return NULL;
	}
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	return xstrndup(url, len);
}

/*
 * Decode and open a sealed credential: it must open with our key and hold
 * a usable API key. Fills the blob (caller frees) and the fingerprint.
 */
static int
admin_provider_credential(struct agent *agent, const char *b64,
    struct store_provider *p, struct admin_reply *reply)
{
	unsigned char	*blob;
	const char	*end;
	char		*key;
	size_t		 bloblen, keylen, b64len = strlen(b64);
	int		 ok;

	blob = xmalloc(PROVIDER_SEALED_MAX);
	if (sodium_base642bin(blob, PROVIDER_SEALED_MAX, b64, b64len, NULL,
	    &bloblen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + b64len) {
		free(blob);
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "credential: not standard padded base64 of at most %d"
		    " bytes", PROVIDER_SEALED_MAX);
	}
	if (vault_unseal(agent->vault, blob, bloblen, &key, &keylen) != 0) {
		free(blob);
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "credential: does not open with this agent's key; seal"
		    " the API key to status.seal_public_key");
	}
	ok = credential_valid(key, keylen);
	if (ok) {
		p->fingerprint = xmalloc(VAULT_FINGERPRINT_LEN + 1);
		vault_fingerprint(agent->vault, key, keylen, p->fingerprint);
	}
	sodium_free(key);
	if (!ok) {
		free(blob);
		return admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "credential: the API key must be 1-4096 printable"
		    " characters without spaces or a trailing newline");
	}
	p->credential = blob;
	p->credential_len = bloblen;
	return 0;
}

int
admin_provider_add(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "name",
					    "driver", "url", "credential",
					    "responses_api", "attest_policy",
					    NULL };
	struct store_domain		 d;
	struct store_provider		 p;
	const char			*name, *driver, *url, *cred;
	char				 err[256];
	int				 rc;

	memset(&p, 0, sizeof(p));
	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	rc = -1;
	if (admin_param_string(params, "name", ADMIN_PARAM_REQUIRED, 1, 63,
	    admin_valid_provider_name, PROVIDER_NAME_CHARSET, &name,
	    reply) == -1 ||
	    admin_param_string(params, "driver", ADMIN_PARAM_REQUIRED, 1, 16,
	    NULL, NULL, &driver, reply) == -1 ||
	    admin_param_string(params, "url", ADMIN_PARAM_REQUIRED, 1,
	    PROVIDER_URL_MAX, NULL, NULL, &url, reply) == -1 ||
	    admin_param_string(params, "credential", ADMIN_PARAM_NULLABLE, 1,
	    2 * PROVIDER_SEALED_MAX, NULL, NULL, &cred, reply) == -1 ||
	    admin_param_bool(params, "responses_api", 0, &p.responses_api,
	    reply) == -1 ||
	    admin_provider_policy(params, &p.attest_policy, reply) == -1)
		goto out;
	if (registry_driver_parse(driver) == -1) {
		admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "driver: one of openai, vllm, ollama");
		goto out;
	}
	if ((p.url = admin_provider_url(url, reply)) == NULL)
		goto out;
	if (cred != NULL && admin_provider_credential(agent, cred, &p,
	    reply) != 0)
		goto out;

	memcpy(p.domain_id, d.id, sizeof(p.domain_id));
	p.name = xstrdup(name);
	p.driver = xstrdup(driver);
	p.status = xstrdup("active");
	p.created_at = time(NULL);
	if ((rc = store_provider_insert(agent->store, &p, err,
	    sizeof(err))) != 0) {
		rc = admin_reply_store(reply, rc, err);
		goto out;
	}
	reply->result = admin_provider_json(&p);
	if (p.attest_policy != NULL)
		provider_attest_kick();
	rc = 0;
out:
	store_provider_clear(&p);
	store_domain_clear(&d);
	return rc;
}

/* A provider as provider.list shows it: with its breakers open now. */
static cJSON *
admin_provider_json_live(const void *row)
{
	const struct store_provider	*p = row;
	cJSON				*o;

	o = admin_provider_json(p);
	admin_json_add(o, "breakers_open", admin_json_number(
	    deployment_open_count(p->domain_id, p->name,
	    deployment_now_ms())));
	return o;
}

static const struct admin_entity admin_provider_entity = {
	.store = &store_provider_entity,
	.key = "name",
	.key_max = 63,
	.valid = admin_valid_provider_name,
	.charset = PROVIDER_NAME_CHARSET,
	.json = admin_provider_json_live,
};

int
admin_provider_list(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	return admin_entity_list(agent, &admin_provider_entity, params, reply);
}

/*
 * Probe the provider and record the outcome as its status. The probe
 * runs off the admin loop and outside any transaction (admin-probe.c):
 * NULL, the first time, asks for it; then the outcome, recorded, when p
 * is still what was probed. NULL with reply filled on an error.
 */
static const struct admin_probe *
admin_provider_probe(struct agent *agent, struct store_provider *p,
    enum admin_probe_kind kind, struct admin_reply *reply)
{
	const struct admin_probe	*probe;
	char				 err[256];
	int				 rc;

	if ((probe = admin_probe_need(reply, kind, p, NULL)) == NULL)
		return NULL;
	/* Our own shortage says nothing of the provider: keep its status. */
	if (probe->rc == PROBE_LOCAL) {
		admin_reply_error(reply, RPC_FAILED, "provider '%s': %s", p->name,
		    probe->why);
		return NULL;
	}
	free(p->status);
	free(p->error);
	p->status = xstrdup(probe->rc == 0 ? "active" : "errored");
	p->error = probe->rc == 0 ? NULL : xstrdup(probe->why);
	if ((rc = store_provider_set_status(agent->store, p->domain_id,
	    p->name, p->status, p->error, err, sizeof(err))) != 0) {
		admin_reply_store(reply, rc, err);
		return NULL;
	}
	reply->changed = 1;
	return probe;
}

int
admin_provider_test(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	const struct admin_probe	*probe;
	struct store_provider		 p;

	if (admin_entity_lookup(agent, &admin_provider_entity, params, NULL,
	    NULL, &p, reply) != 0)
		return -1;
	if ((probe = admin_provider_probe(agent, &p, ADMIN_PROBE_STATUS,
	    reply)) == NULL) {
		store_provider_clear(&p);
		return -1;
	}
	reply->result = admin_json_object();
	admin_json_add(reply->result, "name", admin_json_string(p.name));
	admin_json_add(reply->result, "status", admin_json_string(p.status));
	admin_json_add(reply->result, "error", admin_json_string(p.error));
	admin_json_add(reply->result, "latency_ms",
	    admin_json_number((double)probe->latency_ms));
	store_provider_clear(&p);
	return 0;
}

int
admin_provider_models(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	const struct admin_probe	*probe;
	struct store_provider		 p;
	size_t				 i;
	cJSON				*a;
	int				 rc = -1;

	if (admin_entity_lookup(agent, &admin_provider_entity, params, NULL,
	    NULL, &p, reply) != 0)
		return -1;
	if ((probe = admin_provider_probe(agent, &p, ADMIN_PROBE_MODELS,
	    reply)) == NULL)
		goto out;
	if (probe->rc != 0) {
		admin_reply_error(reply, RPC_FAILED, "provider '%s': %s",
		    p.name, probe->why);
		goto out;
	}
	a = admin_json_array();
	for (i = 0; i < probe->nnames; i++)
		cJSON_AddItemToArray(a, admin_json_string(probe->names[i]));
	reply->result = admin_json_object();
	admin_json_add(reply->result, "models", a);
	rc = 0;
out:
	store_provider_clear(&p);
	return rc;
}

/* Would setting want change stored provider have? */
static int
admin_provider_differs(const struct store_provider *have,
    const struct store_provider *want)
{
	if (strcmp(have->driver, want->driver) != 0 ||
	    strcmp(have->url, want->url) != 0 ||
	    have->responses_api != want->responses_api ||
	    (have->attest_policy == NULL) != (want->attest_policy == NULL) ||
	    (have->attest_policy != NULL &&
	    strcmp(have->attest_policy, want->attest_policy) != 0) ||
	    (have->credential == NULL) != (want->credential == NULL))
		return 1;
	/* A key sealed again is a new blob: the fingerprint tells. */
	return have->fingerprint != NULL && want->fingerprint != NULL &&
	    strcmp(have->fingerprint, want->fingerprint) != 0;
}

/*
 * provider.edit: change driver, url, credential (null removes it),
 * responses_api (whether the backend serves /v1/responses itself) or
 * attest_policy (null removes it; a change is verified again). With
 * dry_run nothing is stored: the result is the provider as it would be,
 * which is how a client learns whether a key it holds is the stored one
 * (same key, same fingerprint) without the key ever coming back out.
 * "changed" says whether the stored provider differs (or would).
 */
int
admin_provider_edit(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "name",
					    "driver", "url", "credential",
					    "responses_api", "attest_policy",
					    "dry_run", NULL };
	struct store_provider		 have, want;
	const char			*driver, *url, *cred;
	char				 err[256];
	int				 dry_run = 0, changed, rc = -1, set = 0;
	int				 pset;

	if (admin_entity_lookup(agent, &admin_provider_entity, params, allowed,
	    NULL, &have, reply) != 0)
		return -1;
	memset(&want, 0, sizeof(want));
	if (admin_param_string(params, "driver", 0, 1, 16, NULL, NULL,
	    &driver, reply) == -1 ||
	    admin_param_string(params, "url", 0, 1, PROVIDER_URL_MAX, NULL,
	    NULL, &url, reply) == -1 ||
	    (set = admin_param_string(params, "credential",
	    ADMIN_PARAM_NULLABLE, 1, 2 * PROVIDER_SEALED_MAX, NULL, NULL,
	    &cred, reply)) == -1 ||
	    admin_param_bool(params, "dry_run", 0, &dry_run, reply) == -1)
		goto out;
	want.responses_api = have.responses_api;
	if (admin_param_bool(params, "responses_api", 0, &want.responses_api,
	    reply) == -1 || (pset = admin_provider_policy(params,
	    &want.attest_policy, reply)) == -1)
		goto out;
	if (pset == ADMIN_PARAM_ABSENT && have.attest_policy != NULL)
		want.attest_policy = xstrdup(have.attest_policy);
	if (driver != NULL && registry_driver_parse(driver) == -1) {
		admin_reply_error(reply, RPC_INVALID_PARAMS,
		    "driver: one of openai, vllm, ollama");
		goto out;
	}
	if (url != NULL && (want.url = admin_provider_url(url, reply)) == NULL)
		goto out;
	if (cred != NULL && admin_provider_credential(agent, cred, &want,
	    reply) != 0)
		goto out;

	memcpy(want.domain_id, have.domain_id, sizeof(want.domain_id));
	want.name = xstrdup(have.name);
	want.driver = xstrdup(driver != NULL ? driver : have.driver);
	if (want.url == NULL)
		want.url = xstrdup(have.url);
	if (set == ADMIN_PARAM_ABSENT && have.credential != NULL) {
		want.credential = xmalloc(have.credential_len);
		memcpy(want.credential, have.credential, have.credential_len);
		want.credential_len = have.credential_len;
		if (have.fingerprint != NULL)
			want.fingerprint = xstrdup(have.fingerprint);
	}
	want.created_at = have.created_at;
	/*
	 * A change may fix what the last check found: test it again. A key
	 * given where the stored one does not open here (sealed on another
	 * host, restored from its backup) is a change even when its
	 * fingerprint matches: apply seals it again.
	 */
	if ((changed = admin_provider_differs(&have, &want) || (cred != NULL &&
	    have.credential != NULL && !vault_opens(agent->vault,
	    have.credential, have.credential_len)))) {
		want.status = xstrdup("active");
		want.error = NULL;
	} else {
		want.status = xstrdup(have.status);
		want.error = have.error != NULL ? xstrdup(have.error) : NULL;
	}
	if (changed && !dry_run && (rc = store_provider_update(agent->store,
	    &want, err, sizeof(err))) != 0) {
		rc = admin_reply_store(reply, rc, err);
		goto out;
	}
	if (changed && !dry_run)
		provider_attest_kick();
	reply->result = admin_provider_json(&want);
	admin_json_add(reply->result, "changed", admin_json_bool(changed));
	rc = 0;
out:
	store_provider_clear(&want);
	store_provider_clear(&have);
	return rc;
}

int
admin_provider_delete(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	struct store_provider	 p;
	char			 err[512];
	int			 rc;

	if (admin_entity_lookup(agent, &admin_provider_entity, params, NULL,
	    NULL, &p, reply) != 0)
		return -1;
	rc = store_provider_delete(agent->store, p.domain_id, p.name, err,
	    sizeof(err));
	store_provider_clear(&p);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "deleted", admin_json_bool(1));
	return 0;
}
