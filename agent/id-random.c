/*
 * Random bytes for ids: request ids, W3C trace and span ids, several a
 * request. libsodium's randombytes_buf makes a getrandom(2) call each
 * time, and OpenSSL's RAND_bytes a getpid(2) (its fork check): instead,
 * each thread draws from its own ChaCha20 keystream (libsodium), keyed
 * from randombytes_buf and keyed again every ID_RANDOM_REKEY draws, as
 * arc4random does. Not for secrets: keys, tokens and nonces keep
 * randombytes_buf. The agent never forks once its threads draw.
 */
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "agent.h"

#define ID_RANDOM_REKEY		65536
#define ID_RANDOM_MAX		256	/* bytes a draw; ids are 8 or 16 */

static _Thread_local struct {
	unsigned char	key[crypto_stream_chacha20_ietf_KEYBYTES];
	uint32_t	draws;		/* since the key; 0: no key yet */
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
	if (id_state.draws == 0 || id_state.draws >= ID_RANDOM_REKEY) {
		randombytes_buf(id_state.key, sizeof(id_state.key));
		id_state.draws = 0;
	}
	/* Each draw its own nonce under the key: no block is used twice. */
	i = ++id_state.draws;
	nonce[0] = (unsigned char)i;
	nonce[1] = (unsigned char)(i >> 8);
	nonce[2] = (unsigned char)(i >> 16);
	nonce[3] = (unsigned char)(i >> 24);
	crypto_stream_chacha20_ietf(buf, n, nonce, id_state.key);
}
