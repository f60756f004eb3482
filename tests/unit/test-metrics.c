/*
 * metrics.c: series bounded per domain, model keys that name no model
 * sharing one label, read back from /metrics over HTTP.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "agent.h"
#include "log.h"

struct page {
	char	*data;
	size_t	 len;
};

static size_t
page_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct page	*p = arg;
	size_t		 n = size * nmemb;

	p->data = realloc(p->data, p->len + n + 1);
	assert_non_null(p->data);
	memcpy(p->data + p->len, ptr, n);
	p->len += n;
	p->data[p->len] = '\0';
	return n;
}

/* A port nobody listens on now (the kernel's pick for port 0). */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void *
loop_run(void *arg)
{
	event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* One written trace of domain for model (NULL: none), with error. */
static void
count(const char *domain, const char *model, const char *error)
{
	struct trace	*t = trace_new();

	snprintf(t->domain_id, sizeof(t->domain_id), "%s", domain);
	if (model != NULL)
		trace_set_names(t, model, strlen(model), NULL, NULL);
	t->error = error;
	t->status = error != NULL ? 404 : 200;
	t->latency_ms = 3;
	metrics_add(t);
	trace_free(t);
}

/* How many lines of text start with prefix. */
static int
lines_with(const char *text, const char *prefix)
{
	const char	*p = text;
	int		 n = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return n;
}

static void
test_series_bounds(void **state)
{
	struct event_base	*base;
	struct page		 page = { NULL, 0 };
	pthread_t		 th;
	char			 err[256], listen[64], url[96], key[64];
	CURL			*h;
	long			 status = 0;
	int			 i;

	(void)state;
	assert_non_null(base = event_base_new());
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
	if (metrics_start(base, listen, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(pthread_create(&th, NULL, loop_run, base), 0);

	/* Domain a asks for 5,000 models that do not exist... */
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "random-%d-%x", i, i * 2654435761u);
		count("dom-a", key, "model_not_found");
	}
	/* ...and uses 300 real ones: 254 fit beside the two above. */
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "m%03d", i);
		count("dom-a", key, NULL);
	}
	/* Domain b's new model still gets its series. */
	count("dom-b", "chat", NULL);
	count("dom-b", "chat", "upstream_error");

	snprintf(url, sizeof(url), "http://%s/metrics", listen);
	assert_non_null(h = curl_easy_init());
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, page_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &page);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	assert_int_equal(status, 200);
	assert_non_null(page.data);

	assert_non_null(strstr(page.data, "cube_requests_total{"
	    "domain=\"dom-b\",model=\"chat\"} 2\n"));
	assert_non_null(strstr(page.data, "cube_errors_total{domain=\"dom-b\","
	    "model=\"chat\",code=\"upstream_error\"} 1\n"));
	assert_non_null(strstr(page.data, "cube_requests_total{"
	    "domain=\"dom-a\",model=\"(unknown)\"} 5000\n"));
	assert_non_null(strstr(page.data, "cube_errors_total{domain=\"dom-a\","
	    "model=\"(unknown)\",code=\"model_not_found\"} 5000\n"));
	assert_null(strstr(page.data, "random-"));
	/* 256 series: (unknown) twice, m000..m253; then (other), 46 times. */
	assert_non_null(strstr(page.data, "model=\"m253\"} 1\n"));
	assert_null(strstr(page.data, "model=\"m254\""));
	assert_non_null(strstr(page.data, "cube_requests_total{"
	    "domain=\"dom-a\",model=\"(other)\"} 46\n"));
	assert_int_equal(lines_with(page.data,
	    "cube_requests_total{domain=\"dom-a\","), 256);
	free(page.data);

	event_base_loopexit(base, NULL);
	pthread_join(th, NULL);
	metrics_stop();
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_bounds),
	};
	int	rc;

	log_init("test-metrics", 0);
	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	libevent_global_shutdown();
	return rc;
}
