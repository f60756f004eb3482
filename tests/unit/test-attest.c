/*
 * attest*.c against real evidence: SEV-SNP reports from Milan machines and
 * Intel TDX quotes, read in place from $CUBE_TESTDATA/attestation (see its
 * README.md for where each file comes from and what it holds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "attest-int.h"

#define MILAN_MEASUREMENT \
	"7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d" \
	"3e1a0dc39b2c60bd95b9c480cd81841f"
#define MILAN_REPORT_DATA \
	"d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581" \
	"0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd"
#define DEBUG_MEASUREMENT \
	"b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b" \
	"6bdf8a9ece31a5a608eb0cf2e4872b01"
#define V4_MRTD \
	"6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f" \
	"22fc00b8dcd404bc10d5e119d7215cbb"

#define V5_MRTD \
	"7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb0" \
	"01a1ced3ee19747dda8f750c3bc8f876"

#define NOW_2024	1717200000	/* 2024-06-01: all certificates valid */
#define NOW_2026	1780272000	/* 2026-06-01: the v5 PCK valid too */
#define NOW_2031	1925000000	/* 2031: the VCEKs have expired */
#define NOW_2035	2050000000	/* 2035: the v4 PCK has expired too */
#define NOW_2019	1550000000	/* 2019: before the VCEKs */
#define NOW_2023	1687219200	/* 2023-06-20: TDX collateral valid */
#define NOW_2026_02	1770080400	/* 2026-02-03: the v5 PCK valid */

static const char	*datadir;

struct blob {
	unsigned char	*p;
	size_t		 len;
};

static struct blob
load(const char *name)
{
	struct blob	 b = { NULL, 0 };
	char		 path[1024];
	FILE		*f;
	long		 len;

	snprintf(path, sizeof(path), "%s/attestation/%s", datadir, name);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc(len > 0 ? len : 1);
	assert_non_null(b.p);
	assert_int_equal(fread(b.p, 1, len, f), (size_t)len);
	fclose(f);
	b.len = len;
	return b;
}

static size_t
unhex(const char *s, unsigned char *out, size_t max)
{
	size_t		i, n = strlen(s) / 2;
	unsigned int	byte;

	assert_true(n <= max);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &byte), 1);
		out[i] = (unsigned char)byte;
	}
	return n;
}

/* Accept exactly the len bytes at p for a field. */
static void
values_set(struct attest_values *vs, const unsigned char *p, size_t len)
{
	memset(vs, 0, sizeof(*vs));
	assert_int_equal(attest_values_add(vs, p, len), 0);
}

/* The check called name in res, or fail. */
static const struct attest_check *
check_of(const struct attest_result *res, const char *name)
{
	size_t	i;

	for (i = 0; i < res->nchecks; i++)
		if (strcmp(attest_check_name(res->checks[i].id), name) == 0)
			return &res->checks[i];
	fail_msg("no check %s", name);
	return NULL;
}

static void
assert_check(const struct attest_result *res, const char *name, int ok,
    const char *detail)
{
	const struct attest_check	*c = check_of(res, name);

	if (c->ok != ok)
		fail_msg("check %s: %s (%s), expected %s", name,
		    c->ok ? "ok" : "FAILED", c->detail, ok ? "ok" : "FAILED");
	if (detail != NULL && strstr(c->detail, detail) == NULL)
		fail_msg("check %s: '%s' lacks '%s'", name, c->detail, detail);
}

/* Verify an SNP report file with a VCEK and chain file (NULL: none). */
static int
snp_verify(struct blob *report, const char *vcek, const char *chain,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_input	in = { .tee = ATTEST_TEE_SEV_SNP };
	struct blob		v = { NULL, 0 }, c = { NULL, 0 };
	int			rc;

	in.evidence = report->p;
	in.evidence_len = report->len;
	if (vcek != NULL) {
		v = load(vcek);
		in.vcek = v.p;
		in.vcek_len = v.len;
	}
	if (chain != NULL) {
		c = load(chain);
		in.chain = c.p;
		in.chain_len = c.len;
	}
	rc = attest_verify(&in, policy, res);
	free(v.p);
	free(c.p);
	return rc;
}

static int
tdx_verify(struct blob *quote, const char *root,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_input	in = { .tee = ATTEST_TEE_TDX };
	struct blob		r = { NULL, 0 };
	int			rc;

	in.evidence = quote->p;
	in.evidence_len = quote->len;
	if (root != NULL) {
		r = load(root);
		in.root = r.p;
		in.root_len = r.len;
	}
	rc = attest_verify(&in, policy, res);
	free(r.p);
	return rc;
}

/* Intel's collateral files, read from tdx/collateral/ (NULL: none). */
struct tdx_collateral {
	const char	*tcb_info;
	const char	*qe_identity;
	const char	*chain;
	const char	*crls[2];
};

