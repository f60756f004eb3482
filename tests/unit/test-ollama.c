/*
 * Unit tests for agent/ollama.c: the bodies of Ollama's routes that are no
 * inference (/api/version, /api/tags, /api/ps, /api/show) on exact JSON,
 * and Ollama's timestamps.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "agent.h"
#include "xmalloc.h"

#define DOM	"aaaaaaaa-1111-4111-8111-111111111111"
#define DETAILS(fam) "\"details\":{\"parent_model\":\"\",\"format\":\"\"," \
	"\"family\":\"" fam "\",\"families\":[\"" fam "\"]," \
	"\"parameter_size\":\"\",\"quantization_level\":\"\"}"

static struct reg_provider	prov_oai = { .name = (char *)"vllm", .driver = DRIVER_OPENAI };
static struct reg_provider	prov_oll = { .name = (char *)"local", .driver = DRIVER_OLLAMA };
static struct reg_model		models[4];
static struct reg_domain	dom;
static struct reg_token		tok_all, tok_some;
static char			*allow[] = { (char *)"embed", (char *)"off" };

static void
model(struct reg_model *m, const char *key, const struct reg_provider *p,
    enum model_category c, int active, int64_t updated)
{
	memset(m, 0, sizeof(*m));
	m->key = m->name = (char *)key;
	m->key_len = strlen(key);
	m->model_id = (char *)"secret/backend-id";
	m->provider = p;
	m->category = c;
	m->active = active;
	m->updated_at = updated;
}

static int
setup(void **state)
{
	(void)state;
	/* Sorted by key, as the registry keeps them. */
	model(&models[0], "chat", &prov_oai, MODEL_LLM, 1, 1700000000);
	models[0].tools = 1;
	models[0].vision = 1;
	models[0].has_temperature = 1;
	models[0].temperature = 0.25;
	models[0].max_tokens = 300;
	models[0].system_prompt = (char *)"the operator's secret instructions";
	model(&models[1], "embed", &prov_oll, MODEL_EMBEDDING, 1, 1700000001);
	model(&models[2], "off", &prov_oai, MODEL_LLM, 0, 1700000002);
	model(&models[3], "q\"uote", &prov_oai, MODEL_LLM, 1, 0);
	memset(&dom, 0, sizeof(dom));
	snprintf(dom.id, sizeof(dom.id), "%s", DOM);
	dom.name = (char *)"acme";
	dom.models = models;
	dom.nmodels = 4;
	memset(&tok_all, 0, sizeof(tok_all));
	tok_all.domain = &dom;
	tok_some = tok_all;
	tok_some.models = allow;
	tok_some.nmodels = 2;
	return 0;
}

