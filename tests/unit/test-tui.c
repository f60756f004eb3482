/*
 * cube-tui's logic that needs no screen: the hosts file, the / filter, the
 * deploy checklist and its key derivation (held against the agent's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agent.h"
#include "cube-tui.h"

static void
test_hosts_parse(void **state)
{
	char	*names[4], err[128];
	int	 n, i;

	(void)state;
	n = hosts_parse("# the fleet\n\n  local \nops@gpu1:2222  # rack 3\n"
	    "\t[::1]:22\n", names, 4, err, sizeof(err));
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "local");
	assert_string_equal(names[1], "ops@gpu1:2222");
	assert_string_equal(names[2], "[::1]:22");
	for (i = 0; i < n; i++)
		free(names[i]);

	/* No newline at the end; only comments. */
	assert_int_equal(hosts_parse("gpu2", names, 4, err, sizeof(err)), 1);
	assert_string_equal(names[0], "gpu2");
	free(names[0]);
	assert_int_equal(hosts_parse("# none\n   \n", names, 4, err,
	    sizeof(err)), 0);

	/* Two words on a line, a control byte, too many hosts. */
	assert_int_equal(hosts_parse("local\ngpu1 gpu2\n", names, 4, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "line 2: not a host name");
	assert_int_equal(hosts_parse("a\x01\n", names, 4, err, sizeof(err)),
	    -1);
	assert_int_equal(hosts_parse("a\nb\nc\nd\ne\n", names, 4, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "line 5: more than 4 hosts");
}

static const struct output_field columns[] = {
	{ "KEY",	"key",			OUTPUT_PLAIN },
	{ "STATUS",	"status",		OUTPUT_PLAIN },
	{ "PRICE",	"pricing.input",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static void
test_filter(void **state)
{
	cJSON	*row;

	(void)state;
	row = cJSON_Parse("{\"key\":\"Chat-Large\",\"status\":\"inactive\","
	    "\"pricing\":{\"input\":\"0.15\"},\"secret\":\"hidden\"}");
	assert_true(filter_match("", row, columns));
	assert_true(filter_match("   ", row, columns));
	assert_true(filter_match("chat", row, columns));
	assert_true(filter_match("LARGE", row, columns));
	assert_true(filter_match("0.15", row, columns));
	/* Every word, each in any column. */
	assert_true(filter_match("chat inactive", row, columns));
	assert_false(filter_match("chat active-", row, columns));
	assert_false(filter_match("small", row, columns));
	/* Only shown columns count. */
	assert_false(filter_match("hidden", row, columns));
	cJSON_Delete(row);
}

static void
test_key_derivation(void **state)
{
	static const char *const names[] = {
		"GPT-4o mini", "  Llama 3.1 (70B)  ", "a--b__c", "x:y/z.1",
		"ÄÖÜ model", "---", "", "Qwen2.5 Coder 32B Instruct",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbb",
	};
	char	 key[256], *agent_key;
	size_t	 i;

	(void)state;
	checklist_key("GPT-4o mini", key, sizeof(key));
	assert_string_equal(key, "gpt-4o-mini");
	/* The same key the agent derives, for every name. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		checklist_key(names[i], key, sizeof(key));
		agent_key = admin_model_key_from_name(names[i]);
		assert_string_equal(key, agent_key != NULL ? agent_key : "");
		free(agent_key);
	}
}

struct fixture {
	cJSON			*providers;
	cJSON			*served;
	cJSON			*models;
	struct checklist_input	 in;
	struct check		 out[CHECKLIST_SIZE];
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	f->providers = cJSON_Parse("[{\"name\":\"local\",\"driver\":\"openai\","
	    "\"status\":\"active\",\"error\":null},{\"name\":\"down\","
	    "\"driver\":\"ollama\",\"status\":\"errored\",\"error\":"
	    "\"connection refused\"}]");
	f->served = cJSON_Parse("[\"gpt-4o-mini\",\"llama3:latest\"]");
	f->models = cJSON_Parse("[{\"key\":\"chat\"}]");
	f->in.providers = f->providers;
	f->in.provider = "local";
	f->in.served = f->served;
	f->in.models = f->models;
	f->in.name = "GPT-4o mini";
	f->in.model_id = "gpt-4o-mini";
	f->in.key = "";
	f->in.price_input = "0.15";
	f->in.price_output = "";
	f->in.price_cached = "";
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	cJSON_Delete(f->providers);
	cJSON_Delete(f->served);
	cJSON_Delete(f->models);
	free(f);
	return 0;
}

#define CHECK(f, i, st, text) do {					\
	assert_int_equal((f)->out[i].state, st);			\
	assert_string_equal((f)->out[i].why, text);			\
} while (0)

static void
test_checklist_ok(void **state)
{
	struct fixture	*f = *state;

	assert_true(checklist_eval(&f->in, f->out));
	assert_string_equal(f->out[0].name, "provider active");
	assert_string_equal(f->out[1].name, "model served");
	assert_string_equal(f->out[2].name, "key unique");
	assert_string_equal(f->out[3].name, "pricing");
	CHECK(f, 0, CHECK_OK, "local is active");
	CHECK(f, 1, CHECK_OK, "the backend serves gpt-4o-mini");
	CHECK(f, 2, CHECK_OK, "gpt-4o-mini is free");
	CHECK(f, 3, CHECK_OK, "priced");
}

static void
test_checklist_failures(void **state)
{
	struct fixture	*f = *state;

	/* An errored provider; a key taken; no price, not marked free. */
	f->in.provider = "down";
	f->in.key = "chat";
	f->in.price_input = "";
	assert_false(checklist_eval(&f->in, f->out));
	CHECK(f, 0, CHECK_FAIL, "errored: connection refused");
	CHECK(f, 2, CHECK_FAIL, "chat is taken");
	CHECK(f, 3, CHECK_FAIL, "set a price, or mark it free");

	/* Ollama: "llama3" is served as "llama3:latest"; others are not. */
	f->in.model_id = "llama3";
	checklist_eval(&f->in, f->out);
	CHECK(f, 1, CHECK_OK, "the backend serves llama3");
	f->in.model_id = "mistral";
	checklist_eval(&f->in, f->out);
	CHECK(f, 1, CHECK_FAIL, "the backend does not serve mistral");

	/* OpenAI-style: unlisted is a warning, the agent asks on deploy. */
	f->in.provider = "local";
	checklist_eval(&f->in, f->out);
	CHECK(f, 1, CHECK_WARN,
	    "mistral is not in the backend's list; the agent asks it on deploy");

	/* Unknown provider, bad price, knowingly free. */
	f->in.provider = "nope";
	f->in.price_output = "abc";
	assert_false(checklist_eval(&f->in, f->out));
	CHECK(f, 0, CHECK_FAIL, "no provider nope");
	assert_int_equal(f->out[3].state, CHECK_FAIL);
	f->in.provider = "local";
	f->in.model_id = "gpt-4o-mini";
	f->in.key = "";
	f->in.price_output = "0";
	f->in.free_ok = 1;
	assert_true(checklist_eval(&f->in, f->out));
	CHECK(f, 3, CHECK_WARN, "free: traced at zero cost");

	/* Nothing typed: each check says what it needs. */
	f->in.provider = "";
	f->in.model_id = "";
	f->in.name = "";
	assert_false(checklist_eval(&f->in, f->out));
	CHECK(f, 0, CHECK_FAIL, "pick a provider");
	CHECK(f, 1, CHECK_FAIL, "give a model id");
	CHECK(f, 2, CHECK_FAIL, "give a name or a key");
}

static void
test_checklist_pending(void **state)
{
	struct fixture	*f = *state;

	/* Before the host answered, nothing may go ahead. */
	f->in.providers = NULL;
	f->in.served = NULL;
	f->in.models = NULL;
	assert_false(checklist_eval(&f->in, f->out));
	CHECK(f, 0, CHECK_PENDING, "asking");
	CHECK(f, 1, CHECK_PENDING, "asking the backend");
	CHECK(f, 2, CHECK_PENDING, "asking");
	/* The backend could not be asked. */
	f->in.served_err = "connection refused";
	checklist_eval(&f->in, f->out);
	CHECK(f, 1, CHECK_FAIL, "backend: connection refused");
}

/* host_tls_read on a status text (NULL: none) at now; the mark into *mark. */
static void
tls_read(const char *status, time_t now, struct host_tls *tls,
    const char **mark, enum draw_role *role)
{
	cJSON	*st = NULL;

	if (status != NULL)
		assert_non_null(st = cJSON_Parse(status));
	host_tls_read(st, now, tls);
	cJSON_Delete(st);
	*mark = host_tls_mark(tls, role);
}

/* What status says of TLS, for the header, the Fleet and the Attestation. */
static void
test_host_tls(void **state)
{
	struct host_tls	 tls;
	enum draw_role	 role;
	const char	*mark;
	const char	*spki = "F3B4DF3DEB9A116FED62D366F0D43A2D"
			    "4FF78A2D1AAF3729A2E6F7F3E22C89B9";
	char		 st[512];
	time_t		 now = 1796000000;	/* 2026-11-30 */

	(void)state;
	/* No status yet; a status that does not say. */
	tls_read(NULL, now, &tls, &mark, &role);
	assert_int_equal(tls.state, HOST_TLS_UNKNOWN);
	assert_string_equal(mark, "[TLS ?]");
	tls_read("{\"listen\":\"127.0.0.1:8080\"}", now, &tls, &mark, &role);
	assert_int_equal(tls.state, HOST_TLS_UNKNOWN);
	tls_read("{\"tls\":{\"on\":1}}", now, &tls, &mark, &role);
	assert_int_equal(tls.state, HOST_TLS_UNKNOWN);

	/* Generated in a hardware TEE's memory; the hex comes out lower. */
	snprintf(st, sizeof(st), "{\"tee\":\"sev-guest\",\"listen\":"
	    "\"0.0.0.0:8443\",\"tls\":{\"on\":true,\"mode\":\"generated\","
	    "\"spki_sha256\":\"%s\",\"not_after\":\"2027-12-05T20:39:09Z\"}}",
	    spki);
	tls_read(st, now, &tls, &mark, &role);
	assert_int_equal(tls.state, HOST_TLS_ON);
	assert_string_equal(tls.how, "key generated in TEE memory");
	assert_string_equal(tls.spki, "f3b4df3deb9a116fed62d366f0d43a2d"
	    "4ff78a2d1aaf3729a2e6f7f3e22c89b9");
	assert_string_equal(tls.expires, "2027-12-05");
	assert_false(tls.expired);
	assert_false(tls.expires_soon);
	assert_string_equal(mark, "[TLS]");
	assert_int_equal(role, ROLE_OK);
	/* ... a week before it expires, and after. */
	tls_read(st, 1827434349, &tls, &mark, &role);
	assert_true(tls.expires_soon);
	assert_string_equal(mark, "[TLS exp]");
	assert_int_equal(role, ROLE_WARN);
	tls_read(st, 1828039149, &tls, &mark, &role);
	assert_true(tls.expired);
	assert_string_equal(mark, "[TLS EXP]");
	assert_int_equal(role, ROLE_ERROR);

	/* A simulated TEE, files; a malformed key or date. */
	snprintf(st, sizeof(st), "{\"tee\":\"sim\",\"tls\":{\"on\":true,"
	    "\"mode\":\"generated\",\"spki_sha256\":\"%s\"}}", spki);
	tls_read(st, now, &tls, &mark, &role);
	assert_string_equal(tls.how, "key generated in memory, simulated TEE");
	assert_int_equal(tls.not_after, 0);
	tls_read("{\"tls\":{\"on\":true,\"mode\":\"files\",\"spki_sha256\":"
	    "\"f3b4\",\"not_after\":\"2027-12-05\"}}", now, &tls, &mark,
	    &role);
	assert_string_equal(tls.how, "key and certificate from files");
	assert_string_equal(tls.spki, "");
	assert_int_equal(tls.not_after, 0);
	assert_string_equal(mark, "[TLS bad]");
	assert_int_equal(role, ROLE_ERROR);
	snprintf(st, sizeof(st), "{\"tls\":{\"on\":true,\"mode\":\"x\\u001b[2J\","
	    "\"spki_sha256\":\"%sg\"}}", spki);
	tls_read(st, now, &tls, &mark, &role);
	assert_string_equal(tls.how, "key of an unknown kind");
	assert_string_equal(tls.spki, "");

	/* Plain HTTP: quiet on loopback, loud elsewhere or when unknown. */
	tls_read("{\"listen\":\"127.0.0.1:8080\",\"tls\":{\"on\":false}}", now,
	    &tls, &mark, &role);
	assert_int_equal(tls.state, HOST_TLS_OFF);
	assert_true(tls.loopback);
	assert_string_equal(mark, "[no TLS]");
	assert_int_equal(role, ROLE_WARN);
	tls_read("{\"listen\":\"[::1]:8080\",\"tls\":{\"on\":false}}", now,
	    &tls, &mark, &role);
	assert_true(tls.loopback);
	tls_read("{\"listen\":\"0.0.0.0:8080\",\"tls\":{\"on\":false}}", now,
	    &tls, &mark, &role);
	assert_false(tls.loopback);
	assert_string_equal(tls.listen, "0.0.0.0:8080");
	assert_string_equal(mark, "[NO TLS!]");
	assert_int_equal(role, ROLE_ERROR);
	tls_read("{\"listen\":\"127.0.0.1:1\\n\",\"tls\":{\"on\":false}}",
	    now, &tls, &mark, &role);
	assert_string_equal(tls.listen, "");
	assert_false(tls.loopback);
	tls_read("{\"listen\":\"127.0.0.1:80808080808080808080808080808080808"
	    "08080808080808080808080808080808\",\"tls\":{\"on\":false}}", now,
	    &tls, &mark, &role);
	assert_string_equal(tls.listen, "");
	assert_string_equal(mark, "[NO TLS!]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts_parse),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_key_derivation),
		cmocka_unit_test(test_host_tls),
		cmocka_unit_test_setup_teardown(test_checklist_ok, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checklist_failures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checklist_pending, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
