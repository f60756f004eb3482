/*
 * Unit tests for agent/dialect-anthropic.c: Anthropic's Messages API to
 * OpenAI's chat completions and back, compared field by field.
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

#define REQ_ID	"0123456789abcdef0123456789abcdef"

static const struct dialect_ops	*ops = &dialect_anthropic;

/* Translate body on route; the result's body parsed. */
static struct dialect_call *
open_ok(enum route_kind route, const char *body, struct dialect_request *out,
    cJSON **o)
{
	struct dialect_call	*c;
	const char		*param = "unset";
	char			 err[512] = "";

	c = ops->open(route, body, strlen(body), REQ_ID, 0, out, err,
	    sizeof(err), &param);
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_null(param);
	assert_int_equal(out->len, strlen(out->body));
	*o = cJSON_ParseWithLength(out->body, out->len);
	assert_non_null(*o);
	return c;
}

/* A refused request: its message and param. */
static void
open_bad(enum route_kind route, const char *body, size_t len,
    const char *want, const char *want_param)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	const char		*param = "unset";
	char			 err[512] = "";

	c = ops->open(route, body, len, REQ_ID, 0, &out, err, sizeof(err),
	    &param);
	assert_null(c);
	assert_string_equal(err, want);
	if (want_param == NULL)
		assert_null(param);
	else {
		assert_non_null(param);
		assert_string_equal(param, want_param);
	}
}

static void
bad(const char *body, const char *want, const char *want_param)
{
	open_bad(ROUTE_MESSAGES, body, strlen(body), want, want_param);
}

static const cJSON *
get(const cJSON *o, const char *path)
{
	char		 key[128], *dot;
	const char	*p = path;

	while (o != NULL && *p != '\0') {
		snprintf(key, sizeof(key), "%s", p);
		if ((dot = strchr(key, '.')) != NULL)
			*dot = '\0';
		p += strlen(key) + (p[strlen(key)] == '.');
		if (cJSON_IsArray(o))
			o = cJSON_GetArrayItem(o, atoi(key));
		else
			o = cJSON_GetObjectItemCaseSensitive(o, key);
	}
	return o;
}

static const char *
str(const cJSON *o, const char *path)
{
	const cJSON	*v = get(o, path);

	if (!cJSON_IsString(v))
		fail_msg("%s: no string", path);
	return v->valuestring;
}

static int
size(const cJSON *o, const char *path)
{
	const cJSON	*v = get(o, path);

	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		fail_msg("%s: no array or object", path);
	return cJSON_GetArraySize(v);
}

/* Equal JSON, whatever the spacing. */
static void
assert_json(const cJSON *o, const char *path, const char *want)
{
	cJSON	*w = cJSON_Parse(want);

	assert_non_null(w);
	if (!cJSON_Compare(get(o, path), w, 1)) {
		char	*s = cJSON_PrintUnformatted(get(o, path));

		fail_msg("%s: %s, not %s", path, s != NULL ? s : "(none)",
		    want);
	}
	cJSON_Delete(w);
}

static void
done(struct dialect_call *c, struct dialect_request *out, cJSON *o)
{
	ops->close(c);
	free(out->body);
	cJSON_Delete(o);
}

static void
test_request_plain(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	cJSON			*o;

	(void)state;
	c = open_ok(ROUTE_MESSAGES, "{\"model\":\"claude-x\",\"max_tokens\":"
	    "256,\"system\":\"Be brief.\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\"},"
	    "{\"role\":\"user\",\"content\":\"Again\"}],\"temperature\":0.5,"
	    "\"top_p\":0.9,\"top_k\":5,\"stop_sequences\":[\"END\",\"###\"],"
	    "\"metadata\":{\"user_id\":\"u1\"},\"service_tier\":\"auto\","
	    "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024}}",
	    &out, &o);
	assert_int_equal(out.route, ROUTE_CHAT);
	assert_int_equal(out.stream, 0);
	assert_string_equal(out.trace_route, "messages");
	assert_json(o, "", "{\"model\":\"claude-x\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"user\",\"content\":\"Hi\"},"
	    "{\"role\":\"assistant\",\"content\":\"Hello\"},"
	    "{\"role\":\"user\",\"content\":\"Again\"}],"
	    "\"max_tokens\":256,\"temperature\":0.5,\"top_p\":0.9,"
	    "\"stop\":[\"END\",\"###\"]}");
	done(c, &out, o);
}

static void
test_request_blocks(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	cJSON			*o;

	(void)state;
	c = open_ok(ROUTE_MESSAGES, "{\"model\":\"m\",\"max_tokens\":10,"
	    "\"system\":[{\"type\":\"text\",\"text\":\"One.\",\"cache_control\":"
	    "{\"type\":\"ephemeral\"}},{\"type\":\"text\",\"text\":\"Two.\"}],"
	    "\"messages\":["
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"Look:\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"image/png\",\"data\":\"iVBORw0K\"}},{\"type\":"
	    "\"image\",\"source\":{\"type\":\"url\",\"url\":"
	    "\"https://example.com/a.jpg\"}}]},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	    "\"thinking\":\"hmm\",\"signature\":\"sig\"},{\"type\":\"text\","
	    "\"text\":\"Checking.\"},{\"type\":\"tool_use\",\"id\":"
	    "\"toolu_01\",\"name\":\"get_weather\",\"input\":{\"city\":"
	    "\"Paris\",\"days\":[1,2]}},{\"type\":\"tool_use\",\"id\":"
	    "\"toolu_02\",\"name\":\"now\",\"input\":{}}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"toolu_01\",\"content\":\"sunny\"},{\"type\":"
	    "\"text\",\"text\":\"Thanks.\"},{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"toolu_02\",\"is_error\":true,\"content\":["
	    "{\"type\":\"text\",\"text\":\"12:00\"},{\"type\":\"text\","
	    "\"text\":\"UTC\"}]}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
	    "{\"type\":\"text\",\"text\":\"b\"}]},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":"
	    "\"redacted_thinking\",\"data\":\"x\"},{\"type\":\"tool_use\","
	    "\"id\":\"functions.n:3\",\"name\":\"n\",\"input\":{}}]}]}", &out, &o);
	assert_json(o, "messages", "["
	    "{\"role\":\"system\",\"content\":\"One.\\nTwo.\"},"
	    "{\"role\":\"user\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"Look:\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,iVBORw0K\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"https://example.com/a.jpg\"}}]},"
	    "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
	    "{\"id\":\"toolu_01\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"arguments\":"
	    "\"{\\\"city\\\":\\\"Paris\\\",\\\"days\\\":[1,2]}\"}},"
	    "{\"id\":\"toolu_02\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"now\",\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01\",\"content\":"
	    "\"sunny\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"toolu_02\",\"content\":"
	    "\"12:00\\nUTC\"},"
	    "{\"role\":\"user\",\"content\":\"Thanks.\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
	    "{\"type\":\"text\",\"text\":\"b\"}]},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"functions.n:3\",\"type\":\"function\",\"function\":{\"name\":\"n\","
	    "\"arguments\":\"{}\"}}]}]");
	done(c, &out, o);
}

