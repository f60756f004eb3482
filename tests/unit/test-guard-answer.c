/*
 * Unit tests for agent/guard-input.c, agent/guard-answer.c and
 * agent/guard-ollama.c: what a request body, an answer's SSE events and
 * an Ollama stream's lines become, and what the output filter costs a
 * stream per event.
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
#include "guard.h"
#include "jscan.h"

#define SECRET	"sk-abc123DEF456ghi789JKL0mno"
#define CARD	"4111 1111 1111 1111"

struct fixture {
	struct guard		*g[2];
	const struct guard	*gp[2];
	struct reg_model	 m;
	struct request		 rq;		/* the last input's */
};

static int
setup(void **state)
{
	struct guard_spec	 redact = { .key = "pii", .kind = GUARD_PII,
				    .action = GUARD_REDACT };
	struct guard_spec	 block = { .key = "cards", .kind = GUARD_PII,
				    .action = GUARD_BLOCK,
				    .types = 1u << GUARD_CARD };
	struct fixture		*f;
	char			 err[128];

	f = calloc(1, sizeof(*f));
	f->g[0] = guard_new(&redact, err, sizeof(err));
	f->g[1] = guard_new(&block, err, sizeof(err));
	assert_non_null(f->g[0]);
	assert_non_null(f->g[1]);
	f->gp[0] = f->g[0];
	f->gp[1] = f->g[1];
	f->m.key = (char *)"m";
	f->m.guard_in.guards = f->gp;
	f->m.guard_in.n = 2;
	f->m.guard_out.guards = f->gp;
	f->m.guard_out.n = 2;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	request_clear(&f->rq);
	guard_free(f->g[0]);
	guard_free(f->g[1]);
	free(f);
	return 0;
}

/*
 * A body scanned as the proxy does, then through the input hook; f->rq
 * is what the proxy would go on with.
 */
static enum guard_result
input_route(struct fixture *f, const char *body, int ollama, char **out,
    struct guard_report *r)
{
	enum guard_result	res;
	size_t			outlen;
	char			err[128];

	memset(r, 0, sizeof(*r));
	if (request_scan(&f->rq, body, strlen(body), ollama, err,
	    sizeof(err)) == -1)
		fail_msg("%s: %s", body, err);
	res = guard_input(&f->m, &f->rq, out, &outlen, r);
	if (*out != NULL) {
		assert_int_equal(outlen, strlen(*out));
		assert_ptr_equal(f->rq.body, *out);
	}
	return res;
}

static enum guard_result
input(struct fixture *f, const char *body, char **out,
    struct guard_report *r)
{
	return input_route(f, body, 0, out, r);
}

static void
test_input(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	char			*out;

	assert_int_equal(input(f, "{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}", &out, &r), GUARD_PASS);
	assert_null(out);
	assert_int_equal(input(f, "{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"mail a@b.io\\n\"},{\"role\":\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"ip 10.0.0.1\"}]}]}",
	    &out, &r), GUARD_REDACTED);
	assert_string_equal(out, "{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"mail [REDACTED:EMAIL]\\n\"},{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"ip [REDACTED:IPV4]\"}]}]}");
	free(out);
	assert_int_equal(input(f, "{\"model\":\"m\",\"prompt\":[\"x\","
	    "\"4111 1111 1111 1111\"]}", &out, &r), GUARD_BLOCKED);
	assert_string_equal(r.blocked_by, "cards");
	/* Escapes are undone before matching: \u0034 is '4'. */
	assert_int_equal(input(f, "{\"model\":\"m\",\"input\":"
	    "\"\\u0034111111111111111\"}", &out, &r), GUARD_BLOCKED);
	/* An id-like key before a number does not hide what follows. */
	assert_int_equal(input(f, "{\"model\":\"m\",\"messages\":[{\"id\":1,"
	    "\"x\":[\"4111111111111111\"]}]}", &out, &r), GUARD_BLOCKED);
	/* Roles and types are not text; what is no role or type is. */
	assert_int_equal(input(f, "{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}]}]}",
	    &out, &r), GUARD_PASS);
	assert_null(out);
	assert_int_equal(input(f, "{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"a@b.io\"}]}", &out, &r), GUARD_REDACTED);
	assert_string_equal(out, "{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"[REDACTED:EMAIL]\"}]}");
	free(out);
}

/*
 * Each bypass the issue lists, through the input hook: the address is
 * redacted wherever the backend would read it.
 */
static void
test_guard_everywhere(void **state)
{
	static const struct {
		const char	*body;
		int		 ollama;
	} bodies[] = {
		{ "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":"
		  "{\"name\":\"f\",\"description\":\"mail bob@example.com\"}}]}",
		  0 },
		{ "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":"
		  "{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
		  "\"properties\":{\"to\":{\"type\":\"string\",\"default\":"
		  "\"bob@example.com\"}}}}}]}", 0 },
		{ "{\"model\":\"m\",\"functions\":[{\"name\":\"f\",\"description\":"
		  "\"bob@example.com\"}]}", 0 },
		{ "{\"model\":\"m\",\"response_format\":{\"type\":\"json_schema\","
		  "\"json_schema\":{\"name\":\"r\",\"schema\":{\"description\":"
		  "\"bob@example.com\"}}}}", 0 },
		{ "{\"model\":\"m\",\"prediction\":{\"type\":\"content\","
		  "\"content\":\"bob@example.com\"}}", 0 },
		{ "{\"model\":\"m\",\"prompt\":\"p\",\"suffix\":\"bob@example.com\"}",
		  0 },
		{ "{\"model\":\"m\",\"user\":\"bob@example.com\"}", 0 },
		{ "{\"model\":\"m\",\"stop\":[\"bob@example.com\"]}", 0 },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"name\":"
		  "\"bob@example.com\",\"content\":\"hi\"}]}", 0 },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
		  "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
		  "\"function\":{\"name\":\"f\",\"arguments\":"
		  "\"{\\\"to\\\":\\\"bob@example.com\\\"}\"}}]}]}", 0 },
		{ "{\"model\":\"m\",\"prompt\":\"p\",\"template\":"
		  "\"bob@example.com {{ .Prompt }}\"}", 1 },
		{ "{\"model\":\"m\",\"prompt\":\"p\",\"system\":\"bob@example.com\"}",
		  1 },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
		  "\"content\":\"hi\",\"images\":[\"bob@example.com\"]}]}", 1 },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"bob@example.com\","
		  "\"content\":\"hi\"}]}", 0 },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
		  "[{\"type\":\"bob@example.com\"}]}]}", 0 },
		{ "{\"model\":\"m\",\"metadata\":{\"bob@example.com\":\"x\"}}", 0 },
	};
	struct fixture		*f = *state;
	struct guard_report	 r;
	char			*out;
	size_t			 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if (input_route(f, bodies[i].body, bodies[i].ollama, &out, &r) !=
		    GUARD_REDACTED)
			fail_msg("not redacted: %s", bodies[i].body);
		if (strstr(out, "bob@example.com") != NULL ||
		    strstr(out, "[REDACTED:EMAIL]") == NULL)
			fail_msg("%s -> %s", bodies[i].body, out);
		/* What goes on is still one valid request. */
		assert_ptr_equal(f->rq.body, out);
		free(out);
	}
	/* A card number as a JSON number in a schema blocks like text. */
	assert_int_equal(input_route(f, "{\"model\":\"m\",\"tools\":[{\"type\":"
	    "\"function\",\"function\":{\"name\":\"f\",\"parameters\":{"
	    "\"properties\":{\"n\":{\"default\":4111111111111111}}}}}]}", 0,
	    &out, &r), GUARD_BLOCKED);
	assert_string_equal(r.blocked_by, "cards");
}

/*
 * Keys are text too. A redacted key stays a key; two that a redaction
 * would make equal cannot both go on: the request is refused.
 */
