/*
 * The guardrail editor (Guardrails' n and e): every field guardrail.create
 * and edit take, and a test box under them. As the operator types, the
 * agent runs the text through the guardrail as edited, not yet saved
 * (guardrail.test with an inline spec), and the box shows the result, the
 * text with each match marked, and the hits. Asking waits for a pause in
 * the typing and one question at a time, so typing never waits on it.
 * Runs on cube-tui's main thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

#define FORM_GUARDRAIL_PATTERNS	4	/* pattern fields shown */
#define FORM_GUARDRAIL_PAUSE_MS	200	/* typing pause before a test */
#define FORM_GUARDRAIL_SHOW_MAX	1024	/* bytes of a result kept */
#define FORM_GUARDRAIL_ROWS	3	/* the test box, below the fields */

static const char *const form_guardrail_kinds[] = {
	"pii", "regex", "keywords", "length", NULL
};
static const char *const form_guardrail_actions[] = {
	"redact", "block", "log", NULL
};
static const char *const form_guardrail_pattern_labels[] = {
	"pattern", "pattern 2", "pattern 3", "pattern 4"
};

/* The editor open now, and its test box. */
static struct form_guardrail {
	struct form	*form;		/* NULL: none open */
	unsigned	 opened;	/* bumped each time one opens */
	char		 key[129];	/* edit: the guardrail's; "": new */
	void		(*saved)(struct tui *);
	unsigned	 rev;		/* bumped at each change */
	int64_t		 changed_at;	/* ms, of the last change */
	/* The test in flight, and the last answer: */
	int		 pending;
	unsigned	 pending_opened;
	unsigned	 pending_rev;
	unsigned	 shown_rev;	/* what the box shows is of this rev */
	int		 shown;		/* 0: nothing to show */
	int		 failed;	/* the agent refused the spec */
	char		 result[32];
	char		 text[FORM_GUARDRAIL_SHOW_MAX];
	char		 hits[256];
} form_guardrail;

static void	form_guardrail_test(struct tui *);
static void	form_guardrail_submit(struct tui *, struct form *);

/* The editor, if it is the form on screen; else NULL. */
static struct form *
form_guardrail_live(struct tui *t)
{
	struct form	*f = form_guardrail.form;

	if (f == NULL || t->form != f || f->submit != form_guardrail_submit)
		return NULL;
	return f;
}

/* A choice field of a NULL-ended list, keep chosen if it is one. */
static void
form_guardrail_choices(struct form *f, const char *label,
    const char *const *names, const char *keep)
{
	struct form_field	*ff;
	cJSON			*a = cJSON_CreateArray();
	size_t			 i;

	for (i = 0; names[i] != NULL; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
	ff = form_add(f, label, label, FORM_CHOICE);
	form_set_choices(ff, a, keep);
	cJSON_Delete(a);
}

/* A JSON array of strings as "a, b, c" (what the list fields hold). */
static void
form_guardrail_join(struct form_field *ff, const cJSON *a)
{
	const cJSON	*s;
	char		 buf[FORM_VALUE_MAX];
	size_t		 n = 0;
	int		 w;

	buf[0] = '\0';
	cJSON_ArrayForEach(s, a) {
		if (!cJSON_IsString(s))
			continue;
		w = snprintf(buf + n, sizeof(buf) - n, "%s%s",
		    n > 0 ? ", " : "", s->valuestring);
		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			break;	/* too long for the field: cut whole */
		n += (size_t)w;
	}
	form_set(ff, buf);
}

/* "a, b , c" as a JSON array of the trimmed, non-empty parts. */
static cJSON *
form_guardrail_split(const char *s)
{
	cJSON		*a = cJSON_CreateArray();
	const char	*end;
	size_t		 n;
	char		*part;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		end = strchr(s, ',');
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (n > 0) {
			part = xstrndup(s, n);
			cJSON_AddItemToArray(a, cJSON_CreateString(part));
			free(part);
		}
		if (end == NULL)
			break;
		s = end + 1;
	}
	return a;
}

