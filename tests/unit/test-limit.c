/* limit.c: minute windows, budget reservation and settlement, periods, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "agent.h"

#define MIN_MS		INT64_C(60000)
#define T0		(INT64_C(1780000020) * 1000)	/* a minute's start */

static struct reg_token
token(const char *id, int64_t rpm, int64_t tpm, int64_t budget)
{
	struct reg_token	t;

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.rpm = rpm;
	t.tpm = tpm;
	t.budget = budget;
	return t;
}

static int
teardown(void **state)
{
	(void)state;
	limit_reset();
	return 0;
}

/* The rpm+1th request of a minute is refused until the next minute. */
static void
test_rpm(void **state)
{
	struct reg_token	t = token("tok_rpm", 3, 0, 0);
	struct limit_ticket	k;
	int			i, retry;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(limit_acquire(&t, T0 + 1000 * i, 0, &k,
		    &retry), LIMIT_OK);
		assert_non_null(k.entry);
		limit_settle(&k, 10, 0, T0 + 1000 * i);
		assert_null(k.entry);
	}
	assert_int_equal(limit_acquire(&t, T0 + 20500, 0, &k, &retry),
	    LIMIT_RATE);
	assert_null(k.entry);
	assert_int_equal(retry, 40);	/* 39.5 s, rounded up */
	assert_int_equal(limit_acquire(&t, T0 + MIN_MS, 0, &k, &retry),
	    LIMIT_OK);
	limit_settle(&k, 0, 0, T0 + MIN_MS);
}

/* Tokens count when requests end; over tpm, refused until next minute. */
static void
test_tpm(void **state)
{
	struct reg_token	t = token("tok_tpm", 0, 100, 0);
	struct limit_ticket	a, b;
	int			retry;

	(void)state;
	assert_int_equal(limit_acquire(&t, T0, 0, &a, &retry), LIMIT_OK);
	assert_int_equal(limit_acquire(&t, T0, 0, &b, &retry), LIMIT_OK);
	limit_settle(&a, 60, 0, T0 + 100);
	assert_int_equal(limit_acquire(&t, T0 + 200, 0, &a, &retry),
	    LIMIT_OK);
	limit_settle(&a, 0, 0, T0 + 200);
	limit_settle(&b, 40, 0, T0 + 300);	/* now at 100: over */
	assert_int_equal(limit_acquire(&t, T0 + 1000, 0, &a, &retry),
	    LIMIT_RATE);
	assert_int_equal(retry, 59);
	assert_int_equal(limit_acquire(&t, T0 + MIN_MS + 1, 0, &a, &retry),
	    LIMIT_OK);
	limit_settle(&a, 0, 0, T0 + MIN_MS + 1);
}

/* A reservation holds its estimate; settlement swaps it for the cost. */
static void
test_budget_settle(void **state)
{
	struct reg_token	t = token("tok_budget", 0, 0, 1000);
	struct limit_ticket	a, b, c;
	int			retry;

	(void)state;
	assert_int_equal(limit_reserved(&t), 0);
	assert_int_equal(limit_acquire(&t, T0, 400, &a, &retry), LIMIT_OK);
	assert_int_equal(limit_reserved(&t), 400);
	assert_int_equal(limit_acquire(&t, T0, 400, &b, &retry), LIMIT_OK);
	assert_int_equal(limit_reserved(&t), 800);
	assert_int_equal(limit_acquire(&t, T0, 400, &c, &retry),
	    LIMIT_BUDGET);
	assert_int_equal(limit_reserved(&t), 800);	/* refused: holds none */
	assert_int_equal(retry, 0);	/* no period: waiting does not help */
	limit_settle(&a, 5, 100, T0);	/* cost less than reserved */
	assert_int_equal(limit_spent(&t, T0 / 1000), 100);
	assert_int_equal(limit_reserved(&t), 400);
	assert_int_equal(limit_acquire(&t, T0, 400, &c, &retry), LIMIT_OK);
	limit_settle(&b, 5, 400, T0);
	limit_settle(&c, 5, 400, T0);
	assert_int_equal(limit_spent(&t, T0 / 1000), 900);
	assert_int_equal(limit_acquire(&t, T0, 101, &a, &retry),
	    LIMIT_BUDGET);
	assert_int_equal(limit_acquire(&t, T0, 100, &a, &retry), LIMIT_OK);
	limit_settle(&a, 0, 0, T0);	/* released: nothing spent */
	assert_int_equal(limit_spent(&t, T0 / 1000), 900);
	/* Absurd estimates and costs (a backend's usage) do not overflow. */
	assert_int_equal(limit_acquire(&t, T0, INT64_MAX, &a, &retry),
	    LIMIT_BUDGET);
	assert_int_equal(limit_acquire(&t, T0, 0, &a, &retry), LIMIT_OK);
	limit_settle(&a, INT64_MAX, INT64_MAX, T0);
	assert_int_equal(limit_spent(&t, T0 / 1000), INT64_MAX);
	assert_int_equal(limit_acquire(&t, T0, INT64_MAX, &a, &retry),
	    LIMIT_BUDGET);
	assert_int_equal(limit_acquire(&t, T0, 0, &a, &retry), LIMIT_BUDGET);
}

