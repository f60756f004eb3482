/*
 * Command-line flags: parse argv against flag tables (flags before or after
 * positional arguments), check each value by its type, encode it as JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "money.h"
#include "xmalloc.h"

static int	args_check_string(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_enum(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_onoff(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_int(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_number(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_usd(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_duration(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_url(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_list(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
static int	args_check_object(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);

static cJSON	*args_json_true(const struct args_value *);
static cJSON	*args_json_false(const struct args_value *);
static cJSON	*args_json_const(const struct args_value *);
static cJSON	*args_json_null(const struct args_value *);
static cJSON	*args_json_string(const struct args_value *);
static cJSON	*args_json_bool(const struct args_value *);
static cJSON	*args_json_integer(const struct args_value *);
static cJSON	*args_json_number(const struct args_value *);
static cJSON	*args_json_usd(const struct args_value *);
static cJSON	*args_json_list(const struct args_value *);
static cJSON	*args_json_clear(const struct args_value *);
static cJSON	*args_json_object(const struct args_value *);

/* Per type: does it take a value, how to check it, how to send it. */
static const struct {
	int	  takes_value;
	int	(*check)(const struct args_flag *, const char *,
		    struct args_value *, char *, size_t);
	cJSON	*(*json)(const struct args_value *);
} args_types[] = {
	[ARGS_SWITCH] =	  { 0, NULL,			args_json_true },
	[ARGS_FALSE] =	  { 0, NULL,			args_json_false },
	[ARGS_CONST] =	  { 0, NULL,			args_json_const },
	[ARGS_NULL] =	  { 0, NULL,			args_json_null },
	[ARGS_STRING] =	  { 1, args_check_string,	args_json_string },
	[ARGS_ENUM] =	  { 1, args_check_enum,		args_json_string },
	[ARGS_ONOFF] =	  { 1, args_check_onoff,	args_json_bool },
	[ARGS_INT] =	  { 1, args_check_int,		args_json_integer },
	[ARGS_NUMBER] =	  { 1, args_check_number,	args_json_number },
	[ARGS_USD] =	  { 1, args_check_usd,		args_json_usd },
	[ARGS_DURATION] = { 1, args_check_duration,	args_json_integer },
	[ARGS_URL] =	  { 1, args_check_url,		args_json_string },
	[ARGS_LIST] =	  { 1, args_check_list,		args_json_list },
	[ARGS_CLEAR] =	  { 0, NULL,			args_json_clear },
	[ARGS_OBJECT] =	  { 1, args_check_object,	args_json_object },
};

/* Duration units, largest first for nothing but reading. */
static const struct {
	char	unit;
	int64_t	seconds;
} args_units[] = {
	{ 'w', 7 * 86400 },
	{ 'd', 86400 },
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};

int
args_takes_value(const struct args_flag *f)
{
	return args_types[f->type].takes_value;
}

/* "--driver openai|ollama|vllm", "-d DOMAIN", "--tools". */
void
args_flag_usage(const struct args_flag *f, char *buf, size_t len)
{
	size_t	i, n;

	if (!args_takes_value(f)) {
		snprintf(buf, len, "%s", f->name);
		return;
	}
	if (f->type == ARGS_ONOFF) {
		snprintf(buf, len, "%s on|off", f->name);
		return;
	}
	if (f->type != ARGS_ENUM || f->metavar != NULL) {
		snprintf(buf, len, "%s %s", f->name, f->metavar);
		return;
	}
	n = snprintf(buf, len, "%s ", f->name);
	for (i = 0; f->choices[i] != NULL && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i == 0 ? "" : "|",
		    f->choices[i]);
}

