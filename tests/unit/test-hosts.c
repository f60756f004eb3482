/*
 * Lists of agents (tui/hosts.c): -H's comma-separated hosts, a hosts file
 * added to them, and what is refused (empty items, bad bytes, a host named
 * twice, too many, a file that is not text).
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

static void
test_hosts_list(void **state)
{
	struct hosts	h = { .n = 0 };
	char		err[256];

	(void)state;
	assert_int_equal(hosts_add_list(&h, "gpu1,ops@gpu2:2222", "-H", err,
	    sizeof(err)), 0);
	assert_int_equal(hosts_add_list(&h, "[::1]:22", "-H", err,
	    sizeof(err)), 0);
	assert_int_equal(hosts_add_list(&h, "local", "-H", err, sizeof(err)),
	    0);
	assert_int_equal(h.n, 4);
	assert_string_equal(h.names[0], "gpu1");
	assert_string_equal(h.names[1], "ops@gpu2:2222");
	assert_string_equal(h.names[2], "[::1]:22");
	assert_string_equal(h.names[3], "local");

	/* Named twice, across two -H or within one. */
	assert_int_equal(hosts_add_list(&h, "gpu3,gpu1", "-H", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "-H: gpu1 is named twice");
	assert_int_equal(h.n, 5);	/* gpu3 was added before */
	hosts_clear(&h);
	assert_int_equal(h.n, 0);

	/* Empty items, white space, an option, a slash. */
	assert_int_equal(hosts_add_list(&h, "a,,b", "-H", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "-H: '' is not a host ([USER@]HOST[:PORT] or"
	    " local, comma-separated)");
	hosts_clear(&h);
	assert_int_equal(hosts_add_list(&h, "a,", "-H", err, sizeof(err)), -1);
	assert_string_equal(err, "-H: '' is not a host ([USER@]HOST[:PORT] or"
	    " local, comma-separated)");
	hosts_clear(&h);
	assert_int_equal(hosts_add_list(&h, "", "-H", err, sizeof(err)), -1);
	assert_int_equal(hosts_add_list(&h, "gpu 1", "-H", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "-H: 'gpu 1' is not a host ([USER@]HOST[:PORT]"
	    " or local, comma-separated)");
	assert_int_equal(hosts_add_list(&h, "-oProxyCommand=x", "-H", err,
	    sizeof(err)), -1);
	assert_int_equal(hosts_add_list(&h, "../x", "-H", err, sizeof(err)),
	    -1);
	hosts_clear(&h);
}

static void
test_hosts_max(void **state)
{
	struct hosts	h = { .n = 0 };
	char		err[256], name[16];
	int		i;

	(void)state;
	for (i = 0; i < HOSTS_MAX; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		assert_int_equal(hosts_add_list(&h, name, "-H", err,
		    sizeof(err)), 0);
	}
	assert_int_equal(hosts_add_list(&h, "one-more", "-H", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "-H: more than 64 hosts");
	assert_int_equal(h.n, HOSTS_MAX);
	hosts_clear(&h);
}

static void
test_hosts_file(void **state)
{
	struct hosts	h = { .n = 0 };
	char		path[] = "/tmp/test-hosts.XXXXXX", err[512], want[600];
	const char	text[] = "# fleet\ngpu1\n  ops@gpu2:2222 # rack 2\n";
	FILE		*f;
	int		 fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_true((f = fdopen(fd, "w")) != NULL);
	fputs(text, f);
	fclose(f);
	assert_int_equal(hosts_add_list(&h, "local", "-H", err, sizeof(err)),
	    0);
	assert_int_equal(hosts_add_file(&h, path, err, sizeof(err)), 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.names[1], "gpu1");
	assert_string_equal(h.names[2], "ops@gpu2:2222");

	/* The file again: its hosts are named twice. */
	assert_int_equal(hosts_add_file(&h, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: gpu1 is named twice", path);
	assert_string_equal(err, want);
	hosts_clear(&h);

	/* A NUL byte, a bad line: the file and the line are named. */
	assert_true((f = fopen(path, "w")) != NULL);
	fwrite("gpu1\0x\n", 1, 7, f);
	fclose(f);
	assert_int_equal(hosts_add_file(&h, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a text file", path);
	assert_string_equal(err, want);
	assert_true((f = fopen(path, "w")) != NULL);
	fputs("gpu1\ngpu 2\n", f);
	fclose(f);
	assert_int_equal(hosts_add_file(&h, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: line 2: not a host name", path);
	assert_string_equal(err, want);
	assert_int_equal(h.n, 0);
	unlink(path);

	assert_int_equal(hosts_add_file(&h, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts_list),
		cmocka_unit_test(test_hosts_max),
		cmocka_unit_test(test_hosts_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
