/*
 * cube-tui's sparklines: a row of values as block characters, scaled to
 * their largest, newest at the right (main thread; the rendering is pure
 * for the tests). A UTF-8 terminal gets the eight blocks, any other an
 * ASCII ramp; a missing value is a gap, never a zero.
 */
#include <langinfo.h>
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"

static const char *const sparkline_blocks[] = {
	"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
	"\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88",
};
static const char *const sparkline_ascii[] = { "_", ".", "-", "=", "#" };

/* 1 when the terminal speaks UTF-8 (as draw_ellipsis decides). */
int
sparkline_utf8(void)
{
	return strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
}

/*
 * The level of v among nlev (0: zero, nlev - 1: max): any value above
 * zero shows above the floor, so one request in a busy hour is seen.
 */
static size_t
sparkline_level(double v, double max, size_t nlev)
{
	double	l;

	if (!(v > 0) || !(max > 0))
		return 0;
	l = ceil(v / max * (double)(nlev - 1));
	if (l < 1)
		l = 1;
	if (l > (double)(nlev - 1))
		l = (double)(nlev - 1);
	return (size_t)l;
}

/*
 * The newest values of v[0..n) (oldest first; a negative or NaN one is
 * missing) as at most width columns into buf, right-aligned with spaces
 * on the left when there are fewer values than columns. Scaled to the
 * largest value shown; all zeros show as the floor. Returns the columns
 * written (width, or 0 when buf is too small or width is not positive);
 * buf is always NUL-terminated when len > 0.
 */
int
sparkline_render(char *buf, size_t len, const double *v, size_t n,
    int width, int utf8)
{
	const char *const	*ramp = utf8 ? sparkline_blocks :
				    sparkline_ascii;
	size_t			 nlev = utf8 ? 8 : 5, first, i, off = 0, cl;
	double			 max = 0;
	const char		*c;
	int			 col;

	if (len > 0)
		buf[0] = '\0';
	if (width <= 0 || len == 0)
		return 0;
	first = n > (size_t)width ? n - (size_t)width : 0;
	for (i = first; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (col = 0; col < width; col++) {
		i = first + (size_t)col - ((size_t)width - (n - first));
		if ((size_t)col < (size_t)width - (n - first) || !(v[i] >= 0))
			c = " ";
		else
			c = ramp[sparkline_level(v[i], max, nlev)];
		cl = strlen(c);
		if (off + cl >= len) {
			buf[0] = '\0';
			return 0;
		}
		memcpy(buf + off, c, cl);
		off += cl;
	}
	buf[off] = '\0';
	return width;
}

/*
 * A JSON array of numbers (null: missing) into v, at most max of them,
 * the newest kept when longer. Anything but a number is missing (-1).
 * Returns how many; 0 when arr is not an array.
 */
size_t
sparkline_values(const cJSON *arr, double *v, size_t max)
{
	const cJSON	*e;
	size_t		 n, skip, i = 0, k = 0;

	if (!cJSON_IsArray(arr) || max == 0)
		return 0;
	n = (size_t)cJSON_GetArraySize(arr);
	skip = n > max ? n - max : 0;
	cJSON_ArrayForEach(e, arr) {
		if (i++ < skip)
			continue;
		v[k++] = cJSON_IsNumber(e) && e->valuedouble >= 0 ?
		    e->valuedouble : -1;
	}
	return k;
}

/* A sparkline at y, x of width columns, in role. */
void
sparkline_draw(int y, int x, int width, enum draw_role role,
    const double *v, size_t n)
{
	char	buf[SPARKLINE_MAX * 3 + 1];

	if (width > SPARKLINE_MAX)
		width = SPARKLINE_MAX;
	if (sparkline_render(buf, sizeof(buf), v, n, width,
	    sparkline_utf8()) > 0)
		draw_text(y, x, width, role, buf);
}
