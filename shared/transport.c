/* Transports by name: the table of implementations and thin dispatchers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport.h"
#include "xmalloc.h"

static const struct transport_ops *transport_table[] = {
	&transport_unix_ops,
	&transport_ssh_ops,
};

struct transport *
transport_new(const char *name)
{
	struct transport	*t;
	size_t			 i;

	for (i = 0; i < sizeof(transport_table) / sizeof(transport_table[0]);
	    i++) {
		if (strcmp(transport_table[i]->name, name) != 0)
			continue;
		t = xcalloc(1, sizeof(*t));
		t->ops = transport_table[i];
		return t;
	}
	return NULL;
}

void
transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	t->ops->close(t);
	free(t);
}

int
transport_connect(struct transport *t, const struct transport_address *addr,
    char *err, size_t errlen)
{
	t->status = TRANSPORT_OK;
	if (t->ops->connect(t, addr, err, errlen) == -1) {
		if (t->status == TRANSPORT_OK)
			t->status = TRANSPORT_FAILED;
		return -1;
	}
	return 0;
}

ssize_t
transport_read(struct transport *t, void *buf, size_t len, int timeout_ms,
    char *err, size_t errlen)
{
	return t->ops->read(t, buf, len, timeout_ms, err, errlen);
}

int
transport_write(struct transport *t, const void *buf, size_t len,
    int timeout_ms, char *err, size_t errlen)
{
	return t->ops->write(t, buf, len, timeout_ms, err, errlen);
}

static int64_t
transport_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
transport_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : transport_now_ms() + timeout_ms;
}

int
transport_left(int64_t deadline)
{
	int64_t	left;

	if (deadline < 0)
		return -1;
	left = deadline - transport_now_ms();
	if (left < 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}
