/*
 * JWT bearer tokens (RFC 7519) from an operator's identity provider, checked
 * against a domain's OIDC settings: the JWS verified by cjose with a key of
 * the domain's JWKS, the claims (iss, aud, exp, nbf, iat, sub and the mapped
 * limit claims) read with cJSON. jwt_verify() runs on the worker threads and
 * reads the registry snapshot only; the rest runs on the admin loop when the
 * snapshot is built or a domain is edited.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <cjose/cjose.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "money.h"
#include "xmalloc.h"

#define JWT_CLAIM_MODELS_MAX	256	/* entries of a models claim */
#define JWT_SUBJECT_MAX		256
#define JWT_KID_MAX		256
#define JWT_COUNT_MAX		1000000000LL	/* rpm or tpm a claim may set */
#define JWT_BUDGET_USD_MAX	1000000.0	/* a budget claim, in USD */

struct jwt_key {
	char		*kid;		/* NULL: the JWK has none */
	char		 alg[8];	/* the JWK's "alg", or "" */
	cjose_jwk_t	*jwk;
};

struct jwt_keys {
	struct jwt_key	*keys;
	size_t		 n;
};

/* The algorithms a domain may allow: asymmetric only, never none or HS*. */
static const struct {
	const char	*name;
	cjose_jwk_kty_t	 kty;
	int		 curve;		/* EC: the curve; else 0 */
} jwt_algs[JWT_NALGS] = {
	[JWT_RS256] = { "RS256", CJOSE_JWK_KTY_RSA, 0 },
	[JWT_RS384] = { "RS384", CJOSE_JWK_KTY_RSA, 0 },
	[JWT_RS512] = { "RS512", CJOSE_JWK_KTY_RSA, 0 },
	[JWT_PS256] = { "PS256", CJOSE_JWK_KTY_RSA, 0 },
	[JWT_PS384] = { "PS384", CJOSE_JWK_KTY_RSA, 0 },
	[JWT_PS512] = { "PS512", CJOSE_JWK_KTY_RSA, 0 },
	[JWT_ES256] = { "ES256", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_256 },
	[JWT_ES384] = { "ES384", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_384 },
	[JWT_ES512] = { "ES512", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_521 },
};

/* The limit claims a domain may map, as the configuration names them. */
static const char *const jwt_claim_keys[JWT_NCLAIMS] = {
	[JWT_CLAIM_RPM] = "rpm",
	[JWT_CLAIM_TPM] = "tpm",
	[JWT_CLAIM_BUDGET] = "budget",
	[JWT_CLAIM_MODELS] = "models",
};

int
jwt_alg_parse(const char *name)
{
	int	i;

	for (i = 0; i < JWT_NALGS; i++)
		if (strcmp(name, jwt_algs[i].name) == 0)
			return i;
	return -1;
}

const char *
jwt_alg_name(int alg)
{
	return alg >= 0 && alg < JWT_NALGS ? jwt_algs[alg].name : "?";
}

/* --- configuration (admin loop) ---------------------------------------- */

void
jwt_config_free(struct jwt_config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->issuer);
	free(c->audience);
	free(c->jwks_file);
	free(c->jwks_url);
	free(c->domain_claim);
	for (i = 0; i < JWT_NCLAIMS; i++)
		free(c->claims[i]);
	for (i = 0; i < c->nmodels; i++)
		free(c->models[i]);
	free(c->models);
	jwt_keys_free(c->keys);
	free(c);
}

/* A claim name: 1-64 printable ASCII bytes. */
static int
jwt_claim_name_valid(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

/*
 * Whether url may serve a JWKS: https, or http to the loopback address
 * (a local identity service, and the tests). No credentials in it.
 */
int
jwt_jwks_url_valid(const char *url)
{
	const char	*host;
	size_t		 n = strlen(url), i;

	if (n > 2048)
		return 0;
	for (i = 0; i < n; i++)
		if (url[i] <= ' ' || url[i] > '~')
			return 0;
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://127.0.0.1:", 17) == 0 ||
	    strncmp(url, "http://127.0.0.1/", 17) == 0 ||
	    strncmp(url, "http://[::1]", 12) == 0)
		host = url + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/' || strchr(host, '@') != NULL)
		return 0;
	return 1;
}

/* A string member of o, 1..max bytes, into *out; absent leaves it NULL. */
static int
jwt_config_string(const cJSON *o, const char *name, size_t max, char **out,
    char *err, size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
	    strlen(v->valuestring) > max) {
		snprintf(err, errlen, "jwt.%s: must be a string of 1-%zu"
		    " bytes", name, max);
		return -1;
	}
	*out = xstrdup(v->valuestring);
	return 0;
}

