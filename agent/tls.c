/*
 * TLS for the inference port: one SSL_CTX that every worker loop shares,
 * with a certificate from files or a key pair made at start in memory.
 * tls_start(), tls_reload() and tls_rotate() run on the main thread; the
 * workers only call tls_ssl_new() (an atomic load and SSL_new) at accept;
 * the attestation and admin code read the identity through tls_info().
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define TLS_FILE_MAX		(1024 * 1024)	/* a PEM certificate or key */
#define TLS_GENERATED_DAYS	365		/* a generated certificate */
#define TLS_RETIRE_S		60		/* a replaced context is kept */
#define TLS_SECURE_HEAP		65536		/* OpenSSL's, for private keys */

/* TLS 1.2 suites: forward secret (ECDHE) and AEAD only; 1.3's are all so. */
#define TLS_CIPHERS_12							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS		"X25519:P-256:P-384"

/* Session ticket keys: random, in sodium_malloc memory, never written. */
struct tls_ticket_key {
	unsigned char	 name[16];
	unsigned char	 aes[32];
	unsigned char	 hmac[32];
};

/*
 * One SSL_CTX with what it serves. Immutable once published: a reload or
 * a ticket rotation builds a new one, and the old one stays alive
 * TLS_RETIRE_S (an accept that loaded it has long taken its own reference
 * through SSL_new by then).
 */
struct tls_ctx {
	SSL_CTX			*ssl;
	struct tls_ticket_key	*keys;		/* [0] current, [1] previous */
	struct tls_ctx		*retired_next;
	time_t			 retired_at;
};

static _Atomic(struct tls_ctx *) tls_current;
static struct tls_ctx		*tls_retired;
static struct tls_info		 tls_id;	/* under tls_id_lock */
static pthread_mutex_t		 tls_id_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct agent_config *tls_cfg;

/* OpenSSL's queued errors as one line (and the queue emptied). */
static const char *
tls_errors(char *buf, size_t len)
{
	unsigned long	e;
	size_t		n = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		if (n == 0)
			ERR_error_string_n(e, buf, len);
		n++;
	}
	if (n == 0)
		snprintf(buf, len, "unknown error");
	return buf;
}

/* --- session tickets ----------------------------------------------------- */

static int
tls_ticket_cb(SSL *s, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_ctx	*tc = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
	OSSL_PARAM	 params[3];
	const struct tls_ticket_key *k = NULL;
	int		 i;

	if (tc == NULL)
		return -1;
	if (enc) {
		k = &tc->keys[0];
		if (RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(name, k->name, 16);
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1)
			return -1;
	} else {
		for (i = 0; i < 2; i++)
			if (sodium_memcmp(name, tc->keys[i].name, 16) == 0)
				break;
		if (i == 2)
			return 0;	/* unknown or expired: full handshake */
		k = &tc->keys[i];
		if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1)
			return -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	/* A ticket under the previous key resumes and gets a new one. */
	return enc || k == &tc->keys[0] ? 1 : 2;
}

