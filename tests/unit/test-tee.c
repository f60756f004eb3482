/*
 * tee*.c and attestation.c: the sim provider end to end (its evidence
 * verified by shared/attest against its own root, never AMD's, and an
 * older key file replaced), the live
 * binding (another nonce, another key or a tampered document fails),
 * configfs-tsm against a fake tree, --tee auto's choice, missing devices
 * and nonce parsing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "agent.h"
#include "attest.h"
#include "fixture.h"
#include "log.h"

struct fixture {
	char		 dir[FIXTURE_DIR_MAX];
	char		 data[96];
	char		 tsm[96];
	struct agent	 agent;
};

/* What the fake configfs-tsm tree hands out, and what it was given. */
static struct {
	const char	*provider;		/* "sev_guest\n" ... */
	unsigned char	 outblob[ATTEST_SNP_REPORT_SIZE];
	unsigned char	 auxblob[4096];
	size_t		 auxlen;
	unsigned char	 inblob[128];
	ssize_t		 inlen;
	int		 removed;
} fake;

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "tee");
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	snprintf(f->tsm, sizeof(f->tsm), "%s/tsm", f->dir);
	f->agent.vault = fixture_vault_open(f->data);
	memset(&fake, 0, sizeof(fake));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	tee_free(f->agent.tee);
	vault_free(f->agent.vault);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

/* Providers pointed at the fixture, devices at paths that never exist. */
static void
fake_config(struct fixture *f, struct tee_config *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->data_dir = f->data;
	tc->tsm_root = f->tsm;
	tc->sev_device = "/nonexistent/sev-guest";
	tc->tdx_device = "/nonexistent/tdx_guest";
}

static struct tee *
open_tee(struct fixture *f, const char *name, char *err, size_t errlen)
{
	struct tee_config	tc;

	fake_config(f, &tc);
	return tee_open(name, &tc, err, errlen);
}

static char *
read_text(const char *dir, const char *name)
{
	unsigned char	*p;
	size_t		 len;
	char		*path, err[256];

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	assert_int_equal(tee_read_file(path, 65536, &p, &len, err,
	    sizeof(err)), 0);
	free(path);
	return (char *)p;
}

/* sim: a report verifies against the sim root, and only against it. */
static void
test_sim_verifies_with_its_root(void **state)
{
	struct fixture		*f = *state;
	struct tee_evidence	 ev;
	struct attest_input	 in;
	struct attest_policy	 policy;
	struct attest_result	 res;
	unsigned char		 rd[ATTEST_REPORT_DATA_SIZE];
	char			 err[512], *root;

	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(f->agent.tee);
	assert_string_equal(tee_name(f->agent.tee), "sim");
	assert_true(tee_simulated(f->agent.tee));
	randombytes_buf(rd, sizeof(rd));
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.format, TEE_FORMAT_SEV_SNP);
	assert_int_equal(ev.report_len, ATTEST_SNP_REPORT_SIZE);
	assert_non_null(ev.certs);

	root = read_text(f->data, TEE_SIM_ROOT_FILE);
	memset(&in, 0, sizeof(in));
	memset(&policy, 0, sizeof(policy));
	in.tee = ATTEST_TEE_SEV_SNP;
	in.evidence = ev.report;
	in.evidence_len = ev.report_len;
	in.vcek = in.chain = (const unsigned char *)ev.certs;
	in.vcek_len = in.chain_len = strlen(ev.certs);
	in.root = (const unsigned char *)root;
	in.root_len = strlen(root);
	assert_int_equal(attest_values_add(&policy.report_data, rd,
	    sizeof(rd)), 0);
	assert_int_equal(attest_verify(&in, &policy, &res), 0);

	/* Against the pinned AMD roots the chain fails, nothing else. */
	in.root = NULL;
	in.root_len = 0;
	assert_int_equal(attest_verify(&in, &policy, &res), -1);
	assert_int_equal(attest_result_failed(&res)->id, ATTEST_CHECK_CHAIN);

	/* One flipped bit in the signed part breaks the signature. */
	in.root = (const unsigned char *)root;
	in.root_len = strlen(root);
	ev.report[0x90] ^= 1;
	assert_int_equal(attest_verify(&in, &policy, &res), -1);
	assert_int_equal(attest_result_failed(&res)->id,
	    ATTEST_CHECK_SIGNATURE);
	free(root);
	tee_evidence_clear(&ev);

	/* The keys are kept: a second open signs with the same chain. */
	tee_free(f->agent.tee);
	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(f->agent.tee);
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), 0);
	root = read_text(f->data, TEE_SIM_ROOT_FILE);
	in.evidence = ev.report;
	in.vcek = in.chain = (const unsigned char *)ev.certs;
	in.vcek_len = in.chain_len = strlen(ev.certs);
	in.root = (const unsigned char *)root;
	in.root_len = strlen(root);
	assert_int_equal(attest_verify(&in, &policy, &res), 0);
	free(root);
	tee_evidence_clear(&ev);
}

