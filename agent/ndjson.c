/* Incremental NDJSON splitter: lines out as they complete, copied only
 * when a line spans feeds. */
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "xmalloc.h"

struct ndjson {
	size_t	 max;
	char	*buf;		/* the start of a line that spans feeds */
	size_t	 len;
	size_t	 cap;
	int	 spent;
};

struct ndjson *
ndjson_new(size_t max_line)
{
	struct ndjson	*nd;

	nd = xcalloc(1, sizeof(*nd));
	nd->max = max_line;
	return nd;
}

void
ndjson_free(struct ndjson *nd)
{
	if (nd == NULL)
		return;
	free(nd->buf);
	free(nd);
}

static int
ndjson_hold(struct ndjson *nd, const char *data, size_t len)
{
	if (nd->len + len > nd->max)
		return -1;
	if (nd->len + len > nd->cap) {
		nd->cap = nd->len + len < 256 ? 256 : (nd->len + len) * 2;
		if (nd->cap > nd->max)
			nd->cap = nd->max;
		nd->buf = xreallocarray(nd->buf, 1, nd->cap);
	}
	memcpy(nd->buf + nd->len, data, len);
	nd->len += len;
	return 0;
}

int
ndjson_feed(struct ndjson *nd, const char *data, size_t len,
    int (*cb)(void *, const char *, size_t), void *arg)
{
	const char	*nl, *end = data + len;

	if (nd->spent)
		return -1;
	while (data < end) {
		if ((nl = memchr(data, '\n', end - data)) == NULL) {
			if (ndjson_hold(nd, data, end - data) == -1)
				goto spent;
			return 0;
		}
		nl++;
		if (nd->len > 0) {
			if (ndjson_hold(nd, data, nl - data) == -1 ||
			    cb(arg, nd->buf, nd->len) != 0)
				goto spent;
			nd->len = 0;
		} else if ((size_t)(nl - data) > nd->max ||
		    cb(arg, data, nl - data) != 0)
			goto spent;
		data = nl;
	}
	return 0;
spent:
	nd->spent = 1;
	return -1;
}

int
ndjson_finish(struct ndjson *nd, int (*cb)(void *, const char *, size_t),
    void *arg)
{
	size_t	len;

	if (nd->spent)
		return -1;
	if ((len = nd->len) == 0)
		return 0;
	nd->len = 0;
	if (cb(arg, nd->buf, len) != 0) {
		nd->spent = 1;
		return -1;
	}
	return 0;
}
