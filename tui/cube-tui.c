/*
 * cube-tui: the operator's dashboard over a fleet of agents. main reads
 * the keys (and alone handles KEY_RESIZE), the views of the table below
 * draw; every call to an agent runs on its host's thread (host.c), so the
 * screen never waits for the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "cube-tui.h"
#include "log.h"
#include "transport.h"
#include "xmalloc.h"

#define TUI_TICK_MS		250
#define TUI_STATUS_EVERY_MS	2000	/* each host's status and figures */
#define TUI_REFRESH_EVERY_MS	10000	/* the view's data */

/* The views, on keys 1 to 9, in this order. */
static const struct view_ops *const tui_views[TUI_NVIEWS] = {
	&view_fleet_ops,
	&view_overview_ops,
	&view_models_ops,
	&view_providers_ops,
	&view_guardrails_ops,
	&view_tokens_ops,
	&view_logs_ops,
	&view_usage_ops,
	&view_attest_ops,
};

struct host *
tui_host(struct tui *t)
{
	return t->hosts[t->current];
}

/* Call method on the host in view; done gets the reply if still current. */
void
tui_call(struct tui *t, const char *method, cJSON *params, host_done_cb done)
{
	host_call(tui_host(t), method, params, done, t->gen);
}

/* {"domain": D} for the domain in view (NULL: none picked). */
cJSON *
tui_domain_params(struct tui *t)
{
	cJSON	*params;

	if (t->domain == NULL)
		return NULL;
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "domain", t->domain);
	return params;
}

/* The `/` filter being typed: the shared text field, on the view's. */
static struct textfield	tui_filter_field;

const char *
tui_filter(struct tui *t)
{
	return t->filter[t->view];
}

void
tui_message(struct tui *t, enum draw_role role, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(t->message, sizeof(t->message), fmt, ap);
	va_end(ap);
	t->message_role = role;
}

/* A failed call, in the message line: what was tried and why it failed. */
void
tui_reply_error(struct tui *t, const char *what, const struct host_reply *r)
{
	if (host_is_unsupported(r))
		tui_message(t, ROLE_WARN, "%s: not supported by this agent",
		    what);
	else
		tui_message(t, ROLE_ERROR, "%s: %s", what, r->err);
}

/*
 * A write's outcome in the message line: ok_text when it worked, else
 * what failed and why. Returns 1 when it worked.
 */
int
tui_reply_report(struct tui *t, const struct host_reply *r, const char *what,
    const char *ok_text)
{
	if (r->status != RPC_CLIENT_OK) {
		tui_reply_error(t, what, r);
		return 0;
	}
	tui_message(t, ROLE_OK, "%s", ok_text);
	return 1;
}

/* --- modal dialogs ---------------------------------------------------- */

static void
tui_modal_close(struct tui *t)
{
	struct modal	*m = &t->modal;
	size_t		 i;

	for (i = 0; i < m->nlines; i++) {
		if (m->secret)
			explicit_bzero(m->lines[i], strlen(m->lines[i]));
		free(m->lines[i]);
	}
	free(m->lines);
	free(m->title);
	free(m->arg);
	if (m->copy != NULL) {
		explicit_bzero(m->copy, strlen(m->copy));
		free(m->copy);
	}
	memset(m, 0, sizeof(*m));
}

static void
tui_modal_open(struct tui *t, enum modal_kind kind, const char *title)
{
	tui_modal_close(t);
	t->modal.kind = kind;
	t->modal.title = xstrdup(title);
}

static void
tui_modal_line(struct tui *t, const char *line)
{
	struct modal	*m = &t->modal;

	m->lines = xreallocarray(m->lines, m->nlines + 1, sizeof(*m->lines));
	m->lines[m->nlines++] = xstrdup(line);
}

/*
 * Text to read until a key is pressed, one line per "\n". secret: the
 * text is wiped when closed (a token shown once).
 */
