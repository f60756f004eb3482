/* meter.c: usage from answers and stream events, and the estimate's inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

#define ANSWER \
	"{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":" \
	"\"assistant\",\"content\":\"say \\\"usage\\\": {no}\"}}]," \
	"\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":12," \
	"\"total_tokens\":52,\"prompt_tokens_details\":{\"cached_tokens\":8}}}"

/* The usage-only fast path and the full parse agree; text when kept. */
static void
test_answer(void **state)
{
	struct meter	m;
	const char	*a = ANSWER;

	(void)state;
	meter_init(&m, 0);
	meter_answer(&m, a, strlen(a));
	assert_true(m.has_usage);
	assert_int_equal(m.prompt_tokens, 40);
	assert_int_equal(m.completion_tokens, 12);
	assert_int_equal(m.cached_tokens, 8);
	meter_clear(&m);

	meter_init(&m, 1);
	meter_answer(&m, a, strlen(a));
	assert_int_equal(m.prompt_tokens, 40);
	assert_int_equal(m.cached_tokens, 8);
	assert_string_equal(m.text, "say \"usage\": {no}");
	meter_clear(&m);

	/* No usage: the answer's text counts, for the estimate. */
	meter_init(&m, 0);
	a = "{\"choices\":[{\"text\":\"abcdefgh\"}],\"usage\":null}";
	meter_answer(&m, a, strlen(a));
	assert_false(m.has_usage);
	assert_int_equal(m.content_bytes, 8);
	assert_int_equal(meter_estimate(m.content_bytes), 2);
	assert_int_equal(meter_estimate(9), 3);
	meter_clear(&m);

	/* More cached than prompt tokens is not believed. */
	meter_init(&m, 0);
	a = "{\"usage\":{\"prompt_tokens\":2,\"prompt_tokens_details\":"
	    "{\"cached_tokens\":5}}}";
	meter_answer(&m, a, strlen(a));
	assert_int_equal(m.cached_tokens, 2);
	meter_clear(&m);
}

/* Stream events: content counted, the usage-only chunk recognised. */
static void
test_events(void **state)
{
	struct meter	 m;
	const char	*c1 = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}],"
			    "\"usage\":null}\n\n";
	const char	*c2 = "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}"
			    "\r\n\r\n";
	const char	*u = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
			    "\"completion_tokens\":2}}\n\n";
	const char	*done = "data: [DONE]\n\n";

	(void)state;
	meter_init(&m, 1);
	assert_int_equal(meter_event(&m, c1, strlen(c1)), 0);
	assert_int_equal(meter_event(&m, c2, strlen(c2)), 0);
	assert_false(m.has_usage);
	assert_int_equal(m.content_bytes, 5);
	assert_int_equal(meter_event(&m, u, strlen(u)), METER_USAGE_ONLY);
	assert_int_equal(meter_event(&m, done, strlen(done)), 0);
	assert_true(m.has_usage);
	assert_int_equal(m.prompt_tokens, 3);
	assert_int_equal(m.completion_tokens, 2);
	assert_string_equal(m.text, "Hello");
	meter_clear(&m);
}

/*
 * The Responses API's usage: a whole Response (read in full: its
 * metadata, the client's, comes after usage and may hold a "usage" of its
 * own) and the stream's closing event; the deltas' text in between.
 */
