/*
 * The command table: every noun and verb with its admin method, positional
 * argument, flags and output. Lookup, parsing, JSON params, synopses,
 * --help and the shell completions' words (complete.c) are all generated
 * from it; a test checks the man page against it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define CMD_WRAP	78	/* columns for synopses */


#define DAY		86400

static const char *const cmd_outputs[] = { "table", "json", NULL };
const char *const cmd_drivers[] = { "openai", "ollama", "vllm", NULL };
const char *const cmd_categories[] = { "llm", "embedding", NULL };
static const char *const cmd_inactive[] = { "inactive", NULL };
static const char *const cmd_jwt_algs[] = { "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", NULL };
static const char *const cmd_usage_by[] = { "model", "token", "hour", "day",
	NULL };
static const char *const cmd_guard_kinds[] = { "pii", "regex", "keywords",
	"length", NULL };
static const char *const cmd_guard_actions[] = { "block", "redact", "log",
	NULL };
const char *const cmd_budget_periods[] = { "day", "week", "month", "none",
	NULL };
static const char *const cmd_guard_types[] = { "email", "phone", "card",
	"iban", "ssn", "ipv4", "secret", NULL };

const struct args_flag cmd_global_flags[] = {
	{ .name = "-H", .type = ARGS_STRING, .metavar = "[USER@]HOST[:PORT]",
	  .flags = ARGS_MULTI,
	  .help = "reach the agent on HOST over SSH (default: $CUBE_HOST);"
	      " several (HOST,HOST or -H again) run status, apply and export"
	      " on each" },
	{ .name = "--hosts-file", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "run status, apply or export on each host of FILE (one a"
	      " line, as cube-tui's hosts file)" },
	{ .name = "--parallel", .type = ARGS_INT, .metavar = "N", .min = 1,
	  .max = FLEET_PARALLEL_MAX,
	  .help = "with several hosts: at most N at once (default 8)" },
	{ .name = "--timeout", .type = ARGS_DURATION, .metavar = "DURATION",
	  .min = 1, .max = 86400,
	  .help = "with several hosts: stop a host not done within DURATION"
	      " (default 10m)" },
	{ .name = "-s", .type = ARGS_STRING, .metavar = "SOCKET",
	  .help = "the agent's admin socket, on HOST with -H (default:"
	      " $CUBE_SOCKET, else your agent's, else /run/cube/agent.sock)" },
	{ .name = "-F", .type = ARGS_STRING, .metavar = "SSH_CONFIG",
	  .help = "ssh configuration file, as ssh -F" },
	{ .name = "-i", .type = ARGS_STRING, .metavar = "IDENTITY",
	  .help = "ssh identity file, as ssh -i" },
	{ .name = "-o", .type = ARGS_ENUM, .choices = cmd_outputs,
	  .help = "table for people (default), json for scripts" },
	{ .name = "-h", .alias = "--help", .type = ARGS_SWITCH,
	  .help = "show help and exit" },
	{ .name = "--version", .type = ARGS_SWITCH,
	  .help = "show the version and exit" },
	{ .name = NULL }
};

/* --- positional arguments ------------------------------------------------ */

static const struct args_flag cmd_arg_domain_name = {
	.name = "NAME", .type = ARGS_STRING, .metavar = "NAME", .param = "name",
	.charset = CHARSET_DOMAIN, .max = 63,
	.help = "1-63 of a-z, 0-9, - and _"
};
static const struct args_flag cmd_arg_domain = {
	.name = "DOMAIN", .type = ARGS_STRING, .metavar = "DOMAIN",
	.param = "domain", .help = "the domain's id or name"
};
static const struct args_flag cmd_arg_provider = {
	.name = "NAME", .type = ARGS_STRING, .metavar = "NAME", .param = "name",
	.charset = CHARSET_NAME, .max = 63,
	.help = "the provider: 1-63 of A-Z, a-z, 0-9, ., _ and -"
};
static const struct args_flag cmd_arg_model = {
	.name = "KEY", .type = ARGS_STRING, .metavar = "KEY", .param = "key",
	.charset = CHARSET_KEY, .max = 128, .help = "the model's key"
};
static const struct args_flag cmd_arg_guardrail_new = {
	.name = "KEY", .type = ARGS_STRING, .metavar = "KEY", .param = "key",
	.charset = CHARSET_KEY, .max = 128,
	.help = "the guardrail: 1-128 of A-Z, a-z, 0-9, ., _, :, / and -"
};
static const struct args_flag cmd_arg_guardrail = {
	.name = "KEY", .type = ARGS_STRING, .metavar = "KEY", .param = "key",
	.charset = CHARSET_KEY, .max = 128, .help = "the guardrail's key"
};
static const struct args_flag cmd_arg_token = {
	.name = "ID", .type = ARGS_STRING, .metavar = "ID", .param = "id",
	.help = "the token's id (tok_...)"
};

/* --- flags ---------------------------------------------------------------- */

#define FLAG_DOMAIN \
	{ .name = "-d", .alias = "--domain", .type = ARGS_STRING, \
	  .metavar = "DOMAIN", .param = "domain", .flags = ARGS_REQUIRED, \
	  .help = "the domain (id or name)" }
#define FLAG_END	{ .name = NULL }

static const struct args_flag cmd_no_flags[] = {
	FLAG_END
};

static const struct args_flag cmd_in_domain_flags[] = {
	FLAG_DOMAIN,
	FLAG_END
};

#define FLAG_CORS_ORIGIN \
	{ .name = "--cors-origin", .type = ARGS_STRING, .metavar = "ORIGIN", \
	  .param = "cors_origins", .flags = ARGS_MULTI, .max = 256, \
	  .group = 1, \
	  .help = "let browser pages of ORIGIN (https://app.example.com," \
	      " or *) call the API; repeat for more" }

#define FLAG_REQUIRE_ATTESTED(g) \
	{ .name = "--require-attested", .type = ARGS_SWITCH, \
	  .param = "require_attested", .group = (g), \
	  .help = "send prompts only to attested providers" }

static const struct args_flag cmd_domain_create_flags[] = {
	FLAG_CORS_ORIGIN,
	FLAG_REQUIRE_ATTESTED(0),
	FLAG_END
};

