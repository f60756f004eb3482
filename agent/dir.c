/* Directories the agent keeps private state in: created 0700, parents too. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "xmalloc.h"

/* mkdir -p with mode 0700 for everything it creates. */
int
dir_create(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*copy, *p;

	if (*path == '\0') {
		snprintf(err, errlen, "empty directory name");
		return -1;
	}
	copy = xstrdup(path);
	for (p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char	c = *p;

			*p = '\0';
			if (mkdir(copy, 0700) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "mkdir %s: %s", copy,
				    strerror(errno));
				free(copy);
				return -1;
			}
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	free(copy);
	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	return 0;
}
