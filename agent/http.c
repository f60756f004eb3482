/*
 * A small HTTP/1.1 server on libevent bufferevents, for the inference port;
 * each worker thread runs one on its own loop, and the connection caps are
 * shared by all of them. We do not use evhttp: libevent 2.1 answers its own
 * limits (body, headers) with HTML pages instead of the OpenAI error shape,
 * and only notices that a client hung up at its next write, too late to
 * cancel a waiting upstream. A plain connection's reads are ours, not the
 * bufferevent's (http_conn_readable): libevent asks FIONREAD before each.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "agent.h"
#include "log.h"
#include "swar.h"
#include "textbuf.h"
#include "xmalloc.h"

#define HTTP_BODY_PRERESERVE	(1024 * 1024)
#define HTTP_BUF_ROUND		1024	/* request buffers: multiples of this */
#define HTTP_CLOSE_MS		2000	/* last reply out and leftovers read */
#define HTTP_ACCEPT_PAUSE_MS	200	/* after accept(2) failed */
#define HTTP_LOG_EVERY_S	10	/* at most one line per kind */
#define HTTP_PEER_BUCKETS	1024
#define HTTP_PEER_KEY		9	/* family, then 4 or 8 address bytes */
/*
 * A plain connection's reads (http_conn_readable): at most this much a
 * read(2), into the stack, so that its input buffer's chain is sized by
 * what came (libevent's smallest, 1 KiB, for most requests), and at
 * most so many reads in one pass, so that one client cannot hold the
 * loop.
 */
#define HTTP_READ_BYTES		16384
#define HTTP_READ_PASS		4

enum http_state {
	HTTP_READ_HEAD,		/* waiting for a request (idle when empty) */
	HTTP_READ_BODY,		/* Content-Length body */
	HTTP_READ_CHUNKED,	/* chunked body */
	HTTP_HANDLING,		/* the handler has it, no reply yet */
	HTTP_STREAMING,		/* chunked reply under way */
	HTTP_FLUSHING,		/* reply complete, waiting for it to drain */
	HTTP_CLOSING,		/* answered and half-closed: input dropped */
};

enum chunk_state {
	CHUNK_SIZE,
	CHUNK_DATA,
	CHUNK_DATA_END,
	CHUNK_TRAILER,
};

/* The connections of one client address (an IPv6 /64), in every server. */
struct http_peer {
	struct http_peer	*next;
	unsigned char		 key[HTTP_PEER_KEY];
	int			 count;
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*server;
	struct bufferevent	*bev;
	SSL			*ssl;		/* TLS: the bev's, else NULL */
	/*
	 * Plain TCP: the bufferevent only writes; this event reads into its
	 * input buffer (http_conn_readable). NULL with TLS.
	 */
	struct event		*rev;
	int			 reading;	/* rev is on */
	int			 read_timeout;	/* ... with the client timeout */
	int			 handshaken;	/* TLS: the handshake is done */
	struct event		*deadline;	/* head, body or closing */
	struct http_peer	*peer;
	enum http_state		 state;
	struct http_request	 req;
	char			*buf;		/* head, then body, of one request */
	size_t			 buf_len;
	size_t			 buf_cap;
	size_t			 head_len;
	size_t			 head_scanned;	/* head bytes CR LF-checked */
	size_t			 line_start;	/* where this line starts */
	size_t			 body_want;	/* Content-Length still to read */
	enum chunk_state	 chunk;
	size_t			 chunk_left;
	int			 expect_continue;
	int			 close_after;	/* Connection: close on this reply */
	int			 http10;	/* HTTP/1.0: no chunked replies */
	int			 head_only;	/* HEAD: replies have no body */
	int			 discard;	/* input left is no request */
	char			 internal[37];	/* adopted: its domain id */
	/* On every reply (http_request_field); made on first use: 2 KiB. */
	struct http_fields	*sticky;
};
TAILQ_HEAD(http_conns, http_conn);

struct http_server {
	struct event_base		*base;
	const struct agent_config	*cfg;
	http_head_handler		 head;
	http_handler			 handler;
	http_error_body			 error_body;	/* NULL: text/plain */
	void				*arg;
	struct evconnlistener		*listener;
	struct event			*resume_ev;	/* re-enable accept after EMFILE */
	/*
	 * A reply's head being composed: its own fields, the request's
	 * sticky ones, the handler's, the blank line. Each part is bounded,
	 * so the whole always fits; it goes out with the body in one writev.
	 */
	char				 reply_head[HTTP_HEAD_OWN +
					    2 * HTTP_FIELDS_MAX + 3];
	struct http_conns		 conns;
	size_t				 busy;
	int				 draining;
};

/* A warning said at most once per HTTP_LOG_EVERY_S, with a count. */
struct http_ratelog {
	_Atomic int_least64_t	 last;		/* unix seconds */
	atomic_uint_least64_t	 count;
};

/* Shared by every server (worker thread) of the process. */
static pthread_mutex_t		 http_peers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_peer		*http_peers[HTTP_PEER_BUCKETS];
static atomic_size_t		 http_nconns;
static struct {
	atomic_uint_least64_t	 over_cap;
	atomic_uint_least64_t	 over_cap_addr;
	atomic_uint_least64_t	 head_timeouts;
	atomic_uint_least64_t	 body_timeouts;
	atomic_uint_least64_t	 accept_errors;
	atomic_uint_least64_t	 tls_failed;
} http_counters;
static struct http_ratelog	 http_log_cap, http_log_accept;
static struct http_ratelog	 http_log_refusals;
/* Refusals logged one by one in a second, at most; the rest are counted. */
#define HTTP_REFUSALS_LOGGED	50
static _Atomic int_least64_t	 http_refusals_second;
static atomic_uint		 http_refusals_logged;

static void	http_conn_read(struct bufferevent *, void *);
static void	http_conn_write(struct bufferevent *, void *);
static void	http_conn_event(struct bufferevent *, short, void *);
static void	http_conn_process(struct http_conn *);
static void	http_conn_fail(struct http_conn *, int, const char *);
static void	http_log_refusal(struct http_request *, int, const char *);
static int64_t	http_mono_ms(void);

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

/*
 * Warn about what may happen thousands of times a second (refused
 * connections, accept errors) in at most one line per HTTP_LOG_EVERY_S,
 * from any worker thread.
 */
static void
http_log_rated(struct http_ratelog *rl, const char *what)
{
	int_least64_t	now = time(NULL), last;
	uint64_t	n;

	atomic_fetch_add(&rl->count, 1);
	last = atomic_load(&rl->last);
	if (last != 0 && now >= last && now - last < HTTP_LOG_EVERY_S)
		return;
	if (!atomic_compare_exchange_strong(&rl->last, &last, now))
		return;
	n = atomic_exchange(&rl->count, 0);
	log_warnx("%s (%llu time%s since the last such message)", what,
	    (unsigned long long)n, n == 1 ? "" : "s");
}

/* --- connection caps ----------------------------------------------------- */

