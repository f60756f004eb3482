/*
 * Live evidence, as an agent returns it for a nonce: a JSON document with
 * the report or quote, certificates, the nonce and the agent's public
 * keys. Checked whole: the evidence itself (attest_verify, SEV-SNP's signer
 * picked by the report's SIGNING_KEY), the binding of nonce and keys to
 * its report_data, the nonce, the seal key, and whether the TEE is a
 * simulated one; and the TLS key the agent's status reports against the
 * one the evidence binds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "attest-int.h"

#define LIVE_PEM_BEGIN	"-----BEGIN CERTIFICATE-----"

/* The evidence's formats, as the agent names them. */
static const struct {
	const char	*name;
	int		 tee;		/* enum attest_tee, or -1 */
	const char	*why;		/* when it cannot be verified */
} live_formats[] = {
	{ "sev-snp",	ATTEST_TEE_SEV_SNP,	NULL },
	{ "tdx",	ATTEST_TEE_TDX,		NULL },
	{ "tdx-report",	-1,	"a TDREPORT is only checkable on the machine"
	    " that made it; the agent needs --tee configfs-tsm for a quote" },
};

/* The fields of the document, decoded. */
struct live_doc {
	unsigned char	 report[ATTEST_EVIDENCE_MAX];
	size_t		 report_len;
	const char	*certs;
	unsigned char	 nonce[ATTEST_NONCE_MAX];
	size_t		 nonce_len;
	struct attest_binding b;
	int		 tee;
};

static const char *
live_string(const cJSON *doc, const char *name, int nullable, char *err,
    size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(doc, name);

	if (cJSON_IsString(v) && v->valuestring != NULL)
		return v->valuestring;
	if (!nullable || !cJSON_IsNull(v))
		snprintf(err, errlen, "'%s' is missing or not a string%s",
		    name, nullable ? " or null" : "");
	return NULL;
}

/* Base64 (b64) or hex of min..max bytes from a string field. */
static int
live_bytes(const cJSON *doc, const char *name, int b64, size_t min,
    size_t max, unsigned char *out, size_t *len, char *err, size_t errlen)
{
	const char	*s, *end;
	size_t		 n = 0;
	int		 rc;

	if ((s = live_string(doc, name, 0, err, errlen)) == NULL)
		return -1;
	if (b64)
		rc = sodium_base642bin(out, max, s, strlen(s), NULL, &n, &end,
		    sodium_base64_VARIANT_ORIGINAL);
	else
		rc = sodium_hex2bin(out, max, s, strlen(s), NULL, &n, &end);
	if (rc != 0 || *end != '\0' || n < min) {
		snprintf(err, errlen, "'%s' is not %s of %zu%s bytes", name,
		    b64 ? "base64" : "hex", min, min == max ? "" : " or more");
		return -1;
	}
	if (len != NULL)
		*len = n;
	return 0;
}

static int
live_parse(const cJSON *doc, struct live_doc *d, struct attest_live_info *info,
    char *err, size_t errlen)
{
	const cJSON	*sim;
	size_t		 i;

	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "the evidence is not a JSON object");
		return -1;
	}
	sim = cJSON_GetObjectItemCaseSensitive(doc, "simulated");
	if ((info->tee = live_string(doc, "tee", 0, err, errlen)) == NULL ||
	    (info->format = live_string(doc, "format", 0, err,
	    errlen)) == NULL)
		return -1;
	if (!cJSON_IsBool(sim)) {
		snprintf(err, errlen, "'simulated' is missing or not a bool");
		return -1;
	}
	/* A sim provider is simulated whatever the flag says. */
	info->simulated = cJSON_IsTrue(sim) || strcmp(info->tee, "sim") == 0;
	for (i = 0; i < sizeof(live_formats) / sizeof(live_formats[0]); i++)
		if (strcmp(live_formats[i].name, info->format) == 0)
			break;
	if (i == sizeof(live_formats) / sizeof(live_formats[0])) {
		snprintf(err, errlen, "format '%.32s' is not one this verifier"
		    " knows", info->format);
		return -1;
	}
	if (live_formats[i].tee == -1) {
		snprintf(err, errlen, "%s", live_formats[i].why);
		return -1;
	}
	d->tee = live_formats[i].tee;
	d->certs = live_string(doc, "certificates", 1, err, errlen);
	if (d->certs == NULL && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
	    doc, "certificates")))
		return -1;
	if (live_bytes(doc, "report", 1, 1, sizeof(d->report), d->report,
	    &d->report_len, err, errlen) != 0 ||
	    live_bytes(doc, "nonce", 0, ATTEST_NONCE_MIN, ATTEST_NONCE_MAX,
	    d->nonce, &d->nonce_len, err, errlen) != 0 ||
	    live_bytes(doc, "x25519", 1, 32, 32, d->b.x25519, NULL, err,
	    errlen) != 0 ||
	    live_bytes(doc, "ed25519", 1, 32, 32, d->b.ed25519, NULL, err,
	    errlen) != 0)
		return -1;
	if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc,
	    "tls_pubkey_sha256")) && live_bytes(doc, "tls_pubkey_sha256", 0,
	    32, 32, d->b.tls_spki_sha256, NULL, err, errlen) != 0)
		return -1;
	return 0;
}


