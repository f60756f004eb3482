/*
 * A stored guardrail (kind, action and the params JSON the admin side
 * wrote) compiled into a guard: the one place both the admin checks and
 * the registry snapshot go through, so what was accepted is what runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "guard.h"
#include "xmalloc.h"

/* The strings of a JSON array member, borrowed from the tree. */
static const char **
guard_spec_strings(const cJSON *params, const char *name, size_t *n)
{
	const cJSON	*a, *e;
	const char	**out;

	*n = 0;
	a = cJSON_GetObjectItemCaseSensitive(params, name);
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0)
		return NULL;
	out = xcalloc(cJSON_GetArraySize(a), sizeof(*out));
	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e))
			out[(*n)++] = e->valuestring;
	return out;
}

static int64_t
guard_spec_int(const cJSON *params, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(params, name);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ?
	    (int64_t)v->valuedouble : 0;
}

struct guard *
guard_spec_compile(const char *key, const char *kind, const char *action,
    const char *params_json, char *err, size_t errlen)
{
	struct guard_spec	 spec;
	struct guard		*g = NULL;
	cJSON			*params;
	const char		**types = NULL;
	size_t			 ntypes, i;
	int			 k, a, t;

	memset(&spec, 0, sizeof(spec));
	spec.key = key;
	if ((k = guard_kind_parse(kind)) == -1 ||
	    (a = guard_action_parse(action)) == -1) {
		snprintf(err, errlen, "unknown kind or action");
		return NULL;
	}
	spec.kind = k;
	spec.action = a;
	if ((params = cJSON_Parse(params_json)) == NULL ||
	    !cJSON_IsObject(params)) {
		cJSON_Delete(params);
		snprintf(err, errlen, "parameters do not parse");
		return NULL;
	}
	types = guard_spec_strings(params, "types", &ntypes);
	for (i = 0; i < ntypes; i++) {
		if ((t = guard_type_parse(types[i])) == -1) {
			snprintf(err, errlen, "types[%zu]: '%s' is not one of"
			    " email, phone, card, iban, ssn, ipv4, secret", i,
			    types[i]);
			goto out;
		}
		spec.types |= 1u << t;
	}
	spec.patterns = guard_spec_strings(params, "patterns",
	    &spec.npatterns);
	spec.words = guard_spec_strings(params, "words", &spec.nwords);
	spec.max_chars = guard_spec_int(params, "max_chars");
	spec.max_messages = guard_spec_int(params, "max_messages");
	g = guard_new(&spec, err, errlen);
out:
	free(types);
	free((void *)spec.patterns);
	free((void *)spec.words);
	cJSON_Delete(params);
	return g;
}
