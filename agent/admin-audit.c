/*
 * The audit log: every admin write is recorded with who (the peer's uid and
 * user name), when, the method, its target and what changed, field by field
 * from the object before and after. Never a secret: credentials show as
 * "sealed (fingerprint X)" or "(removed)", token secrets not at all.
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define AUDIT_LIMIT_DEFAULT	50
#define AUDIT_LIMIT_MAX		10000

/* What the audit needs to know before the method runs. */
struct admin_audit {
	const char	*method;
	char		*noun;		/* "model" */
	const char	*verb;		/* "edit" */
	const char	*id_field;	/* the object's identity in results */
	cJSON		*before;	/* the object as it was, or NULL */
	char		*domain_id;
	char		*domain;
};

/* Fields that are not the operator's change, or must never be shown. */
static const char *const admin_audit_ignored[] = {
	"created_at", "updated_at", "changed", "warnings", "token",
	"latency_ms", "domain", "fingerprint", NULL
};

/* The object a noun's method works on, as results show it; or NULL. */
static cJSON *
admin_audit_get(struct agent *agent, const char *noun, const char *domain_id,
    const cJSON *params)
{
	const cJSON		*id;
	struct store_domain	 d;
	struct store_provider	 p;
	struct store_model	 m;
	struct store_token	 t;
	struct store_guardrail	 g;
	char			 err[256];
	cJSON			*o = NULL;

	if (strcmp(noun, "domain") == 0) {
		if (store_domain_get(agent->store, domain_id, &d, err,
		    sizeof(err)) == 0) {
			o = admin_domain_json(&d);
			store_domain_clear(&d);
		}
		return o;
	}
	if ((id = cJSON_GetObjectItemCaseSensitive(params, strcmp(noun,
	    "provider") == 0 ? "name" : strcmp(noun, "model") == 0 ||
	    strcmp(noun, "guardrail") == 0 ? "key" : "id")) == NULL ||
	    !cJSON_IsString(id))
		return NULL;
	if (strcmp(noun, "provider") == 0 && store_provider_get(agent->store,
	    domain_id, id->valuestring, &p, err, sizeof(err)) == 0) {
		o = admin_provider_json(&p);
		store_provider_clear(&p);
	} else if (strcmp(noun, "model") == 0 && store_model_get(agent->store,
	    domain_id, id->valuestring, &m, err, sizeof(err)) == 0) {
		o = admin_model_json(&m);
		store_model_clear(&m);
	} else if (strcmp(noun, "guardrail") == 0 &&
	    store_guardrail_get(agent->store, domain_id, id->valuestring, &g,
	    err, sizeof(err)) == 0) {
		o = admin_guardrail_json(&g);
		store_guardrail_clear(&g);
	} else if (strcmp(noun, "token") == 0 && store_token_get(agent->store,
	    domain_id, id->valuestring, &t, err, sizeof(err)) == 0) {
		o = admin_token_json(&t, NULL, 1);
		store_token_clear(&t);
	}
	return o;
}

struct admin_audit *
admin_audit_new(struct agent *agent, const char *method, const cJSON *params)
{
	struct admin_audit	*au;
	struct store_domain	 d;
	const cJSON		*dom;
	const char		*dot;
	char			 err[256];

	au = xcalloc(1, sizeof(*au));
	au->method = method;
	dot = strchr(method, '.');
	au->noun = dot != NULL ? xstrndup(method, dot - method) :
	    xstrdup(method);
	au->verb = dot != NULL ? dot + 1 : "";
	au->id_field = strcmp(au->noun, "model") == 0 ||
	    strcmp(au->noun, "guardrail") == 0 ? "key" :
	    strcmp(au->noun, "token") == 0 ? "id" : "name";
	dom = cJSON_GetObjectItemCaseSensitive(params, "domain");
	if (cJSON_IsString(dom) && store_domain_get(agent->store,
	    dom->valuestring, &d, err, sizeof(err)) == 0) {
		au->domain_id = xstrdup(d.id);
		au->domain = xstrdup(d.name);
		store_domain_clear(&d);
		au->before = admin_audit_get(agent, au->noun, au->domain_id,
		    params);
	}
	return au;
}

void
admin_audit_free(struct admin_audit *au)
{
	if (au == NULL)
		return;
	cJSON_Delete(au->before);
	free(au->noun);
	free(au->domain_id);
	free(au->domain);
	free(au);
}

static int
admin_audit_is_ignored(const char *name)
{
	size_t	i;

	for (i = 0; admin_audit_ignored[i] != NULL; i++)
		if (strcmp(admin_audit_ignored[i], name) == 0)
			return 1;
	return 0;
}

/*
 * Flatten an object into {"a.b": leaf} (arrays are leaves). A provider's
 * credential and fingerprint become one "credential" field.
 */
