/*
 * The model page, over the Models view (Enter on a model, :model KEY):
 * tabs from one table (Overview, Configure, Logs, Usage; Tab, Shift-Tab
 * or their digit switch, Esc goes back; a digit past them switches views). Overview shows the model's
 * figures, settings, last calls and a ready-to-paste curl (c copies it);
 * Configure edits every field model.edit takes in a form, sending only
 * what changed; Logs lists its traces; Usage its totals. Runs on the main
 * thread; every call goes through tui_call, so nothing here waits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

#define VIEW_MODEL_RECENT	5	/* Overview's last calls */
#define VIEW_MODEL_LOGS		200	/* the Logs tab's */
#define VIEW_MODEL_NUSAGE	3
#define VIEW_MODEL_KEY_MAX	160

struct view_model_tab {
	const char	*name;
	/* Ask for what the tab shows; may be NULL. */
	void		(*refresh)(struct tui *);
	void		(*draw)(struct tui *, int, int);
	/* A key the page did not take; 1 when used. May be NULL. */
	int		(*key)(struct tui *, int);
	/* The tab is switched to (not on each refresh); may be NULL. */
	void		(*enter)(struct tui *);
};

static void	view_model_overview_refresh(struct tui *);
static void	view_model_overview_draw(struct tui *, int, int);
static int	view_model_overview_key(struct tui *, int);
static void	view_model_configure_refresh(struct tui *);
static void	view_model_configure_draw(struct tui *, int, int);
static int	view_model_configure_key(struct tui *, int);
static void	view_model_logs_refresh(struct tui *);
static void	view_model_logs_draw(struct tui *, int, int);
static int	view_model_logs_key(struct tui *, int);
static void	view_model_usage_refresh(struct tui *);
static void	view_model_usage_draw(struct tui *, int, int);
static void	view_model_playground_draw(struct tui *, int, int);
static int	view_model_playground_key(struct tui *, int);
static void	view_model_playground_enter(struct tui *);

/* The tabs, on keys 1 up, in this order: one more is one more line. */
static const struct view_model_tab view_model_tabs[] = {
	{ "Overview", view_model_overview_refresh, view_model_overview_draw,
	  view_model_overview_key, NULL },
	{ "Configure", view_model_configure_refresh,
	  view_model_configure_draw, view_model_configure_key, NULL },
	{ "Logs", view_model_logs_refresh, view_model_logs_draw,
	  view_model_logs_key, NULL },
	{ "Usage", view_model_usage_refresh, view_model_usage_draw, NULL,
	  NULL },
	{ "Playground", NULL, view_model_playground_draw,
	  view_model_playground_key, view_model_playground_enter },
};

#define VIEW_MODEL_NTABS	(sizeof(view_model_tabs) / sizeof(view_model_tabs[0]))

/* The usage ranges of the Usage tab (usage.get's since). */
static const struct {
	const char	*since;
	const char	*label;
} view_model_ranges[VIEW_MODEL_NUSAGE] = {
	{ "24h", "last 24 hours" },
	{ "7d", "last 7 days" },
	{ "30d", "last 30 days" },
};

/* What Configure edits: each field of model.edit, and where it is now. */
static const struct {
	const char	*label;
	const char	*param;
	enum form_type	 type;
	const char	*path;
} view_model_fields[] = {
	{ "name",		"name",		FORM_TEXT,	"name" },
	{ "category",		"category",	FORM_CHOICE,	"category" },
	{ "status",		"status",	FORM_CHOICE,	"status" },
	{ "price in",		"price_input",	FORM_TEXT,	"pricing.input" },
	{ "price out",		"price_output",	FORM_TEXT,	"pricing.output" },
	{ "price cached",	"price_cached",	FORM_TEXT,	"pricing.cached" },
	{ "temperature",	"temperature",	FORM_TEXT,
	  "settings.temperature" },
	{ "max tokens",		"max_tokens",	FORM_TEXT,
	  "settings.max_tokens" },
	{ "system prompt",	"system_prompt", FORM_TEXT,
	  "settings.system_prompt" },
	{ "guardrails in",	"guard_in",	FORM_CHOICE,	"guardrails.input" },
	{ "guardrails out",	"guard_out",	FORM_CHOICE,
	  "guardrails.output" },
	{ "tools",		"tools",	FORM_BOOL,	"capabilities.tools" },
	{ "vision",		"vision",	FORM_BOOL,
	  "capabilities.vision" },
	{ "description",	"description",	FORM_TEXT,	"description" },
};

#define VIEW_MODEL_NFIELDS	(sizeof(view_model_fields) / sizeof(view_model_fields[0]))
#define VIEW_MODEL_NONE		"(none)"

