/*
 * The upstream body: the client's bytes with the model key replaced by the
 * upstream model id and the model's defaults added where the request leaves
 * them out. Nothing else is re-serialised, so what the client sent reaches
 * the backend byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "xmalloc.h"

struct rewrite_splice {
	size_t		 at;	/* where, in the client's body */
	size_t		 cut;	/* client bytes replaced */
	const char	*ins;
	size_t		 ins_len;
};

/* Does the messages array already hold a system (or developer) message? */
static int
rewrite_has_system(const char *body, const struct jscan_span *messages)
{
	struct jscan_span	 msg, role;
	size_t			 cursor = 0;

	while (jscan_array_next(body, messages, &cursor, &msg)) {
		if (msg.type != JSCAN_OBJECT ||
		    !jscan_object_get(body, &msg, "role", &role) ||
		    role.type != JSCAN_STRING)
			continue;
		if (jscan_string_eq(body, &role, "system", 6) ||
		    jscan_string_eq(body, &role, "developer", 9))
			return 1;
	}
	return 0;
}

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
rewrite_usage(const char *body, const struct jscan_span *so,
    struct rewrite_splice *sp, char *defaults, size_t dlen, int *dn)
{
	static const char	 member[] = "\"include_usage\":true";
	static const char	 member_comma[] = "\"include_usage\":true,";
	static const char	 object[] = "{\"include_usage\":true}";
	struct jscan_span	 v;

	if (!so->present) {
		*dn += snprintf(defaults + *dn, dlen - *dn,
		    "\"stream_options\":%s,", object);
		return 0;
	}
	if (so->type != JSCAN_OBJECT) {
		*sp = (struct rewrite_splice){ so->start, so->end - so->start,
		    object, sizeof(object) - 1 };
		return 1;
	}
	if (jscan_object_get(body, so, "include_usage", &v)) {
		*sp = (struct rewrite_splice){ v.start, v.end - v.start,
		    "true", 4 };
		return 1;
	}
	if (rewrite_empty(body, so))
		*sp = (struct rewrite_splice){ so->start + 1, 0, member,
		    sizeof(member) - 1 };
	else
		*sp = (struct rewrite_splice){ so->start + 1, 0, member_comma,
		    sizeof(member_comma) - 1 };
	return 1;
}

/* Apply splices in body order: clients put fields in any order. */
static char *
rewrite_apply(const char *body, size_t len, struct rewrite_splice *sp,
    size_t n, size_t *out_len)
{
	char	*out;
	size_t	 i, total, pos;

	for (i = 1; i < n; i++) {
		struct rewrite_splice	 tmp = sp[i];
		size_t			 j;

		for (j = i; j > 0 && sp[j - 1].at > tmp.at; j--)
			sp[j] = sp[j - 1];
		sp[j] = tmp;
	}
	for (total = len, i = 0; i < n; i++)
		total += sp[i].ins_len - sp[i].cut;
	out = xmalloc(total + 1);
	for (pos = 0, total = 0, i = 0; i < n; i++) {
		memcpy(out + total, body + pos, sp[i].at - pos);
		total += sp[i].at - pos;
		memcpy(out + total, sp[i].ins, sp[i].ins_len);
		total += sp[i].ins_len;
		pos = sp[i].at + sp[i].cut;
	}
	memcpy(out + total, body + pos, len - pos);
	total += len - pos;
	out[total] = '\0';
	*out_len = total;
	return out;
}

/*
 * The model's system prompt as the first message of a messages array that
 * has no system message: fills one splice, *sys owns its text. Returns 0
 * when there is nothing to add.
 */
static int
rewrite_system_message(const char *body, const struct jscan_span *messages,
    const struct reg_model *m, struct rewrite_splice *sp, char **sys)
{
	size_t	plen, cap, n;
	int	empty;

	if (m->system_prompt == NULL || !messages->present ||
	    messages->type != JSCAN_ARRAY || rewrite_has_system(body, messages))
		return 0;
	plen = strlen(m->system_prompt);
	cap = 6 * plen + 64;
	*sys = xmalloc(cap);
	n = sprintf(*sys, "{\"role\":\"system\",\"content\":");
	n += jscan_quote(*sys + n, cap - n, m->system_prompt, plen);
	empty = rewrite_empty(body, messages);
	n += sprintf(*sys + n, "}%s", empty ? "" : ",");
	*sp = (struct rewrite_splice){ messages->start + 1, 0, *sys, n };
	return 1;
}

