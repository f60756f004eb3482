/*
 * Unit tests for agent/http.c: a real server on 127.0.0.1:0 and a raw client
 * socket, framing, limits, pipelining, hang-up, streaming and drain.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <event2/event.h>

#include "agent.h"

#define MAX_CLIENTS	8
#define MAX_RESPONSES	8
#define WAIT_MS		3000

/* A string literal and its length, NULs included. */
#define LIT(s)		(s), (sizeof(s) - 1)

enum mode {
	MODE_ECHO,		/* reply at once with what was received */
	MODE_HOLD,		/* keep the request; the test answers it */
};

struct response {
	int	 status;
	char	*head;		/* status line and fields, NUL-ended */
	char	*body;		/* decoded, NUL-terminated */
	size_t	 body_len;
	int	 chunked;
};

struct fixture;

/* What a held request carries: freed by on_abort, or by held_take(). */
struct held {
	struct fixture		*f;
	struct http_request	*req;
};

struct client {
	int	 fd;
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 eof;
	int	 err;		/* errno of a failed read */
};

struct fixture {
	struct agent_config	 cfg;
	struct event_base	*base;
	struct http_server	*srv;
	int			 lfd;
	struct sockaddr_in	 addr;
	enum mode		 mode;
	struct client		*clients[MAX_CLIENTS];
	struct response		 resp[MAX_RESPONSES]; /* take_responses() */
	size_t			 nresp;

	/* The last request the handler saw, copied. */
	size_t			 nreq;
	char			*method;
	char			*target;	/* path, then '?' query */
	char			*headers;	/* "name: value\n"... */
	char			*body;
	size_t			 body_len;
	size_t			 nheaders;
	int			 keep_alive;
	size_t			 head_span;	/* body - method */
	int			 dangling;	/* pointers out of place */

	/* MODE_HOLD */
	struct held		*held;
	int			 aborts;
	int			 drains;

	/* head_handler(), when a test installs it */
	size_t			 nhead;
	int			 head_saw_body;	/* a body in the head phase */
	int			 head_aborts;	/* let in, never handled */
};

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the handler --------------------------------------------------------- */