/* A trace as the Logs tab's Enter shows it: every field. */
static const struct output_field view_model_trace_fields[] = {
	{ "id",			"id",			OUTPUT_PLAIN },
	{ "request id",		"request_id",		OUTPUT_PLAIN },
	{ "time",		"time",			OUTPUT_PLAIN },
	{ "model",		"model",		OUTPUT_PLAIN },
	{ "model id",		"model_id",		OUTPUT_PLAIN },
	{ "provider",		"provider",		OUTPUT_PLAIN },
	{ "token",		"token_id",		OUTPUT_PLAIN },
	{ "route",		"route",		OUTPUT_PLAIN },
	{ "status",		"status",		OUTPUT_PLAIN },
	{ "error",		"error",		OUTPUT_PLAIN },
	{ "rejected step",	"rejected_step",	OUTPUT_PLAIN },
	{ "latency ms",		"latency_ms",		OUTPUT_PLAIN },
	{ "ttft ms",		"ttft_ms",		OUTPUT_PLAIN },
	{ "prompt tokens",	"prompt_tokens",	OUTPUT_PLAIN },
	{ "completion tokens",	"completion_tokens",	OUTPUT_PLAIN },
	{ "cached tokens",	"cached_tokens",	OUTPUT_PLAIN },
	{ "estimated",		"estimated",		OUTPUT_YESNO },
	{ "cost usd",		"cost_usd",		OUTPUT_PLAIN },
	{ "stream",		"stream",		OUTPUT_YESNO },
	{ "cancelled",		"cancelled",		OUTPUT_YESNO },
	{ "guardrails",		"guardrails",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct {
	int		 open;
	unsigned	 gen;		/* tui->gen when opened */
	char		 key[VIEW_MODEL_KEY_MAX];
	size_t		 tab;
	cJSON		*model;		/* model.show */
	char		 error[320];
	cJSON		*recent;	/* Overview's logs.list */
	cJSON		*guardrails;	/* guardrail.list */
	cJSON		*logs;		/* the Logs tab's */
	int		 logs_state;	/* enum list_state */
	char		 logs_error[320];
	size_t		 logs_sel;
	size_t		 logs_top;
	cJSON		*usage[VIEW_MODEL_NUSAGE];	/* this model's rows */
	int		 usage_state;
	char		 usage_error[320];
	int		 edit;		/* open the form when the model comes */
	struct form	*form;		/* Configure's, while open */
	char		 orig[VIEW_MODEL_NFIELDS][FORM_VALUE_MAX];
} view_model;

int
view_model_active(void)
{
	return view_model.open;
}

void
view_model_close(void)
{
	size_t	i;

	cJSON_Delete(view_model.model);
	cJSON_Delete(view_model.recent);
	cJSON_Delete(view_model.guardrails);
	cJSON_Delete(view_model.logs);
	for (i = 0; i < VIEW_MODEL_NUSAGE; i++)
		cJSON_Delete(view_model.usage[i]);
	memset(&view_model, 0, sizeof(view_model));
}

/* {"domain": D, "key"/"model": KEY}, for the model in view. */
static cJSON *
view_model_params(struct tui *t, const char *name)
{
	cJSON	*params = tui_domain_params(t);

	if (params == NULL)
		params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, name, view_model.key);
	return params;
}

/* A reply for the page as it is now (not one of an earlier page's). */
static int
view_model_current(struct tui *t)
{
	return view_model.open && view_model.gen == t->gen;
}

/* An array's items of this model only (a reply is the agent's word). */
static cJSON *
view_model_only(cJSON *array)
{
	cJSON		*item, *next;
	const cJSON	*m;

	if (!cJSON_IsArray(array))
		return array;
	for (item = array->child; item != NULL; item = next) {
		next = item->next;
		m = cJSON_GetObjectItemCaseSensitive(item, "model");
		if (!cJSON_IsString(m) || strcmp(m->valuestring,
		    view_model.key) != 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(array, item));
	}
	return array;
}

/* --- the model, and the page ------------------------------------------- */

static void	view_model_edit(struct tui *);

static void
view_model_show_done(struct tui *t, struct host_reply *r)
{
	const cJSON	*key;

	if (!view_model_current(t))
		return;
	key = cJSON_GetObjectItemCaseSensitive(r->result, "key");
	if (r->status != RPC_CLIENT_OK || !cJSON_IsString(key)) {
		snprintf(view_model.error, sizeof(view_model.error), "%s",
		    r->status == RPC_CLIENT_OK ? "unexpected reply" : r->err);
		return;
	}
	if (strcmp(key->valuestring, view_model.key) != 0)
		return;		/* an earlier page's */
	view_model.error[0] = '\0';
	cJSON_Delete(view_model.model);
	view_model.model = r->result;
	r->result = NULL;
	if (view_model.edit && t->form == NULL && t->modal.kind ==
	    MODAL_NONE) {
		view_model.edit = 0;
		view_model_edit(t);
	}
}

static void
view_model_guardrails_done(struct tui *t, struct host_reply *r)
{
	if (!view_model_current(t) || r->status != RPC_CLIENT_OK ||
	    !cJSON_IsArray(r->result))
		return;
	cJSON_Delete(view_model.guardrails);
	view_model.guardrails = r->result;
	r->result = NULL;
}

/* Ask for the model, and for what the tab in view shows. */
void
view_model_refresh(struct tui *t)
{
	if (!view_model_current(t))
		return;
	tui_call(t, "model.show", view_model_params(t, "key"),
	    view_model_show_done);
	if (view_model_tabs[view_model.tab].refresh != NULL)
		(*view_model_tabs[view_model.tab].refresh)(t);
}

/* Open the page of model key (edit: on Configure, its form open). */
void
view_model_open(struct tui *t, const char *key, int edit)
{
	if (strlen(key) >= sizeof(view_model.key) || *key == '\0') {
		tui_message(t, ROLE_ERROR, "model: not a model key");
		return;
	}
	view_model_close();
	view_model.open = 1;
	view_model.gen = t->gen;
	snprintf(view_model.key, sizeof(view_model.key), "%s", key);
	view_model.tab = edit ? 1 : 0;
	view_model.edit = edit;
	/* Configure's choices, asked now so the form has them. */
	tui_call(t, "guardrail.list", tui_domain_params(t),
	    view_model_guardrails_done);
	view_model_refresh(t);
}

static void
view_model_switch(struct tui *t, size_t tab)
{
	if (tab >= VIEW_MODEL_NTABS)
		return;
	view_model.tab = tab;
	if (view_model_tabs[tab].refresh != NULL)
		(*view_model_tabs[tab].refresh)(t);
	if (view_model_tabs[tab].enter != NULL)
		(*view_model_tabs[tab].enter)(t);
}

/* The page's keys, offered before every view's (Tab, digits, Esc). */
int
view_model_key(struct tui *t, int ch)
{
	const struct view_model_tab	*tab;

	if (!view_model.open)
		return 0;
	if (view_model.gen != t->gen) {
		view_model_close();	/* another host or domain */
		return 0;
	}
	tab = &view_model_tabs[view_model.tab];
	switch (ch) {
	case 27:
		view_model_close();
		return 1;
	case '\t':
		view_model_switch(t, (view_model.tab + 1) % VIEW_MODEL_NTABS);
		return 1;
	case KEY_BTAB:
		view_model_switch(t, (view_model.tab + VIEW_MODEL_NTABS - 1) %
		    VIEW_MODEL_NTABS);
		return 1;
	}
	/* A digit past the tabs is the view's, as everywhere. */
	if (ch >= '1' && (size_t)(ch - '1') < VIEW_MODEL_NTABS) {
		view_model_switch(t, (size_t)(ch - '1'));
		return 1;
	}
	return tab->key != NULL ? tab->key(t, ch) : 0;
}

/* The page's head: the model, the domain, the tabs. */
static void
view_model_head(struct tui *t, int y)
{
	size_t	i;
	int	x;

	x = (int)strlen(view_model.key);
	if (x > COLS / 3)
		x = COLS / 3;
	draw_text(y, 1, x, ROLE_NORMAL, view_model.key);
	x++;
	for (i = 0; i < VIEW_MODEL_NTABS && x < COLS; i++) {
		draw_fmt(y, x + 1, COLS - x - 1, i == view_model.tab ?
		    ROLE_SELECTED : ROLE_MUTED, i == view_model.tab ?
		    "[%zu %s]" : " %zu %s ", i + 1, view_model_tabs[i].name);
		x += (int)strlen(view_model_tabs[i].name) + 5;
	}
	if (x + 9 < COLS)
		draw_text(y, COLS - 9, 9, ROLE_MUTED, "Esc back");
	(void)t;
}

void
view_model_draw(struct tui *t, int top, int rows)
{
	if (!view_model.open)
		return;
	if (view_model.gen != t->gen) {
		view_model_close();
		return;
	}
	view_model_head(t, top);
	if (view_model.error[0] != '\0') {
		draw_fmt(top + 1, 1, COLS - 2, ROLE_ERROR, "model %s: %s",
		    view_model.key, view_model.error);
		top++;
		rows--;
	}
	if (view_model.model == NULL && view_model.error[0] == '\0') {
		draw_fmt(top + 2, 1, COLS - 2, ROLE_MUTED, "loading%s",
		    draw_ellipsis());
		return;
	}
	view_model_tabs[view_model.tab].draw(t, top + 1, rows - 1);
}

/* --- Overview --------------------------------------------------------- */

static void
view_model_recent_done(struct tui *t, struct host_reply *r)
{
	if (!view_model_current(t) || r->status != RPC_CLIENT_OK ||
	    !cJSON_IsArray(r->result))
		return;
	cJSON_Delete(view_model.recent);
	view_model.recent = view_model_only(r->result);
	r->result = NULL;
}

static void
view_model_overview_refresh(struct tui *t)
{
	cJSON	*params = view_model_params(t, "model");

	cJSON_AddNumberToObject(params, "limit", VIEW_MODEL_RECENT);
	tui_call(t, "logs.list", params, view_model_recent_done);
}

/* The curl line for this model on the host in view; -1 when not known. */
static int
view_model_curl(struct tui *t, char *buf, size_t len)
{
	struct host		*h = tui_host(t);
	struct host_tls		 tls;
	struct model_curl	 in;
	const cJSON		*cat, *mode;

	if (h->status == NULL || t->domain == NULL)
		return -1;
	host_tls_read(h->status, time(NULL), &tls);
	memset(&in, 0, sizeof(in));
	in.listen = tls.listen;
	in.host = h->name;
	in.tls = tls.state == HOST_TLS_ON;
	mode = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(h->status, "tls"), "mode");
	in.insecure = cJSON_IsString(mode) &&
	    strcmp(mode->valuestring, "generated") == 0;
	in.spki = tls.spki[0] != '\0' ? tls.spki : NULL;
	in.domain = t->domain;
	in.key = view_model.key;
	cat = cJSON_GetObjectItemCaseSensitive(view_model.model, "category");
	in.embedding = cJSON_IsString(cat) &&
	    strcmp(cat->valuestring, "embedding") == 0;
	return model_curl_line(&in, buf, len);
}

