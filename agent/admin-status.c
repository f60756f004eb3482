/* The status method: what this agent is, where it listens, its public key. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "rpc.h"

/* Whether prompts arrive encrypted, and to which key. */
static cJSON *
admin_status_tls(void)
{
	struct tls_info	 ti;
	struct tm	 tm;
	char		 hex[65], when[32];
	cJSON		*t = admin_json_object();

	tls_info(&ti);
	admin_json_add(t, "on", admin_json_bool(ti.on));
	admin_json_add(t, "mode", admin_json_string(ti.mode));
	admin_json_add(t, "prompts_encrypted", admin_json_bool(ti.on));
	admin_json_add(t, "spki_sha256", ti.on ? admin_json_string(
	    attest_hex(ti.spki_sha256, 32, hex, sizeof(hex))) :
	    cJSON_CreateNull());
	if (ti.on && ti.not_after != 0 && gmtime_r(&ti.not_after, &tm) != NULL &&
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) != 0)
		admin_json_add(t, "not_after", admin_json_string(when));
	else
		admin_json_add(t, "not_after", cJSON_CreateNull());
	tls_info_clear(&ti);
	return t;
}

/* Where token limits are counted: this host, or Redis shared by a fleet. */
static cJSON *
admin_status_limits(void)
{
	struct limit_redis_status	 st;
	cJSON			*l = admin_json_object();

	limit_redis_status(&st);
	admin_json_add(l, "backend", admin_json_string(st.on ? "redis" :
	    "local"));
	if (!st.on)
		return l;
	admin_json_add(l, "state", admin_json_string(st.connections > 0 &&
	    st.connections_up == st.connections ? "connected" : "down"));
	admin_json_add(l, "tls", admin_json_bool(st.tls));
	admin_json_add(l, "connections", admin_json_number(st.connections));
	admin_json_add(l, "connections_up", admin_json_number(
	    st.connections_up));
	admin_json_add(l, "fleet_size", admin_json_number(st.fleet_size));
	admin_json_add(l, "errors", admin_json_number((double)st.errors));
	admin_json_add(l, "fallbacks", admin_json_number((double)
	    st.fallbacks));
	return l;
}

/* Receipts signed since start and the signatures they took (metrics.c). */
static cJSON *
admin_status_receipts(const struct agent *agent)
{
	uint64_t	 receipts, signatures;
	cJSON		*o = admin_json_object();

	metrics_receipts_total(&receipts, &signatures);
	admin_json_add(o, "signed", admin_json_number((double)receipts));
	admin_json_add(o, "signatures", admin_json_number((double)signatures));
	admin_json_add(o, "batch_max", admin_json_number(
	    agent->cfg.receipt_batch));
	admin_json_add(o, "wait_us", admin_json_number(
	    agent->cfg.receipt_wait_us));
	return o;
}

int
admin_status(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const	 allowed[] = { NULL };
	char				 pk[sodium_base64_ENCODED_LEN(
					    VAULT_SEAL_PUBLICKEY_BYTES,
					    sodium_base64_VARIANT_ORIGINAL)];
	char				 err[256];
	size_t				 ndomains;
	time_t				 now = time(NULL);
	cJSON				*r;
	int				 rc;

	if (admin_param_check(params, allowed, reply) != 0)
		return -1;
	if ((rc = store_domain_count(agent->store, &ndomains, err,
	    sizeof(err))) != 0)
		return admin_reply_store(reply, rc, err);
	sodium_bin2base64(pk, sizeof(pk), vault_seal_public_key(agent->vault),
	    VAULT_SEAL_PUBLICKEY_BYTES, sodium_base64_VARIANT_ORIGINAL);

	r = admin_json_object();
	admin_json_add(r, "version", admin_json_string(CUBE_VERSION));
	admin_json_add(r, "pid", admin_json_number(getpid()));
	admin_json_add(r, "uptime_s", admin_json_number(agent->started != 0 &&
	    now > agent->started ? (double)(now - agent->started) : 0));
	admin_json_add(r, "listen", admin_json_string(agent->cfg.listen));
	admin_json_add(r, "workers", admin_json_number(agent->cfg.workers));
	admin_json_add(r, "tee", admin_json_string(agent->cfg.tee != NULL ?
	    agent->cfg.tee : "none"));
	admin_json_add(r, "data_dir", admin_json_string(agent->cfg.data_dir));
	admin_json_add(r, "seal_public_key", admin_json_string(pk));
	admin_json_add(r, "keys_at_rest", admin_json_string(
	    vault_keys_at_rest(agent->vault)));
	admin_json_add(r, "domains", admin_json_number((double)ndomains));
	admin_json_add(r, "tls", admin_status_tls());
	admin_json_add(r, "limits", admin_status_limits());
	admin_json_add(r, "receipts", admin_status_receipts(agent));
	reply->result = r;
	return 0;
}
