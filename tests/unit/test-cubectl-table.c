/*
 * The man page and the bash completion against cubectl's command table
 * (tui/cmd.c), so they cannot drift: every noun, verb and flag is in both,
 * and the completion offers nothing the table does not have. Run from the
 * repository root.
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
#define COMPLETION	"completions/cubectl.bash"

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

/* The line of text that contains needle, as [*start, *end); 0 if none. */
static int
find_line(const char *text, const char *needle, const char **start,
    const char **end)
{
	const char	*p;

	if ((p = strstr(text, needle)) == NULL)
		return 0;
	while (p > text && p[-1] != '\n')
		p--;
	*start = p;
	*end = strchr(p, '\n');
	if (*end == NULL)
		*end = p + strlen(p);
	return 1;
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

/* Is name a flag (or alias) of flags? */
static int
is_flag(const struct args_flag *flags, const char *name, size_t len)
{
	const struct args_flag	*f;

	for (f = flags; f->name != NULL; f++) {
		if ((strlen(f->name) == len && strncmp(f->name, name, len) == 0) ||
		    (f->alias != NULL && strlen(f->alias) == len &&
		    strncmp(f->alias, name, len) == 0))
			return 1;
	}
	return 0;
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

/* Each word of the quoted echo on [start, end) must satisfy ok(). */
static void
check_echo_words(const char *start, const char *end, const char *what,
    int (*ok)(const void *, const char *, size_t), const void *arg)
{
	const char	*p, *q;
	size_t		 len;

	if ((p = strstr(start, "echo \"")) == NULL || p > end)
		fail_msg("%s: no echo for %s", COMPLETION, what);
	p += strlen("echo \"");
	for (;;) {
		p += strspn(p, " ");
		if (*p == '"')
			break;
		len = strcspn(p, " \"");
		q = p + len;
		if (q > end)
			fail_msg("%s: unterminated echo for %s", COMPLETION, what);
		if (!ok(arg, p, len))
			fail_msg("%s: %s offers '%.*s', not in the table",
			    COMPLETION, what, (int)len, p);
		p = q;
	}
}

static int
ok_flag(const void *arg, const char *word, size_t len)
{
	return is_flag(arg, word, len);
}

static int
ok_verb(const void *arg, const char *word, size_t len)
{
	const char	*noun = arg;
	size_t		 i;

	for (i = 0; i < cmd_table_size; i++)
		if (strcmp(cmd_table[i].noun, noun) == 0 &&
		    cmd_table[i].verb != NULL &&
		    strlen(cmd_table[i].verb) == len &&
		    strncmp(cmd_table[i].verb, word, len) == 0)
			return 1;
	return 0;
}

static int
ok_noun(const void *arg, const char *word, size_t len)
{
	size_t	i;

	(void)arg;
	for (i = 0; i < cmd_nouns_size; i++)
		if (strlen(cmd_nouns[i].noun) == len &&
		    strncmp(cmd_nouns[i].noun, word, len) == 0)
			return 1;
	return 0;
}

/* The completion's nouns, verbs and flags are exactly the table's. */
static void
test_completion(void **state)
{
	const struct cmd_entry	*ce;
	const struct args_flag	*f;
	const char		*start, *end, *tv_start, *tv_end;
	char			*text, want[256], flagword[64];
	size_t			 i;

	(void)state;
	text = slurp(COMPLETION);

	/* Nouns, and global options. */
	assert_true(find_line(text, "_cubectl_nouns=\"", &start, &end));
	for (i = 0; i < cmd_nouns_size; i++)
		if (!has_word(start, end, cmd_nouns[i].noun))
			fail_msg("%s: noun %s missing", COMPLETION,
			    cmd_nouns[i].noun);
	assert_true(find_line(text, "_cubectl_globals=\"", &start, &end));
	for (f = cmd_global_flags; f->name != NULL; f++)
		if (!has_word(start, end, f->name) ||
		    (f->alias != NULL && !has_word(start, end, f->alias)))
			fail_msg("%s: global %s missing", COMPLETION, f->name);
	assert_true(find_line(text, "local takes_value=\"", &tv_start,
	    &tv_end));

	for (i = 0; i < cmd_table_size; i++) {
		ce = &cmd_table[i];
		words(ce, want + 1, sizeof(want) - 3);
		want[0] = '"';
		strcat(want, "\")");
		if (!find_line(text, want, &start, &end))
			fail_msg("%s: no case for %s", COMPLETION, want);
		for (f = ce->flags; f->name != NULL; f++) {
			if (!has_word(start, end, f->name) ||
			    (f->alias != NULL && !has_word(start, end,
			    f->alias)))
				fail_msg("%s: %s lacks %s", COMPLETION, want,
				    f->name);
			/* Flags with values must not complete as words. */
			snprintf(flagword, sizeof(flagword), "%s", f->name);
			if (args_takes_value(f) && !has_word(tv_start, tv_end,
			    flagword))
				fail_msg("%s: takes_value lacks %s", COMPLETION,
				    f->name);
		}
		check_echo_words(start, end, want, ok_flag, ce->flags);

		if (ce->verb == NULL)
			continue;
		snprintf(want, sizeof(want), "\t%s)", ce->noun);
		if (!find_line(text, want, &start, &end))
			fail_msg("%s: no verbs for %s", COMPLETION, ce->noun);
		if (!has_word(start, end, ce->verb))
			fail_msg("%s: verb %s %s missing", COMPLETION, ce->noun,
			    ce->verb);
		check_echo_words(start, end, ce->noun, ok_verb, ce->noun);
	}
	for (f = cmd_global_flags; f->name != NULL; f++)
		if (args_takes_value(f) && !has_word(tv_start, tv_end, f->name))
			fail_msg("%s: takes_value lacks %s", COMPLETION,
			    f->name);
	free(text);
}

/* The completion's noun list has nothing extra either. */
static void
test_completion_nouns(void **state)
{
	const char	*start, *end, *p, *q;
	char		*text;
	size_t		 len;

	(void)state;
	text = slurp(COMPLETION);
	assert_true(find_line(text, "_cubectl_nouns=\"", &start, &end));
	p = strchr(start, '"') + 1;
	while (*p != '"') {
		p += strspn(p, " ");
		len = strcspn(p, " \"");
		q = p + len;
		assert_true(q < end);
		if (!ok_noun(NULL, p, len))
			fail_msg("%s: extra noun '%.*s'", COMPLETION, (int)len,
			    p);
		p = q;
	}
	free(text);
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
		assert_true(ok_noun(NULL, cmd_table[j].noun,
		    strlen(cmd_table[j].noun)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_completion_nouns),
		cmocka_unit_test(test_nouns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