/* A value of the model as text ("-" when null or missing). */
static char *
view_model_value(const char *path)
{
	const cJSON	*v = output_lookup(view_model.model, path);

	if (v == NULL || cJSON_IsNull(v))
		return xstrdup("-");
	return output_value(v, OUTPUT_PLAIN);
}

/* Guardrail keys as "a,b", or "" for none. */
static char *
view_model_keys(const char *path)
{
	const cJSON	*v = output_lookup(view_model.model, path), *k;
	char		*s = NULL, *n;

	cJSON_ArrayForEach(k, v) {
		if (!cJSON_IsString(k))
			continue;
		xasprintf(&n, "%s%s%s", s != NULL ? s : "", s != NULL ? "," :
		    "", k->valuestring);
		free(s);
		s = n;
	}
	return s != NULL ? s : xstrdup("");
}

/* A value of the model as a form holds it: "" when null or missing. */
static void
view_model_raw(const char *path, char *buf, size_t len)
{
	const cJSON	*v = output_lookup(view_model.model, path);

	buf[0] = '\0';
	if (cJSON_IsString(v))
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v) && v->valuedouble > -1e15 &&
	    v->valuedouble < 1e15 &&
	    v->valuedouble == (double)(long long)v->valuedouble)
		snprintf(buf, len, "%.0f", v->valuedouble);
	else if (cJSON_IsNumber(v))
		snprintf(buf, len, "%g", v->valuedouble);
	else if (cJSON_IsTrue(v))
		snprintf(buf, len, "yes");
}

