/* W3C trace context: what is taken from a client, and what is sent on. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

#define GOOD	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int
parse(const char *s)
{
	struct trace_context	tc;

	return traceparent_parse(s, strlen(s), &tc);
}

static void
test_traceparent_valid(void **state)
{
	struct trace_context	tc;
	char			hex[33];

	(void)state;
	assert_int_equal(traceparent_parse(GOOD, strlen(GOOD), &tc), 0);
	traceparent_hex(hex, tc.trace_id, sizeof(tc.trace_id));
	assert_string_equal(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
	traceparent_hex(hex, tc.parent_id, sizeof(tc.parent_id));
	assert_string_equal(hex, "00f067aa0ba902b7");
	assert_int_equal(tc.flags, 0x01);
	assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-00"), 0);
}

static void
test_traceparent_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"00",
		/* upper case */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
		/* all-zero ids */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		/* other versions, ff included */
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* lengths, separators, trailing data */
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
		" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
		"00-4bf92f3577b34da6a3ce929d0e0e47g6-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
	};
	struct trace_context	tc;
	size_t			i;

	(void)state;
	memset(&tc, 0x5a, sizeof(tc));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) != -1)
			fail_msg("accepted '%s'", bad[i]);
	}
	/* A NUL inside is not a digit. */
	assert_int_equal(traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e"
	    "4736-00f067aa0ba902b7-0\0", 55, &tc), -1);
	assert_int_equal(traceparent_parse(NULL, 0, &tc), -1);
	/* A refusal leaves tc as it was. */
	assert_int_equal(tc.flags, 0x5a);
	assert_int_equal(tc.trace_id[0], 0x5a);
}

static void
test_traceparent_format(void **state)
{
	struct trace_context	tc;
	char			out[TRACEPARENT_LEN + 1];
	unsigned char		span[SPAN_ID_BYTES] = {
		0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31 };

	(void)state;
	assert_int_equal(parse(GOOD), 0);
	assert_int_equal(traceparent_parse(GOOD, strlen(GOOD), &tc), 0);
	traceparent_format(out, tc.trace_id, span, 0x01);
	assert_string_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "b7ad6b7169203331-01");
	assert_int_equal(strlen(out), TRACEPARENT_LEN);
	/* What we send parses as what we meant. */
	assert_int_equal(traceparent_parse(out, strlen(out), &tc), 0);
	assert_memory_equal(tc.parent_id, span, sizeof(span));
}

static void
test_traceparent_random(void **state)
{
	unsigned char	a[TRACE_ID_BYTES], b[TRACE_ID_BYTES];
	unsigned char	zero[TRACE_ID_BYTES] = { 0 };

	(void)state;
	traceparent_random_id(a, sizeof(a));
	traceparent_random_id(b, sizeof(b));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/*
 * id_random (id-random.c): 70,000 draws of 16 bytes, across its re-key
 * after 1 MiB (65,536 draws), all different; a draw too large for the stream still
 * filled; and two threads' first draws differ (each keys its own).
 */
static void *
id_draw(void *arg)
{
	id_random(arg, 16);
	return NULL;
}

static void
test_id_random(void **state)
{
	enum { N = 70000 };
	unsigned char	(*ids)[16] = calloc(N, 16), big[1024], other[16];
	unsigned char	zero[1024] = { 0 };
	pthread_t	t;
	size_t		i;

	(void)state;
	assert_non_null(ids);
	for (i = 0; i < N; i++)
		id_random(ids[i], 16);
	qsort(ids, N, 16, id_cmp);
	for (i = 1; i < N; i++)
		if (memcmp(ids[i - 1], ids[i], 16) == 0)
			fail_msg("draw repeated");
	id_random(big, sizeof(big));
	assert_memory_not_equal(big + sizeof(big) - 64, zero, 64);
	assert_int_equal(pthread_create(&t, NULL, id_draw, other), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	id_random(big, 16);
	assert_memory_not_equal(big, other, 16);
	free(ids);
}

static void
test_tracestate(void **state)
{
	static const char *const good[] = {
		"congo=t61rcWkgMzE",
		"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
		"rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE",
		"fw529a3039@dt=ZmFzdCBhbmQgc2FmZQ",
		"a=1,,b=2",
		"a-b_c*d/e=x y",
	};
	static const char *const bad[] = {
		"",
		",",
		"Congo=t61rcWkgMzE",		/* upper-case key */
		"1congo=x",			/* key starts with a digit */
		"congo",			/* no value */
		"congo=",			/* empty value */
		"congo=a=b",			/* '=' in a value */
		"congo=a\tb",			/* a tab in a value */
		"congo=\x01",			/* control byte */
		"a@b@c=x",			/* two '@' */
		"@dt=x",			/* no tenant */
		"t@=x",				/* no system */
		"t@1sys=x",			/* system starts with a digit */
		"t@abcdefghijklmno=x",		/* system of 15 */
	};
	char	 big[TRACESTATE_MAX + 2], many[33 * 4 + 1];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!tracestate_valid(good[i], strlen(good[i])))
			fail_msg("refused '%s'", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tracestate_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted '%s'", bad[i]);
	/* At most TRACESTATE_MAX bytes. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "k=", 2);
	assert_int_equal(tracestate_valid(big, 2 + 256), 1);	/* value max */
	assert_int_equal(tracestate_valid(big, 2 + 257), 0);
	assert_int_equal(tracestate_valid(big, TRACESTATE_MAX + 1), 0);
	/* At most 32 members. */
	for (i = 0; i < 33; i++)
		memcpy(many + 4 * i, "a=1,", 4);
	assert_int_equal(tracestate_valid(many, 32 * 4 - 1), 1);
	assert_int_equal(tracestate_valid(many, 33 * 4 - 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traceparent_valid),
		cmocka_unit_test(test_traceparent_invalid),
		cmocka_unit_test(test_traceparent_format),
		cmocka_unit_test(test_traceparent_random),
		cmocka_unit_test(test_id_random),
		cmocka_unit_test(test_tracestate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