/* A client's address as a caps key: IPv4, an IPv6 /64, or "local". */
static void
http_peer_key(const struct sockaddr *sa, int salen,
    unsigned char key[HTTP_PEER_KEY])
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)sa;

	memset(key, 0, HTTP_PEER_KEY);
	if (sa->sa_family == AF_INET && salen >= (int)sizeof(*s4)) {
		key[0] = 4;
		memcpy(key + 1, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && salen >= (int)sizeof(*s6)) {
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
		}
	}
}

static size_t
http_peer_hash(const unsigned char key[HTTP_PEER_KEY])
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < HTTP_PEER_KEY; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % HTTP_PEER_BUCKETS;
}

/*
 * Count a new connection against both caps. 0 with *out set (give it back
 * with http_caps_leave()), or -1 with *why naming the cap it is over.
 */
static int
http_caps_enter(const struct agent_config *cfg, const struct sockaddr *sa,
    int salen, struct http_peer **out, const char **why)
{
	struct http_peer	*p;
	unsigned char		 key[HTTP_PEER_KEY];
	size_t			 n, b;

	n = atomic_fetch_add(&http_nconns, 1) + 1;
	if (cfg->max_connections > 0 && n > (size_t)cfg->max_connections) {
		atomic_fetch_sub(&http_nconns, 1);
		atomic_fetch_add(&http_counters.over_cap, 1);
		*why = "connections refused over max-connections";
		return -1;
	}
	http_peer_key(sa, salen, key);
	b = http_peer_hash(key);
	pthread_mutex_lock(&http_peers_lock);
	for (p = http_peers[b]; p != NULL; p = p->next)
		if (memcmp(p->key, key, sizeof(key)) == 0)
			break;
	if (p != NULL && cfg->max_connections_per_address > 0 &&
	    p->count >= cfg->max_connections_per_address) {
		pthread_mutex_unlock(&http_peers_lock);
		atomic_fetch_sub(&http_nconns, 1);
		atomic_fetch_add(&http_counters.over_cap_addr, 1);
		*why = "connections refused over max-connections-per-address";
		return -1;
	}
	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		memcpy(p->key, key, sizeof(key));
		p->next = http_peers[b];
		http_peers[b] = p;
	}
	p->count++;
	pthread_mutex_unlock(&http_peers_lock);
	*out = p;
	return 0;
}

static void
http_caps_leave(struct http_peer *p)
{
	struct http_peer	**pp;

	if (p == NULL)
		return;
	pthread_mutex_lock(&http_peers_lock);
	if (--p->count == 0) {
		for (pp = &http_peers[http_peer_hash(p->key)]; *pp != p;
		    pp = &(*pp)->next)
			;
		*pp = p->next;
		free(p);
	}
	pthread_mutex_unlock(&http_peers_lock);
	atomic_fetch_sub(&http_nconns, 1);
}

/*
 * Over a cap: a short 503 if the socket takes it at once, then close,
 * after reading what the client already sent (so that the close is not a
 * reset that could destroy the reply).
 */
static void
http_refuse(int fd, const char *why)
{
	static const char	 body[] = "{\"error\":{\"message\":\"Too many"
	    " connections; retry later.\",\"type\":\"api_error\",\"param\":"
	    "null,\"code\":\"unavailable\"}}";
	struct http_request	 r;
	char			 buf[512], id[HTTP_REQUEST_ID_HEX + 1];
	char			 date[HTTP_DATE_LEN + 1];
	int			 n, i;

	memset(&r, 0, sizeof(r));
	r.refused = why;
	http_request_id_hex(&r, id);
	http_log_refusal(&r, 503, id);
	http_date_format(time(NULL), date);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Date: %s\r\nContent-Type: application/json\r\n"
	    "x-request-id: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "Retry-After: 1\r\n\r\n%s", date, id, sizeof(body) - 1, body);
	if (send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) == n) {
		shutdown(fd, SHUT_WR);
		for (i = 0; i < 16 && recv(fd, buf, sizeof(buf),
		    MSG_DONTWAIT) > 0; i++)
			;
	}
	close(fd);
}

void
http_stats_get(struct http_stats *st)
{
	st->over_cap = atomic_load(&http_counters.over_cap);
	st->over_cap_addr = atomic_load(&http_counters.over_cap_addr);
	st->head_timeouts = atomic_load(&http_counters.head_timeouts);
	st->body_timeouts = atomic_load(&http_counters.body_timeouts);
	st->accept_errors = atomic_load(&http_counters.accept_errors);
	st->tls_handshakes_failed = atomic_load(&http_counters.tls_failed);
}

size_t
http_connections(void)
{
	return atomic_load(&http_nconns);
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
	event_free(c->deadline);
	if (c->rev != NULL)
		event_free(c->rev);
	/*
	 * Say close_notify, best effort, so that a reply the close ends
	 * (HTTP/1.0) cannot be cut short by an attacker unnoticed.
	 */
	if (c->ssl != NULL && c->handshaken &&
	    !(SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN)) {
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	bufferevent_free(c->bev);
	http_caps_leave(c->peer);
	/* The request's head held its token, the body its prompt. */
	if (c->buf != NULL)
		explicit_bzero(c->buf, c->buf_len);
	free(c->buf);
	free(c->sticky);
	free(c);
}

/* The client is gone or broke the protocol: tell the handler, then drop it. */
static void
http_conn_abort(struct http_conn *c)
{
	void	(*on_abort)(void *) = c->req.on_abort;

	if (c->state != HTTP_FLUSHING && c->state != HTTP_CLOSING &&
	    on_abort != NULL) {
		c->req.on_abort = NULL;
		c->req.on_drain = NULL;
		on_abort(c->req.cb_arg);
	}
	http_conn_free(c);
}

static void
http_conn_client_timeout(const struct http_conn *c, struct timeval *tv)
{
	int	ms = c->server->cfg->client_timeout_ms;

	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/*
 * Read from the client, or stop (a pipelined request waits its turn).
 * With TLS the bufferevent reads; on plain TCP our own event does.
 */
static void
http_conn_reading(struct http_conn *c, int on)
{
	struct timeval	tv;

	if (c->rev == NULL) {
		if (on)
			bufferevent_enable(c->bev, EV_READ);
		else
			bufferevent_disable(c->bev, EV_READ);
		return;
	}
	c->reading = on;
	if (!on) {
		event_del(c->rev);
		return;
	}
	http_conn_client_timeout(c, &tv);
	event_add(c->rev, c->read_timeout ? &tv : NULL);
}

/* reading: the client owes us bytes, so its silence is timed too. */
static void
http_conn_timeouts(struct http_conn *c, int reading)
{
	struct timeval	tv;

	http_conn_client_timeout(c, &tv);
	if (c->rev == NULL) {
		bufferevent_set_timeouts(c->bev, reading ? &tv : NULL, &tv);
		return;
	}
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	c->read_timeout = reading;
	if (c->reading)
		event_add(c->rev, reading ? &tv : NULL);
}

/* A total deadline (head, body, closing) that no byte of input moves. */
static void
http_conn_deadline(struct http_conn *c, int ms)
{
	struct timeval	tv;

	if (ms <= 0) {
		event_del(c->deadline);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(c->deadline, &tv);
}

/* A deadline passed: answer 408 while reading, else just close. */
static void
http_conn_expire(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case HTTP_READ_HEAD:
		/* A TLS handshake that never finishes is a slowloris too. */
		if (c->ssl != NULL && !c->handshaken) {
			atomic_fetch_add(&http_counters.tls_failed, 1);
			log_debug("http: TLS handshake not done in time;"
			    " closed");
			http_conn_free(c);
			break;
		}
		atomic_fetch_add(&http_counters.head_timeouts, 1);
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
			log_debug("http: no request in time; closed");
			http_conn_free(c);
			break;
		}
		http_conn_fail(c, 408, "the request head did not arrive in"
		    " time");
		break;
	case HTTP_READ_BODY:
	case HTTP_READ_CHUNKED:
		atomic_fetch_add(&http_counters.body_timeouts, 1);
		http_conn_fail(c, 408, "the request body did not arrive in"
		    " time");
		break;
	case HTTP_FLUSHING:
	case HTTP_CLOSING:
		if (!c->discard)
			break;
		log_debug("http: closing connection cut");
		http_conn_free(c);
		break;
	default:
		break;
	}
}

/*
 * A plain connection is readable: read what the socket holds, without
 * the FIONREAD ioctl libevent asks first on every read, into the
 * bufferevent's input, then process it as the bufferevent would have. A
 * read that fills the buffer is followed by another, up to
 * HTTP_READ_PASS. The stack copy of the bytes (a token, a prompt) is
 * wiped.
 */
static void
http_conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	unsigned char		 buf[HTTP_READ_BYTES];
	ssize_t			 n = 0;
	size_t			 most = 0;
	int			 pass, got = 0, e = 0;

	if (what & EV_TIMEOUT) {
		http_conn_reading(c, 0);
		http_conn_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
		    c);
		return;
	}
	/* The bufferevent keeps its input's end frozen but while it reads. */
	evbuffer_unfreeze(in, 0);
	for (pass = 0; pass < HTTP_READ_PASS; pass++) {
		if ((n = read(fd, buf, sizeof(buf))) <= 0) {
			e = errno;
			break;
		}
		most = (size_t)n > most ? (size_t)n : most;
		/* Bytes read and not kept: the stream has a hole, end it. */
		if (evbuffer_add(in, buf, (size_t)n) == -1) {
			n = -1;
			e = ENOMEM;
			got = 0;
			break;
		}
		got = 1;
		if ((size_t)n < sizeof(buf))
			break;
	}
	evbuffer_freeze(in, 0);
	explicit_bzero(buf, most);
	/* Bytes first: an end or an error after them is met next time. */
	if (got) {
		http_conn_read(c->bev, c);
		return;
	}
	if (n == -1 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR))
		return;
	http_conn_reading(c, 0);
	http_conn_event(c->bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF :
	    BEV_EVENT_ERROR), c);
}

