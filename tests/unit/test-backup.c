/*
 * backup.c and admin-backup.c: the copy (consistent, checked, unlinked,
 * cancellable), backup.begin/read/end and their limits, and the sweep of
 * what a crash leaves.
 */
#include <sys/stat.h>

#include <dirent.h>
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
#include <event2/event.h>
#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "fixture.h"
#include "rpc.h"

struct fixture {
	char		 dir[FIXTURE_DIR_MAX];
	struct agent	 agent;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	struct agent	*a;

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "backup");
	a = &f->agent;
	a->cfg.data_dir = strdup(f->dir);
	a->vault = fixture_vault_open(f->dir);
	a->store = fixture_store_open(f->dir);
	assert_non_null(a->base = event_base_new());
	fixture_domain(a->store, "11111111-1111-4111-8111-111111111111",
	    "acme");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	struct agent	*a = &f->agent;

	admin_backup_stop();
	registry_shutdown();
	event_base_free(a->base);
	store_close(a->store);
	vault_free(a->vault);
	free(a->cfg.data_dir);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

/* How many files in dir start with prefix. */
static int
count_prefixed(const char *dir, const char *prefix)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static cJSON *
call(struct fixture *f, const char *method, const char *params)
{
	char	*line, *out;
	cJSON	*j;

	if (asprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\","
	    "\"params\":%s}", method, params) == -1)
		fail();
	assert_non_null(out = admin_handle(&f->agent, NULL, line,
	    strlen(line)));
	assert_non_null(j = cJSON_Parse(out));
	free(out);
	free(line);
	return j;
}

static const cJSON *
result(const cJSON *reply)
{
	const cJSON	*r = cJSON_GetObjectItem(reply, "result");

	if (r == NULL)
		fail_msg("expected a result: %s", cJSON_PrintUnformatted(
		    reply));
	return r;
}

static int
error_code(const cJSON *reply)
{
	const cJSON	*e = cJSON_GetObjectItem(reply, "error");

	assert_non_null(e);
	return cJSON_GetObjectItem(e, "code")->valueint;
}

/* The copy is the database as it was, checked, and leaves no file. */
static void
test_backup_make(void **state)
{
	struct fixture	*f = *state;
	struct backup	*b;
	sqlite3		*db;
	sqlite3_stmt	*stmt;
	unsigned char	*bytes;
	char		 err[256], sha[65], *path;
	int64_t		 size;
	int		 cancel = 0;
	FILE		*fp;

	b = backup_new(f->dir);
	assert_int_equal(backup_make(b, &cancel, err, sizeof(err)), 0);
	assert_int_equal(b->schema_version, STORE_SCHEMA_VERSION);
	assert_true(b->size >= 4096 && b->size % 4096 == 0);
	assert_int_equal(count_prefixed(f->dir, "cube.db.backup-"), 0);
	assert_int_equal(backup_digest(b->fd, &size, sha, err, sizeof(err)),
	    0);
	assert_int_equal(size, b->size);
	assert_string_equal(sha, b->sha256);

	bytes = malloc((size_t)b->size);
	assert_int_equal(backup_read(b, 0, bytes, (size_t)b->size + 10),
	    b->size);
	assert_memory_equal(bytes, "SQLite format 3", 16);
	assert_int_equal(bytes[18], 1);		/* rollback journal, no WAL */
	assert_int_equal(backup_read(b, b->size, bytes, 16), 0);
	assert_int_equal(backup_read(b, b->size - 3, bytes, 16), 3);
	assert_int_equal(asprintf(&path, "%s/copy.db", f->dir) != -1, 1);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(backup_read(b, 0, bytes, (size_t)b->size), b->size);
	assert_int_equal(fwrite(bytes, 1, (size_t)b->size, fp), b->size);
	fclose(fp);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM domains",
	    -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(stmt, 0), "acme");
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	assert_int_equal(backup_integrity(db, err, sizeof(err)), 0);
	assert_int_equal(store_db_schema_version(db), STORE_SCHEMA_VERSION);
	sqlite3_close(db);
	free(path);
	free(bytes);
	backup_free(b);
	backup_free(NULL);
}

static void
test_backup_cancel(void **state)
{
	struct fixture	*f = *state;
	struct backup	*b;
	char		 err[256];
	int		 cancel = 1;

	b = backup_new(f->dir);
	assert_int_equal(backup_make(b, &cancel, err, sizeof(err)), -1);
	assert_string_equal(err, "cancelled");
	assert_int_equal(b->fd, -1);
	assert_int_equal(count_prefixed(f->dir, "cube.db.backup-"), 0);
	backup_free(b);
}

