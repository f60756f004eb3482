/*
 * libcurl, loaded the first time the agent needs it. The agent's own
 * client (upstream-h1.c, probe-h1.c) reaches the common backend, a local
 * Ollama or vLLM named by its address over plain HTTP; libcurl is for the
 * rest (host names, https and its pinning, proxies, JWKS, OTLP, provider
 * evidence). Linked at start, libcurl maps 27 libraries (GnuTLS through
 * librtmp, LDAP, Kerberos, libssh2...) and initialises OpenSSL: 4.4 MiB
 * of a 14 MiB idle agent and code that a TEE then carries for nothing.
 * Loaded on demand, an agent in front of local backends never maps them.
 *
 * This file defines the libcurl functions the agent calls, under their own
 * names, so no caller changes: each loads libcurl the first time
 * (curl_global_init_mem with scrub.c's wiping allocator) and calls
 * through. If libcurl cannot be loaded, each fails as libcurl does when
 * out of memory (NULL handles, CURLE_FAILED_INIT), which callers already
 * treat as this machine's failure, never the backend's; the next call
 * tries again (a machine out of descriptors recovers), and why it failed
 * is logged at most once a minute. The registry loads it ahead, on the
 * admin side, as soon as a provider will need it (registry.c), so the
 * first request to such a backend does not wait for it. dlopen is by
 * soname, as the dynamic linker would have loaded it.
 *
 * Test binaries also link libcurl itself (cube-tui's does); these
 * definitions then come first, and dlsym on libcurl's own handle still
 * finds libcurl's.
 */
#define CURL_DISABLE_TYPECHECK	/* plain prototypes for the definitions */

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "agent.h"
#include "log.h"

#define CURL_LOAD_SONAME	"libcurl.so.4"

static struct {
	CURLcode	 (*global_init_mem)(long, curl_malloc_callback,
			    curl_free_callback, curl_realloc_callback,
			    curl_strdup_callback, curl_calloc_callback);
	void		 (*global_cleanup)(void);
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_pause)(CURL *, int);
	void		 (*easy_cleanup)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	char		*(*easy_escape)(CURL *, const char *, int);
	void		 (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
	CURLM		*(*multi_init)(void);
	CURLMcode	 (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode	 (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode	 (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode	 (*multi_socket_action)(CURLM *, curl_socket_t, int,
			    int *);
	CURLMcode	 (*multi_assign)(CURLM *, curl_socket_t, void *);
	CURLMsg		*(*multi_info_read)(CURLM *, int *);
	const char	*(*multi_strerror)(CURLMcode);
	CURLMcode	 (*multi_cleanup)(CURLM *);
} curl_fn;

/* scrub.c's allocator, set before any thread starts; NULL: libcurl's. */
static curl_malloc_callback	 mem_malloc;
static curl_free_callback	 mem_free;
static curl_realloc_callback	 mem_realloc;
static curl_strdup_callback	 mem_strdup;
static curl_calloc_callback	 mem_calloc;

static pthread_mutex_t	 curl_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int	 curl_ready;	/* 1 loaded and initialised */
static time_t		 curl_logged;	/* the last failure logged, curl_lock */

#define CURL_LOAD_LOG_EVERY	60	/* seconds between failures logged */

void
curl_load_mem_functions(curl_malloc_callback m, curl_free_callback f,
    curl_realloc_callback r, curl_strdup_callback s, curl_calloc_callback c)
{
	mem_malloc = m;
	mem_free = f;
	mem_realloc = r;
	mem_strdup = s;
	mem_calloc = c;
}

/*
 * Why loading failed, at most once a minute: a machine out of descriptors
 * tries again at every call until it can.
 */
static void
curl_load_failed(const char *why)
{
	time_t	now = time(NULL);

	if (curl_logged != 0 && now - curl_logged < CURL_LOAD_LOG_EVERY)
		return;
	curl_logged = now;
	log_warnx("libcurl cannot be loaded (%s): backends by host name or"
	    " https cannot be reached", why);
}

/* Each symbol by name into its slot; -1 at the first one missing. */
static int
curl_load_symbols(void *lib)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} syms[] = {
#define SYM(n)	{ "curl_" #n, offsetof(__typeof__(curl_fn), n) }
		SYM(global_init_mem), SYM(global_cleanup), SYM(easy_init),
		SYM(easy_setopt), SYM(easy_getinfo), SYM(easy_perform),
		SYM(easy_pause), SYM(easy_cleanup), SYM(easy_strerror),
		SYM(easy_escape), SYM(free), SYM(slist_append),
		SYM(slist_free_all), SYM(multi_init), SYM(multi_setopt),
		SYM(multi_add_handle), SYM(multi_remove_handle),
		SYM(multi_socket_action), SYM(multi_assign),
		SYM(multi_info_read), SYM(multi_strerror), SYM(multi_cleanup),
#undef SYM
	};
	size_t	 i;
	void	*p;
	char	 why[64];

	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if ((p = dlsym(lib, syms[i].name)) == NULL) {
			snprintf(why, sizeof(why), "%s is missing",
			    syms[i].name);
			curl_load_failed(why);
			return -1;
		}
		/* POSIX: a dlsym result converts to a function pointer. */
		memcpy((char *)&curl_fn + syms[i].off, &p, sizeof(p));
	}
	return 0;
}

