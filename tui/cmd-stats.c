/*
 * cubectl stats: the agent's rolling figures (stats.get) as a table of
 * the host, each domain and each model for one window, or as JSON; -f
 * follows them with a stats.tail subscription.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "rpc.h"
#include "xmalloc.h"

const char *const cmd_stats_windows[] = { "1m", "5m", "1h", NULL };

static const struct output_field cmd_stats_columns[] = {
	{ "DOMAIN",	"domain",		OUTPUT_PLAIN },
	{ "MODEL",	"model",		OUTPUT_PLAIN },
	{ "REQ/S",	"requests_per_s",	OUTPUT_PLAIN },
	{ "REQUESTS",	"requests",		OUTPUT_PLAIN },
	{ "ERRORS",	"errors",		OUTPUT_PLAIN },
	{ "ERR%",	"error_pct",		OUTPUT_PLAIN },
	{ "P50_MS",	"latency_p50_ms",	OUTPUT_PLAIN },
	{ "P99_MS",	"latency_p99_ms",	OUTPUT_PLAIN },
	{ "TTFT50",	"ttft_p50_ms",		OUTPUT_PLAIN },
	{ "TTFT99",	"ttft_p99_ms",		OUTPUT_PLAIN },
	{ "PROMPT",	"prompt_tokens",	OUTPUT_PLAIN },
	{ "COMPL",	"completion_tokens",	OUTPUT_PLAIN },
	{ "SPEND_TODAY", "spend_today_usd",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* One table row: the scope's names and its figures for one window. */
static void
cmd_stats_row(cJSON *rows, const char *domain, const char *model,
    const cJSON *figures, const char *window)
{
	static const char *const copied[] = { "requests_per_s", "requests",
	    "errors", "latency_p50_ms", "latency_p99_ms", "ttft_p50_ms",
	    "ttft_p99_ms", "prompt_tokens", "completion_tokens", NULL };
	const cJSON	*w, *item;
	cJSON		*row;
	char		 pct[32];
	size_t		 i;

	if ((row = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(row, "domain", domain);
	cJSON_AddStringToObject(row, "model", model);
	w = cJSON_GetObjectItemCaseSensitive(figures, window);
	for (i = 0; copied[i] != NULL; i++)
		if ((item = cJSON_GetObjectItemCaseSensitive(w, copied[i])) !=
		    NULL)
			cJSON_AddItemToObject(row, copied[i],
			    cJSON_Duplicate(item, 1));
	item = cJSON_GetObjectItemCaseSensitive(w, "error_rate");
	snprintf(pct, sizeof(pct), "%.1f", cJSON_IsNumber(item) ?
	    item->valuedouble * 100 : 0.0);
	cJSON_AddStringToObject(row, "error_pct", pct);
	item = cJSON_GetObjectItemCaseSensitive(figures, "spend_today_usd");
	if (item != NULL)
		cJSON_AddItemToObject(row, "spend_today_usd",
		    cJSON_Duplicate(item, 1));
	cJSON_AddItemToArray(rows, row);
}

/* stats.get's object as rows: the host, then each domain and its models. */
static cJSON *
cmd_stats_rows(const cJSON *stats, const char *window)
{
	const cJSON	*d, *m, *name, *key;
	cJSON		*rows = cJSON_CreateArray();

	if (rows == NULL)
		return NULL;
	cmd_stats_row(rows, "*", "*", cJSON_GetObjectItemCaseSensitive(stats,
	    "host"), window);
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(stats,
	    "domains")) {
		name = cJSON_GetObjectItemCaseSensitive(d, "name");
		if (!cJSON_IsString(name))
			name = cJSON_GetObjectItemCaseSensitive(d, "domain");
		if (!cJSON_IsString(name))
			continue;
		cmd_stats_row(rows, name->valuestring, "*", d, window);
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(d,
		    "models")) {
			key = cJSON_GetObjectItemCaseSensitive(m, "model");
			if (cJSON_IsString(key))
				cmd_stats_row(rows, name->valuestring,
				    key->valuestring, m, window);
		}
	}
	return rows;
}

static const char *
cmd_stats_window(const struct args *a)
{
	const struct args_value	*w = args_get(a, "--window");

	return w != NULL ? w->string : "1m";
}

/* The figures as the output format wants them. */
static void
cmd_stats_show(struct cubectl *c, const struct args *a, const cJSON *stats,
    int follow)
{
	cJSON	*rows;
	char	*text;

	if (c->output == CUBECTL_JSON) {
		if (!follow) {
			output_json(stats);
			return;
		}
		if ((text = cJSON_PrintUnformatted(stats)) != NULL)
			puts(text);
		free(text);
	} else if ((rows = cmd_stats_rows(stats, cmd_stats_window(a))) !=
	    NULL) {
		if (follow) {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(stats,
			    "time");

			printf("%s%s (window %s)\n", follow > 1 ? "\n" : "",
			    cJSON_IsString(t) ? t->valuestring : "",
			    cmd_stats_window(a));
		}
		output_table(cmd_stats_columns, rows);
		cJSON_Delete(rows);
	}
	fflush(stdout);
}

struct cmd_stats_follow {
	struct cubectl		*c;
	const struct args	*a;
	int			 shown;
};

static void
cmd_stats_notify(const char *method, const cJSON *params, void *arg)
{
	struct cmd_stats_follow	*f = arg;

	if (strcmp(method, "stats.update") != 0 || !cJSON_IsObject(params))
		return;
	cmd_stats_show(f->c, f->a, params, ++f->shown);
}

int
cmd_stats(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	struct cmd_stats_follow	 f = { c, a, 0 };
	enum rpc_client_status	 status;
	cJSON			*params, *result;
	char			 err[1024];
	int			 rc, follow = args_has(a, "-f");

	if (args_has(a, "--interval") && !follow)
		return cmd_usage_error(ce, "--interval needs -f");
	if ((rc = client_open(c)) != EXIT_OK)
		return rc;
	params = cmd_params(ce, a);
	cJSON_DeleteItemFromObjectCaseSensitive(params, "interval_ms");
	if ((rc = client_call(c, ce->method, params, &result)) != EXIT_OK)
		return rc;
	cmd_stats_show(c, a, result, follow ? ++f.shown : 0);
	cJSON_Delete(result);
	if (!follow)
		return EXIT_OK;
	rpc_client_set_notify(c->rpc, cmd_stats_notify, &f);
	if ((rc = client_call(c, "stats.tail", cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	cJSON_Delete(result);
	while ((status = rpc_client_poll(c->rpc, -1, err, sizeof(err))) ==
	    RPC_CLIENT_OK)
		;
	output_error("%s %s: %s", status == RPC_CLIENT_TRANSPORT ?
	    "lost the agent" : "bad message from the agent", c->where, err);
	return rpc_client_exit_status(status, 0);
}
