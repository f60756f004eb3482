/*
 * backup.begin, backup.read, backup.end: a copy of the database taken
 * while the agent runs (backup.c makes it on a probe's thread), handed out
 * in chunks that fit a frame. Main loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define ADMIN_BACKUP_ID_BYTES	16	/* random; the id is their hex */

static struct admin_backup {
	char				 id[2 * ADMIN_BACKUP_ID_BYTES + 1];
	struct backup			*b;	/* NULL: a free slot */
	const struct admin_session	*session;	/* began it, or NULL */
	struct event			*idle;	/* no read for so long: gone */
} admin_backups[ADMIN_BACKUPS_MAX];

static void
admin_backup_drop(struct admin_backup *ab, const char *why)
{
	if (ab->b == NULL)
		return;
	log_info("backup %.8s: removed (%s)", ab->id, why);
	backup_free(ab->b);
	if (ab->idle != NULL)
		event_free(ab->idle);
	memset(ab, 0, sizeof(*ab));
}

static void
admin_backup_idle(evutil_socket_t fd, short events, void *arg)
{
	char	why[64];

	(void)fd;
	(void)events;
	snprintf(why, sizeof(why), "not read for %d s", ADMIN_BACKUP_IDLE_S);
	admin_backup_drop(arg, why);
}

static void
admin_backup_touch(struct admin_backup *ab)
{
	struct timeval	tv = { ADMIN_BACKUP_IDLE_S, 0 };

	if (ab->idle != NULL)
		evtimer_add(ab->idle, &tv);
}

static struct admin_backup *
admin_backup_free_slot(void)
{
	size_t	i;

	for (i = 0; i < ADMIN_BACKUPS_MAX; i++)
		if (admin_backups[i].b == NULL)
			return &admin_backups[i];
	return NULL;
}

/* The "id" parameter's backup; NULL with reply filled. */
static struct admin_backup *
admin_backup_find(const cJSON *params, const char *const *allowed,
    struct admin_reply *reply)
{
	const char	*id;
	size_t		 i;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_string(params, "id", ADMIN_PARAM_REQUIRED, 1, 64, NULL,
	    NULL, &id, reply) == -1)
		return NULL;
	for (i = 0; i < ADMIN_BACKUPS_MAX; i++)
		if (admin_backups[i].b != NULL &&
		    strcmp(admin_backups[i].id, id) == 0)
			return &admin_backups[i];
	admin_reply_error(reply, RPC_NOT_FOUND, "id: no backup '%.64s' (ended,"
	    " or removed after %d s without a read)", id, ADMIN_BACKUP_IDLE_S);
	return NULL;
}

/*
 * A copy of the database: made on a thread the first time round (the
 * method asks for it and returns), then kept here under a fresh id.
 */
