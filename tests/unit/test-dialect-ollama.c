/*
 * Unit tests for agent/dialect-ollama.c: Ollama's chat, generate, embed
 * and embeddings requests as OpenAI ones, and the answers, streams and
 * errors back in Ollama's shapes, on exact JSON.
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
#include "xmalloc.h"

#define ID	"0123456789abcdef0123456789abcdef"

static const struct dialect_ops	*ops = &dialect_ollama;

/* Open body on route; it must be taken. */
static struct dialect_call *
take(enum route_kind route, const char *body, struct dialect_request *out)
{
	struct dialect_call	*c;
	const char		*param = "unset";
	char			 err[256] = "";

	c = ops->open(route, body, strlen(body), ID, time(NULL), out, err,
	    sizeof(err), &param);
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_int_equal(out->len, strlen(out->body));
	return c;
}

/* Open body and check the translated body is want exactly. */
static void
translates(enum route_kind route, const char *body, const char *want,
    enum route_kind want_route, int want_stream, const char *trace)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	struct request		 rq;
	char			 err[256];

	c = take(route, body, &out);
	assert_string_equal(out.body, want);
	/* What the pipeline's scan of an OpenAI body takes. */
	memset(&rq, 0, sizeof(rq));
	if (request_scan(&rq, out.body, out.len, 0, err, sizeof(err)) != 0)
		fail_msg("the pipeline refuses it: %s", err);
	request_clear(&rq);
	assert_int_equal(out.route, want_route);
	assert_int_equal(out.stream, want_stream);
	assert_string_equal(out.trace_route, trace);
	free(out.body);
	ops->close(c);
}

/* Open body; it must be refused with exactly err_want and param_want. */
static void
refuses(enum route_kind route, const char *body, size_t len,
    const char *err_want, const char *param_want)
{
	struct dialect_request	 out;
	const char		*param = "unset";
	char			 err[256] = "";

	memset(&out, 0, sizeof(out));
	assert_null(ops->open(route, body, len, ID, time(NULL), &out, err,
	    sizeof(err), &param));
	assert_null(out.body);
	if (err_want != NULL)
		assert_string_equal(err, err_want);
	else
		assert_true(strlen(err) > 10);
	if (param_want != NULL)
		assert_string_equal(param, param_want);
	else
		assert_null(param);
}

