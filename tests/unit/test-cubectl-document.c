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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_against_agent),
		cmocka_unit_test(test_export_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
