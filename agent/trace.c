/*
 * Traces: one record per inference request, and the queue that takes
 * them to the writer (trace-writer.c). Runs on the worker loops: each
 * worker gathers its finished records in a batch of its own and hands
 * the batch over under one lock (on a count, a short timer, or when the
 * worker stops), so no request takes a shared lock for its trace and
 * none waits on SQLite.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define TRACE_QUEUE_MAX		200000	/* beyond this, records are dropped */
#define TRACE_WORKER_BATCH	64	/* a worker's records per hand-over */
#define TRACE_WORKER_MS		10	/* the longest a record waits there */

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

/* Records on their way to the writer: bounded, oldest first. */
struct trace_queue {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* the writer waits on it */
	struct trace		*head;
	struct trace		*tail;
	size_t			 count;
	int			 stopping;
	uint64_t		 dropped;
};

/* One worker's finished records, not yet handed over. */
struct trace_batch {
	struct trace_queue	*queue;
	struct trace		*head;
	struct trace		*tail;
	size_t			 count;
	struct event		*timer;		/* on the worker's loop */
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

void
trace_list_free(struct trace *t)
{
	struct trace	*next;

	for (; t != NULL; t = next) {
		next = t->next;
		trace_free(t);
	}
}


/* --- the queue ------------------------------------------------------------ */

/* ts = now + ms on the monotonic clock. */
void
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

int
trace_past(const struct timespec *ts)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec &&
	    now.tv_nsec >= ts->tv_nsec);
}

struct trace_queue *
trace_queue_new(void)
{
	struct trace_queue	*q = xcalloc(1, sizeof(*q));
	pthread_condattr_t	 attr;

	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->wake, &attr);
	pthread_condattr_destroy(&attr);
	return q;
}

/* Free the queue and whatever it still holds (nothing after a stop). */
void
trace_queue_free(struct trace_queue *q)
{
	if (q == NULL)
		return;
	trace_list_free(q->head);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->wake);
	free(q);
}

/*
 * Append the n records head..tail (linked by next) under one lock; what
 * would take the queue past its bound, or comes after a stop, is dropped
 * and counted: the disk cannot keep up, so traces are shed, not requests.
 */
void
trace_queue_push(struct trace_queue *q, struct trace *head,
    struct trace *tail, size_t n)
{
	struct trace	*drop = NULL, *t;
	size_t		 keep, i, waiting;
	uint64_t	 before = 0, after = 0;
	int		 signal;

	if (head == NULL)
		return;
	if (q == NULL) {
		trace_list_free(head);
		return;
	}
	tail->next = NULL;
	pthread_mutex_lock(&q->lock);
	keep = q->stopping || q->count >= TRACE_QUEUE_MAX ? 0 :
	    TRACE_QUEUE_MAX - q->count;
	if (keep < n) {
		if (keep == 0) {
			drop = head;
			head = NULL;
		} else {
			for (t = head, i = 1; i < keep; i++)
				t = t->next;
			drop = t->next;
			t->next = NULL;
			tail = t;
		}
		before = q->dropped;
		q->dropped += n - keep;
		after = q->dropped;
		n = keep;
	}
	waiting = q->count;
	if (head != NULL) {
		if (q->tail != NULL)
			q->tail->next = head;
		else
			q->head = head;
		q->tail = tail;
		q->count += n;
	}
	/* The writer needs waking to start a window, or to end one early. */
	signal = n > 0 && (waiting == 0 || (waiting < TRACE_BATCH_MAX &&
	    q->count >= TRACE_BATCH_MAX));
	pthread_mutex_unlock(&q->lock);
	if (signal)
		pthread_cond_signal(&q->wake);
	if (drop != NULL) {
		if (before == 0 || before / 10000 != after / 10000)
			log_warnx("traces: writer behind by %zu records;"
			    " dropping (%llu so far)", waiting,
			    (unsigned long long)after);
		trace_list_free(drop);
	}
}

/* Hand one finished record over (any thread); takes ownership of t. */
void
trace_submit(struct trace_queue *q, struct trace *t)
{
	if (t != NULL)
		trace_queue_push(q, t, t, 1);
}

/* Take everything queued (the lock is held). */
static struct trace *
trace_queue_take_locked(struct trace_queue *q)
{
	struct trace	*list = q->head;

	q->head = q->tail = NULL;
	q->count = 0;
	return list;
}

struct trace *
trace_queue_take(struct trace_queue *q)
{
	struct trace	*list;

	pthread_mutex_lock(&q->lock);
	list = trace_queue_take_locked(q);
	pthread_mutex_unlock(&q->lock);
	return list;
}

/*
 * The writer's wait: until something is queued, until passes, or a stop;
 * then window_ms for a batch to gather unless TRACE_BATCH_MAX fill it
 * first. Returns what is queued (maybe NULL); *stopping says a stop came,
 * after which nothing more is accepted.
 */
struct trace *
trace_queue_wait(struct trace_queue *q, const struct timespec *until,
    int window_ms, int *stopping)
{
	struct timespec	 window;
	struct trace	*list;

	pthread_mutex_lock(&q->lock);
	while (q->head == NULL && !q->stopping && !trace_past(until))
		if (pthread_cond_timedwait(&q->wake, &q->lock, until) ==
		    ETIMEDOUT)
			break;
	if (q->head != NULL && !q->stopping) {
		trace_deadline(&window, window_ms);
		while (q->count < TRACE_BATCH_MAX && !q->stopping)
			if (pthread_cond_timedwait(&q->wake, &q->lock,
			    &window) == ETIMEDOUT)
				break;
	}
	list = trace_queue_take_locked(q);
	*stopping = q->stopping;
	pthread_mutex_unlock(&q->lock);
	return list;
}

/* Accept nothing more and wake the writer. */
void
trace_queue_stop(struct trace_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_mutex_unlock(&q->lock);
	pthread_cond_signal(&q->wake);
}

uint64_t
trace_queue_dropped(struct trace_queue *q)
{
	uint64_t	n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* --- a worker's batch ----------------------------------------------------- */

static void
trace_batch_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	trace_batch_flush(arg);
}

struct trace_batch *
trace_batch_new(struct trace_queue *q, struct event_base *base)
{
	struct trace_batch	*b = xcalloc(1, sizeof(*b));

	b->queue = q;
	if ((b->timer = evtimer_new(base, trace_batch_timer, b)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	return b;
}

/* Hand what the batch holds to the queue, under the queue's lock once. */
void
trace_batch_flush(struct trace_batch *b)
{
	struct trace	*head = b->head, *tail = b->tail;
	size_t		 n = b->count;

	b->head = b->tail = NULL;
	b->count = 0;
	evtimer_del(b->timer);
	trace_queue_push(b->queue, head, tail, n);
}

/*
 * Keep t (owned from here) until TRACE_WORKER_BATCH records are held or
 * the first has waited TRACE_WORKER_MS, then hand them all over.
 */
void
trace_batch_add(struct trace_batch *b, struct trace *t)
{
	struct timeval	tv = { 0, TRACE_WORKER_MS * 1000 };

	if (t == NULL)
		return;
	t->next = NULL;
	if (b->tail != NULL)
		b->tail->next = t;
	else
		b->head = t;
	b->tail = t;
	if (++b->count >= TRACE_WORKER_BATCH)
		trace_batch_flush(b);
	else if (b->count == 1)
		evtimer_add(b->timer, &tv);
}

/* Hand over what is held (nothing is lost on a clean stop), then free. */
void
trace_batch_free(struct trace_batch *b)
{
	if (b == NULL)
		return;
	trace_batch_flush(b);
	event_free(b->timer);
	free(b);
}
