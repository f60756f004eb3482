/*
 * cubectl connect: a local forward proxy that gives any OpenAI or Ollama
 * client, unmodified, end-to-end attested TLS to the agent. Before it
 * listens it fetches the agent's evidence over TLS for a fresh nonce and
 * verifies it (attest-url.c, shared/attest-live.c: the policy, and the
 * binding of the connection's key); then every client connection gets
 * its own TLS connection to the agent whose key must be that attested
 * one (its SPKI SHA-256 pinned). A different key is verified anew, over a
 * connection of its own, before a byte is forwarded; a key whose evidence
 * fails is refused with a 502 that says why, and not tried again for
 * CONNECT_RETRY_SEC.
 *
 * It relays bytes, not HTTP: the request and answer pass as they are
 * (streams as they come, the receipts in them intact), and a client that
 * hangs up closes its agent connection at once, which the agent takes as
 * the cancel it is. Written here because no library does "TLS client with
 * a pin that evidence decides"; OpenSSL does the TLS. One thread per
 * client connection (a local proxy has few), each a poll loop over the
 * client socket and its TLS connection.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "attest.h"
#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define CONNECT_LISTEN_DEFAULT	"127.0.0.1:11443"
#define CONNECT_CLIENTS_MAX	256
#define CONNECT_BUF		16384	/* each direction */
#define CONNECT_IDLE_SEC	900	/* a relay that moved no byte */
#define CONNECT_RETRY_SEC	5	/* a refused key, before trying again */
#define CONNECT_DRAIN_BYTES	65536	/* read of a refused request */
#define CONNECT_DRAIN_MS	2000
#define CONNECT_STOP_SEC	5	/* for relays to end on a stop */
#define CONNECT_STACK		(1024 * 1024)
#define CONNECT_NONCE		32

struct connect {
	const char			*url;
	char				 host[ATTEST_URL_HOST_MAX + 1];
	char				 port[8];
	struct attest_live_policy	 lp;	/* all but nonce and key */
	const struct attest_policy_file	*file;	/* the policy's tee */
	SSL_CTX				*ctx;
	pthread_mutex_t			 verifying;	/* one at a time */
	pthread_mutex_t			 lock;		/* what follows */
	pthread_cond_t			 ended;		/* a relay ended */
	unsigned char			 pin[32];	/* attested SPKI */
	unsigned char			 refused[32];	/* last failed */
	char				 refused_why[640];
	time_t				 refused_at;	/* 0: none */
	SSL_SESSION			*session;	/* to resume */
	int				 fds[CONNECT_CLIENTS_MAX];
	size_t				 nclients;
};

/* One client connection and its relay. */
struct connect_client {
	struct connect	*cn;
	size_t		 slot;		/* in cn->fds */
	int		 fd;
};

static int	connect_signal_pipe[2] = { -1, -1 };

static void
connect_on_signal(int sig)
{
	int	saved = errno;

	(void)sig;
	if (write(connect_signal_pipe[1], "x", 1) == -1) {
		/* Full: a stop is pending already. */
	}
	errno = saved;
}

static char *
connect_hex(const unsigned char k[32], char *buf, size_t len)
{
	return attest_hex(k, 32, buf, len);
}

/*
 * Fetch the agent's evidence over a new connection and verify it: the
 * key it binds (the connection's) into spki. An exit status, with why.
 */
static int
connect_verify(struct connect *cn, unsigned char spki[32], char *desc,
    size_t desclen, char *why, size_t whylen)
{
	struct attest_live_policy	 lp = cn->lp;
	struct attest_live_info		 info;
	struct attest_result		 res;
	unsigned char			 nonce[CONNECT_NONCE];
	char				 failed[256];
	char				 mhex[2 * ATTEST_MEASUREMENT_SIZE + 1];
	cJSON				*ev;
	int				 rc;

	randombytes_buf(nonce, sizeof(nonce));
	if ((rc = attest_url_fetch(cn->url, nonce, sizeof(nonce),
	    cn->file->tls_ca, &ev, spki, why, whylen)) != EXIT_OK)
		return rc;
	lp.nonce = nonce;
	lp.nonce_len = sizeof(nonce);
	lp.tls_spki_sha256 = spki;
	attest_live_verify(ev, &lp, &info, &res);
	attest_policy_tee_check(cn->file, &res);
	if (!res.verified) {
		snprintf(why, whylen, "the agent's evidence failed"
		    " verification: %s", cmd_verify_failed(&res, failed,
		    sizeof(failed)));
		cJSON_Delete(ev);
		return EXIT_FAILED;
	}
	snprintf(desc, desclen, "%s%s, measurement %.16s...",
	    info.tee != NULL ? info.tee : "unknown",
	    info.simulated ? " (SIMULATED: proves nothing about hardware)" :
	    "", attest_hex(res.measurement, sizeof(res.measurement), mhex,
	    sizeof(mhex)));
	cJSON_Delete(ev);
	return EXIT_OK;
}

