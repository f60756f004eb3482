/*
 * store.h: the SQLite store (store.c, store-*.c). Included only by the
 * admin side (admin-*.c, registry.c, health.c, main.c...) and the trace
 * writer (trace-writer.c): the request path never touches SQLite, and
 * scripts/check-layers fails the build's check when one of its objects
 * references a store_* or sqlite3_* symbol.
 */
#ifndef CUBE_STORE_H
#define CUBE_STORE_H

#include "agent.h"

/*
 * store.c: SQLite (WAL) state in the data directory; admin thread only.
 * Functions return 0, or one of these with err filled: for STORE_NOT_FOUND
 * and STORE_CONFLICT a message fit for the operator (names only), for
 * STORE_ERROR SQLite's (log it, do not show it). Rows are plain structs
 * whose strings the caller owns: free with the row's _clear() or the
 * list's _list_free().
 */
#define STORE_ERROR		-1
#define STORE_NOT_FOUND		-2
#define STORE_CONFLICT		-3	/* already exists, or still in use */
#define STORE_SCHEMA_VERSION	15
struct store;
struct sqlite3;
void		 store_library_init(void);
struct store	*store_open(const char *data_dir, char *err, size_t errlen);
void		 store_close(struct store *);
int		 store_schema_version(struct store *);
/* PRAGMA user_version of any database (a backup's), or -1. */
int		 store_db_schema_version(struct sqlite3 *);
int		 store_begin(struct store *, char *err, size_t errlen);
int		 store_commit(struct store *, char *err, size_t errlen);
void		 store_rollback(struct store *);

/* For store-*.c only: cached prepared statements and error mapping. */
struct sqlite3_stmt;
/* The statement for sql (a string literal: its address is the cache key), reset. */
struct sqlite3_stmt *store_stmt(struct store *, const char *sql, char *err,
		    size_t errlen);
/* Map a SQLite result code to STORE_*, filling err with SQLite's message. */
int		 store_fail(struct store *, int rc, char *err, size_t errlen);
/* Step a statement that returns no rows; resets it. 0 or STORE_*. */
int		 store_exec_stmt(struct store *, struct sqlite3_stmt *,
		    char *err, size_t errlen);
int		 store_changes(struct store *);
/* After STORE_CONFLICT: 1 when a foreign key (not a unique key) refused. */
int		 store_foreign_key_failed(struct store *);
char		*store_column_text(struct sqlite3_stmt *, int);	/* or NULL */
/* Read every row of a SELECT into an array of size-byte elements. */
int		 store_collect(struct store *, struct sqlite3_stmt *,
		    size_t size, void (*read)(struct sqlite3_stmt *, void *),
		    void (*clear)(void *), void **out, size_t *n, char *err,
		    size_t errlen);
/* Read at most one row: 0, STORE_NOT_FOUND (err untouched) or STORE_ERROR. */
int		 store_row(struct store *, struct sqlite3_stmt *,
		    void (*read)(struct sqlite3_stmt *, void *), void *out,
		    char *err, size_t errlen);

/*
 * store-entity.c: the tables kept per domain and named by a key column,
 * each described once and read by one get and one list. Tenant isolation:
 * get_sql and list_sql bind the domain id as ?1 and must filter on it; a
 * get without a domain finds nothing.
 */
struct store_entity {
	const char	*noun;		/* "provider", as messages name it */
	size_t		 size;		/* of the row struct */
	const char	*get_sql;	/* ?1 domain id, ?2 key; NULL: none */
	const char	*list_sql;	/* ?1 domain id [, ?2 the limit] */
	const char	*list_all_sql;	/* every domain's [?1 the limit] */
	void		(*read)(struct sqlite3_stmt *, void *row);
	void		(*clear)(void *row);
	/* Or NULL: fill rows[0..n)'s dependents (key NULL: from a list). */
	int		(*load)(struct store *, const char *domain_id,
			    const char *key, void *rows, size_t n, char *err,
			    size_t errlen);
	int		 limited;	/* its lists end in LIMIT ? */
};
extern const struct store_entity store_provider_entity;
extern const struct store_entity store_model_entity;
extern const struct store_entity store_guardrail_entity;
extern const struct store_entity store_token_entity;
extern const struct store_entity store_audit_entity;
int		 store_entity_get(struct store *, const struct store_entity *,
		    const char *domain_id, const char *key, void *row,
		    char *err, size_t errlen);
