/* cubectl's output.c: values for people, aligned tables, escaped controls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cubectl.h"

static void
check_value(const char *json, enum output_format format, const char *want)
{
	cJSON	*item = cJSON_Parse(json);
	char	*got;

	assert_non_null(item);
	got = output_value(item, format);
	assert_string_equal(got, want);
	free(got);
	cJSON_Delete(item);
}

static void
test_values(void **state)
{
	char	*got;

	(void)state;
	check_value("\"acme\"", OUTPUT_PLAIN, "acme");
	check_value("\"\"", OUTPUT_PLAIN, "-");
	check_value("null", OUTPUT_PLAIN, "-");
	check_value("42", OUTPUT_PLAIN, "42");
	check_value("-7", OUTPUT_PLAIN, "-7");
	check_value("0.7", OUTPUT_PLAIN, "0.7");
	check_value("3600000000", OUTPUT_PLAIN, "3600000000");
	check_value("true", OUTPUT_PLAIN, "true");
	check_value("true", OUTPUT_ONOFF, "on");
	check_value("false", OUTPUT_ONOFF, "off");
	check_value("false", OUTPUT_YESNO, "no");
	check_value("[]", OUTPUT_PLAIN, "-");
	check_value("[\"a\",\"b\"]", OUTPUT_PLAIN, "a,b");
	check_value("{\"a\":1}", OUTPUT_PLAIN, "{\"a\":1}");
	/* Money stays the agent's exact string. */
	check_value("\"0.000000001\"", OUTPUT_PLAIN, "0.000000001");
	/* Agent data cannot drive the terminal. */
	check_value("\"a\\nb\\tc\\r\"", OUTPUT_PLAIN, "a\\nb\\tc\\r");
	check_value("\"red\\u001b[31m\"", OUTPUT_PLAIN, "red\\x1b[31m");
	check_value("\"\\u007f\"", OUTPUT_PLAIN, "\\x7f");
	check_value("\"caf\\u00e9\"", OUTPUT_PLAIN, "caf\xc3\xa9");
	got = output_value(NULL, OUTPUT_PLAIN);
	assert_string_equal(got, "-");
	free(got);
}

static void
test_lookup(void **state)
{
	cJSON	*obj;

	(void)state;
	obj = cJSON_Parse("{\"pricing\":{\"input\":\"0.15\"},\"x\":1}");
	assert_string_equal(output_lookup(obj, "pricing.input")->valuestring,
	    "0.15");
	assert_int_equal(output_lookup(obj, "x")->valueint, 1);
	assert_null(output_lookup(obj, "pricing.output"));
	assert_null(output_lookup(obj, "x.y"));
	assert_null(output_lookup(obj, "nope.y"));
	cJSON_Delete(obj);
}

