/*
 * cubectl export: the agent's domains as a document (document.c) that
 * cubectl apply takes back. Same configuration, same bytes: no ids, no
 * times, no runtime status, lists in the agent's stable order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

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

/*
 * Write the document to dir/NAME.json, NAME the host (-H) or "local",
 * through a temporary file renamed into place, so a reader never sees
 * half a document. The same bytes export prints; mode 0600. The path
 * goes to *path (caller frees). Returns an exit status.
 */
static int
cmd_export_write(struct cubectl *c, const char *dir, const cJSON *doc,
    char **path)
{
	char	*text, *tmp;
	size_t	 len;
	int	 fd, rc = EXIT_OK;
	FILE	*f;

	xasprintf(path, "%s/%s.json", dir, c->host != NULL ? c->host :
	    "local");
	xasprintf(&tmp, "%s/.%s.json.XXXXXX", dir, c->host != NULL ? c->host :
	    "local");
	if ((text = cJSON_Print(doc)) == NULL)
		fatalx("%s: out of memory", __func__);
	len = strlen(text);
	if ((fd = mkstemp(tmp)) == -1) {
		output_error("--dir: %s: %s", dir, strerror(errno));
		rc = EXIT_FAILED;
		goto out;
	}
	if ((f = fdopen(fd, "w")) == NULL)
		fatal("%s: fdopen", __func__);
	if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF ||
	    fflush(f) == EOF || fsync(fd) == -1) {
		output_error("--dir: %s: %s", tmp, strerror(errno));
		rc = EXIT_FAILED;
	}
	if (fclose(f) == EOF && rc == EXIT_OK) {
		output_error("--dir: %s: %s", tmp, strerror(errno));
		rc = EXIT_FAILED;
	}
	if (rc == EXIT_OK && rename(tmp, *path) == -1) {
		output_error("--dir: %s: %s", *path, strerror(errno));
		rc = EXIT_FAILED;
	}
	if (rc != EXIT_OK)
		unlink(tmp);
out:
	explicit_bzero(text, len);
	free(text);
	free(tmp);
	return rc;
}

/* JSON whatever -o says: the document is the output, or --dir's file. */
int
cmd_export(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	const struct args_value	*d, *dir;
	cJSON			*doc, *wrote;
	char			*path;
	int			 rc;

	(void)ce;
	d = args_get(a, "-d");
	if ((rc = cmd_export_document(c, d != NULL ? d->string : NULL,
	    &doc)) != EXIT_OK)
		return rc;
	if ((dir = args_get(a, "--dir")) == NULL) {
		output_json(doc);
		cJSON_Delete(doc);
		return EXIT_OK;
	}
	rc = cmd_export_write(c, dir->string, doc, &path);
	cJSON_Delete(doc);
	if (rc == EXIT_OK && c->output == CUBECTL_JSON) {
		if ((wrote = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(wrote, "file", path) == NULL)
			fatalx("%s: out of memory", __func__);
		output_json(wrote);
		cJSON_Delete(wrote);
	} else if (rc == EXIT_OK)
		printf("wrote %s\n", path);
	free(path);
	return rc;
}
