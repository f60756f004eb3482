/*
 * The agent's own HTTP/1.1 client, for backends it reaches by address over
 * plain HTTP: the local Ollama or vLLM of a confidential VM, the common
 * case. libcurl (upstream.c) keeps everything else: names to resolve,
 * TLS and its pinning, proxies.
 *
 * Why by hand: per request libcurl 7.88 made about 38 allocations, a
 * connection search, two poll() calls and 13 KiB of state per open
 * stream, which was most of what the agent cost beyond nginx (issue 15).
 * This client writes the request with one writev (the body by reference),
 * reads into the worker's one scratch buffer and hands body bytes to the
 * caller in place, so a transfer allocates nothing in its life but its
 * own struct, reused. h1-response.c reads the answer, strictly.
 *
 * What it keeps of libcurl's behaviour: keep-alive connections per
 * backend address, watched while idle (a backend that closes one is seen)
 * and closed after UPSTREAM_H1_IDLE_MS unused; a request that finds its
 * reused connection closed before any byte of an answer goes again, once,
 * on a new one; gzip and deflate answers decoded (zlib) though identity
 * was asked; the same deadlines, results and reasons.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <zlib.h>

#include "agent.h"
#include "log.h"
#include "textbuf.h"
#include "upstream-h1.h"
#include "xmalloc.h"

#define H1_SCRATCH		(64 * 1024)	/* one read, one request head */
#define H1_ZOUT			(16 * 1024)	/* decoded bytes per inflate */
#define H1_REQ_HEAD_MAX		(16 * 1024)	/* else libcurl sends it */
#define H1_AUTHORITY_MAX	64		/* [IPv6]:port fits */
#define H1_ORIGINS_MAX		64		/* addresses with pooled conns */
#define H1_TRANSFERS_IDLE	256		/* transfer structs kept */
/* As libcurl's default: a connection unused this long is closed. */
#define UPSTREAM_H1_IDLE_MS	118000

struct h1_conn;

/* A backend address and its idle connections, newest first. */
struct h1_origin {
	char			 authority[H1_AUTHORITY_MAX + 1];
	size_t			 alen;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 localhost;	/* ss is 127.0.0.1 or ::1 */
	struct h1_conn		*idle;
	size_t			 nidle;
};

struct h1_pool {
	struct event_base		*base;
	const struct agent_config	*cfg;
	struct h1_origin		*origins[H1_ORIGINS_MAX];
	size_t				 norigins;
	struct h1_transfer		**free_t;
	size_t				 nfree_t;
	char				*scratch;	/* H1_SCRATCH */
	unsigned char			*zout;		/* H1_ZOUT */
	/* Common timeouts: first byte, idle, an idle connection's age. */
	int				 common_ms[3];
	const struct timeval		*common_tv[3];
};

struct h1_conn {
	struct h1_pool		*pool;
	struct h1_origin	*origin;
	struct h1_transfer	*t;		/* NULL: idle */
	struct h1_conn		*prev, *next;	/* the origin's idle list */
	int			 fd;
	unsigned		 served;	/* answers read on it */
	int			 reading;	/* ev is EV_READ|EV_PERSIST only */
	struct event		*ev;		/* storage follows */
};

enum h1_state {
	H1_START,		/* connects on the next loop pass */
	H1_CONNECTING,
	H1_SENDING,
	H1_HEAD,		/* waiting for (the rest of) a head */
	H1_BODY,
};

struct h1_transfer {
	int			 kind;		/* UPSTREAM_KIND_H1: first */
	struct h1_pool		*pool;
	struct h1_origin	*origin;
	struct h1_conn		*conn;
	const struct upstream_cb *cb;
	void			*arg;
	const char		*path;		/* the url's, from its '/' */
	struct curl_slist	*auth;
	const char		*body;
	size_t			 len;
	char			 traceparent[TRACEPARENT_LEN + 1];
	char			*tracestate;	/* copied, or NULL */
	enum h1_state		 state;
	/* A request head a write did not take whole (it may hold a key). */
	char			*head;
	size_t			 head_len;
	size_t			 sent;		/* of head and body */
	int			 retried;	/* went again on a new conn */
	int			 other_loopback; /* localhost's other address tried */
	int			 received;	/* any byte of an answer */
	int			 cut_short;	/* answered before all was sent */
	struct h1_head		 h;
	struct h1_body		 b;
	/* Bytes read but not yet used: a head in parts, or paused body. */
	char			*carry;
	size_t			 carry_len;
	int			 got_response;
	int			 told_response;
	int			 paused;
	int			 in_cb;		/* inside a caller's callback */
	int			 dead;		/* cancelled from inside one */
	/* A start that failed, to report on the next loop pass. */
	enum upstream_result	 failed;
	char			 failed_why[160];
	struct upstream_response resp;
	struct upstream_head	 answer;	/* what its head passes on */
	z_stream		*z;
	struct event		*timer;		/* storage follows */
};

