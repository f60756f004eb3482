/*
 * tee-snp.c: the GHCB certificate table parser against tables built here
 * (good ones in any order and GUID byte order, and each way of being
 * damaged), and SNP_GET_EXT_REPORT against a fake kernel behind
 * tee_config.ioctl that asks for a bigger certificate buffer, refuses
 * sizes past its limit, or has no certificates to give.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/sev-guest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "agent.h"
#include "attest.h"
#include "fixture.h"
#include "log.h"

#define ENTRY		24
#define PAGE		4096

static const unsigned char guid_vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6,
    0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const unsigned char guid_ask[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb,
    0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };
static const unsigned char guid_ark[16] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8,
    0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae };
static const unsigned char guid_other[16] = { 0x11, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00 };

/* Three DER certificates, CN SEV-VCEK, SEV-Milan, ARK-Milan. */
static struct {
	unsigned char	*der[3];
	int		 len[3];
} certs;

/* A self-signed P-256 certificate named cn, as DER. */
static int
make_der(const char *cn, unsigned char **der)
{
	EVP_PKEY	*key;
	X509_NAME	*name;
	X509		*x;
	int		 len;

	assert_non_null(key = EVP_EC_gen("P-256"));
	assert_non_null(x = X509_new());
	assert_non_null(name = X509_NAME_new());
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	assert_true(len > 0);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	return len;
}

static int
group_setup(void **state)
{
	static const char *const cn[3] = { "SEV-VCEK", "SEV-Milan",
	    "ARK-Milan" };
	int	i;

	(void)state;
	for (i = 0; i < 3; i++)
		certs.len[i] = make_der(cn[i], &certs.der[i]);
	return 0;
}

static int
group_teardown(void **state)
{
	int	i;

	(void)state;
	for (i = 0; i < 3; i++)
		OPENSSL_free(certs.der[i]);
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Entry i of table: guid, offset, length. */
static void
entry(unsigned char *table, int i, const unsigned char *guid, uint32_t off,
    uint32_t len)
{
	memcpy(table + i * ENTRY, guid, 16);
	put32(table + i * ENTRY + 16, off);
	put32(table + i * ENTRY + 20, len);
}

/* A GUID with its first three fields byte-swapped (Linux guid_t). */
static void
mixed(const unsigned char *g, unsigned char *out)
{
	static const int	order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10,
				    11, 12, 13, 14, 15 };
	int			i;

	for (i = 0; i < 16; i++)
		out[i] = g[order[i]];
}

/*
 * A good table of size len (zeroed first): entries ARK, VCEK, ASK (not in
 * the order shown), the end entry, room for one more entry (then the end
 * moves there), the three certificates.
 * Returns where the certificates start.
 */
static size_t
good_table(unsigned char *t, size_t len)
{
	size_t	off = 5 * ENTRY, o[3];
	int	i;

	memset(t, 0, len);
	for (i = 0; i < 3; i++) {
		o[i] = off;
		assert_true(off + certs.len[i] <= len);
		memcpy(t + off, certs.der[i], certs.len[i]);
		off += certs.len[i];
	}
	entry(t, 0, guid_ark, o[2], certs.len[2]);
	entry(t, 1, guid_vcek, o[0], certs.len[0]);
	entry(t, 2, guid_ask, o[1], certs.len[1]);
	return 5 * ENTRY;
}

/* The subject CNs of a PEM bundle, comma-separated, into buf. */
static void
pem_names(const char *pem, char *buf, size_t len)
{
	BIO	*bio;
	X509	*x;
	char	 cn[64];
	size_t	 n = 0;

	buf[0] = '\0';
	assert_non_null(bio = BIO_new_mem_buf(pem, -1));
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, cn, sizeof(cn));
		n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", cn);
		X509_free(x);
	}
	BIO_free(bio);
}