/* The digest the contract states: SHA-256 of "id\0key\0updated_at". */
static void
digest(char hex[65], const char *key, int64_t updated)
{
	unsigned char	in[256], h[32];
	size_t		n;

	n = (size_t)snprintf((char *)in, sizeof(in), "%s%c%s%c%" PRId64, DOM,
	    0, key, 0, updated);
	crypto_hash_sha256(h, in, n);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

static void
test_time(void **state)
{
	char	buf[OLLAMA_TIME_LEN];

	(void)state;
	ollama_time(buf, 1700000000, 0);
	assert_string_equal(buf, "2023-11-14T22:13:20Z");
	ollama_time(buf, 1700000000, 123456789);
	assert_string_equal(buf, "2023-11-14T22:13:20.123456789Z");
	/* Go's RFC3339Nano cuts the fraction's trailing zeros. */
	ollama_time(buf, 1700000000, 186497000);
	assert_string_equal(buf, "2023-11-14T22:13:20.186497Z");
	ollama_time(buf, 0, 500000000);
	assert_string_equal(buf, "1970-01-01T00:00:00.5Z");
	ollama_time(buf, 1700000000, 1000000000);	/* out of range: none */
	assert_string_equal(buf, "2023-11-14T22:13:20Z");
}

static void
test_version(void **state)
{
	char	*b;
	size_t	 n;

	(void)state;
	b = ollama_version_body(&n);
	assert_string_equal(b, "{\"version\":\"0.9.0\"}");
	assert_int_equal(n, strlen(b));
	free(b);
}

static void
test_tags(void **state)
{
	char	*b, want[2048], d0[65], d1[65], d3[65];
	size_t	 n;

	(void)state;
	digest(d0, "chat", 1700000000);
	digest(d1, "embed", 1700000001);
	digest(d3, "q\"uote", 0);
	/* Active models of every provider; never the backend's model id. */
	snprintf(want, sizeof(want), "{\"models\":["
	    "{\"name\":\"chat\",\"model\":\"chat\","
	    "\"modified_at\":\"2023-11-14T22:13:20Z\",\"size\":0,"
	    "\"digest\":\"%s\"," DETAILS("vllm") "},"
	    "{\"name\":\"embed\",\"model\":\"embed\","
	    "\"modified_at\":\"2023-11-14T22:13:21Z\",\"size\":0,"
	    "\"digest\":\"%s\"," DETAILS("local") "},"
	    "{\"name\":\"q\\\"uote\",\"model\":\"q\\\"uote\","
	    "\"modified_at\":\"1970-01-01T00:00:00Z\",\"size\":0,"
	    "\"digest\":\"%s\"," DETAILS("vllm") "}]}", d0, d1, d3);
	b = ollama_tags_body(&dom, &tok_all, &n);
	assert_string_equal(b, want);
	assert_int_equal(n, strlen(b));
	free(b);

	/* An allow-list: only what it names, and only the active ones. */
	snprintf(want, sizeof(want), "{\"models\":["
	    "{\"name\":\"embed\",\"model\":\"embed\","
	    "\"modified_at\":\"2023-11-14T22:13:21Z\",\"size\":0,"
	    "\"digest\":\"%s\"," DETAILS("local") "}]}", d1);
	b = ollama_tags_body(&dom, &tok_some, &n);
	assert_string_equal(b, want);
	free(b);

	/* An edit changes the digest. */
	models[1].updated_at++;
	b = ollama_tags_body(&dom, &tok_some, &n);
	assert_null(strstr(b, d1));
	free(b);
	models[1].updated_at--;
}

static void
test_ps(void **state)
{
	char	*b, want[1024], d1[65];
	size_t	 n;

	(void)state;
	digest(d1, "embed", 1700000001);
	snprintf(want, sizeof(want), "{\"models\":["
	    "{\"name\":\"embed\",\"model\":\"embed\",\"size\":0,"
	    "\"digest\":\"%s\"," DETAILS("local") ","
	    "\"expires_at\":\"9999-12-31T23:59:59Z\",\"size_vram\":0}]}", d1);
	b = ollama_ps_body(&dom, &tok_some, &n);
	assert_string_equal(b, want);
	assert_int_equal(n, strlen(b));
	free(b);

	dom.nmodels = 0;
	b = ollama_ps_body(&dom, &tok_all, &n);
	assert_string_equal(b, "{\"models\":[]}");
	free(b);
	dom.nmodels = 4;
}

/* show's body for req and token t; asserts the status. */
static char *
show(const char *req, const struct reg_token *t, int status)
{
	char	*b;
	size_t	 n;
	int	 st = -1;

	b = ollama_show_body(&dom, t, req, strlen(req), &st, &n);
	assert_int_equal(st, status);
	assert_int_equal(n, strlen(b));
	return b;
}

static void
test_show(void **state)
{
	char	*b;

	(void)state;
	b = show("{\"model\":\"chat\"}", &tok_all, 200);
	assert_string_equal(b, "{\"modelfile\":\"# Served by Cube\\nFROM chat"
	    "\\nPARAMETER temperature 0.25\\nPARAMETER num_predict 300\\n\","
	    "\"parameters\":\"temperature 0.25\\nnum_predict 300\","
	    "\"template\":\"{{ .Prompt }}\"," DETAILS("vllm") ","
	    "\"model_info\":{},"
	    "\"capabilities\":[\"completion\",\"tools\",\"vision\"],"
	    "\"modified_at\":\"2023-11-14T22:13:20Z\"}");
	assert_null(strstr(b, "secret"));
	free(b);

	/* The legacy "name"; an embedding model; no defaults. */
	b = show("{\"name\":\"embed\"}", &tok_all, 200);
	assert_string_equal(b, "{\"modelfile\":\"# Served by Cube\\nFROM embed"
	    "\\n\",\"parameters\":\"\",\"template\":\"{{ .Prompt }}\","
	    DETAILS("local") ",\"model_info\":{},"
	    "\"capabilities\":[\"embedding\"],"
	    "\"modified_at\":\"2023-11-14T22:13:21Z\"}");
	free(b);

	/* Escaped keys are keys. */
	b = show("{\"model\":\"q\\\"uote\",\"verbose\":true}", &tok_all, 200);
	assert_non_null(strstr(b, "\"capabilities\":[\"completion\"]"));
	free(b);
}

static void
test_show_not_found(void **state)
{
	char	*b, *req, *big;

	(void)state;
	/* Unknown, inactive and not allowed: one answer. */
	b = show("{\"model\":\"nope\"}", &tok_all, 404);
	assert_string_equal(b, "{\"error\":\"model 'nope' not found\"}");
	free(b);
	b = show("{\"model\":\"off\"}", &tok_all, 404);
	assert_string_equal(b, "{\"error\":\"model 'off' not found\"}");
	free(b);
	b = show("{\"model\":\"chat\"}", &tok_some, 404);
	assert_string_equal(b, "{\"error\":\"model 'chat' not found\"}");
	free(b);
	/* A NUL cuts the echo; the key with it matches nothing. */
	b = show("{\"model\":\"chat\\u0000x\"}", &tok_all, 404);
	assert_string_equal(b, "{\"error\":\"model 'chat' not found\"}");
	free(b);
	/* A long name is echoed cut, whole characters only. */
	big = malloc(4000);
	memset(big, 'a', 3990);
	big[3990] = '\0';
	xasprintf(&req, "{\"model\":\"%s\"}", big);
	b = show(req, &tok_all, 404);
	assert_int_equal(strlen(b), strlen("{\"error\":\"model '' not found\"}")
	    + 128);
	free(b);
	free(req);
	free(big);
}

static void
test_show_bad_request(void **state)
{
	static const struct {
		const char	*req;
		const char	*error;
	} cases[] = {
		{ "{}", "{\"error\":\"model is required\"}" },
		{ "{\"model\":\"\"}", "{\"error\":\"model is required\"}" },
		{ "{\"model\":7}", "{\"error\":\"model must be a string\"}" },
		{ "{\"name\":[\"chat\"]}", "{\"error\":\"name must be a string\"}" },
		{ "[\"chat\"]", NULL },
		{ "{\"model\":\"ch\xfft\"}", NULL },
		{ "", NULL },
		{ "{\"model\":\"chat\",\"model\":\"off\"}", NULL },
	};
	size_t	 i;
	char	*b;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = show(cases[i].req, &tok_all, 400);
		if (cases[i].error != NULL)
			assert_string_equal(b, cases[i].error);
		else
			assert_true(strncmp(b, "{\"error\":\"", 10) == 0 &&
			    strlen(b) > 14);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_version),
		cmocka_unit_test_setup(test_tags, setup),
		cmocka_unit_test_setup(test_ps, setup),
		cmocka_unit_test_setup(test_show, setup),
		cmocka_unit_test_setup(test_show_not_found, setup),
		cmocka_unit_test_setup(test_show_bad_request, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
