/*
 * Bracketed paste: the terminal wraps what the operator pastes in
 * ESC [ 200 ~ and ESC [ 201 ~ (curses gives them as PASTE_KEY_BEGIN and
 * PASTE_KEY_END, once paste_init defined them). Everything between is
 * gathered as text, never run as keys: a newline or tab becomes a space,
 * other controls and keys are dropped, and only PASTE_MAX bytes are kept.
 * A paste that never ends is ended after PASTE_IDLE_MS without a key.
 * What was gathered may be a secret: it is wiped once taken.
 * Runs on cube-tui's main thread.
 */
#include <stdint.h>
#include <string.h>

#include <curses.h>

#include "cube-tui.h"

/* Teach curses the two markers, so that they arrive as one key each. */
void
paste_init(void)
{
	define_key("\033[200~", PASTE_KEY_BEGIN);
	define_key("\033[201~", PASTE_KEY_END);
}

/* cp as UTF-8 into out (4 bytes): its length, 0 when not text. */
static size_t
paste_encode(uint32_t cp, char *out)
{
	unsigned char	*u = (unsigned char *)out;

	if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;	/* controls, C1, surrogates */
	if (cp < 0x800) {
		u[0] = 0xc0 | (cp >> 6);
		u[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = 0xe0 | (cp >> 12);
		u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	u[0] = 0xf0 | (cp >> 18);
	u[1] = 0x80 | ((cp >> 12) & 0x3f);
	u[2] = 0x80 | ((cp >> 6) & 0x3f);
	u[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* Append the n bytes at s if they fit whole; else the paste is cut. */
static void
paste_append(struct paste *p, const char *s, size_t n)
{
	if (p->cut || n > sizeof(p->buf) - 1 - p->len) {
		p->cut = 1;
		return;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

/*
 * One key, at now (ms): PASTE_PASS when it is not part of a paste (the
 * caller handles it), PASTE_TAKEN when the paste took it, PASTE_DONE
 * when it ended one: the text is then in p->buf (p->len bytes) until
 * paste_clear.
 */
enum paste_event
paste_feed(struct paste *p, int key, int64_t now)
{
	char		utf8[4];
	uint32_t	cp;
	size_t		n;

	if (!p->active) {
		if (key == PASTE_KEY_END)
			return PASTE_TAKEN;	/* a stray end: nothing to do */
		if (key != PASTE_KEY_BEGIN)
			return PASTE_PASS;
		paste_clear(p);
		p->active = 1;
		p->last = now;
		return PASTE_TAKEN;
	}
	p->last = now;
	if (key == PASTE_KEY_END) {
		p->active = 0;
		return PASTE_DONE;
	}
	if (key == '\r' || key == '\n' || key == '\t') {
		/* CR LF is one line break: one space. */
		if (!(key == '\n' && p->prev == '\r'))
			paste_append(p, " ", 1);
	} else if (key >= 0x20 && key < 0x7f) {
		utf8[0] = (char)key;
		paste_append(p, utf8, 1);
	} else if ((key & ~TEXTFIELD_KEY_CPMASK) == TEXTFIELD_KEY_UNICODE) {
		cp = (uint32_t)key & TEXTFIELD_KEY_CPMASK;
		if ((n = paste_encode(cp, utf8)) > 0)
			paste_append(p, utf8, n);
	}
	p->prev = key;
	return PASTE_TAKEN;
}

/* Call now and then: a paste idle too long ends, PASTE_DONE as above. */
enum paste_event
paste_tick(struct paste *p, int64_t now)
{
	if (!p->active || now - p->last < PASTE_IDLE_MS)
		return PASTE_PASS;
	p->active = 0;
	return PASTE_DONE;
}

/* Forget (and wipe) the text of the last paste. */
void
paste_clear(struct paste *p)
{
	explicit_bzero(p, sizeof(*p));
}
