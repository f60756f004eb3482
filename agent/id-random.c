/*
 * Random bytes for ids: request ids, W3C trace and span ids, several a
 * request. OpenSSL's per-thread DRBG (seeded and reseeded from the
 * kernel) fills them in user space; libsodium's randombytes_buf makes a
 * getrandom(2) call each time. Keys, tokens and nonces keep libsodium's.
 */
#include <stddef.h>

#include <openssl/rand.h>
#include <sodium.h>

#include "agent.h"

void
id_random(void *buf, size_t n)
{
	if (n == 0 || n > 256 || RAND_bytes(buf, (int)n) != 1)
		randombytes_buf(buf, n);	/* the DRBG failed: the kernel */
}
