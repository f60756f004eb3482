/* fake-llm: an OpenAI / Ollama HTTP backend for scenario tests and benches. */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "fake-llm.h"
#include "log.h"
#include "xmalloc.h"

struct event_base	*fake_base;
int			 fake_stopping;

static cJSON	*fake_models(const char *);
static cJSON	*fake_model(const char *);
static cJSON	*fake_tags(const char *);
static cJSON	*fake_version(const char *);
static cJSON	*fake_requests(const char *);
static cJSON	*fake_reset(const char *);

/*
 * The routes. A route either answers a listing at once (get, given what
 * follows a prefix path) or is an API whose request becomes an exchange.
 */
static const struct fake_route {
	enum evhttp_cmd_type	 method;
	const char		*path;
	int			 flags;
#define FAKE_ROUTE_PREFIX	0x1	/* path ends in "/": matches below it */
#define FAKE_ROUTE_UNLOGGED	0x2	/* the test's own: never recorded */
	cJSON			*(*get)(const char *);
	const struct wire_api	*api;
} fake_routes[] = {
	{ EVHTTP_REQ_GET, "/v1/models", 0, fake_models, NULL },
	{ EVHTTP_REQ_GET, "/v1/models/", FAKE_ROUTE_PREFIX, fake_model, NULL },
	{ EVHTTP_REQ_POST, "/v1/chat/completions", 0, NULL, &wire_openai_chat },
	{ EVHTTP_REQ_POST, "/v1/completions", 0, NULL,
	    &wire_openai_completions },
	{ EVHTTP_REQ_POST, "/v1/embeddings", 0, NULL, &wire_openai_embeddings },
	{ EVHTTP_REQ_POST, "/v1/fim/completions", 0, NULL, &wire_openai_fim },
	{ EVHTTP_REQ_POST, "/v1/rerank", 0, NULL, &wire_rerank },
	{ EVHTTP_REQ_POST, "/v1/responses", 0, NULL, &wire_openai_responses },
	{ EVHTTP_REQ_GET, "/api/tags", 0, fake_tags, NULL },
	{ EVHTTP_REQ_GET, "/api/version", 0, fake_version, NULL },
	{ EVHTTP_REQ_POST, "/api/chat", 0, NULL, &wire_ollama_chat },
	{ EVHTTP_REQ_POST, "/api/generate", 0, NULL, &wire_ollama_generate },
	{ EVHTTP_REQ_POST, "/api/embed", 0, NULL, &wire_ollama_embed },
	{ EVHTTP_REQ_GET, "/_requests", FAKE_ROUTE_UNLOGGED, fake_requests,
	    NULL },
	{ EVHTTP_REQ_POST, "/_reset", FAKE_ROUTE_UNLOGGED, fake_reset, NULL },
};

static const struct {
	enum evhttp_cmd_type	 method;
	const char		*name;
} fake_methods[] = {
	{ EVHTTP_REQ_GET, "GET" },
	{ EVHTTP_REQ_POST, "POST" },
	{ EVHTTP_REQ_HEAD, "HEAD" },
	{ EVHTTP_REQ_PUT, "PUT" },
	{ EVHTTP_REQ_DELETE, "DELETE" },
	{ EVHTTP_REQ_OPTIONS, "OPTIONS" },
	{ EVHTTP_REQ_TRACE, "TRACE" },
	{ EVHTTP_REQ_CONNECT, "CONNECT" },
	{ EVHTTP_REQ_PATCH, "PATCH" },
};

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: fake-llm [--listen host:port] "
	    "[--port-file file] [-v]\n");
	exit(1);
}

static cJSON *
fake_models(const char *rest)
{
	(void)rest;
	return wire_models();
}

static cJSON *
fake_model(const char *rest)
{
	cJSON	*m;
	char	*id;

	/* Any id exists, as any model string is served. */
	if ((id = evhttp_uridecode(rest, 0, NULL)) == NULL)
		return wire_model(rest);
	m = wire_model(id);
	free(id);
	return m;
}

static cJSON *
fake_tags(const char *rest)
{
	(void)rest;
	return wire_tags();
}

static cJSON *
fake_version(const char *rest)
{
	(void)rest;
	return wire_version();
}

static cJSON *
fake_requests(const char *rest)
{
	(void)rest;
	return record_list();
}

static cJSON *
fake_reset(const char *rest)
{
	cJSON	*o = cJSON_CreateObject();

	(void)rest;
	record_reset();
	cJSON_AddBoolToObject(o, "ok", 1);
	return o;
}

