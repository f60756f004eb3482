/*
 * libFuzzer target for tui/paste.c: the input is a run of keys (two bytes
 * each: a kind and a value) with the paste markers among them, and clock
 * ticks. Whatever they are: a paste holds valid UTF-8 of printable
 * characters within PASTE_MAX bytes, NUL-terminated, and a key outside a
 * paste is passed on only when no paste is open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "cube-tui.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int fuzz_keys[] = {
	PASTE_KEY_BEGIN, PASTE_KEY_END, KEY_BACKSPACE, KEY_UP, KEY_ENTER, 27,
	'\r', '\n', '\t', 3, 127,
};

static void
fuzz_check(const struct paste *p)
{
	uint32_t	cp;
	size_t		i, l;

	if (p->len > PASTE_MAX || p->buf[p->len] != '\0' ||
	    strlen(p->buf) != p->len)
		abort();
	for (i = 0; i < p->len; i += l) {
		if ((l = textfield_decode(p->buf + i, p->len - i, &cp)) == 0)
			abort();
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct paste	 p;
	enum paste_event	 e;
	int64_t			 now = 0;
	size_t			 i;
	int			 key, was;

	paste_clear(&p);
	for (i = 0; i + 1 < size; i += 2) {
		switch (data[i] % 4) {
		case 0:
			key = data[i + 1];
			break;
		case 1:
			key = fuzz_keys[data[i + 1] % (sizeof(fuzz_keys) /
			    sizeof(fuzz_keys[0]))];
			break;
		case 2:
			key = TEXTFIELD_KEY_UNICODE | ((data[i + 1] << 8 |
			    data[i]) & TEXTFIELD_KEY_CPMASK);
			break;
		default:
			now += data[i + 1] * 50;
			if (paste_tick(&p, now) == PASTE_DONE) {
				fuzz_check(&p);
				paste_clear(&p);
			}
			continue;
		}
		was = p.active;
		e = paste_feed(&p, key, now);
		if (e == PASTE_PASS && was)
			abort();
		if (e == PASTE_DONE) {
			fuzz_check(&p);
			paste_clear(&p);
		}
	}
	return 0;
}
