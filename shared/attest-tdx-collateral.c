/*
 * Intel TDX collateral, offline: the PCK certificate's SGX extensions,
 * Intel's signed TCB info (v3, TDX) and TD QE identity (v2) JSON given
 * as files, their signatures by the TCB signing certificate up to the
 * Intel SGX Root CA, the TCB status Intel's QVL would compute, and the
 * PCK chain against CRLs. By hand because Intel ships this logic only in
 * C++ (QVL) and Go (go-tdx-guest): OpenSSL does the certificates, ASN.1
 * and signatures, cJSON the JSON; what is left is Intel's rules.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "attest-int.h"

#define TDX_SGX_EXT_OID		"1.2.840.113741.1.13.1"
#define TDX_TCB_SIGNING_CN	"Intel SGX TCB Signing"
#define TDX_CRLS_MAX		8

/*
 * Intel's TD QE identity, pinned: as Intel's PCS publishes it (TD_QE,
 * version 2, tcbEvaluationDataNumber 15, and go-tdx-guest's sample), the
 * lowest accepted ISVSVN being that of its UpToDate level.
 */
const struct attest_tdx_qe_identity attest_tdx_qe_pinned = {
	.id = "TD_QE",
	.version = 2,
	.miscselect = 0x00000000,
	.miscselect_mask = 0xffffffff,
	.attributes = { 0x11 },
	.attributes_mask = { 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	.mrsigner = {
	    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17,
	    0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
	    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf,
	    0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5 },
	.isvprodid = 2,
	.nlevels = 1,
	.levels = { { 4, ATTEST_TCB_UP_TO_DATE } },
};

/* Intel's QE vendor id, in every quote its QE makes. */
const unsigned char attest_tdx_intel_qe_vendor[ATTEST_TDX_QE_VENDOR_SIZE] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

/* --- the PCK certificate's SGX extensions ------------------------------ */

/* The sub-OIDs of 1.2.840.113741.1.13.1 we read. */
enum {
	PCK_PPID = 1, PCK_TCB = 2, PCK_PCEID = 3, PCK_FMSPC = 4,
	PCK_SGX_TYPE = 5,
};
#define PCK_TCB_PCESVN	17
#define PCK_TCB_CPUSVN	18

/*
 * The last arc of oid if it is prefix.N, else -1. OIDs are compared as
 * text: short, and it keeps OpenSSL's object table out of it.
 */
static int
pck_oid_arc(const ASN1_OBJECT *oid, const char *prefix)
{
	char	buf[80], *end;
	size_t	n = strlen(prefix);
	long	arc;

	if (OBJ_obj2txt(buf, sizeof(buf), oid, 1) <= 0 ||
	    strncmp(buf, prefix, n) != 0 || buf[n] != '.' ||
	    !isdigit((unsigned char)buf[n + 1]))
		return -1;
	arc = strtol(buf + n + 1, &end, 10);
	if (*end != '\0' || arc < 0 || arc > 1000)
		return -1;
	return (int)arc;
}

/* A SEQUENCE { OID, value } from an ASN1_TYPE; NULL if it is not one. */
static STACK_OF(ASN1_TYPE) *
pck_pair(const ASN1_TYPE *t)
{
	STACK_OF(ASN1_TYPE)	*pair;
	const unsigned char	*p;

	if (t->type != V_ASN1_SEQUENCE)
		return NULL;
	p = t->value.sequence->data;
	pair = d2i_ASN1_SEQUENCE_ANY(NULL, &p, t->value.sequence->length);
	if (pair == NULL || p != t->value.sequence->data +
	    t->value.sequence->length || sk_ASN1_TYPE_num(pair) != 2 ||
	    sk_ASN1_TYPE_value(pair, 0)->type != V_ASN1_OBJECT) {
		sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
		return NULL;
	}
	return pair;
}

/* An INTEGER in 0..max, or -1. */
static long
pck_int(const ASN1_TYPE *t, long max)
{
	int64_t	v;

	if (t->type != V_ASN1_INTEGER || ASN1_INTEGER_get_int64(&v,
	    t->value.integer) != 1 || v < 0 || v > max) {
		ERR_clear_error();
		return -1;
	}
	return (long)v;
}

/* An OCTET STRING of exactly len bytes into out, or -1. */
static int
pck_octets(const ASN1_TYPE *t, unsigned char *out, size_t len)
{
	if (t->type != V_ASN1_OCTET_STRING ||
	    (size_t)t->value.octet_string->length != len)
		return -1;
	memcpy(out, t->value.octet_string->data, len);
	return 0;
}

/* The TCB: components 1..16, PCESVN, CPUSVN, each exactly once. */
static int
pck_tcb(const ASN1_TYPE *t, struct attest_tdx_pck *pck, char *err,
    size_t errlen)
{
	STACK_OF(ASN1_TYPE)	*seq = NULL, *pair;
	const unsigned char	*p;
	uint32_t		 seen = 0;
	long			 v;
	int			 i, arc, rc = -1;

	if (t->type != V_ASN1_SEQUENCE) {
		snprintf(err, errlen, "TCB is not a SEQUENCE");
		return -1;
	}
	p = t->value.sequence->data;
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, t->value.sequence->length);
	if (seq == NULL || sk_ASN1_TYPE_num(seq) > 32) {
		snprintf(err, errlen, "TCB is not a SEQUENCE of pairs");
		goto out;
	}
	for (i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
		if ((pair = pck_pair(sk_ASN1_TYPE_value(seq, i))) == NULL) {
			snprintf(err, errlen, "TCB entry %d is no (OID, value)",
			    i);
			goto out;
		}
		arc = pck_oid_arc(sk_ASN1_TYPE_value(pair, 0)->value.object,
		    TDX_SGX_EXT_OID ".2");
		t = sk_ASN1_TYPE_value(pair, 1);
		if (arc < 1 || arc > PCK_TCB_CPUSVN || (seen & 1u << arc)) {
			sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
			snprintf(err, errlen, "TCB entry %d: unknown or"
			    " repeated", i);
			goto out;
		}
		seen |= 1u << arc;
		if (arc <= 16) {
			v = pck_int(t, 255);
			pck->cpusvn[arc - 1] = (unsigned char)v;
		} else if (arc == PCK_TCB_PCESVN) {
			v = pck_int(t, 65535);
			pck->pcesvn = (uint16_t)v;
		} else
			v = pck_octets(t, pck->raw_cpusvn,
			    sizeof(pck->raw_cpusvn));
		sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
		if (v < 0) {
			snprintf(err, errlen, "TCB entry %d (arc %d): bad"
			    " value", i, arc);
			goto out;
		}
	}
	if (seen != ((1u << (PCK_TCB_CPUSVN + 1)) - 2)) {
		snprintf(err, errlen, "TCB lacks some of its 18 entries");
		goto out;
	}
	rc = 0;
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return rc;
}

