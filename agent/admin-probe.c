/*
 * The backend probes admin methods need: provider.test, provider.models and
 * the model pre-flight; and backup.begin's copy of the database, which
 * waits on the disk the same way. A method asks for one and returns; the
 * admin loop (admin.c) runs the probe on a thread of its own, outside any
 * transaction, then runs the method again with the outcome, which it takes
 * only if the provider is still the one probed. Methods and callbacks run
 * on the main loop; admin_probe_thread() on the probe's thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

/*
 * Probe threads at once: each waits up to 5 s on a backend, and an
 * operator's script that opens connection after connection must not
 * start threads without end.
 */
#define ADMIN_PROBES_MAX	16

static int	admin_probes_running;	/* main loop only */

/* A probe of p as kind; only what probing needs is copied. */
static struct admin_probe *
admin_probe_new(enum admin_probe_kind kind, const struct store_provider *p,
    const char *model_id)
{
	struct admin_probe	*probe;

	probe = xcalloc(1, sizeof(*probe));
	probe->kind = kind;
	probe->provider = xcalloc(1, sizeof(*probe->provider));
	memcpy(probe->provider->domain_id, p->domain_id,
	    sizeof(probe->provider->domain_id));
	probe->provider->name = xstrdup(p->name);
	probe->provider->driver = xstrdup(p->driver);
	probe->provider->url = xstrdup(p->url);
	if (p->credential != NULL) {
		probe->provider->credential = xmalloc(p->credential_len);
		memcpy(probe->provider->credential, p->credential,
		    p->credential_len);
		probe->provider->credential_len = p->credential_len;
	}
	/* An attested provider is probed at the key its verdict pinned. */
	if (p->attest_policy != NULL)
		probe->provider->attest_policy = xstrdup(p->attest_policy);
	if (model_id != NULL)
		probe->model_id = xstrdup(model_id);
	return probe;
}

/* Is probe the one a method asks for: the same provider, probed so? */
static int
admin_probe_same(const struct admin_probe *probe, enum admin_probe_kind kind,
    const struct store_provider *p, const char *model_id)
{
	const struct store_provider	*q = probe->provider;

	if (probe->kind != kind || strcmp(q->domain_id, p->domain_id) != 0 ||
	    strcmp(q->name, p->name) != 0 ||
	    strcmp(q->driver, p->driver) != 0 || strcmp(q->url, p->url) != 0)
		return 0;
	if ((q->attest_policy == NULL) != (p->attest_policy == NULL) ||
	    (q->attest_policy != NULL && strcmp(q->attest_policy,
	    p->attest_policy) != 0))
		return 0;
	if ((probe->model_id == NULL) != (model_id == NULL) ||
	    (model_id != NULL && strcmp(probe->model_id, model_id) != 0))
		return 0;
	if ((q->credential == NULL) != (p->credential == NULL))
		return 0;
	return q->credential == NULL || (q->credential_len ==
	    p->credential_len && sodium_memcmp(q->credential, p->credential,
	    p->credential_len) == 0);
}

const struct admin_probe *
admin_probe_need(struct admin_reply *reply, enum admin_probe_kind kind,
    const struct store_provider *p, const char *model_id)
{
	if (reply->probe == NULL) {
		reply->probe_want = admin_probe_new(kind, p, model_id);
		return NULL;
	}
	if (!admin_probe_same(reply->probe, kind, p, model_id)) {
		admin_reply_error(reply, RPC_FAILED, "provider '%s' changed"
		    " while it was being checked; try again", p->name);
		return NULL;
	}
	return reply->probe;
}

const struct admin_probe *
admin_probe_need_backup(struct admin_reply *reply, const char *data_dir)
{
	struct admin_probe	*probe;

	if (reply->probe == NULL) {
		probe = xcalloc(1, sizeof(*probe));
		probe->kind = ADMIN_PROBE_BACKUP;
		probe->backup = backup_new(data_dir);
		reply->probe_want = probe;
		return NULL;
	}
	if (reply->probe->kind != ADMIN_PROBE_BACKUP) {
		admin_reply_error(reply, RPC_INTERNAL_ERROR, "internal error");
		return NULL;
	}
	return reply->probe;
}

