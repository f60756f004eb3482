/*
 * One agent of cube-tui's fleet. Its connection and every call to it run
 * on a thread of its own, so a slow or unreachable host never holds up
 * the screen: the main loop queues requests, the thread answers them in
 * order and writes a byte to the main loop's wake pipe when a reply (or a
 * logs.tail notification) waits to be taken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "log.h"
#include "transport.h"
#include "xmalloc.h"

#define HOST_RETRY_MS		5000	/* between connection attempts */
#define HOST_POLL_MS		100	/* notification reads while tailing */
#define HOST_CALL_TIMEOUT_MS	15000

struct host_request {
	struct host_request	*next;
	char			*method;
	cJSON			*params;
	host_done_cb		 done;
	unsigned		 gen;
};

/* The connection, the thread's alone. */
struct host_conn {
	struct host		*host;
	struct rpc_client	*rpc;
	int			 tailing;
};

/* Append a reply and wake the main loop. Called with the lock held. */
static void
host_push(struct host *h, struct host_reply *r)
{
	struct host_reply	**rp;
	char			  c = 0;

	r->host = h;
	for (rp = &h->replies; *rp != NULL; rp = &(*rp)->next)
		;
	*rp = r;
	if (write(h->wake_fd, &c, 1) == -1) {
		/* EAGAIN: a full pipe wakes the main loop anyway. */
	}
}

static void
host_set_state(struct host *h, enum host_state state, const char *reason)
{
	pthread_mutex_lock(&h->lock);
	h->state = state;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	host_push(h, xcalloc(1, sizeof(struct host_reply)));
	pthread_mutex_unlock(&h->lock);
}

/* A logs.trace notification: copied out for the main loop. */
static void
host_notify(const char *method, const cJSON *params, void *arg)
{
	struct host		*h = arg;
	struct host_reply	*r;

	r = xcalloc(1, sizeof(*r));
	r->kind = HOST_REPLY_NOTIFY;
	r->method = xstrdup(method);
	r->result = params != NULL ? cJSON_Duplicate(params, 1) : NULL;
	pthread_mutex_lock(&h->lock);
	host_push(h, r);
	pthread_mutex_unlock(&h->lock);
}

/* Connect; on failure the state says why. */
static int
host_connect(struct host_conn *hc)
{
	struct host			*h = hc->host;
	struct transport_address	 addr;
	struct transport		*t;
	const char			*kind;
	char				 err[256];
	int				 local;

	local = strcmp(h->name, "local") == 0;
	kind = local ? "unix" : "ssh";
	memset(&addr, 0, sizeof(addr));
	addr.path = h->socket;
	addr.host = local ? NULL : h->name;
	addr.ssh_config = h->ssh_config;
	addr.identity = h->identity;
	if ((t = transport_new(kind)) == NULL)
		fatalx("%s: no %s transport", __func__, kind);
	if (transport_connect(t, &addr, err, sizeof(err)) == -1) {
		transport_free(t);
		host_set_state(h, HOST_UNREACHABLE, err);
		return -1;
	}
	hc->rpc = rpc_client_new(t, h->timeout_ms);
	rpc_client_set_notify(hc->rpc, host_notify, h);
	hc->tailing = 0;
	pthread_mutex_lock(&h->lock);
	h->tail_changed = h->tail != NULL;	/* subscribe again */
	pthread_mutex_unlock(&h->lock);
	host_set_state(h, HOST_UP, "");
	return 0;
}

static void
host_disconnect(struct host_conn *hc, const char *why)
{
	rpc_client_free(hc->rpc);
	hc->rpc = NULL;
	host_set_state(hc->host, HOST_UNREACHABLE, why);
}

