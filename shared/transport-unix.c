/* The unix-socket transport: the agent's admin socket on this host. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"
#include "xmalloc.h"

struct transport_unix {
	int	fd;
};

/* connect(2) errors the operator can act on, and what to call them. */
static const struct {
	int			 error;
	enum transport_status	 status;
	const char		*reason;
} transport_unix_errors[] = {
	{ ENOENT,	TRANSPORT_MISSING,	"no such file" },
	{ ENOTDIR,	TRANSPORT_MISSING,	"no such file" },
	{ ECONNREFUSED,	TRANSPORT_REFUSED,	"connection refused" },
	{ EACCES,	TRANSPORT_DENIED,	"permission denied" },
	{ EPERM,	TRANSPORT_DENIED,	"permission denied" },
};

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error. */
static int
transport_unix_wait(int fd, short events, int64_t deadline, char *err,
    size_t errlen)
{
	struct pollfd	pfd;
	int		n;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, transport_left(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* Name a connect failure and classify it; errno is the connect error. */
static void
transport_unix_failed(struct transport *t, const char *path, int error,
    char *err, size_t errlen)
{
	struct stat	sb;
	size_t		i;

	if (error == ECONNREFUSED && stat(path, &sb) == 0 &&
	    !S_ISSOCK(sb.st_mode)) {
		t->status = TRANSPORT_FAILED;
		snprintf(err, errlen, "not a socket");
		return;
	}
	for (i = 0; i < sizeof(transport_unix_errors) /
	    sizeof(transport_unix_errors[0]); i++) {
		if (transport_unix_errors[i].error == error) {
			t->status = transport_unix_errors[i].status;
			snprintf(err, errlen, "%s",
			    transport_unix_errors[i].reason);
			return;
		}
	}
	t->status = TRANSPORT_FAILED;
	snprintf(err, errlen, "%s", strerror(error));
}

static int
transport_unix_connect(struct transport *t,
    const struct transport_address *addr, char *err, size_t errlen)
{
	struct transport_unix	*tu;
	struct sockaddr_un	 sun;
	int			 fd, flags, error;

	if (addr->path == NULL || *addr->path == '\0') {
		snprintf(err, errlen, "no socket path");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(addr->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, addr->path, strlen(addr->path) + 1);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		error = errno;
		close(fd);
		transport_unix_failed(t, addr->path, error, err, errlen);
		return -1;
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}

	tu = xcalloc(1, sizeof(*tu));
	tu->fd = fd;
	t->data = tu;
	return 0;
}

static ssize_t
transport_unix_read(struct transport *t, void *buf, size_t len,
    int timeout_ms, char *err, size_t errlen)
{
	struct transport_unix	*tu = t->data;
	int64_t			 deadline = transport_deadline(timeout_ms);
	ssize_t			 n;

	if (tu == NULL) {
		snprintf(err, errlen, "not connected");
		return TRANSPORT_ERROR;
	}
	for (;;) {
		n = recv(tu->fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return TRANSPORT_ERROR;
		}
		switch (transport_unix_wait(tu->fd, POLLIN, deadline, err,
		    errlen)) {
		case 0:
			snprintf(err, errlen, "timed out");
			return TRANSPORT_TIMEOUT;
		case -1:
			return TRANSPORT_ERROR;
		}
	}
}

static int
transport_unix_write(struct transport *t, const void *buf, size_t len,
    int timeout_ms, char *err, size_t errlen)
{
	struct transport_unix	*tu = t->data;
	const char		*p = buf;
	int64_t			 deadline = transport_deadline(timeout_ms);
	ssize_t			 n;

	if (tu == NULL) {
		snprintf(err, errlen, "not connected");
		return -1;
	}
	while (len > 0) {
		n = send(tu->fd, p, len, MSG_NOSIGNAL);
		if (n >= 0) {
			p += n;
			len -= n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(err, errlen, "write: %s", strerror(errno));
			return -1;
		}
		switch (transport_unix_wait(tu->fd, POLLOUT, deadline, err,
		    errlen)) {
		case 0:
			snprintf(err, errlen, "timed out");
			return TRANSPORT_TIMEOUT;
		case -1:
			return -1;
		}
	}
	return 0;
}

static void
transport_unix_close(struct transport *t)
{
	struct transport_unix	*tu = t->data;

	if (tu == NULL)
		return;
	close(tu->fd);
	free(tu);
	t->data = NULL;
}

const struct transport_ops transport_unix_ops = {
	.name = "unix",
	.connect = transport_unix_connect,
	.read = transport_unix_read,
	.write = transport_unix_write,
	.close = transport_unix_close,
};