static void	h1_conn_event(evutil_socket_t, short, void *);
static void	h1_timer_event(evutil_socket_t, short, void *);
static void	h1_send(struct h1_transfer *);
static void	h1_connect(struct h1_transfer *);
static int	h1_tell_response(struct h1_transfer *);

/* --- pool ---------------------------------------------------------------- */

struct h1_pool *
h1_pool_new(struct event_base *base, const struct agent_config *cfg)
{
	struct h1_pool	*pool;

	pool = xcalloc(1, sizeof(*pool));
	pool->base = base;
	pool->cfg = cfg;
	pool->scratch = xmalloc(H1_SCRATCH);
	pool->zout = xmalloc(H1_ZOUT);
	return pool;
}

static void
h1_conn_close(struct h1_conn *c)
{
	struct h1_origin	*o = c->origin;

	if (c->t == NULL) {		/* idle: off its list */
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			o->idle = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		o->nidle--;
	}
	event_del(c->ev);
	close(c->fd);
	free(c);
}

static void
h1_transfer_free(struct h1_transfer *t)
{
	free(t);
}

void
h1_pool_free(struct h1_pool *pool)
{
	size_t	i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->norigins; i++) {
		while (pool->origins[i]->idle != NULL)
			h1_conn_close(pool->origins[i]->idle);
		free(pool->origins[i]);
	}
	for (i = 0; i < pool->nfree_t; i++)
		h1_transfer_free(pool->free_t[i]);
	free(pool->free_t);
	free(pool->scratch);
	free(pool->zout);
	free(pool);
}

static void
h1_timer_arm(struct h1_transfer *t, int ms)
{
	struct h1_pool		*pool = t->pool;
	struct timeval		 tv = { ms / 1000, (ms % 1000) * 1000 };
	const struct timeval	*at = NULL;

	if (ms > 0 && ms == pool->cfg->first_byte_timeout_ms)
		at = upstream_common_timeout(pool->base, ms,
		    &pool->common_ms[0], &pool->common_tv[0]);
	else if (ms > 0 && ms == pool->cfg->idle_timeout_ms)
		at = upstream_common_timeout(pool->base, ms,
		    &pool->common_ms[1], &pool->common_tv[1]);
	evtimer_add(t->timer, at != NULL ? at : &tv);
}

/* --- urls and origins ---------------------------------------------------- */

int
h1_authority_localhost(const char *a, size_t alen)
{
	return alen >= 9 && strncasecmp(a, "localhost", 9) == 0 &&
	    (alen == 9 || a[9] == ':');
}

void
h1_loopback_other(struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	in_port_t		 port;

	if (ss->ss_family == AF_INET) {
		port = sin->sin_port;
		memset(ss, 0, sizeof(*ss));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		sin6->sin6_addr = in6addr_loopback;
		*sslen = sizeof(*sin6);
	} else {
		port = sin6->sin6_port;
		memset(ss, 0, sizeof(*ss));
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*sslen = sizeof(*sin);
	}
}

/*
 * Split an http:// url to an address (an IP address, or localhost): its
 * authority (as sent in Host) and its path. 0, or -1 when this client
 * does not take it.
 */
int
h1_url_split(const char *url, struct sockaddr_storage *ss, socklen_t *sslen,
    const char **authority, size_t *alen, const char **path)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	const char		*a, *p, *host, *port = NULL;
	char			 buf[INET6_ADDRSTRLEN + 1];
	size_t			 hlen, i;
	unsigned long		 n = 80;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	a = url + 7;
	p = a + strcspn(a, "/?#@");
	if (*p != '/' || p == a || (size_t)(p - a) > H1_AUTHORITY_MAX)
		return -1;
	for (i = 0; p[i] != '\0'; i++)	/* sent as it is: visible ASCII */
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f ||
		    p[i] == '#')
			return -1;
	if (*a == '[') {
		host = a + 1;
		hlen = strcspn(host, "]");
		if (host + hlen >= p)
			return -1;
		if (host[hlen + 1] == ':')
			port = host + hlen + 2;
		else if (host + hlen + 1 != p)
			return -1;
	} else {
		host = a;
		hlen = strcspn(host, ":/");
		if (host[hlen] == ':')
			port = host + hlen + 1;
	}
	if (hlen == 0 || hlen > INET6_ADDRSTRLEN)
		return -1;
	if (port != NULL) {
		if (port == p || p - port > 5)
			return -1;
		for (n = 0; port < p; port++) {
			if (*port < '0' || *port > '9')
				return -1;
			n = n * 10 + (unsigned long)(*port - '0');
		}
		if (n == 0 || n > 65535)
			return -1;
	}
	/*
	 * "localhost" (Ollama's documented URL) is 127.0.0.1 without asking a
	 * resolver, as RFC 6761 lets and curl does; a refused connection
	 * tries ::1 next (h1_loopback_other), as curl would.
	 */
	if (*a != '[' && h1_authority_localhost(a, (size_t)(p - a))) {
		host = "127.0.0.1";
		hlen = 9;
	}
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (*a == '[') {
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)n);
		*sslen = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
			return -1;	/* a name: libcurl resolves it */
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)n);
		*sslen = sizeof(*sin);
	}
	*authority = a;
	*alen = (size_t)(p - a);
	*path = p;
	return 0;
}

