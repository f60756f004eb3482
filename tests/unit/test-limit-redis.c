/*
 * limit-redis.c's reading of Redis: the acquire script's verdict from
 * RESP bytes as a hostile server could send them, the bounded reader,
 * key names, and the settings limit_redis_configure() refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <sodium.h>

#include "agent.h"

/* One reply parsed from raw RESP with the agent's reader: NULL if none. */
static redisReply *
reply_of(const char *resp, int *rc)
{
	redisReader	*r = limit_redis_reader_new();
	void		*reply = NULL;

	assert_int_equal(redisReaderFeed(r, resp, strlen(resp)), REDIS_OK);
	*rc = redisReaderGetReply(r, &reply);
	redisReaderFree(r);
	return reply;
}

/* The verdict of resp: parse's return, v filled. */
static int
verdict_of(const char *resp, struct limit_redis_verdict *v)
{
	redisReply	*reply;
	int		 rc, parsed;

	reply = reply_of(resp, &rc);
	assert_int_equal(rc, REDIS_OK);
	assert_non_null(reply);
	parsed = limit_redis_verdict_parse(reply, v);
	freeReplyObject(reply);
	return parsed;
}

static void
test_verdict_ok(void **state)
{
	struct limit_redis_verdict	v;

	(void)state;
	assert_int_equal(verdict_of("*5\r\n:0\r\n:3\r\n:17\r\n:6000000\r\n"
	    ":3000000\r\n", &v), 0);
	assert_int_equal(v.error, 0);
	assert_int_equal(v.verdict, 0);
	assert_int_equal(v.requests, 3);
	assert_int_equal(v.tokens, 17);
	assert_int_equal(v.spent, 6000000);
	assert_int_equal(v.reserved, 3000000);
	assert_int_equal(verdict_of("*5\r\n:2\r\n:0\r\n:0\r\n:9000000\r\n"
	    ":0\r\n", &v), 0);
	assert_int_equal(v.verdict, 2);
	assert_int_equal(v.spent, 9000000);
	assert_int_equal(verdict_of("*5\r\n:1\r\n:4\r\n:0\r\n:0\r\n:0\r\n",
	    &v), 0);
	assert_int_equal(v.verdict, 1);
	assert_int_equal(v.requests, 4);
}

/* Anything but five non-negative integers led by 0, 1 or 2: no verdict. */
static void
test_verdict_refused(void **state)
{
	static const char *const bad[] = {
		"-NOSCRIPT No matching script.\r\n",
		"-ERR Error running script\r\n",
		"+OK\r\n",
		":0\r\n",
		"$-1\r\n",
		"*-1\r\n",
		"*0\r\n",
		"*4\r\n:0\r\n:1\r\n:2\r\n:3\r\n",
		"*6\r\n:0\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n",
		"*5\r\n:3\r\n:0\r\n:0\r\n:0\r\n:0\r\n",
		"*5\r\n:-1\r\n:0\r\n:0\r\n:0\r\n:0\r\n",
		"*5\r\n:0\r\n:0\r\n:0\r\n:-5\r\n:0\r\n",
		"*5\r\n:0\r\n$1\r\n1\r\n:0\r\n:0\r\n:0\r\n",
		"*5\r\n:0\r\n:0\r\n:0\r\n:0\r\n*1\r\n:0\r\n",
		"*5\r\n:0\r\n:0\r\n$-1\r\n:0\r\n:0\r\n",
	};
	struct limit_redis_verdict	v;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (verdict_of(bad[i], &v) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(v.error, 1);
	}
	assert_int_equal(limit_redis_verdict_parse(NULL, &v), -1);
	assert_int_equal(v.error, 1);
}

/* The reader: huge or negative arrays and broken RESP fail, never allocate. */
static void
test_reader_bounds(void **state)
{
	static const char *const bad[] = {
		"*2147483647\r\n",
		"*17\r\n",
		"*-5\r\n",
		"?what\r\n",
		":12x\r\n",
	};
	redisReply	*reply;
	size_t		 i;
	int		 rc;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reply = reply_of(bad[i], &rc);
		if (rc != REDIS_ERR)
			fail_msg("read: %s", bad[i]);
		assert_null(reply);
	}
	/* Sixteen elements are still read. */
	reply = reply_of("*16\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n"
	    ":1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n", &rc);
	assert_int_equal(rc, REDIS_OK);
	assert_non_null(reply);
	assert_int_equal(reply->elements, 16);
	freeReplyObject(reply);
	/* A partial reply is no reply yet. */
	reply = reply_of("*5\r\n:0\r\n:1", &rc);
	assert_int_equal(rc, REDIS_OK);
	assert_null(reply);
}