static int
args_check_string(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	size_t	len = strlen(s);
	size_t	span;

	(void)v;
	if (len == 0 && !(f->flags & ARGS_EMPTY)) {
		snprintf(err, errlen, "%s: must not be empty", f->name);
		return -1;
	}
	if (f->max > 0 && len > (size_t)f->max) {
		snprintf(err, errlen, "%s: longer than %" PRId64 " bytes",
		    f->name, f->max);
		return -1;
	}
	if (f->charset != NULL && (span = strspn(s, f->charset)) != len) {
		if (isprint((unsigned char)s[span]))
			snprintf(err, errlen, "%s: '%s' may not contain '%c'",
			    f->name, s, s[span]);
		else
			snprintf(err, errlen, "%s: may not contain byte 0x%02x",
			    f->name, (unsigned char)s[span]);
		return -1;
	}
	return 0;
}

static int
args_check_enum(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	size_t	i, n;

	(void)v;
	for (i = 0; f->choices[i] != NULL; i++)
		if (strcmp(f->choices[i], s) == 0)
			return 0;
	n = snprintf(err, errlen, "%s: '%s' is not one of ", f->name, s);
	for (i = 0; f->choices[i] != NULL && n < errlen; i++)
		n += snprintf(err + n, errlen - n, "%s%s", i == 0 ? "" : ", ",
		    f->choices[i]);
	return -1;
}

static int
args_check_onoff(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	if (strcmp(s, "on") == 0)
		v->integer = 1;
	else if (strcmp(s, "off") == 0)
		v->integer = 0;
	else {
		snprintf(err, errlen, "%s: '%s' is not on or off", f->name, s);
		return -1;
	}
	return 0;
}

static int
args_check_int(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' ||
	    errno == ERANGE || n < f->min || n > f->max) {
		snprintf(err, errlen, "%s: '%s' is not an integer from %" PRId64
		    " to %" PRId64, f->name, s, f->min, f->max);
		return -1;
	}
	v->integer = n;
	return 0;
}

static int
args_check_number(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	char	*end;
	double	 d;

	errno = 0;
	d = strtod(s, &end);
	/* Plain decimals only: no hex, inf, nan or leading space. */
	if (*s == '\0' || strspn(s, "0123456789.+-eE") != strlen(s) ||
	    *end != '\0' || errno == ERANGE || !isfinite(d) ||
	    d < (double)f->min || d > (double)f->max) {
		snprintf(err, errlen, "%s: '%s' is not a number from %" PRId64
		    " to %" PRId64, f->name, s, f->min, f->max);
		return -1;
	}
	v->number = d;
	return 0;
}

static int
args_check_usd(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	char	why[256];

	if (money_parse_usd(s, &v->integer, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", f->name, why);
		return -1;
	}
	return 0;
}

/*
 * Parse "30d", "12h", "90m", "3600s", "1h30m" or bare seconds "3600" into
 * seconds. Units: w, d, h, m, s. Returns 0, or -1 with a message.
 */
int
args_parse_duration(const char *s, int64_t *seconds, char *err, size_t errlen)
{
	const char	*p = s;
	int64_t		 total = 0, n, unit;
	size_t		 i;
	int		 bare;

	if (*p == '\0')
		goto bad;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			goto bad;
		for (n = 0; isdigit((unsigned char)*p); p++) {
			if (n > (INT64_MAX - 9) / 10)
				goto large;
			n = n * 10 + (*p - '0');
		}
		bare = (*p == '\0');
		if (bare && p != s + strspn(s, "0123456789"))
			goto bad;	/* "1h30": a unit is missing */
		unit = bare ? 1 : 0;
		for (i = 0; !bare && i < sizeof(args_units) /
		    sizeof(args_units[0]); i++)
			if (args_units[i].unit == *p)
				unit = args_units[i].seconds;
		if (unit == 0)
			goto bad;
		if (!bare)
			p++;
		if (n > (INT64_MAX - total) / unit)
			goto large;
		total += n * unit;
	}
	*seconds = total;
	return 0;

bad:
	snprintf(err, errlen, "'%s' is not a duration (like 30d, 12h, 90m or"
	    " 3600s)", s);
	return -1;
large:
	snprintf(err, errlen, "'%s' is too long a duration", s);
	return -1;
}

