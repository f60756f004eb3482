/*
 * cube-tui's text field: UTF-8 editing by whole code points, motion and
 * kill keys, the scroll in display columns, paste, the byte limit and
 * what is never stored.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curses.h>

#include "cube-tui.h"

#define U(cp)	(TEXTFIELD_KEY_UNICODE | (cp))

struct fixture {
	char			buf[64];
	struct textfield	tf;
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	textfield_init(&fx->tf, fx->buf, sizeof(fx->buf));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/* Type each key in keys (ended by 0). */
static void
type(struct textfield *tf, const int *keys)
{
	for (; *keys != 0; keys++)
		assert_int_equal(textfield_key(tf, *keys), 1);
}

/* One code point of 1, 2, 3 and 4 bytes each in, and out by Backspace. */
static void
test_insert_delete_widths(void **state)
{
	struct fixture		*fx = *state;
	struct textfield	*tf = &fx->tf;
	const int		 keys[] = { 'a', U(0xe8), U(0x65e5),
				    U(0x1f600), 0 };

	type(tf, keys);
	assert_string_equal(fx->buf, "a\xc3\xa8\xe6\x97\xa5\xf0\x9f\x98\x80");
	assert_int_equal(tf->len, 10);
	assert_int_equal(tf->cur, 10);
	assert_int_equal(textfield_key(tf, KEY_BACKSPACE), 1);
	assert_string_equal(fx->buf, "a\xc3\xa8\xe6\x97\xa5");
	assert_int_equal(textfield_key(tf, 127), 1);
	assert_string_equal(fx->buf, "a\xc3\xa8");
	assert_int_equal(textfield_key(tf, 8), 1);
	assert_string_equal(fx->buf, "a");
	assert_int_equal(textfield_key(tf, KEY_BACKSPACE), 1);
	assert_string_equal(fx->buf, "");
	/* Nothing left: Backspace is harmless. */
	assert_int_equal(textfield_key(tf, KEY_BACKSPACE), 1);
	assert_int_equal(tf->len, 0);
	assert_int_equal(tf->cur, 0);
	/* Bytes let go of are wiped. */
	assert_int_equal(fx->buf[1], 0);
	assert_int_equal(fx->buf[9], 0);
}

/* Left/Right step whole code points; Delete takes the one at the cursor. */
static void
test_motion(void **state)
{
	struct fixture		*fx = *state;
	struct textfield	*tf = &fx->tf;

	textfield_set(tf, "x\xe6\x97\xa5y");		/* x日y */
	assert_int_equal(tf->cur, 5);
	textfield_key(tf, KEY_LEFT);
	assert_int_equal(tf->cur, 4);
	textfield_key(tf, KEY_LEFT);
	assert_int_equal(tf->cur, 1);
	textfield_key(tf, KEY_RIGHT);
	assert_int_equal(tf->cur, 4);
	textfield_key(tf, KEY_HOME);
	assert_int_equal(tf->cur, 0);
	textfield_key(tf, KEY_LEFT);			/* stays */
	assert_int_equal(tf->cur, 0);
	textfield_key(tf, KEY_END);
	assert_int_equal(tf->cur, 5);
	textfield_key(tf, KEY_RIGHT);			/* stays */
	assert_int_equal(tf->cur, 5);
	textfield_key(tf, 'A' & 0x1f);			/* Ctrl-A */
	assert_int_equal(tf->cur, 0);
	textfield_key(tf, 'E' & 0x1f);			/* Ctrl-E */
	assert_int_equal(tf->cur, 5);

	/* Insert in the middle, delete forward over the wide one. */
	textfield_key(tf, KEY_HOME);
	textfield_key(tf, KEY_RIGHT);
	textfield_key(tf, U(0xe9));
	assert_string_equal(fx->buf, "x\xc3\xa9\xe6\x97\xa5y");
	assert_int_equal(tf->cur, 3);
	textfield_key(tf, KEY_DC);
	assert_string_equal(fx->buf, "x\xc3\xa9y");
	textfield_key(tf, KEY_BACKSPACE);
	assert_string_equal(fx->buf, "xy");
	assert_int_equal(tf->cur, 1);

	/* Keys that are not the field's are left to the form. */
	assert_int_equal(textfield_key(tf, '\t'), 0);
	assert_int_equal(textfield_key(tf, '\n'), 0);
	assert_int_equal(textfield_key(tf, 27), 0);
	assert_int_equal(textfield_key(tf, KEY_UP), 0);
	assert_int_equal(textfield_key(tf, KEY_DOWN), 0);
	assert_string_equal(fx->buf, "xy");
}

