/*
 * Unit tests for agent/dialect-responses.c: OpenAI's Responses API turned
 * into chat completions and back, streams included, hostile bodies 400.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "agent.h"

#define ID	"0123456789abcdef0123456789abcdef"
#define NOW	1765000000

static const struct dialect_ops	*ops = &dialect_responses;

/* Open body; it must translate. The call is returned, the body in *out. */
static struct dialect_call *
open_ok(const char *body, struct dialect_request *out)
{
	struct dialect_call	*c;
	const char		*param = "unset";
	char			 err[256] = "";

	memset(out, 0, sizeof(*out));
	c = ops->open(ROUTE_RESPONSES, body, strlen(body), ID, NOW, out, err,
	    sizeof(err), &param);
	if (c == NULL)
		fail_msg("%s: refused: %s", body, err);
	assert_int_equal(out->route, ROUTE_CHAT);
	assert_string_equal(out->trace_route, "responses");
	assert_int_equal(out->len, strlen(out->body));
	return c;
}

/* body translates to exactly want (a chat body). */
static void
check_request(const char *body, const char *want, int stream)
{
	struct dialect_request	 out;
	struct dialect_call	*c = open_ok(body, &out);

	assert_string_equal(out.body, want);
	assert_int_equal(out.stream, stream);
	free(out.body);
	ops->close(c);
}

/* body is refused with param and a message holding want. */
static void
check_refused_len(const char *body, size_t len, const char *param,
    const char *want)
{
	struct dialect_request	 out;
	const char		*p = "unset";
	char			 err[256] = "";

	memset(&out, 0, sizeof(out));
	assert_null(ops->open(ROUTE_RESPONSES, body, len, ID, NOW, &out, err,
	    sizeof(err), &p));
	assert_null(out.body);
	if (param == NULL)
		assert_null(p);
	else {
		assert_non_null(p);
		assert_string_equal(p, param);
	}
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
check_refused(const char *body, const char *param, const char *want)
{
	check_refused_len(body, strlen(body), param, want);
}

static void
test_request_text(void **state)
{
	(void)state;
	check_request("{\"model\":\"chat\",\"instructions\":\"Be brief.\","
	    "\"input\":\"Hi\",\"max_output_tokens\":50,\"temperature\":0.5,"
	    "\"top_p\":0.9,\"user\":\"u1\",\"metadata\":{\"a\":\"b\"},"
	    "\"reasoning\":{\"effort\":\"low\"},\"store\":false,"
	    "\"truncation\":\"auto\"}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"system\","
	    "\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
	    "\"max_tokens\":50,\"temperature\":0.5,\"top_p\":0.9,"
	    "\"user\":\"u1\"}", 0);
	/* text.format text asks nothing; stream asks for usage. */
	check_request("{\"model\":\"chat\",\"input\":\"Hi\",\"stream\":true,"
	    "\"text\":{\"format\":{\"type\":\"text\"}},\"store\":null}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"Hi\"}],\"stream\":true,\"stream_options\":"
	    "{\"include_usage\":true}}", 1);
}

static void
test_request_items(void **state)
{
	(void)state;
	check_request("{\"model\":\"chat\",\"input\":["
	    "{\"role\":\"developer\",\"content\":\"Rules.\"},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":["
	    "{\"type\":\"input_text\",\"text\":\"a\"},"
	    "{\"type\":\"input_text\",\"text\":\"b\"}]},"
	    "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},"
	    "{\"type\":\"message\",\"role\":\"assistant\",\"id\":\"msg_1\","
	    "\"status\":\"completed\",\"content\":[{\"type\":\"output_text\","
	    "\"text\":\"Looking.\",\"annotations\":[]}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"call_1\","
	    "\"name\":\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"},"
	    "{\"type\":\"function_call\",\"call_id\":\"call_2\","
	    "\"name\":\"time\",\"arguments\":\"{}\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
	    "\"output\":\"-3C\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"call_2\","
	    "\"output\":[{\"type\":\"input_text\",\"text\":\"noon\"}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"call_3\","
	    "\"name\":\"time\",\"arguments\":\"{}\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
	    "\"text\":\"What is this?\"},{\"type\":\"input_image\","
	    "\"image_url\":\"data:image/png;base64,AAAA\",\"detail\":\"low\"}]}"
	    "]}",
	    "{\"model\":\"chat\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Rules.\"},"
	    "{\"role\":\"user\",\"content\":\"a\\nb\"},"
	    "{\"role\":\"assistant\",\"content\":\"Looking.\",\"tool_calls\":["
	    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}},"
	    "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"time\",\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"-3C\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"noon\"},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"call_3\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"time\",\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"What is this?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,AAAA\",\"detail\":\"low\"}}]}]}", 0);
}

/* An assistant's refusal part comes back as what it said. */
static void
test_request_refusal(void **state)
{
	(void)state;
	check_request("{\"model\":\"chat\",\"input\":[{\"role\":\"user\","
	    "\"content\":\"x\"},{\"role\":\"assistant\",\"content\":[{"
	    "\"type\":\"refusal\",\"refusal\":\"I can't.\"}]},{\"role\":"
	    "\"user\",\"content\":\"y\"}]}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"x\"},{\"role\":\"assistant\",\"content\":"
	    "\"I can't.\"},{\"role\":\"user\",\"content\":\"y\"}]}", 0);
	check_refused("{\"model\":\"m\",\"input\":[{\"role\":\"assistant\","
	    "\"content\":[{\"type\":\"refusal\",\"text\":\"x\"}]}]}", "input",
	    "input[0].content[0].refusal must be a string");
}

