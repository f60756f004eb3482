/*
 * The sim provider: a software TEE for development and tests. It makes
 * SEV-SNP-format reports signed by a simulated VCEK whose chain ends at a
 * simulated ARK, all generated per data directory on first use. The VCEK
 * carries AMD's extensions as KDS writes them (Milan, the reported TCB,
 * the chip id as hwid), so its evidence passes every check that ties a
 * VCEK to its report; only the root is not AMD's. Nothing
 * about it is secret or hardware-backed: the ARK is not AMD's, so its
 * evidence never verifies against the pinned roots, and it is always
 * labelled simulated. The measurement is the SHA-384 of the running
 * agent binary, so --expect-measurement can be exercised.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define SIM_KEY_FILE		"sim-vcek.pem"	/* VCEK key, VCEK, ASK, ARK */
#define SIM_FILE_MAX		65536
#define SIM_VALID_DAYS		(25 * 365)
#define SIM_ORG			"Cube simulated TEE (not AMD, not hardware)"

/* Offsets in an SEV-SNP report, version 2 (as shared/attest-snp.c). */
#define SIM_VERSION		2
#define SIM_POLICY		0x30000		/* reserved bit 17, SMT */
#define SIM_SIG_ECDSA_P384	1
#define SIM_OFF_VERSION		0x00
#define SIM_OFF_POLICY		0x08
#define SIM_OFF_SIG_ALGO	0x34
#define SIM_OFF_CURRENT_TCB	0x38
#define SIM_OFF_REPORT_DATA	0x50
#define SIM_OFF_MEASUREMENT	0x90
#define SIM_OFF_REPORTED_TCB	0x180
#define SIM_OFF_CHIP_ID		0x1A0
#define SIM_OFF_COMMITTED_TCB	0x1E0
#define SIM_OFF_LAUNCH_TCB	0x1F0
#define SIM_OFF_SIGNATURE	0x2A0
#define SIM_SIG_COMPONENT	72

/* Reported TCB: boot loader 3, TEE 0, SNP 8, microcode 115 (Milan). */
static const unsigned char sim_tcb[8] = { 3, 0, 0, 0, 0, 0, 8, 115 };

/*
 * AMD's VCEK extensions (1.3.6.1.4.1.3704.1.x, AMD 57230) for sim_tcb:
 * the OID below the arc and where its level sits in sim_tcb (-1: none).
 */
#define SIM_KDS_ARC		"1.3.6.1.4.1.3704.1."
#define SIM_PRODUCT_NAME	"Milan-B0"
static const struct {
	const char	*oid;
	int		 tcb_byte;
} sim_spls[] = {
	{ "3.1", 0 }, { "3.2", 1 }, { "3.3", 6 }, { "3.4", 2 }, { "3.5", 3 },
	{ "3.6", 4 }, { "3.7", 5 }, { "3.8", 7 },
};

struct sim {
	EVP_PKEY	*vcek;		/* the simulated VCEK's private key */
	char		*certs;		/* PEM: VCEK, ASK, ARK */
	unsigned char	 measurement[ATTEST_MEASUREMENT_SIZE];
	unsigned char	 chip_id[64];
};

static void
sim_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static int
sim_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* An extension under AMD's arc holding the DER value der. */
static int
sim_amd_ext(X509 *x, const char *oid, const unsigned char *der, int len)
{
	ASN1_OBJECT		*obj;
	ASN1_OCTET_STRING	*v;
	X509_EXTENSION		*ext = NULL;
	char			 full[64];
	int			 ok = 0;

	snprintf(full, sizeof(full), "%s%s", SIM_KDS_ARC, oid);
	obj = OBJ_txt2obj(full, 1);
	v = ASN1_OCTET_STRING_new();
	if (obj != NULL && v != NULL && ASN1_OCTET_STRING_set(v, der, len) &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, v)) != NULL)
		ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : -1;
}

/*
 * What KDS writes into a VCEK: struct version 1, the product name, each
 * security patch level of sim_tcb (a DER INTEGER), the chip id as hwid
 * (64 bytes, untagged, as KDS does).
 */
