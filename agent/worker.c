/*
 * Worker threads: each runs its own event loop with an HTTP server and an
 * upstream pool, on its own listening socket bound to the shared port with
 * SO_REUSEPORT, so the kernel spreads connections without a shared lock.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

static struct worker	*workers;
static pthread_t	*worker_threads;
static int		 nworkers;
static _Atomic unsigned	 worker_next;	/* round robin for adopted fds */

/* An fd on its way to a worker's loop (workers_adopt). */
struct worker_adoption {
	struct worker		*worker;
	struct wakeup_call	 call;
	int			 fd;
	char			 domain_id[37];
};

/* Split "ADDR:PORT" / "[ADDR]:PORT" and resolve it numerically. */
static int
worker_resolve(const char *listen, struct addrinfo **res, char *err,
    size_t errlen)
{
	struct addrinfo	 hints;
	char		*host, *port, *copy = xstrdup(listen);
	int		 rc;

	if (copy[0] == '[') {
		host = copy + 1;
		if ((port = strstr(host, "]:")) == NULL)
			goto bad;
		*port = '\0';
		port += 2;
	} else {
		host = copy;
		if ((port = strrchr(copy, ':')) == NULL)
			goto bad;
		*port++ = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, res)) != 0) {
		snprintf(err, errlen, "listen address '%s': %s", listen,
		    gai_strerror(rc));
		free(copy);
		return -1;
	}
	free(copy);
	return 0;
bad:
	snprintf(err, errlen, "listen address '%s': expected ADDR:PORT", listen);
	free(copy);
	return -1;
}

static int
worker_socket(const struct sockaddr *sa, socklen_t salen, char *err,
    size_t errlen)
{
	int	fd, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(fd, sa, salen) == -1 || listen(fd, 1024) == -1) {
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Bind one socket per worker to the same address; port 0 picks one for all. */
static int
worker_bind_all(struct agent *agent, int *fds, int n, char *err, size_t errlen)
{
	struct addrinfo		*res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[INET6_ADDRSTRLEN];
	int			 i, port;

	if (worker_resolve(agent->cfg.listen, &res, err, errlen) == -1)
		return -1;
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	sslen = res->ai_addrlen;
	freeaddrinfo(res);
	for (i = 0; i < n; i++) {
		if ((fds[i] = worker_socket((struct sockaddr *)&ss, sslen, err,
		    errlen)) == -1) {
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
		if (i == 0)
			getsockname(fds[0], (struct sockaddr *)&ss, &sslen);
	}
	/* Record the real address, so status shows the port 0 picked. */
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		free(agent->cfg.listen);
		xasprintf(&agent->cfg.listen, "[%s]:%d", host, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		free(agent->cfg.listen);
		xasprintf(&agent->cfg.listen, "%s:%d", host, port);
	}
	return 0;
}

/* Every 50 ms while draining: stop once no request is in flight. */
static void
worker_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;
	if (http_server_busy(w->http) == 0)
		event_base_loopbreak(w->base);
}

static void
worker_drain(void *arg)
{
	struct worker	*w = arg;
	struct timeval	 tick = { 0, 50 * 1000 };
	struct event	*check;

	if (w->draining)
		return;
	w->draining = 1;
	http_server_drain(w->http);
	check = event_new(w->base, -1, EV_PERSIST, worker_drain_check, w);
	if (check == NULL)
		fatalx("%s: event_new", __func__);
	w->deadline_ev = check;
	event_add(check, &tick);
	worker_drain_check(-1, 0, w);
}

/*
 * Every 5 s: a worker with no requests lets go of a replaced registry
 * snapshot (a busy one does so on its next request anyway).
 */
static void
worker_registry_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;
	registry_local_tick(w->regs);
}

/* On the worker's loop: the grace period is over. */
static void
worker_break(void *arg)
{
	struct worker	*w = arg;

	event_base_loopbreak(w->base);
}

/*
 * On the worker's loop: the settings workers_configure() left, applied
 * between two events, so no request sees some keys old and some new.
 */
static void
worker_settings(void *arg)
{
	struct worker		*w = arg;
	struct agent_config	*next;

	if ((next = atomic_exchange(&w->settings, NULL)) == NULL)
		return;
	config_copy_reloadable(&w->cfg, next);
	free(next);
}

void
workers_configure(const struct agent_config *cfg)
{
	struct agent_config	*next;
	int			 i;

	for (i = 0; i < nworkers; i++) {
		/* Numbers only: no pointer the main thread may free. */
		next = xcalloc(1, sizeof(*next));
		config_copy_reloadable(next, cfg);
		/* One not taken yet is replaced: the newest wins. */
		free(atomic_exchange(&workers[i].settings, next));
		wakeup_post(workers[i].wake, &workers[i].settings_call);
	}
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	/* Runs until drained, or until workers_stop() cuts the grace short. */
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	/* Replies that waited for the pass's signature go out first. */
	receipt_batch_flush(w->receipts);
	http_server_free(w->http);
	/* After the requests: any still waiting on Redis were cancelled. */
	limit_redis_free(w->redis);
	upstream_pool_free(w->upstream);
	/* The requests' last records, before the writer stops. */
	receipt_batch_free(w->receipts);
	trace_batch_free(w->traces);
	if (w->deadline_ev != NULL)
		event_free(w->deadline_ev);
	/* After the requests: none uses a snapshot any more. */
	event_free(w->regs_ev);
	registry_local_free(w->regs);
	free(atomic_exchange(&w->settings, NULL));
	/* The wakeup and the base go in workers_stop(): it may still post. */
	return NULL;
}

