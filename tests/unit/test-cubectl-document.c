/*
 * tui/document.c: the export/apply document, its checks (each naming the
 * JSON path), the export shape and the comparison apply makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cubectl.h"

#define PROVIDER	"{\"name\":\"local\",\"driver\":\"openai\"," \
			"\"url\":\"http://h/v1\"}"
#define MODEL		"{\"key\":\"chat\",\"name\":\"Chat\"," \
			"\"model_id\":\"m\",\"provider\":\"local\"}"

/* A document with one domain "acme" whose body is the given members. */
static char *
doc_text(const char *members)
{
	char	*s;

	if (asprintf(&s, "{\"cube_export\":1,\"domains\":[{\"name\":\"acme\""
	    "%s%s}]}", *members ? "," : "", members) == -1)
		fail();
	return s;
}

/* Check text (against current, may be NULL); err, or "" when accepted. */
static void
check(const char *text, const char *current, const char *want)
{
	cJSON	*doc, *cur = NULL;
	char	 err[512] = "";

	doc = document_parse(text, strlen(text), err, sizeof(err));
	if (doc != NULL) {
		if (current != NULL)
			assert_non_null(cur = cJSON_Parse(current));
		if (document_check(doc, cur, err, sizeof(err)) == 0)
			err[0] = '\0';
	}
	if (*want == '\0' && *err != '\0')
		fail_msg("%s: refused: %s", text, err);
	if (strstr(err, want) == NULL || (*want != '\0' && *err == '\0'))
		fail_msg("%s: '%s' does not say '%s'", text, err, want);
	cJSON_Delete(doc);
	cJSON_Delete(cur);
}

static void
check_domain(const char *members, const char *want)
{
	char	*text = doc_text(members);

	check(text, NULL, want);
	free(text);
}

static void
test_accepts(void **state)
{
	(void)state;
	check("{\"cube_export\":1,\"domains\":[]}", NULL, "");
	check_domain("", "");
	check_domain("\"log_content\":true,\"trace_retention_days\":7,"
	    "\"providers\":[" PROVIDER "],\"models\":[" MODEL "],"
	    "\"tokens\":[{\"name\":null,\"status\":\"revoked\",\"rpm\":5,"
	    "\"budget\":\"1.5\",\"models\":[\"chat\"]}]", "");
	check_domain("\"providers\":[{\"name\":\"p\",\"driver\":\"vllm\","
	    "\"url\":\"https://h/v1\",\"credential\":\"sealed\","
	    "\"api_key_env\":\"KEY\"}]", "");
	check_domain("\"providers\":[" PROVIDER "],\"models\":[{\"key\":\"k\","
	    "\"name\":\"n\",\"model_id\":\"m\",\"provider\":\"local\","
	    "\"temperature\":null,\"max_tokens\":null,\"system_prompt\":\"\","
	    "\"price_input\":\"0.000000001\",\"guard_in\":[\"pii\"],"
	    "\"status\":\"inactive\",\"category\":\"embedding\"}]", "");
	check_domain("\"jwt\":null", "");
	check_domain("\"jwt\":{\"issuer\":\"https://idp.example\"}", "");
}

