/*
 * A model's routing form (Configure's d): its deployments, a line each as
 * cubectl's --deployment takes them (provider=P,model-id=ID,weight=N,
 * priority=N; emptying a line removes that deployment, the empty last
 * line adds one), the models it falls back to, its retries and their
 * deadline. Lines are checked by cubectl's own parser before one
 * model.edit sends what changed. Runs on cube-tui's main thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "log.h"
#include "xmalloc.h"

#define FORM_ROUTING_DEPLOYMENTS	16	/* a model's most */
#define FORM_ROUTING_KEY_MAX		160

static const char *const form_routing_labels[FORM_ROUTING_DEPLOYMENTS] = {
	"deployment 1", "deployment 2", "deployment 3", "deployment 4",
	"deployment 5", "deployment 6", "deployment 7", "deployment 8",
	"deployment 9", "deployment 10", "deployment 11", "deployment 12",
	"deployment 13", "deployment 14", "deployment 15", "deployment 16",
};

/* The fields after the deployments', by label. */
#define FORM_ROUTING_FALLBACKS	"fallbacks"
#define FORM_ROUTING_RETRIES	"retries"
#define FORM_ROUTING_DEADLINE	"deadline ms"

static struct {
	struct form	*form;		/* NULL: none open */
	char		 key[FORM_ROUTING_KEY_MAX];
	size_t		 ndeps;		/* deployment fields */
	char		*deps;		/* the lines as they were, "\n"-joined */
	char		*fallbacks;	/* as it was */
	char		 retries[16];
	char		 deadline[16];
	int		 cut;		/* a value did not fit its field */
} form_routing;

static void	form_routing_submit(struct tui *, struct form *);

static void
form_routing_reset(void)
{
	free(form_routing.deps);
	free(form_routing.fallbacks);
	memset(&form_routing, 0, sizeof(form_routing));
}

/* The form, if it is the one on screen; else NULL. */
static struct form *
form_routing_live(struct tui *t)
{
	struct form	*f = form_routing.form;

	if (f == NULL || t->form != f || f->submit != form_routing_submit)
		return NULL;
	return f;
}

/* A deployment as its line: "provider=P,model-id=ID,weight=N,priority=N". */
static char *
form_routing_line(const cJSON *d)
{
	const cJSON	*p, *m, *w, *pr;
	char		*line;

	p = cJSON_GetObjectItemCaseSensitive(d, "provider");
	m = cJSON_GetObjectItemCaseSensitive(d, "model_id");
	w = cJSON_GetObjectItemCaseSensitive(d, "weight");
	pr = cJSON_GetObjectItemCaseSensitive(d, "priority");
	xasprintf(&line, "provider=%s,model-id=%s,weight=%d,priority=%d",
	    cJSON_IsString(p) ? p->valuestring : "",
	    cJSON_IsString(m) ? m->valuestring : "",
	    cJSON_IsNumber(w) ? w->valueint : 1,
	    cJSON_IsNumber(pr) ? pr->valueint : 0);
	return line;
}

/* Set a text field to s, noting when it does not fit whole. */
static void
form_routing_set(struct form_field *ff, const char *s)
{
	form_set(ff, s);
	if (strcmp(ff->value, s) != 0)
		form_routing.cut = 1;
}

/* The deployment lines of the form, non-empty ones, "\n"-joined. */
static char *
form_routing_deps(struct form *f)
{
	char	*all = xstrdup(""), *next;
	size_t	 i;

	for (i = 0; i < form_routing.ndeps; i++) {
		if (f->fields[i].value[0] == '\0')
			continue;
		xasprintf(&next, "%s%s%s", all, *all != '\0' ? "\n" : "",
		    f->fields[i].value);
		free(all);
		all = next;
	}
	return all;
}

/*
 * The deployment lines as model.edit's "deployments", checked as cubectl
 * checks --deployment; NULL with why in err.
 */
static cJSON *
form_routing_deployments(struct form *f, char *err, size_t errlen)
{
	struct args_flag	 flag = *cmd_model_deployment_flag();
	struct args		 a;
	struct args_value	 v[FORM_ROUTING_DEPLOYMENTS];
	cJSON			*deps;
	size_t			 i, n = 0;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < form_routing.ndeps; i++) {
		if (f->fields[i].value[0] == '\0')
			continue;
		flag.name = form_routing_labels[i];
		if (args_check_value(&flag, f->fields[i].value, &v[n], err,
		    errlen) == -1)
			return NULL;
		v[n].flag = cmd_model_deployment_flag();
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "a model needs a deployment");
		return NULL;
	}
	a.values = v;
	a.nvalues = n;
	if (cmd_model_check_edit(&a, err, errlen) == -1)
		return NULL;
	if ((deps = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(deps, args_value_json(&v[i]));
	return deps;
}

/* An integer field from min to max into params; -1 with why in err. */
static int
form_routing_int(cJSON *params, const char *param, const char *label,
    const char *s, long min, long max, char *err, size_t errlen)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || n < min ||
	    n > max) {
		snprintf(err, errlen, "%s: a whole number from %ld to %ld",
		    label, min, max);
		return -1;
	}
	cJSON_AddNumberToObject(params, param, (double)n);
	return 0;
}

