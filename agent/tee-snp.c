/*
 * The sev-guest provider: an AMD SEV-SNP guest asks its PSP for a report
 * through /dev/sev-guest (SNP_GET_EXT_REPORT, which also brings the
 * certificates the host holds, in a buffer grown when the host has more;
 * else SNP_GET_REPORT, and the evidence says why it has no certificates).
 * Also the GHCB certificate table both this and configfs-tsm's auxblob
 * carry, parsed by hand: no library knows it.
 *
 * And the key the agent seals its private keys with at rest
 * (SNP_GET_DERIVED_KEY, MSG_KEY_REQ of the SEV-SNP firmware ABI). The PSP
 * derives it from a root secret and the fields the guest selects; the
 * choice decides who else can derive the same key, and when it changes:
 *  - root: the VCEK (ROOT_KEY_SELECT 0), which is unique to this chip and
 *    its TCB, not the VMRK, which a migration agent can hand on to another
 *    host: the keys stay on this chip, and a copy of the disk image run
 *    elsewhere cannot open them.
 *  - guest policy, image id, family id and measurement: another guest on
 *    the same chip (another image, a debug-enabled policy, a changed
 *    kernel, initrd or command line) derives another key.
 *  - not the TCB version: selecting it changes the key on every firmware
 *    or microcode update, leaving the agent unable to open its own keys
 *    (untested here without SEV-SNP hardware: whether the VCEK root key
 *    alone moves with the TCB is the firmware's to say; if it does, the
 *    documented way through an update is --seal-keys off first).
 *    (A requested TCB below the current one could get the old key back,
 *    but only if the agent kept that version; it would have to, forever.)
 *  - not the guest SVN: it is 0 without an ID block and would likewise
 *    change the key on every image version bump.
 *  - VMPL 0, as for reports.
 * An updated image (new measurement) therefore cannot open the old keys:
 * unseal them in the old image first (cube-agent --seal-keys off).
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
#define SNP_PAGE		4096
#define SNP_CERTS_LEN		(4 * SNP_PAGE)	/* first try: the kernel's limit */
#define SNP_CERTS_TRIES		4	/* asks for more room, at most */

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

static int	snp_warned;	/* no certificates: logged as a warning */

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

#define SNP_ENTRY_SIZE		24	/* GUID, offset, length */
#define SNP_ENTRIES_MAX		32	/* in one table, its end not counted */

/* One entry of the table, read. */
struct snp_entry {
	const unsigned char	*guid;
	int			 known;	/* index in snp_cert_guids, or -1 */
	uint32_t		 off;
	uint32_t		 len;
};

/* The entry's name for messages: "VCEK", else "entry 3". */
static const char *
snp_entry_name(const struct snp_entry *e, size_t i, char *buf, size_t len)
{
	if (e->known >= 0)
		snprintf(buf, len, "%s", snp_cert_guids[e->known].name);
	else
		snprintf(buf, len, "entry %zu", i);
	return buf;
}

/*
 * The DER certificate of e as PEM, appended to bio. It fills its bytes
 * but for zero padding: anything else there is not the certificate.
 */
static int
snp_cert_pem(BIO *bio, const unsigned char *table, const struct snp_entry *e)
{
	const unsigned char	*der = table + e->off, *q = der;
	X509			*x;
	size_t			 i;
	int			 ok;

	if ((x = d2i_X509(NULL, &q, (long)e->len)) == NULL)
		return -1;
	for (i = (size_t)(q - der); i < e->len; i++)
		if (der[i] != 0) {
			X509_free(x);
			return -1;
		}
	ok = PEM_write_bio_X509(bio, x);
	X509_free(x);
	return ok == 1 ? 0 : -1;
}

/*
 * The table's entries into e[], checked: each inside the table and past
 * its end entry, no two over each other, no GUID twice. Returns how many,
 * or -1 with err.
 */
