/*
 * Sealing secrets to the agent: a provider API key is read into guarded
 * memory (sodium_malloc) and sealed with crypto_box_seal to the agent's
 * X25519 public key (status.seal_public_key) before it leaves this machine.
 */
#ifndef CUBE_SEAL_H
#define CUBE_SEAL_H

#include <stddef.h>

#define SEAL_SECRET_MAX		8192	/* bytes; API keys are far shorter */

/* seal_secret_read flags */
#define SEAL_READ_LINE		0x1	/* stop at the first newline (a tty) */

/* A secret in sodium_malloc memory, read-only once read. */
struct seal_secret {
	unsigned char	*data;
	size_t		 len;
};

/*
 * Read a secret from fd until end of file (or the first newline with
 * SEAL_READ_LINE), at most SEAL_SECRET_MAX bytes, straight into guarded
 * memory: no stdio buffers, no copies. One trailing newline ("\n" or
 * "\r\n") is stripped; an empty secret or one with a line break or NUL
 * inside is refused. Returns the secret (caller frees with
 * seal_secret_free()), or NULL with a message in err that reads after
 * "refusing the secret: " ("it is empty", "read: ...").
 */
struct seal_secret	*seal_secret_read(int fd, int flags, char *err,
			    size_t errlen);
/* Wipe and free; seal_secret_free(NULL) is a no-op. */
void			 seal_secret_free(struct seal_secret *);

/*
 * Seal len bytes of msg to the base64 (standard, padded) X25519 public
 * key pk_b64. Returns the base64 (standard, padded) of the sealed box;
 * caller owns it, free with free(). NULL with a message in err when the
 * key is not 32 bytes of base64 or libsodium fails.
 */
char			*seal_box_base64(const char *pk_b64,
			    const unsigned char *msg, size_t len, char *err,
			    size_t errlen);

#endif