/* Only http/1.1: a client that offers ALPN without it is refused. */
static int
tls_alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	 h11[] = "\x08http/1.1";

	(void)s;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
	    sizeof(h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* --- certificates -------------------------------------------------------- */

/*
 * Read a PEM file into sodium_malloc memory (a key must not linger in
 * stdio buffers); a key file must not be readable by group or others.
 */
static char *
tls_read_file(const char *path, int secret, size_t *len, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > TLS_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d"
		    " bytes", path, TLS_FILE_MAX);
		close(fd);
		return NULL;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: the private key is readable by"
		    " group or others (mode %03o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
		close(fd);
		return NULL;
	}
	if ((buf = sodium_malloc(st.st_size + 1)) == NULL)
		fatalx("%s: sodium_malloc", __func__);
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	close(fd);
	if (off != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		sodium_free(buf);
		return NULL;
	}
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* The certificate chain and key from files; 0, or -1 with err. */
static int
tls_load_files(const char *cert_path, const char *key_path, X509 **cert,
    STACK_OF(X509) **chain, EVP_PKEY **key, char *err, size_t errlen)
{
	char	*pem, ebuf[256];
	size_t	 len;
	BIO	*bio;
	X509	*x;

	*cert = NULL;
	*chain = NULL;
	*key = NULL;
	if ((pem = tls_read_file(cert_path, 0, &len, err, errlen)) == NULL)
		return -1;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("%s: BIO_new_mem_buf", __func__);
	*cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	*chain = sk_X509_new_null();
	while (*cert != NULL && *chain != NULL &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(*chain, x);
	BIO_free(bio);
	sodium_free(pem);
	ERR_clear_error();	/* the end of the PEM stream */
	if (*cert == NULL) {
		snprintf(err, errlen, "%s: no PEM certificate", cert_path);
		goto fail;
	}
	if ((pem = tls_read_file(key_path, 1, &len, err, errlen)) == NULL)
		goto fail;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("%s: BIO_new_mem_buf", __func__);
	/* No passphrase callback: an encrypted key fails instead of asking. */
	*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	sodium_free(pem);
	if (*key == NULL) {
		snprintf(err, errlen, "%s: no usable PEM private key (%s)",
		    key_path, tls_errors(ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not match the key in %s",
		    cert_path, key_path);
		goto fail;
	}
	return 0;
fail:
	X509_free(*cert);
	sk_X509_pop_free(*chain, X509_free);
	EVP_PKEY_free(*key);
	*cert = NULL;
	*chain = NULL;
	*key = NULL;
	return -1;
}

static int
tls_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/*
 * A P-256 key pair made here, in OpenSSL's memory only, and a self-signed
 * certificate for it naming localhost, the loopback addresses, the host
 * name and the listen address. Clients pin it (or its SPKI, which the
 * evidence binds); the names only spare them a hostname override.
 */
static int
tls_generate(const char *listen, X509 **cert, EVP_PKEY **key, char *err,
    size_t errlen)
{
	X509_NAME	*name;
	char		 san[512], host[256], addr[128], ebuf[256], *p;
	unsigned char	 serial[16];
	BIGNUM		*bn = NULL;
	int		 n;

	*cert = NULL;
	if ((*key = EVP_EC_gen("P-256")) == NULL)
		goto fail;
	n = snprintf(san, sizeof(san), "DNS:localhost,IP:127.0.0.1,IP:::1");
	if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0' &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-.") == strlen(host) && strcmp(host, "localhost") != 0)
		n += snprintf(san + n, sizeof(san) - n, ",DNS:%s", host);
	/* The listen address, when it names one ("[::1]:8443", "10.0.0.2:8443"). */
	snprintf(addr, sizeof(addr), "%s", listen);
	if ((p = strrchr(addr, ':')) != NULL)
		*p = '\0';
	p = addr;
	if (*p == '[' && p[strlen(p) - 1] == ']') {
		p[strlen(p) - 1] = '\0';
		p++;
	}
	if (*p != '\0' && strcmp(p, "0.0.0.0") != 0 && strcmp(p, "::") != 0 &&
	    strcmp(p, "127.0.0.1") != 0 && strcmp(p, "::1") != 0 &&
	    strspn(p, "0123456789abcdefABCDEF.:") == strlen(p) &&
	    n < (int)sizeof(san))
		snprintf(san + n, sizeof(san) - n, ",IP:%s", p);

	if ((*cert = X509_new()) == NULL ||
	    X509_set_version(*cert, X509_VERSION_3) != 1)
		goto fail;
	randombytes_buf(serial, sizeof(serial));
	serial[0] &= 0x7f;	/* positive */
	serial[0] |= 0x40;	/* and 16 bytes long */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(*cert)) == NULL)
		goto fail;
	/* An hour back, for clients whose clocks lag. */
	if (X509_gmtime_adj(X509_getm_notBefore(*cert), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(*cert), TLS_GENERATED_DAYS, 0,
	    NULL) == NULL)
		goto fail;
	name = X509_get_subject_name(*cert);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"cube-agent", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"cube-agent generated in memory", -1, -1,
	    0) != 1 || X509_set_issuer_name(*cert, name) != 1 ||
	    X509_set_pubkey(*cert, *key) != 1)
		goto fail;
	if (tls_add_ext(*cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    tls_add_ext(*cert, NID_ext_key_usage, "serverAuth") ||
	    tls_add_ext(*cert, NID_subject_key_identifier, "hash") ||
	    tls_add_ext(*cert, NID_subject_alt_name, san))
		goto fail;
	if (X509_sign(*cert, *key, EVP_sha256()) <= 0)
		goto fail;
	BN_free(bn);
	return 0;
fail:
	snprintf(err, errlen, "generating a TLS key pair: %s",
	    tls_errors(ebuf, sizeof(ebuf)));
	BN_free(bn);
	X509_free(*cert);
	EVP_PKEY_free(*key);
	*cert = NULL;
	*key = NULL;
	return -1;
}

/* --- contexts ------------------------------------------------------------ */

static void
tls_ctx_free(struct tls_ctx *tc)
{
	if (tc == NULL)
		return;
	SSL_CTX_free(tc->ssl);
	sodium_free(tc->keys);
	free(tc);
}

/*
 * A server context for cert (and chain) and key, with new ticket keys;
 * prev, when given, lends its current ticket key as the previous one.
 */
