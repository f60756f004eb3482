/*
 * The agent's state in SQLite (DATA_DIR/cube.db, WAL): opening, schema
 * migrations, cached prepared statements. The tables have their own files
 * (store-domain.c, ...). Used from the admin thread only.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

#define STORE_MAX_STMTS		96
#define STORE_CACHE_KIB		"1024"	/* PRAGMA cache_size, per connection */
/*
 * PRAGMA page_size of a new database. The traces table takes most of the
 * writes, rows of about 700 bytes appended in batches: with 16 KiB pages
 * a batch writes a quarter as many WAL frames (each copied again at the
 * checkpoint) and its B-tree is shallower. 100,000 such rows took about a
 * third less CPU than with SQLite's default of 4 KiB. A database made
 * before keeps its page size: WAL mode fixes it.
 */
#define STORE_PAGE_BYTES	"16384"

struct store {
	sqlite3		*db;
	struct {
		const char	*sql;
		sqlite3_stmt	*stmt;
	}		 stmts[STORE_MAX_STMTS];
	size_t		 nstmts;
};

/*
 * Schema migrations: migrations[i] takes user_version i to i + 1; all the
 * steps a start needs run in one transaction (store_migrate). Append only;
 * never edit one that has shipped: tests/fixtures/schema holds a database
 * of every earlier version that tests/scenario/upgrade.sh migrates.
 */
