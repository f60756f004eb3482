/*
 * Requests to LLM backends: libcurl's multi interface driven by the
 * worker's event_base (curl's sockets and timer become libevent events).
 * Easy handles are reused, so connections to a backend stay warm.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

struct upstream_pool {
	struct event_base		*base;
	const struct agent_config	*cfg;
	CURLM				*multi;
	struct event			*timer;
	CURL				**idle;		/* reusable easy handles */
	size_t				 nidle;
	size_t				 idle_cap;
};

struct upstream {
	struct upstream_pool	*pool;
	CURL			*easy;
	const struct upstream_cb *cb;
	void			*arg;
	struct event		*timer;		/* first byte, then idle */
	struct curl_slist	 headers[2];	/* + the caller's auth node */
	int			 got_response;
	int			 paused;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* Our socket bookkeeping, attached to curl's socket with curl_multi_assign. */
struct upstream_sock {
	struct event		*ev;
	struct upstream_pool	*pool;
};

/* curl keeps pointers to these; they are never written. */
static char	upstream_hdr_ctype[] = "Content-Type: application/json";
static char	upstream_hdr_expect[] = "Expect:";

static void	upstream_finish(struct upstream *, CURLcode);

static void
upstream_timer_arm(struct upstream *u, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(u->timer, &tv);
}

/* Hand finished transfers to their owners. */
static void
upstream_check_done(struct upstream_pool *pool)
{
	CURLMsg		*msg;
	struct upstream	*u;
	int		 left;

	while ((msg = curl_multi_info_read(pool->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &u);
		upstream_finish(u, msg->data.result);
	}
}

static void
upstream_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_pool	*pool = arg;
	int			 running, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(pool->multi, fd, action, &running);
	upstream_check_done(pool);
}

static void
upstream_timer_event(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_pool	*pool = arg;
	int			 running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(pool->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	upstream_check_done(pool);
}

/* CURLMOPT_SOCKETFUNCTION: watch what curl wants on its sockets. */
static int
upstream_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct upstream_pool	*pool = userp;
	struct upstream_sock	*us = socketp;
	short			 kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (us != NULL) {
			event_free(us->ev);
			free(us);
			curl_multi_assign(pool->multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (us == NULL) {
		us = xcalloc(1, sizeof(*us));
		us->pool = pool;
		curl_multi_assign(pool->multi, s, us);
	} else
		event_free(us->ev);
	us->ev = event_new(pool->base, s, kind, upstream_socket_event, pool);
	if (us->ev == NULL)
		fatalx("%s: event_new", __func__);
	event_add(us->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int
upstream_timer_cb(CURLM *multi, long ms, void *userp)
{
	struct upstream_pool	*pool = userp;
	struct timeval		 tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(pool->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(pool->timer, &tv);
	return 0;
}

struct upstream_pool *
upstream_pool_new(struct event_base *base, const struct agent_config *cfg)
{
	struct upstream_pool	*pool = xcalloc(1, sizeof(*pool));

	pool->base = base;
	pool->cfg = cfg;
	if ((pool->multi = curl_multi_init()) == NULL)
		fatalx("%s: curl_multi_init", __func__);
	pool->timer = evtimer_new(base, upstream_timer_event, pool);
	if (pool->timer == NULL)
		fatalx("%s: evtimer_new", __func__);
	curl_multi_setopt(pool->multi, CURLMOPT_SOCKETFUNCTION,
	    upstream_socket_cb);
	curl_multi_setopt(pool->multi, CURLMOPT_SOCKETDATA, pool);
	curl_multi_setopt(pool->multi, CURLMOPT_TIMERFUNCTION,
	    upstream_timer_cb);
	curl_multi_setopt(pool->multi, CURLMOPT_TIMERDATA, pool);
	curl_multi_setopt(pool->multi, CURLMOPT_MAXCONNECTS, 1024L);
	return pool;
}

void
upstream_pool_free(struct upstream_pool *pool)
{
	size_t	i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->nidle; i++)
		curl_easy_cleanup(pool->idle[i]);
	free(pool->idle);
	curl_multi_cleanup(pool->multi);
	event_free(pool->timer);
	free(pool);
}

/* --- one transfer -------------------------------------------------------- */

/* The blank line after the final headers: report status and type once. */
static size_t
upstream_header(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream	*u = arg;
	size_t		 len = size * n;
	long		 status = 0;
	char		*ctype = NULL;

	if (u->got_response || len > 2 || (len > 0 && buf[0] != '\r' &&
	    buf[0] != '\n'))
		return len;
	curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200)	/* 100 Continue and friends */
		return len;
	curl_easy_getinfo(u->easy, CURLINFO_CONTENT_TYPE, &ctype);
	u->got_response = 1;
	upstream_timer_arm(u, u->pool->cfg->idle_timeout_ms);
	u->cb->on_response(u->arg, status, ctype);
	return len;
}

static size_t
upstream_write(char *data, size_t size, size_t n, void *arg)
{
	struct upstream	*u = arg;
	size_t		 len = size * n;

	if (!u->paused)
		upstream_timer_arm(u, u->pool->cfg->idle_timeout_ms);
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
	upstream_finish(u, CURLE_OPERATION_TIMEDOUT);
}

static CURL *
upstream_easy_get(struct upstream_pool *pool)
{
	CURL	*easy;

	if (pool->nidle > 0)
		return pool->idle[--pool->nidle];
	if ((easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init", __func__);
	/* What never changes between transfers is set once per handle. */
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, upstream_write);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, upstream_header);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)pool->cfg->connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 64L * 1024);
	return easy;
}

/* Put the handle back for the next transfer; it keeps no request state we rely on. */
static void
upstream_easy_put(struct upstream_pool *pool, CURL *easy)
{
	if (pool->nidle == pool->idle_cap) {
		if (pool->idle_cap >= 256) {
			curl_easy_cleanup(easy);
			return;
		}
		pool->idle_cap = pool->idle_cap ? pool->idle_cap * 2 : 16;
		pool->idle = xreallocarray(pool->idle, pool->idle_cap,
		    sizeof(*pool->idle));
	}
	pool->idle[pool->nidle++] = easy;
}

struct upstream *
upstream_start(struct upstream_pool *pool, const char *url,
    struct curl_slist *auth, const char *body, size_t len,
    const struct upstream_cb *cb, void *arg)
{
	struct upstream	*u = xcalloc(1, sizeof(*u));
	CURL		*easy;

	u->pool = pool;
	u->cb = cb;
	u->arg = arg;
	u->headers[0].data = upstream_hdr_ctype;
	u->headers[0].next = &u->headers[1];
	u->headers[1].data = upstream_hdr_expect;
	u->headers[1].next = auth;
	u->easy = easy = upstream_easy_get(pool);
	u->timer = evtimer_new(pool->base, upstream_timeout, u);
	if (u->timer == NULL)
		fatalx("%s: evtimer_new", __func__);

	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, u->headers);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, u);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, u);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, u->errbuf);
	upstream_timer_arm(u, pool->cfg->first_byte_timeout_ms);
	if (curl_multi_add_handle(pool->multi, easy) != CURLM_OK)
		fatalx("%s: curl_multi_add_handle", __func__);
	return u;
}

