/*
 * The trace writer: one thread that batches the workers' records into the
 * traces table and the hourly usage rollup, one transaction per batch,
 * enforces retention, and passes committed batches to the main loop for
 * logs.tail subscribers and to the OTLP exporter. Runs on its own thread
 * with its own SQLite connection; the admin side starts and stops it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

#define TRACE_EXPIRE_CHUNK	5000	/* rows deleted per transaction */
#define TRACE_WRITE_TRIES	3	/* each waits out SQLite's busy timeout */
#define TRACE_WRITE_RETRY_MS	200

struct trace_writer {
	struct store		*store;		/* the writer's own connection */
	atomic_int		 flush_ms;	/* trace_writer_configure() */
	atomic_int		 retention_s;
	pthread_t		 thread;
	struct trace_queue	*queue;		/* the workers' records */
	/* Committed batches for the main loop's listener. */
	pthread_mutex_t		 pub_lock;
	struct trace		*pub_head;
	struct trace		*pub_tail;
	struct event		*pub_ev;
	void			(*listener)(const struct trace *, void *);
	void			*listener_arg;
	atomic_int		 listeners;
	atomic_uint_fast64_t	 written;
	int64_t			 last_id;	/* the writer thread's */
	_Atomic(struct otlp *)	 otlp;		/* spans for a collector */
};

/* Give a committed batch to the main loop, or free it if nobody listens. */
static void
trace_publish(struct trace_writer *w, struct trace *batch, struct trace *last)
{
	int	wake;

	if (w->pub_ev == NULL || atomic_load(&w->listeners) == 0) {
		trace_list_free(batch);
		return;
	}
	pthread_mutex_lock(&w->pub_lock);
	wake = w->pub_head == NULL;
	if (w->pub_tail != NULL)
		w->pub_tail->next = batch;
	else
		w->pub_head = batch;
	w->pub_tail = last;
	pthread_mutex_unlock(&w->pub_lock);
	if (wake)
		event_active(w->pub_ev, EV_READ, 0);
}

/* A batch's usage, summed per rollup row before it is written. */
#define TRACE_AGG_MAX	64

struct trace_agg {
	const struct trace	*first;		/* names the row */
	int64_t			 hour;
	struct store_usage	 sum;
};

static int
trace_agg_flush(struct trace_writer *w, struct trace_agg *agg, size_t *n,
    char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if (store_usage_add(w->store, agg[i].first->domain_id,
		    agg[i].hour, agg[i].first->model, agg[i].first->token_id,
		    &agg[i].sum, err, errlen) != 0)
			return -1;
	*n = 0;
	return 0;
}

/* Add t to its row's sum; -1 when the table is full (flush first). */
static int
trace_agg_add(struct trace_agg *agg, size_t *n, const struct trace *t)
{
	int64_t			 hour = t->time_ms / 1000 / 3600;
	const struct trace	*f;
	size_t			 i;

	for (i = 0; i < *n; i++) {
		f = agg[i].first;
		if (agg[i].hour == hour && strcmp(f->domain_id,
		    t->domain_id) == 0 && strcmp(f->token_id, t->token_id) ==
		    0 && strcmp(f->model != NULL ? f->model : "",
		    t->model != NULL ? t->model : "") == 0)
			break;
	}
	if (i == *n) {
		if (*n == TRACE_AGG_MAX)
			return -1;
		memset(&agg[i], 0, sizeof(agg[i]));
		agg[i].first = t;
		agg[i].hour = hour;
		(*n)++;
	}
	agg[i].sum.requests++;
	agg[i].sum.errors += t->status >= 400 || t->error != NULL;
	agg[i].sum.prompt_tokens += t->prompt_tokens;
	agg[i].sum.completion_tokens += t->completion_tokens;
	agg[i].sum.cached_tokens += t->cached_tokens;
	agg[i].sum.cost += t->cost;
	return 0;
}

/*
 * Write one batch in one transaction: its traces, then its usage summed
 * per rollup row. Returns 0, or -1 with err after rolling back.
 */
