/*
 * Confidential routing: providers held to an attestation policy. A thread
 * of its own fetches each such provider's evidence (GET /attestation at
 * the root of its URL, with a fresh nonce), verifies it with the shared
 * verifier against the provider's policy and binds it to the TLS key of
 * the connection that brought it; the main loop then keeps the verdicts
 * and republishes the snapshot when one changed. The request path only
 * reads the verdict the snapshot carries (provider_admits()).
 *
 * Runs on the main loop (timer, verdict table, registry reload) and on the
 * verifier thread (fetch and verify, nothing shared but the round).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "attest.h"
#include "log.h"
#include "xmalloc.h"

#define PA_CONNECT_MS		5000
#define PA_TOTAL_MS		15000
#define PA_ANSWER_MAX		(4 * 1024 * 1024)	/* evidence, certs */
#define PA_NONCE_LEN		32
#define PA_NOT_VERIFIED		"not verified yet"
#define PA_NO_POLICY		"the provider has no attest_policy"

/* One provider's last verdict, for the url and policy it was made on. */
struct pa_verdict {
	char		 domain_id[37];
	char		*name;
	char		*url;
	unsigned char	 policy_hash[32];
	int		 attested;
	char		*error;		/* why not; NULL when attested */
	int64_t		 at;		/* unix seconds of the check */
	char		 pin[64];	/* the key bound, https; or "" */
	int		 pin_ca;	/* tls_ca: a CA vouches for it too */
};

/* The verdicts: written by the main loop, read by registry builds. */
static pthread_mutex_t		 pa_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pa_verdict	*pa_table;
static size_t			 pa_n;

struct provider_attest {
	struct agent		*agent;
	struct event		*timer;		/* every interval */
	struct event		*kick;		/* a change: verify now */
	struct event		*done;		/* the thread finished a round */
	pthread_t		 thread;
	int			 running;
	int			 again;		/* kicked while running */
	int			 cancel;	/* atomic: stop */
	/* One round: the providers with a policy, and their verdicts. */
	struct store_provider	*list;
	size_t			 n;
	struct pa_verdict	*out;
};

static struct provider_attest	*pa_current;	/* atomic: kicks read it */

static void
pa_hash(const char *policy, unsigned char out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)policy,
	    strlen(policy));
}

static void
pa_verdict_clear(struct pa_verdict *v)
{
	free(v->name);
	free(v->url);
	free(v->error);
	memset(v, 0, sizeof(*v));
}

void
provider_attest_verdict(const char *domain_id, const char *name,
    const char *url, const char *policy, struct provider_verdict *out)
{
	unsigned char	 hash[32];
	size_t		 i;

	memset(out, 0, sizeof(*out));
	if (policy == NULL) {
		snprintf(out->error, sizeof(out->error), "%s", PA_NO_POLICY);
		return;
	}
	snprintf(out->error, sizeof(out->error), "%s", PA_NOT_VERIFIED);
	pa_hash(policy, hash);
	pthread_mutex_lock(&pa_lock);
	for (i = 0; i < pa_n; i++) {
		const struct pa_verdict	*v = &pa_table[i];

		/* A verdict on another URL or policy says nothing. */
		if (strcmp(v->domain_id, domain_id) != 0 ||
		    strcmp(v->name, name) != 0 || strcmp(v->url, url) != 0 ||
		    memcmp(v->policy_hash, hash, sizeof(hash)) != 0)
			continue;
		out->attested = v->attested;
		out->at = v->at;
		memcpy(out->pin, v->pin, sizeof(out->pin));
		out->pin_ca = v->pin_ca;
		snprintf(out->error, sizeof(out->error), "%s",
		    v->error != NULL ? v->error : "");
		break;
	}
	pthread_mutex_unlock(&pa_lock);
}

