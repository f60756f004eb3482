/* textbuf.h: pieces, numbers and copies, each checked against snprintf. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "textbuf.h"

static const uint64_t	u64s[] = {
	0, 1, 9, 10, 11, 99, 100, 101, 255, 256, 999, 1000, 1001, 4095, 4096,
	9999, 10000, 65535, 99999, 100000, 999999999, 1000000000,
	1234567890, UINT32_MAX, (uint64_t)UINT32_MAX + 1, INT64_MAX,
	(uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX,
};

static void
test_numbers(void **state)
{
	char		want[64], got[64];
	struct textbuf	b;
	size_t		i;
	uint64_t	v;
	int		shift;

	(void)state;
	for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++) {
		textbuf_init(&b, got, sizeof(got));
		textbuf_u64(&b, u64s[i]);
		snprintf(want, sizeof(want), "%" PRIu64, u64s[i]);
		assert_string_equal(got, want);
		assert_int_equal(b.len, strlen(want));

		textbuf_init(&b, got, sizeof(got));
		textbuf_hex(&b, u64s[i]);
		snprintf(want, sizeof(want), "%" PRIx64, u64s[i]);
		assert_string_equal(got, want);

		textbuf_init(&b, got, sizeof(got));
		textbuf_i64(&b, (int64_t)u64s[i]);
		snprintf(want, sizeof(want), "%" PRId64, (int64_t)u64s[i]);
		assert_string_equal(got, want);
	}
	/* Every power of two and its neighbours, both signs. */
	for (shift = 0; shift < 63; shift++) {
		for (v = (1ULL << shift) - 1; v <= (1ULL << shift) + 1; v++) {
			textbuf_init(&b, got, sizeof(got));
			textbuf_i64(&b, -(int64_t)v);
			snprintf(want, sizeof(want), "%" PRId64, -(int64_t)v);
			assert_string_equal(got, want);
		}
	}
	textbuf_init(&b, got, sizeof(got));
	textbuf_i64(&b, INT64_MIN);
	assert_string_equal(got, "-9223372036854775808");
	assert_false(b.over);
}

static void
test_pieces(void **state)
{
	char		buf[16];
	struct textbuf	b;

	(void)state;
	textbuf_init(&b, buf, sizeof(buf));
	textbuf_lit(&b, "HTTP/1.1 ");
	textbuf_u64(&b, 200);
	textbuf_str(&b, " OK");
	assert_string_equal(buf, "HTTP/1.1 200 OK");
	assert_int_equal(b.len, 15);
	assert_false(b.over);

	/* 15 bytes and the NUL fill 16: one more does not fit. */
	textbuf_lit(&b, "!");
	assert_true(b.over);
	assert_string_equal(buf, "HTTP/1.1 200 OK");
	/* Over stays over, even for a piece that would fit. */
	textbuf_init(&b, buf, 4);
	textbuf_lit(&b, "abcd");
	assert_true(b.over);
	textbuf_lit(&b, "a");
	assert_true(b.over);
	assert_string_equal(buf, "");
	assert_int_equal(b.len, 0);

	/* No room at all is over from the start, and writes nothing. */
	textbuf_init(&b, buf, 0);
	assert_true(b.over);
	textbuf_put(&b, "", 0);
	assert_true(b.over);
}

static void
test_copy(void **state)
{
	char	dst[8];

	(void)state;
	assert_int_equal(textbuf_copy(dst, sizeof(dst), "abc"), 3);
	assert_string_equal(dst, "abc");
	assert_int_equal(textbuf_copy(dst, sizeof(dst), "1234567"), 7);
	assert_string_equal(dst, "1234567");
	/* Cut to fit, NUL-terminated, the whole length returned. */
	assert_int_equal(textbuf_copy(dst, sizeof(dst), "123456789"), 9);
	assert_string_equal(dst, "1234567");
	assert_int_equal(textbuf_copy(dst, 1, "abc"), 3);
	assert_string_equal(dst, "");
	memcpy(dst, "xyz", 4);
	assert_int_equal(textbuf_copy(dst, 0, "abc"), 3);
	assert_string_equal(dst, "xyz");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
