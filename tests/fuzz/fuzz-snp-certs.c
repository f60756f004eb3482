/*
 * libFuzzer target for agent/tee-snp.c's GHCB certificate table parser:
 * the host writes the table (sev-guest's certificate buffer, configfs-
 * tsm's auxblob), so any bytes either give PEM certificates or are
 * refused with a message, never read outside the table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* tee-snp.c's device side, which the parser never reaches. */
int
tee_device_open(struct tee *tee, const char *hint, char *err, size_t errlen)
{
	(void)tee;
	(void)hint;
	(void)err;
	(void)errlen;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char	*table;
	char		 err[256], *pem = (char *)1;

	/* A copy of its exact size, so ASan sees a read past the end. */
	if ((table = malloc(len > 0 ? len : 1)) == NULL)
		return 0;
	memcpy(table, data, len);
	if (tee_snp_certs_pem(table, len, &pem, err, sizeof(err)) == 0) {
		if (pem != NULL && strncmp(pem, "-----BEGIN CERTIFICATE-----",
		    27) != 0)
			abort();
	} else if (pem != NULL || memchr(err, '\0', sizeof(err)) == NULL ||
	    err[0] == '\0')
		abort();
	free(pem);
	free(table);
	return 0;
}