/* Text wrapped at blanks into width columns from y; the rows it took. */
static int
view_model_wrap(const char *s, int y, int width, int max, enum draw_role role)
{
	size_t	len = strlen(s), n, cut;
	int	rows = 0;

	while (len > 0 && rows < max && width > 0) {
		n = len;
		if (n > (size_t)width) {
			for (cut = (size_t)width; cut > 0 && s[cut] != ' ';
			    cut--)
				;
			n = cut > 0 ? cut : (size_t)width;
		}
		draw_fmt(y + rows, 1, width + 1, role, " %.*s", (int)n, s);
		rows++;
		s += n;
		len -= n;
		while (*s == ' ') {
			s++;
			len--;
		}
	}
	return rows;
}

/* A count, 0 for none. */
static double
view_model_count(double d)
{
	return d > 0 ? d : 0;
}

/* Traces as table rows from y: time, status, latency, cost, error. */
static void
view_model_traces(const cJSON *traces, size_t from, size_t sel, int y,
    int rows, int selecting)
{
	const cJSON	*tr;
	char		*v[7];
	size_t		 i, n = 0;
	static const char *const paths[7] = { "time", "status", "latency_ms",
	    "prompt_tokens", "completion_tokens", "cost_usd", "error" };
	int		 selected;

	draw_fmt(y++, 1, COLS - 2, ROLE_MUTED, "%-24s %-6s %-7s %-6s %-6s"
	    " %-10s %s", "TIME", "STATUS", "MS", "IN", "OUT", "COST", "ERROR");
	rows--;
	cJSON_ArrayForEach(tr, traces) {
		if (n++ < from)
			continue;
		if (rows-- <= 0)
			break;
		selected = selecting && n - 1 == sel;
		if (selected) {
			attrset(A_REVERSE);
			mvhline(y, 0, ' ', COLS);
			attrset(A_NORMAL);
		}
		for (i = 0; i < 7; i++)
			v[i] = output_value(output_lookup(tr, paths[i]),
			    OUTPUT_PLAIN);
		draw_fmt(y++, 1, COLS - 2, selected ? ROLE_SELECTED :
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(tr,
		    "error")) ? ROLE_ERROR : ROLE_NORMAL,
		    "%-24.24s %-6.6s %-7.7s %-6.6s %-6.6s %-10.10s %s", v[0],
		    v[1], v[2], v[3], v[4], v[5], v[6]);
		for (i = 0; i < 7; i++)
			free(v[i]);
	}
}

static void
view_model_overview_draw(struct tui *t, int top, int rows)
{
	const cJSON	*fig = view_models_figures(view_model.key);
	char		 a[16], b[16], c[16], d[16], curl[MODEL_CURL_MAX];
	char		*s[8];
	int		 y = top, end = top + rows;
	size_t		 i;

	s[0] = view_model_value("name");
	s[1] = view_model_value("provider");
	s[2] = view_model_value("model_id");
	s[3] = view_model_value("category");
	s[4] = view_model_value("status");
	draw_fmt(y++, 1, COLS - 2, ROLE_NORMAL, "%s%sprovider %s%sid %s%s%s"
	    "%s%s", s[0], draw_dot(), s[1], draw_dot(), s[2], draw_dot(),
	    s[3], draw_dot(), s[4]);
	for (i = 0; i < 5; i++)
		free(s[i]);

	/* The figures: stats.get's, of the last minute, 5 and 60. */
	if (fig == NULL)
		draw_text(y++, 1, COLS - 2, ROLE_MUTED,
		    view_models_stats_state() == LIST_UNSUPPORTED ?
		    "calls  - (this agent has no stats.get)" : "calls  -");
	else {
		human_ms(a, sizeof(a), model_figure(fig, "1h",
		    "latency_p50_ms"));
		human_ms(b, sizeof(b), model_figure(fig, "1h",
		    "latency_p99_ms"));
		human_ms(c, sizeof(c), model_figure(fig, "1h", "ttft_p50_ms"));
		human_ms(d, sizeof(d), model_figure(fig, "1h", "ttft_p99_ms"));
		draw_fmt(y++, 1, COLS - 2, ROLE_NORMAL, "calls  1m %.0f  5m %.0f"
		    "  1h %.0f%sp50 %s p99 %s%sttft p50/p99 %s/%s",
		    view_model_count(model_figure(fig, "1m", "requests")),
		    view_model_count(model_figure(fig, "5m", "requests")),
		    view_model_count(model_figure(fig, "1h", "requests")), draw_dot(),
		    a, b, draw_dot(), c, d);
		human_percent(a, sizeof(a), model_figure(fig, "1h",
		    "error_rate"));
		human_usd(b, sizeof(b), cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(fig, "spend_today_usd")));
		draw_fmt(y++, 1, COLS - 2, model_figure(fig, "1h",
		    "error_rate") > 0 ? ROLE_ERROR : ROLE_NORMAL,
		    "errors 1h %s%sspend today %s", a, draw_dot(), b);
	}
	s[0] = view_model_value("pricing.input");
	s[1] = view_model_value("pricing.output");
	s[2] = view_model_value("pricing.cached");
	draw_fmt(y++, 1, COLS - 2, ROLE_NORMAL, "prices per 1M tokens  in %s"
	    "  out %s  cached %s", s[0], s[1], s[2]);
	for (i = 0; i < 3; i++)
		free(s[i]);
	s[0] = view_model_value("settings.temperature");
	s[1] = view_model_value("settings.max_tokens");
	s[2] = view_model_value("settings.system_prompt");
	s[2][strcspn(s[2], "\r\n")] = '\0';	/* cut to a line */
	draw_fmt(y++, 1, COLS - 2, ROLE_NORMAL, "temperature %s  max_tokens"
	    " %s  system %s", s[0], s[1], s[2]);
	for (i = 0; i < 3; i++)
		free(s[i]);
	s[0] = view_model_keys("guardrails.input");
	s[1] = view_model_keys("guardrails.output");
	s[2] = output_value(output_lookup(view_model.model,
	    "capabilities.tools"), OUTPUT_YESNO);
	s[3] = output_value(output_lookup(view_model.model,
	    "capabilities.vision"), OUTPUT_YESNO);
	draw_fmt(y++, 1, COLS - 2, ROLE_NORMAL, "guardrails in %s  out %s%s"
	    "tools %s  vision %s", *s[0] != '\0' ? s[0] : "-",
	    *s[1] != '\0' ? s[1] : "-", draw_dot(), s[2], s[3]);
	for (i = 0; i < 4; i++)
		free(s[i]);
	s[0] = view_model_value("description");
	draw_fmt(y++, 1, COLS - 2, ROLE_MUTED, "%s", s[0]);
	free(s[0]);

	y++;
	draw_text(y++, 1, COLS - 2, ROLE_MUTED, "curl (c copies; CUBE_TOKEN"
	    " holds a token of the domain):");
	if (view_model_curl(t, curl, sizeof(curl)) == -1)
		draw_text(y++, 1, COLS - 2, ROLE_MUTED, " (no inference"
		    " address in the agent's status yet)");
	else
		y += view_model_wrap(curl, y, COLS - 3, 5, ROLE_NORMAL);
	if (y + 2 < end) {
		y++;
		draw_text(y++, 1, COLS - 2, ROLE_MUTED, "last calls");
		if (cJSON_GetArraySize(view_model.recent) == 0)
			draw_text(y, 1, COLS - 2, ROLE_MUTED, " none");
		else
			view_model_traces(view_model.recent, 0, 0, y, end - y,
			    0);
	}
}

