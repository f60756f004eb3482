/* registry.c: snapshot contents, lookups, tokens, and publish under load. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "fixture.h"
#include "log.h"

#define DOM_A	"aaaaaaaa-1111-4111-8111-111111111111"
#define DOM_B	"bbbbbbbb-2222-4222-8222-222222222222"

struct fixture {
	char		 dir[FIXTURE_DIR_MAX];
	struct vault	*vault;
	struct store	*store;
	char		 tok_a[TOKEN_LEN + 1];		/* acme, allow gpt */
	char		 tok_b[TOKEN_LEN + 1];		/* beta, all models */
	char		 tok_expired[TOKEN_LEN + 1];
	char		 tok_revoked[TOKEN_LEN + 1];
	char		 tok_future[TOKEN_LEN + 1];
	time_t		 now;
};

static void
put_model(struct store *s, const char *domain, const char *key,
    const char *provider, const char *category, const char *status,
    int64_t created)
{
	struct store_model	m;
	char			err[256];

	memset(&m, 0, sizeof(m));
	snprintf(m.domain_id, sizeof(m.domain_id), "%s", domain);
	m.key = (char *)key;
	m.name = (char *)key;
	m.model_id = (char *)"upstream \"id\"";
	m.provider = (char *)provider;
	m.category = (char *)category;
	m.status = (char *)status;
	m.price_input = 150000000;
	m.has_temperature = 1;
	m.temperature = 0.5;
	m.max_tokens = 100;
	m.system_prompt = (char *)"sys";
	m.created_at = m.updated_at = created;
	if (store_model_insert(s, &m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
put_token(struct fixture *f, const char *domain, char secret[TOKEN_LEN + 1],
    int64_t expires, int64_t revoked, const char *models)
{
	struct store_token	t;
	char			err[256];

	memset(&t, 0, sizeof(t));
	token_generate(secret);
	token_generate_id(t.id);
	snprintf(t.domain_id, sizeof(t.domain_id), "%s", domain);
	vault_token_hash(f->vault, secret, TOKEN_LEN, t.hash);
	t.name = (char *)"t";
	t.created_at = f->now;
	t.expires_at = expires;
	t.revoked_at = revoked;
	t.models = (char *)models;
	t.rpm = 60;
	if (store_token_insert(f->store, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static int
setup(void **state)
{
	struct fixture		*f = calloc(1, sizeof(*f));
	struct store_domain	 d;

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "registry");
	f->vault = fixture_vault_open(f->dir);
	f->store = fixture_store_open(f->dir);
	f->now = time(NULL);

	fixture_domain_init(&d, DOM_B, "beta");
	d.log_content = 1;
	fixture_domain_put(f->store, &d);
	fixture_domain(f->store, DOM_A, "acme");
	assert_int_equal(fixture_provider(f->store, f->vault, DOM_A, "local",
	    "openai", FIXTURE_PROVIDER_URL, "sk-acme"), 0);
	assert_int_equal(fixture_provider(f->store, NULL, DOM_A, "ol",
	    "ollama", "http://127.0.0.1:11434", NULL), 0);
	assert_int_equal(fixture_provider(f->store, NULL, DOM_B, "local",
	    "vllm", "http://10.0.0.2/v1", NULL), 0);
	put_model(f->store, DOM_A, "gpt", "local", "llm", "active", 1700000000);
	put_model(f->store, DOM_A, "emb", "ol", "embedding", "active", 5);
	put_model(f->store, DOM_A, "off", "local", "llm", "inactive", 6);
	put_model(f->store, DOM_B, "only-b", "local", "llm", "active", 7);
	put_token(f, DOM_A, f->tok_a, 0, 0, "[\"gpt\"]");
	put_token(f, DOM_B, f->tok_b, 0, 0, NULL);
	put_token(f, DOM_A, f->tok_expired, f->now - 10, 0, NULL);
	put_token(f, DOM_A, f->tok_revoked, 0, f->now - 5, NULL);
	put_token(f, DOM_A, f->tok_future, f->now + 3600, 0, NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	store_close(f->store);
	vault_free(f->vault);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

static struct registry *
build(struct fixture *f)
{
	struct registry	*r;
	char		 err[256];

	if ((r = registry_build(f->store, f->vault, err, sizeof(err))) == NULL)
		fail_msg("registry_build: %s", err);
	return r;
}

static void
test_domains(void **state)
{
	struct fixture		*f = *state;
	struct registry		*r = build(f);
	const struct reg_domain	*a, *b;
	char			 buf[64];

	assert_int_equal(r->ndomains, 2);
	assert_string_equal(r->domains[0].name, "acme");
	assert_string_equal(r->domains[1].name, "beta");
	assert_int_equal(r->domains[1].log_content, 1);

	a = registry_find_domain(r, "acme", 4);
	assert_non_null(a);
	assert_string_equal(a->id, DOM_A);
	assert_ptr_equal(registry_find_domain(r, DOM_A, strlen(DOM_A)), a);
	b = registry_find_domain(r, DOM_B, 36);
	assert_non_null(b);
	assert_string_equal(b->name, "beta");

	/* Length-delimited: what follows len is not part of the name. */
	snprintf(buf, sizeof(buf), "acme/v1/models");
	assert_ptr_equal(registry_find_domain(r, buf, 4), a);
	snprintf(buf, sizeof(buf), "%s/v1", DOM_B);
	assert_ptr_equal(registry_find_domain(r, buf, 36), b);
	assert_null(registry_find_domain(r, "acm", 3));
	assert_null(registry_find_domain(r, "acmee", 5));
	assert_null(registry_find_domain(r, "", 0));
	assert_null(registry_find_domain(r, DOM_A, 35));
	assert_null(registry_find_domain(NULL, "acme", 4));
	registry_free(r);
}

static void
test_models(void **state)
{
	struct fixture		*f = *state;
	struct registry		*r = build(f);
	const struct reg_domain	*a, *b;
	const struct reg_model	*m;
	cJSON			*j, *data, *e;
	char			*one;
	size_t			 n, i;

	a = registry_find_domain(r, "acme", 4);
	b = registry_find_domain(r, "beta", 4);
	assert_int_equal(a->nmodels, 3);
	assert_string_equal(a->models[0].key, "emb");
	assert_string_equal(a->models[1].key, "gpt");
	assert_string_equal(a->models[2].key, "off");

	m = registry_find_model(a, "gpt-4", 3);
	assert_non_null(m);
	assert_string_equal(m->key, "gpt");
	assert_int_equal(m->key_len, 3);
	assert_string_equal(m->model_id, "upstream \"id\"");
	assert_string_equal(m->model_id_json, "\"upstream \\\"id\\\"\"");
	assert_string_equal(m->provider->name, "local");
	assert_int_equal(m->provider->driver, DRIVER_OPENAI);
	assert_string_equal(m->url_chat,
	    "http://127.0.0.1:8000/v1/chat/completions");
	assert_string_equal(m->url_completions,
	    "http://127.0.0.1:8000/v1/completions");
	assert_string_equal(m->url_embeddings,
	    "http://127.0.0.1:8000/v1/embeddings");
	assert_non_null(m->provider->auth);
	assert_string_equal(m->provider->auth->data,
	    "Authorization: Bearer sk-acme");
	assert_null(m->provider->auth->next);
	assert_int_equal(m->active, 1);
	assert_int_equal(m->price_input, 150000000);
	assert_int_equal(m->has_temperature, 1);
	assert_int_equal(m->max_tokens, 100);
	assert_string_equal(m->system_prompt, "sys");
	assert_int_equal(m->category, MODEL_LLM);
	assert_int_equal(m->updated_at, 1700000000);	/* Ollama's modified_at */

	m = registry_find_model(a, "emb", 3);
	assert_non_null(m);
	assert_int_equal(m->category, MODEL_EMBEDDING);
	assert_int_equal(m->provider->driver, DRIVER_OLLAMA);
	assert_string_equal(m->provider->base_url, "http://127.0.0.1:11434/v1");
	assert_string_equal(m->url_embeddings,
	    "http://127.0.0.1:11434/v1/embeddings");
	assert_null(m->provider->auth);
	assert_int_equal(registry_find_model(a, "off", 3)->active, 0);

	/* Nothing of one domain resolves from the other. */
	assert_null(registry_find_model(a, "only-b", 6));
	assert_null(registry_find_model(b, "gpt", 3));
	assert_non_null(registry_find_model(b, "only-b", 6));
	assert_null(registry_find_model(a, "", 0));
	assert_null(registry_find_model(a, "gp", 2));
	assert_null(registry_find_model(NULL, "gpt", 3));

	/* The /v1/models body: active models only, in key order. */
	j = cJSON_ParseWithLength(a->models_json, a->models_json_len);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring,
	    "list");
	data = cJSON_GetObjectItem(j, "data");
	assert_int_equal(cJSON_GetArraySize(data), 2);
	e = cJSON_GetArrayItem(data, 0);
	assert_string_equal(cJSON_GetObjectItem(e, "id")->valuestring, "emb");
	assert_string_equal(cJSON_GetObjectItem(e, "owned_by")->valuestring,
	    "ol");
	e = cJSON_GetArrayItem(data, 1);
	assert_string_equal(cJSON_GetObjectItem(e, "id")->valuestring, "gpt");
	assert_string_equal(cJSON_GetObjectItem(e, "object")->valuestring,
	    "model");
	assert_true(cJSON_GetObjectItem(e, "created")->valuedouble ==
	    1700000000.0);
	assert_string_equal(cJSON_GetObjectItem(e, "owned_by")->valuestring,
	    "local");
	cJSON_Delete(j);
	/* Byte for byte, as cJSON printed it before model-list.c. */
	assert_string_equal(a->models_json, "{\"object\":\"list\",\"data\":["
	    "{\"id\":\"emb\",\"object\":\"model\",\"created\":5,"
	    "\"owned_by\":\"ol\"},{\"id\":\"gpt\",\"object\":\"model\","
	    "\"created\":1700000000,\"owned_by\":\"local\"}]}");
	assert_int_equal(strlen(a->models_json), a->models_json_len);
	/* The same serialiser answers /v1/models/KEY. */
	one = model_list_openai_one(registry_find_model(a, "gpt", 3), &n);
	assert_string_equal(one, "{\"id\":\"gpt\",\"object\":\"model\","
	    "\"created\":1700000000,\"owned_by\":\"local\"}");
	assert_int_equal(n, strlen(one));
	free(one);
	/* And lists what a token sees: Ollama's tags walk the same list. */
	i = 0;
	assert_ptr_equal(model_list_next(a, NULL, &i), &a->models[0]);
	assert_ptr_equal(model_list_next(a, NULL, &i), &a->models[1]);
	assert_null(model_list_next(a, NULL, &i));
	assert_int_equal(strlen(b->models_json), b->models_json_len);
	registry_free(r);
}

static void
test_tokens(void **state)
{
	struct fixture		*f = *state;
	struct registry		*r = build(f);
	const struct reg_token	*t;
	const struct reg_domain	*a, *b;
	char			 other[TOKEN_LEN + 1], buf[TOKEN_LEN + 8];
	size_t			 i;

	a = registry_find_domain(r, "acme", 4);
	b = registry_find_domain(r, "beta", 4);
	/* The revoked one is left out. */
	assert_int_equal(r->ntokens, 4);
	for (i = 1; i < r->ntokens; i++)
		assert_true(memcmp(r->tokens[i - 1].hash, r->tokens[i].hash,
		    VAULT_TOKEN_HASH_BYTES) < 0);

	t = registry_find_token(r, f->vault, f->tok_a, TOKEN_LEN, f->now);
	assert_non_null(t);
	assert_ptr_equal(t->domain, a);
	assert_memory_equal(t->id, "tok_", 4);
	assert_int_equal(t->rpm, 60);
	assert_int_equal(t->nmodels, 1);
	assert_true(registry_token_allows(t, registry_find_model(a, "gpt",
	    3)));
	assert_false(registry_token_allows(t, registry_find_model(a, "emb",
	    3)));

	t = registry_find_token(r, f->vault, f->tok_b, TOKEN_LEN, f->now);
	assert_non_null(t);
	assert_ptr_equal(t->domain, b);
	assert_null(t->models);
	assert_true(registry_token_allows(t, registry_find_model(b, "only-b",
	    6)));

	/* Length-delimited, as taken from a header. */
	snprintf(buf, sizeof(buf), "%s\r\nX", f->tok_a);
	assert_non_null(registry_find_token(r, f->vault, buf, TOKEN_LEN,
	    f->now));
	assert_null(registry_find_token(r, f->vault, buf, TOKEN_LEN + 1,
	    f->now));

	assert_null(registry_find_token(r, f->vault, f->tok_expired, TOKEN_LEN,
	    f->now));
	assert_null(registry_find_token(r, f->vault, f->tok_revoked, TOKEN_LEN,
	    f->now));
	t = registry_find_token(r, f->vault, f->tok_future, TOKEN_LEN, f->now);
	assert_non_null(t);
	/* Expiry is exclusive: at expires_at the token is dead. */
	assert_non_null(registry_find_token(r, f->vault, f->tok_future,
	    TOKEN_LEN, (time_t)t->expires_at - 1));
	assert_null(registry_find_token(r, f->vault, f->tok_future, TOKEN_LEN,
	    (time_t)t->expires_at));

	/* Malformed and unknown. */
	token_generate(other);
	assert_null(registry_find_token(r, f->vault, other, TOKEN_LEN, f->now));
	assert_null(registry_find_token(r, f->vault, "cube_", 5, f->now));
	assert_null(registry_find_token(r, f->vault, "", 0, f->now));
	assert_null(registry_find_token(r, f->vault, NULL, 0, f->now));
	memcpy(other, f->tok_a, sizeof(other));
	other[20] = other[20] == 'A' ? 'B' : 'A';
	assert_null(registry_find_token(r, f->vault, other, TOKEN_LEN, f->now));
	other[20] = '+';
	assert_null(registry_find_token(r, f->vault, other, TOKEN_LEN, f->now));
	assert_false(registry_token_allows(NULL, NULL));
	registry_free(r);
}

static void
test_provider_status(void **state)
{
	struct fixture		*f = *state;
	struct registry		*r;
	struct store_provider	 p;
	const struct reg_model	*m;
	char			 err[256];
	unsigned char		 junk[80];

	assert_int_equal(store_provider_set_status(f->store, DOM_A, "ol",
	    "errored", "HTTP 500 from /api/tags", err, sizeof(err)), 0);
	/* A credential that no longer opens: that provider errors, not the build. */
	memset(&p, 0, sizeof(p));
	snprintf(p.domain_id, sizeof(p.domain_id), "%s", DOM_B);
	p.name = (char *)"broken";
	p.driver = (char *)"openai";
	p.url = (char *)"http://x/v1/";
	p.status = (char *)"active";
	randombytes_buf(junk, sizeof(junk));
	p.credential = junk;
	p.credential_len = sizeof(junk);
	assert_int_equal(store_provider_insert(f->store, &p, err, sizeof(err)),
	    0);
	put_model(f->store, DOM_B, "b2", "broken", "llm", "active", 9);

	r = build(f);
	m = registry_find_model(registry_find_domain(r, "acme", 4), "emb", 3);
	assert_int_equal(m->provider->errored, 1);
	assert_string_equal(m->provider->error, "HTTP 500 from /api/tags");
	m = registry_find_model(registry_find_domain(r, "beta", 4), "b2", 2);
	assert_non_null(m);
	assert_int_equal(m->provider->errored, 1);
	assert_null(m->provider->auth);
	assert_non_null(strstr(m->provider->error, "does not open"));
	assert_string_equal(m->url_chat, "http://x/v1/chat/completions");
	registry_free(r);
	registry_free(NULL);
}

static atomic_int	hammer_stop;
static atomic_int	hammer_errors;
static atomic_long	hammer_reads;

static void *
hammer(void *arg)
{
	const struct reg_domain	*d;
	const struct reg_model	*m;
	struct registry		*r;

	(void)arg;
	while (!atomic_load(&hammer_stop)) {
		if ((r = registry_acquire()) == NULL) {
			atomic_fetch_add(&hammer_errors, 1);
			continue;
		}
		d = registry_find_domain(r, "acme", 4);
		m = d != NULL ? registry_find_model(d, "gpt", 3) : NULL;
		if (m == NULL || strcmp(m->provider->auth->data,
		    "Authorization: Bearer sk-acme") != 0 ||
		    strlen(d->models_json) != d->models_json_len)
			atomic_fetch_add(&hammer_errors, 1);
		atomic_fetch_add(&hammer_reads, 1);
		registry_release(r);
	}
	return NULL;
}

static void
test_publish_under_load(void **state)
{
	struct fixture	*f = *state;
	pthread_t	 th[4];
	struct registry	*r, *held;
	uint64_t	 gen;
	char		 err[256];
	int		 i;

	registry_shutdown();
	assert_null(registry_acquire());
	assert_int_equal(registry_reload(f->store, f->vault, err,
	    sizeof(err)), 0);

	/* A reader keeps its snapshot alive across publishes. */
	held = registry_acquire();
	assert_non_null(held);
	gen = held->generation;

	atomic_store(&hammer_stop, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
	for (i = 0; i < 300; i++) {
		if (registry_reload(f->store, f->vault, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		if (i % 50 == 0)
			usleep(1000);
	}
	atomic_store(&hammer_stop, 1);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&hammer_errors), 0);
	assert_true(atomic_load(&hammer_reads) > 0);

	/* The old snapshot is still intact; the current one is newer. */
	assert_int_equal(held->generation, gen);
	assert_string_equal(held->domains[0].name, "acme");
	r = registry_acquire();
	assert_true(r->generation > gen);
	registry_release(r);
	registry_release(held);
	registry_release(NULL);

	registry_shutdown();
	assert_null(registry_acquire());
}

/*
 * A worker's references: a publish is seen by the very next acquire (a
 * revoked token is gone), the replaced snapshot lives while a request
 * uses it, and an idle worker's tick lets it go.
 */
static void
test_local_sees_publish(void **state)
{
	struct fixture		*f = *state;
	struct registry_local	*l = registry_local_new();
	struct registry		*r1, *r2, *r3;
	const struct reg_token	*t;
	char			 id[sizeof(t->id)], err[256];
	uint64_t		 g2;

	registry_shutdown();
	assert_null(registry_local_acquire(l));
	assert_int_equal(registry_local_holds(l), 1);
	assert_int_equal(registry_reload(f->store, f->vault, err,
	    sizeof(err)), 0);
	r1 = registry_local_acquire(l);
	assert_non_null(r1);
	assert_ptr_equal(registry_local_acquire(l), r1);	/* no publish */
	registry_local_release(l, r1);
	t = registry_find_token(r1, f->vault, f->tok_a, TOKEN_LEN, f->now);
	assert_non_null(t);
	memcpy(id, t->id, sizeof(id));
	assert_int_equal(registry_local_holds(l), 1);

	/* Revoke while r1 is in use: the next acquire no longer knows it. */
	assert_int_equal(store_token_revoke(f->store, DOM_A, id, f->now, err,
	    sizeof(err)), 0);
	assert_int_equal(registry_reload(f->store, f->vault, err,
	    sizeof(err)), 0);
	r2 = registry_local_acquire(l);
	assert_non_null(r2);
	assert_ptr_not_equal(r2, r1);
	assert_true(r2->generation > r1->generation);
	assert_null(registry_find_token(r2, f->vault, f->tok_a, TOKEN_LEN,
	    f->now));
	/* r1 is still whole for the request using it. */
	assert_int_equal(registry_local_holds(l), 2);
	assert_non_null(registry_find_token(r1, f->vault, f->tok_a,
	    TOKEN_LEN, f->now));
	registry_local_release(l, r1);
	assert_int_equal(registry_local_holds(l), 1);
	g2 = r2->generation;
	registry_local_release(l, r2);

	/* Idle: a publish leaves the worker on r2 until its tick. */
	assert_int_equal(registry_reload(f->store, f->vault, err,
	    sizeof(err)), 0);
	assert_int_equal(registry_local_generation(l), g2);
	registry_local_tick(l);
	assert_true(registry_local_generation(l) > g2);
	assert_int_equal(registry_local_holds(l), 1);
	r3 = registry_acquire();
	assert_int_equal(registry_local_generation(l), r3->generation);
	registry_release(r3);

	/* Shutdown: the next acquire finds nothing, as at start. */
	registry_shutdown();
	assert_null(registry_local_acquire(l));
	registry_local_free(l);
	registry_local_free(NULL);
}

static atomic_uint_fast64_t	local_min_gen;

/*
 * A worker's loop: whatever generation was published before an acquire
 * began, the acquire returns it or a newer one, never an older one.
 */
static void *
local_hammer(void *arg)
{
	struct registry_local	*l = registry_local_new();
	struct registry		*r;
	uint64_t		 min;

	(void)arg;
	while (!atomic_load(&hammer_stop)) {
		min = atomic_load(&local_min_gen);
		if ((r = registry_local_acquire(l)) == NULL ||
		    r->generation < min ||
		    registry_find_domain(r, "acme", 4) == NULL)
			atomic_fetch_add(&hammer_errors, 1);
		atomic_fetch_add(&hammer_reads, 1);
		registry_local_release(l, r);
	}
	registry_local_free(l);
	return NULL;
}

static void
test_local_never_stale(void **state)
{
	struct fixture	*f = *state;
	struct registry	*r;
	pthread_t	 th[3];
	char		 err[256];
	int		 i;

	assert_int_equal(registry_reload(f->store, f->vault, err,
	    sizeof(err)), 0);
	atomic_store(&hammer_stop, 0);
	atomic_store(&hammer_errors, 0);
	atomic_store(&hammer_reads, 0);
	atomic_store(&local_min_gen, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, local_hammer,
		    NULL), 0);
	for (i = 0; i < 200; i++) {
		if (registry_reload(f->store, f->vault, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		r = registry_acquire();
		atomic_store(&local_min_gen, r->generation);
		registry_release(r);
		if (i % 40 == 0)
			usleep(1000);
	}
	atomic_store(&hammer_stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&hammer_errors), 0);
	assert_true(atomic_load(&hammer_reads) > 0);
	registry_shutdown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_models, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_publish_under_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_local_sees_publish, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_local_never_stale, setup,
		    teardown),
	};

	log_init("test-registry", 0);
	if (sodium_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
