/*
 * The token form (Tokens' n): name, expiry and the limits token.create
 * takes (requests and tokens a minute, models allowed, a budget and when
 * it resets). Tokens' view sends it and shows the secret once.
 * Runs on cube-tui's main thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "xmalloc.h"

#define FORM_TOKEN_LIMIT_MAX	1000000000LL

static const char *const form_token_periods[] = {
	"none", "day", "week", "month", NULL
};

/* Caller owns the form; its submit is the caller's to set. */
struct form *
form_token_new(void)
{
	struct form		*f;
	struct form_field	*ff;
	cJSON			*a = cJSON_CreateArray();
	size_t			 i;

	f = form_new("create a token", 0);
	form_add(f, "name", "name", FORM_TEXT);
	form_add(f, "expires", NULL, FORM_TEXT);	/* 30d, 12h */
	form_add(f, "requests/min", NULL, FORM_TEXT);
	form_add(f, "tokens/min", NULL, FORM_TEXT);
	form_add(f, "budget USD", NULL, FORM_TEXT);
	for (i = 0; form_token_periods[i] != NULL; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(
		    form_token_periods[i]));
	ff = form_add(f, "budget resets", NULL, FORM_CHOICE);
	form_set_choices(ff, a, "none");
	cJSON_Delete(a);
	form_add(f, "models", NULL, FORM_TEXT);		/* k1, k2 */
	return f;
}

/* A limit field into params as name: 1 set, 0 empty, -1 wrong. */
static int
form_token_int(struct form *f, const char *label, const char *name,
    cJSON *params)
{
	const char	*s = form_value(f, label);
	char		*end;
	long long	 n;

	if (*s == '\0')
		return 0;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || n < 1 ||
	    n > FORM_TOKEN_LIMIT_MAX) {
		snprintf(f->error, sizeof(f->error), "%s: a whole number from"
		    " 1, or empty", label);
		return -1;
	}
	cJSON_AddNumberToObject(params, name, (double)n);
	return 1;
}

/*
 * token.create's parameters from the form (without domain), or NULL with
 * a message in f->error. The agent checks what it alone can know (the
 * models exist, the budget is a sum of money).
 */
cJSON *
form_token_params(struct form *f)
{
	const char	*expires = form_value(f, "expires");
	const char	*budget = form_value(f, "budget USD");
	const char	*period = form_value(f, "budget resets");
	cJSON		*p = cJSON_CreateObject(), *models;
	int64_t		 secs;

	if (*form_value(f, "name") != '\0')
		cJSON_AddStringToObject(p, "name", form_value(f, "name"));
	if (*expires != '\0') {
		if (args_parse_duration(expires, &secs, f->error,
		    sizeof(f->error)) == -1)
			goto fail;
		cJSON_AddNumberToObject(p, "expires_in_s", (double)secs);
	}
	if (form_token_int(f, "requests/min", "rpm", p) == -1 ||
	    form_token_int(f, "tokens/min", "tpm", p) == -1)
		goto fail;
	if (*budget != '\0')
		cJSON_AddStringToObject(p, "budget", budget);
	if (strcmp(period, "none") != 0) {
		if (*budget == '\0') {
			snprintf(f->error, sizeof(f->error), "budget resets:"
			    " needs a budget");
			goto fail;
		}
		cJSON_AddStringToObject(p, "budget_period", period);
	}
	models = form_words(form_value(f, "models"));
	if (cJSON_GetArraySize(models) > 0)
		cJSON_AddItemToObject(p, "models", models);
	else
		cJSON_Delete(models);
	return p;
fail:
	cJSON_Delete(p);
	return NULL;
}
