/*
 * A model's deployments: which one a request tries (least outstanding
 * per weight within the best priority), and each one's live state and
 * circuit breaker. The states outlive the registry snapshots that point
 * at them (a table keyed by domain, model, provider and model id, each
 * entry counted by the snapshots holding it). Workers touch only an
 * entry's atomics; the table's lock is the admin side's and /metrics'.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "xmalloc.h"

#define DEPLOY_BUCKETS	256

struct deploy_state {
	struct deploy_state	*next;		/* bucket chain */
	unsigned		 refs;		/* snapshots; under the lock */
	char			*domain_id;	/* one block: the four names */
	const char		*model;
	const char		*provider;
	const char		*model_id;
	uint32_t		 hash;
	atomic_int		 outstanding;
	atomic_int		 failures;	/* consecutive */
	atomic_int		 open;		/* 1: open or half-open */
	atomic_int		 probing;	/* 1: a half-open probe is out */
	atomic_int		 by_health;	/* 1: health checks opened it */
	atomic_int		 cooldown_ms;	/* the current one */
	atomic_uint_fast64_t	 retries;	/* requests retried onto it */
	_Atomic int64_t		 open_until;	/* monotonic ms */
};

/*
 * Off the request path: registry builds and frees take it (the admin
 * side: a worker hands the snapshot it let go of to the next publish);
 * health checks and /metrics walk the table under it. A request touches
 * only its deployment's atomics.
 */
static pthread_mutex_t		 deploy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct deploy_state	*deploy_table[DEPLOY_BUCKETS];
static atomic_int		 deploy_failures_max = DEPLOY_FAILURES_DEFAULT;
static atomic_int		 deploy_cooldown_ms = DEPLOY_COOLDOWN_DEFAULT_MS;

static const char *const deploy_breaker_names[] = {
	[DEPLOY_CLOSED] = "closed",
	[DEPLOY_HALF_OPEN] = "half_open",
	[DEPLOY_OPEN] = "open",
};

void
deployment_configure(int failures, int cooldown_ms)
{
	if (failures > 0)
		atomic_store(&deploy_failures_max, failures);
	if (cooldown_ms > 0)
		atomic_store(&deploy_cooldown_ms, cooldown_ms >
		    DEPLOY_COOLDOWN_MAX_MS ? DEPLOY_COOLDOWN_MAX_MS :
		    cooldown_ms);
}

int64_t
deployment_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a over the four names, NULs included. */
static uint32_t
deployment_hash(const char *const names[4])
{
	uint32_t	 h = 2166136261u;
	const char	*p;
	int		 i;

	for (i = 0; i < 4; i++) {
		for (p = names[i]; ; p++) {
			h = (h ^ (unsigned char)*p) * 16777619u;
			if (*p == '\0')
				break;
		}
	}
	return h;
}

struct deploy_state *
deployment_state_get(const char *domain_id, const char *model,
    const char *provider, const char *model_id)
{
	const char		*names[4] = { domain_id, model, provider,
				    model_id };
	struct deploy_state	*st;
	uint32_t		 h = deployment_hash(names);
	size_t			 len[4], i;
	char			*p;

	pthread_mutex_lock(&deploy_lock);
	for (st = deploy_table[h % DEPLOY_BUCKETS]; st != NULL; st = st->next)
		if (st->hash == h && strcmp(st->domain_id, domain_id) == 0 &&
		    strcmp(st->model, model) == 0 &&
		    strcmp(st->provider, provider) == 0 &&
		    strcmp(st->model_id, model_id) == 0)
			break;
	if (st == NULL) {
		st = xcalloc(1, sizeof(*st));
		for (i = 0; i < 4; i++)
			len[i] = strlen(names[i]) + 1;
		p = st->domain_id = xmalloc(len[0] + len[1] + len[2] + len[3]);
		memcpy(p, domain_id, len[0]);
		st->model = p += len[0];
		memcpy(p, model, len[1]);
		st->provider = p += len[1];
		memcpy(p, provider, len[2]);
		st->model_id = p += len[2];
		memcpy(p, model_id, len[3]);
		st->hash = h;
		atomic_init(&st->cooldown_ms, atomic_load(&deploy_cooldown_ms));
		st->next = deploy_table[h % DEPLOY_BUCKETS];
		deploy_table[h % DEPLOY_BUCKETS] = st;
	}
	st->refs++;
	pthread_mutex_unlock(&deploy_lock);
	return st;
}

void
deployment_state_put(struct deploy_state *st)
{
	struct deploy_state	**pp;

	if (st == NULL)
		return;
	pthread_mutex_lock(&deploy_lock);
	if (--st->refs == 0) {
		for (pp = &deploy_table[st->hash % DEPLOY_BUCKETS]; *pp != NULL;
		    pp = &(*pp)->next)
			if (*pp == st) {
				*pp = st->next;
				break;
			}
		free(st->domain_id);
		free(st);
	}
	pthread_mutex_unlock(&deploy_lock);
}

