/* One API request of the fake backend: delays, streams, resets, hang-ups. */
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include <zlib.h>

#include "fake-llm.h"
#include "log.h"
#include "xmalloc.h"

/* The [DONE] marker and the end of a stream, past enum wire_chunk. */
#define EXCHANGE_EVENT_DONE	100
#define EXCHANGE_EVENT_END	(-1)

/* How long a reset waits for the bytes before it to leave, 1 ms a poll. */
#define EXCHANGE_FLUSH_POLLS	1000

#define EXCHANGE_MAX_FLOOD	(64 * 1024 * 1024)
#define EXCHANGE_LONG_CTYPE	1100	/* bytes of ctype=long's value */

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
	{ "ratelimit", offsetof(struct fake_opts, ratelimit), 0, 2 },
	{ "flood", offsetof(struct fake_opts, flood), 0, EXCHANGE_MAX_FLOOD },
	{ "close", offsetof(struct fake_opts, close), 0, 1 },
	{ "drop_reused", offsetof(struct fake_opts, drop_reused), 0, 1 },
};

/* The string model options. */
static const struct exchange_str {
	const char	*key;
	size_t		 off;
	int		 spaces;	/* '_' stands for a space */
} exchange_strs[] = {
	{ "text", offsetof(struct fake_opts, text), 1 },
	{ "ctype", offsetof(struct fake_opts, ctype), 0 },
	{ "encoding", offsetof(struct fake_opts, encoding), 0 },
	{ "error_body", offsetof(struct fake_opts, error_body), 0 },
	{ "odd_body", offsetof(struct fake_opts, odd_body), 0 },
	{ "raw", offsetof(struct fake_opts, raw), 0 },
	{ "tool", offsetof(struct fake_opts, tool), 0 },
	{ "args", offsetof(struct fake_opts, args), 0 },
	{ "think", offsetof(struct fake_opts, think), 1 },
	{ "think_key", offsetof(struct fake_opts, think_key), 0 },
};

/*
 * error_body=NAME: what a front proxy or a sloppy backend answers an
 * error with instead of an OpenAI error object. Each leaks internals the
 * agent must not pass on.
 */
static const struct exchange_error_body {
	const char	*name;
	const char	*ctype;
	const char	*body;
} exchange_error_bodies[] = {
	{ "html", "text/html",
	    "<html><head><title>413 Request Entity Too Large</title></head>"
	    "<body><center><h1>413 Request Entity Too Large</h1></center>"
	    "<hr><center>nginx/1.22.1 at 10.9.8.7:8000</center></body>"
	    "</html>\n" },
	{ "text", "text/plain",
	    "upstream connect error or disconnect/reset before headers. "
	    "reset reason: connection failure, transport failure reason: "
	    "http://10.9.8.7:8000/v1 refused" },
	{ "vllm", "application/json",
	    "{\"object\":\"error\",\"message\":\"This model's maximum "
	    "context length is 4096 tokens.\",\"type\":\"BadRequestError\","
	    "\"param\":null,\"code\":400}" },
	{ "ollama", "application/json",
	    "{\"error\":\"model 'x' not found, try pulling it first\"}" },
	{ "bad", "application/json",
	    "{\"error\":5,\"detail\":\"http://10.9.8.7:8000/internal\"}" },
	{ "evil", "application/json",
	    "{\"error\":{\"message\":\"quota\\u0000 \\r\\nX-Evil: 1\","
	    "\"type\":\"x\\r\\nSet-Cookie: a=b\",\"param\":null,"
	    "\"code\":\"rate_limit_exceeded\"},"
	    "\"internal\":\"http://10.9.8.7:8000/v1\"}" },
};

/*
 * odd_body=NAME: a 200 answer that a lenient client would show but no
 * strict reader can check: a key twice (a last-wins parser shows the
 * second), text cut by \u0000 (cJSON stops there), or no JSON at all.
 */
static const struct exchange_error_body exchange_odd_bodies[] = {
	{ "dup", "application/json",
	    "{\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"fine\","
	    "\"content\":\"mail bob@example.com\"},\"finish_reason\":"
	    "\"stop\"}]}" },
	{ "nul", "application/json",
	    "{\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":"
	    "\"ok\\u0000 mail bob@example.com\"},\"finish_reason\":"
	    "\"stop\"}]}" },
	{ "text", "application/json", "mail bob@example.com\n" },
};

