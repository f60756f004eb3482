/*
 * cubectl apply: make the agent match a document (document.c). The whole
 * document is checked, keys are read and sealed and existing providers
 * compared before the first change; then domains, providers, guardrails
 * and models are created or changed in that order, and every object is reported as
 * created, changed or unchanged (with what changed). A domain's model
 * fallbacks are set once all its models exist, so models may name each
 * other. Nothing missing from the document is deleted, and tokens are
 * never created: their secret shows only once. --dry-run reports the
 * plan and makes none of the changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define APPLY_MAX_CALLS		2	/* domain.create, then domain.edit */
#define APPLY_PATH_MAX		256
#define APPLY_TOKEN_NOTE	"tokens are not applied; create them with" \
				" cubectl token create"

enum apply_action {
	APPLY_CREATED,
	APPLY_CHANGED,
	APPLY_UNCHANGED,
};

static const char *const apply_actions[] = {
	[APPLY_CREATED] =	"created",
	[APPLY_CHANGED] =	"changed",
	[APPLY_UNCHANGED] =	"unchanged",
};

struct apply_call {
	const char	*method;
	cJSON		*params;
};

/* One object of the document: what happens to it, and the calls that do it. */
struct apply_step {
	enum apply_action	 action;
	const char		*kind;
	const char		*domain;	/* borrowed from the document */
	const char		*name;		/* borrowed; NULL: unnamed */
	const char		*note;
	cJSON			*changes;	/* owned: names of the fields
						   changed, or NULL */
	int			 quiet;		/* a later part of an object
						   already reported */
	struct apply_call	 calls[APPLY_MAX_CALLS];
	size_t			 ncalls;
};

struct apply_plan {
	struct apply_step	*steps;
	size_t			 nsteps;
};

static void
apply_plan_free(struct apply_plan *plan)
{
	size_t	i, j;

	for (i = 0; i < plan->nsteps; i++) {
		for (j = 0; j < plan->steps[i].ncalls; j++)
			cJSON_Delete(plan->steps[i].calls[j].params);
		cJSON_Delete(plan->steps[i].changes);
	}
	free(plan->steps);
	memset(plan, 0, sizeof(*plan));
}

static struct apply_step *
apply_step_add(struct apply_plan *plan, enum apply_action action,
    const char *kind, const char *domain, const char *name)
{
	struct apply_step	*s;

	plan->steps = xreallocarray(plan->steps, plan->nsteps + 1,
	    sizeof(*plan->steps));
	s = &plan->steps[plan->nsteps++];
	memset(s, 0, sizeof(*s));
	s->action = action;
	s->kind = kind;
	s->domain = domain;
	s->name = name;
	return s;
}

/* Add a call of method with params (taken) to the step. */
static void
apply_call_add(struct apply_step *s, const char *method, cJSON *params)
{
	if (s->ncalls == APPLY_MAX_CALLS)
		fatalx("%s: too many calls", __func__);
	s->calls[s->ncalls].method = method;
	s->calls[s->ncalls].params = params;
	s->ncalls++;
}

/* Move later's steps to the end of plan. */
static void
apply_plan_append(struct apply_plan *plan, struct apply_plan *later)
{
	if (later->nsteps == 0)
		return;
	plan->steps = xreallocarray(plan->steps, plan->nsteps + later->nsteps,
	    sizeof(*plan->steps));
	memcpy(plan->steps + plan->nsteps, later->steps, later->nsteps *
	    sizeof(*later->steps));
	plan->nsteps += later->nsteps;
	free(later->steps);
	memset(later, 0, sizeof(*later));
}

