/*
 * The trace view (main thread): every field of one trace (Enter on a
 * trace in Logs), drawn over the view in sight: the request, its outcome,
 * tokens and cost, guardrail findings, the prompt and completion when the
 * domain logs content, the signed receipt (c copies it, OSC 52), then any
 * field this version does not know. m, t and p jump to its model, token
 * and provider, selected in their views; Esc or q goes back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "log.h"
#include "xmalloc.h"

#define VIEW_TRACE_LABEL	16	/* columns of a label */
#define VIEW_TRACE_LINES_MAX	2000	/* lines of text shown, at most */

/*
 * The fields in the order they are read, as docs/admin-api.md has them:
 * a line holds the fields up to one with "last" set, so that a trace
 * fits 80x24 with its prompt in sight.
 */
static const struct {
	const char	*label;
	const char	*path;
	int		 last;		/* ends its line */
} view_trace_fields[] = {
	{ "time",		"time",			0 },
	{ "id",			"id",			1 },
	{ "status",		"status",		0 },
	{ "error",		"error",		0 },
	{ "rejected at",	"rejected_step",	1 },
	{ "model (m)",		"model",		0 },
	{ "model id",		"model_id",		1 },
	{ "provider (p)",	"provider",		0 },
	{ "token (t)",		"token_id",		0 },
	{ "route",		"route",		1 },
	{ "stream",		"stream",		0 },
	{ "cancelled",		"cancelled",		0 },
	{ "estimated",		"estimated",		1 },
	{ "latency ms",		"latency_ms",		0 },
	{ "first token ms",	"ttft_ms",		1 },
	{ "prompt tokens",	"prompt_tokens",	0 },
	{ "completion",		"completion_tokens",	0 },
	{ "cached",		"cached_tokens",	1 },
	{ "cost usd",		"cost_usd",		1 },
	{ "request id",		"request_id",		1 },
	{ "trace id",		"trace_id",		1 },
	{ "span id",		"span_id",		1 },
	{ "domain",		"domain",		1 },
};
#define VIEW_TRACE_NFIELDS \
	(sizeof(view_trace_fields) / sizeof(view_trace_fields[0]))

static struct {
	struct cJSON	*trace;		/* NULL: closed */
	unsigned	 gen;		/* tui->gen when opened */
	size_t		 top;		/* first line in sight */
	size_t		 nlines;	/* of the last draw */
} view_trace;

int
view_trace_active(struct tui *t)
{
	if (view_trace.trace != NULL && view_trace.gen != t->gen)
		view_trace_close();	/* another host or domain */
	return view_trace.trace != NULL;
}

void
view_trace_open(struct tui *t, const cJSON *trace)
{
	view_trace_close();
	view_trace.trace = cJSON_Duplicate(trace, 1);
	view_trace.gen = t->gen;
}

void
view_trace_close(void)
{
	cJSON_Delete(view_trace.trace);
	memset(&view_trace, 0, sizeof(view_trace));
}

static const char *
view_trace_string(const char *path)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(view_trace.trace,
			    path);

	return cJSON_IsString(v) && v->valuestring[0] != '\0' ?
	    v->valuestring : NULL;
}

/* The lines of the view, built for a width: a label and its value. */
struct view_trace_lines {
	char		**text;
	enum draw_role	 *role;
	size_t		  n;
};

