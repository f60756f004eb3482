/*
 * cube-tui's forms: a dialog of labelled fields for n (new) and e (edit).
 * Text fields edit UTF-8 through textfield.c. A secret field never echoes
 * and keeps what is typed in guarded memory (sodium_malloc), for sealing
 * to the agent before it leaves the process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <curses.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "cube-tui.h"
#include "log.h"
#include "seal.h"
#include "xmalloc.h"

#define FORM_MAX_FIELDS	24
#define FORM_LABEL_W	14

/* Caller owns the form; free with form_free(). */
struct form *
form_new(const char *title, size_t extra_rows)
{
	struct form	*f;

	f = xcalloc(1, sizeof(*f));
	f->title = xstrdup(title);
	f->fields = xcalloc(FORM_MAX_FIELDS, sizeof(*f->fields));
	f->extra_rows = (int)extra_rows;
	return f;
}

void
form_free(struct form *f)
{
	size_t	i, j;

	if (f == NULL)
		return;
	for (i = 0; i < f->nfields; i++) {
		if (f->fields[i].secret != NULL)
			sodium_free(f->fields[i].secret);
		for (j = 0; j < f->fields[i].nchoices; j++)
			free(f->fields[i].choices[j]);
		free(f->fields[i].choices);
	}
	free(f->fields);
	free(f->title);
	free(f);
}

/* A field labelled label, sent as param (NULL: the form's code sends it). */
struct form_field *
form_add(struct form *f, const char *label, const char *param,
    enum form_type type)
{
	struct form_field	*ff;

	if (f->nfields == FORM_MAX_FIELDS)
		fatalx("%s: too many fields", __func__);
	ff = &f->fields[f->nfields++];
	ff->label = label;
	ff->param = param;
	ff->type = type;
	if (type == FORM_SECRET) {
		/* Room for the NUL the text field keeps after the secret. */
		if ((ff->secret = sodium_malloc(SEAL_SECRET_MAX + 1)) == NULL)
			fatalx("%s: out of memory", __func__);
		memset(ff->secret, 0, SEAL_SECRET_MAX + 1);
		textfield_init(&ff->text, (char *)ff->secret,
		    SEAL_SECRET_MAX + 1);
	} else
		textfield_init(&ff->text, ff->value, sizeof(ff->value));
	return ff;
}

/* The field sent as (or labelled) name, or NULL. */
struct form_field *
form_get(struct form *f, const char *name)
{
	size_t	i;

	for (i = 0; i < f->nfields; i++)
		if ((f->fields[i].param != NULL &&
		    strcmp(f->fields[i].param, name) == 0) ||
		    strcmp(f->fields[i].label, name) == 0)
			return &f->fields[i];
	return NULL;
}

/*
 * Fill a text field with s (NULL: leave it empty), as far as it is valid
 * UTF-8 of printable characters and fits; the cursor goes to its end.
 */
void
form_set(struct form_field *ff, const char *s)
{
	if (ff->type != FORM_TEXT && ff->type != FORM_SECRET)
		return;
	textfield_set(&ff->text, s);
	if (ff->type == FORM_SECRET)
		ff->secretlen = ff->text.len;
}

/* What a text or choice field holds ("" when none). */
const char *
form_value(struct form *f, const char *name)
{
	struct form_field	*ff;

	if ((ff = form_get(f, name)) == NULL)
		return "";
	if (ff->type == FORM_CHOICE)
		return ff->nchoices > 0 ? ff->choices[ff->choice] : "";
	return ff->value;
}

/*
 * Choices from a JSON array: of strings, or of objects whose "name" is
 * taken. The one named keep stays chosen if still there.
 */