static char *
copy(const char *p, size_t len)
{
	char	*s = malloc(len + 1);

	assert_non_null(s);
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static int
in_head(const struct http_request *r, const char *p, size_t len)
{
	uintptr_t	lo = (uintptr_t)r->method, hi = (uintptr_t)r->body;

	return p != NULL && (uintptr_t)p >= lo && (uintptr_t)p + len <= hi;
}

/*
 * The parsed head lives just before the body in one buffer: method at its
 * start, body at its end. Check every pointer without dereferencing it, so
 * a moved buffer shows up as a test failure instead of an ASan abort.
 */
static int
head_in_place(const struct fixture *f, const struct http_request *r)
{
	size_t	i, span;

	if (r->method == NULL || r->body == NULL ||
	    (uintptr_t)r->body <= (uintptr_t)r->method)
		return 0;
	span = (uintptr_t)r->body - (uintptr_t)r->method;
	if (span > f->cfg.max_headers)
		return 0;
	if (!in_head(r, r->method, r->method_len) ||
	    !in_head(r, r->path, r->path_len))
		return 0;
	if (r->query != NULL && !in_head(r, r->query, r->query_len))
		return 0;
	for (i = 0; i < r->nheaders; i++)
		if (!in_head(r, r->headers[i].name, r->headers[i].name_len) ||
		    !in_head(r, r->headers[i].value, r->headers[i].value_len))
			return 0;
	return 1;
}

static void
record(struct fixture *f, const struct http_request *r)
{
	size_t	i, n = 0, len;

	free(f->method);
	free(f->target);
	free(f->headers);
	free(f->body);
	f->method = copy(r->method, r->method_len);
	f->target = malloc(r->path_len + r->query_len + 2);
	assert_non_null(f->target);
	memcpy(f->target, r->path, r->path_len);
	len = r->path_len;
	if (r->query != NULL) {
		f->target[len++] = '?';
		memcpy(f->target + len, r->query, r->query_len);
		len += r->query_len;
	}
	f->target[len] = '\0';
	for (i = 0; i < r->nheaders; i++)
		n += r->headers[i].name_len + r->headers[i].value_len + 3;
	f->headers = malloc(n + 1);
	assert_non_null(f->headers);
	for (len = 0, i = 0; i < r->nheaders; i++) {
		memcpy(f->headers + len, r->headers[i].name,
		    r->headers[i].name_len);
		len += r->headers[i].name_len;
		memcpy(f->headers + len, ": ", 2);
		len += 2;
		memcpy(f->headers + len, r->headers[i].value,
		    r->headers[i].value_len);
		len += r->headers[i].value_len;
		f->headers[len++] = '\n';
	}
	f->headers[len] = '\0';
	f->nheaders = r->nheaders;
	f->body = copy(r->body, r->body_len);
	f->body_len = r->body_len;
	f->keep_alive = r->keep_alive;
	/* The body is NUL-terminated for the handler's convenience. */
	assert_int_equal(r->body[r->body_len], '\0');
}

static void
on_abort(void *arg)
{
	struct held	*h = arg;

	h->f->aborts++;
	if (h->f->held == h)
		h->f->held = NULL;
	free(h);
}

static void
on_drain(void *arg)
{
	struct held	*h = arg;

	h->f->drains++;
}

/* "METHOD target body_len\n" then the body. */
static void
reply_echo(struct fixture *f, struct http_request *r)
{
	char	*out;
	int	 n;

	n = asprintf(&out, "%s %s %zu\n", f->method, f->target, f->body_len);
	assert_true(n > 0);
	out = realloc(out, n + f->body_len);
	assert_non_null(out);
	memcpy(out + n, f->body, f->body_len);
	http_reply(r, 200, "text/plain", out, n + f->body_len, NULL);
	free(out);
}

static void
handler(struct http_request *r, void *arg)
{
	struct fixture	*f = arg;
	struct held	*h;

	f->nreq++;
	if (!head_in_place(f, r)) {
		f->dangling = 1;
		http_reply(r, 500, "text/plain", "dangling\n", 9, NULL);
		return;
	}
	f->head_span = (uintptr_t)r->body - (uintptr_t)r->method;
	record(f, r);
	if (f->mode == MODE_ECHO) {
		reply_echo(f, r);
		return;
	}
	assert_null(f->held);
	h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->f = f;
	h->req = r;
	r->on_abort = on_abort;
	r->on_drain = on_drain;
	r->cb_arg = h;
	f->held = h;
}

static void
head_abort(void *arg)
{
	struct fixture	*f = arg;

	f->head_aborts++;
}

/*
 * The head phase, as proxy_head uses it: /reject is answered at once
 * (401), /later is taken to be answered by the test (as MODE_HOLD), every
 * other request has its body read, with an on_abort for the meantime.
 */
static enum http_head_result
head_handler(struct http_request *r, void *arg)
{
	struct fixture	*f = arg;
	struct held	*h;

	f->nhead++;
	if (r->body != NULL || r->body_len != 0)
		f->head_saw_body = 1;
	if (r->path_len == 7 && memcmp(r->path, "/reject", 7) == 0) {
		http_reply(r, 401, "application/json", "{}", 2, NULL);
		return HTTP_HEAD_TAKEN;
	}
	if (r->path_len == 6 && memcmp(r->path, "/later", 6) == 0) {
		assert_null(f->held);
		h = calloc(1, sizeof(*h));
		assert_non_null(h);
		h->f = f;
		h->req = r;
		r->on_abort = on_abort;
		r->cb_arg = h;
		f->held = h;
		return HTTP_HEAD_TAKEN;
	}
	r->on_abort = head_abort;
	r->cb_arg = f;
	return HTTP_HEAD_BODY;
}

/*
 * The test answers the held request from here on: no more callbacks, and
 * the context is freed.
 */
static struct http_request *
held_take(struct fixture *f)
{
	struct http_request	*r;

	assert_non_null(f->held);
	r = f->held->req;
	r->on_abort = NULL;
	r->on_drain = NULL;
	r->cb_arg = NULL;
	free(f->held);
	f->held = NULL;
	return r;
}

/* --- server fixture ------------------------------------------------------ */

static int
listen_socket(struct sockaddr_in *addr)
{
	socklen_t	 len = sizeof(*addr);
	int		 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

static void
fixture_start(struct fixture *f, int lfd)
{
	char	err[256];

	config_defaults(&f->cfg);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->srv = http_server_new(f->base, &f->cfg, handler, f);
	http_server_set_error_body(f->srv, api_error_http_body);
	f->lfd = lfd;
	assert_int_equal(http_server_listen(f->srv, lfd, err, sizeof(err)),
	    0);
}

static void
client_free(struct client *cl)
{
	if (cl == NULL)
		return;
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl->buf);
	free(cl);
}

static void
response_free(struct response *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void
fixture_stop(struct fixture *f)
{
	size_t	i;

	for (i = 0; i < MAX_CLIENTS; i++) {
		client_free(f->clients[i]);
		f->clients[i] = NULL;
	}
	for (i = 0; i < f->nresp; i++)
		response_free(&f->resp[i]);
	f->nresp = 0;
	http_server_free(f->srv);	/* aborts, and so frees, any held */
	f->srv = NULL;
	free(f->held);		/* only if the server never had it */
	f->held = NULL;
	if (f->base != NULL)
		event_base_free(f->base);
	f->base = NULL;
	free(f->method);
	free(f->target);
	free(f->headers);
	free(f->body);
	config_free(&f->cfg);
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fixture_start(f, listen_socket(&f->addr));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	fixture_stop(f);
	free(f);
	return 0;
}

/* --- client -------------------------------------------------------------- */

static int
client_connect(const struct sockaddr_in *addr, int rcvbuf)
{
	int	fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* Loopback completes the handshake in the kernel, before accept. */
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static struct client *
client_new_at(struct fixture *f, const struct sockaddr_in *addr, int rcvbuf)
{
	struct client	*cl;
	size_t		 i;

	for (i = 0; i < MAX_CLIENTS && f->clients[i] != NULL; i++)
		;
	assert_true(i < MAX_CLIENTS);
	cl = calloc(1, sizeof(*cl));
	assert_non_null(cl);
	f->clients[i] = cl;
	cl->fd = client_connect(addr, rcvbuf);
	assert_true(cl->fd >= 0);
	return cl;
}

static struct client *
client_new(struct fixture *f)
{
	return client_new_at(f, &f->addr, 0);
}

static void
client_drop(struct fixture *f, struct client *cl)
{
	size_t	i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (f->clients[i] == cl)
			f->clients[i] = NULL;
	client_free(cl);
}

/* Hang up now, keeping the client's record. */
static void
client_hangup(struct client *cl)
{
	close(cl->fd);
	cl->fd = -1;
	cl->eof = 1;
}

/* Read whatever has arrived, without blocking. */
static void
client_poll(struct client *cl)
{
	char	tmp[65536];
	ssize_t	n;

	while (!cl->eof) {
		n = recv(cl->fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			if (cl->len + n > cl->cap) {
				cl->cap = (cl->len + n) * 2;
				cl->buf = realloc(cl->buf, cl->cap + 1);
				assert_non_null(cl->buf);
			}
			memcpy(cl->buf + cl->len, tmp, n);
			cl->len += n;
			cl->buf[cl->len] = '\0';
			continue;
		}
		if (n == 0)
			cl->eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			cl->eof = 1;
			cl->err = errno;
		}
		return;
	}
}

/* Forget what the client has read so far. */
static void
client_clear(struct client *cl)
{
	cl->len = 0;
	if (cl->buf != NULL)
		cl->buf[0] = '\0';
}

/* One pass of the server's loop, then the client reads (if given). */
static void
spin(struct fixture *f, struct client *cl)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	if (cl != NULL)
		client_poll(cl);
}

/* Run the loop for about ms milliseconds. */
static void
settle(struct fixture *f, struct client *cl, int ms)
{
	long long	end = now_ms() + ms;

	while (now_ms() < end) {
		spin(f, cl);
		usleep(500);
	}
}

/* Send it all, running the server while the socket is full. */
static size_t
client_send(struct fixture *f, struct client *cl, const void *data,
    size_t len)
{
	const char	*p = data;
	size_t		 off = 0;
	ssize_t		 n;
	long long	 end = now_ms() + WAIT_MS;

	while (off < len && now_ms() < end) {
		n = send(cl->fd, p + off, len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			spin(f, cl);
		else
			break;
	}
	return off;
}

static size_t
client_send_str(struct fixture *f, struct client *cl, const char *s)
{
	return client_send(f, cl, s, strlen(s));
}

/* --- responses ----------------------------------------------------------- */

/* The value of a response field, copied into buf; NULL when absent. */
static const char *
response_field(const struct response *r, const char *name, char *buf,
    size_t len)
{
	const char	*line, *eol, *v;
	size_t		 n = strlen(name);

	for (line = strstr(r->head, "\r\n"); line != NULL; line = eol) {
		line += 2;
		if ((eol = strstr(line, "\r\n")) == NULL)
			break;
		if (strncasecmp(line, name, n) != 0 || line[n] != ':')
			continue;
		for (v = line + n + 1; *v == ' '; v++)
			;
		snprintf(buf, len, "%.*s", (int)(eol - v), v);
		return buf;
	}
	return NULL;
}

/* The reply's x-request-id into id: 32 lower-case hex digits, or fail. */
static void
response_id(const struct response *r, char id[HTTP_REQUEST_ID_HEX + 1])
{
	char	buf[128];
	size_t	i;

	if (response_field(r, "x-request-id", buf, sizeof(buf)) == NULL ||
	    strlen(buf) != HTTP_REQUEST_ID_HEX)
		fail_msg("no x-request-id of %d digits: %s", HTTP_REQUEST_ID_HEX,
		    r->head);
	for (i = 0; i < HTTP_REQUEST_ID_HEX; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') ||
		    (buf[i] >= 'a' && buf[i] <= 'f')))
			fail_msg("x-request-id not hex: %s", buf);
	memcpy(id, buf, HTTP_REQUEST_ID_HEX + 1);
}

static int
response_closes(const struct response *r)
{
	char	buf[64];

	return response_field(r, "Connection", buf, sizeof(buf)) != NULL &&
	    strcasecmp(buf, "close") == 0;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode a strict chunked body (hex size, CRLF, data, CRLF; "0" CRLF CRLF,
 * no extensions or trailers: what this server sends). Returns bytes used,
 * 0 when incomplete, -1 when malformed.
 */
static ssize_t
dechunk(const char *p, size_t len, char **out, size_t *out_len)
{
	size_t	 off = 0, size, total = 0;
	char	*body = NULL;
	int	 d, digits;

	for (;;) {
		size = 0;
		if (off >= len)
			goto partial;
		if (hexval(p[off]) < 0)
			goto bad;
		for (digits = 0; off < len && (d = hexval(p[off])) >= 0;
		    digits++) {
			if (digits == 15)
				goto bad;
			size = size * 16 + d;
			off++;
		}
		if (off + 2 > len)
			goto partial;
		if (p[off] != '\r' || p[off + 1] != '\n')
			goto bad;
		off += 2;
		if (size == 0)
			break;
		if (off + size + 2 > len)
			goto partial;
		body = realloc(body, total + size + 1);
		assert_non_null(body);
		memcpy(body + total, p + off, size);
		total += size;
		off += size;
		if (p[off] != '\r' || p[off + 1] != '\n')
			goto bad;
		off += 2;
	}
	if (off + 2 > len)
		goto partial;
	if (p[off] != '\r' || p[off + 1] != '\n')
		goto bad;
	if (body == NULL)
		body = malloc(1);
	assert_non_null(body);
	body[total] = '\0';
	*out = body;
	*out_len = total;
	return off + 2;
partial:
	free(body);
	return 0;
bad:
	free(body);
	return -1;
}

/*
 * Parse one response at p. Returns bytes used, 0 when incomplete, -1 when
 * it is not a response this server could have sent.
 */
static ssize_t
response_parse(const char *p, size_t len, struct response *r)
{
	const char	*end;
	char		 buf[64], *ep;
	size_t		 head_len, cl;
	ssize_t		 used;

	memset(r, 0, sizeof(*r));
	if ((end = memmem(p, len, "\r\n\r\n", 4)) == NULL)
		return len > 65536 ? -1 : 0;
	head_len = end + 4 - p;
	if (head_len < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 ||
	    p[12] != ' ')
		return -1;
	r->status = (int)strtol(p + 9, &ep, 10);
	if (ep != p + 12 || r->status < 100 || r->status > 599)
		return -1;
	r->head = copy(p, head_len - 2);
	if (r->status < 200) {
		r->body = copy("", 0);
		return head_len;
	}
	if (response_field(r, "Transfer-Encoding", buf, sizeof(buf)) != NULL) {
		if (strcmp(buf, "chunked") != 0 ||
		    response_field(r, "Content-Length", buf, sizeof(buf)))
			goto bad;
		r->chunked = 1;
		used = dechunk(p + head_len, len - head_len, &r->body,
		    &r->body_len);
		if (used <= 0) {
			response_free(r);
			return used;
		}
		return head_len + used;
	}
	if (response_field(r, "Content-Length", buf, sizeof(buf)) == NULL)
		goto bad;
	cl = strtoul(buf, &ep, 10);
	if (*ep != '\0' || ep == buf)
		goto bad;
	if (len - head_len < cl) {
		response_free(r);
		return 0;
	}
	r->body = copy(p + head_len, cl);
	r->body_len = cl;
	return head_len + cl;
bad:
	response_free(r);
	return -1;
}

/*
 * Parse every complete response the client has; the first MAX_RESPONSES
 * are kept in f->resp (when f is given). Fails on a malformed one.
 */
static size_t
parse_all(struct fixture *f, const struct client *cl)
{
	struct response	 r;
	size_t		 off = 0, n = 0;
	ssize_t		 used;

	if (f != NULL) {
		for (n = 0; n < f->nresp; n++)
			response_free(&f->resp[n]);
		f->nresp = n = 0;
	}
	while (off < cl->len) {
		used = response_parse(cl->buf + off, cl->len - off, &r);
		if (used < 0)
			fail_msg("malformed response at %zu: %.*s", off,
			    (int)(cl->len - off > 200 ? 200 : cl->len - off),
			    cl->buf + off);
		if (used == 0)
			break;
		off += used;
		if (f != NULL && n < MAX_RESPONSES)
			f->resp[f->nresp++] = r;
		else
			response_free(&r);
		n++;
	}
	return n;
}

static size_t
count_responses(const struct client *cl)
{
	return parse_all(NULL, cl);
}

/* Parse the client's responses into f->resp; returns how many there are. */
static size_t
take_responses(struct fixture *f, const struct client *cl)
{
	return parse_all(f, cl);
}

/* --- waiting ------------------------------------------------------------- */

typedef int (*until_fn)(struct fixture *, struct client *, size_t);

static int
until_responses(struct fixture *f, struct client *cl, size_t n)
{
	(void)f;
	return count_responses(cl) >= n;
}

static int
until_eof(struct fixture *f, struct client *cl, size_t n)
{
	(void)f;
	(void)n;
	return cl->eof;
}

static int
until_nreq(struct fixture *f, struct client *cl, size_t n)
{
	(void)cl;
	return f->nreq >= n;
}

static int
until_aborts(struct fixture *f, struct client *cl, size_t n)
{
	(void)cl;
	return (size_t)f->aborts >= n;
}

static int
until_drains(struct fixture *f, struct client *cl, size_t n)
{
	(void)cl;
	return (size_t)f->drains >= n;
}

static int
run_until(struct fixture *f, struct client *cl, until_fn fn, size_t arg)
{
	long long	end = now_ms() + WAIT_MS;

	for (;;) {
		if (fn(f, cl, arg))
			return 1;
		if (now_ms() > end)
			return 0;
		spin(f, cl);
		if (!fn(f, cl, arg))
			usleep(200);
	}
}

static void
fail_client(const struct client *cl, const char *what)
{
	fail_msg("%s (eof %d, errno %d); have %zu bytes: %.*s", what, cl->eof,
	    cl->err, cl->len, (int)(cl->len > 400 ? 400 : cl->len),
	    cl->buf != NULL ? cl->buf : "");
}

/* Wait for n responses and take them into f->resp. */
static struct response *
get_responses(struct fixture *f, struct client *cl, size_t n)
{
	if (!run_until(f, cl, until_responses, n))
		fail_client(cl, "responses did not come");
	assert_true(take_responses(f, cl) >= n);
	return f->resp;
}

/* error.code of an OpenAI-shaped error body, copied; "" when not one. */
static void
error_code(const struct response *r, char *code, size_t len)
{
	cJSON	*j, *e, *c, *t, *m;

	*code = '\0';
	if ((j = cJSON_ParseWithLength(r->body, r->body_len)) == NULL)
		return;
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	c = cJSON_GetObjectItemCaseSensitive(e, "code");
	t = cJSON_GetObjectItemCaseSensitive(e, "type");
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(c) && cJSON_IsString(t) && cJSON_IsString(m))
		snprintf(code, len, "%s", c->valuestring);
	cJSON_Delete(j);
}

/*
 * The client's single response is status with error.code code, in JSON,
 * with Connection: close, and the server closes.
 */
static void
expect_error_reply(struct fixture *f, struct client *cl, int status,
    const char *code)
{
	struct response	*r;
	char		 got[64], ctype[64], id[HTTP_REQUEST_ID_HEX + 1];

	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server did not close");
	if (take_responses(f, cl) != 1)
		fail_client(cl, "expected exactly one response");
	r = &f->resp[0];
	response_id(r, id);	/* the server's own refusals have one too */
	error_code(r, got, sizeof(got));
	if (response_field(r, "Content-Type", ctype, sizeof(ctype)) == NULL)
		ctype[0] = '\0';
	if (r->status != status || strcmp(got, code) != 0 ||
	    !response_closes(r) || strcmp(ctype, "application/json") != 0)
		fail_msg("want %d %s, got %d %s: %s%s", status, code,
		    r->status, got, r->head, r->body);
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* A new connection sends raw, and must get status/code, then a close. */
static void
expect_error(struct fixture *f, const void *raw, size_t len, int status,
    const char *code)
{
	struct client	*cl = client_new(f);

	client_send(f, cl, raw, len);
	expect_error_reply(f, cl, status, code);
	assert_int_equal(f->nreq, 0);
	client_drop(f, cl);
}

static void
expect_error_str(struct fixture *f, const char *raw, int status,
    const char *code)
{
	expect_error(f, raw, strlen(raw), status, code);
}

/* The echo handler's body for a request. */
static void
assert_echo(const struct response *r, const char *method, const char *target,
    const void *body, size_t body_len)
{
	char	head[512];
	int	n;

	assert_int_equal(r->status, 200);
	n = snprintf(head, sizeof(head), "%s %s %zu\n", method, target,
	    body_len);
	if (r->body_len != n + body_len || memcmp(r->body, head, n) != 0 ||
	    memcmp(r->body + n, body, body_len) != 0)
		fail_msg("echo mismatch: want %s, got %.*s", head,
		    (int)(r->body_len > 200 ? 200 : r->body_len), r->body);
}

/* --- keep-alive, pipelining, versions ------------------------------------ */

static void
test_keepalive_two_requests(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;
	char		 id1[HTTP_REQUEST_ID_HEX + 1], id2[sizeof(id1)];

	client_send_str(f, cl, "GET /one?x=1 HTTP/1.1\r\nHost: a\r\n"
	    "User-Agent: t\r\n\r\n");
	r = get_responses(f, cl, 1);
	assert_echo(&r[0], "GET", "/one?x=1", "", 0);
	response_id(&r[0], id1);
	assert_false(response_closes(&r[0]));
	assert_int_equal(f->nheaders, 2);
	assert_string_equal(f->headers, "Host: a\nUser-Agent: t\n");
	assert_int_equal(f->keep_alive, 1);

	/* A client's own id is never echoed; each request has its own. */
	client_send_str(f, cl, "GET /two HTTP/1.1\r\nHost: a\r\n"
	    "X-Request-Id: mine\r\n\r\n");
	r = get_responses(f, cl, 2);
	assert_echo(&r[1], "GET", "/two", "", 0);
	response_id(&r[1], id2);
	assert_string_not_equal(id1, id2);
	assert_int_equal(f->nreq, 2);
	settle(f, cl, 20);
	assert_false(cl->eof);
	assert_int_equal(take_responses(f, cl), 2);
	assert_int_equal(http_server_busy(f->srv), 0);
}

static void
test_pipelined_in_order(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	client_send_str(f, cl,
	    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"
	    "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
	r = get_responses(f, cl, 3);
	assert_echo(&r[0], "GET", "/a", "", 0);
	assert_echo(&r[1], "POST", "/b", "xyz", 3);
	assert_echo(&r[2], "GET", "/c", "", 0);
	assert_false(cl->eof);
}

/* One request at a time: the second waits until the first is answered. */
static void
test_pipelined_waits_for_handler(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl = client_new(f);
	struct response		*r;
	struct http_request	*req;

	f->mode = MODE_HOLD;
	client_send_str(f, cl, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 1));
	settle(f, cl, 20);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(http_server_busy(f->srv), 1);
	assert_int_equal(cl->len, 0);

	req = held_take(f);
	http_reply(req, 200, "text/plain", "first", 5, NULL);
	assert_true(run_until(f, cl, until_nreq, 2));
	assert_string_equal(f->target, "/second");
	req = held_take(f);
	http_reply(req, 200, "text/plain", "second", 6, NULL);
	r = get_responses(f, cl, 2);
	assert_int_equal(r[0].body_len, 5);
	assert_memory_equal(r[0].body, "first", 5);
	assert_int_equal(r[1].body_len, 6);
	assert_memory_equal(r[1].body, "second", 6);
	settle(f, cl, 10);
	assert_int_equal(http_server_busy(f->srv), 0);
}

static void
test_http10_closes(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	client_send_str(f, cl, "GET /old HTTP/1.0\r\n\r\n"
	    "GET /never HTTP/1.0\r\n\r\n");
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server did not close");
	assert_int_equal(take_responses(f, cl), 1);
	assert_echo(&f->resp[0], "GET", "/old", "", 0);
	assert_true(response_closes(&f->resp[0]));
	assert_int_equal(f->nreq, 1);
	assert_int_equal(f->keep_alive, 0);
}

static void
test_http10_keepalive(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	client_send_str(f, cl, "GET /1 HTTP/1.0\r\nConnection: Keep-Alive\r\n"
	    "\r\nGET /2 HTTP/1.0\r\n\r\n");
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server did not close");
	assert_int_equal(take_responses(f, cl), 2);
	assert_echo(&f->resp[0], "GET", "/1", "", 0);
	assert_false(response_closes(&f->resp[0]));
	assert_echo(&f->resp[1], "GET", "/2", "", 0);
	assert_true(response_closes(&f->resp[1]));
}

static void
test_connection_close(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	client_send_str(f, cl, "GET /bye HTTP/1.1\r\nHost: x\r\n"
	    "Connection: keep-alive, Close\r\n\r\n"
	    "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server did not close");
	assert_int_equal(take_responses(f, cl), 1);
	assert_echo(&f->resp[0], "GET", "/bye", "", 0);
	assert_true(response_closes(&f->resp[0]));
	assert_int_equal(f->nreq, 1);
	assert_int_equal(cl->err, 0);
}

/*
 * "Connection: a" and "Connection: b" on two lines mean "Connection: a, b"
 * (RFC 9110 5.3): a close on the first line must not be lost.
 */
static void
test_connection_close_two_lines(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	client_send_str(f, cl, "GET /bye HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n"
	    "Connection: x-other\r\n\r\n");
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server kept the connection open");
	assert_int_equal(take_responses(f, cl), 1);
	assert_true(response_closes(&f->resp[0]));
}

/* --- bodies -------------------------------------------------------------- */

static void
test_content_length_exact(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	/* Equal duplicates are allowed; a NUL in the body is just data. */
	client_send(f, cl, LIT("POST /v1/x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 12\r\nContent-Length: 12\r\n\r\nhello\0world!"
	    "GET /n HTTP/1.1\r\nHost: x\r\n\r\n"));
	r = get_responses(f, cl, 2);
	assert_echo(&r[0], "POST", "/v1/x", "hello\0world!", 12);
	assert_echo(&r[1], "GET", "/n", "", 0);
}

static void
test_content_length_zero(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	client_send_str(f, cl, "POST /z HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 0\r\n\r\n");
	r = get_responses(f, cl, 1);
	assert_echo(&r[0], "POST", "/z", "", 0);
}

static void
test_chunked_body(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	client_send_str(f, cl, "POST /c HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: Chunked\r\n\r\n"
	    "5;name=value\r\nhello\r\n"
	    "2 ; a=\"b c\"\r\n, \r\n"
	    "A\r\n0123456789\r\n"
	    "000\r\nX-Trailer: yes\r\nX-Other: no\r\n\r\n"
	    "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
	r = get_responses(f, cl, 2);
	assert_echo(&r[0], "POST", "/c", "hello, 0123456789", 17);
	assert_echo(&r[1], "GET", "/after", "", 0);
}

static void
test_expect_continue(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	client_send_str(f, cl, "POST /e HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 4\r\n"
	    "Expect: 100-Continue\r\n\r\n");
	r = get_responses(f, cl, 1);
	assert_int_equal(r[0].status, 100);
	assert_int_equal(f->nreq, 0);
	client_send_str(f, cl, "body");
	r = get_responses(f, cl, 2);
	assert_int_equal(r[0].status, 100);
	assert_echo(&r[1], "POST", "/e", "body", 4);

	/* Body already sent with the head: no interim reply needed. */
	client_send_str(f, cl, "POST /e HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 2\r\n"
	    "Expect: 100-continue\r\n\r\nok");
	r = get_responses(f, cl, 3);
	settle(f, cl, 10);
	assert_int_equal(take_responses(f, cl), 3);
	assert_echo(&r[2], "POST", "/e", "ok", 2);
}

/* RFC 9110 10.1.1: a server MUST ignore 100-continue from HTTP/1.0. */
static void
test_expect_continue_http10(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	client_send_str(f, cl, "POST /e HTTP/1.0\r\nContent-Length: 4\r\n"
	    "Expect: 100-continue\r\n\r\n");
	settle(f, cl, 30);
	if (cl->len != 0)
		fail_client(cl, "interim response sent to an HTTP/1.0 client");
}

/*
 * Bodies that outgrow the first buffer: the head the handler reads (method,
 * path, headers) must still be where the request says it is.
 */
static void
test_large_body_head_valid(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;
	const char	*head = "POST /big HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer k\r\nContent-Length: 20000\r\n\r\n";
	static char	 body[20000];

	memset(body, 'b', sizeof(body));
	client_send_str(f, cl, head);
	client_send(f, cl, body, sizeof(body));
	r = get_responses(f, cl, 1);
	if (f->dangling)
		fail_msg("request head pointers left behind when the body "
		    "buffer grew (use after free)");
	assert_int_equal(f->head_span, strlen(head));
	assert_echo(&r[0], "POST", "/big", body, sizeof(body));
	assert_string_equal(f->headers, "Host: x\nAuthorization: Bearer k\n"
	    "Content-Length: 20000\n");
}

static void
test_large_chunked_head_valid(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	const char	*head = "POST /bigc HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	char		 chunk[1000 + 16];
	int		 i, n;

	client_send_str(f, cl, head);
	n = snprintf(chunk, sizeof(chunk), "3e8\r\n");
	memset(chunk + n, 'c', 1000);
	memcpy(chunk + n + 1000, "\r\n", 2);
	for (i = 0; i < 10; i++)
		client_send(f, cl, chunk, n + 1002);
	client_send_str(f, cl, "0\r\n\r\n");
	get_responses(f, cl, 1);
	if (f->dangling)
		fail_msg("request head pointers left behind when the chunked "
		    "body buffer grew (use after free)");
	assert_int_equal(f->head_span, strlen(head));
	assert_int_equal(f->body_len, 10000);
	assert_string_equal(f->target, "/bigc");
}

/* Sent one byte per loop pass, a request parses exactly as in one write. */
static void
test_byte_by_byte(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl = client_new(f);
	struct response		*r;
	static const char	 req[] =
	    "\r\nPOST /b/y?t=e HTTP/1.1\r\nHost: h\r\nX-A:  spaced value \r\n"
	    "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;x=y\r\nabc\r\n11\r\n0123456789abcdefg\r\n0\r\nT: v\r\n\r\n"
	    "PUT /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
	size_t			 i;
	int			 seen = 0;

	for (i = 0; i < sizeof(req) - 1; i++) {
		assert_int_equal(client_send(f, cl, req + i, 1), 1);
		spin(f, cl);
		spin(f, cl);
		if (f->nreq == 1 && !seen) {
			seen = 1;
			assert_string_equal(f->target, "/b/y?t=e");
			assert_string_equal(f->headers, "Host: h\n"
			    "X-A: spaced value\nExpect: 100-continue\n"
			    "Transfer-Encoding: chunked\n");
		}
	}
	/* The interim 100, the chunked echo, then the PUT. */
	r = get_responses(f, cl, 3);
	assert_int_equal(r[0].status, 100);
	assert_echo(&r[1], "POST", "/b/y?t=e", "abc0123456789abcdefg", 20);
	assert_echo(&r[2], "PUT", "/two", "hello", 5);
	assert_int_equal(f->nreq, 2);
}

/* --- limits and errors --------------------------------------------------- */

static void
test_body_too_large(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl;
	struct response	*r;
	char		 body[1024];

	f->cfg.max_body = 1024;
	expect_error_str(f, "POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1025\r\n\r\n"
	    "0123456789", 413, "request_too_large");

	/* Exactly the limit is fine. */
	cl = client_new(f);
	memset(body, 'a', sizeof(body));
	client_send_str(f, cl, "POST /ok HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1024\r\n"
	    "\r\n");
	client_send(f, cl, body, sizeof(body));
	r = get_responses(f, cl, 1);
	assert_echo(&r[0], "POST", "/ok", body, sizeof(body));
}

static void
test_body_too_large_expect(void **state)
{
	struct fixture	*f = *state;

	f->cfg.max_body = 1024;
	/* Refused before the client sends it: no 100 first. */
	expect_error_str(f, "POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 99999999999\r\nExpect: 100-continue\r\n\r\n",
	    413, "request_too_large");
}

static void
test_chunked_too_large(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl;
	char		 chunk[600 + 16];
	int		 n;

	f->cfg.max_body = 1024;
	/* Two chunks that only together pass the limit. */
	cl = client_new(f);
	client_send_str(f, cl, "POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	n = snprintf(chunk, sizeof(chunk), "258\r\n");
	memset(chunk + n, 'x', 600);
	memcpy(chunk + n + 600, "\r\n", 2);
	client_send(f, cl, chunk, n + 602);
	client_send(f, cl, chunk, n + 602);
	expect_error_reply(f, cl, 413, "request_too_large");
	assert_int_equal(f->nreq, 0);
	client_drop(f, cl);

	/* One huge chunk size, before any of its data. */
	expect_error_str(f, "POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "\r\nfffffffffff\r\n", 413, "request_too_large");
	/* One that does not fit in an unsigned long. */
	expect_error_str(f, "POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "\r\n1ffffffffffffffffffff\r\n", 400, "invalid_request");
}

static void serve_child_expect(struct fixture *, const char *, size_t, int,
		    const char *);

/* Head over max_headers (2048 in the child) on a connection's first request. */
static void
test_head_too_large_first(void **state)
{
	struct fixture	*f = *state;
	char		 raw[3000];
	int		 n;

	/* No end of head yet, but already past the limit. */
	n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(raw + n, 'a', sizeof(raw) - n);
	serve_child_expect(f, raw, sizeof(raw), 431, "request_too_large");
}

static void
test_head_too_large_first_complete(void **state)
{
	struct fixture	*f = *state;
	char		 raw[3000];
	int		 n;

	/* A complete head, longer than the limit. */
	n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(raw + n, 'a', sizeof(raw) - n);
	memcpy(raw + sizeof(raw) - 4, "\r\n\r\n", 4);
	serve_child_expect(f, raw, sizeof(raw), 431, "request_too_large");
}

/* The same on a kept-alive connection's second request. */
static void
test_head_too_large_second(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	char		 raw[3000];
	int		 n;

	f->cfg.max_headers = 2048;
	client_send_str(f, cl, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
	get_responses(f, cl, 1);
	client_clear(cl);
	n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(raw + n, 'a', sizeof(raw) - n);
	client_send(f, cl, raw, sizeof(raw));
	expect_error_reply(f, cl, 431, "request_too_large");
}

static void
test_too_many_headers(void **state)
{
	struct fixture	*f = *state;
	char		 raw[4096];
	size_t		 len;
	int		 i;

	len = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		len += snprintf(raw + len, sizeof(raw) - len, "X-%d: v\r\n", i);
	len += snprintf(raw + len, sizeof(raw) - len, "\r\n");
	expect_error(f, raw, len, 431, "request_too_large");
}

static void
test_both_framings(void **state)
{
	struct fixture	*f = *state;

	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
	    "invalid_request");
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "Content-Length: 0\r\n\r\n0\r\n\r\n", 400, "invalid_request");
}

static void
test_content_length_conflict(void **state)
{
	struct fixture	*f = *state;

	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\nhello!", 400, "invalid_request");
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5, 5\r\n\r\n"
	    "hello", 400, "invalid_request");
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: +5\r\n\r\n"
	    "hello", 400, "invalid_request");
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length:\r\n\r\n", 400,
	    "invalid_request");
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	    "99999999999999999999999999\r\n\r\n", 400, "invalid_request");
}

static void
test_bad_request_line(void **state)
{
	struct fixture		*f = *state;
	static const char	*bad[] = {
		"GET\r\n\r\n",
		"GET /\r\n\r\n",
		" GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET foo HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
		"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\r\n\r\n",
		"\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n",
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error_str(f, bad[i], 400, "invalid_request");
}

static void
test_bad_header(void **state)
{
	struct fixture		*f = *state;
	static const char	*bad[] = {
		"GET / HTTP/1.1\r\nHost: x\r\nHost : x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01" "b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\nY: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\nY: b\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "zz\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabcX\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "3x\r\nabc\r\n",
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error_str(f, bad[i], 400, "invalid_request");
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: gzip\r\n"
	    "\r\n", 501, "invalid_request");
}

static void
test_obs_fold(void **state)
{
	struct fixture	*f = *state;

	expect_error_str(f, "GET / HTTP/1.1\r\nHost: x\r\n"
	    "X-Long: a\r\n  b\r\n\r\n", 400,
	    "invalid_request");
	expect_error_str(f, "GET / HTTP/1.1\r\nHost: x\r\n"
	    "X-Long: a\r\n\tb\r\n\r\n", 400,
	    "invalid_request");
	/* A fold that would smuggle a framing header. */
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "X: a\r\n Content-Length: 5\r\n"
	    "\r\nhello", 400, "invalid_request");
}

/*
 * NUL is not a tchar, and the target (query included) admits no controls:
 * such requests are refused, not handed to code that uses C strings.
 */
static void
test_nul_and_controls(void **state)
{
	struct fixture	*f = *state;

	expect_error(f, LIT("GE\0 / HTTP/1.1\r\nHost: x\r\n"
	    "\r\n"), 400, "invalid_request");
	expect_error(f, LIT("GET / HTTP/1.1\r\nHost: x\r\n"
	    "X\0Y: 1\r\n\r\n"), 400,
	    "invalid_request");
	expect_error(f, LIT("GET /?a\0b HTTP/1.1\r\nHost: x\r\n\r\n"), 400,
	    "invalid_request");
	expect_error_str(f, "GET /?a\x01" "b HTTP/1.1\r\nHost: x\r\n\r\n", 400,
	    "invalid_request");
}

/* RFC 9112 7.1: chunk-size is 1*HEXDIG; strtoul's extras are not. */
static void
test_chunk_size_strict(void **state)
{
	struct fixture		*f = *state;
	static const char	*bad[] = {
		"-0\r\n\r\n",		/* ends the body early */
		"+5\r\nhello\r\n0\r\n\r\n",
		"0x5\r\nhello\r\n0\r\n\r\n",
		" 5\r\nhello\r\n0\r\n\r\n",
	};
	char			 raw[256];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(raw, sizeof(raw), "POST / HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n%s", bad[i]);
		expect_error_str(f, raw, 400, "invalid_request");
	}
}

