/*
 * rpc-client.c against a temporary unix socket served by a thread: ids
 * matched, errors mapped, stale replies skipped, notifications handed to
 * a callback, oversize lines and silence refused.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fixture.h"
#include "rpc.h"
#include "transport.h"

struct server {
	char		 dir[FIXTURE_DIR_MAX];
	char		 path[96];
	int		 listen_fd;
	pthread_t	 thread;
	/* Answers one request: fd, its id, its method. */
	void		(*respond)(struct server *, int, double, const char *);
	int		 nrequests;
	char		 last[4096];	/* the last request line */
	double		 ids[16];
};

static void
send_all(int fd, const char *s, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, s, len, MSG_NOSIGNAL)) <= 0)
			return;	/* the client went away; fine */
		s += n;
		len -= n;
	}
}

static void
send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

static void	send_fmt(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
send_fmt(int fd, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	/* The server thread: no cmocka asserts here. */
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	send_str(fd, s);
	free(s);
}

/* Accept one client; answer each request line with s->respond. */
static void *
server_main(void *arg)
{
	struct server	*s = arg;
	char		 buf[65536], *nl, *line;
	size_t		 len = 0, len_line;
	ssize_t		 n;
	cJSON		*req, *id, *method;
	int		 fd;

	if ((fd = accept(s->listen_fd, NULL, NULL)) == -1)
		return NULL;
	for (;;) {
		while ((nl = memchr(buf, '\n', len)) == NULL) {
			if (len == sizeof(buf) ||
			    (n = read(fd, buf + len, sizeof(buf) - len)) <= 0)
				goto done;
			len += n;
		}
		*nl = '\0';
		line = buf;
		len_line = strnlen(line, sizeof(s->last) - 1);
		memcpy(s->last, line, len_line);
		s->last[len_line] = '\0';
		req = cJSON_Parse(line);
		id = cJSON_GetObjectItem(req, "id");
		method = cJSON_GetObjectItem(req, "method");
		if (s->nrequests < 16)
			s->ids[s->nrequests] = cJSON_IsNumber(id) ?
			    id->valuedouble : -1;
		s->nrequests++;
		if (s->respond == NULL) {
			cJSON_Delete(req);
			break;
		}
		s->respond(s, fd, cJSON_IsNumber(id) ? id->valuedouble : -1,
		    cJSON_IsString(method) ? method->valuestring : "");
		cJSON_Delete(req);
		len -= (nl + 1) - buf;
		memmove(buf, nl + 1, len);
	}
done:
	close(fd);
	return NULL;
}

static int
setup(void **state)
{
	struct server		*s;
	struct sockaddr_un	 sun;

	s = calloc(1, sizeof(*s));
	assert_non_null(s);
	fixture_dir_make(s->dir, sizeof(s->dir), "rpc");
	snprintf(s->path, sizeof(s->path), "%s/agent.sock", s->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_not_equal(s->listen_fd, -1);
	assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sun,
	    sizeof(sun)), 0);
	assert_int_equal(listen(s->listen_fd, 4), 0);
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	struct server	*s = *state;

	close(s->listen_fd);
	fixture_dir_remove(s->dir);
	free(s);
	return 0;
}

/* Start the server with respond, connect a client with timeout_ms. */
static struct rpc_client *
start(struct server *s, void (*respond)(struct server *, int, double,
    const char *), int timeout_ms)
{
	struct transport_address	 addr = { .path = s->path };
	struct transport		*t;
	char				 err[256];

	s->respond = respond;
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	t = transport_new("unix");
	assert_non_null(t);
	assert_int_equal(transport_connect(t, &addr, err, sizeof(err)), 0);
	return rpc_client_new(t, timeout_ms);
}

static void
stop(struct server *s, struct rpc_client *rc)
{
	rpc_client_free(rc);	/* the server sees EOF and returns */
	pthread_join(s->thread, NULL);
}