static void
test_key(void **state)
{
	char	buf[256], small[16];

	(void)state;
	assert_int_equal(limit_redis_key(buf, sizeof(buf), "cube", "acme",
	    "tok_0123456789abcdef", 'b', 1764979200), 45);
	assert_string_equal(buf, "cube:{acme:tok_0123456789abcdef}:b:1764979200");
	assert_int_equal(limit_redis_key(buf, sizeof(buf), "p", "d", "t", 'r',
	    29416320), 18);
	assert_string_equal(buf, "p:{d:t}:r:29416320");
	assert_int_equal(limit_redis_key(small, sizeof(small), "cube", "acme",
	    "tok_0123456789abcdef", 'r', 1), -1);
}

/* configure's err for settings: -1 and the message named. */
static void
check_refused(const char *url, const char *user, const char *password,
    const char *ca, const char *want)
{
	struct agent_config	cfg;
	char			err[256];

	config_defaults(&cfg);
	cfg.limits_redis = url != NULL ? strdup(url) : NULL;
	cfg.limits_redis_user = user != NULL ? strdup(user) : NULL;
	cfg.limits_redis_password = password != NULL ? strdup(password) :
	    NULL;
	cfg.limits_redis_ca = ca != NULL ? strdup(ca) : NULL;
	err[0] = '\0';
	assert_int_equal(limit_redis_configure(&cfg, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("err '%s' lacks '%s'", err, want);
	/* The password left the config either way. */
	assert_null(cfg.limits_redis_password);
	assert_int_equal(limit_redis_enabled(), 0);
	config_free(&cfg);
}

static void
test_configure(void **state)
{
	struct agent_config	cfg;
	struct limit_redis_status	st;
	char			err[256];

	(void)state;
	check_refused("http://127.0.0.1:6379", NULL, NULL, NULL,
	    "is not redis://HOST:PORT");
	check_refused("redis://127.0.0.1", NULL, NULL, NULL, "is not");
	check_refused("redis://127.0.0.1:0", NULL, NULL, NULL, "is not");
	check_refused("redis://127.0.0.1:65536", NULL, NULL, NULL, "is not");
	check_refused("redis://user@127.0.0.1:6379", NULL, NULL, NULL,
	    "is not");
	check_refused("redis://[::1:6379", NULL, NULL, NULL, "is not");
	check_refused(NULL, NULL, "secret", NULL, "need limits-redis");
	check_refused("redis://127.0.0.1:6379", "alice", NULL, NULL,
	    "limits-redis-user needs limits-redis-password");
	check_refused("redis://127.0.0.1:6379", NULL, NULL, "/ca.pem",
	    "needs a rediss:// URL");
	check_refused("rediss://127.0.0.1:6379", NULL, NULL,
	    "/nonexistent/ca.pem", "cannot load");

	/* Not configured: the local limiter, nothing else. */
	config_defaults(&cfg);
	assert_int_equal(limit_redis_configure(&cfg, err, sizeof(err)), 0);
	assert_int_equal(limit_redis_enabled(), 0);
	assert_null(limit_redis_new(NULL));
	limit_redis_status(&st);
	assert_int_equal(st.on, 0);
	config_free(&cfg);

	config_defaults(&cfg);
	cfg.limits_redis = strdup("redis://[::1]:6380");
	cfg.limits_redis_password = strdup("pw");
	cfg.fleet_size = 3;
	assert_int_equal(limit_redis_configure(&cfg, err, sizeof(err)), 0);
	assert_int_equal(limit_redis_enabled(), 1);
	assert_int_equal(limit_redis_fleet_size(), 3);
	assert_string_equal(limit_redis_prefix(), "cube");
	assert_null(cfg.limits_redis_password);
	limit_redis_unconfigure();
	assert_int_equal(limit_redis_enabled(), 0);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_ok),
		cmocka_unit_test(test_verdict_refused),
		cmocka_unit_test(test_reader_bounds),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_configure),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