static void
test_http2_505(void **state)
{
	struct fixture	*f = *state;

	expect_error_str(f, "GET / HTTP/2.0\r\n\r\n", 505, "invalid_request");
	expect_error_str(f, "GET / HTTP/1.2\r\n\r\n", 505, "invalid_request");
	expect_error_str(f, "GET / HTTP/0.9\r\n\r\n", 505, "invalid_request");
}

/* A malformed request line is 400, not "version not supported". */
static void
test_bad_request_line_not_505(void **state)
{
	struct fixture	*f = *state;

	expect_error_str(f, "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400,
	    "invalid_request");
	expect_error_str(f, "GET / HTTP/1.1 extra\r\n\r\n", 400,
	    "invalid_request");
	expect_error_str(f, "GET / HTTP/1.1\rHost: x\r\n\r\n", 400,
	    "invalid_request");
}

/* --- hang-up ------------------------------------------------------------- */

static void
test_abort_on_hangup(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	f->mode = MODE_HOLD;
	client_send_str(f, cl, "POST /slow HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 2\r\n"
	    "\r\nhi");
	assert_true(run_until(f, cl, until_nreq, 1));
	assert_non_null(f->held);
	assert_int_equal(http_server_busy(f->srv), 1);
	client_hangup(cl);
	assert_true(run_until(f, cl, until_aborts, 1));
	settle(f, NULL, 20);
	assert_int_equal(f->aborts, 1);
	assert_null(f->held);
	assert_int_equal(http_server_busy(f->srv), 0);
	http_server_free(f->srv);
	f->srv = NULL;
	assert_int_equal(f->aborts, 1);
}

