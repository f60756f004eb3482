/*
 * The Guardrails view: the domain's guardrails (guardrail.list); Enter
 * shows one, n and e open the editor (form-guardrail.c), d deletes one
 * after asking. An agent without guardrails says
 * so in the view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

static const struct output_field view_guardrails_columns[] = {
	{ "KEY",		"key",			OUTPUT_PLAIN },
	{ "KIND",		"kind",			OUTPUT_PLAIN },
	{ "ACTION",		"action",		OUTPUT_PLAIN },
	{ "DESCRIPTION",	"description",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static const struct output_field view_guardrails_fields[] = {
	{ "key",		"key",			OUTPUT_PLAIN },
	{ "kind",		"kind",			OUTPUT_PLAIN },
	{ "action",		"action",		OUTPUT_PLAIN },
	{ "types",		"types",		OUTPUT_PLAIN },
	{ "patterns",		"patterns",		OUTPUT_PLAIN },
	{ "words",		"words",		OUTPUT_PLAIN },
	{ "max chars",		"max_chars",		OUTPUT_PLAIN },
	{ "max messages",	"max_messages",		OUTPUT_PLAIN },
	{ "description",	"description",		OUTPUT_PLAIN },
	{ "created",		"created_at",		OUTPUT_PLAIN },
	{ "updated",		"updated_at",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_guardrails_list = {
	.method = "guardrail.list",
	.columns = view_guardrails_columns,
};

static void
view_guardrails_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_guardrails_list, r);
}

static void
view_guardrails_refresh(struct tui *t)
{
	list_refresh(t, &view_guardrails_list, tui_domain_params(t),
	    view_guardrails_done);
}

static void
view_guardrails_draw(struct tui *t, int top, int rows)
{
	list_draw(t, &view_guardrails_list, top, rows);
}

/*
 * The agent refuses to delete a guardrail a model binds, and names the
 * model in cubectl's words; say instead what to do from here: the model
 * page's Configure tab changes what it binds (or cubectl, from a shell).
 */
static void
view_guardrails_in_use(struct tui *t, const struct host_reply *r)
{
	const char	*p, *q;
	char		 model[128], *text;

	model[0] = '\0';
	if ((p = strstr(r->err, "used by model '")) != NULL) {
		p += strlen("used by model '");
		if ((q = strchr(p, '\'')) != NULL && q - p > 0 &&
		    (size_t)(q - p) < sizeof(model))
			snprintf(model, sizeof(model), "%.*s", (int)(q - p), p);
	}
	if (model[0] == '\0') {
		tui_reply_error(t, "guardrail delete", r);
		return;
	}
	xasprintf(&text, "Model %s binds it, so it was not deleted.\n\n"
	    "Models (3), Enter on %s, then 2 Configure and e:\n"
	    "leave it out of guardrails in and out, and save.\n"
	    "Or from a shell, with the keys to keep:\n"
	    "  cubectl model edit -d %s %s --guard-in KEY ...\n"
	    "Then d here deletes the guardrail.", model, model,
	    t->domain != NULL ? t->domain : "DOMAIN", model);
	tui_show(t, "guardrail in use", ROLE_WARN, 0, text);
	free(text);
}

static void
view_guardrails_delete_done(struct tui *t, struct host_reply *r)
{
	if (r->status == RPC_CLIENT_REPLY_ERROR && r->code == RPC_CONFLICT)
		view_guardrails_in_use(t, r);
	else
		tui_reply_report(t, r, "guardrail delete",
		    "guardrail deleted");
	view_guardrails_refresh(t);
}

static void
view_guardrails_delete(struct tui *t, const char *key)
{
	cJSON	*params = tui_domain_params(t);

	cJSON_AddStringToObject(params, "key", key);
	tui_call(t, "guardrail.delete", params, view_guardrails_delete_done);
}

static int
view_guardrails_key(struct tui *t, int ch)
{
	const cJSON	*g = list_selected(t, &view_guardrails_list);
	const cJSON	*key = cJSON_GetObjectItemCaseSensitive(g, "key");
	char		 q[256];

	switch (ch) {
	case 'n':
		form_guardrail_open(t, NULL, view_guardrails_refresh);
		return 1;
	case 'e':
		if (cJSON_IsString(key))
			form_guardrail_open(t, g, view_guardrails_refresh);
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (g != NULL)
			tui_show_object(t, "guardrail", view_guardrails_fields,
			    g);
		return 1;
	case 'd':
		if (cJSON_IsString(key)) {
			snprintf(q, sizeof(q), "Delete guardrail %s?",
			    key->valuestring);
			tui_confirm(t, q, key->valuestring,
			    view_guardrails_delete);
		}
		return 1;
	}
	return list_key(t, &view_guardrails_list, ch);
}

const struct view_ops view_guardrails_ops = {
	.name = "Guardrails",
	.needs_domain = 1,
	.refresh = view_guardrails_refresh,
	.draw = view_guardrails_draw,
	.key = view_guardrails_key,
};