static void
test_responses(void **state)
{
	struct meter	 m;
	const char	*a = "{\"id\":\"resp_1\",\"object\":\"response\","
			    "\"output\":[{\"type\":\"message\",\"role\":"
			    "\"assistant\",\"content\":[{\"type\":\"output_text\","
			    "\"text\":\"Hi there\",\"annotations\":[]}]}],"
			    "\"usage\":{\"input_tokens\":21,\"input_tokens_details\":"
			    "{\"cached_tokens\":5},\"output_tokens\":7,"
			    "\"output_tokens_details\":{\"reasoning_tokens\":0},"
			    "\"total_tokens\":28},\"metadata\":{\"usage\":"
			    "{\"input_tokens\":0,\"output_tokens\":0}}}";
	const char	*created = "event: response.created\ndata: {\"type\":"
			    "\"response.created\",\"response\":{\"id\":\"r\","
			    "\"usage\":null}}\n\n";
	const char	*d1 = "event: response.output_text.delta\ndata: "
			    "{\"type\":\"response.output_text.delta\",\"delta\":"
			    "\"Hel\"}\n\n";
	const char	*d2 = "data: {\"type\":\"response.output_text.delta\","
			    "\"delta\":\"lo\"}\n\n";
	const char	*other = "data: {\"type\":\"response.output_text.done\","
			    "\"text\":\"Hello\"}\n\n";
	const char	*done = "event: response.completed\ndata: {\"type\":"
			    "\"response.completed\",\"response\":{\"id\":\"r\","
			    "\"output\":[{\"type\":\"message\",\"content\":[{\"type\":"
			    "\"output_text\",\"text\":\"Hello\"}]}],\"usage\":"
			    "{\"input_tokens\":9,\"input_tokens_details\":"
			    "{\"cached_tokens\":20},\"output_tokens\":2}}}\n\n";
	const char	*cut = "data: {\"type\":\"response.incomplete\","
			    "\"response\":{\"usage\":{\"input_tokens\":4,"
			    "\"output_tokens\":1}}}\n\n";

	(void)state;
	meter_init(&m, 1);
	meter_json(&m, a, strlen(a));
	assert_true(m.has_usage);
	assert_int_equal(m.prompt_tokens, 21);
	assert_int_equal(m.completion_tokens, 7);
	assert_int_equal(m.cached_tokens, 5);
	assert_string_equal(m.text, "Hi there");
	meter_clear(&m);

	meter_init(&m, 1);
	assert_int_equal(meter_event(&m, created, strlen(created)), 0);
	assert_false(m.has_usage);
	meter_event(&m, d1, strlen(d1));
	meter_event(&m, d2, strlen(d2));
	meter_event(&m, other, strlen(other));
	assert_int_equal(m.content_bytes, 5);
	assert_false(m.has_usage);
	assert_int_equal(meter_event(&m, done, strlen(done)), 0);
	assert_true(m.has_usage);
	assert_int_equal(m.prompt_tokens, 9);
	assert_int_equal(m.completion_tokens, 2);
	assert_int_equal(m.cached_tokens, 9);	/* never above the prompt */
	assert_string_equal(m.text, "Hello");	/* the deltas, once */
	meter_event(&m, cut, strlen(cut));
	assert_int_equal(m.prompt_tokens, 4);
	assert_int_equal(m.completion_tokens, 1);
	assert_int_equal(m.cached_tokens, 0);
	meter_clear(&m);
}

/* Is s[0..n) well-formed UTF-8, no character cut? */
static int
utf8_whole(const char *s, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		unsigned char c = s[i];

		k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (i + k > n)
			return 0;
		i += k;
	}
	return 1;
}

/*
 * The text kept for a trace is bounded in bytes, however large a piece:
 * a 1 MiB answer keeps 64 KiB, cut between two characters.
 */
static void
test_text_bound(void **state)
{
	struct meter	 m;
	size_t		 n = 1024 * 1024, i, len;
	char		*a, *p;
	const char	*ev = "data: {\"choices\":[{\"delta\":{\"content\":"
			    "\"x\"}}]}\n\n";

	(void)state;
	/* "é" is two bytes: after one "x" the cut falls inside one. */
	a = malloc(n + 64);
	p = a + sprintf(a, "{\"choices\":[{\"message\":{\"content\":\"");
	for (i = 0; i < n / 2; i++) {
		*p++ = '\xc3';
		*p++ = '\xa9';
	}
	p += sprintf(p, "\"}}]}");
	meter_init(&m, 1);
	meter_event(&m, ev, strlen(ev));
	meter_answer(&m, a, p - a);
	assert_int_equal(m.content_bytes, n + 1);
	len = strlen(m.text);
	assert_int_equal(len, m.text_len);
	assert_true(len <= 64 * 1024);
	assert_true(len >= 64 * 1024 - 4);
	assert_true(m.text_cap <= 64 * 1024 + 1);
	assert_true(utf8_whole(m.text, len));
	/* Full: nothing more is kept, the count goes on. */
	meter_event(&m, ev, strlen(ev));
	assert_int_equal(strlen(m.text), len);
	assert_int_equal(m.content_bytes, n + 2);
	meter_clear(&m);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_text_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
