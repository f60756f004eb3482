/*
 * What every blocking libcurl GET off the request path shares (provider
 * health checks and model lists, JWKS documents, provider evidence): a
 * body held in memory up to a bound, and a transfer that stops as soon as
 * the thread that runs it is told to (shutdown).
 */
#include <string.h>

#include "agent.h"
#include "xmalloc.h"

/* CURLOPT_WRITEFUNCTION: append to a fetch_body, refuse past its max. */
size_t
fetch_body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch_body	*b = arg;
	size_t			 n = size * nmemb;

	if (n > b->max - b->len) {
		b->overflow = 1;
		return 0;
	}
	b->data = xreallocarray(b->data, b->len + n + 1, 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* CURLOPT_XFERINFOFUNCTION: abort once the int at arg is set. */
int
fetch_cancel_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return __atomic_load_n((const int *)arg, __ATOMIC_RELAXED) != 0;
}
