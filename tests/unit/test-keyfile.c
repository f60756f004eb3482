/*
 * keyfile.c: a sealed key file opens with the key and name it was sealed
 * with, and with nothing else: every header byte, ciphertext byte and tag
 * byte changed, another key, another derivation, another file name, every
 * truncation and an extension are refused, and the output is zeroed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"

#define PLAIN	64

struct fixture {
	struct keyfile_key	*key;
	unsigned char		 plain[PLAIN];
	unsigned char		 sealed[KEYFILE_HEADER_BYTES + PLAIN +
				    KEYFILE_TAG_BYTES];
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->key = keyfile_key_new());
	randombytes_buf(f->key->key, sizeof(f->key->key));
	f->key->provider = KEYFILE_SEV_GUEST;
	f->key->field_select = TEE_SNP_SEAL_FIELDS;
	randombytes_buf(f->plain, sizeof(f->plain));
	assert_int_equal(keyfile_sealed_size(PLAIN), sizeof(f->sealed));
	keyfile_seal(f->key, "seal.key", f->plain, PLAIN, f->sealed);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	keyfile_key_free(f->key);
	free(f);
	return 0;
}

/* Open f->sealed (len bytes) as name; the status, out zeroed on failure. */
static enum keyfile_status
try_open(struct fixture *f, const struct keyfile_key *key, const char *name,
    size_t len, char *err, size_t errlen)
{
	static const unsigned char	zero[PLAIN];
	unsigned char			out[PLAIN];
	enum keyfile_status		st;

	memset(out, 0xa5, sizeof(out));
	st = keyfile_open(key, name, f->sealed, len, out, PLAIN, err, errlen);
	if (st == KEYFILE_OK)
		assert_memory_equal(out, f->plain, PLAIN);
	else if (st != KEYFILE_DAMAGED && st != KEYFILE_OTHER_SEAL)
		assert_memory_equal(out, zero, PLAIN);
	return st;
}

static void
test_round_trip(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_header	 h;
	unsigned char		 again[sizeof(f->sealed)];
	char			 err[256];

	assert_true(keyfile_is_sealed(f->sealed, sizeof(f->sealed)));
	assert_false(keyfile_is_sealed(f->plain, sizeof(f->plain)));
	assert_memory_equal(f->sealed, "CUBESEAL", 8);
	/* Not the key in the clear. */
	assert_null(memmem(f->sealed, sizeof(f->sealed), f->plain, 8));
	assert_int_equal(try_open(f, f->key, "seal.key", sizeof(f->sealed),
	    err, sizeof(err)), KEYFILE_OK);
	assert_int_equal(keyfile_header_parse(f->sealed, sizeof(f->sealed), &h,
	    err, sizeof(err)), 0);
	assert_int_equal(h.provider, KEYFILE_SEV_GUEST);
	assert_int_equal(h.root, 0);
	assert_int_equal(h.vmpl, 0);
	assert_int_equal(h.field_select, 0xf);
	assert_int_equal(h.plain_len, PLAIN);
	assert_string_equal(keyfile_provider_name(h.provider), "sev-guest");
	assert_string_equal(keyfile_provider_name(KEYFILE_SIM), "sim");
	assert_string_equal(keyfile_provider_name(0), "unknown");
	assert_string_equal(keyfile_provider_name(99), "unknown");
	/* A fresh nonce each time: the same key seals to other bytes. */
	keyfile_seal(f->key, "seal.key", f->plain, PLAIN, again);
	assert_memory_not_equal(again, f->sealed, sizeof(again));
}

