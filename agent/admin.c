/*
 * The admin socket: JSON-RPC 2.0, one object per line, on a unix socket
 * served by the agent's main event loop. Peers are checked with
 * SO_PEERCRED; one method table dispatches; every successful write
 * rebuilds and publishes the registry before it replies. A method that
 * needs a backend probed waits for it on a thread (admin-probe.c), and
 * only its own connection waits with it.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define ADMIN_WRITE		0x1	/* changes the store: republish after */
#define ADMIN_AUDIT		0x2	/* an operator's change: in the audit log */
#define ADMIN_CHANGE		(ADMIN_WRITE | ADMIN_AUDIT)
#define ADMIN_OUT_HIGH		(16 * 1024 * 1024)	/* stop reading above */

static const struct admin_method {
	const char	*name;
	int		 flags;
	int		(*fn)(struct agent *, const cJSON *,
			    struct admin_reply *);
} admin_methods[] = {
	{ "status",		0,		admin_status },
	{ "domain.create",	ADMIN_CHANGE,	admin_domain_create },
	{ "domain.list",	0,		admin_domain_list },
	{ "domain.get",		0,		admin_domain_get },
	{ "domain.edit",	ADMIN_CHANGE,	admin_domain_edit },
	{ "domain.delete",	ADMIN_CHANGE,	admin_domain_delete },
	{ "provider.add",	ADMIN_CHANGE,	admin_provider_add },
	{ "provider.list",	0,		admin_provider_list },
	{ "provider.test",	ADMIN_WRITE,	admin_provider_test },
	{ "provider.models",	ADMIN_WRITE,	admin_provider_models },
	{ "provider.edit",	ADMIN_CHANGE,	admin_provider_edit },
	{ "provider.delete",	ADMIN_CHANGE,	admin_provider_delete },
	{ "model.deploy",	ADMIN_CHANGE,	admin_model_deploy },
	{ "model.list",		0,		admin_model_list },
	{ "model.show",		0,		admin_model_show },
	{ "model.edit",		ADMIN_CHANGE,	admin_model_edit },
	{ "model.enable",	ADMIN_CHANGE,	admin_model_enable },
	{ "model.disable",	ADMIN_CHANGE,	admin_model_disable },
	{ "model.delete",	ADMIN_CHANGE,	admin_model_delete },
	{ "model.chat",		0,		admin_model_chat },
	{ "token.create",	ADMIN_CHANGE,	admin_token_create },
	{ "token.list",		0,		admin_token_list },
	{ "token.revoke",	ADMIN_CHANGE,	admin_token_revoke },
	{ "guardrail.create",	ADMIN_CHANGE,	admin_guardrail_create },
	{ "guardrail.list",	0,		admin_guardrail_list },
	{ "guardrail.show",	0,		admin_guardrail_show },
	{ "guardrail.edit",	ADMIN_CHANGE,	admin_guardrail_edit },
	{ "guardrail.delete",	ADMIN_CHANGE,	admin_guardrail_delete },
	{ "guardrail.test",	0,		admin_guardrail_test },
	{ "audit.list",		0,		admin_audit_list },
	{ "logs.list",		0,		admin_logs_list },
	{ "logs.tail",		0,		admin_logs_tail },
	{ "logs.untail",	0,		admin_logs_untail },
	{ "usage.get",		0,		admin_usage_get },
	{ "stats.get",		0,		admin_stats_get },
	{ "stats.tail",		0,		admin_stats_tail },
	{ "stats.untail",	0,		admin_stats_untail },
	{ "attestation.get",	0,		admin_attestation_get },
	{ "backup.begin",	0,		admin_backup_begin },
	{ "backup.read",	0,		admin_backup_read },
	{ "backup.end",		0,		admin_backup_end },
};

struct admin_conn {
	struct admin		*admin;
	struct admin_peer	 peer;		/* who, for the audit log */
	struct bufferevent	*bev;
	int			 dead;		/* freed by the reaper */
	int			 closing;	/* close once output is out */
	int			 paused;	/* reading stopped: output full */
	int			 eof;		/* the peer sent its last */
	size_t			 scanned;	/* input known to hold no newline */
	struct admin_session	 session;	/* logs.tail, stats.tail */
	struct admin_wait	*wait;		/* a request waiting on a probe */
	TAILQ_ENTRY(admin_conn)	 entry;
};

