/*
 * The Providers view: the domain's backends. Enter tests one; n adds one
 * and e changes its driver, URL or key (not its name: it is the title,
 * not a field, and what the models name it by): the key is typed into a field that does
 * not echo and sealed to the agent (shared/seal.c) before it leaves this
 * process; d deletes, after asking. ATTEST is the live verdict on the
 * provider's evidence (confidential routing; why not is in cubectl
 * provider list); OPEN counts its deployments whose circuit breaker is
 * open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "seal.h"
#include "xmalloc.h"

static const struct output_field view_providers_columns[] = {
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "DRIVER",		"driver",		OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	/* Short headers: the URL must fit whole in 80 columns. */
	{ "ATTEST",		"attested",		OUTPUT_YESNO },
	{ "KEY",		"credential",		OUTPUT_PLAIN },
	{ "OPEN",		"breakers_open",	OUTPUT_PLAIN },
	{ "URL",		"url",			OUTPUT_PLAIN },
	{ "ERROR",		"error",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_providers_list = {
	.method = "provider.list",
	.columns = view_providers_columns,
};

static struct form	*view_providers_form;
static char		 view_providers_editing[64];	/* "": adding */

static void
view_providers_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_providers_list, r);
}

static void
view_providers_refresh(struct tui *t)
{
	list_refresh(t, &view_providers_list, tui_domain_params(t),
	    view_providers_done);
}

static void
view_providers_draw(struct tui *t, int top, int rows)
{
	list_draw(t, &view_providers_list, top, rows);
}

static void
view_providers_written(struct tui *t, struct host_reply *r)
{
	if (t->form == NULL || t->form != view_providers_form)
		return;
	if (r->status != RPC_CLIENT_OK) {
		t->form->busy = 0;
		snprintf(t->form->error, sizeof(t->form->error), "%s", r->err);
		return;
	}
	tui_form_close(t);
	view_providers_form = NULL;
	tui_message(t, ROLE_OK, "provider saved");
	view_providers_refresh(t);
}

/*
 * Send the form: the key, when one was typed, sealed to the agent's
 * status.seal_public_key first (the clear key never leaves the process).
 */
static void
view_providers_submit(struct tui *t, struct form *f)
{
	struct form_field	*key = form_get(f, "api key");
	const cJSON		*pk;
	const char		*method;
	cJSON			*params;
	char			*sealed, err[256];

	params = form_params(f);
	if (key->secretlen > 0) {
		pk = cJSON_GetObjectItemCaseSensitive(tui_host(t)->status,
		    "seal_public_key");
		if (!cJSON_IsString(pk)) {
			snprintf(f->error, sizeof(f->error), "the agent's seal"
			    " key is not known yet; try again");
			cJSON_Delete(params);
			return;
		}
		if ((sealed = seal_box_base64(pk->valuestring, key->secret,
		    key->secretlen, err, sizeof(err))) == NULL) {
			snprintf(f->error, sizeof(f->error), "%s", err);
			cJSON_Delete(params);
			return;
		}
		cJSON_AddStringToObject(params, "credential", sealed);
		free(sealed);
	}
	cJSON_AddStringToObject(params, "domain", t->domain);
	method = "provider.add";
	if (view_providers_editing[0] != '\0') {
		/* The name names it; it is not a field, so never changed. */
		cJSON_AddStringToObject(params, "name",
		    view_providers_editing);
		method = "provider.edit";
	}
	f->busy = 1;
	tui_call(t, method, params, view_providers_written);
}

