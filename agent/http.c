/*
 * A small HTTP/1.1 server on libevent bufferevents, for the inference port.
 * We do not use evhttp: libevent 2.1 answers its own limits (body, headers)
 * with HTML pages instead of the OpenAI error shape, and only notices that a
 * client hung up at its next write, too late to cancel a waiting upstream.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_BODY_PRERESERVE	(1024 * 1024)

enum http_state {
	HTTP_READ_HEAD,		/* waiting for a request (idle when empty) */
	HTTP_READ_BODY,		/* Content-Length body */
	HTTP_READ_CHUNKED,	/* chunked body */
	HTTP_HANDLING,		/* the handler has it, no reply yet */
	HTTP_STREAMING,		/* chunked reply under way */
	HTTP_FLUSHING,		/* reply complete, waiting for it to drain */
};

enum chunk_state {
	CHUNK_SIZE,
	CHUNK_DATA,
	CHUNK_DATA_END,
	CHUNK_TRAILER,
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*server;
	struct bufferevent	*bev;
	enum http_state		 state;
	struct http_request	 req;
	char			*buf;		/* head, then body, of one request */
	size_t			 buf_len;
	size_t			 buf_cap;
	size_t			 head_len;
	size_t			 body_want;	/* Content-Length still to read */
	enum chunk_state	 chunk;
	size_t			 chunk_left;
	int			 expect_continue;
	int			 close_after;	/* Connection: close on this reply */
	int			 http10;	/* HTTP/1.0: no chunked replies */
};
TAILQ_HEAD(http_conns, http_conn);

struct http_server {
	struct event_base		*base;
	const struct agent_config	*cfg;
	http_handler			 handler;
	void				*arg;
	struct evconnlistener		*listener;
	struct event			*resume_ev;	/* re-enable accept after EMFILE */
	struct http_conns		 conns;
	size_t				 busy;
	int				 draining;
};

static void	http_conn_read(struct bufferevent *, void *);
static void	http_conn_write(struct bufferevent *, void *);
static void	http_conn_event(struct bufferevent *, short, void *);
static void	http_conn_process(struct http_conn *);

static const char *
http_reason(int status)
{
	static const struct {
		int		 status;
		const char	*reason;
	} reasons[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 408, "Request Timeout" }, { 413, "Content Too Large" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return status < 300 ? "OK" : status < 500 ? "Client Error" :
	    "Server Error";
}

/* --- connections --------------------------------------------------------- */

static void
http_conn_free(struct http_conn *c)
{
	struct http_server	*srv = c->server;

	if (c->state == HTTP_HANDLING || c->state == HTTP_STREAMING ||
	    c->state == HTTP_FLUSHING)
		srv->busy--;
	TAILQ_REMOVE(&srv->conns, c, entry);
	bufferevent_free(c->bev);
	free(c->buf);
	free(c);
}

/* The client is gone or broke the protocol: tell the handler, then drop it. */
static void
http_conn_abort(struct http_conn *c)
{
	void	(*on_abort)(void *) = c->req.on_abort;

	if ((c->state == HTTP_HANDLING || c->state == HTTP_STREAMING) &&
	    on_abort != NULL) {
		c->req.on_abort = NULL;
		c->req.on_drain = NULL;
		on_abort(c->req.cb_arg);
	}
	http_conn_free(c);
}

static void
http_conn_timeouts(struct http_conn *c, int reading)
{
	struct timeval	tv;
	int		ms = c->server->cfg->client_timeout_ms;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	bufferevent_set_timeouts(c->bev, reading ? &tv : NULL, &tv);
}

static void
http_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct http_server	*srv = arg;
	struct http_conn	*c;
	int			 one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	if (srv->draining) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->server = srv;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("%s: bufferevent_socket_new failed", __func__);
		close(fd);
		free(c);
		return;
	}
	c->req.conn = c;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	bufferevent_setcb(c->bev, http_conn_read, NULL, http_conn_event, c);
	http_conn_timeouts(c, 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Out of file descriptors: pause accepting for a moment instead of spinning. */
static void
http_accept_error(struct evconnlistener *l, void *arg)
{
	struct http_server	*srv = arg;
	struct timeval		 tv = { 0, 200 * 1000 };
	int			 e = EVUTIL_SOCKET_ERROR();

	log_warnx("accept: %s", evutil_socket_error_to_string(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(l);
		event_add(srv->resume_ev, &tv);
	}
}

static void
http_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_server	*srv = arg;

	(void)fd;
	(void)what;
	if (srv->listener != NULL && !srv->draining)
		evconnlistener_enable(srv->listener);
}

/* --- parsing ------------------------------------------------------------- */

static int
http_token_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* Does a comma-separated header value contain `token` (case-insensitive)? */
static int
http_list_has(const char *v, size_t len, const char *token)
{
	const char	*end = v + len, *p, *q;

	for (p = v; p < end; p = q + 1) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		for (q = p; q < end && *q != ','; q++)
			;
		len = q - p;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (http_token_eq(p, len, token))
			return 1;
	}
	return 0;
}