static const struct args_flag cmd_domain_edit_flags[] = {
	{ .name = "--log-content", .type = ARGS_ONOFF, .param = "log_content",
	  .help = "store prompt and completion text in traces" },
	{ .name = "--trace-retention", .type = ARGS_INT, .metavar = "DAYS",
	  .param = "trace_retention_days", .min = 1, .max = 3650,
	  .help = "keep traces this many days (1-3650)" },
	FLAG_CORS_ORIGIN,
	{ .name = "--no-cors", .type = ARGS_NULL, .param = "cors_origins",
	  .group = 1, .help = "allow no browser origin (the default)" },
	/* JWT/OIDC (jwt.c): members of the "jwt" object, merged agent-side. */
	{ .name = "--jwt-issuer", .type = ARGS_STRING, .metavar = "ISS",
	  .param = "jwt.issuer", .max = 512,
	  .help = "accept JWTs whose iss is ISS, exactly" },
	{ .name = "--jwt-audience", .type = ARGS_STRING, .metavar = "AUD",
	  .param = "jwt.audience", .max = 512,
	  .help = "JWTs must name AUD in aud" },
	{ .name = "--jwt-jwks-file", .type = ARGS_STRING, .metavar = "FILE",
	  .param = "jwt.jwks_file", .max = 1024, .group = 2,
	  .help = "the JWKS, a file on the agent's host (absolute path)" },
	{ .name = "--jwt-jwks-url", .type = ARGS_STRING, .metavar = "URL",
	  .param = "jwt.jwks_url", .max = 2048, .group = 2,
	  .help = "the JWKS at URL (https, or http to 127.0.0.1), fetched in"
	      " the background" },
	{ .name = "--jwt-alg", .type = ARGS_ENUM, .metavar = "ALG",
	  .param = "jwt.algorithms", .flags = ARGS_MULTI,
	  .choices = cmd_jwt_algs,
	  .help = "an algorithm JWTs may use; repeat for more"
	      " (default RS256)" },
	{ .name = "--jwt-leeway", .type = ARGS_INT, .metavar = "SECONDS",
	  .param = "jwt.leeway", .min = 0, .max = 600,
	  .help = "clock skew allowed for exp, nbf, iat (default 60)" },
	{ .name = "--jwt-refresh", .type = ARGS_INT, .metavar = "SECONDS",
	  .param = "jwt.jwks_refresh", .min = 60, .max = 86400,
	  .help = "fetch a JWKS URL this often (default 600)" },
	{ .name = "--jwt-domain-claim", .type = ARGS_STRING,
	  .metavar = "CLAIM", .param = "jwt.domain_claim", .max = 64,
	  .flags = ARGS_NULLABLE,
	  .help = "the claim that must name this domain (none: no claim)" },
	{ .name = "--jwt-rpm-claim", .type = ARGS_STRING, .metavar = "CLAIM",
	  .param = "jwt.claims.rpm", .max = 64, .flags = ARGS_NULLABLE,
	  .help = "the claim holding a subject's requests a minute" },
	{ .name = "--jwt-tpm-claim", .type = ARGS_STRING, .metavar = "CLAIM",
	  .param = "jwt.claims.tpm", .max = 64, .flags = ARGS_NULLABLE,
	  .help = "the claim holding a subject's tokens a minute" },
	{ .name = "--jwt-budget-claim", .type = ARGS_STRING,
	  .metavar = "CLAIM", .param = "jwt.claims.budget", .max = 64,
	  .flags = ARGS_NULLABLE,
	  .help = "the claim holding a subject's budget in USD" },
	{ .name = "--jwt-models-claim", .type = ARGS_STRING,
	  .metavar = "CLAIM", .param = "jwt.claims.models", .max = 64,
	  .flags = ARGS_NULLABLE,
	  .help = "the claim listing the model keys a subject may use" },
	{ .name = "--jwt-rpm", .type = ARGS_INT, .metavar = "N",
	  .param = "jwt.rpm", .min = 0, .max = 1000000000,
	  .help = "requests a minute for JWTs without the claim"
	      " (0: no limit)" },
	{ .name = "--jwt-tpm", .type = ARGS_INT, .metavar = "N",
	  .param = "jwt.tpm", .min = 0, .max = 1000000000,
	  .help = "tokens a minute for JWTs without the claim (0: no limit)" },
	{ .name = "--no-jwt", .type = ARGS_NULL, .param = "jwt",
	  .help = "accept no JWTs (the default)" },
	FLAG_REQUIRE_ATTESTED(3),
	{ .name = "--no-require-attested", .type = ARGS_FALSE,
	  .param = "require_attested", .group = 3,
	  .help = "route to any provider (the default)" },
	FLAG_END
};

/* A policy file (cube-attest-policy(5)), read by cmd_provider_write. */
#define FLAG_ATTEST_POLICY \
	{ .name = "--attest-policy", .type = ARGS_STRING, .metavar = "FILE", \
	  .flags = ARGS_CHANGE, .group = 3, .max = 4096, \
	  .help = "hold the provider's evidence to the policy in FILE" }

/* The API key, read and sealed by cmd_provider_write, never sent as is. */
#define FLAGS_PROVIDER_KEY \
	{ .name = "--api-key-stdin", .type = ARGS_SWITCH, \
	  .flags = ARGS_CHANGE, .group = 1, \
	  .help = "read the API key from standard input, seal it" }, \
	{ .name = "--api-key-file", .type = ARGS_STRING, .metavar = "FILE", \
	  .flags = ARGS_CHANGE, .group = 1, \
	  .help = "read the API key from FILE, seal it" }

static const struct args_flag cmd_provider_add_flags[] = {
	FLAG_DOMAIN,
	{ .name = "--driver", .type = ARGS_ENUM, .param = "driver",
	  .flags = ARGS_REQUIRED, .choices = cmd_drivers,
	  .help = "openai: any OpenAI-compatible server; vllm; ollama" },
	{ .name = "--url", .type = ARGS_URL, .metavar = "URL", .param = "url",
	  .flags = ARGS_REQUIRED,
	  .help = "API base (http://host:8000/v1), or ollama's root" },
	FLAGS_PROVIDER_KEY,
	{ .name = "--responses-api", .type = ARGS_SWITCH,
	  .param = "responses_api",
	  .help = "the backend serves /v1/responses: pass it through" },
	FLAG_ATTEST_POLICY,
	FLAG_END
};

static const struct args_flag cmd_provider_edit_flags[] = {
	FLAG_DOMAIN,
	{ .name = "--driver", .type = ARGS_ENUM, .param = "driver",
	  .choices = cmd_drivers,
	  .help = "openai: any OpenAI-compatible server; vllm; ollama" },
	{ .name = "--url", .type = ARGS_URL, .metavar = "URL", .param = "url",
	  .help = "API base (http://host:8000/v1), or ollama's root" },
	FLAGS_PROVIDER_KEY,
	{ .name = "--no-api-key", .type = ARGS_NULL, .param = "credential",
	  .group = 1, .help = "remove the provider's API key" },
	{ .name = "--responses-api", .type = ARGS_SWITCH,
	  .param = "responses_api", .group = 2,
	  .help = "the backend serves /v1/responses: pass it through" },
	{ .name = "--no-responses-api", .type = ARGS_FALSE,
	  .param = "responses_api", .group = 2,
	  .help = "translate /v1/responses to chat completions (default)" },
	FLAG_ATTEST_POLICY,
	{ .name = "--no-attest-policy", .type = ARGS_NULL,
	  .param = "attest_policy", .group = 3,
	  .help = "hold the provider to no policy: never attested" },
	FLAG_END
};

/* Skip the pre-flight check that the backend serves the model id. */
#define FLAG_FORCE \
	{ .name = "--force", .type = ARGS_SWITCH, .param = "force", \
	  .help = "deploy even if the backend does not list the model id" }

/*
 * Flags model deploy and model edit share; edit groups --guard-in with
 * --no-guard-in (and out), deploy has no groups for them (0).
 */
#define FLAGS_MODEL_SETTINGS(ingroup, outgroup) \
	{ .name = "--category", .type = ARGS_ENUM, .param = "category", \
	  .choices = cmd_categories, .help = "llm (default) or embedding" }, \
	{ .name = "--tools", .type = ARGS_SWITCH, .param = "tools", \
	  .group = 1, .help = "the model can call tools" }, \
	{ .name = "--vision", .type = ARGS_SWITCH, .param = "vision", \
	  .group = 2, .help = "the model takes images" }, \
	{ .name = "--price-input", .type = ARGS_USD, .metavar = "USD", \
	  .param = "price_input", .help = "USD per 1M prompt tokens" }, \
	{ .name = "--price-output", .type = ARGS_USD, .metavar = "USD", \
	  .param = "price_output", .help = "USD per 1M completion tokens" }, \
	{ .name = "--price-cached", .type = ARGS_USD, .metavar = "USD", \
	  .param = "price_cached", .help = "USD per 1M cached prompt tokens" }, \
	{ .name = "--temperature", .type = ARGS_NUMBER, .metavar = "T", \
	  .param = "temperature", .flags = ARGS_NULLABLE, .min = 0, .max = 2, \
	  .help = "default temperature, 0-2 (none: unset)" }, \
	{ .name = "--max-tokens", .type = ARGS_INT, .metavar = "N", \
	  .param = "max_tokens", .flags = ARGS_NULLABLE, .min = 1, \
	  .max = 10000000, .help = "default max_tokens (none: unset)" }, \
	{ .name = "--system-prompt", .type = ARGS_STRING, .metavar = "S", \
	  .param = "system_prompt", .flags = ARGS_EMPTY, .max = 65536, \
	  .help = "system prompt added when the request has none" }, \
	{ .name = "--guard-in", .type = ARGS_STRING, .metavar = "KEY", \
	  .param = "guard_in", .flags = ARGS_MULTI, .charset = CHARSET_KEY, \
	  .group = ingroup, .help = "input guardrail" }, \
	{ .name = "--guard-out", .type = ARGS_STRING, .metavar = "KEY", \
	  .param = "guard_out", .flags = ARGS_MULTI, .charset = CHARSET_KEY, \
	  .group = outgroup, .help = "output guardrail" }, \
	{ .name = "--description", .type = ARGS_STRING, .metavar = "S", \
	  .param = "description", .flags = ARGS_EMPTY, .max = 4096, \
	  .help = "free text for operators" }, \
	{ .name = "--inactive", .type = ARGS_CONST, .param = "status", \
	  .choices = cmd_inactive, .help = "status inactive: not served" }

