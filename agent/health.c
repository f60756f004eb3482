/*
 * Provider health in the background: every provider-check-interval seconds
 * a thread of its own probes each provider (so neither the admin socket nor
 * a worker ever waits on a backend); the main loop then records active or
 * errored in the store and republishes the snapshot when a status changed.
 * A probe that fails because this machine ran out of descriptors or memory
 * gives no verdict: the provider keeps its status until a check can run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

struct health {
	struct agent		*agent;
	struct event		*timer;		/* every interval */
	struct event		*done;		/* the thread finished a round */
	pthread_t		 thread;
	int			 running;	/* a round is out on the thread */
	int			 cancel;	/* atomic: stop probing */
	int			 short_said;	/* the shortage is in the log */
	/* One round: what was probed and what came of it. */
	struct store_provider	*list;
	size_t			 n;
	char			**errors;	/* NULL: answered well */
	char			*skipped;	/* 1: no verdict (local shortage) */
	char			*short_why;	/* the last shortage, for the log */
};

static void
health_round_free(struct health *h)
{
	size_t	i;

	for (i = 0; i < h->n; i++)
		free(h->errors[i]);
	free(h->errors);
	free(h->skipped);
	free(h->short_why);
	store_provider_list_free(h->list, h->n);
	h->errors = NULL;
	h->skipped = NULL;
	h->short_why = NULL;
	h->list = NULL;
	h->n = 0;
}

/* The thread: probe each provider in turn, then wake the main loop. */
static void *
health_run(void *arg)
{
	struct health	*h = arg;
	char		 why[512];
	long		 latency;
	size_t		 i;
	int		 rc;

	for (i = 0; i < h->n; i++) {
		if (__atomic_load_n(&h->cancel, __ATOMIC_RELAXED))
			break;
		rc = probe_provider(&h->list[i], h->agent->vault, &h->cancel,
		    NULL, NULL, &latency, why, sizeof(why));
		if (rc == PROBE_LOCAL) {
			h->skipped[i] = 1;
			free(h->short_why);
			h->short_why = xstrdup(why);
		} else if (rc != 0)
			h->errors[i] = xstrdup(why);
	}
	event_active(h->done, EV_READ, 0);
	return NULL;
}

/* Was the stored provider edited since it was probed? Then skip it. */
static int
health_same(const struct store_provider *a, const struct store_provider *b)
{
	if (strcmp(a->driver, b->driver) != 0 || strcmp(a->url, b->url) != 0)
		return 0;
	if ((a->fingerprint == NULL) != (b->fingerprint == NULL))
		return 0;
	return a->fingerprint == NULL ||
	    strcmp(a->fingerprint, b->fingerprint) == 0;
}

/* Record one provider's outcome; 1 when its stored status changed. */
static int
health_record(struct health *h, const struct store_provider *probed,
    const char *why)
{
	struct store		*store = h->agent->store;
	struct store_provider	 now;
	const char		*status = why == NULL ? "active" : "errored";
	char			 err[256];
	int			 changed = 0;

	if (store_provider_get(store, probed->domain_id, probed->name, &now,
	    err, sizeof(err)) != 0)
		return 0;	/* deleted meanwhile */
	/* A failed check counts against its deployments' breakers. */
	deployment_health(probed->domain_id, probed->name, why == NULL,
	    deployment_now_ms());
	if (!health_same(&now, probed) || (strcmp(now.status, status) == 0 &&
	    (why == NULL || (now.error != NULL &&
	    strcmp(now.error, why) == 0)))) {
		store_provider_clear(&now);
		return 0;
	}
	if (store_provider_set_status(store, now.domain_id, now.name, status,
	    why, err, sizeof(err)) != 0)
		log_warnx("health: provider %s: %s", now.name, err);
	else {
		changed = 1;
		if (strcmp(now.status, status) != 0)
			log_info("provider %s (domain %s): %s%s%s", now.name,
			    now.domain_id, status, why != NULL ? ": " : "",
			    why != NULL ? why : "");
	}
	store_provider_clear(&now);
	return changed;
}