int
provider_attest_policy_check(const char *text, char *err, size_t errlen)
{
	struct attest_policy		 policy;
	struct attest_policy_file	 file;
	const char			*paths[3 + ATTEST_POLICY_CRLS_MAX];
	size_t				 i, n = 0;
	int				 rc = 0;

	if (attest_policy_parse(text, strlen(text), NULL, &policy, &file, err,
	    errlen) == -1)
		return -1;
	paths[n++] = file.tcb_info;
	paths[n++] = file.qe_identity;
	paths[n++] = file.collateral_chain;
	for (i = 0; i < file.ncrls; i++)
		paths[n++] = file.crls[i];
	for (i = 0; i < n; i++)
		if (paths[i] != NULL && paths[i][0] != '/') {
			snprintf(err, errlen, "collateral file '%.200s': the"
			    " agent reads it, so give an absolute path",
			    paths[i]);
			rc = -1;
			break;
		}
	attest_policy_file_clear(&file);
	return rc;
}

/* --- the verifier thread ------------------------------------------------ */

struct pa_fetch {
	struct fetch_body body;		/* the answer */
	int		 https;
	int		 spki_ok;	/* spki holds the peer's key */
	unsigned char	 spki[32];
	CURL		*h;
};

/* SHA-256 of the SubjectPublicKeyInfo of the connection's certificate. */
static void
pa_fetch_spki(struct pa_fetch *f)
{
	struct curl_tlssessioninfo	*ti = NULL;
	X509				*x;
	unsigned char			*der = NULL;
	unsigned int			 mdlen = 0;
	int				 len;

	if (curl_easy_getinfo(f->h, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK ||
	    ti == NULL || ti->backend != CURLSSLBACKEND_OPENSSL ||
	    ti->internals == NULL)
		return;
	if ((x = SSL_get1_peer_certificate(ti->internals)) == NULL)
		return;
	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, f->spki, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == 32)
		f->spki_ok = 1;
	OPENSSL_free(der);
	X509_free(x);
}

static size_t
pa_fetch_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct pa_fetch	*f = arg;

	/* The key of the connection the answer comes over, while it is up. */
	if (f->https && !f->spki_ok)
		pa_fetch_spki(f);
	return fetch_body_write(ptr, size, nmemb, &f->body);
}

/*
 * The root of a provider URL (scheme://authority), where an agent serves
 * /attestation whatever API path the provider's URL names.
 */
static char *
pa_root(const char *url)
{
	const char	*p;

	if ((p = strstr(url, "://")) == NULL)
		return xstrdup(url);
	p += 3;
	return xstrndup(url, (size_t)(p - url) + strcspn(p, "/?#"));
}

