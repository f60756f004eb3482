/*
 * The man page and the shell completions against cubectl's command table
 * (tui/cmd.c), so they cannot drift: every noun, verb and flag is in the
 * man page and in "cubectl __complete", which the completions read instead
 * of listing words themselves. Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cubectl.h"

#define MAN_PAGE	"man/cubectl.1"
#define COMPLETIONS	{ "completions/cubectl.bash", "completions/_cubectl", \
			  "completions/cubectl.fish", NULL }

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 len;

	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: cannot open (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, len + 1);
	assert_int_equal(fread(buf, 1, len, f), (size_t)len);
	fclose(f);
	return buf;
}

/* The man page with mdoc's escaped hyphens ("\-") made plain. */
static char *
man_text(void)
{
	char	*text = slurp(MAN_PAGE), *r, *w;

	for (r = w = text; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] == '-')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	return text;
}

/* Is word in s, delimited by white space, quotes or parentheses? */
static int
has_word(const char *s, const char *end, const char *word)
{
	const char	*delims = " \t\n\"'()=;|";
	const char	*p;
	size_t		 len = strlen(word);

	for (p = s; (p = strstr(p, word)) != NULL && p < end; p++) {
		if ((p == s || strchr(delims, p[-1]) != NULL) &&
		    (p[len] == '\0' || strchr(delims, p[len]) != NULL))
			return 1;
	}
	return 0;
}

/* Does the man page have "Fl x" for the flag "-x" (or "Fl -x" for "--x")? */
static int
has_flag_macro(const char *text, const char *flag)
{
	char		 want[128];
	const char	*p;
	size_t		 len;

	len = snprintf(want, sizeof(want), "Fl %s", flag + 1);
	for (p = text; (p = strstr(p, want)) != NULL; p++)
		if (strchr(" \n,", p[len]) != NULL)
			return 1;
	return 0;
}

/* "noun verb" or "noun". */
static void
words(const struct cmd_entry *ce, char *buf, size_t len)
{
	if (ce->verb != NULL)
		snprintf(buf, len, "%s %s", ce->noun, ce->verb);
	else
		snprintf(buf, len, "%s", ce->noun);
}

/* Every command has an ".It Cm noun verb" entry; every flag an "Fl". */
static void
test_man_page(void **state)
{
	const struct cmd_entry	*ce;
	const struct args_flag	*f, *flags;
	char			*text, want[256], *p;
	size_t			 i, len;

	(void)state;
	text = man_text();
	assert_non_null(strstr(text, "\n.Sh EXAMPLES\n"));
	assert_non_null(strstr(text, "\n.Sh EXIT STATUS\n"));
	for (i = 0; i < cmd_table_size; i++) {
		ce = &cmd_table[i];
		words(ce, want + strlen("\n.It Cm "),
		    sizeof(want) - strlen("\n.It Cm "));
		memcpy(want, "\n.It Cm ", strlen("\n.It Cm "));
		len = strlen(want);
		for (p = text; (p = strstr(p, want)) != NULL; p++)
			if (p[len] == ' ' || p[len] == '\n')
				break;
		if (p == NULL)
			fail_msg("%s: no '%s' entry", MAN_PAGE, want + 1);
		if (ce->arg != NULL && !has_word(p, p + strcspn(p + 1, "\n") + 1,
		    "Ar"))
			fail_msg("%s: '%s' lacks its argument", MAN_PAGE,
			    want + 1);
	}
	for (i = 0; i < cmd_table_size + 1; i++) {
		flags = i < cmd_table_size ? cmd_table[i].flags :
		    cmd_global_flags;
		for (f = flags; f->name != NULL; f++) {
			if (!has_flag_macro(text, f->name))
				fail_msg("%s: flag %s missing", MAN_PAGE,
				    f->name);
			if (f->alias != NULL && !has_flag_macro(text, f->alias))
				fail_msg("%s: flag %s missing", MAN_PAGE,
				    f->alias);
		}
	}
	free(text);
}

static int
ok_noun(const char *word, size_t len)
{
	size_t	i;

	for (i = 0; i < cmd_nouns_size; i++)
		if (strlen(cmd_nouns[i].noun) == len &&
		    strncmp(cmd_nouns[i].noun, word, len) == 0)
			return 1;
	return 0;
}

/* cubectl __complete's output; caller frees. */
static char *
complete_text(void)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f;

	assert_non_null(f = open_memstream(&text, &len));
	complete_print(f);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* Does text have a line starting with prefix? */
static int
has_line(const char *text, const char *prefix)
{
	const char	*p;
	size_t		 len = strlen(prefix);

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			return 1;
	return 0;
}

