/* route_match: every prefix, every route, and what must not match. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

static int
match(const char *path, struct route *r)
{
	return route_match(path, strlen(path), r);
}

static void
test_route_prefixes(void **state)
{
	struct route	r;

	(void)state;
	assert_int_equal(match("/v1/chat/completions", &r), 0);
	assert_int_equal(r.kind, ROUTE_CHAT);
	assert_string_equal(r.method, "POST");
	assert_null(r.domain);
	assert_int_equal(match("/api/client/v1/embeddings", &r), 0);
	assert_int_equal(r.kind, ROUTE_EMBEDDINGS);
	assert_null(r.domain);
	assert_int_equal(match("/proxy/acme/v1/models", &r), 0);
	assert_int_equal(r.kind, ROUTE_MODELS);
	assert_string_equal(r.method, "GET");
	assert_int_equal(r.domain_len, 4);
	assert_memory_equal(r.domain, "acme", 4);
	assert_int_equal(match("/proxy/3f1c2a9e-0000-4000-8000-000000000000/v1/"
	    "completions", &r), 0);
	assert_int_equal(r.kind, ROUTE_COMPLETIONS);
	assert_int_equal(r.domain_len, 36);
	assert_int_equal(match("/proxy/acme/v1/models/llama3:8b", &r), 0);
	assert_int_equal(r.kind, ROUTE_MODEL);
	assert_string_equal(r.method, "GET");
	assert_int_equal(r.model_len, 9);
	assert_memory_equal(r.model, "llama3:8b", 9);
	assert_int_equal(r.ollama, 0);
}

/* Ollama's routes, under a domain only, map onto the same kinds. */
static void
test_route_ollama(void **state)
{
	static const struct {
		const char		*path;
		enum route_kind		 kind;
		const char		*method;
	} ok[] = {
		{ "/proxy/acme/api/chat", ROUTE_CHAT, "POST" },
		{ "/proxy/acme/api/generate", ROUTE_COMPLETIONS, "POST" },
		{ "/proxy/acme/api/embed", ROUTE_EMBEDDINGS, "POST" },
		{ "/proxy/acme/api/tags", ROUTE_MODELS, "GET" },
	};
	struct route	r;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(match(ok[i].path, &r), 0);
		assert_int_equal(r.kind, ok[i].kind);
		assert_string_equal(r.method, ok[i].method);
		assert_int_equal(r.ollama, 1);
		assert_int_equal(r.domain_len, 4);
		assert_memory_equal(r.domain, "acme", 4);
	}
}

static void
test_route_rejects(void **state)
{
	static const char *bad[] = {
		"/", "/v1", "/v1/", "/v1/chat", "/v1/chat/completions/",
		"/v1/chat/completionsX", "/proxy/acme", "/proxy//v1/models",
		"/proxy/acme/v2/models", "/api/client/v1", "/api/client/v2/models",
		"/V1/models", "/api/pull", "/v1/api/chat",
		"/api/client/v1/api/chat", "/proxy/acme/api/pull",
		"/proxy/acme/api/chat/", "/proxy/acme/api/", "/v1/models/a%2",
		"/v1/models/", "/v1/models/%", "/v1/models/a%zz", "/v1/models/%00",
		"/api/", "/api/client/v1", "/v1/messages/", "/v1/responses/x",
		"/api/client/v1/", "//v1/models",
	};
	struct route	r;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(match(bad[i], &r), -1);
}

/* Keys with '/' (bare or %2F) and escapes; the buffer's bound. */
static void
test_route_model_key(void **state)
{
	struct route	r;
	char		long_path[600];

	(void)state;
	assert_int_equal(match("/v1/models/org/model-7b", &r), 0);
	assert_int_equal(r.kind, ROUTE_MODEL);
	assert_int_equal(r.model_len, 12);
	assert_memory_equal(r.model, "org/model-7b", 12);
	assert_int_equal(match("/proxy/acme/v1/models/org%2Fmodel%3a7b", &r), 0);
	assert_int_equal(r.model_len, 12);
	assert_string_equal(r.model, "org/model:7b");
	memset(long_path, 0, sizeof(long_path));
	memcpy(long_path, "/v1/models/", 11);
	memset(long_path + 11, 'a', ROUTE_MODEL_MAX - 1);
	assert_int_equal(match(long_path, &r), 0);
	assert_int_equal(r.model_len, ROUTE_MODEL_MAX - 1);
	long_path[11 + ROUTE_MODEL_MAX - 1] = 'a';
	assert_int_equal(match(long_path, &r), -1);
}