/*
 * A connection half made: free what there is, and close fd, or leave it
 * to the caller (fd -1).
 */
static void
http_conn_unmade(struct http_conn *c, evutil_socket_t fd)
{
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->bev != NULL && fd == -1)
		bufferevent_setfd(c->bev, -1);	/* not closed on free */
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else if (fd != -1)
		close(fd);
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c);
}

/* A connection made: a request is due, and reading and writing start. */
static void
http_conn_begin(struct http_conn *c)
{
	bufferevent_setcb(c->bev, http_conn_read, NULL, http_conn_event, c);
	http_conn_timeouts(c, 1);
	/* A connection is opened to make a request: its head is due. */
	http_conn_deadline(c, c->server->cfg->head_timeout_ms);
	bufferevent_enable(c->bev, c->rev == NULL ? EV_READ | EV_WRITE :
	    EV_WRITE);
	if (c->rev != NULL)
		http_conn_reading(c, 1);
}

static void
http_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct http_server	*srv = arg;
	struct http_conn	*c;
	struct http_peer	*peer = NULL;
	const char		*why;
	SSL			*ssl = NULL;
	int			 one = 1;

	(void)l;
	if (srv->draining) {
		close(fd);
		return;
	}
	/* The caps come before any TLS work. */
	if (http_caps_enter(srv->cfg, sa, salen, &peer, &why) == -1) {
		http_log_rated(&http_log_cap, why);
		if (tls_enabled())
			close(fd);	/* a plain 503 means nothing to it */
		else
			http_refuse(fd, why);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->server = srv;
	c->peer = peer;
	if (tls_enabled()) {
		/* The bev owns ssl and fd once made; if not, we free them. */
		if ((ssl = tls_ssl_new()) != NULL)
			c->bev = bufferevent_openssl_socket_new(srv->base, fd,
			    ssl, BUFFEREVENT_SSL_ACCEPTING,
			    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			ERR_clear_error();
			if (ssl != NULL)
				SSL_free(ssl);
			ssl = NULL;
		}
		c->ssl = ssl;
	} else if ((c->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) != NULL)
		c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST,
		    http_conn_readable, c);
	c->deadline = evtimer_new(srv->base, http_conn_expire, c);
	if (c->bev == NULL || c->deadline == NULL ||
	    (c->ssl == NULL && c->rev == NULL)) {
		log_warnx("%s: out of memory for a connection", __func__);
		http_conn_unmade(c, fd);
		http_caps_leave(peer);
		return;
	}
	c->req.conn = c;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	http_conn_begin(c);
}

/*
 * A connection the agent made itself (the admin playground, one end of a
 * socketpair) served like an accepted one, on this worker's loop: no
 * connection caps, no TLS, and every request on it marked internal to
 * domain_id, which no byte a client sends can set.
 */
int
http_server_adopt(struct http_server *srv, int fd, const char *domain_id)
{
	struct http_conn	*c;

	if (srv->draining || strlen(domain_id) != sizeof(c->internal) - 1)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->server = srv;
	memcpy(c->internal, domain_id, sizeof(c->internal));
	if ((c->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) != NULL)
		c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST,
		    http_conn_readable, c);
	c->deadline = evtimer_new(srv->base, http_conn_expire, c);
	if (c->bev == NULL || c->rev == NULL || c->deadline == NULL) {
		log_warnx("%s: out of memory for a connection", __func__);
		http_conn_unmade(c, -1);	/* the caller closes fd */
		return -1;
	}
	c->req.conn = c;
	c->req.internal_domain = c->internal;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	http_conn_begin(c);
	return 0;
}

/*
 * accept(2) failed, out of file descriptors or otherwise: pause accepting
 * for a moment instead of spinning (waiting connections stay queued in
 * the kernel), and say so at most every few seconds.
 */
