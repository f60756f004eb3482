/*
 * cube-tui's bracketed paste: what a paste gathers as text, that its
 * newlines and keys are never run, its bound, a stray or missing end
 * marker, and that what it held is wiped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curses.h>

#include "cube-tui.h"

#define U(cp)	(TEXTFIELD_KEY_UNICODE | (cp))

static int
setup(void **state)
{
	struct paste	*p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/* Feed keys (ended by 0) at time 0; the last event. */
static enum paste_event
feed(struct paste *p, const int *keys)
{
	enum paste_event	e = PASTE_PASS;

	for (; *keys != 0; keys++)
		e = paste_feed(p, *keys, 0);
	return e;
}

/* Outside a paste every key passes, the markers do not. */
static void
test_pass(void **state)
{
	struct paste	*p = *state;

	assert_int_equal(paste_feed(p, 'a', 0), PASTE_PASS);
	assert_int_equal(paste_feed(p, '\r', 0), PASTE_PASS);
	assert_int_equal(paste_feed(p, 27, 0), PASTE_PASS);
	assert_int_equal(paste_feed(p, KEY_UP, 0), PASTE_PASS);
	assert_int_equal(paste_feed(p, U(0x65e5), 0), PASTE_PASS);
	/* A stray end marker is taken, and does nothing. */
	assert_int_equal(paste_feed(p, PASTE_KEY_END, 0), PASTE_TAKEN);
	assert_int_equal(p->active, 0);
	assert_int_equal(paste_tick(p, 100000), PASTE_PASS);
}

/* UTF-8 and a newline: text, the newline a space; Enter never passes. */
static void
test_text(void **state)
{
	struct paste	*p = *state;
	const int	 keys[] = { PASTE_KEY_BEGIN, 'c', 'a', 'f', U(0xe9),
			    '\r', U(0x65e5), U(0x672c), '\n', 'x', '\r', '\n',
			    'y', '\t', 'z', 0 };

	assert_int_equal(feed(p, keys), PASTE_TAKEN);
	assert_int_equal(p->active, 1);
	assert_int_equal(paste_feed(p, PASTE_KEY_END, 0), PASTE_DONE);
	assert_string_equal(p->buf, "café 日本 x y z");
	assert_int_equal(p->len, strlen("café 日本 x y z"));
	assert_int_equal(p->cut, 0);
	/* After it, keys pass again. */
	assert_int_equal(paste_feed(p, '\r', 0), PASTE_PASS);
}

/* Keys and controls inside a paste are dropped, not run. */
static void
test_dropped(void **state)
{
	struct paste	*p = *state;
	const int	 keys[] = { PASTE_KEY_BEGIN, 'a', 27, KEY_UP,
			    KEY_BACKSPACE, 127, 3, 21, U(0x85), U(0x9b),
			    U(0xd800), 'b', 0 };

	feed(p, keys);
	assert_int_equal(paste_feed(p, PASTE_KEY_END, 0), PASTE_DONE);
	assert_string_equal(p->buf, "ab");
}

/* Bounded: what does not fit is dropped whole (no cut character). */
static void
test_bound(void **state)
{
	struct paste	*p = *state;
	size_t		 i;

	assert_int_equal(paste_feed(p, PASTE_KEY_BEGIN, 0), PASTE_TAKEN);
	for (i = 0; i < PASTE_MAX - 1; i++)
		assert_int_equal(paste_feed(p, 'a', 0), PASTE_TAKEN);
	assert_int_equal(paste_feed(p, U(0x65e5), 0), PASTE_TAKEN);
	for (i = 0; i < 100000; i++)
		paste_feed(p, 'b', 0);
	assert_int_equal(paste_feed(p, PASTE_KEY_END, 0), PASTE_DONE);
	assert_int_equal(p->len, PASTE_MAX - 1);
	assert_int_equal(p->cut, 1);
	assert_int_equal(strlen(p->buf), PASTE_MAX - 1);
	assert_null(strchr(p->buf, 'b'));
}

/* A paste whose end never comes ends after a pause, not before. */
static void
test_idle(void **state)
{
	struct paste	*p = *state;

	assert_int_equal(paste_feed(p, PASTE_KEY_BEGIN, 1000), PASTE_TAKEN);
	assert_int_equal(paste_feed(p, 'q', 1500), PASTE_TAKEN);
	assert_int_equal(paste_tick(p, 1500 + PASTE_IDLE_MS - 1), PASTE_PASS);
	assert_int_equal(p->active, 1);
	assert_int_equal(paste_tick(p, 1500 + PASTE_IDLE_MS), PASTE_DONE);
	assert_string_equal(p->buf, "q");
	assert_int_equal(paste_feed(p, 'q', 5000), PASTE_PASS);
}

/* A new paste starts empty; clear wipes the last one. */
static void
test_clear(void **state)
{
	struct paste	*p = *state;
	const int	 one[] = { PASTE_KEY_BEGIN, 's', 'k', '-', '1', 0 };
	const int	 two[] = { PASTE_KEY_BEGIN, 'z', 0 };
	size_t		 i;

	feed(p, one);
	paste_feed(p, PASTE_KEY_END, 0);
	feed(p, two);
	paste_feed(p, PASTE_KEY_END, 0);
	assert_string_equal(p->buf, "z");
	for (i = 1; i < 8; i++)
		assert_int_equal(p->buf[i], 0);	/* "sk-1" is gone */
	paste_clear(p);
	assert_int_equal(p->len, 0);
	for (i = 0; i < sizeof(p->buf); i++)
		assert_int_equal(p->buf[i], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
