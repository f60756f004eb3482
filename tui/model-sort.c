/*
 * The Models view's rows in the order the operator asked: a model (of
 * model.list) beside its figures (its entry in stats.get's "models"),
 * compared by one column. Pure functions, held alone by the unit tests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "money.h"

/* Each sort column: its name, and where its value is. */
static const struct {
	const char	*name;
	const char	*path;		/* in the model; NULL: a figure */
	const char	*figure;	/* in the 1h window, or spend */
	int		 money;		/* an exact decimal string */
	int		 numeric;	/* highest first unless reversed */
} model_sort_columns[MODEL_SORT_N] = {
	[MODEL_SORT_KEY] =	{ "key",	"key",		NULL, 0, 0 },
	[MODEL_SORT_NAME] =	{ "name",	"name",		NULL, 0, 0 },
	[MODEL_SORT_PROVIDER] =	{ "provider",	"provider",	NULL, 0, 0 },
	[MODEL_SORT_CATEGORY] =	{ "category",	"category",	NULL, 0, 0 },
	[MODEL_SORT_STATUS] =	{ "status",	"status",	NULL, 0, 0 },
	[MODEL_SORT_CALLS] =	{ "calls",	NULL, "requests",	0, 1 },
	[MODEL_SORT_LATENCY] =	{ "p50",	NULL, "latency_p50_ms",	0, 1 },
	[MODEL_SORT_ERRORS] =	{ "err%",	NULL, "error_rate",	0, 1 },
	[MODEL_SORT_SPEND] =	{ "spend",	NULL, "spend_today_usd", 1, 1 },
	[MODEL_SORT_PRICE_IN] =	{ "price in",	"pricing.input", NULL, 1, 1 },
	[MODEL_SORT_PRICE_OUT] = { "price out",	"pricing.output", NULL, 1, 1 },
};

const char *
model_sort_name(enum model_sort s)
{
	return s < MODEL_SORT_N ? model_sort_columns[s].name : "?";
}

/* Whether s shows the highest first before it is reversed. */
int
model_sort_numeric(enum model_sort s)
{
	return s < MODEL_SORT_N && model_sort_columns[s].numeric;
}

/*
 * A figure of a model's stats entry: name in window ("1m", "5m", "1h"),
 * or -1 when there is none (no entry, a null percentile, not a number).
 */
double
model_figure(const cJSON *figures, const char *window, const char *name)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(figures, window), name);
	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : -1;
}

/* The string at a dotted path of obj, or NULL. */
static const char *
model_sort_string(const cJSON *obj, const char *path)
{
	const cJSON	*v = obj;
	const char	*dot;
	char		 part[32];
	size_t		 n;

	while (v != NULL && *path != '\0') {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		v = cJSON_GetObjectItemCaseSensitive(v, part);
		path += n + (dot != NULL);
	}
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A row's value in column s as a number; 0 when it has one, else -1. */
static int
model_sort_number(const struct model_row *r, enum model_sort s, double *out)
{
	const char	*str;
	int64_t		 nano;
	char		 err[64];

	if (model_sort_columns[s].money) {
		str = model_sort_columns[s].path != NULL ?
		    model_sort_string(r->model, model_sort_columns[s].path) :
		    model_sort_string(r->figures, model_sort_columns[s].figure);
		if (str == NULL || money_parse_usd(str, &nano, err,
		    sizeof(err)) == -1)
			return -1;
		*out = (double)nano;
		return 0;
	}
	*out = model_figure(r->figures, "1h", model_sort_columns[s].figure);
	return *out < 0 ? -1 : 0;
}

/*
 * Order a and b by column s: text columns A to Z, figures highest first,
 * reverse turning either around. Rows without a value go last either
 * way, and ties fall back on the key, so the order never flickers.
 */
int
model_row_compare(const struct model_row *a, const struct model_row *b,
    enum model_sort s, int reverse)
{
	const char	*sa, *sb;
	double		 na = 0, nb = 0;
	int		 ha, hb, c = 0;

	if (s >= MODEL_SORT_N)
		s = MODEL_SORT_KEY;
	if (model_sort_columns[s].numeric) {
		ha = model_sort_number(a, s, &na) == 0;
		hb = model_sort_number(b, s, &nb) == 0;
		if (ha != hb)
			return ha ? -1 : 1;
		if (ha)
			c = na > nb ? -1 : na < nb ? 1 : 0;
	} else {
		sa = model_sort_string(a->model, model_sort_columns[s].path);
		sb = model_sort_string(b->model, model_sort_columns[s].path);
		if ((sa == NULL) != (sb == NULL))
			return sa != NULL ? -1 : 1;
		if (sa != NULL)
			c = strcmp(sa, sb);
	}
	if (reverse)
		c = -c;
	if (c == 0 && s != MODEL_SORT_KEY) {
		sa = model_sort_string(a->model, "key");
		sb = model_sort_string(b->model, "key");
		c = strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "");
	}
	return c;
}

struct model_sort_ctx {
	enum model_sort	s;
	int		reverse;
};

static int
model_rows_cmp(const void *a, const void *b, void *arg)
{
	const struct model_sort_ctx	*ctx = arg;

	return model_row_compare(a, b, ctx->s, ctx->reverse);
}

/* Sort n rows by column s (ties by key, which is unique: a total order). */
void
model_rows_sort(struct model_row *rows, size_t n, enum model_sort s,
    int reverse)
{
	struct model_sort_ctx	ctx = { s, reverse };

	if (n > 1)
		qsort_r(rows, n, sizeof(*rows), model_rows_cmp, &ctx);
}