static struct tls_ctx *
tls_ctx_new(X509 *cert, STACK_OF(X509) *chain, EVP_PKEY *key,
    const struct tls_ctx *prev, char *err, size_t errlen)
{
	struct tls_ctx	*tc = xcalloc(1, sizeof(*tc));
	SSL_CTX		*ssl;
	char		 ebuf[256];

	if ((tc->keys = sodium_malloc(2 * sizeof(*tc->keys))) == NULL)
		fatalx("%s: sodium_malloc", __func__);
	randombytes_buf(&tc->keys[0], sizeof(tc->keys[0]));
	if (prev != NULL)
		tc->keys[1] = prev->keys[0];
	else
		randombytes_buf(&tc->keys[1], sizeof(tc->keys[1]));
	if ((ssl = tc->ssl = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	SSL_CTX_set_app_data(ssl, tc);
	if (SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ssl, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ssl, TLS_CIPHERS_12) != 1 ||
	    SSL_CTX_set1_groups_list(ssl, TLS_GROUPS) != 1)
		goto fail;
	SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_SINGLE_ECDH_USE);
	/* Resumption by tickets only: no session cache shared by workers. */
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(ssl, TLS_TICKET_ROTATE_S);
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ssl, tls_ticket_cb) != 1)
		goto fail;
	SSL_CTX_set_alpn_select_cb(ssl, tls_alpn_cb, NULL);
	/* Partial writes: bufferevent_openssl moves its buffers. */
	SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate(ssl, cert) != 1 ||
	    (chain != NULL && SSL_CTX_set1_chain(ssl, chain) != 1) ||
	    SSL_CTX_use_PrivateKey(ssl, key) != 1 ||
	    SSL_CTX_check_private_key(ssl) != 1)
		goto fail;
	return tc;
fail:
	snprintf(err, errlen, "TLS context: %s", tls_errors(ebuf,
	    sizeof(ebuf)));
	tls_ctx_free(tc);
	return NULL;
}

/* Record what a context serves, for the evidence, status and logs. */
static void
tls_identity_set(const char *mode, X509 *cert)
{
	unsigned char	*der = NULL;
	const ASN1_TIME	*na;
	struct tm	 tm;
	int		 len;

	len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	if (len <= 0)
		fatalx("%s: i2d_PUBKEY", __func__);
	pthread_mutex_lock(&tls_id_lock);
	free(tls_id.spki);
	tls_id.on = 1;
	tls_id.mode = mode;
	tls_id.spki = xmalloc(len);
	memcpy(tls_id.spki, der, len);
	tls_id.spki_len = len;
	SHA256(der, len, tls_id.spki_sha256);
	na = X509_get0_notAfter(cert);
	tls_id.not_after = na != NULL && ASN1_TIME_to_tm(na, &tm) == 1 ?
	    timegm(&tm) : 0;
	pthread_mutex_unlock(&tls_id_lock);
	OPENSSL_free(der);
}

/* Publish a new context; the old one retires (freed TLS_RETIRE_S later). */
static void
tls_publish(struct tls_ctx *tc)
{
	struct tls_ctx	*old, **pp, *r;
	time_t		 now = time(NULL);

	old = atomic_exchange(&tls_current, tc);
	for (pp = &tls_retired; (r = *pp) != NULL;) {
		if (now - r->retired_at >= TLS_RETIRE_S) {
			*pp = r->retired_next;
			tls_ctx_free(r);
		} else
			pp = &r->retired_next;
	}
	if (old != NULL) {
		old->retired_at = now;
		old->retired_next = tls_retired;
		tls_retired = old;
	}
}

int
tls_start(struct agent_config *cfg, int hardware_tee, char *err,
    size_t errlen)
{
	const char	*mode = cfg->tls != NULL ? cfg->tls : "auto";
	struct tls_ctx	*tc;
	STACK_OF(X509)	*chain = NULL;
	X509		*cert;
	EVP_PKEY	*key;
	char		 hex[65];
	int		 files = cfg->tls_cert != NULL || cfg->tls_key != NULL;

	tls_cfg = cfg;
	memset(&tls_id, 0, sizeof(tls_id));
	tls_id.mode = "off";
	if (strcmp(mode, "off") == 0) {
		if (files)
			log_warnx("tls = off: --tls-cert/--tls-key ignored");
		return 0;
	}
	if (strcmp(mode, "auto") != 0 && strcmp(mode, "generate") != 0) {
		snprintf(err, errlen, "--tls: '%s' is not auto, generate or"
		    " off", mode);
		return -1;
	}
	if (files && (cfg->tls_cert == NULL || cfg->tls_key == NULL)) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together");
		return -1;
	}
	if (files && strcmp(mode, "generate") == 0) {
		snprintf(err, errlen, "--tls generate makes its own key: drop"
		    " --tls-cert/--tls-key, or use --tls auto");
		return -1;
	}
	/*
	 * Private key numbers in OpenSSL's secure heap: locked, not dumped,
	 * wiped when freed. Without it (no mmap) they are on its heap.
	 */
	if (!CRYPTO_secure_malloc_initialized() &&
	    CRYPTO_secure_malloc_init(TLS_SECURE_HEAP, 32) == 0)
		log_debug("TLS: no OpenSSL secure heap; keys on the heap");
	if (files) {
		if (tls_load_files(cfg->tls_cert, cfg->tls_key, &cert, &chain,
		    &key, err, errlen) == -1)
			return -1;
		mode = "files";
	} else if (strcmp(mode, "generate") == 0 || hardware_tee) {
		if (tls_generate(cfg->listen, &cert, &key, err, errlen) == -1)
			return -1;
		mode = "generated";
	} else
		return 0;	/* auto, no files, no TEE: plain HTTP */
	tc = tls_ctx_new(cert, chain, key, NULL, err, errlen);
	if (tc != NULL)
		tls_identity_set(mode, cert);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	if (tc == NULL)
		return -1;
	tls_publish(tc);
	log_info("TLS on the inference port (%s; SPKI sha256 %s)",
	    strcmp(mode, "files") == 0 ? "certificate from files" :
	    "key generated in memory, self-signed certificate",
	    attest_hex(tls_id.spki_sha256, 32, hex, sizeof(hex)));
	return 0;
}