/* Spend from the snapshot counts in its period only; periods reset it. */
static void
test_budget_period(void **state)
{
	struct reg_token	t = token("tok_day", 0, 0, 1000);
	struct limit_ticket	k;
	int64_t			now = T0 / 1000, next, day;
	int			retry;

	(void)state;
	t.budget_period = PERIOD_DAY;
	day = period_start(PERIOD_DAY, now, &next);
	assert_int_equal(day % 86400, 0);
	assert_int_equal(next, day + 86400);
	t.spent_since = day;
	t.spent = 1000;
	assert_int_equal(limit_acquire(&t, T0, 1, &k, &retry), LIMIT_BUDGET);
	assert_int_equal(retry, next - now);
	/* The next day, the budget is whole again. */
	assert_int_equal(limit_acquire(&t, next * 1000, 1000, &k, &retry),
	    LIMIT_OK);
	limit_settle(&k, 0, 10, next * 1000);
	assert_int_equal(limit_spent(&t, next), 10);

	/* Spend of a past period is not this one's. */
	t = token("tok_stale", 0, 0, 1000);
	t.budget_period = PERIOD_DAY;
	t.spent_since = day - 86400;
	t.spent = 1000;
	assert_int_equal(limit_spent(&t, now), 0);
	assert_int_equal(limit_acquire(&t, T0, 1000, &k, &retry), LIMIT_OK);
	limit_settle(&k, 0, 0, T0);
}

/* Week and month boundaries, UTC. */
static void
test_period_start(void **state)
{
	int64_t	next;

	(void)state;
	/* 2026-12-02 (a Wednesday) 13:00 UTC. */
	assert_int_equal(period_start(PERIOD_WEEK, 1796216400,
	    &next), 1795996800);	/* Monday 2026-11-30 */
	assert_int_equal(next, 1796601600);
	assert_int_equal(period_start(PERIOD_MONTH, 1796216400,
	    &next), 1796083200);	/* 2026-12-01 */
	assert_int_equal(next, 1798761600);	/* 2027-01-01 */
	assert_int_equal(period_start(PERIOD_NONE, 1796216400,
	    &next), 0);
	assert_int_equal(next, 0);
	assert_int_equal(period_parse("week"), PERIOD_WEEK);
	assert_int_equal(period_parse("year"), -1);
	assert_string_equal(period_name(PERIOD_MONTH), "month");
}

/* Tokens without limits are not counted (nothing to settle). */
static void
test_unlimited(void **state)
{
	struct reg_token	t = token("tok_free", 0, 0, 0);
	struct limit_ticket	k;
	int			retry, i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_int_equal(limit_acquire(&t, T0, 1000000, &k, &retry),
		    LIMIT_OK);
	assert_null(k.entry);
}

#define THREADS		16
#define PER_THREAD	500

struct racer {
	struct reg_token	*t;
	int			 admitted;
};

static void *
racer_run(void *arg)
{
	struct racer		*r = arg;
	struct limit_ticket	 k;
	int			 i, retry;

	for (i = 0; i < PER_THREAD; i++) {
		if (limit_acquire(r->t, T0, 10, &k, &retry) != LIMIT_OK)
			continue;
		r->admitted++;
		limit_settle(&k, 1, 10, T0);
	}
	return NULL;
}

/* Threads racing for a budget of exactly 100 requests get exactly 100. */
static void
test_threads(void **state)
{
	struct reg_token	t = token("tok_race", 0, 0, 1000);
	struct racer		r[THREADS];
	pthread_t		th[THREADS];
	int			i, total = 0;

	(void)state;
	for (i = 0; i < THREADS; i++) {
		r[i].t = &t;
		r[i].admitted = 0;
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &r[i]),
		    0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += r[i].admitted;
	}
	assert_int_equal(total, 100);
	assert_int_equal(limit_spent(&t, T0 / 1000), 1000);
}

#define NTOKENS		24
#define JWT_CAP		16

static struct reg_token	many[NTOKENS];
static int		many_admitted[THREADS][NTOKENS];
static int		jwt_admitted[THREADS];

/* Each thread: every token in turn, and JWT subjects of its own. */
static void *
many_run(void *arg)
{
	struct reg_token	 jt;
	struct limit_ticket	 k;
	int			 n = (int)(intptr_t)arg, i, j, retry;

	for (i = 0; i < 40; i++)
		for (j = 0; j < NTOKENS; j++) {
			if (limit_acquire(&many[j], T0, 0, &k, &retry) !=
			    LIMIT_OK)
				continue;
			many_admitted[n][j]++;
			limit_settle(&k, 1, 0, T0);
		}
	memset(&jt, 0, sizeof(jt));
	jt.rpm = 1000;
	for (i = 0; i < 8; i++) {
		snprintf(jt.id, sizeof(jt.id), "jwt:%02d:%02d", n, i);
		if (limit_acquire(&jt, T0, 0, &k, &retry) != LIMIT_OK)
			continue;
		jwt_admitted[n]++;
		limit_settle(&k, 0, 0, T0);
	}
	return NULL;
}

