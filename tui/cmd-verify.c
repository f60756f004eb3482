/*
 * cubectl verify: attestation evidence checked offline with shared/attest,
 * no agent needed, against a policy: a file (--policy,
 * cube-attest-policy(5)) and the flags over it, with collateral given as
 * files. Every check is shown; exit 0 when all pass, 1 naming those that
 * failed, 2 for a usage error (a policy refused among them).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "attest.h"
#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

const struct output_field cmd_verify_columns[] = {
	{ "CHECK",	"name",		OUTPUT_PLAIN },
	{ "RESULT",	"ok",		OUTPUT_OKFAILED },
	{ "DETAIL",	"detail",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

const struct output_field cmd_verify_fields[] = {
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

/* Flags that only go with one kind of evidence. */
static const struct {
	const char	*flag;
	const char	*needs;
} verify_pairs[] = {
	{ "--vcek",		"--report" },
	{ "--chain",		"--report" },
	{ "--root",		"--quote" },
	{ "--tcb-info",		"--quote" },
	{ "--qe-identity",	"--quote" },
	{ "--collateral-chain",	"--quote" },
};

/* Collateral flags, each replacing the file the policy names. */
static const struct {
	const char		*flag;
	enum verify_collateral	 kind;
} verify_collateral_flags[] = {
	{ "--tcb-info",		VERIFY_TCB_INFO },
	{ "--qe-identity",	VERIFY_QE_IDENTITY },
	{ "--collateral-chain",	VERIFY_COLLATERAL_CHAIN },
};

/* The evidence files read, owned here; the input borrows them. */
struct verify_files {
	char	*report;
	char	*vcek;
	char	*chain;
	char	*root;
};

/* Read flag's file, if given, into *text and *len. 0, or -1 with err. */
static int
verify_read(const struct args *a, const char *flag, size_t max, char **text,
    const unsigned char **p, size_t *len, char *err, size_t errlen)
{
	const struct args_value	*v;
	char			 why[512];

	if ((v = args_get(a, flag)) == NULL)
		return 0;
	if (file_read(v->string, max, text, len, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", flag, why);
		return -1;
	}
	*p = (const unsigned char *)*text;
	return 0;
}

/* Hex of min..max bytes into out, if flag is given. 0, or -1 with err. */
int
cmd_verify_hex(const struct args *a, const char *flag, size_t min, size_t max,
    unsigned char *out, size_t *len, char *err, size_t errlen)
{
	const struct args_value	*v;
	const char		*s;
	size_t			 i, n;
	unsigned int		 byte;

	*len = 0;
	if ((v = args_get(a, flag)) == NULL)
		return 0;
	s = v->string;
	n = strlen(s);
	if (n % 2 != 0 || n / 2 < min || n / 2 > max) {
		if (min == max)
			snprintf(err, errlen, "%s: %zu bytes of hex (%zu"
			    " digits)", flag, min, 2 * min);
		else
			snprintf(err, errlen, "%s: %zu to %zu bytes of hex",
			    flag, min, max);
		return -1;
	}
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &byte) != 1) {
			snprintf(err, errlen, "%s: not hex", flag);
			return -1;
		}
		out[i] = (unsigned char)byte;
	}
	*len = n / 2;
	return 0;
}

/* Two digits at s into *v; -1 when they are not digits. */
static int
verify_digits(const char *s, int *v)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/*
 * An RFC 3339 time ("2024-06-01T12:00:00Z", "...+02:00", fractions
 * ignored) as seconds since the epoch. Returns 0, or -1.
 */
