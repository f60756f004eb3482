/*
 * cube-tui's keys as the operator reads them: each view's key bar and
 * the ? overlay, its keys then those every view shares. One table, so
 * the bar, the help and the views' handlers can be held side by side.
 * Runs on the main thread.
 */
#include <stdio.h>
#include <string.h>

#include <curses.h>

#include "cube-tui.h"

struct keys_entry {
	const char	*keys;
	const char	*help;
};

#define KEYS_MOVE	{ "j k, arrows", "move (g G first, last; PgUp PgDn)" }

static const struct keys_entry keys_fleet[] = {
	{ "j k, arrows", "move (PgUp PgDn first, last)" },
	{ "Enter",	"that host's Overview" },
	{ NULL, NULL }
};
static const struct keys_entry keys_overview[] = {
	{ "w",		"sparklines of the last hour or the last 5 minutes" },
	{ "j k, Enter",	"a recent error's trace (no domain: pick one)" },
	{ "n",		"create a domain" },
	{ "e",		"edit the domain in view (no domain: the selected)" },
	{ NULL, NULL }
};
static const struct keys_entry keys_models[] = {
	KEYS_MOVE,
	{ "Enter",	"the model page (figures, curl, logs, usage)" },
	{ "s, S",	"sort by the next column (marked), reverse it" },
	{ "n",		"deploy a model (form, pre-flight checks)" },
	{ "e, E",	"edit the model (page); E enables, disables it" },
	{ "p",		"playground: chat with the model as clients do" },
	{ "d",		"disable an active model, delete an inactive one" },
	{ NULL, NULL }
};
static const struct keys_entry keys_model[] = {
	{ "Tab, 1-5",	"switch tabs (Shift-Tab back; 6-9: views)" },
	{ "Esc",	"back to Models" },
	{ "c",		"Overview: copy the curl line (OSC 52)" },
	{ "e, Enter",	"Configure: edit the model in a form" },
	KEYS_MOVE,
	{ "Enter",	"Logs: every field of the trace" },
	{ "Enter, p",	"Playground: chat with the model" },
	{ NULL, NULL }
};
static const struct keys_entry keys_providers[] = {
	KEYS_MOVE,
	{ "Enter",	"test the provider now" },
	{ "n",		"add a provider" },
	{ "e",		"edit the provider (not its name)" },
	{ "d",		"delete the provider (asks)" },
	{ NULL, NULL }
};
static const struct keys_entry keys_guardrails[] = {
	KEYS_MOVE,
	{ "Enter",	"the guardrail's details" },
	{ "n",		"new guardrail, with a live test box" },
	{ "e",		"edit the guardrail, with a live test box" },
	{ "d",		"delete the guardrail (asks)" },
	{ NULL, NULL }
};
static const struct keys_entry keys_tokens[] = {
	KEYS_MOVE,
	{ "Enter",	"the token's details" },
	{ "n",		"create a token (its secret is shown once)" },
	{ "d",		"revoke the token (asks; not a revoked one)" },
	{ NULL, NULL }
};
static const struct keys_entry keys_logs[] = {
	KEYS_MOVE,
	{ "Enter",	"every field of the trace, with jumps" },
	{ "f",		"follow the newest trace" },
	{ NULL, NULL }
};
static const struct keys_entry keys_usage[] = {
	{ "t",		"the next range: 24h, 7d, 30d, today (:usage 7d)" },
	{ "g",		"group by model, token, day or hour" },
	{ "m",		"chart the next metric" },
	{ NULL, NULL }
};
static const struct keys_entry keys_trace[] = {
	{ "m",		"the trace's model, selected in Models" },
	{ "t",		"its token, selected in Tokens" },
	{ "p",		"its provider, selected in Providers" },
	{ "c",		"copy its receipt to the clipboard (OSC 52)" },
	{ "j k, PgUp PgDn", "scroll (g the top)" },
	{ "Esc, q, Enter", "back to the view below" },
	{ NULL, NULL }
};
static const struct keys_entry keys_attest[] = {
	{ "r",		"fetch the evidence again (a new nonce), verify it" },
	{ "j k, arrows", "scroll (PgUp PgDn, g G top, bottom)" },
	{ NULL, NULL }
};

/* Keys every view shares. */
static const struct keys_entry keys_global[] = {
	{ "1-9, Tab",	"switch views (Shift-Tab back)" },
	{ ":",		"command line (:models, :logs KEY, Tab completes)" },
	{ "/",		"filter the rows (Enter keeps, Esc clears)" },
	{ "D",		"pick the domain in view" },
	{ "H",		"next host" },
	{ "r",		"refresh now" },
	{ "Ctrl-L",	"repaint the screen" },
	{ "?",		"this help" },
	{ "q",		"quit" },
	{ NULL, NULL }
};

