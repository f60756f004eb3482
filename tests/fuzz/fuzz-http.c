/*
 * libFuzzer target for agent/http.c: arbitrary bytes from one client, cut
 * into pieces, through the head phase (a head handler that answers some
 * requests on their head, takes some to answer later and lets the others'
 * bodies in) and a handler that reads every field and answers 200 with the
 * body length; small limits, sometimes a connection cap of one with a
 * second client refused. No crash, no leak, no hang, only well-formed
 * replies.
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

/* Plain HTTP: the bytes reach the parser; TLS is OpenSSL's to fuzz. */
int
tls_enabled(void)
{
	return 0;
}

struct ssl_st *
tls_ssl_new(void)
{
	return NULL;
}

struct fuzz {
	struct agent_config	 cfg;
	struct event_base	*base;
	struct http_server	*srv;
	size_t			 nreq;		/* answered 2xx, at most */
	unsigned		 sum;	/* keeps the reads in */
	struct http_request	*held;	/* taken on its head, answered later */
	int			 let_in;	/* head handler saw ours */
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
	if (r->cb_arg != NULL && r->cb_arg != fz)
		abort();
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

static void
fuzz_held_abort(void *arg)
{
	struct fuzz	*fz = arg;

	fz->held = NULL;
}

/* Read the head only (there is no body yet); decide by the path. */
static enum http_head_result
fuzz_head(struct http_request *r, void *arg)
{
	struct fuzz	*fz = arg;

	if (r->method_len == 0 || r->path_len == 0 || r->path[0] != '/' ||
	    r->nheaders > HTTP_MAX_HEADERS || r->body != NULL ||
	    r->body_len != 0 || fz->held != NULL)
		abort();
	fuzz_touch(fz, r->method, r->method_len);
	fuzz_touch(fz, r->path, r->path_len);
	if (r->path_len > 1 && r->path[1] == 'r') {
		fz->nreq++;
		http_reply(r, 202, "application/json", "{}", 2, NULL);
		return HTTP_HEAD_TAKEN;
	}
	if (r->path_len > 1 && r->path[1] == 'l') {
		fz->nreq++;
		fz->held = r;
		r->on_abort = fuzz_held_abort;
		r->cb_arg = fz;
		return HTTP_HEAD_TAKEN;
	}
	r->on_abort = NULL;
	r->cb_arg = fz;
	return HTTP_HEAD_BODY;
}

/*
 * A request taken on its head is answered on a later loop pass, with its
 * own first field and Content-Type sent back: what the reply checks let
 * through must still make a well-formed head.
 */
static void
fuzz_answer_held(struct fuzz *fz)
{
	struct http_request	*r = fz->held;
	struct http_fields	 f;
	const char		*v;
	char			 ctype[HTTP_CTYPE_MAX + 64];
	size_t			 len;

	if (r == NULL)
		return;
	fz->held = NULL;
	r->on_abort = NULL;
	http_fields_init(&f);
	if (r->nheaders > 0)
		http_fields_add(&f, r->headers[0].name, r->headers[0].name_len,
		    r->headers[0].value, r->headers[0].value_len);
	if ((v = http_header_get(r, "content-type", &len)) == NULL)
		len = 0;
	if (len >= sizeof(ctype))
		len = sizeof(ctype) - 1;
	memcpy(ctype, v != NULL ? v : "", len);
	ctype[len] = '\0';
	http_reply_fields(r, 203, ctype, "{}", 2, &f);
}

/*
 * The bytes the client got must be whole responses: status line, fields,
 * a Content-Length body (a 1xx has none, nor a reply to HEAD: then the
 * next reply follows the head at once; no body here starts like one).
 * Nothing follows a reply that closes. A trailing partial is allowed.
 */
static void
fuzz_check_replies(const char *p, size_t len, size_t nreq)
{
	const char	*end, *cl;
	size_t		 head, body, n200 = 0, nerr = 0;
	int		 status, closed = 0;

	while (len > 0) {
		if ((end = memmem(p, len, "\r\n\r\n", 4)) == NULL)
			return;
		head = end + 4 - p;
		if (head < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 ||
		    p[9] < '1' || p[9] > '5' || p[12] != ' ')
			abort();
		status = (p[9] - '0') * 100 + (p[10] - '0') * 10 +
		    (p[11] - '0');
		if (nerr > 0 || closed)	/* nothing after a last reply */
			abort();
		if (status < 200) {
			p += head;
			len -= head;
			continue;
		}
		if ((cl = memmem(p, head, "\r\nContent-Length: ", 18)) == NULL)
			abort();
		body = strtoul(cl + 18, NULL, 10);
		if (len - head >= 9 && memcmp(p + head, "HTTP/1.1 ", 9) == 0)
			body = 0;	/* to HEAD */
		if (len - head < body)
			return;
		closed = memmem(p, head, "\r\nConnection: close\r\n", 21) !=
		    NULL;
		if (status >= 200 && status < 300)
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

/*
 * Under a cap of one connection, a second client gets a 503 and a close,
 * and the first is served as ever.
 */
static void
fuzz_refused(struct fuzz *fz, const struct sockaddr_un *sun, socklen_t len,
    int *fd2)
{
	char	*out = NULL;
	size_t	 out_len = 0;
	int	 eof = 0, i;

	/* The first connection must be in before the second comes. */
	for (i = 0; i < 8 && http_connections() == 0; i++)
		event_base_loop(fz->base, EVLOOP_NONBLOCK);
	if (http_connections() != 1)
		abort();
	*fd2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd2 == -1 || connect(*fd2, (const struct sockaddr *)sun,
	    len) != 0)
		abort();
	for (i = 0; i < 64 && !eof; i++) {
		event_base_loop(fz->base, EVLOOP_NONBLOCK);
		fuzz_read(*fd2, &out, &out_len, &eof);
	}
	if (!eof || out_len < 13 || memcmp(out, "HTTP/1.1 503 ", 13) != 0)
		abort();
	free(out);
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
	int			 lfd, fd, fd2 = -1, eof = 0, quiet, i;
	unsigned		 mode;

	if (len < 3)
		return 0;
	memset(&fz, 0, sizeof(fz));
	/* Small limits, so that they are reached; the first byte picks them. */
	fz.cfg.max_body = 64 + (data[0] & 0x0f) * 64;
	fz.cfg.max_headers = 128 + (data[0] >> 4) * 64;
	fz.cfg.client_timeout_ms = 60000;
	fz.cfg.head_timeout_ms = 60000;
	fz.cfg.body_timeout_ms = 60000;
	/* The second byte cuts the rest: 0 in one write, else pieces of n. */
	piece = data[1] == 0 ? len : data[1];
	/* The third: a head handler (bit 0), a cap of one connection (1). */
	mode = data[2];
	if (mode & 2)
		fz.cfg.max_connections_per_address = 1;
	data += 3;
	len -= 3;

	if ((fz.base = event_base_new()) == NULL)
		abort();
	fz.srv = http_server_new(fz.base, &fz.cfg, fuzz_handler, &fz);
	http_server_set_error_body(fz.srv, api_error_http_body);
	if (mode & 1)
		http_server_set_head(fz.srv, fuzz_head);
	lfd = fuzz_listen(&sun, &sun_len);
	if (http_server_listen(fz.srv, lfd, err, sizeof(err)) != 0)
		abort();
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sun_len) != 0)
		abort();
	if (mode & 2)
		fuzz_refused(&fz, &sun, sun_len, &fd2);

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
		fuzz_answer_held(&fz);
	}
	/* Until nothing more happens... */
	for (quiet = 0; quiet < 8 && !eof; ) {
		event_base_loop(fz.base, EVLOOP_NONBLOCK);
		quiet = fuzz_read(fd, &out, &out_len, &eof) ? 0 : quiet + 1;
		if (fz.held != NULL) {
			fuzz_answer_held(&fz);
			quiet = 0;
		}
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
	if (fd2 != -1)
		close(fd2);
	http_server_free(fz.srv);
	if (http_connections() != 0)
		abort();
	event_base_free(fz.base);
	free(out);
	return 0;
}
