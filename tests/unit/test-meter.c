/* meter.c: usage from answers and stream events, and the estimate's inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

/* The prompt's text: message contents, parts, prompt and input. */
static void
test_prompt_bytes(void **state)
{
	const char		*b = "{\"messages\":[{\"role\":\"user\",\"content\":"
				    "\"abcd\"},{\"role\":\"user\",\"content\":[{\"type\":"
				    "\"text\",\"text\":\"efgh\"}]}],\"prompt\":[\"ij\"],"
				    "\"input\":\"k\"}";
	struct jscan_span	 msgs, prompt, input;
	struct jscan_want	 w[] = {
		{ "messages", &msgs }, { "prompt", &prompt }, { "input", &input },
	};

	(void)state;
	assert_int_equal(jscan_object(b, strlen(b), 64, w, 3, NULL, 0), 0);
	assert_int_equal(meter_prompt_bytes(b, &msgs, &prompt, &input), 11);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_prompt_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
