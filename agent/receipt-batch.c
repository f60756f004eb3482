/*
 * A worker's receipts, signed in batches: the replies that finish while
 * the worker is busy wait until it has nothing else ready, then one
 * Ed25519 signature covers them all, over the root of a Merkle tree of
 * their payloads (receipt.h, v2), and each reply carries its payload, the
 * signature and its path. A batch of one is signed alone, as v1. The
 * signature is the request path's largest cost (about 15 us with
 * libsodium, against a few for everything else a reply adds); the busier
 * a worker, the more replies share it. Interrupt coalescing, for receipts.
 *
 * A batch is signed as soon as one of these holds:
 * - the loop has nothing else ready, and no other reply is expected
 *   within receipt-wait-us of the batch's first. The batch's idle event
 *   has the lowest of the worker's three priorities (worker.c): libevent
 *   runs it only when an epoll_wait returned nothing, or nothing of a
 *   higher one, so a worker that is not saturated signs in the pass that
 *   finished the reply (unless it holds it, below), and a saturated one
 *   lets replies gather while it works. "Expected": replies have lately
 *   been finishing closer together than what is left of the wait (an
 *   average of the time between them, each gap weighing an eighth). Then
 *   the batch is held, like an adaptive NIC holds its interrupt, until
 *   the next reply (and the same question) or the wait's end. A worker
 *   that finishes a reply now and then never holds one: its gaps are
 *   long;
 * - every call the worker has under way waits for it: nothing else could
 *   join, so it is signed at the end of this pass without asking the
 *   kernel again (a lone request);
 * - it is full (receipt-batch);
 * - RECEIPT_BATCH_WAIT_US went by since its first receipt: the most a
 *   reply waits on a worker that is never idle, a thousand streams
 *   ticking.
 * The last three make the due event active (or its timer fires), at the
 * default priority. Receipts added while a batch is signed (a pipelined
 * request refused at once) go to the other buffer and are signed in the
 * same run. One that comes to a full batch is signed alone by its caller
 * (receipt_batch_add() returns 0), so a batch never outgrows receipt-batch
 * and the order of replies never changes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "receipt.h"
#include "xmalloc.h"

#define RECEIPT_BATCH_WAIT_US	1000	/* the longest a busy worker holds one */
/* A longer gap counts as this: a quiet spell ends holding, and not for long. */
#define RECEIPT_GAP_MAX_US	10000

struct receipt_slot {
	struct receipt		 rc;
	/* Its tree's leaf, hashed as it came: the payload is made once. */
	unsigned char		 leaf[RECEIPT_HASH_BYTES];
	receipt_signed_cb	 cb;
	void			*arg;
};

struct receipt_batch {
	const struct vault	*vault;
	const int		*max;		/* the worker's receipt-batch */
	const int		*wait_us;	/* its receipt-wait-us */
	const unsigned		*calls;		/* the worker's calls under way */
	struct event		*idle;		/* the lowest priority */
	struct event		*due;		/* the wait's end, or now */
	/* Two buffers: one fills while the other's callbacks run. */
	struct receipt_slot	*slots[2];
	size_t			 cap[2];
	int			 cur;
	size_t			 n;		/* in slots[cur] */
	/* The tree's working space, for the largest batch so far. */
	unsigned char		(*leaves)[RECEIPT_HASH_BYTES];
	unsigned char		(*paths)[RECEIPT_PATH_MAX][RECEIPT_HASH_BYTES];
	size_t			*path_lens;
	size_t			 tree_cap;
	uint64_t		 signatures, receipts;	/* for the log */
	/* The monotonic clock, in microseconds. */
	int64_t			 first_us;	/* the batch's first receipt */
	int64_t			 last_us;	/* the last receipt added */
	int64_t			 gap_us;	/* the average gap between */
	int			 held;		/* the idle event declined */
};

static int64_t
receipt_batch_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
receipt_sign_one(const struct vault *v, struct receipt *rc,
    receipt_signed_cb cb, void *arg)
{
	unsigned char	payload[RECEIPT_PAYLOAD_MAX];
	char		s[RECEIPT_MAX + 1];
	size_t		plen, n = 0;

	rc->version = 1;
	if ((plen = receipt_payload(rc, payload)) > 0) {
		vault_sign(v, payload, plen, rc->sig);
		n = receipt_format(rc, s, sizeof(s));
		metrics_receipts(1, 1);
	}
	cb(arg, n > 0 ? s : NULL, n);
}