static void
test_kill(void **state)
{
	struct fixture		*fx = *state;
	struct textfield	*tf = &fx->tf;
	const int		 ctrl_u = 'U' & 0x1f, ctrl_w = 'W' & 0x1f,
				 ctrl_k = 'K' & 0x1f;

	/* Ctrl-W: blanks before the cursor, then the word. */
	textfield_set(tf, "gpt 4o  mod\xc3\xa8le  ");
	textfield_key(tf, ctrl_w);
	assert_string_equal(fx->buf, "gpt 4o  ");
	textfield_key(tf, ctrl_w);
	assert_string_equal(fx->buf, "gpt ");
	textfield_key(tf, ctrl_w);
	assert_string_equal(fx->buf, "");
	textfield_key(tf, ctrl_w);
	assert_string_equal(fx->buf, "");

	/* A word of wide characters goes whole. */
	textfield_set(tf, "a \xe6\x97\xa5\xe6\x9c\xac");	/* a 日本 */
	textfield_key(tf, ctrl_w);
	assert_string_equal(fx->buf, "a ");

	/* Ctrl-U: all before the cursor; Ctrl-K: all after. */
	textfield_set(tf, "left|right");
	textfield_key(tf, KEY_HOME);
	textfield_key(tf, KEY_RIGHT);
	textfield_key(tf, KEY_RIGHT);
	textfield_key(tf, KEY_RIGHT);
	textfield_key(tf, KEY_RIGHT);
	textfield_key(tf, ctrl_k);
	assert_string_equal(fx->buf, "left");
	assert_int_equal(tf->cur, 4);
	textfield_key(tf, KEY_LEFT);
	textfield_key(tf, ctrl_u);
	assert_string_equal(fx->buf, "t");
	assert_int_equal(tf->cur, 0);
	assert_int_equal(fx->buf[2], 0);		/* wiped */
	/* Ctrl-W in the middle keeps what follows the cursor. */
	textfield_set(tf, "one two three");
	textfield_key(tf, ctrl_u);
	assert_string_equal(fx->buf, "");
	textfield_set(tf, "one two three");
	textfield_key(tf, KEY_LEFT);
	textfield_key(tf, KEY_LEFT);
	textfield_key(tf, KEY_LEFT);
	textfield_key(tf, KEY_LEFT);
	textfield_key(tf, KEY_LEFT);
	textfield_key(tf, KEY_LEFT);
	textfield_key(tf, ctrl_w);
	assert_string_equal(fx->buf, "one  three");
	assert_int_equal(tf->cur, 4);
}

/* The scroll keeps the cursor in view, counting wide characters twice. */
static void
test_scroll(void **state)
{
	struct fixture		*fx = *state;
	struct textfield	*tf = &fx->tf;
	size_t			 from, end;
	int			 col;

	/* Fits: nothing scrolls, the cursor is one past the end. */
	textfield_set(tf, "abc");
	from = textfield_view(tf, 8, &end, &col);
	assert_int_equal(from, 0);
	assert_int_equal(end, 3);
	assert_int_equal(col, 3);

	/* Five CJK characters (10 columns, 15 bytes) in 6 columns. */
	textfield_set(tf, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x96"
	    "\x87\xe5\xad\x97");				/* 日本語文字 */
	from = textfield_view(tf, 6, &end, &col);
	/* The cursor at the end needs 1 column: two characters and it. */
	assert_int_equal(from, 9);
	assert_int_equal(end, 15);
	assert_int_equal(col, 4);

	/* Home: back to the start, as much shown as fits. */
	textfield_key(tf, KEY_HOME);
	from = textfield_view(tf, 6, &end, &col);
	assert_int_equal(from, 0);
	assert_int_equal(end, 9);
	assert_int_equal(col, 0);

	/* Right to the fourth: its two columns must show. */
	textfield_key(tf, KEY_RIGHT);
	textfield_key(tf, KEY_RIGHT);
	textfield_key(tf, KEY_RIGHT);
	from = textfield_view(tf, 6, &end, &col);
	assert_int_equal(from, 3);
	assert_int_equal(col, 4);
	/* Left within the view does not scroll. */
	textfield_key(tf, KEY_LEFT);
	from = textfield_view(tf, 6, &end, &col);
	assert_int_equal(from, 3);
	assert_int_equal(col, 2);

	/* Text cut away: the view shows more on the left again. */
	textfield_key(tf, KEY_END);
	textfield_view(tf, 6, &end, &col);
	textfield_key(tf, 'K' & 0x1f);
	textfield_key(tf, KEY_BACKSPACE);
	textfield_key(tf, KEY_BACKSPACE);
	textfield_key(tf, KEY_BACKSPACE);
	from = textfield_view(tf, 6, &end, &col);
	assert_int_equal(from, 0);
	assert_int_equal(end, 6);
	assert_int_equal(col, 4);

	/* Never a wide character half shown: 3 columns, 2 + the cursor. */
	textfield_set(tf, "a\xe6\x97\xa5" "b");		/* a日b */
	textfield_key(tf, KEY_HOME);
	from = textfield_view(tf, 3, &end, &col);
	assert_int_equal(from, 0);
	assert_int_equal(end, 4);			/* a日, not b */
	assert_int_equal(col, 0);
}

