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
	int64_t		 fetched_at;	/* ms, monotonic: the evidence came */
	int		 asking;	/* answers due to asks made */
	/* Drawing: the view's first row, rows scrolled off, rows it needs. */
	int		 top;
	int		 scroll;
	int		 need;
	int		 page;		/* rows that scroll */
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

/*
 * An answer. When asking again fails, the evidence held stays, with its
 * age and the failure said above it: an operator sees what was verified
 * and when, never a new nonce over it.
 */
static void
view_attest_done(struct tui *t, struct host_reply *r)
{
	if (view_attest.asking > 0)
		view_attest.asking--;
	if (r->status == RPC_CLIENT_OK && cJSON_IsObject(r->result)) {
		cJSON_Delete(view_attest.evidence);
		view_attest.evidence = r->result;
		r->result = NULL;
		view_attest.fetched_at = host_live_now();
		view_attest.error[0] = '\0';
		view_attest_verify(t, view_attest.evidence);
		view_attest.state = LIST_READY;
		return;
	}
	snprintf(view_attest.error, sizeof(view_attest.error), "%s", r->err);
	if (view_attest.evidence != NULL)
		return;
	view_attest.state = host_is_unsupported(r) ? LIST_UNSUPPORTED :
	    LIST_ERROR;
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
		view_attest.asking = 0;	/* answers of the old gen are dropped */
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
	view_attest.asking++;
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

/*
 * The view scrolls: rows are laid out from view_attest.top as if all fit,
 * then drawn view_attest.scroll rows higher, only those inside
 * [top, end). The row on screen of laid-out row y, or -1.
 */
static int
view_attest_row(int y, int end)
{
	y -= view_attest.scroll;
	return y >= view_attest.top && y < end ? y : -1;
}

/* A line at *y when it shows (see above); *y moves on. */
static void __attribute__((format(printf, 6, 7)))
view_attest_line(int *y, int end, int x, int width, enum draw_role role,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];
	int	 row;

	if ((row = view_attest_row(*y, end)) != -1) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		draw_text(row, x, width, role, buf);
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

/* "label  value" at *y, the label muted; *y moves on. */
static void
view_attest_fact(int *y, int end, enum draw_role role, const char *label,
    const char *value)
{
	int	row;

	if ((row = view_attest_row(*y, end)) != -1) {
		draw_text(row, 1, 14, ROLE_MUTED, label);
		draw_text(row, 16, COLS - 17, role, value);
	}
	(*y)++;
}

/* A string member of the evidence, or "-". */
static const char *
view_attest_str(const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(
			    view_attest.evidence, name);

	return cJSON_IsString(v) && v->valuestring[0] != '\0' ?
	    v->valuestring : "-";
}

/*
 * The rows that stay when the rest scrolls, from y: the verdict, and
 * whether evidence is being asked for again or could not be had.
 * Returns the row after them.
 */
static int
view_attest_draw_pinned(struct tui *t, int y)
{
	const struct attest_result	*res = &view_attest.result;
	char				 failed[200], age[32];
	size_t				 i, n = 0;

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
	human_duration(age, sizeof(age), (double)(host_live_now() -
	    view_attest.fetched_at) / 1000.0);
	if (view_attest.asking > 0)
		draw_fmt(y++, 1, COLS - 2, ROLE_MUTED, "asking again with a"
		    " new nonce%s (this is the evidence of %s ago)",
		    draw_ellipsis(), age);
	else if (view_attest.error[0] != '\0')
		draw_fmt(y++, 1, COLS - 2, ROLE_ERROR, "NO NEW EVIDENCE (%s):"
		    " this is the evidence of %s ago", view_attest.error, age);
	return y;
}

/*
 * The TLS state, then every check that ran, those that failed first,
 * each with why; returns the row after them.
 */
static int
view_attest_draw_verdict(struct tui *t, int y, int end)
{
	const struct attest_result	*res = &view_attest.result;
	const struct attest_check	*c;
	size_t				 i, pass;
	int				 row;

	y = view_attest_draw_tls(t, y, end, view_attest_tls_check());
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < res->nchecks; i++) {
			c = &res->checks[i];
			if (c->ok != (int)pass)
				continue;
			if ((row = view_attest_row(y, end)) != -1) {
				draw_text(row, 3, 14, ROLE_MUTED,
				    attest_check_name(c->id));
				draw_text(row, 18, 6, c->ok ? ROLE_OK :
				    ROLE_ERROR, c->ok ? "ok" : "FAILED");
				draw_text(row, 25, COLS - 26, ROLE_NORMAL,
				    c->detail);
			}
			y++;
		}
	}
	return y;
}

