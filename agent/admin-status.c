/* The status method: what this agent is, where it listens, its public key. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "rpc.h"

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
	admin_json_add(r, "domains", admin_json_number((double)ndomains));
	reply->result = r;
	return 0;
}
