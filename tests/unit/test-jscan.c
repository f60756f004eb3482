/* Unit tests for agent/jscan.c: validation, spans, splicing, helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "jscan.h"

/* An OpenAI chat body: nested messages, tools, escapes, a surrogate pair. */
static const char chat[] =
    "{\n"
    "  \"model\" : \"gpt-4o\",\n"
    "  \"messages\": [\n"
    "    {\"role\": \"system\", \"content\": \"Be brief.\\nReally.\"},\n"
    "    {\"role\": \"user\", \"content\": [\n"
    "      {\"type\": \"text\", \"text\": \"caf\\u00e9 \\ud83d\\ude00 "
    "\xe2\x82\xac \\\"q\\\" \\\\ \\/\"},\n"
    "      {\"type\": \"image_url\", \"image_url\": {\"url\": "
    "\"data:image/png;base64,AAAA\"}}\n"
    "    ]},\n"
    "    {\"role\": \"assistant\", \"content\": null, \"tool_calls\": "
    "[{\"id\": \"c1\", \"type\": \"function\", \"function\": "
    "{\"name\": \"get_weather\", \"arguments\": "
    "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\n"
    "    {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"18C\"}\n"
    "  ],\n"
    "  \"tools\": [{\"type\": \"function\", \"function\": {\"name\": "
    "\"get_weather\", \"parameters\": {\"type\": \"object\", "
    "\"properties\": {\"city\": {\"type\": \"string\"}}, "
    "\"required\": [\"city\"]}}}],\n"
    "  \"temperature\": 0.7, \"top_p\": 1e0, \"seed\": -42,\n"
    "  \"max_tokens\": 256,\n"
    "  \"stream\": true, \"logprobs\": false, \"user\": null,\n"
    "  \"stream_options\": {\"include_usage\": true}\n"
    "}\n";

static int
scan(const char *doc, size_t len, int depth, char *err, size_t errlen)
{
	return jscan_object(doc, len, depth, NULL, 0, err, errlen);
}

static void
test_chat_spans(void **state)
{
	struct jscan_span	 model, messages, tools, stream, max_tokens,
				 temperature, missing, user, logprobs, opts;
	struct jscan_want	 want[] = {
		{ "model", &model },
		{ "messages", &messages },
		{ "tools", &tools },
		{ "stream", &stream },
		{ "max_tokens", &max_tokens },
		{ "temperature", &temperature },
		{ "n", &missing },
		{ "user", &user },
		{ "logprobs", &logprobs },
		{ "stream_options", &opts },
	};
	char			 err[128], s[64];
	int64_t			 v;

	(void)state;
	missing.present = 42;
	assert_int_equal(jscan_object(chat, sizeof chat - 1, 64, want,
	    sizeof want / sizeof want[0], err, sizeof err), 0);

	assert_true(model.present);
	assert_int_equal(model.type, JSCAN_STRING);
	assert_memory_equal(chat + model.start, "\"gpt-4o\"", 8);
	assert_int_equal(model.end - model.start, 8);
	assert_int_equal(jscan_string(chat, &model, s, sizeof s), 6);
	assert_string_equal(s, "gpt-4o");

	assert_true(messages.present);
	assert_int_equal(messages.type, JSCAN_ARRAY);
	assert_int_equal(chat[messages.start], '[');
	assert_int_equal(chat[messages.end - 1], ']');

	assert_int_equal(tools.type, JSCAN_ARRAY);
	assert_int_equal(stream.type, JSCAN_TRUE);
	assert_int_equal(stream.end - stream.start, 4);
	assert_int_equal(logprobs.type, JSCAN_FALSE);
	assert_int_equal(user.type, JSCAN_NULL);
	assert_int_equal(opts.type, JSCAN_OBJECT);
	assert_int_equal(chat[opts.end - 1], '}');
	assert_int_equal(temperature.type, JSCAN_NUMBER);
	assert_memory_equal(chat + temperature.start, "0.7", 3);
	assert_int_equal(temperature.end - temperature.start, 3);
	assert_int_equal(max_tokens.type, JSCAN_NUMBER);
	assert_int_equal(jscan_int64(chat, &max_tokens, &v), 0);
	assert_int_equal(v, 256);
	assert_int_equal(jscan_int64(chat, &temperature, &v), -1);
	assert_false(missing.present);
}