/*
 * Whether spki, the key a new agent connection showed, may be sent
 * prompts: the pinned one, or one whose own evidence verifies now (then
 * it is pinned instead). 0, or -1 with why.
 */
static int
connect_pinned(struct connect *cn, const unsigned char spki[32], char *why,
    size_t whylen)
{
	unsigned char	got[32];
	char		desc[256], a[65], b[65];
	int		ok, rc = -1;

	pthread_mutex_lock(&cn->lock);
	ok = sodium_memcmp(cn->pin, spki, 32) == 0;
	pthread_mutex_unlock(&cn->lock);
	if (ok)
		return 0;

	pthread_mutex_lock(&cn->verifying);
	pthread_mutex_lock(&cn->lock);
	if (sodium_memcmp(cn->pin, spki, 32) == 0)
		rc = 0;			/* verified while we waited */
	else if (cn->refused_at != 0 &&
	    time(NULL) - cn->refused_at < CONNECT_RETRY_SEC &&
	    sodium_memcmp(cn->refused, spki, 32) == 0)
		snprintf(why, whylen, "%s", cn->refused_why);
	else
		rc = 1;
	pthread_mutex_unlock(&cn->lock);
	if (rc != 1) {
		pthread_mutex_unlock(&cn->verifying);
		return rc;
	}

	log_warnx("the agent's TLS key changed to %s; verifying its evidence",
	    connect_hex(spki, a, sizeof(a)));
	rc = -1;
	if (connect_verify(cn, got, desc, sizeof(desc), why, whylen) ==
	    EXIT_OK) {
		if (sodium_memcmp(got, spki, 32) == 0)
			rc = 0;
		else
			snprintf(why, whylen, "this connection's TLS key %s is"
			    " not the one the agent's evidence binds (%s)", a,
			    connect_hex(got, b, sizeof(b)));
	}
	pthread_mutex_lock(&cn->lock);
	if (rc == 0) {
		memcpy(cn->pin, spki, 32);
		cn->refused_at = 0;
		SSL_SESSION_free(cn->session);
		cn->session = NULL;
	} else {
		memcpy(cn->refused, spki, 32);
		snprintf(cn->refused_why, sizeof(cn->refused_why), "%s", why);
		cn->refused_at = time(NULL);
	}
	pthread_mutex_unlock(&cn->lock);
	pthread_mutex_unlock(&cn->verifying);
	if (rc == 0)
		log_warnx("verified %s: %s; TLS key %s pinned", cn->url, desc,
		    a);
	else
		log_warnx("refusing the agent's TLS key %s: %s", a, why);
	return rc;
}

/* The newest session the agent gave us, to resume the next connection. */
static int
connect_on_session(SSL *ssl, SSL_SESSION *sess)
{
	struct connect	*cn = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	pthread_mutex_lock(&cn->lock);
	SSL_SESSION_free(cn->session);
	cn->session = sess;
	pthread_mutex_unlock(&cn->lock);
	return 1;		/* we keep the reference */
}

/*
 * A TLS connection to the agent whose key is the attested one; NULL with
 * why (*attested 0 when the agent could not be reached at all).
 */