/*
 * Parse the DER value of the SGX extension (1.2.840.113741.1.13.1): a
 * SEQUENCE of (OID, value) with PPID, TCB, PCE-ID, FMSPC and SGX type
 * each exactly once; others (platform instance, configuration) skipped.
 */
int
attest_tdx_pck_parse(const unsigned char *der, size_t len,
    struct attest_tdx_pck *pck, char *err, size_t errlen)
{
	STACK_OF(ASN1_TYPE)	*seq, *pair;
	const unsigned char	*p = der;
	const ASN1_TYPE		*t;
	unsigned		 seen = 0;
	long			 v;
	int			 i, arc, rc = -1, bad;

	memset(pck, 0, sizeof(*pck));
	if (len == 0 || len > 4096) {
		snprintf(err, errlen, "SGX extension of %zu bytes", len);
		return -1;
	}
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len);
	if (seq == NULL || p != der + len || sk_ASN1_TYPE_num(seq) > 16) {
		snprintf(err, errlen, "SGX extension is not a SEQUENCE");
		goto out;
	}
	for (i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
		if ((pair = pck_pair(sk_ASN1_TYPE_value(seq, i))) == NULL) {
			snprintf(err, errlen, "SGX extension entry %d is no"
			    " (OID, value)", i);
			goto out;
		}
		arc = pck_oid_arc(sk_ASN1_TYPE_value(pair, 0)->value.object,
		    TDX_SGX_EXT_OID);
		t = sk_ASN1_TYPE_value(pair, 1);
		if (arc < 0 || (arc < 16 && (seen & 1u << arc))) {
			sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
			snprintf(err, errlen, "SGX extension entry %d: foreign"
			    " or repeated OID", i);
			goto out;
		}
		if (arc < 16)
			seen |= 1u << arc;
		bad = 0;
		switch (arc) {
		case PCK_PPID:
			bad = pck_octets(t, pck->ppid, sizeof(pck->ppid));
			break;
		case PCK_TCB:
			bad = pck_tcb(t, pck, err, errlen);
			break;
		case PCK_PCEID:
			bad = pck_octets(t, pck->pceid, sizeof(pck->pceid));
			break;
		case PCK_FMSPC:
			bad = pck_octets(t, pck->fmspc, sizeof(pck->fmspc));
			break;
		case PCK_SGX_TYPE:
			if (t->type != V_ASN1_ENUMERATED || (v =
			    ASN1_ENUMERATED_get(t->value.enumerated)) < 0 ||
			    v > 2)
				bad = -1;
			else
				pck->sgx_type = (int)v;
			break;
		}
		sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
		if (bad) {
			if (arc != PCK_TCB)
				snprintf(err, errlen, "SGX extension entry %d"
				    " (arc %d): bad value", i, arc);
			goto out;
		}
	}
	if ((seen & 0x3e) != 0x3e) {
		snprintf(err, errlen, "SGX extension lacks PPID, TCB, PCE-ID,"
		    " FMSPC or SGX type");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return rc;
}