/* --deployment provider=P,model-id=ID[,weight=N][,priority=N] */
static const struct args_key cmd_deployment_keys[] = {
	{ .name = "provider", .param = "provider", .type = ARGS_STRING,
	  .flags = ARGS_REQUIRED, .charset = CHARSET_NAME, .max = 63 },
	{ .name = "model-id", .param = "model_id", .type = ARGS_STRING,
	  .flags = ARGS_REQUIRED, .max = 512 },
	{ .name = "weight", .param = "weight", .type = ARGS_INT,
	  .min = 1, .max = 1000 },
	{ .name = "priority", .param = "priority", .type = ARGS_INT,
	  .min = 0, .max = 100 },
	{ .name = NULL }
};

/*
 * Where and how a model is served, deploy's and edit's: its deployments,
 * the models to fall back to (edit groups --fallback with --no-fallbacks),
 * its retries.
 */
#define FLAG_DEPLOYMENT \
	{ .name = "--deployment", .type = ARGS_OBJECT, \
	  .metavar = "provider=P,model-id=ID[,weight=N][,priority=N]", \
	  .param = "deployments", .flags = ARGS_MULTI, \
	  .keys = cmd_deployment_keys, \
	  .help = "serve it from provider P's model ID, weight 1-1000" \
	      " (default 1), priority 0-100 (default 0, tried first);" \
	      " instead of --provider and --model-id" }
#define FLAG_FALLBACK(group_) \
	{ .name = "--fallback", .type = ARGS_STRING, .metavar = "KEY", \
	  .param = "fallbacks", .flags = ARGS_MULTI, .charset = CHARSET_KEY, \
	  .max = 128, .group = group_, \
	  .help = "then try this model of the domain, in order, when no" \
	      " deployment can answer" }
#define FLAGS_RETRIES \
	{ .name = "--retries", .type = ARGS_INT, .metavar = "N", \
	  .param = "retries", .min = 0, .max = 5, \
	  .help = "extra attempts on other deployments, 0-5 (default 2)" }, \
	{ .name = "--retry-deadline-ms", .type = ARGS_INT, .metavar = "MS", \
	  .param = "retry_deadline_ms", .min = 100, .max = 600000, \
	  .help = "no new attempt this long after the request came," \
	      " 100-600000 (default 30000)" }

static const struct args_flag cmd_model_deploy_flags[] = {
	FLAG_DOMAIN,
	{ .name = "--provider", .type = ARGS_STRING, .metavar = "P",
	  .param = "provider", .charset = CHARSET_NAME, .max = 63,
	  .help = "the provider that serves it (or --deployment)" },
	{ .name = "--name", .type = ARGS_STRING, .metavar = "NAME",
	  .param = "name", .flags = ARGS_REQUIRED, .max = 256,
	  .help = "display name" },
	{ .name = "--model-id", .type = ARGS_STRING, .metavar = "ID",
	  .param = "model_id", .max = 512,
	  .help = "the model's id at the provider (or --deployment)" },
	{ .name = "--key", .type = ARGS_STRING, .metavar = "K", .param = "key",
	  .charset = CHARSET_KEY, .max = 128,
	  .help = "what clients send as model (default: from --name)" },
	FLAG_DEPLOYMENT,
	FLAG_FALLBACK(0),
	FLAGS_RETRIES,
	FLAGS_MODEL_SETTINGS(0, 0),
	FLAG_FORCE,
	FLAG_END
};

static const struct args_flag cmd_model_edit_flags[] = {
	FLAG_DOMAIN,
	{ .name = "--new-key", .type = ARGS_STRING, .metavar = "K",
	  .param = "new_key", .charset = CHARSET_KEY, .max = 128,
	  .help = "rename the model's key" },
	{ .name = "--provider", .type = ARGS_STRING, .metavar = "P",
	  .param = "provider", .charset = CHARSET_NAME, .max = 63,
	  .help = "the provider that serves it" },
	{ .name = "--name", .type = ARGS_STRING, .metavar = "NAME",
	  .param = "name", .max = 256, .help = "display name" },
	{ .name = "--model-id", .type = ARGS_STRING, .metavar = "ID",
	  .param = "model_id", .max = 512,
	  .help = "the model's id at the provider" },
	FLAG_DEPLOYMENT,
	FLAG_FALLBACK(5),
	{ .name = "--no-fallbacks", .type = ARGS_CLEAR, .param = "fallbacks",
	  .group = 5, .help = "fall back to no other model" },
	FLAGS_RETRIES,
	FLAGS_MODEL_SETTINGS(3, 4),
	{ .name = "--no-tools", .type = ARGS_FALSE, .param = "tools",
	  .group = 1, .help = "the model cannot call tools" },
	{ .name = "--no-vision", .type = ARGS_FALSE, .param = "vision",
	  .group = 2, .help = "the model does not take images" },
	{ .name = "--no-guard-in", .type = ARGS_NULL, .param = "guard_in",
	  .group = 3, .help = "remove every input guardrail" },
	{ .name = "--no-guard-out", .type = ARGS_NULL, .param = "guard_out",
	  .group = 4, .help = "remove every output guardrail" },
	FLAG_FORCE,
	FLAG_END
};

static const struct args_flag cmd_token_create_flags[] = {
	FLAG_DOMAIN,
	{ .name = "--name", .type = ARGS_STRING, .metavar = "N",
	  .param = "name", .max = 256, .help = "a label for people" },
	{ .name = "--expires", .type = ARGS_DURATION, .metavar = "DURATION",
	  .param = "expires_in_s", .min = 1, .max = 3650 * (int64_t)DAY,
	  .help = "expire after 30d, 12h, 90m, 3600s... (default: never)" },
	{ .name = "--rpm", .type = ARGS_INT, .metavar = "N", .param = "rpm",
	  .min = 1, .max = 1000000000, .help = "requests per minute at most" },
	{ .name = "--tpm", .type = ARGS_INT, .metavar = "N", .param = "tpm",
	  .min = 1, .max = 1000000000, .help = "tokens per minute at most" },
	{ .name = "--budget", .type = ARGS_USD, .metavar = "USD",
	  .param = "budget", .help = "spend limit in USD" },
	{ .name = "--budget-period", .type = ARGS_ENUM,
	  .param = "budget_period", .choices = cmd_budget_periods,
	  .help = "reset the budget each day, week or month (UTC)" },
	{ .name = "--model", .type = ARGS_STRING, .metavar = "KEY",
	  .param = "models", .flags = ARGS_MULTI, .charset = CHARSET_KEY,
	  .max = 128, .help = "allow only this model" },
	{ .name = "--id", .type = ARGS_STRING, .metavar = "ID", .param = "id",
	  .max = 20, .help = "the id of a token another agent has (with"
	  " --secret-file or --secret-stdin)" },
	{ .name = "--secret-file", .type = ARGS_STRING, .metavar = "FILE",
	  .group = 1, .help = "import that token's secret from FILE, sealed" },
	{ .name = "--secret-stdin", .type = ARGS_SWITCH, .group = 1,
	  .help = "import that token's secret from standard input, sealed" },
	FLAG_END
};

/* What guardrail create and edit take; create needs kind and action. */
#define FLAGS_GUARDRAIL(req) \
	FLAG_DOMAIN, \
	{ .name = "--kind", .type = ARGS_ENUM, .param = "kind", \
	  .flags = req, .choices = cmd_guard_kinds, \
	  .help = "pii, regex, keywords or length" }, \
	{ .name = "--action", .type = ARGS_ENUM, .param = "action", \
	  .flags = req, .choices = cmd_guard_actions, \
	  .help = "block, redact or log what matches" }, \
	{ .name = "--types", .type = ARGS_LIST, .metavar = "T,T...", \
	  .param = "types", .choices = cmd_guard_types, \
	  .help = "pii: email,phone,card,iban,ssn,ipv4,secret (default all)" }, \
	{ .name = "--pattern", .type = ARGS_STRING, .metavar = "REGEX", \
	  .param = "patterns", .flags = ARGS_MULTI, .max = 1024, \
	  .help = "regex: a PCRE2 pattern" }, \
	{ .name = "--words", .type = ARGS_LIST, .metavar = "W,W...", \
	  .param = "words", .max = 128, \
	  .help = "keywords: words and phrases, any case" }, \
	{ .name = "--max-chars", .type = ARGS_INT, .metavar = "N", \
	  .param = "max_chars", .min = 1, .max = 100000000, \
	  .help = "length: characters of text at most" }, \
	{ .name = "--max-messages", .type = ARGS_INT, .metavar = "N", \
	  .param = "max_messages", .min = 1, .max = 100000, \
	  .help = "length: messages in a request at most" }, \
	{ .name = "--description", .type = ARGS_STRING, .metavar = "S", \
	  .param = "description", .flags = ARGS_EMPTY, .max = 4096, \
	  .help = "free text for operators" }

