/*
 * A provider's API key, opened from its sealed blob straight into guarded
 * memory as the curl header the request path sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define CREDENTIAL_HEADER	"Authorization: Bearer "
#define CREDENTIAL_MAX		4096

int
credential_valid(const char *key, size_t len)
{
	size_t	i;

	if (len == 0 || len > CREDENTIAL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (key[i] <= ' ' || key[i] > '~')
			return 0;
	return 1;
}

/*
 * The node itself is ordinary heap; only its data is sodium_malloc'd, which
 * is why curl_slist_append (it copies with strdup) is never used here.
 */
struct curl_slist *
credential_header_new(const struct vault *vault, const unsigned char *sealed,
    size_t len, char *err, size_t errlen)
{
	struct curl_slist	*node;
	char			*key, *line;
	size_t			 keylen, size;

	if (vault_unseal(vault, sealed, len, &key, &keylen) != 0) {
		snprintf(err, errlen, "the credential does not open with this"
		    " agent's key: sealed on another host; " RESEAL_ADVICE);
		return NULL;
	}
	if (!credential_valid(key, keylen)) {
		sodium_free(key);
		snprintf(err, errlen, "the credential is not 1-%d printable"
		    " characters without spaces", CREDENTIAL_MAX);
		return NULL;
	}
	size = sizeof(CREDENTIAL_HEADER) - 1 + keylen + 1;
	if ((line = sodium_malloc(size)) == NULL)
		fatal("%s: sodium_malloc", __func__);
	memcpy(line, CREDENTIAL_HEADER, sizeof(CREDENTIAL_HEADER) - 1);
	memcpy(line + sizeof(CREDENTIAL_HEADER) - 1, key, keylen);
	line[size - 1] = '\0';
	sodium_free(key);
	sodium_mprotect_readonly(line);

	node = xcalloc(1, sizeof(*node));
	node->data = line;
	node->next = NULL;
	return node;
}

/* sodium_free zeroes the key before it unmaps it. */
void
credential_header_free(struct curl_slist *node)
{
	if (node == NULL)
		return;
	sodium_free(node->data);
	free(node);
}
