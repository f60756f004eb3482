/*
 * cubectl attest --url: the agent's evidence fetched over one TLS
 * connection to its inference port (GET /attestation?nonce=HEX), with the
 * SHA-256 of the SubjectPublicKeyInfo of the certificate that connection
 * actually used. The certificate is not checked against any CA: it is
 * usually self-signed inside the TEE, and trust comes from the evidence
 * binding that key (attest-live.c's tls-key and report-data checks);
 * unless the policy's tls_ca asks a CA's word as well.
 * OpenSSL does the TLS; the HTTP here is one request and one bounded
 * answer, which libcurl could do but without handing us the peer
 * certificate of the very connection it used (CURLINFO_CERTINFO gives
 * the chain as text, after the fact).
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "attest.h"
#include "cubectl.h"
#include "rpc.h"
#include "xmalloc.h"

#define URL_ANSWER_MAX		(4 * 1024 * 1024)	/* evidence and certs */
#define URL_TIMEOUT_SEC		15	/* each connect, read or write */

/* "https://HOST[:PORT][/]" into host and port; -1 with err. */
int
attest_url_split(const char *url, char *host, size_t hostlen, char *port,
    size_t portlen, char *err, size_t errlen)
{
	const char	*p, *end, *colon;
	size_t		 n;

	if (strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "--url: https://HOST:PORT (the evidence"
		    " must come over TLS to be bound to it)");
		return -1;
	}
	p = url + 8;
	end = p + strcspn(p, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0) {
		snprintf(err, errlen, "--url: HOST:PORT only, no path");
		return -1;
	}
	if (*p == '[') {			/* [IPv6]:port */
		if ((colon = memchr(p, ']', end - p)) == NULL) {
			snprintf(err, errlen, "--url: no ']' after the IPv6"
			    " address");
			return -1;
		}
		n = colon - p - 1;
		p++;
		colon++;
		if (colon < end && *colon != ':') {
			snprintf(err, errlen, "--url: ':' after ']'");
			return -1;
		}
	} else {
		colon = memchr(p, ':', end - p);
		n = (colon != NULL ? colon : end) - p;
	}
	if (n == 0 || n > ATTEST_URL_HOST_MAX || n >= hostlen) {
		snprintf(err, errlen, "--url: no host, or a host of more than"
		    " %d bytes", ATTEST_URL_HOST_MAX);
		return -1;
	}
	memcpy(host, p, n);
	host[n] = '\0';
	if (colon == NULL || colon >= end) {
		snprintf(port, portlen, "443");
		return 0;
	}
	n = end - colon - 1;
	if (n == 0 || n > 5 || n >= portlen ||
	    strspn(colon + 1, "0123456789") < n) {
		snprintf(err, errlen, "--url: the port is 1 to 65535");
		return -1;
	}
	memcpy(port, colon + 1, n);
	port[n] = '\0';
	if (atoi(port) < 1 || atoi(port) > 65535) {
		snprintf(err, errlen, "--url: the port is 1 to 65535");
		return -1;
	}
	return 0;
}

/*
 * A TCP connection to host:port with every connect, read and write
 * bounded in time (Linux honours SO_SNDTIMEO on connect); -1 with err.
 */