void
tui_show(struct tui *t, const char *title, enum draw_role role, int secret,
    const char *text)
{
	const char	*nl;
	char		*line;

	tui_modal_open(t, MODAL_TEXT, title);
	t->modal.role = role;
	t->modal.secret = secret;
	for (; *text != '\0'; text = *nl == '\0' ? nl : nl + 1) {
		nl = text + strcspn(text, "\n");
		line = xstrndup(text, nl - text);
		tui_modal_line(t, line);
		if (secret)
			explicit_bzero(line, strlen(line));
		free(line);
	}
}

/*
 * A secret shown once (a new token): text as tui_show's, which stays until
 * the operator presses Enter; c copies secret to their clipboard (OSC 52).
 */
void
tui_show_secret(struct tui *t, const char *title, const char *text,
    const char *secret)
{
	tui_show(t, title, ROLE_WARN, 1, text);
	t->modal.copy = xstrdup(secret);
}

/* An object as "label  value" lines, as cubectl shows one. */
void
tui_show_object(struct tui *t, const char *title,
    const struct output_field *fields, const cJSON *obj)
{
	const struct output_field	*f;
	const cJSON			*item;
	char				*value, *line;

	tui_modal_open(t, MODAL_TEXT, title);
	t->modal.role = ROLE_NORMAL;
	for (f = fields; f->label != NULL; f++) {
		if ((item = output_lookup(obj, f->path)) == NULL)
			continue;
		value = output_value(item, f->format);
		xasprintf(&line, "%-16s %s", f->label, value);
		tui_modal_line(t, line);
		free(line);
		free(value);
	}
}

/* Ask question; y calls yes with arg, anything else says no. */
void
tui_confirm(struct tui *t, const char *question, const char *arg,
    void (*yes)(struct tui *, const char *))
{
	tui_modal_open(t, MODAL_CONFIRM, "confirm");
	t->modal.role = ROLE_WARN;
	tui_modal_line(t, question);
	tui_modal_line(t, "y: yes    n, Esc: no");
	t->modal.arg = xstrdup(arg);
	t->modal.chosen = yes;
}

/* Pick one of items (strings, or objects' field); chosen gets it. */
void
tui_menu(struct tui *t, const char *title, const cJSON *items,
    const char *field, void (*chosen)(struct tui *, const char *))
{
	const cJSON	*item, *v;

	tui_modal_open(t, MODAL_MENU, title);
	t->modal.chosen = chosen;
	cJSON_ArrayForEach(item, items) {
		v = field != NULL ? cJSON_GetObjectItemCaseSensitive(item,
		    field) : item;
		if (cJSON_IsString(v))
			tui_modal_line(t, v->valuestring);
	}
}

void
tui_form(struct tui *t, struct form *f)
{
	form_free(t->form);
	t->form = f;
}

void
tui_form_close(struct tui *t)
{
	form_free(t->form);
	t->form = NULL;
}

static void
tui_modal_key(struct tui *t, int ch)
{
	struct modal	*m = &t->modal;
	void		(*chosen)(struct tui *, const char *) = m->chosen;
	char		*arg = NULL;

	switch (m->kind) {
	case MODAL_TEXT:
		if (m->copy == NULL)
			break;
		/* Shown once: only Enter closes it, c copies it. */
		if (ch == 'c') {
			/* 1: copied; -1, -2: clipboard_copy's why not. */
			m->copied = clipboard_copy(m->copy);
			if (m->copied == 0)
				m->copied = 1;
		}
		if (ch != '\n' && ch != '\r' && ch != KEY_ENTER)
			return;
		break;
	case MODAL_CONFIRM:
		if (ch == 'y' || ch == 'Y')
			arg = xstrdup(m->arg);
		break;
	case MODAL_MENU:
		if ((ch == 'j' || ch == KEY_DOWN) && m->sel + 1 < m->nlines) {
			m->sel++;
			return;
		}
		if ((ch == 'k' || ch == KEY_UP) && m->sel > 0) {
			m->sel--;
			return;
		}
		if (ch != '\n' && ch != '\r' && ch != KEY_ENTER && ch != 27)
			return;
		if (ch != 27 && m->nlines > 0)
			arg = xstrdup(m->lines[m->sel]);
		break;
	default:
		break;
	}
	tui_modal_close(t);
	if (arg != NULL) {
		chosen(t, arg);
		free(arg);
	}
}

