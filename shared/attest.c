/*
 * Attestation verification: one entry point for every TEE, the checks'
 * names, and the policy checks they share (measurement, report_data,
 * minimum TCB). attest-snp.c and attest-tdx.c do the rest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attest-int.h"

static const char *const attest_check_names[ATTEST_CHECK_MAX] = {
	[ATTEST_CHECK_PARSE] =		"parse",
	[ATTEST_CHECK_SIGNATURE] =	"signature",
	[ATTEST_CHECK_QE_BINDING] =	"qe-binding",
	[ATTEST_CHECK_QE_REPORT] =	"qe-report",
	[ATTEST_CHECK_QE_IDENTITY] =	"qe-identity",
	[ATTEST_CHECK_CHAIN] =		"chain",
	[ATTEST_CHECK_PRODUCT] =	"product",
	[ATTEST_CHECK_SIGNING_KEY] =	"signing-key",
	[ATTEST_CHECK_CERT_TCB] =	"cert-tcb",
	[ATTEST_CHECK_CHIP_ID] =	"chip-id",
	[ATTEST_CHECK_REVOCATION] =	"revocation",
	[ATTEST_CHECK_COLLATERAL] =	"collateral",
	[ATTEST_CHECK_TCB_STATUS] =	"tcb-status",
	[ATTEST_CHECK_DEBUG] =		"debug",
	[ATTEST_CHECK_MIGRATION] =	"migration",
	[ATTEST_CHECK_VMPL] =		"vmpl",
	[ATTEST_CHECK_GUEST_POLICY] =	"guest-policy",
	[ATTEST_CHECK_PLATFORM] =	"platform",
	[ATTEST_CHECK_PROVISIONAL] =	"provisional",
	[ATTEST_CHECK_GUEST_SVN] =	"guest-svn",
	[ATTEST_CHECK_TD_ATTRIBUTES] =	"td-attributes",
	[ATTEST_CHECK_XFAM] =		"xfam",
	[ATTEST_CHECK_MEASUREMENT] =	"measurement",
	[ATTEST_CHECK_RTMR0] =		"rtmr0",
	[ATTEST_CHECK_RTMR1] =		"rtmr1",
	[ATTEST_CHECK_RTMR2] =		"rtmr2",
	[ATTEST_CHECK_RTMR3] =		"rtmr3",
	[ATTEST_CHECK_MRSEAM] =		"mrseam",
	[ATTEST_CHECK_MRCONFIGID] =	"mrconfigid",
	[ATTEST_CHECK_MROWNER] =	"mrowner",
	[ATTEST_CHECK_MROWNERCONFIG] =	"mrownerconfig",
	[ATTEST_CHECK_HOST_DATA] =	"host-data",
	[ATTEST_CHECK_ID_KEY] =		"id-key",
	[ATTEST_CHECK_AUTHOR_KEY] =	"author-key",
	[ATTEST_CHECK_FAMILY_ID] =	"family-id",
	[ATTEST_CHECK_IMAGE_ID] =	"image-id",
	[ATTEST_CHECK_REPORT_DATA] =	"report-data",
	[ATTEST_CHECK_TCB] =		"tcb",
	[ATTEST_CHECK_NONCE] =		"nonce",
	[ATTEST_CHECK_SEAL_KEY] =	"seal-key",
	[ATTEST_CHECK_SIMULATED] =	"simulated",
	[ATTEST_CHECK_TLS_KEY] =	"tls-key",
	[ATTEST_CHECK_TEE] =		"tee",
};

static const char *const attest_snp_products[ATTEST_SNP_PRODUCTS] = {
	[ATTEST_SNP_MILAN] =	"Milan",
	[ATTEST_SNP_GENOA] =	"Genoa",
	[ATTEST_SNP_TURIN] =	"Turin",
};

static const char *const attest_tcb_statuses[ATTEST_TCB_STATUSES] = {
	[ATTEST_TCB_UP_TO_DATE] =		"UpToDate",
	[ATTEST_TCB_SW_HARDENING_NEEDED] =	"SWHardeningNeeded",
	[ATTEST_TCB_CONFIGURATION_NEEDED] =	"ConfigurationNeeded",
	[ATTEST_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] =
	    "ConfigurationAndSWHardeningNeeded",
	[ATTEST_TCB_OUT_OF_DATE] =		"OutOfDate",
	[ATTEST_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] =
	    "OutOfDateConfigurationNeeded",
	[ATTEST_TCB_REVOKED] =			"Revoked",
};

/* Per TEE: its name and what verifies its evidence. */
static const struct {
	const char	*name;
	int		(*verify)(const struct attest_input *,
			    const struct attest_policy *,
			    struct attest_result *);
} attest_tees[] = {
	[ATTEST_TEE_SEV_SNP] =	{ "sev-snp",	attest_snp_verify },
	[ATTEST_TEE_TDX] =	{ "tdx",	attest_tdx_verify },
};

