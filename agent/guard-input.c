/*
 * The input hook: every text the backend will read, as request_scan()
 * lists them (message contents and names, prompts, inputs, Ollama's
 * system and template, tools and their schemas, response formats, tool
 * call arguments, stop words, the keys a client chose...), goes through
 * the model's input guardrails before anything is sent upstream. Every
 * route that forwards a prompt calls guard_input(), on the worker thread
 * of the request; none can skip it, and what cannot be checked is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"
#include "jscan.h"
#include "xmalloc.h"

/*
 * A redacting guardrail that acted on the request: the one to name when
 * its redaction made two keys of an object the same.
 */
static const char *
guard_input_redactor(const struct guard_report *report)
{
	size_t	i;

	for (i = report->nhits; i > 0; i--)
		if (report->hits[i - 1].action == GUARD_REDACT &&
		    !report->hits[i - 1].output)
			return report->hits[i - 1].key;
	return NULL;
}

/* Does a length guardrail of the list count characters? */
static int
guard_input_counts(const struct guard_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (guard_kind(l->guards[i]) == GUARD_LENGTH &&
		    guard_max_chars(l->guards[i]) > 0)
			return 1;
	return 0;
}

enum guard_result
guard_input(const struct reg_model *m, struct request *rq, char **out,
    size_t *outlen, struct guard_report *report)
{
	const struct request_text	*texts, *t;
	struct request_splice		*sp = NULL;
	enum guard_result		 res = GUARD_PASS;
	const char			*s;
	char				*red, *quoted, err[128];
	size_t				 i, n, len, rlen, cap, nsp = 0;
	size_t				 spcap = 0;
	uint64_t			 chars = 0;
	int				 keys = 0, count;

	*out = NULL;
	*outlen = 0;
	if (guard_list_empty(&m->guard_in))
		return GUARD_PASS;
	/* Token ids say nothing a guardrail can read: refuse them. */
	if (rq->token_ids)
		return GUARD_FAILED;
	count = guard_input_counts(&m->guard_in);
	texts = request_texts(rq, &n);
	for (i = 0; i < n; i++) {
		t = &texts[i];
		s = request_text(rq, t, &len);
		if (count && !(t->flags & (REQUEST_TEXT_KEY |
		    REQUEST_TEXT_NUMBER)))
			chars += guard_utf8_chars(s, len);
		res = guard_text(&m->guard_in, s, len, &red, &rlen, report);
		if (res == GUARD_BLOCKED)
			goto done;
		if (res != GUARD_REDACTED)
			continue;
		/* The redacted text, quoted, takes the value's (or key's) place. */
		cap = 6 * rlen + 3;
		quoted = xmalloc(cap);
		if (nsp == spcap) {
			spcap = spcap > 0 ? 2 * spcap : 16;
			sp = xreallocarray(sp, spcap, sizeof(*sp));
		}
		sp[nsp] = (struct request_splice){ t->start, t->end - t->start,
		    quoted, jscan_quote(quoted, cap, red, rlen) };
		if (!(t->flags & (REQUEST_TEXT_KEY | REQUEST_TEXT_NUMBER)))
			rq->prompt_bytes += sp[nsp].ins_len - sp[nsp].cut;
		nsp++;
		keys |= (t->flags & REQUEST_TEXT_KEY) != 0;
		free(red);
	}
	if ((res = guard_length(&m->guard_in, chars, rq->nmessages, report)) ==
	    GUARD_BLOCKED || nsp == 0)
		goto done;

	*out = request_apply(rq->body, rq->len, sp, nsp, outlen);
	res = GUARD_REDACTED;
	if (!keys) {
		request_rebase(rq, *out, *outlen, sp, nsp);
		goto done;
	}
	/* A redacted key may now equal another: the one rescan tells. */
	if (request_scan(rq, *out, *outlen, rq->ollama, err,
	    sizeof(err)) == -1) {
		report->blocked_by = guard_input_redactor(report);
		free(*out);
		*out = NULL;
		*outlen = 0;
		res = report->blocked_by != NULL ? GUARD_BLOCKED : GUARD_FAILED;
	}
done:
	for (i = 0; i < nsp; i++)
		free((char *)sp[i].ins);
	free(sp);
	return res;
}
