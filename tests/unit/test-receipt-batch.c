/*
 * receipt-batch.c: when a worker's batch of receipts is signed (the loop
 * idle, every call waiting, full, or the wait's bound on a loop that is
 * never idle), when an idle loop holds it for replies that come close
 * together, and that what it signs verifies with the vault's key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "agent.h"
#include "fixture.h"
#include "receipt.h"

#define SIGNED_MAX	8

static const char	req_body[] = "{\"model\":\"m\",\"messages\":[]}";
static const char	resp_body[] = "{\"choices\":[]}";

struct fixture {
	char			 dir[FIXTURE_DIR_MAX];
	struct vault		*vault;
	struct event_base	*base;
	struct receipt_batch	*batch;
	int			 max;
	int			 wait_us;
	unsigned		 calls;
	size_t			 primed;	/* receipts prime() got back */
	/* What the callbacks got, in their order. */
	char			 got[SIGNED_MAX][RECEIPT_MAX + 1];
	size_t			 n;
	int			 stop_loop;	/* the first callback breaks it */
	/* A socket with a byte no one reads: every epoll_wait returns it. */
	int			 sv[2];
	struct event		*busy;
	unsigned long		 busy_runs;
	int			 busy_ends;	/* the loop, after this pass */
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	fixture_dir_make(f->dir, sizeof(f->dir), "receipt-batch");
	f->vault = fixture_vault_open(f->dir);
	/* As a worker's (worker.c): three priorities. */
	f->base = event_base_new();
	assert_non_null(f->base);
	assert_int_equal(event_base_priority_init(f->base, 3), 0);
	f->max = 64;
	f->wait_us = 1000;
	f->calls = 10;
	f->batch = receipt_batch_new(f->base, f->vault, &f->max, &f->wait_us,
	    &f->calls);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	if (f->busy != NULL) {
		event_free(f->busy);
		close(f->sv[0]);
		close(f->sv[1]);
	}
	receipt_batch_free(f->batch);
	event_base_free(f->base);
	vault_free(f->vault);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

static void
signed_cb(void *arg, const char *s, size_t len)
{
	struct fixture	*f = arg;

	assert_non_null(s);
	assert_true(f->n < SIGNED_MAX && len <= RECEIPT_MAX);
	memcpy(f->got[f->n], s, len);
	f->got[f->n][len] = '\0';
	f->n++;
	if (f->stop_loop)
		event_base_loopbreak(f->base);
}

/* A receipt for req_body and resp_body, into the batch: its answer. */
static int
add_cb(struct fixture *f, receipt_signed_cb cb)
{
	struct receipt	rc;

	memset(&rc, 0, sizeof(rc));
	randombytes_buf(rc.id, sizeof(rc.id));
	rc.time_ms = 1733430000123ULL;
	crypto_hash_sha256(rc.request_sha256,
	    (const unsigned char *)req_body, strlen(req_body));
	crypto_hash_sha256(rc.response_sha256,
	    (const unsigned char *)resp_body, strlen(resp_body));
	snprintf(rc.domain, sizeof(rc.domain), "d");
	snprintf(rc.model, sizeof(rc.model), "chat");
	snprintf(rc.route, sizeof(rc.route), "chat");
	return receipt_batch_add(f->batch, &rc, cb, f);
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
add(struct fixture *f)
{
	return add_cb(f, signed_cb);
}

static void
primed_cb(void *arg, const char *s, size_t len)
{
	struct fixture	*f = arg;

	(void)len;
	assert_non_null(s);
	f->primed++;
}

/*
 * Replies finishing back to back, as on a busy worker: the batch learns
 * that they come close together. Signed at once (every call waits).
 */
static void
prime(struct fixture *f)
{
	unsigned	calls = f->calls;
	size_t		i;

	f->calls = 1;
	f->primed = 0;
	for (i = 0; i < 48; i++)
		assert_int_equal(add_cb(f, primed_cb), 1);
	assert_int_not_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), -1);
	assert_int_equal(f->primed, 48);
	f->calls = calls;
}