static void
test_request_tools(void **state)
{
	(void)state;
	check_request("{\"model\":\"chat\",\"input\":\"Weather?\",\"tools\":["
	    "{\"type\":\"function\",\"name\":\"weather\",\"description\":"
	    "\"Look it up\",\"parameters\":{\"type\":\"object\",\"properties\":"
	    "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]},"
	    "\"strict\":true}],\"tool_choice\":{\"type\":\"function\","
	    "\"name\":\"weather\"},\"parallel_tool_calls\":false}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"Weather?\"}],\"tools\":[{\"type\":\"function\",\"function\":{"
	    "\"name\":\"weather\",\"description\":\"Look it up\",\"parameters\":"
	    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
	    "\"string\"}},\"required\":[\"city\"]},\"strict\":true}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
	    "\"weather\"}},\"parallel_tool_calls\":false}", 0);
	/* No tools: no tool_choice either (vLLM refuses one alone). */
	check_request("{\"model\":\"chat\",\"input\":\"x\",\"tools\":[],"
	    "\"tool_choice\":\"auto\"}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"x\"}]}", 0);
	check_request("{\"model\":\"chat\",\"input\":\"x\","
	    "\"tools\":[{\"type\":\"function\",\"name\":\"f\"}],"
	    "\"tool_choice\":\"required\"}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{"
	    "\"name\":\"f\"}}],\"tool_choice\":\"required\"}", 0);
}

static void
test_request_format(void **state)
{
	(void)state;
	check_request("{\"model\":\"chat\",\"input\":\"x\",\"text\":{\"format\":"
	    "{\"type\":\"json_schema\",\"name\":\"person\",\"schema\":{\"type\":"
	    "\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}},"
	    "\"strict\":true},\"verbosity\":\"low\"}}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"x\"}],\"response_format\":{\"type\":\"json_schema\","
	    "\"json_schema\":{\"name\":\"person\",\"schema\":{\"type\":"
	    "\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}},"
	    "\"strict\":true}}}", 0);
	check_request("{\"model\":\"chat\",\"input\":\"x\",\"text\":{\"format\":"
	    "{\"type\":\"json_object\"}}}",
	    "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"x\"}],\"response_format\":{\"type\":\"json_object\"}}", 0);
}

