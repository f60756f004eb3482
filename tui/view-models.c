/*
 * The Models view: the domain's models; n deploys one through a form whose
 * pre-flight checklist (checklist.c) updates as it is filled in, e edits,
 * d disables an active model or deletes an inactive one, after asking.
 */
#include <stdio.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

/* The columns that fit 80: cubectl's, less the model id's width. */
static const struct output_field view_models_columns[] = {
	{ "KEY",		"key",			OUTPUT_PLAIN },
	{ "PROVIDER",		"provider",		OUTPUT_PLAIN },
	{ "MODEL-ID",		"model_id",		OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "PRICE-IN",		"pricing.input",	OUTPUT_PLAIN },
	{ "PRICE-OUT",		"pricing.output",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_models_list = {
	.method = "model.list",
	.columns = view_models_columns,
};

/* What the deploy form's checklist knows, asked when the form opens. */
static struct {
	struct form	*form;
	cJSON		*providers;
	cJSON		*served;
	char		 served_for[FORM_VALUE_MAX];
	char		 served_err[320];
} view_models_deploy;

static const char *const view_models_marks[] = {
	[CHECK_OK] = "ok  ",
	[CHECK_FAIL] = "FAIL",
	[CHECK_WARN] = "warn",
	[CHECK_PENDING] = "... ",
};

static void
view_models_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_models_list, r);
}

static void
view_models_refresh(struct tui *t)
{
	list_refresh(t, &view_models_list, tui_domain_params(t),
	    view_models_done);
}

static void
view_models_draw(struct tui *t, int top, int rows)
{
	list_draw(t, &view_models_list, top, rows);
}

/* The checklist's input from the form and what the host said. */
static int
view_models_check(struct form *f, struct check *checks)
{
	struct checklist_input	in;
	const char		*provider = form_value(f, "provider");

	memset(&in, 0, sizeof(in));
	in.providers = view_models_deploy.providers;
	in.provider = provider;
	if (strcmp(view_models_deploy.served_for, provider) == 0) {
		in.served = view_models_deploy.served;
		if (view_models_deploy.served_err[0] != '\0')
			in.served_err = view_models_deploy.served_err;
	}
	in.models = view_models_list.state == LIST_READY ?
	    view_models_list.items : NULL;
	in.name = form_value(f, "name");
	in.model_id = form_value(f, "model_id");
	in.key = form_value(f, "key");
	in.price_input = form_value(f, "price_input");
	in.price_output = form_value(f, "price_output");
	in.price_cached = form_value(f, "price_cached");
	in.free_ok = form_get(f, "free")->on;
	return checklist_eval(&in, checks);
}

static void
view_models_checklist_draw(struct tui *t, struct form *f, int y, int x)
{
	struct check	checks[CHECKLIST_SIZE];
	size_t		i;
	int		w = (COLS < 76 ? COLS : 76) - 4;

	(void)t;
	view_models_check(f, checks);
	draw_text(y++, x, w, ROLE_MUTED, "pre-flight");
	for (i = 0; i < CHECKLIST_SIZE; i++, y++) {
		draw_fmt(y, x, 6, draw_check_role(checks[i].state), "[%s]",
		    view_models_marks[checks[i].state]);
		draw_fmt(y, x + 7, w - 7, ROLE_NORMAL, "%-16s %s",
		    checks[i].name, checks[i].why);
	}
}

static void
view_models_served_done(struct tui *t, struct host_reply *r)
{
	const cJSON	*models;

	(void)t;
	cJSON_Delete(view_models_deploy.served);
	view_models_deploy.served = NULL;
	view_models_deploy.served_err[0] = '\0';
	models = cJSON_GetObjectItemCaseSensitive(r->result, "models");
	if (r->status == RPC_CLIENT_OK && cJSON_IsArray(models))
		view_models_deploy.served = cJSON_Duplicate(models, 1);
	else
		snprintf(view_models_deploy.served_err,
		    sizeof(view_models_deploy.served_err), "%s",
		    r->status == RPC_CLIENT_OK ? "unexpected reply" : r->err);
}

