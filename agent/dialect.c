/*
 * What the dialects (dialect-*.c) share: a growing buffer, SSE and NDJSON
 * output from cJSON, and the walk over a chunk's SSE events.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "log.h"
#include "sse.h"
#include "xmalloc.h"

void
dialect_buf_add(struct dialect_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
dialect_buf_str(struct dialect_buf *b, const char *s)
{
	dialect_buf_add(b, s, strlen(s));
}

/* cJSON_PrintUnformatted fails only out of memory: that is fatal anyway. */
static char *
dialect_print(const struct cJSON *o)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	return s;
}

const char *
dialect_reasoning(const cJSON *o)
{
	static const char *const keys[] = { "reasoning_content", "reasoning" };
	const cJSON	*r;
	size_t		 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		r = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
		if (cJSON_IsString(r) && r->valuestring[0] != '\0')
			return r->valuestring;
	}
	return NULL;
}

void
dialect_buf_sse(struct dialect_buf *b, const char *name, const struct cJSON *o)
{
	char	*s = dialect_print(o);

	if (name != NULL) {
		dialect_buf_str(b, "event: ");
		dialect_buf_str(b, name);
		dialect_buf_str(b, "\n");
	}
	dialect_buf_str(b, "data: ");
	dialect_buf_str(b, s);
	dialect_buf_str(b, "\n\n");
	cJSON_free(s);
}

void
dialect_buf_line(struct dialect_buf *b, const struct cJSON *o)
{
	char	*s = dialect_print(o);

	dialect_buf_str(b, s);
	dialect_buf_str(b, "\n");
	cJSON_free(s);
}

void
dialect_buf_free(struct dialect_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

struct dialect_walk {
	int	(*cb)(void *, const char *, size_t);
	void	*arg;
};

static int
dialect_event(void *arg, const char *ev, size_t len)
{
	struct dialect_walk	*w = arg;
	char			*data;
	ssize_t			 n;
	int			 rc = 0;

	data = xmalloc(len + 1);
	if ((n = sse_event_data(ev, len, data, len + 1)) > 0)
		rc = w->cb(w->arg, data, (size_t)n);
	free(data);
	return rc;
}

int
dialect_events(const char *buf, size_t len,
    int (*cb)(void *, const char *, size_t), void *arg)
{
	struct dialect_walk	 w = { cb, arg };
	struct sse		*s;
	int			 rc;

	s = sse_new(len + 1);
	rc = sse_feed(s, buf, len, dialect_event, &w);
	if (rc == 0)
		rc = sse_finish(s, dialect_event, &w);
	if (rc == 0 && sse_pending(s) > 0)
		rc = -1;
	sse_free(s);
	return rc;
}
