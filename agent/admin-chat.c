/*
 * model.chat, the playground: a chat completion run through the very
 * pipeline a client's request takes (routing, the model's defaults,
 * guardrails, the backend, tracing and receipt), its answer streamed back
 * to the admin connection as model.chat.delta notifications and a result.
 * Runs on the admin loop: the request goes to a worker over a socketpair
 * (workers_adopt) as an internal connection of the domain, and the reply
 * is read here without blocking. Memory is bounded: a peer that does not
 * read its notifications stops the reading, which stops the backend.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "money.h"
#include "receipt.h"
#include "rpc.h"
#include "sse.h"
#include "xmalloc.h"

#define CHAT_MAX_HEAD		(16 * 1024)
#define CHAT_MAX_BODY		(8 * 1024 * 1024)	/* a whole answer */
#define CHAT_MAX_EVENT		(4 * 1024 * 1024)
#define CHAT_MAX_MESSAGES	1000
#define CHAT_OUT_HIGH		(1024 * 1024)	/* pause the reply above */

struct admin_chat {
	struct agent		*agent;
	struct admin_session	*session;
	cJSON			*id;		/* the call's, to answer with */
	struct bufferevent	*bev;		/* our end of the socketpair */
	struct event		*done_ev;	/* finishes on a fresh pass */
	char			 domain_id[37];
	char			*key;
	int			 stream;
	int			 head_done;
	int			 status;	/* the HTTP status */
	char			 request_id[HTTP_REQUEST_ID_HEX + 1];
	char			*receipt;
	struct sse		*sse;
	char			*body;		/* a non-streamed answer */
	size_t			 body_len;
	char			*content;	/* a non-streamed answer's text */
	char			 finish_reason[32];
	cJSON			*usage;
	cJSON			*error;		/* {type, code, message} */
	const char		*failed;	/* why no answer came whole */
	int			 paused;
	int			 finished;
	int			 done_seen;	/* the stream's [DONE] came */
};

static void	admin_chat_finish(struct admin_chat *, const char *);

void
admin_chat_free(struct admin_chat *chat)
{
	if (chat == NULL)
		return;
	/* Closing our end is the hang-up that cancels the request. */
	if (chat->bev != NULL)
		bufferevent_free(chat->bev);
	if (chat->done_ev != NULL)
		event_free(chat->done_ev);
	cJSON_Delete(chat->id);
	cJSON_Delete(chat->usage);
	cJSON_Delete(chat->error);
	sse_free(chat->sse);
	if (chat->body != NULL)
		explicit_bzero(chat->body, chat->body_len);
	free(chat->body);
	if (chat->content != NULL)
		explicit_bzero(chat->content, strlen(chat->content));
	free(chat->content);
	free(chat->receipt);
	free(chat->key);
	free(chat);
}

/* Write a line to the admin peer; wiped after, as it holds an answer. */
static void
admin_chat_send(struct admin_chat *chat, cJSON *o)
{
	char	*s;
	size_t	 len;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	len = strlen(s);
	bufferevent_write(chat->session->bev, s, len);
	bufferevent_write(chat->session->bev, "\n", 1);
	explicit_bzero(s, len);
	cJSON_free(s);
}

/* A model.chat.delta notification with a piece of the answer. */
static void
admin_chat_delta(struct admin_chat *chat, const char *content)
{
	cJSON	*n, *params;

	n = admin_json_object();
	admin_json_add(n, "jsonrpc", admin_json_string("2.0"));
	admin_json_add(n, "method", admin_json_string("model.chat.delta"));
	params = admin_json_object();
	admin_json_add(params, "id", chat->id != NULL ?
	    cJSON_Duplicate(chat->id, 1) : cJSON_CreateNull());
	admin_json_add(params, "content", admin_json_string(content));
	admin_json_add(n, "params", params);
	admin_chat_send(chat, n);
	cJSON_Delete(n);
}