/* Every receipt got verifies, in one tree of n (v1 when n is 1). */
static void
check_batch(struct fixture *f, size_t n)
{
	struct receipt	rc;
	char		err[256];
	size_t		i;

	assert_int_equal(f->n, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(receipt_parse(&rc, f->got[i],
		    strlen(f->got[i]), err, sizeof(err)), 0);
		assert_int_equal(rc.version, n == 1 ? 1 : 2);
		if (n > 1) {
			assert_int_equal(rc.tree_size, n);
			assert_int_equal(rc.leaf_index, i);
		}
		assert_int_equal(receipt_verify(&rc,
		    vault_identity_public_key(f->vault),
		    (const unsigned char *)req_body, strlen(req_body),
		    (const unsigned char *)resp_body, strlen(resp_body)),
		    RECEIPT_OK);
	}
}

static void
busy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fixture	*f = arg;

	(void)fd;
	(void)what;
	f->busy_runs++;
	/* Not loopbreak: the rest of the pass runs (a due timer after us). */
	if (f->busy_ends)
		event_base_loopexit(f->base, NULL);
}

/* From now on the loop is never idle, as with other calls' sockets. */
static void
busy(struct fixture *f)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv), 0);
	assert_int_equal(write(f->sv[1], "x", 1), 1);
	f->busy = event_new(f->base, f->sv[0], EV_READ | EV_PERSIST, busy_cb,
	    f);
	assert_non_null(f->busy);
	assert_int_equal(event_add(f->busy, NULL), 0);
}

/*
 * One pass of the loop, waiting for nothing: what was active and what
 * epoll_wait returns. libevent's EVLOOP_NONBLOCK would go on while any
 * event is active, so a busy loop ends after the pass in which the busy
 * socket's callback ran. What was active before the pass runs in it too,
 * before or (if a stalled test let its timer expire, which makes it
 * active again) after that callback.
 */
static void
one_pass(struct fixture *f)
{
	f->busy_ends = 1;
	assert_int_not_equal(event_base_loop(f->base,
	    f->busy != NULL ? 0 : EVLOOP_NONBLOCK), -1);
	f->busy_ends = 0;
}

/*
 * A lone call's receipt is signed in the pass that finished it, as v1,
 * though the loop has more to do.
 */
static void
test_receipt_batch_lone(void **state)
{
	struct fixture	*f = *state;

	busy(f);
	f->calls = 1;
	assert_int_equal(add(f), 1);
	assert_int_equal(f->n, 0);	/* not within its caller */
	one_pass(f);
	check_batch(f, 1);
}

/*
 * Calls still under way: what waits is signed, as one, when the loop
 * finds nothing else to do, and not while it has.
 */
static void
test_receipt_batch_idle(void **state)
{
	struct fixture	*f = *state;
	double		 start;

	assert_int_equal(add(f), 1);
	assert_int_equal(add(f), 1);
	assert_int_equal(add(f), 1);
	assert_int_equal(f->n, 0);
	one_pass(f);
	check_batch(f, 3);
	busy(f);
	f->n = 0;
	start = now_ms();
	assert_int_equal(add(f), 1);
	one_pass(f);
	assert_int_equal(f->busy_runs, 1);
	/* Unless a stalled test saw the 1 ms bound go by (busy_bound). */
	if (now_ms() - start < 1.0)
		assert_int_equal(f->n, 0);
}

/* Every call under way waits: signed in this pass, the loop busy. */
static void
test_receipt_batch_all_waiting(void **state)
{
	struct fixture	*f = *state;

	busy(f);
	f->calls = 2;
	assert_int_equal(add(f), 1);
	assert_int_equal(add(f), 1);
	one_pass(f);
	check_batch(f, 2);
}

/*
 * A full batch is signed in this pass, the loop busy; one more is the
 * caller's, to sign alone.
 */
static void
test_receipt_batch_full(void **state)
{
	struct fixture	*f = *state;

	busy(f);
	f->max = 2;
	assert_int_equal(add(f), 1);
	assert_int_equal(add(f), 1);
	assert_int_equal(add(f), 0);
	one_pass(f);
	check_batch(f, 2);
	/* receipt-batch = 1: every receipt its caller's, signed alone. */
	f->max = 1;
	assert_int_equal(add(f), 0);
}

