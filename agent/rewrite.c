/*
 * The upstream body: the client's bytes with the model key replaced by the
 * upstream model id and the model's defaults added where the request leaves
 * them out, at the places request_scan() found (worker threads). Nothing
 * else is re-serialised, so what the client sent reaches the backend byte
 * for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "xmalloc.h"

/* Is the array or object span empty, only whitespace inside? */
static int
rewrite_empty(const char *body, const struct jscan_span *s)
{
	size_t	pos;

	for (pos = s->start + 1; pos < s->end - 1 &&
	    strchr(" \t\r\n", body[pos]) != NULL; pos++)
		;
	return pos == s->end - 1;
}

/*
 * Make stream_options ask for include_usage: add it, turn a false into
 * true, or replace a stream_options that is not an object. Fills one
 * splice, or adds to defaults (at the body's opening brace) when absent.
 */
static int
rewrite_usage(const struct request *rq, struct request_splice *sp,
    char *defaults, size_t dlen, int *dn)
{
	static const char	 member[] = "\"include_usage\":true";
	static const char	 member_comma[] = "\"include_usage\":true,";
	static const char	 object[] = "{\"include_usage\":true}";
	const struct jscan_span	*so = &rq->stream_options, *v = &rq->include_usage;

	if (!so->present) {
		*dn += snprintf(defaults + *dn, dlen - *dn,
		    "\"stream_options\":%s,", object);
		return 0;
	}
	if (so->type != JSCAN_OBJECT) {
		*sp = (struct request_splice){ so->start, so->end - so->start,
		    object, sizeof(object) - 1 };
		return 1;
	}
	if (v->present) {
		*sp = (struct request_splice){ v->start, v->end - v->start,
		    "true", 4 };
		return 1;
	}
	if (rewrite_empty(rq->body, so))
		*sp = (struct request_splice){ so->start + 1, 0, member,
		    sizeof(member) - 1 };
	else
		*sp = (struct request_splice){ so->start + 1, 0, member_comma,
		    sizeof(member_comma) - 1 };
	return 1;
}

/*
 * The model's system prompt as the first message of a messages array that
 * has no system message: fills one splice, *sys owns its text. Returns 0
 * when there is nothing to add.
 */
static int
rewrite_system_message(struct request *rq, const struct reg_model *m,
    struct request_splice *sp, char **sys)
{
	const struct jscan_span	*messages = &rq->messages;
	size_t			 plen, cap, n;
	int			 empty;

	if (m->system_prompt == NULL || !messages->present ||
	    messages->type != JSCAN_ARRAY || rq->has_system)
		return 0;
	plen = strlen(m->system_prompt);
	cap = 6 * plen + 64;
	*sys = xmalloc(cap);
	n = sprintf(*sys, "{\"role\":\"system\",\"content\":");
	n += jscan_quote(*sys + n, cap - n, m->system_prompt, plen);
	empty = rewrite_empty(rq->body, messages);
	n += sprintf(*sys + n, "}%s", empty ? "" : ",");
	*sp = (struct request_splice){ messages->start + 1, 0, *sys, n };
	rq->prompt_bytes += plen;
	return 1;
}

/* Where members go that are added at top level: after the '{'. */
static size_t
rewrite_open(const struct request *rq)
{
	size_t	open;

	/* The body was validated as one object: '{' after any whitespace. */
	for (open = 0; open < rq->len && rq->body[open] != '{'; open++)
		;
	return open + 1;
}

/*
 * The Responses API's place for the model's system prompt: "instructions",
 * when the body has none and no system or developer input item. Returns
 * the members to add at the top (defaults, then it; caller frees), or
 * NULL when there is no prompt to add.
 */
static char *
rewrite_instructions(struct request *rq, const struct reg_model *m,
    const char *defaults, int dn, size_t *len)
{
	size_t	plen, cap, n;
	char	*s;

	if (m->system_prompt == NULL || rq->instructions.present ||
	    rq->has_system)
		return NULL;
	plen = strlen(m->system_prompt);
	cap = dn + 6 * plen + 32;
	s = xmalloc(cap);
	memcpy(s, defaults, dn);
	n = dn + sprintf(s + dn, "\"instructions\":");
	n += jscan_quote(s + n, cap - n, m->system_prompt, plen);
	s[n++] = ',';
	*len = n;
	rq->prompt_bytes += plen;
	return s;
}

char *
rewrite_body(struct request *rq, const struct reg_model *m,
    enum route_kind route, int ask_usage, size_t *out_len)
{
	const struct jscan_span	*model = &rq->model;
	struct request_splice	 sp[4];
	char			 defaults[192], *sys = NULL, *out;
	size_t			 n = 0, slen;
	int			 dn = 0;

