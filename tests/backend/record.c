/* The fake backend's request log: the last FAKE_RECORDS requests, for tests. */
#include <sys/queue.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "fake-llm.h"
#include "xmalloc.h"

struct record {
	uint64_t	 seq;
	const char	*method;	/* static string */
	char		*path;
	char		*model;		/* NULL: the body named none */
	char		*authorization;	/* NULL: no such header */
	char		*headers;	/* "name\0value\0..." names lower-case */
	size_t		 headerslen;
	char		*body;		/* NUL-terminated copy */
	int		 peer_port;	/* the client's: one per connection */
	int		 status;	/* 0 until a status line went out */
	int		 hung_up;
	int		 completed;
};

/* A ring indexed by seq; seq keeps counting across /_reset. */
static struct record	*records[FAKE_RECORDS];
static uint64_t		 record_next = 1;	/* seq of the next request */
static uint64_t		 record_first = 1;	/* oldest seq still kept */

static void
record_free(struct record *r)
{
	if (r == NULL)
		return;
	free(r->path);
	free(r->model);
	free(r->authorization);
	free(r->headers);
	free(r->body);
	free(r);
}

/* The record for seq, or NULL once it fell out of the ring or was reset. */
static struct record *
record_find(uint64_t seq)
{
	struct record	*r;

	if (seq < record_first || seq >= record_next)
		return NULL;
	r = records[seq % FAKE_RECORDS];
	if (r == NULL || r->seq != seq)
		return NULL;
	return r;
}

/* Copy the request headers into one block, names folded to lower case. */
static void
record_copy_headers(struct record *r, struct evkeyvalq *headers)
{
	struct evkeyval	*h;
	size_t		 len = 0, klen, vlen;
	char		*p;

	TAILQ_FOREACH(h, headers, next)
		len += strlen(h->key) + strlen(h->value) + 2;
	if (len == 0)
		return;
	p = r->headers = xmalloc(len);
	r->headerslen = len;
	TAILQ_FOREACH(h, headers, next) {
		klen = strlen(h->key);
		vlen = strlen(h->value);
		for (size_t i = 0; i <= klen; i++)
			p[i] = tolower((unsigned char)h->key[i]);
		p += klen + 1;
		memcpy(p, h->value, vlen + 1);
		p += vlen + 1;
	}
}

/*
 * Log one request and return its seq. model is the body's "model" string
 * or NULL; the body is copied as bytes.
 */
uint64_t
record_add(struct evhttp_request *req, const char *method, const char *path,
    const char *model, const char *body, size_t bodylen)
{
	struct evkeyvalq	*headers = evhttp_request_get_input_headers(req);
	struct record		*r;
	struct evhttp_connection *conn;
	const char		*auth;
	char			*host;
	ev_uint16_t		 port = 0;
	uint64_t		 seq = record_next++;

	r = xcalloc(1, sizeof(*r));
	r->seq = seq;
	r->method = method;
	r->path = xstrdup(path);
	if ((auth = evhttp_find_header(headers, "Authorization")) != NULL)
		r->authorization = xstrdup(auth);
	record_copy_headers(r, headers);
	r->body = xmalloc(bodylen + 1);
	if (bodylen > 0)
		memcpy(r->body, body, bodylen);
	r->body[bodylen] = '\0';
	if ((conn = evhttp_request_get_connection(req)) != NULL) {
		evhttp_connection_get_peer(conn, &host, &port);
		r->peer_port = port;
	}

	if (model != NULL)
		r->model = xstrdup(model);

	record_free(records[seq % FAKE_RECORDS]);
	records[seq % FAKE_RECORDS] = r;
	if (seq - record_first >= FAKE_RECORDS)
		record_first = seq - FAKE_RECORDS + 1;
	return seq;
}

int
record_port_seen(uint64_t seq, int port)
{
	struct record	*r;
	uint64_t	 i;

	for (i = record_first; i < seq; i++)
		if ((r = record_find(i)) != NULL && r->peer_port == port)
			return 1;
	return 0;
}

void
record_status(uint64_t seq, int status)
{
	struct record	*r;

	if ((r = record_find(seq)) != NULL)
		r->status = status;
}

void
record_completed(uint64_t seq)
{
	struct record	*r;

	if ((r = record_find(seq)) != NULL)
		r->completed = 1;
}

void
record_hung_up(uint64_t seq)
{
	struct record	*r;

	if ((r = record_find(seq)) != NULL)
		r->hung_up = 1;
}

static cJSON *
record_json(const struct record *r)
{
	cJSON		*o, *h, *old;
	const char	*p, *end, *name, *value;
	char		*joined;

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)r->seq);
	cJSON_AddStringToObject(o, "method", r->method);
	cJSON_AddStringToObject(o, "path", r->path);
	cJSON_AddNumberToObject(o, "peer_port", r->peer_port);
	if (r->model != NULL)
		cJSON_AddStringToObject(o, "model", r->model);
	else
		cJSON_AddNullToObject(o, "model");
	if (r->authorization != NULL)
		cJSON_AddStringToObject(o, "authorization", r->authorization);
	else
		cJSON_AddNullToObject(o, "authorization");

	/* Repeated headers are joined with ", " as HTTP allows. */
	h = cJSON_AddObjectToObject(o, "headers");
	for (p = r->headers, end = p + r->headerslen; p != NULL && p < end;) {
		name = p;
		value = name + strlen(name) + 1;
		p = value + strlen(value) + 1;
		old = cJSON_GetObjectItemCaseSensitive(h, name);
		if (cJSON_IsString(old)) {
			xasprintf(&joined, "%s, %s", old->valuestring, value);
			cJSON_ReplaceItemInObjectCaseSensitive(h, name,
			    cJSON_CreateString(joined));
			free(joined);
		} else
			cJSON_AddStringToObject(h, name, value);
	}

	cJSON_AddStringToObject(o, "body", r->body);
	cJSON_AddNumberToObject(o, "status", r->status);
	cJSON_AddBoolToObject(o, "client_hung_up", r->hung_up);
	cJSON_AddBoolToObject(o, "completed", r->completed);
	return o;
}

/* The log as a JSON array, oldest first. Caller owns the result. */
cJSON *
record_list(void)
{
	cJSON		*a = cJSON_CreateArray();
	struct record	*r;
	uint64_t	 seq;

	for (seq = record_first; seq < record_next; seq++) {
		if ((r = record_find(seq)) != NULL)
			cJSON_AddItemToArray(a, record_json(r));
	}
	return a;
}

/* Forget every record; seq numbers keep counting. */
void
record_reset(void)
{
	size_t	i;

	for (i = 0; i < FAKE_RECORDS; i++) {
		record_free(records[i]);
		records[i] = NULL;
	}
	record_first = record_next;
}