/* How many PEM certificates text holds. */
static int
view_attest_pem_count(const char *text)
{
	const char	*p = text;
	int		 n = 0;

	while ((p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * What the verified evidence says, in words: where it came from and how
 * old it is, the measurement, TCB, the guest's flags, the keys it binds,
 * and how the agent keeps its keys. Never the raw report or PEM.
 */
static int
view_attest_draw_facts(struct tui *t, int y, int end)
{
	const struct attest_result	*res = &view_attest.result;
	const struct host		*h = tui_host(t);
	const cJSON			*v;
	char				 buf[256], hex[2 * ATTEST_REPORT_DATA_SIZE
					    + 1], age[32];
	int64_t				 now = host_live_now();

	y++;
	human_duration(age, sizeof(age), (double)(now -
	    view_attest.fetched_at) / 1000.0);
	snprintf(buf, sizeof(buf), "%s v%d from %s, fetched %s ago",
	    view_attest_str("format"), res->version, view_attest_str("tee"),
	    age);
	view_attest_fact(&y, end, ROLE_NORMAL, "evidence", buf);
	v = cJSON_GetObjectItemCaseSensitive(view_attest.evidence,
	    "simulated");
	if (cJSON_IsTrue(v))
		view_attest_line(&y, end, 16, COLS - 17, ROLE_WARN, "SIMULATED"
		    " TEE: this evidence proves nothing about the host");
	if (res->parsed) {
		view_attest_fact(&y, end, ROLE_NORMAL, "measurement",
		    attest_hex(res->measurement, sizeof(res->measurement), hex,
		    sizeof(hex)));
		if (res->tcb_len > 0)
			snprintf(buf, sizeof(buf), "%s%s%s%s%s%s%s",
			    attest_hex(res->tcb, res->tcb_len, hex,
			    sizeof(hex)), res->tcb_status[0] ? ", " : "",
			    res->tcb_status, res->product[0] ? ", " : "",
			    res->product, res->signer[0] ? ", signed by " :
			    "", res->signer);
		else
			snprintf(buf, sizeof(buf), "not vouched for (see"
			    " the checks)");
		view_attest_fact(&y, end, res->tcb_len > 0 ? ROLE_NORMAL :
		    ROLE_WARN, "TCB", buf);
		attest_guest_flags(res, buf, sizeof(buf));
		view_attest_fact(&y, end, strstr(buf, "ALLOWED") != NULL ||
		    strstr(buf, "ON") != NULL ? ROLE_ERROR : ROLE_NORMAL,
		    "guest flags", buf);
	}
	view_attest_fact(&y, end, ROLE_NORMAL, "seal key",
	    view_attest_str("x25519"));
	view_attest_fact(&y, end, ROLE_NORMAL, "identity key",
	    view_attest_str("ed25519"));
	view_attest_fact(&y, end, ROLE_NORMAL, "TLS key sha256",
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
	    view_attest.evidence, "tls_pubkey_sha256")) ?
	    view_attest_str("tls_pubkey_sha256") : "none (plain HTTP)");
	view_attest_fact(&y, end, ROLE_NORMAL, "report_data",
	    view_attest_str("report_data"));
	/* The evidence's own (the nonce check says it is ours), never the
	 * one of an ask still out. */
	view_attest_fact(&y, end, ROLE_NORMAL, "nonce",
	    view_attest_str("nonce"));
	v = cJSON_GetObjectItemCaseSensitive(view_attest.evidence,
	    "certificates");
	if (cJSON_IsString(v))
		snprintf(buf, sizeof(buf), "%d, signing key's first",
		    view_attest_pem_count(v->valuestring));
	else
		snprintf(buf, sizeof(buf), "none given%s%s",
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
		    view_attest.evidence, "certificates_note")) ? ": " : "",
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
		    view_attest.evidence, "certificates_note")) ?
		    view_attest_str("certificates_note") : "");
	view_attest_fact(&y, end, ROLE_NORMAL, "certificates", buf);
	v = h->status != NULL ? cJSON_GetObjectItemCaseSensitive(h->status,
	    "keys_at_rest") : NULL;
	if (cJSON_IsString(v))
		view_attest_fact(&y, end, strncmp(v->valuestring, "sealed", 6)
		    == 0 ? ROLE_NORMAL : ROLE_WARN, "keys at rest",
		    v->valuestring);
	return y;
}

