/*
 * The Attestation view: the agent's live evidence (attestation.get with a
 * fresh nonce): the TEE, whether it is simulated, the measurement and the
 * report_data that binds the agent's keys. r asks again with a new nonce.
 */
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "cube-tui.h"
#include "xmalloc.h"

#define VIEW_ATTEST_NONCE	32	/* bytes */

static struct {
	cJSON		*evidence;
	enum list_state	 state;
	char		 error[320];
	char		 nonce[VIEW_ATTEST_NONCE * 2 + 1];
	unsigned	 gen;
} view_attest;

static void
view_attest_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	cJSON_Delete(view_attest.evidence);
	view_attest.evidence = NULL;
	if (r->status == RPC_CLIENT_OK && cJSON_IsObject(r->result)) {
		view_attest.evidence = r->result;
		r->result = NULL;
		view_attest.state = LIST_READY;
	} else if (host_is_unsupported(r))
		view_attest.state = LIST_UNSUPPORTED;
	else {
		view_attest.state = LIST_ERROR;
		snprintf(view_attest.error, sizeof(view_attest.error), "%s",
		    r->err);
	}
}

static void
view_attest_refresh(struct tui *t)
{
	unsigned char	 nonce[VIEW_ATTEST_NONCE];
	cJSON		*params;

	if (view_attest.gen != t->gen) {
		cJSON_Delete(view_attest.evidence);
		view_attest.evidence = NULL;
		view_attest.gen = t->gen;
	}
	view_attest.state = view_attest.evidence != NULL ? LIST_READY :
	    LIST_LOADING;
	randombytes_buf(nonce, sizeof(nonce));
	sodium_bin2hex(view_attest.nonce, sizeof(view_attest.nonce), nonce,
	    sizeof(nonce));
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "nonce", view_attest.nonce);
	tui_call(t, "attestation.get", params, view_attest_done);
}

static void
view_attest_draw(struct tui *t, int top, int rows)
{
	const cJSON	*item, *sim;
	char		*v;
	int		 y = top;

	(void)t;
	switch (view_attest.state) {
	case LIST_UNSUPPORTED:
		draw_text(y, 1, COLS - 2, ROLE_WARN, "not supported by this"
		    " agent (attestation.get)");
		return;
	case LIST_ERROR:
		draw_text(y, 1, COLS - 2, ROLE_ERROR, view_attest.error);
		return;
	case LIST_READY:
		break;
	default:
		draw_fmt(y, 1, COLS - 2, ROLE_MUTED, "asking for evidence%s",
		    draw_ellipsis());
		return;
	}
	sim = cJSON_GetObjectItemCaseSensitive(view_attest.evidence,
	    "simulated");
	if (cJSON_IsTrue(sim))
		draw_text(y++, 1, COLS - 2, ROLE_WARN, "SIMULATED TEE: this"
		    " evidence proves nothing about the host");
	draw_fmt(y++, 1, COLS - 2, ROLE_MUTED, "nonce %s", view_attest.nonce);
	cJSON_ArrayForEach(item, view_attest.evidence) {
		if (y >= top + rows)
			break;
		v = output_value(item, OUTPUT_YESNO);
		draw_text(y, 1, 20, ROLE_MUTED, item->string);
		draw_text(y, 22, COLS - 23, ROLE_NORMAL, v);
		free(v);
		y++;
	}
}

static int
view_attest_key(struct tui *t, int ch)
{
	(void)t;
	(void)ch;
	return 0;
}

const struct view_ops view_attest_ops = {
	.name = "Attest",
	.refresh = view_attest_refresh,
	.draw = view_attest_draw,
	.key = view_attest_key,
};