struct backup *
admin_probe_take_backup(const struct admin_probe *probe)
{
	struct admin_probe	*p = (struct admin_probe *)probe;
	struct backup		*b = p->backup;

	/* The request's own probe, done: only the method holds it now. */
	p->backup = NULL;
	return b;
}

void
admin_probe_run(struct admin_probe *probe, const struct vault *vault)
{
	switch (probe->kind) {
	case ADMIN_PROBE_BACKUP:
		probe->rc = backup_make(probe->backup, &probe->cancel,
		    probe->why, sizeof(probe->why));
		break;
	case ADMIN_PROBE_STATUS:	/* 0, -1 or PROBE_LOCAL */
		probe->rc = probe_provider(probe->provider, vault,
		    &probe->cancel, NULL, NULL, &probe->latency_ms, probe->why,
		    sizeof(probe->why));
		break;
	case ADMIN_PROBE_MODELS:
		probe->rc = probe_provider(probe->provider, vault,
		    &probe->cancel, &probe->names, &probe->nnames,
		    &probe->latency_ms, probe->why, sizeof(probe->why));
		break;
	case ADMIN_PROBE_SERVED:
		probe->rc = probe_model_served(probe->provider, vault,
		    probe->model_id, &probe->cancel, probe->why,
		    sizeof(probe->why));
		break;
	}
}

/* The probe's own thread: probe, then wake the loop. */
static void *
admin_probe_thread(void *arg)
{
	struct admin_probe	*probe = arg;

	admin_probe_run(probe, probe->vault);
	event_active(probe->done, EV_READ, 0);
	return NULL;
}

/* Back on the loop: the thread is done; hand the outcome over. */
static void
admin_probe_done(evutil_socket_t fd, short events, void *arg)
{
	struct admin_probe	*probe = arg;

	(void)fd;
	(void)events;
	pthread_join(probe->thread, NULL);
	probe->started = 0;
	admin_probes_running--;
	probe->cb(probe, probe->arg);
}

int
admin_probe_start(struct admin_probe *probe, struct event_base *base,
    const struct vault *vault, void (*cb)(struct admin_probe *, void *),
    void *arg, char *err, size_t errlen)
{
	int	rc;

	if (admin_probes_running >= ADMIN_PROBES_MAX) {
		snprintf(err, errlen, "%d backend checks are running already;"
		    " try again when one is done", ADMIN_PROBES_MAX);
		return -1;
	}
	if ((probe->done = event_new(base, -1, 0, admin_probe_done,
	    probe)) == NULL)
		fatalx("%s: event_new", __func__);
	probe->cb = cb;
	probe->arg = arg;
	probe->vault = vault;
	if ((rc = pthread_create(&probe->thread, NULL, admin_probe_thread,
	    probe)) != 0) {
		snprintf(err, errlen, "cannot start a thread for the check:"
		    " %s", strerror(rc));
		return -1;
	}
	probe->started = 1;
	admin_probes_running++;
	return 0;
}

void
admin_probe_cancel(struct admin_probe *probe)
{
	__atomic_store_n(&probe->cancel, 1, __ATOMIC_RELAXED);
}

void
admin_probe_free(struct admin_probe *probe)
{
	size_t	i;

	if (probe == NULL)
		return;
	if (probe->started) {
		pthread_join(probe->thread, NULL);
		admin_probes_running--;
	}
	if (probe->done != NULL)
		event_free(probe->done);
	for (i = 0; i < probe->nnames; i++)
		free(probe->names[i]);
	free(probe->names);
	free(probe->model_id);
	backup_free(probe->backup);
	if (probe->provider != NULL)
		store_provider_clear(probe->provider);
	free(probe->provider);
	free(probe);
}