/* The origin of url, made when new; NULL when this client does not take it. */
static struct h1_origin *
h1_origin_of(struct h1_pool *pool, const char *url, const char **path)
{
	struct h1_origin	*o;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*a;
	size_t			 alen, i;

	if (h1_url_split(url, &ss, &sslen, &a, &alen, path) == -1)
		return NULL;
	for (i = 0; i < pool->norigins; i++) {
		o = pool->origins[i];
		if (o->alen == alen && memcmp(o->authority, a, alen) == 0)
			return o;
	}
	if (pool->norigins == H1_ORIGINS_MAX)
		return NULL;
	o = xcalloc(1, sizeof(*o));
	memcpy(o->authority, a, alen);
	o->alen = alen;
	o->ss = ss;
	o->sslen = sslen;
	o->localhost = h1_authority_localhost(a, alen);
	pool->origins[pool->norigins++] = o;
	return o;
}

/* --- a transfer's end ---------------------------------------------------- */

/* Answers and request heads are wiped before their memory goes back. */
static void
h1_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

static void
h1_transfer_reset(struct h1_transfer *t)
{
	h1_wipe_free(t->head, t->head_len);
	t->head = NULL;
	h1_wipe_free(t->carry, t->carry_len);
	t->carry = NULL;
	t->carry_len = 0;
	free(t->tracestate);
	t->tracestate = NULL;
	if (t->z != NULL) {
		inflateEnd(t->z);
		free(t->z);
		t->z = NULL;
	}
	evtimer_del(t->timer);
}

/* Keep the transfer's struct for the next, or free it. */
static void
h1_transfer_put(struct h1_transfer *t)
{
	struct h1_pool	*pool = t->pool;

	h1_transfer_reset(t);
	if (pool->nfree_t == H1_TRANSFERS_IDLE) {
		h1_transfer_free(t);
		return;
	}
	if (pool->free_t == NULL)
		pool->free_t = xcalloc(H1_TRANSFERS_IDLE,
		    sizeof(*pool->free_t));
	pool->free_t[pool->nfree_t++] = t;
}

/*
 * The transfer leaves its connection: to the idle list when keep, else
 * closed. An idle connection keeps its read event (no epoll_ctl for a
 * request on a reused connection), now with the idle age as timeout.
 */
static void
h1_conn_release(struct h1_transfer *t, int keep)
{
	struct h1_conn		*c = t->conn;
	struct h1_origin	*o;
	struct h1_pool		*pool = t->pool;
	const struct timeval	*at;
	struct timeval		 tv = { UPSTREAM_H1_IDLE_MS / 1000, 0 };
	int			 cap = pool->cfg->max_connections;

	if (c == NULL)
		return;
	t->conn = NULL;
	c->t = NULL;
	o = c->origin;
	if (cap < 1024)
		cap = 1024;
	at = upstream_common_timeout(pool->base, UPSTREAM_H1_IDLE_MS,
	    &pool->common_ms[2], &pool->common_tv[2]);
	if (!keep || o->nidle >= (size_t)cap || !c->reading ||
	    event_add(c->ev, at != NULL ? at : &tv) == -1) {
		event_del(c->ev);
		close(c->fd);
		free(c);
		return;
	}
	c->served++;
	c->prev = NULL;
	c->next = o->idle;
	if (o->idle != NULL)
		o->idle->prev = c;
	o->idle = c;
	o->nidle++;
}

/* The end: connection released, struct kept, on_done told (last). */
static void
h1_finish(struct h1_transfer *t, enum upstream_result res, const char *why,
    int keep)
{
	const struct upstream_cb	*cb = t->cb;
	void				*arg = t->arg;
	char				 reason[sizeof(t->failed_why)];

	/* An empty coded answer: its head is still to be told. */
	if (res == UPSTREAM_OK && t->got_response && !t->told_response &&
	    h1_tell_response(t) == -1)
		return;
	textbuf_copy(reason, sizeof(reason), why);	/* may be t's */
	h1_conn_release(t, keep && res == UPSTREAM_OK);
	h1_transfer_put(t);
	cb->on_done(arg, res, reason);
}

