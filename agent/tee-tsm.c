/*
 * The configfs-tsm provider (Linux 6.7+): the kernel's one interface to
 * SEV-SNP reports and TDX quotes. Each request makes its own entry under
 * /sys/kernel/config/tsm/report, writes report_data to inblob, reads
 * outblob (the kernel asks the TEE then), provider and auxblob, checks
 * that no one else wrote to the entry meanwhile (generation), removes it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define TSM_SMALL	64	/* provider, generation */

/* What configfs-tsm's provider attribute says, and what outblob then is. */
static const struct {
	const char	*provider;
	enum tee_format	 format;
} tsm_formats[] = {
	{ "sev_guest",	TEE_FORMAT_SEV_SNP },
	{ "tdx_guest",	TEE_FORMAT_TDX },
};

static unsigned long	tsm_sequence;	/* entry names, atomically */

static int
tsm_open(struct tee *tee, char *err, size_t errlen)
{
	struct stat	 st;
	const char	*why = NULL;

	tee->path = xstrdup(tee->cfg.tsm_root != NULL ? tee->cfg.tsm_root :
	    TEE_TSM_ROOT);
	if (stat(tee->path, &st) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	if (why != NULL) {
		snprintf(err, errlen, "%s: %s (needs Linux 6.7 or later,"
		    " configfs mounted on /sys/kernel/config and a TEE guest"
		    " driver: sev-guest or tdx-guest)", tee->path, why);
		return -1;
	}
	return 0;
}

static int
tsm_write(const char *dir, const char *name, const unsigned char *p,
    size_t len, char *err, size_t errlen)
{
	char	*path;
	ssize_t	 n;
	int	 fd, rc = -1;

	xasprintf(&path, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* configfs takes a binary attribute in one write. */
	while ((n = write(fd, p, len)) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)len)
		snprintf(err, errlen, "write %s: %s", path, n == -1 ?
		    strerror(errno) : "short write");
	else
		rc = 0;
	if (close(fd) == -1 && rc == 0) {
		snprintf(err, errlen, "write %s: %s", path, strerror(errno));
		rc = -1;
	}
out:
	free(path);
	return rc;
}

/* dir/name into *p; a missing optional file is empty. */
static int
tsm_read(const char *dir, const char *name, size_t max, int optional,
    unsigned char **p, size_t *len, char *err, size_t errlen)
{
	char	*path;
	int	 rc;

	xasprintf(&path, "%s/%s", dir, name);
	if (optional && access(path, F_OK) == -1 && errno == ENOENT) {
		*p = NULL;
		*len = 0;
		rc = 0;
	} else
		rc = tee_read_file(path, max, p, len, err, errlen);
	free(path);
	return rc;
}

/* A small text attribute, its trailing newline dropped. */
static int
tsm_read_text(const char *dir, const char *name, char *buf, size_t buflen,
    char *err, size_t errlen)
{
	unsigned char	*p;
	size_t		 len;

	if (tsm_read(dir, name, TSM_SMALL, 0, &p, &len, err, errlen) != 0)
		return -1;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\0'))
		len--;
	snprintf(buf, buflen, "%.*s", (int)len, (const char *)p);
	free(p);
	return 0;
}

/* Everything once the entry exists; the caller removes it. */
static int
tsm_fill(const char *entry, const unsigned char *report_data,
    struct tee_evidence *ev, char *err, size_t errlen)
{
	unsigned char	*aux = NULL;
	char		 provider[TSM_SMALL + 1], gen0[TSM_SMALL + 1];
	char		 gen1[TSM_SMALL + 1], note[ATTEST_DETAIL_MAX] = "";
	size_t		 i, auxlen = 0;
	int		 unread = 0, rc = -1;

	if (tsm_write(entry, "inblob", report_data, ATTEST_REPORT_DATA_SIZE,
	    err, errlen) != 0 ||
	    tsm_read_text(entry, "generation", gen0, sizeof(gen0), err,
	    errlen) != 0 ||
	    tsm_read(entry, "outblob", TEE_REPORT_MAX, 0, &ev->report,
	    &ev->report_len, err, errlen) != 0 ||
	    tsm_read_text(entry, "provider", provider, sizeof(provider), err,
	    errlen) != 0)
		goto out;
	/* Read whole, bounded; the report stands without it, saying so. */
	if (tsm_read(entry, "auxblob", TEE_SNP_TABLE_MAX, 1, &aux, &auxlen,
	    note, sizeof(note)) != 0)
		unread = 1;
	else if (auxlen == 0)
		snprintf(note, sizeof(note), "the host has no certificates");
	if (tsm_read_text(entry, "generation", gen1, sizeof(gen1), err,
	    errlen) != 0)
		goto out;
	if (strcmp(gen0, gen1) != 0) {
		snprintf(err, errlen, "%s changed while it was read"
		    " (generation %s, then %s)", entry, gen0, gen1);
		goto out;
	}
	for (i = 0; i < sizeof(tsm_formats) / sizeof(tsm_formats[0]); i++)
		if (strcmp(tsm_formats[i].provider, provider) == 0)
			break;
	if (i == sizeof(tsm_formats) / sizeof(tsm_formats[0])) {
		snprintf(err, errlen, "%s: provider '%s' is not one this agent"
		    " knows (sev_guest, tdx_guest)", entry, provider);
		goto out;
	}
	ev->format = tsm_formats[i].format;
	/* SEV-SNP's auxblob is the host's certificate table. */
	if (ev->format == TEE_FORMAT_SEV_SNP && auxlen > 0) {
		if (tee_snp_certs_pem(aux, auxlen, &ev->certs, err,
		    errlen) != 0)
			goto out;
		if (ev->certs == NULL)
			snprintf(note, sizeof(note), "the host's certificate"
			    " table holds no VCEK, VLEK, ASK or ARK");
	}
	if (ev->format == TEE_FORMAT_SEV_SNP && ev->certs == NULL) {
		if (unread)
			log_warnx("%s: no host certificates: %s; the report"
			    " goes without them", entry, note);
		ev->certs_note = xstrdup(note);
	}
	rc = 0;
out:
	free(aux);
	return rc;
}

static int
tsm_evidence(struct tee *tee, const unsigned char *report_data,
    struct tee_evidence *ev, char *err, size_t errlen)
{
	int	(*mk)(const char *, mode_t) = tee->cfg.mkdir != NULL ?
		    tee->cfg.mkdir : mkdir;
	int	(*rm)(const char *) = tee->cfg.rmdir != NULL ?
		    tee->cfg.rmdir : rmdir;
	char	*entry;
	int	 rc;

	xasprintf(&entry, "%s/cube-%ld-%lu", tee->path, (long)getpid(),
	    __atomic_add_fetch(&tsm_sequence, 1, __ATOMIC_RELAXED));
	if (mk(entry, 0700) == -1) {
		snprintf(err, errlen, "mkdir %s: %s", entry, strerror(errno));
		free(entry);
		return -1;
	}
	rc = tsm_fill(entry, report_data, ev, err, errlen);
	if (rm(entry) == -1 && rc == 0) {
		snprintf(err, errlen, "rmdir %s: %s", entry, strerror(errno));
		rc = -1;
	}
	free(entry);
	return rc;
}

/*
 * configfs-tsm has no derived-key interface. On SEV-SNP the sev-guest
 * device beside it has one (the same PSP, the same key); on TDX there is
 * none to have: TDX offers guests no sealing key.
 */
static int
tsm_derive_key(struct tee *tee, struct keyfile_key *k, char *err,
    size_t errlen)
{
	const char	*dev = tee->cfg.sev_device != NULL ?
			    tee->cfg.sev_device : TEE_SEV_DEVICE;

	if (access(dev, F_OK) == -1) {
		snprintf(err, errlen, "configfs-tsm has no derived key, and"
		    " there is no %s (TDX offers guests no sealing key)", dev);
		return 1;
	}
	return tee_snp_derive_key(tee, dev, k, err, errlen);
}

const struct tee_ops tee_tsm_ops = {
	"configfs-tsm", 1, 0, tsm_open, tsm_evidence, NULL, tsm_derive_key
};