static void
view_attest_draw(struct tui *t, int top, int rows)
{
	int	y = top;

	view_attest.top = top;
	/* Without evidence, what status says of TLS still shows. */
	switch (view_attest.state) {
	case LIST_UNSUPPORTED:
		view_attest.scroll = 0;
		draw_text(y, 1, COLS - 2, ROLE_WARN, "not supported by this"
		    " agent (attestation.get)");
		view_attest_draw_tls(t, y + 1, top + rows, NULL);
		return;
	case LIST_ERROR:
		view_attest.scroll = 0;
		draw_text(y, 1, COLS - 2, ROLE_ERROR, view_attest.error);
		view_attest_draw_tls(t, y + 1, top + rows, NULL);
		return;
	case LIST_READY:
		break;
	default:
		view_attest.scroll = 0;
		draw_fmt(y, 1, COLS - 2, ROLE_MUTED, "asking for evidence%s",
		    draw_ellipsis());
		view_attest_draw_tls(t, y + 1, top + rows, NULL);
		return;
	}
	view_attest_rejudge(t);
	y = view_attest_draw_pinned(t, y);
	rows -= y - top;
	top = y;
	view_attest.top = top;
	/* The last row says there is more, when there is. */
	y = view_attest_draw_verdict(t, y, top + rows - 1);
	y = view_attest_draw_facts(t, y, top + rows - 1);
	view_attest.need = y - top;
	view_attest.page = rows - 1;
	if (view_attest.scroll > view_attest.need - (rows - 1))
		view_attest.scroll = view_attest.need - (rows - 1) > 0 ?
		    view_attest.need - (rows - 1) : 0;
	if (view_attest.need > rows - 1)
		draw_fmt(top + rows - 1, 1, COLS - 2, ROLE_MUTED, "rows %d-%d"
		    " of %d  j k PgUp PgDn scroll", view_attest.scroll + 1,
		    view_attest.scroll + rows - 1 < view_attest.need ?
		    view_attest.scroll + rows - 1 : view_attest.need,
		    view_attest.need);
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

/* Scrolling; r (fetch again) is the dashboard's. */
static int
view_attest_key(struct tui *t, int ch)
{
	int	page = view_attest.page > 1 ? view_attest.page : 1, max;

	(void)t;
	max = view_attest.need > page ? view_attest.need - page : 0;
	switch (ch) {
	case 'j':
	case KEY_DOWN:
		view_attest.scroll++;
		break;
	case 'k':
	case KEY_UP:
		view_attest.scroll--;
		break;
	case KEY_NPAGE:
	case ' ':
		view_attest.scroll += page;
		break;
	case KEY_PPAGE:
		view_attest.scroll -= page;
		break;
	case 'g':
	case KEY_HOME:
		view_attest.scroll = 0;
		break;
	case 'G':
	case KEY_END:
		view_attest.scroll = max;
		break;
	default:
		return 0;
	}
	if (view_attest.scroll > max)
		view_attest.scroll = max;
	if (view_attest.scroll < 0)
		view_attest.scroll = 0;
	return 1;
}

const struct view_ops view_attest_ops = {
	.name = "Attest",
	.refresh = view_attest_refresh,
	.draw = view_attest_draw,
	.key = view_attest_key,
};
