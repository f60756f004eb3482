/*
 * limit-redis.c: the connection each worker keeps to the Redis that shares
 * token limits across agents (limit.c decides what to ask; this file
 * carries it). Runs on its worker's event loop, one connection per worker,
 * so no lock is added: only the counters status and /metrics read are
 * atomics. hiredis formats commands and parses replies; the transport is a
 * libevent bufferevent, plain or TLS (bufferevent_openssl), since Debian
 * 12's hiredis has no TLS.
 *
 * On connect: AUTH (when a password is set), then SCRIPT LOAD of both
 * scripts, pipelined; the connection is up once every reply is right.
 * Commands are EVALSHA, resent as EVAL on NOSCRIPT (a Redis restarted or
 * flushed under us). Replies come in order, so a FIFO of operations
 * matches them. Every reply is bounded (LIMIT_REDIS_REPLY_MAX bytes, hiredis'
 * nesting limit) and a command answered late (limits-redis-timeout-ms)
 * closes the connection: its operations fail, the caller falls back, and
 * a reconnect follows with exponential backoff. Settles queued while the
 * connection is down are sent once it is back (a bounded queue); a settle
 * lost with a connection leaves its reservation in Redis, which can only
 * refuse more, never admit more.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define LIMIT_REDIS_REPLY_MAX	(64 * 1024)	/* bytes of a reply, at most */
#define LIMIT_REDIS_ARRAY_MAX	16		/* elements of one reply */
#define LIMIT_REDIS_QUEUE_MAX	10000		/* operations waiting */
#define LIMIT_REDIS_BACKOFF_MIN_MS	100
#define LIMIT_REDIS_BACKOFF_MAX_MS	5000

/*
 * Reserve: KEYS[1] the token's minute window, KEYS[2] its budget period;
 * ARGV rpm, tpm, budget, estimate, the spend to seed a new period with,
 * and both keys' time to live (ms). Refuses (1: rate, 2: budget) or
 * counts the request and reserves the estimate, atomically. Returns
 * { verdict, requests, tokens, spent, reserved } after it.
 */
static const char limit_redis_script_acquire[] =
    "local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local budget, est = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local req = tonumber(redis.call('HGET', KEYS[1], 'req') or 0)\n"
    "local tok = tonumber(redis.call('HGET', KEYS[1], 'tok') or 0)\n"
    "local spent, resv = 0, 0\n"
    "if budget > 0 then\n"
    "  redis.call('HSETNX', KEYS[2], 'spent', ARGV[5])\n"
    "  redis.call('PEXPIRE', KEYS[2], ARGV[7])\n"
    "  spent = tonumber(redis.call('HGET', KEYS[2], 'spent') or 0)\n"
    "  resv = tonumber(redis.call('HGET', KEYS[2], 'resv') or 0)\n"
    "end\n"
    "if (rpm > 0 and req >= rpm) or (tpm > 0 and tok >= tpm) then\n"
    "  return {1, req, tok, spent, resv}\n"
    "end\n"
    "if budget > 0 then\n"
    "  if est > budget or spent + resv > budget - est then\n"
    "    return {2, req, tok, spent, resv}\n"
    "  end\n"
    "  resv = redis.call('HINCRBY', KEYS[2], 'resv', ARGV[4])\n"
    "end\n"
    "req = redis.call('HINCRBY', KEYS[1], 'req', 1)\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[6])\n"
    "return {0, req, tok, spent, resv}\n";

/*
 * Settle: KEYS as above (the window the request ends in); ARGV tokens,
 * minus the reservation, the cost, and both keys' time to live (ms).
 */
static const char limit_redis_script_settle[] =
    "if tonumber(ARGV[1]) > 0 then\n"
    "  redis.call('HINCRBY', KEYS[1], 'tok', ARGV[1])\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  redis.call('HINCRBY', KEYS[2], 'resv', ARGV[2])\n"
    "  redis.call('HINCRBY', KEYS[2], 'spent', ARGV[3])\n"
    "  redis.call('PEXPIRE', KEYS[2], ARGV[5])\n"
    "end\n"
    "return 0\n";