/* The SGX extension of the PCK certificate x, exactly one. */
int
attest_tdx_pck_ext(X509 *x, struct attest_tdx_pck *pck, char *err,
    size_t errlen)
{
	ASN1_OBJECT		*oid;
	ASN1_OCTET_STRING	*data;
	int			 i;

	if ((oid = OBJ_txt2obj(TDX_SGX_EXT_OID, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	i = X509_get_ext_by_OBJ(x, oid, -1);
	if (i < 0 || X509_get_ext_by_OBJ(x, oid, i) >= 0) {
		ASN1_OBJECT_free(oid);
		snprintf(err, errlen, "the PCK certificate has %s SGX"
		    " extension", i < 0 ? "no" : "more than one");
		return -1;
	}
	ASN1_OBJECT_free(oid);
	data = X509_EXTENSION_get_data(X509_get_ext(x, i));
	return attest_tdx_pck_parse(data->data, (size_t)data->length, pck,
	    err, errlen);
}

/* --- Intel's signed JSON ----------------------------------------------- */

/* The end of the JSON string starting at p[0] == '"', or NULL. */
static const char *
json_string_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Past the JSON value at p (well formed: cJSON checked it), or NULL. */
static const char *
json_value_end(const char *p, const char *end)
{
	size_t	depth = 0;

	while (p < end) {
		switch (*p) {
		case '"':
			if ((p = json_string_end(p, end)) == NULL)
				return NULL;
			if (depth == 0)
				return p;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
			break;
		case ',':
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			if (depth == 0)
				return p;
			break;
		}
		p++;
	}
	return depth == 0 ? p : NULL;
}

static const char *
json_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'))
		p++;
	return p;
}

/*
 * The exact bytes of the top-level members body and "signature" in doc,
 * which must have those two members and no other: what Intel signed is
 * the body as it stands in the file, not a re-serialisation.
 */
static int
json_signed_span(const char *doc, size_t len, const char *body,
    const char **bp, size_t *blen, const char **sp, size_t *slen, char *err,
    size_t errlen)
{
	const char	*p = doc, *end = doc + len, *k, *v, *ve;
	size_t		 klen;

	*bp = *sp = NULL;
	p = json_space(p, end);
	if (p == end || *p++ != '{')
		goto bad;
	for (;;) {
		p = json_space(p, end);
		if (p < end && *p == '}')
			break;
		if (p == end || *p != '"' ||
		    (k = json_string_end(p, end)) == NULL)
			goto bad;
		klen = (size_t)(k - p) - 2;
		k = p + 1;
		p = json_space(k + klen + 1, end);
		if (p == end || *p++ != ':')
			goto bad;
		v = json_space(p, end);
		if ((ve = json_value_end(v, end)) == NULL)
			goto bad;
		if (klen == strlen(body) && memcmp(k, body, klen) == 0 &&
		    *bp == NULL) {
			*bp = v;
			*blen = (size_t)(ve - v);
		} else if (klen == 9 && memcmp(k, "signature", 9) == 0 &&
		    *sp == NULL) {
			*sp = v;
			*slen = (size_t)(ve - v);
		} else {
			snprintf(err, errlen, "member \"%.*s\" besides \"%s\""
			    " and \"signature\"", (int)(klen > 32 ? 32 : klen),
			    k, body);
			return -1;
		}
		p = json_space(ve, end);
		if (p < end && *p == ',')
			p++;
	}
	if (*bp == NULL || *sp == NULL) {
		snprintf(err, errlen, "no \"%s\" or no \"signature\"", body);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "not one JSON object");
	return -1;
}

/* Hex of exactly len bytes (upper or lower case) into out; -1 if not. */
static int
json_hex(const cJSON *j, unsigned char *out, size_t len)
{
	size_t	n;

	if (!cJSON_IsString(j) || j->valuestring == NULL ||
	    strlen(j->valuestring) != 2 * len ||
	    sodium_hex2bin(out, len, j->valuestring, 2 * len, NULL, &n,
	    NULL) != 0 || n != len)
		return -1;
	return 0;
}

/* A whole number in 0..max, or -1. */
static long
json_uint(const cJSON *j, long max)
{
	double	d;

	if (!cJSON_IsNumber(j))
		return -1;
	d = j->valuedouble;
	if (!(d >= 0 && d <= (double)max) || d != (double)(long)d)
		return -1;
	return (long)d;
}

/* "2023-06-18T08:42:58Z" (fractions of a second allowed), or -1. */
static time_t
json_time(const cJSON *j)
{
	struct tm	 tm;
	const char	*s;
	char		*end;

	if (!cJSON_IsString(j) || (s = j->valuestring) == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == '.') {
		end++;
		while (isdigit((unsigned char)*end))
			end++;
	}
	if (strcmp(end, "Z") != 0)
		return -1;
	return timegm(&tm);
}

static int
json_status(const cJSON *j)
{
	int	st;

	if (!cJSON_IsString(j))
		return -1;
	for (st = 0; st < ATTEST_TCB_STATUSES; st++)
		if (strcmp(j->valuestring, attest_tcb_status_name(st)) == 0)
			return st;
	return -1;
}

/* An enclave-style TCB level list: [{tcb:{isvsvn}, tcbStatus}, ...]. */
static int
json_isv_levels(const cJSON *arr, struct attest_tdx_isv_level *levels,
    size_t max, size_t *n)
{
	const cJSON	*l;
	long		 svn;

	*n = 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0 ||
	    (size_t)cJSON_GetArraySize(arr) > max)
		return -1;
	cJSON_ArrayForEach(l, arr) {
		if ((svn = json_uint(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(l, "tcb"), "isvsvn"),
		    65535)) < 0 || (levels[*n].status = json_status(
		    cJSON_GetObjectItemCaseSensitive(l, "tcbStatus"))) < 0)
			return -1;
		levels[(*n)++].isvsvn = (uint16_t)svn;
	}
	return 0;
}

/* 16 {"svn": N} components into out. */
static int
json_components(const cJSON *arr, unsigned char *out)
{
	const cJSON	*c;
	long		 svn;
	int		 i = 0;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 16)
		return -1;
	cJSON_ArrayForEach(c, arr) {
		if ((svn = json_uint(cJSON_GetObjectItemCaseSensitive(c,
		    "svn"), 255)) < 0)
			return -1;
		out[i++] = (unsigned char)svn;
	}
	return 0;
}

#define J(o, k)	cJSON_GetObjectItemCaseSensitive((o), (k))

static int
tcb_info_module(const cJSON *m, struct attest_tdx_module *mod)
{
	return json_hex(J(m, "mrsigner"), mod->mrsigner,
	    sizeof(mod->mrsigner)) == -1 || json_hex(J(m, "attributes"),
	    mod->attributes, sizeof(mod->attributes)) == -1 ||
	    json_hex(J(m, "attributesMask"), mod->attributes_mask,
	    sizeof(mod->attributes_mask)) == -1 ? -1 : 0;
}

