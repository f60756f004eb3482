/*
 * Unit tests for agent/request.c: the one strict scan of a request
 * (duplicates at every depth, token caps), the texts it hands the
 * guardrails (every one the backend reads, none that is structural), and
 * what it costs on a 4 KB chat body, alone and with the input hook.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "agent.h"
#include "guard.h"

#define PNG	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"

struct fixture {
	struct request		 rq;
};

static int
setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	request_clear(&f->rq);
	free(f);
	return 0;
}

static int
scan(struct request *rq, const char *body, int ollama, char *err)
{
	return request_scan(rq, body, strlen(body), ollama, err, 128);
}

/*
 * The texts of a scan, each as written in the body (keys marked "k:",
 * numbers "n:"), joined by '|'.
 */
static char *
texts(struct fixture *f, const char *body, int ollama)
{
	const struct request_text	*t;
	char				 err[128], *out;
	size_t				 i, n, len = 0;

	if (scan(&f->rq, body, ollama, err) == -1)
		fail_msg("%s: %s", body, err);
	t = request_texts(&f->rq, &n);
	out = calloc(1, strlen(body) * 2 + 8);
	for (i = 0; i < n; i++)
		len += sprintf(out + len, "%s%s%.*s", i ? "|" : "",
		    t[i].flags & REQUEST_TEXT_KEY ? "k:" :
		    t[i].flags & REQUEST_TEXT_NUMBER ? "n:" : "",
		    (int)(t[i].end - t[i].start), body + t[i].start);
	return out;
}

static void
check_texts(struct fixture *f, const char *body, int ollama,
    const char *want)
{
	char	*got = texts(f, body, ollama);

	assert_string_equal(got, want);
	free(got);
}

