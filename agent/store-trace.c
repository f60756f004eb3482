/*
 * The traces table and its hourly usage rollup: written by the trace
 * writer's own connection, read by the admin thread's (logs, usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define TRACE_COLUMNS "id, domain_id, time_ms, token_id, model, model_id," \
	" provider, route, status, error, rejected_step, latency_ms, ttft_ms," \
	" prompt_tokens, completion_tokens, cached_tokens, estimated, cost," \
	" stream, cancelled, prompt_text, completion_text, guardrails, receipt," \
	" request_id, trace_id, span_id, attempts"

/* Text bound to a statement, or NULL for an empty or absent string. */
static void
store_trace_bind_text(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s == NULL || *s == '\0')
		sqlite3_bind_null(stmt, col);
	else
		sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
}

int
store_trace_insert(struct store *s, struct trace *t, char *err,
    size_t errlen)
{
	static const unsigned char zero[TRACE_ID_BYTES];
	sqlite3_stmt	*stmt;
	char		 trace_hex[2 * TRACE_ID_BYTES + 1];
	char		 span_hex[2 * SPAN_ID_BYTES + 1];

	if ((stmt = store_stmt(s, "INSERT INTO traces (domain_id, time_ms,"
	    " token_id, model, model_id, provider, route, status, error,"
	    " rejected_step, latency_ms, ttft_ms, prompt_tokens,"
	    " completion_tokens, cached_tokens, estimated, cost, stream,"
	    " cancelled, prompt_text, completion_text, guardrails, id,"
	    " receipt, request_id, trace_id, span_id, attempts) VALUES (?, ?,"
	    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	    " ?, ?, ?, ?, ?)", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, t->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, t->time_ms);
	store_trace_bind_text(stmt, 3, t->token_id);
	store_trace_bind_text(stmt, 4, t->model);
	store_trace_bind_text(stmt, 5, t->model_id);
	store_trace_bind_text(stmt, 6, t->provider);
	sqlite3_bind_text(stmt, 7, t->route, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 8, t->status);
	store_trace_bind_text(stmt, 9, t->error);
	store_trace_bind_text(stmt, 10, t->step == TRACE_STEP_NONE ? NULL :
	    trace_step_name(t->step));
	sqlite3_bind_int64(stmt, 11, t->latency_ms);
	if (t->ttft_ms >= 0)
		sqlite3_bind_int64(stmt, 12, t->ttft_ms);
	sqlite3_bind_int64(stmt, 13, t->prompt_tokens);
	sqlite3_bind_int64(stmt, 14, t->completion_tokens);
	sqlite3_bind_int64(stmt, 15, t->cached_tokens);
	sqlite3_bind_int(stmt, 16, t->estimated != 0);
	sqlite3_bind_int64(stmt, 17, t->cost);
	sqlite3_bind_int(stmt, 18, t->stream != 0);
	sqlite3_bind_int(stmt, 19, t->cancelled != 0);
	store_trace_bind_text(stmt, 20, t->prompt_text);
	store_trace_bind_text(stmt, 21, t->completion_text);
	store_trace_bind_text(stmt, 22, t->guardrails);
	sqlite3_bind_int64(stmt, 23, t->id);
	store_trace_bind_text(stmt, 24, t->receipt);
	store_trace_bind_text(stmt, 25, t->request_id);
	/* A record made before its trace context (zero ids) has none. */
	if (memcmp(t->trace_id, zero, sizeof(t->trace_id)) != 0) {
		traceparent_hex(trace_hex, t->trace_id, sizeof(t->trace_id));
		traceparent_hex(span_hex, t->span_id, sizeof(t->span_id));
		sqlite3_bind_text(stmt, 26, trace_hex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 27, span_hex, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(stmt, 26);
		sqlite3_bind_null(stmt, 27);
	}
	store_trace_bind_text(stmt, 28, t->attempts);
	return store_exec_stmt(s, stmt, err, errlen);
}

/* The highest trace id of any existing domain (0: none), one seek each. */
int
store_trace_last_id(struct store *s, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	*id = 0;
	if ((stmt = store_stmt(s, "SELECT max((SELECT max(id) FROM traces t"
	    " WHERE t.domain_id = d.id)) FROM domains d", err, errlen)) == NULL)
		return STORE_ERROR;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*id = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, err, errlen);
	return 0;
}

/*
 * Add counts to one hour's row (domain, hour, model, token); hour is unix
 * seconds / 3600, u's key is unused.
 */
int
store_usage_add(struct store *s, const char *domain_id, int64_t hour,
    const char *model, const char *token_id, const struct store_usage *u,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;

	if ((stmt = store_stmt(s, "INSERT INTO usage_hourly (domain_id, hour,"
	    " model, token_id, requests, errors, prompt_tokens,"
	    " completion_tokens, cached_tokens, cost)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (domain_id, hour, model, token_id) DO UPDATE SET"
	    " requests = requests + excluded.requests,"
	    " errors = errors + excluded.errors,"
	    " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
	    " completion_tokens = completion_tokens +"
	    " excluded.completion_tokens,"
	    " cached_tokens = cached_tokens + excluded.cached_tokens,"
	    " cost = cost + excluded.cost", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, hour);
	sqlite3_bind_text(stmt, 3, model != NULL ? model : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, token_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, u->requests);
	sqlite3_bind_int64(stmt, 6, u->errors);
	sqlite3_bind_int64(stmt, 7, u->prompt_tokens);
	sqlite3_bind_int64(stmt, 8, u->completion_tokens);
	sqlite3_bind_int64(stmt, 9, u->cached_tokens);
	sqlite3_bind_int64(stmt, 10, u->cost);
	return store_exec_stmt(s, stmt, err, errlen);
}

int
store_usage_token_spent(struct store *s, const char *domain_id,
    const char *token_id, int64_t since_hour, int64_t *spent, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	*spent = 0;
	if ((stmt = store_stmt(s, "SELECT coalesce(sum(cost), 0) FROM"
	    " usage_hourly WHERE domain_id = ? AND hour >= ? AND token_id = ?",
	    err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, since_hour);
	sqlite3_bind_text(stmt, 3, token_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*spent = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, err, errlen);
	return 0;
}

static void
store_trace_read(sqlite3_stmt *stmt, void *p)
{
	struct trace		*t = p;
	const unsigned char	*v;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(stmt, 0);
	if ((v = sqlite3_column_text(stmt, 1)) != NULL)
		snprintf(t->domain_id, sizeof(t->domain_id), "%s",
		    (const char *)v);
	t->time_ms = sqlite3_column_int64(stmt, 2);
	if ((v = sqlite3_column_text(stmt, 3)) != NULL)
		snprintf(t->token_id, sizeof(t->token_id), "%s",
		    (const char *)v);
	v = sqlite3_column_text(stmt, 4);
	trace_set_names(t, (const char *)v, v != NULL ? strlen((const char *)
	    v) : 0, (const char *)sqlite3_column_text(stmt, 5),
	    (const char *)sqlite3_column_text(stmt, 6));
	t->route = trace_route_intern((const char *)sqlite3_column_text(stmt,
	    7));
	t->status = sqlite3_column_int(stmt, 8);
	t->error = trace_error_intern((const char *)sqlite3_column_text(stmt,
	    9));
	t->step = trace_step_parse((const char *)sqlite3_column_text(stmt,
	    10));
	t->latency_ms = sqlite3_column_int64(stmt, 11);
	t->ttft_ms = sqlite3_column_type(stmt, 12) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(stmt, 12);
	t->prompt_tokens = sqlite3_column_int64(stmt, 13);
	t->completion_tokens = sqlite3_column_int64(stmt, 14);
	t->cached_tokens = sqlite3_column_int64(stmt, 15);
	t->estimated = sqlite3_column_int(stmt, 16);
	t->cost = sqlite3_column_int64(stmt, 17);
	t->stream = sqlite3_column_int(stmt, 18);
	t->cancelled = sqlite3_column_int(stmt, 19);
	t->prompt_text = store_column_text(stmt, 20);
	t->completion_text = store_column_text(stmt, 21);
	t->guardrails = store_column_text(stmt, 22);
	t->receipt = store_column_text(stmt, 23);
	v = sqlite3_column_text(stmt, 24);
	snprintf(t->request_id, sizeof(t->request_id), "%s",
	    v != NULL ? (const char *)v : "");
	/* Not hex (a row written by hand): no ids, rather than wrong ones. */
	if (traceparent_unhex((const char *)sqlite3_column_text(stmt, 25),
	    t->trace_id, sizeof(t->trace_id)) == -1 ||
	    traceparent_unhex((const char *)sqlite3_column_text(stmt, 26),
	    t->span_id, sizeof(t->span_id)) == -1) {
		memset(t->trace_id, 0, sizeof(t->trace_id));
		memset(t->span_id, 0, sizeof(t->span_id));
	}
	t->attempts = store_column_text(stmt, 27);
}

static void
store_trace_clear_cb(void *p)
{
	trace_clear(p);
}

/* The newest limit traces of one domain, newest first, appended to *out. */
static int
store_trace_list_domain(struct store *s, const char *domain_id,
    const char *model, int64_t limit, struct trace **out, size_t *n,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	struct trace	*more;
	size_t		 nmore;
	int		 rc;

	if ((stmt = store_stmt(s, "SELECT " TRACE_COLUMNS " FROM traces"
	    " WHERE domain_id = ?1 AND (?2 IS NULL OR model = ?2)"
	    " ORDER BY id DESC LIMIT ?3", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	store_trace_bind_text(stmt, 2, model);
	sqlite3_bind_int64(stmt, 3, limit);
	if ((rc = store_collect(s, stmt, sizeof(*more), store_trace_read,
	    store_trace_clear_cb, (void **)&more, &nmore, err, errlen)) != 0)
		return rc;
	*out = xreallocarray(*out, *n + nmore + 1, sizeof(**out));
	if (nmore > 0)
		memcpy(*out + *n, more, nmore * sizeof(*more));
	*n += nmore;
	free(more);
	return 0;
}

static int
store_trace_cmp_id(const void *a, const void *b)
{
	const struct trace	*ta = a, *tb = b;

	return ta->id < tb->id ? -1 : ta->id > tb->id;
}

/*
 * The newest limit traces, oldest first; domain_id and model may be NULL.
 * Across domains: each domain's newest, merged.
 */
int
store_trace_list(struct store *s, const char *domain_id, const char *model,
    int64_t limit, struct trace **out, size_t *n, char *err, size_t errlen)
{
	struct store_domain	*doms = NULL;
	size_t			 ndoms = 0, i, skip;
	int			 rc = 0;

	*out = NULL;
	*n = 0;
	if (domain_id != NULL)
		rc = store_trace_list_domain(s, domain_id, model, limit, out, n,
		    err, errlen);
	else if ((rc = store_domain_list(s, &doms, &ndoms, err, errlen)) == 0)
		for (i = 0; i < ndoms && rc == 0; i++)
			rc = store_trace_list_domain(s, doms[i].id, model,
			    limit, out, n, err, errlen);
	store_domain_list_free(doms, ndoms);
	if (rc != 0) {
		store_trace_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		return rc;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), store_trace_cmp_id);
	if (*n > (size_t)limit) {
		skip = *n - (size_t)limit;
		for (i = 0; i < skip; i++)
			trace_clear(&(*out)[i]);
		memmove(*out, *out + skip, (size_t)limit * sizeof(**out));
		*n = (size_t)limit;
	}
	return 0;
}

int
store_trace_by_request(struct store *s, const char *domain_id,
    const char *request_id, struct trace **out, size_t *n, char *err,
    size_t errlen)
{
	sqlite3_stmt	*stmt;

	*out = NULL;
	*n = 0;
	if ((stmt = store_stmt(s, "SELECT " TRACE_COLUMNS " FROM traces"
	    " WHERE request_id = ?1 AND (?2 IS NULL OR domain_id = ?2)"
	    " ORDER BY id LIMIT 1", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, request_id, -1, SQLITE_STATIC);
	store_trace_bind_text(stmt, 2, domain_id);
	return store_collect(s, stmt, sizeof(**out), store_trace_read,
	    store_trace_clear_cb, (void **)out, n, err, errlen);
}

void
store_trace_list_free(struct trace *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		trace_clear(&list[i]);
	free(list);
}

/* One query per grouping, read from the rollup only. */
static const char *const store_usage_sql[] = {
	[USAGE_BY_MODEL] = "SELECT model, 0, sum(requests), sum(errors),"
	    " sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),"
	    " sum(cost) FROM usage_hourly WHERE domain_id = ?1 AND hour >= ?2"
	    " AND hour < ?3 GROUP BY model ORDER BY model",
	[USAGE_BY_TOKEN] = "SELECT token_id, 0, sum(requests), sum(errors),"
	    " sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),"
	    " sum(cost) FROM usage_hourly WHERE domain_id = ?1 AND hour >= ?2"
	    " AND hour < ?3 GROUP BY token_id ORDER BY token_id",
	[USAGE_BY_HOUR] = "SELECT NULL, hour * 3600, sum(requests),"
	    " sum(errors), sum(prompt_tokens), sum(completion_tokens),"
	    " sum(cached_tokens), sum(cost) FROM usage_hourly"
	    " WHERE domain_id = ?1 AND hour >= ?2 AND hour < ?3"
	    " GROUP BY hour ORDER BY hour",
	[USAGE_BY_DAY] = "SELECT NULL, (hour / 24) * 86400, sum(requests),"
	    " sum(errors), sum(prompt_tokens), sum(completion_tokens),"
	    " sum(cached_tokens), sum(cost) FROM usage_hourly"
	    " WHERE domain_id = ?1 AND hour >= ?2 AND hour < ?3"
	    " GROUP BY hour / 24 ORDER BY hour / 24",
};

static void
store_usage_read(sqlite3_stmt *stmt, void *p)
{
	struct store_usage	*u = p;

	memset(u, 0, sizeof(*u));
	u->key = store_column_text(stmt, 0);
	u->bucket = sqlite3_column_int64(stmt, 1);
	u->requests = sqlite3_column_int64(stmt, 2);
	u->errors = sqlite3_column_int64(stmt, 3);
	u->prompt_tokens = sqlite3_column_int64(stmt, 4);
	u->completion_tokens = sqlite3_column_int64(stmt, 5);
	u->cached_tokens = sqlite3_column_int64(stmt, 6);
	u->cost = sqlite3_column_int64(stmt, 7);
}

static void
store_usage_clear_cb(void *p)
{
	struct store_usage	*u = p;

	free(u->key);
	u->key = NULL;
}

/* Rows of one domain's usage from since to until (unix seconds, hours). */
int
store_usage_query(struct store *s, const char *domain_id, enum usage_by by,
    int64_t since, int64_t until, struct store_usage **out, size_t *n,
    char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;

	if ((stmt = store_stmt(s, store_usage_sql[by], err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, since / 3600);
	sqlite3_bind_int64(stmt, 3, (until + 3599) / 3600);
	return store_collect(s, stmt, sizeof(**out), store_usage_read,
	    store_usage_clear_cb, (void **)out, n, err, errlen);
}

void
store_usage_list_free(struct store_usage *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i].key);
	free(list);
}

/*
 * Delete up to max traces of one domain older than before_ms (by id: a
 * trace's id is no older than its arrival, so a long stream may outlive
 * the cutoff by its length); *deleted
 * says how many went. A domain that no longer exists has before_ms
 * INT64_MAX: all of its traces and its rollup rows go.
 */
int
store_trace_expire(struct store *s, const char *domain_id, int64_t before_ms,
    int max, int *deleted, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	*deleted = 0;
	/* Ids are unix ms << 10 or later, so the old ones are a key range. */
	if ((stmt = store_stmt(s, "DELETE FROM traces WHERE domain_id = ?1 AND"
	    " id IN (SELECT id FROM traces WHERE domain_id = ?1 AND id < ?2"
	    " ORDER BY id LIMIT ?3)", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, before_ms >= INT64_MAX >> 10 ? INT64_MAX :
	    before_ms << 10);
	sqlite3_bind_int(stmt, 3, max);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc;
	*deleted = store_changes(s);
	if (before_ms != INT64_MAX || *deleted == max)
		return 0;
	if ((stmt = store_stmt(s, "DELETE FROM usage_hourly WHERE domain_id = ?",
	    err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	return store_exec_stmt(s, stmt, err, errlen);
}

static void
store_retention_read(sqlite3_stmt *stmt, void *p)
{
	struct store_retention	*r = p;
	const unsigned char	*v;

	memset(r, 0, sizeof(*r));
	if ((v = sqlite3_column_text(stmt, 0)) != NULL)
		snprintf(r->domain_id, sizeof(r->domain_id), "%s",
		    (const char *)v);
	r->days = sqlite3_column_type(stmt, 1) == SQLITE_NULL ? 0 :
	    sqlite3_column_int(stmt, 1);
}

static void
store_retention_clear_cb(void *p)
{
	(void)p;
}

/*
 * Every domain with its retention in days, and every domain that has
 * usage rows but no longer exists, with days 0 (delete everything).
 */
int
store_trace_retention(struct store *s, struct store_retention **out,
    size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;

	if ((stmt = store_stmt(s, "SELECT id, trace_retention_days FROM domains"
	    " UNION ALL SELECT DISTINCT u.domain_id, NULL FROM usage_hourly u"
	    " WHERE u.domain_id NOT IN (SELECT id FROM domains)", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	return store_collect(s, stmt, sizeof(**out), store_retention_read,
	    store_retention_clear_cb, (void **)out, n, err, errlen);
}
