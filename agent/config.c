/* cube-agent settings: defaults, the config file and long options share one key table. */
#include <sys/resource.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "receipt.h"
#include "transport.h"
#include "xmalloc.h"

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_SIZE,
	CONFIG_BOOL,		/* on|off, yes|no, true|false, 1|0 */
};

/*
 * What SIGHUP does with a changed key (config_reload()): CONFIG_RELOAD
 * keys apply to the running agent, the others wait for a restart (what is
 * bound, opened or sized at start). Only numbers reload: workers copy
 * them by value (worker_settings()), never a pointer the main thread
 * could free. CONFIG_SECRET values are never logged.
 */
#define CONFIG_RELOAD	0x1
#define CONFIG_SECRET	0x2
#define CONFIG_URL	0x4	/* logged without its user:password@ */

static const struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;
	long long		 min, max;
	int			 flags;
} config_keys[] = {
	{ "listen", CONFIG_STRING, offsetof(struct agent_config, listen), 0, 0,
	    0 },
	{ "data", CONFIG_STRING, offsetof(struct agent_config, data_dir), 0, 0,
	    0 },
	{ "admin-socket", CONFIG_STRING,
	    offsetof(struct agent_config, admin_socket), 0, 0, 0 },
	{ "tee", CONFIG_STRING, offsetof(struct agent_config, tee), 0, 0, 0 },
	{ "tls", CONFIG_STRING, offsetof(struct agent_config, tls), 0, 0, 0 },
	{ "tls-cert", CONFIG_STRING, offsetof(struct agent_config, tls_cert),
	    0, 0, 0 },
	{ "tls-key", CONFIG_STRING, offsetof(struct agent_config, tls_key),
	    0, 0, 0 },
	{ "seal-keys", CONFIG_STRING, offsetof(struct agent_config, seal_keys),
	    0, 0, 0 },
	{ "metrics-listen", CONFIG_STRING,
	    offsetof(struct agent_config, metrics_listen), 0, 0, 0 },
	{ "workers", CONFIG_INT, offsetof(struct agent_config, workers), 1, 256,
	    0 },
	{ "max-body", CONFIG_SIZE, offsetof(struct agent_config, max_body),
	    1024, 1LL << 30, CONFIG_RELOAD },
	{ "max-headers", CONFIG_SIZE, offsetof(struct agent_config, max_headers),
	    1024, 1 << 20, CONFIG_RELOAD },
	{ "connect-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, connect_timeout_ms), 1, 600000,
	    CONFIG_RELOAD },
	{ "first-byte-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, first_byte_timeout_ms), 1, 3600000,
	    CONFIG_RELOAD },
	{ "idle-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, idle_timeout_ms), 1, 3600000,
	    CONFIG_RELOAD },
	{ "client-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, client_timeout_ms), 1, 3600000,
	    CONFIG_RELOAD },
	{ "head-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, head_timeout_ms), 1, 3600000,
	    CONFIG_RELOAD },
	{ "body-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, body_timeout_ms), 1, 3600000,
	    CONFIG_RELOAD },
	{ "max-connections", CONFIG_INT,
	    offsetof(struct agent_config, max_connections), 1, 1000000,
	    CONFIG_RELOAD },
	{ "max-connections-per-address", CONFIG_INT,
	    offsetof(struct agent_config, max_connections_per_address), 1,
	    1000000, CONFIG_RELOAD },
	{ "drain-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, drain_timeout_ms), 0, 3600000,
	    CONFIG_RELOAD },
	{ "trace-flush-ms", CONFIG_INT,
	    offsetof(struct agent_config, trace_flush_ms), 1, 60000,
	    CONFIG_RELOAD },
	{ "receipt-batch", CONFIG_INT,
	    offsetof(struct agent_config, receipt_batch), 1, RECEIPT_BATCH_MAX,
	    CONFIG_RELOAD },
	{ "receipt-wait-us", CONFIG_INT,
	    offsetof(struct agent_config, receipt_wait_us), 0, 1000,
	    CONFIG_RELOAD },
	{ "trace-retention-check-s", CONFIG_INT,
	    offsetof(struct agent_config, trace_retention_check_s), 1, 86400,
	    CONFIG_RELOAD },
	{ "provider-check-interval", CONFIG_INT,
	    offsetof(struct agent_config, provider_check_interval), 0, 86400,
	    CONFIG_RELOAD },
	{ "provider-attest-interval", CONFIG_INT,
	    offsetof(struct agent_config, provider_attest_interval), 10,
	    86400, CONFIG_RELOAD },
	{ "jwks-kid-refresh", CONFIG_INT,
	    offsetof(struct agent_config, jwks_kid_refresh), 1, 3600,
	    CONFIG_RELOAD },
	{ "breaker-failures", CONFIG_INT,
	    offsetof(struct agent_config, breaker_failures), 1, 1000,
	    CONFIG_RELOAD },
	{ "breaker-cooldown-ms", CONFIG_INT,
	    offsetof(struct agent_config, breaker_cooldown_ms), 100,
	    DEPLOY_COOLDOWN_MAX_MS, CONFIG_RELOAD },
	{ "core-dumps", CONFIG_BOOL, offsetof(struct agent_config, core_dumps),
	    0, 1, 0 },
	{ "limits-redis", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis), 0, 0, CONFIG_URL },
	{ "limits-redis-user", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_user), 0, 0, 0 },
	{ "limits-redis-password", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_password), 0, 0,
	    CONFIG_SECRET },
	{ "limits-redis-ca", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_ca), 0, 0, 0 },
	{ "limits-redis-prefix", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_prefix), 0, 0, 0 },
	{ "limits-redis-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, limits_redis_timeout_ms), 10, 60000,
	    0 },
	{ "fleet-size", CONFIG_INT, offsetof(struct agent_config, fleet_size),
	    1, 1024, 0 },
	{ "otlp-endpoint", CONFIG_STRING,
	    offsetof(struct agent_config, otlp_endpoint), 0, 0, CONFIG_URL },
	{ "otlp-headers-file", CONFIG_STRING,
	    offsetof(struct agent_config, otlp_headers_file), 0, 0, 0 },
	{ "otlp-ca-file", CONFIG_STRING,
	    offsetof(struct agent_config, otlp_ca_file), 0, 0, 0 },
	{ "otlp-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, otlp_timeout_ms), 100, 600000,
	    CONFIG_RELOAD },
	{ "otlp-flush-ms", CONFIG_INT,
	    offsetof(struct agent_config, otlp_flush_ms), 1, 600000,
	    CONFIG_RELOAD },
	{ "otlp-batch", CONFIG_INT, offsetof(struct agent_config, otlp_batch),
	    1, 65536, CONFIG_RELOAD },
	{ "otlp-queue", CONFIG_INT, offsetof(struct agent_config, otlp_queue),
	    1, 1000000, 0 },
	{ "otlp-shutdown-ms", CONFIG_INT,
	    offsetof(struct agent_config, otlp_shutdown_ms), 0, 600000,
	    CONFIG_RELOAD },
	{ "log-format", CONFIG_STRING,
	    offsetof(struct agent_config, log_format), 0, 0, 0 },
	{ "upstream-client", CONFIG_STRING,
	    offsetof(struct agent_config, upstream_client), 0, 0, 0 },
};

