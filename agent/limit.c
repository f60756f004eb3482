/*
 * Per-token limits shared by every worker thread: requests and tokens per
 * minute, and a spend budget that requests reserve before they go upstream
 * and settle when they end, so concurrent requests cannot overspend it.
 * One table keyed by token id, each bucket guarded by one of
 * LIMIT_STRIPES locks, so requests of different tokens on different
 * workers do not meet on a lock (those of one token do, on its entry:
 * that keeps the counts exact); tokens without limits never touch it.
 * No SQLite here: spend at start comes in the registry snapshot.
 * JWT subjects (ids "jwt:...") come and go without an admin's say, so
 * their entries are capped: past LIMIT_JWT_MAX an idle one (nothing in
 * flight, not used this minute) makes room, the least recently used
 * first; when none is idle the request is refused, never the cap raised.
 *
 * Shared across agents (limits-redis): Redis decides, atomically, in one
 * Lua script per request, and this table only counts what this host
 * admitted (for token.list, and for the fallback). That makes admission
 * asynchronous: limit_acquire_shared() answers LIMIT_PENDING and the
 * request continues from a callback on its worker's loop. Local leases
 * (a host taking a slice of the budget ahead) were the alternative; they
 * strand budget on idle hosts and refuse a request another host's unused
 * lease could pay for, and a budget that fits a few requests is exactly
 * where that shows; one round trip on loopback or a LAN costs far less
 * than the backend call it guards. Without limits-redis the path is the
 * one it always was: limit_acquire(), synchronous, under its stripe's lock.
 * Redis out of reach: budgets refuse (LIMIT_UNAVAILABLE, fail closed),
 * rate limits fall back to this host's share (limit / fleet-size).
 * A settle lost with the connection leaves its reservation counted in
 * Redis until the period ends: it can refuse, never overspend.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "money.h"
#include "textbuf.h"
#include "xmalloc.h"

#define LIMIT_BUCKETS		1024
#define LIMIT_WINDOW_MS		60000	/* fixed windows, on the minute */
#define LIMIT_DEFAULT_OUTPUT	4096	/* reserved when max_tokens is unset */
#define LIMIT_JWT_MAX		10000	/* entries for JWT subjects */
#define LIMIT_STRIPES		64	/* locks over the buckets */

struct limit_entry {
	struct limit_entry	*next;
	char			 id[32];
	int64_t			 window;	/* unix ms / LIMIT_WINDOW_MS */
	int64_t			 requests;	/* admitted in the window */
	int64_t			 tokens;	/* ended in the window */
	int64_t			 period_start;	/* of spent, unix seconds */
	int64_t			 spent;		/* nano-USD, settled */
	int64_t			 reserved;	/* nano-USD, in flight */
	int64_t			 inflight;	/* tickets holding it */
	int64_t			 used_ms;	/* last admitted, unix ms */
	unsigned int		 bucket;	/* limit_hash(id) */
};

/*
 * Bucket b's entries and their counters are guarded by
 * limit_stripes[b % LIMIT_STRIPES], each on its own cache line.
 * limit_jwt_lock guards the JWT subjects' count and cap: it is taken when
 * a subject is seen first (to make room) and by tests and shutdown, never
 * per request of a known token; it is taken before a stripe, never while
 * one is held. JWT entries are freed only under it, so an entry found
 * under it stays valid until it is released.
 */
static struct limit_stripe {
	_Alignas(64) pthread_mutex_t	 lock;
} limit_stripes[LIMIT_STRIPES] = {
	[0 ... LIMIT_STRIPES - 1] = { PTHREAD_MUTEX_INITIALIZER },
};
static pthread_mutex_t		 limit_jwt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct limit_entry	*limit_table[LIMIT_BUCKETS];
static size_t			 limit_jwt_count;
static size_t			 limit_jwt_max = LIMIT_JWT_MAX;
static int64_t			 limit_jwt_said;	/* the minute said */

static void
limit_lock(size_t bucket)
{
	pthread_mutex_lock(&limit_stripes[bucket % LIMIT_STRIPES].lock);
}