/* A tool result's image (a screenshot, a file read) follows as user's. */
static void
test_request_tool_image(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	cJSON			*o;

	(void)state;
	c = open_ok(ROUTE_MESSAGES, "{\"model\":\"m\",\"max_tokens\":10,"
	    "\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
	    "\"tool_use\",\"id\":\"t1\",\"name\":\"read\",\"input\":{"
	    "\"path\":\"a.png\"}}]},{\"role\":\"user\",\"content\":[{"
	    "\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":[{"
	    "\"type\":\"text\",\"text\":\"a.png:\"},{\"type\":\"image\","
	    "\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\","
	    "\"data\":\"AAAA\"}}]}]}]}", &out, &o);
	assert_json(o, "messages", "["
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"read\",\"arguments\":\"{\\\"path\\\":\\\"a.png\\\"}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":"
	    "\"a.png:\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
	    "\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]");
	done(c, &out, o);
}

static void
test_request_tools(void **state)
{
	static const struct {
		const char	*choice;
		const char	*want;
		int		 serial;
	} t[] = {
		{ "{\"type\":\"auto\"}", "\"auto\"", 0 },
		{ "{\"type\":\"any\"}", "\"required\"", 0 },
		{ "{\"type\":\"none\"}", "\"none\"", 0 },
		{ "{\"type\":\"tool\",\"name\":\"get_weather\"}",
		    "{\"type\":\"function\",\"function\":{\"name\":"
		    "\"get_weather\"}}", 0 },
		{ "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}",
		    "\"auto\"", 1 },
		{ "{\"type\":\"any\",\"disable_parallel_tool_use\":false}",
		    "\"required\"", 0 },
	};
	struct dialect_request	 out;
	struct dialect_call	*c;
	cJSON			*o;
	char			 body[1024];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		snprintf(body, sizeof(body), "{\"model\":\"m\",\"max_tokens\":1,"
		    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"stream\":true,\"tools\":[{\"name\":\"get_weather\","
		    "\"description\":\"Weather.\",\"input_schema\":{\"type\":"
		    "\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
		    "\"required\":[\"city\"]},\"cache_control\":{\"type\":"
		    "\"ephemeral\"}},{\"type\":\"custom\",\"name\":\"now\","
		    "\"input_schema\":{\"type\":\"object\"}}],"
		    "\"tool_choice\":%s}", t[i].choice);
		c = open_ok(ROUTE_MESSAGES, body, &out, &o);
		assert_int_equal(out.stream, 1);
		assert_json(o, "tools", "[{\"type\":\"function\",\"function\":"
		    "{\"name\":\"get_weather\",\"description\":\"Weather.\","
		    "\"parameters\":{\"type\":\"object\",\"properties\":"
		    "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}},"
		    "{\"type\":\"function\",\"function\":{\"name\":\"now\","
		    "\"parameters\":{\"type\":\"object\"}}}]");
		assert_json(o, "tool_choice", t[i].want);
		if (t[i].serial)
			assert_json(o, "parallel_tool_calls", "false");
		else
			assert_null(get(o, "parallel_tool_calls"));
		assert_json(o, "stream", "true");
		assert_json(o, "stream_options", "{\"include_usage\":true}");
		done(c, &out, o);
	}
	/* No tools: no tool_choice for OpenAI to refuse. */
	c = open_ok(ROUTE_MESSAGES, "{\"model\":\"m\",\"max_tokens\":1,"
	    "\"messages\":[],\"tools\":[],\"tool_choice\":{\"type\":\"auto\"}}",
	    &out, &o);
	assert_json(o, "", "{\"model\":\"m\",\"messages\":[],"
	    "\"max_tokens\":1}");
	done(c, &out, o);
}

static void
test_request_count_tokens(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	cJSON			*o;

	(void)state;
	c = open_ok(ROUTE_COUNT_TOKENS, "{\"model\":\"m\",\"system\":\"S\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"count me\"}],"
	    "\"stream\":true,\"tools\":[{\"name\":\"t\",\"input_schema\":{}}]}",
	    &out, &o);
	assert_int_equal(out.route, ROUTE_CHAT);
	assert_int_equal(out.stream, 0);
	assert_string_equal(out.trace_route, "count_tokens");
	assert_json(o, "", "{\"model\":\"m\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"S\"},"
	    "{\"role\":\"user\",\"content\":\"count me\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"t\","
	    "\"parameters\":{}}}]}");
	done(c, &out, o);
}

#define MSG(content)	"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[" \
	"{\"role\":\"user\",\"content\":" content "}]}"
#define AMSG(content)	"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[" \
	"{\"role\":\"assistant\",\"content\":" content "}]}"

static void
test_request_refused(void **state)
{
	static const struct {
		const char	*body;
		const char	*err;
		const char	*param;
	} t[] = {
		{ "{\"model\":\"m\",\"messages\":[]}",
		    "max_tokens: Field required", "max_tokens" },
		{ "{\"model\":\"m\",\"max_tokens\":9,\"thinking\":true,"
		    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
		    "thinking: Input should be a valid dictionary", "thinking" },
		{ "{\"model\":\"m\",\"max_tokens\":9,\"thinking\":{\"type\":"
		    "\"maybe\"},\"messages\":[{\"role\":\"user\",\"content\":"
		    "\"x\"}]}", "thinking.type: Input should be 'enabled', "
		    "'adaptive' or 'disabled'", "thinking" },
		{ "{\"model\":\"m\",\"max_tokens\":0,\"messages\":[]}",
		    "max_tokens: Input should be an integer from 1 to "
		    "2147483647", "max_tokens" },
		{ "{\"model\":\"m\",\"max_tokens\":1.5,\"messages\":[]}",
		    "max_tokens: Input should be an integer from 1 to "
		    "2147483647", "max_tokens" },
		{ "{\"model\":\"m\",\"max_tokens\":\"9\",\"messages\":[]}",
		    "max_tokens: Input should be an integer from 1 to "
		    "2147483647", "max_tokens" },
		{ "{\"max_tokens\":1,\"messages\":[]}",
		    "model: Field required", "model" },
		{ "{\"model\":7,\"max_tokens\":1,\"messages\":[]}",
		    "model: Input should be a valid model name", "model" },
		{ "{\"model\":\"\",\"max_tokens\":1,\"messages\":[]}",
		    "model: Input should be a valid model name", "model" },
		{ "{\"model\":\"m\",\"max_tokens\":1}",
		    "messages: Field required", "messages" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":{}}",
		    "messages: Input should be a valid list", "messages" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[1]}",
		    "messages.0: Input should be a valid dictionary",
		    "messages" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":"
		    "\"system\",\"content\":\"x\"}]}",
		    "messages.0.role: Input should be 'user' or 'assistant'",
		    "messages" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":"
		    "\"user\"}]}", "messages.0.content: Field required",
		    "messages" },
		{ MSG("42"), "messages.0.content: Input should be a valid "
		    "string or a list of content blocks", "messages" },
		{ MSG("[\"x\"]"), "messages.0.content.0: Input should be a "
		    "valid dictionary", "messages" },
		{ MSG("[{\"text\":\"x\"}]"), "messages.0.content.0.type: "
		    "Field required", "messages" },
		{ MSG("[{\"type\":\"text\",\"text\":[]}]"),
		    "messages.0.content.0.text: Input should be a valid string",
		    "messages" },
		{ MSG("[{\"type\":\"document\",\"source\":{\"type\":\"text\","
		    "\"media_type\":\"text/plain\",\"data\":\"x\"}}]"),
		    "messages.0.content.0.type: 'document' blocks are not "
		    "supported by this gateway", "messages" },
		{ MSG("[{\"type\":\"text\",\"text\":\"a\"},{\"type\":"
		    "\"search_result\"}]"), "messages.0.content.1.type: "
		    "'search_result' blocks are not supported by this gateway",
		    "messages" },
		{ MSG("[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
		    "\"media_type\":\"image/svg+xml\",\"data\":\"AA==\"}}]"),
		    "messages.0.content.0.source.media_type: Input should be "
		    "'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
		    "messages" },
		{ MSG("[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
		    "\"media_type\":\"image/png\",\"data\":\"A,A\"}}]"),
		    "messages.0.content.0.source.data: Input should be a base64"
		    " string", "messages" },
		{ MSG("[{\"type\":\"image\",\"source\":{\"type\":\"file\","
		    "\"file_id\":\"f\"}}]"), "messages.0.content.0.source.type:"
		    " Input should be 'base64' or 'url'", "messages" },
		{ MSG("[{\"type\":\"image\",\"source\":{\"type\":\"url\","
		    "\"url\":\"file:///etc/passwd\"}}]"), "messages.0.content."
		    "0.source.url: Input should be an http(s) URL", "messages" },
		{ MSG("[{\"type\":\"image\",\"source\":\"x\"}]"),
		    "messages.0.content.0.source: Input should be a valid "
		    "dictionary", "messages" },
		{ AMSG("[{\"type\":\"image\",\"source\":{}}]"),
		    "messages.0.content.0: images belong to user messages",
		    "messages" },
		{ MSG("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"n\","
		    "\"input\":{}}]"), "messages.0.content.0: tool_use blocks "
		    "belong to assistant messages", "messages" },
		{ AMSG("[{\"type\":\"tool_result\",\"tool_use_id\":\"a\"}]"),
		    "messages.0.content.0: tool_result blocks belong to user "
		    "messages", "messages" },
		{ AMSG("[{\"type\":\"tool_use\",\"id\":7,\"name\":\"n\","
		    "\"input\":{}}]"), "messages.0.content.0.id: Input should "
		    "be a string of visible ASCII (at most 256)", "messages" },
		{ AMSG("[{\"type\":\"tool_use\",\"id\":\"a\\nb\",\"name\":"
		    "\"n\",\"input\":{}}]"), "messages.0.content.0.id: Input "
		    "should be a string of visible ASCII (at most 256)",
		    "messages" },
		{ AMSG("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"a b\","
		    "\"input\":{}}]"), "messages.0.content.0.name: Input should"
		    " be a string of letters, digits, '_' and '-' (at most "
		    "128)", "messages" },
		{ AMSG("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"n\","
		    "\"input\":\"{}\"}]"), "messages.0.content.0.input: Input "
		    "should be a valid dictionary", "messages" },
		{ MSG("[{\"type\":\"tool_result\",\"tool_use_id\":null}]"),
		    "messages.0.content.0.tool_use_id: Input should be a string"
		    " of visible ASCII (at most 256)", "messages" },
		{ MSG("[{\"type\":\"tool_result\",\"tool_use_id\":\"a\","
		    "\"content\":5}]"), "messages.0.content.0.content: Input "
		    "should be a valid string or a list of content blocks",
		    "messages" },
		{ MSG("[{\"type\":\"tool_result\",\"tool_use_id\":\"a\","
		    "\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":"
		    "\"document\",\"source\":{}}]}]"), "messages.0.content.0."
		    "content.1: only text and image blocks are supported in a "
		    "tool result", "messages" },
		{ MSG("[{\"type\":\"tool_result\",\"tool_use_id\":\"a\","
		    "\"content\":[{\"type\":\"image\",\"source\":{\"type\":"
		    "\"file\"}}]}]"), "messages.0.content.0.content.0.source."
		    "type: Input should be 'base64' or 'url'", "messages" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"system\":"
		    "5}", "system: Input should be a valid string or a list of "
		    "text blocks", "system" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"system\":"
		    "[{\"type\":\"image\"}]}", "system.0: Input should be a text"
		    " block", "system" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tools\":"
		    "{}}", "tools: Input should be a valid list", "tools" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tools\":"
		    "[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}"
		    "]}", "tools.0.type: server tool 'web_search_20250305' is "
		    "not supported by this gateway", "tools" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tools\":"
		    "[{\"name\":\"t\"}]}", "tools.0.input_schema: Input should "
		    "be a valid dictionary", "tools" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tools\":"
		    "[{\"name\":\"t\",\"description\":1,\"input_schema\":{}}]}",
		    "tools.0.description: Input should be a valid string",
		    "tools" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tools\":"
		    "[{\"name\":\"\",\"input_schema\":{}}]}", "tools.0.name: "
		    "Input should be a string of letters, digits, '_' and '-' "
		    "(at most 128)", "tools" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"tool_choice\":\"auto\"}", "tool_choice: Input should be "
		    "a valid dictionary", "tool_choice" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"tool_choice\":{\"type\":\"some\"}}", "tool_choice.type: "
		    "Input should be 'auto', 'any', 'tool' or 'none'",
		    "tool_choice" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"tool_choice\":{\"type\":\"tool\"}}", "tool_choice.name: "
		    "Input should be a tool's name", "tool_choice" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"tool_choice\":{\"type\":\"auto\","
		    "\"disable_parallel_tool_use\":1}}", "tool_choice."
		    "disable_parallel_tool_use: Input should be a valid "
		    "boolean", "tool_choice" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"stop_sequences\":\"END\"}", "stop_sequences: Input should"
		    " be a valid list", "stop_sequences" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"stop_sequences\":[1]}", "stop_sequences.0: Input should "
		    "be a non-empty string", "stop_sequences" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"temperature\":\"hot\"}", "temperature: Input should be "
		    "a valid number", "temperature" },
		{ "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
		    "\"stream\":\"yes\"}", "stream: Input should be a valid "
		    "boolean", "stream" },
		/* What cJSON would misread: refused before it reads. */
		{ "[]", "JSON body is not an object", NULL },
		{ "{\"model\":\"m\",\"model\":\"n\",\"max_tokens\":1,"
		    "\"messages\":[]}", "duplicate key \"model\"", NULL },
		{ MSG("\"a\\u0000b\""), "content: strings must not hold NUL "
		    "(\\u0000)", NULL },
		{ MSG("\"a\\\\u0000b\\u0000\""), "content: strings must not "
		    "hold NUL (\\u0000)", NULL },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++)
		bad(t[i].body, t[i].err, t[i].param);
	/* An escaped backslash before u0000 is no NUL. */
	{
		struct dialect_request	 out;
		struct dialect_call	*c;
		cJSON			*o;

		c = open_ok(ROUTE_MESSAGES, MSG("\"a\\\\u0000b\""), &out, &o);
		assert_string_equal(str(o, "messages.0.content"),
		    "a\\u0000b");
		done(c, &out, o);
	}
}