static void
test_guard_keys(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	char			*out;

	assert_int_equal(input_route(f, "{\"model\":\"m\",\"tools\":[{\"function\":"
	    "{\"parameters\":{\"properties\":{\"bob@example.com\":{\"type\":"
	    "\"string\"},\"x\":{}}}}}]}", 0, &out, &r), GUARD_REDACTED);
	assert_string_equal(out, "{\"model\":\"m\",\"tools\":[{\"function\":"
	    "{\"parameters\":{\"properties\":{\"[REDACTED:EMAIL]\":{\"type\":"
	    "\"string\"},\"x\":{}}}}}]}");
	assert_ptr_equal(f->rq.body, out);
	assert_true(f->rq.model.present);
	assert_int_equal(out[f->rq.model.start], '"');
	free(out);
	assert_int_equal(input_route(f, "{\"model\":\"m\",\"metadata\":{"
	    "\"a@example.com\":1,\"b@example.com\":2}}", 0, &out, &r),
	    GUARD_BLOCKED);
	assert_string_equal(r.blocked_by, "pii");
	assert_null(out);
}

/* Redactions move the spans; the request stays usable as it is. */
static void
test_guard_rebase(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	char			*out;
	const char		*b = "{\"messages\":[{\"role\":\"user\",\"content\":"
				    "\"I am bob@example.com\"}],\"user\":\"a@b.io\","
				    "\"model\":\"m\",\"max_tokens\":7}";

	assert_int_equal(input_route(f, b, 0, &out, &r), GUARD_REDACTED);
	assert_int_equal(strncmp(out + f->rq.model.start, "\"m\"", 3), 0);
	assert_int_equal(strncmp(out + f->rq.max_tokens.start, "7", 1), 0);
	assert_int_equal(out[f->rq.messages.start], '[');
	assert_int_equal(out[f->rq.messages.end - 1], ']');
	/* "I am [REDACTED:EMAIL]" and "[REDACTED:EMAIL]": 21 + 16 bytes. */
	assert_int_equal(f->rq.prompt_bytes, 37);
	free(out);
}

/*
 * Many redactions in one body take linear time: 20,000 emails, each its
 * own string, once took half a minute under ASan as the list of splices
 * grew by one at a time.
 */
static void
test_guard_many_redactions(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct timespec		 t0, t1;
	size_t			 n = 20000, i;
	char			*body, *p, *out;
	double			 secs;

	body = malloc(n * 10 + 64);
	p = body + sprintf(body, "{\"model\":\"m\",\"input\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"a@b.co\"", i ? "," : "");
	strcpy(p, "]}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(input_route(f, body, 0, &out, &r), GUARD_REDACTED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("# %zu redactions in one body: %.3f s\n", n, secs);
	assert_true(secs < 5);
	assert_non_null(strstr(out, "[\"[REDACTED:EMAIL]\",\"[REDACTED:"));
	free(out);
	free(body);
}

/* Token ids: no guardrail can read them, so none passes them. */
static void
test_guard_token_ids(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	char			*out;

	assert_int_equal(input_route(f, "{\"model\":\"m\",\"prompt\":[1,2,3]}",
	    0, &out, &r), GUARD_FAILED);
	assert_null(out);
	assert_int_equal(input_route(f, "{\"model\":\"m\",\"prompt\":\"p\","
	    "\"context\":[1]}", 1, &out, &r), GUARD_FAILED);
}

/* Feed events; the concatenated delta contents and whether it ended. */
/*
 * The events through a stream's output hook; the content the client
 * would put together, and (args not NULL) the arguments of tool calls 0
 * and 1 in args[0] and args[1].
 */
static char *
run_events_calls(struct fixture *f, const char *const *events, size_t n,
    int *blocked, int *filtered, char *args[2])
{
	struct guard_report	 r;
	struct guard_answer	*ga;
	const char		*out;
	size_t			 outlen, i, total = 0;
	char			*all, *content;
	cJSON			*j, *c;
	enum guard_result	 res = GUARD_PASS;
	char			*line, *save = NULL;

	memset(&r, 0, sizeof(r));
	all = calloc(1, 65536);
	ga = guard_answer_new(&f->m.guard_out, &r, ROUTE_CHAT);
	for (i = 0; i < n && res != GUARD_BLOCKED; i++) {
		res = guard_answer_event(ga, events[i], strlen(events[i]),
		    &out, &outlen);
		memcpy(all + total, out, outlen);
		total += outlen;
	}
	if (res != GUARD_BLOCKED) {
		res = guard_answer_finish(ga, &out, &outlen);
		memcpy(all + total, out, outlen);
		total += outlen;
	}
	guard_answer_free(ga);
	*blocked = res == GUARD_BLOCKED;
	*filtered = strstr(all, "\"content_filter\"") != NULL;

	content = calloc(1, 65536);
	for (line = strtok_r(all, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "data: {", 7) != 0)
			continue;
		assert_non_null(j = cJSON_Parse(line + 6));
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "choices")) {
			cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(c,
			    "delta"), "content");

			cJSON *call;

			if (cJSON_IsString(t))
				strcat(content, t->valuestring);
			cJSON_ArrayForEach(call, cJSON_GetObjectItem(
			    cJSON_GetObjectItem(c, "delta"), "tool_calls")) {
				cJSON *ix = cJSON_GetObjectItem(call, "index");
				cJSON *a = cJSON_GetObjectItem(
				    cJSON_GetObjectItem(call, "function"),
				    "arguments");

				assert_true(cJSON_IsNumber(ix));
				assert_true(ix->valueint == 0 ||
				    ix->valueint == 1);
				if (args != NULL && cJSON_IsString(a))
					strcat(args[ix->valueint],
					    a->valuestring);
			}
		}
		cJSON_Delete(j);
	}
	free(all);
	return content;
}

static char *
run_events(struct fixture *f, const char *const *events, size_t n,
    int *blocked, int *filtered)
{
	return run_events_calls(f, events, n, blocked, filtered, NULL);
}

/* An event carrying text s, as a backend sends one. */
static char *
event(const char *s, int last)
{
	char	*e, q[256];

	snprintf(q, sizeof(q), "%s", s);
	if (asprintf(&e, "data: {\"id\":\"c1\",\"object\":"
	    "\"chat.completion.chunk\",\"created\":1,\"model\":\"x\","
	    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
	    "\"finish_reason\":%s}]}\n\n", q, last ? "\"stop\"" : "null") ==
	    -1)
		fail();
	return e;
}

static void
test_stream_split(void **state)
{
	struct fixture	*f = *state;
	const char	*text = "my key " SECRET " and more";
	char		*ev[4], piece[128], *got;
	size_t		 len = strlen(text), a, i;
	int		 blocked, filtered;

	for (a = 0; a <= len; a++) {
		snprintf(piece, sizeof(piece), "%.*s", (int)a, text);
		ev[0] = event(piece, 0);
		ev[1] = event(text + a, 0);
		ev[2] = event("", 1);
		ev[3] = strdup("data: [DONE]\n\n");
		got = run_events(f, (const char *const *)ev, 4, &blocked,
		    &filtered);
		assert_string_equal(got, "my key [REDACTED:SECRET] and more");
		assert_false(blocked);
		free(got);
		for (i = 0; i < 4; i++)
			free(ev[i]);
	}
}

/* An event carrying reasoning text s under key, as vLLM or Ollama send. */
static char *
side_event(const char *key, const char *s, int last)
{
	char	*e;

	if (asprintf(&e, "data: {\"id\":\"c1\",\"object\":"
	    "\"chat.completion.chunk\",\"created\":1,\"model\":\"x\","
	    "\"choices\":[{\"index\":0,\"delta\":{\"%s\":\"%s\"},"
	    "\"finish_reason\":%s}]}\n\n", key, s, last ? "\"stop\"" :
	    "null") == -1)
		fail();
	return e;
}

