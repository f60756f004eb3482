/*
 * The agent's secret keys: an X25519 pair for sealed credentials, an
 * Ed25519 identity and the token-hash key. Created on first start, loaded
 * after; held only in sodium_malloc memory, read-only once loaded. At
 * rest they are sealed with a key the TEE derives where it has one
 * (keyfile.c), else plain files of mode 0600. Runs at start-up, on the
 * main thread.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define VAULT_TOKEN_KEY_BYTES	32

/* One block so that a single mprotect covers everything; no padding. */
struct vault_keys {
	unsigned char	seal_sk[crypto_box_SECRETKEYBYTES];
	unsigned char	seal_pk[crypto_box_PUBLICKEYBYTES];
	unsigned char	sign_sk[crypto_sign_SECRETKEYBYTES];	/* seed || pk */
	unsigned char	token_key[VAULT_TOKEN_KEY_BYTES];
};

struct vault {
	struct vault_keys	*keys;	/* sodium_malloc */
	int			 sealed_by;	/* KEYFILE_*, 0: plain files */
};

_Static_assert(offsetof(struct vault_keys, seal_pk) ==
    crypto_box_SECRETKEYBYTES, "seal.key is sk || pk");
_Static_assert(VAULT_SEAL_PUBLICKEY_BYTES == crypto_box_PUBLICKEYBYTES,
    "VAULT_SEAL_PUBLICKEY_BYTES");
_Static_assert(VAULT_IDENTITY_PUBLICKEY_BYTES == crypto_sign_PUBLICKEYBYTES,
    "VAULT_IDENTITY_PUBLICKEY_BYTES");
_Static_assert(VAULT_TOKEN_HASH_BYTES == crypto_generichash_BYTES,
    "VAULT_TOKEN_HASH_BYTES");

/* The key files: name, exact size, where they live in struct vault_keys. */
static const struct vault_file {
	const char	*name;
	size_t		 size;
	size_t		 offset;
} vault_files[] = {
	{ "seal.key", crypto_box_SECRETKEYBYTES + crypto_box_PUBLICKEYBYTES,
	  offsetof(struct vault_keys, seal_sk) },
	{ "identity.key", crypto_sign_SECRETKEYBYTES,
	  offsetof(struct vault_keys, sign_sk) },
	{ "token.key", VAULT_TOKEN_KEY_BYTES,
	  offsetof(struct vault_keys, token_key) },
};
#define VAULT_NFILES	(sizeof(vault_files) / sizeof(vault_files[0]))

