/*
 * The Models view: the domain's models with their figures of the last
 * hour and their spend today (stats.get, asked beside model.list and
 * every few seconds while the view is shown), sorted by the column s
 * picks; Enter opens the model page (view-model.c), n deploys one
 * through a form whose pre-flight checklist (checklist.c) updates as it
 * is filled in, e edits it on its page, E enables or disables it, d
 * disables an active model or deletes an inactive one, after asking.
 * Runs on the main thread; every call goes through tui_call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

/* stats.get lists every model of the domain: as often as the header's. */
#define VIEW_MODELS_STATS_EVERY_MS	5000

/* What / matches: the words a row shows, and its model id. */
static const struct output_field view_models_columns[] = {
	{ "KEY",		"key",			OUTPUT_PLAIN },
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "PROVIDER",		"provider",		OUTPUT_PLAIN },
	{ "CATEGORY",		"category",		OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "MODEL-ID",		"model_id",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_models_list = {
	.method = "model.list",
	.columns = view_models_columns,
};

/* The columns drawn: the first MODEL_SORT_N are the sort's, in order. */
enum {
	MODELS_COL_MODEL_ID = MODEL_SORT_N,
	MODELS_NCOLUMNS
};

static const struct column view_models_table[MODELS_NCOLUMNS] = {
	/* The key takes the room left; under 80 the names shrink first. */
	[MODEL_SORT_KEY] =	{ "KEY",	8,	8,	0,	1 },
	[MODEL_SORT_NAME] =	{ "NAME",	6,	16,	3,	0 },
	[MODEL_SORT_PROVIDER] =	{ "PROVIDER",	8,	10,	2,	0 },
	[MODEL_SORT_CATEGORY] =	{ "CAT",	4,	9,	4,	0 },
	[MODEL_SORT_STATUS] =	{ "STATUS",	8,	8,	0,	0 },
	[MODEL_SORT_CALLS] =	{ "CALLS",	6,	6,	0,	0 },
	[MODEL_SORT_LATENCY] =	{ "P50",	5,	5,	0,	0 },
	[MODEL_SORT_ERRORS] =	{ "ERR%",	5,	5,	0,	0 },
	[MODEL_SORT_SPEND] =	{ "SPEND",	6,	7,	0,	0 },
	[MODEL_SORT_PRICE_IN] =	{ "IN/1M",	6,	7,	1,	0 },
	[MODEL_SORT_PRICE_OUT] = { "OUT/1M",	6,	7,	1,	0 },
	/* The long model id goes first. */
	[MODELS_COL_MODEL_ID] =	{ "MODEL-ID",	10,	16,	COLUMN_EXTRA, 0 },
};

/* The domain's per-model figures (stats.get's "models"), and the order. */
static struct {
	cJSON		*models;	/* array, or NULL */
	enum list_state	 state;
	unsigned	 gen;		/* tui->gen of models */
	int		 pending;
	unsigned	 pending_gen;
	int64_t		 asked_at;
	enum model_sort	 sort;
	int		 reverse;
} view_models_stats;

/* What the deploy form's checklist knows, asked when the form opens. */
static struct {
	struct form	*form;
	cJSON		*providers;
	cJSON		*served;
	char		 served_for[FORM_VALUE_MAX];
	char		 served_err[320];
} view_models_deploy;

static const char *const view_models_marks[] = {
	[CHECK_OK] = "ok  ",
	[CHECK_FAIL] = "FAIL",
	[CHECK_WARN] = "warn",
	[CHECK_PENDING] = "... ",
};

/* The stats entry of model key, among those held for the domain in view. */
const cJSON *
view_models_figures(const char *key)
{
	const cJSON	*m, *name;

	if (key == NULL)
		return NULL;
	cJSON_ArrayForEach(m, view_models_stats.models) {
		name = cJSON_GetObjectItemCaseSensitive(m, "model");
		if (cJSON_IsString(name) && strcmp(name->valuestring, key) == 0)
			return m;
	}
	return NULL;
}

/* How the figures stand: a list_state (unsupported: an older agent). */
int
view_models_stats_state(void)
{
	return (int)view_models_stats.state;
}

/*
 * Put the rows in the order asked, the selection staying on its model:
 * the array itself is reordered, so the selection, the filter and the
 * draw all see one order.
 */
static void
view_models_sort(struct tui *t)
{
	struct model_row	*rows;
	const cJSON		*sel, *key, *row;
	char			*selkey = NULL;
	cJSON			*item;
	size_t			 n, i;

	if (view_models_list.state != LIST_READY ||
	    (n = (size_t)cJSON_GetArraySize(view_models_list.items)) == 0)
		return;
	sel = list_selected(t, &view_models_list);
	key = cJSON_GetObjectItemCaseSensitive(sel, "key");
	if (cJSON_IsString(key))
		selkey = xstrdup(key->valuestring);
	rows = xcalloc(n, sizeof(*rows));
	i = 0;
	cJSON_ArrayForEach(item, view_models_list.items) {
		if (i == n)
			break;
		rows[i].model = item;
		key = cJSON_GetObjectItemCaseSensitive(item, "key");
		rows[i++].figures = view_models_figures(cJSON_IsString(key) ?
		    key->valuestring : NULL);
	}
	n = i;
	model_rows_sort(rows, n, view_models_stats.sort,
	    view_models_stats.reverse);
	for (i = 0; i < n; i++)
		cJSON_DetachItemViaPointer(view_models_list.items,
		    (cJSON *)rows[i].model);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(view_models_list.items,
		    (cJSON *)rows[i].model);
	free(rows);
	if (selkey == NULL)
		return;
	i = 0;
	cJSON_ArrayForEach(row, view_models_list.items) {
		if (!filter_match(tui_filter(t), row, view_models_columns))
			continue;
		key = cJSON_GetObjectItemCaseSensitive(row, "key");
		if (cJSON_IsString(key) && strcmp(key->valuestring,
		    selkey) == 0) {
			view_models_list.sel = i;
			break;
		}
		i++;
	}
	free(selkey);
}

static void
view_models_done(struct tui *t, struct host_reply *r)
{
	if (list_result(&view_models_list, r))
		view_models_sort(t);
}

static void
view_models_stats_done(struct tui *t, struct host_reply *r)
{
	const cJSON	*domain;
	cJSON		*models;

	view_models_stats.pending = 0;
	if (host_is_unsupported(r)) {
		view_models_stats.state = LIST_UNSUPPORTED;
		return;
	}
	domain = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->result,
	    "domains"), 0);
	if (r->status != RPC_CLIENT_OK || (models =
	    cJSON_DetachItemFromObjectCaseSensitive((cJSON *)domain,
	    "models")) == NULL) {
		view_models_stats.state = LIST_ERROR;
		return;
	}
	if (!cJSON_IsArray(models)) {
		cJSON_Delete(models);
		view_models_stats.state = LIST_ERROR;
		return;
	}
	cJSON_Delete(view_models_stats.models);
	view_models_stats.models = models;
	view_models_stats.state = LIST_READY;
	view_models_sort(t);
}

