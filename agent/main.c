/* cube-agent: start-up, signals and orderly shutdown of the gateway daemon. */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

#define AGENT_TRIM_S		10	/* how often free heap is looked at */
#define AGENT_TRIM_FREE		(16 * 1024 * 1024)	/* worth giving back */

/* -n, --check-config: read the settings, say whether they are good, exit. */
static int	 agent_check_only;

static const struct option agent_options[] = {
	{ "config",		required_argument, NULL, 'c' },
	{ "listen",		required_argument, NULL, 'L' },
	{ "data",		required_argument, NULL, 'D' },
	{ "admin-socket",	required_argument, NULL, 'S' },
	{ "tee",		required_argument, NULL, 'T' },
	{ "tls",		required_argument, NULL, 't' },
	{ "tls-cert",		required_argument, NULL, 'C' },
	{ "tls-key",		required_argument, NULL, 'K' },
	{ "seal-keys",		required_argument, NULL, 'k' },
	{ "workers",		required_argument, NULL, 'w' },
	{ "metrics-listen",	required_argument, NULL, 'M' },
	{ "otlp-endpoint",	required_argument, NULL, 'O' },
	{ "log-format",		required_argument, NULL, 'F' },
	{ "allow-core-dumps",	no_argument,	   NULL, 'A' },
	{ "check-config",	no_argument,	   NULL, 'n' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ "restore",		required_argument, NULL, 'R' },
	{ NULL, 0, NULL, 0 }
};

/* --restore FILE: restore.c runs instead of the daemon. */
static const char	*agent_restore;

static void __attribute__((noreturn))
agent_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: cube-agent [-c FILE] [--listen ADDR:PORT] [--data DIR]"
	    " [--admin-socket PATH]\n"
	    "                  [--tee auto|none|sim|configfs-tsm|sev-guest|"
	    "tdx-guest]\n"
	    "                  [--tls auto|generate|off]"
	    " [--tls-cert FILE --tls-key FILE] [--workers N]\n"
	    "                  [--seal-keys auto|off]"
	    " [--metrics-listen ADDR:PORT] [--allow-core-dumps] [-v]\n"
	    "                  [--otlp-endpoint URL] [--log-format text|json]"
	    " [-n | --check-config]\n"
	    "       cube-agent [-c FILE] [--data DIR] [--admin-socket PATH]"
	    " --restore FILE\n"
	    "SIGHUP reloads the config file (-c) and the TLS certificate.\n");
	exit(status);
}

static void	agent_check_nofile(const struct agent_config *);
static void	agent_reserve_fds(const struct agent_config *);

/*
 * What SIGHUP needs to read the configuration again as at start: the
 * same command line, and the parts of the agent that take new settings.
 */
struct agent_run {
	struct agent		*agent;
	int			 argc;
	char			**argv;
	struct agent_config	 given;		/* as parsed at start */
	struct health		*health;
	struct otlp		*otlp;
	struct provider_attest	*pattest;
};

/*
 * Long options override the config file wherever -c stands, so the file
 * is read in a first pass; both go through config_set(). At start an
 * error stops the agent; on SIGHUP (reload) it comes back in err.
 */
static int
agent_parse(struct agent_config *cfg, int argc, char **argv, int reload,
    char *err, size_t errlen)
{
	const struct option	*o;
	struct stat		 st;
	char			 msg[512];
	int			 ch;

	opterr = 0;
	optind = 0;	/* glibc: start over (SIGHUP parses again) */
	while ((ch = getopt_long(argc, argv, "c:vhn", agent_options,
	    NULL)) != -1) {
		if (ch != 'c')
			continue;
		/* The main loop reads it: a FIFO must not stall it. */
		if (reload && stat(optarg, &st) == -1) {
			snprintf(err, errlen, "%s: %s", optarg,
			    strerror(errno));
			return -1;
		}
		if (reload && !S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file",
			    optarg);
			return -1;
		}
		if (config_load_file(cfg, optarg, err, errlen) == -1)
			return -1;
	}
	opterr = !reload;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:vhn", agent_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'A':	/* core-dumps = on */
			cfg->core_dumps = 1;
			break;
		case 'n':
			agent_check_only = 1;
			break;
		case 'R':
			agent_restore = optarg;
			break;
		case 'h':
		case 'V':
		case '?':
			if (reload) {	/* the line that started us: not here */
				snprintf(err, errlen, "the command line");
				return -1;
			}
			if (ch == 'V') {
				printf("cube-agent %s\n", CUBE_VERSION);
				exit(0);
			}
			agent_usage(ch == 'h' ? 0 : 2);
		default:
			for (o = agent_options; o->name != NULL; o++)
				if (o->val == ch)
					break;
			if (config_set(cfg, o->name, optarg, msg,
			    sizeof(msg)) == -1) {
				snprintf(err, errlen, "--%s", msg);
				return -1;
			}
			break;
		}
	}
	if (optind != argc) {
		if (reload) {
			snprintf(err, errlen, "the command line");
			return -1;
		}
		agent_usage(2);
	}
	return 0;
}