static void
test_chat_request(void **state)
{
	(void)state;
	/* Stream by default; images, tool calls and tool results; options. */
	translates(ROUTE_CHAT, "{\"model\":\"m:latest\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"be brief\"},"
	    "{\"role\":\"user\",\"content\":\"what is this?\",\"images\":"
	    "[\"iVBORw0KGgoAAAA\",\"/9j/4AAQ\",\"AAAA\"]},"
	    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
	    "{\"function\":{\"name\":\"weather\",\"arguments\":{\"city\":"
	    "\"Paris\"}}},{\"function\":{\"name\":\"time\",\"arguments\":{}}}]},"
	    "{\"role\":\"tool\",\"content\":\"12:00\",\"tool_name\":\"time\"},"
	    "{\"role\":\"tool\",\"content\":\"sunny\"},"
	    "{\"role\":\"user\",\"content\":\"thanks\",\"images\":[],"
	    "\"thinking\":\"dropped\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\","
	    "\"parameters\":{\"type\":\"object\"}}}],"
	    "\"format\":\"json\",\"keep_alive\":\"5m\",\"think\":true,"
	    "\"options\":{\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,"
	    "\"seed\":42,\"num_predict\":128,\"stop\":[\"\\n\\n\"],"
	    "\"num_ctx\":8192,\"repeat_penalty\":1.1,\"presence_penalty\":0.25,"
	    "\"frequency_penalty\":0}}",
	    "{\"model\":\"m:latest\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"be brief\"},"
	    "{\"role\":\"user\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"what is this?\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,iVBORw0KGgoAAAA\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/jpeg;base64,/9j/4AAQ\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/jpeg;base64,AAAA\"}}]},"
	    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
	    "{\"id\":\"call_2_0\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
	    "{\"id\":\"call_2_1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"time\",\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"content\":\"12:00\",\"tool_call_id\":"
	    "\"call_2_1\"},"
	    "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_call_id\":"
	    "\"call_2_0\"},"
	    "{\"role\":\"user\",\"content\":\"thanks\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\","
	    "\"parameters\":{\"type\":\"object\"}}}],"
	    "\"response_format\":{\"type\":\"json_object\"},"
	    "\"temperature\":0.5,\"top_p\":0.9,\"presence_penalty\":0.25,"
	    "\"frequency_penalty\":0,\"seed\":42,\"max_tokens\":128,"
	    "\"stop\":[\"\\n\\n\"],"
	    "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
	    ROUTE_CHAT, 1, "ollama_chat");

	/* Ids the client kept; a schema; no limit; no stream; nulls. */
	translates(ROUTE_CHAT, "{\"model\":\"m\",\"stream\":false,"
	    "\"messages\":[{\"role\":\"assistant\",\"content\":null,"
	    "\"tool_calls\":[{\"id\":\"c9\",\"function\":{\"index\":0,"
	    "\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
	    "{\"role\":\"tool\",\"content\":\"r\",\"tool_call_id\":\"c9\"},"
	    "{\"role\":\"tool\",\"content\":\"orphan\"}],"
	    "\"tools\":[],\"images\":null,"
	    "\"format\":{\"type\":\"object\",\"properties\":{\"a\":"
	    "{\"type\":\"integer\"}}},"
	    "\"options\":{\"num_predict\":-1,\"stop\":\"END\",\"seed\":null}}",
	    "{\"model\":\"m\",\"messages\":["
	    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
	    "{\"id\":\"c9\",\"type\":\"function\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"{\\\"a\\\":1}\"}}]},"
	    "{\"role\":\"tool\",\"content\":\"r\",\"tool_call_id\":\"c9\"},"
	    "{\"role\":\"tool\",\"content\":\"orphan\",\"tool_call_id\":"
	    "\"call_2\"}],"
	    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
	    "{\"name\":\"response\",\"schema\":{\"type\":\"object\","
	    "\"properties\":{\"a\":{\"type\":\"integer\"}}}}},"
	    "\"stop\":\"END\",\"stream\":false}",
	    ROUTE_CHAT, 0, "ollama_chat");
}

static void
test_generate_request(void **state)
{
	(void)state;
	translates(ROUTE_COMPLETIONS, "{\"model\":\"m\",\"prompt\":\"why?\","
	    "\"system\":\"sys\",\"images\":[\"R0lGODlh\"],\"raw\":true,"
	    "\"template\":\"{{ .Prompt }}\",\"context\":[1,2,3],\"suffix\":\"\","
	    "\"options\":{\"temperature\":1}}",
	    "{\"model\":\"m\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"sys\"},"
	    "{\"role\":\"user\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"why?\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/gif;base64,R0lGODlh\"}}]}],"
	    "\"temperature\":1,"
	    "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
	    ROUTE_CHAT, 1, "ollama_generate");
	translates(ROUTE_COMPLETIONS, "{\"model\":\"m\",\"prompt\":\"\","
	    "\"stream\":false,\"format\":\"json\"}",
	    "{\"model\":\"m\",\"messages\":["
	    "{\"role\":\"user\",\"content\":\"\"}],"
	    "\"response_format\":{\"type\":\"json_object\"},\"stream\":false}",
	    ROUTE_CHAT, 0, "ollama_generate");
}

static void
test_embed_request(void **state)
{
	(void)state;
	translates(ROUTE_EMBEDDINGS, "{\"model\":\"e\",\"input\":\"one\","
	    "\"truncate\":true,\"keep_alive\":0,\"options\":{\"num_ctx\":1}}",
	    "{\"model\":\"e\",\"input\":\"one\",\"encoding_format\":\"float\"}",
	    ROUTE_EMBEDDINGS, 0, "ollama_embed");
	translates(ROUTE_EMBEDDINGS, "{\"model\":\"e\",\"input\":[\"a\",\"b\"],"
	    "\"dimensions\":256}",
	    "{\"model\":\"e\",\"input\":[\"a\",\"b\"],\"dimensions\":256,"
	    "\"encoding_format\":\"float\"}",
	    ROUTE_EMBEDDINGS, 0, "ollama_embed");
	translates(ROUTE_OLLAMA_EMBEDDINGS, "{\"model\":\"e\",\"prompt\":\"p\","
	    "\"stream\":true}",
	    "{\"model\":\"e\",\"input\":\"p\",\"encoding_format\":\"float\"}",
	    ROUTE_EMBEDDINGS, 0, "ollama_embed");
}

#define R(s)	s, sizeof(s) - 1

static void
test_bad_requests(void **state)
{
	char	*deep, *big;
	size_t	 i, n;

	(void)state;
	refuses(ROUTE_CHAT, R("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}"), "model is required",
	    "model");
	refuses(ROUTE_CHAT, R("{\"model\":[\"m\"],\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}"),
	    "model must be a non-empty string", "model");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\"}"),
	    "messages must be a non-empty array", "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":{}}"),
	    "messages must be a non-empty array", "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[\"hi\"]}"),
	    "messages[0] must be an object", "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"},{\"role\":\"root\",\"content\":\"\"}]}"),
	    "messages[1].role must be system, user, assistant or tool",
	    "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"text\"}]}]}"),
	    "messages[0].content must be a string", "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\",\"images\":[\"x\",7]}]}"),
	    "messages[0].images[1] must be a base64 string", "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\",\"images\":\"x\"}]}"),
	    "messages[0].images must be an array of base64 strings",
	    "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"system\",\"content\":\"a\",\"images\":[\"x\"]}]}"),
	    "messages[0].images: only a user message can carry images",
	    "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"assistant\",\"tool_calls\":[{\"function\":{\"arguments\":{}}}]}]}"),
	    "messages[0].tool_calls[0] must be {\"function\": {\"name\": ...,"
	    " \"arguments\": {...}}}", "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
	    "\"arguments\":[1]}}]}]}"),
	    "messages[0].tool_calls[0].function.arguments must be an object",
	    "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"assistant\",\"tool_calls\":{}}]}"),
	    "messages[0].tool_calls must be an array", "messages");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"tools\":[{\"type\":\"function\"}]}"),
	    "tools[0] must be {\"type\": \"function\", \"function\": {\"name\":"
	    " ...}}", "tools");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"tools\":{}}"),
	    "tools must be an array", "tools");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"format\":\"yaml\"}"),
	    "format must be \"json\" or a JSON schema object", "format");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"options\":[]}"),
	    "options must be an object", "options");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"options\":{\"temperature\":\"hot\"}}"),
	    "options.temperature must be a number", "options");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"options\":{\"top_p\":1e999}}"),
	    "options.top_p must be a number", "options");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"options\":{\"seed\":1.5}}"),
	    "options.seed must be an integer", "options");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"options\":{\"num_predict\":1e300}}"),
	    "options.num_predict must be an integer", "options");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"options\":{\"num_predict\":"
	    "16777217}}"), "options.num_predict must be at most 16777216",
	    "options");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"options\":{\"stop\":[\"a\",1]}}"),
	    "options.stop[1] must be a string", "options");
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\"}],\"stream\":\"yes\"}"),
	    "stream must be true or false", "stream");
	refuses(ROUTE_COMPLETIONS, R("{\"model\":\"m\"}"), "prompt is required",
	    "prompt");
	refuses(ROUTE_COMPLETIONS, R("{\"model\":\"m\",\"prompt\":1}"),
	    "prompt must be a string", "prompt");
	refuses(ROUTE_COMPLETIONS, R("{\"model\":\"m\",\"prompt\":\"a\","
	    "\"suffix\":\"b\"}"), "suffix (fill in the middle) is not served for"
	    " this model: its backend takes chat requests", "suffix");
	refuses(ROUTE_COMPLETIONS, R("{\"model\":\"m\",\"prompt\":\"a\","
	    "\"system\":{}}"), "system must be a string", "system");
	refuses(ROUTE_EMBEDDINGS, R("{\"model\":\"m\"}"), "input is required",
	    "input");
	refuses(ROUTE_EMBEDDINGS, R("{\"model\":\"m\",\"input\":[]}"),
	    "input must not be empty", "input");
	refuses(ROUTE_EMBEDDINGS, R("{\"model\":\"m\",\"input\":[\"a\",[1]]}"),
	    "input[1] must be a string", "input");
	refuses(ROUTE_EMBEDDINGS, R("{\"model\":\"m\",\"input\":5}"),
	    "input must be a string or a list of strings", "input");
	refuses(ROUTE_EMBEDDINGS, R("{\"model\":\"m\",\"input\":\"a\","
	    "\"dimensions\":0}"), "dimensions must be a positive integer",
	    "dimensions");
	refuses(ROUTE_OLLAMA_EMBEDDINGS, R("{\"model\":\"m\",\"input\":\"a\"}"),
	    "prompt is required", "prompt");
	refuses(ROUTE_MODELS, R("{\"model\":\"m\"}"),
	    "this route is not served by Ollama's API", NULL);

	/* Not JSON, not an object, not UTF-8, a key twice: jscan's words. */
	refuses(ROUTE_CHAT, R(""), NULL, NULL);
	refuses(ROUTE_CHAT, R("[1]"), NULL, NULL);
	refuses(ROUTE_CHAT, R("{\"model\":\"m\xc3\"}"), NULL, NULL);
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"model\":\"n\"}"),
	    "duplicate key \"model\"", NULL);
	/* A NUL would cut the string where cJSON reads it. */
	refuses(ROUTE_CHAT, R("{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\\u0000b\"}]}"),
	    "messages: a string holds a NUL character (\\u0000)", NULL);
	refuses(ROUTE_CHAT, "{\"model\":\"m\0\"}", 14, NULL, NULL);
	/* An escaped backslash before u0000 is text, not a NUL. */
	translates(ROUTE_EMBEDDINGS, "{\"model\":\"e\",\"input\":\"\\\\u0000\"}",
	    "{\"model\":\"e\",\"input\":\"\\\\u0000\","
	    "\"encoding_format\":\"float\"}", ROUTE_EMBEDDINGS, 0,
	    "ollama_embed");

	/* Too deep. */
	n = 200;
	deep = xmalloc(2 * n + 64);
	i = (size_t)snprintf(deep, 64, "{\"model\":\"m\",\"format\":");
	memset(deep + i, '[', n);
	memset(deep + i + n, ']', n);
	memcpy(deep + i + 2 * n, "}", 2);
	refuses(ROUTE_CHAT, deep, strlen(deep), NULL, NULL);
	free(deep);

	/* Too many values: refused before a tree is built. */
	n = 300000;
	big = xmalloc(2 * n + 64);
	i = (size_t)snprintf(big, 64, "{\"model\":\"e\",\"input\":[");
	while (n-- > 1) {
		memcpy(big + i, "1,", 2);
		i += 2;
	}
	memcpy(big + i, "1]}", 4);
	refuses(ROUTE_EMBEDDINGS, big, strlen(big),
	    "the request holds more than 200000 JSON values", NULL);
	free(big);
}