static int
args_check_duration(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	char	why[256];

	if (args_parse_duration(s, &v->integer, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", f->name, why);
		return -1;
	}
	if (v->integer < f->min || (f->max > 0 && v->integer > f->max)) {
		snprintf(err, errlen, "%s: '%s' is not from %" PRId64 "s to %"
		    PRId64 "s", f->name, s, f->min, f->max);
		return -1;
	}
	return 0;
}

static int
args_check_url(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	const char	*rest = NULL;
	const char	*p;

	(void)v;
	if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	if (rest == NULL || *rest == '\0' || *rest == '/') {
		snprintf(err, errlen, "%s: '%s' is not an http:// or https://"
		    " URL", f->name, s);
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if (!isgraph((unsigned char)*p) && !((unsigned char)*p & 0x80)) {
			snprintf(err, errlen, "%s: the URL may not contain"
			    " spaces or control characters", f->name);
			return -1;
		}
	}
	return 0;
}

/* Comma-separated items, each non-empty, within max, charset or choices. */
static int
args_check_list(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	const char	*p, *end;
	size_t		 n, i;

	(void)v;
	for (p = s;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		n = end - p;
		if (n == 0 || (f->max > 0 && n > (size_t)f->max)) {
			snprintf(err, errlen, "%s: each of '%s' must be 1 to"
			    " %lld characters", f->name, s, (long long)(f->max >
			    0 ? f->max : 4096));
			return -1;
		}
		for (i = 0; f->charset != NULL && i < n; i++)
			if (strchr(f->charset, p[i]) == NULL) {
				snprintf(err, errlen, "%s: '%.*s' may not"
				    " contain '%c'", f->name, (int)n, p, p[i]);
				return -1;
			}
		for (i = 0; f->choices != NULL && f->choices[i] != NULL; i++)
			if (strlen(f->choices[i]) == n &&
			    strncmp(f->choices[i], p, n) == 0)
				break;
		if (f->choices != NULL && f->choices[i] == NULL) {
			snprintf(err, errlen, "%s: '%.*s' is not one of the"
			    " choices", f->name, (int)n, p);
			return -1;
		}
		if (*end == '\0')
			return 0;
	}
}

static cJSON *
args_json_list(const struct args_value *v)
{
	const char	*p, *end;
	char		*word;
	cJSON		*a, *item;

	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	for (p = v->string;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		word = xstrndup(p, end - p);
		item = cJSON_CreateString(word);
		free(word);
		if (item == NULL)
			fatalx("%s: out of memory", __func__);
		cJSON_AddItemToArray(a, item);
		if (*end == '\0')
			return a;
	}
}

/*
 * The key of f's ARGS_OBJECT item "name=value" (item of len bytes), or
 * NULL with a message; *value and *vlen then say where the value is.
 */
static const struct args_key *
args_object_key(const struct args_flag *f, const char *item, size_t len,
    const char **value, size_t *vlen, char *err, size_t errlen)
{
	const struct args_key	*k;
	const char		*eq;
	size_t			 n = 0, nlen;

	if (len == 0) {
		snprintf(err, errlen, "%s: an empty item (two commas, or one"
		    " at an end)", f->name);
		return NULL;
	}
	if ((eq = memchr(item, '=', len)) == NULL) {
		snprintf(err, errlen, "%s: '%.*s' is not KEY=VALUE", f->name,
		    (int)(len > 64 ? 64 : len), item);
		return NULL;
	}
	nlen = eq - item;
	for (k = f->keys; k->name != NULL; k++) {
		if (strlen(k->name) == nlen && strncmp(k->name, item, nlen) ==
		    0) {
			*value = eq + 1;
			*vlen = len - nlen - 1;
			return k;
		}
	}
	n = snprintf(err, errlen, "%s: unknown key '%.*s' (valid: ", f->name,
	    (int)(nlen > 64 ? 64 : nlen), item);
	for (k = f->keys; k->name != NULL && n < errlen; k++)
		n += snprintf(err + n, errlen - n, "%s%s", k == f->keys ? "" :
		    ", ", k->name);
	if (n < errlen)
		snprintf(err + n, errlen - n, ")");
	return NULL;
}

/*
 * "provider=P,model-id=ID,weight=3": each item a known key, none twice,
 * none empty, each value checked as a flag of the key's type; every
 * required key given.
 */
static int
args_check_object(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	const struct args_key	*k;
	struct args_flag	 sub;
	struct args_value	 sv;
	const char		*p, *end, *value;
	char			 name[128], *copy;
	uint64_t		 seen = 0;
	size_t			 vlen, i;
	int			 rc;

	(void)v;
	for (p = s;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		if ((k = args_object_key(f, p, end - p, &value, &vlen, err,
		    errlen)) == NULL)
			return -1;
		i = k - f->keys;
		if (i >= 64)
			fatalx("%s: too many keys", __func__);
		if (seen & ((uint64_t)1 << i)) {
			snprintf(err, errlen, "%s: %s= given twice", f->name,
			    k->name);
			return -1;
		}
		seen |= (uint64_t)1 << i;
		if (vlen == 0) {
			snprintf(err, errlen, "%s: %s= is empty", f->name,
			    k->name);
			return -1;
		}
		snprintf(name, sizeof(name), "%s %s", f->name, k->name);
		memset(&sub, 0, sizeof(sub));
		sub.name = name;
		sub.type = k->type;
		sub.charset = k->charset;
		sub.min = k->min;
		sub.max = k->max;
		copy = xstrndup(value, vlen);
		rc = args_check_value(&sub, copy, &sv, err, errlen);
		free(copy);
		if (rc == -1)
			return -1;
		if (*end == '\0')
			break;
	}
	for (k = f->keys, i = 0; k->name != NULL; k++, i++) {
		if ((k->flags & ARGS_REQUIRED) && !(seen & ((uint64_t)1 << i))) {
			snprintf(err, errlen, "%s: missing %s=", f->name,
			    k->name);
			return -1;
		}
	}
	return 0;
}

/* A checked ARGS_OBJECT value as {"param": value...}, in the order given. */
static cJSON *
args_json_object(const struct args_value *v)
{
	const struct args_key	*k;
	const char		*p, *end, *value;
	char			 err[256], *copy;
	size_t			 vlen;
	cJSON			*o, *item;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	for (p = v->string;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		k = args_object_key(v->flag, p, end - p, &value, &vlen, err,
		    sizeof(err));
		if (k == NULL)
			fatalx("%s: %s", __func__, err);	/* checked */
		copy = xstrndup(value, vlen);
		if (k->type == ARGS_INT)
			item = cJSON_CreateNumber((double)strtoll(copy, NULL,
			    10));
		else
			item = cJSON_CreateString(copy);
		free(copy);
		if (item == NULL || !cJSON_AddItemToObject(o, k->param, item))
			fatalx("%s: out of memory", __func__);
		if (*end == '\0')
			return o;
	}
}

/* Check s as a value of f and fill v; 0, or -1 with a message naming f. */
int
args_check_value(const struct args_flag *f, const char *s,
    struct args_value *v, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->flag = f;
	v->string = s;
	if ((f->flags & ARGS_NULLABLE) && strcmp(s, "none") == 0) {
		v->null = 1;
		return 0;
	}
	if (args_types[f->type].check == NULL)
		return 0;
	return args_types[f->type].check(f, s, v, err, errlen);
}

static cJSON *
args_json_true(const struct args_value *v)
{
	(void)v;
	return cJSON_CreateTrue();
}

static cJSON *
args_json_false(const struct args_value *v)
{
	(void)v;
	return cJSON_CreateFalse();
}

static cJSON *
args_json_const(const struct args_value *v)
{
	return cJSON_CreateString(v->flag->choices[0]);
}

static cJSON *
args_json_null(const struct args_value *v)
{
	(void)v;
	return cJSON_CreateNull();
}

static cJSON *
args_json_clear(const struct args_value *v)
{
	(void)v;
	return cJSON_CreateArray();
}

static cJSON *
args_json_string(const struct args_value *v)
{
	return cJSON_CreateString(v->string);
}

static cJSON *
args_json_bool(const struct args_value *v)
{
	return cJSON_CreateBool(v->integer != 0);
}

static cJSON *
args_json_integer(const struct args_value *v)
{
	return cJSON_CreateNumber((double)v->integer);
}

static cJSON *
args_json_number(const struct args_value *v)
{
	return cJSON_CreateNumber(v->number);
}

/* Money goes out as the exact decimal string, normalised ("$0.150" -> "0.15"). */
static cJSON *
args_json_usd(const struct args_value *v)
{
	char	buf[MONEY_BUFSZ];

	return cJSON_CreateString(money_format_usd(v->integer, buf,
	    sizeof(buf)));
}

/* The JSON a value is sent as. Caller owns it. */
cJSON *
args_value_json(const struct args_value *v)
{
	cJSON	*json;

	if (v->null)
		json = cJSON_CreateNull();
	else
		json = args_types[v->flag->type].json(v);
	if (json == NULL)
		fatalx("%s: out of memory", __func__);
	return json;
}

/* Find the flag arg names in either table; *inline_value for --x=v, -dv. */
static const struct args_flag *
args_find(const struct args_flag *flags, const struct args_flag *extra,
    const char *arg, const char **inline_value)
{
	const struct args_flag	*tables[2] = { flags, extra };
	const struct args_flag	*f;
	const char		*eq;
	size_t			 len, i;

	*inline_value = NULL;
	len = strlen(arg);
	if (arg[1] == '-' && (eq = strchr(arg, '=')) != NULL) {
		len = eq - arg;
		*inline_value = eq + 1;
	}
	for (i = 0; i < 2; i++) {
		for (f = tables[i]; f != NULL && f->name != NULL; f++) {
			if ((strlen(f->name) == len &&
			    strncmp(f->name, arg, len) == 0) ||
			    (f->alias != NULL && strlen(f->alias) == len &&
			    strncmp(f->alias, arg, len) == 0))
				return f;
		}
	}
	/* -dVALUE: a short flag with its value attached. */
	if (arg[1] != '-' && len > 2) {
		for (i = 0; i < 2; i++) {
			for (f = tables[i]; f != NULL && f->name != NULL; f++) {
				if (strlen(f->name) == 2 &&
				    strncmp(f->name, arg, 2) == 0 &&
				    args_takes_value(f)) {
					*inline_value = arg + 2;
					return f;
				}
			}
		}
	}
	*inline_value = NULL;
	return NULL;
}

/* Is this argv element a flag (rather than a positional)? */
static int
args_is_flag(const char *arg)
{
	return arg[0] == '-' && arg[1] != '\0';
}

/*
 * Does argv ask for help (-h, --help) where a flag may stand? Values of
 * flags are skipped, so "--system-prompt -h" is not a request for help.
 */
int
args_wants_help(const struct args_flag *flags, const struct args_flag *extra,
    int argc, char **argv)
{
	const struct args_flag	*f;
	const char		*inline_value;
	int			 i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
		if (!args_is_flag(argv[i]))
			continue;
		f = args_find(flags, extra, argv[i], &inline_value);
		if (f != NULL && args_takes_value(f) && inline_value == NULL)
			i++;
	}
	return 0;
}