static void
test_refuses(void **state)
{
	(void)state;
	check("{\"cube_export\":1,\"domains\":[", NULL, "line 1, column 28");
	check("{\"cube_export\":1,\"domains\":[]} x", NULL,
	    "text after the document");
	/* cJSON would cut the name to "ev"; an escaped backslash is fine. */
	check("{\"cube_export\":1,\"domains\":[{\"name\":\"ev\\u0000il\"}]}",
	    NULL, "line 1, column 40: a NUL character");
	check("{\"cube_export\":1,\"domains\":[{\"name\":\"ev\\\\u0000il\"}]}",
	    NULL, "domains[0].name");
	check("[]", NULL, "expected an object");
	check("{\"domains\":[]}", NULL, "document: missing \"cube_export\"");
	check("{\"cube_export\":2,\"domains\":[]}", NULL, "cube_export: 2 is"
	    " not from 1 to 1");
	check("{\"cube_export\":1,\"domains\":[],\"domains\":[]}", NULL,
	    "domains: given twice");
	check("{\"cube_export\":1,\"domains\":[],\"extra\":1}", NULL,
	    "extra: unknown field");
	check_domain("\"name\":\"b\"", "domains[0].name: given twice");
	check_domain("\"log_content\":\"on\"",
	    "domains[0].log_content: expected true or false");
	check_domain("\"trace_retention_days\":0",
	    "domains[0].trace_retention_days: 0 is not from 1 to 3650");
	check_domain("\"trace_retention_days\":1.5",
	    "domains[0].trace_retention_days: expected an integer");
	check_domain("\"jwt\":\"on\"", "domains[0].jwt: expected an object");
	check_domain("\"jwt\":[]", "domains[0].jwt: expected an object");
	check("{\"cube_export\":1,\"domains\":[{\"name\":\"Acme\"}]}", NULL,
	    "domains[0].name: 'Acme' may not contain 'A'");
	check("{\"cube_export\":1,\"domains\":[{\"name\":\"a\"},"
	    "{\"name\":\"a\"}]}", NULL, "domains[1].name: 'a' is also at"
	    " domains[0]");
	check_domain("\"providers\":[{\"name\":\"p\",\"driver\":\"tgi\","
	    "\"url\":\"http://h\"}]", "domains[0].providers[0].driver: 'tgi'"
	    " is not one of openai, ollama, vllm");
	check_domain("\"providers\":[{\"name\":\"p\",\"driver\":\"vllm\","
	    "\"url\":\"ftp://h\"}]", "domains[0].providers[0].url: 'ftp://h'");
	check_domain("\"providers\":[{\"name\":\"p\",\"driver\":\"vllm\"}]",
	    "domains[0].providers[0]: missing \"url\"");
	check_domain("\"providers\":[{\"name\":\"p\",\"driver\":\"vllm\","
	    "\"url\":\"http://h\",\"api_key\":\"sk-1\"}]",
	    "domains[0].providers[0].api_key: keys are never put in a"
	    " document");
	check_domain("\"providers\":[{\"name\":\"p\",\"driver\":\"vllm\","
	    "\"url\":\"http://h\",\"api_key_file\":\"f\",\"api_key_env\":"
	    "\"E\"}]", "cannot be used together");
	check_domain("\"providers\":[{\"name\":\"p\",\"driver\":\"vllm\","
	    "\"url\":\"http://h\",\"api_key_file\":\"f\",\"credential\":"
	    "\"none\"}]", "credential is \"none\" but api_key_file");
	check_domain("\"providers\":[" PROVIDER "," PROVIDER "]",
	    "domains[0].providers[1].name: 'local' is also at");
	check_domain("\"providers\":{}", "domains[0].providers: expected an"
	    " array");
	check_domain("\"models\":[{\"key\":\"k\"}]",
	    "domains[0].models[0]: missing \"name\"");
	check_domain("\"providers\":[" PROVIDER "],\"models\":[" MODEL ","
	    MODEL "]", "domains[0].models[1].key: 'chat' is also at");
	check_domain("\"models\":[{\"key\":\"k\",\"name\":\"n\",\"model_id\":"
	    "\"m\",\"provider\":\"p\",\"price_input\":0.1}]",
	    "domains[0].models[0].price_input: expected a string");
	check_domain("\"models\":[{\"key\":\"k\",\"name\":\"n\",\"model_id\":"
	    "\"m\",\"provider\":\"p\",\"temperature\":3}]",
	    "domains[0].models[0].temperature: 3 is not from 0 to 2");
	check_domain("\"models\":[{\"key\":\"k\",\"name\":\"n\",\"model_id\":"
	    "\"m\",\"provider\":\"p\",\"status\":\"on\"}]",
	    "domains[0].models[0].status: 'on' is not one of active,"
	    " inactive");
	check_domain("\"models\":[{\"key\":\"k\",\"name\":\"n\",\"model_id\":"
	    "\"m\",\"provider\":\"p\",\"guard_in\":[\"a b\"]}]",
	    "domains[0].models[0].guard_in[0]: 'a b' may not contain ' '");
	check_domain("\"models\":[{\"key\":\"k\",\"name\":\"n\",\"model_id\":"
	    "\"m\",\"provider\":\"p\",\"description\":null}]",
	    "domains[0].models[0].description: may not be null");
	check_domain("\"tokens\":[{\"secret\":\"x\"}]",
	    "domains[0].tokens[0].secret: unknown field of a token");
}

