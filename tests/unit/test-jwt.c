/*
 * jwt.c: JWT bearer tokens against a domain's OIDC settings. Keys are made
 * at test time (cjose), tokens signed with them or built by hand for the
 * attacks (alg none, HS256 keyed with the public key, tampering).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <cjose/cjose.h>
#include <sodium.h>

#include "agent.h"
#include "xmalloc.h"

#define ISS	"https://idp.example"
#define ISS2	"https://other.example"

struct fixture {
	cjose_jwk_t		*rsa;
	cjose_jwk_t		*ec;
	cjose_jwk_t		*rsa_other;	/* not in the JWKS */
	char			*jwks;
	struct registry		 reg;
	struct reg_domain	 domains[3];	/* acme, beta; solo: ISS2 */
	time_t			 now;
};

/* The public JWK of k with kid, as JSON. */
static cJSON *
public_jwk(cjose_jwk_t *k, const char *kid)
{
	cjose_err	 err;
	char		*s;
	cJSON		*o;

	assert_true(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
	assert_non_null(s = cjose_jwk_to_json(k, false, &err));
	assert_non_null(o = cJSON_Parse(s));
	free(s);
	return o;
}

static struct jwt_config *
config(const char *json, const char *jwks)
{
	struct jwt_config	*c;
	cJSON			*o;
	char			 err[256];

	assert_non_null(o = cJSON_Parse(json));
	c = jwt_config_parse(o, err, sizeof(err));
	cJSON_Delete(o);
	if (c == NULL)
		fail_msg("%s", err);
	assert_non_null(c->keys = jwt_keys_parse(jwks, strlen(jwks), err,
	    sizeof(err)));
	return c;
}

static int
setup(void **state)
{
	static const uint8_t	 e[] = { 1, 0, 1 };
	struct fixture		*f = xcalloc(1, sizeof(*f));
	cjose_err		 err;
	cJSON			*jwks, *keys;
	struct reg_domain	*d;

	assert_non_null(f->rsa = cjose_jwk_create_RSA_random(2048, e, 3,
	    &err));
	assert_non_null(f->rsa_other = cjose_jwk_create_RSA_random(2048, e, 3,
	    &err));
	assert_non_null(f->ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256,
	    &err));
	jwks = cJSON_CreateObject();
	keys = cJSON_AddArrayToObject(jwks, "keys");
	cJSON_AddItemToArray(keys, public_jwk(f->rsa, "rsa1"));
	cJSON_AddItemToArray(keys, public_jwk(f->ec, "ec1"));
	/* A symmetric key in the set is never used. */
	cJSON_AddItemToArray(keys, cJSON_Parse("{\"kty\":\"oct\",\"kid\":"
	    "\"hs\",\"k\":\"c2VjcmV0\"}"));
	cJSON_Delete(public_jwk(f->rsa_other, "rsa1"));
	f->jwks = cJSON_PrintUnformatted(jwks);
	cJSON_Delete(jwks);

	f->reg.domains = f->domains;
	f->reg.ndomains = 3;
	d = &f->domains[0];
	d->name = (char *)(uintptr_t)"acme";
	snprintf(d->id, sizeof(d->id), "11111111-1111-4111-8111-111111111111");
	d->jwt = config("{\"issuer\":\"" ISS "\",\"audience\":\"cube\","
	    "\"jwks_file\":\"/x\",\"algorithms\":[\"RS256\",\"ES256\"],"
	    "\"domain_claim\":\"cube_domain\",\"claims\":{\"rpm\":\"cube_rpm\","
	    "\"models\":\"cube_models\",\"budget\":\"cube_budget\"},"
	    "\"rpm\":5,\"tpm\":1000}", f->jwks);
	d = &f->domains[1];
	d->name = (char *)(uintptr_t)"beta";
	snprintf(d->id, sizeof(d->id), "22222222-2222-4222-8222-222222222222");
	d->jwt = config("{\"issuer\":\"" ISS "\",\"audience\":\"cube\","
	    "\"jwks_file\":\"/x\",\"algorithms\":[\"ES256\",\"RS256\"],"
	    "\"domain_claim\":\"cube_domain\",\"models\":[\"m1\"]}", f->jwks);
	d = &f->domains[2];
	d->name = (char *)(uintptr_t)"solo";
	snprintf(d->id, sizeof(d->id), "33333333-3333-4333-8333-333333333333");
	d->jwt = config("{\"issuer\":\"" ISS2 "\",\"audience\":\"cube\","
	    "\"jwks_file\":\"/x\",\"leeway\":0}", f->jwks);
	f->now = time(NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < 3; i++)
		jwt_config_free(f->domains[i].jwt);
	cjose_jwk_release(f->rsa);
	cjose_jwk_release(f->rsa_other);
	cjose_jwk_release(f->ec);
	free(f->jwks);
	free(f);
	return 0;
}

