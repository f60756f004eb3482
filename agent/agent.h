/*
 * cube-agent internals: what the agent's files share. Sections follow the
 * files that define them (tmux.h style).
 */
#ifndef CUBE_AGENT_H
#define CUBE_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sys/types.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "guard.h"
#include "attest.h"
#include "jscan.h"

#define CUBE_VERSION		"0.1.0"

struct event_base;
struct evhttp_request;
struct cJSON;
struct dialect_buf;
struct http_request;
struct worker;

/* config.c */
struct agent_config {
	char	*listen;		/* ADDR:PORT for inference */
	char	*data_dir;
	char	*admin_socket;
	char	*tee;			/* auto|none|sim|... */
	char	*tls;		/* auto|generate|off */
	char	*tls_cert;
	char	*tls_key;
	char	*seal_keys;	/* auto|off */
	char	*metrics_listen;
	int	 workers;
	int	 verbose;
	/* Limits and timeouts (milliseconds); config-file keys of the same name. */
	size_t	 max_body;		/* request body bytes */
	size_t	 max_headers;		/* request header bytes */
	int	 connect_timeout_ms;	/* upstream TCP/TLS connect */
	int	 first_byte_timeout_ms;	/* request sent -> first response byte */
	int	 idle_timeout_ms;	/* between two response chunks */
	int	 client_timeout_ms;	/* idle inbound connection */
	int	 head_timeout_ms;	/* a request's whole head, at most */
	int	 body_timeout_ms;	/* a request's whole body, at most */
	int	 max_connections;	/* inbound, in total; 0: no cap */
	int	 max_connections_per_address;
	int	 drain_timeout_ms;	/* SIGTERM grace for in-flight requests */
	int	 trace_flush_ms;	/* the trace writer's batch window */
	int	 receipt_batch;		/* receipts under one signature, max */
	int	 receipt_wait_us;	/* an idle worker's hold for more */
	int	 trace_retention_check_s; /* how often retention runs */
	int	 provider_check_interval; /* seconds between health checks; 0: off */
	int	 provider_attest_interval; /* seconds between re-attestations */
	int	 jwks_kid_refresh;	/* an unknown kid's JWKS fetch, at most
					   once this many seconds */
	int	 breaker_failures;	/* consecutive, to open a breaker */
	int	 breaker_cooldown_ms;	/* its first cooldown */
	int	 core_dumps;		/* allowed: for debugging only */
	/* Limits shared across agents (limit-redis.c); NULL: this host's. */
	char	*limits_redis;		/* redis://HOST:PORT, rediss://... */
	char	*limits_redis_user;
	char	*limits_redis_password;	/* moved to sodium memory at start */
	char	*limits_redis_ca;	/* CA file for rediss:// */
	char	*limits_redis_prefix;	/* of every key; default "cube" */
	int	 limits_redis_timeout_ms; /* a reply, a connect, at most */
	int	 fleet_size;		/* hosts sharing a token: local share */
	/* OpenTelemetry export (otlp.c); no endpoint: none. */
	char	*otlp_endpoint;		/* http(s)://HOST:PORT/v1/traces */
	char	*otlp_headers_file;	/* "Name: value" lines: credentials */
	char	*otlp_ca_file;		/* else the system's CAs */
	int	 otlp_timeout_ms;	/* one POST, connect included */
	int	 otlp_flush_ms;		/* a batch's window */
	int	 otlp_batch;		/* spans per POST, at most */
	int	 otlp_queue;		/* spans waiting, at most: then the
					   oldest are dropped */
	int	 otlp_shutdown_ms;	/* flushing at exit, at most */
	char	*log_format;		/* text|json; NULL: text */
	/*
	 * auto: the agent's own HTTP/1.1 client for backends by address over
	 * plain HTTP (upstream-h1.c), libcurl for the rest; libcurl: libcurl
	 * for every backend.
	 */
	char	*upstream_client;
};
void	 config_defaults(struct agent_config *);
int	 config_load_file(struct agent_config *, const char *path, char *err,
	    size_t errlen);
int	 config_set(struct agent_config *, const char *key, const char *value,
	    char *err, size_t errlen);
/* Fill what is unset; max-connections from RLIMIT_NOFILE's soft limit. */
void	 config_finish(struct agent_config *);
/* The default max-connections for an open-file limit of nofile. */
int	 config_connections_for(unsigned long long nofile);
/* The open-file limit that n connections and their upstreams need. */
unsigned long long config_nofile_for(int n);
void	 config_free(struct agent_config *);
/*
 * SIGHUP: compare next (a whole, valid config) key by key with what
 * runs. A changed reloadable key (next against cur) is logged ("SIGHUP:
 * KEY OLD -> NEW") and copied into cur; a restart-only key that differs
 * from given (the config as parsed at start, before start-up resolved
 * port 0 or --tee auto) is logged as a warning and cur keeps it; secrets
 * print as "(changed)". Returns how many keys were applied. Main thread
 * only: workers take cur's values through workers_configure().
 */
int	 config_reload(struct agent_config *cur,
	    const struct agent_config *given, const struct agent_config *next);
/* A string key back to unset (NULL); a secret's value wiped first. */
void	 config_unset(struct agent_config *, const char *key);
/* A deep copy (strings duplicated); free dst with config_free(). */
void	 config_copy(struct agent_config *dst,
	    const struct agent_config *src);
/* Copy the reloadable (numeric) keys of src into dst. */
void	 config_copy_reloadable(struct agent_config *dst,
	    const struct agent_config *src);
/* A URL as logs show it: its user:password@ as "***@". Caller frees. */
char	*config_url_for_log(const char *url);
/* 1: KEY applies on SIGHUP; 0: it needs a restart; -1: no such key. */
int	 config_key_reloads(const char *key);

/*
 * scrub.c: no core dumps unless core_dumps; libcurl's and libevent's heap
 * wiped as it is freed. Call first, before either library is used.
 */
void	 scrub_start(int core_dumps);

/*
 * curl-load.c: libcurl is loaded by the first call to one of its
 * functions, with these allocator functions (set before any thread starts;
 * without them, libc's). curl_load(): load it now if it is not; 1 when it
 * is there, 0 when it cannot be loaded (logged; the next call tries again).
 */
void	 curl_load_mem_functions(curl_malloc_callback, curl_free_callback,
	    curl_realloc_callback, curl_strdup_callback, curl_calloc_callback);
int	 curl_load(void);

/* sha256.c: what receipts sign, hashed with OpenSSL's (SHA-NI) code. */
#define SHA256_BYTES	32
struct sha256 {
	struct evp_md_ctx_st	*ctx;	/* made by the first begin */
};
int	 sha256_begin(struct sha256 *);	/* -1: out of memory */
void	 sha256_update(struct sha256 *, const void *, size_t);
int	 sha256_end(struct sha256 *, unsigned char out[SHA256_BYTES]);
void	 sha256_free(struct sha256 *);

/* What an operator does about a provider key another host sealed. */
#define RESEAL_ADVICE	"seal it again with cubectl apply" \
			" (api_key_file/api_key_env) or cubectl provider" \
			" edit --api-key-file"

/* agent.c: the running daemon, shared read-only with workers */
struct agent {
	struct agent_config	 cfg;
	struct vault		*vault;
	struct tee		*tee;		/* the attestation provider */
	struct store		*store;
	struct event_base	*base;		/* main loop: admin, signals */
	struct trace_writer	*traces;
	struct trace_queue	*trace_queue;	/* the writer's, for workers */
	time_t			 started;
};

/*
 * vault.c: the agent's secret keys, created on first start in the data
 * directory (mode 0600) and held in sodium_malloc memory.
 */
#define VAULT_SEAL_PUBLICKEY_BYTES	32	/* crypto_box_PUBLICKEYBYTES */
#define VAULT_TOKEN_HASH_BYTES		32
struct vault;
struct keyfile_key;
/* Without a derived key: plain files, file mode 0600 (sealed ones refused). */
struct vault	*vault_open(const char *data_dir, char *err, size_t errlen);
/*
 * The keys, sealed at rest with key (NULL: none; the caller keeps and
 * wipes it). seal is VAULT_SEAL_AUTO (plain files are sealed, new ones
 * made sealed) or VAULT_SEAL_OFF (sealed files that key opens are
 * written back plain). A sealed file that cannot be opened stops the
 * start-up with err naming why; no file is ever deleted, and one is
 * replaced only whole (new file, fsync, rename, fsync of the directory).
 */
#define VAULT_SEAL_AUTO		0
#define VAULT_SEAL_OFF		1
struct vault	*vault_open_sealed(const char *data_dir,
		    const struct keyfile_key *key, int seal, char *err,
		    size_t errlen);
/*
 * How the keys are kept at rest, for status: "sealed (sev-guest derived
 * key)", "sealed (simulated)" or "file mode 0600".
 */
const char	*vault_keys_at_rest(const struct vault *);
int		 vault_sealed(const struct vault *);
void		 vault_free(struct vault *);
/* The X25519 public key clients seal provider credentials to. */
const unsigned char *vault_seal_public_key(const struct vault *);
/*
 * Open a crypto_box_seal blob. On success *plain is sodium_malloc memory,
 * NUL-terminated, owned by the caller (free with sodium_free); returns 0.
 * Returns -1 when the blob does not open with our key.
 */
int	 vault_unseal(const struct vault *, const unsigned char *sealed,
	    size_t sealed_len, char **plain, size_t *plain_len);
/* Whether a blob opens with our key (what is inside is wiped at once). */
int	 vault_opens(const struct vault *, const unsigned char *sealed,
	    size_t sealed_len);
/* Keyed BLAKE2b of an API token: the only form in which tokens are kept. */
void	 vault_token_hash(const struct vault *, const char *token, size_t len,
	    unsigned char out[VAULT_TOKEN_HASH_BYTES]);
/* The Ed25519 identity public key (32 bytes), for attestation. */
#define VAULT_IDENTITY_PUBLICKEY_BYTES	32
const unsigned char *vault_identity_public_key(const struct vault *);
/* Ed25519 signature (64 bytes) of m with the identity key: receipts. */
#define VAULT_SIGNATURE_BYTES		64
void	 vault_sign(const struct vault *, const unsigned char *m, size_t len,
	    unsigned char sig[VAULT_SIGNATURE_BYTES]);
/*
 * A short keyed hash of a provider API key, shown instead of the key: the
 * same key gives the same fingerprint on this agent, and nothing else.
 */
#define VAULT_FINGERPRINT_LEN		16	/* hex characters */
void	 vault_fingerprint(const struct vault *, const char *secret,
	    size_t len, char out[VAULT_FINGERPRINT_LEN + 1]);

/*
 * keyfile.c: a private key file sealed with a key the TEE derives:
 * header (magic, version, provider, root key, VMPL, guest field select,
 * nonce), then XChaCha20-Poly1305 of the key with the header and the
 * file's name as associated data.
 */
#define KEYFILE_KEY_BYTES	32
#define KEYFILE_HEADER_BYTES	44
#define KEYFILE_TAG_BYTES	16
#define KEYFILE_SEV_GUEST	1	/* provider: SNP_GET_DERIVED_KEY */
#define KEYFILE_SIM		2	/* provider: the sim TEE's secret */
/* A derived key and how it was derived; sodium_malloc'd as a whole. */
struct keyfile_key {
	unsigned char	key[KEYFILE_KEY_BYTES];
	int		provider;	/* KEYFILE_SEV_GUEST, KEYFILE_SIM */
	unsigned char	root;		/* 0: VCEK */
	unsigned char	vmpl;
	uint64_t	field_select;	/* SEV-SNP GUEST_FIELD_SELECT */
};
/* What a sealed file's header says. */
struct keyfile_header {
	int		provider;
	unsigned char	root;
	unsigned char	vmpl;
	uint64_t	field_select;
	size_t		plain_len;	/* of the key inside */
};
enum keyfile_status {
	KEYFILE_OK,
	KEYFILE_DAMAGED,	/* not a sealed file of ours, or cut short */
	KEYFILE_OTHER_SEAL,	/* sealed by another provider or derivation */
	KEYFILE_WRONG_KEY,	/* our derivation, another key, or altered */
};
/* NULL when out of guarded memory; free with keyfile_key_free(). */
struct keyfile_key *keyfile_key_new(void);
void		 keyfile_key_free(struct keyfile_key *);
const char	*keyfile_provider_name(int provider);
size_t		 keyfile_sealed_size(size_t plain_len);
/* Starts with the magic: what a plain random key practically never does. */
int		 keyfile_is_sealed(const unsigned char *, size_t);
/* 0 with h filled, or -1 with err: no magic, cut short, unknown fields. */
int		 keyfile_header_parse(const unsigned char *, size_t,
		    struct keyfile_header *h, char *err, size_t errlen);
/* Seal len bytes of plain into out (keyfile_sealed_size(len) bytes). */
void		 keyfile_seal(const struct keyfile_key *, const char *name,
		    const unsigned char *plain, size_t len, unsigned char *out);
/*
 * Open a sealed file named name into plain (plain_len bytes, which it
 * must hold exactly); on failure plain is zeroed and err says why.
 */
enum keyfile_status keyfile_open(const struct keyfile_key *, const char *name,
		    const unsigned char *in, size_t inlen, unsigned char *plain,
		    size_t plain_len, char *err, size_t errlen);

/*
 * tee.c: attestation providers, each a small vtable chosen by name
 * (configfs-tsm, sev-guest, tdx-guest, sim, none). A provider turns 64
 * bytes of report_data into evidence; its calls block (ioctls, configfs
 * file I/O, signing), so the request path runs them off the worker loops
 * (attestation-queue.c). Providers are safe to call from several threads.
 */
#define TEE_TSM_ROOT		"/sys/kernel/config/tsm/report"
#define TEE_SEV_DEVICE		"/dev/sev-guest"
#define TEE_TDX_DEVICE		"/dev/tdx_guest"
#define TEE_REPORT_MAX		65536	/* bytes of a report or quote */
#define TEE_CERTS_MAX		65536	/* bytes of PEM certificates */
#define TEE_SNP_TABLE_MAX	(1024 * 1024)	/* the host's certificate table */

/* What the evidence is; the names are the "format" of attestation.get. */
enum tee_format {
	TEE_FORMAT_SEV_SNP,	/* an SEV-SNP attestation report */
	TEE_FORMAT_TDX,		/* a TDX quote */
	TEE_FORMAT_TDX_REPORT,	/* a TDREPORT: local only, not a quote */
};

/* Evidence from a provider; free with tee_evidence_clear(). */
struct tee_evidence {
	enum tee_format		 format;
	unsigned char		*report;
	size_t			 report_len;
	char			*certs;		/* PEM, leaf first, or NULL */
	char			*certs_note;	/* SEV-SNP: why no certs, or NULL */
};

/* Where providers look; tests point them at fake trees. */
struct tee_config {
	const char	*data_dir;	/* sim: its keys live here */
	const char	*tsm_root;	/* NULL: TEE_TSM_ROOT */
	const char	*sev_device;	/* NULL: TEE_SEV_DEVICE */
	const char	*tdx_device;	/* NULL: TEE_TDX_DEVICE */
	/* configfs-tsm's mkdir and rmdir; NULL: the system calls. */
	int		(*mkdir)(const char *, mode_t);
	int		(*rmdir)(const char *);
	/* sev-guest's ioctl; NULL: the system call. */
	int		(*ioctl)(int, unsigned long, void *);
};

struct tee;
struct tee_ops {
	const char	*name;
	int		 hardware;	/* --tee auto tries it */
	int		 simulated;	/* evidence proves no hardware */
	/* Check the provider can work here; set tee->priv. 0, or -1. */
	int		(*open)(struct tee *, char *, size_t);
	int		(*evidence)(struct tee *,
			    const unsigned char *report_data,
			    struct tee_evidence *, char *, size_t);
	void		(*close)(struct tee *);
	/*
	 * A sealing key derived inside the TEE into k (all of it: key and
	 * how it was derived); 0, 1 when there is none here (err says
	 * why), or -1 with err. NULL: the provider never has one.
	 */
	int		(*derive_key)(struct tee *, struct keyfile_key *k,
			    char *, size_t);
};

struct tee {
	const struct tee_ops	*ops;
	struct tee_config	 cfg;
	char			*path;	/* the device or tree it uses */
	void			*priv;
};

/*
 * The provider called name ("auto": the first hardware one whose trial
 * evidence works, else none; never sim). Fails with err naming what is
 * missing. Caller owns the result; free with tee_free().
 */
struct tee	*tee_open(const char *name, const struct tee_config *,
		    char *err, size_t errlen);
void		 tee_free(struct tee *);
const char	*tee_name(const struct tee *);
int		 tee_simulated(const struct tee *);
/* 0 with *ev filled (clear it after), or -1 with err. */
int		 tee_evidence(struct tee *, const unsigned char report_data[64],
		    struct tee_evidence *, char *err, size_t errlen);
void		 tee_evidence_clear(struct tee_evidence *);
/*
 * A key derived inside the TEE for sealing the agent's keys at rest:
 * the key (caller frees with keyfile_key_free()), or NULL with *none set
 * when the provider offers none (err says why), or NULL with err.
 */
struct keyfile_key *tee_derive_key(struct tee *, int *none, char *err,
		    size_t errlen);
const char	*tee_format_name(enum tee_format);
/* Open tee->path read-write; err says what provides it (hint). */
int		 tee_device_open(struct tee *, const char *hint, char *,
		    size_t);