enum limit_redis_kind {
	LIMIT_REDIS_OP_AUTH,
	LIMIT_REDIS_OP_LOAD_ACQUIRE,
	LIMIT_REDIS_OP_LOAD_SETTLE,
	LIMIT_REDIS_OP_ACQUIRE,
	LIMIT_REDIS_OP_SETTLE,
};

struct limit_redis_op {
	TAILQ_ENTRY(limit_redis_op)	 entry;
	enum limit_redis_kind	 kind;
	char			*cmd;		/* EVALSHA, or what it is */
	size_t			 cmd_len;
	char			*eval;		/* EVAL, for NOSCRIPT */
	size_t			 eval_len;
	int			 sent;
	limit_redis_done		 done;
	void			*arg;
};
TAILQ_HEAD(limit_redis_queue, limit_redis_op);

enum limit_redis_state {
	LIMIT_REDIS_DOWN,
	LIMIT_REDIS_CONNECTING,
	LIMIT_REDIS_UP,
};

struct limit_redis {
	struct event_base	*base;
	struct bufferevent	*bev;
	SSL			*ssl;
	redisReader		*reader;
	size_t			 pending_bytes;	/* of the reply being read */
	enum limit_redis_state	 state;
	int			 ever_up;
	int			 failed;	/* since the last success */
	int			 closing;
	int			 backoff_ms;
	struct event		*retry_ev;
	struct limit_redis_queue	 queue;
	size_t			 nqueue;
};

/* What limit_redis_configure() read, shared read-only once workers run. */
static struct {
	int			 on;
	int			 tls;
	char			*host;
	struct sockaddr_storage	 addr;
	socklen_t		 addr_len;
	char			*user;
	char			*password;	/* sodium memory, or NULL */
	char			*prefix;
	int			 timeout_ms;
	int			 fleet_size;
	SSL_CTX			*ssl_ctx;
	char			 sha_acquire[41];
	char			 sha_settle[41];
} rcfg;

static atomic_int		 limit_redis_up_count;
static atomic_int		 limit_redis_conn_count;
static atomic_uint_fast64_t	 limit_redis_errors;
static atomic_uint_fast64_t	 limit_redis_fallbacks;

static void	limit_redis_connect(struct limit_redis *);
static void	limit_redis_fail(struct limit_redis *, const char *);

/* The SHA-1 Redis names a script by, in hex. */
static void
limit_redis_sha1(const char *script, char out[41])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	len = 0, i;

	if (EVP_Digest(script, strlen(script), md, &len, EVP_sha1(), NULL) !=
	    1 || len != 20)
		fatalx("%s: EVP_Digest", __func__);
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * "redis://HOST:PORT" or "rediss://HOST:PORT" (TLS; HOST may be [v6]):
 * 0, or -1 with err naming the setting.
 */
static int
limit_redis_parse_url(const char *url, int *tls, char **host, char **port,
    char *err, size_t errlen)
{
	const char	*p, *colon;

	if (strncmp(url, "redis://", 8) == 0) {
		*tls = 0;
		p = url + 8;
	} else if (strncmp(url, "rediss://", 9) == 0) {
		*tls = 1;
		p = url + 9;
	} else
		goto bad;
	if (*p == '[') {
		if ((colon = strstr(p, "]:")) == NULL || colon == p + 1)
			goto bad;
		*host = xstrndup(p + 1, colon - p - 1);
		colon++;
	} else {
		if ((colon = strrchr(p, ':')) == NULL || colon == p ||
		    memchr(p, '/', colon - p) != NULL ||
		    memchr(p, '@', colon - p) != NULL)
			goto bad;
		*host = xstrndup(p, colon - p);
	}
	if (colon[1] == '\0' || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1) || strlen(colon + 1) > 5 ||
	    atoi(colon + 1) < 1 || atoi(colon + 1) > 65535) {
		free(*host);
		*host = NULL;
		goto bad;
	}
	*port = xstrdup(colon + 1);
	return 0;
bad:
	snprintf(err, errlen, "limits-redis: '%s' is not redis://HOST:PORT or"
	    " rediss://HOST:PORT", url);
	return -1;
}