/* A request waiting for its probe; it outlives its connection if need be. */
struct admin_wait {
	struct admin		*admin;
	struct admin_conn	*conn;		/* NULL: the peer is gone */
	struct admin_request	*rq;
	struct admin_probe	*probe;
	TAILQ_ENTRY(admin_wait)	 entry;
};

struct admin {
	struct agent		*agent;
	struct evconnlistener	*listener;
	struct event		*reaper;	/* frees dead connections */
	struct event		*resume;	/* re-enables accept after EMFILE */
	char			*path;
	dev_t			 dev;		/* the socket file we made */
	ino_t			 ino;
	gid_t			 gid;		/* its group: allowed peers */
	TAILQ_HEAD(, admin_conn) conns;
	TAILQ_HEAD(, admin_wait) waits;		/* probes out on threads */
};

int
admin_reply_error(struct admin_reply *reply, int code, const char *fmt, ...)
{
	va_list	ap;

	reply->code = code;
	va_start(ap, fmt);
	vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
admin_reply_store(struct admin_reply *reply, int rc, const char *err)
{
	switch (rc) {
	case STORE_NOT_FOUND:
		return admin_reply_error(reply, RPC_NOT_FOUND, "%s", err);
	case STORE_CONFLICT:
		return admin_reply_error(reply, RPC_CONFLICT, "%s", err);
	default:
		log_warnx("admin: database: %s", err);
		return admin_reply_error(reply, RPC_INTERNAL_ERROR,
		    "internal error (the agent's log has the details)");
	}
}

/*
 * Nesting depth of a JSON text, counted outside strings, stopping early
 * once past max: cJSON's own limit is 1000 and recursive.
 */
static int
admin_json_too_deep(const char *s, size_t len, int max)
{
	size_t	i;
	int	depth = 0, in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return 1;
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return 0;
}

static char *
admin_reply_line(cJSON *reply)
{
	char	*s, *line;
	size_t	 len;

	if ((s = cJSON_PrintUnformatted(reply)) == NULL)
		fatalx("%s: out of memory", __func__);
	len = strlen(s);
	line = xmalloc(len + 2);
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	cJSON_free(s);		/* through the hooks: wiped (scrub.c) */
	return line;
}

/* A reply object with jsonrpc and a copy of id (null when there is none). */
static cJSON *
admin_reply_new(const cJSON *id)
{
	cJSON	*reply;

	reply = admin_json_object();
	admin_json_add(reply, "jsonrpc", admin_json_string("2.0"));
	if (id != NULL)
		admin_json_add(reply, "id", cJSON_Duplicate(id, 1));
	else
		admin_json_add(reply, "id", cJSON_CreateNull());
	return reply;
}

static char *
admin_error_line(const cJSON *id, int code, const char *message)
{
	cJSON	*reply, *error, *data;
	char	*line;

	reply = admin_reply_new(id);
	error = admin_json_object();
	admin_json_add(error, "code", admin_json_number(code));
	admin_json_add(error, "message", admin_json_string(message));
	data = admin_json_object();
	admin_json_add(data, "name", admin_json_string(rpc_error_name(code)));
	admin_json_add(error, "data", data);
	admin_json_add(reply, "error", error);
	line = admin_reply_line(reply);
	cJSON_Delete(reply);
	return line;
}

static const struct admin_method *
admin_method_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(admin_methods) / sizeof(admin_methods[0]); i++)
		if (strcmp(admin_methods[i].name, name) == 0)
			return &admin_methods[i];
	return NULL;
}

/*
 * Run a method. An operator's change runs in one transaction with its
 * audit entry: both are stored, or neither. A method that stops to ask
 * for a probe has its transaction rolled back (it wrote nothing).
 */
static int
admin_call(struct agent *agent, const struct admin_peer *peer,
    const struct admin_method *m, const cJSON *params,
    struct admin_reply *reply)
{
	struct admin_audit	*au;
	const cJSON		*dry_run;
	char			 err[256];
	int			 rc;

