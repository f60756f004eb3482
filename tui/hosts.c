/*
 * cube-tui's hosts file: the agents to show when none are named, one
 * [user@]host[:port] (as cubectl -H takes) or "local" a line.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cube-tui.h"
#include "xmalloc.h"

/* Bytes a host name may hold: what ssh and -H accept, no white space. */
#define HOSTS_CHARSET	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789.-_@:[]%"

int
hosts_parse(const char *text, char **names, size_t max, char *err,
    size_t errlen)
{
	const char	*line, *end, *nl;
	size_t		 n = 0, i, len, lineno = 0;

	for (line = text; *line != '\0'; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		end = nl;
		if (*nl == '\n')
			nl++;
		for (i = 0; line + i < end && line[i] != '#'; i++)
			;
		end = line + i;
		while (line < end && isspace((unsigned char)*line))
			line++;
		while (end > line && isspace((unsigned char)end[-1]))
			end--;
		if ((len = end - line) == 0)
			continue;
		if (len > HOSTS_NAME_MAX || strspn(line, HOSTS_CHARSET) < len) {
			snprintf(err, errlen, "line %zu: not a host name",
			    lineno);
			goto fail;
		}
		if (n == max) {
			snprintf(err, errlen, "line %zu: more than %zu hosts",
			    lineno, max);
			goto fail;
		}
		names[n++] = xstrndup(line, len);
	}
	return (int)n;
fail:
	while (n > 0)
		free(names[--n]);
	return -1;
}

char *
hosts_path(void)
{
	const char	*dir;
	char		*path;

	if ((dir = getenv("XDG_CONFIG_HOME")) != NULL && *dir == '/')
		xasprintf(&path, "%s/cube/hosts", dir);
	else if ((dir = getenv("HOME")) != NULL && *dir != '\0')
		xasprintf(&path, "%s/.config/cube/hosts", dir);
	else
		return NULL;
	return path;
}
