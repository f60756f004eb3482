/*
 * Sealed key files: the agent's private keys at rest, encrypted with a key
 * the TEE derives (keyfile_key, from tee_derive_key()). Runs at start-up
 * only, on the main thread, before any worker.
 *
 * A sealed file is a fixed header and then XChaCha20-Poly1305 (IETF) of
 * the key bytes; the header, followed by the file's own name, is the
 * associated data, so neither a changed header nor a file swapped for
 * another one of the same size opens:
 *
 *	off  len
 *	  0    8  magic "CUBESEAL"
 *	  8    1  version (1)
 *	  9    1  provider: 1 sev-guest, 2 sim
 *	 10    1  root key: 0 VCEK (sev-guest's ROOT_KEY_SELECT)
 *	 11    1  VMPL the key was derived for
 *	 12    8  guest field select (little-endian)
 *	 20   24  nonce
 *	 44    n  ciphertext of the n key bytes
 *	 44+n 16  Poly1305 tag
 *
 * The header says how the key was derived, so an agent that derives
 * another way can name the difference instead of failing blind.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"

#define KEYFILE_MAGIC		"CUBESEAL"
#define KEYFILE_MAGIC_LEN	8
#define KEYFILE_VERSION		1
#define KEYFILE_OFF_VERSION	8
#define KEYFILE_OFF_PROVIDER	9
#define KEYFILE_OFF_ROOT	10
#define KEYFILE_OFF_VMPL	11
#define KEYFILE_OFF_FIELDS	12
#define KEYFILE_OFF_NONCE	20
#define KEYFILE_NAME_MAX	64	/* of the file name in the AD */

_Static_assert(KEYFILE_OFF_NONCE + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
    == KEYFILE_HEADER_BYTES, "header layout");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == KEYFILE_TAG_BYTES,
    "tag size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES ==
    KEYFILE_KEY_BYTES, "key size");

static const char *const keyfile_providers[] = {
	[KEYFILE_SEV_GUEST] =	"sev-guest",
	[KEYFILE_SIM] =		"sim",
};

const char *
keyfile_provider_name(int provider)
{
	if (provider <= 0 || (size_t)provider >= sizeof(keyfile_providers) /
	    sizeof(keyfile_providers[0]) || keyfile_providers[provider] == NULL)
		return "unknown";
	return keyfile_providers[provider];
}

size_t
keyfile_sealed_size(size_t plain_len)
{
	return KEYFILE_HEADER_BYTES + plain_len + KEYFILE_TAG_BYTES;
}

int
keyfile_is_sealed(const unsigned char *buf, size_t len)
{
	return len >= KEYFILE_MAGIC_LEN &&
	    memcmp(buf, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN) == 0;
}

int
keyfile_header_parse(const unsigned char *buf, size_t len,
    struct keyfile_header *h, char *err, size_t errlen)
{
	const unsigned char	*p = buf + KEYFILE_OFF_FIELDS;
	int			 i;

	memset(h, 0, sizeof(*h));
	if (!keyfile_is_sealed(buf, len)) {
		snprintf(err, errlen, "not a sealed key file (no %s magic)",
		    KEYFILE_MAGIC);
		return -1;
	}
	if (len < KEYFILE_HEADER_BYTES + KEYFILE_TAG_BYTES) {
		snprintf(err, errlen, "a sealed key file cut short (%zu bytes)",
		    len);
		return -1;
	}
	if (buf[KEYFILE_OFF_VERSION] != KEYFILE_VERSION) {
		snprintf(err, errlen, "a sealed key file of version %u (this"
		    " agent reads version %d)", buf[KEYFILE_OFF_VERSION],
		    KEYFILE_VERSION);
		return -1;
	}
	h->provider = buf[KEYFILE_OFF_PROVIDER];
	if (strcmp(keyfile_provider_name(h->provider), "unknown") == 0) {
		snprintf(err, errlen, "a sealed key file of unknown provider %d",
		    h->provider);
		return -1;
	}
	h->root = buf[KEYFILE_OFF_ROOT];
	h->vmpl = buf[KEYFILE_OFF_VMPL];
	for (i = 7; i >= 0; i--)
		h->field_select = h->field_select << 8 | p[i];
	h->plain_len = len - KEYFILE_HEADER_BYTES - KEYFILE_TAG_BYTES;
	return 0;
}