static const struct args_flag cmd_guardrail_create_flags[] = {
	FLAGS_GUARDRAIL(ARGS_REQUIRED),
	FLAG_END
};

static const struct args_flag cmd_guardrail_edit_flags[] = {
	FLAGS_GUARDRAIL(0),
	FLAG_END
};

static const struct args_flag cmd_model_chat_flags[] = {
	FLAG_DOMAIN,
	{ .name = "--system", .type = ARGS_STRING, .metavar = "TEXT",
	  .max = 262144, .help = "a system message before the question" },
	{ .name = "--max-tokens", .type = ARGS_INT, .metavar = "N",
	  .param = "max_tokens", .min = 1, .max = 1000000,
	  .help = "cap the answer's length" },
	{ .name = "--temperature", .type = ARGS_NUMBER, .metavar = "T",
	  .param = "temperature", .min = 0, .max = 2,
	  .help = "sampling temperature, 0 to 2" },
	FLAG_END
};

/* test: a stored guardrail by its key, or one given inline by the flags
 * of create (nothing stored). */
static const struct args_flag cmd_guardrail_test_flags[] = {
	FLAGS_GUARDRAIL(0),
	{ .name = "--text", .type = ARGS_STRING, .metavar = "TEXT",
	  .param = "text", .flags = ARGS_REQUIRED | ARGS_EMPTY,
	  .max = 262144, .help = "the text to run the guardrail over" },
	FLAG_END
};

static const struct args_flag cmd_export_flags[] = {
	{ .name = "-d", .alias = "--domain", .type = ARGS_STRING,
	  .metavar = "DOMAIN", .help = "only this domain (id or name)" },
	{ .name = "--dir", .type = ARGS_STRING, .metavar = "DIR",
	  .help = "write DIR/HOST.json (local.json without -H) instead of"
	      " printing; one file per host with several hosts" },
	FLAG_END
};

static const struct args_flag cmd_logs_flags[] = {
	{ .name = "-d", .alias = "--domain", .type = ARGS_STRING,
	  .metavar = "DOMAIN", .param = "domain",
	  .help = "only this domain (id or name)" },
	{ .name = "--model", .type = ARGS_STRING, .metavar = "KEY",
	  .param = "model", .charset = CHARSET_KEY, .max = 128,
	  .help = "only this model" },
	{ .name = "-n", .type = ARGS_INT, .metavar = "N", .param = "limit",
	  .min = 1, .max = 1000, .help = "the newest N traces (default 20)" },
	{ .name = "-f", .alias = "--follow", .type = ARGS_SWITCH,
	  .help = "then show new traces as the agent writes them" },
	{ .name = "--request-id", .type = ARGS_STRING, .metavar = "ID",
	  .param = "request_id", .charset = "0123456789abcdef", .max = 32,
	  .help = "only the trace of this x-request-id (32 hex digits)" },
	FLAG_END
};

static const struct args_flag cmd_usage_flags[] = {
	FLAG_DOMAIN,
	{ .name = "--by", .type = ARGS_ENUM, .param = "by",
	  .choices = cmd_usage_by,
	  .help = "group by model (default), token, hour or day" },
	{ .name = "--since", .type = ARGS_STRING, .metavar = "T",
	  .param = "since", .max = 64,
	  .help = "from T: 2026-11-30T12:00:00Z, 2026-11-30, or 24h ago" },
	{ .name = "--until", .type = ARGS_STRING, .metavar = "T",
	  .param = "until", .max = 64, .help = "up to T, as --since" },
	FLAG_END
};

static const struct args_flag cmd_stats_flags[] = {
	{ .name = "-d", .alias = "--domain", .type = ARGS_STRING,
	  .metavar = "DOMAIN", .param = "domain",
	  .help = "only this domain (id or name); the host's line stays" },
	{ .name = "--model", .type = ARGS_STRING, .metavar = "KEY",
	  .param = "model", .charset = CHARSET_KEY, .max = 128,
	  .help = "only this model" },
	{ .name = "--window", .type = ARGS_ENUM, .choices = cmd_stats_windows,
	  .help = "the table's window: 1m (default), 5m or 1h" },
	{ .name = "--series", .type = ARGS_ENUM, .choices = cmd_stats_windows,
	  .param = "series",
	  .help = "with -o json: each bucket of 1m, 5m or 1h too" },
	{ .name = "-f", .alias = "--follow", .type = ARGS_SWITCH,
	  .help = "then show the figures again every interval" },
	{ .name = "--interval", .type = ARGS_INT, .metavar = "MS",
	  .param = "interval_ms", .min = 250, .max = 60000,
	  .help = "with -f: every MS milliseconds (default 1000)" },
	FLAG_END
};

static const struct args_flag cmd_audit_flags[] = {
	{ .name = "-d", .alias = "--domain", .type = ARGS_STRING,
	  .metavar = "DOMAIN", .param = "domain",
	  .help = "only this domain's entries (id or name)" },
	{ .name = "-n", .type = ARGS_INT, .metavar = "N", .param = "limit",
	  .min = 1, .max = 10000, .help = "the newest N entries (default 50)" },
	FLAG_END
};

static const struct args_flag cmd_apply_flags[] = {
	{ .name = "-f", .alias = "--file", .type = ARGS_STRING,
	  .metavar = "FILE", .flags = ARGS_REQUIRED,
	  .help = "the document (- for standard input)" },
	{ .name = "--dry-run", .type = ARGS_SWITCH,
	  .help = "show what would be created and changed; change nothing" },
	FLAG_END
};

static const struct args_flag cmd_backup_flags[] = {
	{ .name = "--to", .type = ARGS_STRING, .metavar = "FILE",
	  .flags = ARGS_REQUIRED,
	  .help = "where the copy goes (mode 0600; an SQLite file)" },
	{ .name = "--force", .type = ARGS_SWITCH,
	  .help = "replace FILE when it exists" },
	FLAG_END
};

#define CHARSET_HEX	"0123456789abcdefABCDEF"

/* Evidence files, then what it must show. */
static const struct args_flag cmd_verify_flags[] = {
	{ .name = "--report", .type = ARGS_STRING, .metavar = "FILE",
	  .group = 1, .help = "an AMD SEV-SNP attestation report (1184 bytes)" },
	{ .name = "--quote", .type = ARGS_STRING, .metavar = "FILE",
	  .group = 1, .help = "an Intel TDX quote (version 4 or 5)" },
	{ .name = "--policy", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "what the evidence must show, cube-attest-policy(5); the"
	      " flags below override or add to it" },
	{ .name = "--vcek", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "the VCEK (or VLEK) that signed the report, DER or PEM" },
	{ .name = "--chain", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "ASK and ARK, PEM (default: AMD's, built in; the ARK must"
	      " be one of them)" },
	{ .name = "--root", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "trust this root instead of the built-in Intel SGX Root CA" },
	{ .name = "--tcb-info", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "Intel's signed TDX TCB info for the quote's FMSPC (JSON)" },
	{ .name = "--qe-identity", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "Intel's signed TD QE identity (JSON)" },
	{ .name = "--collateral-chain", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "the certificates that signed the TCB info and QE identity"
	      " (PEM)" },
	{ .name = "--crl", .type = ARGS_STRING, .metavar = "FILE",
	  .flags = ARGS_MULTI,
	  .help = "revocation lists: PEM (any number) or one DER" },
	{ .name = "--report-data", .type = ARGS_STRING, .metavar = "HEX",
	  .charset = CHARSET_HEX, .max = 128,
	  .help = "expected report_data (up to 64 bytes, zero-padded)" },
	{ .name = "--expect-measurement", .type = ARGS_STRING,
	  .metavar = "HEX", .charset = CHARSET_HEX, .max = 96,
	  .help = "expected measurement (SNP) or MRTD (TDX), 48 bytes" },
	{ .name = "--min-tcb", .type = ARGS_STRING, .metavar = "HEX",
	  .charset = CHARSET_HEX, .max = 32,
	  .help = "minimum TCB, byte by byte: SNP reported TCB (8 bytes)"
	      " or TDX TEE_TCB_SVN (16)" },
	{ .name = "--allow-debug", .type = ARGS_SWITCH,
	  .help = "accept a guest whose host may debug it" },
	{ .name = "--now", .type = ARGS_STRING, .metavar = "RFC3339",
	  .help = "check certificates at this time (default: now)" },
	FLAG_END
};