/* A whole number field: 1 set (in *n), 0 empty, -1 not a number. */
static int
form_guardrail_int(const char *s, long long *n)
{
	char	*end;

	if (*s == '\0')
		return 0;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 1;
}

/*
 * The guardrail the fields describe, as create's parameters (without
 * domain and key). For edit (clear set), the parameters of the kind
 * that are empty go as null, so that they are cleared. NULL with a
 * message in f->error when a field is not right.
 */
static cJSON *
form_guardrail_spec(struct form *f, int clear)
{
	const char	*kind = form_value(f, "kind"), *v;
	cJSON		*p = cJSON_CreateObject(), *a, *patterns;
	long long	 n;
	size_t		 i;
	int		 rc;

	cJSON_AddStringToObject(p, "kind", kind);
	cJSON_AddStringToObject(p, "action", form_value(f, "action"));
	if (strcmp(kind, "pii") == 0) {
		a = form_guardrail_split(form_value(f, "types"));
		if (cJSON_GetArraySize(a) > 0)
			cJSON_AddItemToObject(p, "types", a);
		else {
			cJSON_Delete(a);
			if (clear)
				cJSON_AddNullToObject(p, "types");
		}
	} else if (strcmp(kind, "regex") == 0) {
		patterns = cJSON_CreateArray();
		for (i = 0; i < FORM_GUARDRAIL_PATTERNS; i++) {
			v = form_value(f, form_guardrail_pattern_labels[i]);
			if (*v != '\0')
				cJSON_AddItemToArray(patterns,
				    cJSON_CreateString(v));
		}
		cJSON_AddItemToObject(p, "patterns", patterns);
	} else if (strcmp(kind, "keywords") == 0)
		cJSON_AddItemToObject(p, "words",
		    form_guardrail_split(form_value(f, "words")));
	else if (strcmp(kind, "length") == 0) {
		for (i = 0; i < 2; i++) {
			v = i == 0 ? "max_chars" : "max_messages";
			if ((rc = form_guardrail_int(form_value(f, v), &n)) ==
			    -1) {
				snprintf(f->error, sizeof(f->error), "%s: a"
				    " whole number, or empty", form_get(f,
				    v)->label);
				cJSON_Delete(p);
				return NULL;
			}
			if (rc == 1)
				cJSON_AddNumberToObject(p, v, (double)n);
			else if (clear)
				cJSON_AddNullToObject(p, v);
		}
	}
	return p;
}

static void
form_guardrail_saved(struct tui *t, struct host_reply *r)
{
	struct form	*f = form_guardrail_live(t);

	if (f == NULL)
		return;
	if (r->status != RPC_CLIENT_OK) {
		f->busy = 0;
		snprintf(f->error, sizeof(f->error), "%s", r->err);
		return;
	}
	tui_message(t, ROLE_OK, "guardrail %s saved", form_guardrail.key[0] !=
	    '\0' ? form_guardrail.key : form_value(f, "key"));
	tui_form_close(t);
	form_guardrail.form = NULL;
	if (form_guardrail.saved != NULL)
		form_guardrail.saved(t);
}

static void
form_guardrail_submit(struct tui *t, struct form *f)
{
	int	 edit = form_guardrail.key[0] != '\0';
	cJSON	*p;

	if ((p = form_guardrail_spec(f, edit)) == NULL)
		return;
	cJSON_AddStringToObject(p, "domain", t->domain);
	cJSON_AddStringToObject(p, "key", edit ? form_guardrail.key :
	    form_value(f, "key"));
	cJSON_AddStringToObject(p, "description", form_value(f,
	    "description"));
	f->busy = 1;
	tui_call(t, edit ? "guardrail.edit" : "guardrail.create", p,
	    form_guardrail_saved);
}

/* A field changed: test again once the typing pauses. */
static void
form_guardrail_changed(struct tui *t, struct form *f)
{
	(void)t;
	(void)f;
	form_guardrail.rev++;
	form_guardrail.changed_at = host_live_now();
}