/* What a stream's events say under delta.key, all of it, in order. */
static char *
delta_text(const char *all, const char *key)
{
	char	*copy = strdup(all), *line, *save = NULL, *text;
	cJSON	*j, *c, *t;

	text = calloc(1, 65536);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "data: {", 7) != 0)
			continue;
		assert_non_null(j = cJSON_Parse(line + 6));
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "choices")) {
			t = cJSON_GetObjectItem(cJSON_GetObjectItem(c,
			    "delta"), key);
			if (cJSON_IsString(t))
				strcat(text, t->valuestring);
		}
		cJSON_Delete(j);
	}
	free(copy);
	return text;
}

/*
 * Reasoning goes through a filter of its own, whatever its key: a secret
 * split over two events is redacted, what the filter held comes out in
 * an event of its own when the choice finishes, and a card in it blocks
 * the stream before any of it is sent.
 */
static void
test_stream_reasoning(void **state)
{
	static const char *const keys[] = { "reasoning_content", "reasoning",
	    "refusal" };
	struct fixture		*f = *state;
	const char		*text = "think " SECRET " then";
	struct guard_report	 r;
	struct guard_answer	*ga;
	char			*ev[4], piece[128], all[8192], *got;
	const char		*out;
	size_t			 k, a, i, outlen, total, len = strlen(text);
	enum guard_result	 res;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (a = 0; a <= len; a += 3) {
			snprintf(piece, sizeof(piece), "%.*s", (int)a, text);
			ev[0] = side_event(keys[k], piece, 0);
			ev[1] = side_event(keys[k], text + a, 0);
			ev[2] = event("answer", 1);
			ev[3] = strdup("data: [DONE]\n\n");
			memset(&r, 0, sizeof(r));
			ga = guard_answer_new(&f->m.guard_out, &r, ROUTE_CHAT);
			for (i = total = 0; i < 4; i++) {
				res = guard_answer_event(ga, ev[i],
				    strlen(ev[i]), &out, &outlen);
				assert_int_not_equal(res, GUARD_BLOCKED);
				assert_true(total + outlen < sizeof(all));
				memcpy(all + total, out, outlen);
				total += outlen;
			}
			all[total] = '\0';
			guard_answer_free(ga);
			got = delta_text(all, keys[k]);
			if (strcmp(got, "think [REDACTED:SECRET] then") != 0)
				fail_msg("%s split at %zu: \"%s\"", keys[k],
				    a, got);
			free(got);
			got = delta_text(all, "content");
			assert_string_equal(got, "answer");
			free(got);
			for (i = 0; i < 4; i++)
				free(ev[i]);
		}
	}
	/* A card in the reasoning: blocked, none of it out. */
	ev[0] = side_event("reasoning", "pay with 4111 ", 0);
	ev[1] = side_event("reasoning", "1111 1111 1111 now", 0);
	memset(&r, 0, sizeof(r));
	ga = guard_answer_new(&f->m.guard_out, &r, ROUTE_CHAT);
	for (i = total = res = 0; i < 2 && res != GUARD_BLOCKED; i++) {
		res = guard_answer_event(ga, ev[i], strlen(ev[i]), &out,
		    &outlen);
		memcpy(all + total, out, outlen);
		total += outlen;
	}
	all[total] = '\0';
	guard_answer_free(ga);
	assert_int_equal(res, GUARD_BLOCKED);
	assert_non_null(strstr(all, "\"content_filter\""));
	assert_null(strstr(all, "1111"));
	assert_string_equal(r.blocked_by, "cards");
	for (i = 0; i < 2; i++)
		free(ev[i]);
}

static void
test_stream_block(void **state)
{
	struct fixture	*f = *state;
	char		*ev[3], *got;
	int		 blocked, filtered, i;

	ev[0] = event("pay with 4111 ", 0);
	ev[1] = event("1111 1111 1111 now", 0);
	ev[2] = strdup("data: [DONE]\n\n");
	got = run_events(f, (const char *const *)ev, 3, &blocked, &filtered);
	assert_true(blocked);
	assert_true(filtered);
	assert_string_equal(got, "pay with");
	free(got);
	for (i = 0; i < 3; i++)
		free(ev[i]);
}

/* An event with a fragment of tool call k's arguments, s escaped. */
static char *
call_event(int k, const char *s)
{
	char	*e, q[512];
	size_t	 n = 0;

	for (; *s != '\0' && n + 3 < sizeof(q); s++) {
		if (*s == '"' || *s == '\\')
			q[n++] = '\\';
		q[n++] = *s;
	}
	q[n] = '\0';
	if (asprintf(&e, "data: {\"id\":\"c1\",\"object\":"
	    "\"chat.completion.chunk\",\"created\":1,\"model\":\"x\","
	    "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
	    "\"index\":%d,\"function\":{\"arguments\":\"%s\"}}]},"
	    "\"finish_reason\":null}]}\n\n", k, q) == -1)
		fail();
	return e;
}

/*
 * A tool call's arguments go through the filter like the content: a key
 * split anywhere over two fragments is redacted, interleaved with another
 * call's, and what the filter held comes out when the choice finishes.
 */