/*
 * Ask for the domain's figures when none is on its way (one that left
 * for another host or domain no longer counts) and the last ask is old
 * enough, or now when now is set. An older agent is not asked again.
 */
static void
view_models_stats_poll(struct tui *t, int now)
{
	int64_t	 ms = host_live_now();
	cJSON	*params;

	if (t->domain == NULL)
		return;
	if (view_models_stats.gen != t->gen) {
		cJSON_Delete(view_models_stats.models);
		view_models_stats.models = NULL;
		view_models_stats.state = LIST_EMPTY;
		view_models_stats.gen = t->gen;
		view_models_stats.asked_at = 0;
	}
	if (view_models_stats.state == LIST_UNSUPPORTED ||
	    (view_models_stats.pending &&
	    view_models_stats.pending_gen == t->gen))
		return;
	if (!now && view_models_stats.asked_at != 0 &&
	    ms - view_models_stats.asked_at < VIEW_MODELS_STATS_EVERY_MS)
		return;
	view_models_stats.asked_at = ms;
	view_models_stats.pending = 1;
	view_models_stats.pending_gen = t->gen;
	if (view_models_stats.state == LIST_EMPTY)
		view_models_stats.state = LIST_LOADING;
	params = tui_domain_params(t);
	tui_call(t, "stats.get", params, view_models_stats_done);
}

static void
view_models_refresh(struct tui *t)
{
	list_refresh(t, &view_models_list, tui_domain_params(t),
	    view_models_done);
	view_models_stats_poll(t, 1);
	if (view_model_active())
		view_model_refresh(t);
}