static int
verify_time(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*end;
	int		 sign, hh, mm;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
	    (*end != 'T' && *end != 't' && *end != ' ') ||
	    (end = strptime(end + 1, "%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == '.') {
		for (end++; isdigit((unsigned char)*end); end++)
			;
	}
	*t = timegm(&tm);
	if ((*end == 'Z' || *end == 'z') && end[1] == '\0')
		return *t == (time_t)-1 ? -1 : 0;
	if (*end != '+' && *end != '-')
		return -1;
	sign = *end == '+' ? 1 : -1;
	if (verify_digits(end + 1, &hh) == -1 || end[3] != ':' ||
	    verify_digits(end + 4, &mm) == -1 || end[6] != '\0' || hh > 23 ||
	    mm > 59)
		return -1;
	*t -= sign * (hh * 3600 + mm * 60);
	return 0;
}

/*
 * The policy: the file of --policy, then the flags over it. Flags that
 * set a value replace the file's (--expect-measurement, --report-data,
 * --min-tcb, each collateral file; --allow-debug and --allow-simulated
 * turn theirs on); --crl adds to its CRLs. tcb_len: the bytes --min-tcb
 * must have (8 or 16), 0 where there is no such flag. 0, or -1 with err.
 */
int
cmd_verify_policy(const struct args *a, size_t tcb_len,
    struct verify_policy *vp, char *err, size_t errlen)
{
	const struct args_value	*v;
	unsigned char		 b[ATTEST_REPORT_DATA_SIZE];
	char			 why[768];
	size_t			 i, len;

	if ((v = args_get(a, "--policy")) != NULL &&
	    verify_policy_load(vp, v->string, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "--policy: %s", why);
		return -1;
	}
	if (cmd_verify_hex(a, "--expect-measurement", ATTEST_MEASUREMENT_SIZE,
	    ATTEST_MEASUREMENT_SIZE, b, &len, err, errlen) == -1)
		return -1;
	if (len > 0) {
		memset(&vp->policy.measurement, 0,
		    sizeof(vp->policy.measurement));
		attest_values_add(&vp->policy.measurement, b, len);
	}
	if (cmd_verify_hex(a, "--report-data", 1, ATTEST_REPORT_DATA_SIZE, b,
	    &len, err, errlen) == -1)
		return -1;
	if (len > 0) {
		memset(&vp->policy.report_data, 0,
		    sizeof(vp->policy.report_data));
		attest_values_add(&vp->policy.report_data, b, len);
	}
	if (tcb_len > 0) {
		if (cmd_verify_hex(a, "--min-tcb", tcb_len, tcb_len,
		    vp->min_tcb, &len, err, errlen) == -1)
			return -1;
		if (len > 0) {
			vp->policy.min_tcb = vp->min_tcb;
			vp->policy.min_tcb_len = len;
		}
	}
	if (args_has(a, "--allow-debug"))
		vp->policy.allow_debug = 1;
	if (args_has(a, "--allow-simulated"))
		vp->file.allow_simulated = 1;
	for (i = 0; i < sizeof(verify_collateral_flags) /
	    sizeof(verify_collateral_flags[0]); i++) {
		if ((v = args_get(a, verify_collateral_flags[i].flag)) ==
		    NULL)
			continue;
		if (verify_policy_collateral(vp, verify_collateral_flags[i].kind,
		    v->string, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s",
			    verify_collateral_flags[i].flag, why);
			return -1;
		}
	}
	for (i = 0; i < a->nvalues; i++) {
		if (strcmp(a->values[i].flag->name, "--crl") != 0)
			continue;
		if (vp->ncrls == VERIFY_CRLS_MAX) {
			snprintf(err, errlen, "--crl: more than %d CRL files",
			    VERIFY_CRLS_MAX);
			return -1;
		}
		if (verify_policy_crl(vp, a->values[i].string, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "--crl: %s", why);
			return -1;
		}
	}
	return 0;
}

/* The input and policy from the command line; 0, or -1 with err. */
static int
verify_parse(const struct args *a, struct verify_files *files,
    struct attest_input *in, struct verify_policy *vp, char *err,
    size_t errlen)
{
	const struct args_value	*v;
	size_t			 i;

	if (!args_has(a, "--report") && !args_has(a, "--quote")) {
		snprintf(err, errlen, "--report FILE or --quote FILE is"
		    " needed");
		return -1;
	}
	for (i = 0; i < sizeof(verify_pairs) / sizeof(verify_pairs[0]); i++) {
		if (args_has(a, verify_pairs[i].flag) &&
		    !args_has(a, verify_pairs[i].needs)) {
			snprintf(err, errlen, "%s goes with %s",
			    verify_pairs[i].flag, verify_pairs[i].needs);
			return -1;
		}
	}
	in->tee = args_has(a, "--report") ? ATTEST_TEE_SEV_SNP : ATTEST_TEE_TDX;
	if (cmd_verify_policy(a, in->tee == ATTEST_TEE_SEV_SNP ? 8 : 16, vp,
	    err, errlen) == -1)
		return -1;
	if ((v = args_get(a, "--now")) != NULL &&
	    verify_time(v->string, &vp->policy.now) == -1) {
		snprintf(err, errlen, "--now: not an RFC 3339 time"
		    " (2024-06-01T12:00:00Z)");
		return -1;
	}
	if (verify_read(a, in->tee == ATTEST_TEE_SEV_SNP ? "--report" :
	    "--quote", ATTEST_EVIDENCE_MAX, &files->report, &in->evidence,
	    &in->evidence_len, err, errlen) == -1 ||
	    verify_read(a, "--vcek", ATTEST_CERTS_MAX, &files->vcek, &in->vcek,
	    &in->vcek_len, err, errlen) == -1 ||
	    verify_read(a, "--chain", ATTEST_CERTS_MAX, &files->chain,
	    &in->chain, &in->chain_len, err, errlen) == -1 ||
	    verify_read(a, "--root", ATTEST_CERTS_MAX, &files->root, &in->root,
	    &in->root_len, err, errlen) == -1)
		return -1;
	verify_policy_input(vp, in);
	return 0;
}

static void
verify_add_hex(cJSON *obj, const char *name, const unsigned char *p,
    size_t len, int parsed)
{
	char	hex[2 * ATTEST_REPORT_DATA_SIZE + 1];

	if (!parsed)
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, attest_hex(p, len, hex,
		    sizeof(hex)));
}

