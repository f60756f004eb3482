/* The models table: what a domain's clients may ask for, and where it goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define MODEL_COLUMNS "domain_id, key, name, model_id, provider, category," \
	" tools, vision, price_input, price_output, price_cached, status," \
	" temperature, max_tokens, system_prompt, guard_in, guard_out," \
	" description, created_at, updated_at, fallbacks, retries," \
	" retry_deadline_ms"

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
	m->fallbacks = store_model_text(stmt, 20, "[]");
	m->retries = sqlite3_column_int(stmt, 21);
	m->retry_deadline_ms = sqlite3_column_int(stmt, 22);
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
	sqlite3_bind_text(stmt, 21, m->fallbacks != NULL ? m->fallbacks : "[]",
	    -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 22, m->retry_deadline_ms > 0 ? m->retries :
	    MODEL_RETRIES_DEFAULT);
	sqlite3_bind_int(stmt, 23, m->retry_deadline_ms > 0 ?
	    m->retry_deadline_ms : MODEL_DEADLINE_DEFAULT);
}

void
store_model_set_deployments(struct store_model *m,
    const struct store_deployment *d, size_t n)
{
	struct store_deployment	*copy;
	size_t			 i;

	/* Copied first: d may point into m (its provider, its list). */
	copy = n > 0 ? xcalloc(n, sizeof(*copy)) : NULL;
	for (i = 0; i < n; i++) {
		copy[i].provider = xstrdup(d[i].provider);
		copy[i].model_id = xstrdup(d[i].model_id);
		copy[i].weight = d[i].weight;
		copy[i].priority = d[i].priority;
	}
	if (n > 0) {
		free(m->provider);
		free(m->model_id);
		m->provider = xstrdup(copy[0].provider);
		m->model_id = xstrdup(copy[0].model_id);
	}
	for (i = 0; i < m->ndeployments; i++) {
		free(m->deployments[i].provider);
		free(m->deployments[i].model_id);
	}
	free(m->deployments);
	m->deployments = copy;
	m->ndeployments = n;
}

/* A model with no deployment row (cannot happen after migration 12). */
static void
store_model_default_deployment(struct store_model *m)
{
	struct store_deployment	d;

	if (m->ndeployments > 0)
		return;
	d.provider = xstrdup(m->provider);
	d.model_id = xstrdup(m->model_id);
	d.weight = 1;
	d.priority = 0;
	store_model_set_deployments(m, &d, 1);
	free(d.provider);
	free(d.model_id);
}

/* Append one deployment row (columns 2..5 of stmt) to m. */
static void
store_model_add_deployment(struct store_model *m, sqlite3_stmt *stmt)
{
	struct store_deployment	*d;

	if (m->ndeployments >= MODEL_DEPLOYMENTS_MAX)
		return;
	m->deployments = xreallocarray(m->deployments, m->ndeployments + 1,
	    sizeof(*m->deployments));
	d = &m->deployments[m->ndeployments++];
	d->provider = store_model_text(stmt, 2, "");
	d->model_id = store_model_text(stmt, 3, "");
	d->weight = sqlite3_column_int(stmt, 4);
	d->priority = sqlite3_column_int(stmt, 5);
}

/*
 * Fill the deployments of models[0..n) (sorted by domain_id, key, as
 * the store lists them) from stmt's rows, sorted the same way and by
 * position.
 */
static int
store_model_load_deployments(struct store *s, sqlite3_stmt *stmt,
    struct store_model *models, size_t n, char *err, size_t errlen)
{
	const char	*dom, *key;
	size_t		 i = 0;
	int		 rc, c;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		dom = (const char *)sqlite3_column_text(stmt, 0);
		key = (const char *)sqlite3_column_text(stmt, 1);
		if (dom == NULL || key == NULL)
			continue;
		while (i < n && ((c = strcmp(models[i].domain_id, dom)) < 0 ||
		    (c == 0 && strcmp(models[i].key, key) < 0)))
			i++;
		if (i == n)
			break;
		if (strcmp(models[i].domain_id, dom) == 0 &&
		    strcmp(models[i].key, key) == 0)
			store_model_add_deployment(&models[i], stmt);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = store_fail(s, rc, err, errlen);
		sqlite3_reset(stmt);
		return rc;
	}
	sqlite3_reset(stmt);
	for (i = 0; i < n; i++) {
		store_model_default_deployment(&models[i]);
		/* The first deployment is the model's provider and model id. */
		free(models[i].provider);
		free(models[i].model_id);
		models[i].provider = xstrdup(models[i].deployments[0].provider);
		models[i].model_id = xstrdup(models[i].deployments[0].model_id);
	}
	return 0;
}

/*
 * The deployments of the models just read: one model's (key), one
 * domain's or every domain's, in the order the models were listed.
 */
static int
store_model_load(struct store *s, const char *domain_id, const char *key,
    void *rows, size_t n, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;

	if (key != NULL)
		stmt = store_stmt(s, "SELECT domain_id, model_key, provider,"
		    " model_id, weight, priority FROM model_deployments WHERE"
		    " domain_id = ?1 AND model_key = ?2 ORDER BY pos", err,
		    errlen);
	else if (domain_id != NULL)
		stmt = store_stmt(s, "SELECT domain_id, model_key, provider,"
		    " model_id, weight, priority FROM model_deployments"
		    " WHERE domain_id = ?1 ORDER BY model_key, pos", err,
		    errlen);
	else
		stmt = store_stmt(s, "SELECT domain_id, model_key, provider,"
		    " model_id, weight, priority FROM model_deployments"
		    " ORDER BY domain_id, model_key, pos", err, errlen);
	if (stmt == NULL)
		return STORE_ERROR;
	if (domain_id != NULL)
		sqlite3_bind_text(stmt, 1, domain_id, -1, SQLITE_STATIC);
	if (key != NULL)
		sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	return store_model_load_deployments(s, stmt, rows, n, err, errlen);
}

