/*
 * Per-token limits shared by every worker thread: requests and tokens per
 * minute, and a spend budget that requests reserve before they go upstream
 * and settle when they end, so concurrent requests cannot overspend it.
 * One mutex-protected table keyed by token id; tokens without limits never
 * touch it. No SQLite here: spend at start comes in the registry snapshot.
 * JWT subjects (ids "jwt:...") come and go without an admin's say, so
 * their entries are capped: past LIMIT_JWT_MAX an idle one (nothing in
 * flight, not used this minute) makes room, the least recently used
 * first; when none is idle the request is refused, never the cap raised.
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
#include "xmalloc.h"

#define LIMIT_BUCKETS		1024
#define LIMIT_WINDOW_MS		60000	/* fixed windows, on the minute */
#define LIMIT_DEFAULT_OUTPUT	4096	/* reserved when max_tokens is unset */
#define LIMIT_JWT_MAX		10000	/* entries for JWT subjects */

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
};

static pthread_mutex_t		 limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct limit_entry	*limit_table[LIMIT_BUCKETS];
static size_t			 limit_jwt_count;
static size_t			 limit_jwt_max = LIMIT_JWT_MAX;
static int64_t			 limit_jwt_said;	/* the minute said */

static int
limit_is_jwt(const char *id)
{
	return strncmp(id, JWT_ID_PREFIX, sizeof(JWT_ID_PREFIX) - 1) == 0;
}

/* For tests: the cap on JWT subjects' entries (0: the default). */
void
limit_jwt_cap(size_t max)
{
	pthread_mutex_lock(&limit_lock);
	limit_jwt_max = max > 0 ? max : LIMIT_JWT_MAX;
	pthread_mutex_unlock(&limit_lock);
}

/* How many JWT subjects the limiter holds now. */
size_t
limit_jwt_entries(void)
{
	size_t	n;

	pthread_mutex_lock(&limit_lock);
	n = limit_jwt_count;
	pthread_mutex_unlock(&limit_lock);
	return n;
}

/*
 * Make room for one more JWT subject: free the least recently used idle
 * one (no ticket holds it, not used this minute). 0, or -1 when every
 * entry is busy. The lock is held.
 */
static int
limit_jwt_evict(int64_t now_ms)
{
	struct limit_entry	*e, **pp, **victim = NULL;
	size_t			 i;

	for (i = 0; i < LIMIT_BUCKETS; i++)
		for (pp = &limit_table[i]; (e = *pp) != NULL; pp = &e->next)
			if (limit_is_jwt(e->id) && e->inflight == 0 &&
			    e->window != now_ms / LIMIT_WINDOW_MS &&
			    (victim == NULL || e->used_ms < (*victim)->used_ms))
				victim = pp;
	if (victim == NULL)
		return -1;
	e = *victim;
	*victim = e->next;
	free(e);
	limit_jwt_count--;
	return 0;
}

static const char *const limit_periods[] = {
	[LIMIT_PERIOD_NONE] = "none",
	[LIMIT_PERIOD_DAY] = "day",
	[LIMIT_PERIOD_WEEK] = "week",
	[LIMIT_PERIOD_MONTH] = "month",
};

int
limit_period_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(limit_periods) / sizeof(limit_periods[0]); i++)
		if (strcmp(name, limit_periods[i]) == 0)
			return (int)i;
	return -1;
}

const char *
limit_period_name(int period)
{
	if (period < 0 || (size_t)period >=
	    sizeof(limit_periods) / sizeof(limit_periods[0]))
		return "none";
	return limit_periods[period];
}

/*
 * The start of the budget period holding now (unix seconds, UTC), or 0
 * for a budget that never resets; with next, the start of the one after.
 * Weeks start on Monday.
 */
