/*
 * CORS for browser clients, per domain: the preflight (OPTIONS) of the
 * inference routes and the Access-Control-* fields of the real requests.
 * Runs on the worker loops, from the registry snapshot only; the admin
 * side uses cors_origin_valid() on what an operator sets.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent.h"

#define CORS_MAX_AGE	"600"	/* seconds a browser may cache a preflight */

/*
 * Request headers a preflight may ask for, as exact names or, ending in
 * '*', prefixes: what the OpenAI, Anthropic and Ollama SDKs, the Vercel AI
 * SDK and LangChain send from a browser.
 */
static const char *const cors_headers[] = {
	"accept",
	"authorization",
	"cache-control",
	"content-type",
	"idempotency-key",
	"user-agent",
	"x-api-key",
	"x-request-id",
	"anthropic-*",
	"openai-*",
	"x-stainless-*",
};

/*
 * An origin as browsers serialize it: "http" or "https", "://", a host of
 * lower-case letters, digits, '.', '-' (or a bracketed IPv6 address) and
 * an optional port; no path, no trailing slash. Or "*".
 */
int
cors_origin_valid(const char *s, size_t len)
{
	size_t	i, host;

	if (len == 1 && s[0] == '*')
		return 1;
	if (len > CORS_ORIGIN_MAX)
		return 0;
	if (len > 7 && memcmp(s, "http://", 7) == 0)
		host = 7;
	else if (len > 8 && memcmp(s, "https://", 8) == 0)
		host = 8;
	else
		return 0;
	if (s[host] == '[') {
		for (i = host + 1; i < len && s[i] != ']'; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' &&
			    s[i] != '.')
				return 0;
		if (i == len || i == host + 1)
			return 0;
		i++;
	} else {
		for (i = host; i < len && ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '-'); i++)
			;
		if (i == host || s[host] == '.' || s[host] == '-' ||
		    s[i - 1] == '.')
			return 0;
	}
	if (i == len)
		return 1;
	if (s[i++] != ':' || i == len || len - i > 5)
		return 0;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Whether list (space-separated origins, or NULL) allows origin exactly. */
int
cors_list_allows(const char *list, const char *origin, size_t len)
{
	const char	*p, *end;

	if (list == NULL || len == 0)
		return 0;
	for (p = list; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		if (end - p == 1 && *p == '*')
			return 1;
		if ((size_t)(end - p) == len && memcmp(p, origin, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether origin may read replies on route: the domain its path names
 * must allow it; a token-routed path names none, so any domain's list
 * will do (a preflight carries no token), and once the token is known
 * (token_domain) its domain must allow it as well.
 */
static int
cors_allowed(const struct registry *reg, const struct route *route,
    const struct reg_domain *token_domain, const char *origin, size_t len)
{
	const struct reg_domain	*d;
	size_t			 i;

	/* Echoed as it came (a "*" list allows any): visible ASCII only. */
	if (len == 0 || len > CORS_ORIGIN_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)origin[i] <= ' ' ||
		    (unsigned char)origin[i] >= 0x7f)
			return 0;
	if (route->domain != NULL) {
		d = registry_find_domain(reg, route->domain, route->domain_len);
		if (d == NULL || !cors_list_allows(d->cors_origins, origin,
		    len))
			return 0;
	} else if (token_domain == NULL) {
		for (i = 0; i < reg->ndomains; i++)
			if (cors_list_allows(reg->domains[i].cors_origins,
			    origin, len))
				break;
		if (i == reg->ndomains)
			return 0;
	}
	return token_domain == NULL ||
	    cors_list_allows(token_domain->cors_origins, origin, len);
}

/* Whether name (len bytes, any case) is one a preflight may ask for. */
static int
cors_header_allowed(const char *name, size_t len)
{
	size_t	i, n;

	for (i = 0; i < sizeof(cors_headers) / sizeof(cors_headers[0]); i++) {
		n = strlen(cors_headers[i]);
		if (cors_headers[i][n - 1] == '*') {
			if (len >= n && strncasecmp(name, cors_headers[i],
			    n - 1) == 0)
				return 1;
		} else if (len == n && strncasecmp(name, cors_headers[i], n) ==
		    0)
			return 1;
	}
	return 0;
}

/*
 * Of Access-Control-Request-Headers (a comma-separated list), the names
 * that are allowed, lower-cased, ", "-separated, into out: at most
 * outlen - 1 bytes and a NUL (names that do not fit are left out).
 * Returns the length written.
 */
size_t
cors_allow_headers(const char *req, size_t len, char *out, size_t outlen)
{
	size_t	i = 0, start, end, n = 0, k;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	while (i < len) {
		while (i < len && (req[i] == ' ' || req[i] == '\t' ||
		    req[i] == ','))
			i++;
		start = i;
		while (i < len && req[i] != ',')
			i++;
		end = i;
		while (end > start && (req[end - 1] == ' ' ||
		    req[end - 1] == '\t'))
			end--;
		if (end == start || !cors_header_allowed(req + start,
		    end - start))
			continue;
		if (n + (n > 0 ? 2 : 0) + (end - start) + 1 > outlen)
			continue;
		if (n > 0) {
			memcpy(out + n, ", ", 2);
			n += 2;
		}
		for (k = start; k < end; k++)
			out[n++] = tolower((unsigned char)req[k]);
		out[n] = '\0';
	}
	return n;
}

int
cors_preflight(struct http_request *r, const struct route *route,
    struct registry_local *regs)
{
	struct registry		*reg;
	struct http_fields	 f;
	const char		*origin, *asked;
	char			 headers[HTTP_FIELD_VALUE_MAX + 1];
	size_t			 len, asked_len;
	int			 allowed = 0;

	if (route->kind == ROUTE_HEALTHZ || route->kind == ROUTE_ATTESTATION)
		return -1;
	http_fields_init(&f);
	http_fields_addf(&f, "Allow", "%s, OPTIONS", route_allow(route));
	origin = http_header_get(r, "Origin", &len);
	if (origin != NULL && (reg = registry_local_acquire(regs)) != NULL) {
		allowed = cors_allowed(reg, route, NULL, origin, len);
		registry_local_release(regs, reg);
	}
	if (allowed) {
		r->cors_origin = origin;
		r->cors_origin_len = len;
		http_fields_addf(&f, "Access-Control-Allow-Methods",
		    "%s, OPTIONS", route_allow(route));
		asked = http_header_get(r, "Access-Control-Request-Headers",
		    &asked_len);
		if (asked != NULL && cors_allow_headers(asked, asked_len,
		    headers, sizeof(headers)) > 0)
			http_fields_addf(&f, "Access-Control-Allow-Headers",
			    "%s", headers);
		http_fields_addf(&f, "Access-Control-Max-Age", "%s",
		    CORS_MAX_AGE);
	}
	http_reply_fields(r, 204, "text/plain", NULL, 0, &f);
	return 0;
}

void
cors_request(struct http_request *r, const struct registry *reg,
    const struct route *route, const struct reg_domain *token_domain)
{
	const char	*origin;
	size_t		 len;

	origin = http_header_get(r, "Origin", &len);
	if (origin != NULL && cors_allowed(reg, route, token_domain, origin,
	    len)) {
		r->cors_origin = origin;
		r->cors_origin_len = len;
	} else {
		r->cors_origin = NULL;
		r->cors_origin_len = 0;
	}
}
