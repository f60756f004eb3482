/* One API request of the fake backend: delays, streams, resets, hang-ups. */
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "fake-llm.h"
#include "log.h"
#include "xmalloc.h"

/* The [DONE] marker and the end of a stream, past enum wire_chunk. */
#define EXCHANGE_EVENT_DONE	100
#define EXCHANGE_EVENT_END	(-1)

/* How long a reset waits for the bytes before it to leave, 1 ms a poll. */
#define EXCHANGE_FLUSH_POLLS	1000

/* The integer model options: where each lives and what it accepts. */
static const struct exchange_opt {
	const char	*key;
	size_t		 off;
	int		 min;
	int		 max;
} exchange_opts[] = {
	{ "echo", offsetof(struct fake_opts, echo), 0, 1 },
	{ "chunks", offsetof(struct fake_opts, chunks), 1, FAKE_MAX_CHUNKS },
	{ "first_byte_delay_ms", offsetof(struct fake_opts, first_byte_delay_ms),
	    0, FAKE_MAX_DELAY_MS },
	{ "chunk_delay_ms", offsetof(struct fake_opts, chunk_delay_ms),
	    0, FAKE_MAX_DELAY_MS },
	{ "status", offsetof(struct fake_opts, status), 200, 599 },
	{ "reset_after", offsetof(struct fake_opts, reset_after),
	    0, FAKE_MAX_CHUNKS },
	{ "usage", offsetof(struct fake_opts, usage), 0, 1 },
	{ "cached", offsetof(struct fake_opts, cached), 0, INT_MAX },
};

static TAILQ_HEAD(, exchange) exchanges = TAILQ_HEAD_INITIALIZER(exchanges);

static void	exchange_begin(struct exchange *);
static void	exchange_stream(struct exchange *);
static void	exchange_poll_reset(struct exchange *);

/* Read one integer option; malformed or out-of-range values are ignored. */
static void
exchange_set_int(struct fake_opts *o, const struct exchange_opt *opt,
    const char *value)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < opt->min ||
	    n > opt->max)
		return;
	*(int *)((char *)o + opt->off) = (int)n;
}

/*
 * Fill o from a model string "name;key=value;...". Every option has a
 * default, so a plain name (or NULL) gives the default behaviour.
 */
void
exchange_parse_model(struct fake_opts *o, const char *model)
{
	char	*copy, *next, *item, *value, *p;
	size_t	 i;

	memset(o, 0, sizeof(*o));
	o->chunks = FAKE_DEFAULT_CHUNKS;
	o->reset_after = -1;
	o->usage = 1;
	if (model == NULL || (p = strchr(model, ';')) == NULL)
		return;

	copy = xstrdup(p + 1);
	for (next = copy; (item = strsep(&next, ";")) != NULL;) {
		if ((value = strchr(item, '=')) == NULL)
			continue;
		*value++ = '\0';
		if (strcmp(item, "text") == 0) {
			free(o->text);
			o->text = xstrdup(value);
			for (p = o->text; *p != '\0'; p++) {
				if (*p == '_')
					*p = ' ';
			}
			continue;
		}
		for (i = 0; i < sizeof(exchange_opts) / sizeof(*exchange_opts);
		    i++) {
			if (strcmp(item, exchange_opts[i].key) == 0)
				exchange_set_int(o, &exchange_opts[i], value);
		}
	}
	free(copy);
}

void
exchange_clear_opts(struct fake_opts *o)
{
	free(o->text);
	o->text = NULL;
}

/*
 * A new exchange for req, taking ownership of the parsed body. seq is the
 * request's record. Free with exchange_free() until exchange_start().
 */
struct exchange *
exchange_new(struct evhttp_request *req, const struct wire_api *api,
    cJSON *body, uint64_t seq)
{
	struct exchange	*ex;
	const cJSON	*model;

	ex = xcalloc(1, sizeof(*ex));
	ex->req = req;
	ex->evcon = evhttp_request_get_connection(req);
	ex->api = api;
	ex->body = body;
	ex->seq = seq;
	ex->created = time(NULL);
	model = cJSON_GetObjectItemCaseSensitive(body, "model");
	ex->model = xstrdup(cJSON_IsString(model) ? model->valuestring : "");
	exchange_parse_model(&ex->opts, ex->model);
	return ex;
}