/* Where state lives by default: $XDG_DATA_HOME/cube, /var/lib/cube for root. */
static char *
config_default_data_dir(void)
{
	const char	*xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char		*dir;

	if (geteuid() == 0)
		return xstrdup("/var/lib/cube");
	if (xdg != NULL && *xdg == '/')
		xasprintf(&dir, "%s/cube", xdg);
	else if (home != NULL && *home == '/')
		xasprintf(&dir, "%s/.local/share/cube", home);
	else
		xasprintf(&dir, "/tmp/cube-%u", (unsigned)geteuid());
	return dir;
}

void
config_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = xstrdup("127.0.0.1:8080");
	cfg->tee = xstrdup("auto");
	cfg->tls = xstrdup("auto");
	cfg->seal_keys = xstrdup("auto");
	cfg->upstream_client = xstrdup("auto");
	cfg->workers = 1;
	cfg->max_body = 16 * 1024 * 1024;
	cfg->max_headers = 32 * 1024;
	cfg->connect_timeout_ms = 5000;
	cfg->first_byte_timeout_ms = 120000;
	cfg->idle_timeout_ms = 60000;
	cfg->client_timeout_ms = 30000;
	cfg->head_timeout_ms = 10000;
	cfg->body_timeout_ms = 60000;
	cfg->max_connections = 0;	/* config_finish() sizes it */
	cfg->max_connections_per_address = 256;
	cfg->drain_timeout_ms = 30000;
	cfg->trace_flush_ms = 100;
	cfg->receipt_batch = 64;
	cfg->receipt_wait_us = 500;
	cfg->trace_retention_check_s = 3600;
	cfg->provider_check_interval = 60;
	cfg->limits_redis_timeout_ms = 2000;
	cfg->fleet_size = 1;
	cfg->otlp_timeout_ms = 5000;
	cfg->otlp_flush_ms = 1000;
	cfg->otlp_batch = 512;
	cfg->otlp_queue = 8192;
	cfg->otlp_shutdown_ms = 5000;
	cfg->provider_attest_interval = 300;
	cfg->jwks_kid_refresh = JWKS_KID_REFRESH_DEFAULT;
	cfg->breaker_failures = DEPLOY_FAILURES_DEFAULT;
	cfg->breaker_cooldown_ms = DEPLOY_COOLDOWN_DEFAULT_MS;
}