static void
test_request_refused(void **state)
{
	static const struct {
		const char	*body;
		const char	*param;
		const char	*want;
	} cases[] = {
		{ "{\"model\":\"m\",\"input\":\"x\",\"previous_response_id\":"
		    "\"resp_1\"}", "previous_response_id",
		    "does not store responses" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"store\":true}", "store",
		    "does not store responses" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"store\":1}", "store",
		    "must be a boolean" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"background\":true}",
		    "background", "not served" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"conversation\":\"c\"}",
		    "conversation", "does not store" },
		{ "{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\","
		    "\"id\":\"msg_1\"}]}", "input", "does not store responses" },
		{ "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":"
		    "[{\"type\":\"input_image\",\"file_id\":\"file-1\"}]}]}",
		    "input", "input[0].content[0]: images by file_id" },
		{ "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":"
		    "[{\"type\":\"input_file\",\"file_id\":\"file-1\"}]}]}",
		    "input", "part type \"input_file\" is not served" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":"
		    "\"web_search\"}]}", "tools", "built-in tool \"web_search\"" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":"
		    "\"function\",\"name\":\"f\"},{\"type\":\"file_search\","
		    "\"vector_store_ids\":[]}]}", "tools",
		    "tools[1]: the built-in tool \"file_search\"" },
		{ "{\"model\":\"m\",\"input\":[{\"type\":\"web_search_call\"}]}",
		    "input", "item type \"web_search_call\"" },
		{ "{\"model\":\"m\",\"input\":[{\"role\":\"root\",\"content\":"
		    "\"x\"}]}", "input", "input[0].role must be" },
		{ "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":"
		    "42}]}", "input", "input[0].content must be a string" },
		{ "{\"model\":\"m\",\"input\":[\"x\"]}", "input",
		    "input[0] must be an object" },
		{ "{\"model\":\"m\",\"input\":[{\"type\":\"function_call\","
		    "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":{}}]}",
		    "input", "input[0].arguments must be a string" },
		{ "{\"model\":\"m\",\"input\":[{\"type\":\"function_call_output\","
		    "\"output\":\"x\"}]}", "input", "input[0].call_id must" },
		{ "{\"model\":\"m\",\"input\":[]}", "input", "holds no message" },
		{ "{\"model\":\"m\"}", "input", "input is required" },
		{ "{\"model\":\"m\",\"input\":42}", "input",
		    "input must be a string or an array" },
		{ "{\"model\":\"\",\"input\":\"x\"}", "model",
		    "model must be a non-empty string" },
		{ "{\"model\":[\"m\"],\"input\":\"x\"}", "model", "model must" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"instructions\":1}",
		    "instructions", "instructions must be a string" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":0}",
		    "max_output_tokens", "max_output_tokens must be an integer" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":1.5}",
		    "max_output_tokens", "an integer" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"temperature\":\"hot\"}",
		    "temperature", "temperature must be a number" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"top_p\":7}", "top_p",
		    "top_p must be a number" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"stream\":\"yes\"}",
		    "stream", "stream must be a boolean" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":\"any\"}",
		    "tool_choice", "tool_choice must be" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":{\"type\":"
		    "\"web_search\"}}", "tool_choice", "\"web_search\" is not" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{"
		    "\"type\":\"json_schema\",\"name\":\"n\"}}}", "text.format",
		    "text.format.schema must be an object" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{"
		    "\"type\":\"yaml\"}}}", "text.format", "type must be" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"metadata\":[]}", "metadata",
		    "metadata must be an object" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"tools\":{}}", "tools",
		    "tools must be an array" },
		{ "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":"
		    "\"function\",\"name\":\"f\",\"parameters\":\"{}\"}]}",
		    "tools", "tools[0].parameters must be an object" },
		{ "[1,2]", NULL, "not valid JSON" },
		{ "{\"model\":\"m\",\"input\":\"x\"", NULL, "not valid JSON" },
		{ "{\"model\":\"m\",\"model\":\"n\",\"input\":\"x\"}", NULL,
		    "duplicate key" },
		{ "{\"model\":\"m\",\"input\":\"a\\u0000b\"}", NULL,
		    "\\u0000" },
		{ "{\"model\":\"m\",\"input\":\"\xff\xfe\"}", NULL,
		    "not valid JSON" },
		/* Valid JSON that cJSON makes infinity. */
		{ "{\"model\":\"m\",\"input\":\"x\",\"top_p\":1e999}", "top_p",
		    "top_p must" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_refused(cases[i].body, cases[i].param, cases[i].want);
	/* A NUL byte in the body, and another route. */
	check_refused_len("{\"model\":\"m\",\"input\":\"a\0b\"}", 26, NULL,
	    "not valid JSON");
	{
		struct dialect_request	 out;
		const char		*p = "unset";
		char			 err[128];

		memset(&out, 0, sizeof(out));
		assert_null(ops->open(ROUTE_CHAT, "{}", 2, ID, NOW, &out, err,
		    sizeof(err), &p));
		assert_null(p);
	}
}

/* Bodies too big or too deep to take: a 400 each, no crash. */
static void
test_request_bounds(void **state)
{
	char	*b;
	size_t	 i, n, cap = 1 << 20;

	(void)state;
	b = malloc(cap);
	assert_non_null(b);

	/* 4097 items. */
	n = (size_t)snprintf(b, cap, "{\"model\":\"m\",\"input\":[");
	for (i = 0; i < 4097; i++)
		n += (size_t)snprintf(b + n, cap - n, "%s{\"role\":\"user\","
		    "\"content\":\"x\"}", i > 0 ? "," : "");
	n += (size_t)snprintf(b + n, cap - n, "]}");
	check_refused_len(b, n, "input", "more than 4096 items");

	/* 4097 parts, both with and without an image. */
	n = (size_t)snprintf(b, cap, "{\"model\":\"m\",\"input\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":"
	    "\"http://x/\"}");
	for (i = 0; i < 4096; i++)
		n += (size_t)snprintf(b + n, cap - n, ",{\"type\":\"input_text\","
		    "\"text\":\"x\"}");
	n += (size_t)snprintf(b + n, cap - n, "]}]}");
	check_refused_len(b, n, "input", "more than 4096 parts");
	n = (size_t)snprintf(b, cap, "{\"model\":\"m\",\"input\":[{\"role\":"
	    "\"system\",\"content\":[{\"type\":\"input_text\",\"text\":\"x\"}");
	for (i = 0; i < 4096; i++)
		n += (size_t)snprintf(b + n, cap - n, ",{\"type\":\"input_text\","
		    "\"text\":\"x\"}");
	n += (size_t)snprintf(b + n, cap - n, "]}]}");
	check_refused_len(b, n, "input", "more than 4096 parts");

	/* 4097 tools. */
	n = (size_t)snprintf(b, cap, "{\"model\":\"m\",\"input\":\"x\","
	    "\"tools\":[");
	for (i = 0; i < 4097; i++)
		n += (size_t)snprintf(b + n, cap - n, "%s{\"type\":\"function\","
		    "\"name\":\"f\"}", i > 0 ? "," : "");
	n += (size_t)snprintf(b + n, cap - n, "]}");
	check_refused_len(b, n, "tools", "more than 4096 tools");

	/* Nesting 10000 deep inside a tool's parameters. */
	n = (size_t)snprintf(b, cap, "{\"model\":\"m\",\"input\":\"x\","
	    "\"tools\":[{\"type\":\"function\",\"name\":\"f\","
	    "\"parameters\":");
	for (i = 0; i < 10000; i++)
		b[n++] = '[';
	for (i = 0; i < 10000; i++)
		b[n++] = ']';
	n += (size_t)snprintf(b + n, cap - n, "}]}");
	check_refused_len(b, n, NULL, "not valid JSON");
	free(b);
}

/* --- answers -------------------------------------------------------------- */

static const cJSON *
get(const cJSON *o, const char *path)
{
	char		 key[64];
	const char	*dot;
	size_t		 n;

	while (o != NULL && *path != '\0') {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		assert_true(n < sizeof(key));
		memcpy(key, path, n);
		key[n] = '\0';
		if (cJSON_IsArray(o))
			o = cJSON_GetArrayItem(o, atoi(key));
		else
			o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += n + (dot != NULL);
	}
	if (o == NULL)
		fail_msg("no %s", path);
	return o;
}

static void
assert_str(const cJSON *o, const char *path, const char *want)
{
	const cJSON	*v = get(o, path);

	if (!cJSON_IsString(v))
		fail_msg("%s is no string", path);
	assert_string_equal(v->valuestring, want);
}

static void
assert_num(const cJSON *o, const char *path, double want)
{
	const cJSON	*v = get(o, path);

	if (!cJSON_IsNumber(v))
		fail_msg("%s is no number", path);
	assert_true(v->valuedouble == want);
}

static void
assert_null_at(const cJSON *o, const char *path)
{
	assert_true(cJSON_IsNull(get(o, path)));
}

static void
assert_size(const cJSON *o, const char *path, int n)
{
	assert_int_equal(cJSON_GetArraySize(get(o, path)), n);
}

/* answer json through a call opened with body; the Response parsed. */
static cJSON *
answer(const char *body, const char *json)
{
	struct dialect_request	 out;
	struct dialect_call	*c = open_ok(body, &out);
	size_t			 len = 0;
	char			*s;
	cJSON			*r;

	free(out.body);
	s = ops->answer(c, json, strlen(json), &len);
	ops->close(c);
	if (s == NULL)
		return NULL;
	assert_int_equal(len, strlen(s));
	assert_null(strstr(s, "llama3"));	/* the backend's model id */
	r = cJSON_Parse(s);
	assert_non_null(r);
	free(s);
	return r;
}

/* What every Response says the same way. */
static void
assert_response(const cJSON *r, const char *status)
{
	assert_str(r, "id", "resp_" ID);
	assert_str(r, "object", "response");
	assert_num(r, "created_at", NOW);
	assert_str(r, "status", status);
	assert_str(r, "model", "chat");
	assert_true(cJSON_IsFalse(get(r, "store")));
	assert_null_at(r, "previous_response_id");
	assert_null(cJSON_GetObjectItemCaseSensitive(r, "output_text"));
}

static const char	usage[] = "\"usage\":{\"prompt_tokens\":11,"
	    "\"completion_tokens\":7,\"total_tokens\":18,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":4},"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":2}}";

