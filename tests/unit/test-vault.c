/* vault.c: key creation, reload, refusing unsafe files, unsealing, hashing. */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent.h"
#include "fixture.h"
#include "log.h"

struct fixture {
	char	dir[FIXTURE_DIR_MAX];
	char	data[96];
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "vault");
	/* A data dir that does not exist yet, two levels down. */
	snprintf(f->data, sizeof(f->data), "%s/a/data", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

static mode_t
file_mode(const char *dir, const char *name)
{
	char		path[256];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static off_t
file_size(const char *dir, const char *name)
{
	char		path[256];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
test_create_and_reload(void **state)
{
	struct fixture		*f = *state;
	struct vault		*v1, *v2;
	unsigned char		 pk[VAULT_SEAL_PUBLICKEY_BYTES];
	unsigned char		 id[VAULT_IDENTITY_PUBLICKEY_BYTES];
	unsigned char		 h1[VAULT_TOKEN_HASH_BYTES];
	unsigned char		 h2[VAULT_TOKEN_HASH_BYTES];
	char			 err[512], fp1[VAULT_FINGERPRINT_LEN + 1];
	char			 fp2[VAULT_FINGERPRINT_LEN + 1];

	v1 = vault_open(f->data, err, sizeof(err));
	assert_non_null(v1);
	assert_int_equal(file_mode(f->data, "."), 0700);
	assert_int_equal(file_mode(f->data, "seal.key"), 0600);
	assert_int_equal(file_mode(f->data, "identity.key"), 0600);
	assert_int_equal(file_mode(f->data, "token.key"), 0600);
	assert_int_equal(file_size(f->data, "seal.key"), 64);
	assert_int_equal(file_size(f->data, "identity.key"), 64);
	assert_int_equal(file_size(f->data, "token.key"), 32);
	memcpy(pk, vault_seal_public_key(v1), sizeof(pk));
	memcpy(id, vault_identity_public_key(v1), sizeof(id));
	vault_token_hash(v1, "cube_abc", 8, h1);
	vault_fingerprint(v1, "sk-test", 7, fp1);
	assert_int_equal(strlen(fp1), VAULT_FINGERPRINT_LEN);
	assert_int_equal(strspn(fp1, "0123456789abcdef"), VAULT_FINGERPRINT_LEN);
	vault_free(v1);

	v2 = vault_open(f->data, err, sizeof(err));
	assert_non_null(v2);
	assert_memory_equal(vault_seal_public_key(v2), pk, sizeof(pk));
	assert_memory_equal(vault_identity_public_key(v2), id, sizeof(id));
	vault_token_hash(v2, "cube_abc", 8, h2);
	assert_memory_equal(h1, h2, sizeof(h1));
	vault_token_hash(v2, "cube_abd", 8, h2);
	assert_memory_not_equal(h1, h2, sizeof(h1));
	vault_fingerprint(v2, "sk-test", 7, fp2);
	assert_string_equal(fp1, fp2);
	/* The fingerprint is not a prefix of the token hash of the same bytes. */
	vault_token_hash(v2, "sk-test", 7, h2);
	{
		char	hex[VAULT_FINGERPRINT_LEN + 1];

		sodium_bin2hex(hex, sizeof(hex), h2, VAULT_FINGERPRINT_LEN / 2);
		assert_string_not_equal(hex, fp1);
	}
	/* Receipts: signed with the identity key, the one attestation binds. */
	{
		unsigned char	sig[VAULT_SIGNATURE_BYTES];
		unsigned char	msg[] = "cube receipt v1";

		vault_sign(v2, msg, sizeof(msg), sig);
		assert_int_equal(crypto_sign_verify_detached(sig, msg,
		    sizeof(msg), id), 0);
		msg[0] ^= 1;
		assert_int_not_equal(crypto_sign_verify_detached(sig, msg,
		    sizeof(msg), id), 0);
	}
	vault_free(v2);
	vault_free(NULL);
}

static void
test_other_vault_other_hash(void **state)
{
	struct fixture	*f = *state;
	struct vault	*v1, *v2;
	char		 other[128], err[512];
	unsigned char	 h1[VAULT_TOKEN_HASH_BYTES], h2[VAULT_TOKEN_HASH_BYTES];

	snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_non_null(v1 = vault_open(f->data, err, sizeof(err)));
	assert_non_null(v2 = vault_open(other, err, sizeof(err)));
	vault_token_hash(v1, "cube_x", 6, h1);
	vault_token_hash(v2, "cube_x", 6, h2);
	assert_memory_not_equal(h1, h2, sizeof(h1));
	vault_free(v1);
	vault_free(v2);
}

static void
test_refuses_loose_mode(void **state)
{
	struct fixture	*f = *state;
	struct vault	*v;
	char		 path[256], err[512];

	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	vault_free(v);
	snprintf(path, sizeof(path), "%s/seal.key", f->data);
	assert_int_equal(chmod(path, 0640), 0);
	v = vault_open(f->data, err, sizeof(err));
	assert_null(v);
	assert_non_null(strstr(err, "seal.key"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_null(vault_open(f->data, err, sizeof(err)));
	assert_int_equal(chmod(path, 0600), 0);
	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	vault_free(v);
}

static void
test_refuses_wrong_size(void **state)
{
	struct fixture	*f = *state;
	struct vault	*v;
	char		 path[256], err[512];

	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	vault_free(v);
	snprintf(path, sizeof(path), "%s/token.key", f->data);
	assert_int_equal(truncate(path, 31), 0);
	assert_null(vault_open(f->data, err, sizeof(err)));
	assert_non_null(strstr(err, "token.key"));
	assert_non_null(strstr(err, "expected 32"));
}

static void
test_refuses_corrupt_pair(void **state)
{
	struct fixture	*f = *state;
	struct vault	*v;
	char		 path[256], err[512];
	int		 fd;

	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	vault_free(v);
	/* Flip a byte of the stored public half. */
	snprintf(path, sizeof(path), "%s/seal.key", f->data);
	assert_true((fd = open(path, O_WRONLY)) != -1);
	assert_int_equal(pwrite(fd, "\xff\xfe", 2, 40), 2);
	close(fd);
	assert_null(vault_open(f->data, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
}

static void
test_refuses_partial(void **state)
{
	struct fixture	*f = *state;
	struct vault	*v;
	char		 path[256], err[512];

	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	vault_free(v);
	snprintf(path, sizeof(path), "%s/identity.key", f->data);
	assert_int_equal(unlink(path), 0);
	assert_null(vault_open(f->data, err, sizeof(err)));
	assert_non_null(strstr(err, "identity.key"));
}

static void
test_unseal(void **state)
{
	struct fixture	*f = *state;
	struct vault	*v;
	const char	*key = "sk-live-0123456789";
	unsigned char	 sealed[64 + crypto_box_SEALBYTES];
	char		 err[512], *plain;
	size_t		 len = strlen(key), plain_len;
	unsigned char	 other_pk[crypto_box_PUBLICKEYBYTES];
	unsigned char	 other_sk[crypto_box_SECRETKEYBYTES];

	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)key,
	    len, vault_seal_public_key(v)), 0);
	assert_int_equal(vault_unseal(v, sealed, len + crypto_box_SEALBYTES,
	    &plain, &plain_len), 0);
	assert_int_equal(plain_len, len);
	assert_string_equal(plain, key);
	assert_int_equal(plain[plain_len], '\0');
	sodium_free(plain);

	/* Empty plaintext opens to an empty string. */
	assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)"", 0,
	    vault_seal_public_key(v)), 0);
	assert_int_equal(vault_unseal(v, sealed, crypto_box_SEALBYTES, &plain,
	    &plain_len), 0);
	assert_int_equal(plain_len, 0);
	assert_string_equal(plain, "");
	sodium_free(plain);

	/* Tampered, short, and sealed to someone else: all refused. */
	assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)key,
	    len, vault_seal_public_key(v)), 0);
	sealed[len + crypto_box_SEALBYTES - 1] ^= 1;
	assert_int_equal(vault_unseal(v, sealed, len + crypto_box_SEALBYTES,
	    &plain, &plain_len), -1);
	assert_null(plain);
	assert_int_equal(vault_unseal(v, sealed, crypto_box_SEALBYTES - 1,
	    &plain, &plain_len), -1);
	crypto_box_keypair(other_pk, other_sk);
	assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)key,
	    len, other_pk), 0);
	assert_int_equal(vault_unseal(v, sealed, len + crypto_box_SEALBYTES,
	    &plain, &plain_len), -1);
	vault_free(v);
}