/*
 * Inbound connections that fit nofile descriptors: each may hold one
 * upstream too, and the agent keeps some for itself (database, sockets,
 * pipes); at most CONFIG_CONNECTIONS_MAX, at least CONFIG_CONNECTIONS_MIN.
 * An open stream costs about 11 KiB of heap (cube_heap_bytes, measured
 * by tests/scenario/memory.sh), so the most the default admits is about
 * 180 MiB of streams.
 */
#define CONFIG_CONNECTIONS_MAX		16384
#define CONFIG_CONNECTIONS_MIN		16
#define CONFIG_FDS_RESERVED		64
int
config_connections_for(unsigned long long nofile)
{
	unsigned long long	n;

	n = nofile > CONFIG_FDS_RESERVED ? (nofile - CONFIG_FDS_RESERVED) / 2 :
	    0;
	if (n > CONFIG_CONNECTIONS_MAX)
		n = CONFIG_CONNECTIONS_MAX;
	return n < CONFIG_CONNECTIONS_MIN ? CONFIG_CONNECTIONS_MIN : (int)n;
}

/* The descriptors max connections need: one each, one upstream each, ours. */
unsigned long long
config_nofile_for(int connections)
{
	return 2ULL * (unsigned long long)connections + CONFIG_FDS_RESERVED;
}

/* Fill what neither the file nor the options set. */
void
config_finish(struct agent_config *cfg)
{
	struct rlimit	rl;

	if (cfg->max_connections == 0)
		cfg->max_connections = config_connections_for(
		    getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur :
		    CONFIG_CONNECTIONS_MAX * 2 + CONFIG_FDS_RESERVED);
	if (cfg->data_dir == NULL)
		cfg->data_dir = config_default_data_dir();
	if (cfg->admin_socket == NULL)
		/* The same default cubectl looks for. */
		cfg->admin_socket = transport_unix_default_path();
}

/* A string key's value goes; a secret's is wiped first. */
static void
config_free_string(const struct config_key *k, char **sp)
{
	if (*sp != NULL && (k->flags & CONFIG_SECRET))
		sodium_memzero(*sp, strlen(*sp));
	free(*sp);
	*sp = NULL;
}

/* Does SIGHUP apply k? Only numbers: a string key is restart-only. */
static int
config_reloads(const struct config_key *k)
{
	return (k->flags & CONFIG_RELOAD) && k->type != CONFIG_STRING;
}