/* A new provider picked: ask its backend what it serves. */
static void
view_models_changed(struct tui *t, struct form *f)
{
	const char	*provider = form_value(f, "provider");
	cJSON		*params;

	if (*provider == '\0' ||
	    strcmp(view_models_deploy.served_for, provider) == 0)
		return;
	snprintf(view_models_deploy.served_for,
	    sizeof(view_models_deploy.served_for), "%s", provider);
	cJSON_Delete(view_models_deploy.served);
	view_models_deploy.served = NULL;
	view_models_deploy.served_err[0] = '\0';
	params = tui_domain_params(t);
	cJSON_AddStringToObject(params, "name", provider);
	tui_call(t, "provider.models", params, view_models_served_done);
}

static void
view_models_providers_done(struct tui *t, struct host_reply *r)
{
	struct form	*f = view_models_deploy.form;

	if (f != t->form || r->status != RPC_CLIENT_OK ||
	    !cJSON_IsArray(r->result))
		return;
	cJSON_Delete(view_models_deploy.providers);
	view_models_deploy.providers = r->result;
	r->result = NULL;
	form_set_choices(form_get(f, "provider"),
	    view_models_deploy.providers, form_value(f, "provider"));
	view_models_changed(t, f);
}

/* A write that replies with the model: close the form, show warnings. */
static void
view_models_written(struct tui *t, struct host_reply *r, const char *what)
{
	const cJSON	*key, *warn;

	if (t->form != NULL && t->form == view_models_deploy.form) {
		if (r->status != RPC_CLIENT_OK) {
			t->form->busy = 0;
			snprintf(t->form->error, sizeof(t->form->error), "%s",
			    r->err);
			return;
		}
		tui_form_close(t);
		view_models_deploy.form = NULL;
	} else if (r->status != RPC_CLIENT_OK) {
		tui_reply_error(t, what, r);
		return;
	}
	key = cJSON_GetObjectItemCaseSensitive(r->result, "key");
	warn = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->result,
	    "warnings"), 0);
	if (cJSON_IsString(warn))
		tui_message(t, ROLE_WARN, "%s: %s", what, warn->valuestring);
	else
		tui_message(t, ROLE_OK, "%s %s", what, cJSON_IsString(key) ?
		    key->valuestring : "");
	view_models_refresh(t);
}

static void
view_models_deploy_done(struct tui *t, struct host_reply *r)
{
	view_models_written(t, r, "deployed");
}

static void
view_models_edit_done(struct tui *t, struct host_reply *r)
{
	view_models_written(t, r, "saved");
}

static void
view_models_deploy_submit(struct tui *t, struct form *f)
{
	struct check	 checks[CHECKLIST_SIZE];
	cJSON		*params;

	if (!view_models_check(f, checks)) {
		snprintf(f->error, sizeof(f->error), "pre-flight: not every"
		    " check passes yet");
		return;
	}
	params = form_params(f);
	cJSON_AddStringToObject(params, "domain", t->domain);
	f->busy = 1;
	tui_call(t, "model.deploy", params, view_models_deploy_done);
}

static void
view_models_new(struct tui *t)
{
	struct form	*f;

	f = form_new("deploy a model", CHECKLIST_SIZE + 1);
	form_add(f, "provider", "provider", FORM_CHOICE);
	form_add(f, "name", "name", FORM_TEXT);
	form_add(f, "model id", "model_id", FORM_TEXT);
	form_add(f, "key (or auto)", "key", FORM_TEXT);
	form_add(f, "price in", "price_input", FORM_TEXT);
	form_add(f, "price out", "price_output", FORM_TEXT);
	form_add(f, "price cached", "price_cached", FORM_TEXT);
	form_add(f, "free", NULL, FORM_BOOL);
	f->submit = view_models_deploy_submit;
	f->changed = view_models_changed;
	f->draw = view_models_checklist_draw;
	view_models_deploy.form = f;
	view_models_deploy.served_for[0] = '\0';
	tui_form(t, f);
	tui_call(t, "provider.list", tui_domain_params(t),
	    view_models_providers_done);
	/* The key check needs every model's key. */
	view_models_refresh(t);
}