/* A failure of this machine or of the backend, by errno. */
static void
h1_fail_errno(struct h1_transfer *t, const char *what, int e)
{
	char	why[160];

	if (upstream_errno_local(e)) {
		snprintf(why, sizeof(why), "this machine is out of resources:"
		    " %s", strerror(e));
		h1_finish(t, UPSTREAM_LOCAL, why, 0);
		return;
	}
	snprintf(why, sizeof(why), "%s: %s", what, strerror(e));
	h1_finish(t, UPSTREAM_ERROR, why, 0);
}

/* Fail on the next loop pass, never inside h1_start. */
static void
h1_fail_later(struct h1_transfer *t, enum upstream_result res,
    const char *why)
{
	t->failed = res;
	snprintf(t->failed_why, sizeof(t->failed_why), "%s", why);
	h1_timer_arm(t, 0);
}

/*
 * The connection broke (closed, reset) before any byte of an answer: a
 * reused one may have been closed by the backend as it was taken, so the
 * request goes again, once, on a new one. Returns 1 when it did.
 */
static int
h1_try_again(struct h1_transfer *t)
{
	struct h1_conn	*c = t->conn;

	if (t->retried || t->received || c == NULL || c->served == 0)
		return 0;
	t->retried = 1;
	h1_conn_release(t, 0);
	h1_wipe_free(t->head, t->head_len);
	t->head = NULL;
	t->sent = 0;
	h1_connect(t);
	return 1;
}

/*
 * localhost refused the connection at one loopback address: the other,
 * once, kept for the origin's next connections when it answers (a backend
 * may listen on ::1 only, or on 127.0.0.1 only). Returns 1 when it did.
 */
static int
h1_try_other_loopback(struct h1_transfer *t, int e)
{
	struct h1_origin	*o = t->origin;

	if (e != ECONNREFUSED || !o->localhost || t->other_loopback)
		return 0;
	t->other_loopback = 1;
	h1_loopback_other(&o->ss, &o->sslen);
	h1_conn_release(t, 0);
	h1_connect(t);
	return 1;
}

/* --- callbacks into the caller ----------------------------------------- */

/* After a callback: 1 when the caller cancelled the transfer in it. */
static int
h1_gone(struct h1_transfer *t)
{
	if (--t->in_cb > 0 || !t->dead)
		return 0;
	h1_conn_release(t, 0);
	h1_transfer_put(t);
	return 1;
}

static int
h1_tell_response(struct h1_transfer *t)
{
	t->told_response = 1;
	t->in_cb++;
	t->cb->on_response(t->arg, &t->resp);
	return h1_gone(t) ? -1 : 0;
}

/* Decoded bytes to the caller; -1 when the transfer is over. */
static int
h1_data(struct h1_transfer *t, const char *data, size_t len)
{
	int	rc;

	if (!t->told_response && h1_tell_response(t) == -1)
		return -1;
	t->in_cb++;
	rc = t->cb->on_data(t->arg, data, len);
	if (h1_gone(t))
		return -1;
	if (rc != 0) {
		h1_finish(t, UPSTREAM_ERROR, "the answer was not taken", 0);
		return -1;
	}
	return 0;
}

