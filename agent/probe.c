/*
 * A provider's health check and model list: GET its model list with its
 * credential, one blocking call (connect 3 s, total 5 s): the agent's own
 * client for a backend by address over plain HTTP (probe-h1.c), libcurl
 * for the rest. The daemon never runs it on a loop: admin-probe.c runs it
 * on a thread for an operator's command, health.c on its own thread. This
 * machine running out of descriptors or memory is no verdict on the
 * provider: that is PROBE_LOCAL, not a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "agent.h"
#include "store.h"
#include "xmalloc.h"

#define PROBE_CONNECT_MS	3000
#define PROBE_TOTAL_MS		5000
#define PROBE_MAX_BODY		(8 * 1024 * 1024)

/* Model names: OpenAI's {"data":[{"id"}]}, Ollama's {"models":[{"name"}]}. */
static int
probe_parse(const struct fetch_body *b, int ollama, char ***names,
    size_t *nnames)
{
	const cJSON	*list, *item, *id;
	cJSON		*root;
	size_t		 n = 0;

	if (b->data == NULL || (root = cJSON_ParseWithLength(b->data,
	    b->len)) == NULL)
		return -1;
	list = cJSON_GetObjectItemCaseSensitive(root, ollama ? "models" :
	    "data");
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(root);
		return -1;
	}
	*names = xcalloc((size_t)cJSON_GetArraySize(list) + 1,
	    sizeof(**names));
	cJSON_ArrayForEach(item, list) {
		id = cJSON_GetObjectItemCaseSensitive(item, ollama ? "name" :
		    "id");
		if (cJSON_IsString(id) && id->valuestring != NULL)
			(*names)[n++] = xstrdup(id->valuestring);
	}
	*nnames = n;
	cJSON_Delete(root);
	return 0;
}

/*
 * The GET through libcurl, for a url the own client does not take (a
 * host name, https, upstream-client = libcurl). As probe_get. pin: the
 * key an attestation bound, trusted in place of a CA unless pin_ca (as
 * requests are, upstream.c), or NULL.
 */
static int
probe_curl_get(const char *url, struct curl_slist *head, const char *pin,
    int pin_ca, const int *cancel, struct fetch_body *body, long *status,
    char *err, size_t errlen)
{
	char		 cerr[CURL_ERROR_SIZE];
	CURL		*h;
	CURLcode	 rc;
	int		 ret = -1, sock_errno = 0;

	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "this machine is out of resources:"
		    " cannot start a request");
		return PROBE_LOCAL;
	}
	cerr[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	upstream_tls_trust(h, pin, pin != NULL, pin_ca);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)PROBE_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)PROBE_TOTAL_MS);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, head);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cube-agent/" CUBE_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "identity");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, upstream_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &sock_errno);
	if (cancel != NULL) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION,
		    fetch_cancel_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, cancel);
	}
	rc = curl_easy_perform(h);
	if (upstream_failed_locally(h, rc, sock_errno)) {
		/* Not the backend's failure: no verdict on it. */
		snprintf(err, errlen, "this machine is out of resources: %s",
		    sock_errno != 0 ? strerror(sock_errno) : cerr[0] != '\0' ?
		    cerr : curl_easy_strerror(rc));
		ret = PROBE_LOCAL;
	} else if (rc != CURLE_OK) {
		if (body->overflow)
			snprintf(err, errlen, "the answer is larger than %d"
			    " bytes", PROBE_MAX_BODY);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(err, errlen, "cancelled");
		else
			snprintf(err, errlen, "%s", cerr[0] != '\0' ? cerr :
			    curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		ret = 0;
	}
	curl_easy_cleanup(h);
	return ret;
}

/*
 * GET the provider's url + path with its credential: the agent's own
 * client for a backend by address (probe-h1.c, libcurl never loaded),
 * else libcurl. Returns 0 with the HTTP status and the body (caller frees
 * body->data), or -1 (PROBE_LOCAL when this machine ran short) with err.
 */
