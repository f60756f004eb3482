/*
 * wakeup.c: calls posted from other threads to a loop whose base has no
 * lock run on the loop's thread, in order, once each while queued; a
 * cancelled call never runs.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "agent.h"

#define POSTERS		4
#define POSTS		2000	/* each */

struct loop {
	struct event_base	*base;
	struct wakeup		*wake;
	pthread_t		 thread;	/* the loop's */
	int			 ran[POSTERS];	/* calls run, per poster */
	int			 out_of_order;
	int			 wrong_thread;
	int			 total;
	struct wakeup_call	 stop;
};

struct post {
	struct loop		*loop;
	struct wakeup_call	 call;
	int			 poster, seq;
};

static struct event_base *
nolock_base(void)
{
	struct event_config	*ec = event_config_new();
	struct event_base	*base;

	assert_non_null(ec);
	assert_int_equal(event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK), 0);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	assert_non_null(base);
	return base;
}

static void
counted(void *arg)
{
	struct post	*p = arg;
	struct loop	*l = p->loop;

	if (!pthread_equal(pthread_self(), l->thread))
		l->wrong_thread++;
	/* Each poster's calls in the order it posted them. */
	if (p->seq != l->ran[p->poster])
		l->out_of_order++;
	l->ran[p->poster]++;
	l->total++;
}

static void
stop_loop(void *arg)
{
	struct loop	*l = arg;

	event_base_loopbreak(l->base);
}

static void *
poster(void *arg)
{
	struct post	*posts = arg;
	int		 i;

	for (i = 0; i < POSTS; i++)
		wakeup_post(posts[i].loop->wake, &posts[i].call);
	return NULL;
}

static void *
loop_main(void *arg)
{
	struct loop	*l = arg;

	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* Four threads post 2,000 calls each while the loop runs them. */
static void
test_posts_from_threads(void **state)
{
	static struct post	posts[POSTERS][POSTS];
	struct loop		l;
	pthread_t		threads[POSTERS];
	char			err[128];
	int			i, j;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.base = nolock_base();
	assert_non_null(l.wake = wakeup_new(l.base, err, sizeof(err)));
	for (i = 0; i < POSTERS; i++)
		for (j = 0; j < POSTS; j++) {
			posts[i][j].loop = &l;
			posts[i][j].poster = i;
			posts[i][j].seq = j;
			wakeup_call_init(&posts[i][j].call, counted,
			    &posts[i][j]);
		}
	assert_int_equal(pthread_create(&l.thread, NULL, loop_main, &l), 0);
	for (i = 0; i < POSTERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, poster,
		    posts[i]), 0);
	for (i = 0; i < POSTERS; i++)
		pthread_join(threads[i], NULL);
	/* Queued after every post: it runs after all of them. */
	wakeup_call_init(&l.stop, stop_loop, &l);
	wakeup_post(l.wake, &l.stop);
	pthread_join(l.thread, NULL);
	assert_int_equal(l.total, POSTERS * POSTS);
	for (i = 0; i < POSTERS; i++)
		assert_int_equal(l.ran[i], POSTS);
	assert_int_equal(l.out_of_order, 0);
	assert_int_equal(l.wrong_thread, 0);
	wakeup_free(l.wake);
	event_base_free(l.base);
}

static void
cancel_other(void *arg)
{
	struct post	*p = arg;

	/* p[1] is queued behind this one: taken back, it never runs. */
	wakeup_cancel(p->loop->wake, &p[1].call);
	p->loop->total++;
}

/* A call queued twice runs once; one cancelled by a call before it never. */
static void
test_once_and_cancel(void **state)
{
	struct post	p[3];
	struct loop	l;
	char		err[128];

	(void)state;
	memset(&l, 0, sizeof(l));
	memset(p, 0, sizeof(p));
	l.base = nolock_base();
	l.thread = pthread_self();
	assert_non_null(l.wake = wakeup_new(l.base, err, sizeof(err)));
	p[0].loop = p[1].loop = p[2].loop = &l;
	p[2].seq = 0;
	wakeup_call_init(&p[2].call, counted, &p[2]);
	wakeup_post(l.wake, &p[2].call);
	wakeup_post(l.wake, &p[2].call);
	assert_int_equal(event_base_loop(l.base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(l.total, 1);

	wakeup_call_init(&p[0].call, cancel_other, &p[0]);
	p[1].seq = 99;	/* out of order if it ran */
	wakeup_call_init(&p[1].call, counted, &p[1]);
	wakeup_post(l.wake, &p[0].call);
	wakeup_post(l.wake, &p[1].call);
	assert_int_equal(event_base_loop(l.base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(l.total, 2);
	assert_int_equal(l.out_of_order, 0);
	/* Taken back, it can be posted again, and runs. */
	p[1].seq = 0;
	p[1].poster = 1;
	wakeup_post(l.wake, &p[1].call);
	assert_int_equal(event_base_loop(l.base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(l.total, 3);
	assert_int_equal(l.ran[1], 1);
	/* Cancelling what is not queued does nothing. */
	wakeup_cancel(l.wake, &p[1].call);
	wakeup_free(l.wake);
	event_base_free(l.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posts_from_threads),
		cmocka_unit_test(test_once_and_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
