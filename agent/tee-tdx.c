/*
 * The tdx-guest provider: an Intel TDX guest's TDREPORT from /dev/tdx_guest
 * (TDX_CMD_GET_REPORT0). A TDREPORT is MAC'd for the local platform only;
 * a quote that others can verify needs the host's quoting service, which
 * modern kernels reach through configfs-tsm (--tee configfs-tsm).
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "xmalloc.h"

/* linux/tdx-guest.h (Linux 6.2+), which Debian 12's headers lack. */
#define TDX_REPORTDATA_LEN	64
#define TDX_REPORT_LEN		1024

struct tdx_report_req {
	uint8_t	reportdata[TDX_REPORTDATA_LEN];
	uint8_t	tdreport[TDX_REPORT_LEN];
};

#define TDX_CMD_GET_REPORT0	_IOWR('T', 1, struct tdx_report_req)

static int
tdx_open(struct tee *tee, char *err, size_t errlen)
{
	int	fd;

	tee->path = xstrdup(tee->cfg.tdx_device != NULL ?
	    tee->cfg.tdx_device : TEE_TDX_DEVICE);
	if ((fd = tee_device_open(tee, "an Intel TDX guest with the"
	    " tdx-guest driver has it", err, errlen)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
tdx_evidence(struct tee *tee, const unsigned char *report_data,
    struct tee_evidence *ev, char *err, size_t errlen)
{
	struct tdx_report_req	req;
	int			fd;

	if ((fd = tee_device_open(tee, NULL, err, errlen)) == -1)
		return -1;
	memset(&req, 0, sizeof(req));
	memcpy(req.reportdata, report_data, sizeof(req.reportdata));
	if (ioctl(fd, TDX_CMD_GET_REPORT0, &req) == -1) {
		snprintf(err, errlen, "%s: TDX_CMD_GET_REPORT0: %s", tee->path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	ev->format = TEE_FORMAT_TDX_REPORT;
	ev->report = xmalloc(sizeof(req.tdreport));
	memcpy(ev->report, req.tdreport, sizeof(req.tdreport));
	ev->report_len = sizeof(req.tdreport);
	return 0;
}

/* Nothing to seal with: TDX offers guests no sealing key. */
static int
tdx_derive_key(struct tee *tee, struct keyfile_key *k, char *err,
    size_t errlen)
{
	(void)tee;
	(void)k;
	snprintf(err, errlen, "tdx-guest has no derived key: TDX offers"
	    " guests no sealing key");
	return 1;
}

const struct tee_ops tee_tdx_ops = {
	"tdx-guest", 1, 0, tdx_open, tdx_evidence, NULL, tdx_derive_key
};
