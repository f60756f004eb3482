/*
 * libFuzzer target for agent/request.c: the one strict scan of a request.
 * Whatever the bytes: no crash, no leak; duplicate keys found exactly when
 * a pairwise check of every object finds them; every text span inside the
 * body, in order, shaped as its kind; and spans moved by request_rebase()
 * where a fresh scan of the spliced body finds them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_KEYS	256	/* the pairwise check's limit */

/* Every key with the start of its object, for the pairwise check. */
struct fuzz_keys {
	size_t	 open[REQUEST_MAX_DEPTH + 2];
	size_t	 obj[FUZZ_KEYS];
	size_t	 start[FUZZ_KEYS];
	size_t	 end[FUZZ_KEYS];
	size_t	 n;
	int	 full;
};

static int
fuzz_key_step(void *arg, const struct jscan_token *t)
{
	struct fuzz_keys	*k = arg;

	if (t->step == JSCAN_OPEN)
		k->open[t->depth] = t->span.start;
	if (t->step != JSCAN_KEY)
		return 0;
	if (k->n == FUZZ_KEYS) {
		k->full = 1;
		return 0;
	}
	k->obj[k->n] = k->open[t->depth];
	k->start[k->n] = t->span.start;
	k->end[k->n] = t->span.end;
	k->n++;
	return 0;
}

/* Does any object hold a key twice, compared unescaped, pair by pair? */
static int
fuzz_pairwise(const char *buf, const struct fuzz_keys *k)
{
	struct jscan_span	 a = { JSCAN_STRING, 0, 0, 1 }, b = a;
	char			*sa, *sb;
	ssize_t			 na, nb;
	size_t			 i, j;
	int			 dup = 0;

	for (i = 0; i < k->n && !dup; i++) {
		a.start = k->start[i];
		a.end = k->end[i];
		sa = malloc(a.end - a.start);
		na = jscan_string(buf, &a, sa, a.end - a.start);
		for (j = 0; j < i && !dup; j++) {
			if (k->obj[j] != k->obj[i])
				continue;
			b.start = k->start[j];
			b.end = k->end[j];
			sb = malloc(b.end - b.start);
			nb = jscan_string(buf, &b, sb, b.end - b.start);
			dup = na == nb && memcmp(sa, sb, na) == 0;
			free(sb);
		}
		free(sa);
	}
	return dup;
}

static void
fuzz_span(const struct jscan_span *s, size_t len)
{
	if (s->present && (s->start >= s->end || s->end > len))
		abort();
}

/* The top-level spans of a scan, for comparing two. */
static void
fuzz_spans(const struct request *rq, const struct jscan_span **out)
{
	out[0] = &rq->model;
	out[1] = &rq->stream_options;
	out[2] = &rq->max_tokens;
	out[3] = &rq->messages;
	out[4] = &rq->options;
	out[5] = &rq->include_usage;
	out[6] = &rq->num_predict;
	out[7] = &rq->system;
}

static void
fuzz_rebase(struct request *rq, int ollama)
{
	const struct request_text	*t;
	const struct jscan_span		*a[8], *b[8];
	struct request_splice		 sp;
	struct request			 fresh;
	char				 err[128], *moved;
	size_t				 n, mlen, i;

	t = request_texts(rq, &n);
	if (n == 0 || (t[0].flags & REQUEST_TEXT_KEY))
		return;
	sp = (struct request_splice){ t[0].start, t[0].end - t[0].start,
	    "\"[X]\"", 5 };
	moved = request_apply(rq->body, rq->len, &sp, 1, &mlen);
	request_rebase(rq, moved, mlen, &sp, 1);
	memset(&fresh, 0, sizeof(fresh));
	if (request_scan(&fresh, moved, mlen, ollama, err, sizeof(err)) != 0)
		abort();
	fuzz_spans(rq, a);
	fuzz_spans(&fresh, b);
	for (i = 0; i < 8; i++)
		if (a[i]->present != b[i]->present || (a[i]->present &&
		    (a[i]->start != b[i]->start || a[i]->end != b[i]->end)))
			abort();
	request_clear(&fresh);
	free(moved);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct request			 rq;
	struct fuzz_keys		 k;
	const struct request_text	*t;
	char				*buf, err[128];
	size_t				 n, i, prev;
	int				 rc, valid, ollama;

	buf = malloc(len ? len : 1);
	memcpy(buf, data, len);
	memset(&k, 0, sizeof(k));
	err[0] = '\0';
	valid = jscan_walk(buf, len, REQUEST_MAX_DEPTH, NULL, fuzz_key_step,
	    &k, NULL, 0) == 0;
	memset(&rq, 0, sizeof(rq));
	for (ollama = 0; ollama < 2; ollama++) {
		rc = request_scan(&rq, buf, len, ollama, err, sizeof(err));
		if (rc != 0 && (rc != -1 || memchr(err, '\0', sizeof(err)) ==
		    NULL))
			abort();
		if (rc == 0 && !valid)
			abort();
		/* A duplicate is refused exactly when there is one. */
		if (valid && !k.full && (strncmp(err, "duplicate key", 13) ==
		    0 && rc == -1) != fuzz_pairwise(buf, &k))
			abort();
		if (rc != 0)
			continue;
		if (rq.max_output < -1 || rq.max_output > REQUEST_MAX_TOKENS)
			abort();
		fuzz_span(&rq.model, len);
		fuzz_span(&rq.messages, len);
		fuzz_span(&rq.include_usage, len);
		t = request_texts(&rq, &n);
		for (prev = 0, i = 0; i < n; i++) {
			if (t[i].start < prev || t[i].end > len ||
			    t[i].end <= t[i].start)
				abort();
			if (!(t[i].flags & REQUEST_TEXT_NUMBER) &&
			    (buf[t[i].start] != '"' || buf[t[i].end - 1] != '"'))
				abort();
			prev = t[i].end;
		}
		fuzz_rebase(&rq, ollama);
		err[0] = '\0';
	}
	request_clear(&rq);
	free(buf);
	return 0;
}