static void
test_chat_walk(void **state)
{
	struct jscan_span	 messages, msg, role, content, part, text, m2,
				 calls, call, fn, args, opts, usage;
	struct jscan_want	 want[] = {
		{ "messages", &messages },
		{ "stream_options", &opts },
	};
	size_t			 cur = 0, pcur = 0, n = 0;
	char			 s[128];
	const char		*roles[] = { "system", "user", "assistant",
				    "tool" };

	(void)state;
	assert_int_equal(jscan_object(chat, sizeof chat - 1, 64, want, 2,
	    NULL, 0), 0);
	while (jscan_array_next(chat, &messages, &cur, &msg)) {
		assert_true(n < 4);
		assert_int_equal(msg.type, JSCAN_OBJECT);
		assert_true(jscan_object_get(chat, &msg, "role", &role));
		assert_true(jscan_string_eq(chat, &role, roles[n],
		    strlen(roles[n])));
		assert_true(jscan_object_get(chat, &msg, "content", &content));
		if (n == 0) {
			assert_int_equal(jscan_string(chat, &content, s,
			    sizeof s), 17);
			assert_string_equal(s, "Be brief.\nReally.");
		}
		if (n == 1) {
			assert_int_equal(content.type, JSCAN_ARRAY);
			assert_true(jscan_array_next(chat, &content, &pcur,
			    &part));
			assert_true(jscan_object_get(chat, &part, "text",
			    &text));
			assert_int_equal(jscan_string(chat, &text, s, sizeof s),
			    (ssize_t)strlen("caf\xc3\xa9 \xf0\x9f\x98\x80 "
			    "\xe2\x82\xac \"q\" \\ /"));
			assert_string_equal(s, "caf\xc3\xa9 \xf0\x9f\x98\x80 "
			    "\xe2\x82\xac \"q\" \\ /");
			assert_true(jscan_string_eq(chat, &text, s, strlen(s)));
			assert_false(jscan_string_eq(chat, &text, s,
			    strlen(s) - 1));
			assert_true(jscan_array_next(chat, &content, &pcur,
			    &part));
			assert_true(jscan_object_get(chat, &part, "image_url",
			    &m2));
			assert_int_equal(m2.type, JSCAN_OBJECT);
			assert_false(jscan_array_next(chat, &content, &pcur,
			    &part));
			/* Nested keys are not top-level members. */
			assert_false(jscan_object_get(chat, &msg, "url", &m2));
		}
		if (n == 2) {
			assert_int_equal(content.type, JSCAN_NULL);
			assert_true(jscan_object_get(chat, &msg, "tool_calls",
			    &calls));
			pcur = 0;
			assert_true(jscan_array_next(chat, &calls, &pcur,
			    &call));
			assert_true(jscan_object_get(chat, &call, "function",
			    &fn));
			assert_true(jscan_object_get(chat, &fn, "arguments",
			    &args));
			assert_int_equal(jscan_string(chat, &args, s, sizeof s),
			    16);
			assert_string_equal(s, "{\"city\":\"Paris\"}");
			/* The unescaped arguments are JSON themselves. */
			assert_int_equal(scan(s, 16, 64, NULL, 0), 0);
		}
		n++;
	}
	assert_int_equal(n, 4);
	assert_false(jscan_array_next(chat, &messages, &cur, &msg));
	assert_true(jscan_object_get(chat, &opts, "include_usage", &usage));
	assert_int_equal(usage.type, JSCAN_TRUE);
	/* Wrong span types are refused, not misread. */
	assert_false(jscan_array_next(chat, &opts, &cur, &msg));
	assert_false(jscan_object_get(chat, &messages, "role", &msg));
	assert_int_equal(jscan_string(chat, &messages, s, sizeof s), -1);
}

/* Replace the model value through its span, as the gateway does. */
static char *
splice_model(const char *doc, const char *upstream)
{
	struct jscan_span	 model;
	struct jscan_want	 want = { "model", &model };
	char			*out, err[128];
	size_t			 n, q, len = strlen(doc);

	assert_int_equal(jscan_object(doc, len, 64, &want, 1, err,
	    sizeof err), 0);
	assert_true(model.present);
	q = jscan_quote(NULL, 0, upstream, strlen(upstream));
	n = model.start + q + (len - model.end);
	out = malloc(n + 1);
	assert_non_null(out);
	memcpy(out, doc, model.start);
	assert_int_equal(jscan_quote(out + model.start, q + 1, upstream,
	    strlen(upstream)), q);
	memcpy(out + model.start + q, doc + model.end, len - model.end);
	out[n] = '\0';
	/* The result still scans, with the new model. */
	assert_int_equal(jscan_object(out, n, 64, &want, 1, err, sizeof err),
	    0);
	assert_true(jscan_string_eq(out, &model, upstream, strlen(upstream)));
	return out;
}

static void
test_splice(void **state)
{
	char	*out;

	(void)state;
	out = splice_model("{\"model\":\"alias\",\"stream\":true}",
	    "meta-llama/Llama-3.1-8B");
	assert_string_equal(out,
	    "{\"model\":\"meta-llama/Llama-3.1-8B\",\"stream\":true}");
	free(out);

	out = splice_model(" {\"messages\":[{\"model\":\"inner\"}],\n"
	    "\t\"mod\\u0065l\"  :  \"x\\\"y\" , \"n\":1}\n", "a\"b\\c\n\x01");
	assert_string_equal(out, " {\"messages\":[{\"model\":\"inner\"}],\n"
	    "\t\"mod\\u0065l\"  :  \"a\\\"b\\\\c\\n\\u0001\" , \"n\":1}\n");
	free(out);

	/* A non-string model is still one value to replace. */
	out = splice_model("{\"model\":{\"a\":[1,2]}}", "m");
	assert_string_equal(out, "{\"model\":\"m\"}");
	free(out);
	out = splice_model("{\"a\":1,\"model\":123}", "m");
	assert_string_equal(out, "{\"a\":1,\"model\":\"m\"}");
	free(out);
}

static void
test_truncated(void **state)
{
	struct jscan_span	 model;
	struct jscan_want	 want = { "model", &model };
	char			 err[128], *copy;
	size_t			 n, len = sizeof chat - 1;

	(void)state;
	/* The trailing "}\n": only the full object or with its '\n' passes. */
	for (n = 0; n <= len; n++) {
		/* An exact-size heap copy, so ASan catches any overread. */
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, chat, n);
		if (n >= len - 1)
			assert_int_equal(jscan_object(copy, n, 64, &want, 1,
			    err, sizeof err), 0);
		else
			assert_int_equal(jscan_object(copy, n, 64, &want, 1,
			    err, sizeof err), -1);
		free(copy);
	}
}

static void
test_mutations(void **state)
{
	static const char	 subst[] = "\0\x01 \t\"\\/{}[],:0-.eEtfnu\x7f"
				     "\x80\xc3\xff";
	char			*copy, err[128];
	struct jscan_span	 model;
	struct jscan_want	 want = { "model", &model };
	size_t			 i, k, len = sizeof chat - 1;

	(void)state;
	/* Every single-byte change must scan without crashing. */
	copy = malloc(len);
	assert_non_null(copy);
	for (i = 0; i < len; i++) {
		for (k = 0; k < sizeof subst - 1; k++) {
			memcpy(copy, chat, len);
			copy[i] = subst[k];
			(void)jscan_object(copy, len, 64, &want, 1, err,
			    sizeof err);
		}
	}
	free(copy);
}