/* A hang-up with pipelined bytes still unread. */
static void
test_abort_with_pipelined(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	f->mode = MODE_HOLD;
	client_send_str(f, cl, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /2 HTTP/1.1\r\nHost: x\r\n");
	assert_true(run_until(f, cl, until_nreq, 1));
	client_hangup(cl);
	assert_true(run_until(f, cl, until_aborts, 1));
	settle(f, NULL, 20);
	assert_int_equal(f->aborts, 1);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(http_server_busy(f->srv), 0);
}

static void
test_abort_on_server_free(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	f->mode = MODE_HOLD;
	client_send_str(f, cl, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 1));
	http_server_free(f->srv);
	f->srv = NULL;
	assert_int_equal(f->aborts, 1);
	assert_null(f->held);
	assert_true(run_until(f, cl, until_eof, 0));
}

static void
test_abort_while_streaming(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl = client_new(f);
	struct http_request	*req;

	f->mode = MODE_HOLD;
	client_send_str(f, cl, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 1));
	req = f->held->req;
	http_stream_start(req, 200, "text/event-stream");
	http_stream_write(req, "data: 1\n\n", 9);
	settle(f, cl, 10);
	assert_true(cl->len > 0);
	client_hangup(cl);
	assert_true(run_until(f, cl, until_aborts, 1));
	settle(f, NULL, 20);
	assert_int_equal(f->aborts, 1);
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* --- streaming ----------------------------------------------------------- */

