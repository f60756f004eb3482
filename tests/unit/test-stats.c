/*
 * stats.c: the windows' buckets (empty windows, a second rolling over,
 * windows sliding past a bucket, a gap of hours, a clock going back), the
 * log-scale histograms and their percentiles, spend today, and the caps
 * on series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

#define DAY_MS	(86400 * INT64_C(1000))

static struct trace *
mk(const char *domain, const char *model, int status, int64_t latency,
    int64_t ttft, int stream)
{
	struct trace	*t = trace_new();

	snprintf(t->domain_id, sizeof(t->domain_id), "%s", domain);
	if (model != NULL)
		trace_set_names(t, model, strlen(model), NULL, NULL);
	t->status = status;
	t->latency_ms = latency;
	t->ttft_ms = ttft;
	t->stream = stream;
	t->time_ms = 20000 * DAY_MS + 1000;
	return t;
}

static void
add(struct stats *s, const char *model, int64_t latency, int64_t now)
{
	struct trace	*t = mk("d1", model, 200, latency, -1, 0);

	stats_add(s, t, now);
	trace_free(t);
}

/* The host's requests in window w at now. */
static int64_t
host_requests(struct stats *s, int64_t now, enum stats_window w)
{
	struct stats_row	 host, *rows;

	stats_read(s, now, 0, NULL, NULL, &host, &rows);
	free(rows);
	return host.window[w].requests;
}

static int
setup(void **state)
{
	*state = stats_new();
	return 0;
}

static int
teardown(void **state)
{
	stats_free(*state);
	return 0;
}

static void
test_empty(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	struct stats_hist	 h;
	size_t			 w;

	assert_int_equal(stats_read(s, 1000, 0, NULL, NULL, &host, &rows), 0);
	assert_null(rows);
	for (w = 0; w < STATS_NWINDOWS; w++) {
		assert_int_equal(host.window[w].requests, 0);
		assert_int_equal(stats_percentile(&host.window[w].latency, 0.5),
		    -1);
	}
	memset(&h, 0, sizeof(h));
	assert_int_equal(stats_percentile(&h, 0.99), -1);
	/* Empty again once the window has passed its only request. */
	add(s, "m", 10, 1000);
	assert_int_equal(host_requests(s, 1000, STATS_1M), 1);
	assert_int_equal(host_requests(s, 1060, STATS_1M), 0);
	assert_int_equal(host_requests(s, 1000 + 3600, STATS_1H), 0);
	assert_int_equal(stats_read(s, 5000, 0, NULL, NULL, &host, &rows), 1);
	assert_int_equal(rows[0].window[STATS_1M].requests, 0);
	assert_int_equal(stats_percentile(&rows[0].window[STATS_1M].latency,
	    0.5), -1);
	free(rows);
}

static void
test_window_seconds(void **state)
{
	(void)state;
	assert_int_equal(stats_window_seconds(STATS_1M), 60);
	assert_int_equal(stats_window_seconds(STATS_5M), 300);
	assert_int_equal(stats_window_seconds(STATS_1H), 3600);
}

/* Two seconds, then the window slides past the first one. */
static void
test_rollover(void **state)
{
	struct stats	*s = *state;

	add(s, "m", 10, 100);
	add(s, "m", 10, 100);
	add(s, "m", 10, 101);
	assert_int_equal(host_requests(s, 101, STATS_1M), 3);
	assert_int_equal(host_requests(s, 159, STATS_1M), 3);
	assert_int_equal(host_requests(s, 160, STATS_1M), 1);
	assert_int_equal(host_requests(s, 161, STATS_1M), 0);
	/* Ten-second buckets: 5 min covers 290 to 300 s back. */
	assert_int_equal(host_requests(s, 389, STATS_5M), 3);
	assert_int_equal(host_requests(s, 400, STATS_5M), 0);
	/* Minute buckets for the hour. */
	assert_int_equal(host_requests(s, 100 + 3500, STATS_1H), 3);
	assert_int_equal(host_requests(s, 60 + 3600, STATS_1H), 0);
	/* A new request in a reused slot does not inherit the old counts. */
	add(s, "m", 10, 160);
	assert_int_equal(host_requests(s, 160, STATS_1M), 2);
}