static int
trace_write_once(struct trace_writer *w, struct trace *batch, char *err,
    size_t errlen)
{
	struct trace_agg	 agg[TRACE_AGG_MAX];
	struct trace		*t, *last = NULL;
	size_t			 n = 0, nagg = 0;

	if (store_begin(w->store, err, errlen) != 0)
		return -1;
	for (t = batch; t != NULL; t = t->next) {
		/* Ids follow time, and the order of writing within a ms. */
		t->id = t->time_ms << 10 > w->last_id ? t->time_ms << 10 :
		    w->last_id + 1;
		w->last_id = t->id;
		if (store_trace_insert(w->store, t, err, errlen) != 0)
			goto rollback;
		if (trace_agg_add(agg, &nagg, t) == -1 &&
		    (trace_agg_flush(w, agg, &nagg, err, errlen) != 0 ||
		    trace_agg_add(agg, &nagg, t) == -1))
			goto rollback;
		last = t;
		n++;
	}
	if (trace_agg_flush(w, agg, &nagg, err, errlen) != 0)
		goto rollback;
	if (store_commit(w->store, err, errlen) != 0)
		goto rollback;
	atomic_fetch_add(&w->written, n);
	for (t = batch; t != NULL; t = t->next) {
		metrics_add(t);
		stats_observe(t);
	}
	otlp_offer(atomic_load(&w->otlp), batch);
	trace_publish(w, batch, last);
	return 0;
rollback:
	store_rollback(w->store);
	return -1;
}

/*
 * Write a batch, trying again while the database stays busy (an admin
 * change holds the write lock, say): traces are what requests are billed
 * from, so only a batch that keeps failing is given up, and logged.
 */
static void
trace_write_batch(struct trace_writer *w, struct trace *batch)
{
	char	err[256];
	int	try;

	for (try = 1; trace_write_once(w, batch, err, sizeof(err)) != 0;
	    try++) {
		if (try == TRACE_WRITE_TRIES) {
			log_warnx("traces: a batch of traces was not written"
			    " after %d tries: %s", try, err);
			trace_list_free(batch);
			return;
		}
		log_warnx("traces: writing a batch failed (%s); trying again",
		    err);
		usleep(TRACE_WRITE_RETRY_MS * 1000);
	}
}

/* Write what is queued, in batches of at most TRACE_BATCH_MAX. */
static void
trace_write_all(struct trace_writer *w, struct trace *list)
{
	struct trace	*batch, *t;
	size_t		 n;

	while (list != NULL) {
		batch = list;
		for (t = list, n = 1; t->next != NULL && n < TRACE_BATCH_MAX;
		    t = t->next)
			n++;
		list = t->next;
		t->next = NULL;
		trace_write_batch(w, batch);
	}
}

/*
 * Delete traces past each domain's retention, a chunk per transaction,
 * writing queued records between chunks so that they never wait long.
 */
static void
trace_expire(struct trace_writer *w)
{
	struct store_retention	*doms = NULL;
	struct trace		*pending;
	size_t			 n = 0, i;
	int64_t			 before, total = 0;
	int			 deleted;
	char			 err[256];

	if (store_trace_retention(w->store, &doms, &n, err, sizeof(err)) != 0) {
		log_warnx("traces: retention: %s", err);
		return;
	}
	for (i = 0; i < n; i++) {
		before = doms[i].days == 0 ? INT64_MAX :
		    trace_now_ms() - (int64_t)doms[i].days * 86400 * 1000;
		do {
			if (store_trace_expire(w->store, doms[i].domain_id,
			    before, TRACE_EXPIRE_CHUNK, &deleted, err,
			    sizeof(err)) != 0) {
				log_warnx("traces: retention: %s", err);
				break;
			}
			total += deleted;
			pending = trace_queue_take(w->queue);
			trace_write_all(w, pending);
		} while (deleted == TRACE_EXPIRE_CHUNK);
	}
	free(doms);
	if (total > 0)
		log_info("traces: retention removed %lld", (long long)total);
}