/* The names of the members of changes, for the report: a new array. */
static cJSON *
apply_changed_names(const cJSON *changes)
{
	const cJSON	*e;
	cJSON		*names;

	if ((names = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_ArrayForEach(e, changes)
		cJSON_AddItemToArray(names, cJSON_CreateString(e->string));
	return names;
}

/* {"domain": domain} and, when given, fields' members. */
static cJSON *
apply_params(const char *domain, cJSON *fields)
{
	cJSON	*params;

	params = fields != NULL ? fields : cJSON_CreateObject();
	if (params == NULL || cJSON_AddStringToObject(params, "domain",
	    domain) == NULL)
		fatalx("%s: out of memory", __func__);
	return params;
}

static const char *
apply_string(const cJSON *obj, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void
apply_copy(cJSON *to, const cJSON *from, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(from, name);

	if (v != NULL && !cJSON_AddItemToObject(to, name,
	    cJSON_Duplicate(v, 1)))
		fatalx("%s: out of memory", __func__);
}

/*
 * The key of api_key_file or api_key_env, sealed into params as
 * "credential" (nothing when p names neither). Returns an exit status.
 */
static int
apply_provider_key(struct cubectl *c, const cJSON *p, const char *path,
    cJSON *params)
{
	const char	*file, *env, *value;
	char		 what[APPLY_PATH_MAX + 32];
	int		 fd, rc;

	file = apply_string(p, "api_key_file");
	env = apply_string(p, "api_key_env");
	if (file != NULL) {
		document_path(what, sizeof(what), "%s.api_key_file", path);
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
			output_error("%s: %s: %s", what, file, strerror(errno));
			return EXIT_USAGE;
		}
		rc = cmd_provider_seal(c, fd, what, apply_string(p, "name"),
		    params);
		close(fd);
		return rc;
	}
	if (env != NULL) {
		if ((value = getenv(env)) == NULL || *value == '\0') {
			output_error("%s.api_key_env: $%s is not set", path,
			    env);
			return EXIT_USAGE;
		}
		return cmd_provider_seal_key(c, (const unsigned char *)value,
		    strlen(value), params);
	}
	return EXIT_OK;
}

/*
 * A provider: added when the agent lacks it; else the agent says, by a
 * dry run of provider.edit, whether the driver, URL, key or Responses API
 * differ.
 */
static int
apply_plan_provider(struct cubectl *c, struct apply_plan *plan,
    const char *domain, const cJSON *p, const cJSON *have, const char *path)
{
	struct apply_step	*s;
	const char		*name = apply_string(p, "name");
	const char		*cred = apply_string(p, "credential");
	cJSON			*params, *dry, *result;
	int			 rc, changed;

	params = apply_params(domain, NULL);
	apply_copy(params, p, "name");
	apply_copy(params, p, "driver");
	apply_copy(params, p, "url");
	apply_copy(params, p, "responses_api");
	/* Absent (an older export): the agent's policy stays as it is. */
	apply_copy(params, p, "attest_policy");
	if ((rc = apply_provider_key(c, p, path, params)) != EXIT_OK) {
		cJSON_Delete(params);
		return rc;
	}
	if (document_find(cJSON_GetObjectItemCaseSensitive(have, "providers"),
	    "name", name) == NULL) {
		s = apply_step_add(plan, APPLY_CREATED, "provider", domain,
		    name);
		apply_call_add(s, "provider.add", params);
		return EXIT_OK;
	}
	if (cred != NULL && strcmp(cred, "none") == 0)
		cJSON_AddNullToObject(params, "credential");
	if ((dry = cJSON_Duplicate(params, 1)) == NULL ||
	    cJSON_AddTrueToObject(dry, "dry_run") == NULL)
		fatalx("%s: out of memory", __func__);
	if ((rc = client_call(c, "provider.edit", dry, &result)) != EXIT_OK) {
		cJSON_Delete(params);
		return rc;
	}
	changed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result,
	    "changed"));
	cJSON_Delete(result);
	s = apply_step_add(plan, changed ? APPLY_CHANGED : APPLY_UNCHANGED,
	    "provider", domain, name);
	if (changed)
		apply_call_add(s, "provider.edit", params);
	else
		cJSON_Delete(params);
	return EXIT_OK;
}