static void
test_stream_tool_calls(void **state)
{
	struct fixture	*f = *state;
	const char	*text = "{\"key\":\"" SECRET "\"}";
	const char	*finish = "data: {\"id\":\"c1\",\"choices\":[{"
			    "\"index\":0,\"delta\":{},\"finish_reason\":"
			    "\"tool_calls\"}]}\n\n";
	char		*ev[6], piece[128], *got, *args[2];
	size_t		 len = strlen(text), a, i;
	int		 blocked, filtered;

	args[0] = calloc(1, 4096);
	args[1] = calloc(1, 4096);
	for (a = 0; a <= len; a++) {
		snprintf(piece, sizeof(piece), "%.*s", (int)a, text);
		ev[0] = call_event(0, piece);
		ev[1] = call_event(1, "{\"city\":");
		ev[2] = call_event(0, text + a);
		ev[3] = call_event(1, "\"Paris\"}");
		ev[4] = strdup(finish);
		ev[5] = strdup("data: [DONE]\n\n");
		args[0][0] = args[1][0] = '\0';
		got = run_events_calls(f, (const char *const *)ev, 6,
		    &blocked, &filtered, args);
		assert_string_equal(args[0],
		    "{\"key\":\"[REDACTED:SECRET]\"}");
		assert_string_equal(args[1], "{\"city\":\"Paris\"}");
		assert_string_equal(got, "");
		assert_false(blocked);
		assert_false(filtered);
		free(got);
		for (i = 0; i < 6; i++)
			free(ev[i]);
	}

	/* A card in one ends the stream, none of it sent. */
	ev[0] = call_event(0, "{\"n\":\"4111 ");
	ev[1] = call_event(0, "1111 1111 1111\"}");
	ev[2] = strdup(finish);
	args[0][0] = args[1][0] = '\0';
	got = run_events_calls(f, (const char *const *)ev, 3, &blocked,
	    &filtered, args);
	assert_true(blocked);
	assert_true(filtered);
	assert_null(strstr(args[0], "1111"));
	free(got);
	for (i = 0; i < 3; i++)
		free(ev[i]);

	/* Text and a call in one delta, the call first: both read. */
	ev[0] = strdup("data: {\"choices\":[{\"index\":0,\"delta\":{"
	    "\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
	    "\"" SECRET "\"}}],\"content\":\"k " SECRET "\"},"
	    "\"finish_reason\":\"stop\"}]}\n\n");
	args[0][0] = args[1][0] = '\0';
	got = run_events_calls(f, (const char *const *)ev, 1, &blocked,
	    &filtered, args);
	assert_string_equal(got, "k [REDACTED:SECRET]");
	assert_string_equal(args[1], "[REDACTED:SECRET]");
	assert_false(blocked);
	free(got);
	free(ev[0]);

	/*
	 * Two fragments of one call in the event that finishes the choice:
	 * the first goes through the filter, only the last finishes it.
	 */
	ev[0] = strdup("data: {\"choices\":[{\"index\":0,\"delta\":{"
	    "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	    "\"{\\\"k\\\":\\\"sk-abc123DEF\"}},{\"index\":0,\"function\":"
	    "{\"arguments\":\"456ghi789JKL0mno\\\"}\"}}]},"
	    "\"finish_reason\":\"tool_calls\"}]}\n\n");
	args[0][0] = args[1][0] = '\0';
	got = run_events_calls(f, (const char *const *)ev, 1, &blocked,
	    &filtered, args);
	assert_string_equal(args[0], "{\"k\":\"[REDACTED:SECRET]\"}");
	assert_false(blocked);
	free(got);
	free(ev[0]);

	/* More tool calls than filters, or arguments no string: closed. */
	ev[0] = call_event(16, "{}");
	got = run_events_calls(f, (const char *const *)ev, 1, &blocked,
	    &filtered, args);
	assert_true(blocked);
	assert_true(filtered);
	free(got);
	free(ev[0]);
	ev[0] = strdup("data: {\"choices\":[{\"index\":0,\"delta\":{"
	    "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	    "{\"k\":\"" SECRET "\"}}}]}}]}\n\n");
	got = run_events_calls(f, (const char *const *)ev, 1, &blocked,
	    &filtered, args);
	assert_true(blocked);
	assert_false(filtered);		/* an error event, not a filter */
	free(got);
	free(ev[0]);
	free(args[0]);
	free(args[1]);
}

/* Events that are not text pass through byte for byte. */
static void
test_stream_passthrough(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct guard_answer	*ga;
	const char		*out;
	size_t			 outlen;
	const char		*role = "data: {\"choices\":[{\"index\":0,"
				    "\"delta\":{\"role\":\"assistant\"}}]}\n\n";
	const char		*comment = ": keep-alive\n\n";

	memset(&r, 0, sizeof(r));
	ga = guard_answer_new(&f->m.guard_out, &r, ROUTE_CHAT);
	assert_int_equal(guard_answer_event(ga, role, strlen(role), &out,
	    &outlen), GUARD_PASS);
	assert_ptr_equal(out, role);
	assert_int_equal(guard_answer_event(ga, comment, strlen(comment), &out,
	    &outlen), GUARD_PASS);
	assert_ptr_equal(out, comment);
	guard_answer_free(ga);
}

/*
 * What output filtering costs a stream: a 4 KB answer in 1000 events of
 * 4 bytes through the default PII set, per event. Reported, not judged.
 */
static void
test_stream_overhead(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct guard_answer	*ga;
	struct timespec		 t0, t1;
	const char		*out;
	size_t			 outlen, i, n = 1000, rounds = 20, k;
	char			**ev;
	static const char	 words[] = "The quick brown fox jumps over the"
				    " lazy dog, 2024-01-15, v1.2.3. ";
	double			 us;

	(void)state;
	ev = calloc(n, sizeof(*ev));
	for (i = 0; i < n; i++) {
		char	piece[8];

		snprintf(piece, sizeof(piece), "%.4s",
		    words + (i * 4) % (sizeof(words) - 5));
		ev[i] = event(piece, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < rounds; k++) {
		memset(&r, 0, sizeof(r));
		ga = guard_answer_new(&f->m.guard_out, &r, ROUTE_CHAT);
		for (i = 0; i < n; i++)
			guard_answer_event(ga, ev[i], strlen(ev[i]), &out,
			    &outlen);
		guard_answer_finish(ga, &out, &outlen);
		guard_answer_free(ga);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) /
	    1e3 / (rounds * n);
	printf("# stream output filter (default PII set): %.2f us per event\n",
	    us);
	for (i = 0; i < n; i++)
		free(ev[i]);
	free(ev);
}

/* One chat line with text s[0..n), done or not. */
static size_t
ollama_line(char *buf, size_t len, const char *s, size_t n, int done)
{
	char	q[512];

	jscan_quote(q, sizeof(q), s, n);
	return snprintf(buf, len, "{\"model\":\"x\",\"message\":{\"role\":"
	    "\"assistant\",\"content\":%s},\"done\":%s}\n", q,
	    done ? "true,\"eval_count\":3" : "false");
}

/*
 * text, split into two lines at cut plus a last empty one, through the
 * filter: the text the client gets, each line valid JSON, and the last
 * line's done_reason (or "").
 */
static enum guard_result
ollama_stream(struct fixture *f, const char *text, size_t cut, char *got,
    size_t gotlen, char *reason, size_t reasonlen)
{
	struct guard_report	 r;
	struct guard_ollama	*go;
	enum guard_result	 res = GUARD_PASS, worst = GUARD_PASS;
	char			 in[1024], all[8192];
	const char		*out;
	size_t			 n, outlen, alllen = 0, i;
	const char		*piece[3] = { text, text + cut, "" };
	size_t			 plen[3] = { cut, strlen(text) - cut, 0 };
	char			*p, *nl;

	memset(&r, 0, sizeof(r));
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_CHAT);
	for (i = 0; i < 3 && res != GUARD_BLOCKED; i++) {
		n = ollama_line(in, sizeof(in), piece[i], plen[i], i == 2);
		res = guard_ollama_line(go, in, n, &out, &outlen);
		memcpy(all + alllen, out, outlen);
		alllen += outlen;
		if (res != GUARD_PASS)
			worst = res;
	}
	if (res != GUARD_BLOCKED) {
		guard_ollama_finish(go, &out, &outlen);
		memcpy(all + alllen, out, outlen);
		alllen += outlen;
	}
	guard_ollama_free(go);
	all[alllen] = '\0';
	*got = '\0';
	*reason = '\0';
	for (p = all; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		cJSON	*o = cJSON_ParseWithLength(p, nl - p), *c, *d;

		assert_non_null(o);
		c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "message"),
		    "content");
		assert_true(cJSON_IsString(c));
		strncat(got, c->valuestring, gotlen - strlen(got) - 1);
		if ((d = cJSON_GetObjectItem(o, "done_reason")) != NULL)
			snprintf(reason, reasonlen, "%s", d->valuestring);
		cJSON_Delete(o);
	}
	assert_int_equal(*p, '\0');	/* every line ends with "\n" */
	return worst;
}

static void
test_ollama_stream_redact(void **state)
{
	struct fixture	*f = *state;
	const char	*text = "my key " SECRET " ok";
	char		 got[1024], reason[64];
	size_t		 cut;

	for (cut = 0; cut <= strlen(text); cut++) {
		ollama_stream(f, text, cut, got, sizeof(got), reason,
		    sizeof(reason));
		assert_string_equal(got, "my key [REDACTED:SECRET] ok");
	}
	ollama_stream(f, "plain text", 5, got, sizeof(got), reason,
	    sizeof(reason));
	assert_string_equal(got, "plain text");
}

static void
test_ollama_stream_block(void **state)
{
	struct fixture	*f = *state;
	const char	*text = "pay " CARD " now";
	char		 got[1024], reason[64];
	size_t		 cut;

	for (cut = 0; cut <= strlen(text); cut++) {
		assert_int_equal(ollama_stream(f, text, cut, got,
		    sizeof(got), reason, sizeof(reason)), GUARD_BLOCKED);
		assert_null(strstr(got, "1111"));
		assert_string_equal(reason, "content_filter");
	}
}

