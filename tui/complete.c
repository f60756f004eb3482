/*
 * "cubectl __complete": the command table as lines the shell completions
 * (completions/) read at completion time, so they never list a noun, verb
 * or flag themselves and cannot drift from tui/cmd.c.
 *
 * Each line has seven tab-separated fields, "-" where one does not apply:
 *
 *	TYPE	NOUN	VERB	NAME	ALIAS	KIND	HELP
 *
 * TYPE is noun (NOUN, HELP), cmd (NOUN, VERB or "-" for a noun alone, KIND
 * of its positional, HELP), flag (of the cmd NOUN VERB) or global (NAME,
 * ALIAS, KIND, HELP). KIND says what a value is:
 *
 *	-			no value (a switch), or no positional
 *	value			a value there is nothing to offer for
 *	file			a file name
 *	choice:A,B,...		one of these words
 *	names:NOUN:FIELD:SCOPE	FIELD of each object "cubectl -o json NOUN
 *				list" prints, with "-d DOMAIN" when SCOPE is -d
 */
#include <stdio.h>
#include <string.h>

#include "cubectl.h"

/* Metavars that name a file. */
static const char *const complete_files[] = {
	"FILE", "SSH_CONFIG", "IDENTITY", "SOCKET", "DIR", NULL
};

/*
 * Flags whose value names an object the agent has, by their param. A
 * positional names one of its own noun's objects by its param (a key, a
 * name, an id), unless its command creates it (CMD_NEW).
 */
static const struct complete_ref {
	const char	*param;
	const char	*noun;
	const char	*field;
} complete_refs[] = {
	{ "domain",	"domain",	"name" },
	{ "provider",	"provider",	"name" },
	{ "models",	"model",	"key" },
	{ "fallbacks",	"model",	"key" },
	{ "guard_in",	"guardrail",	"key" },
	{ "guard_out",	"guardrail",	"key" },
};

/* The "noun list" command, or NULL. */
static const struct cmd_entry *
complete_list_entry(const char *noun)
{
	size_t	i;

	for (i = 0; i < cmd_table_size; i++)
		if (strcmp(cmd_table[i].noun, noun) == 0 &&
		    cmd_table[i].verb != NULL &&
		    strcmp(cmd_table[i].verb, "list") == 0)
			return &cmd_table[i];
	return NULL;
}

/* "names:NOUN:FIELD:SCOPE" when noun has a list to take them from. */
static int
complete_names(const char *noun, const char *field, char *buf, size_t len)
{
	const struct cmd_entry	*list;
	const struct args_flag	*f;
	const char		*scope = "";

	if ((list = complete_list_entry(noun)) == NULL)
		return 0;
	for (f = list->flags; f->name != NULL; f++)
		if (strcmp(f->name, "-d") == 0)
			scope = "-d";
	snprintf(buf, len, "names:%s:%s:%s", noun, field, scope);
	return 1;
}

/* The KIND of flag f's value. */
static void
complete_flag_kind(const struct args_flag *f, char *buf, size_t len)
{
	size_t	i, n;

	if (!args_takes_value(f)) {
		snprintf(buf, len, "-");
		return;
	}
	if (f->type == ARGS_ONOFF) {
		snprintf(buf, len, "choice:on,off");
		return;
	}
	if (f->type == ARGS_ENUM) {
		n = snprintf(buf, len, "choice:");
		for (i = 0; f->choices[i] != NULL && n < len; i++)
			n += snprintf(buf + n, len - n, "%s%s", i ? "," : "",
			    f->choices[i]);
		return;
	}
	for (i = 0; f->metavar != NULL && complete_files[i] != NULL; i++) {
		if (strcmp(f->metavar, complete_files[i]) == 0) {
			snprintf(buf, len, "file");
			return;
		}
	}
	for (i = 0; f->param != NULL &&
	    i < sizeof(complete_refs) / sizeof(complete_refs[0]); i++) {
		if (strcmp(f->param, complete_refs[i].param) == 0 &&
		    complete_names(complete_refs[i].noun,
		    complete_refs[i].field, buf, len))
			return;
	}
	snprintf(buf, len, "value");
}

/* The KIND of ce's positional. */
static void
complete_arg_kind(const struct cmd_entry *ce, char *buf, size_t len)
{
	if (ce->arg == NULL || (ce->cflags & CMD_NEW)) {
		snprintf(buf, len, ce->arg == NULL ? "-" : "value");
		return;
	}
	complete_flag_kind(ce->arg, buf, len);
	if (strcmp(buf, "value") == 0 && ce->arg->param != NULL &&
	    !complete_names(ce->noun, ce->arg->param, buf, len))
		snprintf(buf, len, "value");
}

static void
complete_print_flags(FILE *f, const char *type, const char *noun,
    const char *verb, const struct args_flag *flags)
{
	const struct args_flag	*fl;
	char			 kind[256];

	for (fl = flags; fl->name != NULL; fl++) {
		complete_flag_kind(fl, kind, sizeof(kind));
		fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", type, noun, verb,
		    fl->name, fl->alias != NULL ? fl->alias : "-", kind,
		    fl->help);
	}
}

/* Print the table as the lines described above. */
void
complete_print(FILE *f)
{
	const struct cmd_entry	*ce;
	const char		*verb;
	char			 kind[256];
	size_t			 i;

	for (i = 0; i < cmd_nouns_size; i++)
		fprintf(f, "noun\t%s\t-\t-\t-\t-\t%s\n", cmd_nouns[i].noun,
		    cmd_nouns[i].help);
	for (i = 0; i < cmd_table_size; i++) {
		ce = &cmd_table[i];
		verb = ce->verb != NULL ? ce->verb : "-";
		complete_arg_kind(ce, kind, sizeof(kind));
		fprintf(f, "cmd\t%s\t%s\t-\t-\t%s\t%s\n", ce->noun, verb, kind,
		    ce->help);
		complete_print_flags(f, "flag", ce->noun, verb, ce->flags);
	}
	complete_print_flags(f, "global", "-", "-", cmd_global_flags);
}