/*
 * The key of the TLS connection that brought the evidence against the one
 * the evidence names: another one is a TLS terminator, or a man in the
 * middle, between the client and the TEE.
 */
static void
live_tls_key_check(const unsigned char *used, const unsigned char *named,
    struct attest_result *res)
{
	static const unsigned char	zero[32];
	char				hu[65], hn[65];

	attest_hex(used, 32, hu, sizeof(hu));
	if (sodium_memcmp(used, named, 32) == 0)
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 1, "the connection's"
		    " certificate key %s is the one bound", hu);
	else if (sodium_memcmp(named, zero, 32) == 0)
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "the connection's"
		    " certificate key is %s, but the agent binds no TLS key: TLS"
		    " ends outside it", hu);
	else
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "the connection's"
		    " certificate key is %s, the evidence binds %s: another"
		    " party ends the TLS connection", hu, attest_hex(named, 32,
		    hn, sizeof(hn)));
}
/* The last certificate of a PEM bundle: a simulated chain's root. */
static const char *
live_last_pem(const char *pem)
{
	const char	*p, *last = NULL;

	for (p = pem; (p = strstr(p, LIVE_PEM_BEGIN)) != NULL; p++)
		last = p;
	return last;
}

int
attest_live_verify(const cJSON *doc, const struct attest_live_policy *lp,
    struct attest_live_info *info, struct attest_result *res)
{
	static struct live_doc	 zero;
	struct live_doc		*d;
	struct attest_input	 in;
	struct attest_policy	 p;
	unsigned char		 rd[ATTEST_REPORT_DATA_SIZE], named[32];
	char			 err[ATTEST_DETAIL_MAX];
	const char		*root;
	int			 same, rc = -1;

	memset(info, 0, sizeof(*info));
	memset(res, 0, sizeof(*res));
	if ((d = malloc(sizeof(*d))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "out of memory");
		return -1;
	}
	*d = zero;
	if (live_parse(doc, d, info, err, sizeof(err)) != 0) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "%s", err);
		goto out;
	}
	/*
	 * The binding of the nonce we sent, not the one that came back, and
	 * of the TLS key the connection used, not the one the evidence names.
	 */
	memcpy(named, d->b.tls_spki_sha256, sizeof(named));
	if (lp->tls_spki_sha256 != NULL)
		memcpy(d->b.tls_spki_sha256, lp->tls_spki_sha256,
		    sizeof(d->b.tls_spki_sha256));
	d->b.nonce = lp->nonce != NULL ? lp->nonce : d->nonce;
	d->b.nonce_len = lp->nonce != NULL ? lp->nonce_len : d->nonce_len;
	if (attest_binding_digest(&d->b, rd, err, sizeof(err)) != 0) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "%s", err);
		goto out;
	}
	p = lp->policy;
	memset(&p.report_data, 0, sizeof(p.report_data));
	attest_values_add(&p.report_data, rd, sizeof(rd));

	memset(&in, 0, sizeof(in));
	in.tee = (enum attest_tee)d->tee;
	in.evidence = d->report;
	in.evidence_len = d->report_len;
	if (d->certs != NULL && in.tee == ATTEST_TEE_SEV_SNP) {
		/* The signer is picked among them by SIGNING_KEY. */
		in.vcek = (const unsigned char *)d->certs;
		in.vcek_len = strlen(d->certs);
	}
	in.root = lp->root;
	in.root_len = lp->root_len;
	if (lp->collateral != NULL) {
		in.crls = lp->collateral->crls;
		in.crls_len = lp->collateral->crls_len;
		in.tcb_info = lp->collateral->tcb_info;
		in.tcb_info_len = lp->collateral->tcb_info_len;
		in.qe_identity = lp->collateral->qe_identity;
		in.qe_identity_len = lp->collateral->qe_identity_len;
		in.collateral_chain = lp->collateral->collateral_chain;
		in.collateral_chain_len = lp->collateral->collateral_chain_len;
	}
	if (in.root == NULL && info->simulated && lp->allow_simulated &&
	    d->certs != NULL && (root = live_last_pem(d->certs)) != NULL) {
		in.root = (const unsigned char *)root;
		in.root_len = strlen(root);
	}
	attest_verify(&in, &p, res);

	if (lp->nonce != NULL) {
		same = d->nonce_len == lp->nonce_len && memcmp(d->nonce,
		    lp->nonce, lp->nonce_len) == 0;
		attest_result_add(res, ATTEST_CHECK_NONCE, same, "%s", same ?
		    "the one sent" : "not the one sent");
	}
	if (lp->seal_key != NULL) {
		same = memcmp(d->b.x25519, lp->seal_key, 32) == 0;
		attest_result_add(res, ATTEST_CHECK_SEAL_KEY, same, "the"
		    " X25519 key in the evidence is %sthe agent's seal key",
		    same ? "" : "not ");
	}
	if (lp->tls_spki_sha256 != NULL)
		live_tls_key_check(lp->tls_spki_sha256, named, res);
	if (info->simulated)
		attest_result_add(res, ATTEST_CHECK_SIMULATED,
		    lp->allow_simulated, "%s", lp->allow_simulated ?
		    "SIMULATED TEE, accepted as asked: no hardware guarantee" :
		    "SIMULATED TEE (--tee sim): proves nothing; accept it"
		    " only for development");
	rc = res->verified ? 0 : -1;
