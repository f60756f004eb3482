/* rewrite_body: only the model value and omitted defaults change. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

static struct reg_model
model(void)
{
	struct reg_model	m;

	memset(&m, 0, sizeof(m));
	m.key = (char *)"chat";
	m.model_id = (char *)"llama3:8b";
	m.model_id_json = (char *)"\"llama3:8b\"";
	m.active = 1;
	return m;
}

/*
 * Scan body as the proxy does (Ollama's format or not), rewrite it
 * (asking for usage or not), compare.
 */
static void
check_route(const char *body, const struct reg_model *m,
    enum route_kind route, int ollama, int ask_usage, const char *want)
{
	struct request	 rq;
	char		 err[128], *out;
	size_t		 len;

	memset(&rq, 0, sizeof(rq));
	if (request_scan(&rq, body, strlen(body), ollama, err,
	    sizeof(err)) == -1)
		fail_msg("%s: %s", body, err);
	out = ollama ? rewrite_ollama(&rq, m, route, &len) :
	    rewrite_body(&rq, m, route, ask_usage, &len);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
	request_clear(&rq);
}

static void
check(const char *body, const struct reg_model *m, enum route_kind route,
    const char *want)
{
	check_route(body, m, route, 0, 0, want);
}

static void
test_rewrite_model_only(void **state)
{
	struct reg_model	m = model();

	(void)state;
	check("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi \\u00e9\"}],\"x\":[1,2.5e3,null]}", &m, ROUTE_CHAT,
	    "{\"model\":\"llama3:8b\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi \\u00e9\"}],\"x\":[1,2.5e3,null]}");
	/* Whitespace and escapes in the client's bytes survive untouched. */
	check(" \n{ \"mod\\u0065l\" : \"chat\" , \"stream\" : true }\n", &m,
	    ROUTE_CHAT, " \n{ \"mod\\u0065l\" : \"llama3:8b\" , \"stream\" :"
	    " true }\n");
}

static void
test_rewrite_defaults(void **state)
{
	struct reg_model	m = model();

	(void)state;
	m.has_temperature = 1;
	m.temperature = 0.7;
	m.max_tokens = 256;
	check("{\"model\":\"chat\",\"messages\":[]}", &m, ROUTE_CHAT,
	    "{\"temperature\":0.7,\"max_tokens\":256,\"model\":\"llama3:8b\","
	    "\"messages\":[]}");
	/* Leading whitespace: defaults go inside the object. */
	check("  {\"model\":\"chat\"}", &m, ROUTE_COMPLETIONS,
	    "  {\"temperature\":0.7,\"max_tokens\":256,\"model\":\"llama3:8b\"}");
	/* The request's own values win; max_completion_tokens counts too. */
	check("{\"temperature\":0,\"max_completion_tokens\":5,\"model\":"
	    "\"chat\"}", &m, ROUTE_CHAT, "{\"temperature\":0,"
	    "\"max_completion_tokens\":5,\"model\":\"llama3:8b\"}");
	/* Embeddings take no sampling defaults. */
	check("{\"model\":\"chat\",\"input\":\"x\"}", &m, ROUTE_EMBEDDINGS,
	    "{\"model\":\"llama3:8b\",\"input\":\"x\"}");
}

static void
test_rewrite_system_prompt(void **state)
{
	struct reg_model	m = model();

	(void)state;
	m.system_prompt = (char *)"Be \"brief\".";
	check("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
	    "\"model\":\"chat\"}", &m, ROUTE_CHAT,
	    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be \\\"brief\\\"."
	    "\"},{\"role\":\"user\",\"content\":\"q\"}],\"model\":"
	    "\"llama3:8b\"}");
	check("{\"model\":\"chat\",\"messages\":[ ]}", &m, ROUTE_CHAT,
	    "{\"model\":\"llama3:8b\",\"messages\":[{\"role\":\"system\","
	    "\"content\":\"Be \\\"brief\\\".\"} ]}");
	/* A system or developer message of the client's stays alone. */
	check("{\"model\":\"chat\",\"messages\":[{\"role\":\"developer\","
	    "\"content\":\"mine\"}]}", &m, ROUTE_CHAT,
	    "{\"model\":\"llama3:8b\",\"messages\":[{\"role\":\"developer\","
	    "\"content\":\"mine\"}]}");
	/* Not for legacy completions. */
	check("{\"model\":\"chat\",\"prompt\":\"p\"}", &m, ROUTE_COMPLETIONS,
	    "{\"model\":\"llama3:8b\",\"prompt\":\"p\"}");
}