int
limit_redis_configure(struct agent_config *cfg, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		*port = NULL;
	size_t		 n;
	int		 rc;

	memset(&rcfg, 0, sizeof(rcfg));
	/* The reader's table, made before any worker thread runs. */
	redisReaderFree(limit_redis_reader_new());
	rcfg.fleet_size = cfg->fleet_size > 0 ? cfg->fleet_size : 1;
	/* The password leaves the config's heap for sodium memory. */
	if (cfg->limits_redis_password != NULL) {
		n = strlen(cfg->limits_redis_password);
		if ((rcfg.password = sodium_malloc(n + 1)) == NULL)
			fatal("%s: sodium_malloc", __func__);
		memcpy(rcfg.password, cfg->limits_redis_password, n + 1);
		sodium_memzero(cfg->limits_redis_password, n);
		free(cfg->limits_redis_password);
		cfg->limits_redis_password = NULL;
	}
	if (cfg->limits_redis == NULL) {
		if (rcfg.password != NULL || cfg->limits_redis_user !=
		    NULL || cfg->limits_redis_ca != NULL) {
			snprintf(err, errlen, "limits-redis-password, -user and"
			    " -ca need limits-redis");
			goto fail;
		}
		return 0;
	}
	if (limit_redis_parse_url(cfg->limits_redis, &rcfg.tls,
	    &rcfg.host, &port, err, errlen) == -1)
		goto fail;
	if (cfg->limits_redis_user != NULL && rcfg.password == NULL) {
		snprintf(err, errlen, "limits-redis-user needs"
		    " limits-redis-password");
		goto fail;
	}
	if (cfg->limits_redis_ca != NULL && !rcfg.tls) {
		snprintf(err, errlen, "limits-redis-ca needs a rediss:// URL");
		goto fail;
	}
	/* Resolved once, here: never a DNS lookup on a worker's loop. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(rcfg.host, port, &hints, &res)) != 0 ||
	    res == NULL) {
		snprintf(err, errlen, "limits-redis: %s: %s", rcfg.host,
		    gai_strerror(rc));
		goto fail;
	}
	memcpy(&rcfg.addr, res->ai_addr, res->ai_addrlen);
	rcfg.addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	if (rcfg.tls) {
		if ((rcfg.ssl_ctx = SSL_CTX_new(TLS_client_method())) ==
		    NULL ||
		    SSL_CTX_set_min_proto_version(rcfg.ssl_ctx,
		    TLS1_2_VERSION) != 1) {
			snprintf(err, errlen, "limits-redis: SSL_CTX_new");
			goto fail;
		}
		SSL_CTX_set_verify(rcfg.ssl_ctx, SSL_VERIFY_PEER, NULL);
		if ((cfg->limits_redis_ca != NULL ?
		    SSL_CTX_load_verify_locations(rcfg.ssl_ctx,
		    cfg->limits_redis_ca, NULL) :
		    SSL_CTX_set_default_verify_paths(rcfg.ssl_ctx)) != 1) {
			snprintf(err, errlen, "limits-redis-ca: %s: cannot load"
			    " CA certificates", cfg->limits_redis_ca != NULL ?
			    cfg->limits_redis_ca : "(system)");
			ERR_clear_error();
			goto fail;
		}
	}
	rcfg.user = cfg->limits_redis_user != NULL ?
	    xstrdup(cfg->limits_redis_user) : NULL;
	rcfg.prefix = xstrdup(cfg->limits_redis_prefix != NULL ?
	    cfg->limits_redis_prefix : "cube");
	rcfg.timeout_ms = cfg->limits_redis_timeout_ms > 0 ?
	    cfg->limits_redis_timeout_ms : 2000;
	limit_redis_sha1(limit_redis_script_acquire, rcfg.sha_acquire);
	limit_redis_sha1(limit_redis_script_settle, rcfg.sha_settle);
	rcfg.on = 1;
	free(port);
	return 0;
fail:
	free(port);
	limit_redis_unconfigure();
	return -1;
}

/*
 * SIGHUP: is pw the password limit_redis_configure() took (NULL: none)?
 * The bytes are compared in constant time; only the length can show.
 */
int
limit_redis_password_is(const char *pw)
{
	size_t	n;

	if (pw == NULL || rcfg.password == NULL)
		return pw == NULL && rcfg.password == NULL;
	n = strlen(pw);
	return n == strlen(rcfg.password) &&
	    sodium_memcmp(pw, rcfg.password, n) == 0;
}

void
limit_redis_unconfigure(void)
{
	if (rcfg.password != NULL)
		sodium_free(rcfg.password);
	SSL_CTX_free(rcfg.ssl_ctx);
	free(rcfg.host);
	free(rcfg.user);
	free(rcfg.prefix);
	memset(&rcfg, 0, sizeof(rcfg));
}

int
limit_redis_enabled(void)
{
	return rcfg.on;
}

int
limit_redis_fleet_size(void)
{
	return rcfg.fleet_size > 0 ? rcfg.fleet_size : 1;
}

void
limit_redis_status(struct limit_redis_status *st)
{
	memset(st, 0, sizeof(*st));
	st->on = rcfg.on;
	st->tls = rcfg.tls;
	st->fleet_size = limit_redis_fleet_size();
	st->connections = atomic_load(&limit_redis_conn_count);
	st->connections_up = atomic_load(&limit_redis_up_count);
	st->errors = atomic_load(&limit_redis_errors);
	st->fallbacks = atomic_load(&limit_redis_fallbacks);
}

void
limit_redis_count_fallback(void)
{
	atomic_fetch_add(&limit_redis_fallbacks, 1);
}

/*
 * The key of token_id's counters in domain (its name), for what (r: the minute
 * window, b: the budget period) and when (the window's or period's
 * number): PREFIX:{DOMAIN:TOKEN}:WHAT:WHEN; the braces keep both keys in
 * one Redis Cluster slot. Returns the length, or -1 when it does not fit.
 */
int
limit_redis_key(char *buf, size_t size, const char *prefix, const char *domain,
    const char *token_id, char what, int64_t when)
{
	int	n;

	n = snprintf(buf, size, "%s:{%s:%s}:%c:%" PRId64, prefix, domain,
	    token_id, what, when);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/*
 * An acquire script's reply into v: an array of five integers whose
 * first is 0, 1 or 2. 0, or -1 for anything else (an error reply too).
 */
int
limit_redis_verdict_parse(const struct redisReply *r,
    struct limit_redis_verdict *v)
{
	int64_t	n[5];
	size_t	i;

	memset(v, 0, sizeof(*v));
	v->error = 1;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 5)
		return -1;
	for (i = 0; i < 5; i++) {
		if (r->element[i] == NULL ||
		    r->element[i]->type != REDIS_REPLY_INTEGER ||
		    r->element[i]->integer < 0)
			return -1;
		n[i] = r->element[i]->integer;
	}
	if (n[0] > 2)
		return -1;
	v->error = 0;
	v->verdict = (int)n[0];
	v->requests = n[1];
	v->tokens = n[2];
	v->spent = n[3];
	v->reserved = n[4];
	return 0;
}

/* hiredis' own reply objects, but no array of more than a few elements. */
static redisReplyObjectFunctions		 limit_redis_fns;
static const redisReplyObjectFunctions	*limit_redis_fns_default;

static void *
limit_redis_create_array(const redisReadTask *task, int elements)
{
	if (elements < 0 || elements > LIMIT_REDIS_ARRAY_MAX)
		return NULL;	/* the reader fails: "Out of memory" */
	return limit_redis_fns_default->createArray(task, elements);
}

redisReader *
limit_redis_reader_new(void)
{
	redisReader	*r;

	if (limit_redis_fns_default == NULL) {
		if ((r = redisReaderCreate()) == NULL)
			fatalx("%s: redisReaderCreate", __func__);
		limit_redis_fns_default = r->fn;
		limit_redis_fns = *r->fn;
		limit_redis_fns.createArray = limit_redis_create_array;
		redisReaderFree(r);
	}
	if ((r = redisReaderCreateWithFunctions(&limit_redis_fns)) == NULL)
		fatalx("%s: redisReaderCreateWithFunctions", __func__);
	return r;
}

static void
limit_redis_op_free(struct limit_redis_op *op)
{
	if (op == NULL)
		return;
	redisFreeCommand(op->cmd);
	if (op->eval != NULL)
		redisFreeCommand(op->eval);
	free(op);
}

/* A formatted command; fatal only on out-of-memory (hiredis' -1). */
static char *
limit_redis_format(int argc, const char **argv, size_t *len)
{
	size_t	lens[16];
	char	*cmd = NULL;
	int	 i, n;

	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((n = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0 ||
	    cmd == NULL)
		fatalx("%s: redisFormatCommandArgv", __func__);
	*len = (size_t)n;
	return cmd;
}

static struct limit_redis_op *
limit_redis_op_new(enum limit_redis_kind kind, int argc, const char **argv)
{
	struct limit_redis_op	*op = xcalloc(1, sizeof(*op));

	op->kind = kind;
	op->cmd = limit_redis_format(argc, argv, &op->cmd_len);
	return op;
}

/* A script call: EVALSHA now, EVAL kept for NOSCRIPT. */
static struct limit_redis_op *
limit_redis_op_script(enum limit_redis_kind kind, const char *script,
    const char *sha, const char *keys[2], const char **args, int nargs)
{
	struct limit_redis_op	*op;
	const char		*argv[12];
	int			 i, argc = 0;

	argv[argc++] = "EVALSHA";
	argv[argc++] = sha;
	argv[argc++] = "2";
	argv[argc++] = keys[0];
	argv[argc++] = keys[1];
	for (i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	op = limit_redis_op_new(kind, argc, argv);
	argv[0] = "EVAL";
	argv[1] = script;
	op->eval = limit_redis_format(argc, argv, &op->eval_len);
	return op;
}

static void
limit_redis_write(struct limit_redis *c, struct limit_redis_op *op, int eval)
{
	if (eval)
		bufferevent_write(c->bev, op->eval, op->eval_len);
	else
		bufferevent_write(c->bev, op->cmd, op->cmd_len);
	op->sent = 1;
}

/* Time out replies only while some are awaited. */
static void
limit_redis_arm(struct limit_redis *c)
{
	struct timeval	tv;

	if (c->bev == NULL)
		return;
	if (TAILQ_FIRST(&c->queue) != NULL &&
	    TAILQ_FIRST(&c->queue)->sent) {
		tv.tv_sec = rcfg.timeout_ms / 1000;
		tv.tv_usec = (rcfg.timeout_ms % 1000) * 1000;
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	} else
		bufferevent_set_timeouts(c->bev, NULL, NULL);
}

/* Tell an operation's caller it failed, and drop it. */
static void
limit_redis_op_fail(struct limit_redis *c, struct limit_redis_op *op)
{
	struct limit_redis_verdict	v;

	TAILQ_REMOVE(&c->queue, op, entry);
	c->nqueue--;
	if (op->done != NULL) {
		memset(&v, 0, sizeof(v));
		v.error = 1;
		op->done(op->arg, &v);
	}
	limit_redis_op_free(op);
}

static void
limit_redis_close(struct limit_redis *c)
{
	if (c->bev != NULL) {
		/* Frees c->ssl too (BEV_OPT_CLOSE_ON_FREE). */
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->ssl = NULL;
	}
	if (c->reader != NULL) {
		redisReaderFree(c->reader);
		c->reader = NULL;
	}
	c->pending_bytes = 0;
	if (c->state == LIMIT_REDIS_UP)
		atomic_fetch_sub(&limit_redis_up_count, 1);
	c->state = LIMIT_REDIS_DOWN;
}

static void
limit_redis_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	limit_redis_connect(arg);
}

/*
 * The connection broke (why: for the log, never a secret): what was sent
 * fails, acquires waiting fail (their callers fall back), settles waiting
 * stay for the next connection; reconnect after a growing delay.
 */
static void
limit_redis_fail(struct limit_redis *c, const char *why)
{
	struct limit_redis_op	*op, *next;
	struct timeval		 tv;
	int			 ms;

	atomic_fetch_add(&limit_redis_errors, 1);
	if (c->failed++ == 0)
		log_warnx("limits-redis: %s; limits fall back (budgets refuse,"
		    " rate limits take this host's share)", why);
	else
		log_debug("limits-redis: %s", why);
	limit_redis_close(c);
	for (op = TAILQ_FIRST(&c->queue); op != NULL; op = next) {
		next = TAILQ_NEXT(op, entry);
		if (op->sent || op->kind != LIMIT_REDIS_OP_SETTLE)
			limit_redis_op_fail(c, op);
	}
	if (c->closing)
		return;
	if (c->backoff_ms == 0)
		c->backoff_ms = LIMIT_REDIS_BACKOFF_MIN_MS;
	else if ((c->backoff_ms *= 2) > LIMIT_REDIS_BACKOFF_MAX_MS)
		c->backoff_ms = LIMIT_REDIS_BACKOFF_MAX_MS;
	ms = c->backoff_ms / 2 + (int)randombytes_uniform(c->backoff_ms / 2 +
	    1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->retry_ev, &tv);
}

/* Whether r is an error reply starting with prefix ("NOSCRIPT"). */
static int
limit_redis_is_error(const redisReply *r, const char *prefix)
{
	size_t	n = strlen(prefix);

	return r->type == REDIS_REPLY_ERROR && r->len >= n &&
	    memcmp(r->str, prefix, n) == 0;
}

/* One reply for the queue's head. -1: the connection is to be dropped. */
static int
limit_redis_reply(struct limit_redis *c, const redisReply *r, const char **why)
{
	struct limit_redis_op	*op = TAILQ_FIRST(&c->queue), *next;
	struct limit_redis_verdict	 v;
	const char		*sha;

	if (op == NULL || !op->sent) {
		*why = "a reply nothing asked for";
		return -1;
	}
	switch (op->kind) {
	case LIMIT_REDIS_OP_AUTH:
		if (r->type != REDIS_REPLY_STATUS) {
			*why = "authentication refused";
			return -1;
		}
		break;
	case LIMIT_REDIS_OP_LOAD_ACQUIRE:
	case LIMIT_REDIS_OP_LOAD_SETTLE:
		sha = op->kind == LIMIT_REDIS_OP_LOAD_ACQUIRE ?
		    rcfg.sha_acquire : rcfg.sha_settle;
		if (r->type != REDIS_REPLY_STRING || r->len != 40 ||
		    memcmp(r->str, sha, 40) != 0) {
			*why = limit_redis_is_error(r, "NOAUTH") ||
			    limit_redis_is_error(r, "WRONGPASS") ?
			    "authentication required" : "SCRIPT LOAD failed";
			return -1;
		}
		if (op->kind == LIMIT_REDIS_OP_LOAD_SETTLE) {
			/* Up: send what waited. */
			c->state = LIMIT_REDIS_UP;
			c->ever_up = 1;
			c->backoff_ms = 0;
			if (c->failed != 0)
				log_warnx("limits-redis: connected again;"
				    " limits are shared");
			c->failed = 0;
			atomic_fetch_add(&limit_redis_up_count, 1);
			for (next = TAILQ_NEXT(op, entry); next != NULL;
			    next = TAILQ_NEXT(next, entry))
				if (!next->sent)
					limit_redis_write(c, next, 0);
		}
		break;
	case LIMIT_REDIS_OP_ACQUIRE:
	case LIMIT_REDIS_OP_SETTLE:
		if (limit_redis_is_error(r, "NOSCRIPT") && op->eval != NULL) {
			/* To the tail, as EVAL: replies keep their order. */
			TAILQ_REMOVE(&c->queue, op, entry);
			TAILQ_INSERT_TAIL(&c->queue, op, entry);
			limit_redis_write(c, op, 1);
			redisFreeCommand(op->eval);
			op->eval = NULL;
			return 0;
		}
		if (op->kind == LIMIT_REDIS_OP_SETTLE) {
			/* Its reservation stays counted: it can only refuse. */
			if (r->type != REDIS_REPLY_INTEGER) {
				atomic_fetch_add(&limit_redis_errors, 1);
				log_debug("limits-redis: a settle failed");
			}
			break;
		}
		if (limit_redis_verdict_parse(r, &v) == -1) {
			*why = "an acquire script's reply is not five counts";
			atomic_fetch_add(&limit_redis_errors, 1);
			limit_redis_op_fail(c, op);
			/* A Lua error is Redis' answer, not a broken stream. */
			return r->type == REDIS_REPLY_ERROR ? 0 : -1;
		}
		TAILQ_REMOVE(&c->queue, op, entry);
		c->nqueue--;
		if (op->done != NULL)
			op->done(op->arg, &v);
		limit_redis_op_free(op);
		return 0;
	}
	TAILQ_REMOVE(&c->queue, op, entry);
	c->nqueue--;
	limit_redis_op_free(op);
	return 0;
}

static void
limit_redis_on_read(struct bufferevent *bev, void *arg)
{
	struct limit_redis	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		 buf[4096];
	void		*reply;
	const char	*why = NULL;
	int		 n;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
			limit_redis_fail(c, "unreadable reply");
			return;
		}
		c->pending_bytes += (size_t)n;
		for (;;) {
			reply = NULL;
			if (redisReaderGetReply(c->reader, &reply) !=
			    REDIS_OK) {
				limit_redis_fail(c, "a reply that is not RESP");
				return;
			}
			if (reply == NULL)
				break;
			c->pending_bytes = 0;
			if (limit_redis_reply(c, reply, &why) == -1) {
				freeReplyObject(reply);
				limit_redis_fail(c, why);
				return;
			}
			freeReplyObject(reply);
			if (c->bev == NULL)
				return;
		}
		/* Counted from the last whole reply: bounded, however sent. */
		if (c->pending_bytes > LIMIT_REDIS_REPLY_MAX) {
			limit_redis_fail(c, "a reply too large");
			return;
		}
	}
	limit_redis_arm(c);
}