static void
test_stream_framing(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl = client_new(f);
	struct response		*r;
	struct http_request	*req;
	char			 buf[64];
	static char		 big[5000];

	f->mode = MODE_HOLD;
	client_send_str(f, cl, "POST /s HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1\r\n"
	    "\r\nx");
	assert_true(run_until(f, cl, until_nreq, 1));
	req = held_take(f);
	http_stream_start(req, 200, "text/event-stream");
	http_stream_write(req, "data: a\n\n", 9);
	settle(f, cl, 5);
	assert_true(cl->len > 0);
	assert_int_equal(count_responses(cl), 0);	/* not over yet */
	http_stream_write(req, "", 0);	/* must not end the stream */
	memset(big, 'z', sizeof(big));
	http_stream_write(req, big, sizeof(big));
	http_stream_write(req, "data: [DONE]\n\n", 14);
	http_stream_end(req);
	r = get_responses(f, cl, 1);
	assert_int_equal(r[0].status, 200);
	assert_true(r[0].chunked);
	assert_non_null(response_field(&r[0], "Content-Type", buf,
	    sizeof(buf)));
	assert_string_equal(buf, "text/event-stream");
	assert_int_equal(r[0].body_len, 9 + sizeof(big) + 14);
	assert_memory_equal(r[0].body, "data: a\n\n", 9);
	assert_memory_equal(r[0].body + 9, big, sizeof(big));
	assert_memory_equal(r[0].body + 9 + sizeof(big), "data: [DONE]\n\n",
	    14);
	assert_false(response_closes(&r[0]));

	/* The connection is usable afterwards. */
	f->mode = MODE_ECHO;
	client_send_str(f, cl, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
	r = get_responses(f, cl, 2);
	assert_echo(&r[1], "GET", "/next", "", 0);
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* RFC 9112 6.1: no Transfer-Encoding in a response to HTTP/1.0. */
static void
test_stream_http10(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl = client_new(f);
	struct http_request	*req;

	f->mode = MODE_HOLD;
	client_send_str(f, cl, "GET /s HTTP/1.0\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 1));
	req = held_take(f);
	http_stream_start(req, 200, "text/event-stream");
	http_stream_write(req, "data: a\n\n", 9);
	http_stream_end(req);
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server did not close");
	if (strcasestr(cl->buf, "Transfer-Encoding") != NULL ||
	    strstr(cl->buf, "\r\n\r\ndata: a\n\n") == NULL)
		fail_client(cl, "chunked reply to an HTTP/1.0 client");
}

static void
test_stream_backpressure(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl;
	struct http_request	*req;
	struct response		*r;
	static char		 chunk[16384];
	size_t			 pending = 0, total = 0, i;
	int			 small = 4096;
	long long		 end;

	/* Small kernel buffers, so that the server's own buffer fills up. */
	setsockopt(f->lfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	cl = client_new_at(f, &f->addr, small);
	f->mode = MODE_HOLD;
	client_send_str(f, cl, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 1));
	req = f->held->req;
	http_stream_start(req, 200, "application/octet-stream");

	while (pending <= HTTP_STREAM_HIGH_WATER && total < 64 * 1024 * 1024) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = (char)('a' + (total + i) % 26);
		pending = http_stream_write(req, chunk, sizeof(chunk));
		total += sizeof(chunk);
		spin(f, NULL);		/* the client reads nothing */
	}
	assert_true(pending > HTTP_STREAM_HIGH_WATER);

	/* No drain while the client is not reading. */
	f->drains = 0;
	settle(f, NULL, 50);
	assert_int_equal(f->drains, 0);
	assert_true(http_stream_write(req, NULL, 0) > HTTP_STREAM_LOW_WATER);

	/* Reading brings it below the low mark, and on_drain says so. */
	assert_true(run_until(f, cl, until_drains, 1));
	assert_true(http_stream_write(req, NULL, 0) <= HTTP_STREAM_LOW_WATER);
	req = held_take(f);
	http_stream_end(req);

	end = now_ms() + 10000;
	while (!until_responses(f, cl, 1) && now_ms() < end)
		spin(f, cl);
	assert_int_equal(take_responses(f, cl), 1);
	r = &f->resp[0];
	assert_true(r->chunked);
	assert_int_equal(r->body_len, total);
	for (i = 0; i < total; i += 4099)
		assert_int_equal(r->body[i], (char)('a' + i % 26));
}

/* --- drain --------------------------------------------------------------- */

static void
test_drain(void **state)
{
	struct fixture		*f = *state;
	struct client		*idle, *busy, *fresh;
	struct http_request	*req;
	int			 fd;

	idle = client_new(f);
	client_send_str(f, idle, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	get_responses(f, idle, 1);

	f->mode = MODE_HOLD;
	busy = client_new(f);
	client_send_str(f, busy, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, busy, until_nreq, 2));
	fresh = client_new(f);
	settle(f, fresh, 10);
	assert_int_equal(http_server_busy(f->srv), 1);

	http_server_drain(f->srv);
	assert_true(run_until(f, idle, until_eof, 0));
	assert_true(run_until(f, fresh, until_eof, 0));
	assert_int_equal(fresh->len, 0);
	settle(f, busy, 20);
	assert_false(busy->eof);
	assert_int_equal(http_server_busy(f->srv), 1);

	/* Nobody listens any more. */
	fd = client_connect(&f->addr, 0);
	if (fd >= 0)
		close(fd);
	assert_true(fd < 0);

	/* The busy one finishes, told that the connection closes. */
	req = held_take(f);
	http_reply(req, 200, "text/plain", "done", 4, NULL);
	if (!run_until(f, busy, until_eof, 0))
		fail_client(busy, "server did not close");
	assert_int_equal(take_responses(f, busy), 1);
	assert_int_equal(f->resp[0].status, 200);
	assert_true(response_closes(&f->resp[0]));
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* --- a server in a child process, for requests that may crash it --------- */

static void
child_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/*
 * The child, re-executed so that LeakSanitizer sees only its own heap:
 * serve lfd (max_headers 2048) until ctl closes or 10 s pass, free all.
 */
static int
child_serve(int lfd, int ctl)
{
	struct fixture	*cf = calloc(1, sizeof(*cf));
	struct event	*ev;
	struct timeval	 tv = { 10, 0 };

	if (cf == NULL)
		return 2;
	fixture_start(cf, lfd);
	cf->cfg.max_headers = 2048;
	ev = event_new(cf->base, ctl, EV_READ, child_stop, cf->base);
	event_add(ev, &tv);
	event_base_dispatch(cf->base);
	event_free(ev);
	fixture_stop(cf);
	free(cf);
	close(ctl);
	return 0;
}

/*
 * Send raw to a server in a child process: it must answer status/code and
 * close, and the child must then exit cleanly (no crash, no leak).
 */
static void
serve_child_expect(struct fixture *f, const char *raw, size_t len, int status,
    const char *code)
{
	struct sockaddr_in	 addr;
	struct client		*cl;
	struct response		*r;
	char			 got[64], a1[16], a2[16];
	int			 lfd, ctl[2], ws = 0;
	size_t			 n;
	long long		 end;
	pid_t			 pid;

	lfd = listen_socket(&addr);
	assert_int_equal(pipe(ctl), 0);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		fcntl(lfd, F_SETFD, 0);
		close(ctl[1]);
		snprintf(a1, sizeof(a1), "%d", lfd);
		snprintf(a2, sizeof(a2), "%d", ctl[0]);
		execl("/proc/self/exe", "test-http", "--serve", a1, a2,
		    (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	close(lfd);
	close(ctl[0]);

	cl = client_new_at(f, &addr, 0);
	client_send(f, cl, raw, len);
	end = now_ms() + WAIT_MS;
	while (!cl->eof && now_ms() < end) {
		struct pollfd	pfd = { cl->fd, POLLIN, 0 };

		poll(&pfd, 1, 50);
		client_poll(cl);
	}
	close(ctl[1]);
	end = now_ms() + 10000;
	while (waitpid(pid, &ws, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &ws, 0);
			break;
		}
		usleep(1000);
	}

	n = take_responses(f, cl);
	if (WIFSIGNALED(ws) || WEXITSTATUS(ws) != 0)
		fail_msg("server process %s %d, after %zu responses",
		    WIFSIGNALED(ws) ? "killed by signal" : "exited with",
		    WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws), n);
	if (n != 1 || !cl->eof)
		fail_client(cl, "expected one response and a close");
	r = &f->resp[0];
	error_code(r, got, sizeof(got));
	assert_int_equal(r->status, status);
	assert_true(response_closes(r));
	assert_string_equal(got, code);
}

/* The child harness itself: a request it refuses, then a clean exit. */
static void
test_child_harness(void **state)
{
	struct fixture	*f = *state;

	serve_child_expect(f, LIT("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 2\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400, "invalid_request");
}

/* --- the head phase ------------------------------------------------------ */

/*
 * A request refused on its head is answered before its body is sent (the
 * body is never read), and the connection closes since one was announced.
 */
static void
test_head_reject_before_body(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	http_server_set_head(f->srv, head_handler);
	client_send_str(f, cl, "POST /reject HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 15000000\r\n\r\n0123456789");
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "no answer before the body");
	r = get_responses(f, cl, 1);
	assert_int_equal(r[0].status, 401);
	assert_true(response_closes(&r[0]));
	assert_int_equal(f->nhead, 1);
	assert_int_equal(f->nreq, 0);
	assert_int_equal(f->head_saw_body, 0);
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* Refused on its head with no body: the connection serves the next one. */
static void
test_head_reject_keepalive(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	http_server_set_head(f->srv, head_handler);
	client_send_str(f, cl, "GET /reject HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
	r = get_responses(f, cl, 2);
	assert_int_equal(r[0].status, 401);
	assert_false(response_closes(&r[0]));
	assert_echo(&r[1], "POST", "/ok", "hi", 2);
	assert_int_equal(f->nhead, 2);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(f->head_aborts, 0);
}

/* 100 Continue only once the head is accepted; never for a refusal. */
static void
test_head_expect_continue(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	http_server_set_head(f->srv, head_handler);
	client_send_str(f, cl, "POST /reject HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n");
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server did not close");
	assert_int_equal(take_responses(f, cl), 1);
	assert_int_equal(f->resp[0].status, 401);
	client_drop(f, cl);

	cl = client_new(f);
	client_send_str(f, cl, "POST /in HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n");
	r = get_responses(f, cl, 1);
	assert_int_equal(r[0].status, 100);
	client_send_str(f, cl, "body");
	r = get_responses(f, cl, 2);
	assert_echo(&r[1], "POST", "/in", "body", 4);
	assert_int_equal(f->head_saw_body, 0);
}

/* Let in, then gone before the body is whole: on_abort, no handler. */
static void
test_head_abort_mid_body(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	http_server_set_head(f->srv, head_handler);
	client_send_str(f, cl, "POST /in HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 100\r\n\r\n0123456789");
	assert_true(run_until(f, cl, until_nreq, 0));
	settle(f, cl, 20);
	assert_int_equal(f->nhead, 1);
	client_hangup(cl);
	settle(f, NULL, 50);
	assert_int_equal(f->head_aborts, 1);
	assert_int_equal(f->nreq, 0);
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* Let in, then a body over the limit: on_abort, then the server's 413. */
static void
test_head_abort_body_too_large(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);

	f->cfg.max_body = 1024;
	http_server_set_head(f->srv, head_handler);
	client_send_str(f, cl, "POST /in HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nfffff\r\n");
	expect_error_reply(f, cl, 413, "request_too_large");
	assert_int_equal(f->head_aborts, 1);
	assert_int_equal(f->nreq, 0);
}

/* Taken on its head and answered later; the body it had is never read. */
static void
test_head_taken(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl = client_new(f);
	struct http_request	*req;
	struct response		*r;

	http_server_set_head(f->srv, head_handler);
	client_send_str(f, cl, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 0));
	settle(f, cl, 20);
	assert_non_null(f->held);
	assert_int_equal(http_server_busy(f->srv), 1);
	req = held_take(f);
	http_reply(req, 200, "text/plain", "later", 5, NULL);
	r = get_responses(f, cl, 1);
	assert_int_equal(r[0].status, 200);
	assert_false(response_closes(&r[0]));

	/* With a body announced: never read, and the connection closes. */
	client_send_str(f, cl, "POST /later HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	settle(f, cl, 20);
	assert_non_null(f->held);
	req = held_take(f);
	http_reply(req, 200, "text/plain", "later", 5, NULL);
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "server did not close");
	assert_int_equal(take_responses(f, cl), 2);
	assert_true(response_closes(&f->resp[1]));
	assert_int_equal(f->nreq, 0);

	/* Its client gone first: on_abort, as for any held request. */
	cl = client_new(f);
	client_send_str(f, cl, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
	settle(f, cl, 20);
	assert_non_null(f->held);
	client_hangup(cl);
	assert_true(run_until(f, cl, until_aborts, 1));
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* --- deadlines ----------------------------------------------------------- */

/*
 * Send data one byte every every_ms, running the server, until the server
 * closes or max_ms pass; returns the milliseconds it took.
 */
static long long
drip(struct fixture *f, struct client *cl, const char *data, int every_ms,
    int max_ms)
{
	long long	start = now_ms(), next = start;
	size_t		off = 0, len = strlen(data);

	while (!cl->eof && now_ms() - start < max_ms) {
		if (now_ms() >= next) {
			if (send(cl->fd, data + off % len, 1, MSG_NOSIGNAL) < 0)
				break;
			off++;
			next += every_ms;
		}
		spin(f, cl);
		usleep(1000);
	}
	while (!cl->eof && now_ms() - start < max_ms + 500) {
		spin(f, cl);
		usleep(1000);
	}
	return now_ms() - start;
}

/* A head dripped byte by byte is cut at its deadline, with a 408. */
static void
test_head_deadline(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	long long	 took;

	f->cfg.head_timeout_ms = 300;
	client_send_str(f, cl, "GET / HTTP/1.1\r\nX-Slow: ");
	took = drip(f, cl, "abcdefgh", 40, 3000);
	if (!cl->eof)
		fail_client(cl, "a dripped head was not cut");
	assert_true(took < 1500);
	assert_int_equal(take_responses(f, cl), 1);
	assert_int_equal(f->resp[0].status, 408);
	assert_true(response_closes(&f->resp[0]));
	assert_int_equal(f->nreq, 0);
	settle(f, NULL, 10);
	assert_int_equal(http_server_busy(f->srv), 0);
}

/* A connection that never sends a byte is closed at the head deadline. */
static void
test_head_deadline_silent(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	long long	 start = now_ms();

	f->cfg.head_timeout_ms = 200;
	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "a silent connection was not closed");
	assert_true(now_ms() - start >= 150);
	assert_int_equal(cl->len, 0);
}

/*
 * On a kept-alive connection the head deadline runs from the next
 * request's first byte: waiting between requests is the idle timeout's.
 */
static void
test_head_deadline_keepalive(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	struct response	*r;

	f->cfg.head_timeout_ms = 100;
	client_send_str(f, cl, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
	get_responses(f, cl, 1);
	settle(f, cl, 300);
	assert_false(cl->eof);
	client_send_str(f, cl, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
	r = get_responses(f, cl, 2);
	assert_echo(&r[1], "GET", "/2", "", 0);
}

/*
 * Blank lines before a request (RFC 9112 2.2) are bytes of its head: on a
 * kept-alive connection they start the head deadline, so that a client
 * cannot hold the connection open with one CR LF per idle timeout.
 */
static void
test_head_deadline_blank_lines(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	long long	 start;

	f->cfg.head_timeout_ms = 300;
	client_send_str(f, cl, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
	get_responses(f, cl, 1);
	start = now_ms();
	while (!cl->eof && now_ms() - start < 3000) {
		if (send(cl->fd, "\r\n", 2, MSG_NOSIGNAL) != 2)
			break;
		settle(f, cl, 40);
	}
	if (!cl->eof && !run_until(f, cl, until_eof, 0))
		fail_client(cl, "blank lines kept a connection open");
	assert_true(now_ms() - start < 1500);
	assert_int_equal(take_responses(f, cl), 1);
}

/* A body dripped byte by byte is cut at its own deadline; on_abort runs. */
static void
test_body_deadline(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	long long	 took;

	f->cfg.body_timeout_ms = 300;
	http_server_set_head(f->srv, head_handler);
	client_send_str(f, cl, "POST /in HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1000\r\n\r\n");
	took = drip(f, cl, "0123456789", 40, 3000);
	if (!cl->eof)
		fail_client(cl, "a dripped body was not cut");
	assert_true(took < 1500);
	assert_int_equal(take_responses(f, cl), 1);
	assert_int_equal(f->resp[0].status, 408);
	assert_int_equal(f->head_aborts, 1);
	assert_int_equal(f->nreq, 0);
}

/* --- connection caps ----------------------------------------------------- */

static int
until_connections(struct fixture *f, struct client *cl, size_t n)
{
	(void)f;
	(void)cl;
	return http_connections() == n;
}

/* The client got the short 503 of a connection over a cap, and a close. */
static void
expect_refused(struct fixture *f, struct client *cl)
{
	char	code[64];

	if (!run_until(f, cl, until_eof, 0))
		fail_client(cl, "connection over the cap not closed");
	assert_int_equal(take_responses(f, cl), 1);
	assert_int_equal(f->resp[0].status, 503);
	assert_true(response_closes(&f->resp[0]));
	error_code(&f->resp[0], code, sizeof(code));
	assert_string_equal(code, "unavailable");
}

static void
test_cap_per_address(void **state)
{
	struct fixture		*f = *state;
	struct client		*a, *b, *c;
	struct http_stats	 st0, st;
	size_t			 base = http_connections();
	struct response		*r;

	f->cfg.max_connections_per_address = 2;
	http_stats_get(&st0);
	a = client_new(f);
	b = client_new(f);
	assert_true(run_until(f, NULL, until_connections, base + 2));
	c = client_new(f);
	client_send_str(f, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_refused(f, c);
	http_stats_get(&st);
	assert_int_equal(st.over_cap_addr, st0.over_cap_addr + 1);
	assert_int_equal(http_connections(), base + 2);

	/* One leaves: a new one is served. */
	client_drop(f, a);
	client_drop(f, c);
	assert_true(run_until(f, NULL, until_connections, base + 1));
	c = client_new(f);
	client_send_str(f, c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
	r = get_responses(f, c, 1);
	assert_echo(&r[0], "GET", "/ok", "", 0);
	client_send_str(f, b, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
	r = get_responses(f, b, 1);
	assert_echo(&r[0], "GET", "/b", "", 0);
}

static void
test_cap_total(void **state)
{
	struct fixture		*f = *state;
	struct client		*c;
	struct http_stats	 st0, st;
	size_t			 base = http_connections();

	f->cfg.max_connections = base + 1;
	http_stats_get(&st0);
	client_new(f);
	assert_true(run_until(f, NULL, until_connections, base + 1));
	c = client_new(f);
	expect_refused(f, c);
	http_stats_get(&st);
	assert_int_equal(st.over_cap, st0.over_cap + 1);
}

/* --- RFC 9112 / 9110 ----------------------------------------------------- */

static void
test_host_required(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl;
	struct response	*r;

	expect_error_str(f, "GET / HTTP/1.1\r\n\r\n", 400, "invalid_request");
	expect_error_str(f, "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
	    400, "invalid_request");
	expect_error_str(f, "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
	    400, "invalid_request");
	expect_error_str(f, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400,
	    "invalid_request");
	expect_error_str(f, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400,
	    "invalid_request");
	/* HTTP/1.0 needs none; a port, an IP literal or empty are fine. */
	cl = client_new(f);
	client_send_str(f, cl, "GET /a HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"
	    "GET /b HTTP/1.1\r\nHost:\r\n\r\nGET /c HTTP/1.0\r\n\r\n");
	r = get_responses(f, cl, 3);
	assert_echo(&r[0], "GET", "/a", "", 0);
	assert_echo(&r[1], "GET", "/b", "", 0);
	assert_echo(&r[2], "GET", "/c", "", 0);
}

static void
test_two_authorization(void **state)
{
	struct fixture	*f = *state;

	expect_error_str(f, "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n", 400,
	    "invalid_request");
}

/* A bare LF or CR is refused as soon as it is seen, not at a timeout. */
static void
test_bare_lf_at_once(void **state)
{
	struct fixture		*f = *state;
	static const char	*bad[] = {
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\n",
		"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\rHost: x",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb",
		"GET / HTTP/1.1\n",
	};
	size_t			 i;
	long long		 start;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start = now_ms();
		expect_error_str(f, bad[i], 400, "invalid_request");
		assert_true(now_ms() - start < 1000);
	}
}

/*
 * Head lines and field values are checked eight bytes at a time where
 * they are plain: a control byte, a bare CR or LF at any place in a long
 * line is still refused, and a long value of tabs, spaces and obs-text
 * still passes.
 */
static void
test_long_lines_every_place(void **state)
{
	struct fixture		*f = *state;
	static const unsigned char bad[] = { 0x01, 0x08, 0x0b, 0x1f, 0x7f };
	struct client		*cl;
	struct response		*r;
	char			 value[40], raw[160];
	size_t			 i, k, len = 24;
	int			 n;

	for (k = 0; k < len; k++) {
		for (i = 0; i < sizeof(bad); i++) {
			memset(value, 'v', len);
			value[k] = (char)bad[i];
			n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\n"
			    "Host: x\r\nX-Long: a%.*sz\r\n\r\n", (int)len,
			    value);
			expect_error(f, raw, (size_t)n, 400, "invalid_request");
		}
		memset(value, 'v', len);
		value[k] = '\n';
		n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\n"
		    "X-Long: a%.*sz\r\n\r\n", (int)len, value);
		expect_error(f, raw, (size_t)n, 400, "invalid_request");
		value[k] = '\r';
		n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\n"
		    "X-Long: a%.*sz\r\n\r\n", (int)len, value);
		expect_error(f, raw, (size_t)n, 400, "invalid_request");
	}
	/* Tab, space, obs-text (0x80-0xff) anywhere: a plain value. */
	for (k = 0; k < len; k++) {
		memset(value, 'v', len);
		value[k] = k % 3 == 0 ? '\t' : k % 3 == 1 ? ' ' :
		    (char)(0x80 + k);
		n = snprintf(raw, sizeof(raw), "GET /ok HTTP/1.1\r\nHost: x\r\n"
		    "X-Long: a%.*sz\r\n\r\n", (int)len, value);
		cl = client_new(f);
		client_send(f, cl, raw, (size_t)n);
		r = get_responses(f, cl, 1);
		assert_echo(&r[0], "GET", "/ok", "", 0);
		client_drop(f, cl);
	}
}

/* RFC 9112 6.1: Transfer-Encoding from HTTP/1.0 is faulty framing. */
static void
test_http10_transfer_encoding(void **state)
{
	struct fixture	*f = *state;

	expect_error_str(f, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n5\r\nhello\r\n0\r\n\r\n", 400, "invalid_request");
	expect_error_str(f, "POST / HTTP/1.0\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nhello", 400, "invalid_request");
	/* Nor twice from HTTP/1.1. */
	expect_error_str(f, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", 400, "invalid_request");
}

/* A reply to HEAD has the fields a GET would get, and no body. */
static void
test_head_method_no_body(void **state)
{
	struct fixture	*f = *state;
	struct client	*cl = client_new(f);
	const char	*second;
	char		 buf[64];
	struct response	 r;

	client_send_str(f, cl, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /g HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 2));
	settle(f, cl, 20);
	if ((second = strstr(cl->buf, "\r\n\r\n")) == NULL ||
	    strncmp(second + 4, "HTTP/1.1 200 ", 13) != 0)
		fail_client(cl, "a body after the reply to HEAD");
	memset(&r, 0, sizeof(r));
	r.head = copy(cl->buf, second + 2 - cl->buf);
	/* What GET would have had: "HEAD /h 0\n". */
	assert_non_null(response_field(&r, "Content-Length", buf,
	    sizeof(buf)));
	assert_string_equal(buf, "10");
	response_free(&r);
}

/* --- reply heads --------------------------------------------------------- */

/* A huge or broken Content-Type or field never kills the server. */
static void
test_reply_hostile_fields(void **state)
{
	struct fixture		*f = *state;
	struct client		*cl = client_new(f);
	struct http_request	*req;
	struct http_fields	 fl;
	struct response		*r;
	static char		 ctype[1200], value[1200], extra[4000];
	char			 buf[HTTP_FIELD_VALUE_MAX + 64];
	size_t			 n = 0;
	int			 i;

	f->mode = MODE_HOLD;
	memcpy(ctype, "application/", 12);
	memset(ctype + 12, 'x', sizeof(ctype) - 13);
	client_send_str(f, cl, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 1));
	req = held_take(f);
	http_reply(req, 200, ctype, "{}", 2, NULL);
	r = get_responses(f, cl, 1);
	assert_non_null(response_field(&r[0], "Content-Type", buf,
	    sizeof(buf)));
	assert_string_equal(buf, "application/json");

	/* Many fields of the agent's own, past the old 1 KB head. */
	for (i = 0; i < 20; i++)
		n += snprintf(extra + n, sizeof(extra) - n, "X-Own-%02d: %080d"
		    "\r\n", i, i);
	client_send_str(f, cl, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 2));
	req = held_take(f);
	http_reply(req, 200, "text/plain; charset=utf-8", "ok", 2, extra);
	r = get_responses(f, cl, 2);
	assert_non_null(response_field(&r[1], "X-Own-19", buf, sizeof(buf)));
	assert_non_null(response_field(&r[1], "Content-Type", buf,
	    sizeof(buf)));
	assert_string_equal(buf, "text/plain; charset=utf-8");

	/* A backend's fields: only the valid ones go out. */
	memset(value, 'v', sizeof(value) - 1);
	http_fields_init(&fl);
	assert_int_equal(http_fields_add(&fl, LIT("Retry-After"), LIT(" 5 ")),
	    0);
	assert_int_equal(http_fields_add(&fl, LIT("x-ratelimit-remaining"),
	    LIT("0")), 0);
	assert_int_equal(http_fields_add(&fl, LIT("X-Evil"),
	    LIT("a\r\nSet-Cookie: x")), -1);
	assert_int_equal(http_fields_add(&fl, LIT("X-Nul"), LIT("a\0b")), -1);
	assert_int_equal(http_fields_add(&fl, LIT("X-Ctl"), LIT("a\x01")), -1);
	assert_int_equal(http_fields_add(&fl, LIT("X-8bit"),
	    LIT("caf\xc3\xa9")), -1);
	assert_int_equal(http_fields_add(&fl, LIT("Content-Length"),
	    LIT("0")), -1);
	assert_int_equal(http_fields_add(&fl, LIT("transfer-encoding"),
	    LIT("chunked")), -1);
	assert_int_equal(http_fields_add(&fl, LIT("X-Request-ID"),
	    LIT("0123")), -1);	/* the server's own */
	assert_int_equal(http_fields_add(&fl, LIT("Bad Name"), LIT("x")), -1);
	assert_int_equal(http_fields_add(&fl, LIT(""), LIT("x")), -1);
	assert_int_equal(http_fields_add(&fl, "X-Huge", 6, value,
	    sizeof(value) - 1), -1);
	assert_int_equal(http_fields_add(&fl, "X-Max", 5, value,
	    HTTP_FIELD_VALUE_MAX), 0);
	for (i = 0; i < 10; i++)
		http_fields_add(&fl, "X-Fill", 6, value, HTTP_FIELD_VALUE_MAX);
	assert_true(fl.len <= HTTP_FIELDS_MAX);
	client_send_str(f, cl, "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(run_until(f, cl, until_nreq, 3));
	req = held_take(f);
	http_reply_fields(req, 429, "text/html\r\nX-Injected: 1", "{}", 2, &fl);
	r = get_responses(f, cl, 3);
	assert_int_equal(r[2].status, 429);
	assert_non_null(response_field(&r[2], "Retry-After", buf,
	    sizeof(buf)));
	assert_string_equal(buf, "5");
	assert_non_null(response_field(&r[2], "x-ratelimit-remaining", buf,
	    sizeof(buf)));
	assert_null(response_field(&r[2], "X-Evil", buf, sizeof(buf)));
	assert_null(response_field(&r[2], "Set-Cookie", buf, sizeof(buf)));
	assert_null(response_field(&r[2], "X-Injected", buf, sizeof(buf)));
	assert_null(response_field(&r[2], "X-Huge", buf, sizeof(buf)));
	assert_non_null(response_field(&r[2], "Content-Type", buf,
	    sizeof(buf)));
	assert_string_equal(buf, "application/json");
	assert_int_equal(r[2].body_len, 2);
}

static void
test_media_type_valid(void **state)
{
	static const char	*good[] = {
		"application/json", "text/event-stream",
		"text/plain; charset=utf-8", "text/plain;charset=\"utf-8\"",
		"application/x-ndjson", "multipart/form-data; boundary=\"a b\"",
		"text/plain;", "a/b ; c=d ; e=\"f\\\"g\"",
	};
	static const char	*bad[] = {
		"", "json", "a/", "/b", "a b/c", "a/b c", "a/b;c", "a/b;c=",
		"a/b;c=\"d", "a/b\r\nX: y", "a/b;c=d\n", "a/b;c=\"\x01\"",
		"text/html\xc3\xa9",
	};
	char			 longer[HTTP_CTYPE_MAX + 2];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!http_media_type_valid(good[i]))
			fail_msg("refused: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_media_type_valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	memcpy(longer, "text/", 5);
	memset(longer + 5, 'x', sizeof(longer) - 6);
	longer[sizeof(longer) - 1] = '\0';
	assert_false(http_media_type_valid(longer));
	longer[HTTP_CTYPE_MAX] = '\0';
	assert_true(http_media_type_valid(longer));
}

/*
 * Every byte value at every place of a value, and as a name's byte:
 * http_fields_add() takes exactly what the RFC's rules take (its value
 * check goes eight bytes at a time, its names through a table).
 */
static void
test_fields_add_every_byte(void **state)
{
	static const char	tchars[] = "!#$%&'*+-.^_`|~";
	struct http_fields	fl;
	char			v[21], name[3];
	int			b, want, ok;
	size_t			at, len;

	(void)state;
	for (len = 1; len < sizeof(v); len += 6) {
		for (at = 0; at < len; at++) {
			for (b = 0; b < 256; b++) {
				memset(v, 'a', len);
				v[at] = (char)b;
				/* Spaces and tabs at either end are trimmed. */
				want = b == '\t' || (b >= ' ' && b < 0x7f);
				http_fields_init(&fl);
				ok = http_fields_add(&fl, "X-V", 3, v, len) == 0;
				if (ok != want)
					fail_msg("byte %#x at %zu of %zu: %s", b,
					    at, len, ok ? "taken" : "refused");
			}
		}
	}
	for (b = 0; b < 256; b++) {
		name[0] = 'x';
		name[1] = (char)b;
		name[2] = 'y';
		want = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
		    (b >= '0' && b <= '9') ||
		    (b != 0 && strchr(tchars, b) != NULL);
		http_fields_init(&fl);
		ok = http_fields_add(&fl, name, 3, "v", 1) == 0;
		if (ok != want)
			fail_msg("name byte %#x: %s", b, ok ? "taken" :
			    "refused");
	}
}

/* RFC 9110 5.6.7's own example, the epoch and a leap day. */
static void
test_date_format(void **state)
{
	char	out[HTTP_DATE_LEN + 1];

	(void)state;
	http_date_format(784111777, out);
	assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_date_format(0, out);
	assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date_format(1709164800 + 86399, out);
	assert_string_equal(out, "Thu, 29 Feb 2024 23:59:59 GMT");
	assert_int_equal(strlen(out), HTTP_DATE_LEN);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_keepalive_two_requests),
		T(test_pipelined_in_order),
		T(test_pipelined_waits_for_handler),
		T(test_http10_closes),
		T(test_http10_keepalive),
		T(test_connection_close),
		T(test_connection_close_two_lines),
		T(test_content_length_exact),
		T(test_content_length_zero),
		T(test_chunked_body),
		T(test_expect_continue),
		T(test_expect_continue_http10),
		T(test_large_body_head_valid),
		T(test_large_chunked_head_valid),
		T(test_byte_by_byte),
		T(test_body_too_large),
		T(test_body_too_large_expect),
		T(test_chunked_too_large),
		T(test_child_harness),
		T(test_head_too_large_first),
		T(test_head_too_large_first_complete),
		T(test_head_too_large_second),
		T(test_too_many_headers),
		T(test_both_framings),
		T(test_content_length_conflict),
		T(test_bad_request_line),
		T(test_bad_header),
		T(test_obs_fold),
		T(test_nul_and_controls),
		T(test_chunk_size_strict),
		T(test_http2_505),
		T(test_bad_request_line_not_505),
		T(test_abort_on_hangup),
		T(test_abort_with_pipelined),
		T(test_abort_on_server_free),
		T(test_abort_while_streaming),
		T(test_stream_framing),
		T(test_stream_http10),
		T(test_stream_backpressure),
		T(test_drain),
		T(test_head_reject_before_body),
		T(test_head_reject_keepalive),
		T(test_head_expect_continue),
		T(test_head_abort_mid_body),
		T(test_head_abort_body_too_large),
		T(test_head_taken),
		T(test_head_deadline),
		T(test_head_deadline_silent),
		T(test_head_deadline_keepalive),
		T(test_head_deadline_blank_lines),
		T(test_body_deadline),
		T(test_cap_per_address),
		T(test_cap_total),
		T(test_host_required),
		T(test_two_authorization),
		T(test_bare_lf_at_once),
		T(test_long_lines_every_place),
		T(test_http10_transfer_encoding),
		T(test_head_method_no_body),
		T(test_reply_hostile_fields),
		cmocka_unit_test(test_media_type_valid),
		cmocka_unit_test(test_fields_add_every_byte),
		cmocka_unit_test(test_date_format),
	};

	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "--serve") == 0)
		return child_serve(atoi(argv[2]), atoi(argv[3]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
