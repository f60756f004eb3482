/*
 * Rolling figures for stats.get and stats.tail: per (domain, model)
 * series of buckets in three rings (60 of one second, 30 of ten seconds,
 * 60 of one minute: the 1 min, 5 min and 1 h windows), each bucket with
 * log-scale histograms of latency and time to first token, and the spend
 * of the current UTC day. The trace writer's thread adds each committed
 * trace; the admin loop reads. The one lock is between those two threads:
 * the request path never takes it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

/* The rings: bucket width in seconds, buckets, first bucket's index. */
static const struct {
	int64_t	width;
	int64_t	n;
	size_t	off;
} stats_rings[STATS_NWINDOWS] = {
	[STATS_1M] = { 1, 60, 0 },
	[STATS_5M] = { 10, 30, 60 },
	[STATS_1H] = { 60, 60, 90 },
};
#define STATS_NBUCKETS	150

/* A histogram in a bucket: 32-bit counts keep a bucket small. */
struct stats_bhist {
	uint32_t	 count;
	int64_t		 min;
	int64_t		 max;
	uint32_t	 bin[STATS_BINS];
};

struct stats_bucket {
	int64_t			 slot;	/* seconds / width of its start */
	uint32_t		 requests;
	uint32_t		 errors;
	int64_t			 prompt_tokens;
	int64_t			 completion_tokens;
	struct stats_bhist	 latency;
	struct stats_bhist	 ttft;
};

struct stats_series {
	char			 domain_id[37];
	char			 model[129];
	int64_t			 day;		/* UTC day of cost_today */
	int64_t			 cost_today;	/* nano-USD */
	struct stats_bucket	*buckets;	/* STATS_NBUCKETS */
};

struct stats {
	pthread_mutex_t		 lock;
	int64_t			 latest;	/* the newest second seen */
	struct stats_series	 series[STATS_MAX_SERIES];
	size_t			 nseries;
	int			 full_logged;
	int			 domain_full_logged;
};

int64_t
stats_window_seconds(enum stats_window w)
{
	return stats_rings[w].width * stats_rings[w].n;
}

/* The upper edge of bin k in millionths of a ms: 2^(k/3) ms. */
static int64_t
stats_edge6(int k)
{
	static const int64_t	cbrt2[3] = { 1000000, 1259921, 1587401 };

	return ((int64_t)1 << (k / 3)) * cbrt2[k % 3];
}

/*
 * The bin of a duration: 0 holds [0, 1) ms, bin k [2^((k-1)/3), 2^(k/3))
 * ms (a quarter apart: a percentile within 26% before clamping), the last
 * everything from about 27 minutes up.
 */
