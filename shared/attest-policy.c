/*
 * Attestation policy files (cube-attest-policy(5)): one JSON object, read
 * into struct attest_policy and what is not policy (the TEE, simulated
 * evidence, collateral paths). Strict on purpose: an unknown or repeated
 * key, a value of the wrong type or length, a version other than 1 are
 * refused with the key's path, so that a typo can never relax a policy.
 * Library code, run by cubectl and cube-tui: nothing is printed.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "attest-int.h"

#define POLICY_PATH_MAX		4096	/* bytes of a collateral path */
#define POLICY_KEY_MAX		128	/* bytes of a key path in messages */

/* What a key holds, and so how its value is read. */
enum policy_type {
	POLICY_VERSION,		/* 1 */
	POLICY_TEE,		/* "sev-snp", "tdx" */
	POLICY_BOOL,		/* true, false: an int */
	POLICY_UINT,		/* a whole number min..max */
	POLICY_VALUES,		/* 1-16 hex strings: struct attest_values */
	POLICY_MIN_TCB,		/* hex, 8 or 16 bytes */
	POLICY_ABI,		/* "major.minor" */
	POLICY_NAMES,		/* 1-16 names of a table: a bit each */
	POLICY_SIGNER,		/* "vcek", "vlek", "any" */
	POLICY_MASKED,		/* { "value": hex 8, "mask": hex 8 } */
	POLICY_PATH,		/* a collateral file */
	POLICY_PATHS,		/* 1-16 collateral files */
	POLICY_OBJECT,		/* keys of their own */
};

/* A name and the bit it stands for (platform bits, products, statuses). */
struct policy_name {
	const char	*name;
	unsigned	 bit;
};

struct policy_key {
	const char			*name;
	enum policy_type		 type;
	size_t				 off;	/* into struct policy_load */
	size_t				 min;	/* bytes of hex, or a number */
	uint64_t			 max;
	const struct policy_key		*keys;	/* POLICY_OBJECT */
	const struct policy_name	*names;	/* POLICY_NAMES */
};

/* Where a file is read into; copied out only when all of it is good. */
struct policy_load {
	struct attest_policy		 p;
	struct attest_policy_file	 f;
	size_t				 min_tcb_len;
	int				 has_version;
};

#define P(field)	offsetof(struct policy_load, p.field)
#define F(field)	offsetof(struct policy_load, f.field)

/* PLATFORM_INFO bits (AMD SEV-SNP ABI, as go-sev-guest reads them). */
static const struct policy_name policy_platform_names[] = {
	{ "smt",			0 },
	{ "tsme",			1 },
	{ "ecc",			2 },
	{ "rapl_dis",			3 },
	{ "ciphertext_hiding",		4 },
	{ "alias_check_complete",	5 },
	{ "tio",			7 },
	{ NULL, 0 }
};

static const struct policy_name policy_product_names[] = {
	{ "Milan",	ATTEST_SNP_MILAN },
	{ "Genoa",	ATTEST_SNP_GENOA },
	{ "Turin",	ATTEST_SNP_TURIN },
	{ NULL, 0 }
};

static const struct policy_name policy_status_names[] = {
	{ "UpToDate",		ATTEST_TCB_UP_TO_DATE },
	{ "SWHardeningNeeded",	ATTEST_TCB_SW_HARDENING_NEEDED },
	{ "ConfigurationNeeded", ATTEST_TCB_CONFIGURATION_NEEDED },
	{ "ConfigurationAndSWHardeningNeeded",
	    ATTEST_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED },
	{ "OutOfDate",		ATTEST_TCB_OUT_OF_DATE },
	{ "OutOfDateConfigurationNeeded",
	    ATTEST_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED },
	{ "Revoked",		ATTEST_TCB_REVOKED },
	{ NULL, 0 }
};