/* domain_id NULL: every domain's rows; limit: for limited ones only. */
int		 store_entity_list(struct store *, const struct store_entity *,
		    const char *domain_id, int limit, void **rows, size_t *n,
		    char *err, size_t errlen);
void		 store_entity_list_free(const struct store_entity *,
		    void *rows, size_t n);
/* "<noun> '<key>' not found in this domain": returns STORE_NOT_FOUND. */
int		 store_entity_not_found(const struct store_entity *,
		    const char *key, char *err, size_t errlen);
/* After an UPDATE or DELETE of one row: STORE_NOT_FOUND if none changed. */
int		 store_entity_changed(struct store *,
		    const struct store_entity *, const char *key, char *err,
		    size_t errlen);

/* store-domain.c */
struct store_domain {
	char		 id[37];
	char		*name;
	int		 log_content;
	int		 trace_retention_days;
	int64_t		 created_at;		/* unix seconds */
	/* Browser origins for CORS, space-separated ("*": any), or NULL. */
	char		*cors_origins;
	/* JWT/OIDC settings as jwt_config_json() writes them, or NULL. */
	char		*jwt;
	int		 require_attested;	/* attested providers only */
};
int	 store_domain_insert(struct store *, const struct store_domain *,
	    char *err, size_t errlen);
/* By id first, then by name. */
int	 store_domain_get(struct store *, const char *id_or_name,
	    struct store_domain *, char *err, size_t errlen);
int	 store_domain_list(struct store *, struct store_domain **, size_t *,
	    char *err, size_t errlen);		/* sorted by name */
int	 store_domain_count(struct store *, size_t *, char *err, size_t errlen);
int	 store_domain_update(struct store *, const struct store_domain *,
	    char *err, size_t errlen);
/* Deletes its providers, models and tokens with it. */
int	 store_domain_delete(struct store *, const char *id, char *err,
	    size_t errlen);
void	 store_domain_clear(struct store_domain *);
void	 store_domain_list_free(struct store_domain *, size_t);

/* store-provider.c */
struct store_provider {
	char		 domain_id[37];
	char		*name;
	char		*driver;		/* openai|ollama|vllm */
	char		*url;			/* no trailing '/' */
	unsigned char	*credential;		/* sealed blob, or NULL */
	size_t		 credential_len;
	char		*fingerprint;		/* or NULL */
	char		*status;		/* active|errored */
	char		*error;			/* or NULL */
	int64_t		 created_at;
	int		 responses_api;		/* serves /v1/responses */
	char		*attest_policy;		/* policy JSON, or NULL */
};
int	 store_provider_insert(struct store *, const struct store_provider *,
	    char *err, size_t errlen);
int	 store_provider_get(struct store *, const char *domain_id,
	    const char *name, struct store_provider *, char *err,
	    size_t errlen);
/* One domain's, or every domain's when domain_id is NULL; by domain, name. */
int	 store_provider_list(struct store *, const char *domain_id,
	    struct store_provider **, size_t *, char *err, size_t errlen);
int	 store_provider_set_status(struct store *, const char *domain_id,
	    const char *name, const char *status, const char *error, char *err,
	    size_t errlen);
/*
 * Rewrite driver, url, credential, fingerprint, responses_api,
 * attest_policy, status and error.
 */
int	 store_provider_update(struct store *, const struct store_provider *,
	    char *err, size_t errlen);
/* STORE_CONFLICT while a model uses it. */
int	 store_provider_delete(struct store *, const char *domain_id,
	    const char *name, char *err, size_t errlen);
void	 store_provider_clear(struct store_provider *);
void	 store_provider_list_free(struct store_provider *, size_t);