/* An integer member of o within [min, max]; absent leaves *out alone. */
static int
jwt_config_int(const cJSON *o, const char *name, int64_t min, int64_t max,
    int64_t *out, char *err, size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < (double)min || v->valuedouble > (double)max) {
		snprintf(err, errlen, "jwt.%s: must be an integer from %lld"
		    " to %lld", name, (long long)min, (long long)max);
		return -1;
	}
	*out = (int64_t)v->valuedouble;
	return 0;
}

static const char *const jwt_config_members[] = {
	"issuer", "audience", "jwks_file", "jwks_url", "algorithms", "leeway",
	"jwks_refresh", "domain_claim", "claims", "rpm", "tpm", "budget",
	"budget_period", "models", NULL
};

/*
 * A domain's JWT settings from their JSON object (as the admin API takes
 * them and the store keeps them). Returns the settings (free with
 * jwt_config_free()), or NULL with err naming the field.
 */
struct jwt_config *
jwt_config_parse(const cJSON *o, char *err, size_t errlen)
{
	struct jwt_config	*c;
	const cJSON		*v, *e;
	const char *const	*m;
	int64_t			 period = PERIOD_NONE;
	int			 alg, i;

	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "jwt: must be an object or null");
		return NULL;
	}
	cJSON_ArrayForEach(v, o) {
		for (m = jwt_config_members; *m != NULL; m++)
			if (strcmp(*m, v->string) == 0)
				break;
		if (*m == NULL) {
			snprintf(err, errlen, "jwt: unknown member '%.64s'",
			    v->string);
			return NULL;
		}
	}
	c = xcalloc(1, sizeof(*c));
	c->leeway = JWT_LEEWAY_DEFAULT;
	c->jwks_refresh = JWT_REFRESH_DEFAULT;
	if (jwt_config_string(o, "issuer", 512, &c->issuer, err, errlen) ||
	    jwt_config_string(o, "audience", 512, &c->audience, err,
	    errlen) ||
	    jwt_config_string(o, "jwks_file", 1024, &c->jwks_file, err,
	    errlen) ||
	    jwt_config_string(o, "jwks_url", 2048, &c->jwks_url, err,
	    errlen) ||
	    jwt_config_string(o, "domain_claim", 64, &c->domain_claim, err,
	    errlen) ||
	    jwt_config_int(o, "leeway", 0, 600, &c->leeway, err, errlen) ||
	    jwt_config_int(o, "jwks_refresh", 60, 86400, &c->jwks_refresh,
	    err, errlen) ||
	    jwt_config_int(o, "rpm", 0, JWT_COUNT_MAX, &c->rpm, err, errlen) ||
	    jwt_config_int(o, "tpm", 0, JWT_COUNT_MAX, &c->tpm, err, errlen))
		goto fail;
	if (c->issuer == NULL || c->audience == NULL) {
		snprintf(err, errlen, "jwt.%s: required",
		    c->issuer == NULL ? "issuer" : "audience");
		goto fail;
	}
	if ((c->jwks_file == NULL) == (c->jwks_url == NULL)) {
		snprintf(err, errlen, "jwt: give one of jwks_file and"
		    " jwks_url");
		goto fail;
	}
	if (c->jwks_file != NULL && c->jwks_file[0] != '/') {
		snprintf(err, errlen, "jwt.jwks_file: must be an absolute"
		    " path");
		goto fail;
	}
	if (c->jwks_url != NULL && !jwt_jwks_url_valid(c->jwks_url)) {
		snprintf(err, errlen, "jwt.jwks_url: must be an https URL (or"
		    " http://127.0.0.1 or http://[::1]) without credentials");
		goto fail;
	}
	if (c->domain_claim != NULL && !jwt_claim_name_valid(c->domain_claim)) {
		snprintf(err, errlen, "jwt.domain_claim: 1-64 printable ASCII"
		    " bytes");
		goto fail;
	}

	/* Algorithms: a non-empty subset of the table; RS256 by default. */
	v = cJSON_GetObjectItemCaseSensitive(o, "algorithms");
	if (v == NULL || cJSON_IsNull(v))
		c->algs = 1u << JWT_RS256;
	else if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		snprintf(err, errlen, "jwt.algorithms: must be a non-empty"
		    " array");
		goto fail;
	} else
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e) ||
			    (alg = jwt_alg_parse(e->valuestring)) == -1) {
				snprintf(err, errlen, "jwt.algorithms: '%.16s'"
				    " is not one of RS256 RS384 RS512 PS256"
				    " PS384 PS512 ES256 ES384 ES512 (never"
				    " none or HS*)", cJSON_IsString(e) ?
				    e->valuestring : "?");
				goto fail;
			}
			c->algs |= 1u << alg;
		}

	/* Claims that set limits: an object of claim names. */
	v = cJSON_GetObjectItemCaseSensitive(o, "claims");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v)) {
			snprintf(err, errlen, "jwt.claims: must be an object");
			goto fail;
		}
		cJSON_ArrayForEach(e, v) {
			for (i = 0; i < JWT_NCLAIMS; i++)
				if (strcmp(e->string, jwt_claim_keys[i]) == 0)
					break;
			if (i == JWT_NCLAIMS) {
				snprintf(err, errlen, "jwt.claims: unknown"
				    " member '%.64s' (rpm, tpm, budget,"
				    " models)", e->string);
				goto fail;
			}
			if (cJSON_IsNull(e))
				continue;
			if (!cJSON_IsString(e) ||
			    !jwt_claim_name_valid(e->valuestring)) {
				snprintf(err, errlen, "jwt.claims.%s: a claim"
				    " name of 1-64 printable ASCII bytes",
				    jwt_claim_keys[i]);
				goto fail;
			}
			free(c->claims[i]);
			c->claims[i] = xstrdup(e->valuestring);
		}
	}

	/* The defaults when a token carries no limit claim. */
	v = cJSON_GetObjectItemCaseSensitive(o, "budget");
	if (v != NULL && !cJSON_IsNull(v) && (!cJSON_IsString(v) ||
	    money_parse_usd(v->valuestring, &c->budget, err, errlen) != 0 ||
	    c->budget < 0)) {
		snprintf(err, errlen, "jwt.budget: a USD amount as a string,"
		    " like \"5.00\"");
		goto fail;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "budget_period");
	if (v != NULL && !cJSON_IsNull(v) && (!cJSON_IsString(v) ||
	    (period = period_parse(v->valuestring)) == -1)) {
		snprintf(err, errlen, "jwt.budget_period: day, week, month or"
		    " none");
		goto fail;
	}
	c->budget_period = (int)period;
	v = cJSON_GetObjectItemCaseSensitive(o, "models");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) >
		    JWT_CLAIM_MODELS_MAX) {
			snprintf(err, errlen, "jwt.models: an array of at most"
			    " %d model keys", JWT_CLAIM_MODELS_MAX);
			goto fail;
		}
		c->models = xcalloc((size_t)cJSON_GetArraySize(v) + 1,
		    sizeof(*c->models));
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e) || e->valuestring[0] == '\0' ||
			    strlen(e->valuestring) > 255) {
				snprintf(err, errlen, "jwt.models: model keys"
				    " of 1-255 bytes");
				goto fail;
			}
			c->models[c->nmodels++] = xstrdup(e->valuestring);
		}
	}
	return c;
