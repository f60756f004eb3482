/*
 * cubectl model chat: the playground from a shell. One question, asked
 * through the agent's pipeline with model.chat; the answer is printed as
 * it streams, the request id, tokens and cost after it on stderr.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define CHAT_MAX_MESSAGE	(1024 * 1024)	/* bytes of the question */
#define CHAT_TIMEOUT_MS		(10 * 60 * 1000)	/* a long answer */

struct cmd_chat_out {
	int	 json;		/* -o json: print only the result */
	int	 tty;		/* stdout is a terminal: no control bytes */
	char	 last;		/* the last byte printed */
};

/* Print a piece of the answer; a terminal gets no escape sequences. */
static void
cmd_chat_print(struct cmd_chat_out *o, const char *s)
{
	unsigned char	ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if (o->tty && ch != '\n' && ch != '\t' && (ch < 0x20 ||
		    ch == 0x7f))
			ch = '?';
		putchar(ch);
		o->last = (char)ch;
	}
	fflush(stdout);
}

static void
cmd_chat_notify(const char *method, const cJSON *params, void *arg)
{
	struct cmd_chat_out	*o = arg;
	const cJSON		*content;

	if (o->json || strcmp(method, "model.chat.delta") != 0)
		return;
	content = cJSON_GetObjectItemCaseSensitive(params, "content");
	if (cJSON_IsString(content))
		cmd_chat_print(o, content->valuestring);
}

/* The question: the argument, else stdin (without its last newline). */
static char *
cmd_chat_message(const struct cmd_entry *ce, const struct args *a, int *rc)
{
	char	*buf;
	size_t	 len = 0, n;

	*rc = EXIT_OK;
	if (a->npositional > 1)
		buf = xstrdup(a->positional[1]);
	else {
		buf = xmalloc(CHAT_MAX_MESSAGE + 1);
		while (len < CHAT_MAX_MESSAGE && (n = fread(buf + len, 1,
		    CHAT_MAX_MESSAGE - len, stdin)) > 0)
			len += n;
		if (ferror(stdin) || (len == CHAT_MAX_MESSAGE &&
		    fgetc(stdin) != EOF)) {
			free(buf);
			output_error("the message on stdin is unreadable or"
			    " over %d bytes", CHAT_MAX_MESSAGE);
			*rc = EXIT_USAGE;
			return NULL;
		}
		while (len > 0 && (buf[len - 1] == '\n' ||
		    buf[len - 1] == '\r'))
			len--;
		buf[len] = '\0';
	}
	if (buf[0] == '\0') {
		free(buf);
		*rc = cmd_usage_error(ce, "no message: give it as an argument"
		    " or on stdin");
		return NULL;
	}
	return buf;
}

static cJSON *
cmd_chat_turn(const char *role, const char *content)
{
	cJSON	*m;

	if ((m = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(m, "role", role) == NULL ||
	    cJSON_AddStringToObject(m, "content", content) == NULL)
		fatalx("%s: out of memory", __func__);
	return m;
}

/* The exit status for a refusal, by the status a client would have had. */
static int
cmd_chat_exit(const cJSON *result)
{
	const cJSON	*status = cJSON_GetObjectItemCaseSensitive(result,
			    "status");
	int		 s = cJSON_IsNumber(status) ? status->valueint : 0;

	if (s == 404)
		return EXIT_NOT_FOUND;
	if (s == 401 || s == 403)
		return EXIT_DENIED;
	return EXIT_FAILED;
}

/* "request 9f0c...  tokens 9 in, 3 out  cost $0.000012" on stderr. */
static void
cmd_chat_summary(const cJSON *result)
{
	const cJSON	*id, *usage, *in, *out, *cost, *finish;

	id = cJSON_GetObjectItemCaseSensitive(result, "request_id");
	usage = cJSON_GetObjectItemCaseSensitive(result, "usage");
	in = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
	out = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
	cost = cJSON_GetObjectItemCaseSensitive(result, "cost_usd");
	finish = cJSON_GetObjectItemCaseSensitive(result, "finish_reason");
	fprintf(stderr, "request %s", cJSON_IsString(id) ? id->valuestring :
	    "-");
	if (cJSON_IsNumber(in) && cJSON_IsNumber(out))
		fprintf(stderr, "  tokens %d in, %d out", in->valueint,
		    out->valueint);
	else
		fprintf(stderr, "  tokens unknown");
	if (cJSON_IsString(cost))
		fprintf(stderr, "  cost $%s", cost->valuestring);
	if (cJSON_IsString(finish) && strcmp(finish->valuestring, "stop") != 0)
		fprintf(stderr, "  finish %s", finish->valuestring);
	fputc('\n', stderr);
}

int
cmd_chat(struct cubectl *c, const struct cmd_entry *ce, const struct args *a)
{
	struct cmd_chat_out	 o;
	const struct args_value	*sys = args_get(a, "--system");
	const cJSON		*error, *msg, *content;
	cJSON			*params, *messages, *result;
	char			*text;
	int			 rc;

	if ((text = cmd_chat_message(ce, a, &rc)) == NULL)
		return rc;
	memset(&o, 0, sizeof(o));
	o.json = c->output == CUBECTL_JSON;
	o.tty = isatty(STDOUT_FILENO);
	params = cmd_params(ce, a);
	messages = cJSON_AddArrayToObject(params, "messages");
	if (messages == NULL)
		fatalx("%s: out of memory", __func__);
	if (sys != NULL)
		cJSON_AddItemToArray(messages, cmd_chat_turn("system",
		    sys->string));
	cJSON_AddItemToArray(messages, cmd_chat_turn("user", text));
	explicit_bzero(text, strlen(text));
	free(text);

	if (c->timeout_ms >= 0 && c->timeout_ms < CHAT_TIMEOUT_MS)
		c->timeout_ms = CHAT_TIMEOUT_MS;
	if ((rc = client_open(c)) != EXIT_OK) {
		cJSON_Delete(params);
		return rc;
	}
	rpc_client_set_notify(c->rpc, cmd_chat_notify, &o);
	if ((rc = client_call(c, ce->method, params, &result)) != EXIT_OK)
		return rc;
	error = cJSON_GetObjectItemCaseSensitive(result, "error");
	if (o.json) {
		output_json(result);
		rc = error != NULL ? cmd_chat_exit(result) : EXIT_OK;
		cJSON_Delete(result);
		return rc;
	}
	/* Not streamed (never, from here): the whole answer at once. */
	content = cJSON_GetObjectItemCaseSensitive(result, "content");
	if (cJSON_IsString(content))
		cmd_chat_print(&o, content->valuestring);
	if (o.last != '\0' && o.last != '\n')
		cmd_chat_print(&o, "\n");
	if (error != NULL) {
		msg = cJSON_GetObjectItemCaseSensitive(error, "message");
		output_error("%s", cJSON_IsString(msg) ? msg->valuestring :
		    "the request failed");
		rc = cmd_chat_exit(result);
	}
	cmd_chat_summary(result);
	cJSON_Delete(result);
	return rc;
}