/* The tree's space for n leaves; -1 when there is no memory for it. */
static int
receipt_batch_room(struct receipt_batch *b, size_t n)
{
	void	*l, *p, *pl;

	if (n <= b->tree_cap)
		return 0;
	l = reallocarray(b->leaves, n, sizeof(*b->leaves));
	if (l != NULL)
		b->leaves = l;
	p = reallocarray(b->paths, n, sizeof(*b->paths));
	if (p != NULL)
		b->paths = p;
	pl = reallocarray(b->path_lens, n, sizeof(*b->path_lens));
	if (pl != NULL)
		b->path_lens = pl;
	if (l == NULL || p == NULL || pl == NULL)
		return -1;
	b->tree_cap = n;
	return 0;
}

/* Sign n receipts under one signature and call each one's callback. */
static void
receipt_batch_sign(struct receipt_batch *b, struct receipt_slot *s, size_t n)
{
	unsigned char	root[RECEIPT_HASH_BYTES];
	unsigned char	signed_bytes[RECEIPT_BATCH_SIGNED_BYTES];
	unsigned char	sig[RECEIPT_SIG_BYTES];
	char		str[RECEIPT_MAX + 1];
	size_t		i, len;

	b->signatures++;
	b->receipts += n;
	if (n == 1 || receipt_batch_room(b, n) == -1) {
		/* No room for a tree: each alone, slower but signed. */
		for (i = 0; i < n; i++)
			receipt_sign_one(b->vault, &s[i].rc, s[i].cb,
			    s[i].arg);
		b->signatures += n - 1;
		return;
	}
	for (i = 0; i < n; i++)
		memcpy(b->leaves[i], s[i].leaf, RECEIPT_HASH_BYTES);
	(void)receipt_batch_tree((const void *)b->leaves, n, root, b->paths,
	    b->path_lens);
	receipt_batch_signed((unsigned)n, root, signed_bytes);
	vault_sign(b->vault, signed_bytes, sizeof(signed_bytes), sig);
	metrics_receipts((unsigned)n, 1);
	for (i = 0; i < n; i++) {
		memcpy(s[i].rc.sig, sig, sizeof(sig));
		s[i].rc.leaf_index = (unsigned)i;
		s[i].rc.tree_size = (unsigned)n;
		s[i].rc.path_len = b->path_lens[i];
		memcpy(s[i].rc.path, b->paths[i],
		    b->path_lens[i] * RECEIPT_HASH_BYTES);
		len = receipt_format(&s[i].rc, str, sizeof(str));
		s[i].cb(s[i].arg, len > 0 ? str : NULL, len);
	}
}

void
receipt_batch_flush(struct receipt_batch *b)
{
	struct receipt_slot	*s;
	size_t			 n;

	if (b == NULL)
		return;
	/* Until no callback adds any more: a refusal can follow a reply. */
	while (b->n > 0) {
		s = b->slots[b->cur];
		n = b->n;
		b->cur ^= 1;
		b->n = 0;
		b->held = 0;
		receipt_batch_sign(b, s, n);
	}
	/* Whichever did not run: the next batch sets them again. */
	event_del(b->idle);
	event_del(b->due);
}

static void
receipt_batch_run(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	receipt_batch_flush(arg);
}

/* Every call the worker has under way waits for this batch. */
static int
receipt_batch_all_wait(const struct receipt_batch *b)
{
	return b->n >= *b->calls;
}

/*
 * The loop is idle: sign, unless another reply is expected before the
 * wait ends (the head). Then the due timer is moved to the wait's end,
 * and the next receipt asks again.
 */