/* Back on the main loop: join the thread, store statuses, republish. */
static void
health_done(evutil_socket_t fd, short events, void *arg)
{
	struct health	*h = arg;
	char		 err[256];
	size_t		 i;
	int		 changed = 0;

	(void)fd;
	(void)events;
	pthread_join(h->thread, NULL);
	h->running = 0;
	if (!__atomic_load_n(&h->cancel, __ATOMIC_RELAXED))
		for (i = 0; i < h->n; i++)
			if (!h->skipped[i])
				changed |= health_record(h, &h->list[i],
				    h->errors[i]);
	/* Said once per shortage, not once per provider and round. */
	if (h->short_why != NULL && !h->short_said)
		log_warnx("health: %s; provider checks skipped, statuses kept"
		    " until this machine recovers", h->short_why);
	else if (h->short_why == NULL && h->short_said)
		log_info("health: provider checks run again");
	h->short_said = h->short_why != NULL;
	health_round_free(h);
	if (changed && registry_reload(h->agent->store, h->agent->vault, err,
	    sizeof(err)) != 0)
		log_warnx("health: statuses saved, but the registry was not"
		    " rebuilt: %s", err);
}

/* Start a round unless one is still out (a slow backend delays the next). */
static void
health_tick(evutil_socket_t fd, short events, void *arg)
{
	struct health	*h = arg;
	char		 err[256];
	int		 rc;

	(void)fd;
	(void)events;
	if (h->running)
		return;
	if ((rc = store_provider_list(h->agent->store, NULL, &h->list, &h->n,
	    err, sizeof(err))) != 0) {
		log_warnx("health: %s", err);
		return;
	}
	if (h->n == 0)
		return;
	h->errors = xcalloc(h->n, sizeof(*h->errors));
	h->skipped = xcalloc(h->n, sizeof(*h->skipped));
	if ((rc = pthread_create(&h->thread, NULL, health_run, h)) != 0) {
		log_warnx("health: pthread_create: %s", strerror(rc));
		health_round_free(h);
		return;
	}
	h->running = 1;
}

struct health *
health_start(struct agent *agent)
{
	struct health	*h;
	struct timeval	 tv;

	if (agent->cfg.provider_check_interval <= 0)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->agent = agent;
	if ((h->timer = event_new(agent->base, -1, EV_PERSIST, health_tick,
	    h)) == NULL || (h->done = event_new(agent->base, -1, 0,
	    health_done, h)) == NULL)
		fatalx("%s: event_new", __func__);
	tv.tv_sec = agent->cfg.provider_check_interval;
	tv.tv_usec = 0;
	evtimer_add(h->timer, &tv);
	log_info("health: checking providers every %d s",
	    agent->cfg.provider_check_interval);
	return h;
}

/*
 * SIGHUP changed provider-check-interval: the timer counts the new one
 * from now; 0 stops the checks, and a first non-zero one starts them.
 */
struct health *
health_configure(struct health *h, struct agent *agent)
{
	struct timeval	 tv;

	if (agent->cfg.provider_check_interval <= 0) {
		health_stop(h);
		return NULL;
	}
	if (h == NULL)
		return health_start(agent);
	tv.tv_sec = agent->cfg.provider_check_interval;
	tv.tv_usec = 0;
	evtimer_add(h->timer, &tv);
	return h;
}

/* Cut a round short (probes abort within a moment) and free everything. */
void
health_stop(struct health *h)
{
	if (h == NULL)
		return;
	__atomic_store_n(&h->cancel, 1, __ATOMIC_RELAXED);
	if (h->running) {
		pthread_join(h->thread, NULL);
		health_round_free(h);
	}
	event_free(h->timer);
	event_free(h->done);
	free(h);
}