fail:
	jwt_config_free(c);
	return NULL;
}

/* The settings as JSON: what the store keeps and the admin API shows. */
cJSON *
jwt_config_json(const struct jwt_config *c)
{
	cJSON	*o, *a, *claims;
	char	 usd[64];
	size_t	 i;
	int	 alg;

	if ((o = cJSON_CreateObject()) == NULL ||
	    (claims = cJSON_CreateObject()) == NULL ||
	    (a = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "issuer", c->issuer);
	cJSON_AddStringToObject(o, "audience", c->audience);
	if (c->jwks_file != NULL)
		cJSON_AddStringToObject(o, "jwks_file", c->jwks_file);
	if (c->jwks_url != NULL)
		cJSON_AddStringToObject(o, "jwks_url", c->jwks_url);
	for (alg = 0; alg < JWT_NALGS; alg++)
		if (c->algs & (1u << alg))
			cJSON_AddItemToArray(a,
			    cJSON_CreateString(jwt_algs[alg].name));
	cJSON_AddItemToObject(o, "algorithms", a);
	cJSON_AddNumberToObject(o, "leeway", (double)c->leeway);
	cJSON_AddNumberToObject(o, "jwks_refresh", (double)c->jwks_refresh);
	if (c->domain_claim != NULL)
		cJSON_AddStringToObject(o, "domain_claim", c->domain_claim);
	else
		cJSON_AddNullToObject(o, "domain_claim");
	for (i = 0; i < JWT_NCLAIMS; i++)
		if (c->claims[i] != NULL)
			cJSON_AddStringToObject(claims, jwt_claim_keys[i],
			    c->claims[i]);
	cJSON_AddItemToObject(o, "claims", claims);
	cJSON_AddNumberToObject(o, "rpm", (double)c->rpm);
	cJSON_AddNumberToObject(o, "tpm", (double)c->tpm);
	if (c->budget != 0)
		cJSON_AddStringToObject(o, "budget", money_format_usd(c->budget,
		    usd, sizeof(usd)));
	else
		cJSON_AddNullToObject(o, "budget");
	cJSON_AddStringToObject(o, "budget_period",
	    period_name(c->budget_period));
	if (c->models != NULL) {
		a = cJSON_CreateArray();
		for (i = 0; i < c->nmodels; i++)
			cJSON_AddItemToArray(a,
			    cJSON_CreateString(c->models[i]));
		cJSON_AddItemToObject(o, "models", a);
	} else
		cJSON_AddNullToObject(o, "models");
	return o;
}

/* --- keys (admin loop) ------------------------------------------------- */

void
jwt_keys_free(struct jwt_keys *k)
{
	size_t	i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++) {
		free(k->keys[i].kid);
		cjose_jwk_release(k->keys[i].jwk);
	}
	free(k->keys);
	free(k);
}