/* Detach from curl and free; the connection closes if the transfer was cut. */
static void
upstream_release(struct upstream *u)
{
	struct upstream_pool	*pool = u->pool;

	curl_multi_remove_handle(pool->multi, u->easy);
	curl_easy_setopt(u->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(u->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(u->easy, CURLOPT_POSTFIELDS, NULL);
	upstream_easy_put(pool, u->easy);
	event_free(u->timer);
	free(u);
}

static void
upstream_finish(struct upstream *u, CURLcode rc)
{
	const struct upstream_cb	*cb = u->cb;
	void				*arg = u->arg;
	enum upstream_result		 res;
	char				 why[CURL_ERROR_SIZE + 64];

	if (rc == CURLE_OK) {
		res = UPSTREAM_OK;
		why[0] = '\0';
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		res = UPSTREAM_TIMEOUT;
		snprintf(why, sizeof(why), "%s", u->errbuf[0] != '\0' ?
		    u->errbuf : u->got_response ? "backend went silent" :
		    "backend did not answer in time");
	} else {
		res = UPSTREAM_ERROR;
		snprintf(why, sizeof(why), "%s", u->errbuf[0] != '\0' ?
		    u->errbuf : curl_easy_strerror(rc));
	}
	upstream_release(u);
	cb->on_done(arg, res, why);
}

void
upstream_pause(struct upstream *u)
{
	if (u->paused)
		return;
	u->paused = 1;
	evtimer_del(u->timer);
	curl_easy_pause(u->easy, CURLPAUSE_RECV);
}

void
upstream_resume(struct upstream *u)
{
	if (!u->paused)
		return;
	u->paused = 0;
	upstream_timer_arm(u, u->pool->cfg->idle_timeout_ms);
	curl_easy_pause(u->easy, CURLPAUSE_CONT);
}

void
upstream_cancel(struct upstream *u)
{
	if (u != NULL)
		upstream_release(u);
}