/* Run fn(arg) with stdout going to a buffer; caller frees the text. */
static char *
capture(void (*fn)(const void *), const void *arg)
{
	FILE	*tmp;
	char	*text;
	long	 len;
	int	 saved;

	fflush(stdout);
	tmp = tmpfile();
	assert_non_null(tmp);
	saved = dup(STDOUT_FILENO);
	dup2(fileno(tmp), STDOUT_FILENO);
	fn(arg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	len = lseek(fileno(tmp), 0, SEEK_END);
	text = calloc(1, len + 1);
	assert_int_equal(pread(fileno(tmp), text, len, 0), len);
	fclose(tmp);
	return text;
}

static const struct output_field fields[] = {
	{ "NAME",	"name",		OUTPUT_PLAIN },
	{ "ON",		"on",		OUTPUT_ONOFF },
	{ "PRICE",	"p.in",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static void
print_table(const void *arg)
{
	output_table(fields, arg);
}

static void
print_object(const void *arg)
{
	output_object(fields, arg);
}

static void
test_table(void **state)
{
	cJSON	*rows;
	char	*text;

	(void)state;
	rows = cJSON_Parse("[{\"name\":\"a\",\"on\":true,\"p\":{\"in\":\"0.15\"}},"
	    "{\"name\":\"longer-name\",\"on\":false,\"p\":null},"
	    "{\"name\":\"caf\\u00e9\",\"on\":null}]");
	text = capture(print_table, rows);
	assert_string_equal(text,
	    "NAME         ON   PRICE\n"
	    "a            on   0.15\n"
	    "longer-name  off  -\n"
	    "caf\xc3\xa9         -    -\n");
	free(text);
	cJSON_Delete(rows);

	/* An empty list is the header alone. */
	rows = cJSON_CreateArray();
	text = capture(print_table, rows);
	assert_string_equal(text, "NAME  ON  PRICE\n");
	free(text);
	cJSON_Delete(rows);
}

static void
test_object(void **state)
{
	cJSON	*obj;
	char	*text;

	(void)state;
	/* "on" is absent: left out; the price is null: "-". */
	obj = cJSON_Parse("{\"name\":\"x\",\"p\":{\"in\":null}}");
	text = capture(print_object, obj);
	assert_string_equal(text, "NAME   x\nPRICE  -\n");
	free(text);
	cJSON_Delete(obj);
}

static void
print_model(const void *arg)
{
	cmd_model_output(arg);
}

/* model show: the first deployment as provider, then every deployment. */
static void
test_model(void **state)
{
	cJSON	*obj;
	char	*text;

	(void)state;
	check_value("[{},{}]", OUTPUT_COUNT, "2");
	check_value("[]", OUTPUT_COUNT, "0");
	check_value("null", OUTPUT_COUNT, "-");
	obj = cJSON_Parse("{\"key\":\"k\",\"provider\":\"a\","
	    "\"model_id\":\"m:1\",\"fallbacks\":[\"s\",\"t\"],"
	    "\"retries\":2,\"retry_deadline_ms\":30000,\"deployments\":["
	    "{\"provider\":\"a\",\"model_id\":\"m:1\",\"weight\":3,"
	    "\"priority\":0,\"breaker\":\"closed\",\"outstanding\":4,"
	    "\"failures\":0},"
	    "{\"provider\":\"bb\",\"model_id\":\"m\",\"weight\":1,"
	    "\"priority\":1,\"breaker\":\"half_open\",\"outstanding\":0,"
	    "\"failures\":5}]}");
	text = capture(print_model, obj);
	assert_string_equal(text,
	    "key             k\n"
	    "model id        m:1\n"
	    "provider        a\n"
	    "fallbacks       s,t\n"
	    "retries         2\n"
	    "deadline (ms)   30000\n"
	    "\n"
	    "deployments\n"
	    "PROVIDER  MODEL-ID  WEIGHT  PRIORITY  BREAKER    OUTSTANDING"
	    "  FAILURES\n"
	    "a         m:1       3       0         closed     4            0\n"
	    "bb        m         1       1         half_open  0            5\n");
	free(text);
	cJSON_Delete(obj);

	/* deploy's answer: no live state, no breaker columns. */
	obj = cJSON_Parse("{\"key\":\"k\",\"fallbacks\":[],\"deployments\":["
	    "{\"provider\":\"a\",\"model_id\":\"m\",\"weight\":1,"
	    "\"priority\":0}]}");
	text = capture(print_model, obj);
	assert_string_equal(text,
	    "key             k\n"
	    "fallbacks       -\n"
	    "\n"
	    "deployments\n"
	    "PROVIDER  MODEL-ID  WEIGHT  PRIORITY\n"
	    "a         m         1       0\n");
	free(text);
	cJSON_Delete(obj);

	/* An agent without deployments: as before. */
	obj = cJSON_Parse("{\"key\":\"k\",\"provider\":\"a\"}");
	text = capture(print_model, obj);
	assert_string_equal(text,
	    "key             k\n"
	    "provider        a\n");
	free(text);
	cJSON_Delete(obj);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