/* Every text the model reads is listed, once, in body order. */
static void
test_texts(void **state)
{
	struct fixture	*f = *state;

	/* Messages: content, name, tool calls' ids and arguments. */
	check_texts(f, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi\",\"name\":\"bob\"},{\"role\":\"assistant\","
	    "\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"{\\\"a\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\","
	    "\"content\":\"r\"}]}", 0,
	    "\"hi\"|\"bob\"|\"c1\"|\"f\"|\"{\\\"a\\\":1}\"|\"c1\"|\"r\"");
	/* Tools: names, descriptions, schemas, their property names. */
	check_texts(f, "{\"model\":\"m\",\"tools\":[{\"type\":\"function\","
	    "\"function\":{\"name\":\"look\",\"description\":\"d\","
	    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
	    "{\"type\":\"string\",\"description\":\"c\",\"enum\":[\"x\",7],"
	    "\"default\":4111111111111111,\"maxLength\":9}},\"required\":"
	    "[\"city\"]}}}],\"tool_choice\":\"auto\"}", 0,
	    "\"look\"|\"d\"|k:\"city\"|\"c\"|\"x\"|n:7|n:4111111111111111|"
	    "\"city\"");
	/* The other members the model reads. */
	check_texts(f, "{\"model\":\"m\",\"prompt\":\"p\",\"suffix\":\"s\","
	    "\"user\":\"u\",\"stop\":[\"a\",\"b\"],\"prediction\":{\"type\":"
	    "\"content\",\"content\":\"c\"},\"response_format\":{\"type\":"
	    "\"json_schema\",\"json_schema\":{\"name\":\"n\",\"schema\":"
	    "{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"string\"}}}"
	    "}},\"metadata\":{\"tag\":\"t\"},\"seed\":4111111111111111,"
	    "\"temperature\":0.5,\"logit_bias\":{\"50256\":-100}}", 0,
	    "\"p\"|\"s\"|\"u\"|\"a\"|\"b\"|\"c\"|\"n\"|k:\"k\"|k:\"tag\"|\"t\"|"
	    "k:\"50256\"");
	/* Ollama's generate: system, template, options' stop words. */
	check_texts(f, "{\"model\":\"m\",\"prompt\":\"p\",\"system\":\"s\","
	    "\"template\":\"t\",\"format\":\"json\",\"keep_alive\":\"5m\","
	    "\"options\":{\"stop\":[\"x\"],\"seed\":3,\"num_predict\":5}}", 1,
	    "\"p\"|\"s\"|\"t\"|\"5m\"|\"x\"");
	/* A key a client chose is text, wherever it is. */
	check_texts(f, "{\"model\":\"m\",\"bob@example.com\":1,\"messages\":"
	    "[{\"role\":\"user\",\"x\\u0079\":\"v\"}]}", 0,
	    "k:\"bob@example.com\"|k:\"x\\u0079\"|\"v\"");
}

/* Structural only when the value checks out; otherwise text. */
static void
test_structural(void **state)
{
	struct fixture	*f = *state;

	check_texts(f, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64," PNG "\",\"detail\":\"low\"}},{\"type\":"
	    "\"input_audio\",\"input_audio\":{\"data\":\"UklGRiQAAABXQVZF\","
	    "\"format\":\"wav\"}}]}],\"modalities\":[\"text\"]}", 0, "");
	/* Escaped the way some encoders write '/': still the same image. */
	check_texts(f, "{\"model\":\"m\",\"images\":[\"data:image\\/png;"
	    "base64," PNG "\",\"" PNG "\"]}", 1, "");
	check_texts(f, "{\"model\":\"m\",\"messages\":[{\"role\":\"bob\","
	    "\"content\":[{\"type\":\"mail bob@example.com\",\"image_url\":"
	    "{\"url\":\"https://x.test/?q=bob@example.com\",\"detail\":"
	    "\"hi\"}}]}]}", 0,
	    "\"bob\"|\"mail bob@example.com\"|"
	    "\"https://x.test/?q=bob@example.com\"|\"hi\"");
	/* Base64 of no media, or a text data: URL, is text. */
	check_texts(f, "{\"model\":\"m\",\"images\":[\"AKIAIOSFODNN7EXAMPLE\","
	    "\"data:text/plain,bob@example.com\",\"data:image/png;base64,"
	    "Ym9iQGV4YW1wbGUuY29t\"]}", 1,
	    "\"AKIAIOSFODNN7EXAMPLE\"|\"data:text/plain,bob@example.com\"|"
	    "\"data:image/png;base64,Ym9iQGV4YW1wbGUuY29t\"");
	/* A nested "model" is text; the top-level one is not. */
	check_texts(f, "{\"model\":\"m\",\"metadata\":{\"model\":\"x\"}}", 0,
	    "\"x\"");
}

/* Token ids cannot be read by a guardrail: flagged, never passed. */
static void
test_token_ids(void **state)
{
	struct fixture	*f = *state;
	char		 err[128];

	assert_int_equal(scan(&f->rq, "{\"model\":\"m\",\"prompt\":[1,2,3]}",
	    0, err), 0);
	assert_true(f->rq.token_ids);
	assert_int_equal(scan(&f->rq, "{\"model\":\"m\",\"input\":[[1,2]]}",
	    0, err), 0);
	assert_true(f->rq.token_ids);
	assert_int_equal(scan(&f->rq, "{\"model\":\"m\",\"prompt\":\"p\","
	    "\"context\":[1,2]}", 1, err), 0);
	assert_true(f->rq.token_ids);
	assert_int_equal(scan(&f->rq, "{\"model\":\"m\",\"prompt\":[\"p\"],"
	    "\"seed\":1}", 0, err), 0);
	assert_false(f->rq.token_ids);
}

/* The scan refuses what a backend could read another way. */
static void
test_refused(void **state)
{
	static const struct {
		const char	*body;
		int		 ollama;
		const char	*param;
		const char	*err;
	} bad[] = {
		{ "{\"model\":\"m\",\"prompt\":\"hi\",\"prompt\":\"x\"}", 0, NULL,
		  "duplicate key \"prompt\"" },
		{ "{\"model\":\"m\",\"input\":\"a\",\"\\u0069nput\":\"b\"}", 0,
		  NULL, "duplicate key" },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
		  "\"content\":\"a\",\"content\":\"b\"}]}", 0, NULL,
		  "duplicate key \"content\"" },
		{ "{\"model\":\"m\",\"tools\":[{\"function\":{\"parameters\":"
		  "{\"properties\":{\"a\":{},\"a\":{}}}}}]}", 0, NULL,
		  "duplicate key \"a\"" },
		{ "{\"model\":\"m\",\"max_tokens\":1.5}", 0, "max_tokens",
		  "'max_tokens' must be an integer" },
		{ "{\"model\":\"m\",\"max_tokens\":-1}", 0, "max_tokens", NULL },
		{ "{\"model\":\"m\",\"max_tokens\":16777217}", 0, "max_tokens",
		  NULL },
		{ "{\"model\":\"m\",\"max_tokens\":1e300}", 0, "max_tokens",
		  NULL },
		{ "{\"model\":\"m\",\"max_tokens\":99999999999999999999}", 0,
		  "max_tokens", NULL },
		{ "{\"model\":\"m\",\"max_tokens\":\"100\"}", 0, "max_tokens",
		  NULL },
		{ "{\"model\":\"m\",\"max_completion_tokens\":true}", 0,
		  "max_completion_tokens", NULL },
		{ "{\"model\":\"m\",\"max_output_tokens\":\"9\"}", 0,
		  "max_output_tokens", "'max_output_tokens' must be an integer" },
		{ "{\"model\":\"m\",\"max_output_tokens\":-1}", 0,
		  "max_output_tokens", NULL },
		{ "{\"model\":\"m\",\"options\":{\"num_predict\":1e9}}", 1,
		  "options.num_predict", NULL },
		{ "{\"model\":\"m\",\"options\":{\"num_predict\":-3}}", 1,
		  "options.num_predict", NULL },
		{ "{\"model\":\"m\",\"options\":\"x\"}", 1, "options", NULL },
	};
	struct fixture	*f = *state;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (scan(&f->rq, bad[i].body, bad[i].ollama, err) != -1)
			fail_msg("accepted %s", bad[i].body);
		if (bad[i].param == NULL)
			assert_null(f->rq.param);
		else
			assert_string_equal(f->rq.param, bad[i].param);
		if (bad[i].err != NULL &&
		    strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("%s: %s", bad[i].body, err);
	}
}