/* A compact JWS of payload signed by k with alg and kid (NULL: none). */
static char *
sign(cjose_jwk_t *k, const char *alg, const char *kid, const char *payload)
{
	cjose_header_t	*h;
	cjose_jws_t	*jws;
	cjose_err	 err;
	const char	*ser;
	char		*out;

	assert_non_null(h = cjose_header_new(&err));
	assert_true(cjose_header_set(h, CJOSE_HDR_ALG, alg, &err));
	if (kid != NULL)
		assert_true(cjose_header_set(h, CJOSE_HDR_KID, kid, &err));
	jws = cjose_jws_sign(k, h, (const uint8_t *)payload, strlen(payload),
	    &err);
	if (jws == NULL)
		fail_msg("cjose_jws_sign: %s", err.message);
	assert_true(cjose_jws_export(jws, &ser, &err));
	out = xstrdup(ser);
	cjose_jws_release(jws);
	cjose_header_release(h);
	return out;
}

static char *
b64(const char *s, size_t n)
{
	char	*out = xmalloc(sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING));

	return sodium_bin2base64(out, sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), (const unsigned char *)s,
	    n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* header.payload.sig from parts; sig may be "". */
static char *
assemble(const char *header, const char *payload, const char *sig)
{
	char	*h = b64(header, strlen(header));
	char	*p = b64(payload, strlen(payload)), *out;

	xasprintf(&out, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return out;
}

/* Claims for iss: aud cube, sub alice, exp in an hour; extra's replace. */
static char *
claims(const struct fixture *f, const char *iss, const char *extra)
{
	cJSON	*o, *x, *e;
	char	*s, *more;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "iss", iss);
	cJSON_AddStringToObject(o, "aud", "cube");
	cJSON_AddStringToObject(o, "sub", "alice");
	cJSON_AddNumberToObject(o, "exp", (double)(f->now + 3600));
	cJSON_AddNumberToObject(o, "iat", (double)f->now);
	xasprintf(&more, "{%s}", extra);
	assert_non_null(x = cJSON_Parse(more));
	free(more);
	while ((e = x->child) != NULL) {
		cJSON_DetachItemViaPointer(x, e);
		cJSON_DeleteItemFromObjectCaseSensitive(o, e->string);
		cJSON_AddItemToObject(o, e->string, e);
	}
	cJSON_Delete(x);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Verify tok on /v1 (path NULL) or a path's domain; why, or "ok". */
static const char *
check(struct fixture *f, const struct reg_domain *path, const char *tok,
    struct reg_token *t)
{
	struct reg_token	 mine;
	const char		*why;

	if (t == NULL)
		t = &mine;
	if (jwt_verify(&f->reg, path, tok, strlen(tok), f->now, t, &why) ==
	    -1) {
		assert_memory_equal(why, "jwt: ", 5);
		return why + 5;
	}
	if (t == &mine)
		jwt_identity_clear(t);
	return "ok";
}

/* Sign claims(iss, extra) with RS256 and check: what came of it. */
static const char *
rs256(struct fixture *f, const struct reg_domain *path, const char *iss,
    const char *extra, struct reg_token *t)
{
	static char	 why[128];
	char		*p = claims(f, iss, extra), *tok;

	tok = sign(f->rsa, "RS256", "rsa1", p);
	snprintf(why, sizeof(why), "%s", check(f, path, tok, t));
	free(tok);
	free(p);
	return why;
}

static void
test_good(void **state)
{
	struct fixture		*f = *state;
	struct reg_token	 t, t2;
	char			*p, *tok;

	/* RS256 on a token route: the domain claim picks acme. */
	assert_string_equal(rs256(f, NULL, ISS, "\"cube_domain\":\"acme\","
	    "\"cube_rpm\":3,\"cube_models\":\"gpt small\",\"cube_budget\":"
	    "1.5", &t), "ok");
	assert_ptr_equal(t.domain, &f->domains[0]);
	assert_int_equal(strlen(t.id), 28);
	assert_memory_equal(t.id, "jwt:", 4);
	assert_int_equal(t.rpm, 3);		/* the claim */
	assert_int_equal(t.tpm, 1000);		/* the default */
	assert_int_equal(t.budget, 1500000000LL);
	assert_int_equal(t.nmodels, 2);
	assert_string_equal(t.models[0], "gpt");
	assert_string_equal(t.models[1], "small");
	assert_int_equal(t.expires_at, f->now + 3600);

	/* The same subject is the same id; another is another. */
	assert_string_equal(rs256(f, &f->domains[0], ISS,
	    "\"cube_domain\":\"acme\"", &t2), "ok");
	assert_string_equal(t.id, t2.id);
	assert_int_equal(t2.rpm, 5);
	assert_null(t2.models);
	jwt_identity_clear(&t2);
	p = claims(f, ISS, "\"cube_domain\":\"acme\"");
	*strstr(p, "alice") = 'b';
	tok = sign(f->rsa, "RS256", "rsa1", p);
	assert_string_equal(check(f, NULL, tok, &t2), "ok");
	assert_string_not_equal(t.id, t2.id);
	jwt_identity_clear(&t2);
	jwt_identity_clear(&t);
	free(tok);
	free(p);

	/* ES256 on a path, by the domain's id in the claim; its models. */
	p = claims(f, ISS, "\"cube_domain\":"
	    "\"22222222-2222-4222-8222-222222222222\"");
	tok = sign(f->ec, "ES256", "ec1", p);
	assert_string_equal(check(f, &f->domains[1], tok, &t), "ok");
	assert_ptr_equal(t.domain, &f->domains[1]);
	assert_int_equal(t.nmodels, 1);
	assert_string_equal(t.models[0], "m1");
	jwt_identity_clear(&t);
	/* Not on acme's path: the claim names beta. */
	assert_string_equal(check(f, &f->domains[0], tok, NULL),
	    "the domain claim does not name the domain");
	free(tok);
	free(p);

	/* aud as an array; a domain alone with its issuer needs no claim. */
	assert_string_equal(rs256(f, NULL, ISS2, "\"aud\":[\"x\",\"cube\"]",
	    NULL), "ok");
}

static void
test_times(void **state)
{
	struct fixture	*f = *state;
	char		 extra[128];

	/* exp: 30 s ago passes acme's leeway of 60, 120 s ago does not. */
	snprintf(extra, sizeof(extra), "\"cube_domain\":\"acme\",\"exp\":%lld",
	    (long long)f->now - 30);
	assert_string_equal(rs256(f, NULL, ISS, extra, NULL), "ok");
	snprintf(extra, sizeof(extra), "\"cube_domain\":\"acme\",\"exp\":%lld",
	    (long long)f->now - 120);
	assert_string_equal(rs256(f, NULL, ISS, extra, NULL), "expired");
	/* solo has no leeway. */
	snprintf(extra, sizeof(extra), "\"exp\":%lld", (long long)f->now - 1);
	assert_string_equal(rs256(f, NULL, ISS2, extra, NULL), "expired");
	snprintf(extra, sizeof(extra), "\"nbf\":%lld", (long long)f->now + 300);
	assert_string_equal(rs256(f, NULL, ISS2, extra, NULL),
	    "not valid yet (nbf)");
	snprintf(extra, sizeof(extra), "\"iat\":%lld", (long long)f->now + 300);
	assert_string_equal(rs256(f, NULL, ISS2, extra, NULL),
	    "issued in the future (iat)");
	assert_string_equal(rs256(f, NULL, ISS2, "\"exp\":\"tomorrow\"", NULL),
	    "malformed exp");
	assert_string_equal(rs256(f, NULL, ISS2, "\"exp\":null", NULL),
	    "malformed exp");
}

static void
test_claims(void **state)
{
	struct fixture	*f = *state;
	char		*tok;

	assert_string_equal(rs256(f, &f->domains[0], ISS2, "", NULL),
	    "wrong issuer");
	assert_string_equal(rs256(f, NULL, "https://evil.example", "", NULL),
	    "unknown issuer");
	assert_string_equal(rs256(f, NULL, ISS2, "\"aud\":\"other\"", NULL),
	    "wrong audience");
	assert_string_equal(rs256(f, NULL, ISS2, "\"aud\":[\"a\",1]", NULL),
	    "wrong audience");
	assert_string_equal(rs256(f, NULL, ISS2, "\"sub\":\"\"", NULL),
	    "no subject");
	/* Two domains share ISS: the claim must name one. */
	assert_string_equal(rs256(f, NULL, ISS, "", NULL),
	    "several domains share the issuer and no domain claim names one");
	assert_string_equal(rs256(f, NULL, ISS, "\"cube_domain\":\"nope\"",
	    NULL), "several domains share the issuer and no domain claim"
	    " names one");
	assert_string_equal(rs256(f, &f->domains[0], ISS, "", NULL),
	    "the domain claim does not name the domain");
	assert_string_equal(rs256(f, NULL, ISS, "\"cube_domain\":\"acme\","
	    "\"cube_rpm\":-1", NULL), "a rate-limit claim is not a count");
	assert_string_equal(rs256(f, NULL, ISS, "\"cube_domain\":\"acme\","
	    "\"cube_models\":[1]", NULL),
	    "the models claim is not a list of model keys");
	assert_string_equal(rs256(f, NULL, ISS, "\"cube_domain\":\"acme\","
	    "\"cube_budget\":\"lots\"", NULL),
	    "the budget claim is not a USD amount");
	/* No iss at all. */
	tok = sign(f->rsa, "RS256", "rsa1", "{\"sub\":\"a\"}");
	assert_string_equal(check(f, NULL, tok, NULL), "no issuer");
	free(tok);
}

static void
test_attacks(void **state)
{
	struct fixture	*f = *state;
	char		*p = claims(f, ISS2, ""), *tok, *good, *dot, *pub, *t2;
	cjose_jwk_t	*hs;
	cjose_err	 err;
	char		 big[JWT_TOKEN_MAX + 2];

	/* alg none, with and without a signature part. */
	tok = assemble("{\"alg\":\"none\"}", p, "");
	assert_string_equal(check(f, NULL, tok, NULL), "alg none refused");
	free(tok);
	tok = assemble("{\"alg\":\"none\",\"kid\":\"rsa1\"}", p, "AAAA");
	assert_string_equal(check(f, NULL, tok, NULL), "alg none refused");
	free(tok);

	/* HS256 keyed with the RSA public key, as text: the confusion. */
	pub = cjose_jwk_to_json(f->rsa, false, &err);
	assert_non_null(hs = cjose_jwk_create_oct_spec((const uint8_t *)pub,
	    strlen(pub), &err));
	tok = sign(hs, "HS256", "rsa1", p);
	assert_string_equal(check(f, NULL, tok, NULL),
	    "HMAC algorithm refused");
	free(tok);
	cjose_jwk_release(hs);
	free(pub);

	/* An algorithm solo does not allow, and one nobody knows. */
	tok = sign(f->ec, "ES256", "ec1", p);
	assert_string_equal(check(f, NULL, tok, NULL),
	    "alg not allowed for the domain");
	free(tok);
	tok = assemble("{\"alg\":\"RS1\"}", p, "AAAA");
	assert_string_equal(check(f, NULL, tok, NULL), "unsupported alg");
	free(tok);
	tok = assemble("{\"alg\":\"RS256\",\"crit\":[\"x\"]}", p, "AAAA");
	assert_string_equal(check(f, NULL, tok, NULL),
	    "critical header extensions refused");
	free(tok);

	/* A kid the set lacks; a key the set does not hold under a known kid. */
	tok = sign(f->rsa, "RS256", "rsa9", p);
	assert_string_equal(check(f, NULL, tok, NULL), "unknown kid");
	free(tok);
	tok = sign(f->rsa_other, "RS256", "rsa1", p);
	assert_string_equal(check(f, NULL, tok, NULL), "bad signature");
	free(tok);
	/* RS256 naming the EC key. */
	tok = sign(f->rsa, "RS256", "ec1", p);
	assert_string_equal(check(f, NULL, tok, NULL),
	    "the key does not fit the algorithm");
	free(tok);
	/* No kid: the one RSA key is found. */
	tok = sign(f->rsa, "RS256", NULL, p);
	assert_string_equal(check(f, NULL, tok, NULL), "ok");
	free(tok);

	/* Tampered payload: another sub under the old signature. */
	good = sign(f->rsa, "RS256", "rsa1", p);
	free(p);
	p = claims(f, ISS2, "\"sub\":\"mallory\"");
	tok = assemble("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", p,
	    strrchr(good, '.') + 1);
	assert_string_equal(check(f, NULL, tok, NULL), "bad signature");
	free(tok);

	/* Oversized, truncated, malformed base64, an extra part. */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '.';
	big[20] = '.';
	assert_string_equal(check(f, NULL, big, NULL), "token too long");
	xasprintf(&tok, "%s", good);
	*strrchr(tok, '.') = '\0';
	assert_string_equal(check(f, NULL, tok, NULL), "malformed token");
	free(tok);
	xasprintf(&tok, "%s.x", good);
	assert_string_equal(check(f, NULL, tok, NULL), "malformed token");
	free(tok);
	xasprintf(&tok, "A%s", good);	/* the header's base64 shifted */
	assert_string_equal(check(f, NULL, tok, NULL), "malformed header");
	free(tok);
	xasprintf(&tok, "%s", good);
	dot = strchr(tok, '.');
	dot[1] = '+';
	assert_string_equal(check(f, NULL, tok, NULL), "malformed token");
	free(tok);
	/* A header nested past the cap; a payload that is not an object. */
	tok = assemble("{\"alg\":\"RS256\",\"x\":[[[[[[[[[1]]]]]]]]]}", p,
	    "AAAA");
	assert_string_equal(check(f, NULL, tok, NULL), "malformed header");
	free(tok);
	tok = assemble("{\"alg\":\"RS256\",\"alg\":\"none\"}", p, "AAAA");
	assert_string_equal(check(f, NULL, tok, NULL), "malformed header");
	free(tok);
	t2 = sign(f->rsa, "RS256", "rsa1", "{\"iss\":\"" ISS2 "\",\"iss\":"
	    "\"" ISS "\"}");
	assert_string_equal(check(f, NULL, t2, NULL), "malformed payload");
	free(t2);
	tok = assemble("{\"alg\":\"RS256\"}", "[1]", "AAAA");
	assert_string_equal(check(f, NULL, tok, NULL), "malformed payload");
	free(tok);
	t2 = sign(f->rsa, "RS256", "rsa1", "not json");
	assert_string_equal(check(f, NULL, t2, NULL), "malformed payload");
	free(t2);
	free(good);
	free(p);

	/* Cube's own tokens never look like a JWT. */
	assert_false(jwt_looks_like("cube_abc", 8));
	assert_false(jwt_looks_like("a..b", 4));
	assert_true(jwt_looks_like("a.b.", 4));
}

static void
test_config(void **state)
{
	static const char *const bad[] = {
		"{\"audience\":\"a\",\"jwks_file\":\"/x\"}",
		"{\"issuer\":\"i\",\"audience\":\"a\"}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"jwks_url\":\"https://x\"}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"x\"}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_url\":"
		    "\"http://idp.example/jwks\"}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_url\":"
		    "\"https://u:p@idp.example/jwks\"}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"algorithms\":[\"HS256\"]}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"algorithms\":[\"none\"]}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"algorithms\":[]}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"leeway\":601}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"claims\":{\"color\":\"c\"}}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"budget\":5}",
		"{\"issuer\":\"i\",\"audience\":\"a\",\"jwks_file\":\"/x\","
		    "\"secret\":\"s\"}",
	};
	struct jwt_config	*c;
	cJSON			*o;
	const char		*bad_keys;
	char			 err[256], *s;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(o = cJSON_Parse(bad[i]));
		err[0] = '\0';
		c = jwt_config_parse(o, err, sizeof(err));
		cJSON_Delete(o);
		if (c != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_memory_equal(err, "jwt", 3);
	}
	assert_non_null(o = cJSON_Parse("{\"issuer\":\"i\",\"audience\":\"a\","
	    "\"jwks_url\":\"http://127.0.0.1:8000/jwks.json\",\"budget\":"
	    "\"2.50\",\"budget_period\":\"day\"}"));
	assert_non_null(c = jwt_config_parse(o, err, sizeof(err)));
	cJSON_Delete(o);
	o = jwt_config_json(c);
	s = cJSON_PrintUnformatted(o);
	assert_string_equal(s, "{\"issuer\":\"i\",\"audience\":\"a\","
	    "\"jwks_url\":\"http://127.0.0.1:8000/jwks.json\",\"algorithms\":"
	    "[\"RS256\"],\"leeway\":60,\"jwks_refresh\":600,\"domain_claim\":"
	    "null,\"claims\":{},\"rpm\":0,\"tpm\":0,\"budget\":\"2.5\","
	    "\"budget_period\":\"day\",\"models\":null}");
	free(s);
	cJSON_Delete(o);
	jwt_config_free(c);

	/* A JWKS without a usable key. */
	assert_null(jwt_keys_parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}",
	    40, err, sizeof(err)));
	assert_null(jwt_keys_parse("{\"keys\":{}}", 11, err, sizeof(err)));
	/* Members cjose would assert on are checked first (found by fuzzing). */
	bad_keys = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"tCwei=NnZdUNU1zk2ONHYC\","
	    "\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"},"
	    "{\"kty\":\"RSA\",\"n\":5,\"e\":\"AQAB\"},{\"kty\":\"EC\","
	    "\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"},{\"kty\":"
	    "\"EC\",\"crv\":\"P-999\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}";
	assert_null(jwt_keys_parse(bad_keys, strlen(bad_keys), err,
	    sizeof(err)));
	assert_string_equal(err, "the JWKS holds no usable RSA or EC signing"
	    " key (some were malformed)");
	assert_null(jwt_keys_parse("nope", 4, err, sizeof(err)));
}