static int
view_model_overview_key(struct tui *t, int ch)
{
	char	curl[MODEL_CURL_MAX];

	if (ch != 'c')
		return 0;
	if (view_model_curl(t, curl, sizeof(curl)) == -1)
		tui_message(t, ROLE_WARN, "curl: no inference address yet");
	else if (clipboard_copy(curl) == 0)
		tui_message(t, ROLE_OK, "curl copied (OSC 52)");
	else
		tui_message(t, ROLE_ERROR, "curl: too long to copy");
	return 1;
}

/* --- Configure -------------------------------------------------------- */

static void
view_model_configure_refresh(struct tui *t)
{
	tui_call(t, "guardrail.list", tui_domain_params(t),
	    view_model_guardrails_done);
}

/* A breaker's colour: open red, half open amber, closed green. */
static enum draw_role
view_model_breaker_role(const char *state)
{
	if (strcmp(state, "open") == 0)
		return ROLE_ERROR;
	if (strcmp(state, "half_open") == 0)
		return ROLE_WARN;
	if (strcmp(state, "closed") == 0)
		return ROLE_OK;
	return ROLE_NORMAL;
}

/* A deployment's integer member, or dflt. */
static int
view_model_int(const cJSON *o, const char *name, int dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/*
 * The deployments from y, at most rows lines: each one's provider, model
 * id, weight and priority, then its breaker (coloured), outstanding
 * requests and consecutive failures when the agent gives them.
 */
static void
view_model_deployments_draw(int y, int rows)
{
	const cJSON	*deps, *d, *b;
	char		*prov, *id;
	int		 n = 0;

	deps = cJSON_GetObjectItemCaseSensitive(view_model.model,
	    "deployments");
	if (!cJSON_IsArray(deps) || rows < 2)
		return;
	draw_text(y + n++, 1, COLS - 2, ROLE_MUTED, "deployments (d edits"
	    " them, the fallbacks and retries)");
	cJSON_ArrayForEach(d, deps) {
		if (n == rows) {
			draw_text(y + n - 1, 2, COLS - 3, ROLE_MUTED,
			    draw_ellipsis());
			break;
		}
		prov = output_value(cJSON_GetObjectItemCaseSensitive(d,
		    "provider"), OUTPUT_PLAIN);
		id = output_value(cJSON_GetObjectItemCaseSensitive(d,
		    "model_id"), OUTPUT_PLAIN);
		draw_fmt(y + n, 2, COLS - 3, ROLE_NORMAL, "%-12.12s %-24.24s"
		    " w%-4d p%-3d", prov, id, view_model_int(d, "weight", 1),
		    view_model_int(d, "priority", 0));
		free(prov);
		free(id);
		b = cJSON_GetObjectItemCaseSensitive(d, "breaker");
		if (cJSON_IsString(b) && COLS > 62) {
			draw_text(y + n, 51, 10, view_model_breaker_role(
			    b->valuestring), b->valuestring);
			draw_fmt(y + n, 62, COLS - 63, ROLE_MUTED, "%d out"
			    "  %d failed", view_model_int(d, "outstanding", 0),
			    view_model_int(d, "failures", 0));
		}
		n++;
	}
}

static void
view_model_configure_draw(struct tui *t, int top, int rows)
{
	int	ndeps, want;

	(void)t;
	ndeps = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    view_model.model, "deployments"));
	/* The deployments below the fields, in at most a third of it. */
	want = ndeps > 0 ? ndeps + 2 : 0;
	if (want > (rows - 2) / 3)
		want = (rows - 2) / 3;
	draw_object(cmd_model_fields, view_model.model, top, rows - 2 - want);
	if (want > 0)
		view_model_deployments_draw(top + rows - 2 - want + 1,
		    want - 1);
	draw_text(top + rows - 1, 1, COLS - 2, ROLE_MUTED, "e or Enter edits"
	    " (only what changes is sent; null clears a setting);"
	    " d routing");
}