/* Against the agent: providers it has count, keys it has can be kept. */
static void
test_against_agent(void **state)
{
	const char	*agent = "{\"cube_export\":1,\"domains\":[{\"name\":"
			    "\"acme\",\"providers\":[{\"name\":\"local\","
			    "\"credential\":\"sealed\"},{\"name\":\"bare\","
			    "\"credential\":\"none\"}]}]}";
	const char	*empty = "{\"cube_export\":1,\"domains\":[]}";
	char		*text;

	(void)state;
	text = doc_text("\"models\":[" MODEL "]");
	check(text, NULL, "");
	check(text, agent, "");
	check(text, empty, "domains[0].models[0].provider: provider 'local'"
	    " is neither in the document nor on the agent");
	free(text);
	text = doc_text("\"providers\":[{\"name\":\"local\",\"driver\":"
	    "\"openai\",\"url\":\"http://h\",\"credential\":\"sealed\"}]");
	check(text, agent, "");
	check(text, empty, "domains[0].providers[0]: credential is \"sealed\""
	    " but the agent has no key");
	free(text);
	text = doc_text("\"providers\":[{\"name\":\"bare\",\"driver\":"
	    "\"openai\",\"url\":\"http://h\",\"credential\":\"sealed\"}]");
	check(text, agent, "the agent has no key");
	free(text);
}