void
form_set_choices(struct form_field *ff, const cJSON *array, const char *keep)
{
	const cJSON	*item, *name;
	char		*kept = keep != NULL ? xstrdup(keep) : NULL;
	size_t		 i;

	for (i = 0; i < ff->nchoices; i++)
		free(ff->choices[i]);
	free(ff->choices);
	ff->choices = NULL;
	ff->nchoices = ff->choice = 0;
	cJSON_ArrayForEach(item, array) {
		name = cJSON_IsObject(item) ?
		    cJSON_GetObjectItemCaseSensitive(item, "name") : item;
		if (!cJSON_IsString(name))
			continue;
		ff->choices = xreallocarray(ff->choices, ff->nchoices + 1,
		    sizeof(*ff->choices));
		if (kept != NULL && strcmp(kept, name->valuestring) == 0)
			ff->choice = ff->nchoices;
		ff->choices[ff->nchoices++] = xstrdup(name->valuestring);
	}
	free(kept);
}

/* Params from the fields that have one; empty text fields are left out. */
cJSON *
form_params(struct form *f)
{
	struct form_field	*ff;
	cJSON			*params = cJSON_CreateObject();
	size_t			 i;

	for (i = 0; i < f->nfields; i++) {
		ff = &f->fields[i];
		if (ff->param == NULL || ff->type == FORM_SECRET)
			continue;
		if (ff->type == FORM_BOOL) {
			if (ff->on)
				cJSON_AddTrueToObject(params, ff->param);
		} else if (*form_value(f, ff->param) != '\0')
			cJSON_AddStringToObject(params, ff->param,
			    form_value(f, ff->param));
	}
	return params;
}

/* Edit the current field with ch; 1 when it changed. */
static int
form_edit(struct form_field *ff, int ch)
{
	switch (ff->type) {
	case FORM_CHOICE:
		if (ff->nchoices == 0)
			return 0;
		if (ch == KEY_LEFT)
			ff->choice = (ff->choice + ff->nchoices - 1) %
			    ff->nchoices;
		else if (ch == KEY_RIGHT || ch == ' ')
			ff->choice = (ff->choice + 1) % ff->nchoices;
		else
			return 0;
		return 1;
	case FORM_BOOL:
		if (ch != ' ' && ch != KEY_LEFT && ch != KEY_RIGHT)
			return 0;
		ff->on = !ff->on;
		return 1;
	case FORM_SECRET:
		if (!textfield_key(&ff->text, ch))
			return 0;
		ff->secretlen = ff->text.len;
		return 1;
	case FORM_TEXT:
		return textfield_key(&ff->text, ch);
	}
	return 0;
}

/*
 * A key for the form: Tab, Down and Enter go to the next field (Enter on
 * the last one submits), Up and Shift-Tab back, Escape cancels. Returns
 * 0 when the form is to close.
 */
int
form_key(struct tui *t, struct form *f, int ch)
{
	if (f->busy)
		return ch != 27;
	switch (ch) {
	case 27:
		return 0;
	case '\t':
	case KEY_DOWN:
		f->cur = (f->cur + 1) % f->nfields;
		return 1;
	case KEY_BTAB:
	case KEY_UP:
		f->cur = (f->cur + f->nfields - 1) % f->nfields;
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (f->cur + 1 < f->nfields) {
			f->cur++;
			return 1;
		}
		f->error[0] = '\0';
		f->submit(t, f);
		return 1;
	}
	if (form_edit(&f->fields[f->cur], ch) && f->changed != NULL)
		f->changed(t, f);
	return 1;
}

/*
 * A secret field as one '*' a character, scrolled so the cursor shows in
 * width columns; the cursor's cell is drawn as selected's opposite.
 */
static void
form_draw_secret(struct form_field *ff, int y, int x, int width, int cur)
{
	char	stars[256];
	size_t	i, n = 0, before = 0, from;

	for (i = 0; i < ff->text.len; i++) {
		if (((unsigned char)ff->text.buf[i] & 0xc0) == 0x80)
			continue;
		n++;
		if (i < ff->text.cur)
			before++;
	}
	if (width > (int)sizeof(stars) - 1)
		width = sizeof(stars) - 1;
	from = before >= (size_t)width ? before - (size_t)width + 1 : 0;
	n = n - from < (size_t)width ? n - from : (size_t)width;
	memset(stars, '*', n);
	stars[n] = '\0';
	draw_text(y, x, width, cur ? ROLE_SELECTED : ROLE_NORMAL, stars);
	if (cur)
		draw_text(y, x + (int)(before - from), 1, ROLE_NORMAL,
		    before < from + n ? "*" : "_");
}