/* Free an exchange and its events; never touches the request itself. */
void
exchange_free(struct exchange *ex)
{
	if (ex == NULL)
		return;
	if (ex->flags & EXCHANGE_ARMED)
		TAILQ_REMOVE(&exchanges, ex, entry);
	if (ex->timer != NULL)
		event_free(ex->timer);
	if (ex->watch != NULL)
		event_free(ex->watch);
	cJSON_Delete(ex->body);
	exchange_clear_opts(&ex->opts);
	free(ex->model);
	free(ex->echo);
	free(ex->answer);
	free(ex);
}

/* Armed exchanges still waiting; zero once the server is torn down. */
int
exchange_count(void)
{
	struct exchange	*ex;
	int		 n = 0;

	TAILQ_FOREACH(ex, &exchanges, entry)
		n++;
	return n;
}

static evutil_socket_t
exchange_fd(struct exchange *ex)
{
	return bufferevent_getfd(evhttp_connection_get_bufferevent(ex->evcon));
}

static void
exchange_after(struct exchange *ex, int ms)
{
	struct timeval	tv;

	if (!(ex->flags & EXCHANGE_ARMED))
		fatalx("%s: exchange %llu is not armed", __func__,
		    (unsigned long long)ex->seq);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ex->timer, &tv);
}

/*
 * The connection is going away: the client hung up (our watch or a failed
 * write noticed), we reset it, or the server is stopping. If libevent
 * already took the request off the connection, it is ours to free.
 */
static void
exchange_closed(struct evhttp_connection *evcon, void *arg)
{
	struct exchange	*ex = arg;

	(void)evcon;
	if (!(ex->flags & EXCHANGE_RESETTING) && !fake_stopping) {
		log_debug("request %llu: client hung up",
		    (unsigned long long)ex->seq);
		record_hung_up(ex->seq);
	}
	if (evhttp_request_get_connection(ex->req) == NULL) {
		log_debug("request %llu: dropped by libevent",
		    (unsigned long long)ex->seq);
		evhttp_request_free(ex->req);
	}
	exchange_free(ex);
}

/*
 * The client's socket became readable or closed while we hold its request.
 * evhttp does not read while a request is being handled, so this is how a
 * hang-up during a delay is noticed. Bytes to read mean a pipelined
 * request: we cannot tell a close behind them, so we stop watching.
 */
static void
exchange_watch(evutil_socket_t fd, short what, void *arg)
{
	struct exchange	*ex = arg;
	ssize_t		 n;
	char		 c;

	if (!(what & EV_CLOSED)) {
		n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n > 0)
			return;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			event_add(ex->watch, NULL);
			return;
		}
	}
	evhttp_connection_free(ex->evcon);	/* exchange_closed frees ex */
}

static void
exchange_timer(evutil_socket_t fd, short what, void *arg)
{
	struct exchange	*ex = arg;

	(void)fd;
	(void)what;
	if (ex->flags & EXCHANGE_FLUSHING)
		exchange_poll_reset(ex);
	else if (ex->flags & EXCHANGE_STARTED)
		exchange_stream(ex);
	else
		exchange_begin(ex);
}

/* Hand the exchange to the event loop: a timer, a watch, a close callback. */
static void
exchange_arm(struct exchange *ex)
{
	short	what = EV_READ;

	ex->flags |= EXCHANGE_ARMED;
	TAILQ_INSERT_TAIL(&exchanges, ex, entry);
	evhttp_connection_set_closecb(ex->evcon, exchange_closed, ex);
	if (event_base_get_features(fake_base) & EV_FEATURE_EARLY_CLOSE)
		what |= EV_CLOSED;
	ex->watch = event_new(fake_base, exchange_fd(ex), what, exchange_watch,
	    ex);
	ex->timer = evtimer_new(fake_base, exchange_timer, ex);
	if (ex->watch == NULL || ex->timer == NULL)
		fatalx("%s: event_new failed", __func__);
	event_add(ex->watch, NULL);
	exchange_after(ex, ex->opts.first_byte_delay_ms);
}