/* Body bytes as they came: decoded first when the answer is coded. */
static int
h1_body_bytes(struct h1_transfer *t, const char *data, size_t len)
{
	z_stream	*z = t->z;
	char		 why[96];
	int		 zr;

	if (!t->paused)
		h1_timer_arm(t, t->pool->cfg->idle_timeout_ms);
	if (z == NULL)
		return h1_data(t, data, len);
	z->next_in = (unsigned char *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	while (z->avail_in > 0) {
		z->next_out = t->pool->zout;
		z->avail_out = H1_ZOUT;
		zr = inflate(z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			snprintf(why, sizeof(why), "the answer's content"
			    " coding (%s) cannot be decoded", t->answer.coding);
			h1_finish(t, UPSTREAM_BAD_ANSWER, why, 0);
			return -1;
		}
		if (z->avail_out < H1_ZOUT && h1_data(t, (char *)t->pool->zout,
		    H1_ZOUT - z->avail_out) == -1)
			return -1;
		explicit_bzero(t->pool->zout, H1_ZOUT - z->avail_out);
		if (zr == Z_STREAM_END || zr == Z_BUF_ERROR)
			break;		/* what follows the stream is dropped */
	}
	return 0;
}

/* --- reading the answer ------------------------------------------------ */

/* A header line of the answer, for upstream_head_line. */
static void
h1_head_line(void *arg, const char *line, size_t len)
{
	struct h1_transfer	*t = arg;

	upstream_head_line(&t->answer, line, len);
}

/* A coding zlib reads, set up; -1 (and the transfer over) for another. */
static int
h1_decoder(struct h1_transfer *t)
{
	char	why[96];
	int	bits;

	if (strcmp(t->answer.coding, "gzip") == 0 ||
	    strcmp(t->answer.coding, "x-gzip") == 0)
		bits = 15 + 16;
	else if (strcmp(t->answer.coding, "deflate") == 0)
		bits = 15 + 32;		/* zlib's wrapper, as RFC 9110 says */
	else
		bits = 0;
	if (bits != 0) {
		t->z = xcalloc(1, sizeof(*t->z));
		if (inflateInit2(t->z, bits) == Z_OK)
			return 0;
		free(t->z);
		t->z = NULL;
	}
	snprintf(why, sizeof(why), "the answer's content coding (%s) cannot"
	    " be decoded", t->answer.coding);
	h1_finish(t, UPSTREAM_BAD_ANSWER, why, 0);
	return -1;
}

/* Keep len bytes of p for the next read (a head in parts, a paused body). */
static void
h1_keep(struct h1_transfer *t, const char *p, size_t len)
{
	char	*c;

	if (len == 0)
		return;
	c = xmalloc(t->carry_len + len);
	if (t->carry_len > 0)
		memcpy(c, t->carry, t->carry_len);
	memcpy(c + t->carry_len, p, len);
	h1_wipe_free(t->carry, t->carry_len);
	t->carry = c;
	t->carry_len += len;
}

/*
 * Use len bytes of the answer at p. Returns 0 when the transfer goes on,
 * -1 when it is over (finished, failed or cancelled: t is gone).
 */
static int
h1_feed(struct h1_transfer *t, const char *p, size_t len)
{
	const char	*data;
	size_t		 dlen;
	ssize_t		 n;

	while (len > 0) {
		if (t->paused) {
			h1_keep(t, p, len);
			return 0;
		}
		if (t->state == H1_HEAD) {
			if ((n = h1_head_length(p, len)) == 0) {
				h1_keep(t, p, len);
				return 0;
			}
			upstream_head_reset(&t->answer);
			if (n < 0 || h1_head_parse(p, (size_t)n, &t->h,
			    h1_head_line, t) == -1 || t->h.status == 101) {
				h1_finish(t, UPSTREAM_ERROR, "the backend's"
				    " answer is not valid HTTP/1.1", 0);
				return -1;
			}
			p += n;
			len -= (size_t)n;
			if (t->h.status < 200)
				continue;	/* 100 Continue and friends */
			t->got_response = 1;
			t->resp.status = t->h.status;
			t->resp.content_type = t->answer.ctype[0] != '\0' ?
			    t->answer.ctype : NULL;
			t->resp.relay = t->answer.relay;
			t->resp.nrelay = t->answer.nrelay;
			h1_body_init(&t->b, &t->h);
			t->state = H1_BODY;
			h1_timer_arm(t, t->pool->cfg->idle_timeout_ms);
			if (t->answer.coded && h1_decoder(t) == -1)
				return -1;
			if (!t->answer.coded && h1_tell_response(t) == -1)
				return -1;
		} else {
			n = h1_body_read(&t->b, p, len, &data, &dlen);
			if (n < 0) {
				h1_finish(t, UPSTREAM_ERROR, "the backend's"
				    " answer has broken chunked framing", 0);
				return -1;
			}
			p += n;
			len -= (size_t)n;
			if (dlen > 0 && h1_body_bytes(t, data, dlen) == -1)
				return -1;
		}
		if (t->state == H1_BODY && t->b.done) {
			/* Bytes after the answer: the connection is not sane. */
			h1_finish(t, UPSTREAM_OK, "", t->h.keep_alive &&
			    len == 0 && t->b.mode != H1_BODY_CLOSE &&
			    !t->cut_short);
			return -1;
		}
	}
	return 0;
}

/* The backend closed its end (n == 0) or the read failed (errno e). */
static void
h1_read_end(struct h1_transfer *t, int e)
{
	if (e == 0 && t->state == H1_BODY && h1_body_eof(&t->b)) {
		h1_finish(t, UPSTREAM_OK, "", 0);
		return;
	}
	if ((e == 0 || e == ECONNRESET) && h1_try_again(t))
		return;
	if (e != 0) {
		h1_fail_errno(t, "reading the backend's answer", e);
		return;
	}
	h1_finish(t, UPSTREAM_ERROR, t->state == H1_BODY ? "the backend"
	    " closed the connection in the middle of its answer" :
	    "the backend closed the connection without an answer", 0);
}

/* Feed what t kept (a head in parts, or a pause's), then wipe it. */
static void
h1_feed_kept(struct h1_transfer *t)
{
	char	*kept = t->carry;
	size_t	 klen = t->carry_len;

	t->carry = NULL;
	t->carry_len = 0;
	h1_feed(t, kept, klen);
	h1_wipe_free(kept, klen);
}

static void
h1_read(struct h1_transfer *t)
{
	struct h1_pool	*pool = t->pool;
	ssize_t		 n;

	/* What a pause held back goes first, on its own. */
	if (t->state == H1_BODY && t->carry_len > 0) {
		h1_feed_kept(t);
		return;
	}
	n = read(t->conn->fd, pool->scratch, H1_SCRATCH);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			h1_read_end(t, errno);
		return;
	}
	if (n == 0) {
		h1_read_end(t, 0);
		return;
	}
	t->received = 1;
	/* The scratch buffer is wiped of each answer's bytes once used. */
	if (t->carry_len == 0) {
		h1_feed(t, pool->scratch, (size_t)n);
		explicit_bzero(pool->scratch, (size_t)n);
		return;
	}
	/*
	 * A head in parts (under H1_HEAD_MAX, or h1_head_length would have
	 * refused it): the whole of it so far, then what came.
	 */
	h1_keep(t, pool->scratch, (size_t)n);
	explicit_bzero(pool->scratch, (size_t)n);
	h1_feed_kept(t);
}

