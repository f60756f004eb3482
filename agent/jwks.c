/*
 * JWKS documents of domains that name a URL, fetched in the background: a
 * thread of its own does the HTTP (so neither the admin socket nor a worker
 * waits on an identity provider), the main loop keeps the last good
 * document per URL and republishes the snapshot when one changed. Workers
 * never fetch: an unknown kid fails its request and asks for a refresh,
 * which runs at most once a minute per URL.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define JWKS_TICK_S		1	/* how often the main loop looks */
#define JWKS_RETRY_S		15	/* after a failed fetch */
#define JWKS_CONNECT_MS		3000
#define JWKS_TOTAL_MS		10000
#define JWKS_URLS_MAX		256

/* One URL's last good document and when it was asked for (main loop). */
struct jwks_entry {
	char		*url;
	char		*doc;		/* NULL: never fetched well */
	size_t		 len;
	int64_t		 fetched;	/* last success, unix seconds */
	int64_t		 tried;		/* last attempt */
	int		 failed;	/* the last attempt failed */
	char		*error;		/* said in the log, once */
};

/* One fetch of a round, filled on the thread. */
struct jwks_fetch {
	char		*url;
	char		*doc;
	size_t		 len;
	char		 err[256];
};

struct jwks {
	struct agent		*agent;
	struct event		*timer;
	struct event		*done;
	pthread_t		 thread;
	int			 running;
	int			 cancel;	/* atomic */
	struct jwks_fetch	*round;
	size_t			 nround;
};

static struct jwks_entry	*jwks_cache;
static size_t			 jwks_ncache;
static int			 jwks_wanted;	/* atomic: a new kid was met */

void
jwks_want_refresh(void)
{
	__atomic_store_n(&jwks_wanted, 1, __ATOMIC_RELAXED);
}

static struct jwks_entry *
jwks_entry_find(const char *url)
{
	size_t	i;

	for (i = 0; i < jwks_ncache; i++)
		if (strcmp(jwks_cache[i].url, url) == 0)
			return &jwks_cache[i];
	return NULL;
}

const char *
jwks_cached(const char *url, size_t *len)
{
	struct jwks_entry	*e = jwks_entry_find(url);

	if (e == NULL || e->doc == NULL)
		return NULL;
	*len = e->len;
	return e->doc;
}

static void
jwks_entry_clear(struct jwks_entry *e)
{
	free(e->url);
	free(e->doc);
	free(e->error);
	memset(e, 0, sizeof(*e));
}

/* Forget URLs no domain names any more; add the ones new to the cache. */
static void
jwks_cache_sync(const struct registry *reg)
{
	const struct jwt_config	*c;
	size_t			 i, j, k;
	int			 used;

	for (i = 0; i < jwks_ncache; ) {
		for (used = 0, j = 0; j < reg->ndomains && !used; j++)
			used = (c = reg->domains[j].jwt) != NULL &&
			    c->jwks_url != NULL &&
			    strcmp(c->jwks_url, jwks_cache[i].url) == 0;
		if (used) {
			i++;
			continue;
		}
		jwks_entry_clear(&jwks_cache[i]);
		jwks_cache[i] = jwks_cache[--jwks_ncache];
	}
	for (j = 0; j < reg->ndomains; j++) {
		if ((c = reg->domains[j].jwt) == NULL || c->jwks_url == NULL ||
		    jwks_entry_find(c->jwks_url) != NULL)
			continue;
		if (jwks_ncache == JWKS_URLS_MAX)
			break;
		k = jwks_ncache++;
		jwks_cache = xreallocarray(jwks_cache, jwks_ncache,
		    sizeof(*jwks_cache));
		memset(&jwks_cache[k], 0, sizeof(jwks_cache[k]));
		jwks_cache[k].url = xstrdup(c->jwks_url);
	}
}

/* The shortest refresh interval any domain gives url. */
static int64_t
jwks_interval(const struct registry *reg, const char *url)
{
	const struct jwt_config	*c;
	int64_t			 best = 86400;
	size_t			 i;

	for (i = 0; i < reg->ndomains; i++)
		if ((c = reg->domains[i].jwt) != NULL && c->jwks_url != NULL &&
		    strcmp(c->jwks_url, url) == 0 && c->jwks_refresh < best)
			best = c->jwks_refresh;
	return best;
}

/* One GET: the body into f, or f->err saying why not. */
static void
jwks_get(struct jwks_fetch *f, int *cancel)
{
	struct fetch_body	 b = { NULL, 0, JWT_JWKS_MAX, 0 };
	CURL			*h;
	CURLcode		 rc;
	long			 status = 0;
	char			 cerr[CURL_ERROR_SIZE] = "";

	if ((h = curl_easy_init()) == NULL) {
		snprintf(f->err, sizeof(f->err), "out of memory");
		return;
	}
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	/* https only, but for loopback (jwt_jwks_url_valid); no redirects. */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
	    strncmp(f->url, "https://", 8) == 0 ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)JWKS_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)JWKS_TOTAL_MS);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cube-agent/" CUBE_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "identity");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, fetch_cancel_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, cancel);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (b.overflow)
		snprintf(f->err, sizeof(f->err), "over %d bytes", JWT_JWKS_MAX);
	else if (rc != CURLE_OK)
		snprintf(f->err, sizeof(f->err), "%s", cerr[0] != '\0' ? cerr :
		    curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(f->err, sizeof(f->err), "HTTP status %ld", status);
	if (f->err[0] != '\0') {
		free(b.data);
		return;
	}
	f->doc = b.data != NULL ? b.data : xstrdup("");
	f->len = b.len;
}