static void
give_up_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/*
 * A loop that is never idle (other calls keep it busy) still signs a
 * receipt, when the wait's bound comes: 1 ms on libevent's clock, which
 * may be the kernel's coarse one (a tick of 4 ms here), so the test
 * allows far more than that, and far less than its own give-up.
 */
static void
test_receipt_batch_busy_bound(void **state)
{
	struct fixture	*f = *state;
	struct timeval	 give_up = { 10, 0 };
	struct event	*timeout;
	double		 start, took;

	busy(f);
	timeout = evtimer_new(f->base, give_up_cb, f->base);
	assert_non_null(timeout);
	evtimer_add(timeout, &give_up);
	f->stop_loop = 1;
	start = now_ms();
	assert_int_equal(add(f), 1);
	assert_int_not_equal(event_base_loop(f->base, 0), -1);
	took = now_ms() - start;
	event_free(timeout);
	check_batch(f, 1);
	/*
	 * Busy all along: the idle event never ran, the timer signed it
	 * (after several passes, unless the test stalled for 1 ms).
	 */
	assert_true(f->busy_runs >= 1);
	assert_true(took < 1000.0);
}

/*
 * Replies back to back (prime), then one more with other calls under
 * way: the idle loop holds it. A stalled test could see its gap average
 * grow past the wait and sign at idle instead, so it primes again, a
 * few times.
 */
static void
add_held(struct fixture *f)
{
	int	tries;

	for (tries = 0; tries < 5; tries++) {
		prime(f);
		f->n = 0;
		assert_int_equal(add(f), 1);
		one_pass(f);
		if (f->n == 0)
			return;
	}
	fail_msg("an idle loop never held a batch in %d tries", tries);
}

/*
 * Three calls under way and half a second's wait (no stall of the test
 * reaches its end): one reply, held.
 */
static void
hold_first_of_three(struct fixture *f)
{
	f->wait_us = 500000;
	f->calls = 3;
	add_held(f);
}

/*
 * Replies coming close together, other calls under way: the idle loop
 * holds the batch for the next, which asks again; when every call waits,
 * it is signed, all of it.
 */
static void
test_receipt_batch_hold(void **state)
{
	struct fixture	*f = *state;

	hold_first_of_three(f);
	assert_int_equal(add(f), 1);
	one_pass(f);
	assert_int_equal(f->n, 0);
	/* The third call comes: all of them wait. */
	assert_int_equal(add(f), 1);
	one_pass(f);
	check_batch(f, 3);
}

/* A held batch is signed at receipt-wait-us, nothing else coming. */
static void
test_receipt_batch_hold_bound(void **state)
{
	struct fixture	*f = *state;
	struct timeval	 give_up = { 10, 0 };
	struct event	*timeout;

	timeout = evtimer_new(f->base, give_up_cb, f->base);
	assert_non_null(timeout);
	add_held(f);
	f->stop_loop = 1;
	evtimer_add(timeout, &give_up);
	assert_int_not_equal(event_base_loop(f->base, 0), -1);
	event_free(timeout);
	check_batch(f, 1);
}

/*
 * A held batch's other calls end without a receipt (a client gone, a
 * refusal): once every call left waits for it, it is signed in this pass.
 */
static void
test_receipt_batch_hold_calls_end(void **state)
{
	struct fixture	*f = *state;

	hold_first_of_three(f);
	/* One call ends: one still under way, nothing yet. */
	f->calls = 2;
	receipt_batch_call_ended(f->batch);
	one_pass(f);
	assert_int_equal(f->n, 0);
	/* The other ends: only the batch's own call is left. */
	f->calls = 1;
	receipt_batch_call_ended(f->batch);
	one_pass(f);
	check_batch(f, 1);
}

/* receipt-wait-us = 0: an idle loop signs, however close replies come. */
static void
test_receipt_batch_no_hold(void **state)
{
	struct fixture	*f = *state;

	f->wait_us = 0;
	prime(f);
	f->n = 0;
	assert_int_equal(add(f), 1);
	one_pass(f);
	check_batch(f, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_receipt_batch_lone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_idle,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_all_waiting,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_full,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_busy_bound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_hold,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_hold_bound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_hold_calls_end,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_no_hold,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
