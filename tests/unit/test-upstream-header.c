/*
 * Unit tests for agent/upstream-header.c: which of a backend's header
 * lines may reach a client, and in what form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

/* The media type line keeps, or NULL when it keeps none. */
static const char *
media(const char *line, size_t len)
{
	static char	out[UPSTREAM_MEDIA_TYPE_MAX + 1];

	memset(out, '#', sizeof(out));
	if (!upstream_header_media_type(line, len, out))
		return NULL;
	return out;
}

#define MEDIA(s)	media(s, sizeof(s) - 1)

static void
test_media_valid(void **state)
{
	(void)state;
	assert_string_equal(MEDIA("Content-Type: application/json\r\n"),
	    "application/json");
	assert_string_equal(MEDIA("content-type:text/event-stream; "
	    "charset=utf-8  \r\n"), "text/event-stream; charset=utf-8");
	assert_string_equal(MEDIA("CONTENT-TYPE: \t application/x-ndjson\n"),
	    "application/x-ndjson");
	assert_string_equal(MEDIA("Content-Type: text/plain;charset=\"a b\""),
	    "text/plain;charset=\"a b\"");
	assert_string_equal(MEDIA("Content-Type: a/b;;c=d;"), "a/b;;c=d;");
	assert_string_equal(MEDIA("Content-Type: a/b; q=\"x\\\"y\"\r\n"),
	    "a/b; q=\"x\\\"y\"");
}

static void
test_media_invalid(void **state)
{
	static const char *const bad[] = {
		"Content-Type: application/json\rX-Injected: 1\r\n",
		"Content-Type: application/json\x01\r\n",
		"Content-Type: text/html\x1b[31m\r\n",
		"Content-Type: application/json; charset=\xff\xfe\r\n",
		"Content-Type: application\r\n",
		"Content-Type: /json\r\n",
		"Content-Type: application/\r\n",
		"Content-Type: application /json\r\n",
		"Content-Type: a/b; c\r\n",
		"Content-Type: a/b; c=\r\n",
		"Content-Type: a/b; c=\"open\r\n",
		"Content-Type: a/b; c=\"\x7f\"\r\n",
		"Content-Type: a/b\tc\r\n",
		"Content-Type: a/b x\r\n",
		"Content-Type: \r\n",
		"Content-Type:\r\n",
		"Content-Type : a/b\r\n",
		"Content-Typo: a/b\r\n",
		"X-Content-Type: a/b\r\n",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(media(bad[i], strlen(bad[i])));
	/* A NUL in the middle of the value. */
	assert_null(MEDIA("Content-Type: application/json\0<script>\r\n"));
}

static void
test_media_length(void **state)
{
	char	line[2048];
	size_t	n, head = strlen("Content-Type: ");

	(void)state;
	/* Exactly the limit passes; one byte more does not, nor 1.1 KB. */
	for (n = UPSTREAM_MEDIA_TYPE_MAX; n <= UPSTREAM_MEDIA_TYPE_MAX + 1;
	    n++) {
		memcpy(line, "Content-Type: a/", head + 2);
		memset(line + head + 2, 'x', n - 2);
		if (n == UPSTREAM_MEDIA_TYPE_MAX)
			assert_non_null(media(line, head + n));
		else
			assert_null(media(line, head + n));
	}
	memcpy(line, "Content-Type: application/json; p=", 35);
	memset(line + 35, 'x', 1100);
	assert_null(media(line, 35 + 1100));
}

static void
test_relayed(void **state)
{
	struct upstream_header	h;
	static const struct {
		const char	*line;
		const char	*name;	/* NULL: not relayed */
		const char	*value;
	} cases[] = {
		{ "Retry-After: 7\r\n", "retry-after", "7" },
		{ "retry-after-ms:  7000 \r\n", "retry-after-ms", "7000" },
		{ "X-RateLimit-Remaining-Requests: 0\r\n",
		    "x-ratelimit-remaining-requests", "0" },
		{ "x-ratelimit-reset-tokens: 6m0s\r\n",
		    "x-ratelimit-reset-tokens", "6m0s" },
		{ "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
		    "retry-after", "Wed, 21 Oct 2015 07:28:00 GMT" },
		{ "x-ratelimit-: 1\r\n", NULL, NULL },
		{ "Set-Cookie: a=b\r\n", NULL, NULL },
		{ "Retry-After-X: 1\r\n", NULL, NULL },
		{ "Retry-After: \r\n", NULL, NULL },
		{ "Retry-After: 1\rX-Evil: 2\r\n", NULL, NULL },
		{ "Retry-After: 1\x01\r\n", NULL, NULL },
		{ "Retry-After: \xc3\xa9\r\n", NULL, NULL },
		{ "Retry-After 1\r\n", NULL, NULL },
		{ "x-ratelimit-name-far-too-long-to-be-kept-x: 1\r\n", NULL, NULL },
	};
	char	line[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].name == NULL) {
			assert_int_equal(upstream_header_relayed(cases[i].line,
			    strlen(cases[i].line), &h), 0);
			continue;
		}
		assert_int_equal(upstream_header_relayed(cases[i].line,
		    strlen(cases[i].line), &h), 1);
		assert_string_equal(h.name, cases[i].name);
		assert_string_equal(h.value, cases[i].value);
	}
	/* Values: at most UPSTREAM_RELAY_VALUE_MAX bytes. */
	snprintf(line, sizeof(line), "Retry-After: %0*d\r\n",
	    UPSTREAM_RELAY_VALUE_MAX, 1);
	assert_int_equal(upstream_header_relayed(line, strlen(line), &h), 1);
	snprintf(line, sizeof(line), "Retry-After: %0*d\r\n",
	    UPSTREAM_RELAY_VALUE_MAX + 1, 1);
	assert_int_equal(upstream_header_relayed(line, strlen(line), &h), 0);
}

