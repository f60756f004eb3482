/*
 * Requests to LLM backends. A backend named by its IP address (or
 * localhost) over plain HTTP goes to the agent's own client (upstream-h1.c)
 * unless upstream_own_client_off() says otherwise; the rest here, through
 * libcurl's multi interface driven by the worker's event_base (curl's
 * sockets and timer become libevent events).
 * Easy handles are reused, so connections to a backend stay warm. Runs on
 * each worker's loop. A backend's answer is untrusted: we ask for no
 * content coding, let libcurl decode gzip and deflate that come anyway,
 * and pass on only the headers upstream-header.c lets through. When this
 * machine runs out of descriptors or memory, that is said as such, never
 * blamed on the backend.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "upstream-h1.h"
#include "xmalloc.h"

#define UPSTREAM_IDLE_MAX	256	/* transfers kept for reuse */

/*
 * libcurl 7.88 walks every connection of a multi handle in three places:
 * looking for an idle one to reuse (all connections to that backend, in
 * use or not), when a transfer leaves the handle (all of them, for its
 * last connection's id), and when there are more than CURLMOPT_MAXCONNECTS;
 * and it finds a socket in a hash of 911 chains. At 10,000 open streams
 * those were a third of the worker's CPU and the tail of every stream's
 * latency. So a worker spreads its transfers over shards, multi handles
 * of at most UPSTREAM_SHARD_TRANSFERS transfers each, with their own
 * connections: every walk is then over a few hundred at most.
 */
#define UPSTREAM_SHARD_TRANSFERS	256

struct upstream_shard {
	struct upstream_pool	*pool;
	CURLM			*multi;
	struct event		*timer;
	/*
	 * Sockets curl holds open and transfers in the multi handle: when
	 * the first are no more than the second, no connection is idle.
	 */
	size_t			 sockets;
	size_t			 running;
	long			 maxconnects;
};

struct upstream_pool {
	struct event_base		*base;
	const struct agent_config	*cfg;
	struct h1_pool			*h1;	/* plain HTTP to addresses */
	struct upstream_shard		**shards;	/* at least one */
	size_t				 nshards;
	struct upstream			**idle;		/* reusable transfers */
	size_t				 nidle;
	size_t				 idle_cap;
	/* libevent's common timeouts for the durations transfers use. */
	struct {
		int			 ms;
		const struct timeval	*tv;
	}				 common[2];
};

/*
 * A transfer. Finished ones wait in their pool's idle list with their easy
 * handle (connections stay warm) and their timer (its storage follows the
 * struct, assigned once), so a request allocates neither.
 */
struct upstream {
	int			 kind;		/* UPSTREAM_KIND_CURL: first */
	struct upstream_pool	*pool;
	struct upstream_shard	*shard;		/* its multi handle's, or NULL */
	CURL			*easy;		/* NULL: curl_easy_init failed */
	struct event		*timer;		/* first byte, then idle */
	const struct upstream_cb *cb;
	void			*arg;
	struct curl_slist	 headers[4];	/* + the caller's auth node */
	/* The W3C trace context's lines, copied: no allocation per request. */
	char			 traceparent[sizeof("traceparent: ") +
				    TRACEPARENT_LEN];
	char			 tracestate[sizeof("tracestate: ") +
				    TRACESTATE_MAX];
	int			 got_response;	/* the final head is in */
	int			 told_response;	/* on_response ran */
	int			 paused;
	int			 socket_errno;	/* why socket() failed, or 0 */
	CURLcode		 failed;	/* could not start: finish with it */
	/* The head of the answer being read, as on_response will see it. */
	struct upstream_response resp;
	struct upstream_head	 head;
	char			 errbuf[CURL_ERROR_SIZE];
};

#define UPSTREAM_FD_HEADROOM	16

/*
 * Our socket bookkeeping, attached to curl's socket with curl_multi_assign:
 * its event's storage follows it, assigned again when curl changes what it
 * waits for, so a keep-alive connection costs one allocation in its life.
 */
struct upstream_sock {
	struct event		*ev;
	int			 added;		/* ev is pending */
};

