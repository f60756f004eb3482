/*
 * Traces: one record per inference request. Workers hand finished records
 * to one writer thread through a briefly locked queue and never wait on
 * SQLite; the writer batches them into the traces table and the hourly
 * usage rollup, one transaction per batch, enforces retention, and passes
 * committed batches to the main loop for logs.tail subscribers.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define TRACE_BATCH_MAX		4096	/* records per transaction */
#define TRACE_QUEUE_MAX		200000	/* beyond this, records are dropped */
#define TRACE_EXPIRE_CHUNK	5000	/* rows deleted per transaction */
#define TRACE_WRITE_TRIES	3	/* each waits out SQLite's busy timeout */
#define TRACE_WRITE_RETRY_MS	200

/* The step that rejected a request, as traces and the admin API name it. */
static const char *const trace_steps[] = {
	[TRACE_STEP_NONE] = "",
	[TRACE_STEP_REQUEST] = "request",
	[TRACE_STEP_AUTHENTICATE] = "authenticate",
	[TRACE_STEP_DOMAIN] = "domain",
	[TRACE_STEP_MODEL] = "model",
	[TRACE_STEP_MODEL_STATE] = "model_state",
	[TRACE_STEP_INPUT_GUARDRAIL] = "input_guardrail",
	[TRACE_STEP_LIMIT] = "limit",
	[TRACE_STEP_UPSTREAM] = "upstream",
	[TRACE_STEP_OUTPUT_GUARDRAIL] = "output_guardrail",
	[TRACE_STEP_GATEWAY] = "gateway",
};

/* Routes and error codes are kept as static strings, not copies. */
static const char *const trace_routes[] = {
	"chat", "completions", "embeddings", "ollama_chat", "ollama_generate",
	"ollama_embed", "messages", "responses", "fim", "rerank", "other",
};

static const char *const trace_errors[] = {
	"invalid_request", "invalid_api_key", "domain_not_found",
	"model_not_found", "model_inactive", "guardrail_violation",
	"request_too_large", "rate_limit_exceeded", "budget_exceeded",
	"upstream_error", "upstream_timeout", "not_found",
	"method_not_allowed", "unavailable", "backend_error",
	"limits_unavailable",
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

struct trace_writer {
	struct store		*store;		/* the writer's own connection */
	int			 flush_ms;
	int			 retention_s;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct trace		*head;		/* queued, oldest first */
	struct trace		*tail;
	size_t			 count;
	int			 stopping;
	uint64_t		 dropped;
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

const char *
trace_step_name(enum trace_step step)
{
	if ((size_t)step >= nitems(trace_steps))
		return "";
	return trace_steps[step];
}

enum trace_step
trace_step_parse(const char *name)
{
	size_t	i;

	for (i = 1; name != NULL && i < nitems(trace_steps); i++)
		if (strcmp(trace_steps[i], name) == 0)
			return (enum trace_step)i;
	return TRACE_STEP_NONE;
}

static const char *
trace_intern(const char *const *table, size_t n, const char *s,
    const char *other)
{
	size_t	i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strcmp(table[i], s) == 0)
			return table[i];
	return other;
}

const char *
trace_route_intern(const char *route)
{
	const char	*r;

	r = trace_intern(trace_routes, nitems(trace_routes), route, "other");
	return r != NULL ? r : "other";
}

const char *
trace_error_intern(const char *code)
{
	return trace_intern(trace_errors, nitems(trace_errors), code,
	    "backend_error");
}

int64_t
trace_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct trace *
trace_new(void)
{
	struct trace	*t = xcalloc(1, sizeof(*t));

	t->ttft_ms = -1;
	t->route = trace_routes[nitems(trace_routes) - 1];
	t->max_tokens = -1;
	t->temperature = NAN;
	return t;
}

void
trace_clear(struct trace *t)
{
	if (t == NULL)
		return;
	free(t->names);
	free(t->prompt_text);
	free(t->completion_text);
	free(t->guardrails);
	free(t->receipt);
	free(t->attempts);
	memset(t, 0, sizeof(*t));
}

/* One allocation instead of three: traces are freed on another thread. */
void
trace_set_names(struct trace *t, const char *model, size_t len,
    const char *model_id, const char *provider)
{
	size_t	 nid = model_id != NULL ? strlen(model_id) + 1 : 0;
	size_t	 np = provider != NULL ? strlen(provider) + 1 : 0;
	char	*p;

	free(t->names);
	t->model = t->model_id = t->provider = NULL;
	p = t->names = xmalloc((model != NULL ? len + 1 : 0) + nid + np + 1);
	if (model != NULL) {
		memcpy(p, model, len);
		p[len] = '\0';
		t->model = p;
		p += len + 1;
	}
	if (model_id != NULL) {
		t->model_id = memcpy(p, model_id, nid);
		p += nid;
	}
	if (provider != NULL)
		t->provider = memcpy(p, provider, np);
}

void
trace_free(struct trace *t)
{
	if (t == NULL)
		return;
	trace_clear(t);
	free(t);
}

static void
trace_list_free(struct trace *t)
{
	struct trace	*next;

	for (; t != NULL; t = next) {
		next = t->next;
		trace_free(t);
	}
}

/* --- the queue ------------------------------------------------------------ */

/* Hand a finished record to the writer; never waits on the database. */
void
trace_submit(struct trace_writer *w, struct trace *t)
{
	int	signal = 0;

	if (w == NULL) {
		trace_free(t);
		return;
	}
	t->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->count >= TRACE_QUEUE_MAX || w->stopping) {
		/* The disk cannot keep up: shed traces, never requests. */
		if (w->dropped++ % 10000 == 0)
			log_warnx("traces: writer behind by %zu records;"
			    " dropping (%llu so far)", w->count,
			    (unsigned long long)w->dropped);
		pthread_mutex_unlock(&w->lock);
		trace_free(t);
		return;
	}
	if (w->tail != NULL)
		w->tail->next = t;
	else
		w->head = t;
	w->tail = t;
	w->count++;
	/* The writer needs waking to start a window, or to end one early. */
	signal = w->count == 1 || w->count == TRACE_BATCH_MAX;
	pthread_mutex_unlock(&w->lock);
	if (signal)
		pthread_cond_signal(&w->wake);
}

