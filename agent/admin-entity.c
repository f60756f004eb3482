/*
 * One list, lookup and show for the admin methods of the tables kept per
 * domain (provider, model, guardrail), driven by each one's descriptor.
 * Admin loop only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "store.h"
#include "rpc.h"
#include "xmalloc.h"

/* <noun>.list: every row of the "domain" parameter's domain, as JSON. */
int
admin_entity_list(struct agent *agent, const struct admin_entity *e,
    const cJSON *params, struct admin_reply *reply)
{
	static const char *const	 allowed[] = { "domain", NULL };
	struct store_domain		 d;
	void				*list;
	size_t				 n, i;
	char				 err[256];
	cJSON				*a;
	int				 rc;

	if (admin_param_check(params, allowed, reply) != 0 ||
	    admin_param_domain(agent, params, &d, reply) != 0)
		return -1;
	rc = store_entity_list(agent->store, e->store, d.id, -1, &list, &n,
	    err, sizeof(err));
	store_domain_clear(&d);
	if (rc != 0)
		return admin_reply_store(reply, rc, err);
	a = admin_json_array();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, e->json((const unsigned char *)list +
		    i * e->store->size));
	store_entity_list_free(e->store, list, n);
	reply->result = a;
	return 0;
}

/*
 * The row named by the "domain" parameter and the descriptor's key
 * parameter, within that domain only; params may hold nothing outside
 * allowed (NULL: those two alone). With d, the domain is kept there for
 * the caller to clear; without, it is cleared here. -1 with reply filled.
 */
int
admin_entity_lookup(struct agent *agent, const struct admin_entity *e,
    const cJSON *params, const char *const *allowed, struct store_domain *d,
    void *row, struct admin_reply *reply)
{
	const char		*lookup[] = { "domain", e->key, NULL };
	struct store_domain	 dom;
	const char		*key;
	char			 err[256];
	int			 rc;

	if (admin_param_check(params, allowed != NULL ? allowed : lookup,
	    reply) != 0 ||
	    admin_param_domain(agent, params, &dom, reply) != 0)
		return -1;
	if (admin_param_string(params, e->key, ADMIN_PARAM_REQUIRED, 1,
	    e->key_max, e->valid, e->charset, &key, reply) == -1) {
		store_domain_clear(&dom);
		return -1;
	}
	if ((rc = store_entity_get(agent->store, e->store, dom.id, key, row,
	    err, sizeof(err))) != 0) {
		if (rc == STORE_NOT_FOUND &&
		    (e->flags & ADMIN_ENTITY_IN_DOMAIN) != 0)
			admin_reply_error(reply, RPC_NOT_FOUND, "%s '%s' not"
			    " found in domain '%s'", e->store->noun, key,
			    dom.name);
		else
			admin_reply_store(reply, rc, err);
		store_domain_clear(&dom);
		return -1;
	}
	if (d != NULL)
		*d = dom;
	else
		store_domain_clear(&dom);
	return 0;
}

/* <noun>.show: one row, as the list shows it. */
int
admin_entity_show(struct agent *agent, const struct admin_entity *e,
    const cJSON *params, struct admin_reply *reply)
{
	void	*row;

	row = xcalloc(1, e->store->size);
	if (admin_entity_lookup(agent, e, params, NULL, NULL, row,
	    reply) != 0) {
		free(row);
		return -1;
	}
	reply->result = e->json(row);
	e->store->clear(row);
	free(row);
	return 0;
}
