/* Unit tests for agent/sse.c: splits at every offset, line endings, helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sse.h"

#define MAX_EVENTS	64

/* What a callback saw: each event copied, and where it pointed. */
struct seen {
	char		*ev[MAX_EVENTS];
	size_t		 len[MAX_EVENTS];
	const char	*ptr[MAX_EVENTS];
	size_t		 n;
	size_t		 stop_after;	/* fail this event (1-based); 0 never */
};

static int
collect(void *arg, const char *event, size_t len)
{
	struct seen	*seen = arg;

	assert_true(seen->n < MAX_EVENTS);
	assert_true(len > 0);
	seen->ev[seen->n] = malloc(len);
	assert_non_null(seen->ev[seen->n]);
	memcpy(seen->ev[seen->n], event, len);
	seen->len[seen->n] = len;
	seen->ptr[seen->n] = event;
	seen->n++;
	if (seen->stop_after != 0 && seen->n == seen->stop_after)
		return 1;
	return 0;
}

static void
seen_clear(struct seen *seen)
{
	size_t	i;

	for (i = 0; i < seen->n; i++)
		free(seen->ev[i]);
	memset(seen, 0, sizeof *seen);
}

/* A stream with every line ending, mixed, comments and a lone blank line. */
static const char *const events[] = {
	"data: a\n\n",
	"data: b\r\n\r\n",
	"data: c\r\r",
	": ping\n\n",
	"event: delta\nid: 7\ndata: {\"x\":1}\ndata: {\"y\":2}\n\n",
	"data: d\r\n\n",
	"data: e\n\r\n",
	"data: f\r\n\r",
	"data: g\r\ndata: h\rdata: i\n\n",
	"\n",
	"\r\n",
	"retry: 1000\r\r\n",
	"data\n\n",
	"data: [DONE]\n\n",
};
#define NEVENTS	(sizeof events / sizeof events[0])

/* The stream, and the events it must split into, checked against seen. */
static char *
stream(size_t *len)
{
	char	*s;
	size_t	 i, n = 0;

	for (i = 0; i < NEVENTS; i++)
		n += strlen(events[i]);
	s = malloc(n);
	assert_non_null(s);
	for (*len = 0, i = 0; i < NEVENTS; i++) {
		memcpy(s + *len, events[i], strlen(events[i]));
		*len += strlen(events[i]);
	}
	return s;
}

static void
check_events(const struct seen *seen)
{
	size_t	i;

	if (seen->n != NEVENTS)
		fail_msg("%zu events, want %zu", seen->n, NEVENTS);
	for (i = 0; i < NEVENTS; i++) {
		assert_int_equal(seen->len[i], strlen(events[i]));
		assert_memory_equal(seen->ev[i], events[i], seen->len[i]);
	}
}

/* Feed a heap copy of each piece, so ASan sees any read beyond it. */
static int
feed(struct sse *sse, const char *data, size_t len, struct seen *seen)
{
	char	*copy;
	int	 rc;

	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, data, len);
	rc = sse_feed(sse, copy, len, collect, seen);
	free(copy);
	return rc;
}

static void
test_one_feed(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };
	size_t		 len, i, off;
	char		*s;

	(void)state;
	s = stream(&len);
	sse = sse_new(1024);
	assert_int_equal(sse_feed(sse, s, len, collect, &seen), 0);
	assert_int_equal(sse_pending(sse), 0);
	assert_int_equal(sse_finish(sse, collect, &seen), 0);
	check_events(&seen);
	/* Zero copy: every event points into the input, in order. */
	for (off = 0, i = 0; i < seen.n; i++) {
		assert_ptr_equal(seen.ptr[i], s + off);
		off += seen.len[i];
	}
	seen_clear(&seen);
	sse_free(sse);
	free(s);
}

