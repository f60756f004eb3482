/* money.c: exact decimal USD <-> nano-USD, and what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"

static int64_t
parse_ok(const char *s)
{
	char	err[256];
	int64_t	nano = -1;

	assert_int_equal(money_parse_usd(s, &nano, err, sizeof(err)), 0);
	return nano;
}

static void
parse_bad(const char *s, const char *why)
{
	char	err[256] = "";
	int64_t	nano = 42;

	assert_int_equal(money_parse_usd(s, &nano, err, sizeof(err)), -1);
	assert_int_equal(nano, 42);	/* untouched on failure */
	assert_non_null(strstr(err, why));
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("0.15"), 150000000);
	assert_int_equal(parse_ok("12"), INT64_C(12000000000));
	assert_int_equal(parse_ok("0.000000001"), 1);
	assert_int_equal(parse_ok("0.999999999"), 999999999);
	assert_int_equal(parse_ok(".5"), 500000000);
	assert_int_equal(parse_ok("5."), INT64_C(5000000000));
	assert_int_equal(parse_ok("$2.50"), INT64_C(2500000000));
	assert_int_equal(parse_ok("007"), INT64_C(7000000000));
	assert_int_equal(parse_ok("1000000000"),
	    MONEY_MAX_USD * MONEY_NANO_PER_USD);
}

static void
test_parse_rejects(void **state)
{
	(void)state;
	parse_bad("-1", "non-negative");
	parse_bad("-0.5", "non-negative");
	parse_bad("0.1234567891", "more than 9 decimal");
	parse_bad("1.0000000000", "more than 9 decimal");
	parse_bad("", "non-negative");
	parse_bad(".", "non-negative");
	parse_bad("$", "non-negative");
	parse_bad("abc", "non-negative");
	parse_bad("1e3", "non-negative");
	parse_bad("1,5", "non-negative");
	parse_bad(" 1", "non-negative");
	parse_bad("1 ", "non-negative");
	parse_bad("1.2.3", "non-negative");
	parse_bad("+1", "non-negative");
	parse_bad("0x10", "non-negative");
	parse_bad("1000000001", "larger than");
	parse_bad("99999999999999999999999", "larger than");
}

static void
test_format(void **state)
{
	char	buf[MONEY_BUFSZ];

	(void)state;
	assert_string_equal(money_format_usd(0, buf, sizeof(buf)), "0");
	assert_string_equal(money_format_usd(150000000, buf, sizeof(buf)),
	    "0.15");
	assert_string_equal(money_format_usd(1, buf, sizeof(buf)),
	    "0.000000001");
	assert_string_equal(money_format_usd(INT64_C(12000000000), buf,
	    sizeof(buf)), "12");
	assert_string_equal(money_format_usd(INT64_C(12500000001), buf,
	    sizeof(buf)), "12.500000001");
	assert_string_equal(money_format_usd(-75000000, buf, sizeof(buf)),
	    "-0.075");
	assert_string_equal(money_format_usd(INT64_MIN, buf, sizeof(buf)),
	    "-9223372036.854775808");
	assert_string_equal(money_format_usd(INT64_MAX, buf, sizeof(buf)),
	    "9223372036.854775807");
}

/* Formatting then parsing gives the amount back, exactly. */
static void
test_round_trip(void **state)
{
	static const int64_t	amounts[] = { 0, 1, 10, 999999999,
	    INT64_C(1000000000), INT64_C(1234567890123), 75000000,
	    INT64_C(1000000000) * MONEY_MAX_USD };
	char			buf[MONEY_BUFSZ];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++)
		assert_int_equal(parse_ok(money_format_usd(amounts[i], buf,
		    sizeof(buf))), amounts[i]);
}

/* Known usage at known prices, to the nano; cached tokens at their own price. */
static void
test_tokens_cost(void **state)
{
	/* $0.15 in, $0.60 out, $0.075 cached per 1M (nano-USD per 1M). */
	int64_t	prices[3] = { 150000000, 600000000, 75000000 };
	int64_t	t1[3] = { 1000, 500, 0 }, t2[3] = { 200, 500, 800 };
	int64_t	big[1] = { INT64_MAX }, bigp[1] = { INT64_MAX };
	int64_t	third[1] = { 1 }, thirdp[1] = { 333333 };
	int64_t	half[1] = { 1 }, halfp[1] = { 500000 };

	(void)state;
	/* 1000 * 150 + 500 * 600 = 450000 nano */
	assert_int_equal(money_tokens_cost(t1, prices, 3), 450000);
	/* 200 * 150 + 500 * 600 + 800 * 75 = 390000 nano */
	assert_int_equal(money_tokens_cost(t2, prices, 3), 390000);
	assert_int_equal(money_tokens_cost(third, thirdp, 1), 0);
	assert_int_equal(money_tokens_cost(half, halfp, 1), 1);
	assert_int_equal(money_tokens_cost(big, bigp, 1), INT64_MAX);
	assert_int_equal(money_tokens_cost(t1, prices, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tokens_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