/* The reply is going out in full: nothing may call back into ex now. */
static void
exchange_disarm(struct exchange *ex)
{
	if (!(ex->flags & EXCHANGE_ARMED))
		return;
	evhttp_connection_set_closecb(ex->evcon, NULL, NULL);
	if (ex->watch != NULL) {
		event_free(ex->watch);
		ex->watch = NULL;
	}
	if (ex->timer != NULL) {
		event_free(ex->timer);
		ex->timer = NULL;
	}
}

/*
 * Abort the connection with an RST and no more bytes. libevent shuts the
 * write side down before it closes a socket, which would send a FIN
 * first; disconnecting the socket (connect to AF_UNSPEC) resets it now.
 */
static void
exchange_reset(struct exchange *ex)
{
	struct linger	 l = { 1, 0 };
	struct sockaddr	 sa;
	evutil_socket_t	 fd = exchange_fd(ex);

	log_debug("request %llu: resetting the connection",
	    (unsigned long long)ex->seq);
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == -1)
		log_warn("%s: SO_LINGER", __func__);
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	if (connect(fd, &sa, sizeof(sa)) == -1)
		log_debug("%s: disconnect: %s", __func__, strerror(errno));
	ex->flags |= EXCHANGE_RESETTING;
	evhttp_connection_free(ex->evcon);	/* exchange_closed frees ex */
}

/* Reset once what was sent left our buffers and was acknowledged. */
static void
exchange_poll_reset(struct exchange *ex)
{
	struct bufferevent	*bev;
	int			 unacked = 0;

	bev = evhttp_connection_get_bufferevent(ex->evcon);
	if (ioctl(bufferevent_getfd(bev), SIOCOUTQ, &unacked) == -1)
		unacked = 0;
	if ((evbuffer_get_length(bufferevent_get_output(bev)) > 0 ||
	    unacked > 0) && ex->polls++ < EXCHANGE_FLUSH_POLLS) {
		exchange_after(ex, 1);
		return;
	}
	exchange_reset(ex);
}

static void
exchange_reply(struct exchange *ex, int status, cJSON *json)
{
	record_status(ex->seq, status);
	record_completed(ex->seq);
	exchange_disarm(ex);
	fake_send_json(ex->req, status, json);
	exchange_free(ex);
}

/* The status line and headers of a stream. */
static void
exchange_start_stream(struct exchange *ex)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(ex->req);
	int			 one = 1;

	evhttp_add_header(out, "Content-Type", ex->api->sse ?
	    "text/event-stream; charset=utf-8" : "application/x-ndjson");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	if (ex->flags & EXCHANGE_ARMED) {
		/* Each event leaves at once, not when the last is acked. */
		(void)setsockopt(exchange_fd(ex), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
	}
	evhttp_send_reply_start(ex->req, 200, "OK");
	ex->flags |= EXCHANGE_STARTED;
	record_status(ex->seq, 200);
}

/* What stream event number step is, and for content which piece. */
static int
exchange_event(const struct exchange *ex, int step, int *piece)
{
	int	n = step;

	if (ex->api->role_chunk) {
		if (n == 0)
			return WIRE_CHUNK_ROLE;
		n--;
	}
	if (n < ex->opts.chunks) {
		*piece = n;
		return WIRE_CHUNK_CONTENT;
	}
	n -= ex->opts.chunks;
	if (n == 0)
		return WIRE_CHUNK_FINISH;
	n--;
	if (ex->include_usage) {
		if (n == 0)
			return WIRE_CHUNK_USAGE;
		n--;
	}
	if (ex->api->sse && n == 0)
		return EXCHANGE_EVENT_DONE;
	return EXCHANGE_EVENT_END;
}

/* Move pos forward to the start of a UTF-8 character. */
static size_t
exchange_boundary(const char *s, size_t len, size_t pos)
{
	while (pos < len && ((unsigned char)s[pos] & 0xc0) == 0x80)
		pos++;
	return pos;
}

