/*
 * admin.c and admin-*.c: the JSON-RPC envelope, every method family, the
 * registry republish after writes, and the socket server's framing.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "fixture.h"
#include "log.h"
#include "rpc.h"

struct fixture {
	char		 dir[FIXTURE_DIR_MAX];
	char		 sock[100];
	struct agent	 agent;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	struct agent	*a;
	char		 err[256];

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "admin");
	snprintf(f->sock, sizeof(f->sock), "%s/run/agent.sock", f->dir);
	a = &f->agent;
	a->cfg.listen = strdup("127.0.0.1:8080");
	a->cfg.data_dir = strdup(f->dir);
	a->cfg.admin_socket = strdup(f->sock);
	a->cfg.tee = strdup("none");
	a->cfg.workers = 2;
	a->started = time(NULL) - 5;
	a->vault = fixture_vault_open(f->dir);
	a->store = fixture_store_open(f->dir);
	assert_non_null(a->base = event_base_new());
	assert_int_equal(registry_reload(a->store, a->vault, err,
	    sizeof(err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	struct agent	*a = &f->agent;

	registry_shutdown();
	event_base_free(a->base);
	store_close(a->store);
	vault_free(a->vault);
	free(a->cfg.listen);
	free(a->cfg.data_dir);
	free(a->cfg.admin_socket);
	free(a->cfg.tee);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

/* Send one raw line to admin_handle; the parsed reply (NULL: none). */
static cJSON *
raw(struct fixture *f, const char *line)
{
	char	*out;
	cJSON	*j;
	size_t	 len;

	if ((out = admin_handle(&f->agent, NULL, line, strlen(line))) == NULL)
		return NULL;
	len = strlen(out);
	assert_true(len > 0 && out[len - 1] == '\n');
	assert_null(memchr(out, '\n', len - 1));
	j = cJSON_Parse(out);
	assert_non_null(j);
	free(out);
	assert_string_equal(cJSON_GetObjectItem(j, "jsonrpc")->valuestring,
	    "2.0");
	return j;
}

/* Call method with params (a JSON object text); the reply. */
static cJSON *
call(struct fixture *f, const char *method, const char *params)
{
	char	*line;
	cJSON	*j;

	if (asprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\","
	    "\"params\":%s}", method, params != NULL ? params : "{}") == -1)
		fail();
	j = raw(f, line);
	free(line);
	assert_non_null(j);
	return j;
}

/* The result of a call that must succeed; the caller deletes reply. */
static const cJSON *
ok(cJSON *reply)
{
	const cJSON	*res = cJSON_GetObjectItem(reply, "result");

	if (res == NULL) {
		char	*s = cJSON_Print(reply);

		fail_msg("expected a result: %s", s);
	}
	assert_null(cJSON_GetObjectItem(reply, "error"));
	return res;
}

/* A call that must succeed, its result not needed; frees reply. */
static void
ok_delete(cJSON *reply)
{
	ok(reply);
	cJSON_Delete(reply);
}

/* Check the error code and its name; frees reply. */
static void
expect_error(cJSON *reply, int code, const char *contains)
{
	const cJSON	*e = cJSON_GetObjectItem(reply, "error");

	if (e == NULL) {
		char	*s = cJSON_Print(reply);

		fail_msg("expected error %d: %s", code, s);
	}
	assert_null(cJSON_GetObjectItem(reply, "result"));
	if ((int)cJSON_GetObjectItem(e, "code")->valuedouble != code)
		fail_msg("expected %d, got %d: %s", code,
		    (int)cJSON_GetObjectItem(e, "code")->valuedouble,
		    cJSON_GetObjectItem(e, "message")->valuestring);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"),
	    "name")->valuestring, rpc_error_name(code));
	if (contains != NULL && strstr(cJSON_GetObjectItem(e,
	    "message")->valuestring, contains) == NULL)
		fail_msg("'%s' not in '%s'", contains,
		    cJSON_GetObjectItem(e, "message")->valuestring);
	cJSON_Delete(reply);
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItem(o, name);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void
test_peer_allowed(void **state)
{
	(void)state;
	assert_true(admin_peer_allowed(0, 100, 500, 200));
	assert_true(admin_peer_allowed(500, 100, 500, 200));
	assert_true(admin_peer_allowed(1000, 200, 500, 200));
	assert_false(admin_peer_allowed(1000, 100, 500, 200));
}

static void
test_envelope(void **state)
{
	struct fixture	*f = *state;
	cJSON		*r;
	char		 deep[256];
	int		 i, n = 0;

	expect_error(raw(f, "not json"), RPC_PARSE_ERROR, NULL);
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\""), RPC_PARSE_ERROR, NULL);
	expect_error(raw(f, "{} {}"), RPC_PARSE_ERROR, NULL);
	r = raw(f, "not json");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "id")));
	cJSON_Delete(r);

	/* 33 levels is too deep, 32 is fine (and then not a request). */
	for (i = 0; i < 33; i++)
		deep[n++] = '[';
	for (i = 0; i < 33; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	expect_error(raw(f, deep), RPC_PARSE_ERROR, "deeper");
	memset(deep, '[', 32);
	memset(deep + 32, ']', 32);
	deep[64] = '\0';
	expect_error(raw(f, deep), RPC_INVALID_REQUEST, NULL);
	/* Brackets inside strings do not count. */
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}"),
	    RPC_METHOD_NOT_FOUND, NULL);

	expect_error(raw(f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"status\"}]"), RPC_INVALID_REQUEST, "batch");
	expect_error(raw(f, "42"), RPC_INVALID_REQUEST, NULL);
	expect_error(raw(f, "{\"id\":1,\"method\":\"status\"}"),
	    RPC_INVALID_REQUEST, "jsonrpc");
	expect_error(raw(f, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":"
	    "\"status\"}"), RPC_INVALID_REQUEST, NULL);
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}"),
	    RPC_INVALID_REQUEST, "method");
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":"
	    "\"status\"}"), RPC_INVALID_REQUEST, "id");
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"status\",\"params\":5}"), RPC_INVALID_REQUEST, NULL);
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"status\",\"params\":[]}"), RPC_INVALID_PARAMS, NULL);
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"nope.nope\"}"), RPC_METHOD_NOT_FOUND, "nope.nope");
	expect_error(call(f, "status", "{\"x\":1}"), RPC_INVALID_PARAMS,
	    "'x'");

	/* The id comes back as given; notifications get nothing. */
	r = raw(f, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":"
	    "\"status\"}\r");
	assert_string_equal(str(r, "id"), "abc");
	cJSON_Delete(r);
	assert_null(raw(f, "{\"jsonrpc\":\"2.0\",\"method\":\"status\"}"));
	assert_null(raw(f, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}"));
	assert_null(raw(f, "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"domain.create\",\"params\":{\"name\":\"quiet\"}}"));
	r = call(f, "domain.get", "{\"domain\":\"quiet\"}");
	ok(r);
	cJSON_Delete(r);
}

/*
 * A NUL in any string or key, escaped or raw, is refused before the
 * method runs: cJSON would cut "ev\u0000il" to "ev".
 */
static void
test_nul(void **state)
{
	static const char	 rawnul[] = "{\"jsonrpc\":\"2.0\",\"id\":3,"
	    "\"method\":\"domain.create\",\"params\":{\"name\":\"ev\0il\"}}";
	struct fixture		*f = *state;
	cJSON			*r;
	char			*out;

	expect_error(call(f, "domain.create", "{\"name\":\"ev\\u0000il\"}"),
	    RPC_INVALID_PARAMS, "NUL");
	/* In a key: "name\u0000x" would read as "name". */
	expect_error(call(f, "domain.create", "{\"name\\u0000x\":\"evil\"}"),
	    RPC_INVALID_PARAMS, "NUL");
	/* In the method, in an unused member, nested in an array. */
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"domain.create\\u0000x\",\"params\":{\"name\":\"evil\"}}"),
	    RPC_INVALID_PARAMS, "NUL");
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"status\",\"x\":\"\\u0000\"}"), RPC_INVALID_PARAMS, "NUL");
	expect_error(call(f, "token.create", "{\"domain\":\"acme\","
	    "\"models\":[\"a\",\"b\\u0000\"]}"), RPC_INVALID_PARAMS, "NUL");
	/* A raw NUL byte is refused the same way. */
	out = admin_handle(&f->agent, NULL, rawnul, sizeof(rawnul) - 1);
	assert_non_null(out);
	r = cJSON_Parse(out);
	free(out);
	assert_int_equal(cJSON_GetObjectItem(r, "id")->valueint, 3);
	expect_error(r, RPC_INVALID_PARAMS, "NUL");
	/* A string id may be cut: it is not echoed. A number is. */
	r = raw(f, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":"
	    "\"status\"}");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "id")));
	expect_error(r, RPC_INVALID_PARAMS, "NUL");
	/* A notification gets no reply and does nothing. */
	assert_null(raw(f, "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"domain.create\",\"params\":{\"name\":\"ev\\u0000il\"}}"));
	r = call(f, "domain.list", "{}");
	assert_int_equal(cJSON_GetArraySize(ok(r)), 0);
	cJSON_Delete(r);

	/* An escaped backslash before "u0000" is an ordinary string. */
	expect_error(raw(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"nope\\\\u0000\"}"), RPC_METHOD_NOT_FOUND, "nope\\u0000");
	r = call(f, "domain.create", "{\"name\":\"acme\"}");
	ok(r);
	cJSON_Delete(r);
	r = call(f, "guardrail.create", "{\"domain\":\"acme\",\"key\":\"w\","
	    "\"kind\":\"pii\",\"action\":\"redact\","
	    "\"description\":\"a\\\\u0000b\"}");
	assert_string_equal(str(ok(r), "description"), "a\\u0000b");
	cJSON_Delete(r);
	/* An escaped backslash, then an escaped NUL: refused. */
	expect_error(call(f, "guardrail.edit", "{\"domain\":\"acme\","
	    "\"key\":\"w\",\"description\":\"a\\\\\\u0000b\"}"),
	    RPC_INVALID_PARAMS, "NUL");
}