/* API objects to document objects: flat, every field, no ids or times. */
static void
test_export_shape(void **state)
{
	cJSON	*domain, *providers, *guardrails, *models, *tokens, *d, *m;
	char	*s;

	(void)state;
	domain = cJSON_Parse("{\"id\":\"x\",\"name\":\"acme\",\"log_content\":"
	    "false,\"trace_retention_days\":30,\"created_at\":\"t\","
	    "\"cors_origins\":[\"https://a.example\"],\"jwt\":{\"issuer\":"
	    "\"https://idp.example\",\"audience\":\"cube\"}}");
	providers = cJSON_Parse("[{\"name\":\"local\",\"driver\":\"openai\","
	    "\"url\":\"http://h\",\"credential\":\"sealed\",\"fingerprint\":"
	    "\"0011\",\"status\":\"errored\",\"error\":\"e\","
	    "\"responses_api\":true}]");
	models = cJSON_Parse("[{\"key\":\"k\",\"name\":\"n\",\"model_id\":\"m\","
	    "\"provider\":\"local\",\"category\":\"llm\",\"capabilities\":"
	    "{\"tools\":true,\"vision\":false},\"pricing\":{\"input\":\"0.15\","
	    "\"output\":\"0.6\",\"cached\":\"0\"},\"status\":\"active\","
	    "\"settings\":{\"temperature\":0.25,\"max_tokens\":null,"
	    "\"system_prompt\":null},\"guardrails\":{\"input\":[\"pii\"],"
	    "\"output\":[]},\"description\":\"\",\"created_at\":\"t\"}]");
	tokens = cJSON_Parse("[{\"id\":\"tok_1\",\"name\":\"ci\",\"status\":"
	    "\"active\",\"expires_at\":null,\"models\":null,\"rpm\":5,"
	    "\"tpm\":null,\"budget\":null,\"created_at\":\"t\"}]");
	guardrails = cJSON_Parse("[{\"key\":\"pii\",\"kind\":\"pii\","
	    "\"action\":\"redact\",\"types\":[\"email\"],\"patterns\":null,"
	    "\"words\":null,\"max_chars\":null,\"max_messages\":null,"
	    "\"description\":\"\",\"created_at\":\"t\"}]");
	d = document_domain_new(domain, providers, guardrails, models, tokens);
	s = cJSON_PrintUnformatted(d);
	assert_string_equal(s, "{\"name\":\"acme\",\"log_content\":false,"
	    "\"trace_retention_days\":30,\"cors_origins\":"
	    "[\"https://a.example\"],\"jwt\":{\"issuer\":"
	    "\"https://idp.example\",\"audience\":\"cube\"},"
	    "\"providers\":[{\"name\":\"local\","
	    "\"driver\":\"openai\",\"url\":\"http://h\",\"credential\":"
	    "\"sealed\",\"responses_api\":true}],\"guardrails\":[{\"key\":\"pii\",\"kind\":"
	    "\"pii\",\"action\":\"redact\",\"types\":[\"email\"],"
	    "\"patterns\":null,\"words\":null,\"max_chars\":null,"
	    "\"max_messages\":null,\"description\":\"\"}],"
	    "\"models\":[{\"key\":\"k\",\"name\":\"n\","
	    "\"model_id\":\"m\",\"provider\":\"local\",\"category\":\"llm\","
	    "\"tools\":true,\"vision\":false,\"price_input\":\"0.15\","
	    "\"price_output\":\"0.6\",\"price_cached\":\"0\",\"temperature\":"
	    "0.25,\"max_tokens\":null,\"system_prompt\":null,\"guard_in\":"
	    "[\"pii\"],\"guard_out\":[],\"description\":\"\",\"status\":"
	    "\"active\"}],\"tokens\":[{\"name\":\"ci\",\"status\":\"active\","
	    "\"expires_at\":null,\"models\":null,\"rpm\":5,\"tpm\":null,"
	    "\"budget\":null,\"budget_period\":null}]}");
	free(s);

	/* What apply would change on the model: only what differs. */
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "models"), 0);
	assert_null(document_model_changes(m, m));
	{
		cJSON	*want = cJSON_Parse("{\"key\":\"k\",\"name\":\"n\","
			    "\"price_input\":\"0.150\",\"price_output\":\"0.7\","
			    "\"temperature\":null,\"guard_in\":[\"pii\"]}");
		cJSON	*changes = document_model_changes(want, m);

		s = cJSON_PrintUnformatted(changes);
		assert_string_equal(s, "{\"price_output\":\"0.7\","
		    "\"temperature\":null}");
		free(s);
		cJSON_Delete(changes);
		cJSON_Delete(want);
	}
	{
		cJSON	*want = cJSON_Parse("{\"name\":\"acme\","
			    "\"trace_retention_days\":7}");
		cJSON	*changes = document_domain_changes(want, d);

		s = cJSON_PrintUnformatted(changes);
		assert_string_equal(s, "{\"trace_retention_days\":7}");
		free(s);
		cJSON_Delete(changes);
		cJSON_Delete(want);
	}
	cJSON_Delete(d);
	cJSON_Delete(domain);
	cJSON_Delete(providers);
	cJSON_Delete(guardrails);
	cJSON_Delete(models);
	cJSON_Delete(tokens);
}

#define OLLAMA		"{\"name\":\"oll\",\"driver\":\"ollama\"," \
			"\"url\":\"http://o\"}"
#define DEP(p, m)	"{\"provider\":\"" p "\",\"model_id\":\"" m "\"}"

/* A model of these members (after key and name) in a domain with PROVIDER. */
static void
check_model(const char *members, const char *current, const char *want)
{
	char	*text, *body;

	if (asprintf(&body, "\"providers\":[" PROVIDER "," OLLAMA "],"
	    "\"models\":[{\"key\":\"chat\",\"name\":\"Chat\"%s%s},"
	    "{\"key\":\"small\",\"name\":\"S\",\"provider\":\"local\","
	    "\"model_id\":\"s\"}]", *members ? "," : "", members) == -1)
		fail();
	text = doc_text(body);
	check(text, current, want);
	free(text);
	free(body);
}