static int
http_is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * Parse the request line and headers in c->buf[0..head_len). Returns 0, or
 * an HTTP status to answer with (the connection then closes).
 */
static int
http_parse_head(struct http_conn *c, const char **why)
{
	struct http_request	*r = &c->req;
	char			*p = c->buf, *end = c->buf + c->head_len, *eol;
	char			*name, *value, *q;
	size_t			 n;
	int			 minor, have_cl = 0, chunked = 0;
	unsigned long long	 cl = 0;
	int			 conn_close = 0, conn_keep = 0;

	/* Request line: METHOD SP target SP HTTP/1.x */
	if ((eol = memchr(p, '\n', end - p)) == NULL || eol == p ||
	    eol[-1] != '\r')
		return *why = "malformed request line", 400;
	for (q = p; q < eol && http_is_tchar(*q); q++)
		;
	if (q == p || *q != ' ')
		return *why = "malformed request line", 400;
	r->method = p;
	r->method_len = q - p;
	p = q + 1;
	if ((q = memchr(p, ' ', eol - p)) == NULL || q == p || *p != '/')
		return *why = "malformed request target", 400;
	r->path = p;
	r->path_len = q - p;
	if ((value = memchr(p, '?', q - p)) != NULL) {
		r->path_len = value - p;
		r->query = value + 1;
		r->query_len = q - value - 1;
	}
	for (n = 0; n < (size_t)(q - p); n++)
		if ((unsigned char)p[n] <= ' ' || p[n] == 0x7f)
			return *why = "malformed request target", 400;
	p = q + 1;
	if (eol - 1 - p != 8 || memcmp(p, "HTTP/", 5) != 0 ||
	    p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' || p[7] > '9')
		return *why = "malformed request line", 400;
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return *why = "unsupported HTTP version", 505;
	minor = p[7] - '0';
	c->http10 = minor == 0;
	p = eol + 1;

	/* Header fields; obsolete line folding is refused. */
	r->nheaders = 0;
	while (p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL || eol[-1] != '\r')
			return *why = "malformed header", 400;
		if (eol - 1 == p)	/* the blank line */
			break;
		for (name = q = p; q < eol && http_is_tchar(*q); q++)
			;
		if (q == name || *q != ':')
			return *why = "malformed header", 400;
		n = q - name;
		for (value = q + 1; value < eol && (*value == ' ' ||
		    *value == '\t'); value++)
			;
		for (q = eol - 1; q > value && (q[-1] == ' ' || q[-1] == '\t');
		    q--)
			;
		for (p = value; p < q; p++)
			if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
				return *why = "malformed header value", 400;
		if (r->nheaders == HTTP_MAX_HEADERS)
			return *why = "too many header fields", 431;
		r->headers[r->nheaders].name = name;
		r->headers[r->nheaders].name_len = n;
		r->headers[r->nheaders].value = value;
		r->headers[r->nheaders].value_len = q - value;
		r->nheaders++;

		if (http_token_eq(name, n, "content-length")) {
			unsigned long long v = 0;

			if (q == value)
				return *why = "bad Content-Length", 400;
			for (p = value; p < q; p++) {
				if (*p < '0' || *p > '9' || v > (1ULL << 40))
					return *why = "bad Content-Length", 400;
				v = v * 10 + (*p - '0');
			}
			if (have_cl && v != cl)
				return *why = "conflicting Content-Length", 400;
			have_cl = 1;
			cl = v;
		} else if (http_token_eq(name, n, "transfer-encoding")) {
			if (!http_token_eq(value, q - value, "chunked"))
				return *why = "unsupported Transfer-Encoding",
				    501;
			chunked = 1;
		} else if (http_token_eq(name, n, "connection")) {
			conn_close |= http_list_has(value, q - value, "close");
			conn_keep |= http_list_has(value, q - value,
			    "keep-alive");
		} else if (minor == 1 && http_token_eq(name, n, "expect")) {
			if (!http_token_eq(value, q - value, "100-continue"))
				return *why = "unsupported Expect", 417;
			c->expect_continue = 1;
		}
		p = eol + 1;
	}

	/* RFC 9112 6.3: both framings at once is how requests get smuggled. */
	if (chunked && have_cl)
		return *why = "both Content-Length and Transfer-Encoding", 400;
	r->keep_alive = !conn_close && (minor == 1 || conn_keep);
	if (cl > c->server->cfg->max_body)
		return *why = "request body too large", 413;
	c->body_want = cl;
	if (chunked) {
		c->state = HTTP_READ_CHUNKED;
		c->chunk = CHUNK_SIZE;
	} else
		c->state = HTTP_READ_BODY;
	return 0;
}