static void
view_trace_add(struct view_trace_lines *l, enum draw_role role,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
view_trace_add(struct view_trace_lines *l, enum draw_role role,
    const char *fmt, ...)
{
	va_list	ap;

	if (l->n >= VIEW_TRACE_LINES_MAX)
		return;
	l->text = xreallocarray(l->text, l->n + 1, sizeof(*l->text));
	l->role = xreallocarray(l->role, l->n + 1, sizeof(*l->role));
	va_start(ap, fmt);
	if (vasprintf(&l->text[l->n], fmt, ap) == -1)
		fatalx("%s: out of memory", __func__);
	va_end(ap);
	l->role[l->n++] = role;
}

/* Text as lines of at most width bytes, cut on the lines it has. */
static void
view_trace_text(struct view_trace_lines *l, const char *label,
    const char *text, int width)
{
	const char	*p = text, *nl;
	size_t		 len, cut;

	view_trace_add(l, ROLE_MUTED, "%s", label);
	if (width < 8)
		width = 8;
	while (*p != '\0' && l->n < VIEW_TRACE_LINES_MAX) {
		nl = p + strcspn(p, "\n");
		len = (size_t)(nl - p);
		cut = len > (size_t)width ? (size_t)width : len;
		/* Never cut a UTF-8 sequence. */
		while (cut > 0 && cut < len && ((unsigned char)p[cut] &
		    0xc0) == 0x80)
			cut--;
		if (cut == 0 && len > 0)
			cut = len < (size_t)width ? len : (size_t)width;
		view_trace_add(l, ROLE_NORMAL, "  %.*s", (int)cut, p);
		p += cut;
		if (p == nl && *p == '\n')
			p++;
	}
}

static int
view_trace_known(const char *name)
{
	static const char *const	 others[] = { "prompt", "completion",
					    "guardrails", "receipt", "attempts",
					    NULL };
	size_t				 i;

	for (i = 0; i < VIEW_TRACE_NFIELDS; i++)
		if (strcmp(view_trace_fields[i].path, name) == 0)
			return 1;
	for (i = 0; others[i] != NULL; i++)
		if (strcmp(others[i], name) == 0)
			return 1;
	return 0;
}

/* One attempt: "  2. model on provider/model_id: HTTP 500, 12 ms". */
static void
view_trace_attempt(struct view_trace_lines *l, const cJSON *a, size_t n)
{
	const cJSON	*st = cJSON_GetObjectItem(a, "status");
	const cJSON	*er = cJSON_GetObjectItem(a, "error");
	const cJSON	*ms = cJSON_GetObjectItem(a, "ms");
	const char	*f[3] = { "model", "provider", "model_id" };
	const char	*val[3];
	char		 outcome[64];
	size_t		 i;
	int		 ok;

	for (i = 0; i < 3; i++)
		val[i] = cJSON_IsString(cJSON_GetObjectItem(a, f[i])) ?
		    cJSON_GetObjectItem(a, f[i])->valuestring : "?";
	if (cJSON_IsNumber(st))
		snprintf(outcome, sizeof(outcome), "HTTP %d", st->valueint);
	else
		snprintf(outcome, sizeof(outcome), "%s", cJSON_IsString(er) ?
		    er->valuestring : "failed");
	ok = cJSON_IsNumber(st) && st->valueint < 400;
	view_trace_add(l, ok ? ROLE_OK : ROLE_WARN, "  %zu. %s on %s/%s: %s,"
	    " %d ms", n, val[0], val[1], val[2], outcome,
	    cJSON_IsNumber(ms) ? ms->valueint : 0);
}

static void
view_trace_build(struct view_trace_lines *l, int width)
{
	const cJSON	*tr = view_trace.trace, *v, *g;
	const char	*s;
	char		*value, line[512];
	size_t		 i, len;
	int		 failed;

	v = cJSON_GetObjectItemCaseSensitive(tr, "status");
	failed = (cJSON_IsNumber(v) && v->valueint >= 400) ||
	    view_trace_string("error") != NULL;
	line[0] = '\0';
	for (i = 0; i < VIEW_TRACE_NFIELDS; i++) {
		v = cJSON_GetObjectItemCaseSensitive(tr,
		    view_trace_fields[i].path);
		value = output_value(v, OUTPUT_PLAIN);
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, "%s%s %s",
		    len > 0 ? draw_dot() : "", view_trace_fields[i].label,
		    v == NULL || cJSON_IsNull(v) ? "-" : value);
		free(value);
		if (!view_trace_fields[i].last)
			continue;
		view_trace_add(l, failed && i < 5 ? ROLE_ERROR : ROLE_NORMAL,
		    "%s", line);
		line[0] = '\0';
	}
	g = cJSON_GetObjectItemCaseSensitive(tr, "guardrails");
	if (cJSON_GetArraySize(g) == 0)
		view_trace_add(l, ROLE_NORMAL, "%-*s none found",
		    VIEW_TRACE_LABEL, "guardrails");
	else {
		view_trace_add(l, ROLE_MUTED, "guardrails");
		cJSON_ArrayForEach(v, g)
			view_trace_add(l, ROLE_WARN, "  %s: %s %s on the %s"
			    " (x%d)", cJSON_IsString(cJSON_GetObjectItem(v,
			    "key")) ? cJSON_GetObjectItem(v, "key")->valuestring
			    : "?", cJSON_IsString(cJSON_GetObjectItem(v,
			    "type")) ? cJSON_GetObjectItem(v, "type")->
			    valuestring : "?", cJSON_IsString(
			    cJSON_GetObjectItem(v, "action")) ?
			    cJSON_GetObjectItem(v, "action")->valuestring :
			    "?", cJSON_IsString(cJSON_GetObjectItem(v, "on")) ?
			    cJSON_GetObjectItem(v, "on")->valuestring : "?",
			    cJSON_IsNumber(cJSON_GetObjectItem(v, "count")) ?
			    cJSON_GetObjectItem(v, "count")->valueint : 0);
	}
	/* Every attempt on a deployment, when there was more than one. */
	g = cJSON_GetObjectItemCaseSensitive(tr, "attempts");
	if (cJSON_GetArraySize(g) > 1) {
		view_trace_add(l, ROLE_MUTED, "attempts");
		i = 0;
		cJSON_ArrayForEach(v, g)
			view_trace_attempt(l, v, ++i);
	}
	if ((s = view_trace_string("receipt")) != NULL)
		view_trace_add(l, ROLE_NORMAL, "%-*s %.*s%s (c copies)",
		    VIEW_TRACE_LABEL, "receipt", width > 60 ? width - 50 : 10,
		    s, draw_ellipsis());
	else
		view_trace_add(l, ROLE_NORMAL, "%-*s -", VIEW_TRACE_LABEL,
		    "receipt");
	if ((s = view_trace_string("prompt")) != NULL)
		view_trace_text(l, "prompt", s, width - 2);
	else
		view_trace_add(l, ROLE_MUTED, "%-*s not logged (the domain's"
		    " log-content is off)", VIEW_TRACE_LABEL, "prompt");
	if ((s = view_trace_string("completion")) != NULL)
		view_trace_text(l, "completion", s, width - 2);
	/* Fields of a newer agent, as they come. */
	cJSON_ArrayForEach(v, tr) {
		if (v->string == NULL || view_trace_known(v->string))
			continue;
		value = output_value(v, OUTPUT_PLAIN);
		view_trace_add(l, ROLE_NORMAL, "%-*.*s %s", VIEW_TRACE_LABEL,
		    VIEW_TRACE_LABEL, v->string, value);
		free(value);
	}
}

