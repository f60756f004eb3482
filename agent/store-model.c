/* The models table: what a domain's clients may ask for, and where it goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "xmalloc.h"

#define MODEL_COLUMNS "domain_id, key, name, model_id, provider, category," \
	" tools, vision, price_input, price_output, price_cached, status," \
	" temperature, max_tokens, system_prompt, guard_in, guard_out," \
	" description, created_at, updated_at"

static char *
store_model_text(sqlite3_stmt *stmt, int col, const char *dflt)
{
	char	*s;

	if ((s = store_column_text(stmt, col)) == NULL && dflt != NULL)
		s = xstrdup(dflt);
	return s;
}

static void
store_model_read(sqlite3_stmt *stmt, void *p)
{
	struct store_model	*m = p;
	const unsigned char	*id;

	memset(m, 0, sizeof(*m));
	if ((id = sqlite3_column_text(stmt, 0)) != NULL)
		snprintf(m->domain_id, sizeof(m->domain_id), "%s",
		    (const char *)id);
	m->key = store_model_text(stmt, 1, "");
	m->name = store_model_text(stmt, 2, "");
	m->model_id = store_model_text(stmt, 3, "");
	m->provider = store_model_text(stmt, 4, "");
	m->category = store_model_text(stmt, 5, "llm");
	m->tools = sqlite3_column_int(stmt, 6);
	m->vision = sqlite3_column_int(stmt, 7);
	m->price_input = sqlite3_column_int64(stmt, 8);
	m->price_output = sqlite3_column_int64(stmt, 9);
	m->price_cached = sqlite3_column_int64(stmt, 10);
	m->status = store_model_text(stmt, 11, "active");
	if (sqlite3_column_type(stmt, 12) != SQLITE_NULL) {
		m->has_temperature = 1;
		m->temperature = sqlite3_column_double(stmt, 12);
	}
	m->max_tokens = sqlite3_column_int64(stmt, 13);
	m->system_prompt = store_column_text(stmt, 14);
	m->guard_in = store_model_text(stmt, 15, "[]");
	m->guard_out = store_model_text(stmt, 16, "[]");
	m->description = store_model_text(stmt, 17, "");
	m->created_at = sqlite3_column_int64(stmt, 18);
	m->updated_at = sqlite3_column_int64(stmt, 19);
}

static void
store_model_clear_cb(void *p)
{
	store_model_clear(p);
}

/* Bind every column after domain_id and key, from parameter 3 on. */
static void
store_model_bind(sqlite3_stmt *stmt, const struct store_model *m)
{
	sqlite3_bind_text(stmt, 3, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, m->model_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, m->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, m->category != NULL ? m->category : "llm",
	    -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 7, m->tools != 0);
	sqlite3_bind_int(stmt, 8, m->vision != 0);
	sqlite3_bind_int64(stmt, 9, m->price_input);
	sqlite3_bind_int64(stmt, 10, m->price_output);
	sqlite3_bind_int64(stmt, 11, m->price_cached);
	sqlite3_bind_text(stmt, 12, m->status != NULL ? m->status : "active",
	    -1, SQLITE_STATIC);
	if (m->has_temperature)
		sqlite3_bind_double(stmt, 13, m->temperature);
	else
		sqlite3_bind_null(stmt, 13);
	if (m->max_tokens > 0)
		sqlite3_bind_int64(stmt, 14, m->max_tokens);
	else
		sqlite3_bind_null(stmt, 14);
	sqlite3_bind_text(stmt, 15, m->system_prompt, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 16, m->guard_in != NULL ? m->guard_in : "[]",
	    -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 17, m->guard_out != NULL ? m->guard_out : "[]",
	    -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 18, m->description != NULL ? m->description :
	    "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 19, m->created_at);
	sqlite3_bind_int64(stmt, 20, m->updated_at);
}

static int
store_model_conflict(struct store *s, const struct store_model *m, char *err,
    size_t errlen)
{
	if (store_foreign_key_failed(s))
		snprintf(err, errlen, "provider '%s' not found in this domain",
		    m->provider);
	else
		snprintf(err, errlen, "model '%s' already exists in this"
		    " domain", m->key);
	return STORE_CONFLICT;
}

int
store_model_insert(struct store *s, const struct store_model *m, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "INSERT INTO models (" MODEL_COLUMNS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15, ?16, ?17, ?18, ?19, ?20)", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, m->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->key, -1, SQLITE_STATIC);
	store_model_bind(stmt, m);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		return store_model_conflict(s, m, err, errlen);
	return rc;
}

