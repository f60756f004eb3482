/*
 * cube-tui's header and Fleet view without a screen: figures in human
 * form (uptime as "3d 4h", rates, latencies, percentages, money) and
 * which columns a width holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cube-tui.h"

static const char *
duration(double s)
{
	static char	buf[16];

	human_duration(buf, sizeof(buf), s);
	return buf;
}

static void
test_human_duration(void **state)
{
	(void)state;
	assert_string_equal(duration(0), "0s");
	assert_string_equal(duration(42.9), "42s");
	assert_string_equal(duration(60), "1m");
	assert_string_equal(duration(725), "12m 5s");
	assert_string_equal(duration(3600), "1h");
	assert_string_equal(duration(4 * 3600 + 12 * 60 + 59), "4h 12m");
	assert_string_equal(duration(3 * 86400 + 4 * 3600 + 59 * 60), "3d 4h");
	assert_string_equal(duration(86400), "1d");
	assert_string_equal(duration(9998.0 * 86400 + 23 * 3600), "9998d 23h");
	assert_string_equal(duration(1e300), ">9999d");
	assert_string_equal(duration(-1), "?");
	assert_string_equal(duration(0.0 / 0.0), "?");
}

static void
test_human_figures(void **state)
{
	char	buf[16];

	(void)state;
	human_rate(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0");
	human_rate(buf, sizeof(buf), 0.133);
	assert_string_equal(buf, "0.133");
	human_rate(buf, sizeof(buf), 0.0167);
	assert_string_equal(buf, "0.0167");
	human_rate(buf, sizeof(buf), 12.54);
	assert_string_equal(buf, "12.5");
	human_rate(buf, sizeof(buf), 1234.4);
	assert_string_equal(buf, "1234");
	human_rate(buf, sizeof(buf), 250000);
	assert_string_equal(buf, "250k");
	human_rate(buf, sizeof(buf), -1);
	assert_string_equal(buf, "-");

	human_ms(buf, sizeof(buf), 702);
	assert_string_equal(buf, "702ms");
	human_ms(buf, sizeof(buf), 1234);
	assert_string_equal(buf, "1.2s");
	human_ms(buf, sizeof(buf), 75000);
	assert_string_equal(buf, "75s");
	human_ms(buf, sizeof(buf), -1);		/* null: no requests */
	assert_string_equal(buf, "-");

	human_percent(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0%");
	human_percent(buf, sizeof(buf), 0.375);
	assert_string_equal(buf, "37.5%");
	human_percent(buf, sizeof(buf), 0.0004);
	assert_string_equal(buf, "<0.1%");
	human_percent(buf, sizeof(buf), 1);
	assert_string_equal(buf, "100%");
}

static void
test_human_usd(void **state)
{
	char	buf[32];

	(void)state;
	human_usd(buf, sizeof(buf), "0");
	assert_string_equal(buf, "$0.00");
	human_usd(buf, sizeof(buf), "0.0000123");
	assert_string_equal(buf, "<$0.01");
	human_usd(buf, sizeof(buf), "12.3499999");	/* cut, never rounded */
	assert_string_equal(buf, "$12.34");
	human_usd(buf, sizeof(buf), "7.5");
	assert_string_equal(buf, "$7.50");
	human_usd(buf, sizeof(buf), "007.5");
	assert_string_equal(buf, "$7.50");
	human_usd(buf, sizeof(buf), "1234567.89");
	assert_string_equal(buf, "$1234567");
	human_usd(buf, sizeof(buf), "0.00");
	assert_string_equal(buf, "$0.00");
	/* Not a plain decimal: said so, never shown as money. */
	human_usd(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "-");
	human_usd(buf, sizeof(buf), "-1");
	assert_string_equal(buf, "-");
	human_usd(buf, sizeof(buf), "1e3");
	assert_string_equal(buf, "-");
	human_usd(buf, sizeof(buf), "1.");
	assert_string_equal(buf, "-");
	human_usd(buf, sizeof(buf), "12345678901234567890");
	assert_string_equal(buf, "-");
}

/* The Fleet's shape: a name that shrinks, figures, extras, a flex error. */
static const struct column cols[] = {
	{ "HOST",	8,	20,	0,		0 },
	{ "HEALTH",	9,	9,	0,		0 },
	{ "RPS",	5,	5,	2,		0 },
	{ "SPEND",	8,	8,	1,		0 },
	{ "TLS",	9,	9,	COLUMN_EXTRA + 1, 0 },
	{ "UP",		7,	7,	COLUMN_EXTRA + 2, 0 },
	{ "ERROR",	5,	5,	0,		1 },
};
#define NCOLS	(sizeof(cols) / sizeof(cols[0]))

static int
total(const int *w)
{
	size_t	i;
	int	t = 0, n = 0;

	for (i = 0; i < NCOLS; i++)
		if (w[i] > 0) {
			t += w[i];
			n++;
		}
	return t + n - 1;
}

static void
test_columns_fit(void **state)
{
	int	w[NCOLS];

	(void)state;
	/* Room for all: each as wanted, the error column takes the rest. */
	assert_int_equal(columns_fit(cols, NCOLS, 120, w), 7);
	assert_int_equal(w[0], 20);
	assert_int_equal(w[4], 9);
	assert_int_equal(total(w), 120);

	/* Narrower: the extras go first, highest drop first. */
	assert_int_equal(columns_fit(cols, NCOLS, 69, w), 7);
	assert_int_equal(total(w), 69);
	assert_int_equal(columns_fit(cols, NCOLS, 65, w), 6);
	assert_int_equal(w[5], 0);
	assert_int_equal(w[4], 9);
	assert_int_equal(w[0], 20);
	assert_int_equal(total(w), 65);
	assert_int_equal(columns_fit(cols, NCOLS, 55, w), 5);
	assert_int_equal(w[4], 0);
	assert_int_equal(w[0], 20);
	assert_int_equal(w[6], 55 - 20 - 9 - 5 - 8 - 4);

	/* Then the name shrinks, never below its minimum... */
	assert_int_equal(columns_fit(cols, NCOLS, 45, w), 5);
	assert_int_equal(w[0], 14);
	assert_int_equal(w[6], 5);
	assert_int_equal(total(w), 45);
	/* ...then figures go, highest drop first. */
	assert_int_equal(columns_fit(cols, NCOLS, 36, w), 4);
	assert_int_equal(w[0], 8);
	assert_int_equal(w[2], 0);
	assert_int_equal(w[3], 8);
	assert_int_equal(total(w), 36);
	assert_int_equal(columns_fit(cols, NCOLS, 25, w), 3);
	assert_int_equal(w[3], 0);
	assert_int_equal(total(w), 25);

	/* Narrower than what cannot go: the rest, for the row to cut. */
	assert_int_equal(columns_fit(cols, NCOLS, 3, w), 3);
	assert_int_equal(columns_fit(cols, NCOLS, 0, w), 3);
	assert_int_equal(columns_fit(cols, NCOLS, -5, w), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human_duration),
		cmocka_unit_test(test_human_figures),
		cmocka_unit_test(test_human_usd),
		cmocka_unit_test(test_columns_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