static void
form_routing_saved(struct tui *t, struct host_reply *r)
{
	struct form	*f = form_routing_live(t);

	if (f == NULL) {
		tui_reply_report(t, r, "routing", "routing saved");
		return;
	}
	if (r->status != RPC_CLIENT_OK) {
		f->busy = 0;
		snprintf(f->error, sizeof(f->error), "%s", r->err);
		return;
	}
	tui_message(t, ROLE_OK, "saved %s's routing", form_routing.key);
	tui_form_close(t);
	form_routing_reset();
	tui_refresh_view(t);
}

/* One model.edit of what changed. */
static void
form_routing_submit(struct tui *t, struct form *f)
{
	cJSON		*params, *deps = NULL;
	const char	*fb, *retries, *deadline;
	char		*lines, err[300];
	size_t		 changed = 0;

	if ((params = tui_domain_params(t)) == NULL)
		params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "key", form_routing.key);
	lines = form_routing_deps(f);
	if (strcmp(lines, form_routing.deps) != 0) {
		changed++;
		if (form_routing.cut)
			snprintf(err, sizeof(err), "a line is too long to edit"
			    " here: use cubectl model edit --deployment");
		else if ((deps = form_routing_deployments(f, err,
		    sizeof(err))) != NULL)
			cJSON_AddItemToObject(params, "deployments", deps);
		if (form_routing.cut || deps == NULL)
			goto fail;
	}
	fb = form_value(f, FORM_ROUTING_FALLBACKS);
	if (strcmp(fb, form_routing.fallbacks) != 0) {
		changed++;
		if (form_routing.cut) {
			snprintf(err, sizeof(err), "fallbacks: too long to"
			    " edit here: use cubectl model edit --fallback");
			goto fail;
		}
		cJSON_AddItemToObject(params, "fallbacks",
		    form_words(fb));
	}
	retries = form_value(f, FORM_ROUTING_RETRIES);
	if (strcmp(retries, form_routing.retries) != 0) {
		changed++;
		if (form_routing_int(params, "retries", "retries", retries, 0,
		    5, err, sizeof(err)) == -1)
			goto fail;
	}
	deadline = form_value(f, FORM_ROUTING_DEADLINE);
	if (strcmp(deadline, form_routing.deadline) != 0) {
		changed++;
		if (form_routing_int(params, "retry_deadline_ms",
		    FORM_ROUTING_DEADLINE, deadline, 100, 600000, err,
		    sizeof(err)) == -1)
			goto fail;
	}
	free(lines);
	if (changed == 0) {
		cJSON_Delete(params);
		snprintf(f->error, sizeof(f->error), "nothing changed (Esc"
		    " closes)");
		return;
	}
	f->busy = 1;
	tui_call(t, "model.edit", params, form_routing_saved);
	return;

fail:
	free(lines);
	cJSON_Delete(params);
	snprintf(f->error, sizeof(f->error), "%s", err);
}

/* A number of the model into buf ("" when it has none). */
static void
form_routing_number(const cJSON *model, const char *name, char *buf,
    size_t len)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(model, name);

	buf[0] = '\0';
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9)
		snprintf(buf, len, "%d", v->valueint);
}

/*
 * Open the form on model (a model.show object) called key: a field for
 * each deployment, one empty to add one (while under 16), then fallbacks,
 * retries and deadline.
 */
void
form_routing_open(struct tui *t, const cJSON *model, const char *key)
{
	struct form		*f;
	struct form_field	*ff;
	const cJSON		*d, *e;
	char			 title[FORM_ROUTING_KEY_MAX + 16], *line, *next;
	size_t			 n = 0;

	form_routing_reset();
	snprintf(form_routing.key, sizeof(form_routing.key), "%s", key);
	snprintf(title, sizeof(title), "routing %s", key);
	f = form_new(title, 0);
	d = cJSON_GetObjectItemCaseSensitive(model, "deployments");
	cJSON_ArrayForEach(e, d) {
		if (n == FORM_ROUTING_DEPLOYMENTS)
			break;
		ff = form_add(f, form_routing_labels[n++], NULL, FORM_TEXT);
		line = form_routing_line(e);
		form_routing_set(ff, line);
		free(line);
	}
	if (n < FORM_ROUTING_DEPLOYMENTS)
		form_add(f, form_routing_labels[n++], NULL, FORM_TEXT);
	form_routing.ndeps = n;
	form_routing.deps = form_routing_deps(f);

	ff = form_add(f, FORM_ROUTING_FALLBACKS, FORM_ROUTING_FALLBACKS,
	    FORM_TEXT);
	line = xstrdup("");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(model,
	    "fallbacks")) {
		if (!cJSON_IsString(e))
			continue;
		xasprintf(&next, "%s%s%s", line, *line != '\0' ? " " : "",
		    e->valuestring);
		free(line);
		line = next;
	}
	form_routing_set(ff, line);
	free(line);
	form_routing.fallbacks = xstrdup(ff->value);

	ff = form_add(f, FORM_ROUTING_RETRIES, FORM_ROUTING_RETRIES,
	    FORM_TEXT);
	form_routing_number(model, "retries", form_routing.retries,
	    sizeof(form_routing.retries));
	form_set(ff, form_routing.retries);
	ff = form_add(f, FORM_ROUTING_DEADLINE, FORM_ROUTING_DEADLINE,
	    FORM_TEXT);
	form_routing_number(model, "retry_deadline_ms", form_routing.deadline,
	    sizeof(form_routing.deadline));
	form_set(ff, form_routing.deadline);

	f->submit = form_routing_submit;
	form_routing.form = f;
	tui_form(t, f);
}
