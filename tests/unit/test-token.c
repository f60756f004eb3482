/* token.c: secret and id format, and the shape check the request path runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent.h"

static void
test_generate(void **state)
{
	char	a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];
	size_t	i;

	(void)state;
	token_generate(a);
	token_generate(b);
	assert_int_equal(strlen(a), 48);
	assert_int_equal(TOKEN_LEN, 48);
	assert_memory_equal(a, "cube_", 5);
	assert_string_not_equal(a, b);
	assert_true(token_well_formed(a, strlen(a)));
	assert_true(token_well_formed(b, strlen(b)));
	for (i = 5; i < TOKEN_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
}

static void
test_well_formed(void **state)
{
	char	t[TOKEN_LEN + 2];

	(void)state;
	token_generate(t);
	assert_false(token_well_formed(NULL, 0));
	assert_false(token_well_formed(t, TOKEN_LEN - 1));
	assert_false(token_well_formed("", 0));
	t[TOKEN_LEN] = 'A';
	t[TOKEN_LEN + 1] = '\0';
	assert_false(token_well_formed(t, TOKEN_LEN + 1));
	/* Length-delimited: trailing bytes past len do not matter. */
	assert_true(token_well_formed(t, TOKEN_LEN));
	t[TOKEN_LEN] = '\0';

	t[0] = 'C';
	assert_false(token_well_formed(t, TOKEN_LEN));
	t[0] = 'c';
	t[10] = '+';
	assert_false(token_well_formed(t, TOKEN_LEN));
	t[10] = '/';
	assert_false(token_well_formed(t, TOKEN_LEN));
	t[10] = '=';
	assert_false(token_well_formed(t, TOKEN_LEN));
	t[10] = ' ';
	assert_false(token_well_formed(t, TOKEN_LEN));
	t[10] = '\0';
	assert_false(token_well_formed(t, TOKEN_LEN));
	t[10] = '-';
	assert_true(token_well_formed(t, TOKEN_LEN));
	t[10] = '_';
	assert_true(token_well_formed(t, TOKEN_LEN));
	assert_false(token_well_formed("sk-0123456789012345678901234567890"
	    "1234567890123", TOKEN_LEN));
}

static void
test_id(void **state)
{
	char	a[TOKEN_ID_LEN + 1], b[TOKEN_ID_LEN + 1];

	(void)state;
	token_generate_id(a);
	token_generate_id(b);
	assert_int_equal(strlen(a), 20);
	assert_memory_equal(a, "tok_", 4);
	assert_int_equal(strspn(a + 4, "0123456789abcdef"), 16);
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_id),
	};

	if (sodium_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