static const char *const store_migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE domains ("
	"  id                   TEXT PRIMARY KEY NOT NULL,"
	"  name                 TEXT NOT NULL UNIQUE,"
	"  log_content          INTEGER NOT NULL DEFAULT 0"
	"                       CHECK (log_content IN (0, 1)),"
	"  trace_retention_days INTEGER NOT NULL DEFAULT 30"
	"                       CHECK (trace_retention_days BETWEEN 1 AND 3650),"
	"  created_at           INTEGER NOT NULL"
	");"
	"CREATE TABLE providers ("
	"  domain_id   TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  name        TEXT NOT NULL,"
	"  driver      TEXT NOT NULL CHECK (driver IN ('openai','ollama','vllm')),"
	"  url         TEXT NOT NULL,"
	"  credential  BLOB,"
	"  fingerprint TEXT,"
	"  status      TEXT NOT NULL DEFAULT 'active'"
	"              CHECK (status IN ('active','errored')),"
	"  error       TEXT,"
	"  created_at  INTEGER NOT NULL,"
	"  PRIMARY KEY (domain_id, name)"
	");"
	"CREATE TABLE models ("
	"  domain_id     TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  key           TEXT NOT NULL,"
	"  name          TEXT NOT NULL,"
	"  model_id      TEXT NOT NULL,"
	"  provider      TEXT NOT NULL,"
	"  category      TEXT NOT NULL DEFAULT 'llm'"
	"                CHECK (category IN ('llm','embedding')),"
	"  tools         INTEGER NOT NULL DEFAULT 0,"
	"  vision        INTEGER NOT NULL DEFAULT 0,"
	"  price_input   INTEGER NOT NULL DEFAULT 0 CHECK (price_input >= 0),"
	"  price_output  INTEGER NOT NULL DEFAULT 0 CHECK (price_output >= 0),"
	"  price_cached  INTEGER NOT NULL DEFAULT 0 CHECK (price_cached >= 0),"
	"  status        TEXT NOT NULL DEFAULT 'active'"
	"                CHECK (status IN ('active','inactive')),"
	"  temperature   REAL,"
	"  max_tokens    INTEGER,"
	"  system_prompt TEXT,"
	"  guard_in      TEXT NOT NULL DEFAULT '[]',"
	"  guard_out     TEXT NOT NULL DEFAULT '[]',"
	"  description   TEXT NOT NULL DEFAULT '',"
	"  created_at    INTEGER NOT NULL,"
	"  updated_at    INTEGER NOT NULL,"
	"  PRIMARY KEY (domain_id, key),"
	"  FOREIGN KEY (domain_id, provider) REFERENCES providers(domain_id, name)"
	");"
	"CREATE INDEX models_provider ON models(domain_id, provider);"
	"CREATE TABLE tokens ("
	"  id         TEXT PRIMARY KEY NOT NULL,"
	"  domain_id  TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  name       TEXT NOT NULL DEFAULT '',"
	"  hash       BLOB NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER,"
	"  revoked_at INTEGER,"
	"  models     TEXT,"
	"  rpm        INTEGER,"
	"  tpm        INTEGER,"
	"  budget     INTEGER"
	");"
	"CREATE INDEX tokens_domain ON tokens(domain_id);",
	/* 2: the audit log of admin writes; kept when its domain goes. */
	"CREATE TABLE audit ("
	"  id        INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at        INTEGER NOT NULL,"
	"  uid       INTEGER NOT NULL,"
	"  user      TEXT NOT NULL,"
	"  method    TEXT NOT NULL,"
	"  domain_id TEXT,"
	"  domain    TEXT,"
	"  target    TEXT NOT NULL,"
	"  changes   TEXT NOT NULL DEFAULT '[]'"
	");"
	"CREATE INDEX audit_domain ON audit(domain_id, id);",
	/* 3: guardrails; models name them in guard_in and guard_out. */
	"CREATE TABLE guardrails ("
	"  domain_id   TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  key         TEXT NOT NULL,"
	"  kind        TEXT NOT NULL"
	"              CHECK (kind IN ('pii','regex','keywords','length')),"
	"  action      TEXT NOT NULL CHECK (action IN ('block','redact','log')),"
	"  params      TEXT NOT NULL DEFAULT '{}',"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_at  INTEGER NOT NULL,"
	"  updated_at  INTEGER NOT NULL,"
	"  PRIMARY KEY (domain_id, key)"
	");",
	/*
	 * 4: traces, written by the trace writer (trace.c), and the hourly
	 * rollup it keeps beside them, which usage queries read. No foreign
	 * keys: a trace outlives nothing, retention removes orphans. Traces
	 * are clustered by domain, one B-tree insert each; ids, the writer's,
	 * grow with time, so (domain_id, id) serves logs and retention.
	 */
	"CREATE TABLE traces ("
	"  domain_id         TEXT NOT NULL,"
	"  id                INTEGER NOT NULL,"	/* unix ms << 10, then + 1 */
	"  time_ms           INTEGER NOT NULL,"
	"  token_id          TEXT,"
	"  model             TEXT,"
	"  model_id          TEXT,"
	"  provider          TEXT,"
	"  route             TEXT NOT NULL,"
	"  status            INTEGER NOT NULL,"
	"  error             TEXT,"
	"  rejected_step     TEXT,"
	"  latency_ms        INTEGER NOT NULL,"
	"  ttft_ms           INTEGER,"
	"  prompt_tokens     INTEGER NOT NULL DEFAULT 0,"
	"  completion_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cached_tokens     INTEGER NOT NULL DEFAULT 0,"
	"  estimated         INTEGER NOT NULL DEFAULT 0,"
	"  cost              INTEGER NOT NULL DEFAULT 0,"
	"  stream            INTEGER NOT NULL DEFAULT 0,"
	"  cancelled         INTEGER NOT NULL DEFAULT 0,"
	"  prompt_text       TEXT,"
	"  completion_text   TEXT,"
	"  PRIMARY KEY (domain_id, id)"
	") WITHOUT ROWID;"
	"CREATE TABLE usage_hourly ("
	"  domain_id         TEXT NOT NULL,"
	"  hour              INTEGER NOT NULL,"	/* unix seconds / 3600 */
	"  model             TEXT NOT NULL,"
	"  token_id          TEXT NOT NULL,"
	"  requests          INTEGER NOT NULL,"
	"  errors            INTEGER NOT NULL,"
	"  prompt_tokens     INTEGER NOT NULL,"
	"  completion_tokens INTEGER NOT NULL,"
	"  cached_tokens     INTEGER NOT NULL,"
	"  cost              INTEGER NOT NULL,"
	"  PRIMARY KEY (domain_id, hour, model, token_id)"
	") WITHOUT ROWID;",
	/* 5: a token's budget may reset each day, week or month (UTC). */
	"ALTER TABLE tokens ADD COLUMN budget_period TEXT"
	"  CHECK (budget_period IN ('day','week','month'));",
	/* 6: what the guardrails found in a request (never the text). */
	"ALTER TABLE traces ADD COLUMN guardrails TEXT;",
	/* 7: the receipt the agent signed for the answer (receipt.h). */
	"ALTER TABLE traces ADD COLUMN receipt TEXT;",
	/* 8: the x-request-id the client got (the receipt's id). */
	"ALTER TABLE traces ADD COLUMN request_id TEXT;",
	/* 9: a trace found by the id a client quotes (logs.list). */
	"CREATE INDEX IF NOT EXISTS traces_request_id ON traces (request_id)"
	"  WHERE request_id IS NOT NULL;",
	/* 10: the browser origins a domain serves (CORS), space-separated. */
	"ALTER TABLE domains ADD COLUMN cors_origins TEXT;",
	/* 11: the provider's backend serves OpenAI's /v1/responses itself. */
	"ALTER TABLE providers ADD COLUMN responses_api INTEGER NOT NULL"
	"  DEFAULT 0;",
	/*
	 * 12: a domain's JWT/OIDC settings (jwt.c), as JSON, or NULL.
	 */
	"ALTER TABLE domains ADD COLUMN jwt TEXT;",
	/*
	 * 13: the W3C trace and span ids of the request's OpenTelemetry
	 * span, in hex.
	 */
	"ALTER TABLE traces ADD COLUMN trace_id TEXT;"
	"ALTER TABLE traces ADD COLUMN span_id TEXT;",
	/*
	 * 14: confidential routing: the policy a provider's evidence is held
	 * to (cube-attest-policy(5) JSON), and domains that require it.
	 */
	"ALTER TABLE providers ADD COLUMN attest_policy TEXT;"
	"ALTER TABLE domains ADD COLUMN require_attested INTEGER NOT NULL"
	"  DEFAULT 0;",
	/*
	 * 15: several deployments per model (each existing model's provider
	 * and model id become its one deployment), fallbacks in order, a
	 * retry budget, and every attempt of a request in its trace. The
	 * models row keeps provider and model_id equal to the first
	 * deployment's.
	 */
	"CREATE TABLE model_deployments ("
	"  domain_id TEXT NOT NULL,"
	"  model_key TEXT NOT NULL,"
	"  pos       INTEGER NOT NULL,"
	"  provider  TEXT NOT NULL,"
	"  model_id  TEXT NOT NULL,"
	"  weight    INTEGER NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),"
	"  priority  INTEGER NOT NULL DEFAULT 0"
	"            CHECK (priority BETWEEN 0 AND 100),"
	"  PRIMARY KEY (domain_id, model_key, pos),"
	"  UNIQUE (domain_id, model_key, provider, model_id),"
	"  FOREIGN KEY (domain_id, model_key) REFERENCES models(domain_id, key)"
	"    ON DELETE CASCADE ON UPDATE CASCADE,"
	"  FOREIGN KEY (domain_id, provider) REFERENCES providers(domain_id, name)"
	");"
	"CREATE INDEX model_deployments_provider"
	"  ON model_deployments(domain_id, provider);"
	"INSERT INTO model_deployments (domain_id, model_key, pos, provider,"
	"  model_id) SELECT domain_id, key, 0, provider, model_id FROM models;"
	"ALTER TABLE models ADD COLUMN fallbacks TEXT NOT NULL DEFAULT '[]';"
	"ALTER TABLE models ADD COLUMN retries INTEGER NOT NULL DEFAULT 2"
	"  CHECK (retries BETWEEN 0 AND 5);"
	"ALTER TABLE models ADD COLUMN retry_deadline_ms INTEGER NOT NULL"
	"  DEFAULT 30000 CHECK (retry_deadline_ms BETWEEN 100 AND 600000);"
	"ALTER TABLE traces ADD COLUMN attempts TEXT;",
};
#define STORE_NMIGRATIONS \
	(int)(sizeof(store_migrations) / sizeof(store_migrations[0]))