/* A stream asks the backend for usage, whatever the client's options. */
static void
check_usage(const char *body, const char *want)
{
	struct reg_model	m = model();

	m.max_tokens = 64;
	check_route(body, &m, ROUTE_CHAT, 0, 1, want);
}

static void
test_rewrite_include_usage(void **state)
{
	(void)state;
	check_usage("{\"model\":\"chat\",\"stream\":true}",
	    "{\"max_tokens\":64,\"stream_options\":{\"include_usage\":true},"
	    "\"model\":\"llama3:8b\",\"stream\":true}");
	check_usage("{\"model\":\"chat\",\"stream_options\":{}}",
	    "{\"max_tokens\":64,\"model\":\"llama3:8b\","
	    "\"stream_options\":{\"include_usage\":true}}");
	check_usage("{\"stream_options\":{\"x\":1},\"model\":\"chat\"}",
	    "{\"max_tokens\":64,\"stream_options\":{\"include_usage\":true,"
	    "\"x\":1},\"model\":\"llama3:8b\"}");
	check_usage("{\"model\":\"chat\",\"stream_options\":"
	    "{\"include_usage\":false}}",
	    "{\"max_tokens\":64,\"model\":\"llama3:8b\","
	    "\"stream_options\":{\"include_usage\":true}}");
	check_usage("{\"model\":\"chat\",\"stream_options\":null}",
	    "{\"max_tokens\":64,\"model\":\"llama3:8b\","
	    "\"stream_options\":{\"include_usage\":true}}");
}

/* Ollama's request: the same scan as the proxy's, rewrite_ollama. */
static void
check_ollama(const char *body, const struct reg_model *m,
    enum route_kind route, const char *want)
{
	check_route(body, m, route, 1, 0, want);
}

static void
test_rewrite_ollama(void **state)
{
	struct reg_model	m = model();

	(void)state;
	check_ollama("{\"model\":\"chat\"}", &m, ROUTE_CHAT,
	    "{\"model\":\"llama3:8b\"}");
	m.has_temperature = 1;
	m.temperature = 0.5;
	m.max_tokens = 64;
	check_ollama("{\"model\":\"chat\",\"messages\":[]}", &m, ROUTE_CHAT,
	    "{\"options\":{\"temperature\":0.5,\"num_predict\":64},"
	    "\"model\":\"llama3:8b\",\"messages\":[]}");
	check_ollama("{\"model\":\"chat\",\"options\":{}}", &m, ROUTE_CHAT,
	    "{\"model\":\"llama3:8b\",\"options\":{\"temperature\":0.5,"
	    "\"num_predict\":64}}");
	check_ollama("{\"options\":{\"temperature\":1,\"seed\":3},"
	    "\"model\":\"chat\"}", &m, ROUTE_COMPLETIONS,
	    "{\"options\":{\"num_predict\":64,\"temperature\":1,\"seed\":3},"
	    "\"model\":\"llama3:8b\"}");
	check_ollama("{\"model\":\"chat\",\"options\":null}", &m, ROUTE_CHAT,
	    "{\"model\":\"llama3:8b\",\"options\":null}");
	check_ollama("{\"model\":\"chat\",\"input\":\"x\"}", &m,
	    ROUTE_EMBEDDINGS, "{\"model\":\"llama3:8b\",\"input\":\"x\"}");
	m.has_temperature = 0;
	m.max_tokens = 0;
	m.system_prompt = (char *)"Be \"brief\".";
	check_ollama("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\"}]}",
	    &m, ROUTE_CHAT, "{\"model\":\"llama3:8b\",\"messages\":"
	    "[{\"role\":\"system\",\"content\":\"Be \\\"brief\\\".\"},"
	    "{\"role\":\"user\"}]}");
	check_ollama("{\"model\":\"chat\",\"prompt\":\"p\"}", &m,
	    ROUTE_COMPLETIONS, "{\"system\":\"Be \\\"brief\\\".\","
	    "\"model\":\"llama3:8b\",\"prompt\":\"p\"}");
	check_ollama("{\"model\":\"chat\",\"system\":\"mine\"}", &m,
	    ROUTE_COMPLETIONS, "{\"model\":\"llama3:8b\",\"system\":\"mine\"}");
}