char *
rewrite_body(const char *body, size_t len, const struct rewrite_fields *f,
    const struct reg_model *m, enum route_kind route, int ask_usage,
    size_t *out_len)
{
	const struct jscan_span	*model = &f->model, *messages = &f->messages;
	struct rewrite_splice	 sp[4];
	char			 defaults[192], *sys = NULL, *out;
	size_t			 n = 0, open;
	int			 dn = 0;

	/* The body was validated as one object: '{' after any whitespace. */
	for (open = 0; open < len && body[open] != '{'; open++)
		;

	if (route != ROUTE_EMBEDDINGS) {
		if (m->has_temperature && !f->temperature.present)
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"temperature\":%.15g,", m->temperature);
		if (m->max_tokens > 0 && !f->max_tokens.present &&
		    !f->max_completion_tokens.present)
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"max_tokens\":%lld,", (long long)m->max_tokens);
	}
	if (ask_usage && rewrite_usage(body, &f->stream_options, &sp[n],
	    defaults, sizeof(defaults), &dn))
		n++;
	if (dn > 0)
		sp[n++] = (struct rewrite_splice){ open + 1, 0, defaults, dn };
	sp[n++] = (struct rewrite_splice){ model->start,
	    model->end - model->start, m->model_id_json,
	    strlen(m->model_id_json) };
	if (route == ROUTE_CHAT && rewrite_system_message(body, messages, m,
	    &sp[n], &sys))
		n++;
	out = rewrite_apply(body, len, sp, n, out_len);
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
rewrite_ollama(const char *body, size_t len, const struct rewrite_fields *f,
    const struct reg_model *m, enum route_kind route, size_t *out_len)
{
	const struct jscan_span	*opt = &f->options;
	struct rewrite_splice	 sp[4];
	struct jscan_span	 v;
	char			 defaults[192], *sys = NULL, *out;
	size_t			 n = 0, open, plen, cap;
	int			 dn = 0, has_t, has_n;

	for (open = 0; open < len && body[open] != '{'; open++)
		;
	if (route != ROUTE_EMBEDDINGS && (!opt->present ||
	    opt->type == JSCAN_OBJECT)) {
		has_t = opt->present && jscan_object_get(body, opt,
		    "temperature", &v);
		has_n = opt->present && jscan_object_get(body, opt,
		    "num_predict", &v);
		if (m->has_temperature && !has_t)
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"temperature\":%.15g,", m->temperature);
		if (m->max_tokens > 0 && !has_n)
			dn += snprintf(defaults + dn, sizeof(defaults) - dn,
			    "\"num_predict\":%lld,", (long long)m->max_tokens);
	}
	if (dn > 0 && !opt->present) {
		/* "options":{...}, with the last comma after the brace. */
		memmove(defaults + 11, defaults, dn);
		memcpy(defaults, "\"options\":{", 11);
		dn += 11;
		defaults[dn - 1] = '}';
		defaults[dn++] = ',';
		sp[n++] = (struct rewrite_splice){ open + 1, 0, defaults, dn };
	} else if (dn > 0) {
		if (rewrite_empty(body, opt))
			dn--;	/* no member follows: no comma */
		sp[n++] = (struct rewrite_splice){ opt->start + 1, 0, defaults,
		    dn };
	}
	sp[n++] = (struct rewrite_splice){ f->model.start,
	    f->model.end - f->model.start, m->model_id_json,
	    strlen(m->model_id_json) };
	if (route == ROUTE_CHAT && rewrite_system_message(body, &f->messages,
	    m, &sp[n], &sys))
		n++;
	else if (route == ROUTE_COMPLETIONS && m->system_prompt != NULL &&
	    !f->system.present) {
		plen = strlen(m->system_prompt);
		cap = 6 * plen + 16;
		sys = xmalloc(cap);
		dn = sprintf(sys, "\"system\":");
		dn += jscan_quote(sys + dn, cap - dn, m->system_prompt, plen);
		sys[dn++] = ',';
		sp[n++] = (struct rewrite_splice){ open + 1, 0, sys, dn };
	}
	out = rewrite_apply(body, len, sp, n, out_len);
	free(sys);
	return out;
}
