/*
 * A probe's GET (probe.c: health checks, model lists, deploy checks) to a
 * backend the agent's own client takes: http:// to an IP address or
 * localhost. One blocking exchange on a connection of its own, closed
 * after, the answer read with h1-response.c (strict RFC 9112, as the
 * request path reads the same backend). With it, an agent whose backends
 * are all reached by address never loads libcurl (curl-load.c), not even
 * for its checks.
 *
 * Blocking, as the libcurl call it stands in for: probes run on the
 * health thread or an admin thread, never on a loop. Every wait is a poll
 * of at most PROBE_H1_SLICE_MS, so a cancel (shutdown) is seen as soon.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent.h"
#include "xmalloc.h"

#define PROBE_H1_SLICE_MS	100
#define PROBE_H1_READ		(16 * 1024)
#define PROBE_H1_REQUEST_MAX	(16 * 1024)

static long long
probe_h1_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait for events on fd until the deadline: 1 ready, 0 the deadline
 * passed, -1 cancelled (err says so) or poll failed.
 */
static int
probe_h1_wait(int fd, short events, long long deadline, const int *cancel,
    char *err, size_t errlen)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	long long	left;
	int		n;

	for (;;) {
		if (cancel != NULL && __atomic_load_n(cancel, __ATOMIC_RELAXED)) {
			snprintf(err, errlen, "cancelled");
			return -1;
		}
		if ((left = deadline - probe_h1_now_ms()) <= 0)
			return 0;
		n = poll(&pfd, 1, left < PROBE_H1_SLICE_MS ? (int)left :
		    PROBE_H1_SLICE_MS);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* The request head, with every line of headers; NULL when too long. */
static char *
probe_h1_request(const char *authority, size_t alen, const char *path,
    const struct curl_slist *headers, size_t *len)
{
	const struct curl_slist	*h;
	char			*buf;
	size_t			 n = 0, cap = PROBE_H1_REQUEST_MAX;
	int			 w;

	buf = xmalloc(cap);
	/* No content coding: the answer is read as it comes. */
	w = snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: %.*s\r\n"
	    "User-Agent: cube-agent/" CUBE_VERSION "\r\n"
	    "Accept-Encoding: identity\r\n", path, (int)alen, authority);
	if (w < 0 || (size_t)w >= cap)
		goto toolong;
	n = (size_t)w;
	for (h = headers; h != NULL; h = h->next) {
		w = snprintf(buf + n, cap - n, "%s\r\n", h->data);
		if (w < 0 || (size_t)w >= cap - n)
			goto toolong;
		n += (size_t)w;
	}
	w = snprintf(buf + n, cap - n, "Connection: close\r\n\r\n");
	if (w < 0 || (size_t)w >= cap - n)
		goto toolong;
	*len = n + (size_t)w;
	return buf;
toolong:
	explicit_bzero(buf, cap);	/* it may hold the credential */
	free(buf);
	return NULL;
}

/*
 * A connected socket, waited for up to the deadline; localhost refused at
 * one loopback address tries the other, as the request path does. The
 * socket, or -1 with err (*local set when this machine ran short).
 */
static int
probe_h1_connect(struct sockaddr_storage *ss, socklen_t sslen,
    const char *authority, size_t alen, long long deadline, const int *cancel,
    int *local, char *err, size_t errlen)
{
	socklen_t	elen;
	int		fd, e, r, tries = h1_authority_localhost(authority,
			    alen) ? 2 : 1;

	for (;;) {
		if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1) {
			e = errno;
			if ((*local = upstream_errno_local(e)))
				snprintf(err, errlen, "this machine is out of"
				    " resources: %s", strerror(e));
			else
				snprintf(err, errlen, "socket: %s",
				    strerror(e));
			return -1;
		}
		e = 0;
		if (connect(fd, (const struct sockaddr *)ss, sslen) == 0)
			return fd;
		if (errno != EINPROGRESS)
			e = errno;
		else if ((r = probe_h1_wait(fd, POLLOUT, deadline, cancel, err,
		    errlen)) == -1)
			break;
		else if (r == 0) {
			snprintf(err, errlen, "connect to %.*s timed out",
			    (int)alen, authority);
			break;
		} else {
			elen = sizeof(e);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
			    &elen) == -1)
				e = errno;
			if (e == 0)
				return fd;
		}
		close(fd);
		if (e == ECONNREFUSED && --tries > 0) {
			h1_loopback_other(ss, &sslen);
			continue;
		}
		snprintf(err, errlen, "connect to %.*s: %s", (int)alen,
		    authority, strerror(e));
		return -1;
	}
	close(fd);
	return -1;
}