/*
 * Many tokens on many threads (the striped locks): each token gets
 * exactly its rpm, and JWT subjects seen first at once never pass the
 * cap (all used this minute: none may be evicted).
 */
static void
test_threads_many_tokens(void **state)
{
	pthread_t	th[THREADS];
	int		i, j, total;

	(void)state;
	limit_jwt_cap(JWT_CAP);
	memset(many_admitted, 0, sizeof(many_admitted));
	memset(jwt_admitted, 0, sizeof(jwt_admitted));
	for (j = 0; j < NTOKENS; j++) {
		char	id[32];

		snprintf(id, sizeof(id), "tok_many_%02d", j);
		many[j] = token(id, 50 + j, 0, 0);
	}
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, many_run,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (j = 0; j < NTOKENS; j++) {
		for (total = 0, i = 0; i < THREADS; i++)
			total += many_admitted[i][j];
		assert_int_equal(total, 50 + j);
	}
	for (total = 0, i = 0; i < THREADS; i++)
		total += jwt_admitted[i];
	assert_int_equal(total, JWT_CAP);
	assert_int_equal(limit_jwt_entries(), JWT_CAP);
	limit_jwt_cap(0);
}

/* Durations as OpenAI (Go) writes them in x-ratelimit-reset-*. */
static void
test_duration_format(void **state)
{
	static const struct {
		int64_t		 ms;
		const char	*want;
	} cases[] = {
		{ -5, "0s" }, { 0, "0s" }, { 1, "1ms" }, { 250, "250ms" },
		{ 999, "999ms" }, { 1000, "1s" }, { 6000, "6s" },
		{ 17280, "17.28s" }, { 1500, "1.5s" }, { 1001, "1.001s" },
		{ 1050, "1.05s" }, { 1040, "1.04s" }, { 1010, "1.01s" },
		{ 59999, "59.999s" }, { 60000, "1m0s" }, { 61500, "1m1.5s" },
		{ 360000, "6m0s" }, { 3600000, "1h0m0s" },
		{ 3723004, "1h2m3.004s" },
		{ INT64_MAX, "2562047788015h12m55.807s" },
	};
	char	out[LIMIT_DURATION_MAX];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(limit_duration_format(cases[i].ms, out),
		    cases[i].want);
}

/* The ticket says what the window holds after counting the request. */
static void
test_state(void **state)
{
	struct reg_token	t = token("tok_state", 2, 100, 0);
	struct reg_token	u = token("tok_budget", 0, 0, 1000);
	struct limit_ticket	k;
	int			retry;

	(void)state;
	assert_int_equal(limit_acquire(&t, T0 + 6000, 0, &k, &retry),
	    LIMIT_OK);
	assert_int_equal(k.state.requests_limit, 2);
	assert_int_equal(k.state.requests_left, 1);
	assert_int_equal(k.state.tokens_limit, 100);
	assert_int_equal(k.state.tokens_left, 100);
	assert_int_equal(k.state.reset_ms, 54000);
	limit_settle(&k, 30, 0, T0 + 6000);
	assert_int_equal(limit_acquire(&t, T0 + 59500, 0, &k, &retry),
	    LIMIT_OK);
	assert_int_equal(k.state.requests_left, 0);
	assert_int_equal(k.state.tokens_left, 70);
	assert_int_equal(k.state.reset_ms, 500);
	limit_settle(&k, 200, 0, T0 + 59500);
	/* Refused: the state still tells, and never goes below zero. */
	assert_int_equal(limit_acquire(&t, T0 + 59600, 0, &k, &retry),
	    LIMIT_RATE);
	assert_int_equal(k.state.requests_left, 0);
	assert_int_equal(k.state.tokens_left, 0);
	assert_int_equal(k.state.reset_ms, 400);
	/* A budget alone: no rate limit to tell. */
	assert_int_equal(limit_acquire(&u, T0, 10, &k, &retry), LIMIT_OK);
	assert_int_equal(k.state.requests_limit, 0);
	assert_int_equal(k.state.tokens_limit, 0);
	limit_settle(&k, 0, 0, T0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rpm, teardown),
		cmocka_unit_test_teardown(test_tpm, teardown),
		cmocka_unit_test_teardown(test_budget_settle, teardown),
		cmocka_unit_test_teardown(test_budget_period, teardown),
		cmocka_unit_test(test_period_start),
		cmocka_unit_test_teardown(test_unlimited, teardown),
		cmocka_unit_test_teardown(test_threads, teardown),
		cmocka_unit_test_teardown(test_threads_many_tokens, teardown),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test_teardown(test_state, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