/* curl keeps pointers to these; they are never written. */
static char	upstream_hdr_ctype[] = "Content-Type: application/json";
static char	upstream_hdr_expect[] = "Expect:";

static void	upstream_finish(struct upstream *, CURLcode);

/*
 * Every transfer's timer is re-armed at each piece of its answer, with one
 * of two durations (first byte, idle). As libevent common timeouts those
 * are a queue append each; as plain timers, a sift in a heap of every open
 * stream's timers, about a twentieth of the worker's CPU at 10,000 streams.
 * Any other duration (0), or one libevent has no room for, is plain.
 */
static void
upstream_timer_arm(struct upstream *u, int ms)
{
	struct upstream_pool	*pool = u->pool;
	struct timeval		 tv = { ms / 1000, (ms % 1000) * 1000 };
	const struct timeval	*at = &tv;
	int			 slot = -1;

	if (ms == pool->cfg->first_byte_timeout_ms)
		slot = 0;
	else if (ms == pool->cfg->idle_timeout_ms)
		slot = 1;
	if (ms > 0 && slot >= 0 && (at = upstream_common_timeout(pool->base,
	    ms, &pool->common[slot].ms, &pool->common[slot].tv)) == NULL)
		at = &tv;
	evtimer_add(u->timer, at);
}

const struct timeval *
upstream_common_timeout(struct event_base *base, int ms, int *slot_ms,
    const struct timeval **slot_tv)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	/* A reload may have changed it: libevent keeps the old one. */
	if (*slot_ms != ms || *slot_tv == NULL) {
		*slot_ms = ms;
		*slot_tv = event_base_init_common_timeout(base, &tv);
	}
	return *slot_tv;
}

/* Hand finished transfers to their owners. */
static void
upstream_check_done(struct upstream_shard *shard)
{
	CURLMsg		*msg;
	struct upstream	*u;
	int		 left;

	while ((msg = curl_multi_info_read(shard->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &u);
		upstream_finish(u, msg->data.result);
	}
}

static void
upstream_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_shard	*shard = arg;
	int			 running, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(shard->multi, fd, action, &running);
	upstream_check_done(shard);
}