static const struct policy_key policy_snp_keys[] = {
	{ "max_vmpl",		POLICY_UINT,	P(snp.max_vmpl), 0, 3, NULL, NULL },
	{ "allow_migration_agent", POLICY_BOOL,
	    P(snp.allow_migration_agent), 0, 0, NULL, NULL },
	{ "allow_provisional_firmware", POLICY_BOOL,
	    P(snp.allow_provisional_firmware), 0, 0, NULL, NULL },
	{ "require_no_smt",	POLICY_BOOL,	P(snp.require_no_smt), 0, 0,
	    NULL, NULL },
	{ "require_single_socket", POLICY_BOOL,
	    P(snp.require_single_socket), 0, 0, NULL, NULL },
	{ "require_ciphertext_hiding", POLICY_BOOL,
	    P(snp.require_ciphertext_hiding), 0, 0, NULL, NULL },
	{ "min_abi",		POLICY_ABI,	P(snp), 0, 255, NULL, NULL },
	{ "min_guest_svn",	POLICY_UINT,	P(snp.min_guest_svn), 0,
	    UINT32_MAX, NULL, NULL },
	{ "platform_require",	POLICY_NAMES,	P(snp.platform_require), 0, 0,
	    NULL, policy_platform_names },
	{ "platform_forbid",	POLICY_NAMES,	P(snp.platform_forbid), 0, 0,
	    NULL, policy_platform_names },
	{ "products",		POLICY_NAMES,	P(snp.products), 0, 0, NULL,
	    policy_product_names },
	{ "signer",		POLICY_SIGNER,	P(snp.signer), 0, 0, NULL, NULL },
	{ "host_data",		POLICY_VALUES,	P(snp.host_data), 32, 32, NULL,
	    NULL },
	{ "id_key_digest",	POLICY_VALUES,	P(snp.id_key_digest), 48, 48,
	    NULL, NULL },
	{ "author_key_digest",	POLICY_VALUES,	P(snp.author_key_digest), 48,
	    48, NULL, NULL },
	{ "family_id",		POLICY_VALUES,	P(snp.family_id), 16, 16, NULL,
	    NULL },
	{ "image_id",		POLICY_VALUES,	P(snp.image_id), 16, 16, NULL,
	    NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct policy_key policy_tdx_keys[] = {
	{ "rtmr0",		POLICY_VALUES,	P(tdx.rtmr[0]), 48, 48, NULL,
	    NULL },
	{ "rtmr1",		POLICY_VALUES,	P(tdx.rtmr[1]), 48, 48, NULL,
	    NULL },
	{ "rtmr2",		POLICY_VALUES,	P(tdx.rtmr[2]), 48, 48, NULL,
	    NULL },
	{ "rtmr3",		POLICY_VALUES,	P(tdx.rtmr[3]), 48, 48, NULL,
	    NULL },
	{ "mrseam",		POLICY_VALUES,	P(tdx.mrseam), 48, 48, NULL,
	    NULL },
	{ "mrconfigid",		POLICY_VALUES,	P(tdx.mrconfigid), 48, 48,
	    NULL, NULL },
	{ "mrowner",		POLICY_VALUES,	P(tdx.mrowner), 48, 48, NULL,
	    NULL },
	{ "mrownerconfig",	POLICY_VALUES,	P(tdx.mrownerconfig), 48, 48,
	    NULL, NULL },
	{ "td_attributes",	POLICY_MASKED,	P(tdx.td_attributes), 0, 0,
	    NULL, NULL },
	{ "allow_sept_ve",	POLICY_BOOL,	P(tdx.allow_sept_ve), 0, 0,
	    NULL, NULL },
	{ "xfam",		POLICY_MASKED,	P(tdx.xfam), 0, 0, NULL, NULL },
	{ "tcb_statuses",	POLICY_NAMES,	P(tdx.tcb_statuses), 0, 0, NULL,
	    policy_status_names },
	{ "require_collateral",	POLICY_BOOL,	P(tdx.require_collateral), 0,
	    0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct policy_key policy_collateral_keys[] = {
	{ "tcb_info",		POLICY_PATH,	F(tcb_info), 0, 0, NULL, NULL },
	{ "qe_identity",	POLICY_PATH,	F(qe_identity), 0, 0, NULL,
	    NULL },
	{ "chain",		POLICY_PATH,	F(collateral_chain), 0, 0, NULL,
	    NULL },
	{ "crls",		POLICY_PATHS,	F(crls), 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

/* The top level; "version" is read first, whatever its place. */
static const struct policy_key policy_keys[] = {
	{ "version",		POLICY_VERSION,	0, 0, 0, NULL, NULL },
	{ "tee",		POLICY_TEE,	F(tee), 0, 0, NULL, NULL },
	{ "allow_debug",	POLICY_BOOL,	P(allow_debug), 0, 0, NULL,
	    NULL },
	{ "allow_simulated",	POLICY_BOOL,	F(allow_simulated), 0, 0, NULL,
	    NULL },
	{ "tls_ca",		POLICY_BOOL,	F(tls_ca), 0, 0, NULL, NULL },
	{ "measurement",	POLICY_VALUES,	P(measurement), 48, 48, NULL,
	    NULL },
	{ "report_data",	POLICY_VALUES,	P(report_data), 1, 64, NULL,
	    NULL },
	{ "min_tcb",		POLICY_MIN_TCB,	F(min_tcb), 8, 16, NULL, NULL },
	{ "sev_snp",		POLICY_OBJECT,	0, 0, 0, policy_snp_keys, NULL },
	{ "tdx",		POLICY_OBJECT,	0, 0, 0, policy_tdx_keys, NULL },
	{ "collateral",		POLICY_OBJECT,	0, 0, 0, policy_collateral_keys,
	    NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

/* The parse: where it writes, the file's directory, the first error. */
struct policy_parse {
	struct policy_load	*load;
	const char		*dir;
	char			*err;
	size_t			 errlen;
};

static int
policy_error(struct policy_parse *pp, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "path: message" into the error buffer; returns -1. */
static int
policy_error(struct policy_parse *pp, const char *path, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path != NULL && *path != '\0')
		snprintf(pp->err, pp->errlen, "%s: %s", path, msg);
	else
		snprintf(pp->err, pp->errlen, "%s", msg);
	return -1;
}

static void *
policy_at(struct policy_parse *pp, const struct policy_key *k)
{
	return (char *)pp->load + k->off;
}

/* Hex of min..max bytes (max at most 64) at s into out. 0, or -1. */
static int
policy_hex(const char *s, size_t min, size_t max, unsigned char *out,
    size_t *len)
{
	size_t	n = strlen(s);

	if (n % 2 != 0 || n / 2 < min || n / 2 > max ||
	    sodium_hex2bin(out, max, s, n, NULL, len, NULL) != 0 ||
	    *len != n / 2)
		return -1;
	return 0;
}

/* "48 bytes of hex (96 digits)" or "1 to 64 bytes of hex". */
static const char *
policy_hex_want(size_t min, size_t max, char *buf, size_t len)
{
	if (min == max)
		snprintf(buf, len, "%zu bytes of hex (%zu digits, no 0x)", min,
		    2 * min);
	else
		snprintf(buf, len, "%zu to %zu bytes of hex (no 0x)", min, max);
	return buf;
}

/* An array of 1 to max entries; -1 with the path's error otherwise. */
static int
policy_array(struct policy_parse *pp, const char *path, const cJSON *v,
    int max, const char *what)
{
	int	n;

	if (!cJSON_IsArray(v))
		return policy_error(pp, path, "not an array of %s", what);
	n = cJSON_GetArraySize(v);
	if (n < 1 || n > max)
		return policy_error(pp, path, "%d entries; 1 to %d of %s", n,
		    max, what);
	return n;
}

static int
policy_values(struct policy_parse *pp, const struct policy_key *k,
    const char *path, const cJSON *v)
{
	struct attest_values	*vs = policy_at(pp, k);
	const cJSON		*item;
	unsigned char		 b[ATTEST_REPORT_DATA_SIZE];
	char			 want[64], at[POLICY_KEY_MAX + 16];
	size_t			 len, i = 0;

	policy_hex_want(k->min, k->max, want, sizeof(want));
	if (policy_array(pp, path, v, ATTEST_VALUES_MAX, want) == -1)
		return -1;
	cJSON_ArrayForEach(item, v) {
		snprintf(at, sizeof(at), "%s[%zu]", path, i++);
		if (!cJSON_IsString(item) || policy_hex(item->valuestring,
		    k->min, k->max, b, &len) == -1)
			return policy_error(pp, at, "not %s", want);
		/* report_data: each zero-padded to the longest. */
		if (vs->n > 0 && len != vs->len)
			return policy_error(pp, at, "%zu bytes, the first has"
			    " %zu: give each value in full", len, vs->len);
		if (attest_values_add(vs, b, len) == -1)
			return policy_error(pp, at, "cannot be added");
	}
	return 0;
}

/* A whole number min..max. */
static int
policy_uint(struct policy_parse *pp, const struct policy_key *k,
    const char *path, const cJSON *v, uint64_t *out)
{
	double	d;

	if (!cJSON_IsNumber(v) || (d = v->valuedouble) < (double)k->min ||
	    d > (double)k->max || d != (double)(uint64_t)d)
		return policy_error(pp, path, "not a number %zu..%llu",
		    k->min, (unsigned long long)k->max);
	*out = (uint64_t)d;
	return 0;
}

/* One name of k's table as its bit; -1 with the names known. */
static int
policy_name(struct policy_parse *pp, const struct policy_name *names,
    const char *path, const cJSON *v, unsigned *bit)
{
	char	known[256];
	size_t	i, n = 0;

	for (i = 0; cJSON_IsString(v) && names[i].name != NULL; i++)
		if (strcmp(names[i].name, v->valuestring) == 0) {
			*bit = names[i].bit;
			return 0;
		}
	known[0] = '\0';
	for (i = 0; names[i].name != NULL && n < sizeof(known); i++)
		n += snprintf(known + n, sizeof(known) - n, "%s%s",
		    i ? ", " : "", names[i].name);
	if (!cJSON_IsString(v))
		return policy_error(pp, path, "not a string: one of %s", known);
	return policy_error(pp, path, "'%.64s' is not one of %s",
	    v->valuestring, known);
}

static int
policy_names(struct policy_parse *pp, const struct policy_key *k,
    const char *path, const cJSON *v)
{
	const cJSON	*item;
	char		 at[POLICY_KEY_MAX + 16];
	uint64_t	 bits = 0;
	unsigned	 bit = 0;
	size_t		 i = 0;

	if (policy_array(pp, path, v, ATTEST_VALUES_MAX, "names") == -1)
		return -1;
	cJSON_ArrayForEach(item, v) {
		snprintf(at, sizeof(at), "%s[%zu]", path, i++);
		if (policy_name(pp, k->names, at, item, &bit) == -1)
			return -1;
		if (bits & (UINT64_C(1) << bit))
			return policy_error(pp, at, "'%s' is given twice",
			    item->valuestring);
		bits |= UINT64_C(1) << bit;
	}
	if (k->names == policy_platform_names)
		*(uint64_t *)policy_at(pp, k) = bits;
	else
		*(unsigned *)policy_at(pp, k) = (unsigned)bits;
	return 0;
}

/* Digits at *s, 0..255, moving *s past them; -1 when there are none. */
static int
policy_abi_part(const char **s)
{
	int	n = 0, digits = 0;

	for (; **s >= '0' && **s <= '9' && digits < 4; (*s)++, digits++)
		n = n * 10 + (**s - '0');
	return digits == 0 || n > 255 ? -1 : n;
}

/* "major.minor", each 0..255, as SNP's ABI versions are written. */
static int
policy_abi(struct policy_parse *pp, const char *path, const cJSON *v)
{
	struct attest_snp_policy	*snp = &pp->load->p.snp;
	const char			*s;
	int				 major, minor = -1;

	if (cJSON_IsString(v)) {
		s = v->valuestring;
		if ((major = policy_abi_part(&s)) != -1 && *s++ == '.')
			minor = policy_abi_part(&s);
		if (minor != -1 && *s == '\0') {
			snp->min_abi_major = (unsigned)major;
			snp->min_abi_minor = (unsigned)minor;
			return 0;
		}
	}
	return policy_error(pp, path, "not a version \"major.minor\""
	    " (\"1.51\"), each 0..255");
}

/* Little-endian hex, as the quote's bytes are printed, into a number. */
static int
policy_le64(const cJSON *v, uint64_t *out)
{
	unsigned char	b[8];
	size_t		len, i;

	if (!cJSON_IsString(v) || policy_hex(v->valuestring, 8, 8, b,
	    &len) == -1)
		return -1;
	*out = 0;
	for (i = 0; i < 8; i++)
		*out |= (uint64_t)b[i] << (8 * i);
	return 0;
}

/*
 * { "value": hex, "mask": hex } into the two numbers that follow each
 * other in struct attest_tdx_policy (td_attributes and its mask, xfam and
 * its mask). Bits of the value outside the mask would not be checked:
 * refused.
 */
static int
policy_masked(struct policy_parse *pp, const struct policy_key *k,
    const char *path, const cJSON *v)
{
	uint64_t	*out = policy_at(pp, k), value, mask;
	const cJSON	*item;
	char		 at[POLICY_KEY_MAX + 16];

	if (!cJSON_IsObject(v))
		return policy_error(pp, path, "not an object with \"value\""
		    " and \"mask\"");
	cJSON_ArrayForEach(item, v) {
		if (item->string == NULL || (strcmp(item->string, "value") !=
		    0 && strcmp(item->string, "mask") != 0)) {
			snprintf(at, sizeof(at), "%s.%.64s", path,
			    item->string != NULL ? item->string : "");
			return policy_error(pp, at, "unknown key (value,"
			    " mask)");
		}
	}
	if (cJSON_GetArraySize(v) != 2)
		return policy_error(pp, path, "needs \"value\" and \"mask\","
		    " each once");
	snprintf(at, sizeof(at), "%s.value", path);
	if (policy_le64(cJSON_GetObjectItemCaseSensitive(v, "value"),
	    &value) == -1)
		return policy_error(pp, at, "not 8 bytes of hex (16 digits,"
		    " the quote's byte order)");
	snprintf(at, sizeof(at), "%s.mask", path);
	if (policy_le64(cJSON_GetObjectItemCaseSensitive(v, "mask"),
	    &mask) == -1)
		return policy_error(pp, at, "not 8 bytes of hex (16 digits,"
		    " the quote's byte order)");
	if (value & ~mask)
		return policy_error(pp, path, "the value has bits outside the"
		    " mask, which would not be checked");
	out[0] = value;
	out[1] = mask;
	return 0;
}

/* A collateral path, resolved against the policy file's directory. */
static int
policy_path(struct policy_parse *pp, const char *path, const cJSON *v,
    char **out)
{
	const char	*s;
	size_t		 len;

	if (!cJSON_IsString(v) || (s = v->valuestring)[0] == '\0')
		return policy_error(pp, path, "not a file name");
	len = strlen(s);
	if (s[0] != '/' && pp->dir != NULL)
		len += strlen(pp->dir) + 1;
	if (len >= POLICY_PATH_MAX)
		return policy_error(pp, path, "longer than %d bytes",
		    POLICY_PATH_MAX - 1);
	if ((*out = malloc(len + 1)) == NULL)
		return policy_error(pp, path, "out of memory");
	if (s[0] == '/' || pp->dir == NULL)
		memcpy(*out, s, strlen(s) + 1);
	else
		snprintf(*out, len + 1, "%s/%s", pp->dir, s);
	return 0;
}

static int
policy_paths(struct policy_parse *pp, const char *path, const cJSON *v)
{
	struct attest_policy_file	*f = &pp->load->f;
	const cJSON			*item;
	char				 at[POLICY_KEY_MAX + 16];

	if (policy_array(pp, path, v, ATTEST_POLICY_CRLS_MAX,
	    "file names") == -1)
		return -1;
	cJSON_ArrayForEach(item, v) {
		snprintf(at, sizeof(at), "%s[%zu]", path, f->ncrls);
		if (policy_path(pp, at, item, &f->crls[f->ncrls]) == -1)
			return -1;
		f->ncrls++;
	}
	return 0;
}

static int	policy_object(struct policy_parse *, const struct policy_key *,
		    const char *, const cJSON *);

/* One key's value, by its type. */
static int
policy_value(struct policy_parse *pp, const struct policy_key *k,
    const char *path, const cJSON *v)
{
	struct policy_load	*l = pp->load;
	uint64_t		 n = 0;
	unsigned char		*b;

	switch (k->type) {
	case POLICY_VERSION:
		if (!cJSON_IsNumber(v) || v->valuedouble !=
		    ATTEST_POLICY_VERSION)
			return policy_error(pp, path, "this verifier reads"
			    " version %d policies only",
			    ATTEST_POLICY_VERSION);
		l->has_version = 1;
		return 0;
	case POLICY_TEE:
		if (cJSON_IsString(v) && strcmp(v->valuestring, "sev-snp") == 0)
			l->f.tee = ATTEST_TEE_SEV_SNP;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "tdx") ==
		    0)
			l->f.tee = ATTEST_TEE_TDX;
		else
			return policy_error(pp, path, "not \"sev-snp\" or"
			    " \"tdx\"");
		l->f.tee_given = 1;
		return 0;
	case POLICY_BOOL:
		if (!cJSON_IsBool(v))
			return policy_error(pp, path, "not true or false");
		*(int *)policy_at(pp, k) = cJSON_IsTrue(v);
		return 0;
	case POLICY_UINT:
		if (policy_uint(pp, k, path, v, &n) == -1)
			return -1;
		if (k->max > UINT_MAX)
			return policy_error(pp, path, "%s: too wide", __func__);
		*(unsigned *)policy_at(pp, k) = (unsigned)n;
		return 0;
	case POLICY_VALUES:
		return policy_values(pp, k, path, v);
	case POLICY_MIN_TCB:
		b = policy_at(pp, k);
		if (!cJSON_IsString(v) || policy_hex(v->valuestring, k->min,
		    k->max, b, &l->min_tcb_len) == -1 ||
		    (l->min_tcb_len != 8 && l->min_tcb_len != 16))
			return policy_error(pp, path, "not 8 bytes of hex"
			    " (SEV-SNP reported TCB) or 16 (TDX TEE_TCB_SVN)");
		return 0;
	case POLICY_ABI:
		return policy_abi(pp, path, v);
	case POLICY_NAMES:
		return policy_names(pp, k, path, v);
	case POLICY_SIGNER:
		if (cJSON_IsString(v) && strcmp(v->valuestring, "any") == 0)
			l->p.snp.signer = 0;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "vcek") ==
		    0)
			l->p.snp.signer = 1;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "vlek") ==
		    0)
			l->p.snp.signer = 2;
		else
			return policy_error(pp, path, "not \"vcek\", \"vlek\""
			    " or \"any\"");
		return 0;
	case POLICY_MASKED:
		return policy_masked(pp, k, path, v);
	case POLICY_PATH:
		return policy_path(pp, path, v, policy_at(pp, k));
	case POLICY_PATHS:
		return policy_paths(pp, path, v);
	case POLICY_OBJECT:
		return policy_object(pp, k->keys, path, v);
	}
	return policy_error(pp, path, "%s: unknown type", __func__);
}

/*
 * The members of v against keys: each known, once. path is the object's
 * own ("" at the top), for messages.
 */
static int
policy_object(struct policy_parse *pp, const struct policy_key *keys,
    const char *path, const cJSON *v)
{
	const cJSON	*item, *other;
	char		 at[POLICY_KEY_MAX];
	size_t		 i;

	if (!cJSON_IsObject(v))
		return policy_error(pp, path, "not an object");
	cJSON_ArrayForEach(item, v) {
		snprintf(at, sizeof(at), "%s%s%.64s", path, *path ? "." : "",
		    item->string != NULL ? item->string : "");
		for (i = 0; keys[i].name != NULL; i++)
			if (item->string != NULL &&
			    strcmp(keys[i].name, item->string) == 0)
				break;
		if (keys[i].name == NULL)
			return policy_error(pp, at, "unknown key");
		for (other = v->child; other != item; other = other->next)
			if (strcmp(other->string, item->string) == 0)
				return policy_error(pp, at, "given twice");
		/* The version was read first. */
		if (keys[i].type != POLICY_VERSION &&
		    policy_value(pp, &keys[i], at, item) == -1)
			return -1;
	}
	return 0;
}

/* Checks between keys, once each is read. */
static int
policy_consistent(struct policy_parse *pp)
{
	struct policy_load	*l = pp->load;
	size_t			 i;

	if (l->p.snp.platform_require & l->p.snp.platform_forbid) {
		for (i = 0; policy_platform_names[i].name != NULL; i++)
			if ((l->p.snp.platform_require &
			    l->p.snp.platform_forbid) >>
			    policy_platform_names[i].bit & 1)
				break;
		return policy_error(pp, "sev_snp.platform_forbid", "'%s' is"
		    " required too", policy_platform_names[i].name);
	}
	if (l->min_tcb_len > 0 && l->f.tee_given &&
	    l->min_tcb_len != (l->f.tee == ATTEST_TEE_SEV_SNP ? 8u : 16u))
		return policy_error(pp, "min_tcb", "%zu bytes; %s has %d",
		    l->min_tcb_len, attest_tee_name(l->f.tee),
		    l->f.tee == ATTEST_TEE_SEV_SNP ? 8 : 16);
	return 0;
}

void
attest_policy_file_clear(struct attest_policy_file *f)
{
	size_t	i;

	if (f == NULL)
		return;
	free(f->tcb_info);
	free(f->qe_identity);
	free(f->collateral_chain);
	for (i = 0; i < f->ncrls && i < ATTEST_POLICY_CRLS_MAX; i++)
		free(f->crls[i]);
	memset(f, 0, sizeof(*f));
}

int
attest_policy_parse(const char *text, size_t len, const char *dir,
    struct attest_policy *policy, struct attest_policy_file *file, char *err,
    size_t errlen)
{
	struct policy_load	*l;
	struct policy_parse	 pp;
	const char		*end = NULL;
	cJSON			*doc;
	size_t			 i, line = 1;
	int			 rc = -1;

	if (len > ATTEST_POLICY_FILE_MAX) {
		snprintf(err, errlen, "larger than %d bytes",
		    ATTEST_POLICY_FILE_MAX);
		return -1;
	}
	/* A NUL, even escaped, would cut a key or a value short. */
	if (memchr(text, '\0', len) != NULL ||
	    memmem(text, len, "\\u0000", 6) != NULL) {
		snprintf(err, errlen, "not JSON: a NUL byte");
		return -1;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pp.load = l;
	pp.dir = dir != NULL && *dir != '\0' ? dir : NULL;
	pp.err = err;
	pp.errlen = errlen;
	doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (doc == NULL) {
		for (i = 0; end != NULL && text + i < end && i < len; i++)
			if (text[i] == '\n')
				line++;
		policy_error(&pp, NULL, "not JSON (line %zu)", line);
		goto out;
	}
	for (; end != NULL && end < text + len; end++)
		if (strchr(" \t\r\n", *end) == NULL) {
			policy_error(&pp, NULL, "not JSON: more after the"
			    " object");
			goto out;
		}
	if (!cJSON_IsObject(doc)) {
		policy_error(&pp, NULL, "not a JSON object");
		goto out;
	}
	if (policy_value(&pp, &policy_keys[0], "version",
	    cJSON_GetObjectItemCaseSensitive(doc, "version")) == -1 ||
	    policy_object(&pp, policy_keys, "", doc) == -1 ||
	    policy_consistent(&pp) == -1)
		goto out;
	*policy = l->p;
	policy->min_tcb = NULL;
	policy->min_tcb_len = 0;
	*file = l->f;
	if (l->min_tcb_len > 0) {
		policy->min_tcb = file->min_tcb;
		policy->min_tcb_len = l->min_tcb_len;
	}
	memset(&l->f, 0, sizeof(l->f));
	rc = 0;
out:
	cJSON_Delete(doc);
	if (rc != 0)
		attest_policy_file_clear(&l->f);
	free(l);
	return rc;
}

int
attest_policy_load(const char *path, struct attest_policy *policy,
    struct attest_policy_file *file, char *err, size_t errlen)
{
	struct stat	 st;
	FILE		*f;
	char		*text = NULL, *dir = NULL, *slash, why[512];
	size_t		 len;
	int		 rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a file", path);
		goto out;
	}
	if (st.st_size > ATTEST_POLICY_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    ATTEST_POLICY_FILE_MAX);
		goto out;
	}
	if ((text = malloc(ATTEST_POLICY_FILE_MAX + 1)) == NULL ||
	    (dir = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	len = fread(text, 1, ATTEST_POLICY_FILE_MAX + 1, f);
	if (ferror(f) || len > ATTEST_POLICY_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ?
		    strerror(errno) : "grew past the size limit");
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = NULL;
	} else
		slash[slash == dir ? 1 : 0] = '\0';
	if (attest_policy_parse(text, len, dir, policy, file, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	free(text);
	free(dir);
	return rc;
}

/* The evidence is of the TEE the policy names, when it names one. */
void
attest_policy_tee_check(const struct attest_policy_file *f,
    struct attest_result *res)
{
	if (f == NULL || !f->tee_given || !res->parsed)
		return;
	if (res->tee == f->tee)
		attest_result_add(res, ATTEST_CHECK_TEE, 1, "%s, as the policy"
		    " says", attest_tee_name(res->tee));
	else
		attest_result_add(res, ATTEST_CHECK_TEE, 0, "%s evidence; the"
		    " policy is for %s", attest_tee_name(res->tee),
		    attest_tee_name(f->tee));
}