static void
args_add_value(struct args *a, const struct args_value *v)
{
	a->values = xreallocarray(a->values, a->nvalues + 1,
	    sizeof(*a->values));
	a->values[a->nvalues++] = *v;
}

static void
args_add_positional(struct args *a, char *arg)
{
	a->positional = xreallocarray(a->positional, a->npositional + 1,
	    sizeof(*a->positional));
	a->positional[a->npositional++] = arg;
}

/* Refuse a second use of f, or a use of another flag of its group. */
static int
args_check_repeat(const struct args *a, const struct args_flag *f, char *err,
    size_t errlen)
{
	const struct args_flag	*g;
	size_t			 i;

	for (i = 0; i < a->nvalues; i++) {
		g = a->values[i].flag;
		if (g == f && !(f->flags & ARGS_MULTI)) {
			snprintf(err, errlen, "%s: given more than once",
			    f->name);
			return -1;
		}
		if (g != f && f->group != 0 && g->group == f->group) {
			snprintf(err, errlen, "%s and %s cannot be used"
			    " together", g->name, f->name);
			return -1;
		}
	}
	return 0;
}

/* Every required flag of the table was given. */
static int
args_check_required(const struct args *a, const struct args_flag *flags,
    char *err, size_t errlen)
{
	const struct args_flag	*f;
	char			 usage[128];

	for (f = flags; f != NULL && f->name != NULL; f++) {
		if ((f->flags & ARGS_REQUIRED) && !args_has(a, f->name)) {
			args_flag_usage(f, usage, sizeof(usage));
			snprintf(err, errlen, "missing %s", usage);
			return -1;
		}
	}
	return 0;
}

