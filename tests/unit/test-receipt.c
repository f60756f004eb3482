/* receipt.c: receipts round-trip, verify, and name what does not hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "receipt.h"

static const char	req_body[] = "{\"model\":\"m\",\"messages\":[]}";
static const char	resp_body[] = "{\"choices\":[]}";

struct fixture {
	unsigned char	pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	sk[crypto_sign_SECRETKEYBYTES];
	struct receipt	rc;
	char		s[RECEIPT_MAX + 1];
};

/* A receipt for req_body and resp_body, signed with f->sk, in f->s. */
static void
sign(struct fixture *f, const char *model)
{
	unsigned char	payload[RECEIPT_PAYLOAD_MAX];
	size_t		plen;

	memset(&f->rc, 0, sizeof(f->rc));
	randombytes_buf(f->rc.id, sizeof(f->rc.id));
	f->rc.time_ms = 1733430000123ULL;
	crypto_hash_sha256(f->rc.request_sha256,
	    (const unsigned char *)req_body, strlen(req_body));
	crypto_hash_sha256(f->rc.response_sha256,
	    (const unsigned char *)resp_body, strlen(resp_body));
	snprintf(f->rc.domain, sizeof(f->rc.domain),
	    "0f4b8a52-2f7e-4c51-9d2b-5c8e7f1a3b6d");
	snprintf(f->rc.model, sizeof(f->rc.model), "%s", model);
	snprintf(f->rc.route, sizeof(f->rc.route), "ollama_generate");
	plen = receipt_payload(&f->rc, payload);
	assert_true(plen > RECEIPT_FIXED_BYTES);
	crypto_sign_detached(f->rc.sig, NULL, payload, plen, f->sk);
	assert_true(receipt_format(&f->rc, f->s, sizeof(f->s)) > 0);
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	crypto_sign_keypair(f->pk, f->sk);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

static enum receipt_status
check(struct fixture *f, const char *s, const unsigned char *pk,
    const char *req, const char *resp)
{
	struct receipt	rc;
	char		err[256];

	assert_int_equal(receipt_parse(&rc, s, strlen(s), err, sizeof(err)), 0);
	return receipt_verify(&rc, pk != NULL ? pk : f->pk,
	    (const unsigned char *)req, strlen(req),
	    (const unsigned char *)resp, strlen(resp));
}

static void
test_receipt_round_trip(void **state)
{
	struct fixture	*f = *state;
	struct receipt	 rc;
	char		 err[256], longest[RECEIPT_MODEL_MAX + 1];

	sign(f, "llama3.1:8b");
	assert_int_equal(strncmp(f->s, "v1.", 3), 0);
	assert_int_equal(receipt_parse(&rc, f->s, strlen(f->s), err,
	    sizeof(err)), 0);
	assert_memory_equal(rc.id, f->rc.id, sizeof(rc.id));
	assert_true(rc.time_ms == f->rc.time_ms);
	assert_string_equal(rc.model, "llama3.1:8b");
	assert_string_equal(rc.route, "ollama_generate");
	assert_string_equal(rc.domain, f->rc.domain);
	assert_int_equal(check(f, f->s, NULL, req_body, resp_body), RECEIPT_OK);

	/* The longest receipt fits its bound, and a response header. */
	memset(longest, 'm', RECEIPT_MODEL_MAX);
	longest[RECEIPT_MODEL_MAX] = '\0';
	sign(f, longest);
	assert_true(strlen(f->s) <= RECEIPT_MAX);
	assert_true(RECEIPT_MAX <= 512);
	assert_int_equal(check(f, f->s, NULL, req_body, resp_body), RECEIPT_OK);
}

/* Each part that does not hold is named, the signature first. */
static void
test_receipt_names_failure(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 other_pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 other_sk[crypto_sign_SECRETKEYBYTES];
	char		 flipped[sizeof(resp_body)];

	sign(f, "m");
	crypto_sign_keypair(other_pk, other_sk);
	assert_int_equal(check(f, f->s, other_pk, req_body, resp_body),
	    RECEIPT_BAD_SIGNATURE);
	assert_int_equal(check(f, f->s, NULL, "{}", resp_body),
	    RECEIPT_BAD_REQUEST);
	memcpy(flipped, resp_body, sizeof(flipped));
	flipped[3] ^= 1;
	assert_int_equal(check(f, f->s, NULL, req_body, flipped),
	    RECEIPT_BAD_RESPONSE);
	assert_non_null(strstr(receipt_status_message(RECEIPT_BAD_RESPONSE),
	    "response body"));
	/* A field changed after signing: the signature no longer holds. */
	f->rc.time_ms++;
	assert_true(receipt_format(&f->rc, f->s, sizeof(f->s)) > 0);
	assert_int_equal(check(f, f->s, NULL, req_body, resp_body),
	    RECEIPT_BAD_SIGNATURE);
}

static void
test_receipt_parse_refuses(void **state)
{
	struct fixture	*f = *state;
	struct receipt	 rc;
	char		 err[256], s[RECEIPT_MAX + 16];
	static const char *const bad[] = {
		"", "v1", "v2.AAAA.AAAA", "v1.AAAA", "v1..", "v1.!!!!.AAAA",
		"v1.Y3ViZSByZWNlaXB0IHYxAA.AAAA",
	};
	size_t		 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(receipt_parse(&rc, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1);
	sign(f, "m");
	/* Cut anywhere, it is refused, never read past. */
	n = strlen(f->s);
	for (i = 0; i < n; i++)
		assert_int_equal(receipt_parse(&rc, f->s, i, err, sizeof(err)),
		    -1);
	/* Padding is not base64url without padding. */
	snprintf(s, sizeof(s), "%s=", f->s);
	assert_int_equal(receipt_parse(&rc, s, strlen(s), err, sizeof(err)), -1);
	/* White space around it is fine. */
	snprintf(s, sizeof(s), "  %s\r\n", f->s);
	assert_int_equal(receipt_parse(&rc, s, strlen(s), err, sizeof(err)), 0);
}

/* What a receipt covers of text: all but body[cut..cut + cutlen). */
static void
assert_covers(const char *text, size_t cut, size_t cutlen)
{
	unsigned char			h[RECEIPT_HASH_BYTES];
	unsigned char			want[RECEIPT_HASH_BYTES];
	crypto_hash_sha256_state	st;
	size_t				len = strlen(text);

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)text, cut);
	crypto_hash_sha256_update(&st, (const unsigned char *)text + cut +
	    cutlen, len - cut - cutlen);
	crypto_hash_sha256_final(&st, want);
	receipt_response_sha256(text, len, h);
	assert_memory_equal(h, want, sizeof(h));
}