static void *
trace_writer_main(void *arg)
{
	struct trace_writer	*w = arg;
	struct timespec		 retention;
	struct trace		*batch;
	int			 stop;

	trace_expire(w);
	trace_deadline(&retention, atomic_load(&w->retention_s) * 1000);
	for (;;) {
		batch = trace_queue_wait(w->queue, &retention,
		    atomic_load(&w->flush_ms), &stop);
		trace_write_all(w, batch);
		if (stop) {
			/* Nothing is accepted after the stop: this is all. */
			trace_write_all(w, trace_queue_take(w->queue));
			break;
		}
		if (trace_past(&retention)) {
			trace_expire(w);
			trace_deadline(&retention,
			    atomic_load(&w->retention_s) * 1000);
		}
	}
	return NULL;
}

/*
 * SIGHUP: the next batch window uses flush_ms; retention_s counts from
 * the next retention run.
 */
void
trace_writer_configure(struct trace_writer *w, int flush_ms, int retention_s)
{
	atomic_store(&w->flush_ms, flush_ms);
	atomic_store(&w->retention_s, retention_s);
}

struct trace_writer *
trace_writer_start(const char *data_dir, int flush_ms, int retention_s,
    char *err, size_t errlen)
{
	struct trace_writer	*w;

	w = xcalloc(1, sizeof(*w));
	if ((w->store = store_open(data_dir, err, errlen)) == NULL) {
		free(w);
		return NULL;
	}
	if (store_trace_last_id(w->store, &w->last_id, err, errlen) != 0) {
		store_close(w->store);
		free(w);
		return NULL;
	}
	atomic_init(&w->flush_ms, flush_ms);
	atomic_init(&w->retention_s, retention_s);
	w->queue = trace_queue_new();
	pthread_mutex_init(&w->pub_lock, NULL);
	if ((errno = pthread_create(&w->thread, NULL, trace_writer_main,
	    w)) != 0)
		fatal("pthread_create");
	return w;
}

/*
 * Write everything still queued, stop the thread, free the writer (the
 * workers have handed over their batches: workers_stop() came first).
 */
void
trace_writer_stop(struct trace_writer *w)
{
	uint64_t	dropped;

	if (w == NULL)
		return;
	trace_queue_stop(w->queue);
	pthread_join(w->thread, NULL);
	if ((dropped = trace_queue_dropped(w->queue)) > 0)
		log_warnx("traces: %llu dropped while the writer was behind",
		    (unsigned long long)dropped);
	if (w->pub_ev != NULL)
		event_free(w->pub_ev);
	trace_list_free(w->pub_head);
	store_close(w->store);
	trace_queue_free(w->queue);
	pthread_mutex_destroy(&w->pub_lock);
	free(w);
}

/* Where the workers' records go (trace_batch_new(), trace_submit()). */
struct trace_queue *
trace_writer_queue(struct trace_writer *w)
{
	return w != NULL ? w->queue : NULL;
}

uint64_t
trace_writer_written(struct trace_writer *w)
{
	return atomic_load(&w->written);
}

/* --- committed traces to the main loop ------------------------------------ */

static void
trace_pub_event(evutil_socket_t fd, short what, void *arg)
{
	struct trace_writer	*w = arg;
	struct trace		*list, *t;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->pub_lock);
	list = w->pub_head;
	w->pub_head = w->pub_tail = NULL;
	pthread_mutex_unlock(&w->pub_lock);
	for (t = list; t != NULL; t = t->next)
		w->listener(t, w->listener_arg);
	trace_list_free(list);
}

/*
 * Call fn on base's loop with each committed trace while listeners > 0
 * (trace_writer_listeners counts subscribers up and down).
 */
void
trace_writer_listen(struct trace_writer *w, struct event_base *base,
    void (*fn)(const struct trace *, void *), void *arg)
{
	w->listener = fn;
	w->listener_arg = arg;
	if ((w->pub_ev = event_new(base, -1, 0, trace_pub_event, w)) == NULL)
		fatalx("%s: event_new", __func__);
}

void
trace_writer_listeners(struct trace_writer *w, int delta)
{
	if (w != NULL)
		atomic_fetch_add(&w->listeners, delta);
}

void
trace_writer_export(struct trace_writer *w, struct otlp *o)
{
	if (w != NULL)
		atomic_store(&w->otlp, o);
}
