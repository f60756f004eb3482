/*
 * Random bytes for ids: request ids, W3C trace and span ids, several a
 * request. libsodium's randombytes_buf makes a getrandom(2) call each
 * time, and OpenSSL's RAND_bytes a getpid(2) (its fork check): instead,
 * each thread draws from its own ChaCha20 keystream (libsodium), keyed
 * from randombytes_buf and keyed again after each MiB, as arc4random
 * does. The stream is made ID_RANDOM_BUF bytes at a time, as arc4random
 * does too: a request takes three ids of 8 to 16 bytes, and each call of
 * the cipher costs its setup and a whole 64-byte block. Not for secrets:
 * keys, tokens and nonces keep randombytes_buf. The agent never forks
 * once its threads draw.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"

#define ID_RANDOM_REKEY		2048	/* fills of ID_RANDOM_BUF a key: 1 MiB */
#define ID_RANDOM_MAX		256	/* bytes a draw; ids are 8 or 16 */
#define ID_RANDOM_BUF		512

static _Thread_local struct {
	unsigned char	key[crypto_stream_chacha20_ietf_KEYBYTES];
	uint32_t	fills;		/* since the key; 0: no key yet */
	unsigned char	buf[ID_RANDOM_BUF];
	size_t		used;		/* of buf, handed out */
} id_state;

void
id_random(void *buf, size_t n)
{
	unsigned char	nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = { 0 };
	uint32_t	i;

	if (n > ID_RANDOM_MAX) {
		randombytes_buf(buf, n);
		return;
	}
	if (id_state.fills == 0 || id_state.used + n > sizeof(id_state.buf)) {
		if (id_state.fills == 0 || id_state.fills >= ID_RANDOM_REKEY) {
			randombytes_buf(id_state.key, sizeof(id_state.key));
			id_state.fills = 0;
		}
		/* Each fill its own nonce under the key: none used twice. */
		i = ++id_state.fills;
		nonce[0] = (unsigned char)i;
		nonce[1] = (unsigned char)(i >> 8);
		nonce[2] = (unsigned char)(i >> 16);
		nonce[3] = (unsigned char)(i >> 24);
		crypto_stream_chacha20_ietf(id_state.buf, sizeof(id_state.buf),
		    nonce, id_state.key);
		id_state.used = 0;
	}
	memcpy(buf, id_state.buf + id_state.used, n);
	id_state.used += n;
}