/* The tcbInfo object's fields (TDX, version 3). */
static int
tcb_info_fields(const cJSON *o, struct attest_tdx_tcb_info *ti, char *err,
    size_t errlen)
{
	const cJSON	*l, *ids, *id;
	struct attest_tdx_tcb_level *lv;
	struct attest_tdx_module *mod;
	long		 v;

	if (!cJSON_IsString(J(o, "id")) || strcmp(J(o, "id")->valuestring,
	    "TDX") != 0 || json_uint(J(o, "version"), 100) != 3) {
		snprintf(err, errlen, "not TDX TCB info version 3");
		return -1;
	}
	ti->issue_date = json_time(J(o, "issueDate"));
	ti->next_update = json_time(J(o, "nextUpdate"));
	if (ti->issue_date == -1 || ti->next_update == -1) {
		snprintf(err, errlen, "issueDate or nextUpdate unreadable");
		return -1;
	}
	if (json_hex(J(o, "fmspc"), ti->fmspc, sizeof(ti->fmspc)) == -1 ||
	    json_hex(J(o, "pceId"), ti->pceid, sizeof(ti->pceid)) == -1) {
		snprintf(err, errlen, "fmspc or pceId unreadable");
		return -1;
	}
	if ((v = json_uint(J(o, "tcbEvaluationDataNumber"), 1L << 30)) < 0 ||
	    json_uint(J(o, "tcbType"), 0) != 0) {
		snprintf(err, errlen, "tcbEvaluationDataNumber or tcbType"
		    " unreadable");
		return -1;
	}
	ti->evaluation = (unsigned)v;
	if (tcb_info_module(J(o, "tdxModule"), &ti->module) == -1) {
		snprintf(err, errlen, "tdxModule unreadable");
		return -1;
	}
	if ((ids = J(o, "tdxModuleIdentities")) != NULL) {
		if (!cJSON_IsArray(ids) || (size_t)cJSON_GetArraySize(ids) >
		    ATTEST_TDX_MODULES_MAX) {
			snprintf(err, errlen, "tdxModuleIdentities: more than"
			    " %d or not a list", ATTEST_TDX_MODULES_MAX);
			return -1;
		}
		cJSON_ArrayForEach(id, ids) {
			mod = &ti->modules[ti->nmodules++];
			if (!cJSON_IsString(J(id, "id")) ||
			    strlen(J(id, "id")->valuestring) >=
			    sizeof(mod->id) || tcb_info_module(id, mod) == -1 ||
			    json_isv_levels(J(id, "tcbLevels"), mod->levels,
			    ATTEST_TDX_LEVELS_MAX, &mod->nlevels) == -1) {
				snprintf(err, errlen, "tdxModuleIdentities[%zu]"
				    " unreadable", ti->nmodules - 1);
				return -1;
			}
			snprintf(mod->id, sizeof(mod->id), "%s",
			    J(id, "id")->valuestring);
		}
	}
	if (!cJSON_IsArray(J(o, "tcbLevels")) ||
	    cJSON_GetArraySize(J(o, "tcbLevels")) == 0 ||
	    cJSON_GetArraySize(J(o, "tcbLevels")) > ATTEST_TDX_TCB_LEVELS_MAX) {
		snprintf(err, errlen, "tcbLevels: 1 to %d levels",
		    ATTEST_TDX_TCB_LEVELS_MAX);
		return -1;
	}
	cJSON_ArrayForEach(l, J(o, "tcbLevels")) {
		lv = &ti->levels[ti->nlevels++];
		if (json_components(J(J(l, "tcb"), "sgxtcbcomponents"),
		    lv->sgx) == -1 || json_components(J(J(l, "tcb"),
		    "tdxtcbcomponents"), lv->tdx) == -1 ||
		    (v = json_uint(J(J(l, "tcb"), "pcesvn"), 65535)) < 0 ||
		    (lv->status = json_status(J(l, "tcbStatus"))) < 0 ||
		    !cJSON_IsString(J(l, "tcbDate"))) {
			snprintf(err, errlen, "tcbLevels[%zu] unreadable",
			    ti->nlevels - 1);
			return -1;
		}
		lv->pcesvn = (uint16_t)v;
		snprintf(lv->date, sizeof(lv->date), "%s",
		    J(l, "tcbDate")->valuestring);
	}
	return 0;
}

/* The enclaveIdentity object's fields (TD_QE, version 2). */
static int
qe_identity_fields(const cJSON *o, struct attest_tdx_qe_identity *qi,
    char *err, size_t errlen)
{
	unsigned char	b[4];
	long		v;

	if (!cJSON_IsString(J(o, "id")) || strcmp(J(o, "id")->valuestring,
	    "TD_QE") != 0 || json_uint(J(o, "version"), 100) != 2) {
		snprintf(err, errlen, "not a TD_QE identity version 2");
		return -1;
	}
	snprintf(qi->id, sizeof(qi->id), "TD_QE");
	qi->version = 2;
	qi->issue_date = json_time(J(o, "issueDate"));
	qi->next_update = json_time(J(o, "nextUpdate"));
	if (qi->issue_date == -1 || qi->next_update == -1) {
		snprintf(err, errlen, "issueDate or nextUpdate unreadable");
		return -1;
	}
	/* MISCSELECT as Intel writes it: big-endian hex of the uint32. */
	if (json_hex(J(o, "miscselect"), b, 4) == -1)
		goto bad;
	qi->miscselect = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	if (json_hex(J(o, "miscselectMask"), b, 4) == -1)
		goto bad;
	qi->miscselect_mask = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	if (json_hex(J(o, "attributes"), qi->attributes,
	    sizeof(qi->attributes)) == -1 || json_hex(J(o, "attributesMask"),
	    qi->attributes_mask, sizeof(qi->attributes_mask)) == -1 ||
	    json_hex(J(o, "mrsigner"), qi->mrsigner, sizeof(qi->mrsigner)) ==
	    -1 || (v = json_uint(J(o, "isvprodid"), 65535)) < 0)
		goto bad;
	qi->isvprodid = (uint16_t)v;
	if ((v = json_uint(J(o, "tcbEvaluationDataNumber"), 1L << 30)) < 0)
		goto bad;
	qi->evaluation = (unsigned)v;
	if (json_isv_levels(J(o, "tcbLevels"), qi->levels,
	    ATTEST_TDX_LEVELS_MAX, &qi->nlevels) == -1) {
		snprintf(err, errlen, "tcbLevels unreadable (1 to %d levels)",
		    ATTEST_TDX_LEVELS_MAX);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "miscselect, attributes, mrsigner, isvprodid"
	    " or tcbEvaluationDataNumber unreadable");
	return -1;
}

/*
 * Parse one of Intel's signed documents: {"<body>": {...}, "signature":
 * "r||s hex"}. *signed_part / *signed_len point into json at the body's
 * exact bytes; sig gets r and s.
 */
