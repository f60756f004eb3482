/*
 * libFuzzer target for tui/textfield.c: the input is a run of keys (two
 * bytes each: a kind and a value) typed into a small field, and of pastes.
 * Whatever they are: the field holds valid UTF-8 of printable characters
 * within its limit, the cursor and scroll sit on character boundaries,
 * and the view fits its width with the cursor in it.
 */
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "cube-tui.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int fuzz_keys[] = {
	KEY_BACKSPACE, 127, 8, KEY_DC, 4, KEY_LEFT, KEY_RIGHT, KEY_HOME,
	KEY_END, 1, 2, 5, 6, 11, 21, 23, '\t', '\n', 27, KEY_UP,
};

static void
fuzz_check(struct textfield *tf, int width)
{
	uint32_t	cp;
	size_t		i, l, from, end;
	int		col;

	if (tf->len > tf->size - 1 || tf->buf[tf->len] != '\0' ||
	    strlen(tf->buf) != tf->len || tf->cur > tf->len)
		abort();
	for (i = 0; i < tf->len; i += l) {
		if ((l = textfield_decode(tf->buf + i, tf->len - i, &cp)) == 0)
			abort();
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			abort();
		if (tf->cur > i && tf->cur < i + l)
			abort();
	}
	from = textfield_view(tf, width, &end, &col);
	if (from > tf->cur || end < from || end > tf->len || col < 0 ||
	    col >= width)
		abort();
	if (((unsigned char)tf->buf[from] & 0xc0) == 0x80 ||
	    ((unsigned char)tf->buf[end] & 0xc0) == 0x80)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	char			 buf[24];
	struct textfield	 tf;
	size_t			 i, n;
	int			 width, key;

	if (!init) {
		setlocale(LC_CTYPE, "C.UTF-8");
		init = 1;
	}
	if (size < 1)
		return 0;
	width = 1 + data[0] % 12;
	memset(buf, 0, sizeof(buf));
	textfield_init(&tf, buf, sizeof(buf));
	for (i = 1; i + 1 < size; i += 2) {
		switch (data[i] % 4) {
		case 0:		/* a character: ASCII or a code point */
			key = data[i + 1] < 0x80 ? data[i + 1] :
			    TEXTFIELD_KEY_UNICODE | (data[i + 1] << 8 |
			    data[i] >> 2);
			textfield_key(&tf, key);
			break;
		case 1:
			textfield_key(&tf, fuzz_keys[data[i + 1] %
			    (sizeof(fuzz_keys) / sizeof(fuzz_keys[0]))]);
			break;
		case 2:		/* a paste of what follows */
			n = data[i + 1] % 16;
			if (n > size - i - 2)
				n = size - i - 2;
			textfield_insert(&tf, (const char *)data + i + 2, n);
			i += n;
			break;
		default:	/* set, as a view fills a field */
			n = data[i + 1] % 32;
			if (n > size - i - 2)
				n = size - i - 2;
			{
				char	s[32];

				memcpy(s, data + i + 2, n);
				s[n] = '\0';
				textfield_set(&tf, s);
			}
			i += n;
			break;
		}
		fuzz_check(&tf, width);
	}
	return 0;
}