static void
tui_modal_draw(struct tui *t)
{
	struct modal	*m = &t->modal;
	size_t		 i, w = strlen(m->title) + 6;
	int		 h, y, x;

	for (i = 0; i < m->nlines; i++)
		if (strlen(m->lines[i]) + 4 > w)
			w = strlen(m->lines[i]) + 4;
	if (w > (size_t)COLS)
		w = COLS;
	h = (int)m->nlines + 2 + (m->kind == MODAL_TEXT);
	if (h > LINES - 2)
		h = LINES - 2;
	y = (LINES - h) / 2;
	x = (COLS - (int)w) / 2;
	draw_box(y, x, h, (int)w, m->title);
	for (i = 0; i < m->nlines && (int)i < h - 2; i++)
		draw_text(y + 1 + (int)i, x + 2, (int)w - 4,
		    m->kind == MODAL_MENU && i == m->sel ? ROLE_SELECTED :
		    i == 0 ? m->role : ROLE_NORMAL, m->lines[i]);
	if (m->kind == MODAL_TEXT)
		draw_text(y + h - 2, x + 2, (int)w - 4, m->copied < 0 ?
		    ROLE_ERROR : ROLE_MUTED, m->copy == NULL ?
		    "any key closes" : m->copied == 1 ?
		    "copied (OSC 52)  Enter closes" : m->copied == -1 ?
		    "too long to copy  Enter closes" : m->copied == -2 ?
		    "could not write to the terminal  Enter closes" :
		    "c copies  Enter closes");
}

/* --- hosts, domains, status ------------------------------------------- */

static void	tui_domains_done(struct tui *, struct host_reply *);

/* The domain in view is name (NULL: none); views start over. */
static void
tui_set_domain(struct tui *t, const char *name)
{
	free(t->domain);
	t->domain = name != NULL ? xstrdup(name) : NULL;
	t->gen++;
	tui_refresh_view(t);
}

void
tui_pick_domain(struct tui *t, const char *name)
{
	tui_set_domain(t, name);
	tui_message(t, ROLE_NORMAL, "domain %s", name);
}

/* The host in view is i: its domains, then the view, start over. */
void
tui_set_host(struct tui *t, size_t i)
{
	const struct view_ops	*v = tui_views[t->view];

	if (v->leave != NULL)
		v->leave(t);
	t->current = i;
	cJSON_Delete(t->domains);
	t->domains = NULL;
	free(t->domain);
	t->domain = NULL;
	t->gen++;
	tui_call(t, "domain.list", NULL, tui_domains_done);
	tui_refresh_view(t);
}

static void
tui_domains_done(struct tui *t, struct host_reply *r)
{
	const cJSON	*only, *name;

	if (r->status != RPC_CLIENT_OK || !cJSON_IsArray(r->result))
		return;
	cJSON_Delete(t->domains);
	t->domains = r->result;
	r->result = NULL;
	/* The only domain is the one in view. */
	if (t->domain == NULL && cJSON_GetArraySize(t->domains) == 1) {
		only = cJSON_GetArrayItem(t->domains, 0);
		name = cJSON_GetObjectItemCaseSensitive(only, "name");
		if (cJSON_IsString(name))
			tui_set_domain(t, name->valuestring);
	}
}

/* The host's domains asked again now (after one was made or changed). */
void
tui_ask_domains(struct tui *t)
{
	tui_call(t, "domain.list", NULL, tui_domains_done);
}

/* Every host's status, now and then, for the header and the fleet. */
static void
tui_poll_status(struct tui *t, int64_t now)
{
	struct host	*h;
	size_t		 i;

	for (i = 0; i < t->nhosts; i++) {
		h = t->hosts[i];
		host_verdict_poll(h, now);	/* at once when it changed */
		if (h->live_at != 0 && now - h->live_at < TUI_STATUS_EVERY_MS)
			continue;
		host_live_poll(h, now);
		if (i == t->current && t->domains == NULL)
			tui_call(t, "domain.list", NULL, tui_domains_done);
	}
}