out:
	if (rc != 0)
		res->verified = 0;
	sodium_memzero(d, sizeof(*d));
	free(d);
	return rc;
}

#define LIVE_SPKI_MAX	4096	/* bytes of a TLS SubjectPublicKeyInfo */

/*
 * status's tls object: on, and the key it names (zeros when off). Returns
 * 0, or -1 with why in err.
 */
static int
live_status_tls(const cJSON *status, unsigned char key[32], int *on,
    char *err, size_t errlen)
{
	const cJSON	*tls, *v;
	const char	*end;
	size_t		 n;

	memset(key, 0, 32);
	tls = cJSON_GetObjectItemCaseSensitive(status, "tls");
	if (!cJSON_IsObject(tls)) {
		snprintf(err, errlen, "status has no tls object");
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(tls, "on");
	if (!cJSON_IsBool(v)) {
		snprintf(err, errlen, "status's tls.on is not a bool");
		return -1;
	}
	*on = cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(tls, "spki_sha256");
	if (!*on) {
		if (!cJSON_IsNull(v)) {
			snprintf(err, errlen, "status says TLS is off but names"
			    " a key");
			return -1;
		}
		return 0;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    strlen(v->valuestring) != 64 || sodium_hex2bin(key, 32,
	    v->valuestring, 64, NULL, &n, &end) != 0 || n != 32 ||
	    *end != '\0') {
		snprintf(err, errlen, "status's tls.spki_sha256 is not 64 hex"
		    " digits");
		return -1;
	}
	return 0;
}

void
attest_live_tls_agree(const cJSON *doc, const cJSON *status,
    struct attest_result *res)
{
	static const unsigned char	 zero[32];
	unsigned char			 bound[32], said[32], hashed[32];
	unsigned char			*spki;
	char				 err[ATTEST_DETAIL_MAX];
	char				 hb[65], hs[65];
	size_t				 len;
	int				 on = 0, has_spki;

	if (status == NULL) {
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "the agent's"
		    " status (its TLS key) is not known yet");
		return;
	}
	if (live_status_tls(status, said, &on, err, sizeof(err)) != 0) {
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "%s", err);
		return;
	}
	memset(bound, 0, sizeof(bound));
	if (!cJSON_IsObject(doc) || (!cJSON_IsNull(
	    cJSON_GetObjectItemCaseSensitive(doc, "tls_pubkey_sha256")) &&
	    live_bytes(doc, "tls_pubkey_sha256", 0, 32, 32, bound, NULL, err,
	    sizeof(err)) != 0)) {
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "the evidence's"
		    " TLS key is malformed");
		return;
	}
	/* The SPKI the evidence carries must hash to the key it binds. */
	has_spki = !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc,
	    "tls_spki"));
	if (has_spki) {
		if ((spki = malloc(LIVE_SPKI_MAX)) == NULL) {
			attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0,
			    "out of memory");
			return;
		}
		if (live_bytes(doc, "tls_spki", 1, 1, LIVE_SPKI_MAX, spki,
		    &len, err, sizeof(err)) != 0) {
			free(spki);
			attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "%s",
			    err);
			return;
		}
		crypto_hash_sha256(hashed, spki, len);
		free(spki);
		if (sodium_memcmp(hashed, bound, 32) != 0) {
			attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "the"
			    " evidence's tls_spki hashes to %.16s, not to the"
			    " bound %.16s", attest_hex(hashed, 32, hs,
			    sizeof(hs)), attest_hex(bound, 32, hb, sizeof(hb)));
			return;
		}
	} else if (sodium_memcmp(bound, zero, 32) != 0) {
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "the evidence"
		    " binds a TLS key but carries no tls_spki");
		return;
	}
	attest_hex(bound, 32, hb, sizeof(hb));
	attest_hex(said, 32, hs, sizeof(hs));
	if (sodium_memcmp(said, bound, 32) == 0 && on)
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 1, "the key status"
		    " reports, %.16s, is the one bound", hb);
	else if (sodium_memcmp(said, bound, 32) == 0)
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 1, "no TLS: no key"
		    " bound, as status says");
	else if (!on)
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "status says"
		    " TLS is off, the evidence binds %.16s", hb);
	else if (sodium_memcmp(bound, zero, 32) == 0)
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "status reports"
		    " %.16s, the evidence binds no TLS key", hs);
	else
		attest_result_add(res, ATTEST_CHECK_TLS_KEY, 0, "status reports"
		    " %.16s, the evidence binds %.16s", hs, hb);
}
