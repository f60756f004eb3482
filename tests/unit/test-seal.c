/* seal.c: sealed boxes open with the agent's secret key; secrets read right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "seal.h"

/* Open a base64 sealed box with sk; returns the plaintext length or -1. */
static int
open_box(const char *b64, const unsigned char *pk, const unsigned char *sk,
    unsigned char *out, size_t outlen)
{
	unsigned char	box[1024];
	size_t		boxlen;

	if (sodium_base642bin(box, sizeof(box), b64, strlen(b64), NULL,
	    &boxlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (boxlen < crypto_box_SEALBYTES ||
	    boxlen - crypto_box_SEALBYTES > outlen)
		return -1;
	if (crypto_box_seal_open(out, box, boxlen, pk, sk) != 0)
		return -1;
	return (int)(boxlen - crypto_box_SEALBYTES);
}

static void
pk_base64(const unsigned char *pk, char *b64, size_t len)
{
	sodium_bin2base64(b64, len, pk, crypto_box_PUBLICKEYBYTES,
	    sodium_base64_VARIANT_ORIGINAL);
}

static void
test_seal_opens(void **state)
{
	unsigned char	pk[crypto_box_PUBLICKEYBYTES];
	unsigned char	sk[crypto_box_SECRETKEYBYTES];
	unsigned char	out[256];
	char		b64[64], err[256], *sealed;
	const char	*secret = "sk-live-0123456789";

	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_box_keypair(pk, sk);
	pk_base64(pk, b64, sizeof(b64));

	sealed = seal_box_base64(b64, (const unsigned char *)secret,
	    strlen(secret), err, sizeof(err));
	assert_non_null(sealed);
	assert_null(strstr(sealed, secret));
	assert_int_equal(open_box(sealed, pk, sk, out, sizeof(out)),
	    (int)strlen(secret));
	assert_memory_equal(out, secret, strlen(secret));
	free(sealed);
}

/* Another key pair cannot open it; sealing twice gives different boxes. */
static void
test_seal_other_key(void **state)
{
	unsigned char	pk[crypto_box_PUBLICKEYBYTES], pk2[sizeof(pk)];
	unsigned char	sk[crypto_box_SECRETKEYBYTES], sk2[sizeof(sk)];
	unsigned char	out[64];
	char		b64[64], err[256], *a, *b;

	(void)state;
	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	pk_base64(pk, b64, sizeof(b64));
	a = seal_box_base64(b64, (const unsigned char *)"k", 1, err,
	    sizeof(err));
	b = seal_box_base64(b64, (const unsigned char *)"k", 1, err,
	    sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b);
	assert_int_equal(open_box(a, pk2, sk2, out, sizeof(out)), -1);
	assert_int_equal(open_box(b, pk, sk, out, sizeof(out)), 1);
	free(a);
	free(b);
}

static void
test_seal_bad_key(void **state)
{
	char	err[256];

	(void)state;
	assert_null(seal_box_base64("", (const unsigned char *)"k", 1, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "32 bytes"));
	assert_null(seal_box_base64("not base64!", (const unsigned char *)"k",
	    1, err, sizeof(err)));
	/* 31 bytes */
	assert_null(seal_box_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	    (const unsigned char *)"k", 1, err, sizeof(err)));
	/* 32 bytes, then junk */
	assert_null(seal_box_base64(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=xx",
	    (const unsigned char *)"k", 1, err, sizeof(err)));
	/* URL-safe alphabet is not the standard one */
	assert_null(seal_box_base64(
	    "____________________________________________",
	    (const unsigned char *)"k", 1, err, sizeof(err)));
}

/* Feed input through a pipe and read it as a secret. */
static struct seal_secret *
read_from(const char *input, size_t len, int flags, char *err, size_t errlen)
{
	struct seal_secret	*s;
	int			 fds[2];

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], input, len), (ssize_t)len);
	close(fds[1]);
	s = seal_secret_read(fds[0], flags, err, errlen);
	close(fds[0]);
	return s;
}

static void
expect_secret(const char *input, const char *want)
{
	struct seal_secret	*s;
	char			 err[256];

	s = read_from(input, strlen(input), 0, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->data, want, s->len);
	seal_secret_free(s);
}

static void
expect_refused(const char *input, size_t len, const char *why)
{
	char	err[256] = "";

	assert_null(read_from(input, len, 0, err, sizeof(err)));
	assert_non_null(strstr(err, why));
}

static void
test_secret_read(void **state)
{
	(void)state;
	expect_secret("sk-abc", "sk-abc");
	expect_secret("sk-abc\n", "sk-abc");
	expect_secret("sk-abc\r\n", "sk-abc");
	expect_secret(" spaced key ", " spaced key ");
	expect_refused("", 0, "empty");
	expect_refused("\n", 1, "empty");
	expect_refused("\r\n", 2, "empty");
	/* Only one newline is stripped. */
	expect_refused("sk-abc\n\n", 8, "line break");
	expect_refused("a\nb", 3, "line break");
	expect_refused("a\0b", 3, "NUL");
	seal_secret_free(NULL);
}

static void
test_secret_too_long(void **state)
{
	char	*big;

	(void)state;
	big = malloc(SEAL_SECRET_MAX + 1);
	memset(big, 'k', SEAL_SECRET_MAX + 1);
	expect_refused(big, SEAL_SECRET_MAX + 1, "longer than");
	big[SEAL_SECRET_MAX] = '\0';
	expect_secret(big, big);	/* exactly the limit is fine */
	free(big);
}

/* SEAL_READ_LINE stops at the newline and leaves the rest unread. */
static void
test_secret_line(void **state)
{
	struct seal_secret	*s;
	char			 err[256], rest[16];
	int			 fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "key1\nafter", 10), 10);
	close(fds[1]);
	s = seal_secret_read(fds[0], SEAL_READ_LINE, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(s->len, 4);
	assert_memory_equal(s->data, "key1", 4);
	assert_int_equal(read(fds[0], rest, sizeof(rest)), 5);
	assert_memory_equal(rest, "after", 5);
	close(fds[0]);
	seal_secret_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_opens),
		cmocka_unit_test(test_seal_other_key),
		cmocka_unit_test(test_seal_bad_key),
		cmocka_unit_test(test_secret_read),
		cmocka_unit_test(test_secret_too_long),
		cmocka_unit_test(test_secret_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