static void *
jwks_run(void *arg)
{
	struct jwks	*j = arg;
	size_t		 i;

	for (i = 0; i < j->nround; i++) {
		if (__atomic_load_n(&j->cancel, __ATOMIC_RELAXED))
			break;
		jwks_get(&j->round[i], &j->cancel);
	}
	event_active(j->done, EV_READ, 0);
	return NULL;
}

static void
jwks_round_free(struct jwks *j)
{
	size_t	i;

	for (i = 0; i < j->nround; i++) {
		free(j->round[i].url);
		free(j->round[i].doc);
	}
	free(j->round);
	j->round = NULL;
	j->nround = 0;
}

/* Back on the main loop: keep what parsed, say what failed, republish. */
static void
jwks_done(evutil_socket_t fd, short events, void *arg)
{
	struct jwks		*j = arg;
	struct jwks_fetch	*f;
	struct jwks_entry	*e;
	struct jwt_keys		*keys;
	char			 err[256];
	size_t			 i;
	int			 changed = 0;

	(void)fd;
	(void)events;
	pthread_join(j->thread, NULL);
	j->running = 0;
	for (i = 0; i < j->nround; i++) {
		f = &j->round[i];
		if ((e = jwks_entry_find(f->url)) == NULL)
			continue;	/* no domain names it any more */
		if (f->doc != NULL && (keys = jwt_keys_parse(f->doc, f->len,
		    f->err, sizeof(f->err))) != NULL) {
			jwt_keys_free(keys);
			e->fetched = time(NULL);
			if (e->failed)
				log_info("jwks %s: fetched again", e->url);
			e->failed = 0;
			free(e->error);
			e->error = NULL;
			if (e->doc == NULL || e->len != f->len ||
			    memcmp(e->doc, f->doc, f->len) != 0) {
				free(e->doc);
				e->doc = f->doc;
				e->len = f->len;
				f->doc = NULL;
				changed = 1;
				log_info("jwks %s: new keys", e->url);
			}
			continue;
		}
		/* The last good keys stay; the failure is said once. */
		e->failed = 1;
		if (e->error == NULL || strcmp(e->error, f->err) != 0) {
			log_warnx("jwks %s: %s%s", e->url, f->err,
			    e->doc != NULL ? " (keeping the last keys)" : "");
			free(e->error);
			e->error = xstrdup(f->err);
		}
	}
	jwks_round_free(j);
	if (changed && registry_reload(j->agent->store, j->agent->vault, err,
	    sizeof(err)) != 0)
		log_warnx("jwks: the registry was not rebuilt: %s", err);
}

/* Every second: start a round for the URLs that are due. */
static void
jwks_tick(evutil_socket_t fd, short events, void *arg)
{
	struct jwks		*j = arg;
	struct registry		*reg;
	struct jwks_entry	*e;
	int64_t			 now = time(NULL), every;
	size_t			 i;
	int			 wanted, rc;

	(void)fd;
	(void)events;
	if (j->running || (reg = registry_acquire()) == NULL)
		return;
	jwks_cache_sync(reg);
	wanted = __atomic_exchange_n(&jwks_wanted, 0, __ATOMIC_RELAXED);
	for (i = 0; i < jwks_ncache; i++) {
		e = &jwks_cache[i];
		every = jwks_interval(reg, e->url);
		if (e->tried != 0 && now - e->tried < every &&
		    !(e->failed && now - e->tried >= JWKS_RETRY_S) &&
		    !(wanted && now - e->tried >=
		    j->agent->cfg.jwks_kid_refresh))
			continue;
		e->tried = now;
		j->round = xreallocarray(j->round, j->nround + 1,
		    sizeof(*j->round));
		memset(&j->round[j->nround], 0, sizeof(*j->round));
		j->round[j->nround++].url = xstrdup(e->url);
	}
	registry_release(reg);
	if (j->nround == 0)
		return;
	if ((rc = pthread_create(&j->thread, NULL, jwks_run, j)) != 0) {
		log_warnx("jwks: pthread_create: %s", strerror(rc));
		jwks_round_free(j);
		return;
	}
	j->running = 1;
}

struct jwks *
jwks_start(struct agent *agent)
{
	struct jwks	*j;
	struct timeval	 tv = { JWKS_TICK_S, 0 };

	j = xcalloc(1, sizeof(*j));
	j->agent = agent;
	if ((j->timer = event_new(agent->base, -1, EV_PERSIST, jwks_tick,
	    j)) == NULL || (j->done = event_new(agent->base, -1, 0, jwks_done,
	    j)) == NULL)
		fatalx("%s: event_new", __func__);
	evtimer_add(j->timer, &tv);
	return j;
}

/* Cut a round short and free everything, the cache too. */
void
jwks_stop(struct jwks *j)
{
	size_t	i;

	if (j == NULL)
		return;
	__atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
	if (j->running) {
		pthread_join(j->thread, NULL);
		jwks_round_free(j);
	}
	event_free(j->timer);
	event_free(j->done);
	free(j);
	for (i = 0; i < jwks_ncache; i++)
		jwks_entry_clear(&jwks_cache[i]);
	free(jwks_cache);
	jwks_cache = NULL;
	jwks_ncache = 0;
}