static enum rpc_client_status
call(struct rpc_client *rc, const char *method, cJSON **result, int *code,
    char *err, size_t errlen)
{
	cJSON	*params = cJSON_CreateObject();

	cJSON_AddStringToObject(params, "domain", "acme");
	return rpc_client_call(rc, method, params, result, code, err, errlen);
}

static void
respond_echo(struct server *s, int fd, double id, const char *method)
{
	(void)s;
	send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,\"result\":"
	    "{\"method\":\"%s\",\"n\":%.0f}}\n", id, method, id);
}

static void
test_call_ok(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result, *req;
	char			 err[256];
	int			 code;

	rc = start(s, respond_echo, 5000);
	assert_int_equal(call(rc, "model.list", &result, &code, err,
	    sizeof(err)), RPC_CLIENT_OK);
	assert_string_equal(cJSON_GetObjectItem(result, "method")->valuestring,
	    "model.list");
	cJSON_Delete(result);

	/* The request on the wire. */
	req = cJSON_Parse(s->last);
	assert_non_null(req);
	assert_string_equal(cJSON_GetObjectItem(req, "jsonrpc")->valuestring,
	    "2.0");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(req,
	    "params"), "domain")->valuestring, "acme");
	cJSON_Delete(req);

	/* Ids go up; no params is allowed. */
	assert_int_equal(rpc_client_call(rc, "status", NULL, &result, &code,
	    err, sizeof(err)), RPC_CLIENT_OK);
	assert_int_equal(cJSON_GetObjectItem(result, "n")->valueint, 2);
	cJSON_Delete(result);
	assert_null(strstr(s->last, "params"));
	assert_true(s->ids[0] == 1 && s->ids[1] == 2);
	stop(s, rc);
}

/* A subscription: the reply, then notifications, one before the next reply. */
static void
respond_subscribe(struct server *s, int fd, double id, const char *method)
{
	(void)s;
	if (strcmp(method, "logs.tail") == 0) {
		send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,\"result\":"
		    "{\"subscribed\":true}}\n", id);
		send_str(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"logs.trace\","
		    "\"params\":{\"id\":1}}\n"
		    "{\"jsonrpc\":\"2.0\",\"method\":\"logs.trace\","
		    "\"params\":{\"id\":2}}\n");
		return;
	}
	/* This one arrives while the call waits for its reply. */
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"logs.trace\","
	    "\"params\":{\"id\":3}}\n");
	send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,\"result\":{}}\n", id);
}

struct notes {
	int	ids[8];
	int	n;
};

static void
note(const char *method, const cJSON *params, void *arg)
{
	struct notes	*notes = arg;

	if (strcmp(method, "logs.trace") == 0 && notes->n < 8)
		notes->ids[notes->n++] =
		    cJSON_GetObjectItem(params, "id")->valueint;
}

static void
test_notifications(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	struct notes		 notes = { .n = 0 };
	cJSON			*result;
	char			 err[256];
	int			 code;

	rc = start(s, respond_subscribe, 5000);
	rpc_client_set_notify(rc, note, &notes);
	assert_int_equal(rpc_client_call(rc, "logs.tail", NULL, &result,
	    &code, err, sizeof(err)), RPC_CLIENT_OK);
	cJSON_Delete(result);
	/* Both notifications, whether they came with the reply or after. */
	while (notes.n < 2)
		assert_int_equal(rpc_client_poll(rc, 200, err, sizeof(err)),
		    RPC_CLIENT_OK);
	assert_int_equal(notes.ids[0], 1);
	assert_int_equal(notes.ids[1], 2);
	/* Nothing more: the poll times out quietly. */
	assert_int_equal(rpc_client_poll(rc, 50, err, sizeof(err)),
	    RPC_CLIENT_OK);
	assert_int_equal(notes.n, 2);
	/* One that arrives during a call is handed over, not lost. */
	assert_int_equal(rpc_client_call(rc, "status", NULL, &result, &code,
	    err, sizeof(err)), RPC_CLIENT_OK);
	cJSON_Delete(result);
	assert_int_equal(notes.n, 3);
	assert_int_equal(notes.ids[2], 3);
	stop(s, rc);
}

