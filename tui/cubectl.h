/*
 * cubectl internals: what its files share. Sections follow the files that
 * define them (tmux.h style).
 */
#ifndef CUBE_CUBECTL_H
#define CUBE_CUBECTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "attest.h"

#define CUBECTL_VERSION		"0.1.0"

struct cJSON;
struct rpc_client;

/* args.c: flags, their value types, and a parsed command line. */
enum args_type {
	ARGS_SWITCH,		/* no value; the param becomes true */
	ARGS_FALSE,		/* no value; the param becomes false */
	ARGS_CONST,		/* no value; the param becomes choices[0] */
	ARGS_NULL,		/* no value; the param becomes null */
	ARGS_STRING,		/* non-empty (or ARGS_EMPTY), max bytes, charset */
	ARGS_ENUM,		/* one of choices */
	ARGS_ONOFF,		/* on|off, a bool */
	ARGS_INT,		/* integer min..max */
	ARGS_NUMBER,		/* decimal number min..max */
	ARGS_USD,		/* money_parse_usd, sent as its exact string */
	ARGS_DURATION,		/* 30d, 12h, 90m, 3600s, 1h30m; seconds min..max */
	ARGS_URL,		/* http:// or https:// */
	ARGS_LIST,		/* a,b,c: each as ARGS_STRING (or one of
				   choices); sent as an array */
	ARGS_CLEAR,		/* no value; the param becomes [] */
	ARGS_OBJECT,		/* k=v,k=v: each key one of .keys (a value
				   may not hold ','); sent as an object */
};

#define ARGS_REQUIRED	0x1	/* must be given */
#define ARGS_MULTI	0x2	/* may repeat; the param is an array */
#define ARGS_EMPTY	0x4	/* ARGS_STRING may be "" */
#define ARGS_NULLABLE	0x8	/* "none" sends null (clears a setting) */
#define ARGS_CHANGE	0x10	/* no param, but a change for CMD_EDIT */

/* One key of an ARGS_OBJECT value: "model-id=ID" sent as "model_id". */
struct args_key {
	const char		*name;		/* "model-id" */
	const char		*param;		/* "model_id" */
	enum args_type		 type;		/* ARGS_STRING or ARGS_INT */
	int			 flags;		/* ARGS_REQUIRED */
	const char		*charset;	/* ARGS_STRING: allowed bytes */
	int64_t			 min;
	int64_t			 max;
};

struct args_flag {
	const char		*name;		/* "--driver", "-d" */
	const char		*alias;		/* "--domain", or NULL */
	enum args_type		 type;
	const char		*metavar;	/* "URL"; NULL for switches */
	const char		*param;		/* JSON-RPC param, or NULL */
	int			 flags;
	int			 group;		/* nonzero: one flag per group */
	const char *const	*choices;	/* ARGS_ENUM, ARGS_CONST */
	const char		*charset;	/* ARGS_STRING: allowed bytes */
	int64_t			 min;
	int64_t			 max;
	const char		*help;
	const struct args_key	*keys;		/* ARGS_OBJECT, ends with
						   name NULL */
};

struct args_value {
	const struct args_flag	*flag;
	const char		*string;	/* as given, in argv */
	int64_t			 integer;	/* INT, DURATION s, USD nano, ONOFF */
	double			 number;	/* NUMBER */
	int			 null;		/* "none" given, ARGS_NULLABLE */
};

struct args {
	struct args_value	*values;
	size_t			 nvalues;
	char			**positional;	/* borrowed from argv */
	size_t			 npositional;
};

#define ARGS_STOP_AT_POSITIONAL	0x1	/* global options before the noun */

int	 args_parse(struct args *, const struct args_flag *,
	    const struct args_flag *, int, char **, int, char *, size_t);
int	 args_wants_help(const struct args_flag *, const struct args_flag *,
	    int, char **);
void	 args_free(struct args *);
int	 args_check_value(const struct args_flag *, const char *,
	    struct args_value *, char *, size_t);
