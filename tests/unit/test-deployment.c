/* deployment.c: the choice of a deployment, and the breaker's states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

#define T0	INT64_C(1000000)	/* monotonic ms */

static struct reg_provider	 prov[4];
static struct reg_deployment	 deps[4];

/* n deployments of model "m" in domain "d", on providers p0..p3. */
static void
make(size_t n, const int *weight, const int *prio)
{
	static char	 names[4][4] = { "p0", "p1", "p2", "p3" };
	static char	 ids[4][4] = { "a:1", "b:1", "c:1", "d:1" };
	size_t		 i;

	memset(prov, 0, sizeof(prov));
	memset(deps, 0, sizeof(deps));
	for (i = 0; i < n; i++) {
		prov[i].name = names[i];
		deps[i].provider = &prov[i];
		deps[i].model_id = ids[i];
		deps[i].weight = weight != NULL ? weight[i] : 1;
		deps[i].priority = prio != NULL ? prio[i] : 0;
		deps[i].state = deployment_state_get("d", "m", names[i],
		    ids[i]);
	}
}

static int
setup(void **state)
{
	(void)state;
	deployment_configure(DEPLOY_FAILURES_DEFAULT,
	    DEPLOY_COOLDOWN_DEFAULT_MS);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	deployment_reset();
	return 0;
}

/* Idle deployments of weights 3 and 1 share 400 requests exactly 3:1. */
static void
test_weights(void **state)
{
	static const int	 w[2] = { 3, 1 };
	int			 count[2] = { 0, 0 }, probe, i, k;

	(void)state;
	make(2, w, NULL);
	for (i = 0; i < 400; i++) {
		k = deployment_select(NULL, deps, 2, 0, T0, (uint32_t)i, &probe);
		assert_true(k == 0 || k == 1);
		assert_int_equal(probe, 0);
		count[k]++;
	}
	assert_int_equal(count[0], 300);
	assert_int_equal(count[1], 100);
}

/* Busy ones get fewer: the fewest outstanding per weight wins. */
static void
test_least_outstanding(void **state)
{
	static const int	 w[3] = { 1, 1, 2 };
	int			 probe, i;

	(void)state;
	make(3, w, NULL);
	deployment_begin(deps[0].state);
	deployment_begin(deps[0].state);
	deployment_begin(deps[1].state);
	deployment_begin(deps[2].state);
	deployment_begin(deps[2].state);
	deployment_begin(deps[2].state);
	/* 2/1, 1/1, 3/2: the second. */
	for (i = 0; i < 8; i++)
		assert_int_equal(deployment_select(NULL, deps, 3, 0, T0,
		    (uint32_t)i, &probe), 1);
	/* Tried already: skipped; then 3/2 < 2/1. */
	assert_int_equal(deployment_select(NULL, deps, 3, 1u << 1, T0, 0, &probe),
	    2);
	deployment_end(deps[2].state, DEPLOY_SUCCESS, 0, T0);
	assert_int_equal(deployment_outstanding(deps[2].state), 2);
	assert_int_equal(deployment_select(NULL, deps, 3, 0x3, T0, 0, &probe), 2);
	assert_int_equal(deployment_select(NULL, deps, 3, 0x7, T0, 0, &probe), -1);
}

/* A lower priority number first, the next only when all of it is out. */
static void
test_priority(void **state)
{
	static const int	 p[3] = { 5, 0, 0 };
	int			 probe, i, k;

	(void)state;
	make(3, NULL, p);
	for (i = 0; i < 10; i++) {
		k = deployment_select(NULL, deps, 3, 0, T0, (uint32_t)i, &probe);
		assert_int_equal(k, 1 + i % 2);
	}
	prov[1].errored = 1;
	assert_int_equal(deployment_select(NULL, deps, 3, 0, T0, 0, &probe), 2);
	for (i = 0; i < DEPLOY_FAILURES_DEFAULT; i++) {
		deployment_begin(deps[2].state);
		deployment_end(deps[2].state, DEPLOY_FAILURE, 0, T0);
	}
	assert_int_equal(deployment_breaker(deps[2].state, T0), DEPLOY_OPEN);
	assert_int_equal(deployment_select(NULL, deps, 3, 0, T0, 0, &probe), 0);
}