/* Move a pointer into the old request buffer to the same offset in the new. */
#define HTTP_REBASE(p, from, to) do {					\
	if ((p) != NULL)						\
		(p) = (to) + ((uintptr_t)(p) - (from));			\
} while (0)

/*
 * Make room for n more bytes of request in c->buf. The parsed request
 * points into the buffer, so when it moves the pointers move with it.
 */
static void
http_conn_reserve(struct http_conn *c, size_t n)
{
	struct http_request	*r = &c->req;
	size_t			 cap = c->buf_cap ? c->buf_cap : 4096, i;
	uintptr_t		 from = (uintptr_t)c->buf;

	if (c->buf_len + n <= c->buf_cap)
		return;
	while (cap < c->buf_len + n)
		cap *= 2;
	c->buf = xreallocarray(c->buf, 1, cap);
	c->buf_cap = cap;
	if ((uintptr_t)c->buf == from || c->head_len == 0)
		return;
	HTTP_REBASE(r->method, from, c->buf);
	HTTP_REBASE(r->path, from, c->buf);
	HTTP_REBASE(r->query, from, c->buf);
	for (i = 0; i < r->nheaders; i++) {
		HTTP_REBASE(r->headers[i].name, from, c->buf);
		HTTP_REBASE(r->headers[i].value, from, c->buf);
	}
}

/* An error before the handler ran: answer and close the connection. */
static void
http_conn_fail(struct http_conn *c, int status, const char *why)
{
	enum api_error	 e;
	char		 body[512];
	size_t		 len;

	switch (status) {
	case 413:
		e = API_REQUEST_TOO_LARGE;
		break;
	case 431:
		e = API_HEADERS_TOO_LARGE;
		break;
	default:
		e = API_INVALID_REQUEST;
		break;
	}
	log_debug("http: %d %s", status, why);
	len = api_error_body(body, sizeof(body), e, NULL, why);
	c->req.keep_alive = 0;
	c->state = HTTP_HANDLING;
	c->server->busy++;
	c->req.on_abort = NULL;
	http_reply(&c->req, status, "application/json", body, len, NULL);
	bufferevent_disable(c->bev, EV_READ);
}

/* Start reading the next request on a kept-alive connection. */
static void
http_conn_reset(struct http_conn *c)
{
	memset(&c->req, 0, sizeof(c->req));
	c->req.conn = c;
	c->state = HTTP_READ_HEAD;
	c->buf_len = c->head_len = c->body_want = 0;
	c->expect_continue = 0;
	c->close_after = 0;
	c->http10 = 0;
	if (c->buf_cap > 1024 * 1024) {
		free(c->buf);
		c->buf = NULL;
		c->buf_cap = 0;
	}
}

