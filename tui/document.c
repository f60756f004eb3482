/*
 * The document cubectl export writes and cubectl apply reads:
 * {"cube_export": 1, "domains": [...]}. One table per kind of object says
 * its fields; export shapes admin API objects with it, apply checks a
 * document against it and compares wanted objects with the agent's.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "attest.h"
#include "cubectl.h"
#include "log.h"
#include "money.h"
#include "rpc.h"

#define DOCUMENT_PATH_MAX	256
#define DOCUMENT_DEPLOYMENTS_MAX 16	/* of a model, as the agent takes */
#define DOCUMENT_FALLBACKS_MAX	8

enum document_value {
	DOCUMENT_STRING,	/* a string, checked as .check */
	DOCUMENT_BOOL,
	DOCUMENT_INT,		/* an integer from .check.min to .check.max */
	DOCUMENT_NUMBER,	/* a number from .check.min to .check.max */
	DOCUMENT_STRINGS,	/* an array of strings, each checked */
	DOCUMENT_LIST,		/* an array of objects of .kind */
	DOCUMENT_OBJECT,	/* an object the agent checks (jwt) */
	DOCUMENT_OBJECTS,	/* an array of objects of .kind that is one
				   value of its object (a model's
				   deployments), exported and compared as one */
	DOCUMENT_REFUSED,	/* never accepted: .check.help says why */
};

#define DOCUMENT_REQUIRED	0x1
#define DOCUMENT_NULLABLE	0x2
#define DOCUMENT_INPUT		0x4	/* read by apply, never exported */
#define DOCUMENT_NEWER		0x8	/* exported only when the agent gives
					   it, so an older agent's export stays
					   the same bytes */

struct document_kind;

struct document_field {
	const char			*name;
	enum document_value		 value;
	int				 flags;
	const char			*path;	/* in the API object; NULL: name */
	struct args_flag		 check;	/* type, choices, charset, range */
	const struct document_kind	*kind;	/* DOCUMENT_LIST */
};

struct document_kind {
	const char			*name;	/* "provider" */
	const char			*id;	/* the field naming one */
	const struct document_field	*fields;
	const char			*defaults; /* JSON: what a member left
						      out means, or NULL */
};

static const char *const document_credentials[] = { "sealed", "none", NULL };
static const char *const document_statuses[] = { "active", "inactive", NULL };
static const char *const document_token_statuses[] = { "active", "expired",
	"revoked", NULL };
static const char *const document_guard_kinds[] = { "pii", "regex",
	"keywords", "length", NULL };
static const char *const document_guard_actions[] = { "block", "redact",
	"log", NULL };
static const char *const document_guard_types[] = { "email", "phone",
	"card", "iban", "ssn", "ipv4", "secret", NULL };

#define STRING(...)	DOCUMENT_STRING, __VA_ARGS__, NULL
#define END		{ .name = NULL }

static const struct document_field document_provider_fields[] = {
	{ "name", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_STRING,
	    .charset = CHARSET_NAME, .max = 63 }) },
	{ "driver", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_ENUM,
	    .choices = cmd_drivers }) },
	{ "url", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_URL }) },
	{ "credential", STRING(0, NULL, { .type = ARGS_ENUM,
	    .choices = document_credentials }) },
	{ "responses_api", DOCUMENT_BOOL, 0, NULL, { 0 }, NULL },
	/* The policy document itself (cube-attest-policy(5)), or null. */
	{ "attest_policy", STRING(DOCUMENT_NULLABLE | DOCUMENT_NEWER,
	    "attest_policy_text", { .type = ARGS_STRING,
	    .max = ATTEST_POLICY_FILE_MAX }) },
	{ "api_key_file", STRING(DOCUMENT_INPUT, NULL, { .type = ARGS_STRING,
	    .max = 4096 }) },
	{ "api_key_env", STRING(DOCUMENT_INPUT, NULL, { .type = ARGS_STRING,
	    .max = 255 }) },
	{ "api_key", DOCUMENT_REFUSED, DOCUMENT_INPUT, NULL, { .help =
	    "keys are never put in a document: give api_key_file or"
	    " api_key_env" }, NULL },
	END
};

static const struct document_kind document_provider = {
	"provider", "name", document_provider_fields, NULL
};

/* Every parameter of guardrail.create, by the same names. */
static const struct document_field document_guardrail_fields[] = {
	{ "key", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_STRING,
	    .charset = CHARSET_KEY, .max = 128 }) },
	{ "kind", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_ENUM,
	    .choices = document_guard_kinds }) },
	{ "action", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_ENUM,
	    .choices = document_guard_actions }) },
	{ "types", DOCUMENT_STRINGS, DOCUMENT_NULLABLE, NULL,
	    { .type = ARGS_ENUM, .choices = document_guard_types }, NULL },
	{ "patterns", DOCUMENT_STRINGS, DOCUMENT_NULLABLE, NULL,
	    { .type = ARGS_STRING, .max = 1024 }, NULL },
	{ "words", DOCUMENT_STRINGS, DOCUMENT_NULLABLE, NULL,
	    { .type = ARGS_STRING, .max = 128 }, NULL },
	{ "max_chars", DOCUMENT_INT, DOCUMENT_NULLABLE, NULL,
	    { .min = 1, .max = 100000000 }, NULL },
	{ "max_messages", DOCUMENT_INT, DOCUMENT_NULLABLE, NULL,
	    { .min = 1, .max = 100000 }, NULL },
	{ "description", STRING(0, NULL, { .type = ARGS_STRING,
	    .flags = ARGS_EMPTY, .max = 4096 }) },
	END
};

