/* store.c and store-*.c: migrations, CRUD, uniqueness, cascades. */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "fixture.h"
#include "log.h"
#include "xmalloc.h"

#define DOM_A	"11111111-1111-4111-8111-111111111111"
#define DOM_B	"22222222-2222-4222-8222-222222222222"

struct fixture {
	char		 dir[FIXTURE_DIR_MAX];
	struct store	*store;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "store");
	f->store = fixture_store_open(f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	store_close(f->store);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

static int
add_provider(struct store *s, const char *domain, const char *name)
{
	return fixture_provider(s, NULL, domain, name, "openai",
	    FIXTURE_PROVIDER_URL, NULL);
}

static void
fill_model(struct store_model *m, const char *domain, const char *key,
    const char *provider)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->domain_id, sizeof(m->domain_id), "%s", domain);
	m->key = (char *)key;
	m->name = (char *)"Display";
	m->model_id = (char *)"upstream-id";
	m->provider = (char *)provider;
	m->category = (char *)"llm";
	m->status = (char *)"active";
	m->guard_in = (char *)"[]";
	m->guard_out = (char *)"[\"pii\"]";
	m->description = (char *)"";
	m->created_at = m->updated_at = 1002;
}

static int
add_model(struct store *s, const char *domain, const char *key,
    const char *provider)
{
	struct store_model	m;
	char			err[256];

	fill_model(&m, domain, key, provider);
	return store_model_insert(s, &m, err, sizeof(err));
}

static int
add_token(struct store *s, const char *domain, const char *id,
    unsigned char fill)
{
	struct store_token	t;
	char			err[256];

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	snprintf(t.domain_id, sizeof(t.domain_id), "%s", domain);
	t.name = (char *)"ci";
	memset(t.hash, fill, sizeof(t.hash));
	t.created_at = 1003;
	return store_token_insert(s, &t, err, sizeof(err));
}

