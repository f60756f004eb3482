/*
 * Unit tests for agent/backend-error.c: a backend's error answer retold in
 * the route's error shape, never its raw bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "agent.h"

#define FALLBACK	"the model's backend answered HTTP 400"

static char	out[BACKEND_ERROR_BODY_MAX];

/* Retell body; the result must be JSON, returned parsed. */
static cJSON *
retell(const char *body, int ollama, enum api_error e)
{
	size_t	 n;
	cJSON	*o;

	n = backend_error_body(out, sizeof(out), ollama, body,
	    body != NULL ? strlen(body) : 0, e, FALLBACK);
	assert_int_equal(n, strlen(out));
	o = cJSON_ParseWithLength(out, n);
	assert_non_null(o);
	return o;
}

static const char *
field(const cJSON *o, const char *name)
{
	const cJSON	*e = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e, name);

	if (cJSON_IsNull(v))
		return NULL;
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

/* Exactly the four members of OpenAI's error object. */
static void
assert_openai_shape(const cJSON *o)
{
	const cJSON	*e = cJSON_GetObjectItemCaseSensitive(o, "error");

	assert_int_equal(cJSON_GetArraySize(o), 1);
	assert_true(cJSON_IsObject(e));
	assert_int_equal(cJSON_GetArraySize(e), 4);
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e,
	    "message")));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e,
	    "type")));
}

static void
test_openai(void **state)
{
	cJSON	*o;

	(void)state;
	o = retell("{\"error\":{\"message\":\"This model's maximum context "
	    "length is 8192 tokens.\",\"type\":\"invalid_request_error\","
	    "\"param\":\"messages\",\"code\":\"context_length_exceeded\"},"
	    "\"extra\":\"http://10.0.0.1/\"}", 0, API_INVALID_REQUEST);
	assert_openai_shape(o);
	assert_string_equal(field(o, "message"), "This model's maximum "
	    "context length is 8192 tokens.");
	assert_string_equal(field(o, "type"), "invalid_request_error");
	assert_string_equal(field(o, "param"), "messages");
	assert_string_equal(field(o, "code"), "context_length_exceeded");
	assert_null(strstr(out, "10.0.0.1"));
	cJSON_Delete(o);
}

static void
test_vllm_and_ollama(void **state)
{
	cJSON	*o;

	(void)state;
	o = retell("{\"object\":\"error\",\"message\":\"too long\","
	    "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}", 0,
	    API_INVALID_REQUEST);
	assert_openai_shape(o);
	assert_string_equal(field(o, "message"), "too long");
	assert_string_equal(field(o, "type"), "BadRequestError");
	assert_null(field(o, "code"));	/* a number: not an OpenAI code */
	cJSON_Delete(o);

	o = retell("{\"error\":\"model 'x' not found\"}", 0,
	    API_INVALID_REQUEST);
	assert_openai_shape(o);
	assert_string_equal(field(o, "message"), "model 'x' not found");
	assert_string_equal(field(o, "type"), "invalid_request_error");
	assert_null(field(o, "code"));
	cJSON_Delete(o);

	/* Ollama's routes get Ollama's shape, from either kind. */
	o = retell("{\"error\":\"model 'x' not found\"}", 1,
	    API_INVALID_REQUEST);
	assert_int_equal(cJSON_GetArraySize(o), 1);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
	    "error")->valuestring, "model 'x' not found");
	cJSON_Delete(o);
	o = retell("{\"error\":{\"message\":\"slow down\"}}", 1,
	    API_RATE_LIMIT_EXCEEDED);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
	    "error")->valuestring, "slow down");
	cJSON_Delete(o);
}

/* Anything that is not an error object: our message, our code. */
static void
test_not_an_error_object(void **state)
{
	static const char *const bodies[] = {
		"<html><body>413 Request Entity Too Large nginx 10.0.0.1"
		    "</body></html>",
		"upstream connect error http://10.0.0.1:8000",
		"",
		"{}",
		"[]",
		"{\"error\":5}",
		"{\"error\":null}",
		"{\"error\":{}}",
		"{\"error\":{\"message\":5}}",
		"{\"error\":{\"message\":\"\"}}",
		"{\"error\":\"\"}",
		"{\"error\":\"a\",\"error\":\"b\"}",
		"{\"object\":\"list\",\"message\":\"hi\"}",
		"{\"error\":{\"message\":\"x\"}",
		"{\"error\":\"\\ud800\"}",
	};
	cJSON	*o;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		o = retell(bodies[i], 0, API_REQUEST_TOO_LARGE);
		assert_openai_shape(o);
		assert_string_equal(field(o, "message"), FALLBACK);
		assert_string_equal(field(o, "code"), "request_too_large");
		assert_null(strstr(out, "10.0.0.1"));
		cJSON_Delete(o);
		o = retell(bodies[i], 1, API_REQUEST_TOO_LARGE);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
		    "error")->valuestring, FALLBACK);
		cJSON_Delete(o);
	}
	o = retell(NULL, 0, API_UPSTREAM_ERROR);
	assert_string_equal(field(o, "code"), "upstream_error");
	assert_string_equal(field(o, "type"), "api_error");
	cJSON_Delete(o);
}

/* Fields that are not what they claim are dropped, never passed on. */
static void
test_hostile_fields(void **state)
{
	char	*big;
	cJSON	*o;
	size_t	 n = 3 * BACKEND_ERROR_BODY_MAX;

	(void)state;
	o = retell("{\"error\":{\"message\":\"quota\\u0000 hidden\","
	    "\"type\":\"x\\r\\nSet-Cookie: a=b\",\"param\":\"p\\u0001\","
	    "\"code\":\"rate limit\"}}", 0, API_RATE_LIMIT_EXCEEDED);
	assert_openai_shape(o);
	assert_string_equal(field(o, "message"), "quota");
	assert_string_equal(field(o, "type"), "rate_limit_error");
	assert_null(field(o, "param"));
	assert_null(field(o, "code"));
	cJSON_Delete(o);

	/* A control byte in the message stays escaped JSON. */
	o = retell("{\"error\":{\"message\":\"a\\r\\nb\\u001b[31m\"}}", 0,
	    API_INVALID_REQUEST);
	assert_string_equal(field(o, "message"), "a\r\nb\x1b[31m");
	assert_null(memchr(out, '\r', strlen(out)));
	cJSON_Delete(o);

	/* A message too long to retell: ours instead; all of it escaped. */
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "{\"error\":{\"message\":\"", 21);
	memset(big + 21, '"' - 1, n);
	memcpy(big + 21 + n, "\"}}", 4);
	o = retell(big, 0, API_INVALID_REQUEST);
	assert_string_equal(field(o, "message"), FALLBACK);
	cJSON_Delete(o);
	/* The longest message kept, every byte escaped at worst, fits. */
	n = 21;
	for (; n < 21 + 2047 * 6; n += 6)
		memcpy(big + n, "\\u0001", 6);
	memcpy(big + n, "\",\"type\":\"t\",\"param\":\"p\",\"code\":\"c\"}}",
	    38);
	o = retell(big, 0, API_INVALID_REQUEST);
	assert_int_equal(strlen(field(o, "message")), 2047);
	assert_string_equal(field(o, "code"), "c");
	cJSON_Delete(o);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_openai),
		cmocka_unit_test(test_vllm_and_ollama),
		cmocka_unit_test(test_not_an_error_object),
		cmocka_unit_test(test_hostile_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
