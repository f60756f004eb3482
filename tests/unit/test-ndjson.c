/* Unit tests for agent/ndjson.c: splits at every offset, limits, the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ndjson.h"

#define MAX_LINES	16

struct seen {
	char		 buf[4096];	/* every line, joined */
	size_t		 len;
	size_t		 n;
	const char	*ptr[MAX_LINES];
	size_t		 stop_after;	/* fail this line (1-based); 0 never */
};

static int
collect(void *arg, const char *line, size_t len)
{
	struct seen	*seen = arg;

	assert_true(seen->n < MAX_LINES);
	assert_true(seen->len + len <= sizeof(seen->buf));
	memcpy(seen->buf + seen->len, line, len);
	seen->len += len;
	seen->ptr[seen->n++] = line;
	return seen->stop_after != 0 && seen->n == seen->stop_after;
}

static const char stream[] =
    "{\"message\":{\"content\":\"a\"},\"done\":false}\n"
    "\n"
    "{\"message\":{\"content\":\"b\\nc\"},\"done\":false}\r\n"
    "{\"done\":true,\"eval_count\":2}\n";

/* Every split into two feeds gives the same four lines, byte for byte. */
static void
test_every_split(void **state)
{
	size_t	len = sizeof(stream) - 1, cut;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		struct ndjson	*nd = ndjson_new(1024);
		struct seen	 seen;

		memset(&seen, 0, sizeof(seen));
		assert_int_equal(ndjson_feed(nd, stream, cut, collect, &seen),
		    0);
		assert_int_equal(ndjson_feed(nd, stream + cut, len - cut,
		    collect, &seen), 0);
		assert_int_equal(ndjson_finish(nd, collect, &seen), 0);
		assert_int_equal(seen.n, 4);
		assert_int_equal(seen.len, len);
		assert_memory_equal(seen.buf, stream, len);
		ndjson_free(nd);
	}
}

/* A line within one feed is not copied; one across feeds is. */
static void
test_zero_copy(void **state)
{
	struct ndjson	*nd = ndjson_new(1024);
	struct seen	 seen;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(ndjson_feed(nd, "{}\n{\"a\"", 7, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_ptr_equal(seen.ptr[0], (const char *)"{}\n{\"a\"");
	ndjson_free(nd);
}

/* A last line without "\n" comes out at the end, and only then. */
static void
test_finish(void **state)
{
	struct ndjson	*nd = ndjson_new(1024);
	struct seen	 seen;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(ndjson_feed(nd, "{\"a\":1}\n{\"b\"", 12, collect,
	    &seen), 0);
	assert_int_equal(ndjson_feed(nd, ":2}", 3, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(ndjson_finish(nd, collect, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_memory_equal(seen.buf, "{\"a\":1}\n{\"b\":2}", 15);
	assert_int_equal(ndjson_finish(nd, collect, &seen), 0);
	assert_int_equal(seen.n, 2);
	ndjson_free(nd);
}

/* A line past the limit fails, whole or held, and the splitter is spent. */
static void
test_oversize(void **state)
{
	struct ndjson	*nd;
	struct seen	 seen;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	nd = ndjson_new(8);
	assert_int_equal(ndjson_feed(nd, "1234567\n", 8, collect, &seen), 0);
	assert_int_equal(ndjson_feed(nd, "12345678\n", 9, collect, &seen), -1);
	assert_int_equal(ndjson_feed(nd, "1\n", 2, collect, &seen), -1);
	assert_int_equal(ndjson_finish(nd, collect, &seen), -1);
	assert_int_equal(seen.n, 1);
	ndjson_free(nd);

	nd = ndjson_new(8);
	assert_int_equal(ndjson_feed(nd, "12345", 5, collect, &seen), 0);
	assert_int_equal(ndjson_feed(nd, "6789", 4, collect, &seen), -1);
	ndjson_free(nd);
	ndjson_free(NULL);
}

/* The callback stops the stream. */
static void
test_callback_stops(void **state)
{
	struct ndjson	*nd = ndjson_new(1024);
	struct seen	 seen;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	assert_int_equal(ndjson_feed(nd, stream, sizeof(stream) - 1, collect,
	    &seen), -1);
	assert_int_equal(seen.n, 2);
	assert_int_equal(ndjson_feed(nd, "{}\n", 3, collect, &seen), -1);
	assert_int_equal(seen.n, 2);
	ndjson_free(nd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_zero_copy),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