/* Every byte of the file, each bit flipped: never opens. */
static void
test_tampered(void **state)
{
	struct fixture		*f = *state;
	enum keyfile_status	 st;
	char			 err[256];
	size_t			 i;
	int			 bit;

	for (i = 0; i < sizeof(f->sealed); i++) {
		for (bit = 0; bit < 8; bit++) {
			f->sealed[i] ^= (unsigned char)(1 << bit);
			err[0] = '\0';
			st = try_open(f, f->key, "seal.key",
			    sizeof(f->sealed), err, sizeof(err));
			f->sealed[i] ^= (unsigned char)(1 << bit);
			if (st == KEYFILE_OK)
				fail_msg("byte %zu bit %d flipped opens", i,
				    bit);
			assert_true(err[0] != '\0');
			/* The magic and version: not ours; nonce on: the key. */
			if (i < 9)
				assert_int_equal(st, KEYFILE_DAMAGED);
			else if (i >= 10 && i < 20)
				assert_int_equal(st, KEYFILE_OTHER_SEAL);
			else if (i >= 20)
				assert_int_equal(st, KEYFILE_WRONG_KEY);
		}
	}
	assert_int_equal(try_open(f, f->key, "seal.key", sizeof(f->sealed),
	    err, sizeof(err)), KEYFILE_OK);
}

static void
test_wrong_key_or_name(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_key	*other;
	char			 err[256];

	assert_non_null(other = keyfile_key_new());
	memcpy(other, f->key, sizeof(*other));
	other->key[0] ^= 1;
	assert_int_equal(try_open(f, other, "seal.key", sizeof(f->sealed), err,
	    sizeof(err)), KEYFILE_WRONG_KEY);
	assert_non_null(strstr(err, "does not open with the key sev-guest"));
	/* The same key bytes, another derivation: named as such. */
	memcpy(other, f->key, sizeof(*other));
	other->provider = KEYFILE_SIM;
	assert_int_equal(try_open(f, other, "seal.key", sizeof(f->sealed), err,
	    sizeof(err)), KEYFILE_OTHER_SEAL);
	assert_non_null(strstr(err, "sev-guest derived another way"));
	assert_non_null(strstr(err, "this agent's sim"));
	memcpy(other, f->key, sizeof(*other));
	other->field_select |= TEE_SNP_FIELD_TCB_VERSION;
	assert_int_equal(try_open(f, other, "seal.key", sizeof(f->sealed), err,
	    sizeof(err)), KEYFILE_OTHER_SEAL);
	assert_non_null(strstr(err, "0x2f"));
	keyfile_key_free(other);
	/* Swapped for another key file of the same size. */
	assert_int_equal(try_open(f, f->key, "identity.key", sizeof(f->sealed),
	    err, sizeof(err)), KEYFILE_WRONG_KEY);
}

static void
test_truncated_or_extended(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_header	 h;
	unsigned char		 big[sizeof(f->sealed) + 1];
	unsigned char		 out[PLAIN];
	char			 err[256];
	size_t			 len;

	for (len = 0; len < sizeof(f->sealed); len++)
		assert_int_not_equal(try_open(f, f->key, "seal.key", len, err,
		    sizeof(err)), KEYFILE_OK);
	assert_int_equal(try_open(f, f->key, "seal.key", 8, err, sizeof(err)),
	    KEYFILE_DAMAGED);
	assert_non_null(strstr(err, "cut short"));
	assert_int_equal(try_open(f, f->key, "seal.key", 100, err,
	    sizeof(err)), KEYFILE_DAMAGED);
	assert_non_null(strstr(err, "expected 124"));
	memcpy(big, f->sealed, sizeof(f->sealed));
	big[sizeof(f->sealed)] = 0;
	assert_int_equal(keyfile_open(f->key, "seal.key", big, sizeof(big),
	    out, PLAIN, err, sizeof(err)), KEYFILE_DAMAGED);
	/* The header parses on its own; a plain key does not. */
	assert_int_equal(keyfile_header_parse(f->sealed, 60, &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.plain_len, 0);
	assert_int_equal(keyfile_header_parse(f->plain, PLAIN, &h, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no CUBESEAL magic"));
	f->sealed[8] = 2;
	assert_int_equal(keyfile_header_parse(f->sealed, sizeof(f->sealed), &h,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "version 2"));
	f->sealed[8] = 1;
	f->sealed[9] = 7;
	assert_int_equal(keyfile_header_parse(f->sealed, sizeof(f->sealed), &h,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown provider 7"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_or_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_truncated_or_extended,
		    setup, teardown),
	};

	log_init("test-keyfile", 0);
	if (sodium_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