static void
assert_usage(const cJSON *r)
{
	assert_num(r, "usage.input_tokens", 11);
	assert_num(r, "usage.input_tokens_details.cached_tokens", 4);
	assert_num(r, "usage.output_tokens", 7);
	assert_num(r, "usage.output_tokens_details.reasoning_tokens", 2);
	assert_num(r, "usage.total_tokens", 18);
}

static void
test_answer_text(void **state)
{
	cJSON	*r;
	char	 json[1024];

	(void)state;
	snprintf(json, sizeof(json), "{\"id\":\"chatcmpl-1\",\"object\":"
	    "\"chat.completion\",\"created\":1,\"model\":\"llama3:8b\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":\"Hello there.\"},\"finish_reason\":\"stop\"}],%s}",
	    usage);
	r = answer("{\"model\":\"chat\",\"input\":\"Hi\",\"instructions\":"
	    "\"Be brief.\",\"temperature\":0.5,\"metadata\":{\"k\":\"v\"},"
	    "\"max_output_tokens\":64}", json);
	assert_non_null(r);
	assert_response(r, "completed");
	assert_null_at(r, "error");
	assert_null_at(r, "incomplete_details");
	assert_str(r, "instructions", "Be brief.");
	assert_num(r, "temperature", 0.5);
	assert_num(r, "top_p", 1);
	assert_num(r, "max_output_tokens", 64);
	assert_str(r, "tool_choice", "auto");
	assert_size(r, "tools", 0);
	assert_str(r, "text.format.type", "text");
	assert_true(cJSON_IsTrue(get(r, "parallel_tool_calls")));
	assert_str(r, "metadata.k", "v");
	assert_size(r, "output", 1);
	assert_str(r, "output.0.type", "message");
	assert_str(r, "output.0.id", "msg_" ID);
	assert_str(r, "output.0.status", "completed");
	assert_str(r, "output.0.role", "assistant");
	assert_size(r, "output.0.content", 1);
	assert_str(r, "output.0.content.0.type", "output_text");
	assert_str(r, "output.0.content.0.text", "Hello there.");
	assert_size(r, "output.0.content.0.annotations", 0);
	assert_usage(r);
	cJSON_Delete(r);
}