static void
test_two_feeds(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };
	size_t		 len, a;
	char		*s;

	(void)state;
	s = stream(&len);
	for (a = 0; a <= len; a++) {
		sse = sse_new(1024);
		assert_int_equal(feed(sse, s, a, &seen), 0);
		assert_int_equal(feed(sse, s + a, len - a, &seen), 0);
		assert_int_equal(sse_finish(sse, collect, &seen), 0);
		assert_int_equal(sse_pending(sse), 0);
		check_events(&seen);
		seen_clear(&seen);
		sse_free(sse);
	}
	free(s);
}

static void
test_three_feeds(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };
	size_t		 len, a, b;
	char		*s;

	(void)state;
	s = stream(&len);
	for (a = 0; a <= len; a++) {
		for (b = a; b <= len; b++) {
			sse = sse_new(1024);
			assert_int_equal(feed(sse, s, a, &seen), 0);
			assert_int_equal(feed(sse, s + a, b - a, &seen), 0);
			assert_int_equal(feed(sse, s + b, len - b, &seen), 0);
			assert_int_equal(sse_finish(sse, collect, &seen), 0);
			check_events(&seen);
			seen_clear(&seen);
			sse_free(sse);
		}
	}
	free(s);
}

static void
test_byte_by_byte(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };
	size_t		 len, i;
	char		*s;

	(void)state;
	s = stream(&len);
	sse = sse_new(1024);
	for (i = 0; i < len; i++)
		assert_int_equal(feed(sse, s + i, 1, &seen), 0);
	assert_int_equal(sse_finish(sse, collect, &seen), 0);
	check_events(&seen);
	seen_clear(&seen);
	sse_free(sse);
	free(s);
}