/* Reply with a JSON body; consumes json. */
void
fake_send_json(struct evhttp_request *req, int status, cJSON *json)
{
	struct evbuffer	*buf;
	char		*s;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new failed", __func__);
	s = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	evbuffer_add(buf, s, strlen(s));
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, wire_reason(status), buf);
	evbuffer_free(buf);
}

void
fake_send_error(struct evhttp_request *req, enum wire_kind kind, int status,
    const char *message)
{
	fake_send_json(req, status, wire_error(kind, status, message));
}

static const char *
fake_method_name(enum evhttp_cmd_type method)
{
	size_t	i;

	for (i = 0; i < sizeof(fake_methods) / sizeof(*fake_methods); i++) {
		if (fake_methods[i].method == method)
			return fake_methods[i].name;
	}
	return "UNKNOWN";
}

static const struct fake_route *
fake_route_find(enum evhttp_cmd_type method, const char *path)
{
	const struct fake_route	*r;
	size_t			 i, len;

	for (i = 0; i < sizeof(fake_routes) / sizeof(*fake_routes); i++) {
		r = &fake_routes[i];
		if (r->method != method)
			continue;
		if (r->flags & FAKE_ROUTE_PREFIX) {
			len = strlen(r->path);
			if (strncmp(path, r->path, len) == 0 &&
			    path[len] != '\0')
				return r;
		} else if (strcmp(path, r->path) == 0)
			return r;
	}
	return NULL;
}

/* Answer an error to a recorded request. */
static void
fake_fail(struct evhttp_request *req, uint64_t seq, enum wire_kind kind,
    int status, const char *message)
{
	record_status(seq, status);
	record_completed(seq);
	fake_send_error(req, kind, status, message);
}

/* Every request: route it, record it, answer or start an exchange. */
static void
fake_request(struct evhttp_request *req, void *arg)
{
	const struct fake_route	*r;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer		*input = evhttp_request_get_input_buffer(req);
	enum evhttp_cmd_type	 method = evhttp_request_get_command(req);
	const char		*path = NULL, *data = "", *name;
	const cJSON		*model;
	struct exchange		*ex;
	cJSON			*body = NULL;
	uint64_t		 seq;
	size_t			 len;
	char			 err[256], *msg;

	(void)arg;
	if (uri != NULL)
		path = evhttp_uri_get_path(uri);
	if (path == NULL || *path == '\0')
		path = "/";
	name = fake_method_name(method);
	r = fake_route_find(method, path);
	if (r != NULL && (r->flags & FAKE_ROUTE_UNLOGGED)) {
		fake_send_json(req, 200, r->get(path));
		return;
	}

	if ((len = evbuffer_get_length(input)) > 0) {
		data = (const char *)evbuffer_pullup(input, -1);
		body = cJSON_ParseWithLength(data, len);
	}
	model = cJSON_GetObjectItemCaseSensitive(body, "model");
	seq = record_add(req, name, path, cJSON_IsString(model) ?
	    model->valuestring : NULL, data, len);
	if (log_verbose())
		log_debug("request %llu: %s %s model %s",
		    (unsigned long long)seq, name, path,
		    cJSON_IsString(model) ? model->valuestring : "none");

	if (r == NULL) {
		xasprintf(&msg, "Invalid URL (%s %s)", name, path);
		fake_fail(req, seq, WIRE_OPENAI, 404, msg);
		free(msg);
		cJSON_Delete(body);
		return;
	}
	if (r->api == NULL) {
		record_status(seq, 200);
		record_completed(seq);
		fake_send_json(req, 200, r->get(path + strlen(r->path)));
		cJSON_Delete(body);
		return;
	}
	if (!cJSON_IsObject(body)) {
		fake_fail(req, seq, r->api->kind, 400, "We could not parse "
		    "the JSON body of your request. The fake-llm API expects "
		    "a JSON object.");
		cJSON_Delete(body);
		return;
	}
	if (!cJSON_IsString(model)) {
		fake_fail(req, seq, r->api->kind, 400,
		    r->api->kind == WIRE_OLLAMA ? "model is required" :
		    "you must provide a model parameter");
		cJSON_Delete(body);
		return;
	}

	ex = exchange_new(req, r->api, body, seq);
	if (r->api->parse(ex, err, sizeof(err)) == -1) {
		fake_fail(req, seq, r->api->kind, 400, err);
		exchange_free(ex);
		return;
	}
	exchange_start(ex);
}

static void
fake_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_debug("signal %d: stopping", (int)sig);
	event_base_loopexit(fake_base, NULL);
}