static void
test_answer_tools(void **state)
{
	cJSON	*r;

	(void)state;
	r = answer("{\"model\":\"chat\",\"input\":\"Weather?\",\"tools\":[{"
	    "\"type\":\"function\",\"name\":\"weather\"}]}",
	    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":null,\"tool_calls\":[{\"id\":\"call_a\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"weather\",\"arguments\":"
	    "\"{\\\"city\\\":\\\"Oslo\\\"}\"}},{\"type\":\"function\","
	    "\"function\":{\"name\":\"time\",\"arguments\":\"{}\"}}]},"
	    "\"finish_reason\":\"tool_calls\"}]}");
	assert_non_null(r);
	assert_response(r, "completed");
	assert_str(r, "tools.0.name", "weather");
	assert_size(r, "output", 2);
	assert_str(r, "output.0.type", "function_call");
	assert_str(r, "output.0.id", "fc_" ID "_0");
	assert_str(r, "output.0.call_id", "call_a");
	assert_str(r, "output.0.name", "weather");
	assert_str(r, "output.0.arguments", "{\"city\":\"Oslo\"}");
	assert_str(r, "output.0.status", "completed");
	/* A backend that gives no id: one of ours. */
	assert_str(r, "output.1.id", "fc_" ID "_1");
	assert_str(r, "output.1.call_id", "call_" ID "_1");
	assert_str(r, "output.1.name", "time");
	/* No usage from the backend: zeros, the shape SDKs read. */
	assert_num(r, "usage.input_tokens", 0);
	assert_num(r, "usage.output_tokens", 0);
	assert_num(r, "usage.total_tokens", 0);
	cJSON_Delete(r);
}

static void
test_answer_incomplete(void **state)
{
	static const struct {
		const char	*finish;
		const char	*reason;
	} cases[] = {
		{ "length", "max_output_tokens" },
		{ "content_filter", "content_filter" },
	};
	cJSON	*r;
	char	 json[512];
	size_t	 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		snprintf(json, sizeof(json), "{\"choices\":[{\"index\":0,"
		    "\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"},"
		    "\"finish_reason\":\"%s\"}],%s}", cases[i].finish, usage);
		r = answer("{\"model\":\"chat\",\"input\":\"x\"}", json);
		assert_non_null(r);
		assert_response(r, "incomplete");
		assert_str(r, "incomplete_details.reason", cases[i].reason);
		assert_str(r, "output.0.status", "incomplete");
		assert_str(r, "output.0.content.0.text", "Hel");
		assert_usage(r);
		cJSON_Delete(r);
	}
}

static void
test_answer_bad(void **state)
{
	static const char *const bad[] = { "", "nope", "[]", "{}",
	    "{\"choices\":[]}", "{\"choices\":{}}", "{\"choices\":[1]}",
	    "{\"choices\":[{\"message\":\"x\"}]}",
	    "{\"error\":{\"message\":\"x\"}}",
	    /* What cJSON would print as invalid JSON, or cut short. */
	    "{\"choices\":[{\"message\":{\"content\":\"\xc3\"}}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"}}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"a\",\"content\":"
	    "\"b\"}}]}" };
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(answer("{\"model\":\"chat\",\"input\":\"x\"}",
		    bad[i]));
}

/* --- streams -------------------------------------------------------------- */

#define EVENTS_MAX	64

struct events {
	size_t	 n;
	char	*name[EVENTS_MAX];
	cJSON	*data[EVENTS_MAX];
};

/*
 * Parse a stream of "event: NAME\ndata: JSON\n\n"; each event's name must
 * be its data's type and sequence numbers count from 0.
 */
static void
events_parse(struct events *ev, const char *s)
{
	const char	*end, *nl;

	memset(ev, 0, sizeof(*ev));
	while (*s != '\0') {
		assert_true(ev->n < EVENTS_MAX);
		assert_int_equal(strncmp(s, "event: ", 7), 0);
		nl = strchr(s, '\n');
		assert_non_null(nl);
		ev->name[ev->n] = strndup(s + 7, (size_t)(nl - s - 7));
		s = nl + 1;
		assert_int_equal(strncmp(s, "data: ", 6), 0);
		end = strstr(s, "\n\n");
		assert_non_null(end);
		ev->data[ev->n] = cJSON_ParseWithLength(s + 6,
		    (size_t)(end - s - 6));
		assert_non_null(ev->data[ev->n]);
		assert_str(ev->data[ev->n], "type", ev->name[ev->n]);
		assert_num(ev->data[ev->n], "sequence_number", (double)ev->n);
		ev->n++;
		s = end + 2;
	}
}

static void
events_free(struct events *ev)
{
	size_t	i;

	for (i = 0; i < ev->n; i++) {
		free(ev->name[i]);
		cJSON_Delete(ev->data[i]);
	}
}

static void
assert_names(const struct events *ev, const char *const *want, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < ev->n; i++)
		assert_string_equal(ev->name[i], want[i]);
	assert_int_equal(ev->n, n);
}

/* Feed chunks (NULL-terminated) and end: the client's whole stream. */
static void
stream(const char *body, const char *const *chunks, int end,
    struct events *ev)
{
	struct dialect_request	 out;
	struct dialect_call	*c = open_ok(body, &out);
	struct dialect_buf	 b;
	size_t			 i;