/* What live evidence must show: attest --verify's and connect's. */
#define FLAGS_LIVE_VERIFY \
	{ .name = "--policy", .type = ARGS_STRING, .metavar = "FILE", \
	  .help = "what the evidence must show, cube-attest-policy(5); the" \
	      " flags below override it" }, \
	{ .name = "--expect-measurement", .type = ARGS_STRING, \
	  .metavar = "HEX", .charset = CHARSET_HEX, .max = 96, \
	  .help = "expected measurement (SNP) or MRTD (TDX), 48 bytes" }, \
	{ .name = "--allow-simulated", .type = ARGS_SWITCH, \
	  .help = "accept a simulated TEE (--tee sim): development only" }, \
	{ .name = "--root", .type = ARGS_STRING, .metavar = "FILE", \
	  .help = "trust this root instead of the built-in ones (a sim" \
	      " agent's sim-ark.pem)" }, \
	{ .name = "--allow-debug", .type = ARGS_SWITCH, \
	  .help = "accept a guest whose host may debug it" }

/* Live evidence from the agent, then what it must show. */
static const struct args_flag cmd_attest_flags[] = {
	{ .name = "--nonce", .type = ARGS_STRING, .metavar = "HEX",
	  .charset = CHARSET_HEX, .max = 128,
	  .help = "the nonce, 8 to 64 bytes of hex (default: 32 random bytes)" },
	{ .name = "--verify", .type = ARGS_SWITCH,
	  .help = "check signature, chain, policy, nonce binding and seal key" },
	{ .name = "--url", .type = ARGS_STRING, .metavar = "https://HOST:PORT",
	  .max = 300,
	  .help = "fetch over TLS from the inference port and check that the"
	      " connection's key is the bound one (implies --verify)" },
	FLAGS_LIVE_VERIFY,
	FLAG_END
};

/* The agent to verify and relay to, what it must show, where to listen. */
static const struct args_flag cmd_connect_flags[] = {
	{ .name = "--url", .type = ARGS_STRING, .metavar = "https://HOST:PORT",
	  .flags = ARGS_REQUIRED, .max = 300,
	  .help = "the agent's TLS inference port" },
	{ .name = "--listen", .type = ARGS_STRING, .metavar = "ADDR:PORT",
	  .max = 300,
	  .help = "where clients connect, a loopback address (default"
	      " 127.0.0.1:11443; port 0: any free one)" },
	FLAGS_LIVE_VERIFY,
	FLAG_END
};

/* A receipt, the bodies it signs, and the key that signed it. */
static const struct args_flag cmd_receipt_verify_flags[] = {
	{ .name = "--receipt", .type = ARGS_STRING, .metavar = "STRING|FILE",
	  .flags = ARGS_REQUIRED,
	  .help = "the receipt: the string, or a file with it (a Cube-Receipt"
	      " header dump, or the stream that carries it)" },
	{ .name = "--request", .type = ARGS_STRING, .metavar = "FILE",
	  .flags = ARGS_REQUIRED,
	  .help = "the request body as sent (- for standard input)" },
	{ .name = "--response", .type = ARGS_STRING, .metavar = "FILE",
	  .flags = ARGS_REQUIRED,
	  .help = "the response body as received, a stream's whole" },
	{ .name = "--key", .type = ARGS_STRING, .metavar = "HEX", .group = 1,
	  .charset = CHARSET_HEX "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ+/=",
	  .max = 64,
	  .help = "the agent's Ed25519 identity key (hex, or base64 as"
	      " cubectl attest shows it)" },
	{ .name = "--evidence", .type = ARGS_STRING, .metavar = "FILE",
	  .group = 1,
	  .help = "saved cubectl attest -o json: the key, once the evidence"
	      " verifies" },
	{ .name = "--policy", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "what the evidence must show, cube-attest-policy(5)" },
	{ .name = "--allow-simulated", .type = ARGS_SWITCH,
	  .help = "accept evidence of a simulated TEE: development only" },
	{ .name = "--root", .type = ARGS_STRING, .metavar = "FILE",
	  .help = "trust this root for the evidence (a sim agent's"
	      " sim-ark.pem)" },
	FLAG_END
};

/* --- the table ------------------------------------------------------------ */

const struct cmd_noun cmd_nouns[] = {
	{ "status",	"the agent's version, uptime, TEE and seal key" },
	{ "domain",	"tenants: each has its own providers, models, tokens" },
	{ "provider",	"backends a domain's models are served by" },
	{ "model",	"what clients ask for, mapped to a provider's model" },
	{ "guardrail",	"filters on prompts and answers, bound to models" },
	{ "token",	"API tokens for inference" },
	{ "logs",	"traces of inference requests" },
	{ "usage",	"requests, tokens and spend of a domain" },
	{ "stats",	"live figures: rates, errors, latency, spend today" },
	{ "export",	"domains as a document that apply takes back" },
	{ "apply",	"make the agent match a document" },
	{ "backup",	"a copy of the agent's database, taken while it runs" },
	{ "attest",	"the agent's attestation evidence, live" },
	{ "verify",	"attestation evidence, offline: no agent needed" },
	{ "audit",	"who changed what, and when" },
	{ "receipt",	"an answer's signed receipt, offline: no agent needed" },
	{ "connect",	"a local proxy with attested TLS to the agent" },
};
const size_t cmd_nouns_size = sizeof(cmd_nouns) / sizeof(cmd_nouns[0]);