/*
 * raw=NAME: a head written by hand, for what libevent would not send:
 * bytes a Content-Type must never carry to a client.
 */
static const struct exchange_raw_head {
	const char	*name;
	const char	*head;
	size_t		 len;
	const char	*eol;
} exchange_raw_heads[] = {
#define RAW(name, head, eol)	{ name, head, sizeof(head) - 1, eol }
	RAW("cr", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r"
	    "X-Injected: 1\r\n", "\r\n"),
	RAW("nul", "HTTP/1.1 200 OK\r\nContent-Type: application/json\0"
	    "<script>\r\n", "\r\n"),
	RAW("ctl", "HTTP/1.1 200 OK\r\nContent-Type: text/html\x1b[31m\x01"
	    "\r\n", "\r\n"),
	RAW("lf", "HTTP/1.1 200 OK\nContent-Type: application/json\n"
	    "X-Injected: 1\n", "\n"),
	RAW("fold", "HTTP/1.1 200 OK\r\nContent-Type: application/json;\r\n"
	    " X-Injected: 1\r\n", "\r\n"),
	RAW("8bit", "HTTP/1.1 200 OK\r\nContent-Type: application/json; "
	    "charset=\xff\xfe\r\n", "\r\n"),
#undef RAW
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
	char	*copy, *next, *item, *value, *p, **sp;
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
		for (i = 0; i < sizeof(exchange_strs) / sizeof(*exchange_strs);
		    i++) {
			if (strcmp(item, exchange_strs[i].key) != 0)
				continue;
			sp = (char **)((char *)o + exchange_strs[i].off);
			free(*sp);
			*sp = xstrdup(value);
			for (p = *sp; exchange_strs[i].spaces && *p != '\0';
			    p++) {
				if (*p == '_')
					*p = ' ';
			}
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
	char	**sp;
	size_t	  i;

	for (i = 0; i < sizeof(exchange_strs) / sizeof(*exchange_strs); i++) {
		sp = (char **)((char *)o + exchange_strs[i].off);
		free(*sp);
		*sp = NULL;
	}
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
	ex->n = 1;
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
	if (ex->z != NULL) {
		deflateEnd(ex->z);
		free(ex->z);
	}
	cJSON_Delete(ex->body);
	exchange_clear_opts(&ex->opts);
	free(ex->model);
	free(ex->echo);
	free(ex->answer);
	free(ex->decided);
	free(ex->tool);
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

/* The client's port: one per connection. */
static int
exchange_peer_port(struct exchange *ex)
{
	char		*host;
	ev_uint16_t	 port = 0;

	evhttp_connection_get_peer(ex->evcon, &host, &port);
	return port;
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
	if (!(ex->flags & (EXCHANGE_RESETTING | EXCHANGE_RAW)) &&
	    !fake_stopping) {
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

/*
 * Close the connection unanswered, as a backend closes an idle keep-alive
 * connection: a FIN (the request was read whole, so not a reset).
 */
static void
exchange_drop(struct exchange *ex)
{
	log_debug("request %llu: dropped unanswered",
	    (unsigned long long)ex->seq);
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

/* encoding=gzip|deflate codes the body; any other name is a label only. */
static int
exchange_coded(const struct exchange *ex)
{
	const char	*e = ex->opts.encoding;

	return e != NULL && (strcmp(e, "gzip") == 0 ||
	    strcmp(e, "deflate") == 0);
}

static struct z_stream_s *
exchange_deflater(const struct exchange *ex)
{
	z_stream	*z = xcalloc(1, sizeof(*z));

	/* gzip's wrapper, or zlib's, which is HTTP's "deflate". */
	if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
	    strcmp(ex->opts.encoding, "gzip") == 0 ? 15 + 16 : 15, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		fatalx("%s: deflateInit2 failed", __func__);
	return z;
}

/* Code len bytes into out; Z_SYNC_FLUSH lets each event leave whole. */
static void
exchange_deflate(z_stream *z, const void *in, size_t len, int flush,
    struct evbuffer *out)
{
	unsigned char	buf[16384];
	int		rc;

	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)len;
	do {
		z->next_out = buf;
		z->avail_out = sizeof(buf);
		rc = deflate(z, flush);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			fatalx("%s: deflate failed", __func__);
		evbuffer_add(out, buf, sizeof(buf) - z->avail_out);
	} while (z->avail_out == 0);
}

/* ctype=long: a Content-Type longer than any reply head of the agent's. */
static char *
exchange_ctype(const struct exchange *ex, const char *normal)
{
	char	*s;

	if (ex->opts.ctype == NULL)
		return xstrdup(normal);
	if (strcmp(ex->opts.ctype, "long") != 0)
		return xstrdup(ex->opts.ctype);
	s = xmalloc(EXCHANGE_LONG_CTYPE + 1);
	memset(s, 'x', EXCHANGE_LONG_CTYPE);
	memcpy(s, "application/json; p=", 20);
	s[EXCHANGE_LONG_CTYPE] = '\0';
	return s;
}

/*
 * ratelimit=1: what a rate-limited OpenAI answers with, among headers
 * that must not reach a client; ratelimit=2: far too many of them.
 */
static void
exchange_ratelimit_headers(const struct exchange *ex, struct evkeyvalq *out)
{
	char	name[64], value[300];
	int	i;

	if (ex->opts.ratelimit == 0)
		return;
	evhttp_add_header(out, "Retry-After", "7");
	evhttp_add_header(out, "Retry-After", "3600");
	evhttp_add_header(out, "retry-after-ms", "7000");
	evhttp_add_header(out, "x-ratelimit-limit-requests", "60");
	evhttp_add_header(out, "x-ratelimit-remaining-requests", "0");
	evhttp_add_header(out, "x-ratelimit-reset-requests", "7s");
	evhttp_add_header(out, "Set-Cookie", "backend_session=secret");
	evhttp_add_header(out, "X-Backend-Host", "10.9.8.7");
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	evhttp_add_header(out, "x-ratelimit-overlong", value);
	for (i = 0; ex->opts.ratelimit == 2 && i < 300; i++) {
		snprintf(name, sizeof(name), "x-ratelimit-extra-%d", i);
		evhttp_add_header(out, name, "1");
	}
}

/* Send a whole reply, as the options shape it; consumes json. */
static void
exchange_send(struct exchange *ex, int status, cJSON *json)
{
	struct evkeyvalq			*out;
	const struct exchange_error_body	*eb = NULL;
	struct evbuffer				*buf;
	const char				*ctype = "application/json";
	char					*s, *ct;
	size_t					 i;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	out = evhttp_request_get_output_headers(ex->req);
	for (i = 0; status >= 300 && ex->opts.error_body != NULL &&
	    i < sizeof(exchange_error_bodies) / sizeof(*exchange_error_bodies);
	    i++)
		if (strcmp(ex->opts.error_body, exchange_error_bodies[i].name) ==
		    0)
			eb = &exchange_error_bodies[i];
	for (i = 0; status < 300 && ex->opts.odd_body != NULL &&
	    i < sizeof(exchange_odd_bodies) / sizeof(*exchange_odd_bodies);
	    i++)
		if (strcmp(ex->opts.odd_body, exchange_odd_bodies[i].name) == 0)
			eb = &exchange_odd_bodies[i];
	if (eb != NULL) {
		s = xstrdup(eb->body);
		ctype = eb->ctype;
	} else
		s = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (exchange_coded(ex)) {
		ex->z = exchange_deflater(ex);
		exchange_deflate(ex->z, s, strlen(s), Z_FINISH, buf);
	} else
		evbuffer_add(buf, s, strlen(s));
	free(s);
	ct = exchange_ctype(ex, ctype);
	evhttp_add_header(out, "Content-Type", ct);
	free(ct);
	if (ex->opts.encoding != NULL)
		evhttp_add_header(out, "Content-Encoding", ex->opts.encoding);
	if (ex->opts.close)
		evhttp_add_header(out, "Connection", "close");
	exchange_ratelimit_headers(ex, out);
	evhttp_send_reply(ex->req, status, wire_reason(status), buf);
	evbuffer_free(buf);
}

static void
exchange_reply(struct exchange *ex, int status, cJSON *json)
{
	record_status(ex->seq, status);
	record_completed(ex->seq);
	exchange_disarm(ex);
	exchange_send(ex, status, json);
	exchange_free(ex);
}

/* All of buf to the socket, waiting while it is full. */
static void
exchange_write_all(evutil_socket_t fd, const char *buf, size_t len)
{
	struct pollfd	pfd = { fd, POLLOUT, 0 };
	ssize_t		n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) > 0) {
			buf += n;
			len -= n;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			(void)poll(&pfd, 1, 1000);
		else
			return;	/* the client is gone */
	}
}

/*
 * raw=trickle: a valid answer a client must read across many reads: the
 * head, then the body chunked in 7-byte chunks with an extension, and a
 * trailer, all written a few bytes at a time (1 to 7, a millisecond
 * apart, TCP_NODELAY), so that its lines and chunk sizes are cut in
 * every place. Then close.
 */
static void
exchange_raw_trickle(struct exchange *ex)
{
	static const char	 head[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	struct timespec		 ms = { 0, 1000000 };
	struct evbuffer		*buf;
	cJSON			*json;
	char			*body;
	const char		*p;
	size_t			 len, off, n, step = 1;
	int			 one = 1;

	json = ex->api->reply(ex);
	body = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	evbuffer_add(buf, head, sizeof(head) - 1);
	len = strlen(body);
	for (off = 0; off < len; off += n) {
		n = len - off < 7 ? len - off : 7;
		evbuffer_add_printf(buf, "%zx;piece=%zu\r\n", n, off / 7);
		evbuffer_add(buf, body + off, n);
		evbuffer_add(buf, "\r\n", 2);
	}
	evbuffer_add_printf(buf, "0\r\nX-Trailer: done\r\n\r\n");
	free(body);
	(void)setsockopt(exchange_fd(ex), IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	p = (const char *)evbuffer_pullup(buf, -1);
	len = evbuffer_get_length(buf);
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		exchange_write_all(exchange_fd(ex), p + off, n);
		nanosleep(&ms, NULL);
		step = step % 7 + 1;
	}
	evbuffer_free(buf);
	record_status(ex->seq, 200);
	record_completed(ex->seq);
	ex->flags |= EXCHANGE_RAW;
	evhttp_connection_free(ex->evcon);	/* exchange_closed frees ex */
}

/* raw=NAME: write the head by hand, then the answer, then close. */
static void
exchange_raw(struct exchange *ex)
{
	const struct exchange_raw_head	*h = NULL;
	struct evbuffer			*buf;
	cJSON				*json;
	char				*body;
	size_t				 i;

	if (strcmp(ex->opts.raw, "trickle") == 0) {
		exchange_raw_trickle(ex);
		return;
	}
	for (i = 0; i < sizeof(exchange_raw_heads) /
	    sizeof(*exchange_raw_heads); i++)
		if (strcmp(ex->opts.raw, exchange_raw_heads[i].name) == 0)
			h = &exchange_raw_heads[i];
	if (h == NULL)
		h = &exchange_raw_heads[0];
	json = ex->api->reply(ex);
	body = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	evbuffer_add(buf, h->head, h->len);
	evbuffer_add_printf(buf, "Content-Length: %zu%sConnection: close%s%s",
	    strlen(body), h->eol, h->eol, h->eol);
	evbuffer_add(buf, body, strlen(body));
	free(body);
	exchange_write_all(exchange_fd(ex), (const char *)evbuffer_pullup(buf,
	    -1), evbuffer_get_length(buf));
	evbuffer_free(buf);
	record_status(ex->seq, 200);
	record_completed(ex->seq);
	/* libevent shuts the write side down first: a FIN after the answer. */
	ex->flags |= EXCHANGE_RAW;
	evhttp_connection_free(ex->evcon);	/* exchange_closed frees ex */
}

/* The status line and headers of a stream. */
static void
exchange_start_stream(struct exchange *ex)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(ex->req);
	char			*ct;
	int			 one = 1;

	ct = exchange_ctype(ex, ex->api->sse ?
	    "text/event-stream; charset=utf-8" : "application/x-ndjson");
	evhttp_add_header(out, "Content-Type", ct);
	free(ct);
	evhttp_add_header(out, "Cache-Control", "no-cache");
	if (ex->opts.encoding != NULL)
		evhttp_add_header(out, "Content-Encoding", ex->opts.encoding);
	if (exchange_coded(ex))
		ex->z = exchange_deflater(ex);
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
	if (ex->api->sse && !ex->api->named && n == 0)
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

/* One HTTP chunk of a stream, coded when the stream is; last ends the code. */
static void
exchange_send_chunk(struct exchange *ex, struct evbuffer *buf, int last)
{
	struct evbuffer	*coded;
	size_t		 len = evbuffer_get_length(buf);

	if (ex->z == NULL) {
		if (len > 0)
			evhttp_send_reply_chunk(ex->req, buf);
		return;
	}
	if ((coded = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	exchange_deflate(ex->z, evbuffer_pullup(buf, -1), len,
	    last ? Z_FINISH : Z_SYNC_FLUSH, coded);
	evhttp_send_reply_chunk(ex->req, coded);
	evbuffer_free(coded);
}

/* One event's bytes: "event: <its type>" first where the API names them. */
static void
exchange_add_event(struct exchange *ex, struct evbuffer *buf,
    const cJSON *json)
{
	const cJSON	*type;
	char		*s;

	s = cJSON_PrintUnformatted(json);
	type = cJSON_GetObjectItemCaseSensitive(json, "type");
	if (ex->api->named && cJSON_IsString(type))
		evbuffer_add_printf(buf, "event: %s\n", type->valuestring);
	if (ex->api->sse)
		evbuffer_add(buf, "data: ", 6);
	evbuffer_add(buf, s, strlen(s));
	evbuffer_add(buf, ex->api->sse ? "\n\n" : "\n",
	    ex->api->sse ? 2 : 1);
	free(s);
}

/* Send one step's event (or events, an array of them) as an HTTP chunk. */
static void
exchange_send_event(struct exchange *ex, int kind, int piece)
{
	struct evbuffer	*buf;
	cJSON		*json;
	const cJSON	*e;
	char		*text = NULL;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	if (kind == EXCHANGE_EVENT_DONE)
		evbuffer_add(buf, "data: [DONE]\n\n", 14);
	else {
		if (kind == WIRE_CHUNK_CONTENT)
			text = exchange_piece(ex, piece);
		json = ex->api->chunk(ex, kind, text);
		if (cJSON_IsArray(json)) {
			cJSON_ArrayForEach(e, json)
				exchange_add_event(ex, buf, e);
		} else
			exchange_add_event(ex, buf, json);
		cJSON_Delete(json);
		free(text);
	}
	exchange_send_chunk(ex, buf, 0);
	evbuffer_free(buf);
}

/* flood=N: an event of N bytes that never ends, then the end of the body. */
static void
exchange_flood(struct exchange *ex)
{
	struct evbuffer	*buf;
	char		 x[65536];
	int		 left;

	memset(x, 'x', sizeof(x));
	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	if (ex->api->sse)
		evbuffer_add(buf, "data: ", 6);
	else
		evbuffer_add(buf, "{\"response\":\"", 13);
	for (left = ex->opts.flood; left > 0; left -= (int)sizeof(x))
		evbuffer_add(buf, x, left < (int)sizeof(x) ? (size_t)left :
		    sizeof(x));
	exchange_send_chunk(ex, buf, 0);
	evbuffer_free(buf);
}

/*
 * Send stream events until a delay, a reset or the end. A reset comes
 * once reset_after content events are out, instead of the next event.
 */
static void
exchange_stream(struct exchange *ex)
{
	struct evbuffer	*end;
	int		 kind, piece = 0;

	if (ex->opts.flood > 0 && ex->step == 0) {
		exchange_flood(ex);
		goto done;
	}
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
done:
	if (ex->z != NULL) {
		if ((end = evbuffer_new()) == NULL)
			fatalx("%s: evbuffer_new failed", __func__);
		exchange_send_chunk(ex, end, 1);
		evbuffer_free(end);
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
	if (ex->opts.drop_reused && record_port_seen(ex->seq,
	    exchange_peer_port(ex))) {
		exchange_drop(ex);
		return;
	}
	if (ex->opts.raw != NULL) {
		exchange_raw(ex);
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
	if (ex->decided != NULL) {
		ex->answer = ex->decided;
		ex->decided = NULL;
	} else if (o->echo)
		ex->answer = xstrdup(ex->echo != NULL ? ex->echo : "");
	else
		ex->answer = xstrdup(o->text != NULL ? o->text :
		    FAKE_DEFAULT_TEXT);
	ex->completion_tokens = wire_words(ex->answer) * ex->n;
	if (ex->api->chunk == NULL)
		ex->stream = 0;
	if (!ex->stream || !o->usage)
		ex->include_usage = 0;

	if (o->raw != NULL)
		ex->stream = 0;
	arm = o->first_byte_delay_ms > 0 || o->raw != NULL ||
	    (!ex->stream && o->reset_after == 0) || o->drop_reused ||
	    (ex->stream && (o->chunk_delay_ms > 0 || o->reset_after >= 0));
	if (arm)
		exchange_arm(ex);
	else
		exchange_begin(ex);
}