/* Check that the public halves belong to the secret halves. */
static int
vault_check(const char *dir, struct vault_keys *k, char *err, size_t errlen)
{
	unsigned char	 pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	*tmp;
	int		 ok;

	if (crypto_scalarmult_base(pk, k->seal_sk) != 0 ||
	    sodium_memcmp(pk, k->seal_pk, sizeof(pk)) != 0) {
		snprintf(err, errlen, "%s/seal.key: the public key does not"
		    " match the secret key", dir);
		return -1;
	}
	/* Scratch secret key in guarded memory, not on the stack. */
	if ((tmp = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		fatal("%s: sodium_malloc", __func__);
	crypto_sign_seed_keypair(pk, tmp, k->sign_sk);
	ok = sodium_memcmp(pk, k->sign_sk + crypto_sign_SEEDBYTES,
	    sizeof(pk)) == 0;
	sodium_free(tmp);
	if (!ok) {
		snprintf(err, errlen, "%s/identity.key: the public key does"
		    " not match the seed", dir);
		return -1;
	}
	return 0;
}

/*
 * Why a sealed file does not open here, for the error that stops the
 * start-up: the cause, then what the operator can do.
 */
static void
vault_refuse(const char *dir, const char *name, const char *why,
    const struct keyfile_header *h, const struct keyfile_key *key,
    enum keyfile_status st, char *err, size_t errlen)
{
	const char	*sealer = keyfile_provider_name(h->provider);

	if (key == NULL)
		snprintf(err, errlen, "%s/%s is sealed with a key %s derives"
		    " inside its TEE, and this agent has no derived key (run"
		    " it with --tee %s in the VM that sealed it); the key"
		    " files are left as they are", dir, name, sealer, sealer);
	else if (st == KEYFILE_WRONG_KEY && h->provider == KEYFILE_SIM)
		snprintf(err, errlen, "%s/%s %s: the simulated TEE's secret"
		    " (%s/%s) is not the one that sealed it, or the file was"
		    " altered; the key files are left as they are", dir, name,
		    why, dir, TEE_SIM_SECRET_FILE);
	else if (st == KEYFILE_WRONG_KEY)
		snprintf(err, errlen, "%s/%s %s: it was sealed in another VM"
		    " or chip, or this VM's measurement, policy, family or"
		    " image id changed since, or the file was altered; the key"
		    " files are left as they are (unseal them where they were"
		    " sealed with --seal-keys off to move them)", dir, name,
		    why);
	else
		snprintf(err, errlen, "%s/%s: %s; the key files are left as"
		    " they are", dir, name, why);
}

/*
 * Read one key file into dst: plain (exactly f->size bytes) or sealed
 * (opened with key). *sealed says which it was. 0, or -1 with err.
 */
static int
vault_read(const char *dir, const struct vault_file *f,
    const struct keyfile_key *key, unsigned char *dst, int *sealed,
    char *err, size_t errlen)
{
	struct keyfile_header	 h;
	enum keyfile_status	 st;
	unsigned char		*buf;
	size_t			 max = keyfile_sealed_size(f->size), len;
	char			 why[256];
	int			 rc = -1;

	*sealed = 0;
	if ((buf = sodium_malloc(max)) == NULL)
		fatal("%s: sodium_malloc", __func__);
	if (dir_read_file(dir, f->name, buf, 1, max, &len, err, errlen) != 0)
		goto out;
	if (len == f->size) {
		memcpy(dst, buf, f->size);
		rc = 0;
		goto out;
	}
	if (keyfile_header_parse(buf, len, &h, why, sizeof(why)) != 0 ||
	    h.plain_len != f->size) {
		snprintf(err, errlen, "%s/%s: %zu bytes, expected %zu (plain)"
		    " or %zu (sealed); it is not a key file of this agent", dir,
		    f->name, len, f->size, max);
		goto out;
	}
	*sealed = 1;
	if (key == NULL) {
		vault_refuse(dir, f->name, NULL, &h, NULL, KEYFILE_OTHER_SEAL,
		    err, errlen);
		goto out;
	}
	if ((st = keyfile_open(key, f->name, buf, len, dst, f->size, why,
	    sizeof(why))) != KEYFILE_OK) {
		vault_refuse(dir, f->name, why, &h, key, st, err, errlen);
		goto out;
	}
	rc = 0;
out:
	sodium_free(buf);
	return rc;
}

/*
 * Write one key file: sealed with key, else plain; replace an existing
 * one (migration) or make a new one.
 */
static int
vault_write(const char *dir, const struct vault_file *f,
    const struct keyfile_key *key, const unsigned char *src, int replace,
    char *err, size_t errlen)
{
	unsigned char	*buf;
	size_t		 len;
	int		 rc;

	if (key == NULL)
		return replace ? dir_replace_file(dir, f->name, src, f->size,
		    err, errlen) : dir_write_file(dir, f->name, src, f->size,
		    err, errlen);
	len = keyfile_sealed_size(f->size);
	if ((buf = sodium_malloc(len)) == NULL)
		fatal("%s: sodium_malloc", __func__);
	keyfile_seal(key, f->name, src, f->size, buf);
	rc = replace ? dir_replace_file(dir, f->name, buf, len, err, errlen) :
	    dir_write_file(dir, f->name, buf, len, err, errlen);
	sodium_free(buf);
	return rc;
}

struct vault *
vault_open(const char *data_dir, char *err, size_t errlen)
{
	return vault_open_sealed(data_dir, NULL, VAULT_SEAL_AUTO, err, errlen);
}

struct vault *
vault_open_sealed(const char *data_dir, const struct keyfile_key *key,
    int seal, char *err, size_t errlen)
{
	struct vault		*v;
	struct vault_keys	*k;
	struct stat		 st;
	const char		*missing = NULL, *present = NULL;
	const struct keyfile_key *wkey;
	char			*path;
	size_t			 i;
	int			 sealed[VAULT_NFILES] = { 0 }, nsealed = 0;

	if (sodium_init() == -1) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return NULL;
	}
	if (dir_create(data_dir, err, errlen) != 0)
		return NULL;
	if (stat(data_dir, &st) == 0 && (st.st_mode & 077) != 0)
		log_warnx("data directory %s is accessible by group or others"
		    " (mode %04o); run: chmod 700 %s", data_dir,
		    (unsigned)(st.st_mode & 07777), data_dir);

	for (i = 0; i < VAULT_NFILES; i++) {
		xasprintf(&path, "%s/%s", data_dir, vault_files[i].name);
		if (lstat(path, &st) == 0)
			present = vault_files[i].name;
		else if (errno == ENOENT)
			missing = vault_files[i].name;
		else {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(path);
			return NULL;
		}
		free(path);
	}
	if (present != NULL && missing != NULL) {
		snprintf(err, errlen, "%s has %s but not %s: restore it from"
		    " a backup, or move every *.key file away to start over"
		    " with new keys (sealed credentials and tokens made with"
		    " the old ones stop working)", data_dir, present, missing);
		return NULL;
	}

	/* What files are written with: the key, unless sealing is off. */
	wkey = seal == VAULT_SEAL_AUTO ? key : NULL;
	if ((k = sodium_malloc(sizeof(*k))) == NULL)
		fatal("%s: sodium_malloc", __func__);
	if (present == NULL) {
		crypto_box_keypair(k->seal_pk, k->seal_sk);
		crypto_sign_keypair(k->sign_sk + crypto_sign_SEEDBYTES,
		    k->sign_sk);
		randombytes_buf(k->token_key, sizeof(k->token_key));
		for (i = 0; i < VAULT_NFILES; i++) {
			if (vault_write(data_dir, &vault_files[i], wkey,
			    (unsigned char *)k + vault_files[i].offset, 0, err,
			    errlen) != 0)
				goto fail;
		}
		log_info("created new keys in %s%s", data_dir, wkey != NULL ?
		    ", sealed" : "");
	} else {
		for (i = 0; i < VAULT_NFILES; i++) {
			if (vault_read(data_dir, &vault_files[i], key,
			    (unsigned char *)k + vault_files[i].offset,
			    &sealed[i], err, errlen) != 0)
				goto fail;
			nsealed += sealed[i];
		}
		if (vault_check(data_dir, k, err, errlen) != 0)
			goto fail;
		/*
		 * Only keys that check out are rewritten: plain ones sealed,
		 * or sealed ones written plain when sealing is off. One file
		 * at a time, each replaced whole: a crash in between leaves
		 * some of each, which the next start reads and finishes.
		 */
		for (i = 0; i < VAULT_NFILES; i++) {
			if (sealed[i] == (wkey != NULL))
				continue;
			if (vault_write(data_dir, &vault_files[i], wkey,
			    (unsigned char *)k + vault_files[i].offset, 1, err,
			    errlen) != 0)
				goto fail;
		}
		if (wkey != NULL && nsealed < (int)VAULT_NFILES)
			log_info("sealed the keys in %s with the key %s"
			    " derives", data_dir,
			    keyfile_provider_name(wkey->provider));
		else if (wkey == NULL && nsealed > 0)
			log_warnx("--seal-keys off: wrote the keys in %s back"
			    " unsealed (file mode 0600 only)", data_dir);
	}
	sodium_mprotect_readonly(k);

	v = xcalloc(1, sizeof(*v));
	v->keys = k;
	v->sealed_by = wkey != NULL ? wkey->provider : 0;
	return v;

fail:
	sodium_free(k);
	return NULL;
}

const char *
vault_keys_at_rest(const struct vault *v)
{
	switch (v->sealed_by) {
	case KEYFILE_SEV_GUEST:
		return "sealed (sev-guest derived key)";
	case KEYFILE_SIM:
		return "sealed (simulated)";
	default:
		return "file mode 0600";
	}
}

int
vault_sealed(const struct vault *v)
{
	return v->sealed_by != 0;
}

/* sodium_free makes the block writable, zeroes it and unmaps it. */
void
vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	sodium_free(v->keys);
	free(v);
}