static void
limit_unlock(size_t bucket)
{
	pthread_mutex_unlock(&limit_stripes[bucket % LIMIT_STRIPES].lock);
}

static int
limit_is_jwt(const char *id)
{
	return strncmp(id, JWT_ID_PREFIX, sizeof(JWT_ID_PREFIX) - 1) == 0;
}

/* For tests: the cap on JWT subjects' entries (0: the default). */
void
limit_jwt_cap(size_t max)
{
	pthread_mutex_lock(&limit_jwt_lock);
	limit_jwt_max = max > 0 ? max : LIMIT_JWT_MAX;
	pthread_mutex_unlock(&limit_jwt_lock);
}

/* How many JWT subjects the limiter holds now. */
size_t
limit_jwt_entries(void)
{
	size_t	n;

	pthread_mutex_lock(&limit_jwt_lock);
	n = limit_jwt_count;
	pthread_mutex_unlock(&limit_jwt_lock);
	return n;
}

static int
limit_idle(const struct limit_entry *e, int64_t now_ms)
{
	return e->inflight == 0 && e->window != now_ms / LIMIT_WINDOW_MS;
}

/*
 * Make room for one more JWT subject: free the least recently used idle
 * one (no ticket holds it, not used this minute). 0, or -1 when every
 * entry is busy. limit_jwt_lock is held, no stripe: each is taken in
 * turn, and the victim's again to check it is still idle (a request of
 * it may have come meanwhile: then look again, a few times at most).
 */
static int
limit_jwt_evict(int64_t now_ms)
{
	struct limit_entry	*e, **pp, *victim;
	int64_t			 best;
	size_t			 i;
	int			 tries;

	for (tries = 0; tries < 4; tries++) {
		victim = NULL;
		best = 0;
		for (i = 0; i < LIMIT_BUCKETS; i++) {
			limit_lock(i);
			for (e = limit_table[i]; e != NULL; e = e->next)
				if (limit_is_jwt(e->id) &&
				    limit_idle(e, now_ms) &&
				    (victim == NULL || e->used_ms < best)) {
					victim = e;
					best = e->used_ms;
				}
			limit_unlock(i);
		}
		if (victim == NULL)
			return -1;
		limit_lock(victim->bucket);
		for (pp = &limit_table[victim->bucket]; *pp != victim;
		    pp = &(*pp)->next)
			;
		if (limit_idle(victim, now_ms)) {
			*pp = victim->next;
			limit_unlock(victim->bucket);
			free(victim);
			limit_jwt_count--;
			return 0;
		}
		limit_unlock(victim->bucket);
	}
	return -1;
}

/*
 * What a request may cost at most, reserved against a budget: the prompt
 * (about four bytes a token) at the input price, and the answer's cap at
 * the output price: max_output, the cap the backend is sent, or
 * LIMIT_DEFAULT_OUTPUT when it is sent none (max_output < 0).
 */
int64_t
limit_estimate(const struct reg_model *m, size_t prompt_bytes,
    int64_t max_output)
{
	int64_t	tokens[2], prices[2];

	tokens[0] = meter_estimate(prompt_bytes);
	tokens[1] = max_output >= 0 ? max_output : LIMIT_DEFAULT_OUTPUT;
	prices[0] = m->price_input;
	prices[1] = m->price_output;
	return money_tokens_cost(tokens, prices, 2);
}

static unsigned int
limit_hash(const char *id)
{
	unsigned int	h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % LIMIT_BUCKETS;
}