static void
test_status(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*res;
	cJSON		*r;
	unsigned char	 pk[64];
	size_t		 pklen;

	r = call(f, "status", NULL);
	res = ok(r);
	assert_string_equal(str(res, "version"), CUBE_VERSION);
	assert_int_equal((int)cJSON_GetObjectItem(res, "pid")->valuedouble,
	    (int)getpid());
	assert_true(cJSON_GetObjectItem(res, "uptime_s")->valuedouble >= 5);
	assert_string_equal(str(res, "listen"), "127.0.0.1:8080");
	assert_int_equal((int)cJSON_GetObjectItem(res, "workers")->valuedouble,
	    2);
	assert_string_equal(str(res, "tee"), "none");
	assert_string_equal(str(res, "data_dir"), f->dir);
	assert_int_equal(sodium_base642bin(pk, sizeof(pk), str(res,
	    "seal_public_key"), strlen(str(res, "seal_public_key")), NULL,
	    &pklen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(pklen, 32);
	assert_memory_equal(pk, vault_seal_public_key(f->agent.vault), 32);
	assert_int_equal((int)cJSON_GetObjectItem(res, "domains")->valuedouble,
	    0);
	cJSON_Delete(r);
}

/* cors_origins on domain.create/edit: checked, each once, in the snapshot. */
static void
test_domain_origins(struct fixture *f)
{
	const cJSON	*res;
	cJSON		*r;
	char		*s, big[8192];
	struct registry	*reg;
	size_t		 i, n;

	r = call(f, "domain.get", "{\"domain\":\"acme\"}");
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(ok(r), "cors_origins"));
	assert_string_equal(s, "[]");
	free(s);
	cJSON_Delete(r);
	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"cors_origins\":"
	    "[\"https://a.example\",\"http://localhost:5173\","
	    "\"https://a.example\"]}");
	res = ok(r);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(res, "cors_origins"));
	assert_string_equal(s, "[\"https://a.example\","
	    "\"http://localhost:5173\"]");
	free(s);
	/* Other settings are left as they were. */
	assert_int_equal((int)cJSON_GetObjectItem(res,
	    "trace_retention_days")->valuedouble, 7);
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_string_equal(registry_find_domain(reg, "acme", 4)->cors_origins,
	    "https://a.example http://localhost:5173");
	registry_release(reg);

	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"cors_origins\":\"https://a.example\"}"), RPC_INVALID_PARAMS,
	    "cors_origins: expected an array");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"cors_origins\":[\"https://a.example\",5]}"),
	    RPC_INVALID_PARAMS, "cors_origins[1]: expected a string");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"cors_origins\":[[\"https://a.example\"]]}"),
	    RPC_INVALID_PARAMS, "cors_origins[0]");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"cors_origins\":[\"https://a.example/\"]}"),
	    RPC_INVALID_PARAMS, "cors_origins[0]: must be");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"cors_origins\":[\"https://\u00e9.example\"]}"),
	    RPC_INVALID_PARAMS, "cors_origins[0]: must be");
	expect_error(call(f, "domain.create", "{\"name\":\"web\","
	    "\"cors_origins\":[\"null\"]}"), RPC_INVALID_PARAMS,
	    "cors_origins[0]");
	/* 33 origins: one too many. */
	n = snprintf(big, sizeof(big), "{\"domain\":\"acme\",\"cors_origins\""
	    ":[");
	for (i = 0; i < CORS_ORIGINS_MAX + 1; i++)
		n += snprintf(big + n, sizeof(big) - n, "%s\"https://h%zu\"",
		    i > 0 ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "]}");
	expect_error(call(f, "domain.edit", big), RPC_INVALID_PARAMS,
	    "cors_origins: at most 32");
	/* Refused edits changed nothing. */
	reg = registry_acquire();
	assert_string_equal(registry_find_domain(reg, "acme", 4)->cors_origins,
	    "https://a.example http://localhost:5173");
	registry_release(reg);

	/* null and [] clear. */
	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"cors_origins\":"
	    "null}");
	ok(r);
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_null(registry_find_domain(reg, "acme", 4)->cors_origins);
	registry_release(reg);
	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"cors_origins\":"
	    "[\"*\"]}");
	ok(r);
	cJSON_Delete(r);
	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"cors_origins\":"
	    "[]}");
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(ok(r), "cors_origins"));
	assert_string_equal(s, "[]");
	free(s);
	cJSON_Delete(r);
}

/* jwt on domain.edit: checked whole, merged member by member, cleared. */
static void
test_domain_jwt(struct fixture *f)
{
	const struct jwt_config	*c;
	const cJSON		*res;
	struct registry		*reg;
	cJSON			*r;
	char			*s;

	r = call(f, "domain.get", "{\"domain\":\"acme\"}");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(ok(r), "jwt")));
	cJSON_Delete(r);
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\",\"jwt\":"
	    "{\"issuer\":\"https://idp.example\"}}"), RPC_INVALID_PARAMS,
	    "jwt.audience: required");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\",\"jwt\":"
	    "{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
	    "\"algorithms\":[\"HS256\"]}}"), RPC_INVALID_PARAMS,
	    "jwt.algorithms: 'HS256' is not one of");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\",\"jwt\":"
	    "\"on\"}"), RPC_INVALID_PARAMS, "jwt: must be an object or null");
	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"jwt\":"
	    "{\"issuer\":\"https://idp.example\",\"audience\":\"cube\","
	    "\"jwks_file\":\"/nonexistent/jwks.json\",\"algorithms\":"
	    "[\"ES256\",\"RS256\"],\"claims\":{\"rpm\":\"cube_rpm\"}}}");
	res = cJSON_GetObjectItem(ok(r), "jwt");
	s = cJSON_PrintUnformatted(res);
	assert_string_equal(s, "{\"issuer\":\"https://idp.example\","
	    "\"audience\":\"cube\",\"jwks_file\":\"/nonexistent/jwks.json\","
	    "\"algorithms\":[\"RS256\",\"ES256\"],\"leeway\":60,"
	    "\"jwks_refresh\":600,\"domain_claim\":null,\"claims\":"
	    "{\"rpm\":\"cube_rpm\"},\"rpm\":0,\"tpm\":0,\"budget\":null,"
	    "\"budget_period\":\"none\",\"models\":null}");
	free(s);
	cJSON_Delete(r);
	/* A member edited, a URL replacing the file, a claim added. */
	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"jwt\":"
	    "{\"leeway\":5,\"jwks_url\":\"https://idp.example/jwks\","
	    "\"claims\":{\"tpm\":\"cube_tpm\"}}}");
	ok(r);
	cJSON_Delete(r);
	reg = registry_acquire();
	c = registry_find_domain(reg, "acme", 4)->jwt;
	assert_non_null(c);
	assert_string_equal(c->issuer, "https://idp.example");
	assert_int_equal(c->leeway, 5);
	assert_null(c->jwks_file);
	assert_string_equal(c->jwks_url, "https://idp.example/jwks");
	assert_string_equal(c->claims[JWT_CLAIM_RPM], "cube_rpm");
	assert_string_equal(c->claims[JWT_CLAIM_TPM], "cube_tpm");
	assert_int_equal(c->algs, (1u << JWT_RS256) | (1u << JWT_ES256));
	assert_null(c->keys);		/* nothing fetched in a unit test */
	registry_release(reg);
	/* A refused edit changes nothing; null removes the settings. */
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\",\"jwt\":"
	    "{\"issuer\":null}}"), RPC_INVALID_PARAMS, "jwt.issuer: required");
	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"jwt\":null}");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(ok(r), "jwt")));
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_null(registry_find_domain(reg, "acme", 4)->jwt);
	registry_release(reg);
}

