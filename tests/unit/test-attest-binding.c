/*
 * attest-binding.c: the report_data that binds the agent's keys and the
 * client's nonce, against vectors computed independently (Python's
 * hashlib over the layout attest.h documents).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "attest.h"

/* nonce 00..0f, X25519 11..., Ed25519 22..., TLS SPKI hash 33... */
#define VECTOR_TLS \
	"05c296084f2b7ab9a94854693227521cc2c63b2611efd04845a8a4e245cbb49a" \
	"2867a5c17aec9bccd0d41b3ff89ba6f59d4b772e2a68266d7da89df95753dacd"
/* The same without TLS: 32 zero bytes. */
#define VECTOR_NO_TLS \
	"17334a2105dc4909e690e75487442713829455df768914922a1474bae6b99457" \
	"6c8257fbe6fb1ac7c66c1886220cee603cf51b440a8cd8bdac48ab6e6758fbbf"

static void
binding_init(struct attest_binding *b, const unsigned char *nonce,
    size_t len)
{
	memset(b, 0, sizeof(*b));
	b->nonce = nonce;
	b->nonce_len = len;
	memset(b->x25519, 0x11, sizeof(b->x25519));
	memset(b->ed25519, 0x22, sizeof(b->ed25519));
}

static void
test_binding_vectors(void **state)
{
	struct attest_binding	b;
	unsigned char		nonce[16], out[64];
	char			hex[129], err[128];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (unsigned char)i;
	binding_init(&b, nonce, sizeof(nonce));
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), 0);
	assert_string_equal(attest_hex(out, sizeof(out), hex, sizeof(hex)),
	    VECTOR_NO_TLS);
	memset(b.tls_spki_sha256, 0x33, sizeof(b.tls_spki_sha256));
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), 0);
	assert_string_equal(attest_hex(out, sizeof(out), hex, sizeof(hex)),
	    VECTOR_TLS);

	/* Every input counts. */
	b.ed25519[31] ^= 1;
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), 0);
	assert_string_not_equal(attest_hex(out, sizeof(out), hex,
	    sizeof(hex)), VECTOR_TLS);
	b.ed25519[31] ^= 1;
	b.nonce_len = 15;
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), 0);
	assert_string_not_equal(attest_hex(out, sizeof(out), hex,
	    sizeof(hex)), VECTOR_TLS);
}

static void
test_binding_nonce_limits(void **state)
{
	struct attest_binding	b;
	unsigned char		nonce[ATTEST_NONCE_MAX + 1] = { 0 }, out[64];
	char			err[128];

	(void)state;
	binding_init(&b, nonce, ATTEST_NONCE_MIN - 1);
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), -1);
	assert_string_equal(err, "a nonce of 7 bytes (8 to 64)");
	b.nonce_len = ATTEST_NONCE_MAX + 1;
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), -1);
	b.nonce_len = ATTEST_NONCE_MIN;
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), 0);
	b.nonce_len = ATTEST_NONCE_MAX;
	assert_int_equal(attest_binding_digest(&b, out, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding_vectors),
		cmocka_unit_test(test_binding_nonce_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