static int
tdx_verify_collateral(struct blob *quote, const struct tdx_collateral *tc,
    const struct attest_policy *policy, struct attest_result *res)
{
	struct attest_input	in = { .tee = ATTEST_TEE_TDX };
	struct blob		t = { NULL, 0 }, q = { NULL, 0 }, c = { NULL, 0 };
	struct blob		r[2] = { { NULL, 0 }, { NULL, 0 } };
	unsigned char		*crls = NULL;
	size_t			 i, n = 0;
	char			 path[256];
	int			 rc;

	in.evidence = quote->p;
	in.evidence_len = quote->len;
	if (tc->tcb_info != NULL) {
		snprintf(path, sizeof(path), "tdx/collateral/%s", tc->tcb_info);
		t = load(path);
		in.tcb_info = t.p;
		in.tcb_info_len = t.len;
	}
	if (tc->qe_identity != NULL) {
		snprintf(path, sizeof(path), "tdx/collateral/%s",
		    tc->qe_identity);
		q = load(path);
		in.qe_identity = q.p;
		in.qe_identity_len = q.len;
	}
	if (tc->chain != NULL) {
		snprintf(path, sizeof(path), "tdx/collateral/%s", tc->chain);
		c = load(path);
		in.collateral_chain = c.p;
		in.collateral_chain_len = c.len;
	}
	/* DER CRLs back to back, as a policy's list of files gives them. */
	for (i = 0; i < 2 && tc->crls[i] != NULL; i++) {
		snprintf(path, sizeof(path), "tdx/collateral/%s", tc->crls[i]);
		r[i] = load(path);
		crls = realloc(crls, n + r[i].len);
		assert_non_null(crls);
		memcpy(crls + n, r[i].p, r[i].len);
		n += r[i].len;
	}
	in.crls = crls;
	in.crls_len = n;
	rc = attest_verify(&in, policy, res);
	free(t.p);
	free(q.p);
	free(c.p);
	free(r[0].p);
	free(r[1].p);
	free(crls);
	return rc;
}

/* --- SEV-SNP ------------------------------------------------------------ */

static void
test_snp_milan_verifies(void **state)
{
	struct blob		report = load("snp/milan-report.bin");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;
	unsigned char		m[48], rd[64];

	(void)state;
	values_set(&policy.measurement, m, unhex(MILAN_MEASUREMENT, m,
	    sizeof(m)));
	values_set(&policy.report_data, rd, unhex(MILAN_REPORT_DATA, rd,
	    sizeof(rd)));
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der",
	    "snp/milan-ask-ark.pem", &policy, &res), 0);
	assert_true(res.verified);
	assert_null(attest_result_failed(&res));
	assert_int_equal(res.tee, ATTEST_TEE_SEV_SNP);
	assert_int_equal(res.version, 2);
	assert_int_equal(res.nchecks, 13);
	assert_check(&res, "parse", 1, "version 2, VMPL 0");
	assert_check(&res, "signature", 1, "P-384");
	assert_check(&res, "chain", 1,
	    "SEV-VCEK -> SEV-Milan -> ARK-Milan (pinned root)");
	assert_check(&res, "product", 1,
	    "Milan (from the VCEK's productName Milan-B0), chains to its ARK");
	assert_check(&res, "signing-key", 1, "VCEK, as the report says,"
	    " issued by the ASK SEV-Milan");
	assert_check(&res, "cert-tcb", 1, "VCEK TCB 0300000000000873 is"
	    " REPORTED_TCB");
	assert_check(&res, "chip-id", 1, "hwid (64 bytes)");
	assert_check(&res, "debug", 1, "policy 0x30000: debugging off");
	assert_check(&res, "migration", 1, "MIGRATE_MA 0");
	assert_check(&res, "vmpl", 1, "VMPL 0, at most 0");
	assert_check(&res, "provisional", 1, "committed firmware 1.52 build 4,"
	    " TCB 0300000000000873, is the current");
	assert_string_equal(res.product, "Milan");
	assert_string_equal(res.signer, "VCEK");
	assert_check(&res, "measurement", 1, NULL);
	assert_check(&res, "report-data", 1, NULL);
	assert_memory_equal(res.measurement, m, sizeof(m));
	assert_memory_equal(res.report_data, rd, sizeof(rd));
	free(report.p);
}

/* Without a chain, the pinned ASKs stand in. */
static void
test_snp_builtin_chain(void **state)
{
	struct blob		report = load("snp/milan-report.bin");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;

	(void)state;
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL,
	    &policy, &res), 0);
	assert_check(&res, "chain", 1, "ARK-Milan");
	free(report.p);
}

static void
test_snp_wrong_chain(void **state)
{
	const char *const	 chains[] = { "snp/turin-ask-ark.pem",
				    "snp/genoa-ask-ark-asvk.pem" };
	struct blob		 report = load("snp/milan-report.bin");
	struct attest_policy	 policy = { .now = NOW_2024 };
	struct attest_result	 res;
	size_t			 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(snp_verify(&report, "snp/milan-vcek.der",
		    chains[i], &policy, &res), -1);
		assert_check(&res, "signature", 1, NULL);
		assert_check(&res, "chain", 0, "unable to get local issuer");
		assert_string_equal(attest_check_name(
		    attest_result_failed(&res)->id), "chain");
	}
	free(report.p);
}

