/* The tokens table: API tokens as keyed hashes, never the secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define TOKEN_COLUMNS "id, domain_id, name, hash, created_at, expires_at," \
	" revoked_at, models, rpm, tpm, budget, budget_period"

static void
store_token_read(sqlite3_stmt *stmt, void *p)
{
	struct store_token	*t = p;
	const unsigned char	*text;
	const void		*blob;

	memset(t, 0, sizeof(*t));
	if ((text = sqlite3_column_text(stmt, 0)) != NULL)
		snprintf(t->id, sizeof(t->id), "%s", (const char *)text);
	if ((text = sqlite3_column_text(stmt, 1)) != NULL)
		snprintf(t->domain_id, sizeof(t->domain_id), "%s",
		    (const char *)text);
	if ((t->name = store_column_text(stmt, 2)) == NULL)
		t->name = xstrdup("");
	if ((blob = sqlite3_column_blob(stmt, 3)) != NULL &&
	    sqlite3_column_bytes(stmt, 3) == VAULT_TOKEN_HASH_BYTES)
		memcpy(t->hash, blob, VAULT_TOKEN_HASH_BYTES);
	t->created_at = sqlite3_column_int64(stmt, 4);
	t->expires_at = sqlite3_column_int64(stmt, 5);
	t->revoked_at = sqlite3_column_int64(stmt, 6);
	t->models = store_column_text(stmt, 7);
	t->rpm = sqlite3_column_int64(stmt, 8);
	t->tpm = sqlite3_column_int64(stmt, 9);
	t->budget = sqlite3_column_int64(stmt, 10);
	if ((text = sqlite3_column_text(stmt, 11)) == NULL ||
	    (t->budget_period = period_parse((const char *)text)) == -1)
		t->budget_period = PERIOD_NONE;
}

static void
store_token_clear_cb(void *p)
{
	store_token_clear(p);
}

const struct store_entity store_token_entity = {
	.noun = "token",
	.size = sizeof(struct store_token),
	.get_sql = "SELECT " TOKEN_COLUMNS " FROM tokens"
	    " WHERE domain_id = ?1 AND id = ?2",
	.list_sql = "SELECT " TOKEN_COLUMNS " FROM tokens"
	    " WHERE domain_id = ?1 ORDER BY created_at, id",
	.list_all_sql = "SELECT " TOKEN_COLUMNS " FROM tokens"
	    " ORDER BY created_at, id",
	.read = store_token_read,
	.clear = store_token_clear_cb,
};

static void
store_token_bind_opt(sqlite3_stmt *stmt, int i, int64_t v)
{
	if (v != 0)
		sqlite3_bind_int64(stmt, i, v);
	else
		sqlite3_bind_null(stmt, i);
}

int
store_token_insert(struct store *s, const struct store_token *t, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "INSERT INTO tokens (" TOKEN_COLUMNS ")"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", err, errlen)) ==
	    NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, t->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, t->name != NULL ? t->name : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 4, t->hash, sizeof(t->hash), SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, t->created_at);
	store_token_bind_opt(stmt, 6, t->expires_at);
	store_token_bind_opt(stmt, 7, t->revoked_at);
	sqlite3_bind_text(stmt, 8, t->models, -1, SQLITE_STATIC);
	store_token_bind_opt(stmt, 9, t->rpm);
	store_token_bind_opt(stmt, 10, t->tpm);
	store_token_bind_opt(stmt, 11, t->budget);
	if (t->budget_period != PERIOD_NONE)
		sqlite3_bind_text(stmt, 12, period_name(t->budget_period),
		    -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 12);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		snprintf(err, errlen, "token '%s' already exists", t->id);
	return rc;
}

int
store_token_get(struct store *s, const char *domain_id, const char *id,
    struct store_token *t, char *err, size_t errlen)
{
	return store_entity_get(s, &store_token_entity, domain_id, id, t, err,
	    errlen);
}

int
store_token_list(struct store *s, const char *domain_id,
    struct store_token **out, size_t *n, char *err, size_t errlen)
{
	return store_entity_list(s, &store_token_entity, domain_id, -1,
	    (void **)out, n, err, errlen);
}

/* Revoking twice keeps the first time; a missing token is NOT_FOUND. */
int
store_token_revoke(struct store *s, const char *domain_id, const char *id,
    int64_t when, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "UPDATE tokens SET revoked_at ="
	    " coalesce(revoked_at, ?) WHERE domain_id = ? AND id = ?", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, when);
	sqlite3_bind_text(stmt, 2, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, id, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	return store_entity_changed(s, &store_token_entity, id, err, errlen);
}

void
store_token_clear(struct store_token *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->models);
	memset(t, 0, sizeof(*t));
}

void
store_token_list_free(struct store_token *list, size_t n)
{
	store_entity_list_free(&store_token_entity, list, n);
}