/* The model list, for the command line's Tab, unless held already. */
void
view_models_load(struct tui *t)
{
	if (t->domain == NULL || (view_models_list.gen == t->gen &&
	    view_models_list.state == LIST_READY))
		return;
	list_refresh(t, &view_models_list, tui_domain_params(t),
	    view_models_done);
}

/* The models of the domain in view, when held (an array), else NULL. */
const cJSON *
view_models_items(struct tui *t)
{
	if (view_models_list.gen != t->gen ||
	    view_models_list.state != LIST_READY)
		return NULL;
	return view_models_list.items;
}

/* Cell c of model m into buf, and its role. */
static enum draw_role
view_models_cell(const cJSON *m, size_t c, char *buf, size_t len)
{
	static const char *const paths[MODELS_NCOLUMNS] = {
		[MODEL_SORT_KEY] = "key",
		[MODEL_SORT_NAME] = "name",
		[MODEL_SORT_PROVIDER] = "provider",
		[MODEL_SORT_CATEGORY] = "category",
		[MODEL_SORT_STATUS] = "status",
		[MODEL_SORT_PRICE_IN] = "pricing.input",
		[MODEL_SORT_PRICE_OUT] = "pricing.output",
		[MODELS_COL_MODEL_ID] = "model_id",
	};
	const cJSON	*key, *fig, *v;
	double		 d;
	char		*s;

	buf[0] = '\0';
	if (paths[c] != NULL) {
		v = output_lookup(m, paths[c]);
		s = output_value(v, OUTPUT_PLAIN);
		snprintf(buf, len, "%s", s);
		free(s);
		if (c == MODEL_SORT_STATUS && cJSON_IsString(v) &&
		    strcmp(v->valuestring, "active") != 0)
			return ROLE_WARN;
		return ROLE_NORMAL;
	}
	key = cJSON_GetObjectItemCaseSensitive(m, "key");
	fig = view_models_figures(cJSON_IsString(key) ? key->valuestring :
	    NULL);
	if (fig == NULL) {
		/* Not asked yet: blank; an older agent, or no entry: "-". */
		snprintf(buf, len, "%s", view_models_stats.state ==
		    LIST_LOADING || view_models_stats.state == LIST_EMPTY ?
		    "" : "-");
		return ROLE_MUTED;
	}
	switch (c) {
	case MODEL_SORT_CALLS:
		d = model_figure(fig, "1h", "requests");
		if (d < 0)
			snprintf(buf, len, "-");
		else if (d < 1e6)
			snprintf(buf, len, "%.0f", d);
		else
			snprintf(buf, len, "%.0fk", d / 1000);
		break;
	case MODEL_SORT_LATENCY:
		human_ms(buf, len, model_figure(fig, "1h", "latency_p50_ms"));
		break;
	case MODEL_SORT_ERRORS:
		d = model_figure(fig, "1h", "error_rate");
		human_percent(buf, len, d);
		if (d > 0)
			return ROLE_ERROR;
		break;
	case MODEL_SORT_SPEND:
		v = cJSON_GetObjectItemCaseSensitive(fig, "spend_today_usd");
		human_usd(buf, len, cJSON_IsString(v) ? v->valuestring : NULL);
		break;
	}
	return ROLE_NORMAL;
}

/* The header cell of column c: its label, and the sort's mark on it. */
static void
view_models_label(size_t c, char *buf, size_t len)
{
	int	down, utf8 = strcmp(draw_ellipsis(), "...") != 0;

	if (c != (size_t)view_models_stats.sort) {
		snprintf(buf, len, "%s", view_models_table[c].label);
		return;
	}
	down = model_sort_numeric(view_models_stats.sort) !=
	    view_models_stats.reverse;
	snprintf(buf, len, "%s%s", view_models_table[c].label,
	    down ? (utf8 ? "\xe2\x86\x93" : "v") :
	    (utf8 ? "\xe2\x86\x91" : "^"));
}