static int
snp_entries(const unsigned char *table, size_t len, struct snp_entry *e,
    char *err, size_t errlen)
{
	static const unsigned char	 zero[SNP_ENTRY_SIZE];
	const unsigned char		*p;
	size_t				 n, i, j, end;
	char				 a[16], b[16];
	int				 g;

	for (n = 0;; n++) {
		if ((n + 1) * SNP_ENTRY_SIZE > len) {
			snprintf(err, errlen, "the certificate table has no"
			    " end entry in its %zu bytes", len);
			return -1;
		}
		p = table + n * SNP_ENTRY_SIZE;
		if (memcmp(p, zero, sizeof(zero)) == 0)
			break;
		if (n == SNP_ENTRIES_MAX) {
			snprintf(err, errlen, "the certificate table has more"
			    " than %d entries", SNP_ENTRIES_MAX);
			return -1;
		}
		e[n].guid = p;
		e[n].known = -1;
		for (g = 0; g < (int)SNP_NGUIDS; g++)
			if (snp_guid_eq(p, snp_cert_guids[g].guid))
				e[n].known = g;
		e[n].off = snp_le32(p + 16);
		e[n].len = snp_le32(p + 20);
		if (e[n].len == 0 || e[n].off > len ||
		    e[n].len > len - e[n].off) {
			snprintf(err, errlen, "the certificate table's %s is"
			    " damaged: %u bytes at %u, outside its %zu bytes",
			    snp_entry_name(&e[n], n, a, sizeof(a)), e[n].len,
			    e[n].off, len);
			return -1;
		}
	}
	end = (n + 1) * SNP_ENTRY_SIZE;
	for (i = 0; i < n; i++) {
		snp_entry_name(&e[i], i, a, sizeof(a));
		if (e[i].off < end) {
			snprintf(err, errlen, "the certificate table's %s is"
			    " damaged: at %u, inside the table's %zu bytes of"
			    " entries", a, e[i].off, end);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if ((e[i].known >= 0 && e[i].known == e[j].known) ||
			    memcmp(e[i].guid, e[j].guid, 16) == 0) {
				snprintf(err, errlen, "the certificate table"
				    " has %s twice (entries %zu and %zu)",
				    e[i].known >= 0 ? a : "a GUID", j, i);
				return -1;
			}
			if (e[i].off < e[j].off + e[j].len &&
			    e[j].off < e[i].off + e[i].len) {
				snprintf(err, errlen, "the certificate table's"
				    " %s and %s overlap", snp_entry_name(&e[j],
				    j, b, sizeof(b)), a);
				return -1;
			}
		}
	}
	return (int)n;
}