static int
json_signed_parse(const unsigned char *json, size_t len, const char *body,
    cJSON **obj, const unsigned char **signed_part, size_t *signed_len,
    unsigned char sig[64], char *err, size_t errlen)
{
	const char	*bp = NULL, *sp = NULL, *end;
	size_t		 blen = 0, slen = 0;
	cJSON		*whole, *s;

	*obj = NULL;
	if (len == 0 || len > ATTEST_COLLATERAL_MAX) {
		snprintf(err, errlen, "%zu bytes (1 to %d)", len,
		    ATTEST_COLLATERAL_MAX);
		return -1;
	}
	/* One JSON value, nothing after it, no NUL that C strings would cut. */
	if (memchr(json, '\0', len) != NULL || (whole =
	    cJSON_ParseWithLengthOpts((const char *)json, len, &end, 0)) ==
	    NULL) {
		snprintf(err, errlen, "not JSON");
		return -1;
	}
	cJSON_Delete(whole);
	if (json_space(end, (const char *)json + len) !=
	    (const char *)json + len) {
		snprintf(err, errlen, "bytes after the JSON object");
		return -1;
	}
	if (json_signed_span((const char *)json, len, body, &bp, &blen, &sp,
	    &slen, err, errlen) == -1)
		return -1;
	if ((s = cJSON_ParseWithLength(sp, slen)) == NULL ||
	    json_hex(s, sig, 64) == -1) {
		cJSON_Delete(s);
		snprintf(err, errlen, "signature is not 64 bytes of hex");
		return -1;
	}
	cJSON_Delete(s);
	if ((*obj = cJSON_ParseWithLength(bp, blen)) == NULL ||
	    !cJSON_IsObject(*obj)) {
		cJSON_Delete(*obj);
		*obj = NULL;
		snprintf(err, errlen, "\"%s\" is not an object", body);
		return -1;
	}
	*signed_part = (const unsigned char *)bp;
	*signed_len = blen;
	return 0;
}

int
attest_tdx_tcb_info_parse(const unsigned char *json, size_t len,
    struct attest_tdx_tcb_info *ti, char *err, size_t errlen)
{
	cJSON	*o;
	int	 rc;

	memset(ti, 0, sizeof(*ti));
	if (json_signed_parse(json, len, "tcbInfo", &o, &ti->signed_part,
	    &ti->signed_len, ti->signature, err, errlen) == -1)
		return -1;
	rc = tcb_info_fields(o, ti, err, errlen);
	cJSON_Delete(o);
	return rc;
}

int
attest_tdx_qe_identity_parse(const unsigned char *json, size_t len,
    struct attest_tdx_qe_identity *qi, char *err, size_t errlen)
{
	cJSON	*o;
	int	 rc;

	memset(qi, 0, sizeof(*qi));
	if (json_signed_parse(json, len, "enclaveIdentity", &o,
	    &qi->signed_part, &qi->signed_len, qi->signature, err,
	    errlen) == -1)
		return -1;
	rc = qe_identity_fields(o, qi, err, errlen);
	cJSON_Delete(o);
	return rc;
}

/* --- verifying the collateral ------------------------------------------ */

static void
tdx_date(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d",
	    &tm) == 0)
		snprintf(buf, len, "?");
}

/* One document: its signature by key, and now in its window. */
static int
tdx_doc_check(const char *what, EVP_PKEY *key, const unsigned char *part,
    size_t partlen, const unsigned char *sig, time_t issue, time_t next,
    time_t now, char *detail, size_t len)
{
	char	err[128], a[16], b[16];

	if (attest_ecdsa_verify(key, EVP_sha256(), part, partlen, sig, sig + 32,
	    32, 0, err, sizeof(err)) == -1) {
		snprintf(detail, len, "%s: %s with the TCB signing"
		    " certificate", what, err);
		return -1;
	}
	tdx_date(issue, a, sizeof(a));
	tdx_date(next, b, sizeof(b));
	if (now < issue || now > next) {
		snprintf(detail, len, "%s: valid %s to %s, not at the time"
		    " of verification", what, a, b);
		return -1;
	}
	snprintf(detail, len, "%s signed, %s to %s", what, a, b);
	return 0;
}

/*
 * The TCB signing certificate: the first of in->collateral_chain, named
 * Intel SGX TCB Signing, chained to the Intel root (or in->root) at now.
 * Returns its key (caller frees) or NULL with detail.
 */
static EVP_PKEY *
tdx_signing_key(const struct attest_input *in, time_t now, char *detail,
    size_t len)
{
	STACK_OF(X509)	*certs;
	X509		*leaf;
	EVP_PKEY	*key = NULL;
	char		 err[128], cn[64], path[200];

	if (in->collateral_chain == NULL) {
		snprintf(detail, len, "no TCB signing certificate given");
		return NULL;
	}
	if ((certs = attest_x509_load(in->collateral_chain,
	    in->collateral_chain_len, err, sizeof(err))) == NULL) {
		snprintf(detail, len, "TCB signing chain: %s", err);
		return NULL;
	}
	leaf = sk_X509_value(certs, 0);
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn)) < 0 ||
	    strcmp(cn, TDX_TCB_SIGNING_CN) != 0)
		snprintf(detail, len, "the collateral chain's first"
		    " certificate is not \"%s\"", TDX_TCB_SIGNING_CN);
	else if (attest_x509_chain(leaf, certs, ATTEST_TEE_TDX, in->root,
	    in->root_len, now, path, sizeof(path)) == -1)
		snprintf(detail, len, "TCB signing chain: %s", path);
	else if ((key = X509_get_pubkey(leaf)) == NULL)
		snprintf(detail, len, "TCB signing certificate has no key");
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return key;
}

/*
 * The COLLATERAL check: parse and verify the TCB info and QE identity
 * given; c says which of them may be trusted.
 */
void
attest_tdx_collateral_check(const struct attest_input *in,
    const struct attest_policy *policy, struct attest_result *res,
    struct attest_tdx_collateral *c)
{
	EVP_PKEY	*key;
	char		 err[128], what[64], fm[13];
	char		 d1[ATTEST_DETAIL_MAX], d2[ATTEST_DETAIL_MAX];
	int		 bad = 0;

