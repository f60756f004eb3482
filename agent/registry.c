/*
 * The registry: an immutable snapshot of domains, providers, models and
 * token hashes, built from the store by the admin thread and read by the
 * workers. Publishing swaps the current pointer and bumps a generation;
 * a snapshot is freed when its last reader releases it. Workers keep
 * their own reference (registry_local_*) and per request only compare one
 * atomic with the generation they hold: no lock on the request path.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

struct registry_priv {
	atomic_uint		  refs;
	const struct reg_domain	**by_id;	/* sorted by id */
	struct registry		 *retired_next;	/* on registry_retired */
};

/*
 * The current snapshot. The lock only guards the pointer load and the
 * reference increment (a few instructions), so that a publisher can never
 * drop the last reference between a reader's load and its increment. It
 * is off the request path: workers take it only when registry_published
 * moved (once per publish, registry_local_refresh()); admin and
 * background threads take it through registry_acquire().
 */
static pthread_mutex_t		 registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry		*registry_current;
static atomic_uint_fast64_t	 registry_generations;
/* Bumped under registry_lock by every publish: what workers compare. */
static atomic_uint_fast64_t	 registry_published;
/*
 * Snapshots whose last reference a worker dropped, under registry_lock:
 * freeing one (sodium_free's munmaps, deploy_lock for each deployment)
 * is admin work, done by the next publish or the shutdown.
 */
static struct registry		*registry_retired;

/*
 * A worker's hold on one snapshot: one registry reference for all its
 * requests using it, which count on the hold in a plain integer (the
 * worker's thread only), so a request touches no shared cache line.
 */
struct registry_hold {
	struct registry_hold	*next;
	struct registry		*reg;		/* NULL: none was published */
	unsigned		 users;		/* the worker's requests */
};

struct registry_local {
	struct registry_hold	*cur;		/* NULL before the first use */
	struct registry_hold	*old;		/* older, still used */
	uint_fast64_t		 seen;		/* registry_published of cur */
};

static const char *const registry_drivers[] = {
	[DRIVER_OPENAI] = "openai",
	[DRIVER_OLLAMA] = "ollama",
	[DRIVER_VLLM] = "vllm",
};

static const char *const registry_categories[] = {
	[MODEL_LLM] = "llm",
	[MODEL_EMBEDDING] = "embedding",
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

int
registry_driver_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(registry_drivers); i++)
		if (name != NULL && strcmp(name, registry_drivers[i]) == 0)
			return (int)i;
	return -1;
}

const char *
registry_driver_name(enum provider_driver d)
{
	if ((size_t)d >= nitems(registry_drivers))
		return "unknown";
	return registry_drivers[d];
}

int
registry_category_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(registry_categories); i++)
		if (name != NULL && strcmp(name, registry_categories[i]) == 0)
			return (int)i;
	return -1;
}