size_t
jwt_keys_count(const struct jwt_keys *k)
{
	return k == NULL ? 0 : k->n;
}

/* Is member name of k base64url (no padding) of min..max bytes? */
static int
jwt_jwk_b64(const cJSON *k, const char *name, size_t min, size_t max)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(k, name);
	unsigned char	 buf[1024];
	const char	*end;
	size_t		 len, n;

	if (!cJSON_IsString(v) || (len = strlen(v->valuestring)) == 0 ||
	    len > (max * 4 + 2) / 3 || max > sizeof(buf) || min == 0)
		return 0;
	if (sodium_base642bin(buf, sizeof(buf), v->valuestring, len, NULL, &n,
	    &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != v->valuestring + len || n < min || n > max)
		return 0;
	return 1;
}

/*
 * The public part of a JWK, members checked, as JSON for cjose (which
 * asserts on some malformed members rather than failing): RSA's n (2048
 * to 8192 bits) and e, EC's curve and coordinates of its exact size. NULL
 * when the key is not one of these; free the result with cJSON_free().
 */
static char *
jwt_jwk_public(const cJSON *k)
{
	static const struct {
		const char	*crv;
		size_t		 bytes;
	} curves[] = { { "P-256", 32 }, { "P-384", 48 }, { "P-521", 66 } };
	const cJSON	*kty = cJSON_GetObjectItemCaseSensitive(k, "kty");
	const cJSON	*crv = cJSON_GetObjectItemCaseSensitive(k, "crv");
	const char	*names[3];
	cJSON		*o;
	char		*s;
	size_t		 i, n = 0;

	if (strcmp(kty->valuestring, "RSA") == 0) {
		if (!jwt_jwk_b64(k, "n", 256, 1024) ||
		    !jwt_jwk_b64(k, "e", 1, 8))
			return NULL;
		names[n++] = "n";
		names[n++] = "e";
	} else {
		if (!cJSON_IsString(crv))
			return NULL;
		for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
			if (strcmp(crv->valuestring, curves[i].crv) == 0)
				break;
		if (i == sizeof(curves) / sizeof(curves[0]) ||
		    !jwt_jwk_b64(k, "x", curves[i].bytes, curves[i].bytes) ||
		    !jwt_jwk_b64(k, "y", curves[i].bytes, curves[i].bytes))
			return NULL;
		names[n++] = "crv";
		names[n++] = "x";
		names[n++] = "y";
	}
	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "kty", kty->valuestring);
	for (i = 0; i < n; i++)
		cJSON_AddStringToObject(o, names[i],
		    cJSON_GetObjectItemCaseSensitive(k, names[i])->valuestring);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	return s;
}

/*
 * A JWKS document ({"keys": [...]}) into the public signing keys it holds:
 * RSA and EC keys whose "use", if any, is "sig". Other keys (oct, OKP,
 * encryption keys) are skipped, and so are malformed ones; private
 * members are never imported. NULL with err when none is usable.
 */