/* --seal-keys as a VAULT_SEAL_* mode; any other word stops the start-up. */
static int
agent_seal_mode(const char *seal_keys)
{
	if (strcmp(seal_keys, "auto") == 0)
		return VAULT_SEAL_AUTO;
	if (strcmp(seal_keys, "off") == 0)
		return VAULT_SEAL_OFF;
	fatalx("--seal-keys: '%s' is not auto or off", seal_keys);
}

/*
 * --check-config: the files and the options parsed (agent_parse() stops
 * at the first bad line, with file:line), the values main() checks itself;
 * what needs the machine (TLS files, the TEE, Redis) is checked at start.
 */
static void __attribute__((noreturn))
agent_check_config(const struct agent_config *cfg)
{
	(void)agent_seal_mode(cfg->seal_keys);
	printf("config ok\n");
	exit(0);
}

/* Is ADDR:PORT a loopback address (where only this host can connect)? */
static int
agent_listen_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 ||
	    strncmp(listen, "[::1]:", 6) == 0 ||
	    strncmp(listen, "localhost:", 10) == 0;
}

/*
 * TLS on the inference port (tls.c decides from --tls and the TEE), and
 * a word on whether prompts can arrive unencrypted.
 */
static void
agent_start_tls(struct agent *agent)
{
	char	err[512];

	if (tls_start(&agent->cfg, agent->tee->ops->hardware, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	if (tls_enabled())
		return;
	if (!agent_listen_loopback(agent->cfg.listen))
		log_warnx("plain HTTP on %s: prompts and API tokens can reach"
		    " this agent unencrypted, and no client can tie the"
		    " connection to the evidence; use --tls generate or"
		    " --tls-cert/--tls-key", agent->cfg.listen);
	else
		log_info("plain HTTP on %s (loopback): prompts arrive"
		    " unencrypted", agent->cfg.listen);
}

/*
 * SIGHUP: read the config file and the command line again, as at start.
 * A config that does not parse whole is refused and nothing changes;
 * otherwise the reloadable keys apply (config_reload() logs each), every
 * part that holds one takes it, and the TLS certificate files are read
 * again (a broken one is refused, the old one kept).
 */
static void
agent_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct agent_run	*run = arg;
	struct agent		*agent = run->agent;
	struct agent_config	 next, *cur = &agent->cfg;
	char			 err[1024];
	int			 check, attest, applied;

	(void)sig;
	(void)what;
	config_defaults(&next);
	if (agent_parse(&next, run->argc, run->argv, 1, err,
	    sizeof(err)) == -1) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		config_free(&next);
		return;
	}
	config_finish(&next);
	/* The running password lives in sodium memory, not in cfg. */
	if (next.limits_redis_password != NULL &&
	    limit_redis_password_is(next.limits_redis_password))
		config_unset(&next, "limits-redis-password");
	check = cur->provider_check_interval;
	attest = cur->provider_attest_interval;
	applied = config_reload(cur, &run->given, &next);
	config_free(&next);
	if (applied > 0) {
		workers_configure(cur);
		deployment_configure(cur->breaker_failures,
		    cur->breaker_cooldown_ms);
		trace_writer_configure(agent->traces, cur->trace_flush_ms,
		    cur->trace_retention_check_s);
		otlp_configure(run->otlp, cur);
		if (check != cur->provider_check_interval)
			run->health = health_configure(run->health, agent);
		if (attest != cur->provider_attest_interval)
			provider_attest_configure(run->pattest);
		agent_check_nofile(cur);
		/* Here, not on a worker's next accept, if it grew. */
		agent_reserve_fds(cur);
	}
	log_info("SIGHUP: configuration reloaded (%d key%s changed)", applied,
	    applied == 1 ? "" : "s");
	if (tls_reload(err, sizeof(err)) == -1)
		log_warnx("SIGHUP: keeping the old TLS certificate: %s", err);
}