static void
upstream_timer_event(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_shard	*shard = arg;
	int			 running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(shard->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	upstream_check_done(shard);
}

/*
 * This machine could not watch a transfer's socket (out of memory, or
 * epoll would take no more): that transfer ends as a local failure on the
 * next loop pass, never in curl's callback. Returning -1 to curl instead
 * would fail every transfer of the worker (libcurl marks the whole multi
 * handle dead), streams of other clients included.
 */
static void
upstream_socket_failed(CURL *easy, int e)
{
	struct upstream	*u = NULL;

	if (easy == NULL || curl_easy_getinfo(easy, CURLINFO_PRIVATE, &u) !=
	    CURLE_OK || u == NULL || u->failed != CURLE_OK)
		return;
	log_warnx("upstream: cannot watch a backend's socket: %s",
	    strerror(e));
	u->failed = CURLE_OUT_OF_MEMORY;
	u->socket_errno = e;
	upstream_timer_arm(u, 0);
}

/* CURLMOPT_SOCKETFUNCTION: watch what curl wants on its sockets. */
static int
upstream_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct upstream_shard	*shard = userp;
	struct upstream_sock	*us = socketp;
	short			 kind;

	if (what == CURL_POLL_REMOVE) {
		if (us != NULL) {
			if (us->added)
				event_del(us->ev);
			free(us);
			curl_multi_assign(shard->multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (us == NULL) {
		us = calloc(1, sizeof(*us) + event_get_struct_event_size());
		if (us == NULL) {
			upstream_socket_failed(easy, ENOMEM);
			return 0;
		}
		us->ev = (struct event *)(us + 1);
		if (curl_multi_assign(shard->multi, s, us) != CURLM_OK) {
			free(us);
			upstream_socket_failed(easy, ENOMEM);
			return 0;
		}
	} else if (us->added) {
		event_del(us->ev);
		us->added = 0;
	}
	if (event_assign(us->ev, shard->pool->base, s, kind,
	    upstream_socket_event, shard) == -1 ||
	    event_add(us->ev, NULL) == -1) {
		upstream_socket_failed(easy, errno != 0 ? errno : ENOMEM);
		return 0;
	}
	us->added = 1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int
upstream_timer_cb(CURLM *multi, long ms, void *userp)
{
	struct upstream_shard	*shard = userp;
	struct timeval		 tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(shard->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(shard->timer, &tv);
	return 0;
}

/*
 * How many connections curl keeps, in use or idle. Past it, each transfer
 * that ends makes curl 7.88 walk all of them for the oldest idle one to
 * close, so it is never below what this agent lets clients hold open
 * (each holds at most one backend connection); curl closes idle ones
 * after two minutes unused anyway. max-connections can change on SIGHUP.
 */
static void
upstream_maxconnects(struct upstream_shard *shard)
{
	int	n = shard->pool->cfg->max_connections;
	long	want = n <= 0 ? 0L : n > 1024 ? (long)n : 1024L; /* 0: none */

	if (want != shard->maxconnects) {
		shard->maxconnects = want;
		curl_multi_setopt(shard->multi, CURLMOPT_MAXCONNECTS, want);
	}
}

static void
upstream_shard_free(struct upstream_shard *shard)
{
	if (shard == NULL)
		return;
	if (shard->multi != NULL)
		curl_multi_cleanup(shard->multi);
	if (shard->timer != NULL)
		event_free(shard->timer);
	free(shard);
}

/* A multi handle and its timer; NULL when this machine is out of memory. */
static struct upstream_shard *
upstream_shard_new(struct upstream_pool *pool)
{
	struct upstream_shard	*shard;

	if ((shard = calloc(1, sizeof(*shard))) == NULL)
		return NULL;
	shard->pool = pool;
	if ((shard->multi = curl_multi_init()) == NULL ||
	    (shard->timer = evtimer_new(pool->base, upstream_timer_event,
	    shard)) == NULL) {
		upstream_shard_free(shard);
		return NULL;
	}
	curl_multi_setopt(shard->multi, CURLMOPT_SOCKETFUNCTION,
	    upstream_socket_cb);
	curl_multi_setopt(shard->multi, CURLMOPT_SOCKETDATA, shard);
	curl_multi_setopt(shard->multi, CURLMOPT_TIMERFUNCTION,
	    upstream_timer_cb);
	curl_multi_setopt(shard->multi, CURLMOPT_TIMERDATA, shard);
	upstream_maxconnects(shard);
	return shard;
}

/*
 * The shard for a new transfer: one with room that may hold an idle
 * connection, else the first with room (so few shards fill), else a new
 * one. A shard's idle connection may be to another backend, so room is
 * asked of both: no shard grows past its size while others have room.
 * When no shard can be made, the last takes it over its size: slower,
 * never an error; NULL when there is none. The first is made by the
 * first transfer, so a worker whose backends all take the own client
 * never loads libcurl (curl-load.c).
 */
static struct upstream_shard *
upstream_shard_pick(struct upstream_pool *pool)
{
	struct upstream_shard	*shard, *room = NULL, **grown;
	size_t			 i;

	for (i = 0; i < pool->nshards; i++) {
		shard = pool->shards[i];
		if (shard->running >= UPSTREAM_SHARD_TRANSFERS)
			continue;
		if (shard->sockets > shard->running)
			return shard;
		if (room == NULL)
			room = shard;
	}
	if (room != NULL)
		return room;
	if ((shard = upstream_shard_new(pool)) == NULL)
		return pool->nshards > 0 ? pool->shards[pool->nshards - 1] :
		    NULL;
	if ((grown = reallocarray(pool->shards, pool->nshards + 1,
	    sizeof(*grown))) == NULL) {
		upstream_shard_free(shard);
		return pool->nshards > 0 ? pool->shards[pool->nshards - 1] :
		    NULL;
	}
	pool->shards = grown;
	pool->shards[pool->nshards++] = shard;
	return shard;
}

/*
 * Whether the own client takes what it can, for every worker, probe and
 * the registry: set at start (upstream-client is restart-only).
 */
static atomic_int	upstream_own_on = 1;

struct upstream_pool *
upstream_pool_new(struct event_base *base, const struct agent_config *cfg)
{
	struct upstream_pool	*pool = xcalloc(1, sizeof(*pool));

	pool->base = base;
	pool->cfg = cfg;
	if (atomic_load(&upstream_own_on))
		pool->h1 = h1_pool_new(base, cfg);
	return pool;
}

void
upstream_own_client_configure(const struct agent_config *cfg)
{
	atomic_store(&upstream_own_on, upstream_own_client_off(cfg) == NULL);
}

int
upstream_own_client_takes(const char *url)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*a, *path;
	size_t			 alen;

	return atomic_load(&upstream_own_on) &&
	    h1_url_split(url, &ss, &sslen, &a, &alen, &path) == 0;
}

const char *
upstream_own_client_off(const struct agent_config *cfg)
{
	if (cfg->upstream_client != NULL &&
	    strcmp(cfg->upstream_client, "libcurl") == 0)
		return "upstream-client = libcurl";
	/* libcurl honours these for plain HTTP; so does the agent, through it. */
	if (getenv("http_proxy") != NULL || getenv("all_proxy") != NULL ||
	    getenv("ALL_PROXY") != NULL)
		return "a proxy is set in the environment";
	return NULL;
}

void
upstream_pool_free(struct upstream_pool *pool)
{
	size_t	i;

	if (pool == NULL)
		return;
	h1_pool_free(pool->h1);
	for (i = 0; i < pool->nidle; i++) {
		curl_easy_cleanup(pool->idle[i]->easy);
		free(pool->idle[i]);
	}
	free(pool->idle);
	for (i = 0; i < pool->nshards; i++)
		upstream_shard_free(pool->shards[i]);
	free(pool->shards);
	free(pool);
}

/* --- one transfer -------------------------------------------------------- */

/* A line of the answer's head: a status line starts a new one. */
static void
upstream_head_any(struct upstream *u, const char *buf, size_t len)
{
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0)
		upstream_head_reset(&u->head);
	else
		upstream_head_line(&u->head, buf, len);
}

static void
upstream_tell_response(struct upstream *u)
{
	u->told_response = 1;
	u->cb->on_response(u->arg, &u->resp);
}

/*
 * Each header line; the blank line after the final head reports it once.
 * A content-coded answer is reported with its first decoded byte, so that
 * a coding libcurl cannot decode fails before the client sees a status.
 */
static size_t
upstream_header(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream	*u = arg;
	size_t		 len = size * n;
	long		 status = 0;

	if (u->got_response)
		return len;	/* trailers */
	if (len > 2 || (len > 0 && buf[0] != '\r' && buf[0] != '\n')) {
		upstream_head_any(u, buf, len);
		return len;
	}
	curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200) {	/* 100 Continue and friends */
		upstream_head_reset(&u->head);
		return len;
	}
	u->got_response = 1;
	u->resp.status = status;
	u->resp.content_type = u->head.ctype[0] != '\0' ? u->head.ctype :
	    NULL;
	u->resp.relay = u->head.relay;
	u->resp.nrelay = u->head.nrelay;
	upstream_timer_arm(u, u->pool->cfg->idle_timeout_ms);
	if (!u->head.coded)
		upstream_tell_response(u);
	return len;
}

static size_t
upstream_write(char *data, size_t size, size_t n, void *arg)
{
	struct upstream	*u = arg;
	size_t		 len = size * n;

	if (!u->paused)
		upstream_timer_arm(u, u->pool->cfg->idle_timeout_ms);
	if (!u->told_response)
		upstream_tell_response(u);
	if (u->cb->on_data(u->arg, data, len) != 0)
		return 0;	/* CURLE_WRITE_ERROR */
	return len;
}

static void
upstream_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct upstream	*u = arg;

	(void)fd;
	(void)what;
	upstream_finish(u, u->failed != CURLE_OK ? u->failed :
	    CURLE_OPERATION_TIMEDOUT);
}

int
upstream_errno_local(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOBUFS;
}

curl_socket_t
upstream_open_socket(void *arg, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	int		*why = arg;
	curl_socket_t	 s;

	(void)purpose;
	s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	*why = s == -1 ? errno : 0;
	return s == -1 ? CURL_SOCKET_BAD : s;
}

/* A transfer's connection, counted: upstream_start sees when none is idle. */
static curl_socket_t
upstream_transfer_open_socket(void *arg, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	struct upstream	*u = arg;
	curl_socket_t	 s;
	int		 e;

	s = upstream_open_socket(u != NULL ? &u->socket_errno : &e, purpose,
	    a);
	if (s != CURL_SOCKET_BAD && u != NULL && u->shard != NULL)
		u->shard->sockets++;
	return s;
}

/* CURLOPT_CLOSESOCKETDATA is the shard: curl keeps it with the connection. */
static int
upstream_close_socket(void *arg, curl_socket_t s)
{
	struct upstream_shard	*shard = arg;

	if (shard != NULL && shard->sockets > 0)
		shard->sockets--;
	return close(s);
}

/*
 * Is this process short of descriptors? A transfer needs several (its
 * socket, the resolver's pair, a wake-up pair), and a failed one has just
 * given its own back: fewer than UPSTREAM_FD_HEADROOM free is short.
 */
static int
upstream_fds_short(void)
{
	int	fds[UPSTREAM_FD_HEADROOM], n, i, e = 0;

	for (n = 0; n < UPSTREAM_FD_HEADROOM; n++)
		if ((fds[n] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC,
		    0)) == -1) {
			e = errno;
			break;
		}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return upstream_errno_local(e);
}