/* A string of the result, or null when it says nothing. */
static void
verify_add_string(cJSON *obj, const char *name, const char *s, size_t size)
{
	if (s[0] == '\0' || memchr(s, '\0', size) == NULL)
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, s);
}

/* The result as cubectl shows it; caller frees. */
cJSON *
cmd_verify_json(const struct attest_result *res)
{
	const struct attest_check	*c;
	cJSON				*obj, *checks, *item;
	char				 flags[128];
	size_t				 i;

	if ((obj = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(obj, "tee", attest_tee_name(res->tee));
	if (res->parsed)
		cJSON_AddNumberToObject(obj, "version", res->version);
	checks = cJSON_AddArrayToObject(obj, "checks");
	for (i = 0; i < res->nchecks; i++) {
		c = &res->checks[i];
		if ((item = cJSON_CreateObject()) == NULL)
			fatalx("%s: out of memory", __func__);
		cJSON_AddStringToObject(item, "name", attest_check_name(c->id));
		cJSON_AddBoolToObject(item, "ok", c->ok);
		cJSON_AddStringToObject(item, "detail", c->detail);
		cJSON_AddItemToArray(checks, item);
	}
	verify_add_hex(obj, "measurement", res->measurement,
	    sizeof(res->measurement), res->parsed);
	verify_add_hex(obj, "report_data", res->report_data,
	    sizeof(res->report_data), res->parsed);
	verify_add_hex(obj, "tcb", res->tcb, res->tcb_len, res->parsed);
	verify_add_string(obj, "product", res->product, sizeof(res->product));
	verify_add_string(obj, "signer", res->signer, sizeof(res->signer));
	verify_add_string(obj, "tcb_status", res->tcb_status,
	    sizeof(res->tcb_status));
	if (res->parsed) {
		snprintf(flags, sizeof(flags), "0x%llx",
		    (unsigned long long)res->guest_policy);
		cJSON_AddStringToObject(obj, "guest_policy", flags);
	} else
		cJSON_AddNullToObject(obj, "guest_policy");
	verify_add_string(obj, "guest_flags", attest_guest_flags(res, flags,
	    sizeof(flags)), sizeof(flags));
	cJSON_AddBoolToObject(obj, "verified", res->verified);
	return obj;
}

/*
 * Show obj (consumed): the checks as a table, then fields; -o json: obj.
 * Returns EXIT_OK when every check passed, else EXIT_FAILED naming those
 * that failed.
 */
/* The names of the checks of res that failed, ", "-separated. */
char *
cmd_verify_failed(const struct attest_result *res, char *buf, size_t len)
{
	size_t	i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < res->nchecks && n < len; i++)
		if (!res->checks[i].ok)
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
			    attest_check_name(res->checks[i].id));
	if (buf[0] == '\0')
		snprintf(buf, len, "no check passed");
	return buf;
}

int
cmd_verify_show(struct cubectl *c, const struct output_field *fields,
    cJSON *obj, const struct attest_result *res)
{
	char	failed[256];

	if (c->output == CUBECTL_JSON)
		output_json(obj);
	else {
		output_table(cmd_verify_columns,
		    cJSON_GetObjectItemCaseSensitive(obj, "checks"));
		printf("\n");
		output_object(fields, obj);
	}
	cJSON_Delete(obj);
	if (res->verified)
		return EXIT_OK;
	output_error("verification failed: %s",
	    cmd_verify_failed(res, failed, sizeof(failed)));
	return EXIT_FAILED;
}

int
cmd_verify(struct cubectl *c, const struct cmd_entry *ce, const struct args *a)
{
	struct verify_files	files = { NULL, NULL, NULL, NULL };
	struct verify_policy	vp;
	struct attest_input	in;
	struct attest_result	res;
	char			err[1024];
	int			rc = EXIT_USAGE;

	memset(&in, 0, sizeof(in));
	verify_policy_init(&vp);
	if (verify_parse(a, &files, &in, &vp, err, sizeof(err)) == -1) {
		rc = cmd_usage_error(ce, err);
		goto out;
	}
	attest_verify(&in, &vp.policy, &res);
	attest_policy_tee_check(&vp.file, &res);
	rc = cmd_verify_show(c, cmd_verify_fields, cmd_verify_json(&res),
	    &res);

out:
	verify_policy_free(&vp);
	free(files.report);
	free(files.vcek);
	free(files.chain);
	free(files.root);
	return rc;
}