static void
admin_audit_flatten(const cJSON *o, const char *prefix, cJSON *out)
{
	const cJSON	*item, *fp;
	char		*path, buf[128];

	cJSON_ArrayForEach(item, o) {
		if (prefix[0] == '\0' && admin_audit_is_ignored(item->string))
			continue;
		xasprintf(&path, "%s%s%s", prefix, prefix[0] != '\0' ? "." :
		    "", item->string);
		if (prefix[0] == '\0' && strcmp(item->string, "credential") ==
		    0) {
			fp = cJSON_GetObjectItemCaseSensitive(o,
			    "fingerprint");
			if (cJSON_IsString(item) &&
			    strcmp(item->valuestring, "sealed") == 0) {
				snprintf(buf, sizeof(buf), "sealed"
				    " (fingerprint %s)", cJSON_IsString(fp) ?
				    fp->valuestring : "?");
				admin_json_add(out, path,
				    admin_json_string(buf));
			} else
				admin_json_add(out, path, cJSON_CreateNull());
		} else if (cJSON_IsObject(item))
			admin_audit_flatten(item, path, out);
		else
			admin_json_add(out, path, cJSON_Duplicate(item, 1));
		free(path);
	}
}

static void
admin_audit_change(cJSON *changes, const char *field, const cJSON *old,
    const cJSON *new)
{
	cJSON	*c;

	c = admin_json_object();
	admin_json_add(c, "field", admin_json_string(field));
	admin_json_add(c, "old", old != NULL ? cJSON_Duplicate(old, 1) :
	    cJSON_CreateNull());
	/* A credential that goes away says so. */
	if (strcmp(field, "credential") == 0 && cJSON_IsString(old) &&
	    (new == NULL || cJSON_IsNull(new)))
		admin_json_add(c, "new", admin_json_string("(removed)"));
	else
		admin_json_add(c, "new", new != NULL ? cJSON_Duplicate(new,
		    1) : cJSON_CreateNull());
	cJSON_AddItemToArray(changes, c);
}

/*
 * What changed from before to after (either may be NULL), as an array of
 * {"field", "old", "new"}; on creation the fields that are set.
 */
cJSON *
admin_audit_diff(const cJSON *before, const cJSON *after)
{
	cJSON		*a, *b, *changes;
	const cJSON	*item, *other;

	changes = admin_json_array();
	a = admin_json_object();
	b = admin_json_object();
	if (before != NULL)
		admin_audit_flatten(before, "", b);
	if (after != NULL)
		admin_audit_flatten(after, "", a);
	if (before == NULL) {
		cJSON_ArrayForEach(item, a)
			if (!cJSON_IsNull(item) && !(cJSON_IsArray(item) &&
			    cJSON_GetArraySize(item) == 0) &&
			    !(cJSON_IsString(item) && item->valuestring[0] ==
			    '\0') && !cJSON_IsFalse(item))
				admin_audit_change(changes, item->string, NULL,
				    item);
	} else if (after != NULL) {
		cJSON_ArrayForEach(item, b) {
			other = cJSON_GetObjectItemCaseSensitive(a,
			    item->string);
			if (other == NULL || !cJSON_Compare(item, other, 1))
				admin_audit_change(changes, item->string, item,
				    other);
		}
		cJSON_ArrayForEach(item, a)
			if (cJSON_GetObjectItemCaseSensitive(b,
			    item->string) == NULL)
				admin_audit_change(changes, item->string, NULL,
				    item);
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	return changes;
}

/* The peer's uid and user name (its uid when it has none). */
void
admin_peer_init(struct admin_peer *peer, unsigned int uid)
{
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];

	peer->uid = uid;
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL)
		snprintf(peer->user, sizeof(peer->user), "%s", pw.pw_name);
	else
		snprintf(peer->user, sizeof(peer->user), "%u", uid);
}

/* No peer: a call from inside the agent (tests), its own user. */
static const struct admin_peer *
admin_audit_peer(const struct admin_peer *peer, struct admin_peer *self)
{
	if (peer != NULL)
		return peer;
	admin_peer_init(self, (unsigned int)geteuid());
	return self;
}

/*
 * Record an event that changes no object (model.chat, backup.begin): who,
 * which method, on what (domain_id and domain NULL: the agent's own);
 * changes is a JSON array of {field, old, new}, NULL for none. 0 or
 * STORE_* with err.
 */
int
admin_audit_event(struct agent *agent, const struct admin_peer *peer,
    const char *method, const char *domain_id, const char *domain,
    const char *target, const char *changes, char *err, size_t errlen)
{
	struct store_audit	 row;
	struct admin_peer	 self;

	peer = admin_audit_peer(peer, &self);
	memset(&row, 0, sizeof(row));
	row.at = time(NULL);
	row.uid = peer->uid;
	row.user = (char *)peer->user;
	row.method = (char *)method;
	row.domain_id = (char *)domain_id;
	row.domain = (char *)domain;
	row.target = (char *)target;
	row.changes = (char *)(changes != NULL ? changes : "[]");
	return store_audit_insert(agent->store, &row, err, errlen);
}

