/* Which inference route a request path names, from one table. */
#include <string.h>

#include "agent.h"

/* The OpenAI routes under each prefix: /v1, /api/client/v1, /proxy/D/v1. */
static const struct {
	const char		*suffix;
	const char		*method;
	enum route_kind		 kind;
} routes[] = {
	{ "models",		"GET",	ROUTE_MODELS },
	{ "chat/completions",	"POST",	ROUTE_CHAT },
	{ "completions",	"POST",	ROUTE_COMPLETIONS },
	{ "embeddings",		"POST",	ROUTE_EMBEDDINGS },
};

/* Ollama's native routes, under /proxy/D/api/ only. */
static const struct {
	const char		*suffix;
	const char		*method;
	enum route_kind		 kind;
} routes_ollama[] = {
	{ "tags",		"GET",	ROUTE_MODELS },
	{ "chat",		"POST",	ROUTE_CHAT },
	{ "generate",		"POST",	ROUTE_COMPLETIONS },
	{ "embed",		"POST",	ROUTE_EMBEDDINGS },
};

/* Routes outside those prefixes, matched whole. */
static const struct {
	const char		*path;
	const char		*method;
	enum route_kind		 kind;
} route_paths[] = {
	{ "/attestation",	"GET",	ROUTE_ATTESTATION },
	{ "/healthz",		"GET",	ROUTE_HEALTHZ },
};

int
route_match(const char *path, size_t len, struct route *out)
{
	const char	*p = path, *end = path + len, *slash;
	size_t		 i, n;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(route_paths) / sizeof(route_paths[0]); i++) {
		if (strlen(route_paths[i].path) == len &&
		    memcmp(path, route_paths[i].path, len) == 0) {
			out->kind = route_paths[i].kind;
			out->method = route_paths[i].method;
			return 0;
		}
	}
	if (end - p > 7 && memcmp(p, "/proxy/", 7) == 0) {
		p += 7;
		if ((slash = memchr(p, '/', end - p)) == NULL || slash == p)
			return -1;
		out->domain = p;
		out->domain_len = slash - p;
		p = slash;
		if (end - p > 5 && memcmp(p, "/api/", 5) == 0) {
			p += 5;
			n = end - p;
			for (i = 0; i < sizeof(routes_ollama) /
			    sizeof(routes_ollama[0]); i++) {
				if (strlen(routes_ollama[i].suffix) == n &&
				    memcmp(p, routes_ollama[i].suffix, n) == 0) {
					out->kind = routes_ollama[i].kind;
					out->method = routes_ollama[i].method;
					out->ollama = 1;
					return 0;
				}
			}
			return -1;
		}
	} else if (end - p > 15 && memcmp(p, "/api/client/v1/", 15) == 0)
		p += 11;
	if (end - p < 4 || memcmp(p, "/v1/", 4) != 0)
		return -1;
	p += 4;
	n = end - p;
	/* models/KEY: one model, as the SDKs' models.retrieve() asks. */
	if (n > 7 && memcmp(p, "models/", 7) == 0 &&
	    memchr(p + 7, '/', n - 7) == NULL) {
		out->kind = ROUTE_MODEL;
		out->method = "GET";
		out->model = p + 7;
		out->model_len = n - 7;
		return 0;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strlen(routes[i].suffix) == n &&
		    memcmp(p, routes[i].suffix, n) == 0) {
			out->kind = routes[i].kind;
			out->method = routes[i].method;
			return 0;
		}
	}
	return -1;
}

int
route_allows(const struct route *r, const char *method, size_t len)
{
	size_t	n = strlen(r->method);

	if (len == n && memcmp(method, r->method, n) == 0)
		return 1;
	/* RFC 9110 9.3.2: HEAD is GET without the body. */
	return strcmp(r->method, "GET") == 0 && len == 4 &&
	    memcmp(method, "HEAD", 4) == 0;
}

const char *
route_allow(const struct route *r)
{
	return strcmp(r->method, "GET") == 0 ? "GET, HEAD" : r->method;
}