/* Under curl_lock: load, find every function, initialise. */
static void
curl_load_locked(void)
{
	void		*lib;
	CURLcode	 rc;
	const char	*e;

	if ((lib = dlopen(CURL_LOAD_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		curl_load_failed(e != NULL ? e : CURL_LOAD_SONAME);
		return;
	}
	if (curl_load_symbols(lib) == -1)
		return;
	rc = mem_malloc != NULL ? curl_fn.global_init_mem(CURL_GLOBAL_DEFAULT,
	    mem_malloc, mem_free, mem_realloc, mem_strdup, mem_calloc) :
	    curl_fn.global_init_mem(CURL_GLOBAL_DEFAULT, malloc, free,
	    realloc, strdup, calloc);
	if (rc != CURLE_OK) {
		curl_load_failed(curl_fn.easy_strerror(rc));
		return;
	}
	atomic_store_explicit(&curl_ready, 1, memory_order_release);
	log_info("libcurl loaded");
}

int
curl_load(void)
{
	if (atomic_load_explicit(&curl_ready, memory_order_acquire))
		return 1;
	pthread_mutex_lock(&curl_lock);
	if (!atomic_load_explicit(&curl_ready, memory_order_relaxed))
		curl_load_locked();
	pthread_mutex_unlock(&curl_lock);
	return atomic_load_explicit(&curl_ready, memory_order_acquire);
}

void
curl_global_cleanup(void)
{
	/* Never load libcurl only to clean it up. */
	if (atomic_load(&curl_ready))
		curl_fn.global_cleanup();
}

CURL *
curl_easy_init(void)
{
	return curl_load() ? curl_fn.easy_init() : NULL;
}

/*
 * The option's number says its argument's type (curl.h's CURLOPTTYPE_*
 * bases); each is taken as that type and handed on.
 */
CURLcode
(curl_easy_setopt)(CURL *h, CURLoption opt, ...)
{
	va_list		 ap;
	CURLcode	 rc;

	if (!curl_load())
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = curl_fn.easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = curl_fn.easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = curl_fn.easy_setopt(h, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = curl_fn.easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = curl_fn.easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes one pointer. */
CURLcode
(curl_easy_getinfo)(CURL *h, CURLINFO info, ...)
{
	va_list		 ap;
	CURLcode	 rc;

	if (!curl_load())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	rc = curl_fn.easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode
curl_easy_perform(CURL *h)
{
	return curl_load() ? curl_fn.easy_perform(h) : CURLE_FAILED_INIT;
}

CURLcode
curl_easy_pause(CURL *h, int bitmask)
{
	return curl_load() ? curl_fn.easy_pause(h, bitmask) :
	    CURLE_FAILED_INIT;
}

void
curl_easy_cleanup(CURL *h)
{
	if (h != NULL && curl_load())
		curl_fn.easy_cleanup(h);
}

const char *
curl_easy_strerror(CURLcode rc)
{
	return curl_load() ? curl_fn.easy_strerror(rc) :
	    "libcurl cannot be loaded";
}

char *
curl_easy_escape(CURL *h, const char *s, int len)
{
	return curl_load() ? curl_fn.easy_escape(h, s, len) : NULL;
}

void
curl_free(void *p)
{
	if (p != NULL && curl_load())
		curl_fn.free(p);
}

struct curl_slist *
curl_slist_append(struct curl_slist *list, const char *s)
{
	return curl_load() ? curl_fn.slist_append(list, s) : NULL;
}

void
curl_slist_free_all(struct curl_slist *list)
{
	if (list != NULL && curl_load())
		curl_fn.slist_free_all(list);
}

CURLM *
curl_multi_init(void)
{
	return curl_load() ? curl_fn.multi_init() : NULL;
}

/* As curl_easy_setopt: CURLMOPT_* use the same type bases. */
CURLMcode
(curl_multi_setopt)(CURLM *m, CURLMoption opt, ...)
{
	va_list		 ap;
	CURLMcode	 rc;

	if (!curl_load())
		return CURLM_INTERNAL_ERROR;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = curl_fn.multi_setopt(m, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = curl_fn.multi_setopt(m, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = curl_fn.multi_setopt(m, opt, va_arg(ap, void (*)(void)));
	else
		rc = curl_fn.multi_setopt(m, opt, va_arg(ap, curl_off_t));
	va_end(ap);
	return rc;
}

CURLMcode
curl_multi_add_handle(CURLM *m, CURL *h)
{
	return curl_load() ? curl_fn.multi_add_handle(m, h) :
	    CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_remove_handle(CURLM *m, CURL *h)
{
	return curl_load() ? curl_fn.multi_remove_handle(m, h) :
	    CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev, int *running)
{
	return curl_load() ? curl_fn.multi_socket_action(m, s, ev, running) :
	    CURLM_INTERNAL_ERROR;
}

CURLMcode
curl_multi_assign(CURLM *m, curl_socket_t s, void *p)
{
	return curl_load() ? curl_fn.multi_assign(m, s, p) :
	    CURLM_INTERNAL_ERROR;
}

CURLMsg *
curl_multi_info_read(CURLM *m, int *left)
{
	return curl_load() ? curl_fn.multi_info_read(m, left) : NULL;
}

const char *
curl_multi_strerror(CURLMcode rc)
{
	return curl_load() ? curl_fn.multi_strerror(rc) :
	    "libcurl cannot be loaded";
}

CURLMcode
curl_multi_cleanup(CURLM *m)
{
	return m != NULL && curl_load() ? curl_fn.multi_cleanup(m) : CURLM_OK;
}