/* Hours of silence: the reused buckets start from zero. */
static void
test_gap(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	size_t			 w;

	add(s, "m", 10, 1000);
	add(s, "m", 20, 1000 + 3 * 3600);
	stats_read(s, 1000 + 3 * 3600, 0, NULL, NULL, &host, &rows);
	for (w = 0; w < STATS_NWINDOWS; w++) {
		assert_int_equal(host.window[w].requests, 1);
		assert_int_equal(stats_percentile(&host.window[w].latency,
		    0.5), 20);
	}
	free(rows);
}

/* A clock that goes back counts as the newest second, losing nothing. */
static void
test_clock_back(void **state)
{
	struct stats	*s = *state;

	add(s, "m", 10, 5000);
	add(s, "m", 10, 4000);
	assert_int_equal(host_requests(s, 4000, STATS_1M), 2);
	assert_int_equal(host_requests(s, 5000, STATS_1M), 2);
	assert_int_equal(host_requests(s, 5059, STATS_1M), 2);
	assert_int_equal(host_requests(s, 5060, STATS_1M), 0);
}

static void
test_bins(void **state)
{
	int64_t	ms;
	int	prev = 0, b;

	(void)state;
	assert_int_equal(stats_bin(-5), 0);
	assert_int_equal(stats_bin(0), 0);
	assert_int_equal(stats_bin(1), 1);
	assert_int_equal(stats_bin(2), 4);
	assert_int_equal(stats_bin(INT64_MAX), STATS_BINS - 1);
	for (ms = 0; ms < 4000000; ms = ms < 100 ? ms + 1 : ms * 11 / 10) {
		b = stats_bin(ms);
		assert_true(b >= prev);
		assert_true(b < STATS_BINS);
		prev = b;
	}
}

static void
test_percentiles(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	struct stats_hist	*h;
	int64_t			 i, p50, p99;

	/* Equal durations: that duration exactly. */
	for (i = 0; i < 10; i++)
		add(s, "m", 250, 100);
	stats_read(s, 100, 0, NULL, NULL, &host, &rows);
	free(rows);
	h = &host.window[STATS_1M].latency;
	assert_int_equal(stats_percentile(h, 0.5), 250);
	assert_int_equal(stats_percentile(h, 0.99), 250);
	assert_int_equal(stats_percentile(h, 0), 250);
	assert_int_equal(stats_percentile(h, 7), 250);
	/* 1..1000 ms: within the bins' width of the true figures. */
	for (i = 1; i <= 1000; i++)
		add(s, "n", i, 200);
	stats_read(s, 200, 0, NULL, "n", &host, &rows);
	p50 = stats_percentile(&rows[0].window[STATS_1M].latency, 0.5);
	p99 = stats_percentile(&rows[0].window[STATS_1M].latency, 0.99);
	assert_true(p50 >= 500 * 3 / 4 && p50 <= 500 * 5 / 4);
	assert_true(p99 >= 990 * 3 / 4 && p99 <= 1000);
	assert_int_equal(stats_percentile(&rows[0].window[STATS_1M].latency,
	    1), 1000);
	free(rows);
	/* A single huge value lands in the last bin and reads back as it. */
	add(s, "o", INT64_C(86400000), 300);
	stats_read(s, 300, 0, NULL, "o", &host, &rows);
	assert_int_equal(stats_percentile(&rows[0].window[STATS_1M].latency,
	    0.5), 86400000);
	free(rows);
}

/* Errors, tokens, and TTFT only for streams. */
static void
test_figures(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	struct trace		*t;

	t = mk("d1", "m", 200, 100, 40, 1);
	t->prompt_tokens = 7;
	t->completion_tokens = 3;
	stats_add(s, t, 10);
	trace_free(t);
	t = mk("d1", "m", 502, 5, 3, 0);
	t->error = "upstream_error";
	stats_add(s, t, 10);
	trace_free(t);
	assert_int_equal(stats_read(s, 10, 0, "d1", NULL, &host, &rows), 1);
	assert_int_equal(rows[0].window[STATS_5M].requests, 2);
	assert_int_equal(rows[0].window[STATS_5M].errors, 1);
	assert_int_equal(rows[0].window[STATS_5M].prompt_tokens, 7);
	assert_int_equal(rows[0].window[STATS_5M].completion_tokens, 3);
	assert_int_equal(rows[0].window[STATS_5M].ttft.count, 1);
	assert_int_equal(stats_percentile(&rows[0].window[STATS_5M].ttft,
	    0.5), 40);
	free(rows);
	assert_int_equal(stats_read(s, 10, 0, "d2", NULL, &host, &rows), 0);
	assert_int_equal(host.window[STATS_1M].requests, 2);
	free(rows);
}