/* Length-delimited against NUL-terminated, in strcmp order. */
static int
registry_cmp_len(const char *a, size_t alen, const char *b, size_t blen)
{
	int	c;

	if ((c = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
registry_cmp_domain_id(const void *a, const void *b)
{
	const struct reg_domain	*const *da = a, *const *db = b;

	return strcmp((*da)->id, (*db)->id);
}

static int
registry_cmp_model(const void *a, const void *b)
{
	const struct reg_model	*ma = a, *mb = b;

	return strcmp(ma->key, mb->key);
}

static int
registry_cmp_token(const void *a, const void *b)
{
	const struct reg_token	*ta = a, *tb = b;

	return memcmp(ta->hash, tb->hash, sizeof(ta->hash));
}

/* A domain of the snapshot being built, by its id. */
static struct reg_domain *
registry_domain_by_id(struct registry *r, const char *id)
{
	const struct reg_domain		**by_id = r->priv == NULL ? NULL :
					    ((struct registry_priv *)r->priv)->by_id;
	size_t				  lo = 0, hi = r->ndomains, mid;
	int				  c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(id, by_id[mid]->id)) == 0)
			return (struct reg_domain *)by_id[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Whether the agent's own client takes the requests under base_url. */
static int
registry_own_client_takes(const char *base_url)
{
	char	*url;
	int	 own;

	xasprintf(&url, "%s/", base_url);
	own = upstream_own_client_takes(url);
	free(url);
	return own;
}

static void
registry_provider_init(struct reg_provider *p, const struct store_provider *sp,
    const struct vault *vault)
{
	char	 err[256];
	int	 driver;
	size_t	 len;

	p->name = xstrdup(sp->name);
	if ((driver = registry_driver_parse(sp->driver)) == -1)
		driver = DRIVER_OPENAI;
	p->driver = driver;
	len = strlen(sp->url);
	while (len > 0 && sp->url[len - 1] == '/')
		len--;
	if (p->driver == DRIVER_OLLAMA)
		xasprintf(&p->base_url, "%.*s/v1", (int)len, sp->url);
	else
		p->base_url = xstrndup(sp->url, len);
	/* libcurl loaded ahead (curl-load.c), not by a first request. */
	if (!registry_own_client_takes(p->base_url))
		(void)curl_load();
	p->errored = strcmp(sp->status, "errored") == 0;
	p->responses_api = sp->responses_api;
	p->error = sp->error != NULL ? xstrdup(sp->error) : NULL;
	/* The verdict on this url and policy; none yet: not attested. */
	if (sp->attest_policy != NULL) {
		struct provider_verdict	 v;

		p->attest_policy = 1;
		provider_attest_verdict(sp->domain_id, sp->name, sp->url,
		    sp->attest_policy, &v);
		p->attested = v.attested;
		/* The refusal names the reason, not the detail (in the log). */
		if (!v.attested)
			p->attest_error = xstrndup(v.error, strcspn(v.error,
			    "("));
		else if (v.pin[0] != '\0') {
			p->attest_pin = xstrdup(v.pin);
			p->attest_pin_ca = v.pin_ca;
		}
		if (p->attest_error != NULL && (len = strlen(p->attest_error))
		    > 0 && p->attest_error[len - 1] == ' ')
			p->attest_error[len - 1] = '\0';
	}
	if (sp->credential != NULL) {
		p->auth = credential_header_new(vault, sp->credential,
		    sp->credential_len, err, sizeof(err));
		if (p->auth == NULL) {
			log_warnx("provider %s (domain %s): %s", sp->name,
			    sp->domain_id, err);
			p->errored = 1;
			free(p->error);
			p->error = xstrdup(err);
		}
	}
}

/* A deployment's model id and URLs on provider p. */
static void
registry_deployment_init(struct reg_deployment *d,
    const struct store_deployment *sd, const struct reg_provider *p,
    const char *domain_id, const char *model)
{
	cJSON	*s;

	d->provider = p;
	d->model_id = xstrdup(sd->model_id);
	if ((s = cJSON_CreateString(sd->model_id)) == NULL ||
	    (d->model_id_json = cJSON_PrintUnformatted(s)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(s);
	d->weight = sd->weight > 0 ? sd->weight : 1;
	d->priority = sd->priority;
	xasprintf(&d->url_chat, "%s/chat/completions", p->base_url);
	xasprintf(&d->url_completions, "%s/completions", p->base_url);
	xasprintf(&d->url_embeddings, "%s/embeddings", p->base_url);
	xasprintf(&d->url_fim, "%s/fim/completions", p->base_url);
	xasprintf(&d->url_rerank, "%s/rerank", p->base_url);
	xasprintf(&d->url_responses, "%s/responses", p->base_url);
	if (p->driver == DRIVER_OLLAMA) {
		/* Its native API, at the root its /v1 base was made from. */
		int	root = (int)strlen(p->base_url) - 3;

		xasprintf(&d->url_ollama[0], "%.*s/api/chat", root, p->base_url);
		xasprintf(&d->url_ollama[1], "%.*s/api/generate", root,
		    p->base_url);
		xasprintf(&d->url_ollama[2], "%.*s/api/embed", root,
		    p->base_url);
		xasprintf(&d->url_ollama[3], "%.*s/api/embeddings", root,
		    p->base_url);
	}
	d->state = deployment_state_get(domain_id, model, p->name,
	    sd->model_id);
}

static void
registry_deployment_clear(struct reg_deployment *d)
{
	size_t	i;

	free(d->model_id);
	free(d->model_id_json);
	free(d->url_chat);
	free(d->url_completions);
	free(d->url_embeddings);
	free(d->url_fim);
	free(d->url_rerank);
	free(d->url_responses);
	for (i = 0; i < 4; i++)
		free(d->url_ollama[i]);
	deployment_state_put(d->state);
}

/*
 * m from sm; its deployments on the providers deps[] names (indexes into
 * the snapshot's providers, one per stored deployment, n of them, at
 * least one). The model's own provider, model id and URLs are the first
 * deployment's.
 */
static void
registry_model_init(struct reg_model *m, const struct store_model *sm,
    const struct reg_provider *const *deps, size_t n)
{
	struct reg_deployment	*d0;
	cJSON			*s;
	size_t			 i;
	int			 category;

	m->key = xstrdup(sm->key);
	m->key_len = strlen(m->key);
	m->name = xstrdup(sm->name);
	m->deployments = xcalloc(n, sizeof(*m->deployments));
	m->ndeployments = n;
	m->responses_api = 1;
	for (i = 0; i < n; i++) {
		registry_deployment_init(&m->deployments[i],
		    &sm->deployments[i], deps[i], sm->domain_id, sm->key);
		if (!deps[i]->responses_api)
			m->responses_api = 0;
	}
	d0 = &m->deployments[0];
	m->model_id = d0->model_id;
	m->model_id_json = d0->model_id_json;
	m->provider = d0->provider;
	m->url_chat = d0->url_chat;
	m->url_completions = d0->url_completions;
	m->url_embeddings = d0->url_embeddings;
	m->url_fim = d0->url_fim;
	m->url_rerank = d0->url_rerank;
	m->url_responses = d0->url_responses;
	for (i = 0; i < 4; i++)
		m->url_ollama[i] = d0->url_ollama[i];
	m->retries = sm->retries;
	m->retry_deadline_ms = sm->retry_deadline_ms > 0 ?
	    sm->retry_deadline_ms : MODEL_DEADLINE_DEFAULT;
	if ((category = registry_category_parse(sm->category)) == -1)
		category = MODEL_LLM;
	m->category = category;
	m->tools = sm->tools;
	m->vision = sm->vision;
	m->price_input = sm->price_input;
	m->price_output = sm->price_output;
	m->price_cached = sm->price_cached;
	m->active = strcmp(sm->status, "active") == 0;
	m->updated_at = sm->updated_at;
	m->has_temperature = sm->has_temperature;
	m->temperature = sm->temperature;
	m->max_tokens = sm->max_tokens;
	m->system_prompt = sm->system_prompt != NULL ?
	    xstrdup(sm->system_prompt) : NULL;
	m->created = sm->created_at;
	if ((s = cJSON_CreateString(sm->key)) == NULL ||
	    (m->key_json = cJSON_PrintUnformatted(s)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(s);
}

/*
 * A model's fallbacks from its stored JSON array of keys, once every
 * model of the domain is in place (sorted). Keys that name no model of
 * the domain, or the model itself, are left out (the admin checks make
 * that a bug).
 */
static void
registry_fallbacks_init(struct reg_domain *d, struct reg_model *m,
    const char *json)
{
	const struct reg_model	*f;
	cJSON			*a, *e;

	if (json == NULL || (a = cJSON_Parse(json)) == NULL)
		return;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || m->nfallbacks == MODEL_FALLBACKS_MAX)
			continue;
		if ((f = registry_find_model(d, e->valuestring,
		    strlen(e->valuestring))) == NULL || f == m) {
			log_warnx("model %s (domain %s): fallback %s is"
			    " missing; left out", m->key, d->name,
			    e->valuestring);
			continue;
		}
		m->fallbacks[m->nfallbacks++] = f;
	}
	cJSON_Delete(a);
}

/* The domain's compiled guardrail called key, or NULL. */
static const struct guard *
registry_guard(const struct reg_domain *d, const char *key)
{
	size_t	lo = 0, hi = d->nguards, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, guard_key(d->guards[mid]))) == 0)
			return d->guards[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * A model's guardrail list from its stored JSON. A key that names no
 * compiled guardrail (the admin checks make this a bug, or a pattern
 * this PCRE2 no longer takes) fails closed: -1, and the model is not
 * served.
 */
static int
registry_guard_list(struct guard_list *l, const struct reg_domain *d,
    const char *json, const char *model)
{
	cJSON		*a, *e;
	int		 rc = 0;

	if (json == NULL || (a = cJSON_Parse(json)) == NULL ||
	    !cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0) {
		cJSON_Delete(json != NULL ? a : NULL);
		return 0;
	}
	l->guards = xcalloc(cJSON_GetArraySize(a), sizeof(*l->guards));
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e))
			continue;
		if ((l->guards[l->n] = registry_guard(d, e->valuestring)) ==
		    NULL) {
			log_warnx("model %s (domain %s): guardrail %s is"
			    " missing; the model is not served", model, d->name,
			    e->valuestring);
			rc = -1;
			continue;
		}
		l->n++;
	}
	cJSON_Delete(a);
	return rc;
}

/* Compile the store's guardrails (sorted by domain, key) into domains. */
static void
registry_guards_init(struct registry *r, const struct store_guardrail *sg,
    size_t nsg)
{
	struct reg_domain	*d;
	struct guard		*g;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < nsg; i++)
		if ((d = registry_domain_by_id(r, sg[i].domain_id)) != NULL)
			d->nguards++;
	for (i = 0; i < r->ndomains; i++) {
		if (r->domains[i].nguards > 0)
			r->domains[i].guards = xcalloc(r->domains[i].nguards,
			    sizeof(*r->domains[i].guards));
		r->domains[i].nguards = 0;
	}
	for (i = 0; i < nsg; i++) {
		if ((d = registry_domain_by_id(r, sg[i].domain_id)) == NULL)
			continue;
		if ((g = guard_spec_compile(sg[i].key, sg[i].kind,
		    sg[i].action, sg[i].params, err, sizeof(err))) == NULL) {
			log_warnx("guardrail %s (domain %s): %s", sg[i].key,
			    d->name, err);
			continue;
		}
		d->guards[d->nguards++] = g;
	}
}

