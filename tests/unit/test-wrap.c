/*
 * Wrapping the playground's transcript: lines end at a newline, else at
 * the space where they are full or the last one before, else mid-word; widths are display columns of
 * whole UTF-8 code points; every line moves on, whatever the input.
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

#include "cube-tui.h"

/* The lines of s at width, joined with '|'. */
static void
wrap_all(const char *s, int width, char *out, size_t outlen)
{
	size_t	len = strlen(s), off = 0, n, next, used = 0;

	out[0] = '\0';
	do {
		n = wrap_line(s + off, len - off, width, &next);
		assert_true(next > 0 || off == len);
		used += snprintf(out + used, outlen - used, "%s%.*s",
		    used > 0 ? "|" : "", (int)n, s + off);
		assert_true(used < outlen);
		off += next;
	} while (off < len);
}

static void
test_words(void **state)
{
	char	out[256];

	(void)state;
	wrap_all("Hello from fake-llm.", 80, out, sizeof(out));
	assert_string_equal(out, "Hello from fake-llm.");
	wrap_all("Hello from fake-llm.", 10, out, sizeof(out));
	assert_string_equal(out, "Hello from|fake-llm.");
	wrap_all("Hello from fake-llm.", 8, out, sizeof(out));
	assert_string_equal(out, "Hello|from|fake-llm|.");
	wrap_all("one two three", 7, out, sizeof(out));
	assert_string_equal(out, "one two|three");
	wrap_all("exactly10c", 10, out, sizeof(out));
	assert_string_equal(out, "exactly10c");
}

static void
test_newlines(void **state)
{
	char	out[256];

	(void)state;
	wrap_all("a\nb\n\nc", 10, out, sizeof(out));
	assert_string_equal(out, "a|b||c");
	wrap_all("", 10, out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_long_word(void **state)
{
	char	out[256];

	(void)state;
	wrap_all("abcdefghij", 4, out, sizeof(out));
	assert_string_equal(out, "abcd|efgh|ij");
	/* Narrower than one character: one a line, never stuck. */
	wrap_all("abc", 0, out, sizeof(out));
	assert_string_equal(out, "a|b|c");
}

static void
test_utf8(void **state)
{
	char	out[256];

	(void)state;
	/* é and ö are one column of two bytes each. */
	wrap_all("h\xc3\xa9llo w\xc3\xb6rld", 5, out, sizeof(out));
	assert_string_equal(out, "h\xc3\xa9llo|w\xc3\xb6rld");
	/* 日本語: two columns each, never cut inside a code point. */
	wrap_all("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, out, sizeof(out));
	assert_string_equal(out, "\xe6\x97\xa5\xe6\x9c\xac|\xe8\xaa\x9e");
	wrap_all("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 3, out, sizeof(out));
	assert_string_equal(out, "\xe6\x97\xa5|\xe6\x9c\xac|\xe8\xaa\x9e");
}

static void
test_hostile(void **state)
{
	char	out[256];

	(void)state;
	/* Bad bytes and a cut sequence count one column each. */
	wrap_all("\xff\xfe\xe6\x97", 2, out, sizeof(out));
	assert_string_equal(out, "\xff\xfe|\xe6\x97");
	wrap_all("   ", 1, out, sizeof(out));
	assert_string_equal(out, " | ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_newlines),
		cmocka_unit_test(test_long_word),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_hostile),
	};

	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
		printf("# SKIP no C.UTF-8 locale for wcwidth\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
