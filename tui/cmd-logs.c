/*
 * cubectl logs and usage: the newest traces, optionally followed as the
 * agent pushes them (a logs.tail subscription), and a domain's usage and
 * spend grouped by model, token, hour or day.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "rpc.h"
#include "xmalloc.h"

const struct output_field cmd_logs_columns[] = {
	{ "TIME",		"time",			OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "MODEL",		"model",		OUTPUT_PLAIN },
	{ "PROMPT",		"prompt_tokens",	OUTPUT_PLAIN },
	{ "COMPL",		"completion_tokens",	OUTPUT_PLAIN },
	{ "CACHED",		"cached_tokens",	OUTPUT_PLAIN },
	{ "EST",		"estimated",		OUTPUT_YESNO },
	{ "COST",		"cost_usd",		OUTPUT_PLAIN },
	{ "MS",			"latency_ms",		OUTPUT_PLAIN },
	{ "TTFT",		"ttft_ms",		OUTPUT_PLAIN },
	{ "STREAM",		"stream",		OUTPUT_YESNO },
	{ "ERROR",		"error",		OUTPUT_PLAIN },
	{ "STEP",		"rejected_step",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* usage: the group's column first, then the same counters for each. */
#define USAGE_COUNTERS \
	{ "REQUESTS",	"requests",		OUTPUT_PLAIN }, \
	{ "ERRORS",	"errors",		OUTPUT_PLAIN }, \
	{ "PROMPT",	"prompt_tokens",	OUTPUT_PLAIN }, \
	{ "COMPLETION",	"completion_tokens",	OUTPUT_PLAIN }, \
	{ "CACHED",	"cached_tokens",	OUTPUT_PLAIN }, \
	{ "COST_USD",	"cost_usd",		OUTPUT_PLAIN }, \
	{ NULL, NULL, OUTPUT_PLAIN }

static const struct output_field cmd_usage_model[] = {
	{ "MODEL", "model", OUTPUT_PLAIN }, USAGE_COUNTERS
};
static const struct output_field cmd_usage_token[] = {
	{ "TOKEN", "token", OUTPUT_PLAIN }, USAGE_COUNTERS
};
static const struct output_field cmd_usage_hour[] = {
	{ "HOUR", "hour", OUTPUT_PLAIN }, USAGE_COUNTERS
};
static const struct output_field cmd_usage_day[] = {
	{ "DAY", "day", OUTPUT_PLAIN }, USAGE_COUNTERS
};

static const struct {
	const char			*by;
	const struct output_field	*fields;
} cmd_usage_tables[] = {
	{ "model",	cmd_usage_model },
	{ "token",	cmd_usage_token },
	{ "hour",	cmd_usage_hour },
	{ "day",	cmd_usage_day },
};

/* One trace as it follows: a JSON line, or the table's cells on a line. */
static void
cmd_logs_line(struct cubectl *c, const cJSON *trace)
{
	char	*text;

	if (c->output == CUBECTL_JSON) {
		if ((text = cJSON_PrintUnformatted(trace)) == NULL)
			return;
		puts(text);
		free(text);
	} else
		output_line(cmd_logs_columns, trace);
	fflush(stdout);
}

/*
 * Following: the subscription comes first and the newest traces after, so
 * that none committed in between is missed; traces pushed while the list
 * is on its way wait, and one the list already showed is not shown twice.
 */
struct cmd_logs_follow {
	struct cubectl	*c;
	cJSON		*held;		/* pushed before the list came */
	long long	 last;		/* id of the newest trace shown */
};

static long long
cmd_logs_id(const cJSON *trace)
{
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(trace, "id");

	return cJSON_IsString(id) ? strtoll(id->valuestring, NULL, 10) : 0;
}

static void
cmd_logs_show(struct cmd_logs_follow *f, const cJSON *trace)
{
	long long	id = cmd_logs_id(trace);

	if (id != 0 && id <= f->last)
		return;
	if (id > f->last)
		f->last = id;
	cmd_logs_line(f->c, trace);
}

/* A notification while following: print the traces, ignore the rest. */
static void
cmd_logs_notify(const char *method, const cJSON *params, void *arg)
{
	struct cmd_logs_follow	*f = arg;

	if (strcmp(method, "logs.trace") != 0 || !cJSON_IsObject(params))
		return;
	if (f->held != NULL)
		cJSON_AddItemToArray(f->held, cJSON_Duplicate(params, 1));
	else
		cmd_logs_show(f, params);
}

/* Subscribe, show the newest traces, then each one pushed until EOF. */
static int
cmd_logs_follow(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	struct cmd_logs_follow	 f = { c, NULL, 0 };
	const cJSON		*trace;
	cJSON			*params, *result;
	enum rpc_client_status	 status;
	char			 err[1024];
	int			 rc;

	if ((rc = client_open(c)) != EXIT_OK)
		return rc;
	if ((f.held = cJSON_CreateArray()) == NULL)
		return EXIT_FAILED;
	rpc_client_set_notify(c->rpc, cmd_logs_notify, &f);
	params = cmd_params(ce, a);
	cJSON_DeleteItemFromObjectCaseSensitive(params, "limit");
	if ((rc = client_call(c, "logs.tail", params, &result)) == EXIT_OK) {
		cJSON_Delete(result);
		rc = client_call(c, ce->method, cmd_params(ce, a), &result);
	}
	if (rc != EXIT_OK) {
		cJSON_Delete(f.held);
		return rc;
	}
	if (c->output != CUBECTL_JSON)
		output_line(cmd_logs_columns, NULL);
	cJSON_ArrayForEach(trace, result)
		cmd_logs_show(&f, trace);
	cJSON_Delete(result);
	cJSON_ArrayForEach(trace, f.held)
		cmd_logs_show(&f, trace);
	cJSON_Delete(f.held);
	f.held = NULL;
	while ((status = rpc_client_poll(c->rpc, -1, err, sizeof(err))) ==
	    RPC_CLIENT_OK)
		;
	output_error("%s %s: %s", status == RPC_CLIENT_TRANSPORT ?
	    "lost the agent" : "bad message from the agent", c->where, err);
	return rpc_client_exit_status(status, 0);
}

int
cmd_logs(struct cubectl *c, const struct cmd_entry *ce, const struct args *a)
{
	cJSON	*result;
	int	 rc;

	if (args_has(a, "-f")) {
		if (args_has(a, "--request-id"))
			return cmd_usage_error(ce, "-f and --request-id: one"
			    " trace does not follow");
		return cmd_logs_follow(c, ce, a);
	}
	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	rc = cmd_output(c, ce, a, result);
	cJSON_Delete(result);
	return rc;
}

int
cmd_usage(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	const struct args_value	*by = args_get(a, "--by");
	cJSON			*result;
	size_t			 i;
	int			 rc;

	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	if (c->output == CUBECTL_JSON || !cJSON_IsArray(result)) {
		rc = cmd_output(c, ce, a, result);
		cJSON_Delete(result);
		return rc;
	}
	for (i = 0; i < sizeof(cmd_usage_tables) / sizeof(cmd_usage_tables[0]);
	    i++)
		if (strcmp(cmd_usage_tables[i].by, by != NULL ? by->string :
		    "model") == 0)
			output_table(cmd_usage_tables[i].fields, result);
	cJSON_Delete(result);
	return EXIT_OK;
}