	if (!(m->flags & ADMIN_AUDIT))
		return m->fn(agent, params, reply);
	if (store_begin(agent->store, err, sizeof(err)) != 0)
		return admin_reply_store(reply, STORE_ERROR, err);
	au = admin_audit_new(agent, m->name, params);
	rc = m->fn(agent, params, reply);
	dry_run = cJSON_GetObjectItemCaseSensitive(params, "dry_run");
	if (rc == 0 && !cJSON_IsTrue(dry_run) && (admin_audit_record(agent,
	    au, peer, reply->result, err, sizeof(err)) != 0 ||
	    store_commit(agent->store, err, sizeof(err)) != 0)) {
		cJSON_Delete(reply->result);
		reply->result = NULL;
		rc = admin_reply_store(reply, STORE_ERROR, err);
	}
	admin_audit_free(au);
	if (rc != 0 || cJSON_IsTrue(dry_run))
		store_rollback(agent->store);
	return rc;
}

/*
 * One request line, parsed: either a method to run with its params, or
 * (m NULL) the error to answer. probe is the outcome of the probe the
 * method asked for, once it ran.
 */
struct admin_request {
	cJSON				*req;
	const cJSON			*id;	/* NULL: none to echo */
	int				 notification;
	const struct admin_method	*m;
	const cJSON			*params;
	int				 code;	/* m NULL: the error */
	char				 message[256];
	struct admin_probe		*probe;
};

static void
admin_request_free(struct admin_request *rq)
{
	if (rq == NULL)
		return;
	admin_probe_free(rq->probe);
	cJSON_Delete(rq->req);
	free(rq);
}

/*
 * Parse a line. NULL with *out the error line when it is not a request
 * at all (not JSON, not an object, a bad id); else the request, whose
 * envelope errors are answered when it runs.
 */
static struct admin_request *
admin_request_parse(const char *line, size_t len, char **out)
{
	struct admin_request	*rq;
	const cJSON		*version, *method;
	const char		*end;
	char			 err[256];
	cJSON			*req;

	*out = NULL;
	if (admin_json_too_deep(line, len, RPC_MAX_DEPTH)) {
		snprintf(err, sizeof(err), "JSON nested deeper than %d levels",
		    RPC_MAX_DEPTH);
		*out = admin_error_line(NULL, RPC_PARSE_ERROR, err);
		return NULL;
	}
	req = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (req != NULL)
		for (; end < line + len; end++)
			if (*end != ' ' && *end != '\t' && *end != '\r') {
				cJSON_Delete(req);
				req = NULL;
				break;
			}
	if (req == NULL) {
		*out = admin_error_line(NULL, RPC_PARSE_ERROR,
		    "the line is not a JSON text");
		return NULL;
	}
	if (!cJSON_IsObject(req)) {
		*out = admin_error_line(NULL, RPC_INVALID_REQUEST,
		    cJSON_IsArray(req) ? "batches are not supported" :
		    "a request is a JSON object");
		cJSON_Delete(req);
		return NULL;
	}

	rq = xcalloc(1, sizeof(*rq));
	rq->req = req;
	rq->id = cJSON_GetObjectItemCaseSensitive(req, "id");
	rq->notification = rq->id == NULL;
	if (rq->id != NULL && !cJSON_IsString(rq->id) &&
	    !cJSON_IsNumber(rq->id) && !cJSON_IsNull(rq->id)) {
		*out = admin_error_line(NULL, RPC_INVALID_REQUEST,
		    "id must be a string, a number or null");
		admin_request_free(rq);
		return NULL;
	}
	version = cJSON_GetObjectItemCaseSensitive(req, "jsonrpc");
	method = cJSON_GetObjectItemCaseSensitive(req, "method");
	rq->params = cJSON_GetObjectItemCaseSensitive(req, "params");
	rq->code = RPC_INVALID_REQUEST;
	/*
	 * cJSON cuts strings at a NUL ("ev\u0000il" reads as "ev"): refuse
	 * the whole request rather than act on a name it did not send. A
	 * string id may be cut too, so it is not echoed.
	 */
	if (rpc_json_find_nul(line, len) != NULL) {
		if (cJSON_IsString(rq->id))
			rq->id = NULL;
		rq->code = RPC_INVALID_PARAMS;
		snprintf(rq->message, sizeof(rq->message), "a string holds a"
		    " NUL character (\\u0000), which the admin API does not"
		    " accept");
	} else if (!cJSON_IsString(version) ||
	    strcmp(version->valuestring, "2.0") != 0)
		snprintf(rq->message, sizeof(rq->message),
		    "jsonrpc must be \"2.0\"");
	else if (!cJSON_IsString(method))
		snprintf(rq->message, sizeof(rq->message),
		    "method must be a string");
	else if (rq->params != NULL && cJSON_IsArray(rq->params)) {
		rq->code = RPC_INVALID_PARAMS;
		snprintf(rq->message, sizeof(rq->message),
		    "params must be an object (by name), not an array");
	} else if (rq->params != NULL && !cJSON_IsObject(rq->params))
		snprintf(rq->message, sizeof(rq->message),
		    "params must be an object");
	else if ((rq->m = admin_method_find(method->valuestring)) == NULL) {
		rq->code = RPC_METHOD_NOT_FOUND;
		snprintf(rq->message, sizeof(rq->message), "no method '%.64s'",
		    method->valuestring);
	}
	if (rq->m != NULL)
		rq->code = 0;
	return rq;
}