static void
test_ollama_body(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	const char		*chat = "{\"message\":{\"content\":\"k " SECRET
				    "\"},\"done\":true,\"done_reason\":\"stop\"}";
	const char		*gen = "{\"response\":\"" CARD "\",\"done\":true,"
				    "\"done_reason\":\"stop\"}", *want;
	char			*out;
	size_t			 outlen;

	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT, chat,
	    strlen(chat), &out, &outlen, &r), GUARD_REDACTED);
	assert_non_null(strstr(out, "\"content\":\"k [REDACTED:SECRET]\""));
	free(out);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    gen, strlen(gen), &out, &outlen, &r), GUARD_BLOCKED);
	assert_non_null(strstr(out, "\"response\":\"\""));
	assert_non_null(strstr(out, "\"done_reason\":\"content_filter\""));
	free(out);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT,
	    "{\"message\":{\"content\":\"hi\"}}", 28, &out, &outlen, &r),
	    GUARD_PASS);
	assert_null(out);
	/* No done_reason: one is added, the rest as it came. */
	gen = "{\"response\":\"" CARD "\",\"done\":true} ";
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    gen, strlen(gen), &out, &outlen, &r), GUARD_BLOCKED);
	assert_int_equal(outlen, strlen("{\"response\":\"\",\"done\":true,"
	    "\"done_reason\":\"content_filter\"} "));
	assert_memory_equal(out, "{\"response\":\"\",\"done\":true,"
	    "\"done_reason\":\"content_filter\"} ", outlen);
	free(out);
	/* A text that is no string, or no text at all: not delivered. */
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT,
	    "{\"message\":{\"content\":7}}", 25, &out, &outlen, &r),
	    GUARD_FAILED);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    "{\"done\":true}", 13, &out, &outlen, &r), GUARD_FAILED);
	assert_null(out);
	/* The thinking is the model's too: redacted, emptied on a block. */
	chat = "{\"message\":{\"content\":\"ok\",\"thinking\":\"k " SECRET
	    "\"},\"done\":true}";
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT, chat,
	    strlen(chat), &out, &outlen, &r), GUARD_REDACTED);
	assert_non_null(strstr(out, "\"thinking\":\"k [REDACTED:SECRET]\""));
	free(out);
	gen = "{\"thinking\":\"pay " CARD "\",\"response\":\"k " SECRET
	    "\",\"done\":true,\"done_reason\":\"stop\"}";
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    gen, strlen(gen), &out, &outlen, &r), GUARD_BLOCKED);
	want = "{\"thinking\":\"\",\"response\":\"\",\"done\":true,"
	    "\"done_reason\":\"content_filter\"}";
	assert_int_equal(outlen, strlen(want));
	assert_memory_equal(out, want, outlen);
	free(out);
	chat = "{\"message\":{\"content\":\"\",\"thinking\":[]}}";
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT, chat,
	    strlen(chat), &out, &outlen, &r), GUARD_FAILED);
	/* Generate's context spells the answer in token ids: emptied. */
	gen = "{\"response\":\"hi\",\"done\":true,\"context\":[1,2,3]}";
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    gen, strlen(gen), &out, &outlen, &r), GUARD_REDACTED);
	want = "{\"response\":\"hi\",\"done\":true,\"context\":[]}";
	assert_int_equal(outlen, strlen(want));
	assert_memory_equal(out, want, outlen);
	free(out);
	gen = "{\"response\":\"hi\",\"done\":true,\"context\":[]}";
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    gen, strlen(gen), &out, &outlen, &r), GUARD_PASS);
	assert_null(out);
}

/* A generate stream's last line: its context goes, its text is read. */
static void
test_ollama_stream_context(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct guard_ollama	*go;
	const char		*line = "{\"model\":\"m\",\"response\":\"k "
				    SECRET "\",\"done\":true,\"context\":"
				    "[7, 8,9]}\n";
	const char		*out;
	char			 got[512];
	size_t			 outlen;

	memset(&r, 0, sizeof(r));
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_COMPLETIONS);
	assert_int_equal(guard_ollama_line(go, line, strlen(line), &out,
	    &outlen), GUARD_REDACTED);
	assert_true(outlen < sizeof(got));
	memcpy(got, out, outlen);
	got[outlen] = '\0';
	assert_string_equal(got, "{\"model\":\"m\",\"response\":\"k "
	    "[REDACTED:SECRET]\",\"done\":true,\"context\":[]}\n");
	guard_ollama_free(go);
	line = "{\"model\":\"m\",\"response\":\"\",\"done\":true,"
	    "\"context\":[1]}\n";
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_COMPLETIONS);
	assert_int_equal(guard_ollama_line(go, line, strlen(line), &out,
	    &outlen), GUARD_REDACTED);
	assert_int_equal(outlen, strlen(line) - 1);
	assert_memory_equal(out, "{\"model\":\"m\",\"response\":\"\","
	    "\"done\":true,\"context\":[]}\n", outlen);
	guard_ollama_free(go);
}

/*
 * An Ollama chat stream that thinks, then answers: the thinking split at
 * every offset over two lines, then the answer, then the last line. What
 * all the lines' thinking says, and their content.
 */
static void
ollama_think_stream(struct fixture *f, const char *think, size_t cut,
    char *thought, char *said, size_t len, enum guard_result *last)
{
	struct guard_report	 r;
	struct guard_ollama	*go;
	const char		*out;
	char			 in[4][512], all[8192], *p, *nl;
	size_t			 i, outlen, alllen = 0;
	enum guard_result	 res = GUARD_PASS;

	snprintf(in[0], sizeof(in[0]), "{\"model\":\"m\",\"message\":{"
	    "\"role\":\"assistant\",\"content\":\"\",\"thinking\":"
	    "\"%.*s\"},\"done\":false}\n", (int)cut, think);
	snprintf(in[1], sizeof(in[1]), "{\"model\":\"m\",\"message\":{"
	    "\"role\":\"assistant\",\"content\":\"\",\"thinking\":"
	    "\"%s\"},\"done\":false}\n", think + cut);
	snprintf(in[2], sizeof(in[2]), "{\"model\":\"m\",\"message\":{"
	    "\"role\":\"assistant\",\"content\":\"fine\"},"
	    "\"done\":false}\n");
	snprintf(in[3], sizeof(in[3]), "{\"model\":\"m\",\"message\":{"
	    "\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
	    "\"done_reason\":\"stop\"}\n");
	memset(&r, 0, sizeof(r));
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_CHAT);
	for (i = 0; i < 4 && res != GUARD_BLOCKED; i++) {
		res = guard_ollama_line(go, in[i], strlen(in[i]), &out,
		    &outlen);
		assert_true(alllen + outlen < sizeof(all));
		memcpy(all + alllen, out, outlen);
		alllen += outlen;
	}
	guard_ollama_free(go);
	all[alllen] = '\0';
	*last = res;
	*thought = *said = '\0';
	for (p = all; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		cJSON	*o = cJSON_ParseWithLength(p, nl - p), *m, *t;

		assert_non_null(o);
		m = cJSON_GetObjectItem(o, "message");
		if (cJSON_IsString(t = cJSON_GetObjectItem(m, "thinking")))
			strncat(thought, t->valuestring, len - strlen(thought)
			    - 1);
		if (cJSON_IsString(t = cJSON_GetObjectItem(m, "content")))
			strncat(said, t->valuestring, len - strlen(said) - 1);
		cJSON_Delete(o);
	}
}

static void
test_ollama_stream_thinking(void **state)
{
	struct fixture		*f = *state;
	const char		*think = "use " SECRET " here";
	char			 thought[1024], said[1024];
	size_t			 cut;
	enum guard_result	 last;

	for (cut = 0; cut <= strlen(think); cut++) {
		ollama_think_stream(f, think, cut, thought, said,
		    sizeof(thought), &last);
		if (strcmp(thought, "use [REDACTED:SECRET] here") != 0)
			fail_msg("cut at %zu: \"%s\"", cut, thought);
		assert_string_equal(said, "fine");
		assert_int_not_equal(last, GUARD_BLOCKED);
	}
	ollama_think_stream(f, "pay with " CARD " now", 12, thought, said,
	    sizeof(thought), &last);
	assert_int_equal(last, GUARD_BLOCKED);
	assert_null(strstr(thought, "1111"));
	assert_string_equal(said, "");
}

/*
 * Ollama's tool calls: every string in their arguments object is read,
 * in a buffered answer and in a stream's line (a call comes whole).
 */