static void
limit_redis_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct limit_redis		*c = arg;
	struct limit_redis_op	*op;
	const char		*argv[4];
	int			 argc = 0;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* AUTH and both SCRIPT LOADs lead the queue, pipelined. */
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = limit_redis_script_settle;
		op = limit_redis_op_new(LIMIT_REDIS_OP_LOAD_SETTLE, 3, argv);
		TAILQ_INSERT_HEAD(&c->queue, op, entry);
		c->nqueue++;
		argv[2] = limit_redis_script_acquire;
		op = limit_redis_op_new(LIMIT_REDIS_OP_LOAD_ACQUIRE, 3, argv);
		TAILQ_INSERT_HEAD(&c->queue, op, entry);
		c->nqueue++;
		if (rcfg.password != NULL) {
			argv[argc++] = "AUTH";
			if (rcfg.user != NULL)
				argv[argc++] = rcfg.user;
			argv[argc++] = rcfg.password;
			op = limit_redis_op_new(LIMIT_REDIS_OP_AUTH, argc,
			    argv);
			TAILQ_INSERT_HEAD(&c->queue, op, entry);
			c->nqueue++;
		}
		TAILQ_FOREACH(op, &c->queue, entry) {
			limit_redis_write(c, op, 0);
			if (op->kind == LIMIT_REDIS_OP_LOAD_SETTLE)
				break;
		}
		if (rcfg.password != NULL) {
			/* The formatted AUTH holds the password: wipe it. */
			op = TAILQ_FIRST(&c->queue);
			sodium_memzero(op->cmd, op->cmd_len);
		}
		limit_redis_arm(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		limit_redis_fail(c, "no reply in time");
	else if (what & BEV_EVENT_EOF)
		limit_redis_fail(c, "connection closed");
	else {
		ERR_clear_error();
		limit_redis_fail(c, c->state == LIMIT_REDIS_CONNECTING ?
		    "cannot connect" : "connection error");
	}
}