/* Send all of buf by the deadline. 0, or -1 with err. */
static int
probe_h1_send(int fd, const char *buf, size_t len, long long deadline,
    const int *cancel, char *err, size_t errlen)
{
	ssize_t	n;
	int	r;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			return -1;
		}
		if ((r = probe_h1_wait(fd, POLLOUT, deadline, cancel, err,
		    errlen)) == -1)
			return -1;
		if (r == 0) {
			snprintf(err, errlen, "sending the request timed out");
			return -1;
		}
	}
	return 0;
}

/*
 * Read the answer: its head (interim 1xx ones skipped) into head, its body
 * through fetch_body_write into body. 0, or -1 with err.
 */
static int
probe_h1_answer(int fd, long long deadline, const int *cancel,
    struct fetch_body *body, long *status, char *err, size_t errlen)
{
	struct h1_head	 h;
	struct h1_body	 b;
	char		*buf = xmalloc(H1_HEAD_MAX + PROBE_H1_READ);
	const char	*data;
	size_t		 have = 0, dlen;
	ssize_t		 n, hl = 0;
	int		 in_body = 0, r, ret = -1;

	for (;;) {
		/* What the buffer holds first: the head, then the body. */
		while (have > 0) {
			if (!in_body) {
				if ((hl = h1_head_length(buf, have)) == 0)
					break;
				if (hl == -1 || h1_head_parse(buf, (size_t)hl,
				    &h, NULL, NULL) == -1) {
					snprintf(err, errlen, "the answer's"
					    " head is malformed");
					goto out;
				}
				memmove(buf, buf + hl, have - (size_t)hl);
				have -= (size_t)hl;
				if (h.status < 200)
					continue;	/* 100 Continue... */
				h1_body_init(&b, &h);
				in_body = 1;
			}
			if (b.done)
				break;
			if ((n = h1_body_read(&b, buf, have, &data,
			    &dlen)) == -1) {
				snprintf(err, errlen, "the answer's body is"
				    " malformed");
				goto out;
			}
			if (dlen > 0 && fetch_body_write((char *)data, 1, dlen,
			    body) != dlen) {
				snprintf(err, errlen, "the answer is larger"
				    " than %zu bytes", body->max);
				goto out;
			}
			memmove(buf, buf + n, have - (size_t)n);
			have -= (size_t)n;
		}
		if (in_body && b.done)
			break;
		/* Not full: a head ends (or fails) within H1_HEAD_MAX. */
		n = recv(fd, buf + have, H1_HEAD_MAX + PROBE_H1_READ - have, 0);
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == 0) {
			if (in_body && h1_body_eof(&b))
				break;
			snprintf(err, errlen, "the connection closed before"
			    " the answer ended");
			goto out;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			snprintf(err, errlen, "recv: %s", strerror(errno));
			goto out;
		}
		if ((r = probe_h1_wait(fd, POLLIN, deadline, cancel, err,
		    errlen)) == -1)
			goto out;
		if (r == 0) {
			snprintf(err, errlen, "the answer timed out");
			goto out;
		}
	}
	*status = h.status;
	ret = 0;
out:
	explicit_bzero(buf, H1_HEAD_MAX + PROBE_H1_READ);
	free(buf);
	return ret;
}

int
probe_h1_get(const char *url, const struct curl_slist *headers,
    int connect_ms, int total_ms, const int *cancel, struct fetch_body *body,
    long *status, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*authority, *path;
	char			*req;
	size_t			 alen, len;
	long long		 start = probe_h1_now_ms(), deadline;
	int			 fd, local = 0, ret = -1;

	if (h1_url_split(url, &ss, &sslen, &authority, &alen, &path) == -1)
		return PROBE_H1_NOT_MINE;
	if ((req = probe_h1_request(authority, alen, path, headers,
	    &len)) == NULL)
		return PROBE_H1_NOT_MINE;	/* libcurl takes long heads */
	deadline = start + (connect_ms < total_ms ? connect_ms : total_ms);
	if ((fd = probe_h1_connect(&ss, sslen, authority, alen, deadline,
	    cancel, &local, err, errlen)) == -1) {
		if (local)
			ret = PROBE_LOCAL;
		goto out;
	}
	deadline = start + total_ms;
	if (probe_h1_send(fd, req, len, deadline, cancel, err, errlen) == -1 ||
	    probe_h1_answer(fd, deadline, cancel, body, status, err,
	    errlen) == -1)
		goto out;
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	explicit_bzero(req, len);	/* it holds the credential */
	free(req);
	return ret;
}
