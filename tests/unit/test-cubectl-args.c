/*
 * cubectl argument parsing (args.c, cmd.c): durations, values checked by
 * type, usage errors naming the flag, the params sent to the agent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cubectl.h"

#define MAXARGS	64

/* Split a command line on spaces into argv (no quoting; tests only). */
static int
split(char *line, char **argv)
{
	int	argc = 0;
	char	*word;

	for (word = strtok(line, " "); word != NULL && argc < MAXARGS;
	    word = strtok(NULL, " "))
		argv[argc++] = word;
	return argc;
}

static const struct cmd_entry *
entry(const char *noun, const char *verb)
{
	const struct cmd_entry	*ce;
	char			*argv[2] = { (char *)noun, (char *)verb };
	char			 err[512];
	int			 used;

	assert_int_equal(cmd_lookup(verb ? 2 : 1, argv, &ce, &used, err,
	    sizeof(err)), 0);
	assert_non_null(ce);
	return ce;
}

/*
 * Parse "NOUN VERB ARGS..." and return the params as compact JSON (caller
 * frees), or NULL with the usage error in err.
 */
static char *
parse(const char *cmdline, char *err, size_t errlen)
{
	const struct cmd_entry	*ce;
	struct args		 a;
	char			*line, *argv[MAXARGS], *json;
	cJSON			*params;
	int			 argc, used;

	line = strdup(cmdline);
	argc = split(line, argv);
	err[0] = '\0';
	if (cmd_lookup(argc, argv, &ce, &used, err, errlen) != 0) {
		free(line);
		return NULL;
	}
	if (cmd_parse(ce, argc - used, argv + used, &a, err, errlen) == -1) {
		free(line);
		return NULL;
	}
	params = cmd_params(ce, &a);
	json = cJSON_PrintUnformatted(params);
	cJSON_Delete(params);
	args_free(&a);
	free(line);
	return json;
}

static void
expect_params(const char *cmdline, const char *want)
{
	char	 err[512], *got;

	got = parse(cmdline, err, sizeof(err));
	if (got == NULL)
		fail_msg("%s: %s", cmdline, err);
	assert_string_equal(got, want);
	free(got);
}

static void
expect_usage(const char *cmdline, const char *want)
{
	char	 err[512], *got;

	got = parse(cmdline, err, sizeof(err));
	if (got != NULL)
		fail_msg("%s: accepted as %s", cmdline, got);
	if (strstr(err, want) == NULL)
		fail_msg("%s: '%s' does not say '%s'", cmdline, err, want);
}

static int64_t
duration(const char *s)
{
	char	err[256];
	int64_t	secs = -1;

	if (args_parse_duration(s, &secs, err, sizeof(err)) == -1)
		return -1;
	return secs;
}

static void
test_durations(void **state)
{
	(void)state;
	assert_int_equal(duration("30d"), 30 * 86400);
	assert_int_equal(duration("12h"), 12 * 3600);
	assert_int_equal(duration("90m"), 90 * 60);
	assert_int_equal(duration("3600s"), 3600);
	assert_int_equal(duration("3600"), 3600);
	assert_int_equal(duration("2w"), 14 * 86400);
	assert_int_equal(duration("1h30m"), 5400);
	assert_int_equal(duration("1d12h"), 36 * 3600);
	assert_int_equal(duration("0"), 0);
	assert_int_equal(duration(""), -1);
	assert_int_equal(duration("d"), -1);
	assert_int_equal(duration("10x"), -1);
	assert_int_equal(duration("-5d"), -1);
	assert_int_equal(duration("1.5h"), -1);
	assert_int_equal(duration("1h30"), -1);
	assert_int_equal(duration("30D"), -1);
	assert_int_equal(duration(" 30d"), -1);
	assert_int_equal(duration("30d "), -1);
	assert_int_equal(duration("99999999999999999999s"), -1);
	assert_int_equal(duration("9223372036854775807w"), -1);
}