static void
http_accept_error(struct evconnlistener *l, void *arg)
{
	struct http_server	*srv = arg;
	struct timeval		 tv = { 0, HTTP_ACCEPT_PAUSE_MS * 1000 };
	char			 what[160];
	int			 e = EVUTIL_SOCKET_ERROR();

	atomic_fetch_add(&http_counters.accept_errors, 1);
	snprintf(what, sizeof(what), "accept: %s; pausing %d ms", strerror(e),
	    HTTP_ACCEPT_PAUSE_MS);
	http_log_rated(&http_log_accept, what);
	evconnlistener_disable(l);
	event_add(srv->resume_ev, &tv);
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

/* The same against a string literal, whose length the compiler knows. */
#define HTTP_TOKEN_IS(s, len, lit) \
	((len) == sizeof(lit) - 1 && strncasecmp((s), (lit), (len)) == 0)

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

/* RFC 9110 5.6.2's tchar, a table: every byte of every field name. */
static const unsigned char http_tchars[256] = {
	['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

static int
http_is_tchar(unsigned char ch)
{
	return http_tchars[ch];
}

/*
 * RFC 9110 7.2: Host is uri-host [":" port], or empty when the target has
 * no authority; a reg-name, an IPv4 address or an IP literal in brackets.
 */
static int
http_host_valid(const char *v, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) &&
		    strchr("-._~!$&'()*+,;=:[]%", v[i]) == NULL)
			return 0;
	return 1;
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
	uint64_t		 w;
	int			 minor, have_cl = 0, chunked = 0;
	int			 nhost = 0, nauth = 0;
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
		for (p = value; p < q; p++) {
			/* Eight at a time past bytes that are no control. */
			while (q - p >= 8 && !swar_has_below(w = swar_load(p),
			    ' ') && !swar_has_byte(w, 0x7f))
				p += 8;
			if (p == q)
				break;
			if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
				return *why = "malformed header value", 400;
		}
		if (r->nheaders == HTTP_MAX_HEADERS)
			return *why = "too many header fields", 431;
		r->headers[r->nheaders].name = name;
		r->headers[r->nheaders].name_len = n;
		r->headers[r->nheaders].value = value;
		r->headers[r->nheaders].value_len = q - value;
		r->nheaders++;

		if (HTTP_TOKEN_IS(name, n, "content-length")) {
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
		} else if (HTTP_TOKEN_IS(name, n, "transfer-encoding")) {
			/* RFC 9112 6.1: faulty framing from HTTP/1.0. */
			if (minor == 0)
				return *why = "Transfer-Encoding in an HTTP/1.0"
				    " request", 400;
			if (chunked)
				return *why = "more than one Transfer-Encoding",
				    400;
			if (!HTTP_TOKEN_IS(value, q - value, "chunked"))
				return *why = "unsupported Transfer-Encoding",
				    501;
			chunked = 1;
		} else if (HTTP_TOKEN_IS(name, n, "host")) {
			if (nhost++ > 0)
				return *why = "more than one Host", 400;
			if (!http_host_valid(value, q - value))
				return *why = "malformed Host", 400;
		} else if (HTTP_TOKEN_IS(name, n, "authorization")) {
			if (nauth++ > 0)
				return *why = "more than one Authorization",
				    400;
		} else if (HTTP_TOKEN_IS(name, n, "connection")) {
			conn_close |= http_list_has(value, q - value, "close");
			conn_keep |= http_list_has(value, q - value,
			    "keep-alive");
		} else if (minor == 1 && HTTP_TOKEN_IS(name, n, "expect")) {
			if (!HTTP_TOKEN_IS(value, q - value, "100-continue"))
				return *why = "unsupported Expect", 417;
			c->expect_continue = 1;
		}
		p = eol + 1;
	}

	/* RFC 9112 3.2: an HTTP/1.1 request names its host, once. */
	if (minor == 1 && nhost == 0)
		return *why = "no Host header", 400;
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
 * The buffer lives as long as the request (a stream's too): it doubles
 * when it grows by pieces, else it takes what is asked for, to the next
 * HTTP_BUF_ROUND.
 */
static void
http_conn_reserve(struct http_conn *c, size_t n)
{
	struct http_request	*r = &c->req;
	size_t			 cap = c->buf_cap * 2, i;
	uintptr_t		 from = (uintptr_t)c->buf;

	if (c->buf_len + n <= c->buf_cap)
		return;
	if (cap < c->buf_len + n)
		cap = (c->buf_len + n + HTTP_BUF_ROUND - 1) /
		    HTTP_BUF_ROUND * HTTP_BUF_ROUND;
	c->buf = xrealloc_wiped(c->buf, c->buf_len, cap);
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
	HTTP_REBASE(r->cors_origin, from, c->buf);	/* a header's value */
}

/*
 * An error before the handler got the request: tell a head handler that
 * let the body be read, answer, and close once the answer is out.
 */
static void
http_conn_fail(struct http_conn *c, int status, const char *why)
{
	void		(*on_abort)(void *) = c->req.on_abort;
	http_error_body	 shape = c->server->error_body;
	char		 body[512];
	size_t		 len;

	c->req.refused = why;
	if (on_abort != NULL) {
		c->req.on_abort = NULL;
		on_abort(c->req.cb_arg);
	}
	if (shape != NULL)
		len = shape(body, sizeof(body), status, why);
	else
		len = (size_t)snprintf(body, sizeof(body), "%s\n", why);
	if (len >= sizeof(body))
		len = sizeof(body) - 1;
	c->req.keep_alive = 0;
	c->discard = 1;
	c->state = HTTP_HANDLING;
	c->server->busy++;
	http_reply(&c->req, status, shape != NULL ? "application/json" :
	    "text/plain", body, len, NULL);
}

/* Start reading the next request on a kept-alive connection. */
static void
http_conn_reset(struct http_conn *c)
{
	memset(&c->req, 0, sizeof(c->req));
	c->req.conn = c;
	c->req.internal_domain = c->internal[0] != '\0' ? c->internal : NULL;
	if (c->sticky != NULL)
		c->sticky->len = 0;
	c->state = HTTP_READ_HEAD;
	if (c->buf != NULL)
		explicit_bzero(c->buf, c->buf_len);
	c->buf_len = c->head_len = c->body_want = 0;
	c->head_scanned = c->line_start = 0;
	c->expect_continue = 0;
	c->close_after = 0;
	c->http10 = 0;
	c->head_only = 0;
	c->discard = 0;
	http_conn_deadline(c, 0);
	if (c->buf_cap > 1024 * 1024) {
		free(c->buf);
		c->buf = NULL;
		c->buf_cap = 0;
	}
}

/*
 * Find the end of the head in the input, checking as it comes that every
 * CR is followed by LF and every LF preceded by CR (RFC 9112 2.2: a bare
 * one is refused here, at once). Returns the head's length, or 0 while it
 * is incomplete or when it was refused (*refused set, the answer sent).
 */
static size_t
http_head_end(struct http_conn *c, struct evbuffer *in, int *refused)
{
	size_t		 len = evbuffer_get_length(in), i, n;
	size_t		 max = c->server->cfg->max_headers;
	unsigned char	*p;
	uint64_t	 w;

	n = len < max ? len : max;
	p = evbuffer_pullup(in, n);
	for (i = c->head_scanned; i < n; i++) {
		/* Eight at a time past bytes that are neither CR nor LF. */
		while (n - i >= 8 && !swar_has_byte(w = swar_load(p + i),
		    '\r') && !swar_has_byte(w, '\n'))
			i += 8;
		if (i == n)
			break;
		if (p[i] == '\n') {
			http_conn_fail(c, 400, "bare LF in the request head");
			return *refused = 1, 0;
		}
		if (p[i] != '\r')
			continue;
		if (i + 1 == n)
			break;		/* its LF has not come yet */
		if (p[i + 1] != '\n') {
			http_conn_fail(c, 400, "bare CR in the request head");
			return *refused = 1, 0;
		}
		if (i == c->line_start)
			return i + 2;	/* the blank line */
		c->line_start = i + 2;
		i++;
	}
	c->head_scanned = i;
	if (len >= max) {
		http_conn_fail(c, 431, "request header too large");
		return *refused = 1, 0;
	}
	return 0;
}

/*
 * Hand the parsed head to the head handler. HTTP_HEAD_BODY: the body is
 * to be read; HTTP_HEAD_TAKEN: the handler answered or will.
 */
static enum http_head_result
http_conn_head(struct http_conn *c)
{
	struct http_server	*srv = c->server;
	enum http_state		 next = c->state;
	enum http_head_result	 rc;

	c->state = HTTP_HANDLING;
	srv->busy++;
	rc = srv->head(&c->req, srv->arg);
	if (c->state != HTTP_HANDLING)
		return HTTP_HEAD_TAKEN;		/* answered */
	if (rc == HTTP_HEAD_TAKEN)
		return HTTP_HEAD_TAKEN;		/* answered later */
	c->state = next;
	srv->busy--;
	return HTTP_HEAD_BODY;
}

static int
http_read_head(struct http_conn *c, struct evbuffer *in)
{
	struct http_server	*srv = c->server;
	size_t			 len, n;
	const char		*why = NULL;
	unsigned char		*p;
	int			 status, refused = 0;

	if (evbuffer_get_length(in) == 0)
		return 0;
	/*
	 * The first byte of a request on a kept-alive connection, a blank
	 * line before it too (or CR LF now and then would hold it): due now.
	 */
	if (!evtimer_pending(c->deadline, NULL))
		http_conn_deadline(c, srv->cfg->head_timeout_ms);
	/* RFC 9112 2.2: ignore empty lines before a request line. */
	while (c->head_scanned == 0 && evbuffer_get_length(in) >= 2) {
		p = evbuffer_pullup(in, 2);
		if (p[0] != '\r' || p[1] != '\n')
			break;
		evbuffer_drain(in, 2);
	}
	if (evbuffer_get_length(in) == 0)
		return 0;
	if ((len = http_head_end(c, in, &refused)) == 0)
		return refused ? -1 : 0;
	memset(&c->req, 0, sizeof(c->req));
	c->req.conn = c;
	c->req.internal_domain = c->internal[0] != '\0' ? c->internal : NULL;
	c->req.head_ms = http_mono_ms();
	if (c->sticky != NULL)
		c->sticky->len = 0;
	c->head_len = len;
	c->buf_len = 0;
	c->head_scanned = c->line_start = 0;
	/* Room for what came with the head too: a small body, all of it. */
	n = evbuffer_get_length(in) - len;
	http_conn_reserve(c, len + (n < HTTP_BUF_ROUND * 4 ? n + 1 : 0));
	evbuffer_remove(in, c->buf, c->head_len);
	c->buf_len = c->head_len;
	if ((status = http_parse_head(c, &why)) != 0) {
		http_conn_fail(c, status, why);
		return -1;
	}
	http_conn_deadline(c, 0);
	c->head_only = http_method_is(&c->req, "HEAD");
	/* Until the handler wants the body, what follows the head is none. */
	c->discard = c->state == HTTP_READ_CHUNKED || c->body_want > 0;
	if (srv->head != NULL && http_conn_head(c) == HTTP_HEAD_TAKEN) {
		if (c->discard)
			evbuffer_drain(in, evbuffer_get_length(in));
		if (c->state == HTTP_HANDLING)	/* answered later */
			http_conn_timeouts(c, 0);
		return 1;
	}
	c->discard = 0;
	http_conn_deadline(c, srv->cfg->body_timeout_ms);
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
	http_conn_deadline(c, 0);
	http_conn_reserve(c, 1);
	c->buf[c->buf_len] = '\0';
	c->req.body = c->buf + c->head_len;
	c->req.body_len = c->buf_len - c->head_len;
	c->req.on_abort = NULL;
	c->req.on_drain = NULL;
	c->state = HTTP_HANDLING;
	c->server->busy++;
	http_conn_timeouts(c, 0);
	c->server->handler(&c->req, c->server->arg);
}

/* Input that is no request (a refused body, leftovers): never kept. */
static void
http_conn_drop_input(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
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
		if (c->discard) {
			http_conn_drop_input(c);
			break;
		}
		/*
		 * A pipelined request waits its turn; stop reading (and so
		 * watching for hang-up) once more than a head has come: its
		 * body is not wanted before the head is decided on.
		 */
		if (evbuffer_get_length(bufferevent_get_input(bev)) >
		    srv->cfg->max_headers)
			http_conn_reading(c, 0);
		break;
	}
}

static void
http_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;
	unsigned long		 e;
	char			 ebuf[160];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {	/* the TLS handshake is done */
		c->handshaken = 1;
		return;
	}
	if (c->ssl != NULL && !c->handshaken) {
		/* Counted, never traced, never fatal: scanners do this. */
		atomic_fetch_add(&http_counters.tls_failed, 1);
		ebuf[0] = '\0';
		/* libevent queues SSL_get_error() codes too: keep a reason. */
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			if (ERR_GET_REASON(e) > 0xff || ebuf[0] == '\0')
				ERR_error_string_n(e, ebuf, sizeof(ebuf));
		ERR_clear_error();
		log_debug("http: TLS handshake failed%s%s", ebuf[0] ? ": " :
		    "", ebuf);
		http_conn_free(c);
		return;
	}
	if (c->ssl != NULL) {
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		ERR_clear_error();
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->state == HTTP_READ_HEAD &&
	    c->buf_len == 0)
		log_debug("http: idle connection closed");
	else if (what & BEV_EVENT_TIMEOUT)
		log_debug("http: client timed out");
	/* EOF, error or timeout: the connection is over either way. */
	http_conn_abort(c);
}