/* Every TLS_TICKET_ROTATE_S: a new session ticket key. */
static void
agent_tls_rotate(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	tls_rotate();
}

/*
 * Every AGENT_TRIM_S, while no stream is open: give free heap back to the
 * kernel once there is more than AGENT_TRIM_FREE of it. scrub.c keeps
 * freed heap mapped so that a busy agent's wipes do not fault pages in
 * again; without this, a burst of streams would stay resident for good.
 */
static void
agent_trim(evutil_socket_t fd, short what, void *arg)
{
	/* What trimming left free: madvise'd chunks stay in the bins. */
	static size_t	 left;
	size_t		 free_now;

	(void)fd;
	(void)what;
	(void)arg;
	if (metrics_streams_open() != 0)
		return;
	free_now = mallinfo2().fordblks;
	if (free_now > left + AGENT_TRIM_FREE) {
		malloc_trim(0);
		left = mallinfo2().fordblks;
	} else if (free_now < left)
		left = free_now;
}

/*
 * Today's spend so far, from the usage rollup, into the live figures:
 * stats.get's spend today then survives a restart (start-up, before any
 * trace is written, so nothing counts twice).
 */
static void
agent_seed_stats(struct agent *agent, const struct registry *reg)
{
	struct store_usage	*u;
	int64_t			 now = (int64_t)time(NULL), day = now / 86400;
	size_t			 i, j, n;
	char			 err[256];

	for (i = 0; i < reg->ndomains; i++) {
		if (store_usage_query(agent->store, reg->domains[i].id,
		    USAGE_BY_MODEL, day * 86400, now, &u, &n, err,
		    sizeof(err)) != 0) {
			log_warnx("stats: today's spend so far: %s", err);
			return;
		}
		for (j = 0; j < n; j++)
			if (u[j].cost != 0)
				stats_add_spend(stats_default(),
				    reg->domains[i].id, u[j].key != NULL ?
				    u[j].key : "", day, u[j].cost);
		store_usage_list_free(u, n);
	}
}

/*
 * The attestation provider --tee names ("auto": the first hardware one
 * that works, else none). One that cannot work here stops the start-up.
 */
