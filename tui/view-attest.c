/*
 * The Attestation view: the agent's live evidence (attestation.get with a
 * fresh nonce) and the verdict on it: every check of attest_live_verify()
 * against the policy cube-tui was given (cube-attest-policy(5)), the
 * nonce sent, the seal key and the TLS key status reports; whether
 * prompts reach the agent encrypted, and to which key; then the TEE,
 * whether it is simulated, the measurement and the report_data that
 * binds the agent's keys. r asks again with a new nonce.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "cube-tui.h"
#include "xmalloc.h"

#define VIEW_ATTEST_NONCE	32	/* bytes */
#define VIEW_ATTEST_SENT	4	/* nonces whose answers may come */

static struct {
	cJSON		*evidence;
	enum list_state	 state;
	char		 error[320];
	char		 nonce[VIEW_ATTEST_NONCE * 2 + 1];
	unsigned	 gen;
	/* The last nonces asked with, newest at sent[next - 1]. */
	unsigned char	 sent[VIEW_ATTEST_SENT][VIEW_ATTEST_NONCE];
	size_t		 next;
	struct attest_result result;	/* the verdict on evidence */
	/* The status the verdict took its keys from: a new one re-judges. */
	const struct host *judged_host;
	unsigned	 judged_seq;
} view_attest;

/*
 * The nonce of ours that the evidence answers (the newest when none is:
 * its nonce check then fails), so that a late answer to an earlier ask
 * is still checked against what was sent for it.
 */
static const unsigned char *
view_attest_sent(const cJSON *ev)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(ev, "nonce");
	char		 hex[VIEW_ATTEST_NONCE * 2 + 1];
	size_t		 i, at;

	for (i = 0; i < VIEW_ATTEST_SENT; i++) {
		at = (view_attest.next + VIEW_ATTEST_SENT - 1 - i) %
		    VIEW_ATTEST_SENT;
		sodium_bin2hex(hex, sizeof(hex), view_attest.sent[at],
		    VIEW_ATTEST_NONCE);
		if (cJSON_IsString(v) && strcmp(v->valuestring, hex) == 0)
			return view_attest.sent[at];
	}
	return view_attest.sent[(view_attest.next + VIEW_ATTEST_SENT - 1) %
	    VIEW_ATTEST_SENT];
}

/* The verdict on the evidence, as cubectl attest --verify gives it. */
static void
view_attest_verify(struct tui *t, const cJSON *ev)
{
	struct attest_live_policy	 lp;
	struct attest_live_info		 info;
	struct attest_input		 collateral;
	const struct host		*h = tui_host(t);
	const cJSON			*key;
	unsigned char			 seal[32];
	size_t				 len;

	memset(&lp, 0, sizeof(lp));
	memset(&collateral, 0, sizeof(collateral));
	lp.policy = t->policy.policy;
	lp.allow_simulated = t->policy.file.allow_simulated;
	verify_policy_input(&t->policy, &collateral);
	lp.collateral = &collateral;
	lp.nonce = view_attest_sent(ev);
	lp.nonce_len = VIEW_ATTEST_NONCE;
	/* The seal key status last reported, when it has. */
	key = h->status != NULL ? cJSON_GetObjectItemCaseSensitive(h->status,
	    "seal_public_key") : NULL;
	if (cJSON_IsString(key) && sodium_base642bin(seal, sizeof(seal),
	    key->valuestring, strlen(key->valuestring), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0 && len == sizeof(seal))
		lp.seal_key = seal;
	attest_live_verify(ev, &lp, &info, &view_attest.result);
	attest_policy_tee_check(&t->policy.file, &view_attest.result);
	attest_live_tls_agree(ev, h->status, &view_attest.result);
	view_attest.judged_host = h;
	view_attest.judged_seq = h->status_seq;
}

static void
view_attest_done(struct tui *t, struct host_reply *r)
{
	cJSON_Delete(view_attest.evidence);
	view_attest.evidence = NULL;
	if (r->status == RPC_CLIENT_OK && cJSON_IsObject(r->result)) {
		view_attest.evidence = r->result;
		r->result = NULL;
		view_attest_verify(t, view_attest.evidence);
		/* Fresh evidence, our nonce: the header's verdict too. */
		host_verdict_take(r->host, &view_attest.result,
		    host_live_now());
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
	unsigned char	*nonce;
	cJSON		*params;

	if (view_attest.gen != t->gen) {
		cJSON_Delete(view_attest.evidence);
		view_attest.evidence = NULL;
		view_attest.gen = t->gen;
	}
	view_attest.state = view_attest.evidence != NULL ? LIST_READY :
	    LIST_LOADING;
	nonce = view_attest.sent[view_attest.next];
	view_attest.next = (view_attest.next + 1) % VIEW_ATTEST_SENT;
	randombytes_buf(nonce, VIEW_ATTEST_NONCE);
	sodium_bin2hex(view_attest.nonce, sizeof(view_attest.nonce), nonce,
	    VIEW_ATTEST_NONCE);
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "nonce", view_attest.nonce);
	tui_call(t, "attestation.get", params, view_attest_done);
}

/* A new status of the host may report other keys: judge again by it. */
static void
view_attest_rejudge(struct tui *t)
{
	const struct host	*h = tui_host(t);

	if (view_attest.evidence != NULL && (view_attest.judged_host != h ||
	    view_attest.judged_seq != h->status_seq))
		view_attest_verify(t, view_attest.evidence);
}

/* The tls-key check of the verdict, or NULL. */
static const struct attest_check *
view_attest_tls_check(void)
{
	size_t	i;

	for (i = 0; i < view_attest.result.nchecks; i++)
		if (view_attest.result.checks[i].id == ATTEST_CHECK_TLS_KEY)
			return &view_attest.result.checks[i];
	return NULL;
}

/* A line at *y when it is above end (the rows the view has); *y moves on. */
static void __attribute__((format(printf, 6, 7)))
view_attest_line(int *y, int end, int x, int width, enum draw_role role,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];

	if (*y < end) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		draw_text(*y, x, width, role, buf);
	}
	(*y)++;
}

