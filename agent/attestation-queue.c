/*
 * Evidence off the worker loops: TEE calls block (ioctls, configfs I/O),
 * so GET /attestation hands its nonce to a few threads of their own and
 * answers when the evidence is made. Every nonce gets fresh evidence:
 * nothing is cached. The queue is bounded; a full one answers 503.
 *
 * A job's life, under the queue's lock: QUEUED, then RUNNING on a thread,
 * then POSTED (its call posted to the worker's loop, wakeup.c, where done
 * runs). A client that leaves cancels it, on the worker's thread: a
 * queued or posted job is freed at once (a posted one taken back from
 * the loop first), a running one when its thread is through with it.
 */
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

enum attestation_state {
	ATTESTATION_QUEUED,
	ATTESTATION_RUNNING,
	ATTESTATION_POSTED,
};

struct attestation_job {
	enum attestation_state		 state;
	int				 cancelled;	/* RUNNING only */
	unsigned char			 nonce[ATTEST_NONCE_MAX];
	size_t				 nonce_len;
	struct wakeup			*wake;		/* the worker's loop */
	struct wakeup_call		 call;		/* its done, posted */
	attestation_done		 done;
	void				*arg;
	char				*json;		/* the answer, or NULL */
	size_t				 json_len;
	int				 unavailable;
	char				 error[512];
	TAILQ_ENTRY(attestation_job)	 entry;
};

static struct {
	struct agent			*agent;
	pthread_mutex_t			 lock;
	pthread_cond_t			 wake;
	TAILQ_HEAD(, attestation_job)	 queued;
	size_t				 njobs;		/* queued or running */
	int				 stopping;
	pthread_t			 threads[ATTESTATION_QUEUE_THREADS];
	int				 nthreads;
} aq = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.queued = TAILQ_HEAD_INITIALIZER(aq.queued),
};

static void
attestation_job_free(struct attestation_job *job)
{
	free(job->json);
	free(job);
}

/* On the worker's loop: the evidence is ready. */
static void
attestation_job_posted(void *arg)
{
	struct attestation_job	*job = arg;

	job->done(job->arg, job->json, job->json_len, job->unavailable,
	    job->json != NULL ? NULL : job->error);
	attestation_job_free(job);
}

/* One job, on a queue thread, without the lock. */
static void
attestation_job_run(struct attestation_job *job)
{
	cJSON	*r;
	char	*s;

	r = attestation_json(aq.agent, job->nonce, job->nonce_len,
	    &job->unavailable, job->error, sizeof(job->error));
	if (r == NULL)
		return;
	if ((s = cJSON_PrintUnformatted(r)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(r);
	job->json = s;
	job->json_len = strlen(s);
}

static void *
attestation_thread(void *unused)
{
	struct attestation_job	*job;

	(void)unused;
	pthread_mutex_lock(&aq.lock);
	for (;;) {
		while (!aq.stopping && TAILQ_EMPTY(&aq.queued))
			pthread_cond_wait(&aq.wake, &aq.lock);
		if ((job = TAILQ_FIRST(&aq.queued)) == NULL)
			break;		/* stopping, nothing left */
		TAILQ_REMOVE(&aq.queued, job, entry);
		job->state = ATTESTATION_RUNNING;
		pthread_mutex_unlock(&aq.lock);

		attestation_job_run(job);

		pthread_mutex_lock(&aq.lock);
		aq.njobs--;
		if (job->cancelled)
			attestation_job_free(job);
		else {
			job->state = ATTESTATION_POSTED;
			wakeup_post(job->wake, &job->call);
		}
	}
	pthread_mutex_unlock(&aq.lock);
	return NULL;
}

void
attestation_queue_start(struct agent *agent)
{
	int	i;

	aq.agent = agent;
	aq.stopping = 0;
	for (i = 0; i < ATTESTATION_QUEUE_THREADS; i++) {
		if ((errno = pthread_create(&aq.threads[i], NULL,
		    attestation_thread, NULL)) != 0)
			fatal("pthread_create");
		aq.nthreads++;
	}
}

void
attestation_queue_stop(void)
{
	struct attestation_job	*job;
	int			 i;

	pthread_mutex_lock(&aq.lock);
	aq.stopping = 1;
	/* Workers are gone, their clients cancelled: nothing should wait. */
	while ((job = TAILQ_FIRST(&aq.queued)) != NULL) {
		log_warnx("%s: a job outlived its worker", __func__);
		TAILQ_REMOVE(&aq.queued, job, entry);
		aq.njobs--;
		attestation_job_free(job);
	}
	pthread_cond_broadcast(&aq.wake);
	pthread_mutex_unlock(&aq.lock);
	for (i = 0; i < aq.nthreads; i++)
		pthread_join(aq.threads[i], NULL);
	aq.nthreads = 0;
}

struct attestation_job *
attestation_queue_submit(struct wakeup *wake, const unsigned char *nonce,
    size_t len, attestation_done done, void *arg)
{
	struct attestation_job	*job;

	if (len > sizeof(job->nonce))
		fatalx("%s: a nonce of %zu bytes", __func__, len);
	job = xcalloc(1, sizeof(*job));
	memcpy(job->nonce, nonce, len);
	job->nonce_len = len;
	job->done = done;
	job->arg = arg;
	job->wake = wake;
	wakeup_call_init(&job->call, attestation_job_posted, job);

	pthread_mutex_lock(&aq.lock);
	if (aq.stopping || aq.nthreads == 0 ||
	    aq.njobs >= ATTESTATION_QUEUE_MAX) {
		pthread_mutex_unlock(&aq.lock);
		attestation_job_free(job);
		return NULL;
	}
	job->state = ATTESTATION_QUEUED;
	TAILQ_INSERT_TAIL(&aq.queued, job, entry);
	aq.njobs++;
	pthread_cond_signal(&aq.wake);
	pthread_mutex_unlock(&aq.lock);
	return job;
}

void
attestation_queue_cancel(struct attestation_job *job)
{
	pthread_mutex_lock(&aq.lock);
	switch (job->state) {
	case ATTESTATION_QUEUED:
		TAILQ_REMOVE(&aq.queued, job, entry);
		aq.njobs--;
		attestation_job_free(job);
		break;
	case ATTESTATION_RUNNING:
		job->cancelled = 1;	/* its thread frees it */
		break;
	case ATTESTATION_POSTED:
		/* On the worker's thread: its call has not run yet. */
		wakeup_cancel(job->wake, &job->call);
		attestation_job_free(job);
		break;
	}
	pthread_mutex_unlock(&aq.lock);
}