static void
test_migrations(void **state)
{
	struct fixture	*f = *state;
	struct stat	 st;
	char		 path[128], err[256];
	sqlite3		*db;

	assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
	assert_int_equal(STORE_SCHEMA_VERSION, 15);
	fixture_domain(f->store, DOM_A, "acme");
	store_close(f->store);

	/* Reopening is a no-op: same version, data kept. */
	f->store = fixture_store_open(f->dir);
	assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
	{
		size_t	n;

		assert_int_equal(store_domain_count(f->store, &n, err,
		    sizeof(err)), 0);
		assert_int_equal(n, 1);
	}
	snprintf(path, sizeof(path), "%s/cube.db", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	store_close(f->store);

	/* A database from a newer agent is refused, not downgraded. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->store = store_open(f->dir, err, sizeof(err));
	assert_null(f->store);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 15", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->store = fixture_store_open(f->dir);
}

static int
page_size(const char *path)
{
	sqlite3_stmt	*stmt;
	sqlite3		*db;
	int		 n = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &stmt,
	    NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

/*
 * A new database has 16 KiB pages (cheaper trace inserts); one made
 * before, with SQLite's 4 KiB, keeps its pages and still opens.
 */
static void
test_page_size(void **state)
{
	struct fixture	*f = *state;
	char		 path[128], other[128];
	sqlite3		*db;

	snprintf(path, sizeof(path), "%s/cube.db", f->dir);
	assert_int_equal(page_size(path), 16384);
	store_close(f->store);
	f->store = NULL;

	snprintf(other, sizeof(other), "%s/old", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	snprintf(path, sizeof(path), "%s/old/cube.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA page_size = 4096;"
	    " PRAGMA journal_mode = WAL; CREATE TABLE t (x)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	f->store = fixture_store_open(other);
	assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
	store_close(f->store);
	f->store = NULL;
	assert_int_equal(page_size(path), 4096);
	f->store = fixture_store_open(f->dir);
}

/* A version 1 database (before the audit log) is migrated, data kept. */
static void
test_migration_audit(void **state)
{
	struct fixture		*f = *state;
	struct store_audit	 a, *list;
	char			 path[128], err[256], user[] = "alice";
	char			 method[] = "model.edit", dom[] = DOM_A;
	char			 name[] = "acme", none[] = "[]";
	char			 one[] = "model/one", two[] = "model/two";
	char			 x[] = "domain/x";
	size_t			 n;
	sqlite3			*db;

	fixture_domain(f->store, DOM_A, "acme");
	store_close(f->store);
	snprintf(path, sizeof(path), "%s/cube.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE audit;"
	    " DROP TABLE guardrails; DROP TABLE traces;"
	    " DROP TABLE usage_hourly;"
	    " ALTER TABLE tokens DROP COLUMN budget_period;"
	    " ALTER TABLE domains DROP COLUMN cors_origins;"
	    " ALTER TABLE providers DROP COLUMN responses_api;"
	    " ALTER TABLE domains DROP COLUMN jwt;"
	    " ALTER TABLE providers DROP COLUMN attest_policy;"
	    " ALTER TABLE domains DROP COLUMN require_attested;"
	    " DROP TABLE model_deployments;"
	    " ALTER TABLE models DROP COLUMN fallbacks;"
	    " ALTER TABLE models DROP COLUMN retries;"
	    " ALTER TABLE models DROP COLUMN retry_deadline_ms;"
	    " PRAGMA user_version = 1", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	f->store = fixture_store_open(f->dir);
	assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
	assert_int_equal(store_domain_count(f->store, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 1);

	/* Entries come back oldest first, the newest limit of them. */
	memset(&a, 0, sizeof(a));
	a.uid = 1000;
	a.user = user;
	a.method = method;
	a.domain_id = dom;
	a.domain = name;
	a.changes = none;
	a.at = 1;
	a.target = one;
	assert_int_equal(store_audit_insert(f->store, &a, err, sizeof(err)), 0);
	a.at = 2;
	a.target = two;
	assert_int_equal(store_audit_insert(f->store, &a, err, sizeof(err)), 0);
	a.at = 3;
	a.domain_id = NULL;
	a.domain = NULL;
	a.target = x;
	assert_int_equal(store_audit_insert(f->store, &a, err, sizeof(err)), 0);
	assert_int_equal(store_audit_list(f->store, NULL, 2, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].target, "model/two");
	assert_string_equal(list[1].target, "domain/x");
	assert_null(list[1].domain_id);
	store_audit_list_free(list, n);
	assert_int_equal(store_audit_list(f->store, DOM_A, 10, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].target, "model/one");
	assert_string_equal(list[0].user, "alice");
	assert_int_equal(list[0].uid, 1000);
	assert_int_equal(list[0].at, 1);
	store_audit_list_free(list, n);
	assert_int_equal(store_audit_list(f->store, DOM_B, 10, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	store_audit_list_free(list, n);
}

static void
test_domains(void **state)
{
	struct fixture		*f = *state;
	struct store_domain	 d, *list;
	size_t			 n;
	char			 err[256];

	fixture_domain(f->store, DOM_B, "zeta");
	fixture_domain(f->store, DOM_A, "acme");

	assert_int_equal(store_domain_get(f->store, "acme", &d, err,
	    sizeof(err)), 0);
	assert_string_equal(d.id, DOM_A);
	assert_int_equal(d.trace_retention_days, 30);
	assert_int_equal(d.created_at, 1000);
	store_domain_clear(&d);
	assert_int_equal(store_domain_get(f->store, DOM_B, &d, err,
	    sizeof(err)), 0);
	assert_string_equal(d.name, "zeta");
	store_domain_clear(&d);
	assert_int_equal(store_domain_get(f->store, "nope", &d, err,
	    sizeof(err)), STORE_NOT_FOUND);
	assert_non_null(strstr(err, "nope"));

	assert_int_equal(store_domain_list(f->store, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "acme");
	assert_string_equal(list[1].name, "zeta");
	store_domain_list_free(list, n);

	/* Unique name. */
	{
		struct store_domain	dup;

		memset(&dup, 0, sizeof(dup));
		snprintf(dup.id, sizeof(dup.id), "%s",
		    "33333333-3333-4333-8333-333333333333");
		dup.name = (char *)"acme";
		dup.trace_retention_days = 30;
		assert_int_equal(store_domain_insert(f->store, &dup, err,
		    sizeof(err)), STORE_CONFLICT);
		assert_non_null(strstr(err, "already exists"));
	}

	assert_int_equal(store_domain_get(f->store, "acme", &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.require_attested, 0);
	d.log_content = 1;
	d.trace_retention_days = 7;
	d.require_attested = 1;
	assert_int_equal(store_domain_update(f->store, &d, err, sizeof(err)),
	    0);
	store_domain_clear(&d);
	assert_int_equal(store_domain_get(f->store, DOM_A, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.log_content, 1);
	assert_int_equal(d.trace_retention_days, 7);
	assert_int_equal(d.require_attested, 1);
	store_domain_clear(&d);

	assert_int_equal(store_domain_delete(f->store, DOM_B, err,
	    sizeof(err)), 0);
	assert_int_equal(store_domain_delete(f->store, DOM_B, err,
	    sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_domain_count(f->store, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 1);
}

static void
test_providers(void **state)
{
	struct fixture		*f = *state;
	struct store_provider	 p, *list;
	size_t			 n;
	char			 err[256];
	unsigned char		 blob[3] = { 1, 0, 2 };

	fixture_domain(f->store, DOM_A, "acme");
	fixture_domain(f->store, DOM_B, "beta");
	assert_int_equal(add_provider(f->store, DOM_A, "local"), 0);
	assert_int_equal(add_provider(f->store, DOM_A, "local"),
	    STORE_CONFLICT);
	/* Same name in another domain is fine. */
	assert_int_equal(add_provider(f->store, DOM_B, "local"), 0);
	/* A provider of a domain that does not exist. */
	assert_int_equal(add_provider(f->store,
	    "99999999-9999-4999-8999-999999999999", "x"), STORE_CONFLICT);

	memset(&p, 0, sizeof(p));
	snprintf(p.domain_id, sizeof(p.domain_id), "%s", DOM_A);
	p.name = (char *)"cloud";
	p.driver = (char *)"vllm";
	p.url = (char *)"https://api.example/v1";
	p.credential = blob;
	p.credential_len = sizeof(blob);
	p.fingerprint = (char *)"0011223344556677";
	p.created_at = 5;
	p.responses_api = 1;
	p.attest_policy = (char *)"{\"version\":1}";
	assert_int_equal(store_provider_insert(f->store, &p, err, sizeof(err)),
	    0);
	assert_int_equal(store_provider_get(f->store, DOM_A, "cloud", &p, err,
	    sizeof(err)), 0);
	assert_string_equal(p.driver, "vllm");
	assert_int_equal(p.responses_api, 1);
	assert_string_equal(p.attest_policy, "{\"version\":1}");
	assert_string_equal(p.status, "active");
	assert_null(p.error);
	assert_int_equal(p.credential_len, 3);
	assert_memory_equal(p.credential, blob, 3);
	assert_string_equal(p.fingerprint, "0011223344556677");
	store_provider_clear(&p);

	assert_int_equal(store_provider_set_status(f->store, DOM_A, "cloud",
	    "errored", "HTTP 401", err, sizeof(err)), 0);
	assert_int_equal(store_provider_get(f->store, DOM_A, "cloud", &p, err,
	    sizeof(err)), 0);
	assert_string_equal(p.status, "errored");
	assert_string_equal(p.error, "HTTP 401");
	store_provider_clear(&p);
	assert_int_equal(store_provider_set_status(f->store, DOM_B, "cloud",
	    "active", NULL, err, sizeof(err)), STORE_NOT_FOUND);

	/* update: driver, url, credential, fingerprint, status, error. */
	assert_int_equal(store_provider_get(f->store, DOM_A, "cloud", &p, err,
	    sizeof(err)), 0);
	free(p.url);
	p.url = xstrdup("http://other/v1");
	free(p.credential);
	p.credential = NULL;
	p.credential_len = 0;
	free(p.fingerprint);
	p.fingerprint = NULL;
	free(p.status);
	p.status = xstrdup("active");
	free(p.error);
	p.error = NULL;
	p.responses_api = 0;
	free(p.attest_policy);
	p.attest_policy = NULL;
	assert_int_equal(store_provider_update(f->store, &p, err, sizeof(err)),
	    0);
	store_provider_clear(&p);
	assert_int_equal(store_provider_get(f->store, DOM_A, "cloud", &p, err,
	    sizeof(err)), 0);
	assert_string_equal(p.url, "http://other/v1");
	assert_int_equal(p.responses_api, 0);
	assert_null(p.attest_policy);
	assert_string_equal(p.driver, "vllm");
	assert_null(p.credential);
	assert_null(p.fingerprint);
	assert_string_equal(p.status, "active");
	assert_null(p.error);
	assert_int_equal(p.created_at, 5);
	memcpy(p.domain_id, DOM_B, sizeof(p.domain_id));
	assert_int_equal(store_provider_update(f->store, &p, err, sizeof(err)),
	    STORE_NOT_FOUND);
	assert_non_null(strstr(err, "cloud"));
	store_provider_clear(&p);

	assert_int_equal(store_provider_list(f->store, DOM_A, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "cloud");
	assert_string_equal(list[1].name, "local");
	store_provider_list_free(list, n);
	assert_int_equal(store_provider_list(f->store, NULL, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 3);
	store_provider_list_free(list, n);

	/* Refused while a model uses it, allowed after. */
	assert_int_equal(add_model(f->store, DOM_A, "m1", "local"), 0);
	assert_int_equal(store_provider_delete(f->store, DOM_A, "local", err,
	    sizeof(err)), STORE_CONFLICT);
	assert_non_null(strstr(err, "m1"));
	assert_int_equal(store_model_delete(f->store, DOM_A, "m1", err,
	    sizeof(err)), 0);
	assert_int_equal(store_provider_delete(f->store, DOM_A, "local", err,
	    sizeof(err)), 0);
	assert_int_equal(store_provider_delete(f->store, DOM_A, "local", err,
	    sizeof(err)), STORE_NOT_FOUND);
}

static void
test_models(void **state)
{
	struct fixture		*f = *state;
	struct store_model	 m, *list;
	size_t			 n;
	char			 err[256];

	fixture_domain(f->store, DOM_A, "acme");
	fixture_domain(f->store, DOM_B, "beta");
	assert_int_equal(add_provider(f->store, DOM_A, "local"), 0);
	assert_int_equal(add_provider(f->store, DOM_A, "other"), 0);

	fill_model(&m, DOM_A, "gpt", "local");
	m.tools = 1;
	m.price_input = 150000000;
	m.price_output = 600000000;
	m.price_cached = 75000000;
	m.has_temperature = 1;
	m.temperature = 0.25;
	m.max_tokens = 4096;
	m.system_prompt = (char *)"Be brief.";
	assert_int_equal(store_model_insert(f->store, &m, err, sizeof(err)),
	    0);
	assert_int_equal(store_model_insert(f->store, &m, err, sizeof(err)),
	    STORE_CONFLICT);
	assert_non_null(strstr(err, "already exists"));
	/* The provider must exist in the same domain. */
	fill_model(&m, DOM_B, "gpt", "local");
	assert_int_equal(store_model_insert(f->store, &m, err, sizeof(err)),
	    STORE_CONFLICT);
	assert_non_null(strstr(err, "provider 'local' not found"));

	assert_int_equal(store_model_get(f->store, DOM_A, "gpt", &m, err,
	    sizeof(err)), 0);
	assert_string_equal(m.name, "Display");
	assert_string_equal(m.model_id, "upstream-id");
	assert_int_equal(m.tools, 1);
	assert_int_equal(m.vision, 0);
	assert_int_equal(m.price_input, 150000000);
	assert_int_equal(m.price_output, 600000000);
	assert_int_equal(m.price_cached, 75000000);
	assert_int_equal(m.has_temperature, 1);
	assert_true(m.temperature == 0.25);
	assert_int_equal(m.max_tokens, 4096);
	assert_string_equal(m.system_prompt, "Be brief.");
	assert_string_equal(m.guard_out, "[\"pii\"]");

	/* Rename and clear settings. */
	free(m.key);
	m.key = xstrdup("gpt-2");
	m.has_temperature = 0;
	m.max_tokens = 0;
	free(m.system_prompt);
	m.system_prompt = NULL;
	free(m.provider);
	m.provider = xstrdup("other");
	m.updated_at = 2000;
	assert_int_equal(store_model_update(f->store, "gpt", &m, err,
	    sizeof(err)), 0);
	store_model_clear(&m);
	assert_int_equal(store_model_get(f->store, DOM_A, "gpt", &m, err,
	    sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_model_get(f->store, DOM_A, "gpt-2", &m, err,
	    sizeof(err)), 0);
	assert_int_equal(m.has_temperature, 0);
	assert_int_equal(m.max_tokens, 0);
	assert_null(m.system_prompt);
	assert_string_equal(m.provider, "other");
	assert_int_equal(m.created_at, 1002);
	assert_int_equal(m.updated_at, 2000);

	/* Renaming onto an existing key is a conflict. */
	assert_int_equal(add_model(f->store, DOM_A, "abc", "local"), 0);
	free(m.key);
	m.key = xstrdup("abc");
	assert_int_equal(store_model_update(f->store, "gpt-2", &m, err,
	    sizeof(err)), STORE_CONFLICT);
	/* Moving onto a provider that does not exist is refused. */
	free(m.key);
	m.key = xstrdup("gpt-2");
	free(m.provider);
	m.provider = xstrdup("ghost");
	assert_int_equal(store_model_update(f->store, "gpt-2", &m, err,
	    sizeof(err)), STORE_CONFLICT);
	assert_non_null(strstr(err, "ghost"));
	assert_int_equal(store_model_update(f->store, "missing", &m, err,
	    sizeof(err)), STORE_NOT_FOUND);
	store_model_clear(&m);

	assert_int_equal(store_model_list(f->store, DOM_A, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].key, "abc");
	assert_string_equal(list[1].key, "gpt-2");
	store_model_list_free(list, n);
	assert_int_equal(store_model_delete(f->store, DOM_A, "abc", err,
	    sizeof(err)), 0);
	assert_int_equal(store_model_delete(f->store, DOM_A, "abc", err,
	    sizeof(err)), STORE_NOT_FOUND);
}

static void
test_tokens(void **state)
{
	struct fixture		*f = *state;
	struct store_token	 t, *list;
	size_t			 n;
	char			 err[256];
	unsigned char		 h[VAULT_TOKEN_HASH_BYTES];

	fixture_domain(f->store, DOM_A, "acme");
	assert_int_equal(add_token(f->store, DOM_A, "tok_0000000000000001",
	    0xaa), 0);
	/* Same hash twice: refused. */
	assert_int_equal(add_token(f->store, DOM_A, "tok_0000000000000002",
	    0xaa), STORE_CONFLICT);
	assert_int_equal(add_token(f->store, DOM_A, "tok_0000000000000002",
	    0xbb), 0);

	assert_int_equal(store_token_get(f->store, DOM_A,
	    "tok_0000000000000001", &t, err, sizeof(err)), 0);
	memset(h, 0xaa, sizeof(h));
	assert_memory_equal(t.hash, h, sizeof(h));
	assert_int_equal(t.expires_at, 0);
	assert_int_equal(t.revoked_at, 0);
	assert_null(t.models);
	assert_int_equal(t.rpm, 0);
	store_token_clear(&t);
	assert_int_equal(store_token_get(f->store, DOM_B,
	    "tok_0000000000000001", &t, err, sizeof(err)), STORE_NOT_FOUND);

	assert_int_equal(store_token_revoke(f->store, DOM_A,
	    "tok_0000000000000001", 5000, err, sizeof(err)), 0);
	assert_int_equal(store_token_revoke(f->store, DOM_A,
	    "tok_0000000000000001", 6000, err, sizeof(err)), 0);
	assert_int_equal(store_token_get(f->store, DOM_A,
	    "tok_0000000000000001", &t, err, sizeof(err)), 0);
	assert_int_equal(t.revoked_at, 5000);
	store_token_clear(&t);
	assert_int_equal(store_token_revoke(f->store, DOM_A,
	    "tok_ffffffffffffffff", 1, err, sizeof(err)), STORE_NOT_FOUND);

	assert_int_equal(store_token_list(f->store, DOM_A, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	store_token_list_free(list, n);
}

/*
 * Deployments: written in order with the model, read back, renamed with
 * it, holding their providers; a version 11 model gets its one.
 */
static void
test_deployments(void **state)
{
	struct fixture		*f = *state;
	struct store_model	 m, *list;
	struct store_deployment	 d[2];
	char			 err[256], path[128];
	size_t			 n;
	sqlite3			*db;

	fixture_domain(f->store, DOM_A, "acme");
	assert_int_equal(add_provider(f->store, DOM_A, "p1"), 0);
	assert_int_equal(add_provider(f->store, DOM_A, "p2"), 0);
	assert_int_equal(add_model(f->store, DOM_A, "old", "p1"), 0);
	assert_int_equal(store_model_get(f->store, DOM_A, "old", &m, err,
	    sizeof(err)), 0);
	assert_int_equal(m.ndeployments, 1);
	assert_string_equal(m.deployments[0].provider, "p1");
	assert_int_equal(m.deployments[0].weight, 1);
	assert_int_equal(m.retries, MODEL_RETRIES_DEFAULT);
	assert_int_equal(m.retry_deadline_ms, MODEL_DEADLINE_DEFAULT);
	assert_string_equal(m.fallbacks, "[]");

	d[0] = (struct store_deployment){ (char *)"p2", (char *)"b:1", 3, 1 };
	d[1] = (struct store_deployment){ (char *)"p1", (char *)"a:1", 1, 0 };
	store_model_set_deployments(&m, d, 2);
	assert_string_equal(m.provider, "p2");
	assert_string_equal(m.model_id, "b:1");
	free(m.key);
	m.key = xstrdup("new");
	free(m.fallbacks);
	m.fallbacks = xstrdup("[\"x\"]");
	m.retries = 4;
	m.retry_deadline_ms = 1234;
	assert_int_equal(store_model_update(f->store, "old", &m, err,
	    sizeof(err)), 0);
	store_model_clear(&m);
	assert_int_equal(store_model_list(f->store, DOM_A, &list, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].key, "new");
	assert_int_equal(list[0].ndeployments, 2);
	assert_string_equal(list[0].deployments[0].provider, "p2");
	assert_string_equal(list[0].deployments[0].model_id, "b:1");
	assert_int_equal(list[0].deployments[0].weight, 3);
	assert_int_equal(list[0].deployments[0].priority, 1);
	assert_string_equal(list[0].deployments[1].provider, "p1");
	assert_string_equal(list[0].provider, "p2");
	assert_string_equal(list[0].fallbacks, "[\"x\"]");
	assert_int_equal(list[0].retries, 4);
	assert_int_equal(list[0].retry_deadline_ms, 1234);
	store_model_list_free(list, n);
	/* A provider a second deployment uses stays. */
	assert_int_equal(store_provider_delete(f->store, DOM_A, "p1", err,
	    sizeof(err)), STORE_CONFLICT);
	/* A pair twice is a conflict that names it. */
	assert_int_equal(store_model_get(f->store, DOM_A, "new", &m, err,
	    sizeof(err)), 0);
	d[1] = d[0];
	store_model_set_deployments(&m, d, 2);
	assert_int_equal(store_model_update(f->store, "new", &m, err,
	    sizeof(err)), STORE_CONFLICT);
	assert_non_null(strstr(err, "p2/b:1"));
	store_model_clear(&m);

	/* Version 14: the model's provider and model id become its one. */
	assert_int_equal(add_model(f->store, DOM_A, "legacy", "p1"), 0);
	store_close(f->store);
	snprintf(path, sizeof(path), "%s/cube.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE model_deployments;"
	    " ALTER TABLE models DROP COLUMN fallbacks;"
	    " ALTER TABLE models DROP COLUMN retries;"
	    " ALTER TABLE models DROP COLUMN retry_deadline_ms;"
	    " ALTER TABLE traces DROP COLUMN attempts;"
	    " PRAGMA user_version = 14", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->store = fixture_store_open(f->dir);
	assert_int_equal(store_model_get(f->store, DOM_A, "legacy", &m, err,
	    sizeof(err)), 0);
	assert_int_equal(m.ndeployments, 1);
	assert_string_equal(m.deployments[0].provider, "p1");
	assert_string_equal(m.deployments[0].model_id, m.model_id);
	assert_int_equal(m.retries, MODEL_RETRIES_DEFAULT);
	store_model_clear(&m);
}

/*
 * A migration that fails at its last step (a models row naming a provider
 * that is not there, left by a writer without foreign keys, which the
 * deployments' foreign key refuses) rolls back every step of the start:
 * the file stays at version 10, not 14, and its rows are all there.
 */
static void
test_migration_atomic(void **state)
{
	struct fixture	*f = *state;
	sqlite3		*db;
	sqlite3_stmt	*stmt;
	char		 path[128], err[512];

	fixture_domain(f->store, DOM_A, "acme");
	assert_int_equal(add_provider(f->store, DOM_A, "p1"), 0);
	assert_int_equal(add_model(f->store, DOM_A, "chat", "p1"), 0);
	store_close(f->store);
	f->store = NULL;
	snprintf(path, sizeof(path), "%s/cube.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE model_deployments;"
	    " ALTER TABLE models DROP COLUMN fallbacks;"
	    " ALTER TABLE models DROP COLUMN retries;"
	    " ALTER TABLE models DROP COLUMN retry_deadline_ms;"
	    " ALTER TABLE traces DROP COLUMN attempts;"
	    " ALTER TABLE providers DROP COLUMN attest_policy;"
	    " ALTER TABLE domains DROP COLUMN require_attested;"
	    " ALTER TABLE traces DROP COLUMN trace_id;"
	    " ALTER TABLE traces DROP COLUMN span_id;"
	    " ALTER TABLE domains DROP COLUMN jwt;"
	    " ALTER TABLE providers DROP COLUMN responses_api;"
	    " PRAGMA foreign_keys = OFF;"
	    " INSERT INTO models (domain_id, key, name, model_id, provider,"
	    "  created_at, updated_at) VALUES ('" DOM_A "', 'orphan', 'O',"
	    "  'x', 'gone', 1, 1);"
	    " PRAGMA user_version = 10", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_null(store_open(f->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "migration to version 15 failed: FOREIGN"
	    " KEY constraint failed; the file is left at version 10"));

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT"
	    " (SELECT user_version FROM pragma_user_version),"
	    " (SELECT count(*) FROM models),"
	    " (SELECT count(*) FROM pragma_table_info('providers')"
	    "  WHERE name = 'responses_api'),"
	    " (SELECT count(*) FROM sqlite_master"
	    "  WHERE name = 'model_deployments')", -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(stmt, 0), 10);
	assert_int_equal(sqlite3_column_int(stmt, 1), 2);
	assert_int_equal(sqlite3_column_int(stmt, 2), 0);
	assert_int_equal(sqlite3_column_int(stmt, 3), 0);
	sqlite3_finalize(stmt);

	/* Without the bad row the same file migrates, all of it. */
	assert_int_equal(sqlite3_exec(db, "DELETE FROM models"
	    " WHERE key = 'orphan'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->store = fixture_store_open(f->dir);
	assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
}

static void
test_cascade(void **state)
{
	struct fixture		*f = *state;
	struct store_provider	*pl;
	struct store_model	*ml;
	struct store_token	*tl;
	size_t			 n;
	char			 err[256];

	fixture_domain(f->store, DOM_A, "acme");
	fixture_domain(f->store, DOM_B, "beta");
	assert_int_equal(add_provider(f->store, DOM_A, "p"), 0);
	assert_int_equal(add_provider(f->store, DOM_B, "p"), 0);
	assert_int_equal(add_model(f->store, DOM_A, "m", "p"), 0);
	assert_int_equal(add_model(f->store, DOM_B, "m", "p"), 0);
	assert_int_equal(add_token(f->store, DOM_A, "tok_000000000000000a",
	    1), 0);
	assert_int_equal(add_token(f->store, DOM_B, "tok_000000000000000b",
	    2), 0);

	assert_int_equal(store_domain_delete(f->store, DOM_A, err,
	    sizeof(err)), 0);
	assert_int_equal(store_provider_list(f->store, NULL, &pl, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pl[0].domain_id, DOM_B);
	store_provider_list_free(pl, n);
	assert_int_equal(store_model_list(f->store, NULL, &ml, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ml[0].domain_id, DOM_B);
	store_model_list_free(ml, n);
	assert_int_equal(store_token_list(f->store, NULL, &tl, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(tl[0].id, "tok_000000000000000b");
	store_token_list_free(tl, n);
}

static void
add_guardrail(struct store *s, const char *domain, const char *key)
{
	struct store_guardrail	g;
	char			err[256];

	memset(&g, 0, sizeof(g));
	snprintf(g.domain_id, sizeof(g.domain_id), "%s", domain);
	g.key = (char *)key;
	g.kind = (char *)"pii";
	g.action = (char *)"block";
	if (store_guardrail_insert(s, &g, err, sizeof(err)) != 0)
		fail_msg("insert guardrail: %s", err);
}

/*
 * Every descriptor keeps a domain to its own rows: a get in another
 * domain or in none finds nothing, a list holds that domain's alone.
 */
static void
test_entities_scoped(void **state)
{
	static const struct {
		const struct store_entity	*e;
		const char			*key;
		size_t				 domain_id;
		int				 both;	/* same key in B */
	} t[] = {
		{ &store_provider_entity, "p",
		  offsetof(struct store_provider, domain_id), 1 },
		{ &store_model_entity, "m",
		  offsetof(struct store_model, domain_id), 1 },
		{ &store_guardrail_entity, "g",
		  offsetof(struct store_guardrail, domain_id), 1 },
		{ &store_token_entity, "tok_000000000000000a",
		  offsetof(struct store_token, domain_id), 0 },
	};
	struct fixture	*f = *state;
	unsigned char	*row, *list;
	char		 err[256], want[128];
	size_t		 i, n;

	fixture_domain(f->store, DOM_A, "acme");
	fixture_domain(f->store, DOM_B, "beta");
	assert_int_equal(add_provider(f->store, DOM_A, "p"), 0);
	assert_int_equal(add_provider(f->store, DOM_B, "p"), 0);
	assert_int_equal(add_model(f->store, DOM_A, "m", "p"), 0);
	assert_int_equal(add_model(f->store, DOM_B, "m", "p"), 0);
	add_guardrail(f->store, DOM_A, "g");
	add_guardrail(f->store, DOM_B, "g");
	assert_int_equal(add_token(f->store, DOM_A, "tok_000000000000000a",
	    1), 0);
	assert_int_equal(add_token(f->store, DOM_B, "tok_000000000000000b",
	    2), 0);

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		row = xcalloc(1, t[i].e->size);
		assert_int_equal(store_entity_get(f->store, t[i].e, DOM_A,
		    t[i].key, row, err, sizeof(err)), 0);
		assert_string_equal((char *)row + t[i].domain_id, DOM_A);
		t[i].e->clear(row);
		snprintf(want, sizeof(want), "%s '%s' not found in this domain",
		    t[i].e->noun, t[i].key);
		if (t[i].both) {
			assert_int_equal(store_entity_get(f->store, t[i].e,
			    DOM_B, t[i].key, row, err, sizeof(err)), 0);
			assert_string_equal((char *)row + t[i].domain_id,
			    DOM_B);
			t[i].e->clear(row);
		} else {
			assert_int_equal(store_entity_get(f->store, t[i].e,
			    DOM_B, t[i].key, row, err, sizeof(err)),
			    STORE_NOT_FOUND);
			assert_string_equal(err, want);
		}
		/* No domain: nothing, whatever the key. */
		err[0] = '\0';
		assert_int_equal(store_entity_get(f->store, t[i].e, NULL,
		    t[i].key, row, err, sizeof(err)), STORE_NOT_FOUND);
		assert_string_equal(err, want);
		assert_int_equal(store_entity_get(f->store, t[i].e, DOM_A,
		    "' OR 1=1 --", row, err, sizeof(err)), STORE_NOT_FOUND);
		free(row);

		assert_int_equal(store_entity_list(f->store, t[i].e, DOM_A, -1,
		    (void **)&list, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 1);
		assert_string_equal((char *)list + t[i].domain_id, DOM_A);
		store_entity_list_free(t[i].e, list, n);
		assert_int_equal(store_entity_list(f->store, t[i].e,
		    "33333333-3333-4333-8333-333333333333", -1, (void **)&list,
		    &n, err, sizeof(err)), 0);
		assert_int_equal(n, 0);
		assert_null(list);
		/* Every domain's: the snapshot's reader. */
		assert_int_equal(store_entity_list(f->store, t[i].e, NULL, -1,
		    (void **)&list, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 2);
		store_entity_list_free(t[i].e, list, n);
	}
}

static void
test_no_sql_injection(void **state)
{
	struct fixture		*f = *state;
	struct store_domain	 d;
	char			 err[256];
	size_t			 n;

	fixture_domain(f->store, DOM_A, "x'); DROP TABLE domains; --");
	assert_int_equal(store_domain_get(f->store,
	    "x'); DROP TABLE domains; --", &d, err, sizeof(err)), 0);
	store_domain_clear(&d);
	assert_int_equal(store_domain_get(f->store, "' OR 1=1 --", &d, err,
	    sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_domain_count(f->store, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_page_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_atomic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_providers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_models, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deployments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entities_scoped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_sql_injection, setup,
		    teardown),
	};

	log_init("test-store", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