const struct cmd_entry cmd_table[] = {
	{ "status", NULL, "status", NULL, cmd_no_flags, CMD_FLEET,
	  CMD_OUTPUT_OBJECT, cmd_status_fields, NULL,
	  "show the agent's version, uptime, TEE and seal key" },

	{ "domain", "create", "domain.create", &cmd_arg_domain_name,
	  cmd_domain_create_flags, CMD_NEW, CMD_OUTPUT_OBJECT, cmd_domain_fields, NULL,
	  "create a domain" },
	{ "domain", "list", "domain.list", NULL, cmd_no_flags, 0,
	  CMD_OUTPUT_LIST, cmd_domain_columns, NULL,
	  "list domains" },
	{ "domain", "edit", "domain.edit", &cmd_arg_domain,
	  cmd_domain_edit_flags, CMD_EDIT, CMD_OUTPUT_OBJECT, cmd_domain_fields,
	  NULL, "change a domain's settings" },
	{ "domain", "delete", "domain.delete", &cmd_arg_domain,
	  cmd_no_flags, 0, CMD_OUTPUT_DELETED, NULL, NULL,
	  "delete a domain and everything in it" },

	{ "provider", "add", "provider.add", &cmd_arg_provider,
	  cmd_provider_add_flags, CMD_NEW, CMD_OUTPUT_OBJECT, cmd_provider_fields,
	  cmd_provider_write,
	  "add a provider; its API key is sealed to the agent here" },
	{ "provider", "edit", "provider.edit", &cmd_arg_provider,
	  cmd_provider_edit_flags, CMD_EDIT, CMD_OUTPUT_OBJECT,
	  cmd_provider_fields, cmd_provider_write,
	  "change a provider's driver, URL, API key (sealed here) or"
	  " Responses API" },
	{ "provider", "list", "provider.list", NULL, cmd_in_domain_flags, 0,
	  CMD_OUTPUT_LIST, cmd_provider_columns, NULL,
	  "list a domain's providers" },
	{ "provider", "test", "provider.test", &cmd_arg_provider,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_OBJECT, cmd_provider_test_fields,
	  cmd_provider_test,
	  "check the provider answers; exit 1 when it does not" },
	{ "provider", "models", "provider.models", &cmd_arg_provider,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_OBJECT, NULL, cmd_provider_models,
	  "list the models the provider's backend serves" },
	{ "provider", "delete", "provider.delete", &cmd_arg_provider,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_DELETED, NULL, NULL,
	  "delete a provider no model uses" },

	{ "model", "deploy", "model.deploy", NULL, cmd_model_deploy_flags, 0,
	  CMD_OUTPUT_OBJECT, cmd_model_fields, cmd_model_exec,
	  "make a provider's model available under a key" },
	{ "model", "list", "model.list", NULL, cmd_in_domain_flags, 0,
	  CMD_OUTPUT_LIST, cmd_model_columns, NULL,
	  "list a domain's models" },
	{ "model", "show", "model.show", &cmd_arg_model, cmd_in_domain_flags, 0,
	  CMD_OUTPUT_OBJECT, cmd_model_fields, cmd_model_exec,
	  "show one model, its deployments and their breakers" },
	{ "model", "edit", "model.edit", &cmd_arg_model, cmd_model_edit_flags,
	  CMD_EDIT, CMD_OUTPUT_OBJECT, cmd_model_fields, cmd_model_exec,
	  "change a model" },
	{ "model", "enable", "model.enable", &cmd_arg_model,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_OBJECT, cmd_model_fields,
	  cmd_model_exec, "serve the model again" },
	{ "model", "disable", "model.disable", &cmd_arg_model,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_OBJECT, cmd_model_fields,
	  cmd_model_exec,
	  "stop serving the model (requests get model_inactive)" },
	{ "model", "delete", "model.delete", &cmd_arg_model,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_DELETED, NULL, NULL,
	  "delete a model" },
	{ "model", "chat", "model.chat", &cmd_arg_model, cmd_model_chat_flags,
	  CMD_MESSAGE, CMD_OUTPUT_OBJECT, NULL, cmd_chat,
	  "ask the model as clients do (guardrails, defaults, tracing);"
	  " MESSAGE, or stdin" },

	{ "guardrail", "create", "guardrail.create", &cmd_arg_guardrail_new,
	  cmd_guardrail_create_flags, CMD_NEW, CMD_OUTPUT_OBJECT,
	  cmd_guardrail_fields, NULL,
	  "create a guardrail; bind it with model edit --guard-in/--guard-out" },
	{ "guardrail", "list", "guardrail.list", NULL, cmd_in_domain_flags, 0,
	  CMD_OUTPUT_LIST, cmd_guardrail_columns, NULL,
	  "list a domain's guardrails" },
	{ "guardrail", "show", "guardrail.show", &cmd_arg_guardrail,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_OBJECT, cmd_guardrail_fields,
	  NULL, "show one guardrail" },
	{ "guardrail", "edit", "guardrail.edit", &cmd_arg_guardrail,
	  cmd_guardrail_edit_flags, CMD_EDIT, CMD_OUTPUT_OBJECT,
	  cmd_guardrail_fields, NULL, "change a guardrail" },
	{ "guardrail", "delete", "guardrail.delete", &cmd_arg_guardrail,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_DELETED, NULL, NULL,
	  "delete a guardrail no model uses" },
	{ "guardrail", "test", "guardrail.test", &cmd_arg_guardrail,
	  cmd_guardrail_test_flags, CMD_ARG_OPTIONAL, CMD_OUTPUT_OBJECT,
	  cmd_guardrail_test_fields, cmd_guardrail_test,
	  "show what a guardrail, stored or given by create's flags, would"
	  " block or redact in a text" },

	{ "token", "create", "token.create", NULL, cmd_token_create_flags, 0,
	  CMD_OUTPUT_OBJECT, cmd_token_fields, cmd_token_create,
	  "create an API token; its secret is shown once" },
	{ "token", "list", "token.list", NULL, cmd_in_domain_flags, 0,
	  CMD_OUTPUT_LIST, cmd_token_columns, NULL,
	  "list a domain's tokens (never their secrets)" },
	{ "token", "revoke", "token.revoke", &cmd_arg_token,
	  cmd_in_domain_flags, 0, CMD_OUTPUT_OBJECT, cmd_token_fields, NULL,
	  "revoke a token; takes effect on the next request" },

	{ "logs", NULL, "logs.list", NULL, cmd_logs_flags, 0, CMD_OUTPUT_LIST,
	  cmd_logs_columns, cmd_logs,
	  "show the newest traces, oldest first; -f follows new ones" },
	{ "usage", NULL, "usage.get", NULL, cmd_usage_flags, 0, CMD_OUTPUT_LIST,
	  NULL, cmd_usage,
	  "show a domain's requests, tokens and spend, grouped" },
	{ "stats", NULL, "stats.get", NULL, cmd_stats_flags, 0,
	  CMD_OUTPUT_OBJECT, NULL, cmd_stats,
	  "show requests/s, errors, latency, tokens and spend today; -f follows" },

	{ "export", NULL, NULL, NULL, cmd_export_flags, CMD_FLEET,
	  CMD_OUTPUT_OBJECT, NULL, cmd_export,
	  "print domains, providers, models and tokens as a document" },
	{ "apply", NULL, NULL, NULL, cmd_apply_flags, CMD_FLEET,
	  CMD_OUTPUT_OBJECT, NULL, cmd_apply,
	  "create and change what differs from a document; never deletes" },
	{ "backup", NULL, NULL, NULL, cmd_backup_flags, 0,
	  CMD_OUTPUT_OBJECT, NULL, cmd_backup,
	  "copy the agent's database to FILE (cube-agent --restore takes it)" },

	{ "attest", NULL, "attestation.get", NULL, cmd_attest_flags, 0,
	  CMD_OUTPUT_OBJECT, NULL, cmd_attest,
	  "fetch the agent's evidence for a fresh nonce; --verify checks it" },
	{ "verify", NULL, NULL, NULL, cmd_verify_flags, 0, CMD_OUTPUT_OBJECT,
	  NULL, cmd_verify,
	  "check SEV-SNP or TDX evidence offline; exit 1 naming what failed" },
	{ "connect", NULL, NULL, NULL, cmd_connect_flags, 0,
	  CMD_OUTPUT_OBJECT, NULL, cmd_connect,
	  "verify the agent, then relay local clients to it over TLS to"
	  " the attested key only" },
	{ "audit", NULL, "audit.list", NULL, cmd_audit_flags, 0,
	  CMD_OUTPUT_LIST, cmd_audit_columns, NULL,
	  "show the audit log of changes, oldest first" },
	{ "receipt", "verify", NULL, NULL, cmd_receipt_verify_flags, 0,
	  CMD_OUTPUT_OBJECT, NULL, cmd_receipt_verify,
	  "check a receipt's signature and body hashes; exit 1 naming what"
	  " failed" },
};
const size_t cmd_table_size = sizeof(cmd_table) / sizeof(cmd_table[0]);

/* --- lookup --------------------------------------------------------------- */

static int
cmd_noun_exists(const char *noun)
{
	size_t	i;

	for (i = 0; i < cmd_nouns_size; i++)
		if (strcmp(cmd_nouns[i].noun, noun) == 0)
			return 1;
	return 0;
}

/* ", "-separated list of nouns (noun NULL) or of one noun's verbs. */
static void
cmd_valid(const char *noun, char *buf, size_t len)
{
	size_t	i, n = 0;

	buf[0] = '\0';
	if (noun == NULL) {
		for (i = 0; i < cmd_nouns_size && n < len; i++)
			n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
			    cmd_nouns[i].noun);
		return;
	}
	for (i = 0; i < cmd_table_size && n < len; i++) {
		if (strcmp(cmd_table[i].noun, noun) != 0 ||
		    cmd_table[i].verb == NULL)
			continue;
		n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
		    cmd_table[i].verb);
	}
}

static int
cmd_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/*
 * Find the command argv[0] (and argv[1]) name. Returns 0 with *ce and
 * *used (1 or 2) set; 1 when the noun alone asks for help (*ce NULL); -1
 * with a message listing what is valid.
 */