static void
receipt_batch_idle(evutil_socket_t fd, short what, void *arg)
{
	struct receipt_batch	*b = arg;
	struct timeval		 tv;
	int64_t			 age, left;

	(void)fd;
	(void)what;
	if (*b->wait_us > 0 && !receipt_batch_all_wait(b)) {
		age = receipt_batch_now_us() - b->first_us;
		left = *b->wait_us - age;
		if (b->gap_us < left) {
			tv.tv_sec = 0;
			tv.tv_usec = (suseconds_t)left;
			b->held = 1;
			event_add(b->due, &tv);
			return;
		}
	}
	receipt_batch_flush(b);
}

struct receipt_batch *
receipt_batch_new(struct event_base *base, const struct vault *v,
    const int *max, const int *wait_us, const unsigned *calls)
{
	struct receipt_batch	*b = xcalloc(1, sizeof(*b));

	b->vault = v;
	b->max = max;
	b->wait_us = wait_us;
	b->calls = calls;
	b->gap_us = RECEIPT_GAP_MAX_US;
	b->idle = event_new(base, -1, 0, receipt_batch_idle, b);
	b->due = event_new(base, -1, 0, receipt_batch_run, b);
	if (b->idle == NULL || b->due == NULL ||
	    event_priority_set(b->idle, event_base_get_npriorities(base) - 1)
	    != 0)
		fatalx("%s: event_new", __func__);
	return b;
}

int
receipt_batch_add(struct receipt_batch *b, const struct receipt *rc,
    receipt_signed_cb cb, void *arg)
{
	static const struct timeval wait = { 0, RECEIPT_BATCH_WAIT_US };
	struct receipt_slot	*s;
	unsigned char		 payload[RECEIPT_PAYLOAD_MAX];
	size_t			 plen, max, want;
	int64_t			 now, gap;
	int			 c;

	if (b == NULL || *b->max <= 1)
		return 0;
	max = (size_t)*b->max;
	if (max > RECEIPT_BATCH_MAX)
		max = RECEIPT_BATCH_MAX;
	if (b->n >= max)
		return 0;	/* full (or made smaller by SIGHUP) */
	c = b->cur;
	if (b->n == b->cap[c]) {
		/* Grown as a busy worker needs, a few steps at most. */
		want = b->cap[c] == 0 ? 8 : b->cap[c] * 2;
		if (want > max)
			want = max;
		if ((s = reallocarray(b->slots[c], want, sizeof(*s))) == NULL)
			return 0;
		b->slots[c] = s;
		b->cap[c] = want;
	}
	s = &b->slots[c][b->n];
	s->rc = *rc;
	s->rc.version = 2;
	if ((plen = receipt_payload(&s->rc, payload)) == 0)
		return -1;
	receipt_leaf_hash(payload, plen, s->leaf);
	s->cb = cb;
	s->arg = arg;
	now = receipt_batch_now_us();
	gap = now - b->last_us;
	if (gap < 0 || gap > RECEIPT_GAP_MAX_US)
		gap = RECEIPT_GAP_MAX_US;
	b->gap_us += (gap - b->gap_us) / 8;
	b->last_us = now;
	if (b->n++ == 0) {
		b->first_us = now;
		event_active(b->idle, EV_TIMEOUT, 0);
		event_add(b->due, &wait);
	} else if (b->held) {
		/* Held for this one: ask again when the loop is idle. */
		b->held = 0;
		event_active(b->idle, EV_TIMEOUT, 0);
	}
	if (b->n == max || receipt_batch_all_wait(b))
		event_active(b->due, EV_TIMEOUT, 0);
	return 1;
}

void
receipt_batch_call_ended(struct receipt_batch *b)
{
	/* Only a held batch waits on calls; the others sign on their own. */
	if (b != NULL && b->held && receipt_batch_all_wait(b))
		event_active(b->due, EV_TIMEOUT, 0);
}

void
receipt_batch_free(struct receipt_batch *b)
{
	if (b == NULL)
		return;
	receipt_batch_flush(b);
	if (b->signatures > 0)
		log_debug("receipts: %llu in %llu signatures",
		    (unsigned long long)b->receipts,
		    (unsigned long long)b->signatures);
	event_free(b->idle);
	event_free(b->due);
	free(b->slots[0]);
	free(b->slots[1]);
	free(b->leaves);
	free(b->paths);
	free(b->path_lens);
	free(b);
}