/* Parse t; 0 with the names in names, or -1 with err. */
static int
parse(const unsigned char *t, size_t len, char *names, size_t nlen, char *err,
    size_t errlen)
{
	char	*pem = NULL;

	names[0] = '\0';
	err[0] = '\0';
	if (tee_snp_certs_pem(t, len, &pem, err, errlen) != 0) {
		assert_null(pem);
		return -1;
	}
	if (pem != NULL)
		pem_names(pem, names, nlen);
	free(pem);
	return 0;
}

static void
test_table_good(void **state)
{
	unsigned char	t[8192], g[16];
	char		names[128], err[256];
	size_t		start;

	(void)state;
	/* Any order in the table; VCEK, ASK, ARK out. */
	good_table(t, sizeof(t));
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), 0);
	assert_string_equal(names, "SEV-VCEK,SEV-Milan,ARK-Milan");

	/* The GUIDs as Linux's guid_t stores them. */
	mixed(guid_vcek, g);
	memcpy(t + ENTRY, g, 16);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), 0);
	assert_string_equal(names, "SEV-VCEK,SEV-Milan,ARK-Milan");

	/* Only as long as its last certificate, no padding. */
	start = good_table(t, sizeof(t));
	assert_int_equal(parse(t, start + certs.len[0] + certs.len[1] +
	    certs.len[2], names, sizeof(names), err, sizeof(err)), 0);
	assert_string_equal(names, "SEV-VCEK,SEV-Milan,ARK-Milan");

	/* Zero padding after a certificate, inside its entry, is fine. */
	good_table(t, sizeof(t));
	entry(t, 0, guid_ark, start + certs.len[0] + certs.len[1],
	    certs.len[2] + 100);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), 0);

	/* An entry of a GUID we do not know is skipped. */
	good_table(t, sizeof(t));
	entry(t, 2, guid_other, 7000, 100);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), 0);
	assert_string_equal(names, "SEV-VCEK,ARK-Milan");

	/* Nothing known, or an empty table: no certificates, no error. */
	memset(t, 0, sizeof(t));
	entry(t, 0, guid_other, 2 * ENTRY, 10);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), 0);
	assert_string_equal(names, "");
	memset(t, 0, sizeof(t));
	assert_int_equal(parse(t, ENTRY, names, sizeof(names), err,
	    sizeof(err)), 0);
	assert_string_equal(names, "");
}

