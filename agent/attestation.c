/*
 * The evidence for a client's nonce, as attestation.get and GET
 * /attestation both return it: report_data binds the nonce and the
 * agent's public keys (shared/attest-binding.c), the TEE provider signs
 * it, and the keys come along so the client can recompute the binding.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

int
attestation_nonce_parse(const char *hex, size_t len, unsigned char *out,
    size_t *outlen, char *err, size_t errlen)
{
	const char	*end;
	size_t		 n;

	*outlen = 0;
	if (len < ATTESTATION_NONCE_HEX_MIN || len > ATTESTATION_NONCE_HEX_MAX ||
	    len % 2 != 0) {
		snprintf(err, errlen, "nonce must be %d to %d bytes as hex (an"
		    " even number of %d to %d hex digits), not %zu digits",
		    ATTEST_NONCE_MIN, ATTEST_NONCE_MAX,
		    ATTESTATION_NONCE_HEX_MIN, ATTESTATION_NONCE_HEX_MAX, len);
		return -1;
	}
	if (sodium_hex2bin(out, ATTEST_NONCE_MAX, hex, len, NULL, &n,
	    &end) != 0 || end != hex + len || n != len / 2) {
		snprintf(err, errlen, "nonce must be hex (0-9, a-f)");
		return -1;
	}
	*outlen = n;
	return 0;
}

static cJSON *
attestation_base64(const unsigned char *p, size_t len)
{
	cJSON	*item;
	char	*b64;
	size_t	 n = sodium_base64_ENCODED_LEN(len,
		    sodium_base64_VARIANT_ORIGINAL);

	b64 = xmalloc(n);
	sodium_bin2base64(b64, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	item = admin_json_string(b64);
	free(b64);
	return item;
}

static cJSON *
attestation_hex(const unsigned char *p, size_t len)
{
	char	hex[2 * ATTEST_REPORT_DATA_SIZE + 1];

	return admin_json_string(attest_hex(p, len, hex, sizeof(hex)));
}

cJSON *
attestation_json(struct agent *agent, const unsigned char *nonce,
    size_t nonce_len, int *unavailable, char *err, size_t errlen)
{
	struct attest_binding	 b;
	struct tee_evidence	 ev;
	struct tls_info		 ti;
	unsigned char		 rd[ATTEST_REPORT_DATA_SIZE];
	cJSON			*r;

	*unavailable = 0;
	memset(&b, 0, sizeof(b));
	b.nonce = nonce;
	b.nonce_len = nonce_len;
	memcpy(b.x25519, vault_seal_public_key(agent->vault),
	    sizeof(b.x25519));
	memcpy(b.ed25519, vault_identity_public_key(agent->vault),
	    sizeof(b.ed25519));
	/* The TLS key served now; all zeros on plain HTTP. */
	tls_info(&ti);
	if (ti.on)
		memcpy(b.tls_spki_sha256, ti.spki_sha256,
		    sizeof(b.tls_spki_sha256));
	if (attest_binding_digest(&b, rd, err, errlen) != 0) {
		tls_info_clear(&ti);
		return NULL;
	}
	*unavailable = strcmp(tee_name(agent->tee), "none") == 0;
	if (agent->tee == NULL) {
		snprintf(err, errlen, "no TEE provider");
		tls_info_clear(&ti);
		return NULL;
	}
	if (tee_evidence(agent->tee, rd, &ev, err, errlen) != 0) {
		tls_info_clear(&ti);
		return NULL;
	}

	r = admin_json_object();
	admin_json_add(r, "tee", admin_json_string(tee_name(agent->tee)));
	admin_json_add(r, "simulated",
	    admin_json_bool(tee_simulated(agent->tee)));
	admin_json_add(r, "format", admin_json_string(
	    tee_format_name(ev.format)));
	admin_json_add(r, "report", attestation_base64(ev.report,
	    ev.report_len));
	admin_json_add(r, "certificates", admin_json_string(ev.certs));
	admin_json_add(r, "certificates_note", admin_json_string(
	    ev.certs_note));
	admin_json_add(r, "report_data", attestation_hex(rd, sizeof(rd)));
	admin_json_add(r, "nonce", attestation_hex(nonce, nonce_len));
	admin_json_add(r, "x25519", attestation_base64(b.x25519,
	    sizeof(b.x25519)));
	admin_json_add(r, "ed25519", attestation_base64(b.ed25519,
	    sizeof(b.ed25519)));
	admin_json_add(r, "tls_pubkey_sha256", ti.on ?
	    attestation_hex(ti.spki_sha256, sizeof(ti.spki_sha256)) :
	    cJSON_CreateNull());
	admin_json_add(r, "tls_spki", ti.on ? attestation_base64(ti.spki,
	    ti.spki_len) : cJSON_CreateNull());
	/* Can a prompt reach this agent without TLS? Only when it is off. */
	admin_json_add(r, "prompts_encrypted", admin_json_bool(ti.on));
	tls_info_clear(&ti);
	tee_evidence_clear(&ev);
	return r;
}