/* closed -> open -> half-open (one probe) -> open, longer -> closed. */
static void
test_breaker(void **state)
{
	int	probe, probe2, i;
	int64_t	now = T0;

	(void)state;
	deployment_configure(3, 1000);
	make(1, NULL, NULL);
	for (i = 0; i < 2; i++) {
		deployment_begin(deps[0].state);
		deployment_end(deps[0].state, DEPLOY_FAILURE, 0, now);
	}
	assert_int_equal(deployment_breaker(deps[0].state, now),
	    DEPLOY_CLOSED);
	assert_int_equal(deployment_failures(deps[0].state), 2);
	/* A success resets the count. */
	deployment_begin(deps[0].state);
	deployment_end(deps[0].state, DEPLOY_SUCCESS, 0, now);
	assert_int_equal(deployment_failures(deps[0].state), 0);
	for (i = 0; i < 3; i++) {
		deployment_begin(deps[0].state);
		deployment_end(deps[0].state, DEPLOY_FAILURE, 0, now);
	}
	assert_int_equal(deployment_breaker(deps[0].state, now), DEPLOY_OPEN);
	assert_string_equal(deployment_breaker_name(DEPLOY_OPEN), "open");
	assert_int_equal(deployment_select(NULL, deps, 1, 0, now + 999, 0, &probe),
	    -1);
	/* Cooldown over: half-open, and one probe only. */
	now += 1000;
	assert_int_equal(deployment_breaker(deps[0].state, now),
	    DEPLOY_HALF_OPEN);
	assert_int_equal(deployment_select(NULL, deps, 1, 0, now, 0, &probe), 0);
	assert_int_equal(probe, 1);
	deployment_begin(deps[0].state);
	assert_int_equal(deployment_select(NULL, deps, 1, 0, now, 0, &probe2), -1);
	/* The probe fails: open again for twice as long. */
	deployment_end(deps[0].state, DEPLOY_FAILURE, 1, now);
	assert_int_equal(deployment_breaker(deps[0].state, now + 1999),
	    DEPLOY_OPEN);
	assert_int_equal(deployment_breaker(deps[0].state, now + 2000),
	    DEPLOY_HALF_OPEN);
	now += 2000;
	/* A client gone mid-probe gives no verdict: another may probe. */
	assert_int_equal(deployment_select(NULL, deps, 1, 0, now, 0, &probe), 0);
	assert_int_equal(probe, 1);
	deployment_begin(deps[0].state);
	deployment_end(deps[0].state, DEPLOY_NO_VERDICT, 1, now);
	assert_int_equal(deployment_select(NULL, deps, 1, 0, now, 0, &probe), 0);
	assert_int_equal(probe, 1);
	deployment_begin(deps[0].state);
	deployment_end(deps[0].state, DEPLOY_SUCCESS, 1, now);
	assert_int_equal(deployment_breaker(deps[0].state, now),
	    DEPLOY_CLOSED);
	assert_int_equal(deployment_outstanding(deps[0].state), 0);
	/* Closed again: the cooldown is back to its first length. */
	for (i = 0; i < 3; i++) {
		deployment_begin(deps[0].state);
		deployment_end(deps[0].state, DEPLOY_FAILURE, 0, now);
	}
	assert_int_equal(deployment_breaker(deps[0].state, now + 999),
	    DEPLOY_OPEN);
	assert_int_equal(deployment_breaker(deps[0].state, now + 1000),
	    DEPLOY_HALF_OPEN);
}

/* The cooldown doubles to a cap of five minutes. */
static void
test_cooldown_cap(void **state)
{
	int	probe, i;
	int64_t	now = T0;

	(void)state;
	deployment_configure(1, 100000);
	make(1, NULL, NULL);
	deployment_begin(deps[0].state);
	deployment_end(deps[0].state, DEPLOY_FAILURE, 0, now);
	for (i = 0; i < 4; i++) {
		now += DEPLOY_COOLDOWN_MAX_MS;
		assert_int_equal(deployment_select(NULL, deps, 1, 0, now, 0, &probe),
		    0);
		assert_int_equal(probe, 1);
		deployment_begin(deps[0].state);
		deployment_end(deps[0].state, DEPLOY_FAILURE, 1, now);
	}
	assert_int_equal(deployment_breaker(deps[0].state,
	    now + DEPLOY_COOLDOWN_MAX_MS - 1), DEPLOY_OPEN);
	assert_int_equal(deployment_breaker(deps[0].state,
	    now + DEPLOY_COOLDOWN_MAX_MS), DEPLOY_HALF_OPEN);
}

/* Health check failures count; states survive a second reference. */
static void
test_health_and_table(void **state)
{
	struct deploy_state	*again;
	int			 i;

	(void)state;
	make(2, NULL, NULL);
	again = deployment_state_get("d", "m", "p0", "a:1");
	assert_ptr_equal(again, deps[0].state);
	for (i = 0; i < DEPLOY_FAILURES_DEFAULT; i++)
		deployment_health("d", "p0", 0, T0);
	deployment_health("d", "p1", 1, T0);
	assert_int_equal(deployment_breaker(deps[0].state, T0), DEPLOY_OPEN);
	assert_int_equal(deployment_breaker(deps[1].state, T0), DEPLOY_CLOSED);
	assert_int_equal(deployment_open_count("d", "p0", T0), 1);
	assert_int_equal(deployment_open_count("d", "p1", T0), 0);
	assert_int_equal(deployment_open_count("x", "p0", T0), 0);
	deployment_state_put(again);
	deployment_state_put(deps[0].state);
	deps[0].state = deployment_state_get("d", "m", "p0", "a:1");
	/* Both references gone, the state was forgotten: a fresh one. */
	assert_int_equal(deployment_breaker(deps[0].state, T0),
	    DEPLOY_CLOSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_least_outstanding, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_priority, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_breaker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cooldown_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_health_and_table, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