/* Every noun, command, flag and alias of the table is in the spec. */
static void
test_complete_spec(void **state)
{
	const struct cmd_entry	*ce;
	const struct args_flag	*f;
	char			*text, want[256];
	const char		*verb;
	size_t			 i;

	(void)state;
	text = complete_text();
	for (i = 0; i < cmd_nouns_size; i++) {
		snprintf(want, sizeof(want), "noun\t%s\t-\t", cmd_nouns[i].noun);
		if (!has_line(text, want))
			fail_msg("__complete: noun %s missing", cmd_nouns[i].noun);
	}
	for (i = 0; i < cmd_table_size; i++) {
		ce = &cmd_table[i];
		verb = ce->verb != NULL ? ce->verb : "-";
		snprintf(want, sizeof(want), "cmd\t%s\t%s\t-\t-\t", ce->noun,
		    verb);
		if (!has_line(text, want))
			fail_msg("__complete: %s %s missing", ce->noun, verb);
		for (f = ce->flags; f->name != NULL; f++) {
			snprintf(want, sizeof(want), "flag\t%s\t%s\t%s\t%s\t%s",
			    ce->noun, verb, f->name, f->alias ? f->alias : "-",
			    args_takes_value(f) ? "" : "-\t");
			if (!has_line(text, want))
				fail_msg("__complete: %s %s lacks %s", ce->noun,
				    verb, f->name);
		}
	}
	for (f = cmd_global_flags; f->name != NULL; f++) {
		snprintf(want, sizeof(want), "global\t-\t-\t%s\t%s\t%s",
		    f->name, f->alias ? f->alias : "-",
		    args_takes_value(f) ? "" : "-\t");
		if (!has_line(text, want))
			fail_msg("__complete: global %s missing", f->name);
	}
	free(text);
}

/* What values complete to: choices, files, the agent's names. */
static void
test_complete_kinds(void **state)
{
	char	*text;

	(void)state;
	text = complete_text();
	assert_true(has_line(text, "global\t-\t-\t-o\t-\tchoice:table,json\t"));
	assert_true(has_line(text, "global\t-\t-\t-i\t-\tfile\t"));
	assert_true(has_line(text, "flag\tprovider\tadd\t--driver\t-\t"
	    "choice:openai,ollama,vllm\t"));
	assert_true(has_line(text, "flag\tprovider\tadd\t--api-key-file\t-\t"
	    "file\t"));
	assert_true(has_line(text, "flag\tdomain\tedit\t--log-content\t-\t"
	    "choice:on,off\t"));
	assert_true(has_line(text, "flag\tmodel\tshow\t-d\t--domain\t"
	    "names:domain:name:\t"));
	assert_true(has_line(text, "flag\tmodel\tdeploy\t--provider\t-\t"
	    "names:provider:name:-d\t"));
	assert_true(has_line(text, "cmd\tmodel\tshow\t-\t-\t"
	    "names:model:key:-d\t"));
	assert_true(has_line(text, "cmd\tdomain\tdelete\t-\t-\t"
	    "names:domain:name:\t"));
	/* A name being created has nothing to complete. */
	assert_true(has_line(text, "cmd\tdomain\tcreate\t-\t-\tvalue\t"));
	assert_true(has_line(text, "cmd\tprovider\tadd\t-\t-\tvalue\t"));
	free(text);
}

/*
 * The scripts take their words from cubectl __complete and list none of
 * their own, so a verb or flag added to the table needs no edit there.
 */
static void
test_completion_scripts(void **state)
{
	const char *const	 scripts[] = COMPLETIONS;
	const struct args_flag	*f;
	char			*text;
	size_t			 i, j;

	(void)state;
	for (i = 0; scripts[i] != NULL; i++) {
		text = slurp(scripts[i]);
		if (strstr(text, "__complete") == NULL)
			fail_msg("%s: does not read cubectl __complete",
			    scripts[i]);
		for (j = 0; j < cmd_table_size + 1; j++) {
			f = j < cmd_table_size ? cmd_table[j].flags :
			    cmd_global_flags;
			for (; f->name != NULL; f++)
				if (strncmp(f->name, "--", 2) == 0 &&
				    has_word(text, text + strlen(text), f->name))
					fail_msg("%s: lists %s itself",
					    scripts[i], f->name);
		}
		free(text);
	}
}

/* Each noun of cmd_nouns has at least one command, and the reverse. */
static void
test_nouns(void **state)
{
	size_t	i, j, n;

	(void)state;
	for (i = 0; i < cmd_nouns_size; i++) {
		for (j = n = 0; j < cmd_table_size; j++)
			if (strcmp(cmd_table[j].noun, cmd_nouns[i].noun) == 0)
				n++;
		assert_true(n > 0);
	}
	for (j = 0; j < cmd_table_size; j++)
		assert_true(ok_noun(cmd_table[j].noun,
		    strlen(cmd_table[j].noun)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page),
		cmocka_unit_test(test_complete_spec),
		cmocka_unit_test(test_complete_kinds),
		cmocka_unit_test(test_completion_scripts),
		cmocka_unit_test(test_nouns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
