/*
 * The model page's ready-to-paste curl: one request to a model of a
 * domain, at the inference address the agent's status reports, with
 * $CUBE_TOKEN standing for the token. Every part the agent or the
 * operator named is quoted for the shell or percent-encoded, so nothing
 * in it runs as a command. Pure: held alone by the unit tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cube-tui.h"

/* A growing string, cut off (and marked so) past its size. */
struct model_curl_buf {
	char	*buf;
	size_t	 size;
	size_t	 len;
	int	 over;
};

static void
model_curl_add(struct model_curl_buf *b, const char *s, size_t n)
{
	if (b->over || b->len + n + 1 > b->size) {
		b->over = 1;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void
model_curl_str(struct model_curl_buf *b, const char *s)
{
	model_curl_add(b, s, strlen(s));
}

/* s in single quotes, each ' as '\'' (nothing is special inside). */
static void
model_curl_quoted(struct model_curl_buf *b, const char *s)
{
	const char	*q;

	model_curl_str(b, "'");
	while ((q = strchr(s, '\'')) != NULL) {
		model_curl_add(b, s, (size_t)(q - s));
		model_curl_str(b, "'\\''");
		s = q + 1;
	}
	model_curl_str(b, s);
	model_curl_str(b, "'");
}

/* s percent-encoded but for RFC 3986's unreserved characters. */
static void
model_curl_path(struct model_curl_buf *b, const char *s)
{
	char	hex[4];

	for (; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL)
			model_curl_add(b, s, 1);
		else {
			snprintf(hex, sizeof(hex), "%%%02X", (unsigned char)*s);
			model_curl_str(b, hex);
		}
	}
}

/* Printable ASCII, no blank or quote: what may stand in a URL's host. */
static int
model_curl_plain(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || strchr("'\"\\/?#@", s[i]))
			return 0;
	return n > 0;
}

/*
 * The authority to reach: the listen address, or for a wildcard one
 * (0.0.0.0, [::]) the host's own name from [user@]host[:port] ("local":
 * 127.0.0.1). Fills buf; -1 when the address is not ADDR:PORT.
 */
static int
model_curl_authority(const struct model_curl *in, char *buf, size_t size)
{
	const char	*colon, *name, *at, *end;
	size_t		 alen, nlen;
	long		 port;
	char		*pend;

	if (in->listen == NULL || (colon = strrchr(in->listen, ':')) == NULL)
		return -1;
	port = strtol(colon + 1, &pend, 10);
	if (colon[1] == '\0' || *pend != '\0' || port < 1 || port > 65535)
		return -1;
	alen = (size_t)(colon - in->listen);
	if (!model_curl_plain(in->listen, alen))
		return -1;
	if ((alen == 7 && strncmp(in->listen, "0.0.0.0", 7) == 0) ||
	    (alen == 4 && strncmp(in->listen, "[::]", 4) == 0) ||
	    (alen == 1 && in->listen[0] == '*')) {
		name = in->host != NULL ? in->host : "local";
		if ((at = strchr(name, '@')) != NULL)
			name = at + 1;
		if (*name == '[')
			end = strchr(name, ']') != NULL ?
			    strchr(name, ']') + 1 : name + strlen(name);
		else
			end = name + strcspn(name, ":");
		nlen = (size_t)(end - name);
		if (strcmp(name, "local") == 0 || !model_curl_plain(name,
		    nlen)) {
			name = "127.0.0.1";
			nlen = strlen(name);
		}
		if (snprintf(buf, size, "%.*s:%ld", (int)nlen, name, port) >=
		    (int)size)
			return -1;
		return 0;
	}
	if (snprintf(buf, size, "%.*s:%ld", (int)alen, in->listen, port) >=
	    (int)size)
		return -1;
	return 0;
}

/*
 * The curl line into buf (size bytes): 0, or -1 when the address is not
 * one (status without "listen") or the line does not fit.
 */
int
model_curl_line(const struct model_curl *in, char *buf, size_t size)
{
	struct model_curl_buf	 b = { buf, size, 0, 0 };
	unsigned char		 spki[32];
	char			 authority[300], pin[64], *body;
	size_t			 binlen;
	cJSON			*req, *msgs, *msg;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	if (in->domain == NULL || in->key == NULL ||
	    model_curl_authority(in, authority, sizeof(authority)) == -1)
		return -1;
	model_curl_str(&b, "curl -sS ");
	model_curl_str(&b, "'");
	model_curl_str(&b, in->tls ? "https://" : "http://");
	model_curl_str(&b, authority);
	model_curl_str(&b, "/proxy/");
	model_curl_path(&b, in->domain);
	model_curl_str(&b, in->embedding ? "/v1/embeddings" :
	    "/v1/chat/completions");
	model_curl_str(&b, "'");
	if (in->tls && in->spki != NULL && strlen(in->spki) == 64 &&
	    sodium_hex2bin(spki, sizeof(spki), in->spki, 64, NULL, &binlen,
	    NULL) == 0 && binlen == sizeof(spki)) {
		/* The key the attested status names, whoever signed it. */
		if (in->insecure)
			model_curl_str(&b, " -k");
		sodium_bin2base64(pin, sizeof(pin), spki, sizeof(spki),
		    sodium_base64_VARIANT_ORIGINAL);
		model_curl_str(&b, " --pinnedpubkey 'sha256//");
		model_curl_str(&b, pin);
		model_curl_str(&b, "'");
	}
	model_curl_str(&b, " -H \"Authorization: Bearer $CUBE_TOKEN\"");
	model_curl_str(&b, " -H 'Content-Type: application/json' -d ");
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "model", in->key);
	if (in->embedding)
		cJSON_AddStringToObject(req, "input", "Hello");
	else {
		msgs = cJSON_AddArrayToObject(req, "messages");
		msg = cJSON_CreateObject();
		cJSON_AddStringToObject(msg, "role", "user");
		cJSON_AddStringToObject(msg, "content", "Hello");
		cJSON_AddItemToArray(msgs, msg);
	}
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (body == NULL)
		return -1;
	model_curl_quoted(&b, body);
	cJSON_free(body);
	if (b.over) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}