/* Bodies no client sends: huge, deep, not UTF-8. */
static void
test_request_hostile(void **state)
{
	struct dialect_request	 out;
	char			*b, err[512];
	const char		*param;
	size_t			 i, n, len;

	(void)state;
	/* 10^5 content blocks; then 10^5 messages. */
	n = 100000;
	b = malloc(n * 40 + 256);
	assert_non_null(b);
	len = (size_t)sprintf(b, "{\"model\":\"m\",\"max_tokens\":1,"
	    "\"messages\":[{\"role\":\"user\",\"content\":[");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(b + len, "%s{\"type\":\"text\","
		    "\"text\":\"x\"}", i > 0 ? "," : "");
	len += (size_t)sprintf(b + len, "]}]}");
	open_bad(ROUTE_MESSAGES, b, len, "messages.0.content: at most 4096 "
	    "blocks", "messages");
	len = (size_t)sprintf(b, "{\"model\":\"m\",\"max_tokens\":1,"
	    "\"messages\":[");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(b + len, "%s{\"role\":\"user\","
		    "\"content\":\"x\"}", i > 0 ? "," : "");
	len += (size_t)sprintf(b + len, "]}");
	open_bad(ROUTE_MESSAGES, b, len, "messages: at most 4096 messages",
	    "messages");
	len = (size_t)sprintf(b, "{\"model\":\"m\",\"max_tokens\":1,"
	    "\"messages\":[],\"tools\":[");
	for (i = 0; i < 5000; i++)
		len += (size_t)sprintf(b + len, "%s{\"name\":\"t\","
		    "\"input_schema\":{}}", i > 0 ? "," : "");
	len += (size_t)sprintf(b + len, "]}");
	open_bad(ROUTE_MESSAGES, b, len, "tools: at most 4096 tools", "tools");

	/* Deep nesting inside a tool's input: refused, no recursion. */
	len = (size_t)sprintf(b, "{\"model\":\"m\",\"max_tokens\":1,"
	    "\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
	    "\"tool_use\",\"id\":\"a\",\"name\":\"n\",\"input\":");
	for (i = 0; i < 50000; i++)
		b[len++] = '[';
	b[len] = '\0';
	param = "unset";
	assert_null(ops->open(ROUTE_MESSAGES, b, len, REQ_ID, 0, &out, err,
	    sizeof(err), &param));
	assert_null(param);
	assert_non_null(strstr(err, "deep"));
	free(b);

	/* Not UTF-8, in a value and in a key. */
	param = "unset";
	assert_null(ops->open(ROUTE_MESSAGES, MSG("\"a\xff\""),
	    strlen(MSG("\"a\xff\"")), REQ_ID, 0, &out, err, sizeof(err),
	    &param));
	assert_non_null(strstr(err, "UTF-8"));
	param = "unset";
	assert_null(ops->open(ROUTE_MESSAGES, "{\"\xc3\x28\":1}", 8, REQ_ID,
	    0, &out, err, sizeof(err), &param));
	assert_non_null(strstr(err, "UTF-8"));
	/* Truncated, and empty. */
	open_bad(ROUTE_MESSAGES, "{\"model\":", 9,
	    "invalid JSON at byte 9: unexpected end of input", NULL);
	param = "unset";
	assert_null(ops->open(ROUTE_MESSAGES, "", 0, REQ_ID, 0, &out, err,
	    sizeof(err), &param));
	assert_null(param);
	assert_true(err[0] != '\0');
	/* Another route is no Anthropic request. */
	param = "unset";
	assert_null(ops->open(ROUTE_CHAT, "{}", 2, REQ_ID, 0, &out, err,
	    sizeof(err), &param));
	assert_null(param);
}

