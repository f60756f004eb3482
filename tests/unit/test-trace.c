/*
 * trace.c, trace-writer.c and store-trace.c: a worker's batches, the
 * queue, the writer, its rollup, retention, throughput.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "fixture.h"
#include "log.h"
#include "xmalloc.h"

#define DOM_A	"11111111-1111-4111-8111-111111111111"
#define DOM_B	"22222222-2222-4222-8222-222222222222"

struct fixture {
	char		 dir[FIXTURE_DIR_MAX];
	struct store	*store;		/* the admin side's connection */
};

static int
setup(void **state)
{
	struct fixture		*f = calloc(1, sizeof(*f));
	struct store_domain	 d;

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "trace");
	f->store = fixture_store_open(f->dir);
	fixture_domain(f->store, DOM_A, "acme");
	fixture_domain_init(&d, DOM_B, "bravo");
	d.trace_retention_days = 1;
	fixture_domain_put(f->store, &d);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	store_close(f->store);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

static struct trace *
make_trace(const char *domain, const char *model, const char *token,
    int64_t time_ms, int status)
{
	struct trace	*t = trace_new();

	snprintf(t->domain_id, sizeof(t->domain_id), "%s", domain);
	snprintf(t->token_id, sizeof(t->token_id), "%s", token);
	trace_set_names(t, model, model != NULL ? strlen(model) : 0,
	    "fake-chat", "fake");
	t->route = trace_route_intern("chat");
	t->time_ms = time_ms;
	t->status = status;
	t->latency_ms = 12;
	t->prompt_tokens = 10;
	t->completion_tokens = 5;
	t->cached_tokens = 2;
	t->cost = 1234;
	if (status >= 400) {
		t->error = trace_error_intern("upstream_error");
		t->step = TRACE_STEP_UPSTREAM;
	}
	return t;
}

static struct trace_writer *
writer(struct fixture *f, int flush_ms)
{
	struct trace_writer	*w;
	char			 err[256];

	if ((w = trace_writer_start(f->dir, flush_ms, 3600, err,
	    sizeof(err))) == NULL)
		fail_msg("trace_writer_start: %s", err);
	return w;
}