/* Deployments, fallbacks and retries: the two forms, bounds, references. */
static void
test_deployments(void **state)
{
	const char	*agent = "{\"cube_export\":1,\"domains\":[{\"name\":"
			    "\"acme\",\"providers\":[{\"name\":\"far\","
			    "\"driver\":\"vllm\"}],\"models\":[{\"key\":"
			    "\"onagent\"}]}]}";
	char		 many[4096];
	size_t		 n, i;

	(void)state;
	/* Accepted: the list alone, with the first pair, the old form. */
	check_model("\"deployments\":[{\"provider\":\"local\",\"model_id\":"
	    "\"a:1\",\"weight\":1000,\"priority\":100}," DEP("local", "b") "],"
	    "\"fallbacks\":[\"small\"],\"retries\":0,"
	    "\"retry_deadline_ms\":600000", NULL, "");
	check_model("\"provider\":\"local\",\"model_id\":\"a\","
	    "\"deployments\":[" DEP("local", "a") "," DEP("local", "b") "],"
	    "\"fallbacks\":[]", NULL, "");
	check_model("\"provider\":\"local\",\"model_id\":\"a\"", NULL, "");
	check_model("\"deployments\":[" DEP("far", "a") "],\"fallbacks\":"
	    "[\"onagent\",\"small\"]", agent, "");

	/* The forms. */
	check_model("", NULL, "domains[0].models[0]: missing \"provider\""
	    " (or \"deployments\")");
	check_model("\"provider\":\"local\"", NULL, "domains[0].models[0]:"
	    " missing \"model_id\" (or \"deployments\")");
	check_model("\"provider\":\"oll\",\"deployments\":[" DEP("local", "a")
	    "]", NULL, "domains[0].models[0].provider: 'oll' is not the first"
	    " deployment's 'local'");
	check_model("\"model_id\":\"b\",\"deployments\":[" DEP("local", "a")
	    "," DEP("local", "b") "]", NULL, "domains[0].models[0].model_id:"
	    " 'b' is not the first deployment's 'a'");

	/* The list. */
	check_model("\"deployments\":[]", NULL, "domains[0].models[0]"
	    ".deployments: 0 deployments: give 1 to 16");
	n = snprintf(many, sizeof(many), "\"deployments\":[");
	for (i = 0; i < 17; i++)
		n += snprintf(many + n, sizeof(many) - n, "%s{\"provider\":"
		    "\"local\",\"model_id\":\"m%zu\"}", i ? "," : "", i);
	snprintf(many + n, sizeof(many) - n, "]");
	check_model(many, NULL, "17 deployments: give 1 to 16");
	check_model("\"deployments\":[" DEP("local", "a") "," DEP("local", "b")
	    ",{\"model_id\":\"a\",\"provider\":\"local\",\"weight\":2}]", NULL,
	    "domains[0].models[0].deployments[2]: provider 'local' and"
	    " model_id 'a' are also at domains[0].models[0].deployments[0]");
	check_model("\"deployments\":[" DEP("local", "a") "," DEP("oll", "b")
	    "]", NULL, "domains[0].models[0].deployments[1].provider: provider"
	    " 'oll' is ollama and 'local' is not: a model's deployments all"
	    " speak one wire format");
	check_model("\"deployments\":{}", NULL, "domains[0].models[0]"
	    ".deployments: expected an array");
	check_model("\"deployments\":[\"local\"]", NULL, "domains[0].models[0]"
	    ".deployments[0]: expected an object (a deployment)");
	check_model("\"deployments\":[{\"provider\":\"local\"}]", NULL,
	    "domains[0].models[0].deployments[0]: missing \"model_id\"");
	check_model("\"deployments\":[{\"provider\":\"local\",\"model_id\":"
	    "\"a\",\"region\":\"eu\"}]", NULL, "domains[0].models[0]"
	    ".deployments[0].region: unknown field of a deployment");
	check_model("\"deployments\":[{\"provider\":\"local\",\"model_id\":"
	    "\"a\",\"weight\":0}]", NULL, "deployments[0].weight: 0 is not"
	    " from 1 to 1000");
	check_model("\"deployments\":[{\"provider\":\"local\",\"model_id\":"
	    "\"a\",\"weight\":1.5}]", NULL, "deployments[0].weight: expected"
	    " an integer");
	check_model("\"deployments\":[{\"provider\":\"local\",\"model_id\":"
	    "\"a\",\"priority\":101}]", NULL, "deployments[0].priority: 101"
	    " is not from 0 to 100");
	check_model("\"deployments\":[{\"provider\":\"local\",\"model_id\":"
	    "\"\"}]", NULL, "deployments[0].model_id: must not be empty");
	check_model("\"deployments\":[{\"provider\":\"a/b\",\"model_id\":"
	    "\"m\"}]", NULL, "deployments[0].provider: 'a/b' may not contain"
	    " '/'");
	check_model("\"deployments\":[" DEP("gone", "a") "]", agent,
	    "domains[0].models[0].deployments[0].provider: provider 'gone' is"
	    " neither in the document nor on the agent");

	/* Fallbacks and retries. */
	check_model("\"provider\":\"local\",\"model_id\":\"a\",\"fallbacks\":"
	    "[\"chat\"]", NULL, "domains[0].models[0].fallbacks[0]: a model"
	    " cannot fall back to itself");
	check_model("\"provider\":\"local\",\"model_id\":\"a\",\"fallbacks\":"
	    "[\"small\",\"x\",\"small\"]", NULL, "domains[0].models[0]"
	    ".fallbacks[2]: 'small' is also at domains[0].models[0]"
	    ".fallbacks[0]");
	check_model("\"provider\":\"local\",\"model_id\":\"a\",\"fallbacks\":"
	    "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]", NULL,
	    "domains[0].models[0].fallbacks: 9 fallbacks: give at most 8");
	check_model("\"provider\":\"local\",\"model_id\":\"a\",\"fallbacks\":"
	    "[\"nowhere\"]", agent, "domains[0].models[0].fallbacks[0]: model"
	    " 'nowhere' is neither in the document nor on the agent");
	check_model("\"provider\":\"local\",\"model_id\":\"a\",\"fallbacks\":"
	    "null", NULL, "fallbacks: may not be null");
	check_model("\"provider\":\"local\",\"model_id\":\"a\",\"fallbacks\":"
	    "[\"bad key\"]", NULL, "fallbacks[0]: 'bad key' may not contain"
	    " ' '");
	check_model("\"provider\":\"local\",\"model_id\":\"a\",\"retries\":6",
	    NULL, "domains[0].models[0].retries: 6 is not from 0 to 5");
	check_model("\"provider\":\"local\",\"model_id\":\"a\","
	    "\"retry_deadline_ms\":99", NULL, "retry_deadline_ms: 99 is not"
	    " from 100 to 600000");
}