/* An answer for the request body; parsed. */
static cJSON *
answer(const char *request, const char *json, struct dialect_call **cp)
{
	struct dialect_request	 out;
	cJSON			*o, *a;
	char			*s;
	size_t			 n = 0;

	*cp = open_ok(ROUTE_MESSAGES, request, &out, &o);
	cJSON_Delete(o);
	free(out.body);
	s = ops->answer(*cp, json, strlen(json), &n);
	if (s == NULL)
		return NULL;
	assert_int_equal(n, strlen(s));
	a = cJSON_ParseWithLength(s, n);
	assert_non_null(a);
	free(s);
	return a;
}

#define REQ	"{\"model\":\"claude-sonnet\",\"max_tokens\":100," \
	"\"stop_sequences\":[\"END\"],\"messages\":[{\"role\":\"user\"," \
	"\"content\":\"Hi\"}]}"

static void
test_answer_text(void **state)
{
	struct dialect_call	*c;
	cJSON			*a;

	(void)state;
	a = answer(REQ, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
	    "\"created\":1,\"model\":\"Qwen/Qwen3-8B\",\"choices\":[{\"index\":"
	    "0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"},"
	    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":100,"
	    "\"completion_tokens\":20,\"total_tokens\":120,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":30}}}", &c);
	assert_non_null(a);
	assert_json(a, "", "{\"id\":\"msg_" REQ_ID "\",\"type\":\"message\","
	    "\"role\":\"assistant\",\"model\":\"claude-sonnet\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"Hello!\"}],\"stop_reason\":"
	    "\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":70,"
	    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":30,"
	    "\"output_tokens\":20}}");
	cJSON_Delete(a);
	ops->close(c);
}