static void
agent_open_tee(struct agent *agent)
{
	struct tee_config	 tc;
	char			 err[1024];

	err[0] = '\0';
	memset(&tc, 0, sizeof(tc));
	tc.data_dir = agent->cfg.data_dir;
	if ((agent->tee = tee_open(agent->cfg.tee, &tc, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	if (strcmp(agent->cfg.tee, "auto") == 0) {
		if (strcmp(tee_name(agent->tee), "none") == 0)
			log_info("--tee auto: no TEE found (%s)", err);
		free(agent->cfg.tee);
		agent->cfg.tee = xstrdup(tee_name(agent->tee));
	}
	if (!agent->tee->ops->hardware)
		log_warnx("no hardware TEE in use (--tee %s)", agent->cfg.tee);
	else
		log_info("attestation: %s (%s)", tee_name(agent->tee),
		    agent->tee->path);
}

/*
 * The agent's keys, sealed at rest with a key the TEE derives where it
 * has one (--seal-keys auto), else plain files of mode 0600, which the
 * log says. The derived key is wiped once the keys are open.
 */
static void
agent_open_vault(struct agent *agent, int seal)
{
	struct keyfile_key	*key;
	char			 err[1024], why[512];
	int			 none, derived;

	why[0] = '\0';
	key = tee_derive_key(agent->tee, &none, why, sizeof(why));
	if (key == NULL && !none && seal == VAULT_SEAL_AUTO)
		fatalx("cannot derive a key to seal the agent's keys with: %s"
		    " (--seal-keys off keeps them in plain files, mode 0600)",
		    why);
	if (key == NULL && !none)
		log_warnx("cannot derive a sealing key: %s", why);
	derived = key != NULL;
	agent->vault = vault_open_sealed(agent->cfg.data_dir, key, seal, err,
	    sizeof(err));
	keyfile_key_free(key);
	if (agent->vault == NULL)
		fatalx("%s", err);
	if (vault_sealed(agent->vault) &&
	    strcmp(tee_name(agent->tee), "sim") == 0)
		log_warnx("keys at rest in %s are %s: the sim TEE's secret"
		    " lies beside them, so they are protected only by file"
		    " mode 0600 (development and tests only)",
		    agent->cfg.data_dir, vault_keys_at_rest(agent->vault));
	else if (vault_sealed(agent->vault))
		log_info("keys at rest in %s are %s", agent->cfg.data_dir,
		    vault_keys_at_rest(agent->vault));
	else
		log_warnx("keys at rest in %s are protected only by file mode"
		    " 0600: %s", agent->cfg.data_dir, derived || seal ==
		    VAULT_SEAL_OFF ? "--seal-keys off" : why);
}

static int
agent_mkdirs(const char *path, mode_t mode)
{
	char	*copy = xstrdup(path), *p;

	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) == -1 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Every connection is a descriptor: take what the hard limit allows, so
 * that max-connections (sized from it) is not cut short by a low soft one.
 */
static void
agent_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE");
}

/*
 * A max-connections the open-file limit cannot hold: connections past
 * what it fits fail to open (upstream ones as 503s), so say what it takes.
 */
static void
agent_check_nofile(const struct agent_config *cfg)
{
	struct rlimit		rl;
	unsigned long long	need = config_nofile_for(cfg->max_connections);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	log_warnx("max-connections %d needs an open-file limit of %llu"
	    " (each connection may hold an upstream one); it is %llu: raise"
	    " it (ulimit -n, LimitNOFILE=) or lower max-connections",
	    cfg->max_connections, need, (unsigned long long)rl.rlim_cur);
}

/*
 * Grow the descriptor table now, while the agent is one thread, to what
 * max-connections needs (on SIGHUP too, on the main thread). Grown later
 * in a process of several threads, each doubling of it waits out an RCU
 * grace period in the kernel (expand_files() calls synchronize_rcu()
 * when the table is shared): the worker stood still 15 to 30 ms at 256,
 * 512, 1,024 and 2,048 descriptors while 1,000 streams opened, and their
 * first tokens' p99 rose by as much. The table never shrinks; it is
 * kernel memory, about 8 bytes a descriptor, not the agent's heap.
 */
static void
agent_reserve_fds(const struct agent_config *cfg)
{
	struct rlimit		rl;
	unsigned long long	n = config_nofile_for(cfg->max_connections);
	int			base, fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur !=
	    RLIM_INFINITY && rl.rlim_cur < n)
		n = rl.rlim_cur;
	if (n > INT_MAX)
		n = INT_MAX;
	if (n < 2 || (base = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		return;
	/* The lowest free descriptor from n - 1 up: the table covers n. */
	if ((fd = fcntl(base, F_DUPFD_CLOEXEC, (int)n - 1)) == -1)
		log_warn("reserving %llu descriptors", n);
	else
		close(fd);
	close(base);
}

static void
agent_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent	*agent = arg;

	(void)what;
	log_info("%s: draining", strsignal(sig));
	event_base_loopexit(agent->base, NULL);
}

int
main(int argc, char **argv)
{
	struct agent	 agent;
	struct agent_run run;
	struct registry	*reg;
	struct admin	*admin;
	struct jwks	*jwks;
	struct otlp	*otlp;
	struct event	*sigterm, *sigint, *sighup, *rotate, *trim;
	struct timeval	 rotate_tv = { TLS_TICKET_ROTATE_S, 0 };
	struct timeval	 trim_tv = { AGENT_TRIM_S, 0 };
	char		 err[1024];
	const char	*why;
	int		 seal, restored;

	memset(&agent, 0, sizeof(agent));
	memset(&run, 0, sizeof(run));
	config_defaults(&agent.cfg);
	if (agent_parse(&agent.cfg, argc, argv, 0, err, sizeof(err)) == -1)
		fatalx("%s", err);
	agent_raise_nofile();
	config_finish(&agent.cfg);
	log_init("cube-agent", agent.cfg.verbose);
	if (agent_check_only)
		agent_check_config(&agent.cfg);
	if (agent.cfg.log_format != NULL &&
	    log_format_parse(agent.cfg.log_format) == LOG_FORMAT_JSON)
		log_set_json(jscan_quote);
	run.agent = &agent;
	run.argc = argc;
	run.argv = argv;
	/* Without the password: it is to live in sodium memory only. */
	config_copy(&run.given, &agent.cfg);
	config_unset(&run.given, "limits-redis-password");
	agent_check_nofile(&agent.cfg);
	agent_reserve_fds(&agent.cfg);
	deployment_configure(agent.cfg.breaker_failures,
	    agent.cfg.breaker_cooldown_ms);

	/* Before anything can hold a secret: no dumps, wiped frees. */
	scrub_start(agent.cfg.core_dumps);
	upstream_own_client_configure(&agent.cfg);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (evthread_use_pthreads() == -1)
		fatalx("evthread_use_pthreads failed");
	store_library_init();
	/* Shared limits: checked, and the password into sodium memory. */
	if (limit_redis_configure(&agent.cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);

	/* --seal-keys before anything is made in the data directory. */
	seal = agent_seal_mode(agent.cfg.seal_keys);
	/* Before the vault, which may write its key files. */
	if (agent_restore != NULL && restore_preflight(&agent.cfg, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "cube-agent: restore refused: %s\n", err);
		exit(1);
	}
	if (agent_mkdirs(agent.cfg.data_dir, 0700) == -1)
		fatal("data directory %s", agent.cfg.data_dir);
	agent_open_tee(&agent);
	agent_open_vault(&agent, seal);
	if (agent_restore != NULL) {
		restored = restore_run(&agent.cfg, agent.vault, agent_restore);
		tee_free(agent.tee);
		vault_free(agent.vault);
		config_free(&agent.cfg);
		config_free(&run.given);
		return restored;
	}
	if ((agent.store = store_open(agent.cfg.data_dir, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((reg = registry_build(agent.store, agent.vault, err,
	    sizeof(err))) == NULL)
		fatalx("loading state: %s", err);
	registry_publish(reg);
	agent_seed_stats(&agent, reg);
	if ((agent.traces = trace_writer_start(agent.cfg.data_dir,
	    agent.cfg.trace_flush_ms, agent.cfg.trace_retention_check_s, err,
	    sizeof(err))) == NULL)
		fatalx("traces: %s", err);
	agent.trace_queue = trace_writer_queue(agent.traces);
	err[0] = '\0';
	if ((otlp = otlp_start(&agent.cfg, err, sizeof(err))) == NULL &&
	    err[0] != '\0')
		fatalx("%s", err);
	trace_writer_export(agent.traces, otlp);

	if ((agent.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	agent.started = time(NULL);
	agent_start_tls(&agent);
	attestation_queue_start(&agent);
	if (workers_start(&agent, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((admin = admin_start(&agent, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (agent.cfg.metrics_listen != NULL && metrics_start(agent.base,
	    agent.cfg.metrics_listen, err, sizeof(err)) == -1)
		fatalx("%s", err);
	run.health = health_start(&agent);
	jwks = jwks_start(&agent);
	run.pattest = provider_attest_start(&agent);
	run.otlp = otlp;

	sigterm = evsignal_new(agent.base, SIGTERM, agent_signal, &agent);
	sigint = evsignal_new(agent.base, SIGINT, agent_signal, &agent);
	sighup = evsignal_new(agent.base, SIGHUP, agent_sighup, &run);
	rotate = event_new(agent.base, -1, EV_PERSIST, agent_tls_rotate, NULL);
	trim = event_new(agent.base, -1, EV_PERSIST, agent_trim, NULL);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    rotate == NULL || trim == NULL)
		fatalx("evsignal_new failed");
	event_add(trim, &trim_tv);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sighup, NULL);
	if (tls_enabled())
		event_add(rotate, &rotate_tv);
	if ((why = upstream_own_client_off(&agent.cfg)) != NULL)
		log_info("backends: libcurl for every one (%s)", why);
	log_info("cube-agent %s ready (data %s, admin %s)", CUBE_VERSION,
	    agent.cfg.data_dir, agent.cfg.admin_socket);

	event_base_dispatch(agent.base);

	/* In-flight requests finish (or are cut after the grace period). */
	workers_stop();
	response_store_clear();
	/* Every trace of a finished request is written before we exit. */
	trace_writer_stop(agent.traces);
	agent.traces = NULL;
	agent.trace_queue = NULL;
	/* Then their spans, for at most otlp-shutdown-ms. */
	otlp_stop(otlp);
	stats_shutdown();
	attestation_queue_stop();
	health_stop(run.health);
	jwks_stop(jwks);
	provider_attest_stop(run.pattest);
	admin_stop(admin);
	metrics_stop();
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_free(rotate);
	event_free(trim);
	tls_stop();
	event_base_free(agent.base);
	registry_shutdown();
	limit_reset();
	limit_redis_unconfigure();
	store_close(agent.store);
	tee_free(agent.tee);
	vault_free(agent.vault);
	curl_global_cleanup();
	libevent_global_shutdown();
	log_info("stopped");
	config_free(&agent.cfg);
	config_free(&run.given);
	return 0;
}
