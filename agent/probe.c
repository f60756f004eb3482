/*
 * A provider's health check: GET its model list with its credential, one
 * blocking libcurl call on the admin thread (connect 3 s, total 5 s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "agent.h"
#include "xmalloc.h"

#define PROBE_CONNECT_MS	3000
#define PROBE_TOTAL_MS		5000
#define PROBE_MAX_BODY		(8 * 1024 * 1024)

struct probe_body {
	char	*data;
	size_t	 len;
	int	 overflow;
};

static size_t
probe_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct probe_body	*b = arg;
	size_t			 n = size * nmemb;

	if (b->len + n > PROBE_MAX_BODY) {
		b->overflow = 1;
		return 0;
	}
	b->data = xreallocarray(b->data, b->len + n + 1, 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Model names: OpenAI's {"data":[{"id"}]}, Ollama's {"models":[{"name"}]}. */
static int
probe_parse(const struct probe_body *b, int ollama, char ***names,
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

int
probe_provider(const struct store_provider *p, const struct vault *vault,
    char ***names, size_t *nnames, long *latency_ms, char *err,
    size_t errlen)
{
	static char		 accept[] = "Accept: application/json";
	struct curl_slist	*auth = NULL, head;
	struct probe_body	 body;
	struct timespec		 t0, t1;
	char			*url, cerr[CURL_ERROR_SIZE];
	CURL			*h;
	CURLcode		 rc;
	long			 status = 0;
	int			 ollama, ret = -1;

	if (names != NULL) {
		*names = NULL;
		*nnames = 0;
	}
	*latency_ms = 0;
	ollama = strcmp(p->driver, "ollama") == 0;
	if (p->credential != NULL && (auth = credential_header_new(vault,
	    p->credential, p->credential_len, err, errlen)) == NULL)
		return -1;
	xasprintf(&url, "%s%s", p->url, ollama ? "/api/tags" : "/models");
	memset(&body, 0, sizeof(body));
	/* Our own node in front of the guarded one: never copied or freed by curl. */
	head.data = accept;
	head.next = auth;
	cerr[0] = '\0';

	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot start a request (libcurl)");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)PROBE_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)PROBE_TOTAL_MS);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, &head);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cube-agent/" CUBE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = curl_easy_perform(h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*latency_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc != CURLE_OK) {
		if (body.overflow)
			snprintf(err, errlen, "the answer is larger than %d"
			    " bytes", PROBE_MAX_BODY);
		else
			snprintf(err, errlen, "%s", cerr[0] != '\0' ? cerr :
			    curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(err, errlen, "HTTP %ld from %s%s", status,
		    ollama ? "/api/tags" : "/models",
		    status == 401 || status == 403 ? " (check the credential)" :
		    "");
		goto out;
	}
	if (names != NULL && probe_parse(&body, ollama, names, nnames) != 0) {
		snprintf(err, errlen, "the answer from %s is not a model list",
		    ollama ? "/api/tags" : "/models");
		goto out;
	}
	ret = 0;
out:
	curl_easy_cleanup(h);
	credential_header_free(auth);
	free(body.data);
	free(url);
	return ret;
}