static void
test_backup_methods(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*r;
	cJSON		*a, *b, *reply;
	char		 params[256];
	double		 size;

	reply = call(f, "backup.begin", "{\"domain\":\"acme\"}");
	assert_int_equal(error_code(reply), RPC_INVALID_PARAMS);
	cJSON_Delete(reply);

	a = call(f, "backup.begin", "{}");
	r = result(a);
	assert_int_equal(strlen(cJSON_GetObjectItem(r, "id")->valuestring),
	    32);
	assert_int_equal(strlen(cJSON_GetObjectItem(r, "sha256")->valuestring),
	    64);
	assert_int_equal(cJSON_GetObjectItem(r, "schema_version")->valueint,
	    STORE_SCHEMA_VERSION);
	assert_int_equal(cJSON_GetObjectItem(r, "chunk_max")->valueint,
	    ADMIN_BACKUP_CHUNK);
	size = cJSON_GetObjectItem(r, "size")->valuedouble;
	assert_true(size >= 4096);

	snprintf(params, sizeof(params), "{\"id\":\"%s\",\"offset\":0,"
	    "\"length\":16}", cJSON_GetObjectItem(r, "id")->valuestring);
	reply = call(f, "backup.read", params);
	assert_string_equal(cJSON_GetObjectItem(result(reply),
	    "data")->valuestring, "U1FMaXRlIGZvcm1hdCAzAA==");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(result(reply), "eof")));
	cJSON_Delete(reply);
	snprintf(params, sizeof(params), "{\"id\":\"%s\",\"offset\":%.0f}",
	    cJSON_GetObjectItem(r, "id")->valuestring, size);
	reply = call(f, "backup.read", params);
	assert_string_equal(cJSON_GetObjectItem(result(reply),
	    "data")->valuestring, "");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(result(reply), "eof")));
	cJSON_Delete(reply);
	snprintf(params, sizeof(params), "{\"id\":\"%s\",\"offset\":%.0f}",
	    cJSON_GetObjectItem(r, "id")->valuestring, size + 1);
	reply = call(f, "backup.read", params);
	assert_int_equal(error_code(reply), RPC_INVALID_PARAMS);
	cJSON_Delete(reply);
	snprintf(params, sizeof(params), "{\"id\":\"%s\",\"offset\":0,"
	    "\"length\":1048577}", cJSON_GetObjectItem(r, "id")->valuestring);
	reply = call(f, "backup.read", params);
	assert_int_equal(error_code(reply), RPC_INVALID_PARAMS);
	cJSON_Delete(reply);
	reply = call(f, "backup.read", "{\"id\":\"nope\",\"offset\":0}");
	assert_int_equal(error_code(reply), RPC_NOT_FOUND);
	cJSON_Delete(reply);

	/* Two at once, not three. */
	b = call(f, "backup.begin", "{}");
	result(b);
	reply = call(f, "backup.begin", "{}");
	assert_int_equal(error_code(reply), RPC_CONFLICT);
	cJSON_Delete(reply);

	snprintf(params, sizeof(params), "{\"id\":\"%s\"}",
	    cJSON_GetObjectItem(r, "id")->valuestring);
	reply = call(f, "backup.end", params);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(result(reply), "ended")));
	cJSON_Delete(reply);
	reply = call(f, "backup.end", params);
	assert_int_equal(error_code(reply), RPC_NOT_FOUND);
	cJSON_Delete(reply);
	reply = call(f, "backup.begin", "{}");
	result(reply);
	cJSON_Delete(reply);
	assert_int_equal(count_prefixed(f->dir, "cube.db.backup-"), 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void
test_backup_sweep(void **state)
{
	struct fixture	*f = *state;
	const char	*names[] = { "cube.db.backup-x1Yz9q",
			    "cube.db.backup-x1Yz9q-journal",
			    "cube.db.restore-AbC123", "cube.db.before-restore",
			    "notes" };
	char		 path[FIXTURE_DIR_MAX + 64];
	size_t		 i;
	FILE		*fp;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		assert_non_null(fp = fopen(path, "w"));
		fclose(fp);
	}
	backup_sweep(f->dir);
	assert_int_equal(count_prefixed(f->dir, "cube.db.backup-"), 0);
	assert_int_equal(count_prefixed(f->dir, "cube.db.restore-"), 0);
	assert_int_equal(count_prefixed(f->dir, "cube.db.before-restore"), 1);
	assert_int_equal(count_prefixed(f->dir, "notes"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_make, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backup_cancel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backup_methods, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backup_sweep, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