static int
sim_amd_exts(X509 *x, const unsigned char *chip_id)
{
	unsigned char	der[2 + sizeof(SIM_PRODUCT_NAME)];
	size_t		i;
	int		len;

	der[0] = V_ASN1_INTEGER;
	der[1] = 1;
	der[2] = 1;
	if (sim_amd_ext(x, "1", der, 3) != 0)
		return -1;
	der[0] = V_ASN1_IA5STRING;
	der[1] = sizeof(SIM_PRODUCT_NAME) - 1;
	memcpy(der + 2, SIM_PRODUCT_NAME, sizeof(SIM_PRODUCT_NAME) - 1);
	if (sim_amd_ext(x, "2", der, 2 + der[1]) != 0)
		return -1;
	for (i = 0; i < sizeof(sim_spls) / sizeof(sim_spls[0]); i++) {
		der[0] = V_ASN1_INTEGER;
		len = 0;
		if (sim_tcb[sim_spls[i].tcb_byte] >= 0x80)
			der[2 + len++] = 0;	/* stays positive */
		der[2 + len++] = sim_tcb[sim_spls[i].tcb_byte];
		der[1] = (unsigned char)len;
		if (sim_amd_ext(x, sim_spls[i].oid, der, 2 + len) != 0)
			return -1;
	}
	return sim_amd_ext(x, "4", chip_id, 64);
}

/*
 * A certificate for key named cn, signed by issuer (NULL: itself). A
 * VCEK (chip_id given) carries AMD's extensions and no others, as KDS
 * issues it; the ARK and ASK are CAs.
 */
static X509 *
sim_cert(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
    EVP_PKEY *issuer_key, const unsigned char *chip_id)
{
	X509_NAME	*name;
	X509		*x;

	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)SIM_ORG, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), SIM_VALID_DAYS, 0,
	    NULL) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    (chip_id == NULL && (sim_ext(x, issuer != NULL ? issuer : x,
	    NID_basic_constraints, "critical,CA:TRUE") != 0 ||
	    sim_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
	    "critical,keyCertSign,cRLSign") != 0)) ||
	    (chip_id != NULL && sim_amd_exts(x, chip_id) != 0) ||
	    X509_sign(x, issuer_key != NULL ? issuer_key : key,
	    EVP_sha384()) == 0) {
		X509_NAME_free(name);
		X509_free(x);
		return NULL;
	}
	X509_NAME_free(name);
	return x;
}

/* Append PEM of x (or of the private key, when key) to bio. */
static int
sim_pem(BIO *bio, X509 *x, EVP_PKEY *key)
{
	if (key != NULL)
		return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
		    NULL) == 1 ? 0 : -1;
	return PEM_write_bio_X509(bio, x) == 1 ? 0 : -1;
}

/* A memory BIO's contents as a NUL-terminated string; frees the BIO. */
static char *
sim_bio_string(BIO *bio, size_t *len)
{
	BUF_MEM	*mem;
	char	*s;

	BIO_get_mem_ptr(bio, &mem);
	s = xmalloc(mem->length + 1);
	memcpy(s, mem->data, mem->length);
	s[mem->length] = '\0';
	if (len != NULL)
		*len = mem->length;
	BIO_free(bio);
	return s;
}

/*
 * New VCEK, ASK and ARK: SIM_KEY_FILE holds the VCEK's key and the chain,
 * TEE_SIM_ROOT_FILE the ARK alone, for operators to pin.
 */