/* Choices of a guardrails field: now's set, none, each of the domain. */
static void
view_model_guard_choices(struct form_field *ff, const char *now)
{
	cJSON		*choices = cJSON_CreateArray();
	const cJSON	*g, *key;

	if (*now != '\0')
		cJSON_AddItemToArray(choices, cJSON_CreateString(now));
	cJSON_AddItemToArray(choices, cJSON_CreateString(VIEW_MODEL_NONE));
	cJSON_ArrayForEach(g, view_model.guardrails) {
		key = cJSON_GetObjectItemCaseSensitive(g, "key");
		if (cJSON_IsString(key) && strcmp(key->valuestring, now) != 0)
			cJSON_AddItemToArray(choices,
			    cJSON_CreateString(key->valuestring));
	}
	form_set_choices(ff, choices, *now != '\0' ? now : VIEW_MODEL_NONE);
	cJSON_Delete(choices);
}

/* A field's value as the form holds it, as text, for what changed. */
static void
view_model_field_text(struct form *f, size_t i, char *buf, size_t len)
{
	struct form_field	*ff = &f->fields[i];

	if (ff->type == FORM_BOOL)
		snprintf(buf, len, "%s", ff->on ? "yes" : "no");
	else
		snprintf(buf, len, "%s", form_value(f, ff->param));
}

static void
view_model_edit_done(struct tui *t, struct host_reply *r)
{
	struct form	*f = view_model.form;

	if (f == NULL || t->form != f) {
		tui_reply_report(t, r, "configure", "model saved");
		return;
	}
	if (r->status != RPC_CLIENT_OK) {
		f->busy = 0;
		snprintf(f->error, sizeof(f->error), "%s", r->err);
		return;
	}
	tui_form_close(t);
	view_model.form = NULL;
	tui_message(t, ROLE_OK, "saved %s", view_model.key);
	tui_refresh_view(t);
}

/*
 * A changed field into params, as model.edit takes it: numbers and
 * booleans as such, "null" (or nothing, for a setting) clearing an
 * optional one. Returns 0, or -1 with why in err.
 */
static int
view_model_param(cJSON *params, const char *param, const char *v, int on,
    enum form_type type, char *err, size_t errlen)
{
	cJSON		*keys;
	const char	*p;
	char		*end;
	double		 d;
	long long	 n;
	int		 isnull = *v == '\0' || strcmp(v, "null") == 0;

	if (type == FORM_BOOL) {
		cJSON_AddBoolToObject(params, param, on);
		return 0;
	}
	if (strcmp(param, "temperature") == 0) {
		if (isnull) {
			cJSON_AddNullToObject(params, param);
			return 0;
		}
		d = strtod(v, &end);
		if (*end != '\0' || !isfinite(d)) {
			snprintf(err, errlen, "temperature: a number from 0"
			    " to 2, or null");
			return -1;
		}
		cJSON_AddNumberToObject(params, param, d);
		return 0;
	}
	if (strcmp(param, "max_tokens") == 0) {
		if (isnull) {
			cJSON_AddNullToObject(params, param);
			return 0;
		}
		n = strtoll(v, &end, 10);
		if (*end != '\0' || n < 1 || n > 10000000) {
			snprintf(err, errlen, "max tokens: a whole number from"
			    " 1 to 10000000, or null");
			return -1;
		}
		cJSON_AddNumberToObject(params, param, (double)n);
		return 0;
	}
	if (strcmp(param, "system_prompt") == 0) {
		if (isnull)
			cJSON_AddNullToObject(params, param);
		else
			cJSON_AddStringToObject(params, param, v);
		return 0;
	}
	if (strcmp(param, "guard_in") == 0 || strcmp(param, "guard_out") == 0) {
		if (strcmp(v, VIEW_MODEL_NONE) == 0) {
			cJSON_AddNullToObject(params, param);
			return 0;
		}
		keys = cJSON_AddArrayToObject(params, param);
		for (p = v; *p != '\0'; p += *p == ',') {
			n = (long long)strcspn(p, ",");
			end = xstrndup(p, (size_t)n);
			cJSON_AddItemToArray(keys, cJSON_CreateString(end));
			free(end);
			p += n;
		}
		return 0;
	}
	cJSON_AddStringToObject(params, param, v);
	return 0;
}

static void
view_model_edit_submit(struct tui *t, struct form *f)
{
	cJSON	*params;
	char	 v[FORM_VALUE_MAX], err[160];
	size_t	 i, changed = 0;

	params = view_model_params(t, "key");
	for (i = 0; i < f->nfields && i < VIEW_MODEL_NFIELDS; i++) {
		view_model_field_text(f, i, v, sizeof(v));
		if (strcmp(v, view_model.orig[i]) == 0)
			continue;
		changed++;
		if (view_model_param(params, view_model_fields[i].param,
		    form_value(f, view_model_fields[i].param),
		    f->fields[i].on, f->fields[i].type, err,
		    sizeof(err)) == -1) {
			snprintf(f->error, sizeof(f->error), "%s", err);
			cJSON_Delete(params);
			return;
		}
	}
	if (changed == 0) {
		cJSON_Delete(params);
		snprintf(f->error, sizeof(f->error), "nothing changed (Esc"
		    " closes)");
		return;
	}
	f->busy = 1;
	tui_call(t, "model.edit", params, view_model_edit_done);
}