/* A guardrail: created when the agent lacks it, else edited to match. */
static void
apply_plan_guardrail(struct apply_plan *plan, const char *domain,
    const cJSON *g, const cJSON *have)
{
	struct apply_step	*s;
	const cJSON		*hg;
	const char		*key = apply_string(g, "key");
	cJSON			*changes;

	hg = document_find(cJSON_GetObjectItemCaseSensitive(have,
	    "guardrails"), "key", key);
	if (hg == NULL) {
		s = apply_step_add(plan, APPLY_CREATED, "guardrail", domain,
		    key);
		apply_call_add(s, "guardrail.create", apply_params(domain,
		    document_guardrail_settings(g)));
		return;
	}
	if ((changes = document_guardrail_changes(g, hg)) == NULL) {
		apply_step_add(plan, APPLY_UNCHANGED, "guardrail", domain, key);
		return;
	}
	s = apply_step_add(plan, APPLY_CHANGED, "guardrail", domain, key);
	s->changes = apply_changed_names(changes);
	if (cJSON_AddStringToObject(changes, "key", key) == NULL)
		fatalx("%s: out of memory", __func__);
	apply_call_add(s, "guardrail.edit", apply_params(domain, changes));
}

/*
 * A model: deployed when the agent lacks it, else edited to match. Its
 * fallbacks go to a quiet step of later, run once every model of the
 * domain exists.
 */
static void
apply_plan_model(struct apply_plan *plan, struct apply_plan *later,
    const char *domain, const cJSON *m, const cJSON *have)
{
	struct apply_step	*s;
	const cJSON		*hm;
	const char		*key = apply_string(m, "key");
	cJSON			*changes, *fallbacks, *names = NULL, *params;

	hm = document_find(cJSON_GetObjectItemCaseSensitive(have, "models"),
	    "key", key);
	if (hm == NULL) {
		changes = document_model_settings(m);
		fallbacks = cJSON_DetachItemFromObjectCaseSensitive(changes,
		    "fallbacks");
		s = apply_step_add(plan, APPLY_CREATED, "model", domain, key);
		apply_call_add(s, "model.deploy", apply_params(domain,
		    changes));
		if (cJSON_GetArraySize(fallbacks) == 0) {
			cJSON_Delete(fallbacks);
			return;
		}
	} else {
		if ((changes = document_model_changes(m, hm)) == NULL) {
			apply_step_add(plan, APPLY_UNCHANGED, "model", domain,
			    key);
			return;
		}
		names = apply_changed_names(changes);
		fallbacks = cJSON_DetachItemFromObjectCaseSensitive(changes,
		    "fallbacks");
		s = apply_step_add(plan, APPLY_CHANGED, "model", domain, key);
		s->changes = names;
		if (changes->child != NULL) {
			if (cJSON_AddStringToObject(changes, "key", key) ==
			    NULL)
				fatalx("%s: out of memory", __func__);
			apply_call_add(s, "model.edit", apply_params(domain,
			    changes));
		} else
			cJSON_Delete(changes);
		if (fallbacks == NULL)
			return;
	}
	if ((params = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(params, "key", key) == NULL ||
	    !cJSON_AddItemToObject(params, "fallbacks", fallbacks))
		fatalx("%s: out of memory", __func__);
	s = apply_step_add(later, APPLY_CHANGED, "model", domain, key);
	s->quiet = 1;
	apply_call_add(s, "model.edit", apply_params(domain, params));
}

/* One domain of the document against the agent's (have, or NULL). */
static int
apply_plan_domain(struct cubectl *c, struct apply_plan *plan,
    const cJSON *d, const cJSON *have, const char *path)
{
	struct apply_plan	 later = { NULL, 0 };
	struct apply_step	*s;
	const cJSON		*e;
	const char		*name = apply_string(d, "name");
	char			 sub[APPLY_PATH_MAX];
	cJSON			*changes, *params;
	size_t			 i = 0;
	int			 rc;

	changes = document_domain_changes(d, have);
	if (have == NULL) {
		s = apply_step_add(plan, APPLY_CREATED, "domain", name, NULL);
		params = cJSON_CreateObject();
		if (params == NULL || cJSON_AddStringToObject(params, "name",
		    name) == NULL)
			fatalx("%s: out of memory", __func__);
		apply_call_add(s, "domain.create", params);
	} else
		s = apply_step_add(plan, changes != NULL ? APPLY_CHANGED :
		    APPLY_UNCHANGED, "domain", name, NULL);
	if (have != NULL && changes != NULL)
		s->changes = apply_changed_names(changes);
	if (changes != NULL)
		apply_call_add(s, "domain.edit", apply_params(name, changes));

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d,
	    "providers")) {
		document_path(sub, sizeof(sub), "%s.providers[%zu]", path, i++);
		if ((rc = apply_plan_provider(c, plan, name, e, have, sub)) !=
		    EXIT_OK)
			return rc;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d,
	    "guardrails"))
		apply_plan_guardrail(plan, name, e, have);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "models"))
		apply_plan_model(plan, &later, name, e, have);
	apply_plan_append(plan, &later);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "tokens")) {
		s = apply_step_add(plan, APPLY_UNCHANGED, "token", name,
		    apply_string(e, "name"));
		s->note = APPLY_TOKEN_NOTE;
	}
	return EXIT_OK;
}