static void
view_trace_lines_free(struct view_trace_lines *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->text[i]);
	free(l->text);
	free(l->role);
}

/* Over rows top..top+rows-1 (keys.c has its key bar, as "Trace"). */
void
view_trace_draw(struct tui *t, int top, int rows)
{
	struct view_trace_lines	 l;
	const char		*model = view_trace_string("model");
	size_t			 i;
	int			 y;

	(void)t;
	memset(&l, 0, sizeof(l));
	view_trace_build(&l, COLS - 2);
	view_trace.nlines = l.n;
	if (rows < 2)
		rows = 2;
	if (view_trace.top + (size_t)(rows - 1) > l.n)
		view_trace.top = l.n > (size_t)(rows - 1) ? l.n -
		    (size_t)(rows - 1) : 0;
	for (y = top; y < top + rows; y++) {
		move(y, 0);
		clrtoeol();
	}
	draw_fmt(top, 1, COLS - 2, ROLE_SELECTED, " trace %s%s%s ",
	    view_trace_string("id") != NULL ? view_trace_string("id") : "?",
	    model != NULL ? draw_dot() : "", model != NULL ? model : "");
	for (i = view_trace.top, y = top + 1; i < l.n && y < top + rows;
	    i++, y++)
		draw_text(y, 1, COLS - 2, l.role[i], l.text[i]);
	view_trace_lines_free(&l);
}

/* Jump to a view (Models 3, Providers 4, Tokens 6) with a row selected. */
static void
view_trace_jump(struct tui *t, const char *path, const char *what,
    size_t view, void (*select)(struct tui *, const char *))
{
	const char	*v = view_trace_string(path);
	char		*copy;

	if (v == NULL) {
		tui_message(t, ROLE_WARN, "this trace names no %s", what);
		return;
	}
	copy = xstrdup(v);
	view_trace_close();
	select(t, copy);
	tui_switch(t, view);
	free(copy);
}

/* A key while the trace is shown; 0 when it is not the trace's. */
int
view_trace_key(struct tui *t, int ch)
{
	const char	*receipt;
	size_t		 page = LINES > 8 ? (size_t)LINES - 6 : 1;

	t->message[0] = '\0';
	switch (ch) {
	case '?':
		keys_help_open();
		return 1;
	case 27:
	case 'q':
	case KEY_BACKSPACE:
	case 127:
	case '\n':
	case '\r':
	case KEY_ENTER:
		view_trace_close();
		return 1;
	case 'j':
	case KEY_DOWN:
		if (view_trace.top + 1 < view_trace.nlines)
			view_trace.top++;
		return 1;
	case 'k':
	case KEY_UP:
		if (view_trace.top > 0)
			view_trace.top--;
		return 1;
	case KEY_NPAGE:
		view_trace.top += page;
		return 1;
	case KEY_PPAGE:
		view_trace.top = view_trace.top > page ? view_trace.top - page :
		    0;
		return 1;
	case 'g':
	case KEY_HOME:
		view_trace.top = 0;
		return 1;
	case 'm':
		view_trace_jump(t, "model", "model", 2, view_models_select);
		return 1;
	case 'p':
		view_trace_jump(t, "provider", "provider", 3,
		    view_providers_select);
		return 1;
	case 't':
		view_trace_jump(t, "token_id", "token", 5, view_tokens_select);
		return 1;
	case 'c':
		if ((receipt = view_trace_string("receipt")) == NULL)
			tui_message(t, ROLE_WARN, "this trace has no receipt");
		else if (clipboard_copy(receipt) == 0)
			tui_message(t, ROLE_OK, "receipt copied (OSC 52)");
		else
			tui_message(t, ROLE_ERROR, "receipt: too long to copy");
		return 1;
	}
	return 0;
}