/* Caps in any JSON spelling are read as the backend reads them. */
static void
test_caps(void **state)
{
	static const struct {
		const char	*body;
		int		 ollama;
		int64_t		 max;
	} caps[] = {
		{ "{\"model\":\"m\"}", 0, -1 },
		{ "{\"model\":\"m\",\"max_tokens\":null}", 0, -1 },
		{ "{\"model\":\"m\",\"max_tokens\":1e6}", 0, 1000000 },
		{ "{\"model\":\"m\",\"max_tokens\":1000000.0}", 0, 1000000 },
		{ "{\"model\":\"m\",\"max_tokens\":1E+6}", 0, 1000000 },
		{ "{\"model\":\"m\",\"max_tokens\":16777216}", 0, 16777216 },
		{ "{\"model\":\"m\",\"max_tokens\":0}", 0, 0 },
		{ "{\"model\":\"m\",\"max_tokens\":10,\"max_completion_tokens\":"
		  "2e1}", 0, 20 },
		{ "{\"model\":\"m\",\"options\":{\"num_predict\":5e2}}", 1, 500 },
		{ "{\"model\":\"m\",\"options\":{\"num_predict\":-1}}", 1, -1 },
		{ "{\"model\":\"m\",\"max_tokens\":7}", 1, -1 },
		{ "{\"model\":\"m\",\"options\":{\"num_predict\":1.5}}", 0, -1 },
	};
	struct fixture	*f = *state;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (scan(&f->rq, caps[i].body, caps[i].ollama, err) == -1)
			fail_msg("%s: %s", caps[i].body, err);
		assert_int_equal(f->rq.max_output, caps[i].max);
	}
}

