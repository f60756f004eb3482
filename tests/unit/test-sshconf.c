/* sshconf.c: the -H target and StrictHostKeyChecking as ssh reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sshconf.h"

static void
target_ok(const char *arg, const char *user, const char *host, int port)
{
	struct sshconf_target	t;
	char			err[256] = "";

	assert_int_equal(sshconf_parse_target(arg, &t, err, sizeof(err)), 0);
	if (user == NULL)
		assert_null(t.user);
	else
		assert_string_equal(t.user, user);
	assert_string_equal(t.host, host);
	assert_int_equal(t.port, port);
	sshconf_target_clear(&t);
	sshconf_target_clear(&t);	/* twice is harmless */
}

static void
target_bad(const char *arg, const char *why)
{
	struct sshconf_target	t;
	char			err[256] = "";

	assert_int_equal(sshconf_parse_target(arg, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, why));
	assert_null(t.user);
	assert_null(t.host);
}

static void
test_target(void **state)
{
	(void)state;
	target_ok("gpu1", NULL, "gpu1", 0);
	target_ok("ops@gpu1", "ops", "gpu1", 0);
	target_ok("ops@gpu1:2222", "ops", "gpu1", 2222);
	target_ok("10.0.0.7:22", NULL, "10.0.0.7", 22);
	target_ok("[::1]:2200", NULL, "::1", 2200);
	target_ok("root@[fe80::1]", "root", "fe80::1", 0);
	target_ok("::1", NULL, "::1", 0);
	/* The last @ splits: user names may hold one, host names not. */
	target_ok("a@b@host", "a@b", "host", 0);
}

static void
test_target_rejects(void **state)
{
	(void)state;
	target_bad("", "empty host name");
	target_bad("ops@", "empty host name");
	target_bad("@host", "empty user name");
	target_bad(":22", "empty host name");
	target_bad("host:0", "port is not 1-65535");
	target_bad("host:65536", "port is not 1-65535");
	target_bad("host:22x", "port is not 1-65535");
	target_bad("host:", "port is not 1-65535");
	target_bad("host:-1", "port is not 1-65535");
	target_bad("[::1", "bad [address]");
	target_bad("[]:22", "bad [address]");
	target_bad("[::1]x", "bad [address]");
}

/* Write text to a temporary file; returns its path (caller frees). */
static char *
config_file(const char *text)
{
	char	*path = strdup("/tmp/cube-sshconf.XXXXXX");
	int	 fd;

	assert_non_null(path);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static enum sshconf_strict
strict_of(const char *text, const char *alias)
{
	char			*path = config_file(text);
	enum sshconf_strict	 s = sshconf_strict(path, alias);

	unlink(path);
	free(path);
	return s;
}

static void
test_strict(void **state)
{
	static const char config[] =
	    "# comment\n"
	    "StrictHostKeyChecking=accept-new\n"	/* before any Host */
	    "Host gpu*\n"
	    "    StrictHostKeyChecking no\n";
	static const char sections[] =
	    "Host gpu1\n"
	    "    HostName 10.0.0.1\n"
	    "Host edge staging\n"
	    "    StrictHostKeyChecking = accept-new\n"
	    "Match host evil\n"
	    "    StrictHostKeyChecking no\n"
	    "Host *.example.com\n"
	    "    StrictHostKeyChecking ask\n"
	    "Host weird\n"
	    "    StrictHostKeyChecking perhaps\n";

	(void)state;
	/* The first value found wins, as in ssh. */
	assert_int_equal(strict_of(config, "gpu1"), SSHCONF_STRICT_ACCEPT_NEW);
	assert_int_equal(strict_of(sections, "gpu1"), SSHCONF_STRICT_UNSET);
	assert_int_equal(strict_of(sections, "staging"),
	    SSHCONF_STRICT_ACCEPT_NEW);
	assert_int_equal(strict_of(sections, "a.EXAMPLE.com"),
	    SSHCONF_STRICT_ASK);
	/* A Match section is not followed: what it sets does not apply. */
	assert_int_equal(strict_of(sections, "evil"), SSHCONF_STRICT_UNSET);
	/* A value ssh would refuse is taken as the strictest. */
	assert_int_equal(strict_of(sections, "weird"), SSHCONF_STRICT_YES);
	assert_int_equal(sshconf_strict("/nonexistent/config", "gpu1"),
	    SSHCONF_STRICT_UNSET);
	assert_int_equal(sshconf_strict(NULL, "gpu1"), SSHCONF_STRICT_UNSET);
}

static void
test_strict_negation(void **state)
{
	static const char config[] =
	    "Host gpu* !gpu-untrusted\n"
	    "    StrictHostKeyChecking no\n"
	    "Host lab\n"
	    "\tstricthostkeychecking \"Accept-New\"\n"
	    "Host *\n"
	    "    StrictHostKeyChecking yes\n";

	(void)state;
	assert_int_equal(strict_of(config, "gpu7"), SSHCONF_STRICT_NO);
	/* A negated match rules the section out; the next one applies. */
	assert_int_equal(strict_of(config, "gpu-untrusted"),
	    SSHCONF_STRICT_YES);
	/* Keywords and values are case-insensitive, quotes are dropped. */
	assert_int_equal(strict_of(config, "lab"), SSHCONF_STRICT_ACCEPT_NEW);
	assert_int_equal(strict_of(config, "other"), SSHCONF_STRICT_YES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_target_rejects),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_strict_negation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
