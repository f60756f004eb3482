/*
 * libFuzzer target for agent/jwt.c, what a client's bearer JWT and an
 * identity provider's JWKS reach: the first byte picks jwt_verify() (the
 * rest is the token, checked against a domain with a fixed public JWKS;
 * the seeds in corpus/jwt are tokens signed with its private keys, which
 * were thrown away), jwt_keys_parse() or jwt_config_parse(). Whatever the
 * bytes: no crash, no leak, and a token that passes names the domain.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What jwt.c uses of jwks.c, standing in here. */
void
jwks_want_refresh(void)
{
}

#define FUZZ_JWKS "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"tCwei1NnZdUNU1zk2ONC_RpBrL7vsd-vl-DilJ7JhrUHLKv0kI8Gu1h_GlALA-Wn1HlT0GZ0tsNHxziNPrX5WCYAsGlRrgM4ikGQk1F2ucNAy2Jv9C7nY4_WD0gtz7up5PoGtkTTN64Os2VSm6BOIcsLJmB-cyVEUadselxYnSzzshvsbyxy69lPOVTEUHN3s-u4yUQgV0w2V4EjRu9bfVZYyluT3WoPnLSBZFYHvFJDPlDhubEj-MHeQAxyD7AIaIkb9PELy2J5TFDmi9opV4WLIK1PbvKQx8X7Suz91RZhgHYC-3mlbsw4SMY8uIN5KCWXz16fL7mbnZgy7pD8bw\",\"e\":\"AQAB\",\"kid\":\"rsa1\",\"use\":\"sig\"},{\"kty\":\"EC\",\"x\":\"mzyQPSRW00Hy2LMRAo6cYHxGKFYHyRwXxahprvyFDYg\",\"y\":\"w9p4noSj6lyw0H_qsFGTIFBQYFPkcpOcfJDM8KE9Zf4\",\"crv\":\"P-256\",\"kid\":\"ec1\",\"use\":\"sig\"}]}"

static struct registry *
fuzz_registry(void)
{
	static struct registry		 reg;
	static struct reg_domain	 d;
	static char			 name[] = "acme";
	cJSON				*o;
	char				 err[256];

	if (reg.ndomains == 1)
		return &reg;
	o = cJSON_Parse("{\"issuer\":\"https://idp.example\",\"audience\":"
	    "\"cube\",\"jwks_file\":\"/x\",\"algorithms\":[\"RS256\","
	    "\"ES256\",\"PS256\"],\"claims\":{\"rpm\":\"cube_rpm\",\"models\":"
	    "\"cube_models\",\"budget\":\"cube_budget\"}}");
	if (o == NULL || (d.jwt = jwt_config_parse(o, err, sizeof(err))) ==
	    NULL || (d.jwt->keys = jwt_keys_parse(FUZZ_JWKS,
	    strlen(FUZZ_JWKS), err, sizeof(err))) == NULL)
		abort();
	cJSON_Delete(o);
	d.name = name;
	reg.domains = &d;
	reg.ndomains = 1;
	return &reg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry		*reg = fuzz_registry();
	struct reg_token	 t;
	struct jwt_config	*c;
	const char		*why;
	char			*copy, err[256];
	cJSON			*o;

	if (size == 0)
		return 0;
	/* An exact-size copy, so ASan sees any read past the input. */
	if ((copy = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		if (jwt_verify(reg, (data[0] & 0x80) ? &reg->domains[0] : NULL,
		    copy, size - 1, 1700000000, &t, &why) == 0) {
			if (t.domain != &reg->domains[0] ||
			    strncmp(t.id, "jwt:", 4) != 0)
				abort();
			jwt_identity_clear(&t);
		} else if (why == NULL || strncmp(why, "jwt: ", 5) != 0)
			abort();
		break;
	case 1:
		jwt_keys_free(jwt_keys_parse(copy, size - 1, err,
		    sizeof(err)));
		break;
	default:
		if ((o = cJSON_ParseWithLength(copy, size - 1)) != NULL) {
			if ((c = jwt_config_parse(o, err, sizeof(err))) !=
			    NULL) {
				cJSON_Delete(jwt_config_json(c));
				jwt_config_free(c);
			}
			cJSON_Delete(o);
		}
		break;
	}
	free(copy);
	return 0;
}
