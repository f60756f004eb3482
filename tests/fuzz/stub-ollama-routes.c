/*
 * For fuzz targets that link agent/ollama.c for its scanner: the parts of
 * it that route and reply (registry lookups, http_reply) are never
 * reached from what they fuzz, and abort if they are.
 */
#include <stdlib.h>

#include "agent.h"

void
http_reply(struct http_request *r, int status, const char *content_type,
    const void *body, size_t len, const char *extra_headers)
{
	(void)r;
	(void)status;
	(void)content_type;
	(void)body;
	(void)len;
	(void)extra_headers;
	abort();
}

int
registry_token_allows(const struct reg_token *t, const struct reg_model *m)
{
	(void)t;
	(void)m;
	abort();
}

const struct reg_model *
registry_find_model(const struct reg_domain *d, const char *key, size_t len)
{
	(void)d;
	(void)key;
	(void)len;
	abort();
}