/* Check created_at is Ollama's RFC 3339 UTC with a fraction, remove it. */
static void
strip_time(cJSON *o)
{
	const cJSON	*t = cJSON_GetObjectItemCaseSensitive(o, "created_at");
	int		 y, mo, d, h, mi, s, n = 0;
	char		 z = 0;

	assert_true(cJSON_IsString(t));
	assert_int_equal(sscanf(t->valuestring, "%4d-%2d-%2dT%2d:%2d:%2d.%*d%c%n",
	    &y, &mo, &d, &h, &mi, &s, &z, &n), 7);
	assert_int_equal(z, 'Z');
	assert_int_equal((size_t)n, strlen(t->valuestring));
	assert_true(y >= 2024);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "created_at");
}

/*
 * Check and remove the durations: numbers of nanoseconds, load 0, the
 * prompt's and the eval's within the total. Returns the total.
 */
static double
strip_durations(cJSON *o)
{
	static const char *const names[] = { "total_duration",
	    "load_duration", "prompt_eval_duration", "eval_duration" };
	double	 v[4];
	size_t	 i;
	cJSON	*x;

	for (i = 0; i < 4; i++) {
		x = cJSON_GetObjectItemCaseSensitive(o, names[i]);
		assert_true(cJSON_IsNumber(x));
		v[i] = x->valuedouble;
		assert_true(v[i] >= 0 && v[i] == (double)(int64_t)v[i]);
		cJSON_ReplaceItemInObjectCaseSensitive(o, names[i],
		    cJSON_CreateString("ns"));
	}
	assert_true(v[0] > 0);
	assert_true(v[1] == 0);
	assert_true(v[2] + v[3] <= v[0] + 1);
	return v[0];
}