void
deployment_reset(void)
{
	struct deploy_state	*st, *next;
	size_t			 i;

	pthread_mutex_lock(&deploy_lock);
	for (i = 0; i < DEPLOY_BUCKETS; i++) {
		for (st = deploy_table[i]; st != NULL; st = next) {
			next = st->next;
			free(st->domain_id);
			free(st);
		}
		deploy_table[i] = NULL;
	}
	pthread_mutex_unlock(&deploy_lock);
}

enum deploy_breaker
deployment_breaker(const struct deploy_state *st, int64_t now_ms)
{
	if (!atomic_load(&st->open))
		return DEPLOY_CLOSED;
	return now_ms < atomic_load(&st->open_until) ? DEPLOY_OPEN :
	    DEPLOY_HALF_OPEN;
}

const char *
deployment_breaker_name(enum deploy_breaker b)
{
	if ((size_t)b >= sizeof(deploy_breaker_names) /
	    sizeof(deploy_breaker_names[0]))
		return "unknown";
	return deploy_breaker_names[b];
}

int
deployment_outstanding(const struct deploy_state *st)
{
	return atomic_load(&st->outstanding);
}

int
deployment_failures(const struct deploy_state *st)
{
	return atomic_load(&st->failures);
}

uint64_t
deployment_retries(const struct deploy_state *st)
{
	return atomic_load(&st->retries);
}

/* Whether a request may go to d now (a half-open one: if no probe is out). */
static int
deployment_admits(const struct reg_domain *dom, const struct reg_deployment *d,
    int64_t now_ms)
{
	if (d->provider == NULL || d->provider->errored || d->state == NULL)
		return 0;
	/* Confidential routing: a domain that requires it, attested only. */
	if (dom != NULL && !provider_admits(dom, d->provider))
		return 0;
	switch (deployment_breaker(d->state, now_ms)) {
	case DEPLOY_CLOSED:
		return 1;
	case DEPLOY_HALF_OPEN:
		return atomic_load(&d->state->probing) == 0;
	default:
		return 0;
	}
}

/*
 * The single place a deployment is chosen: any filter on where a
 * request may go (confidential routing) belongs here, in the admits test.
 */
int
deployment_select(const struct reg_domain *dom, const struct reg_deployment *d,
    size_t n, uint32_t skip, int64_t now_ms, uint32_t rot, int *probe)
{
	int64_t		 o, best_o = 0, wsum = 0, target;
	int		 best_w = 1, prio = -1, pick;
	size_t		 i;
	uint32_t	 ok = 0, tied;
	int		 zero = 0;

	*probe = 0;
	if (n > MODEL_DEPLOYMENTS_MAX)
		n = MODEL_DEPLOYMENTS_MAX;
again:
	ok = 0;
	prio = -1;
	for (i = 0; i < n; i++) {
		if ((skip & (1u << i)) != 0 || !deployment_admits(dom,
		    &d[i], now_ms))
			continue;
		ok |= 1u << i;
		if (prio == -1 || d[i].priority < prio)
			prio = d[i].priority;
	}
	if (ok == 0)
		return -1;
	/* Fewest outstanding per weight: o_i / w_i < o_b / w_b. */
	tied = 0;
	for (i = 0; i < n; i++) {
		if ((ok & (1u << i)) == 0 || d[i].priority != prio)
			continue;
		o = atomic_load(&d[i].state->outstanding);
		if (o < 0)
			o = 0;
		if (tied == 0 || o * best_w < best_o * d[i].weight) {
			tied = 1u << i;
			best_o = o;
			best_w = d[i].weight;
		} else if (o * best_w == best_o * d[i].weight)
			tied |= 1u << i;
	}
	/* Ties shared in proportion to weight, in turn. */
	wsum = 0;
	for (i = 0; i < n; i++)
		if ((tied & (1u << i)) != 0)
			wsum += d[i].weight > 0 ? d[i].weight : 1;
	target = (int64_t)(rot % (uint64_t)wsum);
	pick = -1;
	for (i = 0; i < n; i++) {
		if ((tied & (1u << i)) == 0)
			continue;
		pick = (int)i;
		if ((target -= d[i].weight > 0 ? d[i].weight : 1) < 0)
			break;
	}
	if (deployment_breaker(d[pick].state, now_ms) == DEPLOY_HALF_OPEN) {
		/* One probe at a time: lost the race, choose again. */
		if (!atomic_compare_exchange_strong(&d[pick].state->probing,
		    &zero, 1)) {
			zero = 0;
			skip |= 1u << pick;
			goto again;
		}
		*probe = 1;
	}
	return pick;
}

void
deployment_retried(struct deploy_state *st)
{
	atomic_fetch_add(&st->retries, 1);
}

void
deployment_begin(struct deploy_state *st)
{
	atomic_fetch_add(&st->outstanding, 1);
}