/*
 * SIGHUP: read the certificate files again. New connections get the new
 * one; live ones keep theirs; a broken file leaves the old one serving.
 */
int
tls_reload(char *err, size_t errlen)
{
	struct tls_ctx	*tc, *cur = atomic_load(&tls_current);
	STACK_OF(X509)	*chain;
	X509		*cert;
	EVP_PKEY	*key;
	char		 hex[65];

	if (cur == NULL || tls_cfg == NULL || tls_cfg->tls_cert == NULL)
		return 0;	/* nothing from files to reload */
	if (tls_load_files(tls_cfg->tls_cert, tls_cfg->tls_key, &cert, &chain,
	    &key, err, errlen) == -1)
		return -1;
	/* New ticket keys: a session of the old key does not resume. */
	tc = tls_ctx_new(cert, chain, key, NULL, err, errlen);
	if (tc != NULL)
		tls_identity_set("files", cert);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	if (tc == NULL)
		return -1;
	tls_publish(tc);
	pthread_mutex_lock(&tls_id_lock);
	attest_hex(tls_id.spki_sha256, 32, hex, sizeof(hex));
	pthread_mutex_unlock(&tls_id_lock);
	log_info("TLS certificate reloaded from %s (SPKI sha256 %s; the"
	    " evidence now binds this key)", tls_cfg->tls_cert, hex);
	return 0;
}

/* Every TLS_TICKET_ROTATE_S: new ticket key, the last one still accepted. */
void
tls_rotate(void)
{
	struct tls_ctx	*tc, *cur = atomic_load(&tls_current);
	X509		*cert;
	EVP_PKEY	*key;
	STACK_OF(X509)	*chain = NULL;
	char		 err[256];

	if (cur == NULL)
		return;
	cert = SSL_CTX_get0_certificate(cur->ssl);
	key = SSL_CTX_get0_privatekey(cur->ssl);
	if (cert == NULL || key == NULL ||
	    SSL_CTX_get0_chain_certs(cur->ssl, &chain) != 1)
		return;
	if ((tc = tls_ctx_new(cert, chain, key, cur, err,
	    sizeof(err))) == NULL) {
		log_warnx("TLS ticket key rotation: %s", err);
		return;
	}
	tls_publish(tc);
	log_debug("TLS session ticket key rotated");
}

SSL *
tls_ssl_new(void)
{
	struct tls_ctx	*tc = atomic_load(&tls_current);

	return tc != NULL ? SSL_new(tc->ssl) : NULL;
}

int
tls_enabled(void)
{
	return atomic_load(&tls_current) != NULL;
}

void
tls_info(struct tls_info *out)
{
	pthread_mutex_lock(&tls_id_lock);
	*out = tls_id;
	if (tls_id.spki != NULL) {
		out->spki = xmalloc(tls_id.spki_len);
		memcpy(out->spki, tls_id.spki, tls_id.spki_len);
	}
	pthread_mutex_unlock(&tls_id_lock);
}

void
tls_info_clear(struct tls_info *ti)
{
	free(ti->spki);
	ti->spki = NULL;
}

/* After the workers stopped. */
void
tls_stop(void)
{
	struct tls_ctx	*r;

	tls_ctx_free(atomic_exchange(&tls_current, NULL));
	while ((r = tls_retired) != NULL) {
		tls_retired = r->retired_next;
		tls_ctx_free(r);
	}
	pthread_mutex_lock(&tls_id_lock);
	free(tls_id.spki);
	memset(&tls_id, 0, sizeof(tls_id));
	tls_id.mode = "off";
	pthread_mutex_unlock(&tls_id_lock);
}