static void
limit_redis_connect(struct limit_redis *c)
{
	struct timeval	tv;
	int		opts = BEV_OPT_CLOSE_ON_FREE;

	if (c->closing || c->bev != NULL)
		return;
	c->state = LIMIT_REDIS_CONNECTING;
	c->reader = limit_redis_reader_new();
	if (rcfg.tls) {
		if ((c->ssl = SSL_new(rcfg.ssl_ctx)) == NULL)
			fatalx("%s: SSL_new", __func__);
		SSL_set_tlsext_host_name(c->ssl, rcfg.host);
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    rcfg.host) != 1)
			SSL_set1_host(c->ssl, rcfg.host);
		c->bev = bufferevent_openssl_socket_new(c->base, -1, c->ssl,
		    BUFFEREVENT_SSL_CONNECTING, opts);
	} else
		c->bev = bufferevent_socket_new(c->base, -1, opts);
	if (c->bev == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);
	bufferevent_setcb(c->bev, limit_redis_on_read, NULL,
	    limit_redis_on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	/* The connect (and TLS handshake) in the same time as a reply. */
	tv.tv_sec = rcfg.timeout_ms / 1000;
	tv.tv_usec = (rcfg.timeout_ms % 1000) * 1000;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (bufferevent_socket_connect(c->bev,
	    (struct sockaddr *)&rcfg.addr, (int)rcfg.addr_len) ==
	    -1)
		limit_redis_fail(c, "cannot connect");
}