static void
test_domains(void **state)
{
	struct fixture		*f = *state;
	const cJSON		*res;
	cJSON			*r;
	struct registry		*reg;
	char			 id[37], params[128];

	r = call(f, "domain.create", "{\"name\":\"acme\"}");
	res = ok(r);
	snprintf(id, sizeof(id), "%s", str(res, "id"));
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	assert_string_equal(str(res, "name"), "acme");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "log_content")));
	assert_int_equal((int)cJSON_GetObjectItem(res,
	    "trace_retention_days")->valuedouble, 30);
	assert_int_equal(strlen(str(res, "created_at")), 20);
	assert_int_equal(str(res, "created_at")[19], 'Z');
	cJSON_Delete(r);

	/* Published before the reply. */
	reg = registry_acquire();
	assert_non_null(registry_find_domain(reg, "acme", 4));
	assert_non_null(registry_find_domain(reg, id, 36));
	registry_release(reg);

	expect_error(call(f, "domain.create", "{\"name\":\"acme\"}"),
	    RPC_CONFLICT, "acme");
	expect_error(call(f, "domain.create", "{}"), RPC_INVALID_PARAMS,
	    "name");
	expect_error(call(f, "domain.create", "{\"name\":5}"),
	    RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "domain.create", "{\"name\":\"Acme\"}"),
	    RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "domain.create", "{\"name\":\"-x\"}"),
	    RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "domain.create", "{\"name\":\"\"}"),
	    RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "domain.create", "{\"name\":\"a234567890123456"
	    "789012345678901234567890123456789012345678901234\"}"),
	    RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "domain.create", "{\"name\":"
	    "\"12345678-1234-4234-8234-123456789012\"}"), RPC_INVALID_PARAMS,
	    "name");
	expect_error(call(f, "domain.create", "{\"name\":\"x\",\"nme\":1}"),
	    RPC_INVALID_PARAMS, "nme");
	expect_error(call(f, "domain.create", "{\"name\":\"x\",\"name\":\"y\"}"),
	    RPC_INVALID_PARAMS, "twice");
	r = call(f, "domain.create", "{\"name\":\"0-zeta_1\"}");
	ok(r);
	cJSON_Delete(r);

	r = call(f, "domain.list", NULL);
	res = ok(r);
	assert_int_equal(cJSON_GetArraySize(res), 2);
	assert_string_equal(str(cJSON_GetArrayItem(res, 0), "name"),
	    "0-zeta_1");
	assert_string_equal(str(cJSON_GetArrayItem(res, 1), "name"), "acme");
	assert_string_equal(str(cJSON_GetArrayItem(res, 1), "id"), id);
	cJSON_Delete(r);

	snprintf(params, sizeof(params), "{\"domain\":\"%s\"}", id);
	r = call(f, "domain.get", params);
	assert_string_equal(str(ok(r), "name"), "acme");
	cJSON_Delete(r);
	expect_error(call(f, "domain.get", "{\"domain\":\"nope\"}"),
	    RPC_NOT_FOUND, "nope");
	expect_error(call(f, "domain.get", "{}"), RPC_INVALID_PARAMS,
	    "domain");

	r = call(f, "domain.edit", "{\"domain\":\"acme\",\"log_content\":true,"
	    "\"trace_retention_days\":7}");
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "log_content")));
	assert_int_equal((int)cJSON_GetObjectItem(res,
	    "trace_retention_days")->valuedouble, 7);
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_int_equal(registry_find_domain(reg, "acme", 4)->log_content, 1);
	registry_release(reg);
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"trace_retention_days\":0}"), RPC_INVALID_PARAMS,
	    "trace_retention_days");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"trace_retention_days\":1.5}"), RPC_INVALID_PARAMS,
	    "trace_retention_days");
	expect_error(call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"log_content\":1}"), RPC_INVALID_PARAMS, "log_content");

	test_domain_origins(f);
	test_domain_jwt(f);

	r = call(f, "status", NULL);
	assert_int_equal((int)cJSON_GetObjectItem(ok(r), "domains")->valuedouble,
	    2);
	cJSON_Delete(r);
}

/* Seal key to the agent's public key, as cubectl does; base64 in out. */
static void
seal(struct fixture *f, const char *key, char *out, size_t outlen)
{
	unsigned char	sealed[256];
	size_t		len = strlen(key);

	assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)key,
	    len, vault_seal_public_key(f->agent.vault)), 0);
	sodium_bin2base64(out, outlen, sealed, len + crypto_box_SEALBYTES,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* The reply must not contain needle anywhere. */
static void
no_secret(cJSON *r, const char *needle)
{
	char	*s = cJSON_PrintUnformatted(r);

	assert_null(strstr(s, needle));
	free(s);
}

/* The error, its message exactly as given; frees reply. */
static void
expect_message(cJSON *reply, int code, const char *message)
{
	const cJSON	*e = cJSON_GetObjectItem(reply, "error");

	assert_non_null(e);
	assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring,
	    message);
	expect_error(reply, code, NULL);
}

/*
 * The shared list, lookup and show (admin-entity.c): a domain's rows
 * only, and each method's own words for what is not there.
 */
static void
test_entity_lookups(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*res;
	cJSON		*r;

	ok_delete(call(f, "domain.create", "{\"name\":\"acme\"}"));
	ok_delete(call(f, "domain.create", "{\"name\":\"beta\"}"));
	ok_delete(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"driver\":\"openai\",\"url\":\"http://127.0.0.1:9\"}"));
	ok_delete(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"key\":\"m\",\"name\":\"m\",\"model_id\":\"x\","
	    "\"force\":true}"));
	ok_delete(call(f, "guardrail.create", "{\"domain\":\"acme\",\"key\":"
	    "\"g\",\"kind\":\"pii\",\"action\":\"redact\"}"));

	r = call(f, "model.show", "{\"domain\":\"acme\",\"key\":\"m\"}");
	assert_string_equal(str(ok(r), "key"), "m");
	cJSON_Delete(r);
	r = call(f, "guardrail.show", "{\"domain\":\"acme\",\"key\":\"g\"}");
	assert_string_equal(str(ok(r), "key"), "g");
	cJSON_Delete(r);
	r = call(f, "provider.list", "{\"domain\":\"acme\"}");
	res = ok(r);
	assert_int_equal(cJSON_GetArraySize(res), 1);
	assert_string_equal(str(cJSON_GetArrayItem(res, 0), "name"), "local");
	assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0),
	    "breakers_open")->valuedouble, 0);
	cJSON_Delete(r);

	/* Another domain sees none of them. */
	r = call(f, "provider.list", "{\"domain\":\"beta\"}");
	assert_int_equal(cJSON_GetArraySize(ok(r)), 0);
	cJSON_Delete(r);
	r = call(f, "model.list", "{\"domain\":\"beta\"}");
	assert_int_equal(cJSON_GetArraySize(ok(r)), 0);
	cJSON_Delete(r);
	r = call(f, "guardrail.list", "{\"domain\":\"beta\"}");
	assert_int_equal(cJSON_GetArraySize(ok(r)), 0);
	cJSON_Delete(r);
	expect_message(call(f, "model.show", "{\"domain\":\"beta\",\"key\":"
	    "\"m\"}"), RPC_NOT_FOUND, "model 'm' not found in domain 'beta'");
	expect_message(call(f, "guardrail.show", "{\"domain\":\"beta\","
	    "\"key\":\"g\"}"), RPC_NOT_FOUND,
	    "guardrail 'g' not found in domain 'beta'");
	expect_message(call(f, "model.disable", "{\"domain\":\"beta\","
	    "\"key\":\"m\"}"), RPC_NOT_FOUND,
	    "model 'm' not found in domain 'beta'");
	expect_message(call(f, "provider.delete", "{\"domain\":\"beta\","
	    "\"name\":\"local\"}"), RPC_NOT_FOUND,
	    "provider 'local' not found in this domain");
	expect_message(call(f, "provider.edit", "{\"domain\":\"beta\","
	    "\"name\":\"local\",\"url\":\"http://h\"}"), RPC_NOT_FOUND,
	    "provider 'local' not found in this domain");

	/* Parameters: checked before the lookup, naming the field. */
	expect_error(call(f, "model.show", "{\"domain\":\"acme\"}"),
	    RPC_INVALID_PARAMS, "key");
	expect_error(call(f, "model.show", "{\"domain\":\"acme\",\"key\":"
	    "\"m\",\"x\":1}"), RPC_INVALID_PARAMS, "x");
	expect_error(call(f, "guardrail.show", "{\"domain\":\"acme\",\"key\":"
	    "\"a b\"}"), RPC_INVALID_PARAMS, "key");
	expect_error(call(f, "provider.delete", "{\"domain\":\"acme\","
	    "\"name\":\"a/b\"}"), RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "model.list", "{\"domain\":\"nope\"}"),
	    RPC_NOT_FOUND, "nope");
	expect_error(call(f, "model.list", "{}"), RPC_INVALID_PARAMS,
	    "domain");
	expect_error(call(f, "guardrail.list", "{\"domain\":\"acme\","
	    "\"key\":\"g\"}"), RPC_INVALID_PARAMS, "key");
}

