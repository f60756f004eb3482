/*
 * Signed receipts: what the agent signs for every answer a model gave
 * and every error after routing (not for refusals before it: no model,
 * maybe no domain), and what a client checks later with the bodies it
 * kept and the agent's Ed25519 identity key (bound in the attestation
 * evidence). The agent makes them (agent/proxy.c, agent/receipt-batch.c),
 * cubectl receipt verify checks them; the format is part of the inference
 * contract (docs/admin-api.md). Two versions:
 *
 *	"v1." base64url(payload) "." base64url(signature)
 *	"v2." base64url(payload) "." base64url(signature) "." base64url(proof)
 *
 * base64url without padding. The payload, the same fields in both:
 *
 *	16	"cube receipt v1" (or "v2") and a NUL
 *	16	request id (x-request-id is its hex)
 *	 8	time, unix milliseconds, unsigned big-endian
 *	32	SHA-256 of the request body as the client sent it
 *	32	SHA-256 of the response body as the client received it (a
 *		stream's: every byte but the receipt's own)
 *	1+n	domain id	(n bytes, 1..RECEIPT_DOMAIN_MAX)
 *	1+n	model key	(1..RECEIPT_MODEL_MAX)
 *	1+n	route		(1..RECEIPT_ROUTE_MAX)
 *
 * and nothing after. Strings are printable ASCII without spaces.
 *
 * v1: the signature is Ed25519 over the payload bytes, exactly.
 *
 * v2 (a batch: one signature for the replies one worker finished in one
 * pass of its loop): the payloads are the leaves of a Merkle tree as RFC
 * 9162 2.1.1 builds it, leaf hash SHA-256(0x00 || payload), node hash
 * SHA-256(0x01 || left || right). The signature is Ed25519 over
 *
 *	22	"cube receipt batch v2" and a NUL
 *	 2	the tree's size (leaves), unsigned big-endian
 *	32	its root
 *
 * and the proof is the payload's place and its inclusion path (RFC 9162
 * 2.1.3.1), leaf to root:
 *
 *	 2	leaf index, unsigned big-endian
 *	 2	tree size, the same as signed
 *	32*k	the path, k hashes (at most RECEIPT_PATH_MAX)
 *
 * A verifier recomputes the root from the payload and the path (RFC 9162
 * 2.1.3.2), then checks the signature over the signed bytes.
 */
#ifndef CUBE_RECEIPT_H
#define CUBE_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#define RECEIPT_LABEL		"cube receipt v1"
#define RECEIPT_LABEL_V2	"cube receipt v2"
#define RECEIPT_LABEL_BYTES	16		/* the label and its NUL */
#define RECEIPT_BATCH_LABEL	"cube receipt batch v2"
#define RECEIPT_BATCH_LABEL_BYTES 22
/* The signed bytes of a v2 batch: label, size, root. */
#define RECEIPT_BATCH_SIGNED_BYTES (RECEIPT_BATCH_LABEL_BYTES + 2 + \
				 RECEIPT_HASH_BYTES)
#define RECEIPT_BATCH_MAX	256		/* leaves under one signature */
#define RECEIPT_PATH_MAX	8		/* log2(RECEIPT_BATCH_MAX) */
#define RECEIPT_PROOF_MAX	(4 + RECEIPT_PATH_MAX * RECEIPT_HASH_BYTES)
#define RECEIPT_ID_BYTES	16
#define RECEIPT_HASH_BYTES	32		/* SHA-256 */
#define RECEIPT_KEY_BYTES	32		/* Ed25519 public key */
#define RECEIPT_SIG_BYTES	64		/* Ed25519 signature */
#define RECEIPT_DOMAIN_MAX	40
#define RECEIPT_MODEL_MAX	128
#define RECEIPT_ROUTE_MAX	24
#define RECEIPT_FIXED_BYTES	(RECEIPT_LABEL_BYTES + RECEIPT_ID_BYTES + 8 + \
				 2 * RECEIPT_HASH_BYTES)
#define RECEIPT_PAYLOAD_MAX	(RECEIPT_FIXED_BYTES + 3 + RECEIPT_DOMAIN_MAX + \
				 RECEIPT_MODEL_MAX + RECEIPT_ROUTE_MAX)
/* Characters of base64 without padding for n bytes. */
#define RECEIPT_B64_LEN(n)	(((n) * 4 + 2) / 3)
/* The longest receipt string of each version, without its NUL. */
#define RECEIPT_V1_MAX		(3 + RECEIPT_B64_LEN(RECEIPT_PAYLOAD_MAX) + 1 + \
				 RECEIPT_B64_LEN(RECEIPT_SIG_BYTES))
#define RECEIPT_MAX		(RECEIPT_V1_MAX + 1 + \
				 RECEIPT_B64_LEN(RECEIPT_PROOF_MAX))

/*
 * Where a stream carries its receipt, which signs every byte of the body
 * but its own: SSE, the comment line RECEIPT_SSE_PREFIX "TOKEN\n\n" right
 * before a last "data: [DONE]\n\n" (or last); Ollama's NDJSON, the member
 * RECEIPT_NDJSON_MEMBER "TOKEN\"" added last to the last object, or,
 * when the stream has no such object, a last line RECEIPT_NDJSON_PREFIX
 * "TOKEN\"}\n".
 */
