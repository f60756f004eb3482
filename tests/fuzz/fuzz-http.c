/*
 * libFuzzer target for agent/http.c: arbitrary bytes from one client, cut
 * into pieces, with a handler that reads every field and answers 200 with
 * the body length. No crash, no leak, no hang, and only well-formed replies.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz {
	struct agent_config	 cfg;
	struct event_base	*base;
	struct http_server	*srv;
	size_t			 nreq;
	unsigned		 sum;	/* keeps the reads in */
};

static void
fuzz_touch(struct fuzz *fz, const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		fz->sum += (unsigned char)p[i];
}

/* Read everything a handler may read, check what http.c promises. */
static void
fuzz_handler(struct http_request *r, void *arg)
{
	struct fuzz	*fz = arg;
	char		 body[64];
	const char	*v;
	size_t		 i, len;
	int		 n;

	fz->nreq++;
	if (r->method_len == 0 || r->path_len == 0 || r->path[0] != '/' ||
	    r->nheaders > HTTP_MAX_HEADERS || r->body_len > fz->cfg.max_body ||
	    r->body[r->body_len] != '\0')
		abort();
	fuzz_touch(fz, r->method, r->method_len);
	fuzz_touch(fz, r->path, r->path_len);
	if (r->query != NULL)
		fuzz_touch(fz, r->query, r->query_len);
	for (i = 0; i < r->nheaders; i++) {
		if (r->headers[i].name_len == 0)
			abort();
		fuzz_touch(fz, r->headers[i].name, r->headers[i].name_len);
		fuzz_touch(fz, r->headers[i].value, r->headers[i].value_len);
	}
	fuzz_touch(fz, r->body, r->body_len);
	if ((v = http_header_get(r, "authorization", &len)) != NULL)
		fuzz_touch(fz, v, len);
	n = snprintf(body, sizeof(body), "%zu", r->body_len);
	http_reply(r, 200, "text/plain", body, n, NULL);
}

/*
 * The bytes the client got must be whole responses: status line, fields,
 * a Content-Length body (a 1xx has none). A trailing partial is allowed.
 */
static void
fuzz_check_replies(const char *p, size_t len, size_t nreq)
{
	const char	*end, *cl;
	size_t		 head, body, n200 = 0, nerr = 0;
	int		 status;

	while (len > 0) {
		if ((end = memmem(p, len, "\r\n\r\n", 4)) == NULL)
			return;
		head = end + 4 - p;
		if (head < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 ||
		    p[9] < '1' || p[9] > '5' || p[12] != ' ')
			abort();
		status = (p[9] - '0') * 100 + (p[10] - '0') * 10 +
		    (p[11] - '0');
		if (nerr > 0)		/* nothing after an error reply */
			abort();
		if (status < 200) {
			p += head;
			len -= head;
			continue;
		}
		if ((cl = memmem(p, head, "\r\nContent-Length: ", 18)) == NULL)
			abort();
		body = strtoul(cl + 18, NULL, 10);
		if (len - head < body)
			return;
		if (status == 200)
			n200++;
		else if (memmem(p, head, "\r\nConnection: close\r\n", 21) ==
		    NULL)
			abort();
		else
			nerr++;
		p += head + body;
		len -= head + body;
	}
	if (n200 > nreq)
		abort();
}

/* Read whatever the server sent; 1 when something came or it closed. */
static int
fuzz_read(int fd, char **out, size_t *out_len, int *eof)
{
	char	 tmp[16384];
	ssize_t	 n;
	int	 got = 0;

	while (!*eof) {
		n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n > 0) {
			if ((*out = realloc(*out, *out_len + n)) == NULL)
				abort();
			memcpy(*out + *out_len, tmp, n);
			*out_len += n;
			got = 1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			*eof = 1;
			got = 1;
		} else
			break;
	}
	return got;
}

/* A listening socket in the abstract namespace, named by the kernel. */
static int
fuzz_listen(struct sockaddr_un *sun, socklen_t *len)
{
	int	fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		abort();
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (bind(fd, (struct sockaddr *)sun, sizeof(sa_family_t)) != 0 ||
	    listen(fd, 4) != 0)
		abort();
	*len = sizeof(*sun);
	if (getsockname(fd, (struct sockaddr *)sun, len) != 0)
		abort();
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz		 fz;
	struct sockaddr_un	 sun;
	socklen_t		 sun_len;
	char			 err[128], *out = NULL;
	size_t			 off = 0, piece, out_len = 0;
	int			 lfd, fd, eof = 0, quiet, i;

	if (len < 2)
		return 0;
	memset(&fz, 0, sizeof(fz));
	/* Small limits, so that they are reached; the first byte picks them. */
	fz.cfg.max_body = 64 + (data[0] & 0x0f) * 64;
	fz.cfg.max_headers = 128 + (data[0] >> 4) * 64;
	fz.cfg.client_timeout_ms = 60000;
	/* The second byte cuts the rest: 0 in one write, else pieces of n. */
	piece = data[1] == 0 ? len : data[1];
	data += 2;
	len -= 2;

	if ((fz.base = event_base_new()) == NULL)
		abort();
	fz.srv = http_server_new(fz.base, &fz.cfg, fuzz_handler, &fz);
	lfd = fuzz_listen(&sun, &sun_len);
	if (http_server_listen(fz.srv, lfd, err, sizeof(err)) != 0)
		abort();
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sun_len) != 0)
		abort();

	/* Send it piece by piece, the server running in between. */
	while (off < len && !eof) {
		ssize_t	n = send(fd, data + off, len - off < piece ?
		    len - off : piece, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0)
			off += n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		event_base_loop(fz.base, EVLOOP_NONBLOCK);
		fuzz_read(fd, &out, &out_len, &eof);
	}
	/* Until nothing more happens... */
	for (quiet = 0; quiet < 8 && !eof; ) {
		event_base_loop(fz.base, EVLOOP_NONBLOCK);
		quiet = fuzz_read(fd, &out, &out_len, &eof) ? 0 : quiet + 1;
	}
	/* ...then a half-close, which the server takes as a hang-up. */
	shutdown(fd, SHUT_WR);
	for (i = 0; i < 8 && !eof; i++) {
		event_base_loop(fz.base, EVLOOP_NONBLOCK);
		fuzz_read(fd, &out, &out_len, &eof);
	}
	fuzz_check_replies(out, out_len, fz.nreq);
	if (http_server_busy(fz.srv) != 0)
		abort();

	close(fd);
	http_server_free(fz.srv);
	event_base_free(fz.base);
	free(out);
	return 0;
}