/* The output cap the backend is sent: the client's, or the default added. */
static int64_t
max_output(const char *body, const struct reg_model *m, int ollama,
    enum route_kind route)
{
	struct request	 rq;
	char		 err[128], *out;
	size_t		 len;
	int64_t		 v;

	memset(&rq, 0, sizeof(rq));
	if (request_scan(&rq, body, strlen(body), ollama, err,
	    sizeof(err)) == -1)
		fail_msg("%s: %s", body, err);
	out = ollama ? rewrite_ollama(&rq, m, route, &len) :
	    rewrite_body(&rq, m, route, 0, &len);
	v = rq.max_output;
	free(out);
	request_clear(&rq);
	return v;
}

static void
test_rewrite_max_output(void **state)
{
	struct reg_model	m = model();

	(void)state;
	assert_int_equal(max_output("{\"model\":\"chat\"}", &m, 0, ROUTE_CHAT),
	    -1);
	assert_int_equal(max_output("{\"model\":\"chat\",\"max_tokens\":1e3}",
	    &m, 0, ROUTE_CHAT), 1000);
	assert_int_equal(max_output("{\"model\":\"chat\",\"max_tokens\":7,"
	    "\"max_completion_tokens\":9.0}", &m, 0, ROUTE_CHAT), 9);
	m.max_tokens = 256;
	assert_int_equal(max_output("{\"model\":\"chat\"}", &m, 0, ROUTE_CHAT),
	    256);
	assert_int_equal(max_output("{\"model\":\"chat\",\"max_tokens\":"
	    "1000000.0}", &m, 0, ROUTE_CHAT), 1000000);
	assert_int_equal(max_output("{\"model\":\"chat\",\"input\":\"x\"}", &m,
	    0, ROUTE_EMBEDDINGS), 0);
	/* Ollama reads options.num_predict, not max_tokens. */
	assert_int_equal(max_output("{\"model\":\"chat\",\"max_tokens\":1,"
	    "\"options\":{\"num_predict\":2E+5}}", &m, 1, ROUTE_CHAT), 200000);
	assert_int_equal(max_output("{\"model\":\"chat\",\"max_tokens\":1}",
	    &m, 1, ROUTE_CHAT), 256);
	assert_int_equal(max_output("{\"model\":\"chat\",\"options\":"
	    "{\"num_predict\":-1}}", &m, 1, ROUTE_CHAT), -1);
}

/*
 * The Responses API's body passed through: the model's defaults in its
 * own names (max_output_tokens; the system prompt as instructions, unless
 * the client gave instructions or a system or developer input item), and
 * its cap read as the output cap.
 */
