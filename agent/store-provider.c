/* The providers table: a domain's backends, with sealed credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define PROVIDER_COLUMNS "domain_id, name, driver, url, credential," \
	" fingerprint, status, error, created_at, responses_api, attest_policy"

static void
store_provider_read(sqlite3_stmt *stmt, void *p)
{
	struct store_provider	*pr = p;
	const unsigned char	*id;
	const void		*blob;
	int			 len;

	memset(pr, 0, sizeof(*pr));
	if ((id = sqlite3_column_text(stmt, 0)) != NULL)
		snprintf(pr->domain_id, sizeof(pr->domain_id), "%s",
		    (const char *)id);
	pr->name = store_column_text(stmt, 1);
	pr->driver = store_column_text(stmt, 2);
	pr->url = store_column_text(stmt, 3);
	if ((blob = sqlite3_column_blob(stmt, 4)) != NULL &&
	    (len = sqlite3_column_bytes(stmt, 4)) > 0) {
		pr->credential = xmalloc(len);
		memcpy(pr->credential, blob, len);
		pr->credential_len = len;
	}
	pr->fingerprint = store_column_text(stmt, 5);
	pr->status = store_column_text(stmt, 6);
	pr->error = store_column_text(stmt, 7);
	pr->created_at = sqlite3_column_int64(stmt, 8);
	pr->responses_api = sqlite3_column_int(stmt, 9) != 0;
	pr->attest_policy = store_column_text(stmt, 10);
	/* NOT NULL columns; keep readers free of NULL checks. */
	if (pr->name == NULL)
		pr->name = xstrdup("");
	if (pr->driver == NULL)
		pr->driver = xstrdup("openai");
	if (pr->url == NULL)
		pr->url = xstrdup("");
	if (pr->status == NULL)
		pr->status = xstrdup("active");
}

static void
store_provider_clear_cb(void *p)
{
	store_provider_clear(p);
}

const struct store_entity store_provider_entity = {
	.noun = "provider",
	.size = sizeof(struct store_provider),
	.get_sql = "SELECT " PROVIDER_COLUMNS " FROM providers"
	    " WHERE domain_id = ?1 AND name = ?2",
	.list_sql = "SELECT " PROVIDER_COLUMNS " FROM providers"
	    " WHERE domain_id = ?1 ORDER BY name",
	.list_all_sql = "SELECT " PROVIDER_COLUMNS " FROM providers"
	    " ORDER BY domain_id, name",
	.read = store_provider_read,
	.clear = store_provider_clear_cb,
};

int
store_provider_insert(struct store *s, const struct store_provider *pr,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "INSERT INTO providers (" PROVIDER_COLUMNS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, pr->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, pr->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, pr->driver, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, pr->url, -1, SQLITE_STATIC);
	if (pr->credential != NULL)
		sqlite3_bind_blob(stmt, 5, pr->credential,
		    (int)pr->credential_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 5);
	sqlite3_bind_text(stmt, 6, pr->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, pr->status != NULL ? pr->status : "active",
	    -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 8, pr->error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 9, pr->created_at);
	sqlite3_bind_int(stmt, 10, pr->responses_api != 0);
	sqlite3_bind_text(stmt, 11, pr->attest_policy, -1, SQLITE_STATIC);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		snprintf(err, errlen, "provider '%s' already exists in this"
		    " domain", pr->name);
	return rc;
}

int
store_provider_get(struct store *s, const char *domain_id, const char *name,
    struct store_provider *pr, char *err, size_t errlen)
{
	return store_entity_get(s, &store_provider_entity, domain_id, name, pr,
	    err, errlen);
}

int
store_provider_list(struct store *s, const char *domain_id,
    struct store_provider **out, size_t *n, char *err, size_t errlen)
{
	return store_entity_list(s, &store_provider_entity, domain_id, -1,
	    (void **)out, n, err, errlen);
}

int
store_provider_set_status(struct store *s, const char *domain_id,
    const char *name, const char *status, const char *error, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "UPDATE providers SET status = ?, error = ?"
	    " WHERE domain_id = ? AND name = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, name, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	return store_entity_changed(s, &store_provider_entity, name, err,
	    errlen);
}

/*
 * Rewrite what provider.edit may change: driver, url, credential,
 * fingerprint, responses_api and attest_policy, and the status and error
 * the caller decided on.
 */
int
store_provider_update(struct store *s, const struct store_provider *pr,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "UPDATE providers SET driver = ?, url = ?,"
	    " credential = ?, fingerprint = ?, status = ?, error = ?,"
	    " responses_api = ?, attest_policy = ? WHERE domain_id = ? AND"
	    " name = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, pr->driver, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, pr->url, -1, SQLITE_STATIC);
	if (pr->credential != NULL)
		sqlite3_bind_blob(stmt, 3, pr->credential,
		    (int)pr->credential_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 3);
	sqlite3_bind_text(stmt, 4, pr->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, pr->status != NULL ? pr->status : "active",
	    -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, pr->error, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 7, pr->responses_api != 0);
	sqlite3_bind_text(stmt, 8, pr->attest_policy, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 9, pr->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 10, pr->name, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	return store_entity_changed(s, &store_provider_entity, pr->name, err,
	    errlen);
}

/* Refused while a model uses it; the foreign key would refuse it too. */
int
store_provider_delete(struct store *s, const char *domain_id,
    const char *name, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	char		*model;
	int		 rc;

	if ((stmt = store_stmt(s, "SELECT key FROM models WHERE domain_id = ?"
	    " AND provider = ? ORDER BY key LIMIT 1", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		model = store_column_text(stmt, 0);
		sqlite3_reset(stmt);
		snprintf(err, errlen, "provider '%s' is used by model '%s';"
		    " delete the model or move it to another provider first",
		    name, model != NULL ? model : "");
		free(model);
		return STORE_CONFLICT;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		store_fail(s, rc, err, errlen);
		return STORE_ERROR;
	}

	if ((stmt = store_stmt(s, "DELETE FROM providers WHERE domain_id = ?"
	    " AND name = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0) {
		if (rc == STORE_CONFLICT)
			snprintf(err, errlen, "provider '%s' is used by a"
			    " model", name);
		return rc;
	}
	return store_entity_changed(s, &store_provider_entity, name, err,
	    errlen);
}

void
store_provider_clear(struct store_provider *pr)
{
	if (pr == NULL)
		return;
	free(pr->name);
	free(pr->driver);
	free(pr->url);
	free(pr->credential);
	free(pr->fingerprint);
	free(pr->status);
	free(pr->error);
	free(pr->attest_policy);
	memset(pr, 0, sizeof(*pr));
}

void
store_provider_list_free(struct store_provider *list, size_t n)
{
	store_entity_list_free(&store_provider_entity, list, n);
}
