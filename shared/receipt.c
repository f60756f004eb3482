/*
 * Signed receipts (receipt.h): the payload the agent signs, its string
 * form, and the checks a client runs on one. Library code: no exits, no
 * output; every input is someone else's.
 *
 * The agent makes a receipt string and a tree's hashes for every reply,
 * so its SHA-256 is OpenSSL's, with the CPU's SHA extensions, and its
 * base64url a table of our own (receipt_b64()), where libsodium's are
 * portable C and constant-time (nothing here is secret: the receipt goes
 * to the client). Reading one keeps libsodium's strict base64url decoder.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "receipt.h"

#define RECEIPT_B64	sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(RECEIPT_KEY_BYTES == crypto_sign_PUBLICKEYBYTES, "key");
_Static_assert(RECEIPT_SIG_BYTES == crypto_sign_BYTES, "signature");
_Static_assert(RECEIPT_HASH_BYTES == crypto_hash_sha256_BYTES, "sha256");
_Static_assert(sizeof(RECEIPT_LABEL) == RECEIPT_LABEL_BYTES, "label");
_Static_assert(sizeof(RECEIPT_LABEL_V2) == RECEIPT_LABEL_BYTES, "label v2");
_Static_assert(sizeof(RECEIPT_BATCH_LABEL) == RECEIPT_BATCH_LABEL_BYTES,
    "batch label");
_Static_assert(1 << RECEIPT_PATH_MAX == RECEIPT_BATCH_MAX, "path of a batch");

static const char *const receipt_messages[] = {
	[RECEIPT_OK] = "the receipt verifies",
	[RECEIPT_BAD_SIGNATURE] = "signature: the receipt was not signed by"
	    " this key, or was altered",
	[RECEIPT_BAD_REQUEST] = "request body: its SHA-256 is not the one"
	    " the receipt signs",
	[RECEIPT_BAD_RESPONSE] = "response body: its SHA-256 is not the one"
	    " the receipt signs",
};

const char *
receipt_status_message(enum receipt_status st)
{
	if ((size_t)st >= sizeof(receipt_messages) / sizeof(receipt_messages[0]))
		return "unknown";
	return receipt_messages[st];
}

/* A string field: 1..max bytes of printable ASCII, no spaces. */
static int
receipt_string_ok(const char *s, size_t len, size_t max)
{
	size_t	i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static unsigned char *
receipt_put_string(unsigned char *p, const char *s, size_t max)
{
	size_t	len = strnlen(s, max + 1);

	if (!receipt_string_ok(s, len, max))
		return NULL;
	*p++ = (unsigned char)len;
	memcpy(p, s, len);
	return p + len;
}

size_t
receipt_payload(const struct receipt *r, unsigned char out[RECEIPT_PAYLOAD_MAX])
{
	unsigned char	*p = out;
	int		 i;

	if (r->version != 1 && r->version != 2)
		return 0;
	memcpy(p, r->version == 1 ? RECEIPT_LABEL : RECEIPT_LABEL_V2,
	    RECEIPT_LABEL_BYTES);
	p += RECEIPT_LABEL_BYTES;
	memcpy(p, r->id, RECEIPT_ID_BYTES);
	p += RECEIPT_ID_BYTES;
	for (i = 7; i >= 0; i--)
		*p++ = (unsigned char)(r->time_ms >> (8 * i));
	memcpy(p, r->request_sha256, RECEIPT_HASH_BYTES);
	p += RECEIPT_HASH_BYTES;
	memcpy(p, r->response_sha256, RECEIPT_HASH_BYTES);
	p += RECEIPT_HASH_BYTES;
	if ((p = receipt_put_string(p, r->domain, RECEIPT_DOMAIN_MAX)) ==
	    NULL || (p = receipt_put_string(p, r->model,
	    RECEIPT_MODEL_MAX)) == NULL || (p = receipt_put_string(p,
	    r->route, RECEIPT_ROUTE_MAX)) == NULL)
		return 0;
	return (size_t)(p - out);
}

/*
 * Fetched once: EVP_sha256() would fetch it, under a lock, every time.
 * Each thread keeps one context for its hashes (a batch of n receipts
 * takes about 2n), freed when the thread ends.
 */
static pthread_once_t	 receipt_sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD		*receipt_sha256_md;
static pthread_key_t	 receipt_sha256_key;
static int		 receipt_sha256_keyed;

static void
receipt_sha256_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
receipt_sha256_fetch(void)
{
	receipt_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	receipt_sha256_keyed = pthread_key_create(&receipt_sha256_key,
	    receipt_sha256_ctx_free) == 0;
}

/* This thread's context, or NULL (no memory: the caller uses libsodium). */
static EVP_MD_CTX *
receipt_sha256_ctx(void)
{
	EVP_MD_CTX	*ctx;

	if (!receipt_sha256_keyed)
		return NULL;
	if ((ctx = pthread_getspecific(receipt_sha256_key)) != NULL)
		return ctx;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (pthread_setspecific(receipt_sha256_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * SHA-256 of the byte tag, then a (alen), then b (blen; b may be NULL).
 * Should OpenSSL fail (no memory), libsodium makes the same hash.
 */
static void
receipt_sha256(unsigned char tag, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen,
    unsigned char out[RECEIPT_HASH_BYTES])
{
	crypto_hash_sha256_state	 st;
	EVP_MD_CTX			*ctx;
	int				 ok;

	pthread_once(&receipt_sha256_once, receipt_sha256_fetch);
	if (receipt_sha256_md != NULL && (ctx = receipt_sha256_ctx()) != NULL) {
		ok = EVP_DigestInit_ex2(ctx, receipt_sha256_md, NULL) &&
		    EVP_DigestUpdate(ctx, &tag, 1) &&
		    EVP_DigestUpdate(ctx, a, alen) &&
		    (b == NULL || EVP_DigestUpdate(ctx, b, blen)) &&
		    EVP_DigestFinal_ex(ctx, out, NULL);
		if (ok)
			return;
	}
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &tag, 1);
	crypto_hash_sha256_update(&st, a, alen);
	if (b != NULL)
		crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_final(&st, out);
}

void
receipt_leaf_hash(const unsigned char *payload, size_t len,
    unsigned char out[RECEIPT_HASH_BYTES])
{
	receipt_sha256(0x00, payload, len, NULL, 0, out);
}

static void
receipt_node_hash(const unsigned char left[RECEIPT_HASH_BYTES],
    const unsigned char right[RECEIPT_HASH_BYTES],
    unsigned char out[RECEIPT_HASH_BYTES])
{
	receipt_sha256(0x01, left, RECEIPT_HASH_BYTES, right,
	    RECEIPT_HASH_BYTES, out);
}

/*
 * Level by level from the leaves: pairs hash into their parent, and a
 * last node without a sibling goes up as it is. That is RFC 9162's tree
 * (the left subtree the largest power of two below n), built in n - 1
 * hashes; a leaf's path is its sibling at each level that has one.
 */
int
receipt_batch_tree(const unsigned char (*leaves)[RECEIPT_HASH_BYTES], size_t n,
    unsigned char root[RECEIPT_HASH_BYTES],
    unsigned char (*paths)[RECEIPT_PATH_MAX][RECEIPT_HASH_BYTES],
    size_t *path_lens)
{
	unsigned char	level[RECEIPT_BATCH_MAX][RECEIPT_HASH_BYTES];
	size_t		width, i, j, span, leaf;

	if (n == 0 || n > RECEIPT_BATCH_MAX)
		return -1;
	memcpy(level, leaves, n * RECEIPT_HASH_BYTES);
	if (paths != NULL)
		for (i = 0; i < n; i++)
			path_lens[i] = 0;
	/* Node i of a level stands for leaves [i * span, (i + 1) * span). */
	for (width = n, span = 1; width > 1; width = (width + 1) / 2,
	    span *= 2) {
		if (paths != NULL)
			for (leaf = 0; leaf < n; leaf++) {
				i = leaf / span;
				j = i ^ 1;
				if (j >= width)
					continue;	/* goes up alone */
				memcpy(paths[leaf][path_lens[leaf]++],
				    level[j], RECEIPT_HASH_BYTES);
			}
		for (i = 0; i + 1 < width; i += 2)
			receipt_node_hash(level[i], level[i + 1],
			    level[i / 2]);
		if (width % 2 == 1)
			memmove(level[width / 2], level[width - 1],
			    RECEIPT_HASH_BYTES);
	}
	memcpy(root, level[0], RECEIPT_HASH_BYTES);
	return 0;
}

void
receipt_batch_signed(unsigned size, const unsigned char root[RECEIPT_HASH_BYTES],
    unsigned char out[RECEIPT_BATCH_SIGNED_BYTES])
{
	memcpy(out, RECEIPT_BATCH_LABEL, RECEIPT_BATCH_LABEL_BYTES);
	out[RECEIPT_BATCH_LABEL_BYTES] = (unsigned char)(size >> 8);
	out[RECEIPT_BATCH_LABEL_BYTES + 1] = (unsigned char)size;
	memcpy(out + RECEIPT_BATCH_LABEL_BYTES + 2, root, RECEIPT_HASH_BYTES);
}

/* A v2 receipt's proof bytes into out: index, size, path. */
static size_t
receipt_proof(const struct receipt *r, unsigned char out[RECEIPT_PROOF_MAX])
{
	size_t	i;

	out[0] = (unsigned char)(r->leaf_index >> 8);
	out[1] = (unsigned char)r->leaf_index;
	out[2] = (unsigned char)(r->tree_size >> 8);
	out[3] = (unsigned char)r->tree_size;
	for (i = 0; i < r->path_len; i++)
		memcpy(out + 4 + i * RECEIPT_HASH_BYTES, r->path[i],
		    RECEIPT_HASH_BYTES);
	return 4 + r->path_len * RECEIPT_HASH_BYTES;
}

/*
 * in as base64url without padding into out: RECEIPT_B64_LEN(len)
 * characters, no NUL. By hand: neither library writes this alphabet fast.
 * OpenSSL's encoder writes standard base64 (letters to swap, padding to
 * drop) a byte at a time, libsodium's is constant-time. Each reply
 * carries about 540 characters of receipt: a table lookup a sextet takes
 * 3.7k instructions for them, the encoder and the swap took 5.4k.
 */
static void
receipt_b64(char *out, const unsigned char *in, size_t len)
{
	static const char	 abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t		 v;

	for (; len >= 3; len -= 3, in += 3, out += 4) {
		v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
		out[0] = abc[v >> 18];
		out[1] = abc[v >> 12 & 0x3f];
		out[2] = abc[v >> 6 & 0x3f];
		out[3] = abc[v & 0x3f];
	}
	if (len == 0)
		return;
	v = (uint32_t)in[0] << 16 | (len == 2 ? (uint32_t)in[1] << 8 : 0);
	out[0] = abc[v >> 18];
	out[1] = abc[v >> 12 & 0x3f];
	if (len == 2)
		out[2] = abc[v >> 6 & 0x3f];
}

size_t
receipt_format(const struct receipt *r, char *out, size_t outlen)
{
	unsigned char	 payload[RECEIPT_PAYLOAD_MAX];
	unsigned char	 proof[RECEIPT_PROOF_MAX];
	size_t		 plen, n, b1, b2, b3 = 0, prlen = 0;

	if ((plen = receipt_payload(r, payload)) == 0)
		return 0;
	if (r->version == 2) {
		if (r->path_len > RECEIPT_PATH_MAX)
			return 0;
		prlen = receipt_proof(r, proof);
		b3 = 1 + RECEIPT_B64_LEN(prlen);
	}
	b1 = RECEIPT_B64_LEN(plen);
	b2 = RECEIPT_B64_LEN(RECEIPT_SIG_BYTES);
	n = 3 + b1 + 1 + b2 + b3;
	if (outlen < n + 1)
		return 0;
	memcpy(out, r->version == 1 ? "v1." : "v2.", 3);
	receipt_b64(out + 3, payload, plen);
	out[3 + b1] = '.';
	receipt_b64(out + 4 + b1, r->sig, RECEIPT_SIG_BYTES);
	if (r->version == 2) {
		out[4 + b1 + b2] = '.';
		receipt_b64(out + 5 + b1 + b2, proof, prlen);
	}
	out[n] = '\0';
	return n;
}

/* Read one length-prefixed string of the payload into dst. */
static int
receipt_get_string(const unsigned char **p, const unsigned char *end,
    char *dst, size_t max)
{
	size_t	len;

	if (*p >= end)
		return -1;
	len = **p;
	(*p)++;
	if ((size_t)(end - *p) < len ||
	    !receipt_string_ok((const char *)*p, len, max))
		return -1;
	memcpy(dst, *p, len);
	dst[len] = '\0';
	*p += len;
	return 0;
}

static int
receipt_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A v2 proof's bytes into r: index, size and a path of the right length. */
static int
receipt_parse_proof(struct receipt *r, const char *s, size_t len, char *err,
    size_t errlen)
{
	unsigned char	proof[RECEIPT_PROOF_MAX];
	size_t		n, i, want;
	unsigned	size;

	if (sodium_base642bin(proof, sizeof(proof), s, len, NULL, &n, NULL,
	    RECEIPT_B64) != 0 || n < 4 || (n - 4) % RECEIPT_HASH_BYTES != 0) {
		snprintf(err, errlen, "receipt proof: not an index, a size and"
		    " up to %d hashes of base64url", RECEIPT_PATH_MAX);
		return -1;
	}
	r->leaf_index = (unsigned)proof[0] << 8 | proof[1];
	r->tree_size = (unsigned)proof[2] << 8 | proof[3];
	r->path_len = (n - 4) / RECEIPT_HASH_BYTES;
	/* At most ceil(log2(size)) hashes; verifying checks the exact one. */
	for (want = 0, size = 1; size < r->tree_size; size *= 2)
		want++;
	if (r->tree_size < 2 || r->tree_size > RECEIPT_BATCH_MAX ||
	    r->leaf_index >= r->tree_size || r->path_len > want ||
	    r->path_len == 0) {
		snprintf(err, errlen, "receipt proof: leaf %u of a tree of %u"
		    " with %zu hashes is no place in a batch", r->leaf_index,
		    r->tree_size, r->path_len);
		return -1;
	}
	for (i = 0; i < r->path_len; i++)
		memcpy(r->path[i], proof + 4 + i * RECEIPT_HASH_BYTES,
		    RECEIPT_HASH_BYTES);
	return 0;
}

int
receipt_parse(struct receipt *r, const char *s, size_t len, char *err,
    size_t errlen)
{
	unsigned char		 payload[RECEIPT_PAYLOAD_MAX];
	const unsigned char	*p, *end;
	const char		*sig, *proof = NULL;
	size_t			 plen, b1, b2, n;
	int			 i;

	memset(r, 0, sizeof(*r));
	while (len > 0 && receipt_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && receipt_space(s[len - 1]))
		len--;
	if (len >= 3 && memcmp(s, "v1.", 3) == 0)
		r->version = 1;
	else if (len >= 3 && memcmp(s, "v2.", 3) == 0)
		r->version = 2;
	else {
		snprintf(err, errlen, "not a receipt: it must start with"
		    " \"v1.\" or \"v2.\"");
		return -1;
	}
	if (len > (r->version == 1 ? RECEIPT_V1_MAX : RECEIPT_MAX)) {
		snprintf(err, errlen, "not a receipt: longer than %d"
		    " characters", r->version == 1 ? RECEIPT_V1_MAX :
		    RECEIPT_MAX);
		return -1;
	}
	s += 3;
	len -= 3;
	if ((sig = memchr(s, '.', len)) == NULL) {
		snprintf(err, errlen, "not a receipt: no signature after the"
		    " payload");
		return -1;
	}
	b1 = (size_t)(sig - s);
	sig++;
	b2 = len - b1 - 1;
	if (r->version == 2) {
		if ((proof = memchr(sig, '.', b2)) == NULL) {
			snprintf(err, errlen, "not a v2 receipt: no proof after"
			    " the signature");
			return -1;
		}
		b2 = (size_t)(proof - sig);
		proof++;
		if (receipt_parse_proof(r, proof, len - b1 - 1 - b2 - 1, err,
		    errlen) == -1)
			return -1;
	}
	if (sodium_base642bin(payload, sizeof(payload), s, b1, NULL, &plen,
	    NULL, RECEIPT_B64) != 0) {
		snprintf(err, errlen, "receipt payload: not base64url");
		return -1;
	}
	if (sodium_base642bin(r->sig, sizeof(r->sig), sig, b2, NULL, &n, NULL,
	    RECEIPT_B64) != 0 || n != RECEIPT_SIG_BYTES) {
		snprintf(err, errlen, "receipt signature: not %d bytes of"
		    " base64url", RECEIPT_SIG_BYTES);
		return -1;
	}
	p = payload;
	end = payload + plen;
	if (plen < RECEIPT_FIXED_BYTES || memcmp(p, r->version == 1 ?
	    RECEIPT_LABEL : RECEIPT_LABEL_V2, RECEIPT_LABEL_BYTES) != 0) {
		snprintf(err, errlen, "receipt payload: not a \"%s\" payload",
		    r->version == 1 ? RECEIPT_LABEL : RECEIPT_LABEL_V2);
		return -1;
	}
	p += RECEIPT_LABEL_BYTES;
	memcpy(r->id, p, RECEIPT_ID_BYTES);
	p += RECEIPT_ID_BYTES;
	for (i = 0; i < 8; i++)
		r->time_ms = r->time_ms << 8 | *p++;
	memcpy(r->request_sha256, p, RECEIPT_HASH_BYTES);
	p += RECEIPT_HASH_BYTES;
	memcpy(r->response_sha256, p, RECEIPT_HASH_BYTES);
	p += RECEIPT_HASH_BYTES;
	if (receipt_get_string(&p, end, r->domain, RECEIPT_DOMAIN_MAX) != 0) {
		snprintf(err, errlen, "receipt payload: the domain is damaged");
		return -1;
	}
	if (receipt_get_string(&p, end, r->model, RECEIPT_MODEL_MAX) != 0) {
		snprintf(err, errlen, "receipt payload: the model is damaged");
		return -1;
	}
	if (receipt_get_string(&p, end, r->route, RECEIPT_ROUTE_MAX) != 0) {
		snprintf(err, errlen, "receipt payload: the route is damaged");
		return -1;
	}
	if (p != end) {
		snprintf(err, errlen, "receipt payload: %zu bytes after the"
		    " route", (size_t)(end - p));
		return -1;
	}
	return 0;
}

/* A receipt string's characters: "v1" or "v2", base64url, the dots. */
static size_t
receipt_token_len(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			break;
	}
	return i;
}

/* The same, backwards from end: how many token characters end there. */
static size_t
receipt_token_back(const char *s, size_t end)
{
	size_t	n = 0;

	while (n < end && n <= RECEIPT_MAX &&
	    receipt_token_len(s + end - n - 1, 1) == 1)
		n++;
	return n;
}

static int
receipt_ends_with(const char *s, size_t len, const char *suffix)
{
	size_t	n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Where a stream's receipt is, and what of the body it does not cover. */
struct receipt_where {
	const char	*token;
	size_t		 token_len;
	size_t		 cut_start;	/* body[cut_start..cut_end) is not */
	size_t		 cut_end;	/* signed: the receipt's own bytes */
};

/*
 * A stream that carries its receipt (receipt.h): an SSE comment line,
 * alone at the end or before one "data: [DONE]" event; an NDJSON line
 * of its own at the end; or a "cube_receipt" member added last to the
 * last NDJSON object. 0 with *w filled, or -1.
 */
static int
receipt_locate(const char *body, size_t len, struct receipt_where *w)
{
	static const char	 sse[] = RECEIPT_SSE_PREFIX;
	static const char	 nd[] = RECEIPT_NDJSON_PREFIX;
	static const char	 member[] = RECEIPT_NDJSON_MEMBER;
	static const char	 done[] = "data: [DONE]\n\n";
	size_t			 end = len, n, start;

	/* SSE: ": cube-receipt TOKEN\n\n", then at most [DONE]. */
	if (receipt_ends_with(body, end, done))
		end -= sizeof(done) - 1;
	if (receipt_ends_with(body, end, "\n\n")) {
		n = receipt_token_back(body, end - 2);
		start = end - 2 - n;
		if (n > 0 && start >= sizeof(sse) - 1 &&
		    memcmp(body + start - (sizeof(sse) - 1), sse,
		    sizeof(sse) - 1) == 0) {
			start -= sizeof(sse) - 1;
			if (start == 0 || body[start - 1] == '\n') {
				w->token = body + end - 2 - n;
				w->token_len = n;
				w->cut_start = start;
				w->cut_end = len;
				return 0;
			}
		}
	}
	/* NDJSON: the last object ends ,"cube_receipt":"TOKEN"} (and EOL). */
	end = len;
	while (end > 0 && (body[end - 1] == '\n' || body[end - 1] == '\r'))
		end--;
	if (!receipt_ends_with(body, end, "\"}"))
		return -1;
	n = receipt_token_back(body, end - 2);
	start = end - 2 - n;
	if (n == 0)
		return -1;
	if (start >= sizeof(member) - 1 && memcmp(body + start -
	    (sizeof(member) - 1), member, sizeof(member) - 1) == 0) {
		w->token = body + start;
		w->token_len = n;
		w->cut_start = start - (sizeof(member) - 1);
		w->cut_end = end - 1;		/* the object's '}' stays */
		return 0;
	}
	if (start >= sizeof(nd) - 1 && memcmp(body + start - (sizeof(nd) - 1),
	    nd, sizeof(nd) - 1) == 0) {
		start -= sizeof(nd) - 1;
		if (start == 0 || body[start - 1] == '\n') {
			w->token = body + start + sizeof(nd) - 1;
			w->token_len = n;
			w->cut_start = start;
			w->cut_end = len;
			return 0;
		}
	}
	return -1;
}

void
receipt_response_sha256(const char *body, size_t len,
    unsigned char out[RECEIPT_HASH_BYTES])
{
	crypto_hash_sha256_state	 st;
	struct receipt_where		 w;

	if (sodium_init() < 0 || receipt_locate(body, len, &w) == -1) {
		crypto_hash_sha256(out, (const unsigned char *)body, len);
		return;
	}
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)body,
	    w.cut_start);
	crypto_hash_sha256_update(&st, (const unsigned char *)body + w.cut_end,
	    len - w.cut_end);
	crypto_hash_sha256_final(&st, out);
}

/*
 * A v2 leaf's root from its inclusion path (RFC 9162 2.1.3.2); -1 when
 * the path does not fit the tree's size and the leaf's index.
 */
static int
receipt_path_root(const struct receipt *r, const unsigned char *leaf,
    unsigned char root[RECEIPT_HASH_BYTES])
{
	unsigned char	h[RECEIPT_HASH_BYTES];
	unsigned	fn, sn;
	size_t		i;

	if (r->leaf_index >= r->tree_size)
		return -1;
	fn = r->leaf_index;
	sn = r->tree_size - 1;
	memcpy(h, leaf, sizeof(h));
	for (i = 0; i < r->path_len; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) == 1 || fn == sn) {
			receipt_node_hash(r->path[i], h, h);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else
			receipt_node_hash(h, r->path[i], h);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -1;
	memcpy(root, h, sizeof(h));
	return 0;
}

/* Whether r's signature holds: over its payload (v1) or batch (v2). */
static int
receipt_signature_ok(const struct receipt *r,
    const unsigned char key[RECEIPT_KEY_BYTES])
{
	unsigned char	payload[RECEIPT_PAYLOAD_MAX];
	unsigned char	leaf[RECEIPT_HASH_BYTES], root[RECEIPT_HASH_BYTES];
	unsigned char	batch[RECEIPT_BATCH_SIGNED_BYTES];
	size_t		plen;

	if ((plen = receipt_payload(r, payload)) == 0)
		return 0;
	if (r->version == 1)
		return crypto_sign_verify_detached(r->sig, payload, plen,
		    key) == 0;
	if (r->path_len > RECEIPT_PATH_MAX || r->tree_size < 2 ||
	    r->tree_size > RECEIPT_BATCH_MAX)
		return 0;
	receipt_leaf_hash(payload, plen, leaf);
	if (receipt_path_root(r, leaf, root) == -1)
		return 0;
	receipt_batch_signed(r->tree_size, root, batch);
	return crypto_sign_verify_detached(r->sig, batch, sizeof(batch),
	    key) == 0;
}

enum receipt_status
receipt_verify(const struct receipt *r, const unsigned char key[RECEIPT_KEY_BYTES],
    const unsigned char *request, size_t request_len,
    const unsigned char *response, size_t response_len)
{
	unsigned char	h[RECEIPT_HASH_BYTES];

	if (sodium_init() < 0 || !receipt_signature_ok(r, key))
		return RECEIPT_BAD_SIGNATURE;
	/* The hashes are public: a plain compare would do; this one is. */
	if (request != NULL) {
		crypto_hash_sha256(h, request, request_len);
		if (sodium_memcmp(h, r->request_sha256, sizeof(h)) != 0)
			return RECEIPT_BAD_REQUEST;
	}
	if (response != NULL) {
		receipt_response_sha256((const char *)response, response_len,
		    h);
		if (sodium_memcmp(h, r->response_sha256, sizeof(h)) != 0)
			return RECEIPT_BAD_RESPONSE;
	}
	return RECEIPT_OK;
}

int
receipt_find(const char *text, size_t len, const char **s, size_t *slen)
{
	static const char	 hdr[] = RECEIPT_HEADER ":";
	const char		*line, *nl, *v, *end = text + len;
	size_t			 n;
	struct receipt_where	 w;

	/* A stream ending with its receipt. */
	if (receipt_locate(text, len, &w) == 0) {
		*s = w.token;
		*slen = w.token_len;
		return 0;
	}
	/* A Cube-Receipt header line anywhere in a header dump. */
	for (line = text; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		if ((size_t)(nl - line) <= sizeof(hdr) - 1 ||
		    strncasecmp(line, hdr, sizeof(hdr) - 1) != 0)
			continue;
		v = line + sizeof(hdr) - 1;
		while (v < nl && (*v == ' ' || *v == '\t'))
			v++;
		n = receipt_token_len(v, (size_t)(nl - v));
		if (n == 0)
			continue;
		*s = v;
		*slen = n;
		return 0;
	}
	/* The bare string, white space around it. */
	while (len > 0 && receipt_space(*text)) {
		text++;
		len--;
	}
	while (len > 0 && receipt_space(text[len - 1]))
		len--;
	if (len >= 3 && (memcmp(text, "v1.", 3) == 0 ||
	    memcmp(text, "v2.", 3) == 0) && receipt_token_len(text, len) == len) {
		*s = text;
		*slen = len;
		return 0;
	}
	return -1;
}