/* The translated routes name their dialect; Ollama's also at the root. */
static void
test_route_dialects(void **state)
{
	static const struct {
		const char		*path;
		enum route_kind		 kind;
		enum dialect_kind	 dialect;
		int			 ollama;
	} ok[] = {
		{ "/v1/responses", ROUTE_RESPONSES, DIALECT_RESPONSES, 0 },
		{ "/proxy/acme/v1/messages", ROUTE_MESSAGES, DIALECT_ANTHROPIC, 0 },
		{ "/api/client/v1/messages/count_tokens", ROUTE_COUNT_TOKENS,
		    DIALECT_ANTHROPIC, 0 },
		{ "/v1/fim/completions", ROUTE_FIM, DIALECT_NONE, 0 },
		{ "/v1/rerank", ROUTE_RERANK, DIALECT_NONE, 0 },
		{ "/api/chat", ROUTE_CHAT, DIALECT_NONE, 1 },
		{ "/api/tags", ROUTE_MODELS, DIALECT_NONE, 1 },
		{ "/api/version", ROUTE_OLLAMA_VERSION, DIALECT_NONE, 1 },
		{ "/proxy/acme/api/show", ROUTE_OLLAMA_SHOW, DIALECT_NONE, 1 },
		{ "/proxy/acme/api/ps", ROUTE_OLLAMA_PS, DIALECT_NONE, 1 },
		{ "/api/embeddings", ROUTE_OLLAMA_EMBEDDINGS, DIALECT_NONE, 1 },
	};
	struct route	r;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(match(ok[i].path, &r), 0);
		assert_int_equal(r.kind, ok[i].kind);
		assert_int_equal(r.dialect, ok[i].dialect);
		assert_int_equal(r.ollama, ok[i].ollama);
	}
	assert_int_equal(match("/api/chat", &r), 0);
	assert_null(r.domain);
}

/* The length given is the path's; bytes after it never count. */
static void
test_route_length_delimited(void **state)
{
	struct route	r;
	const char	*p = "/v1/modelsXYZ";

	(void)state;
	assert_int_equal(route_match(p, 10, &r), 0);
	assert_int_equal(r.kind, ROUTE_MODELS);
	assert_int_equal(route_match(p, 9, &r), -1);
}

/* /healthz is a route; HEAD goes wherever GET does; Allow says so. */
static void
test_route_methods(void **state)
{
	struct route	r;

	(void)state;
	assert_int_equal(match("/healthz", &r), 0);
	assert_int_equal(r.kind, ROUTE_HEALTHZ);
	assert_true(route_allows(&r, "GET", 3));
	assert_true(route_allows(&r, "HEAD", 4));
	assert_false(route_allows(&r, "POST", 4));
	assert_false(route_allows(&r, "get", 3));
	assert_false(route_allows(&r, "HEADX", 5));	/* length counts */
	assert_string_equal(route_allow(&r), "GET, HEAD");
	assert_int_equal(match("/proxy/acme/v1/chat/completions", &r), 0);
	assert_true(route_allows(&r, "POST", 4));
	assert_false(route_allows(&r, "HEAD", 4));
	assert_false(route_allows(&r, "GET", 3));
	assert_string_equal(route_allow(&r), "POST");
	assert_int_equal(match("/healthz/", &r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_prefixes),
		cmocka_unit_test(test_route_rejects),
		cmocka_unit_test(test_route_ollama),
		cmocka_unit_test(test_route_length_delimited),
		cmocka_unit_test(test_route_model_key),
		cmocka_unit_test(test_route_dialects),
		cmocka_unit_test(test_route_methods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
