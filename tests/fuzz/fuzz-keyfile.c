/*
 * libFuzzer target for agent/keyfile.c, the sealed key file parser the
 * agent runs on its data directory at start: whatever the bytes, the
 * header parser and keyfile_open read only them and never open anything
 * but a file sealed with the key (a fixed one here, which the seeds in
 * corpus/keyfile are sealed with); what opens re-seals and opens to the
 * same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The seeds' key: 32 bytes of 0x42, sev-guest's derivation. */
static struct keyfile_key *
fuzz_key(void)
{
	static struct keyfile_key	*k;

	if (k == NULL) {
		if (sodium_init() == -1 || (k = keyfile_key_new()) == NULL)
			abort();
		memset(k->key, 0x42, sizeof(k->key));
		k->provider = KEYFILE_SEV_GUEST;
		k->field_select = TEE_SNP_SEAL_FIELDS;
	}
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const	 names[] = { "seal.key", "token.key" };
	static const size_t		 sizes[] = { 64, 32 };
	struct keyfile_key		*k = fuzz_key();
	struct keyfile_header		 h;
	unsigned char			*copy, plain[64], again[64];
	unsigned char			 resealed[KEYFILE_HEADER_BYTES + 64 +
					    KEYFILE_TAG_BYTES];
	char				 err[512];
	size_t				 i;
	enum keyfile_status		 st;

	/* An exact-size copy, so ASan sees any read past the input. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (keyfile_header_parse(copy, size, &h, err, sizeof(err)) == 0 &&
	    (h.plain_len != size - KEYFILE_HEADER_BYTES - KEYFILE_TAG_BYTES ||
	    !keyfile_is_sealed(copy, size)))
		abort();
	for (i = 0; i < 2; i++) {
		st = keyfile_open(k, names[i], copy, size, plain, sizes[i],
		    err, sizeof(err));
		if (st != KEYFILE_OK)
			continue;
		if (size != keyfile_sealed_size(sizes[i]))
			abort();
		keyfile_seal(k, names[i], plain, sizes[i], resealed);
		if (keyfile_open(k, names[i], resealed, size, again, sizes[i],
		    err, sizeof(err)) != KEYFILE_OK ||
		    memcmp(plain, again, sizes[i]) != 0)
			abort();
		/* Sealed for one name, it opens as no other. */
		if (keyfile_open(k, names[1 - i], copy, size, again,
		    sizes[1 - i], err, sizeof(err)) == KEYFILE_OK)
			abort();
	}
	free(copy);
	return 0;
}