void
tui_refresh_view(struct tui *t)
{
	const struct view_ops	*v = tui_views[t->view];

	if (v->needs_domain && t->domain == NULL)
		return;
	(*v->refresh)(t);
}

void
tui_switch(struct tui *t, size_t view)
{
	const struct view_ops	*old = tui_views[t->view];

	if (view == t->view)
		return;
	if (old->leave != NULL)
		old->leave(t);
	t->view = view;
	t->filtering = 0;
	tui_refresh_view(t);
}

/* Replies waiting on every host: each to its callback, if not stale. */
static void
tui_take_replies(struct tui *t)
{
	struct host_reply	*r;
	size_t			 i;
	char			 drain[256];

	while (read(t->wake[0], drain, sizeof(drain)) > 0)
		;
	for (i = 0; i < t->nhosts; i++) {
		while ((r = host_take(t->hosts[i])) != NULL) {
			if (r->kind == HOST_REPLY_NOTIFY) {
				if (i == t->current)
					view_logs_notify(t, r);
			} else if (r->done != NULL && (r->gen == 0 ||
			    (i == t->current && r->gen == t->gen)))
				r->done(t, r);
			host_reply_free(r);
		}
	}
	playground_take(t);
}

/* --- drawing ---------------------------------------------------------- */

/* Whose keys the bar and ? list: the model page's over Models. */
static const char *
tui_keys_view(struct tui *t)
{
	if (view_trace_active(t))
		return "Trace";
	return view_model_active() ? "Model" : tui_views[t->view]->name;
}

/* The header: its first line (header.c), then the views' tabs. */
static void
tui_draw_header(struct tui *t)
{
	int	x, i;

	header_draw(t);
	for (i = 0, x = 0; i < TUI_NVIEWS && x < COLS; i++) {
		draw_fmt(1, x, COLS - x, (size_t)i == t->view ?
		    ROLE_SELECTED : ROLE_MUTED, "%d%s", i + 1,
		    tui_views[i]->name);
		x += (int)strlen(tui_views[i]->name) + 2;	/* fits 80 */
	}
}

static void
tui_draw(struct tui *t)
{
	const struct view_ops	*v = tui_views[t->view];
	int			 rows = LINES - 4;
	/* The trace view, over the view in sight, has its own keys. */
	const char		*name = tui_keys_view(t);

	erase();
	tui_draw_header(t);
	if (v->needs_domain && t->domain == NULL)
		draw_text(3, 1, COLS - 2, ROLE_MUTED, t->domains != NULL &&
		    cJSON_GetArraySize(t->domains) == 0 ? "no domains on this"
		    " host (cubectl domain create NAME)" :
		    "no domain in view: press D to pick one");
	else if (view_trace_active(t))
		view_trace_draw(t, 2, rows + 1);
	else
		v->draw(t, 2, rows + 1);
	if (cmdline_active())
		cmdline_draw(t);
	else if (t->filtering) {
		draw_text(LINES - 1, 0, 1, ROLE_NORMAL, "/");
		textfield_draw(&tui_filter_field, LINES - 1, 1, COLS - 1,
		    ROLE_NORMAL, 1);
	}
	else if (t->message[0] != '\0')
		draw_text(LINES - 1, 0, COLS, t->message_role, t->message);
	else if (tui_filter(t)[0] != '\0' && !view_trace_active(t))
		draw_fmt(LINES - 1, 0, COLS, ROLE_MUTED, "filter: %s",
		    tui_filter(t));
	else
		draw_text(LINES - 1, 0, COLS, ROLE_MUTED, keys_bar(name));
	if (playground_active())
		playground_draw(t);
	if (t->form != NULL)
		form_draw(t, t->form);
	if (t->modal.kind != MODAL_NONE)
		tui_modal_draw(t);
	if (keys_help_active())
		keys_help_draw(name);
	refresh();
}

/* --- keys ------------------------------------------------------------- */

static void
tui_filter_open(struct tui *t)
{
	textfield_init(&tui_filter_field, t->filter[t->view], TUI_FILTER_MAX);
	t->filtering = 1;
}

