/*
 * Files an operator names on the command line: read whole and bounded,
 * "-" for standard input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cubectl.h"
#include "xmalloc.h"

/*
 * Read all of path ("-": standard input), at most max bytes, into *text
 * (NUL-terminated; caller frees) and *len. Returns 0, or -1 with
 * "PATH: reason" in err.
 */
int
file_read(const char *path, size_t max, char **text, size_t *len, char *err,
    size_t errlen)
{
	FILE	*f;
	size_t	 n, size = 0, cap = 8192;
	char	*buf;
	int	 failed;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = xmalloc(cap + 1);
	while ((n = fread(buf + size, 1, cap - size, f)) > 0) {
		size += n;
		if (size > max)
			break;
		if (size == cap) {
			cap *= 2;
			buf = xreallocarray(buf, cap + 1, 1);
		}
	}
	failed = ferror(f);
	if (f != stdin)
		fclose(f);
	if (failed || size > max) {
		if (failed)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s: larger than %zu bytes", path,
			    max);
		free(buf);
		return -1;
	}
	buf[size] = '\0';
	*text = buf;
	*len = size;
	return 0;
}