/* --- connecting and sending -------------------------------------------- */

/*
 * Watch t's connection for what (until tv); -1 when it cannot, and the
 * transfer is over (this machine is short of memory, or epoll full).
 */
static int
h1_watch(struct h1_transfer *t, short what, const struct timeval *tv)
{
	struct h1_conn	*c = t->conn;

	event_del(c->ev);
	c->reading = 0;
	if (event_assign(c->ev, c->pool->base, c->fd, what, h1_conn_event,
	    c) == -1 || event_add(c->ev, tv) == -1) {
		h1_fail_errno(t, "watching a backend's socket",
		    errno != 0 ? errno : ENOMEM);
		return -1;
	}
	c->reading = what == (EV_READ | EV_PERSIST);
	return 0;
}

/* Connected: the read watch it keeps to its close, then the request. */
static void
h1_connected(struct h1_transfer *t)
{
	t->state = H1_SENDING;
	if (h1_watch(t, EV_READ | EV_PERSIST, NULL) == 0)
		h1_send(t);
}

static void
h1_conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct h1_conn		*c = arg;
	struct h1_transfer	*t = c->t;
	socklen_t		 elen = sizeof(int);
	char			 why[96];
	int			 e = 0;

	(void)fd;
	/* Idle: the backend closed it, wrote to it, or it aged. */
	if (t == NULL) {
		h1_conn_close(c);
		return;
	}
	/* The age timeout of its idle time, still armed: nothing to do. */
	if (what == EV_TIMEOUT && t->state != H1_CONNECTING)
		return;
	if (t->state == H1_CONNECTING) {
		if (what & EV_TIMEOUT) {
			snprintf(why, sizeof(why), "could not connect to the"
			    " backend within %d ms",
			    t->pool->cfg->connect_timeout_ms);
			h1_finish(t, UPSTREAM_TIMEOUT, why, 0);
			return;
		}
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			e = errno;
		if (e != 0) {
			if (!h1_try_other_loopback(t, e))
				h1_fail_errno(t, "could not connect to the"
				    " backend", e);
			return;
		}
		h1_connected(t);
		return;
	}
	/*
	 * A backend may answer before it took the whole request (a 413, say)
	 * and close: its answer is read; the connection is not reused.
	 */
	if (t->state == H1_SENDING && (what & EV_READ)) {
		t->cut_short = 1;
		t->state = H1_HEAD;
		if (h1_watch(t, EV_READ | EV_PERSIST, NULL) == -1)
			return;
	}
	if (t->state == H1_SENDING) {
		h1_send(t);
		return;
	}
	h1_read(t);
}

