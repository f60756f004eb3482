/*
 * cube-agent internals: what the agent's files share. Sections follow the
 * files that define them (tmux.h style).
 */
#ifndef CUBE_AGENT_H
#define CUBE_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#define CUBE_VERSION		"0.1.0"

struct event_base;
struct evhttp_request;
struct cJSON;

/* config.c */
struct agent_config {
	char	*listen;		/* ADDR:PORT for inference */
	char	*data_dir;
	char	*admin_socket;
	char	*tee;			/* auto|none|sim|... */
	char	*tls_cert;
	char	*tls_key;
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
	int	 drain_timeout_ms;	/* SIGTERM grace for in-flight requests */
};
void	 config_defaults(struct agent_config *);
int	 config_load_file(struct agent_config *, const char *path, char *err,
	    size_t errlen);
int	 config_set(struct agent_config *, const char *key, const char *value,
	    char *err, size_t errlen);
void	 config_free(struct agent_config *);

/* agent.c: the running daemon, shared read-only with workers */
struct agent {
	struct agent_config	 cfg;
	struct vault		*vault;
	struct store		*store;
	struct event_base	*base;		/* main loop: admin, signals */
	time_t			 started;
};

/*
 * vault.c: the agent's secret keys, created on first start in the data
 * directory (mode 0600) and held in sodium_malloc memory.
 */
#define VAULT_SEAL_PUBLICKEY_BYTES	32	/* crypto_box_PUBLICKEYBYTES */
#define VAULT_TOKEN_HASH_BYTES		32
struct vault;
struct vault	*vault_open(const char *data_dir, char *err, size_t errlen);
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
/* Keyed BLAKE2b of an API token: the only form in which tokens are kept. */
void	 vault_token_hash(const struct vault *, const char *token, size_t len,
	    unsigned char out[VAULT_TOKEN_HASH_BYTES]);

/* token.c: API token secrets and ids. */
#define TOKEN_PREFIX		"cube_"
#define TOKEN_SECRET_BYTES	32
#define TOKEN_LEN		(5 + 43)	/* prefix + base64url(32), no padding */
void	 token_generate(char out[TOKEN_LEN + 1]);
/* Cheap shape check before hashing: prefix, length, alphabet. */
int	 token_well_formed(const char *token, size_t len);

/*
 * registry.c: the immutable in-memory snapshot of domains, providers,
 * models and token hashes that the request path reads. Built by the admin
 * side from the store, published atomically; readers hold a reference for
 * the life of a request and never see a half-made change.
 */
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
};

struct reg_model {
	char			*key;
	size_t			 key_len;
	char			*name;
	char			*model_id;
	char			*model_id_json;	/* model_id as a JSON string, quoted */
	const struct reg_provider *provider;
	enum model_category	 category;
	int			 tools;
	int			 vision;
	int64_t			 price_input;	/* nano-USD per 1M tokens */
	int64_t			 price_output;
	int64_t			 price_cached;
	int			 active;
	int			 has_temperature;
	double			 temperature;
	int64_t			 max_tokens;	/* 0: unset */
	char			*system_prompt;	/* NULL: unset */
	char			*url_chat;	/* base_url + "/chat/completions" */
	char			*url_completions;
	char			*url_embeddings;
};

struct reg_domain {
	char			 id[37];	/* UUID, lower-case */
	char			*name;
	struct reg_model	*models;	/* sorted by key (strcmp order) */
	size_t			 nmodels;
	int			 log_content;
	char			*models_json;	/* body of GET .../v1/models */
	size_t			 models_json_len;
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

/* Build a snapshot from the store; opens sealed credentials with the vault. */
struct registry	*registry_build(struct store *, const struct vault *,
		    char *err, size_t errlen);
/* Make a new snapshot current; the old one is freed when its last reader leaves. */
void		 registry_publish(struct registry *);
/* The current snapshot with a reference held; never NULL after the first publish. */
struct registry	*registry_acquire(void);
void		 registry_release(struct registry *);
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

/* store.c: SQLite (WAL) state in the data directory; admin thread only. */
struct store;
struct store	*store_open(const char *data_dir, char *err, size_t errlen);
void		 store_close(struct store *);

/* admin.c: JSON-RPC 2.0 on the admin unix socket, served on the main loop. */
struct admin;
struct admin	*admin_start(struct agent *, char *err, size_t errlen);
void		 admin_stop(struct admin *);

#endif