/* An answer's error member, as the API says it: {type, code, message}. */
static void
admin_chat_error(struct admin_chat *chat, const cJSON *error)
{
	const cJSON	*f;
	cJSON		*e;

	if (chat->error != NULL || !cJSON_IsObject(error))
		return;
	e = admin_json_object();
	f = cJSON_GetObjectItemCaseSensitive(error, "type");
	admin_json_add(e, "type", admin_json_string(cJSON_IsString(f) ?
	    f->valuestring : "error"));
	f = cJSON_GetObjectItemCaseSensitive(error, "code");
	admin_json_add(e, "code", cJSON_IsString(f) ?
	    admin_json_string(f->valuestring) : cJSON_CreateNull());
	f = cJSON_GetObjectItemCaseSensitive(error, "message");
	admin_json_add(e, "message", admin_json_string(cJSON_IsString(f) ?
	    f->valuestring : "the request failed"));
	chat->error = e;
}

/* What one chunk or answer says: text (out), finish reason, usage, error. */
static void
admin_chat_chunk(struct admin_chat *chat, const cJSON *o, const char *part,
    const char **text)
{
	const cJSON	*choices, *c0, *msg, *f;

	*text = NULL;
	if (!cJSON_IsObject(o))
		return;
	admin_chat_error(chat, cJSON_GetObjectItemCaseSensitive(o, "error"));
	f = cJSON_GetObjectItemCaseSensitive(o, "usage");
	if (cJSON_IsObject(f)) {
		cJSON_Delete(chat->usage);
		chat->usage = cJSON_Duplicate(f, 1);
	}
	choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
	if (!cJSON_IsArray(choices) || (c0 = cJSON_GetArrayItem(choices, 0)) ==
	    NULL || !cJSON_IsObject(c0))
		return;
	f = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
	if (cJSON_IsString(f))
		snprintf(chat->finish_reason, sizeof(chat->finish_reason), "%s",
		    f->valuestring);
	msg = cJSON_GetObjectItemCaseSensitive(c0, part);
	f = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (cJSON_IsString(f) && f->valuestring[0] != '\0')
		*text = f->valuestring;
}

/* One SSE event of the answer: its text goes out as a delta. */
static int
admin_chat_event(void *arg, const char *event, size_t len)
{
	struct admin_chat	*chat = arg;
	const char		*text;
	char			*data;
	ssize_t			 n;
	cJSON			*o;

	if (len > strlen(RECEIPT_SSE_PREFIX) && memcmp(event,
	    RECEIPT_SSE_PREFIX, strlen(RECEIPT_SSE_PREFIX)) == 0) {
		free(chat->receipt);
		chat->receipt = xstrndup(event + strlen(RECEIPT_SSE_PREFIX),
		    strcspn(event + strlen(RECEIPT_SSE_PREFIX), "\r\n"));
		return 0;
	}
	if (sse_event_is_done(event, len)) {
		chat->done_seen = 1;
		return 0;
	}
	data = xmalloc(len + 1);
	if ((n = sse_event_data(event, len, data, len + 1)) <= 0) {
		free(data);
		return 0;
	}
	o = cJSON_ParseWithLength(data, (size_t)n);
	explicit_bzero(data, (size_t)n);
	free(data);
	if (o == NULL)
		return 0;
	admin_chat_chunk(chat, o, "delta", &text);
	if (text != NULL)
		admin_chat_delta(chat, text);
	cJSON_Delete(o);
	return 0;
}