static int
sim_generate(const char *dir, char *err, size_t errlen)
{
	EVP_PKEY	*k[3] = { NULL, NULL, NULL };	/* ARK, ASK, VCEK */
	X509		*c[3] = { NULL, NULL, NULL };
	BIO		*all, *root;
	unsigned char	 chip_id[64];
	char		*s, *path;
	size_t		 len, i;
	int		 rc = -1;

	/* A chip id of its own, which the VCEK names as its hwid. */
	if (RAND_bytes(chip_id, sizeof(chip_id)) != 1) {
		snprintf(err, errlen, "cannot make a chip id");
		return -1;
	}
	for (i = 0; i < 3; i++)
		if ((k[i] = EVP_EC_gen("P-384")) == NULL) {
			snprintf(err, errlen, "cannot make a P-384 key");
			goto out;
		}
	/* The names a verifier expects of a Milan VCEK and its ASK. */
	if ((c[0] = sim_cert(k[0], "SIM-ARK", 1, NULL, NULL, NULL)) == NULL ||
	    (c[1] = sim_cert(k[1], "SEV-Milan", 2, c[0], k[0], NULL)) ==
	    NULL ||
	    (c[2] = sim_cert(k[2], "SEV-VCEK", 3, c[1], k[1], chip_id)) ==
	    NULL) {
		snprintf(err, errlen, "cannot make the simulated certificates");
		goto out;
	}
	if ((all = BIO_new(BIO_s_mem())) == NULL ||
	    (root = BIO_new(BIO_s_mem())) == NULL)
		fatalx("%s: out of memory", __func__);
	if (sim_pem(all, NULL, k[2]) != 0 || sim_pem(all, c[2], NULL) != 0 ||
	    sim_pem(all, c[1], NULL) != 0 || sim_pem(all, c[0], NULL) != 0 ||
	    sim_pem(root, c[0], NULL) != 0)
		fatalx("%s: PEM_write_bio failed", __func__);
	s = sim_bio_string(all, &len);
	rc = dir_write_file(dir, SIM_KEY_FILE, (unsigned char *)s, len, err,
	    errlen);
	free(s);
	s = sim_bio_string(root, &len);
	if (rc == 0) {
		/* Derived from the key file: a stale one is replaced. */
		xasprintf(&path, "%s/%s", dir, TEE_SIM_ROOT_FILE);
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("%s", path);
		free(path);
		rc = dir_write_file(dir, TEE_SIM_ROOT_FILE,
		    (unsigned char *)s, len, err, errlen);
	}
	free(s);
	if (rc == 0)
		log_info("sim: new simulated VCEK, ASK and ARK in %s (the ARK"
		    " is %s/%s)", dir, dir, TEE_SIM_ROOT_FILE);
out:
	for (i = 0; i < 3; i++) {
		EVP_PKEY_free(k[i]);
		X509_free(c[i]);
	}
	ERR_clear_error();
	return rc;
}

/*
 * The key and chain from SIM_KEY_FILE into s, and the chip id from the
 * VCEK's hwid. 1 when the file is from before the VCEK had AMD's
 * extensions (make new ones), 0, or -1 with err.
 */
static int
sim_load(struct sim *s, const char *dir, char *err, size_t errlen)
{
	struct attest_snp_cert	 ext;
	unsigned char		*buf;
	size_t			 len;
	BIO			*in, *out;
	X509			*x, *leaf = NULL;
	int			 n = 0, rc = -1;
	char			 why[128];

	buf = xmalloc(SIM_FILE_MAX + 1);
	if (dir_read_file(dir, SIM_KEY_FILE, buf, 1, SIM_FILE_MAX, &len, err,
	    errlen) != 0) {
		free(buf);
		return -1;
	}
	if ((in = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (out = BIO_new(BIO_s_mem())) == NULL)
		fatalx("%s: out of memory", __func__);
	s->vcek = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (sim_pem(out, x, NULL) != 0)
			fatalx("%s: PEM_write_bio failed", __func__);
		if (n++ == 0)
			leaf = x;
		else
			X509_free(x);
	}
	BIO_free(in);
	s->certs = sim_bio_string(out, NULL);
	if (s->vcek == NULL || n != 3 || leaf == NULL ||
	    X509_check_private_key(leaf, s->vcek) != 1)
		snprintf(err, errlen, "%s/%s: not a simulated VCEK key and"
		    " its three certificates; move it away to make new ones",
		    dir, SIM_KEY_FILE);
	else if (attest_snp_cert_parse((const unsigned char *)s->certs,
	    strlen(s->certs), &ext, why, sizeof(why)) != 0 ||
	    ext.hwid_len != sizeof(s->chip_id)) {
		log_info("sim: %s/%s has no VCEK with AMD's extensions (%s):"
		    " making new ones", dir, SIM_KEY_FILE, why);
		rc = 1;
	} else {
		memcpy(s->chip_id, ext.hwid, sizeof(s->chip_id));
		rc = 0;
	}
	X509_free(leaf);
	explicit_bzero(buf, SIM_FILE_MAX + 1);
	free(buf);
	ERR_clear_error();
	return rc;
}