static void
view_providers_open(struct tui *t, const cJSON *p)
{
	struct form		*f;
	struct form_field	*ff;
	const cJSON		*v;
	cJSON			*drivers;
	size_t			 i;
	char			 title[96];

	v = cJSON_GetObjectItemCaseSensitive(p, "name");
	snprintf(view_providers_editing, sizeof(view_providers_editing), "%s",
	    cJSON_IsString(v) ? v->valuestring : "");
	snprintf(title, sizeof(title), p == NULL ? "add a provider" :
	    "edit provider %s", view_providers_editing);
	f = form_new(title, 1);
	if (p == NULL)
		form_add(f, "name", "name", FORM_TEXT);
	ff = form_add(f, "driver", "driver", FORM_CHOICE);
	drivers = cJSON_CreateArray();
	for (i = 0; cmd_drivers[i] != NULL; i++)
		cJSON_AddItemToArray(drivers, cJSON_CreateString(cmd_drivers[i]));
	v = cJSON_GetObjectItemCaseSensitive(p, "driver");
	form_set_choices(ff, drivers, cJSON_IsString(v) ? v->valuestring :
	    NULL);
	cJSON_Delete(drivers);
	ff = form_add(f, "url", "url", FORM_TEXT);
	form_set(ff, cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(p, "url")));
	form_add(f, "api key", NULL, FORM_SECRET);
	f->cur = p != NULL ? 1 : 0;
	f->submit = view_providers_submit;
	view_providers_form = f;
	tui_form(t, f);
}

static void
view_providers_test_done(struct tui *t, struct host_reply *r)
{
	const cJSON	*status, *error, *ms;

	if (r->status != RPC_CLIENT_OK) {
		tui_reply_error(t, "provider test", r);
		return;
	}
	status = cJSON_GetObjectItemCaseSensitive(r->result, "status");
	error = cJSON_GetObjectItemCaseSensitive(r->result, "error");
	ms = cJSON_GetObjectItemCaseSensitive(r->result, "latency_ms");
	if (cJSON_IsString(status) && strcmp(status->valuestring, "active") == 0)
		tui_message(t, ROLE_OK, "provider answers (%.0f ms)",
		    cJSON_IsNumber(ms) ? ms->valuedouble : 0);
	else
		tui_message(t, ROLE_ERROR, "provider errored: %s",
		    cJSON_IsString(error) ? error->valuestring : "?");
	view_providers_refresh(t);
}

static void
view_providers_delete_done(struct tui *t, struct host_reply *r)
{
	tui_reply_report(t, r, "provider delete", "provider deleted");
	view_providers_refresh(t);
}

static void
view_providers_call(struct tui *t, const char *method, const char *name,
    host_done_cb done)
{
	cJSON	*params = tui_domain_params(t);

	cJSON_AddStringToObject(params, "name", name);
	tui_call(t, method, params, done);
}

static void
view_providers_delete(struct tui *t, const char *name)
{
	view_providers_call(t, "provider.delete", name,
	    view_providers_delete_done);
}

static int
view_providers_key(struct tui *t, int ch)
{
	const cJSON	*p = list_selected(t, &view_providers_list);
	const cJSON	*name = cJSON_GetObjectItemCaseSensitive(p, "name");
	char		 q[256];

	switch (ch) {
	case 'n':
		view_providers_open(t, NULL);
		return 1;
	case 'e':
		if (cJSON_IsString(name))
			view_providers_open(t, p);
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (cJSON_IsString(name)) {
			tui_message(t, ROLE_MUTED, "testing %s%s",
			    name->valuestring, draw_ellipsis());
			view_providers_call(t, "provider.test",
			    name->valuestring, view_providers_test_done);
		}
		return 1;
	case 'd':
		if (cJSON_IsString(name)) {
			snprintf(q, sizeof(q), "Delete provider %s?",
			    name->valuestring);
			tui_confirm(t, q, name->valuestring,
			    view_providers_delete);
		}
		return 1;
	}
	return list_key(t, &view_providers_list, ch);
}

const struct view_ops view_providers_ops = {
	.name = "Providers",
	.needs_domain = 1,
	.refresh = view_providers_refresh,
	.draw = view_providers_draw,
	.key = view_providers_key,
};

/* A jump from elsewhere (a trace's p): select provider name when listed. */
void
view_providers_select(struct tui *t, const char *name)
{
	list_want(&view_providers_list, "name", name);
	list_apply_want(t, &view_providers_list);
}
