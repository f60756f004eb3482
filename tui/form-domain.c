/*
 * The domain form (:new-domain, :edit-domain): a domain's name on
 * creation, then whether traces keep prompt and answer text, for how
 * many days traces are kept, and the browser origins allowed (CORS). Creating is domain.create, then domain.edit
 * for what differs from the defaults. Runs on cube-tui's main thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

#define FORM_DOMAIN_RETENTION_MAX	3650

static struct {
	struct form	*form;		/* NULL: none open */
	char		 name[64];	/* edit: the domain's; "": new */
} form_domain;

static void	form_domain_submit(struct tui *, struct form *);

/* The form, if it is the one on screen; else NULL. */
static struct form *
form_domain_live(struct tui *t)
{
	struct form	*f = form_domain.form;

	if (f == NULL || t->form != f || f->submit != form_domain_submit)
		return NULL;
	return f;
}

/* Saved: close, say so, and have the domains and the view asked again. */
static void
form_domain_saved(struct tui *t, struct host_reply *r)
{
	struct form	*f = form_domain_live(t);
	const cJSON	*name, *days;

	if (f == NULL)
		return;
	if (r->status != RPC_CLIENT_OK) {
		f->busy = 0;
		snprintf(f->error, sizeof(f->error), "%s", r->err);
		return;
	}
	name = cJSON_GetObjectItemCaseSensitive(r->result, "name");
	days = cJSON_GetObjectItemCaseSensitive(r->result,
	    "trace_retention_days");
	tui_message(t, ROLE_OK, "domain %s saved: traces kept %d days%s",
	    cJSON_IsString(name) ? name->valuestring : "?",
	    cJSON_IsNumber(days) ? days->valueint : 0, cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(r->result, "log_content")) ?
	    ", with their text" : "");
	tui_form_close(t);
	form_domain.form = NULL;
	tui_ask_domains(t);	/* the list held stays until the answer */
	tui_refresh_view(t);
}

/* A domain object's cors_origins, space-separated, into the field. */
static void
form_domain_origins_set(struct form_field *ff, const cJSON *origins)
{
	const cJSON	*e;
	char		*text = xstrdup(""), *next;

	cJSON_ArrayForEach(e, origins) {
		if (!cJSON_IsString(e))
			continue;
		xasprintf(&next, "%s%s%s", text, *text != '\0' ? " " : "",
		    e->valuestring);
		free(text);
		text = next;
	}
	form_set(ff, text);
	free(text);
}

/* domain.edit of the form's settings, on domain (an id or a name). */
static void
form_domain_edit(struct tui *t, struct form *f, const char *domain)
{
	struct form_field	*lc = form_get(f, "log content");
	const char		*days = form_value(f, "retention days");
	cJSON			*p = cJSON_CreateObject();
	char			*end;
	long			 n;

	cJSON_AddStringToObject(p, "domain", domain);
	cJSON_AddBoolToObject(p, "log_content", lc->on);
	errno = 0;
	n = strtol(days, &end, 10);
	if (*days < '0' || *days > '9' || *end != '\0' || errno != 0 ||
	    n < 1 || n > FORM_DOMAIN_RETENTION_MAX) {
		snprintf(f->error, sizeof(f->error), "retention days: 1 to"
		    " %d", FORM_DOMAIN_RETENTION_MAX);
		f->busy = 0;
		cJSON_Delete(p);
		return;
	}
	cJSON_AddNumberToObject(p, "trace_retention_days", (double)n);
	cJSON_AddItemToObject(p, "cors_origins", form_words(
	    form_value(f, "cors origins")));
	f->busy = 1;
	tui_call(t, "domain.edit", p, form_domain_saved);
}

/* Created: now its settings, on its id (the name could be reused). */
static void
form_domain_created(struct tui *t, struct host_reply *r)
{
	struct form	*f = form_domain_live(t);
	const cJSON	*id;

	if (f == NULL)
		return;
	id = cJSON_GetObjectItemCaseSensitive(r->result, "id");
	if (r->status != RPC_CLIENT_OK || !cJSON_IsString(id)) {
		f->busy = 0;
		snprintf(f->error, sizeof(f->error), "%s", r->status !=
		    RPC_CLIENT_OK ? r->err : "domain.create: no id");
		return;
	}
	/* From here it exists: a second Enter would only edit it. */
	snprintf(form_domain.name, sizeof(form_domain.name), "%s",
	    id->valuestring);
	form_domain_edit(t, f, id->valuestring);
}

static void
form_domain_submit(struct tui *t, struct form *f)
{
	cJSON	*p;

	if (form_domain.name[0] != '\0') {
		form_domain_edit(t, f, form_domain.name);
		return;
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "name", form_value(f, "name"));
	f->busy = 1;
	tui_call(t, "domain.create", p, form_domain_created);
}

/*
 * Open the form: d NULL for a new domain, else a domain.list object to
 * edit (its name cannot change: it is in the title).
 */
void
form_domain_open(struct tui *t, const cJSON *d)
{
	struct form		*f;
	struct form_field	*ff;
	const cJSON		*name, *days;
	char			 title[96], num[16];

	name = cJSON_GetObjectItemCaseSensitive(d, "name");
	memset(form_domain.name, 0, sizeof(form_domain.name));
	if (cJSON_IsString(name))
		snprintf(form_domain.name, sizeof(form_domain.name), "%s",
		    name->valuestring);
	snprintf(title, sizeof(title), form_domain.name[0] != '\0' ?
	    "edit domain %s" : "new domain", form_domain.name);
	f = form_new(title, 0);
	if (form_domain.name[0] == '\0')
		form_add(f, "name", "name", FORM_TEXT);
	ff = form_add(f, "log content", NULL, FORM_BOOL);
	ff->on = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d,
	    "log_content"));
	ff = form_add(f, "retention days", NULL, FORM_TEXT);
	days = cJSON_GetObjectItemCaseSensitive(d, "trace_retention_days");
	snprintf(num, sizeof(num), "%d", cJSON_IsNumber(days) &&
	    days->valuedouble >= 1 && days->valuedouble <=
	    FORM_DOMAIN_RETENTION_MAX ? days->valueint : 30);
	form_set(ff, num);
	ff = form_add(f, "cors origins", NULL, FORM_TEXT);
	form_domain_origins_set(ff, cJSON_GetObjectItemCaseSensitive(d,
	    "cors_origins"));
	f->submit = form_domain_submit;
	form_domain.form = f;
	tui_form(t, f);
}

/*
 * The form on the domain called name (NULL: none in view), from the
 * host's domain list; says why in the status line when there is none.
 */
void
form_domain_named(struct tui *t, const char *name)
{
	const cJSON	*d, *n;

	if (name == NULL) {
		tui_message(t, ROLE_WARN, "edit-domain: no domain in view (D"
		    " picks one)");
		return;
	}
	if (!cJSON_IsArray(t->domains)) {
		tui_message(t, ROLE_WARN, "edit-domain: no domains known yet");
		return;
	}
	cJSON_ArrayForEach(d, t->domains) {
		n = cJSON_GetObjectItemCaseSensitive(d, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) {
			form_domain_open(t, d);
			return;
		}
	}
	tui_message(t, ROLE_ERROR, "edit-domain: no domain %.64s on %s (D"
	    " lists them)", name, tui_host(t)->name);
}
