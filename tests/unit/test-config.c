/*
 * config.c: the key table, the config file's syntax, defaults and ranges,
 * and what SIGHUP reloads.
 */
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

/* Run fn(arg) with stderr into a file; its text, NUL-ended (free it). */
static char *
capture_stderr(void (*fn)(void *), void *arg)
{
	FILE	*f;
	char	*buf;
	long	 n;
	int	 saved;

	assert_non_null(f = tmpfile());
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fileno(f), STDERR_FILENO) != -1);
	fn(arg);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

struct reload_case {
	struct agent_config	*cur, *given, *next;
	int			 applied;
};

static void
run_reload(void *arg)
{
	struct reload_case	*c = arg;

	c->applied = config_reload(c->cur, c->given, c->next);
}

/*
 * SIGHUP's comparison: reloadable keys apply and are logged old -> new,
 * restart-only ones are compared with the config as given at start and
 * only warned about, a secret is never printed.
 */
static void
test_config_reload(void **state)
{
	struct agent_config	cur, given, next;
	struct reload_case	c = { &cur, &given, &next, -1 };
	char			err[256], *log;

	(void)state;
	config_defaults(&cur);
	assert_int_equal(load(&cur, "listen = 127.0.0.1:0\n", err,
	    sizeof(err)), 0);
	config_copy(&given, &cur);
	/* Start-up resolved the port: not a change on reload. */
	free(cur.listen);
	cur.listen = strdup("127.0.0.1:41000");
	config_defaults(&next);
	assert_int_equal(load(&next, "listen = 127.0.0.1:0\n"
	    "max-body = 2048\nidle-timeout-ms = 60000\nworkers = 4\n"
	    "limits-redis-password = topsecret-value\n", err, sizeof(err)), 0);
	log = capture_stderr(run_reload, &c);
	assert_int_equal(c.applied, 1);
	assert_int_equal(cur.max_body, 2048);
	assert_int_equal(cur.workers, 1);
	assert_string_equal(cur.listen, "127.0.0.1:41000");
	assert_null(cur.limits_redis_password);
	assert_non_null(strstr(log,
	    "info: SIGHUP: max-body 16777216 -> 2048\n"));
	assert_non_null(strstr(log, "warning: SIGHUP: workers 1 -> 4 needs a"
	    " restart; still running with the old value\n"));
	assert_non_null(strstr(log, "warning: SIGHUP: limits-redis-password"
	    " (changed) needs a restart"));
	assert_null(strstr(log, "topsecret"));
	assert_null(strstr(log, "listen"));
	assert_null(strstr(log, "idle-timeout-ms"));	/* unchanged */
	free(log);

	/* The same again: nothing applies, the warnings stay. */
	log = capture_stderr(run_reload, &c);
	assert_int_equal(c.applied, 0);
	assert_null(strstr(log, "max-body"));
	assert_non_null(strstr(log, "workers 1 -> 4"));
	free(log);
	config_free(&cur);
	config_free(&given);
	config_free(&next);
}

/* A URL's credentials never reach the log, as SIGHUP prints it either. */
static void
test_config_url_for_log(void **state)
{
	struct agent_config	cur, given, next;
	struct reload_case	c = { &cur, &given, &next, -1 };
	char			err[256], *log, *u;

	(void)state;
	u = config_url_for_log("https://user:pw@collector:4318/v1/traces");
	assert_string_equal(u, "https://***@collector:4318/v1/traces");
	free(u);
	u = config_url_for_log("http://collector:4318/a@b");
	assert_string_equal(u, "http://collector:4318/a@b");
	free(u);
	config_defaults(&cur);
	config_copy(&given, &cur);
	config_defaults(&next);
	assert_int_equal(load(&next, "otlp-endpoint = "
	    "http://u:hunter2@c:1/v1/traces\n", err, sizeof(err)), 0);
	log = capture_stderr(run_reload, &c);
	assert_non_null(strstr(log, "SIGHUP: otlp-endpoint (none) ->"
	    " http://***@c:1/v1/traces needs a restart"));
	assert_null(strstr(log, "hunter2"));
	free(log);
	config_free(&cur);
	config_free(&given);
	config_free(&next);
}

/* Which keys reload, and what a worker's copy takes. */
static void
test_config_reload_keys(void **state)
{
	struct agent_config	cfg, w;
	char			err[256];

	(void)state;
	assert_int_equal(config_key_reloads("max-body"), 1);
	assert_int_equal(config_key_reloads("idle-timeout-ms"), 1);
	assert_int_equal(config_key_reloads("breaker-failures"), 1);
	assert_int_equal(config_key_reloads("otlp-batch"), 1);
	assert_int_equal(config_key_reloads("listen"), 0);
	assert_int_equal(config_key_reloads("workers"), 0);
	assert_int_equal(config_key_reloads("otlp-queue"), 0);
	assert_int_equal(config_key_reloads("log-format"), 0);
	assert_int_equal(config_key_reloads("limits-redis-password"), 0);
	assert_int_equal(config_key_reloads("nope"), -1);

	config_defaults(&cfg);
	assert_int_equal(load(&cfg, "max-body = 4096\nworkers = 7\n"
	    "max-connections-per-address = 3\nlisten = 10.0.0.1:1\n", err,
	    sizeof(err)), 0);
	memset(&w, 0, sizeof(w));
	config_copy_reloadable(&w, &cfg);
	assert_int_equal(w.max_body, 4096);
	assert_int_equal(w.max_connections_per_address, 3);
	assert_int_equal(w.workers, 0);		/* restart-only */
	assert_null(w.listen);			/* no pointer is copied */
	config_free(&cfg);
}

static void
test_config_log_format(void **state)
{
	struct agent_config	cfg;
	char			err[256];

	(void)state;
	config_defaults(&cfg);
	assert_null(cfg.log_format);
	assert_int_equal(load(&cfg, "log-format = json\n", err,
	    sizeof(err)), 0);
	assert_string_equal(cfg.log_format, "json");
	assert_int_equal(load(&cfg, "log-format = yaml\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: log-format: 'yaml' is not text or"
	    " json"));
	assert_string_equal(cfg.log_format, "json");
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_client_limits),
		cmocka_unit_test(test_config_reload),
		cmocka_unit_test(test_config_url_for_log),
		cmocka_unit_test(test_config_reload_keys),
		cmocka_unit_test(test_config_log_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
