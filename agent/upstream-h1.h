/*
 * Between upstream.c, which every caller sees, and upstream-h1.c, the
 * agent's own HTTP/1.1 client for backends it reaches by address over
 * plain HTTP. A transfer of either starts with its kind, so upstream.c can
 * tell them apart behind the one opaque struct upstream.
 */
#ifndef CUBE_UPSTREAM_H1_H
#define CUBE_UPSTREAM_H1_H

#include "agent.h"

#define UPSTREAM_KIND_CURL	1
#define UPSTREAM_KIND_H1	2

/* The kind a transfer starts with (its first member is an int). */
static inline int
upstream_kind(const struct upstream *u)
{
	return *(const int *)(const void *)u;
}

struct h1_pool;
struct event_base;

/* upstream.c makes one when the own client is on (see agent.h). */
struct h1_pool	*h1_pool_new(struct event_base *, const struct agent_config *);
void		 h1_pool_free(struct h1_pool *);
/*
 * As upstream_start, for a url this client takes: http:// to an IP
 * address (no name to resolve), no pin. NULL when it is not one of those:
 * then libcurl takes it. url, auth and body must outlive the transfer.
 */
struct upstream	*h1_start(struct h1_pool *, const char *url,
		    struct curl_slist *auth, const char *body, size_t len,
		    const struct upstream_cb *, void *arg,
		    const struct upstream_trace *);
void		 h1_pause(struct upstream *);
void		 h1_resume(struct upstream *);
void		 h1_cancel(struct upstream *);

/*
 * libevent's common timeout for ms on base, kept in the slot given (a
 * reload may change ms); NULL when libevent has no room for another.
 */
const struct timeval *upstream_common_timeout(struct event_base *, int ms,
		    int *slot_ms, const struct timeval **slot_tv);

#endif