int
attest_url_connect(const char *host, const char *port, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	struct timeval	 tv = { URL_TIMEOUT_SEC, 0 };
	int		 fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	snprintf(err, errlen, "%s port %s: cannot connect", host, port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)) == 0 && setsockopt(fd, SOL_SOCKET,
		    SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
		    connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		snprintf(err, errlen, "%s port %s: %s", host, port,
		    errno == EINPROGRESS ? "timed out" : strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* SHA-256 of the peer certificate's SubjectPublicKeyInfo (DER). */
int
attest_url_peer_spki(SSL *ssl, unsigned char out[32], char *err,
    size_t errlen)
{
	X509		*x;
	unsigned char	*der = NULL;
	unsigned int	 mdlen = 0;
	int		 len, rc = -1;

	if ((x = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(err, errlen, "the server showed no certificate");
		return -1;
	}
	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == 32)
		rc = 0;
	else
		snprintf(err, errlen, "cannot read the certificate's key");
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

/* Write all of s over ssl; -1 with err. */
static int
url_write(SSL *ssl, const char *s, size_t len, char *err, size_t errlen)
{
	size_t	done = 0;
	int	n;

	while (done < len) {
		if ((n = SSL_write(ssl, s + done, (int)(len - done))) <= 0) {
			snprintf(err, errlen, "sending the request failed");
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * The answer, whole, up to URL_ANSWER_MAX bytes, until the server closes
 * (we asked for Connection: close). Caller frees; NULL with err.
 */
static char *
url_read(SSL *ssl, size_t *lenp, char *err, size_t errlen)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	int	 n, e;

	for (;;) {
		if (cap - len < 16384) {
			if (cap >= URL_ANSWER_MAX) {
				snprintf(err, errlen, "the answer is over %d"
				    " bytes", URL_ANSWER_MAX);
				free(buf);
				return NULL;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			buf = xreallocarray(buf, 1, cap + 1);
		}
		if ((n = SSL_read(ssl, buf + len, (int)(cap - len))) > 0) {
			len += (size_t)n;
			continue;
		}
		e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN)
			break;
		snprintf(err, errlen, "reading the answer failed%s",
		    errno == EAGAIN || errno == EWOULDBLOCK ? ": timed out" :
		    "");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/*
 * The body of an HTTP/1.1 200 answer in buf (Content-Length, or up to the
 * close); -1 with err naming the status otherwise.
 */
static int
url_body(char *buf, size_t len, char **body, size_t *bodylen, char *err,
    size_t errlen)
{
	char		*end, *h, *line, *next;
	long long	 clen = -1;
	int		 status;

	if ((end = strstr(buf, "\r\n\r\n")) == NULL ||
	    sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1) {
		snprintf(err, errlen, "not an HTTP/1.1 answer");
		return -1;
	}
	*end = '\0';
	for (line = strstr(buf, "\r\n"); line != NULL && line < end;
	    line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if ((h = strchr(line, ':')) == NULL)
			continue;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtoll(h + 1, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
			snprintf(err, errlen, "a chunked answer (the agent"
			    " sends a length)");
			return -1;
		}
	}
	*body = end + 4;
	*bodylen = len - (size_t)(*body - buf);
	if (clen >= 0 && (size_t)clen < *bodylen)
		*bodylen = (size_t)clen;
	else if (clen >= 0 && (size_t)clen > *bodylen) {
		snprintf(err, errlen, "the answer was cut short");
		return -1;
	}
	(*body)[*bodylen] = '\0';
	if (status != 200) {
		snprintf(err, errlen, "HTTP %d from /attestation: %.200s",
		    status, *body);
		return -1;
	}
	return 0;
}

/*
 * The policy's tls_ca on ssl, whose context loaded the system's CAs: a CA
 * must vouch for the certificate and for host, a name or an IP address.
 * 0, or -1.
 */
int
attest_url_require_ca(SSL *ssl, const char *host)
{
	unsigned char	addr[16];
	int		ip;

	ip = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
	    host) : SSL_set1_host(ssl, host)) == 1 ? 0 : -1;
}

/*
 * A handshake under tls_ca that failed on the certificate: 1 with why in
 * err; 0 when the certificate was not why.
 */
int
attest_url_ca_refused(SSL *ssl, const char *host, const char *port,
    char *err, size_t errlen)
{
	long	res = SSL_get_verify_result(ssl);

	if (res == X509_V_OK)
		return 0;
	snprintf(err, errlen, "%s port %s: the policy's tls_ca: no CA the"
	    " system trusts vouches for its certificate (%s)", host, port,
	    X509_verify_cert_error_string(res));
	return 1;
}

int
attest_url_fetch(const char *url, const unsigned char *nonce,
    size_t nonce_len, int ca, struct cJSON **doc,
    unsigned char spki_sha256[32], char *err, size_t errlen)
{
	static const unsigned char	 alpn[] = "\x08http/1.1";
	char				 host[ATTEST_URL_HOST_MAX + 1], port[8];
	char				 hex[2 * ATTEST_NONCE_MAX + 1], req[768];
	char				*buf = NULL, *body;
	size_t				 len, bodylen;
	SSL_CTX				*ctx = NULL;
	SSL				*ssl = NULL;
	int				 fd = -1, rc = EXIT_UNREACHABLE, n;

	*doc = NULL;
	if (attest_url_split(url, host, sizeof(host), port, sizeof(port), err,
	    errlen) == -1)
		return EXIT_USAGE;
	if ((fd = attest_url_connect(host, port, err, errlen)) == -1)
		return EXIT_UNREACHABLE;
	/* No CA: the evidence, not a CA, says whose key this is. */
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0 ||
	    (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    (host[strspn(host, "0123456789.:")] != '\0' &&
	    SSL_set_tlsext_host_name(ssl, host) != 1)) {
		snprintf(err, errlen, "cannot set up TLS");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (ca && (SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    attest_url_require_ca(ssl, host) == -1)) {
		snprintf(err, errlen, "cannot set up TLS with the system's"
		    " CAs");
		goto out;
	}
	/* A close without close_notify ends the answer; its length says
	 * whether it was cut short. */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_connect(ssl) != 1) {
		if (ca && attest_url_ca_refused(ssl, host, port, err, errlen))
			rc = EXIT_FAILED;	/* reached, refused as asked */
		else
			snprintf(err, errlen, "%s port %s: no TLS handshake (is"
			    " it the agent's TLS port?)", host, port);
		goto out;
	}
	if (attest_url_peer_spki(ssl, spki_sha256, err, errlen) == -1)
		goto out;
	n = snprintf(req, sizeof(req), "GET /attestation?nonce=%s HTTP/1.1\r\n"
	    "Host: %s%s%s\r\nAccept: application/json\r\n"
	    "Connection: close\r\n\r\n",
	    attest_hex(nonce, nonce_len, hex, sizeof(hex)), host,
	    strcmp(port, "443") == 0 ? "" : ":",
	    strcmp(port, "443") == 0 ? "" : port);
	if (url_write(ssl, req, (size_t)n, err, errlen) == -1 ||
	    (buf = url_read(ssl, &len, err, errlen)) == NULL)
		goto out;
	rc = EXIT_FAILED;
	if (url_body(buf, len, &body, &bodylen, err, errlen) == -1)
		goto out;
	if ((*doc = cJSON_ParseWithLength(body, bodylen)) == NULL ||
	    !cJSON_IsObject(*doc)) {
		cJSON_Delete(*doc);
		*doc = NULL;
		snprintf(err, errlen, "/attestation did not answer a JSON"
		    " object");
		goto out;
	}
	rc = EXIT_OK;
out:
	free(buf);
	if (ssl != NULL)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	if (fd != -1)
		close(fd);
	return rc;
}