/* The request head into pool->scratch: its length, or 0 when it does not fit. */
static size_t
h1_request_head(struct h1_transfer *t)
{
	struct curl_slist	*a;
	struct textbuf		 b;

	/* Room for the NUL too: the head is sent without it. */
	textbuf_init(&b, t->pool->scratch, H1_REQ_HEAD_MAX);
	textbuf_lit(&b, "POST ");
	textbuf_str(&b, t->path);
	textbuf_lit(&b, " HTTP/1.1\r\nHost: ");
	textbuf_put(&b, t->origin->authority, t->origin->alen);
	textbuf_lit(&b, "\r\nAccept: */*\r\nAccept-Encoding: identity\r\n"
	    "Content-Type: application/json\r\nContent-Length: ");
	textbuf_u64(&b, t->len);
	textbuf_lit(&b, "\r\n");
	if (t->traceparent[0] != '\0') {
		textbuf_lit(&b, "traceparent: ");
		textbuf_str(&b, t->traceparent);
		textbuf_lit(&b, "\r\n");
		if (t->tracestate != NULL) {
			textbuf_lit(&b, "tracestate: ");
			textbuf_str(&b, t->tracestate);
			textbuf_lit(&b, "\r\n");
		}
	}
	for (a = t->auth; a != NULL; a = a->next) {
		if (strpbrk(a->data, "\r\n") != NULL)
			continue;	/* never; a header cannot be forged */
		textbuf_str(&b, a->data);
		textbuf_lit(&b, "\r\n");
	}
	textbuf_lit(&b, "\r\n");
	return b.over ? 0 : b.len;
}

static void
h1_send(struct h1_transfer *t)
{
	struct h1_conn	*c = t->conn;
	struct iovec	 iov[2];
	const char	*head = t->head;
	size_t		 hlen = t->head_len, total;
	ssize_t		 n;
	int		 e;

	if (head == NULL) {
		if ((hlen = h1_request_head(t)) == 0) {
			h1_finish(t, UPSTREAM_LOCAL, "the request's head is"
			    " too long", 0);
			return;
		}
		head = t->pool->scratch;
	}
	total = hlen + t->len;
	if (t->sent < hlen) {
		iov[0].iov_base = (char *)(uintptr_t)head + t->sent;
		iov[0].iov_len = hlen - t->sent;
		iov[1].iov_base = (char *)(uintptr_t)t->body;
		iov[1].iov_len = t->len;
		n = writev(c->fd, iov, 2);
	} else
		n = send(c->fd, t->body + (t->sent - hlen), total - t->sent,
		    MSG_NOSIGNAL);
	e = errno;
	if (n > 0)
		t->sent += (size_t)n;
	/* The head is in the scratch buffer: keep what is left of it. */
	if (t->head == NULL) {
		if (t->sent < total) {
			t->head = xmalloc(hlen);
			memcpy(t->head, head, hlen);
			t->head_len = hlen;
		}
		explicit_bzero(t->pool->scratch, hlen);
	}
	if (n < 0 && e != EAGAIN && e != EINTR) {
		if ((e == EPIPE || e == ECONNRESET) && h1_try_again(t))
			return;
		h1_fail_errno(t, "sending to the backend", e);
		return;
	}
	if (t->sent < total) {
		(void)h1_watch(t, EV_WRITE | EV_READ | EV_PERSIST, NULL);
		return;
	}
	h1_wipe_free(t->head, t->head_len);
	t->head = NULL;
	t->state = H1_HEAD;
	if (!c->reading)
		(void)h1_watch(t, EV_READ | EV_PERSIST, NULL);
}

