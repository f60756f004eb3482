/*
 * A backend's error answer retold in the route's error shape, so that
 * every error a client sees is an OpenAI error object (Ollama's on its
 * routes), whatever a backend or the proxy in front of it sent: the
 * backend's own words when its body is an error object, else ours. Never
 * its raw bytes. Worker threads.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"

#define BACKEND_ERROR_DEPTH	32
#define BACKEND_ERROR_MESSAGE	2048	/* bytes of a backend's message */
#define BACKEND_ERROR_WORD	64	/* bytes of its type, param, code */

/* What a backend's error object says, each field checked. */
struct backend_error {
	char	message[BACKEND_ERROR_MESSAGE];
	char	type[BACKEND_ERROR_WORD];	/* "": ours */
	char	param[BACKEND_ERROR_WORD];	/* "": null */
	char	code[BACKEND_ERROR_WORD];	/* "": null */
};

/* A string span unescaped into dst, cut at a NUL; 0 when it is none. */
static int
backend_error_string(const char *body, const struct jscan_span *s,
    char *dst, size_t len)
{
	if (!s->present || s->type != JSCAN_STRING ||
	    jscan_string(body, s, dst, len) < 0)
		return 0;
	return dst[0] != '\0';
}

/* type and code are identifiers; param a short line of visible ASCII. */
static void
backend_error_word(const char *body, const struct jscan_span *s, char *dst,
    int ident)
{
	const unsigned char	*p;

	if (!backend_error_string(body, s, dst, BACKEND_ERROR_WORD))
		goto bad;
	for (p = (const unsigned char *)dst; *p != '\0'; p++) {
		if (ident && !((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-' || *p == '.'))
			goto bad;
		if (*p < 0x20 || *p > 0x7e)
			goto bad;
	}
	return;
bad:
	dst[0] = '\0';
}

/*
 * The error object of an OpenAI-compatible backend, {"error":{"message",
 * "type","param","code"}}; vLLM's older {"object":"error","message",...};
 * or Ollama's {"error":"..."}. 0 with e filled, or -1.
 */
static int
backend_error_parse(const char *body, size_t len, struct backend_error *e)
{
	struct jscan_span	 error, message, object, type, param, code;
	struct jscan_span	 inner;
	struct jscan_want	 want[] = {
		{ "error", &error },
		{ "message", &message },
		{ "object", &object },
		{ "type", &type },
		{ "param", &param },
		{ "code", &code },
	};
	const struct jscan_span	*t = &type, *p = &param, *c = &code;

	memset(e, 0, sizeof(*e));
	if (body == NULL || jscan_object(body, len, BACKEND_ERROR_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), NULL, 0) == -1)
		return -1;
	if (error.present && error.type == JSCAN_OBJECT) {
		if (!jscan_object_get(body, &error, "message", &inner) ||
		    !backend_error_string(body, &inner, e->message,
		    sizeof(e->message)))
			return -1;
		if (!jscan_object_get(body, &error, "type", &type))
			type.present = 0;
		if (!jscan_object_get(body, &error, "param", &param))
			param.present = 0;
		if (!jscan_object_get(body, &error, "code", &code))
			code.present = 0;
	} else if (error.present) {
		if (!backend_error_string(body, &error, e->message,
		    sizeof(e->message)))
			return -1;
		t = p = c = NULL;
	} else if (!object.present || !jscan_string_eq(body, &object,
	    "error", 5) || !backend_error_string(body, &message, e->message,
	    sizeof(e->message)))
		return -1;
	if (t != NULL) {
		backend_error_word(body, t, e->type, 1);
		backend_error_word(body, p, e->param, 0);
		backend_error_word(body, c, e->code, 1);
	}
	return 0;
}

/* A JSON string for s, or null when it is empty, at dst (room: len). */
static size_t
backend_error_quote(char *dst, size_t len, const char *s)
{
	if (s[0] == '\0')
		return (size_t)snprintf(dst, len, "null");
	return jscan_quote(dst, len, s, strlen(s));
}

size_t
backend_error_body(char *buf, size_t len, int ollama, const char *body,
    size_t body_len, enum api_error fallback, const char *message)
{
	struct backend_error	 e;
	char			 msg[6 * BACKEND_ERROR_MESSAGE + 3];
	char			 type[6 * BACKEND_ERROR_WORD + 3];
	char			 param[sizeof(type)], code[sizeof(type)];
	int			 rc;

	if (backend_error_parse(body, body_len, &e) == -1) {
		if (ollama)
			return ollama_error_body(buf, len, message);
		return api_error_body(buf, len, fallback, NULL, message);
	}
	jscan_quote(msg, sizeof(msg), e.message, strlen(e.message));
	if (ollama)
		rc = snprintf(buf, len, "{\"error\":%s}", msg);
	else {
		if (e.type[0] == '\0')
			snprintf(e.type, sizeof(e.type), "%s",
			    api_error_type(fallback));
		backend_error_quote(type, sizeof(type), e.type);
		backend_error_quote(param, sizeof(param), e.param);
		backend_error_quote(code, sizeof(code), e.code);
		rc = snprintf(buf, len, "{\"error\":{\"message\":%s,\"type\":%s,"
		    "\"param\":%s,\"code\":%s}}", msg, type, param, code);
	}
	if (rc < 0)
		return 0;
	return (size_t)rc >= len ? len - 1 : (size_t)rc;
}