static void
test_snp_flipped_byte(void **state)
{
	const size_t		 offsets[] = {
	    0x90, 0x50, 0x1a0, 0x2a0, 0x2e8 };
	const size_t		 reserved[] = { 0x4c, 0x190, 0x1eb, 0x29f,
				    0x330, 0x400, 0x49f };
	struct blob		 report = load("snp/milan-report.bin");
	struct attest_policy	 policy = { .now = NOW_2024 };
	struct attest_result	 res;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		report.p[offsets[i]] ^= 0x01;
		assert_int_equal(snp_verify(&report, "snp/milan-vcek.der",
		    "snp/milan-ask-ark.pem", &policy, &res), -1);
		assert_check(&res, "signature", 0, "does not verify");
		assert_check(&res, "chain", 1, NULL);
		report.p[offsets[i]] ^= 0x01;
	}
	/*
	 * Reserved bytes, signed or not, must be zero (go-sev-guest's
	 * abi.ReportToProto): the report does not parse.
	 */
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		report.p[reserved[i]] ^= 0x01;
		assert_int_equal(snp_verify(&report, "snp/milan-vcek.der",
		    "snp/milan-ask-ark.pem", &policy, &res), -1);
		assert_int_equal(res.nchecks, 1);
		assert_check(&res, "parse", 0, "not zero");
		report.p[reserved[i]] ^= 0x01;
	}
	free(report.p);
}

/* Another chip's VCEK: a valid chain, but not the key that signed. */
static void
test_snp_other_vcek(void **state)
{
	struct blob		report = load("snp/milan-report.bin");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;

	(void)state;
	assert_int_equal(snp_verify(&report, "snp/debug-vcek.der",
	    "snp/milan-ask-ark.pem", &policy, &res), -1);
	assert_check(&res, "signature", 0, NULL);
	assert_check(&res, "chain", 1, NULL);
	/* And no VCEK at all. */
	assert_int_equal(snp_verify(&report, NULL, NULL, &policy, &res), -1);
	assert_check(&res, "signature", 0, "no VCEK given");
	assert_check(&res, "chain", 0, "no VCEK given");
	/* Something that is no certificate. */
	assert_int_equal(snp_verify(&report, "snp/milan-report.bin", NULL,
	    &policy, &res), -1);
	assert_check(&res, "signature", 0, "not a PEM or DER certificate");
	free(report.p);
}

static void
test_snp_debug_policy(void **state)
{
	struct blob		report = load("snp/debug-report.bin");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;
	unsigned char		m[48];
	const unsigned char	rd[] = { 1, 2, 3, 4, 5 };

	(void)state;
	values_set(&policy.measurement, m, unhex(DEBUG_MEASUREMENT, m,
	    sizeof(m)));
	values_set(&policy.report_data, rd, sizeof(rd));
	assert_int_equal(snp_verify(&report, "snp/debug-vcek.der",
	    "snp/milan-ask-ark.pem", &policy, &res), -1);
	assert_check(&res, "signature", 1, NULL);
	assert_check(&res, "chain", 1, "ARK-Milan");
	assert_check(&res, "debug", 0, "policy 0xb0000: debugging on");
	assert_check(&res, "measurement", 1, NULL);
	assert_check(&res, "report-data", 1, NULL);
	assert_string_equal(attest_check_name(attest_result_failed(&res)->id),
	    "debug");

	policy.allow_debug = 1;
	assert_int_equal(snp_verify(&report, "snp/debug-vcek.der",
	    "snp/milan-ask-ark.pem", &policy, &res), 0);
	assert_check(&res, "debug", 1, "debugging on, as allowed");
	free(report.p);
}

static void
test_snp_expectations(void **state)
{
	struct blob		report = load("snp/milan-report.bin");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;
	unsigned char		m[48], rd[64];

	(void)state;
	values_set(&policy.measurement, m, unhex(DEBUG_MEASUREMENT, m,
	    sizeof(m)));
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL,
	    &policy, &res), -1);
	assert_check(&res, "measurement", 0, "is " MILAN_MEASUREMENT
	    ", not the one expected");
	assert_string_equal(attest_check_name(attest_result_failed(&res)->id),
	    "measurement");

	policy.measurement.n = 0;
	values_set(&policy.report_data, rd, unhex(MILAN_REPORT_DATA, rd,
	    sizeof(rd)));
	policy.report_data.v[0][63] ^= 1;
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL,
	    &policy, &res), -1);
	assert_check(&res, "report-data", 0, "not the one expected");
	/* A prefix is zero-padded: d4 47... then zeros is not it. */
	values_set(&policy.report_data, rd, 2);
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL,
	    &policy, &res), -1);
	assert_check(&res, "report-data", 0, NULL);
	free(report.p);
}

/*
 * A result with no room left cannot pass: a check that is not recorded
 * may have failed. A failure recorded at the limit still counts.
 */