static void
test_providers_models_tokens(void **state)
{
	struct fixture		*f = *state;
	const cJSON		*res;
	cJSON			*r, *m;
	struct registry		*reg;
	const struct reg_domain	*d;
	const struct reg_model	*rm;
	const struct reg_token	*t;
	char			 b64[512], params[1024], secret[TOKEN_LEN + 1];
	char			 fp[32], tokid[32];

	r = call(f, "domain.create", "{\"name\":\"acme\"}");
	cJSON_Delete(r);
	r = call(f, "domain.create", "{\"name\":\"beta\"}");
	cJSON_Delete(r);

	/* provider.add, with and without a credential. */
	seal(f, "sk-secret-123", b64, sizeof(b64));
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"driver\":\"openai\",\"url\":"
	    "\"http://127.0.0.1:8000/v1/\",\"credential\":\"%s\"}", b64);
	r = call(f, "provider.add", params);
	res = ok(r);
	assert_string_equal(str(res, "url"), "http://127.0.0.1:8000/v1");
	assert_string_equal(str(res, "credential"), "sealed");
	assert_string_equal(str(res, "status"), "active");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "error")));
	snprintf(fp, sizeof(fp), "%s", str(res, "fingerprint"));
	assert_int_equal(strlen(fp), 16);
	no_secret(r, "sk-secret");
	cJSON_Delete(r);
	expect_error(call(f, "provider.add", params), RPC_CONFLICT, "local");
	r = call(f, "provider.add", "{\"domain\":\"acme\",\"name\":\"ol\","
	    "\"driver\":\"ollama\",\"url\":\"http://127.0.0.1:11434\","
	    "\"responses_api\":true}");
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "responses_api")));
	assert_string_equal(str(res, "credential"), "none");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "fingerprint")));
	cJSON_Delete(r);
	/* Same key, same fingerprint. */
	seal(f, "sk-secret-123", b64, sizeof(b64));
	snprintf(params, sizeof(params), "{\"domain\":\"beta\",\"name\":"
	    "\"local\",\"driver\":\"vllm\",\"url\":\"https://h/v1\","
	    "\"credential\":\"%s\"}", b64);
	r = call(f, "provider.add", params);
	assert_string_equal(str(ok(r), "fingerprint"), fp);
	cJSON_Delete(r);

	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"x\",\"driver\":\"tgi\",\"url\":\"http://h\"}"),
	    RPC_INVALID_PARAMS, "driver");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"x\",\"driver\":\"openai\",\"url\":\"http://h\","
	    "\"responses_api\":\"yes\"}"), RPC_INVALID_PARAMS,
	    "responses_api: expected true or false");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"x\",\"driver\":\"openai\",\"url\":\"ftp://h\"}"),
	    RPC_INVALID_PARAMS, "url");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"x\",\"driver\":\"openai\",\"url\":\"http://u:p@h/v1\"}"),
	    RPC_INVALID_PARAMS, "url");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"x y\",\"driver\":\"openai\",\"url\":\"http://h\"}"),
	    RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"x\",\"driver\":\"openai\",\"url\":\"http://h\","
	    "\"credential\":\"!!!\"}"), RPC_INVALID_PARAMS, "credential");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"x\",\"driver\":\"openai\",\"url\":\"http://h\","
	    "\"credential\":\"c2stcGxhaW4=\"}"), RPC_INVALID_PARAMS,
	    "does not open");
	seal(f, "sk-with-newline\n", b64, sizeof(b64));
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"x\",\"driver\":\"openai\",\"url\":\"http://h\",\"credential\":"
	    "\"%s\"}", b64);
	expect_error(call(f, "provider.add", params), RPC_INVALID_PARAMS,
	    "newline");
	expect_error(call(f, "provider.add", "{\"domain\":\"nope\",\"name\":"
	    "\"x\",\"driver\":\"openai\",\"url\":\"http://h\"}"),
	    RPC_NOT_FOUND, "nope");

	r = call(f, "provider.list", "{\"domain\":\"acme\"}");
	res = ok(r);
	assert_int_equal(cJSON_GetArraySize(res), 2);
	no_secret(r, "sk-secret");
	cJSON_Delete(r);

	/* Guardrails a model names must exist in its domain. */
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\","
	    "\"provider\":\"local\",\"name\":\"x\",\"model_id\":\"x\","
	    "\"guard_in\":[\"pii\"]}"), RPC_NOT_FOUND,
	    "guard_in: guardrail 'pii' not found");
	r = call(f, "guardrail.create", "{\"domain\":\"acme\",\"key\":"
	    "\"pii\",\"kind\":\"pii\",\"action\":\"redact\"}");
	res = ok(r);
	assert_string_equal(str(res, "kind"), "pii");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "types")));
	cJSON_Delete(r);

	/* model.deploy: key derived from the name, defaults, pricing. */
	r = call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"GPT-4o  mini!\",\"model_id\":\"gpt-4o-mini\","
	    "\"price_input\":\"0.15\",\"price_output\":\"0.6\","
	    "\"price_cached\":\"0.075\",\"tools\":true,\"guard_in\":[\"pii\"],"
	    "\"force\":true}");
	res = ok(r);
	assert_string_equal(str(res, "key"), "gpt-4o-mini");
	assert_string_equal(str(res, "name"), "GPT-4o  mini!");
	assert_string_equal(str(res, "provider"), "local");
	assert_string_equal(str(res, "category"), "llm");
	assert_string_equal(str(res, "status"), "active");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(res,
	    "capabilities"), "tools")));
	m = cJSON_GetObjectItem(res, "pricing");
	assert_string_equal(str(m, "input"), "0.15");
	assert_string_equal(str(m, "output"), "0.6");
	assert_string_equal(str(m, "cached"), "0.075");
	m = cJSON_GetObjectItem(res, "settings");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "temperature")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "max_tokens")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "system_prompt")));
	m = cJSON_GetObjectItem(res, "guardrails");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "input"),
	    0)->valuestring, "pii");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "output")),
	    0);
	assert_string_equal(str(res, "description"), "");
	cJSON_Delete(r);

	reg = registry_acquire();
	d = registry_find_domain(reg, "acme", 4);
	rm = registry_find_model(d, "gpt-4o-mini", 11);
	assert_non_null(rm);
	assert_int_equal(rm->price_input, 150000000);
	assert_string_equal(rm->provider->auth->data,
	    "Authorization: Bearer sk-secret-123");
	assert_null(registry_find_model(registry_find_domain(reg, "beta", 4),
	    "gpt-4o-mini", 11));
	registry_release(reg);

	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"GPT 4o mini\",\"model_id\":\"x\","
	    "\"key\":\"gpt-4o-mini\",\"force\":true}"), RPC_FAILED,
	    "key unique: model 'gpt-4o-mini' already exists");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"ghost\",\"name\":\"n\",\"model_id\":\"x\"}"), RPC_NOT_FOUND,
	    "ghost");
	/* A provider of another domain does not count. */
	expect_error(call(f, "model.deploy", "{\"domain\":\"beta\",\"provider\":"
	    "\"ol\",\"name\":\"n\",\"model_id\":\"x\"}"), RPC_NOT_FOUND, "ol");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\"}"), RPC_INVALID_PARAMS, "model_id");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\",\"model_id\":\"x\",\"temperature\":3}"),
	    RPC_INVALID_PARAMS, "temperature");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\",\"model_id\":\"x\",\"price_input\":0.1}"),
	    RPC_INVALID_PARAMS, "price_input");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\",\"model_id\":\"x\",\"price_input\":"
	    "\"0.0000000001\"}"), RPC_INVALID_PARAMS, "price_input");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\",\"model_id\":\"x\",\"category\":\"tts\"}"),
	    RPC_INVALID_PARAMS, "category");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"!!!\",\"model_id\":\"x\"}"),
	    RPC_INVALID_PARAMS, "key");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\",\"model_id\":\"x\",\"key\":\"a b\"}"),
	    RPC_INVALID_PARAMS, "key");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\",\"model_id\":\"x\",\"max_tokens\":0}"),
	    RPC_INVALID_PARAMS, "max_tokens");
	expect_error(call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":"
	    "\"local\",\"name\":\"n\\u0001\",\"model_id\":\"x\"}"),
	    RPC_INVALID_PARAMS, "name");
	r = call(f, "model.deploy", "{\"domain\":\"acme\",\"provider\":\"ol\","
	    "\"name\":\"Nomic Embed\",\"model_id\":\"nomic-embed-text\","
	    "\"key\":\"embed/nomic:v1.5\",\"category\":\"embedding\","
	    "\"temperature\":0.2,\"max_tokens\":512,\"system_prompt\":\"hi\\n\","
	    "\"description\":\"d\",\"status\":\"inactive\",\"force\":true}");
	res = ok(r);
	assert_string_equal(str(res, "key"), "embed/nomic:v1.5");
	m = cJSON_GetObjectItem(res, "settings");
	assert_true(cJSON_GetObjectItem(m, "temperature")->valuedouble == 0.2);
	assert_int_equal((int)cJSON_GetObjectItem(m, "max_tokens")->valuedouble,
	    512);
	assert_string_equal(str(m, "system_prompt"), "hi\n");
	cJSON_Delete(r);

	/* model.edit, rename, clear, enable / disable, show, list. */
	r = call(f, "model.edit", "{\"domain\":\"acme\",\"key\":"
	    "\"embed/nomic:v1.5\",\"new_key\":\"nomic\",\"temperature\":null,"
	    "\"system_prompt\":null,\"description\":\"new\"}");
	res = ok(r);
	assert_string_equal(str(res, "key"), "nomic");
	m = cJSON_GetObjectItem(res, "settings");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "temperature")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "system_prompt")));
	assert_int_equal((int)cJSON_GetObjectItem(m, "max_tokens")->valuedouble,
	    512);
	assert_string_equal(str(res, "description"), "new");
	cJSON_Delete(r);
	expect_error(call(f, "model.edit", "{\"domain\":\"acme\",\"key\":"
	    "\"nomic\",\"new_key\":\"gpt-4o-mini\"}"), RPC_FAILED, "key unique");
	expect_error(call(f, "model.edit", "{\"domain\":\"acme\",\"key\":"
	    "\"nomic\",\"provider\":\"ghost\"}"), RPC_NOT_FOUND, "ghost");
	expect_error(call(f, "model.edit", "{\"domain\":\"acme\",\"key\":"
	    "\"nomic\",\"name\":null}"), RPC_INVALID_PARAMS, "name");
	expect_error(call(f, "model.show", "{\"domain\":\"acme\",\"key\":"
	    "\"embed/nomic:v1.5\"}"), RPC_NOT_FOUND, "embed/nomic:v1.5");
	expect_error(call(f, "model.show", "{\"domain\":\"beta\",\"key\":"
	    "\"nomic\"}"), RPC_NOT_FOUND, NULL);

	reg = registry_acquire();
	rm = registry_find_model(registry_find_domain(reg, "acme", 4), "nomic",
	    5);
	assert_non_null(rm);
	assert_int_equal(rm->active, 0);
	registry_release(reg);
	r = call(f, "model.enable", "{\"domain\":\"acme\",\"key\":\"nomic\"}");
	assert_string_equal(str(ok(r), "status"), "active");
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_int_equal(registry_find_model(registry_find_domain(reg, "acme",
	    4), "nomic", 5)->active, 1);
	registry_release(reg);
	r = call(f, "model.disable", "{\"domain\":\"acme\",\"key\":\"nomic\"}");
	assert_string_equal(str(ok(r), "status"), "inactive");
	cJSON_Delete(r);
	r = call(f, "model.show", "{\"domain\":\"acme\",\"key\":\"nomic\"}");
	assert_string_equal(str(ok(r), "status"), "inactive");
	cJSON_Delete(r);
	r = call(f, "model.list", "{\"domain\":\"acme\"}");
	res = ok(r);
	assert_int_equal(cJSON_GetArraySize(res), 2);
	assert_string_equal(str(cJSON_GetArrayItem(res, 0), "key"),
	    "gpt-4o-mini");
	cJSON_Delete(r);

	/* token.create: the secret once, a hash in the store. */
	expect_error(call(f, "token.create", "{\"domain\":\"acme\",\"models\":"
	    "[\"ghost\"]}"), RPC_NOT_FOUND, "ghost");
	expect_error(call(f, "token.create", "{\"domain\":\"acme\",\"models\":"
	    "[]}"), RPC_INVALID_PARAMS, "models");
	expect_error(call(f, "token.create", "{\"domain\":\"acme\",\"rpm\":0}"),
	    RPC_INVALID_PARAMS, "rpm");
	expect_error(call(f, "token.create", "{\"domain\":\"acme\",\"budget\":"
	    "\"0\"}"), RPC_INVALID_PARAMS, "budget");
	r = call(f, "token.create", "{\"domain\":\"acme\",\"name\":\"ci\","
	    "\"expires_in_s\":3600,\"models\":[\"gpt-4o-mini\"],\"rpm\":60,"
	    "\"budget\":\"12.5\"}");
	res = ok(r);
	snprintf(secret, sizeof(secret), "%s", str(res, "token"));
	snprintf(tokid, sizeof(tokid), "%s", str(res, "id"));
	assert_true(token_well_formed(secret, strlen(secret)));
	assert_memory_equal(tokid, "tok_", 4);
	assert_string_equal(str(res, "name"), "ci");
	assert_int_equal(strlen(str(res, "domain")), 36);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(res, "expires_at")));
	assert_string_equal(str(res, "budget"), "12.5");
	assert_int_equal((int)cJSON_GetObjectItem(res, "rpm")->valuedouble, 60);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "tpm")));
	cJSON_Delete(r);

	reg = registry_acquire();
	t = registry_find_token(reg, f->agent.vault, secret, strlen(secret),
	    time(NULL));
	assert_non_null(t);
	assert_string_equal(t->id, tokid);
	assert_ptr_equal(t->domain, registry_find_domain(reg, "acme", 4));
	assert_int_equal(t->budget, 12500000000LL);
	assert_true(registry_token_allows(t, registry_find_model(t->domain,
	    "gpt-4o-mini", 11)));
	assert_false(registry_token_allows(t, registry_find_model(t->domain,
	    "nomic", 5)));
	registry_release(reg);

	r = call(f, "token.list", "{\"domain\":\"acme\"}");
	res = ok(r);
	assert_int_equal(cJSON_GetArraySize(res), 1);
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "token"));
	assert_string_equal(str(cJSON_GetArrayItem(res, 0), "status"),
	    "active");
	no_secret(r, secret + 5);
	cJSON_Delete(r);
	r = call(f, "token.list", "{\"domain\":\"beta\"}");
	assert_int_equal(cJSON_GetArraySize(ok(r)), 0);
	cJSON_Delete(r);

	snprintf(params, sizeof(params), "{\"domain\":\"beta\",\"id\":\"%s\"}",
	    tokid);
	expect_error(call(f, "token.revoke", params), RPC_NOT_FOUND, NULL);
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"id\":\"%s\"}",
	    tokid);
	r = call(f, "token.revoke", params);
	res = ok(r);
	assert_string_equal(str(res, "status"), "revoked");
	assert_true(cJSON_IsString(cJSON_GetObjectItem(res, "revoked_at")));
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_null(registry_find_token(reg, f->agent.vault, secret,
	    strlen(secret), time(NULL)));
	registry_release(reg);
	sodium_memzero(secret, sizeof(secret));

	/* provider.delete: refused while used; domain.delete cascades. */
	expect_error(call(f, "provider.delete", "{\"domain\":\"acme\","
	    "\"name\":\"local\"}"), RPC_CONFLICT, "gpt-4o-mini");
	r = call(f, "model.delete", "{\"domain\":\"acme\",\"key\":"
	    "\"gpt-4o-mini\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ok(r), "deleted")));
	cJSON_Delete(r);
	r = call(f, "provider.delete", "{\"domain\":\"acme\",\"name\":"
	    "\"local\"}");
	ok(r);
	cJSON_Delete(r);
	expect_error(call(f, "provider.delete", "{\"domain\":\"acme\","
	    "\"name\":\"local\"}"), RPC_NOT_FOUND, NULL);
	r = call(f, "domain.delete", "{\"domain\":\"acme\"}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ok(r), "deleted")));
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_null(registry_find_domain(reg, "acme", 4));
	assert_int_equal(reg->ndomains, 1);
	assert_int_equal(reg->nproviders, 1);
	registry_release(reg);
	expect_error(call(f, "model.list", "{\"domain\":\"acme\"}"),
	    RPC_NOT_FOUND, NULL);
}

/* provider.edit: dry runs tell a key apart by fingerprint; edits store. */
/* guardrail.*: create, compile errors, edit, test, bound ones kept. */
static void
test_guardrails(void **state)
{
	struct fixture		*f = *state;
	cJSON			*r;
	const cJSON		*res;
	struct registry		*reg;
	const struct reg_domain	*d;
	const struct reg_model	*rm;

	ok_delete(call(f, "domain.create", "{\"name\":\"acme\"}"));
	ok_delete(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"driver\":\"openai\",\"url\":\"http://h\"}"));

	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"re\",\"kind\":\"regex\",\"action\":\"block\","
	    "\"patterns\":[\"ok\",\"a(b\"]}"), RPC_INVALID_PARAMS,
	    "patterns[1]: missing closing parenthesis at offset 3");
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"re\",\"kind\":\"regex\",\"action\":\"block\"}"),
	    RPC_INVALID_PARAMS, "patterns: give at least one");
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"kw\",\"kind\":\"keywords\",\"action\":\"block\"}"),
	    RPC_INVALID_PARAMS, "words: give at least one word");
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"kw\",\"kind\":\"keywords\",\"action\":\"block\","
	    "\"words\":[]}"), RPC_INVALID_PARAMS,
	    "words: give at least one word");
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"kw\",\"kind\":\"keywords\",\"action\":\"block\","
	    "\"words\":[\"\u200b\", \" \"]}"), RPC_INVALID_PARAMS,
	    "words: give at least one word");
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"p\",\"kind\":\"pii\",\"action\":\"block\","
	    "\"types\":[\"dna\"]}"), RPC_INVALID_PARAMS, "types[0]");
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"p\",\"kind\":\"pii\",\"action\":\"block\","
	    "\"words\":[\"x\"]}"), RPC_INVALID_PARAMS,
	    "words: only for kind keywords");
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"l\",\"kind\":\"length\",\"action\":\"redact\","
	    "\"max_chars\":5}"), RPC_INVALID_PARAMS, "cannot redact");

	r = call(f, "guardrail.create", "{\"domain\":\"acme\",\"key\":"
	    "\"re\",\"kind\":\"regex\",\"action\":\"redact\","
	    "\"patterns\":[\"ACME-[0-9]{4}\"]}");
	res = ok(r);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(res,
	    "patterns"), 0)->valuestring, "ACME-[0-9]{4}");
	cJSON_Delete(r);
	expect_error(call(f, "guardrail.create", "{\"domain\":\"acme\","
	    "\"key\":\"re\",\"kind\":\"pii\",\"action\":\"log\"}"),
	    RPC_CONFLICT, "already exists");

	r = call(f, "guardrail.test", "{\"domain\":\"acme\",\"key\":\"re\","
	    "\"text\":\"see ACME-1234 and ACME-99\"}");
	res = ok(r);
	assert_string_equal(str(res, "result"), "redacted");
	assert_string_equal(str(res, "text"),
	    "see [REDACTED:REGEX] and ACME-99");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(res, "hits"), 0), "count")->valueint, 1);
	cJSON_Delete(r);

	/* Edit: to keywords, block; the patterns go with the old kind. */
	r = call(f, "guardrail.edit", "{\"domain\":\"acme\",\"key\":\"re\","
	    "\"kind\":\"keywords\",\"action\":\"block\",\"words\":"
	    "[\"secret plan\"]}");
	res = ok(r);
	assert_string_equal(str(res, "action"), "block");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "patterns")));
	cJSON_Delete(r);
	r = call(f, "guardrail.test", "{\"domain\":\"acme\",\"key\":\"re\","
	    "\"text\":\"the Secret   Plan\"}");
	assert_string_equal(str(ok(r), "result"), "blocked");
	cJSON_Delete(r);

	/* Bound to a model: in the snapshot, and not deleted. */
	ok_delete(call(f, "model.deploy", "{\"domain\":\"acme\","
	    "\"provider\":\"local\",\"name\":\"m\",\"model_id\":\"m\","
	    "\"guard_out\":[\"re\"],\"force\":true}"));
	reg = registry_acquire();
	d = registry_find_domain(reg, "acme", 4);
	rm = registry_find_model(d, "m", 1);
	assert_non_null(rm);
	assert_int_equal(rm->guard_in.n, 0);
	assert_int_equal(rm->guard_out.n, 1);
	assert_string_equal(guard_key(rm->guard_out.guards[0]), "re");
	assert_int_equal(d->nguards, 1);
	registry_release(reg);
	expect_error(call(f, "guardrail.delete", "{\"domain\":\"acme\","
	    "\"key\":\"re\"}"), RPC_CONFLICT, "used by model 'm'");
	expect_error(call(f, "model.edit", "{\"domain\":\"acme\",\"key\":"
	    "\"m\",\"guard_in\":[\"nope\"]}"), RPC_NOT_FOUND,
	    "guard_in: guardrail 'nope' not found");
	ok_delete(call(f, "model.edit", "{\"domain\":\"acme\",\"key\":"
	    "\"m\",\"guard_out\":null}"));
	ok_delete(call(f, "guardrail.delete", "{\"domain\":\"acme\","
	    "\"key\":\"re\"}"));
	r = call(f, "guardrail.list", "{\"domain\":\"acme\"}");
	assert_int_equal(cJSON_GetArraySize(ok(r)), 0);
	cJSON_Delete(r);
}