static SSL *
connect_upstream(struct connect *cn, int *fdp, int *attested, char *why,
    size_t whylen)
{
	unsigned char	 spki[32];
	SSL		*ssl = NULL;
	int		 fd;

	*attested = 0;
	if ((fd = attest_url_connect(cn->host, cn->port, why, whylen)) == -1)
		return NULL;
	if ((ssl = SSL_new(cn->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    (cn->host[strspn(cn->host, "0123456789.:")] != '\0' &&
	    SSL_set_tlsext_host_name(ssl, cn->host) != 1) ||
	    (cn->file->tls_ca && attest_url_require_ca(ssl, cn->host) == -1)) {
		snprintf(why, whylen, "cannot set up TLS");
		goto fail;
	}
	pthread_mutex_lock(&cn->lock);
	if (cn->session != NULL)
		SSL_set_session(ssl, cn->session);
	pthread_mutex_unlock(&cn->lock);
	if (SSL_connect(ssl) != 1) {
		if (!cn->file->tls_ca || !attest_url_ca_refused(ssl, cn->host,
		    cn->port, why, whylen))
			snprintf(why, whylen, "%s port %s: no TLS handshake",
			    cn->host, cn->port);
		goto fail;
	}
	*attested = 1;
	if (attest_url_peer_spki(ssl, spki, why, whylen) == -1 ||
	    connect_pinned(cn, spki, why, whylen) == -1)
		goto fail;
	*fdp = fd;
	return ssl;
fail:
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
	return NULL;
}

static int
connect_nonblock(int fd)
{
	int	fl;

	return (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : 0;
}

/*
 * A refusal in the OpenAI error shape, then (drain) the request read and
 * thrown away for up to CONNECT_DRAIN_MS, so that the close does not
 * reset the connection before the client read the answer.
 */
static void
connect_refuse(int fd, int status, const char *code, const char *message,
    int drain)
{
	char		 head[256], buf[4096];
	cJSON		*doc, *err;
	char		*body;
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	struct timespec	 start, now;
	size_t		 got = 0;
	ssize_t		 n;
	long		 left;
	int		 hlen;

	if ((doc = cJSON_CreateObject()) == NULL ||
	    (err = cJSON_AddObjectToObject(doc, "error")) == NULL ||
	    cJSON_AddStringToObject(err, "message", message) == NULL ||
	    cJSON_AddStringToObject(err, "type", status == 503 ?
	    "server_error" : "upstream_error") == NULL ||
	    cJSON_AddNullToObject(err, "param") == NULL ||
	    cJSON_AddStringToObject(err, "code", code) == NULL ||
	    (body = cJSON_PrintUnformatted(doc)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(doc);
	hlen = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status, status == 503 ?
	    "Service Unavailable" : "Bad Gateway", strlen(body));
	if (send(fd, head, (size_t)hlen, MSG_NOSIGNAL) == hlen)
		(void)send(fd, body, strlen(body), MSG_NOSIGNAL);
	free(body);
	shutdown(fd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (drain && got < CONNECT_DRAIN_BYTES) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = CONNECT_DRAIN_MS - ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1 ||
		    (n = read(fd, buf, sizeof(buf))) <= 0)
			break;
		got += (size_t)n;
	}
}

/* One direction of a relay: bytes read and not yet written on. */
struct connect_pipe {
	char	buf[CONNECT_BUF];
	size_t	off, len;
};

/*
 * Bytes both ways between the client fd and the agent's ssl until either
 * side ends: the client's hang-up closes the agent connection at once;
 * the agent's end is passed on once its last bytes are written.
 */
static void
connect_relay(int fd, SSL *ssl, int ufd)
{
	struct connect_pipe	*up, *down;
	struct pollfd		 pfd[2];
	int			 moved, upeof = 0, e, n;
	short			 cev, uev;

	up = xcalloc(1, sizeof(*up));
	down = xcalloc(1, sizeof(*down));
	for (;;) {
		moved = 0;
		cev = uev = 0;
		/* client -> agent */
		if (up->len == 0) {
			n = (int)read(fd, up->buf, sizeof(up->buf));
			if (n == 0 || (n == -1 && errno != EAGAIN &&
			    errno != EINTR))
				break;		/* hung up */
			if (n > 0) {
				up->off = 0;
				up->len = (size_t)n;
				moved = 1;
			} else
				cev |= POLLIN;
		}
		if (up->len > 0) {
			n = SSL_write(ssl, up->buf + up->off, (int)up->len);
			if (n > 0) {
				up->off += (size_t)n;
				up->len -= (size_t)n;
				moved = 1;
			} else if ((e = SSL_get_error(ssl, n)) ==
			    SSL_ERROR_WANT_READ)
				uev |= POLLIN;
			else if (e == SSL_ERROR_WANT_WRITE)
				uev |= POLLOUT;
			else
				break;		/* the agent is gone */
		}
		/* agent -> client */
		if (down->len == 0 && !upeof) {
			n = SSL_read(ssl, down->buf, sizeof(down->buf));
			if (n > 0) {
				down->off = 0;
				down->len = (size_t)n;
				moved = 1;
			} else if ((e = SSL_get_error(ssl, n)) ==
			    SSL_ERROR_WANT_READ)
				uev |= POLLIN;
			else if (e == SSL_ERROR_WANT_WRITE)
				uev |= POLLOUT;
			else
				upeof = 1;
		}
		if (down->len > 0) {
			n = (int)send(fd, down->buf + down->off, down->len,
			    MSG_NOSIGNAL);
			if (n > 0) {
				down->off += (size_t)n;
				down->len -= (size_t)n;
				moved = 1;
			} else if (n == -1 && (errno == EAGAIN ||
			    errno == EINTR))
				cev |= POLLOUT;
			else
				break;
		}
		if (upeof && down->len == 0)
			break;
		if (moved)
			continue;
		pfd[0].fd = fd;
		pfd[0].events = cev;
		pfd[1].fd = ufd;
		pfd[1].events = uev;
		/* POLLHUP/POLLERR come anyway: the next pass reads them. */
		if ((n = poll(pfd, 2, CONNECT_IDLE_SEC * 1000)) == 0)
			break;
		if (n == -1 && errno != EINTR)
			break;
	}
	sodium_memzero(up, sizeof(*up));
	sodium_memzero(down, sizeof(*down));
	free(up);
	free(down);
}

static void *
connect_client_run(void *arg)
{
	struct connect_client	*cl = arg;
	struct connect		*cn = cl->cn;
	char			 why[640], msg[720];
	SSL			*ssl;
	int			 ufd = -1, attested;

	if ((ssl = connect_upstream(cn, &ufd, &attested, why,
	    sizeof(why))) == NULL) {
		snprintf(msg, sizeof(msg), "cubectl connect: %s; nothing was"
		    " forwarded", why);
		connect_refuse(cl->fd, 502, attested ? "attestation_failed" :
		    "upstream_error", msg, 1);
	} else if (connect_nonblock(cl->fd) == -1 ||
	    connect_nonblock(ufd) == -1)
		log_warn("relay");
	else {
		SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		connect_relay(cl->fd, ssl, ufd);
	}
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(ufd);
	}
	ERR_clear_error();
	OPENSSL_thread_stop();

	pthread_mutex_lock(&cn->lock);
	cn->fds[cl->slot] = -1;
	cn->nclients--;
	close(cl->fd);
	pthread_cond_signal(&cn->ended);
	pthread_mutex_unlock(&cn->lock);
	free(cl);
	return NULL;
}

/* A thread for the new client fd; refused when there are too many. */
static void
connect_accept(struct connect *cn, int fd, pthread_attr_t *attr)
{
	struct connect_client	*cl;
	pthread_t		 t;
	size_t			 i;

	pthread_mutex_lock(&cn->lock);
	for (i = 0; i < CONNECT_CLIENTS_MAX && cn->fds[i] != -1; i++)
		;
	if (i == CONNECT_CLIENTS_MAX) {
		pthread_mutex_unlock(&cn->lock);
		connect_refuse(fd, 503, "server_busy", "cubectl connect:"
		    " too many connections", 0);
		close(fd);
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->cn = cn;
	cl->slot = i;
	cl->fd = fd;
	cn->fds[i] = fd;
	cn->nclients++;
	if ((errno = pthread_create(&t, attr, connect_client_run, cl)) != 0) {
		log_warn("a thread for a client");
		cn->fds[i] = -1;
		cn->nclients--;
		pthread_mutex_unlock(&cn->lock);
		free(cl);
		connect_refuse(fd, 503, "server_busy", "cubectl connect: out"
		    " of threads", 0);
		close(fd);
		return;
	}
	pthread_mutex_unlock(&cn->lock);
}

/*
 * The listening socket of --listen, which must be a loopback address:
 * the proxy's clients speak plain HTTP to it. Its address into bound
 * (bound NULL: only check addr, and return 0); -2 with err for an address
 * refused, -1 when it cannot listen.
 */
static int
connect_listen(const char *addr, char *bound, size_t boundlen, char *err,
    size_t errlen)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 host[ATTEST_URL_HOST_MAX + 1], port[8];
	char			 num[64];
	const char		*colon;
	size_t			 n;
	int			 fd = -1, one = 1, rc, loop;

	/* IPv4:PORT or [IPv6]:PORT; port 0 picks a free one. */
	if ((colon = strrchr(addr, ':')) == NULL ||
	    (size_t)(colon - addr) > ATTEST_URL_HOST_MAX ||
	    colon[1] == '\0' || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atoi(colon + 1) > 65535) {
		snprintf(err, errlen, "--listen %s: ADDR:PORT, a port 0 to"
		    " 65535", addr);
		return -2;
	}
	n = (size_t)(colon - addr);
	if (addr[0] == '[' && n >= 2 && addr[n - 1] == ']') {
		memcpy(host, addr + 1, n - 2);
		host[n - 2] = '\0';
	} else {
		memcpy(host, addr, n);
		host[n] = '\0';
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "--listen %s: an IP address and a port"
		    " (%s)", addr, gai_strerror(rc));
		return -2;
	}
	loop = (res->ai_family == AF_INET &&
	    (ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr) >>
	    24) == 127) || (res->ai_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(
	    &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr));
	if (!loop) {
		snprintf(err, errlen, "--listen %s: a loopback address only"
		    " (its clients speak plain HTTP to it)", addr);
		freeaddrinfo(res);
		return -2;
	}
	if (bound == NULL) {
		freeaddrinfo(res);
		return 0;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, res->ai_addr,
	    res->ai_addrlen) == -1 || listen(fd, 128) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "--listen %s: %s", addr,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    num, sizeof(num));
		snprintf(bound, boundlen, "[%s]:%u", num,
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    num, sizeof(num));
		snprintf(bound, boundlen, "%s:%u", num,
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	return fd;
}

