/*
 * cubectl export: the agent's domains as a document (document.c) that
 * cubectl apply takes back. Same configuration, same bytes: no ids, no
 * times, no runtime status, lists in the agent's stable order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"

/* The domain's providers, guardrails, models and tokens, by the agent. */
static const char *const cmd_export_lists[] = {
	"provider.list", "guardrail.list", "model.list", "token.list"
};
#define CMD_EXPORT_NLISTS \
	(sizeof(cmd_export_lists) / sizeof(cmd_export_lists[0]))

static int
cmd_export_domain(struct cubectl *c, const cJSON *domain, cJSON *domains)
{
	const cJSON	*id;
	cJSON		*lists[CMD_EXPORT_NLISTS] = { NULL }, *params;
	size_t		 i;
	int		 rc = EXIT_OK;

	id = cJSON_GetObjectItemCaseSensitive(domain, "id");
	if (!cJSON_IsString(id)) {
		output_error("unexpected reply to domain.list from the agent");
		return EXIT_FAILED;
	}
	for (i = 0; i < CMD_EXPORT_NLISTS && rc == EXIT_OK; i++) {
		if ((params = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(params, "domain",
		    id->valuestring) == NULL)
			fatalx("%s: out of memory", __func__);
		rc = client_call(c, cmd_export_lists[i], params, &lists[i]);
	}
	if (rc == EXIT_OK)
		cJSON_AddItemToArray(domains, document_domain_new(domain,
		    lists[0], lists[1], lists[2], lists[3]));
	for (i = 0; i < CMD_EXPORT_NLISTS; i++)
		cJSON_Delete(lists[i]);
	return rc;
}

/*
 * The document for one domain (id or name), or for every domain when
 * domain is NULL. Returns an exit status; on EXIT_OK *doc is the
 * document (caller frees it).
 */
int
cmd_export_document(struct cubectl *c, const char *domain, cJSON **doc)
{
	const cJSON	*d;
	cJSON		*result, *params = NULL;
	int		 rc;

	*doc = NULL;
	if (domain != NULL) {
		if ((params = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(params, "domain", domain) == NULL)
			fatalx("%s: out of memory", __func__);
	}
	if ((rc = client_call(c, domain != NULL ? "domain.get" : "domain.list",
	    params, &result)) != EXIT_OK)
		return rc;
	*doc = document_new();
	if (cJSON_IsObject(result))
		rc = cmd_export_domain(c, result,
		    cJSON_GetObjectItemCaseSensitive(*doc, "domains"));
	else {
		cJSON_ArrayForEach(d, result) {
			if ((rc = cmd_export_domain(c, d,
			    cJSON_GetObjectItemCaseSensitive(*doc,
			    "domains"))) != EXIT_OK)
				break;
		}
	}
	cJSON_Delete(result);
	if (rc != EXIT_OK) {
		cJSON_Delete(*doc);
		*doc = NULL;
	}
	return rc;
}

/* JSON whatever -o says: the document is the output. */
int
cmd_export(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	const struct args_value	*d;
	cJSON			*doc;
	int			 rc;

	(void)ce;
	d = args_get(a, "-d");
	if ((rc = cmd_export_document(c, d != NULL ? d->string : NULL,
	    &doc)) != EXIT_OK)
		return rc;
	output_json(doc);
	cJSON_Delete(doc);
	return EXIT_OK;
}
