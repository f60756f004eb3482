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

#include "agent.h"
#include "transport.h"
#include "xmalloc.h"

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_SIZE,
	CONFIG_BOOL,		/* on|off, yes|no, true|false, 1|0 */
};

static const struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;
	long long		 min, max;
} config_keys[] = {
	{ "listen", CONFIG_STRING, offsetof(struct agent_config, listen), 0, 0 },
	{ "data", CONFIG_STRING, offsetof(struct agent_config, data_dir), 0, 0 },
	{ "admin-socket", CONFIG_STRING,
	    offsetof(struct agent_config, admin_socket), 0, 0 },
	{ "tee", CONFIG_STRING, offsetof(struct agent_config, tee), 0, 0 },
	{ "tls", CONFIG_STRING, offsetof(struct agent_config, tls), 0, 0 },
	{ "tls-cert", CONFIG_STRING, offsetof(struct agent_config, tls_cert),
	    0, 0 },
	{ "tls-key", CONFIG_STRING, offsetof(struct agent_config, tls_key),
	    0, 0 },
	{ "seal-keys", CONFIG_STRING, offsetof(struct agent_config, seal_keys),
	    0, 0 },
	{ "metrics-listen", CONFIG_STRING,
	    offsetof(struct agent_config, metrics_listen), 0, 0 },
	{ "workers", CONFIG_INT, offsetof(struct agent_config, workers), 1, 256 },
	{ "max-body", CONFIG_SIZE, offsetof(struct agent_config, max_body),
	    1024, 1LL << 30 },
	{ "max-headers", CONFIG_SIZE, offsetof(struct agent_config, max_headers),
	    1024, 1 << 20 },
	{ "connect-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, connect_timeout_ms), 1, 600000 },
	{ "first-byte-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, first_byte_timeout_ms), 1, 3600000 },
	{ "idle-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, idle_timeout_ms), 1, 3600000 },
	{ "client-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, client_timeout_ms), 1, 3600000 },
	{ "head-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, head_timeout_ms), 1, 3600000 },
	{ "body-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, body_timeout_ms), 1, 3600000 },
	{ "max-connections", CONFIG_INT,
	    offsetof(struct agent_config, max_connections), 1, 1000000 },
	{ "max-connections-per-address", CONFIG_INT,
	    offsetof(struct agent_config, max_connections_per_address), 1,
	    1000000 },
	{ "drain-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, drain_timeout_ms), 0, 3600000 },
	{ "trace-flush-ms", CONFIG_INT,
	    offsetof(struct agent_config, trace_flush_ms), 1, 60000 },
	{ "trace-retention-check-s", CONFIG_INT,
	    offsetof(struct agent_config, trace_retention_check_s), 1, 86400 },
	{ "provider-check-interval", CONFIG_INT,
	    offsetof(struct agent_config, provider_check_interval), 0, 86400 },
	{ "provider-attest-interval", CONFIG_INT,
	    offsetof(struct agent_config, provider_attest_interval), 10,
	    86400 },
	{ "jwks-kid-refresh", CONFIG_INT,
	    offsetof(struct agent_config, jwks_kid_refresh), 1, 3600 },
	{ "breaker-failures", CONFIG_INT,
	    offsetof(struct agent_config, breaker_failures), 1, 1000 },
	{ "breaker-cooldown-ms", CONFIG_INT,
	    offsetof(struct agent_config, breaker_cooldown_ms), 100,
	    DEPLOY_COOLDOWN_MAX_MS },
	{ "core-dumps", CONFIG_BOOL, offsetof(struct agent_config, core_dumps),
	    0, 1 },
	{ "limits-redis", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis), 0, 0 },
	{ "limits-redis-user", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_user), 0, 0 },
	{ "limits-redis-password", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_password), 0, 0 },
	{ "limits-redis-ca", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_ca), 0, 0 },
	{ "limits-redis-prefix", CONFIG_STRING,
	    offsetof(struct agent_config, limits_redis_prefix), 0, 0 },
	{ "limits-redis-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, limits_redis_timeout_ms), 10, 60000 },
	{ "fleet-size", CONFIG_INT, offsetof(struct agent_config, fleet_size),
	    1, 1024 },
	{ "otlp-endpoint", CONFIG_STRING,
	    offsetof(struct agent_config, otlp_endpoint), 0, 0 },
	{ "otlp-headers-file", CONFIG_STRING,
	    offsetof(struct agent_config, otlp_headers_file), 0, 0 },
	{ "otlp-ca-file", CONFIG_STRING,
	    offsetof(struct agent_config, otlp_ca_file), 0, 0 },
	{ "otlp-timeout-ms", CONFIG_INT,
	    offsetof(struct agent_config, otlp_timeout_ms), 100, 600000 },
	{ "otlp-flush-ms", CONFIG_INT,
	    offsetof(struct agent_config, otlp_flush_ms), 1, 600000 },
	{ "otlp-batch", CONFIG_INT, offsetof(struct agent_config, otlp_batch),
	    1, 65536 },
	{ "otlp-queue", CONFIG_INT, offsetof(struct agent_config, otlp_queue),
	    1, 1000000 },
	{ "otlp-shutdown-ms", CONFIG_INT,
	    offsetof(struct agent_config, otlp_shutdown_ms), 0, 600000 },
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
 * An open stream costs about 26 KiB of heap (cube_heap_bytes), so the
 * most the default admits is about 420 MiB of streams.
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
		sp = (char **)((char *)cfg + k->offset);
		free(*sp);
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
	char	 line[4096], msg[512], *key, *value, *p;
	int	 lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
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
	return rc;
}

void
config_free(struct agent_config *cfg)
{
	size_t	i;

	for (i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (config_keys[i].type == CONFIG_STRING)
			free(*(char **)((char *)cfg + config_keys[i].offset));
	memset(cfg, 0, sizeof(*cfg));
}