/*
 * sim: a key file from before the VCEK carried AMD's extensions is set
 * aside and made anew, and the new evidence passes every check.
 */
static void
test_sim_replaces_old_keys(void **state)
{
	struct fixture		*f = *state;
	struct tee_evidence	 ev;
	struct attest_input	 in;
	struct attest_result	 res;
	unsigned char		 rd[ATTEST_REPORT_DATA_SIZE];
	char			 err[512], *text, *path, *root;
	EVP_PKEY		*key;
	X509			*x;
	BIO			*bio;
	FILE			*fp;
	int			 i;

	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(f->agent.tee);
	tee_free(f->agent.tee);
	f->agent.tee = NULL;
	/* The old shape: the key, then three plain certificates. */
	text = read_text(f->data, "sim-vcek.pem");
	bio = BIO_new_mem_buf(text, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(key);
	BIO_free(bio);
	free(text);
	x = X509_new();
	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"SIM-VCEK", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha384()) > 0);
	assert_true(asprintf(&path, "%s/sim-vcek.pem", f->data) > 0);
	assert_non_null(fp = fopen(path, "w"));
	PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	for (i = 0; i < 3; i++)
		PEM_write_X509(fp, x);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(key);

	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(f->agent.tee);
	free(path);
	assert_true(asprintf(&path, "%s/sim-vcek.pem.old", f->data) > 0);
	assert_int_equal(access(path, F_OK), 0);
	free(path);
	randombytes_buf(rd, sizeof(rd));
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), 0);
	root = read_text(f->data, TEE_SIM_ROOT_FILE);
	memset(&in, 0, sizeof(in));
	in.tee = ATTEST_TEE_SEV_SNP;
	in.evidence = ev.report;
	in.evidence_len = ev.report_len;
	in.vcek = in.chain = (const unsigned char *)ev.certs;
	in.vcek_len = in.chain_len = strlen(ev.certs);
	in.root = (const unsigned char *)root;
	in.root_len = strlen(root);
	assert_int_equal(attest_verify(&in, NULL, &res), 0);
	for (i = 0; i < (int)res.nchecks; i++)
		if (res.checks[i].id == ATTEST_CHECK_CHIP_ID)
			break;
	assert_true(i < (int)res.nchecks && res.checks[i].ok);
	assert_string_equal(res.product, "Milan");
	assert_string_equal(res.signer, "VCEK");
	free(root);
	tee_evidence_clear(&ev);
}

/* The document for nonce, from attestation_json(). */
static cJSON *
evidence_doc(struct fixture *f, const unsigned char *nonce, size_t len)
{
	char	err[512];
	int	unavailable;
	cJSON	*doc;

	doc = attestation_json(&f->agent, nonce, len, &unavailable, err,
	    sizeof(err));
	assert_non_null(doc);
	assert_false(unavailable);
	return doc;
}

static int
check_ok(const struct attest_result *res, enum attest_check_id id)
{
	size_t	i;

	for (i = 0; i < res->nchecks; i++)
		if (res->checks[i].id == id)
			return res->checks[i].ok;
	return -1;	/* did not run */
}