/* Read a whole small file (sysfs, configfs) of at most max bytes. */
int		 tee_read_file(const char *path, size_t max, unsigned char **,
		    size_t *, char *, size_t);

/*
 * The sealing key's derivation on SEV-SNP (tee-snp.c says why): rooted in
 * the VCEK, for VMPL 0, mixing in the guest policy, image id, family id
 * and measurement, not the guest SVN or the TCB version. sim records the
 * same selection.
 */
#define TEE_SNP_FIELD_POLICY		(1ULL << 0)
#define TEE_SNP_FIELD_IMAGE_ID		(1ULL << 1)
#define TEE_SNP_FIELD_FAMILY_ID		(1ULL << 2)
#define TEE_SNP_FIELD_MEASUREMENT	(1ULL << 3)
#define TEE_SNP_FIELD_GUEST_SVN		(1ULL << 4)
#define TEE_SNP_FIELD_TCB_VERSION	(1ULL << 5)
#define TEE_SNP_SEAL_FIELDS	(TEE_SNP_FIELD_POLICY | \
	TEE_SNP_FIELD_IMAGE_ID | TEE_SNP_FIELD_FAMILY_ID | \
	TEE_SNP_FIELD_MEASUREMENT)
#define TEE_SNP_ROOT_VCEK	0
#define TEE_SNP_SEAL_VMPL	0
/*
 * SNP_GET_DERIVED_KEY on device (tee->cfg.ioctl stands in for the
 * kernel): 0 with k filled, or -1 with err. configfs-tsm uses it too.
 */
int	 tee_snp_derive_key(struct tee *, const char *device,
	    struct keyfile_key *k, char *err, size_t errlen);

/* tee-sim.c, tee-tsm.c, tee-snp.c, tee-tdx.c: the providers. */
extern const struct tee_ops	tee_sim_ops;
extern const struct tee_ops	tee_tsm_ops;
extern const struct tee_ops	tee_snp_ops;
extern const struct tee_ops	tee_tdx_ops;
/*
 * SEV-SNP's certificate table (GUID, offset, length; an all-zero entry
 * ends it) as PEM: VCEK, VLEK, ASK, ARK, those present; *pem is NULL when
 * none is. -1 with err for a damaged table: an entry outside it, over the
 * table or another entry, a GUID twice, no end, a certificate that does
 * not parse.
 */
int	 tee_snp_certs_pem(const unsigned char *, size_t, char **, char *,
	    size_t);
/* The sim root's file in the data directory, for operators to pin. */
#define TEE_SIM_ROOT_FILE	"sim-ark.pem"
/* The sim's secret its sealing keys are derived from (32 bytes, 0600). */
#define TEE_SIM_SECRET_FILE	"sim-secret.key"

/*
 * attestation.c: the evidence for a client's nonce as attestation.get and
 * GET /attestation return it (docs/admin-api.md). ATTESTATION_NONCE_HEX_*
 * bound the nonce's hex.
 */
#define ATTESTATION_NONCE_HEX_MIN	(2 * ATTEST_NONCE_MIN)
#define ATTESTATION_NONCE_HEX_MAX	(2 * ATTEST_NONCE_MAX)
/* Hex of 8..64 bytes into out (64 bytes); 0, or -1 with err. */
int	 attestation_nonce_parse(const char *hex, size_t len,
	    unsigned char *out, size_t *outlen, char *err, size_t errlen);
/*
 * The evidence as a JSON object (caller frees with cJSON_Delete), or NULL
 * with err; *unavailable is set when the agent has no TEE to ask.
 */
struct cJSON	*attestation_json(struct agent *, const unsigned char *nonce,
		    size_t nonce_len, int *unavailable, char *err,
		    size_t errlen);

/*
 * attestation-queue.c: evidence made on a few threads of its own, so a
 * worker loop never blocks on a TEE. A job's done callback runs on the
 * loop it was submitted from (its wakeup); a cancelled job's never.
 */
#define ATTESTATION_QUEUE_MAX		64	/* jobs waiting or running */
#define ATTESTATION_QUEUE_THREADS	2
struct attestation_job;
struct wakeup;
/* json is the reply body, or NULL with error; unavailable: no TEE. */
typedef void (*attestation_done)(void *arg, const char *json, size_t len,
		    int unavailable, const char *error);
void	 attestation_queue_start(struct agent *);
/* After workers_stop(): every job is done or cancelled by then. */
void	 attestation_queue_stop(void);
/* NULL when the queue is full. Runs on the caller's (worker's) thread. */
struct attestation_job *attestation_queue_submit(struct wakeup *,
	    const unsigned char *nonce, size_t len, attestation_done, void *);
/* The client went away: done never runs; the job is freed. */
void	 attestation_queue_cancel(struct attestation_job *);

/* attestation-http.c: GET /attestation?nonce=HEX, no token needed. */
void	 attestation_http(struct http_request *, struct worker *);

/* token.c: API token secrets and ids. */
#define TOKEN_PREFIX		"cube_"
#define TOKEN_SECRET_BYTES	32
#define TOKEN_LEN		(5 + 43)	/* prefix + base64url(32), no padding */
void	 token_generate(char out[TOKEN_LEN + 1]);
/* Cheap shape check before hashing: prefix, length, alphabet. */
int	 token_well_formed(const char *token, size_t len);
/* A fresh token id: "tok_" and 16 random hex digits. */
#define TOKEN_ID_PREFIX		"tok_"
#define TOKEN_ID_LEN		(4 + 16)
void	 token_generate_id(char out[TOKEN_ID_LEN + 1]);

/* dir.c: directories for keys, the database and the admin socket. */
/* Create path and any missing parents, mode 0700; existing ones stay as they are. */
int	 dir_create(const char *path, char *err, size_t errlen);
/* A new 0600 file dir/name with len bytes; never replaces one. 0, or -1. */
int	 dir_write_file(const char *dir, const char *name,
	    const unsigned char *data, size_t len, char *err, size_t errlen);
/*
 * dir/name replaced whole by a new 0600 file of len bytes (temp file,
 * fsync, rename, fsync of dir): a crash leaves the old or the new. 0, or -1.
 */
int	 dir_replace_file(const char *dir, const char *name,
	    const unsigned char *data, size_t len, char *err, size_t errlen);
/*
 * Read dir/name, min..max bytes, into dst (room for max); *len (when not
 * NULL) gets its size. Only the agent's own regular 0600 file. 0, or -1.
 */
int	 dir_read_file(const char *dir, const char *name, unsigned char *dst,
	    size_t min, size_t max, size_t *len, char *err, size_t errlen);

/*
 * credential.c: a provider's sealed API key opened into the one-node curl
 * header list "Authorization: Bearer KEY", whose data lives in
 * sodium_malloc memory. Free with credential_header_free(), never with
 * curl_slist_free_all().
 */
struct curl_slist *credential_header_new(const struct vault *,
		    const unsigned char *sealed, size_t len, char *err,
		    size_t errlen);
void		 credential_header_free(struct curl_slist *);
/* An API key fit for a header: 1-4096 printable ASCII, no spaces. */
int		 credential_valid(const char *key, size_t len);

/*
 * period.c: budget periods, named as the store, the admin API and JWT
 * claims spell them (the data model both sides read).
 */
enum period {
	PERIOD_NONE,
	PERIOD_DAY,
	PERIOD_WEEK,
	PERIOD_MONTH,
};
int		 period_parse(const char *);	/* -1: unknown */
const char	*period_name(int);		/* "none" when out of range */
/*
 * The start of the period holding now (unix seconds, UTC), or 0 for
 * PERIOD_NONE; with next, the start of the one after. Weeks start on
 * Monday.
 */
int64_t		 period_start(int period, int64_t now, int64_t *next);

/*
 * registry.c: the immutable in-memory snapshot of domains, providers,
 * models and token hashes that the request path reads. Built by the admin
 * side from the store, published atomically; readers hold a reference for
 * the life of a request and never see a half-made change.
 */
/* A model's deployments, fallbacks and retries (store-model.c too). */
#define MODEL_DEPLOYMENTS_MAX	16
#define MODEL_FALLBACKS_MAX	8
#define MODEL_RETRIES_DEFAULT	2
#define MODEL_RETRIES_MAX	5
#define MODEL_DEADLINE_DEFAULT	30000	/* ms: retry_deadline_ms */
#define MODEL_DEADLINE_MIN	100
#define MODEL_DEADLINE_MAX	600000

enum provider_driver {
	DRIVER_OPENAI,
	DRIVER_OLLAMA,
	DRIVER_VLLM,
};

enum model_category {
	MODEL_LLM,
	MODEL_EMBEDDING,
};

struct reg_provider {
	char			*name;
	enum provider_driver	 driver;
	char			*base_url;	/* OpenAI API base, ends before /chat/... */
	/*
	 * "Authorization: Bearer KEY" as a one-node curl header list whose
	 * data lives in sodium_malloc memory; NULL when there is no credential.
	 */
	struct curl_slist	*auth;
	int			 errored;
	char			*error;		/* last health-check error, or NULL */
	int			 responses_api;	/* serves /v1/responses itself */
	/*
	 * Confidential routing (provider-attest.c): the provider has an
	 * attest_policy, and its evidence passed it at the last check.
	 */
	int			 attest_policy;
	int			 attested;
	char			*attest_error;	/* why not, in short, or NULL */
	/*
	 * "sha256//BASE64" of the TLS key the evidence was bound to (https
	 * providers, attested), or NULL: requests go only to that key, and
	 * with attest_pin_ca (the policy's tls_ca) only when a CA the system
	 * trusts also vouches for it and the host name.
	 */
	char			*attest_pin;
	int			 attest_pin_ca;
};

/*
 * One place a model's requests may go: a provider and the model id it
 * serves it as, with that provider's URLs. state is the deployment's
 * live state (deployment.c), shared with the snapshots before and after.
 */
struct deploy_state;
struct reg_deployment {
	const struct reg_provider *provider;
	char			*model_id;
	char			*model_id_json;	/* quoted JSON string */
	int			 weight;	/* 1..1000 */
	int			 priority;	/* 0..100; lower first */
	char			*url_chat;	/* base_url + "/chat/completions" */
	char			*url_completions;
	char			*url_embeddings;
	char			*url_fim;	/* base_url + "/fim/completions" */
	char			*url_rerank;	/* base_url + "/rerank" */
	char			*url_responses;	/* base_url + "/responses" */
	char			*url_ollama[4];	/* api/chat, generate, embed, embeddings */
	struct deploy_state	*state;
};

/*
 * A model. model_id, model_id_json, provider and the URLs are its first
 * deployment's (they point into deployments[0]); a request picks one of
 * deployments with deployment_select().
 */
struct reg_model {
	char			*key;
	size_t			 key_len;
	char			*name;
	char			*model_id;
	char			*model_id_json;	/* model_id as a JSON string, quoted */
	const struct reg_provider *provider;
	struct reg_deployment	*deployments;	/* 1..MODEL_DEPLOYMENTS_MAX */
	size_t			 ndeployments;
	const struct reg_model	*fallbacks[MODEL_FALLBACKS_MAX]; /* same domain */
	size_t			 nfallbacks;
	int			 retries;	/* attempts after the first */
	int			 retry_deadline_ms; /* since the request came */
	int			 responses_api;	/* every deployment's provider
						   serves /v1/responses */
	enum model_category	 category;
	int			 tools;
	int			 vision;
	int64_t			 price_input;	/* nano-USD per 1M tokens */
	int64_t			 price_output;
	int64_t			 price_cached;
	int			 active;
	int64_t			 updated_at;	/* unix seconds: Ollama's modified_at */
	int			 has_temperature;
	double			 temperature;
	int64_t			 max_tokens;	/* 0: unset */
	char			*system_prompt;	/* NULL: unset */
	char			*url_chat;	/* base_url + "/chat/completions" */
	char			*url_completions;
	char			*url_embeddings;
	char			*url_fim;	/* base_url + "/fim/completions" */
	char			*url_rerank;	/* base_url + "/rerank" */
	char			*url_responses;	/* base_url + "/responses" */
	char			*url_ollama[4];	/* api/chat, generate, embed, embeddings */
	int64_t			 created;	/* unix seconds, as models list */
	char			*key_json;	/* key as a JSON string, quoted */
	struct guard_list	 guard_in;	/* the domain's, in model order */
	struct guard_list	 guard_out;
};

struct reg_domain {
	char			 id[37];	/* UUID, lower-case */
	char			*name;
	struct reg_model	*models;	/* sorted by key (strcmp order) */
	size_t			 nmodels;
	int			 log_content;
	char			*models_json;	/* model_list_openai(d, NULL) */
	size_t			 models_json_len;
	struct guard		**guards;	/* compiled, sorted by key */
	size_t			 nguards;
	char			*cors_origins;	/* as the store has it, or NULL */
	struct jwt_config	*jwt;		/* JWTs it takes, or NULL */
	int			 require_attested; /* attested providers only */
};

struct reg_token {
	unsigned char		 hash[VAULT_TOKEN_HASH_BYTES];
	char			 id[32];
	const struct reg_domain	*domain;
	int64_t			 expires_at;	/* unix seconds; 0: never */
	char			**models;	/* allow-list of model keys, or NULL */
	size_t			 nmodels;
	int64_t			 rpm;		/* 0: unlimited */
	int64_t			 tpm;
	int64_t			 budget;	/* nano-USD; 0: none */
	int			 budget_period;	/* PERIOD_... */
	int64_t			 spent;		/* nano-USD, from usage, */
	int64_t			 spent_since;	/* since this period start */
};

struct registry {
	uint64_t		 generation;
	struct reg_domain	*domains;
	size_t			 ndomains;
	struct reg_provider	*providers;
	size_t			 nproviders;
	struct reg_token	*tokens;	/* sorted by hash (memcmp order) */
	size_t			 ntokens;
	void			*priv;		/* registry.c's bookkeeping */
};

/*
 * Build a snapshot from the store; opens sealed credentials with the vault
 * (a provider whose credential does not open is marked errored). Caller
 * owns the result: publish it, or free it with registry_free().
 */
struct registry	*registry_build(struct store *, const struct vault *,
		    char *err, size_t errlen);
/* Free a snapshot that was never published. */
void		 registry_free(struct registry *);
/* registry_build() and registry_publish(): what every admin write ends with. */
int		 registry_reload(struct store *, const struct vault *,
		    char *err, size_t errlen);
/* Names <-> enums as the store and the admin API spell them; -1: unknown. */
int		 registry_driver_parse(const char *);
const char	*registry_driver_name(enum provider_driver);
int		 registry_category_parse(const char *);
/* Make a new snapshot current; the old one is freed when its last reader leaves. */
void		 registry_publish(struct registry *);
/*
 * The current snapshot with a reference held; never NULL after the first
 * publish. Takes registry_lock: for admin and background threads.
 */
struct registry	*registry_acquire(void);
void		 registry_release(struct registry *);
/*
 * A worker's own references (one per worker, used on its thread only):
 * registry_local_acquire() costs one atomic load while nothing was
 * published, and sees any publish that returned before it was called
 * (a revoke applies to the next request). NULL: nothing published yet.
 * A worker never frees a snapshot: the last of its references hands it
 * to the next registry_publish() (or registry_shutdown()), which does.
 * Each acquire is ended with registry_local_release() on the same
 * registry_local. registry_local_tick(), from a timer, lets an idle
 * worker drop a replaced snapshot; registry_local_free() drops them all
 * once no request runs. For tests: registry_local_holds(), how many
 * snapshots l holds; registry_local_generation(), its current one's.
 */
struct registry_local;
struct registry_local	*registry_local_new(void);
void		 registry_local_free(struct registry_local *);
struct registry	*registry_local_acquire(struct registry_local *);
void		 registry_local_release(struct registry_local *,
		    struct registry *);
void		 registry_local_tick(struct registry_local *);
size_t		 registry_local_holds(const struct registry_local *);
uint64_t	 registry_local_generation(const struct registry_local *);
/* Drop the current snapshot at shutdown. */
void		 registry_shutdown(void);

/* Lookups on a snapshot; all return NULL when nothing matches. */
const struct reg_domain	*registry_find_domain(const struct registry *,
			    const char *id_or_name, size_t len);
const struct reg_model	*registry_find_model(const struct reg_domain *,
			    const char *key, size_t len);
/*
 * The token entry for a presented bearer token, or NULL when it is
 * malformed, unknown, revoked or expired at `now`. Compares hashes in
 * constant time.
 */
const struct reg_token	*registry_find_token(const struct registry *,
			    const struct vault *, const char *token,
			    size_t len, time_t now);
int	 registry_token_allows(const struct reg_token *,
	    const struct reg_model *);

/*
 * model-list.c: the models a listing shows, and OpenAI's shape of them;
 * ollama.c emits the same selection as /api/tags and /api/ps.
 */
/* The next active model t may use (NULL t: any) from *i = 0 on; NULL: end. */
const struct reg_model *model_list_next(const struct reg_domain *,
		    const struct reg_token *, size_t *i);
/* {"object":"list","data":[...]}, xmalloc'd and NUL-terminated. */
char		*model_list_openai(const struct reg_domain *,
		    const struct reg_token *, size_t *len);
/* One model's entry, as GET /v1/models/KEY answers; xmalloc'd. */
char		*model_list_openai_one(const struct reg_model *, size_t *len);