int
store_model_get(struct store *s, const char *domain_id, const char *key,
    struct store_model *m, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "SELECT " MODEL_COLUMNS " FROM models"
	    " WHERE domain_id = ? AND key = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	rc = store_row(s, stmt, store_model_read, m, err, errlen);
	if (rc == STORE_NOT_FOUND)
		snprintf(err, errlen, "model '%s' not found in this domain",
		    key);
	return rc;
}

int
store_model_list(struct store *s, const char *domain_id,
    struct store_model **out, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;

	*out = NULL;
	*n = 0;
	if (domain_id == NULL)
		stmt = store_stmt(s, "SELECT " MODEL_COLUMNS " FROM models"
		    " ORDER BY domain_id, key", err, errlen);
	else {
		stmt = store_stmt(s, "SELECT " MODEL_COLUMNS " FROM models"
		    " WHERE domain_id = ? ORDER BY key", err, errlen);
		if (stmt != NULL)
			sqlite3_bind_text(stmt, 1, domain_id, -1,
			    SQLITE_STATIC);
	}
	if (stmt == NULL)
		return STORE_ERROR;
	return store_collect(s, stmt, sizeof(**out), store_model_read,
	    store_model_clear_cb, (void **)out, n, err, errlen);
}

/*
 * created_at is kept (?19 is bound but unused); everything else, the key
 * included, is rewritten.
 */
int
store_model_update(struct store *s, const char *old_key,
    const struct store_model *m, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "UPDATE models SET key = ?2, name = ?3,"
	    " model_id = ?4, provider = ?5, category = ?6, tools = ?7,"
	    " vision = ?8, price_input = ?9, price_output = ?10,"
	    " price_cached = ?11, status = ?12, temperature = ?13,"
	    " max_tokens = ?14, system_prompt = ?15, guard_in = ?16,"
	    " guard_out = ?17, description = ?18, updated_at = ?20"
	    " WHERE domain_id = ?1 AND key = ?21", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, m->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->key, -1, SQLITE_STATIC);
	store_model_bind(stmt, m);
	sqlite3_bind_text(stmt, 21, old_key, -1, SQLITE_STATIC);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		return store_model_conflict(s, m, err, errlen);
	if (rc != 0)
		return rc;
	if (store_changes(s) == 0) {
		snprintf(err, errlen, "model '%s' not found in this domain",
		    old_key);
		return STORE_NOT_FOUND;
	}
	return 0;
}

int
store_model_delete(struct store *s, const char *domain_id, const char *key,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "DELETE FROM models WHERE domain_id = ? AND"
	    " key = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	if (store_changes(s) == 0) {
		snprintf(err, errlen, "model '%s' not found in this domain",
		    key);
		return STORE_NOT_FOUND;
	}
	return 0;
}

void
store_model_clear(struct store_model *m)
{
	if (m == NULL)
		return;
	free(m->key);
	free(m->name);
	free(m->model_id);
	free(m->provider);
	free(m->category);
	free(m->status);
	free(m->system_prompt);
	free(m->guard_in);
	free(m->guard_out);
	free(m->description);
	memset(m, 0, sizeof(*m));
}

void
store_model_list_free(struct store_model *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		store_model_clear(&list[i]);
	free(list);
}