/*
 * Whether prompts reach the agent encrypted, at a glance, from row y:
 * TLS on and how its key came to be, the certificate's expiry and the
 * SPKI fingerprint; or plain HTTP, loud when it is not loopback. With
 * evidence (check not NULL), whether the key status reports is the one
 * the evidence binds: a mismatch is red and names both. Returns the row
 * after it.
 */
static int
view_attest_draw_tls(struct tui *t, int y, int end,
    const struct attest_check *check)
{
	const struct host	*h = tui_host(t);
	const cJSON		*bound;
	struct host_tls		 tls;
	enum draw_role		 role;
	char			 when[80];
	time_t			 now = time(NULL);

	host_tls_read(h->status, now, &tls);
	switch (tls.state) {
	case HOST_TLS_UNKNOWN:
		view_attest_line(&y, end, 1, COLS - 2, ROLE_MUTED, "TLS: %s",
		    h->status == NULL ? "waiting for the agent's status" :
		    "the agent's status does not say");
		break;
	case HOST_TLS_OFF:
		if (tls.loopback)
			view_attest_line(&y, end, 1, COLS - 2, ROLE_WARN,
			    "TLS off: plain HTTP on loopback %s (unencrypted,"
			    " this host only)", tls.listen);
		else
			view_attest_line(&y, end, 1, COLS - 2, ROLE_ERROR,
			    "TLS OFF: prompts travel UNENCRYPTED (plain HTTP"
			    " on %s)", tls.listen[0] != '\0' ? tls.listen :
			    "?");
		break;
	case HOST_TLS_ON:
		if (tls.not_after == 0)
			snprintf(when, sizeof(when), "certificate expiry"
			    " unknown");
		else if (tls.expired)
			snprintf(when, sizeof(when), "certificate EXPIRED %s",
			    tls.expires);
		else
			snprintf(when, sizeof(when), "expires %s (%lld d)",
			    tls.expires, (long long)(tls.not_after - now) /
			    86400);
		role = tls.expired || tls.not_after == 0 ? ROLE_ERROR :
		    tls.expires_soon ? ROLE_WARN : ROLE_OK;
		view_attest_line(&y, end, 1, COLS - 2, role, "TLS on (%s)%s%s",
		    tls.how, draw_dot(), when);
		if (tls.spki[0] == '\0')
			view_attest_line(&y, end, 3, COLS - 4, ROLE_ERROR,
			    "SPKI: status reports no valid fingerprint");
		else
			view_attest_line(&y, end, 3, COLS - 4, check != NULL &&
			    !check->ok ? ROLE_ERROR : ROLE_NORMAL, "SPKI %s",
			    tls.spki);
		break;
	}
	if (check == NULL || check->ok)
		return y;
	/* What the evidence binds, where it is not what status says. */
	view_attest_line(&y, end, 1, COLS - 2, ROLE_ERROR, "TLS KEY: %s",
	    check->detail);
	bound = cJSON_GetObjectItemCaseSensitive(view_attest.evidence,
	    "tls_pubkey_sha256");
	if (cJSON_IsString(bound))
		view_attest_line(&y, end, 3, COLS - 4, ROLE_ERROR, "bound %.64s",
		    bound->valuestring);
	return y;
}