/* The table: columns fitted to the width, the sort column marked. */
static void
view_models_table_draw(struct tui *t, int top, int rows)
{
	struct list	*l = &view_models_list;
	const cJSON	*row;
	enum draw_role	 role;
	char		 buf[256];
	int		 w[MODELS_NCOLUMNS], x, y, selected;
	size_t		 c, n, count;

	columns_fit(view_models_table, MODELS_NCOLUMNS, COLS - 2, w);
	for (c = 0, x = 1; c < MODELS_NCOLUMNS; c++) {
		if (w[c] == 0)
			continue;
		view_models_label(c, buf, sizeof(buf));
		draw_text(top, x, w[c], c == (size_t)view_models_stats.sort ?
		    ROLE_NORMAL : ROLE_MUTED, buf);
		x += w[c] + 1;
	}
	count = list_count(t, l);
	if (l->state != LIST_READY || count == 0) {
		if (l->state == LIST_ERROR)
			draw_text(top + 1, 1, COLS - 2, ROLE_ERROR, l->error);
		else if (l->state == LIST_UNSUPPORTED)
			draw_text(top + 1, 1, COLS - 2, ROLE_WARN, "not"
			    " supported by this agent (model.list)");
		else
			draw_fmt(top + 1, 1, COLS - 2, ROLE_MUTED, "%s",
			    l->state == LIST_READY ? "none" : "loading...");
		return;
	}
	if (l->sel >= count)
		l->sel = count - 1;
	rows--;		/* the header */
	if (l->sel < l->top)
		l->top = l->sel;
	if (rows > 0 && l->sel >= l->top + (size_t)rows)
		l->top = l->sel - rows + 1;
	n = 0;
	y = top + 1;
	cJSON_ArrayForEach(row, l->items) {
		if (!filter_match(tui_filter(t), row, view_models_columns))
			continue;
		if (n >= l->top && y < top + 1 + rows) {
			selected = n == l->sel;
			if (selected) {
				attrset(A_REVERSE);
				mvhline(y, 0, ' ', COLS);
				attrset(A_NORMAL);
			}
			for (c = 0, x = 1; c < MODELS_NCOLUMNS; c++) {
				if (w[c] == 0)
					continue;
				role = view_models_cell(row, c, buf,
				    sizeof(buf));
				draw_text(y, x, w[c], selected ?
				    ROLE_SELECTED : role, buf);
				x += w[c] + 1;
			}
			y++;
		}
		n++;
	}
}

static void
view_models_draw(struct tui *t, int top, int rows)
{
	view_models_stats_poll(t, 0);
	if (view_model_active())
		view_model_draw(t, top, rows);
	else
		view_models_table_draw(t, top, rows);
}

/* The checklist's input from the form and what the host said. */
static int
view_models_check(struct form *f, struct check *checks)
{
	struct checklist_input	in;
	const char		*provider = form_value(f, "provider");

	memset(&in, 0, sizeof(in));
	in.providers = view_models_deploy.providers;
	in.provider = provider;
	if (strcmp(view_models_deploy.served_for, provider) == 0) {
		in.served = view_models_deploy.served;
		if (view_models_deploy.served_err[0] != '\0')
			in.served_err = view_models_deploy.served_err;
	}
	in.models = view_models_list.state == LIST_READY ?
	    view_models_list.items : NULL;
	in.name = form_value(f, "name");
	in.model_id = form_value(f, "model_id");
	in.key = form_value(f, "key");
	in.price_input = form_value(f, "price_input");
	in.price_output = form_value(f, "price_output");
	in.price_cached = form_value(f, "price_cached");
	in.free_ok = form_get(f, "free")->on;
	return checklist_eval(&in, checks);
}

static void
view_models_checklist_draw(struct tui *t, struct form *f, int y, int x)
{
	struct check	checks[CHECKLIST_SIZE];
	size_t		i;
	int		w = (COLS < 76 ? COLS : 76) - 4;

	(void)t;
	view_models_check(f, checks);
	draw_text(y++, x, w, ROLE_MUTED, "pre-flight");
	for (i = 0; i < CHECKLIST_SIZE; i++, y++) {
		draw_fmt(y, x, 6, draw_check_role(checks[i].state), "[%s]",
		    view_models_marks[checks[i].state]);
		draw_fmt(y, x + 7, w - 7, ROLE_NORMAL, "%-16s %s",
		    checks[i].name, checks[i].why);
	}
}