/*
 * Run a request. NULL with *out its reply line (NULL for a notification),
 * or the probe its method asks for: run that (never inside a transaction),
 * put it in rq->probe and run the request again.
 */
static struct admin_probe *
admin_request_run(struct agent *agent, const struct admin_peer *peer,
    struct admin_session *session, struct admin_request *rq, char **out)
{
	const struct admin_method	*m = rq->m;
	struct admin_reply		 reply;
	cJSON				*res;
	char				 err[256];
	int				 rc;

	*out = NULL;
	memset(&reply, 0, sizeof(reply));
	reply.session = session;
	reply.probe = rq->probe;
	reply.id = rq->id;
	reply.peer = peer;
	if (m == NULL)
		admin_reply_error(&reply, rq->code, "%s", rq->message);
	else {
		rc = admin_call(agent, peer, m, rq->params, &reply);
		if (reply.probe_want != NULL) {
			/* Nothing was written: the method stopped to ask. */
			cJSON_Delete(reply.result);
			return reply.probe_want;
		}
		if (rc == 0 && reply.deferred)
			return NULL;	/* it answers itself (model.chat) */
		if (((m->flags & ADMIN_WRITE) && rc == 0) || reply.changed) {
			if (registry_reload(agent->store, agent->vault, err,
			    sizeof(err)) != 0) {
				log_warnx("admin: %s: saved, but the registry"
				    " was not rebuilt: %s", m->name, err);
				cJSON_Delete(reply.result);
				reply.result = NULL;
				admin_reply_error(&reply, RPC_INTERNAL_ERROR,
				    "the change was saved but is not in"
				    " effect yet (the agent's log has the"
				    " details)");
				rc = -1;
			}
		}
		if (rc == 0 && reply.result == NULL)
			reply.result = cJSON_CreateObject();
		if (rc != 0 && reply.code == 0) {
			log_warnx("%s: %s failed without a code", __func__,
			    m->name);
			admin_reply_error(&reply, RPC_INTERNAL_ERROR,
			    "internal error");
		}
	}

	if (rq->notification) {
		cJSON_Delete(reply.result);
		return NULL;
	}
	if (reply.result != NULL && reply.code == 0) {
		res = admin_reply_new(rq->id);
		admin_json_add(res, "result", reply.result);
		*out = admin_reply_line(res);
		cJSON_Delete(res);
	} else {
		cJSON_Delete(reply.result);
		*out = admin_error_line(rq->id, reply.code, reply.message);
	}
	return NULL;
}

char *
admin_handle(struct agent *agent, struct admin_session *session,
    const char *line, size_t len)
{
	return admin_handle_peer(agent, NULL, session, line, len);
}

