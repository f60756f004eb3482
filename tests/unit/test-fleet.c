/*
 * cubectl's hosts for a run (tui/fleet.c, fleet_hosts): -H lists before
 * and after the command, --hosts-file, $CUBE_HOST, which of them make a
 * fleet run, and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cubectl.h"

struct run {
	struct cubectl		c;
	struct args		before, after;
	const struct args	*sets[2];
	struct hosts		h;
	struct fleet_options	o;
	char			err[512];
};

/* fleet_hosts over argv split at "|": global flags, then the command's. */
static int
run_hosts(struct run *r, const char *line)
{
	char	*copy, *argv[2][16], *w, *save = NULL;
	int	 argc[2] = { 0, 0 }, part = 0, rc;

	memset(r, 0, sizeof(*r));
	client_init(&r->c);
	copy = strdup(line);
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (strcmp(w, "|") == 0)
			part = 1;
		else
			argv[part][argc[part]++] = w;
	}
	assert_int_not_equal(args_parse(&r->before, cmd_global_flags, NULL,
	    argc[0], argv[0], 0, r->err, sizeof(r->err)), -1);
	assert_int_not_equal(args_parse(&r->after, cmd_global_flags, NULL,
	    argc[1], argv[1], 0, r->err, sizeof(r->err)), -1);
	r->sets[0] = &r->before;
	r->sets[1] = &r->after;
	rc = fleet_hosts(&r->c, r->sets, 2, &r->h, &r->o, r->err,
	    sizeof(r->err));
	/* The args point into copy: done with them before it goes. */
	args_free(&r->before);
	args_free(&r->after);
	free(copy);
	return rc;
}

static void
run_free(struct run *r)
{
	hosts_clear(&r->h);
	client_free(&r->c);
}

static void
test_fleet_hosts(void **state)
{
	struct run	r;

	(void)state;
	unsetenv("CUBE_HOST");

	/* No host: the local agent, one run. */
	assert_int_equal(run_hosts(&r, "|"), 0);
	assert_null(r.c.host);
	assert_int_equal(r.h.n, 0);
	run_free(&r);

	/* One host: a one-host run; "local" is the local agent. */
	assert_int_equal(run_hosts(&r, "-H ops@gpu1:2222 |"), 0);
	assert_string_equal(r.c.host, "ops@gpu1:2222");
	run_free(&r);
	assert_int_equal(run_hosts(&r, "| -H local"), 0);
	assert_null(r.c.host);
	run_free(&r);

	/* Several, before and after the command, in order. */
	assert_int_equal(run_hosts(&r, "-H a,b | -H c --parallel 2"
	    " --timeout 90s"), 1);
	assert_int_equal(r.h.n, 3);
	assert_string_equal(r.h.names[0], "a");
	assert_string_equal(r.h.names[2], "c");
	assert_int_equal(r.o.parallel, 2);
	assert_int_equal(r.o.timeout_s, 90);
	run_free(&r);
	assert_int_equal(run_hosts(&r, "-H a,b |"), 1);
	assert_int_equal(r.o.parallel, FLEET_PARALLEL);
	assert_int_equal(r.o.timeout_s, FLEET_TIMEOUT_S);
	run_free(&r);

	/* $CUBE_HOST, unless -H is given. */
	setenv("CUBE_HOST", "x,y", 1);
	assert_int_equal(run_hosts(&r, "|"), 1);
	assert_int_equal(r.h.n, 2);
	run_free(&r);
	assert_int_equal(run_hosts(&r, "-H z |"), 0);
	assert_string_equal(r.c.host, "z");
	run_free(&r);
	setenv("CUBE_HOST", "x,,y", 1);
	assert_int_equal(run_hosts(&r, "|"), -1);
	assert_string_equal(r.err, "$CUBE_HOST: '' is not a host"
	    " ([USER@]HOST[:PORT] or local, comma-separated)");
	run_free(&r);
	unsetenv("CUBE_HOST");

	/* Fleet options without a fleet, a host twice. */
	assert_int_equal(run_hosts(&r, "-H a | --timeout 5m"), -1);
	assert_string_equal(r.err, "--parallel and --timeout are for several"
	    " hosts (-H HOST,HOST or --hosts-file)");
	run_free(&r);
	assert_int_equal(run_hosts(&r, "-H a | -H a"), -1);
	assert_string_equal(r.err, "-H: a is named twice");
	run_free(&r);
}

static void
test_fleet_hosts_file(void **state)
{
	struct run	r;
	char		path[] = "/tmp/test-fleet.XXXXXX", line[128];
	FILE		*f;
	int		 fd;

	(void)state;
	unsetenv("CUBE_HOST");
	assert_true((fd = mkstemp(path)) != -1);
	assert_true((f = fdopen(fd, "w")) != NULL);
	fputs("# one host\ngpu1\n", f);
	fclose(f);

	/* A hosts file is a fleet run, even of one host. */
	snprintf(line, sizeof(line), "--hosts-file %s |", path);
	assert_int_equal(run_hosts(&r, line), 1);
	assert_int_equal(r.h.n, 1);
	assert_string_equal(r.h.names[0], "gpu1");
	assert_null(r.c.host);
	run_free(&r);

	/* Its hosts after -H's. */
	snprintf(line, sizeof(line), "-H gpu0 | --hosts-file %s", path);
	assert_int_equal(run_hosts(&r, line), 1);
	assert_int_equal(r.h.n, 2);
	assert_string_equal(r.h.names[0], "gpu0");
	assert_string_equal(r.h.names[1], "gpu1");
	run_free(&r);

	/* Empty: refused. */
	assert_true((f = fopen(path, "w")) != NULL);
	fputs("# none\n", f);
	fclose(f);
	snprintf(line, sizeof(line), "--hosts-file %s |", path);
	assert_int_equal(run_hosts(&r, line), -1);
	assert_string_equal(r.err, "--hosts-file: no hosts in the file");
	run_free(&r);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fleet_hosts),
		cmocka_unit_test(test_fleet_hosts_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
