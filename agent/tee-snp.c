/*
 * The sev-guest provider: an AMD SEV-SNP guest asks its PSP for a report
 * through /dev/sev-guest (SNP_GET_EXT_REPORT, which also brings the
 * certificates the host holds, else SNP_GET_REPORT). Also the GHCB
 * certificate table both this and configfs-tsm's auxblob carry.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/sev-guest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define SNP_MSG_VERSION		1
#define SNP_RSP_REPORT		0x20	/* MSG_REPORT_RSP: status, size, report */
#define SNP_CERTS_LEN		(4 * 4096)	/* the kernel's blob limit */

/* The certificates the table may hold, in the order they are shown. */
static const struct {
	const char	*name;
	unsigned char	 guid[16];	/* RFC 4122 byte order */
} snp_cert_guids[] = {
	{ "VCEK", { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	    0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd } },
	{ "VLEK", { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
	    0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 } },
	{ "ASK", { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	    0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 } },
	{ "ARK", { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	    0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae } },
};
#define SNP_NGUIDS	(sizeof(snp_cert_guids) / sizeof(snp_cert_guids[0]))

static uint32_t
snp_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* A GUID as stored, in RFC 4122 order or with its first fields swapped. */
static int
snp_guid_eq(const unsigned char *p, const unsigned char *g)
{
	static const int	mixed[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10,
				    11, 12, 13, 14, 15 };
	int			i;

	if (memcmp(p, g, 16) == 0)
		return 1;
	for (i = 0; i < 16; i++)
		if (p[i] != g[mixed[i]])
			return 0;
	return 1;
}

/* One DER certificate as PEM, appended to bio. */
static int
snp_cert_pem(BIO *bio, const unsigned char *der, size_t len)
{
	const unsigned char	*q = der;
	X509			*x;
	int			 ok;

	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL)
		return -1;
	ok = PEM_write_bio_X509(bio, x);
	X509_free(x);
	return ok == 1 ? 0 : -1;
}

int
tee_snp_certs_pem(const unsigned char *table, size_t len, char **pem,
    char *err, size_t errlen)
{
	static const unsigned char	 zero[24];
	const unsigned char		*e;
	BUF_MEM				*mem;
	BIO				*bio;
	uint32_t			 off, n;
	size_t				 i, g, found = 0;

	*pem = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("%s: out of memory", __func__);
	for (g = 0; g < SNP_NGUIDS; g++) {
		for (i = 0; i + 24 <= len; i += 24) {
			e = table + i;
			if (memcmp(e, zero, sizeof(zero)) == 0)
				break;
			if (!snp_guid_eq(e, snp_cert_guids[g].guid))
				continue;
			off = snp_le32(e + 16);
			n = snp_le32(e + 20);
			if (off > len || n > len - off || n == 0 ||
			    snp_cert_pem(bio, table + off, n) != 0) {
				snprintf(err, errlen, "the certificate table's"
				    " %s is damaged", snp_cert_guids[g].name);
				BIO_free(bio);
				ERR_clear_error();
				return -1;
			}
			found++;
			break;
		}
	}
	if (found > 0) {
		BIO_get_mem_ptr(bio, &mem);
		*pem = xmalloc(mem->length + 1);
		memcpy(*pem, mem->data, mem->length);
		(*pem)[mem->length] = '\0';
	}
	BIO_free(bio);
	return 0;
}

static int
snp_open(struct tee *tee, char *err, size_t errlen)
{
	int	fd;

	tee->path = xstrdup(tee->cfg.sev_device != NULL ?
	    tee->cfg.sev_device : TEE_SEV_DEVICE);
	if ((fd = tee_device_open(tee, "an AMD SEV-SNP guest with the"
	    " sev-guest driver has it: modprobe sev-guest", err, errlen)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* The report from a MSG_REPORT_RSP, checked. */
static int
snp_response(const unsigned char *rsp, struct tee_evidence *ev, char *err,
    size_t errlen)
{
	uint32_t	status = snp_le32(rsp), size = snp_le32(rsp + 4);

	if (status != 0) {
		snprintf(err, errlen, "the PSP refused the report (status"
		    " 0x%x)", status);
		return -1;
	}
	if (size != ATTEST_SNP_REPORT_SIZE) {
		snprintf(err, errlen, "a report of %u bytes (expected %d)",
		    size, ATTEST_SNP_REPORT_SIZE);
		return -1;
	}
	ev->format = TEE_FORMAT_SEV_SNP;
	ev->report = xmalloc(size);
	memcpy(ev->report, rsp + SNP_RSP_REPORT, size);
	ev->report_len = size;
	return 0;
}

static int
snp_evidence(struct tee *tee, const unsigned char *report_data,
    struct tee_evidence *ev, char *err, size_t errlen)
{
	struct snp_guest_request_ioctl	 io;
	struct snp_ext_report_req	 ext;
	struct snp_report_resp		 resp;
	unsigned char			*certs = NULL;
	int				 fd, rc = -1, extended;

	if ((fd = tee_device_open(tee, NULL, err, errlen)) == -1)
		return -1;
	memset(&ext, 0, sizeof(ext));
	memcpy(ext.data.user_data, report_data, sizeof(ext.data.user_data));
	ext.data.vmpl = 0;
	if (posix_memalign((void **)&certs, 4096, SNP_CERTS_LEN) != 0)
		fatalx("%s: out of memory", __func__);
	memset(certs, 0, SNP_CERTS_LEN);
	ext.certs_address = (uintptr_t)certs;
	ext.certs_len = SNP_CERTS_LEN;

	memset(&io, 0, sizeof(io));
	memset(&resp, 0, sizeof(resp));
	io.msg_version = SNP_MSG_VERSION;
	io.req_data = (uintptr_t)&ext;
	io.resp_data = (uintptr_t)&resp;
	extended = ioctl(fd, SNP_GET_EXT_REPORT, &io) == 0;
	if (!extended) {
		/* No host certificates (or too many): the plain report. */
		memset(&io, 0, sizeof(io));
		memset(&resp, 0, sizeof(resp));
		io.msg_version = SNP_MSG_VERSION;
		io.req_data = (uintptr_t)&ext.data;
		io.resp_data = (uintptr_t)&resp;
		if (ioctl(fd, SNP_GET_REPORT, &io) == -1) {
			snprintf(err, errlen, "%s: SNP_GET_REPORT: %s"
			    " (firmware error 0x%x, VMM error 0x%x)",
			    tee->path, strerror(errno), io.fw_error,
			    io.vmm_error);
			goto out;
		}
	}
	if (snp_response(resp.data, ev, err, errlen) != 0)
		goto out;
	if (extended && ext.certs_len > 0 && tee_snp_certs_pem(certs,
	    ext.certs_len < SNP_CERTS_LEN ? ext.certs_len : SNP_CERTS_LEN,
	    &ev->certs, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(certs);
	close(fd);
	return rc;
}

const struct tee_ops tee_snp_ops = {
	"sev-guest", 1, 0, snp_open, snp_evidence, NULL
};