/* Configure's form, filled with the model as it is. */
static void
view_model_edit(struct tui *t)
{
	static const char *const categories[] = { "llm", "embedding" };
	static const char *const statuses[] = { "active", "inactive" };
	struct form		*f;
	struct form_field	*ff;
	cJSON			*choices;
	char			 title[VIEW_MODEL_KEY_MAX + 16], *v;
	char			 raw[FORM_VALUE_MAX];
	size_t			 i;

	if (view_model.model == NULL) {
		view_model.edit = 1;	/* when it comes */
		return;
	}
	snprintf(title, sizeof(title), "configure %s", view_model.key);
	f = form_new(title, 0);
	for (i = 0; i < VIEW_MODEL_NFIELDS; i++) {
		ff = form_add(f, view_model_fields[i].label,
		    view_model_fields[i].param, view_model_fields[i].type);
		if (strncmp(view_model_fields[i].path, "guardrails.", 11) ==
		    0) {
			v = view_model_keys(view_model_fields[i].path);
			view_model_guard_choices(ff, v);
			free(v);
			continue;
		}
		view_model_raw(view_model_fields[i].path, raw, sizeof(raw));
		switch (view_model_fields[i].type) {
		case FORM_CHOICE:
			choices = strcmp(view_model_fields[i].param,
			    "category") == 0 ?
			    cJSON_CreateStringArray(categories, 2) :
			    cJSON_CreateStringArray(statuses, 2);
			form_set_choices(ff, choices, raw);
			cJSON_Delete(choices);
			break;
		case FORM_BOOL:
			ff->on = strcmp(raw, "yes") == 0;
			break;
		default:
			/* A null setting is an empty field. */
			form_set(ff, raw);
			break;
		}
	}
	for (i = 0; i < VIEW_MODEL_NFIELDS; i++)
		view_model_field_text(f, i, view_model.orig[i],
		    sizeof(view_model.orig[i]));
	f->submit = view_model_edit_submit;
	view_model.form = f;
	view_model.tab = 1;
	tui_form(t, f);
}

static int
view_model_configure_key(struct tui *t, int ch)
{
	if (ch == 'd') {
		if (view_model.model == NULL)
			tui_message(t, ROLE_MUTED, "routing: the model is not"
			    " here yet");
		else
			form_routing_open(t, view_model.model,
			    view_model.key);
		return 1;
	}
	if (ch != 'e' && ch != '\n' && ch != '\r' && ch != KEY_ENTER)
		return 0;
	view_model_edit(t);
	return 1;
}

/* --- Logs ------------------------------------------------------------- */

static void
view_model_logs_done(struct tui *t, struct host_reply *r)
{
	if (!view_model_current(t))
		return;
	if (r->status != RPC_CLIENT_OK || !cJSON_IsArray(r->result)) {
		view_model.logs_state = host_is_unsupported(r) ?
		    LIST_UNSUPPORTED : LIST_ERROR;
		snprintf(view_model.logs_error, sizeof(view_model.logs_error),
		    "%s", r->status == RPC_CLIENT_OK ? "unexpected reply" :
		    r->err);
		return;
	}
	cJSON_Delete(view_model.logs);
	view_model.logs = view_model_only(r->result);
	r->result = NULL;
	view_model.logs_state = LIST_READY;
}

static void
view_model_logs_refresh(struct tui *t)
{
	cJSON	*params = view_model_params(t, "model");

	cJSON_AddNumberToObject(params, "limit", VIEW_MODEL_LOGS);
	if (view_model.logs_state == LIST_EMPTY)
		view_model.logs_state = LIST_LOADING;
	tui_call(t, "logs.list", params, view_model_logs_done);
}

static void
view_model_logs_draw(struct tui *t, int top, int rows)
{
	size_t	count = (size_t)cJSON_GetArraySize(view_model.logs);

	(void)t;
	if (view_model.logs_state != LIST_READY || count == 0) {
		draw_text(top, 1, COLS - 2, view_model.logs_state ==
		    LIST_ERROR ? ROLE_ERROR : ROLE_MUTED,
		    view_model.logs_state == LIST_READY ? "no traces of this"
		    " model" : view_model.logs_state == LIST_ERROR ||
		    view_model.logs_state == LIST_UNSUPPORTED ?
		    view_model.logs_error : "loading...");
		return;
	}
	if (view_model.logs_sel >= count)
		view_model.logs_sel = count - 1;
	if (view_model.logs_sel < view_model.logs_top)
		view_model.logs_top = view_model.logs_sel;
	if (rows > 1 && view_model.logs_sel >= view_model.logs_top +
	    (size_t)rows - 1)
		view_model.logs_top = view_model.logs_sel - (size_t)rows + 2;
	view_model_traces(view_model.logs, view_model.logs_top,
	    view_model.logs_sel, top, rows, 1);
}

static int
view_model_logs_key(struct tui *t, int ch)
{
	size_t		 count = (size_t)cJSON_GetArraySize(view_model.logs);
	size_t		 page = LINES > 8 ? (size_t)LINES - 8 : 1;
	const cJSON	*tr;

	switch (ch) {
	case 'j':
	case KEY_DOWN:
		if (view_model.logs_sel + 1 < count)
			view_model.logs_sel++;
		return 1;
	case 'k':
	case KEY_UP:
		if (view_model.logs_sel > 0)
			view_model.logs_sel--;
		return 1;
	case KEY_NPAGE:
		view_model.logs_sel = view_model.logs_sel + page < count ?
		    view_model.logs_sel + page : count > 0 ? count - 1 : 0;
		return 1;
	case KEY_PPAGE:
		view_model.logs_sel = view_model.logs_sel > page ?
		    view_model.logs_sel - page : 0;
		return 1;
	case 'g':
	case KEY_HOME:
		view_model.logs_sel = 0;
		return 1;
	case 'G':
	case KEY_END:
		view_model.logs_sel = count > 0 ? count - 1 : 0;
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		tr = cJSON_GetArrayItem(view_model.logs,
		    (int)view_model.logs_sel);
		if (tr != NULL)
			tui_show_object(t, "trace", view_model_trace_fields,
			    tr);
		return 1;
	}
	return 0;
}

