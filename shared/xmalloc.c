/* Allocation wrappers: out-of-memory is fatal, so call sites stay short. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0)
		fatalx("%s: zero size", __func__);
	if ((p = malloc(size)) == NULL)
		fatal("%s: %zu bytes", __func__, size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size == 0)
		fatalx("%s: zero size", __func__);
	if ((p = calloc(n, size)) == NULL)
		fatal("%s: %zu * %zu bytes", __func__, n, size);
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size == 0)
		fatalx("%s: zero size", __func__);
	if ((p = reallocarray(old, n, size)) == NULL)
		fatal("%s: %zu * %zu bytes", __func__, n, size);
	return p;
}

/*
 * Grow or shrink a block that held what a peer sent (a token, a prompt):
 * the old block is wiped before it goes back to the heap, which realloc
 * would leave as it was.
 */
void *
xrealloc_wiped(void *old, size_t oldsize, size_t newsize)
{
	void	*p = xmalloc(newsize);

	if (old != NULL) {
		memcpy(p, old, oldsize < newsize ? oldsize : newsize);
		explicit_bzero(old, oldsize);
		free(old);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("%s", __func__);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("%s", __func__);
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("%s", __func__);
	return n;
}
