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
	f->rc.version = 1;
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
	assert_true(strlen(f->s) <= RECEIPT_V1_MAX);
	assert_true(RECEIPT_V1_MAX <= 512);
	assert_true(RECEIPT_MAX <= 1024);
	assert_int_equal(check(f, f->s, NULL, req_body, resp_body), RECEIPT_OK);
}

/*
 * The text of a receipt is libsodium's base64url of its payload and
 * signature, for any bytes: random ids and signatures give every sextet,
 * and models of one to three letters every length of the last group.
 */
static void
test_receipt_base64url(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 payload[RECEIPT_PAYLOAD_MAX];
	char		 want[2 * RECEIPT_MAX];
	size_t		 plen, i, off;

	sign(f, "m");
	for (i = 0; i < 2000; i++) {
		randombytes_buf(f->rc.id, sizeof(f->rc.id));
		randombytes_buf(f->rc.sig, sizeof(f->rc.sig));
		randombytes_buf(f->rc.response_sha256,
		    sizeof(f->rc.response_sha256));
		snprintf(f->rc.model, sizeof(f->rc.model), "%.*s",
		    (int)(i % 3) + 1, "mmm");
		assert_true(receipt_format(&f->rc, f->s, sizeof(f->s)) > 0);
		plen = receipt_payload(&f->rc, payload);
		sodium_bin2base64(want, sizeof(want), payload, plen,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_memory_equal(f->s + 3, want, strlen(want));
		off = 3 + strlen(want);
		assert_int_equal(f->s[off], '.');
		sodium_bin2base64(want, sizeof(want), f->rc.sig,
		    sizeof(f->rc.sig), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_string_equal(f->s + off + 1, want);
	}
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

/* RFC 9162 2.1.1, as written: the tree hash of leaves [lo, hi). */
static void
mth(const unsigned char (*leaves)[RECEIPT_HASH_BYTES], size_t lo, size_t hi,
    unsigned char out[RECEIPT_HASH_BYTES])
{
	unsigned char	buf[1 + 2 * RECEIPT_HASH_BYTES];
	size_t		k = 1;

	if (hi - lo == 1) {
		memcpy(out, leaves[lo], RECEIPT_HASH_BYTES);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	buf[0] = 0x01;
	mth(leaves, lo, lo + k, buf + 1);
	mth(leaves, lo + k, hi, buf + 1 + RECEIPT_HASH_BYTES);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

/* RFC 9162 2.1.3.1, as written: leaf m's path in leaves [lo, hi). */
static size_t
path(const unsigned char (*leaves)[RECEIPT_HASH_BYTES], size_t m, size_t lo,
    size_t hi, unsigned char (*out)[RECEIPT_HASH_BYTES])
{
	size_t	k = 1, n;

	if (hi - lo == 1)
		return 0;
	while (k * 2 < hi - lo)
		k *= 2;
	if (m < k) {
		n = path(leaves, m, lo, lo + k, out);
		mth(leaves, lo + k, hi, out[n]);
	} else {
		n = path(leaves, m - k, lo + k, hi, out);
		mth(leaves, lo, lo + k, out[n]);
	}
	return n + 1;
}

struct batch {
	unsigned char	leaves[RECEIPT_BATCH_MAX][RECEIPT_HASH_BYTES];
	unsigned char	paths[RECEIPT_BATCH_MAX][RECEIPT_PATH_MAX]
			    [RECEIPT_HASH_BYTES];
	size_t		lens[RECEIPT_BATCH_MAX];
	unsigned char	want[RECEIPT_PATH_MAX][RECEIPT_HASH_BYTES];
};

/* The tree and every path are RFC 9162's, for every size a batch has. */
static void
test_receipt_batch_tree(void **state)
{
	struct batch	*b = calloc(1, sizeof(*b));
	unsigned char	 root[RECEIPT_HASH_BYTES], want[RECEIPT_HASH_BYTES];
	size_t		 n, i, k;

	(void)state;
	assert_non_null(b);
	for (i = 0; i < RECEIPT_BATCH_MAX; i++)
		receipt_leaf_hash((const unsigned char *)&i, sizeof(i),
		    b->leaves[i]);
	assert_int_equal(receipt_batch_tree((const void *)b->leaves, 0, root,
	    NULL, NULL), -1);
	assert_int_equal(receipt_batch_tree((const void *)b->leaves,
	    RECEIPT_BATCH_MAX + 1, root, NULL, NULL), -1);
	for (n = 1; n <= RECEIPT_BATCH_MAX; n++) {
		if (n > 70 && n != 127 && n != 128 && n != 129 &&
		    n != RECEIPT_BATCH_MAX)
			continue;
		assert_int_equal(receipt_batch_tree((const void *)b->leaves, n,
		    root, b->paths, b->lens), 0);
		mth((const void *)b->leaves, 0, n, want);
		assert_memory_equal(root, want, sizeof(root));
		for (i = 0; i < n; i++) {
			k = path((const void *)b->leaves, i, 0, n, b->want);
			assert_int_equal(b->lens[i], k);
			assert_true(k <= RECEIPT_PATH_MAX);
			if (k > 0)
				assert_memory_equal(b->paths[i], b->want,
				    k * RECEIPT_HASH_BYTES);
		}
	}
	free(b);
}

/* A v2 receipt of each leaf of a batch under one signature. */
static void
batch_sign(struct fixture *f, struct batch *b, struct receipt *rcs, size_t n)
{
	unsigned char	 payload[RECEIPT_PAYLOAD_MAX];
	unsigned char	 root[RECEIPT_HASH_BYTES];
	unsigned char	 signed_bytes[RECEIPT_BATCH_SIGNED_BYTES];
	unsigned char	 sig[RECEIPT_SIG_BYTES];
	size_t		 i, plen;

	for (i = 0; i < n; i++) {
		sign(f, "llama3.1:8b");
		rcs[i] = f->rc;
		rcs[i].version = 2;
		assert_true((plen = receipt_payload(&rcs[i], payload)) > 0);
		receipt_leaf_hash(payload, plen, b->leaves[i]);
	}
	assert_int_equal(receipt_batch_tree((const void *)b->leaves, n, root,
	    b->paths, b->lens), 0);
	receipt_batch_signed((unsigned)n, root, signed_bytes);
	crypto_sign_detached(sig, NULL, signed_bytes, sizeof(signed_bytes),
	    f->sk);
	for (i = 0; i < n; i++) {
		memcpy(rcs[i].sig, sig, sizeof(sig));
		rcs[i].leaf_index = (unsigned)i;
		rcs[i].tree_size = (unsigned)n;
		rcs[i].path_len = b->lens[i];
		memcpy(rcs[i].path, b->paths[i], sizeof(rcs[i].path));
	}
}

static void
test_receipt_batch_verify(void **state)
{
	struct fixture	*f = *state;
	struct batch	*b = calloc(1, sizeof(*b));
	struct receipt	*rcs = calloc(RECEIPT_BATCH_MAX, sizeof(*rcs));
	struct receipt	 rc, other;
	static const size_t sizes[] = { 2, 3, 5, 7, 64, RECEIPT_BATCH_MAX };
	char		 err[256], s[RECEIPT_MAX + 1];
	size_t		 i, j, n;

	assert_non_null(b);
	assert_non_null(rcs);
	for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
		n = sizes[j];
		batch_sign(f, b, rcs, n);
		for (i = 0; i < n; i++) {
			assert_true(receipt_format(&rcs[i], s, sizeof(s)) > 0);
			assert_int_equal(strncmp(s, "v2.", 3), 0);
			assert_true(strlen(s) <= RECEIPT_MAX);
			assert_int_equal(check(f, s, NULL, req_body, resp_body),
			    RECEIPT_OK);
			assert_int_equal(receipt_parse(&rc, s, strlen(s), err,
			    sizeof(err)), 0);
			assert_int_equal(rc.leaf_index, i);
			assert_int_equal(rc.tree_size, n);
			assert_int_equal(check(f, s, NULL, req_body, "{}"),
			    RECEIPT_BAD_RESPONSE);
		}
	}
	/* Anything of the proof changed: the signature no longer holds. */
	n = 7;
	batch_sign(f, b, rcs, n);
	rc = rcs[3];
	rc.leaf_index = 2;
	assert_int_equal(receipt_verify(&rc, f->pk, NULL, 0, NULL, 0),
	    RECEIPT_BAD_SIGNATURE);
	rc = rcs[3];
	rc.tree_size = 8;
	assert_int_equal(receipt_verify(&rc, f->pk, NULL, 0, NULL, 0),
	    RECEIPT_BAD_SIGNATURE);
	rc = rcs[3];
	rc.path[1][5] ^= 1;
	assert_int_equal(receipt_verify(&rc, f->pk, NULL, 0, NULL, 0),
	    RECEIPT_BAD_SIGNATURE);
	rc = rcs[3];
	rc.path_len--;
	assert_int_equal(receipt_verify(&rc, f->pk, NULL, 0, NULL, 0),
	    RECEIPT_BAD_SIGNATURE);
	rc = rcs[6];			/* went up alone: one hash less */
	assert_int_equal(rc.path_len, 2);
	assert_int_equal(receipt_verify(&rc, f->pk, NULL, 0, NULL, 0),
	    RECEIPT_OK);
	/* Another leaf's payload under this one's proof. */
	other = rcs[4];
	memcpy(other.path, rcs[3].path, sizeof(other.path));
	other.leaf_index = 3;
	assert_int_equal(receipt_verify(&other, f->pk, NULL, 0, NULL, 0),
	    RECEIPT_BAD_SIGNATURE);
	/* A v2 leaf's payload signed alone is no v1 receipt, nor the reverse. */
	rc = rcs[0];
	rc.version = 1;
	assert_int_equal(receipt_verify(&rc, f->pk, NULL, 0, NULL, 0),
	    RECEIPT_BAD_SIGNATURE);
	/* Malformed proofs are refused as such. */
	assert_true(receipt_format(&rcs[3], s, sizeof(s)) > 0);
	*strrchr(s, '.') = '\0';
	assert_int_equal(receipt_parse(&rc, s, strlen(s), err, sizeof(err)),
	    -1);
	rc = rcs[3];
	rc.tree_size = 1;
	rc.leaf_index = 0;
	assert_true(receipt_format(&rc, s, sizeof(s)) > 0);
	assert_int_equal(receipt_parse(&rc, s, strlen(s), err, sizeof(err)),
	    -1);
	rc = rcs[3];
	rc.leaf_index = 7;
	assert_true(receipt_format(&rc, s, sizeof(s)) > 0);
	assert_int_equal(receipt_parse(&rc, s, strlen(s), err, sizeof(err)),
	    -1);
	rc = rcs[3];
	rc.path_len = 4;		/* more than a tree of 7 has */
	assert_true(receipt_format(&rc, s, sizeof(s)) > 0);
	assert_int_equal(receipt_parse(&rc, s, strlen(s), err, sizeof(err)),
	    -1);
	/* The longest: a model key at its bound, a leaf deepest in 256. */
	{
		char	longest[RECEIPT_MODEL_MAX + 1];

		memset(longest, 'm', RECEIPT_MODEL_MAX);
		longest[RECEIPT_MODEL_MAX] = '\0';
		rc = rcs[0];
		snprintf(rc.model, sizeof(rc.model), "%s", longest);
		memset(rc.domain, 'd', RECEIPT_DOMAIN_MAX);
		memset(rc.route, 'r', RECEIPT_ROUTE_MAX);
		rc.tree_size = RECEIPT_BATCH_MAX;
		rc.path_len = RECEIPT_PATH_MAX;
		assert_int_equal(receipt_format(&rc, s, sizeof(s)), RECEIPT_MAX);
		assert_int_equal(receipt_parse(&other, s, strlen(s), err,
		    sizeof(err)), 0);
		assert_int_equal(receipt_find(s, strlen(s),
		    &(const char *){ NULL }, &(size_t){ 0 }), 0);
	}
	free(rcs);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_receipt_base64url,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_names_failure,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_parse_refuses,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_find,
		    setup, teardown),
		cmocka_unit_test(test_receipt_batch_tree),
		cmocka_unit_test_setup_teardown(test_receipt_batch_verify,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