_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) ==
    STORE_SCHEMA_VERSION, "STORE_SCHEMA_VERSION");

/* Run SQL that returns nothing we need (pragmas, DDL, transactions). */
static int
store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg != NULL ? msg :
		    sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_db_schema_version(struct sqlite3 *db)
{
	sqlite3_stmt	*stmt;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

int
store_schema_version(struct store *s)
{
	return store_db_schema_version(s->db);
}

/*
 * Bring the schema to STORE_SCHEMA_VERSION: every step in one transaction,
 * so a step that fails (data a new constraint rejects, a full disk, a
 * read-only file) rolls them all back and leaves the file as it was, not
 * half-way. The steps are plain DDL and INSERTs (no PRAGMA foreign_keys,
 * no VACUUM, no table rebuilt), all of which run inside a transaction.
 */
static int
store_migrate(struct store *s, const char *path, char *err, size_t errlen)
{
	char	 sql[64], msg[512];
	int	 from, v;

	if ((from = store_schema_version(s)) < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		return -1;
	}
	if (from > STORE_NMIGRATIONS) {
		snprintf(err, errlen, "%s: schema version %d is newer than this"
		    " agent knows (%d); run a newer cube-agent", path, from,
		    STORE_NMIGRATIONS);
		return -1;
	}
	if (from == STORE_NMIGRATIONS)
		return 0;
	v = from;
	if (store_exec(s, "BEGIN IMMEDIATE", msg, sizeof(msg)) != 0)
		goto fail;
	for (; v < STORE_NMIGRATIONS; v++)
		if (store_exec(s, store_migrations[v], msg, sizeof(msg)) != 0)
			goto rollback;
	/* v is STORE_NMIGRATIONS: a failed commit names the last step. */
	v--;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_NMIGRATIONS);
	if (store_exec(s, sql, msg, sizeof(msg)) != 0 ||
	    store_exec(s, "COMMIT", msg, sizeof(msg)) != 0)
		goto rollback;
	log_info("%s: schema migrated from version %d to %d", path, from,
	    STORE_NMIGRATIONS);
	return 0;
rollback:
	if (!sqlite3_get_autocommit(s->db))
		store_exec(s, "ROLLBACK", sql, sizeof(sql));
fail:
	snprintf(err, errlen, "%s: migration to version %d failed: %s; the"
	    " file is left at version %d", path, v + 1, msg, from);
	return -1;
}

