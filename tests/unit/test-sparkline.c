/*
 * sparkline.c without a screen: scaling to the largest value, fitting a
 * width (newest at the right), all zeros, missing values as gaps, the
 * ASCII ramp, and values read from a stats.get series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

#define B1	"\xe2\x96\x81"
#define B2	"\xe2\x96\x82"
#define B5	"\xe2\x96\x85"
#define B8	"\xe2\x96\x88"

static const char *
render(const double *v, size_t n, int width, int utf8)
{
	static char	buf[1024];

	assert_int_equal(sparkline_render(buf, sizeof(buf), v, n, width,
	    utf8), width);
	return buf;
}

static void
test_scaling(void **state)
{
	const double	v[] = { 0, 1, 4, 8 };
	const double	big[] = { 1, 1000 };

	(void)state;
	assert_string_equal(render(v, 4, 4, 1), B1 B2 B5 B8);
	assert_string_equal(render(v, 4, 4, 0), "_.-#");
	/* A small value still shows above the floor. */
	assert_string_equal(render(big, 2, 2, 1), B2 B8);
	assert_string_equal(render(big, 2, 2, 0), ".#");
}

static void
test_width(void **state)
{
	const double	v[] = { 8, 0, 0, 4, 8 };

	(void)state;
	/* Narrower than the values: the newest, scaled among themselves. */
	assert_string_equal(render(v, 5, 2, 1), B5 B8);
	assert_string_equal(render(v, 5, 1, 0), "#");
	/* Wider: right-aligned, blank on the left. */
	assert_string_equal(render(v, 5, 7, 0), "  #__-#");
	/* Nothing to draw in. */
	{
		char	buf[8] = "x";

		assert_int_equal(sparkline_render(buf, sizeof(buf), v, 5, 0,
		    1), 0);
		assert_string_equal(buf, "");
		/* Too small a buffer: nothing, not a cut character. */
		assert_int_equal(sparkline_render(buf, sizeof(buf), v, 5, 5,
		    1), 0);
		assert_string_equal(buf, "");
	}
}

static void
test_zero(void **state)
{
	const double	v[] = { 0, 0, 0 };

	(void)state;
	assert_string_equal(render(v, 3, 3, 1), B1 B1 B1);
	assert_string_equal(render(v, 3, 3, 0), "___");
	assert_string_equal(render(NULL, 0, 3, 0), "   ");
}

static void
test_gaps(void **state)
{
	const double	v[] = { 2, -1, 0.0 / 0.0, 4 };

	(void)state;
	assert_string_equal(render(v, 4, 4, 0), "-  #");
	assert_string_equal(render(v, 4, 4, 1), B5 "  " B8);
}

static void
test_values(void **state)
{
	cJSON	*a = cJSON_Parse("[1, null, 3, \"x\", -2, 5]");
	double	 v[8];

	(void)state;
	assert_non_null(a);
	assert_int_equal(sparkline_values(a, v, 8), 6);
	assert_true(v[0] == 1 && v[1] < 0 && v[2] == 3 && v[3] < 0 &&
	    v[4] < 0 && v[5] == 5);
	/* Longer than the room: the newest kept. */
	assert_int_equal(sparkline_values(a, v, 2), 2);
	assert_true(v[0] < 0 && v[1] == 5);
	assert_int_equal(sparkline_values(NULL, v, 8), 0);
	cJSON_Delete(a);
	a = cJSON_Parse("{\"a\":1}");
	assert_int_equal(sparkline_values(a, v, 8), 0);
	cJSON_Delete(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scaling),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_zero),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