/*
 * Did a transfer fail because this machine ran short? Its own socket() or
 * connect() says so; a name that would not resolve or a connection that
 * would not open may be the resolver failing for want of a descriptor
 * inside libcurl, which leaves no trace: then ask the machine.
 */
int
upstream_failed_locally(CURL *easy, CURLcode rc, int socket_errno)
{
	long	os_errno = 0;

	if (rc == CURLE_OK)
		return 0;
	if (rc == CURLE_OUT_OF_MEMORY || upstream_errno_local(socket_errno))
		return 1;
	if (rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST)
		return 0;
	/* OS_ERRNO is fresh only for a connect() that failed. */
	if (rc == CURLE_COULDNT_CONNECT && easy != NULL &&
	    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno) ==
	    CURLE_OK && upstream_errno_local((int)os_errno))
		return 1;
	return upstream_fds_short();
}

static CURL *
upstream_easy_new(struct upstream_pool *pool)
{
	CURL	*easy;

	if ((easy = curl_easy_init()) == NULL)
		return NULL;	/* out of memory: the caller answers 503 */
	/* What never changes between transfers is set once per handle. */
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, upstream_write);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, upstream_header);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)pool->cfg->connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/*
	 * "Accept-Encoding: identity", and decode what comes coded anyway
	 * (RFC 9110 allows it): the body is read as plain text.
	 */
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "identity");
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION,
	    upstream_transfer_open_socket);
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION,
	    upstream_close_socket);
	return easy;
}