static void
test_provider_edit(void **state)
{
	struct fixture		*f = *state;
	const cJSON		*res;
	cJSON			*r;
	struct registry		*reg;
	const struct reg_domain	*d;
	char			 b64[512], params[1024], fp[32], id[40];

	r = call(f, "domain.create", "{\"name\":\"acme\"}");
	snprintf(id, sizeof(id), "%s", str(ok(r), "id"));
	cJSON_Delete(r);
	seal(f, "sk-first-key", b64, sizeof(b64));
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"driver\":\"openai\",\"url\":\"http://h/v1\","
	    "\"credential\":\"%s\"}", b64);
	r = call(f, "provider.add", params);
	snprintf(fp, sizeof(fp), "%s", str(ok(r), "fingerprint"));
	cJSON_Delete(r);
	assert_int_equal(store_provider_set_status(f->agent.store, id,
	    "local", "errored", "HTTP 401", params, sizeof(params)), 0);

	/* The same key sealed again: a new blob, the same provider. */
	seal(f, "sk-first-key", b64, sizeof(b64));
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"credential\":\"%s\",\"url\":\"http://h/v1/\","
	    "\"dry_run\":true}", b64);
	r = call(f, "provider.edit", params);
	res = ok(r);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(res, "changed")));
	assert_string_equal(str(res, "fingerprint"), fp);
	assert_string_equal(str(res, "status"), "errored");
	no_secret(r, "sk-first");
	cJSON_Delete(r);

	/* Another key: changed, but a dry run stores nothing. */
	seal(f, "sk-second-key", b64, sizeof(b64));
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"credential\":\"%s\",\"dry_run\":true}", b64);
	r = call(f, "provider.edit", params);
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "changed")));
	assert_string_not_equal(str(res, "fingerprint"), fp);
	assert_string_equal(str(res, "status"), "active");
	no_secret(r, "sk-second");
	cJSON_Delete(r);
	r = call(f, "provider.list", "{\"domain\":\"acme\"}");
	res = cJSON_GetArrayItem(ok(r), 0);
	assert_string_equal(str(res, "fingerprint"), fp);
	assert_string_equal(str(res, "status"), "errored");
	cJSON_Delete(r);

	/* For real: stored, the error cleared, the snapshot rebuilt. */
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"credential\":\"%s\",\"driver\":\"vllm\"}", b64);
	r = call(f, "provider.edit", params);
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "changed")));
	assert_string_equal(str(res, "driver"), "vllm");
	assert_string_equal(str(res, "url"), "http://h/v1");
	assert_string_equal(str(res, "status"), "active");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "error")));
	cJSON_Delete(r);
	reg = registry_acquire();
	d = registry_find_domain(reg, "acme", 4);
	assert_non_null(d);
	assert_string_equal(reg->providers[0].auth->data,
	    "Authorization: Bearer sk-second-key");
	assert_int_equal(reg->providers[0].driver, DRIVER_VLLM);
	registry_release(reg);

	/* responses_api: off by default, a change, in the snapshot. */
	r = call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"responses_api\":true}");
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "changed")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "responses_api")));
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_int_equal(reg->providers[0].responses_api, 1);
	registry_release(reg);
	r = call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"responses_api\":true}");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(ok(r), "changed")));
	cJSON_Delete(r);
	r = call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"responses_api\":false}");
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "changed")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "responses_api")));
	cJSON_Delete(r);
	expect_error(call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"responses_api\":1}"), RPC_INVALID_PARAMS,
	    "responses_api");

	/* Nothing given: nothing changes. A null credential removes it. */
	r = call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\"}");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(ok(r), "changed")));
	assert_string_equal(str(ok(r), "credential"), "sealed");
	cJSON_Delete(r);
	r = call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"credential\":null}");
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "changed")));
	assert_string_equal(str(res, "credential"), "none");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "fingerprint")));
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_null(reg->providers[0].auth);
	registry_release(reg);

	expect_error(call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"ghost\",\"url\":\"http://h\"}"), RPC_NOT_FOUND, "ghost");
	expect_error(call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"driver\":\"tgi\"}"), RPC_INVALID_PARAMS, "driver");
	expect_error(call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"url\":\"ftp://h\"}"), RPC_INVALID_PARAMS, "url");
	expect_error(call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"credential\":\"c2stcGxhaW4=\"}"),
	    RPC_INVALID_PARAMS, "does not open");
	expect_error(call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"dry_run\":1}"), RPC_INVALID_PARAMS, "dry_run");
	expect_error(call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":"
	    "\"local\",\"status\":\"active\"}"), RPC_INVALID_PARAMS,
	    "status");
}