/*
 * The verdict, then every check that ran (those that failed first, when
 * they do not all fit), from row y; returns the row after them.
 */
static int
view_attest_draw_verdict(struct tui *t, int y, int end)
{
	const struct attest_result	*res = &view_attest.result;
	const struct attest_check	*c;
	char				 failed[200];
	size_t				 i, n = 0, pass;

	failed[0] = '\0';
	for (i = 0; i < res->nchecks; i++)
		if (!res->checks[i].ok && n < sizeof(failed))
			n += snprintf(failed + n, sizeof(failed) - n, "%s%s",
			    n ? ", " : "", attest_check_name(res->checks[i].id));
	if (res->verified)
		draw_fmt(y++, 1, COLS - 2, ROLE_OK, "VERIFIED: every check"
		    " passed (policy: %s)", t->policy_path != NULL ?
		    t->policy_path : "the defaults");
	else
		draw_fmt(y++, 1, COLS - 2, ROLE_ERROR, "NOT VERIFIED: %s"
		    " (policy: %s)", failed, t->policy_path != NULL ?
		    t->policy_path : "the defaults");
	y = view_attest_draw_tls(t, y, end, view_attest_tls_check());
	/* Failed checks first, then passed ones while they fit. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < res->nchecks && y < end - 1; i++) {
			c = &res->checks[i];
			if (c->ok != (int)pass)
				continue;
			draw_text(y, 3, 14, ROLE_MUTED, attest_check_name(c->id));
			draw_text(y, 18, 6, c->ok ? ROLE_OK : ROLE_ERROR,
			    c->ok ? "ok" : "FAILED");
			draw_text(y, 25, COLS - 26, ROLE_NORMAL, c->detail);
			y++;
		}
	}
	return y + 1;
}

static void
view_attest_draw(struct tui *t, int top, int rows)
{
	const cJSON	*item, *sim;
	char		*v;
	int		 y = top;

	/* Without evidence, what status says of TLS still shows. */
	switch (view_attest.state) {
	case LIST_UNSUPPORTED:
		draw_text(y, 1, COLS - 2, ROLE_WARN, "not supported by this"
		    " agent (attestation.get)");
		view_attest_draw_tls(t, y + 1, top + rows, NULL);
		return;
	case LIST_ERROR:
		draw_text(y, 1, COLS - 2, ROLE_ERROR, view_attest.error);
		view_attest_draw_tls(t, y + 1, top + rows, NULL);
		return;
	case LIST_READY:
		break;
	default:
		draw_fmt(y, 1, COLS - 2, ROLE_MUTED, "asking for evidence%s",
		    draw_ellipsis());
		view_attest_draw_tls(t, y + 1, top + rows, NULL);
		return;
	}
	view_attest_rejudge(t);
	y = view_attest_draw_verdict(t, y, top + rows);
	sim = cJSON_GetObjectItemCaseSensitive(view_attest.evidence,
	    "simulated");
	if (cJSON_IsTrue(sim) && y < top + rows)
		draw_text(y++, 1, COLS - 2, ROLE_WARN, "SIMULATED TEE: this"
		    " evidence proves nothing about the host");
	if (y < top + rows)
		draw_fmt(y++, 1, COLS - 2, ROLE_MUTED, "nonce %s",
		    view_attest.nonce);
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

int
view_attest_tls_ok(struct tui *t)
{
	const struct attest_check	*check;

	/* Evidence of another host (the host changed, the view did not
	 * ask again yet) says nothing of this one. */
	if (view_attest.evidence == NULL || view_attest.gen != t->gen)
		return -1;
	view_attest_rejudge(t);
	if ((check = view_attest_tls_check()) == NULL)
		return -1;
	return check->ok;
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
