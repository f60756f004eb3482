/*
 * Responses kept for previous_response_id, for domains that log content:
 * the conversation of each (chat messages as JSON) in memory only, for
 * RESPONSE_STORE_TTL seconds, at most RESPONSE_STORE_MAX bytes in all, the
 * oldest dropped first, wiped as they go. Shared by the workers under one
 * lock, taken only by Responses requests that store or continue one.
 * A restart forgets them: the client then gets a clear 400 and can send
 * the conversation again.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "xmalloc.h"

#define RESPONSE_STORE_BUCKETS	1024

struct response_entry {
	struct response_entry	*next;		/* in its bucket */
	struct response_entry	*older;		/* in age order */
	struct response_entry	*newer;
	char			 domain_id[40];
	char			*id;
	char			*json;
	size_t			 len;
	time_t			 at;
};

static pthread_mutex_t		 rs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct response_entry	*rs_bucket[RESPONSE_STORE_BUCKETS];
static struct response_entry	*rs_oldest, *rs_newest;
static size_t			 rs_bytes;

static size_t
rs_hash(const char *domain_id, const char *id)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */
	const char	*s;

	for (s = domain_id; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	for (s = id; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % RESPONSE_STORE_BUCKETS;
}

static size_t
rs_cost(const struct response_entry *e)
{
	return e->len + strlen(e->id) + sizeof(*e);
}

/* Unlink e from its bucket and the age list, wipe it and free it. */
static void
rs_drop(struct response_entry *e)
{
	struct response_entry	**pp;

	for (pp = &rs_bucket[rs_hash(e->domain_id, e->id)]; *pp != e;
	    pp = &(*pp)->next)
		;
	*pp = e->next;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		rs_oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		rs_newest = e->older;
	rs_bytes -= rs_cost(e);
	explicit_bzero(e->json, e->len);
	free(e->json);
	free(e->id);
	free(e);
}

/* Drop what is past its time, then the oldest while over room. */
static void
rs_trim(time_t now, size_t room)
{
	while (rs_oldest != NULL && (rs_oldest->at + RESPONSE_STORE_TTL <= now ||
	    rs_bytes + room > RESPONSE_STORE_MAX))
		rs_drop(rs_oldest);
}

static struct response_entry *
rs_find(const char *domain_id, const char *id)
{
	struct response_entry	*e;

	for (e = rs_bucket[rs_hash(domain_id, id)]; e != NULL; e = e->next)
		if (strcmp(e->domain_id, domain_id) == 0 &&
		    strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

int
response_store_put(const char *domain_id, const char *id, const char *json,
    size_t len, time_t now)
{
	struct response_entry	*e;
	size_t			 b;

	if (len > RESPONSE_STORE_ENTRY_MAX || strlen(domain_id) >=
	    sizeof(e->domain_id))
		return -1;
	e = xcalloc(1, sizeof(*e));
	snprintf(e->domain_id, sizeof(e->domain_id), "%s", domain_id);
	e->id = xstrdup(id);
	e->json = xmalloc(len + 1);
	memcpy(e->json, json, len);
	e->json[len] = '\0';
	e->len = len;
	e->at = now;
	b = rs_hash(domain_id, id);
	pthread_mutex_lock(&rs_lock);
	if (rs_find(domain_id, id) != NULL)
		rs_drop(rs_find(domain_id, id));
	rs_trim(now, rs_cost(e));
	e->next = rs_bucket[b];
	rs_bucket[b] = e;
	e->older = rs_newest;
	if (rs_newest != NULL)
		rs_newest->newer = e;
	else
		rs_oldest = e;
	rs_newest = e;
	rs_bytes += rs_cost(e);
	pthread_mutex_unlock(&rs_lock);
	return 0;
}

char *
response_store_get(const char *domain_id, const char *id, time_t now,
    size_t *len)
{
	struct response_entry	*e;
	char			*copy = NULL;

	pthread_mutex_lock(&rs_lock);
	rs_trim(now, 0);
	if ((e = rs_find(domain_id, id)) != NULL) {
		copy = xmalloc(e->len + 1);
		memcpy(copy, e->json, e->len + 1);
		*len = e->len;
	}
	pthread_mutex_unlock(&rs_lock);
	return copy;
}

void
response_store_clear(void)
{
	pthread_mutex_lock(&rs_lock);
	while (rs_oldest != NULL)
		rs_drop(rs_oldest);
	pthread_mutex_unlock(&rs_lock);
}
