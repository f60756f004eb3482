/*
 * Secrets out of reach of a crash: no core dumps (unless the operator asks
 * for them), and the heap blocks of libcurl and libevent wiped before they
 * are freed. libcurl copies the provider's "Authorization" header into its
 * own request buffer, libevent reads a client's token into its input
 * chains, cJSON holds a new token's secret on its way to the operator,
 * cjose copies a client's JWT; all hand those blocks back to malloc, where
 * they would stay readable until reused. Their memory hooks
 * (curl_global_init_mem, event_set_mem_functions, cJSON_InitHooks,
 * cjose_set_alloc_funcs) let us wipe every block on the
 * way out, at the cost of a memset of what they free. Runs once, at
 * start, before any of them allocates anything.
 *
 * The memset must not touch fresh pages: libcurl frees its 64 KiB receive
 * buffer after every transfer, and glibc handed such blocks back to the
 * kernel as soon as 128 KiB lay free at the top of a heap, so each wipe
 * faulted its pages in again (a third more CPU per request in make bench).
 * Keeping up to SCRUB_TRIM_THRESHOLD of free heap mapped makes the wipe a
 * memset of memory already in use.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cjose/util.h>
#include <event2/event.h>

#include "agent.h"
#include "log.h"

#define SCRUB_TRIM_THRESHOLD	(8 * 1024 * 1024)	/* free heap kept */

static void
scrub_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* realloc that never leaves the old block's bytes behind in the heap. */
static void *
scrub_realloc(void *p, size_t n)
{
	void	*q;
	size_t	 old;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		scrub_free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)	/* shrinking in place keeps the block */
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	scrub_free(p);
	return q;
}

static char *
scrub_strdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/*
 * Core dumps off (RLIMIT_CORE 0, and not dumpable, which also keeps
 * same-user ptrace and /proc/PID/mem out), unless allow_dumps; then the
 * hooks. Start-up errors are fatal: better no daemon than a leaky one.
 */
void
scrub_start(int allow_dumps)
{
	static cJSON_Hooks	 hooks = { malloc, scrub_free };
	struct rlimit		 rl = { 0, 0 };

	if (allow_dumps)
		log_warnx("core dumps allowed (core-dumps = on): a dump of this"
		    " process holds prompts, answers and API tokens");
	else if (setrlimit(RLIMIT_CORE, &rl) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("disabling core dumps");
	if (mallopt(M_TRIM_THRESHOLD, SCRUB_TRIM_THRESHOLD) == 0)
		log_warnx("mallopt: cannot keep freed heap mapped");
	event_set_mem_functions(malloc, scrub_realloc, scrub_free);
	cJSON_InitHooks(&hooks);
	cjose_set_alloc_funcs(malloc, scrub_realloc, scrub_free);
	/* For libcurl's curl_global_init_mem, once it is loaded. */
	curl_load_mem_functions(malloc, scrub_free, scrub_realloc,
	    scrub_strdup, calloc);
}
