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
		"/V1/models", "/api/chat", "/v1/api/chat",
		"/api/client/v1/api/chat", "/proxy/acme/api/pull",
		"/proxy/acme/api/chat/", "/proxy/acme/api/", "/v1/models/a/b",
		"/v1/models/",
		"/api/client/v1/", "//v1/models",
	};
	struct route	r;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(match(bad[i], &r), -1);
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
		cmocka_unit_test(test_route_methods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