static int
http_read_head(struct http_conn *c, struct evbuffer *in)
{
	struct evbuffer_ptr	 pos;
	size_t			 len, max = c->server->cfg->max_headers;
	const char		*why = NULL;
	unsigned char		*p;
	int			 status;

	/* RFC 9112 2.2: ignore empty lines before a request line. */
	while ((len = evbuffer_get_length(in)) >= 1) {
		p = evbuffer_pullup(in, len < 2 ? 1 : 2);
		if (p[0] == '\n')
			evbuffer_drain(in, 1);
		else if (p[0] == '\r' && len >= 2 && p[1] == '\n')
			evbuffer_drain(in, 2);
		else
			break;
	}
	if (len == 0)
		return 0;
	pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (pos.pos < 0) {
		if (len > max) {
			http_conn_fail(c, 431, "request header too large");
			return -1;
		}
		return 0;
	}
	if ((size_t)pos.pos + 4 > max) {
		http_conn_fail(c, 431, "request header too large");
		return -1;
	}
	memset(&c->req, 0, sizeof(c->req));
	c->req.conn = c;
	c->head_len = pos.pos + 4;
	c->buf_len = 0;
	http_conn_reserve(c, c->head_len);
	evbuffer_remove(in, c->buf, c->head_len);
	c->buf_len = c->head_len;
	if ((status = http_parse_head(c, &why)) != 0) {
		http_conn_fail(c, status, why);
		return -1;
	}
	/*
	 * Room for the body in one allocation when it is modest; a large one
	 * grows as its bytes actually arrive, so a client cannot claim
	 * max_body of memory by announcing it.
	 */
	http_conn_reserve(c, (c->body_want < HTTP_BODY_PRERESERVE ?
	    c->body_want : HTTP_BODY_PRERESERVE) + 1);
	if (c->expect_continue && evbuffer_get_length(in) == 0 &&
	    (c->body_want > 0 || c->state == HTTP_READ_CHUNKED))
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 1;
}

static int
http_read_body(struct http_conn *c, struct evbuffer *in)
{
	size_t	n = evbuffer_get_length(in);

	if (n > c->body_want)
		n = c->body_want;
	if (n > 0) {
		http_conn_reserve(c, n + 1);
		evbuffer_remove(in, c->buf + c->buf_len, n);
		c->buf_len += n;
		c->body_want -= n;
	}
	return c->body_want == 0;
}

/* Decode as much of a chunked body as has arrived; 1 when complete. */
static int
http_read_chunked(struct http_conn *c, struct evbuffer *in)
{
	size_t		 n, body_len, max = c->server->cfg->max_body;
	char		*line, *end;
	unsigned long	 size;

	for (;;) {
		body_len = c->buf_len - c->head_len;
		switch (c->chunk) {
		case CHUNK_SIZE:
		case CHUNK_TRAILER:
			line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT);
			if (line == NULL) {
				if (evbuffer_get_length(in) > 4096) {
					http_conn_fail(c, 400,
					    "malformed chunked body");
					return -1;
				}
				return 0;
			}
			if (c->chunk == CHUNK_TRAILER) {
				free(line);
				if (n == 0)
					return 1;
				continue;
			}
			size = 0;
			for (end = line; isxdigit((unsigned char)*end); end++) {
				if (size > ULONG_MAX >> 4)
					break;
				size = size * 16 + (*end <= '9' ? *end - '0' :
				    (*end | 0x20) - 'a' + 10);
			}
			while (*end == ' ' || *end == '\t')
				end++;
			if (end == line ||
			    (end != line + n && *end != ';')) {
				free(line);
				http_conn_fail(c, 400, "malformed chunk size");
				return -1;
			}
			free(line);
			if (size > max || body_len + size > max) {
				http_conn_fail(c, 413, "request body too large");
				return -1;
			}
			c->chunk_left = size;
			c->chunk = size == 0 ? CHUNK_TRAILER : CHUNK_DATA;
			break;
		case CHUNK_DATA:
			if ((n = evbuffer_get_length(in)) == 0)
				return 0;
			if (n > c->chunk_left)
				n = c->chunk_left;
			http_conn_reserve(c, n + 1);
			evbuffer_remove(in, c->buf + c->buf_len, n);
			c->buf_len += n;
			if ((c->chunk_left -= n) == 0)
				c->chunk = CHUNK_DATA_END;
			break;
		case CHUNK_DATA_END:
			if (evbuffer_get_length(in) < 2)
				return 0;
			line = (char *)evbuffer_pullup(in, 2);
			if (line[0] != '\r' || line[1] != '\n') {
				http_conn_fail(c, 400, "malformed chunked body");
				return -1;
			}
			evbuffer_drain(in, 2);
			c->chunk = CHUNK_SIZE;
			break;
		}
	}
}