#define CODING(s, out)	upstream_header_coding(s, sizeof(s) - 1, out, \
			    sizeof(out))

static void
test_coding(void **state)
{
	char	out[16];

	(void)state;
	assert_int_equal(CODING("Content-Encoding: gzip\r\n", out), 1);
	assert_string_equal(out, "gzip");
	assert_int_equal(CODING("content-encoding: X-Foo, BR\r\n", out), 1);
	assert_string_equal(out, "x-foo, br");
	assert_int_equal(CODING("Content-Encoding: identity\r\n", out), 0);
	assert_int_equal(CODING("Content-Encoding: \r\n", out), 0);
	assert_int_equal(CODING("Content-Type: gzip\r\n", out), 0);
	/* Only names reach a log line, cut to the room there is. */
	assert_int_equal(CODING("Content-Encoding: a\x1b[1m\"bcdefghijklmnopq"
	    "\r\n", out), 1);
	assert_string_equal(out, "a??1m?bcdefghij");
}

/* A head's lines, as both clients keep them. */
static void
test_head_lines(void **state)
{
	struct upstream_head	h;
	char			line[80];
	int			i;

	(void)state;
	upstream_head_reset(&h);
	upstream_head_line(&h, "Content-Type: text/event-stream", 31);
	assert_string_equal(h.ctype, "text/event-stream");
	/* A later insane Content-Type is none. */
	upstream_head_line(&h, "Content-Type: <b>", 17);
	assert_string_equal(h.ctype, "");
	upstream_head_line(&h, "Content-Encoding: GZIP", 22);
	assert_int_equal(h.coded, 1);
	assert_string_equal(h.coding, "gzip");
	upstream_head_line(&h, "Retry-After: 3", 14);
	upstream_head_line(&h, "retry-after: 9", 14);	/* the first only */
	assert_int_equal(h.nrelay, 1);
	assert_string_equal(h.relay[0].value, "3");
	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "x-ratelimit-n%d: %d", i, i);
		upstream_head_line(&h, line, strlen(line));
	}
	assert_int_equal(h.nrelay, UPSTREAM_RELAY_MAX);
	upstream_head_reset(&h);
	assert_int_equal(h.nrelay, 0);
	assert_int_equal(h.coded, 0);
	assert_string_equal(h.ctype, "");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_media_valid),
		cmocka_unit_test(test_media_invalid),
		cmocka_unit_test(test_media_length),
		cmocka_unit_test(test_relayed),
		cmocka_unit_test(test_coding),
		cmocka_unit_test(test_head_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