/*
 * Answer one line here and now: a probe the method needs runs inline,
 * blocking, though still outside the method's transaction. The socket
 * server never calls this: it runs probes on a thread.
 */
char *
admin_handle_peer(struct agent *agent, const struct admin_peer *peer,
    struct admin_session *session, const char *line, size_t len)
{
	struct admin_request	*rq;
	struct admin_probe	*want;
	char			*out;

	if ((rq = admin_request_parse(line, len, &out)) == NULL)
		return out;
	while ((want = admin_request_run(agent, peer, session, rq,
	    &out)) != NULL) {
		admin_probe_run(want, agent->vault);
		admin_probe_free(rq->probe);
		rq->probe = want;
	}
	admin_request_free(rq);
	return out;
}

/* --- the socket server ---------------------------------------------------- */

int
admin_peer_allowed(unsigned int uid, unsigned int gid, unsigned int own_uid,
    unsigned int socket_gid)
{
	return uid == 0 || uid == own_uid || gid == socket_gid;
}

/* Whether uid's supplementary groups include gid (NSS may block briefly). */
static int
admin_peer_in_group(uid_t uid, gid_t gid)
{
	struct passwd	 pw, *res = NULL;
	gid_t		 groups[256];
	char		 buf[4096];
	int		 n = sizeof(groups) / sizeof(groups[0]), i;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

static void
admin_conn_drop(struct admin_conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	admin_session_clear(c->admin->agent, &c->session);
	admin_chat_free(c->session.chat);	/* cancels its request */
	c->session.chat = NULL;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->admin->reaper, EV_TIMEOUT, 0);
}

static void
admin_wait_free(struct admin_wait *w)
{
	admin_probe_free(w->probe);
	admin_request_free(w->rq);
	free(w);
}

static void
admin_conn_free(struct admin_conn *c)
{
	/* Its probe finishes on its own; the outcome is discarded. */
	if (c->wait != NULL) {
		c->wait->conn = NULL;
		admin_probe_cancel(c->wait->probe);
	}
	TAILQ_REMOVE(&c->admin->conns, c, entry);
	admin_session_clear(c->admin->agent, &c->session);
	admin_chat_free(c->session.chat);
	c->session.chat = NULL;
	bufferevent_free(c->bev);
	free(c);
}

/* Free dead connections on a fresh loop pass, outside their callbacks. */
static void
admin_reap(evutil_socket_t fd, short events, void *arg)
{
	struct admin		*a = arg;
	struct admin_conn	*c, *next;

	(void)fd;
	(void)events;
	for (c = TAILQ_FIRST(&a->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->dead)
			admin_conn_free(c);
	}
}

/*
 * Read requests only while the connection can take them: not while one
 * waits for its probe (replies stay in order) or the peer does not read
 * its replies, nor past its end (libevent stopped reading there).
 */
static void
admin_conn_reading(struct admin_conn *c)
{
	if (c->dead || c->closing || c->eof)
		return;
	/*
	 * While a model.chat runs, reading goes on (to see a hang-up, which
	 * cancels it) up to a frame of requests that wait their turn.
	 */
	if (c->paused || c->wait != NULL || (c->session.chat != NULL &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) >
	    RPC_MAX_FRAME))
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