static void
view_models_served_done(struct tui *t, struct host_reply *r)
{
	const cJSON	*models;

	(void)t;
	cJSON_Delete(view_models_deploy.served);
	view_models_deploy.served = NULL;
	view_models_deploy.served_err[0] = '\0';
	models = cJSON_GetObjectItemCaseSensitive(r->result, "models");
	if (r->status == RPC_CLIENT_OK && cJSON_IsArray(models))
		view_models_deploy.served = cJSON_Duplicate(models, 1);
	else
		snprintf(view_models_deploy.served_err,
		    sizeof(view_models_deploy.served_err), "%s",
		    r->status == RPC_CLIENT_OK ? "unexpected reply" : r->err);
}

/* A new provider picked: ask its backend what it serves. */
static void
view_models_changed(struct tui *t, struct form *f)
{
	const char	*provider = form_value(f, "provider");
	cJSON		*params;

	if (*provider == '\0' ||
	    strcmp(view_models_deploy.served_for, provider) == 0)
		return;
	snprintf(view_models_deploy.served_for,
	    sizeof(view_models_deploy.served_for), "%s", provider);
	cJSON_Delete(view_models_deploy.served);
	view_models_deploy.served = NULL;
	view_models_deploy.served_err[0] = '\0';
	params = tui_domain_params(t);
	cJSON_AddStringToObject(params, "name", provider);
	tui_call(t, "provider.models", params, view_models_served_done);
}

static void
view_models_providers_done(struct tui *t, struct host_reply *r)
{
	struct form	*f = view_models_deploy.form;

	if (f != t->form || r->status != RPC_CLIENT_OK ||
	    !cJSON_IsArray(r->result))
		return;
	cJSON_Delete(view_models_deploy.providers);
	view_models_deploy.providers = r->result;
	r->result = NULL;
	form_set_choices(form_get(f, "provider"),
	    view_models_deploy.providers, form_value(f, "provider"));
	view_models_changed(t, f);
}

/* A write that replies with the model: close the form, show warnings. */
static void
view_models_written(struct tui *t, struct host_reply *r, const char *what)
{
	const cJSON	*key, *warn;

	if (t->form != NULL && t->form == view_models_deploy.form) {
		if (r->status != RPC_CLIENT_OK) {
			t->form->busy = 0;
			snprintf(t->form->error, sizeof(t->form->error), "%s",
			    r->err);
			return;
		}
		tui_form_close(t);
		view_models_deploy.form = NULL;
	} else if (r->status != RPC_CLIENT_OK) {
		tui_reply_error(t, what, r);
		return;
	}
	key = cJSON_GetObjectItemCaseSensitive(r->result, "key");
	warn = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->result,
	    "warnings"), 0);
	if (cJSON_IsString(warn))
		tui_message(t, ROLE_WARN, "%s: %s", what, warn->valuestring);
	else
		tui_message(t, ROLE_OK, "%s %s", what, cJSON_IsString(key) ?
		    key->valuestring : "");
	view_models_refresh(t);
}

static void
view_models_deploy_done(struct tui *t, struct host_reply *r)
{
	view_models_written(t, r, "deployed");
}

static void
view_models_deploy_submit(struct tui *t, struct form *f)
{
	struct check	 checks[CHECKLIST_SIZE];
	cJSON		*params;

	if (!view_models_check(f, checks)) {
		snprintf(f->error, sizeof(f->error), "pre-flight: not every"
		    " check passes yet");
		return;
	}
	params = form_params(f);
	cJSON_AddStringToObject(params, "domain", t->domain);
	f->busy = 1;
	tui_call(t, "model.deploy", params, view_models_deploy_done);
}

static void
view_models_new(struct tui *t)
{
	struct form	*f;

	f = form_new("deploy a model", CHECKLIST_SIZE + 1);
	form_add(f, "provider", "provider", FORM_CHOICE);
	form_add(f, "name", "name", FORM_TEXT);
	form_add(f, "model id", "model_id", FORM_TEXT);
	form_add(f, "key (or auto)", "key", FORM_TEXT);
	form_add(f, "price in", "price_input", FORM_TEXT);
	form_add(f, "price out", "price_output", FORM_TEXT);
	form_add(f, "price cached", "price_cached", FORM_TEXT);
	form_add(f, "free", NULL, FORM_BOOL);
	f->submit = view_models_deploy_submit;
	f->changed = view_models_changed;
	f->draw = view_models_checklist_draw;
	view_models_deploy.form = f;
	view_models_deploy.served_for[0] = '\0';
	tui_form(t, f);
	tui_call(t, "provider.list", tui_domain_params(t),
	    view_models_providers_done);
	/* The key check needs every model's key. */
	view_models_refresh(t);
}