/*
 * Closing with input that may still come (a body not read, a request
 * refused mid-way): send our FIN and read, dropping what comes, until the
 * client's, so that the close is not a reset that could destroy the reply
 * on its way. The closing deadline, armed with the reply, bounds it.
 */
static void
http_conn_close_lingering(struct http_conn *c)
{
	c->state = HTTP_CLOSING;
	if (c->ssl != NULL && c->handshaken) {
		SSL_shutdown(c->ssl);	/* close_notify, then our FIN */
		ERR_clear_error();
	}
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_setcb(c->bev, http_conn_read, NULL, http_conn_event, c);
	http_conn_reading(c, 1);
	if (!evtimer_pending(c->deadline, NULL))
		http_conn_deadline(c, HTTP_CLOSE_MS);
	http_conn_drop_input(c);
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
	if (c->discard) {
		http_conn_close_lingering(c);
		return;
	}
	if (!c->req.keep_alive || c->close_after || c->server->draining) {
		http_conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, http_conn_read, NULL, http_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	http_conn_reset(c);
	http_conn_timeouts(c, 1);
	http_conn_reading(c, 1);
	http_conn_process(c);
}

/*
 * Whether a plain TCP reply (TLS is http_conn_add_tls()'s) may go
 * straight to the socket: writing on, nothing queued before it. A reply
 * or a stream event that fits the socket's buffer then costs one writev,
 * where the bufferevent alone costs two epoll_ctl (watch for writable,
 * stop) and a loop pass. A failed write leaves the bytes to the
 * bufferevent, which meets the same error and reports it.
 */
static int
http_conn_direct(struct http_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    (bufferevent_get_enabled(c->bev) & EV_WRITE) != 0;
}

/*
 * last: the reply is complete, so the write callback must run even when
 * nothing is left queued; on the next loop pass, never from here.
 */
static void
http_conn_sent(struct http_conn *c, int last)
{
	if (last && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		bufferevent_trigger(c->bev, EV_WRITE,
		    BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * Over TLS, n pieces as one: the bufferevent writes at each evbuffer_add()
 * (a TLS record and a write(2) for each), so a reply's head and body went
 * as two of each, and a stream event's pieces as up to three.
 */
static void
http_conn_add_tls(struct evbuffer *out, const struct iovec *iov, int n)
{
	struct evbuffer_iovec	 v;
	size_t			 total = 0, at = 0;
	int			 i;

	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (total == 0)
		return;
	if (evbuffer_reserve_space(out, (ev_ssize_t)total, &v, 1) != 1 ||
	    v.iov_len < total) {
		/* No block that large: piece by piece, as they are. */
		for (i = 0; i < n; i++)
			evbuffer_add(out, iov[i].iov_base, iov[i].iov_len);
		return;
	}
	for (i = 0; i < n; i++) {
		memcpy((char *)v.iov_base + at, iov[i].iov_base,
		    iov[i].iov_len);
		at += iov[i].iov_len;
	}
	v.iov_len = total;
	evbuffer_commit_space(out, &v, 1);
}

/* Send n pieces: no copy, no allocation when the socket takes them all. */
static void
http_conn_sendv(struct http_conn *c, const struct iovec *iov, int n,
    int last)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	ssize_t		 w = 0;
	size_t		 skip;
	int		 i;

	if (c->ssl != NULL) {
		http_conn_add_tls(out, iov, n);
		http_conn_sent(c, last);
		return;
	}
	if (n > 0 && http_conn_direct(c) &&
	    (w = writev(bufferevent_getfd(c->bev), iov, n)) == -1)
		w = 0;
	for (i = 0; i < n; i++) {
		skip = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
		w -= (ssize_t)skip;
		if (skip < iov[i].iov_len)
			evbuffer_add(out, (const char *)iov[i].iov_base + skip,
			    iov[i].iov_len - skip);
	}
	http_conn_sent(c, last);
}

/* --- reply fields -------------------------------------------------------- */

/* Fields the server writes itself: never taken from anyone else. */
#define HTTP_OWNED(name)	{ name, sizeof(name) - 1 }
static const struct {
	const char	*name;
	size_t		 len;
} http_fields_owned[] = {
	HTTP_OWNED("connection"), HTTP_OWNED("content-length"),
	HTTP_OWNED("content-type"), HTTP_OWNED("date"),
	HTTP_OWNED("keep-alive"), HTTP_OWNED("proxy-connection"),
	HTTP_OWNED("te"), HTTP_OWNED("trailer"),
	HTTP_OWNED("transfer-encoding"), HTTP_OWNED("upgrade"),
	HTTP_OWNED("x-request-id"),
};

/*
 * A field value's bytes are all visible ASCII, space or tab. Eight at a
 * time where they are plain (no byte below 0x20 or above 0x7e): a
 * backend's relayed values may be long.
 */
static int
http_value_printable(const char *v, size_t len)
{
	uint64_t	w;
	size_t		i, end;
	unsigned char	c;

	for (i = 0; i < len; i = end) {
		end = i + 8 <= len ? i + 8 : len;
		if (end - i == 8) {
			w = swar_load(v + i);
			/* No byte < 0x20 and none > 0x7e: all eight pass. */
			if ((((w - SWAR_ONES * 0x20) | (w + SWAR_ONES)) &
			    SWAR_HIGHS) == 0)
				continue;
		}
		for (; i < end; i++) {
			c = (unsigned char)v[i];
			if (c != '\t' && (c < ' ' || c >= 0x7f))
				return 0;
		}
	}
	return 1;
}

void
http_fields_init(struct http_fields *f)
{
	f->len = 0;
}

/* "name: value" CR LF at the end of f, when it has room. */
static int
http_fields_put(struct http_fields *f, const char *name, size_t name_len,
    const char *value, size_t value_len)
{
	if (f->len + name_len + value_len + 4 > sizeof(f->buf))
		return -1;
	memcpy(f->buf + f->len, name, name_len);
	f->len += name_len;
	memcpy(f->buf + f->len, ": ", 2);
	f->len += 2;
	memcpy(f->buf + f->len, value, value_len);
	f->len += value_len;
	memcpy(f->buf + f->len, "\r\n", 2);
	f->len += 2;
	return 0;
}

int
http_fields_add(struct http_fields *f, const char *name, size_t name_len,
    const char *value, size_t value_len)
{
	size_t	i;

	if (name_len == 0 || name_len > HTTP_FIELD_NAME_MAX)
		return -1;
	for (i = 0; i < name_len; i++)
		if (!http_is_tchar(name[i]))
			return -1;
	for (i = 0; i < sizeof(http_fields_owned) /
	    sizeof(http_fields_owned[0]); i++)
		if (name_len == http_fields_owned[i].len &&
		    strncasecmp(name, http_fields_owned[i].name, name_len) == 0)
			return -1;
	while (value_len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		value_len--;
	}
	while (value_len > 0 && (value[value_len - 1] == ' ' ||
	    value[value_len - 1] == '\t'))
		value_len--;
	if (value_len > HTTP_FIELD_VALUE_MAX ||
	    !http_value_printable(value, value_len))
		return -1;
	return http_fields_put(f, name, name_len, value, value_len);
}

int
http_fields_add_own(struct http_fields *f, const char *name,
    const char *value, size_t value_len)
{
	return http_fields_put(f, name, strlen(name), value, value_len);
}

int
http_fields_addf(struct http_fields *f, const char *name, const char *fmt,
    ...)
{
	char	value[HTTP_FIELD_VALUE_MAX + 1];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value))
		return -1;
	return http_fields_add(f, name, strlen(name), value, n);
}

int
http_request_field(struct http_request *r, const char *name,
    const char *value, size_t n)
{
	if (r->conn->sticky == NULL) {
		r->conn->sticky = xmalloc(sizeof(*r->conn->sticky));
		http_fields_init(r->conn->sticky);
	}
	return http_fields_add_own(r->conn->sticky, name, value, n);
}

/* "Name: value\r\n" lines (the last CR LF may be missing) into f. */
static void
http_fields_parse(struct http_fields *f, const char *s)
{
	const char	*eol, *colon;

	for (; *s != '\0'; s = eol + (*eol != '\0' ? 2 : 0)) {
		if ((eol = strstr(s, "\r\n")) == NULL)
			eol = s + strlen(s);
		if ((colon = memchr(s, ':', eol - s)) == NULL ||
		    http_fields_add(f, s, colon - s, colon + 1,
		    eol - colon - 1) == -1)
			log_warnx("%s: reply field dropped: %.*s", __func__,
			    (int)(eol - s > 64 ? 64 : eol - s), s);
	}
}

/* RFC 9110 8.3.1: type "/" subtype *( OWS ";" OWS [ parameter ] ). */
int
http_media_type_valid(const char *s)
{
	const char	*p = s, *start;
	size_t		 len = strnlen(s, HTTP_CTYPE_MAX + 1);

	if (len == 0 || len > HTTP_CTYPE_MAX)
		return 0;
	for (start = p; http_is_tchar(*p); p++)
		;
	if (p == start || *p++ != '/')
		return 0;
	for (start = p; http_is_tchar(*p); p++)
		;
	if (p == start)
		return 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 1;
		if (*p++ != ';')
			return 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == ';')
			continue;
		for (start = p; http_is_tchar(*p); p++)
			;
		if (p == start || *p++ != '=')
			return 0;
		if (*p != '"') {
			for (start = p; http_is_tchar(*p); p++)
				;
			if (p == start)
				return 0;
			continue;
		}
		for (p++; *p != '"'; p++) {
			if (*p == '\\')
				p++;
			if (*p == '\0' || (*p != '\t' &&
			    ((unsigned char)*p < ' ' ||
			    (unsigned char)*p >= 0x7f)))
				return 0;
		}
		p++;
	}
}