const struct store_entity store_model_entity = {
	.noun = "model",
	.size = sizeof(struct store_model),
	.get_sql = "SELECT " MODEL_COLUMNS " FROM models"
	    " WHERE domain_id = ?1 AND key = ?2",
	.list_sql = "SELECT " MODEL_COLUMNS " FROM models"
	    " WHERE domain_id = ?1 ORDER BY key",
	.list_all_sql = "SELECT " MODEL_COLUMNS " FROM models"
	    " ORDER BY domain_id, key",
	.read = store_model_read,
	.clear = store_model_clear_cb,
	.load = store_model_load,
};

/* Rewrite m's deployment rows (m->key's), in order. */
static int
store_model_write_deployments(struct store *s, const struct store_model *m,
    char *err, size_t errlen)
{
	struct store_deployment	 one;
	const struct store_deployment *d = m->deployments;
	sqlite3_stmt		*stmt;
	size_t			 i, n = m->ndeployments;
	int			 rc;

	if (n == 0) {
		one.provider = m->provider;
		one.model_id = m->model_id;
		one.weight = 1;
		one.priority = 0;
		d = &one;
		n = 1;
	}
	if ((stmt = store_stmt(s, "DELETE FROM model_deployments WHERE"
	    " domain_id = ? AND model_key = ?", err, errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, m->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->key, -1, SQLITE_STATIC);
	if ((rc = store_exec_stmt(s, stmt, err, errlen)) != 0)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	for (i = 0; i < n; i++) {
		if ((stmt = store_stmt(s, "INSERT INTO model_deployments"
		    " (domain_id, model_key, pos, provider, model_id, weight,"
		    " priority) VALUES (?, ?, ?, ?, ?, ?, ?)", err, errlen)) ==
		    NULL)
			return STORE_ERROR;
		sqlite3_bind_text(stmt, 1, m->domain_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, m->key, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 3, (int)i);
		/* The first is the model's provider and model_id, as set. */
		sqlite3_bind_text(stmt, 4, i == 0 ? m->provider :
		    d[i].provider, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 5, i == 0 ? m->model_id :
		    d[i].model_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 6, d[i].weight > 0 ? d[i].weight : 1);
		sqlite3_bind_int(stmt, 7, d[i].priority);
		if ((rc = store_exec_stmt(s, stmt, err, errlen)) == 0)
			continue;
		if (rc != STORE_CONFLICT)
			return rc;
		if (store_foreign_key_failed(s))
			snprintf(err, errlen, "provider '%s' not found in this"
			    " domain", i == 0 ? m->provider : d[i].provider);
		else
			snprintf(err, errlen, "deployment %s/%s given twice",
			    i == 0 ? m->provider : d[i].provider,
			    i == 0 ? m->model_id : d[i].model_id);
		return STORE_CONFLICT;
	}
	return 0;
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
	    " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, m->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->key, -1, SQLITE_STATIC);
	store_model_bind(stmt, m);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		return store_model_conflict(s, m, err, errlen);
	if (rc != 0)
		return rc;
	return store_model_write_deployments(s, m, err, errlen);
}

int
store_model_get(struct store *s, const char *domain_id, const char *key,
    struct store_model *m, char *err, size_t errlen)
{
	return store_entity_get(s, &store_model_entity, domain_id, key, m, err,
	    errlen);
}

int
store_model_list(struct store *s, const char *domain_id,
    struct store_model **out, size_t *n, char *err, size_t errlen)
{
	return store_entity_list(s, &store_model_entity, domain_id, -1,
	    (void **)out, n, err, errlen);
}

/*
 * created_at is kept (?19 is bound but unused); everything else, the key
 * and the deployments included, is rewritten.
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
	    " guard_out = ?17, description = ?18, updated_at = ?20,"
	    " fallbacks = ?21, retries = ?22, retry_deadline_ms = ?23"
	    " WHERE domain_id = ?1 AND key = ?24", err,
	    errlen)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, m->domain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->key, -1, SQLITE_STATIC);
	store_model_bind(stmt, m);
	sqlite3_bind_text(stmt, 24, old_key, -1, SQLITE_STATIC);
	rc = store_exec_stmt(s, stmt, err, errlen);
	if (rc == STORE_CONFLICT)
		return store_model_conflict(s, m, err, errlen);
	if (rc != 0)
		return rc;
	if ((rc = store_entity_changed(s, &store_model_entity, old_key, err,
	    errlen)) != 0)
		return rc;
	return store_model_write_deployments(s, m, err, errlen);
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
	return store_entity_changed(s, &store_model_entity, key, err, errlen);
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
	free(m->fallbacks);
	store_model_set_deployments(m, NULL, 0);
	memset(m, 0, sizeof(*m));
}

void
store_model_list_free(struct store_model *list, size_t n)
{
	store_entity_list_free(&store_model_entity, list, n);
}