/* One line or body: parsed, time and durations checked, as printed. */
static char *
norm(const char *s, size_t len, int durations)
{
	cJSON	*o = cJSON_ParseWithLength(s, len);
	char	*p, *r;

	assert_non_null(o);
	strip_time(o);
	if (durations)
		strip_durations(o);
	p = cJSON_PrintUnformatted(o);
	r = xstrdup(p);
	cJSON_free(p);
	cJSON_Delete(o);
	return r;
}

#define TAIL(reason, p, e) "\"done_reason\":\"" reason "\",\"done\":true," \
	"\"total_duration\":\"ns\",\"load_duration\":\"ns\"," \
	"\"prompt_eval_count\":" #p ",\"prompt_eval_duration\":\"ns\"," \
	"\"eval_count\":" #e ",\"eval_duration\":\"ns\""

static void
answers(enum route_kind route, const char *req, const char *answer,
    const char *want)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	char			*a, *n;
	size_t			 len;

	c = take(route, req, &out);
	free(out.body);
	a = ops->answer(c, answer, strlen(answer), &len);
	assert_non_null(a);
	assert_int_equal(len, strlen(a));
	n = norm(a, len, 1);
	assert_string_equal(n, want);
	free(n);
	free(a);
	ops->close(c);
}

static void
test_chat_answer(void **state)
{
	(void)state;
	/* The client's model string, never the backend's. */
	answers(ROUTE_CHAT, "{\"model\":\"chat\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}",
	    "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":"
	    "\"backend/secret\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
	    "\"assistant\",\"content\":\"Hello!\"},\"finish_reason\":\"stop\"}],"
	    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,"
	    "\"total_tokens\":12}}",
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"Hello!\"}," TAIL("stop", 9, 3) "}");
	/* Tool calls: arguments an object; none, {}; text kept as text. */
	answers(ROUTE_CHAT, "{\"model\":\"chat\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}",
	    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"weather\",\"arguments\":"
	    "\"{\\\"city\\\":\\\"Paris\\\"}\"}},{\"id\":\"call_2\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"\"}},"
	    "{\"type\":\"function\",\"function\":{\"name\":\"bad\","
	    "\"arguments\":\"{oops\"}}]},\"finish_reason\":\"tool_calls\"}],"
	    "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":11}}",
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\",\"tool_calls\":["
	    "{\"id\":\"call_1\",\"function\":{\"index\":0,\"name\":\"weather\","
	    "\"arguments\":{\"city\":\"Paris\"}}},"
	    "{\"id\":\"call_2\",\"function\":{\"index\":1,\"name\":\"now\","
	    "\"arguments\":{}}},"
	    "{\"function\":{\"index\":2,\"name\":\"bad\","
	    "\"arguments\":\"{oops\"}}]}," TAIL("stop", 20, 11) "}");
	/* The backend's reasoning is Ollama's thinking, unless refused. */
	answers(ROUTE_CHAT, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"4\","
	    "\"reasoning_content\":\"2+2\"},\"finish_reason\":\"stop\"}]}",
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"4\",\"thinking\":\"2+2\"}," TAIL("stop", 0, 0)
	    "}");
	answers(ROUTE_COMPLETIONS, "{\"model\":\"gen\",\"prompt\":\"hi\"}",
	    "{\"choices\":[{\"message\":{\"content\":\"4\",\"reasoning\":"
	    "\"2+2\"},\"finish_reason\":\"stop\"}]}",
	    "{\"model\":\"gen\",\"response\":\"4\",\"thinking\":\"2+2\","
	    "\"done\":true,\"done_reason\":\"stop\",\"total_duration\":"
	    "\"ns\",\"load_duration\":\"ns\",\"prompt_eval_count\":0,"
	    "\"prompt_eval_duration\":\"ns\",\"eval_count\":0,"
	    "\"eval_duration\":\"ns\"}");
	answers(ROUTE_CHAT, "{\"model\":\"chat\",\"think\":false,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
	    "{\"choices\":[{\"message\":{\"content\":\"4\","
	    "\"reasoning_content\":\"2+2\"},\"finish_reason\":\"stop\"}]}",
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"4\"}," TAIL("stop", 0, 0) "}");
	/* Cut at the limit; no usage: zero counts. */
	answers(ROUTE_COMPLETIONS, "{\"model\":\"gen\",\"prompt\":\"hi\"}",
	    "{\"choices\":[{\"message\":{\"content\":\"Once upon\"},"
	    "\"finish_reason\":\"length\"}]}",
	    "{\"model\":\"gen\",\"response\":\"Once upon\",\"done\":true,"
	    "\"done_reason\":\"length\",\"total_duration\":\"ns\","
	    "\"load_duration\":\"ns\",\"prompt_eval_count\":0,"
	    "\"prompt_eval_duration\":\"ns\",\"eval_count\":0,"
	    "\"eval_duration\":\"ns\"}");
}