static void
test_valid(void **state)
{
	static const char	*docs[] = {
		"{}",
		" \t\r\n{ \t\r\n} \t\r\n",
		"{\"\":\"\"}",
		"{\"a\":[]}",
		"{\"a\":[[],{},[{}]]}",
		"{\"a\":0,\"b\":-0,\"c\":1.5e10,\"d\":1E+2,\"e\":-0.0e-0}",
		"{\"a\":123456789012345678901234567890.123e-456}",
		"{\"a\":true,\"b\":false,\"c\":null}",
		"{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\uFFFF\\uabcd\"}",
		"{\"a\":\"\\ud800\\udc00\\udbff\\udfff\"}",
		("{\"a\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
		    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\x7f\"}"),
		"{\"\xe2\x82\xac\":1}",
		"{\"a\":1,\"a\":2}",
		"{\"a\":{\"model\":1,\"model\":2},\"model\":\"x\"}",
	};
	size_t			 i;
	char			 err[128];

	(void)state;
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		if (scan(docs[i], strlen(docs[i]), 64, err, sizeof err) != 0)
			fail_msg("doc %zu: %s: %s", i, docs[i], err);
	}
}

static void
test_invalid(void **state)
{
	static const struct {
		const char	*doc;
		const char	*err;
	} docs[] = {
		{ "", "invalid JSON at byte 0: unexpected end of input" },
		{ "   ", "invalid JSON at byte 3: unexpected end of input" },
		{ "{", "invalid JSON at byte 1: unexpected end of input" },
		{ "{\"a\"", "unexpected end of input" },
		{ "{\"a\":", "unexpected end of input" },
		{ "{\"a\":1", "unexpected end of input" },
		{ "{\"a\":1,", "unexpected end of input" },
		{ "{\"a\" 1}", "invalid JSON at byte 5: expected ':'" },
		{ "{\"a\":1 \"b\":2}", "expected ',' or '}'" },
		{ "{\"a\":[1 2]}", "expected ',' or ']'" },
		{ "{\"a\":[1,]}", "expected value" },
		{ "{\"a\":1,}", "expected string key" },
		{ "{,}", "expected string key" },
		{ "{\"a\":[,1]}", "expected value" },
		{ "{a:1}", "expected string key" },
		{ "{'a':1}", "expected string key" },
		{ "{\"a\":'x'}", "expected value" },
		{ "{\"a\":1]", "expected ',' or '}'" },
		{ "{\"a\":[1}", "expected ',' or ']'" },
		{ "{}}", "unexpected data after the object" },
		{ "{} {}", "invalid JSON at byte 3: unexpected data" },
		{ "{}x", "unexpected data" },
		{ "{}\f", "unexpected data" },
		{ "{\f}", "expected string key" },
		{ "{\"a\":\xc2\xa0" "1}", "expected value" },
		{ "{/*c*/}", "expected string key" },
		{ "{\"a\":01}", "expected ',' or '}'" },
		{ "{\"a\":-01}", "expected ',' or '}'" },
		{ "{\"a\":1.}", "invalid number" },
		{ "{\"a\":.5}", "expected value" },
		{ "{\"a\":+1}", "expected value" },
		{ "{\"a\":-}", "invalid number" },
		{ "{\"a\":-a}", "invalid number" },
		{ "{\"a\":1e}", "invalid number" },
		{ "{\"a\":1e+}", "invalid number" },
		{ "{\"a\":1.e5}", "invalid number" },
		{ "{\"a\":0x10}", "expected ',' or '}'" },
		{ "{\"a\":NaN}", "expected value" },
		{ "{\"a\":Infinity}", "expected value" },
		{ "{\"a\":tru}", "invalid literal" },
		{ "{\"a\":True}", "expected value" },
		{ "{\"a\":nul}", "invalid literal" },
		{ "{\"a\":falsey}", "expected ',' or '}'" },
		{ "{\"a\":\"x}", "unterminated string" },
		{ "{\"a\":\"x\\\"}", "unterminated string" },
		{ "{\"a\":\"\t\"}", "at byte 6: control character" },
		{ "{\"a\":\"\n\"}", "control character in string" },
		{ "{\"a\":\"\x1f\"}", "control character in string" },
		{ "{\"a\":\"\\x41\"}", "invalid escape" },
		{ "{\"a\":\"\\a\"}", "invalid escape" },
		{ "{\"a\":\"\\'\"}", "invalid escape" },
		{ "{\"a\":\"\\u12\"}", "invalid \\u escape" },
		{ "{\"a\":\"\\u12g4\"}", "invalid \\u escape" },
		{ "{\"a\":\"\\U0041\"}", "invalid escape" },
		{ "{\"a\":\"\\ud800\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\ud800x\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\ud800\\n\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\ud800\\u0041\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\ud800\\ud800\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\ud800\\udc0\"}", "invalid \\u escape" },
		{ "{\"a\":\"\\udc00\"}", "unpaired surrogate" },
		{ "{\"a\":\"\\udfff\\ud800\"}", "unpaired surrogate" },
		/* Invalid UTF-8, in values and in keys. */
		{ "{\"a\":\"\x80\"}", "invalid JSON at byte 6: invalid UTF-8" },
		{ "{\"a\":\"\xbf\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xc0\x80\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xc1\xbf\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xc2\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xc2\x41\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xe0\x80\x80\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xe0\x9f\xbf\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xed\xbf\xbf\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xe2\x82\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xf0\x80\x80\x80\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xf0\x8f\xbf\xbf\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xf5\x80\x80\x80\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xf0\x9f\x98\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xfe\"}", "invalid UTF-8" },
		{ "{\"a\":\"\xff\"}", "invalid UTF-8" },
		{ "{\"\xff\":1}", "invalid UTF-8" },
		/* Not an object at top level. */
		{ "[]", "JSON body is not an object" },
		{ "[{}]", "JSON body is not an object" },
		{ "\"x\"", "JSON body is not an object" },
		{ "1", "JSON body is not an object" },
		{ "null", "JSON body is not an object" },
		{ "true", "JSON body is not an object" },
		{ "\xef\xbb\xbf{}", "JSON body is not an object" },
	};
	size_t	i;
	char	err[128];

	(void)state;
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		strcpy(err, "unset");
		if (scan(docs[i].doc, strlen(docs[i].doc), 64, err,
		    sizeof err) != -1)
			fail_msg("doc %zu accepted: %s", i, docs[i].doc);
		if (strstr(err, docs[i].err) == NULL)
			fail_msg("doc %zu: %s: got \"%s\", want \"%s\"", i,
			    docs[i].doc, err, docs[i].err);
	}

	/* An embedded NUL is neither whitespace nor string content. */
	assert_int_equal(scan("{\"a\":1}\0", 8, 64, NULL, 0), -1);
	assert_int_equal(scan("{\"a\":\"\0\"}", 9, 64, NULL, 0), -1);
	assert_int_equal(scan("{\0}", 3, 64, NULL, 0), -1);
	/* A short or absent error buffer is fine. */
	assert_int_equal(scan("{", 1, 64, err, 4), -1);
	assert_string_equal(err, "inv");
	assert_int_equal(scan("{", 1, 64, NULL, 0), -1);
}