static void
test_table_damaged(void **state)
{
	unsigned char	t[8192], g[16];
	char		names[128], err[256];
	size_t		start, i;

	(void)state;
	/* No end entry: cut short, or entries to the very end. */
	start = good_table(t, sizeof(t));
	assert_int_equal(parse(t, 2 * ENTRY + 10, names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "outside"));
	assert_int_equal(parse(t, 0, names, sizeof(names), err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "no end entry"));
	memset(t, 0xff, 3 * ENTRY);
	for (i = 0; i < 3; i++)
		entry(t, (int)i, guid_other, 0, 1);
	t[2 * ENTRY] ^= 1;
	t[ENTRY] ^= 2;
	assert_int_equal(parse(t, 3 * ENTRY, names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no end entry"));

	/* Past the end, and an offset that wraps around. */
	good_table(t, sizeof(t));
	entry(t, 1, guid_vcek, sizeof(t) - 10, 11);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK is damaged"));
	assert_non_null(strstr(err, "outside"));
	entry(t, 1, guid_vcek, 0xffffff00, 0x200);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK"));
	entry(t, 1, guid_vcek, 100, 0);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK"));

	/* Over the table's own entries. */
	good_table(t, sizeof(t));
	entry(t, 2, guid_ask, ENTRY, 30);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "ASK is damaged"));
	assert_non_null(strstr(err, "inside the table"));

	/* Two entries over each other, even an unknown one. */
	good_table(t, sizeof(t));
	entry(t, 2, guid_ask, start, certs.len[0]);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK and ASK overlap"));
	good_table(t, sizeof(t));
	entry(t, 3, guid_other, start + 10, 1);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "overlap"));

	/* A GUID twice, in either byte order. */
	good_table(t, sizeof(t));
	entry(t, 3, guid_vcek, 7000, 100);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK twice"));
	mixed(guid_vcek, g);
	memcpy(t + 3 * ENTRY, g, 16);
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK twice"));

	/* Not a certificate; a certificate with more after it. */
	good_table(t, sizeof(t));
	t[start] ^= 0xff;
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK is damaged: not one DER"));
	good_table(t, sizeof(t));
	entry(t, 0, guid_ark, start + certs.len[0] + certs.len[1],
	    certs.len[2] + 100);
	t[start + certs.len[0] + certs.len[1] + certs.len[2] + 50] = 1;
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "ARK is damaged"));

	/* More entries than a host has any reason to send. */
	memset(t, 0, sizeof(t));
	for (i = 0; i < 40; i++) {
		memcpy(g, guid_other, 16);
		g[15] = (unsigned char)i;
		entry(t, (int)i, g, 4096 + i, 1);
	}
	assert_int_equal(parse(t, sizeof(t), names, sizeof(names), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 32 entries"));
}

/* --- SNP_GET_EXT_REPORT against a fake kernel ---------------------------- */

static struct {
	unsigned char	*table;		/* what the host has */
	size_t		 table_len;
	size_t		 kernel_max;	/* certs_len past it: EINVAL */
	int		 no_ext;	/* the host refuses ext requests */
	int		 no_plain;	/* SNP_GET_REPORT fails too */
	int		 lie;		/* asks for less than it was given */
	int		 ext_calls, plain_calls;
	uint32_t	 lens[8];	/* certs_len of each ext call */
} kern;

/* A MSG_REPORT_RSP with a report echoing report_data. */
static void
fake_response(const struct snp_report_req *req, struct snp_report_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	put32(resp->data, 0);
	put32(resp->data + 4, ATTEST_SNP_REPORT_SIZE);
	put32(resp->data + 0x20, 2);
	memcpy(resp->data + 0x20 + 0x50, req->user_data, 64);
}

/*
 * MSG_KEY_REQ: remembers the request; answers a key that depends on the
 * fields selected (and on kern.chip, another chip), or kern.key_status.
 */
static struct {
	struct snp_derived_key_req	req;
	int				calls;
	uint32_t			status;
	int				fail;
	unsigned char			chip;
} dk;

static int
fake_derive(struct snp_guest_request_ioctl *io)
{
	struct snp_derived_key_req	*req;
	struct snp_derived_key_resp	*resp;
	int				 i;

	req = (struct snp_derived_key_req *)(uintptr_t)io->req_data;
	resp = (struct snp_derived_key_resp *)(uintptr_t)io->resp_data;
	dk.req = *req;
	dk.calls++;
	if (dk.fail) {
		io->fw_error = 0x16;
		errno = EIO;
		return -1;
	}
	memset(resp, 0xee, sizeof(*resp));
	put32(resp->data, dk.status);
	for (i = 0; i < 32; i++)
		resp->data[0x20 + i] = (unsigned char)(i ^ dk.chip ^
		    (unsigned char)req->guest_field_select);
	return 0;
}

static int
fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct snp_guest_request_ioctl	*io = arg;
	struct snp_ext_report_req	*ext;
	struct snp_report_resp		*resp;
	size_t				 need;

	(void)fd;
	resp = (struct snp_report_resp *)(uintptr_t)io->resp_data;
	io->exitinfo2 = 0;
	if (req == SNP_GET_DERIVED_KEY)
		return fake_derive(io);
	if (req == SNP_GET_REPORT) {
		kern.plain_calls++;
		if (kern.no_plain) {
			io->vmm_error = 0xffffffff;
			errno = EIO;
			return -1;
		}
		fake_response((const struct snp_report_req *)(uintptr_t)
		    io->req_data, resp);
		return 0;
	}
	assert_int_equal(req, SNP_GET_EXT_REPORT);
	ext = (struct snp_ext_report_req *)(uintptr_t)io->req_data;
	if (kern.ext_calls < 8)
		kern.lens[kern.ext_calls] = ext->certs_len;
	kern.ext_calls++;
	if (ext->certs_len > kern.kernel_max || ext->certs_len % PAGE != 0) {
		errno = EINVAL;
		return -1;
	}
	if (kern.no_ext) {
		io->vmm_error = 0xffffffff;
		errno = EIO;
		return -1;
	}
	if (kern.table_len > ext->certs_len) {
		need = (kern.table_len + PAGE - 1) / PAGE * PAGE;
		ext->certs_len = kern.lie ? PAGE : (uint32_t)need;
		io->vmm_error = SNP_GUEST_VMM_ERR_INVALID_LEN;
		errno = EIO;
		return -1;
	}
	memset((void *)(uintptr_t)ext->certs_address, 0, ext->certs_len);
	memcpy((void *)(uintptr_t)ext->certs_address, kern.table,
	    kern.table_len);
	fake_response(&ext->data, resp);
	return 0;
}