/* A paste: many characters at once, none lost, the limit respected. */
static void
test_paste_and_limit(void **state)
{
	struct fixture		*fx = *state;
	struct textfield	*tf = &fx->tf;
	char			 big[200], small[8];
	struct textfield	 s;
	size_t			 i;

	for (i = 0; i < 40; i++)
		big[i] = (char)('a' + i % 26);
	big[40] = '\0';
	assert_int_equal(textfield_insert(tf, big, 40), 40);
	assert_string_equal(fx->buf, big);
	/* Past the limit (63 bytes): cut at it, say how much was taken. */
	assert_int_equal(textfield_insert(tf, big, 40), 23);
	assert_int_equal(tf->len, 63);
	assert_int_equal(strlen(fx->buf), 63);
	assert_int_equal(textfield_key(tf, 'z'), 1);
	assert_int_equal(tf->len, 63);

	/* A code point that would not fit whole is not stored in part. */
	memset(small, 0, sizeof(small));
	textfield_init(&s, small, sizeof(small));	/* 7 bytes */
	assert_int_equal(textfield_insert(&s, "abcde", 5), 5);
	assert_int_equal(textfield_key(&s, U(0x65e5)), 1);	/* 3 bytes */
	assert_string_equal(small, "abcde");
	assert_int_equal(textfield_key(&s, U(0xe8)), 1);	/* 2 bytes */
	assert_string_equal(small, "abcde\xc3\xa8");
	/* Set with too long a value: 0 only when all was taken. */
	assert_int_equal(textfield_set(&s, "12345678"), -1);
	assert_string_equal(small, "1234567");
	assert_int_equal(textfield_set(&s, "\xe6\x97\xa5\xe6\x9c\xac"
	    "\xe8\xaa\x9e"), -1);
	assert_string_equal(small, "\xe6\x97\xa5\xe6\x9c\xac");
	assert_int_equal(textfield_set(&s, NULL), 0);
	assert_string_equal(small, "");
}

/* Invalid UTF-8 and control characters are never stored. */
static void
test_invalid(void **state)
{
	struct fixture		*fx = *state;
	struct textfield	*tf = &fx->tf;
	static const char	 bad[] =
	    "a"
	    "\xc3"		/* cut */
	    "b"
	    "\xc0\xaf"		/* overlong '/' */
	    "\xed\xa0\x80"	/* surrogate */
	    "\xf4\x90\x80\x80"	/* past U+10FFFF */
	    "\xff\xfe"		/* never UTF-8 */
	    "\x80"		/* lone continuation */
	    "\x1b[31m"		/* ESC: a control */
	    "\xc2\x9b"		/* C1 CSI */
	    "\x7f\t\n"
	    "c";

	assert_int_equal(textfield_insert(tf, bad, sizeof(bad) - 1),
	    sizeof(bad) - 1);
	assert_string_equal(fx->buf, "ab[31mc");
	/* Keys that are no character: controls, surrogates, too big. */
	assert_int_equal(textfield_key(tf, U(0xd800)), 1);
	assert_int_equal(textfield_key(tf, U(0x9b)), 1);
	assert_int_equal(textfield_key(tf, U(0x1fffff)), 1);
	assert_int_equal(textfield_key(tf, 0x1b), 0);
	assert_int_equal(textfield_key(tf, 0), 0);
	assert_string_equal(fx->buf, "ab[31mc");

	/* A buffer filled behind the field's back is checked on next use. */
	snprintf(fx->buf, sizeof(fx->buf), "ok\xff\xc3");
	assert_int_equal(textfield_key(tf, '!'), 1);
	assert_string_equal(fx->buf, "ok!");
	/* And at init. */
	snprintf(fx->buf, sizeof(fx->buf), "\x01x\xe6\x97y");
	textfield_init(tf, fx->buf, sizeof(fx->buf));
	assert_string_equal(fx->buf, "xy");
	assert_int_equal(tf->len, 2);
	assert_int_equal(tf->cur, 2);
}

static void
test_decode(void **state)
{
	uint32_t	cp;

	(void)state;
	assert_int_equal(textfield_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(textfield_decode("\xf0\x9f\x98\x80", 3, &cp), 0);
	assert_int_equal(textfield_decode("\xe0\x80\x80", 3, &cp), 0);
	assert_int_equal(textfield_decode("", 0, &cp), 0);
	assert_int_equal(textfield_cp_width(0x65e5), 2);
	assert_int_equal(textfield_cp_width('a'), 1);
	assert_int_equal(textfield_cp_width(0xe8), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_delete_widths,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_motion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scroll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paste_and_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test(test_decode),
	};

	/* Display widths of wide characters need a UTF-8 locale. */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
		printf("# SKIP no C.UTF-8 locale for wcwidth\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