static const struct document_kind document_guardrail = {
	"guardrail", "key", document_guardrail_fields, NULL
};

/* One of a model's deployments, as model.deploy takes it. */
static const struct document_field document_deployment_fields[] = {
	{ "provider", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_STRING,
	    .charset = CHARSET_NAME, .max = 63 }) },
	{ "model_id", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_STRING,
	    .max = 512 }) },
	{ "weight", DOCUMENT_INT, 0, NULL, { .min = 1, .max = 1000 }, NULL },
	{ "priority", DOCUMENT_INT, 0, NULL, { .min = 0, .max = 100 }, NULL },
	END
};

static const struct document_kind document_deployment = {
	"deployment", NULL, document_deployment_fields,
	"{\"weight\":1,\"priority\":0}"
};

/*
 * Every parameter of model.deploy, by the same names. "provider" and
 * "model_id" are the first deployment's: required without "deployments"
 * (document_check_model).
 */
static const struct document_field document_model_fields[] = {
	{ "key", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_STRING,
	    .charset = CHARSET_KEY, .max = 128 }) },
	{ "name", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_STRING,
	    .max = 256 }) },
	{ "model_id", STRING(0, NULL, { .type = ARGS_STRING,
	    .max = 512 }) },
	{ "provider", STRING(0, NULL, { .type = ARGS_STRING,
	    .charset = CHARSET_NAME, .max = 63 }) },
	{ "category", STRING(0, NULL, { .type = ARGS_ENUM,
	    .choices = cmd_categories }) },
	{ "tools", DOCUMENT_BOOL, 0, "capabilities.tools", { 0 }, NULL },
	{ "vision", DOCUMENT_BOOL, 0, "capabilities.vision", { 0 }, NULL },
	{ "price_input", STRING(0, "pricing.input", { .type = ARGS_USD }) },
	{ "price_output", STRING(0, "pricing.output", { .type = ARGS_USD }) },
	{ "price_cached", STRING(0, "pricing.cached", { .type = ARGS_USD }) },
	{ "temperature", DOCUMENT_NUMBER, DOCUMENT_NULLABLE,
	    "settings.temperature", { .min = 0, .max = 2 }, NULL },
	{ "max_tokens", DOCUMENT_INT, DOCUMENT_NULLABLE, "settings.max_tokens",
	    { .min = 1, .max = 10000000 }, NULL },
	{ "system_prompt", STRING(DOCUMENT_NULLABLE, "settings.system_prompt",
	    { .type = ARGS_STRING, .flags = ARGS_EMPTY, .max = 65536 }) },
	{ "guard_in", DOCUMENT_STRINGS, 0, "guardrails.input",
	    { .type = ARGS_STRING, .charset = CHARSET_KEY, .max = 128 }, NULL },
	{ "guard_out", DOCUMENT_STRINGS, 0, "guardrails.output",
	    { .type = ARGS_STRING, .charset = CHARSET_KEY, .max = 128 }, NULL },
	{ "description", STRING(0, NULL, { .type = ARGS_STRING,
	    .flags = ARGS_EMPTY, .max = 4096 }) },
	{ "status", STRING(0, NULL, { .type = ARGS_ENUM,
	    .choices = document_statuses }) },
	{ "deployments", DOCUMENT_OBJECTS, DOCUMENT_NEWER, NULL, { 0 },
	    &document_deployment },
	{ "fallbacks", DOCUMENT_STRINGS, DOCUMENT_NEWER, NULL,
	    { .type = ARGS_STRING, .charset = CHARSET_KEY, .max = 128 }, NULL },
	{ "retries", DOCUMENT_INT, DOCUMENT_NEWER, NULL,
	    { .min = 0, .max = 5 }, NULL },
	{ "retry_deadline_ms", DOCUMENT_INT, DOCUMENT_NEWER, NULL,
	    { .min = 100, .max = 600000 }, NULL },
	END
};

static const struct document_kind document_model = {
	"model", "key", document_model_fields, NULL
};