/* Has the peer closed its end entirely (not only shut down writing)? */
static int
admin_conn_hung_up(struct admin_conn *c)
{
	struct pollfd	pfd;

	pfd.fd = bufferevent_getfd(c->bev);
	pfd.events = 0;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

/* Send a reply line; wiped after, as it may carry a new token's secret. */
static void
admin_conn_send(struct admin_conn *c, char *line)
{
	size_t	len;

	if (line == NULL)
		return;
	len = strlen(line);
	bufferevent_write(c->bev, line, len);
	explicit_bzero(line, len);
	free(line);
}

static void	admin_conn_process(struct admin_conn *);

/*
 * A probe a request waited for is done (on the main loop): run the
 * request with it and answer, then go on with the connection's next
 * lines. A peer that hung up meanwhile gets nothing run for it.
 */
static void
admin_wait_done(struct admin_probe *probe, void *arg)
{
	struct admin_wait	*w = arg;
	struct admin_conn	*c = w->conn;
	char			*line;

	(void)probe;
	TAILQ_REMOVE(&w->admin->waits, w, entry);
	if (c == NULL) {
		admin_wait_free(w);
		return;
	}
	c->wait = NULL;
	if (c->dead || admin_conn_hung_up(c)) {
		log_info("admin: peer %s hung up while %s waited for its"
		    " check; not run", c->peer.user, w->rq->m->name);
		admin_conn_drop(c);
		admin_wait_free(w);
		return;
	}
	w->rq->probe = w->probe;
	w->probe = NULL;
	/* With its probe there, a method never asks for another. */
	if (admin_request_run(c->admin->agent, &c->peer, &c->session, w->rq,
	    &line) != NULL)
		fatalx("%s: a method asked for a second probe", __func__);
	admin_conn_send(c, line);
	admin_wait_free(w);
	admin_conn_reading(c);
	admin_conn_process(c);
}

/*
 * Answer a line; a request whose method asks for a probe waits for it
 * (admin_wait_done) while the loop serves everyone else.
 */
static void
admin_conn_reply(struct admin_conn *c, const char *line, size_t len)
{
	struct admin		*a = c->admin;
	struct admin_request	*rq;
	struct admin_probe	*want;
	struct admin_wait	*w;
	char			*res, err[256];

	if ((rq = admin_request_parse(line, len, &res)) == NULL) {
		admin_conn_send(c, res);
		return;
	}
	if ((want = admin_request_run(a->agent, &c->peer, &c->session, rq,
	    &res)) == NULL) {
		admin_request_free(rq);
		admin_conn_send(c, res);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->admin = a;
	w->conn = c;
	w->rq = rq;
	w->probe = want;
	if (admin_probe_start(want, a->agent->base, a->agent->vault,
	    admin_wait_done, w, err, sizeof(err)) != 0) {
		log_warnx("admin: %s", err);
		if (!rq->notification)
			admin_conn_send(c, admin_error_line(rq->id,
			    RPC_FAILED, err));
		admin_wait_free(w);
		return;
	}
	TAILQ_INSERT_TAIL(&a->waits, w, entry);
	c->wait = w;
	admin_conn_reading(c);
}

/*
 * The peer sent its last (EOF): a last request without its newline still
 * gets an answer, then the connection closes once its output is out.
 */
static void
admin_conn_last(struct admin_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 len = evbuffer_get_length(in);

	if (len > 0 && len <= RPC_MAX_FRAME) {
		admin_conn_reply(c, (const char *)evbuffer_pullup(in, len),
		    len);
		evbuffer_drain(in, len);
		if (c->dead || c->wait != NULL)
			return;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		c->closing = 1;
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	admin_conn_drop(c);
}

/* Answer every complete line in the input, in order. */
static void
admin_conn_process(struct admin_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct evbuffer_ptr	 eol;
	size_t			 len;
	const char		*line;

	while (!c->dead && !c->closing && c->wait == NULL &&
	    c->session.chat == NULL) {
		if (evbuffer_get_length(out) > ADMIN_OUT_HIGH) {
			/* The peer is not reading: stop until it does. */
			c->paused = 1;
			admin_conn_reading(c);
			return;
		}
		/* Resume the search where the last one stopped. */
		if (c->scanned > evbuffer_get_length(in))
			c->scanned = 0;
		if (evbuffer_ptr_set(in, &eol, c->scanned,
		    EVBUFFER_PTR_SET) != 0)
			fatalx("%s: evbuffer_ptr_set", __func__);
		eol = evbuffer_search_eol(in, &eol, NULL, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			c->scanned = evbuffer_get_length(in);
			if (evbuffer_get_length(in) > RPC_MAX_FRAME) {
				log_warnx("admin: peer sent more than %d"
				    " bytes without a newline; dropped",
				    RPC_MAX_FRAME);
				admin_conn_drop(c);
				return;
			}
			if (c->eof)
				admin_conn_last(c);
			return;
		}
		len = (size_t)eol.pos;
		if (len > RPC_MAX_FRAME) {
			log_warnx("admin: peer sent a line over %d bytes;"
			    " dropped", RPC_MAX_FRAME);
			admin_conn_drop(c);
			return;
		}
		line = (const char *)evbuffer_pullup(in, len + 1);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > 0)
			admin_conn_reply(c, line, len);
		evbuffer_drain(in, (size_t)eol.pos + 1);
		c->scanned = 0;
	}
}

static void
admin_conn_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn	*c = arg;

	(void)bev;
	if (c->session.chat != NULL) {
		admin_conn_reading(c);
		return;
	}
	admin_conn_process(c);
}

/* A model.chat answered: on with the requests that waited for it. */
static void
admin_conn_chat_done(void *arg)
{
	struct admin_conn	*c = arg;

	admin_conn_reading(c);
	admin_conn_process(c);
}

static void
admin_conn_write(struct bufferevent *bev, void *arg)
{
	struct admin_conn	*c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) ==
	    0) {
		admin_conn_drop(c);
		return;
	}
	if (c->paused) {
		c->paused = 0;
		admin_conn_reading(c);
		admin_conn_process(c);
	}
	admin_chat_resume(c->session.chat);
}