static void
test_ollama_tool_calls(void **state)
{
	static const char	 calls[] = "{\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
	    "\"arguments\":{\"key\":\"" SECRET "\",\"n\":2,\"deep\":"
	    "{\"list\":[\"a\",\"k " SECRET "\"],\"" SECRET "\":1}}}}]},"
	    "\"done\":%s}";
	static const char	 want[] = "{\"message\":{\"role\":\"assistant\","
	    "\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
	    "\"arguments\":{\"key\":\"[REDACTED:SECRET]\",\"n\":2,\"deep\":"
	    "{\"list\":[\"a\",\"k [REDACTED:SECRET]\"],"
	    "\"[REDACTED:SECRET]\":1}}}}]},\"done\":%s}";
	static const char	 card[] = "{\"message\":{\"content\":\"ok\","
	    "\"tool_calls\":[{\"function\":{\"arguments\":{\"n\":\"" CARD
	    "\"}}}]},\"done\":true,\"done_reason\":\"stop\"}";
	/*
	 * Two secrets as keys of one object redact to the same key: the
	 * call is blocked, not sent with one member lost.
	 */
	static const char	 twin_keys[] = "{\"message\":{\"content\":"
	    "\"ok\",\"tool_calls\":[{\"function\":{\"arguments\":{\""
	    SECRET "\":1,\"sk-zyx987WVU654tsr321QPO0nml\":2}}}]},"
	    "\"done\":true,\"done_reason\":\"stop\"}";
	/* The same card as a key: blocked too. */
	static const char	 card_key[] = "{\"message\":{\"content\":"
	    "\"ok\",\"tool_calls\":[{\"function\":{\"arguments\":{\""
	    CARD "\":1}}}]},\"done\":true,\"done_reason\":\"stop\"}";
	static const char *const bad[] = {
		"{\"message\":{\"content\":\"\",\"tool_calls\":{\"x\":1}},"
		"\"done\":true}",
		"{\"message\":{\"content\":\"\",\"tool_calls\":[\"" SECRET
		"\"]},\"done\":true}",
		"{\"message\":{\"content\":\"\",\"tool_calls\":[{\"function\":"
		"{\"arguments\":[\"" SECRET "\"]}}]},\"done\":true}",
	};
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct guard_ollama	*go;
	char			 in[1024], exp[1024], *out;
	const char		*o;
	size_t			 outlen, i;

	memset(&r, 0, sizeof(r));
	snprintf(in, sizeof(in), calls, "true");
	snprintf(exp, sizeof(exp), want, "true");
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT, in,
	    strlen(in), &out, &outlen, &r), GUARD_REDACTED);
	assert_int_equal(outlen, strlen(exp));
	assert_memory_equal(out, exp, outlen);
	free(out);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT, card,
	    strlen(card), &out, &outlen, &r), GUARD_BLOCKED);
	assert_non_null(out);
	snprintf(exp, sizeof(exp), "{\"message\":{\"content\":\"\","
	    "\"tool_calls\":[]},\"done\":true,\"done_reason\":"
	    "\"content_filter\"}");
	if (outlen != strlen(exp) || memcmp(out, exp, outlen) != 0)
		fail_msg("%.*s", (int)outlen, out);
	free(out);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT,
	    card_key, strlen(card_key), &out, &outlen, &r), GUARD_BLOCKED);
	if (outlen != strlen(exp) || memcmp(out, exp, outlen) != 0)
		fail_msg("%.*s", (int)outlen, out);
	free(out);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT,
	    twin_keys, strlen(twin_keys), &out, &outlen, &r), GUARD_BLOCKED);
	if (outlen != strlen(exp) || memcmp(out, exp, outlen) != 0)
		fail_msg("%.*s", (int)outlen, out);
	free(out);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT,
		    bad[i], strlen(bad[i]), &out, &outlen, &r), GUARD_FAILED);

	/* A stream's line: redacted in place, then the last line as is. */
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_CHAT);
	snprintf(in, sizeof(in), calls, "false");
	snprintf(exp, sizeof(exp), want, "false");
	assert_int_equal(guard_ollama_line(go, in, strlen(in), &o, &outlen),
	    GUARD_REDACTED);
	assert_int_equal(outlen, strlen(exp));
	assert_memory_equal(o, exp, outlen);
	snprintf(in, sizeof(in), "{\"message\":{\"content\":\"\"},"
	    "\"done\":true}");
	assert_int_equal(guard_ollama_line(go, in, strlen(in), &o, &outlen),
	    GUARD_PASS);
	guard_ollama_free(go);
	/* A card in one ends the stream; an unreadable call fails it. */
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_CHAT);
	assert_int_equal(guard_ollama_line(go, card, strlen(card), &o,
	    &outlen), GUARD_BLOCKED);
	assert_non_null(strstr(o, "\"done_reason\":\"content_filter\""));
	assert_null(memmem(o, outlen, "1111", 4));
	guard_ollama_free(go);
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_CHAT);
	assert_int_equal(guard_ollama_line(go, bad[2], strlen(bad[2]), &o,
	    &outlen), GUARD_BLOCKED);
	assert_non_null(memmem(o, outlen, "\"error\"", 7));
	guard_ollama_free(go);
}

static void
test_ollama_input(void **state)
{
	struct fixture		*f = *state;
	struct guard_report	 r;
	const char		*sys = "{\"model\":\"m\",\"prompt\":\"hi\","
				    "\"system\":\"" CARD "\"}";
	const char		*img = "{\"model\":\"m\",\"messages\":[{\"role\":"
				    "\"user\",\"content\":\"hi\",\"images\":[\""
				    SECRET "\"]}]}";
	const char		*png = "{\"model\":\"m\",\"messages\":[{\"role\":"
				    "\"user\",\"content\":\"hi\",\"images\":[\""
				    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
				    "\"]}]}";
	char			*out;

	assert_int_equal(input_route(f, sys, 1, &out, &r), GUARD_BLOCKED);
	/* An image is not text; a secret in its place is. */
	assert_int_equal(input_route(f, png, 1, &out, &r), GUARD_PASS);
	assert_null(out);
	assert_int_equal(input_route(f, img, 1, &out, &r), GUARD_REDACTED);
	assert_non_null(strstr(out, "\"images\":[\"[REDACTED:SECRET]\"]"));
	free(out);
}

/*
 * A buffered answer (guard_answer_body): exactly the backend's bytes but
 * the texts that change, and finish_reason where a text is blocked, in
 * place or added; texts in any order of members, choices mixed.
 */