/* An object with depth levels in all, alternating arrays and objects. */
static char *
nested(int depth, size_t *len)
{
	char	*doc;
	size_t	 n;
	int	 i;

	doc = malloc(depth * 6 + 16);
	assert_non_null(doc);
	n = sprintf(doc, "{\"a\":");
	for (i = 2; i <= depth; i++)
		n += sprintf(doc + n, "%s", i % 2 == 0 ? "[" : "{\"k\":");
	doc[n++] = '0';
	for (i = depth; i >= 2; i--)
		doc[n++] = i % 2 == 0 ? ']' : '}';
	doc[n++] = '}';
	*len = n;
	return doc;
}

/* {"a":[[...0...]]}: the object and d - 1 arrays. */
static size_t
arrays(char *doc, int d)
{
	size_t	n;

	n = sprintf(doc, "{\"a\":");
	memset(doc + n, '[', d - 1);
	n += d - 1;
	doc[n++] = '0';
	memset(doc + n, ']', d - 1);
	n += d - 1;
	doc[n++] = '}';
	return n;
}

static void
test_depth(void **state)
{
	char	*doc, err[128], want[64];
	size_t	 len;
	int	 d;

	(void)state;
	/* Arrays only, so any level can be the innermost. */
	for (d = 1; d <= 70; d++) {
		doc = malloc(d * 2 + 8);
		assert_non_null(doc);
		len = arrays(doc, d);
		if (d <= 64)
			assert_int_equal(scan(doc, len, 64, err, sizeof err),
			    0);
		else {
			assert_int_equal(scan(doc, len, 64, err, sizeof err),
			    -1);
			assert_string_equal(err,
			    "JSON nested deeper than 64 levels");
		}
		/* Exactly at the limit passes, one beyond fails. */
		assert_int_equal(scan(doc, len, d, err, sizeof err), 0);
		assert_int_equal(scan(doc, len, d - 1, err, sizeof err), -1);
		snprintf(want, sizeof want, "JSON nested deeper than %d levels",
		    d - 1);
		assert_string_equal(err, want);
		free(doc);
	}

	/* Alternating objects and arrays. */
	doc = nested(64, &len);
	assert_int_equal(scan(doc, len, 64, err, sizeof err), 0);
	assert_int_equal(scan(doc, len, 63, err, sizeof err), -1);
	free(doc);
	doc = nested(65, &len);
	assert_int_equal(scan(doc, len, 65, err, sizeof err), 0);
	assert_int_equal(scan(doc, len, 64, err, sizeof err), -1);
	free(doc);

	/* The hard ceiling holds whatever max_depth says. */
	doc = malloc(2 * JSCAN_DEPTH_MAX + 16);
	assert_non_null(doc);
	for (d = JSCAN_DEPTH_MAX; d <= JSCAN_DEPTH_MAX + 1; d++) {
		len = arrays(doc, d);
		assert_int_equal(scan(doc, len, 1 << 20, err, sizeof err),
		    d <= JSCAN_DEPTH_MAX ? 0 : -1);
	}
	free(doc);
	assert_int_equal(scan("{}", 2, 0, err, sizeof err), -1);
	assert_int_equal(scan("{}", 2, -1, err, sizeof err), -1);
}

static void
test_duplicate(void **state)
{
	struct jscan_span	 model, stream;
	struct jscan_want	 want[] = {
		{ "model", &model },
		{ "stream", &stream },
	};
	static const char	*dups[] = {
		"{\"model\":\"a\",\"model\":\"b\"}",
		"{\"model\":\"a\",\"x\":1,\"mod\\u0065l\":\"b\"}",
		"{\"\\u006dodel\":\"a\",\"model\":\"b\"}",
		"{\"model\":1,\"mo\\u0064\\u0065\\u006c\":{}}",
		"{\"m\\u006fdel\":[],\"model\":null}",
	};
	char			 err[128];
	const char		*doc;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof dups / sizeof dups[0]; i++) {
		assert_int_equal(jscan_object(dups[i], strlen(dups[i]), 64,
		    want, 2, err, sizeof err), -1);
		assert_string_equal(err, "duplicate key \"model\"");
	}

	/* Only wanted keys are checked, and only at top level. */
	doc = "{\"x\":1,\"x\":2,\"model\":\"m\"}";
	assert_int_equal(jscan_object(doc, strlen(doc), 64, want, 2, err,
	    sizeof err), 0);
	assert_true(model.present);
	assert_false(stream.present);
	doc = "{\"a\":{\"model\":1,\"model\":2}}";
	assert_int_equal(jscan_object(doc, strlen(doc), 64, want, 2, err,
	    sizeof err), 0);
	assert_false(model.present);

	/* Near misses of the key are other keys. */
	doc = "{\"model\":1,\"Model\":2,\"model \":3,\"mode\":4,"
	    "\"models\":5,\"model\\u0000\":6}";
	assert_int_equal(jscan_object(doc, strlen(doc), 64, want, 2, err,
	    sizeof err), 0);
	assert_true(model.present);
	assert_int_equal(model.start, 9);

	/* jscan_object_get takes the last of duplicates below top level. */
	doc = "{\"stream\":{\"k\":1,\"k\":2}}";
	assert_int_equal(jscan_object(doc, strlen(doc), 64, want, 2, err,
	    sizeof err), 0);
	assert_true(jscan_object_get(doc, &stream, "k", &model));
	assert_int_equal(doc[model.start], '2');
}