/* Open (again) for the current cooldown, doubled first when reopened. */
static void
deployment_open(struct deploy_state *st, int again, int64_t now_ms)
{
	int	cd = atomic_load(&st->cooldown_ms);

	if (again) {
		cd = cd > DEPLOY_COOLDOWN_MAX_MS / 2 ? DEPLOY_COOLDOWN_MAX_MS :
		    cd * 2;
	} else
		cd = atomic_load(&deploy_cooldown_ms);
	atomic_store(&st->cooldown_ms, cd);
	atomic_store(&st->open_until, now_ms + cd);
	atomic_store(&st->by_health, 0);
	atomic_store(&st->open, 1);
}

void
deployment_end(struct deploy_state *st, enum deploy_outcome out, int probe,
    int64_t now_ms)
{
	int	f;

	if (st == NULL)
		return;
	atomic_fetch_sub(&st->outstanding, 1);
	switch (out) {
	case DEPLOY_SUCCESS:
		atomic_store(&st->failures, 0);
		if (probe) {
			atomic_store(&st->open, 0);
			atomic_store(&st->cooldown_ms,
			    atomic_load(&deploy_cooldown_ms));
		}
		break;
	case DEPLOY_FAILURE:
		f = atomic_fetch_add(&st->failures, 1) + 1;
		if (probe)
			deployment_open(st, 1, now_ms);
		else if (!atomic_load(&st->open) &&
		    f >= atomic_load(&deploy_failures_max))
			deployment_open(st, 0, now_ms);
		break;
	default:
		break;
	}
	if (probe)
		atomic_store(&st->probing, 0);
}

/*
 * Health checks feed the breaker both ways, but only for what they can see:
 * failures open it; a success after the checks themselves opened it makes
 * it half-open at once, so the next request is the probe rather than
 * waiting out a cooldown for a provider known to be back. A breaker opened
 * by failed requests stays as it is: a provider that answers its health
 * check may still fail that model, and only a probe closes a breaker.
 */
void
deployment_health(const char *domain_id, const char *provider, int ok,
    int64_t now_ms)
{
	struct deploy_state	*st;
	size_t			 i;
	int			 f;

	pthread_mutex_lock(&deploy_lock);
	for (i = 0; i < DEPLOY_BUCKETS; i++)
		for (st = deploy_table[i]; st != NULL; st = st->next) {
			if (strcmp(st->domain_id, domain_id) != 0 ||
			    strcmp(st->provider, provider) != 0)
				continue;
			if (ok) {
				if (atomic_load(&st->open) &&
				    atomic_load(&st->by_health) &&
				    atomic_load(&st->open_until) > now_ms)
					atomic_store(&st->open_until, now_ms);
				continue;
			}
			f = atomic_fetch_add(&st->failures, 1) + 1;
			if (!atomic_load(&st->open) &&
			    f >= atomic_load(&deploy_failures_max)) {
				deployment_open(st, 0, now_ms);
				atomic_store(&st->by_health, 1);
			}
		}
	pthread_mutex_unlock(&deploy_lock);
}

void
deployment_foreach(void (*cb)(void *, const char *, const char *,
    const char *, const char *, const struct deploy_state *), void *arg)
{
	struct deploy_state	*st;
	size_t			 i;

	pthread_mutex_lock(&deploy_lock);
	for (i = 0; i < DEPLOY_BUCKETS; i++)
		for (st = deploy_table[i]; st != NULL; st = st->next)
			cb(arg, st->domain_id, st->model, st->provider,
			    st->model_id, st);
	pthread_mutex_unlock(&deploy_lock);
}

int
deployment_open_count(const char *domain_id, const char *provider,
    int64_t now_ms)
{
	struct deploy_state	*st;
	size_t			 i;
	int			 n = 0;

	pthread_mutex_lock(&deploy_lock);
	for (i = 0; i < DEPLOY_BUCKETS; i++)
		for (st = deploy_table[i]; st != NULL; st = st->next)
			if (strcmp(st->domain_id, domain_id) == 0 &&
			    strcmp(st->provider, provider) == 0 &&
			    deployment_breaker(st, now_ms) == DEPLOY_OPEN)
				n++;
	pthread_mutex_unlock(&deploy_lock);
	return n;
}

void
deployment_live(const char *domain_id, const char *model,
    const char *provider, const char *model_id, int64_t now_ms,
    struct deploy_live *out)
{
	const char		*names[4] = { domain_id, model, provider,
				    model_id };
	struct deploy_state	*st;
	uint32_t		 h = deployment_hash(names);

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&deploy_lock);
	for (st = deploy_table[h % DEPLOY_BUCKETS]; st != NULL; st = st->next)
		if (st->hash == h && strcmp(st->domain_id, domain_id) == 0 &&
		    strcmp(st->model, model) == 0 &&
		    strcmp(st->provider, provider) == 0 &&
		    strcmp(st->model_id, model_id) == 0) {
			out->breaker = deployment_breaker(st, now_ms);
			out->outstanding = atomic_load(&st->outstanding);
			out->failures = atomic_load(&st->failures);
			out->retries = atomic_load(&st->retries);
			break;
		}
	pthread_mutex_unlock(&deploy_lock);
}
