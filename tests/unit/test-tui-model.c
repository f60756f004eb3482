/*
 * cube-tui's Models view and model page without a screen: the sort
 * comparator (text and figures, missing figures last, ties by key) and
 * the curl line (address, TLS pin, quoting of hostile names).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "cube-tui.h"

#define NMODELS	4

static const char *const models_json =
    "[{\"key\":\"b\",\"name\":\"Bravo\",\"provider\":\"p2\","
    "\"status\":\"active\",\"pricing\":{\"input\":\"0.5\","
    "\"output\":\"10\"}},"
    "{\"key\":\"a\",\"name\":\"Zulu\",\"provider\":\"p1\","
    "\"status\":\"inactive\",\"pricing\":{\"input\":\"2\","
    "\"output\":\"1\"}},"
    "{\"key\":\"c\",\"name\":\"Alpha\",\"provider\":\"p1\","
    "\"status\":\"active\",\"pricing\":{\"input\":\"0.15\","
    "\"output\":\"oops\"}},"
    "{\"key\":\"d\",\"name\":\"Delta\",\"provider\":\"p3\","
    "\"status\":\"active\",\"pricing\":{\"input\":\"2\","
    "\"output\":\"1\"}}]";

/* b: 5 calls, a: 9, c: none (idle, not in stats), d: 5. */
static const char *const stats_json =
    "[{\"model\":\"b\",\"spend_today_usd\":\"0.0000123\","
    "\"1h\":{\"requests\":5,\"error_rate\":0.2,\"latency_p50_ms\":30}},"
    "{\"model\":\"a\",\"spend_today_usd\":\"1.5\","
    "\"1h\":{\"requests\":9,\"error_rate\":0,\"latency_p50_ms\":null}},"
    "{\"model\":\"d\",\"spend_today_usd\":\"not money\","
    "\"1h\":{\"requests\":5,\"error_rate\":0,\"latency_p50_ms\":12}}]";

struct fixture {
	cJSON			*models;
	cJSON			*stats;
	struct model_row	 rows[NMODELS];
};