/*
 * A transfer to fill: an idle one, or a new one with its timer and easy
 * handle (u->easy NULL when curl has no memory for one).
 */
static struct upstream *
upstream_get(struct upstream_pool *pool)
{
	struct upstream	*u;

	if (pool->nidle > 0) {
		u = pool->idle[--pool->nidle];
		u->got_response = u->told_response = u->paused = 0;
		u->socket_errno = 0;
		u->failed = CURLE_OK;
		memset(&u->resp, 0, sizeof(u->resp));
		upstream_head_reset(&u->head);
		u->errbuf[0] = '\0';
		return u;
	}
	u = xcalloc(1, sizeof(*u) + event_get_struct_event_size());
	u->kind = UPSTREAM_KIND_CURL;
	u->pool = pool;
	u->timer = (struct event *)(u + 1);
	if (event_assign(u->timer, pool->base, -1, 0, upstream_timeout,
	    u) == -1)
		fatalx("%s: event_assign", __func__);	/* a bug */
	u->easy = upstream_easy_new(pool);
	return u;
}

/* Keep the transfer for the next; its handle keeps no request state we rely on. */
static void
upstream_put(struct upstream_pool *pool, struct upstream *u)
{
	evtimer_del(u->timer);
	if (u->easy != NULL && pool->nidle == pool->idle_cap &&
	    pool->idle_cap < UPSTREAM_IDLE_MAX) {
		pool->idle_cap = pool->idle_cap ? pool->idle_cap * 2 : 16;
		pool->idle = xreallocarray(pool->idle, pool->idle_cap,
		    sizeof(*pool->idle));
	}
	if (u->easy == NULL || pool->nidle == pool->idle_cap) {
		if (u->easy != NULL)
			curl_easy_cleanup(u->easy);
		free(u);
		return;
	}
	pool->idle[pool->nidle++] = u;
}