/* --- the writer thread ---------------------------------------------------- */

static void
trace_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int
trace_past(const struct timespec *ts)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec &&
	    now.tv_nsec >= ts->tv_nsec);
}

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

/* Take everything queued (the lock is held). */
static struct trace *
trace_take(struct trace_writer *w)
{
	struct trace	*batch = w->head;

	w->head = w->tail = NULL;
	w->count = 0;
	return batch;
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
			pthread_mutex_lock(&w->lock);
			pending = trace_take(w);
			pthread_mutex_unlock(&w->lock);
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
	struct timespec		 window, retention;
	struct trace		*batch;
	int			 stop;

	trace_expire(w);
	trace_deadline(&retention, w->retention_s * 1000);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		/* Sleep until something is queued, retention is due, or stop. */
		while (w->head == NULL && !w->stopping &&
		    !trace_past(&retention))
			if (pthread_cond_timedwait(&w->wake, &w->lock,
			    &retention) == ETIMEDOUT)
				break;
		/* Let a batch gather for the window, unless it fills first. */
		if (w->head != NULL && !w->stopping) {
			trace_deadline(&window, w->flush_ms);
			while (w->count < TRACE_BATCH_MAX && !w->stopping)
				if (pthread_cond_timedwait(&w->wake, &w->lock,
				    &window) == ETIMEDOUT)
					break;
		}
		batch = trace_take(w);
		stop = w->stopping;
		pthread_mutex_unlock(&w->lock);

		trace_write_all(w, batch);
		if (!stop && trace_past(&retention)) {
			trace_expire(w);
			trace_deadline(&retention, w->retention_s * 1000);
		}
		pthread_mutex_lock(&w->lock);
		if (stop && w->head == NULL)
			break;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct trace_writer *
trace_writer_start(const char *data_dir, int flush_ms, int retention_s,
    char *err, size_t errlen)
{
	struct trace_writer	*w;
	pthread_condattr_t	 attr;

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
	w->flush_ms = flush_ms;
	w->retention_s = retention_s;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->pub_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	if ((errno = pthread_create(&w->thread, NULL, trace_writer_main,
	    w)) != 0)
		fatal("pthread_create");
	return w;
}

/* Write everything still queued, stop the thread, free the writer. */
void
trace_writer_stop(struct trace_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_mutex_unlock(&w->lock);
	pthread_cond_signal(&w->wake);
	pthread_join(w->thread, NULL);
	if (w->dropped > 0)
		log_warnx("traces: %llu dropped while the writer was behind",
		    (unsigned long long)w->dropped);
	if (w->pub_ev != NULL)
		event_free(w->pub_ev);
	trace_list_free(w->pub_head);
	store_close(w->store);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->pub_lock);
	pthread_cond_destroy(&w->wake);
	free(w);
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