static void
view_models_edit_submit(struct tui *t, struct form *f)
{
	cJSON	*params = form_params(f);

	cJSON_AddStringToObject(params, "domain", t->domain);
	f->busy = 1;
	tui_call(t, "model.edit", params, view_models_edit_done);
}

/* e: the settings that are text, filled in with what they are now. */
static void
view_models_edit(struct tui *t, const cJSON *m)
{
	static const struct {
		const char	*label;
		const char	*param;
		const char	*path;
	} fields[] = {
		{ "name",		"name",		"name" },
		{ "model id",		"model_id",	"model_id" },
		{ "price in",		"price_input",	"pricing.input" },
		{ "price out",		"price_output",	"pricing.output" },
		{ "price cached",	"price_cached",	"pricing.cached" },
		{ "description",	"description",	"description" },
	};
	struct form		*f;
	struct form_field	*ff;
	const cJSON		*v;
	size_t			 i;

	f = form_new("edit model", 0);
	ff = form_add(f, "key", "key", FORM_TEXT);
	form_set(ff, cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(m, "key")));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		ff = form_add(f, fields[i].label, fields[i].param, FORM_TEXT);
		v = output_lookup(m, fields[i].path);
		form_set(ff, cJSON_GetStringValue(v));
	}
	f->cur = 1;
	f->submit = view_models_edit_submit;
	view_models_deploy.form = f;
	tui_form(t, f);
}

static void
view_models_act_done(struct tui *t, struct host_reply *r)
{
	tui_reply_report(t, r, "model", cJSON_HasObjectItem(r->result,
	    "deleted") ? "model deleted" : "model disabled");
	view_models_refresh(t);
}

static void
view_models_act(struct tui *t, const char *method, const char *key)
{
	cJSON	*params = tui_domain_params(t);

	cJSON_AddStringToObject(params, "key", key);
	tui_call(t, method, params, view_models_act_done);
}

static void
view_models_disable(struct tui *t, const char *key)
{
	view_models_act(t, "model.disable", key);
}

static void
view_models_delete(struct tui *t, const char *key)
{
	view_models_act(t, "model.delete", key);
}

static int
view_models_key(struct tui *t, int ch)
{
	const cJSON	*m = list_selected(t, &view_models_list);
	const cJSON	*key, *status;
	char		 q[256];

	key = cJSON_GetObjectItemCaseSensitive(m, "key");
	status = cJSON_GetObjectItemCaseSensitive(m, "status");
	switch (ch) {
	case 'n':
		view_models_new(t);
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (m != NULL)
			tui_show_object(t, "model", cmd_model_fields, m);
		return 1;
	case 'e':
		if (cJSON_IsString(key))
			view_models_edit(t, m);
		return 1;
	case 'd':
		if (!cJSON_IsString(key))
			return 1;
		if (cJSON_IsString(status) &&
		    strcmp(status->valuestring, "active") == 0) {
			snprintf(q, sizeof(q), "Disable model %s? Clients get"
			    " 403 model_inactive.", key->valuestring);
			tui_confirm(t, q, key->valuestring,
			    view_models_disable);
		} else {
			snprintf(q, sizeof(q), "Delete model %s for good?",
			    key->valuestring);
			tui_confirm(t, q, key->valuestring, view_models_delete);
		}
		return 1;
	}
	return list_key(t, &view_models_list, ch);
}

const struct view_ops view_models_ops = {
	.name = "Models",
	.needs_domain = 1,
	.refresh = view_models_refresh,
	.draw = view_models_draw,
	.key = view_models_key,
};

/* A jump from elsewhere (a trace's m): select model key when listed. */
void
view_models_select(struct tui *t, const char *key)
{
	(void)t;
	list_want(&view_models_list, "key", key);
}