#define RECEIPT_SSE_PREFIX	": cube-receipt "
#define RECEIPT_NDJSON_MEMBER	",\"cube_receipt\":\""
#define RECEIPT_NDJSON_PREFIX	"{\"cube_receipt\":\""
/* The response header of a whole answer. */
#define RECEIPT_HEADER		"Cube-Receipt"

struct receipt {
	int		 version;		/* 1, or 2 (a batch's) */
	unsigned char	 id[RECEIPT_ID_BYTES];
	uint64_t	 time_ms;
	unsigned char	 request_sha256[RECEIPT_HASH_BYTES];
	unsigned char	 response_sha256[RECEIPT_HASH_BYTES];
	char		 domain[RECEIPT_DOMAIN_MAX + 1];
	char		 model[RECEIPT_MODEL_MAX + 1];
	char		 route[RECEIPT_ROUTE_MAX + 1];
	unsigned char	 sig[RECEIPT_SIG_BYTES];
	/* v2: the leaf's place in its batch and its inclusion path. */
	unsigned	 leaf_index;
	unsigned	 tree_size;
	size_t		 path_len;
	unsigned char	 path[RECEIPT_PATH_MAX][RECEIPT_HASH_BYTES];
};

/* What receipt_verify() found; receipt_status_message() says it. */
enum receipt_status {
	RECEIPT_OK,
	RECEIPT_BAD_SIGNATURE,	/* not signed by this key, or altered */
	RECEIPT_BAD_REQUEST,	/* the request body is not the one signed */
	RECEIPT_BAD_RESPONSE,	/* the response body is not the one signed */
};

/*
 * r's payload (labelled with r->version), into out (RECEIPT_PAYLOAD_MAX
 * room): for v1 the bytes the signature covers, for v2 a leaf. Returns
 * their length, or 0 when a string of r is empty, too long or holds a
 * byte outside printable ASCII, or the version is neither.
 */
size_t	 receipt_payload(const struct receipt *r,
	    unsigned char out[RECEIPT_PAYLOAD_MAX]);
/*
 * A v2 batch of n (1..RECEIPT_BATCH_MAX) leaf hashes, each
 * SHA-256(0x00 || payload): receipt_leaf_hash() makes one. Its root into
 * root, and, when paths is not NULL, each leaf's inclusion path into
 * paths[i] with its length into path_lens[i]. -1 when n is out of range.
 */
void	 receipt_leaf_hash(const unsigned char *payload, size_t len,
	    unsigned char out[RECEIPT_HASH_BYTES]);
int	 receipt_batch_tree(const unsigned char (*leaves)[RECEIPT_HASH_BYTES],
	    size_t n, unsigned char root[RECEIPT_HASH_BYTES],
	    unsigned char (*paths)[RECEIPT_PATH_MAX][RECEIPT_HASH_BYTES],
	    size_t *path_lens);
/* The bytes a v2 batch's signature covers, for a tree of size leaves. */
void	 receipt_batch_signed(unsigned size,
	    const unsigned char root[RECEIPT_HASH_BYTES],
	    unsigned char out[RECEIPT_BATCH_SIGNED_BYTES]);
/*
 * r (signed: r->sig filled, and for v2 its proof) as its string, NUL-terminated, into out of
 * outlen bytes (RECEIPT_MAX + 1 is always enough). Returns its length,
 * or 0 when r's strings are unfit or out is too short.
 */
size_t	 receipt_format(const struct receipt *r, char *out, size_t outlen);
/*
 * Parse a receipt string of len bytes (surrounding white space allowed)
 * into *r. Returns 0, or -1 with the reason in err; never reads past
 * len. Checks the form only, not the signature.
 */
int	 receipt_parse(struct receipt *r, const char *s, size_t len,
	    char *err, size_t errlen);
/*
 * Check r's signature with key, then the SHA-256 of each body against
 * the signed one, in that order: the first that fails is returned. A
 * NULL body (with 0 length) is not checked.
 */
enum receipt_status receipt_verify(const struct receipt *r,
	    const unsigned char key[RECEIPT_KEY_BYTES],
	    const unsigned char *request, size_t request_len,
	    const unsigned char *response, size_t response_len);
const char *receipt_status_message(enum receipt_status);
/*
 * The receipt string in text: the bare string, the value of a
 * Cube-Receipt header line (a header dump, curl -D), or a stream's last
 * receipt line (SSE comment or NDJSON object). 0 with *s and *slen
 * pointing into text, or -1 when there is none.
 */
int	 receipt_find(const char *text, size_t len, const char **s,
	    size_t *slen);
/*
 * The SHA-256 a receipt signs for a response body as received: all of
 * it, or for a stream that carries its receipt, all but the receipt's
 * own bytes (see above). receipt_verify() uses it.
 */
void	 receipt_response_sha256(const char *body, size_t len,
	    unsigned char out[RECEIPT_HASH_BYTES]);

#endif
