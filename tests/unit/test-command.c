/*
 * The commands of cube-tui's `:` command line, without a screen: parsing
 * what was typed, and Tab completion of commands and their arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cube-tui.h"

#define PARSE(line)	command_parse((line), arg, sizeof(arg), err, \
		    sizeof(err))

static void
test_parse(void **state)
{
	const struct command	*c;
	char				 arg[CMDLINE_MAX], err[160];

	(void)state;
	c = PARSE("models");
	assert_non_null(c);
	assert_string_equal(c->name, "models");
	assert_string_equal(arg, "");

	c = PARSE("  logs   chat  ");
	assert_non_null(c);
	assert_string_equal(c->name, "logs");
	assert_string_equal(arg, "chat");

	c = PARSE("logs");
	assert_non_null(c);
	assert_string_equal(arg, "");

	c = PARSE("domain acme");
	assert_non_null(c);
	assert_string_equal(c->name, "domain");
	assert_string_equal(arg, "acme");

	assert_non_null(PARSE("q"));
}

static void
test_parse_errors(void **state)
{
	char		 arg[CMDLINE_MAX], err[160];
	char		 longname[600];

	(void)state;
	assert_null(PARSE("modles"));
	assert_string_equal(err, "unknown command :modles (Tab lists them)");
	/* A prefix is not a command: Tab completes it. */
	assert_null(PARSE("mo"));
	assert_null(PARSE(""));
	assert_null(PARSE("   "));
	assert_null(PARSE("models chat"));
	assert_string_equal(err, ":models takes no argument");
	assert_null(PARSE("domain"));
	assert_string_equal(err, "usage: :domain NAME");
	assert_null(PARSE("model"));
	assert_string_equal(err, "usage: :model KEY");
	assert_non_null(PARSE("model chat"));
	assert_null(PARSE("host a b"));
	assert_null(PARSE("Models"));
	/* An argument longer than its buffer is refused, not cut. */
	assert_null(command_parse("domain abcdefgh", arg, 8, err,
	    sizeof(err)));
	assert_string_equal(err, ":domain: the argument is too long");
	assert_non_null(command_parse("domain abcdefg", arg, 8, err,
	    sizeof(err)));

	/* A long unknown word is cut in the message, not overrun. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_null(command_parse(longname, arg, sizeof(arg), err, 16));
	assert_int_equal(strlen(err), 15);
}

static void
test_complete_commands(void **state)
{
	char	out[CMDLINE_MAX], hint[128];

	(void)state;
	assert_int_equal(command_complete("mod", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 2);
	assert_string_equal(out, "model");
	assert_string_equal(hint, "model models");
	assert_int_equal(command_complete("models", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 1);
	assert_string_equal(out, "models");
	assert_string_equal(hint, "");
	assert_int_equal(command_complete("ov", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 1);
	assert_string_equal(out, "overview");
	assert_string_equal(hint, "");

	/* A command with an argument gets its space. */
	assert_int_equal(command_complete("dom", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 1);
	assert_string_equal(out, "domain ");

	/* Several: what they share, and the list. */
	assert_int_equal(command_complete("d", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 2);
	assert_string_equal(out, "d");
	assert_string_equal(hint, "deploy domain");
	assert_int_equal(command_complete("de", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 1);
	assert_string_equal(out, "deploy");

	/* Nothing typed: every command. */
	assert_int_equal(command_complete("", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 15);

	assert_int_equal(command_complete("zz", NULL, 0, out, sizeof(out),
	    hint, sizeof(hint)), 0);
	assert_string_equal(out, "zz");

	/* A small hint buffer holds the words that fit whole. */
	assert_int_equal(command_complete("", NULL, 0, out, sizeof(out),
	    hint, 14), 15);
	assert_string_equal(hint, "attest chat q");
}

static void
test_complete_arguments(void **state)
{
	const char *const	 domains[] = { "acme", "acme-eu", "beta" };
	const char *const	 models[] = { "chat", "embed" };
	char			 out[CMDLINE_MAX], hint[128];

	(void)state;
	assert_int_equal(command_complete("domain b", domains, 3, out,
	    sizeof(out), hint, sizeof(hint)), 1);
	assert_string_equal(out, "domain beta");
	assert_int_equal(command_complete("domain a", domains, 3, out,
	    sizeof(out), hint, sizeof(hint)), 2);
	assert_string_equal(out, "domain acme");
	assert_string_equal(hint, "acme acme-eu");
	assert_int_equal(command_complete("domain acme-", domains, 3, out,
	    sizeof(out), hint, sizeof(hint)), 1);
	assert_string_equal(out, "domain acme-eu");
	assert_int_equal(command_complete("domain z", domains, 3, out,
	    sizeof(out), hint, sizeof(hint)), 0);
	assert_string_equal(out, "domain z");

	/* :model KEY and :logs KEY complete model keys. */
	assert_int_equal(command_complete("model ch", models, 2, out,
	    sizeof(out), hint, sizeof(hint)), 1);
	assert_string_equal(out, "model chat");
	assert_int_equal(command_complete("logs e", models, 2, out,
	    sizeof(out), hint, sizeof(hint)), 1);
	assert_string_equal(out, "logs embed");
	assert_int_equal(command_lookup("model", 5)->words,
	    COMMAND_WORDS_MODELS);
	assert_int_equal(command_lookup("logs", 4)->words,
	    COMMAND_WORDS_MODELS);

	/* No argument to complete: a command without one, or unknown. */
	assert_int_equal(command_complete("models a", domains, 3, out,
	    sizeof(out), hint, sizeof(hint)), 0);
	assert_int_equal(command_complete("nope a", domains, 3, out,
	    sizeof(out), hint, sizeof(hint)), 0);
	assert_int_equal(command_complete("domain a b", domains, 3, out,
	    sizeof(out), hint, sizeof(hint)), 0);

	/* A result longer than out is cut, never overrun. */
	assert_int_equal(command_complete("domain b", domains, 3, out, 9,
	    hint, sizeof(hint)), 1);
	assert_string_equal(out, "domain b");
}

/* The table: names unique, sorted as Tab lists them, usable. */
static void
test_table(void **state)
{
	const struct command	*c;

	(void)state;
	for (c = command_table(); c->name != NULL; c++) {
		assert_true(c->action < COMMAND_NACTIONS);
		assert_true(c->action != COMMAND_VIEW || c->view >= 0);
		assert_non_null(c->help);
		if (c->needs_arg)
			assert_non_null(c->metavar);
		if (c[1].name != NULL)
			assert_true(strcmp(c->name, c[1].name) < 0);
		assert_true(c->view < TUI_NVIEWS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_complete_commands),
		cmocka_unit_test(test_complete_arguments),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
