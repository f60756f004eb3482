/* config.c: the key table, the config file's syntax, defaults and ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"

/* Load text as a config file into cfg; the loader's return value. */
static int
load(struct agent_config *cfg, const char *text, char *err, size_t errlen)
{
	char	 path[] = "/tmp/cube-test-config.XXXXXX";
	FILE	*f;
	int	 fd, rc;

	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	rc = config_load_file(cfg, path, err, errlen);
	unlink(path);
	return rc;
}

static void
test_config_defaults(void **state)
{
	struct agent_config	cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.provider_check_interval, 60);
	assert_int_equal(cfg.workers, 1);
	config_free(&cfg);
}

/* One-character values and trailing blanks once lost the '='. */
static void
test_config_file(void **state)
{
	struct agent_config	cfg;
	char			err[256];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, "workers = 3\n"
	    "max-body = 2048   \n"
	    "  # a comment\n"
	    "idle-timeout-ms=7 # trailing comment\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.max_body, 2048);
	assert_int_equal(cfg.idle_timeout_ms, 7);
	assert_int_equal(load(&cfg, "provider-check-interval = 0\n", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.provider_check_interval, 0);
	assert_int_equal(load(&cfg, "provider-check-interval = 86401\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "provider-check-interval"));
	assert_int_equal(load(&cfg, "workers = 0\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "workers"));
	assert_int_equal(load(&cfg, "workers\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key = value"));
	assert_int_equal(load(&cfg, "nope = 1\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown setting 'nope'"));
	config_free(&cfg);
}

/* Client limits: keys and ranges, and max-connections fit to the fds. */
static void
test_config_client_limits(void **state)
{
	struct agent_config	cfg;
	char			err[256];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.head_timeout_ms, 10000);
	assert_int_equal(cfg.body_timeout_ms, 60000);
	assert_int_equal(cfg.max_connections_per_address, 256);
	assert_int_equal(load(&cfg, "head-timeout-ms = 500\n"
	    "body-timeout-ms = 700\nmax-connections = 9\n"
	    "max-connections-per-address = 3\n", err, sizeof(err)), 0);
	assert_int_equal(cfg.head_timeout_ms, 500);
	assert_int_equal(cfg.body_timeout_ms, 700);
	assert_int_equal(cfg.max_connections, 9);
	assert_int_equal(cfg.max_connections_per_address, 3);
	assert_int_equal(load(&cfg, "max-connections = 0\n", err,
	    sizeof(err)), -1);
	assert_int_equal(load(&cfg, "head-timeout-ms = 0\n", err,
	    sizeof(err)), -1);
	config_finish(&cfg);
	assert_int_equal(cfg.max_connections, 9);	/* as set */
	config_free(&cfg);

	/* Unset: from the open-file limit, within 16 and 16384. */
	config_defaults(&cfg);
	assert_int_equal(cfg.max_connections, 0);
	config_finish(&cfg);
	assert_true(cfg.max_connections >= 16 &&
	    cfg.max_connections <= 16384);
	config_free(&cfg);
	assert_int_equal(config_connections_for(64), 16);
	assert_int_equal(config_connections_for(1024), 480);
	assert_int_equal(config_connections_for(20000), 9968);
	assert_int_equal(config_connections_for(32832), 16384);
	assert_int_equal(config_connections_for(1048576), 16384);
	/* And back: what a cap needs, which sizes it again to the cap. */
	assert_int_equal(config_nofile_for(10000), 20064);
	assert_int_equal(config_connections_for(config_nofile_for(10000)),
	    10000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_client_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