/* Informational: apply never creates tokens (their secret shows once). */
static const struct document_field document_token_fields[] = {
	{ "name", STRING(DOCUMENT_NULLABLE, NULL, { .type = ARGS_STRING,
	    .flags = ARGS_EMPTY, .max = 256 }) },
	{ "status", STRING(0, NULL, { .type = ARGS_ENUM,
	    .choices = document_token_statuses }) },
	{ "expires_at", STRING(DOCUMENT_NULLABLE, NULL, { .type = ARGS_STRING,
	    .max = 64 }) },
	{ "models", DOCUMENT_STRINGS, DOCUMENT_NULLABLE, NULL,
	    { .type = ARGS_STRING, .charset = CHARSET_KEY, .max = 128 }, NULL },
	{ "rpm", DOCUMENT_INT, DOCUMENT_NULLABLE, NULL,
	    { .min = 1, .max = 1000000000 }, NULL },
	{ "tpm", DOCUMENT_INT, DOCUMENT_NULLABLE, NULL,
	    { .min = 1, .max = 1000000000 }, NULL },
	{ "budget", STRING(DOCUMENT_NULLABLE, NULL, { .type = ARGS_USD }) },
	{ "budget_period", STRING(DOCUMENT_NULLABLE, NULL, {
	    .type = ARGS_ENUM, .choices = cmd_budget_periods }) },
	END
};

static const struct document_kind document_token = {
	"token", NULL, document_token_fields, NULL
};

/*
 * A domain's settings, then its objects in the order apply makes them:
 * guardrails before the models that name them.
 */
static const struct document_field document_domain_fields[] = {
	{ "name", STRING(DOCUMENT_REQUIRED, NULL, { .type = ARGS_STRING,
	    .charset = CHARSET_DOMAIN, .max = 63 }) },
	{ "log_content", DOCUMENT_BOOL, 0, NULL, { 0 }, NULL },
	{ "trace_retention_days", DOCUMENT_INT, 0, NULL,
	    { .min = 1, .max = 3650 }, NULL },
	{ "cors_origins", DOCUMENT_STRINGS, DOCUMENT_NULLABLE, NULL,
	    { .type = ARGS_STRING, .max = 256 }, NULL },
	/* JWT/OIDC settings, as domain.get shows them; domain.edit checks. */
	{ "jwt", DOCUMENT_OBJECT, DOCUMENT_NULLABLE, NULL, { 0 }, NULL },
	/* Confidential routing; a provider's policy is set with cubectl. */
	{ "require_attested", DOCUMENT_BOOL, DOCUMENT_NEWER, NULL, { 0 },
	    NULL },
	{ "providers", DOCUMENT_LIST, 0, NULL, { 0 }, &document_provider },
	{ "guardrails", DOCUMENT_LIST, 0, NULL, { 0 }, &document_guardrail },
	{ "models", DOCUMENT_LIST, 0, NULL, { 0 }, &document_model },
	{ "tokens", DOCUMENT_LIST, 0, NULL, { 0 }, &document_token },
	END
};

static const struct document_kind document_domain = {
	"domain", "name", document_domain_fields, NULL
};

static const struct document_field document_top_fields[] = {
	{ "cube_export", DOCUMENT_INT, DOCUMENT_REQUIRED, NULL,
	    { .min = DOCUMENT_VERSION, .max = DOCUMENT_VERSION }, NULL },
	{ "domains", DOCUMENT_LIST, DOCUMENT_REQUIRED, NULL, { 0 },
	    &document_domain },
	END
};

static const struct document_kind document_top = {
	"document", NULL, document_top_fields, NULL
};

/*
 * A JSON path ("domains[0].models[2].key") into buf, cut short when it
 * does not fit: it only ever ends up in a message.
 */
void
document_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static cJSON *
document_check_alloc(cJSON *item)
{
	if (item == NULL)
		fatalx("document: out of memory");
	return item;
}

static void
document_add(cJSON *obj, const char *name, cJSON *item)
{
	if (!cJSON_AddItemToObject(obj, name, document_check_alloc(item)))
		fatalx("document: out of memory");
}