const unsigned char *
vault_seal_public_key(const struct vault *v)
{
	return v->keys->seal_pk;
}

const unsigned char *
vault_identity_public_key(const struct vault *v)
{
	return v->keys->sign_sk + crypto_sign_SEEDBYTES;
}

/* The key is read-only memory; signing only reads it. */
void
vault_sign(const struct vault *v, const unsigned char *m, size_t len,
    unsigned char sig[VAULT_SIGNATURE_BYTES])
{
	_Static_assert(VAULT_SIGNATURE_BYTES == crypto_sign_BYTES, "sig");
	crypto_sign_detached(sig, NULL, m, len, v->keys->sign_sk);
}

/*
 * libsodium leaves part of what it opens in its own stack frames (the
 * secretbox copies a message's first 32 bytes through a block on the
 * stack and does not wipe it), where a core dump or a later read of
 * stale stack would find an API key. Once a secret has passed through,
 * overwrite the stack below the caller, deeper than those frames go:
 * the n bytes next to the caller's frame, where its callees' were.
 */
#define VAULT_BURN_BYTES	16384	/* secretbox and below */
#define VAULT_BURN_HASH		2048	/* BLAKE2b's compression frames */

static void __attribute__((noinline))
vault_burn_stack(size_t n)
{
	unsigned char	buf[VAULT_BURN_BYTES];

	sodium_memzero(buf + sizeof(buf) - n, n);
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

int
vault_unseal(const struct vault *v, const unsigned char *sealed,
    size_t sealed_len, char **plain, size_t *plain_len)
{
	unsigned char	*out;
	size_t		 len;

	*plain = NULL;
	*plain_len = 0;
	if (sealed == NULL || sealed_len < crypto_box_SEALBYTES)
		return -1;
	len = sealed_len - crypto_box_SEALBYTES;
	if ((out = sodium_malloc(len + 1)) == NULL)
		fatal("%s: sodium_malloc", __func__);
	if (crypto_box_seal_open(out, sealed, sealed_len, v->keys->seal_pk,
	    v->keys->seal_sk) != 0) {
		vault_burn_stack(VAULT_BURN_BYTES);
		sodium_free(out);
		return -1;
	}
	vault_burn_stack(VAULT_BURN_BYTES);
	out[len] = '\0';
	*plain = (char *)out;
	*plain_len = len;
	return 0;
}

int
vault_opens(const struct vault *v, const unsigned char *sealed,
    size_t sealed_len)
{
	char	*plain;
	size_t	 len;

	if (vault_unseal(v, sealed, sealed_len, &plain, &len) != 0)
		return 0;
	sodium_free(plain);
	return 1;
}

void
vault_token_hash(const struct vault *v, const char *token, size_t len,
    unsigned char out[VAULT_TOKEN_HASH_BYTES])
{
	crypto_generichash(out, VAULT_TOKEN_HASH_BYTES,
	    (const unsigned char *)token, len, v->keys->token_key,
	    sizeof(v->keys->token_key));
	/* The compression function loads the token into unwiped locals. */
	vault_burn_stack(VAULT_BURN_HASH);
}

/* Keyed like token hashes, but personalised so the two never coincide. */
void
vault_fingerprint(const struct vault *v, const char *secret, size_t len,
    char out[VAULT_FINGERPRINT_LEN + 1])
{
	static const unsigned char	personal[16] = "cube-fingerprint";
	unsigned char			h[crypto_generichash_blake2b_BYTES_MIN];

	_Static_assert(VAULT_FINGERPRINT_LEN / 2 <= sizeof(h), "fingerprint");
	crypto_generichash_blake2b_salt_personal(h, sizeof(h),
	    (const unsigned char *)secret, len, v->keys->token_key,
	    sizeof(v->keys->token_key), NULL, personal);
	vault_burn_stack(VAULT_BURN_BYTES);
	sodium_bin2hex(out, VAULT_FINGERPRINT_LEN + 1, h,
	    VAULT_FINGERPRINT_LEN / 2);
}