/* GET root/attestation?nonce=HEX into f; -1 with err. */
static int
pa_fetch(const char *url, const unsigned char *nonce, int ca,
    const int *cancel, struct pa_fetch *f, char *err, size_t errlen)
{
	char		 hex[2 * PA_NONCE_LEN + 1], cerr[CURL_ERROR_SIZE];
	char		*root, *get;
	long		 status = 0;
	CURLcode	 rc;
	int		 ret = -1, sock_errno = 0;

	memset(f, 0, sizeof(*f));
	f->body.max = PA_ANSWER_MAX;
	root = pa_root(url);
	f->https = strncmp(root, "https://", 8) == 0;
	xasprintf(&get, "%s/attestation?nonce=%s", root,
	    sodium_bin2hex(hex, sizeof(hex), nonce, PA_NONCE_LEN));
	cerr[0] = '\0';
	if ((f->h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot start a request");
		goto out;
	}
	curl_easy_setopt(f->h, CURLOPT_URL, get);
	/*
	 * What makes the verdict is the evidence, bound to the key of this
	 * very connection (report_data is recomputed with its SPKI), as
	 * cubectl attest and connect trust it; not a CA. So a provider whose
	 * key no CA signed (a cube-agent's --tls generate) can be attested.
	 * A policy may ask for a CA's word as well (tls_ca): both, then.
	 */
	upstream_tls_trust(f->h, NULL, f->https, ca);
	curl_easy_setopt(f->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(f->h, CURLOPT_CONNECTTIMEOUT_MS, (long)PA_CONNECT_MS);
	curl_easy_setopt(f->h, CURLOPT_TIMEOUT_MS, (long)PA_TOTAL_MS);
	curl_easy_setopt(f->h, CURLOPT_USERAGENT, "cube-agent/" CUBE_VERSION);
	curl_easy_setopt(f->h, CURLOPT_ACCEPT_ENCODING, "identity");
	curl_easy_setopt(f->h, CURLOPT_WRITEFUNCTION, pa_fetch_write);
	curl_easy_setopt(f->h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(f->h, CURLOPT_OPENSOCKETFUNCTION,
	    upstream_open_socket);
	curl_easy_setopt(f->h, CURLOPT_OPENSOCKETDATA, &sock_errno);
	curl_easy_setopt(f->h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(f->h, CURLOPT_XFERINFOFUNCTION, fetch_cancel_progress);
	curl_easy_setopt(f->h, CURLOPT_XFERINFODATA, (void *)cancel);
	rc = curl_easy_perform(f->h);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "GET %s/attestation: %s", root,
		    f->body.overflow ? "the answer is too large" :
		    rc == CURLE_ABORTED_BY_CALLBACK ? "cancelled" :
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, errlen, "GET %s/attestation: HTTP %ld", root,
		    status);
		goto out;
	}
	if (f->https && !f->spki_ok) {
		snprintf(err, errlen, "GET %s/attestation: the TLS key of the"
		    " connection could not be read", root);
		goto out;
	}
	ret = 0;
out:
	if (f->h != NULL)
		curl_easy_cleanup(f->h);
	f->h = NULL;
	free(get);
	free(root);
	if (ret == -1) {
		free(f->body.data);
		f->body.data = NULL;
	}
	return ret;
}

/* A collateral file the policy names, whole and bounded; NULL: none. */
static int
pa_read(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE	*fp;
	size_t	 n;

	*out = NULL;
	*len = 0;
	if (path == NULL)
		return 0;
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%.200s: cannot be read", path);
		return -1;
	}
	*out = xmalloc(ATTEST_COLLATERAL_MAX + 1);
	n = fread(*out, 1, ATTEST_COLLATERAL_MAX + 1, fp);
	fclose(fp);
	if (n == 0 || n > ATTEST_COLLATERAL_MAX) {
		snprintf(err, errlen, "%.200s: empty, or over %d bytes", path,
		    ATTEST_COLLATERAL_MAX);
		free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[n] = '\0';
	*len = n;
	return 0;
}

/*
 * "verification failed: chain, simulated (chain: DETAIL)": every check that
 * failed, as cubectl verify names them, and the first one's detail.
 */
static void
pa_failed(const struct attest_result *res, const struct attest_check *bad,
    char *err, size_t errlen)
{
	size_t	i, len;

	if (bad == NULL) {
		snprintf(err, errlen, "verification failed");
		return;
	}
	snprintf(err, errlen, "verification failed: ");
	for (i = 0; i < res->nchecks; i++) {
		if (res->checks[i].ok)
			continue;
		len = strlen(err);
		snprintf(err + len, errlen - len, "%s%s", bad !=
		    &res->checks[i] ? ", " : "",
		    attest_check_name(res->checks[i].id));
	}
	len = strlen(err);
	snprintf(err + len, errlen - len, " (%s: %s)",
	    attest_check_name(bad->id), bad->detail);
}

/*
 * Fetch and verify one provider's evidence against its policy. Returns 1
 * attested, 0 not (why in err), -1 no verdict (cancelled).
 */
static int
pa_check(const struct store_provider *p, const int *cancel, char *pin,
    size_t pinlen, int *pin_ca, char *err, size_t errlen)
{
	struct attest_policy		 policy;
	struct attest_policy_file	 file;
	struct attest_live_policy	 lp;
	struct attest_live_info		 info;
	struct attest_input		 coll;
	struct attest_result		 res;
	const struct attest_check	*bad;
	struct pa_fetch			 f;
	unsigned char			 nonce[PA_NONCE_LEN], zero[32];
	char				*files[3], *crls = NULL, *one;
	size_t				 lens[3], crls_len = 0, len, i;
	cJSON				*doc = NULL;
	int				 ok = 0;

	*pin_ca = 0;
	memset(files, 0, sizeof(files));
	memset(&file, 0, sizeof(file));
	memset(&f, 0, sizeof(f));
	if (attest_policy_parse(p->attest_policy, strlen(p->attest_policy),
	    NULL, &policy, &file, err, errlen) == -1)
		return 0;
	if (pa_read(file.tcb_info, &files[0], &lens[0], err, errlen) == -1 ||
	    pa_read(file.qe_identity, &files[1], &lens[1], err,
	    errlen) == -1 ||
	    pa_read(file.collateral_chain, &files[2], &lens[2], err,
	    errlen) == -1)
		goto out;
	for (i = 0; i < file.ncrls; i++) {
		if (pa_read(file.crls[i], &one, &len, err, errlen) == -1)
			goto out;
		crls = xreallocarray(crls, crls_len + len + 2, 1);
		memcpy(crls + crls_len, one, len);
		crls_len += len;
		crls[crls_len++] = '\n';
		crls[crls_len] = '\0';
		free(one);
	}
	memset(&coll, 0, sizeof(coll));
	coll.tcb_info = (unsigned char *)files[0];
	coll.tcb_info_len = lens[0];
	coll.qe_identity = (unsigned char *)files[1];
	coll.qe_identity_len = lens[1];
	coll.collateral_chain = (unsigned char *)files[2];
	coll.collateral_chain_len = lens[2];
	coll.crls = (unsigned char *)crls;
	coll.crls_len = crls_len;

	randombytes_buf(nonce, sizeof(nonce));
	if (pa_fetch(p->url, nonce, file.tls_ca, cancel, &f, err,
	    errlen) == -1) {
		if (__atomic_load_n(cancel, __ATOMIC_RELAXED))
			ok = -1;
		goto out;
	}
	if ((doc = cJSON_ParseWithLength(f.body.data, f.body.len)) == NULL ||
	    !cJSON_IsObject(doc)) {
		snprintf(err, errlen, "/attestation did not answer a JSON"
		    " object");
		goto out;
	}
	memset(&lp, 0, sizeof(lp));
	memset(zero, 0, sizeof(zero));
	lp.policy = policy;
	lp.nonce = nonce;
	lp.nonce_len = sizeof(nonce);
	lp.allow_simulated = file.allow_simulated;
	lp.collateral = &coll;
	/*
	 * The binding is recomputed with the key of the connection the
	 * evidence came over; over plain http that is no key at all, so
	 * evidence naming one fails.
	 */
	lp.tls_spki_sha256 = f.https ? f.spki : zero;
	memset(&info, 0, sizeof(info));
	attest_live_verify(doc, &lp, &info, &res);
	attest_policy_tee_check(&file, &res);
	if ((bad = attest_result_failed(&res)) != NULL || !res.verified) {
		pa_failed(&res, bad, err, errlen);
		goto out;
	}
	/* Plain http binds no key: only simulated test set-ups, allowed. */
	if (!f.https && !info.simulated) {
		snprintf(err, errlen, "plain http: evidence from a real TEE"
		    " must come over https, bound to its TLS key");
		goto out;
	}
	/* Requests then go only to the key the evidence was bound to. */
	if (f.https) {
		char	b64[sodium_base64_ENCODED_LEN(32,
			    sodium_base64_VARIANT_ORIGINAL)];

		*pin_ca = file.tls_ca;
		snprintf(pin, pinlen, "sha256//%s", sodium_bin2base64(b64,
		    sizeof(b64), f.spki, sizeof(f.spki),
		    sodium_base64_VARIANT_ORIGINAL));
	}
	ok = 1;
out:
	cJSON_Delete(doc);
	free(f.body.data);
	for (i = 0; i < 3; i++)
		free(files[i]);
	free(crls);
	attest_policy_file_clear(&file);
	return ok;
}

static void *
pa_run(void *arg)
{
	struct provider_attest	*pa = arg;
	char			 why[512];
	size_t			 i;
	int			 rc;

	for (i = 0; i < pa->n; i++) {
		struct pa_verdict	*v = &pa->out[i];

		if (__atomic_load_n(&pa->cancel, __ATOMIC_RELAXED))
			break;
		why[0] = '\0';
		rc = pa_check(&pa->list[i], &pa->cancel, v->pin,
		    sizeof(v->pin), &v->pin_ca, why, sizeof(why));
		if (rc == -1)
			continue;
		memcpy(v->domain_id, pa->list[i].domain_id,
		    sizeof(v->domain_id));
		v->name = xstrdup(pa->list[i].name);
		v->url = xstrdup(pa->list[i].url);
		pa_hash(pa->list[i].attest_policy, v->policy_hash);
		v->attested = rc == 1;
		v->error = rc == 1 ? NULL : xstrdup(why);
		v->at = time(NULL);
	}
	event_active(pa->done, EV_READ, 0);
	return NULL;
}

/* --- the main loop -------------------------------------------------------- */

static void
pa_round_free(struct provider_attest *pa)
{
	size_t	i;

	for (i = 0; i < pa->n; i++)
		if (pa->out != NULL)
			pa_verdict_clear(&pa->out[i]);
	free(pa->out);
	store_provider_list_free(pa->list, pa->n);
	pa->out = NULL;
	pa->list = NULL;
	pa->n = 0;
}

/* The verdict the table holds for v's provider, or NULL. */
static const struct pa_verdict *
pa_find(const struct pa_verdict *v)
{
	size_t	i;

	for (i = 0; i < pa_n; i++)
		if (strcmp(pa_table[i].domain_id, v->domain_id) == 0 &&
		    strcmp(pa_table[i].name, v->name) == 0)
			return &pa_table[i];
	return NULL;
}

static void pa_start_round(struct provider_attest *);

/* Back on the main loop: the round's verdicts replace the table. */
static void
pa_done(evutil_socket_t fd, short events, void *arg)
{
	struct provider_attest	*pa = arg;
	const struct pa_verdict	*old;
	struct pa_verdict	*table;
	char			 err[256];
	size_t			 i, n = 0;
	int			 changed = 0;

	(void)fd;
	(void)events;
	pthread_join(pa->thread, NULL);
	pa->running = 0;
	if (__atomic_load_n(&pa->cancel, __ATOMIC_RELAXED)) {
		pa_round_free(pa);
		return;
	}
	table = xcalloc(pa->n + 1, sizeof(*table));
	pthread_mutex_lock(&pa_lock);
	for (i = 0; i < pa->n; i++) {
		struct pa_verdict	*v = &pa->out[i];

		if (v->name == NULL)
			continue;	/* no verdict: cancelled */
		old = pa_find(v);
		if (old == NULL || old->attested != v->attested ||
		    strcmp(old->url, v->url) != 0 ||
		    memcmp(old->policy_hash, v->policy_hash, 32) != 0 ||
		    strcmp(old->pin, v->pin) != 0 ||
		    (old->error == NULL) != (v->error == NULL) ||
		    (old->error != NULL && strcmp(old->error, v->error) != 0)) {
			changed = 1;
			if (v->attested)
				log_info("provider %s (domain %s): attested",
				    v->name, v->domain_id);
			else
				log_warnx("provider %s (domain %s): not"
				    " attested: %s", v->name, v->domain_id,
				    v->error);
		}
		table[n++] = *v;
		memset(v, 0, sizeof(*v));
	}
	/* Providers gone or no longer held to a policy: dropped. */
	if (n != pa_n)
		changed = 1;
	for (i = 0; i < pa_n; i++)
		pa_verdict_clear(&pa_table[i]);
	free(pa_table);
	pa_table = table;
	pa_n = n;
	pthread_mutex_unlock(&pa_lock);
	pa_round_free(pa);
	if (changed && registry_reload(pa->agent->store, pa->agent->vault, err,
	    sizeof(err)) != 0)
		log_warnx("attestation: verdicts kept, but the registry was"
		    " not rebuilt: %s", err);
	if (pa->again) {
		pa->again = 0;
		pa_start_round(pa);
	}
}

/* A round over every provider that has a policy, unless one is out. */
static void
pa_start_round(struct provider_attest *pa)
{
	struct store_provider	*all;
	size_t			 n, i;
	char			 err[256];
	int			 rc;

	if (pa->running) {
		pa->again = 1;
		return;
	}
	if (store_provider_list(pa->agent->store, NULL, &all, &n, err,
	    sizeof(err)) != 0) {
		log_warnx("attestation: %s", err);
		return;
	}
	pa->list = xcalloc(n + 1, sizeof(*pa->list));
	for (i = 0; i < n; i++) {
		if (all[i].attest_policy != NULL) {
			pa->list[pa->n++] = all[i];
			memset(&all[i], 0, sizeof(all[i]));
		}
	}
	store_provider_list_free(all, n);
	pa->out = xcalloc(pa->n + 1, sizeof(*pa->out));
	if ((rc = pthread_create(&pa->thread, NULL, pa_run, pa)) != 0) {
		log_warnx("attestation: pthread_create: %s", strerror(rc));
		pa_round_free(pa);
		return;
	}
	pa->running = 1;
}

static void
pa_tick(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	pa_start_round(arg);
}

/*
 * From the main loop, or a worker whose pinned backend showed another key
 * (upstream_on_pin_refused): workers start before this and stop before
 * provider_attest_stop(), hence the atomic read and nothing more. A round
 * already out runs again once done, so a burst of refusals is one round.
 */
void
provider_attest_kick(void)
{
	struct provider_attest	*pa;

	if ((pa = __atomic_load_n(&pa_current, __ATOMIC_ACQUIRE)) != NULL)
		event_active(pa->kick, EV_READ, 0);
}

struct provider_attest *
provider_attest_start(struct agent *agent)
{
	struct provider_attest	*pa;
	struct timeval		 tv;

	pa = xcalloc(1, sizeof(*pa));
	pa->agent = agent;
	if ((pa->timer = event_new(agent->base, -1, EV_PERSIST, pa_tick,
	    pa)) == NULL || (pa->kick = event_new(agent->base, -1, 0, pa_tick,
	    pa)) == NULL || (pa->done = event_new(agent->base, -1, 0, pa_done,
	    pa)) == NULL)
		fatalx("%s: event_new", __func__);
	tv.tv_sec = agent->cfg.provider_attest_interval;
	tv.tv_usec = 0;
	evtimer_add(pa->timer, &tv);
	__atomic_store_n(&pa_current, pa, __ATOMIC_RELEASE);
	upstream_on_pin_refused(provider_attest_kick);
	/* Nothing is attested until verified: verify at once. */
	event_active(pa->kick, EV_READ, 0);
	return pa;
}

/* SIGHUP changed provider-attest-interval: counted from now. */
void
provider_attest_configure(struct provider_attest *pa)
{
	struct timeval	 tv;

	if (pa == NULL)
		return;
	tv.tv_sec = pa->agent->cfg.provider_attest_interval;
	tv.tv_usec = 0;
	evtimer_add(pa->timer, &tv);
}

void
provider_attest_stop(struct provider_attest *pa)
{
	size_t	i;

	if (pa == NULL)
		return;
	__atomic_store_n(&pa->cancel, 1, __ATOMIC_RELAXED);
	if (pa->running)
		pthread_join(pa->thread, NULL);
	pa_round_free(pa);
	upstream_on_pin_refused(NULL);
	__atomic_store_n(&pa_current, NULL, __ATOMIC_RELEASE);
	event_free(pa->timer);
	event_free(pa->kick);
	event_free(pa->done);
	free(pa);
	pthread_mutex_lock(&pa_lock);
	for (i = 0; i < pa_n; i++)
		pa_verdict_clear(&pa_table[i]);
	free(pa_table);
	pa_table = NULL;
	pa_n = 0;
	pthread_mutex_unlock(&pa_lock);
}

int
provider_admits(const struct reg_domain *d, const struct reg_provider *p)
{
	return !d->require_attested || p->attested;
}
