/*
 * cube-tui's playground: a chat with one model of the domain in view, run
 * by the agent through the pipeline its clients' requests take
 * (model.chat), so over SSH too. It has a connection of its own (a
 * private struct host), so the dashboard's calls never wait behind a long
 * answer. The transcript wraps and scrolls; the input is a text field.
 * Runs on the main thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "log.h"
#include "xmalloc.h"

#define PLAY_TURNS_MAX		64		/* the oldest go first */
#define PLAY_TEXT_MAX		(256 * 1024)	/* bytes of one turn */
#define PLAY_INPUT_MAX		4096
#define PLAY_LINE_MAX		4096		/* bytes drawn of a line */
#define PLAY_TIMEOUT_MS		(10 * 60 * 1000)
#define PLAY_LABEL		7		/* columns of "model  " */

enum play_role {
	PLAY_USER,
	PLAY_MODEL,
	PLAY_NOTE,		/* request id, tokens, cost */
	PLAY_ERROR,		/* a refusal, in the agent's words */
};

struct play_turn {
	enum play_role	 role;
	char		*text;
	size_t		 len;
	int		 context;	/* sent with the next question */
};

struct play_line {
	size_t		 turn;
	size_t		 off;
	size_t		 len;
	int		 first;		/* the turn's first: has its label */
};

static struct {
	int			 active;
	struct host		*host;		/* the private connection */
	const struct host	*of;		/* the dashboard's it copies */
	char			*key;
	char			*domain;
	struct play_turn	 turns[PLAY_TURNS_MAX];
	size_t			 nturns;
	char			 input[PLAY_INPUT_MAX];
	struct textfield	 field;
	int			 busy;
	unsigned		 seq;		/* of the call answers are for */
	int			 scroll;	/* lines up from the bottom */
	int			 body;		/* transcript rows last drawn */
} play;

static void
play_turn_clear(struct play_turn *pt)
{
	if (pt->text != NULL)
		explicit_bzero(pt->text, pt->len);
	free(pt->text);
	memset(pt, 0, sizeof(*pt));
}

static void
play_clear(void)
{
	size_t	i;

	for (i = 0; i < play.nturns; i++)
		play_turn_clear(&play.turns[i]);
	play.nturns = 0;
	play.scroll = 0;
	play.busy = 0;
	play.seq++;		/* an answer still coming is not shown */
}

static struct play_turn *
play_add(enum play_role role, const char *text)
{
	struct play_turn	*pt;

	if (play.nturns == PLAY_TURNS_MAX) {
		play_turn_clear(&play.turns[0]);
		memmove(&play.turns[0], &play.turns[1],
		    (PLAY_TURNS_MAX - 1) * sizeof(play.turns[0]));
		play.nturns--;
		memset(&play.turns[play.nturns], 0, sizeof(play.turns[0]));
	}
	pt = &play.turns[play.nturns++];
	pt->role = role;
	pt->len = strlen(text);
	if (pt->len > PLAY_TEXT_MAX)
		pt->len = PLAY_TEXT_MAX;
	pt->text = xmalloc(pt->len + 1);
	memcpy(pt->text, text, pt->len);
	pt->text[pt->len] = '\0';
	pt->context = role == PLAY_USER || role == PLAY_MODEL;
	return pt;
}

/* Append a piece of the answer to the last turn, up to PLAY_TEXT_MAX. */
static void
play_append(struct play_turn *pt, const char *s)
{
	size_t	n = strlen(s);

	if (pt->len + n > PLAY_TEXT_MAX)
		n = PLAY_TEXT_MAX - pt->len;
	if (n == 0)
		return;
	pt->text = xreallocarray(pt->text, 1, pt->len + n + 1);
	memcpy(pt->text + pt->len, s, n);
	pt->len += n;
	pt->text[pt->len] = '\0';
}

/* --- talking to the agent -------------------------------------------- */