static void
respond_errors(struct server *s, int fd, double id, const char *method)
{
	static const struct {
		const char	*method;
		int		 code;
	} errors[] = {
		{ "nf", RPC_NOT_FOUND },
		{ "denied", RPC_DENIED },
		{ "params", RPC_INVALID_PARAMS },
		{ "conflict", RPC_CONFLICT },
		{ "weird", -1234 },
	};
	size_t	i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		if (strcmp(errors[i].method, method) == 0) {
			send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,"
			    "\"error\":{\"code\":%d,\"message\":\"it is %s\","
			    "\"data\":{\"name\":\"x\"}}}\n", id,
			    errors[i].code, method);
			return;
		}
	}
	respond_echo(s, fd, id, method);
}

static void
test_error_replies(void **state)
{
	static const struct {
		const char	*method;
		int		 code;
		int		 exit_status;
	} want[] = {
		{ "nf", RPC_NOT_FOUND, EXIT_NOT_FOUND },
		{ "denied", RPC_DENIED, EXIT_DENIED },
		{ "params", RPC_INVALID_PARAMS, EXIT_USAGE },
		{ "conflict", RPC_CONFLICT, EXIT_FAILED },
		{ "weird", -1234, EXIT_FAILED },
	};
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256], msg[64];
	int			 code;
	size_t			 i;

	rc = start(s, respond_errors, 5000);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(call(rc, want[i].method, &result, &code, err,
		    sizeof(err)), RPC_CLIENT_REPLY_ERROR);
		assert_null(result);
		assert_int_equal(code, want[i].code);
		snprintf(msg, sizeof(msg), "it is %s", want[i].method);
		assert_string_equal(err, msg);
		assert_int_equal(rpc_client_exit_status(RPC_CLIENT_REPLY_ERROR,
		    code), want[i].exit_status);
	}
	/* An error reply leaves the client usable. */
	assert_int_equal(call(rc, "ok", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_OK);
	cJSON_Delete(result);
	stop(s, rc);
}

/* Noise before the reply: a notification, a stale id, blank lines. */
static void
respond_noisy(struct server *s, int fd, double id, const char *method)
{
	(void)s;
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"logs.event\","
	    "\"params\":{\"id\":1}}\n");
	send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,\"result\":\"stale\"}\n",
	    id + 100);
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":\"str\"}\n");
	send_str(fd, "\n  \r\n");
	/* The real reply, in pieces. */
	send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,", id);
	usleep(20000);
	send_fmt(fd, "\"result\":\"%s\"}\r", method);
	usleep(20000);
	send_str(fd, "\n");
}

static void
test_skips_noise(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256];
	int			 code, i;

	rc = start(s, respond_noisy, 5000);
	for (i = 0; i < 3; i++) {
		assert_int_equal(call(rc, "domain.list", &result, &code, err,
		    sizeof(err)), RPC_CLIENT_OK);
		assert_true(cJSON_IsString(result));
		assert_string_equal(result->valuestring, "domain.list");
		cJSON_Delete(result);
	}
	stop(s, rc);
}

/* An agent that could not read the request answers with id null. */
static void
respond_null_id(struct server *s, int fd, double id, const char *method)
{
	(void)s;
	(void)id;
	(void)method;
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
	    "{\"code\":-32700,\"message\":\"parse error\"}}\n");
}

static void
test_null_id_error(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256];
	int			 code;

	rc = start(s, respond_null_id, 5000);
	assert_int_equal(call(rc, "x", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_REPLY_ERROR);
	assert_int_equal(code, RPC_PARSE_ERROR);
	assert_string_equal(err, "parse error");
	stop(s, rc);
}

/*
 * The agent refuses a peer as it connects (a null-id error, then it hangs
 * up) before the request is written: the write fails, and the refusal is
 * what the call returns, not the broken pipe. The connection is done.
 */