static void
admin_conn_event(struct bufferevent *bev, short events, void *arg)
{
	struct admin_conn	*c = arg;

	(void)bev;
	/* Gone while a model.chat runs: drop it (which cancels that). */
	if ((events & BEV_EVENT_EOF) && c->session.chat != NULL &&
	    admin_conn_hung_up(c)) {
		admin_conn_drop(c);
		return;
	}
	if ((events & BEV_EVENT_EOF) && !(events & BEV_EVENT_ERROR) &&
	    !c->dead && !c->closing) {
		c->eof = 1;
		admin_conn_process(c);
		return;
	}
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		admin_conn_drop(c);
}

static void
admin_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin		*a = arg;
	struct admin_conn	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	char			*line, msg[128];
	int			 allowed;

	(void)l;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("admin: SO_PEERCRED");
		close(fd);
		return;
	}
	allowed = admin_peer_allowed(cred.uid, cred.gid, geteuid(), a->gid) ||
	    admin_peer_in_group(cred.uid, a->gid);

	c = xcalloc(1, sizeof(*c));
	c->admin = a;
	c->bev = bufferevent_socket_new(a->agent->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);
	c->session.agent = a->agent;
	c->session.bev = c->bev;
	c->session.chat_done = admin_conn_chat_done;
	c->session.chat_arg = c;
	TAILQ_INSERT_TAIL(&a->conns, c, entry);
	bufferevent_setcb(c->bev, admin_conn_read, admin_conn_write,
	    admin_conn_event, c);
	if (!allowed) {
		log_warnx("admin: refused uid %u (pid %d): not root, the"
		    " agent's uid or in the socket's group",
		    (unsigned)cred.uid, (int)cred.pid);
		snprintf(msg, sizeof(msg), "uid %u may not use this agent's"
		    " admin socket", (unsigned)cred.uid);
		line = admin_error_line(NULL, RPC_DENIED, msg);
		bufferevent_write(c->bev, line, strlen(line));
		free(line);
		c->closing = 1;
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	admin_peer_init(&c->peer, cred.uid);
	log_debug("admin: peer uid %u (%s) pid %d", (unsigned)cred.uid,
	    c->peer.user, (int)cred.pid);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
admin_accept_resume(evutil_socket_t fd, short events, void *arg)
{
	struct admin	*a = arg;

	(void)fd;
	(void)events;
	evconnlistener_enable(a->listener);
}

/*
 * A trace the writer committed: a logs.trace notification to each
 * subscribed connection it matches. A subscriber that does not read loses
 * notifications rather than grow the agent's memory.
 */
static void
admin_publish(const struct trace *t, void *arg)
{
	struct admin		*a = arg;
	struct admin_conn	*c;
	char			*line = NULL;

	TAILQ_FOREACH(c, &a->conns, entry) {
		if (c->dead || !admin_session_wants(&c->session, t))
			continue;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
		    ADMIN_OUT_HIGH)
			continue;
		if (line == NULL)
			line = admin_logs_notification(t);
		bufferevent_write(c->bev, line, strlen(line));
	}
	free(line);
}