/* Record a write that succeeded with result; 0 or STORE_* with err. */
int
admin_audit_record(struct agent *agent, const struct admin_audit *au,
    const struct admin_peer *peer, const cJSON *result, char *err,
    size_t errlen)
{
	struct store_audit	 row;
	const cJSON		*after, *obj, *id, *dom;
	cJSON			*changes;
	struct admin_peer	 self;
	char			*target;
	int			 rc;

	after = strcmp(au->verb, "delete") == 0 ? NULL : result;
	obj = after != NULL ? after : au->before;
	id = cJSON_GetObjectItemCaseSensitive(obj, au->id_field);
	xasprintf(&target, "%s/%s", au->noun, cJSON_IsString(id) ?
	    id->valuestring : "?");
	changes = admin_audit_diff(au->before, after);
	memset(&row, 0, sizeof(row));
	row.at = time(NULL);
	peer = admin_audit_peer(peer, &self);
	row.uid = peer->uid;
	row.user = (char *)peer->user;
	row.method = (char *)au->method;
	row.target = target;
	row.domain_id = au->domain_id;
	row.domain = au->domain;
	/* domain.create: the domain is the new one. */
	if (strcmp(au->noun, "domain") == 0 && row.domain_id == NULL &&
	    (dom = cJSON_GetObjectItemCaseSensitive(obj, "id")) != NULL &&
	    cJSON_IsString(dom)) {
		row.domain_id = dom->valuestring;
		row.domain = cJSON_IsString(id) ? id->valuestring : NULL;
	}
	if ((row.changes = cJSON_PrintUnformatted(changes)) == NULL)
		fatalx("%s: out of memory", __func__);
	rc = store_audit_insert(agent->store, &row, err, errlen);
	free(row.changes);
	cJSON_Delete(changes);
	free(target);
	return rc;
}

/* "field: old -> new; ..." for people; values as JSON, strings bare. */
static char *
admin_audit_summary(const cJSON *changes)
{
	const cJSON	*c, *v;
	char		*out = xstrdup(""), *next, *val[2];
	int		 i;

	cJSON_ArrayForEach(c, changes) {
		for (i = 0; i < 2; i++) {
			v = cJSON_GetObjectItemCaseSensitive(c, i == 0 ? "old" :
			    "new");
			if (cJSON_IsString(v))
				val[i] = xstrdup(v->valuestring);
			else if ((val[i] = cJSON_PrintUnformatted(v)) == NULL)
				fatalx("%s: out of memory", __func__);
		}
		v = cJSON_GetObjectItemCaseSensitive(c, "field");
		xasprintf(&next, "%s%s%s: %s -> %s", out, out[0] != '\0' ?
		    "; " : "", cJSON_IsString(v) ? v->valuestring : "?",
		    val[0], val[1]);
		free(out);
		free(val[0]);
		free(val[1]);
		out = next;
	}
	return out;
}

static cJSON *
admin_audit_json(const struct store_audit *a)
{
	cJSON	*o, *changes;
	char	*summary;

	if ((changes = cJSON_Parse(a->changes)) == NULL ||
	    !cJSON_IsArray(changes)) {
		cJSON_Delete(changes);
		changes = admin_json_array();
	}
	summary = admin_audit_summary(changes);
	o = admin_json_object();
	admin_json_add(o, "id", admin_json_number((double)a->id));
	admin_json_add(o, "at", admin_json_time(a->at));
	admin_json_add(o, "uid", admin_json_number(a->uid));
	admin_json_add(o, "user", admin_json_string(a->user));
	admin_json_add(o, "method", admin_json_string(a->method));
	admin_json_add(o, "domain", admin_json_string(a->domain));
	admin_json_add(o, "domain_id", admin_json_string(a->domain_id));
	admin_json_add(o, "target", admin_json_string(a->target));
	admin_json_add(o, "changes", changes);
	admin_json_add(o, "summary", admin_json_string(summary));
	free(summary);
	return o;
}

/* audit.list {domain?, limit?}: the newest entries, oldest first. */
int
admin_audit_list(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", "limit",
					    NULL };
	struct store_domain		 d;
	struct store_audit		*list;
	size_t				 n, i;
	int64_t				 limit = AUDIT_LIMIT_DEFAULT;
	char				 err[256];
	int				 rc, has_domain;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_int(params, "limit", 0, 1, AUDIT_LIMIT_MAX, &limit,
	    reply) == -1)
		return -1;
	has_domain = cJSON_GetObjectItemCaseSensitive(params, "domain") !=
	    NULL;
	if (has_domain && admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	rc = store_audit_list(agent->store, has_domain ? d.id : NULL,
	    (int)limit, &list, &n, err, sizeof(err));
	if (has_domain)
		store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	reply->result = admin_json_array();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(reply->result, admin_audit_json(&list[i]));
	store_audit_list_free(list, n);
	return 0;
}