/* --- replies ------------------------------------------------------------- */

/*
 * A request's id: 6 bytes of unix milliseconds, big-endian, then 10
 * random. Time first makes the traces' request_id index grow at its end:
 * random ids wrote (and first read) a random page of it per trace, a
 * fifth of the agent's CPU under load. 80 random bits keep ids unique
 * and unguessable; the time is no secret (receipts sign it).
 */
const unsigned char *
http_request_id(struct http_request *r)
{
	uint64_t	ms;
	int		i;

	if (!r->id_made) {
		ms = (uint64_t)trace_now_ms();
		for (i = 5; i >= 0; i--, ms >>= 8)
			r->id[i] = (unsigned char)ms;
		id_random(r->id + 6, sizeof(r->id) - 6);
		r->id_made = 1;
	}
	return r->id;
}

void
http_request_id_hex(struct http_request *r, char hex[HTTP_REQUEST_ID_HEX + 1])
{
	/* No secret (it is sent and logged): a plain table, not sodium's. */
	traceparent_hex(hex, http_request_id(r), HTTP_REQUEST_ID_BYTES);
}

/* A peer's bytes fit for a log line: printable ASCII, at most 64 bytes. */
static void
http_log_safe(char *out, size_t outlen, const char *s, size_t len)
{
	size_t	i;

	if (s == NULL || len == 0) {
		snprintf(out, outlen, "-");
		return;
	}
	for (i = 0; i < len && i < 64 && i + 1 < outlen; i++)
		out[i] = (unsigned char)s[i] > ' ' && s[i] != 0x7f ? s[i] : '?';
	out[i] = '\0';
}