/*
 * Once, before the first connection: no allocation statistics, which
 * nothing reads and which take a global mutex on every SQLite malloc
 * (the trace writer's insert makes dozens).
 */
void
store_library_init(void)
{
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		log_warnx("sqlite: cannot turn off its memory statistics");
}

struct store *
store_open(const char *data_dir, char *err, size_t errlen)
{
	struct store	*s;
	struct stat	 st;
	char		*path, msg[512];
	int		 fd;

	if (dir_create(data_dir, err, errlen) != 0)
		return NULL;
	xasprintf(&path, "%s/cube.db", data_dir);
	/*
	 * Create it 0600 ourselves; SQLite gives -wal and -shm the same mode.
	 * Only when it is missing: closing a descriptor drops every POSIX
	 * lock this process holds on the file, so doing it while another
	 * connection (the trace writer's, the admin's) is open would let
	 * other processes think nobody has the database open.
	 */
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) != -1)
		close(fd);
	else if (errno != EEXIST || (lstat(path, &st) == 0 &&
	    !S_ISREG(st.st_mode) && (errno = ELOOP))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}

	s = xcalloc(1, sizeof(*s));
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	/*
	 * Each connection's page cache at most STORE_CACHE_KIB (SQLite's
	 * default is 2000 KiB): it fills as traces are written and stays,
	 * and the WAL and the kernel's page cache are there behind it. The
	 * page size before WAL mode, which fixes it; an existing file
	 * ignores it.
	 */
	if (store_exec(s, "PRAGMA page_size = " STORE_PAGE_BYTES ";"
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA cache_size = -" STORE_CACHE_KIB ";"
	    "PRAGMA foreign_keys = ON;", msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto fail;
	}
	if (store_migrate(s, path, err, errlen) != 0)
		goto fail;
	free(path);
	return s;
fail:
	store_close(s);
	free(path);
	return NULL;
}