/* Each view by its name: its keys, and its bar on the last row. */
static const struct {
	const char			*view;
	const struct keys_entry		*keys;
	const char			*bar;
} keys_views[] = {
	{ "Fleet", keys_fleet,
	  "Enter open host  : command  ? help  1-9 views  q quit" },
	{ "Overview", keys_overview,
	  "w hour/5 min  Enter trace  D domain  : command  ? help  q quit" },
	{ "Models", keys_models,
	  "Enter page  s/S sort  n deploy  e edit  E on/off  d del  p chat  ? help" },
	{ "Model", keys_model,
	  "Tab/1-5 tabs  c copy curl  e edit  Enter open  Esc back  ? help" },
	{ "Providers", keys_providers,
	  "n add  e edit  d delete  Enter test  / filter  : cmd  ? help" },
	{ "Guardrails", keys_guardrails,
	  "n new  e edit  Enter show  d delete  / filter  : command  ? help" },
	{ "Tokens", keys_tokens,
	  "n create  d revoke  Enter show  / filter  : command  ? help" },
	{ "Logs", keys_logs,
	  "f follow  Enter trace  / filter  : command  ? help  q quit" },
	{ "Usage", keys_usage,
	  "t range  g group by  m metric  : command  ? help  q quit" },
	{ "Attest", keys_attest,
	  "r verify again  : command  ? help  q quit" },
	{ "Trace", keys_trace,
	  "m model  t token  p provider  c copy receipt  Esc back  ? help" },
};

#define KEYS_NVIEWS	(sizeof(keys_views) / sizeof(keys_views[0]))

/* The ? overlay: open or not, and the first of its lines in sight. */
static struct {
	int	 open;
	size_t	 top;
} keys_help;

static size_t
keys_find(const char *view)
{
	size_t	i;

	for (i = 0; i < KEYS_NVIEWS; i++)
		if (strcmp(keys_views[i].view, view) == 0)
			return i;
	return KEYS_NVIEWS;
}

/* The key bar of view (its name), or a generic one. */
const char *
keys_bar(const char *view)
{
	size_t	i = keys_find(view);

	return i < KEYS_NVIEWS ? keys_views[i].bar :
	    "? help  : command  1-9 views  D domain  / filter  q quit";
}

int
keys_help_active(void)
{
	return keys_help.open;
}

void
keys_help_open(void)
{
	keys_help.open = 1;
	keys_help.top = 0;
}

/* The overlay's lines: a heading, the view's keys, a heading, shared. */
static size_t
keys_help_lines(const char *view, const struct keys_entry **which,
    const char **heading, size_t max)
{
	const struct keys_entry	*lists[2];
	size_t			 n = 0, l, i = keys_find(view);

	lists[0] = i < KEYS_NVIEWS ? keys_views[i].keys : NULL;
	lists[1] = keys_global;
	for (l = 0; l < 2; l++) {
		if (lists[l] == NULL)
			continue;
		if (n < max) {
			which[n] = NULL;
			heading[n] = l == 0 ? view : "every view";
		}
		n++;
		for (i = 0; lists[l][i].keys != NULL; i++, n++)
			if (n < max) {
				which[n] = &lists[l][i];
				heading[n] = NULL;
			}
	}
	return n;
}

#define KEYS_HELP_MAX	64

/* The rows the overlay's lines get at this size. */
static size_t
keys_help_rows(void)
{
	return LINES > 8 ? (size_t)LINES - 7 : 1;
}

/*
 * A key while the overlay is open: moving keys scroll it, any other
 * closes it.
 */
void
keys_help_key(const char *view, int ch)
{
	const struct keys_entry	*which[KEYS_HELP_MAX];
	const char		*heading[KEYS_HELP_MAX];
	size_t			 n, rows = keys_help_rows(), last;

	n = keys_help_lines(view, which, heading, KEYS_HELP_MAX);
	last = n > rows ? n - rows : 0;
	switch (ch) {
	case 'j':
	case KEY_DOWN:
		if (keys_help.top < last)
			keys_help.top++;
		return;
	case 'k':
	case KEY_UP:
		if (keys_help.top > 0)
			keys_help.top--;
		return;
	case KEY_NPAGE:
		keys_help.top = keys_help.top + rows < last ?
		    keys_help.top + rows : last;
		return;
	case KEY_PPAGE:
		keys_help.top = keys_help.top > rows ? keys_help.top - rows : 0;
		return;
	}
	keys_help.open = 0;
}

void
keys_help_draw(const char *view)
{
	const struct keys_entry	*which[KEYS_HELP_MAX];
	const char		*heading[KEYS_HELP_MAX];
	size_t			 n, i, rows = keys_help_rows();
	char			 title[64];
	int			 y = 3, w = COLS > 4 ? COLS - 4 : 1;

	n = keys_help_lines(view, which, heading, KEYS_HELP_MAX);
	if (n > KEYS_HELP_MAX)
		n = KEYS_HELP_MAX;
	snprintf(title, sizeof(title), "keys: %s", view);
	draw_box(2, 1, (int)rows + 4, COLS - 2, title);
	for (i = keys_help.top; i < n && i < keys_help.top + rows; i++, y++) {
		if (heading[i] != NULL)
			draw_text(y, 3, w - 2, ROLE_NORMAL, heading[i]);
		else {
			draw_text(y, 5, 12, ROLE_MUTED, which[i]->keys);
			draw_text(y, 19, COLS - 22, ROLE_NORMAL,
			    which[i]->help);
		}
	}
	draw_text(y + (int)(keys_help.top + rows - i), 3, w - 2, ROLE_MUTED,
	    n > rows ? "j k PgUp PgDn scroll, any other key closes" :
	    "any key closes");
}