static void
test_result_full(void **state)
{
	struct attest_result	res;
	size_t			i;

	(void)state;
	memset(&res, 0, sizeof(res));
	res.verified = 1;
	for (i = 0; i < ATTEST_RESULT_CHECKS - 1; i++)
		attest_result_add(&res, ATTEST_CHECK_PARSE, 1, "fine");
	assert_int_equal(res.verified, 1);
	attest_result_add(&res, ATTEST_CHECK_DEBUG, 1, "fine");
	assert_int_equal(res.verified, 0);
	assert_int_equal(res.nchecks, ATTEST_RESULT_CHECKS);
	assert_false(res.checks[res.nchecks - 1].ok);
	assert_non_null(strstr(res.checks[res.nchecks - 1].detail,
	    "not recorded"));

	memset(&res, 0, sizeof(res));
	res.verified = 1;
	res.nchecks = ATTEST_RESULT_CHECKS;
	attest_result_add(&res, ATTEST_CHECK_DEBUG, 0, "failed");
	assert_int_equal(res.verified, 0);
	assert_int_equal(res.nchecks, ATTEST_RESULT_CHECKS);
}

/* Reported TCB 03 00 00 00 00 00 08 73: boot loader 3, SNP 8, ucode 0x73. */
static void
test_snp_min_tcb(void **state)
{
	struct blob		report = load("snp/milan-report.bin");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;
	unsigned char		tcb[16];

	(void)state;
	policy.min_tcb = tcb;
	policy.min_tcb_len = unhex("0300000000000873", tcb, sizeof(tcb));
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL,
	    &policy, &res), 0);
	assert_check(&res, "tcb", 1, "0300000000000873");
	policy.min_tcb_len = unhex("0200000000000970", tcb, sizeof(tcb));
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL,
	    &policy, &res), -1);
	assert_check(&res, "tcb", 0, "below the minimum 0200000000000970 at"
	    " byte 6");
	policy.min_tcb_len = unhex("00000000000000000000000000000000", tcb,
	    sizeof(tcb));
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL,
	    &policy, &res), -1);
	assert_check(&res, "tcb", 0, "has 16 bytes");
	free(report.p);
}

/* Certificates expire: "now" decides, and the default is the clock. */
static void
test_snp_validity(void **state)
{
	struct blob		report = load("snp/milan-report.bin");
	struct attest_policy	policy = { .now = NOW_2031 };
	struct attest_result	res;

	(void)state;
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der",
	    "snp/milan-ask-ark.pem", &policy, &res), -1);
	assert_check(&res, "chain", 0, "SEV-VCEK: certificate has expired");
	assert_check(&res, "signature", 1, NULL);
	policy.now = NOW_2019;
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der",
	    "snp/milan-ask-ark.pem", &policy, &res), -1);
	assert_check(&res, "chain", 0, "not yet valid");
	free(report.p);
}

static void
test_snp_truncated(void **state)
{
	struct blob			 report = load("snp/milan-report.bin");
	struct attest_snp_report	 r;
	struct attest_result		 res;
	char				 err[128];
	size_t				 len;

	(void)state;
	for (len = 0; len < report.len; len += 37) {
		assert_int_equal(attest_snp_parse(report.p, len, &r, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "an SEV-SNP report has 1184"));
	}
	report.len--;
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL, NULL,
	    &res), -1);
	assert_int_equal(res.nchecks, 1);
	assert_check(&res, "parse", 0, "1183 bytes");
	assert_false(res.parsed);
	report.len = 0;
	assert_int_equal(snp_verify(&report, "snp/milan-vcek.der", NULL, NULL,
	    &res), -1);
	assert_check(&res, "parse", 0, "0 bytes");
	/* Version 1 and an unknown signature algorithm are refused. */
	report.len = ATTEST_SNP_REPORT_SIZE;
	report.p[0] = 1;
	assert_int_equal(attest_snp_parse(report.p, report.len, &r, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "report version 1"));
	report.p[0] = 2;
	report.p[0x34] = 2;
	assert_int_equal(attest_snp_parse(report.p, report.len, &r, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "signature algorithm 2"));
	free(report.p);
}

/* --- TDX ---------------------------------------------------------------- */

static void
test_tdx_v4_verifies(void **state)
{
	struct blob		quote = load("tdx/quote-v4.dat");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;
	unsigned char		m[48];

	(void)state;
	values_set(&policy.measurement, m, unhex(V4_MRTD, m,
	    sizeof(m)));
	/*
	 * Issue 10 on purpose: SEPT_VE_DISABLE is required by default, and
	 * this TD (attributes 0x40000000) runs without it.
	 */
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), -1);
	assert_check(&res, "td-attributes", 0, "0x0000000040000000:"
	    " SEPT_VE_DISABLE (bit 28) is off");
	assert_string_equal(attest_check_name(attest_result_failed(&res)->id),
	    "td-attributes");

	policy.tdx.allow_sept_ve = 1;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), 0);
	assert_true(res.verified);
	assert_int_equal(res.tee, ATTEST_TEE_TDX);
	assert_int_equal(res.version, 4);
	assert_int_equal(res.nchecks, 9);
	assert_check(&res, "parse", 1, "version 4, TDX 1.0 body; 39 trailing");
	assert_check(&res, "signature", 1, "P-256");
	assert_check(&res, "qe-binding", 1, NULL);
	assert_check(&res, "qe-report", 1, NULL);
	assert_check(&res, "chain", 1, "Intel SGX PCK Certificate -> Intel SGX"
	    " PCK Platform CA -> Intel SGX Root CA (pinned root)");
	assert_check(&res, "qe-identity", 1,
	    "TD_QE ISVPRODID 2, ISVSVN 4: UpToDate (pinned)");
	assert_check(&res, "debug", 1,
	    "TD attributes 0000004000000000: debugging off");
	assert_check(&res, "td-attributes", 1, "SEPT_VE_DISABLE off, as"
	    " allowed");
	assert_check(&res, "measurement", 1, NULL);
	assert_string_equal(res.tcb_status, "");
	free(quote.p);
}