static void
test_lookup(void **state)
{
	const struct cmd_entry	*ce;
	char			*argv[3], err[512];
	int			 used;

	(void)state;
	argv[0] = (char *)"nope";
	assert_int_equal(cmd_lookup(1, argv, &ce, &used, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown command 'nope'"));
	assert_non_null(strstr(err,
	    "status, domain, provider, model, guardrail, token"));

	argv[0] = (char *)"model";
	assert_int_equal(cmd_lookup(1, argv, &ce, &used, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing verb"));
	assert_non_null(strstr(err, "deploy, list, show, edit, enable, disable,"
	    " delete"));
	argv[1] = (char *)"frob";
	assert_int_equal(cmd_lookup(2, argv, &ce, &used, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown verb 'frob'"));
	argv[1] = (char *)"--help";
	assert_int_equal(cmd_lookup(2, argv, &ce, &used, err, sizeof(err)), 1);
	argv[1] = (char *)"list";
	assert_int_equal(cmd_lookup(2, argv, &ce, &used, err, sizeof(err)), 0);
	assert_string_equal(ce->method, "model.list");
	assert_int_equal(used, 2);

	argv[0] = (char *)"status";
	argv[1] = (char *)"-o";
	assert_int_equal(cmd_lookup(2, argv, &ce, &used, err, sizeof(err)), 0);
	assert_string_equal(ce->method, "status");
	assert_int_equal(used, 1);
}

static void
test_params(void **state)
{
	(void)state;
	expect_params("status", "{}");
	expect_params("domain create acme", "{\"name\":\"acme\"}");
	expect_params("domain edit acme --log-content off --trace-retention 7",
	    "{\"domain\":\"acme\",\"log_content\":false,"
	    "\"trace_retention_days\":7}");
	/* Flags before or after positionals; --flag=value; --domain. */
	expect_params("model show KEY -d acme",
	    "{\"key\":\"KEY\",\"domain\":\"acme\"}");
	expect_params("model show --domain=acme k", "{\"key\":\"k\","
	    "\"domain\":\"acme\"}");
	expect_params("model show -dacme k", "{\"key\":\"k\","
	    "\"domain\":\"acme\"}");
	/* After --, a dash is a positional. */
	expect_params("token revoke -d acme -- -tok",
	    "{\"id\":\"-tok\",\"domain\":\"acme\"}");
	expect_params("model deploy -d acme --provider local --name GPT"
	    " --model-id gpt-4o --key gpt --category embedding --tools --vision"
	    " --price-input $0.150 --price-output 0.6 --price-cached 0"
	    " --temperature 0.5 --max-tokens 100 --guard-in pii --guard-in kw"
	    " --guard-out pii --description d --inactive",
	    "{\"domain\":\"acme\",\"provider\":\"local\",\"name\":\"GPT\","
	    "\"model_id\":\"gpt-4o\",\"key\":\"gpt\",\"category\":\"embedding\","
	    "\"tools\":true,\"vision\":true,\"price_input\":\"0.15\","
	    "\"price_output\":\"0.6\",\"price_cached\":\"0\","
	    "\"temperature\":0.5,\"max_tokens\":100,"
	    "\"guard_in\":[\"pii\",\"kw\"],\"guard_out\":[\"pii\"],"
	    "\"description\":\"d\",\"status\":\"inactive\"}");
	expect_params("model edit -d acme k --no-tools --no-vision"
	    " --temperature none --max-tokens none --new-key k2",
	    "{\"key\":\"k\",\"domain\":\"acme\",\"tools\":false,"
	    "\"vision\":false,\"temperature\":null,\"max_tokens\":null,"
	    "\"new_key\":\"k2\"}");
	expect_params("token create -d acme --name ci --expires 30d --rpm 60"
	    " --tpm 1000 --budget 12.5 --model a --model b",
	    "{\"domain\":\"acme\",\"name\":\"ci\",\"expires_in_s\":2592000,"
	    "\"rpm\":60,\"tpm\":1000,\"budget\":\"12.5\","
	    "\"models\":[\"a\",\"b\"]}");
	expect_params("token create -d acme --expires 12h",
	    "{\"domain\":\"acme\",\"expires_in_s\":43200}");
	expect_params("token create -d acme --expires 90m",
	    "{\"domain\":\"acme\",\"expires_in_s\":5400}");
	expect_params("token create -d acme --expires 3600s",
	    "{\"domain\":\"acme\",\"expires_in_s\":3600}");
	/* The key never becomes a param; only the sealed credential will. */
	expect_params("provider add -d acme local --driver ollama"
	    " --url http://127.0.0.1:11434 --api-key-stdin",
	    "{\"name\":\"local\",\"domain\":\"acme\",\"driver\":\"ollama\","
	    "\"url\":\"http://127.0.0.1:11434\"}");
	/* provider edit: a key flag alone is a change; --no-api-key is null. */
	expect_params("provider edit -d acme local --api-key-file k",
	    "{\"name\":\"local\",\"domain\":\"acme\"}");
	expect_params("provider edit -d acme local --no-api-key --url"
	    " http://h/v1", "{\"name\":\"local\",\"domain\":\"acme\","
	    "\"credential\":null,\"url\":\"http://h/v1\"}");
	/* --responses-api is true, --no-responses-api false. */
	expect_params("provider add -d acme v --driver vllm --url http://h/v1"
	    " --responses-api", "{\"name\":\"v\",\"domain\":\"acme\","
	    "\"driver\":\"vllm\",\"url\":\"http://h/v1\","
	    "\"responses_api\":true}");
	expect_params("provider edit -d acme v --no-responses-api",
	    "{\"name\":\"v\",\"domain\":\"acme\",\"responses_api\":false}");
	/* Global options after the noun are accepted, not sent. */
	expect_params("model list -d acme -o json -s /x.sock",
	    "{\"domain\":\"acme\"}");
}

/* --jwt-* flags nest in the "jwt" object; --no-jwt clears it, alone. */
static void
test_jwt_params(void **state)
{
	(void)state;
	expect_params("domain edit acme --jwt-issuer https://idp.example"
	    " --jwt-audience cube --jwt-jwks-url https://idp.example/jwks"
	    " --jwt-alg RS256 --jwt-alg ES256 --jwt-leeway 30"
	    " --jwt-rpm-claim cube_rpm --jwt-models-claim none --jwt-rpm 5",
	    "{\"domain\":\"acme\",\"jwt\":{\"issuer\":"
	    "\"https://idp.example\",\"audience\":\"cube\",\"jwks_url\":"
	    "\"https://idp.example/jwks\",\"algorithms\":[\"RS256\","
	    "\"ES256\"],\"leeway\":30,\"claims\":{\"rpm\":\"cube_rpm\","
	    "\"models\":null},\"rpm\":5}}");
	expect_params("domain edit acme --no-jwt",
	    "{\"domain\":\"acme\",\"jwt\":null}");
	expect_usage("domain edit acme --no-jwt --jwt-leeway 5",
	    "--no-jwt and --jwt-leeway conflict");
	expect_usage("domain edit acme --jwt-alg HS256", "--jwt-alg");
	expect_usage("domain edit acme --jwt-alg none", "--jwt-alg");
	expect_usage("domain edit acme --jwt-jwks-file /a --jwt-jwks-url"
	    " https://b", "--jwt-jwks");
	expect_usage("domain edit acme --jwt-leeway 601", "--jwt-leeway");
}

static void
test_usage_errors(void **state)
{
	(void)state;
	expect_usage("model list", "missing -d DOMAIN");
	expect_usage("model list -d", "-d needs a value");
	expect_usage("model list -d acme extra", "unexpected argument 'extra'");
	expect_usage("model list -d acme --bogus", "unknown flag --bogus");
	expect_usage("model show -d acme", "missing KEY");
	expect_usage("domain create", "missing NAME");
	expect_usage("domain create Acme", "NAME");
	expect_usage("domain create a.b", "'.'");
	expect_usage("domain edit acme", "nothing to change");
	expect_usage("domain edit acme --log-content yes", "--log-content");
	expect_usage("domain edit acme --trace-retention 0",
	    "--trace-retention");
	expect_usage("domain edit acme --trace-retention 3651",
	    "--trace-retention");
	expect_usage("domain edit acme --trace-retention 7x",
	    "--trace-retention");
	expect_usage("model edit -d acme k", "nothing to change");
	expect_usage("model deploy -d acme --provider p --name n",
	    "missing --model-id");
	expect_usage("model deploy -d acme --name n --model-id m",
	    "missing --provider");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --price-input -1", "--price-input");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --price-output 0.0000000001", "more than 9 decimal");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --price-cached cheap", "--price-cached");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --temperature 2.5", "--temperature");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --temperature nan", "--temperature");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --temperature 0x1", "--temperature");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --max-tokens 10000001", "--max-tokens");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --category chat", "--category: 'chat' is not one of llm,"
	    " embedding");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --key bad!key", "--key");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --no-tools", "unknown flag --no-tools");
	expect_usage("model deploy -d acme --provider p --name n --model-id m"
	    " --name again", "--name: given more than once");
	expect_usage("model edit -d acme k --tools --no-tools",
	    "--tools and --no-tools cannot be used together");
	expect_usage("model edit -d acme k --tools=yes", "takes no value");
	expect_usage("token create -d acme --expires 0", "--expires");
	expect_usage("token create -d acme --expires 3651d", "--expires");
	expect_usage("token create -d acme --expires soon", "--expires");
	expect_usage("token create -d acme --rpm 0", "--rpm");
	expect_usage("token create -d acme --tpm -5", "--tpm");
	expect_usage("token create -d acme --rpm 1.5", "--rpm");
	expect_usage("token create -d acme --budget -3", "--budget");
	expect_usage("provider add -d acme p --url http://x",
	    "missing --driver");
	expect_usage("provider add -d acme p --driver ollama",
	    "missing --url URL");
	expect_usage("provider add -d acme p --driver gpt --url http://x",
	    "--driver: 'gpt' is not one of openai, ollama, vllm");
	expect_usage("provider add -d acme p --driver vllm --url x:8000",
	    "--url");
	expect_usage("provider add -d acme p --driver vllm --url http://",
	    "--url");
	expect_usage("provider add -d acme p --driver vllm --url http://x"
	    " --api-key-stdin --api-key-file f", "cannot be used together");
	expect_usage("provider add -d acme p --driver vllm --url http://x"
	    " --api-key-file", "--api-key-file needs a value");
	expect_usage("provider edit -d acme p", "nothing to change");
	expect_usage("provider edit -d acme p --no-api-key --api-key-stdin",
	    "cannot be used together");
	expect_usage("provider edit -d acme p --responses-api"
	    " --no-responses-api", "cannot be used together");
	expect_usage("model list -d acme -o yaml", "-o: 'yaml'");
	expect_usage("model list -d acme -o", "-o needs a value");
}

/* --deployment, --fallback, --retries: params as the contract says. */
static void
test_deployments(void **state)
{
	(void)state;
	/* Keys in any order, sent in the order given; ids keep their ':'. */
	expect_params("model deploy -d acme --name L --deployment"
	    " provider=a,model-id=llama3:8b,weight=3,priority=0"
	    " --deployment model-id=m/x@1,provider=b"
	    " --fallback small --fallback tiny --retries 0"
	    " --retry-deadline-ms 100",
	    "{\"domain\":\"acme\",\"name\":\"L\",\"deployments\":["
	    "{\"provider\":\"a\",\"model_id\":\"llama3:8b\","
	    "\"weight\":3,\"priority\":0},"
	    "{\"model_id\":\"m/x@1\",\"provider\":\"b\"}],"
	    "\"fallbacks\":[\"small\",\"tiny\"],\"retries\":0,"
	    "\"retry_deadline_ms\":100}");
	/* The old flags stay one deployment. */
	expect_params("model deploy -d acme --name L --provider p"
	    " --model-id m:1", "{\"domain\":\"acme\",\"name\":\"L\","
	    "\"provider\":\"p\",\"model_id\":\"m:1\"}");
	expect_params("model edit -d acme k --deployment"
	    " provider=p,model-id=m,weight=1000,priority=100 --retries 5"
	    " --retry-deadline-ms 600000",
	    "{\"key\":\"k\",\"domain\":\"acme\",\"deployments\":["
	    "{\"provider\":\"p\",\"model_id\":\"m\",\"weight\":1000,"
	    "\"priority\":100}],\"retries\":5,"
	    "\"retry_deadline_ms\":600000}");
	expect_params("model edit -d acme k --no-fallbacks",
	    "{\"key\":\"k\",\"domain\":\"acme\",\"fallbacks\":[]}");
	expect_params("model edit -d acme k --provider q",
	    "{\"key\":\"k\",\"domain\":\"acme\",\"provider\":\"q\"}");
	expect_params("model edit -d acme k --deployment=provider=p,model-id=m",
	    "{\"key\":\"k\",\"domain\":\"acme\",\"deployments\":["
	    "{\"provider\":\"p\",\"model_id\":\"m\"}]}");
}

static void
test_deployment_errors(void **state)
{
	(void)state;
	expect_usage("model deploy -d acme --name n",
	    "missing --provider P (or --deployment)");
	expect_usage("model deploy -d acme --name n --provider p",
	    "missing --model-id ID (or --deployment)");
	expect_usage("model deploy -d acme --name n --provider p"
	    " --deployment provider=p,model-id=m",
	    "--deployment and --provider cannot be used together");
	expect_usage("model edit -d acme k --model-id m"
	    " --deployment provider=p,model-id=m",
	    "--deployment and --model-id cannot be used together");
	expect_usage("model edit -d acme k --deployment provider=p",
	    "--deployment: missing model-id=");
	expect_usage("model edit -d acme k --deployment model-id=m",
	    "--deployment: missing provider=");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,region=eu",
	    "--deployment: unknown key 'region' (valid: provider, model-id,"
	    " weight, priority)");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model_id=m",
	    "--deployment: unknown key 'model_id'");
	expect_usage("model edit -d acme k --deployment provider=p,m",
	    "--deployment: 'm' is not KEY=VALUE");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=",
	    "--deployment: model-id= is empty");
	expect_usage("model edit -d acme k --deployment"
	    " provider=,model-id=m", "--deployment: provider= is empty");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,,model-id=m", "--deployment: an empty item");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,", "--deployment: an empty item");
	expect_usage("model edit -d acme k --deployment=",
	    "--deployment: an empty item");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,provider=q",
	    "--deployment: provider= given twice");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,weight=0",
	    "--deployment weight: '0' is not an integer from 1 to 1000");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,weight=1001", "--deployment weight:");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,weight=2x", "--deployment weight:");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,weight=-1", "--deployment weight:");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,priority=101",
	    "--deployment priority: '101' is not an integer from 0 to 100");
	expect_usage("model edit -d acme k --deployment"
	    " provider=p,model-id=m,priority=1e2", "--deployment priority:");
	expect_usage("model edit -d acme k --deployment"
	    " provider=a/b,model-id=m", "--deployment provider: 'a/b' may not"
	    " contain '/'");
	expect_usage("model edit -d acme k --deployment provider=p,model-id=m"
	    " --deployment model-id=m,provider=p,weight=2",
	    "--deployment: provider p, model id m given twice");
	expect_usage("model edit -d acme k --fallback a --fallback a",
	    "--fallback: 'a' given twice");
	expect_usage("model edit -d acme k --fallback a --no-fallbacks",
	    "--fallback and --no-fallbacks cannot be used together");
	expect_usage("model edit -d acme k --fallback bad!",
	    "--fallback");
	expect_usage("model edit -d acme k --fallback a --fallback b"
	    " --fallback c --fallback d --fallback e --fallback f --fallback g"
	    " --fallback h --fallback i", "--fallback: at most 8");
	expect_usage("model edit -d acme k --retries 6",
	    "--retries: '6' is not an integer from 0 to 5");
	expect_usage("model edit -d acme k --retry-deadline-ms 99",
	    "--retry-deadline-ms: '99' is not an integer from 100 to 600000");
	expect_usage("model deploy -d acme --name n --no-fallbacks"
	    " --provider p --model-id m", "unknown flag --no-fallbacks");
	expect_usage("model edit -d acme k --deployment",
	    "--deployment needs a value");
}