/* The store's provider (sorted by domain_id, name) called name, or nsp. */
static size_t
registry_provider_index(const struct store_provider *sp, size_t nsp,
    const char *domain_id, const char *name)
{
	size_t	lo = 0, hi = nsp, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(domain_id, sp[mid].domain_id)) == 0)
			c = strcmp(name, sp[mid].name);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return nsp;
}

/* A token's allow-list from its stored JSON; -1 when it does not parse. */
static int
registry_token_models(struct reg_token *t, const char *json)
{
	cJSON	*a, *item;
	size_t	 n = 0;

	if (json == NULL)
		return 0;
	if ((a = cJSON_Parse(json)) == NULL || !cJSON_IsArray(a)) {
		cJSON_Delete(a);
		return -1;
	}
	t->models = xcalloc((size_t)cJSON_GetArraySize(a) + 1,
	    sizeof(*t->models));
	cJSON_ArrayForEach(item, a) {
		if (cJSON_IsString(item))
			t->models[n++] = xstrdup(item->valuestring);
	}
	t->nmodels = n;
	cJSON_Delete(a);
	return 0;
}

/*
 * What a token with a budget has spent in its period so far, from the
 * usage rollup: the limiter's start when it first sees the token (after a
 * restart). Unreadable spend fails closed: the budget counts as spent.
 */