static void
test_escaped_keys(void **state)
{
	struct jscan_span	 model, emoji, nul;
	struct jscan_want	 want[] = {
		{ "model", &model },
		{ "\xf0\x9f\x98\x80", &emoji },
		{ "tab\tkey", &nul },
	};
	const char		*doc = "{\"mod\\u0065l\":\"x\","
				    "\"\\ud83d\\ude00\":2,\"tab\\tkey\":3}";
	char			 err[128];

	(void)state;
	assert_int_equal(jscan_object(doc, strlen(doc), 64, want, 3, err,
	    sizeof err), 0);
	assert_true(model.present);
	assert_true(emoji.present);
	assert_int_equal(doc[emoji.start], '2');
	assert_true(nul.present);
	assert_int_equal(doc[nul.start], '3');
}

static void
test_string(void **state)
{
	const char		*doc = "{\"s\":\"a\\u00e9\\n\\ud83d\\ude00\","
				    "\"z\":\"x\\u0000y\",\"e\":\"\"}";
	struct jscan_span	 s, z, e;
	struct jscan_want	 want[] = { { "s", &s }, { "z", &z },
				    { "e", &e } };
	char			 dst[16];

	(void)state;
	assert_int_equal(jscan_object(doc, strlen(doc), 64, want, 3, NULL, 0),
	    0);
	/* "a" + 2 + 1 + 4 bytes = 8. */
	assert_int_equal(jscan_string(doc, &s, dst, sizeof dst), 8);
	assert_memory_equal(dst, "a\xc3\xa9\n\xf0\x9f\x98\x80", 9);
	assert_int_equal(jscan_string(doc, &s, dst, 9), 8);
	assert_int_equal(jscan_string(doc, &s, dst, 8), -1);
	assert_int_equal(jscan_string(doc, &s, dst, 4), -1);
	assert_int_equal(jscan_string(doc, &s, dst, 0), -1);
	assert_int_equal(jscan_string(doc, &z, dst, sizeof dst), 3);
	assert_memory_equal(dst, "x\0y", 4);
	assert_true(jscan_string_eq(doc, &z, "x\0y", 3));
	assert_false(jscan_string_eq(doc, &z, "x", 1));
	assert_int_equal(jscan_string(doc, &e, dst, 1), 0);
	assert_string_equal(dst, "");
	assert_true(jscan_string_eq(doc, &e, "", 0));
	assert_false(jscan_string_eq(doc, &e, "a", 1));
	assert_false(jscan_string_eq(doc, &s, "a", 1));
	assert_true(jscan_string_eq(doc, &s, "a\xc3\xa9\n\xf0\x9f\x98\x80", 8));
	assert_false(jscan_string_eq(doc, &s, "a\xc3\xa9\n\xf0\x9f\x98\x81",
	    8));
}

/* A byte at every position of long strings, across the word-at-a-time scan. */
static void
test_long_strings(void **state)
{
	static const struct {
		const char	*ins;
		int		 ok;
	} cases[] = {
		{ "\x01", 0 }, { "\x1f", 0 }, { "\x80", 0 }, { "\xff", 0 },
		{ "\xc3", 0 }, { "\\", 0 }, { "\"", 0 }, { "\x20", 1 },
		{ "\x7f", 1 }, { "\\n", 1 }, { "\xc3\xa9", 1 }, { "~", 1 },
		{ "\\\"", 1 }, { "!#[]", 1 }, { "\xef\xbf\xbf", 1 },
	};
	struct jscan_span	 k;
	struct jscan_want	 want = { "k", &k };
	char			 doc[128], *copy;
	size_t			 c, pre, post, n;

	(void)state;
	for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (pre = 0; pre < 20; pre++) {
			for (post = 0; post < 20; post++) {
				n = sprintf(doc, "{\"k\":\"%.*s%s%.*s\"}",
				    (int)pre, "abcdefghijklmnopqrstuvwxyz",
				    cases[c].ins,
				    (int)post, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
				copy = malloc(n);
				assert_non_null(copy);
				memcpy(copy, doc, n);
				if (jscan_object(copy, n, 64, &want, 1, NULL,
				    0) != (cases[c].ok ? 0 : -1))
					fail_msg("case %zu pre %zu post %zu", c,
					    pre, post);
				if (cases[c].ok)
					assert_int_equal(k.end, n - 1);
				free(copy);
			}
		}
	}
}

static void
test_int64(void **state)
{
	static const struct {
		const char	*num;
		int		 ok;
		int64_t		 v;
	} nums[] = {
		{ "0", 1, 0 },
		{ "-0", 1, 0 },
		{ "42", 1, 42 },
		{ "-42", 1, -42 },
		{ "9223372036854775807", 1, INT64_MAX },
		{ "-9223372036854775808", 1, INT64_MIN },
		{ "9223372036854775808", 0, 0 },
		{ "-9223372036854775809", 0, 0 },
		{ "99999999999999999999", 0, 0 },
		{ "1.0", 0, 0 },
		{ "1e3", 0, 0 },
	};
	struct jscan_span	 v;
	struct jscan_want	 want = { "v", &v };
	char			 doc[64];
	int64_t			 n;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		snprintf(doc, sizeof doc, "{\"v\":%s}", nums[i].num);
		assert_int_equal(jscan_object(doc, strlen(doc), 64, &want, 1,
		    NULL, 0), 0);
		if (nums[i].ok) {
			assert_int_equal(jscan_int64(doc, &v, &n), 0);
			assert_true(n == nums[i].v);
		} else
			assert_int_equal(jscan_int64(doc, &v, &n), -1);
	}
	assert_int_equal(jscan_object("{\"v\":\"1\"}", 9, 64, &want, 1, NULL,
	    0), 0);
	assert_int_equal(jscan_int64("{\"v\":\"1\"}", &v, &n), -1);
}

/* jscan_walk() with dups: a key twice in any one object is refused. */
static int
walk_dups(const char *doc, char *err, size_t errlen)
{
	struct jscan_keys	keys;
	int			rc;

	memset(&keys, 0, sizeof(keys));
	rc = jscan_walk(doc, strlen(doc), 64, &keys, NULL, NULL, err, errlen);
	jscan_keys_free(&keys);
	return rc;
}

