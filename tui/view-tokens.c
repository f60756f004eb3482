/*
 * The Tokens view: the domain's API tokens with their limits (rpm, tpm,
 * models, expiry) and, for a token with a budget, a bar of what it spent
 * (#) and what its requests in flight hold (+) of it. n creates one and
 * shows its secret once, in a dialog that says so and is wiped when
 * closed; d revokes, after asking. Main thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "money.h"
#include "xmalloc.h"

/* What / filters on; the rows are drawn by view_tokens_draw. */
static const struct output_field view_tokens_columns[] = {
	{ "ID",			"id",			OUTPUT_PLAIN },
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "EXPIRES",		"expires_at",		OUTPUT_PLAIN },
	{ "MODELS",		"models",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

enum {
	TOK_ID, TOK_NAME, TOK_STATUS, TOK_LIMITS, TOK_MODELS, TOK_SPEND,
	TOK_BAR, TOK_NCOLUMNS
};

/* At 80 columns the models go first: Enter shows every field. */
static const struct column view_tokens_fit[TOK_NCOLUMNS] = {
	[TOK_ID] =	{ "ID",		20, 20, 5, 0 },
	[TOK_NAME] =	{ "NAME",	6, 12, 0, 1 },
	[TOK_STATUS] =	{ "STATUS",	9, 9, 0, 0 },
	[TOK_LIMITS] =	{ "RPM/TPM",	9, 11, 4, 0 },
	[TOK_MODELS] =	{ "MODELS",	6, 12, 6, 0 },
	[TOK_SPEND] =	{ "SPENT/BUDGET +HELD", 20, 24, 0, 0 },
	[TOK_BAR] =	{ "",		6, 12, 2, 0 },
};

static struct list view_tokens_list = {
	.method = "token.list",
	.columns = view_tokens_columns,
};

/* A token to select once the list holds it (a trace's t), or "". */
static char	view_tokens_want[64];

static struct form	*view_tokens_form;

static void
view_tokens_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_tokens_list, r);
}

static void
view_tokens_refresh(struct tui *t)
{
	list_refresh(t, &view_tokens_list, tui_domain_params(t),
	    view_tokens_done);
}

/* Select token id when it is listed (now, or when the list comes). */
void
view_tokens_select(struct tui *t, const char *id)
{
	snprintf(view_tokens_want, sizeof(view_tokens_want), "%s", id);
	(void)t;
}

static void
view_tokens_apply_want(struct tui *t)
{
	const cJSON	*row, *id;
	size_t		 n = 0;

	if (view_tokens_want[0] == '\0' ||
	    view_tokens_list.state != LIST_READY)
		return;
	cJSON_ArrayForEach(row, view_tokens_list.items) {
		if (!filter_match(tui_filter(t), row, view_tokens_columns))
			continue;
		id = cJSON_GetObjectItemCaseSensitive(row, "id");
		if (cJSON_IsString(id) && strcmp(id->valuestring,
		    view_tokens_want) == 0) {
			view_tokens_list.sel = n;
			break;
		}
		n++;
	}
	view_tokens_want[0] = '\0';
}

static const char *
view_tokens_string(const cJSON *o, const char *name, const char *none)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : none;
}

/* An amount in nano-USD from a decimal string; -1 when absent or bad. */
static int64_t
view_tokens_nano(const cJSON *o, const char *name)
{
	const char	*s = view_tokens_string(o, name, NULL);
	int64_t		 v;
	char		 err[128];

	if (s == NULL || money_parse_usd(s, &v, err, sizeof(err)) != 0)
		return -1;
	return v;
}

/*
 * The budget bar in width columns: spent as '#', what requests in flight
 * hold as '+', the rest '.'; readable without colour.
 */
static void
view_tokens_bar(char *buf, int width, int64_t spent, int64_t held,
    int64_t budget)
{
	int	ns, nh, i;

	ns = (int)((double)spent / (double)budget * width + 0.5);
	nh = (int)((double)(spent + held) / (double)budget * width + 0.5) - ns;
	if (ns == 0 && spent > 0)
		ns = 1;
	if (nh <= 0 && held > 0)
		nh = 1;
	if (ns > width)
		ns = width;
	if (nh > width - ns)
		nh = width - ns;
	for (i = 0; i < width; i++)
		buf[i] = i < ns ? '#' : i < ns + nh ? '+' : '.';
	buf[width] = '\0';
}

/* A limit in a few columns: "60", "12k", "3M", "-" for none. */
static void
view_tokens_count(char *buf, size_t len, const cJSON *v)
{
	double	n = cJSON_IsNumber(v) ? v->valuedouble : -1;

	if (!(n > 0))
		snprintf(buf, len, "-");
	else if (n < 10000)
		snprintf(buf, len, "%.0f", n);
	else if (n < 10e6)
		snprintf(buf, len, "%.0fk", n / 1000);
	else
		snprintf(buf, len, "%.0fM", n / 1e6);
}