/* What the scan found for the pipeline: members, counts, prompt bytes. */
static void
test_members(void **state)
{
	struct fixture	*f = *state;
	const char	*b = "{\"messages\":[{\"role\":\"user\",\"content\":"
			    "\"abcd\"},{\"role\":\"developer\",\"content\":[{"
			    "\"type\":\"text\",\"text\":\"efgh\"}]}],\"model\":"
			    "\"m\",\"stream_options\":{\"include_usage\":true},"
			    "\"stream\":true,\"user\":\"ij\"}";
	char		 err[128];

	assert_int_equal(scan(&f->rq, b, 0, err), 0);
	assert_true(f->rq.model.present);
	assert_int_equal(b[f->rq.model.start], '"');
	assert_int_equal(f->rq.stream.type, JSCAN_TRUE);
	assert_int_equal(f->rq.include_usage.type, JSCAN_TRUE);
	assert_true(f->rq.has_system);
	assert_int_equal(f->rq.nmessages, 2);
	assert_int_equal(f->rq.prompt_bytes, 10);
	assert_int_equal(scan(&f->rq, "{\"model\":\"m\",\"prompt\":[\"a\","
	    "\"b\",\"c\"],\"system\":\"s\"}", 1, err), 0);
	assert_int_equal(f->rq.nmessages, 4);
	assert_false(f->rq.has_system);
	assert_int_equal(scan(&f->rq, "{\"model\":\"m\",\"options\":"
	    "{\"temperature\":1,\"num_predict\":2}}", 1, err), 0);
	assert_true(f->rq.options_temperature.present);
	assert_true(f->rq.num_predict.present);
}

/*
 * The cost of the scan on a 4 KB chat body: the scan alone, and with the
 * input hook over a guardrail that reads no text (so that its matching
 * does not hide the scanning).
 */
static void
test_speed(void **state)
{
	static const char prose[] = "The quarterly report shows steady"
	    " growth in every region, with the northern office ahead of plan"
	    " and the southern one catching up after a slow spring. Please"
	    " summarise the main points for the board, in plain words, and"
	    " list the risks that remain open. ";
	struct fixture		*f = *state;
	struct guard_spec	 len = { .key = "len", .kind = GUARD_LENGTH,
				    .action = GUARD_BLOCK, .max_chars = 1000000 };
	struct guard		*g;
	const struct guard	*gp[1];
	struct reg_model	 m;
	struct guard_report	 r;
	struct timespec		 t0, t1;
	char			 body[8192], err[128], *out;
	size_t			 n = 0, outlen;
	int			 i, rounds = 20000;
	double			 scan_us, guard_us;

	n += sprintf(body + n, "{\"model\":\"chat\",\"stream\":false,"
	    "\"temperature\":0.2,\"max_tokens\":512,\"messages\":["
	    "{\"role\":\"system\",\"content\":\"You are a careful assistant.\"}");
	for (i = 0; i < 7; i++)
		n += sprintf(body + n, ",{\"role\":\"%s\",\"content\":\"%s%s\"}",
		    i % 2 ? "assistant" : "user", prose, prose);
	n += sprintf(body + n, "],\"tools\":[{\"type\":\"function\","
	    "\"function\":{\"name\":\"lookup\",\"description\":\"Look a figure"
	    " up\",\"parameters\":{\"type\":\"object\",\"properties\":"
	    "{\"region\":{\"type\":\"string\",\"description\":\"which region\"}"
	    "},\"required\":[\"region\"]}}}],\"user\":\"u-42\"}");
	assert_true(n >= 4000 && n < 4300);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++)
		assert_int_equal(request_scan(&f->rq, body, n, 0, err,
		    sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	scan_us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec -
	    t0.tv_nsec)) / 1e3 / rounds;

	g = guard_new(&len, err, sizeof(err));
	gp[0] = g;
	memset(&m, 0, sizeof(m));
	m.guard_in.guards = gp;
	m.guard_in.n = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(request_scan(&f->rq, body, n, 0, err,
		    sizeof(err)), 0);
		assert_int_equal(guard_input(&m, &f->rq, &out, &outlen, &r),
		    GUARD_PASS);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	guard_us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec -
	    t0.tv_nsec)) / 1e3 / rounds;
	print_message("# %zu-byte chat body: scan %.2f us, scan + input hook"
	    " %.2f us, %zu texts\n", n, scan_us, guard_us, f->rq.ntexts);
	/* No allocation for it: every list fits its inline room. */
	assert_null(f->rq.texts);
	assert_null(f->rq.keys.heap);
	guard_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_texts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_structural, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_ids, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_speed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
