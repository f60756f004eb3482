/* Which inference route a request path names, from one table. */
#include <string.h>

#include "agent.h"

/* The OpenAI-style routes under each prefix: /v1, /api/client/v1, /proxy/D/v1. */
static const struct {
	const char		*suffix;
	const char		*method;
	enum route_kind		 kind;
	enum dialect_kind	 dialect;
} routes[] = {
	{ "models",		"GET",	ROUTE_MODELS,	DIALECT_NONE },
	{ "chat/completions",	"POST",	ROUTE_CHAT,	DIALECT_NONE },
	{ "completions",	"POST",	ROUTE_COMPLETIONS, DIALECT_NONE },
	{ "embeddings",		"POST",	ROUTE_EMBEDDINGS, DIALECT_NONE },
	{ "responses",		"POST",	ROUTE_RESPONSES, DIALECT_RESPONSES },
	{ "messages",		"POST",	ROUTE_MESSAGES,	DIALECT_ANTHROPIC },
	{ "messages/count_tokens", "POST", ROUTE_COUNT_TOKENS,
	    DIALECT_ANTHROPIC },
	{ "fim/completions",	"POST",	ROUTE_FIM,	DIALECT_NONE },
	{ "rerank",		"POST",	ROUTE_RERANK,	DIALECT_NONE },
};

/* Ollama's native routes, under /proxy/D/api/ and at the root /api/. */
static const struct {
	const char		*suffix;
	const char		*method;
	enum route_kind		 kind;
} routes_ollama[] = {
	{ "tags",		"GET",	ROUTE_MODELS },
	{ "chat",		"POST",	ROUTE_CHAT },
	{ "generate",		"POST",	ROUTE_COMPLETIONS },
	{ "embed",		"POST",	ROUTE_EMBEDDINGS },
	{ "embeddings",		"POST",	ROUTE_OLLAMA_EMBEDDINGS },
	{ "show",		"POST",	ROUTE_OLLAMA_SHOW },
	{ "ps",			"GET",	ROUTE_OLLAMA_PS },
	{ "version",		"GET",	ROUTE_OLLAMA_VERSION },
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

static int
route_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * models/KEY: the rest of the path, percent-decoded (SDKs encode the '/'
 * of "org/model" as %2F; some send it bare). -1 for a bad escape, a NUL
 * or a key too long to be one.
 */
static int
route_model_key(const char *p, size_t n, struct route *out)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		int	c = (unsigned char)p[i];

		if (c == '%') {
			if (n - i < 3)
				return -1;
			if ((hi = route_hex(p[i + 1])) == -1 ||
			    (lo = route_hex(p[i + 2])) == -1)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == '\0' || o + 1 >= sizeof(out->model_buf))
			return -1;
		out->model_buf[o++] = (char)c;
	}
	if (o == 0)
		return -1;
	out->model_buf[o] = '\0';
	out->model = out->model_buf;
	out->model_len = o;
	return 0;
}

static int
route_ollama(const char *p, size_t n, struct route *out)
{
	size_t	i;

	for (i = 0; i < sizeof(routes_ollama) / sizeof(routes_ollama[0]);
	    i++) {
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
		if (end - p > 5 && memcmp(p, "/api/", 5) == 0)
			return route_ollama(p + 5, end - p - 5, out);
	} else if (end - p > 15 && memcmp(p, "/api/client/v1/", 15) == 0)
		p += 11;
	else if (end - p > 5 && memcmp(p, "/api/", 5) == 0)
		/* Ollama's at the root: the domain is the token's. */
		return route_ollama(p + 5, end - p - 5, out);
	if (end - p < 4 || memcmp(p, "/v1/", 4) != 0)
		return -1;
	p += 4;
	n = end - p;
	/* models/KEY: one model, as the SDKs' models.retrieve() asks. */
	if (n > 7 && memcmp(p, "models/", 7) == 0) {
		if (route_model_key(p + 7, n - 7, out) == -1)
			return -1;
		out->kind = ROUTE_MODEL;
		out->method = "GET";
		return 0;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strlen(routes[i].suffix) == n &&
		    memcmp(p, routes[i].suffix, n) == 0) {
			out->kind = routes[i].kind;
			out->method = routes[i].method;
			out->dialect = routes[i].dialect;
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