/* At most 16 deployments. */
static void
test_deployments_max(void **state)
{
	char	line[2048];
	size_t	n, i;

	(void)state;
	n = snprintf(line, sizeof(line), "model edit -d acme k");
	for (i = 0; i < 17; i++)
		n += snprintf(line + n, sizeof(line) - n, " --deployment"
		    " provider=p,model-id=m%zu", i);
	expect_usage(line, "--deployment: at most 16");
	/* Sixteen are fine. */
	line[strlen(line) - strlen(" --deployment provider=p,model-id=m16")] =
	    '\0';
	{
		char	err[512], *got = parse(line, err, sizeof(err));

		if (got == NULL)
			fail_msg("%s: %s", line, err);
		assert_non_null(strstr(got, "\"model_id\":\"m15\"}]"));
		free(got);
	}
}

/* Does this argument list (after noun and verb) ask for help? */
static int
wants_help(const struct cmd_entry *ce, const char *args)
{
	char	line[256], *argv[MAXARGS];
	int	argc;

	snprintf(line, sizeof(line), "%s", args);
	argc = split(line, argv);
	return args_wants_help(ce->flags, cmd_global_flags, argc, argv);
}

/* -h and --help where a flag may stand, not as a flag's value. */
static void
test_wants_help(void **state)
{
	const struct cmd_entry	*ce;

	(void)state;
	ce = entry("model", "deploy");
	assert_true(wants_help(ce, "-d acme --help"));
	assert_true(wants_help(ce, "k -h"));
	assert_true(wants_help(ce, "--bogus -h"));
	assert_false(wants_help(ce, "--system-prompt -h -d x"));
	assert_false(wants_help(ce, "-d x -- -h"));
	assert_false(wants_help(ce, "-d x"));
}