/* --- a fake backend for provider.test / provider.models ------------------ */

struct backend {
	int		 fd;
	int		 port;
	pthread_t	 th;
	char		 request[4096];	/* the last one */
	int		 status;
	const char	*body;
};

static void *
backend_run(void *arg)
{
	struct backend	*b = arg;
	char		 buf[4096], head[256];
	ssize_t		 n;
	size_t		 len;
	int		 c;

	while ((c = accept(b->fd, NULL, NULL)) != -1) {
		len = 0;
		while (len < sizeof(buf) - 1 && (n = read(c, buf + len,
		    sizeof(buf) - 1 - len)) > 0) {
			len += n;
			buf[len] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		buf[len] = '\0';
		memcpy(b->request, buf, len + 1);
		snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\nConnection: "
		    "close\r\n\r\n", b->status, strlen(b->body));
		(void)!write(c, head, strlen(head));
		(void)!write(c, b->body, strlen(b->body));
		close(c);
	}
	return NULL;
}

static void
backend_start(struct backend *b)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((b->fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(b->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(b->fd, 8), 0);
	assert_int_equal(getsockname(b->fd, (struct sockaddr *)&sin, &len), 0);
	b->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&b->th, NULL, backend_run, b), 0);
}

static void
backend_stop(struct backend *b)
{
	shutdown(b->fd, SHUT_RDWR);
	pthread_join(b->th, NULL);
	close(b->fd);
}