/* The whole TD body: each field a policy can pin, as the quote has it. */
static void
tdx_v4_rtmr0(unsigned char out[48])
{
	struct blob		 quote = load("tdx/quote-v4.dat");
	struct attest_tdx_quote	 q;
	char			 err[128];

	assert_int_equal(attest_tdx_parse(quote.p, quote.len, &q, err,
	    sizeof(err)), 0);
	assert_memory_equal(q.rtmr[0], quote.p + 48 + 328, 48);
	assert_memory_equal(q.mrseam, quote.p + 48 + 16, 48);
	assert_memory_equal(q.xfam, quote.p + 48 + 128, 8);
	assert_memory_equal(q.qe_vendor_id, quote.p + 12, 16);
	assert_int_equal(q.qe_isvprodid, 2);
	assert_int_equal(q.qe_isvsvn, 4);
	memcpy(out, q.rtmr[0], 48);
	free(quote.p);
}

static void
test_tdx_v4_body_policy(void **state)
{
	struct blob		quote = load("tdx/quote-v4.dat");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;
	unsigned char		rtmr0[48], zeros[48] = { 0 };

	(void)state;
	tdx_v4_rtmr0(rtmr0);
	policy.tdx.allow_sept_ve = 1;
	values_set(&policy.tdx.rtmr[0], rtmr0, sizeof(rtmr0));
	values_set(&policy.tdx.mrconfigid, zeros, sizeof(zeros));
	policy.tdx.xfam = 0x61ae7;
	policy.tdx.xfam_mask = ~UINT64_C(0);
	policy.tdx.td_attributes = 0;
	policy.tdx.td_attributes_mask = 0x1;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), 0);
	assert_check(&res, "rtmr0", 1, NULL);
	assert_check(&res, "mrconfigid", 1, NULL);
	assert_check(&res, "xfam", 1, "0x0000000000061ae7");
	assert_check(&res, "td-attributes", 1, "as the policy's mask");

	/* Another RTMR1, XFAM or attributes value: each check names itself. */
	values_set(&policy.tdx.rtmr[1], zeros, sizeof(zeros));
	policy.tdx.xfam = 0x2e7;
	policy.tdx.td_attributes_mask = 0x10000000;
	policy.tdx.td_attributes = 0x10000000;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), -1);
	assert_check(&res, "rtmr0", 1, NULL);
	assert_check(&res, "rtmr1", 0, "not the one expected");
	assert_check(&res, "xfam", 0, "is not 0x00000000000002e7");
	assert_check(&res, "td-attributes", 0, "under mask 0x0000000010000000");
	free(quote.p);
}

/*
 * Intel's collateral for the v4 quote's platform (FMSPC 50806f000000):
 * the TCB info and QE identity verify, nothing is revoked, the QE is
 * Intel's TD QE, and the TCB status is what Intel's QVL and
 * go-tdx-guest compute: no TCB level fits, because the PCK certificate's
 * SGX TCB (03 03 02 02 02 01 00 02) is below both levels' (05 05 ...),
 * QVL's TCB_NOT_SUPPORTED, go-tdx-guest's "no matching TCB level found".
 */