static const struct document_field *
document_field_find(const struct document_kind *k, const char *name)
{
	const struct document_field	*f;

	for (f = k->fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* --- export ----------------------------------------------------------- */

/*
 * The document form of an admin API object (a provider from
 * provider.list, a model from model.list...): every field the kind
 * exports, in table order, null when the object lacks it.
 */
static cJSON	*document_list(const struct document_kind *, const cJSON *);

static cJSON *
document_object(const struct document_kind *k, const cJSON *api)
{
	const struct document_field	*f;
	const cJSON			*v;
	cJSON				*o;

	o = document_check_alloc(cJSON_CreateObject());
	for (f = k->fields; f->name != NULL; f++) {
		if (f->value == DOCUMENT_LIST || (f->flags & DOCUMENT_INPUT))
			continue;
		v = output_lookup(api, f->path != NULL ? f->path : f->name);
		if (v == NULL && (f->flags & DOCUMENT_NEWER))
			continue;
		if (v != NULL && f->value == DOCUMENT_OBJECTS &&
		    cJSON_IsArray(v))
			document_add(o, f->name, document_list(f->kind, v));
		else
			document_add(o, f->name, v != NULL ?
			    cJSON_Duplicate(v, 1) : cJSON_CreateNull());
	}
	return o;
}

/* An array of API objects as an array of documents of kind k. */
static cJSON *
document_list(const struct document_kind *k, const cJSON *api)
{
	const cJSON	*e;
	cJSON		*a;

	a = document_check_alloc(cJSON_CreateArray());
	cJSON_ArrayForEach(e, api)
		cJSON_AddItemToArray(a, document_object(k, e));
	return a;
}

/*
 * One domain of a document from domain.get and the provider.list,
 * model.list and token.list results. Ids, times and runtime status are
 * left out, so the same configuration gives the same bytes on any agent.
 */
cJSON *
document_domain_new(const cJSON *domain, const cJSON *providers,
    const cJSON *guardrails, const cJSON *models, const cJSON *tokens)
{
	cJSON	*d;

	d = document_object(&document_domain, domain);
	document_add(d, "providers", document_list(&document_provider,
	    providers));
	document_add(d, "guardrails", document_list(&document_guardrail,
	    guardrails));
	document_add(d, "models", document_list(&document_model, models));
	document_add(d, "tokens", document_list(&document_token, tokens));
	return d;
}

/* An empty document of this version; add domains to its "domains". */
cJSON *
document_new(void)
{
	cJSON	*doc;

	doc = document_check_alloc(cJSON_CreateObject());
	document_add(doc, "cube_export", cJSON_CreateNumber(DOCUMENT_VERSION));
	document_add(doc, "domains", cJSON_CreateArray());
	return doc;
}

/* --- parsing and checking ---------------------------------------------- */

/*
 * Parse a document's text. Returns it (caller frees with cJSON_Delete),
 * or NULL with "line L, column C: ..." in err.
 */
cJSON *
document_parse(const char *text, size_t len, char *err, size_t errlen)
{
	const char	*end = NULL, *nul, *p;
	cJSON		*doc = NULL;
	size_t		 line = 1, col = 1;

	/* cJSON would cut "ev\u0000il" to "ev": say so instead. */
	if ((nul = rpc_json_find_nul(text, len)) != NULL)
		end = nul;
	else
		doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (doc != NULL) {
		for (; end < text + len; end++)
			if (strchr(" \t\r\n", *end) == NULL)
				break;
		if (end == text + len)
			return doc;
		cJSON_Delete(doc);
	}
	if (end == NULL || end < text || end > text + len)
		end = text + len;
	for (p = text; p < end; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	snprintf(err, errlen, "line %zu, column %zu: %s", line, col,
	    doc != NULL ? "text after the document" : nul != NULL ?
	    "a NUL character (\\u0000) in a string" : "not valid JSON");
	return NULL;
}

struct document_check {
	const cJSON	*current;	/* the agent's document, or NULL */
	char		*err;
	size_t		 errlen;
};

static int
document_fail(struct document_check *dc, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
document_fail(struct document_check *dc, const char *path, const char *fmt,
    ...)
{
	va_list	ap;
	int	n;

	n = snprintf(dc->err, dc->errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= dc->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(dc->err + n, dc->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int	document_check_object(struct document_check *,
		    const struct document_kind *, const cJSON *, const char *);

/* A string value checked by args.c as if it were a flag named path. */
static int
document_check_string(struct document_check *dc,
    const struct document_field *f, const cJSON *v, const char *path)
{
	struct args_flag	check = f->check;
	struct args_value	value;

	if (!cJSON_IsString(v))
		return document_fail(dc, path, "expected a string");
	check.name = path;
	if (args_check_value(&check, v->valuestring, &value, dc->err,
	    dc->errlen) == -1)
		return -1;
	return 0;
}

static int
document_check_value(struct document_check *dc,
    const struct document_field *f, const cJSON *v, const char *path)
{
	const cJSON	*e;
	char		 sub[DOCUMENT_PATH_MAX];
	size_t		 i = 0;
	double		 d;

	if (cJSON_IsNull(v)) {
		if (f->flags & DOCUMENT_NULLABLE)
			return 0;
		return document_fail(dc, path, "may not be null");
	}
	switch (f->value) {
	case DOCUMENT_STRING:
		return document_check_string(dc, f, v, path);
	case DOCUMENT_BOOL:
		if (!cJSON_IsBool(v))
			return document_fail(dc, path, "expected true or"
			    " false");
		return 0;
	case DOCUMENT_INT:
	case DOCUMENT_NUMBER:
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
			return document_fail(dc, path, "expected a number");
		d = v->valuedouble;
		if (f->value == DOCUMENT_INT && d != floor(d))
			return document_fail(dc, path, "expected an integer");
		if (d < (double)f->check.min || d > (double)f->check.max)
			return document_fail(dc, path, "%g is not from %lld"
			    " to %lld", d, (long long)f->check.min,
			    (long long)f->check.max);
		return 0;
	case DOCUMENT_STRINGS:
	case DOCUMENT_LIST:
	case DOCUMENT_OBJECTS:
		if (!cJSON_IsArray(v))
			return document_fail(dc, path, "expected an array");
		cJSON_ArrayForEach(e, v) {
			document_path(sub, sizeof(sub), "%s[%zu]", path, i++);
			if (f->value != DOCUMENT_STRINGS ?
			    document_check_object(dc, f->kind, e, sub) :
			    document_check_string(dc, f, e, sub))
				return -1;
		}
		return 0;
	case DOCUMENT_OBJECT:
		if (!cJSON_IsObject(v))
			return document_fail(dc, path, "expected an object");
		return 0;
	case DOCUMENT_REFUSED:
		return document_fail(dc, path, "%s", f->check.help);
	}
	return document_fail(dc, path, "unknown value type");
}

/* Known fields only, none twice, required ones there, each well-typed. */
static int
document_check_object(struct document_check *dc,
    const struct document_kind *k, const cJSON *obj, const char *path)
{
	const struct document_field	*f;
	const cJSON			*item, *other;
	char				 sub[DOCUMENT_PATH_MAX];

	if (!cJSON_IsObject(obj))
		return document_fail(dc, path, "expected an object (a %s)",
		    k->name);
	cJSON_ArrayForEach(item, obj) {
		document_path(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "",
		    item->string);
		for (other = item->next; other != NULL; other = other->next)
			if (strcmp(item->string, other->string) == 0)
				return document_fail(dc, sub, "given twice");
		if ((f = document_field_find(k, item->string)) == NULL)
			return document_fail(dc, sub, "unknown field of a %s",
			    k->name);
		if (document_check_value(dc, f, item, sub) == -1)
			return -1;
	}
	for (f = k->fields; f->name != NULL; f++)
		if ((f->flags & DOCUMENT_REQUIRED) &&
		    cJSON_GetObjectItemCaseSensitive(obj, f->name) == NULL)
			return document_fail(dc, *path ? path : "document",
			    "missing \"%s\"", f->name);
	return 0;
}

static const char *
document_string(const cJSON *obj, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The member of array list whose field id is value, or NULL. */
const cJSON *
document_find(const cJSON *list, const char *id, const char *value)
{
	const cJSON	*e;
	const char	*s;

	cJSON_ArrayForEach(e, list)
		if ((s = document_string(e, id)) != NULL &&
		    strcmp(s, value) == 0)
			return e;
	return NULL;
}

/* No two objects of one list share their id (a domain name, a key...). */
static int
document_check_unique(struct document_check *dc, const char *id,
    const cJSON *list, const char *path)
{
	const cJSON	*e, *other;
	const char	*s;
	char		 sub[DOCUMENT_PATH_MAX];
	size_t		 i = 0, j;

	cJSON_ArrayForEach(e, list) {
		s = document_string(e, id);
		for (other = e->next, j = i + 1; other != NULL;
		    other = other->next, j++) {
			if (strcmp(s, document_string(other, id)) != 0)
				continue;
			document_path(sub, sizeof(sub), "%s[%zu].%s", path, j, id);
			return document_fail(dc, sub, "'%s' is also at %s[%zu]",
			    s, path, i);
		}
		i++;
	}
	return 0;
}

/* Where a provider's key comes from, and whether it can be had. */
static int
document_check_provider(struct document_check *dc, const cJSON *p,
    const cJSON *have, const char *path)
{
	const cJSON	*file, *env, *hp = NULL;
	const char	*cred, *hcred;

	file = cJSON_GetObjectItemCaseSensitive(p, "api_key_file");
	env = cJSON_GetObjectItemCaseSensitive(p, "api_key_env");
	cred = document_string(p, "credential");
	if (file != NULL && env != NULL)
		return document_fail(dc, path, "api_key_file and api_key_env"
		    " cannot be used together");
	if ((file != NULL || env != NULL) && cred != NULL &&
	    strcmp(cred, "none") == 0)
		return document_fail(dc, path, "credential is \"none\" but"
		    " %s names a key", file != NULL ? "api_key_file" :
		    "api_key_env");
	if (file != NULL || env != NULL || cred == NULL ||
	    strcmp(cred, "sealed") != 0 || dc->current == NULL)
		return 0;
	/* "sealed" alone: keep the agent's key, which must be there. */
	if (have != NULL)
		hp = document_find(cJSON_GetObjectItemCaseSensitive(have,
		    "providers"), "name", document_string(p, "name"));
	hcred = hp != NULL ? document_string(hp, "credential") : NULL;
	if (hcred == NULL || strcmp(hcred, "sealed") != 0)
		return document_fail(dc, path, "credential is \"sealed\" but"
		    " the agent has no key for it and keys are never"
		    " exported: give api_key_file or api_key_env");
	return 0;
}

/* Each guardrail a model names is in the document or on the agent. */
static int
document_check_guards(struct document_check *dc, const cJSON *m,
    const cJSON *guardrails, const cJSON *have, const char *path)
{
	static const char *const	 lists[] = { "guard_in", "guard_out" };
	const cJSON			*e;
	char				 sub[DOCUMENT_PATH_MAX];
	size_t				 i, j;

	for (i = 0; i < 2; i++) {
		j = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(m,
		    lists[i])) {
			document_path(sub, sizeof(sub), "%s.%s[%zu]", path,
			    lists[i], j++);
			if (!cJSON_IsString(e) || document_find(guardrails,
			    "key", e->valuestring) != NULL || (have != NULL &&
			    document_find(cJSON_GetObjectItemCaseSensitive(have,
			    "guardrails"), "key", e->valuestring) != NULL))
				continue;
			return document_fail(dc, sub, "guardrail '%s' is"
			    " neither in the document nor on the agent",
			    e->valuestring);
		}
	}
	return 0;
}

/*
 * The provider called name, in the document's providers or the agent's
 * domain have (may be NULL); NULL when neither has it.
 */
static const cJSON *
document_provider_find(const cJSON *providers, const cJSON *have,
    const char *name)
{
	const cJSON	*p;

	if ((p = document_find(providers, "name", name)) != NULL)
		return p;
	if (have != NULL)
		return document_find(cJSON_GetObjectItemCaseSensitive(have,
		    "providers"), "name", name);
	return NULL;
}

/* A provider a model names: in the document, or (checked) on the agent. */
static int
document_check_provider_named(struct document_check *dc,
    const cJSON *providers, const cJSON *have, const char *name,
    const char *path)
{
	if (dc->current == NULL || document_provider_find(providers, have,
	    name) != NULL)
		return 0;
	return document_fail(dc, path, "provider '%s' is neither in the"
	    " document nor on the agent", name);
}

/*
 * A model's deployments: 1 to 16, no provider and model id twice, one
 * wire format (every provider ollama's, or none), each provider known.
 */
static int
document_check_deployments(struct document_check *dc, const cJSON *deps,
    const cJSON *providers, const cJSON *have, const char *path)
{
	const cJSON	*e, *o, *p;
	const char	*prov, *driver, *first = NULL, *first_prov = NULL;
	char		 sub[DOCUMENT_PATH_MAX];
	size_t		 i = 0, j;
	int		 n = cJSON_GetArraySize(deps);

	if (n < 1 || n > DOCUMENT_DEPLOYMENTS_MAX)
		return document_fail(dc, path, "%d deployments: give 1 to %d",
		    n, DOCUMENT_DEPLOYMENTS_MAX);
	cJSON_ArrayForEach(e, deps) {
		prov = document_string(e, "provider");
		j = 0;
		for (o = deps->child; o != e; o = o->next, j++) {
			if (strcmp(prov, document_string(o, "provider")) != 0 ||
			    strcmp(document_string(e, "model_id"),
			    document_string(o, "model_id")) != 0)
				continue;
			document_path(sub, sizeof(sub), "%s[%zu]", path, i);
			return document_fail(dc, sub, "provider '%s' and"
			    " model_id '%s' are also at %s[%zu]", prov,
			    document_string(e, "model_id"), path, j);
		}
		document_path(sub, sizeof(sub), "%s[%zu].provider", path, i++);
		if (document_check_provider_named(dc, providers, have, prov,
		    sub) == -1)
			return -1;
		if ((p = document_provider_find(providers, have, prov)) ==
		    NULL || (driver = document_string(p, "driver")) == NULL)
			continue;
		if (first == NULL) {
			first = driver;
			first_prov = prov;
		} else if ((strcmp(first, "ollama") == 0) !=
		    (strcmp(driver, "ollama") == 0))
			return document_fail(dc, sub, "provider '%s' is %s"
			    " and '%s' is %s: a model's deployments all speak"
			    " one wire format", prov, strcmp(driver, "ollama")
			    == 0 ? "ollama" : "not ollama", first_prov,
			    strcmp(first, "ollama") == 0 ? "ollama" :
			    "not");
	}
	return 0;
}

/* Up to 8 other models of the domain, none twice, each known. */
static int
document_check_fallbacks(struct document_check *dc, const cJSON *m,
    const cJSON *fallbacks, const cJSON *models, const cJSON *have,
    const char *path)
{
	const cJSON	*e, *o;
	const char	*key = document_string(m, "key");
	char		 sub[DOCUMENT_PATH_MAX];
	size_t		 i = 0, j;
	int		 n = cJSON_GetArraySize(fallbacks);

	if (n > DOCUMENT_FALLBACKS_MAX)
		return document_fail(dc, path, "%d fallbacks: give at most %d",
		    n, DOCUMENT_FALLBACKS_MAX);
	cJSON_ArrayForEach(e, fallbacks) {
		document_path(sub, sizeof(sub), "%s[%zu]", path, i);
		if (strcmp(e->valuestring, key) == 0)
			return document_fail(dc, sub, "a model cannot fall"
			    " back to itself");
		j = 0;
		for (o = fallbacks->child; o != e; o = o->next, j++)
			if (strcmp(o->valuestring, e->valuestring) == 0)
				return document_fail(dc, sub, "'%s' is also"
				    " at %s[%zu]", e->valuestring, path, j);
		i++;
		if (dc->current == NULL || document_find(models, "key",
		    e->valuestring) != NULL || (have != NULL &&
		    document_find(cJSON_GetObjectItemCaseSensitive(have,
		    "models"), "key", e->valuestring) != NULL))
			continue;
		return document_fail(dc, sub, "model '%s' is neither in the"
		    " document nor on the agent", e->valuestring);
	}
	return 0;
}

/*
 * A model's deployments, given as "deployments" or as the old "provider"
 * and "model_id" (with both, those two name the first deployment), and
 * its fallbacks.
 */
static int
document_check_model(struct document_check *dc, const cJSON *m,
    const cJSON *providers, const cJSON *models, const cJSON *have,
    const char *path)
{
	static const char *const	 first[] = { "provider", "model_id" };
	const cJSON			*deps, *fallbacks;
	const char			*v, *d;
	char				 sub[DOCUMENT_PATH_MAX];
	size_t				 i;

	deps = cJSON_GetObjectItemCaseSensitive(m, "deployments");
	fallbacks = cJSON_GetObjectItemCaseSensitive(m, "fallbacks");
	if (deps == NULL) {
		for (i = 0; i < 2; i++)
			if (document_string(m, first[i]) == NULL)
				return document_fail(dc, path, "missing"
				    " \"%s\" (or \"deployments\")", first[i]);
		document_path(sub, sizeof(sub), "%s.provider", path);
		if (document_check_provider_named(dc, providers, have,
		    document_string(m, "provider"), sub) == -1)
			return -1;
	} else {
		document_path(sub, sizeof(sub), "%s.deployments", path);
		if (document_check_deployments(dc, deps, providers, have,
		    sub) == -1)
			return -1;
		for (i = 0; i < 2; i++) {
			v = document_string(m, first[i]);
			d = document_string(deps->child, first[i]);
			if (v == NULL || strcmp(v, d) == 0)
				continue;
			document_path(sub, sizeof(sub), "%s.%s", path,
			    first[i]);
			return document_fail(dc, sub, "'%s' is not the first"
			    " deployment's '%s': leave it out, or make it the"
			    " same", v, d);
		}
	}
	if (fallbacks == NULL)
		return 0;
	document_path(sub, sizeof(sub), "%s.fallbacks", path);
	return document_check_fallbacks(dc, m, fallbacks, models, have, sub);
}

/* Providers, models and keys of one domain against each other and the agent. */
static int
document_check_domain(struct document_check *dc, const cJSON *d,
    const char *path)
{
	const cJSON	*have = NULL, *providers, *models, *guardrails, *e;
	char		 sub[DOCUMENT_PATH_MAX];
	size_t		 i;

	if (dc->current != NULL)
		have = document_find(cJSON_GetObjectItemCaseSensitive(
		    dc->current, "domains"), "name", document_string(d,
		    "name"));
	providers = cJSON_GetObjectItemCaseSensitive(d, "providers");
	models = cJSON_GetObjectItemCaseSensitive(d, "models");
	guardrails = cJSON_GetObjectItemCaseSensitive(d, "guardrails");
	document_path(sub, sizeof(sub), "%s.providers", path);
	if (document_check_unique(dc, "name", providers, sub) == -1)
		return -1;
	document_path(sub, sizeof(sub), "%s.guardrails", path);
	if (document_check_unique(dc, "key", guardrails, sub) == -1)
		return -1;
	document_path(sub, sizeof(sub), "%s.models", path);
	if (document_check_unique(dc, "key", models, sub) == -1)
		return -1;
	i = 0;
	cJSON_ArrayForEach(e, providers) {
		document_path(sub, sizeof(sub), "%s.providers[%zu]", path, i++);
		if (document_check_provider(dc, e, have, sub) == -1)
			return -1;
	}
	i = 0;
	cJSON_ArrayForEach(e, models) {
		document_path(sub, sizeof(sub), "%s.models[%zu]", path, i++);
		if (dc->current != NULL && document_check_guards(dc, e,
		    guardrails, have, sub) == -1)
			return -1;
		if (document_check_model(dc, e, providers, models, have, sub) ==
		    -1)
			return -1;
	}
	return 0;
}

/*
 * Check a whole document: its shape (known fields, types, values, none
 * twice, required ones present), unique names and where keys come from.
 * With current (the agent's own document) also that every model's
 * provider is in the document or on the agent, and that a provider kept
 * "sealed" without a key file has a key there; NULL checks the document
 * alone. Returns 0, or -1 with the JSON path of the first problem in err.
 */
int
document_check(const cJSON *doc, const cJSON *current, char *err,
    size_t errlen)
{
	struct document_check	 dc = { current, err, errlen };
	const cJSON		*domains, *d;
	char			 path[DOCUMENT_PATH_MAX];
	size_t			 i = 0;

	if (document_check_object(&dc, &document_top, doc, "") == -1)
		return -1;
	domains = cJSON_GetObjectItemCaseSensitive(doc, "domains");
	if (document_check_unique(&dc, "name", domains, "domains") == -1)
		return -1;
	cJSON_ArrayForEach(d, domains) {
		document_path(path, sizeof(path), "domains[%zu]", i++);
		if (document_check_domain(&dc, d, path) == -1)
			return -1;
	}
	return 0;
}

/* --- comparing ----------------------------------------------------------- */

static int	document_same(const struct document_field *, const cJSON *,
		    const cJSON *);

/*
 * Do want's objects of kind k mean have's, one by one, in order? A member
 * want leaves out means the kind's default (a deployment's weight 1).
 */
static int
document_same_objects(const struct document_kind *k, const cJSON *want,
    const cJSON *have)
{
	const struct document_field	*f;
	const cJSON			*w, *h, *wv;
	cJSON				*defaults = NULL;
	int				 same = 1;

	if (!cJSON_IsArray(want) || !cJSON_IsArray(have))
		return cJSON_Compare(want, have, 1);
	if (cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
		return 0;
	if (k->defaults != NULL)
		defaults = document_check_alloc(cJSON_Parse(k->defaults));
	for (w = want->child, h = have->child; w != NULL && h != NULL &&
	    same; w = w->next, h = h->next) {
		for (f = k->fields; f->name != NULL && same; f++) {
			if ((wv = cJSON_GetObjectItemCaseSensitive(w,
			    f->name)) == NULL)
				wv = cJSON_GetObjectItemCaseSensitive(defaults,
				    f->name);
			same = document_same(f, wv,
			    cJSON_GetObjectItemCaseSensitive(h, f->name));
		}
	}
	cJSON_Delete(defaults);
	return same;
}

/* Do two values of field f mean the same (money by amount, not spelling)? */
static int
document_same(const struct document_field *f, const cJSON *a, const cJSON *b)
{
	int64_t	x, y;
	char	err[128];

	if (a == NULL || b == NULL)
		return a == b;
	if (f->value == DOCUMENT_OBJECTS)
		return document_same_objects(f->kind, a, b);
	if (f->value == DOCUMENT_STRING && f->check.type == ARGS_USD &&
	    cJSON_IsString(a) && cJSON_IsString(b) &&
	    money_parse_usd(a->valuestring, &x, err, sizeof(err)) == 0 &&
	    money_parse_usd(b->valuestring, &y, err, sizeof(err)) == 0)
		return x == y;
	return cJSON_Compare(a, b, 1);
}

/*
 * What an edit must send to make have (a document object of kind, from
 * the agent) match want (one from a checked document): the fields want
 * gives whose values differ. Fields want leaves out are left alone.
 * Returns a new object (caller frees), or NULL when nothing differs.
 */
static cJSON *
document_changes(const struct document_kind *k, const cJSON *want,
    const cJSON *have)
{
	const struct document_field	*f;
	const cJSON			*w;
	cJSON				*changes = NULL;

	for (f = k->fields; f->name != NULL; f++) {
		if (f->value == DOCUMENT_LIST || (f->flags & DOCUMENT_INPUT) ||
		    (k->id != NULL && strcmp(f->name, k->id) == 0))
			continue;
		if ((w = cJSON_GetObjectItemCaseSensitive(want, f->name)) ==
		    NULL || document_same(f, w,
		    cJSON_GetObjectItemCaseSensitive(have, f->name)))
			continue;
		if (changes == NULL)
			changes = document_check_alloc(cJSON_CreateObject());
		document_add(changes, f->name, cJSON_Duplicate(w, 1));
	}
	return changes;
}

cJSON *
document_domain_changes(const cJSON *want, const cJSON *have)
{
	return document_changes(&document_domain, want, have);
}

/*
 * "deployments" and the old "provider" and "model_id" are two forms the
 * agent takes one of: with the list, the first deployment's pair goes.
 */
static cJSON *
document_model_form(cJSON *params, const cJSON *want)
{
	if (params == NULL ||
	    cJSON_GetObjectItemCaseSensitive(want, "deployments") == NULL)
		return params;
	cJSON_DeleteItemFromObjectCaseSensitive(params, "provider");
	cJSON_DeleteItemFromObjectCaseSensitive(params, "model_id");
	if (params->child == NULL) {
		cJSON_Delete(params);
		return NULL;
	}
	return params;
}

cJSON *
document_model_changes(const cJSON *want, const cJSON *have)
{
	return document_model_form(document_changes(&document_model, want,
	    have), want);
}

cJSON *
document_guardrail_changes(const cJSON *want, const cJSON *have)
{
	return document_changes(&document_guardrail, want, have);
}

/*
 * The settings of want (a document object of kind domain or model) that
 * its create call takes: every field but lists and apply's own.
 */
static cJSON *
document_settings(const struct document_kind *k, const cJSON *want)
{
	const struct document_field	*f;
	const cJSON			*w;
	cJSON				*o;

	o = document_check_alloc(cJSON_CreateObject());
	for (f = k->fields; f->name != NULL; f++) {
		if (f->value == DOCUMENT_LIST || (f->flags & DOCUMENT_INPUT) ||
		    (w = cJSON_GetObjectItemCaseSensitive(want, f->name)) ==
		    NULL)
			continue;
		document_add(o, f->name, cJSON_Duplicate(w, 1));
	}
	return o;
}

cJSON *
document_model_settings(const cJSON *want)
{
	cJSON	*o;

	if ((o = document_model_form(document_settings(&document_model,
	    want), want)) == NULL)
		o = document_check_alloc(cJSON_CreateObject());
	return o;
}

cJSON *
document_guardrail_settings(const cJSON *want)
{
	return document_settings(&document_guardrail, want);
}