/*
 * Confidential routing: attest_policy checked as the verifier reads it,
 * require_attested stored, and the snapshot's verdict: a policy not yet
 * verified is not attested, so a requiring domain admits nothing.
 */
static void
test_confidential_routing(void **state)
{
	struct fixture			*f = *state;
	const cJSON			*res;
	cJSON				*r;
	struct registry			*reg;
	const struct reg_domain		*d;
	const struct reg_provider	*pa, *po;

	r = call(f, "domain.create", "{\"name\":\"acme\","
	    "\"require_attested\":true}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ok(r),
	    "require_attested")));
	cJSON_Delete(r);
	r = call(f, "domain.create", "{\"name\":\"open\"}");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ok(r),
	    "require_attested")));
	cJSON_Delete(r);
	expect_error(call(f, "domain.edit", "{\"domain\":\"open\","
	    "\"require_attested\":\"yes\"}"), RPC_INVALID_PARAMS,
	    "require_attested: expected true or false");

	/* Policies the verifier would not read are refused, named. */
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"p\",\"driver\":\"openai\",\"url\":\"http://h/v1\","
	    "\"attest_policy\":\"{\\\"version\\\":2}\"}"), RPC_INVALID_PARAMS,
	    "attest_policy: ");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"p\",\"driver\":\"openai\",\"url\":\"http://h/v1\","
	    "\"attest_policy\":\"not json\"}"), RPC_INVALID_PARAMS,
	    "attest_policy: ");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"p\",\"driver\":\"openai\",\"url\":\"http://h/v1\","
	    "\"attest_policy\":\"{\\\"version\\\":1,\\\"collateral\\\":"
	    "{\\\"tcb_info\\\":\\\"tcb.json\\\"}}\"}"), RPC_INVALID_PARAMS,
	    "attest_policy: collateral file 'tcb.json': the agent reads it,"
	    " so give an absolute path");
	expect_error(call(f, "provider.add", "{\"domain\":\"acme\",\"name\":"
	    "\"p\",\"driver\":\"openai\",\"url\":\"http://h/v1\","
	    "\"attest_policy\":7}"), RPC_INVALID_PARAMS, "attest_policy");

	r = call(f, "provider.add", "{\"domain\":\"acme\",\"name\":\"p\","
	    "\"driver\":\"openai\",\"url\":\"http://h/v1\",\"attest_policy\":"
	    "\"{\\\"version\\\":1,\\\"allow_simulated\\\":true}\"}");
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "attest_policy")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "attested")));
	assert_string_equal(str(res, "attest_error"), "not verified yet");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "attested_at")));
	cJSON_Delete(r);
	r = call(f, "provider.add", "{\"domain\":\"open\",\"name\":\"p\","
	    "\"driver\":\"openai\",\"url\":\"http://h/v1\"}");
	res = ok(r);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "attest_policy")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "attested")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "attest_error")));
	cJSON_Delete(r);

	/* Providers are in (domain id, name) order: find acme's. */
	reg = registry_acquire();
	assert_int_equal(reg->nproviders, 2);
	pa = &reg->providers[reg->providers[0].attest_policy ? 0 : 1];
	po = &reg->providers[reg->providers[0].attest_policy ? 1 : 0];
	d = registry_find_domain(reg, "acme", 4);
	assert_non_null(d);
	assert_int_equal(d->require_attested, 1);
	assert_int_equal(pa->attest_policy, 1);
	assert_int_equal(pa->attested, 0);
	assert_string_equal(pa->attest_error, "not verified yet");
	assert_null(pa->attest_pin);
	assert_false(provider_admits(d, pa));
	assert_int_equal(po->attest_policy, 0);
	assert_null(po->attest_error);
	assert_false(provider_admits(d, po));
	d = registry_find_domain(reg, "open", 4);
	assert_int_equal(d->require_attested, 0);
	assert_true(provider_admits(d, pa));
	assert_true(provider_admits(d, po));
	registry_release(reg);

	/* The same policy is no change; null removes it. */
	r = call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":\"p\","
	    "\"attest_policy\":\"{\\\"version\\\":1,\\\"allow_simulated\\\""
	    ":true}\",\"dry_run\":true}");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ok(r), "changed")));
	cJSON_Delete(r);
	r = call(f, "provider.edit", "{\"domain\":\"acme\",\"name\":\"p\","
	    "\"attest_policy\":null}");
	res = ok(r);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "changed")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "attest_policy")));
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_int_equal(reg->providers[0].attest_policy, 0);
	assert_int_equal(reg->providers[1].attest_policy, 0);
	registry_release(reg);

	r = call(f, "domain.edit", "{\"domain\":\"acme\","
	    "\"require_attested\":false}");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ok(r),
	    "require_attested")));
	cJSON_Delete(r);
	reg = registry_acquire();
	d = registry_find_domain(reg, "acme", 4);
	assert_true(provider_admits(d, &reg->providers[0]));
	assert_true(provider_admits(d, &reg->providers[1]));
	registry_release(reg);
}

static void
test_provider_probe(void **state)
{
	struct fixture		*f = *state;
	struct backend		 b;
	const cJSON		*res;
	cJSON			*r;
	struct registry		*reg;
	char			 b64[512], params[1024];

	memset(&b, 0, sizeof(b));
	b.status = 200;
	b.body = "{\"object\":\"list\",\"data\":[{\"id\":\"m-one\"},"
	    "{\"id\":\"m-two\"}]}";
	backend_start(&b);

	r = call(f, "domain.create", "{\"name\":\"acme\"}");
	cJSON_Delete(r);
	seal(f, "sk-probe", b64, sizeof(b64));
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"fake\",\"driver\":\"openai\",\"url\":\"http://127.0.0.1:%d/v1\","
	    "\"credential\":\"%s\"}", b.port, b64);
	r = call(f, "provider.add", params);
	ok(r);
	cJSON_Delete(r);

	r = call(f, "provider.models", "{\"domain\":\"acme\",\"name\":"
	    "\"fake\"}");
	res = cJSON_GetObjectItem(ok(r), "models");
	assert_int_equal(cJSON_GetArraySize(res), 2);
	assert_string_equal(cJSON_GetArrayItem(res, 1)->valuestring, "m-two");
	cJSON_Delete(r);
	assert_non_null(strstr(b.request, "GET /v1/models HTTP/1.1"));
	assert_non_null(strstr(b.request, "Authorization: Bearer sk-probe\r\n"));

	r = call(f, "provider.test", "{\"domain\":\"acme\",\"name\":\"fake\"}");
	res = ok(r);
	assert_string_equal(str(res, "status"), "active");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(res, "error")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(res, "latency_ms")));
	cJSON_Delete(r);

	/* A 401 marks it errored, in the store and in the registry. */
	b.status = 401;
	b.body = "{\"error\":\"bad key\"}";
	r = call(f, "provider.test", "{\"domain\":\"acme\",\"name\":\"fake\"}");
	res = ok(r);
	assert_string_equal(str(res, "status"), "errored");
	assert_non_null(strstr(str(res, "error"), "401"));
	no_secret(r, "sk-probe");
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_int_equal(reg->providers[0].errored, 1);
	registry_release(reg);
	expect_error(call(f, "provider.models", "{\"domain\":\"acme\","
	    "\"name\":\"fake\"}"), RPC_FAILED, "401");

	/* Back to healthy. */
	b.status = 200;
	b.body = "{\"data\":[]}";
	r = call(f, "provider.test", "{\"domain\":\"acme\",\"name\":\"fake\"}");
	assert_string_equal(str(ok(r), "status"), "active");
	cJSON_Delete(r);
	reg = registry_acquire();
	assert_int_equal(reg->providers[0].errored, 0);
	registry_release(reg);
	b.body = "not json";
	expect_error(call(f, "provider.models", "{\"domain\":\"acme\","
	    "\"name\":\"fake\"}"), RPC_FAILED, "not a model list");
	backend_stop(&b);

	/* Ollama's /api/tags, and a refused connection. */
	memset(&b, 0, sizeof(b));
	b.status = 200;
	b.body = "{\"models\":[{\"name\":\"llama3:8b\",\"size\":1}]}";
	backend_start(&b);
	snprintf(params, sizeof(params), "{\"domain\":\"acme\",\"name\":"
	    "\"ol\",\"driver\":\"ollama\",\"url\":\"http://127.0.0.1:%d\"}",
	    b.port);
	r = call(f, "provider.add", params);
	cJSON_Delete(r);
	r = call(f, "provider.models", "{\"domain\":\"acme\",\"name\":\"ol\"}");
	res = cJSON_GetObjectItem(ok(r), "models");
	assert_string_equal(cJSON_GetArrayItem(res, 0)->valuestring,
	    "llama3:8b");
	cJSON_Delete(r);
	assert_non_null(strstr(b.request, "GET /api/tags HTTP/1.1"));
	assert_null(strstr(b.request, "Authorization"));
	backend_stop(&b);

	r = call(f, "provider.test", "{\"domain\":\"acme\",\"name\":\"ol\"}");
	res = ok(r);
	assert_string_equal(str(res, "status"), "errored");
	cJSON_Delete(r);
	expect_error(call(f, "provider.test", "{\"domain\":\"acme\",\"name\":"
	    "\"nope\"}"), RPC_NOT_FOUND, "nope");
}

