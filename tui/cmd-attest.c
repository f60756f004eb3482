/*
 * cubectl attest: the agent's evidence, live, for a fresh nonce, over the
 * admin channel (so -H works too), or with --url over a TLS connection to
 * the inference port, bound to that connection's key (attest-url.c).
 * With --verify (implied by --url) it is checked whole by
 * shared/attest (signature, chain, the policy of --policy and the flags),
 * its report_data against the binding of our nonce and the keys it names,
 * its X25519 key against the seal key of status (the key provider
 * credentials are sealed to) and its TLS key against status's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "attest.h"
#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define ATTEST_NONCE_DEFAULT	32	/* bytes of a random nonce */

/* The evidence without --verify. */
static const struct output_field cmd_attest_fields[] = {
	{ "tee",		"tee",			OUTPUT_PLAIN },
	{ "simulated",		"simulated",		OUTPUT_YESNO },
	{ "format",		"format",		OUTPUT_PLAIN },
	{ "nonce",		"nonce",		OUTPUT_PLAIN },
	{ "report_data",	"report_data",		OUTPUT_PLAIN },
	{ "x25519",		"x25519",		OUTPUT_PLAIN },
	{ "ed25519",		"ed25519",		OUTPUT_PLAIN },
	{ "tls key sha256",	"tls_pubkey_sha256",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* The checks' summary with --verify. */
static const struct output_field cmd_attest_verify_fields[] = {
	{ "provider",		"provider",	OUTPUT_PLAIN },
	{ "simulated",		"simulated",	OUTPUT_YESNO },
	{ "tee",		"tee",		OUTPUT_PLAIN },
	{ "version",		"version",	OUTPUT_PLAIN },
	{ "measurement",	"measurement",	OUTPUT_PLAIN },
	{ "report_data",	"report_data",	OUTPUT_PLAIN },
	{ "tcb",		"tcb",		OUTPUT_PLAIN },
	{ "product",		"product",	OUTPUT_PLAIN },
	{ "signer",		"signer",	OUTPUT_PLAIN },
	{ "tcb status",		"tcb_status",	OUTPUT_PLAIN },
	{ "guest flags",	"guest_flags",	OUTPUT_PLAIN },
	{ "verified",		"verified",	OUTPUT_YESNO },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* Flags that only mean something with --verify. */
static const char *const attest_verify_only[] = {
	"--policy", "--expect-measurement", "--allow-simulated",
	"--allow-debug", "--root",
};

/* Said in the table output whenever the TEE is a simulated one. */
static void
attest_simulated_note(const struct cubectl *c, int simulated)
{
	if (simulated && c->output != CUBECTL_JSON)
		printf("\nnote: SIMULATED TEE (--tee sim): this evidence proves"
		    " nothing about hardware\n");
}

/*
 * The live policy of vp and the flags, --root read into *root (the
 * caller frees it): all but the nonce, the seal key and the TLS key.
 * 0, or -1 with err.
 */
int
cmd_attest_live_policy(const struct args *a, const struct verify_policy *vp,
    struct attest_live_policy *lp, struct attest_input *collateral,
    char **root, char *err, size_t errlen)
{
	const struct args_value	*v;
	char			 why[768];
	size_t			 len;

	memset(lp, 0, sizeof(*lp));
	memset(collateral, 0, sizeof(*collateral));
	*root = NULL;
	lp->policy = vp->policy;
	lp->allow_simulated = vp->file.allow_simulated;
	verify_policy_input(vp, collateral);
	lp->collateral = collateral;
	if ((v = args_get(a, "--root")) != NULL) {
		if (file_read(v->string, ATTEST_CERTS_MAX, root, &len, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "--root: %s", why);
			return -1;
		}
		lp->root = (const unsigned char *)*root;
		lp->root_len = len;
	}
	return 0;
}

/*
 * Verify ev against what we sent and what vp (the policy file and the
 * flags) says; an exit status.
 */
static int
attest_check(struct cubectl *c, const struct args *a,
    const struct verify_policy *vp, cJSON *ev, const unsigned char *nonce,
    size_t nonce_len, const unsigned char *tls_spki)
{
	struct attest_live_policy	 lp;
	struct attest_live_info		 info;
	struct attest_result		 res;
	struct attest_input		 collateral;
	unsigned char			 seal[32];
	char				*root = NULL, err[1024];
	size_t				 len;
	const cJSON			*pk;
	cJSON				*obj, *status = NULL;
	int				 rc;

	if (cmd_attest_live_policy(a, vp, &lp, &collateral, &root, err,
	    sizeof(err)) == -1) {
		output_error("%s", err);
		return EXIT_USAGE;
	}
	lp.nonce = nonce;
	lp.nonce_len = nonce_len;
	lp.tls_spki_sha256 = tls_spki;
	/*
	 * Over the admin channel, the status says which seal key and TLS
	 * key the agent uses: both must be the bound ones. Over --url there
	 * is no admin channel: the seal key is only bound, and the TLS key
	 * is the connection's.
	 */
	if (tls_spki == NULL) {
		if ((rc = client_call(c, "status", NULL, &status)) !=
		    EXIT_OK) {
			free(root);
			return rc;
		}
		pk = cJSON_GetObjectItemCaseSensitive(status,
		    "seal_public_key");
		if (!cJSON_IsString(pk) || sodium_base642bin(seal,
		    sizeof(seal), pk->valuestring, strlen(pk->valuestring),
		    NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    len != sizeof(seal)) {
			output_error("the agent's seal_public_key is not a key");
			cJSON_Delete(status);
			free(root);
			return EXIT_FAILED;
		}
		lp.seal_key = seal;
	}

	attest_live_verify(ev, &lp, &info, &res);
	if (status != NULL)
		attest_live_tls_agree(ev, status, &res);
	cJSON_Delete(status);
	attest_policy_tee_check(&vp->file, &res);
	obj = cmd_verify_json(&res);
	cJSON_AddStringToObject(obj, "provider", info.tee != NULL ? info.tee :
	    "unknown");
	cJSON_AddBoolToObject(obj, "simulated", info.simulated);
	rc = cmd_verify_show(c, cmd_attest_verify_fields, obj, &res);
	attest_simulated_note(c, info.simulated);
	free(root);
	return rc;
}

int
cmd_attest(struct cubectl *c, const struct cmd_entry *ce, const struct args *a)
{
	struct verify_policy	 vp;
	unsigned char		 nonce[ATTEST_NONCE_MAX];
	char			 hex[2 * ATTEST_NONCE_MAX + 1], err[1024];
	const struct args_value	*url;
	const cJSON		*sim;
	cJSON			*params, *ev;
	unsigned char		 spki[32];
	size_t			 len, i;
	int			 rc, verify;

	url = args_get(a, "--url");
	verify = url != NULL || args_has(a, "--verify");
	if (!verify)
		for (i = 0; i < sizeof(attest_verify_only) /
		    sizeof(attest_verify_only[0]); i++)
			if (args_has(a, attest_verify_only[i])) {
				snprintf(err, sizeof(err), "%s goes with"
				    " --verify", attest_verify_only[i]);
				return cmd_usage_error(ce, err);
			}
	if (cmd_verify_hex(a, "--nonce", ATTEST_NONCE_MIN, ATTEST_NONCE_MAX,
	    nonce, &len, err, sizeof(err)) == -1)
		return cmd_usage_error(ce, err);
	/* The policy before the agent: a bad one asks nothing. */
	verify_policy_init(&vp);
	if (verify && cmd_verify_policy(a, 0, &vp, err, sizeof(err)) == -1) {
		verify_policy_free(&vp);
		return cmd_usage_error(ce, err);
	}
	if (len == 0) {
		if (sodium_init() < 0)
			fatalx("sodium_init failed");
		len = ATTEST_NONCE_DEFAULT;
		randombytes_buf(nonce, len);
	}
	if (url != NULL) {
		if ((rc = attest_url_fetch(url->string, nonce, len,
		    verify && vp.file.tls_ca, &ev, spki, err,
		    sizeof(err))) != EXIT_OK) {
			verify_policy_free(&vp);
			if (rc == EXIT_USAGE)
				return cmd_usage_error(ce, err);
			output_error("%s", err);
			return rc;
		}
	} else {
		params = cJSON_CreateObject();
		if (params == NULL || cJSON_AddStringToObject(params, "nonce",
		    attest_hex(nonce, len, hex, sizeof(hex))) == NULL)
			fatalx("%s: out of memory", __func__);
		if ((rc = client_call(c, "attestation.get", params, &ev)) !=
		    EXIT_OK) {
			verify_policy_free(&vp);
			return rc;
		}
	}
	if (verify)
		rc = attest_check(c, a, &vp, ev, nonce, len, url != NULL ?
		    spki : NULL);
	else {
		if (c->output == CUBECTL_JSON)
			output_json(ev);
		else
			output_object(cmd_attest_fields, ev);
		sim = cJSON_GetObjectItemCaseSensitive(ev, "simulated");
		attest_simulated_note(c, cJSON_IsTrue(sim));
	}
	cJSON_Delete(ev);
	verify_policy_free(&vp);
	return rc;
}