/*
 * Parse argc/argv against flags and extra (either may be NULL). Flags and
 * positionals may mix; "--" ends the flags. With ARGS_STOP_AT_POSITIONAL,
 * parsing stops at the first positional. Returns how many elements were
 * used, or -1 with a message in err (a is then freed).
 */
int
args_parse(struct args *a, const struct args_flag *flags,
    const struct args_flag *extra, int argc, char **argv, int pflags,
    char *err, size_t errlen)
{
	const struct args_flag	*f;
	struct args_value	 v;
	const char		*value, *inline_value;
	char			 usage[128];
	int			 i, flags_done = 0;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		if (!flags_done && strcmp(argv[i], "--") == 0) {
			flags_done = 1;
			continue;
		}
		if (flags_done || !args_is_flag(argv[i])) {
			if (pflags & ARGS_STOP_AT_POSITIONAL)
				break;
			args_add_positional(a, argv[i]);
			continue;
		}
		f = args_find(flags, extra, argv[i], &inline_value);
		if (f == NULL) {
			snprintf(err, errlen, "unknown flag %s", argv[i]);
			goto fail;
		}
		value = NULL;
		if (args_takes_value(f)) {
			if ((value = inline_value) == NULL && i + 1 < argc)
				value = argv[++i];
			if (value == NULL) {
				args_flag_usage(f, usage, sizeof(usage));
				snprintf(err, errlen, "%s needs a value: %s",
				    f->name, usage);
				goto fail;
			}
		} else if (inline_value != NULL) {
			snprintf(err, errlen, "%s takes no value", f->name);
			goto fail;
		}
		if (args_check_repeat(a, f, err, errlen) == -1)
			goto fail;
		if (value != NULL) {
			if (args_check_value(f, value, &v, err, errlen) == -1)
				goto fail;
		} else {
			memset(&v, 0, sizeof(v));
			v.flag = f;
		}
		args_add_value(a, &v);
	}
	if (args_check_required(a, flags, err, errlen) == -1 ||
	    args_check_required(a, extra, err, errlen) == -1)
		goto fail;
	return i;

fail:
	args_free(a);
	return -1;
}

void
args_free(struct args *a)
{
	free(a->values);
	free(a->positional);
	memset(a, 0, sizeof(*a));
}

/* The last value of the flag called name (or with that alias), or NULL. */
const struct args_value *
args_get(const struct args *a, const char *name)
{
	const struct args_flag	*f;
	size_t			 i;

	for (i = a->nvalues; i > 0; i--) {
		f = a->values[i - 1].flag;
		if (strcmp(f->name, name) == 0 ||
		    (f->alias != NULL && strcmp(f->alias, name) == 0))
			return &a->values[i - 1];
	}
	return NULL;
}

int
args_has(const struct args *a, const char *name)
{
	return args_get(a, name) != NULL;
}