void
store_close(struct store *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nstmts; i++)
		sqlite3_finalize(s->stmts[i].stmt);
	sqlite3_close(s->db);
	free(s);
}

int
store_begin(struct store *s, char *err, size_t errlen)
{
	return store_exec(s, "BEGIN IMMEDIATE", err, errlen) == 0 ? 0 :
	    STORE_ERROR;
}

int
store_commit(struct store *s, char *err, size_t errlen)
{
	if (store_exec(s, "COMMIT", err, errlen) != 0) {
		store_rollback(s);
		return STORE_ERROR;
	}
	return 0;
}

void
store_rollback(struct store *s)
{
	char	err[256];

	if (sqlite3_get_autocommit(s->db))
		return;
	if (store_exec(s, "ROLLBACK", err, sizeof(err)) != 0)
		log_warnx("store: rollback: %s", err);
}

/*
 * Statements are prepared once and kept: the SQL is always a string
 * literal in the caller, so its address identifies it.
 */
struct sqlite3_stmt *
store_stmt(struct store *s, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	size_t		 i;

	for (i = 0; i < s->nstmts; i++) {
		if (s->stmts[i].sql == sql) {
			stmt = s->stmts[i].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &stmt, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		return NULL;
	}
	if (s->nstmts == STORE_MAX_STMTS)
		fatalx("%s: more than %d statements", __func__,
		    STORE_MAX_STMTS);
	s->stmts[s->nstmts].sql = sql;
	s->stmts[s->nstmts].stmt = stmt;
	s->nstmts++;
	return stmt;
}

int
store_fail(struct store *s, int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return STORE_CONFLICT;
	return STORE_ERROR;
}

int
store_exec_stmt(struct store *s, struct sqlite3_stmt *stmt, char *err,
    size_t errlen)
{
	int	rc;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = store_fail(s, rc, err, errlen);
		sqlite3_reset(stmt);
		return rc;
	}
	sqlite3_reset(stmt);
	return 0;
}

int
store_changes(struct store *s)
{
	return sqlite3_changes(s->db);
}

char *
store_column_text(struct sqlite3_stmt *stmt, int col)
{
	const unsigned char	*p;

	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return NULL;
	if ((p = sqlite3_column_text(stmt, col)) == NULL)
		fatalx("%s: out of memory", __func__);
	return xstrdup((const char *)p);
}

/*
 * Step a SELECT to its end, reading each row with read() into a growing
 * array of size-byte elements. The statement is reset either way.
 */
int
store_collect(struct store *s, struct sqlite3_stmt *stmt, size_t size,
    void (*read)(struct sqlite3_stmt *, void *), void (*clear)(void *),
    void **out, size_t *n, char *err, size_t errlen)
{
	unsigned char	*list = NULL;
	size_t		 len = 0, cap = 0, i;
	int		 rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			list = xreallocarray(list, cap, size);
		}
		read(stmt, list + len * size);
		len++;
	}
	if (rc != SQLITE_DONE) {
		store_fail(s, rc, err, errlen);
		sqlite3_reset(stmt);
		for (i = 0; i < len; i++)
			clear(list + i * size);
		free(list);
		return STORE_ERROR;
	}
	sqlite3_reset(stmt);
	*out = list;
	*n = len;
	return 0;
}

/* Step a SELECT for at most one row: 0 read, STORE_NOT_FOUND or STORE_ERROR. */
int
store_row(struct store *s, struct sqlite3_stmt *stmt,
    void (*read)(struct sqlite3_stmt *, void *), void *out, char *err,
    size_t errlen)
{
	int	rc;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		read(stmt, out);
		sqlite3_reset(stmt);
		return 0;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	store_fail(s, rc, err, errlen);
	return STORE_ERROR;
}

/* After STORE_CONFLICT: 1 when a foreign key (not a unique key) refused. */
int
store_foreign_key_failed(struct store *s)
{
	return sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY;
}