/* Stopping writes everything queued; fields come back as they went in. */
static void
test_flush_on_stop(void **state)
{
	struct fixture		*f = *state;
	struct trace_writer	*w = writer(f, 60000);
	struct trace		*list;
	size_t			 n;
	char			 err[256];
	int64_t			 now = trace_now_ms();
	int			 i;

	for (i = 0; i < 10; i++)
		trace_submit(trace_writer_queue(w), make_trace(DOM_A, "chat", "tok_1", now + i,
		    i == 9 ? 502 : 200));
	/* A window of a minute: only the stop can have written them. */
	trace_writer_stop(w);

	assert_int_equal(store_trace_list(f->store, DOM_A, NULL, 100, &list,
	    &n, err, sizeof(err)), 0);
	assert_int_equal(n, 10);
	assert_true(list[0].id < list[9].id);	/* oldest first */
	assert_int_equal(list[9].status, 502);
	assert_string_equal(list[9].error, "upstream_error");
	assert_int_equal(list[9].step, TRACE_STEP_UPSTREAM);
	assert_string_equal(list[0].model, "chat");
	assert_string_equal(list[0].token_id, "tok_1");
	assert_int_equal(list[0].ttft_ms, -1);
	assert_int_equal(list[0].cost, 1234);
	store_trace_list_free(list, n);

	assert_int_equal(store_trace_list(f->store, DOM_B, NULL, 100, &list,
	    &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(store_trace_list(f->store, NULL, NULL, 3, &list,
	    &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[2].status, 502);	/* the newest three */
	store_trace_list_free(list, n);
}

/* The rollup adds up per model, token, hour and day. */
static void
test_usage_rollup(void **state)
{
	struct fixture		*f = *state;
	struct trace_writer	*w = writer(f, 10);
	struct store_usage	*u;
	size_t			 n;
	char			 err[256];
	int64_t			 h0 = (int64_t)1700000000 / 3600 * 3600 * 1000;

	trace_submit(trace_writer_queue(w), make_trace(DOM_A, "chat", "tok_1", h0, 200));
	trace_submit(trace_writer_queue(w), make_trace(DOM_A, "chat", "tok_2", h0 + 1000, 200));
	trace_submit(trace_writer_queue(w), make_trace(DOM_A, "embed", "tok_1", h0 + 3600000,
	    502));
	trace_submit(trace_writer_queue(w), make_trace(DOM_B, "chat", "tok_9", h0, 200));
	trace_writer_stop(w);

	assert_int_equal(store_usage_query(f->store, DOM_A, USAGE_BY_MODEL,
	    0, INT64_C(4000000000), &u, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(u[0].key, "chat");
	assert_int_equal(u[0].requests, 2);
	assert_int_equal(u[0].errors, 0);
	assert_int_equal(u[0].prompt_tokens, 20);
	assert_int_equal(u[0].cached_tokens, 4);
	assert_int_equal(u[0].cost, 2468);
	assert_string_equal(u[1].key, "embed");
	assert_int_equal(u[1].errors, 1);
	store_usage_list_free(u, n);

	assert_int_equal(store_usage_query(f->store, DOM_A, USAGE_BY_TOKEN,
	    0, INT64_C(4000000000), &u, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(u[0].requests, 2);	/* tok_1 */
	store_usage_list_free(u, n);

	assert_int_equal(store_usage_query(f->store, DOM_A, USAGE_BY_HOUR,
	    0, INT64_C(4000000000), &u, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(u[0].bucket, h0 / 1000);
	assert_int_equal(u[1].bucket, h0 / 1000 + 3600);
	store_usage_list_free(u, n);

	/* The window: only the second hour. */
	assert_int_equal(store_usage_query(f->store, DOM_A, USAGE_BY_DAY,
	    h0 / 1000 + 3600, h0 / 1000 + 7200, &u, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(u[0].requests, 1);
	assert_int_equal(u[0].bucket, h0 / 1000 / 86400 * 86400);
	store_usage_list_free(u, n);
}

/* Retention runs at start: old traces go, recent ones and the rollup stay. */
static void
test_retention(void **state)
{
	struct fixture		*f = *state;
	struct trace_writer	*w = writer(f, 10);
	struct trace		*list;
	struct store_usage	*u;
	size_t			 n;
	char			 err[256];
	int64_t			 now = trace_now_ms(), day = 86400000;

	trace_submit(trace_writer_queue(w), make_trace(DOM_A, "chat", "t", now - 31 * day, 200));
	trace_submit(trace_writer_queue(w), make_trace(DOM_A, "chat", "t", now - 29 * day, 200));
	trace_submit(trace_writer_queue(w), make_trace(DOM_B, "chat", "t", now - 2 * day, 200));
	trace_submit(trace_writer_queue(w), make_trace(DOM_B, "chat", "t", now, 200));
	trace_submit(trace_writer_queue(w), make_trace("33333333-3333-4333-8333-333333333333",
	    "chat", "t", now, 200));
	trace_writer_stop(w);
	/* The next start expires what is past each domain's retention. */
	w = writer(f, 10);
	trace_writer_stop(w);

	assert_int_equal(store_trace_list(f->store, DOM_A, NULL, 100, &list,
	    &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_true(list[0].time_ms == now - 29 * day);
	store_trace_list_free(list, n);
	assert_int_equal(store_trace_list(f->store, DOM_B, NULL, 100, &list,
	    &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	store_trace_list_free(list, n);
	/* A domain that is gone leaves nothing behind. */
	assert_int_equal(store_trace_list(f->store,
	    "33333333-3333-4333-8333-333333333333", NULL, 100, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(store_usage_query(f->store,
	    "33333333-3333-4333-8333-333333333333", USAGE_BY_MODEL, 0,
	    INT64_C(4000000000), &u, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(u);
	/* Usage is kept past trace retention. */
	assert_int_equal(store_usage_query(f->store, DOM_A, USAGE_BY_MODEL, 0,
	    INT64_C(4000000000), &u, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(u[0].requests, 2);
	store_usage_list_free(u, n);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The writer sustains more than 50k traces/s (unsanitised builds; under
 * ASan the floor is lower), submitted by two threads at once.
 */
#define BENCH_N		100000

static void *
submitter(void *arg)
{
	struct trace_writer	*w = arg;
	int64_t			 now = trace_now_ms();
	char			 model[16], token[16];
	int			 i;

	for (i = 0; i < BENCH_N / 2; i++) {
		snprintf(model, sizeof(model), "m%d", i % 8);
		snprintf(token, sizeof(token), "tok_%d", i % 16);
		trace_submit(trace_writer_queue(w), make_trace(DOM_A, model, token, now + i % 1000,
		    i % 50 == 0 ? 502 : 200));
	}
	return NULL;
}

static void
test_throughput(void **state)
{
	struct fixture		*f = *state;
	struct trace_writer	*w = writer(f, 100);
	pthread_t		 th[2];
	struct store_usage	*u;
	size_t			 n, i;
	int64_t			 total = 0;
	char			 err[256];
	double			 t0, secs, rate, floor;

#if defined(__SANITIZE_ADDRESS__)
	floor = 5000;
#else
	floor = 50000;
#endif
	t0 = now_s();
	pthread_create(&th[0], NULL, submitter, w);
	pthread_create(&th[1], NULL, submitter, w);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	trace_writer_stop(w);
	secs = now_s() - t0;
	rate = BENCH_N / secs;
	print_message("writer: %d traces in %.3f s: %.0f traces/s\n", BENCH_N,
	    secs, rate);
	assert_true(rate > floor);

	assert_int_equal(store_usage_query(f->store, DOM_A, USAGE_BY_MODEL, 0,
	    INT64_C(4000000000), &u, &n, err, sizeof(err)), 0);
	for (i = 0; i < n; i++)
		total += u[i].requests;
	assert_int_equal(total, BENCH_N);	/* none dropped */
	store_usage_list_free(u, n);
}

static size_t
list_count(struct trace *t)
{
	size_t	n = 0;

	for (; t != NULL; t = t->next)
		n++;
	return n;
}

/*
 * A worker's batch reaches the queue whole at 64 records, after its timer
 * for fewer, and at free for what is left; nothing before.
 */
static void
test_worker_batch(void **state)
{
	struct trace_queue	*q = trace_queue_new();
	struct event_base	*base = event_base_new();
	struct trace_batch	*b;
	struct trace		*list;
	int64_t			 now = trace_now_ms();
	int			 i;

	(void)state;
	assert_non_null(base);
	b = trace_batch_new(q, base);
	for (i = 0; i < 63; i++)
		trace_batch_add(b, make_trace(DOM_A, "m", "t", now + i, 200));
	assert_null(trace_queue_take(q));
	trace_batch_add(b, make_trace(DOM_A, "m", "t", now + 63, 200));
	list = trace_queue_take(q);
	assert_int_equal(list_count(list), 64);
	assert_int_equal(list->time_ms, now);		/* in order */
	trace_list_free(list);

	/* Fewer: handed over when the timer fires on the worker's loop. */
	trace_batch_add(b, make_trace(DOM_A, "m", "t", now, 200));
	trace_batch_add(b, make_trace(DOM_A, "m", "t", now + 1, 200));
	assert_null(trace_queue_take(q));
	assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	list = trace_queue_take(q);
	assert_int_equal(list_count(list), 2);
	trace_list_free(list);

	/* What is held at free is handed over: a clean stop loses nothing. */
	for (i = 0; i < 5; i++)
		trace_batch_add(b, make_trace(DOM_A, "m", "t", now + i, 200));
	trace_batch_free(b);
	list = trace_queue_take(q);
	assert_int_equal(list_count(list), 5);
	trace_list_free(list);
	assert_int_equal(trace_queue_dropped(q), 0);
	event_base_free(base);
	trace_queue_free(q);
}

/* After a stop the queue accepts nothing: each record counted dropped. */
static void
test_queue_stopped_drops(void **state)
{
	struct trace_queue	*q = trace_queue_new();
	struct trace		*a, *b, *list;
	int64_t			 now = trace_now_ms();

	(void)state;
	trace_submit(q, make_trace(DOM_A, "m", "t", now, 200));
	trace_queue_stop(q);
	a = make_trace(DOM_A, "m", "t", now, 200);
	b = make_trace(DOM_A, "m", "t", now, 200);
	a->next = b;
	trace_queue_push(q, a, b, 2);
	trace_submit(q, make_trace(DOM_A, "m", "t", now, 200));
	assert_int_equal(trace_queue_dropped(q), 3);
	list = trace_queue_take(q);
	assert_int_equal(list_count(list), 1);
	trace_list_free(list);
	trace_queue_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_batch),
		cmocka_unit_test(test_queue_stopped_drops),
		cmocka_unit_test_setup_teardown(test_flush_on_stop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_usage_rollup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_throughput, setup,
		    teardown),
	};

	log_init("test-trace", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