/*
 * jwt.c: JWT bearer tokens from an operator's identity provider (OIDC),
 * per domain: issuer, audience, a JWKS (file or URL), the algorithms it
 * allows (asymmetric only: never none, never HS*), leeway for exp, nbf and
 * iat, and the claims that choose the domain and set limits. A verified
 * token becomes a reg_token for the request whose id is "jwt:" and a hash
 * of iss and sub, so limit.c counts per subject.
 */
#define JWT_TOKEN_MAX		8192	/* a bearer JWT, compact */
#define JWT_PART_MAX		4096	/* its header or payload, decoded */
#define JWT_DEPTH_MAX		8	/* their JSON nesting */
#define JWT_JWKS_MAX		(256 * 1024)
#define JWT_JWKS_KEYS_MAX	64
#define JWT_LEEWAY_DEFAULT	60	/* seconds */
#define JWT_REFRESH_DEFAULT	600	/* seconds between JWKS fetches */
#define JWKS_KID_REFRESH_DEFAULT 60	/* an unknown kid's fetch, at most */
#define JWT_ID_PREFIX		"jwt:"
enum jwt_alg {
	JWT_RS256, JWT_RS384, JWT_RS512, JWT_PS256, JWT_PS384, JWT_PS512,
	JWT_ES256, JWT_ES384, JWT_ES512, JWT_NALGS
};
enum jwt_claim {
	JWT_CLAIM_RPM, JWT_CLAIM_TPM, JWT_CLAIM_BUDGET, JWT_CLAIM_MODELS,
	JWT_NCLAIMS
};
struct jwt_keys;
struct jwt_config {
	char		*issuer;	/* iss, exact */
	char		*audience;	/* in aud */
	char		*jwks_file;	/* one of these two */
	char		*jwks_url;
	unsigned int	 algs;		/* 1 << enum jwt_alg */
	int64_t		 leeway;	/* seconds */
	int64_t		 jwks_refresh;	/* seconds */
	char		*domain_claim;	/* names the domain, or NULL */
	char		*claims[JWT_NCLAIMS];	/* claim names, or NULL */
	/* Limits when a token has no limit claim (reg_token's meaning). */
	int64_t		 rpm;
	int64_t		 tpm;
	int64_t		 budget;
	int		 budget_period;
	char		**models;	/* NULL: every model */
	size_t		 nmodels;
	struct jwt_keys	*keys;		/* in a snapshot: NULL until loaded */
};
int		 jwt_alg_parse(const char *);	/* -1: not allowed */
const char	*jwt_alg_name(int);
int		 jwt_jwks_url_valid(const char *);
struct jwt_config *jwt_config_parse(const struct cJSON *, char *err,
		    size_t errlen);
struct cJSON	*jwt_config_json(const struct jwt_config *);
void		 jwt_config_free(struct jwt_config *);
struct jwt_keys	*jwt_keys_parse(const char *json, size_t len, char *err,
		    size_t errlen);
size_t		 jwt_keys_count(const struct jwt_keys *);
void		 jwt_keys_free(struct jwt_keys *);
int		 jwt_looks_like(const char *, size_t);
int		 jwt_verify(const struct registry *, const struct reg_domain *,
		    const char *tok, size_t len, time_t now, struct reg_token *,
		    const char **why);
void		 jwt_identity_clear(struct reg_token *);

/*
 * jwks.c: the JWKS of domains that name a URL, fetched on a thread of its
 * own (https, or http to loopback; 10 s, JWT_JWKS_MAX bytes) every
 * jwks_refresh seconds, and at most every cfg.jwks_kid_refresh seconds
 * sooner when a worker met
 * an unknown kid; the main loop keeps the last good document per URL and
 * rebuilds the snapshot when one changed. jwks_cached() is for
 * registry_build() on the main loop; jwks_want_refresh() any thread.
 */
struct jwks;
struct jwks	*jwks_start(struct agent *);
void		 jwks_stop(struct jwks *);
const char	*jwks_cached(const char *url, size_t *len);
void		 jwks_want_refresh(void);

/*
 * deployment.c: which deployment of a model a request tries, and each
 * deployment's live state: requests outstanding, consecutive failures,
 * its circuit breaker. The state lives apart from the snapshots, keyed by
 * (domain id, model key, provider, model id), so a republish keeps it;
 * the request path only reads and writes its atomics (no lock). The
 * table's lock is taken by registry builds and frees, /metrics and the
 * admin methods that show it.
 *
 * A breaker opens after DEPLOY_FAILURES consecutive failures (attempts
 * and health checks), stays open a cooldown (doubling after each failed
 * probe, up to DEPLOY_COOLDOWN_MAX_MS), then is half-open: one request
 * at a time probes it; success closes it, failure opens it again.
 */
#define DEPLOY_FAILURES_DEFAULT		5
#define DEPLOY_COOLDOWN_DEFAULT_MS	30000
#define DEPLOY_COOLDOWN_MAX_MS		300000
enum deploy_breaker {
	DEPLOY_CLOSED,
	DEPLOY_HALF_OPEN,
	DEPLOY_OPEN,
};
enum deploy_outcome {
	DEPLOY_SUCCESS,		/* the backend answered (4xx included) */
	DEPLOY_FAILURE,		/* connect, reset, timeout, 5xx, 429 */
	DEPLOY_NO_VERDICT,	/* the client left, or we ran short */
};
/* Failures to open a breaker, its first cooldown (ms); at start. */
void	 deployment_configure(int failures, int cooldown_ms);
/* The state of a deployment, a reference taken; never NULL. */
struct deploy_state *deployment_state_get(const char *domain_id,
	    const char *model, const char *provider, const char *model_id);
void	 deployment_state_put(struct deploy_state *);	/* NULL: no-op */
/*
 * The one choice of a deployment among d[0..n): those not in skip (a bit
 * per index), whose provider is not errored (and, when dom requires it,
 * attested: provider_admits) and whose breaker admits a request; of them, the lowest priority number; of those, the fewest
 * outstanding requests per weight, ties shared by weight through rot (a
 * counter that moves on with each request). -1 when none can be tried.
 * *probe is set when the pick is a half-open breaker's one probe: pass
 * it to deployment_end().
 */
int	 deployment_select(const struct reg_domain *dom,
	    const struct reg_deployment *d, size_t n, uint32_t skip,
	    int64_t now_ms, uint32_t rot, int *probe);
/* An attempt starts on, and ends on, a deployment. */
void	 deployment_begin(struct deploy_state *);
void	 deployment_end(struct deploy_state *, enum deploy_outcome, int probe,
	    int64_t now_ms);
/* A request retried onto this deployment: cube_retries_total. */
void	 deployment_retried(struct deploy_state *);
/* A health check of the provider of every deployment of domain_id's. */
void	 deployment_health(const char *domain_id, const char *provider, int ok,
	    int64_t now_ms);
enum deploy_breaker deployment_breaker(const struct deploy_state *,
	    int64_t now_ms);
const char *deployment_breaker_name(enum deploy_breaker);
int	 deployment_outstanding(const struct deploy_state *);
int	 deployment_failures(const struct deploy_state *);
uint64_t deployment_retries(const struct deploy_state *);
/* Monotonic milliseconds, the clock breakers run on. */
int64_t	 deployment_now_ms(void);
/* Each live state, under the table's lock (cb must not call back in). */
void	 deployment_foreach(void (*cb)(void *, const char *domain_id,
	    const char *model, const char *provider, const char *model_id,
	    const struct deploy_state *), void *arg);
/* A deployment's state now, as model.show shows it; zeros when unknown. */
struct deploy_live {
	enum deploy_breaker	 breaker;
	int			 outstanding;
	int			 failures;
	uint64_t		 retries;	/* requests retried onto it */
};
void	 deployment_live(const char *domain_id, const char *model,
	    const char *provider, const char *model_id, int64_t now_ms,
	    struct deploy_live *);
/* Breakers open now among domain_id's deployments on provider. */
int	 deployment_open_count(const char *domain_id, const char *provider,
	    int64_t now_ms);
/* Forget every state (tests; at exit once no snapshot is left). */
void	 deployment_reset(void);

/*
 * http.c: a small HTTP/1.1 server on libevent bufferevents. One request
 * per connection at a time (pipelined requests wait their turn); bodies by
 * Content-Length or chunked; every limit answered in the OpenAI error shape;
 * a client hang-up is noticed at once, even while a handler waits.
 *
 * A request goes through two phases. Once its head is parsed the head
 * handler (when set) decides on it before a byte of the body is read: it
 * answers at once (the body is never read; the connection closes when one
 * was announced), takes the request to answer later, or lets the body be
 * read, after which the handler gets the whole request. The head, then the
 * body, must each arrive within a deadline (head-timeout-ms,
 * body-timeout-ms) that no trickle of bytes extends, on top of the idle
 * client-timeout-ms. Connections are capped in total and per client
 * address (IPv6 by /64) across every server of the process; over a cap a
 * connection gets a short 503 and is closed. With TLS (tls.c) the caps
 * come before the handshake (over one, a bare close), and the handshake
 * must be done within the head deadline.
 */
#define HTTP_MAX_HEADERS	64
/*
 * Every reply carries x-request-id: the hex of HTTP_REQUEST_ID_BYTES
 * bytes, the time then random ones (http_request_id()), the request's
 * own (a client's x-request-id is never echoed), which its trace and
 * receipt use too.
 */
#define HTTP_REQUEST_ID_BYTES	16
#define HTTP_REQUEST_ID_HEX	(2 * HTTP_REQUEST_ID_BYTES)

struct http_header {
	const char	*name;
	size_t		 name_len;
	const char	*value;
	size_t		 value_len;
};

struct http_request {
	struct http_conn	*conn;
	const char		*method;
	size_t			 method_len;
	const char		*path;		/* without the query */
	size_t			 path_len;
	const char		*query;		/* after '?', or NULL */
	size_t			 query_len;
	struct http_header	 headers[HTTP_MAX_HEADERS];
	size_t			 nheaders;
	const char		*body;		/* valid until the reply ends */
	size_t			 body_len;	/* (NULL in the head phase) */
	int			 keep_alive;
	/*
	 * Set by a handler that answers later: on_abort runs once when the
	 * client goes away first (the request is gone when it returns);
	 * on_drain when a stream's pending output falls below the low mark.
	 * A head handler that lets the body be read may set on_abort and
	 * cb_arg too: on_abort then runs if the request ends before the
	 * handler gets it (hang-up, deadline, a body too large or
	 * malformed); before the handler runs on_abort is cleared and
	 * cb_arg kept.
	 */
	void			(*on_abort)(void *);
	void			(*on_drain)(void *);
	void			*cb_arg;
	/*
	 * Its id (http_request_id()), made on first use; whether a trace
	 * will record the request, else a refusal (status >= 400) is logged
	 * with its id; what the server itself refused it for, or NULL.
	 */
	unsigned char		 id[HTTP_REQUEST_ID_BYTES];
	int			 id_made;
	int			 traced;
	const char		*refused;
	/* The domain id of an internal request (the playground), else NULL. */
	const char		*internal_domain;
	/*
	 * When its head was read (monotonic ms); set timed and every reply
	 * carries openai-processing-ms, the time from the head to the
	 * reply's head. cors_origin (cors.c sets it): the allowed Origin,
	 * echoed in Access-Control-Allow-Origin with Vary and
	 * Access-Control-Expose-Headers on every reply, else NULL; it must
	 * point into one of headers[] (the server moves it with them).
	 */
	int64_t			 head_ms;
	int			 timed;
	const char		*cors_origin;
	size_t			 cors_origin_len;
};

typedef void (*http_handler)(struct http_request *, void *);

/* What a head handler did with a request. */
enum http_head_result {
	HTTP_HEAD_BODY,		/* read the body, then call the handler */
	HTTP_HEAD_TAKEN,	/* answered, or will be (on_abort set) */
};
typedef enum http_head_result (*http_head_handler)(struct http_request *,
		    void *);

/*
 * The JSON body of an error the server answers itself (a bad or too large
 * request, status 400, 413 or 431) before any handler saw it: written into
 * buf (always NUL-terminated), its length returned. The server knows no
 * error shape of its own: api_error_http_body() is the agent's.
 */
typedef size_t (*http_error_body)(char *buf, size_t len, int status,
		    const char *message);

struct http_server;
struct http_server *http_server_new(struct event_base *,
		    const struct agent_config *, http_handler, void *);
/* Decide on each request from its head (same arg as the handler). */
void		 http_server_set_head(struct http_server *, http_head_handler);
/* Shape the server's own errors; without one they are text/plain. */
void		 http_server_set_error_body(struct http_server *,
		    http_error_body);
/* Serve a bound, listening socket; the server owns it from here. */
int		 http_server_listen(struct http_server *, int fd, char *err,
		    size_t errlen);
/* Stop accepting and close idle connections; busy ones close when done. */
void		 http_server_drain(struct http_server *);
/*
 * Serve fd (connected, non-blocking), made by the agent itself, on this
 * server's loop as an internal connection of domain_id (a 36-character
 * id): its requests carry no bearer token. The server owns fd on
 * success; -1 (fd untouched) while draining or out of memory.
 */
int		 http_server_adopt(struct http_server *, int fd,
		    const char *domain_id);
size_t		 http_server_busy(const struct http_server *);
void		 http_server_free(struct http_server *);

/*
 * tls.c: TLS for the inference port, shared by every worker loop. The
 * key is from --tls-cert/--tls-key files or made at start in memory
 * (--tls generate, or --tls auto inside a hardware TEE); it never touches
 * disk here. tls_start(), tls_reload() and tls_rotate() run on the main
 * thread; tls_ssl_new() from any worker, tls_info() from any thread.
 */
#define TLS_TICKET_ROTATE_S	3600	/* session ticket key lifetime */
struct tls_info {
	int		 on;
	const char	*mode;		/* "off", "files", "generated" */
	unsigned char	 spki_sha256[32];
	unsigned char	*spki;		/* DER SubjectPublicKeyInfo */
	size_t		 spki_len;
	time_t		 not_after;	/* the certificate's expiry */
};
/* Decide and set up TLS from cfg; 0 (maybe off), or -1 with err. */
int		 tls_start(struct agent_config *, int hardware_tee, char *err,
		    size_t errlen);
/* Files again (SIGHUP): 0, or -1 with err and the old certificate kept. */
int		 tls_reload(char *err, size_t errlen);
void		 tls_rotate(void);
void		 tls_stop(void);
int		 tls_enabled(void);
/* A new server-side SSL for a connection, or NULL without TLS. */
struct ssl_st	*tls_ssl_new(void);
/* A copy of what is served; free its spki with tls_info_clear(). */
void		 tls_info(struct tls_info *);
void		 tls_info_clear(struct tls_info *);

/* Counts since start, of every server in the process. */
struct http_stats {
	uint64_t	 over_cap;	/* refused: over max-connections */
	uint64_t	 over_cap_addr;	/* over max-connections-per-address */
	uint64_t	 head_timeouts;	/* heads late: head-timeout-ms */
	uint64_t	 body_timeouts;	/* bodies late: body-timeout-ms */
	uint64_t	 accept_errors;	/* accept(2) failed: EMFILE... */
	uint64_t	 tls_handshakes_failed;	/* broken, refused or late */
};
void		 http_stats_get(struct http_stats *);
/* Connections open now, of every server in the process. */
size_t		 http_connections(void);

const char	*http_header_get(const struct http_request *, const char *name,
		    size_t *len);
/* The request's method is m (exactly, as methods are case-sensitive). */
int		 http_method_is(const struct http_request *, const char *m);
/*
 * The request's id, made from the system's CSPRNG on first use and the
 * same until the reply ends; http_request_id_hex() writes its
 * HTTP_REQUEST_ID_HEX digits and a NUL into hex.
 */
const unsigned char *http_request_id(struct http_request *);
void		 http_request_id_hex(struct http_request *,
		    char hex[HTTP_REQUEST_ID_HEX + 1]);

/*
 * Extra fields of a reply, each checked when added: the name a token of
 * at most HTTP_FIELD_NAME_MAX bytes and none that the server owns
 * (framing, connection, Content-Type), the value (trimmed) printable
 * ASCII, spaces and tabs, at most HTTP_FIELD_VALUE_MAX bytes, and all of
 * them together at most HTTP_FIELDS_MAX. A field that fails is dropped
 * (add returns -1), never sent: fit for a backend's headers.
 */
#define HTTP_FIELD_NAME_MAX	64
#define HTTP_FIELD_VALUE_MAX	1024
#define HTTP_FIELDS_MAX		3072
struct http_fields {
	size_t		 len;
	char		 buf[HTTP_FIELDS_MAX];	/* "Name: value\r\n"... */
};
void		 http_fields_init(struct http_fields *);
int		 http_fields_add(struct http_fields *, const char *name,
		    size_t name_len, const char *value, size_t value_len);