/* An answer the dialect cannot read: NULL (the gateway's 502). */
static void
rejects(enum route_kind route, const char *req, const char *answer)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	size_t			 len = 12345;

	c = take(route, req, &out);
	free(out.body);
	assert_null(ops->answer(c, answer, strlen(answer), &len));
	ops->close(c);
}

static void
test_bad_answers(void **state)
{
	const char	*chat = "{\"model\":\"c\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}";
	const char	*embed = "{\"model\":\"e\",\"input\":[\"a\",\"b\"]}";

	(void)state;
	rejects(ROUTE_CHAT, chat, "not json");
	rejects(ROUTE_CHAT, chat, "{\"choices\":[]}");
	rejects(ROUTE_CHAT, chat, "{\"choices\":[{\"index\":1,\"message\":"
	    "{\"content\":\"x\"}}]}");
	rejects(ROUTE_CHAT, chat, "{\"choices\":[{\"message\":{\"content\":7}}]}");
	rejects(ROUTE_CHAT, chat, "{\"choices\":[{\"message\":{\"tool_calls\":"
	    "[{\"function\":{\"name\":\"f\",\"arguments\":{}}}]}}]}");
	rejects(ROUTE_EMBEDDINGS, embed, "{\"data\":[]}");
	rejects(ROUTE_EMBEDDINGS, embed, "{\"data\":[{\"index\":0,"
	    "\"embedding\":[1]},{\"index\":0,\"embedding\":[2]}]}");
	rejects(ROUTE_EMBEDDINGS, embed, "{\"data\":[{\"index\":0,"
	    "\"embedding\":[1]},{\"index\":2,\"embedding\":[2]}]}");
	rejects(ROUTE_EMBEDDINGS, embed, "{\"data\":[{\"index\":0,"
	    "\"embedding\":\"AAAA\"}]}");
	rejects(ROUTE_EMBEDDINGS, embed, "{\"data\":[{\"index\":0,"
	    "\"embedding\":[1,\"2\"]}]}");
	rejects(ROUTE_EMBEDDINGS, embed, "{\"data\":[{\"embedding\":[1]}]}");
	rejects(ROUTE_EMBEDDINGS, embed, "{\"error\":{\"message\":\"x\"}}");
}