int
cmd_lookup(int argc, char **argv, const struct cmd_entry **ce, int *used,
    char *err, size_t errlen)
{
	const char	*noun = argv[0], *verb;
	char		 valid[512];
	size_t		 i;

	*ce = NULL;
	*used = 0;
	if (!cmd_noun_exists(noun)) {
		cmd_valid(NULL, valid, sizeof(valid));
		snprintf(err, errlen, "unknown command '%s' (valid: %s)", noun,
		    valid);
		return -1;
	}
	for (i = 0; i < cmd_table_size; i++) {
		if (strcmp(cmd_table[i].noun, noun) == 0 &&
		    cmd_table[i].verb == NULL) {
			*ce = &cmd_table[i];
			*used = 1;
			return 0;
		}
	}
	cmd_valid(noun, valid, sizeof(valid));
	if (argc < 2) {
		snprintf(err, errlen, "%s: missing verb (valid: %s)", noun,
		    valid);
		return -1;
	}
	verb = argv[1];
	if (cmd_is_help(verb))
		return 1;
	for (i = 0; i < cmd_table_size; i++) {
		if (strcmp(cmd_table[i].noun, noun) == 0 &&
		    cmd_table[i].verb != NULL &&
		    strcmp(cmd_table[i].verb, verb) == 0) {
			*ce = &cmd_table[i];
			*used = 2;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: unknown verb '%s' (valid: %s)", noun, verb,
	    valid);
	return -1;
}

/* --- parsing -------------------------------------------------------------- */

/* What a verb's flags table cannot say (one form or the other...). */
static const struct {
	const char	*noun;
	const char	*verb;
	int		(*check)(const struct args *, char *, size_t);
} cmd_checks[] = {
	{ "model",	"deploy",	cmd_model_check_deploy },
	{ "model",	"edit",		cmd_model_check_edit },
};

static int
cmd_check(const struct cmd_entry *ce, const struct args *a, char *err,
    size_t errlen)
{
	size_t	i;

	for (i = 0; i < sizeof(cmd_checks) / sizeof(cmd_checks[0]); i++)
		if (ce->verb != NULL && strcmp(cmd_checks[i].noun, ce->noun) ==
		    0 && strcmp(cmd_checks[i].verb, ce->verb) == 0)
			return cmd_checks[i].check(a, err, errlen);
	return 0;
}

/* Does a change anything, for CMD_EDIT (not just name the object)? */
static int
cmd_has_change(const struct args *a)
{
	const struct args_flag	*f;
	size_t			 i;

	for (i = 0; i < a->nvalues; i++) {
		f = a->values[i].flag;
		if ((f->param != NULL && strcmp(f->param, "domain") != 0) ||
		    (f->flags & ARGS_CHANGE))
			return 1;
	}
	return 0;
}

/*
 * A flag that sets a param (--no-jwt: jwt) and one that sets a member of
 * it (--jwt-issuer: jwt.issuer) cannot go together.
 */
static int
cmd_conflict(const struct args *a, char *err, size_t errlen)
{
	const struct args_flag	*f, *g;
	size_t			 i, j, n;

	for (i = 0; i < a->nvalues; i++) {
		if ((f = a->values[i].flag)->param == NULL)
			continue;
		n = strlen(f->param);
		for (j = 0; j < a->nvalues; j++) {
			g = a->values[j].flag;
			if (g->param != NULL &&
			    strncmp(g->param, f->param, n) == 0 &&
			    g->param[n] == '.') {
				snprintf(err, errlen, "%s and %s conflict",
				    f->name, g->name);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Parse a command's arguments (after its noun and verb): flags, global
 * options, the positional. Returns 0, or -1 with a usage message in err.
 */
int
cmd_parse(const struct cmd_entry *ce, int argc, char **argv, struct args *a,
    char *err, size_t errlen)
{
	struct args_value	v;

	if (args_parse(a, ce->flags, cmd_global_flags, argc, argv, 0, err,
	    errlen) == -1)
		return -1;
	if (ce->arg != NULL && a->npositional == 0 &&
	    !(ce->cflags & CMD_ARG_OPTIONAL)) {
		snprintf(err, errlen, "missing %s", ce->arg->metavar);
		goto fail;
	}
	if (a->npositional > (ce->arg != NULL ? 1U : 0U) +
	    ((ce->cflags & CMD_MESSAGE) ? 1U : 0U)) {
		snprintf(err, errlen, "unexpected argument '%s'",
		    a->positional[a->npositional - 1]);
		goto fail;
	}
	if (ce->arg != NULL && a->npositional > 0 &&
	    args_check_value(ce->arg, a->positional[0], &v, err, errlen) == -1)
		goto fail;
	if (cmd_conflict(a, err, errlen) == -1)
		goto fail;
	if ((ce->cflags & CMD_EDIT) && !cmd_has_change(a)) {
		snprintf(err, errlen, "nothing to change (see cubectl %s %s"
		    " --help)", ce->noun, ce->verb);
		goto fail;
	}
	if (cmd_check(ce, a, err, errlen) == -1)
		goto fail;
	return 0;

fail:
	args_free(a);
	return -1;
}

/*
 * Where a param named "a.b.c" goes: member c of object b of object a of
 * params, made as needed; *name is the last part (a static buffer's).
 */
static cJSON *
cmd_params_object(cJSON *params, const char *param, const char **name)
{
	static char	 part[128];
	const char	*dot;
	cJSON		*o = params, *next;

	while ((dot = strchr(param, '.')) != NULL) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - param), param);
		next = cJSON_GetObjectItemCaseSensitive(o, part);
		if (next == NULL || !cJSON_IsObject(next)) {
			cJSON_DeleteItemFromObjectCaseSensitive(o, part);
			if ((next = cJSON_AddObjectToObject(o, part)) == NULL)
				fatalx("%s: out of memory", __func__);
		}
		o = next;
		param = dot + 1;
	}
	*name = param;
	return o;
}

/* The JSON-RPC params for a parsed command. Caller owns the result. */
cJSON *
cmd_params(const struct cmd_entry *ce, const struct args *a)
{
	const struct args_value	*v;
	cJSON			*params, *array, *o;
	const char		*name;
	size_t			 i;

	if ((params = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (ce->arg != NULL && a->npositional > 0)
		cJSON_AddItemToObject(params, ce->arg->param,
		    cJSON_CreateString(a->positional[0]));
	for (i = 0; i < a->nvalues; i++) {
		v = &a->values[i];
		if (v->flag->param == NULL)
			continue;
		o = cmd_params_object(params, v->flag->param, &name);
		if (!(v->flag->flags & ARGS_MULTI)) {
			cJSON_DeleteItemFromObjectCaseSensitive(o, name);
			cJSON_AddItemToObject(o, name, args_value_json(v));
			continue;
		}
		array = cJSON_GetObjectItemCaseSensitive(o, name);
		if (array == NULL)
			array = cJSON_AddArrayToObject(o, name);
		cJSON_AddItemToArray(array, args_value_json(v));
	}
	return params;
}

/* --- synopsis and help ---------------------------------------------------- */

/* The synopsis word for flag f and the others of its group. */
static void
cmd_flag_word(const struct args_flag *flags, const struct args_flag *f,
    char *buf, size_t len)
{
	const struct args_flag	*g;
	char			 usage[128];
	size_t			 n = 0;

	if (f->group == 0) {
		args_flag_usage(f, usage, sizeof(usage));
		if (f->flags & ARGS_REQUIRED)
			snprintf(buf, len, "%s", usage);
		else
			snprintf(buf, len, "[%s]%s", usage,
			    (f->flags & ARGS_MULTI) ? "..." : "");
		return;
	}
	n = snprintf(buf, len, "[");
	for (g = flags; g->name != NULL && n < len; g++) {
		if (g->group != f->group)
			continue;
		args_flag_usage(g, usage, sizeof(usage));
		n += snprintf(buf + n, len - n, "%s%s", n > 1 ? " | " : "",
		    usage);
	}
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

/* Is f the first flag of its group (groups are shown once)? */
static int
cmd_group_first(const struct args_flag *flags, const struct args_flag *f)
{
	const struct args_flag	*g;

	for (g = flags; g != f; g++)
		if (f->group != 0 && g->group == f->group)
			return 0;
	return 1;
}

/*
 * Call word for each word of the synopsis after "cubectl": noun, verb,
 * then flags in table order with the positional after -d (or first).
 */
static void
cmd_synopsis_words(const struct cmd_entry *ce,
    void (*word)(const char *, void *), void *arg)
{
	const struct args_flag	*f;
	char			 buf[512], metavar[64];
	int			 arg_done = (ce->arg == NULL);

	word(ce->noun, arg);
	if (ce->verb != NULL)
		word(ce->verb, arg);
	if (ce->arg != NULL)
		snprintf(metavar, sizeof(metavar), ce->cflags &
		    CMD_ARG_OPTIONAL ? "[%s]" : "%s", ce->arg->metavar);
	for (f = ce->flags; f->name != NULL; f++) {
		if (!arg_done && strcmp(f->name, "-d") != 0) {
			word(metavar, arg);
			arg_done = 1;
		}
		if (!cmd_group_first(ce->flags, f))
			continue;
		cmd_flag_word(ce->flags, f, buf, sizeof(buf));
		word(buf, arg);
	}
	if (!arg_done)
		word(metavar, arg);
	if (ce->cflags & CMD_MESSAGE)
		word("[MESSAGE]", arg);
}

struct cmd_buf {
	char	*buf;
	size_t	 len;
	size_t	 used;
};

static void
cmd_synopsis_append(const char *word, void *arg)
{
	struct cmd_buf	*b = arg;

	if (b->used < b->len)
		b->used += snprintf(b->buf + b->used, b->len - b->used, "%s%s",
		    b->used ? " " : "", word);
}

/* The synopsis on one line: "model show -d DOMAIN KEY". */
void
cmd_synopsis(const struct cmd_entry *ce, char *buf, size_t len)
{
	struct cmd_buf	b = { buf, len, 0 };

	buf[0] = '\0';
	cmd_synopsis_words(ce, cmd_synopsis_append, &b);
}

struct cmd_wrap {
	FILE	*f;
	size_t	 column;
	size_t	 indent;
};

static void
cmd_synopsis_wrap(const char *word, void *arg)
{
	struct cmd_wrap	*w = arg;
	size_t		 len = strlen(word);

	if (w->column + 1 + len > CMD_WRAP && w->column > w->indent) {
		fprintf(w->f, "\n%*s", (int)w->indent, "");
		w->column = w->indent;
	} else {
		fputc(' ', w->f);
		w->column++;
	}
	fputs(word, w->f);
	w->column += len;
}

/* "usage: cubectl model deploy ...", wrapped under the noun. */
static void
cmd_print_synopsis(FILE *f, const char *prefix, const struct cmd_entry *ce)
{
	struct cmd_wrap	w = { f, 0, 0 };

	fprintf(f, "%scubectl", prefix);
	w.column = strlen(prefix) + strlen("cubectl");
	w.indent = w.column + 1;
	cmd_synopsis_words(ce, cmd_synopsis_wrap, &w);
	fputc('\n', f);
}

/* Flag help lines: "  -d, --domain DOMAIN    the domain (id or name)". */
static void
cmd_print_flags(FILE *f, const struct args_flag *flags)
{
	const struct args_flag	*fl;
	char			 usage[160], left[200];
	size_t			 width = 0, len;

	for (fl = flags; fl->name != NULL; fl++) {
		args_flag_usage(fl, usage, sizeof(usage));
		len = strlen(usage) + (fl->alias ? strlen(fl->alias) + 2 : 0);
		if (len > width)
			width = len;
	}
	if (width > 30)
		width = 30;
	for (fl = flags; fl->name != NULL; fl++) {
		args_flag_usage(fl, usage, sizeof(usage));
		if (fl->alias != NULL)
			snprintf(left, sizeof(left), "%s, %s%s", fl->name,
			    fl->alias, usage + strlen(fl->name));
		else
			snprintf(left, sizeof(left), "%s", usage);
		if (strlen(left) > width)
			fprintf(f, "  %s\n  %*s  ", left, (int)width, "");
		else
			fprintf(f, "  %-*s  ", (int)width, left);
		fprintf(f, "%s%s%s\n", fl->help,
		    (fl->flags & ARGS_REQUIRED) ? " (required)" : "",
		    (fl->flags & ARGS_MULTI) ? " (repeatable)" : "");
	}
}

/* cubectl --help: every command, then the global options. */
void
cmd_print_usage(FILE *f)
{
	const struct args_flag	*fl;
	char			 words[128], usage[128];
	size_t			 i, n;

	struct cmd_wrap		 w = { f, 0, 0 };
	char			 word[160];

	fprintf(f, "usage: cubectl");
	w.column = strlen("usage: cubectl");
	w.indent = w.column + 1;
	for (fl = cmd_global_flags; fl->name != NULL; fl++) {
		if (!args_takes_value(fl))
			continue;
		args_flag_usage(fl, usage, sizeof(usage));
		snprintf(word, sizeof(word), "[%s]", usage);
		cmd_synopsis_wrap(word, &w);
	}
	cmd_synopsis_wrap("NOUN", &w);
	cmd_synopsis_wrap("VERB", &w);
	cmd_synopsis_wrap("[ARGS]", &w);
	fprintf(f, "\n\ncommands:\n");
	for (i = 0; i < cmd_table_size; i++) {
		n = snprintf(words, sizeof(words), "%s", cmd_table[i].noun);
		if (cmd_table[i].verb != NULL)
			snprintf(words + n, sizeof(words) - n, " %s",
			    cmd_table[i].verb);
		fprintf(f, "  %-18s %s\n", words, cmd_table[i].help);
	}
	fprintf(f, "\nglobal options:\n");
	cmd_print_flags(f, cmd_global_flags);
	fprintf(f, "\n'cubectl NOUN --help' and 'cubectl NOUN VERB --help'"
	    " show more.\n");
}

/* cubectl NOUN --help: the noun's verbs with their synopses. */
void
cmd_print_noun_help(FILE *f, const char *noun)
{
	size_t	i;

	for (i = 0; i < cmd_nouns_size; i++)
		if (strcmp(cmd_nouns[i].noun, noun) == 0)
			fprintf(f, "%s: %s\n\n", noun, cmd_nouns[i].help);
	for (i = 0; i < cmd_table_size; i++) {
		if (strcmp(cmd_table[i].noun, noun) != 0)
			continue;
		cmd_print_synopsis(f, "", &cmd_table[i]);
		fprintf(f, "    %s\n", cmd_table[i].help);
	}
	fprintf(f, "\n'cubectl %s VERB --help' shows a verb's flags.\n", noun);
}

/* cubectl NOUN VERB --help: synopsis, what it does, its flags. */
void
cmd_print_help(FILE *f, const struct cmd_entry *ce)
{
	cmd_print_synopsis(f, "usage: ", ce);
	fprintf(f, "\n%c%s.\n", toupper((unsigned char)ce->help[0]),
	    ce->help + 1);
	if (ce->arg != NULL)
		fprintf(f, "\n  %-10s %s\n", ce->arg->metavar, ce->arg->help);
	if (ce->flags[0].name != NULL) {
		fprintf(f, "\nflags:\n");
		cmd_print_flags(f, ce->flags);
	}
	fprintf(f, "\nGlobal options (-s, -H, -o json...) may also follow; see"
	    " cubectl --help.\n");
}

/* A usage error: the message, then the command's synopsis. */
int
cmd_usage_error(const struct cmd_entry *ce, const char *err)
{
	output_error("%s", err);
	if (ce != NULL)
		cmd_print_synopsis(stderr, "usage: ", ce);
	return EXIT_USAGE;
}

/* --- running -------------------------------------------------------------- */

/* Show a result: JSON as it came, or the entry's table / fields. */
int
cmd_output(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a, cJSON *result)
{
	if (c->output == CUBECTL_JSON) {
		output_json(result);
		return EXIT_OK;
	}
	switch (ce->output) {
	case CMD_OUTPUT_LIST:
		if (!cJSON_IsArray(result))
			break;
		output_table(ce->fields, result);
		return EXIT_OK;
	case CMD_OUTPUT_OBJECT:
		if (!cJSON_IsObject(result))
			break;
		output_object(ce->fields, result);
		output_warnings(result);
		return EXIT_OK;
	case CMD_OUTPUT_DELETED:
		printf("deleted %s %s\n", ce->noun, a->positional[0]);
		return EXIT_OK;
	}
	output_error("unexpected reply to %s from the agent", ce->method);
	return EXIT_FAILED;
}

/* Call the entry's method with params from the command line, show it. */
int
cmd_exec_default(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a)
{
	cJSON	*result;
	int	 rc;

	if ((rc = client_call(c, ce->method, cmd_params(ce, a), &result)) !=
	    EXIT_OK)
		return rc;
	rc = cmd_output(c, ce, a, result);
	cJSON_Delete(result);
	return rc;
}