	memset(c, 0, sizeof(*c));
	if (in->tcb_info == NULL && in->qe_identity == NULL)
		return;
	d1[0] = d2[0] = '\0';
	if ((key = tdx_signing_key(in, policy->now, d1, sizeof(d1))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_COLLATERAL, 0, "%s", d1);
		return;
	}
	if (in->tcb_info != NULL) {
		if (attest_tdx_tcb_info_parse(in->tcb_info, in->tcb_info_len,
		    &c->tcb_info, err, sizeof(err)) == -1) {
			snprintf(d1, sizeof(d1), "TCB info: %s", err);
			bad = 1;
		} else if (snprintf(what, sizeof(what), "TCB info of FMSPC %s"
		    " (evaluation data %u)", attest_hex(c->tcb_info.fmspc,
		    sizeof(c->tcb_info.fmspc), fm, sizeof(fm)),
		    c->tcb_info.evaluation) < 0 || tdx_doc_check(what, key,
		    c->tcb_info.signed_part, c->tcb_info.signed_len,
		    c->tcb_info.signature, c->tcb_info.issue_date,
		    c->tcb_info.next_update, policy->now, d1, sizeof(d1)) == -1)
			bad = 1;
		else
			c->have_tcb_info = 1;
	}
	if (in->qe_identity != NULL) {
		if (attest_tdx_qe_identity_parse(in->qe_identity,
		    in->qe_identity_len, &c->qe_identity, err,
		    sizeof(err)) == -1) {
			snprintf(d2, sizeof(d2), "QE identity: %s", err);
			bad = 1;
		} else if (tdx_doc_check("QE identity", key,
		    c->qe_identity.signed_part, c->qe_identity.signed_len,
		    c->qe_identity.signature, c->qe_identity.issue_date,
		    c->qe_identity.next_update, policy->now, d2,
		    sizeof(d2)) == -1)
			bad = 1;
		else
			c->have_qe_identity = 1;
	}
	EVP_PKEY_free(key);
	attest_result_add(res, ATTEST_CHECK_COLLATERAL, !bad, "%s%s%s%s",
	    d1, d1[0] && d2[0] ? "; " : "", d2, bad ? "" :
	    " by Intel SGX TCB Signing");
}

/* --- the TCB status, as Intel's QVL computes it -------------------------- */

/*
 * The QE against an identity: MISCSELECT and ATTRIBUTES under their
 * masks, MRSIGNER, ISVPRODID, then its TCB level by ISVSVN (the first
 * level at or below it). Returns the level's status, or -1 with detail.
 */
int
attest_tdx_qe_status(const struct attest_tdx_qe_identity *id,
    const struct attest_tdx_quote *q, char *detail, size_t len)
{
	char	hex[65];
	size_t	i;

	if ((q->qe_miscselect & id->miscselect_mask) != id->miscselect) {
		snprintf(detail, len, "MISCSELECT %08x under mask %08x is not"
		    " %08x", q->qe_miscselect, id->miscselect_mask,
		    id->miscselect);
		return -1;
	}
	for (i = 0; i < sizeof(id->attributes); i++)
		if ((q->qe_attributes[i] & id->attributes_mask[i]) !=
		    id->attributes[i]) {
			snprintf(detail, len, "ATTRIBUTES %s under the"
			    " identity's mask differ at byte %zu",
			    attest_hex(q->qe_attributes,
			    sizeof(q->qe_attributes), hex, sizeof(hex)), i);
			return -1;
		}
	if (memcmp(q->qe_mrsigner, id->mrsigner, sizeof(id->mrsigner)) != 0) {
		snprintf(detail, len, "MRSIGNER %s is not Intel's", attest_hex(
		    q->qe_mrsigner, sizeof(q->qe_mrsigner), hex, sizeof(hex)));
		return -1;
	}
	if (q->qe_isvprodid != id->isvprodid) {
		snprintf(detail, len, "ISVPRODID %u, not %u (%s)",
		    q->qe_isvprodid, id->isvprodid, id->id);
		return -1;
	}
	for (i = 0; i < id->nlevels; i++)
		if (id->levels[i].isvsvn <= q->qe_isvsvn)
			break;
	if (i == id->nlevels) {
		snprintf(detail, len, "ISVSVN %u is below the lowest accepted"
		    " %u", q->qe_isvsvn, id->nlevels > 0 ?
		    id->levels[id->nlevels - 1].isvsvn : 0);
		return -1;
	}
	snprintf(detail, len, "%s ISVPRODID %u, ISVSVN %u: %s", id->id,
	    q->qe_isvprodid, q->qe_isvsvn,
	    attest_tcb_status_name(id->levels[i].status));
	return id->levels[i].status;
}