/* store-model.c */
/* Where a model's requests go: one of its 1..MODEL_DEPLOYMENTS_MAX. */
struct store_deployment {
	char		*provider;		/* provider name, same domain */
	char		*model_id;
	int		 weight;		/* 1..1000 */
	int		 priority;		/* 0..100, lower tried first */
};
struct store_model {
	char		 domain_id[37];
	char		*key;
	char		*name;
	char		*model_id;
	char		*provider;		/* provider name, same domain */
	char		*category;		/* llm|embedding */
	int		 tools;
	int		 vision;
	int64_t		 price_input;		/* nano-USD per 1M tokens */
	int64_t		 price_output;
	int64_t		 price_cached;
	char		*status;		/* active|inactive */
	int		 has_temperature;
	double		 temperature;
	int64_t		 max_tokens;		/* 0: unset */
	char		*system_prompt;		/* or NULL */
	char		*guard_in;		/* JSON array of keys */
	char		*guard_out;
	char		*description;
	int64_t		 created_at;
	int64_t		 updated_at;
	/*
	 * Its deployments in order (provider and model_id above are the
	 * first one's), the fallback keys as a JSON array, the retry budget.
	 */
	struct store_deployment *deployments;
	size_t		 ndeployments;
	char		*fallbacks;		/* JSON array of keys */
	int		 retries;
	int		 retry_deadline_ms;
};
/*
 * Insert and update write the deployments too (provider and model_id
 * are set from the first); with none, one is made of provider and
 * model_id.
 */
int	 store_model_insert(struct store *, const struct store_model *,
	    char *err, size_t errlen);
int	 store_model_get(struct store *, const char *domain_id,
	    const char *key, struct store_model *, char *err, size_t errlen);
/* One domain's, or every domain's when domain_id is NULL; by domain, key. */
int	 store_model_list(struct store *, const char *domain_id,
	    struct store_model **, size_t *, char *err, size_t errlen);
/* Rewrite the model now called old_key (m->key may rename it). */
int	 store_model_update(struct store *, const char *old_key,
	    const struct store_model *, char *err, size_t errlen);
int	 store_model_delete(struct store *, const char *domain_id,
	    const char *key, char *err, size_t errlen);
void	 store_model_clear(struct store_model *);
void	 store_model_list_free(struct store_model *, size_t);
/* Replace m's deployments with a copy of d[0..n). */
void	 store_model_set_deployments(struct store_model *,
	    const struct store_deployment *d, size_t n);

/* store-guardrail.c */
struct store_guardrail {
	char		 domain_id[37];
	char		*key;
	char		*kind;			/* pii|regex|keywords|length */
	char		*action;		/* block|redact|log */
	char		*params;		/* JSON object, see admin-guardrail.c */
	char		*description;
	int64_t		 created_at;
	int64_t		 updated_at;
};
int	 store_guardrail_insert(struct store *, const struct store_guardrail *,
	    char *err, size_t errlen);
int	 store_guardrail_get(struct store *, const char *domain_id,
	    const char *key, struct store_guardrail *, char *err,
	    size_t errlen);
/* One domain's, or every domain's when domain_id is NULL; by domain, key. */
int	 store_guardrail_list(struct store *, const char *domain_id,
	    struct store_guardrail **, size_t *, char *err, size_t errlen);
/* Rewrite kind, action, params, description and updated_at. */
int	 store_guardrail_update(struct store *, const struct store_guardrail *,
	    char *err, size_t errlen);
int	 store_guardrail_delete(struct store *, const char *domain_id,
	    const char *key, char *err, size_t errlen);
void	 store_guardrail_clear(struct store_guardrail *);
void	 store_guardrail_list_free(struct store_guardrail *, size_t);