int
tee_snp_certs_pem(const unsigned char *table, size_t len, char **pem,
    char *err, size_t errlen)
{
	struct snp_entry	 e[SNP_ENTRIES_MAX];
	BUF_MEM			*mem;
	BIO			*bio;
	size_t			 g;
	int			 i, n, found = 0;

	*pem = NULL;
	if ((n = snp_entries(table, len, e, err, errlen)) == -1)
		return -1;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("%s: out of memory", __func__);
	/* In snp_cert_guids' order, whatever the table's; others skipped. */
	for (g = 0; g < SNP_NGUIDS; g++) {
		for (i = 0; i < n; i++)
			if (e[i].known == (int)g)
				break;
		if (i == n)
			continue;
		if (snp_cert_pem(bio, table, &e[i]) != 0) {
			snprintf(err, errlen, "the certificate table's %s is"
			    " damaged: not one DER certificate in its %u"
			    " bytes", snp_cert_guids[g].name, e[i].len);
			BIO_free(bio);
			ERR_clear_error();
			return -1;
		}
		found++;
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
snp_ioctl(struct tee *tee, int fd, unsigned long req, void *arg)
{
	int	rc;

	if (tee->cfg.ioctl != NULL)
		return tee->cfg.ioctl(fd, req, arg);
	while ((rc = ioctl(fd, req, arg)) == -1 && errno == EINTR)
		;
	return rc;
}

/* The request's ioctl argument, its error fields cleared. */
static void
snp_request(struct snp_guest_request_ioctl *io, void *req,
    struct snp_report_resp *resp)
{
	memset(io, 0, sizeof(*io));
	memset(resp, 0, sizeof(*resp));
	io->msg_version = SNP_MSG_VERSION;
	io->req_data = (uintptr_t)req;
	io->resp_data = (uintptr_t)resp;
}

/*
 * SNP_GET_EXT_REPORT, with a certificate buffer that grows when the
 * kernel says the host has more (EIO, VMM error INVALID_LEN, certs_len
 * set to what it needs), up to TEE_SNP_TABLE_MAX. Returns 0 with the
 * report in resp and the table in *certs (*certs_len bytes), or 1 when
 * the certificates cannot be had, with why in note: the caller then asks
 * for the plain report.
 */
static int
snp_ext_report(struct tee *tee, int fd, struct snp_ext_report_req *ext,
    struct snp_report_resp *resp, unsigned char **certs, size_t *certs_len,
    char *note, size_t notelen)
{
	struct snp_guest_request_ioctl	 io;
	size_t				 len = SNP_CERTS_LEN, need;
	int				 tries;

	for (tries = 0; tries < SNP_CERTS_TRIES; tries++) {
		free(*certs);
		*certs = NULL;
		if (posix_memalign((void **)certs, SNP_PAGE, len) != 0)
			fatalx("%s: out of memory", __func__);
		memset(*certs, 0, len);
		ext->certs_address = (uintptr_t)*certs;
		ext->certs_len = (uint32_t)len;
		snp_request(&io, ext, resp);
		if (snp_ioctl(tee, fd, SNP_GET_EXT_REPORT, &io) == 0) {
			*certs_len = len;
			return 0;
		}
		if (errno == EINVAL && len > SNP_CERTS_LEN) {
			snprintf(note, notelen, "the host's certificates need"
			    " %zu bytes, more than this kernel's sev-guest"
			    " driver takes (EINVAL)", len);
			return 1;
		}
		if (errno != EIO || io.vmm_error !=
		    SNP_GUEST_VMM_ERR_INVALID_LEN) {
			snprintf(note, notelen, "SNP_GET_EXT_REPORT: %s"
			    " (firmware error 0x%x, VMM error 0x%x)",
			    strerror(errno), io.fw_error, io.vmm_error);
			return 1;
		}
		/* The kernel says how much the host has. */
		need = ext->certs_len;
		if (need <= len) {
			snprintf(note, notelen, "the kernel says %zu bytes of"
			    " certificates do not do, then asks for %zu", len,
			    need);
			return 1;
		}
		if (need > TEE_SNP_TABLE_MAX) {
			snprintf(note, notelen, "the host's certificates need"
			    " %zu bytes, more than the %d this agent takes",
			    need, TEE_SNP_TABLE_MAX);
			return 1;
		}
		len = (need + SNP_PAGE - 1) / SNP_PAGE * SNP_PAGE;
	}
	snprintf(note, notelen, "the host asked for more room for its"
	    " certificates %d times", SNP_CERTS_TRIES);
	return 1;
}

static int
snp_evidence(struct tee *tee, const unsigned char *report_data,
    struct tee_evidence *ev, char *err, size_t errlen)
{
	struct snp_guest_request_ioctl	 io;
	struct snp_ext_report_req	 ext;
	struct snp_report_resp		 resp;
	unsigned char			*certs = NULL;
	size_t				 certs_len = 0;
	char				 note[ATTEST_DETAIL_MAX];
	int				 fd, rc = -1, ext_rc;

	if ((fd = tee_device_open(tee, NULL, err, errlen)) == -1)
		return -1;
	memset(&ext, 0, sizeof(ext));
	memcpy(ext.data.user_data, report_data, sizeof(ext.data.user_data));
	ext.data.vmpl = 0;
	ext_rc = snp_ext_report(tee, fd, &ext, &resp, &certs, &certs_len,
	    note, sizeof(note));
	if (ext_rc != 0) {
		/* Without the certificates, and saying so: loud once. */
		if (!__atomic_exchange_n(&snp_warned, 1, __ATOMIC_RELAXED))
			log_warnx("%s: no host certificates: %s; reports go"
			    " without them (a verifier needs the VCEK from"
			    " AMD's KDS)", tee->path, note);
		else
			log_debug("%s: no host certificates: %s", tee->path,
			    note);
		snp_request(&io, &ext.data, &resp);
		if (snp_ioctl(tee, fd, SNP_GET_REPORT, &io) == -1) {
			snprintf(err, errlen, "%s: SNP_GET_REPORT: %s"
			    " (firmware error 0x%x, VMM error 0x%x), after"
			    " %s", tee->path, strerror(errno), io.fw_error,
			    io.vmm_error, note);
			goto out;
		}
	}
	if (snp_response(resp.data, ev, err, errlen) != 0)
		goto out;
	if (ext_rc == 0 && tee_snp_certs_pem(certs, certs_len, &ev->certs,
	    err, errlen) != 0)
		goto out;
	if (ext_rc == 0 && ev->certs == NULL)
		snprintf(note, sizeof(note), "the host has no certificates");
	if (ev->certs == NULL)
		ev->certs_note = xstrdup(note);
	rc = 0;
out:
	free(certs);
	close(fd);
	return rc;
}

#define SNP_RSP_KEY		0x20	/* MSG_KEY_RSP: status, 28 reserved, key */

int
tee_snp_derive_key(struct tee *tee, const char *device, struct keyfile_key *k,
    char *err, size_t errlen)
{
	struct snp_guest_request_ioctl	 io;
	struct snp_derived_key_req	 req;
	struct snp_derived_key_resp	 resp;
	uint32_t			 status;
	int				 fd, rc = -1;

	_Static_assert(SNP_RSP_KEY + KEYFILE_KEY_BYTES <= sizeof(resp.data),
	    "MSG_KEY_RSP");
	if ((fd = open(device, O_RDWR | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", device, strerror(errno));
		return -1;
	}
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memset(&io, 0, sizeof(io));
	req.root_key_select = TEE_SNP_ROOT_VCEK;
	req.guest_field_select = TEE_SNP_SEAL_FIELDS;
	req.vmpl = TEE_SNP_SEAL_VMPL;
	io.msg_version = SNP_MSG_VERSION;
	io.req_data = (uintptr_t)&req;
	io.resp_data = (uintptr_t)&resp;
	if (snp_ioctl(tee, fd, SNP_GET_DERIVED_KEY, &io) == -1) {
		snprintf(err, errlen, "%s: SNP_GET_DERIVED_KEY: %s (firmware"
		    " error 0x%x, VMM error 0x%x)", device, strerror(errno),
		    io.fw_error, io.vmm_error);
		goto out;
	}
	if ((status = snp_le32(resp.data)) != 0) {
		snprintf(err, errlen, "%s: the PSP refused to derive a key"
		    " (status 0x%x)", device, status);
		goto out;
	}
	memcpy(k->key, resp.data + SNP_RSP_KEY, KEYFILE_KEY_BYTES);
	k->provider = KEYFILE_SEV_GUEST;
	k->root = TEE_SNP_ROOT_VCEK;
	k->vmpl = TEE_SNP_SEAL_VMPL;
	k->field_select = TEE_SNP_SEAL_FIELDS;
	rc = 0;
out:
	explicit_bzero(&resp, sizeof(resp));
	close(fd);
	return rc;
}

static int
snp_derive_key(struct tee *tee, struct keyfile_key *k, char *err,
    size_t errlen)
{
	return tee_snp_derive_key(tee, tee->path, k, err, errlen);
}

const struct tee_ops tee_snp_ops = {
	"sev-guest", 1, 0, snp_open, snp_evidence, NULL, snp_derive_key
};