static void
test_credential_header(void **state)
{
	struct fixture		*f = *state;
	struct vault		*v;
	struct curl_slist	*h;
	unsigned char		 sealed[64 + crypto_box_SEALBYTES];
	char			 err[512];

	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)"sk-1",
	    4, vault_seal_public_key(v)), 0);
	h = credential_header_new(v, sealed, 4 + crypto_box_SEALBYTES, err,
	    sizeof(err));
	assert_non_null(h);
	assert_string_equal(h->data, "Authorization: Bearer sk-1");
	assert_null(h->next);
	credential_header_free(h);
	credential_header_free(NULL);

	/* A key with a newline would inject a header: refused. */
	assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)
	    "sk-1\r\nX: y", 10, vault_seal_public_key(v)), 0);
	assert_null(credential_header_new(v, sealed, 10 + crypto_box_SEALBYTES,
	    err, sizeof(err)));
	assert_null(strstr(err, "sk-1"));
	assert_false(credential_valid("a b", 3));
	assert_false(credential_valid("", 0));
	assert_true(credential_valid("sk-proj_AZ09", 12));
	vault_free(v);
}

/* A derived key as a TEE would give it; free with keyfile_key_free(). */
static struct keyfile_key *
derived_key(int provider, unsigned char fill)
{
	struct keyfile_key	*k;

	assert_non_null(k = keyfile_key_new());
	memset(k->key, fill, sizeof(k->key));
	k->provider = provider;
	k->field_select = TEE_SNP_SEAL_FIELDS;
	return k;
}

