/*
 * The deploy form's pre-flight checklist, evaluated on every keystroke from
 * what the form holds and what the host told us: the same checks
 * model.deploy runs (docs/admin-api.md), plus pricing, so the operator
 * sees what would fail before asking.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "money.h"

#define CHECKLIST_KEY_MAX	128	/* as MODEL_KEY_MAX in the agent */

/*
 * The key the agent derives from a display name when none is given; the
 * same rule as the agent's admin_model_key_from_name (a unit test holds
 * them together): lower-case, keep [a-z0-9._:/], every run of anything
 * else one '-', none at either end, at most 128 bytes. "" when none.
 */
void
checklist_key(const char *name, char *out, size_t len)
{
	size_t	n = 0, max;
	int	sep = 0;
	char	c;

	if (len == 0)
		return;
	max = len - 1 < CHECKLIST_KEY_MAX ? len - 1 : CHECKLIST_KEY_MAX;
	for (; *name != '\0'; name++) {
		c = *name;
		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr("._:/", c) != NULL))) {
			sep = 1;
			continue;
		}
		if (sep && n > 0) {
			if (n + 2 > max)
				break;
			out[n++] = '-';
		}
		if (n + 1 > max)
			break;
		sep = 0;
		out[n++] = c;
	}
	out[n] = '\0';
}

/* The object in array whose field is value, or NULL. */
static const cJSON *
checklist_find(const cJSON *array, const char *field, const char *value)
{
	const cJSON	*item, *v;

	cJSON_ArrayForEach(item, array) {
		v = cJSON_GetObjectItemCaseSensitive(item, field);
		if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
			return item;
	}
	return NULL;
}

static enum check_state checklist_set(struct check *, enum check_state,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

/* Set a check's state and why; returns the state. */
static enum check_state
checklist_set(struct check *c, enum check_state state, const char *fmt, ...)
{
	va_list	ap;

	c->state = state;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return state;
}

static enum check_state
checklist_provider(const struct checklist_input *in, struct check *c)
{
	const cJSON	*p, *status, *error;

	if (*in->provider == '\0')
		return checklist_set(c, CHECK_FAIL, "pick a provider");
	if (in->providers == NULL)
		return checklist_set(c, CHECK_PENDING, "asking");
	if ((p = checklist_find(in->providers, "name", in->provider)) == NULL)
		return checklist_set(c, CHECK_FAIL, "no provider %s",
		    in->provider);
	status = cJSON_GetObjectItemCaseSensitive(p, "status");
	error = cJSON_GetObjectItemCaseSensitive(p, "error");
	if (cJSON_IsString(status) && strcmp(status->valuestring, "active") == 0)
		return checklist_set(c, CHECK_OK, "%s is active", in->provider);
	return checklist_set(c, CHECK_FAIL, "errored: %s", cJSON_IsString(error) ?
	    error->valuestring : "no reason given");
}

/* Served as is, or (ollama) as "id:latest". */
static int
checklist_served(const cJSON *served, const char *id)
{
	const cJSON	*item;
	size_t		 len = strlen(id);

	cJSON_ArrayForEach(item, served) {
		if (!cJSON_IsString(item))
			continue;
		if (strcmp(item->valuestring, id) == 0 ||
		    (strncmp(item->valuestring, id, len) == 0 &&
		    strcmp(item->valuestring + len, ":latest") == 0))
			return 1;
	}
	return 0;
}

/*
 * Listed by provider.models passes. An id the list lacks fails for ollama;
 * for OpenAI-style servers the agent also asks GET {url}/models/{id}
 * on deploy, which this side cannot, so it is a warning.
 */
static enum check_state
checklist_model(const struct checklist_input *in, struct check *c)
{
	const cJSON	*p, *driver;

	if (*in->model_id == '\0')
		return checklist_set(c, CHECK_FAIL, "give a model id");
	if (*in->provider == '\0')
		return checklist_set(c, CHECK_PENDING, "needs a provider");
	if (in->served_err != NULL)
		return checklist_set(c, CHECK_FAIL, "backend: %s",
		    in->served_err);
	if (in->served == NULL)
		return checklist_set(c, CHECK_PENDING, "asking the backend");
	if (checklist_served(in->served, in->model_id))
		return checklist_set(c, CHECK_OK, "the backend serves %s",
		    in->model_id);
	p = checklist_find(in->providers, "name", in->provider);
	driver = cJSON_GetObjectItemCaseSensitive(p, "driver");
	if (cJSON_IsString(driver) && strcmp(driver->valuestring, "ollama"))
		return checklist_set(c, CHECK_WARN, "%s is not in the backend's"
		    " list; the agent asks it on deploy", in->model_id);
	return checklist_set(c, CHECK_FAIL, "the backend does not serve %s",
	    in->model_id);
}

static enum check_state
checklist_unique(const struct checklist_input *in, struct check *c)
{
	char	derived[CHECKLIST_KEY_MAX + 1];
	const char *key = in->key;

	if (*key == '\0') {
		checklist_key(in->name, derived, sizeof(derived));
		key = derived;
	}
	if (*key == '\0')
		return checklist_set(c, CHECK_FAIL, "give a name or a key");
	if (in->models == NULL)
		return checklist_set(c, CHECK_PENDING, "asking");
	if (checklist_find(in->models, "key", key) != NULL)
		return checklist_set(c, CHECK_FAIL, "%s is taken", key);
	return checklist_set(c, CHECK_OK, "%s is free", key);
}

static enum check_state
checklist_pricing(const struct checklist_input *in, struct check *c)
{
	const char	*prices[] = { in->price_input, in->price_output,
			    in->price_cached };
	int64_t		 nano, total = 0;
	char		 err[64];
	size_t		 i;

	for (i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
		if (*prices[i] == '\0')
			continue;
		if (money_parse_usd(prices[i], &nano, err, sizeof(err)) == -1)
			return checklist_set(c, CHECK_FAIL, "price: %s", err);
		total += nano;
	}
	if (total > 0)
		return checklist_set(c, CHECK_OK, "priced");
	if (in->free_ok)
		return checklist_set(c, CHECK_WARN, "free: traced at zero"
		    " cost");
	return checklist_set(c, CHECK_FAIL, "set a price, or mark it free");
}

/* The checks, in the order model.deploy names them, then pricing. */
static const struct {
	const char	*name;
	enum check_state (*eval)(const struct checklist_input *,
		    struct check *);
} checklist_table[CHECKLIST_SIZE] = {
	{ "provider active",	checklist_provider },
	{ "model served",	checklist_model },
	{ "key unique",		checklist_unique },
	{ "pricing",		checklist_pricing },
};

/*
 * Fill out[CHECKLIST_SIZE]. Returns 1 when the deploy may go ahead (every
 * check ok or warn), 0 when one fails or is still pending.
 */
int
checklist_eval(const struct checklist_input *in, struct check *out)
{
	size_t	i;
	int	go = 1;

	for (i = 0; i < CHECKLIST_SIZE; i++) {
		out[i].name = checklist_table[i].name;
		checklist_table[i].eval(in, &out[i]);
		if (out[i].state == CHECK_FAIL || out[i].state == CHECK_PENDING)
			go = 0;
	}
	return go;
}