int64_t
limit_period_start(int period, int64_t now, int64_t *next)
{
	struct tm	tm;
	time_t		t = (time_t)now;
	int64_t		day = now - now % 86400, start;

	if (next != NULL)
		*next = 0;
	switch (period) {
	case LIMIT_PERIOD_DAY:
		if (next != NULL)
			*next = day + 86400;
		return day;
	case LIMIT_PERIOD_WEEK:
		/* 1970-01-01 was a Thursday: Monday is 3 days earlier. */
		start = day - ((now / 86400 + 3) % 7) * 86400;
		if (next != NULL)
			*next = start + 7 * 86400;
		return start;
	case LIMIT_PERIOD_MONTH:
		gmtime_r(&t, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		start = (int64_t)timegm(&tm);
		if (next != NULL) {
			tm.tm_mon++;
			*next = (int64_t)timegm(&tm);
		}
		return start;
	default:
		return 0;
	}
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

/*
 * The token's entry, created on first use; the lock is held. NULL when a
 * JWT subject finds no room.
 */
static struct limit_entry *
limit_entry(const struct reg_token *t, int64_t now_ms)
{
	struct limit_entry	*e;
	unsigned int		 h = limit_hash(t->id);
	int64_t			 now = now_ms / 1000;

	for (e = limit_table[h]; e != NULL; e = e->next)
		if (strcmp(e->id, t->id) == 0)
			return e;
	if (limit_is_jwt(t->id)) {
		if (limit_jwt_count >= limit_jwt_max &&
		    limit_jwt_evict(now_ms) == -1)
			return NULL;
		limit_jwt_count++;
	}
	e = xcalloc(1, sizeof(*e));
	memcpy(e->id, t->id, sizeof(e->id));
	e->id[sizeof(e->id) - 1] = '\0';
	/* Spend from the usage rollup, if it is this period's. */
	e->period_start = limit_period_start(t->budget_period, now, NULL);
	if (t->spent_since == e->period_start)
		e->spent = t->spent;
	e->next = limit_table[h];
	limit_table[h] = e;
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
	struct limit_entry	*e;
	int64_t			 now = now_ms / 1000, start, next;
	enum limit_result	 rc = LIMIT_OK;
	int			 said;

	memset(ticket, 0, sizeof(*ticket));
	*retry_after = 0;
	if (t->rpm == 0 && t->tpm == 0 && t->budget == 0)
		return LIMIT_OK;
	pthread_mutex_lock(&limit_lock);
	if ((e = limit_entry(t, now_ms)) == NULL) {
		/* Every JWT subject is busy: refuse, said once a minute. */
		said = limit_jwt_said != now_ms / LIMIT_WINDOW_MS;
		limit_jwt_said = now_ms / LIMIT_WINDOW_MS;
		pthread_mutex_unlock(&limit_lock);
		if (said)
			log_warnx("limit: %zu JWT subjects busy; refusing new"
			    " ones this minute", limit_jwt_max);
		*retry_after = (int)((LIMIT_WINDOW_MS - now_ms %
		    LIMIT_WINDOW_MS + 999) / 1000);
		return LIMIT_RATE;
	}
	limit_roll(e, now_ms);
	start = limit_period_start(t->budget_period, now, &next);
	if (e->period_start != start) {
		e->period_start = start;
		e->spent = 0;
	}
	if ((t->rpm != 0 && e->requests >= t->rpm) ||
	    (t->tpm != 0 && e->tokens >= t->tpm)) {
		rc = LIMIT_RATE;
		*retry_after = (int)(((e->window + 1) * LIMIT_WINDOW_MS -
		    now_ms + 999) / 1000);
	} else if (t->budget != 0 && (estimate > t->budget ||
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
	pthread_mutex_unlock(&limit_lock);
	return rc;
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

	if (e == NULL)
		return;
	pthread_mutex_lock(&limit_lock);
	limit_roll(e, now_ms);
	e->tokens = limit_add(e->tokens, tokens);
	e->reserved -= ticket->reserved;
	e->inflight--;
	e->spent = limit_add(e->spent, cost);
	pthread_mutex_unlock(&limit_lock);
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
	int64_t			 start, spent = 0;

	start = limit_period_start(t->budget_period, now, NULL);
	pthread_mutex_lock(&limit_lock);
	for (e = limit_table[limit_hash(t->id)]; e != NULL; e = e->next)
		if (strcmp(e->id, t->id) == 0)
			break;
	if (e != NULL && e->period_start == start)
		spent = e->spent;
	else if (e == NULL && t->spent_since == start)
		spent = t->spent;
	pthread_mutex_unlock(&limit_lock);
	return spent;
}

/*
 * What token t's requests in flight hold of its budget now: their
 * estimates, until each settles. Read under the limiter's lock, from
 * memory only (token.list on the admin loop).
 */
int64_t
limit_reserved(const struct reg_token *t)
{
	struct limit_entry	*e;
	int64_t			 reserved = 0;

	pthread_mutex_lock(&limit_lock);
	for (e = limit_table[limit_hash(t->id)]; e != NULL; e = e->next)
		if (strcmp(e->id, t->id) == 0) {
			reserved = e->reserved > 0 ? e->reserved : 0;
			break;
		}
	pthread_mutex_unlock(&limit_lock);
	return reserved;
}

/* Forget every counter: at shutdown, once no worker runs. */
void
limit_reset(void)
{
	struct limit_entry	*e, *next;
	size_t			 i;

	pthread_mutex_lock(&limit_lock);
	for (i = 0; i < LIMIT_BUCKETS; i++) {
		for (e = limit_table[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		limit_table[i] = NULL;
	}
	limit_jwt_count = 0;
	pthread_mutex_unlock(&limit_lock);
}

char *
limit_duration_format(int64_t ms, char out[LIMIT_DURATION_MAX])
{
	char	frac[4];
	int	n = 0, i, m, sec;

	if (ms <= 0) {
		snprintf(out, LIMIT_DURATION_MAX, "0s");
		return out;
	}
	if (ms < 1000) {
		snprintf(out, LIMIT_DURATION_MAX, "%dms", (int)ms);
		return out;
	}
	m = (int)(ms / 60000 % 60);
	sec = (int)(ms / 1000 % 60);
	if (ms >= 3600000)
		n = snprintf(out, LIMIT_DURATION_MAX, "%" PRId64 "h%dm",
		    ms / 3600000, m);
	else if (m > 0)
		n = snprintf(out, LIMIT_DURATION_MAX, "%dm", m);
	/* Seconds with the milliseconds' trailing zeros dropped: "17.28s". */
	snprintf(frac, sizeof(frac), "%03d", (int)(ms % 1000));
	for (i = 3; i > 0 && frac[i - 1] == '0'; i--)
		frac[i - 1] = '\0';
	snprintf(out + n, LIMIT_DURATION_MAX - n, "%d%s%ss", sec,
	    i > 0 ? "." : "", frac);
	return out;
}

void
limit_fields(struct http_request *r, const struct limit_state *st)
{
	char	reset[LIMIT_DURATION_MAX];

	limit_duration_format(st->reset_ms, reset);
	if (st->requests_limit > 0) {
		http_request_field(r, "x-ratelimit-limit-requests", "%" PRId64,
		    st->requests_limit);
		http_request_field(r, "x-ratelimit-remaining-requests", "%"
		    PRId64, st->requests_left);
		http_request_field(r, "x-ratelimit-reset-requests", "%s",
		    reset);
	}
	if (st->tokens_limit > 0) {
		http_request_field(r, "x-ratelimit-limit-tokens", "%" PRId64,
		    st->tokens_limit);
		http_request_field(r, "x-ratelimit-remaining-tokens", "%"
		    PRId64, st->tokens_left);
		http_request_field(r, "x-ratelimit-reset-tokens", "%s", reset);
	}
}
