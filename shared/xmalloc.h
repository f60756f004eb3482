/* Allocation wrappers that abort on out-of-memory; never for secrets. */
#ifndef CUBE_XMALLOC_H
#define CUBE_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
/* realloc that wipes the old block (oldsize bytes) before freeing it. */
void	*xrealloc_wiped(void *, size_t oldsize, size_t newsize);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