static void
test_embed_answer(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	const char		*ans2 = "{\"object\":\"list\",\"data\":["
	    "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.5,-1e-3]},"
	    "{\"object\":\"embedding\",\"index\":0,\"embedding\":[1,2.25]}],"
	    "\"model\":\"backend/secret\",\"usage\":{\"prompt_tokens\":4,"
	    "\"total_tokens\":4}}";
	const char		*ans;
	char			*a;
	cJSON			*o;
	size_t			 len;

	(void)state;
	/* In input order, the numbers as the backend wrote them. */
	c = take(ROUTE_EMBEDDINGS, "{\"model\":\"emb\",\"input\":[\"a\","
	    "\"b\"]}", &out);
	free(out.body);
	a = ops->answer(c, ans2, strlen(ans2), &len);
	assert_non_null(a);
	assert_int_equal(len, strlen(a));
	o = cJSON_Parse(a);
	assert_non_null(o);
	assert_true(cJSON_GetObjectItem(o, "total_duration")->valuedouble > 0);
	cJSON_Delete(o);
	assert_non_null(strstr(a, ",\"load_duration\":0,"));
	*strstr(a, ",\"total_duration\":") = '\0';
	assert_string_equal(a, "{\"model\":\"emb\",\"embeddings\":"
	    "[[1,2.25],[0.5,-1e-3]]");
	assert_non_null(strstr(a + strlen(a) + 1, "\"prompt_eval_count\":4}"));
	free(a);
	ops->close(c);

	c = take(ROUTE_OLLAMA_EMBEDDINGS, "{\"model\":\"emb\",\"prompt\":"
	    "\"a\"}", &out);
	free(out.body);
	ans = "{\"data\":[{\"index\":0,\"embedding\":[0.1,0.2]}]}";
	a = ops->answer(c, ans, strlen(ans), &len);
	assert_string_equal(a, "{\"embedding\":[0.1,0.2]}");
	assert_int_equal(len, strlen(a));
	free(a);
	ops->close(c);
}

