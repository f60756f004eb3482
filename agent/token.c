/* API token secrets and ids: random, base64url, checked for shape cheaply. */
#include <string.h>

#include <sodium.h>

#include "agent.h"

#define TOKEN_PREFIX_LEN	(sizeof(TOKEN_PREFIX) - 1)

/* "cube_" and 32 random bytes in unpadded base64url: 48 characters. */
void
token_generate(char out[TOKEN_LEN + 1])
{
	unsigned char	raw[TOKEN_SECRET_BYTES];

	_Static_assert(sodium_base64_ENCODED_LEN(TOKEN_SECRET_BYTES,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
	    TOKEN_LEN - TOKEN_PREFIX_LEN + 1, "TOKEN_LEN");

	memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out + TOKEN_PREFIX_LEN, TOKEN_LEN + 1 -
	    TOKEN_PREFIX_LEN, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

int
token_well_formed(const char *token, size_t len)
{
	size_t	i;
	char	c;

	if (token == NULL || len != TOKEN_LEN ||
	    memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return 0;
	for (i = TOKEN_PREFIX_LEN; i < len; i++) {
		c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

void
token_generate_id(char out[TOKEN_ID_LEN + 1])
{
	unsigned char	raw[(TOKEN_ID_LEN - 4) / 2];

	_Static_assert(sizeof(TOKEN_ID_PREFIX) - 1 == 4, "TOKEN_ID_PREFIX");
	memcpy(out, TOKEN_ID_PREFIX, 4);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out + 4, TOKEN_ID_LEN + 1 - 4, raw, sizeof(raw));
}