/* Run one call and queue its reply; a broken connection is dropped. */
static void
host_run(struct host_conn *hc, struct host_request *req)
{
	struct host		*h = hc->host;
	struct host_reply	*r;

	r = xcalloc(1, sizeof(*r));
	r->done = req->done;
	r->gen = req->gen;
	if (hc->rpc == NULL) {
		r->status = RPC_CLIENT_TRANSPORT;
		pthread_mutex_lock(&h->lock);
		snprintf(r->err, sizeof(r->err), "unreachable: %s", h->reason);
		pthread_mutex_unlock(&h->lock);
		cJSON_Delete(req->params);
	} else
		r->status = rpc_client_call(hc->rpc, req->method, req->params,
		    &r->result, &r->code, r->err, sizeof(r->err));
	if (r->status != RPC_CLIENT_OK &&
	    r->status != RPC_CLIENT_REPLY_ERROR && hc->rpc != NULL)
		host_disconnect(hc, r->err);
	pthread_mutex_lock(&h->lock);
	if (r->done != NULL)
		host_push(h, r);
	else
		host_reply_free(r);
	pthread_mutex_unlock(&h->lock);
	free(req->method);
	free(req);
}

/* Start or stop the subscription when the main loop changed it. */
static void
host_sync_tail(struct host_conn *hc, cJSON *params)
{
	struct host_request	*req;

	req = xcalloc(1, sizeof(*req));
	if (params != NULL) {
		req->method = xstrdup("logs.tail");
		req->params = params;
	} else if (hc->tailing) {
		req->method = xstrdup("logs.untail");
	} else {
		free(req);
		return;
	}
	hc->tailing = params != NULL;
	host_run(hc, req);
}

/* Wait for work; 0 to stop. Sets *retry when it is time to reconnect. */
static int
host_wait(struct host_conn *hc, const struct timespec *until, int *retry)
{
	struct host	*h = hc->host;

	while (!h->stopping && h->requests == NULL && !h->tail_changed &&
	    !(hc->rpc != NULL && hc->tailing)) {
		if (hc->rpc != NULL)
			pthread_cond_wait(&h->cond, &h->lock);
		else if (pthread_cond_timedwait(&h->cond, &h->lock, until) ==
		    ETIMEDOUT) {
			*retry = 1;
			break;
		}
	}
	return !h->stopping;
}

static void *
host_main(void *arg)
{
	struct host_conn	 hc = { .host = arg };
	struct host		*h = arg;
	struct host_request	*req;
	struct timespec		 until = { 0, 0 };
	cJSON			*tail;
	int			 changed, retry = 1;
	char			 err[256];

	for (;;) {
		if (hc.rpc == NULL && retry) {
			host_connect(&hc);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += HOST_RETRY_MS / 1000;
			retry = 0;
		}
		pthread_mutex_lock(&h->lock);
		if (!host_wait(&hc, &until, &retry)) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		if ((req = h->requests) != NULL)
			h->requests = req->next;
		tail = NULL;
		if ((changed = h->tail_changed) && h->tail != NULL)
			tail = cJSON_Duplicate(h->tail, 1);
		h->tail_changed = 0;
		pthread_mutex_unlock(&h->lock);

		/* A request is also a reason to try again at once. */
		if (req != NULL && hc.rpc == NULL)
			retry = 1;
		if (req != NULL && hc.rpc == NULL && host_connect(&hc) == 0)
			retry = 0;
		if (req != NULL)
			host_run(&hc, req);
		if (changed && hc.rpc != NULL)
			host_sync_tail(&hc, tail);
		else
			cJSON_Delete(tail);
		if (req == NULL && !changed && hc.rpc != NULL && hc.tailing &&
		    rpc_client_poll(hc.rpc, HOST_POLL_MS, err, sizeof(err)) !=
		    RPC_CLIENT_OK)
			host_disconnect(&hc, err);
	}
	rpc_client_free(hc.rpc);
	return NULL;
}

/*
 * A host named name ("local" for this machine's agent, else [user@]host
 * [:port] reached over SSH) whose agent listens on socket (NULL: the
 * default, as cubectl's). Replies wake the main loop through wake_fd.
 * Caller owns it; free with host_free().
 */
struct host *
host_new(const char *name, const char *socket, const char *ssh_config,
    const char *identity, int wake_fd)
{
	return host_new_timed(name, socket, ssh_config, identity, wake_fd,
	    HOST_CALL_TIMEOUT_MS);
}