struct upstream *
upstream_start(struct upstream_pool *pool, const char *url,
    struct curl_slist *auth, const char *pin, int pin_ca, const char *body,
    size_t len, int stream, const struct upstream_cb *cb, void *arg,
    const struct upstream_trace *tc)
{
	struct upstream		*u;
	struct upstream_shard	*shard;
	struct curl_slist	*last;
	CURL			*easy;
	CURLMcode		 mc;

	if (pin == NULL && (u = h1_start(pool->h1, url, auth, body, len, cb,
	    arg, tc)) != NULL)
		return u;
	u = upstream_get(pool);
	u->cb = cb;
	u->arg = arg;
	u->headers[0].data = upstream_hdr_ctype;
	u->headers[0].next = &u->headers[1];
	u->headers[1].data = upstream_hdr_expect;
	last = &u->headers[1];
	if (tc != NULL) {
		snprintf(u->traceparent, sizeof(u->traceparent),
		    "traceparent: %s", tc->traceparent);
		u->headers[2].data = u->traceparent;
		last = last->next = &u->headers[2];
		if (tc->tracestate != NULL &&
		    tc->tracestate_len <= TRACESTATE_MAX) {
			snprintf(u->tracestate, sizeof(u->tracestate),
			    "tracestate: %.*s", (int)tc->tracestate_len,
			    tc->tracestate);
			u->headers[3].data = u->tracestate;
			last = last->next = &u->headers[3];
		}
	}
	last->next = auth;
	/* Whatever cannot start ends on the next loop pass, never in here. */
	if ((easy = u->easy) == NULL) {
		u->failed = CURLE_OUT_OF_MEMORY;
		upstream_timer_arm(u, 0);
		return u;
	}

	curl_easy_setopt(easy, CURLOPT_URL, url);
	upstream_tls_trust(easy, pin, pin != NULL, pin_ca);
	/*
	 * libcurl allocates the receive buffer when a transfer starts and
	 * frees it (wiped, scrub.c) when it ends: so a stream holds it, and
	 * the wipe makes every page of it resident. Small for streams, whose
	 * events are small; big enough for a whole answer otherwise.
	 */
	curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, stream ?
	    (long)UPSTREAM_STREAM_BUFFER : (long)UPSTREAM_BUFFER);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, u->headers);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, u);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, u);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, u);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, u->errbuf);
	if ((shard = upstream_shard_pick(pool)) == NULL) {
		u->failed = CURLE_OUT_OF_MEMORY;
		upstream_timer_arm(u, 0);
		return u;
	}
	/* A connection outlives its transfer: its close is the shard's. */
	curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, shard);
	/*
	 * When no connection of the shard can be idle, ask for a new one:
	 * curl would walk every connection to the backend to find none. The
	 * new connection joins the shard's cache as any other.
	 */
	curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT,
	    shard->sockets <= shard->running ? 1L : 0L);
	upstream_maxconnects(shard);
	if ((mc = curl_multi_add_handle(shard->multi, easy)) != CURLM_OK) {
		log_warnx("%s: curl_multi_add_handle: %s", __func__,
		    curl_multi_strerror(mc));
		u->failed = CURLE_OUT_OF_MEMORY;
		upstream_timer_arm(u, 0);
		return u;
	}
	u->shard = shard;
	shard->running++;
	upstream_timer_arm(u, pool->cfg->first_byte_timeout_ms);
	return u;
}