static void
test_walk_duplicates(void **state)
{
	static const char	*dups[] = {
		"{\"prompt\":\"hi\",\"prompt\":\"mail bob@example.com\"}",
		"{\"a\":1,\"\\u0061\":2}",
		"{\"m\":[{\"role\":\"user\",\"content\":\"a\",\"content\":\"b\"}]}",
		"{\"x\":{\"y\":{\"z\":{\"k\\u00e9\":1,\"k\xc3\xa9\":2}}}}",
		"{\"t\":[1,[2,{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":0}]]}",
		"{\"s\":{\"\\/\":1,\"/\":2}}",
	};
	static const char	*fine[] = {
		"{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}",
		"{\"a\":1,\"A\":2,\"a \":3,\"a\\u0000\":4,\"\":5}",
		"{\"k\\u00e9\":1,\"k\\u00e8\":2,\"e\\u0301\":3}",
	};
	char			 err[128];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof dups / sizeof dups[0]; i++) {
		assert_int_equal(walk_dups(dups[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "duplicate key"));
		/* Without dups, the same walk passes them. */
		assert_int_equal(jscan_walk(dups[i], strlen(dups[i]), 64, NULL,
		    NULL, NULL, err, sizeof(err)), 0);
	}
	assert_int_equal(walk_dups(dups[0], err, sizeof(err)), -1);
	assert_string_equal(err, "duplicate key \"prompt\"");
	for (i = 0; i < sizeof fine / sizeof fine[0]; i++)
		assert_int_equal(walk_dups(fine[i], err, sizeof(err)), 0);
}

/*
 * Past JSCAN_PAIRWISE_MAX keys the check sorts them: a key and its
 * escaped twin must sort together even beside keys that continue them
 * with a byte below '"' ("prompt!", "prompt "), in any order.
 */