struct fixture {
	char		 dir[FIXTURE_DIR_MAX];
	char		 dev[96];
	struct tee	*tee;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	int		 fd;

	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "tee-snp");
	snprintf(f->dev, sizeof(f->dev), "%s/sev-guest", f->dir);
	assert_true((fd = open(f->dev, O_RDWR | O_CREAT, 0600)) != -1);
	close(fd);
	memset(&kern, 0, sizeof(kern));
	kern.kernel_max = 4 * PAGE;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	tee_free(f->tee);
	free(kern.table);
	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

/* A host table of len bytes: VCEK, ASK, ARK, and a blob to fill it. */
static void
host_table(size_t len)
{
	free(kern.table);
	assert_non_null(kern.table = calloc(1, len));
	good_table(kern.table, len);
	if (len > 8192)
		entry(kern.table, 3, guid_other, 8192, (uint32_t)(len - 8192));
	kern.table_len = len;
}

/* Open sev-guest on the fake kernel, then forget the trial's calls. */
static void
open_snp(struct fixture *f)
{
	struct tee_config	tc;
	char			err[512];

	memset(&tc, 0, sizeof(tc));
	tc.sev_device = f->dev;
	tc.ioctl = fake_ioctl;
	f->tee = tee_open("sev-guest", &tc, err, sizeof(err));
	if (f->tee == NULL)
		fail_msg("%s", err);
	kern.ext_calls = kern.plain_calls = 0;
	memset(kern.lens, 0, sizeof(kern.lens));
}

/* Evidence for fresh report_data; checks the report came back. */
static int
evidence(struct fixture *f, struct tee_evidence *ev, char *err,
    size_t errlen)
{
	unsigned char	rd[ATTEST_REPORT_DATA_SIZE];
	size_t		i;

	for (i = 0; i < sizeof(rd); i++)
		rd[i] = (unsigned char)(i * 7 + kern.ext_calls);
	if (tee_evidence(f->tee, rd, ev, err, errlen) != 0)
		return -1;
	assert_int_equal(ev->report_len, ATTEST_SNP_REPORT_SIZE);
	assert_memory_equal(ev->report + 0x50, rd, sizeof(rd));
	return 0;
}

static void
test_ext_fits(void **state)
{
	struct fixture		*f = *state;
	struct tee_evidence	 ev;
	char			 err[512], names[128];

	host_table(8192);
	open_snp(f);
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), 0);
	assert_int_equal(kern.ext_calls, 1);
	assert_int_equal(kern.lens[0], 4 * PAGE);
	assert_int_equal(kern.plain_calls, 0);
	assert_non_null(ev.certs);
	pem_names(ev.certs, names, sizeof(names));
	assert_string_equal(names, "SEV-VCEK,SEV-Milan,ARK-Milan");
	assert_null(ev.certs_note);
	tee_evidence_clear(&ev);
}