/* s into buf (size bytes), cut if need be before a whole character. */
static void
form_guardrail_keep(char *buf, size_t size, const char *s)
{
	size_t	n = strlen(s);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static void
form_guardrail_tested(struct tui *t, struct host_reply *r)
{
	struct form_guardrail	*fg = &form_guardrail;
	const cJSON		*v, *h, *type, *count;
	size_t			 n = 0;
	int			 w;

	fg->pending = 0;
	if (form_guardrail_live(t) == NULL ||
	    fg->pending_opened != fg->opened)
		return;
	fg->shown = 1;
	fg->shown_rev = fg->pending_rev;
	fg->hits[0] = '\0';
	if (r->status != RPC_CLIENT_OK) {
		fg->failed = 1;
		snprintf(fg->result, sizeof(fg->result), "not valid");
		snprintf(fg->text, sizeof(fg->text), "%s", r->err);
		return;
	}
	fg->failed = 0;
	v = cJSON_GetObjectItemCaseSensitive(r->result, "result");
	snprintf(fg->result, sizeof(fg->result), "%s", cJSON_IsString(v) ?
	    v->valuestring : "?");
	v = cJSON_GetObjectItemCaseSensitive(r->result, "text");
	form_guardrail_keep(fg->text, sizeof(fg->text), cJSON_IsString(v) ?
	    v->valuestring : "");
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(r->result,
	    "hits")) {
		type = cJSON_GetObjectItemCaseSensitive(h, "type");
		count = cJSON_GetObjectItemCaseSensitive(h, "count");
		if (!cJSON_IsString(type) || !cJSON_IsNumber(count))
			continue;
		w = snprintf(fg->hits + n, sizeof(fg->hits) - n, "%s%s x%d",
		    n > 0 ? ", " : "", type->valuestring, count->valueint);
		if (w < 0 || (size_t)w >= sizeof(fg->hits) - n)
			break;
		n += (size_t)w;
	}
	form_guardrail_test(t);	/* typed on while it was asked */
}

/*
 * Ask the agent about the test text, if it changed since the last
 * answer, the typing paused, and no question is in flight.
 */
static void
form_guardrail_test(struct tui *t)
{
	struct form_guardrail	*fg = &form_guardrail;
	struct form		*f = form_guardrail_live(t);
	cJSON			*p;

	if (f == NULL || fg->pending || (fg->shown && fg->shown_rev ==
	    fg->rev) || host_live_now() - fg->changed_at <
	    FORM_GUARDRAIL_PAUSE_MS)
		return;
	if (*form_value(f, "test text") == '\0' || t->domain == NULL) {
		fg->shown = 0;
		fg->shown_rev = fg->rev;
		return;
	}
	f->error[0] = '\0';
	if ((p = form_guardrail_spec(f, 0)) == NULL) {
		fg->shown = 0;
		fg->shown_rev = fg->rev;
		return;
	}
	cJSON_AddStringToObject(p, "domain", t->domain);
	cJSON_AddStringToObject(p, "text", form_value(f, "test text"));
	fg->pending = 1;
	fg->pending_opened = fg->opened;
	fg->pending_rev = fg->rev;
	tui_call(t, "guardrail.test", p, form_guardrail_tested);
}

/* The test box, under the fields; asks again when it is due. */
static void
form_guardrail_draw(struct tui *t, struct form *f, int y, int x)
{
	struct form_guardrail	*fg = &form_guardrail;
	enum draw_role		 role;
	int			 w = (COLS < 76 ? COLS : 76) - 4;

	(void)f;
	form_guardrail_test(t);
	if (!fg->shown) {
		draw_text(y, x, w, ROLE_MUTED, *form_value(f, "test text") ==
		    '\0' ? "type a test text: it is checked as you edit" :
		    "testing...");
		return;
	}
	if (fg->failed)
		role = ROLE_ERROR;
	else if (strcmp(fg->result, "pass") == 0)
		role = ROLE_OK;
	else if (strcmp(fg->result, "blocked") == 0)
		role = ROLE_ERROR;
	else
		role = ROLE_WARN;
	if (fg->shown_rev != fg->rev)
		role = ROLE_STALE;
	draw_fmt(y, x, w, role, "result: %s%s%s", fg->result,
	    fg->hits[0] != '\0' ? "  hits: " : "", fg->hits);
	draw_text(y + 1, x, w, fg->shown_rev != fg->rev ? ROLE_STALE :
	    ROLE_NORMAL, fg->text);
}