/* --- the socket server --------------------------------------------------- */

static void *
loop_run(void *arg)
{
	struct event_base	*base = arg;

	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int
client_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Read one line (2 s timeout); NULL on EOF. */
static char *
client_line(int fd, char *buf, size_t len)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		n = 0;
	ssize_t		r;

	while (n < len - 1) {
		if (poll(&pfd, 1, 2000) != 1)
			fail_msg("timeout waiting for a reply");
		if ((r = read(fd, buf + n, 1)) <= 0)
			return NULL;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return buf;
		}
		n++;
	}
	fail_msg("reply too long");
	return NULL;
}

static void
send_all(int fd, const char *s, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, s, len, MSG_NOSIGNAL)) <= 0)
			return;
		s += n;
		len -= n;
	}
}

/*
 * As root: let nobody reach the socket through the file system, then check
 * that SO_PEERCRED still turns it away with a denied reply.
 */
static void
test_denied_peer(struct fixture *f)
{
	struct sockaddr_un	 sun;
	char			 dir[160], buf[512];
	pid_t			 pid;
	int			 status, fd;
	ssize_t			 n;

	snprintf(dir, sizeof(dir), "%s/run", f->dir);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(f->sock, 0666), 0);
	if ((pid = fork()) == 0) {
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
		    setuid(65534) != 0)
			_exit(10);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->sock);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			_exit(11);
		/* The agent may have hung up already: no SIGPIPE. */
		(void)!send(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
		    "\"status\"}\n", 43, MSG_NOSIGNAL);
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			_exit(12);
		buf[n] = '\0';
		if (strstr(buf, "-32002") == NULL ||
		    strstr(buf, "\"denied\"") == NULL)
			_exit(13);
		/* Then the agent hangs up (a reset: our line went unread). */
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		_exit(n == 0 || errno == ECONNRESET ? 0 : 14);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(f->sock, 0660), 0);
}

static void
send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

static void
test_socket(void **state)
{
	struct fixture	*f = *state;
	struct admin	*admin, *second;
	struct stat	 st;
	pthread_t	 th;
	char		 err[256], buf[8192], *big;
	int		 fd, fd2;
	cJSON		*r;
	ssize_t		 n;
	size_t		 sent;
	struct pollfd	 pfd;

	admin = admin_start(&f->agent, err, sizeof(err));
	if (admin == NULL)
		fail_msg("admin_start: %s", err);
	assert_int_equal(stat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(pthread_create(&th, NULL, loop_run, f->agent.base), 0);

	/* Another agent on the same socket is refused. */
	second = admin_start(&f->agent, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "another agent"));

	fd = client_connect(f->sock);
	/* Two requests in one write, answered in order. */
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"domain.create\","
	    "\"params\":{\"name\":\"acme\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,"
	    "\"method\":\"domain.list\"}\n");
	assert_non_null(client_line(fd, buf, sizeof(buf)));
	r = cJSON_Parse(buf);
	assert_int_equal((int)cJSON_GetObjectItem(r, "id")->valuedouble, 1);
	assert_string_equal(str(ok(r), "name"), "acme");
	cJSON_Delete(r);
	assert_non_null(client_line(fd, buf, sizeof(buf)));
	r = cJSON_Parse(buf);
	assert_int_equal((int)cJSON_GetObjectItem(r, "id")->valuedouble, 2);
	assert_int_equal(cJSON_GetArraySize(ok(r)), 1);
	cJSON_Delete(r);

	/* A bad line gets an error and the connection lives on. */
	send_str(fd, "garbage\n\n");
	assert_non_null(client_line(fd, buf, sizeof(buf)));
	expect_error(cJSON_Parse(buf), RPC_PARSE_ERROR, NULL);
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"status\"}\r\n");
	assert_non_null(client_line(fd, buf, sizeof(buf)));
	r = cJSON_Parse(buf);
	ok(r);
	cJSON_Delete(r);

	/* A second peer, independently. */
	fd2 = client_connect(f->sock);
	send_str(fd2, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"nope\"}\n");
	assert_non_null(client_line(fd2, buf, sizeof(buf)));
	expect_error(cJSON_Parse(buf), RPC_METHOD_NOT_FOUND, NULL);

	/* More than RPC_MAX_FRAME without a newline: the peer is dropped. */
	big = malloc(RPC_MAX_FRAME + 4096);
	assert_non_null(big);
	memset(big, ' ', RPC_MAX_FRAME + 4096);
	sent = 0;
	while (sent < RPC_MAX_FRAME + 4096) {
		n = send(fd, big + sent, RPC_MAX_FRAME + 4096 - sent,
		    MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += n;
	}
	free(big);
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	n = read(fd, buf, sizeof(buf));
	assert_true(n == 0 || (n == -1 && errno == ECONNRESET));
	close(fd);

	/* The other peer is unaffected; a last line without newline is answered. */
	send_str(fd2, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"status\"}");
	shutdown(fd2, SHUT_WR);
	assert_non_null(client_line(fd2, buf, sizeof(buf)));
	r = cJSON_Parse(buf);
	assert_int_equal((int)cJSON_GetObjectItem(r, "id")->valuedouble, 10);
	ok(r);
	cJSON_Delete(r);
	assert_null(client_line(fd2, buf, sizeof(buf)));
	close(fd2);

	/* A peer that is not root, us, or in the socket's group is denied. */
	if (getuid() == 0)
		test_denied_peer(f);

	event_base_loopexit(f->agent.base, NULL);
	pthread_join(th, NULL);
	admin_stop(admin);
	assert_int_equal(stat(f->sock, &st), -1);
	admin_stop(NULL);
}

static void
test_socket_stale_and_foreign(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_un	 sun;
	struct admin		*admin;
	char			 err[256], dir[160];
	int			 fd;

	/* A socket file nobody listens on is stale: replaced. */
	snprintf(dir, sizeof(dir), "%s/run", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->sock);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	admin = admin_start(&f->agent, err, sizeof(err));
	if (admin == NULL)
		fail_msg("admin_start: %s", err);
	admin_stop(admin);

	/* Anything else at the path is left alone. */
	assert_true((fd = open(f->sock, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	assert_null(admin_start(&f->agent, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	unlink(f->sock);
}

/* admin_audit_diff: field by field, nested dotted, keys never shown. */
static void
test_audit_diff(void **state)
{
	cJSON	*before, *after, *d;
	char	*text;

	(void)state;
	before = cJSON_Parse("{\"name\":\"p\",\"credential\":\"sealed\","
	    "\"fingerprint\":\"abc\",\"settings\":{\"t\":null},"
	    "\"updated_at\":\"x\"}");
	after = cJSON_Parse("{\"name\":\"p\",\"credential\":\"none\","
	    "\"fingerprint\":null,\"settings\":{\"t\":0.5},"
	    "\"updated_at\":\"y\",\"token\":\"cube_secret\"}");
	d = admin_audit_diff(before, after);
	text = cJSON_PrintUnformatted(d);
	assert_string_equal(text, "[{\"field\":\"credential\",\"old\":"
	    "\"sealed (fingerprint abc)\",\"new\":\"(removed)\"},"
	    "{\"field\":\"settings.t\",\"old\":null,\"new\":0.5}]");
	free(text);
	cJSON_Delete(d);
	/* Creation: what is set, without the secret. */
	d = admin_audit_diff(NULL, after);
	text = cJSON_PrintUnformatted(d);
	assert_string_equal(text, "[{\"field\":\"name\",\"old\":null,"
	    "\"new\":\"p\"},{\"field\":\"settings.t\",\"old\":null,"
	    "\"new\":0.5}]");
	free(text);
	cJSON_Delete(d);
	/* Deletion, or nothing changed: no fields. */
	d = admin_audit_diff(before, NULL);
	assert_int_equal(cJSON_GetArraySize(d), 0);
	cJSON_Delete(d);
	d = admin_audit_diff(before, before);
	assert_int_equal(cJSON_GetArraySize(d), 0);
	cJSON_Delete(d);
	cJSON_Delete(before);
	cJSON_Delete(after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_diff),
		cmocka_unit_test(test_peer_allowed),
		cmocka_unit_test_setup_teardown(test_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entity_lookups, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_providers_models_tokens,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_guardrails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_confidential_routing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_edit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_provider_probe, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_stale_and_foreign,
		    setup, teardown),
	};
	int	rc;

	log_init("test-admin", 0);
	if (sodium_init() == -1)
		return 1;
	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	libevent_global_shutdown();
	return rc;
}
