/*
 * cube-tui's `:` command line: a one-line prompt at the bottom, edited
 * with the shared text field (UTF-8, cursor, Ctrl-U/Ctrl-W, paste), and
 * running the commands of command.c. Runs on the main thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

/* The line being typed; active while the prompt is open. */
static struct {
	int			 active;
	char			 buf[CMDLINE_MAX];
	struct textfield	 tf;		/* edits buf */
	char			 hint[128];	/* what Tab found, if not one */
} cmdline;

typedef void	(*cmdline_run_fn)(struct tui *, const struct command *,
		    const char *);

static void	cmdline_run_view(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_logs(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_domain(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_host(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_deploy(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_quit(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_domain_new(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_domain_edit(struct tui *,
		    const struct command *, const char *);
static void	cmdline_run_usage(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_model(struct tui *, const struct command *,
		    const char *);
static void	cmdline_run_chat(struct tui *, const struct command *,
		    const char *);

/* What runs each of command.c's actions. */
static const cmdline_run_fn cmdline_runs[COMMAND_NACTIONS] = {
	[COMMAND_VIEW] = cmdline_run_view,
	[COMMAND_LOGS] = cmdline_run_logs,
	[COMMAND_DOMAIN] = cmdline_run_domain,
	[COMMAND_HOST] = cmdline_run_host,
	[COMMAND_DEPLOY] = cmdline_run_deploy,
	[COMMAND_QUIT] = cmdline_run_quit,
	[COMMAND_DOMAIN_NEW] = cmdline_run_domain_new,
	[COMMAND_DOMAIN_EDIT] = cmdline_run_domain_edit,
	[COMMAND_USAGE] = cmdline_run_usage,
	[COMMAND_MODEL] = cmdline_run_model,
	[COMMAND_CHAT] = cmdline_run_chat,
};

/* --- the prompt ----------------------------------------------------------- */

int
cmdline_active(void)
{
	return cmdline.active;
}

void
cmdline_open(struct tui *t)
{
	memset(&cmdline, 0, sizeof(cmdline));
	textfield_init(&cmdline.tf, cmdline.buf, sizeof(cmdline.buf));
	cmdline.active = 1;
	view_models_load(t);	/* the model keys Tab offers */
}

static void
cmdline_close(void)
{
	memset(&cmdline, 0, sizeof(cmdline));
}

/* The words Tab offers for a command's argument; free the array only. */
static const char **
cmdline_words(struct tui *t, enum command_words kind, size_t *n)
{
	const char	**words = NULL;
	const cJSON	*d, *name, *models;
	size_t		  i;

	*n = 0;
	switch (kind) {
	case COMMAND_WORDS_NONE:
		break;
	case COMMAND_WORDS_DOMAINS:
		if (!cJSON_IsArray(t->domains))
			break;
		words = xcalloc((size_t)cJSON_GetArraySize(t->domains) + 1,
		    sizeof(*words));
		cJSON_ArrayForEach(d, t->domains) {
			name = cJSON_GetObjectItemCaseSensitive(d, "name");
			if (cJSON_IsString(name))
				words[(*n)++] = name->valuestring;
		}
		break;
	case COMMAND_WORDS_HOSTS:
		words = xcalloc(t->nhosts + 1, sizeof(*words));
		for (i = 0; i < t->nhosts; i++)
			words[(*n)++] = t->hosts[i]->name;
		break;
	case COMMAND_WORDS_MODELS:
		if ((models = view_models_items(t)) == NULL)
			break;
		words = xcalloc((size_t)cJSON_GetArraySize(models) + 1,
		    sizeof(*words));
		cJSON_ArrayForEach(d, models) {
			name = cJSON_GetObjectItemCaseSensitive(d, "key");
			if (cJSON_IsString(name))
				words[(*n)++] = name->valuestring;
		}
		break;
	}
	return words;
}

static void
cmdline_tab(struct tui *t)
{
	const struct command	*c = NULL;
	const char			**words = NULL;
	const char			*sp;
	char				 out[CMDLINE_MAX];
	size_t				 n = 0;

	if ((sp = strchr(cmdline.buf, ' ')) != NULL &&
	    (c = command_lookup(cmdline.buf, (size_t)(sp - cmdline.buf))) !=
	    NULL)
		words = cmdline_words(t, c->words, &n);
	if (command_complete(cmdline.buf, words, n, out, sizeof(out),
	    cmdline.hint, sizeof(cmdline.hint)) == 0)
		snprintf(cmdline.hint, sizeof(cmdline.hint), "no match");
	free(words);
	textfield_set(&cmdline.tf, out);
}

/* Enter: run what was typed, or say in the status line why not. */
static void
cmdline_run(struct tui *t)
{
	const struct command	*c;
	char			 line[CMDLINE_MAX], arg[CMDLINE_MAX], err[160];

	snprintf(line, sizeof(line), "%s", cmdline.buf);
	cmdline_close();
	if ((c = command_parse(line, arg, sizeof(arg), err,
	    sizeof(err))) == NULL) {
		if (line[strspn(line, " ")] != '\0')
			tui_message(t, ROLE_ERROR, "%s", err);
		return;
	}
	cmdline_runs[c->action](t, c, arg);
}

/*
 * A key while the prompt is open: Esc closes it, Enter runs the line, Tab
 * completes, Backspace on nothing closes it; the text field takes the
 * rest (UTF-8, Left/Right, Home/End, Ctrl-U, Ctrl-W, ...).
 */
void
cmdline_key(struct tui *t, int ch)
{
	switch (ch) {
	case 27:
		cmdline_close();
		return;
	case '\n':
	case '\r':
	case KEY_ENTER:
		cmdline_run(t);
		return;
	case '\t':
		cmdline_tab(t);
		return;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (cmdline.tf.len == 0) {
			cmdline_close();
			return;
		}
		break;
	}
	if (textfield_key(&cmdline.tf, ch))
		cmdline.hint[0] = '\0';
}

/* Pasted text (paste.c): typed at the cursor; a newline never runs it. */
void
cmdline_paste(struct tui *t, const char *s, size_t n)
{
	(void)t;
	textfield_insert(&cmdline.tf, s, n);
	cmdline.hint[0] = '\0';
}

/* The prompt on the last row, and what Tab offered after it. */
void
cmdline_draw(struct tui *t)
{
	size_t	end;
	int	col;

	(void)t;
	draw_text(LINES - 1, 0, 1, ROLE_NORMAL, ":");
	if (cmdline.hint[0] == '\0') {
		textfield_draw(&cmdline.tf, LINES - 1, 1, COLS - 1,
		    ROLE_NORMAL, 1);
		return;
	}
	(void)textfield_view(&cmdline.tf, COLS - 1, &end, &col);
	textfield_draw(&cmdline.tf, LINES - 1, 1, col + 1, ROLE_NORMAL, 1);
	if (col + 4 < COLS)
		draw_text(LINES - 1, col + 4, COLS - col - 4, ROLE_MUTED,
		    cmdline.hint);
}

/* --- the commands --------------------------------------------------------- */

static void
cmdline_run_view(struct tui *t, const struct command *c,
    const char *arg)
{
	(void)arg;
	tui_switch(t, (size_t)c->view);
	view_model_close();	/* :models over a model page: the list */
}

/* :logs KEY is the Logs view filtered on KEY; :logs alone, unfiltered. */
static void
cmdline_run_logs(struct tui *t, const struct command *c,
    const char *arg)
{
	tui_switch(t, (size_t)c->view);
	snprintf(t->filter[c->view], sizeof(t->filter[c->view]), "%s", arg);
	if (arg[0] != '\0' && strlen(arg) >= sizeof(t->filter[c->view]))
		tui_message(t, ROLE_WARN, "logs: the key is cut to %zu bytes",
		    sizeof(t->filter[c->view]) - 1);
}

/* The Usage view, over range arg (24h, 7d, 30d, today) when given. */
static void
cmdline_run_usage(struct tui *t, const struct command *c, const char *arg)
{
	if (arg[0] != '\0' && view_usage_set_range(t, arg) == -1) {
		tui_message(t, ROLE_ERROR, "usage: no range %.16s (24h, 7d, 30d"
		    " or today)", arg);
		return;
	}
	tui_switch(t, (size_t)c->view);
}

static void
cmdline_run_domain(struct tui *t, const struct command *c,
    const char *arg)
{
	const cJSON	*d, *name;

	(void)c;
	if (!cJSON_IsArray(t->domains)) {
		tui_message(t, ROLE_WARN, "domain: no domains known yet");
		return;
	}
	cJSON_ArrayForEach(d, t->domains) {
		name = cJSON_GetObjectItemCaseSensitive(d, "name");
		if (cJSON_IsString(name) && strcmp(name->valuestring,
		    arg) == 0) {
			tui_pick_domain(t, arg);
			return;
		}
	}
	tui_message(t, ROLE_ERROR, "domain: no domain %.64s on %s (D lists"
	    " them)", arg, tui_host(t)->name);
}

static void
cmdline_run_host(struct tui *t, const struct command *c,
    const char *arg)
{
	size_t	i;

	(void)c;
	for (i = 0; i < t->nhosts; i++) {
		if (strcmp(t->hosts[i]->name, arg) == 0) {
			if (i != t->current)
				tui_set_host(t, i);
			tui_message(t, ROLE_NORMAL, "host %s", arg);
			return;
		}
	}
	tui_message(t, ROLE_ERROR, "host: no host %.64s in this session (Tab"
	    " lists them)", arg);
}

/* The Models view, and its deploy form as n opens it there. */
static void
cmdline_run_deploy(struct tui *t, const struct command *c,
    const char *arg)
{
	(void)arg;
	tui_switch(t, (size_t)c->view);
	if (t->domain == NULL) {
		tui_message(t, ROLE_WARN, "deploy: no domain in view (D picks"
		    " one)");
		return;
	}
	view_models_ops.key(t, 'n');
}

/* :model KEY: its page, over Models. */
static void
cmdline_run_model(struct tui *t, const struct command *c, const char *arg)
{
	const cJSON	*models, *m, *key;
	int		 found = 0;

	if (t->domain == NULL) {
		tui_message(t, ROLE_WARN, "model: no domain in view (D picks"
		    " one)");
		return;
	}
	if ((models = view_models_items(t)) != NULL) {
		cJSON_ArrayForEach(m, models) {
			key = cJSON_GetObjectItemCaseSensitive(m, "key");
			found |= cJSON_IsString(key) &&
			    strcmp(key->valuestring, arg) == 0;
		}
		if (!found) {
			tui_message(t, ROLE_ERROR, "model: no model %.64s in"
			    " %s (Tab lists them)", arg, t->domain);
			return;
		}
	}
	tui_switch(t, (size_t)c->view);
	view_model_open(t, arg, 0);
}

static void
cmdline_run_quit(struct tui *t, const struct command *c,
    const char *arg)
{
	(void)c;
	(void)arg;
	t->quit = 1;
}

static void
cmdline_run_domain_new(struct tui *t, const struct command *c,
    const char *arg)
{
	(void)c;
	(void)arg;
	form_domain_open(t, NULL);
}

/* :edit-domain [NAME]: the domain form on NAME, or on the one in view. */
static void
cmdline_run_domain_edit(struct tui *t, const struct command *c,
    const char *arg)
{
	(void)c;
	form_domain_named(t, arg[0] != '\0' ? arg : t->domain);
}

/* :chat KEY: the playground with that model of the domain in view. */
static void
cmdline_run_chat(struct tui *t, const struct command *c, const char *arg)
{
	(void)c;
	playground_open(t, arg);
}