static void
test_tdx_v4_collateral(void **state)
{
	struct tdx_collateral	 tc = { "tcbinfo-50806f000000.json",
				    "qe-identity.json", "tcb-signing-chain.pem",
				    { "pck-crl.der", "root-crl.der" } };
	struct blob		 quote = load("tdx/quote-v4.dat");
	struct attest_policy	 policy = { .now = NOW_2023 };
	struct attest_result	 res;

	(void)state;
	policy.tdx.allow_sept_ve = 1;
	assert_int_equal(tdx_verify_collateral(&quote, &tc, &policy, &res), -1);
	assert_check(&res, "chain", 1, NULL);
	assert_check(&res, "revocation", 1, "PCK chain and TCB signing"
	    " certificate not revoked by Intel SGX PCK Platform CA (44"
	    " entries, 2023-06-08), Intel SGX Root CA (0 entries,"
	    " 2023-04-03)");
	assert_check(&res, "collateral", 1, "TCB info of FMSPC 50806f000000"
	    " (evaluation data 15) signed, 2023-06-18 to"
	    " 2023-07-18; QE identity signed, 2023-06-08 to 2023-07-08 by"
	    " Intel SGX TCB Signing");
	assert_check(&res, "qe-identity", 1, "TD_QE ISVPRODID 2, ISVSVN 4:"
	    " UpToDate (Intel's signed QE identity)");
	assert_check(&res, "tcb-status", 0, "no TCB level of FMSPC"
	    " 50806f000000 fits: the PCK certificate's TCB is below every"
	    " level (PCK TCB 03030202020100020000000000000000 PCESVN 11,"
	    " TEE_TCB_SVN 03000400000000000000000000000000)");
	assert_check(&res, "tcb-status", 0, "TCB_NOT_SUPPORTED");
	assert_string_equal(res.tcb_status, "");
	assert_string_equal(attest_check_name(attest_result_failed(&res)->id),
	    "tcb-status");

	/* A month later, the TCB info and the QE identity are stale. */
	policy.now = NOW_2023 + 40 * 86400;
	assert_int_equal(tdx_verify_collateral(&quote, &tc, &policy, &res), -1);
	assert_check(&res, "collateral", 0, "(evaluation data 15): valid"
	    " 2023-06-18 to"
	    " 2023-07-18, not at the time of verification");
	assert_check(&res, "tcb-status", 0, "did not verify");
	assert_check(&res, "revocation", 0, "CRL has expired");

	/* Only the PCK CRL: the Platform CA's own revocation is unknown. */
	policy.now = NOW_2023;
	tc.crls[1] = NULL;
	assert_int_equal(tdx_verify_collateral(&quote, &tc, &policy, &res), -1);
	assert_check(&res, "revocation", 0, "Intel SGX PCK Platform CA"
	    " serial");
	assert_check(&res, "revocation", 0, "unable to get certificate CRL");

	/* No TCB signing chain: nothing to check the signatures with. */
	tc.crls[0] = NULL;
	tc.chain = NULL;
	assert_int_equal(tdx_verify_collateral(&quote, &tc, &policy, &res), -1);
	assert_check(&res, "collateral", 0, "no TCB signing certificate");
	assert_check(&res, "qe-identity", 1, "(pinned)");
	assert_null(strstr(check_of(&res, "tcb-status")->detail, "fits"));

	/* No TCB info at all: the status is absent, unless required. */
	memset(&tc, 0, sizeof(tc));
	assert_int_equal(tdx_verify_collateral(&quote, &tc, &policy, &res), 0);
	policy.tdx.require_collateral = 1;
	assert_int_equal(tdx_verify_collateral(&quote, &tc, &policy, &res), -1);
	assert_check(&res, "tcb-status", 0, "no TCB info given");
	free(quote.p);
}

/* One byte changed in Intel's JSON: its signature no longer holds. */
static void
test_tdx_collateral_tampered(void **state)
{
	struct blob		 quote = load("tdx/quote-v4.dat");
	struct blob		 ti = load("tdx/collateral/"
				    "tcbinfo-50806f000000.json");
	struct blob		 qi = load("tdx/collateral/"
				    "qe-identity.json");
	struct blob		 ch = load("tdx/collateral/"
				    "tcb-signing-chain.pem");
	struct attest_input	 in = { .tee = ATTEST_TEE_TDX };
	struct attest_policy	 policy = { .now = NOW_2023 };
	struct attest_result	 res;
	unsigned char		*p;

	(void)state;
	policy.tdx.allow_sept_ve = 1;
	in.evidence = quote.p;
	in.evidence_len = quote.len;
	in.tcb_info = ti.p;
	in.tcb_info_len = ti.len;
	in.qe_identity = qi.p;
	in.qe_identity_len = qi.len;
	in.collateral_chain = ch.p;
	in.collateral_chain_len = ch.len;
	assert_int_equal(attest_verify(&in, &policy, &res), -1);
	assert_check(&res, "collateral", 1, NULL);

	/* tcbLevels[0]'s pcesvn 11 -> 10: still well formed, not signed. */
	p = memmem(ti.p, ti.len, "\"pcesvn\":11", 11);
	assert_non_null(p);
	p[10] = '0';
	assert_int_equal(attest_verify(&in, &policy, &res), -1);
	assert_check(&res, "collateral", 0, "(evaluation data 15): the"
	    " signature does not verify with the TCB signing certificate");
	assert_check(&res, "tcb-status", 0, "did not verify");
	p[10] = '1';

	/* The QE identity's ISVSVN level 4 -> 3. */
	p = memmem(qi.p, qi.len, "\"isvsvn\":4", 10);
	assert_non_null(p);
	p[9] = '3';
	assert_int_equal(attest_verify(&in, &policy, &res), -1);
	assert_check(&res, "collateral", 0, "QE identity: the signature does"
	    " not verify");
	assert_check(&res, "qe-identity", 1, "(pinned)");
	p[9] = '4';

	/* A member besides the signed object is refused, not ignored. */
	p = memmem(qi.p, qi.len, "\"signature\"", 11);
	assert_non_null(p);
	memcpy(p, "\"signaturf\"", 11);
	assert_int_equal(attest_verify(&in, &policy, &res), -1);
	assert_check(&res, "collateral", 0, "member \"signaturf\" besides");
	free(quote.p);
	free(ti.p);
	free(qi.p);
	free(ch.p);
}

/*
 * The v5 quote (TDX 1.5, module TDX_01 at ISVSVN 11) on FMSPC
 * 90c06f000000: Intel's TCB info rates it UpToDate, by its first level
 * (SGX 03 03 02 02 04 01 00 05, PCESVN 13; TDX from index 2: 03) and the
 * TDX_01 module identity (ISVSVN 6 and up UpToDate). The TCB signing
 * certificate we have expired in 2025, so in full the collateral fails.
 */