static const struct config_key *
config_find(const char *key)
{
	size_t	i;

	for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (strcmp(config_keys[i].name, key) == 0)
			return &config_keys[i];
	return NULL;
}

int
config_set(struct agent_config *cfg, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct config_key	*k;
	char			*end, **sp;
	long long		 n;

	if ((k = config_find(key)) == NULL) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -1;
	}
	if (k->type == CONFIG_STRING) {
		if (*value == '\0') {
			snprintf(err, errlen, "%s: empty value", key);
			return -1;
		}
		if (strcmp(key, "log-format") == 0 &&
		    log_format_parse(value) == -1) {
			snprintf(err, errlen, "%s: '%s' is not text or json",
			    key, value);
			return -1;
		}
		if (strcmp(key, "upstream-client") == 0 &&
		    strcmp(value, "auto") != 0 &&
		    strcmp(value, "libcurl") != 0) {
			snprintf(err, errlen, "%s: '%s' is not auto or libcurl",
			    key, value);
			return -1;
		}
		sp = (char **)((char *)cfg + k->offset);
		config_free_string(k, sp);
		*sp = xstrdup(value);
		return 0;
	}
	if (k->type == CONFIG_BOOL) {
		static const char *const on[] = { "on", "yes", "true", "1" };
		static const char *const off[] = { "off", "no", "false", "0" };
		size_t	i;

		for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
			if (strcmp(value, on[i]) == 0 ||
			    strcmp(value, off[i]) == 0) {
				*(int *)((char *)cfg + k->offset) =
				    strcmp(value, on[i]) == 0;
				return 0;
			}
		}
		snprintf(err, errlen, "%s: '%s' is not on or off", key, value);
		return -1;
	}
	errno = 0;
	n = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < k->min ||
	    n > k->max) {
		snprintf(err, errlen, "%s: '%s' is not a whole number from %lld"
		    " to %lld", key, value, k->min, k->max);
		return -1;
	}
	if (k->type == CONFIG_INT)
		*(int *)((char *)cfg + k->offset) = (int)n;
	else
		*(size_t *)((char *)cfg + k->offset) = (size_t)n;
	return 0;
}