/* A text field in width columns from y, x (textfield-draw.c). */
static void
form_draw_text(struct form_field *ff, int y, int x, int width, int cur)
{
	if (ff->type == FORM_SECRET)
		form_draw_secret(ff, y, x, width, cur);
	else
		textfield_draw(&ff->text, y, x, width, cur ? ROLE_SELECTED :
		    ROLE_NORMAL, cur);
}

/* The dialog, centred; the form's own draw fills its extra rows. */
void
form_draw(struct tui *t, struct form *f)
{
	struct form_field	*ff;
	const char		*v;
	size_t			 first = 0, rows;
	int			 h, w, y, x, i;

	w = COLS < 76 ? COLS : 76;
	h = (int)f->nfields + f->extra_rows + 4;
	if (h > LINES - 2)
		h = LINES - 2;
	y = (LINES - h) / 2;
	x = (COLS - w) / 2;
	draw_box(y, x, h, w, f->title);
	/* Fewer rows than fields: scrolled so the current one shows. */
	rows = h - 3 > f->extra_rows ? (size_t)(h - 3 - f->extra_rows) : 1;
	if (rows < f->nfields && f->cur >= rows)
		first = f->cur - rows + 1;
	for (i = 0; (size_t)i + first < f->nfields && i < h - 3; i++) {
		ff = &f->fields[first + i];
		draw_text(y + 1 + i, x + 2, FORM_LABEL_W, ROLE_MUTED,
		    ff->label);
		if (ff->type == FORM_TEXT || ff->type == FORM_SECRET) {
			form_draw_text(ff, y + 1 + i, x + FORM_LABEL_W + 3,
			    w - FORM_LABEL_W - 5, first + i == f->cur);
			continue;
		}
		v = ff->type == FORM_BOOL ? (ff->on ? "[x]" : "[ ]") :
		    ff->nchoices > 0 ? ff->choices[ff->choice] : "(none)";
		draw_fmt(y + 1 + i, x + FORM_LABEL_W + 3, w - FORM_LABEL_W - 5,
		    first + i == f->cur ? ROLE_SELECTED : ROLE_NORMAL,
		    ff->type == FORM_CHOICE ? "< %s >" : "%s", v);
	}
	if (f->draw != NULL)
		f->draw(t, f, y + 1 + (int)f->nfields, x + 2);
	if (f->error[0] != '\0')
		draw_text(y + h - 2, x + 2, w - 4, ROLE_ERROR, f->error);
	else
		draw_fmt(y + h - 2, x + 2, w - 4, ROLE_MUTED, "%s",
		    f->busy ? "working..." : "Tab/Up/Down move, Enter on the"
		    " last field submits, Esc cancels");
}

/*
 * Pasted text (paste.c) into the current field, as typed but never as
 * keys: a choice or a switch takes none of it. 1 when it went in.
 */
int
form_paste(struct tui *t, struct form *f, const char *s, size_t n)
{
	struct form_field	*ff;

	if (f->busy || f->nfields == 0)
		return 0;
	ff = &f->fields[f->cur];
	if (ff->type != FORM_TEXT && ff->type != FORM_SECRET)
		return 0;
	textfield_insert(&ff->text, s, n);
	if (ff->type == FORM_SECRET)
		ff->secretlen = ff->text.len;
	if (f->changed != NULL)
		f->changed(t, f);
	return 1;
}

/*
 * A field's words, separated by spaces or commas ("a b,c"), as a JSON
 * array of strings; the agent checks each and names the one it refuses.
 */
cJSON *
form_words(const char *text)
{
	cJSON		*a = cJSON_CreateArray();
	const char	*p = text;
	char		*one;
	size_t		 n;

	if (a == NULL)
		fatalx("%s: out of memory", __func__);
	while (*p != '\0') {
		p += strspn(p, " ,\t");
		if ((n = strcspn(p, " ,\t")) == 0)
			break;
		one = xstrndup(p, n);
		cJSON_AddItemToArray(a, cJSON_CreateString(one));
		free(one);
		p += n;
	}
	return a;
}