/* Read the whole file ("-": standard input). Returns an exit status. */
static int
apply_read(const char *path, char **text, size_t *len)
{
	char	err[1024];

	if (file_read(path, RPC_MAX_FRAME, text, len, err, sizeof(err)) ==
	    -1) {
		output_error("-f: %s", err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* What a dry run reports instead of apply_actions. */
static const char *const apply_dry_actions[] = {
	[APPLY_CREATED] =	"to create",
	[APPLY_CHANGED] =	"to change",
	[APPLY_UNCHANGED] =	"unchanged",
};

/* "changed    model      acme/chat  # deployments, fallbacks" */
static void
apply_print(const struct apply_step *s, int dry_run)
{
	const cJSON	*e;

	printf("%-9s  %-9s  %s%s%s", (dry_run ? apply_dry_actions :
	    apply_actions)[s->action], s->kind,
	    s->domain, strcmp(s->kind, "domain") != 0 ? "/" : "",
	    strcmp(s->kind, "domain") != 0 ? (s->name != NULL ? s->name :
	    "-") : "");
	if (s->note != NULL)
		printf("  # %s", s->note);
	else if (cJSON_GetArraySize(s->changes) > 0) {
		fputs("  #", stdout);
		cJSON_ArrayForEach(e, s->changes)
			printf("%s %s", e == s->changes->child ? "" : ",",
			    e->valuestring);
	}
	putchar('\n');
}

static cJSON *
apply_step_json(const struct apply_step *s)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "action", apply_actions[s->action]);
	cJSON_AddStringToObject(o, "kind", s->kind);
	cJSON_AddStringToObject(o, "domain", s->domain);
	if (strcmp(s->kind, "domain") == 0)
		cJSON_AddStringToObject(o, "name", s->domain);
	else if (s->name != NULL)
		cJSON_AddStringToObject(o, "name", s->name);
	else
		cJSON_AddNullToObject(o, "name");
	if (s->note != NULL)
		cJSON_AddStringToObject(o, "note", s->note);
	if (s->changes != NULL)
		cJSON_AddItemToObject(o, "changes",
		    cJSON_Duplicate(s->changes, 1));
	return o;
}

/*
 * Make the calls in order; report each object as it is done. A dry run
 * makes none and reports what would be done.
 */
static int
apply_run(struct cubectl *c, struct apply_plan *plan, const char *file,
    int dry_run)
{
	struct apply_step	*s;
	cJSON			*report, *result;
	size_t			 i, j, counts[3] = { 0, 0, 0 };
	int			 rc = EXIT_OK;

	if ((report = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < plan->nsteps && rc == EXIT_OK; i++) {
		s = &plan->steps[i];
		for (j = 0; !dry_run && j < s->ncalls && rc == EXIT_OK; j++) {
			rc = client_call(c, s->calls[j].method,
			    s->calls[j].params, &result);
			s->calls[j].params = NULL;	/* consumed */
			cJSON_Delete(result);
		}
		if (rc != EXIT_OK) {
			output_error("apply stopped at %s %s%s%s; what is"
			    " reported above was done", s->kind, s->domain,
			    s->name != NULL ? "/" : "",
			    s->name != NULL ? s->name : "");
			break;
		}
		if (s->quiet)
			continue;
		counts[s->action]++;
		if (c->output == CUBECTL_JSON) {
			result = apply_step_json(s);
			if (dry_run && cJSON_AddTrueToObject(result,
			    "dry_run") == NULL)
				fatalx("%s: out of memory", __func__);
			cJSON_AddItemToArray(report, result);
		} else
			apply_print(s, dry_run);
	}
	if (c->output == CUBECTL_JSON)
		output_json(report);
	else if (rc == EXIT_OK && counts[APPLY_CREATED] +
	    counts[APPLY_CHANGED] == 0)
		printf("nothing to change: the agent matches %s\n", file);
	else if (rc == EXIT_OK)
		printf("%s%zu created, %zu changed, %zu unchanged\n",
		    dry_run ? "dry run, nothing done: would be " : "",
		    counts[APPLY_CREATED], counts[APPLY_CHANGED],
		    counts[APPLY_UNCHANGED]);
	cJSON_Delete(report);
	return rc;
}

/*
 * Read, parse and check -f's document alone (a bad file needs no agent).
 * Returns an exit status; on EXIT_OK *doc is the document (caller frees).
 */
int
cmd_apply_load(const struct args *a, cJSON **doc)
{
	const char	*file = args_get(a, "-f")->string;
	char		*text, err[1024];
	size_t		 len;
	int		 rc;

	if ((rc = apply_read(file, &text, &len)) != EXIT_OK)
		return rc;
	*doc = document_parse(text, len, err, sizeof(err));
	free(text);
	if (*doc == NULL) {
		output_error("%s: %s", file, err);
		return EXIT_USAGE;
	}
	if (document_check(*doc, NULL, err, sizeof(err)) == -1) {
		output_error("%s: %s", file, err);
		cJSON_Delete(*doc);
		*doc = NULL;
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int
cmd_apply(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	struct apply_plan	 plan;
	const char		*file = args_get(a, "-f")->string;
	const cJSON		*d;
	cJSON			*doc = c->document, *current = NULL;
	char			 err[1024], path[APPLY_PATH_MAX];
	size_t			 i = 0;
	int			 rc;

	(void)ce;
	memset(&plan, 0, sizeof(plan));
	/* Several hosts share the document read once (fleet.c). */
	if (doc == NULL && (rc = cmd_apply_load(a, &doc)) != EXIT_OK)
		return rc;
	if ((rc = cmd_export_document(c, NULL, &current)) != EXIT_OK)
		goto out;
	if (document_check(doc, current, err, sizeof(err)) == -1) {
		output_error("%s: %s", file, err);
		rc = EXIT_USAGE;
		goto out;
	}
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(doc,
	    "domains")) {
		document_path(path, sizeof(path), "domains[%zu]", i++);
		if ((rc = apply_plan_domain(c, &plan, d, document_find(
		    cJSON_GetObjectItemCaseSensitive(current, "domains"),
		    "name", apply_string(d, "name")), path)) != EXIT_OK)
			goto out;
	}
	rc = apply_run(c, &plan, file, args_has(a, "--dry-run"));
out:
	apply_plan_free(&plan);
	cJSON_Delete(current);
	if (doc != c->document)
		cJSON_Delete(doc);
	return rc;
}