/* The same, each call bounded by timeout_ms (a playground's answer). */
struct host *
host_new_timed(const char *name, const char *socket, const char *ssh_config,
    const char *identity, int wake_fd, int timeout_ms)
{
	struct host	*h;

	h = xcalloc(1, sizeof(*h));
	h->timeout_ms = timeout_ms;
	h->name = xstrdup(name);
	if (socket != NULL)
		h->socket = xstrdup(socket);
	else if (strcmp(name, "local") == 0)
		h->socket = transport_unix_client_path();
	else
		h->socket = xstrdup(TRANSPORT_SSH_DEFAULT_PATH);
	h->ssh_config = ssh_config != NULL ? xstrdup(ssh_config) : NULL;
	h->identity = identity != NULL ? xstrdup(identity) : NULL;
	h->wake_fd = wake_fd;
	h->state = HOST_CONNECTING;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if ((errno = pthread_create(&h->thread, NULL, host_main, h)) != 0)
		fatal("%s: pthread_create", __func__);
	return h;
}

/*
 * Stop the thread and free. A thread still stuck in a connect is waited
 * for at most a second, then left to the process's exit.
 */
void
host_free(struct host *h)
{
	struct host_request	*req;
	struct host_reply	*r;
	struct timespec		 until;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	if (pthread_timedjoin_np(h->thread, NULL, &until) != 0) {
		pthread_detach(h->thread);
		return;
	}
	while ((req = h->requests) != NULL) {
		h->requests = req->next;
		cJSON_Delete(req->params);
		free(req->method);
		free(req);
	}
	while ((r = host_take(h)) != NULL)
		host_reply_free(r);
	cJSON_Delete(h->tail);
	cJSON_Delete(h->status);
	cJSON_Delete(h->stats);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->name);
	free(h->socket);
	free(h->ssh_config);
	free(h->identity);
	free(h);
}

/*
 * Queue a call of method with params (consumed). done runs in the main
 * loop with the reply, gen copied into it so stale replies can be told.
 */
void
host_call(struct host *h, const char *method, cJSON *params,
    host_done_cb done, unsigned gen)
{
	struct host_request	*req, **rp;

	req = xcalloc(1, sizeof(*req));
	req->method = xstrdup(method);
	req->params = params;
	req->done = done;
	req->gen = gen;
	pthread_mutex_lock(&h->lock);
	for (rp = &h->requests; *rp != NULL; rp = &(*rp)->next)
		;
	*rp = req;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/*
 * Subscribe to logs.tail with params (copied; NULL to unsubscribe), now
 * and after every reconnection. The call's own reply is not delivered;
 * notifications are, as HOST_REPLY_NOTIFY.
 */
void
host_tail(struct host *h, const cJSON *params)
{
	pthread_mutex_lock(&h->lock);
	cJSON_Delete(h->tail);
	h->tail = params != NULL ? cJSON_Duplicate(params, 1) : NULL;
	h->tail_changed = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* The next reply waiting, or NULL; the caller frees it. */
struct host_reply *
host_take(struct host *h)
{
	struct host_reply	*r;

	pthread_mutex_lock(&h->lock);
	if ((r = h->replies) != NULL)
		h->replies = r->next;
	pthread_mutex_unlock(&h->lock);
	return r;
}

void
host_reply_free(struct host_reply *r)
{
	if (r == NULL)
		return;
	free(r->method);
	cJSON_Delete(r->result);
	free(r);
}

/* The connection's state, and why it is down (into reason). */
enum host_state
host_get_state(struct host *h, char *reason, size_t len)
{
	enum host_state	state;

	pthread_mutex_lock(&h->lock);
	state = h->state;
	snprintf(reason, len, "%s", h->reason);
	pthread_mutex_unlock(&h->lock);
	return state;
}

/* The agent does not know the method: an older agent. */
int
host_is_unsupported(const struct host_reply *r)
{
	return r->status == RPC_CLIENT_REPLY_ERROR &&
	    r->code == RPC_METHOD_NOT_FOUND;
}