/* Accept until SIGINT or SIGTERM; then end the relays and return. */
static void
connect_serve(struct connect *cn, int lfd)
{
	struct pollfd	 pfd[2];
	struct timespec	 until;
	pthread_attr_t	 attr;
	size_t		 i;
	int		 fd, wait_ms = -1;

	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) !=
	    0 || pthread_attr_setstacksize(&attr, CONNECT_STACK) != 0)
		fatalx("%s: pthread attributes", __func__);
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = connect_signal_pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, wait_ms) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents != 0)
			break;
		wait_ms = -1;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			/* Out of descriptors: let some relay end first. */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept");
				wait_ms = 100;
			}
			continue;
		}
		connect_accept(cn, fd, &attr);
	}
	pthread_attr_destroy(&attr);
	close(lfd);

	/* Hang up on every client: each relay then ends and closes. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CONNECT_STOP_SEC;
	pthread_mutex_lock(&cn->lock);
	for (i = 0; i < CONNECT_CLIENTS_MAX; i++)
		if (cn->fds[i] != -1)
			shutdown(cn->fds[i], SHUT_RDWR);
	while (cn->nclients > 0 &&
	    pthread_cond_timedwait(&cn->ended, &cn->lock, &until) == 0)
		;
	pthread_mutex_unlock(&cn->lock);
}

int
cmd_connect(struct cubectl *c, const struct cmd_entry *ce, const struct args *a)
{
	static const unsigned char	 alpn[] = "\x08http/1.1";
	struct connect			 cn;
	struct verify_policy		 vp;
	struct attest_input		 collateral;
	struct sigaction		 sa;
	const struct args_value		*v;
	unsigned char			 spki[32];
	char				 err[1024], desc[256], hex[65];
	char				 bound[ATTEST_URL_HOST_MAX + 16];
	char				*root = NULL;
	const char			*listen_at = CONNECT_LISTEN_DEFAULT;
	size_t				 i;
	int				 rc, lfd = -1;

	(void)c;
	memset(&cn, 0, sizeof(cn));
	for (i = 0; i < CONNECT_CLIENTS_MAX; i++)
		cn.fds[i] = -1;
	cn.url = args_get(a, "--url")->string;
	if ((v = args_get(a, "--listen")) != NULL)
		listen_at = v->string;
	if (attest_url_split(cn.url, cn.host, sizeof(cn.host), cn.port,
	    sizeof(cn.port), err, sizeof(err)) == -1)
		return cmd_usage_error(ce, err);
	verify_policy_init(&vp);
	if (cmd_verify_policy(a, 0, &vp, err, sizeof(err)) == -1 ||
	    cmd_attest_live_policy(a, &vp, &cn.lp, &collateral, &root, err,
	    sizeof(err)) == -1) {
		verify_policy_free(&vp);
		return cmd_usage_error(ce, err);
	}
	cn.file = &vp.file;
	if (connect_listen(listen_at, NULL, 0, err, sizeof(err)) < 0) {
		rc = cmd_usage_error(ce, err);
		goto out;
	}
	if (sodium_init() < 0)
		fatalx("sodium_init failed");

	/* Verified before listening: nothing is ever forwarded unverified. */
	rc = connect_verify(&cn, spki, desc, sizeof(desc), err, sizeof(err));
	if (rc != EXIT_OK) {
		output_error("%s: %s; not listening", cn.url, err);
		goto out;
	}
	memcpy(cn.pin, spki, sizeof(spki));

	rc = EXIT_FAILED;
	if ((cn.ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(cn.ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(cn.ctx, alpn, sizeof(alpn) - 1) != 0)
		fatalx("%s: cannot set up TLS", __func__);
	/*
	 * No CA: the key is the attested one, or nothing is sent; unless the
	 * policy's tls_ca asks a CA's word as well (connect_upstream).
	 */
	SSL_CTX_set_verify(cn.ctx, SSL_VERIFY_NONE, NULL);
	if (cn.file->tls_ca && SSL_CTX_set_default_verify_paths(cn.ctx) != 1)
		fatalx("%s: cannot load the system's CAs", __func__);
	SSL_CTX_set_app_data(cn.ctx, &cn);
	SSL_CTX_set_session_cache_mode(cn.ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(cn.ctx, connect_on_session);
	if ((lfd = connect_listen(listen_at, bound, sizeof(bound), err,
	    sizeof(err))) < 0) {
		output_error("%s", err);
		rc = lfd == -2 ? EXIT_USAGE : EXIT_FAILED;
		goto out;
	}
	if (pthread_mutex_init(&cn.lock, NULL) != 0 ||
	    pthread_mutex_init(&cn.verifying, NULL) != 0 ||
	    pthread_cond_init(&cn.ended, NULL) != 0 ||
	    pipe2(connect_signal_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("%s: set up", __func__);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = connect_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1)
		fatal("sigaction");
	signal(SIGPIPE, SIG_IGN);

	log_info("verified %s: %s; TLS key %s pinned", cn.url, desc,
	    connect_hex(cn.pin, hex, sizeof(hex)));
	printf("listening on http://%s\n", bound);
	fflush(stdout);
	connect_serve(&cn, lfd);
	rc = EXIT_OK;
	pthread_mutex_lock(&cn.lock);
	i = cn.nclients;
	pthread_mutex_unlock(&cn.lock);
	if (i > 0) {
		/* A relay stuck in a connect: its thread outlives us. */
		output_error("%zu connections did not end", i);
		fflush(NULL);
		_exit(EXIT_OK);
	}
	pthread_mutex_destroy(&cn.lock);
	pthread_mutex_destroy(&cn.verifying);
	pthread_cond_destroy(&cn.ended);
	close(connect_signal_pipe[0]);
	close(connect_signal_pipe[1]);
out:
	SSL_SESSION_free(cn.session);
	SSL_CTX_free(cn.ctx);
	free(root);
	verify_policy_free(&vp);
	return rc;
}