const char *
attest_check_name(enum attest_check_id id)
{
	if ((unsigned)id >= ATTEST_CHECK_MAX)
		return "unknown";
	return attest_check_names[id];
}

const char *
attest_snp_product_name(enum attest_snp_product p)
{
	if ((unsigned)p >= ATTEST_SNP_PRODUCTS)
		return NULL;
	return attest_snp_products[p];
}

const char *
attest_tcb_status_name(enum attest_tcb_status st)
{
	if ((unsigned)st >= ATTEST_TCB_STATUSES)
		return NULL;
	return attest_tcb_statuses[st];
}

const char *
attest_tee_name(enum attest_tee tee)
{
	if ((unsigned)tee >= sizeof(attest_tees) / sizeof(attest_tees[0]))
		return "unknown";
	return attest_tees[tee].name;
}

/* Lower-case hex of len bytes into buf (2 * len + 1 bytes, else cut). */
char *
attest_hex(const unsigned char *p, size_t len, char *buf, size_t buflen)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	if (buflen == 0)
		return buf;
	if (len > (buflen - 1) / 2)
		len = (buflen - 1) / 2;
	for (i = 0; i < len; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 0xf];
	}
	buf[2 * len] = '\0';
	return buf;
}

/*
 * Record a check's outcome. A failure makes the result unverified before
 * anything else, and a result with no room left is unverified too: a
 * check that cannot be recorded cannot have passed.
 */