/* Read and dispatch as far as the buffered input allows. */
static void
http_conn_process(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	int		 rc;

	if (c->state == HTTP_READ_HEAD) {
		if ((rc = http_read_head(c, in)) <= 0)
			return;
	}
	if (c->state == HTTP_READ_BODY)
		rc = http_read_body(c, in);
	else if (c->state == HTTP_READ_CHUNKED)
		rc = http_read_chunked(c, in);
	else
		return;
	if (rc <= 0)
		return;

	/* The whole request is in: hand it over. */
	http_conn_reserve(c, 1);
	c->buf[c->buf_len] = '\0';
	c->req.body = c->buf + c->head_len;
	c->req.body_len = c->buf_len - c->head_len;
	c->state = HTTP_HANDLING;
	c->server->busy++;
	http_conn_timeouts(c, 0);
	c->server->handler(&c->req, c->server->arg);
}

static void
http_conn_read(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	struct http_server	*srv = c->server;

	switch (c->state) {
	case HTTP_READ_HEAD:
	case HTTP_READ_BODY:
	case HTTP_READ_CHUNKED:
		http_conn_process(c);
		break;
	default:
		/*
		 * A pipelined request waits its turn; stop reading (and so
		 * watching for hang-up) only if it grows past any valid size.
		 */
		if (evbuffer_get_length(bufferevent_get_input(bev)) >
		    srv->cfg->max_headers + srv->cfg->max_body)
			bufferevent_disable(bev, EV_READ);
		break;
	}
}

static void
http_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;

	(void)bev;
	if ((what & BEV_EVENT_TIMEOUT) && c->state == HTTP_READ_HEAD &&
	    c->buf_len == 0)
		log_debug("http: idle connection closed");
	else if (what & BEV_EVENT_TIMEOUT)
		log_debug("http: client timed out");
	/* EOF, error or timeout: the connection is over either way. */
	http_conn_abort(c);
}