/* QVL's convergeTcbStatusWithTdxModuleStatus / ...WithQeTcbStatus. */
static int
tdx_converge(int level, int other)
{
	if (other == ATTEST_TCB_OUT_OF_DATE) {
		if (level == ATTEST_TCB_UP_TO_DATE ||
		    level == ATTEST_TCB_SW_HARDENING_NEEDED)
			return ATTEST_TCB_OUT_OF_DATE;
		if (level == ATTEST_TCB_CONFIGURATION_NEEDED || level ==
		    ATTEST_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return ATTEST_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	if (other == ATTEST_TCB_REVOKED)
		return ATTEST_TCB_REVOKED;
	return level;
}

/* The TDX module identity "TDX_<TEE_TCB_SVN[1] in hex>", or NULL. */
static const struct attest_tdx_module *
tdx_module_identity(const struct attest_tdx_tcb_info *ti, unsigned version)
{
	char	id[16];
	size_t	i;

	snprintf(id, sizeof(id), "TDX_%02X", version);
	for (i = 0; i < ti->nmodules; i++)
		if (strcasecmp(ti->modules[i].id, id) == 0)
			return &ti->modules[i];
	return NULL;
}

/*
 * The TCB status of the quote on the platform of pck by ti, as Intel's
 * QVL (checkTcbLevel) computes it for TDX: the TDX module's signer and
 * attributes, the first TCB level whose SGX components and PCESVN the
 * PCK certificate reaches, and whose TDX components TEE_TCB_SVN reaches
 * (from index 2 when a module version is in TEE_TCB_SVN[1], whose own
 * identity then rates the module), then the QE's status (qe_status, -1:
 * none) folded in. Returns the status, or -1 when no level fits, with
 * what was compared in detail.
 */
int
attest_tdx_tcb_status(const struct attest_tdx_tcb_info *ti,
    const struct attest_tdx_pck *pck, const struct attest_tdx_quote *q,
    int qe_status, char *detail, size_t len)
{
	const struct attest_tdx_module	*mod = &ti->module;
	const struct attest_tdx_tcb_level *lv;
	char				 hex[97], fm[13];
	size_t				 i, j, start;
	int				 st, sgx_found = 0;
	int				 mod_status = ATTEST_TCB_UP_TO_DATE;

	attest_hex(ti->fmspc, sizeof(ti->fmspc), fm, sizeof(fm));
	if (memcmp(ti->fmspc, pck->fmspc, sizeof(pck->fmspc)) != 0 ||
	    memcmp(ti->pceid, pck->pceid, sizeof(pck->pceid)) != 0) {
		snprintf(detail, len, "TCB info is for FMSPC %s PCEID %02x%02x,"
		    " the PCK certificate's is %s PCEID %02x%02x", fm,
		    ti->pceid[0], ti->pceid[1], attest_hex(pck->fmspc,
		    sizeof(pck->fmspc), hex, sizeof(hex)), pck->pceid[0],
		    pck->pceid[1]);
		return -1;
	}
	if (q->tee_tcb_svn[1] > 0) {
		if ((mod = tdx_module_identity(ti, q->tee_tcb_svn[1])) ==
		    NULL) {
			snprintf(detail, len, "no TDX module identity TDX_%02X"
			    " in the TCB info (TEE_TCB_SVN[1] %u)",
			    q->tee_tcb_svn[1], q->tee_tcb_svn[1]);
			return -1;
		}
	}
	if (memcmp(q->mrsignerseam, mod->mrsigner, sizeof(mod->mrsigner)) !=
	    0) {
		snprintf(detail, len, "MRSIGNERSEAM %s is not the TDX module"
		    " signer of the TCB info", attest_hex(q->mrsignerseam,
		    sizeof(q->mrsignerseam), hex, sizeof(hex)));
		return -1;
	}
	for (i = 0; i < sizeof(q->seam_attributes); i++)
		if (q->seam_attributes[i] != 0 ||
		    (q->seam_attributes[i] & mod->attributes_mask[i]) !=
		    mod->attributes[i]) {
			snprintf(detail, len, "SEAMATTRIBUTES %s: not zero, or"
			    " not the TCB info's", attest_hex(
			    q->seam_attributes, sizeof(q->seam_attributes),
			    hex, sizeof(hex)));
			return -1;
		}
	start = q->tee_tcb_svn[1] > 0 ? 2 : 0;
	for (i = 0; i < ti->nlevels; i++) {
		lv = &ti->levels[i];
		for (j = 0; j < 16; j++)
			if (pck->cpusvn[j] < lv->sgx[j])
				break;
		if (j < 16 || pck->pcesvn < lv->pcesvn)
			continue;
		sgx_found = 1;
		for (j = start; j < 16; j++)
			if (q->tee_tcb_svn[j] < lv->tdx[j])
				break;
		if (j == 16)
			break;
	}
	if (i == ti->nlevels) {
		snprintf(detail, len, "no TCB level of FMSPC %s fits: %s"
		    " (PCK TCB %s PCESVN %u, TEE_TCB_SVN %s); Intel's QVL says"
		    " TCB_NOT_SUPPORTED", fm, sgx_found ? "TEE_TCB_SVN is below"
		    " every level the PCK reaches" : "the PCK certificate's TCB"
		    " is below every level", attest_hex(pck->cpusvn, 16, hex,
		    sizeof(hex)), pck->pcesvn, attest_hex(q->tee_tcb_svn, 16,
		    hex + 40, sizeof(hex) - 40));
		return -1;
	}
	st = lv->status;
	if (q->tee_tcb_svn[1] > 0) {
		for (j = 0; j < mod->nlevels; j++)
			if (mod->levels[j].isvsvn <= q->tee_tcb_svn[0])
				break;
		if (j == mod->nlevels || (mod->levels[j].status !=
		    ATTEST_TCB_UP_TO_DATE && mod->levels[j].status !=
		    ATTEST_TCB_OUT_OF_DATE && mod->levels[j].status !=
		    ATTEST_TCB_REVOKED)) {
			snprintf(detail, len, "TDX module %s: no TCB level for"
			    " ISVSVN %u", mod->id, q->tee_tcb_svn[0]);
			return -1;
		}
		mod_status = mod->levels[j].status;
		st = tdx_converge(st, mod_status);
	}
	if (qe_status >= 0)
		st = tdx_converge(st, qe_status);
	snprintf(detail, len, "%s: TCB level of %s (%s)%s%s%s%s, FMSPC %s,"
	    " evaluation data %u", attest_tcb_status_name(st), lv->date,
	    attest_tcb_status_name(lv->status), q->tee_tcb_svn[1] > 0 ?
	    ", TDX module " : "", q->tee_tcb_svn[1] > 0 ? mod->id : "",
	    q->tee_tcb_svn[1] > 0 ? " " : "", q->tee_tcb_svn[1] > 0 ?
	    attest_tcb_status_name(mod_status) : "", fm, ti->evaluation);
	return st;
}

/* --- CRLs ---------------------------------------------------------------- */

/* The CRLs in len bytes: PEM (any number), or DER ones back to back. */
static STACK_OF(X509_CRL) *
tdx_crls_load(const unsigned char *p, size_t len, char *err, size_t errlen)
{
	STACK_OF(X509_CRL)	*crls;
	const unsigned char	*q = p, *end = p + len;
	X509_CRL		*crl;
	BIO			*bio;

	if (len == 0 || len > ATTEST_COLLATERAL_MAX ||
	    (crls = sk_X509_CRL_new_null()) == NULL) {
		snprintf(err, errlen, "%zu bytes of CRLs (1 to %d)", len,
		    ATTEST_COLLATERAL_MAX);
		return NULL;
	}
	if (len > 10 && memmem(p, len, "-----BEGIN", 10) != NULL) {
		if ((bio = BIO_new_mem_buf(p, (int)len)) == NULL)
			goto fail;
		while (sk_X509_CRL_num(crls) < TDX_CRLS_MAX && (crl =
		    PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL)
			sk_X509_CRL_push(crls, crl);
		BIO_free(bio);
	} else {
		while (q < end && sk_X509_CRL_num(crls) < TDX_CRLS_MAX) {
			if ((crl = d2i_X509_CRL(NULL, &q, (long)(end - q))) ==
			    NULL)
				goto fail;
			sk_X509_CRL_push(crls, crl);
		}
		if (q != end)
			goto fail;
	}
	ERR_clear_error();
	if (sk_X509_CRL_num(crls) > 0)
		return crls;
fail:
	ERR_clear_error();
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	snprintf(err, errlen, "not PEM or DER CRLs (at most %d)", TDX_CRLS_MAX);
	return NULL;
}

/* "Intel SGX PCK Platform CA (44 entries, 2023-06-08)" for each CRL. */
static void
tdx_crls_names(STACK_OF(X509_CRL) *crls, char *buf, size_t len)
{
	STACK_OF(X509_REVOKED)	*revoked;
	const ASN1_TIME	*t;
	X509_CRL	*crl;
	struct tm	 tm;
	char		 cn[64], date[16];
	size_t		 n = 0;
	int		 i;

	buf[0] = '\0';
	for (i = 0; i < sk_X509_CRL_num(crls) && n < len; i++) {
		crl = sk_X509_CRL_value(crls, i);
		if (X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl),
		    NID_commonName, cn, sizeof(cn)) < 0)
			snprintf(cn, sizeof(cn), "?");
		t = X509_CRL_get0_lastUpdate(crl);
		if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
		    strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
			snprintf(date, sizeof(date), "?");
		revoked = X509_CRL_get_REVOKED(crl);
		n += (size_t)snprintf(buf + n, len - n, "%s%s (%d entries, %s)",
		    i ? ", " : "", cn, revoked == NULL ? 0 :
		    sk_X509_REVOKED_num(revoked), date);
	}
	ERR_clear_error();
}

/* Verify leaf with untrusted up to the root at now, every CRL checked. */
static int
tdx_crl_verify(X509 *leaf, STACK_OF(X509) *untrusted,
    STACK_OF(X509_CRL) *crls, const struct attest_input *in, time_t now,
    char *detail, size_t len)
{
	X509_STORE	*store;
	X509_STORE_CTX	*ctx = NULL;
	STACK_OF(X509)	*given = NULL;
	X509		*cur;
	char		 cn[64], serial[80], err[128];
	BIGNUM		*bn;
	char		*hex;
	int		 i, rc = -1, e;
	size_t		 k;

	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		snprintf(detail, len, "out of memory");
		goto out;
	}
	if (in->root != NULL) {
		if ((given = attest_x509_load(in->root, in->root_len, err,
		    sizeof(err))) == NULL) {
			snprintf(detail, len, "root: %s", err);
			goto out;
		}
		for (i = 0; i < sk_X509_num(given); i++)
			X509_STORE_add_cert(store, sk_X509_value(given, i));
	} else {
		for (k = 0; k < attest_roots_size; k++) {
			if (attest_roots[k].tee != ATTEST_TEE_TDX ||
			    attest_roots[k].kind != ATTEST_ROOT_TRUSTED)
				continue;
			if ((cur = attest_root_load(&attest_roots[k], detail,
			    len)) == NULL)
				goto out;
			X509_STORE_add_cert(store, cur);
			X509_free(cur);
		}
	}
	for (i = 0; i < sk_X509_CRL_num(crls); i++)
		X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i));
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		snprintf(detail, len, "cannot set up the verification");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
	    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
		goto out;
	}
	e = X509_STORE_CTX_get_error(ctx);
	cur = X509_STORE_CTX_get_current_cert(ctx);
	if (cur == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(
	    cur), NID_commonName, cn, sizeof(cn)) < 0)
		snprintf(cn, sizeof(cn), "?");
	serial[0] = '\0';
	if (cur != NULL && (bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(
	    cur), NULL)) != NULL) {
		if ((hex = BN_bn2hex(bn)) != NULL) {
			snprintf(serial, sizeof(serial), " serial %s", hex);
			OPENSSL_free(hex);
		}
		BN_free(bn);
	}
	if (e == X509_V_ERR_CERT_REVOKED)
		snprintf(detail, len, "%s%s is revoked", cn, serial);
	else
		snprintf(detail, len, "%s%s: %s", cn, serial,
		    X509_verify_cert_error_string(e));