/* SHA-384 of the running binary: what the simulated TEE "measured". */
static int
sim_measure(unsigned char *out, char *err, size_t errlen)
{
	unsigned char	 buf[65536];
	EVP_MD_CTX	*ctx;
	unsigned int	 len;
	ssize_t		 n;
	int		 fd, ok;

	if ((fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) != 1)
		fatalx("%s: out of memory", __func__);
	ok = 1;
	while (ok && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		ok = n > 0 && EVP_DigestUpdate(ctx, buf, (size_t)n) == 1;
	}
	close(fd);
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 &&
	    len == ATTEST_MEASUREMENT_SIZE;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		snprintf(err, errlen, "cannot measure /proc/self/exe");
	return ok ? 0 : -1;
}

static void
sim_free(struct sim *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->vcek);
	free(s->certs);
	free(s);
}

static int
sim_open(struct tee *tee, char *err, size_t errlen)
{
	struct sim	*s;
	char		*path, *old;
	int		 rc;

	if (tee->cfg.data_dir == NULL) {
		snprintf(err, errlen, "no data directory for its keys");
		return -1;
	}
	tee->path = xstrdup(tee->cfg.data_dir);
	xasprintf(&path, "%s/%s", tee->path, SIM_KEY_FILE);
	if (access(path, F_OK) == -1 && errno == ENOENT &&
	    sim_generate(tee->path, err, errlen) != 0) {
		free(path);
		return -1;
	}
	free(path);
	s = xcalloc(1, sizeof(*s));
	if ((rc = sim_load(s, tee->path, err, errlen)) == 1) {
		/* An older key file: set aside, made anew. */
		sim_free(s);
		s = xcalloc(1, sizeof(*s));
		xasprintf(&path, "%s/%s", tee->path, SIM_KEY_FILE);
		xasprintf(&old, "%s.old", path);
		if (rename(path, old) == -1) {
			snprintf(err, errlen, "rename %s: %s", path,
			    strerror(errno));
			rc = -1;
		} else if (sim_generate(tee->path, err, errlen) != 0)
			rc = -1;
		else if ((rc = sim_load(s, tee->path, err, errlen)) == 1) {
			snprintf(err, errlen, "the new simulated VCEK has no"
			    " AMD extensions");
			rc = -1;
		}
		free(old);
		free(path);
	}
	if (rc != 0 || sim_measure(s->measurement, err, errlen) != 0) {
		sim_free(s);
		return -1;
	}
	tee->priv = s;
	log_warnx("sim: the TEE is SIMULATED: its evidence proves nothing"
	    " about hardware (development and tests only)");
	return 0;
}

/* ECDSA P-384 over the signed part, as r and s little-endian at sig. */
static int
sim_sign(EVP_PKEY *key, const unsigned char *data, size_t len,
    unsigned char *sig)
{
	EVP_MD_CTX		*ctx;
	ECDSA_SIG		*es = NULL;
	unsigned char		 der[160];
	const unsigned char	*q = der;
	const BIGNUM		*r, *s;
	size_t			 derlen = sizeof(der);
	int			 ok;

	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key) == 1 &&
	    EVP_DigestSign(ctx, der, &derlen, data, len) == 1 &&
	    (es = d2i_ECDSA_SIG(NULL, &q, (long)derlen)) != NULL;
	if (ok) {
		ECDSA_SIG_get0(es, &r, &s);
		ok = BN_bn2lebinpad(r, sig, SIM_SIG_COMPONENT) ==
		    SIM_SIG_COMPONENT && BN_bn2lebinpad(s, sig +
		    SIM_SIG_COMPONENT, SIM_SIG_COMPONENT) == SIM_SIG_COMPONENT;
	}
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

static int
sim_evidence(struct tee *tee, const unsigned char *report_data,
    struct tee_evidence *ev, char *err, size_t errlen)
{
	struct sim	*s = tee->priv;
	unsigned char	*r;

