/*
 * cubectl receipt verify: check an answer's signed receipt offline, with
 * the request and response bodies the client kept and the agent's Ed25519
 * identity key, given or taken from saved evidence (cubectl attest -o
 * json) once that verifies. Exit 0 when it all holds, 1 naming the part
 * that does not, 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "attest.h"
#include "cubectl.h"
#include "log.h"
#include "receipt.h"
#include "rpc.h"
#include "xmalloc.h"

#define RECEIPT_BODY_MAX	(256 * 1024 * 1024)	/* a body file */
#define RECEIPT_FILE_MAX	(1024 * 1024)	/* a receipt or headers file */
#define RECEIPT_EVIDENCE_MAX	(4 * 1024 * 1024)

static const struct output_field cmd_receipt_columns[] = {
	{ "CHECK",	"name",		OUTPUT_PLAIN },
	{ "RESULT",	"ok",		OUTPUT_OKFAILED },
	{ "DETAIL",	"detail",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static const struct output_field cmd_receipt_fields[] = {
	{ "version",		"version",		OUTPUT_PLAIN },
	{ "batch",		"batch",		OUTPUT_PLAIN },
	{ "request id",		"id",			OUTPUT_PLAIN },
	{ "time",		"time",			OUTPUT_PLAIN },
	{ "domain",		"domain",		OUTPUT_PLAIN },
	{ "model",		"model",		OUTPUT_PLAIN },
	{ "route",		"route",		OUTPUT_PLAIN },
	{ "request sha256",	"request_sha256",	OUTPUT_PLAIN },
	{ "response sha256",	"response_sha256",	OUTPUT_PLAIN },
	{ "key",		"key",			OUTPUT_PLAIN },
	{ "verified",		"verified",		OUTPUT_YESNO },
	{ NULL, NULL, OUTPUT_PLAIN }
};

/* Flags that go with --evidence only. */
static const char *const receipt_evidence_only[] = {
	"--policy", "--allow-simulated", "--root",
};

/* The receipt: the string itself, or a file holding it somewhere. */
static int
receipt_read(const char *arg, struct receipt *rc, char *err, size_t errlen)
{
	const char	*s;
	char		*text = NULL, why[512];
	size_t		 len, slen;
	int		 rv;

	if (strncmp(arg, "v1.", 3) == 0 || strncmp(arg, "v2.", 3) == 0)
		return receipt_parse(rc, arg, strlen(arg), err, errlen);
	if (file_read(arg, RECEIPT_FILE_MAX, &text, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "--receipt: %s", why);
		return -2;
	}
	if (receipt_find(text, len, &s, &slen) == -1) {
		snprintf(err, errlen, "%s: no receipt in it (a receipt, a"
		    " Cube-Receipt header or a stream ending with one)", arg);
		free(text);
		return -1;
	}
	rv = receipt_parse(rc, s, slen, err, errlen);
	free(text);
	return rv;
}

/* 64 hex digits or base64 (as cubectl attest shows it) of 32 bytes. */
static int
receipt_key_parse(const char *s, unsigned char key[RECEIPT_KEY_BYTES])
{
	size_t	n, len = strlen(s);

	if (len == 2 * RECEIPT_KEY_BYTES)
		return sodium_hex2bin(key, RECEIPT_KEY_BYTES, s, len, NULL, &n,
		    NULL) == 0 && n == RECEIPT_KEY_BYTES ? 0 : -1;
	return sodium_base642bin(key, RECEIPT_KEY_BYTES, s, len, NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    n == RECEIPT_KEY_BYTES ? 0 : -1;
}

/*
 * The identity key from saved evidence, once it verifies against its own
 * nonce and the policy: 0, 1 when it does not verify (said), or 2 for a
 * usage error (err).
 */
static int
receipt_evidence_key(struct cubectl *c, const struct args *a,
    const char *path, unsigned char key[RECEIPT_KEY_BYTES], char *err,
    size_t errlen)
{
	struct verify_policy		 vp;
	struct attest_live_policy	 lp;
	struct attest_live_info		 info;
	struct attest_result		 res;
	struct attest_input		 collateral;
	const struct args_value		*v;
	const cJSON			*nonce_j, *key_j;
	unsigned char			 nonce[ATTEST_NONCE_MAX];
	char				*text = NULL, *root = NULL, why[512];
	size_t				 len, nonce_len;
	cJSON				*doc = NULL, *obj;
	int				 rc = EXIT_USAGE;

	(void)c;
	verify_policy_init(&vp);
	if (cmd_verify_policy(a, 0, &vp, err, errlen) == -1)
		goto out;
	if (file_read(path, RECEIPT_EVIDENCE_MAX, &text, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "--evidence: %s", why);
		goto out;
	}
	if ((doc = cJSON_ParseWithLength(text, len)) == NULL ||
	    !cJSON_IsObject(doc)) {
		snprintf(err, errlen, "--evidence: %s is not the JSON of"
		    " cubectl attest -o json", path);
		goto out;
	}
	nonce_j = cJSON_GetObjectItemCaseSensitive(doc, "nonce");
	key_j = cJSON_GetObjectItemCaseSensitive(doc, "ed25519");
	if (!cJSON_IsString(nonce_j) || !cJSON_IsString(key_j) ||
	    sodium_hex2bin(nonce, sizeof(nonce), nonce_j->valuestring,
	    strlen(nonce_j->valuestring), NULL, &nonce_len, NULL) != 0 ||
	    nonce_len < ATTEST_NONCE_MIN ||
	    receipt_key_parse(key_j->valuestring, key) != 0) {
		snprintf(err, errlen, "--evidence: %s has no nonce or ed25519"
		    " key as cubectl attest -o json gives them", path);
		goto out;
	}
	if ((v = args_get(a, "--root")) != NULL && file_read(v->string,
	    ATTEST_CERTS_MAX, &root, &len, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "--root: %s", why);
		goto out;
	}
	memset(&lp, 0, sizeof(lp));
	memset(&collateral, 0, sizeof(collateral));
	lp.policy = vp.policy;
	lp.allow_simulated = vp.file.allow_simulated;
	verify_policy_input(&vp, &collateral);
	lp.collateral = &collateral;
	lp.nonce = nonce;
	lp.nonce_len = nonce_len;
	if (root != NULL) {
		lp.root = (const unsigned char *)root;
		lp.root_len = len;
	}
	attest_live_verify(doc, &lp, &info, &res);
	attest_policy_tee_check(&vp.file, &res);
	if (res.verified) {
		rc = EXIT_OK;
		goto out;
	}
	/* Say why the evidence fails, as cubectl attest --verify does. */
	obj = cmd_verify_json(&res);
	if (c->output == CUBECTL_JSON) {
		cJSON_AddStringToObject(obj, "receipt", "not checked: the"
		    " evidence does not verify");
		output_json(obj);
	} else
		output_table(cmd_receipt_columns,
		    cJSON_GetObjectItemCaseSensitive(obj, "checks"));
	cJSON_Delete(obj);
	output_error("--evidence: %s does not verify; the receipt is not"
	    " checked", path);
	rc = EXIT_FAILED;
out:
	cJSON_Delete(doc);
	free(text);
	free(root);
	verify_policy_free(&vp);
	return rc;
}

static void
receipt_check_add(cJSON *checks, const char *name, int ok, const char *detail)
{
	cJSON	*o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddStringToObject(o, "name", name) == NULL ||
	    cJSON_AddBoolToObject(o, "ok", ok) == NULL ||
	    cJSON_AddStringToObject(o, "detail", detail) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToArray(checks, o);
}

static void
receipt_hex(cJSON *obj, const char *name, const unsigned char *p, size_t n)
{
	char	hex[2 * RECEIPT_HASH_BYTES + 1];

	sodium_bin2hex(hex, sizeof(hex), p, n);
	cJSON_AddStringToObject(obj, name, hex);
}

/* The receipt, the checks and the verdict as one object. */
static cJSON *
receipt_json(const struct receipt *rc, const unsigned char *key,
    enum receipt_status st)
{
	cJSON		*obj, *checks;
	char		 when[64], how[128];
	time_t		 sec = (time_t)(rc->time_ms / 1000);
	struct tm	 tm;

	if ((obj = cJSON_CreateObject()) == NULL ||
	    (checks = cJSON_AddArrayToObject(obj, "checks")) == NULL)
		fatalx("%s: out of memory", __func__);
	if (rc->version == 2)
		snprintf(how, sizeof(how), "Ed25519, the agent's identity key,"
		    " over a batch of %u (this receipt is leaf %u)",
		    rc->tree_size, rc->leaf_index);
	else
		snprintf(how, sizeof(how), "Ed25519, the agent's identity key");
	receipt_check_add(checks, "signature", st != RECEIPT_BAD_SIGNATURE,
	    st == RECEIPT_BAD_SIGNATURE ? receipt_status_message(st) : how);
	receipt_check_add(checks, "request body", st == RECEIPT_OK ||
	    st == RECEIPT_BAD_RESPONSE, st == RECEIPT_BAD_SIGNATURE ?
	    "not checked" : st == RECEIPT_BAD_REQUEST ?
	    receipt_status_message(st) : "SHA-256 matches");
	receipt_check_add(checks, "response body", st == RECEIPT_OK,
	    st == RECEIPT_OK ? "SHA-256 matches" : st == RECEIPT_BAD_RESPONSE ?
	    receipt_status_message(st) : "not checked");
	cJSON_AddNumberToObject(obj, "version", rc->version);
	if (rc->version == 2)
		snprintf(how, sizeof(how), "leaf %u of %u", rc->leaf_index,
		    rc->tree_size);
	else
		snprintf(how, sizeof(how), "none (signed alone)");
	cJSON_AddStringToObject(obj, "batch", how);
	receipt_hex(obj, "id", rc->id, sizeof(rc->id));
	if (gmtime_r(&sec, &tm) != NULL && strftime(when, sizeof(when),
	    "%Y-%m-%dT%H:%M:%S", &tm) > 0) {
		snprintf(when + strlen(when), sizeof(when) - strlen(when),
		    ".%03uZ", (unsigned)(rc->time_ms % 1000));
		cJSON_AddStringToObject(obj, "time", when);
	}
	cJSON_AddStringToObject(obj, "domain", rc->domain);
	cJSON_AddStringToObject(obj, "model", rc->model);
	cJSON_AddStringToObject(obj, "route", rc->route);
	receipt_hex(obj, "request_sha256", rc->request_sha256,
	    sizeof(rc->request_sha256));
	receipt_hex(obj, "response_sha256", rc->response_sha256,
	    sizeof(rc->response_sha256));
	receipt_hex(obj, "key", key, RECEIPT_KEY_BYTES);
	cJSON_AddBoolToObject(obj, "verified", st == RECEIPT_OK);
	return obj;
}

int
cmd_receipt_verify(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	struct receipt		 rc;
	unsigned char		 key[RECEIPT_KEY_BYTES];
	const struct args_value	*v;
	enum receipt_status	 st;
	char			*req = NULL, *resp = NULL, err[1024];
	size_t			 req_len, resp_len, i;
	cJSON			*obj;
	int			 rv;

	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (!args_has(a, "--key") && !args_has(a, "--evidence"))
		return cmd_usage_error(ce, "the agent's key: --key HEX or"
		    " --evidence FILE");
	if (!args_has(a, "--evidence"))
		for (i = 0; i < sizeof(receipt_evidence_only) /
		    sizeof(receipt_evidence_only[0]); i++)
			if (args_has(a, receipt_evidence_only[i])) {
				snprintf(err, sizeof(err), "%s goes with"
				    " --evidence", receipt_evidence_only[i]);
				return cmd_usage_error(ce, err);
			}
	if ((v = args_get(a, "--key")) != NULL &&
	    receipt_key_parse(v->string, key) != 0)
		return cmd_usage_error(ce, "--key: the agent's Ed25519 key, 64"
		    " hex digits (or base64, as cubectl attest shows it)");
	/* Read everything before judging anything: a typo is a usage error. */
	v = args_get(a, "--request");
	if (file_read(v->string, RECEIPT_BODY_MAX, &req, &req_len, err,
	    sizeof(err)) == -1) {
		output_error("--request: %s", err);
		return EXIT_USAGE;
	}
	v = args_get(a, "--response");
	if (file_read(v->string, RECEIPT_BODY_MAX, &resp, &resp_len, err,
	    sizeof(err)) == -1) {
		output_error("--response: %s", err);
		free(req);
		return EXIT_USAGE;
	}
	if ((rv = receipt_read(args_get(a, "--receipt")->string, &rc, err,
	    sizeof(err))) != 0) {
		output_error("%s", err);
		rv = rv == -2 ? EXIT_USAGE : EXIT_FAILED;
		goto out;
	}
	if ((v = args_get(a, "--evidence")) != NULL) {
		err[0] = '\0';
		if ((rv = receipt_evidence_key(c, a, v->string, key, err,
		    sizeof(err))) != EXIT_OK) {
			if (rv == EXIT_USAGE)
				output_error("%s", err);
			goto out;
		}
	}
	/* A stream's own receipt bytes are left out of its hash. */
	st = receipt_verify(&rc, key, (const unsigned char *)req, req_len,
	    (const unsigned char *)resp, resp_len);
	obj = receipt_json(&rc, key, st);
	if (c->output == CUBECTL_JSON)
		output_json(obj);
	else {
		output_table(cmd_receipt_columns,
		    cJSON_GetObjectItemCaseSensitive(obj, "checks"));
		printf("\n");
		output_object(cmd_receipt_fields, obj);
	}
	cJSON_Delete(obj);
	rv = EXIT_OK;
	if (st != RECEIPT_OK) {
		output_error("receipt verification failed: %s",
		    receipt_status_message(st));
		rv = EXIT_FAILED;
	}
out:
	free(req);
	free(resp);
	return rv;
}
