/*
 * Counts heap allocations per thread of the process it is preloaded into,
 * for tests/scenario/allocations.sh and for measuring the request path.
 * Two builds of this one file:
 *   cc -shared -fPIC -o alloc-count.so alloc-count.c
 *	interposes malloc, calloc, realloc and the aligned allocators
 *	(strdup, asprintf and the libraries' allocations go through them);
 *	for a binary built without sanitizers;
 *   cc -shared -fPIC -DALLOC_COUNT_HOOKS -o alloc-hook.so alloc-count.c
 *	defines no allocator, counts through the sanitizers' allocation hook;
 *	for an AddressSanitizer binary (ASAN_OPTIONS=verify_asan_link_order=0).
 * The counts are written to $ALLOC_COUNT_FILE, one line per thread
 * ("TID NAME COUNT", NAME the thread's comm with spaces as '_'), each time
 * a file named $ALLOC_COUNT_FILE.req appears; it is removed once the
 * counts are written (rename, so a reader never sees half a table).
 * With $ALLOC_COUNT_COMM set, only a program of that name counts (so that
 * the helpers a test starts with the same environment stay out of it).
 */
#define _GNU_SOURCE
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ALLOC_COUNT_SLOTS	256

struct alloc_count_slot {
	_Atomic pid_t		 tid;
	_Atomic unsigned long	 n;
};

static struct alloc_count_slot	 slots[ALLOC_COUNT_SLOTS];
static _Atomic int		 nslots;
static __thread struct alloc_count_slot *mine
    __attribute__((tls_model("initial-exec")));
static const char		*out_path;

static void
alloc_count_one(void)
{
	int	i;

	if (mine == NULL) {
		i = atomic_fetch_add(&nslots, 1);
		if (i >= ALLOC_COUNT_SLOTS)
			i = ALLOC_COUNT_SLOTS - 1;	/* shared overflow slot */
		mine = &slots[i];
		atomic_store(&mine->tid, gettid());
	}
	atomic_fetch_add_explicit(&mine->n, 1, memory_order_relaxed);
}

#ifdef ALLOC_COUNT_HOOKS
void	__sanitizer_install_malloc_and_free_hooks(
	    void (*)(const volatile void *, size_t),
	    void (*)(const volatile void *));

static void
alloc_count_hook(const volatile void *p, size_t size)
{
	(void)p;
	(void)size;
	alloc_count_one();
}

static void
alloc_count_free_hook(const volatile void *p)
{
	(void)p;
}
#else
void	*__libc_malloc(size_t);
void	*__libc_calloc(size_t, size_t);
void	*__libc_realloc(void *, size_t);
void	*__libc_memalign(size_t, size_t);

void *
malloc(size_t size)
{
	alloc_count_one();
	return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	alloc_count_one();
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	alloc_count_one();
	return __libc_realloc(p, size);
}

void *
aligned_alloc(size_t align, size_t size)
{
	alloc_count_one();
	return __libc_memalign(align, size);
}

void *
memalign(size_t align, size_t size)
{
	alloc_count_one();
	return __libc_memalign(align, size);
}

int
posix_memalign(void **out, size_t align, size_t size)
{
	void	*p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	alloc_count_one();
	if ((p = __libc_memalign(align, size)) == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif

/* Write every thread's count to out_path, through a temporary file. */
static void
alloc_count_dump(void)
{
	char	 tmp[4096], comm[64], path[64];
	FILE	*f, *c;
	size_t	 len;
	int	 i, n = atomic_load(&nslots);

	if (n > ALLOC_COUNT_SLOTS)
		n = ALLOC_COUNT_SLOTS;
	snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	for (i = 0; i < n; i++) {
		pid_t	tid = atomic_load(&slots[i].tid);

		snprintf(comm, sizeof(comm), "?");
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm",
		    (int)tid);
		if ((c = fopen(path, "r")) != NULL) {
			if (fgets(comm, sizeof(comm), c) != NULL) {
				len = strcspn(comm, "\n");
				comm[len] = '\0';
				for (len = 0; comm[len] != '\0'; len++)
					if (comm[len] == ' ')
						comm[len] = '_';
			}
			fclose(c);
		}
		fprintf(f, "%d %s %lu\n", (int)tid, comm[0] ? comm : "?",
		    atomic_load(&slots[i].n));
	}
	fclose(f);
	rename(tmp, out_path);
}

/* Poll for the request file every 10 ms; the process does not wait on us. */
static void *
alloc_count_main(void *arg)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	char		 req[4096];

	(void)arg;
	snprintf(req, sizeof(req), "%s.req", out_path);
	for (;;) {
		nanosleep(&ts, NULL);
		if (access(req, F_OK) != 0)
			continue;
		alloc_count_dump();
		unlink(req);
	}
	return NULL;
}

__attribute__((constructor)) static void
alloc_count_init(void)
{
	pthread_t	 t;
	pthread_attr_t	 attr;

	const char	*comm = getenv("ALLOC_COUNT_COMM");

	if ((out_path = getenv("ALLOC_COUNT_FILE")) == NULL ||
	    strlen(out_path) > 4000)
		return;
	if (comm != NULL && strcmp(comm, program_invocation_short_name) != 0)
		return;
#ifdef ALLOC_COUNT_HOOKS
	__sanitizer_install_malloc_and_free_hooks(alloc_count_hook,
	    alloc_count_free_hook);
#endif
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Not a thread of the program: its name says so. */
	if (pthread_create(&t, &attr, alloc_count_main, NULL) == 0)
		pthread_setname_np(t, "alloc-count");
	pthread_attr_destroy(&attr);
}