static void
test_crlf_split(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };

	(void)state;
	/* "\r" | "\n" is one line ending, not "\r" then a blank "\n". */
	sse = sse_new(1024);
	assert_int_equal(feed(sse, "data: x\r", 8, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(feed(sse, "\ndata: y\r\n", 10, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(sse_pending(sse), 18);
	assert_int_equal(feed(sse, "\r", 1, &seen), 0);
	/* Held: a '\n' may yet belong to it. */
	assert_int_equal(seen.n, 0);
	assert_int_equal(sse_pending(sse), 19);
	assert_int_equal(feed(sse, "\ndata: z", 8, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.len[0], 20);
	assert_memory_equal(seen.ev[0], "data: x\r\ndata: y\r\n\r\n", 20);
	assert_int_equal(sse_pending(sse), 7);
	seen_clear(&seen);
	sse_free(sse);

	/* A held "\r\r" event goes out when the next byte is not '\n'. */
	sse = sse_new(1024);
	assert_int_equal(feed(sse, "data: x\r\r", 9, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(feed(sse, "data: y\r\r", 9, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_memory_equal(seen.ev[0], "data: x\r\r", 9);
	assert_int_equal(sse_pending(sse), 9);
	/* An empty feed decides nothing. */
	assert_int_equal(feed(sse, "", 0, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(sse_finish(sse, collect, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_memory_equal(seen.ev[1], "data: y\r\r", 9);
	assert_int_equal(sse_pending(sse), 0);
	assert_int_equal(sse_finish(sse, collect, &seen), 0);
	assert_int_equal(seen.n, 2);
	seen_clear(&seen);
	sse_free(sse);
}

static void
test_pending(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };

	(void)state;
	sse = sse_new(1024);
	assert_int_equal(sse_pending(sse), 0);
	assert_int_equal(feed(sse, "data: a\n\ndata: b\n", 17, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(sse_pending(sse), 8);
	/* An unfinished event is not delivered at the end. */
	assert_int_equal(sse_finish(sse, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(sse_pending(sse), 8);
	assert_int_equal(feed(sse, "\ndata: c\n\n", 10, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_memory_equal(seen.ev[1], "data: b\n\n", 9);
	assert_memory_equal(seen.ev[2], "data: c\n\n", 9);
	assert_int_equal(sse_pending(sse), 0);
	seen_clear(&seen);
	sse_free(sse);
	sse_free(NULL);
}

static void
test_oversize(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };
	char		 big[64];

	(void)state;
	/* Exactly max_event bytes, blank line included, is fine. */
	sse = sse_new(10);
	assert_int_equal(feed(sse, "data: 12\n\n", 10, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(feed(sse, "data: 1", 7, &seen), 0);
	assert_int_equal(feed(sse, "2\n\n", 3, &seen), 0);
	assert_int_equal(seen.n, 2);
	/* One more is not, within one feed or across feeds. */
	assert_int_equal(feed(sse, "data: 123\n\n", 11, &seen), -1);
	assert_int_equal(seen.n, 2);
	/* Spent. */
	assert_int_equal(feed(sse, "data: 1\n\n", 9, &seen), -1);
	assert_int_equal(sse_finish(sse, collect, &seen), -1);
	assert_int_equal(seen.n, 2);
	sse_free(sse);

	sse = sse_new(10);
	assert_int_equal(feed(sse, "data: 12", 8, &seen), 0);
	assert_int_equal(feed(sse, "3\n\n", 3, &seen), -1);
	sse_free(sse);

	/* An endless event fails as soon as it is too long, unterminated. */
	sse = sse_new(32);
	memset(big, 'x', sizeof big);
	assert_int_equal(feed(sse, big, 20, &seen), 0);
	assert_int_equal(feed(sse, big, 12, &seen), 0);
	assert_int_equal(sse_pending(sse), 32);
	assert_int_equal(feed(sse, big, 1, &seen), -1);
	sse_free(sse);
	sse = sse_new(32);
	assert_int_equal(feed(sse, big, sizeof big, &seen), -1);
	sse_free(sse);
	/* A held "\r\r" event whose '\n' would make it too long. */
	sse = sse_new(9);
	assert_int_equal(feed(sse, "data: x\r\r", 9, &seen), 0);
	assert_int_equal(feed(sse, "\n", 1, &seen), -1);
	sse_free(sse);
	assert_int_equal(seen.n, 2);
	seen_clear(&seen);
}

static void
test_callback_stops(void **state)
{
	struct sse	*sse;
	struct seen	 seen = { 0 };
	const char	*s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	(void)state;
	seen.stop_after = 2;
	sse = sse_new(1024);
	assert_int_equal(feed(sse, s, strlen(s), &seen), -1);
	assert_int_equal(seen.n, 2);
	assert_int_equal(feed(sse, s, strlen(s), &seen), -1);
	assert_int_equal(seen.n, 2);
	sse_free(sse);
	seen_clear(&seen);

	/* Also when the stopping event was buffered across feeds. */
	seen.stop_after = 1;
	sse = sse_new(1024);
	assert_int_equal(feed(sse, s, 4, &seen), 0);
	assert_int_equal(feed(sse, s + 4, strlen(s) - 4, &seen), -1);
	assert_int_equal(seen.n, 1);
	sse_free(sse);
	seen_clear(&seen);
}

static void
test_done(void **state)
{
	static const struct {
		const char	*ev;
		int		 done;
	} cases[] = {
		{ "data: [DONE]\n\n", 1 },
		{ "data:[DONE]\n\n", 1 },
		{ "data: [DONE]\r\n\r\n", 1 },
		{ "data: [DONE]\r\r", 1 },
		{ "data: [DONE]", 1 },
		{ ": keepalive\ndata: [DONE]\n\n", 1 },
		{ "event: end\ndata: [DONE]\nid: 3\n\n", 1 },
		{ "\xef\xbb\xbf" "data: [DONE]\n\n", 1 },
		{ "data:  [DONE]\n\n", 0 },
		{ "data: [DONE] \n\n", 0 },
		{ "data: [done]\n\n", 0 },
		{ "data: [DONE]\ndata: x\n\n", 0 },
		{ "data: [DONE]\ndata: [DONE]\n\n", 0 },
		{ "data\ndata: [DONE]\n\n", 0 },
		{ ": data: [DONE]\n\n", 0 },
		{ "event: [DONE]\n\n", 0 },
		{ "Data: [DONE]\n\n", 0 },
		{ " data: [DONE]\n\n", 0 },
		{ "data: {\"choices\":[]}\n\n", 0 },
		{ "\n", 0 },
		{ "", 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (sse_event_is_done(cases[i].ev, strlen(cases[i].ev)) !=
		    cases[i].done)
			fail_msg("case %zu: \"%s\"", i, cases[i].ev);
	}
}

static void
test_data(void **state)
{
	static const struct {
		const char	*ev;
		const char	*data;
	} cases[] = {
		{ "data: {\"a\":1}\n\n", "{\"a\":1}" },
		{ "data:x\n\n", "x" },
		{ "data:  x\n\n", " x" },
		{ "data: a\ndata: b\r\ndata: c\rdata:d\n\n", "a\nb\nc\nd" },
		{ ": ping\n\n", "" },
		{ ": ping\ndata: a\n: pong\ndata: b\n\n", "a\nb" },
		{ "event: message_delta\ndata: {}\nid: 9\nretry: 5\n\n", "{}" },
		{ "data\ndata\n\n", "\n" },
		{ "data:\n\n", "" },
		{ "data: a\ndata\ndata: b\n\n", "a\n\nb" },
		{ "data: a:b: c\n\n", "a:b: c" },
		{ "datum: x\ndat: y\ndata : z\n\n", "" },
		{ "\xef\xbb\xbf" "data: bom\n\n", "bom" },
		{ "data: no terminator", "no terminator" },
		{ "data: x\r", "x" },
		{ "\n", "" },
	};
	char	dst[64];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(dst, 'X', sizeof dst);
		if (sse_event_data(cases[i].ev, strlen(cases[i].ev), dst,
		    sizeof dst) != (ssize_t)strlen(cases[i].data) ||
		    strcmp(dst, cases[i].data) != 0)
			fail_msg("case %zu: \"%s\"", i, cases[i].ev);
	}

	/* The NUL must fit too. */
	assert_int_equal(sse_event_data("data: abc\ndata: d\n\n", 19, dst, 6),
	    5);
	assert_string_equal(dst, "abc\nd");
	assert_int_equal(sse_event_data("data: abc\ndata: d\n\n", 19, dst, 5),
	    -1);
	assert_int_equal(sse_event_data("data: abc\ndata: d\n\n", 19, dst, 4),
	    -1);
	assert_int_equal(sse_event_data("data: abc\n\n", 11, dst, 3), -1);
	assert_int_equal(sse_event_data("data: abc\n\n", 11, dst, 0), -1);
	assert_int_equal(sse_event_data(": x\n\n", 5, dst, 1), 0);
	assert_string_equal(dst, "");
}

/* Events from the splitter feed straight into the helpers. */
struct relay {
	char	data[8][64];
	int	done;
	int	n;
};

static int
relay_cb(void *arg, const char *event, size_t len)
{
	struct relay	*r = arg;

	if (sse_event_is_done(event, len))
		r->done++;
	else if (sse_event_data(event, len, r->data[r->n], 64) > 0)
		r->n++;
	return 0;
}

static void
test_relay(void **state)
{
	const char	*s = ": ping\r\n\r\ndata: {\"c\":\"He\"}\r\n\r\n"
			    "data: {\"c\":\"llo\"}\r\n\r\ndata: [DONE]\r\n\r\n";
	struct relay	 r;
	struct sse	*sse;
	size_t		 a;

	(void)state;
	for (a = 0; a <= strlen(s); a++) {
		memset(&r, 0, sizeof r);
		sse = sse_new(1 << 20);
		assert_int_equal(sse_feed(sse, s, a, relay_cb, &r), 0);
		assert_int_equal(sse_feed(sse, s + a, strlen(s) - a, relay_cb,
		    &r), 0);
		assert_int_equal(r.n, 2);
		assert_string_equal(r.data[0], "{\"c\":\"He\"}");
		assert_string_equal(r.data[1], "{\"c\":\"llo\"}");
		assert_int_equal(r.done, 1);
		sse_free(sse);
	}
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_one_feed),
		cmocka_unit_test(test_two_feeds),
		cmocka_unit_test(test_three_feeds),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_crlf_split),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_relay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