static const cJSON *
figures_of(const cJSON *stats, const char *key)
{
	const cJSON	*m;

	cJSON_ArrayForEach(m, stats)
		if (strcmp(cJSON_GetObjectItem(m, "model")->valuestring,
		    key) == 0)
			return m;
	return NULL;
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	const cJSON	*m;
	size_t		 i = 0;

	f->models = cJSON_Parse(models_json);
	f->stats = cJSON_Parse(stats_json);
	cJSON_ArrayForEach(m, f->models) {
		f->rows[i].model = m;
		f->rows[i++].figures = figures_of(f->stats,
		    cJSON_GetObjectItem(m, "key")->valuestring);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	cJSON_Delete(f->models);
	cJSON_Delete(f->stats);
	free(f);
	return 0;
}

/* The keys in the order of rows, as one string. */
static const char *
order(struct fixture *f, enum model_sort s, int reverse)
{
	static char	buf[NMODELS + 1];
	size_t		i;

	model_rows_sort(f->rows, NMODELS, s, reverse);
	for (i = 0; i < NMODELS; i++)
		buf[i] = cJSON_GetObjectItem(f->rows[i].model,
		    "key")->valuestring[0];
	buf[NMODELS] = '\0';
	return buf;
}

static void
test_sort_text(void **state)
{
	struct fixture	*f = *state;

	assert_string_equal(order(f, MODEL_SORT_KEY, 0), "abcd");
	assert_string_equal(order(f, MODEL_SORT_KEY, 1), "dcba");
	assert_string_equal(order(f, MODEL_SORT_NAME, 0), "cbda");
	/* Ties (p1 twice) by key, either way round. */
	assert_string_equal(order(f, MODEL_SORT_PROVIDER, 0), "acbd");
	assert_string_equal(order(f, MODEL_SORT_PROVIDER, 1), "dbac");
	assert_string_equal(order(f, MODEL_SORT_STATUS, 0), "bcda");
	assert_int_equal(model_sort_numeric(MODEL_SORT_NAME), 0);
}

static void
test_sort_figures(void **state)
{
	struct fixture	*f = *state;

	/* Highest first; c has no figures: last, also reversed. */
	assert_string_equal(order(f, MODEL_SORT_CALLS, 0), "abdc");
	assert_string_equal(order(f, MODEL_SORT_CALLS, 1), "bdac");
	assert_string_equal(order(f, MODEL_SORT_ERRORS, 0), "badc");
	/* a's p50 is null: with c, after those that have one. */
	assert_string_equal(order(f, MODEL_SORT_LATENCY, 0), "bdac");
	/* Exact decimals; d's is not money: last. */
	assert_string_equal(order(f, MODEL_SORT_SPEND, 0), "abcd");
	assert_string_equal(order(f, MODEL_SORT_PRICE_IN, 0), "adbc");
	assert_string_equal(order(f, MODEL_SORT_PRICE_OUT, 0), "badc");
	assert_int_equal(model_sort_numeric(MODEL_SORT_SPEND), 1);
	assert_string_equal(model_sort_name(MODEL_SORT_CALLS), "calls");
	assert_string_equal(model_sort_name(MODEL_SORT_N), "?");
}

static void
test_figure(void **state)
{
	struct fixture	*f = *state;

	assert_true(model_figure(f->rows[0].figures, "1h", "requests") == 5);
	assert_true(model_figure(f->rows[0].figures, "1m", "requests") == -1);
	assert_true(model_figure(NULL, "1h", "requests") == -1);
	assert_true(model_figure(f->rows[1].figures, "1h",
	    "latency_p50_ms") == -1);
}

static void
test_compare_hostile(void **state)
{
	cJSON			*a = cJSON_Parse("{\"key\":1}");
	cJSON			*b = cJSON_Parse("[]");
	struct model_row	 ra = { a, NULL }, rb = { b, b };

	(void)state;
	/* Nothing the agent sends makes it crash; a sort out of range is key. */
	assert_int_equal(model_row_compare(&ra, &rb, MODEL_SORT_KEY, 0), 0);
	assert_int_equal(model_row_compare(&ra, &rb, MODEL_SORT_N + 3, 0), 0);
	assert_int_equal(model_row_compare(&ra, &rb, MODEL_SORT_SPEND, 1), 0);
	model_rows_sort(&ra, 1, MODEL_SORT_CALLS, 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static const char *
curl(const struct model_curl *in)
{
	static char	buf[MODEL_CURL_MAX];

	if (model_curl_line(in, buf, sizeof(buf)) == -1)
		return NULL;
	return buf;
}

static void
test_curl_plain(void **state)
{
	struct model_curl	in = { .listen = "127.0.0.1:8080",
	    .host = "local", .domain = "acme", .key = "chat" };

	(void)state;
	assert_string_equal(curl(&in), "curl -sS "
	    "'http://127.0.0.1:8080/proxy/acme/v1/chat/completions'"
	    " -H \"Authorization: Bearer $CUBE_TOKEN\""
	    " -H 'Content-Type: application/json' -d "
	    "'{\"model\":\"chat\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"Hello\"}]}'");
	in.embedding = 1;
	assert_non_null(strstr(curl(&in), "/proxy/acme/v1/embeddings'"));
	assert_non_null(strstr(curl(&in),
	    "'{\"model\":\"chat\",\"input\":\"Hello\"}'"));
}

static void
test_curl_address(void **state)
{
	struct model_curl	in = { .listen = "0.0.0.0:8443",
	    .host = "ops@gw1.example.net:2222", .domain = "acme",
	    .key = "chat" };

	(void)state;
	/* A wildcard address: the host's name, not its ssh user or port. */
	assert_non_null(strstr(curl(&in),
	    "'http://gw1.example.net:8443/proxy/"));
	in.host = "local";
	assert_non_null(strstr(curl(&in), "'http://127.0.0.1:8443/"));
	in.listen = "[::]:80";
	in.host = "[2001:db8::1]:22";
	assert_non_null(strstr(curl(&in), "'http://[2001:db8::1]:80/"));
	in.listen = "[::1]:9000";
	assert_non_null(strstr(curl(&in), "'http://[::1]:9000/"));
	/* Not an address: no line. */
	in.listen = NULL;
	assert_null(curl(&in));
	in.listen = "127.0.0.1";
	assert_null(curl(&in));
	in.listen = "127.0.0.1:0";
	assert_null(curl(&in));
	in.listen = "127.0.0.1:99999";
	assert_null(curl(&in));
	in.listen = "127.0.0.1 ;rm:80";
	assert_null(curl(&in));
	in.listen = "evil'$(x)@h:80";
	assert_null(curl(&in));
	/* A host name that is not one falls back to loopback. */
	in.listen = "0.0.0.0:80";
	in.host = "a'b";
	assert_non_null(strstr(curl(&in), "'http://127.0.0.1:80/"));
}

static void
test_curl_tls(void **state)
{
	struct model_curl	 in = { .listen = "10.0.0.1:8443",
	    .host = "local", .domain = "acme", .key = "chat", .tls = 1,
	    .insecure = 1, .spki =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" };
	const char		*s;

	(void)state;
	s = curl(&in);
	assert_non_null(strstr(s, "'https://10.0.0.1:8443/"));
	assert_non_null(strstr(s, " -k --pinnedpubkey 'sha256//"
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='"));
	/* A certificate a CA signed: verified, and still pinned. */
	in.insecure = 0;
	s = curl(&in);
	assert_null(strstr(s, " -k "));
	assert_non_null(strstr(s, "--pinnedpubkey"));
	/* No usable key: no pin, and no -k without one. */
	in.insecure = 1;
	in.spki = "zz";
	s = curl(&in);
	assert_null(strstr(s, "--pinnedpubkey"));
	assert_null(strstr(s, " -k"));
}

static void
test_curl_quoting(void **state)
{
	struct model_curl	 in = { .listen = "127.0.0.1:80",
	    .host = "local", .domain = "a c/'$(x)", .key = "it's\"$(id)`" };
	const char		*s;
	char			 small[64];

	(void)state;
	s = curl(&in);
	/* The domain percent-encoded, the key JSON-escaped, then quoted. */
	assert_non_null(strstr(s, "/proxy/a%20c%2F%27%24%28x%29/v1/"));
	assert_non_null(strstr(s, "-d '{\"model\":\"it'\\''s\\\"$(id)`\","));
	/* Too small: no line, never a cut one. */
	assert_int_equal(model_curl_line(&in, small, sizeof(small)), -1);
	assert_string_equal(small, "");
	assert_int_equal(model_curl_line(&in, small, 0), -1);
	in.key = NULL;
	assert_null(curl(&in));
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_sort_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sort_figures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_figure, setup, teardown),
		cmocka_unit_test(test_compare_hostile),
		cmocka_unit_test(test_curl_plain),
		cmocka_unit_test(test_curl_address),
		cmocka_unit_test(test_curl_tls),
		cmocka_unit_test(test_curl_quoting),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