/* With thinking asked for, the backend's reasoning comes first. */
static void
test_answer_thinking(void **state)
{
	static const char *const ans = "{\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"4\","
	    "\"reasoning_content\":\"2+2\"},\"finish_reason\":\"stop\"}]}";
	struct dialect_call	*c;
	cJSON			*a;

	(void)state;
	a = answer("{\"model\":\"m\",\"max_tokens\":2000,\"thinking\":{"
	    "\"type\":\"enabled\",\"budget_tokens\":1024},\"messages\":[{"
	    "\"role\":\"user\",\"content\":\"Hi\"}]}", ans, &c);
	assert_non_null(a);
	assert_json(a, "content", "[{\"type\":\"thinking\",\"thinking\":"
	    "\"2+2\",\"signature\":\"\"},{\"type\":\"text\",\"text\":"
	    "\"4\"}]");
	cJSON_Delete(a);
	ops->close(c);
	/* Not asked for (or disabled): text only, as clients expect. */
	a = answer(REQ, ans, &c);
	assert_json(a, "content", "[{\"type\":\"text\",\"text\":\"4\"}]");
	cJSON_Delete(a);
	ops->close(c);
	a = answer("{\"model\":\"m\",\"max_tokens\":20,\"thinking\":{"
	    "\"type\":\"disabled\"},\"messages\":[{\"role\":\"user\","
	    "\"content\":\"Hi\"}]}", ans, &c);
	assert_json(a, "content", "[{\"type\":\"text\",\"text\":\"4\"}]");
	cJSON_Delete(a);
	ops->close(c);
}

static void
test_answer_tools(void **state)
{
	struct dialect_call	*c;
	cJSON			*a;

	(void)state;
	a = answer(REQ, "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
	    "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
	    "\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}},"
	    "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"now\",\"arguments\":\"\"}}]},\"finish_reason\":\"tool_calls\"}],"
	    "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}", &c);
	assert_non_null(a);
	assert_json(a, "content", "[{\"type\":\"tool_use\",\"id\":\"call_1\","
	    "\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}},"
	    "{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"now\","
	    "\"input\":{}}]");
	assert_string_equal(str(a, "stop_reason"), "tool_use");
	assert_json(a, "usage", "{\"input_tokens\":5,"
	    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
	    "\"output_tokens\":7}");
	cJSON_Delete(a);
	ops->close(c);

	/* Text and a tool call; "stop" after a call is a tool_use too. */
	a = answer(REQ, "{\"choices\":[{\"message\":{\"content\":\"Let me"
	    " see.\",\"tool_calls\":[{\"type\":\"function\",\"function\":"
	    "{\"name\":\"now\",\"arguments\":\"{}\"}}]},\"finish_reason\":"
	    "\"stop\"}]}", &c);
	assert_non_null(a);
	assert_json(a, "content", "[{\"type\":\"text\",\"text\":\"Let me "
	    "see.\"},{\"type\":\"tool_use\",\"id\":\"toolu_" REQ_ID "_0\","
	    "\"name\":\"now\",\"input\":{}}]");
	assert_string_equal(str(a, "stop_reason"), "tool_use");
	cJSON_Delete(a);
	ops->close(c);
}

static void
test_answer_stops(void **state)
{
	static const struct {
		const char	*choice;
		const char	*reason;
		const char	*sequence;
		const char	*content;
	} t[] = {
		{ "{\"message\":{\"content\":\"a\"},\"finish_reason\":"
		    "\"length\"}", "max_tokens", NULL,
		    "[{\"type\":\"text\",\"text\":\"a\"}]" },
		/* vLLM names the stop string it matched. */
		{ "{\"message\":{\"content\":\"a\"},\"finish_reason\":\"stop\","
		    "\"stop_reason\":\"END\"}", "stop_sequence", "END",
		    "[{\"type\":\"text\",\"text\":\"a\"}]" },
		/* A token id, or a string not asked for: an end of turn. */
		{ "{\"message\":{\"content\":\"a\"},\"finish_reason\":\"stop\","
		    "\"stop_reason\":151643}", "end_turn", NULL,
		    "[{\"type\":\"text\",\"text\":\"a\"}]" },
		{ "{\"message\":{\"content\":\"a\"},\"finish_reason\":\"stop\","
		    "\"stop_reason\":\"STOP\"}", "end_turn", NULL,
		    "[{\"type\":\"text\",\"text\":\"a\"}]" },
		/* The output guardrail's block: emptied, a refusal. */
		{ "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
		    "\"finish_reason\":\"content_filter\"}", "refusal", NULL,
		    "[]" },
		{ "{\"message\":{\"content\":null,\"refusal\":\"I can't.\"},"
		    "\"finish_reason\":\"stop\"}", "end_turn", NULL,
		    "[{\"type\":\"text\",\"text\":\"I can't.\"}]" },
		{ "{\"message\":{\"content\":\"x\"},\"finish_reason\":null}",
		    "end_turn", NULL, "[{\"type\":\"text\",\"text\":\"x\"}]" },
		/* Arguments cut by max_tokens: {}, and max_tokens says why. */
		{ "{\"message\":{\"content\":null,\"tool_calls\":[{\"id\":"
		    "\"c\",\"function\":{\"name\":\"n\",\"arguments\":"
		    "\"{\\\"a\\\": \\\"lo\"}}]},\"finish_reason\":\"length\"}",
		    "max_tokens", NULL, "[{\"type\":\"tool_use\",\"id\":\"c\","
		    "\"name\":\"n\",\"input\":{}}]" },
	};
	struct dialect_call	*c;
	cJSON			*a;
	char			 json[512];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		snprintf(json, sizeof(json), "{\"choices\":[%s]}", t[i].choice);
		a = answer(REQ, json, &c);
		assert_non_null(a);
		assert_string_equal(str(a, "stop_reason"), t[i].reason);
		if (t[i].sequence == NULL)
			assert_true(cJSON_IsNull(get(a, "stop_sequence")));
		else
			assert_string_equal(str(a, "stop_sequence"),
			    t[i].sequence);
		assert_json(a, "content", t[i].content);
		assert_json(a, "usage.input_tokens", "0");
		cJSON_Delete(a);
		ops->close(c);
	}
}

/* What is no chat completion, or a tool call with broken arguments: 502. */
static void
test_answer_refused(void **state)
{
	static const char *const t[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"choices\":[]}",
		"{\"choices\":{}}",
		"{\"choices\":[1]}",
		"{\"choices\":[{\"message\":\"x\"}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":{}}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"a\","
		    "\"function\":{\"arguments\":\"{}\"}}]}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"a\","
		    "\"function\":{\"name\":\"n\",\"arguments\":\"{\\\"a\\\":\"}"
		    "}]}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"a\","
		    "\"function\":{\"name\":\"n\",\"arguments\":\"[1]\"}}]}}]}",
		"{\"choices\":[{\"message\":{\"content\":\"\xff\"}}]}",
	};
	struct dialect_call	*c;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		if (answer(REQ, t[i], &c) != NULL)
			fail_msg("answered %s", t[i]);
		ops->close(c);
	}
}

/* A stream's output, split into its events. */
struct events {
	char	*name[64];
	cJSON	*data[64];
	size_t	 n;
};