static void
test_body_edits(void **state)
{
	static const struct {
		enum route_kind		 route;
		const char		*in;
		enum guard_result	 res;
		const char		*out;	/* NULL: as it came */
	} cases[] = {
		{ ROUTE_CHAT, "{\"id\":\"x\",\"choices\":[{\"index\":0,"
		  "\"message\":{\"role\":\"assistant\",\"content\":\"k "
		  SECRET "\"},\"finish_reason\":\"stop\"}],\"usage\":"
		  "{\"total_tokens\":1.50e1}}", GUARD_REDACTED,
		  "{\"id\":\"x\",\"choices\":[{\"index\":0,"
		  "\"message\":{\"role\":\"assistant\",\"content\":\"k "
		  "[REDACTED:SECRET]\"},\"finish_reason\":\"stop\"}],\"usage\":"
		  "{\"total_tokens\":1.50e1}}" },
		/* Blocked, its reason before the message, then after none. */
		{ ROUTE_CHAT, "{\"choices\":[{\"finish_reason\":\"length\","
		  "\"message\":{\"content\":\"pay " CARD "\"}},"
		  "{ \"message\" : {\"content\":\"k " SECRET "\"} } ]}",
		  GUARD_BLOCKED,
		  "{\"choices\":[{\"finish_reason\":\"content_filter\","
		  "\"message\":{\"content\":\"\"}},"
		  "{ \"message\" : {\"content\":\"k [REDACTED:SECRET]\"} } ]}" },
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"content\":"
		  "\"" CARD "\"}}]}", GUARD_BLOCKED,
		  "{\"choices\":[{\"message\":{\"content\":\"\"}"
		  ",\"finish_reason\":\"content_filter\"}]}" },
		{ ROUTE_COMPLETIONS, "{\"choices\":[{\"text\":\"a\\u00e9 "
		  SECRET "\",\"index\":0,\"finish_reason\":null}]}",
		  GUARD_REDACTED, "{\"choices\":[{\"text\":\"a\xc3\xa9 "
		  "[REDACTED:SECRET]\",\"index\":0,\"finish_reason\":null}]}" },
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"content\":"
		  "\"hello\"}},{\"message\":{\"content\":null}}]}",
		  GUARD_PASS, NULL },
		/* A tool call's arguments are text too: JSON in a string. */
		{ ROUTE_CHAT, "{\"choices\":[{\"index\":0,\"message\":{"
		  "\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
		  "\"type\":\"function\",\"function\":{\"name\":\"f\","
		  "\"arguments\":\"{\\\"key\\\":\\\"" SECRET "\\\"}\"}},"
		  "{\"id\":\"c2\",\"function\":{\"arguments\":\"{}\"}}]},"
		  "\"finish_reason\":\"tool_calls\"}]}", GUARD_REDACTED,
		  "{\"choices\":[{\"index\":0,\"message\":{"
		  "\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
		  "\"type\":\"function\",\"function\":{\"name\":\"f\","
		  "\"arguments\":\"{\\\"key\\\":\\\"[REDACTED:SECRET]\\\"}\"}},"
		  "{\"id\":\"c2\",\"function\":{\"arguments\":\"{}\"}}]},"
		  "\"finish_reason\":\"tool_calls\"}]}" },
		/* A block in one empties the choice's tool calls. */
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"content\":null,"
		  "\"tool_calls\":[{\"function\":{\"arguments\":\"" SECRET
		  "\"}},{\"function\":{\"arguments\":\"{\\\"n\\\":\\\""
		  CARD "\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
		  GUARD_BLOCKED, "{\"choices\":[{\"message\":{\"content\":null,"
		  "\"tool_calls\":[]},\"finish_reason\":\"content_filter\"}]}" },
		/* Tool calls before the text: both edits, in their order. */
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"tool_calls\":"
		  "[{\"function\":{\"arguments\":\"" SECRET "\"}}],"
		  "\"content\":\"k " SECRET "\"}}]}", GUARD_REDACTED,
		  "{\"choices\":[{\"message\":{\"tool_calls\":"
		  "[{\"function\":{\"arguments\":\"[REDACTED:SECRET]\"}}],"
		  "\"content\":\"k [REDACTED:SECRET]\"}}]}" },
		/* The model wrote its reasoning and refusal too. */
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"content\":\"ok\","
		  "\"reasoning_content\":\"k " SECRET "\",\"refusal\":null,"
		  "\"reasoning\":\"mail a@b.io\"}}]}", GUARD_REDACTED,
		  "{\"choices\":[{\"message\":{\"content\":\"ok\","
		  "\"reasoning_content\":\"k [REDACTED:SECRET]\",\"refusal\":"
		  "null,\"reasoning\":\"mail [REDACTED:EMAIL]\"}}]}" },
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"reasoning\":"
		  "\"use " CARD "\",\"content\":\"k " SECRET "\",\"refusal\":"
		  "\"no " SECRET "\"},\"finish_reason\":\"stop\"}]}",
		  GUARD_BLOCKED, "{\"choices\":[{\"message\":{\"reasoning\":"
		  "\"\",\"content\":\"\",\"refusal\":\"\"},"
		  "\"finish_reason\":\"content_filter\"}]}" },
		/* A block in the text empties the reasoning too. */
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"reasoning\":"
		  "\"fine\",\"content\":\"" CARD "\"}}]}", GUARD_BLOCKED,
		  "{\"choices\":[{\"message\":{\"reasoning\":\"\","
		  "\"content\":\"\"},\"finish_reason\":\"content_filter\"}]}" },
		/* A blocked text takes the redacted tool calls with it. */
		{ ROUTE_CHAT, "{\"choices\":[{\"message\":{\"tool_calls\":"
		  "[{\"function\":{\"arguments\":\"" SECRET "\"}}],"
		  "\"content\":\"" CARD "\"}}]}", GUARD_BLOCKED,
		  "{\"choices\":[{\"message\":{\"tool_calls\":[],"
		  "\"content\":\"\"},\"finish_reason\":\"content_filter\"}]}" },
	};
	struct fixture		*f = *state;
	struct guard_report	 r;
	char			*out;
	size_t			 outlen, i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(guard_answer_body(&f->m.guard_out,
		    cases[i].route, cases[i].in, strlen(cases[i].in), &out,
		    &outlen, &r), cases[i].res);
		if (cases[i].out == NULL) {
			assert_null(out);
			continue;
		}
		assert_non_null(out);
		if (outlen != strlen(cases[i].out) ||
		    memcmp(out, cases[i].out, outlen) != 0)
			fail_msg("case %zu: %.*s", i, (int)outlen, out);
		free(out);
	}
	/* 40 texts that pass go as they came; 33 to change fail closed. */
	for (i = 0; i < 2; i++) {
		char	body[4096];
		size_t	n, k, len = 0;

		n = i == 0 ? 40 : GUARD_EDITS_MAX + 1;
		len += snprintf(body + len, sizeof(body) - len, "{\"choices\":[");
		for (k = 0; k < n; k++)
			len += snprintf(body + len, sizeof(body) - len,
			    "%s{\"message\":{\"content\":\"%s\"}}",
			    k > 0 ? "," : "", i == 0 ? "hi" : "k " SECRET);
		len += snprintf(body + len, sizeof(body) - len, "]}");
		assert_true(len < sizeof(body));
		memset(&r, 0, sizeof(r));
		assert_int_equal(guard_answer_body(&f->m.guard_out, ROUTE_CHAT,
		    body, len, &out, &outlen, &r), i == 0 ? GUARD_PASS :
		    GUARD_FAILED);
		assert_null(out);
	}
}

/*
 * The walk hands the meter the answer's usage object; the meter reads
 * the same counts from it as it finds by itself, and the whole answer
 * when it keeps the text.
 */
static void
test_body_usage(void **state)
{
	static const char	 a[] = "{\"choices\":[{\"message\":{"
	    "\"content\":\"say \\\"usage\\\":{}\"}}],\"usage\":{"
	    "\"prompt_tokens\":40,\"completion_tokens\":12,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":8}},\"x\":1}";
	static const char	 none[] = "{\"choices\":[],\"usage\":null}";
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct jscan_span	 usage;
	struct meter		 m;
	char			*out;
	size_t			 outlen;

	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_answer_body_usage(&f->m.guard_out, ROUTE_CHAT,
	    a, strlen(a), &out, &outlen, &r, &usage), GUARD_PASS);
	assert_true(usage.present);
	assert_int_equal(usage.end - usage.start, strlen("{\"prompt_tokens\":"
	    "40,\"completion_tokens\":12,\"prompt_tokens_details\":"
	    "{\"cached_tokens\":8}}"));
	assert_memory_equal(a + usage.start, "{\"prompt_tokens\":40",
	    strlen("{\"prompt_tokens\":40"));
	meter_init(&m, 0);
	meter_answer_usage(&m, a, strlen(a), &usage);
	assert_true(m.has_usage);
	assert_int_equal(m.prompt_tokens, 40);
	assert_int_equal(m.completion_tokens, 12);
	assert_int_equal(m.cached_tokens, 8);
	meter_clear(&m);
	meter_init(&m, 1);
	meter_answer_usage(&m, a, strlen(a), &usage);
	assert_int_equal(m.prompt_tokens, 40);
	assert_string_equal(m.text, "say \"usage\":{}");
	meter_clear(&m);

	/* None, or an answer not walked: the meter reads it itself. */
	assert_int_equal(guard_answer_body_usage(&f->m.guard_out, ROUTE_CHAT,
	    none, strlen(none), &out, &outlen, &r, &usage), GUARD_PASS);
	assert_false(usage.present);
	assert_int_equal(guard_answer_body_usage(&f->m.guard_out, ROUTE_CHAT,
	    "{\"usage\":{}}", 12, &out, &outlen, &r, &usage), GUARD_FAILED);
	assert_false(usage.present);
	meter_init(&m, 0);
	meter_answer_usage(&m, a, strlen(a), &usage);
	assert_int_equal(m.prompt_tokens, 40);
	meter_clear(&m);
}

