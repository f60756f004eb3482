/*
 * The model list, one data model for every route that lists models: which
 * of a domain's models a token sees (model_list_next()), and OpenAI's
 * shape of it (GET /v1/models, /v1/models/KEY and the snapshot's ready
 * body). Ollama's /api/tags and /api/ps (ollama.c) emit the same
 * selection in their own shape. Runs on any thread; reads a snapshot.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"
#include "xmalloc.h"

/*
 * The next model a listing shows, from *i on: an active model that t may
 * use (t NULL: every active one), in key order; NULL after the last.
 * Start with *i = 0.
 */
const struct reg_model *
model_list_next(const struct reg_domain *d, const struct reg_token *t,
    size_t *i)
{
	const struct reg_model	*m;

	while (*i < d->nmodels) {
		m = &d->models[(*i)++];
		if (m->active && (t == NULL || registry_token_allows(t, m)))
			return m;
	}
	return NULL;
}

/* Room one model's entry can take, its strings escaped at worst. */
static size_t
model_list_room(const struct reg_model *m)
{
	return 6 * (m->key_len + strlen(m->provider->name)) + 100;
}

/* One model in OpenAI's shape, written at p; returns its length. */
static size_t
model_list_entry(char *p, size_t room, const struct reg_model *m)
{
	char	*start = p;

	p += sprintf(p, "{\"id\":");
	p += jscan_quote(p, room - (p - start), m->key, m->key_len);
	p += sprintf(p, ",\"object\":\"model\",\"created\":%lld,"
	    "\"owned_by\":", (long long)m->created);
	p += jscan_quote(p, room - (p - start), m->provider->name,
	    strlen(m->provider->name));
	*p++ = '}';
	return p - start;
}

char *
model_list_openai(const struct reg_domain *d, const struct reg_token *t,
    size_t *len)
{
	const struct reg_model	*m;
	char			*body, *p;
	size_t			 i = 0, cap = 64;

	while ((m = model_list_next(d, t, &i)) != NULL)
		cap += model_list_room(m) + 1;
	p = body = xmalloc(cap);
	p += sprintf(p, "{\"object\":\"list\",\"data\":[");
	i = 0;
	while ((m = model_list_next(d, t, &i)) != NULL) {
		if (p[-1] == '}')
			*p++ = ',';
		p += model_list_entry(p, cap - (p - body), m);
	}
	p += sprintf(p, "]}");
	*len = p - body;
	return body;
}

char *
model_list_openai_one(const struct reg_model *m, size_t *len)
{
	size_t	 cap = model_list_room(m) + 1;
	char	*body = xmalloc(cap);

	*len = model_list_entry(body, cap, m);
	body[*len] = '\0';
	return body;
}