/* Leading global options stop at the noun. */
static void
test_globals(void **state)
{
	struct args	 a;
	char		 line[] = "-s /x.sock -o json -H h model list -d acme";
	char		 line2[] = "-d acme model list";
	char		*argv[MAXARGS], err[256];
	int		 argc, n;

	(void)state;
	argc = split(line, argv);
	n = args_parse(&a, cmd_global_flags, NULL, argc, argv,
	    ARGS_STOP_AT_POSITIONAL, err, sizeof(err));
	assert_int_equal(n, 6);
	assert_string_equal(args_get(&a, "-s")->string, "/x.sock");
	assert_string_equal(args_get(&a, "-o")->string, "json");
	assert_string_equal(args_get(&a, "-H")->string, "h");
	assert_false(args_has(&a, "--help"));
	args_free(&a);

	argc = split(line2, argv);
	assert_int_equal(args_parse(&a, cmd_global_flags, NULL, argc, argv,
	    ARGS_STOP_AT_POSITIONAL, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown flag -d");
}

/* Synopses come from the table, in the DESIGN.md order. */
static void
test_synopsis(void **state)
{
	char	buf[1024];

	(void)state;
	cmd_synopsis(entry("provider", "add"), buf, sizeof(buf));
	assert_string_equal(buf, "provider add -d DOMAIN NAME --driver"
	    " openai|ollama|vllm --url URL [--api-key-stdin |"
	    " --api-key-file FILE] [--responses-api] [--attest-policy FILE]");
	cmd_synopsis(entry("domain", "edit"), buf, sizeof(buf));
	assert_string_equal(buf, "domain edit DOMAIN [--log-content on|off]"
	    " [--trace-retention DAYS] [--cors-origin ORIGIN | --no-cors]"
	    " [--jwt-issuer ISS] [--jwt-audience AUD] [--jwt-jwks-file FILE |"
	    " --jwt-jwks-url URL] [--jwt-alg ALG]... [--jwt-leeway SECONDS]"
	    " [--jwt-refresh SECONDS] [--jwt-domain-claim CLAIM]"
	    " [--jwt-rpm-claim CLAIM] [--jwt-tpm-claim CLAIM]"
	    " [--jwt-budget-claim CLAIM] [--jwt-models-claim CLAIM]"
	    " [--jwt-rpm N] [--jwt-tpm N] [--no-jwt]"
	    " [--require-attested | --no-require-attested]");
	cmd_synopsis(entry("model", "show"), buf, sizeof(buf));
	assert_string_equal(buf, "model show -d DOMAIN KEY");
	cmd_synopsis(entry("status", NULL), buf, sizeof(buf));
	assert_string_equal(buf, "status");
	cmd_synopsis(entry("token", "create"), buf, sizeof(buf));
	assert_string_equal(buf, "token create -d DOMAIN [--name N]"
	    " [--expires DURATION] [--rpm N] [--tpm N] [--budget USD]"
	    " [--budget-period day|week|month|none] [--model KEY]..."
	    " [--id ID] [--secret-file FILE | --secret-stdin]");
}

/* Every verb's --help names every one of its flags. */
static void
test_help_complete(void **state)
{
	const struct args_flag	*f;
	char			*text;
	size_t			 len, i;
	FILE			*fp;

	(void)state;
	for (i = 0; i < cmd_table_size; i++) {
		fp = open_memstream(&text, &len);
		cmd_print_help(fp, &cmd_table[i]);
		fclose(fp);
		assert_non_null(strstr(text, cmd_table[i].noun));
		for (f = cmd_table[i].flags; f->name != NULL; f++)
			if (strstr(text, f->name) == NULL)
				fail_msg("%s %s --help lacks %s",
				    cmd_table[i].noun, cmd_table[i].verb,
				    f->name);
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_jwt_params),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_deployments),
		cmocka_unit_test(test_deployment_errors),
		cmocka_unit_test(test_deployments_max),
		cmocka_unit_test(test_wants_help),
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_synopsis),
		cmocka_unit_test(test_help_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