static void
test_walk_duplicates_sorted(void **state)
{
	static const char	*items[] = {
		"\"prompt\":\"hi\"",
		"\"pr\\u006fmpt\":\"mail bob@example.com\"",
		"\"prompt!\":0,\"prompt \":0",
	};
	static const int	 perms[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
		{ 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	char			 doc[1024], err[128], *p;
	size_t			 i, j;

	(void)state;
	for (i = 0; i < 6; i++) {
		p = doc + sprintf(doc, "{");
		for (j = 0; j < 3; j++)
			p += sprintf(p, "%s%s", j ? "," : "",
			    items[perms[i][j]]);
		for (j = 0; j < 16; j++)
			p += sprintf(p, ",\"pad%zu\":0", j);
		strcpy(p, "}");
		assert_int_equal(walk_dups(doc, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "duplicate key"));
	}
}

/*
 * Large objects: 200,000 distinct keys pass, one repeated far apart (or
 * spelt with an escape) is found, and the time stays linear: a pairwise
 * check would take minutes here, not a fraction of a second.
 */
static void
test_walk_many_keys(void **state)
{
	size_t		 n = 200000, i, len;
	char		*doc, *p, err[128];
	struct timespec	 t0, t1;
	double		 secs;

	(void)state;
	doc = malloc(n * 24 + 64);
	p = doc + sprintf(doc, "{");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"key-%zu\":%zu", i ? "," : "", i, i);
	len = p - doc;
	strcpy(p, "}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(walk_dups(doc, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("# 200,000 keys checked in %.3f s\n", secs);
	assert_true(secs < 5);
	/* The last key again, as "key-0" spelt with an escape. */
	strcpy(doc + len, ",\"k\\u0065y-0\":1}");
	assert_int_equal(walk_dups(doc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate key"));
	free(doc);

	/* Keys that differ only at their end, escaped or not. */
	n = 20000;
	doc = malloc(n * 420 + 64);
	for (int esc = 0; esc < 2; esc++) {
		p = doc + sprintf(doc, "{");
		for (i = 0; i < n; i++) {
			p += sprintf(p, "%s\"", i ? "," : "");
			memset(p, 'x', 400);
			if (esc)
				memcpy(p, "\\u0078", 6);
			p += 400;
			p += sprintf(p, "%zu\":0", i);
		}
		strcpy(p, "}");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(walk_dups(doc, err, sizeof(err)), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) /
		    1e9;
		print_message("# 20,000 keys of 400 bytes alike%s: %.3f s\n",
		    esc ? ", escaped" : "", secs);
		assert_true(secs < 5);
	}
	free(doc);
}

/* Steps in order, with depths; a callback's -1 stops the walk. */
struct steps {
	char	 trace[256];
	size_t	 n;
	int	 stop_at;
};

static int
record_step(void *arg, const struct jscan_token *t)
{
	static const char	 names[] = "kvoc";
	struct steps		*s = arg;

	s->n += snprintf(s->trace + s->n, sizeof(s->trace) - s->n, "%c%d%s",
	    names[t->step], t->depth, t->escaped ? "e" : "");
	if (t->step == JSCAN_CLOSE)
		s->n += snprintf(s->trace + s->n, sizeof(s->trace) - s->n,
		    "[%zu,%zu)", t->span.start, t->span.end);
	s->n += snprintf(s->trace + s->n, sizeof(s->trace) - s->n, " ");
	return s->stop_at > 0 && --s->stop_at == 0 ? -1 : 0;
}

static void
test_walk_steps(void **state)
{
	const char	*doc = "{\"a\":[1,{\"b\\n\":\"x\"}],\"c\":null}";
	struct steps	 s;
	char		 err[64] = "untouched";

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(jscan_walk(doc, strlen(doc), 64, NULL, record_step,
	    &s, err, sizeof(err)), 0);
	assert_string_equal(s.trace, "o1 k1 o2 v2 o3 k3e v3 c3[8,19) "
	    "c2[5,20) k1 v1 c1[0,30) ");
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	assert_int_equal(jscan_walk(doc, strlen(doc), 64, NULL, record_step,
	    &s, err, sizeof(err)), -1);
	assert_string_equal(err, "untouched");
}

/* Any JSON number whose value is an integer, exactly; the rest refused. */
static void
test_integer(void **state)
{
	static const struct {
		const char	*num;
		int		 rc;
		int64_t		 v;
	} nums[] = {
		{ "0", 0, 0 },
		{ "-0", 0, 0 },
		{ "0.000", 0, 0 },
		{ "0e-99999999999999999999", 0, 0 },
		{ "1e6", 0, 1000000 },
		{ "1E+6", 0, 1000000 },
		{ "1000000.0", 0, 1000000 },
		{ "100000000e-2", 0, 1000000 },
		{ "0.5e1", 0, 5 },
		{ "-12.50e1", 0, -125 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "9.223372036854775807e18", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "1.5", JSCAN_NOT_INTEGER, 0 },
		{ "1e-1", JSCAN_NOT_INTEGER, 0 },
		{ "123456789.0000000001", JSCAN_NOT_INTEGER, 0 },
		{ "9223372036854775808", JSCAN_OUT_OF_RANGE, 0 },
		{ "-9223372036854775809", JSCAN_OUT_OF_RANGE, 0 },
		{ "99999999999999999999", JSCAN_OUT_OF_RANGE, 0 },
		{ "1e19", JSCAN_OUT_OF_RANGE, 0 },
		{ "1e999999999999999999999", JSCAN_OUT_OF_RANGE, 0 },
		{ "10000000000000000000000e-3", JSCAN_OUT_OF_RANGE, 0 },
	};
	struct jscan_span	 v;
	struct jscan_want	 want = { "v", &v };
	char			 doc[64];
	int64_t			 n;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		snprintf(doc, sizeof doc, "{\"v\":%s}", nums[i].num);
		assert_int_equal(jscan_object(doc, strlen(doc), 64, &want, 1,
		    NULL, 0), 0);
		n = 12345;
		assert_int_equal(jscan_integer(doc, &v, &n), nums[i].rc);
		if (nums[i].rc == 0)
			assert_true(n == nums[i].v);
	}
	assert_int_equal(jscan_object("{\"v\":\"1\"}", 9, 64, &want, 1, NULL,
	    0), 0);
	assert_int_equal(jscan_integer("{\"v\":\"1\"}", &v, &n), -1);
}

/* Cutting text between characters, never inside one. */
/*
 * jscan_string_eq against a literal: equal, shorter, longer, the same
 * spelt with escapes (longer spans), and spans as long as the literal
 * that hold an escape (never equal: unescaped they are shorter).
 */
static void
test_string_eq(void **state)
{
	static const struct {
		const char	*json;
		const char	*lit;
		int		 eq;
	} cases[] = {
		{ "\"model\"", "model", 1 },
		{ "\"mode\"", "model", 0 },
		{ "\"models\"", "model", 0 },
		{ "\"Model\"", "model", 0 },
		{ "\"mod\\u0065l\"", "model", 1 },
		{ "\"\\u006dodel\"", "model", 1 },
		{ "\"mod\\u0065\"", "model", 0 },
		{ "\"a\\nb\"", "a\nb", 1 },
		{ "\"a\\nb\"", "a\\nb", 0 },
		{ "\"a\\b\"", "a\\b", 0 },
		{ "\"\\/\"", "/", 1 },
		{ "\"\\/\"", "\\/", 0 },
		{ "\"\"", "", 1 },
		{ "\"\"", "a", 0 },
		{ "\"k\xc3\xa9\"", "k\xc3\xa9", 1 },
		{ "\"k\\u00e9\"", "k\xc3\xa9", 1 },
	};
	struct jscan_span	 s;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s.type = JSCAN_STRING;
		s.start = 0;
		s.end = strlen(cases[i].json);
		s.present = 1;
		print_message("# %s against %s\n", cases[i].json,
		    cases[i].lit);
		assert_int_equal(jscan_string_eq(cases[i].json, &s,
		    cases[i].lit, strlen(cases[i].lit)), cases[i].eq);
	}
	/* Not a string: never equal. */
	s.type = JSCAN_NUMBER;
	s.end = 3;
	assert_int_equal(jscan_string_eq("123", &s, "123", 3), 0);
}

static void
test_utf8_cut(void **state)
{
	const char		*s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	const char		*doc = "{\"s\":\"a\\u00e9\xe2\x82\xac\\ud83d\\ude00"
				    "b\"}";
	struct jscan_span	 v;
	struct jscan_want	 want = { "s", &v };
	char			 out[16];

	(void)state;
	assert_int_equal(jscan_utf8_cut(s, 10, 100), 10);
	assert_int_equal(jscan_utf8_cut(s, 10, 10), 10);
	assert_int_equal(jscan_utf8_cut(s, 10, 9), 6);
	assert_int_equal(jscan_utf8_cut(s, 10, 6), 6);
	assert_int_equal(jscan_utf8_cut(s, 10, 5), 3);
	assert_int_equal(jscan_utf8_cut(s, 10, 2), 1);
	assert_int_equal(jscan_utf8_cut(s, 10, 0), 0);
	assert_int_equal(jscan_object(doc, strlen(doc), 64, &want, 1, NULL,
	    0), 0);
	assert_int_equal(jscan_string_cut(doc, &v, out, sizeof(out)), 11);
	assert_memory_equal(out, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "b",
	    12);
	assert_int_equal(jscan_string_cut(doc, &v, out, 11), 10);
	assert_int_equal(jscan_string_cut(doc, &v, out, 10), 6);
	assert_int_equal(jscan_string_cut(doc, &v, out, 6), 3);
	assert_string_equal(out, "a\xc3\xa9");
	assert_int_equal(jscan_string_cut(doc, &v, out, 2), 1);
	assert_int_equal(jscan_string_cut(doc, &v, out, 1), 0);
}

static void
test_quote(void **state)
{
	char	dst[64], doc[128];
	size_t	n;

	(void)state;
	assert_int_equal(jscan_quote(dst, sizeof dst, "gpt-4o", 6), 8);
	assert_string_equal(dst, "\"gpt-4o\"");
	assert_int_equal(jscan_quote(dst, sizeof dst, "", 0), 2);
	assert_string_equal(dst, "\"\"");
	n = jscan_quote(dst, sizeof dst, "\"\\/\b\f\n\r\t\x01\x1f\x7f", 11);
	assert_string_equal(dst,
	    "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"");
	assert_int_equal(n, strlen(dst));
	n = jscan_quote(dst, sizeof dst, "a\0b", 3);
	assert_string_equal(dst, "\"a\\u0000b\"");
	/* Valid UTF-8 passes, invalid bytes become U+FFFD. */
	n = jscan_quote(dst, sizeof dst, "\xc3\xa9\xf0\x9f\x98\x80", 6);
	assert_string_equal(dst, "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	n = jscan_quote(dst, sizeof dst, "a\xff\xc3(\xed\xa0\x80", 7);
	assert_string_equal(dst, "\"a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\"");
	assert_int_equal(n, strlen(dst));

	/* snprintf semantics. */
	memset(dst, 'X', sizeof dst);
	assert_int_equal(jscan_quote(dst, 5, "abcdef", 6), 8);
	assert_string_equal(dst, "\"abc");
	assert_int_equal(dst[5], 'X');
	assert_int_equal(jscan_quote(dst, 1, "abcdef", 6), 8);
	assert_string_equal(dst, "");
	assert_int_equal(jscan_quote(NULL, 0, "a\n", 2), 5);
	assert_int_equal(jscan_quote(dst, 4, "\n", 1), 4);
	assert_string_equal(dst, "\"\\n");
	assert_int_equal(jscan_quote(dst, 5, "\n", 1), 4);
	assert_string_equal(dst, "\"\\n\"");

	/* Whatever the input, the result is a valid JSON string. */
	{
		unsigned char	src[8];
		int		i, b;

		for (i = 0; i < 256; i++) {
			for (b = 0; b < 8; b++)
				src[b] = (unsigned char)(i * 31 + b * 97);
			n = snprintf(doc, sizeof doc, "{\"k\":");
			n += jscan_quote(doc + n, sizeof doc - n,
			    (const char *)src, sizeof src);
			doc[n++] = '}';
			assert_int_equal(scan(doc, n, 64, NULL, 0), 0);
		}
	}
}

/* \u0000 in a string span, escaped or not, anywhere in it. */
static void
test_span_has_nul(void **state)
{
	static const struct {
		const char	*s;
		int		 nul;
	} cases[] = {
		{ "\"a\\u0000b\"", 1 },
		{ "\"\\u0000\"", 1 },
		{ "\"ab\\u0000\"", 1 },
		{ "\"\\\\u0000\"", 0 },	/* an escaped backslash, then text */
		{ "\"\\u0001\"", 0 },
		{ "\"u0000\"", 0 },
		{ "\"\\n\\u00000\"", 1 },
		{ "\"\"", 0 },
	};
	struct jscan_span	sp;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sp.type = JSCAN_STRING;
		sp.start = 0;
		sp.end = strlen(cases[i].s);
		sp.present = 1;
		assert_int_equal(jscan_span_has_nul(cases[i].s, &sp),
		    cases[i].nul);
	}
}

/* Several keys in one pass: escaped keys, the last of two, reset. */
static void
test_object_fields(void **state)
{
	static const char	 buf[] = "{\"prompt_tokens\":5,"
	    "\"completion\\u005ftokens\":3,\"x\":{\"prompt_tokens\":9},"
	    "\"total_tokens\":1,\"total_tokens\":8,\"tokens\":\"t\"}";
	struct jscan_span	 obj, pt, ct, tt, gone, tok, x;
	struct jscan_want	 want[] = {
		{ "prompt_tokens", &pt },
		{ "completion_tokens", &ct },
		{ "total_tokens", &tt },
		{ "gone", &gone },
		{ "tokens", &tok },
		{ "x", &x },
	};
	struct jscan_want	 missing = { "prompt_tokens", &pt };
	int64_t			 v;

	(void)state;
	assert_int_equal(jscan_object(buf, strlen(buf), 8, NULL, 0, NULL, 0),
	    0);
	obj = (struct jscan_span){ JSCAN_OBJECT, 0, strlen(buf), 1 };
	gone.present = 1;	/* reset by the call */
	assert_int_equal(jscan_object_fields(buf, &obj, want, 6), 5);
	assert_false(gone.present);
	assert_int_equal(jscan_int64(buf, &pt, &v), 0);
	assert_int_equal(v, 5);		/* the top level's, not x's */
	assert_int_equal(jscan_int64(buf, &ct, &v), 0);
	assert_int_equal(v, 3);		/* its key escaped */
	assert_int_equal(jscan_int64(buf, &tt, &v), 0);
	assert_int_equal(v, 8);		/* the last one wins */
	assert_int_equal(tok.type, JSCAN_STRING);
	assert_true(jscan_string_eq(buf, &tok, "t", 1));
	assert_int_equal(x.type, JSCAN_OBJECT);

	/* Inside x only its own key; and nothing in what is no object. */
	assert_int_equal(jscan_object_fields(buf, &x, &missing, 1), 1);
	assert_int_equal(jscan_int64(buf, &pt, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(jscan_object_fields(buf, &tok, &missing, 1), 0);
	assert_false(pt.present);
	/* jscan_object_get() is the one-key case. */
	assert_true(jscan_object_get(buf, &obj, "total_tokens", &tt));
	assert_int_equal(jscan_int64(buf, &tt, &v), 0);
	assert_int_equal(v, 8);
	assert_false(jscan_object_get(buf, &obj, "total", &tt));
	assert_false(tt.present);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_span_has_nul),
		cmocka_unit_test(test_object_fields),
		cmocka_unit_test(test_chat_spans),
		cmocka_unit_test(test_chat_walk),
		cmocka_unit_test(test_splice),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_escaped_keys),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_walk_duplicates),
		cmocka_unit_test(test_walk_duplicates_sorted),
		cmocka_unit_test(test_walk_many_keys),
		cmocka_unit_test(test_walk_steps),
		cmocka_unit_test(test_integer),
		cmocka_unit_test(test_string_eq),
		cmocka_unit_test(test_utf8_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
