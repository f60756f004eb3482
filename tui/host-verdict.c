/*
 * Each host's attestation verdict for the header's TEE badge and the
 * Fleet view: now and then its evidence with a fresh nonce of ours
 * (attestation.get), judged as the Attestation view judges it (the
 * operator's policy, the seal and TLS keys its status reports). One ask
 * in flight at most, and the nonce only changes with a new ask, so an
 * answer is always checked against the nonce it was asked with. Runs on
 * the main loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cube-tui.h"
#include "xmalloc.h"

#define HOST_VERDICT_EVERY_MS	60000

static void	host_verdict_set(struct host *, const struct attest_result *);

static void
host_verdict_judge(struct tui *t, struct host *h, const cJSON *ev)
{
	struct attest_live_policy	 lp;
	struct attest_live_info		 info;
	struct attest_input		 collateral;
	struct attest_result		*res;
	const cJSON			*key;
	unsigned char			 seal[32];
	size_t				 len;

	res = xcalloc(1, sizeof(*res));
	memset(&lp, 0, sizeof(lp));
	memset(&collateral, 0, sizeof(collateral));
	lp.policy = t->policy.policy;
	lp.allow_simulated = t->policy.file.allow_simulated;
	verify_policy_input(&t->policy, &collateral);
	lp.collateral = &collateral;
	lp.nonce = h->verdict_nonce;
	lp.nonce_len = sizeof(h->verdict_nonce);
	key = cJSON_GetObjectItemCaseSensitive(h->status, "seal_public_key");
	if (cJSON_IsString(key) && sodium_base642bin(seal, sizeof(seal),
	    key->valuestring, strlen(key->valuestring), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0 && len == sizeof(seal))
		lp.seal_key = seal;
	attest_live_verify(ev, &lp, &info, res);
	attest_policy_tee_check(&t->policy.file, res);
	attest_live_tls_agree(ev, h->status, res);
	host_verdict_set(h, res);
	free(res);
}

/* The verdict of res, a judgement of evidence fresh for h. */
static void
host_verdict_set(struct host *h, const struct attest_result *res)
{
	const struct attest_check	*failed;

	if (res->verified) {
		h->verdict = HOST_VERDICT_OK;
		h->verdict_why[0] = '\0';
	} else {
		h->verdict = HOST_VERDICT_FAIL;
		failed = attest_result_failed(res);
		snprintf(h->verdict_why, sizeof(h->verdict_why), "%s",
		    failed != NULL ? attest_check_name(failed->id) : "");
	}
}

/*
 * The Attestation view judged fresh evidence of h (its own nonce, asked
 * by r): the header's verdict is that, now, instead of waiting for its
 * next ask.
 */
void
host_verdict_take(struct host *h, const struct attest_result *res,
    int64_t now)
{
	host_verdict_set(h, res);
	h->verdict_at = now;
}

/*
 * What of h's status its verdict depends on: the instance (pid,
 * version), its TEE and the keys the evidence must bind. When it
 * changes, the verdict is of another agent, or of other keys.
 */
static uint64_t
host_verdict_status(const struct host *h)
{
	static const char *const	 names[] = { "pid", "version", "tee",
					    "seal_public_key" };
	const cJSON			*v;
	char				*text;
	uint64_t			 hash = 14695981039346656037ULL;
	size_t				 i;
	const unsigned char		*c;

	if (h->status == NULL)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]) + 1; i++) {
		v = i < sizeof(names) / sizeof(names[0]) ?
		    cJSON_GetObjectItemCaseSensitive(h->status, names[i]) :
		    cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(h->status, "tls"),
		    "spki_sha256");
		if ((text = cJSON_PrintUnformatted(v)) == NULL)
			continue;	/* absent */
		for (c = (const unsigned char *)text; *c != '\0'; c++)
			hash = (hash ^ *c) * 1099511628211ULL;
		hash = (hash ^ 0xff) * 1099511628211ULL;
		cJSON_free(text);
	}
	return hash;
}

static void
host_verdict_done(struct tui *t, struct host_reply *r)
{
	struct host	*h = r->host;

	h->verdict_pending = 0;
	if (r->status == RPC_CLIENT_OK && cJSON_IsObject(r->result))
		host_verdict_judge(t, h, r->result);
	else if (r->status == RPC_CLIENT_REPLY_ERROR) {
		/* The agent cannot attest (no TEE, an older agent). */
		h->verdict = HOST_VERDICT_FAIL;
		snprintf(h->verdict_why, sizeof(h->verdict_why), "no evidence");
	}
	/* Not reached: the verdict stays what it was, the ask is retried. */
	if (r->status != RPC_CLIENT_OK && r->status != RPC_CLIENT_REPLY_ERROR)
		h->verdict_at = 0;
}

/*
 * Ask h for fresh evidence when its verdict is due and it has a TEE: a
 * minute after the last, or at once when its status says it is another
 * agent or has other keys. Cheap when nothing is due: call it often.
 */
void
host_verdict_poll(struct host *h, int64_t now)
{
	const cJSON	*tee;
	cJSON		*params;
	char		 hex[sizeof(h->verdict_nonce) * 2 + 1];
	uint64_t	 fp;

	fp = host_verdict_status(h);
	if (fp != 0 && fp != h->verdict_of) {
		/* Another instance or other keys: ask now, not in a minute. */
		if (h->verdict_of != 0)
			h->verdict = HOST_VERDICT_UNKNOWN;
		h->verdict_of = fp;
		h->verdict_at = 0;
	}
	tee = cJSON_GetObjectItemCaseSensitive(h->status, "tee");
	if (h->verdict_pending || !cJSON_IsString(tee) ||
	    strcmp(tee->valuestring, "none") == 0)
		return;
	if (h->verdict_at != 0 && now - h->verdict_at < HOST_VERDICT_EVERY_MS)
		return;
	h->verdict_at = now;
	h->verdict_pending = 1;
	randombytes_buf(h->verdict_nonce, sizeof(h->verdict_nonce));
	sodium_bin2hex(hex, sizeof(hex), h->verdict_nonce,
	    sizeof(h->verdict_nonce));
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "nonce", hex);
	host_call(h, "attestation.get", params, host_verdict_done, 0);
}

/* The verdict as one word: "ok", "FAIL", "?" (not known yet). */
const char *
host_verdict_word(const struct host *h, enum draw_role *role)
{
	switch (h->verdict) {
	case HOST_VERDICT_OK:
		*role = ROLE_OK;
		return "ok";
	case HOST_VERDICT_FAIL:
		*role = ROLE_ERROR;
		return "FAIL";
	default:
		*role = ROLE_MUTED;
		return "?";
	}
}