/* Esc clears the filter, Enter keeps it; the text field takes the rest. */
static void
tui_filter_key(struct tui *t, int ch)
{
	if (ch == 27)
		textfield_set(&tui_filter_field, NULL);
	if (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER)
		t->filtering = 0;
	else
		textfield_key(&tui_filter_field, ch);
}

/* The state of a bracketed paste (paste.c). */
static struct paste	tui_paste_state;

/*
 * A paste ended: its text goes into the text field in focus, as text
 * (a newline in it submits nothing); with none in focus it is dropped.
 */
static void
tui_paste(struct tui *t, struct paste *p)
{
	int	used = 1;

	if (cmdline_active())
		cmdline_paste(t, p->buf, p->len);
	else if (t->modal.kind != MODAL_NONE || keys_help_active())
		used = 0;
	else if (t->form != NULL)
		used = form_paste(t, t->form, p->buf, p->len);
	else if (t->filtering)
		textfield_insert(&tui_filter_field, p->buf, p->len);
	else
		used = 0;
	if (!used)
		tui_message(t, ROLE_MUTED, "paste: no text field here");
	else if (p->cut)
		tui_message(t, ROLE_WARN, "paste: cut to %d bytes", PASTE_MAX);
	paste_clear(p);
}

/* A key the view in view does not bind: it does nothing but say so. */
static void
tui_unbound(struct tui *t, int ch)
{
	const char	*name;

	if (ch == 27)
		return;
	if (ch > 0x20 && ch < 0x7f)
		tui_message(t, ROLE_MUTED, "%c: not a key of %s (? lists them)",
		    ch, tui_keys_view(t));
	else if ((name = keyname(ch)) != NULL)
		tui_message(t, ROLE_MUTED, "%.16s: not a key of %s (? lists"
		    " them)", name, tui_keys_view(t));
}

/* A key, after resize and modal dialogs had theirs. */
static void
tui_key(struct tui *t, int ch)
{
	const struct view_ops	*v = tui_views[t->view];

	t->message[0] = '\0';
	/* The model page takes its keys first: Tab, digits, Esc. */
	if (view_model_key(t, ch))
		return;
	if (ch >= '1' && ch <= '9') {
		tui_switch(t, ch - '1');
		return;
	}
	switch (ch) {
	case 'q':
		t->quit = 1;
		return;
	case '?':
		keys_help_open();
		return;
	case '\t':
		tui_switch(t, (t->view + 1) % TUI_NVIEWS);
		return;
	case KEY_BTAB:
		tui_switch(t, (t->view + TUI_NVIEWS - 1) % TUI_NVIEWS);
		return;
	case '/':
		tui_filter_open(t);
		return;
	case ':':
		cmdline_open(t);
		return;
	case 'r':
		tui_refresh_view(t);
		return;
	case 'H':
		tui_set_host(t, (t->current + 1) % t->nhosts);
		return;
	case 'D':
		if (t->domains == NULL)
			tui_message(t, ROLE_MUTED, "no domains known yet");
		else
			tui_menu(t, "domain", t->domains, "name",
			    tui_pick_domain);
		return;
	}
	if (!(v->needs_domain && t->domain == NULL) && !v->key(t, ch))
		tui_unbound(t, ch);
}

/* Route one key: resize, then whatever is on top. */
static void
tui_dispatch(struct tui *t, int ch)
{
	if (ch == KEY_RESIZE) {
		t->rows = LINES;
		t->cols = COLS;
		clearok(curscr, TRUE);
		return;
	}
	/* The playground has every key while open (Ctrl-L clears it). */
	if (playground_active() && !cmdline_active() &&
	    t->modal.kind == MODAL_NONE && t->form == NULL) {
		playground_key(t, ch);
		return;
	}
	if (ch == 12) {		/* Ctrl-L, on any screen */
		clearok(curscr, TRUE);
		return;
	}
	if (cmdline_active())
		cmdline_key(t, ch);
	else if (t->modal.kind != MODAL_NONE)
		tui_modal_key(t, ch);
	else if (t->form != NULL) {
		if (!form_key(t, t->form, ch))
			tui_form_close(t);
	} else if (t->filtering)
		tui_filter_key(t, ch);
	else if (keys_help_active())
		keys_help_key(tui_keys_view(t), ch);
	else if (view_trace_active(t)) {
		/* Another key leaves the trace for the view below. */
		if (!view_trace_key(t, ch)) {
			view_trace_close();
			tui_key(t, ch);
		}
	} else
		tui_key(t, ch);
}

