/* The audit table: one row per admin write, never a secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define AUDIT_COLUMNS "id, at, uid, user, method, domain_id, domain," \
	" target, changes"

static void
store_audit_read(sqlite3_stmt *stmt, void *p)
{
	struct store_audit	*a = p;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(stmt, 0);
	a->at = sqlite3_column_int64(stmt, 1);
	a->uid = (unsigned int)sqlite3_column_int64(stmt, 2);
	a->user = store_column_text(stmt, 3);
	a->method = store_column_text(stmt, 4);
	a->domain_id = store_column_text(stmt, 5);
	a->domain = store_column_text(stmt, 6);
	a->target = store_column_text(stmt, 7);
	a->changes = store_column_text(stmt, 8);
	if (a->user == NULL)
		a->user = xstrdup("");
	if (a->method == NULL)
		a->method = xstrdup("");
	if (a->target == NULL)
		a->target = xstrdup("");
	if (a->changes == NULL)
		a->changes = xstrdup("[]");
}

static void
store_audit_clear_cb(void *p)
{
	store_audit_clear(p);
}

/* Read newest first, to a limit; no get: entries are listed only. */
const struct store_entity store_audit_entity = {
	.noun = "audit entry",
	.size = sizeof(struct store_audit),
	.list_sql = "SELECT " AUDIT_COLUMNS " FROM audit"
	    " WHERE domain_id = ?1 ORDER BY id DESC LIMIT ?2",
	.list_all_sql = "SELECT " AUDIT_COLUMNS " FROM audit"
	    " ORDER BY id DESC LIMIT ?1",
	.read = store_audit_read,
	.clear = store_audit_clear_cb,
	.limited = 1,
};

int
store_audit_insert(struct store *s, const struct store_audit *a, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;

	if ((stmt = store_stmt(s, "INSERT INTO audit (at, uid, user, method,"
	    " domain_id, domain, target, changes) VALUES (?, ?, ?, ?, ?, ?, ?,"
	    " ?)", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, a->at);
	sqlite3_bind_int64(stmt, 2, a->uid);
	sqlite3_bind_text(stmt, 3, a->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, a->method, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, a->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, a->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 8, a->changes != NULL ? a->changes : "[]", -1,
	    SQLITE_STATIC);
	return store_exec_stmt(s, stmt, err, errlen);
}

int
store_audit_list(struct store *s, const char *domain_id, int limit,
    struct store_audit **out, size_t *n, char *err, size_t errlen)
{
	struct store_audit	 tmp;
	size_t			 i;
	int			 rc;

	if ((rc = store_entity_list(s, &store_audit_entity, domain_id, limit,
	    (void **)out, n, err, errlen)) != 0)
		return rc;
	/* Newest first from SQL; oldest first for readers. */
	for (i = 0; i < *n / 2; i++) {
		tmp = (*out)[i];
		(*out)[i] = (*out)[*n - 1 - i];
		(*out)[*n - 1 - i] = tmp;
	}
	return 0;
}

void
store_audit_clear(struct store_audit *a)
{
	if (a == NULL)
		return;
	free(a->user);
	free(a->method);
	free(a->domain_id);
	free(a->domain);
	free(a->target);
	free(a->changes);
	memset(a, 0, sizeof(*a));
}

void
store_audit_list_free(struct store_audit *list, size_t n)
{
	store_entity_list_free(&store_audit_entity, list, n);
}