/* The conversation so far, as the messages the model is sent. */
static cJSON *
play_messages(void)
{
	cJSON	*messages, *m;
	size_t	 i;

	if ((messages = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < play.nturns; i++) {
		if (!play.turns[i].context || play.turns[i].len == 0)
			continue;
		if ((m = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(m, "role", play.turns[i].role ==
		    PLAY_USER ? "user" : "assistant") == NULL ||
		    cJSON_AddStringToObject(m, "content",
		    play.turns[i].text) == NULL)
			fatalx("%s: out of memory", __func__);
		cJSON_AddItemToArray(messages, m);
	}
	return messages;
}

/* The last turn, when it is the answer being streamed. */
static struct play_turn *
play_answer(void)
{
	if (!play.busy || play.nturns == 0 ||
	    play.turns[play.nturns - 1].role != PLAY_MODEL)
		return NULL;
	return &play.turns[play.nturns - 1];
}

/* A refused question is not asked again with the next one. */
static void
play_refused(const char *why)
{
	struct play_turn	*pt;
	size_t			 i;

	if ((pt = play_answer()) != NULL && pt->len == 0) {
		play_turn_clear(pt);
		play.nturns--;
	} else if (pt != NULL)
		pt->context = 0;
	for (i = play.nturns; i > 0; i--)
		if (play.turns[i - 1].role == PLAY_USER) {
			play.turns[i - 1].context = 0;
			break;
		}
	play_add(PLAY_ERROR, why);
}

static void
play_done(struct tui *t, struct host_reply *r)
{
	const cJSON	*error, *msg, *id, *usage, *in, *out, *cost, *finish;
	char		 note[256], why[512];

	(void)t;
	if (r->status != RPC_CLIENT_OK) {
		snprintf(why, sizeof(why), "%s", host_is_unsupported(r) ?
		    "this agent has no playground (model.chat): upgrade it" :
		    r->err);
		play_refused(why);
		play.busy = 0;
		return;
	}
	error = cJSON_GetObjectItemCaseSensitive(r->result, "error");
	if (error != NULL) {
		msg = cJSON_GetObjectItemCaseSensitive(error, "message");
		play_refused(cJSON_IsString(msg) ? msg->valuestring :
		    "the request failed");
	}
	id = cJSON_GetObjectItemCaseSensitive(r->result, "request_id");
	usage = cJSON_GetObjectItemCaseSensitive(r->result, "usage");
	in = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
	out = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
	cost = cJSON_GetObjectItemCaseSensitive(r->result, "cost_usd");
	finish = cJSON_GetObjectItemCaseSensitive(r->result, "finish_reason");
	if (cJSON_IsNumber(in) && cJSON_IsNumber(out))
		snprintf(note, sizeof(note), "request %.32s  %d+%d tokens"
		    "  $%s%s%s", cJSON_IsString(id) ?
		    id->valuestring : "-", in->valueint, out->valueint,
		    cJSON_IsString(cost) ? cost->valuestring : "?",
		    cJSON_IsString(finish) && strcmp(finish->valuestring,
		    "stop") != 0 ? "  finish " : "", cJSON_IsString(finish) &&
		    strcmp(finish->valuestring, "stop") != 0 ?
		    finish->valuestring : "");
	else
		snprintf(note, sizeof(note), "request %.32s",
		    cJSON_IsString(id) ? id->valuestring : "-");
	play_add(PLAY_NOTE, note);
	play.busy = 0;
	play.scroll = 0;
}

/* Replies of the private connection: deltas, then the call's answer. */
void
playground_take(struct tui *t)
{
	struct play_turn	*pt;
	struct host_reply	*r;
	const cJSON		*content;

	if (play.host == NULL)
		return;
	while ((r = host_take(play.host)) != NULL) {
		if (r->kind == HOST_REPLY_NOTIFY) {
			content = cJSON_GetObjectItemCaseSensitive(r->result,
			    "content");
			if (r->method != NULL && strcmp(r->method,
			    "model.chat.delta") == 0 && cJSON_IsString(content) &&
			    (pt = play_answer()) != NULL)
				play_append(pt, content->valuestring);
		} else if (r->done != NULL && r->gen == play.seq)
			r->done(t, r);
		host_reply_free(r);
	}
}

static void
play_send(struct tui *t)
{
	cJSON	*params;

	if (play.busy) {
		tui_message(t, ROLE_MUTED, "the model is still answering");
		return;
	}
	if (play.field.len == 0)
		return;
	play_add(PLAY_USER, play.input);
	textfield_set(&play.field, "");
	if ((params = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(params, "domain", play.domain) == NULL ||
	    cJSON_AddStringToObject(params, "key", play.key) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToObject(params, "messages", play_messages());
	play_add(PLAY_MODEL, "");
	play.busy = 1;
	play.scroll = 0;
	host_call(play.host, "model.chat", params, play_done, ++play.seq);
}

/* --- the pane ---------------------------------------------------------- */

void
playground_open(struct tui *t, const char *key)
{
	struct host	*h = tui_host(t);

	if (t->domain == NULL) {
		tui_message(t, ROLE_MUTED, "no domain in view: press D to pick"
		    " one");
		return;
	}
	if (play.host != NULL && play.of != h) {
		host_free(play.host);
		play.host = NULL;
	}
	if (play.host == NULL) {
		play.host = host_new_timed(h->name, h->socket, h->ssh_config,
		    h->identity, t->wake[1], PLAY_TIMEOUT_MS);
		play.of = h;
	}
	play_clear();
	free(play.key);
	free(play.domain);
	play.key = xstrdup(key);
	play.domain = xstrdup(t->domain);
	textfield_init(&play.field, play.input, sizeof(play.input));
	play.active = 1;
	t->message[0] = '\0';
}

int
playground_active(void)
{
	return play.active;
}

void
playground_close(struct tui *t)
{
	(void)t;
	play_clear();
	explicit_bzero(play.input, sizeof(play.input));
	host_free(play.host);
	play.host = NULL;
	free(play.key);
	free(play.domain);
	play.key = play.domain = NULL;
	play.active = 0;
}

void
playground_key(struct tui *t, int ch)
{
	int	page = play.body > 2 ? play.body - 1 : 1;

	t->message[0] = '\0';
	switch (ch) {
	case 27:
		play.active = 0;
		explicit_bzero(play.input, sizeof(play.input));
		return;
	case 12:		/* Ctrl-L: a new conversation, a full repaint */
		play_clear();
		clearok(curscr, TRUE);
		return;
	case '\n':
	case '\r':
	case KEY_ENTER:
		play_send(t);
		return;
	case KEY_PPAGE:
		play.scroll += page;
		return;
	case KEY_NPAGE:
		play.scroll = play.scroll > page ? play.scroll - page : 0;
		return;
	case KEY_UP:
		play.scroll++;
		return;
	case KEY_DOWN:
		if (play.scroll > 0)
			play.scroll--;
		return;
	}
	textfield_key(&play.field, ch);
}

/* The transcript's lines at width, into *lines (caller frees). */
static size_t
play_layout(int width, struct play_line **lines)
{
	struct play_line	*v = NULL;
	size_t			 n = 0, cap = 0, i, off, next, len;
	const char		*s;

	for (i = 0; i < play.nturns; i++) {
		s = play.turns[i].text;
		off = 0;
		do {
			len = wrap_line(s + off, play.turns[i].len - off,
			    width, &next);
			if (n == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n].turn = i;
			v[n].off = off;
			v[n].len = len;
			v[n].first = off == 0;
			n++;
			off += next;
		} while (off < play.turns[i].len);
	}
	*lines = v;
	return n;
}

static void
play_draw_input(int y, int width)
{
	char		 seg[PLAY_INPUT_MAX + 1];
	size_t		 from, end, i, l, n = 0;
	uint32_t	 cp;
	int		 col, w;

	draw_text(y, 0, 2, ROLE_SELECTED, "> ");
	from = textfield_view(&play.field, width - 2, &end, &col);
	for (i = from; i < end; i += l) {
		if ((l = textfield_decode(play.input + i, end - i, &cp)) == 0)
			break;
		if ((w = textfield_cp_width(cp)) == 0)
			continue;
		if (w < 0)
			seg[n++] = '?';
		else {
			memcpy(seg + n, play.input + i, l);
			n += l;
		}
	}
	seg[n] = '\0';
	draw_text(y, 2, width - 2, ROLE_NORMAL, seg);
	draw_text(y, 2 + col, 1, ROLE_SELECTED, play.field.cur <
	    play.field.len ? "|" : "_");
}

void
playground_draw(struct tui *t)
{
	static const char *const labels[] = { "you", "model", "", "error" };
	static const enum draw_role roles[] = { ROLE_OK, ROLE_NORMAL,
	    ROLE_MUTED, ROLE_ERROR };
	struct play_line	*lines;
	struct play_turn	*pt;
	char			 buf[PLAY_LINE_MAX + 1];
	size_t			 n, i, start, len;
	int			 width = COLS - PLAY_LABEL, rows, y, max;

	(void)t;
	for (y = 2; y < LINES; y++) {
		move(y, 0);
		clrtoeol();
	}
	draw_fmt(2, 0, COLS, ROLE_SELECTED, "Playground: %s in %s%s",
	    play.key, play.domain, play.busy ? "  (answering...)" : "");
	rows = LINES - 6;
	play.body = rows;
	if (width < 10 || rows < 1)
		return;
	n = play_layout(width, &lines);
	max = n > (size_t)rows ? (int)(n - (size_t)rows) : 0;
	if (play.scroll > max)
		play.scroll = max;
	start = n > (size_t)rows ? n - (size_t)rows - (size_t)play.scroll : 0;
	for (i = start, y = 3; i < n && y < 3 + rows; i++, y++) {
		pt = &play.turns[lines[i].turn];
		if (lines[i].first)
			draw_text(y, 0, PLAY_LABEL - 1, roles[pt->role] ==
			    ROLE_NORMAL ? ROLE_MUTED : roles[pt->role],
			    labels[pt->role]);
		len = lines[i].len < PLAY_LINE_MAX ? lines[i].len :
		    PLAY_LINE_MAX;
		memcpy(buf, pt->text + lines[i].off, len);
		buf[len] = '\0';
		draw_text(y, PLAY_LABEL, width, roles[pt->role], buf);
	}
	free(lines);
	if (play.scroll > 0)
		draw_fmt(3 + rows, 0, COLS, ROLE_MUTED, "-- %d more below"
		    " (PgDn) --", play.scroll);
	play_draw_input(LINES - 2, COLS);
	draw_text(LINES - 1, 0, COLS, ROLE_MUTED, "Enter send  Esc leave"
	    "  Ctrl-L clear  PgUp/PgDn scroll  Ctrl-U/Ctrl-W edit");
}