/* cJSON allocates through these, so out-of-memory is fatal there too. */
static void *
fake_json_malloc(size_t size)
{
	return xmalloc(size == 0 ? 1 : size);
}

/* Split "host:port", "[v6]:port" or "port"; host is then 127.0.0.1. */
static void
fake_parse_listen(const char *listen, char **host, int *port)
{
	const char	*colon, *ps;
	char		*end;
	long		 n;

	if (listen[0] == '[') {
		if ((colon = strstr(listen, "]:")) == NULL)
			fatalx("bad --listen %s: expected [host]:port", listen);
		*host = xstrndup(listen + 1, colon - listen - 1);
		ps = colon + 2;
	} else if ((colon = strrchr(listen, ':')) != NULL) {
		*host = xstrndup(listen, colon - listen);
		ps = colon + 1;
	} else {
		*host = xstrdup("127.0.0.1");
		ps = listen;
	}
	errno = 0;
	n = strtol(ps, &end, 10);
	if (errno != 0 || end == ps || *end != '\0' || n < 0 || n > 65535)
		fatalx("bad --listen %s: expected host:port", listen);
	*port = (int)n;
}

/* Write the port so that a reader never sees a partial file. */
static void
fake_write_port_file(const char *path, int port)
{
	FILE	*f;
	char	*tmp;

	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		fatal("%s", tmp);
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		fatal("%s", tmp);
	if (rename(tmp, path) == -1)
		fatal("rename %s", path);
	free(tmp);
}

/*
 * evhttp listens with a backlog of 128; make bench opens 10,000 streams
 * at 1,000 a second, and on a busy machine a full queue drops
 * connections. Linux takes a second listen() as the new size.
 */
static void
fake_backlog(struct evhttp_bound_socket *bound)
{
	(void)listen(evhttp_bound_socket_get_fd(bound), 4096);
}

static int
fake_bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&ss, &len) == -1)
		fatal("getsockname");
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	cJSON_Hooks			 hooks = { fake_json_malloc, free };
	const char			*listen = "127.0.0.1:0";
	const char			*port_file = NULL;
	struct evhttp			*http;
	struct event_config		*cfg;
	struct evhttp_bound_socket	*bound;
	struct event			*sigterm, *sigint;
	char				*host;
	int				 ch, verbose = 0, port, left;

	while ((ch = getopt_long(argc, argv, "l:p:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("fake-llm", verbose);
	cJSON_InitHooks(&hooks);
	signal(SIGPIPE, SIG_IGN);
	fake_parse_listen(listen, &host, &port);

	/*
	 * Precise timers: libevent's default clock is CLOCK_MONOTONIC_COARSE,
	 * a tick (4 ms) behind, and a chunk_delay_ms measured on it could
	 * fire before the promised delay was up (stream-load.sh checks that
	 * no first token comes sooner).
	 */
	if ((cfg = event_config_new()) == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) != 0 ||
	    (fake_base = event_base_new_with_config(cfg)) == NULL)
		fatalx("event_base_new failed");
	event_config_free(cfg);
	if ((http = evhttp_new(fake_base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_max_body_size(http, FAKE_MAX_BODY);
	evhttp_set_max_headers_size(http, 1024 * 1024);
	evhttp_set_timeout(http, 300);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(http, "application/json");
	evhttp_set_gencb(http, fake_request, NULL);
	if ((bound = evhttp_bind_socket_with_handle(http, host, port)) == NULL)
		fatalx("cannot listen on %s", listen);
	port = fake_bound_port(bound);
	fake_backlog(bound);

	if (port_file != NULL)
		fake_write_port_file(port_file, port);
	if (strchr(host, ':') != NULL)
		printf("listening [%s]:%d\n", host, port);
	else
		printf("listening %s:%d\n", host, port);
	fflush(stdout);
	log_debug("listening on %s port %d (%s)", host, port,
	    event_base_get_method(fake_base));

	sigterm = evsignal_new(fake_base, SIGTERM, fake_signal, NULL);
	sigint = evsignal_new(fake_base, SIGINT, fake_signal, NULL);
	if (sigterm == NULL || sigint == NULL)
		fatalx("evsignal_new failed");
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	event_base_dispatch(fake_base);

	/* Freeing the server closes every connection and its exchange. */
	fake_stopping = 1;
	evhttp_free(http);
	if ((left = exchange_count()) != 0)
		log_warnx("%s: %d requests left behind", __func__, left);
	event_free(sigterm);
	event_free(sigint);
	record_reset();
	event_base_free(fake_base);
	libevent_global_shutdown();
	free(host);
	return 0;
}