/* Out of descriptors: pause accepting for a second rather than spin. */
static void
admin_accept_error(struct evconnlistener *l, void *arg)
{
	struct admin	*a = arg;
	struct timeval	 tv = { 1, 0 };
	int		 e = EVUTIL_SOCKET_ERROR();

	log_warnx("admin: accept: %s", evutil_socket_error_to_string(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(l);
		evtimer_add(a->resume, &tv);
	}
}

/*
 * A bound, listening socket at path: refuse when another agent answers
 * there, replace a stale socket file, never anything else.
 */
static int
admin_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	char			*dir, *slash;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "admin socket path too long (%zu bytes,"
		    " at most %zu): %s", strlen(path),
		    sizeof(sun.sun_path) - 1, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) == -1 && dir_create(dir, err, errlen) != 0) {
			free(dir);
			return -1;
		}
	}
	free(dir);

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket;"
			    " not replacing it", path);
			return -1;
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			snprintf(err, errlen, "another agent is listening on"
			    " %s; stop it or pick another --admin-socket",
			    path);
			return -1;
		}
		if (errno != ECONNREFUSED) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		log_info("admin: removing stale socket %s", path);
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "unlink %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* SO_PEERCRED is checked as well, so the brief window is harmless. */
	if (chmod(path, 0660) == -1 || listen(fd, 64) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

struct admin *
admin_start(struct agent *agent, char *err, size_t errlen)
{
	struct admin	*a;
	struct stat	 st;
	int		 fd;

	if (agent->cfg.admin_socket == NULL || *agent->cfg.admin_socket ==
	    '\0') {
		snprintf(err, errlen, "no admin socket path");
		return NULL;
	}
	if ((fd = admin_listen(agent->cfg.admin_socket, err, errlen)) == -1)
		return NULL;
	/* No agent answers there: what a backup left is nobody's. */
	backup_sweep(agent->cfg.data_dir);
	if (stat(agent->cfg.admin_socket, &st) == -1) {
		snprintf(err, errlen, "%s: %s", agent->cfg.admin_socket,
		    strerror(errno));
		close(fd);
		return NULL;
	}

	a = xcalloc(1, sizeof(*a));
	a->agent = agent;
	a->path = xstrdup(agent->cfg.admin_socket);
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->gid = st.st_gid;
	TAILQ_INIT(&a->conns);
	TAILQ_INIT(&a->waits);
	if ((a->reaper = event_new(agent->base, -1, 0, admin_reap, a)) ==
	    NULL || (a->resume = evtimer_new(agent->base, admin_accept_resume,
	    a)) == NULL)
		fatalx("%s: event_new", __func__);
	a->listener = evconnlistener_new(agent->base, admin_accept, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (a->listener == NULL) {
		snprintf(err, errlen, "%s: cannot listen", a->path);
		close(fd);
		unlink(a->path);
		event_free(a->reaper);
		event_free(a->resume);
		free(a->path);
		free(a);
		return NULL;
	}
	evconnlistener_set_error_cb(a->listener, admin_accept_error);
	if (agent->traces != NULL)
		trace_writer_listen(agent->traces, agent->base, admin_publish,
		    a);
	log_info("admin: listening on %s", a->path);
	return a;
}

/* Close every connection and remove the socket file, if it is still ours. */
void
admin_stop(struct admin *a)
{
	struct admin_conn	*c;
	struct admin_wait	*w;
	struct stat		 st;

	if (a == NULL)
		return;
	evconnlistener_free(a->listener);
	/* Every probe is cancelled first, then each joined (within ~1 s). */
	while ((c = TAILQ_FIRST(&a->conns)) != NULL)
		admin_conn_free(c);
	while ((w = TAILQ_FIRST(&a->waits)) != NULL) {
		TAILQ_REMOVE(&a->waits, w, entry);
		admin_wait_free(w);
	}
	admin_backup_stop();
	if (stat(a->path, &st) == 0 && st.st_dev == a->dev &&
	    st.st_ino == a->ino)
		unlink(a->path);
	event_free(a->reaper);
	event_free(a->resume);
	free(a->path);
	free(a);
}