/*
 * An answer the output guardrails cannot read is not delivered: a
 * buffered one fails (the proxy answers 502), whatever it holds.
 */
static void
test_body_unreadable(void **state)
{
	static const char *const bad[] = {
		"not json",
		"{\"choices\":[{\"message\":{\"content\":\"" SECRET,
		"<html>413</html>",
		/* cJSON reads the first, a client the last. */
		"{\"choices\":[{\"message\":{\"content\":\"ok\",\"content\":"
		"\"" SECRET "\"}}]}",
		/* cJSON's string ends at the NUL; the client's does not. */
		"{\"choices\":[{\"message\":{\"content\":\"ok\\u0000 " SECRET
		"\"}}]}",
		"{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\","
		"\"text\":\"" SECRET "\"}]}}]}",
		"{\"choices\":[\"" SECRET "\"]}",
		"{\"choices\":[{\"message\":\"" SECRET "\"}]}",
		"{\"answer\":\"" SECRET "\"}",
		"{\"choices\":{\"message\":{\"content\":\"" SECRET "\"}}}",
		/* Arguments that are no string, tool calls no objects. */
		"{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":"
		"{\"arguments\":{\"k\":\"" SECRET "\"}}}]}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":[\"" SECRET
		"\"]}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":{\"function\":"
		"{\"arguments\":\"" SECRET "\"}}}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":"
		"\"" SECRET "\"}]}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":"
		"{\"arguments\":\"ok\\u0000 " SECRET "\"}}]}}]}",
	};
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct guard_list	 none = { NULL, 0 };
	char			*out;
	size_t			 outlen, i;
	const char		*calls = "{\"choices\":[{\"message\":{\"content\":"
				    "null,\"tool_calls\":[]},\"finish_reason\":"
				    "\"tool_calls\"}]}";
	const char		*vec = "{\"data\":[{\"embedding\":[0.1]}]}";

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		if (guard_answer_body(&f->m.guard_out, ROUTE_CHAT, bad[i],
		    strlen(bad[i]), &out, &outlen, &r) != GUARD_FAILED)
			fail_msg("delivered: %s", bad[i]);
		assert_null(out);
		/* Without output guardrails it goes as it came. */
		assert_int_equal(guard_answer_body(&none, ROUTE_CHAT, bad[i],
		    strlen(bad[i]), &out, &outlen, &r), GUARD_PASS);
	}
	assert_int_equal(guard_answer_body(&f->m.guard_out, ROUTE_CHAT, calls,
	    strlen(calls), &out, &outlen, &r), GUARD_PASS);
	assert_int_equal(guard_answer_body(&f->m.guard_out, ROUTE_EMBEDDINGS,
	    vec, strlen(vec), &out, &outlen, &r), GUARD_PASS);
	assert_int_equal(guard_answer_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    "{\"choices\":[{\"text\":7}]}", 24, &out, &outlen, &r),
	    GUARD_FAILED);
	for (i = 0; i < 3; i++) {
		assert_int_equal(guard_ollama_body(&f->m.guard_out,
		    i == 2 ? ROUTE_COMPLETIONS : ROUTE_CHAT, bad[i == 0 ? 0 :
		    4], strlen(bad[i == 0 ? 0 : 4]), &out, &outlen, &r),
		    GUARD_FAILED);
		assert_null(out);
	}
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT,
	    "{\"message\":{\"content\":\"a\",\"content\":\"b\"}}", 41, &out,
	    &outlen, &r), GUARD_FAILED);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_COMPLETIONS,
	    "{\"done\":true}", 13, &out, &outlen, &r), GUARD_FAILED);
	assert_int_equal(guard_ollama_body(&f->m.guard_out, ROUTE_CHAT,
	    "{\"message\":{\"role\":\"assistant\"}}", 32, &out, &outlen,
	    &r), GUARD_FAILED);
}

/*
 * A stream event that cannot be read ends the stream with an error
 * event; what its filters held is never released.
 */
static void
test_stream_unreadable(void **state)
{
	static const char *const bad[] = {
		"data: {\"choices\":[{\"delta\":{\"content\":\"" SECRET
		"\"}}\n\n",
		"data: <html>\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"x\",\"content\":"
		"\"" SECRET "\"}}]}\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":[\"" SECRET
		"\"]}}]}\n\n",
		"data: {\"choices\":[{\"delta\":\"" SECRET "\"}]}\n\n",
		"data: {\"choices\":[\"" SECRET "\"]}\n\n",
		"data: {\"error\":{\"message\":\"" SECRET "\"}}\n\n",
	};
	const char		*held = "data: {\"choices\":[{\"index\":0,"
				    "\"delta\":{\"content\":\"key sk-abc123\"}}]}\n\n";
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct guard_answer	*ga;
	const char		*out;
	size_t			 outlen, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		ga = guard_answer_new(&f->m.guard_out, &r, ROUTE_CHAT);
		/* A key's first bytes, held back by the filter. */
		assert_int_equal(guard_answer_event(ga, held, strlen(held),
		    &out, &outlen), GUARD_REDACTED);
		assert_null(memmem(out, outlen, "sk-abc", 6));
		if (guard_answer_event(ga, bad[i], strlen(bad[i]), &out,
		    &outlen) != GUARD_BLOCKED)
			fail_msg("relayed: %s", bad[i]);
		assert_int_equal(strncmp(out, "data: {\"error\":", 15), 0);
		assert_non_null(memmem(out, outlen, "\"upstream_error\"", 16));
		assert_non_null(memmem(out, outlen, GUARD_UNCHECKED,
		    strlen(GUARD_UNCHECKED)));
		assert_null(memmem(out, outlen, "sk-abc", 6));
		assert_int_equal(guard_answer_finish(ga, &out, &outlen),
		    GUARD_BLOCKED);
		assert_int_equal(outlen, 0);
		guard_answer_free(ga);
	}
}

/* The same for an Ollama stream: an error line ends it. */
static void
test_ollama_stream_unreadable(void **state)
{
	static const char *const bad[] = {
		"{\"message\":{\"content\":\"" SECRET "\"",
		"{\"message\":{\"content\":\"x\",\"content\":\"" SECRET
		"\"},\"done\":false}",
		"{\"message\":{\"content\":[\"" SECRET "\"]},\"done\":false}",
		"{\"message\":\"" SECRET "\",\"done\":false}",
		"{\"error\":\"" SECRET "\"}",
	};
	struct fixture		*f = *state;
	struct guard_report	 r;
	struct guard_ollama	*go;
	const char		*out;
	size_t			 outlen, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_CHAT);
		if (guard_ollama_line(go, bad[i], strlen(bad[i]), &out,
		    &outlen) != GUARD_BLOCKED)
			fail_msg("relayed: %s", bad[i]);
		assert_int_equal(strncmp(out, "{\"error\":\"" GUARD_UNCHECKED
		    "\"}\n", outlen), 0);
		assert_int_equal(guard_ollama_finish(go, &out, &outlen),
		    GUARD_BLOCKED);
		assert_int_equal(outlen, 0);
		guard_ollama_free(go);
	}
	/* Generate's lines carry "response"; one without cannot be read. */
	go = guard_ollama_new(&f->m.guard_out, &r, ROUTE_COMPLETIONS);
	assert_int_equal(guard_ollama_line(go, "{\"done\":false}", 14, &out,
	    &outlen), GUARD_BLOCKED);
	guard_ollama_free(go);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guard_everywhere, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_guard_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_guard_rebase, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_guard_many_redactions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_guard_token_ids, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stream_split, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stream_reasoning, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ollama_stream_thinking,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_stream_context,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_tool_calls,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_block, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stream_passthrough, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ollama_stream_redact,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_stream_block,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_usage,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_tool_calls,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ollama_body, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ollama_input, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_edits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stream_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ollama_stream_unreadable,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_overhead, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