out:
	ERR_clear_error();
	sk_X509_pop_free(given, X509_free);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/*
 * The REVOCATION check, when CRLs are given: the PCK chain (leaf pck,
 * its CA in chain) with every certificate's issuer CRL checked, and the
 * TCB signing certificate too when a collateral chain is given.
 */
void
attest_tdx_revocation_check(X509 *pck, STACK_OF(X509) *chain,
    const struct attest_input *in, time_t now, struct attest_result *res)
{
	STACK_OF(X509_CRL)	*crls;
	STACK_OF(X509)		*tcb = NULL;
	char			 err[128], names[160], d[ATTEST_DETAIL_MAX];

	if (in->crls == NULL)
		return;
	if ((crls = tdx_crls_load(in->crls, in->crls_len, err,
	    sizeof(err))) == NULL) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "CRLs: %s",
		    err);
		return;
	}
	tdx_crls_names(crls, names, sizeof(names));
	if (tdx_crl_verify(pck, chain, crls, in, now, d, sizeof(d)) == -1) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "PCK chain:"
		    " %s (CRLs: %s)", d, names);
		goto out;
	}
	if (in->collateral_chain != NULL && (tcb = attest_x509_load(
	    in->collateral_chain, in->collateral_chain_len, err,
	    sizeof(err))) != NULL && tdx_crl_verify(sk_X509_value(tcb, 0), tcb,
	    crls, in, now, d, sizeof(d)) == -1) {
		attest_result_add(res, ATTEST_CHECK_REVOCATION, 0, "TCB signing"
		    " chain: %s (CRLs: %s)", d, names);
		goto out;
	}
	attest_result_add(res, ATTEST_CHECK_REVOCATION, 1, "PCK chain%s not"
	    " revoked by %s", tcb != NULL ? " and TCB signing certificate" :
	    "", names);
out:
	sk_X509_pop_free(tcb, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
}