const struct args_value *args_get(const struct args *, const char *);
int	 args_has(const struct args *, const char *);
int	 args_parse_duration(const char *, int64_t *, char *, size_t);
int	 args_takes_value(const struct args_flag *);
void	 args_flag_usage(const struct args_flag *, char *, size_t);
struct cJSON *args_value_json(const struct args_value *);

/* cubectl.c and client.c: one run of cubectl. */
enum cubectl_output {
	CUBECTL_TABLE,
	CUBECTL_JSON,
};

struct cubectl {
	const char		*socket;	/* -s, $CUBE_SOCKET, or default */
	char			*socket_default;
	char			*where;		/* "at SOCKET", "on HOST (SOCKET)" */
	const char		*host;		/* -H or $CUBE_HOST */
	const char		*ssh_config;	/* -F */
	const char		*identity;	/* -i */
	enum cubectl_output	 output;	/* -o */
	int			 timeout_ms;
	struct rpc_client	*rpc;		/* connected on first call */
	char			*seal_key;	/* status.seal_public_key, once */
	struct cJSON		*document;	/* apply's, read once; owned */
};

/* client.c */
void	 client_init(struct cubectl *);
void	 client_apply_globals(struct cubectl *, const struct args *);
/* Connect before the first call (to set a notification callback first). */
int	 client_open(struct cubectl *);
int	 client_call(struct cubectl *, const char *, struct cJSON *,
	    struct cJSON **);
void	 client_free(struct cubectl *);

/* output.c: tables for people, JSON for scripts. */
enum output_format {
	OUTPUT_PLAIN,		/* strings as they are, bools true/false */
	OUTPUT_ONOFF,		/* bools as on/off */
	OUTPUT_YESNO,		/* bools as yes/no */
	OUTPUT_OKFAILED,	/* bools as ok/FAILED */
	OUTPUT_CLOCK,		/* "...T07:13:26.123Z" as 07:13:26 */
	OUTPUT_COUNT,		/* an array as how many it holds */
};

struct output_field {
	const char		*label;	/* NULL ends a field list */
	const char		*path;	/* "pricing.input" */
	enum output_format	 format;
};