/* --- start ------------------------------------------------------------- */

static const struct args_flag tui_flags[] = {
	{ .name = "-s", .type = ARGS_STRING, .metavar = "SOCKET",
	  .help = "the agent's admin socket (on each host)" },
	{ .name = "-F", .type = ARGS_STRING, .metavar = "SSH_CONFIG",
	  .help = "ssh configuration file, as ssh -F" },
	{ .name = "-i", .type = ARGS_STRING, .metavar = "IDENTITY",
	  .help = "ssh identity file, as ssh -i" },
	{ .name = "--policy", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "the attestation policy, cube-attest-policy(5)" },
	{ .name = "-h", .alias = "--help", .type = ARGS_SWITCH,
	  .help = "show help and exit" },
	{ .name = "--version", .type = ARGS_SWITCH,
	  .help = "show the version and exit" },
	{ .name = NULL }
};

static void
tui_usage(FILE *f)
{
	fprintf(f, "usage: cube-tui [-s SOCKET] [-F SSH_CONFIG] [-i IDENTITY]"
	    " [--policy FILE] [HOST...]\n\nHOST is [user@]host[:port] or"
	    " local (default: the hosts in ~/.config/cube/hosts,\nelse local)."
	    " FILE is the attestation policy (default:\n"
	    "~/.config/cube/attest-policy.json when there is one).\n");
}

/* The hosts to show: the command line's, the hosts file's, or local. */
static int
tui_hosts(char **argv, size_t argc, char **names, size_t max)
{
	char	*path, err[512];
	size_t	 i;
	int	 n;

	if (argc > max) {
		fprintf(stderr, "cube-tui: more than %zu hosts\n", max);
		return -1;
	}
	for (i = 0; i < argc; i++)
		names[i] = xstrdup(argv[i]);
	if (argc > 0)
		return (int)argc;
	if ((path = hosts_path()) != NULL && access(path, F_OK) == 0) {
		n = hosts_read(path, names, max, err, sizeof(err));
		if (n == -1)
			fprintf(stderr, "cube-tui: %s\n", err);
		free(path);
		if (n != 0)
			return n;
	} else
		free(path);
	names[0] = xstrdup("local");
	return 1;
}

/*
 * The attestation policy: --policy's file, else the one in the config
 * directory when there is one, else none (the defaults). Its collateral
 * is read now, once. Returns 0, or -1 having said why.
 */
static int
tui_policy(struct tui *t, const char *path)
{
	const char	*dir;
	char		*found = NULL, err[1024];

	verify_policy_init(&t->policy);
	if (path == NULL) {
		if ((dir = getenv("XDG_CONFIG_HOME")) != NULL && *dir == '/')
			xasprintf(&found, "%s/cube/attest-policy.json", dir);
		else if ((dir = getenv("HOME")) != NULL && *dir != '\0')
			xasprintf(&found, "%s/.config/cube/attest-policy.json",
			    dir);
		if (found == NULL || access(found, F_OK) != 0) {
			free(found);
			return 0;
		}
		path = found;
	}
	if (verify_policy_load(&t->policy, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "cube-tui: %s%s\n", found == NULL ?
		    "--policy: " : "", err);
		verify_policy_free(&t->policy);
		free(found);
		return -1;
	}
	t->policy_path = found != NULL ? found : xstrdup(path);
	return 0;
}