	assert_int_equal(out.stream, 1);
	free(out.body);
	memset(&b, 0, sizeof(b));
	for (i = 0; chunks[i] != NULL; i++)
		assert_int_equal(ops->event(c, chunks[i], strlen(chunks[i]),
		    &b), 0);
	if (end)
		ops->end(c, &b);
	assert_non_null(b.p);
	assert_null(strstr(b.p, "llama3"));
	events_parse(ev, b.p);
	dialect_buf_free(&b);
	ops->close(c);
}

#define CHUNK(delta, finish) "{\"id\":\"chatcmpl-1\",\"object\":" \
	"\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3:8b\"," \
	"\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" \
	finish "}]}"
#define USAGE_CHUNK "{\"id\":\"chatcmpl-1\",\"object\":" \
	"\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3:8b\"," \
	"\"choices\":[],\"usage\":{\"prompt_tokens\":11," \
	"\"completion_tokens\":7,\"total_tokens\":18," \
	"\"prompt_tokens_details\":{\"cached_tokens\":4}," \
	"\"completion_tokens_details\":{\"reasoning_tokens\":2}}}"

static void
test_stream_text(void **state)
{
	static const char *const chunks[] = {
		CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
		CHUNK("{\"content\":\"Hel\"}", "null"),
		CHUNK("{\"content\":\"lo\"}", "null"),
		CHUNK("{}", "\"stop\""),
		USAGE_CHUNK,
		"[DONE]",
		NULL
	};
	static const char *const want[] = {
		"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done",
		"response.output_item.done", "response.completed",
	};
	struct events	 ev;
	const cJSON	*r;

	(void)state;
	stream("{\"model\":\"chat\",\"input\":\"Hi\",\"stream\":true}", chunks,
	    1, &ev);
	assert_names(&ev, want, sizeof(want) / sizeof(want[0]));
	assert_response(get(ev.data[0], "response"), "in_progress");
	assert_size(ev.data[0], "response.output", 0);
	assert_null_at(ev.data[0], "response.usage");
	assert_response(get(ev.data[1], "response"), "in_progress");
	assert_num(ev.data[2], "output_index", 0);
	assert_str(ev.data[2], "item.type", "message");
	assert_str(ev.data[2], "item.id", "msg_" ID);
	assert_str(ev.data[2], "item.status", "in_progress");
	assert_size(ev.data[2], "item.content", 0);
	assert_str(ev.data[3], "item_id", "msg_" ID);
	assert_num(ev.data[3], "content_index", 0);
	assert_str(ev.data[3], "part.type", "output_text");
	assert_str(ev.data[3], "part.text", "");
	assert_str(ev.data[4], "item_id", "msg_" ID);
	assert_num(ev.data[4], "output_index", 0);
	assert_num(ev.data[4], "content_index", 0);
	assert_str(ev.data[4], "delta", "Hel");
	assert_str(ev.data[5], "delta", "lo");
	assert_str(ev.data[6], "text", "Hello");
	assert_str(ev.data[7], "part.text", "Hello");
	assert_str(ev.data[8], "item.status", "completed");
	assert_str(ev.data[8], "item.content.0.text", "Hello");
	r = get(ev.data[9], "response");
	assert_response(r, "completed");
	assert_size(r, "output", 1);
	assert_str(r, "output.0.content.0.text", "Hello");
	assert_usage(r);
	events_free(&ev);
}

static void
test_stream_tool(void **state)
{
	static const char *const chunks[] = {
		CHUNK("{\"role\":\"assistant\",\"content\":\"Let me look.\"}",
		    "null"),
		CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\","
		    "\"type\":\"function\",\"function\":{\"name\":\"weather\","
		    "\"arguments\":\"\"}}]}", "null"),
		CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{"
		    "\"arguments\":\"{\\\"city\\\":\"}}]}", "null"),
		CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{"
		    "\"arguments\":\"\\\"Oslo\\\"}\"}}]}", "null"),
		CHUNK("{}", "\"tool_calls\""),
		USAGE_CHUNK,
		"[DONE]",
		NULL
	};
	static const char *const want[] = {
		"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta",
		"response.output_item.added",
		"response.function_call_arguments.delta",
		"response.function_call_arguments.delta",
		"response.output_text.done", "response.content_part.done",
		"response.output_item.done",
		"response.function_call_arguments.done",
		"response.output_item.done",
		"response.completed",
	};
	struct events	 ev;
	const cJSON	*r;

	(void)state;
	stream("{\"model\":\"chat\",\"input\":\"Weather?\",\"stream\":true,"
	    "\"tools\":[{\"type\":\"function\",\"name\":\"weather\"}]}", chunks,
	    1, &ev);
	assert_names(&ev, want, sizeof(want) / sizeof(want[0]));
	assert_num(ev.data[5], "output_index", 1);
	assert_str(ev.data[5], "item.type", "function_call");
	assert_str(ev.data[5], "item.id", "fc_" ID "_0");
	assert_str(ev.data[5], "item.call_id", "call_a");
	assert_str(ev.data[5], "item.name", "weather");
	assert_str(ev.data[5], "item.arguments", "");
	assert_str(ev.data[6], "item_id", "fc_" ID "_0");
	assert_num(ev.data[6], "output_index", 1);
	assert_str(ev.data[6], "delta", "{\"city\":");
	assert_str(ev.data[7], "delta", "\"Oslo\"}");
	assert_num(ev.data[10], "output_index", 0);
	assert_str(ev.data[11], "item_id", "fc_" ID "_0");
	assert_str(ev.data[11], "arguments", "{\"city\":\"Oslo\"}");
	assert_num(ev.data[12], "output_index", 1);
	assert_str(ev.data[12], "item.status", "completed");
	assert_str(ev.data[12], "item.arguments", "{\"city\":\"Oslo\"}");
	r = get(ev.data[13], "response");
	assert_response(r, "completed");
	assert_size(r, "output", 2);
	assert_str(r, "output.0.type", "message");
	assert_str(r, "output.0.content.0.text", "Let me look.");
	assert_str(r, "output.1.type", "function_call");
	assert_str(r, "output.1.call_id", "call_a");
	assert_str(r, "output.1.arguments", "{\"city\":\"Oslo\"}");
	assert_usage(r);
	events_free(&ev);
}