/* The reply's head: its status, request id and framing. 1: whole. */
static int
admin_chat_head(struct admin_chat *chat, struct evbuffer *in)
{
	struct evbuffer_ptr	 end;
	const char		*p, *line, *next, *v;
	char			*head;
	size_t			 len, n;

	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos == -1) {
		if (evbuffer_get_length(in) > CHAT_MAX_HEAD)
			chat->failed = "the reply's head is too large";
		return 0;
	}
	len = (size_t)end.pos + 4;
	head = xmalloc(len + 1);
	evbuffer_remove(in, head, len);
	head[len] = '\0';
	if (strncmp(head, "HTTP/1.", 7) != 0 || len < 12) {
		chat->failed = "the reply is not HTTP";
		free(head);
		return 0;
	}
	chat->status = atoi(head + 9);
	chat->stream = 0;
	for (line = strstr(head, "\r\n") + 2; *line != '\0' && *line != '\r';
	    line = next + 2) {
		if ((next = strstr(line, "\r\n")) == NULL)
			break;		/* a NUL in the head: the rest unread */
		n = (size_t)(next - line);
		if ((p = memchr(line, ':', n)) == NULL)
			continue;
		v = p + 1;
		while (*v == ' ')
			v++;
		if ((size_t)(p - line) == 12 && strncasecmp(line,
		    "x-request-id", 12) == 0)
			snprintf(chat->request_id, sizeof(chat->request_id),
			    "%.*s", (int)(next - v), v);
		else if ((size_t)(p - line) == 12 && strncasecmp(line,
		    "content-type", 12) == 0)
			chat->stream = (size_t)(next - v) >= 17 &&
			    strncasecmp(v, "text/event-stream", 17) == 0;
		else if ((size_t)(p - line) == strlen(RECEIPT_HEADER) &&
		    strncasecmp(line, RECEIPT_HEADER, p - line) == 0) {
			free(chat->receipt);
			chat->receipt = xstrndup(v, (size_t)(next - v));
		}
	}
	free(head);
	chat->head_done = 1;
	if (chat->stream)
		chat->sse = sse_new(CHAT_MAX_EVENT);
	return 1;
}

/* Stop reading the reply while the admin peer is behind. */
static void
admin_chat_backpressure(struct admin_chat *chat)
{
	if (evbuffer_get_length(bufferevent_get_output(chat->session->bev)) >
	    CHAT_OUT_HIGH && !chat->paused) {
		chat->paused = 1;
		bufferevent_disable(chat->bev, EV_READ);
	}
}

void
admin_chat_resume(struct admin_chat *chat)
{
	if (chat == NULL || !chat->paused || chat->finished)
		return;
	chat->paused = 0;
	bufferevent_enable(chat->bev, EV_READ);
}

static void
admin_chat_read(struct bufferevent *bev, void *arg)
{
	struct admin_chat	*chat = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len;

	if (chat->finished)
		return;
	if (!chat->head_done && !admin_chat_head(chat, in)) {
		if (chat->failed != NULL)
			admin_chat_finish(chat, chat->failed);
		return;
	}
	len = evbuffer_get_length(in);
	if (len == 0)
		return;
	if (chat->sse != NULL) {
		if (sse_feed(chat->sse, (const char *)evbuffer_pullup(in, len),
		    len, admin_chat_event, chat) == -1) {
			evbuffer_drain(in, len);
			admin_chat_finish(chat, "an event of the answer is too"
			    " large");
			return;
		}
		evbuffer_drain(in, len);
		admin_chat_backpressure(chat);
		return;
	}
	if (chat->body_len + len > CHAT_MAX_BODY) {
		admin_chat_finish(chat, "the answer is too large");
		return;
	}
	chat->body = xreallocarray(chat->body, 1, chat->body_len + len + 1);
	evbuffer_remove(in, chat->body + chat->body_len, len);
	chat->body_len += len;
	chat->body[chat->body_len] = '\0';
}

