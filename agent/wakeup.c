/*
 * Calls posted to a worker's loop from other threads. A worker's event
 * base has no lock (EVENT_BASE_FLAG_NOLOCK): with one, libevent takes and
 * drops a mutex some thirty times a request, on every event added,
 * removed or run. So only the worker's own thread touches its base, and
 * another thread (SIGHUP's settings, a drain, an adopted connection, an
 * attestation report made) posts a call here instead: an eventfd wakes
 * the loop, as libevent's own notification would, and the loop runs the
 * calls on its thread in the order they came.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

struct wakeup {
	pthread_mutex_t		 lock;
	struct wakeup_call	*head, *tail;	/* queued, oldest first */
	int			 fd;		/* eventfd: readable when queued */
	struct event		*ev;
};

void
wakeup_call_init(struct wakeup_call *c, void (*fn)(void *), void *arg)
{
	c->fn = fn;
	c->arg = arg;
	c->next = NULL;
	c->queued = 0;
}

/* The loop's thread: run what is queued, one call at a time. */
static void
wakeup_run(evutil_socket_t fd, short what, void *arg)
{
	struct wakeup		*w = arg;
	struct wakeup_call	*c;
	uint64_t		 n;

	(void)what;
	/* Reset first: a call posted after this read writes again. */
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warnx("%s: read: %s", __func__, strerror(errno));
	/* One at a time: a call may cancel one queued behind it. */
	for (;;) {
		pthread_mutex_lock(&w->lock);
		if ((c = w->head) != NULL) {
			if ((w->head = c->next) == NULL)
				w->tail = NULL;
			c->next = NULL;
			c->queued = 0;
		}
		pthread_mutex_unlock(&w->lock);
		if (c == NULL)
			break;
		c->fn(c->arg);
	}
}

struct wakeup *
wakeup_new(struct event_base *base, char *err, size_t errlen)
{
	struct wakeup	*w = xcalloc(1, sizeof(*w));

	if ((w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(w);
		return NULL;
	}
	if ((w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, wakeup_run,
	    w)) == NULL || event_add(w->ev, NULL) == -1) {
		snprintf(err, errlen, "cannot watch an eventfd");
		if (w->ev != NULL)
			event_free(w->ev);
		close(w->fd);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

/* On the loop's thread, once no other thread posts: queued calls are dropped. */
void
wakeup_free(struct wakeup *w)
{
	if (w == NULL)
		return;
	event_free(w->ev);
	close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void
wakeup_post(struct wakeup *w, struct wakeup_call *c)
{
	static const uint64_t	one = 1;
	int			wake;

	pthread_mutex_lock(&w->lock);
	if (c->queued) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	c->queued = 1;
	c->next = NULL;
	wake = w->head == NULL;
	if (w->tail != NULL)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
	pthread_mutex_unlock(&w->lock);
	/*
	 * Only the first of a queue writes: the loop reads the count before
	 * it takes any call. Full (EAGAIN) is still readable; nothing else
	 * can fail on a valid eventfd.
	 */
	if (wake && write(w->fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warnx("%s: write: %s", __func__, strerror(errno));
}

void
wakeup_cancel(struct wakeup *w, struct wakeup_call *c)
{
	struct wakeup_call	**p, *prev = NULL;

	pthread_mutex_lock(&w->lock);
	for (p = &w->head; c->queued && *p != NULL; prev = *p,
	    p = &(*p)->next) {
		if (*p != c)
			continue;
		*p = c->next;
		if (w->tail == c)
			w->tail = prev;
		c->next = NULL;
		c->queued = 0;
		break;
	}
	pthread_mutex_unlock(&w->lock);
}
