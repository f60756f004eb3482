/*
 * One reader for the tables kept per domain and named by a key (providers,
 * models, guardrails, tokens, audit), driven by each table's descriptor.
 * Admin thread only, as store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

int
store_entity_not_found(const struct store_entity *e, const char *key,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "%s '%s' not found in this domain", e->noun,
	    key != NULL ? key : "");
	return STORE_NOT_FOUND;
}

/*
 * After a statement that changes one row by domain and key: 0, or
 * STORE_NOT_FOUND when it changed none.
 */
int
store_entity_changed(struct store *s, const struct store_entity *e,
    const char *key, char *err, size_t errlen)
{
	if (store_changes(s) == 0)
		return store_entity_not_found(e, key, err, errlen);
	return 0;
}

/*
 * The row of domain_id named key. Fails closed: without a domain there is
 * no row, never another domain's.
 */
int
store_entity_get(struct store *s, const struct store_entity *e,
    const char *domain_id, const char *key, void *row, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	memset(row, 0, e->size);
	if (domain_id == NULL || key == NULL || e->get_sql == NULL)
		return store_entity_not_found(e, key, err, errlen);
	if ((stmt = store_stmt(s, e->get_sql, err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	rc = store_row(s, stmt, e->read, row, err, errlen);
	if (rc == STORE_NOT_FOUND)
		return store_entity_not_found(e, key, err, errlen);
	if (rc != 0)
		return rc;
	if (e->load != NULL &&
	    (rc = e->load(s, domain_id, key, row, 1, err, errlen)) != 0)
		e->clear(row);
	return rc;
}

/*
 * Every row of domain_id, or of every domain when it is NULL (the
 * snapshot's reader), in the descriptor's order; a limited descriptor's
 * statements take limit after the domain.
 */
int
store_entity_list(struct store *s, const struct store_entity *e,
    const char *domain_id, int limit, void **rows, size_t *n, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc, i = 1;

	*rows = NULL;
	*n = 0;
	if ((stmt = store_stmt(s, domain_id != NULL ? e->list_sql :
	    e->list_all_sql, err, errlen)) == NULL)
		return STORE_ERROR;
	if (domain_id != NULL)
		sqlite3_bind_text(stmt, i++, domain_id, -1, SQLITE_STATIC);
	if (e->limited)
		sqlite3_bind_int(stmt, i, limit);
	if ((rc = store_collect(s, stmt, e->size, e->read, e->clear, rows, n,
	    err, errlen)) != 0)
		return rc;
	if (e->load != NULL &&
	    (rc = e->load(s, domain_id, NULL, *rows, *n, err, errlen)) != 0) {
		store_entity_list_free(e, *rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return rc;
}

void
store_entity_list_free(const struct store_entity *e, void *rows, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		e->clear((unsigned char *)rows + i * e->size);
	free(rows);
}