void	 output_json(const struct cJSON *);
void	 output_table(const struct output_field *, const struct cJSON *);
void	 output_object(const struct output_field *, const struct cJSON *);
void	 output_line(const struct output_field *, const struct cJSON *);
char	*output_value(const struct cJSON *, enum output_format);
const struct cJSON *output_lookup(const struct cJSON *, const char *);
void	 output_error(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	 output_warnings(const struct cJSON *);

/*
 * document.c: what cubectl export writes and cubectl apply reads,
 * {"cube_export": DOCUMENT_VERSION, "domains": [...]}. Results are new
 * cJSON trees the caller frees with cJSON_Delete (NULL: none).
 */
#define DOCUMENT_VERSION	1
struct cJSON	*document_new(void);
struct cJSON	*document_domain_new(const struct cJSON *,
		    const struct cJSON *, const struct cJSON *,
		    const struct cJSON *, const struct cJSON *);
struct cJSON	*document_parse(const char *, size_t, char *, size_t);
int		 document_check(const struct cJSON *, const struct cJSON *,
		    char *, size_t);
const struct cJSON *document_find(const struct cJSON *, const char *,
		    const char *);
struct cJSON	*document_domain_changes(const struct cJSON *,
		    const struct cJSON *);
struct cJSON	*document_model_changes(const struct cJSON *,
		    const struct cJSON *);
struct cJSON	*document_model_settings(const struct cJSON *);
struct cJSON	*document_guardrail_changes(const struct cJSON *,
		    const struct cJSON *);
struct cJSON	*document_guardrail_settings(const struct cJSON *);
void		 document_path(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * hosts.c: lists of agents, for cubectl -H and --hosts-file and for
 * cube-tui. A host is [user@]host[:port] (as -H takes) or "local".
 */
#define HOSTS_MAX		64
#define HOSTS_NAME_MAX		255
#define HOSTS_FILE_MAX		(64 * 1024)	/* bytes of a hosts file */

struct hosts {
	char	*names[HOSTS_MAX];	/* owned */
	size_t	 n;
};

int	 hosts_valid(const char *, size_t);
/*
 * Parse a hosts file's text: one [user@]host[:port] or "local" a line,
 * blank lines and "#" comments skipped, surrounding white space trimmed.
 * Fills names (at most max, each a new string the caller frees) and
 * returns how many, or -1 with a message in err for a bad line.
 */
int	 hosts_parse(const char *, char **, size_t, char *, size_t);
/* hosts_parse of the file at path (bounded); err names the file. */
int	 hosts_read(const char *, char **, size_t, char *, size_t);
/*
 * Add to h: one host (len bytes), each of a comma-separated list, or
 * each of a hosts file. A host named twice or more than HOSTS_MAX are
 * refused; what ("-H") starts the message. Returns 0, or -1 with err.
 */
int	 hosts_add(struct hosts *, const char *, size_t, const char *, char *,
	    size_t);
int	 hosts_add_list(struct hosts *, const char *, const char *, char *,
	    size_t);
int	 hosts_add_file(struct hosts *, const char *, char *, size_t);
/* Free the names; h is empty again. */
void	 hosts_clear(struct hosts *);
/* $XDG_CONFIG_HOME/cube/hosts or ~/.config/cube/hosts; caller frees. */
char	*hosts_path(void);

/* file.c */
int	 file_read(const char *, size_t, char **, size_t *, char *, size_t);

/* cmd.c: the command table and everything generated from it. */

/* What names may hold (docs/admin-api.md), for ARGS_STRING's charset. */
#define CHARSET_DOMAIN	"abcdefghijklmnopqrstuvwxyz0123456789-_"
#define CHARSET_NAME	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"abcdefghijklmnopqrstuvwxyz0123456789._-"
#define CHARSET_KEY	CHARSET_NAME ":/"

extern const char *const	 cmd_drivers[];
extern const char *const	 cmd_budget_periods[];
extern const char *const	 cmd_categories[];

enum cmd_output {
	CMD_OUTPUT_OBJECT,	/* an object, as "label  value" lines */
	CMD_OUTPUT_LIST,	/* an array of objects, as a table */
	CMD_OUTPUT_DELETED,	/* {"deleted": true}: "deleted NOUN ARG" */
};

#define CMD_EDIT	0x1	/* needs at least one change flag */
#define CMD_NEW		0x2	/* the positional names an object to create */
#define CMD_MESSAGE	0x4	/* a last positional, free text (model chat) */
#define CMD_ARG_OPTIONAL 0x8	/* the positional may be left out */
#define CMD_FLEET	0x10	/* runs over several hosts (fleet.c) */

struct cmd_entry {
	const char			*noun;
	const char			*verb;	/* NULL: the noun alone */
	const char			*method;
	const struct args_flag		*arg;	/* the positional, or NULL */
	const struct args_flag		*flags;	/* ends with name NULL */
	int				 cflags;
	enum cmd_output			 output;
	const struct output_field	*fields;
	/* NULL: cmd_exec_default, call method and show the result. */
	int				(*exec)(struct cubectl *,
					    const struct cmd_entry *,
					    const struct args *);
	const char			*help;
};

struct cmd_noun {
	const char	*noun;
	const char	*help;
};

extern const struct cmd_entry	 cmd_table[];
extern const size_t		 cmd_table_size;
extern const struct cmd_noun	 cmd_nouns[];
extern const size_t		 cmd_nouns_size;
extern const struct args_flag	 cmd_global_flags[];

int	 cmd_lookup(int, char **, const struct cmd_entry **, int *, char *,
	    size_t);
int	 cmd_parse(const struct cmd_entry *, int, char **, struct args *,
	    char *, size_t);
struct cJSON *cmd_params(const struct cmd_entry *, const struct args *);
void	 cmd_synopsis(const struct cmd_entry *, char *, size_t);
void	 cmd_print_usage(FILE *);
void	 cmd_print_noun_help(FILE *, const char *);
void	 cmd_print_help(FILE *, const struct cmd_entry *);
int	 cmd_usage_error(const struct cmd_entry *, const char *);
int	 cmd_exec_default(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_output(struct cubectl *, const struct cmd_entry *,
	    const struct args *, struct cJSON *);

/*
 * fleet.c: one command over several hosts, a child process each (at most
 * parallel at once, each stopped after timeout_s), output per host in the
 * order given, then a summary; the exit status is the first failed
 * host's.
 */
#define FLEET_PARALLEL		8
#define FLEET_PARALLEL_MAX	HOSTS_MAX
#define FLEET_TIMEOUT_S		600
#define FLEET_OUTPUT_MAX	(64 * 1024 * 1024)	/* bytes per host */

struct fleet_options {
	size_t		parallel;	/* --parallel */
	int64_t		timeout_s;	/* --timeout */
};

int	 fleet_hosts(struct cubectl *, const struct args *const *, size_t,
	    struct hosts *, struct fleet_options *, char *, size_t);
int	 fleet_run(struct cubectl *, const struct cmd_entry *,
	    const struct args *, const struct hosts *,
	    const struct fleet_options *);

/* complete.c: the table for shell completions (cubectl __complete). */
void	 complete_print(FILE *);

/*
 * cmd-status.c, cmd-domain.c, cmd-provider.c, cmd-model.c, cmd-token.c,
 * cmd-guardrail.c
 */
extern const struct output_field	 cmd_status_fields[];
extern const struct output_field	 cmd_domain_columns[];
extern const struct output_field	 cmd_domain_fields[];
extern const struct output_field	 cmd_provider_columns[];
extern const struct output_field	 cmd_provider_fields[];
extern const struct output_field	 cmd_provider_test_fields[];
extern const struct output_field	 cmd_model_columns[];
extern const struct output_field	 cmd_model_fields[];
extern const struct output_field	 cmd_model_deployment_columns[];
const struct args_flag *cmd_model_deployment_flag(void);
int	 cmd_model_check_deploy(const struct args *, char *, size_t);
int	 cmd_model_check_edit(const struct args *, char *, size_t);
int	 cmd_model_exec(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
void	 cmd_model_output(const struct cJSON *);
extern const struct output_field	 cmd_guardrail_columns[];
extern const struct output_field	 cmd_guardrail_fields[];
extern const struct output_field	 cmd_guardrail_test_fields[];
extern const struct output_field	 cmd_token_columns[];
extern const struct output_field	 cmd_token_fields[];
extern const struct output_field	 cmd_audit_columns[];
int	 cmd_provider_write(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_provider_seal(struct cubectl *, int, const char *, const char *,
	    struct cJSON *);
int	 cmd_provider_seal_key(struct cubectl *, const unsigned char *, size_t,
	    struct cJSON *);
int	 cmd_provider_test(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_provider_models(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_token_create(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_guardrail_test(struct cubectl *, const struct cmd_entry *,
	    const struct args *);

int	 cmd_status_seal_key(struct cubectl *);

/* verify-policy.c: a policy file, flags over it, collateral files. */
#define VERIFY_COLLATERAL_MAX	(1024 * 1024)	/* bytes of each file */
#define VERIFY_CRLS_MAX		32	/* CRL files: policy and flags */

enum verify_collateral {
	VERIFY_TCB_INFO,
	VERIFY_QE_IDENTITY,
	VERIFY_COLLATERAL_CHAIN,
	VERIFY_COLLATERAL_KINDS
};

struct verify_file {
	char	*text;		/* owned */
	size_t	 len;
};

struct verify_policy {
	struct attest_policy		policy;
	struct attest_policy_file	file;	/* zero without a file */
	unsigned char			min_tcb[ATTEST_TCB_MAX];	/* flag's */
	struct verify_file		collateral[VERIFY_COLLATERAL_KINDS];
	char				*crls;	/* PEM, every file's */
	size_t				 crls_len;
	size_t				 ncrls;
};

void	 verify_policy_init(struct verify_policy *);
void	 verify_policy_free(struct verify_policy *);
int	 verify_policy_load(struct verify_policy *, const char *, char *,
	    size_t);
int	 verify_policy_collateral(struct verify_policy *,
	    enum verify_collateral, const char *, char *, size_t);
int	 verify_policy_crl(struct verify_policy *, const char *, char *,
	    size_t);
void	 verify_policy_input(const struct verify_policy *,
	    struct attest_input *);

/*
 * attest-url.c: the evidence for nonce from GET /attestation over one TLS
 * connection to url (https://HOST:PORT), and the SHA-256 of the SPKI of
 * the certificate that connection used; with ca (a policy's tls_ca), a CA
 * the system trusts must vouch for that certificate and the host too. An
 * exit status; *doc (caller deletes) on EXIT_OK, else err.
 */
int	 attest_url_fetch(const char *, const unsigned char *, size_t, int,
	    struct cJSON **, unsigned char[32], char *, size_t);
/* Its parts, for cubectl connect: -1 with err. */
#define ATTEST_URL_HOST_MAX	255
int	 attest_url_split(const char *, char *, size_t, char *, size_t,
	    char *, size_t);
int	 attest_url_connect(const char *, const char *, char *, size_t);
struct ssl_st;
int	 attest_url_peer_spki(struct ssl_st *, unsigned char[32], char *,
	    size_t);
/* tls_ca on a connection whose context has the system's CAs: 0, or -1. */
int	 attest_url_require_ca(struct ssl_st *, const char *);
/* A tls_ca handshake refused for the certificate: 1 with why in err. */
int	 attest_url_ca_refused(struct ssl_st *, const char *, const char *,
	    char *, size_t);

/* cmd-verify.c */
extern const struct output_field	 cmd_verify_fields[];
int	 cmd_verify(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_verify_policy(const struct args *, size_t, struct verify_policy *,
	    char *, size_t);
int	 cmd_verify_hex(const struct args *, const char *, size_t, size_t,
	    unsigned char *, size_t *, char *, size_t);
struct cJSON *cmd_verify_json(const struct attest_result *);
char	*cmd_verify_failed(const struct attest_result *, char *, size_t);
int	 cmd_verify_show(struct cubectl *, const struct output_field *,
	    struct cJSON *, const struct attest_result *);

/* cmd-attest.c */
int	 cmd_attest(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_attest_live_policy(const struct args *,
	    const struct verify_policy *, struct attest_live_policy *,
	    struct attest_input *, char **, char *, size_t);

/* cmd-connect.c */
int	 cmd_connect(struct cubectl *, const struct cmd_entry *,
	    const struct args *);

/* cmd-receipt.c */
int	 cmd_receipt_verify(struct cubectl *, const struct cmd_entry *,
	    const struct args *);

/* cmd-chat.c */
int	 cmd_chat(struct cubectl *, const struct cmd_entry *,
	    const struct args *);

/* cmd-logs.c */
extern const struct output_field	 cmd_logs_columns[];
int	 cmd_logs(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_usage(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
/* cmd-stats.c */
extern const char *const	 cmd_stats_windows[];
int	 cmd_stats(struct cubectl *, const struct cmd_entry *,
	    const struct args *);

/* cmd-export.c, cmd-apply.c */
int	 cmd_export_document(struct cubectl *, const char *, struct cJSON **);
int	 cmd_export(struct cubectl *, const struct cmd_entry *,
	    const struct args *);
int	 cmd_apply_load(const struct args *, struct cJSON **);
int	 cmd_apply(struct cubectl *, const struct cmd_entry *,
	    const struct args *);

/* cmd-backup.c */
int	 cmd_backup(struct cubectl *, const struct cmd_entry *,
	    const struct args *);

#endif