/* The output guardrail's block: content_filter, then [DONE]. */
static void
test_stream_blocked(void **state)
{
	static const char *const chunks[] = {
		CHUNK("{\"role\":\"assistant\",\"content\":\"My card is\"}",
		    "null"),
		CHUNK("{}", "\"content_filter\""),
		"[DONE]",
		NULL
	};
	static const char *const want[] = {
		"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta",
		"response.output_text.done", "response.content_part.done",
		"response.output_item.done",
		"response.incomplete",
	};
	struct events	 ev;
	const cJSON	*r;

	(void)state;
	stream("{\"model\":\"chat\",\"input\":\"x\",\"stream\":true}", chunks, 1,
	    &ev);
	assert_names(&ev, want, sizeof(want) / sizeof(want[0]));
	assert_str(ev.data[7], "item.status", "incomplete");
	r = get(ev.data[8], "response");
	assert_response(r, "incomplete");
	assert_str(r, "incomplete_details.reason", "content_filter");
	assert_str(r, "output.0.content.0.text", "My card is");
	assert_num(r, "usage.input_tokens", 0);
	events_free(&ev);
}

/* A stream that breaks: error, then response.failed, then nothing. */
static void
test_stream_error(void **state)
{
	static const char *const want[] = {
		"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta",
		"error", "response.failed",
	};
	struct dialect_request	 out;
	struct dialect_call	*c;
	struct dialect_buf	 b;
	struct events		 ev;
	static const char	 hel[] = CHUNK("{\"content\":\"Hel\"}", "null");

	(void)state;
	c = open_ok("{\"model\":\"chat\",\"input\":\"x\",\"stream\":true}",
	    &out);
	free(out.body);
	memset(&b, 0, sizeof(b));
	assert_int_equal(ops->event(c, hel, strlen(hel), &b), 0);
	ops->stream_error(c, API_UPSTREAM_TIMEOUT, "the model's backend "
	    "timed out", &b);
	/* Whatever comes after is dropped. */
	assert_int_equal(ops->event(c, hel, strlen(hel), &b), 0);
	ops->stream_error(c, API_UPSTREAM_ERROR, "again", &b);
	ops->end(c, &b);
	events_parse(&ev, b.p);
	assert_names(&ev, want, sizeof(want) / sizeof(want[0]));
	assert_str(ev.data[5], "code", "upstream_timeout");
	assert_str(ev.data[5], "message", "the model's backend timed out");
	assert_null_at(ev.data[5], "param");
	assert_str(ev.data[5], "error.type", "api_error");
	assert_str(ev.data[5], "error.code", "upstream_timeout");
	assert_str(ev.data[5], "error.message",
	    "the model's backend timed out");
	assert_response(get(ev.data[6], "response"), "failed");
	assert_str(ev.data[6], "response.error.code", "upstream_timeout");
	assert_str(ev.data[6], "response.error.message",
	    "the model's backend timed out");
	events_free(&ev);
	dialect_buf_free(&b);
	ops->close(c);
}

/* An error chunk in the stream (the guardrail's unchecked event). */
static void
test_stream_error_chunk(void **state)
{
	static const char *const chunks[] = {
		"{\"error\":{\"message\":\"the answer could not be checked\","
		    "\"type\":\"api_error\",\"param\":null,\"code\":"
		    "\"upstream_error\"}}",
		NULL
	};
	static const char *const want[] = {
		"response.created", "response.in_progress", "error",
		"response.failed",
	};
	struct events	 ev;

	(void)state;
	stream("{\"model\":\"chat\",\"input\":\"x\",\"stream\":true}", chunks, 1,
	    &ev);
	assert_names(&ev, want, sizeof(want) / sizeof(want[0]));
	assert_str(ev.data[2], "code", "upstream_error");
	assert_str(ev.data[2], "message", "the answer could not be checked");
	assert_str(ev.data[3], "response.status", "failed");
	events_free(&ev);
}