/* The host has 40 KiB: the kernel asks, the buffer grows, it fits. */
static void
test_ext_grows(void **state)
{
	struct fixture		*f = *state;
	struct tee_evidence	 ev;
	char			 err[512], names[128];

	host_table(40000);
	kern.kernel_max = 1024 * 1024;
	open_snp(f);
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), 0);
	assert_int_equal(kern.ext_calls, 2);
	assert_int_equal(kern.lens[0], 4 * PAGE);
	assert_int_equal(kern.lens[1], 40960);
	assert_int_equal(kern.plain_calls, 0);
	assert_non_null(ev.certs);
	pem_names(ev.certs, names, sizeof(names));
	assert_string_equal(names, "SEV-VCEK,SEV-Milan,ARK-Milan");
	assert_null(ev.certs_note);
	tee_evidence_clear(&ev);
}

/*
 * A kernel that takes at most 16 KiB (SEV_FW_BLOB_MAX_SIZE), a host with
 * more than 1 MiB, a host without extended requests, a kernel that asks
 * for less: the plain report, and the evidence says why.
 */
static void
test_ext_cannot(void **state)
{
	struct fixture		*f = *state;
	struct tee_evidence	 ev;
	char			 err[512];

	host_table(40000);
	open_snp(f);
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), 0);
	assert_int_equal(kern.ext_calls, 2);
	assert_int_equal(kern.plain_calls, 1);
	assert_null(ev.certs);
	assert_non_null(ev.certs_note);
	assert_non_null(strstr(ev.certs_note, "the host's certificates need"
	    " 40960 bytes, more than this kernel's sev-guest driver takes"));
	tee_evidence_clear(&ev);

	host_table(2 * 1024 * 1024);
	kern.kernel_max = 4 * 1024 * 1024;
	kern.ext_calls = kern.plain_calls = 0;
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), 0);
	assert_int_equal(kern.ext_calls, 1);
	assert_int_equal(kern.plain_calls, 1);
	assert_null(ev.certs);
	assert_non_null(strstr(ev.certs_note, "need 2097152 bytes, more than"
	    " the 1048576 this agent takes"));
	tee_evidence_clear(&ev);

	host_table(40000);
	kern.lie = 1;
	kern.ext_calls = kern.plain_calls = 0;
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), 0);
	assert_int_equal(kern.ext_calls, 1);
	assert_null(ev.certs);
	assert_non_null(strstr(ev.certs_note, "then asks for 4096"));
	tee_evidence_clear(&ev);

	kern.lie = 0;
	kern.no_ext = 1;
	kern.ext_calls = kern.plain_calls = 0;
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), 0);
	assert_int_equal(kern.plain_calls, 1);
	assert_null(ev.certs);
	assert_non_null(strstr(ev.certs_note, "SNP_GET_EXT_REPORT"));
	assert_non_null(strstr(ev.certs_note, "VMM error 0xffffffff"));
	tee_evidence_clear(&ev);

	/* Neither works: the error says both. */
	kern.no_plain = 1;
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SNP_GET_REPORT"));
	assert_non_null(strstr(err, "after SNP_GET_EXT_REPORT"));
}

