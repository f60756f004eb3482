/*
 * How current each host's figures are: its status asked for every two
 * seconds and its stats.get every five (one of each in flight at most,
 * so a host that stopped answering never piles up calls), and the time
 * of its last answer, by which the header and the Fleet view show stale data as
 * stale. Runs on the main loop; the calls themselves run on the host's
 * thread (host.c), so nothing here waits.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"

#define HOST_LIVE_EVERY_MS	2000	/* status */
/* stats.get lists every domain and model: asked less often. */
#define HOST_LIVE_STATS_EVERY_MS	5000

int64_t
host_live_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The agent answered (a result or an error of its own): it is alive. */
static int
host_live_answered(const struct host_reply *r)
{
	if (r->status != RPC_CLIENT_OK && r->status != RPC_CLIENT_REPLY_ERROR)
		return 0;
	r->host->answer_at = host_live_now();
	return 1;
}

static void
host_live_status_done(struct tui *t, struct host_reply *r)
{
	struct host	*h = r->host;

	(void)t;
	h->status_pending = 0;
	if (!host_live_answered(r) || r->status != RPC_CLIENT_OK ||
	    !cJSON_IsObject(r->result))
		return;
	cJSON_Delete(h->status);
	h->status = r->result;
	r->result = NULL;
	h->status_seq++;
}

static void
host_live_stats_done(struct tui *t, struct host_reply *r)
{
	struct host	*h = r->host;
	cJSON		*figures;

	(void)t;
	h->stats_pending = 0;
	if (!host_live_answered(r))
		return;
	if (host_is_unsupported(r)) {
		h->stats_unsupported = 1;	/* an older agent */
		return;
	}
	if (r->status != RPC_CLIENT_OK || (figures =
	    cJSON_DetachItemFromObjectCaseSensitive(r->result, "host")) ==
	    NULL)
		return;
	if (!cJSON_IsObject(figures)) {
		cJSON_Delete(figures);
		return;
	}
	cJSON_Delete(h->stats);
	h->stats = figures;
}

/* Ask h for its status and figures when it is time and none is on its way. */
void
host_live_poll(struct host *h, int64_t now)
{
	if (now - h->live_at < HOST_LIVE_EVERY_MS && h->live_at != 0)
		return;
	h->live_at = now;
	/* Their replies are never stale: gen 0 always matches. */
	if (!h->status_pending) {
		h->status_pending = 1;
		host_call(h, "status", NULL, host_live_status_done, 0);
	}
	if (!h->stats_pending && !h->stats_unsupported &&
	    (h->stats_at == 0 || now - h->stats_at >= HOST_LIVE_STATS_EVERY_MS)) {
		h->stats_at = now;
		h->stats_pending = 1;
		host_call(h, "stats.get", NULL, host_live_stats_done, 0);
	}
}

/*
 * Whether h's data is stale: it answered once, but not for
 * HOST_LIVE_STALE_MS. Fills *age_s (seconds since the last answer, -1
 * before the first) when age_s is not NULL.
 */
int
host_live_stale(const struct host *h, int64_t now, int64_t *age_s)
{
	int64_t	age = h->answer_at != 0 ? now - h->answer_at : -1;

	if (age_s != NULL)
		*age_s = age < 0 ? -1 : age / 1000;
	return age > HOST_LIVE_STALE_MS;
}

/* A number in the host's 1 min window, or -1 when it has none. */
double
host_live_figure(const struct host *h, const char *name)
{
	const cJSON	*w, *v;

	w = cJSON_GetObjectItemCaseSensitive(h->stats, "1m");
	v = cJSON_GetObjectItemCaseSensitive(w, name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The host's spend today, as the agent's exact decimal, or NULL. */
const char *
host_live_spend(const struct host *h)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(h->stats, "spend_today_usd");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}
