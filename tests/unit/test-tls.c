/* tls.c: which mode --tls picks, what it refuses, and reloads that fail. */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "agent.h"
#include "fixture.h"
#include "xmalloc.h"

struct fixture {
	struct agent_config	 cfg;
	char			 dir[FIXTURE_DIR_MAX];
	char			 cert[128];
	char			 key[128];
};

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));
	char		 cmd[512];

	config_defaults(&f->cfg);
	fixture_dir_make(f->dir, sizeof(f->dir), "tls");
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt"
	    " ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=t -keyout %s"
	    " -out %s 2>/dev/null", f->key, f->cert);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(chmod(f->key, 0600), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	tls_stop();
	config_free(&f->cfg);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

static void
set(struct fixture *f, const char *key, const char *value)
{
	char	err[256];

	assert_int_equal(config_set(&f->cfg, key, value, err, sizeof(err)), 0);
}

static const char *
mode(void)
{
	struct tls_info	ti;
	const char	*m;

	tls_info(&ti);
	m = ti.mode;
	tls_info_clear(&ti);
	return m;
}

/* auto: plain without a hardware TEE, a generated key with one. */
static void
test_tls_auto(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	SSL		*ssl;

	assert_int_equal(tls_start(&f->cfg, 0, err, sizeof(err)), 0);
	assert_false(tls_enabled());
	assert_string_equal(mode(), "off");
	assert_null(tls_ssl_new());
	tls_stop();
	assert_int_equal(tls_start(&f->cfg, 1, err, sizeof(err)), 0);
	assert_true(tls_enabled());
	assert_string_equal(mode(), "generated");
	assert_non_null(ssl = tls_ssl_new());
	SSL_free(ssl);
	/* Nothing from files to reload: a no-op. */
	assert_int_equal(tls_reload(err, sizeof(err)), 0);
	tls_rotate();
	assert_true(tls_enabled());
}

static void
test_tls_off_and_refused(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];

	set(f, "tls", "off");
	assert_int_equal(tls_start(&f->cfg, 1, err, sizeof(err)), 0);
	assert_false(tls_enabled());
	set(f, "tls", "maybe");
	assert_int_equal(tls_start(&f->cfg, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "auto, generate or off"));
	set(f, "tls", "generate");
	set(f, "tls-cert", f->cert);
	set(f, "tls-key", f->key);
	assert_int_equal(tls_start(&f->cfg, 0, err, sizeof(err)), -1);
	set(f, "tls", "auto");
	free(f->cfg.tls_key);
	f->cfg.tls_key = NULL;
	assert_int_equal(tls_start(&f->cfg, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "go together"));
	assert_false(tls_enabled());
}

/* Files: the key's mode, a mismatched pair, a reload that fails. */
static void
test_tls_files(void **state)
{
	struct fixture	*f = *state;
	struct tls_info	 before, after;
	char		 err[256], cmd[512];
	FILE		*fp;

	set(f, "tls-cert", f->cert);
	set(f, "tls-key", f->key);
	assert_int_equal(chmod(f->key, 0640), 0);
	assert_int_equal(tls_start(&f->cfg, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "readable by group or others"));
	assert_int_equal(chmod(f->key, 0600), 0);
	assert_int_equal(tls_start(&f->cfg, 0, err, sizeof(err)), 0);
	assert_string_equal(mode(), "files");
	tls_info(&before);
	assert_true(before.on);
	assert_true(before.spki_len > 0);

	/* A broken certificate: refused, the old one kept. */
	assert_non_null(fp = fopen(f->cert, "w"));
	fputs("not a certificate\n", fp);
	fclose(fp);
	assert_int_equal(tls_reload(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no PEM certificate"));
	tls_info(&after);
	assert_memory_equal(before.spki_sha256, after.spki_sha256, 32);
	tls_info_clear(&after);

	/* Another key with the old certificate: a mismatch, refused. */
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt"
	    " ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=u -keyout"
	    " %s/k2 -out %s 2>/dev/null && chmod 600 %s/k2", f->dir, f->cert,
	    f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tls_reload(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not match"));

	/* The new pair: a new key served and bound. */
	free(f->cfg.tls_key);
	xasprintf(&f->cfg.tls_key, "%s/k2", f->dir);
	assert_int_equal(tls_reload(err, sizeof(err)), 0);
	tls_info(&after);
	assert_memory_not_equal(before.spki_sha256, after.spki_sha256, 32);
	tls_info_clear(&after);
	tls_info_clear(&before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tls_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_off_and_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tls_files, setup,
		    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