int
stats_bin(int64_t ms)
{
	int	lo = 0, hi = STATS_BINS - 1, mid;

	if (ms < 0)
		ms = 0;
	if (ms > (int64_t)1 << 40)
		ms = (int64_t)1 << 40;
	/* The first k whose upper edge is above ms; the last if none. */
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (ms * 1000000 < stats_edge6(mid))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void
stats_bhist_add(struct stats_bhist *h, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (h->count == 0 || ms < h->min)
		h->min = ms;
	if (h->count == 0 || ms > h->max)
		h->max = ms;
	h->count++;
	h->bin[stats_bin(ms)]++;
}

static void
stats_hist_merge_bucket(struct stats_hist *to, const struct stats_bhist *h)
{
	size_t	i;

	if (h->count == 0)
		return;
	if (to->count == 0 || h->min < to->min)
		to->min = h->min;
	if (to->count == 0 || h->max > to->max)
		to->max = h->max;
	to->count += h->count;
	for (i = 0; i < STATS_BINS; i++)
		to->bin[i] += h->bin[i];
}

static void
stats_hist_merge(struct stats_hist *to, const struct stats_hist *h)
{
	size_t	i;

	if (h->count == 0)
		return;
	if (to->count == 0 || h->min < to->min)
		to->min = h->min;
	if (to->count == 0 || h->max > to->max)
		to->max = h->max;
	to->count += h->count;
	for (i = 0; i < STATS_BINS; i++)
		to->bin[i] += h->bin[i];
}

void
stats_sum_merge(struct stats_sum *to, const struct stats_sum *s)
{
	to->requests += s->requests;
	to->errors += s->errors;
	to->prompt_tokens += s->prompt_tokens;
	to->completion_tokens += s->completion_tokens;
	stats_hist_merge(&to->latency, &s->latency);
	stats_hist_merge(&to->ttft, &s->ttft);
}

/*
 * The p-quantile (0 < p <= 1) of a histogram in ms, -1 when it is empty:
 * interpolated inside its bin, then kept within the smallest and largest
 * value seen, so that equal durations give that duration exactly.
 */
int64_t
stats_percentile(const struct stats_hist *h, double p)
{
	uint64_t	rank, cum = 0;
	double		lo, hi, v;
	int		k;

	if (h->count == 0)
		return -1;
	if (!(p > 0))
		p = 0;
	if (p > 1)
		p = 1;
	rank = (uint64_t)(p * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (k = 0; k < STATS_BINS - 1; k++) {
		if (cum + h->bin[k] >= rank)
			break;
		cum += h->bin[k];
	}
	lo = k == 0 ? 0 : stats_edge6(k - 1) / 1e6;
	hi = k == STATS_BINS - 1 ? lo : stats_edge6(k) / 1e6;
	v = h->bin[k] == 0 ? lo : lo + (hi - lo) * ((double)(rank - cum) -
	    0.5) / (double)h->bin[k];
	if (v < (double)h->min)
		v = (double)h->min;
	if (v > (double)h->max)
		v = (double)h->max;
	return (int64_t)(v + 0.5);
}

struct stats *
stats_new(void)
{
	struct stats	*s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void
stats_free(struct stats *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nseries; i++)
		free(s->series[i].buckets);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The series of (domain, model); *indomain: how many the domain has. */
static struct stats_series *
stats_lookup(struct stats *s, const char *domain_id, const char *model,
    size_t *indomain)
{
	struct stats_series	*x;
	size_t			 i;

	*indomain = 0;
	for (i = 0; i < s->nseries; i++) {
		x = &s->series[i];
		if (strcmp(x->domain_id, domain_id) != 0)
			continue;
		(*indomain)++;
		if (strcmp(x->model, model) == 0)
			return x;
	}
	return NULL;
}

static struct stats_series *
stats_create(struct stats *s, const char *domain_id, const char *model)
{
	struct stats_series	*x = &s->series[s->nseries++];

	memset(x, 0, sizeof(*x));
	snprintf(x->domain_id, sizeof(x->domain_id), "%s", domain_id);
	snprintf(x->model, sizeof(x->model), "%s", model);
	x->buckets = xcalloc(STATS_NBUCKETS, sizeof(*x->buckets));
	return x;
}

static void
stats_remove(struct stats *s, size_t i)
{
	free(s->series[i].buckets);
	if (i != s->nseries - 1)
		s->series[i] = s->series[s->nseries - 1];
	s->nseries--;
}

/* Drop the series of domains and models reg no longer has. */
static void
stats_prune_locked(struct stats *s, const struct registry *reg)
{
	const struct reg_domain	*d;
	struct stats_series	*x;
	size_t			 i;

	for (i = s->nseries; i-- > 0;) {
		x = &s->series[i];
		if (x->domain_id[0] == '\0')
			continue;
		d = registry_find_domain(reg, x->domain_id,
		    strlen(x->domain_id));
		if (d != NULL && strcmp(d->id, x->domain_id) == 0 &&
		    (strcmp(x->model, STATS_OTHER) == 0 ||
		    strcmp(x->model, STATS_UNKNOWN) == 0 ||
		    registry_find_model(d, x->model, strlen(x->model)) !=
		    NULL))
			continue;
		stats_remove(s, i);
	}
}

void
stats_prune(struct stats *s, const struct registry *reg)
{
	if (s == NULL || reg == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	stats_prune_locked(s, reg);
	pthread_mutex_unlock(&s->lock);
}

/* Does reg have domain_id's model key? 1 without a registry (tests). */
static int
stats_known(const struct registry *reg, const char *domain_id,
    const char *model)
{
	const struct reg_domain	*d;

	if (reg == NULL)
		return 1;
	d = registry_find_domain(reg, domain_id, strlen(domain_id));
	return d != NULL && strcmp(d->id, domain_id) == 0 &&
	    registry_find_model(d, model, strlen(model)) != NULL;
}

/*
 * The series a trace counts in, made when new. A model label is one the
 * registry has: keys that named no model, or came with a request refused
 * before its model was looked up, share STATS_UNKNOWN, so no client can
 * make up series. A domain has at most STATS_DOMAIN_SERIES: past that its
 * further models count as STATS_OTHER. Past STATS_MAX_SERIES (after
 * dropping what was deleted), new series go to one STATS_OTHER of no
 * domain, which only the host's figures include.
 */
static struct stats_series *
stats_find(struct stats *s, const struct trace *t)
{
	const char		*model = t->model;
	struct stats_series	*x;
	struct registry		*reg = NULL;
	size_t			 n;

	if (t->domain_id[0] == '\0' || model == NULL || *model == '\0' ||
	    (t->error != NULL && strcmp(t->error, "model_not_found") == 0) ||
	    t->step == TRACE_STEP_REQUEST ||
	    t->step == TRACE_STEP_AUTHENTICATE ||
	    t->step == TRACE_STEP_DOMAIN || t->step == TRACE_STEP_MODEL)
		model = STATS_UNKNOWN;
	if ((x = stats_lookup(s, t->domain_id, model, &n)) != NULL)
		return x;
	/* Only new series need the registry: rare, and never a worker. */
	reg = registry_acquire();
	if (strcmp(model, STATS_UNKNOWN) != 0 &&
	    !stats_known(reg, t->domain_id, model))
		model = STATS_UNKNOWN;
	else if (strcmp(model, STATS_UNKNOWN) != 0 &&
	    n >= STATS_DOMAIN_SERIES - 2) {
		if (!s->domain_full_logged++)
			log_warnx("stats: domain %s has %d series; its further"
			    " models are counted as \"%s\"", t->domain_id,
			    STATS_DOMAIN_SERIES, STATS_OTHER);
		model = STATS_OTHER;
	}
	if (model != t->model &&
	    (x = stats_lookup(s, t->domain_id, model, &n)) != NULL)
		goto out;
	if (s->nseries >= STATS_MAX_SERIES - 1 && reg != NULL)
		stats_prune_locked(s, reg);
	if (s->nseries < STATS_MAX_SERIES - 1) {
		x = stats_create(s, t->domain_id, model);
		goto out;
	}
	if (!s->full_logged++)
		log_warnx("stats: more than %d series; new ones count only in"
		    " the host's figures", STATS_MAX_SERIES - 1);
	if ((x = stats_lookup(s, "", STATS_OTHER, &n)) == NULL)
		x = stats_create(s, "", STATS_OTHER);
out:
	if (reg != NULL)
		registry_release(reg);
	return x;
}

/* Add cost to a series' spend of day; a day before its own is past. */
static void
stats_spend(struct stats_series *x, int64_t day, int64_t cost)
{
	if (day > x->day) {
		x->day = day;
		x->cost_today = 0;
	}
	if (day == x->day)
		x->cost_today += cost;
}

/* Count one trace at now_s (seconds on any clock that does not jump). */
void
stats_add(struct stats *s, const struct trace *t, int64_t now_s)
{
	struct stats_series	*x;
	struct stats_bucket	*b;
	int64_t			 slot, day;
	size_t			 w;

	pthread_mutex_lock(&s->lock);
	/* A clock that went back counts in the newest bucket, not an old one. */
	if (now_s < s->latest)
		now_s = s->latest;
	s->latest = now_s;
	x = stats_find(s, t);
	for (w = 0; w < STATS_NWINDOWS; w++) {
		slot = now_s / stats_rings[w].width;
		b = &x->buckets[stats_rings[w].off + (size_t)(slot %
		    stats_rings[w].n)];
		if (b->slot != slot) {
			memset(b, 0, sizeof(*b));
			b->slot = slot;
		}
		b->requests++;
		b->errors += t->status >= 400 || t->error != NULL;
		b->prompt_tokens += t->prompt_tokens;
		b->completion_tokens += t->completion_tokens;
		stats_bhist_add(&b->latency, t->latency_ms);
		if (t->stream && t->ttft_ms >= 0)
			stats_bhist_add(&b->ttft, t->ttft_ms);
	}
	/* Spend by the day the request came in, as usage.get counts it. */
	day = t->time_ms >= 0 ? t->time_ms / 86400000 : 0;
	stats_spend(x, day, t->cost);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Spend of UTC day `day` counted before the agent started (the usage
 * rollup's), so that spend today survives a restart. No requests.
 */
void
stats_add_spend(struct stats *s, const char *domain_id, const char *model,
    int64_t day, int64_t cost)
{
	struct trace		 t;
	struct stats_series	*x;

	memset(&t, 0, sizeof(t));
	snprintf(t.domain_id, sizeof(t.domain_id), "%s", domain_id);
	t.model = model;
	t.ttft_ms = -1;
	pthread_mutex_lock(&s->lock);
	x = stats_find(s, &t);
	stats_spend(x, day, cost);
	pthread_mutex_unlock(&s->lock);
}

/* One series' windows at now_s. */
static void
stats_row_fill(const struct stats_series *x, int64_t now_s, int64_t day,
    struct stats_row *r)
{
	const struct stats_bucket	*b;
	int64_t				 cur;
	size_t				 w, i;

	memset(r, 0, sizeof(*r));
	memcpy(r->domain_id, x->domain_id, sizeof(r->domain_id));
	memcpy(r->model, x->model, sizeof(r->model));
	r->cost_today = x->day == day ? x->cost_today : 0;
	for (w = 0; w < STATS_NWINDOWS; w++) {
		cur = now_s / stats_rings[w].width;
		for (i = 0; i < (size_t)stats_rings[w].n; i++) {
			b = &x->buckets[stats_rings[w].off + i];
			if (b->slot > cur || b->slot <= cur -
			    stats_rings[w].n || b->requests == 0)
				continue;
			r->window[w].requests += b->requests;
			r->window[w].errors += b->errors;
			r->window[w].prompt_tokens += b->prompt_tokens;
			r->window[w].completion_tokens += b->completion_tokens;
			stats_hist_merge_bucket(&r->window[w].latency,
			    &b->latency);
			stats_hist_merge_bucket(&r->window[w].ttft, &b->ttft);
		}
	}
}

static void
stats_row_merge(struct stats_row *to, const struct stats_row *r)
{
	size_t	w;

	for (w = 0; w < STATS_NWINDOWS; w++)
		stats_sum_merge(&to->window[w], &r->window[w]);
	to->cost_today += r->cost_today;
}

/*
 * The figures at now_s for UTC day `day`: the host's in *host, and a row
 * per series of domain_id and model (NULL: any) in *rows, which the
 * caller frees. Returns how many rows.
 */
size_t
stats_read(struct stats *s, int64_t now_s, int64_t day,
    const char *domain_id, const char *model, struct stats_row *host,
    struct stats_row **rows)
{
	struct stats_row	 r;
	const struct stats_series *x;
	size_t			 i, n = 0;

	memset(host, 0, sizeof(*host));
	*rows = NULL;
	pthread_mutex_lock(&s->lock);
	if (now_s < s->latest)
		now_s = s->latest;
	if (s->nseries > 0)
		*rows = xcalloc(s->nseries, sizeof(**rows));
	for (i = 0; i < s->nseries; i++) {
		x = &s->series[i];
		stats_row_fill(x, now_s, day, &r);
		stats_row_merge(host, &r);
		if (domain_id != NULL && strcmp(domain_id, x->domain_id) != 0)
			continue;
		if (model != NULL && strcmp(model, x->model) != 0)
			continue;
		(*rows)[n++] = r;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
stats_point_merge(struct stats_point *to, const struct stats_point *p)
{
	size_t	i;

	to->requests += p->requests;
	to->errors += p->errors;
	to->tokens += p->tokens;
	if (p->count == 0)
		return;
	if (to->count == 0 || p->min < to->min)
		to->min = p->min;
	if (to->count == 0 || p->max > to->max)
		to->max = p->max;
	to->count += p->count;
	for (i = 0; i < STATS_BINS; i++)
		to->bin[i] += p->bin[i];
}

int64_t
stats_point_percentile(const struct stats_point *p, double q)
{
	struct stats_hist	h;
	size_t			i;

	memset(&h, 0, sizeof(h));
	h.count = p->count;
	h.min = p->min;
	h.max = p->max;
	for (i = 0; i < STATS_BINS; i++)
		h.bin[i] = p->bin[i];
	return stats_percentile(&h, q);
}

/* Bucket b as point p (b may be stale: then p stays empty). */
static void
stats_point_fill(struct stats_point *p, const struct stats_bucket *b,
    int64_t slot)
{
	memset(p, 0, sizeof(*p));
	if (b->slot != slot || b->requests == 0)
		return;
	p->requests = b->requests;
	p->errors = b->errors;
	p->tokens = b->prompt_tokens + b->completion_tokens;
	p->count = b->latency.count;
	p->min = b->latency.min;
	p->max = b->latency.max;
	memcpy(p->bin, b->latency.bin, sizeof(p->bin));
}

size_t
stats_read_points(struct stats *s, int64_t now_s, enum stats_window w,
    const char *domain_id, const char *model, struct stats_point *host,
    struct stats_points **rows, size_t *npoints)
{
	const struct stats_series	*x;
	struct stats_point		 p;
	int64_t				 cur, slot;
	size_t				 i, k, n = 0, len;

	len = (size_t)stats_rings[w].n;
	*npoints = len;
	memset(host, 0, len * sizeof(*host));
	*rows = NULL;
	pthread_mutex_lock(&s->lock);
	if (now_s < s->latest)
		now_s = s->latest;
	cur = now_s / stats_rings[w].width;
	if (s->nseries > 0)
		*rows = xcalloc(s->nseries, sizeof(**rows));
	for (i = 0; i < s->nseries; i++) {
		x = &s->series[i];
		for (k = 0; k < len; k++) {
			/* Point k is slot cur - (len - 1 - k): oldest first. */
			slot = cur - (int64_t)(len - 1 - k);
			if (slot < 0) {
				memset(&p, 0, sizeof(p));
			} else
				stats_point_fill(&p, &x->buckets[
				    stats_rings[w].off + (size_t)(slot %
				    stats_rings[w].n)], slot);
			stats_point_merge(&host[k], &p);
			if ((domain_id == NULL || strcmp(domain_id,
			    x->domain_id) == 0) && (model == NULL ||
			    strcmp(model, x->model) == 0))
				(*rows)[n].pt[k] = p;
		}
		if ((domain_id != NULL && strcmp(domain_id, x->domain_id) !=
		    0) || (model != NULL && strcmp(model, x->model) != 0))
			continue;
		memcpy((*rows)[n].domain_id, x->domain_id,
		    sizeof((*rows)[n].domain_id));
		memcpy((*rows)[n].model, x->model, sizeof((*rows)[n].model));
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t
stats_nseries(struct stats *s)
{
	size_t	n;

	pthread_mutex_lock(&s->lock);
	n = s->nseries;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* --- the agent's own ------------------------------------------------------ */

static struct stats	*stats_agent;
static pthread_once_t	 stats_once = PTHREAD_ONCE_INIT;

static void
stats_agent_init(void)
{
	stats_agent = stats_new();
}

/* The agent's figures, made on first use; freed by stats_shutdown(). */
struct stats *
stats_default(void)
{
	pthread_once(&stats_once, stats_agent_init);
	return stats_agent;
}

/* Seconds on the monotonic clock: windows do not jump with the date. */
int64_t
stats_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Count one committed trace (the trace writer's thread). */
void
stats_observe(const struct trace *t)
{
	stats_add(stats_default(), t, stats_now());
}

/* At exit, after the trace writer stopped. */
void
stats_shutdown(void)
{
	stats_free(stats_agent);
	stats_agent = NULL;
}