/* The binding: our nonce, the agent's keys, else a named failure. */
static void
test_live_binding(void **state)
{
	struct fixture			*f = *state;
	struct attest_live_policy	 lp;
	struct attest_live_info		 info;
	struct attest_result		 res;
	unsigned char			 a[16], b[16], seal[32];
	char				 err[512], b64[64];
	cJSON				*doc;

	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(f->agent.tee);
	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	b[15] ^= 0x80;
	memcpy(seal, vault_seal_public_key(f->agent.vault), sizeof(seal));
	doc = evidence_doc(f, a, sizeof(a));

	memset(&lp, 0, sizeof(lp));
	lp.nonce = a;
	lp.nonce_len = sizeof(a);
	lp.seal_key = seal;
	lp.allow_simulated = 1;
	assert_int_equal(attest_live_verify(doc, &lp, &info, &res), 0);
	assert_string_equal(info.tee, "sim");
	assert_true(info.simulated);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_REPORT_DATA), 1);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_SIMULATED), 1);

	/* Not allowed: simulated fails, and so does the chain. */
	lp.allow_simulated = 0;
	assert_int_equal(attest_live_verify(doc, &lp, &info, &res), -1);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_SIMULATED), 0);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_CHAIN), 0);
	lp.allow_simulated = 1;

	/* Evidence for nonce a, checked for nonce b: the binding fails. */
	lp.nonce = b;
	assert_int_equal(attest_live_verify(doc, &lp, &info, &res), -1);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_REPORT_DATA), 0);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_NONCE), 0);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_SIGNATURE), 1);
	lp.nonce = a;

	/* Another seal key than the agent's. */
	seal[0] ^= 1;
	assert_int_equal(attest_live_verify(doc, &lp, &info, &res), -1);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_SEAL_KEY), 0);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_REPORT_DATA), 1);
	seal[0] ^= 1;

	/* A document whose X25519 key was swapped: report_data says no. */
	memset(seal, 7, sizeof(seal));
	sodium_bin2base64(b64, sizeof(b64), seal, sizeof(seal),
	    sodium_base64_VARIANT_ORIGINAL);
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "x25519",
	    cJSON_CreateString(b64));
	assert_int_equal(attest_live_verify(doc, &lp, &info, &res), -1);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_REPORT_DATA), 0);

	/* "simulated": false does not hide a sim provider. */
	cJSON_Delete(doc);
	doc = evidence_doc(f, a, sizeof(a));
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "simulated",
	    cJSON_CreateFalse());
	lp.allow_simulated = 0;
	assert_int_equal(attest_live_verify(doc, &lp, &info, &res), -1);
	assert_true(info.simulated);
	assert_int_equal(check_ok(&res, ATTEST_CHECK_SIMULATED), 0);

	/* Not a document at all: parse fails, nothing else runs. */
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "report");
	assert_int_equal(attest_live_verify(doc, &lp, &info, &res), -1);
	assert_int_equal(res.nchecks, 1);
	assert_int_equal(res.checks[0].id, ATTEST_CHECK_PARSE);
	cJSON_Delete(doc);
}

/* An agent without a TEE says so, and gives nothing. */
static void
test_none_unavailable(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char		 err[512];
	int		 unavailable;

	f->agent.tee = open_tee(f, "none", err, sizeof(err));
	assert_non_null(f->agent.tee);
	assert_null(attestation_json(&f->agent, nonce, sizeof(nonce),
	    &unavailable, err, sizeof(err)));
	assert_true(unavailable);
	assert_non_null(strstr(err, "--tee none"));
}

/*
 * The sim's sealing key: made from its own secret, the same on every
 * open, another when the secret changes; none from none.
 */
static void
test_sim_derive_key(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_key	*k1, *k2;
	char			 err[512], path[256];
	unsigned char		 secret[32];
	struct stat		 st;
	int			 none, fd;

	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(f->agent.tee);
	assert_non_null(k1 = tee_derive_key(f->agent.tee, &none, err,
	    sizeof(err)));
	assert_int_equal(k1->provider, KEYFILE_SIM);
	assert_int_equal(k1->field_select, TEE_SNP_SEAL_FIELDS);
	snprintf(path, sizeof(path), "%s/%s", f->data, TEE_SIM_SECRET_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	tee_free(f->agent.tee);
	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(k2 = tee_derive_key(f->agent.tee, &none, err,
	    sizeof(err)));
	assert_memory_equal(k1->key, k2->key, KEYFILE_KEY_BYTES);
	keyfile_key_free(k2);
	/* Not the secret itself. */
	assert_true((fd = open(path, O_RDWR)) != -1);
	assert_int_equal(read(fd, secret, sizeof(secret)), 32);
	assert_memory_not_equal(secret, k1->key, 32);
	secret[0] ^= 1;
	assert_int_equal(pwrite(fd, secret, sizeof(secret), 0), 32);
	close(fd);
	assert_non_null(k2 = tee_derive_key(f->agent.tee, &none, err,
	    sizeof(err)));
	assert_memory_not_equal(k1->key, k2->key, KEYFILE_KEY_BYTES);
	keyfile_key_free(k2);
	/* A secret others can read is refused, not used. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(tee_derive_key(f->agent.tee, &none, err, sizeof(err)));
	assert_false(none);
	assert_non_null(strstr(err, "chmod 600"));
	keyfile_key_free(k1);

	tee_free(f->agent.tee);
	f->agent.tee = open_tee(f, "none", err, sizeof(err));
	assert_null(tee_derive_key(f->agent.tee, &none, err, sizeof(err)));
	assert_true(none);
	assert_string_equal(err, "none offers no sealing key");
	/* tdx-guest: none either, and it says why. */
	assert_int_equal(tee_tdx_ops.derive_key(f->agent.tee, NULL, err,
	    sizeof(err)), 1);
	assert_non_null(strstr(err, "TDX offers guests no sealing key"));
}

/* --- configfs-tsm against a fake tree ------------------------------------ */

static void
fake_put(const char *dir, const char *name, const void *p, size_t len)
{
	char	*path;
	int	 fd;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
	free(path);
}

/* What the kernel does on mkdir: the entry's attributes appear. */
static int
fake_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1)
		return -1;
	fake_put(path, "outblob", fake.outblob, sizeof(fake.outblob));
	fake_put(path, "provider", fake.provider, strlen(fake.provider));
	fake_put(path, "generation", "1\n", 2);
	if (fake.auxlen > 0)
		fake_put(path, "auxblob", fake.auxblob, fake.auxlen);
	return 0;
}