static void
admin_chat_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin_chat	*chat = arg;
	const char		*text;
	cJSON			*o;

	(void)bev;
	if (chat->finished || !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (!chat->head_done || (what & BEV_EVENT_ERROR)) {
		admin_chat_finish(chat, "the request ended without an answer");
		return;
	}
	if (chat->sse != NULL) {
		sse_finish(chat->sse, admin_chat_event, chat);
		/* Never a cut answer passed off as whole. */
		admin_chat_finish(chat, chat->done_seen || chat->error != NULL ?
		    NULL : "the answer stopped before its end (the agent cut"
		    " the stream: a reader too slow, or shutting down)");
		return;
	}
	/* A whole answer, or an error, in one JSON body. */
	if ((o = cJSON_ParseWithLength(chat->body != NULL ? chat->body : "",
	    chat->body_len)) == NULL) {
		admin_chat_finish(chat, "the answer is not JSON");
		return;
	}
	admin_chat_chunk(chat, o, "message", &text);
	if (text != NULL)
		chat->content = xstrdup(text);
	cJSON_Delete(o);
	admin_chat_finish(chat, NULL);
}

/* The cost of the usage at the model's prices in the current snapshot. */
static cJSON *
admin_chat_cost(struct admin_chat *chat)
{
	const struct reg_domain	*d;
	const struct reg_model	*m;
	struct registry		*reg;
	const cJSON		*f, *details;
	int64_t			 tokens[3] = { 0, 0, 0 }, prices[3];
	cJSON			*cost = NULL;

	if (chat->usage == NULL || (reg = registry_acquire()) == NULL)
		return cJSON_CreateNull();
	if ((d = registry_find_domain(reg, chat->domain_id,
	    strlen(chat->domain_id))) != NULL && (m = registry_find_model(d,
	    chat->key, strlen(chat->key))) != NULL) {
		f = cJSON_GetObjectItemCaseSensitive(chat->usage,
		    "prompt_tokens");
		if (cJSON_IsNumber(f))
			tokens[0] = (int64_t)f->valuedouble;
		details = cJSON_GetObjectItemCaseSensitive(chat->usage,
		    "prompt_tokens_details");
		f = cJSON_GetObjectItemCaseSensitive(details, "cached_tokens");
		if (cJSON_IsNumber(f) && f->valuedouble <= tokens[0]) {
			tokens[1] = (int64_t)f->valuedouble;
			tokens[0] -= tokens[1];
		}
		f = cJSON_GetObjectItemCaseSensitive(chat->usage,
		    "completion_tokens");
		if (cJSON_IsNumber(f))
			tokens[2] = (int64_t)f->valuedouble;
		prices[0] = m->price_input;
		prices[1] = m->price_cached;
		prices[2] = m->price_output;
		cost = admin_json_money(money_tokens_cost(tokens, prices, 3));
	}
	registry_release(reg);
	return cost != NULL ? cost : cJSON_CreateNull();
}

/* The call's result: {request_id, status, finish_reason, usage, ...}. */
static cJSON *
admin_chat_result(struct admin_chat *chat, const char *failed)
{
	cJSON	*r = admin_json_object(), *e;

	admin_json_add(r, "request_id", chat->request_id[0] != '\0' ?
	    admin_json_string(chat->request_id) : cJSON_CreateNull());
	admin_json_add(r, "status", admin_json_number(chat->status));
	admin_json_add(r, "finish_reason", chat->finish_reason[0] != '\0' ?
	    admin_json_string(chat->finish_reason) : cJSON_CreateNull());
	admin_json_add(r, "usage", chat->usage != NULL ?
	    cJSON_Duplicate(chat->usage, 1) : cJSON_CreateNull());
	admin_json_add(r, "cost_usd", admin_chat_cost(chat));
	admin_json_add(r, "receipt", chat->receipt != NULL ?
	    admin_json_string(chat->receipt) : cJSON_CreateNull());
	if (!chat->stream && chat->content != NULL)
		admin_json_add(r, "content", admin_json_string(chat->content));
	if (chat->error != NULL) {
		admin_json_add(r, "error", chat->error);
		chat->error = NULL;
	} else if (failed != NULL) {
		e = admin_json_object();
		admin_json_add(e, "type", admin_json_string("playground_error"));
		admin_json_add(e, "code", cJSON_CreateNull());
		admin_json_add(e, "message", admin_json_string(failed));
		admin_json_add(r, "error", e);
	} else if (chat->status >= 400) {
		e = admin_json_object();
		admin_json_add(e, "type", admin_json_string("error"));
		admin_json_add(e, "code", cJSON_CreateNull());
		admin_json_add(e, "message", admin_json_string("the request"
		    " failed"));
		admin_json_add(r, "error", e);
	}
	return r;
}