	r = xcalloc(1, ATTEST_SNP_REPORT_SIZE);
	sim_le32(r + SIM_OFF_VERSION, SIM_VERSION);
	sim_le32(r + SIM_OFF_POLICY, SIM_POLICY);
	sim_le32(r + SIM_OFF_SIG_ALGO, SIM_SIG_ECDSA_P384);
	memcpy(r + SIM_OFF_CURRENT_TCB, sim_tcb, sizeof(sim_tcb));
	memcpy(r + SIM_OFF_REPORT_DATA, report_data, ATTEST_REPORT_DATA_SIZE);
	memcpy(r + SIM_OFF_MEASUREMENT, s->measurement,
	    sizeof(s->measurement));
	memcpy(r + SIM_OFF_REPORTED_TCB, sim_tcb, sizeof(sim_tcb));
	memcpy(r + SIM_OFF_CHIP_ID, s->chip_id, sizeof(s->chip_id));
	/* Committed firmware, launched on the same TCB. */
	memcpy(r + SIM_OFF_COMMITTED_TCB, sim_tcb, sizeof(sim_tcb));
	memcpy(r + SIM_OFF_LAUNCH_TCB, sim_tcb, sizeof(sim_tcb));
	if (sim_sign(s->vcek, r, SIM_OFF_SIGNATURE, r + SIM_OFF_SIGNATURE) !=
	    0) {
		snprintf(err, errlen, "cannot sign the simulated report");
		free(r);
		return -1;
	}
	ev->format = TEE_FORMAT_SEV_SNP;
	ev->report = r;
	ev->report_len = ATTEST_SNP_REPORT_SIZE;
	ev->certs = xstrdup(s->certs);
	return 0;
}

/*
 * The simulated sealing key: crypto_kdf of the sim's own secret
 * (TEE_SIM_SECRET_FILE, made on first use), with the selection SEV-SNP
 * would use as its subkey id. The secret lies beside the keys it seals,
 * so this protects nothing the file mode does not: it exercises the
 * sealed path, and status calls it "sealed (simulated)". Its
 * "measurement" (the agent binary's hash) is not mixed in: every rebuild
 * would lock a developer out of their keys.
 */
#define SIM_SEAL_CONTEXT	"cubeseal"	/* crypto_kdf_CONTEXTBYTES */

static int
sim_derive_key(struct tee *tee, struct keyfile_key *k, char *err,
    size_t errlen)
{
	unsigned char	*master;
	char		*path;
	int		 rc = -1, fresh;

	_Static_assert(sizeof(SIM_SEAL_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES,
	    "context");
	_Static_assert(KEYFILE_KEY_BYTES >= crypto_kdf_BYTES_MIN &&
	    KEYFILE_KEY_BYTES <= crypto_kdf_BYTES_MAX, "subkey size");
	if ((master = sodium_malloc(crypto_kdf_KEYBYTES)) == NULL)
		fatalx("%s: sodium_malloc", __func__);
	xasprintf(&path, "%s/%s", tee->path, TEE_SIM_SECRET_FILE);
	fresh = access(path, F_OK) == -1 && errno == ENOENT;
	free(path);
	if (fresh) {
		crypto_kdf_keygen(master);
		if (dir_write_file(tee->path, TEE_SIM_SECRET_FILE, master,
		    crypto_kdf_KEYBYTES, err, errlen) != 0)
			goto out;
		log_info("sim: new simulated sealing secret %s/%s", tee->path,
		    TEE_SIM_SECRET_FILE);
	} else if (dir_read_file(tee->path, TEE_SIM_SECRET_FILE, master,
	    crypto_kdf_KEYBYTES, crypto_kdf_KEYBYTES, NULL, err, errlen) != 0)
		goto out;
	k->provider = KEYFILE_SIM;
	k->root = TEE_SNP_ROOT_VCEK;
	k->vmpl = TEE_SNP_SEAL_VMPL;
	k->field_select = TEE_SNP_SEAL_FIELDS;
	if (crypto_kdf_derive_from_key(k->key, KEYFILE_KEY_BYTES,
	    k->field_select, SIM_SEAL_CONTEXT, master) != 0) {
		snprintf(err, errlen, "sim: cannot derive a sealing key");
		goto out;
	}
	rc = 0;
out:
	sodium_free(master);
	return rc;
}

static void
sim_close(struct tee *tee)
{
	sim_free(tee->priv);
	tee->priv = NULL;
}

const struct tee_ops tee_sim_ops = {
	"sim", 0, 1, sim_open, sim_evidence, sim_close, sim_derive_key
};
