/*
 * The Tokens view: the domain's API tokens. n creates one and shows its
 * secret once, in a dialog that says so and is wiped when closed; d
 * revokes, after asking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

static const struct output_field view_tokens_columns[] = {
	{ "ID",			"id",			OUTPUT_PLAIN },
	{ "NAME",		"name",			OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "EXPIRES",		"expires_at",		OUTPUT_PLAIN },
	{ "RPM",		"rpm",			OUTPUT_PLAIN },
	{ "BUDGET",		"budget",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_tokens_list = {
	.method = "token.list",
	.columns = view_tokens_columns,
};

static struct form	*view_tokens_form;

static void
view_tokens_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_tokens_list, r);
}

static void
view_tokens_refresh(struct tui *t)
{
	list_refresh(t, &view_tokens_list, tui_domain_params(t),
	    view_tokens_done);
}

static void
view_tokens_draw(struct tui *t, int top, int rows)
{
	list_draw(t, &view_tokens_list, top, rows);
}

/* The secret, once: shown in a dialog that wipes it, then wiped here. */
static void
view_tokens_created(struct tui *t, struct host_reply *r)
{
	cJSON	*secret, *id;
	char	*text;

	if (t->form != NULL && t->form == view_tokens_form &&
	    r->status != RPC_CLIENT_OK) {
		t->form->busy = 0;
		snprintf(t->form->error, sizeof(t->form->error), "%s", r->err);
		return;
	}
	if (t->form != NULL && t->form == view_tokens_form)
		tui_form_close(t);
	view_tokens_form = NULL;
	if (r->status != RPC_CLIENT_OK) {
		tui_reply_error(t, "token create", r);
		return;
	}
	secret = cJSON_GetObjectItemCaseSensitive(r->result, "token");
	id = cJSON_GetObjectItemCaseSensitive(r->result, "id");
	if (!cJSON_IsString(secret) || !cJSON_IsString(id)) {
		tui_message(t, ROLE_ERROR, "token create: unexpected reply");
		return;
	}
	xasprintf(&text, "Copy it now: it is shown this once, never again.\n"
	    "\n%s\n\nid %s", secret->valuestring, id->valuestring);
	tui_show_secret(t, "new token: secret shown once", text,
	    secret->valuestring);
	explicit_bzero(text, strlen(text));
	free(text);
	explicit_bzero(secret->valuestring, strlen(secret->valuestring));
	view_tokens_refresh(t);
}

static void
view_tokens_submit(struct tui *t, struct form *f)
{
	cJSON		*params;

	if ((params = form_token_params(f)) == NULL)
		return;
	cJSON_AddStringToObject(params, "domain", t->domain);
	f->busy = 1;
	tui_call(t, "token.create", params, view_tokens_created);
}

static void
view_tokens_revoke_done(struct tui *t, struct host_reply *r)
{
	tui_reply_report(t, r, "token revoke", "token revoked");
	view_tokens_refresh(t);
}

static void
view_tokens_revoke(struct tui *t, const char *id)
{
	cJSON	*params = tui_domain_params(t);

	cJSON_AddStringToObject(params, "id", id);
	tui_call(t, "token.revoke", params, view_tokens_revoke_done);
}

static int
view_tokens_key(struct tui *t, int ch)
{
	const cJSON	*tok = list_selected(t, &view_tokens_list);
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(tok, "id");
	const cJSON	*status;
	struct form	*f;
	char		 q[256];

	switch (ch) {
	case 'n':
		f = form_token_new();	/* form-token.c: with its limits */
		f->submit = view_tokens_submit;
		view_tokens_form = f;
		tui_form(t, f);
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (tok != NULL)
			tui_show_object(t, "token", cmd_token_fields, tok);
		return 1;
	case 'd':
		status = cJSON_GetObjectItemCaseSensitive(tok, "status");
		if (cJSON_IsString(id) && cJSON_IsString(status) &&
		    strcmp(status->valuestring, "revoked") == 0)
			tui_message(t, ROLE_WARN, "token %s is already revoked",
			    id->valuestring);
		else if (cJSON_IsString(id)) {
			snprintf(q, sizeof(q), "Revoke token %s?",
			    id->valuestring);
			tui_confirm(t, q, id->valuestring, view_tokens_revoke);
		}
		return 1;
	}
	return list_key(t, &view_tokens_list, ch);
}

const struct view_ops view_tokens_ops = {
	.name = "Tokens",
	.needs_domain = 1,
	.refresh = view_tokens_refresh,
	.draw = view_tokens_draw,
	.key = view_tokens_key,
};