/*
 * A refusal that no trace records, logged with its id so that an operator
 * can find what a client reports; a flood is counted, not logged.
 */
static void
http_log_refusal(struct http_request *r, int status, const char *id)
{
	int_least64_t	now = time(NULL), second;
	char		method[65], path[65];

	second = atomic_load(&http_refusals_second);
	if (second != now && atomic_compare_exchange_strong(
	    &http_refusals_second, &second, now))
		atomic_store(&http_refusals_logged, 0);
	if (atomic_fetch_add(&http_refusals_logged, 1) >=
	    HTTP_REFUSALS_LOGGED) {
		http_log_rated(&http_log_refusals, "http: too many refusals to"
		    " log each");
		return;
	}
	http_log_safe(method, sizeof(method), r->method, r->method_len);
	http_log_safe(path, sizeof(path), r->path, r->path_len);
	log_info("http: %d for %s %s, not traced: x-request-id %s%s%s",
	    status, method, path, id, r->refused != NULL ? ": " : "",
	    r->refused != NULL ? r->refused : "");
}

/*
 * The end of f's line at p: its CR. http_fields_add() let no CR or LF
 * into a name or a value, so the first CR is the line's (memchr is a
 * vector scan; memmem of a two-byte needle is not, and a receipt's line
 * is 900 bytes long).
 */
static const char *
http_fields_eol(const char *p, const char *end)
{
	const char	*cr = memchr(p, '\r', end - p);

	return cr != NULL && end - cr >= 2 && cr[1] == '\n' ? cr : NULL;
}

/* Whether f has a field named name (len bytes, any case). */
static int
http_fields_has(const struct http_fields *f, const char *name, size_t len)
{
	const char	*p = f->buf, *end = f->buf + f->len, *eol;

	for (; p < end; p = eol + 2) {
		if ((eol = http_fields_eol(p, end)) == NULL)
			break;
		if ((size_t)(eol - p) > len && p[len] == ':' &&
		    strncasecmp(p, name, len) == 0)
			return 1;
	}
	return 0;
}

/* f's lines into out, but those the request's own (sticky) fields name. */
static void
http_fields_write(struct textbuf *out, const struct http_fields *f,
    const struct http_fields *sticky)
{
	const char	*p = f->buf, *end = f->buf + f->len, *eol, *colon;

	if (sticky == NULL || sticky->len == 0) {
		textbuf_put(out, f->buf, f->len);
		return;
	}
	for (; p < end; p = eol + 2) {
		if ((eol = http_fields_eol(p, end)) == NULL)
			break;
		colon = memchr(p, ':', eol - p);
		if (colon == NULL || !http_fields_has(sticky, p, colon - p))
			textbuf_put(out, p, eol + 2 - p);
	}
}

/* Milliseconds on the monotonic clock. */
static int64_t
http_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * RFC 9110 5.6.7 IMF-fixdate of t ("Sun, 06 Nov 1994 08:49:37 GMT") into
 * out (HTTP_DATE_LEN + 1 bytes); independent of the locale.
 */
