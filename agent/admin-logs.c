/*
 * logs.list and logs.tail: traces as the admin API shows them, the newest
 * from the database or, for a subscribed connection, each one as the
 * writer commits it (a logs.trace notification).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define LOGS_DEFAULT_LIMIT	20
#define LOGS_MAX_LIMIT		1000

static void	admin_logs_clear(struct agent *, struct admin_session *);

/* RFC 3339 UTC with milliseconds: traces are finer than a second. */
static cJSON *
admin_logs_time(int64_t ms)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);
	char		buf[64], out[80];

	if (gmtime_r(&t, &tm) == NULL)
		return admin_json_string(NULL);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%03dZ", buf, (int)(ms % 1000));
	return admin_json_string(out);
}

static cJSON *
admin_logs_text(const char *s)
{
	return admin_json_string(s != NULL && *s != '\0' ? s : NULL);
}

/*
 * Every attempt the request made on a deployment: as the trace kept them
 * when there were several (or a fallback), else the one its fields
 * describe when it reached a backend, else none.
 */
static cJSON *
admin_logs_attempts(const struct trace *t)
{
	cJSON	*a = NULL, *o;

	if (t->attempts != NULL && (a = cJSON_Parse(t->attempts)) != NULL &&
	    cJSON_IsArray(a))
		return a;
	cJSON_Delete(a);
	a = admin_json_array();
	if (t->provider == NULL || t->model_id == NULL ||
	    (t->step != TRACE_STEP_NONE && t->step != TRACE_STEP_UPSTREAM &&
	    t->step != TRACE_STEP_OUTPUT_GUARDRAIL))
		return a;
	o = admin_json_object();
	admin_json_add(o, "model", admin_logs_text(t->model));
	admin_json_add(o, "provider", admin_json_string(t->provider));
	admin_json_add(o, "model_id", admin_json_string(t->model_id));
	admin_json_add(o, "status", t->status > 0 && t->status != 499 ?
	    admin_json_number(t->status) : cJSON_CreateNull());
	admin_json_add(o, "error", admin_logs_text(t->error));
	admin_json_add(o, "ms", admin_json_number((double)t->latency_ms));
	cJSON_AddItemToArray(a, o);
	return a;
}

/* One trace in the admin API's shape (docs/admin-api.md, logs.list). */
cJSON *
admin_logs_trace_json(const struct trace *t)
{
	static const unsigned char zero[TRACE_ID_BYTES];
	cJSON	*o = admin_json_object(), *guards;
	char	 id[32], hex[2 * TRACE_ID_BYTES + 1];

	/* A string: ids (unix ms << 10) are past what a double holds exactly. */
	snprintf(id, sizeof(id), "%lld", (long long)t->id);
	admin_json_add(o, "id", admin_json_string(id));
	admin_json_add(o, "time", admin_logs_time(t->time_ms));
	admin_json_add(o, "domain", admin_json_string(t->domain_id));
	admin_json_add(o, "token_id", admin_logs_text(t->token_id));
	admin_json_add(o, "model", admin_logs_text(t->model));
	admin_json_add(o, "model_id", admin_logs_text(t->model_id));
	admin_json_add(o, "provider", admin_logs_text(t->provider));
	admin_json_add(o, "route", admin_json_string(t->route));
	admin_json_add(o, "status", admin_json_number(t->status));
	admin_json_add(o, "error", admin_logs_text(t->error));
	admin_json_add(o, "rejected_step", admin_logs_text(
	    trace_step_name(t->step)));
	admin_json_add(o, "latency_ms", admin_json_number((double)
	    t->latency_ms));
	admin_json_add(o, "ttft_ms", t->ttft_ms < 0 ? cJSON_CreateNull() :
	    admin_json_number((double)t->ttft_ms));
	admin_json_add(o, "prompt_tokens", admin_json_number((double)
	    t->prompt_tokens));
	admin_json_add(o, "completion_tokens", admin_json_number((double)
	    t->completion_tokens));
	admin_json_add(o, "cached_tokens", admin_json_number((double)
	    t->cached_tokens));
	admin_json_add(o, "estimated", admin_json_bool(t->estimated));
	admin_json_add(o, "cost_usd", admin_json_money(t->cost));
	admin_json_add(o, "stream", admin_json_bool(t->stream));
	admin_json_add(o, "cancelled", admin_json_bool(t->cancelled));
	admin_json_add(o, "prompt", admin_logs_text(t->prompt_text));
	admin_json_add(o, "completion", admin_logs_text(t->completion_text));
	guards = t->guardrails != NULL ? cJSON_Parse(t->guardrails) : NULL;
	admin_json_add(o, "guardrails", guards != NULL ? guards :
	    cJSON_CreateArray());
	admin_json_add(o, "receipt", admin_logs_text(t->receipt));
	admin_json_add(o, "request_id", admin_logs_text(t->request_id));
	/* The OpenTelemetry span's ids, to find it in the collector. */
	if (memcmp(t->trace_id, zero, sizeof(zero)) != 0) {
		traceparent_hex(hex, t->trace_id, sizeof(t->trace_id));
		admin_json_add(o, "trace_id", admin_json_string(hex));
		traceparent_hex(hex, t->span_id, sizeof(t->span_id));
		admin_json_add(o, "span_id", admin_json_string(hex));
	} else {
		admin_json_add(o, "trace_id", cJSON_CreateNull());
		admin_json_add(o, "span_id", cJSON_CreateNull());
	}
	admin_json_add(o, "attempts", admin_logs_attempts(t));
	return o;
}