static void
test_tdx_v5_tcb_status(void **state)
{
	struct tdx_collateral		 tc = {
					    "tcbinfo-90c06f000000.json", NULL,
					    "tcb-signing-chain.pem",
					    { NULL, NULL } };
	struct blob			 quote = load("tdx/quote-v5.dat");
	struct blob			 ti = load("tdx/collateral/"
					    "tcbinfo-90c06f000000.json");
	struct attest_tdx_tcb_info	*info;
	struct attest_tdx_quote		 q;
	struct attest_tdx_pck		 pck;
	struct attest_policy		 policy = { .now = NOW_2026_02 };
	struct attest_result		 res;
	STACK_OF(X509)			*certs;
	char				 err[128], d[ATTEST_DETAIL_MAX];

	(void)state;
	info = calloc(1, sizeof(*info));
	assert_non_null(info);
	assert_int_equal(attest_tdx_parse(quote.p, quote.len, &q, err,
	    sizeof(err)), 0);
	assert_int_equal(q.tee_tcb_svn2[0], 0x0d);
	certs = attest_x509_load(q.pck_chain, q.pck_chain_len, err,
	    sizeof(err));
	assert_non_null(certs);
	assert_int_equal(attest_tdx_pck_ext(sk_X509_value(certs, 0), &pck,
	    err, sizeof(err)), 0);
	assert_int_equal(pck.pcesvn, 13);
	assert_memory_equal(pck.fmspc, "\x90\xc0\x6f\0\0\0", 6);
	if (attest_tdx_tcb_info_parse(ti.p, ti.len, info, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(info->nmodules, 2);
	assert_int_equal(info->nlevels, 3);
	assert_int_equal(attest_tdx_tcb_status(info, &pck, &q, -1, d,
	    sizeof(d)), ATTEST_TCB_UP_TO_DATE);
	assert_non_null(strstr(d, "UpToDate: TCB level of 2024-11-13T00:00:00Z"
	    " (UpToDate), TDX module TDX_01 UpToDate, FMSPC 90c06f000000,"
	    " evaluation data 18"));
	/* An older module (ISVSVN 4): OutOfDate by its identity. */
	q.tee_tcb_svn[0] = 4;
	assert_int_equal(attest_tdx_tcb_status(info, &pck, &q, -1, d,
	    sizeof(d)), ATTEST_TCB_OUT_OF_DATE);
	/* Module version 2: Intel names no TDX_02. */
	q.tee_tcb_svn[1] = 2;
	assert_int_equal(attest_tdx_tcb_status(info, &pck, &q, -1, d,
	    sizeof(d)), -1);
	assert_non_null(strstr(d, "no TDX module identity TDX_02"));
	sk_X509_pop_free(certs, X509_free);

	/* In full: Intel's signature holds, its certificate has expired. */
	policy.tdx.allow_sept_ve = 1;
	assert_int_equal(tdx_verify_collateral(&quote, &tc, &policy, &res), -1);
	assert_check(&res, "collateral", 0, "Intel SGX TCB Signing:"
	    " certificate has expired");
	free(info);
	free(ti.p);
	free(quote.p);
}

static void
test_tdx_v4_tampered(void **state)
{
	struct blob		 quote = load("tdx/quote-v4.dat");
	struct attest_tdx_quote	 q;
	struct attest_policy	 policy = { .now = NOW_2024 };
	struct attest_result	 res;
	char			 err[128];
	size_t			 off;

	(void)state;
	/* The MRTD: the quote signature breaks, the QE still holds. */
	quote.p[48 + 136] ^= 1;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), -1);
	assert_check(&res, "signature", 0, "does not verify");
	assert_check(&res, "qe-report", 1, NULL);
	assert_check(&res, "chain", 1, NULL);
	quote.p[48 + 136] ^= 1;

	/* The QE report's report_data: its signature and binding break. */
	assert_int_equal(attest_tdx_parse(quote.p, quote.len, &q, err,
	    sizeof(err)), 0);
	off = (size_t)(q.qe_report - quote.p) + 320;
	quote.p[off] ^= 1;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), -1);
	assert_check(&res, "signature", 1, NULL);
	assert_check(&res, "qe-report", 0, "does not verify");
	assert_check(&res, "qe-binding", 0, "does not vouch");
	quote.p[off] ^= 1;

	/* The attestation key: the quote and the binding break. */
	off = (size_t)(q.att_key - quote.p) + 10;
	quote.p[off] ^= 1;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), -1);
	assert_check(&res, "qe-binding", 0, NULL);
	quote.p[off] ^= 1;
	free(quote.p);
}

static void
test_tdx_v4_roots_and_time(void **state)
{
	struct blob		quote = load("tdx/quote-v4.dat");
	struct attest_policy	policy = { .now = NOW_2024 };
	struct attest_result	res;

	(void)state;
	policy.tdx.allow_sept_ve = 1;
	assert_int_equal(tdx_verify(&quote, "tdx/intel-sgx-root.pem", &policy,
	    &res), 0);
	assert_check(&res, "chain", 1, "a root given, not the pinned one");
	assert_int_equal(tdx_verify(&quote, "snp/milan-ask-ark.pem", &policy,
	    &res), -1);
	assert_check(&res, "chain", 0, "Intel SGX Root CA");
	policy.now = NOW_2035;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), -1);
	assert_check(&res, "chain", 0, "certificate has expired");
	assert_check(&res, "signature", 1, NULL);
	free(quote.p);
}