/* store-token.c */
struct store_token {
	char		 id[TOKEN_ID_LEN + 1];
	char		 domain_id[37];
	char		*name;
	unsigned char	 hash[VAULT_TOKEN_HASH_BYTES];
	int64_t		 created_at;
	int64_t		 expires_at;		/* 0: never */
	int64_t		 revoked_at;		/* 0: not revoked */
	char		*models;		/* JSON array of keys, or NULL: all */
	int64_t		 rpm;			/* 0: unlimited */
	int64_t		 tpm;
	int64_t		 budget;		/* nano-USD; 0: none */
	int		 budget_period;		/* PERIOD_... */
};
int	 store_token_insert(struct store *, const struct store_token *,
	    char *err, size_t errlen);
int	 store_token_get(struct store *, const char *domain_id, const char *id,
	    struct store_token *, char *err, size_t errlen);
/* One domain's, or every domain's when domain_id is NULL; by created_at. */
int	 store_token_list(struct store *, const char *domain_id,
	    struct store_token **, size_t *, char *err, size_t errlen);
/* Sets revoked_at unless it is already set. */
int	 store_token_revoke(struct store *, const char *domain_id,
	    const char *id, int64_t when, char *err, size_t errlen);
void	 store_token_clear(struct store_token *);
void	 store_token_list_free(struct store_token *, size_t);

/* store-trace.c: the traces table and the hourly usage rollup. */
enum usage_by {
	USAGE_BY_MODEL,
	USAGE_BY_TOKEN,
	USAGE_BY_HOUR,
	USAGE_BY_DAY,
};
struct store_usage {
	char		*key;		/* model or token id; NULL by time */
	int64_t		 bucket;	/* unix seconds of the hour or day */
	int64_t		 requests;
	int64_t		 errors;
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	int64_t		 cached_tokens;
	int64_t		 cost;
};
struct store_retention {
	char		 domain_id[37];
	int		 days;		/* 0: the domain is gone */
};
/* t->id is the writer's: unix ms << 10 or above, growing. */
int	 store_trace_insert(struct store *, struct trace *, char *, size_t);
int	 store_trace_last_id(struct store *, int64_t *, char *, size_t);
/* A token's spend (nano-USD) in the rollup since hour (unix s / 3600). */
int	 store_usage_token_spent(struct store *, const char *domain_id,
	    const char *token_id, int64_t since_hour, int64_t *, char *,
	    size_t);
int	 store_usage_add(struct store *, const char *domain_id, int64_t hour,
	    const char *model, const char *token_id,
	    const struct store_usage *, char *, size_t);
int	 store_trace_list(struct store *, const char *domain_id,
	    const char *model, int64_t limit, struct trace **, size_t *,
	    char *, size_t);
/* The trace of one x-request-id (in domain_id, when not NULL): 0 or 1. */
int	 store_trace_by_request(struct store *, const char *domain_id,
	    const char *request_id, struct trace **, size_t *, char *,
	    size_t);
void	 store_trace_list_free(struct trace *, size_t);
int	 store_usage_query(struct store *, const char *domain_id,
	    enum usage_by, int64_t since, int64_t until, struct store_usage **,
	    size_t *, char *, size_t);
void	 store_usage_list_free(struct store_usage *, size_t);
int	 store_trace_expire(struct store *, const char *domain_id,
	    int64_t before_ms, int max, int *deleted, char *, size_t);
int	 store_trace_retention(struct store *, struct store_retention **,
	    size_t *, char *, size_t);

/* store-audit.c: who changed what, newest last. */
struct store_audit {
	int64_t		 id;
	int64_t		 at;			/* unix seconds */
	unsigned int	 uid;
	char		*user;
	char		*method;		/* "model.edit" */
	char		*domain_id;		/* or NULL */
	char		*domain;		/* its name then, or NULL */
	char		*target;		/* "model/gpt-4o-mini" */
	char		*changes;		/* JSON array of {field, old, new} */
};
int	 store_audit_insert(struct store *, const struct store_audit *,
	    char *err, size_t errlen);
/* The newest limit entries, of one domain or all (NULL), oldest first. */
int	 store_audit_list(struct store *, const char *domain_id, int limit,
	    struct store_audit **, size_t *, char *err, size_t errlen);
void	 store_audit_clear(struct store_audit *);
void	 store_audit_list_free(struct store_audit *, size_t);

#endif /* CUBE_STORE_H */
