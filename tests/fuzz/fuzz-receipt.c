/*
 * libFuzzer target for shared/receipt.c: whatever the bytes, parsing reads
 * only them, and what parses formats back to the same receipt (the string
 * itself, or a canonical one that parses to equal fields); finding a
 * receipt in text, and hashing what of a body a receipt covers, stay
 * inside the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receipt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char	 key[RECEIPT_KEY_BYTES];
	struct receipt			 rc, again;
	const char			*text = (const char *)data, *s;
	char				*copy, err[256], out[RECEIPT_MAX + 1];
	unsigned char			 hash[RECEIPT_HASH_BYTES];
	size_t				 n, slen;

	/* An exact-size copy, so ASan sees any read past the input. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (receipt_parse(&rc, copy, size, err, sizeof(err)) == 0) {
		if ((n = receipt_format(&rc, out, sizeof(out))) == 0 ||
		    n > RECEIPT_MAX)
			abort();
		if (receipt_parse(&again, out, n, err, sizeof(err)) != 0 ||
		    memcmp(&rc, &again, sizeof(rc)) != 0)
			abort();
		/* A zero key verifies nothing, and never crashes. */
		if (receipt_verify(&rc, key, data, size, data, size) ==
		    RECEIPT_OK)
			abort();
	}
	if (receipt_find(copy, size, &s, &slen) == 0 &&
	    (s < copy || slen == 0 || s + slen > copy + size))
		abort();
	receipt_response_sha256(copy, size, hash);
	(void)text;
	free(copy);
	return 0;
}