/* What it does on rmdir, after we note what inblob holds. */
static int
fake_rmdir(const char *path)
{
	char	*in;
	int	 fd;

	assert_true(asprintf(&in, "%s/inblob", path) > 0);
	if ((fd = open(in, O_RDONLY)) != -1) {
		fake.inlen = read(fd, fake.inblob, sizeof(fake.inblob));
		close(fd);
	}
	free(in);
	fake.removed++;
	fixture_dir_remove(path);
	return 0;
}

/* A GHCB certificate table with one DER certificate as the VCEK. */
static void
fake_cert_table(const char *pem)
{
	static const unsigned char	vcek[16] = { 0x63, 0xda, 0x75, 0x8d,
					    0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5,
					    0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
	unsigned char			*der = NULL;
	BIO				*bio;
	X509				*x;
	int				 len;

	assert_non_null(bio = BIO_new_mem_buf(pem, -1));
	assert_non_null(x = PEM_read_bio_X509(bio, NULL, NULL, NULL));
	len = i2d_X509(x, &der);
	assert_true(len > 0 && 48 + (size_t)len <= sizeof(fake.auxblob));
	memset(fake.auxblob, 0, sizeof(fake.auxblob));
	memcpy(fake.auxblob, vcek, 16);
	fake.auxblob[16] = 48;			/* offset, after the end entry */
	fake.auxblob[20] = len & 0xff;
	fake.auxblob[21] = (len >> 8) & 0xff;
	memcpy(fake.auxblob + 48, der, len);
	fake.auxlen = 48 + len;
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
}

static struct tee *
open_tsm(struct fixture *f, char *err, size_t errlen)
{
	struct tee_config	tc;

	fake_config(f, &tc);
	tc.mkdir = fake_mkdir;
	tc.rmdir = fake_rmdir;
	return tee_open("configfs-tsm", &tc, err, errlen);
}

static void
test_tsm_protocol(void **state)
{
	struct fixture		*f = *state;
	struct tee_evidence	 ev;
	unsigned char		 rd[ATTEST_REPORT_DATA_SIZE];
	char			 err[512], *root;

	/* No tree: a clear error. */
	assert_null(open_tsm(f, err, sizeof(err)));
	assert_non_null(strstr(err, f->tsm));
	assert_non_null(strstr(err, "No such file"));

	assert_int_equal(mkdir(f->tsm, 0700), 0);
	fake.provider = "sev_guest\n";
	randombytes_buf(fake.outblob, sizeof(fake.outblob));
	/* The sim's root stands in for a host's VCEK certificate. */
	f->agent.tee = open_tee(f, "sim", err, sizeof(err));
	assert_non_null(f->agent.tee);
	root = read_text(f->data, TEE_SIM_ROOT_FILE);
	fake_cert_table(root);
	tee_free(f->agent.tee);

	f->agent.tee = open_tsm(f, err, sizeof(err));
	assert_non_null(f->agent.tee);
	assert_string_equal(tee_name(f->agent.tee), "configfs-tsm");
	assert_false(tee_simulated(f->agent.tee));
	fake.removed = 0;
	randombytes_buf(rd, sizeof(rd));
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), 0);
	/* inblob got report_data, outblob came back, the entry went. */
	assert_int_equal(fake.inlen, sizeof(rd));
	assert_memory_equal(fake.inblob, rd, sizeof(rd));
	assert_int_equal(ev.format, TEE_FORMAT_SEV_SNP);
	assert_int_equal(ev.report_len, sizeof(fake.outblob));
	assert_memory_equal(ev.report, fake.outblob, sizeof(fake.outblob));
	assert_non_null(ev.certs);
	assert_string_equal(ev.certs, root);
	assert_null(ev.certs_note);
	assert_int_equal(fake.removed, 1);
	tee_evidence_clear(&ev);
	free(root);

	/* TDX: outblob is a quote; no auxblob is fine. */
	fake.provider = "tdx_guest\n";
	fake.auxlen = 0;
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), 0);
	assert_int_equal(ev.format, TEE_FORMAT_TDX);
	assert_null(ev.certs);
	assert_null(ev.certs_note);
	tee_evidence_clear(&ev);

	/* SEV-SNP without an auxblob: the evidence says there is none. */
	fake.provider = "sev_guest\n";
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), 0);
	assert_null(ev.certs);
	assert_string_equal(ev.certs_note, "the host has no certificates");
	tee_evidence_clear(&ev);

	/* An unknown provider, and a damaged certificate table. */
	fake.provider = "cca_guest\n";
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "cca_guest"));
	fake.provider = "sev_guest\n";
	fake.auxlen = 40;
	fake.auxblob[20] = 0xff;
	assert_int_equal(tee_evidence(f->agent.tee, rd, &ev, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK"));
	assert_int_equal(fake.removed, 5);	/* removed every time */
}

/* auto: hardware that works, else none; never sim. */
static void
test_auto(void **state)
{
	struct fixture	*f = *state;
	struct tee	*tee;
	char		 err[1024];

	tee = open_tee(f, "auto", err, sizeof(err));
	assert_non_null(tee);
	assert_string_equal(tee_name(tee), "none");
	/* Each hardware provider said why it was passed over. */
	assert_non_null(strstr(err, f->tsm));
	assert_non_null(strstr(err, "/nonexistent/sev-guest"));
	assert_non_null(strstr(err, "/nonexistent/tdx_guest"));
	tee_free(tee);

	/* A sim key file in the data directory changes nothing. */
	tee = open_tee(f, "sim", err, sizeof(err));
	tee_free(tee);
	tee = open_tee(f, "auto", err, sizeof(err));
	assert_string_equal(tee_name(tee), "none");
	tee_free(tee);
}

static void
test_missing_devices(void **state)
{
	struct fixture	*f = *state;
	char		 err[512];

	assert_null(open_tee(f, "sev-guest", err, sizeof(err)));
	assert_non_null(strstr(err, "--tee sev-guest: /nonexistent/sev-guest:"
	    " No such file or directory"));
	assert_null(open_tee(f, "tdx-guest", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/tdx_guest"));
	assert_null(open_tee(f, "sgx", err, sizeof(err)));
	assert_non_null(strstr(err, "unknown"));
}

static void
test_nonce_parse(void **state)
{
	static const struct {
		const char	*hex;
		int		 ok;
		size_t		 len;
	} cases[] = {
		{ "0011223344556677", 1, 8 },
		{ "00112233445566778899AABBCCDDEEFF", 1, 16 },
		{ "001122334455667", 0, 0 },		/* odd */
		{ "00112233445566", 0, 0 },		/* 7 bytes */
		{ "001122334455667g", 0, 0 },		/* not hex */
		{ "", 0, 0 },
	};
	unsigned char	out[ATTEST_NONCE_MAX];
	char		err[256], big[2 * ATTEST_NONCE_MAX + 3];
	size_t		i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(attestation_nonce_parse(cases[i].hex,
		    strlen(cases[i].hex), out, &len, err, sizeof(err)),
		    cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_int_equal(len, cases[i].len);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(attestation_nonce_parse(big, 2 * ATTEST_NONCE_MAX,
	    out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, ATTEST_NONCE_MAX);
	assert_int_equal(attestation_nonce_parse(big, 2 * ATTEST_NONCE_MAX + 2,
	    out, &len, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sim_verifies_with_its_root,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_replaces_old_keys,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_binding, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sim_derive_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_none_unavailable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tsm_protocol, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_devices, setup,
		    teardown),
		cmocka_unit_test(test_nonce_parse),
	};

	log_init("test-tee", 0);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