	if (route != ROUTE_EMBEDDINGS) {
		if (m->has_temperature && !rq->temperature.present)
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"temperature\":%.15g,", m->temperature);
		if (m->max_tokens > 0 && !rq->max_tokens.present &&
		    !rq->max_completion_tokens.present &&
		    !rq->max_output_tokens.present) {
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"%s\":%lld,", route == ROUTE_RESPONSES ?
			    "max_output_tokens" : "max_tokens",
			    (long long)m->max_tokens);
			rq->max_output = m->max_tokens;
		}
	} else
		rq->max_output = 0;	/* vectors, not tokens */
	if (ask_usage && rewrite_usage(rq, &sp[n], defaults, sizeof(defaults),
	    &dn))
		n++;
	if (route == ROUTE_RESPONSES && (sys = rewrite_instructions(rq, m,
	    defaults, dn, &slen)) != NULL)
		sp[n++] = (struct request_splice){ rewrite_open(rq), 0, sys,
		    slen };
	else if (dn > 0)
		sp[n++] = (struct request_splice){ rewrite_open(rq), 0,
		    defaults, dn };
	sp[n++] = (struct request_splice){ model->start,
	    model->end - model->start, m->model_id_json,
	    strlen(m->model_id_json) };
	if (route == ROUTE_CHAT && rewrite_system_message(rq, m, &sp[n], &sys))
		n++;
	out = request_apply(rq->body, rq->len, sp, n, out_len);
	free(sys);
	return out;
}

/*
 * Ollama's request: the model key replaced, and the model's defaults where
 * the client left them out, in Ollama's places: temperature and
 * num_predict under "options", the system prompt as a system message
 * (chat) or as "system" (generate).
 */
char *
rewrite_ollama(struct request *rq, const struct reg_model *m,
    enum route_kind route, size_t *out_len)
{
	const struct jscan_span	*opt = &rq->options;
	struct request_splice	 sp[4];
	char			 defaults[192], *sys = NULL, *out;
	size_t			 n = 0, plen, cap;
	int			 dn = 0;

	if (route != ROUTE_EMBEDDINGS && (!opt->present ||
	    opt->type == JSCAN_OBJECT)) {
		if (m->has_temperature && !rq->options_temperature.present)
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"temperature\":%.15g,", m->temperature);
		if (m->max_tokens > 0 && !rq->num_predict.present) {
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"num_predict\":%lld,", (long long)m->max_tokens);
			rq->max_output = m->max_tokens;
		}
	} else if (route == ROUTE_EMBEDDINGS)
		rq->max_output = 0;
	if (dn > 0 && !opt->present) {
		/* "options":{...}, with the last comma after the brace. */
		memmove(defaults + 11, defaults, dn);
		memcpy(defaults, "\"options\":{", 11);
		dn += 11;
		defaults[dn - 1] = '}';
		defaults[dn++] = ',';
		sp[n++] = (struct request_splice){ rewrite_open(rq), 0,
		    defaults, dn };
	} else if (dn > 0) {
		if (rewrite_empty(rq->body, opt))
			dn--;	/* no member follows: no comma */
		sp[n++] = (struct request_splice){ opt->start + 1, 0, defaults,
		    dn };
	}
	sp[n++] = (struct request_splice){ rq->model.start,
	    rq->model.end - rq->model.start, m->model_id_json,
	    strlen(m->model_id_json) };
	if (route == ROUTE_CHAT && rewrite_system_message(rq, m, &sp[n], &sys))
		n++;
	else if (route == ROUTE_COMPLETIONS && m->system_prompt != NULL &&
	    !rq->system.present) {
		plen = strlen(m->system_prompt);
		cap = 6 * plen + 16;
		sys = xmalloc(cap);
		dn = sprintf(sys, "\"system\":");
		dn += jscan_quote(sys + dn, cap - dn, m->system_prompt, plen);
		sys[dn++] = ',';
		sp[n++] = (struct request_splice){ rewrite_open(rq), 0, sys,
		    dn };
		rq->prompt_bytes += plen;
	}
	out = request_apply(rq->body, rq->len, sp, n, out_len);
	free(sys);
	return out;
}

/* Where "model":ID or "model": ID starts in buf, and its length. */
static const char *
rewrite_find_model(const char *buf, size_t len, const char *id_json,
    size_t *found_len)
{
	const char	*p = buf, *end = buf + len, *v;
	size_t		 idlen = strlen(id_json);

	while ((p = memmem(p, end - p, "\"model\":", 8)) != NULL) {
		v = p + 8;
		if (v < end && *v == ' ')
			v++;
		if ((size_t)(end - v) >= idlen && memcmp(v, id_json, idlen) == 0) {
			*found_len = v + idlen - p;
			return p;
		}
		p += 8;
	}
	return NULL;
}

const char *
rewrite_answer_model(const struct reg_model *m, const char *buf, size_t len,
    struct dialect_buf *scratch, size_t *outlen)
{
	const char	*at;
	size_t		 n;

	*outlen = len;
	if (strcmp(m->key_json, m->model_id_json) == 0 ||
	    (at = rewrite_find_model(buf, len, m->model_id_json, &n)) == NULL)
		return buf;
	scratch->len = 0;
	dialect_buf_add(scratch, buf, at - buf);
	dialect_buf_add(scratch, "\"model\":", 8);
	dialect_buf_str(scratch, m->key_json);
	dialect_buf_add(scratch, at + n, len - (at - buf) - n);
	*outlen = scratch->len;
	return scratch->p;
}