static void
tui_loop(struct tui *t)
{
	struct pollfd	pfd[2];
	int64_t		now, refreshed = host_live_now();
	int		ch;

	pfd[0].fd = STDIN_FILENO;
	pfd[0].events = POLLIN;
	pfd[1].fd = t->wake[0];
	pfd[1].events = POLLIN;
	while (!t->quit) {
		now = host_live_now();
		tui_poll_status(t, now);
		if (now - refreshed >= TUI_REFRESH_EVERY_MS &&
		    t->form == NULL && t->modal.kind == MODAL_NONE) {
			refreshed = now;
			tui_refresh_view(t);
		}
		tui_draw(t);
		if (poll(pfd, 2, TUI_TICK_MS) == -1 && errno != EINTR)
			fatal("poll");
		tui_take_replies(t);
		now = host_live_now();
		while ((ch = textfield_getkey()) != ERR && !t->quit) {
			switch (paste_feed(&tui_paste_state, ch, now)) {
			case PASTE_PASS:
				tui_dispatch(t, ch);
				break;
			case PASTE_TAKEN:
				break;
			case PASTE_DONE:
				tui_paste(t, &tui_paste_state);
				break;
			}
		}
		if (paste_tick(&tui_paste_state, now) == PASTE_DONE)
			tui_paste(t, &tui_paste_state);
	}
}

int
main(int argc, char **argv)
{
	struct tui		 t;
	struct args		 a;
	const struct args_value	*v;
	const char		*sock = NULL, *cfg = NULL, *id = NULL;
	char			*names[HOSTS_MAX], err[512];
	size_t			 i;
	int			 n;

	setlocale(LC_ALL, "");
	log_init("cube-tui", 0);
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	n = args_parse(&a, tui_flags, NULL, argc - 1, argv + 1, 0, err,
	    sizeof(err));
	if (n == -1) {
		fprintf(stderr, "cube-tui: %s\n", err);
		tui_usage(stderr);
		return EXIT_USAGE;
	}
	if (args_has(&a, "--help") || args_has(&a, "--version")) {
		if (args_has(&a, "--help"))
			tui_usage(stdout);
		else
			printf("cube-tui %s\n", CUBECTL_VERSION);
		args_free(&a);
		return EXIT_OK;
	}
	if ((v = args_get(&a, "-s")) != NULL)
		sock = v->string;
	if ((v = args_get(&a, "-F")) != NULL)
		cfg = v->string;
	if ((v = args_get(&a, "-i")) != NULL)
		id = v->string;
	memset(&t, 0, sizeof(t));
	v = args_get(&a, "--policy");
	if (tui_policy(&t, v != NULL ? v->string : NULL) == -1) {
		args_free(&a);
		return EXIT_USAGE;
	}
	if ((n = tui_hosts(a.positional, a.npositional, names,
	    HOSTS_MAX)) == -1) {
		verify_policy_free(&t.policy);
		free(t.policy_path);
		args_free(&a);
		return EXIT_USAGE;
	}

	t.gen = 1;
	if (pipe2(t.wake, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe");
	t.nhosts = (size_t)n;
	t.hosts = xcalloc(t.nhosts, sizeof(*t.hosts));
	for (i = 0; i < t.nhosts; i++) {
		t.hosts[i] = host_new(names[i], sock, cfg, id, t.wake[1]);
		free(names[i]);
	}
	args_free(&a);

	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	draw_init(getenv("NO_COLOR") == NULL || *getenv("NO_COLOR") == '\0');
	/* Bracketed paste: pasted text arrives marked, never as keys. */
	paste_init();
	fputs("\033[?2004h", stdout);
	fflush(stdout);
	/* One host: its overview; several: the fleet. */
	t.view = t.nhosts > 1 ? 0 : 1;
	tui_set_host(&t, 0);
	tui_loop(&t);
	fputs("\033[?2004l", stdout);
	fflush(stdout);
	endwin();

	if (tui_views[t.view]->leave != NULL)
		tui_views[t.view]->leave(&t);
	tui_modal_close(&t);
	tui_form_close(&t);
	playground_close(&t);
	for (i = 0; i < t.nhosts; i++)
		host_free(t.hosts[i]);
	free(t.hosts);
	cJSON_Delete(t.domains);
	free(t.domain);
	verify_policy_free(&t.policy);
	free(t.policy_path);
	close(t.wake[0]);
	close(t.wake[1]);
	return EXIT_OK;
}