/* Receipts are found in header dumps and in streams, left out of hashes. */
static void
test_receipt_find(void **state)
{
	struct fixture	*f = *state;
	const char	*s;
	char		 text[4096], body[1024], line[1024];
	size_t		 slen, blen;

	sign(f, "m");
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nContent-Type:"
	    " application/json\r\ncube-receipt: %s\r\n\r\n", f->s);
	assert_int_equal(receipt_find(text, strlen(text), &s, &slen), 0);
	assert_int_equal(slen, strlen(f->s));
	assert_memory_equal(s, f->s, slen);

	/* SSE: the comment line before [DONE], or last. */
	snprintf(body, sizeof(body), "data: {\"a\":1}\n\n");
	blen = strlen(body);
	snprintf(line, sizeof(line), RECEIPT_SSE_PREFIX "%s\n\n", f->s);
	snprintf(text, sizeof(text), "%s%sdata: [DONE]\n\n", body, line);
	assert_int_equal(receipt_find(text, strlen(text), &s, &slen), 0);
	assert_int_equal(slen, strlen(f->s));
	assert_memory_equal(s, f->s, slen);
	assert_covers(text, blen, strlen(text) - blen);
	snprintf(text, sizeof(text), "%sdata: [DONE]\n\n%s", body, line);
	assert_int_equal(receipt_find(text, strlen(text), &s, &slen), 0);
	assert_memory_equal(s, f->s, slen);
	assert_covers(text, blen + 14, strlen(line));

	/* NDJSON: a member added to the last object, or a line. */
	snprintf(text, sizeof(text), "{\"done\":false}\n{\"done\":true"
	    RECEIPT_NDJSON_MEMBER "%s\"}\n", f->s);
	assert_int_equal(receipt_find(text, strlen(text), &s, &slen), 0);
	assert_int_equal(slen, strlen(f->s));
	assert_memory_equal(s, f->s, slen);
	assert_covers(text, strlen("{\"done\":false}\n{\"done\":true"),
	    strlen(RECEIPT_NDJSON_MEMBER) + strlen(f->s) + 1);
	snprintf(body, sizeof(body), "{\"error\":\"x\"}\n");
	blen = strlen(body);
	snprintf(text, sizeof(text), "%s" RECEIPT_NDJSON_PREFIX "%s\"}\n",
	    body, f->s);
	assert_int_equal(receipt_find(text, strlen(text), &s, &slen), 0);
	assert_memory_equal(s, f->s, slen);
	assert_covers(text, blen, strlen(text) - blen);

	/* A body without one is all covered; a bare string is itself. */
	assert_covers(body, 0, 0);
	snprintf(text, sizeof(text), "%s\n", f->s);
	assert_int_equal(receipt_find(text, strlen(text), &s, &slen), 0);
	assert_int_equal(slen, strlen(f->s));
	assert_int_equal(receipt_find("nothing", 7, &s, &slen), -1);
	/* A receipt line followed by more than [DONE] is not the stream's. */
	snprintf(text, sizeof(text), RECEIPT_SSE_PREFIX "%s\n\ndata: x\n\n",
	    f->s);
	assert_covers(text, 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_receipt_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_names_failure,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_parse_refuses,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_find,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