/*
 * Open the editor: g NULL for a new guardrail, else the guardrail.list
 * object to edit (its key cannot change: it is in the title). saved runs
 * after a save, to refresh the list.
 */
void
form_guardrail_open(struct tui *t, const cJSON *g, void (*saved)(struct tui *))
{
	struct form_guardrail	*fg = &form_guardrail;
	struct form		*f;
	const cJSON		*key, *v, *s, *patterns;
	char			 title[160], num[32];
	size_t			 i;

	key = cJSON_GetObjectItemCaseSensitive(g, "key");
	memset(fg->key, 0, sizeof(fg->key));
	if (cJSON_IsString(key))
		snprintf(fg->key, sizeof(fg->key), "%s", key->valuestring);
	snprintf(title, sizeof(title), fg->key[0] != '\0' ?
	    "edit guardrail %s" : "new guardrail", fg->key);
	f = form_new(title, FORM_GUARDRAIL_ROWS);
	if (fg->key[0] == '\0')
		form_add(f, "key", "key", FORM_TEXT);
	form_guardrail_choices(f, "kind", form_guardrail_kinds,
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g,
	    "kind")));
	form_guardrail_choices(f, "action", form_guardrail_actions,
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g,
	    "action")));
	form_guardrail_join(form_add(f, "types", NULL, FORM_TEXT),
	    cJSON_GetObjectItemCaseSensitive(g, "types"));
	patterns = cJSON_GetObjectItemCaseSensitive(g, "patterns");
	for (i = 0; i < FORM_GUARDRAIL_PATTERNS; i++)
		form_add(f, form_guardrail_pattern_labels[i], NULL, FORM_TEXT);
	i = 0;
	cJSON_ArrayForEach(s, patterns) {
		if (i == FORM_GUARDRAIL_PATTERNS)
			break;
		if (cJSON_IsString(s))
			form_set(form_get(f, form_guardrail_pattern_labels[i++]),
			    s->valuestring);
	}
	form_guardrail_join(form_add(f, "words", NULL, FORM_TEXT),
	    cJSON_GetObjectItemCaseSensitive(g, "words"));
	form_add(f, "max chars", "max_chars", FORM_TEXT);
	form_add(f, "max messages", "max_messages", FORM_TEXT);
	for (i = 0; i < 2; i++) {
		v = cJSON_GetObjectItemCaseSensitive(g, i == 0 ? "max_chars" :
		    "max_messages");
		if (cJSON_IsNumber(v)) {
			snprintf(num, sizeof(num), "%.0f", v->valuedouble);
			form_set(form_get(f, i == 0 ? "max_chars" :
			    "max_messages"), num);
		}
	}
	form_set(form_add(f, "description", "description", FORM_TEXT),
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g,
	    "description")));
	form_add(f, "test text", NULL, FORM_TEXT);
	f->submit = form_guardrail_submit;
	f->changed = form_guardrail_changed;
	f->draw = form_guardrail_draw;
	if (cJSON_IsArray(patterns) && cJSON_GetArraySize(patterns) >
	    FORM_GUARDRAIL_PATTERNS)
		snprintf(f->error, sizeof(f->error), "it has %d patterns;"
		    " saving keeps only these %d", cJSON_GetArraySize(patterns),
		    FORM_GUARDRAIL_PATTERNS);
	fg->form = f;
	fg->opened++;
	fg->saved = saved;
	fg->rev++;
	fg->changed_at = 0;
	fg->shown = 0;
	fg->shown_rev = fg->rev;
	tui_form(t, f);
}
