/*
 * shared/attest-policy.c: every key of a policy file read into its field,
 * every way a file is refused (each message naming the key), paths of
 * collateral resolved against the file's directory, and the example
 * policies in examples/ (run from the repository root, or CUBE_ROOT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest-int.h"

#define X4(b)	b b b b
#define X16(b)	X4(b) X4(b) X4(b) X4(b)
#define X32(b)	X16(b) X16(b)
#define X48(b)	X32(b) X16(b)
#define Q(s)	"\"" s "\""

/* Parse text as a file in /etc/cube would be; 0 or -1, err filled. */
static int
parse(const char *text, struct attest_policy *p, struct attest_policy_file *f,
    char *err, size_t errlen)
{
	return attest_policy_parse(text, strlen(text), "/etc/cube", p, f, err,
	    errlen);
}

/* Every byte of v is b. */
static void
assert_values(const struct attest_values *vs, size_t i, size_t len, int b)
{
	size_t	j;

	assert_true(i < vs->n);
	assert_int_equal(vs->len, len);
	for (j = 0; j < len; j++)
		assert_int_equal(vs->v[i][j], b);
}

static void
test_snp_every_key(void **state)
{
	const char *text = "{\n"
	    "\"version\": 1, \"tee\": \"sev-snp\", \"allow_debug\": true,\n"
	    "\"allow_simulated\": true, \"tls_ca\": true,\n"
	    "\"measurement\": [" Q(X48("aa")) ", " Q(X48("BB")) "],\n"
	    "\"report_data\": [\"0102\", \"0304\"],\n"
	    "\"min_tcb\": \"0300000000000873\",\n"
	    "\"sev_snp\": {\"max_vmpl\": 2, \"allow_migration_agent\": true,\n"
	    "  \"allow_provisional_firmware\": true, \"require_no_smt\": true,\n"
	    "  \"require_single_socket\": true,\n"
	    "  \"require_ciphertext_hiding\": true, \"min_abi\": \"1.55\",\n"
	    "  \"min_guest_svn\": 4294967295,\n"
	    "  \"platform_require\": [\"tsme\", \"ecc\", \"rapl_dis\",\n"
	    "    \"ciphertext_hiding\", \"alias_check_complete\"],\n"
	    "  \"platform_forbid\": [\"smt\", \"tio\"],\n"
	    "  \"products\": [\"Milan\", \"Turin\"], \"signer\": \"vlek\",\n"
	    "  \"host_data\": [" Q(X32("11")) "],\n"
	    "  \"id_key_digest\": [" Q(X48("22")) "],\n"
	    "  \"author_key_digest\": [" Q(X48("33")) "],\n"
	    "  \"family_id\": [" Q(X16("44")) "],\n"
	    "  \"image_id\": [" Q(X16("55")) ", " Q(X16("66")) "]},\n"
	    "\"collateral\": {\"tcb_info\": \"tcb.json\",\n"
	    "  \"qe_identity\": \"/var/qe.json\", \"chain\": \"c/chain.pem\",\n"
	    "  \"crls\": [\"a.crl\", \"/b.crl\"]}\n"
	    "}\n";
	struct attest_policy		p;
	struct attest_policy_file	f;
	char				err[256];

	(void)state;
	if (parse(text, &p, &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(f.tee_given);
	assert_int_equal(f.tee, ATTEST_TEE_SEV_SNP);
	assert_true(f.allow_simulated);
	assert_true(f.tls_ca);
	assert_true(p.allow_debug);
	assert_int_equal(p.measurement.n, 2);
	assert_values(&p.measurement, 0, 48, 0xaa);
	assert_values(&p.measurement, 1, 48, 0xbb);
	assert_int_equal(p.report_data.n, 2);
	assert_int_equal(p.report_data.len, 2);
	assert_memory_equal(p.report_data.v[1], "\x03\x04", 2);
	assert_ptr_equal(p.min_tcb, f.min_tcb);
	assert_int_equal(p.min_tcb_len, 8);
	assert_memory_equal(p.min_tcb, "\x03\0\0\0\0\0\x08\x73", 8);
	assert_int_equal(p.now, 0);

	assert_int_equal(p.snp.max_vmpl, 2);
	assert_true(p.snp.allow_migration_agent);
	assert_true(p.snp.allow_provisional_firmware);
	assert_true(p.snp.require_no_smt);
	assert_true(p.snp.require_single_socket);
	assert_true(p.snp.require_ciphertext_hiding);
	assert_int_equal(p.snp.min_abi_major, 1);
	assert_int_equal(p.snp.min_abi_minor, 55);
	assert_int_equal(p.snp.min_guest_svn, 4294967295u);
	assert_int_equal(p.snp.platform_require, 0x3e);
	assert_int_equal(p.snp.platform_forbid, 0x81);
	assert_int_equal(p.snp.products, 1u << ATTEST_SNP_MILAN |
	    1u << ATTEST_SNP_TURIN);
	assert_int_equal(p.snp.signer, 2);
	assert_values(&p.snp.host_data, 0, 32, 0x11);
	assert_values(&p.snp.id_key_digest, 0, 48, 0x22);
	assert_values(&p.snp.author_key_digest, 0, 48, 0x33);
	assert_values(&p.snp.family_id, 0, 16, 0x44);
	assert_int_equal(p.snp.image_id.n, 2);
	assert_values(&p.snp.image_id, 1, 16, 0x66);

	assert_string_equal(f.tcb_info, "/etc/cube/tcb.json");
	assert_string_equal(f.qe_identity, "/var/qe.json");
	assert_string_equal(f.collateral_chain, "/etc/cube/c/chain.pem");
	assert_int_equal(f.ncrls, 2);
	assert_string_equal(f.crls[0], "/etc/cube/a.crl");
	assert_string_equal(f.crls[1], "/b.crl");
	/* Nothing of TDX's. */
	assert_int_equal(p.tdx.rtmr[0].n, 0);
	assert_int_equal(p.tdx.td_attributes_mask, 0);
	attest_policy_file_clear(&f);
	assert_null(f.tcb_info);
	assert_int_equal(f.ncrls, 0);
	attest_policy_file_clear(NULL);
}

static void
test_tdx_every_key(void **state)
{
	const char *text = "{\"version\": 1, \"tee\": \"tdx\",\n"
	    "\"min_tcb\": \"03000400000000000000000000000000\",\n"
	    "\"tdx\": {\n"
	    "  \"rtmr0\": [" Q(X48("01")) "], \"rtmr1\": [" Q(X48("02")) "],\n"
	    "  \"rtmr2\": [" Q(X48("03")) "], \"rtmr3\": [" Q(X48("04")) "],\n"
	    "  \"mrseam\": [" Q(X48("05")) "],\n"
	    "  \"mrconfigid\": [" Q(X48("06")) "],\n"
	    "  \"mrowner\": [" Q(X48("07")) "],\n"
	    "  \"mrownerconfig\": [" Q(X48("08")) ", " Q(X48("09")) "],\n"
	    "  \"td_attributes\": {\"mask\": \"0100001000000000\",\n"
	    "    \"value\": \"0000001000000000\"},\n"
	    "  \"allow_sept_ve\": true,\n"
	    "  \"xfam\": {\"value\": \"e702060000000000\",\n"
	    "    \"mask\": \"ffffffffffffffff\"},\n"
	    "  \"tcb_statuses\": [\"UpToDate\", \"ConfigurationNeeded\",\n"
	    "    \"ConfigurationAndSWHardeningNeeded\", \"OutOfDate\",\n"
	    "    \"OutOfDateConfigurationNeeded\", \"Revoked\",\n"
	    "    \"SWHardeningNeeded\"],\n"
	    "  \"require_collateral\": true}}";
	struct attest_policy		p;
	struct attest_policy_file	f;
	char				err[256];
	int				i;

	(void)state;
	if (parse(text, &p, &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(f.tee, ATTEST_TEE_TDX);
	assert_false(f.allow_simulated);
	assert_false(f.tls_ca);
	assert_false(p.allow_debug);
	assert_int_equal(p.min_tcb_len, 16);
	assert_int_equal(p.min_tcb[2], 4);
	for (i = 0; i < 4; i++)
		assert_values(&p.tdx.rtmr[i], 0, 48, i + 1);
	assert_values(&p.tdx.mrseam, 0, 48, 5);
	assert_values(&p.tdx.mrconfigid, 0, 48, 6);
	assert_values(&p.tdx.mrowner, 0, 48, 7);
	assert_values(&p.tdx.mrownerconfig, 1, 48, 9);
	/* The quote's byte order: little-endian. */
	assert_int_equal(p.tdx.td_attributes, ATTEST_TDX_ATTR_SEPT_VE_DISABLE);
	assert_int_equal(p.tdx.td_attributes_mask,
	    ATTEST_TDX_ATTR_SEPT_VE_DISABLE | 1);
	assert_true(p.tdx.allow_sept_ve);
	assert_int_equal(p.tdx.xfam, 0x602e7);
	assert_int_equal(p.tdx.xfam_mask, UINT64_MAX);
	assert_int_equal(p.tdx.tcb_statuses, (1u << ATTEST_TCB_STATUSES) - 1);
	assert_true(p.tdx.require_collateral);
	assert_null(f.tcb_info);
	assert_int_equal(f.ncrls, 0);
	assert_int_equal(p.snp.signer, 0);
	attest_policy_file_clear(&f);
}

/* The least a file can say: the safe defaults, nothing expected. */
static void
test_defaults(void **state)
{
	struct attest_policy		p, zero;
	struct attest_policy_file	f, fzero;
	char				err[256];

	(void)state;
	memset(&zero, 0, sizeof(zero));
	memset(&fzero, 0, sizeof(fzero));
	memset(&p, 0x5a, sizeof(p));
	memset(&f, 0x5a, sizeof(f));
	assert_int_equal(parse(" {\"version\": 1}\n\n", &p, &f, err,
	    sizeof(err)), 0);
	assert_memory_equal(&p, &zero, sizeof(p));
	assert_memory_equal(&f, &fzero, sizeof(f));
	/* Each signer's name, and empty objects. */
	assert_int_equal(parse("{\"version\": 1, \"sev_snp\": {\"signer\":"
	    " \"vcek\"}, \"tdx\": {}, \"collateral\": {}}", &p, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(p.snp.signer, 1);
	assert_int_equal(parse("{\"version\": 1, \"sev_snp\": {\"signer\":"
	    " \"any\"}}", &p, &f, err, sizeof(err)), 0);
	assert_int_equal(p.snp.signer, 0);
	/* Explicit defaults are the defaults. */
	assert_int_equal(parse("{\"version\": 1, \"allow_debug\": false,"
	    " \"sev_snp\": {\"max_vmpl\": 0, \"min_abi\": \"0.0\"}}", &p, &f,
	    err, sizeof(err)), 0);
	assert_memory_equal(&p, &zero, sizeof(p));
}

/* Each way a file is refused, and the message that names the key. */
static const struct {
	const char	*text;
	const char	*err;
} refused[] = {
	{ "", "not JSON (line 1)" },
	{ "{\"version\": 1,\n\n\"allow_debug\": tru}", "not JSON (line 3)" },
	{ "{\"version\": 1} {}", "not JSON: more after the object" },
	{ "[]", "not a JSON object" },
	{ "1", "not a JSON object" },
	{ "{}", "version: this verifier reads version 1 policies only" },
	{ "{\"version\": 2}",
	    "version: this verifier reads version 1 policies only" },
	{ "{\"version\": \"1\"}",
	    "version: this verifier reads version 1 policies only" },
	{ "{\"version\": 1.5}",
	    "version: this verifier reads version 1 policies only" },
	/* A version 2 key is not the first complaint: the version is. */
	{ "{\"new_key\": 1, \"version\": 2}",
	    "version: this verifier reads version 1 policies only" },
	{ "{\"version\": 1, \"version\": 1}", "version: given twice" },
	{ "{\"version\": 1, \"verison\": 1}", "verison: unknown key" },
	{ "{\"version\": 1, \"Allow_debug\": false}",
	    "Allow_debug: unknown key" },
	{ "{\"version\": 1, \"allow_debug\": 0}",
	    "allow_debug: not true or false" },
	{ "{\"version\": 1, \"allow_debug\": \"false\"}",
	    "allow_debug: not true or false" },
	{ "{\"version\": 1, \"allow_debug\": false, \"allow_debug\": true}",
	    "allow_debug: given twice" },
	{ "{\"version\": 1, \"allow_simulated\": null}",
	    "allow_simulated: not true or false" },
	{ "{\"version\": 1, \"tee\": \"sev_snp\"}",
	    "tee: not \"sev-snp\" or \"tdx\"" },
	{ "{\"version\": 1, \"tee\": 1}", "tee: not \"sev-snp\" or \"tdx\"" },
	/* Accepted values. */
	{ "{\"version\": 1, \"measurement\": " Q(X48("aa")) "}",
	    "measurement: not an array of 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"measurement\": []}",
	    "measurement: 0 entries; 1 to 16 of 48 bytes of hex (96 digits,"
	    " no 0x)" },
	{ "{\"version\": 1, \"measurement\": [" Q(X16("00")) "]}",
	    "measurement[0]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"measurement\": [" Q(X48("aa")) ", \"0x"
	    X48("aa") "\"]}",
	    "measurement[1]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"measurement\": [" Q(X48("aa") "a") "]}",
	    "measurement[0]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"measurement\": [" Q(X32("aa") X16("zz")) "]}",
	    "measurement[0]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"measurement\": [48]}",
	    "measurement[0]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"measurement\": [" X16(Q(X48("aa")) ",")
	    Q(X48("bb")) "]}",
	    "measurement: 17 entries; 1 to 16 of 48 bytes of hex (96 digits,"
	    " no 0x)" },
	{ "{\"version\": 1, \"report_data\": [\"\"]}",
	    "report_data[0]: not 1 to 64 bytes of hex (no 0x)" },
	{ "{\"version\": 1, \"report_data\": [" Q(X32("aa") X32("aa") "00")
	    "]}", "report_data[0]: not 1 to 64 bytes of hex (no 0x)" },
	{ "{\"version\": 1, \"report_data\": [\"0102\", \"010203\"]}",
	    "report_data[1]: 3 bytes, the first has 2: give each value in"
	    " full" },
	{ "{\"version\": 1, \"min_tcb\": \"03000000000008\"}",
	    "min_tcb: not 8 bytes of hex (SEV-SNP reported TCB) or 16 (TDX"
	    " TEE_TCB_SVN)" },
	{ "{\"version\": 1, \"min_tcb\": \"030000000000087300\"}",
	    "min_tcb: not 8 bytes of hex (SEV-SNP reported TCB) or 16 (TDX"
	    " TEE_TCB_SVN)" },
	{ "{\"version\": 1, \"min_tcb\": [\"0300000000000873\"]}",
	    "min_tcb: not 8 bytes of hex (SEV-SNP reported TCB) or 16 (TDX"
	    " TEE_TCB_SVN)" },
	{ "{\"version\": 1, \"tee\": \"tdx\", \"min_tcb\":"
	    " \"0300000000000873\"}", "min_tcb: 8 bytes; tdx has 16" },
	{ "{\"min_tcb\": " Q(X16("00")) ", \"tee\": \"sev-snp\","
	    " \"version\": 1}", "min_tcb: 16 bytes; sev-snp has 8" },
	/* SEV-SNP. */
	{ "{\"version\": 1, \"sev_snp\": []}", "sev_snp: not an object" },
	{ "{\"version\": 1, \"sev_snp\": {\"max_vmlp\": 0}}",
	    "sev_snp.max_vmlp: unknown key" },
	{ "{\"version\": 1, \"sev_snp\": {\"max_vmpl\": 4}}",
	    "sev_snp.max_vmpl: not a number 0..3" },
	{ "{\"version\": 1, \"sev_snp\": {\"max_vmpl\": -1}}",
	    "sev_snp.max_vmpl: not a number 0..3" },
	{ "{\"version\": 1, \"sev_snp\": {\"max_vmpl\": 1.5}}",
	    "sev_snp.max_vmpl: not a number 0..3" },
	{ "{\"version\": 1, \"sev_snp\": {\"max_vmpl\": \"0\"}}",
	    "sev_snp.max_vmpl: not a number 0..3" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_guest_svn\": 4294967296}}",
	    "sev_snp.min_guest_svn: not a number 0..4294967295" },
	{ "{\"version\": 1, \"sev_snp\": {\"require_no_smt\": 1}}",
	    "sev_snp.require_no_smt: not true or false" },
	{ "{\"version\": 1, \"sev_snp\": {\"allow_migration_agent\":"
	    " \"yes\"}}",
	    "sev_snp.allow_migration_agent: not true or false" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_abi\": 1.51}}",
	    "sev_snp.min_abi: not a version \"major.minor\" (\"1.51\"), each"
	    " 0..255" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_abi\": \"1\"}}",
	    "sev_snp.min_abi: not a version \"major.minor\" (\"1.51\"), each"
	    " 0..255" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_abi\": \"1.51.2\"}}",
	    "sev_snp.min_abi: not a version \"major.minor\" (\"1.51\"), each"
	    " 0..255" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_abi\": \"1.256\"}}",
	    "sev_snp.min_abi: not a version \"major.minor\" (\"1.51\"), each"
	    " 0..255" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_abi\": \"1. 5\"}}",
	    "sev_snp.min_abi: not a version \"major.minor\" (\"1.51\"), each"
	    " 0..255" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_abi\": \"-1.5\"}}",
	    "sev_snp.min_abi: not a version \"major.minor\" (\"1.51\"), each"
	    " 0..255" },
	{ "{\"version\": 1, \"sev_snp\": {\"min_abi\": \"1.00051\"}}",
	    "sev_snp.min_abi: not a version \"major.minor\" (\"1.51\"), each"
	    " 0..255" },
	{ "{\"version\": 1, \"sev_snp\": {\"platform_require\": \"smt\"}}",
	    "sev_snp.platform_require: not an array of names" },
	{ "{\"version\": 1, \"sev_snp\": {\"platform_require\": []}}",
	    "sev_snp.platform_require: 0 entries; 1 to 16 of names" },
	{ "{\"version\": 1, \"sev_snp\": {\"platform_require\": [\"smt\","
	    " \"SMT\"]}}", "sev_snp.platform_require[1]: 'SMT' is not one of"
	    " smt, tsme, ecc, rapl_dis, ciphertext_hiding,"
	    " alias_check_complete, tio" },
	{ "{\"version\": 1, \"sev_snp\": {\"platform_forbid\": [7]}}",
	    "sev_snp.platform_forbid[0]: not a string: one of smt, tsme, ecc,"
	    " rapl_dis, ciphertext_hiding, alias_check_complete, tio" },
	{ "{\"version\": 1, \"sev_snp\": {\"platform_forbid\": [\"tio\","
	    " \"tio\"]}}", "sev_snp.platform_forbid[1]: 'tio' is given twice" },
	{ "{\"version\": 1, \"sev_snp\": {\"platform_require\": [\"ecc\","
	    " \"tsme\"], \"platform_forbid\": [\"smt\", \"tsme\"]}}",
	    "sev_snp.platform_forbid: 'tsme' is required too" },
	{ "{\"version\": 1, \"sev_snp\": {\"products\": [\"milan\"]}}",
	    "sev_snp.products[0]: 'milan' is not one of Milan, Genoa, Turin" },
	{ "{\"version\": 1, \"sev_snp\": {\"signer\": \"VCEK\"}}",
	    "sev_snp.signer: not \"vcek\", \"vlek\" or \"any\"" },
	{ "{\"version\": 1, \"sev_snp\": {\"signer\": [\"vcek\"]}}",
	    "sev_snp.signer: not \"vcek\", \"vlek\" or \"any\"" },
	{ "{\"version\": 1, \"sev_snp\": {\"host_data\": [" Q(X48("00"))
	    "]}}", "sev_snp.host_data[0]: not 32 bytes of hex (64 digits, no"
	    " 0x)" },
	{ "{\"version\": 1, \"sev_snp\": {\"id_key_digest\": [" Q(X32("00"))
	    "]}}", "sev_snp.id_key_digest[0]: not 48 bytes of hex (96 digits,"
	    " no 0x)" },
	{ "{\"version\": 1, \"sev_snp\": {\"author_key_digest\": []}}",
	    "sev_snp.author_key_digest: 0 entries; 1 to 16 of 48 bytes of hex"
	    " (96 digits, no 0x)" },
	{ "{\"version\": 1, \"sev_snp\": {\"family_id\": [" Q(X32("00"))
	    "]}}", "sev_snp.family_id[0]: not 16 bytes of hex (32 digits, no"
	    " 0x)" },
	{ "{\"version\": 1, \"sev_snp\": {\"image_id\": null}}",
	    "sev_snp.image_id: not an array of 16 bytes of hex (32 digits, no"
	    " 0x)" },
	{ "{\"version\": 1, \"sev_snp\": {\"max_vmpl\": 0, \"max_vmpl\": 3}}",
	    "sev_snp.max_vmpl: given twice" },
	{ "{\"version\": 1, \"sev_snp\": {\"rtmr0\": []}}",
	    "sev_snp.rtmr0: unknown key" },
	/* TDX. */
	{ "{\"version\": 1, \"tdx\": 1}", "tdx: not an object" },
	{ "{\"version\": 1, \"tdx\": {\"rtmr4\": []}}",
	    "tdx.rtmr4: unknown key" },
	{ "{\"version\": 1, \"tdx\": {\"rtmr0\": [" Q(X32("00")) "]}}",
	    "tdx.rtmr0[0]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"tdx\": {\"rtmr3\": [" Q(X48("00")) ", 1]}}",
	    "tdx.rtmr3[1]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"tdx\": {\"mrseam\": \"\"}}",
	    "tdx.mrseam: not an array of 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"tdx\": {\"mrconfigid\": [\"00\"]}}",
	    "tdx.mrconfigid[0]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"tdx\": {\"mrowner\": [true]}}",
	    "tdx.mrowner[0]: not 48 bytes of hex (96 digits, no 0x)" },
	{ "{\"version\": 1, \"tdx\": {\"mrownerconfig\": {}}}",
	    "tdx.mrownerconfig: not an array of 48 bytes of hex (96 digits,"
	    " no 0x)" },
	{ "{\"version\": 1, \"tdx\": {\"td_attributes\": \"0000001000000000\"}}",
	    "tdx.td_attributes: not an object with \"value\" and \"mask\"" },
	{ "{\"version\": 1, \"tdx\": {\"td_attributes\": {\"value\":"
	    " \"0000001000000000\"}}}",
	    "tdx.td_attributes: needs \"value\" and \"mask\", each once" },
	{ "{\"version\": 1, \"tdx\": {\"td_attributes\": {\"value\":"
	    " \"0000001000000000\", \"mask\": \"0000001000000000\", \"bits\":"
	    " 1}}}", "tdx.td_attributes.bits: unknown key (value, mask)" },
	{ "{\"version\": 1, \"tdx\": {\"td_attributes\": {\"value\":"
	    " \"0000001000000000\", \"value\": \"0000001000000000\"}}}",
	    "tdx.td_attributes.mask: not 8 bytes of hex (16 digits, the"
	    " quote's byte order)" },
	{ "{\"version\": 1, \"tdx\": {\"td_attributes\": {\"value\":"
	    " \"00000010\", \"mask\": \"0000001000000000\"}}}",
	    "tdx.td_attributes.value: not 8 bytes of hex (16 digits, the"
	    " quote's byte order)" },
	{ "{\"version\": 1, \"tdx\": {\"td_attributes\": {\"value\":"
	    " \"0000001000000000\", \"mask\": \"0x00001000000000\"}}}",
	    "tdx.td_attributes.mask: not 8 bytes of hex (16 digits, the"
	    " quote's byte order)" },
	{ "{\"version\": 1, \"tdx\": {\"td_attributes\": {\"value\":"
	    " \"0100001000000000\", \"mask\": \"0000001000000000\"}}}",
	    "tdx.td_attributes: the value has bits outside the mask, which"
	    " would not be checked" },
	{ "{\"version\": 1, \"tdx\": {\"xfam\": {\"value\": \"e7\","
	    " \"mask\": \"ff\"}}}", "tdx.xfam.value: not 8 bytes of hex (16"
	    " digits, the quote's byte order)" },
	{ "{\"version\": 1, \"tdx\": {\"allow_sept_ve\": \"true\"}}",
	    "tdx.allow_sept_ve: not true or false" },
	{ "{\"version\": 1, \"tdx\": {\"require_collateral\": 1}}",
	    "tdx.require_collateral: not true or false" },
	{ "{\"version\": 1, \"tdx\": {\"tcb_statuses\": [\"Uptodate\"]}}",
	    "tdx.tcb_statuses[0]: 'Uptodate' is not one of UpToDate,"
	    " SWHardeningNeeded, ConfigurationNeeded," },
	{ "{\"version\": 1, \"tdx\": {\"tcb_statuses\": []}}",
	    "tdx.tcb_statuses: 0 entries; 1 to 16 of names" },
	/* Collateral. */
	{ "{\"version\": 1, \"collateral\": \"tcb.json\"}",
	    "collateral: not an object" },
	{ "{\"version\": 1, \"collateral\": {\"tcbinfo\": \"a\"}}",
	    "collateral.tcbinfo: unknown key" },
	{ "{\"version\": 1, \"collateral\": {\"tcb_info\": \"\"}}",
	    "collateral.tcb_info: not a file name" },
	{ "{\"version\": 1, \"collateral\": {\"qe_identity\": 1}}",
	    "collateral.qe_identity: not a file name" },
	{ "{\"version\": 1, \"collateral\": {\"chain\": [\"a\"]}}",
	    "collateral.chain: not a file name" },
	{ "{\"version\": 1, \"collateral\": {\"crls\": \"a.crl\"}}",
	    "collateral.crls: not an array of file names" },
	{ "{\"version\": 1, \"collateral\": {\"crls\": []}}",
	    "collateral.crls: 0 entries; 1 to 16 of file names" },
	{ "{\"version\": 1, \"collateral\": {\"crls\": [\"a\", \"\"]}}",
	    "collateral.crls[1]: not a file name" },
	{ "{\"version\": 1, \"collateral\": {\"crls\": [" X16("\"a\",")
	    "\"b\"]}}", "collateral.crls: 17 entries; 1 to 16 of file names" },
	/* A NUL would cut a key short: refused, escaped or not. */
	{ "{\"version\": 1, \"allow_debug\\u0000x\": true}",
	    "not JSON: a NUL byte" },
};

static void
test_refused(void **state)
{
	struct attest_policy		p, before;
	struct attest_policy_file	f, fbefore;
	char				err[512];
	size_t				i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		memset(&p, 0x5a, sizeof(p));
		memset(&f, 0x5a, sizeof(f));
		before = p;
		fbefore = f;
		err[0] = '\0';
		if (parse(refused[i].text, &p, &f, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", refused[i].text);
		if (strncmp(err, refused[i].err, strlen(refused[i].err)) != 0)
			fail_msg("%s\n  says: %s\n  want: %s", refused[i].text,
			    err, refused[i].err);
		/* Nothing is written when a file is refused. */
		assert_memory_equal(&p, &before, sizeof(p));
		assert_memory_equal(&f, &fbefore, sizeof(f));
	}
}

/* Sizes: the limit, a NUL, a path too long; nothing read past len. */
static void
test_bounds(void **state)
{
	struct attest_policy		p;
	struct attest_policy_file	f;
	char				err[256], *big, *text;
	size_t				n;

	(void)state;
	big = malloc(ATTEST_POLICY_FILE_MAX + 2);
	assert_non_null(big);
	n = snprintf(big, ATTEST_POLICY_FILE_MAX, "{\"version\": 1}");
	memset(big + n, ' ', ATTEST_POLICY_FILE_MAX - n);
	assert_int_equal(attest_policy_parse(big, ATTEST_POLICY_FILE_MAX, NULL,
	    &p, &f, err, sizeof(err)), 0);
	big[ATTEST_POLICY_FILE_MAX] = ' ';
	assert_int_equal(attest_policy_parse(big, ATTEST_POLICY_FILE_MAX + 1,
	    NULL, &p, &f, err, sizeof(err)), -1);
	assert_string_equal(err, "larger than 65536 bytes");
	/* len, not the NUL, ends the text. */
	assert_int_equal(attest_policy_parse("{\"version\": 1}xyz", 14, NULL,
	    &p, &f, err, sizeof(err)), 0);
	assert_int_equal(attest_policy_parse("{\"version\": 1}\0", 15, NULL,
	    &p, &f, err, sizeof(err)), -1);
	assert_string_equal(err, "not JSON: a NUL byte");
	/* A path of 4095 bytes is the longest. */
	text = malloc(5000);
	assert_non_null(text);
	n = snprintf(text, 5000, "{\"version\": 1, \"collateral\": {\"chain\":"
	    " \"/");
	memset(text + n, 'a', 4094);
	snprintf(text + n + 4094, 5000 - n - 4094, "\"}}");
	assert_int_equal(attest_policy_parse(text, strlen(text), NULL, &p, &f,
	    err, sizeof(err)), 0);
	assert_int_equal(strlen(f.collateral_chain), 4095);
	attest_policy_file_clear(&f);
	assert_int_equal(attest_policy_parse(text, strlen(text), "/d", &p, &f,
	    err, sizeof(err)), 0);
	attest_policy_file_clear(&f);
	text[n - 1] = 'a';
	assert_int_equal(attest_policy_parse(text, strlen(text), "/d", &p, &f,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "collateral.chain: longer than 4095 bytes");
	/* Messages fit a small buffer, cut. */
	assert_int_equal(attest_policy_parse("{}", 2, NULL, &p, &f, err, 8),
	    -1);
	assert_string_equal(err, "version");
	free(text);
	free(big);
}

/* Relative collateral paths: against the file's directory. */
static void
test_load(void **state)
{
	struct attest_policy		p;
	struct attest_policy_file	f;
	char				dir[] = "/tmp/test-attest-policy.XXXXXX";
	char				path[256], err[512], *big;
	FILE				*out;
	const char			*body = "{\"version\": 1, \"collateral\":"
	    " {\"tcb_info\": \"tcb.json\", \"crls\": [\"../x.crl\"]}}";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.json", dir);
	assert_non_null(out = fopen(path, "w"));
	fputs(body, out);
	fclose(out);
	if (attest_policy_load(path, &p, &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	snprintf(path, sizeof(path), "%s/tcb.json", dir);
	assert_string_equal(f.tcb_info, path);
	snprintf(path, sizeof(path), "%s/../x.crl", dir);
	assert_string_equal(f.crls[0], path);
	attest_policy_file_clear(&f);

	/* No directory in the name: relative to where we are. */
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(attest_policy_load("p.json", &p, &f, err,
	    sizeof(err)), 0);
	assert_string_equal(f.tcb_info, "tcb.json");
	attest_policy_file_clear(&f);
	assert_int_equal(attest_policy_load("./p.json", &p, &f, err,
	    sizeof(err)), 0);
	assert_string_equal(f.tcb_info, "./tcb.json");
	attest_policy_file_clear(&f);

	/* Refused: missing, a directory, too big, bad inside. */
	assert_int_equal(attest_policy_load("missing.json", &p, &f, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "missing.json: No such file or directory");
	assert_int_equal(attest_policy_load(dir, &p, &f, err, sizeof(err)),
	    -1);
	snprintf(path, sizeof(path), "%s: not a file", dir);
	assert_string_equal(err, path);
	big = calloc(1, ATTEST_POLICY_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', ATTEST_POLICY_FILE_MAX + 1);
	assert_non_null(out = fopen("big.json", "w"));
	fputs(big, out);
	fclose(out);
	free(big);
	assert_int_equal(attest_policy_load("big.json", &p, &f, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "big.json: larger than 65536 bytes");
	assert_non_null(out = fopen("typo.json", "w"));
	fputs("{\"version\": 1, \"sev_snp\": {\"max_vmpl\": 0,\n"
	    " \"allow_migraton_agent\": true}}\n", out);
	fclose(out);
	assert_int_equal(attest_policy_load("typo.json", &p, &f, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "typo.json: sev_snp.allow_migraton_agent:"
	    " unknown key");
	assert_int_equal(unlink("typo.json"), 0);
	assert_int_equal(unlink("big.json"), 0);
	assert_int_equal(unlink("p.json"), 0);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The "tee" check: only when the policy names one and evidence parsed. */
static void
test_tee_check(void **state)
{
	struct attest_policy_file	f;
	struct attest_result		res;

	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&res, 0, sizeof(res));
	res.verified = 1;
	res.parsed = 1;
	res.tee = ATTEST_TEE_TDX;
	attest_policy_tee_check(&f, &res);
	attest_policy_tee_check(NULL, &res);
	assert_int_equal(res.nchecks, 0);
	f.tee_given = 1;
	f.tee = ATTEST_TEE_TDX;
	attest_policy_tee_check(&f, &res);
	assert_int_equal(res.nchecks, 1);
	assert_string_equal(attest_check_name(res.checks[0].id), "tee");
	assert_true(res.checks[0].ok);
	assert_string_equal(res.checks[0].detail, "tdx, as the policy says");
	assert_true(res.verified);
	f.tee = ATTEST_TEE_SEV_SNP;
	attest_policy_tee_check(&f, &res);
	assert_false(res.checks[1].ok);
	assert_string_equal(res.checks[1].detail, "tdx evidence; the policy is"
	    " for sev-snp");
	assert_false(res.verified);
	res.parsed = 0;
	attest_policy_tee_check(&f, &res);
	assert_int_equal(res.nchecks, 2);
}

/* examples/: each loads, and says what its comments promise. */
static void
test_examples(void **state)
{
	struct attest_policy		p;
	struct attest_policy_file	f;
	const char			*root = getenv("CUBE_ROOT");
	char				path[1024], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/attest-policy-snp.json",
	    root != NULL ? root : ".");
	if (attest_policy_load(path, &p, &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(f.tee_given);
	assert_int_equal(f.tee, ATTEST_TEE_SEV_SNP);
	assert_int_equal(p.measurement.n, 1);
	assert_int_equal(p.min_tcb_len, 8);
	assert_int_equal(p.snp.signer, 1);
	assert_int_equal(p.snp.products, 7);
	assert_false(p.allow_debug);
	attest_policy_file_clear(&f);

	snprintf(path, sizeof(path), "%s/examples/attest-policy-tdx.json",
	    root != NULL ? root : ".");
	if (attest_policy_load(path, &p, &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(f.tee, ATTEST_TEE_TDX);
	assert_int_equal(p.measurement.n, 1);
	assert_int_equal(p.tdx.td_attributes, ATTEST_TDX_ATTR_SEPT_VE_DISABLE);
	assert_int_equal(p.tdx.td_attributes_mask,
	    ATTEST_TDX_ATTR_SEPT_VE_DISABLE | ATTEST_TDX_ATTR_DEBUG);
	assert_false(p.tdx.allow_sept_ve);
	assert_int_equal(p.tdx.tcb_statuses, 1u << ATTEST_TCB_UP_TO_DATE |
	    1u << ATTEST_TCB_SW_HARDENING_NEEDED);
	attest_policy_file_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_every_key),
		cmocka_unit_test(test_tdx_every_key),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_tee_check),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