/* The whole file dir/name into buf (room for len); its size. */
static size_t
slurp(const char *dir, const char *name, unsigned char *buf, size_t len)
{
	char	path[256];
	FILE	*fp;
	size_t	n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "rb"));
	n = fread(buf, 1, len, fp);
	fclose(fp);
	return n;
}

/* Sealed from the first start; reopens with the same key to the same keys. */
static void
test_sealed_create_and_reload(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_key	*key = derived_key(KEYFILE_SEV_GUEST, 7);
	struct vault		*v;
	unsigned char		 pk[VAULT_SEAL_PUBLICKEY_BYTES], buf[256];
	unsigned char		 id[VAULT_IDENTITY_PUBLICKEY_BYTES];
	char			 err[512];

	assert_non_null(v = vault_open_sealed(f->data, key, VAULT_SEAL_AUTO,
	    err, sizeof(err)));
	assert_true(vault_sealed(v));
	assert_string_equal(vault_keys_at_rest(v),
	    "sealed (sev-guest derived key)");
	memcpy(pk, vault_seal_public_key(v), sizeof(pk));
	memcpy(id, vault_identity_public_key(v), sizeof(id));
	vault_free(v);
	assert_int_equal(file_size(f->data, "seal.key"), 44 + 64 + 16);
	assert_int_equal(file_size(f->data, "identity.key"), 44 + 64 + 16);
	assert_int_equal(file_size(f->data, "token.key"), 44 + 32 + 16);
	assert_int_equal(file_mode(f->data, "seal.key"), 0600);
	/* Not the raw key: the public half is nowhere in the file. */
	assert_int_equal(slurp(f->data, "seal.key", buf, sizeof(buf)), 124);
	assert_memory_equal(buf, "CUBESEAL", 8);
	assert_null(memmem(buf, 124, pk, sizeof(pk)));
	assert_int_equal(slurp(f->data, "identity.key", buf, sizeof(buf)),
	    124);
	assert_null(memmem(buf, 124, id, sizeof(id)));

	assert_non_null(v = vault_open_sealed(f->data, key, VAULT_SEAL_AUTO,
	    err, sizeof(err)));
	assert_memory_equal(vault_seal_public_key(v), pk, sizeof(pk));
	assert_memory_equal(vault_identity_public_key(v), id, sizeof(id));
	vault_free(v);
	keyfile_key_free(key);
}

/* Plain keys are sealed in place on the first start with a key. */
static void
test_plain_to_sealed(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_key	*key = derived_key(KEYFILE_SIM, 9);
	struct vault		*v;
	unsigned char		 pk[VAULT_SEAL_PUBLICKEY_BYTES];
	unsigned char		 h1[VAULT_TOKEN_HASH_BYTES];
	unsigned char		 h2[VAULT_TOKEN_HASH_BYTES];
	char			 err[512];

	assert_non_null(v = vault_open(f->data, err, sizeof(err)));
	assert_false(vault_sealed(v));
	assert_string_equal(vault_keys_at_rest(v), "file mode 0600");
	memcpy(pk, vault_seal_public_key(v), sizeof(pk));
	vault_token_hash(v, "cube_t", 6, h1);
	vault_free(v);
	assert_int_equal(file_size(f->data, "seal.key"), 64);

	assert_non_null(v = vault_open_sealed(f->data, key, VAULT_SEAL_AUTO,
	    err, sizeof(err)));
	assert_string_equal(vault_keys_at_rest(v), "sealed (simulated)");
	assert_memory_equal(vault_seal_public_key(v), pk, sizeof(pk));
	vault_token_hash(v, "cube_t", 6, h2);
	assert_memory_equal(h1, h2, sizeof(h1));
	vault_free(v);
	assert_int_equal(file_size(f->data, "seal.key"), 124);
	assert_int_equal(file_size(f->data, "token.key"), 92);
	assert_int_equal(file_mode(f->data, "token.key"), 0600);

	/*
	 * A crash half-way: identity.key still plain, the others sealed.
	 * The next start reads both kinds and finishes.
	 */
	{
		char		 path[256], tmp[256];

		snprintf(path, sizeof(path), "%s/identity.key", f->data);
		snprintf(tmp, sizeof(tmp), "%s/identity.plain", f->dir);
		assert_non_null(v = vault_open_sealed(f->data, key,
		    VAULT_SEAL_OFF, err, sizeof(err)));
		vault_free(v);
		assert_int_equal(file_size(f->data, "seal.key"), 64);
		assert_int_equal(file_size(f->data, "identity.key"), 64);
		assert_int_equal(link(path, tmp), 0);
		assert_non_null(v = vault_open_sealed(f->data, key,
		    VAULT_SEAL_AUTO, err, sizeof(err)));
		vault_free(v);
		assert_int_equal(rename(tmp, path), 0);
	}
	assert_int_equal(file_size(f->data, "seal.key"), 124);
	assert_int_equal(file_size(f->data, "identity.key"), 64);
	assert_non_null(v = vault_open_sealed(f->data, key, VAULT_SEAL_AUTO,
	    err, sizeof(err)));
	assert_memory_equal(vault_seal_public_key(v), pk, sizeof(pk));
	vault_free(v);
	assert_int_equal(file_size(f->data, "identity.key"), 124);
	keyfile_key_free(key);
}