/* No certificates at the host; a damaged table is no evidence. */
static void
test_ext_none_or_damaged(void **state)
{
	struct fixture		*f = *state;
	struct tee_evidence	 ev;
	char			 err[512];

	host_table(8192);
	memset(kern.table, 0, kern.table_len);
	open_snp(f);
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), 0);
	assert_int_equal(kern.plain_calls, 0);
	assert_null(ev.certs);
	assert_string_equal(ev.certs_note, "the host has no certificates");
	tee_evidence_clear(&ev);

	host_table(8192);
	entry(kern.table, 1, guid_vcek, 8000, 500);
	assert_int_equal(evidence(f, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VCEK is damaged"));
}

/* SNP_GET_DERIVED_KEY: the fields asked for, the key that comes back. */
static void
test_derive_key(void **state)
{
	struct fixture		*f = *state;
	struct keyfile_key	*k, *k2;
	char			 err[512];
	int			 none, i;

	host_table(8192);
	open_snp(f);
	memset(&dk, 0, sizeof(dk));
	assert_non_null(k = tee_derive_key(f->tee, &none, err, sizeof(err)));
	assert_int_equal(dk.calls, 1);
	/* VCEK root, VMPL 0; policy, image id, family id, measurement. */
	assert_int_equal(dk.req.root_key_select, 0);
	assert_int_equal(dk.req.guest_field_select, 0xf);
	assert_int_equal(dk.req.vmpl, 0);
	assert_int_equal(dk.req.guest_svn, 0);
	assert_int_equal(dk.req.tcb_version, 0);
	assert_int_equal(dk.req.rsvd, 0);
	assert_int_equal(k->provider, KEYFILE_SEV_GUEST);
	assert_int_equal(k->field_select, 0xf);
	for (i = 0; i < 32; i++)
		assert_int_equal(k->key[i], i ^ 0xf);
	/* The same again; another chip, another key. */
	assert_non_null(k2 = tee_derive_key(f->tee, &none, err, sizeof(err)));
	assert_memory_equal(k->key, k2->key, 32);
	keyfile_key_free(k2);
	dk.chip = 0x40;
	assert_non_null(k2 = tee_derive_key(f->tee, &none, err, sizeof(err)));
	assert_memory_not_equal(k->key, k2->key, 32);
	keyfile_key_free(k2);
	keyfile_key_free(k);

	/* The PSP says no; the ioctl fails: errors, not "none". */
	dk.status = 0x16;
	assert_null(tee_derive_key(f->tee, &none, err, sizeof(err)));
	assert_false(none);
	assert_non_null(strstr(err, "the PSP refused to derive a key (status"
	    " 0x16)"));
	dk.status = 0;
	dk.fail = 1;
	assert_null(tee_derive_key(f->tee, &none, err, sizeof(err)));
	assert_false(none);
	assert_non_null(strstr(err, "SNP_GET_DERIVED_KEY"));
	assert_non_null(strstr(err, "firmware error 0x16"));
}

/* configfs-tsm derives through the sev-guest device beside it. */
static void
test_tsm_derive_key(void **state)
{
	struct fixture		*f = *state;
	struct tee_config	 tc;
	struct tee		*tee;
	struct keyfile_key	*k;
	char			 err[512];
	int			 none;

	memset(&tc, 0, sizeof(tc));
	tc.tsm_root = f->dir;
	tc.sev_device = f->dev;
	tc.ioctl = fake_ioctl;
	memset(&dk, 0, sizeof(dk));
	/* No trial report here: a direct open of the provider. */
	assert_non_null(tee = calloc(1, sizeof(*tee)));
	tee->ops = &tee_tsm_ops;
	tee->cfg = tc;
	assert_int_equal(tee->ops->open(tee, err, sizeof(err)), 0);
	assert_non_null(k = tee_derive_key(tee, &none, err, sizeof(err)));
	assert_int_equal(dk.calls, 1);
	assert_int_equal(k->provider, KEYFILE_SEV_GUEST);
	keyfile_key_free(k);
	tee->cfg.sev_device = "/nonexistent/sev-guest";
	assert_null(tee_derive_key(tee, &none, err, sizeof(err)));
	assert_true(none);
	assert_non_null(strstr(err, "TDX offers guests no sealing key"));
	tee_free(tee);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_good),
		cmocka_unit_test(test_table_damaged),
		cmocka_unit_test_setup_teardown(test_ext_fits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ext_grows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ext_cannot, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ext_none_or_damaged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_derive_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tsm_derive_key, setup,
		    teardown),
	};

	log_init("test-tee-snp", 0);
	if (sodium_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