void
http_date_format(time_t t, char out[HTTP_DATE_LEN + 1])
{
	static const char *const	 days[] = { "Sun", "Mon", "Tue", "Wed",
					    "Thu", "Fri", "Sat" };
	static const char *const	 months[] = { "Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug", "Sep",
					    "Oct", "Nov", "Dec" };
	struct tm			 tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		memset(&tm, 0, sizeof(tm));	/* not reachable from now */
	snprintf(out, HTTP_DATE_LEN + 1, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Now as an IMF-fixdate, formatted once a second per thread: no lock. */
static const char *
http_date_now(void)
{
	static __thread time_t	 last = -1;
	static __thread char	 date[HTTP_DATE_LEN + 1];
	time_t			 now = time(NULL);

	if (now != last) {
		http_date_format(now, date);
		last = now;
	}
	return date;
}

/* The status line to the reason, Date, id, framing, processing time. */
#define HTTP_HEAD_FIXED	512
_Static_assert(HTTP_HEAD_OWN >= HTTP_HEAD_FIXED + HTTP_CTYPE_MAX +
    CORS_ORIGIN_MAX + sizeof(CORS_EXPOSE_HEADERS) + 96,
    "HTTP_HEAD_OWN holds every piece of an own head");

/*
 * Status line, fields and the blank line into the server's head buffer;
 * returns it as one piece to send. Only the own part could ever be cut
 * (by a bug: every piece of it is bounded, HTTP_HEAD_OWN).
 */
static struct iovec
http_write_head(struct http_request *r, int status, const char *ctype,
    const char *framing, const struct http_fields *fields)
{
	struct http_conn	*c = r->conn;
	char			 id[HTTP_REQUEST_ID_HEX + 1];
	struct textbuf		 h;
	struct iovec		 v;

	if (status < 100 || status > 599) {
		log_warnx("%s: status %d replaced by 500", __func__, status);
		status = 500;
	}
	http_request_id_hex(r, id);
	if (status >= 400 && !r->traced)
		http_log_refusal(r, status, id);
	if (ctype == NULL || !http_media_type_valid(ctype)) {
		log_debug("http: Content-Type replaced by application/json");
		ctype = "application/json";
	}
	if (!r->keep_alive || c->server->draining || c->discard)
		c->close_after = 1;
	textbuf_init(&h, c->server->reply_head, HTTP_HEAD_OWN + 1);
	textbuf_lit(&h, "HTTP/1.1 ");
	textbuf_u64(&h, (uint64_t)status);
	textbuf_lit(&h, " ");
	textbuf_str(&h, http_reason(status));
	textbuf_lit(&h, "\r\nDate: ");
	textbuf_str(&h, http_date_now());
	textbuf_lit(&h, "\r\nContent-Type: ");
	textbuf_str(&h, ctype);
	textbuf_lit(&h, "\r\nx-request-id: ");
	textbuf_put(&h, id, HTTP_REQUEST_ID_HEX);
	textbuf_lit(&h, "\r\n");
	textbuf_str(&h, framing);
	if (c->close_after)
		textbuf_lit(&h, "Connection: close\r\n");
	if (r->timed) {
		textbuf_lit(&h, "openai-processing-ms: ");
		textbuf_i64(&h, http_mono_ms() - r->head_ms);
		textbuf_lit(&h, "\r\n");
	}
	if (r->cors_origin != NULL) {
		textbuf_lit(&h, "Access-Control-Allow-Origin: ");
		textbuf_put(&h, r->cors_origin, r->cors_origin_len);
		textbuf_lit(&h, "\r\nVary: Origin\r\n"
		    "Access-Control-Expose-Headers: " CORS_EXPOSE_HEADERS
		    "\r\n");
	}
	if (h.over)	/* cannot be: every piece is bounded (HTTP_HEAD_OWN) */
		log_warnx("%s: the head was cut", __func__);
	h.cap = sizeof(c->server->reply_head);	/* the rest: fields */
	h.over = 0;
	if (c->sticky != NULL)
		textbuf_put(&h, c->sticky->buf, c->sticky->len);
	if (fields != NULL)
		http_fields_write(&h, fields, c->sticky);
	textbuf_lit(&h, "\r\n");
	/* Closing on a client that sends what it should not: not for long. */
	if (c->discard)
		http_conn_deadline(c, HTTP_CLOSE_MS);
	v.iov_base = h.s;
	v.iov_len = h.len;
	return v;
}

void
http_reply_fields(struct http_request *r, int status, const char *ctype,
    const void *body, size_t len, const struct http_fields *fields)
{
	struct http_conn	*c = r->conn;
	char			 framing[64];
	struct textbuf		 f;
	struct iovec		 iov[2];

	/* RFC 9110 8.6: no Content-Length in a 204. */
	textbuf_init(&f, framing, sizeof(framing));
	if (status != 204) {
		textbuf_lit(&f, "Content-Length: ");
		textbuf_u64(&f, len);
		textbuf_lit(&f, "\r\n");
	}
	iov[0] = http_write_head(r, status, ctype, framing, fields);
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	r->on_abort = NULL;
	r->on_drain = NULL;
	c->state = HTTP_FLUSHING;
	bufferevent_setcb(c->bev, http_conn_read, http_conn_write,
	    http_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	http_conn_sendv(c, iov, len > 0 && !c->head_only ? 2 : 1, 1);
	explicit_bzero(iov[0].iov_base, iov[0].iov_len);
}

void
http_reply(struct http_request *r, int status, const char *ctype,
    const void *body, size_t len, const char *extra)
{
	struct http_fields	f;

	http_fields_init(&f);
	if (extra != NULL)
		http_fields_parse(&f, extra);
	http_reply_fields(r, status, ctype, body, len, &f);
}

void
http_stream_start_fields(struct http_request *r, int status,
    const char *ctype, const struct http_fields *fields)
{
	struct http_conn	*c = r->conn;
	struct iovec		 head;

	/* HTTP/1.0 knows no chunks: the close ends the body (RFC 9112 6.1). */
	if (c->http10)
		c->close_after = 1;
	head = http_write_head(r, status, ctype, c->http10 ?
	    "Cache-Control: no-cache\r\n" :
	    "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n",
	    fields);
	c->state = HTTP_STREAMING;
	bufferevent_setwatermark(c->bev, EV_WRITE, HTTP_STREAM_LOW_WATER, 0);
	bufferevent_setcb(c->bev, http_conn_read, http_conn_write,
	    http_conn_event, c);
	http_conn_sendv(c, &head, 1, 0);
	explicit_bzero(head.iov_base, head.iov_len);
}

void
http_stream_start(struct http_request *r, int status, const char *ctype)
{
	http_stream_start_fields(r, status, ctype, NULL);
}

size_t
http_stream_write(struct http_request *r, const void *data, size_t len)
{
	struct http_conn	*c = r->conn;
	struct iovec		 iov[3];
	char			 size[24];
	struct textbuf		 sz;

	if (len == 0 || c->head_only)
		return evbuffer_get_length(bufferevent_get_output(c->bev));
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	if (c->http10)
		http_conn_sendv(c, &iov[1], 1, 0);
	else {
		textbuf_init(&sz, size, sizeof(size));
		textbuf_hex(&sz, len);
		textbuf_lit(&sz, "\r\n");
		iov[0].iov_base = size;
		iov[0].iov_len = sz.len;
		iov[2].iov_base = (void *)(uintptr_t)"\r\n";
		iov[2].iov_len = 2;
		http_conn_sendv(c, iov, 3, 0);
	}
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void
http_stream_end(struct http_request *r)
{
	struct http_conn	*c = r->conn;
	struct iovec		 end = { (void *)(uintptr_t)"0\r\n\r\n", 5 };

	r->on_abort = NULL;
	r->on_drain = NULL;
	c->state = HTTP_FLUSHING;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	http_conn_sendv(c, &end, !c->http10 && !c->head_only ? 1 : 0, 1);
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

int
http_method_is(const struct http_request *r, const char *m)
{
	return r->method != NULL && strlen(m) == r->method_len &&
	    memcmp(r->method, m, r->method_len) == 0;
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

void
http_server_set_head(struct http_server *srv, http_head_handler head)
{
	srv->head = head;
}

void
http_server_set_error_body(struct http_server *srv, http_error_body fn)
{
	srv->error_body = fn;
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
		if (c->state == HTTP_CLOSING || (c->state == HTTP_READ_HEAD &&
		    c->buf_len == 0 &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0))
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
