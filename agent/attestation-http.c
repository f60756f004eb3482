/*
 * GET /attestation?nonce=HEX: evidence for clients that verify the agent
 * before they send it prompts. No token: the evidence is public, and only
 * as fresh as the client's nonce. It is made off the worker loop
 * (attestation-queue.c); the reply waits for it.
 */
#include <string.h>

#include "agent.h"

#define ATTESTATION_HTTP_HEADERS	"Cache-Control: no-store\r\n"

/* The nonce parameter's value in the query; -1 when absent or repeated. */
static int
attestation_http_nonce(const struct http_request *r, const char **v,
    size_t *len)
{
	const char	*p = r->query, *end = r->query + r->query_len, *amp;
	int		 found = 0;

	if (p == NULL)
		return -1;
	while (p < end) {
		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		if (amp - p >= 6 && memcmp(p, "nonce=", 6) == 0) {
			if (found++)
				return -1;
			*v = p + 6;
			*len = amp - p - 6;
		}
		p = amp + 1;
	}
	return found ? 0 : -1;
}

/* Back on the worker's loop with the evidence, or why there is none. */
static void
attestation_http_done(void *arg, const char *json, size_t len,
    int unavailable, const char *error)
{
	struct http_request	*r = arg;

	r->on_abort = NULL;
	if (json != NULL)
		http_reply(r, 200, "application/json", json, len,
		    ATTESTATION_HTTP_HEADERS);
	else if (unavailable)
		api_error_reply(r, API_NOT_FOUND, NULL, "%s", error);
	else
		api_error_reply(r, API_UNAVAILABLE, NULL, "attestation failed:"
		    " %s", error);
}

static void
attestation_http_abort(void *job)
{
	attestation_queue_cancel(job);
}

void
attestation_http(struct http_request *r, struct worker *w)
{
	struct attestation_job	*job;
	unsigned char		 nonce[ATTEST_NONCE_MAX];
	const char		*hex;
	char			 err[256];
	size_t			 hexlen, len;

	if (attestation_http_nonce(r, &hex, &hexlen) == -1) {
		api_error_reply(r, API_INVALID_REQUEST, "nonce", "give one"
		    " nonce: GET /attestation?nonce=HEX (%d to %d bytes)",
		    ATTEST_NONCE_MIN, ATTEST_NONCE_MAX);
		return;
	}
	if (attestation_nonce_parse(hex, hexlen, nonce, &len, err,
	    sizeof(err)) == -1) {
		api_error_reply(r, API_INVALID_REQUEST, "nonce", "%s", err);
		return;
	}
	if ((job = attestation_queue_submit(w->wake, nonce, len,
	    attestation_http_done, r)) == NULL) {
		api_error_reply(r, API_UNAVAILABLE, NULL, "too many attestation"
		    " requests at once; try again");
		return;
	}
	r->on_abort = attestation_http_abort;
	r->cb_arg = job;
}