/*
 * Answer the call and close our end (before [DONE] was read, that cancels
 * what is left); the chat itself is freed on a fresh loop pass.
 */
static void
admin_chat_finish(struct admin_chat *chat, const char *failed)
{
	cJSON	*line;

	if (chat->finished)
		return;
	chat->finished = 1;
	if (failed != NULL)
		log_info("admin: playground %s: %s", chat->key, failed);
	line = admin_json_object();
	admin_json_add(line, "jsonrpc", admin_json_string("2.0"));
	admin_json_add(line, "id", chat->id != NULL ?
	    cJSON_Duplicate(chat->id, 1) : cJSON_CreateNull());
	admin_json_add(line, "result", admin_chat_result(chat, failed));
	admin_chat_send(chat, line);
	cJSON_Delete(line);
	bufferevent_disable(chat->bev, EV_READ | EV_WRITE);
	event_active(chat->done_ev, EV_TIMEOUT, 0);
}

/* On a fresh pass: give the connection back to its next requests. */
static void
admin_chat_done(evutil_socket_t fd, short what, void *arg)
{
	struct admin_chat	*chat = arg;
	struct admin_session	*s = chat->session;

	(void)fd;
	(void)what;
	s->chat = NULL;
	admin_chat_free(chat);
	if (s->chat_done != NULL)
		s->chat_done(s->chat_arg);
}

/*
 * The audit log says who asked which model, never what: the prompt stays
 * out of it, as out of every log but a domain's own traces.
 */
static int
admin_chat_audit(struct agent *agent, const struct admin_peer *peer,
    const struct store_domain *d, const char *key, char *err, size_t errlen)
{
	char	*target;
	int	 rc;

	xasprintf(&target, "model/%s", key);
	rc = admin_audit_event(agent, peer, "model.chat", d->id, d->name,
	    target, NULL, err, errlen);
	free(target);
	return rc;
}

