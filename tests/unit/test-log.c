/*
 * log.c: JSON lines (--log-format json) parse whatever the message holds,
 * stay one line within the text format's bound; text lines are as before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agent.h"
#include "log.h"

/* What the logging calls in fn wrote to stderr, NUL-ended (free it). */
static char *
capture(void (*fn)(void))
{
	FILE	*f;
	char	*buf;
	long	 n;
	int	 saved;

	assert_non_null(f = tmpfile());
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fileno(f), STDERR_FILENO) != -1);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The one line in s as a JSON object: s must be exactly one line. */
static cJSON *
one_object(const char *s)
{
	size_t	 len = strlen(s);
	cJSON	*o;

	assert_true(len > 0);
	assert_int_equal(s[len - 1], '\n');
	assert_ptr_equal(strchr(s, '\n'), s + len - 1);
	assert_non_null(o = cJSON_ParseWithLength(s, len - 1));
	assert_true(cJSON_IsObject(o));
	return o;
}

static const char *
field(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void
log_hostile(void)
{
	log_warnx("a \"quote\", a\nnewline, \x01\x1f control, \\ and %s",
	    "bad \xff\xfe utf-8, good \xc3\xa9");
}

static void
test_log_json_escapes(void **state)
{
	cJSON	*o;
	char	*out;

	(void)state;
	log_init("cube-test", 0);
	log_set_json(jscan_quote);
	out = capture(log_hostile);
	o = one_object(out);
	assert_string_equal(field(o, "msg"), "a \"quote\", a\nnewline,"
	    " \x01\x1f control, \\ and bad \xef\xbf\xbd\xef\xbf\xbd utf-8,"
	    " good \xc3\xa9");
	assert_string_equal(field(o, "level"), "warning");
	assert_string_equal(field(o, "program"), "cube-test");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "pid")));
	assert_int_equal(cJSON_GetObjectItem(o, "pid")->valueint, getpid());
	/* 2026-12-06T13:45:01.123Z */
	assert_int_equal(strlen(field(o, "time")), 24);
	assert_int_equal(field(o, "time")[19], '.');
	assert_int_equal(field(o, "time")[23], 'Z');
	cJSON_Delete(o);
	free(out);
	log_set_json(NULL);
}

static void
log_long(void)
{
	char	big[6000];

	/* Control bytes: each grows to six when escaped. */
	memset(big, '\x01', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
}

static void
test_log_json_bounded(void **state)
{
	cJSON	*o;
	char	*out;
	size_t	 len;

	(void)state;
	log_set_json(jscan_quote);
	out = capture(log_long);
	o = one_object(out);
	/* The text format's bound: 2048 bytes a line, newline included. */
	len = strlen(field(o, "msg"));
	assert_int_equal(len, 2046);
	assert_int_equal(strspn(field(o, "msg"), "\x01"), len);
	cJSON_Delete(o);
	free(out);
	log_set_json(NULL);
}

static void
log_errno(void)
{
	errno = ENOENT;
	log_warn("open %s", "x");
	log_debug("not shown without -v");
}

static void
test_log_json_errno(void **state)
{
	cJSON	*o;
	char	*out;

	(void)state;
	log_set_json(jscan_quote);
	out = capture(log_errno);
	o = one_object(out);
	assert_string_equal(field(o, "msg"), "open x: No such file or"
	    " directory");
	cJSON_Delete(o);
	free(out);
	log_set_json(NULL);
}

static void
log_text(void)
{
	log_info("plain \"as\" before");
}

/* Without log_set_json(): "TIME PROGRAM[PID] LEVEL: MSG", unescaped. */
static void
test_log_text(void **state)
{
	char	*out, *p, want[64];

	(void)state;
	log_init("cube-test", 0);
	out = capture(log_text);
	snprintf(want, sizeof(want), " cube-test[%d] info: plain \"as\""
	    " before\n", (int)getpid());
	assert_non_null(p = strstr(out, want));
	assert_int_equal(p - out, 20);		/* 2026-12-06T13:45:01Z */
	assert_int_equal(out[19], 'Z');
	assert_int_equal(strlen(out), 20 + strlen(want));
	free(out);
}

static void
test_log_format_parse(void **state)
{
	(void)state;
	assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
	assert_int_equal(log_format_parse("json"), LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("JSON"), -1);
	assert_int_equal(log_format_parse(""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_json_escapes),
		cmocka_unit_test(test_log_json_bounded),
		cmocka_unit_test(test_log_json_errno),
		cmocka_unit_test(test_log_text),
		cmocka_unit_test(test_log_format_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