/* The reply has fully left: next request, or close. */
static void
http_conn_write(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	void			(*on_drain)(void *);

	if (c->state == HTTP_STREAMING) {
		if ((on_drain = c->req.on_drain) != NULL)
			on_drain(c->req.cb_arg);
		return;
	}
	if (c->state != HTTP_FLUSHING ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	c->state = HTTP_READ_HEAD;
	c->server->busy--;
	if (!c->req.keep_alive || c->close_after || c->server->draining) {
		http_conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, http_conn_read, NULL, http_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	http_conn_reset(c);
	http_conn_timeouts(c, 1);
	bufferevent_enable(c->bev, EV_READ);
	http_conn_process(c);
}

/* --- replies ------------------------------------------------------------- */

static void
http_write_head(struct http_request *r, int status, const char *ctype,
    const char *framing, const char *extra)
{
	struct http_conn	*c = r->conn;
	char			 head[1024];
	int			 n;

	if (!r->keep_alive || c->server->draining)
		c->close_after = 1;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n%s%s%s\r\n", status, http_reason(status),
	    ctype, framing, c->close_after ? "Connection: close\r\n" : "",
	    extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		fatalx("%s: reply head too long", __func__);
	bufferevent_write(c->bev, head, n);
}

void
http_reply(struct http_request *r, int status, const char *ctype,
    const void *body, size_t len, const char *extra)
{
	struct http_conn	*c = r->conn;
	char			 framing[64];

	snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", len);
	http_write_head(r, status, ctype, framing, extra);
	if (len > 0)
		bufferevent_write(c->bev, body, len);
	r->on_abort = NULL;
	r->on_drain = NULL;
	c->state = HTTP_FLUSHING;
	bufferevent_setcb(c->bev, http_conn_read, http_conn_write,
	    http_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

void
http_stream_start(struct http_request *r, int status, const char *ctype)
{
	struct http_conn	*c = r->conn;

	/* HTTP/1.0 knows no chunks: the close ends the body (RFC 9112 6.1). */
	if (c->http10)
		c->close_after = 1;
	http_write_head(r, status, ctype, c->http10 ?
	    "Cache-Control: no-cache\r\n" :
	    "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n", NULL);
	c->state = HTTP_STREAMING;
	bufferevent_setwatermark(c->bev, EV_WRITE, HTTP_STREAM_LOW_WATER, 0);
	bufferevent_setcb(c->bev, http_conn_read, http_conn_write,
	    http_conn_event, c);
}

size_t
http_stream_write(struct http_request *r, const void *data, size_t len)
{
	struct http_conn	*c = r->conn;
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	char			 size[24];
	int			 n;

	if (len > 0 && c->http10)
		evbuffer_add(out, data, len);
	else if (len > 0) {
		n = snprintf(size, sizeof(size), "%zx\r\n", len);
		evbuffer_add(out, size, n);
		evbuffer_add(out, data, len);
		evbuffer_add(out, "\r\n", 2);
	}
	return evbuffer_get_length(out);
}

void
http_stream_end(struct http_request *r)
{
	struct http_conn	*c = r->conn;

	r->on_abort = NULL;
	r->on_drain = NULL;
	c->state = HTTP_FLUSHING;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (!c->http10)
		bufferevent_write(c->bev, "0\r\n\r\n", 5);
	else	/* nothing more to write: finish on the next loop pass */
		bufferevent_trigger(c->bev, EV_WRITE,
		    BEV_TRIG_DEFER_CALLBACKS);
}

const char *
http_header_get(const struct http_request *r, const char *name, size_t *len)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < r->nheaders; i++) {
		if (r->headers[i].name_len == n &&
		    strncasecmp(r->headers[i].name, name, n) == 0) {
			*len = r->headers[i].value_len;
			return r->headers[i].value;
		}
	}
	*len = 0;
	return NULL;
}

/* --- server -------------------------------------------------------------- */

struct http_server *
http_server_new(struct event_base *base, const struct agent_config *cfg,
    http_handler handler, void *arg)
{
	struct http_server	*srv = xcalloc(1, sizeof(*srv));

	srv->base = base;
	srv->cfg = cfg;
	srv->handler = handler;
	srv->arg = arg;
	TAILQ_INIT(&srv->conns);
	srv->resume_ev = evtimer_new(base, http_accept_resume, srv);
	if (srv->resume_ev == NULL)
		fatalx("%s: evtimer_new", __func__);
	return srv;
}

int
http_server_listen(struct http_server *srv, int fd, char *err, size_t errlen)
{
	srv->listener = evconnlistener_new(srv->base, http_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv->listener == NULL) {
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, http_accept_error);
	return 0;
}

void
http_server_drain(struct http_server *srv)
{
	struct http_conn	*c, *next;

	srv->draining = 1;
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == HTTP_READ_HEAD && c->buf_len == 0 &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			http_conn_free(c);
	}
}

size_t
http_server_busy(const struct http_server *srv)
{
	return srv->busy;
}

void
http_server_free(struct http_server *srv)
{
	struct http_conn	*c;

	if (srv == NULL)
		return;
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		http_conn_abort(c);
	event_free(srv->resume_ev);
	free(srv);
}