/* The entry of id in bucket h, or NULL; h's stripe is held. */
static struct limit_entry *
limit_find(const char *id, unsigned int h)
{
	struct limit_entry	*e;

	for (e = limit_table[h]; e != NULL; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

/* A new entry for token t, put in bucket h; h's stripe is held. */
static struct limit_entry *
limit_insert(const struct reg_token *t, unsigned int h, int64_t now_ms)
{
	struct limit_entry	*e;
	int64_t			 now = now_ms / 1000;

	e = xcalloc(1, sizeof(*e));
	e->bucket = h;
	memcpy(e->id, t->id, sizeof(e->id));
	e->id[sizeof(e->id) - 1] = '\0';
	/* Spend from the usage rollup, if it is this period's. */
	e->period_start = period_start(t->budget_period, now, NULL);
	if (t->spent_since == e->period_start)
		e->spent = t->spent;
	e->next = limit_table[h];
	limit_table[h] = e;
	return e;
}

/*
 * The token's entry with its stripe held, created on first use. A JWT
 * subject seen first takes limit_jwt_lock to count it against the cap
 * (and make room): NULL, and no stripe held, when there is none.
 */
static struct limit_entry *
limit_entry(const struct reg_token *t, int64_t now_ms)
{
	struct limit_entry	*e;
	unsigned int		 h = limit_hash(t->id);

	limit_lock(h);
	if ((e = limit_find(t->id, h)) != NULL || !limit_is_jwt(t->id))
		return e != NULL ? e : limit_insert(t, h, now_ms);
	limit_unlock(h);

	pthread_mutex_lock(&limit_jwt_lock);
	limit_lock(h);
	if ((e = limit_find(t->id, h)) != NULL) {	/* came meanwhile */
		pthread_mutex_unlock(&limit_jwt_lock);
		return e;
	}
	limit_unlock(h);
	if (limit_jwt_count >= limit_jwt_max && limit_jwt_evict(now_ms) ==
	    -1) {
		pthread_mutex_unlock(&limit_jwt_lock);
		return NULL;
	}
	limit_jwt_count++;
	/* None else inserts a JWT subject while limit_jwt_lock is held. */
	limit_lock(h);
	e = limit_insert(t, h, now_ms);
	pthread_mutex_unlock(&limit_jwt_lock);
	return e;
}

/* a + b for non-negative counts, at most INT64_MAX (backends' usage is input). */
static int64_t
limit_add(int64_t a, int64_t b)
{
	if (b < 0)
		b = 0;
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Start a new minute window when now is past the entry's. */
static void
limit_roll(struct limit_entry *e, int64_t now_ms)
{
	int64_t	w = now_ms / LIMIT_WINDOW_MS;

	if (e->window != w) {
		e->window = w;
		e->requests = 0;
		e->tokens = 0;
	}
}

/* What the window holds now, for the reply's x-ratelimit-* fields. */
static void
limit_state_fill(const struct reg_token *t, const struct limit_entry *e,
    int64_t now_ms, struct limit_state *st)
{
	st->requests_limit = t->rpm;
	st->requests_left = t->rpm > e->requests ? t->rpm - e->requests : 0;
	st->tokens_limit = t->tpm;
	st->tokens_left = t->tpm > e->tokens ? t->tpm - e->tokens : 0;
	st->reset_ms = (e->window + 1) * LIMIT_WINDOW_MS - now_ms;
}

/*
 * How limit_local() decides: as the only host (LOCAL); with Redis out of
 * reach (SHARE: rate limits at this host's share, budgets refused); or
 * after Redis admitted the request (RECORD: count it here, check nothing).
 */
enum limit_mode {
	LIMIT_MODE_LOCAL,
	LIMIT_MODE_SHARE,
	LIMIT_MODE_RECORD,
};

/* This host's share of a per-minute limit: limit / fleet-size, at least 1. */
static int64_t
limit_share(int64_t limit)
{
	int64_t	n = limit_redis_fleet_size();

	if (limit == 0 || n <= 1)
		return limit;
	return limit / n > 0 ? limit / n : 1;
}

static enum limit_result
limit_local(const struct reg_token *t, int64_t now_ms, int64_t estimate,
    struct limit_ticket *ticket, int *retry_after, enum limit_mode mode)
{
	struct limit_entry	*e;
	int64_t			 now = now_ms / 1000, start, next;
	int64_t			 rpm = t->rpm, tpm = t->tpm;
	enum limit_result	 rc = LIMIT_OK;
	size_t			 max;
	int			 said;

	if (mode == LIMIT_MODE_SHARE) {
		rpm = limit_share(rpm);
		tpm = limit_share(tpm);
	}
	if ((e = limit_entry(t, now_ms)) == NULL) {
		/* Every JWT subject is busy: refuse, said once a minute. */
		pthread_mutex_lock(&limit_jwt_lock);
		said = limit_jwt_said != now_ms / LIMIT_WINDOW_MS;
		limit_jwt_said = now_ms / LIMIT_WINDOW_MS;
		max = limit_jwt_max;
		pthread_mutex_unlock(&limit_jwt_lock);
		if (said)
			log_warnx("limit: %zu JWT subjects busy; refusing new"
			    " ones this minute", max);
		*retry_after = (int)((LIMIT_WINDOW_MS - now_ms %
		    LIMIT_WINDOW_MS + 999) / 1000);
		return LIMIT_RATE;
	}
	limit_roll(e, now_ms);
	start = period_start(t->budget_period, now, &next);
	if (e->period_start != start) {
		e->period_start = start;
		e->spent = 0;
	}
	if (mode != LIMIT_MODE_RECORD && ((rpm != 0 && e->requests >= rpm) ||
	    (tpm != 0 && e->tokens >= tpm))) {
		rc = LIMIT_RATE;
		*retry_after = (int)(((e->window + 1) * LIMIT_WINDOW_MS -
		    now_ms + 999) / 1000);
	} else if (mode == LIMIT_MODE_SHARE && t->budget != 0) {
		rc = LIMIT_UNAVAILABLE;	/* fail closed */
	} else if (mode == LIMIT_MODE_LOCAL && t->budget != 0 &&
	    (estimate > t->budget ||
	    limit_add(e->spent, e->reserved) > t->budget - estimate)) {
		rc = LIMIT_BUDGET;
		if (next != 0)
			*retry_after = (int)(next - now);
	} else {
		e->requests++;
		e->inflight++;
		e->used_ms = now_ms;
		if (t->budget != 0) {
			e->reserved += estimate;
			ticket->reserved = estimate;
		}
		ticket->entry = e;
	}
	limit_state_fill(t, e, now_ms, &ticket->state);
	if (mode == LIMIT_MODE_SHARE) {
		ticket->state.requests_limit = rpm;
		ticket->state.requests_left = rpm > e->requests ?
		    rpm - e->requests : 0;
		ticket->state.tokens_limit = tpm;
		ticket->state.tokens_left = tpm > e->tokens ? tpm - e->tokens :
		    0;
	}
	limit_unlock(e->bucket);
	return rc;
}

/*
 * Admit a request of token t that may cost up to estimate (nano-USD) at
 * now_ms (unix ms), or say which limit refuses it and, in *retry_after,
 * the seconds until it may pass (0: unknown or never). An admitted request
 * holds a ticket to settle with limit_settle() when it ends; either way
 * the ticket's state says what the minute window holds.
 */
enum limit_result
limit_acquire(const struct reg_token *t, int64_t now_ms, int64_t estimate,
    struct limit_ticket *ticket, int *retry_after)
{
	memset(ticket, 0, sizeof(*ticket));
	*retry_after = 0;
	if (t->rpm == 0 && t->tpm == 0 && t->budget == 0)
		return LIMIT_OK;
	return limit_local(t, now_ms, estimate, ticket, retry_after,
	    LIMIT_MODE_LOCAL);
}

/* --- shared through Redis (limit-redis.c carries the commands) ---------- */

/*
 * An acquire Redis has not answered yet. It copies what it needs of the
 * token: the registry snapshot the caller holds may go with a cancel.
 */
struct limit_pending {
	struct limit_ticket	*ticket;	/* NULL: cancelled */
	struct limit_redis		*redis;
	struct reg_token	 token;		/* scalars and id only */
	char			 domain[64];	/* its name: the fleet's */
	int64_t			 now_ms;
	int64_t			 estimate;
	int64_t			 period_start;
	int64_t			 period_next;
	limit_done		 done;
	void			*arg;
};

/* The keys' time to live (ms): the window's or period's end, and a margin. */
static void
limit_ttls(int64_t now_ms, int64_t period_next, int64_t *rate_ttl,
    int64_t *budget_ttl)
{
	*rate_ttl = (now_ms / LIMIT_WINDOW_MS + 1) * LIMIT_WINDOW_MS -
	    now_ms + 5000;
	/* A budget that never resets: kept while used, a year and more. */
	*budget_ttl = period_next == 0 ? INT64_C(400) * 86400000 :
	    (period_next - now_ms / 1000) * 1000 + 86400000;
	if (*budget_ttl <= 0)
		*budget_ttl = 86400000;
}

static int
limit_keys(struct limit_redis_keys *k, const char *domain, const char *token_id,
    int64_t now_ms, int64_t period_start)
{
	if (limit_redis_key(k->rate, sizeof(k->rate), limit_redis_prefix(),
	    domain, token_id, 'r', now_ms / LIMIT_WINDOW_MS) == -1 ||
	    limit_redis_key(k->budget, sizeof(k->budget), limit_redis_prefix(),
	    domain, token_id, 'b', period_start) == -1)
		return -1;
	return 0;
}

/* Give a reservation back to Redis: a cancelled request. */
static void
limit_release(struct limit_redis *c, const char *domain, const char *token_id,
    int64_t now_ms, int64_t period_start, int64_t period_next,
    int64_t tokens, int64_t reserved, int64_t cost)
{
	struct limit_redis_keys	k;
	int64_t			args[5];

	if (limit_keys(&k, domain, token_id, now_ms, period_start) == -1)
		return;
	args[0] = tokens > 0 ? tokens : 0;
	args[1] = -reserved;
	args[2] = cost > 0 ? cost : 0;
	limit_ttls(now_ms, period_next, &args[3], &args[4]);
	limit_redis_settle(c, &k, args);
}

/* The window as Redis counts it, for the reply's x-ratelimit-* fields. */
static void
limit_state_redis(const struct reg_token *t,
    const struct limit_redis_verdict *v, int64_t now_ms,
    struct limit_state *st)
{
	st->requests_limit = t->rpm;
	st->requests_left = t->rpm > v->requests ? t->rpm - v->requests : 0;
	st->tokens_limit = t->tpm;
	st->tokens_left = t->tpm > v->tokens ? t->tpm - v->tokens : 0;
	st->reset_ms = (now_ms / LIMIT_WINDOW_MS + 1) * LIMIT_WINDOW_MS -
	    now_ms;
}

static void
limit_on_verdict(void *arg, const struct limit_redis_verdict *v)
{
	struct limit_pending	*p = arg;
	struct limit_ticket	*ticket = p->ticket;
	enum limit_result	 rc;
	int			 retry = 0;

	if (ticket == NULL) {
		/* Cancelled: what Redis reserved for it goes back. */
		if (!v->error && v->verdict == 0)
			limit_release(p->redis, p->domain, p->token.id,
			    p->now_ms, p->period_start, p->period_next, 0,
			    p->token.budget != 0 ? p->estimate : 0, 0);
		free(p);
		return;
	}
	ticket->pending = NULL;
	if (v->error) {
		limit_redis_count_fallback();
		rc = limit_local(&p->token, p->now_ms, p->estimate, ticket,
		    &retry, LIMIT_MODE_SHARE);
	} else if (v->verdict == 0) {
		rc = limit_local(&p->token, p->now_ms, p->estimate, ticket,
		    &retry, LIMIT_MODE_RECORD);
		if (rc != LIMIT_OK) {
			/* No room to count it here (JWT subjects): give back. */
			limit_release(p->redis, p->domain, p->token.id,
			    p->now_ms, p->period_start, p->period_next, 0,
			    p->token.budget != 0 ? p->estimate : 0, 0);
			p->done(p->arg, rc, retry);
			free(p);
			return;
		}
		ticket->redis = p->redis;
		memcpy(ticket->domain, p->domain,
		    sizeof(ticket->domain));
		ticket->period_start = p->period_start;
		ticket->period_next = p->period_next;
		limit_state_redis(&p->token, v, p->now_ms, &ticket->state);
	} else {
		memset(ticket, 0, sizeof(*ticket));
		limit_state_redis(&p->token, v, p->now_ms, &ticket->state);
		if (v->verdict == 1) {
			rc = LIMIT_RATE;
			retry = (int)((ticket->state.reset_ms + 999) / 1000);
		} else {
			rc = LIMIT_BUDGET;
			if (p->period_next != 0)
				retry = (int)(p->period_next - p->now_ms /
				    1000);
		}
	}
	p->done(p->arg, rc, retry);
	free(p);
}

enum limit_result
limit_acquire_shared(const struct reg_token *t, int64_t now_ms,
    int64_t estimate, struct limit_ticket *ticket, int *retry_after,
    struct limit_redis *c, limit_done done, void *arg)
{
	struct limit_pending	*p;
	struct limit_redis_keys	 k;
	int64_t			 args[7], now = now_ms / 1000;

	if (c == NULL)
		return limit_acquire(t, now_ms, estimate, ticket, retry_after);
	memset(ticket, 0, sizeof(*ticket));
	*retry_after = 0;
	if (t->rpm == 0 && t->tpm == 0 && t->budget == 0)
		return LIMIT_OK;
	p = xcalloc(1, sizeof(*p));
	memcpy(p->token.id, t->id, sizeof(p->token.id));
	p->token.rpm = t->rpm;
	p->token.tpm = t->tpm;
	p->token.budget = t->budget;
	p->token.budget_period = t->budget_period;
	p->token.spent = t->spent;
	p->token.spent_since = t->spent_since;
	/*
	 * Named by the domain's name: ids are each agent's own, names are
	 * what export and apply carry from one agent to the next.
	 */
	snprintf(p->domain, sizeof(p->domain), "%s", t->domain != NULL &&
	    t->domain->name != NULL ? t->domain->name : "");
	p->now_ms = now_ms;
	p->estimate = estimate;
	p->period_start = period_start(t->budget_period, now,
	    &p->period_next);
	p->done = done;
	p->arg = arg;
	p->redis = c;
	p->ticket = ticket;
	args[0] = t->rpm;
	args[1] = t->tpm;
	args[2] = t->budget;
	args[3] = t->budget != 0 ? estimate : 0;
	/* A period Redis has not seen starts from what this host knows. */
	args[4] = t->budget != 0 ? limit_spent(t, now) : 0;
	limit_ttls(now_ms, p->period_next, &args[5], &args[6]);
	if (limit_keys(&k, p->domain, t->id, now_ms, p->period_start) ==
	    -1 || limit_redis_acquire(c, &k, args, limit_on_verdict, p) == -1) {
		free(p);
		limit_redis_count_fallback();
		return limit_local(t, now_ms, estimate, ticket, retry_after,
		    LIMIT_MODE_SHARE);
	}
	ticket->pending = p;
	return LIMIT_PENDING;
}

void
limit_cancel(struct limit_ticket *ticket)
{
	if (ticket->pending != NULL) {
		ticket->pending->ticket = NULL;
		ticket->pending = NULL;
	}
}

/*
 * A request ended having used tokens and cost (nano-USD): release its
 * reservation and count what it really took. Settling an empty or settled
 * ticket does nothing.
 */
void
limit_settle(struct limit_ticket *ticket, int64_t tokens, int64_t cost,
    int64_t now_ms)
{
	struct limit_entry	*e = ticket->entry;
	char			 id[sizeof(e->id)];

	limit_cancel(ticket);
	if (e == NULL)
		return;
	limit_lock(e->bucket);
	limit_roll(e, now_ms);
	e->tokens = limit_add(e->tokens, tokens);
	e->reserved -= ticket->reserved;
	e->inflight--;
	e->spent = limit_add(e->spent, cost);
	/* Once unlocked, an idle JWT entry may be evicted by another worker. */
	memcpy(id, e->id, sizeof(id));
	limit_unlock(e->bucket);
	if (ticket->redis != NULL && (tokens > 0 || ticket->reserved > 0 ||
	    cost > 0))
		limit_release(ticket->redis, ticket->domain, id,
		    now_ms > 0 ? now_ms : (int64_t)time(NULL) * 1000,
		    ticket->period_start, ticket->period_next, tokens,
		    ticket->reserved, cost);
	memset(ticket, 0, sizeof(*ticket));
}

/*
 * What token t has spent in its current budget period, as the limiter
 * knows it: settled costs, or the snapshot's when it has not been used.
 */
int64_t
limit_spent(const struct reg_token *t, int64_t now)
{
	struct limit_entry	*e;
	unsigned int		 h = limit_hash(t->id);
	int64_t			 start, spent = 0;

	start = period_start(t->budget_period, now, NULL);
	limit_lock(h);
	e = limit_find(t->id, h);
	if (e != NULL && e->period_start == start)
		spent = e->spent;
	else if (e == NULL && t->spent_since == start)
		spent = t->spent;
	limit_unlock(h);
	return spent;
}

/*
 * What token t's requests in flight hold of its budget now: their
 * estimates, until each settles. Read under its stripe's lock, from
 * memory only (token.list on the admin loop).
 */
int64_t
limit_reserved(const struct reg_token *t)
{
	struct limit_entry	*e;
	unsigned int		 h = limit_hash(t->id);
	int64_t			 reserved = 0;

	limit_lock(h);
	if ((e = limit_find(t->id, h)) != NULL)
		reserved = e->reserved > 0 ? e->reserved : 0;
	limit_unlock(h);
	return reserved;
}

/* Forget every counter: at shutdown, once no worker runs. */
void
limit_reset(void)
{
	struct limit_entry	*e, *next;
	size_t			 i;

	pthread_mutex_lock(&limit_jwt_lock);
	for (i = 0; i < LIMIT_BUCKETS; i++) {
		limit_lock(i);
		for (e = limit_table[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		limit_table[i] = NULL;
		limit_unlock(i);
	}
	limit_jwt_count = 0;
	pthread_mutex_unlock(&limit_jwt_lock);
}

char *
limit_duration_format(int64_t ms, char out[LIMIT_DURATION_MAX])
{
	struct textbuf	b;
	int64_t		frac;
	int		digits;

	textbuf_init(&b, out, LIMIT_DURATION_MAX);
	if (ms <= 0) {
		textbuf_lit(&b, "0s");
		return out;
	}
	if (ms < 1000) {
		textbuf_u64(&b, (uint64_t)ms);
		textbuf_lit(&b, "ms");
		return out;
	}
	if (ms >= 3600000) {
		textbuf_u64(&b, (uint64_t)(ms / 3600000));
		textbuf_lit(&b, "h");
	}
	if (ms >= 60000) {
		textbuf_u64(&b, (uint64_t)(ms / 60000 % 60));
		textbuf_lit(&b, "m");
	}
	textbuf_u64(&b, (uint64_t)(ms / 1000 % 60));
	/* The milliseconds with their trailing zeros dropped: "17.28s". */
	if ((frac = ms % 1000) != 0) {
		for (digits = 3; frac % 10 == 0; digits--)
			frac /= 10;
		textbuf_lit(&b, ".");
		if (digits == 3 && frac < 100)
			textbuf_lit(&b, "0");
		if (digits >= 2 && frac < 10)
			textbuf_lit(&b, "0");
		textbuf_u64(&b, (uint64_t)frac);
	}
	textbuf_lit(&b, "s");
	return out;
}

/* name: v, as a field every reply to r carries. */
static void
limit_field_int(struct http_request *r, const char *name, int64_t v)
{
	char		text[TEXTBUF_U64_MAX + 2];
	struct textbuf	b;

	textbuf_init(&b, text, sizeof(text));
	textbuf_i64(&b, v);
	http_request_field(r, name, b.s, b.len);
}

void
limit_fields(struct http_request *r, const struct limit_state *st)
{
	char	reset[LIMIT_DURATION_MAX];

	limit_duration_format(st->reset_ms, reset);
	if (st->requests_limit > 0) {
		limit_field_int(r, "x-ratelimit-limit-requests",
		    st->requests_limit);
		limit_field_int(r, "x-ratelimit-remaining-requests",
		    st->requests_left);
		http_request_field(r, "x-ratelimit-reset-requests", reset,
		    strlen(reset));
	}
	if (st->tokens_limit > 0) {
		limit_field_int(r, "x-ratelimit-limit-tokens",
		    st->tokens_limit);
		limit_field_int(r, "x-ratelimit-remaining-tokens",
		    st->tokens_left);
		http_request_field(r, "x-ratelimit-reset-tokens", reset,
		    strlen(reset));
	}
}
