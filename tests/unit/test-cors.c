/* cors.c: origins as operators set them, lists, the preflight's header echo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

static int
valid(const char *s)
{
	return cors_origin_valid(s, strlen(s));
}

static void
test_origin_valid(void **state)
{
	static const char *const good[] = {
		"*", "https://app.example.com", "http://localhost:5173",
		"http://127.0.0.1", "https://[::1]:8443", "https://a-b.c9.io",
		"http://x:1",
	};
	static const char *const bad[] = {
		"", "**", "null", "app.example.com", "ftp://a.example",
		"https://", "https://App.example.com", "https://a.example/",
		"https://a.example/path", "https://a.example:", "https://a:123456",
		"https://a.example:80x", "https://.a.example", "https://a.",
		"https://-a", "https://[]", "https://[::1", "https://a b",
		"https://user@a.example", "https://a.example?x", "*.example.com",
		"https://a.example\r\nX-Evil: 1", "http://caf\xc3\xa9.example",
	};
	char	long_origin[CORS_ORIGIN_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!valid(good[i]))
			fail_msg("refused: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	/* A NUL inside: the length rules, not the NUL. */
	assert_false(cors_origin_valid("https://a\0b", 11));
	memcpy(long_origin, "https://", 8);
	memset(long_origin + 8, 'a', sizeof(long_origin) - 9);
	long_origin[sizeof(long_origin) - 1] = '\0';
	assert_false(valid(long_origin));
	long_origin[CORS_ORIGIN_MAX] = '\0';
	assert_true(valid(long_origin));
}

static int
allows(const char *list, const char *origin)
{
	return cors_list_allows(list, origin, strlen(origin));
}

static void
test_list_allows(void **state)
{
	const char	*list = "https://a.example http://localhost:5173";

	(void)state;
	assert_true(allows(list, "https://a.example"));
	assert_true(allows(list, "http://localhost:5173"));
	assert_false(allows(list, "https://a.exampl"));
	assert_false(allows(list, "https://a.example.evil"));
	assert_false(allows(list, "http://localhost"));
	assert_false(allows(list, "https://a.example http://localhost:5173"));
	assert_false(allows(list, "HTTPS://A.EXAMPLE"));
	assert_false(allows(list, ""));
	assert_false(allows(NULL, "https://a.example"));
	assert_false(allows("", "https://a.example"));
	assert_true(allows("*", "https://anything.example"));
	assert_true(allows("https://a.example *", "https://b.example"));
	/* "*" is only a whole entry. */
	assert_false(allows("https://*.example", "https://b.example"));
}

static void
test_allow_headers(void **state)
{
	char		 out[64], big[256];
	const char	*req;
	size_t		 n;

	(void)state;
	req = "Authorization, content-type,X-Stainless-OS ,anthropic-version,"
	    " x-evil, cookie, openai-beta";
	n = cors_allow_headers(req, strlen(req), out, sizeof(out));
	assert_int_equal(n, strlen(out));
	/* What does not fit in 64 bytes is left out, not cut. */
	assert_string_equal(out, "authorization, content-type, x-stainless-os,"
	    " anthropic-version");
	n = cors_allow_headers(req, strlen(req), big, sizeof(big));
	assert_int_equal(n, strlen(big));
	assert_string_equal(big, "authorization, content-type,"
	    " x-stainless-os, anthropic-version, openai-beta");
	/* Prefixes need more than the prefix; exact names are exact. */
	req = "x-stainless-, anthropic, x-api-keys, x-api-key, ,,";
	cors_allow_headers(req, strlen(req), big, sizeof(big));
	assert_string_equal(big, "x-api-key");
	assert_int_equal(cors_allow_headers("", 0, big, sizeof(big)), 0);
	assert_string_equal(big, "");
	assert_int_equal(cors_allow_headers("x-evil", 6, big, sizeof(big)), 0);
	assert_int_equal(cors_allow_headers("accept", 6, big, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_valid),
		cmocka_unit_test(test_list_allows),
		cmocka_unit_test(test_allow_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