struct jwt_keys *
jwt_keys_parse(const char *json, size_t len, char *err, size_t errlen)
{
	struct jwt_keys	*k;
	struct jwt_key	*key;
	cJSON		*doc;
	const cJSON	*keys, *e, *v;
	cjose_err	 cerr;
	cjose_jwk_t	*jwk;
	cjose_jwk_kty_t	 kty;
	char		*one;
	size_t		 skipped = 0;

	if (len > JWT_JWKS_MAX) {
		snprintf(err, errlen, "the JWKS is over %d bytes",
		    JWT_JWKS_MAX);
		return NULL;
	}
	if ((doc = cJSON_ParseWithLength(json, len)) == NULL) {
		snprintf(err, errlen, "the JWKS is not JSON");
		return NULL;
	}
	keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	if (!cJSON_IsArray(keys)) {
		snprintf(err, errlen, "the JWKS has no \"keys\" array");
		cJSON_Delete(doc);
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	k->keys = xcalloc(JWT_JWKS_KEYS_MAX, sizeof(*k->keys));
	cJSON_ArrayForEach(e, keys) {
		if (k->n == JWT_JWKS_KEYS_MAX)
			break;
		v = cJSON_GetObjectItemCaseSensitive(e, "kty");
		if (!cJSON_IsObject(e) || !cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "RSA") != 0 &&
		    strcmp(v->valuestring, "EC") != 0))
			continue;
		v = cJSON_GetObjectItemCaseSensitive(e, "use");
		if (v != NULL && (!cJSON_IsString(v) ||
		    strcmp(v->valuestring, "sig") != 0))
			continue;
		if ((one = jwt_jwk_public(e)) == NULL) {
			skipped++;
			continue;
		}
		jwk = cjose_jwk_import(one, strlen(one), &cerr);
		cJSON_free(one);
		if (jwk == NULL) {
			skipped++;
			continue;
		}
		kty = cjose_jwk_get_kty(jwk, &cerr);
		if (kty != CJOSE_JWK_KTY_RSA && kty != CJOSE_JWK_KTY_EC) {
			cjose_jwk_release(jwk);
			continue;
		}
		key = &k->keys[k->n++];
		key->jwk = jwk;
		v = cJSON_GetObjectItemCaseSensitive(e, "kid");
		if (cJSON_IsString(v) && strlen(v->valuestring) <= JWT_KID_MAX)
			key->kid = xstrdup(v->valuestring);
		v = cJSON_GetObjectItemCaseSensitive(e, "alg");
		if (cJSON_IsString(v) && strlen(v->valuestring) <
		    sizeof(key->alg))
			snprintf(key->alg, sizeof(key->alg), "%s",
			    v->valuestring);
		else if (v != NULL)
			snprintf(key->alg, sizeof(key->alg), "?");
	}
	cJSON_Delete(doc);
	if (k->n == 0) {
		snprintf(err, errlen, "the JWKS holds no usable RSA or EC"
		    " signing key%s", skipped > 0 ? " (some were malformed)" :
		    "");
		jwt_keys_free(k);
		return NULL;
	}
	return k;
}

/* --- verification (worker threads) ------------------------------------- */

static int
jwt_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Does a bearer token look like a JWS compact serialization: three
 * base64url parts, the first two non-empty? Cube's own tokens never do:
 * they have no dot, which memchr() finds out fastest, every request.
 */
int
jwt_looks_like(const char *tok, size_t len)
{
	size_t	i, dots = 0, part = 0;

	if (memchr(tok, '.', len) == NULL)
		return 0;
	for (i = 0; i < len; i++) {
		if (tok[i] == '.') {
			if (part == 0 && dots < 2)
				return 0;
			dots++;
			part = 0;
		} else if (!jwt_b64url_char(tok[i]))
			return 0;
		else
			part++;
	}
	return dots == 2;
}

/* Decode one base64url part (no padding) into a NUL-terminated buffer. */
static char *
jwt_decode(const char *s, size_t len, size_t max, size_t *outlen)
{
	char		*buf;
	const char	*end;

	if (len == 0 || len / 4 * 3 > max + 3)
		return NULL;
	buf = xmalloc(len / 4 * 3 + 4);
	if (sodium_base642bin((unsigned char *)buf, len / 4 * 3 + 3, s, len,
	    NULL, outlen, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) !=
	    0 ||
	    end != s + len || *outlen > max) {
		free(buf);
		return NULL;
	}
	buf[*outlen] = '\0';
	return buf;
}

/* JSON no deeper than max (objects and arrays), strings skipped over. */
static int
jwt_depth_ok(const char *s, size_t len, int max)
{
	size_t	i;
	int	depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"')
			in_str = 1;
		else if (s[i] == '{' || s[i] == '[') {
			if (++depth > max)
				return 0;
		} else if (s[i] == '}' || s[i] == ']')
			depth--;
	}
	return 1;
}

/*
 * Does object o name a member twice? Parsers differ on which one counts,
 * so a token that does is refused rather than read one way.
 */
static int
jwt_duplicates(const cJSON *o)
{
	const cJSON	*v;

	cJSON_ArrayForEach(v, o)
		if (cJSON_GetObjectItemCaseSensitive(o, v->string) != v)
			return 1;
	return 0;
}