static char *
print_delete(cJSON *o)
{
	char	*s = o != NULL ? cJSON_PrintUnformatted(o) : strdup("(null)");

	cJSON_Delete(o);
	return s;
}

static void
expect_json(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

/* Export carries them without live state; apply sends what differs. */
static void
test_deployments_export(void **state)
{
	cJSON	*domain, *list, *d, *m, *want;

	(void)state;
	domain = cJSON_Parse("{\"name\":\"acme\"}");
	list = cJSON_Parse("[{\"key\":\"k\",\"name\":\"n\",\"model_id\":\"a\","
	    "\"provider\":\"p\",\"deployments\":[{\"provider\":\"p\","
	    "\"model_id\":\"a\",\"weight\":3,\"priority\":0,\"breaker\":"
	    "\"open\",\"outstanding\":2,\"failures\":7},{\"provider\":\"q\","
	    "\"model_id\":\"b\",\"weight\":1,\"priority\":1,\"breaker\":"
	    "\"closed\",\"outstanding\":0,\"failures\":0}],\"fallbacks\":"
	    "[\"small\"],\"retries\":2,\"retry_deadline_ms\":30000}]");
	d = document_domain_new(domain, NULL, NULL, list, NULL);
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "models"), 0);
	expect_json(cJSON_PrintUnformatted(m), "{\"key\":\"k\",\"name\":\"n\","
	    "\"model_id\":\"a\",\"provider\":\"p\",\"category\":null,"
	    "\"tools\":null,\"vision\":null,\"price_input\":null,"
	    "\"price_output\":null,\"price_cached\":null,\"temperature\":null,"
	    "\"max_tokens\":null,\"system_prompt\":null,\"guard_in\":null,"
	    "\"guard_out\":null,\"description\":null,\"status\":null,"
	    "\"deployments\":[{\"provider\":\"p\",\"model_id\":\"a\","
	    "\"weight\":3,\"priority\":0},{\"provider\":\"q\",\"model_id\":"
	    "\"b\",\"weight\":1,\"priority\":1}],\"fallbacks\":[\"small\"],"
	    "\"retries\":2,\"retry_deadline_ms\":30000}");
	assert_null(document_model_changes(m, m));

	/* Left-out weight and priority are 1 and 0: the same list. */
	want = cJSON_Parse("{\"key\":\"k\",\"deployments\":[{\"provider\":"
	    "\"p\",\"model_id\":\"a\",\"weight\":3},{\"provider\":\"q\","
	    "\"model_id\":\"b\",\"priority\":1}]}");
	assert_null(document_model_changes(want, m));
	cJSON_Delete(want);

	/* Another weight: the whole list, never the old pair beside it. */
	want = cJSON_Parse("{\"key\":\"k\",\"provider\":\"p\",\"model_id\":"
	    "\"a\",\"deployments\":[{\"provider\":\"p\",\"model_id\":\"a\"},"
	    "{\"provider\":\"q\",\"model_id\":\"b\",\"priority\":1}],"
	    "\"retries\":2,\"fallbacks\":[]}");
	expect_json(print_delete(document_model_changes(want, m)),
	    "{\"deployments\":[{\"provider\":\"p\",\"model_id\":\"a\"},"
	    "{\"provider\":\"q\",\"model_id\":\"b\",\"priority\":1}],"
	    "\"fallbacks\":[]}");
	expect_json(print_delete(document_model_settings(want)),
	    "{\"key\":\"k\",\"deployments\":[{\"provider\":\"p\","
	    "\"model_id\":\"a\"},{\"provider\":\"q\",\"model_id\":\"b\","
	    "\"priority\":1}],\"fallbacks\":[],\"retries\":2}");
	cJSON_Delete(want);

	/* Another order is another list. */
	want = cJSON_Parse("{\"key\":\"k\",\"deployments\":[{\"provider\":"
	    "\"q\",\"model_id\":\"b\",\"priority\":1},{\"provider\":\"p\","
	    "\"model_id\":\"a\",\"weight\":3}]}");
	expect_json(print_delete(document_model_changes(want, m)),
	    "{\"deployments\":[{\"provider\":\"q\",\"model_id\":\"b\","
	    "\"priority\":1},{\"provider\":\"p\",\"model_id\":\"a\","
	    "\"weight\":3}]}");
	cJSON_Delete(want);

	/* The old pair alone, as the first deployment is: no change. */
	want = cJSON_Parse("{\"key\":\"k\",\"provider\":\"p\",\"model_id\":"
	    "\"a\"}");
	assert_null(document_model_changes(want, m));
	cJSON_Delete(want);
	want = cJSON_Parse("{\"key\":\"k\",\"provider\":\"q\",\"model_id\":"
	    "\"a\"}");
	expect_json(print_delete(document_model_changes(want, m)),
	    "{\"provider\":\"q\"}");
	cJSON_Delete(want);

	/* An agent without deployments: exported as before. */
	cJSON_Delete(list);
	cJSON_Delete(d);
	list = cJSON_Parse("[{\"key\":\"k\",\"name\":\"n\",\"model_id\":\"a\","
	    "\"provider\":\"p\"}]");
	d = document_domain_new(domain, NULL, NULL, list, NULL);
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "models"), 0);
	assert_null(cJSON_GetObjectItem(m, "deployments"));
	assert_null(cJSON_GetObjectItem(m, "fallbacks"));
	assert_null(cJSON_GetObjectItem(m, "retries"));
	assert_null(cJSON_GetObjectItem(m, "retry_deadline_ms"));
	cJSON_Delete(list);
	cJSON_Delete(d);
	cJSON_Delete(domain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_against_agent),
		cmocka_unit_test(test_export_shape),
		cmocka_unit_test(test_deployments),
		cmocka_unit_test(test_deployments_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
