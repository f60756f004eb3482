/*
 * libFuzzer target for agent/guard-input.c on top of agent/request.c: a
 * request body through a redacting, a blocking, a keywords and a length
 * guardrail. Whatever the bytes: no crash, no leak; a redacted body is a
 * strict request again whose members are where the moved spans say, and
 * holds no address the redacting guardrail would still find.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct guard	*fuzz_guards[4];
static const struct guard *fuzz_gp[4];

static void
fuzz_init(void)
{
	static const char *const patterns[] = { "BLOCK-[0-9]+" };
	static const char *const words[] = { "forbidden plan" };
	struct guard_spec	 specs[4] = {
		{ .key = "pii", .kind = GUARD_PII, .action = GUARD_REDACT,
		  .types = 1u << GUARD_EMAIL },
		{ .key = "re", .kind = GUARD_REGEX, .action = GUARD_BLOCK,
		  .patterns = patterns, .npatterns = 1 },
		{ .key = "kw", .kind = GUARD_KEYWORDS, .action = GUARD_REDACT,
		  .words = words, .nwords = 1 },
		{ .key = "len", .kind = GUARD_LENGTH, .action = GUARD_BLOCK,
		  .max_chars = 4000, .max_messages = 50 },
	};
	char			 err[256];
	size_t			 i;

	for (i = 0; i < 4; i++) {
		if ((fuzz_guards[i] = guard_new(&specs[i], err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "guard_new: %s\n", err);
			abort();
		}
		fuzz_gp[i] = fuzz_guards[i];
	}
}

static void
fuzz_same(const struct jscan_span *a, const struct jscan_span *b)
{
	if (a->present != b->present || (a->present &&
	    (a->start != b->start || a->end != b->end || a->type != b->type)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct reg_model	 m;
	struct request		 rq, fresh;
	struct guard_report	 r;
	struct guard_list	 pii = { fuzz_gp, 1 };
	const struct request_text *t;
	enum guard_result	 res;
	char			*buf, *out, *red, err[128];
	const char		*s;
	size_t			 outlen, n, i, tlen, rlen;
	int			 ollama;

	if (fuzz_guards[0] == NULL)
		fuzz_init();
	memset(&m, 0, sizeof(m));
	m.guard_in.guards = fuzz_gp;
	m.guard_in.n = 4;
	buf = malloc(len ? len : 1);
	memcpy(buf, data, len);
	memset(&rq, 0, sizeof(rq));
	memset(&fresh, 0, sizeof(fresh));
	for (ollama = 0; ollama < 2; ollama++) {
		if (request_scan(&rq, buf, len, ollama, err, sizeof(err)) != 0)
			break;
		memset(&r, 0, sizeof(r));
		res = guard_input(&m, &rq, &out, &outlen, &r);
		if ((res == GUARD_BLOCKED) != (r.blocked_by != NULL) ||
		    (res == GUARD_REDACTED) != (out != NULL))
			abort();
		if (res == GUARD_FAILED && !rq.token_ids && r.blocked_by ==
		    NULL && out != NULL)
			abort();
		if (res != GUARD_REDACTED)
			continue;
		if (rq.body != out || rq.len != outlen ||
		    strlen(out) != outlen)
			abort();
		if (request_scan(&fresh, out, outlen, ollama, err,
		    sizeof(err)) != 0)
			abort();
		fuzz_same(&rq.model, &fresh.model);
		fuzz_same(&rq.messages, &fresh.messages);
		fuzz_same(&rq.max_tokens, &fresh.max_tokens);
		fuzz_same(&rq.stream_options, &fresh.stream_options);
		fuzz_same(&rq.include_usage, &fresh.include_usage);
		fuzz_same(&rq.options, &fresh.options);
		fuzz_same(&rq.num_predict, &fresh.num_predict);
		fuzz_same(&rq.system, &fresh.system);
		/* Nothing the redacting guardrail finds is left. */
		t = request_texts(&fresh, &n);
		for (i = 0; i < n; i++) {
			s = request_text(&fresh, &t[i], &tlen);
			memset(&r, 0, sizeof(r));
			if (guard_text(&pii, s, tlen, &red, &rlen, &r) !=
			    GUARD_PASS)
				abort();
		}
		free(out);
	}
	request_clear(&rq);
	request_clear(&fresh);
	free(buf);
	return 0;
}