static int
probe_get(const struct store_provider *p, const struct vault *vault,
    const char *path, const int *cancel, struct fetch_body *body,
    long *status, long *latency_ms, char *err, size_t errlen)
{
	static char		 accept[] = "Accept: application/json";
	struct curl_slist	*auth = NULL, head;
	struct provider_verdict	 v;
	struct timespec		 t0, t1;
	char			*url;
	const char		*pin = NULL;
	int			 ret = PROBE_H1_NOT_MINE;

	memset(body, 0, sizeof(*body));
	body->max = PROBE_MAX_BODY;
	*status = 0;
	*latency_ms = 0;
	if (p->credential != NULL && (auth = credential_header_new(vault,
	    p->credential, p->credential_len, err, errlen)) == NULL)
		return -1;
	xasprintf(&url, "%s%s", p->url, path);
	/* Our own node in front of the guarded one: never copied or freed. */
	head.data = accept;
	head.next = auth;

	/*
	 * An attested provider's checks go to the key its evidence bound, as
	 * its requests do (upstream.c): a key no CA signed passes them.
	 * Before a verdict, the system's CAs decide, as for any provider.
	 */
	if (p->attest_policy != NULL) {
		provider_attest_verdict(p->domain_id, p->name, p->url,
		    p->attest_policy, &v);
		if (v.attested && v.pin[0] != '\0')
			pin = v.pin;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pin == NULL && upstream_own_client_takes(url))
		ret = probe_h1_get(url, &head, PROBE_CONNECT_MS,
		    PROBE_TOTAL_MS, cancel, body, status, err, errlen);
	if (ret == PROBE_H1_NOT_MINE)
		ret = probe_curl_get(url, &head, pin, pin != NULL && v.pin_ca,
		    cancel, body, status, err, errlen);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*latency_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (ret != 0) {
		free(body->data);
		memset(body, 0, sizeof(*body));
	}
	credential_header_free(auth);
	free(url);
	return ret;
}

static const char *
probe_list_path(const struct store_provider *p)
{
	return strcmp(p->driver, "ollama") == 0 ? "/api/tags" : "/models";
}

int
probe_provider(const struct store_provider *p, const struct vault *vault,
    const int *cancel, char ***names, size_t *nnames, long *latency_ms,
    char *err, size_t errlen)
{
	struct fetch_body	 body;
	const char		*path = probe_list_path(p);
	long			 status;
	int			 ret = -1;

	if (names != NULL) {
		*names = NULL;
		*nnames = 0;
	}
	if ((ret = probe_get(p, vault, path, cancel, &body, &status,
	    latency_ms, err, errlen)) != 0)
		return ret;
	ret = -1;
	if (status < 200 || status > 299) {
		snprintf(err, errlen, "HTTP %ld from %s%s", status, path,
		    status == 401 || status == 403 ? " (check the credential)" :
		    "");
		goto out;
	}
	if (names != NULL && probe_parse(&body, strcmp(p->driver, "ollama") ==
	    0, names, nnames) != 0) {
		snprintf(err, errlen, "the answer from %s is not a model list",
		    path);
		goto out;
	}
	ret = 0;
out:
	free(body.data);
	return ret;
}

/* Is id one of names? Ollama's "llama3" is its "llama3:latest". */
static int
probe_listed(char **names, size_t n, const char *id, int ollama)
{
	size_t	i, len = strlen(id);

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], id) == 0)
			return 1;
		if (ollama && strchr(id, ':') == NULL &&
		    strncmp(names[i], id, len) == 0 &&
		    strcmp(names[i] + len, ":latest") == 0)
			return 1;
	}
	return 0;
}

/* s percent-encoded for a path segment: all but RFC 3986's unreserved. */
static char *
probe_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out = xreallocarray(NULL, strlen(s) + 1, 3), *o;
	unsigned char		 c;

	for (o = out; (c = (unsigned char)*s) != '\0'; s++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/*
 * Whether the backend serves model_id: in its list, or else (OpenAI-style
 * servers) known to GET /models/{id}, which answers for models a list
 * leaves out. 0 served; 1 not served; -1 could not tell; err says why.
 */
int
probe_model_served(const struct store_provider *p, const struct vault *vault,
    const char *model_id, const int *cancel, char *err, size_t errlen)
{
	struct fetch_body	 body;
	char			**names, *esc, *path;
	size_t			 n, i;
	long			 latency, status;
	int			 ollama, listed;

	ollama = strcmp(p->driver, "ollama") == 0;
	if (probe_provider(p, vault, cancel, &names, &n, &latency, err,
	    errlen) != 0)
		return -1;
	listed = probe_listed(names, n, model_id, ollama);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (listed)
		return 0;
	if (!ollama) {
		esc = probe_escape(model_id);
		xasprintf(&path, "/models/%s", esc);
		free(esc);
		i = probe_get(p, vault, path, cancel, &body, &status, &latency,
		    err, errlen);
		free(path);
		free(body.data);
		if (i == 0 && status >= 200 && status <= 299)
			return 0;
	}
	snprintf(err, errlen, "'%s' is not among the %zu model%s %s lists",
	    model_id, n, n == 1 ? "" : "s", probe_list_path(p));
	return 1;
}