/* One part decoded and parsed as a JSON object (no member twice), or NULL. */
static cJSON *
jwt_part(const char *s, size_t len)
{
	cJSON	*o;
	char	*buf;
	size_t	 n;

	if ((buf = jwt_decode(s, len, JWT_PART_MAX, &n)) == NULL)
		return NULL;
	if (memchr(buf, '\0', n) != NULL || !jwt_depth_ok(buf, n,
	    JWT_DEPTH_MAX)) {
		free(buf);
		return NULL;
	}
	o = cJSON_ParseWithLength(buf, n);
	free(buf);
	if (o != NULL && (!cJSON_IsObject(o) || jwt_duplicates(o))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* A string claim, or NULL. */
static const char *
jwt_string(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Does the claim named claim (in payload p) name domain d, by name or id? */
static int
jwt_names_domain(const cJSON *p, const char *claim,
    const struct reg_domain *d)
{
	const char	*v = jwt_string(p, claim);

	return v != NULL && (strcmp(v, d->name) == 0 || strcmp(v, d->id) == 0);
}

/*
 * The domain a token is for: the path's, whose issuer it must carry, or on
 * token routes the one domain configured with its issuer; when several
 * share that issuer, the one the domain claim names. A domain with a
 * domain claim configured requires it, naming that domain.
 */
static const struct reg_domain *
jwt_domain(const struct registry *reg, const struct reg_domain *path,
    const cJSON *p, const char *iss, const char **why)
{
	const struct reg_domain	*d = NULL, *c, *first = NULL;
	size_t			 i, shared = 0, named = 0;

	if (path != NULL) {
		if (path->jwt == NULL) {
			*why = "jwt: the domain takes no JWTs";
			return NULL;
		}
		if (strcmp(path->jwt->issuer, iss) != 0) {
			*why = "jwt: wrong issuer";
			return NULL;
		}
		d = path;
	} else {
		for (i = 0; i < reg->ndomains; i++) {
			c = &reg->domains[i];
			if (c->jwt == NULL || strcmp(c->jwt->issuer, iss) != 0)
				continue;
			if (shared++ == 0)
				first = c;
			if (c->jwt->domain_claim != NULL &&
			    jwt_names_domain(p, c->jwt->domain_claim, c)) {
				named++;
				d = c;
			}
		}
		if (shared == 0) {
			*why = "jwt: unknown issuer";
			return NULL;
		}
		if (named > 1) {
			*why = "jwt: the domain claim names several domains";
			return NULL;
		}
		if (named == 0 && shared > 1) {
			*why = "jwt: several domains share the issuer and no"
			    " domain claim names one";
			return NULL;
		}
		if (named == 0)
			d = first;
	}
	if (d->jwt->domain_claim != NULL &&
	    !jwt_names_domain(p, d->jwt->domain_claim, d)) {
		*why = "jwt: the domain claim does not name the domain";
		return NULL;
	}
	return d;
}

/* The key for alg and kid (NULL: the token names none) among keys. */
static const struct jwt_key *
jwt_key_find(const struct jwt_keys *keys, int alg, const char *kid,
    const char **why)
{
	const struct jwt_key	*k, *found = NULL;
	cjose_err		 cerr;
	size_t			 i, n = 0;

	for (i = 0; i < keys->n; i++) {
		k = &keys->keys[i];
		if (kid != NULL && (k->kid == NULL || strcmp(k->kid, kid) != 0))
			continue;
		if (cjose_jwk_get_kty(k->jwk, &cerr) != jwt_algs[alg].kty ||
		    (jwt_algs[alg].curve != 0 && (int)cjose_jwk_EC_get_curve(
		    k->jwk, &cerr) != jwt_algs[alg].curve) ||
		    (k->alg[0] != '\0' && strcmp(k->alg, jwt_algs[alg].name) !=
		    0)) {
			if (kid != NULL) {
				*why = "jwt: the key does not fit the"
				    " algorithm";
				return NULL;
			}
			continue;
		}
		found = k;
		n++;
	}
	if (n == 0)
		*why = kid != NULL ? "jwt: unknown kid" :
		    "jwt: no key fits the algorithm";
	else if (n > 1) {
		*why = "jwt: no kid and several keys fit";
		return NULL;
	}
	return found;
}

/* A numeric date claim: 1 when present (into *out), 0 absent, -1 not one. */
static int
jwt_date(const cJSON *p, const char *name, double *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(p, name);

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return -1;
	*out = v->valuedouble;
	return 1;
}

/* Does aud (a string or an array of strings) hold audience? */
static int
jwt_audience(const cJSON *p, const char *audience)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(p, "aud"), *e;

	if (cJSON_IsString(v))
		return strcmp(v->valuestring, audience) == 0;
	if (cJSON_IsArray(v))
		cJSON_ArrayForEach(e, v)
			if (cJSON_IsString(e) &&
			    strcmp(e->valuestring, audience) == 0)
				return 1;
	return 0;
}

/* A count claim (rpm, tpm): absent keeps *out; -1 when not a count. */
static int
jwt_count(const cJSON *p, const char *claim, int64_t *out)
{
	const cJSON	*v;

	if (claim == NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(p, claim)) == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < 0 || v->valuedouble > (double)JWT_COUNT_MAX)
		return -1;
	*out = (int64_t)v->valuedouble;
	return 0;
}

/* The models claim: an array of keys, or a space-separated string. */
static int
jwt_models(const cJSON *p, const char *claim, struct reg_token *t)
{
	const cJSON	*v, *e;
	const char	*s, *end;

	if (claim == NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(p, claim)) == NULL)
		return 1;
	t->models = xcalloc(JWT_CLAIM_MODELS_MAX, sizeof(*t->models));
	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e) || t->nmodels ==
			    JWT_CLAIM_MODELS_MAX || strlen(e->valuestring) >
			    255)
				return -1;
			t->models[t->nmodels++] = xstrdup(e->valuestring);
		}
		return 0;
	}
	if (!cJSON_IsString(v))
		return -1;
	for (s = v->valuestring; *s != '\0'; s = end) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		if ((end = strchr(s, ' ')) == NULL)
			end = s + strlen(s);
		if (t->nmodels == JWT_CLAIM_MODELS_MAX || end - s > 255)
			return -1;
		t->models[t->nmodels++] = xstrndup(s, (size_t)(end - s));
	}
	return 0;
}

