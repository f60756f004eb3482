/*
 * cube-tui's copy: the OSC 52 sequence carries its text as base64 only,
 * so nothing copied can drive the terminal; too long a text is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cube-tui.h"

static void
test_osc52(void **state)
{
	char	*seq, *big;

	(void)state;
	seq = clipboard_osc52("cube_abc", 8);
	assert_non_null(seq);
	assert_string_equal(seq, "\033]52;c;Y3ViZV9hYmM=\a");
	clipboard_free(seq);

	/* Control bytes in the text stay inside the base64. */
	seq = clipboard_osc52("\a\033]0;x\a", 7);
	assert_string_equal(seq, "\033]52;c;BxtdMDt4Bw==\a");
	clipboard_free(seq);

	seq = clipboard_osc52("", 0);
	assert_string_equal(seq, "\033]52;c;\a");
	clipboard_free(seq);

	big = calloc(1, CLIPBOARD_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', CLIPBOARD_MAX);
	seq = clipboard_osc52(big, CLIPBOARD_MAX);
	assert_non_null(seq);
	assert_int_equal(strlen(seq), 7 + (CLIPBOARD_MAX + 2) / 3 * 4 + 1);
	clipboard_free(seq);
	assert_null(clipboard_osc52(big, CLIPBOARD_MAX + 1));
	free(big);
	clipboard_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_osc52),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