int
admin_backup_begin(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { NULL };
	const struct admin_probe	*probe;
	struct admin_backup		*ab;
	unsigned char			 raw[ADMIN_BACKUP_ID_BYTES];
	char				 changes[256], err[256];

	if (admin_param_check(params, allowed, reply) != 0)
		return -1;
	if (admin_backup_free_slot() == NULL)
		return admin_reply_error(reply, RPC_CONFLICT, "%d backups are"
		    " open already; end one (backup.end) or try again later",
		    ADMIN_BACKUPS_MAX);
	if ((probe = admin_probe_need_backup(reply, agent->cfg.data_dir)) ==
	    NULL)
		return -1;
	if (probe->rc != 0) {
		log_warnx("backup: %s", probe->why);
		return admin_reply_error(reply, RPC_FAILED, "backup: %s",
		    probe->why);
	}
	/* Taken while it ran: the slot checked above may be gone. */
	if ((ab = admin_backup_free_slot()) == NULL)
		return admin_reply_error(reply, RPC_CONFLICT, "%d backups are"
		    " open already; end one (backup.end) or try again later",
		    ADMIN_BACKUPS_MAX);
	ab->b = admin_probe_take_backup(probe);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(ab->id, sizeof(ab->id), raw, sizeof(raw));
	ab->session = reply->session;
	if (agent->base != NULL && (ab->idle = evtimer_new(agent->base,
	    admin_backup_idle, ab)) == NULL) {
		/* Out of memory here: this backup is refused, the agent lives. */
		admin_backup_drop(ab, "no memory for its idle timer");
		return admin_reply_error(reply, RPC_FAILED, "backup: out of"
		    " memory");
	}
	/*
	 * Who took the agent's data out, and which copy (its sha256 names
	 * the file cubectl writes): in the audit log as an operator's change
	 * is. A copy whose entry cannot be written is not handed out.
	 */
	snprintf(changes, sizeof(changes), "[{\"field\":\"sha256\",\"old\":null,"
	    "\"new\":\"%s\"},{\"field\":\"size\",\"old\":null,\"new\":%lld}]",
	    ab->b->sha256, (long long)ab->b->size);
	if (admin_audit_event(agent, reply->peer, "backup.begin", NULL, NULL,
	    "database", changes, err, sizeof(err)) != 0) {
		admin_backup_drop(ab, "its audit entry was not written");
		return admin_reply_error(reply, RPC_FAILED, "backup: refused,"
		    " the audit log could not record it: %s", err);
	}
	admin_backup_touch(ab);
	log_info("backup %.8s: %lld bytes, schema version %d, sha256 %s",
	    ab->id, (long long)ab->b->size, ab->b->schema_version,
	    ab->b->sha256);

	reply->result = admin_json_object();
	admin_json_add(reply->result, "id", admin_json_string(ab->id));
	admin_json_add(reply->result, "size", admin_json_number(
	    (double)ab->b->size));
	admin_json_add(reply->result, "schema_version", admin_json_number(
	    ab->b->schema_version));
	admin_json_add(reply->result, "sha256", admin_json_string(
	    ab->b->sha256));
	admin_json_add(reply->result, "chunk_max", admin_json_number(
	    ADMIN_BACKUP_CHUNK));
	return 0;
}

/* {id, offset, length?}: base64 of at most length bytes from offset. */
int
admin_backup_read(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "id", "offset", "length",
					    NULL };
	struct admin_backup		*ab;
	unsigned char			*buf;
	char				*b64;
	int64_t				 offset, length = ADMIN_BACKUP_CHUNK;
	ssize_t				 n;
	size_t				 b64len;

	(void)agent;
	if ((ab = admin_backup_find(params, allowed, reply)) == NULL ||
	    admin_param_int(params, "offset", ADMIN_PARAM_REQUIRED, 0,
	    ab->b->size, &offset, reply) == -1 ||
	    admin_param_int(params, "length", 0, 1, ADMIN_BACKUP_CHUNK,
	    &length, reply) == -1)
		return -1;
	buf = xmalloc((size_t)length);
	if ((n = backup_read(ab->b, offset, buf, (size_t)length)) == -1) {
		log_warn("backup %.8s: read", ab->id);
		free(buf);
		return admin_reply_error(reply, RPC_INTERNAL_ERROR,
		    "backup: the copy cannot be read (the agent's log has the"
		    " details)");
	}
	b64len = sodium_base64_encoded_len((size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(b64len);
	sodium_bin2base64(b64, b64len, buf, (size_t)n,
	    sodium_base64_VARIANT_ORIGINAL);
	free(buf);
	admin_backup_touch(ab);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "offset", admin_json_number(
	    (double)offset));
	admin_json_add(reply->result, "data", admin_json_string(b64));
	admin_json_add(reply->result, "eof", admin_json_bool(offset + n >=
	    ab->b->size));
	free(b64);
	return 0;
}

int
admin_backup_end(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "id", NULL };
	struct admin_backup		*ab;

	(void)agent;
	if ((ab = admin_backup_find(params, allowed, reply)) == NULL)
		return -1;
	admin_backup_drop(ab, "backup.end");
	reply->result = admin_json_object();
	admin_json_add(reply->result, "ended", admin_json_bool(1));
	return 0;
}

void
admin_backup_session_gone(const struct admin_session *session)
{
	size_t	i;

	for (i = 0; i < ADMIN_BACKUPS_MAX; i++)
		if (admin_backups[i].b != NULL &&
		    admin_backups[i].session == session)
			admin_backup_drop(&admin_backups[i],
			    "its connection closed");
}

void
admin_backup_stop(void)
{
	size_t	i;

	for (i = 0; i < ADMIN_BACKUPS_MAX; i++)
		admin_backup_drop(&admin_backups[i], "the agent stops");
}
