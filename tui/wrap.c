/*
 * Wrapping text to a width in display columns, by whole UTF-8 code
 * points: the playground's transcript (playground.c). No screen here, so
 * the unit tests hold it alone.
 */
#include <stddef.h>
#include <stdint.h>

#include "cube-tui.h"

/*
 * The next line of s (len bytes) in width columns: returns its length in
 * bytes, *next where the one after starts. A line ends at a newline, else
 * at the space where it is full or the last one before (dropped), else
 * before the first character that does not fit; it always takes one
 * character, so it moves on.
 */
size_t
wrap_line(const char *s, size_t len, int width, size_t *next)
{
	size_t		 i = 0, l, space = 0;
	uint32_t	 cp;
	int		 col = 0, w, seen = 0;

	while (i < len) {
		if (s[i] == '\n') {
			*next = i + 1;
			return i;
		}
		if ((l = textfield_decode(s + i, len - i, &cp)) == 0) {
			l = 1;		/* a bad byte: drawn as '?' */
			w = 1;
		} else if ((w = textfield_cp_width(cp)) < 0)
			w = 1;
		if (col + w > width && i > 0) {
			if (s[i] == ' ') {
				*next = i + 1;
				return i;
			}
			if (seen) {
				*next = space + 1;
				return space;
			}
			*next = i;
			return i;
		}
		if (s[i] == ' ') {
			space = i;
			seen = 1;
		}
		col += w;
		i += l;
	}
	*next = len;
	return len;
}
