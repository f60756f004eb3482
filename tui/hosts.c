/*
 * Lists of agents: cube-tui's hosts file, cubectl's --hosts-file (the same
 * file) and -H's comma-separated list. One [user@]host[:port] or "local"
 * each; cubectl and cube-tui both link this.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cubectl.h"
#include "xmalloc.h"

/* Bytes a host name may hold: what ssh and -H accept, no white space. */
#define HOSTS_CHARSET	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789.-_@:[]%"

/* Is the len bytes at name a host as a hosts file or -H may hold one? */
int
hosts_valid(const char *name, size_t len)
{
	size_t	i;

	if (len == 0 || len > HOSTS_NAME_MAX || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] == '\0' || strchr(HOSTS_CHARSET, name[i]) == NULL)
			return 0;
	return 1;
}

/* Is name among the first n of names? */
static int
hosts_has(char *const *names, size_t n, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
			return 1;
	return 0;
}

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
		if (!hosts_valid(line, len)) {
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

int
hosts_read(const char *path, char **names, size_t max, char *err,
    size_t errlen)
{
	char	*text, why[512];
	size_t	 len;
	int	 n;

	if (file_read(path, HOSTS_FILE_MAX, &text, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: not a text file", path);
		n = -1;
	} else if ((n = hosts_parse(text, names, max, why, sizeof(why))) ==
	    -1)
		snprintf(err, errlen, "%s: %s", path, why);
	free(text);
	return n;
}

int
hosts_add_list(struct hosts *h, const char *list, const char *what,
    char *err, size_t errlen)
{
	const char	*p, *end;
	size_t		 len;

	for (p = list;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = end - p;
		if (!hosts_valid(p, len)) {
			snprintf(err, errlen, "%s: '%.*s' is not a host"
			    " ([USER@]HOST[:PORT] or local, comma-separated)",
			    what, (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		if (hosts_add(h, p, len, what, err, errlen) == -1)
			return -1;
		if (*end == '\0')
			return 0;
	}
}

int
hosts_add(struct hosts *h, const char *name, size_t len, const char *what,
    char *err, size_t errlen)
{
	if (hosts_has(h->names, h->n, name, len)) {
		snprintf(err, errlen, "%s: %.*s is named twice", what,
		    (int)len, name);
		return -1;
	}
	if (h->n == HOSTS_MAX) {
		snprintf(err, errlen, "%s: more than %d hosts", what,
		    HOSTS_MAX);
		return -1;
	}
	h->names[h->n++] = xstrndup(name, len);
	return 0;
}

int
hosts_add_file(struct hosts *h, const char *path, char *err, size_t errlen)
{
	char	*names[HOSTS_MAX];
	int	 n, i, rc = 0;

	if ((n = hosts_read(path, names, HOSTS_MAX, err, errlen)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = hosts_add(h, names[i], strlen(names[i]), path, err,
			    errlen);
		free(names[i]);
	}
	return rc;
}

void
hosts_clear(struct hosts *h)
{
	while (h->n > 0)
		free(h->names[--h->n]);
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