/* The optional domain and model filters both methods take. */
static int
admin_logs_filter(struct agent *agent, const cJSON *params,
    struct store_domain *d, const char **model, struct admin_reply *reply)
{
	int	rc;

	memset(d, 0, sizeof(*d));
	*model = NULL;
	if (cJSON_GetObjectItemCaseSensitive(params, "domain") != NULL &&
	    admin_param_domain(agent, params, d, reply) == -1)
		return -1;
	rc = admin_param_string(params, "model", 0, 1, 128,
	    admin_valid_model_key, "not a model key", model, reply);
	return rc == -1 ? -1 : 0;
}

int
admin_logs_list(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { "domain", "model", "limit",
	    "request_id", NULL };
	struct store_domain	 d;
	struct trace		*list;
	const char		*model, *request_id = NULL;
	int64_t			 limit = LOGS_DEFAULT_LIMIT;
	size_t			 n, i;
	char			 err[256];
	int			 rc;

	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_logs_filter(agent, params, &d, &model, reply) == -1 ||
	    admin_param_int(params, "limit", 0, 1, LOGS_MAX_LIMIT, &limit,
	    reply) == -1 ||
	    admin_param_string(params, "request_id", 0, 32, 32,
	    admin_valid_request_id, "not 32 lower-case hex digits",
	    &request_id,
	    reply) == -1) {
		store_domain_clear(&d);
		return -1;
	}
	if (request_id != NULL)
		rc = store_trace_by_request(agent->store, d.id[0] != '\0' ?
		    d.id : NULL, request_id, &list, &n, err, sizeof(err));
	else
		rc = store_trace_list(agent->store, d.id[0] != '\0' ? d.id :
		    NULL, model, limit, &list, &n, err, sizeof(err));
	store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_json_array();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(reply->result,
		    admin_logs_trace_json(&list[i]));
	store_trace_list_free(list, n);
	return 0;
}

/* Subscribe the connection: every committed trace that matches follows. */
int
admin_logs_tail(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { "domain", "model", NULL };
	struct admin_session	*s = reply->session;
	struct store_domain	 d;
	const char		*model;

	if (s == NULL)
		return admin_reply_error(reply, RPC_INVALID_REQUEST,
		    "logs.tail needs a connection to send to");
	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_logs_filter(agent, params, &d, &model, reply) == -1) {
		store_domain_clear(&d);
		return -1;
	}
	if (!s->tail)
		trace_writer_listeners(agent->traces, 1);
	s->tail = 1;
	memcpy(s->domain_id, d.id, sizeof(s->domain_id));
	free(s->model);
	s->model = model != NULL ? xstrdup(model) : NULL;
	store_domain_clear(&d);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "subscribed", admin_json_bool(1));
	return 0;
}

int
admin_logs_untail(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { NULL };

	if (admin_param_check(params, allowed, reply) == -1)
		return -1;
	if (reply->session != NULL)
		admin_logs_clear(agent, reply->session);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "subscribed", admin_json_bool(0));
	return 0;
}

/* End a connection's logs.tail, if it has one. */
static void
admin_logs_clear(struct agent *agent, struct admin_session *s)
{
	if (s->tail)
		trace_writer_listeners(agent->traces, -1);
	free(s->model);
	s->model = NULL;
	s->tail = 0;
	s->domain_id[0] = '\0';
}

/* End a connection's subscriptions and backups (it is closing). */
void
admin_session_clear(struct agent *agent, struct admin_session *s)
{
	admin_logs_clear(agent, s);
	admin_stats_clear(s);
	admin_backup_session_gone(s);
}

/* Does a subscription want this trace? */
int
admin_session_wants(const struct admin_session *s, const struct trace *t)
{
	if (!s->tail)
		return 0;
	if (s->domain_id[0] != '\0' && strcmp(s->domain_id, t->domain_id) != 0)
		return 0;
	return s->model == NULL || (t->model != NULL &&
	    strcmp(s->model, t->model) == 0);
}

/* The notification line for one trace, with its newline. Caller frees. */
char *
admin_logs_notification(const struct trace *t)
{
	cJSON	*n = admin_json_object();
	char	*s, *line;
	size_t	 len;

	admin_json_add(n, "jsonrpc", admin_json_string("2.0"));
	admin_json_add(n, "method", admin_json_string("logs.trace"));
	admin_json_add(n, "params", admin_logs_trace_json(t));
	if ((s = cJSON_PrintUnformatted(n)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(n);
	len = strlen(s);
	line = xmalloc(len + 2);
	memcpy(line, s, len);
	memcpy(line + len, "\n", 2);
	free(s);
	return line;
}