/* Piece i of the answer cut in opts.chunks even parts. Caller frees. */
static char *
exchange_piece(const struct exchange *ex, int i)
{
	size_t	len = strlen(ex->answer), n = ex->opts.chunks;
	size_t	start, end;

	start = exchange_boundary(ex->answer, len, len * i / n);
	end = exchange_boundary(ex->answer, len, len * (i + 1) / n);
	return xstrndup(ex->answer + start, end - start);
}

/* Send one event as its own HTTP chunk. */
static void
exchange_send_event(struct exchange *ex, int kind, int piece)
{
	struct evbuffer	*buf;
	cJSON		*json;
	char		*text = NULL, *s;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	if (kind == EXCHANGE_EVENT_DONE)
		evbuffer_add(buf, "data: [DONE]\n\n", 14);
	else {
		if (kind == WIRE_CHUNK_CONTENT)
			text = exchange_piece(ex, piece);
		json = ex->api->chunk(ex, kind, text);
		s = cJSON_PrintUnformatted(json);
		if (ex->api->sse)
			evbuffer_add(buf, "data: ", 6);
		evbuffer_add(buf, s, strlen(s));
		evbuffer_add(buf, ex->api->sse ? "\n\n" : "\n",
		    ex->api->sse ? 2 : 1);
		free(s);
		cJSON_Delete(json);
		free(text);
	}
	evhttp_send_reply_chunk(ex->req, buf);
	evbuffer_free(buf);
}

/*
 * Send stream events until a delay, a reset or the end. A reset comes
 * once reset_after content events are out, instead of the next event.
 */
static void
exchange_stream(struct exchange *ex)
{
	int	kind, piece = 0;

	for (;;) {
		kind = exchange_event(ex, ex->step, &piece);
		if (kind == EXCHANGE_EVENT_END)
			break;
		if (ex->opts.reset_after >= 0 && kind != WIRE_CHUNK_ROLE &&
		    ex->sent >= ex->opts.reset_after) {
			ex->flags |= EXCHANGE_FLUSHING;
			exchange_poll_reset(ex);
			return;
		}
		exchange_send_event(ex, kind, piece);
		ex->step++;
		if (kind == WIRE_CHUNK_CONTENT)
			ex->sent++;
		if (ex->opts.chunk_delay_ms > 0 &&
		    exchange_event(ex, ex->step, &piece) != EXCHANGE_EVENT_END) {
			exchange_after(ex, ex->opts.chunk_delay_ms);
			return;
		}
	}

	record_completed(ex->seq);
	exchange_disarm(ex);
	evhttp_send_reply_end(ex->req);
	exchange_free(ex);
}

/* The first byte is due: reset, fail, answer, or open the stream. */
static void
exchange_begin(struct exchange *ex)
{
	if (!ex->stream && ex->opts.reset_after == 0) {
		exchange_reset(ex);
		return;
	}
	if (ex->opts.status >= 300) {
		exchange_reply(ex, ex->opts.status,
		    wire_error(ex->api->kind, ex->opts.status, NULL));
		return;
	}
	if (!ex->stream) {
		exchange_reply(ex, 200, ex->api->reply(ex));
		return;
	}
	exchange_start_stream(ex);
	exchange_stream(ex);
}

/*
 * Run a parsed exchange: settle the answer, then reply at once from the
 * request callback, or arm it when there is a delay or a reset to do.
 * The exchange frees itself.
 */
void
exchange_start(struct exchange *ex)
{
	const struct fake_opts	*o = &ex->opts;
	int			 arm;

	if (ex->prompt_tokens < 1)
		ex->prompt_tokens = 1;
	if (o->echo)
		ex->answer = xstrdup(ex->echo != NULL ? ex->echo : "");
	else
		ex->answer = xstrdup(o->text != NULL ? o->text :
		    FAKE_DEFAULT_TEXT);
	ex->completion_tokens = wire_words(ex->answer);
	if (ex->api->chunk == NULL)
		ex->stream = 0;
	if (!ex->stream || !o->usage)
		ex->include_usage = 0;

	arm = o->first_byte_delay_ms > 0 ||
	    (!ex->stream && o->reset_after == 0) ||
	    (ex->stream && (o->chunk_delay_ms > 0 || o->reset_after >= 0));
	if (arm)
		exchange_arm(ex);
	else
		exchange_begin(ex);
}
