/* The guardrails table: a domain's filters, their parameters as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define GUARDRAIL_COLUMNS "domain_id, key, kind, action, params," \
	" description, created_at, updated_at"

static void
store_guardrail_read(sqlite3_stmt *stmt, void *p)
{
	struct store_guardrail	*g = p;
	const unsigned char	*id;

	memset(g, 0, sizeof(*g));
	if ((id = sqlite3_column_text(stmt, 0)) != NULL)
		snprintf(g->domain_id, sizeof(g->domain_id), "%s",
		    (const char *)id);
	if ((g->key = store_column_text(stmt, 1)) == NULL)
		g->key = xstrdup("");
	if ((g->kind = store_column_text(stmt, 2)) == NULL)
		g->kind = xstrdup("");
	if ((g->action = store_column_text(stmt, 3)) == NULL)
		g->action = xstrdup("");
	if ((g->params = store_column_text(stmt, 4)) == NULL)
		g->params = xstrdup("{}");
	if ((g->description = store_column_text(stmt, 5)) == NULL)
		g->description = xstrdup("");
	g->created_at = sqlite3_column_int64(stmt, 6);
	g->updated_at = sqlite3_column_int64(stmt, 7);
}

static void
store_guardrail_clear_cb(void *p)
{
	store_guardrail_clear(p);
}

const struct store_entity store_guardrail_entity = {
	.noun = "guardrail",
	.size = sizeof(struct store_guardrail),
	.get_sql = "SELECT " GUARDRAIL_COLUMNS " FROM guardrails"
	    " WHERE domain_id = ?1 AND key = ?2",
	.list_sql = "SELECT " GUARDRAIL_COLUMNS " FROM guardrails"
	    " WHERE domain_id = ?1 ORDER BY key",
	.list_all_sql = "SELECT " GUARDRAIL_COLUMNS " FROM guardrails"
	    " ORDER BY domain_id, key",
	.read = store_guardrail_read,
	.clear = store_guardrail_clear_cb,
};

/* Bind every column after domain_id and key, from parameter 3 on. */
static void
store_guardrail_bind(sqlite3_stmt *stmt, const struct store_guardrail *g)
{
	sqlite3_bind_text(stmt, 1, g->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, g->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, g->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, g->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, g->params != NULL ? g->params : "{}", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, g->description != NULL ? g->description :
	    "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, g->created_at);
	sqlite3_bind_int64(stmt, 8, g->updated_at);
}

int
store_guardrail_insert(struct store *s, const struct store_guardrail *g,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "INSERT INTO guardrails ("
	    GUARDRAIL_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	    err, errlen)) == NULL)
		return STORE_ERROR;
	store_guardrail_bind(stmt, g);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		snprintf(err, errlen, "guardrail '%s' already exists in this"
		    " domain", g->key);
	return rc;
}

int
store_guardrail_get(struct store *s, const char *domain_id, const char *key,
    struct store_guardrail *g, char *err, size_t errlen)
{
	return store_entity_get(s, &store_guardrail_entity, domain_id, key, g,
	    err, errlen);
}

int
store_guardrail_list(struct store *s, const char *domain_id,
    struct store_guardrail **out, size_t *n, char *err, size_t errlen)
{
	return store_entity_list(s, &store_guardrail_entity, domain_id, -1,
	    (void **)out, n, err, errlen);
}

int
store_guardrail_update(struct store *s, const struct store_guardrail *g,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "UPDATE guardrails SET kind = ?3,"
	    " action = ?4, params = ?5, description = ?6, updated_at = ?8"
	    " WHERE domain_id = ?1 AND key = ?2 AND created_at = ?7", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	store_guardrail_bind(stmt, g);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc;
	return store_entity_changed(s, &store_guardrail_entity, g->key, err,
	    errlen);
}

int
store_guardrail_delete(struct store *s, const char *domain_id,
    const char *key, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "DELETE FROM guardrails WHERE domain_id = ?"
	    " AND key = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc;
	return store_entity_changed(s, &store_guardrail_entity, key, err,
	    errlen);
}

void
store_guardrail_clear(struct store_guardrail *g)
{
	if (g == NULL)
		return;
	free(g->key);
	free(g->kind);
	free(g->action);
	free(g->params);
	free(g->description);
	memset(g, 0, sizeof(*g));
}

void
store_guardrail_list_free(struct store_guardrail *list, size_t n)
{
	store_entity_list_free(&store_guardrail_entity, list, n);
}
