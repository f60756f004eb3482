/* Read a secret into guarded memory and seal it to the agent's public key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "xmalloc.h"

static int
seal_init(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot initialise");
		return -1;
	}
	return 0;
}

/* Drop one trailing newline (LF or CRLF), wiping the bytes dropped. */
static void
seal_secret_chomp(struct seal_secret *s)
{
	if (s->len > 0 && s->data[s->len - 1] == '\n') {
		s->data[--s->len] = '\0';
		if (s->len > 0 && s->data[s->len - 1] == '\r')
			s->data[--s->len] = '\0';
	}
}

/* Fill s->data from fd; 0, or -1 with err. */
static int
seal_secret_fill(struct seal_secret *s, int fd, int flags, char *err,
    size_t errlen)
{
	ssize_t	n;
	size_t	want;

	for (;;) {
		/* One byte at a time on a line, so nothing past it is eaten. */
		want = (flags & SEAL_READ_LINE) ? 1 : SEAL_SECRET_MAX + 1 - s->len;
		n = read(fd, s->data + s->len, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		s->len += n;
		if ((flags & SEAL_READ_LINE) && s->data[s->len - 1] == '\n')
			return 0;
		if (s->len > SEAL_SECRET_MAX) {
			snprintf(err, errlen, "it is longer than %d bytes",
			    SEAL_SECRET_MAX);
			return -1;
		}
	}
}

struct seal_secret *
seal_secret_read(int fd, int flags, char *err, size_t errlen)
{
	struct seal_secret	*s;

	if (seal_init(err, errlen) == -1)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	/* One spare byte to see an overlong secret, one for a NUL. */
	if ((s->data = sodium_malloc(SEAL_SECRET_MAX + 2)) == NULL) {
		free(s);
		snprintf(err, errlen, "cannot allocate guarded memory");
		return NULL;
	}
	sodium_memzero(s->data, SEAL_SECRET_MAX + 2);
	if (seal_secret_fill(s, fd, flags, err, errlen) == -1)
		goto fail;
	seal_secret_chomp(s);
	if (s->len == 0) {
		snprintf(err, errlen, "it is empty");
		goto fail;
	}
	if (memchr(s->data, '\n', s->len) != NULL ||
	    memchr(s->data, '\r', s->len) != NULL) {
		snprintf(err, errlen, "it contains a line break");
		goto fail;
	}
	if (memchr(s->data, '\0', s->len) != NULL) {
		snprintf(err, errlen, "it contains a NUL byte");
		goto fail;
	}
	sodium_mprotect_readonly(s->data);
	return s;

fail:
	seal_secret_free(s);
	return NULL;
}

void
seal_secret_free(struct seal_secret *s)
{
	if (s == NULL)
		return;
	sodium_free(s->data);	/* wipes, even when read-only */
	free(s);
}

char *
seal_box_base64(const char *pk_b64, const unsigned char *msg, size_t len,
    char *err, size_t errlen)
{
	unsigned char	 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char	*box;
	size_t		 pklen, boxlen, outlen;
	char		*out;

	if (seal_init(err, errlen) == -1)
		return NULL;
	if (sodium_base642bin(pk, sizeof(pk), pk_b64, strlen(pk_b64), NULL,
	    &pklen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    pklen != sizeof(pk)) {
		snprintf(err, errlen, "the agent's public key is not %d bytes"
		    " of base64", crypto_box_PUBLICKEYBYTES);
		return NULL;
	}
	boxlen = len + crypto_box_SEALBYTES;
	box = xmalloc(boxlen);
	if (crypto_box_seal(box, msg, len, pk) != 0) {
		free(box);
		snprintf(err, errlen, "cannot seal to the agent's public key");
		return NULL;
	}
	outlen = sodium_base64_ENCODED_LEN(boxlen,
	    sodium_base64_VARIANT_ORIGINAL);
	out = xmalloc(outlen);
	sodium_bin2base64(out, outlen, box, boxlen,
	    sodium_base64_VARIANT_ORIGINAL);
	free(box);
	return out;
}