static void
test_rewrite_responses(void **state)
{
	struct reg_model	m = model();

	(void)state;
	m.has_temperature = 1;
	m.temperature = 0.5;
	m.max_tokens = 64;
	m.system_prompt = (char *)"Be \"brief\".";
	check("{\"model\":\"chat\",\"input\":\"hi\"}", &m, ROUTE_RESPONSES,
	    "{\"temperature\":0.5,\"max_output_tokens\":64,\"instructions\":"
	    "\"Be \\\"brief\\\".\",\"model\":\"llama3:8b\",\"input\":\"hi\"}");
	check("{\"model\":\"chat\",\"instructions\":\"mine\","
	    "\"max_output_tokens\":9,\"temperature\":1,\"input\":\"hi\"}", &m,
	    ROUTE_RESPONSES, "{\"model\":\"llama3:8b\",\"instructions\":"
	    "\"mine\",\"max_output_tokens\":9,\"temperature\":1,\"input\":"
	    "\"hi\"}");
	check("{\"model\":\"chat\",\"max_output_tokens\":9,\"input\":[{\"role\":"
	    "\"developer\",\"content\":\"x\"}]}", &m, ROUTE_RESPONSES,
	    "{\"temperature\":0.5,\"model\":\"llama3:8b\",\"max_output_tokens\":"
	    "9,\"input\":[{\"role\":\"developer\",\"content\":\"x\"}]}");
	m.has_temperature = 0;
	m.max_tokens = 0;
	check("{\"model\":\"chat\",\"instructions\":null}", &m,
	    ROUTE_RESPONSES, "{\"model\":\"llama3:8b\",\"instructions\":null}");
	m.system_prompt = NULL;
	check("{\"model\":\"chat\"}", &m, ROUTE_RESPONSES,
	    "{\"model\":\"llama3:8b\"}");
	/* Its cap is the output cap, checked as the others are. */
	assert_int_equal(max_output("{\"model\":\"chat\",\"max_output_tokens\":"
	    "3e2}", &m, 0, ROUTE_RESPONSES), 300);
	m.max_tokens = 50;
	assert_int_equal(max_output("{\"model\":\"chat\"}", &m, 0,
	    ROUTE_RESPONSES), 50);
}

/*
 * A body a guardrail changed, its spans moved rather than scanned again,
 * is rewritten exactly as a fresh scan of it would be: every text of a
 * few bodies replaced by a longer and by a shorter one.
 */
static void
test_rewrite_rebased(void **state)
{
	static const char *const bodies[] = {
		"{\"messages\":[{\"role\":\"user\",\"content\":\"a b\"}],"
		"\"stream_options\":{\"include_usage\":false},\"model\":\"chat\","
		"\"user\":\"u\",\"stream\":true}",
		"{\"model\":\"chat\",\"tools\":[{\"type\":\"function\","
		"\"function\":{\"name\":\"f\",\"description\":\"d\\u00e9\"}}],"
		"\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
		"\"text\":\"xyz\"}]}],\"stream_options\":{\"q\":\"w\"}}",
	};
	static const char *const ins[] = { "\"a much longer text\"", "\"\"" };
	struct reg_model	 m = model();
	struct request		 rq, fresh;
	struct request_splice	 sp;
	const struct request_text *t;
	char			 err[128], *moved, *a, *b;
	size_t			 i, k, j, n, mlen, alen, blen;

	(void)state;
	m.max_tokens = 8;
	m.system_prompt = (char *)"sys";
	memset(&rq, 0, sizeof(rq));
	memset(&fresh, 0, sizeof(fresh));
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(request_scan(&rq, bodies[i], strlen(bodies[i]),
		    0, err, sizeof(err)), 0);
		n = rq.ntexts;
		for (k = 0; k < n; k++)
			for (j = 0; j < 2; j++) {
				assert_int_equal(request_scan(&rq, bodies[i],
				    strlen(bodies[i]), 0, err, sizeof(err)), 0);
				t = &request_texts(&rq, &n)[k];
				if (t->flags & REQUEST_TEXT_KEY)
					continue;
				sp = (struct request_splice){ t->start,
				    t->end - t->start, ins[j], strlen(ins[j]) };
				moved = request_apply(rq.body, rq.len, &sp, 1,
				    &mlen);
				request_rebase(&rq, moved, mlen, &sp, 1);
				a = rewrite_body(&rq, &m, ROUTE_CHAT, 1, &alen);
				assert_int_equal(request_scan(&fresh, moved,
				    mlen, 0, err, sizeof(err)), 0);
				b = rewrite_body(&fresh, &m, ROUTE_CHAT, 1,
				    &blen);
				assert_string_equal(a, b);
				free(a);
				free(b);
				free(moved);
			}
	}
	request_clear(&rq);
	request_clear(&fresh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite_model_only),
		cmocka_unit_test(test_rewrite_defaults),
		cmocka_unit_test(test_rewrite_system_prompt),
		cmocka_unit_test(test_rewrite_include_usage),
		cmocka_unit_test(test_rewrite_ollama),
		cmocka_unit_test(test_rewrite_max_output),
		cmocka_unit_test(test_rewrite_responses),
		cmocka_unit_test(test_rewrite_rebased),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