/* The subject's stable id: "jwt:" and 96 bits of SHA-256(iss NUL sub). */
static void
jwt_subject_id(const char *iss, const char *sub, char out[32])
{
	crypto_hash_sha256_state	st;
	unsigned char			h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)iss,
	    strlen(iss) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)sub,
	    strlen(sub));
	crypto_hash_sha256_final(&st, h);
	memcpy(out, JWT_ID_PREFIX, 4);
	sodium_bin2hex(out + 4, 32 - 4, h, 12);
}

/* The identity's limits and models: the claims mapped, else the defaults. */
static int
jwt_limits(const struct jwt_config *c, const cJSON *p, struct reg_token *t,
    const char **why)
{
	const cJSON	*v;
	size_t		 i;
	int		 rc;

	t->rpm = c->rpm;
	t->tpm = c->tpm;
	t->budget = c->budget;
	t->budget_period = c->budget_period;
	t->spent_since = -1;	/* nothing from the usage rollup */
	if (jwt_count(p, c->claims[JWT_CLAIM_RPM], &t->rpm) == -1 ||
	    jwt_count(p, c->claims[JWT_CLAIM_TPM], &t->tpm) == -1) {
		*why = "jwt: a rate-limit claim is not a count";
		return -1;
	}
	if (c->claims[JWT_CLAIM_BUDGET] != NULL && (v =
	    cJSON_GetObjectItemCaseSensitive(p, c->claims[JWT_CLAIM_BUDGET]))
	    != NULL) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
		    v->valuedouble > JWT_BUDGET_USD_MAX) {
			*why = "jwt: the budget claim is not a USD amount";
			return -1;
		}
		t->budget = (int64_t)(v->valuedouble * 1e9 + 0.5);
	}
	if ((rc = jwt_models(p, c->claims[JWT_CLAIM_MODELS], t)) == -1) {
		*why = "jwt: the models claim is not a list of model keys";
		return -1;
	}
	if (rc == 1 && c->models != NULL) {
		t->models = xcalloc(c->nmodels + 1, sizeof(*t->models));
		for (i = 0; i < c->nmodels; i++)
			t->models[i] = xstrdup(c->models[i]);
		t->nmodels = c->nmodels;
	}
	return 0;
}

void
jwt_identity_clear(struct reg_token *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nmodels; i++)
		free(t->models[i]);
	free(t->models);
	memset(t, 0, sizeof(*t));
}

/*
 * Check a JWT bearer token at now (unix seconds): against path's settings
 * (the domain a /proxy/DOMAIN/ path names), or on token routes (path NULL)
 * the domain its issuer and domain claim choose. On success fills *t as a
 * reg_token for that domain (clear with jwt_identity_clear()) and returns
 * 0; else -1 with *why saying why (never a part of the token). An unknown
 * kid asks the JWKS fetcher for a refresh.
 */