/* JWT subjects' limiter entries stay bounded; busy ones are never evicted. */
static void
test_limit_bounded(void **state)
{
	struct reg_token	 t;
	struct limit_ticket	 k[3];
	int64_t			 now_ms = 1700000000000LL - 1700000000000LL %
				    60000;
	int			 retry, i;

	(void)state;
	limit_reset();
	limit_jwt_cap(2);
	memset(&t, 0, sizeof(t));
	t.rpm = 10;
	for (i = 0; i < 2; i++) {
		snprintf(t.id, sizeof(t.id), "jwt:%024d", i);
		assert_int_equal(limit_acquire(&t, now_ms, 0, &k[i], &retry),
		    LIMIT_OK);
	}
	assert_int_equal(limit_jwt_entries(), 2);
	/* Both busy this minute: a third subject is refused. */
	snprintf(t.id, sizeof(t.id), "jwt:%024d", 2);
	assert_int_equal(limit_acquire(&t, now_ms + 1000, 0, &k[2], &retry),
	    LIMIT_RATE);
	assert_true(retry > 0 && retry <= 60);
	/* Next minute: one still in flight, the other idle and evicted. */
	limit_settle(&k[1], 0, 0, now_ms + 2000);
	assert_int_equal(limit_acquire(&t, now_ms + 61000, 0, &k[2], &retry),
	    LIMIT_OK);
	assert_int_equal(limit_jwt_entries(), 2);
	/* Cube tokens are not counted against the cap. */
	snprintf(t.id, sizeof(t.id), "tok_plain");
	assert_int_equal(limit_acquire(&t, now_ms + 61000, 0, &k[1], &retry),
	    LIMIT_OK);
	assert_int_equal(limit_jwt_entries(), 2);
	limit_settle(&k[0], 0, 0, now_ms + 62000);
	limit_settle(&k[1], 0, 0, now_ms + 62000);
	limit_settle(&k[2], 0, 0, now_ms + 62000);
	limit_reset();
	limit_jwt_cap(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attacks, setup, teardown),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_limit_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
