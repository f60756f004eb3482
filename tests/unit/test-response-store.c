/* response-store.c: kept per domain, for its time, within its room. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

static void
test_put_get(void **state)
{
	char	*s;
	size_t	 len = 0;

	(void)state;
	assert_int_equal(response_store_put("d1", "resp_a", "[1]", 3, 1000), 0);
	s = response_store_get("d1", "resp_a", 1000, &len);
	assert_non_null(s);
	assert_int_equal(len, 3);
	assert_string_equal(s, "[1]");
	free(s);
	/* Another domain's id is unknown, as an id never stored. */
	assert_null(response_store_get("d2", "resp_a", 1000, &len));
	assert_null(response_store_get("d1", "resp_b", 1000, &len));
	/* Put again: replaced. */
	assert_int_equal(response_store_put("d1", "resp_a", "[2]", 3, 1001), 0);
	s = response_store_get("d1", "resp_a", 1001, &len);
	assert_string_equal(s, "[2]");
	free(s);
	response_store_clear();
	assert_null(response_store_get("d1", "resp_a", 1001, &len));
}

static void
test_ttl(void **state)
{
	char	*s;
	size_t	 len;

	(void)state;
	assert_int_equal(response_store_put("d", "r", "[]", 2, 5000), 0);
	s = response_store_get("d", "r", 5000 + RESPONSE_STORE_TTL - 1, &len);
	assert_non_null(s);
	free(s);
	assert_null(response_store_get("d", "r", 5000 + RESPONSE_STORE_TTL,
	    &len));
	response_store_clear();
}

/* Over the room, the oldest go first; an entry too large is refused. */
static void
test_room(void **state)
{
	size_t	 big = RESPONSE_STORE_ENTRY_MAX, n, i, len;
	char	*blob, id[32], *s;

	(void)state;
	blob = malloc(big + 1);
	assert_non_null(blob);
	memset(blob, 'x', big);
	assert_int_equal(response_store_put("d", "huge", blob, big + 1, 1), -1);
	n = RESPONSE_STORE_MAX / big + 2;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "r%zu", i);
		assert_int_equal(response_store_put("d", id, blob, big, 10), 0);
	}
	assert_null(response_store_get("d", "r0", 10, &len));
	snprintf(id, sizeof(id), "r%zu", n - 1);
	s = response_store_get("d", id, 10, &len);
	assert_non_null(s);
	assert_int_equal(len, big);
	free(s);
	free(blob);
	response_store_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