/* The request the playground sends, as a client would write it. */
static char *
admin_chat_request(const char *key, const cJSON *messages, int stream,
    int64_t max_tokens, int has_max, double temperature, int has_temp,
    size_t *lenp)
{
	cJSON	*body, *opts;
	char	*json, *req;
	size_t	 jlen;
	int	 n;

	body = admin_json_object();
	admin_json_add(body, "model", admin_json_string(key));
	admin_json_add(body, "messages", cJSON_Duplicate(messages, 1));
	admin_json_add(body, "stream", admin_json_bool(stream));
	if (stream) {
		opts = admin_json_object();
		admin_json_add(opts, "include_usage", admin_json_bool(1));
		admin_json_add(body, "stream_options", opts);
	}
	if (has_max)
		admin_json_add(body, "max_tokens", admin_json_number((double)
		    max_tokens));
	if (has_temp)
		admin_json_add(body, "temperature",
		    admin_json_number(temperature));
	if ((json = cJSON_PrintUnformatted(body)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(body);
	jlen = strlen(json);
	req = xmalloc(jlen + 256);
	n = snprintf(req, 256, "POST /v1/chat/completions HTTP/1.0\r\n"
	    "Host: playground\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", jlen);
	memcpy(req + n, json, jlen);
	*lenp = (size_t)n + jlen;
	explicit_bzero(json, jlen);
	cJSON_free(json);
	return req;
}

int
admin_model_chat(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { "domain", "key", "messages",
	    "stream", "max_tokens", "temperature", NULL };
	struct admin_session	*s = reply->session;
	struct store_domain	 d;
	struct admin_chat	*chat;
	const cJSON		*messages, *m;
	const char		*key;
	char			*req, err[256];
	size_t			 len;
	int64_t			 max_tokens = 0;
	double			 temperature = 0;
	int			 stream = 1, has_max, has_temp, sv[2], i = 0, rc;

	memset(&d, 0, sizeof(d));
	if (s == NULL || s->bev == NULL)
		return admin_reply_error(reply, RPC_INVALID_REQUEST,
		    "model.chat needs a connection to stream to");
	if (reply->id == NULL || cJSON_IsNull(reply->id))
		return admin_reply_error(reply, RPC_INVALID_REQUEST,
		    "model.chat needs an id to answer with");
	if (s->chat != NULL)
		return admin_reply_error(reply, RPC_CONFLICT,
		    "a model.chat is already running on this connection");
	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_param_string(params, "key", ADMIN_PARAM_REQUIRED, 1, 128,
	    admin_valid_model_key, "not a model key", &key, reply) == -1 ||
	    admin_param_bool(params, "stream", 0, &stream, reply) == -1 ||
	    (has_max = admin_param_int(params, "max_tokens", 0, 1, 1000000,
	    &max_tokens, reply)) == -1 ||
	    (has_temp = admin_param_number(params, "temperature", 0, 0, 2,
	    &temperature, reply)) == -1)
		return -1;
	messages = cJSON_GetObjectItemCaseSensitive(params, "messages");
	if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) < 1 ||
	    cJSON_GetArraySize(messages) > CHAT_MAX_MESSAGES)
		return admin_reply_error(reply, RPC_INVALID_PARAMS, "messages:"
		    " expected an array of 1 to %d messages",
		    CHAT_MAX_MESSAGES);
	cJSON_ArrayForEach(m, messages) {
		if (!cJSON_IsObject(m))
			return admin_reply_error(reply, RPC_INVALID_PARAMS,
			    "messages[%d]: expected an object {role,"
			    " content}", i);
		i++;
	}
	if (admin_param_domain(agent, params, &d, reply) == -1) {
		store_domain_clear(&d);
		return -1;
	}
	if ((rc = admin_chat_audit(agent, reply->peer, &d, key, err,
	    sizeof(err))) != 0) {
		store_domain_clear(&d);
		return admin_reply_store(reply, rc, err);
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		store_domain_clear(&d);
		return admin_reply_error(reply, RPC_FAILED, "socketpair: %s",
		    strerror(errno));
	}
	if (workers_adopt(sv[1], d.id, err, sizeof(err)) == -1) {
		close(sv[0]);
		close(sv[1]);
		store_domain_clear(&d);
		return admin_reply_error(reply, RPC_FAILED, "%s", err);
	}
	chat = xcalloc(1, sizeof(*chat));
	chat->agent = agent;
	chat->session = s;
	chat->id = cJSON_Duplicate(reply->id, 1);
	memcpy(chat->domain_id, d.id, sizeof(chat->domain_id));
	chat->key = xstrdup(key);
	chat->stream = stream;
	chat->bev = bufferevent_socket_new(agent->base, sv[0],
	    BEV_OPT_CLOSE_ON_FREE);
	chat->done_ev = event_new(agent->base, -1, 0, admin_chat_done, chat);
	if (chat->bev == NULL || chat->done_ev == NULL)
		fatalx("%s: out of memory", __func__);
	bufferevent_setcb(chat->bev, admin_chat_read, NULL,
	    admin_chat_event_cb, chat);
	req = admin_chat_request(key, messages, stream, max_tokens,
	    has_max == ADMIN_PARAM_SET, temperature,
	    has_temp == ADMIN_PARAM_SET, &len);
	bufferevent_write(chat->bev, req, len);
	explicit_bzero(req, len);
	free(req);
	bufferevent_enable(chat->bev, EV_READ | EV_WRITE);
	s->chat = chat;
	log_info("admin: playground: %s asks model %s of domain %s",
	    reply->peer != NULL ? reply->peer->user : "the agent's user", key,
	    d.name);
	store_domain_clear(&d);
	reply->deferred = 1;
	return 0;
}