/* "key = value" lines; '#' starts a comment; keys are the long options' names. */
int
config_load_file(struct agent_config *cfg, const char *path, char *err,
    size_t errlen)
{
	FILE	*f;
	char	 line[4096], io[4096], msg[512], *key, *value, *p;
	int	 lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Our buffer, not stdio's heap one: the file may hold a password. */
	setvbuf(f, io, _IOFBF, sizeof(io));
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (key = line; isspace((unsigned char)*key); key++)
			;
		p = key + strlen(key);
		while (p > key && isspace((unsigned char)p[-1]))
			*--p = '\0';
		if (*key == '\0')
			continue;
		if ((value = strchr(key, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'",
			    path, lineno);
			rc = -1;
			break;
		}
		for (p = value; p > key && isspace((unsigned char)p[-1]); p--)
			;
		*p = '\0';
		for (value++; isspace((unsigned char)*value); value++)
			;
		if (config_set(cfg, key, value, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			rc = -1;
		}
	}
	fclose(f);
	sodium_memzero(io, sizeof(io));
	sodium_memzero(line, sizeof(line));
	return rc;
}

void
config_free(struct agent_config *cfg)
{
	size_t	i;

	for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (config_keys[i].type == CONFIG_STRING)
			config_free_string(&config_keys[i],
			    (char **)((char *)cfg + config_keys[i].offset));
	memset(cfg, 0, sizeof(*cfg));
}

/* A URL's user:password@ is a credential too: logs show "***@". */
char *
config_url_for_log(const char *url)
{
	const char	*host = strstr(url, "://"), *at = NULL, *end, *p;
	char		*out;

	if (host == NULL)
		return xstrdup(url);
	host += 3;
	end = host + strcspn(host, "/?#");
	/* The last '@' before the path ends the userinfo. */
	for (p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return xstrdup(url);
	xasprintf(&out, "%.*s***%s", (int)(host - url), url, at);
	return out;
}

/* A key's value as the log shows it: "(none)" for unset strings. */
static void
config_format(const struct config_key *k, const struct agent_config *cfg,
    char *buf, size_t len)
{
	const char	*p = (const char *)cfg + k->offset;
	char		*url;

	switch (k->type) {
	case CONFIG_STRING:
		if (*(char *const *)p == NULL) {
			snprintf(buf, len, "(none)");
			break;
		}
		if (!(k->flags & CONFIG_URL)) {
			snprintf(buf, len, "%s", *(char *const *)p);
			break;
		}
		url = config_url_for_log(*(char *const *)p);
		snprintf(buf, len, "%s", url);
		free(url);
		break;
	case CONFIG_SIZE:
		snprintf(buf, len, "%zu", *(const size_t *)p);
		break;
	case CONFIG_BOOL:
		snprintf(buf, len, "%s", *(const int *)p ? "on" : "off");
		break;
	default:
		snprintf(buf, len, "%d", *(const int *)p);
		break;
	}
}

static int
config_same(const struct config_key *k, const struct agent_config *a,
    const struct agent_config *b)
{
	const char	*pa = (const char *)a + k->offset;
	const char	*pb = (const char *)b + k->offset;
	const char	*sa, *sb;

	switch (k->type) {
	case CONFIG_STRING:
		sa = *(char *const *)pa;
		sb = *(char *const *)pb;
		if (sa == NULL || sb == NULL)
			return sa == sb;
		return strcmp(sa, sb) == 0;
	case CONFIG_SIZE:
		return *(const size_t *)pa == *(const size_t *)pb;
	default:
		return *(const int *)pa == *(const int *)pb;
	}
}

int
config_reload(struct agent_config *cur, const struct agent_config *given,
    const struct agent_config *next)
{
	const struct config_key	*k;
	const struct agent_config *old;
	char			 was[256], now[256];
	size_t			 i;
	int			 applied = 0;

	for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		k = &config_keys[i];
		/* Start-up resolves some (port 0, --tee auto): not a change. */
		old = config_reloads(k) ? cur : given;
		if (config_same(k, old, next))
			continue;
		if (k->flags & CONFIG_SECRET) {
			snprintf(was, sizeof(was), "(changed)");
			now[0] = '\0';
		} else {
			config_format(k, old, was, sizeof(was));
			config_format(k, next, now, sizeof(now));
		}
		if (!config_reloads(k)) {
			log_warnx("SIGHUP: %s %s%s%s needs a restart; still"
			    " running with the old value", k->name, was,
			    now[0] != '\0' ? " -> " : "", now);
			continue;
		}
		log_info("SIGHUP: %s %s -> %s", k->name, was, now);
		memcpy((char *)cur + k->offset, (const char *)next + k->offset,
		    k->type == CONFIG_SIZE ? sizeof(size_t) : sizeof(int));
		applied++;
	}
	return applied;
}

void
config_unset(struct agent_config *cfg, const char *key)
{
	const struct config_key	*k;

	if ((k = config_find(key)) != NULL && k->type == CONFIG_STRING)
		config_free_string(k, (char **)((char *)cfg + k->offset));
}

void
config_copy(struct agent_config *dst, const struct agent_config *src)
{
	size_t	 i;
	char	**sp;

	*dst = *src;
	for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		if (config_keys[i].type != CONFIG_STRING)
			continue;
		sp = (char **)((char *)dst + config_keys[i].offset);
		if (*sp != NULL)
			*sp = xstrdup(*sp);
	}
}

void
config_copy_reloadable(struct agent_config *dst,
    const struct agent_config *src)
{
	const struct config_key	*k;
	size_t			 i;

	for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		k = &config_keys[i];
		if (config_reloads(k))
			memcpy((char *)dst + k->offset,
			    (const char *)src + k->offset,
			    k->type == CONFIG_SIZE ? sizeof(size_t) :
			    sizeof(int));
	}
}

int
config_key_reloads(const char *key)
{
	const struct config_key	*k = config_find(key);

	return k == NULL ? -1 : config_reloads(k);
}
