/*
 * Attestation providers: one table of vtables, chosen by --tee's name, and
 * "auto", which takes the first hardware provider whose trial evidence
 * works. The none provider lives here: it has nothing to attest with.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

static int	tee_none_open(struct tee *, char *, size_t);
static int	tee_none_evidence(struct tee *, const unsigned char *,
		    struct tee_evidence *, char *, size_t);

static const struct tee_ops tee_none_ops = {
	"none", 0, 0, tee_none_open, tee_none_evidence, NULL, NULL
};

/* In --tee auto's order: hardware first, configfs-tsm before the ioctls. */
static const struct tee_ops *const tee_providers[] = {
	&tee_tsm_ops,
	&tee_snp_ops,
	&tee_tdx_ops,
	&tee_sim_ops,
	&tee_none_ops,
};
#define TEE_NPROVIDERS	(sizeof(tee_providers) / sizeof(tee_providers[0]))

static const char *const tee_formats[] = {
	[TEE_FORMAT_SEV_SNP] =		"sev-snp",
	[TEE_FORMAT_TDX] =		"tdx",
	[TEE_FORMAT_TDX_REPORT] =	"tdx-report",
};

static int
tee_none_open(struct tee *tee, char *err, size_t errlen)
{
	(void)tee;
	(void)err;
	(void)errlen;
	return 0;
}

static int
tee_none_evidence(struct tee *tee, const unsigned char *report_data,
    struct tee_evidence *ev, char *err, size_t errlen)
{
	(void)tee;
	(void)report_data;
	(void)ev;
	snprintf(err, errlen, "this agent runs without a TEE (--tee none):"
	    " there is no evidence to give");
	return -1;
}

const char *
tee_format_name(enum tee_format f)
{
	if ((unsigned)f >= sizeof(tee_formats) / sizeof(tee_formats[0]))
		return "unknown";
	return tee_formats[f];
}

/* Open one provider and, for hardware, make one trial evidence. */
static struct tee *
tee_try(const struct tee_ops *ops, const struct tee_config *cfg, char *err,
    size_t errlen)
{
	struct tee_evidence	 ev;
	unsigned char		 zero[ATTEST_REPORT_DATA_SIZE] = { 0 };
	struct tee		*tee;

	tee = xcalloc(1, sizeof(*tee));
	tee->ops = ops;
	tee->cfg = *cfg;
	if (ops->open(tee, err, errlen) != 0) {
		free(tee->path);
		free(tee);
		return NULL;
	}
	if (ops != &tee_none_ops) {
		memset(&ev, 0, sizeof(ev));
		if (ops->evidence(tee, zero, &ev, err, errlen) != 0) {
			tee_free(tee);
			return NULL;
		}
		tee_evidence_clear(&ev);
	}
	return tee;
}

struct tee *
tee_open(const char *name, const struct tee_config *cfg, char *err,
    size_t errlen)
{
	struct tee	*tee;
	char		 why[512];
	size_t		 i, n = 0;

	if (strcmp(name, "auto") != 0) {
		for (i = 0; i < TEE_NPROVIDERS; i++)
			if (strcmp(tee_providers[i]->name, name) == 0)
				break;
		if (i == TEE_NPROVIDERS) {
			snprintf(err, errlen, "--tee %s: unknown (auto, none,"
			    " sim, configfs-tsm, sev-guest, tdx-guest)", name);
			return NULL;
		}
		if ((tee = tee_try(tee_providers[i], cfg, why,
		    sizeof(why))) == NULL)
			snprintf(err, errlen, "--tee %s: %s", name, why);
		return tee;
	}
	/* auto: never sim, whose evidence proves nothing. */
	for (i = 0; i < TEE_NPROVIDERS; i++) {
		if (!tee_providers[i]->hardware)
			continue;
		if ((tee = tee_try(tee_providers[i], cfg, why,
		    sizeof(why))) != NULL)
			return tee;
		if (n < errlen)
			n += snprintf(err + n, errlen - n, "%s%s", n ? "; " :
			    "", why);
	}
	return tee_try(&tee_none_ops, cfg, err, errlen);
}

void
tee_free(struct tee *tee)
{
	if (tee == NULL)
		return;
	if (tee->ops->close != NULL)
		tee->ops->close(tee);
	free(tee->path);
	free(tee);
}

const char *
tee_name(const struct tee *tee)
{
	return tee != NULL ? tee->ops->name : "none";
}

int
tee_simulated(const struct tee *tee)
{
	return tee != NULL && tee->ops->simulated;
}

int
tee_evidence(struct tee *tee, const unsigned char report_data[64],
    struct tee_evidence *ev, char *err, size_t errlen)
{
	memset(ev, 0, sizeof(*ev));
	if (tee->ops->evidence(tee, report_data, ev, err, errlen) != 0) {
		tee_evidence_clear(ev);
		return -1;
	}
	if (ev->report == NULL || ev->report_len == 0 ||
	    ev->report_len > TEE_REPORT_MAX) {
		snprintf(err, errlen, "%s: %zu bytes of evidence", tee_name(tee),
		    ev->report_len);
		tee_evidence_clear(ev);
		return -1;
	}
	return 0;
}

struct keyfile_key *
tee_derive_key(struct tee *tee, int *none, char *err, size_t errlen)
{
	struct keyfile_key	*k;
	int			 rc;

	*none = 0;
	if (tee == NULL || tee->ops->derive_key == NULL) {
		*none = 1;
		snprintf(err, errlen, "%s offers no sealing key", tee_name(tee));
		return NULL;
	}
	if ((k = keyfile_key_new()) == NULL)
		fatalx("%s: sodium_malloc", __func__);
	if ((rc = tee->ops->derive_key(tee, k, err, errlen)) != 0) {
		keyfile_key_free(k);
		*none = rc == 1;
		return NULL;
	}
	return k;
}

void
tee_evidence_clear(struct tee_evidence *ev)
{
	if (ev == NULL)
		return;
	free(ev->report);
	free(ev->certs);
	free(ev->certs_note);
	memset(ev, 0, sizeof(*ev));
}

/*
 * Read a whole small file. sysfs and configfs files report no size, so
 * read to the end, up to max bytes; a longer file is an error. The
 * result is NUL-terminated (not counted in *len); caller frees it.
 */
int
tee_read_file(const char *path, size_t max, unsigned char **out, size_t *len,
    char *err, size_t errlen)
{
	unsigned char	*buf;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = xmalloc(max + 1);
	for (;;) {
		if ((n = read(fd, buf + off, max + 1 - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "read %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		if (off > max) {
			snprintf(err, errlen, "%s: more than %zu bytes", path,
			    max);
			goto fail;
		}
	}
	close(fd);
	buf[off] = '\0';	/* room for it: off <= max */
	*out = buf;
	*len = off;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

/*
 * Open a TEE guest device (tee->path) for one request; -1 with err, which
 * says what provides the device when hint is given.
 */
int
tee_device_open(struct tee *tee, const char *hint, char *err, size_t errlen)
{
	int	fd;

	if ((fd = open(tee->path, O_RDWR | O_CLOEXEC)) == -1)
		snprintf(err, errlen, "%s: %s%s%s%s", tee->path,
		    strerror(errno), hint != NULL ? " (" : "",
		    hint != NULL ? hint : "", hint != NULL ? ")" : "");
	return fd;
}