static void
test_refused_before_request(void **state)
{
	struct server			*s = *state;
	struct transport_address	 addr = { .path = s->path };
	struct transport		*t;
	struct rpc_client		*rc;
	cJSON				*result;
	char				 err[256];
	int				 code, fd;

	t = transport_new("unix");
	assert_non_null(t);
	assert_int_equal(transport_connect(t, &addr, err, sizeof(err)), 0);
	rc = rpc_client_new(t, 5000);
	assert_int_not_equal(fd = accept(s->listen_fd, NULL, NULL), -1);
	send_str(fd, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":"
	    "-32002,\"message\":\"uid 1001 may not use this agent's admin"
	    " socket\"}}\n");
	close(fd);
	assert_int_equal(call(rc, "status", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_REPLY_ERROR);
	assert_null(result);
	assert_int_equal(code, RPC_DENIED);
	assert_string_equal(err,
	    "uid 1001 may not use this agent's admin socket");
	assert_int_equal(rpc_client_exit_status(RPC_CLIENT_REPLY_ERROR, code),
	    EXIT_DENIED);
	/* Nothing more on that connection: the write's own error. */
	assert_int_equal(call(rc, "status", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_TRANSPORT);
	assert_non_null(strstr(err, "roken pipe"));
	rpc_client_free(rc);
}

/* The agent hangs up without a word: the write's error, not a read's. */
static void
test_hung_up_before_request(void **state)
{
	struct server			*s = *state;
	struct transport_address	 addr = { .path = s->path };
	struct transport		*t;
	struct rpc_client		*rc;
	cJSON				*result;
	char				 err[256];
	int				 code, fd;

	t = transport_new("unix");
	assert_non_null(t);
	assert_int_equal(transport_connect(t, &addr, err, sizeof(err)), 0);
	rc = rpc_client_new(t, 5000);
	assert_int_not_equal(fd = accept(s->listen_fd, NULL, NULL), -1);
	close(fd);
	assert_int_equal(call(rc, "status", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_TRANSPORT);
	assert_non_null(strstr(err, "roken pipe"));
	rpc_client_free(rc);
}

/* More than RPC_MAX_FRAME bytes without a newline. */
static void
respond_oversize(struct server *s, int fd, double id, const char *method)
{
	char	*big;

	(void)s;
	(void)id;
	(void)method;
	big = malloc(RPC_MAX_FRAME + 16);
	memset(big, ' ', RPC_MAX_FRAME + 16);
	send_all(fd, big, RPC_MAX_FRAME + 16);
	free(big);
}

static void
test_oversize(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256];
	int			 code;

	rc = start(s, respond_oversize, 10000);
	assert_int_equal(call(rc, "x", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_PROTOCOL);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(rpc_client_exit_status(RPC_CLIENT_PROTOCOL, 0),
	    EXIT_FAILED);
	/* The stream is out of step: later calls fail the same way. */
	assert_int_equal(call(rc, "y", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_PROTOCOL);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(s->nrequests, 1);
	stop(s, rc);
}

/* A reply of exactly RPC_MAX_FRAME bytes (plus newline) is fine. */
static void
respond_max(struct server *s, int fd, double id, const char *method)
{
	char	*line, head[64];
	size_t	 n;

	(void)s;
	(void)method;
	n = snprintf(head, sizeof(head), "{\"jsonrpc\":\"2.0\",\"id\":%.0f,"
	    "\"result\":\"", id);
	line = malloc(RPC_MAX_FRAME + 1);
	memcpy(line, head, n);
	memset(line + n, 'x', RPC_MAX_FRAME - n - 2);
	memcpy(line + RPC_MAX_FRAME - 2, "\"}\n", 3);
	send_all(fd, line, RPC_MAX_FRAME + 1);
	free(line);
}

static void
test_max_frame(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256];
	int			 code;

	rc = start(s, respond_max, 10000);
	assert_int_equal(call(rc, "x", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_OK);
	assert_true(cJSON_IsString(result));
	assert_true(strlen(result->valuestring) > RPC_MAX_FRAME - 100);
	cJSON_Delete(result);
	stop(s, rc);
}

static void
respond_silent(struct server *s, int fd, double id, const char *method)
{
	(void)s;
	(void)fd;
	(void)id;
	(void)method;
}

static void
test_timeout(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	struct timespec		 t0, t1;
	cJSON			*result;
	char			 err[256];
	int			 code;
	long			 ms;

	rc = start(s, respond_silent, 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call(rc, "x", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 190 && ms < 3000);
	assert_non_null(strstr(err, "200 ms"));
	assert_int_equal(rpc_client_exit_status(RPC_CLIENT_TIMEOUT, 0),
	    EXIT_UNREACHABLE);
	stop(s, rc);
}

static void
test_eof(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256];
	int			 code;

	rc = start(s, NULL, 5000);	/* reads one request, hangs up */
	assert_int_equal(call(rc, "x", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_TRANSPORT);
	assert_non_null(strstr(err, "closed"));
	assert_int_equal(rpc_client_exit_status(RPC_CLIENT_TRANSPORT, 0),
	    EXIT_UNREACHABLE);
	stop(s, rc);
}

/* Replies that are not JSON-RPC, one per method name. */
static void
respond_garbage(struct server *s, int fd, double id, const char *method)
{
	(void)s;
	if (strcmp(method, "text") == 0)
		send_str(fd, "hello\n");
	else if (strcmp(method, "array") == 0)
		send_str(fd, "[1,2]\n");
	else if (strcmp(method, "version") == 0)
		send_fmt(fd, "{\"id\":%.0f,\"result\":1}\n", id);
	else if (strcmp(method, "empty") == 0)
		send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f}\n", id);
	else if (strcmp(method, "nul") == 0)
		send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,\"result\":"
		    "{\"name\":\"ev\\u0000il\"}}\n", id);
	else if (strcmp(method, "backslash") == 0)
		send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,\"result\":"
		    "{\"name\":\"ev\\\\u0000il\"}}\n", id);
	else
		send_fmt(fd, "{\"jsonrpc\":\"2.0\",\"id\":%.0f,\"error\":"
		    "{\"code\":\"x\"}}\n", id);
}

static void
test_garbage(void **state)
{
	static const char	*methods[] = { "text", "array", "version",
	    "empty", "badcode" };
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256];
	int			 code;
	size_t			 i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		rc = start(s, respond_garbage, 5000);
		assert_int_equal(call(rc, methods[i], &result, &code, err,
		    sizeof(err)), RPC_CLIENT_PROTOCOL);
		assert_null(result);
		stop(s, rc);
	}
}

