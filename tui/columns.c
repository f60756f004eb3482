/*
 * Column fitting for cube-tui's tables: which columns a width holds and
 * how wide each is, so a row's cells are placed by the widths they are
 * drawn with (never by the length of what was cut).
 */
#include "cube-tui.h"

/* The columns shown in w (0: left out), with one space between them. */
static int
columns_total(const int *w, size_t n)
{
	size_t	i;
	int	total = 0, shown = 0;

	for (i = 0; i < n; i++)
		if (w[i] > 0) {
			total += w[i];
			shown++;
		}
	return shown > 0 ? total + shown - 1 : 0;
}

/* Leave out the droppable column of the highest drop in [lo, hi]; 0 if none. */
static int
columns_drop(const struct column *c, int *w, size_t n, int lo, int hi)
{
	size_t	i, at = n;

	for (i = 0; i < n; i++)
		if (w[i] > 0 && c[i].drop >= lo && c[i].drop <= hi &&
		    (at == n || c[i].drop >= c[at].drop))
			at = i;
	if (at == n)
		return 0;
	w[at] = 0;
	return 1;
}

/*
 * Fit n columns into width: first the extras (drop >= COLUMN_EXTRA) are
 * left out, highest drop first; then columns wider than their minimum
 * shrink, leftmost first; then other droppable columns go. A flex column
 * (at most one) then takes the room left. Fills w (n widths, 0 for a
 * column left out) and returns the columns shown.
 */
int
columns_fit(const struct column *c, size_t n, int width, int *w)
{
	size_t	i;
	int	over, cut, shown = 0;

	for (i = 0; i < n; i++)
		w[i] = c[i].flex ? c[i].min : c[i].want;
	while (columns_total(w, n) > width &&
	    columns_drop(c, w, n, COLUMN_EXTRA, 1 << 30))
		;
	for (i = 0; i < n && (over = columns_total(w, n) - width) > 0; i++) {
		if (w[i] <= c[i].min)
			continue;
		cut = w[i] - c[i].min < over ? w[i] - c[i].min : over;
		w[i] -= cut;
	}
	while (columns_total(w, n) > width &&
	    columns_drop(c, w, n, 1, COLUMN_EXTRA - 1))
		;
	for (i = 0; i < n; i++)
		if (c[i].flex && w[i] > 0 &&
		    (over = width - columns_total(w, n)) > 0)
			w[i] += over;
	for (i = 0; i < n; i++)
		if (w[i] > 0)
			shown++;
	return shown;
}