/* Sealed files without the key, or with another: refused, left alone. */
static void
test_sealed_refused(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_key	*key = derived_key(KEYFILE_SEV_GUEST, 1);
	struct keyfile_key	*other = derived_key(KEYFILE_SEV_GUEST, 2);
	struct keyfile_key	*sim = derived_key(KEYFILE_SIM, 1);
	struct vault		*v;
	unsigned char		 before[3][128], after[128];
	static const char *const names[] = { "seal.key", "identity.key",
				    "token.key" };
	size_t			 len[3], i;
	char			 err[512];

	assert_non_null(v = vault_open_sealed(f->data, key, VAULT_SEAL_AUTO,
	    err, sizeof(err)));
	vault_free(v);
	for (i = 0; i < 3; i++)
		len[i] = slurp(f->data, names[i], before[i], 128);

	assert_null(vault_open(f->data, err, sizeof(err)));
	assert_non_null(strstr(err, "seal.key is sealed with a key sev-guest"
	    " derives inside its TEE, and this agent has no derived key"));
	assert_null(vault_open_sealed(f->data, NULL, VAULT_SEAL_OFF, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "no derived key"));
	assert_null(vault_open_sealed(f->data, other, VAULT_SEAL_AUTO, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "does not open with the key sev-guest"
	    " derives here: it was sealed in another VM"));
	assert_non_null(strstr(err, "left as they are"));
	assert_null(vault_open_sealed(f->data, sim, VAULT_SEAL_AUTO, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "derived another way"));
	/* Every refusal left every byte where it was. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(slurp(f->data, names[i], after, 128), len[i]);
		assert_memory_equal(after, before[i], len[i]);
	}
	/* The sim says which secret it means. */
	keyfile_key_free(key);
	keyfile_key_free(other);
	key = derived_key(KEYFILE_SIM, 2);
	assert_null(vault_open_sealed(f->data, sim, VAULT_SEAL_AUTO, err,
	    sizeof(err)));
	assert_non_null(v = vault_open_sealed(f->dir, sim, VAULT_SEAL_AUTO,
	    err, sizeof(err)));
	vault_free(v);
	assert_null(vault_open_sealed(f->dir, key, VAULT_SEAL_AUTO, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "the simulated TEE's secret"));
	assert_non_null(strstr(err, "sim-secret.key"));
	keyfile_key_free(key);
	keyfile_key_free(sim);
}

/* A sealed file of the wrong size, or with a damaged header. */
static void
test_sealed_damaged(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_key	*key = derived_key(KEYFILE_SEV_GUEST, 3);
	struct vault		*v;
	char			 path[256], err[512];
	int			 fd;

	assert_non_null(v = vault_open_sealed(f->data, key, VAULT_SEAL_AUTO,
	    err, sizeof(err)));
	vault_free(v);
	snprintf(path, sizeof(path), "%s/token.key", f->data);
	assert_true((fd = open(path, O_WRONLY)) != -1);
	assert_int_equal(pwrite(fd, "X", 1, 60), 1);
	close(fd);
	assert_null(vault_open_sealed(f->data, key, VAULT_SEAL_AUTO, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "token.key does not open"));
	assert_int_equal(truncate(path, 91), 0);
	assert_null(vault_open_sealed(f->data, key, VAULT_SEAL_AUTO, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "91 bytes, expected 32 (plain) or 92"));
	keyfile_key_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_reload, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_vault_other_hash,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_loose_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuses_wrong_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuses_corrupt_pair,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_partial, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unseal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_create_and_reload,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_to_sealed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sealed_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sealed_damaged, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credential_header, setup,
		    teardown),
	};

	log_init("test-vault", 0);
	if (sodium_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