/* Feed chunks (NULL-terminated) then end; the lines, normalised, joined. */
static char *
stream(enum route_kind route, const char *req, const char *const *chunks,
    int *rc_bad)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	struct dialect_buf	 b, all;
	char			*line, *next, *n;
	size_t			 i;

	memset(&b, 0, sizeof(b));
	memset(&all, 0, sizeof(all));
	c = take(route, req, &out);
	assert_int_equal(out.stream, 1);
	free(out.body);
	for (i = 0; chunks[i] != NULL; i++)
		if (ops->event(c, chunks[i], strlen(chunks[i]), &b) == -1) {
			*rc_bad = (int)i;
			dialect_buf_free(&b);
			ops->close(c);
			return NULL;
		}
	ops->end(c, &b);
	ops->close(c);
	assert_non_null(b.p);
	assert_int_equal(b.p[b.len - 1], '\n');
	for (line = b.p; *line != '\0'; line = next + 1) {
		next = strchr(line, '\n');
		*next = '\0';
		n = norm(line, next - line, strstr(line, "\"done\":true") !=
		    NULL);
		dialect_buf_str(&all, n);
		dialect_buf_str(&all, "\n");
		free(n);
	}
	dialect_buf_free(&b);
	return all.p;
}

static void
test_stream(void **state)
{
	const char *const chunks[] = {
		"{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
		    "\"content\":\"\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
		    "\"length\"}]}",
		"{\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
		    "\"completion_tokens\":2}}",
		"[DONE]",
		NULL,
	};
	char	*s;
	int	 bad = -1;

	(void)state;
	s = stream(ROUTE_CHAT, "{\"model\":\"chat\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}", chunks, &bad);
	assert_string_equal(s,
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"Hel\"},\"done\":false}\n"
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"lo\"},\"done\":false}\n"
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\"}," TAIL("length", 5, 2) "}\n");
	free(s);
	s = stream(ROUTE_COMPLETIONS, "{\"model\":\"gen\",\"prompt\":\"hi\"}",
	    chunks, &bad);
	assert_string_equal(s,
	    "{\"model\":\"gen\",\"response\":\"Hel\",\"done\":false}\n"
	    "{\"model\":\"gen\",\"response\":\"lo\",\"done\":false}\n"
	    "{\"model\":\"gen\",\"response\":\"\",\"done\":true,"
	    "\"done_reason\":\"length\",\"total_duration\":\"ns\","
	    "\"load_duration\":\"ns\",\"prompt_eval_count\":5,"
	    "\"prompt_eval_duration\":\"ns\",\"eval_count\":2,"
	    "\"eval_duration\":\"ns\"}\n");
	free(s);
}