/* --- Usage ------------------------------------------------------------ */

/* A range's reply: this model's row of usage.get by model. */
static void
view_model_usage_take(struct tui *t, struct host_reply *r, size_t i)
{
	cJSON	*rows;

	if (!view_model_current(t))
		return;
	if (r->status != RPC_CLIENT_OK || !cJSON_IsArray(r->result)) {
		view_model.usage_state = LIST_ERROR;
		snprintf(view_model.usage_error,
		    sizeof(view_model.usage_error), "%s",
		    r->status == RPC_CLIENT_OK ? "unexpected reply" : r->err);
		return;
	}
	rows = view_model_only(r->result);
	r->result = NULL;
	cJSON_Delete(view_model.usage[i]);
	view_model.usage[i] = cJSON_DetachItemFromArray(rows, 0);
	if (view_model.usage[i] == NULL)	/* no requests: zeros */
		view_model.usage[i] = cJSON_CreateObject();
	cJSON_Delete(rows);
	view_model.usage_state = LIST_READY;
}

static void
view_model_usage_done0(struct tui *t, struct host_reply *r)
{
	view_model_usage_take(t, r, 0);
}

static void
view_model_usage_done1(struct tui *t, struct host_reply *r)
{
	view_model_usage_take(t, r, 1);
}

static void
view_model_usage_done2(struct tui *t, struct host_reply *r)
{
	view_model_usage_take(t, r, 2);
}

static void
view_model_usage_refresh(struct tui *t)
{
	static const host_done_cb done[VIEW_MODEL_NUSAGE] = {
		view_model_usage_done0, view_model_usage_done1,
		view_model_usage_done2,
	};
	cJSON	*params;
	size_t	 i;

	if (view_model.usage_state == LIST_EMPTY)
		view_model.usage_state = LIST_LOADING;
	for (i = 0; i < VIEW_MODEL_NUSAGE; i++) {
		params = tui_domain_params(t);
		if (params == NULL)
			return;
		cJSON_AddStringToObject(params, "by", "model");
		cJSON_AddStringToObject(params, "since",
		    view_model_ranges[i].since);
		tui_call(t, "usage.get", params, done[i]);
	}
}

static void
view_model_usage_draw(struct tui *t, int top, int rows)
{
	static const char *const paths[6] = { "requests", "errors",
	    "prompt_tokens", "completion_tokens", "cached_tokens",
	    "cost_usd" };
	const cJSON	*v;
	char		 cell[6][32];
	size_t		 i, c;
	int		 y = top;

	(void)t;
	if (view_model.usage_state != LIST_READY) {
		draw_text(y, 1, COLS - 2, view_model.usage_state ==
		    LIST_ERROR ? ROLE_ERROR : ROLE_MUTED,
		    view_model.usage_state == LIST_ERROR ?
		    view_model.usage_error : "loading...");
		return;
	}
	draw_fmt(y++, 1, COLS - 2, ROLE_MUTED, "%-14s %9s %7s %10s %10s %9s"
	    "  %s", "RANGE", "REQUESTS", "ERRORS", "PROMPT", "COMPLETION",
	    "CACHED", "COST USD");
	for (i = 0; i < VIEW_MODEL_NUSAGE && y < top + rows; i++) {
		for (c = 0; c < 6; c++) {
			v = cJSON_GetObjectItemCaseSensitive(view_model.usage[i],
			    paths[c]);
			if (view_model.usage[i] == NULL)
				snprintf(cell[c], sizeof(cell[c]), "...");
			else if (cJSON_IsNumber(v))
				snprintf(cell[c], sizeof(cell[c]), "%.0f",
				    v->valuedouble);
			else if (cJSON_IsString(v))
				snprintf(cell[c], sizeof(cell[c]), "%.31s",
				    v->valuestring);
			else
				snprintf(cell[c], sizeof(cell[c]), "0");
		}
		draw_fmt(y++, 1, COLS - 2, ROLE_NORMAL, "%-14s %9.9s %7.7s"
		    " %10.10s %10.10s %9.9s  %s", view_model_ranges[i].label,
		    cell[0], cell[1], cell[2], cell[3], cell[4], cell[5]);
	}
	if (y + 1 < top + rows)
		draw_text(y + 1, 1, COLS - 2, ROLE_MUTED, "totals of this"
		    " model from the hourly rollup (whole hours, UTC)");
}

/* --- Playground ------------------------------------------------------- */

/*
 * The playground is a pane of its own (playground.c) over the page: the
 * tab opens it, and Esc there comes back here, where Enter or p opens it
 * again.
 */
static void
view_model_playground_enter(struct tui *t)
{
	playground_open(t, view_model.key);
}

static void
view_model_playground_draw(struct tui *t, int top, int rows)
{
	(void)t;
	if (rows < 2)
		return;
	draw_fmt(top + 1, 1, COLS - 2, ROLE_NORMAL, "Enter or p: chat with"
	    " %s as production traffic sees it", view_model.key);
	if (rows > 3)
		draw_text(top + 3, 1, COLS - 2, ROLE_MUTED, "its defaults,"
		    " guardrails and tracing apply; over the admin channel,"
		    " so SSH is enough");
}

static int
view_model_playground_key(struct tui *t, int ch)
{
	if (ch != '\n' && ch != '\r' && ch != KEY_ENTER && ch != 'p')
		return 0;
	playground_open(t, view_model.key);
	return 1;
}