/* A stream with no chunk at all still opens and completes. */
static void
test_stream_empty(void **state)
{
	static const char *const chunks[] = { "[DONE]", NULL };
	static const char *const want[] = {
		"response.created", "response.in_progress",
		"response.completed",
	};
	struct events	 ev;

	(void)state;
	stream("{\"model\":\"chat\",\"input\":\"x\",\"stream\":true}", chunks, 1,
	    &ev);
	assert_names(&ev, want, sizeof(want) / sizeof(want[0]));
	assert_size(ev.data[2], "response.output", 0);
	events_free(&ev);
}

static int
feed(struct dialect_call *c, const char *data, struct dialect_buf *b)
{
	return ops->event(c, data, strlen(data), b);
}

static void
test_stream_bad(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	struct dialect_buf	 b;
	char			 chunk[256];
	int			 i;

	(void)state;
	c = open_ok("{\"model\":\"chat\",\"input\":\"x\",\"stream\":true}",
	    &out);
	free(out.body);
	memset(&b, 0, sizeof(b));
	assert_int_equal(feed(c, "nope", &b), -1);
	assert_int_equal(feed(c, "[1]", &b), -1);
	assert_int_equal(feed(c, CHUNK("{\"content\":\"\xff\"}", "null"), &b),
	    -1);
	assert_int_equal(feed(c, CHUNK("{\"content\":\"a\\u0000\"}", "null"),
	    &b), -1);
	assert_null(b.p);
	/* Wrong shapes inside a chunk are skipped, not trusted. */
	assert_int_equal(feed(c, "{\"choices\":7}", &b), 0);
	assert_int_equal(feed(c, "{\"choices\":[{\"delta\":{"
	    "\"content\":5,\"tool_calls\":{}}}]}", &b), 0);
	/* A call_id the backend repeats is replaced: SDKs refuse twins. */
	assert_int_equal(feed(c, "{\"choices\":[{\"delta\":{\"tool_calls\":["
	    "{\"index\":0,\"id\":\"same\",\"function\":{\"name\":\"f\"}},"
	    "{\"index\":1,\"id\":\"same\",\"function\":{\"name\":\"g\"}}]}}]}",
	    &b), 0);
	assert_non_null(strstr(b.p, "\"call_id\":\"same\""));
	assert_non_null(strstr(b.p, "\"call_id\":\"call_" ID "_1\""));
	/* More tool calls than an answer may hold. */
	for (i = 2; i < 129; i++) {
		snprintf(chunk, sizeof(chunk), "{\"choices\":[{\"delta\":{"
		    "\"tool_calls\":[{\"index\":%d,\"id\":\"c%d\",\"function\":{"
		    "\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}", i, i);
		assert_int_equal(feed(c, chunk, &b), i < 128 ? 0 : -1);
	}
	dialect_buf_free(&b);
	ops->close(c);
	ops->close(NULL);
}

/* What a stream holds for its closing events is bounded: 64 MiB. */
static void
test_stream_held(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	struct dialect_buf	 b;
	size_t			 n = 4u << 20, i;
	char			*chunk;
	int			 rc;

	(void)state;
	c = open_ok("{\"model\":\"chat\",\"input\":\"x\",\"stream\":true}",
	    &out);
	free(out.body);
	chunk = malloc(n + 64);
	assert_non_null(chunk);
	i = (size_t)snprintf(chunk, 64, "{\"choices\":[{\"delta\":{"
	    "\"content\":\"");
	memset(chunk + i, 'a', n);
	strcpy(chunk + i + n, "\"}}]}");
	for (i = 0; i < 17; i++) {
		memset(&b, 0, sizeof(b));
		rc = feed(c, chunk, &b);
		dialect_buf_free(&b);
		assert_int_equal(rc, i < 16 ? 0 : -1);
	}
	free(chunk);
	ops->close(c);
}

static void
test_error_body(void **state)
{
	char	 buf[512];
	size_t	 n;
	cJSON	*o;

	(void)state;
	n = ops->error_body(buf, sizeof(buf), API_INVALID_REQUEST, "store",
	    "store: this gateway does not store responses");
	assert_int_equal(n, strlen(buf));
	o = cJSON_Parse(buf);
	assert_non_null(o);
	assert_str(o, "error.message",
	    "store: this gateway does not store responses");
	assert_str(o, "error.type", "invalid_request_error");
	assert_str(o, "error.param", "store");
	assert_str(o, "error.code", "invalid_request");
	cJSON_Delete(o);
	assert_string_equal(ops->stream_type, "text/event-stream");
	assert_string_equal(ops->name, "responses");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_text),
		cmocka_unit_test(test_request_items),
		cmocka_unit_test(test_request_refusal),
		cmocka_unit_test(test_request_tools),
		cmocka_unit_test(test_request_format),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_bounds),
		cmocka_unit_test(test_answer_text),
		cmocka_unit_test(test_answer_tools),
		cmocka_unit_test(test_answer_incomplete),
		cmocka_unit_test(test_answer_bad),
		cmocka_unit_test(test_stream_text),
		cmocka_unit_test(test_stream_tool),
		cmocka_unit_test(test_stream_blocked),
		cmocka_unit_test(test_stream_error),
		cmocka_unit_test(test_stream_error_chunk),
		cmocka_unit_test(test_stream_empty),
		cmocka_unit_test(test_stream_bad),
		cmocka_unit_test(test_stream_held),
		cmocka_unit_test(test_error_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