/* When a token expires, from now: "in 29d", "in 5h", "expired". */
static void
view_tokens_expires(char *buf, size_t len, const char *at)
{
	struct tm	tm;
	time_t		when;
	char		d[16];

	memset(&tm, 0, sizeof(tm));
	if (strptime(at, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	when = timegm(&tm);
	if (when <= time(NULL)) {
		snprintf(buf, len, "expired");
		return;
	}
	human_duration(d, sizeof(d), difftime(when, time(NULL)));
	d[strcspn(d, " ")] = '\0';		/* the largest unit */
	snprintf(buf, len, "in %s", d);
}

/* One cell of each column for a token. */
static void
view_tokens_cells(const cJSON *tok, char cells[TOK_NCOLUMNS][64],
    int barw, enum draw_role *role)
{
	const cJSON	*v, *m;
	int64_t		 spent, held, budget;
	char		 a[24], b[24], c[24];
	size_t		 off;

	*role = ROLE_NORMAL;
	snprintf(cells[TOK_ID], 64, "%s", view_tokens_string(tok, "id", "?"));
	snprintf(cells[TOK_NAME], 64, "%s", view_tokens_string(tok, "name",
	    "-"));
	/* An active token's expiry stands for its status. */
	snprintf(cells[TOK_STATUS], 64, "%s", view_tokens_string(tok,
	    "status", "?"));
	if (strcmp(cells[TOK_STATUS], "active") == 0 && view_tokens_string(
	    tok, "expires_at", NULL) != NULL)
		view_tokens_expires(cells[TOK_STATUS], 64, view_tokens_string(
		    tok, "expires_at", NULL));
	view_tokens_count(a, sizeof(a), cJSON_GetObjectItemCaseSensitive(tok,
	    "rpm"));
	view_tokens_count(b, sizeof(b), cJSON_GetObjectItemCaseSensitive(tok,
	    "tpm"));
	snprintf(cells[TOK_LIMITS], 64, "%s/%s", a, b);
	v = cJSON_GetObjectItemCaseSensitive(tok, "models");
	cells[TOK_MODELS][0] = '\0';
	off = 0;
	cJSON_ArrayForEach(m, v)
		if (cJSON_IsString(m) && off < 60)
			off += (size_t)snprintf(cells[TOK_MODELS] + off,
			    64 - off, "%s%s", off > 0 ? "," : "",
			    m->valuestring);
	if (off > 63)
		cells[TOK_MODELS][63] = '\0';
	if (!cJSON_IsArray(v))
		snprintf(cells[TOK_MODELS], 64, "all");
	spent = view_tokens_nano(tok, "spent_usd");
	held = view_tokens_nano(tok, "reserved_usd");
	budget = view_tokens_nano(tok, "budget");
	human_usd(a, sizeof(a), view_tokens_string(tok, "spent_usd", NULL));
	cells[TOK_BAR][0] = '\0';
	if (budget <= 0) {
		/* No budget: the spend, and no bar. */
		snprintf(cells[TOK_SPEND], 64, "%s", spent >= 0 ? a : "-");
		return;
	}
	human_usd(b, sizeof(b), view_tokens_string(tok, "budget", NULL));
	v = cJSON_GetObjectItemCaseSensitive(tok, "budget_period");
	snprintf(cells[TOK_SPEND], 64, "%s/%s%s%s", spent >= 0 ? a : "-", b,
	    cJSON_IsString(v) ? "/" : "", cJSON_IsString(v) ?
	    v->valuestring : "");
	if (held > 0) {
		human_usd(c, sizeof(c), view_tokens_string(tok,
		    "reserved_usd", NULL));
		off = strlen(cells[TOK_SPEND]);
		snprintf(cells[TOK_SPEND] + off, 64 - off, " +%s", c);
	}
	if (spent < 0)
		return;
	if (held < 0)
		held = 0;
	if (barw > 0 && barw < 64)
		view_tokens_bar(cells[TOK_BAR], barw, spent, held, budget);
	if (spent + held >= budget)
		*role = ROLE_ERROR;
	else if (spent + held >= budget / 5 * 4)
		*role = ROLE_WARN;
}

static void
view_tokens_draw(struct tui *t, int top, int rows)
{
	int			 w[TOK_NCOLUMNS], x, y, c;
	char			 cells[TOK_NCOLUMNS][64];
	const cJSON		*tok;
	size_t			 n = 0, count;
	enum draw_role		 role, bar;

	view_tokens_apply_want(t);
	count = list_count(t, &view_tokens_list);
	if (view_tokens_list.state != LIST_READY || count == 0) {
		list_draw(t, &view_tokens_list, top, rows);
		return;
	}
	columns_fit(view_tokens_fit, TOK_NCOLUMNS, COLS - 2, w);
	if (view_tokens_list.sel >= count)
		view_tokens_list.sel = count - 1;
	if (view_tokens_list.sel < view_tokens_list.top)
		view_tokens_list.top = view_tokens_list.sel;
	if (rows > 1 && view_tokens_list.sel >= view_tokens_list.top +
	    (size_t)(rows - 1))
		view_tokens_list.top = view_tokens_list.sel - (size_t)rows + 2;
	for (c = 0, x = 1; c < TOK_NCOLUMNS; c++)
		if (w[c] > 0) {
			draw_text(top, x, w[c], ROLE_MUTED,
			    view_tokens_fit[c].label);
			x += w[c] + 1;
		}
	y = top + 1;
	cJSON_ArrayForEach(tok, view_tokens_list.items) {
		if (!filter_match(tui_filter(t), tok, view_tokens_columns))
			continue;
		if (n >= view_tokens_list.top && y < top + rows) {
			view_tokens_cells(tok, cells, w[TOK_BAR], &bar);
			role = n == view_tokens_list.sel ? ROLE_SELECTED :
			    strcmp(cells[TOK_STATUS], "revoked") == 0 ||
			    strcmp(cells[TOK_STATUS], "expired") == 0 ?
			    ROLE_MUTED : ROLE_NORMAL;
			if (n == view_tokens_list.sel) {
				attrset(A_REVERSE);
				mvhline(y, 0, ' ', COLS);
				attrset(A_NORMAL);
			}
			for (c = 0, x = 1; c < TOK_NCOLUMNS; c++) {
				if (w[c] == 0)
					continue;
				draw_text(y, x, w[c], c == TOK_BAR &&
				    role != ROLE_SELECTED ? bar : role,
				    cells[c]);
				x += w[c] + 1;
			}
			y++;
		}
		n++;
	}
}

/* The secret, once: shown in a dialog that wipes it, then wiped here. */
static void
view_tokens_created(struct tui *t, struct host_reply *r)
{
	cJSON	*secret, *id;
	char	*text;

	if (t->form != NULL && t->form == view_tokens_form &&
	    r->status != RPC_CLIENT_OK) {
		t->form->busy = 0;
		snprintf(t->form->error, sizeof(t->form->error), "%s", r->err);
		return;
	}
	if (t->form != NULL && t->form == view_tokens_form)
		tui_form_close(t);
	view_tokens_form = NULL;
	if (r->status != RPC_CLIENT_OK) {
		tui_reply_error(t, "token create", r);
		return;
	}
	secret = cJSON_GetObjectItemCaseSensitive(r->result, "token");
	id = cJSON_GetObjectItemCaseSensitive(r->result, "id");
	if (!cJSON_IsString(secret) || !cJSON_IsString(id)) {
		tui_message(t, ROLE_ERROR, "token create: unexpected reply");
		return;
	}
	xasprintf(&text, "Copy it now: it is shown this once, never again.\n"
	    "\n%s\n\nid %s", secret->valuestring, id->valuestring);
	tui_show_secret(t, "new token: secret shown once", text,
	    secret->valuestring);
	explicit_bzero(text, strlen(text));
	free(text);
	explicit_bzero(secret->valuestring, strlen(secret->valuestring));
	view_tokens_refresh(t);
}

static void
view_tokens_submit(struct tui *t, struct form *f)
{
	cJSON		*params;

	if ((params = form_token_params(f)) == NULL)
		return;
	cJSON_AddStringToObject(params, "domain", t->domain);
	f->busy = 1;
	tui_call(t, "token.create", params, view_tokens_created);
}

static void
view_tokens_revoke_done(struct tui *t, struct host_reply *r)
{
	tui_reply_report(t, r, "token revoke", "token revoked");
	view_tokens_refresh(t);
}

static void
view_tokens_revoke(struct tui *t, const char *id)
{
	cJSON	*params = tui_domain_params(t);

	cJSON_AddStringToObject(params, "id", id);
	tui_call(t, "token.revoke", params, view_tokens_revoke_done);
}

static int
view_tokens_key(struct tui *t, int ch)
{
	const cJSON	*tok = list_selected(t, &view_tokens_list);
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(tok, "id");
	const cJSON	*status;
	struct form	*f;
	char		 q[256];

	switch (ch) {
	case 'n':
		f = form_token_new();	/* form-token.c: with its limits */
		f->submit = view_tokens_submit;
		view_tokens_form = f;
		tui_form(t, f);
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (tok != NULL)
			tui_show_object(t, "token", cmd_token_fields, tok);
		return 1;
	case 'd':
		status = cJSON_GetObjectItemCaseSensitive(tok, "status");
		if (cJSON_IsString(id) && cJSON_IsString(status) &&
		    strcmp(status->valuestring, "revoked") == 0)
			tui_message(t, ROLE_WARN, "token %s is already revoked",
			    id->valuestring);
		else if (cJSON_IsString(id)) {
			snprintf(q, sizeof(q), "Revoke token %s?",
			    id->valuestring);
			tui_confirm(t, q, id->valuestring, view_tokens_revoke);
		}
		return 1;
	}
	return list_key(t, &view_tokens_list, ch);
}

const struct view_ops view_tokens_ops = {
	.name = "Tokens",
	.needs_domain = 1,
	.refresh = view_tokens_refresh,
	.draw = view_tokens_draw,
	.key = view_tokens_key,
};