void
attest_result_add(struct attest_result *res, enum attest_check_id id, int ok,
    const char *fmt, ...)
{
	struct attest_check	*c;
	va_list			 ap;

	if (!ok)
		res->verified = 0;
	if (res->nchecks == ATTEST_RESULT_CHECKS - 1) {
		res->verified = 0;
		c = &res->checks[res->nchecks++];
		c->id = ATTEST_CHECK_PARSE;
		c->ok = 0;
		snprintf(c->detail, sizeof(c->detail), "more than %d checks:"
		    " the rest were not recorded", ATTEST_RESULT_CHECKS - 1);
		return;
	}
	if (res->nchecks >= ATTEST_RESULT_CHECKS) {
		res->verified = 0;
		return;
	}
	c = &res->checks[res->nchecks++];
	c->id = id;
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

/* What the parsed evidence says, for the policy and the caller. */
void
attest_result_claims(struct attest_result *res, int version,
    const unsigned char *measurement, const unsigned char *report_data,
    const unsigned char *tcb, size_t tcb_len)
{
	res->version = version;
	memcpy(res->measurement, measurement, sizeof(res->measurement));
	memcpy(res->report_data, report_data, sizeof(res->report_data));
	if (tcb_len > sizeof(res->tcb))
		tcb_len = sizeof(res->tcb);
	memcpy(res->tcb, tcb, tcb_len);
	res->tcb_len = tcb_len;
	res->parsed = 1;
}

char *
attest_guest_flags(const struct attest_result *res, char *buf, size_t buflen)
{
	uint64_t	p = res->guest_policy;

	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	if (!res->parsed)
		return buf;
	switch (res->tee) {
	case ATTEST_TEE_SEV_SNP:
		snprintf(buf, buflen, "debug %s, migration agent %s, SMT %s,"
		    " %s", p & ATTEST_SNP_POLICY_DEBUG ? "ALLOWED" : "off",
		    p & ATTEST_SNP_POLICY_MIGRATE_MA ? "ALLOWED" : "off",
		    p & ATTEST_SNP_POLICY_SMT ? "allowed" : "off",
		    p & ATTEST_SNP_POLICY_SINGLE_SOCKET ? "single socket" :
		    "any sockets");
		break;
	case ATTEST_TEE_TDX:
		snprintf(buf, buflen, "debug %s, SEPT_VE_DISABLE %s",
		    p & ATTEST_TDX_ATTR_DEBUG ? "ON" : "off",
		    p & ATTEST_TDX_ATTR_SEPT_VE_DISABLE ? "on" : "OFF");
		break;
	default:
		break;
	}
	return buf;
}

const struct attest_check *
attest_result_failed(const struct attest_result *res)
{
	size_t	i;

	for (i = 0; i < res->nchecks; i++)
		if (!res->checks[i].ok)
			return &res->checks[i];
	return NULL;
}

/* Debugging lets the host read the guest: refused unless allowed. */
void
attest_debug_check(struct attest_result *res, int debug, int allow,
    const char *what)
{
	if (!debug)
		attest_result_add(res, ATTEST_CHECK_DEBUG, 1, "%s: debugging"
		    " off", what);
	else if (allow)
		attest_result_add(res, ATTEST_CHECK_DEBUG, 1, "%s: debugging"
		    " on, as allowed", what);
	else
		attest_result_add(res, ATTEST_CHECK_DEBUG, 0, "%s: debugging"
		    " on, the host can read the guest's memory", what);
}

int
attest_values_add(struct attest_values *vs, const unsigned char *p, size_t len)
{
	if (len == 0 || len > sizeof(vs->v[0]) || vs->n == ATTEST_VALUES_MAX ||
	    (vs->n > 0 && len != vs->len))
		return -1;
	memcpy(vs->v[vs->n++], p, len);
	vs->len = len;
	return 0;
}

/*
 * A field of the evidence against the values the policy accepts, as one
 * check; shorter values are zero-padded (report_data).
 */
void
attest_expect(struct attest_result *res, enum attest_check_id id,
    const unsigned char *have, size_t havelen, const struct attest_values *want)
{
	unsigned char	padded[ATTEST_REPORT_DATA_SIZE];
	char		hex[2 * ATTEST_REPORT_DATA_SIZE + 1];
	size_t		i;

	if (want->n == 0)
		return;
	if (want->len > havelen || want->len == 0 ||
	    want->n > ATTEST_VALUES_MAX) {
		attest_result_add(res, id, 0, "expected %zu bytes, the evidence"
		    " has %zu", want->len, havelen);
		return;
	}
	for (i = 0; i < want->n; i++) {
		memset(padded, 0, sizeof(padded));
		memcpy(padded, want->v[i], want->len);
		if (memcmp(have, padded, havelen) == 0) {
			if (want->n == 1)
				attest_result_add(res, id, 1, "as expected");
			else
				attest_result_add(res, id, 1, "value %zu of the"
				    " %zu accepted", i + 1, want->n);
			return;
		}
	}
	attest_result_add(res, id, 0, "is %s, not %s", attest_hex(have,
	    havelen, hex, sizeof(hex)), want->n == 1 ? "the one expected" :
	    "one of those accepted");
}

/* The minimum TCB, compared byte by byte (each byte is one SVN). */
static void
attest_tcb_check(struct attest_result *res, const unsigned char *min,
    size_t len)
{
	char	have[2 * ATTEST_TCB_MAX + 1], want[2 * ATTEST_TCB_MAX + 1];
	size_t	i;

	if (res->tcb_len == 0) {
		attest_result_add(res, ATTEST_CHECK_TCB, 0, "no TCB the"
		    " evidence's signer vouches for to hold against the"
		    " minimum");
		return;
	}
	if (len != res->tcb_len) {
		attest_result_add(res, ATTEST_CHECK_TCB, 0, "minimum TCB"
		    " has %zu bytes, %s evidence has %zu", len,
		    attest_tee_name(res->tee), res->tcb_len);
		return;
	}
	attest_hex(res->tcb, res->tcb_len, have, sizeof(have));
	attest_hex(min, len, want, sizeof(want));
	for (i = 0; i < len; i++) {
		if (res->tcb[i] < min[i]) {
			attest_result_add(res, ATTEST_CHECK_TCB, 0, "%s is"
			    " below the minimum %s at byte %zu", have, want, i);
			return;
		}
	}
	attest_result_add(res, ATTEST_CHECK_TCB, 1, "%s, at least %s", have,
	    want);
}

/* The checks on values every TEE reports, each only when asked for. */
void
attest_policy_check(const struct attest_policy *policy,
    struct attest_result *res)
{
	attest_expect(res, ATTEST_CHECK_MEASUREMENT, res->measurement,
	    sizeof(res->measurement), &policy->measurement);
	attest_expect(res, ATTEST_CHECK_REPORT_DATA, res->report_data,
	    sizeof(res->report_data), &policy->report_data);
	if (policy->min_tcb != NULL)
		attest_tcb_check(res, policy->min_tcb, policy->min_tcb_len);
}

int
attest_verify(const struct attest_input *in, const struct attest_policy *policy,
    struct attest_result *res)
{
	struct attest_policy	p = { 0 };

	memset(res, 0, sizeof(*res));
	res->tee = in->tee;
	res->verified = 1;
	if (policy != NULL)
		p = *policy;
	if (p.now == 0)
		p.now = time(NULL);
	if ((unsigned)in->tee >= sizeof(attest_tees) / sizeof(attest_tees[0])) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "unknown TEE");
		return -1;
	}
	if (in->evidence == NULL || in->evidence_len == 0 ||
	    in->evidence_len > ATTEST_EVIDENCE_MAX) {
		attest_result_add(res, ATTEST_CHECK_PARSE, 0, "%zu bytes of"
		    " evidence (1 to %d)", in->evidence != NULL ?
		    in->evidence_len : 0, ATTEST_EVIDENCE_MAX);
		return -1;
	}
	if (attest_tees[in->tee].verify(in, &p, res) == 0)
		attest_policy_check(&p, res);
	return res->verified ? 0 : -1;
}
