/* The domains table: tenants, by id (a UUID) and unique name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define DOMAIN_COLUMNS "id, name, log_content, trace_retention_days, created_at," \
	" cors_origins, jwt, require_attested"

static void
store_domain_read(sqlite3_stmt *stmt, void *p)
{
	struct store_domain	*d = p;
	const unsigned char	*id;

	memset(d, 0, sizeof(*d));
	if ((id = sqlite3_column_text(stmt, 0)) != NULL)
		snprintf(d->id, sizeof(d->id), "%s", (const char *)id);
	d->name = store_column_text(stmt, 1);
	if (d->name == NULL)
		d->name = xstrdup("");
	d->log_content = sqlite3_column_int(stmt, 2);
	d->trace_retention_days = sqlite3_column_int(stmt, 3);
	d->created_at = sqlite3_column_int64(stmt, 4);
	d->cors_origins = store_column_text(stmt, 5);
	d->jwt = store_column_text(stmt, 6);
	d->require_attested = sqlite3_column_int(stmt, 7) != 0;
}

static void
store_domain_clear_cb(void *p)
{
	store_domain_clear(p);
}

int
store_domain_insert(struct store *s, const struct store_domain *d, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "INSERT INTO domains (" DOMAIN_COLUMNS ")"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, d->log_content != 0);
	sqlite3_bind_int(stmt, 4, d->trace_retention_days);
	sqlite3_bind_int64(stmt, 5, d->created_at);
	if (d->cors_origins != NULL)
		sqlite3_bind_text(stmt, 6, d->cors_origins, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 6);
	if (d->jwt != NULL)
		sqlite3_bind_text(stmt, 7, d->jwt, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 7);
	sqlite3_bind_int(stmt, 8, d->require_attested != 0);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		snprintf(err, errlen, "domain '%s' already exists", d->name);
	return rc;
}

/* An id wins over a name, should a name ever look like another's id. */
int
store_domain_get(struct store *s, const char *id_or_name,
    struct store_domain *d, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "SELECT " DOMAIN_COLUMNS " FROM domains"
	    " WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, id_or_name, -1, SQLITE_STATIC);
	rc = store_row(s, stmt, store_domain_read, d, err, errlen);
	if (rc == STORE_NOT_FOUND)
		snprintf(err, errlen, "domain '%s' not found", id_or_name);
	return rc;
}

int
store_domain_list(struct store *s, struct store_domain **out, size_t *n,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;

	*out = NULL;
	*n = 0;
	if ((stmt = store_stmt(s, "SELECT " DOMAIN_COLUMNS " FROM domains"
	    " ORDER BY name", err, errlen)) == NULL)
		return STORE_ERROR;
	return store_collect(s, stmt, sizeof(**out), store_domain_read,
	    store_domain_clear_cb, (void **)out, n, err, errlen);
}

int
store_domain_count(struct store *s, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "SELECT count(*) FROM domains", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		store_fail(s, rc, err, errlen);
		sqlite3_reset(stmt);
		return STORE_ERROR;
	}
	*n = (size_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return 0;
}

int
store_domain_update(struct store *s, const struct store_domain *d,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "UPDATE domains SET log_content = ?,"
	    " trace_retention_days = ?, cors_origins = ?, jwt = ?,"
	    " require_attested = ? WHERE id = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int(stmt, 1, d->log_content != 0);
	sqlite3_bind_int(stmt, 2, d->trace_retention_days);
	if (d->cors_origins != NULL)
		sqlite3_bind_text(stmt, 3, d->cors_origins, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 3);
	if (d->jwt != NULL)
		sqlite3_bind_text(stmt, 4, d->jwt, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 4);
	sqlite3_bind_int(stmt, 5, d->require_attested != 0);
	sqlite3_bind_text(stmt, 6, d->id, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	if (store_changes(s) == 0) {
		snprintf(err, errlen, "domain '%s' not found", d->id);
		return STORE_NOT_FOUND;
	}
	return 0;
}

/* The foreign keys cascade to providers, models and tokens. */
int
store_domain_delete(struct store *s, const char *id, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = store_stmt(s, "DELETE FROM domains WHERE id = ?", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	if (store_changes(s) == 0) {
		snprintf(err, errlen, "domain '%s' not found", id);
		return STORE_NOT_FOUND;
	}
	return 0;
}

void
store_domain_clear(struct store_domain *d)
{
	if (d == NULL)
		return;
	free(d->name);
	free(d->cors_origins);
	free(d->jwt);
	memset(d, 0, sizeof(*d));
}

void
store_domain_list_free(struct store_domain *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		store_domain_clear(&list[i]);
	free(list);
}