/* A stream's reasoning comes as lines of thinking, before its text. */
static void
test_stream_thinking(void **state)
{
	const char *const chunks[] = {
		"{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
		    "\"content\":\"\",\"reasoning_content\":\"hm\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"m\","
		    "\"content\":\"4\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
		    "\"stop\"}]}",
		"[DONE]",
		NULL,
	};
	char	*s;
	int	 bad = -1;

	(void)state;
	s = stream(ROUTE_CHAT, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
	    chunks, &bad);
	assert_string_equal(s,
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\",\"thinking\":\"hm\"},\"done\":false}\n"
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\",\"thinking\":\"m\"},\"done\":false}\n"
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"4\"},\"done\":false}\n"
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\"}," TAIL("stop", 0, 0) "}\n");
	free(s);
	s = stream(ROUTE_CHAT, "{\"model\":\"chat\",\"think\":false,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", chunks, &bad);
	assert_null(strstr(s, "thinking"));
	free(s);
}

static void
test_stream_tools(void **state)
{
	const char *const chunks[] = {
		"{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
		    "\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":"
		    "\"function\",\"function\":{\"name\":\"weather\","
		    "\"arguments\":\"\"}}]}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
		    "0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
		    "0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}},{\"index\":"
		    "1,\"id\":\"call_b\",\"function\":{\"name\":\"now\"}}]}}]}",
		"{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"n=2\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
		    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":30,"
		    "\"completion_tokens\":12}}",
		"[DONE]",
		NULL,
	};
	const char *const bad1[] = {
		"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
		    "3,\"function\":{\"name\":\"skips\"}}]}}]}",
		NULL,
	};
	const char *const bad2[] = {
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}",
		"not json",
		NULL,
	};
	const char *const bad3[] = {
		"{\"error\":{\"message\":\"overloaded\"}}",
		NULL,
	};
	const char	*req = "{\"model\":\"chat\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}";
	char		*s;
	int		 bad = -1;

	(void)state;
	/* Gathered, and sent whole in one line, as Ollama does. */
	s = stream(ROUTE_CHAT, req, chunks, &bad);
	assert_string_equal(s,
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\",\"tool_calls\":["
	    "{\"id\":\"call_a\",\"function\":{\"index\":0,\"name\":\"weather\","
	    "\"arguments\":{\"city\":\"Paris\"}}},"
	    "{\"id\":\"call_b\",\"function\":{\"index\":1,\"name\":\"now\","
	    "\"arguments\":{}}}]},\"done\":false}\n"
	    "{\"model\":\"chat\",\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\"}," TAIL("stop", 30, 12) "}\n");
	free(s);
	assert_null(stream(ROUTE_CHAT, req, bad1, &bad));
	assert_int_equal(bad, 0);
	assert_null(stream(ROUTE_CHAT, req, bad2, &bad));
	assert_int_equal(bad, 1);
	assert_null(stream(ROUTE_CHAT, req, bad3, &bad));
	assert_int_equal(bad, 0);
}

static void
test_errors(void **state)
{
	struct dialect_request	 out;
	struct dialect_call	*c;
	struct dialect_buf	 b;
	char			 buf[256];
	size_t			 n;

	(void)state;
	assert_string_equal(ops->stream_type, "application/x-ndjson");
	n = ops->error_body(buf, sizeof(buf), API_MODEL_NOT_FOUND, "model",
	    "Model 'x' not found.");
	assert_string_equal(buf, "{\"error\":\"Model 'x' not found.\"}");
	assert_int_equal(n, strlen(buf));
	memset(&b, 0, sizeof(b));
	c = take(ROUTE_CHAT, "{\"model\":\"c\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}", &out);
	free(out.body);
	ops->stream_error(c, API_UPSTREAM_ERROR, "the \"backend\" hung up",
	    &b);
	assert_string_equal(b.p, "{\"error\":\"the \\\"backend\\\" hung up\"}\n");
	dialect_buf_free(&b);
	ops->close(c);
	ops->close(NULL);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_chat_request),
		cmocka_unit_test(test_generate_request),
		cmocka_unit_test(test_embed_request),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_chat_answer),
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_embed_answer),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_thinking),
		cmocka_unit_test(test_stream_tools),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