int		 http_fields_addf(struct http_fields *, const char *name,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * A field the agent spells itself: a literal name none of the agent's
 * own (http.c's list), a value it made of visible ASCII (digits, a
 * receipt's base64url). Nothing is checked but the room: each reply adds
 * seven, and a receipt's 900 bytes would be read again for nothing.
 */
int		 http_fields_add_own(struct http_fields *, const char *name,
		    const char *value, size_t value_len);
/*
 * A field every reply to r carries from now on, errors and streams
 * included (rate-limit state, say), the agent's own as
 * http_fields_add_own() takes them.
 */
int		 http_request_field(struct http_request *, const char *name,
		    const char *value, size_t value_len);
/* Every reply carries Date: t as an IMF-fixdate (RFC 9110 5.6.7). */
#define HTTP_DATE_LEN		29
void		 http_date_format(time_t t, char out[HTTP_DATE_LEN + 1]);
/* A Content-Type fit to send: a media type of at most HTTP_CTYPE_MAX. */
#define HTTP_CTYPE_MAX		256
/* Room for what a reply's head says itself, before its fields. */
#define HTTP_HEAD_OWN		2048
int		 http_media_type_valid(const char *);

/*
 * A complete reply. content_type falls back to application/json when it
 * is not a valid media type; a HEAD request gets no body. fields may be
 * NULL.
 */
void		 http_reply_fields(struct http_request *, int status,
		    const char *content_type, const void *body, size_t len,
		    const struct http_fields *fields);
/*
 * The same with the agent's own extra fields as "Name: value\r\n"... or
 * NULL: every line goes through http_fields_add(), but CR LF splits
 * lines, so never put a peer's bytes in it; use http_reply_fields().
 */
void		 http_reply(struct http_request *, int status,
		    const char *content_type, const void *body, size_t len,
		    const char *extra_headers);
/* A chunked reply; write returns the bytes now waiting for the client. */
void		 http_stream_start(struct http_request *, int status,
		    const char *content_type);
void		 http_stream_start_fields(struct http_request *, int status,
		    const char *content_type, const struct http_fields *);
size_t		 http_stream_write(struct http_request *, const void *, size_t);
void		 http_stream_end(struct http_request *);
/* Bytes waiting for the client above which a stream should pause its source. */
#define HTTP_STREAM_HIGH_WATER	(256 * 1024)
#define HTTP_STREAM_LOW_WATER	(64 * 1024)

/*
 * traceparent.c: W3C Trace Context. A client's traceparent is taken only
 * when it is version 00, lower-case hex and neither id all zeros; anything
 * else starts a new trace (never an error). No allocation: request path.
 */
#define TRACE_ID_BYTES		16
#define SPAN_ID_BYTES		8
#define TRACEPARENT_LEN		55	/* "00-" 32 "-" 16 "-" 2 */
#define TRACESTATE_MAX		512	/* bytes of a tracestate we pass on */
struct trace_context {
	unsigned char	 trace_id[TRACE_ID_BYTES];
	unsigned char	 parent_id[SPAN_ID_BYTES];
	unsigned char	 flags;
};
/* 0 with tc filled, or -1 (tc untouched). */
int	 traceparent_parse(const char *, size_t, struct trace_context *tc);
/* 1 when a tracestate may be passed on as it came, 0 otherwise. */
int	 tracestate_valid(const char *, size_t);
/* 2n lower-case hex digits and a NUL. */
void	 traceparent_hex(char *out, const unsigned char *, size_t n);
void	 traceparent_format(char out[TRACEPARENT_LEN + 1],
	    const unsigned char trace_id[TRACE_ID_BYTES],
	    const unsigned char span_id[SPAN_ID_BYTES], unsigned char flags);
/* 2n lower-case hex digits to n bytes: 0, or -1 when they are not. */
int	 traceparent_unhex(const char *hex, unsigned char *, size_t n);
/* n random bytes (id_random), not all zeros. */
void	 traceparent_random_id(unsigned char *, size_t n);

/* id-random.c: n random bytes for ids (a per-thread stream), not secrets. */
void	 id_random(void *, size_t n);

/*
 * upstream.c: requests to backends, through the agent's own HTTP/1.1
 * client (upstream-h1.c: plain HTTP to an IP address) or libcurl's multi
 * interface, driven by the worker's event_base. Callbacks never run after
 * upstream_cancel(); on_done is the last call and frees the transfer.
 * Backends are untrusted: the agent asks for no content coding (libcurl
 * decodes gzip and deflate that come anyway), and of the answer's headers
 * only a validated media type and, for a 429, a few rate-limit headers
 * reach the caller.
 */
enum upstream_result {
	UPSTREAM_OK,
	UPSTREAM_ERROR,		/* refused, reset, bad response: 502 */
	UPSTREAM_TIMEOUT,	/* connect, first byte or idle: 504 */
	UPSTREAM_BAD_ANSWER,	/* an answer that cannot be read: 502 */
	UPSTREAM_LOCAL,		/* this machine ran out of fds or memory: 503 */
};

#define UPSTREAM_MEDIA_TYPE_MAX	128	/* bytes of a relayed Content-Type */
#define UPSTREAM_RELAY_MAX	8	/* headers relayed from one answer */
#define UPSTREAM_RELAY_NAME_MAX	40
#define UPSTREAM_RELAY_VALUE_MAX 64
#define UPSTREAM_RELAY_BYTES	512	/* all relayed lines together */

/*
 * A response header worth relaying, validated: a lower-case token for its
 * name, visible ASCII and inner spaces for its value.
 */
struct upstream_header {
	char	 name[UPSTREAM_RELAY_NAME_MAX + 1];
	char	 value[UPSTREAM_RELAY_VALUE_MAX + 1];
};

/* The final response's head, as far as it may reach a client. */
struct upstream_response {
	long			 status;
	/* A valid media type (type/subtype[; params]), or NULL. */
	const char		*content_type;
	/* Retry-After, retry-after-ms and x-ratelimit-*, in arrival order. */
	const struct upstream_header *relay;
	size_t			 nrelay;
};

struct upstream_cb {
	/*
	 * The answer's head is in (after the first decoded body byte when
	 * the answer is content-coded, so a coding that cannot be decoded
	 * ends in on_done before it). The response lives until on_done.
	 */
	void	(*on_response)(void *, const struct upstream_response *);
	/* Body bytes, decoded, as they arrive; non-zero aborts the transfer. */
	int	(*on_data)(void *, const char *, size_t);
	/*
	 * why is for the log; for UPSTREAM_BAD_ANSWER and UPSTREAM_LOCAL it
	 * names no backend address and may be shown to the client.
	 */
	void	(*on_done)(void *, enum upstream_result, const char *why);
};

/* The W3C trace context a backend is sent (traceparent.c checked it). */
struct upstream_trace {
	char		 traceparent[TRACEPARENT_LEN + 1];
	const char	*tracestate;	/* valid, or NULL; copied */
	size_t		 tracestate_len;
};

struct upstream_pool;
struct upstream;
struct upstream_pool *upstream_pool_new(struct event_base *,
		    const struct agent_config *);
void		 upstream_pool_free(struct upstream_pool *);
/*
 * Why libcurl reaches every backend (upstream-client = libcurl, or a
 * proxy in the environment), or NULL when the agent's own client takes
 * those by address over plain HTTP.
 */
const char	*upstream_own_client_off(const struct agent_config *);
/*
 * The same, for the whole process, set once at start before any worker
 * (worker pools, probes and the registry's look ahead follow it): then
 * upstream_own_client_takes(url) says whether the own client takes url
 * (else libcurl does).
 */
void		 upstream_own_client_configure(const struct agent_config *);
int		 upstream_own_client_takes(const char *url);
/*
 * POST body (not copied: it must outlive the transfer) to url as JSON,
 * with the trace context (NULL: none; copied) and auth (a header list
 * node, may be NULL) as the last headers. Never fails: a transfer that
 * cannot start ends in on_done (UPSTREAM_LOCAL) on a later loop pass.
 * pin, when not NULL, is the only TLS key the backend may show
 * ("sha256//BASE64", CURLOPT_PINNEDPUBLICKEY): the attested one, trusted
 * in place of a CA unless pin_ca asks for a CA's word too. A backend
 * that shows another calls the function upstream_on_pin_refused() set
 * (from any worker thread), so that the provider is attested anew rather
 * than at its next interval.
 * stream: the answer is a stream of small events, read with a receive
 * buffer of UPSTREAM_STREAM_BUFFER bytes instead of UPSTREAM_BUFFER (it
 * lives as long as the stream, and every byte of it is wiped when freed).
 */
#define UPSTREAM_BUFFER		(16 * 1024)
#define UPSTREAM_STREAM_BUFFER	(2 * 1024)
struct upstream	*upstream_start(struct upstream_pool *, const char *url,
		    struct curl_slist *auth, const char *pin, int pin_ca,
		    const char *body, size_t len, int stream,
		    const struct upstream_cb *,
		    void *arg, const struct upstream_trace *);
void		 upstream_on_pin_refused(void (*)(void));
void		 upstream_pause(struct upstream *);
void		 upstream_resume(struct upstream *);
void		 upstream_cancel(struct upstream *);
/* An errno that says this machine, not the backend, ran short (EMFILE...). */
int		 upstream_errno_local(int);
/*
 * upstream-h1.c: an http:// url to an IP address (or localhost) split into
 * its address, its authority (as sent in Host) and its path. 0, or -1 when
 * the agent's own client does not take it (a host name, another scheme,
 * bad bytes).
 */
int		 h1_url_split(const char *url, struct sockaddr_storage *,
		    socklen_t *, const char **authority, size_t *alen,
		    const char **path);
/*
 * "localhost" is taken as 127.0.0.1 (h1_url_split); when that refuses a
 * connection, h1_loopback_other turns the address into ::1 (or back),
 * port kept: whether authority is localhost[:port].
 */
int		 h1_authority_localhost(const char *authority, size_t alen);
void		 h1_loopback_other(struct sockaddr_storage *, socklen_t *);
/*
 * A transfer that failed with rc on easy: did this machine run short?
 * socket_errno is what CURLOPT_OPENSOCKETFUNCTION saw (0: nothing).
 */
int		 upstream_failed_locally(CURL *easy, CURLcode rc,
		    int socket_errno);
/* CURLOPT_OPENSOCKETFUNCTION: socket(), keeping its errno in *(int *)arg. */
curl_socket_t	 upstream_open_socket(void *arg, curlsocktype,
		    struct curl_sockaddr *);
/*
 * Whom TLS on easy trusts, every option set (pooled handles keep them):
 * by_evidence, a key an attestation binds (pin, the verdict's; or the
 * fetch of the evidence itself), in place of a CA, unless ca (a policy's
 * tls_ca) asks a CA's word as well; else the system's CAs and the host.
 * pin: the only key easy may meet, or NULL.
 */
void		 upstream_tls_trust(CURL *easy, const char *pin,
		    int by_evidence, int ca);

/*
 * h1-response.c: reading a backend's HTTP/1.1 response, no I/O and no
 * allocation (upstream-h1.c feeds it what it reads). Strict, RFC 9112:
 * what is malformed, ambiguous or too long ends the answer as unreadable.
 */
#define H1_HEAD_MAX		(32 * 1024)	/* status line to blank line */
#define H1_CHUNK_LINE_MAX	256	/* a chunk-size line, extensions too */

struct h1_head {
	int		 status;	/* 100..599 */
	int		 keep_alive;	/* may carry another request after */
	int		 chunked;	/* Transfer-Encoding: chunked */
	int		 has_length;	/* Content-Length (not with chunked) */
	uint64_t	 length;
};

/*
 * The length of the head at the start of buf, through the blank line
 * that ends it (CRLF or bare LF line ends); 0 when more bytes are needed,
 * -1 when it cannot end within H1_HEAD_MAX bytes.
 */
ssize_t	 h1_head_length(const char *buf, size_t len);
/*
 * Parse a head of exactly len bytes (as h1_head_length measured) into
 * *h. Each header line goes to line (without its line end) in order, when
 * line is not NULL. 0, or -1 when it is malformed: a status line other
 * than HTTP/1.0 or 1.1 and three digits, a line without a colon or with
 * a name that is no token, a folded line, a bad or conflicting
 * Content-Length, a Transfer-Encoding other than "chunked".
 */
int	 h1_head_parse(const char *buf, size_t len, struct h1_head *h,
	    void (*line)(void *, const char *, size_t), void *arg);

enum h1_body_mode {
	H1_BODY_NONE,		/* 204, 304: no body */
	H1_BODY_LENGTH,		/* Content-Length bytes */
	H1_BODY_CHUNKED,
	H1_BODY_CLOSE,		/* until the backend closes */
};

struct h1_body {
	enum h1_body_mode mode;
	int		 state;		/* h1-response.c's own */
	uint64_t	 left;		/* of the length, or of this chunk */
	char		 line[H1_CHUNK_LINE_MAX]; /* a split size/trailer line */
	size_t		 linelen;
	size_t		 trailer_bytes;
	int		 done;		/* the body is whole */
};

/* The body after head h of a final (>= 200) answer to a POST. */
void	 h1_body_init(struct h1_body *, const struct h1_head *h);
/*
 * Read body bytes from in (len of them): how many were consumed, with the
 * body's bytes among them as one span of in (*data, *dlen; *dlen may be
 * 0); call again with the rest. At least one byte is consumed when len > 0
 * and the body is not done; none once it is (what follows is not this
 * answer's). -1 when the framing is bad (a bad chunk size or line end, a
 * size line or trailers too long).
 */
ssize_t	 h1_body_read(struct h1_body *, const char *in, size_t len,
	    const char **data, size_t *dlen);
/* The backend closed: 1 when that ends the body whole, else 0 (cut). */
int	 h1_body_eof(struct h1_body *);

/*
 * upstream-header.c: which of a backend's response headers may reach a
 * client. Each takes a header line as libcurl hands it ("Name: value",
 * CRLF or not) and fills what it keeps; 1 when it did, 0 otherwise.
 */
/* Content-Type: a media type of at most UPSTREAM_MEDIA_TYPE_MAX bytes. */
int	 upstream_header_media_type(const char *line, size_t len,
	    char out[UPSTREAM_MEDIA_TYPE_MAX + 1]);
/* Retry-After, retry-after-ms, x-ratelimit-*: bounded and checked. */
int	 upstream_header_relayed(const char *line, size_t len,
	    struct upstream_header *);
/* Content-Encoding's codings, lower case, at most outlen - 1 bytes. */
int	 upstream_header_coding(const char *line, size_t len, char *out,
	    size_t outlen);

/* What an answer's head may pass on, as its lines come (both clients). */
struct upstream_head {
	char			 ctype[UPSTREAM_MEDIA_TYPE_MAX + 1];
	char			 coding[48];	/* Content-Encoding, or "" */
	int			 coded;		/* and it is not identity */
	struct upstream_header	 relay[UPSTREAM_RELAY_MAX];
	size_t			 nrelay;
	size_t			 relay_bytes;
};
/* A new head (a 1xx one came before, or this is the first). */
void	 upstream_head_reset(struct upstream_head *);
/*
 * Keep what a header line may pass on: a sane media type (an insane
 * Content-Type is none), the coding, the first of each rate-limit header
 * within UPSTREAM_RELAY_MAX and UPSTREAM_RELAY_BYTES.
 */
void	 upstream_head_line(struct upstream_head *, const char *line,
	    size_t len);

/*
 * receipt-batch.c: a worker's receipts, signed in batches (receipt.h's
 * v2; a batch of one is signed alone, v1) when its loop has nothing else
 * ready and no other reply is expected within receipt-wait-us, every
 * call under way waits for one, the batch is full, or 1 ms after its
 * first. The callback gets the receipt string, or NULL when it
 * could not be signed.
 */
struct receipt;
struct receipt_batch;
typedef void	(*receipt_signed_cb)(void *arg, const char *receipt,
		    size_t len);
/*
 * max and wait_us: the worker's receipt-batch and receipt-wait-us
 * settings; calls: how many calls it has under way, those that wait for
 * a signature included. All are read as they are needed.
 */
struct receipt_batch *receipt_batch_new(struct event_base *,
		    const struct vault *, const int *max, const int *wait_us,
		    const unsigned *calls);
/*
 * rc's fields (not its version, signature or proof) to sign with the
 * batch: 1, cb comes then; 0 when the batch is full or off (sign it now:
 * receipt_sign_one()); -1 when rc's strings do not fit a receipt.
 */
int		 receipt_batch_add(struct receipt_batch *,
		    const struct receipt *rc, receipt_signed_cb cb, void *arg);
/* Sign rc alone (v1) and call cb at once. */
void		 receipt_sign_one(const struct vault *, struct receipt *rc,
		    receipt_signed_cb cb, void *arg);
/*
 * A call of the worker ended without a receipt (calls is one less): a
 * held batch that every call now waits for is signed in this pass.
 */
void		 receipt_batch_call_ended(struct receipt_batch *);
/* Sign what waits, now (a stopping worker, before its connections go). */
void		 receipt_batch_flush(struct receipt_batch *);
void		 receipt_batch_free(struct receipt_batch *);	/* flushes */

/* worker.c: N event loops sharing the inference port with SO_REUSEPORT. */
/*
 * wakeup.c: calls other threads post to a worker's loop, whose event base
 * has no lock. The poster owns the call; one already queued is not
 * queued twice. Calls run on the loop's thread, oldest first.
 */
struct wakeup_call {
	void			(*fn)(void *);
	void			*arg;
	struct wakeup_call	*next;		/* the wakeup's, under its lock */
	int			 queued;
};
struct wakeup;
void		 wakeup_call_init(struct wakeup_call *, void (*)(void *),
		    void *);
struct wakeup	*wakeup_new(struct event_base *, char *err, size_t errlen);
/* Once no thread posts any more; calls still queued never run. */
void		 wakeup_free(struct wakeup *);
void		 wakeup_post(struct wakeup *, struct wakeup_call *);
/* On the loop's thread: a queued call is taken back; else nothing. */
void		 wakeup_cancel(struct wakeup *, struct wakeup_call *);

struct worker {
	int			 id;
	struct agent		*agent;
	struct event_base	*base;
	struct http_server	*http;
	struct upstream_pool	*upstream;
	struct limit_redis		*redis;	/* shared limits; NULL: none */
	struct trace_batch	*traces;	/* finished records, not yet handed */
	struct receipt_batch	*receipts;	/* waiting for a signature */
	unsigned		 calls;		/* proxy calls under way */
	int			 listen_fd;
	/* What other threads ask of its loop (its base has no lock). */
	struct wakeup		*wake;
	struct wakeup_call	 drain_call;	/* workers_stop() */
	struct wakeup_call	 break_call;	/* ... past the grace period */
	struct wakeup_call	 settings_call;	/* workers_configure() */
	struct event		*deadline_ev;
	int			 draining;
	uint32_t		 rotation;	/* deployment_select()'s turn */
	struct registry_local	*regs;		/* its snapshot references */
	struct event		*regs_ev;	/* registry_local_tick() */
	/*
	 * The settings its http server and upstream pool read: its own copy,
	 * written on its own thread only (worker_settings()), so a request
	 * never sees a SIGHUP half-applied and takes no lock. The strings
	 * point into agent->cfg's, which stay until the workers are gone.
	 */
	struct agent_config	 cfg;
	struct agent_config	*_Atomic settings; /* next values, or NULL */
};
int	 workers_start(struct agent *, char *err, size_t errlen);
/* Drain every worker (finish in-flight requests up to the grace period), join. */
void	 workers_stop(void);
/*
 * From any thread: hand fd to a worker as an internal connection of
 * domain_id (http_server_adopt() on its loop). The worker owns fd once
 * this returns 0; it closes it if it cannot serve it.
 */
int	 workers_adopt(int fd, const char *domain_id, char *err,
	    size_t errlen);
/*
 * From the main thread (SIGHUP): every worker takes cfg's reloadable keys
 * on its own loop, between two events, all at once.
 */
void	 workers_configure(const struct agent_config *cfg);

/* dialect.c (below): which translation a route needs. */
enum dialect_kind {
	DIALECT_NONE,		/* the body goes upstream as the client sent it */
	DIALECT_ANTHROPIC,	/* /v1/messages, /v1/messages/count_tokens */
	DIALECT_RESPONSES,	/* /v1/responses */
	DIALECT_OLLAMA,		/* Ollama's /api/... to an OpenAI backend */
};

/* route.c: which inference route a request path names. */
enum route_kind {
	ROUTE_MODELS,
	ROUTE_MODEL,		/* GET models/KEY */
	ROUTE_CHAT,
	ROUTE_COMPLETIONS,
	ROUTE_EMBEDDINGS,
	ROUTE_MESSAGES,		/* Anthropic's POST messages */
	ROUTE_COUNT_TOKENS,	/* Anthropic's POST messages/count_tokens */
	ROUTE_RESPONSES,	/* OpenAI's POST responses */
	ROUTE_OLLAMA_EMBEDDINGS, /* Ollama's older POST /api/embeddings */
	ROUTE_OLLAMA_SHOW,	/* Ollama's POST /api/show */
	ROUTE_OLLAMA_PS,	/* Ollama's GET /api/ps */
	ROUTE_OLLAMA_VERSION,	/* Ollama's GET /api/version */
	ROUTE_FIM,		/* POST fim/completions: passed through */
	ROUTE_RERANK,		/* POST rerank: passed through */
	ROUTE_ATTESTATION,	/* GET /attestation: no token */
	ROUTE_HEALTHZ,		/* GET /healthz: no token */
};

#define ROUTE_MODEL_MAX	256	/* bytes of a percent-decoded model key */
struct route {
	enum route_kind	 kind;
	const char	*method;	/* the one it accepts */
	const char	*domain;	/* /proxy/DOMAIN/..., else NULL */
	size_t		 domain_len;
	const char	*model;		/* ROUTE_MODEL's key, decoded */
	size_t		 model_len;
	int		 ollama;	/* .../api/...: Ollama's */
	enum dialect_kind dialect;	/* translated: Anthropic, Responses */
	char		 model_buf[ROUTE_MODEL_MAX];
};
/* Fill *out and return 0 when the path names a route, else -1. */
int	 route_match(const char *path, size_t len, struct route *out);
/* The route takes this method (HEAD wherever GET is taken). */
int	 route_allows(const struct route *, const char *method, size_t len);
/* The Allow field's value for a 405 on the route: "GET, HEAD", "POST". */
const char *route_allow(const struct route *);

/*
 * request.c: the one strict scan of an inference request's body, on the
 * worker that received it. It validates the JSON (depth, UTF-8, no key
 * twice in one object at any depth), finds the members the proxy, rewrite
 * and the limiter need, and lists every text the backend will read, once,
 * for the input guardrails and the estimate. A struct request lives on
 * the stack of the call that scans; it allocates only past its inline
 * room. Spans index body; request_rebase() moves them onto a body that
 * splices changed.
 */
#define REQUEST_MAX_DEPTH	64
#define REQUEST_MAX_TOKENS	(1 << 24)	/* max_tokens and the like */
#define REQUEST_TEXT_KEY	0x1	/* an object's key, not a value */
#define REQUEST_TEXT_ESCAPED	0x2	/* a string that holds a backslash */
#define REQUEST_TEXT_NUMBER	0x4	/* a number, its digits as written */
struct request_text {
	uint32_t		 start;		/* its span, quotes included */
	uint32_t		 end;
	uint32_t		 flags;
};
#define REQUEST_TEXTS_INLINE	64
struct request {
	const char		*body;		/* what the spans index */
	size_t			 len;
	/* Top-level members; present is 0 when absent. */
	struct jscan_span	 model;
	struct jscan_span	 stream;
	struct jscan_span	 stream_options;
	struct jscan_span	 temperature;
	struct jscan_span	 max_tokens;
	struct jscan_span	 max_completion_tokens;
	struct jscan_span	 messages;
	struct jscan_span	 prompt;
	struct jscan_span	 input;
	struct jscan_span	 options;	/* Ollama's */
	struct jscan_span	 system;	/* Ollama's generate */
	struct jscan_span	 max_output_tokens; /* the Responses API's */
	struct jscan_span	 instructions;
	struct jscan_span	 n;		/* choices asked for */
	struct jscan_span	 logprobs;	/* true, or (completions) a count */
	struct jscan_span	 top_logprobs;
	struct jscan_span	 functions;	/* the deprecated tools */
	struct jscan_span	 audio;		/* audio out, and its format */
	struct jscan_span	 modalities;
	/* Members of those. */
	struct jscan_span	 include_usage;	/* stream_options' */
	struct jscan_span	 options_temperature;
	struct jscan_span	 num_predict;	/* options' */
	int			 has_system;	/* a system or developer message
						   (or input item) */
	int			 token_ids;	/* prompt, input or context as ids */
	int			 ollama;	/* scanned as Ollama's format */
	/*
	 * The most output the backend is told to give: the client's cap after
	 * request_scan(), the model's default if rewrite added one; -1 for
	 * none (the limiter then assumes its default).
	 */
	int64_t			 max_output;
	uint64_t		 nmessages;	/* messages, prompts, inputs */
	size_t			 prompt_bytes;	/* text the backend reads */
	const char		*param;		/* the member a refusal is about */
	/* Every text the backend will read, in body order. */
	struct request_text	*texts;		/* NULL: texts_inline */
	size_t			 ntexts;
	size_t			 textcap;
	struct request_text	 texts_inline[REQUEST_TEXTS_INLINE];
	struct jscan_keys	 keys;		/* the scan's scratch */
	char			*scratch;	/* a text, unescaped */
	size_t			 scratchcap;
};
/*
 * Scan body[0..len) (Ollama's wire format with ollama) into rq, which must
 * be zeroed or cleared. Returns 0, or -1 when the request is malformed:
 * err says why and rq->param names the member (or is NULL).
 */
int	 request_scan(struct request *, const char *body, size_t len,
	    int ollama, char *err, size_t errlen);
/* Free what rq grew; it may be scanned again. */
void	 request_clear(struct request *);
const struct request_text *request_texts(const struct request *, size_t *n);
/*
 * A text's bytes, unescaped (in rq's scratch, valid until the next call)
 * or in place. May hold NUL bytes; trust *len.
 */
const char *request_text(struct request *, const struct request_text *,
	    size_t *len);

/* A change to a body: cut bytes at at replaced by ins[0..ins_len). */
struct request_splice {
	size_t		 at;
	size_t		 cut;
	const char	*ins;
	size_t		 ins_len;
};
/*
 * body with the splices applied (they are sorted by at first and must not
 * overlap). Caller owns the NUL-terminated result; free with free().
 */
char	*request_apply(const char *body, size_t len, struct request_splice *,
	    size_t n, size_t *out_len);
/*
 * rq's spans moved onto body[0..len), made from rq->body by the splices
 * (sorted, each inside one string or number of the old body). The text
 * list is emptied: it described the old body.
 */
void	 request_rebase(struct request *, const char *body, size_t len,
	    const struct request_splice *, size_t n);

/*
 * rewrite.c: the body sent upstream, spliced from the client's (its spans
 * in rq, from request_scan()): the model value replaced by m's model_id
 * and m's defaults added where the request omits them (system prompt only
 * for chat, when no system or developer message is present; for
 * ROUTE_RESPONSES, the Responses API's body passed through, as its
 * "instructions", and the output cap as "max_output_tokens"). With
 * ask_usage, stream_options.include_usage is made true, so that a stream
 * ends with its usage. rq->max_output and rq->prompt_bytes become what the
 * backend is sent. Caller owns the NUL-terminated result; free with free().
 */
char	*rewrite_body(struct request *rq, const struct reg_model *m,
	    enum route_kind, int ask_usage, size_t *out_len);
/*
 * The answer's "model" (an answer, a chunk, an Ollama line) as the key
 * the client asked for, never the backend's model id: the first
 * "model":"ID" as compact JSON writes it (a string's own quotes are
 * escaped, so it cannot be inside one), with or without a space. Returns
 * buf, or scratch's bytes with it replaced; *outlen their length.
 */
const char *rewrite_answer_model(const struct reg_model *m, const char *buf,
	    size_t len, struct dialect_buf *scratch, size_t *outlen);
/*
 * The same for Ollama's native routes: defaults under "options"
 * (temperature, num_predict), the system prompt as a system message
 * (chat) or "system" (generate).
 */
char	*rewrite_ollama(struct request *rq, const struct reg_model *m,
	    enum route_kind, size_t *out_len);

/*
 * guard-input.c: the input hook. Every route that sends a prompt upstream
 * (chat, completions, embeddings, on every alias, and Ollama's routes)
 * calls it with the model and the request as request_scan() left it:
 * every text the backend will read goes through the model's input
 * guardrails. GUARD_REDACTED gives the body to send instead (caller frees
 * *out) and moves rq onto it; GUARD_BLOCKED names the guardrail in
 * report; GUARD_FAILED: the request cannot be checked (token ids), refuse
 * it.
 */
enum guard_result guard_input(const struct reg_model *, struct request *rq,
		    char **out, size_t *outlen, struct guard_report *);

/* guard-answer.c: the output hook, for buffered answers and streams. */
#define GUARD_UNCHECKED	"the backend's answer could not be checked"
/* A stream's choices it follows; one with a higher index fails closed. */
#define GUARD_ANSWER_CHOICES	16
struct guard_answer;
struct guard_answer *guard_answer_new(const struct guard_list *,
		    struct guard_report *, enum route_kind);
void		 guard_answer_free(struct guard_answer *);
/*
 * One SSE event of a stream in; *out is what to send for it (the event
 * itself, rewritten, or with held text of earlier ones), valid until the
 * next call. GUARD_BLOCKED: *out ends the stream (content_filter, then
 * [DONE]; or an upstream_error event when the event cannot be checked);
 * stop reading from the backend.
 */
enum guard_result guard_answer_event(struct guard_answer *, const char *,
		    size_t, const char **out, size_t *outlen);
/* The same, its data decoded by the caller (sse_event_data's result). */
enum guard_result guard_answer_event_data(struct guard_answer *,
		    const char *, size_t, const char *data, ssize_t dlen,
		    const char **out, size_t *outlen);
/* The backend ended the stream: what is still held, in events. */
enum guard_result guard_answer_finish(struct guard_answer *,
		    const char **out, size_t *outlen);
enum guard_result guard_answer_body(const struct guard_list *,
		    enum route_kind, const char *body, size_t len, char **out,
		    size_t *outlen, struct guard_report *);
/*
 * The same, and the span of the answer's top-level usage object in
 * *usage (its present 0 when none, or when the answer was not walked:
 * no output guardrails, or it failed), for meter_answer_usage().
 */
struct jscan_span;
enum guard_result guard_answer_body_usage(const struct guard_list *,
		    enum route_kind, const char *body, size_t len, char **out,
		    size_t *outlen, struct guard_report *,
		    struct jscan_span *usage);

/*
 * guard-ollama.c: the output hook for Ollama's answers: a whole one, or
 * a stream line by line, its text through one stream filter. A block
 * ends the stream with a last line, done_reason "content_filter".
 */
struct guard_ollama;
struct guard_ollama *guard_ollama_new(const struct guard_list *,
		    struct guard_report *, enum route_kind);
void		 guard_ollama_free(struct guard_ollama *);
enum guard_result guard_ollama_line(struct guard_ollama *, const char *,
		    size_t, const char **out, size_t *outlen);
enum guard_result guard_ollama_finish(struct guard_ollama *,
		    const char **out, size_t *outlen);
enum guard_result guard_ollama_body(const struct guard_list *,
		    enum route_kind, const char *body, size_t len, char **out,
		    size_t *outlen, struct guard_report *);

/*
 * cors.c: CORS for browser clients, per domain (runs on the workers).
 * The origins a domain allows are in its registry entry; a preflight
 * (OPTIONS) needs no token.
 */
#define CORS_EXPOSE_HEADERS	"x-request-id, openai-processing-ms," \
	" x-ratelimit-limit-requests, x-ratelimit-limit-tokens," \
	" x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens," \
	" x-ratelimit-reset-requests, x-ratelimit-reset-tokens, retry-after," \
	" cube-receipt"
#define CORS_ORIGIN_MAX		256
#define CORS_ORIGINS_MAX	32	/* origins a domain may list */
/* "*", or scheme://host[:port] as browsers send it, lower-case. */
int	 cors_origin_valid(const char *, size_t);
/* Whether a space-separated list (NULL: none) holds origin, or "*". */
int	 cors_list_allows(const char *list, const char *origin, size_t len);
/*
 * The allowed names of an Access-Control-Request-Headers value, lower-case
 * and ", "-separated, into out (NUL-terminated); returns their length.
 */
size_t	 cors_allow_headers(const char *req, size_t len, char *out,
	    size_t outlen);
/*
 * OPTIONS on an inference route: 204 with Allow, and, when the origin is
 * allowed (by the path's domain, or on token-routed paths by any domain),
 * the preflight's Access-Control-* fields. -1 for routes without CORS
 * (healthz, attestation): answer as for any other method. The snapshot
 * comes from the worker's references, regs.
 */
int	 cors_preflight(struct http_request *, const struct route *,
	    struct registry_local *);
/*
 * A real request: mark r's replies for CORS when its Origin is allowed by
 * the path's domain and by the token's (token_domain; NULL before the
 * token is known: any domain's on token-routed paths). Called again, it
 * decides again.
 */
void	 cors_request(struct http_request *, const struct registry *,
	    const struct route *, const struct reg_domain *token_domain);

/*
 * proxy.c: the inference routes, from a parsed request to a reply.
 * proxy_head decides on a request from its head (route, method, token,
 * domain) and answers all but inference, whose body proxy_handle gets.
 */
enum http_head_result proxy_head(struct http_request *, void *worker);
void	 proxy_handle(struct http_request *, void *worker);

/*
 * limit.c: per-token requests and tokens a minute (fixed windows on the
 * minute; tokens count when a request ends, and refuse new requests while
 * the window is over) and spend budgets (reserved before forwarding,
 * settled after), shared by every worker thread.
 */
enum limit_result {
	LIMIT_OK,
	LIMIT_RATE,
	LIMIT_BUDGET,
	LIMIT_UNAVAILABLE,	/* shared budget, Redis unreachable: closed */
	LIMIT_PENDING,		/* asked Redis: the callback will say */
};
struct limit_entry;
struct limit_pending;
struct limit_redis;
/*
 * What a token's minute window held when a request asked (after counting
 * it when admitted): the limit (0: none), what remains of it and the ms
 * until it is whole again (the window's end), for requests and tokens.
 */
struct limit_state {
	int64_t			 requests_limit;
	int64_t			 requests_left;
	int64_t			 tokens_limit;
	int64_t			 tokens_left;
	int64_t			 reset_ms;
};
struct limit_ticket {
	struct limit_entry	*entry;		/* NULL: nothing to settle */
	int64_t			 reserved;	/* nano-USD */
	struct limit_state	 state;		/* filled by limit_acquire */
	/* Shared through Redis: the worker's connection and the period. */
	struct limit_redis		*redis;	/* NULL: this host's only */
	char			 domain[64];	/* the token's domain's name */
	int64_t			 period_start;
	int64_t			 period_next;
	struct limit_pending	*pending;	/* asked, not yet answered */
};
int64_t		 limit_estimate(const struct reg_model *, size_t prompt_bytes,
		    int64_t max_output);
enum limit_result limit_acquire(const struct reg_token *, int64_t now_ms,
		    int64_t estimate, struct limit_ticket *, int *retry_after);
void		 limit_settle(struct limit_ticket *, int64_t tokens,
		    int64_t cost, int64_t now_ms);
/*
 * limit_acquire() for a worker whose limits are shared through Redis
 * (redis, its connection; NULL: limit_acquire() itself). LIMIT_PENDING:
 * done(arg, result, retry_after) is called from the worker's loop once
 * Redis answers (or fails: then budgets refuse with LIMIT_UNAVAILABLE and
 * rate limits fall back to this host's share, limit / fleet-size), and
 * the ticket is filled then. limit_cancel() before that: done is never
 * called, and a reservation Redis makes is released.
 */
typedef void	(*limit_done)(void *arg, enum limit_result, int retry_after);
enum limit_result limit_acquire_shared(const struct reg_token *,
		    int64_t now_ms, int64_t estimate, struct limit_ticket *,
		    int *retry_after, struct limit_redis *, limit_done,
		    void *arg);
void		 limit_cancel(struct limit_ticket *);
int64_t		 limit_spent(const struct reg_token *, int64_t now);
/* What t's requests in flight hold of its budget now (nano-USD). */
int64_t		 limit_reserved(const struct reg_token *);
void		 limit_reset(void);
/* JWT subjects' entries: the cap (tests; 0: default) and how many now. */
void		 limit_jwt_cap(size_t);
size_t		 limit_jwt_entries(void);
/*
 * A duration as OpenAI's x-ratelimit-reset-* write it (Go's): "0s",
 * "250ms", "6s", "17.28s", "1m0s", "1h2m3s". Returns out.
 */
#define LIMIT_DURATION_MAX	32
char		*limit_duration_format(int64_t ms, char out[LIMIT_DURATION_MAX]);
/*
 * x-ratelimit-{limit,remaining,reset}-{requests,tokens} from state on
 * every reply to r, for the limits the token has.
 */
void		 limit_fields(struct http_request *, const struct limit_state *);

/*
 * limit-redis.c: a worker's connection to the Redis that shares token
 * limits across agents, on the worker's loop (no lock); limit.c uses it.
 * limit_redis_configure() runs once at start, before workers: it checks the
 * limits-redis settings, resolves the address and moves the password to
 * sodium memory (cfg's copy is wiped). 0, or -1 with err naming the key.
 */
struct redisReply;
struct redisReader;
struct limit_redis_verdict {
	int			 error;		/* 1: no verdict (fall back) */
	int			 verdict;	/* 0 ok, 1 rate, 2 budget */
	int64_t			 requests;	/* in the window, after */
	int64_t			 tokens;
	int64_t			 spent;		/* in the period, nano-USD */
	int64_t			 reserved;
};
struct limit_redis_keys {
	char			 rate[256];	/* the minute window's */
	char			 budget[256];	/* the budget period's */
};
struct limit_redis_status {
	int			 on;
	int			 tls;
	int			 fleet_size;
	int			 connections;
	int			 connections_up;
	uint64_t		 errors;
	uint64_t		 fallbacks;
};
typedef void	(*limit_redis_done)(void *arg,
		    const struct limit_redis_verdict *);
int		 limit_redis_configure(struct agent_config *, char *err,
		    size_t errlen);
/* SIGHUP: 1 when pw is the running password (constant time; NULL: none). */
int		 limit_redis_password_is(const char *pw);
void		 limit_redis_unconfigure(void);
int		 limit_redis_enabled(void);
int		 limit_redis_fleet_size(void);	/* 1 unless set */
const char	*limit_redis_prefix(void);
/* Caller owns the result (NULL when not configured): limit_redis_free(). */
struct limit_redis	*limit_redis_new(struct event_base *);
void		 limit_redis_free(struct limit_redis *);
int		 limit_redis_up(const struct limit_redis *);
/*
 * Run the acquire script: 0, and done is called once (from the loop, with
 * error set when Redis failed); -1 when the connection is down (done is
 * never called). args: rpm, tpm, budget, estimate, seed spend, the rate
 * key's and the budget key's time to live (ms).
 */
int		 limit_redis_acquire(struct limit_redis *,
		    const struct limit_redis_keys *,
		    const int64_t args[7], limit_redis_done, void *);
/* The settle script, queued while down; args: tokens, -reserved, cost, TTLs. */
void		 limit_redis_settle(struct limit_redis *,
		    const struct limit_redis_keys *,
		    const int64_t args[5]);
int		 limit_redis_key(char *, size_t, const char *prefix,
		    const char *domain, const char *token_id, char what,
		    int64_t when);
int		 limit_redis_verdict_parse(const struct redisReply *,
		    struct limit_redis_verdict *);
/* A hiredis reader whose replies hold arrays of a few elements at most. */
struct redisReader *limit_redis_reader_new(void);
void		 limit_redis_status(struct limit_redis_status *);
void		 limit_redis_count_fallback(void);

/* api-error.c: the OpenAI error shape with the contract's status and codes. */
enum api_error {
	API_INVALID_REQUEST,
	API_INVALID_API_KEY,
	API_DOMAIN_NOT_FOUND,
	API_MODEL_NOT_FOUND,
	API_MODEL_INACTIVE,
	API_GUARDRAIL_VIOLATION,
	API_REQUEST_TOO_LARGE,
	API_RATE_LIMIT_EXCEEDED,
	API_BUDGET_EXCEEDED,
	API_UPSTREAM_ERROR,
	API_UPSTREAM_TIMEOUT,
	API_NOT_FOUND,
	API_METHOD_NOT_ALLOWED,
	API_HEADERS_TOO_LARGE,
	API_UNAVAILABLE,
	API_LIMITS_UNAVAILABLE,
	API_ATTESTATION_REQUIRED,	/* the domain needs an attested provider */
};
int	 api_error_status(enum api_error);
const char *api_error_code(enum api_error);	/* "model_inactive", static */
const char *api_error_type(enum api_error);	/* "api_error", static */
/* Render the error body into buf (always NUL-terminated); returns its length. */
size_t	 api_error_body(char *buf, size_t len, enum api_error,
	    const char *param, const char *message);
/* The http_error_body for the HTTP server's own errors (400, 413, 431). */
size_t	 api_error_http_body(char *buf, size_t len, int status,
	    const char *message);
void	 api_error_reply(struct http_request *, enum api_error,
	    const char *param, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/*
 * ollama.c: Ollama's native API (/proxy/DOMAIN/api/...): chat is
 * ROUTE_CHAT, generate ROUTE_COMPLETIONS, embed ROUTE_EMBEDDINGS, tags
 * ROUTE_MODELS, show ROUTE_OLLAMA_SHOW, ps ROUTE_OLLAMA_PS, version
 * ROUTE_OLLAMA_VERSION; errors are {"error": "..."} with the contract's
 * status.
 */
struct ollama_obj {
	struct jscan_span	 text;	/* message.content, or response: any type */
	struct jscan_span	 thinking; /* message.thinking, or thinking */
	struct jscan_span	 calls;	/* message.tool_calls, any type */
	struct jscan_span	 context; /* generate's token ids, any type */
	int			 odd;	/* a message that is no object */
	int			 done;
	struct jscan_span	 prompt_eval_count;
	struct jscan_span	 eval_count;
};
int	 ollama_scan(const char *, size_t, enum route_kind,
	    struct ollama_obj *, struct jscan_keys *dups);
/*
 * The routes that are no inference, once the token and its domain are
 * known: each replies. GET /api/tags and GET /api/ps list the domain's
 * active models the token may use (every provider's: Ollama's served
 * natively, the rest translated); GET /api/version; POST /api/show with
 * the request's body, 404 {"error":"model 'x' not found"} for a model the
 * token cannot see (unknown, inactive, not allowed: the same answer).
 */
void	 ollama_tags(struct http_request *, const struct reg_domain *,
	    const struct reg_token *);
/*
 * A model by the name an Ollama client gives: the key, or the key of
 * "KEY:latest" (Ollama's clients add the tag), else NULL.
 */
const struct reg_model *ollama_find_model(const struct reg_domain *,
	    const char *name, size_t len);
void	 ollama_ps(struct http_request *, const struct reg_domain *,
	    const struct reg_token *);
void	 ollama_version(struct http_request *);
void	 ollama_show(struct http_request *, const struct reg_domain *,
	    const struct reg_token *, const char *body, size_t len);
/* Their bodies, xmalloc'd, *len the length; show's status in *status. */
char	*ollama_tags_body(const struct reg_domain *,
	    const struct reg_token *, size_t *len);
char	*ollama_ps_body(const struct reg_domain *, const struct reg_token *,
	    size_t *len);
char	*ollama_version_body(size_t *len);
char	*ollama_show_body(const struct reg_domain *,
	    const struct reg_token *, const char *req, size_t reqlen,
	    int *status, size_t *len);
/*
 * Ollama's timestamps (created_at, modified_at): RFC 3339 in UTC, the
 * fraction to the nanosecond without trailing zeros, as Go writes it.
 */
#define OLLAMA_TIME_LEN	40
void	 ollama_time(char buf[OLLAMA_TIME_LEN], int64_t sec, long nsec);
size_t	 ollama_error_body(char *, size_t, const char *message);
void	 ollama_error_reply(struct http_request *, enum api_error,
	    const char *message);

/*
 * dialect.c: client wire formats served by translation. The pipeline
 * (guardrails, meter, limits, traces, receipts) only ever sees OpenAI's
 * chat completions (or embeddings) bodies and SSE chunks: a dialect turns
 * the client's request into one, and the answer, the stream's chunks and
 * errors back into the client's shape. Translation uses cJSON: these
 * routes are not the hot path, and a body rebuilt from what was parsed
 * means the backend reads exactly what the guardrails read.
 */
/* enum dialect_kind: with route.c, above. */
/* Bytes that grow (xmalloc); free p when done. */
struct dialect_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};
void	 dialect_buf_add(struct dialect_buf *, const void *, size_t);
void	 dialect_buf_str(struct dialect_buf *, const char *);
/* One SSE event: "event: NAME\ndata: JSON\n\n" (no event line if NULL). */
void	 dialect_buf_sse(struct dialect_buf *, const char *name,
	    const struct cJSON *);
/* One NDJSON line: JSON and "\n". */
void	 dialect_buf_line(struct dialect_buf *, const struct cJSON *);
void	 dialect_buf_free(struct dialect_buf *);
/*
 * Call cb with each event's data (the "data" lines joined, NUL-terminated;
 * "[DONE]" included) of buf, which holds whole SSE events; comments and
 * events without data are skipped. Returns -1 when cb does, or an event
 * is not whole, else 0.
 */
int	 dialect_events(const char *buf, size_t len,
	    int (*cb)(void *arg, const char *data, size_t len), void *arg);
/*
 * The reasoning a chat completion's message or delta carries, as vLLM and
 * DeepSeek name it (reasoning_content) or as Ollama's OpenAI API and
 * OpenRouter do (reasoning); NULL when there is none or it is empty.
 */
const char *dialect_reasoning(const struct cJSON *);

/*
 * response-store.c: the conversations previous_response_id continues,
 * in memory, for domains that log content. put copies json; get returns
 * a copy (caller frees) or NULL when unknown, expired or another
 * domain's. put is -1 for an entry over RESPONSE_STORE_ENTRY_MAX.
 */
#define RESPONSE_STORE_TTL		3600		/* seconds */
#define RESPONSE_STORE_MAX		(64u * 1024 * 1024)	/* bytes, all */
#define RESPONSE_STORE_ENTRY_MAX	(8u * 1024 * 1024)
int	 response_store_put(const char *domain_id, const char *id,
	    const char *json, size_t len, time_t now);
char	*response_store_get(const char *domain_id, const char *id, time_t now,
	    size_t *len);
void	 response_store_clear(void);	/* at exit */

/* The translated request. */
struct dialect_request {
	/* In, set by the caller before open(): */
	const char	*domain_id;	/* the domain the request is for */
	int		 keep;		/* it logs content: may store */
	/* Out: */
	char		*body;		/* OpenAI's body, xmalloc'd */
	size_t		 len;
	enum route_kind	 route;		/* ROUTE_CHAT or ROUTE_EMBEDDINGS */
	int		 stream;	/* the client asked for a stream */
	const char	*trace_route;	/* static: "messages", "responses", ... */
};
struct dialect_call;		/* a translator's state for one request */
struct dialect_ops {
	const char	*name;		/* "anthropic", "responses", "ollama" */
	/*
	 * The client's request on its route (ROUTE_MESSAGES,
	 * ROUTE_COUNT_TOKENS, ROUTE_RESPONSES; Ollama's ROUTE_CHAT,
	 * ROUTE_COMPLETIONS for generate, ROUTE_EMBEDDINGS for embed and
	 * ROUTE_OLLAMA_EMBEDDINGS for the older /api/embeddings) as an
	 * OpenAI request, into *out. id is the request's id (32 hex
	 * digits) for the ids the answer carries; now the time. Returns the
	 * state, or NULL with err (a message for the client) and *param (the
	 * field at fault, or NULL) for a request it cannot take.
	 */
	struct dialect_call *(*open)(enum route_kind, const char *body,
			    size_t len, const char *id, time_t now,
			    struct dialect_request *out, char *err,
			    size_t errlen, const char **param);
	/*
	 * A whole OpenAI answer (already through the output guardrails) as
	 * the client's body, xmalloc'd, *outlen its length; NULL when json
	 * is not such an answer (the gateway answers 502 then).
	 */
	char		*(*answer)(struct dialect_call *, const char *json,
			    size_t len, size_t *outlen);
	/* The media type of its streams. */
	const char	*stream_type;
	/*
	 * One event's data from the OpenAI stream (a chunk's JSON, or
	 * "[DONE]"): what the client gets for it, appended to out (maybe
	 * nothing). Returns -1 when data is not a chunk it can read.
	 */
	int		 (*event)(struct dialect_call *, const char *data,
			    size_t len, struct dialect_buf *out);
	/*
	 * The stream ended well: its closing events into out (Anthropic's
	 * content_block_stop, message_delta with the stop reason and usage,
	 * message_stop; Responses' *.done and response.completed; Ollama's
	 * done line).
	 */
	void		 (*end)(struct dialect_call *, struct dialect_buf *out);
	/* The stream broke: an error event in the client's shape into out. */
	void		 (*stream_error)(struct dialect_call *, enum api_error,
			    const char *message, struct dialect_buf *out);
	/* A whole error reply's body; always NUL-terminated; its length. */
	size_t		 (*error_body)(char *buf, size_t len, enum api_error,
			    const char *param, const char *message);
	void		 (*close)(struct dialect_call *);	/* NULL: no-op */
};
extern const struct dialect_ops	dialect_anthropic;	/* dialect-anthropic.c */
extern const struct dialect_ops	dialect_responses;	/* dialect-responses.c */
extern const struct dialect_ops	dialect_ollama;		/* dialect-ollama.c */

/*
 * backend-error.c: a backend's error answer in the route's error shape:
 * its own message (type, param, code) when body is an OpenAI, vLLM or
 * Ollama error object, else fallback's with message; Ollama's shape when
 * ollama. Never the backend's raw bytes. Writes at most len - 1 bytes and
 * a NUL (BACKEND_ERROR_BODY_MAX always fits); returns the length.
 */
#define BACKEND_ERROR_BODY_MAX	16384
size_t	 backend_error_body(char *buf, size_t len, int ollama,
	    const char *body, size_t body_len, enum api_error fallback,
	    const char *message);

/*
 * The store (store.c, store-*.c) is declared in store.h, which only the
 * admin side and the trace writer include: the request path reads the
 * registry snapshot, never SQLite (scripts/check-layers checks it).
 */
struct store;
struct store_domain;
struct store_provider;
struct store_model;
struct store_token;
struct store_guardrail;

/*
 * trace.c: one record per inference request (DESIGN.md, Tracing), and the
 * queue to the writer. A worker fills a record and adds it to its own
 * batch (trace_batch_add()), which reaches the queue a batch at a time
 * under one lock; trace-writer.c's thread batches the queue into SQLite
 * (its own connection), keeps the hourly usage rollup, enforces
 * retention, and passes what it committed to the main loop for logs.tail.
 */
enum trace_step {
	TRACE_STEP_NONE,
	TRACE_STEP_REQUEST,		/* malformed body */
	TRACE_STEP_AUTHENTICATE,
	TRACE_STEP_DOMAIN,
	TRACE_STEP_MODEL,
	TRACE_STEP_MODEL_STATE,		/* inactive, wrong kind, provider errored */
	TRACE_STEP_INPUT_GUARDRAIL,
	TRACE_STEP_LIMIT,
	TRACE_STEP_UPSTREAM,
	TRACE_STEP_OUTPUT_GUARDRAIL,
	TRACE_STEP_GATEWAY,		/* the agent itself ran short (EMFILE...) */
};

struct trace {
	struct trace	*next;		/* queue link, the writer's */
	int64_t		 id;		/* set when written; grows with time */
	int64_t		 time_ms;	/* unix milliseconds at arrival */
	char		 domain_id[37];
	char		 token_id[32];	/* "": no token */
	const char	*model;		/* key as asked for, or NULL */
	const char	*model_id;	/* sent upstream, or NULL */
	const char	*provider;	/* or NULL */
	char		*names;		/* one block holding the three */
	const char	*route;		/* static: chat, completions, ... */
	int		 status;	/* HTTP status the client got */
	const char	*error;		/* static error code, or NULL */
	enum trace_step	 step;		/* the step that rejected it */
	int64_t		 latency_ms;
	int64_t		 ttft_ms;	/* to the first answer byte; -1: none */
	int64_t		 prompt_tokens;	/* cached ones included, as OpenAI */
	int64_t		 completion_tokens;
	int64_t		 cached_tokens;
	int64_t		 cost;		/* nano-USD */
	int		 estimated;	/* tokens estimated, not the backend's */
	int		 stream;
	int		 cancelled;	/* the client hung up first */
	char		*prompt_text;	/* only when the domain logs content */
	char		*completion_text;
	char		*guardrails;	/* JSON array of guardrail hits, or NULL */
	char		*receipt;	/* the answer's signed receipt, or NULL */
	char		 request_id[HTTP_REQUEST_ID_HEX + 1];	/* x-request-id */
	/* W3C trace context (traceparent.c): the OTLP span's ids. */
	unsigned char	 trace_id[TRACE_ID_BYTES];
	unsigned char	 span_id[SPAN_ID_BYTES];	/* ours */
	unsigned char	 parent_id[SPAN_ID_BYTES];	/* the client's; zero:
							   none */
	/* What the client asked for, for the span: -1 / NaN when unsaid. */
	int64_t		 max_tokens;
	double		 temperature;
	/*
	 * JSON array of the request's attempts, when it made more than one
	 * or went to a fallback: [{model, provider, model_id, status,
	 * error, ms}]. NULL: the one attempt the fields above describe.
	 */
	char		*attempts;
};
struct trace_writer;
struct trace_queue;
struct trace_batch;
struct otlp;
#define TRACE_BATCH_MAX		4096	/* records per transaction */
/* A zeroed record (ttft -1); free with trace_free(), NULL is a no-op. */
struct trace	*trace_new(void);
void		 trace_free(struct trace *);
void		 trace_list_free(struct trace *);	/* linked by next */
/* Free what a record owns and zero it (for records in arrays). */
void		 trace_clear(struct trace *);
/* Set model, model_id and provider (each may be NULL) in one allocation. */
void		 trace_set_names(struct trace *, const char *model, size_t len,
		    const char *model_id, const char *provider);
int64_t		 trace_now_ms(void);
const char	*trace_step_name(enum trace_step);	/* "" for NONE */
enum trace_step	 trace_step_parse(const char *);
/* The static string equal to s (NULL stays NULL; unknown: a catch-all). */
const char	*trace_route_intern(const char *);
const char	*trace_error_intern(const char *);
/* ts = now + ms on the monotonic clock; whether ts has passed. */
void		 trace_deadline(struct timespec *ts, int ms);
int		 trace_past(const struct timespec *ts);
/*
 * The queue to the writer, bounded (records beyond are dropped and
 * counted). trace-writer.c owns one: trace_writer_queue().
 */
struct trace_queue *trace_queue_new(void);
void		 trace_queue_free(struct trace_queue *);	/* NULL: no-op */
/* Take the n records head..tail (linked by next); any thread. */
void		 trace_queue_push(struct trace_queue *, struct trace *head,
		    struct trace *tail, size_t n);
/* Takes ownership of t; any thread; a NULL queue frees it. */
void		 trace_submit(struct trace_queue *, struct trace *t);
/* The writer's side: wait (until, or a stop), then gather window_ms. */
struct trace	*trace_queue_wait(struct trace_queue *,
		    const struct timespec *until, int window_ms, int *stopping);
struct trace	*trace_queue_take(struct trace_queue *);	/* no wait */
void		 trace_queue_stop(struct trace_queue *);	/* accept no more */
uint64_t	 trace_queue_dropped(struct trace_queue *);
/*
 * A worker's batch, on its loop only: records go to the queue when 64 are
 * held, 10 ms after the first, or at trace_batch_free() (which hands over
 * what is left: a clean stop loses nothing).
 */
struct trace_batch *trace_batch_new(struct trace_queue *, struct event_base *);
void		 trace_batch_add(struct trace_batch *, struct trace *t);
void		 trace_batch_flush(struct trace_batch *);
void		 trace_batch_free(struct trace_batch *);	/* NULL: no-op */

/*
 * trace-writer.c: the writer thread (admin side: it includes store.h).
 * Opens its own connection to DATA_DIR/cube.db. NULL with err on failure.
 */
struct trace_writer *trace_writer_start(const char *data_dir, int flush_ms,
		    int retention_check_s, char *err, size_t errlen);
/* SIGHUP: a new batch window and retention check interval. */
void		 trace_writer_configure(struct trace_writer *, int flush_ms,
		    int retention_check_s);
/* Write everything queued (SIGTERM loses nothing), join, free. */
void		 trace_writer_stop(struct trace_writer *);
/* Where records go (trace_batch_new(), trace_submit()); NULL: none. */
struct trace_queue *trace_writer_queue(struct trace_writer *);
uint64_t	 trace_writer_written(struct trace_writer *);
void		 trace_writer_listen(struct trace_writer *, struct event_base *,
		    void (*)(const struct trace *, void *), void *);
void		 trace_writer_listeners(struct trace_writer *, int delta);
/* Offer every committed batch to o as well (before traffic starts). */
void		 trace_writer_export(struct trace_writer *, struct otlp *o);

/*
 * otlp.c: every committed trace as an OTLP/HTTP span (JSON) with the
 * OpenTelemetry GenAI attributes, posted to cfg->otlp_endpoint by its
 * own thread. The trace writer offers each committed batch; a full queue
 * drops its oldest spans. Content only when the trace holds it (domains
 * that log content).
 */
/* NULL when no endpoint is set, or with err when the settings are bad. */
struct otlp	*otlp_start(const struct agent_config *, char *err,
		    size_t errlen);
/* The trace writer's thread: spans for batch (linked by next), queued. */
void		 otlp_offer(struct otlp *, const struct trace *batch);
/*
 * SIGHUP: otlp-timeout-ms, -flush-ms, -batch and -shutdown-ms from cfg;
 * the endpoint, headers, CA and queue size stay. NULL is a no-op.
 */
void		 otlp_configure(struct otlp *, const struct agent_config *);
/* Flush for at most otlp-shutdown-ms, join, free; NULL is a no-op. */
void		 otlp_stop(struct otlp *);
/* Totals since start, for /metrics (zero without a collector). */
void		 otlp_counters(uint64_t *exported, uint64_t *dropped,
		    uint64_t *errors);

/*
 * meter.c: a request's token counts from the backend's usage (OpenAI's
 * shape: prompt_tokens includes prompt_tokens_details.cached_tokens; or
 * the Responses API's input_tokens, output_tokens and
 * input_tokens_details.cached_tokens, in a Response or the "response" of
 * its stream's response.completed/incomplete/failed event), and
 * the answer text seen, for the estimate when there is no usage and for
 * traces of domains that log content.
 */
#define METER_USAGE_ONLY	1	/* a stream chunk with usage and no choices */
struct meter {
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	int64_t		 cached_tokens;
	int		 has_usage;
	size_t		 content_bytes;	/* answer text seen */
	int		 keep_text;
	char		*text;		/* the answer text, when keep_text */
	size_t		 text_len;
	size_t		 text_cap;
};
void	 meter_init(struct meter *, int keep_text);
void	 meter_clear(struct meter *);
int64_t	 meter_estimate(size_t bytes);
/* A whole answer, or a stream event's data: 0 or METER_USAGE_ONLY. */
int	 meter_json(struct meter *, const char *, size_t);
/* A whole answer, reading only its usage when that is enough. */
void	 meter_answer(struct meter *, const char *, size_t);
/* The same, its usage object (a span a strict walk found) given. */
void	 meter_answer_usage(struct meter *, const char *, size_t,
	    const struct jscan_span *usage);
/* One raw SSE event, as sse_feed() passes it: 0 or METER_USAGE_ONLY. */
int	 meter_event(struct meter *, const char *, size_t);
/* The same, its data decoded by the caller (sse_event_data's result). */
int	 meter_event_data(struct meter *, const char *, ssize_t);
/* One Ollama object (answer or stream line): its text and its counts. */
void	 meter_ollama(struct meter *, const char *, size_t, enum route_kind);

/*
 * metrics.c: Prometheus text on --metrics-listen, served by the main loop;
 * the trace writer counts each trace it wrote, workers their streams.
 */
int	 metrics_start(struct event_base *, const char *listen, char *,
	    size_t);
void	 metrics_stop(void);
void	 metrics_add(const struct trace *);
void	 metrics_stream(int delta);
int	 metrics_streams_open(void);
/* Requests refused before they reached a domain: counted, never traced. */
enum metrics_reject {
	METRICS_REJECT_AUTH,		/* no, bad, expired or revoked token */
};
void	 metrics_rejected(enum metrics_reject);
/* Receipts signed, and the signatures they took (any worker thread). */
void	 metrics_receipts(unsigned receipts, unsigned signatures);
void	 metrics_receipts_total(uint64_t *receipts, uint64_t *signatures);

/*
 * stats.c: rolling figures (1 min, 5 min, 1 h windows) and spend today
 * per (domain, model), for stats.get and stats.tail. The trace writer
 * adds each committed trace; the admin loop reads. At most
 * STATS_MAX_SERIES series of about 90 KiB each, STATS_DOMAIN_SERIES of
 * them per domain (further models: STATS_OTHER); keys that name no model
 * count as STATS_UNKNOWN (neither can be a model key).
 */
#define STATS_MAX_SERIES	256
#define STATS_DOMAIN_SERIES	32
#define STATS_BINS		64
#define STATS_OTHER		"(other)"
#define STATS_UNKNOWN		"(unknown)"
enum stats_window {
	STATS_1M,
	STATS_5M,
	STATS_1H,
};
#define STATS_NWINDOWS		3
struct stats_hist {
	uint64_t	 count;
	int64_t		 min;		/* ms, when count > 0 */
	int64_t		 max;
	uint64_t	 bin[STATS_BINS];	/* see stats_bin() */
};
struct stats_sum {
	int64_t			 requests;
	int64_t			 errors;	/* status >= 400 */
	int64_t			 prompt_tokens;
	int64_t			 completion_tokens;
	struct stats_hist	 latency;
	struct stats_hist	 ttft;		/* streams with a first token */
};
struct stats_row {
	char			 domain_id[37];	/* "": no domain */
	char			 model[129];
	struct stats_sum	 window[STATS_NWINDOWS];
	int64_t			 cost_today;	/* nano-USD, this UTC day */
};
struct stats;
/* Free with stats_free(); NULL is a no-op. */
struct stats	*stats_new(void);
void		 stats_free(struct stats *);
/* Count t at now_s (seconds; a clock going back counts as the newest). */
void		 stats_add(struct stats *, const struct trace *t,
		    int64_t now_s);
/* Spend of UTC day (unix days) from before the start: no requests. */
void		 stats_add_spend(struct stats *, const char *domain_id,
		    const char *model, int64_t day, int64_t cost);
/* Drop series of domains and models reg no longer has. */
void		 stats_prune(struct stats *, const struct registry *reg);
/*
 * Figures at now_s for UTC day (unix days): the host's in *host, and one
 * row per series of domain_id and model (NULL: any) in *rows, which the
 * caller frees (NULL when none). Returns the number of rows.
 */
size_t		 stats_read(struct stats *, int64_t now_s, int64_t day,
		    const char *domain_id, const char *model,
		    struct stats_row *host, struct stats_row **rows);
size_t		 stats_nseries(struct stats *);
/*
 * One bucket of a ring, for sparklines: its requests, errors, tokens and
 * latency histogram (32-bit counts keep a point small).
 */
#define STATS_POINTS_MAX	60	/* buckets in the longest ring */
struct stats_point {
	int64_t		 requests;
	int64_t		 errors;
	int64_t		 tokens;	/* prompt + completion */
	uint32_t	 count;		/* of the latency histogram */
	int64_t		 min;
	int64_t		 max;
	uint32_t	 bin[STATS_BINS];
};
struct stats_points {
	char			 domain_id[37];
	char			 model[129];
	struct stats_point	 pt[STATS_POINTS_MAX];
};
/*
 * The buckets of ring w at now_s, oldest first, the current one last:
 * the host's in host[], one entry per series of domain_id and model
 * (NULL: any) in *rows, which the caller frees (NULL when none). Returns
 * the number of rows; *npoints is the ring's length.
 */
size_t		 stats_read_points(struct stats *, int64_t now_s,
		    enum stats_window w, const char *domain_id,
		    const char *model, struct stats_point *host,
		    struct stats_points **rows, size_t *npoints);
void		 stats_point_merge(struct stats_point *,
		    const struct stats_point *);
/* The p-quantile of a point's latency in ms; -1 without requests. */
int64_t		 stats_point_percentile(const struct stats_point *, double p);
void		 stats_sum_merge(struct stats_sum *, const struct stats_sum *);
/* The p-quantile (0..1] in ms; -1 for an empty histogram. */
int64_t		 stats_percentile(const struct stats_hist *, double p);
int		 stats_bin(int64_t ms);
int64_t		 stats_window_seconds(enum stats_window);
/* The agent's own instance, and what the trace writer calls. */
struct stats	*stats_default(void);
int64_t		 stats_now(void);
void		 stats_observe(const struct trace *);
void		 stats_shutdown(void);

/*
 * guard-spec.c: a stored guardrail compiled (guard.h). NULL with err
 * filled, fit for the operator, when it cannot be.
 */
struct guard;
struct guard	*guard_spec_compile(const char *key, const char *kind,
		    const char *action, const char *params_json, char *err,
		    size_t errlen);

/* admin.c: JSON-RPC 2.0 on the admin unix socket, served on the main loop. */
struct admin;
struct admin	*admin_start(struct agent *, char *err, size_t errlen);
void		 admin_stop(struct admin *);
/* A connection's state across requests: its logs.tail subscription. */
struct admin_session {
	int		 tail;
	char		 domain_id[37];	/* "": every domain */
	char		*model;		/* NULL: every model */
	/* stats.tail (admin-stats.c): a timer sending stats.update */
	struct agent	*agent;
	struct bufferevent *bev;	/* the connection's, or NULL */
	struct event	*stats_ev;	/* NULL: not subscribed */
	char		 stats_domain_id[37];	/* "": every domain */
	char		*stats_model;	/* NULL: every model */
	int		 stats_series;	/* enum stats_window, or -1 */
	/* model.chat (admin-chat.c): the call running, and who to resume */
	struct admin_chat *chat;
	void		(*chat_done)(void *);
	void		*chat_arg;
};
/*
 * Answer one request line (without its newline): the reply line with its
 * newline, or NULL for a notification. session is the connection's (NULL
 * when there is none). Caller frees the result.
 */
char		*admin_handle(struct agent *, struct admin_session *,
		    const char *line, size_t len);
/* The same for a peer (NULL: the agent's own user), whom the audit names. */
struct admin_peer;
char		*admin_handle_peer(struct agent *, const struct admin_peer *,
		    struct admin_session *,
		    const char *line, size_t len);
/* Root, the agent's own uid and members of the socket's group may connect. */
int		 admin_peer_allowed(unsigned int uid, unsigned int gid,
		    unsigned int own_uid, unsigned int socket_gid);

/*
 * What a method handler answers: result on success, else code and message.
 * A method that needs a backend probed asks admin_probe_need() (which
 * sets probe_want and answers NULL: the method returns -1 having written
 * nothing); the caller runs the probe, outside any transaction, then the
 * method again with probe set.
 */
struct admin_probe;
struct admin_reply {
	struct cJSON	*result;
	int		 code;		/* RPC_* */
	char		 message[512];
	int		 changed;	/* the store changed even though it failed */
	struct admin_session *session;	/* the caller's connection, or NULL */
	const struct admin_probe *probe; /* run for this request, or NULL */
	struct admin_probe *probe_want;	/* to run before the method can */
	const struct cJSON *id;		/* the request's, or NULL */
	const struct admin_peer *peer;	/* who asks; NULL: the agent's user */
	int		 deferred;	/* the method answers later itself */
};
int	 admin_reply_error(struct admin_reply *, int code, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* A STORE_* failure: names pass through, database errors are only logged. */
int	 admin_reply_store(struct admin_reply *, int rc, const char *err);

/*
 * admin-probe.c: the provider probes admin methods need (provider.test and
 * provider.models, the model pre-flight), run on a thread of their own so
 * that neither the admin loop nor SQLite's write lock waits on a backend.
 */
enum admin_probe_kind {
	ADMIN_PROBE_STATUS,	/* probe_provider(): does it answer */
	ADMIN_PROBE_MODELS,	/* the same, with its model list */
	ADMIN_PROBE_SERVED,	/* probe_model_served() for model_id */
	ADMIN_PROBE_BACKUP,	/* backup_make(): a copy of the database */
};
struct admin_probe {
	enum admin_probe_kind	 kind;
	struct store_provider	*provider;	/* as probed; sealed key only */
	char			*model_id;	/* ADMIN_PROBE_SERVED */
	struct backup		*backup;	/* ADMIN_PROBE_BACKUP; NULL for
						   the others, or once taken */
	/* The outcome, once it ran. */
	int			 rc;	/* 0 ok; 1 not served; -1 failed;
					   PROBE_LOCAL: we are short */
	char			 why[512];	/* rc != 0: never a secret */
	long			 latency_ms;
	char			**names;	/* ADMIN_PROBE_MODELS */
	size_t			 nnames;
	/* While it runs on a thread (admin_probe_start()). */
	int			 cancel;	/* atomic: give up soon */
	int			 started;
	const struct vault	*vault;
	pthread_t		 thread;
	struct event		*done;
	void			(*cb)(struct admin_probe *, void *);
	void			*arg;
};
/*
 * For a method: the outcome of probing p (as kind; model_id for SERVED)
 * when reply->probe is that probe. Else NULL, and either probe_want is
 * set (the caller probes, then runs the method again) or, when a probe
 * already ran but p changed since, an error is in reply.
 */
const struct admin_probe *admin_probe_need(struct admin_reply *,
		    enum admin_probe_kind, const struct store_provider *p,
		    const char *model_id);
/* Run it here, blocking (no loop to keep free: admin_handle()). */
void		 admin_probe_run(struct admin_probe *, const struct vault *);
/*
 * Run it on a thread; cb(probe, arg) runs on base's loop once it is done.
 * Returns -1 (err filled) when no thread can be started.
 */
int		 admin_probe_start(struct admin_probe *, struct event_base *,
		    const struct vault *, void (*cb)(struct admin_probe *,
		    void *), void *arg, char *err, size_t errlen);
/* Ask a started probe to give up soon (a peer gone, shutdown). */
void		 admin_probe_cancel(struct admin_probe *);
/* Joins a started probe's thread first; NULL is a no-op. */
void		 admin_probe_free(struct admin_probe *);

/*
 * For backup.begin: the copy of data_dir's database, made on a thread
 * before the method runs again (as admin_probe_need()). NULL when it is
 * not made yet (probe_want is set) or failed (reply holds why).
 */
const struct admin_probe *admin_probe_need_backup(struct admin_reply *,
		    const char *data_dir);
/* The copy a backup probe made; the caller owns it from then on. */
struct backup	*admin_probe_take_backup(const struct admin_probe *);

/*
 * backup.c: a consistent copy of the database (SQLite's online backup
 * API, a connection of its own, a read transaction held throughout),
 * checked with PRAGMA integrity_check; any thread. restore.c and
 * admin-backup.c share the checks.
 */
struct sqlite3;
struct backup {
	char		*dir;		/* the data directory */
	int		 fd;		/* the copy, unlinked already; -1: none */
	int64_t		 size;		/* bytes */
	int		 schema_version;	/* its PRAGMA user_version */
	char		 sha256[65];	/* hex */
};
/* Caller owns the result; free with backup_free(). */
struct backup	*backup_new(const char *data_dir);
/* Make the copy; *cancel (atomic) set gives up soon. 0, or -1 with err. */
int		 backup_make(struct backup *, const int *cancel, char *err,
		    size_t errlen);
/* At most len bytes from offset; 0 at the end, -1 with errno. */
ssize_t		 backup_read(const struct backup *, int64_t offset, void *buf,
		    size_t len);
/* Closes the copy, which frees its disk space. NULL is a no-op. */
void		 backup_free(struct backup *);
/* Remove copies and restores a crash left in data_dir (at start). */
void		 backup_sweep(const char *data_dir);
/* One "ok" row from PRAGMA integrity_check; else -1, err says what. */
int		 backup_integrity(struct sqlite3 *, char *err, size_t errlen);
/* Size and SHA-256 (64 hex and a NUL) of fd's content. 0, or -1. */
int		 backup_digest(int fd, int64_t *size, char hex[65], char *err,
		    size_t errlen);

/*
 * admin-backup.c: backup.begin, backup.read, backup.end. At most
 * ADMIN_BACKUPS_MAX copies at once; each goes at backup.end, when the
 * connection that began it closes, after ADMIN_BACKUP_IDLE_S without a
 * read, or at exit.
 */
#define ADMIN_BACKUPS_MAX	2
#define ADMIN_BACKUP_CHUNK	(1024 * 1024)	/* bytes a backup.read, at most */
#define ADMIN_BACKUP_IDLE_S	300
int	 admin_backup_begin(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_backup_read(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_backup_end(struct agent *, const struct cJSON *,
	    struct admin_reply *);
/* The copies the session began go (its connection closed). */
void	 admin_backup_session_gone(const struct admin_session *);
/* Every copy goes (admin_stop()). */
void	 admin_backup_stop(void);

/*
 * restore.c: cube-agent --restore FILE: check FILE, put it in place of
 * the data directory's database (the old one kept beside it), and name
 * the providers whose keys this host cannot open. The exit status.
 */
int	 restore_run(const struct agent_config *, const struct vault *,
	    const char *file);
/*
 * 0 when a restore may go ahead: the data directory is this user's (as
 * the agent reads only its own key files) and no agent uses it (nothing
 * answers on the admin socket, no process holds the database open);
 * else -1, err says why.
 */
int	 restore_preflight(const struct agent_config *, char *err,
	    size_t errlen);

/* admin-param.c: strict parameter checks; messages name the field. */
#define ADMIN_PARAM_REQUIRED	0x1
#define ADMIN_PARAM_NULLABLE	0x2
/* Getters return -1 (reply filled), or one of these. */
#define ADMIN_PARAM_ABSENT	0
#define ADMIN_PARAM_SET		1
#define ADMIN_PARAM_NULL	2
/* params must be an object (or absent) with no members outside allowed. */
int	 admin_param_check(const struct cJSON *params,
	    const char *const *allowed, struct admin_reply *);
int	 admin_param_string(const struct cJSON *, const char *name, int flags,
	    size_t minlen, size_t maxlen, int (*valid)(const char *),
	    const char *what, const char **out, struct admin_reply *);
int	 admin_param_bool(const struct cJSON *, const char *name, int flags,
	    int *out, struct admin_reply *);
int	 admin_param_int(const struct cJSON *, const char *name, int flags,
	    int64_t min, int64_t max, int64_t *out, struct admin_reply *);
int	 admin_param_number(const struct cJSON *, const char *name, int flags,
	    double min, double max, double *out, struct admin_reply *);
int	 admin_param_money(const struct cJSON *, const char *name, int flags,
	    int64_t *out, struct admin_reply *);
/* An array of 1..max strings, each valid; *out is the member (not copied). */
int	 admin_param_strings(const struct cJSON *, const char *name, int flags,
	    size_t max, size_t maxlen, int (*valid)(const char *),
	    const char *what, const struct cJSON **out, struct admin_reply *);
/* The required "domain" parameter, looked up by id or name. */
int	 admin_param_domain(struct agent *, const struct cJSON *,
	    struct store_domain *, struct admin_reply *);
/* Character sets (docs/admin-api.md): 1 when s is acceptable. */
int	 admin_valid_domain_name(const char *);
int	 admin_valid_provider_name(const char *);
int	 admin_valid_request_id(const char *);
int	 admin_valid_model_key(const char *);
int	 admin_valid_line(const char *);	/* UTF-8, no control characters */
int	 admin_valid_text(const char *);	/* UTF-8, tabs and newlines too */

/* admin-json.c: result fields in the admin API's conventions. */
struct cJSON	*admin_json_time(int64_t);	/* RFC 3339 UTC, or null for 0 */
struct cJSON	*admin_json_money(int64_t);	/* "0.15" */
struct cJSON	*admin_json_string(const char *);	/* or null for NULL */
struct cJSON	*admin_json_number(double);
struct cJSON	*admin_json_bool(int);
struct cJSON	*admin_json_object(void);
struct cJSON	*admin_json_array(void);
/* Add item to obj as name. Out of memory here, as anywhere, is fatal. */
void		 admin_json_add(struct cJSON *obj, const char *name,
		    struct cJSON *item);

/* admin-status.c */
int	 admin_status(struct agent *, const struct cJSON *,
	    struct admin_reply *);

/* admin-attestation.c */
int	 admin_attestation_get(struct agent *, const struct cJSON *,
	    struct admin_reply *);

/* admin-domain.c */
struct cJSON	*admin_domain_json(const struct store_domain *);
int	 admin_domain_create(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_domain_list(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_domain_get(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_domain_edit(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_domain_delete(struct agent *, const struct cJSON *,
	    struct admin_reply *);

/*
 * admin-entity.c: list, lookup and show for the tables kept per domain,
 * each described once: its store descriptor, the parameter naming a row
 * and how it is checked, and the row as results show it.
 */
#define ADMIN_ENTITY_IN_DOMAIN	0x1	/* not found: name the domain too */
struct admin_entity {
	const struct store_entity *store;
	const char	*key;		/* the parameter: "name", "key" */
	size_t		 key_max;
	int		(*valid)(const char *);
	const char	*charset;	/* the message when not valid */
	struct cJSON	*(*json)(const void *row);
	int		 flags;
};
int	 admin_entity_list(struct agent *, const struct admin_entity *,
	    const struct cJSON *, struct admin_reply *);
/* allowed NULL: "domain" and the key alone; d NULL: the domain not kept. */
int	 admin_entity_lookup(struct agent *, const struct admin_entity *,
	    const struct cJSON *, const char *const *allowed,
	    struct store_domain *d, void *row, struct admin_reply *);
int	 admin_entity_show(struct agent *, const struct admin_entity *,
	    const struct cJSON *, struct admin_reply *);

/* admin-provider.c */
struct cJSON	*admin_provider_json(const struct store_provider *);
int	 admin_provider_add(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_provider_list(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_provider_test(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_provider_models(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_provider_edit(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_provider_delete(struct agent *, const struct cJSON *,
	    struct admin_reply *);

/* admin-model.c */
struct cJSON	*admin_model_json(const struct store_model *);
int	 admin_model_deploy(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_model_list(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_model_show(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_model_edit(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_model_enable(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_model_disable(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_model_delete(struct agent *, const struct cJSON *,
	    struct admin_reply *);
/* A model key derived from a display name; NULL when none can be. */
char	*admin_model_key_from_name(const char *);

/* admin-logs.c, admin-usage.c */
struct cJSON	*admin_logs_trace_json(const struct trace *);
int	 admin_logs_list(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_logs_tail(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_logs_untail(struct agent *, const struct cJSON *,
	    struct admin_reply *);
void	 admin_session_clear(struct agent *, struct admin_session *);
int	 admin_session_wants(const struct admin_session *,
	    const struct trace *);
char	*admin_logs_notification(const struct trace *);
/*
 * admin-chat.c: model.chat, the playground. The call answers later on
 * the session's connection (reply->deferred), then calls chat_done.
 * admin_chat_free() cancels a call still running; admin_chat_resume()
 * reads on once the peer has read its notifications.
 */
struct admin_chat;
int	 admin_model_chat(struct agent *, const struct cJSON *,
	    struct admin_reply *);
void	 admin_chat_free(struct admin_chat *);
void	 admin_chat_resume(struct admin_chat *);
/* admin-stats.c: stats.get and the stats.tail subscription. */
int	 admin_stats_get(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_stats_tail(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_stats_untail(struct agent *, const struct cJSON *,
	    struct admin_reply *);
/* End a connection's stats.tail, if it has one. */
void	 admin_stats_clear(struct admin_session *);
int	 admin_usage_get(struct agent *, const struct cJSON *,
	    struct admin_reply *);
/*
 * admin-audit.c: the audit log of admin writes. admin_audit_new() looks at
 * the target before the method runs (free with admin_audit_free());
 * admin_audit_record() stores the entry after it succeeded.
 */
struct admin_peer {
	unsigned int	 uid;
	char		 user[64];
};
/* Fill peer for uid: its user name from the password database. */
void		 admin_peer_init(struct admin_peer *, unsigned int uid);
struct admin_audit;
struct admin_audit *admin_audit_new(struct agent *, const char *method,
		    const struct cJSON *params);
void		 admin_audit_free(struct admin_audit *);
int		 admin_audit_record(struct agent *, const struct admin_audit *,
		    const struct admin_peer *, const struct cJSON *result,
		    char *err, size_t errlen);
/* An event that changes no object; changes a JSON array or NULL. */
int		 admin_audit_event(struct agent *, const struct admin_peer *,
		    const char *method, const char *domain_id,
		    const char *domain, const char *target,
		    const char *changes, char *err, size_t errlen);
/* What changed between two result objects (NULL: none), never secrets. */
struct cJSON	*admin_audit_diff(const struct cJSON *before,
		    const struct cJSON *after);
int	 admin_audit_list(struct agent *, const struct cJSON *,
	    struct admin_reply *);

/* admin-token.c */
/* A token as results show it: secret only from token.create, full for lists. */
struct cJSON	*admin_token_json(const struct store_token *, const char *secret,
		    int full);
int	 admin_token_create(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_token_list(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_token_revoke(struct agent *, const struct cJSON *,
	    struct admin_reply *);

/* admin-guardrail.c */
struct cJSON	*admin_guardrail_json(const struct store_guardrail *);
int	 admin_guardrail_create(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_guardrail_list(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_guardrail_show(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_guardrail_edit(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_guardrail_delete(struct agent *, const struct cJSON *,
	    struct admin_reply *);
int	 admin_guardrail_test(struct agent *, const struct cJSON *,
	    struct admin_reply *);
/* Each key of a stored JSON array must name one of d's guardrails. */
int	 admin_guardrail_check_keys(struct agent *,
	    const struct store_domain *, const char *json, const char *param,
	    struct admin_reply *);

/*
 * health.c: provider health checks in the background, every
 * cfg.provider_check_interval seconds (NULL when that is 0). Free with
 * health_stop(), before the event base; health_stop(NULL) is a no-op.
 */
struct health;
struct health	*health_start(struct agent *);
void		 health_stop(struct health *);
/*
 * After SIGHUP changed cfg.provider_check_interval: h re-armed, or
 * stopped (0: NULL), or started (h NULL). Returns the health to keep.
 */
struct health	*health_configure(struct health *h, struct agent *);

/*
 * provider-attest.c: confidential routing. Providers with an
 * attest_policy are verified in the background (their evidence from
 * GET /attestation at their URL's root, a fresh nonce, the shared
 * verifier, bound to the connection's TLS key) at start, every
 * cfg.provider_attest_interval seconds and after provider_attest_kick();
 * verdicts live in memory only, so after a restart nothing is attested
 * until verified again (fail closed). Start and stop on the main loop.
 */
struct provider_attest;
struct provider_attest *provider_attest_start(struct agent *);
void		 provider_attest_stop(struct provider_attest *);
/* After SIGHUP changed cfg.provider_attest_interval: the timer re-armed. */
void		 provider_attest_configure(struct provider_attest *);
/* Verify every provider with a policy again, soon (after an edit). */
void		 provider_attest_kick(void);
struct provider_verdict {
	int		 attested;
	char		 error[512];	/* why not; "" when attested */
	char		 pin[64];	/* "sha256//BASE64" over https, or "" */
	int		 pin_ca;	/* and a CA must vouch too (tls_ca) */
	int64_t		 at;		/* unix seconds of the check; 0: none */
};
/*
 * The last verdict on a provider with this url and policy (NULL: none);
 * one made on another url or policy does not count: "not verified yet".
 * Safe from any thread.
 */
void		 provider_attest_verdict(const char *domain_id,
		    const char *name, const char *url, const char *policy,
		    struct provider_verdict *);
/* Is text a policy the agent can hold a provider to? 0, or -1 with err. */
int		 provider_attest_policy_check(const char *text, char *err,
		    size_t errlen);
/*
 * Whether a prompt of domain d may go to provider p: always, unless d
 * requires attested providers and p is not attested now. The one check
 * routing makes per candidate provider (primary, retry or fallback).
 */
int		 provider_admits(const struct reg_domain *d,
		    const struct reg_provider *p);

/*
 * fetch.c: what every blocking libcurl GET off the request path shares: a
 * body kept up to max bytes (NUL-terminated; overflow set past it, and the
 * transfer refused), and a transfer aborted once an int becomes nonzero.
 */
struct fetch_body {
	char	*data;		/* NULL until a byte came; caller frees */
	size_t	 len;
	size_t	 max;
	int	 overflow;
};
size_t	 fetch_body_write(char *, size_t, size_t, void *fetch_body);
int	 fetch_cancel_progress(void *cancel, curl_off_t, curl_off_t,
	    curl_off_t, curl_off_t);

/*
 * probe.c: a provider's health check and model list, one blocking call
 * (connect 3 s, total 5 s; probe-h1.c or libcurl), aborted early once
 * *cancel (when not NULL) becomes nonzero. Fills names (caller frees each
 * and the array) when names is not NULL. Returns 0, or -1 with err: never
 * a secret; PROBE_LOCAL when this machine ran out of descriptors or
 * memory, which says nothing about the provider.
 */
#define PROBE_LOCAL	-2
int	 probe_provider(const struct store_provider *, const struct vault *,
	    const int *cancel, char ***names, size_t *nnames, long *latency_ms,
	    char *err, size_t errlen);
/*
 * Whether the backend serves model_id (its list, else GET /models/{id} on
 * OpenAI-style servers): 0 yes, 1 no, -1 could not tell; err says why.
 * cancel as for probe_provider().
 */
int	 probe_model_served(const struct store_provider *,
	    const struct vault *, const char *model_id, const int *cancel,
	    char *err, size_t errlen);

/*
 * probe-h1.c: GET url (http:// to an IP address) with headers, blocking,
 * on a connection of its own: connect within connect_ms, all of it within
 * total_ms, stopped once *cancel (when not NULL) becomes nonzero. Returns
 * 0 with *status and the body in body (fetch_body_write), -1 with err,
 * PROBE_LOCAL when this machine is out of descriptors or memory, or
 * PROBE_H1_NOT_MINE (nothing done) when url is not one it takes.
 */
#define PROBE_H1_NOT_MINE	-3
int	 probe_h1_get(const char *url, const struct curl_slist *headers,
	    int connect_ms, int total_ms, const int *cancel,
	    struct fetch_body *body, long *status, char *err, size_t errlen);

#endif
