/*
 * dist/agent.conf, the packages' default config, against config.c: it
 * loads, it sets what the service needs, every value it shows commented
 * out is accepted, and the numbers and switches it calls defaults are
 * config_defaults()'s. (tests/scenario/default-config.sh checks that it
 * names every key of the table.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

#define DIST_LINES	512

struct dist_line {
	char	key[64];
	char	value[256];
	int	commented;	/* "#key = value": a default or an example */
	int	lineno;
};

/* The file's settings, commented out or not; prose comments are skipped. */
static size_t
dist_read(const char *path, struct dist_line *out, size_t max)
{
	FILE	*f;
	char	 line[512], *p, *eq;
	size_t	 n = 0, klen;
	int	 lineno = 0;

	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		p = line;
		out[n].commented = *p == '#';
		if (*p == '#')
			p++;
		/* A setting starts with its key: "#key = value" or "key = value". */
		klen = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (klen == 0 || strncmp(p + klen, " = ", 3) != 0)
			continue;
		assert_true(klen < sizeof(out[n].key));
		assert_true(n < max);
		memcpy(out[n].key, p, klen);
		out[n].key[klen] = '\0';
		eq = p + klen + 3;
		assert_true(strlen(eq) < sizeof(out[n].value));
		strcpy(out[n].value, eq);
		out[n].lineno = lineno;
		n++;
	}
	fclose(f);
	return n;
}

static const char *
dist_path(void)
{
	static char	 path[4096];
	const char	*root = getenv("CUBE_ROOT");

	snprintf(path, sizeof(path), "%s/dist/agent.conf",
	    root != NULL && *root != '\0' ? root : ".");
	return path;
}

/* As the service reads it: it loads, with the state and socket in place. */
static void
test_config_dist_loads(void **state)
{
	struct agent_config	cfg;
	char			err[512];

	(void)state;
	config_defaults(&cfg);
	if (config_load_file(&cfg, dist_path(), err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_string_equal(cfg.data_dir, "/var/lib/cube");
	assert_string_equal(cfg.admin_socket, "/run/cube/agent.sock");
	/* Nothing else is set: the rest stays at the defaults. */
	assert_string_equal(cfg.listen, "127.0.0.1:8080");
	assert_int_equal(cfg.workers, 1);
	assert_null(cfg.limits_redis_password);
	config_free(&cfg);
}

/* Every value shown commented out is one the agent takes as it stands. */
static void
test_config_dist_values(void **state)
{
	static struct dist_line	 lines[DIST_LINES];
	struct agent_config	 cfg;
	char			 err[512];
	size_t			 i, n, commented = 0;

	(void)state;
	n = dist_read(dist_path(), lines, DIST_LINES);
	config_defaults(&cfg);
	for (i = 0; i < n; i++) {
		if (!lines[i].commented)
			continue;
		commented++;
		if (config_set(&cfg, lines[i].key, lines[i].value, err,
		    sizeof(err)) == -1)
			fail_msg("dist/agent.conf:%d: %s", lines[i].lineno, err);
	}
	config_free(&cfg);
	assert_true(commented >= 40);
}

/*
 * The numbers and switches it calls defaults are the agent's: each set on
 * a copy of the defaults leaves it unchanged. max-connections is sized
 * from the open-file limit (config_finish()), the file shows its cap.
 */
static void
test_config_dist_defaults(void **state)
{
	static struct dist_line	 lines[DIST_LINES];
	struct agent_config	 defaults, cfg;
	char			 err[512];
	const char		*v;
	size_t			 i, n, checked = 0;

	(void)state;
	n = dist_read(dist_path(), lines, DIST_LINES);
	config_defaults(&defaults);
	for (i = 0; i < n; i++) {
		v = lines[i].value;
		if (!lines[i].commented ||
		    strcmp(lines[i].key, "max-connections") == 0)
			continue;
		/* Strings would replace a pointer; numbers and on/off do not. */
		if (v[strspn(v, "0123456789")] != '\0' &&
		    strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			continue;
		cfg = defaults;		/* shares its strings: never freed */
		if (config_set(&cfg, lines[i].key, v, err, sizeof(err)) == -1)
			fail_msg("dist/agent.conf:%d: %s", lines[i].lineno, err);
		if (memcmp(&cfg, &defaults, sizeof(cfg)) != 0)
			fail_msg("dist/agent.conf:%d: %s = %s is not the default",
			    lines[i].lineno, lines[i].key, v);
		checked++;
	}
	config_free(&defaults);
	assert_true(checked >= 25);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_dist_loads),
		cmocka_unit_test(test_config_dist_values),
		cmocka_unit_test(test_config_dist_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