/* Spend by the UTC day the request came in. */
static void
test_spend_today(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	struct trace		*t;
	int64_t			 day = 20000;

	t = mk("d1", "m", 200, 1, -1, 0);
	t->cost = 1500;
	stats_add(s, t, 10);
	stats_add(s, t, 11);
	stats_read(s, 11, day, NULL, NULL, &host, &rows);
	assert_int_equal(host.cost_today, 3000);
	free(rows);
	stats_read(s, 11, day + 1, NULL, NULL, &host, &rows);
	assert_int_equal(host.cost_today, 0);
	free(rows);
	/* Yesterday's request written after midnight: not today's. */
	t->time_ms -= DAY_MS;
	stats_add(s, t, 12);
	stats_read(s, 12, day, NULL, NULL, &host, &rows);
	assert_int_equal(host.cost_today, 3000);
	free(rows);
	/* The next day starts from its own first request. */
	t->time_ms += 2 * DAY_MS;
	stats_add(s, t, 13);
	stats_read(s, 13, day + 1, NULL, NULL, &host, &rows);
	assert_int_equal(host.cost_today, 1500);
	free(rows);
	trace_free(t);
}

/* Spend from before a restart: today's, without requests. */
static void
test_seed_spend(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	struct trace		*t;
	int64_t			 day = 20000;

	stats_add_spend(s, "d1", "m", day, 700);
	stats_add_spend(s, "d1", "m", day - 1, 5000);
	t = mk("d1", "m", 200, 1, -1, 0);
	t->cost = 300;
	stats_add(s, t, 10);
	trace_free(t);
	assert_int_equal(stats_read(s, 10, day, "d1", "m", &host, &rows), 1);
	assert_int_equal(rows[0].cost_today, 1000);
	assert_int_equal(rows[0].window[STATS_1H].requests, 1);
	free(rows);
}

/* Keys that name no model share one series, whatever a client sends. */
static void
test_unknown(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	struct trace		*t;
	char			 key[32];
	int			 i;

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "made-up-%d", i);
		t = mk("d1", key, 404, 1, -1, 0);
		t->error = "model_not_found";
		stats_add(s, t, 10);
		trace_free(t);
	}
	t = mk("d1", NULL, 401, 1, -1, 0);
	t->step = TRACE_STEP_AUTHENTICATE;
	stats_add(s, t, 10);
	trace_free(t);
	assert_int_equal(stats_read(s, 10, 0, NULL, NULL, &host, &rows), 1);
	assert_string_equal(rows[0].model, STATS_UNKNOWN);
	assert_int_equal(rows[0].window[STATS_1M].requests, 101);
	free(rows);
}

static void
test_caps(void **state)
{
	struct stats		*s = *state;
	struct stats_row	 host, *rows;
	struct trace		*t;
	char			 name[64];
	size_t			 n, i, other = 0;
	int			 k;

	/* One domain: at most STATS_DOMAIN_SERIES, the rest "(other)". */
	for (k = 0; k < STATS_DOMAIN_SERIES + 10; k++) {
		snprintf(name, sizeof(name), "model-%d", k);
		add(s, name, 1, 10);
	}
	n = stats_read(s, 10, 0, "d1", NULL, &host, &rows);
	assert_true(n <= STATS_DOMAIN_SERIES);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].model, STATS_OTHER) == 0)
			other = (size_t)rows[i].window[STATS_1M].requests;
	assert_int_equal(other, STATS_DOMAIN_SERIES + 10 - (n - 1));
	free(rows);
	/* Many domains: at most STATS_MAX_SERIES, the host counts all. */
	for (k = 0; k < STATS_MAX_SERIES + 50; k++) {
		snprintf(name, sizeof(name), "dom-%d", k);
		t = mk(name, "m", 200, 1, -1, 0);
		stats_add(s, t, 10);
		trace_free(t);
	}
	assert_true(stats_nseries(s) <= STATS_MAX_SERIES);
	n = stats_read(s, 10, 0, "", STATS_OTHER, &host, &rows);
	assert_int_equal(n, 1);
	assert_true(rows[0].window[STATS_1M].requests > 0);
	assert_int_equal(host.window[STATS_1M].requests,
	    STATS_DOMAIN_SERIES + 10 + STATS_MAX_SERIES + 50);
	free(rows);
}

