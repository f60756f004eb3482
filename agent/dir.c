/*
 * Directories the agent keeps private state in (created 0700, parents
 * too) and the private files in them: written whole or not at all, read
 * back only when they are still the agent's own and private.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * Write a private file without ever exposing a partial one: a 0600 temp
 * file, fsync, then link() so an existing file is never replaced, or
 * rename() over it when replace; then fsync of the directory, so that
 * after a crash the name holds the old bytes or the new, whole.
 */
static int
dir_put_file(const char *dir, const char *name, const unsigned char *data,
    size_t len, int replace, char *err, size_t errlen)
{
	char	*path, *tmp;
	int	 fd, dfd, rc = -1;
	ssize_t	 n;
	size_t	 off = 0;

	xasprintf(&path, "%s/%s", dir, name);
	xasprintf(&tmp, "%s/.%s.XXXXXX", dir, name);
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1) {
		snprintf(err, errlen, "chmod %s: %s", tmp, strerror(errno));
		goto done;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "write %s: %s", tmp,
			    strerror(errno));
			goto done;
		}
		off += n;
	}
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
		goto done;
	}
	if (replace ? rename(tmp, path) == -1 : link(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	close(fd);
	if (!replace || rc != 0)
		unlink(tmp);
	if (rc == 0 && (dfd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		if (fsync(dfd) == -1 && replace) {
			snprintf(err, errlen, "fsync %s: %s", dir,
			    strerror(errno));
			rc = -1;
		}
		close(dfd);
	} else if (rc == 0 && replace) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		rc = -1;
	}
out:
	free(tmp);
	free(path);
	return rc;
}

int
dir_write_file(const char *dir, const char *name, const unsigned char *data,
    size_t len, char *err, size_t errlen)
{
	return dir_put_file(dir, name, data, len, 0, err, errlen);
}

int
dir_replace_file(const char *dir, const char *name, const unsigned char *data,
    size_t len, char *err, size_t errlen)
{
	return dir_put_file(dir, name, data, len, 1, err, errlen);
}

/*
 * Read a private file of min..max bytes into dst (room for max), refusing
 * anything but the agent's own regular file with no group or other access.
 */
int
dir_read_file(const char *dir, const char *name, unsigned char *dst,
    size_t min, size_t max, size_t *len, char *err, size_t errlen)
{
	struct stat	 st;
	char		*path;
	int		 fd, rc = -1;
	ssize_t		 n;
	size_t		 off = 0, size;

	xasprintf(&path, "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s is owned by uid %u, not by the"
		    " agent's uid %u; run: chown %u %s", path,
		    (unsigned)st.st_uid, (unsigned)geteuid(),
		    (unsigned)geteuid(), path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s is accessible by group or others"
		    " (mode %04o); run: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size < 0 || (size_t)st.st_size < min ||
	    (size_t)st.st_size > max) {
		if (min == max)
			snprintf(err, errlen, "%s: %lld bytes, expected %zu;"
			    " it is not a key file of this agent", path,
			    (long long)st.st_size, min);
		else
			snprintf(err, errlen, "%s: %lld bytes, expected %zu"
			    " to %zu", path, (long long)st.st_size, min, max);
		goto out;
	}
	size = (size_t)st.st_size;
	while (off < size) {
		if ((n = read(fd, dst + off, size - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0) {
			snprintf(err, errlen, "%s: short read", path);
			goto out;
		}
		off += n;
	}
	if (len != NULL)
		*len = size;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}
