/*
 * cube-tui's single-line text field: UTF-8 editing by whole code points,
 * readline's motion and kill keys, and a horizontal scroll measured in
 * display columns (wcwidth). It draws nothing: form.c does. What it holds
 * is always valid UTF-8 of printable code points within its byte limit;
 * bytes it lets go of are wiped, so a field may hold a secret.
 * Runs on cube-tui's main thread.
 */
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#define NCURSES_WIDECHAR 1	/* get_wch */
#include <curses.h>

#include "cube-tui.h"

/* Keys: Ctrl-A, -B, -D, -E, -F, -K, -U, -W; Backspace as sent by terminals. */
#define TEXTFIELD_CTRL(c)	((c) & 0x1f)
#define TEXTFIELD_BS		0x7f

/*
 * The code point at s (n bytes available) into *cp: its length in bytes,
 * or 0 for an invalid, overlong, surrogate or cut sequence.
 */
size_t
textfield_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 len, i;
	uint32_t		 c, min;

	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2, c = u[0] & 0x1f, min = 0x80;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3, c = u[0] & 0x0f, min = 0x800;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4, c = u[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (u[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* cp as UTF-8 into out (4 bytes): its length, 0 when not a code point. */
static size_t
textfield_encode(uint32_t cp, char *out)
{
	unsigned char	*u = (unsigned char *)out;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = 0xc0 | (cp >> 6);
		u[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	if (cp < 0x10000) {
		u[0] = 0xe0 | (cp >> 12);
		u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	if (cp > 0x10ffff)
		return 0;
	u[0] = 0xf0 | (cp >> 18);
	u[1] = 0x80 | ((cp >> 12) & 0x3f);
	u[2] = 0x80 | ((cp >> 6) & 0x3f);
	u[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* Text, not a terminal control: C0, DEL and C1 are refused. */
static int
textfield_printable(uint32_t cp)
{
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0);
}

/* Columns cp takes on screen; what wcwidth cannot say is drawn as 1 ('?'). */
int
textfield_cp_width(uint32_t cp)
{
	int	w = wcwidth((wchar_t)cp);

	return w < 0 ? 1 : w;
}

/* Columns of the n bytes of valid text at s. */
static int
textfield_width(const char *s, size_t n)
{
	uint32_t	cp;
	size_t		i, l;
	int		w = 0;

	for (i = 0; i < n; i += l) {
		if ((l = textfield_decode(s + i, n - i, &cp)) == 0)
			break;
		w += textfield_cp_width(cp);
	}
	return w;
}

/* The start of the code point before byte offset at. */
static size_t
textfield_prev(const struct textfield *tf, size_t at)
{
	if (at == 0)
		return 0;
	do
		at--;
	while (at > 0 && ((unsigned char)tf->buf[at] & 0xc0) == 0x80);
	return at;
}

/* The start of the code point after byte offset at. */
static size_t
textfield_next(const struct textfield *tf, size_t at)
{
	if (at >= tf->len)
		return tf->len;
	do
		at++;
	while (at < tf->len && ((unsigned char)tf->buf[at] & 0xc0) == 0x80);
	return at;
}

/* Remove bytes [from, to) and wipe the tail they leave. */
static void
textfield_cut(struct textfield *tf, size_t from, size_t to)
{
	if (from >= to)
		return;
	memmove(tf->buf + from, tf->buf + to, tf->len - to);
	explicit_bzero(tf->buf + tf->len - (to - from), to - from);
	tf->len -= to - from;
	tf->buf[tf->len] = '\0';
	if (tf->cur >= to)
		tf->cur -= to - from;
	else if (tf->cur > from)
		tf->cur = from;
	if (tf->scroll > tf->len)
		tf->scroll = tf->len;
}

/*
 * Edit buf, of size bytes (at most size - 1 of text), in place; the caller
 * owns it. What it holds is kept if valid, else the field starts empty.
 */
void
textfield_init(struct textfield *tf, char *buf, size_t size)
{
	uint32_t	cp;
	size_t		in, out, n, l;

	memset(tf, 0, sizeof(*tf));
	tf->buf = buf;
	tf->size = size;
	if (size == 0)
		return;
	buf[size - 1] = '\0';
	n = strlen(buf);
	/* Keep only what an operator could have typed, compacting in place. */
	for (in = out = 0; in < n; in += l) {
		if ((l = textfield_decode(buf + in, n - in, &cp)) == 0) {
			l = 1;
			continue;
		}
		if (!textfield_printable(cp))
			continue;
		memmove(buf + out, buf + in, l);
		out += l;
	}
	explicit_bzero(buf + out, n - out);
	tf->len = tf->cur = out;
}

/*
 * Replace the text with s (NULL: empty); what cannot be stored is left
 * out and a code point that does not fit ends it. Returns 0 when all of
 * s was taken, -1 when some was not. The cursor goes to the end.
 */
int
textfield_set(struct textfield *tf, const char *s)
{
	size_t	n = s != NULL ? strlen(s) : 0;

	if (tf->size == 0)
		return n == 0 ? 0 : -1;
	explicit_bzero(tf->buf, tf->size);
	tf->len = tf->cur = tf->scroll = 0;
	return textfield_insert(tf, s != NULL ? s : "", n) == n ? 0 : -1;
}

/*
 * Insert the n bytes at s (typed, or pasted) at the cursor, which moves
 * past them. Invalid UTF-8 and control characters are dropped; insertion
 * stops at the first code point that would pass the byte limit. Returns
 * how many bytes of s were used (n when all were).
 */
size_t
textfield_insert(struct textfield *tf, const char *s, size_t n)
{
	uint32_t	cp;
	size_t		i, l, room;

	for (i = 0; i < n; i += l) {
		if ((l = textfield_decode(s + i, n - i, &cp)) == 0) {
			l = 1;		/* skip one bad byte, resync */
			continue;
		}
		if (!textfield_printable(cp))
			continue;
		room = tf->size > 0 ? tf->size - 1 - tf->len : 0;
		if (l > room)
			break;
		memmove(tf->buf + tf->cur + l, tf->buf + tf->cur,
		    tf->len - tf->cur);
		memcpy(tf->buf + tf->cur, s + i, l);
		tf->len += l;
		tf->cur += l;
		tf->buf[tf->len] = '\0';
	}
	return i;
}

/* The field's text moved or changed without it (set directly): resync. */
static void
textfield_check(struct textfield *tf)
{
	if (tf->size == 0)
		return;
	if (strnlen(tf->buf, tf->size) != tf->len)
		textfield_init(tf, tf->buf, tf->size);
	if (tf->cur > tf->len)
		tf->cur = tf->len;
}

/* Ctrl-W: the start of the word before the cursor (blanks, then non-blanks). */
static size_t
textfield_word_start(const struct textfield *tf)
{
	size_t	at = tf->cur;

	while (at > 0 && (tf->buf[at - 1] == ' ' || tf->buf[at - 1] == '\t'))
		at--;
	while (at > 0 && tf->buf[at - 1] != ' ' && tf->buf[at - 1] != '\t')
		at = textfield_prev(tf, at);
	return at;
}

/*
 * A key: a character (ASCII, or TEXTFIELD_KEY_UNICODE | code point) is
 * inserted; Backspace, Delete, Left, Right, Home, End and Ctrl-A, -B, -D,
 * -E, -F, -K, -U, -W edit as in readline. Returns 1 when the key was for
 * the field, 0 when not (Tab, Enter, Escape, Up, Down...).
 */
int
textfield_key(struct textfield *tf, int ch)
{
	char		u[4];
	uint32_t	cp;
	size_t		l;

	textfield_check(tf);
	if (ch >= 0x20 && ch < 0x7f) {
		u[0] = (char)ch;
		textfield_insert(tf, u, 1);
		return 1;
	}
	if ((ch & ~TEXTFIELD_KEY_CPMASK) == TEXTFIELD_KEY_UNICODE) {
		cp = (uint32_t)ch & TEXTFIELD_KEY_CPMASK;
		if ((l = textfield_encode(cp, u)) != 0)
			textfield_insert(tf, u, l);
		return 1;
	}
	switch (ch) {
	case KEY_BACKSPACE:
	case TEXTFIELD_BS:
	case TEXTFIELD_CTRL('H'):
		textfield_cut(tf, textfield_prev(tf, tf->cur), tf->cur);
		return 1;
	case KEY_DC:
	case TEXTFIELD_CTRL('D'):
		textfield_cut(tf, tf->cur, textfield_next(tf, tf->cur));
		return 1;
	case KEY_LEFT:
	case TEXTFIELD_CTRL('B'):
		tf->cur = textfield_prev(tf, tf->cur);
		return 1;
	case KEY_RIGHT:
	case TEXTFIELD_CTRL('F'):
		tf->cur = textfield_next(tf, tf->cur);
		return 1;
	case KEY_HOME:
	case TEXTFIELD_CTRL('A'):
		tf->cur = 0;
		return 1;
	case KEY_END:
	case TEXTFIELD_CTRL('E'):
		tf->cur = tf->len;
		return 1;
	case TEXTFIELD_CTRL('U'):
		textfield_cut(tf, 0, tf->cur);
		return 1;
	case TEXTFIELD_CTRL('K'):
		textfield_cut(tf, tf->cur, tf->len);
		return 1;
	case TEXTFIELD_CTRL('W'):
		textfield_cut(tf, textfield_word_start(tf), tf->cur);
		return 1;
	}
	return 0;
}

/*
 * What to show in width columns, the cursor included (one column past
 * the text at its end): updates the scroll so the cursor is in view and
 * no column is wasted on the right, and returns the first byte shown;
 * *end is the byte after the last shown, *col the cursor's column.
 */
size_t
textfield_view(struct textfield *tf, int width, size_t *end, int *col)
{
	size_t	at, next;
	int	w, curw;

	textfield_check(tf);
	if (width < 1)
		width = 1;
	/* Text removed or the field widened: show more on the left. */
	while (tf->scroll > 0 && textfield_width(tf->buf +
	    textfield_prev(tf, tf->scroll), tf->len -
	    textfield_prev(tf, tf->scroll)) + 1 <= width)
		tf->scroll = textfield_prev(tf, tf->scroll);
	if (tf->cur < tf->scroll)
		tf->scroll = tf->cur;
	for (;;) {
		next = textfield_next(tf, tf->cur);
		curw = next > tf->cur ? textfield_width(tf->buf + tf->cur,
		    next - tf->cur) : 1;
		if (curw < 1)
			curw = 1;
		if (tf->scroll >= tf->cur || textfield_width(tf->buf +
		    tf->scroll, tf->cur - tf->scroll) + curw <= width)
			break;
		tf->scroll = textfield_next(tf, tf->scroll);
	}
	*col = textfield_width(tf->buf + tf->scroll, tf->cur - tf->scroll);
	for (at = tf->scroll, w = 0; at < tf->len; at = next) {
		next = textfield_next(tf, at);
		if (w + textfield_width(tf->buf + at, next - at) > width)
			break;
		w += textfield_width(tf->buf + at, next - at);
	}
	*end = at;
	return tf->scroll;
}

/*
 * The next key from the terminal, wide: as textfield_key takes it, or
 * ERR when none waits. A character that is no code point comes back as
 * one textfield_key drops (a surrogate), so reading goes on.
 */
int
textfield_getkey(void)
{
	wint_t	wc;
	int	r;

	if ((r = get_wch(&wc)) == ERR)
		return ERR;
	if (r == KEY_CODE_YES)
		return (int)wc;
	if (wc < 0x80)
		return (int)wc;
	if (wc > 0x10ffff)
		wc = 0xd800;
	return TEXTFIELD_KEY_UNICODE | (int)wc;
}