/*
 * stats_read_points: the ring's buckets oldest first, the current one
 * last, per series and for the host, empty buckets and stale slots as
 * zeros, the p50 of each bucket.
 */
static void
test_points(void **state)
{
	struct stats		*s = *state;
	struct stats_point	 host[STATS_POINTS_MAX];
	struct stats_points	*rows;
	struct trace		*t;
	size_t			 n, np, i;

	add(s, "a", 10, 1000);
	add(s, "a", 30, 1000);
	add(s, "b", 100, 1002);
	t = mk("d1", "a", 502, 5, -1, 0);
	t->prompt_tokens = 7;
	t->completion_tokens = 3;
	stats_add(s, t, 1003);
	trace_free(t);
	n = stats_read_points(s, 1003, STATS_1M, NULL, NULL, host, &rows,
	    &np);
	assert_int_equal(np, 60);
	assert_int_equal(n, 2);
	/* Second 1003 is the last point, 1000 three before it. */
	assert_int_equal(host[59].requests, 1);
	assert_int_equal(host[59].errors, 1);
	assert_int_equal(host[59].tokens, 10);
	assert_int_equal(host[58].requests, 1);
	assert_int_equal(host[57].requests, 0);
	assert_int_equal(host[56].requests, 2);
	assert_int_equal(stats_point_percentile(&host[58], 0.5), 100);
	assert_int_equal(stats_point_percentile(&host[57], 0.5), -1);
	for (i = 0; i < 56; i++)
		assert_int_equal(host[i].requests, 0);
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].model, "a") == 0) {
			assert_int_equal(rows[i].pt[56].requests, 2);
			assert_int_equal(rows[i].pt[57].requests, 0);
			assert_int_equal(rows[i].pt[59].errors, 1);
		} else {
			assert_string_equal(rows[i].model, "b");
			assert_int_equal(rows[i].pt[58].requests, 1);
		}
	}
	free(rows);
	/* One model only; the host still counts all. */
	n = stats_read_points(s, 1003, STATS_1M, "d1", "b", host, &rows, &np);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].pt[56].requests, 0);
	assert_int_equal(host[56].requests, 2);
	free(rows);
	/* Thirty seconds on: the buckets moved left; the 5 min ring. */
	n = stats_read_points(s, 1033, STATS_1M, NULL, NULL, host, &rows,
	    &np);
	assert_int_equal(host[26].requests, 2);
	assert_int_equal(host[28].requests, 1);
	assert_int_equal(host[29].requests, 1);
	assert_int_equal(host[59].requests, 0);
	free(rows);
	n = stats_read_points(s, 1003, STATS_5M, NULL, NULL, host, &rows,
	    &np);
	assert_int_equal(np, 30);
	assert_int_equal(host[29].requests, 4);
	free(rows);
	/* An hour later nothing is left, though the slots are reused. */
	n = stats_read_points(s, 1003 + 3600, STATS_1H, NULL, NULL, host,
	    &rows, &np);
	assert_int_equal(np, 60);
	for (i = 0; i < np; i++)
		assert_int_equal(host[i].requests, 0);
	free(rows);
	/* Merging two points merges their histograms. */
	n = stats_read_points(s, 1003, STATS_1H, NULL, NULL, host, &rows,
	    &np);
	assert_int_equal(host[59].requests, 4);
	assert_int_equal(host[59].count, 4);
	assert_int_equal(host[59].min, 5);
	assert_int_equal(host[59].max, 100);
	assert_int_equal(stats_point_percentile(&host[59], 0.01), 5);
	free(rows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test(test_window_seconds),
		cmocka_unit_test_setup_teardown(test_rollover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_back, setup,
		    teardown),
		cmocka_unit_test(test_bins),
		cmocka_unit_test_setup_teardown(test_percentiles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spend_today, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seed_spend, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_points, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
