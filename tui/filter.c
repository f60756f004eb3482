/* cube-tui's / filter: which rows of a table stay in view. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"

/*
 * Does the row match? Every white-space separated word of the filter must
 * appear, in any case, in one of the row's shown columns (as output_value
 * shows them). An empty filter matches everything.
 */
int
filter_match(const char *filter, const cJSON *row,
    const struct output_field *columns)
{
	const struct output_field	*f;
	char				 word[TUI_FILTER_MAX];
	char				*value;
	size_t				 len;
	int				 found;

	for (;;) {
		filter += strspn(filter, " \t");
		if ((len = strcspn(filter, " \t")) == 0)
			return 1;
		if (len >= sizeof(word))
			len = sizeof(word) - 1;
		memcpy(word, filter, len);
		word[len] = '\0';
		filter += strcspn(filter, " \t");
		found = 0;
		for (f = columns; f->label != NULL && !found; f++) {
			value = output_value(output_lookup(row, f->path),
			    f->format);
			found = strcasestr(value, word) != NULL;
			free(value);
		}
		if (!found)
			return 0;
	}
}