/*
 * A worker's loop: three priorities, everything at the default (1) but
 * the receipt batch's idle event (2, receipt-batch.c). No lock: only its
 * own thread touches it, and other threads post to its wakeup.
 */
static struct event_base *
worker_base_new(void)
{
	struct event_config	*ec;
	struct event_base	*base;

	if ((ec = event_config_new()) == NULL ||
	    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK) != 0 ||
	    (base = event_base_new_with_config(ec)) == NULL ||
	    event_base_priority_init(base, 3) != 0)
		fatalx("%s: event_base_new", __func__);
	event_config_free(ec);
	return base;
}

int
workers_start(struct agent *agent, char *err, size_t errlen)
{
	struct timeval	 tick = { 5, 0 };
	int		*fds, i, n = agent->cfg.workers;
	char		 name[16];

	fds = xcalloc(n, sizeof(*fds));
	if (worker_bind_all(agent, fds, n, err, errlen) == -1) {
		free(fds);
		return -1;
	}
	workers = xcalloc(n, sizeof(*workers));
	worker_threads = xcalloc(n, sizeof(*worker_threads));
	for (i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		w->id = i;
		w->agent = agent;
		w->base = worker_base_new();
		if ((w->wake = wakeup_new(w->base, err, errlen)) == NULL)
			fatalx("worker %d: %s", i, err);
		wakeup_call_init(&w->settings_call, worker_settings, w);
		wakeup_call_init(&w->drain_call, worker_drain, w);
		wakeup_call_init(&w->break_call, worker_break, w);
		w->cfg = agent->cfg;
		w->http = http_server_new(w->base, &w->cfg, proxy_handle, w);
		http_server_set_head(w->http, proxy_head);
		http_server_set_error_body(w->http, api_error_http_body);
		w->upstream = upstream_pool_new(w->base, &w->cfg);
		w->redis = limit_redis_new(w->base);
		w->regs = registry_local_new();
		w->regs_ev = event_new(w->base, -1, EV_PERSIST,
		    worker_registry_tick, w);
		if (w->regs_ev == NULL)
			fatalx("%s: event_new", __func__);
		event_add(w->regs_ev, &tick);
		w->traces = trace_batch_new(agent->trace_queue, w->base);
		w->receipts = receipt_batch_new(w->base, agent->vault,
		    &w->cfg.receipt_batch, &w->cfg.receipt_wait_us,
		    &w->calls);
		if (http_server_listen(w->http, fds[i], err, errlen) == -1)
			fatalx("worker %d: %s", i, err);
		if ((errno = pthread_create(&worker_threads[i], NULL,
		    worker_main, w)) != 0)
			fatal("pthread_create");
		/* "worker N" in top -H, gdb and tests/tools/alloc-count.c. */
		snprintf(name, sizeof(name), "worker %u", (unsigned)i % 100000);
		pthread_setname_np(worker_threads[i], name);
	}
	nworkers = n;
	free(fds);
	log_info("listening on %s (%d worker%s; at most %d connections, %d"
	    " per address)", agent->cfg.listen, n, n == 1 ? "" : "s",
	    agent->cfg.max_connections, agent->cfg.max_connections_per_address);
	return 0;
}

/* On the worker's loop: serve an adopted fd, or close it. */
static void
worker_adopt_run(void *arg)
{
	struct worker_adoption	*a = arg;

	if (a->worker->draining || http_server_adopt(a->worker->http, a->fd,
	    a->domain_id) == -1)
		close(a->fd);
	free(a);
}

int
workers_adopt(int fd, const char *domain_id, char *err, size_t errlen)
{
	struct worker_adoption	*a;

	if (nworkers == 0) {
		snprintf(err, errlen, "the agent serves no requests (no"
		    " workers)");
		return -1;
	}
	if (strlen(domain_id) != sizeof(a->domain_id) - 1) {
		snprintf(err, errlen, "%s: not a domain id", __func__);
		return -1;
	}
	a = xcalloc(1, sizeof(*a));
	a->worker = &workers[atomic_fetch_add(&worker_next, 1) %
	    (unsigned)nworkers];
	a->fd = fd;
	memcpy(a->domain_id, domain_id, sizeof(a->domain_id));
	wakeup_call_init(&a->call, worker_adopt_run, a);
	wakeup_post(a->worker->wake, &a->call);
	return 0;
}

/* Called from the main thread: drain each loop, bounded by the grace period. */
void
workers_stop(void)
{
	struct timespec	 deadline;
	int		 i, ms;

	if (nworkers == 0)
		return;
	ms = workers[0].agent->cfg.drain_timeout_ms;
	for (i = 0; i < nworkers; i++)
		wakeup_post(workers[i].wake, &workers[i].drain_call);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000 + 1;
	for (i = 0; i < nworkers; i++) {
		if (pthread_timedjoin_np(worker_threads[i], NULL,
		    &deadline) == 0)
			continue;
		log_warnx("worker %d: requests still in flight after %d ms;"
		    " cutting them", i, ms);
		wakeup_post(workers[i].wake, &workers[i].break_call);
		pthread_join(worker_threads[i], NULL);
	}
	/* Joined: nothing runs on these loops any more. */
	for (i = 0; i < nworkers; i++) {
		wakeup_free(workers[i].wake);
		event_base_free(workers[i].base);
	}
	free(workers);
	free(worker_threads);
	workers = NULL;
	worker_threads = NULL;
	nworkers = 0;
}