/* A reply whose string cJSON would cut at a NUL is refused, whole. */
static void
test_nul(void **state)
{
	struct server		*s = *state;
	struct rpc_client	*rc;
	cJSON			*result;
	char			 err[256];
	int			 code;

	rc = start(s, respond_garbage, 5000);
	assert_int_equal(call(rc, "nul", &result, &code, err, sizeof(err)),
	    RPC_CLIENT_PROTOCOL);
	assert_null(result);
	assert_non_null(strstr(err, "NUL"));
	stop(s, rc);

	/* An escaped backslash before "u0000" is ordinary text. */
	rc = start(s, respond_garbage, 5000);
	assert_int_equal(call(rc, "backslash", &result, &code, err,
	    sizeof(err)), RPC_CLIENT_OK);
	assert_string_equal(cJSON_GetObjectItem(result, "name")->valuestring,
	    "ev\\u0000il");
	cJSON_Delete(result);
	stop(s, rc);
}

static void
test_exit_statuses(void **state)
{
	(void)state;
	assert_int_equal(rpc_client_exit_status(RPC_CLIENT_OK, 0), EXIT_OK);
	assert_int_equal(rpc_client_exit_status(RPC_CLIENT_REPLY_ERROR,
	    RPC_METHOD_NOT_FOUND), EXIT_FAILED);
	assert_int_equal(rpc_client_exit_status(RPC_CLIENT_REPLY_ERROR,
	    RPC_FAILED), EXIT_FAILED);
	rpc_client_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_call_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notifications, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_error_replies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_skips_noise, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_null_id_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_frame, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_before_request,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_up_before_request,
		    setup, teardown),
		cmocka_unit_test(test_exit_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