/* The header for key, with a fresh nonce. */
static void
keyfile_header(const struct keyfile_key *key, unsigned char *h)
{
	int	i;

	memcpy(h, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN);
	h[KEYFILE_OFF_VERSION] = KEYFILE_VERSION;
	h[KEYFILE_OFF_PROVIDER] = (unsigned char)key->provider;
	h[KEYFILE_OFF_ROOT] = key->root;
	h[KEYFILE_OFF_VMPL] = key->vmpl;
	for (i = 0; i < 8; i++)
		h[KEYFILE_OFF_FIELDS + i] =
		    (unsigned char)(key->field_select >> (8 * i));
	randombytes_buf(h + KEYFILE_OFF_NONCE,
	    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
}

/* Associated data: the header, then the file's name. */
static size_t
keyfile_ad(const unsigned char *header, const char *name, unsigned char *ad)
{
	size_t	n = strnlen(name, KEYFILE_NAME_MAX);

	memcpy(ad, header, KEYFILE_HEADER_BYTES);
	memcpy(ad + KEYFILE_HEADER_BYTES, name, n);
	return KEYFILE_HEADER_BYTES + n;
}

void
keyfile_seal(const struct keyfile_key *key, const char *name,
    const unsigned char *plain, size_t len, unsigned char *out)
{
	unsigned char		ad[KEYFILE_HEADER_BYTES + KEYFILE_NAME_MAX];
	unsigned long long	clen;
	size_t			adlen;

	keyfile_header(key, out);
	adlen = keyfile_ad(out, name, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + KEYFILE_HEADER_BYTES,
	    &clen, plain, len, ad, adlen, NULL, out + KEYFILE_OFF_NONCE,
	    key->key);
}

enum keyfile_status
keyfile_open(const struct keyfile_key *key, const char *name,
    const unsigned char *in, size_t inlen, unsigned char *plain,
    size_t plain_len, char *err, size_t errlen)
{
	struct keyfile_header	 h;
	unsigned char		 ad[KEYFILE_HEADER_BYTES + KEYFILE_NAME_MAX];
	unsigned long long	 mlen;
	size_t			 adlen;

	if (keyfile_header_parse(in, inlen, &h, err, errlen) != 0)
		return KEYFILE_DAMAGED;
	if (h.plain_len != plain_len) {
		snprintf(err, errlen, "a sealed key file of %zu bytes, expected"
		    " %zu", inlen, keyfile_sealed_size(plain_len));
		return KEYFILE_DAMAGED;
	}
	if (h.provider != key->provider || h.root != key->root ||
	    h.vmpl != key->vmpl || h.field_select != key->field_select) {
		snprintf(err, errlen, "sealed with a key %s derived another"
		    " way (root %u, VMPL %u, guest field select 0x%llx) than"
		    " this agent's %s (root %u, VMPL %u, guest field select"
		    " 0x%llx)", keyfile_provider_name(h.provider), h.root,
		    h.vmpl, (unsigned long long)h.field_select,
		    keyfile_provider_name(key->provider), key->root, key->vmpl,
		    (unsigned long long)key->field_select);
		return KEYFILE_OTHER_SEAL;
	}
	adlen = keyfile_ad(in, name, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &mlen, NULL,
	    in + KEYFILE_HEADER_BYTES, inlen - KEYFILE_HEADER_BYTES, ad, adlen,
	    in + KEYFILE_OFF_NONCE, key->key) != 0 || mlen != plain_len) {
		sodium_memzero(plain, plain_len);
		snprintf(err, errlen, "does not open with the key %s derives"
		    " here", keyfile_provider_name(key->provider));
		return KEYFILE_WRONG_KEY;
	}
	return KEYFILE_OK;
}

struct keyfile_key *
keyfile_key_new(void)
{
	struct keyfile_key	*k;

	if ((k = sodium_malloc(sizeof(*k))) == NULL)
		return NULL;
	memset(k, 0, sizeof(*k));
	return k;
}

/* sodium_free zeroes the block before it unmaps it. */
void
keyfile_key_free(struct keyfile_key *k)
{
	sodium_free(k);
}