/*
 * The v5 sample (TDX 1.5 body) verifies in full, but only from 2026-01-27,
 * when its PCK certificate becomes valid; before, only the chain fails.
 */
static void
test_tdx_v5(void **state)
{
	struct blob		 quote = load("tdx/quote-v5.dat");
	struct attest_tdx_quote	 q;
	struct attest_policy	 policy = { .now = NOW_2026 };
	struct attest_result	 res;
	unsigned char		 m[48];
	char			 err[128];

	(void)state;
	assert_int_equal(attest_tdx_parse(quote.p, quote.len, &q, err,
	    sizeof(err)), 0);
	assert_int_equal(q.version, 5);
	assert_int_equal(q.body_type, 3);
	assert_int_equal(q.trailing, 0);
	values_set(&policy.measurement, m, unhex(V5_MRTD, m,
	    sizeof(m)));
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), 0);
	assert_int_equal(res.nchecks, 9);
	assert_check(&res, "parse", 1, "version 5, TDX 1.5 body");
	assert_check(&res, "qe-identity", 1, "ISVSVN 7: UpToDate (pinned)");
	assert_check(&res, "td-attributes", 1, "0x0000000010000000,"
	    " SEPT_VE_DISABLE on");
	assert_check(&res, "signature", 1, "702 bytes");
	assert_check(&res, "qe-binding", 1, NULL);
	assert_check(&res, "qe-report", 1, NULL);
	assert_check(&res, "chain", 1, "Intel SGX Root CA (pinned root)");
	assert_check(&res, "debug", 1, "0000001000000000: debugging off");
	assert_check(&res, "measurement", 1, NULL);

	policy.now = NOW_2024;
	assert_int_equal(tdx_verify(&quote, NULL, &policy, &res), -1);
	assert_check(&res, "chain", 0, "PCK Certificate: certificate is not"
	    " yet valid");
	assert_string_equal(attest_check_name(attest_result_failed(&res)->id),
	    "chain");
	free(quote.p);
}

static void
test_tdx_truncated(void **state)
{
	struct blob		 quote = load("tdx/quote-v4.dat");
	struct attest_tdx_quote	 q;
	struct attest_result	 res;
	char			 err[128];
	size_t			 len, end = quote.len - 39;

	(void)state;
	for (len = 0; len < end; len++) {
		if (attest_tdx_parse(quote.p, len, &q, err, sizeof(err)) != -1)
			fail_msg("a quote cut at %zu bytes parses", len);
	}
	assert_int_equal(attest_tdx_parse(quote.p, end, &q, err, sizeof(err)),
	    0);
	quote.len = 1000;
	assert_int_equal(tdx_verify(&quote, NULL, NULL, &res), -1);
	assert_int_equal(res.nchecks, 1);
	assert_check(&res, "parse", 0, "truncated");
	/* An SNP report is no quote. */
	free(quote.p);
	quote = load("snp/milan-report.bin");
	assert_int_equal(tdx_verify(&quote, NULL, NULL, &res), -1);
	assert_check(&res, "parse", 0, "quote version 2");
	free(quote.p);
}

static int
setup(void **state)
{
	(void)state;
	return datadir == NULL ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_milan_verifies),
		cmocka_unit_test(test_snp_builtin_chain),
		cmocka_unit_test(test_snp_wrong_chain),
		cmocka_unit_test(test_snp_flipped_byte),
		cmocka_unit_test(test_snp_other_vcek),
		cmocka_unit_test(test_snp_debug_policy),
		cmocka_unit_test(test_snp_expectations),
		cmocka_unit_test(test_result_full),
		cmocka_unit_test(test_snp_min_tcb),
		cmocka_unit_test(test_snp_validity),
		cmocka_unit_test(test_snp_truncated),
		cmocka_unit_test(test_tdx_v4_verifies),
		cmocka_unit_test(test_tdx_v4_tampered),
		cmocka_unit_test(test_tdx_v4_roots_and_time),
		cmocka_unit_test(test_tdx_v5),
		cmocka_unit_test(test_tdx_v4_body_policy),
		cmocka_unit_test(test_tdx_v4_collateral),
		cmocka_unit_test(test_tdx_collateral_tampered),
		cmocka_unit_test(test_tdx_v5_tcb_status),
		cmocka_unit_test(test_tdx_truncated),
	};
	static char	path[1024];
	FILE		*f;

	datadir = getenv("CUBE_TESTDATA");
	if (datadir != NULL) {
		snprintf(path, sizeof(path), "%s/attestation/README.md",
		    datadir);
		if ((f = fopen(path, "r")) != NULL)
			fclose(f);
		else
			datadir = NULL;
	}
	if (datadir == NULL) {
		printf("# SKIP no attestation reference data ($CUBE_TESTDATA"
		    "/attestation)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