/* Detach from curl and keep for reuse; the connection closes if the transfer was cut. */
static void
upstream_release(struct upstream *u)
{
	struct upstream_pool	*pool = u->pool;

	if (u->shard != NULL) {
		u->shard->running--;
		curl_multi_remove_handle(u->shard->multi, u->easy);
		u->shard = NULL;
	}
	if (u->easy != NULL) {
		curl_easy_setopt(u->easy, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(u->easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(u->easy, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(u->easy, CURLOPT_OPENSOCKETDATA, NULL);
		curl_easy_setopt(u->easy, CURLOPT_PRIVATE, NULL);
	}
	upstream_put(pool, u);
}

void
upstream_tls_trust(CURL *easy, const char *pin, int by_evidence, int ca)
{
	long	verify = !by_evidence || ca;

	curl_easy_setopt(easy, CURLOPT_PINNEDPUBLICKEY, pin);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, verify);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
}

/* Told when a pinned backend showed another key: set once, read atomically. */
static void	(*upstream_pin_refused)(void);

void
upstream_on_pin_refused(void (*fn)(void))
{
	__atomic_store_n(&upstream_pin_refused, fn, __ATOMIC_RELEASE);
}

static void
upstream_finish(struct upstream *u, CURLcode rc)
{
	const struct upstream_cb	*cb = u->cb;
	void				*arg = u->arg;
	enum upstream_result		 res;
	char				 why[CURL_ERROR_SIZE + 96];
	int				 e = u->socket_errno;

	why[0] = '\0';
	if (rc == CURLE_OK) {
		res = UPSTREAM_OK;
		/* An empty coded answer: its head is still to be told. */
		if (u->got_response && !u->told_response)
			upstream_tell_response(u);
	} else if (upstream_failed_locally(u->easy, rc, e)) {
		res = UPSTREAM_LOCAL;
		snprintf(why, sizeof(why), "this machine is out of"
		    " resources: %s", e != 0 ? strerror(e) :
		    u->errbuf[0] != '\0' ? u->errbuf : curl_easy_strerror(rc));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		res = UPSTREAM_TIMEOUT;
		snprintf(why, sizeof(why), "%s", u->errbuf[0] != '\0' ?
		    u->errbuf : u->got_response ? "backend went silent" :
		    "backend did not answer in time");
	} else if (rc == CURLE_BAD_CONTENT_ENCODING) {
		res = UPSTREAM_BAD_ANSWER;
		snprintf(why, sizeof(why), "the answer's content coding (%s)"
		    " cannot be decoded", u->head.coding[0] != '\0' ?
		    u->head.coding : "unknown");
	} else {
		void	(*refused)(void);

		res = UPSTREAM_ERROR;
		snprintf(why, sizeof(why), "%s", u->errbuf[0] != '\0' ?
		    u->errbuf : curl_easy_strerror(rc));
		/*
		 * Said plainly: the error buffer keeps a transfer's first
		 * error, which may be the reused connection that had closed.
		 */
		if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
			snprintf(why, sizeof(why), "its TLS key is not the one"
			    " its attestation bound: refused at the handshake,"
			    " attesting it anew");
			if ((refused = __atomic_load_n(&upstream_pin_refused,
			    __ATOMIC_ACQUIRE)) != NULL)
				refused();
		}
	}
	upstream_release(u);
	cb->on_done(arg, res, why);
}

void
upstream_pause(struct upstream *u)
{
	if (upstream_kind(u) == UPSTREAM_KIND_H1) {
		h1_pause(u);
		return;
	}
	if (u->paused || u->easy == NULL)
		return;
	u->paused = 1;
	evtimer_del(u->timer);
	curl_easy_pause(u->easy, CURLPAUSE_RECV);
}

void
upstream_resume(struct upstream *u)
{
	if (upstream_kind(u) == UPSTREAM_KIND_H1) {
		h1_resume(u);
		return;
	}
	if (!u->paused || u->easy == NULL)
		return;
	u->paused = 0;
	upstream_timer_arm(u, u->pool->cfg->idle_timeout_ms);
	curl_easy_pause(u->easy, CURLPAUSE_CONT);
}

void
upstream_cancel(struct upstream *u)
{
	if (u != NULL && upstream_kind(u) == UPSTREAM_KIND_H1)
		h1_cancel(u);
	else if (u != NULL)
		upstream_release(u);
}