/* A new connection for t, or an idle one; then the request goes. */
static void
h1_connect(struct h1_transfer *t)
{
	struct h1_pool		*pool = t->pool;
	struct h1_origin	*o = t->origin;
	struct h1_conn		*c;
	struct timeval		 tv;
	int			 fd, one = 1, ms = pool->cfg->connect_timeout_ms;

	if (!t->retried && (c = o->idle) != NULL) {
		o->idle = c->next;
		if (c->next != NULL)
			c->next->prev = NULL;
		o->nidle--;
		c->t = t;
		t->conn = c;
		t->state = H1_SENDING;
		h1_send(t);
		return;
	}
	fd = socket(o->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		h1_fail_errno(t, "socket", errno);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	c = calloc(1, sizeof(*c) + event_get_struct_event_size());
	if (c == NULL) {
		close(fd);
		h1_fail_errno(t, "connection", ENOMEM);
		return;
	}
	c->pool = pool;
	c->origin = o;
	c->fd = fd;
	c->ev = (struct event *)(c + 1);
	c->t = t;
	t->conn = c;
	if (event_assign(c->ev, pool->base, fd, 0, h1_conn_event, c) == -1) {
		h1_fail_errno(t, "watching a backend's socket", ENOMEM);
		return;
	}
	if (connect(fd, (struct sockaddr *)&o->ss, o->sslen) == 0) {
		h1_connected(t);
		return;
	}
	if (errno != EINPROGRESS) {
		if (!h1_try_other_loopback(t, errno))
			h1_fail_errno(t, "could not connect to the backend",
			    errno);
		return;
	}
	t->state = H1_CONNECTING;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	(void)h1_watch(t, EV_WRITE, ms > 0 ? &tv : NULL);
}

static void
h1_timer_event(evutil_socket_t fd, short what, void *arg)
{
	struct h1_transfer	*t = arg;

	(void)fd;
	(void)what;
	if (t->failed != UPSTREAM_OK) {
		h1_finish(t, t->failed, t->failed_why, 0);
		return;
	}
	if (t->state == H1_START) {
		h1_timer_arm(t, t->pool->cfg->first_byte_timeout_ms);
		h1_connect(t);
		return;
	}
	h1_finish(t, UPSTREAM_TIMEOUT, t->got_response ? "backend went"
	    " silent" : "backend did not answer in time", 0);
}

/* --- the interface ------------------------------------------------------- */

/*
 * Will the request's head fit in H1_REQ_HEAD_MAX (the lines
 * h1_request_head writes, with room to spare)? When not, libcurl sends it.
 */
static int
h1_head_fits(const struct h1_origin *o, const char *path,
    const struct curl_slist *auth, const struct upstream_trace *tc)
{
	size_t	need = 256 + strlen(path) + o->alen;

	if (tc != NULL)
		need += 32 + TRACEPARENT_LEN + (tc->tracestate != NULL ?
		    tc->tracestate_len : 0);
	for (; auth != NULL; auth = auth->next)
		need += strlen(auth->data) + 2;
	return need < H1_REQ_HEAD_MAX;
}

struct upstream *
h1_start(struct h1_pool *pool, const char *url, struct curl_slist *auth,
    const char *body, size_t len, const struct upstream_cb *cb, void *arg,
    const struct upstream_trace *tc)
{
	struct h1_transfer	*t;
	struct h1_origin	*o;
	const char		*path;

	if (pool == NULL || (o = h1_origin_of(pool, url, &path)) == NULL ||
	    !h1_head_fits(o, path, auth, tc))
		return NULL;
	if (pool->nfree_t > 0) {
		t = pool->free_t[--pool->nfree_t];
		memset(t, 0, offsetof(struct h1_transfer, timer));
	} else {
		t = xcalloc(1, sizeof(*t) + event_get_struct_event_size());
		t->timer = (struct event *)(t + 1);
	}
	t->kind = UPSTREAM_KIND_H1;
	t->pool = pool;
	if (event_assign(t->timer, pool->base, -1, 0, h1_timer_event,
	    t) == -1)
		fatalx("%s: event_assign", __func__);	/* a bug */
	t->origin = o;
	t->cb = cb;
	t->arg = arg;
	t->path = path;
	t->auth = auth;
	t->body = body;
	t->len = len;
	if (tc != NULL) {
		memcpy(t->traceparent, tc->traceparent,
		    sizeof(t->traceparent));
		if (tc->tracestate != NULL && tc->tracestate_len > 0 &&
		    tc->tracestate_len <= TRACESTATE_MAX)
			t->tracestate = xstrndup(tc->tracestate,
			    tc->tracestate_len);
	}
	/*
	 * Connect on the next loop pass, never inside the caller: a failure
	 * then reaches on_done after upstream_start returned, as with curl.
	 */
	event_active(t->timer, EV_TIMEOUT, 1);
	return (struct upstream *)(void *)t;
}

void
h1_pause(struct upstream *u)
{
	struct h1_transfer	*t = (struct h1_transfer *)(void *)u;

	if (t->paused)
		return;
	t->paused = 1;
	evtimer_del(t->timer);
	if (t->conn != NULL && t->state >= H1_HEAD)
		event_del(t->conn->ev);
}

void
h1_resume(struct upstream *u)
{
	struct h1_transfer	*t = (struct h1_transfer *)(void *)u;

	if (!t->paused)
		return;
	t->paused = 0;
	h1_timer_arm(t, t->pool->cfg->idle_timeout_ms);
	if (t->conn == NULL || t->state < H1_HEAD)
		return;
	if (event_add(t->conn->ev, NULL) == -1) {
		h1_fail_later(t, UPSTREAM_LOCAL, "this machine is out of"
		    " resources: cannot watch a backend's socket");
		return;
	}
	/* What the pause held back is read on the next pass. */
	if (t->carry_len > 0)
		event_active(t->conn->ev, EV_READ, 1);
}

void
h1_cancel(struct upstream *u)
{
	struct h1_transfer	*t = (struct h1_transfer *)(void *)u;

	if (t->in_cb > 0) {
		t->dead = 1;
		return;
	}
	h1_conn_release(t, 0);
	h1_transfer_put(t);
}