static void
registry_token_spent(struct store *store, struct reg_token *t)
{
	char	err[256];

	t->spent_since = period_start(t->budget_period, time(NULL),
	    NULL);
	if (store_usage_token_spent(store, t->domain->id, t->id,
	    t->spent_since / 3600, &t->spent, err, sizeof(err)) != 0) {
		log_warnx("%s: token %s: %s", __func__, t->id, err);
		t->spent = t->budget;
	}
}

/*
 * A domain's JWT settings and keys, from the store's JSON: the JWKS file
 * read now, a URL's document as jwks.c last fetched it. Settings that do
 * not parse leave the domain taking no JWT (said in the log); keys that do
 * not load leave it refusing every JWT until they do.
 */
static struct jwt_config *
registry_jwt(const char *domain, const char *json)
{
	struct jwt_config	*c;
	cJSON			*o;
	const char		*doc;
	unsigned char		*buf = NULL;
	char			 err[256];
	size_t			 len = 0;

	if ((o = cJSON_Parse(json)) == NULL ||
	    (c = jwt_config_parse(o, err, sizeof(err))) == NULL) {
		log_warnx("domain %s: JWT settings unreadable, JWTs"
		    " refused%s%s", domain, o != NULL ? ": " : "", o != NULL ? err : "");
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_Delete(o);
	if (c->jwks_file != NULL) {
		if (tee_read_file(c->jwks_file, JWT_JWKS_MAX, &buf, &len, err,
		    sizeof(err)) == 0) {
			c->keys = jwt_keys_parse((char *)buf, len, err,
			    sizeof(err));
			free(buf);
		}
		if (c->keys == NULL)
			log_warnx("domain %s: JWKS file: %s", domain, err);
	} else if ((doc = jwks_cached(c->jwks_url, &len)) != NULL &&
	    (c->keys = jwt_keys_parse(doc, len, err, sizeof(err))) == NULL)
		log_warnx("domain %s: JWKS %s: %s", domain, c->jwks_url, err);
	return c;
}

struct registry *
registry_build(struct store *store, const struct vault *vault, char *err,
    size_t errlen)
{
	struct registry		*r;
	struct registry_priv	*priv;
	struct store_domain	*sd = NULL;
	struct store_provider	*sp = NULL;
	struct store_model	*sm = NULL;
	struct store_token	*st = NULL;
	struct store_guardrail	*sg = NULL;
	size_t			 nsd = 0, nsp = 0, nsm = 0, nst = 0, nsg = 0;
	size_t			 i, j, k, p;
	size_t			*fill = NULL;
	const struct reg_provider *deps[MODEL_DEPLOYMENTS_MAX];
	struct reg_domain	*d;
	struct reg_token	*t;

	if (store_domain_list(store, &sd, &nsd, err, errlen) != 0 ||
	    store_provider_list(store, NULL, &sp, &nsp, err, errlen) != 0 ||
	    store_model_list(store, NULL, &sm, &nsm, err, errlen) != 0 ||
	    store_token_list(store, NULL, &st, &nst, err, errlen) != 0 ||
	    store_guardrail_list(store, NULL, &sg, &nsg, err, errlen) != 0) {
		store_domain_list_free(sd, nsd);
		store_provider_list_free(sp, nsp);
		store_model_list_free(sm, nsm);
		store_token_list_free(st, nst);
		return NULL;
	}

	r = xcalloc(1, sizeof(*r));
	r->generation = atomic_fetch_add(&registry_generations, 1) + 1;
	r->priv = priv = xcalloc(1, sizeof(*priv));
	atomic_init(&priv->refs, 1);

	/* Domains, sorted by name (the store's order), indexed by id. */
	if (nsd > 0) {
		r->domains = xcalloc(nsd, sizeof(*r->domains));
		priv->by_id = xcalloc(nsd, sizeof(*priv->by_id));
		fill = xcalloc(nsd, sizeof(*fill));
	}
	r->ndomains = nsd;
	for (i = 0; i < nsd; i++) {
		d = &r->domains[i];
		memcpy(d->id, sd[i].id, sizeof(d->id));
		d->name = xstrdup(sd[i].name);
		d->log_content = sd[i].log_content;
		d->require_attested = sd[i].require_attested;
		if (sd[i].cors_origins != NULL && sd[i].cors_origins[0] != '\0')
			d->cors_origins = xstrdup(sd[i].cors_origins);
		if (sd[i].jwt != NULL)
			d->jwt = registry_jwt(d->name, sd[i].jwt);
		priv->by_id[i] = d;
	}
	if (nsd > 0)
		qsort(priv->by_id, nsd, sizeof(*priv->by_id),
		    registry_cmp_domain_id);

	/* Providers, in the store's (domain_id, name) order. */
	if (nsp > 0)
		r->providers = xcalloc(nsp, sizeof(*r->providers));
	r->nproviders = nsp;
	for (i = 0; i < nsp; i++)
		registry_provider_init(&r->providers[i], &sp[i], vault);

	/* Guardrails, compiled once here and shared by every worker. */
	registry_guards_init(r, sg, nsg);

	/*
	 * Models: count per domain, then fill each domain's array (the
	 * store gives them in key order).
	 */
	for (i = 0; i < nsm; i++)
		if ((d = registry_domain_by_id(r, sm[i].domain_id)) != NULL)
			d->nmodels++;
	for (i = 0; i < nsd; i++) {
		d = &r->domains[i];
		if (d->nmodels > 0)
			d->models = xcalloc(d->nmodels, sizeof(*d->models));
	}
	for (i = 0; i < nsm; i++) {
		if ((d = registry_domain_by_id(r, sm[i].domain_id)) == NULL)
			continue;
		for (k = 0; k < sm[i].ndeployments; k++) {
			if ((p = registry_provider_index(sp, nsp,
			    sm[i].domain_id, sm[i].deployments[k].provider)) ==
			    nsp)
				break;
			deps[k] = &r->providers[p];
		}
		if (sm[i].ndeployments == 0 || k < sm[i].ndeployments) {
			/* The foreign keys make this impossible. */
			log_warnx("%s: model %s has a deployment on no"
			    " provider", __func__, sm[i].key);
			continue;
		}
		j = fill[d - r->domains]++;
		registry_model_init(&d->models[j], &sm[i], deps,
		    sm[i].ndeployments);
		if (registry_guard_list(&d->models[j].guard_in, d,
		    sm[i].guard_in, sm[i].key) != 0 ||
		    registry_guard_list(&d->models[j].guard_out, d,
		    sm[i].guard_out, sm[i].key) != 0)
			d->models[j].active = 0;
	}
	for (i = 0; i < nsd; i++) {
		d = &r->domains[i];
		d->nmodels = fill[i];
		if (d->nmodels > 0)
			qsort(d->models, d->nmodels, sizeof(*d->models),
			    registry_cmp_model);
		/* GET /v1/models's body, ready for tokens that see all. */
		d->models_json = model_list_openai(d, NULL,
		    &d->models_json_len);
	}
	/* Fallbacks point into the domain's sorted models. */
	for (i = 0; i < nsm; i++) {
		struct reg_model	*m;

		if ((d = registry_domain_by_id(r, sm[i].domain_id)) == NULL ||
		    (m = (struct reg_model *)registry_find_model(d, sm[i].key,
		    strlen(sm[i].key))) == NULL)
			continue;
		registry_fallbacks_init(d, m, sm[i].fallbacks);
	}

	/* Tokens: all but revoked ones, sorted by hash. */
	if (nst > 0)
		r->tokens = xcalloc(nst, sizeof(*r->tokens));
	for (i = 0; i < nst; i++) {
		if (st[i].revoked_at != 0)
			continue;
		if ((d = registry_domain_by_id(r, st[i].domain_id)) == NULL)
			continue;
		t = &r->tokens[r->ntokens];
		memcpy(t->hash, st[i].hash, sizeof(t->hash));
		snprintf(t->id, sizeof(t->id), "%s", st[i].id);
		t->domain = d;
		t->expires_at = st[i].expires_at;
		t->rpm = st[i].rpm;
		t->tpm = st[i].tpm;
		t->budget = st[i].budget;
		t->budget_period = st[i].budget_period;
		if (t->budget != 0)
			registry_token_spent(store, t);
		if (registry_token_models(t, st[i].models) != 0) {
			/* Fail closed: a token whose allow-list is unreadable. */
			log_warnx("%s: token %s: bad model list; left out",
			    __func__, st[i].id);
			memset(t, 0, sizeof(*t));
			continue;
		}
		r->ntokens++;
	}
	if (r->ntokens > 0)
		qsort(r->tokens, r->ntokens, sizeof(*r->tokens),
		    registry_cmp_token);

	free(fill);
	store_domain_list_free(sd, nsd);
	store_provider_list_free(sp, nsp);
	store_model_list_free(sm, nsm);
	store_token_list_free(st, nst);
	store_guardrail_list_free(sg, nsg);
	return r;
}

void
registry_free(struct registry *r)
{
	struct registry_priv	*priv;
	struct reg_domain	*d;
	struct reg_model	*m;
	struct reg_provider	*p;
	size_t			 i, j, k;

	if (r == NULL)
		return;
	for (i = 0; i < r->ndomains; i++) {
		d = &r->domains[i];
		for (j = 0; j < d->nmodels; j++) {
			m = &d->models[j];
			free(m->key);
			free(m->name);
			free(m->system_prompt);
			free(m->key_json);
			for (k = 0; k < m->ndeployments; k++)
				registry_deployment_clear(&m->deployments[k]);
			free(m->deployments);
			free(m->guard_in.guards);
			free(m->guard_out.guards);
		}
		for (j = 0; j < d->nguards; j++)
			guard_free(d->guards[j]);
		free(d->guards);
		free(d->models);
		free(d->name);
		free(d->models_json);
		free(d->cors_origins);
		jwt_config_free(d->jwt);
	}
	free(r->domains);
	for (i = 0; i < r->nproviders; i++) {
		p = &r->providers[i];
		free(p->name);
		free(p->base_url);
		free(p->error);
		free(p->attest_error);
		free(p->attest_pin);
		credential_header_free(p->auth);
	}
	free(r->providers);
	for (i = 0; i < r->ntokens; i++) {
		for (j = 0; j < r->tokens[i].nmodels; j++)
			free(r->tokens[i].models[j]);
		free(r->tokens[i].models);
	}
	/* Token hashes are not secrets, but there is no reason to leave them. */
	if (r->tokens != NULL)
		sodium_memzero(r->tokens, r->ntokens * sizeof(*r->tokens));
	free(r->tokens);
	if ((priv = r->priv) != NULL)
		free(priv->by_id);
	free(priv);
	free(r);
}

void
registry_publish(struct registry *r)
{
	struct registry	*old, *retired, *next;

	pthread_mutex_lock(&registry_lock);
	old = registry_current;
	registry_current = r;
	/* Under the lock: a worker seeing the new count finds r or newer. */
	atomic_fetch_add_explicit(&registry_published, 1,
	    memory_order_seq_cst);
	retired = registry_retired;
	registry_retired = NULL;
	pthread_mutex_unlock(&registry_lock);
	registry_release(old);
	for (; retired != NULL; retired = next) {
		next = ((struct registry_priv *)retired->priv)->retired_next;
		registry_free(retired);
	}
}

int
registry_reload(struct store *store, const struct vault *vault, char *err,
    size_t errlen)
{
	struct registry	*r;

	if ((r = registry_build(store, vault, err, errlen)) == NULL)
		return -1;
	registry_publish(r);
	return 0;
}

/* The current snapshot with a reference taken; under registry_lock. */
static struct registry *
registry_current_ref(void)
{
	struct registry		*r;
	struct registry_priv	*priv;

	if ((r = registry_current) != NULL) {
		priv = r->priv;
		atomic_fetch_add_explicit(&priv->refs, 1,
		    memory_order_relaxed);
	}
	return r;
}

struct registry *
registry_acquire(void)
{
	struct registry		*r;

	pthread_mutex_lock(&registry_lock);
	r = registry_current_ref();
	pthread_mutex_unlock(&registry_lock);
	return r;
}

/* The last release frees; acq_rel orders every reader's use before it. */
void
registry_release(struct registry *r)
{
	struct registry_priv	*priv;

	if (r == NULL)
		return;
	priv = r->priv;
	if (atomic_fetch_sub_explicit(&priv->refs, 1,
	    memory_order_acq_rel) == 1)
		registry_free(r);
}

/* --- a worker's references (registry_local_*) ---------------------------- */

struct registry_local *
registry_local_new(void)
{
	struct registry_local	*l = xcalloc(1, sizeof(*l));

	l->seen = UINT_FAST64_MAX;	/* never published: refresh first */
	return l;
}

/*
 * Drop a hold no request uses any more: the worker's reference goes; the
 * last one hands the snapshot to the admin side (registry_retired).
 */
static void
registry_hold_free(struct registry_hold *h)
{
	struct registry_priv	*priv = h->reg != NULL ? h->reg->priv : NULL;

	if (priv != NULL && atomic_fetch_sub_explicit(&priv->refs, 1,
	    memory_order_acq_rel) == 1) {
		pthread_mutex_lock(&registry_lock);
		priv->retired_next = registry_retired;
		registry_retired = h->reg;
		pthread_mutex_unlock(&registry_lock);
	}
	free(h);
}

/*
 * Take the published snapshot as the worker's current one (the rare
 * path, once per publish). The previous one stays held while the
 * worker's requests use it, and goes with the last of them.
 */
static void
registry_local_refresh(struct registry_local *l)
{
	struct registry_hold	*h;
	struct registry		*r;

	pthread_mutex_lock(&registry_lock);
	r = registry_current_ref();
	l->seen = atomic_load_explicit(&registry_published,
	    memory_order_relaxed);
	pthread_mutex_unlock(&registry_lock);
	if (l->cur != NULL && l->cur->reg == r) {
		registry_release(r);	/* the same snapshot: one ref is enough */
		return;
	}
	if ((h = l->cur) != NULL) {
		if (h->users == 0)
			registry_hold_free(h);
		else {
			h->next = l->old;
			l->old = h;
		}
	}
	l->cur = xcalloc(1, sizeof(*l->cur));
	l->cur->reg = r;
}

/*
 * Per request, on the worker's thread: one atomic load compared with the
 * generation this worker holds, and the lock only when a publish moved it,
 * so a revoke or a deploy applies to the very next request.
 */
struct registry *
registry_local_acquire(struct registry_local *l)
{
	if (atomic_load_explicit(&registry_published, memory_order_acquire) !=
	    l->seen)
		registry_local_refresh(l);
	if (l->cur->reg == NULL)
		return NULL;
	l->cur->users++;
	return l->cur->reg;
}

/* End a request's use of r, taken with registry_local_acquire(l). */
void
registry_local_release(struct registry_local *l, struct registry *r)
{
	struct registry_hold	*h, **pp;

	if (r == NULL)
		return;
	if (l->cur != NULL && l->cur->reg == r) {
		l->cur->users--;
		return;
	}
	for (pp = &l->old; (h = *pp) != NULL; pp = &h->next)
		if (h->reg == r) {
			if (--h->users == 0) {
				*pp = h->next;
				registry_hold_free(h);
			}
			return;
		}
	fatalx("%s: a snapshot this worker does not hold", __func__);
}

/*
 * From the worker's timer: an idle worker lets go of a replaced snapshot
 * within a tick instead of pinning it (and its memory) until a request.
 */
void
registry_local_tick(struct registry_local *l)
{
	if (l->cur != NULL && atomic_load_explicit(&registry_published,
	    memory_order_acquire) != l->seen)
		registry_local_refresh(l);
}

/* How many snapshots l holds (tests): the current one and older ones. */
size_t
registry_local_holds(const struct registry_local *l)
{
	const struct registry_hold	*h;
	size_t				 n = l->cur != NULL;

	for (h = l->old; h != NULL; h = h->next)
		n++;
	return n;
}

/* The generation of l's current snapshot (tests); 0: none. */
uint64_t
registry_local_generation(const struct registry_local *l)
{
	return l->cur != NULL && l->cur->reg != NULL ?
	    l->cur->reg->generation : 0;
}

/* Once the worker's requests are gone: every reference it holds goes. */
void
registry_local_free(struct registry_local *l)
{
	struct registry_hold	*h;

	if (l == NULL)
		return;
	while ((h = l->old) != NULL) {
		l->old = h->next;
		registry_hold_free(h);
	}
	if (l->cur != NULL)
		registry_hold_free(l->cur);
	free(l);
}

void
registry_shutdown(void)
{
	registry_publish(NULL);
}

const struct reg_domain *
registry_find_domain(const struct registry *r, const char *s, size_t len)
{
	const struct registry_priv	*priv;
	size_t				 lo, hi, mid;
	int				 c;

	if (r == NULL || s == NULL)
		return NULL;
	priv = r->priv;
	/* An id first: 36 characters of a UUID. */
	if (len == sizeof(r->domains[0].id) - 1) {
		lo = 0;
		hi = r->ndomains;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = memcmp(s, priv->by_id[mid]->id, len);
			if (c == 0)
				return priv->by_id[mid];
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	lo = 0;
	hi = r->ndomains;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = registry_cmp_len(s, len, r->domains[mid].name,
		    strlen(r->domains[mid].name));
		if (c == 0)
			return &r->domains[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct reg_model *
registry_find_model(const struct reg_domain *d, const char *key, size_t len)
{
	size_t	lo = 0, hi, mid;
	int	c;

	if (d == NULL || key == NULL)
		return NULL;
	hi = d->nmodels;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = registry_cmp_len(key, len, d->models[mid].key,
		    d->models[mid].key_len);
		if (c == 0)
			return &d->models[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * The hash is keyed, so searching by it leaks nothing an attacker can use;
 * the final comparison is constant-time all the same.
 */
const struct reg_token *
registry_find_token(const struct registry *r, const struct vault *vault,
    const char *token, size_t len, time_t now)
{
	unsigned char		 hash[VAULT_TOKEN_HASH_BYTES];
	const struct reg_token	*t = NULL;
	size_t			 lo = 0, hi, mid;
	int			 c;

	if (r == NULL || !token_well_formed(token, len))
		return NULL;
	vault_token_hash(vault, token, len, hash);
	hi = r->ntokens;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(hash, r->tokens[mid].hash, sizeof(hash));
		if (c == 0) {
			t = &r->tokens[mid];
			break;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (t == NULL || sodium_memcmp(hash, t->hash, sizeof(hash)) != 0)
		return NULL;
	if (t->expires_at != 0 && t->expires_at <= (int64_t)now)
		return NULL;
	return t;
}

int
registry_token_allows(const struct reg_token *t, const struct reg_model *m)
{
	size_t	i;

	if (t == NULL || m == NULL)
		return 0;
	if (t->models == NULL)
		return 1;
	for (i = 0; i < t->nmodels; i++)
		if (strcmp(t->models[i], m->key) == 0)
			return 1;
	return 0;
}