static void
view_models_act_done(struct tui *t, struct host_reply *r)
{
	const char	*ok = cJSON_HasObjectItem(r->result, "deleted") ?
	    "model deleted" : "model disabled";
	const cJSON	*status;

	status = cJSON_GetObjectItemCaseSensitive(r->result, "status");
	if (cJSON_IsString(status) && strcmp(status->valuestring,
	    "active") == 0)
		ok = "model enabled";
	tui_reply_report(t, r, "model", ok);
	view_models_refresh(t);
}

static void
view_models_act(struct tui *t, const char *method, const char *key)
{
	cJSON	*params = tui_domain_params(t);

	cJSON_AddStringToObject(params, "key", key);
	tui_call(t, method, params, view_models_act_done);
}

static void
view_models_disable(struct tui *t, const char *key)
{
	view_models_act(t, "model.disable", key);
}

static void
view_models_delete(struct tui *t, const char *key)
{
	view_models_act(t, "model.delete", key);
}

/* s, S: the next sort column, or the other way round. */
static void
view_models_sort_key(struct tui *t, int reverse)
{
	if (reverse)
		view_models_stats.reverse = !view_models_stats.reverse;
	else {
		view_models_stats.sort = (view_models_stats.sort + 1) %
		    MODEL_SORT_N;
		view_models_stats.reverse = 0;
	}
	view_models_sort(t);
	tui_message(t, ROLE_NORMAL, "sorted by %s, %s first",
	    model_sort_name(view_models_stats.sort),
	    (model_sort_numeric(view_models_stats.sort) !=
	    view_models_stats.reverse) ?
	    (model_sort_numeric(view_models_stats.sort) ? "highest" : "Z") :
	    (model_sort_numeric(view_models_stats.sort) ? "lowest" : "A"));
}

static int
view_models_key(struct tui *t, int ch)
{
	const cJSON	*m = list_selected(t, &view_models_list);
	const cJSON	*key, *status;
	char		 q[256];

	if (view_model_active())
		return 0;	/* the page's keys were offered first */
	key = cJSON_GetObjectItemCaseSensitive(m, "key");
	status = cJSON_GetObjectItemCaseSensitive(m, "status");
	switch (ch) {
	case 'n':
		view_models_new(t);
		return 1;
	case 's':
		view_models_sort_key(t, 0);
		return 1;
	case 'S':
		view_models_sort_key(t, 1);
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (cJSON_IsString(key))
			view_model_open(t, key->valuestring, 0);
		return 1;
	case 'e':
		if (cJSON_IsString(key))
			view_model_open(t, key->valuestring, 1);
		return 1;
	case 'p':
		if (cJSON_IsString(key))
			playground_open(t, key->valuestring);
		return 1;
	case 'E':
		if (!cJSON_IsString(key))
			return 1;
		if (!cJSON_IsString(status) ||
		    strcmp(status->valuestring, "active") != 0) {
			view_models_act(t, "model.enable", key->valuestring);
			return 1;
		}
		/* disabling asks, as d does */
		/* FALLTHROUGH */
	case 'd':
		if (!cJSON_IsString(key))
			return 1;
		if (cJSON_IsString(status) &&
		    strcmp(status->valuestring, "active") == 0) {
			snprintf(q, sizeof(q), "Disable model %s? Clients get"
			    " 403 model_inactive.", key->valuestring);
			tui_confirm(t, q, key->valuestring,
			    view_models_disable);
		} else {
			snprintf(q, sizeof(q), "Delete model %s for good?",
			    key->valuestring);
			tui_confirm(t, q, key->valuestring, view_models_delete);
		}
		return 1;
	}
	return list_key(t, &view_models_list, ch);
}

/* Another view: the page over this one closes. */
static void
view_models_leave(struct tui *t)
{
	(void)t;
	view_model_close();
}

const struct view_ops view_models_ops = {
	.name = "Models",
	.needs_domain = 1,
	.refresh = view_models_refresh,
	.draw = view_models_draw,
	.key = view_models_key,
	.leave = view_models_leave,
};

/* A jump from elsewhere (a trace's m): select model key when listed. */
void
view_models_select(struct tui *t, const char *key)
{
	list_want(&view_models_list, "key", key);
	list_apply_want(t, &view_models_list);
}