struct limit_redis *
limit_redis_new(struct event_base *base)
{
	struct limit_redis	*c;

	if (!rcfg.on)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	TAILQ_INIT(&c->queue);
	if ((c->retry_ev = evtimer_new(base, limit_redis_retry, c)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	atomic_fetch_add(&limit_redis_conn_count, 1);
	limit_redis_connect(c);
	return c;
}

void
limit_redis_free(struct limit_redis *c)
{
	struct limit_redis_op	*op;

	if (c == NULL)
		return;
	c->closing = 1;
	limit_redis_close(c);
	while ((op = TAILQ_FIRST(&c->queue)) != NULL)
		limit_redis_op_fail(c, op);
	event_free(c->retry_ev);
	atomic_fetch_sub(&limit_redis_conn_count, 1);
	free(c);
}

int
limit_redis_up(const struct limit_redis *c)
{
	return c != NULL && c->state == LIMIT_REDIS_UP;
}

/* Queue op: sent now when up, kept for later when connecting. */
static int
limit_redis_submit(struct limit_redis *c, struct limit_redis_op *op)
{
	if (c->closing || c->nqueue >= LIMIT_REDIS_QUEUE_MAX) {
		limit_redis_op_free(op);
		return -1;
	}
	TAILQ_INSERT_TAIL(&c->queue, op, entry);
	c->nqueue++;
	if (c->state == LIMIT_REDIS_UP) {
		limit_redis_write(c, op, 0);
		limit_redis_arm(c);
	}
	return 0;
}

static void
limit_redis_args(const int64_t *in, int n, char buf[][24], const char **out)
{
	int	i;

	for (i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%" PRId64, in[i]);
		out[i] = buf[i];
	}
}

int
limit_redis_acquire(struct limit_redis *c, const struct limit_redis_keys *k,
    const int64_t args[7], limit_redis_done done, void *arg)
{
	struct limit_redis_op	*op;
	const char		*keys[2] = { k->rate, k->budget }, *a[7];
	char			 buf[7][24];

	/*
	 * Down (or reconnecting after a failure): no wait for a Redis that
	 * is not there; the caller falls back at once. Only a first connect
	 * holds requests, for at most the timeout.
	 */
	if (c == NULL || c->closing || (c->state != LIMIT_REDIS_UP &&
	    (c->ever_up || c->failed != 0)))
		return -1;
	limit_redis_args(args, 7, buf, a);
	op = limit_redis_op_script(LIMIT_REDIS_OP_ACQUIRE,
	    limit_redis_script_acquire, rcfg.sha_acquire, keys, a, 7);
	op->done = done;
	op->arg = arg;
	return limit_redis_submit(c, op);
}

void
limit_redis_settle(struct limit_redis *c, const struct limit_redis_keys *k,
    const int64_t args[5])
{
	struct limit_redis_op	*op;
	const char		*keys[2] = { k->rate, k->budget }, *a[5];
	char			 buf[5][24];

	if (c == NULL || c->closing)
		return;
	limit_redis_args(args, 5, buf, a);
	op = limit_redis_op_script(LIMIT_REDIS_OP_SETTLE,
	    limit_redis_script_settle, rcfg.sha_settle, keys, a, 5);
	if (limit_redis_submit(c, op) == -1)
		atomic_fetch_add(&limit_redis_errors, 1);
}

const char *
limit_redis_prefix(void)
{
	return rcfg.prefix != NULL ? rcfg.prefix : "cube";
}