static void
events_parse(const struct dialect_buf *b, struct events *ev)
{
	const char	*p = b->p != NULL ? b->p : "", *nl, *end;

	memset(ev, 0, sizeof(*ev));
	while (*p != '\0') {
		assert_true(ev->n < 64);
		assert_int_equal(strncmp(p, "event: ", 7), 0);
		nl = strchr(p, '\n');
		assert_non_null(nl);
		ev->name[ev->n] = strndup(p + 7, (size_t)(nl - p - 7));
		p = nl + 1;
		assert_int_equal(strncmp(p, "data: ", 6), 0);
		end = strstr(p, "\n\n");
		assert_non_null(end);
		ev->data[ev->n] = cJSON_ParseWithLength(p + 6,
		    (size_t)(end - p - 6));
		assert_non_null(ev->data[ev->n]);
		/* The event line names the data's type. */
		assert_string_equal(str(ev->data[ev->n], "type"),
		    ev->name[ev->n]);
		ev->n++;
		p = end + 2;
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

/* Feed chunks (NULL-terminated) to a streamed request, then end it. */
static void
stream(const char *request, const char *const *chunks, struct events *ev)
{
	struct dialect_request	 out;
	struct dialect_buf	 b = { NULL, 0, 0 };
	struct dialect_call	*c;
	cJSON			*o;
	size_t			 i;

	c = open_ok(ROUTE_MESSAGES, request, &out, &o);
	assert_int_equal(out.stream, 1);
	cJSON_Delete(o);
	free(out.body);
	for (i = 0; chunks[i] != NULL; i++)
		assert_int_equal(ops->event(c, chunks[i], strlen(chunks[i]),
		    &b), 0);
	ops->end(c, &b);
	ops->close(c);
	events_parse(&b, ev);
	dialect_buf_free(&b);
}

static void
assert_names(const struct events *ev, const char *const *want)
{
	size_t	i;

	for (i = 0; want[i] != NULL; i++) {
		if (i >= ev->n)
			fail_msg("event %zu missing: %s", i, want[i]);
		assert_string_equal(ev->name[i], want[i]);
	}
	assert_int_equal(ev->n, i);
}

#define SREQ	"{\"model\":\"claude-sonnet\",\"max_tokens\":100," \
	"\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
#define CHUNK(x)	"{\"id\":\"chatcmpl-1\",\"object\":" \
	"\"chat.completion.chunk\",\"created\":1,\"model\":\"backend-id\"," \
	"\"choices\":[{\"index\":0," x "}]}"

static void
test_stream_text(void **state)
{
	static const char *const chunks[] = {
		CHUNK("\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
		    "\"logprobs\":null,\"finish_reason\":null"),
		CHUNK("\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null"),
		CHUNK("\"delta\":{\"content\":\"lo\"},\"finish_reason\":null"),
		CHUNK("\"delta\":{},\"finish_reason\":\"stop\""),
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
		    "\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
		    "\"completion_tokens\":2,\"total_tokens\":14,"
		    "\"prompt_tokens_details\":{\"cached_tokens\":4}}}",
		"[DONE]",
		NULL
	};
	static const char *const names[] = { "message_start",
	    "content_block_start", "content_block_delta",
	    "content_block_delta", "content_block_stop", "message_delta",
	    "message_stop", NULL };
	struct events	ev;

	(void)state;
	stream(SREQ, chunks, &ev);
	assert_names(&ev, names);
	assert_json(ev.data[0], "", "{\"type\":\"message_start\",\"message\":{"
	    "\"id\":\"msg_" REQ_ID "\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"claude-sonnet\",\"content\":[],"
	    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{"
	    "\"input_tokens\":0,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":0,\"output_tokens\":0}}}");
	assert_json(ev.data[1], "", "{\"type\":\"content_block_start\","
	    "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
	assert_json(ev.data[2], "", "{\"type\":\"content_block_delta\","
	    "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}");
	assert_json(ev.data[3], "delta.text", "\"lo\"");
	assert_json(ev.data[4], "", "{\"type\":\"content_block_stop\","
	    "\"index\":0}");
	assert_json(ev.data[5], "", "{\"type\":\"message_delta\",\"delta\":{"
	    "\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{"
	    "\"input_tokens\":8,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":4,\"output_tokens\":2}}");
	assert_json(ev.data[6], "", "{\"type\":\"message_stop\"}");
	events_free(&ev);
}

/* Reasoning, then text: a thinking block, then a text block. */
static void
test_stream_thinking(void **state)
{
	static const char *const chunks[] = {
		CHUNK("\"delta\":{\"role\":\"assistant\",\"content\":\"\","
		    "\"reasoning_content\":\"2+\"},\"finish_reason\":null"),
		CHUNK("\"delta\":{\"reasoning\":\"2\"},\"finish_reason\":null"),
		CHUNK("\"delta\":{\"content\":\"4\"},\"finish_reason\":null"),
		CHUNK("\"delta\":{},\"finish_reason\":\"stop\""),
		"[DONE]",
		NULL
	};
	static const char *const names[] = { "message_start",
	    "content_block_start", "content_block_delta",
	    "content_block_delta", "content_block_stop",
	    "content_block_start", "content_block_delta",
	    "content_block_stop", "message_delta", "message_stop", NULL };
	struct events	ev;

	(void)state;
	stream("{\"model\":\"m\",\"max_tokens\":2000,\"stream\":true,"
	    "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
	    chunks, &ev);
	assert_names(&ev, names);
	assert_json(ev.data[1], "", "{\"type\":\"content_block_start\","
	    "\"index\":0,\"content_block\":{\"type\":\"thinking\","
	    "\"thinking\":\"\",\"signature\":\"\"}}");
	assert_json(ev.data[2], "", "{\"type\":\"content_block_delta\","
	    "\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
	    "\"thinking\":\"2+\"}}");
	assert_json(ev.data[3], "delta.thinking", "\"2\"");
	assert_json(ev.data[5], "content_block", "{\"type\":\"text\","
	    "\"text\":\"\"}");
	assert_json(ev.data[5], "index", "1");
	assert_json(ev.data[6], "delta.text", "\"4\"");
	events_free(&ev);
	/* Not asked for: the reasoning stays out. */
	stream(SREQ, chunks, &ev);
	assert_json(ev.data[1], "content_block", "{\"type\":\"text\","
	    "\"text\":\"\"}");
	events_free(&ev);
}

/* Text, then two tool calls as vLLM streams them. */
static void
test_stream_tools(void **state)
{
	static const char *const chunks[] = {
		CHUNK("\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
		    "\"finish_reason\":null"),
		CHUNK("\"delta\":{\"content\":\"Checking.\"}"),
		CHUNK("\"delta\":{\"tool_calls\":[{\"id\":\"chatcmpl-tool-a\","
		    "\"type\":\"function\",\"index\":0,\"function\":{\"name\":"
		    "\"get_weather\",\"arguments\":\"\"}}]}"),
		CHUNK("\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
		    "\"arguments\":\"{\\\"city\\\": \"}}]}"),
		CHUNK("\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
		    "\"arguments\":\"\\\"Paris\\\"}\"}}]}"),
		CHUNK("\"delta\":{\"tool_calls\":[{\"id\":\"chatcmpl-tool-b\","
		    "\"type\":\"function\",\"index\":1,\"function\":{\"name\":"
		    "\"now\",\"arguments\":\"{}\"}}]}"),
		CHUNK("\"delta\":{},\"finish_reason\":\"tool_calls\""),
		"{\"choices\":[],\"usage\":{\"prompt_tokens\":30,"
		    "\"completion_tokens\":25}}",
		"[DONE]",
		NULL
	};
	static const char *const names[] = { "message_start",
	    "content_block_start", "content_block_delta", "content_block_stop",
	    "content_block_start", "content_block_delta", "content_block_delta",
	    "content_block_stop", "content_block_start", "content_block_delta",
	    "content_block_stop", "message_delta", "message_stop", NULL };
	struct events	ev;

	(void)state;
	stream(SREQ, chunks, &ev);
	assert_names(&ev, names);
	assert_json(ev.data[2], "delta", "{\"type\":\"text_delta\",\"text\":"
	    "\"Checking.\"}");
	assert_json(ev.data[3], "index", "0");
	assert_json(ev.data[4], "", "{\"type\":\"content_block_start\","
	    "\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":"
	    "\"chatcmpl-tool-a\",\"name\":\"get_weather\",\"input\":{}}}");
	assert_json(ev.data[5], "", "{\"type\":\"content_block_delta\","
	    "\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
	    "\"partial_json\":\"{\\\"city\\\": \"}}");
	assert_json(ev.data[6], "delta.partial_json", "\"\\\"Paris\\\"}\"");
	assert_json(ev.data[7], "index", "1");
	assert_json(ev.data[8], "", "{\"type\":\"content_block_start\","
	    "\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":"
	    "\"chatcmpl-tool-b\",\"name\":\"now\",\"input\":{}}}");
	assert_json(ev.data[9], "", "{\"type\":\"content_block_delta\","
	    "\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
	    "\"partial_json\":\"{}\"}}");
	assert_json(ev.data[10], "index", "2");
	assert_json(ev.data[11], "", "{\"type\":\"message_delta\",\"delta\":{"
	    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{"
	    "\"input_tokens\":30,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":0,\"output_tokens\":25}}");
	events_free(&ev);
}

/* The output guardrail's block: its content_filter chunk, then [DONE]. */
static void
test_stream_blocked(void **state)
{
	static const char *const chunks[] = {
		CHUNK("\"delta\":{\"content\":\"Sure, the card is\"},"
		    "\"finish_reason\":null"),
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
		    "\"created\":1,\"model\":\"backend-id\",\"choices\":[{"
		    "\"index\":0,\"delta\":{},\"finish_reason\":"
		    "\"content_filter\"}]}",
		"[DONE]",
		NULL
	};
	static const char *const names[] = { "message_start",
	    "content_block_start", "content_block_delta", "content_block_stop",
	    "message_delta", "message_stop", NULL };
	struct events	ev;

	(void)state;
	stream(SREQ, chunks, &ev);
	assert_names(&ev, names);
	assert_json(ev.data[4], "delta", "{\"stop_reason\":\"refusal\","
	    "\"stop_sequence\":null}");
	events_free(&ev);
}

/* No chunk at all still makes a whole message. */
static void
test_stream_empty(void **state)
{
	static const char *const chunks[] = { NULL };
	static const char *const names[] = { "message_start", "message_delta",
	    "message_stop", NULL };
	struct events	ev;

	(void)state;
	stream(SREQ, chunks, &ev);
	assert_names(&ev, names);
	assert_json(ev.data[1], "delta", "{\"stop_reason\":\"end_turn\","
	    "\"stop_sequence\":null}");
	events_free(&ev);
}

/* Stop sequence, length, a backend's tool call without an id. */
static void
test_stream_stops(void **state)
{
	static const char *const seq[] = {
		CHUNK("\"delta\":{\"content\":\"a\"}"),
		CHUNK("\"delta\":{},\"finish_reason\":\"stop\",\"stop_reason\":"
		    "\"END\""),
		NULL
	};
	static const char *const len[] = {
		CHUNK("\"delta\":{\"content\":\"a\"},\"finish_reason\":"
		    "\"length\""),
		NULL
	};
	static const char *const noid[] = {
		CHUNK("\"delta\":{\"tool_calls\":[{\"function\":{\"name\":\"n\","
		    "\"arguments\":\"{}\"}}]},\"finish_reason\":\"stop\""),
		NULL
	};
	struct events	ev;

	(void)state;
	stream("{\"model\":\"m\",\"max_tokens\":5,\"stream\":true,"
	    "\"stop_sequences\":[\"END\"],\"messages\":[]}", seq, &ev);
	assert_json(ev.data[ev.n - 2], "delta", "{\"stop_reason\":"
	    "\"stop_sequence\",\"stop_sequence\":\"END\"}");
	events_free(&ev);
	stream(SREQ, len, &ev);
	assert_json(ev.data[ev.n - 2], "delta", "{\"stop_reason\":"
	    "\"max_tokens\",\"stop_sequence\":null}");
	events_free(&ev);
	stream(SREQ, noid, &ev);
	assert_json(ev.data[1], "content_block", "{\"type\":\"tool_use\","
	    "\"id\":\"toolu_" REQ_ID "_0\",\"name\":\"n\",\"input\":{}}");
	assert_json(ev.data[ev.n - 2], "delta", "{\"stop_reason\":"
	    "\"tool_use\",\"stop_sequence\":null}");
	events_free(&ev);
}

/* A broken stream: an error event, and nothing after it. */
static void
test_stream_error(void **state)
{
	struct dialect_request	 out;
	struct dialect_buf	 b = { NULL, 0, 0 };
	struct dialect_call	*c;
	struct events		 ev;
	const char		*chunk = CHUNK("\"delta\":{\"content\":\"a\"}");
	const char		*err = "{\"error\":{\"message\":\"the answer "
	    "could not be checked\",\"type\":\"api_error\",\"param\":null,"
	    "\"code\":\"upstream_error\"}}";
	cJSON			*o;

	(void)state;
	c = open_ok(ROUTE_MESSAGES, SREQ, &out, &o);
	cJSON_Delete(o);
	free(out.body);
	assert_int_equal(ops->event(c, chunk, strlen(chunk), &b), 0);
	ops->stream_error(c, API_UNAVAILABLE, "busy", &b);
	ops->end(c, &b);
	assert_int_equal(ops->event(c, chunk, strlen(chunk), &b), 0);
	ops->close(c);
	events_parse(&b, &ev);
	assert_int_equal(ev.n, 4);
	assert_string_equal(ev.name[3], "error");
	assert_json(ev.data[3], "", "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"overloaded_error\",\"message\":\"busy\"}}");
	events_free(&ev);
	dialect_buf_free(&b);

	/* An error chunk in the stream (a guardrail's that failed). */
	c = open_ok(ROUTE_MESSAGES, SREQ, &out, &o);
	cJSON_Delete(o);
	free(out.body);
	assert_int_equal(ops->event(c, err, strlen(err), &b), 0);
	ops->end(c, &b);
	ops->close(c);
	events_parse(&b, &ev);
	assert_int_equal(ev.n, 1);
	assert_json(ev.data[0], "", "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"api_error\",\"message\":\"the answer could not be checked\"}}");
	events_free(&ev);
	dialect_buf_free(&b);
}

/* Chunks that are no chunks: -1, and nothing half-written. */
static void
test_stream_refused(void **state)
{
	static const char *const t[] = {
		"",
		"nope",
		"[1]",
		"{\"choices\":{}}",
		"{\"choices\":[\"x\"]}",
		"{\"choices\":[{\"delta\":\"x\"}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":{}}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[5]}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-1,"
		    "\"function\":{\"name\":\"n\"}}]}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
		    "\"function\":{\"arguments\":\"{}\"}}]}}]}",
		"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
		    "\"function\":\"n\"}]}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"\xc3\"}}]}",
	};
	struct dialect_request	 out;
	struct dialect_buf	 b = { NULL, 0, 0 };
	struct dialect_call	*c;
	cJSON			*o;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		c = open_ok(ROUTE_MESSAGES, SREQ, &out, &o);
		cJSON_Delete(o);
		free(out.body);
		if (ops->event(c, t[i], strlen(t[i]), &b) != -1)
			fail_msg("took %s", t[i]);
		ops->close(c);
		dialect_buf_free(&b);
	}
}

/* More tool calls than a message holds: refused, memory bounded. */
static void
test_stream_many_tools(void **state)
{
	struct dialect_request	 out;
	struct dialect_buf	 b = { NULL, 0, 0 };
	struct dialect_call	*c;
	cJSON			*o;
	char			 chunk[256];
	int			 i, rc = 0;

	(void)state;
	c = open_ok(ROUTE_MESSAGES, SREQ, &out, &o);
	cJSON_Delete(o);
	free(out.body);
	for (i = 0; i <= 4096 && rc == 0; i++) {
		snprintf(chunk, sizeof(chunk), "{\"choices\":[{\"delta\":{"
		    "\"tool_calls\":[{\"index\":%d,\"id\":\"c%d\",\"function\":"
		    "{\"name\":\"n\",\"arguments\":\"{}\"}}]}}]}", i, i);
		b.len = 0;
		rc = ops->event(c, chunk, strlen(chunk), &b);
	}
	assert_int_equal(rc, -1);
	assert_int_equal(i, 4097);
	ops->close(c);
	dialect_buf_free(&b);
}

static void
test_error_body(void **state)
{
	static const struct {
		enum api_error	 e;
		const char	*type;
	} t[] = {
		{ API_INVALID_REQUEST, "invalid_request_error" },
		{ API_INVALID_API_KEY, "authentication_error" },
		{ API_DOMAIN_NOT_FOUND, "not_found_error" },
		{ API_MODEL_NOT_FOUND, "not_found_error" },
		{ API_MODEL_INACTIVE, "permission_error" },
		{ API_GUARDRAIL_VIOLATION, "invalid_request_error" },
		{ API_REQUEST_TOO_LARGE, "request_too_large" },
		{ API_RATE_LIMIT_EXCEEDED, "rate_limit_error" },
		{ API_BUDGET_EXCEEDED, "rate_limit_error" },
		{ API_UPSTREAM_ERROR, "api_error" },
		{ API_UPSTREAM_TIMEOUT, "timeout_error" },
		{ API_NOT_FOUND, "not_found_error" },
		{ API_METHOD_NOT_ALLOWED, "invalid_request_error" },
		{ API_HEADERS_TOO_LARGE, "request_too_large" },
		{ API_UNAVAILABLE, "overloaded_error" },
	};
	char	 buf[2048], big[4000], small[100];
	cJSON	*o;
	size_t	 i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		n = ops->error_body(buf, sizeof(buf), t[i].e, NULL, "no");
		assert_int_equal(n, strlen(buf));
		o = cJSON_Parse(buf);
		assert_non_null(o);
		assert_int_equal(cJSON_GetArraySize(o), 2);
		assert_string_equal(str(o, "type"), "error");
		assert_int_equal(size(o, "error"), 2);
		assert_string_equal(str(o, "error.type"), t[i].type);
		assert_string_equal(str(o, "error.message"), "no");
		cJSON_Delete(o);
	}
	/* The param leads the message, once. */
	ops->error_body(buf, sizeof(buf), API_INVALID_REQUEST, "model",
	    "unknown model");
	o = cJSON_Parse(buf);
	assert_string_equal(str(o, "error.message"), "model: unknown model");
	cJSON_Delete(o);
	ops->error_body(buf, sizeof(buf), API_INVALID_REQUEST, "max_tokens",
	    "max_tokens: Field required");
	o = cJSON_Parse(buf);
	assert_string_equal(str(o, "error.message"),
	    "max_tokens: Field required");
	cJSON_Delete(o);
	/* Quotes, control bytes, bad UTF-8, too long: still JSON that fits. */
	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '\x01';
	big[6] = '\xff';
	n = ops->error_body(small, sizeof(small), API_UPSTREAM_ERROR, NULL,
	    big);
	assert_int_equal(n, strlen(small));
	assert_non_null(o = cJSON_Parse(small));
	cJSON_Delete(o);
	n = ops->error_body(buf, sizeof(buf), API_UPSTREAM_ERROR, NULL, big);
	assert_int_equal(n, strlen(buf));
	assert_non_null(o = cJSON_Parse(buf));
	assert_true(strlen(str(o, "error.message")) > 200);
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_plain),
		cmocka_unit_test(test_request_blocks),
		cmocka_unit_test(test_request_tool_image),
		cmocka_unit_test(test_request_tools),
		cmocka_unit_test(test_request_count_tokens),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_hostile),
		cmocka_unit_test(test_answer_text),
		cmocka_unit_test(test_answer_thinking),
		cmocka_unit_test(test_answer_tools),
		cmocka_unit_test(test_answer_stops),
		cmocka_unit_test(test_answer_refused),
		cmocka_unit_test(test_stream_text),
		cmocka_unit_test(test_stream_thinking),
		cmocka_unit_test(test_stream_tools),
		cmocka_unit_test(test_stream_blocked),
		cmocka_unit_test(test_stream_empty),
		cmocka_unit_test(test_stream_stops),
		cmocka_unit_test(test_stream_error),
		cmocka_unit_test(test_stream_refused),
		cmocka_unit_test(test_stream_many_tools),
		cmocka_unit_test(test_error_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