int
jwt_verify(const struct registry *reg, const struct reg_domain *path,
    const char *tok, size_t len, time_t now, struct reg_token *t,
    const char **why)
{
	const struct reg_domain	*d;
	const struct jwt_key	*key;
	const struct jwt_config	*c;
	const char		*dot1, *dot2, *s, *iss, *kid, *sub;
	cJSON			*h = NULL, *p = NULL;
	cjose_jws_t		*jws = NULL;
	cjose_err		 cerr;
	double			 exp, nbf, iat;
	int			 alg, rc = -1, r;

	memset(t, 0, sizeof(*t));
	*why = "jwt: malformed token";	/* until a part is read */
	if (len > JWT_TOKEN_MAX) {
		*why = "jwt: token too long";
		return -1;
	}
	if (!jwt_looks_like(tok, len))
		return -1;
	dot1 = memchr(tok, '.', len);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok));
	if ((h = jwt_part(tok, (size_t)(dot1 - tok))) == NULL) {
		*why = "jwt: malformed header";
		goto done;
	}
	if ((s = jwt_string(h, "alg")) == NULL) {
		*why = "jwt: no alg";
		goto done;
	}
	if ((alg = jwt_alg_parse(s)) == -1) {
		*why = strcasecmp(s, "none") == 0 ? "jwt: alg none refused" :
		    strncmp(s, "HS", 2) == 0 ? "jwt: HMAC algorithm refused" :
		    "jwt: unsupported alg";
		goto done;
	}
	if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL) {
		*why = "jwt: critical header extensions refused";
		goto done;
	}
	kid = jwt_string(h, "kid");
	if (cJSON_GetObjectItemCaseSensitive(h, "kid") != NULL && (kid ==
	    NULL || strlen(kid) > JWT_KID_MAX)) {
		*why = "jwt: malformed kid";
		goto done;
	}
	if (dot2 + 1 == tok + len) {
		*why = "jwt: no signature";
		goto done;
	}
	if ((p = jwt_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
		*why = "jwt: malformed payload";
		goto done;
	}
	if ((iss = jwt_string(p, "iss")) == NULL) {
		*why = "jwt: no issuer";
		goto done;
	}
	if ((d = jwt_domain(reg, path, p, iss, why)) == NULL)
		goto done;
	c = d->jwt;
	if (!(c->algs & (1u << alg))) {
		*why = "jwt: alg not allowed for the domain";
		goto done;
	}
	if (jwt_keys_count(c->keys) == 0) {
		*why = "jwt: no JWKS keys loaded";
		if (c->jwks_url != NULL)
			jwks_want_refresh();
		goto done;
	}
	if ((key = jwt_key_find(c->keys, alg, kid, why)) == NULL) {
		if (kid != NULL && strcmp(*why, "jwt: unknown kid") == 0 &&
		    c->jwks_url != NULL)
			jwks_want_refresh();
		goto done;
	}
	if ((jws = cjose_jws_import(tok, len, &cerr)) == NULL ||
	    !cjose_jws_verify(jws, key->jwk, &cerr)) {
		*why = "jwt: bad signature";
		goto done;
	}

	/* The signature holds: the claims are the issuer's. */
	if ((r = jwt_date(p, "exp", &exp)) != 1) {
		*why = r == 0 ? "jwt: no exp" : "jwt: malformed exp";
		goto done;
	}
	if ((double)now > exp + (double)c->leeway) {
		*why = "jwt: expired";
		goto done;
	}
	if ((r = jwt_date(p, "nbf", &nbf)) == -1 || (r == 1 &&
	    (double)now + (double)c->leeway < nbf)) {
		*why = r == -1 ? "jwt: malformed nbf" :
		    "jwt: not valid yet (nbf)";
		goto done;
	}
	if ((r = jwt_date(p, "iat", &iat)) == -1 || (r == 1 &&
	    iat > (double)now + (double)c->leeway)) {
		*why = r == -1 ? "jwt: malformed iat" :
		    "jwt: issued in the future (iat)";
		goto done;
	}
	if (!jwt_audience(p, c->audience)) {
		*why = "jwt: wrong audience";
		goto done;
	}
	if ((sub = jwt_string(p, "sub")) == NULL || sub[0] == '\0' ||
	    strlen(sub) > JWT_SUBJECT_MAX) {
		*why = "jwt: no subject";
		goto done;
	}
	jwt_subject_id(iss, sub, t->id);
	t->domain = d;
	t->expires_at = exp >= 9e15 ? 0 : (int64_t)exp;
	if (jwt_limits(c, p, t, why) == -1) {
		jwt_identity_clear(t);
		goto done;
	}
	*why = NULL;
	rc = 0;
done:
	cjose_jws_release(jws);
	cJSON_Delete(h);
	cJSON_Delete(p);
	return rc;
}
